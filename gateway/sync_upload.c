/* SPDX-License-Identifier: MIT */
/* Delivery: batches of records to an upstream, and its acknowledgements. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "record.h"
#include "rsgw/platform/v1/platform.pb-c.h"
#include "store_sync.h"
#include "sync_internal.h"

/* Encoded size of one UploadRecord besides its payload: seq, two hashes, tags. */
#define RECORD_OVERHEAD 96

struct batch {
    Rsgw__Platform__V1__UploadRecord *recs;
    Rsgw__Platform__V1__UploadRecord **ptrs;
    uint8_t **copies;
    size_t n, cap;
    size_t bytes, max_bytes;
    uint64_t next_seq;
    bool gap, oom;
};

static int on_batch_record(void *ud, uint64_t seq, const uint8_t hash[32],
                           const uint8_t prev_hash[32], const uint8_t *payload, size_t len)
{
    struct batch *b = ud;
    if (b->n == b->cap || b->gap || b->oom)
        return 0;
    if (b->n > 0 && b->bytes + len + RECORD_OVERHEAD > b->max_bytes)
        return 0; /* keeps the request within batch_max_bytes; the rest goes next time */
    if (seq != b->next_seq) {
        b->gap = true;
        return 0;
    }
    uint8_t *copy = malloc(len + 64 + 1);
    if (!copy) {
        b->oom = true;
        return 0;
    }
    memcpy(copy, hash, 32);
    memcpy(copy + 32, prev_hash, 32);
    memcpy(copy + 64, payload, len);
    Rsgw__Platform__V1__UploadRecord init = RSGW__PLATFORM__V1__UPLOAD_RECORD__INIT;
    Rsgw__Platform__V1__UploadRecord *r = &b->recs[b->n];
    *r = init;
    r->has_seq = 1;
    r->seq = seq;
    r->has_hash = 1;
    r->hash.data = copy;
    r->hash.len = 32;
    r->has_prev_hash = 1;
    r->prev_hash.data = copy + 32;
    r->prev_hash.len = 32;
    r->has_payload = 1;
    r->payload.data = copy + 64;
    r->payload.len = len;
    b->ptrs[b->n] = r;
    b->copies[b->n] = copy;
    b->n++;
    b->bytes += len + RECORD_OVERHEAD;
    b->next_seq = seq + 1;
    return 0;
}

static void batch_free(struct batch *b)
{
    for (size_t i = 0; i < b->n; i++)
        free(b->copies[i]);
    free(b->recs);
    free(b->ptrs);
    free(b->copies);
}

static void retry_later(struct sync_upstream *u, int64_t mono)
{
    u->upload_failures++;
    u->next_upload_mono = mono + sync_backoff_ms(u, u->upload_failures);
}

void sync_upload_poll(struct sync_upstream *u, int64_t mono)
{
    sync_engine *e = u->e;
    struct sync_xfer *x = &u->upload;
    if (x->busy || mono < u->next_upload_mono || u->cursor + 1 >= store_next_seq(e->st))
        return;

    struct batch b = {.cap = u->eff_records, .max_bytes = u->eff_bytes, .next_seq = u->cursor + 1};
    b.recs = calloc(b.cap, sizeof *b.recs);
    b.ptrs = calloc(b.cap, sizeof *b.ptrs);
    b.copies = calloc(b.cap, sizeof *b.copies);
    if (!b.recs || !b.ptrs || !b.copies) {
        batch_free(&b);
        sync_note_error(u, SLOT_UPLOAD, "upload: out of memory for a batch");
        retry_later(u, mono);
        return;
    }
    int rc = store_read_batch(e->st, u->cursor, b.cap, b.max_bytes, on_batch_record, &b);
    if (rc < 0 || b.oom || b.gap || b.n == 0) {
        if (rc < 0) {
            sync_store_failed(e, rc, "read records to deliver");
            sync_note_error(u, SLOT_UPLOAD, "upload: cannot read records: %s", store_strerror(rc));
        } else {
            sync_note_error(u, SLOT_UPLOAD, "upload: cannot read record %llu from the store%s",
                            (unsigned long long)(u->cursor + 1),
                            b.oom ? " (out of memory)" : " (missing)");
        }
        batch_free(&b);
        retry_later(u, mono);
        return;
    }

    Rsgw__Platform__V1__UploadBatch msg = RSGW__PLATFORM__V1__UPLOAD_BATCH__INIT;
    msg.gateway_id = (char *)e->cfg->gateway_id;
    msg.n_records = b.n;
    msg.records = b.ptrs;
    msg.has_chain_base_seq = 1;
    msg.chain_base_seq = store_base_seq(e->st);
    size_t raw_len = rsgw__platform__v1__upload_batch__get_packed_size(&msg);
    uint8_t *raw = malloc(raw_len ? raw_len : 1);
    uint8_t *gz = NULL;
    size_t gz_len = 0;
    if (raw) {
        rsgw__platform__v1__upload_batch__pack(&msg, raw);
        if (sync_gzip(raw, raw_len, &gz, &gz_len) < 0)
            gz = NULL;
    }
    free(raw);
    x->first_seq = b.ptrs[0]->seq;
    x->last_seq = b.ptrs[b.n - 1]->seq;
    x->n_records = b.n;
    x->raw_len = raw_len;
    batch_free(&b);
    if (!gz) {
        sync_note_error(u, SLOT_UPLOAD, "upload: out of memory packing a batch");
        retry_later(u, mono);
        return;
    }

    char *id = curl_easy_escape(x->easy, e->cfg->gateway_id, 0);
    char path[256];
    snprintf(path, sizeof path, "/v1/gateways/%s/records", id ? id : "");
    curl_free(id);
    if (sync_xfer_start(x, path, gz, gz_len, NULL) < 0)
        retry_later(u, mono);
}

static int on_oldest(void *ud, uint64_t seq, const uint8_t hash[32], const uint8_t *payload,
                     size_t len)
{
    (void)seq;
    (void)hash;
    int64_t *time_ms = ud;
    Rsgw__V1__Record *r = record_unpack(payload, len);
    if (r) {
        *time_ms = r->has_time_ms ? r->time_ms : 0;
        record_free(r);
    }
    return 1;
}

void sync_upload_refresh_oldest(struct sync_upstream *u)
{
    if (u->oldest_for_cursor == u->cursor + 1)
        return;
    /* One record by its key: cheap even with a large backlog. */
    int64_t t = 0;
    struct store_query q = {.from_seq = u->cursor + 1, .limit = 1};
    int rc = store_records(u->e->st, &q, on_oldest, &t);
    if (rc < 0)
        return;
    u->oldest_time_ms = t;
    u->oldest_for_cursor = u->cursor + 1;
}

static void account_rate(struct sync_upstream *u, size_t bytes, int64_t mono)
{
    int64_t sec = mono / 1000;
    size_t b = (size_t)(sec % SYNC_RATE_BUCKETS);
    if (u->rate_sec[b] != sec) {
        u->rate_sec[b] = sec;
        u->rate_bytes[b] = 0;
    }
    u->rate_bytes[b] += bytes;
}

/* A batch of one the platform will never take (413): final, with the reason. */
static void reject_oversized(struct sync_upstream *u, int64_t mono)
{
    struct sync_xfer *x = &u->upload;
    struct store_reject rj = {.seq = x->first_seq};
    snprintf(rj.reason, sizeof rj.reason,
             "the platform refuses it as too large (HTTP 413 for %zu bytes)", x->raw_len);
    int rc = store_upstream_advance(u->e->st, u->cfg.name, x->first_seq, &rj, 1);
    if (rc < 0) {
        sync_store_failed(u->e, rc, "record a rejected record");
        retry_later(u, mono);
        return;
    }
    sync_store_ok(u->e);
    log_msg(u->e->lg, LOG_WARNING, "upstream %s: record %llu rejected: %s", u->cfg.name,
            (unsigned long long)rj.seq, rj.reason);
    u->cursor = x->first_seq;
    u->rejected++;
    u->next_upload_mono = mono;
}

static void too_large(struct sync_upstream *u, int64_t mono)
{
    struct sync_xfer *x = &u->upload;
    if (x->n_records <= 1) {
        reject_oversized(u, mono);
        return;
    }
    u->eff_records = x->n_records / 2;
    u->eff_bytes = x->raw_len / 2 > 1024 ? x->raw_len / 2 : 1024;
    /* Not straight back up after the next success: that would make every other batch a 413. */
    u->grow_after_mono = mono + 600000;
    log_msg(u->e->lg, LOG_NOTICE,
            "upstream %s: a batch of %zu records (%zu bytes) is too large for the platform "
            "(HTTP 413); sending at most %zu records",
            u->cfg.name, x->n_records, x->raw_len, u->eff_records);
    u->next_upload_mono = mono;
}

struct ack_walk {
    uint64_t new_cursor;
    struct store_reject *rejects;
    size_t n_rejects;
    bool blocked_retry; /* the platform asked for a record again */
    char retry_reason[200];
    bool store_failed;
};

static void walk_acks(struct sync_upstream *u, const Rsgw__Platform__V1__UploadAck *ack,
                      struct ack_walk *w)
{
    const struct sync_xfer *x = &u->upload;
    uint64_t expect = u->cursor + 1;
    for (size_t i = 0; i < ack->n_acks; i++) {
        const Rsgw__Platform__V1__RecordAck *a = ack->acks[i];
        if (!a->has_seq || a->seq < expect)
            continue; /* already final */
        if (a->seq != expect || a->seq > x->last_seq)
            break; /* a record it did not mention: not processed */
        int status = a->has_status ? (int)a->status : 0;
        const char *reason = a->reason && *a->reason ? a->reason : NULL;
        if (status == RSGW__PLATFORM__V1__ACK_STATUS__ACK_ACCEPTED ||
            status == RSGW__PLATFORM__V1__ACK_STATUS__ACK_DUPLICATE) {
            expect++;
        } else if (status == RSGW__PLATFORM__V1__ACK_STATUS__ACK_REJECTED) {
            struct store_reject *r = &w->rejects[w->n_rejects++];
            r->seq = a->seq;
            snprintf(r->reason, sizeof r->reason, "%s",
                     reason ? reason : "rejected (no reason given)");
            expect++;
        } else if (status == RSGW__PLATFORM__V1__ACK_STATUS__ACK_RETRY) {
            int attempts =
                store_upstream_note_retry(u->e->st, u->cfg.name, a->seq, reason ? reason : "");
            if (attempts < 0) {
                sync_store_failed(u->e, attempts, "count a record's attempts");
                w->store_failed = true;
                break;
            }
            if (attempts < u->cfg.max_attempts) {
                w->blocked_retry = true;
                snprintf(w->retry_reason, sizeof w->retry_reason, "%s",
                         reason ? reason : "no reason given");
                break;
            }
            struct store_reject *r = &w->rejects[w->n_rejects++];
            r->seq = a->seq;
            snprintf(r->reason, sizeof r->reason, "gave up after %d attempts: %s", attempts,
                     reason ? reason : "no reason given");
            expect++;
        } else {
            break; /* unknown status: not final */
        }
    }
    w->new_cursor = expect - 1;
}

static void handle_ack(struct sync_upstream *u, int64_t mono)
{
    sync_engine *e = u->e;
    struct sync_xfer *x = &u->upload;
    Rsgw__Platform__V1__UploadAck *ack =
        rsgw__platform__v1__upload_ack__unpack(NULL, x->resp.len, x->resp.data);
    if (!ack) {
        sync_note_error(u, SLOT_UPLOAD,
                        "upload: the platform's answer is not an UploadAck (%zu bytes)",
                        x->resp.len);
        retry_later(u, mono);
        return;
    }
    struct ack_walk w = {.rejects = calloc(x->n_records, sizeof *w.rejects)};
    if (!w.rejects) {
        rsgw__platform__v1__upload_ack__free_unpacked(ack, NULL);
        retry_later(u, mono);
        return;
    }
    walk_acks(u, ack, &w);
    rsgw__platform__v1__upload_ack__free_unpacked(ack, NULL);

    uint64_t before = u->cursor;
    if (w.new_cursor > u->cursor) {
        int rc = store_upstream_advance(e->st, u->cfg.name, w.new_cursor, w.rejects, w.n_rejects);
        if (rc < 0) {
            sync_store_failed(e, rc, "record the delivery");
            sync_note_error(u, SLOT_UPLOAD,
                            "upload: records %llu-%llu acknowledged, but the store cannot record "
                            "it (%s); they are sent again",
                            (unsigned long long)(u->cursor + 1), (unsigned long long)w.new_cursor,
                            store_strerror(rc));
            free(w.rejects);
            retry_later(u, mono); /* the platform answers DUPLICATE next time */
            return;
        }
        sync_store_ok(e);
        for (size_t i = 0; i < w.n_rejects; i++)
            log_msg(e->lg, LOG_WARNING, "upstream %s: record %llu rejected: %s", u->cfg.name,
                    (unsigned long long)w.rejects[i].seq, w.rejects[i].reason);
        u->rejected += w.n_rejects;
        u->cursor = w.new_cursor;
        u->last_success_ms = e->now_ms;
        log_msg(e->lg, LOG_DEBUG, "upstream %s: records %llu-%llu final", u->cfg.name,
                (unsigned long long)(before + 1), (unsigned long long)u->cursor);
    }
    free(w.rejects);

    if (u->cursor >= x->last_seq) {
        /* The whole batch is final: grow back towards the configured limits. */
        u->upload_failures = 0;
        sync_note_ok(u, SLOT_UPLOAD);
        if (mono < u->grow_after_mono) {
            /* a 413 not long ago: stay at the size that works */
        } else if (u->eff_records < (size_t)u->cfg.batch_max_records) {
            u->eff_records *= 2;
            if (u->eff_records > (size_t)u->cfg.batch_max_records)
                u->eff_records = (size_t)u->cfg.batch_max_records;
        }
        if (mono >= u->grow_after_mono && u->eff_bytes < (size_t)u->cfg.batch_max_bytes) {
            u->eff_bytes *= 2;
            if (u->eff_bytes > (size_t)u->cfg.batch_max_bytes)
                u->eff_bytes = (size_t)u->cfg.batch_max_bytes;
        }
        u->next_upload_mono = mono;
    } else if (w.blocked_retry) {
        u->upload_failures++;
        int64_t delay = sync_backoff_ms(u, u->upload_failures);
        sync_note_error(u, SLOT_UPLOAD,
                        "upload: the platform asked for record %llu again (%s); next attempt in "
                        "%.1f s",
                        (unsigned long long)(u->cursor + 1), w.retry_reason, (double)delay / 1000);
        u->next_upload_mono = mono + delay;
    } else if (w.store_failed) {
        retry_later(u, mono);
    } else if (u->cursor > before) {
        /* A partial answer: the rest was not processed; send it again now. */
        sync_note_ok(u, SLOT_UPLOAD);
        u->upload_failures = 0;
        u->next_upload_mono = mono;
    } else {
        u->upload_failures++;
        int64_t delay = sync_backoff_ms(u, u->upload_failures);
        sync_note_error(u, SLOT_UPLOAD,
                        "upload: the platform processed none of records %llu-%llu; next "
                        "attempt in %.1f s",
                        (unsigned long long)x->first_seq, (unsigned long long)x->last_seq,
                        (double)delay / 1000);
        u->next_upload_mono = mono + delay;
    }
}

void sync_upload_done(struct sync_upstream *u, const struct sync_result *r, int64_t mono)
{
    struct sync_xfer *x = &u->upload;
    x->busy = false;
    if (r->ok && r->http_status != 304) {
        account_rate(u, x->body_len, mono);
        handle_ack(u, mono);
    } else if (r->http_status == 413) {
        too_large(u, mono);
    } else {
        u->upload_failures++;
        int64_t delay = sync_backoff_ms(u, u->upload_failures);
        if (r->retry_after_ms > 0)
            delay = r->retry_after_ms; /* the platform said when: not earlier, not later */
        sync_note_error(u, SLOT_UPLOAD, "%s; records %llu-%llu wait, next attempt in %.1f s",
                        r->ok ? "upload: unexpected HTTP 304" : r->msg,
                        (unsigned long long)x->first_seq, (unsigned long long)x->last_seq,
                        (double)delay / 1000);
        u->next_upload_mono = mono + delay;
    }
    sync_xfer_end(u->e, x);
    x->n_records = 0;
}
