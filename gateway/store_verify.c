/* SPDX-License-Identifier: MIT */
/* Checking the whole chain: every record, in order, against its payload and its predecessor. */
#include "store_priv.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define PROGRESS_EVERY 10000

enum {
    COL_SEQ,
    COL_TIME,
    COL_KIND,
    COL_PLATE,
    COL_CHECKPOINT,
    COL_DEVICE_ID,
    COL_DEVICE_SEQ,
    COL_FINGERPRINT,
    COL_RESULT,
    COL_EXCEEDED,
    COL_JUDGED,
    COL_FINDING,
    COL_PAYLOAD,
    COL_HASH,
};

static const char walk_sql[] =
    "SELECT seq, time_ms, kind, plate, checkpoint, device_id, device_seq, fingerprint, result, "
    "exceeded, judged, finding, payload, hash FROM records ORDER BY seq";

static int broken(struct store_verify_result *out, uint64_t seq, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int broken(struct store_verify_result *out, uint64_t seq, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->reason, sizeof out->reason, fmt, ap);
    va_end(ap);
    out->ok = false;
    out->first_bad_seq = seq;
    return 1;
}

static bool int_is(sqlite3_stmt *st, int col, bool present, int64_t want)
{
    if (!present)
        return sqlite3_column_type(st, col) == SQLITE_NULL;
    return sqlite3_column_type(st, col) == SQLITE_INTEGER && sqlite3_column_int64(st, col) == want;
}

static bool bytes_are(sqlite3_stmt *st, int col, int type, const void *want, size_t len)
{
    if (!want)
        return sqlite3_column_type(st, col) == SQLITE_NULL;
    if (sqlite3_column_type(st, col) != type)
        return false;
    const void *got = type == SQLITE_TEXT ? (const void *)sqlite3_column_text(st, col)
                                          : sqlite3_column_blob(st, col);
    return (size_t)sqlite3_column_bytes(st, col) == len &&
           (len == 0 || memcmp(got, want, len) == 0);
}

static bool text_is(sqlite3_stmt *st, int col, const char *want)
{
    return bytes_are(st, col, SQLITE_TEXT, want, want ? strlen(want) : 0);
}

/* The first indexed column that disagrees with the payload, or NULL. */
static const char *column_mismatch(sqlite3_stmt *st, const struct store_derived *d)
{
    if (!int_is(st, COL_TIME, true, d->time_ms))
        return "time_ms";
    if (!int_is(st, COL_KIND, true, d->kind))
        return "kind";
    if (!text_is(st, COL_PLATE, d->plate))
        return "plate";
    if (!text_is(st, COL_CHECKPOINT, d->checkpoint))
        return "checkpoint";
    if (!text_is(st, COL_DEVICE_ID, d->device_id))
        return "device_id";
    if (!int_is(st, COL_DEVICE_SEQ, d->has_device_seq, d->device_seq))
        return "device_seq";
    if (!bytes_are(st, COL_FINGERPRINT, SQLITE_BLOB, d->fingerprint, d->fingerprint_len))
        return "fingerprint";
    if (!int_is(st, COL_RESULT, d->has_result, d->result))
        return "result";
    if (!int_is(st, COL_EXCEEDED, true, d->exceeded))
        return "exceeded";
    if (!int_is(st, COL_JUDGED, true, d->judged))
        return "judged";
    if (!int_is(st, COL_FINDING, true, d->finding))
        return "finding";
    return NULL;
}

/* The first record is not the chain base. */
static int bad_start(struct store_verify_result *out, uint64_t seq, uint64_t base)
{
    if (seq < base)
        return broken(out, seq,
                      "record %llu: still present below the chain base (%llu): the chain base was "
                      "moved without pruning the records before it (the store was edited)",
                      (unsigned long long)seq, (unsigned long long)base);
    if (base == 1)
        return broken(out, 1,
                      "record 1 is missing: the records start at %llu (records were deleted)",
                      (unsigned long long)seq);
    return broken(out, base,
                  "record %llu is missing: the records start at %llu but the chain base (after "
                  "pruning) is %llu (records were deleted without moving the base)",
                  (unsigned long long)base, (unsigned long long)seq, (unsigned long long)base);
}

/* 0 = record fine, 1 = broken (out filled). */
static int check_record(store *s, sqlite3_stmt *st, uint64_t expect, uint64_t base,
                        uint8_t prev[STORE_HASH_LEN], struct store_verify_result *out, int *err)
{
    uint64_t seq = (uint64_t)sqlite3_column_int64(st, COL_SEQ);
    if (seq != expect) {
        if (expect == base)
            return bad_start(out, seq, base);
        return broken(out, expect,
                      "record %llu is missing: record %llu follows record %llu (a record was "
                      "deleted)",
                      (unsigned long long)expect, (unsigned long long)seq,
                      (unsigned long long)(expect - 1));
    }
    /* Types first: they are undefined after a value was converted. */
    bool payload_blob = sqlite3_column_type(st, COL_PAYLOAD) == SQLITE_BLOB;
    bool hash_blob = sqlite3_column_type(st, COL_HASH) == SQLITE_BLOB;
    const uint8_t *payload = sqlite3_column_blob(st, COL_PAYLOAD);
    size_t len = (size_t)sqlite3_column_bytes(st, COL_PAYLOAD);
    const void *stored = sqlite3_column_blob(st, COL_HASH);
    bool hash_sized = hash_blob && stored && sqlite3_column_bytes(st, COL_HASH) == STORE_HASH_LEN;
    struct store_derived d;
    if (!payload_blob || store_derive(payload, len, &d) != STORE_OK)
        return broken(out, seq,
                      "record %llu: the payload does not decode as rsgw.v1.Record: it was changed "
                      "after it was written",
                      (unsigned long long)seq);
    int bad = 0;
    if (d.seq != seq) {
        bad = broken(out, seq,
                     "record %llu: the payload is record %llu's: records were moved or reordered",
                     (unsigned long long)seq, (unsigned long long)d.seq);
    }
    uint8_t hash[STORE_HASH_LEN];
    if (!bad && store_chain_hash(s, prev, payload, len, hash) != STORE_OK) {
        *err = STORE_ERR;
        bad = 1;
    }
    if (!bad && (!hash_sized || memcmp(hash, stored, STORE_HASH_LEN) != 0)) {
        bad = broken(out, seq,
                     "record %llu: hash mismatch: its payload or hash was changed after it was "
                     "written%s",
                     (unsigned long long)seq,
                     seq == base && base > 1
                         ? " (or the chain base's anchor was edited)"
                         : (seq > 1 ? " (or record before it was rewritten with a new hash)" : ""));
    }
    const char *col = bad ? NULL : column_mismatch(st, &d);
    if (col)
        bad = broken(out, seq,
                     "record %llu: column %s disagrees with the payload: the row was edited after "
                     "it was written",
                     (unsigned long long)seq, col);
    store_derived_free(&d);
    if (!bad)
        memcpy(prev, hash, STORE_HASH_LEN);
    return bad;
}

/* The chain table must name the newest record with its hash. */
static int check_head(store *s, uint64_t last, const uint8_t hash[STORE_HASH_LEN],
                      struct store_verify_result *out)
{
    sqlite3_stmt *st = store_stmt(s, ST_CHAIN);
    if (!st)
        return STORE_ERR;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        sqlite3_reset(st);
        broken(out, last + 1,
               "the chain head is missing: the store was edited, and records after %llu may "
               "have been removed",
               (unsigned long long)last);
        return STORE_OK;
    }
    if (rc != SQLITE_ROW) {
        sqlite3_reset(st);
        return store_fail_sqlite(s, rc, "verify: read the chain head");
    }
    uint64_t head = (uint64_t)sqlite3_column_int64(st, 0);
    const void *head_hash = sqlite3_column_blob(st, 1);
    bool same = sqlite3_column_bytes(st, 1) == STORE_HASH_LEN && head_hash &&
                memcmp(head_hash, hash, STORE_HASH_LEN) == 0;
    sqlite3_reset(st);
    if (head > last)
        broken(out, last + 1,
               "records %llu to %llu are missing: the records end at %llu but the chain head "
               "says %llu (the newest records were removed)",
               (unsigned long long)(last + 1), (unsigned long long)head, (unsigned long long)last,
               (unsigned long long)head);
    else if (head < last)
        broken(out, head + 1,
               "record %llu: not covered by the chain head (it says %llu): the chain head was "
               "rolled back or records were added behind the store's back",
               (unsigned long long)(head + 1), (unsigned long long)head);
    else if (!same)
        broken(out, last > 0 ? last : 1,
               "record %llu: its hash differs from the chain head's: the newest record was "
               "replaced after it was written",
               (unsigned long long)last);
    return STORE_OK;
}

static uint64_t newest_seq(store *s)
{
    sqlite3_stmt *st = store_stmt(s, ST_HEAD);
    uint64_t last = 0;
    if (st && sqlite3_step(st) == SQLITE_ROW)
        last = (uint64_t)sqlite3_column_int64(st, 0);
    if (st)
        sqlite3_reset(st);
    return last;
}

static int walk(store *s, struct store_verify_result *out, store_progress_fn progress, void *ud)
{
    /* The chain is checked from its base: records before it were pruned, and the base keeps
     * the hash of the last of them as the anchor. */
    uint8_t prev[STORE_HASH_LEN] = {0};
    uint64_t base = 1;
    int err = store_chain_base(s, &base, prev);
    if (err == STORE_ECORRUPT) {
        broken(out, 1, "the chain base row is missing or damaged: the store was edited");
        return STORE_OK;
    }
    if (err != STORE_OK)
        return err;
    uint64_t newest = newest_seq(s);
    uint64_t total = newest >= base ? newest - base + 1 : 0;
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, walk_sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return store_fail_sqlite(s, rc, "verify");
    uint64_t expect = base;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (check_record(s, st, expect, base, prev, out, &err))
            break;
        out->checked++;
        expect++;
        if (progress && out->checked % PROGRESS_EVERY == 0)
            progress(ud, out->checked, total);
    }
    if (err == STORE_OK && rc != SQLITE_ROW && rc != SQLITE_DONE) {
        char what[64];
        snprintf(what, sizeof what, "verify: read record %llu", (unsigned long long)expect);
        err = store_fail_sqlite(s, rc, what);
    }
    sqlite3_finalize(st);
    if (err != STORE_OK)
        return err;
    /* Retention always keeps the newest record, so a pruned store is never empty. */
    if (out->ok && out->checked == 0 && base > 1)
        broken(out, base,
               "record %llu is missing: no record is held from the chain base %llu on (records "
               "were deleted)",
               (unsigned long long)base, (unsigned long long)base);
    if (out->ok)
        err = check_head(s, expect - 1, prev, out);
    if (err == STORE_OK && progress)
        progress(ud, out->checked, total);
    return err;
}

int store_verify(store *s, struct store_verify_result *out, store_progress_fn progress, void *ud)
{
    if (!s || !out)
        return STORE_EINVAL;
    memset(out, 0, sizeof *out);
    out->ok = true;
    /* One snapshot: a writer appending meanwhile does not make the walk see half a chain. */
    bool own = sqlite3_get_autocommit(s->db);
    if (own) {
        int rc = sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL);
        if (rc != SQLITE_OK)
            return store_fail_sqlite(s, rc, "verify");
    }
    int rc = walk(s, out, progress, ud);
    if (own)
        sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
    if (rc != STORE_OK) {
        out->ok = false;
        if (!out->reason[0]) {
            size_t n = strnlen(s->err, sizeof out->reason - 1);
            memcpy(out->reason, s->err, n);
            out->reason[n] = '\0';
        }
    }
    return rc;
}
