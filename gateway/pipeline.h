/* SPDX-License-Identifier: MIT */
/*
 * From a read measurement to a stored verdict, in the main loop's thread:
 * plate -> registry -> history -> policy -> record -> store. The caller
 * wraps a batch in store_begin()/store_commit(): the commit is the point
 * where the passes become durable and may be shown and acknowledged.
 */
#ifndef PIPELINE_H
#define PIPELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "policy.h"
#include "record.h"
#include "store.h"

struct pipeline {
    const struct config *cfg; /* not owned */
    store *st;                /* not owned */
    /* cfg->policy with the platform's override of the limit set
     * (POLICY_LIMIT_SET_KEY); what verdicts are judged by. */
    struct policy_config policy;
    char limit_set_override[4]; /* "a", "b", or "" = the configuration's */
    char policy_digest[65];     /* of policy, the effective settings */
    enum alert_level alert;     /* in force, as last recorded */
    int64_t alert_until_ms;     /* 0 = until changed */
    /* Set by the daemon after pipeline_init (platform sync): true while findings
     * made at other checkpoints may be missing, so verdicts say their history
     * is stale. NULL = never stale. */
    bool (*history_stale)(void *ud);
    void *history_stale_ud;
};

struct pipeline_out {
    uint64_t seq;
    /* Summary for the log line (the record itself is the full story). */
    enum policy_result verdict_result;
    uint32_t verdict_actions;
    uint32_t verdict_finding;
    bool verdict_local;
    size_t len;
    uint8_t record[RECORD_MAX]; /* the packed record exactly as stored */
};

/* Reads POLICY_LIMIT_SET_KEY from the store (a read failure keeps the configuration's). */
void pipeline_init(struct pipeline *p, const struct config *cfg, store *st);

/* Judge and append one pass. 0, or a store_rc with store_errmsg() set. */
int pipeline_pass(struct pipeline *p, const struct config_lane *lane,
                  const struct rsu_measurement *m, int64_t now_ms, struct pipeline_out *out);

/* Append an event record (start, stop, config_reload, alert_level). */
int pipeline_event(struct pipeline *p, const char *kind, const char *detail, int64_t now_ms,
                   struct pipeline_out *out);

/*
 * Bring the alert level in line with the settings written by `rsgw alert`
 * (and its expiry). Appends an alert_level event when it changed.
 * 0 unchanged, 1 changed (event appended, durable), <0 store error.
 */
int pipeline_refresh_alert(struct pipeline *p, int64_t now_ms, struct pipeline_out *out);

/*
 * Bring the limit set in line with POLICY_LIMIT_SET_KEY (written by platform
 * sync). When it changed, the effective policy digest changes too and a
 * "policy" event naming both is appended.
 * 0 unchanged, 1 changed (event appended, durable), <0 store error.
 */
int pipeline_refresh_policy(struct pipeline *p, int64_t now_ms, struct pipeline_out *out);

/* Settings keys shared with `rsgw alert`. */
#define ALERT_LEVEL_KEY "alert.level"
#define ALERT_UNTIL_KEY "alert.until_ms"
/* The platform's limit set override: "a", "b", or "" / absent = the configuration's. */
#define POLICY_LIMIT_SET_KEY "policy.limit_set"

#endif
