/* SPDX-License-Identifier: MIT */
/* The /v1 endpoints: decode, call the store, encode. */
#include "pf.h"

#include <ctype.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char protobuf_type[] = "application/x-protobuf";

static bool is_protobuf(const char *ct)
{
    size_t n = sizeof protobuf_type - 1;
    return ct && strncasecmp(ct, protobuf_type, n) == 0 &&
           (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

/* Records must come in strictly ascending seq (missing seqs are judged one by one). */
static bool ascending(const Rsgw__Platform__V1__UploadBatch *b)
{
    uint64_t last = 0;
    for (size_t i = 0; i < b->n_records; i++) {
        const Rsgw__Platform__V1__UploadRecord *r = b->records[i];
        if (!r->has_seq || r->seq == 0)
            continue;
        if (last && r->seq <= last)
            return false;
        last = r->seq;
    }
    return true;
}

static void send_acks(struct pf_answer *a, const struct pf_ack *acks, size_t n, uint64_t head)
{
    Rsgw__Platform__V1__UploadAck ack = RSGW__PLATFORM__V1__UPLOAD_ACK__INIT;
    Rsgw__Platform__V1__RecordAck *items = calloc(n ? n : 1, sizeof *items);
    Rsgw__Platform__V1__RecordAck **ptrs = calloc(n ? n : 1, sizeof *ptrs);
    if (!items || !ptrs) {
        pf_answer_error(a, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", "out of memory");
    } else {
        for (size_t i = 0; i < n; i++) {
            rsgw__platform__v1__record_ack__init(&items[i]);
            items[i].has_seq = 1;
            items[i].seq = acks[i].seq;
            items[i].has_status = 1;
            items[i].status = acks[i].status;
            if (acks[i].reason[0])
                items[i].reason = (char *)acks[i].reason;
            ptrs[i] = &items[i];
        }
        ack.n_acks = n;
        ack.acks = ptrs;
        ack.has_platform_head_seq = 1;
        ack.platform_head_seq = head;
        pf_answer_proto(a, &ack.base);
    }
    free(items);
    free(ptrs);
}

void pf_api_upload(struct pf_server *srv, const struct pf_request *rq, const char *gateway_id,
                   size_t ack_limit, struct pf_answer *a)
{
    const char *ct = pf_header(rq, MHD_HTTP_HEADER_CONTENT_TYPE);
    if (!is_protobuf(ct))
        return pf_answer_error(a, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type",
                               "Content-Type must be %s, not %.64s", protobuf_type,
                               ct ? ct : "(none)");
    Rsgw__Platform__V1__UploadBatch *b =
        rsgw__platform__v1__upload_batch__unpack(NULL, rq->body_len, rq->body);
    if (!b)
        return pf_answer_error(a, MHD_HTTP_BAD_REQUEST, "malformed",
                               "the body (%zu bytes) is not a rsgw.platform.v1.UploadBatch",
                               rq->body_len);
    unsigned max = atomic_load(&srv->max_batch_records);
    if (b->gateway_id && b->gateway_id[0] && strcmp(b->gateway_id, gateway_id) != 0) {
        pf_answer_error(a, MHD_HTTP_BAD_REQUEST, "gateway_mismatch",
                        "the batch names gateway \"%.64s\" but the path names %s", b->gateway_id,
                        gateway_id);
    } else if (b->n_records > max) {
        pf_answer_error(a, MHD_HTTP_CONTENT_TOO_LARGE, "batch_too_large",
                        "%zu records; at most %u per batch", b->n_records, max);
    } else if (!ascending(b)) {
        pf_answer_error(a, MHD_HTTP_BAD_REQUEST, "batch_order",
                        "records must be in strictly ascending seq");
    } else {
        size_t process = b->n_records < ack_limit ? b->n_records : ack_limit;
        struct pf_ack *acks = calloc(process ? process : 1, sizeof *acks);
        uint64_t head = 0;
        int rc =
            acks ? pf_db_upload(srv->db, gateway_id, b->has_chain_base_seq ? b->chain_base_seq : 0,
                                b->records, process, acks, &head)
                 : PF_ENOMEM;
        if (rc == 0)
            send_acks(a, acks, process, head);
        else
            pf_answer_error(a, MHD_HTTP_INTERNAL_SERVER_ERROR, "storage",
                            "the batch was not stored (see the platform's log); send it again");
        free(acks);
    }
    rsgw__platform__v1__upload_batch__free_unpacked(b, NULL);
}

/* limit=N: absent = default; 1..PF_PAGE_MAX, larger is clamped; false for junk. */
static bool page_limit(const struct pf_request *rq, unsigned *limit)
{
    const char *s = pf_query_arg(rq, "limit");
    *limit = PF_PAGE_DEFAULT;
    if (!s)
        return true;
    if (!s[0] || strlen(s) > 9)
        return false;
    for (const char *p = s; *p; p++)
        if (!isdigit((unsigned char)*p))
            return false;
    unsigned long v = strtoul(s, NULL, 10);
    if (v == 0)
        return false;
    *limit = v > PF_PAGE_MAX ? PF_PAGE_MAX : (unsigned)v;
    return true;
}

typedef int (*page_fn)(pf_db *db, const char *cursor, unsigned limit, struct pf_buf *out);

static void serve_page(struct pf_server *srv, const struct pf_request *rq, page_fn fn,
                       struct pf_answer *a)
{
    unsigned limit;
    if (!page_limit(rq, &limit))
        return pf_answer_error(a, MHD_HTTP_BAD_REQUEST, "bad_limit",
                               "limit must be a whole number from 1 (larger than %u means %u)",
                               PF_PAGE_MAX, PF_PAGE_MAX);
    const char *cursor = pf_query_arg(rq, "cursor");
    struct pf_buf out = {0};
    int rc = fn(srv->db, cursor ? cursor : "", limit, &out);
    if (rc == PF_EINVAL) {
        pf_answer_error(a, MHD_HTTP_BAD_REQUEST, "bad_cursor",
                        "cursor \"%.64s\" was not made by this platform", cursor);
    } else if (rc != 0) {
        pf_answer_error(a, MHD_HTTP_INTERNAL_SERVER_ERROR, "storage",
                        "storage failure (see the platform's log)");
    } else {
        a->status = MHD_HTTP_OK;
        a->content_type = protobuf_type;
        a->body = out;
        return;
    }
    pf_buf_free(&out);
}

void pf_api_findings(struct pf_server *srv, const struct pf_request *rq, struct pf_answer *a)
{
    serve_page(srv, rq, pf_db_findings, a);
}

void pf_api_registry(struct pf_server *srv, const struct pf_request *rq, struct pf_answer *a)
{
    serve_page(srv, rq, pf_db_registry, a);
}

/* If-None-Match: "*" or a list of (possibly weak) entity tags. */
static bool etag_matches(const char *inm, const char *version)
{
    if (!inm)
        return false;
    const char *p = inm;
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        if (*p == '*')
            return true;
        if (strncmp(p, "W/", 2) == 0)
            p += 2;
        bool quoted = *p == '"';
        if (quoted)
            p++;
        size_t n = strcspn(p, quoted ? "\"" : ", ");
        if (n == strlen(version) && strncmp(p, version, n) == 0)
            return true;
        p += n;
        if (quoted && *p == '"')
            p++;
        while (*p && *p != ',')
            p++;
    }
    return false;
}

void pf_api_policy(struct pf_server *srv, const struct pf_request *rq, const char *gateway_id,
                   struct pf_answer *a)
{
    struct pf_buf out = {0};
    char version[40];
    if (pf_db_policy(srv->db, gateway_id, &out, version, sizeof version) != 0) {
        pf_buf_free(&out);
        return pf_answer_error(a, MHD_HTTP_INTERNAL_SERVER_ERROR, "storage",
                               "storage failure (see the platform's log)");
    }
    snprintf(a->etag, sizeof a->etag, "%s", version);
    if (etag_matches(pf_header(rq, MHD_HTTP_HEADER_IF_NONE_MATCH), version)) {
        a->status = MHD_HTTP_NOT_MODIFIED;
        pf_buf_free(&out);
        return;
    }
    a->status = MHD_HTTP_OK;
    a->content_type = protobuf_type;
    a->body = out;
}
