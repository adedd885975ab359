/* SPDX-License-Identifier: MIT */
/*
 * Storage and the judgement of uploaded records.
 *
 * A rejected record keeps its place in the chain: its claimed hash is kept in
 * `rejects`, and the next record's prev_hash is checked against it. So one bad
 * record costs that record only; the gateway's later records are accepted
 * (the chain check of the platform is about records it holds, and the hole is
 * visible in /admin/stats and /admin/gateways/{id}/rejects).
 */
#include "pf_db_priv.h"

#include <inttypes.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rsgw/v1/record.pb-c.h"

static const char schema[] =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=FULL;"
    "CREATE TABLE IF NOT EXISTS gateways("
    " id TEXT PRIMARY KEY, registered INTEGER NOT NULL DEFAULT 0,"
    " batches INTEGER NOT NULL DEFAULT 0, accepted INTEGER NOT NULL DEFAULT 0,"
    " duplicates INTEGER NOT NULL DEFAULT 0, rejected INTEGER NOT NULL DEFAULT 0,"
    " retries INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE IF NOT EXISTS records("
    " gateway_id TEXT NOT NULL, seq INTEGER NOT NULL, hash BLOB NOT NULL,"
    " prev_hash BLOB NOT NULL, payload BLOB NOT NULL, received_ms INTEGER NOT NULL,"
    " PRIMARY KEY(gateway_id, seq)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS rejects("
    " gateway_id TEXT NOT NULL, seq INTEGER NOT NULL, hash BLOB, reason TEXT NOT NULL,"
    " received_ms INTEGER NOT NULL, PRIMARY KEY(gateway_id, seq)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS findings("
    " id INTEGER PRIMARY KEY AUTOINCREMENT, gateway_id TEXT NOT NULL, seq INTEGER NOT NULL,"
    " plate TEXT NOT NULL, time_ms INTEGER NOT NULL, checkpoint TEXT NOT NULL,"
    " exceeded TEXT NOT NULL, UNIQUE(gateway_id, seq));"
    "CREATE TABLE IF NOT EXISTS policies(gateway_id TEXT PRIMARY KEY, body BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS registry("
    " plate TEXT PRIMARY KEY, change INTEGER NOT NULL UNIQUE, deleted INTEGER NOT NULL,"
    " fuel TEXT, emission_stage INTEGER, gross_weight_kg INTEGER, vehicle_class TEXT,"
    " vin TEXT, exemption TEXT);";

int pf_db_fail(pf_db *db, const char *what)
{
    fprintf(stderr, "rsgw-platform: %s: %s: %s\n", db->path, what, sqlite3_errmsg(db->h));
    return PF_ERR;
}

sqlite3_stmt *pf_db_prepare(pf_db *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db->h, sql, -1, &st, NULL) != SQLITE_OK) {
        pf_db_fail(db, sql);
        return NULL;
    }
    return st;
}

int pf_db_exec(pf_db *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db->h, sql, NULL, NULL, &msg) != SQLITE_OK) {
        fprintf(stderr, "rsgw-platform: %s: %s: %s\n", db->path, sql, msg ? msg : "?");
        sqlite3_free(msg);
        return PF_ERR;
    }
    return 0;
}

int pf_db_open(const char *path, pf_db **out, char *err, size_t errlen)
{
    *out = NULL;
    pf_db *db = calloc(1, sizeof *db);
    if (!db) {
        snprintf(err, errlen, "%s: out of memory", path);
        return PF_ENOMEM;
    }
    snprintf(db->path, sizeof db->path, "%s", path);
    pthread_mutex_init(&db->mu, NULL);
    char *msg = NULL;
    if (sqlite3_open_v2(path, &db->h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
            SQLITE_OK ||
        sqlite3_busy_timeout(db->h, 5000) != SQLITE_OK ||
        sqlite3_exec(db->h, schema, NULL, NULL, &msg) != SQLITE_OK) {
        snprintf(err, errlen, "%s: %s", path, msg ? msg : sqlite3_errmsg(db->h));
        sqlite3_free(msg);
        pf_db_close(db);
        return PF_ERR;
    }
    *out = db;
    return 0;
}

void pf_db_close(pf_db *db)
{
    if (!db)
        return;
    sqlite3_close(db->h);
    pthread_mutex_destroy(&db->mu);
    free(db);
}

int pf_db_gateway_known(pf_db *db, const char *gateway_id, bool strict)
{
    if (!strict)
        return 1;
    pthread_mutex_lock(&db->mu);
    int rc = PF_ERR;
    sqlite3_stmt *st = pf_db_prepare(db, "SELECT registered FROM gateways WHERE id=?");
    if (st) {
        sqlite3_bind_text(st, 1, gateway_id, -1, SQLITE_STATIC);
        int step = sqlite3_step(st);
        if (step == SQLITE_ROW)
            rc = sqlite3_column_int(st, 0) ? 1 : 0;
        else if (step == SQLITE_DONE)
            rc = 0;
        else
            rc = pf_db_fail(db, "gateway lookup");
        sqlite3_finalize(st);
    }
    pthread_mutex_unlock(&db->mu);
    return rc;
}

int pf_db_gateway_register(pf_db *db, const char *gateway_id)
{
    pthread_mutex_lock(&db->mu);
    int rc = PF_ERR;
    sqlite3_stmt *st = pf_db_prepare(db, "INSERT INTO gateways(id, registered) VALUES(?, 1)"
                                         " ON CONFLICT(id) DO UPDATE SET registered=1");
    if (st) {
        sqlite3_bind_text(st, 1, gateway_id, -1, SQLITE_STATIC);
        rc = sqlite3_step(st) == SQLITE_DONE ? 0 : pf_db_fail(db, "register gateway");
        sqlite3_finalize(st);
    }
    pthread_mutex_unlock(&db->mu);
    return rc;
}

/* ---- upload ---- */

enum { ST_STORED, ST_REJECT, ST_INSERT, ST_UNREJECT, ST_SET_REJECT, ST_FINDING, ST_COUNT };

static const char *const upload_sql[ST_COUNT] = {
    [ST_STORED] = "SELECT hash, prev_hash FROM records WHERE gateway_id=?1 AND seq=?2",
    [ST_REJECT] = "SELECT hash FROM rejects WHERE gateway_id=?1 AND seq=?2",
    [ST_INSERT] = "INSERT INTO records(gateway_id, seq, hash, prev_hash, payload, received_ms)"
                  " VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
    [ST_UNREJECT] = "DELETE FROM rejects WHERE gateway_id=?1 AND seq=?2",
    [ST_SET_REJECT] = "INSERT OR REPLACE INTO rejects(gateway_id, seq, hash, reason, received_ms)"
                      " VALUES(?1, ?2, ?3, ?4, ?5)",
    [ST_FINDING] = "INSERT OR IGNORE INTO findings(gateway_id, seq, plate, time_ms, checkpoint,"
                   " exceeded) VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
};

/* One upload in progress (inside the transaction and the mutex). */
struct upload {
    pf_db *db;
    const char *gw;
    uint64_t base_seq;
    sqlite3_stmt *st[ST_COUNT];
    EVP_MD_CTX *md;
    int64_t now_ms;
    unsigned long n_accepted, n_duplicates, n_rejected, n_retries;
};

static sqlite3_stmt *stmt(struct upload *u, int which, uint64_t seq)
{
    sqlite3_stmt *st = u->st[which];
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    sqlite3_bind_text(st, 1, u->gw, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)seq);
    return st;
}

/* How a seq is held: 1 stored (hash, prev copied), 2 rejected with a claimed
 * hash (hash copied), 3 rejected without a usable hash, 0 absent, <0 error. */
static int lookup(struct upload *u, uint64_t seq, uint8_t hash[PF_HASH_LEN],
                  uint8_t prev[PF_HASH_LEN])
{
    sqlite3_stmt *st = stmt(u, ST_STORED, seq);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        memcpy(hash, sqlite3_column_blob(st, 0), PF_HASH_LEN);
        memcpy(prev, sqlite3_column_blob(st, 1), PF_HASH_LEN);
        return 1;
    }
    if (step != SQLITE_DONE)
        return pf_db_fail(u->db, "record lookup");
    st = stmt(u, ST_REJECT, seq);
    step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        if (sqlite3_column_bytes(st, 0) != PF_HASH_LEN)
            return 3;
        memcpy(hash, sqlite3_column_blob(st, 0), PF_HASH_LEN);
        return 2;
    }
    return step == SQLITE_DONE ? 0 : pf_db_fail(u->db, "reject lookup");
}

static int answer(struct pf_ack *a, Rsgw__Platform__V1__AckStatus status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int answer(struct pf_ack *a, Rsgw__Platform__V1__AckStatus status, const char *fmt, ...)
{
    a->status = status;
    a->reason[0] = '\0';
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(a->reason, sizeof a->reason, fmt, ap);
        va_end(ap);
    }
    return 0;
}

/* REJECTED, remembered with the claimed hash (NULL: no usable hash). */
static int reject(struct upload *u, struct pf_ack *a, const uint8_t *claimed_hash)
{
    sqlite3_stmt *st = stmt(u, ST_SET_REJECT, a->seq);
    if (claimed_hash)
        sqlite3_bind_blob(st, 3, claimed_hash, PF_HASH_LEN, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, a->reason, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, u->now_ms);
    if (sqlite3_step(st) != SQLITE_DONE)
        return pf_db_fail(u->db, "remember reject");
    u->n_rejected++;
    return 0;
}

static int chain_hash(struct upload *u, const Rsgw__Platform__V1__UploadRecord *r,
                      uint8_t out[PF_HASH_LEN])
{
    unsigned int len = 0;
    if (EVP_DigestInit_ex2(u->md, EVP_sha256(), NULL) != 1 ||
        EVP_DigestUpdate(u->md, r->prev_hash.data, PF_HASH_LEN) != 1 ||
        (r->payload.len > 0 && EVP_DigestUpdate(u->md, r->payload.data, r->payload.len) != 1) ||
        EVP_DigestFinal_ex(u->md, out, &len) != 1 || len != PF_HASH_LEN) {
        fprintf(stderr, "rsgw-platform: SHA-256 failed (libcrypto)\n");
        return PF_ERR;
    }
    return 0;
}

/* An over-standard, judged pass with a plate is a finding for every checkpoint; so is a
 * failed roadside OBD inspection (exceeded "OBD"). */
static int add_finding(struct upload *u, uint64_t seq, const Rsgw__V1__Record *rec)
{
    const Rsgw__V1__Verdict *v = NULL;
    const Rsgw__V1__Vehicle *veh = NULL;
    if (rec->body_case == RSGW__V1__RECORD__BODY_PASS && rec->pass) {
        v = rec->pass->verdict;
        veh = rec->pass->vehicle;
    } else if (rec->body_case == RSGW__V1__RECORD__BODY_OBD && rec->obd) {
        v = rec->obd->verdict;
        veh = rec->obd->vehicle;
    }
    if (!v || !veh || !v->has_result || v->result != RSGW__V1__RESULT__RESULT_OVER_STANDARD ||
        !veh->plate || !veh->plate[0])
        return 0;
    struct pf_buf exceeded = {0};
    for (size_t i = 0; i < v->n_exceeded; i++)
        pf_buf_printf(&exceeded, "%s%s", i ? "\n" : "", v->exceeded[i] ? v->exceeded[i] : "");
    if (exceeded.failed) {
        pf_buf_free(&exceeded);
        return PF_ENOMEM;
    }
    int64_t time_ms = rec->has_time_ms ? rec->time_ms : 0;
    if (!rec->has_time_ms && rec->body_case == RSGW__V1__RECORD__BODY_PASS &&
        rec->pass->measurement && rec->pass->measurement->has_read_time_ms)
        time_ms = rec->pass->measurement->read_time_ms;
    sqlite3_stmt *st = stmt(u, ST_FINDING, seq);
    sqlite3_bind_text(st, 3, veh->plate, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, time_ms);
    sqlite3_bind_text(st, 5, rec->checkpoint ? rec->checkpoint : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, exceeded.p ? exceeded.p : "", -1, SQLITE_STATIC);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : pf_db_fail(u->db, "store finding");
    pf_buf_free(&exceeded);
    return rc;
}

static int store(struct upload *u, const Rsgw__Platform__V1__UploadRecord *r,
                 const Rsgw__V1__Record *rec)
{
    sqlite3_stmt *st = stmt(u, ST_INSERT, r->seq);
    sqlite3_bind_blob(st, 3, r->hash.data, PF_HASH_LEN, SQLITE_STATIC);
    sqlite3_bind_blob(st, 4, r->prev_hash.data, PF_HASH_LEN, SQLITE_STATIC);
    /* A zero-length blob must still be a blob, not NULL. */
    sqlite3_bind_blob(st, 5, r->payload.len ? (const void *)r->payload.data : "",
                      (int)r->payload.len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, u->now_ms);
    if (sqlite3_step(st) != SQLITE_DONE)
        return pf_db_fail(u->db, "store record");
    if (sqlite3_step(stmt(u, ST_UNREJECT, r->seq)) != SQLITE_DONE)
        return pf_db_fail(u->db, "forget reject");
    u->n_accepted++;
    return add_finding(u, r->seq, rec);
}

/* The chain checks, once the record itself is sound. */
static int judge_chain(struct upload *u, const Rsgw__Platform__V1__UploadRecord *r,
                       const Rsgw__V1__Record *rec, struct pf_ack *a)
{
    static const uint8_t zero[PF_HASH_LEN];
    uint8_t link[PF_HASH_LEN], other[PF_HASH_LEN];
    const uint64_t seq = r->seq;
    int held = 1;
    if (seq == 1) {
        memcpy(link, zero, sizeof link);
    } else {
        held = lookup(u, seq - 1, link, other);
        if (held < 0)
            return held;
    }
    if (held == 0) {
        if (seq > u->base_seq) {
            u->n_retries++;
            return answer(a, RSGW__PLATFORM__V1__ACK_STATUS__ACK_RETRY,
                          "gap: seq %" PRIu64 " is missing; send it first", seq - 1);
        }
        /* The gateway pruned seq - 1: this record starts a new segment. */
    } else if (held != 3 && memcmp(link, r->prev_hash.data, PF_HASH_LEN) != 0) {
        answer(a, RSGW__PLATFORM__V1__ACK_STATUS__ACK_REJECTED,
               "chain_conflict: prev_hash differs from the hash of seq %" PRIu64, seq - 1);
        return reject(u, a, r->hash.data);
    }
    uint8_t next_prev[PF_HASH_LEN];
    int next = lookup(u, seq + 1, other, next_prev);
    if (next < 0)
        return next;
    if (next == 1 && memcmp(next_prev, r->hash.data, PF_HASH_LEN) != 0) {
        answer(a, RSGW__PLATFORM__V1__ACK_STATUS__ACK_REJECTED,
               "chain_conflict: seq %" PRIu64 " is stored with a prev_hash that differs from this "
               "hash",
               seq + 1);
        return reject(u, a, r->hash.data);
    }
    answer(a, RSGW__PLATFORM__V1__ACK_STATUS__ACK_ACCEPTED, NULL);
    return store(u, r, rec);
}

static int judge(struct upload *u, const Rsgw__Platform__V1__UploadRecord *r, struct pf_ack *a)
{
    const int rejected = RSGW__PLATFORM__V1__ACK_STATUS__ACK_REJECTED;
    a->seq = r->has_seq ? r->seq : 0;
    if (!r->has_seq || r->seq == 0 || r->seq > INT64_MAX) {
        answer(a, rejected, "bad_seq: seq must be between 1 and 2^63-1");
        u->n_rejected++; /* nothing to remember it by */
        return 0;
    }
    if (!r->has_hash || r->hash.len != PF_HASH_LEN || !r->has_prev_hash ||
        r->prev_hash.len != PF_HASH_LEN) {
        answer(a, rejected, "bad_hash: hash and prev_hash must be 32 bytes each");
        return reject(u, a, NULL);
    }
    uint8_t h[PF_HASH_LEN], stored[PF_HASH_LEN], stored_prev[PF_HASH_LEN];
    if (chain_hash(u, r, h) != 0)
        return PF_ERR;
    if (memcmp(h, r->hash.data, PF_HASH_LEN) != 0) {
        answer(a, rejected, "bad_hash: SHA-256(prev_hash || payload) differs from hash");
        return reject(u, a, r->hash.data);
    }
    int held = lookup(u, r->seq, stored, stored_prev);
    if (held < 0)
        return held;
    if (held == 1) {
        if (memcmp(stored, r->hash.data, PF_HASH_LEN) == 0) {
            u->n_duplicates++;
            return answer(a, RSGW__PLATFORM__V1__ACK_STATUS__ACK_DUPLICATE, NULL);
        }
        /* Evidence is never overwritten. */
        answer(a, rejected, "conflict: seq %" PRIu64 " is stored with a different hash", r->seq);
        return reject(u, a, r->hash.data);
    }
    Rsgw__V1__Record *rec = rsgw__v1__record__unpack(NULL, r->payload.len, r->payload.data);
    int rc;
    if (!rec) {
        answer(a, rejected, "bad_payload: the payload is not a rsgw.v1.Record");
        rc = reject(u, a, r->hash.data);
    } else if (!rec->has_seq || rec->seq != r->seq) {
        answer(a, rejected, "seq_mismatch: the payload's seq is %" PRIu64 ", not %" PRIu64,
               rec->has_seq ? rec->seq : 0, r->seq);
        rc = reject(u, a, r->hash.data);
    } else if (rec->gateway_id && rec->gateway_id[0] && strcmp(rec->gateway_id, u->gw) != 0) {
        answer(a, rejected, "gateway_mismatch: the payload names gateway \"%.64s\"",
               rec->gateway_id);
        rc = reject(u, a, r->hash.data);
    } else {
        rc = judge_chain(u, r, rec, a);
    }
    rsgw__v1__record__free_unpacked(rec, NULL);
    return rc;
}

static int finish(struct upload *u, uint64_t *head_seq)
{
    sqlite3_stmt *st = pf_db_prepare(
        u->db, "INSERT INTO gateways(id, batches, accepted, duplicates, rejected, retries)"
               " VALUES(?1, 1, ?2, ?3, ?4, ?5) ON CONFLICT(id) DO UPDATE SET"
               " batches=batches+1, accepted=accepted+?2, duplicates=duplicates+?3,"
               " rejected=rejected+?4, retries=retries+?5");
    if (!st)
        return PF_ERR;
    sqlite3_bind_text(st, 1, u->gw, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)u->n_accepted);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)u->n_duplicates);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)u->n_rejected);
    sqlite3_bind_int64(st, 5, (sqlite3_int64)u->n_retries);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : pf_db_fail(u->db, "count upload");
    sqlite3_finalize(st);
    if (rc)
        return rc;
    st = pf_db_prepare(u->db, "SELECT COALESCE(MAX(seq), 0) FROM records WHERE gateway_id=?");
    if (!st)
        return PF_ERR;
    sqlite3_bind_text(st, 1, u->gw, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW)
        *head_seq = (uint64_t)sqlite3_column_int64(st, 0);
    else
        rc = pf_db_fail(u->db, "head seq");
    sqlite3_finalize(st);
    return rc;
}

int pf_db_upload(pf_db *db, const char *gateway_id, uint64_t chain_base_seq,
                 Rsgw__Platform__V1__UploadRecord *const *records, size_t process,
                 struct pf_ack *acks, uint64_t *head_seq)
{
    struct upload u = {.db = db, .gw = gateway_id, .base_seq = chain_base_seq};
    u.now_ms = pf_now_ms();
    u.md = EVP_MD_CTX_new();
    if (!u.md)
        return PF_ENOMEM;
    pthread_mutex_lock(&db->mu);
    int rc = pf_db_exec(db, "BEGIN IMMEDIATE");
    for (int i = 0; rc == 0 && i < ST_COUNT; i++)
        if (!(u.st[i] = pf_db_prepare(db, upload_sql[i])))
            rc = PF_ERR;
    for (size_t i = 0; rc == 0 && i < process; i++)
        rc = judge(&u, records[i], &acks[i]);
    if (rc == 0)
        rc = finish(&u, head_seq);
    for (int i = 0; i < ST_COUNT; i++)
        sqlite3_finalize(u.st[i]);
    if (rc == 0)
        rc = pf_db_exec(db, "COMMIT");
    if (rc != 0 && !sqlite3_get_autocommit(db->h))
        pf_db_exec(db, "ROLLBACK");
    pthread_mutex_unlock(&db->mu);
    EVP_MD_CTX_free(u.md);
    return rc;
}
