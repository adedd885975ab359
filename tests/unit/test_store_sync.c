/* SPDX-License-Identifier: MIT */
/*
 * What platform sync keeps in the store (store_sync.h), on real SQLite files:
 * delivery cursors, rejects and retries, backlog, batches, findings from other
 * checkpoints, platform exemptions, retention and the chain base, the schema
 * migration, and full disks through the fault-injecting VFS.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <openssl/evp.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "faultvfs.h"
#include "registry.h"
#include "rsgw/v1/record.pb-c.h"
#include "store.h"
#include "store_fixture.h"
#include "store_priv.h"
#include "store_sync.h"

#define T0     1715900000000LL /* 2024-05-17 */
#define DAY_MS 86400000LL
#define PASS   RSGW__V1__RESULT__RESULT_PASS
#define OVER   RSGW__V1__RESULT__RESULT_OVER_STANDARD

struct env {
    char dir[256];
    char path[320];
    struct faultvfs fv;
};

static int setup(void **state)
{
    struct env *e = calloc(1, sizeof *e);
    fixture_dir_make(e->dir, sizeof e->dir);
    snprintf(e->path, sizeof e->path, "%s/records.db", e->dir);
    assert_int_equal(faultvfs_register(&e->fv, "rsgw-sync-faults"), SQLITE_OK);
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    struct env *e = *state;
    faultvfs_unregister(&e->fv);
    fixture_dir_remove(e->dir);
    free(e);
    return 0;
}

static store *open_vfs(const char *path, enum store_mode mode, const char *vfs)
{
    store *s = NULL;
    char err[512] = "";
    int rc = store_open_vfs(path, mode, vfs, &s, err, sizeof err);
    if (rc != STORE_OK)
        fail_msg("store_open(%s): %d %s", path, rc, err);
    return s;
}

static store *open_ok(const char *path, enum store_mode mode)
{
    return open_vfs(path, mode, NULL);
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Record seq of the standard stream: a pass every second from T0, every 5th over. */
static size_t standard(uint64_t seq, int64_t time_ms, uint8_t *buf, size_t cap)
{
    static const char *const plates[] = {"豫A12345", "豫B67890", "京C24680"};
    struct fixture_pass p = {.seq = seq,
                             .time_ms = time_ms,
                             .plate = plates[seq % 3],
                             .result = seq % 5 == 0 ? OVER : PASS,
                             .exceeded = seq % 5 == 0 ? POLLUTANT_OPACITY : 0,
                             .device_seq = (uint32_t)(1000 + seq)};
    size_t n = fixture_pass(&p, buf, cap);
    assert_true(n > 0);
    return n;
}

static void append_at(store *s, int64_t time_ms)
{
    uint8_t buf[2048];
    uint64_t seq = store_next_seq(s);
    size_t n = standard(seq, time_ms, buf, sizeof buf);
    if (store_append(s, buf, n, NULL) != STORE_OK)
        fail_msg("append %llu: %s", (unsigned long long)seq, store_errmsg(s));
}

static void append_standard(store *s, uint64_t count)
{
    assert_int_equal(store_begin(s), STORE_OK);
    for (uint64_t i = 0; i < count; i++)
        append_at(s, T0 + (int64_t)store_next_seq(s) * 1000);
    assert_int_equal(store_commit(s), STORE_OK);
}

static void make_store(const char *path, uint64_t count)
{
    store *s = open_ok(path, STORE_WRITER);
    append_standard(s, count);
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

static void expect_ok(const char *path, uint64_t checked)
{
    struct store_verify_result r = verify_path(path);
    if (!r.ok || r.checked != checked)
        fail_msg("verify: ok=%d checked=%llu (expected %llu): %s", r.ok,
                 (unsigned long long)r.checked, (unsigned long long)checked, r.reason);
}

static void expect_broken(const char *path, uint64_t seq, const char *reason)
{
    struct store_verify_result r = verify_path(path);
    if (r.ok || r.first_bad_seq != seq || !strstr(r.reason, reason))
        fail_msg("expected record %llu '%s', got ok=%d first_bad=%llu '%s'",
                 (unsigned long long)seq, reason, r.ok, (unsigned long long)r.first_bad_seq,
                 r.reason);
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

/* Edit the file as someone with the sqlite3 shell would: every guard dropped first. */
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
                          "DROP TRIGGER IF EXISTS chain_kept;"
                          "DROP TRIGGER IF EXISTS chain_base_forward_only;"
                          "DROP TRIGGER IF EXISTS chain_base_kept;",
                          NULL, NULL, &msg);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK)
        fail_msg("tamper: %s", msg);
    sqlite3_close(db);
}

/* sqlite3_exec on the file with the guards in place: the SQLite result and message. */
static int raw_exec(const char *path, const char *sql, char *msg_out, size_t cap)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    snprintf(msg_out, cap, "%s", msg ? msg : "");
    sqlite3_free(msg);
    sqlite3_close(db);
    return rc;
}

static int64_t query_int(store *s, const char *sql)
{
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(store_db(s), sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* Hashes of records 1..n as the store holds them (hash[seq]). */
static int hash_fn(void *ud, uint64_t seq, const uint8_t hash[32], const uint8_t *p, size_t len)
{
    (void)p, (void)len;
    memcpy(((uint8_t(*)[32])ud)[seq], hash, 32);
    return 0;
}

static void read_hashes(const char *path, uint8_t (*hashes)[32])
{
    store *s = open_ok(path, STORE_READ);
    struct store_query q = {0};
    assert_int_equal(store_records(s, &q, hash_fn, hashes), STORE_OK);
    store_close(s);
}

/* ---- cursors ---- */

static void test_cursor_monotonic_and_durable(void **state)
{
    struct env *e = *state;
    make_store(e->path, 10);
    store *s = open_ok(e->path, STORE_WRITER);
    uint64_t seq = 99;
    assert_int_equal(store_upstream_cursor(s, "city", &seq), STORE_OK);
    assert_int_equal(seq, 0);
    assert_int_equal(store_upstream_advance(s, "city", 5, NULL, 0), STORE_OK);
    assert_int_equal(store_upstream_advance(s, "province", 2, NULL, 0), STORE_OK);
    assert_int_equal(store_upstream_advance(s, "city", 5, NULL, 0), STORE_OK); /* same: no-op */
    /* Backwards, past the newest record, or without a name: refused, nothing changed. */
    assert_int_equal(store_upstream_advance(s, "city", 4, NULL, 0), STORE_EINVAL);
    assert_non_null(strstr(store_errmsg(s), "never moves back"));
    assert_int_equal(store_upstream_advance(s, "city", 11, NULL, 0), STORE_EINVAL);
    assert_non_null(strstr(store_errmsg(s), "newest record is 10"));
    assert_int_equal(store_upstream_advance(s, "", 6, NULL, 0), STORE_EINVAL);
    assert_int_equal(store_upstream_advance(s, NULL, 6, NULL, 0), STORE_EINVAL);
    assert_int_equal(store_upstream_cursor(s, NULL, &seq), STORE_EINVAL);
    /* Not inside a group commit: the cursor is its own durable transaction. */
    assert_int_equal(store_begin(s), STORE_OK);
    assert_int_equal(store_upstream_advance(s, "city", 6, NULL, 0), STORE_EINVAL);
    assert_non_null(strstr(store_errmsg(s), "group commit"));
    store_rollback(s);
    store_close(s);

    s = open_ok(e->path, STORE_READ);
    assert_int_equal(store_upstream_cursor(s, "city", &seq), STORE_OK);
    assert_int_equal(seq, 5);
    assert_int_equal(store_upstream_cursor(s, "province", &seq), STORE_OK);
    assert_int_equal(seq, 2);
    assert_int_equal(store_upstream_cursor(s, "nation", &seq), STORE_OK);
    assert_int_equal(seq, 0);
    assert_int_equal(store_upstream_advance(s, "city", 6, NULL, 0), STORE_EINVAL); /* read-only */
    store_close(s);

    /* An admin process may move it too (the platform sync command, later). */
    s = open_ok(e->path, STORE_ADMIN);
    assert_int_equal(store_upstream_advance(s, "city", 10, NULL, 0), STORE_OK);
    assert_int_equal(store_upstream_cursor(s, "city", &seq), STORE_OK);
    assert_int_equal(seq, 10);
    store_close(s);
    expect_ok(e->path, 10);
}

struct rejects {
    uint64_t seq[16];
    int64_t time_ms[16];
    char reason[16][256];
    size_t n;
    size_t stop_after;
};

static int reject_fn(void *ud, uint64_t seq, int64_t time_ms, const char *reason)
{
    struct rejects *r = ud;
    assert_true(r->n < 16);
    r->seq[r->n] = seq;
    r->time_ms[r->n] = time_ms;
    snprintf(r->reason[r->n], sizeof r->reason[0], "%s", reason);
    r->n++;
    return r->stop_after && r->n == r->stop_after ? 9 : 0;
}

static void test_rejects_listed(void **state)
{
    struct env *e = *state;
    make_store(e->path, 12);
    store *s = open_ok(e->path, STORE_WRITER);
    struct store_reject rj[2] = {{.seq = 4}, {.seq = 2}};
    snprintf(rj[0].reason, sizeof rj[0].reason, "plate missing");
    snprintf(rj[1].reason, sizeof rj[1].reason, "payload does not decode");
    int64_t before = wall_ms();
    assert_int_equal(store_upstream_advance(s, "city", 6, rj, 2), STORE_OK);
    int64_t after = wall_ms();
    /* A reject outside the records the cursor passes: refused, cursor unchanged. */
    struct store_reject late = {.seq = 6, .reason = "late"};
    assert_int_equal(store_upstream_advance(s, "city", 8, &late, 1), STORE_EINVAL);
    assert_non_null(strstr(store_errmsg(s), "not among the records"));
    struct store_reject far = {.seq = 9, .reason = "beyond"};
    assert_int_equal(store_upstream_advance(s, "city", 8, &far, 1), STORE_EINVAL);
    uint64_t seq = 0;
    assert_int_equal(store_upstream_cursor(s, "city", &seq), STORE_OK);
    assert_int_equal(seq, 6);
    struct store_reject other = {.seq = 1, .reason = "unknown gateway"};
    assert_int_equal(store_upstream_advance(s, "province", 3, &other, 1), STORE_OK);
    store_close(s);

    s = open_ok(e->path, STORE_READ);
    struct rejects r = {0};
    assert_int_equal(store_upstream_rejects(s, "city", reject_fn, &r), STORE_OK);
    assert_int_equal(r.n, 2);
    assert_int_equal(r.seq[0], 2);
    assert_string_equal(r.reason[0], "payload does not decode");
    assert_int_equal(r.seq[1], 4);
    assert_string_equal(r.reason[1], "plate missing");
    assert_true(r.time_ms[0] >= before && r.time_ms[0] <= after);
    memset(&r, 0, sizeof r);
    r.stop_after = 1;
    assert_int_equal(store_upstream_rejects(s, "city", reject_fn, &r), 9);
    assert_int_equal(r.n, 1);
    memset(&r, 0, sizeof r);
    assert_int_equal(store_upstream_rejects(s, "province", reject_fn, &r), STORE_OK);
    assert_int_equal(r.n, 1);
    assert_string_equal(r.reason[0], "unknown gateway");
    memset(&r, 0, sizeof r);
    assert_int_equal(store_upstream_rejects(s, "nation", reject_fn, &r), STORE_OK);
    assert_int_equal(r.n, 0);
    struct store_backlog b;
    assert_int_equal(store_upstream_backlog(s, "city", &b), STORE_OK);
    assert_int_equal(b.rejected, 2);
    store_close(s);
}

static void test_retry_attempts_across_reopen(void **state)
{
    struct env *e = *state;
    make_store(e->path, 10);
    store *s = open_ok(e->path, STORE_WRITER);
    assert_int_equal(store_upstream_advance(s, "city", 3, NULL, 0), STORE_OK);
    assert_int_equal(store_upstream_note_retry(s, "city", 5, "chain gap"), 1);
    assert_int_equal(store_upstream_note_retry(s, "city", 5, "overload"), 2);
    assert_int_equal(store_upstream_note_retry(s, "city", 6, "overload"), 1);
    assert_int_equal(store_upstream_note_retry(s, "province", 5, "overload"), 1);
    /* Already final there, or not stored: refused. */
    assert_int_equal(store_upstream_note_retry(s, "city", 3, "x"), STORE_EINVAL);
    assert_int_equal(store_upstream_note_retry(s, "city", 11, "x"), STORE_EINVAL);
    assert_int_equal(store_upstream_note_retry(s, "city", 0, "x"), STORE_EINVAL);
    store_close(s);

    s = open_ok(e->path, STORE_WRITER);
    assert_int_equal(store_upstream_note_retry(s, "city", 5, "overload"), 3);
    /* Retries are not rejects... */
    struct rejects r = {0};
    assert_int_equal(store_upstream_rejects(s, "city", reject_fn, &r), STORE_OK);
    assert_int_equal(r.n, 0);
    /* ...until the upstream gives up on one: 5 rejected at last, 6 accepted. */
    struct store_reject rj = {.seq = 5, .reason = "still a chain gap"};
    assert_int_equal(store_upstream_advance(s, "city", 7, &rj, 1), STORE_OK);
    assert_int_equal(store_upstream_rejects(s, "city", reject_fn, &r), STORE_OK);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.seq[0], 5);
    assert_string_equal(r.reason[0], "still a chain gap");
    assert_int_equal(query_int(s, "SELECT count(*) FROM upstream_rejects WHERE upstream = 'city'"),
                     1);
    /* Another upstream's count is its own. */
    assert_int_equal(store_upstream_note_retry(s, "province", 5, "overload"), 2);
    store_close(s);
}

static void test_backlog(void **state)
{
    struct env *e = *state;
    store *s = open_ok(e->path, STORE_WRITER);
    struct store_backlog b;
    assert_int_equal(store_upstream_backlog(s, "city", &b), STORE_OK);
    assert_int_equal(b.records, 0);
    assert_int_equal(b.oldest_seq, 0);
    append_standard(s, 10);
    assert_int_equal(store_upstream_backlog(s, "city", &b), STORE_OK);
    assert_int_equal(b.records, 10);
    assert_int_equal(b.oldest_seq, 1);
    assert_int_equal(b.oldest_time_ms, T0 + 1000);
    assert_int_equal(b.rejected, 0);
    struct store_reject rj = {.seq = 2, .reason = "bad"};
    assert_int_equal(store_upstream_advance(s, "city", 4, &rj, 1), STORE_OK);
    assert_int_equal(store_upstream_backlog(s, "city", &b), STORE_OK);
    assert_int_equal(b.records, 6);
    assert_int_equal(b.oldest_seq, 5);
    assert_int_equal(b.oldest_time_ms, T0 + 5000);
    assert_int_equal(b.rejected, 1);
    assert_int_equal(store_upstream_advance(s, "city", 10, NULL, 0), STORE_OK);
    assert_int_equal(store_upstream_backlog(s, "city", &b), STORE_OK);
    assert_int_equal(b.records, 0);
    assert_int_equal(b.oldest_seq, 0);
    assert_int_equal(b.oldest_time_ms, 0);
    assert_int_equal(b.rejected, 1);
    append_standard(s, 2);
    assert_int_equal(store_upstream_backlog(s, "city", &b), STORE_OK);
    assert_int_equal(b.records, 2);
    assert_int_equal(b.oldest_seq, 11);
    /* After a prune, an upstream added later can only get what is still held. */
    uint64_t pruned = 0;
    assert_int_equal(store_prune(s, T0 + 7000, 10, &pruned), STORE_OK);
    assert_int_equal(pruned, 6);
    assert_int_equal(store_upstream_backlog(s, "nation", &b), STORE_OK);
    assert_int_equal(b.records, 6);
    assert_int_equal(b.oldest_seq, 7);
    assert_int_equal(b.oldest_time_ms, T0 + 7000);
    store_close(s);
}

/* ---- batches ---- */

struct batch {
    uint64_t seq[64];
    uint8_t hash[64][32];
    uint8_t prev[64][32];
    size_t bytes;
    size_t n;
    size_t stop_after;
};

static int batch_fn(void *ud, uint64_t seq, const uint8_t hash[32], const uint8_t prev[32],
                    const uint8_t *payload, size_t len)
{
    struct batch *b = ud;
    assert_true(b->n < 64);
    /* Each record's hash follows from the previous hash it comes with. */
    uint8_t want[32];
    sha256_chain(prev, payload, len, want);
    assert_memory_equal(want, hash, 32);
    Rsgw__V1__Record *r = rsgw__v1__record__unpack(NULL, len, payload);
    assert_non_null(r);
    assert_int_equal(r->seq, seq);
    rsgw__v1__record__free_unpacked(r, NULL);
    b->seq[b->n] = seq;
    memcpy(b->hash[b->n], hash, 32);
    memcpy(b->prev[b->n], prev, 32);
    b->bytes += len;
    b->n++;
    return b->stop_after && b->n == b->stop_after ? 5 : 0;
}

static void check_consecutive(const struct batch *b, uint64_t first)
{
    for (size_t i = 0; i < b->n; i++) {
        assert_int_equal(b->seq[i], first + i);
        if (i > 0)
            assert_memory_equal(b->prev[i], b->hash[i - 1], 32);
    }
}

static void test_batches(void **state)
{
    struct env *e = *state;
    make_store(e->path, 20);
    static uint8_t hashes[32][32];
    read_hashes(e->path, hashes);
    store *s = open_ok(e->path, STORE_READ);
    uint8_t zero[32] = {0};

    struct batch b = {0};
    assert_int_equal(store_read_batch(s, 0, 5, 1 << 20, batch_fn, &b), STORE_OK);
    assert_int_equal(b.n, 5);
    check_consecutive(&b, 1);
    assert_memory_equal(b.prev[0], zero, 32); /* record 1 follows 32 zero bytes */
    assert_memory_equal(b.hash[4], hashes[5], 32);

    /* The next batch continues the chain where this one ended. */
    memset(&b, 0, sizeof b);
    assert_int_equal(store_read_batch(s, 5, 5, 1 << 20, batch_fn, &b), STORE_OK);
    assert_int_equal(b.n, 5);
    check_consecutive(&b, 6);
    assert_memory_equal(b.prev[0], hashes[5], 32);

    /* By bytes: a budget smaller than one record still gives one record. */
    memset(&b, 0, sizeof b);
    assert_int_equal(store_read_batch(s, 0, 50, 1, batch_fn, &b), STORE_OK);
    assert_int_equal(b.n, 1);
    size_t one = b.bytes;
    memset(&b, 0, sizeof b);
    assert_int_equal(store_read_batch(s, 0, 50, 0, batch_fn, &b), STORE_OK);
    assert_int_equal(b.n, 1);
    /* Two and a half records' worth: two (the third would go over). */
    memset(&b, 0, sizeof b);
    assert_int_equal(store_read_batch(s, 10, 50, one * 5 / 2, batch_fn, &b), STORE_OK);
    assert_int_equal(b.n, 2);
    check_consecutive(&b, 11);
    assert_true(b.bytes <= one * 5 / 2);

    /* The end of the chain, and past it. */
    memset(&b, 0, sizeof b);
    assert_int_equal(store_read_batch(s, 18, 10, 1 << 20, batch_fn, &b), STORE_OK);
    assert_int_equal(b.n, 2);
    check_consecutive(&b, 19);
    memset(&b, 0, sizeof b);
    assert_int_equal(store_read_batch(s, 20, 10, 1 << 20, batch_fn, &b), STORE_OK);
    assert_int_equal(store_read_batch(s, 500, 10, 1 << 20, batch_fn, &b), STORE_OK);
    assert_int_equal(b.n, 0);

    /* fn stops the walk; max_records 0 is a mistake. */
    b.stop_after = 3;
    assert_int_equal(store_read_batch(s, 0, 10, 1 << 20, batch_fn, &b), 5);
    assert_int_equal(b.n, 3);
    assert_int_equal(store_read_batch(s, 0, 0, 1 << 20, batch_fn, &b), STORE_EINVAL);
    store_close(s);

    /* A hole in the middle (an edited store) is not papered over. */
    tamper(e->path, "DELETE FROM records WHERE seq = 8");
    s = open_ok(e->path, STORE_READ);
    memset(&b, 0, sizeof b);
    assert_int_equal(store_read_batch(s, 5, 10, 1 << 20, batch_fn, &b), STORE_ECORRUPT);
    assert_non_null(strstr(store_errmsg(s), "record 8 is missing"));
    memset(&b, 0, sizeof b);
    assert_int_equal(store_read_batch(s, 8, 10, 1 << 20, batch_fn, &b), STORE_ECORRUPT);
    store_close(s);
}

/* ---- findings from other checkpoints ---- */

static struct store_remote_finding finding(const char *plate, int64_t t, const char *gw,
                                           uint64_t seq, uint32_t exceeded)
{
    struct store_remote_finding f = {.time_ms = t, .seq = seq, .exceeded = exceeded};
    snprintf(f.plate, sizeof f.plate, "%s", plate);
    snprintf(f.gateway_id, sizeof f.gateway_id, "%s", gw);
    snprintf(f.checkpoint, sizeof f.checkpoint, "%s-K1", gw);
    return f;
}

static void add_pass(store *s, int64_t t, const char *plate, int result, uint32_t exceeded)
{
    uint8_t buf[2048];
    struct fixture_pass p = {.seq = store_next_seq(s),
                             .time_ms = t,
                             .plate = plate,
                             .result = result,
                             .exceeded = exceeded,
                             .device_seq = (uint32_t)store_next_seq(s)};
    size_t n = fixture_pass(&p, buf, sizeof buf);
    if (store_append(s, buf, n, NULL) != STORE_OK)
        fail_msg("%s", store_errmsg(s));
}

static void test_remote_findings(void **state)
{
    struct env *e = *state;
    const char *a = "豫A12345", *b = "冀B67890";
    store *s = open_ok(e->path, STORE_WRITER);
    char cur[64];
    assert_int_equal(store_remote_cursor(s, "province", cur, sizeof cur), 0);
    struct store_remote_finding page1[] = {
        finding(a, T0 - 3 * DAY_MS, "gw-hebei-7", 100, POLLUTANT_NO),
        finding(a, T0 - 40 * DAY_MS, "gw-hebei-7", 90, POLLUTANT_OPACITY),
        finding(b, T0 - 2 * DAY_MS, "gw-hebei-9", 5, POLLUTANT_OPACITY),
    };
    assert_int_equal(store_remote_findings_add(s, "province", page1, 3, "c-1"), 3);
    /* The same findings again (a page fetched twice) and one new one. */
    struct store_remote_finding page2[] = {
        page1[0],
        page1[2],
        finding(a, T0 - 1 * DAY_MS, "gw-shanxi-2", 100, POLLUTANT_NO | POLLUTANT_OPACITY),
    };
    assert_int_equal(store_remote_findings_add(s, "province", page2, 3, "c-2"), 1);
    assert_int_equal(store_remote_cursor(s, "province", cur, sizeof cur), 1);
    assert_string_equal(cur, "c-2");
    assert_int_equal(store_remote_cursor(s, "province", cur, 3), STORE_EINVAL);
    /* A page without a cursor keeps the saved one. */
    assert_int_equal(store_remote_findings_add(s, "province", NULL, 0, NULL), 0);
    /* A bad finding: nothing of the page is stored, the cursor stays. */
    struct store_remote_finding bad[] = {finding(a, T0, "gw-x", 1, POLLUTANT_NO),
                                         finding("", T0, "gw-x", 2, POLLUTANT_NO)};
    assert_int_equal(store_remote_findings_add(s, "province", bad, 2, "c-3"), STORE_EINVAL);
    bad[1] = finding(a, T0, "gw-x", 0, POLLUTANT_NO);
    assert_int_equal(store_remote_findings_add(s, "province", bad, 2, "c-3"), STORE_EINVAL);
    assert_int_equal(query_int(s, "SELECT count(*) FROM remote_findings"), 4);
    store_close(s);

    s = open_ok(e->path, STORE_WRITER);
    assert_int_equal(store_remote_cursor(s, "province", cur, sizeof cur), 1);
    assert_string_equal(cur, "c-2");
    assert_int_equal(store_remote_cursor(s, "city", cur, sizeof cur), 0);
    /* Local passes of plate a around the remote findings. */
    add_pass(s, T0 - 10 * DAY_MS, a, OVER, POLLUTANT_NO); /* 1 */
    add_pass(s, T0 - 2 * DAY_MS, a, PASS, 0);             /* 2 */
    add_pass(s, T0 - 5 * DAY_MS, b, PASS, 0);             /* 3 */

    struct history h;
    assert_int_equal(store_history(s, a, T0 - 30 * DAY_MS, &h), STORE_OK);
    /* Newest first: remote (-1d), local 2 (-2d), remote (-3d), local 1 (-10d). */
    assert_int_equal(h.n, 4);
    assert_int_equal(h.findings, 3); /* local 1 and the two remote ones in the window */
    assert_true(h.pass[0].remote);
    assert_int_equal(h.pass[0].time_ms, T0 - 1 * DAY_MS);
    assert_int_equal(h.pass[0].seq, 100);
    assert_string_equal(h.pass[0].checkpoint, "gw-shanxi-2-K1");
    assert_int_equal(h.pass[0].exceeded, POLLUTANT_NO | POLLUTANT_OPACITY);
    assert_false(h.pass[1].remote);
    assert_int_equal(h.pass[1].seq, 2);
    assert_int_equal(h.pass[1].exceeded, 0);
    assert_true(h.pass[2].remote);
    assert_string_equal(h.pass[2].checkpoint, "gw-hebei-7-K1");
    assert_int_equal(h.pass[2].exceeded, POLLUTANT_NO);
    assert_false(h.pass[3].remote);
    assert_int_equal(h.pass[3].seq, 1);
    for (size_t i = 1; i < h.n; i++)
        assert_true(h.pass[i].time_ms <= h.pass[i - 1].time_ms);
    /* A longer window reaches the older remote finding. */
    assert_int_equal(store_history(s, a, T0 - 60 * DAY_MS, &h), STORE_OK);
    assert_int_equal(h.n, 5);
    assert_int_equal(h.findings, 4);
    assert_int_equal(store_history(s, b, T0 - 30 * DAY_MS, &h), STORE_OK);
    assert_int_equal(h.n, 2);
    assert_int_equal(h.findings, 1);
    assert_true(h.pass[0].remote);

    /* This gateway's own finding, come back through the platform, counts once. */
    struct store_remote_finding own =
        finding(a, T0 - 10 * DAY_MS, "gw-henan-0042", 1, POLLUTANT_NO);
    assert_int_equal(store_remote_findings_add(s, "province", &own, 1, "c-4"), 1);
    assert_int_equal(store_history(s, a, T0 - 30 * DAY_MS, &h), STORE_OK);
    assert_int_equal(h.n, 4);
    assert_int_equal(h.findings, 3);

    /* Plenty of remote findings: at most HISTORY_MAX listed, all of them counted. */
    struct store_remote_finding many[40];
    for (int i = 0; i < 40; i++)
        many[i] = finding(b, T0 - i * 60000, "gw-hebei-9", 1000 + (uint64_t)i, POLLUTANT_HC);
    assert_int_equal(store_remote_findings_add(s, "province", many, 40, "c-5"), 40);
    assert_int_equal(store_history(s, b, T0 - 30 * DAY_MS, &h), STORE_OK);
    assert_int_equal(h.n, HISTORY_MAX);
    assert_int_equal(h.findings, 41);
    assert_int_equal(h.pass[0].time_ms, T0);
    store_close(s);
}

static void test_remote_history_uses_indexes(void **state)
{
    struct env *e = *state;
    make_store(e->path, 1);
    store *s = open_ok(e->path, STORE_READ);
    /* The statements store_history() runs for remote findings (gateway/store.c). */
    static const char *const queries[] = {
        "EXPLAIN QUERY PLAN SELECT seq, time_ms, exceeded, checkpoint FROM remote_findings AS f "
        "WHERE plate = ?1 AND time_ms >= ?2 AND NOT EXISTS (SELECT 1 FROM records AS r "
        "WHERE r.plate = f.plate AND r.finding = 1 AND r.time_ms = f.time_ms) "
        "ORDER BY time_ms DESC, rowid DESC LIMIT ?3",
        "EXPLAIN QUERY PLAN SELECT count(*) FROM remote_findings AS f WHERE plate = ?1 AND "
        "time_ms >= ?2 AND NOT EXISTS (SELECT 1 FROM records AS r WHERE r.plate = f.plate AND "
        "r.finding = 1 AND r.time_ms = f.time_ms)",
    };
    for (size_t i = 0; i < sizeof queries / sizeof queries[0]; i++) {
        sqlite3_stmt *st = NULL;
        assert_int_equal(sqlite3_prepare_v2(store_db(s), queries[i], -1, &st, NULL), SQLITE_OK);
        bool remote_indexed = false, local_indexed = false, sorted = false, scan = false;
        while (sqlite3_step(st) == SQLITE_ROW) {
            const char *d = (const char *)sqlite3_column_text(st, 3);
            remote_indexed |= strstr(d, "remote_findings_by_plate") != NULL;
            local_indexed |= strstr(d, "records_findings_by_plate") != NULL;
            sorted |= strstr(d, "TEMP B-TREE") != NULL;
            scan |= strncmp(d, "SCAN", 4) == 0;
        }
        sqlite3_finalize(st);
        if (!remote_indexed || !local_indexed || sorted || scan)
            fail_msg("query %zu is not answered from the indexes in order", i);
    }
    store_close(s);
}

/* ---- platform exemptions ---- */

static struct store_exempt_plate exempt(const char *plate, enum vehicle_exemption x, int64_t until)
{
    struct store_exempt_plate p = {.exemption = x, .valid_until_ms = until};
    snprintf(p.plate, sizeof p.plate, "%s", plate);
    return p;
}

static void test_platform_exemptions(void **state)
{
    struct env *e = *state;
    store *s = open_ok(e->path, STORE_ADMIN);
    struct registry_vehicle v = {.plate = "豫A12345",
                                 .fuel = FUEL_DIESEL,
                                 .emission_stage = 5,
                                 .exemption = EXEMPT_LIVELIHOOD,
                                 .source = "csv"};
    assert_int_equal(registry_put(s, &v), STORE_OK);
    snprintf(v.plate, sizeof v.plate, "豫A55555");
    v.exemption = EXEMPT_NONE;
    assert_int_equal(registry_put(s, &v), STORE_OK);
    int64_t now = wall_ms();
    struct store_exempt_plate list[] = {
        exempt("豫A12345", EXEMPT_EMERGENCY, 0),                /* over the registry's */
        exempt(" 豫a55555 ", EXEMPT_ENFORCEMENT, now + DAY_MS), /* normalised */
        exempt("京C24680", EXEMPT_ENFORCEMENT, now + DAY_MS),   /* not in the registry */
        exempt("冀B67890", EXEMPT_EMERGENCY, now - 1000),       /* expired */
    };
    assert_int_equal(store_platform_exemptions_set(s, list, 4), STORE_OK);
    struct registry_vehicle got;
    assert_int_equal(registry_get(s, "豫A12345", &got), 1);
    assert_int_equal(got.exemption, EXEMPT_EMERGENCY);
    assert_int_equal(got.fuel, FUEL_DIESEL); /* the rest is the registry's */
    assert_int_equal(registry_get_own(s, "豫A12345", &got), 1);
    assert_int_equal(got.exemption, EXEMPT_LIVELIHOOD);
    assert_int_equal(registry_get(s, "豫A55555", &got), 1);
    assert_int_equal(got.exemption, EXEMPT_ENFORCEMENT);
    /* Only the platform knows it: not found in the registry, but exempt. */
    assert_int_equal(registry_get(s, "京C24680", &got), 0);
    enum vehicle_exemption x = EXEMPT_LIVELIHOOD;
    assert_int_equal(registry_platform_exemption(s, "京C24680", now, &x), 1);
    assert_int_equal(x, EXEMPT_ENFORCEMENT);
    /* Valid until the millisecond before valid_until_ms. */
    assert_int_equal(registry_platform_exemption(s, "京C24680", now + DAY_MS - 1, &x), 1);
    assert_int_equal(registry_platform_exemption(s, "京C24680", now + DAY_MS, &x), 0);
    assert_int_equal(x, EXEMPT_NONE);
    assert_int_equal(registry_platform_exemption(s, "冀B67890", now, &x), 0);
    assert_int_equal(registry_platform_exemption(s, "冀B67890", now - 2000, &x), 1);
    assert_int_equal(registry_platform_exemption(s, "豫Z00000", now, &x), 0);
    assert_int_equal(registry_platform_exemption(s, "", now, &x), STORE_EINVAL);
    store_close(s);

    /* Wholesale: the next list replaces this one; a withdrawn exemption stops applying. */
    s = open_ok(e->path, STORE_ADMIN);
    struct store_exempt_plate next[] = {exempt("冀B67890", EXEMPT_LIVELIHOOD, 0)};
    assert_int_equal(store_platform_exemptions_set(s, next, 1), STORE_OK);
    assert_int_equal(registry_get(s, "豫A12345", &got), 1);
    assert_int_equal(got.exemption, EXEMPT_LIVELIHOOD);
    assert_int_equal(registry_platform_exemption(s, "京C24680", now, &x), 0);
    assert_int_equal(registry_platform_exemption(s, "冀B67890", now, &x), 1);
    assert_int_equal(x, EXEMPT_LIVELIHOOD);
    /* A bad entry changes nothing. */
    struct store_exempt_plate bad[] = {exempt("豫A12345", EXEMPT_EMERGENCY, 0),
                                       exempt("豫A55555", (enum vehicle_exemption)9, 0)};
    assert_int_equal(store_platform_exemptions_set(s, bad, 2), STORE_EINVAL);
    bad[1] = exempt("", EXEMPT_EMERGENCY, 0);
    assert_int_equal(store_platform_exemptions_set(s, bad, 2), STORE_EINVAL);
    assert_int_equal(registry_platform_exemption(s, "冀B67890", now, &x), 1);
    assert_int_equal(registry_get(s, "豫A12345", &got), 1);
    assert_int_equal(got.exemption, EXEMPT_LIVELIHOOD);
    /* An empty list withdraws them all. */
    assert_int_equal(store_platform_exemptions_set(s, NULL, 0), STORE_OK);
    assert_int_equal(registry_platform_exemption(s, "冀B67890", now, &x), 0);
    store_close(s);

    s = open_ok(e->path, STORE_READ);
    assert_int_equal(store_platform_exemptions_set(s, next, 1), STORE_EINVAL);
    store_close(s);
}

/* ---- retention ---- */

static uint64_t first_held(const char *path)
{
    store *s = open_ok(path, STORE_READ);
    int64_t v = query_int(s, "SELECT coalesce(min(seq), 0) FROM records");
    store_close(s);
    return (uint64_t)v;
}

static void test_prune_keeps_undelivered_and_recent(void **state)
{
    struct env *e = *state;
    make_store(e->path, 30); /* record n at T0 + n s */
    store *s = open_ok(e->path, STORE_WRITER);
    uint64_t pruned = 99;
    assert_int_equal(store_base_seq(s), 1);
    /* No upstream has anything yet: nothing goes, whatever the caller says. */
    assert_int_equal(store_prune(s, T0 + DAY_MS, UINT64_MAX, &pruned), STORE_OK);
    assert_int_equal(pruned, 0);
    assert_int_equal(store_upstream_advance(s, "city", 20, NULL, 0), STORE_OK);
    assert_int_equal(store_upstream_advance(s, "province", 10, NULL, 0), STORE_OK);
    /* Delivered everywhere up to 10. */
    assert_int_equal(store_prune(s, T0 + DAY_MS, 10, &pruned), STORE_OK);
    assert_int_equal(pruned, 10);
    assert_int_equal(store_base_seq(s), 11);
    assert_int_equal(store_prune(s, T0 + DAY_MS, 10, &pruned), STORE_OK);
    assert_int_equal(pruned, 0);
    /* Recent ones stay: record 15 is at T0 + 15 s, not older than that. */
    assert_int_equal(store_prune(s, T0 + 15000, 20, &pruned), STORE_OK);
    assert_int_equal(pruned, 4);
    assert_int_equal(store_base_seq(s), 15);
    /* Nothing past the highest cursor of any upstream, even if the caller says so. */
    assert_int_equal(store_prune(s, T0 + DAY_MS, 25, &pruned), STORE_OK);
    assert_int_equal(pruned, 6);
    assert_int_equal(store_base_seq(s), 21);
    store_close(s);
    assert_int_equal(first_held(e->path), 21);
    expect_ok(e->path, 10);

    /* The writer reopens (the chain head's record is there) and appends on. */
    s = open_ok(e->path, STORE_WRITER);
    assert_int_equal(store_next_seq(s), 31);
    append_standard(s, 3);
    struct store_stats st;
    assert_int_equal(store_get_stats(s, &st), STORE_OK);
    assert_int_equal(st.records, 13);
    assert_int_equal(st.last_seq, 33);
    /* Everything delivered and old: the newest record still stays. */
    assert_int_equal(store_upstream_advance(s, "city", 33, NULL, 0), STORE_OK);
    assert_int_equal(store_upstream_advance(s, "province", 33, NULL, 0), STORE_OK);
    assert_int_equal(store_prune(s, T0 + 1000 * DAY_MS, 33, &pruned), STORE_OK);
    assert_int_equal(pruned, 12);
    assert_int_equal(store_base_seq(s), 33);
    store_close(s);
    expect_ok(e->path, 1);
    s = open_ok(e->path, STORE_WRITER);
    append_standard(s, 2);
    store_close(s);
    expect_ok(e->path, 3);
}

static void test_prune_contiguous(void **state)
{
    /* Clocks jump: record 5 is newer than the horizon, 6.. are older again. */
    struct env *e = *state;
    store *s = open_ok(e->path, STORE_WRITER);
    assert_int_equal(store_begin(s), STORE_OK);
    for (int i = 1; i <= 10; i++)
        append_at(s, i == 5 ? T0 + DAY_MS : T0 + i * 1000);
    assert_int_equal(store_commit(s), STORE_OK);
    assert_int_equal(store_upstream_advance(s, "city", 10, NULL, 0), STORE_OK);
    uint64_t pruned = 0;
    assert_int_equal(store_prune(s, T0 + 60000, 10, &pruned), STORE_OK);
    assert_int_equal(pruned, 4);
    assert_int_equal(store_base_seq(s), 5);
    store_close(s);
    expect_ok(e->path, 6);
}

static void test_prune_large(void **state)
{
    /* More than one prune transaction's worth. */
    struct env *e = *state;
    make_store(e->path, 12000);
    store *s = open_ok(e->path, STORE_WRITER);
    assert_int_equal(store_upstream_advance(s, "city", 11500, NULL, 0), STORE_OK);
    uint64_t pruned = 0;
    assert_int_equal(store_prune(s, T0 + DAY_MS, 11500, &pruned), STORE_OK);
    assert_int_equal(pruned, 11500);
    assert_int_equal(store_base_seq(s), 11501);
    store_close(s);
    expect_ok(e->path, 500);
}

static void test_batch_after_prune(void **state)
{
    struct env *e = *state;
    make_store(e->path, 20);
    static uint8_t hashes[32][32];
    read_hashes(e->path, hashes);
    store *s = open_ok(e->path, STORE_WRITER);
    assert_int_equal(store_upstream_advance(s, "city", 8, NULL, 0), STORE_OK);
    uint64_t pruned = 0;
    assert_int_equal(store_prune(s, T0 + DAY_MS, 8, &pruned), STORE_OK);
    assert_int_equal(pruned, 8);
    /* The oldest record held comes with the anchor: the hash of the pruned record 8. */
    struct batch b = {0};
    assert_int_equal(store_read_batch(s, 0, 5, 1 << 20, batch_fn, &b), STORE_OK);
    assert_int_equal(b.n, 5);
    check_consecutive(&b, 9);
    assert_memory_equal(b.prev[0], hashes[8], 32);
    memset(&b, 0, sizeof b);
    assert_int_equal(store_read_batch(s, 8, 5, 1 << 20, batch_fn, &b), STORE_OK);
    assert_int_equal(b.seq[0], 9);
    assert_memory_equal(b.prev[0], hashes[8], 32);
    memset(&b, 0, sizeof b);
    assert_int_equal(store_read_batch(s, 12, 5, 1 << 20, batch_fn, &b), STORE_OK);
    assert_int_equal(b.seq[0], 13);
    assert_memory_equal(b.prev[0], hashes[12], 32);
    store_close(s);
}

/* A store of 20 records pruned up to 8 (base 9). */
static void make_pruned(const char *path)
{
    make_store(path, 20);
    store *s = open_ok(path, STORE_WRITER);
    assert_int_equal(store_upstream_advance(s, "city", 8, NULL, 0), STORE_OK);
    uint64_t pruned = 0;
    assert_int_equal(store_prune(s, T0 + DAY_MS, 8, &pruned), STORE_OK);
    assert_int_equal(pruned, 8);
    store_close(s);
    expect_ok(path, 12);
}

static void fresh(struct env *e)
{
    fixture_dir_remove(e->dir);
    fixture_dir_make(e->dir, sizeof e->dir);
    snprintf(e->path, sizeof e->path, "%s/records.db", e->dir);
}

static void test_tampering_after_prune(void **state)
{
    static const struct {
        const char *sql;
        uint64_t seq;
        const char *reason;
    } cases[] = {
        /* An edit after the base. */
        {"UPDATE records SET payload = substr(payload, 1, length(payload) - 1) || x'00' "
         "WHERE seq = 12",
         12, "record 12:"},
        {"UPDATE records SET hash = zeroblob(32) WHERE seq = 15", 15, "record 15: hash mismatch"},
        /* The anchor edited. */
        {"UPDATE chain_base SET prev_hash = zeroblob(32)", 9, "anchor was edited"},
        /* The base moved on without deleting. */
        {"UPDATE chain_base SET seq = 12, prev_hash = (SELECT hash FROM records WHERE seq = 11)", 9,
         "moved without pruning"},
        /* Records deleted below a base that was not moved. */
        {"DELETE FROM records WHERE seq < 11", 9, "record 9 is missing"},
        /* The base moved back over the pruned records. */
        {"UPDATE chain_base SET seq = 1, prev_hash = zeroblob(32)", 1, "record 1 is missing"},
        /* A hole after the base, and the newest records removed. */
        {"DELETE FROM records WHERE seq = 14", 14, "record 14 is missing"},
        {"DELETE FROM records WHERE seq >= 19", 19, "records 19 to 20 are missing"},
        {"DELETE FROM chain_base", 1, "chain base row is missing"},
    };
    struct env *e = *state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        make_pruned(e->path);
        tamper(e->path, cases[i].sql);
        expect_broken(e->path, cases[i].seq, cases[i].reason);
        fresh(e);
    }
    /* Everything deleted and the base moved past them: still caught. */
    make_pruned(e->path);
    tamper(e->path, "DELETE FROM records;"
                    "UPDATE chain_base SET seq = 21, prev_hash = (SELECT hash FROM chain)");
    expect_broken(e->path, 21, "record 21 is missing");
}

static void test_prune_guards(void **state)
{
    struct env *e = *state;
    make_pruned(e->path);
    char msg[256];
    /* A stray DELETE, or moving the base by hand the wrong way: refused. */
    assert_int_not_equal(raw_exec(e->path, "DELETE FROM records", msg, sizeof msg), SQLITE_OK);
    assert_non_null(strstr(msg, "append-only"));
    assert_int_not_equal(raw_exec(e->path, "DELETE FROM records WHERE seq = 9", msg, sizeof msg),
                         SQLITE_OK);
    assert_int_not_equal(raw_exec(e->path, "UPDATE chain_base SET seq = 5", msg, sizeof msg),
                         SQLITE_OK);
    assert_non_null(strstr(msg, "chain base only moves forward"));
    assert_int_not_equal(raw_exec(e->path,
                                  "UPDATE chain_base SET seq = 12, prev_hash = zeroblob(32)", msg,
                                  sizeof msg),
                         SQLITE_OK);
    assert_int_not_equal(raw_exec(e->path,
                                  "UPDATE chain_base SET seq = 21, prev_hash = "
                                  "(SELECT hash FROM records WHERE seq = 20)",
                                  msg, sizeof msg),
                         SQLITE_OK);
    assert_int_not_equal(raw_exec(e->path, "DELETE FROM chain_base", msg, sizeof msg), SQLITE_OK);
    expect_ok(e->path, 12);

    /* The writer's open-time check still sees the newest records removed. */
    tamper(e->path, "DELETE FROM records WHERE seq >= 19");
    store *s = NULL;
    char err[512];
    assert_int_equal(store_open(e->path, STORE_WRITER, &s, err, sizeof err), STORE_ECORRUPT);
    assert_non_null(strstr(err, "chain head says 20"));
}

static void test_prune_refuses_broken_chain(void **state)
{
    /* Pruning must not erase the evidence of an edit: it stops and leaves it to verify. */
    struct env *e = *state;
    make_store(e->path, 20);
    tamper(e->path, "UPDATE records SET payload = substr(payload, 1, length(payload) - 1) || "
                    "x'00' WHERE seq = 6");
    store *s = open_ok(e->path, STORE_WRITER);
    assert_int_equal(store_upstream_advance(s, "city", 20, NULL, 0), STORE_OK);
    uint64_t pruned = 0;
    assert_int_equal(store_prune(s, T0 + DAY_MS, 20, &pruned), STORE_ECORRUPT);
    assert_non_null(strstr(store_errmsg(s), "record 6"));
    assert_int_equal(pruned, 0);
    assert_int_equal(store_base_seq(s), 1);
    store_close(s);
    expect_broken(e->path, 6, "record 6:");

    fresh(e);
    make_store(e->path, 20);
    tamper(e->path, "DELETE FROM records WHERE seq = 4");
    s = open_ok(e->path, STORE_WRITER);
    assert_int_equal(store_upstream_advance(s, "city", 20, NULL, 0), STORE_OK);
    assert_int_equal(store_prune(s, T0 + DAY_MS, 20, &pruned), STORE_ECORRUPT);
    assert_non_null(strstr(store_errmsg(s), "record 4 is missing"));
    assert_int_equal(store_base_seq(s), 1);
    store_close(s);
}

static void test_prune_remote_findings(void **state)
{
    struct env *e = *state;
    store *s = open_ok(e->path, STORE_WRITER);
    struct store_remote_finding f[] = {
        finding("豫A12345", T0 - 400 * DAY_MS, "gw-1", 1, POLLUTANT_NO),
        finding("豫A12345", T0 - 10 * DAY_MS, "gw-1", 2, POLLUTANT_NO),
    };
    assert_int_equal(store_remote_findings_add(s, "province", f, 2, "c"), 2);
    uint64_t pruned = 0;
    assert_int_equal(store_prune(s, T0 - 365 * DAY_MS, 0, &pruned), STORE_OK);
    assert_int_equal(pruned, 0);
    assert_int_equal(query_int(s, "SELECT count(*) FROM remote_findings"), 1);
    /* Known again if the platform sends it again: harmless, it is outside every window. */
    store_close(s);
}

/* ---- schema ---- */

/* A store at schema version 2 (before platform sync) with n records, written as that
 * version's code did. */
static void make_v2_store(const char *path, uint64_t n)
{
    sqlite3 *db = NULL;
    char err[256];
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(store_migrate(db, 2, err, sizeof err), STORE_OK);
    sqlite3_stmt *ins = NULL, *head = NULL;
    assert_int_equal(
        sqlite3_prepare_v2(db,
                           "INSERT INTO records(seq, time_ms, kind, plate, checkpoint, device_id, "
                           "device_seq, fingerprint, result, exceeded, judged, finding, payload, "
                           "hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, "
                           "?13, ?14)",
                           -1, &ins, NULL),
        SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "UPDATE chain SET seq = ?1, hash = ?2 WHERE id = 1", -1,
                                        &head, NULL),
                     SQLITE_OK);
    uint8_t prev[32] = {0}, hash[32], buf[2048];
    for (uint64_t seq = 1; seq <= n; seq++) {
        size_t len = standard(seq, T0 + (int64_t)seq * 1000, buf, sizeof buf);
        struct store_derived d;
        assert_int_equal(store_derive(buf, len, &d), STORE_OK);
        sha256_chain(prev, buf, len, hash);
        sqlite3_reset(ins);
        sqlite3_bind_int64(ins, 1, (sqlite3_int64)seq);
        sqlite3_bind_int64(ins, 2, d.time_ms);
        sqlite3_bind_int(ins, 3, d.kind);
        sqlite3_bind_text(ins, 4, d.plate, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(ins, 5, d.checkpoint, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(ins, 6, d.device_id, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(ins, 7, d.device_seq);
        sqlite3_bind_blob(ins, 8, d.fingerprint, (int)d.fingerprint_len, SQLITE_TRANSIENT);
        sqlite3_bind_int(ins, 9, d.result);
        sqlite3_bind_int64(ins, 10, d.exceeded);
        sqlite3_bind_int(ins, 11, d.judged);
        sqlite3_bind_int(ins, 12, d.finding);
        sqlite3_bind_blob(ins, 13, buf, (int)len, SQLITE_TRANSIENT);
        sqlite3_bind_blob(ins, 14, hash, 32, SQLITE_TRANSIENT);
        assert_int_equal(sqlite3_step(ins), SQLITE_DONE);
        store_derived_free(&d);
        sqlite3_reset(head);
        sqlite3_bind_int64(head, 1, (sqlite3_int64)seq);
        sqlite3_bind_blob(head, 2, hash, 32, SQLITE_TRANSIENT);
        assert_int_equal(sqlite3_step(head), SQLITE_DONE);
        memcpy(prev, hash, 32);
    }
    sqlite3_finalize(ins);
    sqlite3_finalize(head);
    sqlite3_close(db);
}

static void test_migrate_from_v2(void **state)
{
    struct env *e = *state;
    assert_int_equal(store_schema_latest(), 3);
    make_v2_store(e->path, 12);
    /* Readers do not migrate; the v2 chain verifies as it is once migrated. */
    store *s = NULL;
    char err[512];
    assert_int_equal(store_open(e->path, STORE_READ, &s, err, sizeof err), STORE_ERR);
    s = open_ok(e->path, STORE_WRITER);
    assert_int_equal(store_schema_version(s), 3);
    assert_int_equal(store_next_seq(s), 13);
    assert_int_equal(store_base_seq(s), 1);
    store_close(s);
    expect_ok(e->path, 12);

    /* Everything of platform sync works on the migrated records. */
    s = open_ok(e->path, STORE_WRITER);
    append_standard(s, 3);
    struct store_reject rj = {.seq = 3, .reason = "bad"};
    assert_int_equal(store_upstream_advance(s, "city", 10, &rj, 1), STORE_OK);
    struct store_backlog b;
    assert_int_equal(store_upstream_backlog(s, "city", &b), STORE_OK);
    assert_int_equal(b.records, 5);
    assert_int_equal(b.rejected, 1);
    uint64_t pruned = 0;
    assert_int_equal(store_prune(s, T0 + DAY_MS, 10, &pruned), STORE_OK);
    assert_int_equal(pruned, 10);
    struct batch bt = {0};
    assert_int_equal(store_read_batch(s, 0, 10, 1 << 20, batch_fn, &bt), STORE_OK);
    assert_int_equal(bt.n, 5);
    check_consecutive(&bt, 11);
    struct store_remote_finding f = finding("豫B67890", T0, "gw-9", 1, POLLUTANT_NO);
    assert_int_equal(store_remote_findings_add(s, "province", &f, 1, "c"), 1);
    struct history h;
    assert_int_equal(store_history(s, "豫B67890", T0 - DAY_MS, &h), STORE_OK);
    assert_true(h.findings >= 1);
    store_close(s);
    expect_ok(e->path, 5);
    char msg[256];
    assert_int_not_equal(raw_exec(e->path, "DELETE FROM records", msg, sizeof msg), SQLITE_OK);
}

/* ---- full disks ---- */

/* What must not change when an operation fails. */
struct snap {
    uint64_t cursor;
    uint64_t rejected;
    int64_t retry_attempts;
    int64_t findings;
    char remote_cursor[64];
    int64_t exemptions;
    uint64_t base;
    uint64_t records;
};

static void take_snap(const char *path, struct snap *sn)
{
    memset(sn, 0, sizeof *sn);
    store *s = open_ok(path, STORE_READ);
    struct store_backlog b;
    assert_int_equal(store_upstream_cursor(s, "city", &sn->cursor), STORE_OK);
    assert_int_equal(store_upstream_backlog(s, "city", &b), STORE_OK);
    sn->rejected = b.rejected;
    sn->retry_attempts =
        query_int(s, "SELECT coalesce(sum(attempts), 0) FROM upstream_rejects WHERE final = 0");
    sn->findings = query_int(s, "SELECT count(*) FROM remote_findings");
    assert_true(store_remote_cursor(s, "province", sn->remote_cursor, sizeof sn->remote_cursor) >=
                0);
    sn->exemptions = query_int(s, "SELECT count(*) FROM platform_exemptions");
    sn->base = store_base_seq(s);
    sn->records = (uint64_t)query_int(s, "SELECT count(*) FROM records");
    struct store_verify_result r;
    assert_int_equal(store_verify(s, &r, NULL, NULL), STORE_OK);
    if (!r.ok)
        fail_msg("verify: %s", r.reason);
    store_close(s);
}

static bool snap_equal(const struct snap *a, const struct snap *b)
{
    return a->cursor == b->cursor && a->rejected == b->rejected &&
           a->retry_attempts == b->retry_attempts && a->findings == b->findings &&
           strcmp(a->remote_cursor, b->remote_cursor) == 0 && a->exemptions == b->exemptions &&
           a->base == b->base && a->records == b->records;
}

/* Each operation changes something every time it succeeds (round n). */
static int op_advance(store *s, int n)
{
    (void)n;
    uint64_t cur = 0;
    store_upstream_cursor(s, "city", &cur);
    struct store_reject rj = {.seq = cur + 1, .reason = "rejected"};
    return store_upstream_advance(s, "city", cur + 2, &rj, 1);
}

static int op_retry(store *s, int n)
{
    (void)n;
    int rc = store_upstream_note_retry(s, "city", 400, "overload");
    return rc > 0 ? STORE_OK : rc;
}

static int op_findings(store *s, int n)
{
    struct store_remote_finding f[20];
    for (int i = 0; i < 20; i++)
        f[i] = finding(i % 2 ? "豫A12345" : "冀B67890", T0 + 2 * DAY_MS - i * 1000, "gw-hebei-7",
                       (uint64_t)(n * 100 + i + 1), POLLUTANT_NO);
    char cursor[32];
    snprintf(cursor, sizeof cursor, "page-%d", n);
    int rc = store_remote_findings_add(s, "province", f, 20, cursor);
    return rc > 0 ? STORE_OK : rc;
}

static int op_exemptions(store *s, int n)
{
    struct store_exempt_plate list[10];
    for (int i = 0; i <= n % 9; i++) {
        char plate[16];
        snprintf(plate, sizeof plate, "豫A%05d", i);
        list[i] = exempt(plate, EXEMPT_EMERGENCY, 0);
    }
    return store_platform_exemptions_set(s, list, (size_t)(n % 9) + 1);
}

/* Findings are newer than the horizon: only records go. */
static int op_prune(store *s, int n)
{
    (void)n;
    uint64_t pruned = 0, delivered = 0;
    int rc = store_upstream_cursor(s, "city", &delivered);
    if (rc == STORE_OK)
        rc = store_prune(s, T0 + DAY_MS, delivered, &pruned);
    return rc == STORE_OK && pruned == 0 ? -100 : rc;
}

struct fault_op {
    const char *name;
    int (*run)(store *s, int n);
};

struct fault_kind {
    const char *name;
    unsigned ops;
    int error;
    bool persistent;
    int expect;
};

/* Fail write or fsync number 1, 2, 3, ... of the operation until it no longer reaches the
 * fault: each failure returns the expected code and leaves every table as it was. */
static void run_faults(struct env *e, const struct fault_op *op, const struct fault_kind *k,
                       int *round)
{
    int n = 1;
    for (;; n++) {
        assert_true(n < 300);
        struct snap before, after;
        take_snap(e->path, &before);
        store *s = open_vfs(e->path, STORE_WRITER, e->fv.name);
        faultvfs_arm(&e->fv, k->ops, n, k->persistent, k->error);
        int rc = op->run(s, *round);
        int injected = e->fv.injected;
        faultvfs_disarm(&e->fv);
        if (injected == 0) {
            if (rc != STORE_OK)
                fail_msg("%s, %s: unfaulted: %d %s", op->name, k->name, rc, store_errmsg(s));
            store_close(s);
            (*round)++;
            take_snap(e->path, &after);
            assert_false(snap_equal(&before, &after));
            break;
        }
        if (rc != k->expect)
            fail_msg("%s, %s, call %d: got %d (%s), expected %d", op->name, k->name, n, rc,
                     store_errmsg(s), k->expect);
        assert_non_null(strstr(store_errmsg(s), e->path));
        store_close(s);
        take_snap(e->path, &after);
        if (!snap_equal(&before, &after))
            fail_msg("%s, %s, call %d: the failed operation left changes behind", op->name, k->name,
                     n);
    }
    assert_true(n > 1);
    print_message("%s, %s: %d fault points\n", op->name, k->name, n - 1);
}

static void test_sync_faults(void **state)
{
    static const struct fault_op ops[] = {
        {"advance", op_advance},       {"retry", op_retry}, {"findings", op_findings},
        {"exemptions", op_exemptions}, {"prune", op_prune},
    };
    static const struct fault_kind kinds[] = {
        {"disk full", FAULT_WRITE, SQLITE_FULL, false, STORE_EFULL},
        {"disk stays full", FAULT_WRITE, SQLITE_FULL, true, STORE_EFULL},
        {"write fails (EIO)", FAULT_WRITE, SQLITE_IOERR_WRITE, false, STORE_ERR},
        {"fsync fails (EIO)", FAULT_SYNC, SQLITE_IOERR_FSYNC, false, STORE_ERR},
    };
    struct env *e = *state;
    make_store(e->path, 600);
    store *s = open_ok(e->path, STORE_WRITER);
    assert_int_equal(store_upstream_advance(s, "province", 600, NULL, 0), STORE_OK);
    store_close(s);
    int round = 1;
    for (size_t o = 0; o < sizeof ops / sizeof ops[0]; o++)
        for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
            if (ops[o].run == op_prune) {
                /* Something to prune each time: the city has taken a few more. */
                s = open_ok(e->path, STORE_WRITER);
                uint64_t cur = 0;
                assert_int_equal(store_upstream_cursor(s, "city", &cur), STORE_OK);
                assert_int_equal(store_upstream_advance(s, "city", cur + 20, NULL, 0), STORE_OK);
                store_close(s);
            }
            run_faults(e, &ops[o], &kinds[k], &round);
        }
    s = open_ok(e->path, STORE_READ);
    uint64_t base = store_base_seq(s);
    store_close(s);
    assert_int_equal(base, 89); /* the city took 4 x 2 (advance) and 4 x 20 (before prune) */
    expect_ok(e->path, 601 - base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_cursor_monotonic_and_durable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rejects_listed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retry_attempts_across_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_backlog, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batches, setup, teardown),
        cmocka_unit_test_setup_teardown(test_remote_findings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_remote_history_uses_indexes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_platform_exemptions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prune_keeps_undelivered_and_recent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prune_contiguous, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prune_large, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_after_prune, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tampering_after_prune, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prune_guards, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prune_refuses_broken_chain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prune_remote_findings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrate_from_v2, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sync_faults, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
