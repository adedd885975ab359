/* SPDX-License-Identifier: MIT */
/*
 * Lane threads: the only threads besides the main loop.
 *
 * One thread per Modbus link (a TCP endpoint or a serial line with its unit
 * ids), so a serial line carries one transaction at a time and a device that
 * stops answering delays only its own link. A thread never decides or writes
 * anything: it hands each new pass to the main loop (lanes_ready() wakes the
 * poll loop through an eventfd), waits until the main loop reports the pass
 * durably stored (lanes_done()), and only then acknowledges it to the device.
 * If storing fails the pass is not acknowledged, so the device keeps it and it
 * is read again later: nothing is lost.
 */
#ifndef LANES_H
#define LANES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "log.h"
#include "rsu.h"

typedef struct lanes lanes;

struct lane_health {
    bool connected;
    int64_t last_contact_ms; /* last successful transaction; 0 never */
    int64_t last_pass_ms;    /* last pass stored; 0 never */
    uint64_t passes;
    uint64_t timeouts;
    uint64_t protocol_errors;
    uint64_t reconnects;
    uint64_t decode_issues;  /* passes stored with garbage or out-of-range registers */
    uint64_t store_failures; /* passes the main loop could not store (retried) */
    char last_error[256];
    int64_t last_error_ms;
};

/* cursors[i]: what the store already holds for lane i's device (exactly-once across restarts). */
lanes *lanes_start(const struct config *cfg, const struct rsu_cursor *cursors, const struct log *lg,
                   char *err, size_t errlen);
/* Stops every thread (each returns within its response timeout) and frees. NULL-safe. */
void lanes_stop(lanes *ln);

/* Readable when passes are waiting; read it (8 bytes) before lanes_ready(). */
int lanes_event_fd(const lanes *ln);

/* Lanes whose pass waits for the main loop; returns how many were written to out. */
size_t lanes_ready(lanes *ln, size_t *out, size_t max);
const struct rsu_measurement *lanes_pass(const lanes *ln, size_t lane);
/* The main loop's answer for a lane's waiting pass: stored durably, or not. */
void lanes_done(lanes *ln, size_t lane, bool stored);

void lanes_health(lanes *ln, size_t lane, struct lane_health *out);

#endif
