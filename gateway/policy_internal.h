/* SPDX-License-Identifier: MIT */
/*
 * Private to the policy module (policy_*.c): the verdict under construction
 * and the rule groups policy_judge() runs in order. Not for other modules.
 */
#ifndef POLICY_INTERNAL_H
#define POLICY_INTERNAL_H

#include "policy.h"

/* One policy_judge() call. Everything points into the caller's data; nothing is owned. */
struct judge_ctx {
    const struct policy_config *cfg;
    const struct rsu_measurement *m;
    const struct policy_vehicle *v;
    const struct history *hist; /* never NULL (an empty history stands in) */
    enum alert_level alert;
    struct policy_verdict *out;
    bool identified;      /* the plate was read and is valid: history and restrictions apply */
    char window_date[16]; /* window start as a local date, "2024-03-01", for texts */
};

/* ---- rule hits (policy_hits.c) ---- */

/*
 * Append a hit. Informational WITHIN_* hits are kept only while there is room
 * (a deciding hit replaces one, a new one is not added: NULL). When a deciding
 * hit finds no room, the last slot becomes RULES_TRUNCATED and NULL is
 * returned. All setters accept NULL.
 */
struct policy_rule_hit *policy_hit_add(struct policy_verdict *v, const char *rule_id);
void policy_hit_quantity(struct policy_rule_hit *h, const char *quantity, const char *unit);
void policy_hit_measured(struct policy_rule_hit *h, double measured);
void policy_hit_limit(struct policy_rule_hit *h, double limit);
void policy_hit_clause(struct policy_rule_hit *h, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void policy_hit_text(struct policy_rule_hit *h, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Copy src into dst[len], cutting only between UTF-8 characters. */
void policy_copy_utf8(char *dst, size_t len, const char *src);

/* ---- facts (policy_vehicle.c) ---- */

bool policy_is_diesel_truck(const struct policy_vehicle *v);
/* "China III", or "unknown" for 0. */
const char *policy_stage_name(int stage);

/* ---- rule groups, in the order policy_judge() runs them ---- */

/* PLATE_MISSING / PLATE_INVALID, and the vehicle's ASSUME_* hits (policy_rules.c; also
 * used by policy_judge_obd()). */
void policy_plate_hits(struct judge_ctx *c);
void policy_assumption_hits(struct judge_ctx *c);

/* VALID_*: true when the measurement may be judged (policy_checks.c). */
bool policy_check_validity(struct judge_ctx *c);
/* OVER_* / WITHIN_* / LIMITS_UNSET / ...: sets out->exceeded; true if any pollutant was judged. */
bool policy_check_limits(struct judge_ctx *c);
/* CONSECUTIVE_* / OUT_OF_AREA_*: finding number and actions (policy_findings.c). */
void policy_apply_findings(struct judge_ctx *c);
/* AGENCY_* for an over-standard result (policy_findings.c). */
void policy_apply_agencies(struct judge_ctx *c);
/* ZONE_* / ALERT_* / EXEMPT_* (policy_restrict.c). */
void policy_apply_restrictions(struct judge_ctx *c);

#endif
