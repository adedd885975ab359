/* SPDX-License-Identifier: MIT */
/*
 * What an over-standard pass leads to: the finding number and actions (national
 * consecutive rule, or the local rule for out-of-area diesel trucks), and the
 * agencies that act on it.
 */
#include "policy_internal.h"

#include <stdio.h>
#include <time.h>

static const uint32_t pollutant_bits[] = {POLLUTANT_OPACITY, POLLUTANT_NO, POLLUTANT_RINGELMANN,
                                          POLLUTANT_CO,      POLLUTANT_HC, POLLUTANT_OBD};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Passes of the history inside the window, newest first: the prefix we may look at. */
static size_t passes_in_window(const struct judge_ctx *c)
{
    size_t n = c->hist->n < HISTORY_MAX ? c->hist->n : HISTORY_MAX;
    size_t k = 0;
    while (k < n && c->hist->pass[k].time_ms >= c->out->window_start_ms)
        k++;
    return k;
}

static void apply_out_of_area(struct judge_ctx *c)
{
    size_t n = passes_in_window(c);
    uint32_t earlier = 0;
    const struct history_pass *latest = NULL; /* the most recent earlier finding, anywhere */
    for (size_t i = 0; i < n; i++) {
        if (c->hist->pass[i].exceeded) {
            earlier++;
            if (!latest)
                latest = &c->hist->pass[i];
        }
    }
    /* findings counts every over-standard pass of the window, also those not in pass[] */
    if (c->hist->findings > earlier)
        earlier = c->hist->findings;
    uint32_t number = earlier + 1;
    bool second = number >= 2;
    uint32_t actions = second ? c->cfg->out_of_area_second : c->cfg->out_of_area_first;
    char acts[64];
    policy_actions_format(actions, acts, sizeof(acts));

    struct policy_rule_hit *h =
        policy_hit_add(c->out, second ? "OUT_OF_AREA_SECOND" : "OUT_OF_AREA_FIRST");
    policy_hit_quantity(h, "finding_number", "findings");
    policy_hit_measured(h, number);
    policy_hit_limit(h, 2);
    policy_hit_clause(
        h, "local rule, seed 000 line 243: 首次发现予以警告，第二次发现予以劝返并依法处罚");
    char where[192] = "";
    if (latest) {
        /* Evidence names the earlier finding the officer can be asked about. */
        time_t t = (time_t)(latest->time_ms / 1000);
        struct tm tm;
        char day[32];
        localtime_r(&t, &tm);
        strftime(day, sizeof day, "%Y-%m-%d %H:%M", &tm);
        snprintf(where, sizeof where, "; latest earlier finding %s at %s%s", day,
                 latest->checkpoint[0] ? latest->checkpoint : "this checkpoint",
                 latest->remote ? " (via the platform)" : "");
    }
    policy_hit_text(h,
                    "out-of-area diesel truck (%s): finding %u since %s (%u earlier, any "
                    "pollutant, any checkpoint%s): %s ([policy] out_of_area_%s)",
                    c->v->plate.region, number, c->window_date, earlier, where, acts,
                    second ? "second" : "first");
    c->out->finding_number = number;
    c->out->actions |= actions;
}

static void apply_consecutive(struct judge_ctx *c)
{
    size_t n = passes_in_window(c);
    uint32_t best = 0, best_bit = 0;
    for (size_t b = 0; b < COUNT(pollutant_bits); b++) {
        uint32_t bit = pollutant_bits[b];
        if (!(c->out->exceeded & bit))
            continue;
        /* Only this checkpoint's own passes: a streak needs the clean passes in between,
         * and findings pulled from elsewhere come without them. */
        uint32_t streak = 1;
        for (size_t i = 0; i < n; i++) {
            if (c->hist->pass[i].remote)
                continue;
            if (!(c->hist->pass[i].exceeded & bit))
                break;
            streak++;
        }
        if (streak > best) {
            best = streak;
            best_bit = bit;
        }
    }
    bool second = best >= 2;
    uint32_t actions = second ? c->cfg->local_second : c->cfg->local_first;
    char acts[64];
    policy_actions_format(actions, acts, sizeof(acts));
    const char *key = c->v->local ? "local" : "out-of-area (not a diesel truck)";

    struct policy_rule_hit *h =
        policy_hit_add(c->out, second ? "CONSECUTIVE_SECOND" : "CONSECUTIVE_FIRST");
    policy_hit_quantity(h, "streak", "passes");
    policy_hit_measured(h, best);
    policy_hit_limit(h, 2);
    if (second) {
        policy_hit_clause(h, "GB 3847-2018 remote-sensing judgement; violation code 6063, 200 "
                             "yuan, 0 points, order to repair");
        policy_hit_text(h,
                        "%s vehicle: %s over the limit on %u consecutive passes since %s: failed "
                        "emission check: %s ([policy] local_second)",
                        key, history_pollutant_name(best_bit), best, c->window_date, acts);
    } else {
        policy_hit_clause(h, "GB 3847-2018 remote-sensing judgement: first exceedance, notice");
        policy_hit_text(h,
                        "%s vehicle: %s over the limit, not over on the previous pass since %s: "
                        "first exceedance: %s ([policy] local_first)",
                        key, history_pollutant_name(best_bit), c->window_date, acts);
    }
    c->out->finding_number = best;
    c->out->actions |= actions;
}

void policy_apply_findings(struct judge_ctx *c)
{
    if (!c->v->local && policy_is_diesel_truck(c->v))
        apply_out_of_area(c);
    else
        apply_consecutive(c);

    if (c->cfg->restricted_zone && c->cfg->restricted_over_standard_turn_back) {
        struct policy_rule_hit *h = policy_hit_add(c->out, "ZONE_OVER_STANDARD");
        policy_hit_quantity(h, "result", "");
        policy_hit_clause(
            h, "local rule, seed 001 line 247: 并由公安交通管理部门全部劝返,禁止进入市区四环以内");
        policy_hit_text(h, "over-standard vehicle at a restricted-zone checkpoint: turned back "
                           "([policy] restricted_over_standard_turn_back)");
        c->out->actions |= POLICY_ACT(ACTION_TURN_BACK);
    }
}

void policy_apply_agencies(struct judge_ctx *c)
{
    const struct policy_vehicle *v = c->v;
    bool heavy_diesel = v->heavy && v->fuel == FUEL_DIESEL;
    bool black_smoke = c->out->exceeded & POLLUTANT_RINGELMANN;
    bool other = c->out->exceeded & ~(uint32_t)POLLUTANT_RINGELMANN;

    if (heavy_diesel) {
        struct policy_rule_hit *h = policy_hit_add(c->out, "AGENCY_ENVIRONMENT");
        policy_hit_quantity(h, "gross_weight", "kg");
        if (v->gross_weight_kg > 0)
            policy_hit_measured(h, v->gross_weight_kg);
        policy_hit_limit(h, c->cfg->heavy_weight_kg);
        policy_hit_clause(
            h,
            "local rule, seed 001 lines 245-247: 超标重型柴油车（3.5吨以上）由区环保部门…依法处罚");
        policy_hit_text(h,
                        "over-standard heavy diesel vehicle (over %d kg%s): environmental bureau",
                        c->cfg->heavy_weight_kg,
                        v->gross_weight_kg > 0 ? "" : ", assumed from the yellow plate");
        c->out->agencies |= POLICY_AGENCY(AGENCY_ENVIRONMENT);
    } else if (other) {
        struct policy_rule_hit *h = policy_hit_add(c->out, "AGENCY_TRAFFIC_POLICE");
        policy_hit_quantity(h, "gross_weight", "kg");
        if (v->gross_weight_kg > 0)
            policy_hit_measured(h, v->gross_weight_kg);
        policy_hit_limit(h, c->cfg->heavy_weight_kg);
        policy_hit_clause(
            h,
            "local rule, seed 001 line 247: 其他超标车辆(3.5吨以下)及冒黑烟车辆由公安交通管理部门依法处罚");
        policy_hit_text(h,
                        "over-standard vehicle that is not a heavy diesel vehicle (%s, %s): "
                        "traffic police",
                        vehicle_fuel_name(v->fuel), v->heavy ? "heavy" : "not known to be heavy");
        c->out->agencies |= POLICY_AGENCY(AGENCY_TRAFFIC_POLICE);
    }
    if (black_smoke) {
        struct policy_rule_hit *h = policy_hit_add(c->out, "AGENCY_BLACK_SMOKE");
        policy_hit_quantity(h, "Ringelmann", "grade");
        if (rsu_has(c->m, RSU_F_RINGELMANN))
            policy_hit_measured(h, c->m->value[RSU_F_RINGELMANN]);
        policy_hit_limit(h, c->cfg->limits[c->out->limit_set].ringelmann_grade);
        policy_hit_clause(
            h,
            "local rule, seed 001 line 247: 其他超标车辆(3.5吨以下)及冒黑烟车辆由公安交通管理部门依法处罚");
        policy_hit_text(h, "black smoke (冒黑烟): traffic police");
        c->out->agencies |= POLICY_AGENCY(AGENCY_TRAFFIC_POLICE);
    }
}
