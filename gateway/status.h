/* SPDX-License-Identifier: MIT */
/*
 * The daemon's health snapshot: state_dir/status.json, rewritten atomically
 * every status_interval_ms, read by `rsgw status` (and monitoring).
 */
#ifndef STATUS_H
#define STATUS_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "lanes.h"
#include "policy.h"
#include "store.h"
#include "sync.h"

/* ln may be NULL (lanes stopped). running = false marks a clean stop.
 * stats are the daemon's running counts (no query on the store: at a million
 * records a COUNT would stall the poll loop). ups: platform sync, one entry per
 * upstream (n_ups may be 0); also written to state_dir/sync.txt for `rsgw sync`. */
int status_write(const struct config *cfg, const struct store_stats *stats, lanes *ln,
                 enum alert_level alert, bool store_failing, bool running,
                 const struct sync_upstream_status *ups, size_t n_ups, char *err, size_t errlen);

#endif
