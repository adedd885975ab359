/* SPDX-License-Identifier: MIT */
/*
 * The gateway daemon: one poll loop in the main thread that owns the store
 * and every decision. Lane threads only talk Modbus (lanes.h).
 *
 * Signals are taken synchronously through a signalfd: SIGTERM/SIGINT stop,
 * SIGHUP reloads the configuration (kept if the new one has errors). The
 * caller blocks those signals in every thread before starting any thread.
 */
#ifndef DAEMON_H
#define DAEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "log.h"

struct daemon_hooks {
    /* A record became durable (packed bytes exactly as stored). */
    void (*on_record)(void *ud, uint64_t seq, const uint8_t *record, size_t len);
    /* Polled every loop turn (at most ~100 ms apart): return true to stop. */
    bool (*should_stop)(void *ud);
    void *ud;
};

struct daemon_opts {
    const char *config_path; /* for SIGHUP reloads; NULL: no reloads */
    struct config *config;   /* loaded configuration, owned by the caller */
    int signal_fd;           /* signalfd for TERM/INT/HUP, or -1 */
    struct daemon_hooks hooks;
};

/* Runs until stopped. 0 on a clean stop, 1 if the store or lanes could not start. */
int daemon_run(const struct daemon_opts *opts, const struct log *lg);

#endif
