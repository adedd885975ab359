/* SPDX-License-Identifier: MIT */
/*
 * policy_judge(): runs the rule groups in a fixed order and combines them
 * (docs/policy.md, "How rules combine"). Pure: the clock is in the input.
 */
#include "policy_internal.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static const struct {
    const char *id;
    const char *quantity, *unit;
    const char *clause;
} assumption_rules[] = {
    {"ASSUME_YELLOW_HEAVY", "gross_weight", "kg",
     "standards.md: yellow plate = usual proxy for over 3.5 t; [policy] yellow_plate_heavy"},
    {"ASSUME_YELLOW_FUEL", "fuel", "", "[policy] yellow_plate_fuel (plate-colour proxy)"},
    {"ASSUME_YELLOW_CLASS", "class", "", "[policy] yellow_plate_class (plate-colour proxy)"},
    {"ASSUME_BLUE_FUEL", "fuel", "", "[policy] blue_plate_fuel (plate-colour proxy)"},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* The vehicle's assumptions ("ID: sentence") become hits with the same id. */
void policy_assumption_hits(struct judge_ctx *c)
{
    size_t n =
        c->v->n_assumptions < POLICY_ASSUMPTIONS_MAX ? c->v->n_assumptions : POLICY_ASSUMPTIONS_MAX;
    for (size_t i = 0; i < n; i++) {
        const char *a = c->v->assumptions[i];
        const char *colon = memchr(a, ':', strnlen(a, sizeof(c->v->assumptions[i])));
        char id[32] = "ASSUMPTION";
        const char *text = a;
        if (colon && (size_t)(colon - a) < sizeof(id)) {
            memcpy(id, a, (size_t)(colon - a));
            id[colon - a] = 0;
            text = colon[1] == ' ' ? colon + 2 : colon + 1;
        }
        struct policy_rule_hit *h = policy_hit_add(c->out, id);
        policy_hit_text(h, "%.*s", (int)sizeof(c->v->assumptions[i]), text);
        policy_hit_clause(h, "rsgw: unknown vehicle facts (docs/policy.md)");
        for (size_t k = 0; k < COUNT(assumption_rules); k++) {
            if (strcmp(id, assumption_rules[k].id) != 0)
                continue;
            policy_hit_quantity(h, assumption_rules[k].quantity, assumption_rules[k].unit);
            policy_hit_clause(h, "%s", assumption_rules[k].clause);
            if (strcmp(id, "ASSUME_YELLOW_HEAVY") == 0)
                policy_hit_limit(h, c->cfg->heavy_weight_kg);
        }
    }
}

void policy_plate_hits(struct judge_ctx *c)
{
    const struct plate_info *p = &c->v->plate;
    if (p->valid)
        return;
    if (!p->normalised[0]) {
        struct policy_rule_hit *h = policy_hit_add(c->out, "PLATE_MISSING");
        policy_hit_quantity(h, "plate", "");
        policy_hit_clause(h, "rsgw: no plate, no history (docs/policy.md)");
        policy_hit_text(h, "no plate read: emissions judged, but no finding number, actions, "
                           "agencies or restrictions");
        return;
    }
    struct policy_rule_hit *h = policy_hit_add(c->out, "PLATE_INVALID");
    policy_hit_quantity(h, "plate", "");
    policy_hit_clause(h, "GA 36 plate formats (docs/policy.md, Plates)");
    policy_hit_text(h,
                    "plate '%s' is not valid (%s): emissions judged, but no finding number, "
                    "actions, agencies or restrictions",
                    p->normalised, p->error);
}

static void format_window_date(int64_t ms, char buf[16])
{
    time_t t = (time_t)(ms / 1000 - (ms % 1000 < 0 ? 1 : 0));
    struct tm tm;
    if (ms == INT64_MIN || !localtime_r(&t, &tm) || strftime(buf, 16, "%Y-%m-%d", &tm) == 0)
        snprintf(buf, 16, "the beginning");
}

void policy_judge(const struct policy_config *cfg, const struct policy_input *in,
                  struct policy_verdict *out)
{
    static const struct history no_history;
    struct policy_vehicle unknown_vehicle;
    memset(out, 0, sizeof(*out));
    const struct policy_vehicle *v = in->vehicle;
    if (!v) {
        memset(&unknown_vehicle, 0, sizeof(unknown_vehicle));
        v = &unknown_vehicle;
    }
    struct judge_ctx c = {
        .cfg = cfg,
        .m = in->m,
        .v = v,
        .hist = in->history ? in->history : &no_history,
        .alert = in->alert,
        .out = out,
        .identified = v->plate.valid,
    };
    out->limit_set = cfg->limit_set == 1 ? 1 : 0;
    out->alert = in->alert;
    out->window_start_ms = policy_window_start(in->now_ms, cfg->window_months);
    out->history_stale = c.hist->stale;
    format_window_date(out->window_start_ms, c.window_date);

    if (!in->m) {
        struct policy_rule_hit *h = policy_hit_add(out, "NO_MEASUREMENT");
        policy_hit_clause(h, "rsgw: nothing to judge");
        policy_hit_text(h, "no measurement given: not judged");
        out->result = RESULT_NOT_JUDGED;
        return;
    }

    policy_plate_hits(&c);
    policy_assumption_hits(&c);
    if (!policy_check_validity(&c)) {
        out->result = RESULT_INVALID; /* stored, never judged: no findings, no actions from it */
    } else {
        bool judged = policy_check_limits(&c);
        out->result = out->exceeded ? RESULT_OVER_STANDARD
                      : judged      ? RESULT_PASS
                                    : RESULT_NOT_JUDGED;
    }
    if (c.identified && out->result == RESULT_OVER_STANDARD) {
        policy_apply_findings(&c);
        policy_apply_agencies(&c);
    }
    if (c.identified)
        policy_apply_restrictions(&c);

    if (out->actions & POLICY_ACT(ACTION_TURN_BACK)) {
        struct policy_rule_hit *h = policy_hit_add(out, "AGENCY_TURN_BACK");
        policy_hit_quantity(h, "action", "");
        policy_hit_clause(h, "local rule, seed 001 line 247: 并由公安交通管理部门全部劝返");
        policy_hit_text(h, "turning back (劝返) is carried out by the traffic police");
        out->agencies |= POLICY_AGENCY(AGENCY_TRAFFIC_POLICE);
    }
    if (c.hist->stale) {
        struct policy_rule_hit *h = policy_hit_add(out, "HISTORY_STALE");
        policy_hit_quantity(h, "history", "");
        policy_hit_clause(h, "rsgw: findings are shared through the platform (000 line 578)");
        policy_hit_text(h, "some history sources could not be consulted: the finding number may "
                           "be too low");
    }
}
