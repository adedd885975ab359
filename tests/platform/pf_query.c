/* SPDX-License-Identifier: MIT */
/* Reads (findings, registry, policy, stats) and the admin writes behind them. */
#include "pf_db_priv.h"

#include <inttypes.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Every allocation made while building one message; freed together. */
struct pool {
    void **p;
    size_t n, cap;
    bool failed;
};

static void *pool_keep(struct pool *pl, void *ptr)
{
    if (!ptr) {
        pl->failed = true;
        return NULL;
    }
    if (pl->n == pl->cap) {
        size_t cap = pl->cap ? pl->cap * 2 : 64;
        void **p = realloc(pl->p, cap * sizeof *p);
        if (!p) {
            free(ptr);
            pl->failed = true;
            return NULL;
        }
        pl->p = p;
        pl->cap = cap;
    }
    pl->p[pl->n++] = ptr;
    return ptr;
}

static char *pool_str(struct pool *pl, const unsigned char *s)
{
    return pool_keep(pl, strdup(s ? (const char *)s : ""));
}

static void pool_free(struct pool *pl)
{
    for (size_t i = 0; i < pl->n; i++)
        free(pl->p[i]);
    free(pl->p);
    memset(pl, 0, sizeof *pl);
}

/* Cursors: a letter naming the stream and 16 hex digits of a position. */
static int cursor_parse(char kind, const char *cursor, uint64_t *pos)
{
    *pos = 0;
    if (!cursor || !cursor[0])
        return 0;
    if (cursor[0] != kind || strlen(cursor) != 17)
        return PF_EINVAL;
    for (int i = 1; i < 17; i++) {
        char c = cursor[i];
        int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (v < 0)
            return PF_EINVAL;
        *pos = *pos * 16 + (uint64_t)v;
    }
    return 0;
}

static char *cursor_make(struct pool *pl, char kind, uint64_t pos)
{
    char buf[24];
    snprintf(buf, sizeof buf, "%c%016" PRIx64, kind, pos);
    return pool_str(pl, (const unsigned char *)buf);
}

static int pack_into(const ProtobufCMessage *msg, struct pf_buf *out)
{
    size_t len = protobuf_c_message_get_packed_size(msg);
    uint8_t *p = malloc(len ? len : 1);
    if (!p)
        return PF_ENOMEM;
    protobuf_c_message_pack(msg, p);
    pf_buf_add(out, p, len);
    free(p);
    return out->failed ? PF_ENOMEM : 0;
}

/* ---- findings ---- */

static Rsgw__Platform__V1__Finding *finding_row(struct pool *pl, sqlite3_stmt *st)
{
    Rsgw__Platform__V1__Finding *f = pool_keep(pl, malloc(sizeof *f));
    if (!f)
        return NULL;
    rsgw__platform__v1__finding__init(f);
    f->plate = pool_str(pl, sqlite3_column_text(st, 1));
    f->has_time_ms = 1;
    f->time_ms = sqlite3_column_int64(st, 2);
    f->gateway_id = pool_str(pl, sqlite3_column_text(st, 3));
    f->checkpoint = pool_str(pl, sqlite3_column_text(st, 4));
    f->has_seq = 1;
    f->seq = (uint64_t)sqlite3_column_int64(st, 5);
    f->has_judged = 1;
    f->judged = 1;
    char *exceeded = pool_str(pl, sqlite3_column_text(st, 6));
    if (!exceeded || !exceeded[0])
        return f;
    size_t n = 1;
    for (const char *c = exceeded; *c; c++)
        n += *c == '\n';
    f->exceeded = pool_keep(pl, calloc(n, sizeof *f->exceeded));
    if (!f->exceeded)
        return f;
    for (char *tok = exceeded, *save = NULL; (tok = strtok_r(tok, "\n", &save)); tok = NULL)
        f->exceeded[f->n_exceeded++] = tok;
    return f;
}

int pf_db_findings(pf_db *db, const char *cursor, unsigned limit, struct pf_buf *out)
{
    uint64_t after;
    if (cursor_parse('F', cursor, &after) != 0)
        return PF_EINVAL;
    struct pool pl = {0};
    Rsgw__Platform__V1__FindingsPage page = RSGW__PLATFORM__V1__FINDINGS_PAGE__INIT;
    page.findings = pool_keep(&pl, calloc(limit ? limit : 1, sizeof *page.findings));
    pthread_mutex_lock(&db->mu);
    int rc = PF_ERR;
    sqlite3_stmt *st =
        pf_db_prepare(db, "SELECT id, plate, time_ms, gateway_id, checkpoint, seq,"
                          " exceeded FROM findings WHERE id > ? ORDER BY id LIMIT ?");
    if (st && page.findings) {
        sqlite3_bind_int64(st, 1, (sqlite3_int64)after);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)limit + 1);
        int step;
        while ((step = sqlite3_step(st)) == SQLITE_ROW) {
            if (page.n_findings == limit) {
                page.more = 1;
                break;
            }
            after = (uint64_t)sqlite3_column_int64(st, 0);
            page.findings[page.n_findings++] = finding_row(&pl, st);
        }
        rc = step == SQLITE_ROW || step == SQLITE_DONE ? 0 : pf_db_fail(db, "findings");
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&db->mu);
    page.has_more = 1;
    page.next_cursor = cursor_make(&pl, 'F', after);
    if (rc == 0)
        rc = pl.failed ? PF_ENOMEM : pack_into(&page.base, out);
    pool_free(&pl);
    return rc;
}

/* ---- registry ---- */

static Rsgw__Platform__V1__RegistryVehicle *vehicle_row(struct pool *pl, sqlite3_stmt *st)
{
    Rsgw__Platform__V1__RegistryVehicle *v = pool_keep(pl, malloc(sizeof *v));
    if (!v)
        return NULL;
    rsgw__platform__v1__registry_vehicle__init(v);
    v->plate = pool_str(pl, sqlite3_column_text(st, 0));
    v->fuel = pool_str(pl, sqlite3_column_text(st, 3));
    v->has_emission_stage = 1;
    v->emission_stage = (uint32_t)sqlite3_column_int64(st, 4);
    v->has_gross_weight_kg = 1;
    v->gross_weight_kg = (uint32_t)sqlite3_column_int64(st, 5);
    v->vehicle_class = pool_str(pl, sqlite3_column_text(st, 6));
    v->vin = pool_str(pl, sqlite3_column_text(st, 7));
    v->exemption = pool_str(pl, sqlite3_column_text(st, 8));
    return v;
}

int pf_db_registry(pf_db *db, const char *cursor, unsigned limit, struct pf_buf *out)
{
    uint64_t after;
    if (cursor_parse('R', cursor, &after) != 0)
        return PF_EINVAL;
    struct pool pl = {0};
    Rsgw__Platform__V1__RegistryDelta d = RSGW__PLATFORM__V1__REGISTRY_DELTA__INIT;
    d.upserts = pool_keep(&pl, calloc(limit ? limit : 1, sizeof *d.upserts));
    d.deleted_plates = pool_keep(&pl, calloc(limit ? limit : 1, sizeof *d.deleted_plates));
    pthread_mutex_lock(&db->mu);
    int rc = PF_ERR;
    sqlite3_stmt *st = pf_db_prepare(db, "SELECT plate, change, deleted, fuel, emission_stage,"
                                         " gross_weight_kg, vehicle_class, vin, exemption"
                                         " FROM registry WHERE change > ? ORDER BY change LIMIT ?");
    if (st && d.upserts && d.deleted_plates) {
        sqlite3_bind_int64(st, 1, (sqlite3_int64)after);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)limit + 1);
        int step;
        while ((step = sqlite3_step(st)) == SQLITE_ROW) {
            if (d.n_upserts + d.n_deleted_plates == limit) {
                d.more = 1;
                break;
            }
            after = (uint64_t)sqlite3_column_int64(st, 1);
            if (sqlite3_column_int(st, 2))
                d.deleted_plates[d.n_deleted_plates++] = pool_str(&pl, sqlite3_column_text(st, 0));
            else
                d.upserts[d.n_upserts++] = vehicle_row(&pl, st);
        }
        rc = step == SQLITE_ROW || step == SQLITE_DONE ? 0 : pf_db_fail(db, "registry");
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&db->mu);
    d.has_more = 1;
    d.next_cursor = cursor_make(&pl, 'R', after);
    if (rc == 0)
        rc = pl.failed ? PF_ENOMEM : pack_into(&d.base, out);
    pool_free(&pl);
    return rc;
}

static int bind_opt_text(sqlite3_stmt *st, int i, const char *s)
{
    return s ? sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC) : sqlite3_bind_null(st, i);
}

int pf_db_registry_upsert(pf_db *db, const Rsgw__Platform__V1__RegistryVehicle *v)
{
    pthread_mutex_lock(&db->mu);
    int rc = PF_ERR;
    sqlite3_stmt *st = pf_db_prepare(
        db, "INSERT INTO registry(plate, change, deleted, fuel, emission_stage, gross_weight_kg,"
            " vehicle_class, vin, exemption) VALUES(?1, (SELECT COALESCE(MAX(change), 0) + 1"
            " FROM registry), 0, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT(plate) DO UPDATE SET"
            " change=excluded.change, deleted=0, fuel=?2, emission_stage=?3, gross_weight_kg=?4,"
            " vehicle_class=?5, vin=?6, exemption=?7");
    if (st) {
        sqlite3_bind_text(st, 1, v->plate, -1, SQLITE_STATIC);
        bind_opt_text(st, 2, v->fuel);
        sqlite3_bind_int64(st, 3, v->emission_stage);
        sqlite3_bind_int64(st, 4, v->gross_weight_kg);
        bind_opt_text(st, 5, v->vehicle_class);
        bind_opt_text(st, 6, v->vin);
        bind_opt_text(st, 7, v->exemption);
        rc = sqlite3_step(st) == SQLITE_DONE ? 0 : pf_db_fail(db, "registry upsert");
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&db->mu);
    return rc;
}

int pf_db_registry_delete(pf_db *db, const char *plate)
{
    pthread_mutex_lock(&db->mu);
    int rc = PF_ERR;
    sqlite3_stmt *st = pf_db_prepare(
        db, "UPDATE registry SET deleted=1, change=(SELECT MAX(change) + 1 FROM registry),"
            " fuel=NULL, emission_stage=NULL, gross_weight_kg=NULL, vehicle_class=NULL,"
            " vin=NULL, exemption=NULL WHERE plate=? AND deleted=0");
    if (st) {
        sqlite3_bind_text(st, 1, plate, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_DONE)
            rc = sqlite3_changes(db->h) ? 0 : PF_ENOENT;
        else
            rc = pf_db_fail(db, "registry delete");
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&db->mu);
    return rc;
}

/* ---- policy ---- */

int pf_db_policy(pf_db *db, const char *gateway_id, struct pf_buf *out, char *version,
                 size_t version_len)
{
    struct pf_buf body = {0};
    pthread_mutex_lock(&db->mu);
    int rc = PF_ERR;
    sqlite3_stmt *st = pf_db_prepare(db, "SELECT body FROM policies WHERE gateway_id IN (?, '*')"
                                         " ORDER BY gateway_id = '*' LIMIT 1");
    if (st) {
        sqlite3_bind_text(st, 1, gateway_id, -1, SQLITE_STATIC);
        int step = sqlite3_step(st);
        if (step == SQLITE_ROW) {
            pf_buf_add(&body, sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0));
            rc = 0;
        } else if (step == SQLITE_DONE) {
            rc = 0; /* the built-in default below */
        } else {
            rc = pf_db_fail(db, "policy");
        }
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&db->mu);
    if (rc == 0 && body.len == 0) {
        Rsgw__Platform__V1__PolicyUpdate def = RSGW__PLATFORM__V1__POLICY_UPDATE__INIT;
        def.has_alert_level = 1;
        def.alert_level = RSGW__PLATFORM__V1__ALERT_LEVEL__ALERT_NONE;
        rc = pack_into(&def.base, &body);
    }
    if (rc == 0 && body.failed)
        rc = PF_ENOMEM;
    Rsgw__Platform__V1__PolicyUpdate *p = NULL;
    if (rc == 0 &&
        !(p = rsgw__platform__v1__policy_update__unpack(NULL, body.len, (uint8_t *)body.p))) {
        fprintf(stderr, "rsgw-platform: %s: stored policy for %s does not decode\n", db->path,
                gateway_id);
        rc = PF_ERR;
    }
    if (rc == 0) {
        /* Content-addressed: the version changes exactly when the policy does. */
        uint8_t md[32];
        unsigned int md_len = 0;
        char hex[65];
        if (!EVP_Digest(body.p, body.len, md, &md_len, EVP_sha256(), NULL) || md_len != 32) {
            rc = PF_ERR;
        } else {
            pf_hex(md, 8, hex);
            snprintf(version, version_len, "%s", hex);
            p->version = hex;
            rc = pack_into(&p->base, out);
            p->version = NULL;
        }
    }
    if (p)
        rsgw__platform__v1__policy_update__free_unpacked(p, NULL);
    pf_buf_free(&body);
    return rc;
}

int pf_db_policy_set(pf_db *db, const char *gateway_id,
                     const Rsgw__Platform__V1__PolicyUpdate *policy)
{
    struct pf_buf body = {0};
    if (policy) {
        Rsgw__Platform__V1__PolicyUpdate copy = *policy;
        copy.version = NULL;
        if (pack_into(&copy.base, &body) != 0) {
            pf_buf_free(&body);
            return PF_ENOMEM;
        }
    }
    pthread_mutex_lock(&db->mu);
    sqlite3_stmt *st =
        pf_db_prepare(db, policy ? "INSERT OR REPLACE INTO policies(gateway_id, body) VALUES(?, ?)"
                                 : "DELETE FROM policies WHERE gateway_id=?");
    int rc = PF_ERR;
    if (st) {
        sqlite3_bind_text(st, 1, gateway_id, -1, SQLITE_STATIC);
        if (policy)
            sqlite3_bind_blob(st, 2, body.p ? body.p : "", (int)body.len, SQLITE_STATIC);
        rc = sqlite3_step(st) == SQLITE_DONE ? 0 : pf_db_fail(db, "policy set");
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&db->mu);
    pf_buf_free(&body);
    return rc;
}

/* ---- stats and dumps ---- */

/* Recompute every stored hash and link of a gateway: chain_ok and segments. */
static int chain_check(pf_db *db, const char *gw, EVP_MD_CTX *md, bool *ok, unsigned long *segments,
                       uint64_t *first_seq)
{
    sqlite3_stmt *st = pf_db_prepare(db, "SELECT seq, hash, prev_hash, payload FROM records"
                                         " WHERE gateway_id=? ORDER BY seq");
    if (!st)
        return PF_ERR;
    sqlite3_bind_text(st, 1, gw, -1, SQLITE_STATIC);
    uint8_t last_hash[PF_HASH_LEN];
    uint64_t last_seq = 0;
    *ok = true;
    *segments = 0;
    *first_seq = 0;
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        uint64_t seq = (uint64_t)sqlite3_column_int64(st, 0);
        const uint8_t *hash = sqlite3_column_blob(st, 1);
        const uint8_t *prev = sqlite3_column_blob(st, 2);
        const void *payload = sqlite3_column_blob(st, 3);
        int len = sqlite3_column_bytes(st, 3);
        uint8_t h[PF_HASH_LEN];
        unsigned int hlen = 0;
        if (EVP_DigestInit_ex2(md, EVP_sha256(), NULL) != 1 ||
            EVP_DigestUpdate(md, prev, PF_HASH_LEN) != 1 ||
            (len > 0 && EVP_DigestUpdate(md, payload, (size_t)len) != 1) ||
            EVP_DigestFinal_ex(md, h, &hlen) != 1 || memcmp(h, hash, PF_HASH_LEN) != 0)
            *ok = false;
        if (*first_seq == 0)
            *first_seq = seq;
        if (last_seq && seq == last_seq + 1) {
            if (memcmp(prev, last_hash, PF_HASH_LEN) != 0)
                *ok = false;
        } else {
            (*segments)++;
        }
        memcpy(last_hash, hash, PF_HASH_LEN);
        last_seq = seq;
    }
    sqlite3_finalize(st);
    return step == SQLITE_DONE ? 0 : pf_db_fail(db, "chain check");
}

static int stats_gateways(pf_db *db, EVP_MD_CTX *md, struct pf_buf *out)
{
    sqlite3_stmt *st =
        pf_db_prepare(db, "SELECT id, registered, batches, accepted, duplicates, rejected, retries,"
                          " (SELECT COUNT(*) FROM records r WHERE r.gateway_id=g.id),"
                          " (SELECT COALESCE(MAX(seq), 0) FROM records r WHERE r.gateway_id=g.id)"
                          " FROM gateways g ORDER BY id");
    if (!st)
        return PF_ERR;
    pf_buf_printf(out, "\"gateways\":[");
    int step, rc = 0;
    for (int n = 0; rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW; n++) {
        const char *id = (const char *)sqlite3_column_text(st, 0);
        bool ok = false;
        unsigned long segments = 0;
        uint64_t first = 0;
        rc = chain_check(db, id, md, &ok, &segments, &first);
        pf_buf_printf(out, "%s{\"gateway_id\":", n ? "," : "");
        pf_buf_json_str(out, id);
        pf_buf_printf(
            out,
            ",\"registered\":%s,\"records\":%lld,\"head_seq\":%lld,\"first_seq\":%" PRIu64
            ",\"segments\":%lu,\"chain_ok\":%s,\"batches\":%lld,\"accepted\":%lld,"
            "\"duplicates\":%lld,\"rejected\":%lld,\"retries\":%lld}",
            sqlite3_column_int(st, 1) ? "true" : "false", (long long)sqlite3_column_int64(st, 7),
            (long long)sqlite3_column_int64(st, 8), first, segments, ok ? "true" : "false",
            (long long)sqlite3_column_int64(st, 2), (long long)sqlite3_column_int64(st, 3),
            (long long)sqlite3_column_int64(st, 4), (long long)sqlite3_column_int64(st, 5),
            (long long)sqlite3_column_int64(st, 6));
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = pf_db_fail(db, "stats");
    sqlite3_finalize(st);
    pf_buf_printf(out, "]");
    return rc;
}

static int count(pf_db *db, const char *sql, long long *n)
{
    sqlite3_stmt *st = pf_db_prepare(db, sql);
    if (!st)
        return PF_ERR;
    int rc = sqlite3_step(st) == SQLITE_ROW ? 0 : pf_db_fail(db, sql);
    *n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return rc;
}

int pf_db_stats_json(pf_db *db, struct pf_buf *out)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (!md)
        return PF_ENOMEM;
    pthread_mutex_lock(&db->mu);
    long long findings = 0, vehicles = 0;
    int rc = stats_gateways(db, md, out);
    if (rc == 0)
        rc = count(db, "SELECT COUNT(*) FROM findings", &findings);
    if (rc == 0)
        rc = count(db, "SELECT COUNT(*) FROM registry WHERE deleted=0", &vehicles);
    pthread_mutex_unlock(&db->mu);
    EVP_MD_CTX_free(md);
    pf_buf_printf(out, ",\"findings\":%lld,\"registry_vehicles\":%lld", findings, vehicles);
    return rc ? rc : out->failed ? PF_ENOMEM : 0;
}

int pf_db_seqs(pf_db *db, const char *gateway_id, bool rejects, struct pf_buf *out)
{
    pthread_mutex_lock(&db->mu);
    sqlite3_stmt *st = pf_db_prepare(
        db, rejects ? "SELECT seq, reason FROM rejects WHERE gateway_id=? ORDER BY seq"
                    : "SELECT seq, NULL FROM records WHERE gateway_id=? ORDER BY seq");
    int rc = PF_ERR;
    if (st) {
        sqlite3_bind_text(st, 1, gateway_id, -1, SQLITE_STATIC);
        int step;
        while ((step = sqlite3_step(st)) == SQLITE_ROW) {
            pf_buf_printf(out, "%lld", (long long)sqlite3_column_int64(st, 0));
            if (rejects)
                pf_buf_printf(out, " %s", (const char *)sqlite3_column_text(st, 1));
            pf_buf_add(out, "\n", 1);
        }
        rc = step == SQLITE_DONE ? 0 : pf_db_fail(db, "seqs");
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&db->mu);
    return rc ? rc : out->failed ? PF_ENOMEM : 0;
}
