/* SPDX-License-Identifier: MIT */
/*
 * Simulated remote-sensing unit: a real Modbus TCP or RTU server that
 * presents scripted passes through a register-map profile, exactly as a
 * device would (sequence register, ack register, one pass at a time).
 * Used by `rsgw demo`, `rsgw sim rsu` (commissioning) and the tests.
 */
#ifndef RSUSIM_H
#define RSUSIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rsu.h"
#include "rsu_profile.h"

typedef struct rsusim rsusim;

struct rsusim_config {
    enum rsu_transport transport;
    char host[128];   /* TCP listen address, default 127.0.0.1 */
    int port;         /* TCP; 0 = pick a free port (see rsusim_port) */
    char device[128]; /* RTU: serial device or pty path */
    int baud;
    char parity;
    int data_bits;
    int stop_bits;
    int unit_id; /* default 1 */
    const struct rsu_profile *profile;
    uint32_t first_seq; /* sequence number of the first pass, default 1 */
};

/* Faults the simulator can show, for tests and commissioning drills. */
enum rsusim_fault {
    RSUSIM_FAULT_NONE,
    RSUSIM_FAULT_SILENT,  /* receive requests, never answer */
    RSUSIM_FAULT_SLOW,    /* answer after fault_ms */
    RSUSIM_FAULT_GARBAGE, /* the presented pass's data registers hold random words */
    RSUSIM_FAULT_CRC,     /* RTU only: answers carry a wrong CRC */
};

/*
 * Scenario: a text file of lines, '#' comments. Documented in docs/simulator.md.
 *   pass plate=豫A12345 colour=blue opacity=12.5 no=300 speed=42 ...
 *   wait 500             (ms before the next line is applied)
 *   fault silent 3000    (for 3000 ms; "fault slow 800 5000" = 800 ms late for 5 s)
 *   fault garbage        (the next pass is garbage)
 *   restart              (the device restarts: queue lost, sequence starts over)
 * Values use the field names of rsu_field_name() and rsu_profile_field_name().
 */
struct rsusim_step {
    enum { RSUSIM_STEP_PASS, RSUSIM_STEP_WAIT, RSUSIM_STEP_FAULT, RSUSIM_STEP_RESTART } kind;
    struct rsu_measurement pass; /* PASS */
    int wait_ms;                 /* WAIT */
    enum rsusim_fault fault;     /* FAULT */
    int fault_ms;                /* SLOW: delay */
    int duration_ms;             /* FAULT: how long; 0 = until changed */
    int line;
};

struct rsusim_scenario {
    size_t n_steps;
    struct rsusim_step *steps; /* owned; rsusim_scenario_free() */
};

int rsusim_scenario_load(const char *path, struct rsusim_scenario *out, char *err, size_t errlen);
int rsusim_scenario_parse(const char *text, const char *name_for_errors,
                          struct rsusim_scenario *out, char *err, size_t errlen);
void rsusim_scenario_free(struct rsusim_scenario *s);

/* Create and start serving (a background thread). */
rsusim *rsusim_start(const struct rsusim_config *cfg, char *err, size_t errlen);
/* Stop serving and free. Safe with NULL. */
void rsusim_stop(rsusim *sim);
int rsusim_port(const rsusim *sim); /* the TCP port actually bound */

/* Passes the simulator holds unacknowledged; rsusim_push refuses more. */
#define RSUSIM_QUEUE_MAX 100000 /* ~140 MB at most, allocated as the queue grows */

/* Queue a pass (thread-safe). The simulator numbers it. Returns its sequence,
 * or 0 when the queue is full or the pass does not fit the profile (see rsusim_errmsg). */
uint32_t rsusim_push(rsusim *sim, const struct rsu_measurement *pass);
/* Why the last rsusim_push failed; valid until the next push. */
const char *rsusim_errmsg(const rsusim *sim);
void rsusim_set_fault(rsusim *sim, enum rsusim_fault fault, int fault_ms);
/* The same for duration_ms only (0 = until changed); the fault then reverts to none. */
void rsusim_set_fault_for(rsusim *sim, enum rsusim_fault fault, int fault_ms, int duration_ms);
/* Drop the queue and restart numbering at first_seq, as a power cycle would. */
void rsusim_restart(rsusim *sim);

/* Run a scenario's steps in order, in the calling thread (blocking). Returns 0
 * when all steps ran, 1 when *stop became non-zero, -1 when a pass was refused
 * (rsusim_errmsg names the scenario line). */
int rsusim_play(rsusim *sim, const struct rsusim_scenario *s, volatile const int *stop);

struct rsusim_stats {
    uint32_t pushed;  /* passes queued so far */
    uint32_t acked;   /* passes acknowledged by the gateway */
    uint32_t pending; /* queued, not yet acknowledged */
    uint32_t last_acked_seq;
    uint64_t requests;
};
void rsusim_get_stats(rsusim *sim, struct rsusim_stats *out);

/*
 * Called from the server thread for every pass the gateway acknowledges
 * (seq and the pass as pushed). Set before passes flow; may be NULL.
 */
typedef void (*rsusim_ack_fn)(void *ud, uint32_t seq, const struct rsu_measurement *pass);
void rsusim_on_ack(rsusim *sim, rsusim_ack_fn fn, void *ud);

#endif
