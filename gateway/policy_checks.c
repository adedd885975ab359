/* SPDX-License-Identifier: MIT */
/*
 * Validity (HJ 845-2017 windows, decode issues) and the emission limits
 * (GB 3847-2018 remote sensing; gasoline limits are local and configured).
 */
#include "policy_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ---- validity ---- */

static const struct {
    enum rsu_field field;
    const char *name;
} finite_fields[] = {
    {RSU_F_OPACITY, "opacity"}, {RSU_F_RINGELMANN, "Ringelmann"},
    {RSU_F_NO, "NO"},           {RSU_F_CO, "CO"},
    {RSU_F_HC, "HC"},           {RSU_F_SPEED, "speed"},
    {RSU_F_ACCEL, "accel"},     {RSU_F_VSP, "VSP"},
};

static bool check_window(struct judge_ctx *c, const char *rule_id, enum rsu_field field,
                         const char *quantity, const char *unit, const char *key,
                         const struct policy_window *w)
{
    const char *clause = "HJ 845-2017 validity window (default unconfirmed)";
    if (!rsu_has(c->m, field)) {
        if (!w->required)
            return true;
        struct policy_rule_hit *h = policy_hit_add(c->out, rule_id);
        policy_hit_quantity(h, quantity, unit);
        policy_hit_clause(h, "%s; [validity] %s_required", clause, key);
        policy_hit_text(h, "%s not reported but required: measurement invalid, not judged",
                        quantity);
        return false;
    }
    double x = c->m->value[field];
    if (x >= w->min && x <= w->max)
        return true;
    struct policy_rule_hit *h = policy_hit_add(c->out, rule_id);
    policy_hit_quantity(h, quantity, unit);
    policy_hit_measured(h, x);
    policy_hit_limit(h, x < w->min ? w->min : w->max);
    policy_hit_clause(h, "%s; [validity] %s", clause, key);
    policy_hit_text(h,
                    "%s %g %s is %s the validity window %g..%g %s: measurement invalid, not judged",
                    quantity, x, unit, x < w->min ? "below" : "above", w->min, w->max, unit);
    return false;
}

bool policy_check_validity(struct judge_ctx *c)
{
    const struct rsu_measurement *m = c->m;
    bool valid = true;
    if (m->n_issues > 0) {
        char list[512] = "";
        size_t n = m->n_issues < RSU_ISSUES_MAX ? m->n_issues : RSU_ISSUES_MAX;
        for (size_t i = 0; i < n; i++) {
            size_t used = strlen(list);
            snprintf(list + used, sizeof(list) - used, "%s%.*s", i ? "; " : "", RSU_ISSUE_LEN,
                     m->issues[i]);
        }
        struct policy_rule_hit *h = policy_hit_add(c->out, "VALID_ISSUES");
        policy_hit_quantity(h, "issues", "issues");
        policy_hit_measured(h, (double)m->n_issues);
        policy_hit_limit(h, 0);
        policy_hit_clause(h, "rsgw: a measurement with decode issues is stored, never judged");
        policy_hit_text(h, "decode issues, measurement invalid: %s", list);
        valid = false;
    }
    for (size_t i = 0; i < COUNT(finite_fields); i++) {
        if (rsu_has(m, finite_fields[i].field) && !isfinite(m->value[finite_fields[i].field])) {
            struct policy_rule_hit *h = policy_hit_add(c->out, "VALID_NOT_A_NUMBER");
            policy_hit_quantity(h, finite_fields[i].name, "");
            policy_hit_clause(h, "rsgw: values must be finite numbers");
            policy_hit_text(h, "%s is not a finite number: measurement invalid, not judged",
                            finite_fields[i].name);
            valid = false;
        }
    }
    /* Non-finite values were reported above; a window check would only repeat them. */
    if (!rsu_has(m, RSU_F_SPEED) || isfinite(m->value[RSU_F_SPEED]))
        valid &= check_window(c, "VALID_SPEED", RSU_F_SPEED, "speed", "km/h", "speed_kmh",
                              &c->cfg->speed_kmh);
    if (!rsu_has(m, RSU_F_ACCEL) || isfinite(m->value[RSU_F_ACCEL]))
        valid &= check_window(c, "VALID_ACCEL", RSU_F_ACCEL, "accel", "m/s2", "accel_ms2",
                              &c->cfg->accel_ms2);
    if (!rsu_has(m, RSU_F_VSP) || isfinite(m->value[RSU_F_VSP]))
        valid &=
            check_window(c, "VALID_VSP", RSU_F_VSP, "VSP", "kW/t", "vsp_kw_t", &c->cfg->vsp_kw_t);
    return valid;
}

/* ---- limits ---- */

struct limit_check {
    const char *id; /* OVER_<id> / WITHIN_<id> */
    enum rsu_field field;
    uint32_t bit;  /* history.h pollutant bit */
    size_t offset; /* in struct policy_limits */
    const char *quantity, *unit, *key, *source;
};

#define LIMIT_OFF(f) offsetof(struct policy_limits, f)

static const struct limit_check diesel_checks[] = {
    {"DIESEL_OPACITY", RSU_F_OPACITY, POLLUTANT_OPACITY, LIMIT_OFF(diesel_opacity_pct), "opacity",
     "%", "diesel_opacity_pct", "GB 3847-2018 remote sensing, diesel"},
    {"DIESEL_NO", RSU_F_NO, POLLUTANT_NO, LIMIT_OFF(diesel_no_ppm), "NO", "ppm", "diesel_no_ppm",
     "GB 3847-2018 remote sensing, diesel"},
};

static const struct limit_check gasoline_checks[] = {
    {"GASOLINE_CO", RSU_F_CO, POLLUTANT_CO, LIMIT_OFF(gasoline_co_pct), "CO", "%",
     "gasoline_co_pct", "local remote-sensing standard, gasoline"},
    {"GASOLINE_HC", RSU_F_HC, POLLUTANT_HC, LIMIT_OFF(gasoline_hc_ppm), "HC", "ppm",
     "gasoline_hc_ppm", "local remote-sensing standard, gasoline"},
    {"GASOLINE_NO", RSU_F_NO, POLLUTANT_NO, LIMIT_OFF(gasoline_no_ppm), "NO", "ppm",
     "gasoline_no_ppm", "local remote-sensing standard, gasoline"},
};

static const struct limit_check ringelmann_check = {
    "RINGELMANN",         RSU_F_RINGELMANN,
    POLLUTANT_RINGELMANN, LIMIT_OFF(ringelmann_grade),
    "Ringelmann",         "grade",
    "ringelmann_grade",   "GB 3847-2018 Ringelmann blackness, any fuel"};

/* Names collected for one summary hit ("CO, HC, NO"). */
struct name_list {
    char text[64];
    size_t n;
};

static void list_add(struct name_list *l, const char *name)
{
    size_t used = strlen(l->text);
    snprintf(l->text + used, sizeof(l->text) - used, "%s%s", l->n ? ", " : "", name);
    l->n++;
}

static void judge_one(struct judge_ctx *c, const struct limit_check *lc, struct name_list *unset,
                      struct name_list *missing, bool *judged)
{
    const struct policy_limits *lim = &c->cfg->limits[c->out->limit_set];
    double limit = *(const double *)((const char *)lim + lc->offset);
    char set = c->out->limit_set ? 'b' : 'a';
    if (isnan(limit)) {
        list_add(unset, lc->quantity);
        return;
    }
    if (!rsu_has(c->m, lc->field)) {
        list_add(missing, lc->quantity);
        return;
    }
    double x = c->m->value[lc->field];
    bool over = x > limit; /* at the limit passes: the limit is the highest allowed value */
    char id[32];
    snprintf(id, sizeof(id), "%s_%s", over ? "OVER" : "WITHIN", lc->id);
    struct policy_rule_hit *h = policy_hit_add(c->out, id);
    policy_hit_quantity(h, lc->quantity, lc->unit);
    policy_hit_measured(h, x);
    policy_hit_limit(h, limit);
    policy_hit_clause(h, "%s, limit set %c; [limits] %s_%c", lc->source, set, lc->key, set);
    if (lc->bit == POLLUTANT_RINGELMANN && over)
        policy_hit_text(h, "black smoke: Ringelmann grade %g is over grade %g (limit set %c)", x,
                        limit, set);
    else
        policy_hit_text(h, "%s %g %s is %s the limit of %g %s (limit set %c)", lc->quantity, x,
                        lc->unit, over ? "over" : "within", limit, lc->unit, set);
    if (over)
        c->out->exceeded |= lc->bit;
    *judged = true;
}

bool policy_check_limits(struct judge_ctx *c)
{
    const struct policy_vehicle *v = c->v;
    struct name_list unset = {{0}, 0}, missing = {{0}, 0};
    bool judged = false;
    const struct limit_check *checks = NULL;
    size_t n_checks = 0;
    const char *group = NULL;

    switch (v->fuel) {
    case FUEL_DIESEL:
        checks = diesel_checks;
        n_checks = COUNT(diesel_checks);
        group = "diesel";
        break;
    case FUEL_GASOLINE:
    case FUEL_GAS:
    case FUEL_HYBRID:
        checks = gasoline_checks;
        n_checks = COUNT(gasoline_checks);
        group = "gasoline";
        break;
    case FUEL_ELECTRIC: {
        struct policy_rule_hit *h = policy_hit_add(c->out, "NO_TAILPIPE_LIMITS");
        policy_hit_quantity(h, "fuel", "");
        policy_hit_clause(h, "GB 3847-2018 applies to combustion engines");
        policy_hit_text(h,
                        "electric vehicle: no tailpipe limits, only Ringelmann blackness judged");
        break;
    }
    default: {
        struct policy_rule_hit *h = policy_hit_add(c->out, "FUEL_UNKNOWN");
        policy_hit_quantity(h, "fuel", "");
        policy_hit_clause(h, "rsgw: limits depend on the fuel (docs/policy.md)");
        policy_hit_text(h,
                        "fuel unknown (%s, no plate-colour assumption): only Ringelmann "
                        "blackness judged",
                        v->in_registry ? "registry has no fuel" : "not in the registry");
        break;
    }
    }
    for (size_t i = 0; i < n_checks; i++)
        judge_one(c, &checks[i], &unset, &missing, &judged);
    judge_one(c, &ringelmann_check, &unset, &missing, &judged);

    char set = c->out->limit_set ? 'b' : 'a';
    if (unset.n) {
        struct policy_rule_hit *h = policy_hit_add(c->out, "LIMITS_UNSET");
        policy_hit_quantity(h, unset.text, "");
        policy_hit_clause(h, "[limits] limit set %c: \"none\" = not judged", set);
        if (group && strcmp(group, "gasoline") == 0)
            policy_hit_text(h, "gasoline limits not configured (limit set %c): %s not judged", set,
                            unset.text);
        else
            policy_hit_text(h, "limits not configured (limit set %c): %s not judged", set,
                            unset.text);
    }
    if (missing.n) {
        struct policy_rule_hit *h = policy_hit_add(c->out, "NOT_REPORTED");
        policy_hit_quantity(h, missing.text, "");
        policy_hit_clause(h, "rsgw: only reported values are judged");
        policy_hit_text(h, "the device did not report %s: not judged", missing.text);
    }
    return judged;
}
