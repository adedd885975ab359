/* SPDX-License-Identifier: MIT */
/*
 * Restrictions that depend on the vehicle, not on the plume: the restricted
 * zone (old diesel vehicles) and heavy-pollution alerts (diesel trucks below a
 * stage), with the exemptions of seed 000 line 29. They apply to invalid and
 * unjudged measurements too.
 */
#include "policy_internal.h"

#include <stdio.h>

/* The exemption that keeps the vehicle out of restrictions, or NULL. */
static const char *exemption_of(const struct policy_vehicle *v, const char **what)
{
    if (v->plate.kind == PLATE_KIND_NEW_ENERGY || v->fuel == FUEL_ELECTRIC) {
        *what = v->plate.kind == PLATE_KIND_NEW_ENERGY ? "new-energy plate" : "electric vehicle";
        return "EXEMPT_NEW_ENERGY";
    }
    switch (v->exemption) {
    case EXEMPT_LIVELIHOOD:
        *what = "livelihood supply (民生保障)";
        return "EXEMPT_LIVELIHOOD";
    case EXEMPT_EMERGENCY:
        *what = "emergency vehicle";
        return "EXEMPT_EMERGENCY";
    case EXEMPT_ENFORCEMENT:
        *what = "law enforcement (执法)";
        return "EXEMPT_ENFORCEMENT";
    case EXEMPT_NONE:
        break;
    }
    return NULL;
}

static void turn_back(struct judge_ctx *c, const char *rule_id, const char *clause, int limit,
                      const char *text)
{
    struct policy_rule_hit *h = policy_hit_add(c->out, rule_id);
    policy_hit_quantity(h, "emission_stage", "stage");
    policy_hit_measured(h, c->v->emission_stage);
    policy_hit_limit(h, limit);
    policy_hit_clause(h, "%s", clause);
    policy_hit_text(h, "%s", text);
    c->out->actions |= POLICY_ACT(ACTION_TURN_BACK);
}

static void stage_unknown(struct judge_ctx *c, const char *rule_id, const char *clause, int limit,
                          const char *text)
{
    struct policy_rule_hit *h = policy_hit_add(c->out, rule_id);
    policy_hit_quantity(h, "emission_stage", "stage");
    policy_hit_limit(h, limit);
    policy_hit_clause(h, "%s", clause);
    policy_hit_text(h, "%s", text);
}

void policy_apply_restrictions(struct judge_ctx *c)
{
    const struct policy_config *cfg = c->cfg;
    const struct policy_vehicle *v = c->v;
    bool diesel = v->fuel == FUEL_DIESEL;
    bool truck = v->vclass == VCLASS_TRUCK;
    bool zone_active = cfg->restricted_zone;
    bool alert_active = c->alert >= ALERT_BLUE && c->alert >= cfg->alert_restrict_level;
    bool zone_applies = zone_active && diesel && (truck || !cfg->restricted_trucks_only);
    bool alert_applies = alert_active && diesel && truck;
    int stage = v->emission_stage;
    char text[256];

    const char *what = NULL;
    const char *exempt_id = exemption_of(v, &what);
    if (exempt_id && (zone_active || alert_active) && (diesel || truck)) {
        struct policy_rule_hit *h = policy_hit_add(c->out, exempt_id);
        policy_hit_quantity(h, "exemption", "");
        policy_hit_clause(h, "seed 000 line 29: 对于民生保障、执法、新能源汽车等不实施限行措施");
        policy_hit_text(h, "%s: not restricted (%s%s%s); emission findings still apply", what,
                        zone_active ? "restricted zone" : "",
                        zone_active && alert_active ? ", " : "",
                        alert_active ? "pollution alert" : "");
        return;
    }

    if (zone_applies) {
        const char *clause = "local rule, seed 000 line 514: 四环以内国三以下柴油车辆禁止通行";
        if (stage <= 0) {
            stage_unknown(c, "ZONE_STAGE_UNKNOWN", clause, cfg->restricted_max_stage,
                          "emission stage unknown: restricted-zone stage rule not applied; check "
                          "the vehicle's papers");
        } else if (stage <= cfg->restricted_max_stage) {
            snprintf(text, sizeof(text),
                     "diesel vehicle of %s (%s or older is banned from the restricted zone): "
                     "turned back",
                     policy_stage_name(stage), policy_stage_name(cfg->restricted_max_stage));
            turn_back(c, "ZONE_STAGE", clause, cfg->restricted_max_stage, text);
        }
    }
    if (alert_applies) {
        const char *clause =
            "local rule, seed 000 line 393: 橙色及以上…预警期间…柴油货车…（…国五及以上车辆除外）";
        if (stage <= 0) {
            snprintf(text, sizeof(text),
                     "%s alert: emission stage unknown, not turned back automatically; check "
                     "the vehicle's papers",
                     alert_level_name(c->alert));
            stage_unknown(c, "ALERT_STAGE_UNKNOWN", clause, cfg->alert_min_stage, text);
        } else if (stage < cfg->alert_min_stage) {
            snprintf(text, sizeof(text), "%s alert: diesel truck of %s, below %s: turned back",
                     alert_level_name(c->alert), policy_stage_name(stage),
                     policy_stage_name(cfg->alert_min_stage));
            turn_back(c, "ALERT_STAGE", clause, cfg->alert_min_stage, text);
        }
    }
}
