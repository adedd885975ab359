/* SPDX-License-Identifier: MIT */
/*
 * What the sync engine's files share (sync.c: the engine, the libcurl multi
 * glue and the scheduler; sync_http.c: requests and their outcomes;
 * sync_upload.c: delivery; sync_pull.c: findings, policy, registry).
 * Not for use outside sync*.c.
 */
#ifndef SYNC_INTERNAL_H
#define SYNC_INTERNAL_H

#include <curl/curl.h>

#include "sync.h"

/* A growable byte buffer (response bodies). */
struct sync_buf {
    uint8_t *data;
    size_t len, cap;
};

enum sync_kind {
    SYNC_UPLOAD,
    SYNC_FINDINGS,
    SYNC_POLICY,
    SYNC_REGISTRY,
};

/* How a finished request went. */
struct sync_result {
    bool ok;                /* transport fine and HTTP 2xx or 304 */
    long http_status;       /* 0 when no answer arrived */
    int64_t retry_after_ms; /* Retry-After of a 429/503 answer, 0 = none */
    char msg[300];          /* when !ok: what went wrong, for people */
};

/* One transfer slot. The easy handle is kept for the engine's life; the multi
 * handle's connection cache keeps connections (and TLS sessions) between
 * requests, so consecutive requests to an upstream reuse one connection. */
struct sync_xfer {
    struct sync_upstream *up;
    enum sync_kind kind;
    CURL *easy;
    bool busy;
    struct curl_slist *headers;
    uint8_t *body; /* request body (owned), NULL for GET */
    size_t body_len;
    struct sync_buf resp;
    char etag[160]; /* ETag of the answer, "" when none */
    char errbuf[CURL_ERROR_SIZE];
    int64_t started_mono;
    /* uploads: the batch in flight */
    uint64_t first_seq, last_seq;
    size_t n_records;
    size_t raw_len; /* uncompressed body */
};

enum sync_slot {
    SLOT_UPLOAD = 0,
    SLOT_PULL = 1,
};

enum sync_pull_step {
    PULL_IDLE,
    PULL_FINDINGS,
    PULL_POLICY,
    PULL_REGISTRY,
};

#define SYNC_RATE_BUCKETS 10

struct sync_upstream {
    sync_engine *e;
    struct config_upstream cfg; /* a copy: the engine outlives no reload */
    struct sync_xfer upload, pull;

    /* delivery */
    uint64_t cursor;
    int upload_failures; /* consecutive, for the backoff */
    int64_t next_upload_mono;
    size_t eff_records, eff_bytes; /* batch limits, halved on 413, grown back on success */
    int64_t grow_after_mono;       /* after a 413, probe larger batches only from then on */
    uint64_t rejected;
    uint64_t oldest_for_cursor; /* oldest_time_ms was read for this cursor (+1 = valid) */
    int64_t oldest_time_ms;

    /* pulls */
    enum sync_pull_step step;
    int64_t next_pull_mono;
    int pull_failures;
    char policy_etag[160];
    int64_t last_findings_mono; /* 0 = no complete findings pull since start */
    bool alert_pending;         /* a platform alert that starts later */
    int64_t alert_from_ms;
    int alert_level;
    int64_t alert_until_ms;

    /* status */
    int64_t last_success_ms, last_error_ms;
    char last_error[256];
    char logged[2][256]; /* per slot: the last error logged, to log each episode once */
    int64_t logged_mono[2];
    bool failing[2];
    uint64_t rate_bytes[SYNC_RATE_BUCKETS];
    int64_t rate_sec[SYNC_RATE_BUCKETS];
    int64_t last_findings_ms, last_policy_ms, last_registry_ms;
    uint64_t connections;
};

struct sync_socket {
    curl_socket_t fd;
    short events;
};

struct sync_engine {
    const struct config *cfg;
    store *st;
    const struct log *lg;
    CURLM *multi;
    struct sync_socket socks[SYNC_POLLFDS_MAX];
    size_t n_socks;
    bool socks_overflow_logged;
    int64_t curl_deadline_mono; /* -1 = no curl timer */
    size_t n_up;
    struct sync_upstream up[CONFIG_UPSTREAMS_MAX];
    unsigned rng;
    int64_t next_prune_mono;
    bool disk_full; /* in a disk-full episode (logged once) */
    bool settings_changed;
    int64_t now_ms; /* wall clock given to the current sync_handle() */
};

/* ---- sync.c ---- */
int64_t sync_mono_ms(void);
/* Exponential backoff with ±25 % jitter, within the upstream's backoff_min/max. */
int64_t sync_backoff_ms(struct sync_upstream *u, int failures);
/* A store call failed: disk full is logged at LOG_CRIT once per episode. */
void sync_store_failed(sync_engine *e, int rc, const char *what);
void sync_store_ok(sync_engine *e);
/* A request failed / succeeded: logged once per episode and slot; kept for status. */
void sync_note_error(struct sync_upstream *u, enum sync_slot slot, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void sync_note_ok(struct sync_upstream *u, enum sync_slot slot);

/* ---- sync_http.c ---- */
int sync_xfer_init(struct sync_xfer *x, struct sync_upstream *u, enum sync_kind kind);
void sync_xfer_cleanup(sync_engine *e, struct sync_xfer *x);
/* Start a request on x: GET when body is NULL, else POST of body (gzip; taken
 * over, freed even on failure). path is appended to the upstream's base url.
 * 0, or -1 with the error noted on the upstream. */
int sync_xfer_start(struct sync_xfer *x, const char *path, uint8_t *body, size_t body_len,
                    const char *if_none_match);
/* Classify a finished transfer (CURLcode from the multi handle). */
void sync_xfer_result(struct sync_xfer *x, CURLcode cc, struct sync_result *out);
/* Stop using x (transfer done or aborted) and free its per-request memory. */
void sync_xfer_end(sync_engine *e, struct sync_xfer *x);
/* gzip data into a new buffer (*out, *out_len). 0 or -1. */
int sync_gzip(const uint8_t *data, size_t len, uint8_t **out, size_t *out_len);

/* ---- sync_upload.c ---- */
/* Start the next batch when one is due. */
void sync_upload_poll(struct sync_upstream *u, int64_t mono);
void sync_upload_done(struct sync_upstream *u, const struct sync_result *r, int64_t mono);
/* Keep oldest_time_ms in line with the cursor. */
void sync_upload_refresh_oldest(struct sync_upstream *u);

/* ---- sync_pull.c ---- */
void sync_pull_poll(struct sync_upstream *u, int64_t mono);
void sync_pull_done(struct sync_upstream *u, const struct sync_result *r, int64_t mono);

#endif
