/* SPDX-License-Identifier: MIT */
/*
 * The reference platform (rsgw-platform): a small implementation of the
 * platform API of docs/platform-api.md for tests, the demo and site
 * acceptance. One process, one SQLite file, libmicrohttpd with a thread per
 * connection (so a hanging or slow answer never blocks other requests).
 *
 * Modules: pf_db (storage, upload judgement), pf_query (findings, policy,
 * registry, stats), pf_fault (fault injection), pf_http (routing, auth,
 * encodings), pf_api (/v1), pf_admin (/admin), pf_util (buffers, gzip, forms).
 */
#ifndef PF_H
#define PF_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rsgw/platform/v1/platform.pb-c.h"

#define PF_MAX_BODY          (16u * 1024u * 1024u) /* request body, before and after gunzip */
#define PF_MAX_BATCH_RECORDS 10000u                /* default; /admin/limits changes it */
#define PF_PAGE_DEFAULT      100u
#define PF_PAGE_MAX          1000u
#define PF_GATEWAY_ID_MAX    64u
#define PF_HASH_LEN          32u
#define PF_REASON_MAX        200u

enum {
    PF_OK = 0,
    PF_ERR = -1,    /* storage or internal failure (reported on stderr) */
    PF_EINVAL = -2, /* bad input from the caller */
    PF_ENOENT = -3, /* no such thing */
    PF_ENOMEM = -4,
};

/* ---- pf_util: growable buffer, hex, gzip, forms ---- */

/* A growable byte buffer; p is owned by the buffer (free with pf_buf_free).
 * After an allocation failure `failed` is set and further appends are ignored. */
struct pf_buf {
    char *p;
    size_t len, cap;
    bool failed;
};
void pf_buf_free(struct pf_buf *b);
void pf_buf_add(struct pf_buf *b, const void *data, size_t len);
void pf_buf_printf(struct pf_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A JSON string literal (quotes included). */
void pf_buf_json_str(struct pf_buf *b, const char *s);

void pf_hex(const uint8_t *in, size_t len, char *out /* 2 * len + 1 */);
bool pf_gateway_id_valid(const char *id);
int64_t pf_now_ms(void);
/* Sleep ms milliseconds (0 = until *stop), waking early when *stop is set. */
void pf_sleep_ms(unsigned ms, const atomic_bool *stop);

/* gunzip at most max_out bytes into out (caller frees out->p).
 * 0, PF_EINVAL (not gzip / corrupt), or 1 when the output exceeds max_out. */
int pf_gunzip(const void *in, size_t len, size_t max_out, struct pf_buf *out);
/* gzip; 0 or PF_ENOMEM / PF_ERR. */
int pf_gzip(const void *in, size_t len, struct pf_buf *out);

/* Key/value pairs from a query string and an application/x-www-form-urlencoded
 * body. Strings are owned by the form (pf_form_free). */
struct pf_form {
    struct pf_kv {
        char *key, *value;
    } kv[64];
    size_t n;
    bool overflow;
};
void pf_form_add(struct pf_form *f, const char *key, const char *value);
/* Parse urlencoded text (percent escapes, '+' as space). */
void pf_form_parse(struct pf_form *f, const char *text, size_t len);
const char *pf_form_get(const struct pf_form *f, const char *key);
void pf_form_free(struct pf_form *f);

/* ---- pf_db: the store ---- */

typedef struct pf_db pf_db;

/* Opens (creating) the database. All functions are thread-safe: one mutex
 * serialises every statement, so a reader never sees half of an upload.
 * Storage failures (PF_ERR) are reported on stderr with the SQLite message,
 * because several threads share the handle. */
int pf_db_open(const char *path, pf_db **out, char *err, size_t errlen);
void pf_db_close(pf_db *db);

/* 1 known, 0 unknown, <0 error. Without strict, every valid id is known. */
int pf_db_gateway_known(pf_db *db, const char *gateway_id, bool strict);
int pf_db_gateway_register(pf_db *db, const char *gateway_id);

struct pf_ack {
    uint64_t seq;
    Rsgw__Platform__V1__AckStatus status;
    char reason[PF_REASON_MAX];
};

/* Judge and store the first `process` records of a batch in one transaction.
 * acks receives `process` answers (the caller sizes it); *head_seq the highest
 * seq held for the gateway after the commit. Storage failures roll back and
 * return PF_ERR: no ack may then be sent. */
int pf_db_upload(pf_db *db, const char *gateway_id, uint64_t chain_base_seq,
                 Rsgw__Platform__V1__UploadRecord *const *records, size_t process,
                 struct pf_ack *acks, uint64_t *head_seq);

/* ---- pf_query: reads and admin writes ---- */

/* A serialised FindingsPage / RegistryDelta into out (caller frees out->p).
 * Cursors are opaque to clients: "" (start) or what a page returned;
 * PF_EINVAL for a cursor this server never made. */
int pf_db_findings(pf_db *db, const char *cursor, unsigned limit, struct pf_buf *out);
int pf_db_registry(pf_db *db, const char *cursor, unsigned limit, struct pf_buf *out);

/* The serialised PolicyUpdate for a gateway (its own, else the default "*",
 * else the built-in default), version filled in; caller frees out->p. */
int pf_db_policy(pf_db *db, const char *gateway_id, struct pf_buf *out, char *version,
                 size_t version_len);
/* Set (policy != NULL, version ignored) or clear a gateway's policy ("*" =
 * the default for gateways without their own). */
int pf_db_policy_set(pf_db *db, const char *gateway_id,
                     const Rsgw__Platform__V1__PolicyUpdate *policy);

int pf_db_registry_upsert(pf_db *db, const Rsgw__Platform__V1__RegistryVehicle *v);
int pf_db_registry_delete(pf_db *db, const char *plate); /* PF_ENOENT if unknown */

/* The members "gateways":[...],"findings":N,"registry_vehicles":N of the
 * /admin/stats object (see docs/platform-api.md). */
int pf_db_stats_json(pf_db *db, struct pf_buf *out);
/* One stored seq per line, ascending ("seq reason" per line for rejects). */
int pf_db_seqs(pf_db *db, const char *gateway_id, bool rejects, struct pf_buf *out);

/* ---- pf_fault: fault injection ---- */

enum pf_endpoint {
    PF_EP_UPLOAD = 1,
    PF_EP_FINDINGS = 2,
    PF_EP_POLICY = 4,
    PF_EP_REGISTRY = 8,
    PF_EP_ANY = 15,
};

enum pf_fault_mode {
    PF_FAULT_STATUS,            /* answer status (and Retry-After) without processing */
    PF_FAULT_HANG,              /* never answer; close after ms (0 = at shutdown) */
    PF_FAULT_SLOW,              /* process, then hold the answer ms */
    PF_FAULT_DROP_BEFORE_STORE, /* read the request, close without storing */
    PF_FAULT_DROP_AFTER_STORE,  /* store, then close without answering */
    PF_FAULT_PARTIAL,           /* process and acknowledge only the first k records */
};

struct pf_fault {
    enum pf_fault_mode mode;
    unsigned endpoints; /* pf_endpoint bits */
    unsigned status;
    unsigned retry_after_s; /* 0 = no Retry-After header */
    unsigned ms;
    unsigned k;
    unsigned count;     /* remaining firings; 0 = unlimited */
    double probability; /* 0 < p <= 1 */
    unsigned long fired;
};

typedef struct pf_faults pf_faults;
pf_faults *pf_faults_new(uint64_t seed);
void pf_faults_free(pf_faults *f);
int pf_faults_add(pf_faults *f, const struct pf_fault *fault);
void pf_faults_clear(pf_faults *f);
/* Roll the dice for a request to ep: true and *out when a fault fires. */
bool pf_faults_take(pf_faults *f, enum pf_endpoint ep, struct pf_fault *out);
void pf_faults_describe(pf_faults *f, struct pf_buf *out);
unsigned long pf_faults_fired(pf_faults *f);
const char *pf_fault_mode_name(enum pf_fault_mode m);
int pf_fault_mode_parse(const char *s, enum pf_fault_mode *out);

/* ---- pf_http: the server ---- */

struct pf_config {
    const char *listen; /* "127.0.0.1:8080", "[::1]:0" */
    const char *db_path;
    const char *token;      /* NULL: no bearer token required */
    const char *cn_header;  /* header carrying the verified client identity */
    bool require_client_cn; /* /v1 requests must carry cn_header */
    bool strict_gateways;   /* only registered gateways are known */
    uint64_t seed;          /* fault dice */
};

/* Shared by every connection thread; owned by main. */
struct pf_server {
    const struct pf_config *cfg;
    pf_db *db;
    pf_faults *faults;
    atomic_bool stopping;
    atomic_uint max_batch_records;
    atomic_ulong requests[4]; /* upload, findings, policy, registry */
    struct MHD_Daemon *mhd;
    unsigned port;
};

/* Start listening (threads run in the background); 0 or -1 with err. */
int pf_server_start(struct pf_server *srv, char *err, size_t errlen);
/* Wake hanging answers, stop accepting, join every connection thread. */
void pf_server_stop(struct pf_server *srv);

/* A finished answer from an endpoint handler: pf_http sends it. */
struct pf_answer {
    unsigned status;
    const char *content_type; /* static string */
    struct pf_buf body;
    char etag[80];          /* without quotes; "" = none */
    unsigned retry_after_s; /* 0 = none */
    bool drop;              /* close the connection without answering */
    unsigned delay_ms;      /* hold the answer (slow fault) */
    bool www_authenticate;
};

struct pf_request {
    struct MHD_Connection *conn;
    const char *url;
    const char *method;
    const uint8_t *body; /* after Content-Encoding */
    size_t body_len;
};

/* Set a's status and body: an rsgw.platform.v1.Error (for /v1), plain text
 * (for /admin), or any message (200). The body is owned by the answer. */
void pf_answer_error(struct pf_answer *a, unsigned status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void pf_answer_text(struct pf_answer *a, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void pf_answer_proto(struct pf_answer *a, const ProtobufCMessage *msg);

/* pf_api: /v1. gateway_id is from the path (already validated).
 * ack_limit: process and acknowledge at most this many records (SIZE_MAX: all). */
void pf_api_upload(struct pf_server *srv, const struct pf_request *rq, const char *gateway_id,
                   size_t ack_limit, struct pf_answer *a);
void pf_api_findings(struct pf_server *srv, const struct pf_request *rq, struct pf_answer *a);
void pf_api_policy(struct pf_server *srv, const struct pf_request *rq, const char *gateway_id,
                   struct pf_answer *a);
void pf_api_registry(struct pf_server *srv, const struct pf_request *rq, struct pf_answer *a);

/* pf_admin: everything under /admin/ (auth already checked). */
void pf_admin(struct pf_server *srv, const struct pf_request *rq, struct pf_answer *a);

/* Query argument of the request, or NULL. */
const char *pf_query_arg(const struct pf_request *rq, const char *key);
const char *pf_header(const struct pf_request *rq, const char *name);

#endif
