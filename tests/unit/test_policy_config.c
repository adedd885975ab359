/* SPDX-License-Identifier: MIT */
/* Policy settings: defaults, the strict parser, the digest, names, and the findings window. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <math.h>

#include <cmocka.h>

#include "policy.h"
#include "policy_internal.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static void test_defaults(void **state)
{
    (void)state;
    struct policy_config c;
    policy_config_defaults(&c);
    assert_true(c.limits[0].diesel_opacity_pct == 30 && c.limits[1].diesel_opacity_pct == 20);
    assert_true(c.limits[0].diesel_no_ppm == 1500 && c.limits[1].diesel_no_ppm == 1000);
    assert_true(c.limits[0].ringelmann_grade == 1 && c.limits[1].ringelmann_grade == 1);
    for (int s = 0; s < 2; s++) {
        assert_true(isnan(c.limits[s].gasoline_co_pct));
        assert_true(isnan(c.limits[s].gasoline_hc_ppm));
        assert_true(isnan(c.limits[s].gasoline_no_ppm));
    }
    assert_int_equal(c.limit_set, 0);
    assert_int_equal(c.window_months, 6);
    assert_int_equal(c.heavy_weight_kg, 3500);
    assert_int_equal(c.out_of_area_first, POLICY_ACT(ACTION_WARN));
    assert_int_equal(c.out_of_area_second,
                     POLICY_ACT(ACTION_TURN_BACK) | POLICY_ACT(ACTION_PENALTY));
    assert_int_equal(c.local_first, POLICY_ACT(ACTION_NOTICE));
    assert_int_equal(c.local_second, POLICY_ACT(ACTION_PENALTY));
    assert_int_equal(c.n_local_prefixes, 1);
    assert_string_equal(c.local_prefixes[0], "豫A");
    assert_false(c.restricted_zone);
    assert_int_equal(c.restricted_max_stage, 3);
    assert_int_equal(c.alert_restrict_level, ALERT_ORANGE);
    assert_int_equal(c.alert_min_stage, 5);
    assert_false(c.restricted_trucks_only);
    assert_true(c.restricted_over_standard_turn_back);
    assert_true(c.speed_kmh.min == 5 && c.speed_kmh.max == 100 && c.speed_kmh.required);
    assert_true(c.accel_ms2.min == -2 && c.accel_ms2.max == 2 && c.accel_ms2.required);
    assert_true(c.vsp_kw_t.min == 0 && c.vsp_kw_t.max == 20 && c.vsp_kw_t.required);
    assert_true(c.yellow_plate_heavy);
    assert_int_equal(c.yellow_plate_fuel, FUEL_DIESEL);
    assert_int_equal(c.yellow_plate_class, VCLASS_TRUCK);
    assert_int_equal(c.blue_plate_fuel, FUEL_UNKNOWN);
}

/* ---- accepted values and their effect ---- */

static void test_set_values(void **state)
{
    (void)state;
    struct policy_config c;
    char err[256];
    policy_config_defaults(&c);
#define SET_OK(sec, key, val)                                                                      \
    do {                                                                                           \
        int rc_ = policy_config_set(&c, sec, key, val, err, sizeof(err));                          \
        if (rc_ != 0)                                                                              \
            print_error("%s.%s=%s: %s\n", sec, key, val, err);                                     \
        assert_int_equal(rc_, 0);                                                                  \
    } while (0)
    SET_OK("policy", "limit_set", " B ");
    assert_int_equal(c.limit_set, 1);
    SET_OK("policy", "limit_set", "a");
    assert_int_equal(c.limit_set, 0);
    SET_OK("policy", "window_months", " 12 ");
    assert_int_equal(c.window_months, 12);
    SET_OK("policy", "heavy_weight_kg", "4500");
    assert_int_equal(c.heavy_weight_kg, 4500);
    SET_OK("policy", "out_of_area_first", "none");
    assert_int_equal(c.out_of_area_first, 0);
    SET_OK("policy", "out_of_area_second", "TURN_BACK + penalty");
    assert_int_equal(c.out_of_area_second,
                     POLICY_ACT(ACTION_TURN_BACK) | POLICY_ACT(ACTION_PENALTY));
    SET_OK("policy", "local_first", "warn+notice");
    assert_int_equal(c.local_first, POLICY_ACT(ACTION_WARN) | POLICY_ACT(ACTION_NOTICE));
    SET_OK("policy", "local_second", "penalty+turn_back");
    assert_int_equal(c.local_second, POLICY_ACT(ACTION_TURN_BACK) | POLICY_ACT(ACTION_PENALTY));
    SET_OK("policy", "local_prefixes", "豫a, 豫Ｂ,京");
    assert_int_equal(c.n_local_prefixes, 3);
    assert_string_equal(c.local_prefixes[0], "豫A");
    assert_string_equal(c.local_prefixes[1], "豫B");
    assert_string_equal(c.local_prefixes[2], "京");
    SET_OK("policy", "local_prefixes", "none");
    assert_int_equal(c.n_local_prefixes, 0);
    SET_OK("policy", "restricted_zone", "Yes");
    assert_true(c.restricted_zone);
    SET_OK("policy", "restricted_zone", "off");
    assert_false(c.restricted_zone);
    SET_OK("policy", "restricted_trucks_only", "true");
    assert_true(c.restricted_trucks_only);
    SET_OK("policy", "restricted_over_standard_turn_back", "0");
    assert_false(c.restricted_over_standard_turn_back);
    SET_OK("policy", "restricted_max_stage", "4");
    assert_int_equal(c.restricted_max_stage, 4);
    SET_OK("policy", "alert_restrict_level", "RED");
    assert_int_equal(c.alert_restrict_level, ALERT_RED);
    SET_OK("policy", "alert_min_stage", "6");
    assert_int_equal(c.alert_min_stage, 6);
    SET_OK("policy", "yellow_plate_heavy", "no");
    assert_false(c.yellow_plate_heavy);
    SET_OK("policy", "yellow_plate_fuel", "unknown");
    assert_int_equal(c.yellow_plate_fuel, FUEL_UNKNOWN);
    SET_OK("policy", "yellow_plate_class", "bus");
    assert_int_equal(c.yellow_plate_class, VCLASS_BUS);
    SET_OK("policy", "blue_plate_fuel", "gasoline");
    assert_int_equal(c.blue_plate_fuel, FUEL_GASOLINE);

    SET_OK("limits", "diesel_opacity_pct_a", "25.5");
    assert_true(c.limits[0].diesel_opacity_pct == 25.5);
    SET_OK("limits", "diesel_opacity_pct_b", "none");
    assert_true(isnan(c.limits[1].diesel_opacity_pct));
    SET_OK("limits", "diesel_no_ppm_b", "900");
    assert_true(c.limits[1].diesel_no_ppm == 900);
    SET_OK("limits", "ringelmann_grade_a", "2");
    assert_true(c.limits[0].ringelmann_grade == 2);
    SET_OK("limits", "gasoline_co_pct_a", "4.5");
    assert_true(c.limits[0].gasoline_co_pct == 4.5);
    SET_OK("limits", "gasoline_hc_ppm_b", "1e3");
    assert_true(c.limits[1].gasoline_hc_ppm == 1000);
    SET_OK("limits", "gasoline_no_ppm_a", "1500");
    assert_true(c.limits[0].gasoline_no_ppm == 1500);

    SET_OK("validity", "speed_kmh", "10 .. 80");
    assert_true(c.speed_kmh.min == 10 && c.speed_kmh.max == 80);
    SET_OK("validity", "accel_ms2", "-1.5..1.5");
    assert_true(c.accel_ms2.min == -1.5 && c.accel_ms2.max == 1.5);
    SET_OK("validity", "vsp_kw_t", "3..22");
    assert_true(c.vsp_kw_t.min == 3 && c.vsp_kw_t.max == 22);
    SET_OK("validity", "speed_required", "no");
    SET_OK("validity", "accel_required", "no");
    SET_OK("validity", "vsp_required", "no");
    assert_false(c.speed_kmh.required || c.accel_ms2.required || c.vsp_kw_t.required);
#undef SET_OK
}

/* ---- rejected values: the setting is untouched and the message says why ---- */

struct bad_case {
    const char *section, *key, *value;
    int rc;
    const char *err; /* exact message, or NULL for rc 1 */
};

static const struct bad_case bad_cases[] = {
    {"policy", "limit_set", "c", -1, "limit_set: expected a or b, got 'c'"},
    {"policy", "limit_set", "", -1, "limit_set: expected a or b, got ''"},
    {"policy", "window_months", "6x", -1, "window_months: expected a whole number 1..36, got '6x'"},
    {"policy", "window_months", "0", -1, "window_months: 0 is out of range 1..36"},
    {"policy", "window_months", "37", -1, "window_months: 37 is out of range 1..36"},
    {"policy", "window_months", "", -1, "window_months: expected a whole number 1..36, got ''"},
    {"policy", "window_months", "99999999999999999999", -1,
     "window_months: expected a whole number 1..36, got '99999999999999999999'"},
    {"policy", "heavy_weight_kg", "3500.5", -1,
     "heavy_weight_kg: expected a whole number 500..100000, got '3500.5'"},
    {"policy", "heavy_weight_kg", "-1", -1, "heavy_weight_kg: -1 is out of range 500..100000"},
    {"policy", "out_of_area_first", "warn+explode", -1,
     "out_of_area_first: expected none or actions joined by '+' (notice, warn, turn_back, "
     "penalty), got 'warn+explode'"},
    {"policy", "local_first", "none+warn", -1,
     "local_first: expected none or actions joined by '+' (notice, warn, turn_back, penalty), got "
     "'none+warn'"},
    {"policy", "local_second", "warn+", -1,
     "local_second: expected none or actions joined by '+' (notice, warn, turn_back, penalty), "
     "got 'warn+'"},
    {"policy", "local_prefixes", "豫A,龙", -1,
     "local_prefixes: '龙': unknown province character '龙'"},
    {"policy", "local_prefixes", "", -1,
     "local_prefixes: expected a comma list such as 豫A,豫B (or none)"},
    {"policy", "local_prefixes", ",,", -1,
     "local_prefixes: expected a comma list such as 豫A,豫B (or none)"},
    {"policy", "restricted_zone", "maybe", -1, "restricted_zone: expected yes or no, got 'maybe'"},
    {"policy", "restricted_max_stage", "7", -1, "restricted_max_stage: 7 is out of range 1..6"},
    {"policy", "alert_min_stage", "0", -1, "alert_min_stage: 0 is out of range 1..7"},
    {"policy", "alert_restrict_level", "none", -1,
     "alert_restrict_level: expected blue, yellow, orange or red, got 'none'"},
    {"policy", "alert_restrict_level", "purple", -1,
     "alert_restrict_level: expected blue, yellow, orange or red, got 'purple'"},
    {"policy", "yellow_plate_fuel", "coal", -1,
     "yellow_plate_fuel: expected unknown, diesel, gasoline, gas, electric or hybrid, got 'coal'"},
    {"policy", "yellow_plate_class", "tank", -1,
     "yellow_plate_class: expected unknown, car, bus, truck or other, got 'tank'"},
    {"policy", "blue_plate_fuel", "", -1,
     "blue_plate_fuel: expected unknown, diesel, gasoline, gas, electric or hybrid, got ''"},
    {"policy", "no_such_key", "1", 1, NULL},
    {"limits", "diesel_opacity_pct_a", "101", -1,
     "diesel_opacity_pct_a: 101 is out of range 0..100"},
    {"limits", "diesel_opacity_pct_a", "-1", -1, "diesel_opacity_pct_a: -1 is out of range 0..100"},
    {"limits", "diesel_opacity_pct_a", "abc", -1,
     "diesel_opacity_pct_a: expected a number or none, got 'abc'"},
    {"limits", "diesel_opacity_pct_a", "nan", -1,
     "diesel_opacity_pct_a: expected a number or none, got 'nan'"},
    {"limits", "diesel_no_ppm_b", "inf", -1,
     "diesel_no_ppm_b: expected a number or none, got 'inf'"},
    {"limits", "diesel_no_ppm_b", "0x10", -1,
     "diesel_no_ppm_b: expected a number or none, got '0x10'"},
    {"limits", "diesel_no_ppm_b", "1e999", -1,
     "diesel_no_ppm_b: expected a number or none, got '1e999'"},
    {"limits", "diesel_no_ppm_b", "30 %", -1,
     "diesel_no_ppm_b: expected a number or none, got '30 %'"},
    {"limits", "ringelmann_grade_a", "6", -1, "ringelmann_grade_a: 6 is out of range 0..5"},
    {"limits", "gasoline_co_pct_b", "", -1, "gasoline_co_pct_b: expected a number or none, got ''"},
    {"limits", "diesel_opacity_pct_c", "30", 1, NULL},
    {"limits", "diesel_opacity_pct", "30", 1, NULL},
    {"limits", "diesel_opacity_pct_ab", "30", 1, NULL},
    {"validity", "speed_kmh", "100..5", -1, "speed_kmh: minimum 100 is above maximum 5"},
    {"validity", "speed_kmh", "5-100", -1,
     "speed_kmh: expected MIN..MAX (e.g. 0..300), got '5-100'"},
    {"validity", "speed_kmh", "5..abc", -1,
     "speed_kmh: expected MIN..MAX with two numbers, got '5..abc'"},
    {"validity", "speed_kmh", "..", -1, "speed_kmh: expected MIN..MAX with two numbers, got '..'"},
    {"validity", "speed_kmh", "-1..100", -1, "speed_kmh: -1..100 is outside the sane range 0..300"},
    {"validity", "accel_ms2", "-2..50", -1, "accel_ms2: -2..50 is outside the sane range -20..20"},
    {"validity", "vsp_required", "sometimes", -1,
     "vsp_required: expected yes or no, got 'sometimes'"},
    {"validity", "speed", "5..100", 1, NULL},
    {"store", "limit_set", "a", 1, NULL},
    {"Policy", "limit_set", "a", 1, NULL},
};

static void test_set_rejects(void **state)
{
    (void)state;
    struct policy_config def, c;
    policy_config_defaults(&def);
    for (size_t i = 0; i < COUNT(bad_cases); i++) {
        const struct bad_case *b = &bad_cases[i];
        char err[256] = "unchanged";
        policy_config_defaults(&c);
        int rc = policy_config_set(&c, b->section, b->key, b->value, err, sizeof(err));
        if (rc != b->rc || (b->err && strcmp(err, b->err) != 0))
            print_error("case %zu [%s] %s=%s: rc %d '%s'\n", i, b->section, b->key, b->value, rc,
                        err);
        assert_int_equal(rc, b->rc);
        if (b->err)
            assert_string_equal(err, b->err);
        /* a rejected value leaves the settings as they were */
        char d1[65], d2[65];
        policy_config_digest(&def, d1);
        policy_config_digest(&c, d2);
        assert_string_equal(d1, d2);
    }
    /* NULL value and too many prefixes */
    char err[256];
    policy_config_defaults(&c);
    assert_int_equal(policy_config_set(&c, "policy", "limit_set", NULL, err, sizeof(err)), -1);
    assert_string_equal(err, "limit_set: missing value");
    assert_int_equal(policy_config_set(&c, NULL, "limit_set", "a", err, sizeof(err)), 1);
    assert_int_equal(policy_config_set(&c, "policy", "local_prefixes",
                                       "京,津,沪,渝,冀,豫,云,辽,黑,湘,皖,鲁,新,苏,浙,赣,鄂", err,
                                       sizeof(err)),
                     -1);
    assert_string_equal(err, "local_prefixes: at most 16 prefixes");
    assert_int_equal(c.n_local_prefixes, 1);
    /* a tiny error buffer is still terminated */
    char small[8];
    assert_int_equal(policy_config_set(&c, "policy", "limit_set", "zzz", small, sizeof(small)), -1);
    assert_int_equal(strlen(small), 7);
}

/* ---- digest ---- */

static void is_hex64(const char *d)
{
    assert_int_equal(strlen(d), 64);
    for (int i = 0; i < 64; i++)
        assert_non_null(strchr("0123456789abcdef", d[i]));
}

struct change_case {
    const char *section, *key, *value;
};

/* Every setting: changing it changes the digest. */
static const struct change_case changes[] = {
    {"policy", "limit_set", "b"},
    {"policy", "window_months", "7"},
    {"policy", "heavy_weight_kg", "3501"},
    {"policy", "out_of_area_first", "notice"},
    {"policy", "out_of_area_second", "turn_back"},
    {"policy", "local_first", "none"},
    {"policy", "local_second", "penalty+notice"},
    {"policy", "local_prefixes", "豫"},
    {"policy", "restricted_zone", "yes"},
    {"policy", "restricted_max_stage", "2"},
    {"policy", "restricted_trucks_only", "yes"},
    {"policy", "restricted_over_standard_turn_back", "no"},
    {"policy", "alert_restrict_level", "red"},
    {"policy", "alert_min_stage", "6"},
    {"policy", "yellow_plate_heavy", "no"},
    {"policy", "yellow_plate_fuel", "gas"},
    {"policy", "yellow_plate_class", "other"},
    {"policy", "blue_plate_fuel", "gasoline"},
    {"limits", "diesel_opacity_pct_a", "30.000001"},
    {"limits", "diesel_opacity_pct_b", "none"},
    {"limits", "diesel_no_ppm_a", "1499"},
    {"limits", "diesel_no_ppm_b", "1001"},
    {"limits", "ringelmann_grade_a", "2"},
    {"limits", "ringelmann_grade_b", "0"},
    {"limits", "gasoline_co_pct_a", "4.5"},
    {"limits", "gasoline_co_pct_b", "4.5"},
    {"limits", "gasoline_hc_ppm_a", "1000"},
    {"limits", "gasoline_hc_ppm_b", "1000"},
    {"limits", "gasoline_no_ppm_a", "1000"},
    {"limits", "gasoline_no_ppm_b", "1000"},
    {"validity", "speed_kmh", "5..101"},
    {"validity", "accel_ms2", "-2..2.5"},
    {"validity", "vsp_kw_t", "0.5..20"},
    {"validity", "speed_required", "no"},
    {"validity", "accel_required", "no"},
    {"validity", "vsp_required", "no"},
};

static void test_digest(void **state)
{
    (void)state;
    struct policy_config def, c;
    char d0[65], d1[65], d2[65], err[256];
    policy_config_defaults(&def);
    policy_config_digest(&def, d0);
    is_hex64(d0);
    policy_config_defaults(&c);
    policy_config_digest(&c, d1);
    assert_string_equal(d0, d1); /* deterministic */

    char seen[COUNT(changes)][65];
    for (size_t i = 0; i < COUNT(changes); i++) {
        policy_config_defaults(&c);
        assert_int_equal(policy_config_set(&c, changes[i].section, changes[i].key, changes[i].value,
                                           err, sizeof(err)),
                         0);
        policy_config_digest(&c, seen[i]);
        is_hex64(seen[i]);
        if (strcmp(seen[i], d0) == 0)
            print_error("%s.%s did not change the digest\n", changes[i].section, changes[i].key);
        assert_string_not_equal(seen[i], d0);
        for (size_t k = 0; k < i; k++)
            assert_string_not_equal(seen[i], seen[k]);
    }

    /* Setting a value to its default, or prefixes in another order, is the same policy. */
    policy_config_defaults(&c);
    assert_int_equal(
        policy_config_set(&c, "limits", "diesel_opacity_pct_a", "30.0", err, sizeof(err)), 0);
    assert_int_equal(policy_config_set(&c, "policy", "out_of_area_second", "penalty+turn_back", err,
                                       sizeof(err)),
                     0);
    policy_config_digest(&c, d1);
    assert_string_equal(d0, d1);
    assert_int_equal(policy_config_set(&c, "policy", "local_prefixes", "豫A,豫B", err, sizeof(err)),
                     0);
    policy_config_digest(&c, d1);
    assert_int_equal(
        policy_config_set(&c, "policy", "local_prefixes", "豫B, 豫a", err, sizeof(err)), 0);
    policy_config_digest(&c, d2);
    assert_string_equal(d1, d2);
}

static void test_format(void **state)
{
    (void)state;
    struct policy_config c;
    policy_config_defaults(&c);
    char buf[4096];
    size_t n = policy_config_format(&c, buf, sizeof(buf));
    assert_int_equal(n, strlen(buf));
    assert_non_null(strstr(buf, "rsgw-policy 1\n"));
    assert_non_null(strstr(buf, "policy.limit_set=a\n"));
    assert_non_null(strstr(buf, "policy.out_of_area_second=TURN_BACK+PENALTY\n"));
    assert_non_null(strstr(buf, "policy.local_prefixes=豫A\n"));
    assert_non_null(strstr(buf, "policy.alert_restrict_level=orange\n"));
    assert_non_null(strstr(buf, "limits.diesel_opacity_pct_a=30\n"));
    assert_non_null(strstr(buf, "limits.gasoline_co_pct_a=none\n"));
    assert_non_null(strstr(buf, "validity.accel_ms2=-2..2\n"));
    assert_non_null(strstr(buf, "validity.vsp_required=yes\n"));
    /* the SHA-256 of exactly that text */
    char hex[65];
    policy_config_digest(&c, hex);
    is_hex64(hex);

    /* A short buffer: the needed length is returned, the text is cut but terminated. */
    char small[20];
    size_t need = policy_config_format(&c, small, sizeof(small));
    assert_int_equal(need, n);
    assert_int_equal(strlen(small), sizeof(small) - 1);
    assert_int_equal(policy_config_format(&c, NULL, 0), n);

    /* Values that need all 17 digits survive the rendering. */
    c.limits[0].diesel_opacity_pct = 0.1 + 0.2;
    policy_config_format(&c, buf, sizeof(buf));
    assert_non_null(strstr(buf, "limits.diesel_opacity_pct_a=0.30000000000000004\n"));
    policy_config_defaults(&c);
    c.n_local_prefixes = 0;
    policy_config_format(&c, buf, sizeof(buf));
    assert_non_null(strstr(buf, "policy.local_prefixes=none\n"));
}

/* ---- names and action sets ---- */

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(policy_result_name(RESULT_PASS), "PASS");
    assert_string_equal(policy_result_name(RESULT_OVER_STANDARD), "OVER_STANDARD");
    assert_string_equal(policy_result_name(RESULT_INVALID), "INVALID");
    assert_string_equal(policy_result_name(RESULT_NOT_JUDGED), "NOT_JUDGED");
    assert_string_equal(policy_result_name(RESULT_UNSPECIFIED), "UNSPECIFIED");
    assert_string_equal(policy_result_name((enum policy_result)9), "invalid");
    assert_string_equal(policy_action_name(ACTION_TURN_BACK), "TURN_BACK");
    assert_string_equal(policy_action_name((enum policy_action) - 1), "invalid");
    assert_string_equal(policy_agency_name(AGENCY_ENVIRONMENT), "ENVIRONMENT");
    assert_string_equal(policy_agency_name(AGENCY_TRAFFIC_POLICE), "TRAFFIC_POLICE");
    assert_string_equal(alert_level_name(ALERT_ORANGE), "orange");
    assert_string_equal(alert_level_name(ALERT_NONE), "none");
    for (int a = ALERT_NONE; a <= ALERT_RED; a++)
        assert_int_equal(alert_level_parse(alert_level_name((enum alert_level)a)), a);
    assert_int_equal(alert_level_parse("Red"), ALERT_RED);
    assert_int_equal(alert_level_parse("amber"), -1);
    assert_int_equal(alert_level_parse(NULL), -1);
    for (int a = ACTION_NONE; a <= ACTION_PENALTY; a++)
        assert_int_equal(policy_action_parse(policy_action_name((enum policy_action)a)), a);
    assert_int_equal(policy_action_parse("turn_back"), ACTION_TURN_BACK);
    assert_int_equal(policy_action_parse("turn back"), -1);
}

struct actions_case {
    const char *text;
    int rc;
    uint32_t set;
    const char *formatted;
};

static const struct actions_case actions_cases[] = {
    {"none", 0, 0, "NONE"},
    {"NONE", 0, 0, "NONE"},
    {"warn", 0, POLICY_ACT(ACTION_WARN), "WARN"},
    {"turn_back+penalty", 0, POLICY_ACT(ACTION_TURN_BACK) | POLICY_ACT(ACTION_PENALTY),
     "TURN_BACK+PENALTY"},
    {" penalty + turn_back ", 0, POLICY_ACT(ACTION_TURN_BACK) | POLICY_ACT(ACTION_PENALTY),
     "TURN_BACK+PENALTY"},
    {"notice+warn+turn_back+penalty", 0, 0x1e, "NOTICE+WARN+TURN_BACK+PENALTY"},
    {"warn+warn", 0, POLICY_ACT(ACTION_WARN), "WARN"},
    {"", -1, 0, NULL},
    {"+", -1, 0, NULL},
    {"warn,penalty", -1, 0, NULL},
    {"none+none", -1, 0, NULL},
    {"fine", -1, 0, NULL},
    {"averyveryverylongactionname", -1, 0, NULL},
};

static void test_actions(void **state)
{
    (void)state;
    for (size_t i = 0; i < COUNT(actions_cases); i++) {
        uint32_t set = 0xdead;
        int rc = policy_actions_parse(actions_cases[i].text, &set);
        assert_int_equal(rc, actions_cases[i].rc);
        if (rc != 0) {
            assert_int_equal(set, 0xdead); /* untouched */
            continue;
        }
        assert_int_equal(set, actions_cases[i].set);
        char buf[64];
        policy_actions_format(set, buf, sizeof(buf));
        assert_string_equal(buf, actions_cases[i].formatted);
    }
    assert_int_equal(policy_actions_parse(NULL, NULL), -1);
    char small[12];
    policy_actions_format(0x1e, small, sizeof(small));
    assert_string_equal(small, "NOTICE+WARN"); /* never half a name */
    policy_actions_format(POLICY_ACT(ACTION_NONE), small, sizeof(small));
    assert_string_equal(small, "NONE");
}

/* ---- the findings window ---- */

struct window_case {
    int64_t now_ms;
    int months;
    int64_t start_ms;
};

/* Expected values computed independently (Python zoneinfo, Asia/Shanghai). */
static const struct window_case window_cases[] = {
    {1725087600000LL, 6, 1709136000000LL},  /* 2024-08-31 15:00:00 -6 -> 2024-02-29 (leap) */
    {1693445400000LL, 6, 1677513600000LL},  /* 2023-08-31 09:30:00 -6 -> 2023-02-28 */
    {1705284000000LL, 6, 1689350400000LL},  /* 2024-01-15 10:00:00 -6 -> 2023-07-15 (year) */
    {1711900799000LL, 1, 1709136000000LL},  /* 2024-03-31 23:59:59 -1 -> 2024-02-29 */
    {1735617600000LL, 12, 1703952000000LL}, /* 2024-12-31 12:00:00 -12 -> 2023-12-31 */
    {1717084800000LL, 3, 1709136000000LL},  /* 2024-05-31 00:00:00 -3 -> 2024-02-29 */
    {4123368000000LL, 6, 4107427200000LL},  /* 2100-08-31 12:00:00 -6 -> 2100-02-28 (no leap) */
    {967694400000LL, 6, 951753600000LL},    /* 2000-08-31 12:00:00 -6 -> 2000-02-29 (leap) */
    {1719763200000LL, 6, 1704038400000LL},  /* 2024-07-01 00:00:00 -6 -> 2024-01-01 */
    {1719765000000LL, 6, 1704038400000LL},  /* 2024-07-01 00:30 local = 06-30 16:30 UTC */
    {1719765000999LL, 6, 1704038400000LL},  /* milliseconds do not matter */
    {1718445600000LL, 0, 1718380800000LL},  /* 2024-06-15 18:00:00 -0 -> 2024-06-15 00:00 */
    {1709164800000LL, 24, 1645977600000LL}, /* 2024-02-29 08:00:00 -24 -> 2022-02-28 */
    {1709164800000LL, 12, 1677513600000LL}, /* 2024-02-29 08:00:00 -12 -> 2023-02-28 */
    {1740758401000LL, 1, 1738339200000LL},  /* 2025-03-01 00:00:01 -1 -> 2025-02-01 */
    {1730329200000LL, 1, 1727625600000LL},  /* 2024-10-31 07:00:00 -1 -> 2024-09-30 */
    {1706655600000LL, 11, 1677513600000LL}, /* 2024-01-31 07:00:00 -11 -> 2023-02-28 */
    {1706655600000LL, 13, 1672416000000LL}, /* 2024-01-31 07:00:00 -13 -> 2022-12-31 */
    {1725087600000LL, 36, 1630339200000LL}, /* 2024-08-31 15:00:00 -36 -> 2021-08-31 */
    {-18000000LL, 0, -28800000LL},          /* 1970-01-01 03:00 local, before the epoch in UTC */
    {-17999500LL, 0, -28800000LL},          /* negative milliseconds round down */
    {1718445600000LL, -3, 1718380800000LL}, /* negative months count as 0 */
};

static void test_window_start(void **state)
{
    (void)state;
    for (size_t i = 0; i < COUNT(window_cases); i++) {
        int64_t got = policy_window_start(window_cases[i].now_ms, window_cases[i].months);
        if (got != window_cases[i].start_ms)
            print_error("case %zu: got %lld\n", i, (long long)got);
        assert_true(got == window_cases[i].start_ms);
    }
}

/* The window is in local time: the same instant gives another day in UTC. */
static void test_window_start_follows_tz(void **state)
{
    (void)state;
    setenv("TZ", "UTC", 1);
    tzset();
    int64_t utc = policy_window_start(1719765000000LL, 6); /* 2024-06-30 16:30 UTC */
    setenv("TZ", "Asia/Shanghai", 1);
    tzset();
    assert_true(utc == 1703894400000LL); /* 2023-12-30 00:00 UTC */
    assert_true(policy_window_start(1719765000000LL, 6) == 1704038400000LL);
}

/* ---- a full verdict keeps the deciding hits ---- */

static void test_hit_capacity(void **state)
{
    (void)state;
    struct policy_verdict v;
    memset(&v, 0, sizeof(v));
    for (int i = 0; i < POLICY_RULES_MAX; i++) {
        char id[32];
        snprintf(id, sizeof(id), i % 2 ? "WITHIN_%d" : "RULE_%d", i);
        assert_non_null(policy_hit_add(&v, id));
    }
    assert_int_equal(v.n_rules, POLICY_RULES_MAX);
    /* a deciding hit pushes out the newest informational one */
    struct policy_rule_hit *h = policy_hit_add(&v, "DECIDING");
    assert_non_null(h);
    assert_int_equal(v.n_rules, POLICY_RULES_MAX);
    assert_string_equal(v.rules[POLICY_RULES_MAX - 1].rule_id, "DECIDING");
    for (size_t i = 0; i < v.n_rules; i++)
        assert_string_not_equal(v.rules[i].rule_id, "WITHIN_15");
    /* an informational hit does not push anything out */
    assert_null(policy_hit_add(&v, "WITHIN_X"));
    assert_int_equal(v.n_rules, POLICY_RULES_MAX);
    assert_string_equal(v.rules[POLICY_RULES_MAX - 1].rule_id, "DECIDING");
    /* with no informational hits left, the last slot says that hits were dropped */
    memset(&v, 0, sizeof(v));
    for (int i = 0; i < POLICY_RULES_MAX; i++)
        assert_non_null(policy_hit_add(&v, "RULE"));
    assert_null(policy_hit_add(&v, "ONE_MORE"));
    assert_int_equal(v.n_rules, POLICY_RULES_MAX);
    assert_string_equal(v.rules[POLICY_RULES_MAX - 1].rule_id, "RULES_TRUNCATED");
    assert_non_null(strstr(v.rules[POLICY_RULES_MAX - 1].text, "later ones are not listed"));
    /* setters accept NULL */
    policy_hit_text(NULL, "x");
    policy_hit_clause(NULL, "x");
    policy_hit_measured(NULL, 1);
    policy_hit_limit(NULL, 1);
    policy_hit_quantity(NULL, "q", "u");
}

static void test_copy_utf8(void **state)
{
    (void)state;
    char buf[5];
    policy_copy_utf8(buf, sizeof(buf), "ab豫c"); /* 豫 is 3 bytes: would be cut */
    assert_string_equal(buf, "ab");
    policy_copy_utf8(buf, sizeof(buf), "a豫");
    assert_string_equal(buf, "a豫");
    policy_copy_utf8(buf, sizeof(buf), "abcdefg");
    assert_string_equal(buf, "abcd");
}

static int setup_tz(void **state)
{
    (void)state;
    setenv("TZ", "Asia/Shanghai", 1);
    tzset();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_set_values),
        cmocka_unit_test(test_set_rejects),
        cmocka_unit_test(test_digest),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_actions),
        cmocka_unit_test(test_window_start),
        cmocka_unit_test(test_window_start_follows_tz),
        cmocka_unit_test(test_hit_capacity),
        cmocka_unit_test(test_copy_utf8),
    };
    return cmocka_run_group_tests(tests, setup_tz, NULL);
}
