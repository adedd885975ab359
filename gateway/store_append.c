/* SPDX-License-Identifier: MIT */
/* Appending records to the hash chain, one durable transaction or a group at a time. */
#include "store_priv.h"

#include <stdio.h>
#include <string.h>

uint64_t store_next_seq(const store *s)
{
    return s ? s->next_seq : 0;
}

void store_head_hash(const store *s, uint8_t hash[32])
{
    if (s)
        memcpy(hash, s->head, STORE_HASH_LEN);
    else
        memset(hash, 0, STORE_HASH_LEN);
}

static int require_writer(store *s, const char *what)
{
    if (s->mode != STORE_WRITER)
        return store_fail(s, STORE_EINVAL, "%s: %s: the store was not opened as the writer",
                          s->path, what);
    return STORE_OK;
}

int store_begin(store *s)
{
    if (!s)
        return STORE_EINVAL;
    int rc = require_writer(s, "begin");
    if (rc != STORE_OK)
        return rc;
    if (s->in_txn)
        return store_fail(s, STORE_EINVAL, "%s: begin: a group commit is already open", s->path);
    int src = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (src != SQLITE_OK)
        return store_fail_sqlite(s, src, "begin");
    s->in_txn = true;
    return STORE_OK;
}

int store_commit(store *s)
{
    if (!s)
        return STORE_EINVAL;
    if (!s->in_txn)
        return store_fail(s, STORE_EINVAL, "%s: commit: no group commit is open", s->path);
    int rc = sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        int code = store_fail_sqlite(s, rc, "commit records");
        store_abandon(s);
        return code;
    }
    s->in_txn = false;
    return STORE_OK;
}

void store_rollback(store *s)
{
    if (!s || !s->db)
        return;
    store_abandon(s);
}

static void bind_text_or_null(sqlite3_stmt *st, int col, const char *v)
{
    if (v)
        sqlite3_bind_text(st, col, v, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, col);
}

/* Not an SQLite code: the chain table lost its row (someone edited the file). */
#define CHAIN_ROW_MISSING (-1)

static int insert_row(store *s, const struct store_derived *d, const uint8_t *payload, size_t len,
                      const uint8_t hash[STORE_HASH_LEN])
{
    sqlite3_stmt *st = store_stmt(s, ST_INSERT_RECORD);
    if (!st)
        return SQLITE_ERROR;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)d->seq);
    sqlite3_bind_int64(st, 2, d->time_ms);
    sqlite3_bind_int(st, 3, d->kind);
    bind_text_or_null(st, 4, d->plate);
    bind_text_or_null(st, 5, d->checkpoint);
    bind_text_or_null(st, 6, d->device_id);
    if (d->has_device_seq)
        sqlite3_bind_int64(st, 7, d->device_seq);
    if (d->fingerprint)
        sqlite3_bind_blob(st, 8, d->fingerprint, (int)d->fingerprint_len, SQLITE_STATIC);
    if (d->has_result)
        sqlite3_bind_int(st, 9, d->result);
    sqlite3_bind_int64(st, 10, d->exceeded);
    sqlite3_bind_int(st, 11, d->judged);
    sqlite3_bind_int(st, 12, d->finding);
    sqlite3_bind_blob(st, 13, payload, (int)len, SQLITE_STATIC);
    sqlite3_bind_blob(st, 14, hash, STORE_HASH_LEN, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st); /* nothing may point into the freed payload */
    if (rc != SQLITE_DONE)
        return rc;

    st = store_stmt(s, ST_ADVANCE_CHAIN);
    if (!st)
        return SQLITE_ERROR;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)d->seq);
    sqlite3_bind_blob(st, 2, hash, STORE_HASH_LEN, SQLITE_STATIC);
    rc = sqlite3_step(st);
    int changed = sqlite3_changes(s->db);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc == SQLITE_DONE && changed != 1)
        return CHAIN_ROW_MISSING;
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

int store_append(store *s, const uint8_t *payload, size_t len, uint8_t hash_out[32])
{
    if (!s)
        return STORE_EINVAL;
    int rc = require_writer(s, "append");
    if (rc != STORE_OK)
        return rc;
    if ((!payload && len > 0) || len > STORE_PAYLOAD_MAX)
        return store_fail(s, STORE_EINVAL, "%s: append: payload of %zu bytes (at most %d)", s->path,
                          len, STORE_PAYLOAD_MAX);
    if (s->next_seq == 0) {
        rc = store_load_head(s); /* an earlier failure left it unknown */
        if (rc != STORE_OK)
            return rc;
    }

    struct store_derived d;
    if (store_derive(payload, len, &d) != STORE_OK)
        return store_fail(s, STORE_EINVAL,
                          "%s: append: the payload (%zu bytes) is not a rsgw.v1.Record; not stored",
                          s->path, len);
    if (d.seq != s->next_seq) {
        rc = store_fail(s, STORE_EINVAL,
                        "%s: append: the record carries seq %llu but the next seq is %llu; not "
                        "stored",
                        s->path, (unsigned long long)d.seq, (unsigned long long)s->next_seq);
        store_derived_free(&d);
        return rc;
    }
    uint8_t hash[STORE_HASH_LEN];
    rc = store_chain_hash(s, s->head, payload, len, hash);
    if (rc != STORE_OK) {
        store_derived_free(&d);
        return rc;
    }

    bool began = !s->in_txn;
    int src = began ? sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) : SQLITE_OK;
    if (src == SQLITE_OK)
        src = insert_row(s, &d, payload, len, hash);
    if (src == SQLITE_OK && began)
        src = sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
    store_derived_free(&d);
    if (src == CHAIN_ROW_MISSING) {
        rc = store_fail(s, STORE_ECORRUPT,
                        "%s: append: the chain head row is missing (the store was edited); run "
                        "`rsgw verify`",
                        s->path);
        store_abandon(s);
        return rc;
    }
    if (src != SQLITE_OK) {
        char what[64];
        snprintf(what, sizeof what, "append record %llu", (unsigned long long)s->next_seq);
        rc = store_fail_sqlite(s, src, what);
        store_abandon(s); /* a group loses all its records: none was acknowledged */
        return rc;
    }
    s->next_seq++;
    memcpy(s->head, hash, STORE_HASH_LEN);
    if (hash_out)
        memcpy(hash_out, hash, STORE_HASH_LEN);
    return STORE_OK;
}
