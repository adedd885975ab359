/* SPDX-License-Identifier: MIT */
/*
 * What platform sync keeps in the store: per-upstream delivery cursors,
 * rejected records with their reasons, findings pulled from other
 * checkpoints, platform-set exemptions, and retention of delivered records.
 *
 * Delivery is in seq order. An upstream's cursor is the highest seq such that
 * every record up to it is final for that upstream (accepted, duplicate or
 * rejected). The cursor only moves after the upstream's acknowledgement, and
 * moving it is a durable transaction: after a crash, records past the cursor
 * are sent again and the platform answers DUPLICATE for those it already has.
 */
#ifndef STORE_SYNC_H
#define STORE_SYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"
#include "vehicle.h"

/* ---- delivery (upload) ---- */

struct store_reject {
    uint64_t seq;
    char reason[256];
};

/* Every function that changes something needs a store opened ADMIN or WRITER, runs its own
 * durable transaction (STORE_EINVAL while a group commit is open) and, when it fails (disk
 * full: STORE_EFULL), leaves nothing of the change behind. Upstream names are 1 to 127 bytes. */

/* 0 and *seq (0 = nothing delivered yet). Unknown upstreams start at 0. */
int store_upstream_cursor(store *s, const char *upstream, uint64_t *seq);

/* Move the cursor to new_seq and record the rejects among the records it
 * passes, in one durable transaction. new_seq never goes backwards. STORE_EINVAL (nothing
 * changed) when new_seq is below the cursor or past the newest record, or a reject's seq is
 * not in (cursor, new_seq]. Moving to the same seq without rejects changes nothing. Pending
 * retries (below) up to new_seq are settled and forgotten. */
int store_upstream_advance(store *s, const char *upstream, uint64_t new_seq,
                           const struct store_reject *rejects, size_t n_rejects);

/* A record the upstream asked to be sent again (ACK_RETRY): counts attempts
 * across restarts. Returns the attempt count (>= 1) or <0. seq must be past the cursor
 * and stored (else STORE_EINVAL). */
int store_upstream_note_retry(store *s, const char *upstream, uint64_t seq, const char *reason);

/* time_ms: when the reject was recorded (the record's own time is in the record). */
typedef int (*store_reject_fn)(void *ud, uint64_t seq, int64_t time_ms, const char *reason);
/* Rejected records of an upstream, oldest (lowest seq) first. fn returning non-zero stops
 * the walk and is returned; fn may query the store. */
int store_upstream_rejects(store *s, const char *upstream, store_reject_fn fn, void *ud);

/* Records pruned before an upstream was known (a new upstream starts at 0) cannot be sent
 * to it any more and do not count. */
struct store_backlog {
    uint64_t records;    /* not yet final for this upstream */
    uint64_t oldest_seq; /* 0 when none */
    int64_t oldest_time_ms;
    uint64_t rejected; /* all time */
};
int store_upstream_backlog(store *s, const char *upstream, struct store_backlog *out);

/* Records after after_seq, ascending, at most max_records and about
 * max_bytes of payload (at least one record), each with its chain hash and
 * the previous record's hash (the chain anchor for the oldest kept record).
 * Starts at the chain base when after_seq lies before it. A batch never passes max_bytes
 * except with its first record. Returns 0 (also when there is nothing after after_seq),
 * fn's non-zero return (it stops the walk), or <0: STORE_EINVAL for max_records 0,
 * STORE_ECORRUPT when a record is missing in between (run `rsgw verify`). The walk is one
 * read snapshot: fn may query the store but must not write to it. */
typedef int (*store_batch_fn)(void *ud, uint64_t seq, const uint8_t hash[32],
                              const uint8_t prev_hash[32], const uint8_t *payload, size_t len);
int store_read_batch(store *s, uint64_t after_seq, size_t max_records, size_t max_bytes,
                     store_batch_fn fn, void *ud);

/* ---- findings from other checkpoints (pull) ---- */

struct store_remote_finding {
    char plate[48]; /* normalised */
    int64_t time_ms;
    char gateway_id[64];
    char checkpoint[64];
    uint64_t seq;      /* the record at that gateway: (gateway_id, seq) is unique */
    uint32_t exceeded; /* history.h pollutant bits */
};

/* Insert (ignoring ones already known) and save the upstream's findings cursor,
 * in one transaction. store_history() counts these in history.findings and
 * lists them (checkpoint set) so the out-of-area rule sees findings made
 * elsewhere; the same-pollutant streak stays local (it needs clean passes too).
 * Returns the number of findings that were new (>= 0) or <0; next_cursor NULL keeps the
 * saved cursor. A finding without plate or gateway id, or with seq 0, is STORE_EINVAL and
 * nothing is stored. Plates are normalised as the registry's are. This gateway's own
 * findings are better left out by the caller; one that matches a local finding (same plate
 * and time_ms) is counted once anyway. store_prune() removes findings older than its
 * horizon. */
int store_remote_findings_add(store *s, const char *upstream, const struct store_remote_finding *f,
                              size_t n, const char *next_cursor);
/* 1 found (cursor in buf), 0 none yet, <0 error (STORE_EINVAL: buf too small). */
int store_remote_cursor(store *s, const char *upstream, char *buf, size_t len);

/* ---- platform policy ---- */

struct store_exempt_plate {
    char plate[48];
    enum vehicle_exemption exemption;
    int64_t valid_until_ms; /* 0 = until withdrawn */
};
/* Replace the platform's exemption list wholesale. registry_get() reports a
 * valid platform exemption for a plate over the registry's own value.
 * Plates are normalised as the registry's are; a later duplicate wins; entries already
 * expired are kept but never apply. For plates that are not in the registry the pipeline
 * asks registry_platform_exemption() (registry.h). */
int store_platform_exemptions_set(store *s, const struct store_exempt_plate *list, size_t n);

/* ---- retention ---- */

/* Delete records older than older_than_ms whose seq is at most
 * delivered_everywhere (the lowest cursor of all upstreams). The chain keeps
 * an anchor (base seq and the hash before it), so store_verify() checks the
 * remaining records from the base on. Undelivered records are never pruned.
 * *pruned receives the number of records removed.
 *
 * Removal is contiguous from the base: it stops at the first record that is too recent
 * (time_ms >= older_than_ms), past delivered_everywhere or past the highest cursor of any
 * upstream (no upstream known: nothing goes), and the newest record always stays. Each
 * removed record's hash is checked against its predecessor first: a chain broken there is
 * STORE_ECORRUPT and is left for `rsgw verify` to name. Records go in transactions of a
 * few thousand, each moving the base with them; after a failure (STORE_EFULL, ...) *pruned
 * counts the ones already removed, and the store is consistent. Remote findings older
 * than older_than_ms are removed too. Pick older_than_ms before the start of the longest
 * findings window, or the policy stops seeing those findings. The file does not shrink:
 * SQLite reuses the freed pages for new records. */
int store_prune(store *s, int64_t older_than_ms, uint64_t delivered_everywhere, uint64_t *pruned);
/* Lowest seq still held (1 when nothing was pruned); 0 when it cannot be read (store_errmsg). */
uint64_t store_base_seq(store *s);

#endif
