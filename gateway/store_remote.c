/* SPDX-License-Identifier: MIT */
/* What the platforms send down: findings made at other checkpoints, and exemptions. */
#include "store_sync.h"

#include <stdio.h>
#include <string.h>

#include "store_priv.h"

#define UPSTREAM_MAX      128  /* bytes of an upstream's name */
#define REMOTE_CURSOR_MAX 4096 /* bytes of an opaque findings cursor */

static bool terminated(const char *field, size_t cap)
{
    return memchr(field, '\0', cap) != NULL;
}

static int check_finding(store *s, const struct store_remote_finding *f, size_t i)
{
    const char *bad = NULL;
    if (!terminated(f->plate, sizeof f->plate) || !f->plate[0])
        bad = "no plate";
    else if (!terminated(f->gateway_id, sizeof f->gateway_id) || !f->gateway_id[0])
        bad = "no gateway id";
    else if (!terminated(f->checkpoint, sizeof f->checkpoint))
        bad = "checkpoint not terminated";
    else if (f->seq == 0 || f->seq > INT64_MAX)
        bad = "seq out of range";
    if (bad)
        return store_fail(s, STORE_EINVAL, "%s: remote finding %zu: %s; nothing was stored",
                          s->path, i, bad);
    return STORE_OK;
}

static int insert_findings(store *s, const char *upstream, const struct store_remote_finding *f,
                           size_t n, int *inserted)
{
    const char *what = "store remote findings";
    sqlite3_stmt *st = NULL;
    int src = sqlite3_prepare_v2(
        s->db,
        "INSERT INTO remote_findings(gateway_id, seq, plate, time_ms, checkpoint, exceeded, "
        "upstream, received_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) "
        "ON CONFLICT(gateway_id, seq) DO NOTHING",
        -1, &st, NULL);
    if (src != SQLITE_OK)
        return store_fail_sqlite(s, src, what);
    int64_t now_ms = registry_now_ms();
    int rc = STORE_OK;
    for (size_t i = 0; i < n && rc == STORE_OK; i++) {
        char plate[sizeof f[i].plate], why[128];
        if (registry_normalise_plate(f[i].plate, plate, sizeof plate, why, sizeof why) != 0) {
            rc = store_fail(s, STORE_EINVAL, "%s: remote finding %zu: %s; nothing was stored",
                            s->path, i, why);
            break;
        }
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, f[i].gateway_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)f[i].seq);
        sqlite3_bind_text(st, 3, plate, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 4, f[i].time_ms);
        sqlite3_bind_text(st, 5, f[i].checkpoint, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 6, f[i].exceeded);
        sqlite3_bind_text(st, 7, upstream, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 8, now_ms);
        src = sqlite3_step(st);
        if (src != SQLITE_DONE)
            rc = store_fail_sqlite(s, src, what);
        else if (*inserted < INT32_MAX)
            *inserted += sqlite3_changes(s->db);
    }
    sqlite3_finalize(st);
    return rc;
}

static int save_cursor(store *s, const char *upstream, const char *cursor)
{
    const char *what = "save the findings cursor";
    sqlite3_stmt *st = NULL;
    int src = sqlite3_prepare_v2(s->db,
                                 "INSERT INTO remote_cursors(upstream, cursor, updated_ms) "
                                 "VALUES (?1, ?2, ?3) ON CONFLICT(upstream) DO UPDATE SET "
                                 "cursor = excluded.cursor, updated_ms = excluded.updated_ms",
                                 -1, &st, NULL);
    if (src == SQLITE_OK) {
        sqlite3_bind_text(st, 1, upstream, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, cursor, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, registry_now_ms());
        src = sqlite3_step(st);
    }
    sqlite3_finalize(st);
    return src == SQLITE_DONE ? STORE_OK : store_fail_sqlite(s, src, what);
}

int store_remote_findings_add(store *s, const char *upstream, const struct store_remote_finding *f,
                              size_t n, const char *next_cursor)
{
    if (!s)
        return STORE_EINVAL;
    const char *what = "store remote findings";
    if (!upstream || !*upstream || strnlen(upstream, UPSTREAM_MAX) >= UPSTREAM_MAX ||
        (n > 0 && !f) ||
        (next_cursor && strnlen(next_cursor, REMOTE_CURSOR_MAX) >= REMOTE_CURSOR_MAX))
        return store_fail(s, STORE_EINVAL,
                          "%s: %s: no upstream name, no findings or a cursor longer than %d bytes",
                          s->path, what, REMOTE_CURSOR_MAX - 1);
    for (size_t i = 0; i < n; i++) {
        int rc = check_finding(s, &f[i], i);
        if (rc != STORE_OK)
            return rc;
    }
    int rc = store_write_begin(s, what);
    if (rc != STORE_OK)
        return rc;
    int inserted = 0;
    rc = insert_findings(s, upstream, f, n, &inserted);
    if (rc == STORE_OK && next_cursor)
        rc = save_cursor(s, upstream, next_cursor);
    if (rc != STORE_OK)
        return store_write_abort(s, rc);
    rc = store_write_commit(s, what);
    return rc == STORE_OK ? inserted : rc;
}

int store_remote_cursor(store *s, const char *upstream, char *buf, size_t len)
{
    if (!s || !buf || len == 0)
        return STORE_EINVAL;
    buf[0] = '\0';
    if (!upstream || !*upstream)
        return store_fail(s, STORE_EINVAL, "%s: findings cursor: no upstream name", s->path);
    sqlite3_stmt *st = NULL;
    int src = sqlite3_prepare_v2(s->db, "SELECT cursor FROM remote_cursors WHERE upstream = ?1", -1,
                                 &st, NULL);
    if (src != SQLITE_OK)
        return store_fail_sqlite(s, src, "read the findings cursor");
    sqlite3_bind_text(st, 1, upstream, -1, SQLITE_STATIC);
    src = sqlite3_step(st);
    int ret = 0;
    if (src == SQLITE_ROW) {
        const char *v = (const char *)sqlite3_column_text(st, 0);
        size_t n = (size_t)sqlite3_column_bytes(st, 0);
        if (n >= len) {
            ret = store_fail(s, STORE_EINVAL,
                             "%s: findings cursor of %s is %zu bytes, the buffer holds %zu",
                             s->path, upstream, n, len - 1);
        } else {
            memcpy(buf, v ? v : "", n);
            buf[n] = '\0';
            ret = 1;
        }
    } else if (src != SQLITE_DONE) {
        ret = store_fail_sqlite(s, src, "read the findings cursor");
    }
    sqlite3_finalize(st);
    return ret;
}

/* ---- exemptions ---- */

static int insert_exemptions(store *s, const struct store_exempt_plate *list, char (*plates)[48],
                             size_t n)
{
    const char *what = "store the platform's exemptions";
    int src = sqlite3_exec(s->db, "DELETE FROM platform_exemptions", NULL, NULL, NULL);
    if (src != SQLITE_OK)
        return store_fail_sqlite(s, src, what);
    sqlite3_stmt *st = NULL;
    src = sqlite3_prepare_v2(s->db,
                             "INSERT INTO platform_exemptions(plate, exemption, valid_until_ms, "
                             "updated_ms) VALUES (?1, ?2, ?3, ?4) ON CONFLICT(plate) DO UPDATE "
                             "SET exemption = excluded.exemption, "
                             "valid_until_ms = excluded.valid_until_ms",
                             -1, &st, NULL);
    if (src != SQLITE_OK)
        return store_fail_sqlite(s, src, what);
    int64_t now_ms = registry_now_ms();
    int rc = STORE_OK;
    for (size_t i = 0; i < n && rc == STORE_OK; i++) {
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, plates[i], -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 2, (int)list[i].exemption);
        sqlite3_bind_int64(st, 3, list[i].valid_until_ms);
        sqlite3_bind_int64(st, 4, now_ms);
        src = sqlite3_step(st);
        if (src != SQLITE_DONE)
            rc = store_fail_sqlite(s, src, what);
    }
    sqlite3_finalize(st);
    return rc;
}

int store_platform_exemptions_set(store *s, const struct store_exempt_plate *list, size_t n)
{
    if (!s || (n > 0 && !list))
        return STORE_EINVAL;
    const char *what = "store the platform's exemptions";
    char(*plates)[48] = NULL;
    if (n > 0) {
        plates = sqlite3_malloc64((sqlite3_uint64)n * sizeof *plates);
        if (!plates)
            return store_fail(s, STORE_ERR, "%s: %s: out of memory", s->path, what);
    }
    int rc = STORE_OK;
    for (size_t i = 0; i < n && rc == STORE_OK; i++) {
        char why[128];
        if (!terminated(list[i].plate, sizeof list[i].plate) ||
            registry_normalise_plate(list[i].plate, plates[i], sizeof plates[i], why, sizeof why) !=
                0)
            rc = store_fail(
                s, STORE_EINVAL, "%s: exempt plate %zu: %s; nothing was changed", s->path, i,
                terminated(list[i].plate, sizeof list[i].plate) ? why : "not terminated");
        else if ((int)list[i].exemption < EXEMPT_NONE || list[i].exemption > EXEMPT_ENFORCEMENT)
            rc = store_fail(s, STORE_EINVAL,
                            "%s: exempt plate %s: exemption %d out of range; nothing was changed",
                            s->path, plates[i], (int)list[i].exemption);
    }
    if (rc == STORE_OK)
        rc = store_write_begin(s, what);
    if (rc == STORE_OK) {
        rc = insert_exemptions(s, list, plates, n);
        rc = rc == STORE_OK ? store_write_commit(s, what) : store_write_abort(s, rc);
    }
    sqlite3_free(plates);
    return rc;
}
