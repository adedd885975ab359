/* SPDX-License-Identifier: MIT */
/*
 * The store under failure: every write and fsync of an append or a group
 * commit failed in turn through a fault-injecting VFS (as SQLite's own I/O
 * error tests do), and a writer process killed at random moments.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "faultvfs.h"
#include "rsgw/v1/record.pb-c.h"
#include "store.h"
#include "store_fixture.h"

#define T0 1715900000000LL

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
    assert_int_equal(faultvfs_register(&e->fv, "rsgw-faults"), SQLITE_OK);
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

static store *open_with(const char *path, enum store_mode mode, const char *vfs)
{
    store *s = NULL;
    char err[512] = "";
    int rc = store_open_vfs(path, mode, vfs, &s, err, sizeof err);
    if (rc != STORE_OK)
        fail_msg("store_open(%s): %d %s", path, rc, err);
    return s;
}

static size_t record_for(uint64_t seq, uint8_t *buf, size_t cap)
{
    static const char *const plates[] = {"豫A12345", "豫B67890", "京C24680", "沪D13579"};
    struct fixture_pass p = {.seq = seq,
                             .time_ms = T0 + (int64_t)seq * 1000,
                             .plate = plates[seq % 4],
                             .result = seq % 7 == 0 ? 2 : 1,
                             .exceeded = seq % 7 == 0 ? POLLUTANT_NO : 0,
                             .device_seq = (uint32_t)seq};
    size_t n = fixture_pass(&p, buf, cap);
    assert_true(n > 0);
    return n;
}

static int append_next(store *s)
{
    uint8_t buf[2048];
    size_t n = record_for(store_next_seq(s), buf, sizeof buf);
    return store_append(s, buf, n, NULL);
}

struct compare {
    uint64_t n;
    uint64_t bad;
};

static int compare_fn(void *ud, uint64_t seq, const uint8_t hash[32], const uint8_t *p, size_t len)
{
    struct compare *c = ud;
    uint8_t want[2048];
    (void)hash;
    size_t n = record_for(seq, want, sizeof want);
    if (n != len || memcmp(want, p, n) != 0)
        c->bad = c->bad ? c->bad : seq;
    c->n++;
    return 0;
}

/* Reopened from scratch: the chain verifies and holds exactly records 1..last, unaltered.
 * Returns "" or what is wrong (in why). Usable in a child process: no cmocka. */
static const char *store_state(const char *path, uint64_t last, char *why, size_t len)
{
    store *s = NULL;
    char err[512];
    why[0] = '\0';
    if (store_open(path, STORE_READ, &s, err, sizeof err) != STORE_OK) {
        snprintf(why, len, "reopen: %.400s", err);
        return why;
    }
    struct store_verify_result r;
    struct compare c = {0};
    struct store_query q = {0};
    if (store_verify(s, &r, NULL, NULL) != STORE_OK || !r.ok)
        snprintf(why, len, "verify: %s", r.reason);
    else if (store_records(s, &q, compare_fn, &c) != STORE_OK)
        snprintf(why, len, "records: %s", store_errmsg(s));
    else if (c.n != last || c.bad)
        snprintf(why, len, "%llu records (expected %llu), first altered %llu",
                 (unsigned long long)c.n, (unsigned long long)last, (unsigned long long)c.bad);
    store_close(s);
    return why;
}

static void check_store(const char *path, uint64_t last)
{
    char why[512];
    if (*store_state(path, last, why, sizeof why))
        fail_msg("%s", why);
}

struct fault_case {
    const char *name;
    unsigned ops;
    int error;
    bool persistent;
    int expect;
};

/* (ENOSPC reported as an I/O error cannot be faked here: SQLite does not pass the
 * errno on, so the store looks at the file system; test_real_disk_full covers it.) */
static const struct fault_case cases[] = {
    {"write fails (EIO)", FAULT_WRITE, SQLITE_IOERR_WRITE, false, STORE_ERR},
    {"write finds the disk full", FAULT_WRITE, SQLITE_FULL, false, STORE_EFULL},
    {"disk stays full", FAULT_WRITE, SQLITE_FULL, true, STORE_EFULL},
    {"fsync fails (EIO)", FAULT_SYNC, SQLITE_IOERR_FSYNC, false, STORE_ERR},
    {"fsync keeps failing", FAULT_SYNC, SQLITE_IOERR_FSYNC, true, STORE_ERR},
};

/* One append, or a commit of a group of 8, on a freshly opened store, with call n of the
 * kind fc counts failing. Returns the number of calls failed (0: the fault point lay beyond
 * the operation, which then succeeded). */
static int fault_once(struct env *e, const struct fault_case *fc, bool group, int n, uint64_t *last)
{
    const int k = group ? 8 : 1;
    store *s = open_with(e->path, STORE_WRITER, e->fv.name);
    uint64_t before = store_next_seq(s);
    assert_int_equal(before, *last + 1);
    if (group) {
        assert_int_equal(store_begin(s), STORE_OK);
        for (int i = 0; i < k; i++)
            assert_int_equal(append_next(s), STORE_OK);
    }
    faultvfs_arm(&e->fv, fc->ops, n, fc->persistent, fc->error);
    int rc = group ? store_commit(s) : append_next(s);
    int injected = e->fv.injected;
    faultvfs_disarm(&e->fv);
    if (injected == 0) {
        if (rc != STORE_OK)
            fail_msg("%s: unfaulted operation failed: %s", fc->name, store_errmsg(s));
        *last += (uint64_t)k;
        store_close(s);
        check_store(e->path, *last);
        return 0;
    }
    if (rc != fc->expect)
        fail_msg("%s, call %d%s: got %d (%s), expected %d", fc->name, n, group ? " (group)" : "",
                 rc, store_errmsg(s), fc->expect);
    assert_non_null(strstr(store_errmsg(s), e->path));
    /* Nothing of the failed change is left, in memory or on disk. */
    assert_int_equal(store_next_seq(s), before);
    store_close(s);
    check_store(e->path, *last);

    /* The fault is over: the same records go in. */
    s = open_with(e->path, STORE_WRITER, e->fv.name);
    assert_int_equal(store_next_seq(s), before);
    if (group)
        assert_int_equal(store_begin(s), STORE_OK);
    for (int i = 0; i < k; i++)
        if (append_next(s) != STORE_OK)
            fail_msg("%s: append after the fault: %s", fc->name, store_errmsg(s));
    if (group)
        assert_int_equal(store_commit(s), STORE_OK);
    *last += (uint64_t)k;
    store_close(s);
    check_store(e->path, *last);
    return injected;
}

/* Fail call 1, 2, 3, ... until the operation runs out of calls to fail. */
static void run_case(struct env *e, const struct fault_case *fc, bool group, uint64_t *last)
{
    int n = 1;
    while (fault_once(e, fc, group, n, last) > 0) {
        n++;
        assert_true(n < 500);
    }
    assert_true(n > 1); /* at least one call was failed */
    print_message("%s%s: %d fault points\n", fc->name, group ? " (group commit)" : "", n - 1);
}

static void make_base(struct env *e, uint64_t *last)
{
    store *s = open_with(e->path, STORE_WRITER, NULL);
    for (int i = 0; i < 3; i++)
        assert_int_equal(append_next(s), STORE_OK);
    store_close(s);
    *last = 3;
}

static void test_append_faults(void **state)
{
    struct env *e = *state;
    uint64_t last = 0;
    make_base(e, &last);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        run_case(e, &cases[i], false, &last);
}

static void test_group_commit_faults(void **state)
{
    struct env *e = *state;
    uint64_t last = 0;
    make_base(e, &last);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        run_case(e, &cases[i], true, &last);
}

/* A fault in the middle of a group: the group is gone, the writer can start it again. */
static void test_fault_inside_group(void **state)
{
    struct env *e = *state;
    uint64_t last = 0;
    make_base(e, &last);
    store *s = open_with(e->path, STORE_WRITER, e->fv.name);
    /* A tiny page cache makes appends spill pages to the WAL before the commit. */
    sqlite3_exec(store_db(s), "PRAGMA cache_size = 2", NULL, NULL, NULL);
    assert_int_equal(store_begin(s), STORE_OK);
    faultvfs_arm(&e->fv, FAULT_WRITE, 1, true, SQLITE_FULL);
    int rc = STORE_OK;
    for (int i = 0; i < 200 && rc == STORE_OK; i++)
        rc = append_next(s);
    faultvfs_disarm(&e->fv);
    assert_int_equal(rc, STORE_EFULL);
    assert_int_equal(store_next_seq(s), last + 1);
    assert_int_equal(store_commit(s), STORE_EINVAL); /* the group was ended */
    store_rollback(s);                               /* what a caller does anyway: harmless */
    assert_int_equal(store_begin(s), STORE_OK);
    for (int i = 0; i < 10; i++)
        assert_int_equal(append_next(s), STORE_OK);
    assert_int_equal(store_commit(s), STORE_OK);
    store_close(s);
    check_store(e->path, last + 10);
}

/* ---- a real full file system ---- */

#define SKIPPED 77 /* the child could not mount its tmpfs */

/* In a child with its own mount namespace: a 2 MiB tmpfs, filled by appending. */
static int disk_full_child(const char *dir, struct faultvfs *fv)
{
    char small[300], path[340], filler[340], why[512];
    snprintf(small, sizeof small, "%s/small", dir);
    snprintf(path, sizeof path, "%s/records.db", small);
    snprintf(filler, sizeof filler, "%s/filler", small);
    if (mkdir(small, 0755) != 0 || unshare(CLONE_NEWNS) != 0 ||
        mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
        mount("tmpfs", small, "tmpfs", 0, "size=2m") != 0)
        return SKIPPED;
    int fd = open(filler, O_CREAT | O_WRONLY, 0644);
    static const char block[4096];
    for (int i = 0; i < 128; i++) /* 512 KiB to give back later */
        if (write(fd, block, sizeof block) != (ssize_t)sizeof block)
            return 10;
    close(fd);

    store *s = NULL;
    char err[512];
    if (store_open(path, STORE_WRITER, &s, err, sizeof err) != STORE_OK) {
        fprintf(stderr, "open: %s\n", err);
        return 11;
    }
    uint64_t last = 0;
    int rc = STORE_OK;
    for (int i = 0; i < 100000 && rc == STORE_OK; i++) {
        rc = append_next(s);
        if (rc == STORE_OK)
            last++;
    }
    if (rc != STORE_EFULL || !strstr(store_errmsg(s), "disk full") || last < 20) {
        fprintf(stderr, "after %llu records: %d %s\n", (unsigned long long)last, rc,
                store_errmsg(s));
        return 12;
    }
    if (store_next_seq(s) != last + 1 || append_next(s) != STORE_EFULL)
        return 13;
    store_close(s);
    fprintf(stderr, "disk full after %llu records\n", (unsigned long long)last);

    /* An I/O error (no ENOSPC in sight) on this full file system also counts as full. */
    if (store_open_vfs(path, STORE_WRITER, fv->name, &s, err, sizeof err) != STORE_OK)
        return 18;
    faultvfs_arm(fv, FAULT_WRITE, 1, true, SQLITE_IOERR_WRITE);
    rc = append_next(s);
    faultvfs_disarm(fv);
    if (rc != STORE_EFULL) {
        fprintf(stderr, "I/O error on a full disk: %d %s\n", rc, store_errmsg(s));
        return 19;
    }
    store_close(s);
    if (*store_state(path, last, why, sizeof why)) {
        fprintf(stderr, "while full: %s\n", why);
        return 14;
    }
    unlink(filler); /* space is back */
    if (store_open(path, STORE_WRITER, &s, err, sizeof err) != STORE_OK) {
        fprintf(stderr, "reopen: %s\n", err);
        return 15;
    }
    for (int i = 0; i < 5; i++)
        if (append_next(s) != STORE_OK) {
            fprintf(stderr, "append with space back: %s\n", store_errmsg(s));
            return 16;
        }
    store_close(s);
    if (*store_state(path, last + 5, why, sizeof why)) {
        fprintf(stderr, "after: %s\n", why);
        return 17;
    }
    return 0;
}

static void test_real_disk_full(void **state)
{
    struct env *e = *state;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(disk_full_child(e->dir, &e->fv));
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    /* The test command runs as root (deploy/dev.sh); a real full disk is not
     * something to skip quietly where it cannot be staged. */
    if (WEXITSTATUS(status) == SKIPPED)
        fail_msg("cannot stage a full disk: a private tmpfs needs root (run the tests as root)");
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* ---- crash consistency ---- */

static void child_writer(const char *path, int fd)
{
    store *s = NULL;
    char err[512];
    if (store_open(path, STORE_WRITER, &s, err, sizeof err) != STORE_OK) {
        fprintf(stderr, "child: %s\n", err);
        _exit(3);
    }
    for (unsigned i = 0;; i++) {
        uint64_t first = store_next_seq(s);
        int group = i % 3 == 0 ? 5 : 1;
        int rc = group > 1 ? store_begin(s) : STORE_OK;
        for (int g = 0; g < group && rc == STORE_OK; g++)
            rc = append_next(s);
        if (rc == STORE_OK && group > 1)
            rc = store_commit(s);
        if (rc != STORE_OK) {
            fprintf(stderr, "child: %s\n", store_errmsg(s));
            _exit(4);
        }
        /* Acknowledged: only now may the world hear of these records. */
        for (uint64_t seq = first; seq < first + (uint64_t)group; seq++)
            if (write(fd, &seq, sizeof seq) != (ssize_t)sizeof seq)
                _exit(5);
    }
}

static void test_crash_consistency(void **state)
{
    struct env *e = *state;
    uint64_t last = 0;
    make_base(e, &last);
    unsigned seed = (unsigned)time(NULL);
    print_message("crash rounds: seed %u\n", seed);
    uint64_t reported = last;
    for (int round = 0; round < 20; round++) {
        int fds[2];
        assert_int_equal(pipe(fds), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(fds[0]);
            child_writer(e->path, fds[1]);
        }
        close(fds[1]);
        useconds_t delay_us = 5000 + (useconds_t)(rand_r(&seed) % 150000);
        usleep(delay_us);
        kill(pid, SIGKILL);
        int status = 0;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        if (!WIFSIGNALED(status))
            fail_msg("round %d: the writer exited by itself (status %d)", round, status);
        uint64_t seq;
        ssize_t got;
        while ((got = read(fds[0], &seq, sizeof seq)) == (ssize_t)sizeof seq) {
            assert_int_equal(seq, reported + 1);
            reported = seq;
        }
        close(fds[0]);

        store *s = open_with(e->path, STORE_READ, NULL);
        struct store_stats st;
        assert_int_equal(store_get_stats(s, &st), STORE_OK);
        store_close(s);
        if (st.last_seq < reported)
            fail_msg("round %d: record %llu was acknowledged but the store ends at %llu", round,
                     (unsigned long long)reported, (unsigned long long)st.last_seq);
        /* At most the group being committed when the writer died got in unreported. */
        assert_true(st.last_seq <= reported + 5);
        check_store(e->path, st.last_seq);
        reported = st.last_seq;
    }
    print_message("crash rounds: %llu records\n", (unsigned long long)reported);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_append_faults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_commit_faults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fault_inside_group, setup, teardown),
        cmocka_unit_test_setup_teardown(test_real_disk_full, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crash_consistency, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
