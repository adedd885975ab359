/* SPDX-License-Identifier: MIT */
/*
 * Platform sync: delivers every record to each configured upstream (city,
 * province, ...) exactly once, pulls findings, policy and registry deltas,
 * and prunes records every upstream holds once they are past retention.
 *
 * The engine is owned by the daemon's main thread and never blocks it: its
 * HTTP transfers run on one libcurl multi handle whose sockets and timer join
 * the daemon's poll() (sync_pollfds / sync_timeout_ms / sync_handle). There
 * is no thread per request. It uses the daemon's store handle between the
 * daemon's own transactions, from the same thread.
 *
 * Delivery (docs/platform-api.md): per upstream, its own cursor in the store
 * (store_sync.h), one upload in flight, batches of at most batch_max_records
 * records and batch_max_bytes bytes, gzip bodies. The cursor moves only over
 * the contiguous prefix of final acknowledgements (ACCEPTED, DUPLICATE,
 * REJECTED, or RETRY given up after max_attempts); whatever is not final is
 * sent again later, so a crash or stop at any point loses nothing and the
 * platform answers DUPLICATE for what it already has.
 */
#ifndef SYNC_H
#define SYNC_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "log.h"
#include "store.h"

/* ("sync" alone would clash with unistd.h's sync().) */
typedef struct sync_engine sync_engine;

/* Most sockets the engine asks poll() to watch (two transfers per upstream, each may
 * briefly hold a resolver socket and connection attempts on IPv4 and IPv6). */
#define SYNC_POLLFDS_MAX 64

/* Settings the engine writes for the pipeline (besides ALERT_LEVEL_KEY / ALERT_UNTIL_KEY). */
#define SYNC_ALERT_SOURCE_KEY "alert.source"

/*
 * A new engine for cfg's upstreams (none is fine: then it only says history is
 * never stale and prunes nothing). cfg and st must outlive it; lg too.
 * NULL with err set on failure (libcurl could not start).
 */
sync_engine *sync_new(const struct config *cfg, store *st, const struct log *lg, char *err,
                      size_t errlen);
/* Aborts transfers in flight (their records stay undelivered and are sent
 * again by the next engine) and frees everything. NULL-safe. */
void sync_free(sync_engine *e);

/* The sockets to watch: fills at most max entries (events set, revents 0). */
size_t sync_pollfds(sync_engine *e, struct pollfd *out, size_t max);
/* Milliseconds until the engine next needs sync_handle() without socket
 * activity: 0 = now, -1 = nothing scheduled. */
int sync_timeout_ms(sync_engine *e);
/*
 * Do what is due: socket activity (fds as returned by poll(); entries that are
 * not the engine's are ignored), timers, finished transfers, new uploads and
 * pulls, retention. now_ms is the wall clock (Unix ms) for timestamps;
 * scheduling uses the monotonic clock.
 */
void sync_handle(sync_engine *e, const struct pollfd *fds, size_t n, int64_t now_ms);

/* True when some upstream pulls findings and the last complete findings pull
 * (since this engine started) is missing or older than its
 * findings_stale_after_ms: verdicts may not know findings made elsewhere. */
bool sync_history_stale(sync_engine *e);

/* True once after the engine changed settings the pipeline reads (alert level,
 * policy.limit_set): the daemon refreshes at once instead of within a second. */
bool sync_take_settings_changed(sync_engine *e);

/* ---- status ---- */

struct sync_upstream_status {
    char name[CONFIG_UPSTREAM_NAME_MAX + 1];
    char url[CONFIG_PATH_MAX];
    int64_t last_success_ms; /* wall clock of the last upload that moved the cursor; 0 never */
    int64_t last_error_ms;   /* 0 = no error since the last success */
    char last_error[256];
    uint64_t delivered_seq; /* the cursor */
    uint64_t backlog;       /* records not yet final for this upstream */
    uint64_t oldest_seq;    /* first of them, 0 when none */
    int64_t oldest_time_ms;
    uint64_t rejected; /* all time */
    bool in_flight;
    uint64_t in_flight_records;
    uint64_t bytes_per_s;     /* upload body bytes per second over the last 10 s */
    uint64_t connections;     /* opened since the engine started (reuse keeps this low) */
    int64_t last_findings_ms; /* last complete findings pull (wall); 0 never */
    int64_t last_policy_ms;
    int64_t last_registry_ms;
    bool findings_stale;
};

/* Fills up to max entries, one per upstream in configuration order; returns the count. */
size_t sync_status(sync_engine *e, struct sync_upstream_status *out, size_t max);

/*
 * state_dir/sync.txt, the machine-readable companion of status.json that
 * `rsgw sync status` reads: one line per upstream, "KEY=VALUE" fields
 * separated by tabs. write: atomically (temp + rename); read: 0, or -1 when
 * the file is missing or unreadable (errno set). running says whether the
 * daemon was running when it wrote the file; written_ms when.
 */
int sync_state_write(const char *path, const struct sync_upstream_status *ups, size_t n,
                     bool running, char *err, size_t errlen);
int sync_state_read(const char *path, struct sync_upstream_status *ups, size_t max, size_t *n,
                    bool *running, int64_t *written_ms);

#endif
