/* SPDX-License-Identifier: MIT */
#include "pipeline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry.h"

static void apply_limit_set(struct pipeline *p, const char *override)
{
    p->policy = p->cfg->policy;
    p->limit_set_override[0] = '\0';
    if (strcmp(override, "a") == 0 || strcmp(override, "b") == 0) {
        p->policy.limit_set = override[0] == 'b' ? 1 : 0;
        snprintf(p->limit_set_override, sizeof p->limit_set_override, "%s", override);
    }
    policy_config_digest(&p->policy, p->policy_digest);
}

void pipeline_init(struct pipeline *p, const struct config *cfg, store *st)
{
    memset(p, 0, sizeof *p);
    p->cfg = cfg;
    p->st = st;
    char override[16] = "";
    if (store_setting_get(st, POLICY_LIMIT_SET_KEY, override, sizeof override) != 1)
        override[0] = '\0';
    apply_limit_set(p, override);
}

int pipeline_refresh_policy(struct pipeline *p, int64_t now_ms, struct pipeline_out *out)
{
    char override[16];
    int rc = store_setting_get(p->st, POLICY_LIMIT_SET_KEY, override, sizeof override);
    if (rc < 0)
        return rc;
    if (rc == 0 || (strcmp(override, "a") != 0 && strcmp(override, "b") != 0))
        override[0] = '\0';
    if (strcmp(override, p->limit_set_override) == 0)
        return 0;
    struct policy_config before = p->policy;
    char before_override[sizeof p->limit_set_override], before_digest[65];
    memcpy(before_override, p->limit_set_override, sizeof before_override);
    memcpy(before_digest, p->policy_digest, sizeof before_digest);
    apply_limit_set(p, override);
    char detail[256];
    snprintf(detail, sizeof detail, "limit set %s -> %s (%s), policy %s",
             before.limit_set == 1 ? "b" : "a", p->policy.limit_set == 1 ? "b" : "a",
             override[0] ? "set by the platform" : "the configuration's", p->policy_digest);
    rc = pipeline_event(p, "policy", detail, now_ms, out);
    if (rc < 0) {
        p->policy = before; /* try again next time */
        memcpy(p->limit_set_override, before_override, sizeof before_override);
        memcpy(p->policy_digest, before_digest, sizeof before_digest);
        return rc;
    }
    return 1;
}

int pipeline_pass(struct pipeline *p, const struct config_lane *lane,
                  const struct rsu_measurement *m, int64_t now_ms, struct pipeline_out *out)
{
    const struct config *cfg = p->cfg;
    struct plate_info plate;
    plate_parse(m->plate, &plate);

    struct registry_vehicle reg;
    int found = 0;
    if (plate.valid) {
        found = registry_get(p->st, plate.normalised, &reg);
        if (found < 0)
            return STORE_ERR;
    }
    struct policy_vehicle vehicle;
    policy_resolve_vehicle(&p->policy, m->plate, (int)m->plate_colour, found == 1 ? &reg : NULL,
                           &vehicle);

    struct history hist;
    memset(&hist, 0, sizeof hist);
    int64_t window_start = policy_window_start(now_ms, p->policy.window_months);
    if (plate.valid) {
        int rc = store_history(p->st, plate.normalised, window_start, &hist);
        if (rc < 0)
            return rc;
    }
    if (p->history_stale && p->history_stale(p->history_stale_ud))
        hist.stale = true;

    struct policy_input in = {
        .m = m, .vehicle = &vehicle, .history = &hist, .now_ms = now_ms, .alert = p->alert};
    struct policy_verdict verdict;
    policy_judge(&p->policy, &in, &verdict);

    char profile[96];
    snprintf(profile, sizeof profile, "%s %s", lane->profile.name, lane->profile.version);
    struct record_pass rp = {
        .seq = store_next_seq(p->st),
        .time_ms = now_ms,
        .gateway_id = cfg->gateway_id,
        .checkpoint = cfg->checkpoint,
        .lane = lane->name,
        .device_id = lane->device_id,
        .profile = profile,
        .policy_digest = p->policy_digest,
        .m = m,
        .vehicle = &vehicle,
        .verdict = &verdict,
    };
    if (record_pack_pass(&rp, out->record, sizeof out->record, &out->len) < 0)
        return STORE_EINVAL;
    out->seq = rp.seq;
    out->verdict_result = verdict.result;
    out->verdict_actions = verdict.actions;
    out->verdict_finding = verdict.finding_number;
    out->verdict_local = vehicle.local;
    return store_append(p->st, out->record, out->len, NULL);
}

int pipeline_event(struct pipeline *p, const char *kind, const char *detail, int64_t now_ms,
                   struct pipeline_out *out)
{
    struct record_event ev = {
        .seq = store_next_seq(p->st),
        .time_ms = now_ms,
        .gateway_id = p->cfg->gateway_id,
        .checkpoint = p->cfg->checkpoint,
        .kind = kind,
        .detail = detail,
        .alert = p->alert,
        .valid_until_ms = p->alert_until_ms,
    };
    if (record_pack_event(&ev, out->record, sizeof out->record, &out->len) < 0)
        return STORE_EINVAL;
    out->seq = ev.seq;
    return store_append(p->st, out->record, out->len, NULL);
}

int pipeline_refresh_alert(struct pipeline *p, int64_t now_ms, struct pipeline_out *out)
{
    char level_text[32], until_text[32];
    int rc = store_setting_get(p->st, ALERT_LEVEL_KEY, level_text, sizeof level_text);
    if (rc < 0)
        return rc;
    int level = rc == 1 ? alert_level_parse(level_text) : ALERT_NONE;
    if (level < 0)
        level = ALERT_NONE; /* `rsgw alert` validates; a bad value means none, and says so below */
    int64_t until = 0;
    rc = store_setting_get(p->st, ALERT_UNTIL_KEY, until_text, sizeof until_text);
    if (rc < 0)
        return rc;
    if (rc == 1)
        until = strtoll(until_text, NULL, 10);
    bool expired = level != ALERT_NONE && until > 0 && now_ms >= until;
    if (expired) {
        level = ALERT_NONE;
        until = 0;
    }
    if ((enum alert_level)level == p->alert && until == p->alert_until_ms)
        return 0;

    enum alert_level before = p->alert;
    int64_t before_until = p->alert_until_ms;
    p->alert = (enum alert_level)level;
    p->alert_until_ms = until;
    char detail[160];
    snprintf(detail, sizeof detail, "heavy-pollution alert %s -> %s%s", alert_level_name(before),
             alert_level_name(p->alert), expired ? " (the previous alert expired)" : "");
    rc = pipeline_event(p, "alert_level", detail, now_ms, out);
    if (rc < 0) {
        p->alert = before; /* try again next time */
        p->alert_until_ms = before_until;
        return rc;
    }
    return 1;
}
