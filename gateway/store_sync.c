/* SPDX-License-Identifier: MIT */
/* Delivery to the platforms: per-upstream cursors, rejects and retries, backlog, batches. */
#include "store_sync.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "store_priv.h"

#define UPSTREAM_MAX 128 /* bytes of an upstream's name */

static int check_upstream(store *s, const char *what, const char *upstream)
{
    if (!upstream || !*upstream || strnlen(upstream, UPSTREAM_MAX) >= UPSTREAM_MAX)
        return store_fail(s, STORE_EINVAL, "%s: %s: no upstream name, or longer than %d bytes",
                          s->path, what, UPSTREAM_MAX - 1);
    return STORE_OK;
}

static int prepare(store *s, const char *sql, sqlite3_stmt **st, const char *what)
{
    int rc = sqlite3_prepare_v2(s->db, sql, -1, st, NULL);
    return rc == SQLITE_OK ? STORE_OK : store_fail_sqlite(s, rc, what);
}

/* Run a prepared statement that returns no rows, then finalise it. */
static int run(store *s, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? STORE_OK : store_fail_sqlite(s, rc, what);
}

/* Opens a read snapshot unless a transaction is already open; *own says which. */
static int snapshot_begin(store *s, bool *own, const char *what)
{
    *own = sqlite3_get_autocommit(s->db);
    if (*own) {
        int rc = sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL);
        if (rc != SQLITE_OK)
            return store_fail_sqlite(s, rc, what);
    }
    return STORE_OK;
}

static void snapshot_end(store *s, bool own)
{
    if (own && !sqlite3_get_autocommit(s->db))
        sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
}

static int read_cursor(store *s, const char *upstream, uint64_t *seq)
{
    *seq = 0;
    sqlite3_stmt *st = store_stmt(s, ST_UPSTREAM_CURSOR);
    if (!st)
        return STORE_ERR;
    sqlite3_bind_text(st, 1, upstream, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *seq = (uint64_t)sqlite3_column_int64(st, 0);
        rc = SQLITE_DONE;
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? STORE_OK : store_fail_sqlite(s, rc, "read an upstream cursor");
}

int store_upstream_cursor(store *s, const char *upstream, uint64_t *seq)
{
    if (!s || !seq)
        return STORE_EINVAL;
    *seq = 0;
    int rc = check_upstream(s, "upstream cursor", upstream);
    return rc == STORE_OK ? read_cursor(s, upstream, seq) : rc;
}

/* Inside the advance transaction: the new cursor and the rejects it passes. */
static int write_advance(store *s, const char *upstream, uint64_t new_seq,
                         const struct store_reject *rejects, size_t n_rejects)
{
    const char *what = "advance an upstream cursor";
    int64_t now_ms = registry_now_ms();
    sqlite3_stmt *st = NULL;
    int rc = prepare(s,
                     "INSERT INTO upstream_cursors(upstream, seq, updated_ms) VALUES (?1, ?2, ?3) "
                     "ON CONFLICT(upstream) DO UPDATE SET seq = excluded.seq, "
                     "updated_ms = excluded.updated_ms",
                     &st, what);
    if (rc != STORE_OK)
        return rc;
    sqlite3_bind_text(st, 1, upstream, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)new_seq);
    sqlite3_bind_int64(st, 3, now_ms);
    rc = run(s, st, what);
    if (rc == STORE_OK && n_rejects > 0)
        rc =
            prepare(s,
                    "INSERT INTO upstream_rejects(upstream, seq, reason, time_ms, attempts, final) "
                    "VALUES (?1, ?2, ?3, ?4, 0, 1) ON CONFLICT(upstream, seq) DO UPDATE SET "
                    "reason = excluded.reason, time_ms = excluded.time_ms, final = 1",
                    &st, what);
    for (size_t i = 0; rc == STORE_OK && i < n_rejects; i++) {
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, upstream, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)rejects[i].seq);
        sqlite3_bind_text(st, 3, rejects[i].reason, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, now_ms);
        int src = sqlite3_step(st);
        if (src != SQLITE_DONE)
            rc = store_fail_sqlite(s, src, "record a rejected record");
    }
    if (n_rejects > 0)
        sqlite3_finalize(st);
    /* Records asked to be sent again are settled now (accepted or rejected). */
    if (rc == STORE_OK)
        rc = prepare(s,
                     "DELETE FROM upstream_rejects WHERE upstream = ?1 AND seq <= ?2 AND final = 0",
                     &st, what);
    if (rc == STORE_OK) {
        sqlite3_bind_text(st, 1, upstream, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)new_seq);
        rc = run(s, st, what);
    }
    return rc;
}

int store_upstream_advance(store *s, const char *upstream, uint64_t new_seq,
                           const struct store_reject *rejects, size_t n_rejects)
{
    if (!s)
        return STORE_EINVAL;
    const char *what = "advance an upstream cursor";
    int rc = check_upstream(s, what, upstream);
    if (rc != STORE_OK)
        return rc;
    if ((n_rejects > 0 && !rejects) || new_seq > INT64_MAX)
        return store_fail(s, STORE_EINVAL, "%s: %s: bad arguments", s->path, what);
    for (size_t i = 0; i < n_rejects; i++)
        if (!memchr(rejects[i].reason, '\0', sizeof rejects[i].reason))
            return store_fail(s, STORE_EINVAL, "%s: %s: reject %zu: reason not terminated", s->path,
                              upstream, i);
    rc = store_write_begin(s, what);
    if (rc != STORE_OK)
        return rc;
    uint64_t cur = 0, head = 0;
    rc = read_cursor(s, upstream, &cur);
    if (rc == STORE_OK)
        rc = store_chain_head_seq(s, &head);
    if (rc != STORE_OK)
        return store_write_abort(s, rc);
    if (new_seq < cur)
        return store_write_abort(
            s, store_fail(s, STORE_EINVAL,
                          "%s: upstream %s: the cursor is at %llu and never moves back (to %llu)",
                          s->path, upstream, (unsigned long long)cur, (unsigned long long)new_seq));
    if (new_seq > head)
        return store_write_abort(
            s,
            store_fail(s, STORE_EINVAL,
                       "%s: upstream %s: cannot move the cursor to %llu: the newest record "
                       "is %llu",
                       s->path, upstream, (unsigned long long)new_seq, (unsigned long long)head));
    for (size_t i = 0; i < n_rejects; i++)
        if (rejects[i].seq <= cur || rejects[i].seq > new_seq)
            return store_write_abort(
                s, store_fail(s, STORE_EINVAL,
                              "%s: upstream %s: rejected record %llu is not among the records "
                              "the cursor passes (%llu to %llu)",
                              s->path, upstream, (unsigned long long)rejects[i].seq,
                              (unsigned long long)(cur + 1), (unsigned long long)new_seq));
    if (new_seq == cur && n_rejects == 0)
        return store_write_abort(s, STORE_OK); /* nothing to change */
    rc = write_advance(s, upstream, new_seq, rejects, n_rejects);
    if (rc != STORE_OK)
        return store_write_abort(s, rc);
    return store_write_commit(s, what);
}

int store_upstream_note_retry(store *s, const char *upstream, uint64_t seq, const char *reason)
{
    if (!s)
        return STORE_EINVAL;
    const char *what = "count a retry";
    int rc = check_upstream(s, what, upstream);
    if (rc != STORE_OK)
        return rc;
    if (seq == 0 || seq > INT64_MAX)
        return store_fail(s, STORE_EINVAL, "%s: %s: no record %llu", s->path, what,
                          (unsigned long long)seq);
    rc = store_write_begin(s, what);
    if (rc != STORE_OK)
        return rc;
    uint64_t cur = 0, head = 0;
    rc = read_cursor(s, upstream, &cur);
    if (rc == STORE_OK)
        rc = store_chain_head_seq(s, &head);
    if (rc == STORE_OK && (seq <= cur || seq > head))
        rc = store_fail(s, STORE_EINVAL,
                        "%s: upstream %s: record %llu is %s (cursor %llu, newest %llu)", s->path,
                        upstream, (unsigned long long)seq,
                        seq <= cur ? "already final there" : "not stored", (unsigned long long)cur,
                        (unsigned long long)head);
    sqlite3_stmt *st = NULL;
    if (rc == STORE_OK)
        rc =
            prepare(s,
                    "INSERT INTO upstream_rejects(upstream, seq, reason, time_ms, attempts, final) "
                    "VALUES (?1, ?2, ?3, ?4, 1, 0) ON CONFLICT(upstream, seq) DO UPDATE SET "
                    "attempts = attempts + 1, reason = excluded.reason, "
                    "time_ms = excluded.time_ms RETURNING attempts",
                    &st, what);
    int64_t attempts = 0;
    if (rc == STORE_OK) {
        sqlite3_bind_text(st, 1, upstream, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)seq);
        sqlite3_bind_text(st, 3, reason ? reason : "", -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, registry_now_ms());
        int src = sqlite3_step(st);
        if (src == SQLITE_ROW) {
            attempts = sqlite3_column_int64(st, 0);
            src = sqlite3_step(st);
        }
        sqlite3_finalize(st);
        if (src != SQLITE_DONE)
            rc = store_fail_sqlite(s, src, what);
    }
    if (rc != STORE_OK)
        return store_write_abort(s, rc);
    rc = store_write_commit(s, what);
    if (rc != STORE_OK)
        return rc;
    return attempts > INT_MAX ? INT_MAX : (int)attempts;
}

int store_upstream_rejects(store *s, const char *upstream, store_reject_fn fn, void *ud)
{
    if (!s || !fn)
        return STORE_EINVAL;
    int rc = check_upstream(s, "list rejects", upstream);
    if (rc != STORE_OK)
        return rc;
    /* Prepared per call, not cached: fn may run other queries on this store meanwhile. */
    sqlite3_stmt *st = NULL;
    rc = prepare(s,
                 "SELECT seq, time_ms, reason FROM upstream_rejects "
                 "WHERE upstream = ?1 AND final = 1 ORDER BY seq",
                 &st, "list rejects");
    if (rc != STORE_OK)
        return rc;
    sqlite3_bind_text(st, 1, upstream, -1, SQLITE_STATIC);
    int ret = 0, src;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        const char *reason = (const char *)sqlite3_column_text(st, 2);
        ret = fn(ud, (uint64_t)sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1),
                 reason ? reason : "");
        if (ret != 0)
            break;
    }
    if (ret == 0 && src != SQLITE_DONE)
        ret = store_fail_sqlite(s, src, "list rejects");
    sqlite3_finalize(st);
    return ret;
}

static int query_u64(store *s, const char *sql, const char *text, int64_t arg, uint64_t *out,
                     const char *what)
{
    sqlite3_stmt *st = NULL;
    int rc = prepare(s, sql, &st, what);
    if (rc != STORE_OK)
        return rc;
    if (text)
        sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
    else
        sqlite3_bind_int64(st, 1, arg);
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        *out = (uint64_t)sqlite3_column_int64(st, 0);
        src = SQLITE_DONE;
    }
    sqlite3_finalize(st);
    return src == SQLITE_DONE ? STORE_OK : store_fail_sqlite(s, src, what);
}

static int read_backlog(store *s, const char *upstream, struct store_backlog *out)
{
    const char *what = "read an upstream's backlog";
    uint64_t cur = 0, head = 0, base = 1;
    uint8_t anchor[STORE_HASH_LEN];
    int rc = read_cursor(s, upstream, &cur);
    if (rc == STORE_OK)
        rc = store_chain_head_seq(s, &head);
    if (rc == STORE_OK)
        rc = store_chain_base(s, &base, anchor);
    if (rc == STORE_OK)
        rc = query_u64(s, "SELECT count(*) FROM upstream_rejects WHERE upstream = ?1 AND final = 1",
                       upstream, 0, &out->rejected, what);
    if (rc != STORE_OK)
        return rc;
    /* Seqs are contiguous from the base to the head (store_verify() checks it); records
     * pruned before an upstream was known cannot be sent to it any more. */
    uint64_t first = cur + 1 > base ? cur + 1 : base;
    if (head < first)
        return STORE_OK;
    out->records = head - first + 1;
    out->oldest_seq = first;
    uint64_t t = 0;
    rc = query_u64(s, "SELECT time_ms FROM records WHERE seq = ?1", NULL, (int64_t)first, &t, what);
    out->oldest_time_ms = (int64_t)t;
    return rc;
}

int store_upstream_backlog(store *s, const char *upstream, struct store_backlog *out)
{
    if (!s || !out)
        return STORE_EINVAL;
    memset(out, 0, sizeof *out);
    int rc = check_upstream(s, "backlog", upstream);
    if (rc != STORE_OK)
        return rc;
    bool own = false;
    rc = snapshot_begin(s, &own, "read an upstream's backlog");
    if (rc != STORE_OK)
        return rc;
    rc = read_backlog(s, upstream, out);
    snapshot_end(s, own);
    if (rc != STORE_OK)
        memset(out, 0, sizeof *out);
    return rc;
}

/* The hash of record seq into out; 1 found, 0 absent, <0 error. */
static int record_hash(store *s, uint64_t seq, uint8_t out[STORE_HASH_LEN])
{
    sqlite3_stmt *st = NULL;
    int rc = prepare(s, "SELECT hash FROM records WHERE seq = ?1", &st, "read a record's hash");
    if (rc != STORE_OK)
        return rc;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)seq);
    int src = sqlite3_step(st);
    int ret = 0;
    if (src == SQLITE_ROW) {
        memset(out, 0, STORE_HASH_LEN);
        const void *h = sqlite3_column_blob(st, 0);
        if (h && sqlite3_column_bytes(st, 0) == STORE_HASH_LEN)
            memcpy(out, h, STORE_HASH_LEN);
        ret = 1;
    } else if (src != SQLITE_DONE) {
        ret = store_fail_sqlite(s, src, "read a record's hash");
    }
    sqlite3_finalize(st);
    return ret;
}

static int hole(store *s, uint64_t missing)
{
    return store_fail(s, STORE_ECORRUPT,
                      "%s: read batch: record %llu is missing (the store was edited); run `rsgw "
                      "verify`",
                      s->path, (unsigned long long)missing);
}

static int read_batch(store *s, uint64_t after_seq, size_t max_records, size_t max_bytes,
                      store_batch_fn fn, void *ud)
{
    uint64_t base = 1;
    uint8_t prev[STORE_HASH_LEN];
    int rc = store_chain_base(s, &base, prev);
    if (rc != STORE_OK)
        return rc;
    uint64_t first = after_seq >= base ? after_seq + 1 : base;
    if (first > base) {
        rc = record_hash(s, first - 1, prev);
        if (rc < 0)
            return rc;
        if (rc == 0) {
            uint64_t head = 0;
            rc = store_chain_head_seq(s, &head);
            if (rc != STORE_OK)
                return rc;
            return first - 1 >= head ? STORE_OK : hole(s, first - 1); /* nothing newer */
        }
    }
    sqlite3_stmt *st = NULL;
    rc = prepare(s, "SELECT seq, hash, payload FROM records WHERE seq >= ?1 ORDER BY seq LIMIT ?2",
                 &st, "read a batch");
    if (rc != STORE_OK)
        return rc;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)first);
    sqlite3_bind_int64(st, 2, max_records > INT64_MAX ? INT64_MAX : (sqlite3_int64)max_records);
    uint64_t expect = first;
    size_t bytes = 0;
    int ret = 0, src;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        uint64_t seq = (uint64_t)sqlite3_column_int64(st, 0);
        if (seq != expect) {
            ret = hole(s, expect);
            break;
        }
        uint8_t hash[STORE_HASH_LEN] = {0};
        const void *h = sqlite3_column_blob(st, 1);
        if (h && sqlite3_column_bytes(st, 1) == STORE_HASH_LEN)
            memcpy(hash, h, STORE_HASH_LEN);
        const uint8_t *payload = sqlite3_column_blob(st, 2);
        size_t len = (size_t)sqlite3_column_bytes(st, 2);
        if (expect > first && (len > max_bytes || bytes > max_bytes - len))
            break; /* the next one would go over: it starts the next batch */
        bytes += len;
        ret = fn(ud, seq, hash, prev, payload ? payload : hash, len);
        if (ret != 0)
            break;
        memcpy(prev, hash, STORE_HASH_LEN);
        expect++;
    }
    if (ret == 0 && src != SQLITE_DONE && src != SQLITE_ROW)
        ret = store_fail_sqlite(s, src, "read a batch");
    sqlite3_finalize(st);
    return ret;
}

int store_read_batch(store *s, uint64_t after_seq, size_t max_records, size_t max_bytes,
                     store_batch_fn fn, void *ud)
{
    if (!s || !fn)
        return STORE_EINVAL;
    if (max_records == 0 || after_seq >= INT64_MAX)
        return store_fail(s, STORE_EINVAL, "%s: read batch: max_records 0 or after_seq too large",
                          s->path);
    /* One snapshot: a prune in another process cannot move the base under the walk. */
    bool own = false;
    int rc = snapshot_begin(s, &own, "read a batch");
    if (rc != STORE_OK)
        return rc;
    rc = read_batch(s, after_seq, max_records, max_bytes, fn, ud);
    snapshot_end(s, own);
    return rc;
}
