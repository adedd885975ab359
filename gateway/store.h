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

/* Open (creating and migrating when allowed). *out is NULL on failure and err says why. */
int store_open(const char *path, enum store_mode mode, store **out, char *err, size_t errlen);
void store_close(store *s);
const char *store_errmsg(const store *s);
struct sqlite3 *store_db(store *s); /* for registry.c; not for general use */
int store_schema_version(store *s);

/* ---- appending (STORE_WRITER) ---- */

/* Sequence number the next appended record must carry. */
uint64_t store_next_seq(const store *s);
void store_head_hash(const store *s, uint8_t hash[32]);

/* Group commit: several appends, one fsync. */
int store_begin(store *s);
int store_commit(store *s);
void store_rollback(store *s); /* also resets next seq and head hash */

/* Append one serialised rsgw.v1.Record whose seq is store_next_seq().
 * hash_out (may be NULL) receives the record's chain hash. */
int store_append(store *s, const uint8_t *payload, size_t len, uint8_t hash_out[32]);

/* ---- queries ---- */

/* Valid judged passes of plate with time_ms >= since_ms, newest first. */
int store_history(store *s, const char *plate, int64_t since_ms, struct history *out);

/* Last stored pass of a device, for exactly-once reading across restarts. */
int store_device_cursor(store *s, const char *device_id, bool *found, uint32_t *device_seq,
                        uint8_t fingerprint[32]);

struct store_query {
    uint64_t from_seq;    /* 0 = from the start (or the end when newest_first) */
    size_t limit;         /* 0 = no limit */
    bool newest_first;
    const char *plate;    /* NULL = any */
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
    uint64_t checked;        /* records whose hash was recomputed */
    uint64_t first_bad_seq;  /* 0 when ok */
    char reason[256];        /* e.g. "record 42: hash mismatch (payload or hash edited)" */
};
typedef void (*store_progress_fn)(void *ud, uint64_t done, uint64_t total);
int store_verify(store *s, struct store_verify_result *out, store_progress_fn progress, void *ud);

/* Small key/value settings (alert level, ...). get: 1 = found, 0 = absent, <0 error. */
int store_setting_get(store *s, const char *key, char *buf, size_t len);
int store_setting_set(store *s, const char *key, const char *value);

const char *store_strerror(int rc);

#endif
