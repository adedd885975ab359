/* SPDX-License-Identifier: MIT */
/*
 * The durable, tamper-evident record store (SQLite, WAL).
 *
 * Records are serialised rsgw.v1.Record messages, append-only, numbered
 * 1, 2, 3, ... by the gateway. Each row keeps
 *     hash = SHA-256(previous hash || payload)
 * with 32 zero bytes before record 1, so editing or deleting a record breaks
 * the chain from that record on. The indexed columns (plate, time, device,
 * result, ...) are derived from the payload by the store itself and checked
 * against it by store_verify(), so they cannot disagree with the evidence.
 *
 * Durability contract (docs/architecture.md): store_append() outside a
 * transaction, or store_commit(), returns 0 only when the record is in the
 * WAL and fsync'd (synchronous=FULL). Nothing is acknowledged before that.
 * A failed append or commit leaves the database as it was before it (a
 * record is stored whole or not at all); only when the failure was in the
 * final fsync and the process or machine dies before the next write may the
 * unacknowledged record still turn up after a restart, complete and chained.
 * Either way store_next_seq() says what the database holds.
 *
 * What the chain proves, and what it does not: editing, deleting, inserting
 * or reordering records anywhere before the newest one is detected by
 * store_verify(). The newest record's (seq, hash) is also kept in a one-row
 * table (chain), updated in the same transaction as each append (one more
 * page in the WAL per commit, no extra fsync), so removing records from the
 * end with SQL is detected too, and STORE_WRITER refuses to open a store
 * whose records end before its chain head (appending would reuse their seq
 * numbers). Someone who rewrites the file consistently (records, hashes and
 * chain head, or restores an older copy) is only caught against a head kept
 * elsewhere: the platform's copy of the records, or a (seq, hash) from
 * store_head_hash() logged or sent off the box.
 *
 * Retention (store_prune() in store_sync.h) removes delivered old records from
 * the front; the chain base (the lowest seq held and the hash of the record
 * before it, 32 zero bytes at 1) anchors the rest, and store_verify() checks
 * from there. Records are deleted only below the base, in the transaction that
 * moves it.
 *
 * Schema (PRAGMA user_version, migrations in store_schema.c): records,
 * chain, settings, vehicles; from version 3 chain_base and the platform sync
 * tables (upstream_cursors, upstream_rejects, remote_findings, remote_cursors,
 * platform_exemptions). Triggers on records, chain and chain_base stop
 * accidents, not attackers (store_verify() does not rely on them).
 */
#ifndef STORE_H
#define STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "history.h"

typedef struct store store;
struct sqlite3;

enum store_mode {
    STORE_READ,   /* queries only */
    STORE_ADMIN,  /* may also change the registry and settings (CLI) */
    STORE_WRITER, /* the one process that appends records: holds <path>.lock */
};

enum store_rc {
    STORE_OK = 0,
    STORE_ERR = -1,      /* see store_errmsg() */
    STORE_EFULL = -2,    /* disk full: nothing was written, earlier records intact */
    STORE_EBUSY = -3,    /* another writer holds the store */
    STORE_ECORRUPT = -4, /* not a store, or damaged beyond what SQLite recovers */
    STORE_EINVAL = -5,   /* bad argument (e.g. payload seq is not the next one) */
};

/* Open (creating and migrating when allowed). *out is NULL on failure and err says why.
 * STORE_READ never creates or migrates; a schema newer than this build knows is refused
 * in every mode; a file that is not an rsgw store is STORE_ECORRUPT. STORE_WRITER fails
 * with STORE_EBUSY while another writer holds <path>.lock. */
int store_open(const char *path, enum store_mode mode, store **out, char *err, size_t errlen);
/* The same through a registered SQLite VFS (NULL = the default); for fault-injection tests. */
int store_open_vfs(const char *path, enum store_mode mode, const char *vfs, store **out, char *err,
                   size_t errlen);
/* Closing with a group commit open discards the group. */
void store_close(store *s);
const char *store_errmsg(const store *s);
struct sqlite3 *store_db(store *s); /* for registry.c; not for general use */
int store_schema_version(store *s);

/* ---- appending (STORE_WRITER) ---- */

/* Sequence number the next appended record must carry. */
uint64_t store_next_seq(const store *s);
void store_head_hash(const store *s, uint8_t hash[32]);

/* Group commit: several appends, one fsync. If an append (after its arguments were
 * checked) or the commit fails, the whole group is rolled back and ended: none of its
 * records is stored, and the caller starts again from store_next_seq(). */
int store_begin(store *s);
int store_commit(store *s);
void store_rollback(store *s); /* also resets next seq and head hash */

/* Append one serialised rsgw.v1.Record whose seq is store_next_seq().
 * hash_out (may be NULL) receives the record's chain hash. A payload that does not
 * decode, carries another seq or is larger than STORE_PAYLOAD_MAX is STORE_EINVAL and
 * changes nothing (an open group stays open). */
#define STORE_PAYLOAD_MAX (1 << 20)
int store_append(store *s, const uint8_t *payload, size_t len, uint8_t hash_out[32]);

/* ---- queries ---- */

/* Valid judged passes of plate with time_ms >= since_ms, newest first. plate is compared
 * as stored (the record's vehicle.plate, else measurement.plate): pass it normalised.
 * Findings made at other checkpoints (store_remote_findings_add()) are listed among them
 * with remote set, and counted in findings; one that matches a local finding (same plate
 * and time_ms) is this gateway's own come back, and counts once. */
int store_history(store *s, const char *plate, int64_t since_ms, struct history *out);

/* Last stored pass of a device, for exactly-once reading across restarts. */
int store_device_cursor(store *s, const char *device_id, bool *found, uint32_t *device_seq,
                        uint8_t fingerprint[32]);

struct store_query {
    uint64_t from_seq; /* 0 = from the start (or the end when newest_first) */
    size_t limit;      /* 0 = no limit */
    bool newest_first;
    const char *plate; /* NULL = any */
};
/* Calls fn for each record; fn returning non-zero stops the walk (and is returned). */
typedef int (*store_record_fn)(void *ud, uint64_t seq, const uint8_t hash[32],
                               const uint8_t *payload, size_t len);
int store_records(store *s, const struct store_query *q, store_record_fn fn, void *ud);

struct store_stats {
    uint64_t records;
    uint64_t passes;
    uint64_t findings;
    uint64_t last_seq;
    int64_t last_time_ms;
};
int store_get_stats(store *s, struct store_stats *out);

struct store_verify_result {
    bool ok;
    uint64_t checked;       /* records whose hash was recomputed */
    uint64_t first_bad_seq; /* 0 when ok */
    char reason[256];       /* e.g. "record 42: hash mismatch (payload or hash edited)" */
};
/* Walks every record from the chain base in seq order in one read snapshot and stops at
 * the first broken one: a missing seq, a record below the base, a payload that does not
 * decode or carries another seq, a hash that does not follow from the previous one (for
 * the base's record: from the base's anchor), a column that disagrees with its payload,
 * or a chain head that is not the newest record. Returns 0 when the walk ran (out->ok says
 * whether the chain holds), <0 when it could not read the store. progress (may be NULL)
 * is called every 10000 records and at the end, total being the number of records from
 * the base to the newest (the newest seq while nothing was pruned). */
typedef void (*store_progress_fn)(void *ud, uint64_t done, uint64_t total);
int store_verify(store *s, struct store_verify_result *out, store_progress_fn progress, void *ud);

/* Small key/value settings (alert level, ...). get: 1 = found, 0 = absent, <0 error. */
int store_setting_get(store *s, const char *key, char *buf, size_t len);
int store_setting_set(store *s, const char *key, const char *value);

const char *store_strerror(int rc);

#endif
