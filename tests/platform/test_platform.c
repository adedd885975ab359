/* SPDX-License-Identifier: MIT */
/*
 * The reference platform as a process: started on loopback with a scratch
 * database, spoken to over HTTP with libcurl, stopped with SIGTERM (and it
 * must then exit 0, which also means no sanitizer report).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "rsgw/platform/v1/platform.pb-c.h"
#include "rsgw/v1/record.pb-c.h"

#define TOKEN "s3cret"

/* ---- the server process ---- */

struct server {
    pid_t pid;
    unsigned port;
    char dir[64];
    const char *token;
};

/* Start on a fresh scratch directory, or on s->dir's database when reuse. */
static int server_launch(struct server *s, const char *token, const char *const *extra, bool reuse)
{
    if (!reuse) {
        memset(s, 0, sizeof *s);
        snprintf(s->dir, sizeof s->dir, "/tmp/rsgw-platform-test-XXXXXX");
        if (!mkdtemp(s->dir))
            return -1;
    }
    s->token = token;
    s->port = 0;
    char db[128];
    snprintf(db, sizeof db, "%s/platform.db", s->dir);
    const char *argv[32] = {RSGW_PLATFORM_BIN, "--listen", "127.0.0.1:0", "--db", db};
    int argc = 5;
    if (token) {
        argv[argc++] = "--token";
        argv[argc++] = token;
    }
    for (; extra && *extra && argc < 30; extra++)
        argv[argc++] = *extra;
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    s->pid = fork();
    if (s->pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        close(fds[1]);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(fds[1]);
    char line[128] = "";
    size_t len = 0;
    while (len < sizeof line - 1 && !strchr(line, '\n')) {
        struct pollfd p = {.fd = fds[0], .events = POLLIN};
        if (poll(&p, 1, 15000) <= 0)
            break;
        ssize_t n = read(fds[0], line + len, sizeof line - 1 - len);
        if (n <= 0)
            break;
        len += (size_t)n;
        line[len] = '\0';
    }
    close(fds[0]);
    const char *colon = strrchr(line, ':');
    if (strncmp(line, "listening on 127.0.0.1:", 23) != 0 || !colon)
        return -1;
    s->port = (unsigned)strtoul(colon + 1, NULL, 10);
    return s->port ? 0 : -1;
}

static int server_start(struct server *s, const char *token, const char *const *extra)
{
    return server_launch(s, token, extra, false);
}

/* SIGTERM; the exit status (0 expected), or -1 when it did not stop in 10 s. */
static int server_kill(struct server *s)
{
    int status = -1;
    kill(s->pid, SIGTERM);
    for (int i = 0; i < 1000; i++) {
        pid_t r = waitpid(s->pid, &status, WNOHANG);
        if (r == s->pid)
            break;
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
        status = -1;
    }
    if (status == -1) {
        kill(s->pid, SIGKILL);
        waitpid(s->pid, NULL, 0);
    }
    return status == -1 ? -1 : WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Stop and remove the scratch directory. */
static int server_stop(struct server *s)
{
    int rc = server_kill(s);
    char path[160];
    const char *const files[] = {"platform.db", "platform.db-wal", "platform.db-shm"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", s->dir, files[i]);
        unlink(path);
    }
    rmdir(s->dir);
    return rc;
}

/* ---- HTTP ---- */

struct resp {
    CURLcode rc;
    long status;
    char *body;
    size_t len;
    char etag[128];
    char retry_after[32];
    char content_encoding[32];
    char www_auth[64];
    double seconds;
};

struct opts {
    long timeout_ms;
    bool no_auth;
    bool accept_gzip;
    const char *const *headers; /* NULL-terminated */
};

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    struct resp *r = ud;
    char *b = realloc(r->body, r->len + size * n + 1);
    assert_non_null(b);
    memcpy(b + r->len, p, size * n);
    r->body = b;
    r->len += size * n;
    r->body[r->len] = '\0';
    return size * n;
}

static void keep_header(const char *line, size_t len, const char *name, char *out, size_t outlen)
{
    size_t n = strlen(name);
    if (len <= n || strncasecmp(line, name, n) != 0)
        return;
    const char *v = line + n;
    size_t vl = len - n;
    while (vl && (*v == ' '))
        v++, vl--;
    while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n'))
        vl--;
    snprintf(out, outlen, "%.*s", (int)vl, v);
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    struct resp *r = ud;
    keep_header(p, size * n, "ETag:", r->etag, sizeof r->etag);
    keep_header(p, size * n, "Retry-After:", r->retry_after, sizeof r->retry_after);
    keep_header(p, size * n, "Content-Encoding:", r->content_encoding, sizeof r->content_encoding);
    keep_header(p, size * n, "WWW-Authenticate:", r->www_auth, sizeof r->www_auth);
    return size * n;
}

static void resp_free(struct resp *r)
{
    free(r->body);
    memset(r, 0, sizeof *r);
}

static void http(const struct server *s, const char *method, const char *path, const void *body,
                 size_t len, const char *content_type, const struct opts *o, struct resp *r)
{
    static const struct opts none = {0};
    if (!o)
        o = &none;
    memset(r, 0, sizeof *r);
    CURL *c = curl_easy_init();
    assert_non_null(c);
    char url[512];
    snprintf(url, sizeof url, "http://127.0.0.1:%u%s", s->port, path);
    struct curl_slist *h = NULL;
    char line[256];
    if (s->token && !o->no_auth) {
        snprintf(line, sizeof line, "Authorization: Bearer %s", s->token);
        h = curl_slist_append(h, line);
    }
    if (content_type) {
        snprintf(line, sizeof line, "Content-Type: %s", content_type);
        h = curl_slist_append(h, line);
    }
    h = curl_slist_append(h, "Expect:");
    for (const char *const *x = o->headers; x && *x; x++)
        h = curl_slist_append(h, *x);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, o->timeout_ms ? o->timeout_ms : 20000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if (o->accept_gzip)
        curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "gzip");
    if (body || strcmp(method, "POST") == 0) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "");
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    }
    if (strcmp(method, "GET") == 0)
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    r->rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_easy_getinfo(c, CURLINFO_TOTAL_TIME, &r->seconds);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
}

/* An admin request (form body); asserts 200 and returns the answer text. */
static void admin(const struct server *s, const char *method, const char *path, const char *form,
                  struct resp *r)
{
    http(s, method, path, form, form ? strlen(form) : 0,
         form ? "application/x-www-form-urlencoded" : NULL, NULL, r);
    assert_int_equal(r->rc, CURLE_OK);
    if (r->status != 200)
        fail_msg("%s %s %s: %ld %s", method, path, form ? form : "", r->status,
                 r->body ? r->body : "");
}

static void admin_ok(const struct server *s, const char *method, const char *path, const char *form)
{
    struct resp r;
    admin(s, method, path, form, &r);
    resp_free(&r);
}

/* ---- records and batches ---- */

#define CHAIN_MAX 128

/* A gateway's chain as the test builds it: hash[seq], hash[0] = zeros. */
struct chain {
    const char *gw;
    uint8_t hash[CHAIN_MAX][32];
};

struct urec {
    uint64_t seq;
    uint8_t *payload;
    size_t len;
    uint8_t hash[32], prev[32];
};

static void sha_chain(const uint8_t prev[32], const uint8_t *p, size_t len, uint8_t out[32])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned int n = 0;
    assert_non_null(md);
    assert_int_equal(EVP_DigestInit_ex2(md, EVP_sha256(), NULL), 1);
    EVP_DigestUpdate(md, prev, 32);
    if (len)
        EVP_DigestUpdate(md, p, len);
    EVP_DigestFinal_ex(md, out, &n);
    EVP_MD_CTX_free(md);
}

/* A pass record; over: over the standard (a finding when it has a plate). */
static void make_payload(const char *gw, uint64_t seq, bool over, const char *plate,
                         const char *variant, struct urec *u)
{
    Rsgw__V1__Record rec = RSGW__V1__RECORD__INIT;
    Rsgw__V1__Pass pass = RSGW__V1__PASS__INIT;
    Rsgw__V1__Vehicle veh = RSGW__V1__VEHICLE__INIT;
    Rsgw__V1__Verdict verdict = RSGW__V1__VERDICT__INIT;
    Rsgw__V1__Measurement m = RSGW__V1__MEASUREMENT__INIT;
    char *exceeded[] = {"opacity", "NO"};
    rec.has_seq = 1;
    rec.seq = seq;
    rec.has_time_ms = 1;
    rec.time_ms = 1767225600000 + (int64_t)seq * 1000;
    rec.gateway_id = (char *)gw;
    rec.checkpoint = "cp-north";
    rec.body_case = RSGW__V1__RECORD__BODY_PASS;
    rec.pass = &pass;
    pass.vehicle = &veh;
    pass.verdict = &verdict;
    pass.measurement = &m;
    m.lane = "L1";
    m.device_id = (char *)(variant ? variant : "rsu-1");
    veh.plate = (char *)(plate ? plate : "");
    verdict.has_result = 1;
    verdict.result = over ? RSGW__V1__RESULT__RESULT_OVER_STANDARD : RSGW__V1__RESULT__RESULT_PASS;
    if (over) {
        verdict.exceeded = exceeded;
        verdict.n_exceeded = 2;
    }
    u->seq = seq;
    u->len = rsgw__v1__record__get_packed_size(&rec);
    u->payload = malloc(u->len);
    assert_non_null(u->payload);
    rsgw__v1__record__pack(&rec, u->payload);
}

/* The next link of c: payload for seq, chained on c's hash of seq - 1. */
static void make_rec(struct chain *c, uint64_t seq, bool over, const char *plate, struct urec *u)
{
    assert_true(seq > 0 && seq < CHAIN_MAX);
    make_payload(c->gw, seq, over, plate, NULL, u);
    memcpy(u->prev, c->hash[seq - 1], 32);
    sha_chain(u->prev, u->payload, u->len, u->hash);
    memcpy(c->hash[seq], u->hash, 32);
}

static void urecs_free(struct urec *u, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(u[i].payload);
}

static uint8_t *pack_batch(const char *gw, const struct urec *u, size_t n, uint64_t base,
                           size_t *len)
{
    Rsgw__Platform__V1__UploadBatch b = RSGW__PLATFORM__V1__UPLOAD_BATCH__INIT;
    Rsgw__Platform__V1__UploadRecord items[CHAIN_MAX], *ptrs[CHAIN_MAX];
    assert_true(n <= CHAIN_MAX);
    for (size_t i = 0; i < n; i++) {
        rsgw__platform__v1__upload_record__init(&items[i]);
        items[i].has_seq = 1;
        items[i].seq = u[i].seq;
        items[i].has_payload = 1;
        items[i].payload.data = u[i].payload;
        items[i].payload.len = u[i].len;
        items[i].has_hash = 1;
        items[i].hash.data = (uint8_t *)u[i].hash;
        items[i].hash.len = 32;
        items[i].has_prev_hash = 1;
        items[i].prev_hash.data = (uint8_t *)u[i].prev;
        items[i].prev_hash.len = 32;
        ptrs[i] = &items[i];
    }
    b.gateway_id = (char *)gw;
    b.records = ptrs;
    b.n_records = n;
    if (base) {
        b.has_chain_base_seq = 1;
        b.chain_base_seq = base;
    }
    *len = rsgw__platform__v1__upload_batch__get_packed_size(&b);
    uint8_t *out = malloc(*len ? *len : 1);
    assert_non_null(out);
    rsgw__platform__v1__upload_batch__pack(&b, out);
    return out;
}

static void post_batch(const struct server *s, const char *gw, const struct urec *u, size_t n,
                       uint64_t base, const struct opts *o, struct resp *r)
{
    size_t len;
    uint8_t *body = pack_batch(gw, u, n, base, &len);
    char path[128];
    snprintf(path, sizeof path, "/v1/gateways/%s/records", gw);
    http(s, "POST", path, body, len, "application/x-protobuf", o, r);
    free(body);
}

/* Upload and decode the UploadAck (asserting 200). */
static Rsgw__Platform__V1__UploadAck *upload(const struct server *s, const char *gw,
                                             const struct urec *u, size_t n, uint64_t base)
{
    struct resp r;
    post_batch(s, gw, u, n, base, NULL, &r);
    assert_int_equal(r.rc, CURLE_OK);
    assert_int_equal(r.status, 200);
    Rsgw__Platform__V1__UploadAck *ack =
        rsgw__platform__v1__upload_ack__unpack(NULL, r.len, (const uint8_t *)r.body);
    assert_non_null(ack);
    resp_free(&r);
    return ack;
}

static void assert_ack(const Rsgw__Platform__V1__UploadAck *ack, size_t i, uint64_t seq,
                       Rsgw__Platform__V1__AckStatus status, const char *reason_word)
{
    assert_true(i < ack->n_acks);
    assert_int_equal(ack->acks[i]->seq, seq);
    if (ack->acks[i]->status != status)
        fail_msg("seq %llu: status %d, expected %d (%s)", (unsigned long long)seq,
                 (int)ack->acks[i]->status, (int)status,
                 ack->acks[i]->reason ? ack->acks[i]->reason : "");
    if (reason_word) {
        assert_non_null(ack->acks[i]->reason);
        assert_memory_equal(ack->acks[i]->reason, reason_word, strlen(reason_word));
    }
}

static void ack_free(Rsgw__Platform__V1__UploadAck *ack)
{
    rsgw__platform__v1__upload_ack__free_unpacked(ack, NULL);
}

/* The stored seqs of a gateway, as the admin dump gives them. */
static void assert_seqs(const struct server *s, const char *gw, const char *want)
{
    char path[128];
    snprintf(path, sizeof path, "/admin/gateways/%s/seqs", gw);
    struct resp r;
    admin(s, "GET", path, NULL, &r);
    assert_string_equal(r.body ? r.body : "", want);
    resp_free(&r);
}

static Rsgw__Platform__V1__Error *error_body(const struct resp *r)
{
    Rsgw__Platform__V1__Error *e =
        rsgw__platform__v1__error__unpack(NULL, r->len, (const uint8_t *)r->body);
    assert_non_null(e);
    assert_non_null(e->code);
    return e;
}

static void assert_error(const struct resp *r, long status, const char *code)
{
    assert_int_equal(r->rc, CURLE_OK);
    assert_int_equal(r->status, status);
    Rsgw__Platform__V1__Error *e = error_body(r);
    assert_string_equal(e->code, code);
    rsgw__platform__v1__error__free_unpacked(e, NULL);
}

#define ACCEPTED  RSGW__PLATFORM__V1__ACK_STATUS__ACK_ACCEPTED
#define DUPLICATE RSGW__PLATFORM__V1__ACK_STATUS__ACK_DUPLICATE
#define REJECTED  RSGW__PLATFORM__V1__ACK_STATUS__ACK_REJECTED
#define RETRY     RSGW__PLATFORM__V1__ACK_STATUS__ACK_RETRY

/* ---- tests on the shared server ---- */

static int group_setup(void **state)
{
    static struct server s;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (server_start(&s, TOKEN, NULL) != 0)
        return -1;
    *state = &s;
    return 0;
}

static int group_teardown(void **state)
{
    int rc = server_stop(*state);
    curl_global_cleanup();
    if (rc != 0)
        fprintf(stderr, "rsgw-platform exited with %d\n", rc);
    return rc == 0 ? 0 : -1;
}

static void test_upload_accept_then_duplicate(void **state)
{
    struct server *s = *state;
    struct chain c = {.gw = "gw-acc"};
    struct urec u[3];
    for (int i = 0; i < 3; i++)
        make_rec(&c, (uint64_t)i + 1, false, "京A12345", &u[i]);
    Rsgw__Platform__V1__UploadAck *ack = upload(s, c.gw, u, 3, 0);
    assert_int_equal(ack->n_acks, 3);
    for (int i = 0; i < 3; i++)
        assert_ack(ack, (size_t)i, (uint64_t)i + 1, ACCEPTED, NULL);
    assert_int_equal(ack->platform_head_seq, 3);
    ack_free(ack);

    ack = upload(s, c.gw, u, 3, 0);
    for (int i = 0; i < 3; i++)
        assert_ack(ack, (size_t)i, (uint64_t)i + 1, DUPLICATE, NULL);
    assert_int_equal(ack->platform_head_seq, 3);
    ack_free(ack);
    assert_seqs(s, c.gw, "1\n2\n3\n");
    urecs_free(u, 3);
}

static void test_conflicting_hash_is_rejected(void **state)
{
    struct server *s = *state;
    struct chain c = {.gw = "gw-conflict"};
    struct urec u[2], other;
    make_rec(&c, 1, false, "京A1", &u[0]);
    make_rec(&c, 2, false, "京A2", &u[1]);
    ack_free(upload(s, c.gw, u, 2, 0));
    /* Another record 2, correctly chained on 1: evidence is never overwritten. */
    make_payload(c.gw, 2, true, "京A2", "rsu-edited", &other);
    memcpy(other.prev, c.hash[1], 32);
    sha_chain(other.prev, other.payload, other.len, other.hash);
    Rsgw__Platform__V1__UploadAck *ack = upload(s, c.gw, &other, 1, 0);
    assert_ack(ack, 0, 2, REJECTED, "conflict");
    ack_free(ack);
    ack = upload(s, c.gw, &u[1], 1, 0);
    assert_ack(ack, 0, 2, DUPLICATE, NULL);
    ack_free(ack);
    urecs_free(u, 2);
    urecs_free(&other, 1);
}

static void test_gap_is_retried_then_filled(void **state)
{
    struct server *s = *state;
    struct chain c = {.gw = "gw-gap"};
    struct urec u[3];
    for (int i = 0; i < 3; i++)
        make_rec(&c, (uint64_t)i + 1, false, "京B1", &u[i]);
    ack_free(upload(s, c.gw, u, 1, 0));
    Rsgw__Platform__V1__UploadAck *ack = upload(s, c.gw, &u[2], 1, 0);
    assert_ack(ack, 0, 3, RETRY, "gap");
    assert_int_equal(ack->platform_head_seq, 1);
    ack_free(ack);
    assert_seqs(s, c.gw, "1\n");
    ack = upload(s, c.gw, &u[1], 2, 0);
    assert_ack(ack, 0, 2, ACCEPTED, NULL);
    assert_ack(ack, 1, 3, ACCEPTED, NULL);
    assert_int_equal(ack->platform_head_seq, 3);
    ack_free(ack);
    urecs_free(u, 3);
}

static void test_bad_hash_rejected_chain_continues(void **state)
{
    struct server *s = *state;
    struct chain c = {.gw = "gw-badhash"};
    struct urec u[4];
    for (int i = 0; i < 4; i++)
        make_rec(&c, (uint64_t)i + 1, false, "京C1", &u[i]);
    u[1].payload[u[1].len - 1] ^= 1; /* record 2 altered after hashing */
    memset(u[3].prev, 0x55, 32);     /* record 4 chained on something else */
    sha_chain(u[3].prev, u[3].payload, u[3].len, u[3].hash);
    Rsgw__Platform__V1__UploadAck *ack = upload(s, c.gw, u, 4, 0);
    assert_int_equal(ack->n_acks, 4);
    assert_ack(ack, 0, 1, ACCEPTED, NULL);
    assert_ack(ack, 1, 2, REJECTED, "bad_hash");
    assert_ack(ack, 2, 3, ACCEPTED, NULL); /* chained on the rejected record's hash */
    assert_ack(ack, 3, 4, REJECTED, "chain_conflict");
    ack_free(ack);
    assert_seqs(s, c.gw, "1\n3\n");
    struct resp r;
    admin(s, "GET", "/admin/gateways/gw-badhash/rejects", NULL, &r);
    assert_non_null(strstr(r.body, "2 bad_hash"));
    assert_non_null(strstr(r.body, "4 chain_conflict"));
    resp_free(&r);
    urecs_free(u, 4);
}

static void test_payload_must_be_the_record(void **state)
{
    struct server *s = *state;
    struct chain c = {.gw = "gw-payload"};
    struct urec u[3];
    make_rec(&c, 1, false, "京D1", &u[0]);
    /* 2: hashes fine but is not a Record; 3: a Record claiming seq 9. */
    u[1].seq = 2;
    u[1].len = 4;
    u[1].payload = malloc(4);
    memcpy(u[1].payload, "\xff\xff\xff\xff", 4);
    memcpy(u[1].prev, c.hash[1], 32);
    sha_chain(u[1].prev, u[1].payload, 4, u[1].hash);
    memcpy(c.hash[2], u[1].hash, 32);
    make_payload(c.gw, 9, false, "京D1", NULL, &u[2]);
    u[2].seq = 3;
    memcpy(u[2].prev, c.hash[2], 32);
    sha_chain(u[2].prev, u[2].payload, u[2].len, u[2].hash);
    Rsgw__Platform__V1__UploadAck *ack = upload(s, c.gw, u, 3, 0);
    assert_ack(ack, 0, 1, ACCEPTED, NULL);
    assert_ack(ack, 1, 2, REJECTED, "bad_payload");
    assert_ack(ack, 2, 3, REJECTED, "seq_mismatch");
    ack_free(ack);
    urecs_free(u, 3);
}

static void test_chain_base_after_pruning(void **state)
{
    struct server *s = *state;
    struct chain c = {.gw = "gw-pruned"};
    struct urec u[2];
    for (uint64_t seq = 1; seq <= 51; seq++) {
        struct urec tmp;
        make_rec(&c, seq, false, "京E1", &tmp);
        if (seq >= 50)
            u[seq - 50] = tmp;
        else
            free(tmp.payload);
    }
    Rsgw__Platform__V1__UploadAck *ack = upload(s, c.gw, u, 2, 0);
    assert_ack(ack, 0, 50, RETRY, "gap");
    ack_free(ack);
    ack = upload(s, c.gw, u, 2, 50);
    assert_ack(ack, 0, 50, ACCEPTED, NULL);
    assert_ack(ack, 1, 51, ACCEPTED, NULL);
    assert_int_equal(ack->platform_head_seq, 51);
    ack_free(ack);
    urecs_free(u, 2);
}

static void test_gzip_request_and_answer(void **state)
{
    struct server *s = *state;
    struct chain c = {.gw = "gw-gzip"};
    struct urec u[2];
    make_rec(&c, 1, true, "京F1", &u[0]);
    make_rec(&c, 2, false, "京F1", &u[1]);
    size_t len;
    uint8_t *plain = pack_batch(c.gw, u, 2, 0, &len);
    z_stream z = {0};
    assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY), Z_OK);
    uint8_t gz[4096];
    z.next_in = plain;
    z.avail_in = (uInt)len;
    z.next_out = gz;
    z.avail_out = sizeof gz;
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    size_t gzlen = sizeof gz - z.avail_out;
    deflateEnd(&z);
    const char *const hdr[] = {"Content-Encoding: gzip", NULL};
    struct opts o = {.headers = hdr};
    struct resp r;
    http(s, "POST", "/v1/gateways/gw-gzip/records", gz, gzlen, "application/x-protobuf", &o, &r);
    assert_int_equal(r.status, 200);
    Rsgw__Platform__V1__UploadAck *ack =
        rsgw__platform__v1__upload_ack__unpack(NULL, r.len, (const uint8_t *)r.body);
    assert_non_null(ack);
    assert_ack(ack, 1, 2, ACCEPTED, NULL);
    ack_free(ack);
    resp_free(&r);

    /* Truncated gzip is malformed. */
    http(s, "POST", "/v1/gateways/gw-gzip/records", gz, gzlen / 2, "application/x-protobuf", &o,
         &r);
    assert_error(&r, 400, "malformed");
    resp_free(&r);

    /* A small body that inflates past 16 MiB is refused, not inflated. */
    size_t bomb_len = 17u * 1024 * 1024;
    uint8_t *zeros = calloc(1, bomb_len), *bomb = malloc(64 * 1024);
    assert_non_null(zeros);
    assert_non_null(bomb);
    assert_int_equal(deflateInit2(&z, 9, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY), Z_OK);
    z.next_in = zeros;
    z.avail_in = (uInt)bomb_len;
    z.next_out = bomb;
    z.avail_out = 64 * 1024;
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    size_t bomb_gz = 64 * 1024 - z.avail_out;
    deflateEnd(&z);
    http(s, "POST", "/v1/gateways/gw-gzip/records", bomb, bomb_gz, "application/x-protobuf", &o,
         &r);
    assert_error(&r, 413, "body_too_large");
    resp_free(&r);
    free(zeros);
    free(bomb);

    /* Answers are gzip when the client accepts it (curl decodes). */
    struct opts g = {.accept_gzip = true};
    http(s, "GET", "/v1/findings?limit=1000", NULL, 0, NULL, &g, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.content_encoding, "gzip");
    Rsgw__Platform__V1__FindingsPage *page =
        rsgw__platform__v1__findings_page__unpack(NULL, r.len, (const uint8_t *)r.body);
    assert_non_null(page);
    rsgw__platform__v1__findings_page__free_unpacked(page, NULL);
    resp_free(&r);
    free(plain);
    urecs_free(u, 2);
}

static void test_malformed_and_refused_requests(void **state)
{
    struct server *s = *state;
    struct resp r;
    http(s, "POST", "/v1/gateways/gw-bad/records", "\x0a\xff\xff", 3, "application/x-protobuf",
         NULL, &r);
    assert_error(&r, 400, "malformed");
    resp_free(&r);
    http(s, "POST", "/v1/gateways/gw-bad/records", "x", 1, "application/json", NULL, &r);
    assert_error(&r, 415, "unsupported_media_type");
    resp_free(&r);
    http(s, "POST", "/v1/gateways/bad%20id/records", "", 0, "application/x-protobuf", NULL, &r);
    assert_error(&r, 400, "bad_gateway_id");
    resp_free(&r);
    char long_path[160];
    snprintf(long_path, sizeof long_path, "/v1/gateways/%065d/policy", 7);
    http(s, "GET", long_path, NULL, 0, NULL, NULL, &r);
    assert_error(&r, 400, "bad_gateway_id");
    resp_free(&r);

    struct chain c = {.gw = "gw-bad"};
    struct urec u[2];
    make_rec(&c, 1, false, "京G1", &u[0]);
    make_rec(&c, 2, false, "京G1", &u[1]);
    post_batch(s, "gw-other", u, 1, 0, NULL, &r); /* batch says gw-other, path too */
    assert_int_equal(r.status, 200);              /* the record itself names gw-bad: */
    Rsgw__Platform__V1__UploadAck *ack =
        rsgw__platform__v1__upload_ack__unpack(NULL, r.len, (const uint8_t *)r.body);
    assert_ack(ack, 0, 1, REJECTED, "gateway_mismatch");
    ack_free(ack);
    resp_free(&r);
    size_t len;
    uint8_t *body = pack_batch("gw-other", u, 1, 0, &len);
    http(s, "POST", "/v1/gateways/gw-bad/records", body, len, "application/x-protobuf", NULL, &r);
    assert_error(&r, 400, "gateway_mismatch");
    resp_free(&r);
    free(body);
    struct urec swapped[2] = {u[1], u[0]};
    post_batch(s, c.gw, swapped, 2, 0, NULL, &r);
    assert_error(&r, 400, "batch_order");
    resp_free(&r);
    assert_seqs(s, c.gw, "");

    http(s, "GET", "/v1/nothing", NULL, 0, NULL, NULL, &r);
    assert_error(&r, 404, "not_found");
    resp_free(&r);
    http(s, "GET", "/v1/gateways/gw-bad/records", NULL, 0, NULL, NULL, &r);
    assert_error(&r, 405, "method_not_allowed");
    resp_free(&r);
    http(s, "GET", "/v1/findings?cursor=nonsense", NULL, 0, NULL, NULL, &r);
    assert_error(&r, 400, "bad_cursor");
    resp_free(&r);
    http(s, "GET", "/v1/findings?limit=x", NULL, 0, NULL, NULL, &r);
    assert_error(&r, 400, "bad_limit");
    resp_free(&r);
    urecs_free(u, 2);
}

static void test_bearer_token(void **state)
{
    struct server *s = *state;
    struct opts o = {.no_auth = true};
    struct resp r;
    http(s, "GET", "/v1/findings", NULL, 0, NULL, &o, &r);
    assert_error(&r, 401, "unauthenticated");
    assert_non_null(strstr(r.www_auth, "Bearer"));
    resp_free(&r);
    const char *const wrong[] = {"Authorization: Bearer nope", NULL};
    o.headers = wrong;
    http(s, "GET", "/v1/gateways/gw-acc/policy", NULL, 0, NULL, &o, &r);
    assert_int_equal(r.status, 401);
    resp_free(&r);
    o.headers = NULL;
    http(s, "GET", "/admin/stats", NULL, 0, NULL, &o, &r);
    assert_int_equal(r.status, 401);
    resp_free(&r);
}

static void test_batch_too_large(void **state)
{
    struct server *s = *state;
    struct chain c = {.gw = "gw-413"};
    struct urec u[3];
    for (int i = 0; i < 3; i++)
        make_rec(&c, (uint64_t)i + 1, false, "京H1", &u[i]);
    admin_ok(s, "POST", "/admin/limits", "max_batch_records=2");
    struct resp r;
    post_batch(s, c.gw, u, 3, 0, NULL, &r);
    assert_error(&r, 413, "batch_too_large");
    resp_free(&r);
    Rsgw__Platform__V1__UploadAck *ack = upload(s, c.gw, u, 2, 0); /* half goes through */
    assert_int_equal(ack->n_acks, 2);
    ack_free(ack);
    admin_ok(s, "POST", "/admin/limits", "max_batch_records=0");
    ack = upload(s, c.gw, u, 3, 0);
    assert_ack(ack, 2, 3, ACCEPTED, NULL);
    ack_free(ack);
    urecs_free(u, 3);
}

/* ---- faults ---- */

static void test_fault_partial_acks(void **state)
{
    struct server *s = *state;
    struct chain c = {.gw = "gw-partial"};
    struct urec u[3];
    for (int i = 0; i < 3; i++)
        make_rec(&c, (uint64_t)i + 1, false, "京J1", &u[i]);
    admin_ok(s, "POST", "/admin/faults", "mode=partial&k=1&on=upload");
    Rsgw__Platform__V1__UploadAck *ack = upload(s, c.gw, u, 3, 0);
    assert_int_equal(ack->n_acks, 1);
    assert_ack(ack, 0, 1, ACCEPTED, NULL);
    ack_free(ack);
    assert_seqs(s, c.gw, "1\n"); /* unmentioned records were not processed */
    ack = upload(s, c.gw, u, 3, 0);
    assert_int_equal(ack->n_acks, 3);
    assert_ack(ack, 0, 1, DUPLICATE, NULL);
    assert_ack(ack, 2, 3, ACCEPTED, NULL);
    ack_free(ack);
    urecs_free(u, 3);
}

static void test_fault_status_500_then_ok(void **state)
{
    struct server *s = *state;
    struct chain c = {.gw = "gw-500"};
    struct urec u[1];
    make_rec(&c, 1, false, "京K1", &u[0]);
    admin_ok(s, "POST", "/admin/faults", "mode=status&status=500&count=2&on=upload");
    struct resp r;
    for (int i = 0; i < 2; i++) {
        post_batch(s, c.gw, u, 1, 0, NULL, &r);
        assert_error(&r, 500, "injected");
        resp_free(&r);
    }
    assert_seqs(s, c.gw, "");
    Rsgw__Platform__V1__UploadAck *ack = upload(s, c.gw, u, 1, 0);
    assert_ack(ack, 0, 1, ACCEPTED, NULL);
    ack_free(ack);
    urecs_free(u, 1);
}

static void test_fault_429_and_503_retry_after(void **state)
{
    struct server *s = *state;
    admin_ok(s, "POST", "/admin/faults", "mode=status&status=429&retry_after=7&on=findings");
    admin_ok(s, "POST", "/admin/faults", "mode=status&status=503&retry_after=2&on=registry");
    struct resp r;
    http(s, "GET", "/v1/findings", NULL, 0, NULL, NULL, &r);
    assert_error(&r, 429, "rate_limited");
    assert_string_equal(r.retry_after, "7");
    resp_free(&r);
    http(s, "GET", "/v1/registry", NULL, 0, NULL, NULL, &r);
    assert_error(&r, 503, "unavailable");
    assert_string_equal(r.retry_after, "2");
    resp_free(&r);
    http(s, "GET", "/v1/findings", NULL, 0, NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    resp_free(&r);
}

static void test_fault_hang_times_out_client(void **state)
{
    struct server *s = *state;
    struct chain c = {.gw = "gw-hang"};
    struct urec u[1];
    make_rec(&c, 1, false, "京L1", &u[0]);
    admin_ok(s, "POST", "/admin/faults", "mode=hang&ms=3000&on=upload");
    struct opts o = {.timeout_ms = 300};
    struct resp r;
    post_batch(s, c.gw, u, 1, 0, &o, &r);
    assert_int_equal(r.rc, CURLE_OPERATION_TIMEDOUT);
    resp_free(&r);
    /* The hanging connection blocks nobody else, and nothing was stored. */
    assert_seqs(s, c.gw, "");
    Rsgw__Platform__V1__UploadAck *ack = upload(s, c.gw, u, 1, 0);
    assert_ack(ack, 0, 1, ACCEPTED, NULL);
    ack_free(ack);
    urecs_free(u, 1);
}

static void test_fault_slow_answer(void **state)
{
    struct server *s = *state;
    struct chain c = {.gw = "gw-slow"};
    struct urec u[1];
    make_rec(&c, 1, false, "京M1", &u[0]);
    admin_ok(s, "POST", "/admin/faults", "mode=slow&ms=500&on=upload");
    struct resp r;
    post_batch(s, c.gw, u, 1, 0, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_true(r.seconds >= 0.45);
    resp_free(&r);
    /* Slow stores first: a client that gave up finds its record already there. */
    admin_ok(s, "POST", "/admin/faults", "mode=slow&ms=1500&on=upload");
    urecs_free(u, 1);
    make_rec(&c, 2, false, "京M1", &u[0]);
    struct opts o = {.timeout_ms = 300};
    post_batch(s, c.gw, u, 1, 0, &o, &r);
    assert_int_equal(r.rc, CURLE_OPERATION_TIMEDOUT);
    resp_free(&r);
    assert_seqs(s, c.gw, "1\n2\n");
    urecs_free(u, 1);
}

static void test_fault_drops(void **state)
{
    struct server *s = *state;
    struct chain c = {.gw = "gw-drop"};
    struct urec u[2];
    make_rec(&c, 1, false, "京N1", &u[0]);
    make_rec(&c, 2, false, "京N1", &u[1]);
    struct resp r;
    admin_ok(s, "POST", "/admin/faults", "mode=drop_before_store");
    post_batch(s, c.gw, u, 1, 0, NULL, &r);
    assert_int_not_equal(r.rc, CURLE_OK);
    resp_free(&r);
    assert_seqs(s, c.gw, "");
    admin_ok(s, "POST", "/admin/faults", "mode=drop_after_store");
    post_batch(s, c.gw, u, 2, 0, NULL, &r);
    assert_int_not_equal(r.rc, CURLE_OK);
    resp_free(&r);
    assert_seqs(s, c.gw, "1\n2\n");
    Rsgw__Platform__V1__UploadAck *ack = upload(s, c.gw, u, 2, 0);
    assert_ack(ack, 0, 1, DUPLICATE, NULL);
    assert_ack(ack, 1, 2, DUPLICATE, NULL);
    ack_free(ack);
    urecs_free(u, 2);
}

static void test_fault_probability(void **state)
{
    struct server *s = *state;
    admin_ok(s, "POST", "/admin/faults", "mode=status&status=500&probability=0.5&on=policy");
    int errors = 0;
    for (int i = 0; i < 40; i++) {
        struct resp r;
        http(s, "GET", "/v1/gateways/gw-prob/policy", NULL, 0, NULL, NULL, &r);
        assert_true(r.status == 200 || r.status == 500);
        errors += r.status == 500;
        resp_free(&r);
    }
    assert_true(errors > 5 && errors < 35);
    struct resp r;
    admin(s, "GET", "/admin/faults", NULL, &r);
    assert_non_null(strstr(r.body, "mode=status on=policy"));
    resp_free(&r);
    admin_ok(s, "DELETE", "/admin/faults", NULL);
    admin(s, "GET", "/admin/faults", NULL, &r);
    assert_null(strstr(r.body, "mode="));
    resp_free(&r);
}

/* ---- findings, policy, registry, stats ---- */

static Rsgw__Platform__V1__FindingsPage *get_findings(const struct server *s, const char *cursor,
                                                      unsigned limit)
{
    char path[256];
    snprintf(path, sizeof path, "/v1/findings?cursor=%s&limit=%u", cursor, limit);
    struct resp r;
    http(s, "GET", path, NULL, 0, NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    Rsgw__Platform__V1__FindingsPage *p =
        rsgw__platform__v1__findings_page__unpack(NULL, r.len, (const uint8_t *)r.body);
    assert_non_null(p);
    assert_non_null(p->next_cursor);
    resp_free(&r);
    return p;
}

static void test_findings_paging(void **state)
{
    struct server *s = *state;
    struct chain c = {.gw = "gw-find"};
    struct urec u[6];
    const bool over[6] = {true, false, true, true, true, false};
    const char *plates[6] = {"冀B67890", "冀B67890", "豫A11111", NULL, "冀B67890", "豫A2"};
    for (int i = 0; i < 6; i++)
        make_rec(&c, (uint64_t)i + 1, over[i], plates[i], &u[i]);
    ack_free(upload(s, c.gw, u, 6, 0));

    /* Walk every page of 2; ours are seqs 1, 3, 5 (4 has no plate). */
    char cursor[64] = "";
    uint64_t seen[8];
    size_t n_seen = 0, pages = 0;
    for (;;) {
        Rsgw__Platform__V1__FindingsPage *p = get_findings(s, cursor, 2);
        assert_true(p->n_findings <= 2);
        pages++;
        for (size_t i = 0; i < p->n_findings; i++) {
            const Rsgw__Platform__V1__Finding *f = p->findings[i];
            if (strcmp(f->gateway_id, c.gw) != 0)
                continue;
            assert_true(n_seen < 8);
            seen[n_seen++] = f->seq;
            assert_string_equal(f->checkpoint, "cp-north");
            assert_int_equal(f->n_exceeded, 2);
            assert_string_equal(f->exceeded[0], "opacity");
            assert_true(f->judged);
            assert_string_equal(f->plate, plates[f->seq - 1]);
        }
        snprintf(cursor, sizeof cursor, "%s", p->next_cursor);
        bool more = p->more;
        if (!more)
            assert_true(p->n_findings <= 2);
        rsgw__platform__v1__findings_page__free_unpacked(p, NULL);
        if (!more)
            break;
        assert_true(pages < 1000);
    }
    assert_true(pages >= 2);
    assert_int_equal(n_seen, 3);
    assert_int_equal(seen[0], 1);
    assert_int_equal(seen[1], 3);
    assert_int_equal(seen[2], 5);

    /* At the end: empty page, same place; a new finding shows up after it. */
    Rsgw__Platform__V1__FindingsPage *p = get_findings(s, cursor, 2);
    assert_int_equal(p->n_findings, 0);
    assert_false(p->more);
    assert_string_equal(p->next_cursor, cursor);
    rsgw__platform__v1__findings_page__free_unpacked(p, NULL);
    struct urec extra;
    make_rec(&c, 7, true, "晋C99999", &extra);
    ack_free(upload(s, c.gw, &extra, 1, 0));
    p = get_findings(s, cursor, 100);
    assert_int_equal(p->n_findings, 1);
    assert_string_equal(p->findings[0]->plate, "晋C99999");
    assert_int_equal(p->findings[0]->seq, 7);
    rsgw__platform__v1__findings_page__free_unpacked(p, NULL);
    urecs_free(u, 6);
    urecs_free(&extra, 1);
}

static Rsgw__Platform__V1__PolicyUpdate *get_policy(const struct server *s, const char *gw,
                                                    const char *inm, long *status, char *etag)
{
    char path[128], hdr[160];
    snprintf(path, sizeof path, "/v1/gateways/%s/policy", gw);
    snprintf(hdr, sizeof hdr, "If-None-Match: %s", inm ? inm : "");
    const char *const hdrs[] = {hdr, NULL};
    struct opts o = {.headers = inm ? hdrs : NULL};
    struct resp r;
    http(s, "GET", path, NULL, 0, NULL, &o, &r);
    assert_int_equal(r.rc, CURLE_OK);
    *status = r.status;
    strcpy(etag, r.etag);
    Rsgw__Platform__V1__PolicyUpdate *p = NULL;
    if (r.status == 200) {
        p = rsgw__platform__v1__policy_update__unpack(NULL, r.len, (const uint8_t *)r.body);
        assert_non_null(p);
    }
    resp_free(&r);
    return p;
}

static void test_policy_etag(void **state)
{
    struct server *s = *state;
    long status;
    char e1[128], e2[128], e3[128];
    Rsgw__Platform__V1__PolicyUpdate *p = get_policy(s, "gw-pol", NULL, &status, e1);
    assert_int_equal(status, 200);
    assert_int_equal(p->alert_level, RSGW__PLATFORM__V1__ALERT_LEVEL__ALERT_NONE);
    assert_int_equal(p->n_exempt_plates, 0);
    assert_null(p->limit_set);
    assert_true(strlen(e1) > 2 && e1[0] == '"');
    char quoted[140];
    snprintf(quoted, sizeof quoted, "\"%s\"", p->version);
    assert_string_equal(e1, quoted);
    rsgw__platform__v1__policy_update__free_unpacked(p, NULL);

    p = get_policy(s, "gw-pol", e1, &status, e2);
    assert_int_equal(status, 304);
    assert_null(p);
    assert_string_equal(e2, e1);

    admin_ok(s, "POST", "/admin/policy",
             "gateway=gw-pol&alert=orange&valid_from_ms=1767225600000&for_hours=48&limit_set=b"
             "&exempt=%E5%86%80B12345:livelihood:0&exempt=%E4%BA%ACA00001:emergency:1767312000000");
    p = get_policy(s, "gw-pol", e1, &status, e2);
    assert_int_equal(status, 200);
    assert_string_not_equal(e2, e1);
    assert_int_equal(p->alert_level, RSGW__PLATFORM__V1__ALERT_LEVEL__ALERT_ORANGE);
    assert_int_equal(p->alert_valid_from_ms, 1767225600000);
    assert_int_equal(p->alert_valid_until_ms, 1767225600000 + 48 * 3600000LL);
    assert_string_equal(p->limit_set, "b");
    assert_int_equal(p->n_exempt_plates, 2);
    assert_string_equal(p->exempt_plates[0]->plate, "冀B12345");
    assert_string_equal(p->exempt_plates[0]->exemption, "livelihood");
    assert_int_equal(p->exempt_plates[1]->valid_until_ms, 1767312000000);
    rsgw__platform__v1__policy_update__free_unpacked(p, NULL);
    p = get_policy(s, "gw-pol", e2, &status, e3);
    assert_int_equal(status, 304);
    /* Another gateway keeps the default. */
    p = get_policy(s, "gw-pol-other", e1, &status, e3);
    assert_int_equal(status, 304);
    /* Clearing falls back to the default, and its version. */
    admin_ok(s, "DELETE", "/admin/policy?gateway=gw-pol", NULL);
    p = get_policy(s, "gw-pol", e1, &status, e3);
    assert_int_equal(status, 304);

    struct resp r;
    http(s, "POST", "/admin/policy", "alert=purple", 12, "application/x-www-form-urlencoded", NULL,
         &r);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body, "alert=purple"));
    resp_free(&r);
}

static Rsgw__Platform__V1__RegistryDelta *get_registry(const struct server *s, const char *cursor,
                                                       unsigned limit)
{
    char path[256];
    snprintf(path, sizeof path, "/v1/registry?cursor=%s&limit=%u", cursor, limit);
    struct resp r;
    http(s, "GET", path, NULL, 0, NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    Rsgw__Platform__V1__RegistryDelta *d =
        rsgw__platform__v1__registry_delta__unpack(NULL, r.len, (const uint8_t *)r.body);
    assert_non_null(d);
    assert_non_null(d->next_cursor);
    resp_free(&r);
    return d;
}

static void test_registry_deltas(void **state)
{
    struct server *s = *state;
    admin_ok(s, "POST", "/admin/registry",
             "plate=%E5%86%80B67890&fuel=diesel&stage=5&weight_kg=18000&class=truck&vin=LVIN1");
    admin_ok(s, "POST", "/admin/registry", "plate=R2&fuel=gasoline&stage=6&class=car");
    admin_ok(s, "POST", "/admin/registry", "plate=R3&fuel=electric&exemption=emergency");
    Rsgw__Platform__V1__RegistryDelta *d = get_registry(s, "", 2);
    assert_int_equal(d->n_upserts, 2);
    assert_true(d->more);
    assert_string_equal(d->upserts[0]->plate, "冀B67890");
    assert_string_equal(d->upserts[0]->fuel, "diesel");
    assert_int_equal(d->upserts[0]->emission_stage, 5);
    assert_int_equal(d->upserts[0]->gross_weight_kg, 18000);
    assert_string_equal(d->upserts[0]->vehicle_class, "truck");
    assert_string_equal(d->upserts[0]->vin, "LVIN1");
    char cursor[64];
    snprintf(cursor, sizeof cursor, "%s", d->next_cursor);
    rsgw__platform__v1__registry_delta__free_unpacked(d, NULL);
    d = get_registry(s, cursor, 2);
    assert_int_equal(d->n_upserts, 1);
    assert_false(d->more);
    assert_string_equal(d->upserts[0]->exemption, "emergency");
    snprintf(cursor, sizeof cursor, "%s", d->next_cursor);
    rsgw__platform__v1__registry_delta__free_unpacked(d, NULL);

    /* Deltas since the cursor: a delete and a changed vehicle, only. */
    admin_ok(s, "POST", "/admin/registry", "plate=R2&op=delete");
    admin_ok(s, "POST", "/admin/registry", "plate=R3&fuel=electric&exemption=none");
    d = get_registry(s, cursor, 100);
    assert_int_equal(d->n_deleted_plates, 1);
    assert_string_equal(d->deleted_plates[0], "R2");
    assert_int_equal(d->n_upserts, 1);
    assert_string_equal(d->upserts[0]->plate, "R3");
    assert_string_equal(d->upserts[0]->exemption, "none");
    rsgw__platform__v1__registry_delta__free_unpacked(d, NULL);

    struct resp r;
    http(s, "POST", "/admin/registry", "plate=R2&op=delete", 18,
         "application/x-www-form-urlencoded", NULL, &r);
    assert_int_equal(r.status, 404);
    resp_free(&r);
    http(s, "POST", "/admin/registry", "plate=R9&fuel=steam", 19,
         "application/x-www-form-urlencoded", NULL, &r);
    assert_int_equal(r.status, 400);
    resp_free(&r);
}

/* The JSON object of one gateway in /admin/stats. */
static void gateway_stats(const struct server *s, const char *gw, char *out, size_t len)
{
    struct resp r;
    admin(s, "GET", "/admin/stats", NULL, &r);
    char key[96];
    snprintf(key, sizeof key, "{\"gateway_id\":\"%s\"", gw);
    const char *p = strstr(r.body, key);
    assert_non_null(p);
    const char *end = strchr(p, '}');
    assert_non_null(end);
    snprintf(out, len, "%.*s", (int)(end - p + 1), p);
    resp_free(&r);
}

static void test_admin_stats(void **state)
{
    struct server *s = *state;
    struct chain c = {.gw = "gw-stats"};
    struct urec u[4];
    for (int i = 0; i < 4; i++)
        make_rec(&c, (uint64_t)i + 1, false, "京P1", &u[i]);
    ack_free(upload(s, c.gw, u, 3, 0));
    ack_free(upload(s, c.gw, u, 2, 0));     /* 2 duplicates */
    ack_free(upload(s, c.gw, &u[3], 1, 0)); /* accepted */
    char js[1024];
    gateway_stats(s, c.gw, js, sizeof js);
    assert_non_null(strstr(js, "\"records\":4,"));
    assert_non_null(strstr(js, "\"head_seq\":4,"));
    assert_non_null(strstr(js, "\"chain_ok\":true"));
    assert_non_null(strstr(js, "\"segments\":1,"));
    assert_non_null(strstr(js, "\"duplicates\":2,"));
    assert_non_null(strstr(js, "\"batches\":3,"));
    gateway_stats(s, "gw-pruned", js, sizeof js);
    assert_non_null(strstr(js, "\"first_seq\":50,"));
    struct resp r;
    admin(s, "GET", "/admin/stats", NULL, &r);
    assert_non_null(strstr(r.body, "\"faults_fired\":"));
    assert_non_null(strstr(r.body, "\"registry_vehicles\":"));
    resp_free(&r);
    urecs_free(u, 4);
}

/* ---- separate servers ---- */

static void test_client_identity_and_strict_gateways(void **state)
{
    (void)state;
    struct server s;
    const char *const extra[] = {"--require-client-cn", "--strict-gateways", "--gateway", "gw-cn",
                                 NULL};
    assert_int_equal(server_start(&s, NULL, extra), 0);
    struct resp r;
    http(&s, "GET", "/v1/gateways/gw-cn/policy", NULL, 0, NULL, NULL, &r);
    assert_error(&r, 401, "client_certificate_required");
    resp_free(&r);
    const char *const other[] = {"X-Client-CN: gw-other", NULL};
    struct opts o = {.headers = other};
    http(&s, "GET", "/v1/gateways/gw-cn/policy", NULL, 0, NULL, &o, &r);
    assert_error(&r, 403, "gateway_mismatch");
    resp_free(&r);
    const char *const sans[] = {"X-Client-CN: box-17, gw-cn", NULL};
    o.headers = sans;
    http(&s, "GET", "/v1/gateways/gw-cn/policy", NULL, 0, NULL, &o, &r);
    assert_int_equal(r.status, 200);
    resp_free(&r);
    o.headers = other;
    http(&s, "GET", "/v1/gateways/gw-other/policy", NULL, 0, NULL, &o, &r);
    assert_error(&r, 404, "unknown_gateway");
    resp_free(&r);
    admin_ok(&s, "POST", "/admin/gateways/gw-other", NULL);
    http(&s, "GET", "/v1/gateways/gw-other/policy", NULL, 0, NULL, &o, &r);
    assert_int_equal(r.status, 200);
    resp_free(&r);
    assert_int_equal(server_stop(&s), 0);
}

static void test_stops_cleanly_while_hanging(void **state)
{
    (void)state;
    struct server s;
    assert_int_equal(server_start(&s, NULL, NULL), 0);
    admin_ok(&s, "POST", "/admin/faults", "mode=hang&ms=0&count=0");
    struct opts o = {.timeout_ms = 200};
    struct resp r;
    http(&s, "GET", "/v1/findings", NULL, 0, NULL, &o, &r);
    assert_int_equal(r.rc, CURLE_OPERATION_TIMEDOUT);
    resp_free(&r);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(server_stop(&s), 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_true(t1.tv_sec - t0.tv_sec < 5);
}

static void test_database_survives_restart(void **state)
{
    (void)state;
    struct server s;
    assert_int_equal(server_start(&s, NULL, NULL), 0);
    struct chain c = {.gw = "gw-restart"};
    struct urec u[2];
    make_rec(&c, 1, false, "京Q1", &u[0]);
    make_rec(&c, 2, true, "京Q1", &u[1]);
    ack_free(upload(&s, c.gw, u, 1, 0));
    admin_ok(&s, "POST", "/admin/policy", "gateway=gw-restart&alert=red");
    long status;
    char e1[128], e2[128];
    Rsgw__Platform__V1__PolicyUpdate *p = get_policy(&s, c.gw, NULL, &status, e1);
    rsgw__platform__v1__policy_update__free_unpacked(p, NULL);
    assert_int_equal(server_kill(&s), 0);

    assert_int_equal(server_launch(&s, NULL, NULL, true), 0);
    Rsgw__Platform__V1__UploadAck *ack = upload(&s, c.gw, u, 2, 0);
    assert_ack(ack, 0, 1, DUPLICATE, NULL);
    assert_ack(ack, 1, 2, ACCEPTED, NULL);
    ack_free(ack);
    p = get_policy(&s, c.gw, e1, &status, e2);
    assert_int_equal(status, 304);
    assert_int_equal(server_stop(&s), 0);
    urecs_free(u, 2);
}

int main(void)
{
    const struct CMUnitTest shared[] = {
        cmocka_unit_test(test_upload_accept_then_duplicate),
        cmocka_unit_test(test_conflicting_hash_is_rejected),
        cmocka_unit_test(test_gap_is_retried_then_filled),
        cmocka_unit_test(test_bad_hash_rejected_chain_continues),
        cmocka_unit_test(test_payload_must_be_the_record),
        cmocka_unit_test(test_chain_base_after_pruning),
        cmocka_unit_test(test_gzip_request_and_answer),
        cmocka_unit_test(test_malformed_and_refused_requests),
        cmocka_unit_test(test_bearer_token),
        cmocka_unit_test(test_batch_too_large),
        cmocka_unit_test(test_fault_partial_acks),
        cmocka_unit_test(test_fault_status_500_then_ok),
        cmocka_unit_test(test_fault_429_and_503_retry_after),
        cmocka_unit_test(test_fault_hang_times_out_client),
        cmocka_unit_test(test_fault_slow_answer),
        cmocka_unit_test(test_fault_drops),
        cmocka_unit_test(test_fault_probability),
        cmocka_unit_test(test_findings_paging),
        cmocka_unit_test(test_policy_etag),
        cmocka_unit_test(test_registry_deltas),
        cmocka_unit_test(test_admin_stats),
    };
    const struct CMUnitTest own[] = {
        cmocka_unit_test(test_client_identity_and_strict_gateways),
        cmocka_unit_test(test_stops_cleanly_while_hanging),
        cmocka_unit_test(test_database_survives_restart),
    };
    int failed = cmocka_run_group_tests_name("platform", shared, group_setup, group_teardown);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    failed += cmocka_run_group_tests_name("platform processes", own, NULL, NULL);
    curl_global_cleanup();
    return failed;
}
