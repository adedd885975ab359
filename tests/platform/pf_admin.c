/* SPDX-License-Identifier: MIT */
/*
 * /admin/: what tests, the demo and site acceptance use to set the platform's
 * state and to look inside it. Arguments are key=value pairs in the query
 * string or the body (urlencoded, or one pair per line); answers are text,
 * except /admin/stats (JSON).
 */
#include "pf.h"

#include <ctype.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
    (void)kind;
    pf_form_add(cls, key, value);
    return MHD_YES;
}

static bool parse_u64(const char *s, uint64_t *out)
{
    if (!s || !s[0] || strlen(s) > 19)
        return false;
    for (const char *p = s; *p; p++)
        if (!isdigit((unsigned char)*p))
            return false;
    *out = strtoull(s, NULL, 10);
    return true;
}

/* An optional number argument: absent keeps *out; false (answer made) for junk. */
static bool arg_u64(const struct pf_form *f, const char *key, uint64_t max, uint64_t *out,
                    struct pf_answer *a)
{
    const char *s = pf_form_get(f, key);
    if (!s)
        return true;
    uint64_t v;
    if (!parse_u64(s, &v) || v > max) {
        pf_answer_text(a, MHD_HTTP_BAD_REQUEST, "%s=%s: expected a whole number up to %" PRIu64,
                       key, s, max);
        return false;
    }
    *out = v;
    return true;
}

static int word_index(const char *s, const char *const *words, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(s, words[i]) == 0)
            return (int)i;
    return -1;
}

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

static const char *const alert_words[] = {"none", "blue", "yellow", "orange", "red"};
static const char *const exemption_words[] = {"none", "livelihood", "emergency", "enforcement"};
static const char *const fuel_words[] = {"diesel",   "gasoline", "gas",
                                         "electric", "hybrid",   "unknown"};
static const char *const class_words[] = {"car", "bus", "truck", "other", "unknown"};

/* An optional word argument from a fixed list; false (answer made) for others. */
static bool arg_word(const struct pf_form *f, const char *key, const char *const *words, size_t n,
                     const char **out, struct pf_answer *a)
{
    const char *s = pf_form_get(f, key);
    if (!s)
        return true;
    if (word_index(s, words, n) < 0) {
        struct pf_buf list = {0};
        for (size_t i = 0; i < n; i++)
            pf_buf_printf(&list, "%s%s", i ? ", " : "", words[i]);
        pf_answer_text(a, MHD_HTTP_BAD_REQUEST, "%s=%s: expected one of %s", key, s,
                       list.p ? list.p : "");
        pf_buf_free(&list);
        return false;
    }
    *out = s;
    return true;
}

/* exempt=PLATE:EXEMPTION[:VALID_UNTIL_MS] */
static bool parse_exempt(const char *spec, Rsgw__Platform__V1__ExemptPlate *e, char *buf,
                         size_t buflen, struct pf_answer *a)
{
    snprintf(buf, buflen, "%s", spec);
    char *kind = strchr(buf, ':');
    char *until = kind ? strchr(kind + 1, ':') : NULL;
    if (kind)
        *kind++ = '\0';
    if (until)
        *until++ = '\0';
    uint64_t until_ms = 0;
    if (!buf[0] || !kind || word_index(kind, exemption_words + 1, 3) < 0 ||
        (until && !parse_u64(until, &until_ms)) || until_ms > INT64_MAX) {
        pf_answer_text(
            a, MHD_HTTP_BAD_REQUEST,
            "exempt=%s: expected PLATE:livelihood|emergency|enforcement[:VALID_UNTIL_MS]", spec);
        return false;
    }
    rsgw__platform__v1__exempt_plate__init(e);
    e->plate = buf;
    e->exemption = kind;
    e->has_valid_until_ms = 1;
    e->valid_until_ms = (int64_t)until_ms;
    return true;
}

static void admin_policy(struct pf_server *srv, const char *method, const struct pf_form *f,
                         struct pf_answer *a)
{
    const char *gw = pf_form_get(f, "gateway");
    if (!gw || !gw[0])
        gw = "*";
    if (strcmp(gw, "*") != 0 && !pf_gateway_id_valid(gw))
        return pf_answer_text(a, MHD_HTTP_BAD_REQUEST, "gateway=%s: not a gateway id", gw);
    if (strcmp(method, "DELETE") == 0) {
        if (pf_db_policy_set(srv->db, gw, NULL) != 0)
            return pf_answer_text(a, 500, "storage failure (see the log)");
        return pf_answer_text(a, MHD_HTTP_OK, "policy %s cleared", gw);
    }
    Rsgw__Platform__V1__PolicyUpdate p = RSGW__PLATFORM__V1__POLICY_UPDATE__INIT;
    const char *alert = "none", *limit_set = NULL;
    uint64_t from = (uint64_t)pf_now_ms(), until = 0, hours = 0;
    if (!arg_word(f, "alert", alert_words, N_OF(alert_words), &alert, a) ||
        !arg_u64(f, "valid_from_ms", INT64_MAX, &from, a) ||
        !arg_u64(f, "valid_until_ms", INT64_MAX, &until, a) ||
        !arg_u64(f, "for_hours", 24 * 366, &hours, a))
        return;
    if (hours)
        until = from + hours * 3600000u;
    if (pf_form_get(f, "limit_set")) {
        static const char *const sets[] = {"a", "b"};
        if (!arg_word(f, "limit_set", sets, 2, &limit_set, a))
            return;
    }
    p.has_alert_level = 1;
    p.alert_level =
        (Rsgw__Platform__V1__AlertLevel)word_index(alert, alert_words, N_OF(alert_words));
    p.has_alert_valid_from_ms = 1;
    p.alert_valid_from_ms = (int64_t)from;
    p.has_alert_valid_until_ms = 1;
    p.alert_valid_until_ms = (int64_t)until;
    p.limit_set = (char *)limit_set;

    Rsgw__Platform__V1__ExemptPlate items[64], *ptrs[64];
    char bufs[64][128];
    for (size_t i = 0; i < f->n; i++) {
        if (strcmp(f->kv[i].key, "exempt") != 0)
            continue;
        if (p.n_exempt_plates == N_OF(items))
            return pf_answer_text(a, MHD_HTTP_BAD_REQUEST, "at most %zu exempt plates",
                                  N_OF(items));
        size_t k = p.n_exempt_plates;
        if (!parse_exempt(f->kv[i].value, &items[k], bufs[k], sizeof bufs[k], a))
            return;
        ptrs[k] = &items[k];
        p.n_exempt_plates++;
    }
    p.exempt_plates = ptrs;
    if (pf_db_policy_set(srv->db, gw, &p) != 0)
        return pf_answer_text(a, 500, "storage failure (see the log)");
    struct pf_buf ignored = {0};
    char version[40] = "";
    pf_db_policy(srv->db, strcmp(gw, "*") == 0 ? "*" : gw, &ignored, version, sizeof version);
    pf_buf_free(&ignored);
    pf_answer_text(a, MHD_HTTP_OK, "policy %s version %s alert %s exempt %zu", gw, version, alert,
                   p.n_exempt_plates);
}

static void admin_registry(struct pf_server *srv, const struct pf_form *f, struct pf_answer *a)
{
    const char *plate = pf_form_get(f, "plate");
    const char *op = pf_form_get(f, "op");
    if (!plate || !plate[0] || strlen(plate) > 47)
        return pf_answer_text(a, MHD_HTTP_BAD_REQUEST, "plate=...: required (1-47 bytes)");
    if (op && strcmp(op, "delete") == 0) {
        int rc = pf_db_registry_delete(srv->db, plate);
        if (rc == PF_ENOENT)
            return pf_answer_text(a, MHD_HTTP_NOT_FOUND, "plate %s is not in the registry", plate);
        if (rc != 0)
            return pf_answer_text(a, 500, "storage failure (see the log)");
        return pf_answer_text(a, MHD_HTTP_OK, "deleted %s", plate);
    }
    if (op && strcmp(op, "upsert") != 0)
        return pf_answer_text(a, MHD_HTTP_BAD_REQUEST, "op=%s: expected upsert or delete", op);
    Rsgw__Platform__V1__RegistryVehicle v = RSGW__PLATFORM__V1__REGISTRY_VEHICLE__INIT;
    const char *fuel = "unknown", *cls = "unknown", *exemption = "none";
    uint64_t stage = 0, weight = 0;
    if (!arg_word(f, "fuel", fuel_words, N_OF(fuel_words), &fuel, a) ||
        !arg_word(f, "class", class_words, N_OF(class_words), &cls, a) ||
        !arg_word(f, "exemption", exemption_words, N_OF(exemption_words), &exemption, a) ||
        !arg_u64(f, "stage", 6, &stage, a) || !arg_u64(f, "weight_kg", UINT32_MAX, &weight, a))
        return;
    v.plate = (char *)plate;
    v.fuel = (char *)fuel;
    v.has_emission_stage = 1;
    v.emission_stage = (uint32_t)stage;
    v.has_gross_weight_kg = 1;
    v.gross_weight_kg = (uint32_t)weight;
    v.vehicle_class = (char *)cls;
    v.vin = (char *)(pf_form_get(f, "vin") ? pf_form_get(f, "vin") : "");
    v.exemption = (char *)exemption;
    if (pf_db_registry_upsert(srv->db, &v) != 0)
        return pf_answer_text(a, 500, "storage failure (see the log)");
    pf_answer_text(a, MHD_HTTP_OK, "upserted %s", plate);
}

static bool parse_endpoints(const char *s, unsigned *out)
{
    static const char *const names[] = {"upload", "findings", "policy", "registry"};
    char buf[128];
    snprintf(buf, sizeof buf, "%s", s);
    *out = 0;
    for (char *tok = buf, *save = NULL; (tok = strtok_r(tok, ",", &save)); tok = NULL) {
        if (strcmp(tok, "any") == 0) {
            *out |= PF_EP_ANY;
            continue;
        }
        int i = word_index(tok, names, N_OF(names));
        if (i < 0)
            return false;
        *out |= 1u << i;
    }
    return *out != 0;
}

static void admin_faults(struct pf_server *srv, const char *method, const struct pf_form *f,
                         struct pf_answer *a)
{
    if (strcmp(method, "DELETE") == 0) {
        pf_faults_clear(srv->faults);
        return pf_answer_text(a, MHD_HTTP_OK, "faults cleared");
    }
    if (strcmp(method, "GET") == 0) {
        pf_answer_text(a, MHD_HTTP_OK, "faults");
        pf_buf_free(&a->body);
        pf_faults_describe(srv->faults, &a->body);
        return;
    }
    const char *mode = pf_form_get(f, "mode");
    struct pf_fault fault = {.endpoints = PF_EP_ANY, .count = 1, .probability = 1.0};
    if (!mode || pf_fault_mode_parse(mode, &fault.mode) != 0)
        return pf_answer_text(a, MHD_HTTP_BAD_REQUEST,
                              "mode=%s: expected status, hang, slow, drop_before_store, "
                              "drop_after_store or partial",
                              mode ? mode : "(missing)");
    const char *on = pf_form_get(f, "on");
    if (on && !parse_endpoints(on, &fault.endpoints))
        return pf_answer_text(a, MHD_HTTP_BAD_REQUEST,
                              "on=%s: expected any or a list of upload, findings, policy, registry",
                              on);
    uint64_t status = 0, retry_after = 0, ms = 0, k = 0, n = 1;
    if (!arg_u64(f, "status", 599, &status, a) ||
        !arg_u64(f, "retry_after", 86400, &retry_after, a) || !arg_u64(f, "ms", 3600000, &ms, a) ||
        !arg_u64(f, "k", 1000000, &k, a) || !arg_u64(f, "count", 1000000, &n, a))
        return;
    if (fault.mode == PF_FAULT_STATUS && status < 400)
        return pf_answer_text(a, MHD_HTTP_BAD_REQUEST, "mode=status needs status=400..599");
    if (fault.mode == PF_FAULT_SLOW && ms == 0)
        return pf_answer_text(a, MHD_HTTP_BAD_REQUEST, "mode=slow needs ms=1..3600000");
    const char *prob = pf_form_get(f, "probability");
    if (prob) {
        char *end;
        double p = strtod(prob, &end);
        if (*end || !(p > 0.0 && p <= 1.0))
            return pf_answer_text(a, MHD_HTTP_BAD_REQUEST, "probability=%s: expected 0 < p <= 1",
                                  prob);
        fault.probability = p;
        if (!pf_form_get(f, "count"))
            n = 0; /* a probability without a count lasts until cleared */
    }
    fault.status = (unsigned)status;
    fault.retry_after_s = (unsigned)retry_after;
    fault.ms = (unsigned)ms;
    fault.k = (unsigned)k;
    fault.count = (unsigned)n;
    if (pf_faults_add(srv->faults, &fault) != 0)
        return pf_answer_text(a, MHD_HTTP_BAD_REQUEST, "too many faults; DELETE /admin/faults");
    pf_answer_text(a, MHD_HTTP_OK, "fault %s added", mode);
}

static void admin_stats(struct pf_server *srv, struct pf_answer *a)
{
    a->status = MHD_HTTP_OK;
    a->content_type = "application/json";
    struct pf_buf *b = &a->body;
    pf_buf_printf(b,
                  "{\"requests\":{\"upload\":%lu,\"findings\":%lu,\"policy\":%lu,\"registry\":%lu},"
                  "\"faults_fired\":%lu,\"max_batch_records\":%u,",
                  atomic_load(&srv->requests[0]), atomic_load(&srv->requests[1]),
                  atomic_load(&srv->requests[2]), atomic_load(&srv->requests[3]),
                  pf_faults_fired(srv->faults), atomic_load(&srv->max_batch_records));
    if (pf_db_stats_json(srv->db, b) != 0)
        return pf_answer_text(a, 500, "storage failure (see the log)");
    pf_buf_printf(b, "}\n");
}

/* /admin/gateways/{id}[/seqs|/rejects] */
static void admin_gateway(struct pf_server *srv, const char *method, const char *rest,
                          struct pf_answer *a)
{
    char id[PF_GATEWAY_ID_MAX + 8];
    size_t n = strcspn(rest, "/");
    if (n >= sizeof id)
        return pf_answer_text(a, MHD_HTTP_BAD_REQUEST, "not a gateway id");
    memcpy(id, rest, n);
    id[n] = '\0';
    const char *what = rest[n] ? rest + n + 1 : "";
    if (!pf_gateway_id_valid(id))
        return pf_answer_text(a, MHD_HTTP_BAD_REQUEST, "\"%s\" is not a gateway id", id);
    if (!what[0] && (strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0)) {
        if (pf_db_gateway_register(srv->db, id) != 0)
            return pf_answer_text(a, 500, "storage failure (see the log)");
        return pf_answer_text(a, MHD_HTTP_OK, "registered %s", id);
    }
    bool rejects = strcmp(what, "rejects") == 0;
    if (strcmp(method, "GET") != 0 || (!rejects && strcmp(what, "seqs") != 0))
        return pf_answer_text(a, MHD_HTTP_NOT_FOUND,
                              "use POST /admin/gateways/ID, GET .../seqs or GET .../rejects");
    a->status = MHD_HTTP_OK;
    a->content_type = "text/plain; charset=utf-8";
    if (pf_db_seqs(srv->db, id, rejects, &a->body) != 0)
        pf_answer_text(a, 500, "storage failure (see the log)");
}

void pf_admin(struct pf_server *srv, const struct pf_request *rq, struct pf_answer *a)
{
    struct pf_form form = {0};
    MHD_get_connection_values(rq->conn, MHD_GET_ARGUMENT_KIND, collect_arg, &form);
    pf_form_parse(&form, (const char *)rq->body, rq->body_len);
    const char *path = rq->url + strlen("/admin/");
    const char *m = rq->method;
    bool get = strcmp(m, "GET") == 0, post = strcmp(m, "POST") == 0, del = strcmp(m, "DELETE") == 0;
    if (form.overflow)
        pf_answer_text(a, MHD_HTTP_BAD_REQUEST, "too many arguments (at most %zu)", N_OF(form.kv));
    else if (strcmp(path, "stats") == 0 && get)
        admin_stats(srv, a);
    else if (strncmp(path, "gateways/", 9) == 0)
        admin_gateway(srv, m, path + 9, a);
    else if (strcmp(path, "policy") == 0 && (post || del))
        admin_policy(srv, m, &form, a);
    else if (strcmp(path, "registry") == 0 && post)
        admin_registry(srv, &form, a);
    else if (strcmp(path, "faults") == 0 && (get || post || del))
        admin_faults(srv, m, &form, a);
    else if (strcmp(path, "limits") == 0 && post) {
        uint64_t max = atomic_load(&srv->max_batch_records);
        if (arg_u64(&form, "max_batch_records", 1000000, &max, a)) {
            atomic_store(&srv->max_batch_records, max ? (unsigned)max : PF_MAX_BATCH_RECORDS);
            pf_answer_text(a, MHD_HTTP_OK, "max_batch_records %u",
                           atomic_load(&srv->max_batch_records));
        }
    } else
        pf_answer_text(a, MHD_HTTP_NOT_FOUND, "no admin endpoint %s %s (see docs/platform-api.md)",
                       m, rq->url);
    pf_form_free(&form);
}
