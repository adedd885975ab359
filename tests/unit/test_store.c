/* SPDX-License-Identifier: MIT */
/* The record store on real SQLite files: the chain, tamper detection, schema, lock, queries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <openssl/evp.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rsgw/v1/record.pb-c.h"
#include "store.h"
#include "store_fixture.h"
#include "store_priv.h"

#define T0     1715900000000LL /* 2024-05-17 */
#define DAY_MS 86400000LL

struct env {
    char dir[256];
    char path[320];
};

static int setup(void **state)
{
    struct env *e = calloc(1, sizeof *e);
    fixture_dir_make(e->dir, sizeof e->dir);
    snprintf(e->path, sizeof e->path, "%s/records.db", e->dir);
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    struct env *e = *state;
    fixture_dir_remove(e->dir);
    free(e);
    return 0;
}

static store *open_ok(const char *path, enum store_mode mode)
{
    store *s = NULL;
    char err[512] = "";
    int rc = store_open(path, mode, &s, err, sizeof err);
    if (rc != STORE_OK)
        fail_msg("store_open(%s): %d %s", path, rc, err);
    return s;
}

/* The standard test record for seq: a pass of one of three plates. */
static size_t standard(uint64_t seq, uint8_t *buf, size_t cap)
{
    static const char *const plates[] = {"豫A12345", "豫B67890", "京C24680"};
    struct fixture_pass p = {.seq = seq,
                             .time_ms = T0 + (int64_t)seq * 1000,
                             .plate = plates[seq % 3],
                             .result = seq % 5 == 0 ? RSGW__V1__RESULT__RESULT_OVER_STANDARD
                                                    : RSGW__V1__RESULT__RESULT_PASS,
                             .exceeded = seq % 5 == 0 ? POLLUTANT_OPACITY : 0,
                             .device_seq = (uint32_t)(1000 + seq)};
    size_t n = fixture_pass(&p, buf, cap);
    assert_true(n > 0);
    return n;
}

static void append_standard(store *s, uint64_t count)
{
    uint8_t buf[2048];
    for (uint64_t i = 0; i < count; i++) {
        uint64_t seq = store_next_seq(s);
        size_t n = standard(seq, buf, sizeof buf);
        int rc = store_append(s, buf, n, NULL);
        if (rc != STORE_OK)
            fail_msg("append %llu: %s", (unsigned long long)seq, store_errmsg(s));
    }
}

static void make_store(const char *path, uint64_t count)
{
    store *s = open_ok(path, STORE_WRITER);
    assert_int_equal(store_begin(s), STORE_OK);
    append_standard(s, count);
    assert_int_equal(store_commit(s), STORE_OK);
    store_close(s);
}

static struct store_verify_result verify_path(const char *path)
{
    struct store_verify_result r;
    store *s = open_ok(path, STORE_READ);
    assert_int_equal(store_verify(s, &r, NULL, NULL), STORE_OK);
    store_close(s);
    return r;
}

static void sha256_chain(const uint8_t prev[32], const uint8_t *p, size_t n, uint8_t out[32])
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    unsigned int len = 0;
    assert_int_equal(EVP_DigestInit_ex(c, EVP_sha256(), NULL), 1);
    EVP_DigestUpdate(c, prev, 32);
    EVP_DigestUpdate(c, p, n);
    EVP_DigestFinal_ex(c, out, &len);
    EVP_MD_CTX_free(c);
}

/* ---- appending ---- */

static void test_append_reopen_continue(void **state)
{
    struct env *e = *state;
    store *s = open_ok(e->path, STORE_WRITER);
    assert_int_equal(store_schema_version(s), store_schema_latest());
    assert_int_equal(store_next_seq(s), 1);
    uint8_t prev[32] = {0}, head[32], got[32], want[32], buf[2048];
    store_head_hash(s, head);
    assert_memory_equal(head, prev, 32);
    for (uint64_t seq = 1; seq <= 3; seq++) {
        size_t n = standard(seq, buf, sizeof buf);
        assert_int_equal(store_append(s, buf, n, got), STORE_OK);
        sha256_chain(prev, buf, n, want);
        assert_memory_equal(got, want, 32);
        memcpy(prev, want, 32);
    }
    store_close(s);

    s = open_ok(e->path, STORE_WRITER);
    assert_int_equal(store_next_seq(s), 4);
    store_head_hash(s, head);
    assert_memory_equal(head, prev, 32);
    size_t n = standard(4, buf, sizeof buf);
    assert_int_equal(store_append(s, buf, n, got), STORE_OK);
    sha256_chain(prev, buf, n, want);
    assert_memory_equal(got, want, 32);
    store_close(s);

    struct store_verify_result r = verify_path(e->path);
    assert_true(r.ok);
    assert_int_equal(r.checked, 4);
    assert_int_equal(r.first_bad_seq, 0);
}

static int count_fn(void *ud, uint64_t seq, const uint8_t hash[32], const uint8_t *p, size_t len)
{
    (void)seq, (void)hash, (void)p, (void)len;
    (*(uint64_t *)ud)++;
    return 0;
}

static uint64_t count_records(const char *path)
{
    store *s = open_ok(path, STORE_READ);
    uint64_t n = 0;
    struct store_query q = {0};
    assert_int_equal(store_records(s, &q, count_fn, &n), STORE_OK);
    store_close(s);
    return n;
}

static void test_group_commit(void **state)
{
    struct env *e = *state;
    store *s = open_ok(e->path, STORE_WRITER);
    assert_int_equal(store_commit(s), STORE_EINVAL);
    assert_int_equal(store_begin(s), STORE_OK);
    assert_int_equal(store_begin(s), STORE_EINVAL);
    append_standard(s, 5);
    assert_int_equal(store_next_seq(s), 6);
    /* Another connection does not see the open group. */
    assert_int_equal(count_records(e->path), 0);
    store_rollback(s);
    assert_int_equal(store_next_seq(s), 1);

    assert_int_equal(store_begin(s), STORE_OK);
    append_standard(s, 64);
    assert_int_equal(store_commit(s), STORE_OK);
    assert_int_equal(count_records(e->path), 64);

    /* Closing with a group open discards the group. */
    assert_int_equal(store_begin(s), STORE_OK);
    append_standard(s, 3);
    store_close(s);
    s = open_ok(e->path, STORE_WRITER);
    assert_int_equal(store_next_seq(s), 65);
    store_close(s);
    assert_true(verify_path(e->path).ok);
}

static void test_append_rejects(void **state)
{
    struct env *e = *state;
    store *s = open_ok(e->path, STORE_WRITER);
    uint8_t buf[2048];
    size_t n = standard(5, buf, sizeof buf);
    assert_int_equal(store_append(s, buf, n, NULL), STORE_EINVAL);
    assert_non_null(strstr(store_errmsg(s), "seq 5"));
    assert_non_null(strstr(store_errmsg(s), "next seq is 1"));
    static const uint8_t garbage[] = {0xff, 0xff, 0xff, 0xff, 0x0f};
    assert_int_equal(store_append(s, garbage, sizeof garbage, NULL), STORE_EINVAL);
    assert_non_null(strstr(store_errmsg(s), "not a rsgw.v1.Record"));
    assert_int_equal(store_append(s, NULL, 0, NULL), STORE_EINVAL); /* decodes, seq 0 */
    assert_int_equal(store_next_seq(s), 1);

    /* A rejected record does not end a group. */
    assert_int_equal(store_begin(s), STORE_OK);
    append_standard(s, 2);
    assert_int_equal(store_append(s, buf, n, NULL), STORE_EINVAL);
    append_standard(s, 1);
    assert_int_equal(store_commit(s), STORE_OK);
    assert_int_equal(store_next_seq(s), 4);
    store_close(s);

    s = open_ok(e->path, STORE_READ);
    n = standard(4, buf, sizeof buf);
    assert_int_equal(store_append(s, buf, n, NULL), STORE_EINVAL);
    assert_int_equal(store_begin(s), STORE_EINVAL);
    store_close(s);
    s = open_ok(e->path, STORE_ADMIN);
    assert_int_equal(store_append(s, buf, n, NULL), STORE_EINVAL);
    store_close(s);
    assert_int_equal(count_records(e->path), 3);
}

static void test_events_and_plate_fallback(void **state)
{
    struct env *e = *state;
    store *s = open_ok(e->path, STORE_WRITER);
    uint8_t buf[2048];
    size_t n = fixture_event(1, T0, "start", buf, sizeof buf);
    assert_int_equal(store_append(s, buf, n, NULL), STORE_OK);

    /* No vehicle: the plate comes from the measurement. */
    Rsgw__V1__Measurement m = RSGW__V1__MEASUREMENT__INIT;
    m.device_id = "rsu-2";
    m.plate = "豫A55555";
    Rsgw__V1__Pass pass = RSGW__V1__PASS__INIT;
    pass.measurement = &m;
    Rsgw__V1__Record rec = RSGW__V1__RECORD__INIT;
    rec.has_seq = 1;
    rec.seq = 2;
    rec.has_time_ms = 1;
    rec.time_ms = T0 + 1;
    rec.body_case = RSGW__V1__RECORD__BODY_PASS;
    rec.pass = &pass;
    n = rsgw__v1__record__pack(&rec, buf);
    assert_int_equal(store_append(s, buf, n, NULL), STORE_OK);

    uint64_t count = 0;
    struct store_query q = {.plate = "豫A55555"};
    assert_int_equal(store_records(s, &q, count_fn, &count), STORE_OK);
    assert_int_equal(count, 1);
    struct store_stats st;
    assert_int_equal(store_get_stats(s, &st), STORE_OK);
    assert_int_equal(st.records, 2);
    assert_int_equal(st.passes, 1);
    assert_int_equal(st.findings, 0);
    assert_int_equal(st.last_seq, 2);
    assert_int_equal(st.last_time_ms, T0 + 1);
    store_close(s);
    assert_true(verify_path(e->path).ok);
}

/* ---- verification and tampering ---- */

static void progress_fn(void *ud, uint64_t done, uint64_t total)
{
    uint64_t *calls = ud;
    assert_int_equal(total, 20005);
    assert_true(done == 10000 * (calls[0] + 1) || done == 20005);
    calls[0]++;
    calls[1] = done;
}

static void test_verify_progress(void **state)
{
    struct env *e = *state;
    make_store(e->path, 20005);
    store *s = open_ok(e->path, STORE_READ);
    struct store_verify_result r;
    uint64_t calls[2] = {0, 0};
    assert_int_equal(store_verify(s, &r, progress_fn, calls), STORE_OK);
    assert_true(r.ok);
    assert_int_equal(r.checked, 20005);
    assert_int_equal(calls[0], 3);
    assert_int_equal(calls[1], 20005);
    store_close(s);
}

/* Edit the file as someone with the sqlite3 shell would: guards dropped first. */
static void tamper(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    char *msg = NULL;
    int rc = sqlite3_exec(db,
                          "DROP TRIGGER IF EXISTS records_append_only_update;"
                          "DROP TRIGGER IF EXISTS records_append_only_delete;"
                          "DROP TRIGGER IF EXISTS records_append_in_order;"
                          "DROP TRIGGER IF EXISTS chain_forward_only;"
                          "DROP TRIGGER IF EXISTS chain_kept;",
                          NULL, NULL, &msg);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK)
        fail_msg("tamper: %s", msg);
    sqlite3_close(db);
}

static void set_blob(const char *path, const char *sql, const void *blob, int len)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    sqlite3_bind_blob(st, 1, blob, len, SQLITE_TRANSIENT);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
    sqlite3_close(db);
}

static size_t get_blob(const char *path, const char *sql, uint8_t *out, size_t cap)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    size_t n = (size_t)sqlite3_column_bytes(st, 0);
    assert_true(n <= cap);
    memcpy(out, sqlite3_column_blob(st, 0), n);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

/* Record 5 with a different opacity: still a valid record, but not the one written. */
static size_t edited_payload(const char *path, uint8_t *out, size_t cap)
{
    uint8_t buf[2048];
    size_t n = get_blob(path, "SELECT payload FROM records WHERE seq = 5", buf, sizeof buf);
    Rsgw__V1__Record *r = rsgw__v1__record__unpack(NULL, n, buf);
    assert_non_null(r);
    r->pass->measurement->opacity_pct = 9.5;
    size_t len = rsgw__v1__record__get_packed_size(r);
    assert_true(len <= cap);
    rsgw__v1__record__pack(r, out);
    rsgw__v1__record__free_unpacked(r, NULL);
    return len;
}

static void expect_broken(const char *path, uint64_t seq, const char *reason)
{
    struct store_verify_result r = verify_path(path);
    if (r.ok || r.first_bad_seq != seq || !strstr(r.reason, reason))
        fail_msg("expected record %llu '%s', got ok=%d first_bad=%llu '%s'",
                 (unsigned long long)seq, reason, r.ok, (unsigned long long)r.first_bad_seq,
                 r.reason);
}

static void test_tamper_payload_edited(void **state)
{
    struct env *e = *state;
    make_store(e->path, 10);
    uint8_t p[2048];
    size_t n = edited_payload(e->path, p, sizeof p);
    tamper(e->path, "SELECT 1");
    set_blob(e->path, "UPDATE records SET payload = ?1 WHERE seq = 5", p, (int)n);
    expect_broken(e->path, 5, "record 5: hash mismatch");
}

static void test_tamper_hash_edited(void **state)
{
    struct env *e = *state;
    make_store(e->path, 10);
    tamper(e->path, "UPDATE records SET hash = zeroblob(32) WHERE seq = 7");
    expect_broken(e->path, 7, "record 7: hash mismatch");
}

static void test_tamper_rewritten_with_new_hash(void **state)
{
    /* Payload and hash of record 5 rewritten consistently: record 6 no longer follows. */
    struct env *e = *state;
    make_store(e->path, 10);
    uint8_t p[2048], prev[32], h[32];
    size_t n = edited_payload(e->path, p, sizeof p);
    get_blob(e->path, "SELECT hash FROM records WHERE seq = 4", prev, sizeof prev);
    sha256_chain(prev, p, n, h);
    tamper(e->path, "SELECT 1");
    set_blob(e->path, "UPDATE records SET payload = ?1 WHERE seq = 5", p, (int)n);
    set_blob(e->path, "UPDATE records SET hash = ?1 WHERE seq = 5", h, 32);
    expect_broken(e->path, 6, "record 6: hash mismatch");
}

static void test_tamper_record_deleted(void **state)
{
    struct env *e = *state;
    make_store(e->path, 10);
    tamper(e->path, "DELETE FROM records WHERE seq = 4");
    expect_broken(e->path, 4, "record 4 is missing");
    tamper(e->path, "DELETE FROM records WHERE seq = 1");
    expect_broken(e->path, 1, "record 1 is missing");
}

static void test_tamper_columns_edited(void **state)
{
    static const struct {
        const char *sql;
        const char *column;
    } cases[] = {
        {"UPDATE records SET plate = '豫A00000' WHERE seq = 5", "column plate"},
        {"UPDATE records SET finding = 0, judged = 1 WHERE seq = 5", "column finding"},
        {"UPDATE records SET exceeded = 0 WHERE seq = 5", "column exceeded"},
        {"UPDATE records SET time_ms = time_ms - 86400000 WHERE seq = 5", "column time_ms"},
        {"UPDATE records SET result = 1 WHERE seq = 5", "column result"},
        {"UPDATE records SET device_seq = device_seq + 1 WHERE seq = 5", "column device_seq"},
        {"UPDATE records SET fingerprint = NULL WHERE seq = 5", "column fingerprint"},
        {"UPDATE records SET checkpoint = 'elsewhere' WHERE seq = 5", "column checkpoint"},
    };
    struct env *e = *state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        make_store(e->path, 10);
        tamper(e->path, cases[i].sql);
        expect_broken(e->path, 5, cases[i].column);
        fixture_dir_remove(e->dir);
        fixture_dir_make(e->dir, sizeof e->dir);
        snprintf(e->path, sizeof e->path, "%s/records.db", e->dir);
    }
}

static void test_tamper_reordered(void **state)
{
    struct env *e = *state;
    make_store(e->path, 10);
    tamper(e->path, "UPDATE records SET seq = -5 WHERE seq = 5;"
                    "UPDATE records SET seq = 5 WHERE seq = 6;"
                    "UPDATE records SET seq = 6 WHERE seq = -5;");
    expect_broken(e->path, 5, "record 5: the payload is record 6's");
}

static void test_tamper_truncated(void **state)
{
    struct env *e = *state;
    make_store(e->path, 10);
    tamper(e->path, "DELETE FROM records WHERE seq >= 9");
    expect_broken(e->path, 9, "records 9 to 10 are missing");
    /* The writer refuses to reuse the removed seq numbers. */
    store *s = NULL;
    char err[512];
    assert_int_equal(store_open(e->path, STORE_WRITER, &s, err, sizeof err), STORE_ECORRUPT);
    assert_null(s);
    assert_non_null(strstr(err, "chain head says 10"));
    /* Rolling the head back too is only caught against a head kept elsewhere. */
    tamper(e->path, "UPDATE chain SET seq = 8, hash = (SELECT hash FROM records WHERE seq = 8)");
    assert_true(verify_path(e->path).ok);
}

static void test_guards_stop_accidents(void **state)
{
    struct env *e = *state;
    make_store(e->path, 3);
    sqlite3 *db = NULL;
    char *msg = NULL;
    assert_int_equal(sqlite3_open(e->path, &db), SQLITE_OK);
    assert_int_not_equal(sqlite3_exec(db, "UPDATE records SET plate = 'x'", NULL, NULL, &msg),
                         SQLITE_OK);
    assert_non_null(strstr(msg, "append-only"));
    sqlite3_free(msg);
    assert_int_not_equal(sqlite3_exec(db, "DELETE FROM records", NULL, NULL, NULL), SQLITE_OK);
    assert_int_not_equal(
        sqlite3_exec(db, "INSERT OR REPLACE INTO records SELECT * FROM records WHERE seq = 2", NULL,
                     NULL, NULL),
        SQLITE_OK);
    assert_int_not_equal(sqlite3_exec(db, "UPDATE chain SET seq = 1", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    assert_true(verify_path(e->path).ok);
}

/* ---- schema ---- */

static int user_version(const char *path)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static int trigger_count(store *s)
{
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(store_db(s),
                                        "SELECT count(*) FROM sqlite_schema WHERE type = 'trigger'",
                                        -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int n = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return n;
}

static void test_migrate_from_empty_file(void **state)
{
    struct env *e = *state;
    int fd = open(e->path, O_CREAT | O_WRONLY, 0644);
    assert_true(fd >= 0);
    close(fd);
    store *s = NULL;
    char err[512];
    /* STORE_READ never migrates. */
    assert_int_equal(store_open(e->path, STORE_READ, &s, err, sizeof err), STORE_ERR);
    assert_non_null(strstr(err, "older than"));
    s = open_ok(e->path, STORE_ADMIN);
    assert_int_equal(store_schema_version(s), store_schema_latest());
    assert_int_equal(trigger_count(s), 7); /* 5, and the chain base's 2 (schema 3) */
    store_close(s);
    assert_int_equal(user_version(e->path), store_schema_latest());
}

static void test_migrate_from_previous_version(void **state)
{
    struct env *e = *state;
    int latest = store_schema_latest();
    assert_true(latest >= 2);
    sqlite3 *db = NULL;
    char err[512];
    assert_int_equal(sqlite3_open(e->path, &db), SQLITE_OK);
    assert_int_equal(store_migrate(db, latest - 1, err, sizeof err), STORE_OK);
    /* A record written by the previous version: the chain moves on with it. */
    uint8_t buf[2048], hash[32], zero[32] = {0};
    size_t n = standard(1, buf, sizeof buf);
    sha256_chain(zero, buf, n, hash);
    sqlite3_close(db);
    {
        /* Written as the previous version's code would have. */
        sqlite3_open(e->path, &db);
        sqlite3_stmt *st = NULL;
        assert_int_equal(
            sqlite3_prepare_v2(db,
                               "INSERT INTO records(seq, time_ms, kind, plate, checkpoint, "
                               "device_id, device_seq, fingerprint, result, exceeded, judged, "
                               "finding, payload, hash) SELECT 1, ?1, 1, ?2, 'G107-K1423', "
                               "'rsu-north-1', 1001, ?3, 1, 0, 1, 0, ?4, ?5",
                               -1, &st, NULL),
            SQLITE_OK);
        uint8_t fp[32];
        fixture_fingerprint(1001, fp);
        sqlite3_bind_int64(st, 1, T0 + 1000);
        sqlite3_bind_text(st, 2, "豫B67890", -1, SQLITE_STATIC);
        sqlite3_bind_blob(st, 3, fp, 32, SQLITE_STATIC);
        sqlite3_bind_blob(st, 4, buf, (int)n, SQLITE_STATIC);
        sqlite3_bind_blob(st, 5, hash, 32, SQLITE_STATIC);
        assert_int_equal(sqlite3_step(st), SQLITE_DONE);
        sqlite3_finalize(st);
        set_blob(e->path, "UPDATE chain SET seq = 1, hash = ?1", hash, 32);
        sqlite3_close(db);
    }
    assert_int_equal(user_version(e->path), latest - 1);
    store *s = NULL;
    assert_int_equal(store_open(e->path, STORE_READ, &s, err, sizeof err), STORE_ERR);
    assert_int_equal(user_version(e->path), latest - 1);

    s = open_ok(e->path, STORE_WRITER);
    assert_int_equal(store_schema_version(s), latest);
    assert_int_equal(trigger_count(s), 7); /* 5, and the chain base's 2 (schema 3) */
    assert_int_equal(store_next_seq(s), 2);
    append_standard(s, 2);
    store_close(s);
    struct store_verify_result r = verify_path(e->path);
    if (!r.ok)
        fail_msg("%s", r.reason);
    assert_int_equal(r.checked, 3);
}

static void test_future_version_refused(void **state)
{
    struct env *e = *state;
    make_store(e->path, 2);
    tamper(e->path, "PRAGMA user_version = 99");
    static const enum store_mode modes[] = {STORE_READ, STORE_ADMIN, STORE_WRITER};
    for (size_t i = 0; i < 3; i++) {
        store *s = NULL;
        char err[512];
        assert_int_equal(store_open(e->path, modes[i], &s, err, sizeof err), STORE_ERR);
        assert_null(s);
        assert_non_null(strstr(err, "schema version 99 is newer"));
        assert_non_null(strstr(err, e->path));
    }
    assert_int_equal(user_version(e->path), 99);
}

static void test_not_a_store(void **state)
{
    struct env *e = *state;
    FILE *f = fopen(e->path, "w");
    assert_non_null(f);
    for (int i = 0; i < 200; i++)
        fputs("plate,fuel\n豫A12345,diesel\n", f);
    fclose(f);
    store *s = NULL;
    char err[512];
    assert_int_equal(store_open(e->path, STORE_WRITER, &s, err, sizeof err), STORE_ECORRUPT);
    assert_non_null(strstr(err, e->path));
    assert_int_equal(store_open(e->path, STORE_READ, &s, err, sizeof err), STORE_ECORRUPT);

    char other[400];
    snprintf(other, sizeof other, "%s/other.db", e->dir);
    sqlite3 *db = NULL;
    sqlite3_open(other, &db);
    sqlite3_exec(db, "CREATE TABLE accounts(id INTEGER)", NULL, NULL, NULL);
    sqlite3_close(db);
    assert_int_equal(store_open(other, STORE_ADMIN, &s, err, sizeof err), STORE_ECORRUPT);
    assert_non_null(strstr(err, "not an rsgw store"));

    snprintf(other, sizeof other, "%s/missing.db", e->dir);
    assert_int_equal(store_open(other, STORE_READ, &s, err, sizeof err), STORE_ERR);
    assert_non_null(strstr(err, "missing.db"));
    assert_int_equal(access(other, F_OK), -1);
}

/* Bytes of the file overwritten behind SQLite's back (a failing disk): reported, not hidden. */
static void test_damaged_file(void **state)
{
    struct env *e = *state;
    make_store(e->path, 300);
    FILE *f = fopen(e->path, "r+b");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long size = ftell(f);
    assert_true(size > 16 * 4096);
    static unsigned char junk[4096];
    memset(junk, 0xA5, sizeof junk);
    for (long page = 4; page * 4096 < size - 4096; page += 7) {
        fseek(f, page * 4096, SEEK_SET);
        fwrite(junk, 1, sizeof junk, f);
    }
    fclose(f);
    store *s = NULL;
    char err[512];
    int rc = store_open(e->path, STORE_READ, &s, err, sizeof err);
    if (rc != STORE_OK) {
        print_message("damaged file: %s\n", err);
        assert_int_equal(rc, STORE_ECORRUPT);
        assert_non_null(strstr(err, e->path));
        return;
    }
    struct store_verify_result r;
    rc = store_verify(s, &r, NULL, NULL);
    print_message("damaged file: %s\n", r.reason);
    assert_false(r.ok);
    assert_true(rc == STORE_ECORRUPT || rc == STORE_OK);
    if (rc == STORE_ECORRUPT)
        assert_non_null(strstr(r.reason, e->path));
    store_close(s);
}

/* ---- the writer lock ---- */

static void test_writer_lock(void **state)
{
    struct env *e = *state;
    store *w = open_ok(e->path, STORE_WRITER);
    append_standard(w, 2);
    store *s = NULL;
    char err[512];
    assert_int_equal(store_open(e->path, STORE_WRITER, &s, err, sizeof err), STORE_EBUSY);
    assert_null(s);
    assert_non_null(strstr(err, ".lock"));
    assert_non_null(strstr(err, e->path));

    store *r = open_ok(e->path, STORE_READ);
    store *a = open_ok(e->path, STORE_ADMIN);
    assert_int_equal(store_setting_set(a, "alert.level", "orange"), STORE_OK);
    append_standard(w, 1);
    struct store_stats st;
    assert_int_equal(store_get_stats(r, &st), STORE_OK);
    assert_int_equal(st.records, 3);
    char v[16];
    assert_int_equal(store_setting_get(w, "alert.level", v, sizeof v), 1);
    assert_string_equal(v, "orange");
    store_close(a);
    store_close(r);
    store_close(w);
    w = open_ok(e->path, STORE_WRITER);
    store_close(w);
}

/* ---- queries ---- */

static void add_pass(store *s, int64_t t, const char *plate, int result, uint32_t exceeded,
                     const char *device, uint32_t device_seq, const char *checkpoint)
{
    uint8_t buf[2048];
    struct fixture_pass p = {.seq = store_next_seq(s),
                             .time_ms = t,
                             .plate = plate,
                             .result = result,
                             .exceeded = exceeded,
                             .device_id = device,
                             .device_seq = device_seq,
                             .checkpoint = checkpoint};
    size_t n = fixture_pass(&p, buf, sizeof buf);
    if (store_append(s, buf, n, NULL) != STORE_OK)
        fail_msg("%s", store_errmsg(s));
}

static void test_history(void **state)
{
    struct env *e = *state;
    const char *a = "豫A12345", *b = "豫B99999", *c = "京C11111";
    store *s = open_ok(e->path, STORE_WRITER);
    assert_int_equal(store_begin(s), STORE_OK);
    add_pass(s, T0 - 100 * DAY_MS, a, RSGW__V1__RESULT__RESULT_OVER_STANDARD, POLLUTANT_OPACITY,
             NULL, 1, NULL);                                                           /* 1 */
    add_pass(s, T0 - 20 * DAY_MS, a, RSGW__V1__RESULT__RESULT_PASS, 0, NULL, 2, NULL); /* 2 */
    add_pass(s, T0 - 10 * DAY_MS, a, RSGW__V1__RESULT__RESULT_OVER_STANDARD,
             POLLUTANT_OPACITY | POLLUTANT_NO, NULL, 3, NULL);                              /* 3 */
    add_pass(s, T0 - 5 * DAY_MS, a, RSGW__V1__RESULT__RESULT_INVALID, 0, NULL, 4, NULL);    /* 4 */
    add_pass(s, T0 - 4 * DAY_MS, a, RSGW__V1__RESULT__RESULT_NOT_JUDGED, 0, NULL, 5, NULL); /* 5 */
    add_pass(s, T0 - 3 * DAY_MS, a, RSGW__V1__RESULT__RESULT_OVER_STANDARD, POLLUTANT_NO, NULL, 6,
             "G4-K9"); /* 6 */
    add_pass(s, T0 - 2 * DAY_MS, b, RSGW__V1__RESULT__RESULT_OVER_STANDARD, POLLUTANT_NO, NULL, 7,
             NULL); /* 7 */
    uint8_t buf[1024];
    size_t n = fixture_event(8, T0 - 2 * DAY_MS, "alert_level", buf, sizeof buf);
    assert_int_equal(store_append(s, buf, n, NULL), STORE_OK);                        /* 8 */
    add_pass(s, T0 - 1 * DAY_MS, a, RSGW__V1__RESULT__RESULT_PASS, 0, NULL, 9, NULL); /* 9 */
    for (int i = 0; i < 40; i++)
        add_pass(s, T0 + i * 60000, c, RSGW__V1__RESULT__RESULT_OVER_STANDARD, POLLUTANT_HC, NULL,
                 (uint32_t)(100 + i), NULL);
    assert_int_equal(store_commit(s), STORE_OK);

    struct history h;
    assert_int_equal(store_history(s, a, T0 - 30 * DAY_MS, &h), STORE_OK);
    assert_int_equal(h.n, 4);
    assert_int_equal(h.pass[0].seq, 9);
    assert_int_equal(h.pass[1].seq, 6);
    assert_int_equal(h.pass[2].seq, 3);
    assert_int_equal(h.pass[3].seq, 2);
    assert_int_equal(h.findings, 2);
    assert_int_equal(h.pass[0].exceeded, 0);
    assert_int_equal(h.pass[1].exceeded, POLLUTANT_NO);
    assert_int_equal(h.pass[2].exceeded, POLLUTANT_OPACITY | POLLUTANT_NO);
    assert_int_equal(h.pass[1].time_ms, T0 - 3 * DAY_MS);
    assert_string_equal(h.pass[1].checkpoint, "G4-K9");
    assert_string_equal(h.pass[0].checkpoint, "G107-K1423");
    assert_false(h.stale);

    assert_int_equal(store_history(s, a, T0 - 200 * DAY_MS, &h), STORE_OK);
    assert_int_equal(h.n, 5);
    assert_int_equal(h.findings, 3);
    assert_int_equal(store_history(s, a, T0, &h), STORE_OK);
    assert_int_equal(h.n, 0);
    assert_int_equal(h.findings, 0);
    assert_int_equal(store_history(s, "豫Z00000", 0, &h), STORE_OK);
    assert_int_equal(h.n, 0);

    assert_int_equal(store_history(s, c, 0, &h), STORE_OK);
    assert_int_equal(h.n, HISTORY_MAX);
    assert_int_equal(h.findings, 40);
    assert_int_equal(h.pass[0].time_ms, T0 + 39 * 60000);
    for (size_t i = 1; i < h.n; i++)
        assert_true(h.pass[i].time_ms < h.pass[i - 1].time_ms);
    assert_int_equal(store_history(s, "", 0, &h), STORE_EINVAL);
    store_close(s);
}

static void test_history_uses_indexes(void **state)
{
    struct env *e = *state;
    make_store(e->path, 1);
    store *s = open_ok(e->path, STORE_READ);
    static const char *const queries[] = {
        "EXPLAIN QUERY PLAN SELECT seq, time_ms, exceeded, checkpoint FROM records "
        "WHERE plate = ?1 AND judged = 1 AND time_ms >= ?2 ORDER BY time_ms DESC, seq DESC LIMIT 32",
        "EXPLAIN QUERY PLAN SELECT count(*) FROM records WHERE plate = ?1 AND finding = 1 AND "
        "time_ms >= ?2",
        "EXPLAIN QUERY PLAN SELECT device_seq, fingerprint FROM records WHERE device_id = ?1 AND "
        "kind = 1 ORDER BY seq DESC LIMIT 1",
    };
    for (size_t i = 0; i < 3; i++) {
        sqlite3_stmt *st = NULL;
        assert_int_equal(sqlite3_prepare_v2(store_db(s), queries[i], -1, &st, NULL), SQLITE_OK);
        bool indexed = false, sorted = false;
        while (sqlite3_step(st) == SQLITE_ROW) {
            const char *d = (const char *)sqlite3_column_text(st, 3);
            indexed |= strstr(d, "USING INDEX") || strstr(d, "USING COVERING INDEX");
            sorted |= strstr(d, "TEMP B-TREE") != NULL;
        }
        sqlite3_finalize(st);
        if (!indexed || sorted)
            fail_msg("query %zu is not answered from an index in order", i);
    }
    store_close(s);
}

static void test_device_cursor(void **state)
{
    struct env *e = *state;
    store *s = open_ok(e->path, STORE_WRITER);
    bool found = true;
    uint32_t dseq = 99;
    uint8_t fp[32], want[32];
    assert_int_equal(store_device_cursor(s, "rsu-1", &found, &dseq, fp), STORE_OK);
    assert_false(found);
    add_pass(s, T0, "豫A12345", 1, 0, "rsu-1", 10, NULL);
    add_pass(s, T0 + 1, NULL, 3, 0, "rsu-1", 11, NULL);
    add_pass(s, T0 + 2, "豫A12345", 1, 0, "rsu-2", 500, NULL);
    uint8_t buf[1024];
    size_t n = fixture_event(4, T0 + 3, "config_reload", buf, sizeof buf);
    assert_int_equal(store_append(s, buf, n, NULL), STORE_OK);
    assert_int_equal(store_device_cursor(s, "rsu-1", &found, &dseq, fp), STORE_OK);
    assert_true(found);
    assert_int_equal(dseq, 11);
    fixture_fingerprint(11, want);
    assert_memory_equal(fp, want, 32);
    assert_int_equal(store_device_cursor(s, "rsu-2", &found, &dseq, fp), STORE_OK);
    assert_true(found);
    assert_int_equal(dseq, 500);
    assert_int_equal(store_device_cursor(s, "rsu-9", &found, &dseq, fp), STORE_OK);
    assert_false(found);
    store_close(s);
}

struct walk {
    uint64_t seq[64];
    size_t n;
    size_t stop_after;
};

static int walk_fn(void *ud, uint64_t seq, const uint8_t hash[32], const uint8_t *p, size_t len)
{
    struct walk *w = ud;
    (void)hash;
    Rsgw__V1__Record *r = rsgw__v1__record__unpack(NULL, len, p);
    assert_non_null(r);
    assert_int_equal(r->seq, seq);
    rsgw__v1__record__free_unpacked(r, NULL);
    w->seq[w->n++] = seq;
    return w->stop_after && w->n == w->stop_after ? 7 : 0;
}

static void test_records_walk(void **state)
{
    struct env *e = *state;
    make_store(e->path, 30);
    store *s = open_ok(e->path, STORE_READ);
    struct walk w = {0};
    struct store_query q = {.from_seq = 10, .limit = 5};
    assert_int_equal(store_records(s, &q, walk_fn, &w), STORE_OK);
    assert_int_equal(w.n, 5);
    assert_int_equal(w.seq[0], 10);
    assert_int_equal(w.seq[4], 14);

    memset(&w, 0, sizeof w);
    q = (struct store_query){.newest_first = true, .limit = 3};
    assert_int_equal(store_records(s, &q, walk_fn, &w), STORE_OK);
    assert_int_equal(w.n, 3);
    assert_int_equal(w.seq[0], 30);
    assert_int_equal(w.seq[2], 28);

    memset(&w, 0, sizeof w);
    q = (struct store_query){.newest_first = true, .from_seq = 10, .plate = "豫B67890"};
    assert_int_equal(store_records(s, &q, walk_fn, &w), STORE_OK);
    assert_int_equal(w.n, 4); /* 10, 7, 4, 1 are seq % 3 == 1 */
    assert_int_equal(w.seq[0], 10);
    assert_int_equal(w.seq[3], 1);

    memset(&w, 0, sizeof w);
    w.stop_after = 2;
    q = (struct store_query){0};
    assert_int_equal(store_records(s, &q, walk_fn, &w), 7);
    assert_int_equal(w.n, 2);
    store_close(s);
}

static void test_settings(void **state)
{
    struct env *e = *state;
    store *s = open_ok(e->path, STORE_ADMIN);
    char v[8];
    assert_int_equal(store_setting_get(s, "alert.level", v, sizeof v), 0);
    assert_int_equal(store_setting_set(s, "alert.level", "red"), STORE_OK);
    assert_int_equal(store_setting_set(s, "alert.level", "yellow"), STORE_OK);
    assert_int_equal(store_setting_get(s, "alert.level", v, sizeof v), 1);
    assert_string_equal(v, "yellow");
    assert_int_equal(store_setting_set(s, "long", "0123456789"), STORE_OK);
    assert_int_equal(store_setting_get(s, "long", v, sizeof v), STORE_EINVAL);
    store_close(s);
    s = open_ok(e->path, STORE_READ);
    assert_int_equal(store_setting_get(s, "alert.level", v, sizeof v), 1);
    assert_int_equal(store_setting_set(s, "alert.level", "red"), STORE_EINVAL);
    store_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_append_reopen_continue, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_append_rejects, setup, teardown),
        cmocka_unit_test_setup_teardown(test_events_and_plate_fallback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verify_progress, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tamper_payload_edited, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tamper_hash_edited, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tamper_rewritten_with_new_hash, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tamper_record_deleted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tamper_columns_edited, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tamper_reordered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tamper_truncated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_guards_stop_accidents, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrate_from_empty_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrate_from_previous_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_future_version_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_a_store, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damaged_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_writer_lock, setup, teardown),
        cmocka_unit_test_setup_teardown(test_history, setup, teardown),
        cmocka_unit_test_setup_teardown(test_history_uses_indexes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_device_cursor, setup, teardown),
        cmocka_unit_test_setup_teardown(test_records_walk, setup, teardown),
        cmocka_unit_test_setup_teardown(test_settings, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
