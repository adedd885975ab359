/* SPDX-License-Identifier: MIT */
/*
 * The enforcement rules, table by table: validity, limits, unknown vehicles,
 * the consecutive and out-of-area finding rules, agencies, the restricted
 * zone, alerts, exemptions, and how they combine. Every fired rule is checked
 * by id with its measured value and limit, not only by its action.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <time.h>

#include <cmocka.h>

#include "policy.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

#define NOW_MS   1725087600000LL /* 2024-08-31 15:00 Asia/Shanghai */
#define START_MS 1709136000000LL /* 6 natural months earlier: 2024-02-29 00:00 */
#define DAY_MS   86400000LL

#define ACT(a)    POLICY_ACT(ACTION_##a)
#define AGENCY(a) POLICY_AGENCY(AGENCY_##a)

/* ---- scenario: one pass through resolve + judge ---- */

struct scenario {
    struct policy_config cfg;
    struct rsu_measurement m;
    bool has_reg;
    struct registry_vehicle reg;
    struct history hist;
    enum alert_level alert;
    struct policy_vehicle v;
    struct policy_verdict out;
};

static void sc_value(struct scenario *s, enum rsu_field f, double x)
{
    s->m.present |= 1u << f;
    s->m.value[f] = x;
}

static void sc_clear(struct scenario *s, enum rsu_field f)
{
    s->m.present &= ~(1u << f);
}

static void sc_plate(struct scenario *s, const char *plate, enum rsu_plate_colour colour)
{
    snprintf(s->m.plate, sizeof(s->m.plate), "%s", plate);
    s->m.plate_colour = colour;
}

static void sc_reg(struct scenario *s, enum vehicle_fuel fuel, enum vehicle_class vclass, int stage,
                   int weight_kg)
{
    s->has_reg = true;
    s->reg.fuel = fuel;
    s->reg.vclass = vclass;
    s->reg.emission_stage = stage;
    s->reg.gross_weight_kg = weight_kg;
    snprintf(s->reg.vin, sizeof(s->reg.vin), "LZZ1CLVB5JA123456");
}

/* A valid pass of a registered local light diesel car, nothing measured yet. */
static void sc_init(struct scenario *s)
{
    memset(s, 0, sizeof(*s));
    policy_config_defaults(&s->cfg);
    sc_value(s, RSU_F_SPEED, 40);
    sc_value(s, RSU_F_ACCEL, 0.5);
    sc_value(s, RSU_F_VSP, 8);
    sc_plate(s, "豫A12345", RSU_COLOUR_BLUE);
    sc_reg(s, FUEL_DIESEL, VCLASS_CAR, 5, 1600);
}

/* History entries are added newest first, as the store returns them. */
static void sc_hist(struct scenario *s, int64_t time_ms, uint32_t exceeded, const char *checkpoint)
{
    assert_true(s->hist.n < HISTORY_MAX);
    struct history_pass *p = &s->hist.pass[s->hist.n++];
    p->seq = s->hist.n;
    p->time_ms = time_ms;
    p->exceeded = exceeded;
    snprintf(p->checkpoint, sizeof(p->checkpoint), "%s", checkpoint ? checkpoint : "here");
    if (exceeded)
        s->hist.findings++;
}

static bool utf8_valid(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        int n = *p < 0x80             ? 1
                : (*p & 0xE0) == 0xC0 ? 2
                : (*p & 0xF0) == 0xE0 ? 3
                : (*p & 0xF8) == 0xF0 ? 4
                                      : 0;
        if (!n)
            return false;
        for (int k = 1; k < n; k++)
            if ((p[k] & 0xC0) != 0x80)
                return false;
        p += n;
    }
    return true;
}

/* What every verdict must satisfy, whatever the scenario. */
static void check_well_formed(const struct policy_verdict *v)
{
    assert_true(v->n_rules <= POLICY_RULES_MAX);
    for (size_t i = 0; i < v->n_rules; i++) {
        const struct policy_rule_hit *h = &v->rules[i];
        assert_true(h->rule_id[0]);
        assert_true(h->clause[0]);
        assert_true(h->text[0]);
        assert_true(utf8_valid(h->rule_id) && utf8_valid(h->clause) && utf8_valid(h->text) &&
                    utf8_valid(h->quantity) && utf8_valid(h->unit));
        /* clauses are written to fit; a full buffer would mean a cut quotation */
        assert_true(strlen(h->clause) < sizeof(h->clause) - 1);
        assert_string_not_equal(h->rule_id, "RULES_TRUNCATED");
    }
    /* TURN_BACK is always carried out by the traffic police. */
    if (v->actions & ACT(TURN_BACK))
        assert_true(v->agencies & AGENCY(TRAFFIC_POLICE));
    if (v->result != RESULT_OVER_STANDARD) {
        assert_int_equal(v->exceeded, 0);
        assert_int_equal(v->finding_number, 0);
        assert_false(v->actions & (ACT(NOTICE) | ACT(WARN) | ACT(PENALTY)));
    }
}

static void sc_run(struct scenario *s)
{
    policy_resolve_vehicle(&s->cfg, s->m.plate, (int)s->m.plate_colour, s->has_reg ? &s->reg : NULL,
                           &s->v);
    struct policy_input in = {
        .m = &s->m, .vehicle = &s->v, .history = &s->hist, .now_ms = NOW_MS, .alert = s->alert};
    policy_judge(&s->cfg, &in, &s->out);
    check_well_formed(&s->out);
}

static const struct policy_rule_hit *find_hit(const struct policy_verdict *v, const char *id)
{
    for (size_t i = 0; i < v->n_rules; i++)
        if (strcmp(v->rules[i].rule_id, id) == 0)
            return &v->rules[i];
    return NULL;
}

static void dump(const struct policy_verdict *v)
{
    print_error("verdict %s actions %x agencies %x finding %u exceeded %x, %zu hits:\n",
                policy_result_name(v->result), v->actions, v->agencies, v->finding_number,
                v->exceeded, v->n_rules);
    for (size_t i = 0; i < v->n_rules; i++)
        print_error("  %s [%s] %s%g / %s%g %s | %s | %s\n", v->rules[i].rule_id,
                    v->rules[i].quantity, v->rules[i].has_measured ? "" : "(no)",
                    v->rules[i].measured, v->rules[i].has_limit ? "" : "(no)", v->rules[i].limit,
                    v->rules[i].unit, v->rules[i].clause, v->rules[i].text);
}

#define NONE_ NAN /* "not present" for measured / limit in expectations */

/* The hit is there with exactly this measured value and limit (NAN = must be absent). */
static const struct policy_rule_hit *expect_hit(const struct policy_verdict *v, const char *id,
                                                double measured, double limit)
{
    const struct policy_rule_hit *h = find_hit(v, id);
    if (!h) {
        print_error("missing hit %s\n", id);
        dump(v);
    }
    assert_non_null(h);
    if (isnan(measured)) {
        assert_false(h->has_measured);
    } else {
        assert_true(h->has_measured);
        assert_true(h->measured == measured);
    }
    if (isnan(limit)) {
        assert_false(h->has_limit);
    } else {
        assert_true(h->has_limit);
        assert_true(h->limit == limit);
    }
    return h;
}

static void expect_no_hit(const struct policy_verdict *v, const char *id)
{
    if (find_hit(v, id)) {
        print_error("unexpected hit %s\n", id);
        dump(v);
    }
    assert_null(find_hit(v, id));
}

static size_t count_prefix(const struct policy_verdict *v, const char *prefix)
{
    size_t n = 0;
    for (size_t i = 0; i < v->n_rules; i++)
        n += strncmp(v->rules[i].rule_id, prefix, strlen(prefix)) == 0;
    return n;
}

/* ---- limits: each pollutant, set a and b, just below, at and just above ---- */

struct limit_case {
    enum vehicle_fuel fuel;
    int set;
    enum rsu_field field;
    double value;
    const char *rule;
    double limit;
    uint32_t exceeded;
};

#define OP RSU_F_OPACITY
#define NO RSU_F_NO
#define RG RSU_F_RINGELMANN
#define CO RSU_F_CO
#define HC RSU_F_HC

static const struct limit_case limit_cases[] = {
    {FUEL_DIESEL, 0, OP, 29.9, "WITHIN_DIESEL_OPACITY", 30, 0},
    {FUEL_DIESEL, 0, OP, 30, "WITHIN_DIESEL_OPACITY", 30, 0},
    {FUEL_DIESEL, 0, OP, 30.1, "OVER_DIESEL_OPACITY", 30, POLLUTANT_OPACITY},
    {FUEL_DIESEL, 1, OP, 19.9, "WITHIN_DIESEL_OPACITY", 20, 0},
    {FUEL_DIESEL, 1, OP, 20, "WITHIN_DIESEL_OPACITY", 20, 0},
    {FUEL_DIESEL, 1, OP, 20.1, "OVER_DIESEL_OPACITY", 20, POLLUTANT_OPACITY},
    {FUEL_DIESEL, 0, NO, 1499, "WITHIN_DIESEL_NO", 1500, 0},
    {FUEL_DIESEL, 0, NO, 1500, "WITHIN_DIESEL_NO", 1500, 0},
    {FUEL_DIESEL, 0, NO, 1501, "OVER_DIESEL_NO", 1500, POLLUTANT_NO},
    {FUEL_DIESEL, 1, NO, 999, "WITHIN_DIESEL_NO", 1000, 0},
    {FUEL_DIESEL, 1, NO, 1000, "WITHIN_DIESEL_NO", 1000, 0},
    {FUEL_DIESEL, 1, NO, 1001, "OVER_DIESEL_NO", 1000, POLLUTANT_NO},
    {FUEL_DIESEL, 0, RG, 0.9, "WITHIN_RINGELMANN", 1, 0},
    {FUEL_DIESEL, 0, RG, 1, "WITHIN_RINGELMANN", 1, 0},
    {FUEL_DIESEL, 0, RG, 1.1, "OVER_RINGELMANN", 1, POLLUTANT_RINGELMANN},
    {FUEL_DIESEL, 1, RG, 1, "WITHIN_RINGELMANN", 1, 0},
    {FUEL_DIESEL, 1, RG, 2, "OVER_RINGELMANN", 1, POLLUTANT_RINGELMANN},
    /* gasoline limits as configured in limits_setup() */
    {FUEL_GASOLINE, 0, CO, 4.49, "WITHIN_GASOLINE_CO", 4.5, 0},
    {FUEL_GASOLINE, 0, CO, 4.5, "WITHIN_GASOLINE_CO", 4.5, 0},
    {FUEL_GASOLINE, 0, CO, 4.51, "OVER_GASOLINE_CO", 4.5, POLLUTANT_CO},
    {FUEL_GASOLINE, 1, CO, 2.99, "WITHIN_GASOLINE_CO", 3, 0},
    {FUEL_GASOLINE, 1, CO, 3, "WITHIN_GASOLINE_CO", 3, 0},
    {FUEL_GASOLINE, 1, CO, 3.01, "OVER_GASOLINE_CO", 3, POLLUTANT_CO},
    {FUEL_GASOLINE, 0, HC, 999, "WITHIN_GASOLINE_HC", 1000, 0},
    {FUEL_GASOLINE, 0, HC, 1000, "WITHIN_GASOLINE_HC", 1000, 0},
    {FUEL_GASOLINE, 0, HC, 1001, "OVER_GASOLINE_HC", 1000, POLLUTANT_HC},
    {FUEL_GASOLINE, 1, HC, 599, "WITHIN_GASOLINE_HC", 600, 0},
    {FUEL_GASOLINE, 1, HC, 600, "WITHIN_GASOLINE_HC", 600, 0},
    {FUEL_GASOLINE, 1, HC, 601, "OVER_GASOLINE_HC", 600, POLLUTANT_HC},
    {FUEL_GASOLINE, 0, NO, 1199, "WITHIN_GASOLINE_NO", 1200, 0},
    {FUEL_GASOLINE, 0, NO, 1200, "WITHIN_GASOLINE_NO", 1200, 0},
    {FUEL_GASOLINE, 0, NO, 1201, "OVER_GASOLINE_NO", 1200, POLLUTANT_NO},
    {FUEL_GASOLINE, 1, NO, 799, "WITHIN_GASOLINE_NO", 800, 0},
    {FUEL_GASOLINE, 1, NO, 800, "WITHIN_GASOLINE_NO", 800, 0},
    {FUEL_GASOLINE, 1, NO, 801, "OVER_GASOLINE_NO", 800, POLLUTANT_NO},
    {FUEL_GASOLINE, 0, RG, 2, "OVER_RINGELMANN", 1, POLLUTANT_RINGELMANN},
    /* gas and hybrid are judged as gasoline; electric only by Ringelmann */
    {FUEL_GAS, 0, CO, 5, "OVER_GASOLINE_CO", 4.5, POLLUTANT_CO},
    {FUEL_HYBRID, 1, NO, 900, "OVER_GASOLINE_NO", 800, POLLUTANT_NO},
    {FUEL_ELECTRIC, 0, RG, 2, "OVER_RINGELMANN", 1, POLLUTANT_RINGELMANN},
    {FUEL_ELECTRIC, 0, RG, 0, "WITHIN_RINGELMANN", 1, 0},
    /* no registry fuel, blue plate: only Ringelmann */
    {FUEL_UNKNOWN, 0, RG, 3, "OVER_RINGELMANN", 1, POLLUTANT_RINGELMANN},
    /* a diesel vehicle's CO is not judged by the gasoline limits */
};

static void limits_setup(struct scenario *s)
{
    char err[128];
    static const char *const kv[][2] = {
        {"gasoline_co_pct_a", "4.5"}, {"gasoline_co_pct_b", "3"},    {"gasoline_hc_ppm_a", "1000"},
        {"gasoline_hc_ppm_b", "600"}, {"gasoline_no_ppm_a", "1200"}, {"gasoline_no_ppm_b", "800"},
    };
    for (size_t i = 0; i < COUNT(kv); i++)
        assert_int_equal(policy_config_set(&s->cfg, "limits", kv[i][0], kv[i][1], err, sizeof(err)),
                         0);
}

static void test_limits(void **state)
{
    (void)state;
    for (size_t i = 0; i < COUNT(limit_cases); i++) {
        const struct limit_case *c = &limit_cases[i];
        struct scenario s;
        sc_init(&s);
        limits_setup(&s);
        s.cfg.limit_set = c->set;
        if (c->fuel == FUEL_UNKNOWN)
            s.has_reg = false;
        else
            s.reg.fuel = c->fuel;
        sc_value(&s, c->field, c->value);
        sc_run(&s);
        const struct policy_rule_hit *h = expect_hit(&s.out, c->rule, c->value, c->limit);
        assert_int_equal(s.out.limit_set, c->set);
        assert_int_equal(s.out.exceeded, c->exceeded);
        assert_int_equal(s.out.result, c->exceeded ? RESULT_OVER_STANDARD : RESULT_PASS);
        assert_non_null(strstr(h->clause, c->set ? "limit set b" : "limit set a"));
        /* exactly one limit hit: the other pollutants were not reported */
        assert_int_equal(count_prefix(&s.out, "OVER_") + count_prefix(&s.out, "WITHIN_"), 1);
    }
}

/* A fully measured diesel pass: each limit listed, what was not reported said so. */
static void test_limits_all_and_not_reported(void **state)
{
    (void)state;
    struct scenario s;
    sc_init(&s);
    sc_value(&s, RSU_F_OPACITY, 12);
    sc_value(&s, RSU_F_NO, 1600);
    sc_value(&s, RSU_F_RINGELMANN, 0);
    sc_value(&s, RSU_F_CO, 9); /* not a diesel pollutant: ignored */
    sc_run(&s);
    expect_hit(&s.out, "WITHIN_DIESEL_OPACITY", 12, 30);
    const struct policy_rule_hit *h = expect_hit(&s.out, "OVER_DIESEL_NO", 1600, 1500);
    assert_string_equal(h->unit, "ppm");
    assert_string_equal(h->quantity, "NO");
    expect_hit(&s.out, "WITHIN_RINGELMANN", 0, 1);
    expect_no_hit(&s.out, "OVER_GASOLINE_CO");
    expect_no_hit(&s.out, "NOT_REPORTED");
    assert_int_equal(s.out.exceeded, POLLUTANT_NO);

    sc_init(&s);
    sc_value(&s, RSU_F_OPACITY, 12);
    sc_run(&s);
    h = expect_hit(&s.out, "NOT_REPORTED", NONE_, NONE_);
    assert_string_equal(h->quantity, "NO, Ringelmann");
    assert_int_equal(s.out.result, RESULT_PASS);

    /* nothing reported at all: valid, but nothing to judge */
    sc_init(&s);
    sc_run(&s);
    assert_int_equal(s.out.result, RESULT_NOT_JUDGED);
    h = expect_hit(&s.out, "NOT_REPORTED", NONE_, NONE_);
    assert_string_equal(h->quantity, "opacity, NO, Ringelmann");
    assert_int_equal(s.out.actions, 0);
}

static void test_gasoline_unset_and_configured(void **state)
{
    (void)state;
    struct scenario s;
    /* unset (default): CO/HC/NO are not judged, Ringelmann is */
    sc_init(&s);
    s.reg.fuel = FUEL_GASOLINE;
    sc_value(&s, RSU_F_CO, 10);
    sc_value(&s, RSU_F_HC, 5000);
    sc_value(&s, RSU_F_NO, 5000);
    sc_value(&s, RSU_F_RINGELMANN, 0);
    sc_run(&s);
    const struct policy_rule_hit *h = expect_hit(&s.out, "LIMITS_UNSET", NONE_, NONE_);
    assert_string_equal(h->quantity, "CO, HC, NO");
    assert_non_null(strstr(h->text, "gasoline limits not configured"));
    expect_hit(&s.out, "WITHIN_RINGELMANN", 0, 1);
    assert_int_equal(s.out.result, RESULT_PASS);
    assert_int_equal(s.out.exceeded, 0);

    /* unset and no Ringelmann: nothing could be judged */
    sc_clear(&s, RSU_F_RINGELMANN);
    sc_run(&s);
    assert_int_equal(s.out.result, RESULT_NOT_JUDGED);
    expect_hit(&s.out, "LIMITS_UNSET", NONE_, NONE_);
    h = expect_hit(&s.out, "NOT_REPORTED", NONE_, NONE_);
    assert_string_equal(h->quantity, "Ringelmann");

    /* one configured: judged; the others still listed as unset */
    char err[128];
    assert_int_equal(
        policy_config_set(&s.cfg, "limits", "gasoline_co_pct_a", "4.5", err, sizeof(err)), 0);
    sc_run(&s);
    expect_hit(&s.out, "OVER_GASOLINE_CO", 10, 4.5);
    h = expect_hit(&s.out, "LIMITS_UNSET", NONE_, NONE_);
    assert_string_equal(h->quantity, "HC, NO");
    assert_int_equal(s.out.result, RESULT_OVER_STANDARD);
    assert_int_equal(s.out.exceeded, POLLUTANT_CO);

    /* a diesel limit set to none */
    sc_init(&s);
    assert_int_equal(
        policy_config_set(&s.cfg, "limits", "diesel_no_ppm_a", "none", err, sizeof(err)), 0);
    sc_value(&s, RSU_F_NO, 9000);
    sc_value(&s, RSU_F_OPACITY, 10);
    sc_run(&s);
    h = expect_hit(&s.out, "LIMITS_UNSET", NONE_, NONE_);
    assert_string_equal(h->quantity, "NO");
    assert_int_equal(s.out.result, RESULT_PASS);
}

static void test_electric_and_unknown_fuel(void **state)
{
    (void)state;
    struct scenario s;
    sc_init(&s);
    s.reg.fuel = FUEL_ELECTRIC;
    sc_value(&s, RSU_F_OPACITY, 90);
    sc_value(&s, RSU_F_NO, 9000);
    sc_run(&s);
    expect_hit(&s.out, "NO_TAILPIPE_LIMITS", NONE_, NONE_);
    expect_no_hit(&s.out, "OVER_DIESEL_OPACITY");
    assert_int_equal(s.out.result, RESULT_NOT_JUDGED);

    /* blue plate, not registered: fuel unknown, opacity not judged */
    sc_init(&s);
    s.has_reg = false;
    sc_value(&s, RSU_F_OPACITY, 90);
    sc_value(&s, RSU_F_RINGELMANN, 1);
    sc_run(&s);
    const struct policy_rule_hit *h = expect_hit(&s.out, "FUEL_UNKNOWN", NONE_, NONE_);
    assert_non_null(strstr(h->text, "not in the registry"));
    expect_hit(&s.out, "WITHIN_RINGELMANN", 1, 1);
    expect_no_hit(&s.out, "OVER_DIESEL_OPACITY");
    assert_int_equal(s.out.result, RESULT_PASS);
    assert_int_equal(s.v.n_assumptions, 0);
    assert_int_equal(count_prefix(&s.out, "ASSUME_"), 0);
}

/* ---- validity ---- */

struct validity_case {
    const char *name;
    enum rsu_field field;
    bool present;
    double value;
    bool required;
    const char *rule; /* NULL: still valid */
    double measured, limit;
};

static const struct validity_case validity_cases[] = {
    {"speed below", RSU_F_SPEED, true, 4.9, true, "VALID_SPEED", 4.9, 5},
    {"speed at min", RSU_F_SPEED, true, 5, true, NULL, 0, 0},
    {"speed at max", RSU_F_SPEED, true, 100, true, NULL, 0, 0},
    {"speed above", RSU_F_SPEED, true, 100.1, true, "VALID_SPEED", 100.1, 100},
    {"speed missing", RSU_F_SPEED, false, 0, true, "VALID_SPEED", NONE_, NONE_},
    {"speed missing, optional", RSU_F_SPEED, false, 0, false, NULL, 0, 0},
    {"speed out, optional", RSU_F_SPEED, true, 120, false, "VALID_SPEED", 120, 100},
    {"accel below", RSU_F_ACCEL, true, -2.01, true, "VALID_ACCEL", -2.01, -2},
    {"accel at min", RSU_F_ACCEL, true, -2, true, NULL, 0, 0},
    {"accel above", RSU_F_ACCEL, true, 2.01, true, "VALID_ACCEL", 2.01, 2},
    {"accel missing", RSU_F_ACCEL, false, 0, true, "VALID_ACCEL", NONE_, NONE_},
    {"accel missing, optional", RSU_F_ACCEL, false, 0, false, NULL, 0, 0},
    {"vsp below", RSU_F_VSP, true, -0.1, true, "VALID_VSP", -0.1, 0},
    {"vsp at max", RSU_F_VSP, true, 20, true, NULL, 0, 0},
    {"vsp above", RSU_F_VSP, true, 20.1, true, "VALID_VSP", 20.1, 20},
    {"vsp missing", RSU_F_VSP, false, 0, true, "VALID_VSP", NONE_, NONE_},
    {"vsp missing, optional", RSU_F_VSP, false, 0, false, NULL, 0, 0},
    {"speed NaN", RSU_F_SPEED, true, NAN, true, "VALID_NOT_A_NUMBER", NONE_, NONE_},
    {"vsp infinite", RSU_F_VSP, true, INFINITY, true, "VALID_NOT_A_NUMBER", NONE_, NONE_},
    {"opacity NaN", RSU_F_OPACITY, true, NAN, true, "VALID_NOT_A_NUMBER", NONE_, NONE_},
};

static void test_validity(void **state)
{
    (void)state;
    for (size_t i = 0; i < COUNT(validity_cases); i++) {
        const struct validity_case *c = &validity_cases[i];
        struct scenario s;
        sc_init(&s);
        s.cfg.speed_kmh.required = s.cfg.accel_ms2.required = s.cfg.vsp_kw_t.required = c->required;
        /* a clear exceedance that would be a second finding if the pass were judged */
        sc_value(&s, RSU_F_OPACITY, 90);
        sc_hist(&s, NOW_MS - 10 * DAY_MS, POLLUTANT_OPACITY, NULL);
        if (c->present)
            sc_value(&s, c->field, c->value);
        else
            sc_clear(&s, c->field);
        sc_run(&s);
        if (!c->rule) {
            assert_int_equal(s.out.result, RESULT_OVER_STANDARD);
            assert_int_equal(count_prefix(&s.out, "VALID_"), 0);
            continue;
        }
        print_message("validity: %s\n", c->name);
        expect_hit(&s.out, c->rule, c->measured, c->limit);
        assert_int_equal(count_prefix(&s.out, "VALID_"), 1);
        assert_int_equal(s.out.result, RESULT_INVALID);
        assert_int_equal(s.out.exceeded, 0);
        assert_int_equal(s.out.actions, 0);
        assert_int_equal(s.out.agencies, 0);
        assert_int_equal(s.out.finding_number, 0);
        assert_int_equal(count_prefix(&s.out, "OVER_"), 0);
        assert_int_equal(count_prefix(&s.out, "CONSECUTIVE_"), 0);
    }
}

static void test_validity_issues(void **state)
{
    (void)state;
    struct scenario s;
    sc_init(&s);
    sc_value(&s, RSU_F_OPACITY, 90);
    s.m.n_issues = 2;
    snprintf(s.m.issues[0], RSU_ISSUE_LEN, "register 40012: NO 70000 ppm out of range");
    snprintf(s.m.issues[1], RSU_ISSUE_LEN, "plate text not UTF-8");
    sc_value(&s, RSU_F_SPEED, 200); /* also outside its window: both listed */
    sc_run(&s);
    const struct policy_rule_hit *h = expect_hit(&s.out, "VALID_ISSUES", 2, 0);
    assert_non_null(strstr(h->text, "register 40012: NO 70000 ppm out of range"));
    assert_non_null(strstr(h->text, "plate text not UTF-8"));
    expect_hit(&s.out, "VALID_SPEED", 200, 100);
    assert_int_equal(s.out.result, RESULT_INVALID);
    assert_int_equal(s.out.actions, 0);
    assert_int_equal(s.out.exceeded, 0);
}

/* ---- unknown vehicles: plate-colour assumptions ---- */

static void test_assume_yellow(void **state)
{
    (void)state;
    struct scenario s;
    sc_init(&s);
    s.has_reg = false;
    sc_plate(&s, "豫A12345", RSU_COLOUR_YELLOW);
    sc_value(&s, RSU_F_OPACITY, 35);
    sc_run(&s);
    assert_int_equal(s.v.fuel, FUEL_DIESEL);
    assert_int_equal(s.v.vclass, VCLASS_TRUCK);
    assert_true(s.v.heavy);
    assert_int_equal(s.v.n_assumptions, 3);
    assert_non_null(strstr(s.v.assumptions[0], "ASSUME_YELLOW_FUEL: fuel diesel assumed"));
    assert_non_null(strstr(s.v.assumptions[1], "ASSUME_YELLOW_CLASS: class truck assumed"));
    assert_non_null(strstr(s.v.assumptions[2], "ASSUME_YELLOW_HEAVY: over 3500 kg assumed"));
    const struct policy_rule_hit *h = expect_hit(&s.out, "ASSUME_YELLOW_FUEL", NONE_, NONE_);
    assert_non_null(strstr(h->text, "not in the registry"));
    assert_null(strstr(h->text, "ASSUME_")); /* the id is not repeated in the sentence */
    expect_hit(&s.out, "ASSUME_YELLOW_CLASS", NONE_, NONE_);
    expect_hit(&s.out, "ASSUME_YELLOW_HEAVY", NONE_, 3500);
    expect_hit(&s.out, "OVER_DIESEL_OPACITY", 35, 30);
    /* local diesel truck: national rule; assumed heavy: environment bureau */
    expect_hit(&s.out, "CONSECUTIVE_FIRST", 1, 2);
    h = expect_hit(&s.out, "AGENCY_ENVIRONMENT", NONE_, 3500);
    assert_non_null(strstr(h->text, "assumed from the yellow plate"));
    assert_int_equal(s.out.agencies, AGENCY(ENVIRONMENT));

    /* out-of-area, assumed diesel truck: local out-of-area rule */
    sc_plate(&s, "豫B12345", RSU_COLOUR_YELLOW);
    sc_run(&s);
    expect_hit(&s.out, "OUT_OF_AREA_FIRST", 1, 2);
    assert_int_equal(s.out.actions, ACT(WARN));

    /* registry knows the fuel but not class or weight: only those are assumed */
    sc_reg(&s, FUEL_GASOLINE, VCLASS_UNKNOWN, 0, 0);
    sc_run(&s);
    assert_int_equal(s.v.fuel, FUEL_GASOLINE);
    expect_no_hit(&s.out, "ASSUME_YELLOW_FUEL");
    h = expect_hit(&s.out, "ASSUME_YELLOW_CLASS", NONE_, NONE_);
    assert_non_null(strstr(h->text, "the registry does not say"));
    expect_hit(&s.out, "ASSUME_YELLOW_HEAVY", NONE_, 3500);

    /* registry weight wins over the colour */
    sc_reg(&s, FUEL_DIESEL, VCLASS_TRUCK, 5, 3000);
    sc_run(&s);
    assert_false(s.v.heavy);
    assert_int_equal(count_prefix(&s.out, "ASSUME_"), 0);
    assert_int_equal(s.v.n_assumptions, 0);

    /* yellow_plate_heavy = no, yellow_plate_fuel = unknown */
    sc_init(&s);
    s.has_reg = false;
    sc_plate(&s, "豫A12345", RSU_COLOUR_YELLOW);
    s.cfg.yellow_plate_heavy = false;
    s.cfg.yellow_plate_fuel = FUEL_UNKNOWN;
    sc_run(&s);
    assert_false(s.v.heavy);
    assert_int_equal(s.v.fuel, FUEL_UNKNOWN);
    expect_no_hit(&s.out, "ASSUME_YELLOW_HEAVY");
    expect_no_hit(&s.out, "ASSUME_YELLOW_FUEL");
    expect_hit(&s.out, "ASSUME_YELLOW_CLASS", NONE_, NONE_);
    expect_hit(&s.out, "FUEL_UNKNOWN", NONE_, NONE_);

    /* learner cars carry yellow plates too: nothing assumed */
    sc_init(&s);
    s.has_reg = false;
    sc_plate(&s, "豫A1234学", RSU_COLOUR_YELLOW);
    sc_run(&s);
    assert_int_equal(s.v.n_assumptions, 0);
    expect_hit(&s.out, "FUEL_UNKNOWN", NONE_, NONE_);
}

static void test_assume_blue_and_weight(void **state)
{
    (void)state;
    struct scenario s;
    char err[128];
    sc_init(&s);
    s.has_reg = false;
    assert_int_equal(
        policy_config_set(&s.cfg, "policy", "blue_plate_fuel", "gasoline", err, sizeof(err)), 0);
    sc_run(&s);
    assert_int_equal(s.v.fuel, FUEL_GASOLINE);
    assert_int_equal(s.v.n_assumptions, 1);
    expect_hit(&s.out, "ASSUME_BLUE_FUEL", NONE_, NONE_);
    const struct policy_rule_hit *h = expect_hit(&s.out, "LIMITS_UNSET", NONE_, NONE_);
    assert_string_equal(h->quantity, "CO, HC, NO");

    /* a green plate is not assumed anything */
    sc_plate(&s, "豫AD12345", RSU_COLOUR_GREEN);
    sc_run(&s);
    assert_int_equal(s.v.n_assumptions, 0);
    expect_hit(&s.out, "FUEL_UNKNOWN", NONE_, NONE_);

    /* heavy means over the threshold */
    sc_init(&s);
    s.reg.gross_weight_kg = 3500;
    sc_run(&s);
    assert_false(s.v.heavy);
    s.reg.gross_weight_kg = 3501;
    sc_run(&s);
    assert_true(s.v.heavy);
    assert_int_equal(
        policy_config_set(&s.cfg, "policy", "heavy_weight_kg", "4000", err, sizeof(err)), 0);
    sc_run(&s);
    assert_false(s.v.heavy);
    /* registry facts are copied */
    assert_string_equal(s.v.vin, "LZZ1CLVB5JA123456");
    assert_int_equal(s.v.emission_stage, 5);
    assert_true(s.v.in_registry);
    assert_true(s.v.local);
}

/* ---- national consecutive rule (local vehicles, and out-of-area non-trucks) ---- */

struct prior {
    int64_t days_ago; /* < 0: exactly at the window start; -2: 1 ms before it */
    uint32_t exceeded;
    const char *checkpoint;
};

struct streak_case {
    const char *name;
    const char *plate;
    enum vehicle_class vclass;
    uint32_t current; /* pollutants over the limit now */
    struct prior prior[4];
    size_t n_prior;
    const char *rule;
    uint32_t finding;
    uint32_t actions;
};

#define P_OP POLLUTANT_OPACITY
#define P_NO POLLUTANT_NO
#define P_RG POLLUTANT_RINGELMANN

static const struct streak_case streak_cases[] = {
    {"first", "豫A12345", VCLASS_CAR, P_OP, {{0}}, 0, "CONSECUTIVE_FIRST", 1, ACT(NOTICE)},
    {"second",
     "豫A12345",
     VCLASS_CAR,
     P_OP,
     {{10, P_OP, NULL}},
     1,
     "CONSECUTIVE_SECOND",
     2,
     ACT(PENALTY)},
    {"clean pass between",
     "豫A12345",
     VCLASS_CAR,
     P_OP,
     {{5, 0, NULL}, {10, P_OP, NULL}},
     2,
     "CONSECUTIVE_FIRST",
     1,
     ACT(NOTICE)},
    {"different pollutant",
     "豫A12345",
     VCLASS_CAR,
     P_OP,
     {{10, P_NO, NULL}},
     1,
     "CONSECUTIVE_FIRST",
     1,
     ACT(NOTICE)},
    {"two pollutants, longest streak",
     "豫A12345",
     VCLASS_CAR,
     P_OP | P_NO,
     {{5, P_OP | P_NO, NULL}, {10, P_OP, NULL}},
     2,
     "CONSECUTIVE_SECOND",
     3,
     ACT(PENALTY)},
    {"streaks per pollutant",
     "豫A12345",
     VCLASS_CAR,
     P_OP | P_NO,
     {{5, P_NO, NULL}, {10, P_OP, NULL}},
     2,
     "CONSECUTIVE_SECOND",
     2,
     ACT(PENALTY)},
    {"older than the window",
     "豫A12345",
     VCLASS_CAR,
     P_OP,
     {{200, P_OP, NULL}},
     1,
     "CONSECUTIVE_FIRST",
     1,
     ACT(NOTICE)},
    {"at the window start",
     "豫A12345",
     VCLASS_CAR,
     P_OP,
     {{-1, P_OP, NULL}},
     1,
     "CONSECUTIVE_SECOND",
     2,
     ACT(PENALTY)},
    {"1 ms before the window",
     "豫A12345",
     VCLASS_CAR,
     P_OP,
     {{-2, P_OP, NULL}},
     1,
     "CONSECUTIVE_FIRST",
     1,
     ACT(NOTICE)},
    {"other checkpoint",
     "豫A12345",
     VCLASS_CAR,
     P_OP,
     {{10, P_OP, "platform:郑州-G4-北"}},
     1,
     "CONSECUTIVE_SECOND",
     2,
     ACT(PENALTY)},
    {"black smoke twice",
     "豫A12345",
     VCLASS_CAR,
     P_RG,
     {{3, P_RG, NULL}},
     1,
     "CONSECUTIVE_SECOND",
     2,
     ACT(PENALTY)},
    {"fourth in a row",
     "豫A12345",
     VCLASS_CAR,
     P_NO,
     {{1, P_NO, NULL}, {2, P_NO | P_OP, NULL}, {3, P_NO, NULL}, {4, 0, NULL}},
     4,
     "CONSECUTIVE_SECOND",
     4,
     ACT(PENALTY)},
    {"out-of-area car, first",
     "豫B12345",
     VCLASS_CAR,
     P_OP,
     {{0}},
     0,
     "CONSECUTIVE_FIRST",
     1,
     ACT(NOTICE)},
    {"out-of-area car, second",
     "豫B12345",
     VCLASS_CAR,
     P_OP,
     {{10, P_OP, NULL}},
     1,
     "CONSECUTIVE_SECOND",
     2,
     ACT(PENALTY)},
    {"out-of-area bus, other pollutant",
     "豫B12345",
     VCLASS_BUS,
     P_OP,
     {{10, P_NO, NULL}},
     1,
     "CONSECUTIVE_FIRST",
     1,
     ACT(NOTICE)},
    {"local truck, other pollutant",
     "豫A12345",
     VCLASS_TRUCK,
     P_OP,
     {{10, P_NO, NULL}},
     1,
     "CONSECUTIVE_FIRST",
     1,
     ACT(NOTICE)},
    {"local truck, same pollutant",
     "豫A12345",
     VCLASS_TRUCK,
     P_NO,
     {{10, P_NO, NULL}},
     1,
     "CONSECUTIVE_SECOND",
     2,
     ACT(PENALTY)},
};

static void set_current(struct scenario *s, uint32_t current)
{
    sc_value(s, RSU_F_OPACITY, current & P_OP ? 35 : 10);
    sc_value(s, RSU_F_NO, current & P_NO ? 1600 : 100);
    sc_value(s, RSU_F_RINGELMANN, current & P_RG ? 2 : 0);
}

static void add_priors(struct scenario *s, const struct prior *p, size_t n)
{
    int64_t start = policy_window_start(NOW_MS, s->cfg.window_months);
    for (size_t i = 0; i < n; i++) {
        int64_t t = p[i].days_ago == -1   ? start
                    : p[i].days_ago == -2 ? start - 1
                                          : NOW_MS - p[i].days_ago * DAY_MS;
        sc_hist(s, t, p[i].exceeded, p[i].checkpoint);
    }
}

static void test_consecutive(void **state)
{
    (void)state;
    for (size_t i = 0; i < COUNT(streak_cases); i++) {
        const struct streak_case *c = &streak_cases[i];
        struct scenario s;
        sc_init(&s);
        sc_plate(&s, c->plate, RSU_COLOUR_BLUE);
        s.reg.vclass = c->vclass;
        set_current(&s, c->current);
        add_priors(&s, c->prior, c->n_prior);
        sc_run(&s);
        print_message("consecutive: %s\n", c->name);
        const struct policy_rule_hit *h = expect_hit(&s.out, c->rule, c->finding, 2);
        assert_string_equal(h->unit, "passes");
        assert_int_equal(s.out.finding_number, c->finding);
        assert_int_equal(s.out.actions, c->actions);
        assert_int_equal(s.out.exceeded, c->current);
        assert_int_equal(s.out.result, RESULT_OVER_STANDARD);
        assert_int_equal(count_prefix(&s.out, "OUT_OF_AREA_"), 0);
        if (c->finding >= 2)
            assert_non_null(strstr(h->clause, "6063"));
    }
}

static void test_consecutive_clean_pass(void **state)
{
    (void)state;
    struct scenario s;
    sc_init(&s);
    set_current(&s, 0);
    sc_hist(&s, NOW_MS - DAY_MS, P_OP, NULL);
    sc_run(&s);
    assert_int_equal(s.out.result, RESULT_PASS);
    assert_int_equal(s.out.finding_number, 0);
    assert_int_equal(s.out.actions, 0);
    assert_int_equal(s.out.agencies, 0);
    assert_int_equal(count_prefix(&s.out, "CONSECUTIVE_"), 0);
    assert_int_equal(count_prefix(&s.out, "AGENCY_"), 0);

    /* configured actions */
    char err[128];
    assert_int_equal(
        policy_config_set(&s.cfg, "policy", "local_second", "penalty+turn_back", err, sizeof(err)),
        0);
    set_current(&s, P_OP);
    sc_run(&s);
    expect_hit(&s.out, "CONSECUTIVE_SECOND", 2, 2);
    assert_int_equal(s.out.actions, ACT(PENALTY) | ACT(TURN_BACK));
    expect_hit(&s.out, "AGENCY_TURN_BACK", NONE_, NONE_);
    assert_int_equal(s.out.agencies, AGENCY(TRAFFIC_POLICE));
}

/* ---- out-of-area diesel trucks (seed 000 line 243) ---- */

struct ooa_case {
    const char *name;
    uint32_t current;
    struct prior prior[3];
    size_t n_prior;
    uint32_t findings; /* history->findings; 0: count of exceeded priors */
    const char *rule;
    uint32_t finding;
    uint32_t actions;
    uint32_t agencies;
};

static const struct ooa_case ooa_cases[] = {
    {"first", P_OP, {{0}}, 0, 0, "OUT_OF_AREA_FIRST", 1, ACT(WARN), AGENCY(ENVIRONMENT)},
    {"second, other checkpoint",
     P_OP,
     {{30, P_NO, "platform:豫B-卡口"}},
     1,
     0,
     "OUT_OF_AREA_SECOND",
     2,
     ACT(TURN_BACK) | ACT(PENALTY),
     AGENCY(ENVIRONMENT) | AGENCY(TRAFFIC_POLICE)},
    {"clean passes only",
     P_NO,
     {{3, 0, NULL}, {4, 0, NULL}},
     2,
     0,
     "OUT_OF_AREA_FIRST",
     1,
     ACT(WARN),
     AGENCY(ENVIRONMENT)},
    {"findings beyond pass[]",
     P_OP,
     {{0}},
     0,
     3,
     "OUT_OF_AREA_SECOND",
     4,
     ACT(TURN_BACK) | ACT(PENALTY),
     AGENCY(ENVIRONMENT) | AGENCY(TRAFFIC_POLICE)},
    {"clean pass between",
     P_RG,
     {{1, 0, NULL}, {2, P_OP, NULL}},
     2,
     0,
     "OUT_OF_AREA_SECOND",
     2,
     ACT(TURN_BACK) | ACT(PENALTY),
     AGENCY(ENVIRONMENT) | AGENCY(TRAFFIC_POLICE)},
};

static void test_out_of_area_truck(void **state)
{
    (void)state;
    for (size_t i = 0; i < COUNT(ooa_cases); i++) {
        const struct ooa_case *c = &ooa_cases[i];
        struct scenario s;
        sc_init(&s);
        sc_plate(&s, "豫B12345", RSU_COLOUR_YELLOW);
        sc_reg(&s, FUEL_DIESEL, VCLASS_TRUCK, 5, 18000);
        set_current(&s, c->current);
        add_priors(&s, c->prior, c->n_prior);
        if (c->findings)
            s.hist.findings = c->findings;
        sc_run(&s);
        print_message("out-of-area: %s\n", c->name);
        const struct policy_rule_hit *h = expect_hit(&s.out, c->rule, c->finding, 2);
        assert_non_null(strstr(h->clause, "seed 000 line 243"));
        assert_int_equal(s.out.finding_number, c->finding);
        assert_int_equal(s.out.actions, c->actions);
        assert_int_equal(s.out.agencies, c->agencies);
        assert_int_equal(count_prefix(&s.out, "CONSECUTIVE_"), 0);
        if (c->actions & ACT(TURN_BACK))
            expect_hit(&s.out, "AGENCY_TURN_BACK", NONE_, NONE_);
        else
            expect_no_hit(&s.out, "AGENCY_TURN_BACK");
    }

    /* A pass in pass[] but not counted in findings still counts (the larger wins). */
    struct scenario s;
    sc_init(&s);
    sc_plate(&s, "豫B12345", RSU_COLOUR_YELLOW);
    sc_reg(&s, FUEL_DIESEL, VCLASS_TRUCK, 5, 18000);
    set_current(&s, P_OP);
    sc_hist(&s, NOW_MS - DAY_MS, P_NO, NULL);
    s.hist.findings = 0;
    sc_run(&s);
    expect_hit(&s.out, "OUT_OF_AREA_SECOND", 2, 2);

    /* A configured "none" still lists the rule, with no action. */
    sc_init(&s);
    sc_plate(&s, "豫B12345", RSU_COLOUR_YELLOW);
    sc_reg(&s, FUEL_DIESEL, VCLASS_TRUCK, 5, 18000);
    s.cfg.out_of_area_first = 0;
    set_current(&s, P_OP);
    sc_run(&s);
    const struct policy_rule_hit *h = expect_hit(&s.out, "OUT_OF_AREA_FIRST", 1, 2);
    assert_non_null(strstr(h->text, "NONE"));
    assert_int_equal(s.out.actions, 0);

    /* A clean pass of a truck with findings is no finding. */
    sc_init(&s);
    sc_plate(&s, "豫B12345", RSU_COLOUR_YELLOW);
    sc_reg(&s, FUEL_DIESEL, VCLASS_TRUCK, 5, 18000);
    set_current(&s, 0);
    s.hist.findings = 2;
    sc_run(&s);
    assert_int_equal(s.out.result, RESULT_PASS);
    assert_int_equal(s.out.actions, 0);
    assert_int_equal(count_prefix(&s.out, "OUT_OF_AREA_"), 0);

    /* With the whole province local, 豫B is local: national rule. */
    sc_init(&s);
    sc_plate(&s, "豫B12345", RSU_COLOUR_YELLOW);
    sc_reg(&s, FUEL_DIESEL, VCLASS_TRUCK, 5, 18000);
    char err[128];
    assert_int_equal(policy_config_set(&s.cfg, "policy", "local_prefixes", "豫", err, sizeof(err)),
                     0);
    set_current(&s, P_OP);
    sc_hist(&s, NOW_MS - DAY_MS, P_NO, NULL);
    sc_run(&s);
    assert_true(s.v.local);
    expect_hit(&s.out, "CONSECUTIVE_FIRST", 1, 2);
    assert_int_equal(s.out.actions, ACT(NOTICE));
}

/* ---- agencies (seed 001 lines 245-249) ---- */

struct agency_case {
    const char *name;
    enum vehicle_fuel fuel;
    enum vehicle_class vclass;
    int weight_kg;
    uint32_t current;
    uint32_t agencies;
    const char *hits[3];
    const char *absent[2];
};

static const struct agency_case agency_cases[] = {
    {"heavy diesel",
     FUEL_DIESEL,
     VCLASS_TRUCK,
     18000,
     P_OP,
     AGENCY(ENVIRONMENT),
     {"AGENCY_ENVIRONMENT"},
     {"AGENCY_TRAFFIC_POLICE", "AGENCY_BLACK_SMOKE"}},
    {"light diesel",
     FUEL_DIESEL,
     VCLASS_CAR,
     1600,
     P_NO,
     AGENCY(TRAFFIC_POLICE),
     {"AGENCY_TRAFFIC_POLICE"},
     {"AGENCY_ENVIRONMENT", "AGENCY_BLACK_SMOKE"}},
    {"at the threshold is light",
     FUEL_DIESEL,
     VCLASS_TRUCK,
     3500,
     P_OP,
     AGENCY(TRAFFIC_POLICE),
     {"AGENCY_TRAFFIC_POLICE"},
     {"AGENCY_ENVIRONMENT"}},
    {"light, black smoke only",
     FUEL_DIESEL,
     VCLASS_CAR,
     1600,
     P_RG,
     AGENCY(TRAFFIC_POLICE),
     {"AGENCY_BLACK_SMOKE"},
     {"AGENCY_ENVIRONMENT", "AGENCY_TRAFFIC_POLICE"}},
    {"light, opacity and black smoke",
     FUEL_DIESEL,
     VCLASS_CAR,
     1600,
     P_OP | P_RG,
     AGENCY(TRAFFIC_POLICE),
     {"AGENCY_TRAFFIC_POLICE", "AGENCY_BLACK_SMOKE"},
     {"AGENCY_ENVIRONMENT"}},
    {"heavy diesel, black smoke",
     FUEL_DIESEL,
     VCLASS_TRUCK,
     18000,
     P_RG,
     AGENCY(ENVIRONMENT) | AGENCY(TRAFFIC_POLICE),
     {"AGENCY_ENVIRONMENT", "AGENCY_BLACK_SMOKE"},
     {"AGENCY_TRAFFIC_POLICE"}},
    {"heavy diesel, NO and black smoke",
     FUEL_DIESEL,
     VCLASS_TRUCK,
     18000,
     P_NO | P_RG,
     AGENCY(ENVIRONMENT) | AGENCY(TRAFFIC_POLICE),
     {"AGENCY_ENVIRONMENT", "AGENCY_BLACK_SMOKE"},
     {"AGENCY_TRAFFIC_POLICE"}},
    {"heavy gasoline",
     FUEL_GASOLINE,
     VCLASS_TRUCK,
     5000,
     P_RG,
     AGENCY(TRAFFIC_POLICE),
     {"AGENCY_BLACK_SMOKE"},
     {"AGENCY_ENVIRONMENT", "AGENCY_TRAFFIC_POLICE"}},
    {"clean heavy diesel",
     FUEL_DIESEL,
     VCLASS_TRUCK,
     18000,
     0,
     0,
     {NULL},
     {"AGENCY_ENVIRONMENT", "AGENCY_BLACK_SMOKE"}},
};

static void test_agencies(void **state)
{
    (void)state;
    for (size_t i = 0; i < COUNT(agency_cases); i++) {
        const struct agency_case *c = &agency_cases[i];
        struct scenario s;
        sc_init(&s);
        sc_reg(&s, c->fuel, c->vclass, 5, c->weight_kg);
        set_current(&s, c->current);
        sc_run(&s);
        print_message("agency: %s\n", c->name);
        assert_int_equal(s.out.agencies, c->agencies);
        for (size_t k = 0; k < COUNT(c->hits) && c->hits[k]; k++) {
            bool smoke = strcmp(c->hits[k], "AGENCY_BLACK_SMOKE") == 0;
            expect_hit(&s.out, c->hits[k], smoke ? 2 : c->weight_kg, smoke ? 1 : 3500);
        }
        for (size_t k = 0; k < COUNT(c->absent) && c->absent[k]; k++)
            expect_no_hit(&s.out, c->absent[k]);
    }

    /* gasoline CO over on a heavy gasoline truck: traffic police (not heavy diesel) */
    struct scenario s;
    char err[128];
    sc_init(&s);
    sc_reg(&s, FUEL_GASOLINE, VCLASS_TRUCK, 5, 5000);
    assert_int_equal(
        policy_config_set(&s.cfg, "limits", "gasoline_co_pct_a", "4.5", err, sizeof(err)), 0);
    sc_value(&s, RSU_F_CO, 6);
    sc_run(&s);
    expect_hit(&s.out, "OVER_GASOLINE_CO", 6, 4.5);
    expect_hit(&s.out, "AGENCY_TRAFFIC_POLICE", 5000, 3500);
    assert_int_equal(s.out.agencies, AGENCY(TRAFFIC_POLICE));
}

/* ---- restricted zone (seed 000 line 514; 001 line 247) ---- */

struct zone_case {
    const char *name;
    const char *plate;
    enum vehicle_fuel fuel;
    enum vehicle_class vclass;
    int stage;
    enum vehicle_exemption exemption;
    bool zone, trucks_only, over_standard_turn_back;
    uint32_t current;
    bool invalid;
    const char *rule; /* NULL: no zone/exemption hit */
    double measured, limit;
    uint32_t actions;
};

static const struct zone_case zone_cases[] = {
    {"stage 3 truck", "豫A12345", FUEL_DIESEL, VCLASS_TRUCK, 3, EXEMPT_NONE, true, false, true, 0,
     false, "ZONE_STAGE", 3, 3, ACT(TURN_BACK)},
    {"stage 2 truck", "豫A12345", FUEL_DIESEL, VCLASS_TRUCK, 2, EXEMPT_NONE, true, false, true, 0,
     false, "ZONE_STAGE", 2, 3, ACT(TURN_BACK)},
    {"stage 4 truck", "豫A12345", FUEL_DIESEL, VCLASS_TRUCK, 4, EXEMPT_NONE, true, false, true, 0,
     false, NULL, 0, 0, 0},
    {"stage unknown", "豫A12345", FUEL_DIESEL, VCLASS_TRUCK, 0, EXEMPT_NONE, true, false, true, 0,
     false, "ZONE_STAGE_UNKNOWN", NONE_, 3, 0},
    {"stage 3 diesel car", "豫B12345", FUEL_DIESEL, VCLASS_CAR, 3, EXEMPT_NONE, true, false, true,
     0, false, "ZONE_STAGE", 3, 3, ACT(TURN_BACK)},
    {"stage 3 diesel car, trucks only", "豫A12345", FUEL_DIESEL, VCLASS_CAR, 3, EXEMPT_NONE, true,
     true, true, 0, false, NULL, 0, 0, 0},
    {"stage 2 gasoline truck", "豫A12345", FUEL_GASOLINE, VCLASS_TRUCK, 2, EXEMPT_NONE, true, false,
     true, 0, false, NULL, 0, 0, 0},
    {"no zone here", "豫A12345", FUEL_DIESEL, VCLASS_TRUCK, 3, EXEMPT_NONE, false, false, true, 0,
     false, NULL, 0, 0, 0},
    {"livelihood", "豫A12345", FUEL_DIESEL, VCLASS_TRUCK, 3, EXEMPT_LIVELIHOOD, true, false, true,
     0, false, "EXEMPT_LIVELIHOOD", NONE_, NONE_, 0},
    {"enforcement", "豫A12345", FUEL_DIESEL, VCLASS_TRUCK, 3, EXEMPT_ENFORCEMENT, true, false, true,
     0, false, "EXEMPT_ENFORCEMENT", NONE_, NONE_, 0},
    {"emergency", "豫A12345", FUEL_DIESEL, VCLASS_TRUCK, 0, EXEMPT_EMERGENCY, true, false, true, 0,
     false, "EXEMPT_EMERGENCY", NONE_, NONE_, 0},
    {"new-energy plate", "豫A12345D", FUEL_DIESEL, VCLASS_TRUCK, 3, EXEMPT_NONE, true, false, true,
     0, false, "EXEMPT_NEW_ENERGY", NONE_, NONE_, 0},
    {"invalid measurement, stage 3", "豫A12345", FUEL_DIESEL, VCLASS_TRUCK, 3, EXEMPT_NONE, true,
     false, true, P_OP, true, "ZONE_STAGE", 3, 3, ACT(TURN_BACK)},
    {"over standard, stage 5", "豫A12345", FUEL_DIESEL, VCLASS_TRUCK, 5, EXEMPT_NONE, true, false,
     true, P_OP, false, "ZONE_OVER_STANDARD", NONE_, NONE_, ACT(NOTICE) | ACT(TURN_BACK)},
    {"over standard, turn back off", "豫A12345", FUEL_DIESEL, VCLASS_TRUCK, 5, EXEMPT_NONE, true,
     false, false, P_OP, false, NULL, 0, 0, ACT(NOTICE)},
    {"over standard, no zone", "豫A12345", FUEL_DIESEL, VCLASS_TRUCK, 5, EXEMPT_NONE, false, false,
     true, P_OP, false, NULL, 0, 0, ACT(NOTICE)},
    {"over standard, exempt", "豫A12345", FUEL_DIESEL, VCLASS_TRUCK, 3, EXEMPT_LIVELIHOOD, true,
     false, true, P_OP, false, "ZONE_OVER_STANDARD", NONE_, NONE_, ACT(NOTICE) | ACT(TURN_BACK)},
};

static void test_restricted_zone(void **state)
{
    (void)state;
    for (size_t i = 0; i < COUNT(zone_cases); i++) {
        const struct zone_case *c = &zone_cases[i];
        struct scenario s;
        sc_init(&s);
        sc_plate(&s, c->plate, RSU_COLOUR_YELLOW);
        sc_reg(&s, c->fuel, c->vclass, c->stage, 18000);
        s.reg.exemption = c->exemption;
        s.cfg.restricted_zone = c->zone;
        s.cfg.restricted_trucks_only = c->trucks_only;
        s.cfg.restricted_over_standard_turn_back = c->over_standard_turn_back;
        set_current(&s, c->current);
        if (c->invalid)
            sc_value(&s, RSU_F_SPEED, 1);
        sc_run(&s);
        print_message("zone: %s\n", c->name);
        if (c->rule) {
            const struct policy_rule_hit *h = expect_hit(&s.out, c->rule, c->measured, c->limit);
            if (strncmp(c->rule, "ZONE_STAGE", 10) == 0)
                assert_non_null(strstr(h->clause, "seed 000 line 514"));
        }
        if (!c->rule || strcmp(c->rule, "ZONE_STAGE") != 0)
            expect_no_hit(&s.out, "ZONE_STAGE");
        if (!c->rule || strcmp(c->rule, "ZONE_OVER_STANDARD") != 0)
            expect_no_hit(&s.out, "ZONE_OVER_STANDARD");
        if (c->exemption != EXEMPT_NONE && c->zone)
            assert_int_equal(count_prefix(&s.out, "EXEMPT_"), 1);
        assert_int_equal(s.out.actions, c->actions);
        if (c->actions & ACT(TURN_BACK)) {
            assert_true(s.out.agencies & AGENCY(TRAFFIC_POLICE));
            expect_hit(&s.out, "AGENCY_TURN_BACK", NONE_, NONE_);
        }
        if (c->invalid)
            assert_int_equal(s.out.result, RESULT_INVALID);
    }
}

/* ---- heavy-pollution alerts (seed 000 line 393) × stage × exemptions ---- */

static void test_alert_matrix(void **state)
{
    (void)state;
    enum { EX_NONE, EX_LIVELIHOOD, EX_NEW_ENERGY };
    for (int level = ALERT_NONE; level <= ALERT_RED; level++) {
        for (int stage = 4; stage <= 5; stage++) {
            for (int ex = EX_NONE; ex <= EX_NEW_ENERGY; ex++) {
                struct scenario s;
                sc_init(&s);
                sc_plate(&s, ex == EX_NEW_ENERGY ? "豫A12345D" : "豫A12345", RSU_COLOUR_YELLOW);
                sc_reg(&s, FUEL_DIESEL, VCLASS_TRUCK, stage, 18000);
                if (ex == EX_LIVELIHOOD)
                    s.reg.exemption = EXEMPT_LIVELIHOOD;
                s.alert = (enum alert_level)level;
                set_current(&s, 0);
                sc_run(&s);
                print_message("alert %s, stage %d, exemption %d\n",
                              alert_level_name((enum alert_level)level), stage, ex);
                assert_int_equal(s.out.alert, level);
                assert_int_equal(s.out.result, RESULT_PASS);
                bool active = level >= ALERT_ORANGE;
                if (!active) {
                    assert_int_equal(count_prefix(&s.out, "ALERT_"), 0);
                    assert_int_equal(count_prefix(&s.out, "EXEMPT_"), 0);
                    assert_int_equal(s.out.actions, 0);
                } else if (ex != EX_NONE) {
                    expect_hit(&s.out,
                               ex == EX_LIVELIHOOD ? "EXEMPT_LIVELIHOOD" : "EXEMPT_NEW_ENERGY",
                               NONE_, NONE_);
                    assert_int_equal(count_prefix(&s.out, "ALERT_"), 0);
                    assert_int_equal(s.out.actions, 0);
                } else if (stage < 5) {
                    const struct policy_rule_hit *h = expect_hit(&s.out, "ALERT_STAGE", stage, 5);
                    assert_non_null(strstr(h->clause, "seed 000 line 393"));
                    assert_non_null(strstr(h->text, alert_level_name((enum alert_level)level)));
                    assert_int_equal(s.out.actions, ACT(TURN_BACK));
                    assert_int_equal(s.out.agencies, AGENCY(TRAFFIC_POLICE));
                } else {
                    assert_int_equal(count_prefix(&s.out, "ALERT_"), 0);
                    assert_int_equal(s.out.actions, 0);
                }
            }
        }
    }
}

static void test_alert_special(void **state)
{
    (void)state;
    struct scenario s;
    char err[128];

    /* stage unknown during an orange alert: flagged, not turned back */
    sc_init(&s);
    sc_reg(&s, FUEL_DIESEL, VCLASS_TRUCK, 0, 18000);
    s.alert = ALERT_ORANGE;
    sc_run(&s);
    const struct policy_rule_hit *h = expect_hit(&s.out, "ALERT_STAGE_UNKNOWN", NONE_, 5);
    assert_non_null(strstr(h->text, "check the vehicle's papers"));
    assert_int_equal(s.out.actions, 0);

    /* an assumed truck from a yellow plate has no known stage either */
    sc_init(&s);
    s.has_reg = false;
    sc_plate(&s, "豫B12345", RSU_COLOUR_YELLOW);
    s.alert = ALERT_RED;
    sc_run(&s);
    expect_hit(&s.out, "ALERT_STAGE_UNKNOWN", NONE_, 5);
    assert_int_equal(s.out.actions, 0);

    /* restricting from yellow on */
    sc_init(&s);
    sc_reg(&s, FUEL_DIESEL, VCLASS_TRUCK, 4, 18000);
    assert_int_equal(
        policy_config_set(&s.cfg, "policy", "alert_restrict_level", "yellow", err, sizeof(err)), 0);
    s.alert = ALERT_YELLOW;
    sc_run(&s);
    expect_hit(&s.out, "ALERT_STAGE", 4, 5);
    s.alert = ALERT_BLUE;
    sc_run(&s);
    expect_no_hit(&s.out, "ALERT_STAGE");

    /* alert_min_stage 6: China V trucks are turned back too */
    sc_init(&s);
    sc_reg(&s, FUEL_DIESEL, VCLASS_TRUCK, 5, 18000);
    s.cfg.alert_min_stage = 6;
    s.alert = ALERT_RED;
    sc_run(&s);
    expect_hit(&s.out, "ALERT_STAGE", 5, 6);

    /* diesel cars and buses are not restricted by alerts */
    sc_init(&s);
    sc_reg(&s, FUEL_DIESEL, VCLASS_BUS, 3, 18000);
    s.alert = ALERT_RED;
    sc_run(&s);
    assert_int_equal(count_prefix(&s.out, "ALERT_"), 0);
    assert_int_equal(s.out.actions, 0);

    /* an electric truck during an alert: the new-energy exemption is named */
    sc_init(&s);
    sc_plate(&s, "豫A12345D", RSU_COLOUR_YELLOW_GREEN);
    sc_reg(&s, FUEL_ELECTRIC, VCLASS_TRUCK, 0, 18000);
    s.alert = ALERT_ORANGE;
    sc_run(&s);
    expect_hit(&s.out, "EXEMPT_NEW_ENERGY", NONE_, NONE_);
    assert_int_equal(s.out.actions, 0);
    /* the same truck on a normal day: nothing to say */
    s.alert = ALERT_NONE;
    sc_run(&s);
    assert_int_equal(count_prefix(&s.out, "EXEMPT_"), 0);

    /* zone and alert together: both rules listed, one turn back */
    sc_init(&s);
    sc_reg(&s, FUEL_DIESEL, VCLASS_TRUCK, 3, 18000);
    s.cfg.restricted_zone = true;
    s.alert = ALERT_RED;
    sc_run(&s);
    expect_hit(&s.out, "ZONE_STAGE", 3, 3);
    expect_hit(&s.out, "ALERT_STAGE", 3, 5);
    assert_int_equal(s.out.actions, ACT(TURN_BACK));
    assert_int_equal(count_prefix(&s.out, "AGENCY_TURN_BACK"), 1);

    /* exempt in both: one exemption hit naming both */
    s.reg.exemption = EXEMPT_ENFORCEMENT;
    sc_run(&s);
    h = expect_hit(&s.out, "EXEMPT_ENFORCEMENT", NONE_, NONE_);
    assert_non_null(strstr(h->text, "restricted zone, pollution alert"));
    assert_int_equal(count_prefix(&s.out, "EXEMPT_"), 1);
    assert_int_equal(s.out.actions, 0);
}

/* ---- plates: missing and invalid ---- */

static void test_no_plate(void **state)
{
    (void)state;
    struct scenario s;
    sc_init(&s);
    s.has_reg = false;
    sc_plate(&s, "", RSU_COLOUR_YELLOW);
    set_current(&s, P_OP | P_RG);
    sc_hist(&s, NOW_MS - DAY_MS, P_OP, NULL); /* must be ignored */
    s.cfg.restricted_zone = true;
    s.alert = ALERT_RED;
    sc_run(&s);
    expect_hit(&s.out, "PLATE_MISSING", NONE_, NONE_);
    expect_hit(&s.out, "ASSUME_YELLOW_FUEL", NONE_, NONE_);
    expect_hit(&s.out, "OVER_DIESEL_OPACITY", 35, 30);
    expect_hit(&s.out, "OVER_RINGELMANN", 2, 1);
    assert_int_equal(s.out.result, RESULT_OVER_STANDARD);
    assert_int_equal(s.out.exceeded, P_OP | P_RG);
    assert_int_equal(s.out.finding_number, 0);
    assert_int_equal(s.out.actions, 0);
    assert_int_equal(s.out.agencies, 0);
    assert_int_equal(count_prefix(&s.out, "CONSECUTIVE_"), 0);
    assert_int_equal(count_prefix(&s.out, "AGENCY_"), 0);
    assert_int_equal(count_prefix(&s.out, "ZONE_"), 0);
    assert_int_equal(count_prefix(&s.out, "ALERT_"), 0);

    /* an invalid plate: the same, and the reason is given */
    sc_plate(&s, "豫A1234", RSU_COLOUR_YELLOW);
    sc_run(&s);
    const struct policy_rule_hit *h = expect_hit(&s.out, "PLATE_INVALID", NONE_, NONE_);
    assert_non_null(strstr(h->text, "7 or 8 characters expected, got 6"));
    assert_non_null(strstr(h->text, "豫A1234"));
    assert_int_equal(s.out.actions, 0);
    assert_int_equal(s.out.finding_number, 0);
    assert_false(s.v.local);

    /* no vehicle and no measurement at all */
    struct policy_input in = {.m = &s.m, .vehicle = NULL, .history = NULL, .now_ms = NOW_MS};
    policy_judge(&s.cfg, &in, &s.out);
    check_well_formed(&s.out);
    expect_hit(&s.out, "PLATE_MISSING", NONE_, NONE_);
    expect_hit(&s.out, "FUEL_UNKNOWN", NONE_, NONE_);
    in.m = NULL;
    policy_judge(&s.cfg, &in, &s.out);
    assert_int_equal(s.out.result, RESULT_NOT_JUDGED);
    expect_hit(&s.out, "NO_MEASUREMENT", NONE_, NONE_);
}

/* ---- verdict bookkeeping ---- */

static void test_verdict_fields(void **state)
{
    (void)state;
    struct scenario s;
    sc_init(&s);
    set_current(&s, P_OP);
    s.hist.stale = true;
    s.alert = ALERT_BLUE;
    sc_run(&s);
    assert_true(s.out.window_start_ms == START_MS);
    assert_int_equal(s.out.alert, ALERT_BLUE);
    assert_true(s.out.history_stale);
    const struct policy_rule_hit *h = expect_hit(&s.out, "HISTORY_STALE", NONE_, NONE_);
    assert_non_null(strstr(h->text, "finding number may be too low"));
    h = expect_hit(&s.out, "CONSECUTIVE_FIRST", 1, 2);
    assert_non_null(strstr(h->text, "2024-02-29")); /* the window is named in the sentence */

    s.hist.stale = false;
    s.cfg.window_months = 1;
    s.cfg.limit_set = 1;
    sc_run(&s);
    assert_false(s.out.history_stale);
    expect_no_hit(&s.out, "HISTORY_STALE");
    assert_true(s.out.window_start_ms == policy_window_start(NOW_MS, 1));
    assert_int_equal(s.out.limit_set, 1);
}

/* Everything at once: the union of actions and agencies, every rule listed, nothing cut. */
static void test_combination(void **state)
{
    (void)state;
    struct scenario s;
    sc_init(&s);
    sc_plate(&s, "豫B12345", RSU_COLOUR_YELLOW);
    sc_reg(&s, FUEL_DIESEL, VCLASS_TRUCK, 3, 18000);
    s.cfg.restricted_zone = true;
    s.alert = ALERT_RED;
    set_current(&s, P_OP | P_NO | P_RG);
    sc_hist(&s, NOW_MS - 20 * DAY_MS, P_NO, "platform:other");
    s.hist.stale = true;
    sc_run(&s);
    assert_int_equal(s.out.result, RESULT_OVER_STANDARD);
    assert_int_equal(s.out.exceeded, P_OP | P_NO | P_RG);
    assert_int_equal(s.out.actions, ACT(TURN_BACK) | ACT(PENALTY));
    assert_int_equal(s.out.agencies, AGENCY(ENVIRONMENT) | AGENCY(TRAFFIC_POLICE));
    assert_int_equal(s.out.finding_number, 2);
    expect_hit(&s.out, "OVER_DIESEL_OPACITY", 35, 30);
    expect_hit(&s.out, "OVER_DIESEL_NO", 1600, 1500);
    expect_hit(&s.out, "OVER_RINGELMANN", 2, 1);
    expect_hit(&s.out, "OUT_OF_AREA_SECOND", 2, 2);
    expect_hit(&s.out, "ZONE_OVER_STANDARD", NONE_, NONE_);
    expect_hit(&s.out, "ZONE_STAGE", 3, 3);
    expect_hit(&s.out, "ALERT_STAGE", 3, 5);
    expect_hit(&s.out, "AGENCY_ENVIRONMENT", 18000, 3500);
    expect_hit(&s.out, "AGENCY_BLACK_SMOKE", 2, 1);
    expect_hit(&s.out, "AGENCY_TURN_BACK", NONE_, NONE_);
    expect_hit(&s.out, "HISTORY_STALE", NONE_, NONE_);
    expect_no_hit(&s.out, "AGENCY_TRAFFIC_POLICE");

    /* An unknown yellow out-of-area truck under the fullest gasoline-style setup still fits. */
    sc_init(&s);
    s.has_reg = false;
    sc_plate(&s, "豫B12345", RSU_COLOUR_YELLOW);
    s.cfg.yellow_plate_fuel = FUEL_GASOLINE;
    char err[128];
    assert_int_equal(
        policy_config_set(&s.cfg, "limits", "gasoline_co_pct_a", "1", err, sizeof(err)), 0);
    assert_int_equal(
        policy_config_set(&s.cfg, "limits", "gasoline_hc_ppm_a", "1", err, sizeof(err)), 0);
    s.cfg.restricted_zone = true;
    s.alert = ALERT_RED;
    s.hist.stale = true;
    sc_value(&s, RSU_F_CO, 2);
    sc_value(&s, RSU_F_HC, 2);
    sc_value(&s, RSU_F_NO, 2);
    sc_value(&s, RSU_F_RINGELMANN, 3);
    sc_run(&s);
    assert_int_equal(count_prefix(&s.out, "ASSUME_"), 3);
    expect_hit(&s.out, "LIMITS_UNSET", NONE_, NONE_);
    expect_hit(&s.out, "OVER_GASOLINE_CO", 2, 1);
    expect_hit(&s.out, "OVER_GASOLINE_HC", 2, 1);
    expect_hit(&s.out, "OVER_RINGELMANN", 3, 1);
    expect_hit(&s.out, "CONSECUTIVE_FIRST", 1, 2);
    expect_hit(&s.out, "HISTORY_STALE", NONE_, NONE_);
}

static int setup_tz(void **state)
{
    (void)state;
    setenv("TZ", "Asia/Shanghai", 1);
    tzset();
    return 0;
}

/* Findings pulled from other checkpoints: they count for the out-of-area rule
 * (and the verdict names where), but never extend a same-pollutant streak. */
static void test_remote_findings(void **state)
{
    (void)state;
    struct scenario s;
    sc_init(&s);
    sc_plate(&s, "冀B67890", RSU_COLOUR_YELLOW);
    sc_reg(&s, FUEL_DIESEL, VCLASS_TRUCK, 5, 18000);
    set_current(&s, P_OP);
    sc_hist(&s, NOW_MS - DAY_MS, P_OP, "Zhengzhou West");
    s.hist.pass[0].remote = true;
    sc_run(&s);
    const struct policy_rule_hit *h = expect_hit(&s.out, "OUT_OF_AREA_SECOND", 2, 2);
    assert_non_null(strstr(h->text, "Zhengzhou West (via the platform)"));
    assert_true(s.out.actions & ACT(TURN_BACK));

    /* Local car: opacity over here, over at another checkpoint before: still a first. */
    sc_init(&s);
    set_current(&s, P_OP);
    sc_hist(&s, NOW_MS - DAY_MS, P_OP, "elsewhere");
    s.hist.pass[0].remote = true;
    sc_run(&s);
    expect_hit(&s.out, "CONSECUTIVE_FIRST", 1, 2);

    /* A remote finding between two local exceedances does not break the streak either. */
    sc_init(&s);
    set_current(&s, P_OP);
    sc_hist(&s, NOW_MS - DAY_MS, 0, "elsewhere");
    s.hist.pass[0].remote = true;
    sc_hist(&s, NOW_MS - 2 * DAY_MS, P_OP, NULL);
    sc_run(&s);
    expect_hit(&s.out, "CONSECUTIVE_SECOND", 2, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_limits_all_and_not_reported),
        cmocka_unit_test(test_gasoline_unset_and_configured),
        cmocka_unit_test(test_electric_and_unknown_fuel),
        cmocka_unit_test(test_validity),
        cmocka_unit_test(test_validity_issues),
        cmocka_unit_test(test_assume_yellow),
        cmocka_unit_test(test_assume_blue_and_weight),
        cmocka_unit_test(test_consecutive),
        cmocka_unit_test(test_consecutive_clean_pass),
        cmocka_unit_test(test_out_of_area_truck),
        cmocka_unit_test(test_remote_findings),
        cmocka_unit_test(test_agencies),
        cmocka_unit_test(test_restricted_zone),
        cmocka_unit_test(test_alert_matrix),
        cmocka_unit_test(test_alert_special),
        cmocka_unit_test(test_no_plate),
        cmocka_unit_test(test_verdict_fields),
        cmocka_unit_test(test_combination),
    };
    return cmocka_run_group_tests(tests, setup_tz, NULL);
}
