/* SPDX-License-Identifier: MIT */
/* Reading records: a plate's history, a device's cursor, walks and counts. */
#include "store_priv.h"

#include <stdio.h>
#include <string.h>

/* Copy UTF-8 text, cutting only between characters. */
static void copy_utf8(char *dst, size_t cap, const char *src, size_t len)
{
    if (len >= cap) {
        len = cap - 1;
        while (len > 0 && ((unsigned char)src[len] & 0xC0) == 0x80)
            len--;
    }
    memcpy(dst, src, len);
    dst[len] = '\0';
}

/* Rows (seq, time_ms, exceeded, checkpoint) of a prepared history query into out[]. */
static int read_passes(store *s, sqlite3_stmt *st, const char *plate, int64_t since_ms, bool remote,
                       struct history_pass *out, size_t *n)
{
    sqlite3_bind_text(st, 1, plate, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, since_ms);
    sqlite3_bind_int(st, 3, HISTORY_MAX);
    int rc;
    *n = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && *n < HISTORY_MAX) {
        struct history_pass *p = &out[(*n)++];
        memset(p, 0, sizeof *p);
        p->seq = (uint64_t)sqlite3_column_int64(st, 0);
        p->time_ms = sqlite3_column_int64(st, 1);
        p->exceeded = (uint32_t)sqlite3_column_int64(st, 2);
        const char *cp = (const char *)sqlite3_column_text(st, 3);
        if (cp)
            copy_utf8(p->checkpoint, sizeof p->checkpoint, cp, (size_t)sqlite3_column_bytes(st, 3));
        p->remote = remote;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        return store_fail_sqlite(s, rc, "read a plate's history");
    return STORE_OK;
}

static int count_findings(store *s, enum store_stmt_id id, const char *plate, int64_t since_ms,
                          uint32_t *out)
{
    sqlite3_stmt *st = store_stmt(s, id);
    if (!st)
        return STORE_ERR;
    sqlite3_bind_text(st, 1, plate, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, since_ms);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *out = (uint32_t)sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    if (rc != SQLITE_ROW)
        return store_fail_sqlite(s, rc, "count a plate's findings");
    return STORE_OK;
}

int store_history(store *s, const char *plate, int64_t since_ms, struct history *out)
{
    if (!s || !out)
        return STORE_EINVAL;
    memset(out, 0, sizeof *out);
    if (!plate || !*plate)
        return store_fail(s, STORE_EINVAL, "%s: history: no plate", s->path);
    /* Local passes and remote findings, each newest first and at most HISTORY_MAX, merged. */
    struct history_pass local[HISTORY_MAX], remote[HISTORY_MAX];
    size_t n_local = 0, n_remote = 0;
    uint32_t local_findings = 0, remote_findings = 0;
    sqlite3_stmt *st = store_stmt(s, ST_HISTORY);
    int rc = st ? read_passes(s, st, plate, since_ms, false, local, &n_local) : STORE_ERR;
    if (rc == STORE_OK) {
        st = store_stmt(s, ST_REMOTE_HISTORY);
        rc = st ? read_passes(s, st, plate, since_ms, true, remote, &n_remote) : STORE_ERR;
    }
    if (rc == STORE_OK)
        rc = count_findings(s, ST_FINDINGS, plate, since_ms, &local_findings);
    if (rc == STORE_OK)
        rc = count_findings(s, ST_REMOTE_FINDINGS, plate, since_ms, &remote_findings);
    if (rc != STORE_OK)
        return rc;
    size_t i = 0, j = 0;
    while (out->n < HISTORY_MAX && (i < n_local || j < n_remote)) {
        /* At the same millisecond the local pass goes first. */
        bool take_local = j == n_remote || (i < n_local && local[i].time_ms >= remote[j].time_ms);
        out->pass[out->n++] = take_local ? local[i++] : remote[j++];
    }
    out->findings = local_findings + remote_findings;
    return STORE_OK;
}

int store_device_cursor(store *s, const char *device_id, bool *found, uint32_t *device_seq,
                        uint8_t fingerprint[32])
{
    if (!s || !found || !device_seq || !fingerprint)
        return STORE_EINVAL;
    *found = false;
    *device_seq = 0;
    memset(fingerprint, 0, STORE_HASH_LEN);
    if (!device_id || !*device_id)
        return store_fail(s, STORE_EINVAL, "%s: device cursor: no device id", s->path);
    sqlite3_stmt *st = store_stmt(s, ST_DEVICE_CURSOR);
    if (!st)
        return STORE_ERR;
    sqlite3_bind_text(st, 1, device_id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *found = true;
        *device_seq = (uint32_t)sqlite3_column_int64(st, 0);
        const void *fp = sqlite3_column_blob(st, 1);
        int n = sqlite3_column_bytes(st, 1);
        if (fp && n > 0)
            memcpy(fingerprint, fp, n < STORE_HASH_LEN ? (size_t)n : STORE_HASH_LEN);
        rc = SQLITE_DONE;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        *found = false;
        return store_fail_sqlite(s, rc, "read a device cursor");
    }
    return STORE_OK;
}

int store_records(store *s, const struct store_query *q, store_record_fn fn, void *ud)
{
    if (!s || !q || !fn)
        return STORE_EINVAL;
    /* Prepared per call, not cached: fn may run other queries on this store meanwhile. */
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT seq, hash, payload FROM records WHERE seq %s ?1%s "
             "ORDER BY seq %s LIMIT ?2",
             q->newest_first ? "<=" : ">=", q->plate ? " AND plate = ?3" : "",
             q->newest_first ? "DESC" : "ASC");
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return store_fail_sqlite(s, rc, "list records");
    sqlite3_int64 from = (sqlite3_int64)q->from_seq;
    if (q->newest_first && (q->from_seq == 0 || q->from_seq > INT64_MAX))
        from = INT64_MAX;
    sqlite3_bind_int64(st, 1, from);
    sqlite3_bind_int64(st, 2, q->limit == 0 || q->limit > INT64_MAX ? -1 : (sqlite3_int64)q->limit);
    if (q->plate)
        sqlite3_bind_text(st, 3, q->plate, -1, SQLITE_STATIC);
    int ret = STORE_OK;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        uint8_t hash[STORE_HASH_LEN] = {0};
        const void *h = sqlite3_column_blob(st, 1);
        if (h && sqlite3_column_bytes(st, 1) == STORE_HASH_LEN)
            memcpy(hash, h, STORE_HASH_LEN);
        const uint8_t *payload = sqlite3_column_blob(st, 2);
        size_t len = (size_t)sqlite3_column_bytes(st, 2);
        ret = fn(ud, (uint64_t)sqlite3_column_int64(st, 0), hash, payload ? payload : hash, len);
        if (ret != 0)
            break;
    }
    if (ret == 0 && rc != SQLITE_DONE)
        ret = store_fail_sqlite(s, rc, "list records");
    sqlite3_finalize(st);
    return ret;
}

static int count(store *s, const char *sql, uint64_t *out)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *out = (uint64_t)sqlite3_column_int64(st, 0);
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_OK ? STORE_OK : store_fail_sqlite(s, rc, "count records");
}

int store_get_stats(store *s, struct store_stats *out)
{
    if (!s || !out)
        return STORE_EINVAL;
    memset(out, 0, sizeof *out);
    /* One snapshot for all the counts; each is answered from an index. */
    bool own = sqlite3_get_autocommit(s->db);
    if (own && sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
        return store_fail_sqlite(s, sqlite3_errcode(s->db), "read statistics");
    int rc = count(s, "SELECT count(*) FROM records", &out->records);
    if (rc == STORE_OK)
        rc = count(s, "SELECT count(*) FROM records WHERE kind = 1", &out->passes);
    if (rc == STORE_OK)
        rc = count(s, "SELECT count(*) FROM records WHERE finding = 1", &out->findings);
    if (rc == STORE_OK)
        rc = count(s, "SELECT coalesce(max(seq), 0) FROM records", &out->last_seq);
    uint64_t last_time = 0;
    if (rc == STORE_OK)
        rc = count(s, "SELECT coalesce((SELECT time_ms FROM records ORDER BY seq DESC LIMIT 1), 0)",
                   &last_time);
    out->last_time_ms = (int64_t)last_time;
    if (own)
        sqlite3_exec(s->db, rc == STORE_OK ? "COMMIT" : "ROLLBACK", NULL, NULL, NULL);
    return rc;
}
