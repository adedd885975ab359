/* SPDX-License-Identifier: MIT */
/* Pulls: findings from other checkpoints, the platform's policy, registry deltas. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pipeline.h"
#include "plate.h"
#include "registry.h"
#include "rsgw/platform/v1/platform.pb-c.h"
#include "store_sync.h"
#include "sync_internal.h"

#define PAGE_LIMIT 500

static enum sync_pull_step next_step(const struct sync_upstream *u, enum sync_pull_step s)
{
    const struct config_upstream *c = &u->cfg;
    if (s < PULL_FINDINGS && c->pull_findings)
        return PULL_FINDINGS;
    if (s < PULL_POLICY && c->pull_policy)
        return PULL_POLICY;
    if (s < PULL_REGISTRY && c->pull_registry)
        return PULL_REGISTRY;
    return PULL_IDLE;
}

static void setting_key(const struct sync_upstream *u, const char *what, char *buf, size_t len)
{
    snprintf(buf, len, "sync.%s.%s", u->cfg.name, what);
}

static void copy_plate(const char *in, char *out, size_t cap)
{
    struct plate_info p;
    plate_parse(in, &p);
    snprintf(out, cap, "%s", p.valid ? p.normalised : in);
}

/* Cursor query parameter ("" when starting from the beginning). */
static void cursor_param(CURL *h, const char *cursor, char *out, size_t len)
{
    out[0] = '\0';
    if (!cursor || !*cursor)
        return;
    char *esc = curl_easy_escape(h, cursor, 0);
    if (esc)
        snprintf(out, len, "&cursor=%s", esc);
    curl_free(esc);
}

static void start_step(struct sync_upstream *u, int64_t mono)
{
    sync_engine *e = u->e;
    struct sync_xfer *x = &u->pull;
    char path[1024], cur[512], param[700];
    int rc;
    switch (u->step) {
    case PULL_FINDINGS:
        x->kind = SYNC_FINDINGS;
        rc = store_remote_cursor(e->st, u->cfg.name, cur, sizeof cur);
        if (rc < 0) {
            sync_store_failed(e, rc, "read the findings cursor");
            cur[0] = '\0';
        }
        cursor_param(x->easy, rc == 1 ? cur : NULL, param, sizeof param);
        snprintf(path, sizeof path, "/v1/findings?limit=%d%s", PAGE_LIMIT, param);
        break;
    case PULL_POLICY: {
        x->kind = SYNC_POLICY;
        char *id = curl_easy_escape(x->easy, e->cfg->gateway_id, 0);
        snprintf(path, sizeof path, "/v1/gateways/%s/policy", id ? id : "");
        curl_free(id);
        break;
    }
    case PULL_REGISTRY: {
        x->kind = SYNC_REGISTRY;
        char key[96];
        setting_key(u, "registry_cursor", key, sizeof key);
        rc = store_setting_get(e->st, key, cur, sizeof cur);
        cursor_param(x->easy, rc == 1 ? cur : NULL, param, sizeof param);
        snprintf(path, sizeof path, "/v1/registry?limit=%d%s", PAGE_LIMIT, param);
        break;
    }
    case PULL_IDLE:
        return;
    }
    if (sync_xfer_start(x, path, NULL, 0, u->step == PULL_POLICY ? u->policy_etag : NULL) < 0) {
        u->step = PULL_IDLE;
        u->pull_failures++;
        u->next_pull_mono = mono + sync_backoff_ms(u, u->pull_failures);
    }
}

/* ---- the alert level ---- */

static int set_if_changed(sync_engine *e, const char *key, const char *value, bool *changed)
{
    char cur[160];
    int rc = store_setting_get(e->st, key, cur, sizeof cur);
    if (rc == 1 && strcmp(cur, value) == 0)
        return 0;
    rc = store_setting_set(e->st, key, value);
    if (rc == 0)
        *changed = true;
    return rc;
}

static int apply_alert(struct sync_upstream *u, int level, int64_t until_ms)
{
    sync_engine *e = u->e;
    char until[32];
    snprintf(until, sizeof until, "%lld", (long long)until_ms);
    bool changed = false;
    /* Expiry first: the daemon reads the level, then its expiry. */
    int rc = set_if_changed(e, ALERT_UNTIL_KEY, until, &changed);
    if (rc == 0)
        rc =
            set_if_changed(e, ALERT_LEVEL_KEY, alert_level_name((enum alert_level)level), &changed);
    if (rc == 0)
        rc = set_if_changed(e, SYNC_ALERT_SOURCE_KEY, u->cfg.name, &changed);
    if (rc < 0) {
        sync_store_failed(e, rc, "apply the platform's alert level");
        return rc;
    }
    if (changed) {
        e->settings_changed = true;
        log_msg(e->lg, LOG_NOTICE,
                "upstream %s: platform sets the heavy-pollution alert level %s%s", u->cfg.name,
                alert_level_name((enum alert_level)level), until_ms ? " (with an expiry)" : "");
    }
    return 0;
}

/* ---- findings ---- */

static uint32_t pollutant_bits(char **names, size_t n)
{
    uint32_t bits = 0;
    for (size_t i = 0; i < n; i++)
        for (uint32_t b = 1; b && b <= POLLUTANT_OBD; b <<= 1)
            if (names[i] && strcasecmp(names[i], history_pollutant_name(b)) == 0)
                bits |= b;
    return bits;
}

/* 1 = more pages, 0 = done, <0 failed (noted). */
static int apply_findings(struct sync_upstream *u, const char *sent_cursor)
{
    sync_engine *e = u->e;
    struct sync_xfer *x = &u->pull;
    Rsgw__Platform__V1__FindingsPage *pg =
        rsgw__platform__v1__findings_page__unpack(NULL, x->resp.len, x->resp.data);
    if (!pg) {
        sync_note_error(u, SLOT_PULL, "findings: the answer is not a FindingsPage (%zu bytes)",
                        x->resp.len);
        return -1;
    }
    struct store_remote_finding *f = calloc(pg->n_findings ? pg->n_findings : 1, sizeof *f);
    if (!f) {
        rsgw__platform__v1__findings_page__free_unpacked(pg, NULL);
        return -1;
    }
    size_t n = 0, unknown = 0;
    for (size_t i = 0; i < pg->n_findings; i++) {
        const Rsgw__Platform__V1__Finding *src = pg->findings[i];
        if (!src->plate || !*src->plate || !src->gateway_id || !src->has_seq || !src->has_time_ms ||
            (src->has_judged && !src->judged))
            continue;
        if (strcmp(src->gateway_id, e->cfg->gateway_id) == 0)
            continue; /* our own, already in the chain */
        uint32_t bits = pollutant_bits(src->exceeded, src->n_exceeded);
        if (!bits) {
            unknown++; /* a pollutant this build does not judge: not counted */
            continue;
        }
        struct store_remote_finding *d = &f[n++];
        copy_plate(src->plate, d->plate, sizeof d->plate);
        d->time_ms = src->time_ms;
        snprintf(d->gateway_id, sizeof d->gateway_id, "%s", src->gateway_id);
        snprintf(d->checkpoint, sizeof d->checkpoint, "%s",
                 src->checkpoint && *src->checkpoint ? src->checkpoint : src->gateway_id);
        d->seq = src->seq;
        d->exceeded = bits;
    }
    const char *next = pg->next_cursor && *pg->next_cursor ? pg->next_cursor : sent_cursor;
    int rc = store_remote_findings_add(e->st, u->cfg.name, f, n, next);
    free(f);
    bool more = pg->has_more && pg->more && pg->next_cursor && *pg->next_cursor &&
                strcmp(pg->next_cursor, sent_cursor ? sent_cursor : "") != 0;
    rsgw__platform__v1__findings_page__free_unpacked(pg, NULL);
    if (rc < 0) {
        sync_store_failed(e, rc, "store findings from other checkpoints");
        sync_note_error(u, SLOT_PULL, "findings: cannot store them: %s", store_errmsg(e->st));
        return -1;
    }
    sync_store_ok(e);
    if (unknown)
        log_msg(e->lg, LOG_INFO, "upstream %s: %zu findings name no pollutant this gateway judges",
                u->cfg.name, unknown);
    if (n)
        log_msg(e->lg, LOG_INFO, "upstream %s: %zu findings from other checkpoints", u->cfg.name,
                n);
    return more ? 1 : 0;
}

/* ---- policy ---- */

static int apply_exemptions(struct sync_upstream *u, const Rsgw__Platform__V1__PolicyUpdate *pu)
{
    sync_engine *e = u->e;
    struct store_exempt_plate *list =
        calloc(pu->n_exempt_plates ? pu->n_exempt_plates : 1, sizeof *list);
    if (!list)
        return STORE_ERR;
    size_t n = 0;
    for (size_t i = 0; i < pu->n_exempt_plates; i++) {
        const Rsgw__Platform__V1__ExemptPlate *src = pu->exempt_plates[i];
        int ex = src->exemption ? vehicle_exemption_parse(src->exemption) : -1;
        if (!src->plate || !*src->plate || ex <= 0) {
            log_msg(e->lg, LOG_WARNING,
                    "upstream %s: policy: exemption '%s' for plate '%s' ignored (expected "
                    "livelihood, emergency or enforcement)",
                    u->cfg.name, src->exemption ? src->exemption : "",
                    src->plate ? src->plate : "");
            continue;
        }
        struct store_exempt_plate *d = &list[n++];
        copy_plate(src->plate, d->plate, sizeof d->plate);
        d->exemption = (enum vehicle_exemption)ex;
        d->valid_until_ms = src->has_valid_until_ms ? src->valid_until_ms : 0;
    }
    int rc = store_platform_exemptions_set(e->st, list, n);
    free(list);
    return rc;
}

static int apply_policy(struct sync_upstream *u)
{
    sync_engine *e = u->e;
    struct sync_xfer *x = &u->pull;
    Rsgw__Platform__V1__PolicyUpdate *pu =
        rsgw__platform__v1__policy_update__unpack(NULL, x->resp.len, x->resp.data);
    if (!pu) {
        sync_note_error(u, SLOT_PULL, "policy: the answer is not a PolicyUpdate (%zu bytes)",
                        x->resp.len);
        return -1;
    }
    int rc = apply_exemptions(u, pu);
    if (rc < 0) {
        sync_store_failed(e, rc, "store the platform's exemptions");
        goto fail;
    }

    const char *ls = "";
    if (pu->limit_set && *pu->limit_set) {
        if (strcmp(pu->limit_set, "a") == 0 || strcmp(pu->limit_set, "b") == 0)
            ls = pu->limit_set;
        else
            log_msg(e->lg, LOG_WARNING,
                    "upstream %s: policy: limit set '%s' is not a or b; keeping the configured "
                    "one",
                    u->cfg.name, pu->limit_set);
    }
    bool changed = false;
    rc = set_if_changed(e, POLICY_LIMIT_SET_KEY, ls, &changed);
    if (rc < 0) {
        sync_store_failed(e, rc, "store the platform's limit set");
        goto fail;
    }
    if (changed) {
        e->settings_changed = true;
        log_msg(e->lg, LOG_NOTICE, "upstream %s: platform %s", u->cfg.name,
                *ls ? (ls[0] == 'a' ? "sets limit set a" : "sets limit set b")
                    : "leaves the limit set to the configuration");
    }

    if (pu->has_alert_level) {
        int level = (int)pu->alert_level;
        if (level < ALERT_NONE || level > ALERT_RED)
            level = ALERT_NONE;
        int64_t from = pu->has_alert_valid_from_ms ? pu->alert_valid_from_ms : 0;
        int64_t until = pu->has_alert_valid_until_ms ? pu->alert_valid_until_ms : 0;
        u->alert_pending = false;
        if (from > e->now_ms) {
            /* Takes effect later: kept here and applied when it starts. */
            u->alert_pending = true;
            u->alert_from_ms = from;
            u->alert_level = level;
            u->alert_until_ms = until;
            log_msg(e->lg, LOG_NOTICE, "upstream %s: platform alert level %s starts in %lld s",
                    u->cfg.name, alert_level_name((enum alert_level)level),
                    (long long)((from - e->now_ms) / 1000));
        } else if (apply_alert(u, level, until) < 0) {
            goto fail;
        }
    }
    sync_store_ok(e);
    rsgw__platform__v1__policy_update__free_unpacked(pu, NULL);
    /* Remembered across restarts, so an unchanged policy is not applied again over
     * what an operator set locally since. */
    snprintf(u->policy_etag, sizeof u->policy_etag, "%s", x->etag);
    char key[96];
    setting_key(u, "policy_etag", key, sizeof key);
    /* An alert that starts later lives only in memory: after a restart the policy must be
     * fetched whole again, so its version is not remembered until nothing is pending. */
    store_setting_set(e->st, key, u->alert_pending ? "" : u->policy_etag);
    return 0;
fail:
    rsgw__platform__v1__policy_update__free_unpacked(pu, NULL);
    sync_note_error(u, SLOT_PULL, "policy: cannot apply it: %s", store_errmsg(e->st));
    return -1;
}

/* ---- registry ---- */

static int to_vehicle(const struct sync_upstream *u, const Rsgw__Platform__V1__RegistryVehicle *src,
                      struct registry_vehicle *v)
{
    memset(v, 0, sizeof *v);
    if (!src->plate || !*src->plate || strlen(src->plate) >= sizeof v->plate)
        return -1;
    snprintf(v->plate, sizeof v->plate, "%s", src->plate);
    int fuel = src->fuel && *src->fuel ? vehicle_fuel_parse(src->fuel) : FUEL_UNKNOWN;
    int cls = src->vehicle_class && *src->vehicle_class ? vehicle_class_parse(src->vehicle_class)
                                                        : VCLASS_UNKNOWN;
    int ex =
        src->exemption && *src->exemption ? vehicle_exemption_parse(src->exemption) : EXEMPT_NONE;
    if (fuel < 0 || cls < 0 || ex < 0)
        return -1;
    v->fuel = (enum vehicle_fuel)fuel;
    v->vclass = (enum vehicle_class)cls;
    v->exemption = (enum vehicle_exemption)ex;
    v->emission_stage = src->has_emission_stage ? (int)src->emission_stage : 0;
    v->gross_weight_kg = src->has_gross_weight_kg ? (int)src->gross_weight_kg : 0;
    if (src->vin && strlen(src->vin) < sizeof v->vin)
        snprintf(v->vin, sizeof v->vin, "%s", src->vin);
    snprintf(v->source, sizeof v->source, "platform:%s", u->cfg.name);
    return 0;
}

/* 1 = more pages, 0 = done, <0 failed (noted). One transaction per page. */
static int apply_registry(struct sync_upstream *u)
{
    sync_engine *e = u->e;
    struct sync_xfer *x = &u->pull;
    Rsgw__Platform__V1__RegistryDelta *rd =
        rsgw__platform__v1__registry_delta__unpack(NULL, x->resp.len, x->resp.data);
    if (!rd) {
        sync_note_error(u, SLOT_PULL, "registry: the answer is not a RegistryDelta (%zu bytes)",
                        x->resp.len);
        return -1;
    }
    size_t skipped = 0;
    char first_bad[160] = "";
    int rc = store_begin(e->st);
    for (size_t i = 0; i < rd->n_upserts && rc == 0; i++) {
        struct registry_vehicle v;
        if (to_vehicle(u, rd->upserts[i], &v) < 0) {
            if (!skipped++)
                snprintf(first_bad, sizeof first_bad, "%s: unknown fuel, class or exemption",
                         rd->upserts[i]->plate ? rd->upserts[i]->plate : "(no plate)");
            continue;
        }
        rc = registry_put(e->st, &v);
        if (rc == STORE_EINVAL) { /* facts the registry refuses: skip that vehicle */
            if (!skipped++)
                snprintf(first_bad, sizeof first_bad, "%s", store_errmsg(e->st));
            rc = 0;
        }
    }
    for (size_t i = 0; i < rd->n_deleted_plates && rc == 0; i++) {
        int d = registry_delete(e->st, rd->deleted_plates[i]);
        rc = d < 0 && d != STORE_EINVAL ? d : 0;
    }
    if (rc == 0 && rd->next_cursor && *rd->next_cursor) {
        char key[96];
        setting_key(u, "registry_cursor", key, sizeof key);
        rc = store_setting_set(e->st, key, rd->next_cursor);
    }
    if (rc == 0)
        rc = store_commit(e->st);
    else
        store_rollback(e->st);
    size_t n_up = rd->n_upserts, n_del = rd->n_deleted_plates;
    bool more = rd->has_more && rd->more && rd->next_cursor && *rd->next_cursor;
    rsgw__platform__v1__registry_delta__free_unpacked(rd, NULL);
    if (rc < 0) {
        sync_store_failed(e, rc, "store registry updates");
        sync_note_error(u, SLOT_PULL, "registry: cannot store the updates: %s",
                        store_errmsg(e->st));
        return -1;
    }
    sync_store_ok(e);
    if (skipped)
        log_msg(e->lg, LOG_WARNING, "upstream %s: registry: %zu vehicles skipped (first: %s)",
                u->cfg.name, skipped, first_bad);
    if (n_up || n_del)
        log_msg(e->lg, LOG_INFO, "upstream %s: registry: %zu vehicles updated, %zu removed",
                u->cfg.name, n_up - skipped, n_del);
    return more ? 1 : 0;
}

/* ---- the cycle ---- */

static void cycle_failed(struct sync_upstream *u, const struct sync_result *r, int64_t mono)
{
    u->pull_failures++;
    int64_t delay = sync_backoff_ms(u, u->pull_failures);
    if (delay > u->cfg.pull_interval_ms)
        delay = u->cfg.pull_interval_ms;
    if (r && r->retry_after_ms > 0)
        delay = r->retry_after_ms;
    if (r)
        sync_note_error(u, SLOT_PULL, "%s; next pull in %.1f s", r->msg, (double)delay / 1000);
    u->step = PULL_IDLE;
    u->next_pull_mono = mono + delay;
}

void sync_pull_poll(struct sync_upstream *u, int64_t mono)
{
    sync_engine *e = u->e;
    if (u->alert_pending && e->now_ms >= u->alert_from_ms &&
        apply_alert(u, u->alert_level, u->alert_until_ms) == 0)
        u->alert_pending = false;
    if (u->pull.busy)
        return;
    if (u->step == PULL_IDLE) {
        if (mono < u->next_pull_mono)
            return;
        u->step = next_step(u, PULL_IDLE);
        if (u->step == PULL_IDLE) {
            u->next_pull_mono = INT64_MAX;
            return;
        }
        if (!u->policy_etag[0]) {
            char key[96];
            setting_key(u, "policy_etag", key, sizeof key);
            if (store_setting_get(e->st, key, u->policy_etag, sizeof u->policy_etag) != 1)
                u->policy_etag[0] = '\0';
        }
    }
    start_step(u, mono);
}

void sync_pull_done(struct sync_upstream *u, const struct sync_result *r, int64_t mono)
{
    sync_engine *e = u->e;
    struct sync_xfer *x = &u->pull;
    x->busy = false;
    if (!r->ok) {
        cycle_failed(u, r, mono);
        sync_xfer_end(e, x);
        return;
    }
    int rc = 0;
    switch (u->step) {
    case PULL_FINDINGS: {
        char cur[512];
        int have = store_remote_cursor(e->st, u->cfg.name, cur, sizeof cur);
        rc = apply_findings(u, have == 1 ? cur : NULL);
        if (rc == 0) {
            u->last_findings_mono = mono;
            u->last_findings_ms = e->now_ms;
        }
        break;
    }
    case PULL_POLICY:
        if (r->http_status != 304)
            rc = apply_policy(u);
        if (rc == 0)
            u->last_policy_ms = e->now_ms;
        break;
    case PULL_REGISTRY:
        rc = apply_registry(u);
        if (rc == 0)
            u->last_registry_ms = e->now_ms;
        break;
    case PULL_IDLE:
        break;
    }
    sync_xfer_end(e, x);
    if (rc < 0) {
        cycle_failed(u, NULL, mono);
        return;
    }
    if (rc == 0)
        u->step = next_step(u, u->step); /* rc 1: the same step again, next page */
    if (u->step == PULL_IDLE) {
        u->pull_failures = 0;
        sync_note_ok(u, SLOT_PULL);
        u->next_pull_mono = mono + u->cfg.pull_interval_ms;
    }
}
