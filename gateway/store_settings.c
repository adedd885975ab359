/* SPDX-License-Identifier: MIT */
/* Small key/value settings, and the names of the store's error codes. */
#include "store_priv.h"

#include <stdio.h>
#include <string.h>

int store_setting_get(store *s, const char *key, char *buf, size_t len)
{
    if (!s || !key || !buf || len == 0)
        return STORE_EINVAL;
    sqlite3_stmt *st = store_stmt(s, ST_SETTING_GET);
    if (!st)
        return STORE_ERR;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    int ret;
    if (rc == SQLITE_ROW) {
        const char *v = (const char *)sqlite3_column_text(st, 0);
        size_t n = (size_t)sqlite3_column_bytes(st, 0);
        if (n >= len) {
            ret = store_fail(s, STORE_EINVAL, "%s: setting %s is %zu bytes, the buffer holds %zu",
                             s->path, key, n, len - 1);
        } else {
            memcpy(buf, v ? v : "", n);
            buf[n] = '\0';
            ret = 1;
        }
    } else if (rc == SQLITE_DONE) {
        buf[0] = '\0';
        ret = 0;
    } else {
        ret = store_fail_sqlite(s, rc, "read a setting");
    }
    sqlite3_reset(st);
    return ret;
}

int store_setting_set(store *s, const char *key, const char *value)
{
    if (!s || !key || !*key || !value)
        return STORE_EINVAL;
    int rc = store_require_write(s, "set a setting");
    if (rc != STORE_OK)
        return rc;
    sqlite3_stmt *st = store_stmt(s, ST_SETTING_SET);
    if (!st)
        return STORE_ERR;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
    /* A single statement outside a group commit is its own durable transaction. */
    int src = sqlite3_step(st);
    sqlite3_reset(st);
    if (src != SQLITE_DONE) {
        char what[160];
        snprintf(what, sizeof what, "set %s", key);
        rc = store_fail_sqlite(s, src, what);
        return store_write_failed(s, rc);
    }
    return STORE_OK;
}

const char *store_strerror(int rc)
{
    switch (rc) {
    case STORE_OK:
        return "ok";
    case STORE_ERR:
        return "store error";
    case STORE_EFULL:
        return "disk full";
    case STORE_EBUSY:
        return "store busy (another writer)";
    case STORE_ECORRUPT:
        return "store damaged or not a store";
    case STORE_EINVAL:
        return "invalid argument";
    default:
        return "unknown store error";
    }
}
