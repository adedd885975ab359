/* SPDX-License-Identifier: MIT */
/*
 * Inside the record store: shared by gateway/store*.c and registry*.c only.
 * Tests may include it for the schema hooks (store_migrate).
 */
#ifndef STORE_PRIV_H
#define STORE_PRIV_H

#include <limits.h>
#include <openssl/evp.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

#define STORE_HASH_LEN        32
#define STORE_APPLICATION_ID  0x52534757 /* "RSGW" in the database header */
#define STORE_BUSY_TIMEOUT_MS 5000

/* Cached statements, prepared on first use and finalised by store_close(). */
enum store_stmt_id {
    ST_INSERT_RECORD,
    ST_ADVANCE_CHAIN,
    ST_HEAD,
    ST_CHAIN,
    ST_HISTORY,
    ST_FINDINGS,
    ST_DEVICE_CURSOR,
    ST_SETTING_GET,
    ST_SETTING_SET,
    ST_VEHICLE_GET,
    ST_VEHICLE_PUT,
    ST_VEHICLE_DELETE,
    ST_REMOTE_HISTORY,
    ST_REMOTE_FINDINGS,
    ST_BASE,
    ST_PLATFORM_EXEMPTION,
    ST_UPSTREAM_CURSOR,
    ST_COUNT
};

struct store {
    sqlite3 *db;
    enum store_mode mode;
    int lock_fd; /* <path>.lock, flock'ed; -1 unless STORE_WRITER */
    int schema_version;
    bool in_txn;       /* between store_begin() and store_commit()/store_rollback() */
    uint64_t next_seq; /* mirrors the database: last record's seq + 1 */
    uint8_t head[STORE_HASH_LEN];
    sqlite3_stmt *stmt[ST_COUNT];
    EVP_MD_CTX *md; /* reused SHA-256 context */
    char path[PATH_MAX];
    char err[512];
};

/*
 * The columns store_append() derives from a payload and store_verify()
 * checks against it. Strings point into the unpacked message (rec), which
 * the caller releases with store_derived_free().
 */
struct store_derived {
    struct Rsgw__V1__Record *rec;
    uint64_t seq;
    int64_t time_ms;
    int kind;               /* STORE_KIND_* */
    const char *plate;      /* NULL when absent or empty */
    const char *checkpoint; /* NULL when absent */
    const char *device_id;  /* NULL unless a pass with a device id */
    bool has_device_seq;
    uint32_t device_seq;
    const uint8_t *fingerprint; /* NULL when absent */
    size_t fingerprint_len;
    bool has_result;
    int result;
    uint32_t exceeded;
    bool judged;
    bool finding;
};

enum { STORE_KIND_NONE = 0, STORE_KIND_PASS = 1, STORE_KIND_EVENT = 2 };

/* 0, or STORE_EINVAL when the payload is not a rsgw.v1.Record (d is then empty). */
int store_derive(const uint8_t *payload, size_t len, struct store_derived *d);
void store_derived_free(struct store_derived *d);

/* SHA-256(prev || payload). 0 or STORE_ERR. */
int store_chain_hash(store *s, const uint8_t prev[STORE_HASH_LEN], const uint8_t *payload,
                     size_t len, uint8_t out[STORE_HASH_LEN]);

/* The cached statement, reset and with bindings cleared; NULL (message set) on failure. */
sqlite3_stmt *store_stmt(store *s, enum store_stmt_id id);

/* Record a failure: sets s->err from the printf-style text and returns rc. */
int store_fail(store *s, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Record an SQLite failure of db (rc its result), mapping it to a store code:
 * disk full -> STORE_EFULL, corrupt -> STORE_ECORRUPT, busy -> STORE_EBUSY. */
int store_fail_sqlite(store *s, int rc, const char *what);
int store_map_sqlite(sqlite3 *db, int rc);

/* Fails with STORE_EINVAL unless the store may change (ADMIN or WRITER). */
int store_require_write(store *s, const char *what);

/* After a failed single-statement write: if it was inside a group commit that SQLite
 * rolled back itself (I/O error, disk full), end the group too. Returns rc. */
int store_write_failed(store *s, int rc);

/* After a failed write: roll back whatever is open, end any group, reload the head
 * from the database (keeping the error message). */
void store_abandon(store *s);

/* Reload next seq and head hash from the database. */
int store_load_head(store *s);

/* A write of its own (platform sync, retention): STORE_EINVAL on a read-only store or
 * while a group commit is open, else BEGIN IMMEDIATE. */
int store_write_begin(store *s, const char *what);
/* COMMIT (the durability point); on failure the transaction is rolled back. */
int store_write_commit(store *s, const char *what);
/* Roll back what store_write_begin() opened and return rc (the message is kept). */
int store_write_abort(store *s, int rc);

/* The chain base: the lowest seq held and the hash of the record before it (zeros at 1). */
int store_chain_base(store *s, uint64_t *seq, uint8_t prev_hash[STORE_HASH_LEN]);
/* The chain head's seq (0 for an empty store). */
int store_chain_head_seq(store *s, uint64_t *seq);

/* Schema (store_schema.c). */
int store_schema_latest(void);
/* Read the version and check the file is an rsgw store; *version = user_version. */
int store_schema_probe(sqlite3 *db, const char *path, int *version, char *err, size_t errlen);
/* Apply the migrations up to target (<= latest), each in its own transaction. */
int store_migrate(sqlite3 *db, int target, char *err, size_t errlen);

/* ---- registry internals (registry.c, registry_csv.c) ---- */

struct registry_vehicle;

/* Column names of CSV headers and keys of registry_apply_edit(). */
enum registry_field {
    REGISTRY_FIELD_PLATE,
    REGISTRY_FIELD_FUEL,
    REGISTRY_FIELD_STAGE,
    REGISTRY_FIELD_WEIGHT,
    REGISTRY_FIELD_CLASS,
    REGISTRY_FIELD_VIN,
    REGISTRY_FIELD_EXEMPTION,
    REGISTRY_FIELD_COUNT
};
int registry_field_parse(const char *name); /* -1 if unknown */
const char *registry_field_name(enum registry_field f);
/* Parse value (trimmed) into v; -1 with err set ("unknown fuel 'dizel' (use ...)"). */
int registry_field_set(struct registry_vehicle *v, enum registry_field f, const char *value,
                       char *err, size_t errlen);
/* plate_parse()'s normalised form when valid, else the trimmed input; -1 if empty/too long. */
int registry_normalise_plate(const char *in, char *out, size_t cap, char *err, size_t errlen);
bool registry_vin_valid(const char *vin);
int64_t registry_now_ms(void);

#endif
