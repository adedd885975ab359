/* SPDX-License-Identifier: MIT */
/*
 * Policy settings: defaults (with their sources in docs/policy.md), the strict
 * parser for the [policy], [limits] and [validity] sections, and the digest.
 */
#include "policy.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

void policy_config_defaults(struct policy_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->obd_readiness_max_incomplete = 2;
    /* GB 3847-2018 remote-sensing limits as in standards.md (all [U]); gasoline limits are local
     * standards and stay unset until a deployment configures them. */
    cfg->limits[0] = (struct policy_limits){
        .diesel_opacity_pct = 30,
        .diesel_no_ppm = 1500,
        .ringelmann_grade = 1,
        .gasoline_co_pct = NAN,
        .gasoline_hc_ppm = NAN,
        .gasoline_no_ppm = NAN,
    };
    cfg->limits[1] = (struct policy_limits){
        .diesel_opacity_pct = 20,
        .diesel_no_ppm = 1000,
        .ringelmann_grade = 1,
        .gasoline_co_pct = NAN,
        .gasoline_hc_ppm = NAN,
        .gasoline_no_ppm = NAN,
    };
    cfg->limit_set = 0;
    cfg->window_months = 6;
    cfg->heavy_weight_kg = 3500;
    cfg->out_of_area_first = POLICY_ACT(ACTION_WARN);
    cfg->out_of_area_second = POLICY_ACT(ACTION_TURN_BACK) | POLICY_ACT(ACTION_PENALTY);
    cfg->local_first = POLICY_ACT(ACTION_NOTICE);
    cfg->local_second = POLICY_ACT(ACTION_PENALTY);
    cfg->n_local_prefixes = 1;
    snprintf(cfg->local_prefixes[0], sizeof(cfg->local_prefixes[0]), "豫A");
    cfg->restricted_zone = false;
    cfg->restricted_max_stage = 3;
    cfg->alert_restrict_level = ALERT_ORANGE;
    cfg->alert_min_stage = 5;
    cfg->restricted_trucks_only = false;
    cfg->restricted_over_standard_turn_back = true;
    /* HJ 845-2017 asks for windows; the values are [U] (docs/policy.md, VALID_*). */
    cfg->speed_kmh = (struct policy_window){.min = 5, .max = 100, .required = true};
    cfg->accel_ms2 = (struct policy_window){.min = -2, .max = 2, .required = true};
    cfg->vsp_kw_t = (struct policy_window){.min = 0, .max = 20, .required = true};
    cfg->yellow_plate_heavy = true;
    cfg->yellow_plate_fuel = FUEL_DIESEL;
    cfg->yellow_plate_class = VCLASS_TRUCK;
    cfg->blue_plate_fuel = FUEL_UNKNOWN;
}

/* ---- value parsers: whole value consumed, ranges checked, messages name the key ---- */

static int bad(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int bad(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* Copy value without surrounding blanks into buf; false if it does not fit. */
static bool trimmed(const char *value, char *buf, size_t len)
{
    while (*value == ' ' || *value == '\t')
        value++;
    size_t n = strlen(value);
    while (n > 0 && (value[n - 1] == ' ' || value[n - 1] == '\t'))
        n--;
    if (n >= len)
        return false;
    memcpy(buf, value, n);
    buf[n] = 0;
    return true;
}

static bool parse_double_text(const char *s, double *out)
{
    /* Plain decimal only: strtod would also take "inf", "nan" and hex floats. */
    if (!*s)
        return false;
    for (const char *p = s; *p; p++)
        if (!isdigit((unsigned char)*p) && !strchr("+-.eE", *p))
            return false;
    char *end;
    errno = 0;
    double d = strtod(s, &end);
    if (errno || *end || !isfinite(d))
        return false;
    *out = d;
    return true;
}

static int parse_int(const char *key, const char *value, long min, long max, int *out, char *err,
                     size_t errlen)
{
    char buf[32];
    if (!trimmed(value, buf, sizeof(buf)) || !buf[0])
        return bad(err, errlen, "%s: expected a whole number %ld..%ld, got '%.40s'", key, min, max,
                   value);
    for (const char *p = buf; *p; p++)
        if (!isdigit((unsigned char)*p) && !(p == buf && (*p == '-' || *p == '+')))
            return bad(err, errlen, "%s: expected a whole number %ld..%ld, got '%s'", key, min, max,
                       buf);
    char *end;
    errno = 0;
    long v = strtol(buf, &end, 10);
    if (errno || *end || end == buf)
        return bad(err, errlen, "%s: expected a whole number %ld..%ld, got '%s'", key, min, max,
                   buf);
    if (v < min || v > max)
        return bad(err, errlen, "%s: %ld is out of range %ld..%ld", key, v, min, max);
    *out = (int)v;
    return 0;
}

static int parse_bool(const char *key, const char *value, bool *out, char *err, size_t errlen)
{
    static const char *const yes[] = {"yes", "true", "on", "1"};
    static const char *const no[] = {"no", "false", "off", "0"};
    char buf[16];
    if (trimmed(value, buf, sizeof(buf))) {
        for (size_t i = 0; i < COUNT(yes); i++) {
            if (strcasecmp(buf, yes[i]) == 0) {
                *out = true;
                return 0;
            }
            if (strcasecmp(buf, no[i]) == 0) {
                *out = false;
                return 0;
            }
        }
    }
    return bad(err, errlen, "%s: expected yes or no, got '%.40s'", key, value);
}

/* A limit: a number in [min, max], or "none" (= not judged, NAN). */
static int parse_limit(const char *key, const char *value, double min, double max, double *out,
                       char *err, size_t errlen)
{
    char buf[48];
    double d;
    if (!trimmed(value, buf, sizeof(buf)))
        return bad(err, errlen, "%s: expected a number or none, got '%.40s'", key, value);
    if (strcasecmp(buf, "none") == 0) {
        *out = NAN;
        return 0;
    }
    if (!parse_double_text(buf, &d))
        return bad(err, errlen, "%s: expected a number or none, got '%s'", key, buf);
    if (d < min || d > max)
        return bad(err, errlen, "%s: %g is out of range %g..%g", key, d, min, max);
    *out = d;
    return 0;
}

/* A validity window "MIN..MAX" within [lo, hi]. */
static int parse_window(const char *key, const char *value, double lo, double hi,
                        struct policy_window *w, char *err, size_t errlen)
{
    char buf[64];
    if (!trimmed(value, buf, sizeof(buf)))
        return bad(err, errlen, "%s: expected MIN..MAX, got '%.40s'", key, value);
    char *dots = strstr(buf, "..");
    if (!dots)
        return bad(err, errlen, "%s: expected MIN..MAX (e.g. %g..%g), got '%s'", key, lo, hi, buf);
    *dots = 0;
    char a[32], b[32];
    double min, max;
    if (!trimmed(buf, a, sizeof(a)) || !trimmed(dots + 2, b, sizeof(b)) ||
        !parse_double_text(a, &min) || !parse_double_text(b, &max)) {
        *dots = '.';
        return bad(err, errlen, "%s: expected MIN..MAX with two numbers, got '%s'", key, buf);
    }
    if (min < lo || max > hi)
        return bad(err, errlen, "%s: %g..%g is outside the sane range %g..%g", key, min, max, lo,
                   hi);
    if (min > max)
        return bad(err, errlen, "%s: minimum %g is above maximum %g", key, min, max);
    w->min = min;
    w->max = max;
    return 0;
}

static int parse_actions_key(const char *key, const char *value, uint32_t *out, char *err,
                             size_t errlen)
{
    if (policy_actions_parse(value, out) == 0)
        return 0;
    return bad(err, errlen,
               "%s: expected none or actions joined by '+' (notice, warn, turn_back, penalty), "
               "got '%.40s'",
               key, value);
}

static int parse_enum_key(const char *key, const char *value, int (*parse)(const char *),
                          const char *expected, int *out, char *err, size_t errlen)
{
    char buf[32];
    int v = trimmed(value, buf, sizeof(buf)) ? parse(buf) : -1;
    if (v < 0)
        return bad(err, errlen, "%s: expected %s, got '%.40s'", key, expected, value);
    *out = v;
    return 0;
}

static int parse_prefixes(struct policy_config *cfg, const char *value, char *err, size_t errlen)
{
    char buf[512];
    if (!trimmed(value, buf, sizeof(buf)) || !buf[0])
        return bad(err, errlen, "local_prefixes: expected a comma list such as 豫A,豫B (or none)");
    if (strcasecmp(buf, "none") == 0) {
        cfg->n_local_prefixes = 0;
        return 0;
    }
    char prefixes[POLICY_PREFIXES_MAX][16];
    size_t n = 0;
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char msg[160];
        if (n == POLICY_PREFIXES_MAX)
            return bad(err, errlen, "local_prefixes: at most %d prefixes", POLICY_PREFIXES_MAX);
        if (plate_parse_prefix(tok, prefixes[n], sizeof(prefixes[n]), msg, sizeof(msg)) < 0)
            return bad(err, errlen, "local_prefixes: '%.40s': %s", tok, msg);
        n++;
    }
    if (n == 0)
        return bad(err, errlen, "local_prefixes: expected a comma list such as 豫A,豫B (or none)");
    memcpy(cfg->local_prefixes, prefixes, sizeof(prefixes));
    cfg->n_local_prefixes = n;
    return 0;
}

static int parse_limit_set(const char *value, int *out, char *err, size_t errlen)
{
    char buf[8];
    if (trimmed(value, buf, sizeof(buf))) {
        if (strcasecmp(buf, "a") == 0) {
            *out = 0;
            return 0;
        }
        if (strcasecmp(buf, "b") == 0) {
            *out = 1;
            return 0;
        }
    }
    return bad(err, errlen, "limit_set: expected a or b, got '%.40s'", value);
}

static int alert_restrict_parse(const char *s)
{
    int v = alert_level_parse(s);
    return v >= ALERT_BLUE ? v : -1; /* "none" would restrict on every ordinary day */
}

static int fuel_parse(const char *s)
{
    return vehicle_fuel_parse(s);
}

static int class_parse(const char *s)
{
    return vehicle_class_parse(s);
}

#define FUEL_CHOICES "unknown, diesel, gasoline, gas, electric or hybrid"

static int set_policy(struct policy_config *cfg, const char *key, const char *value, char *err,
                      size_t errlen)
{
    int v = 0, rc;
    if (strcmp(key, "limit_set") == 0)
        return parse_limit_set(value, &cfg->limit_set, err, errlen);
    if (strcmp(key, "window_months") == 0)
        return parse_int(key, value, 1, 36, &cfg->window_months, err, errlen);
    if (strcmp(key, "heavy_weight_kg") == 0)
        return parse_int(key, value, 500, 100000, &cfg->heavy_weight_kg, err, errlen);
    if (strcmp(key, "out_of_area_first") == 0)
        return parse_actions_key(key, value, &cfg->out_of_area_first, err, errlen);
    if (strcmp(key, "out_of_area_second") == 0)
        return parse_actions_key(key, value, &cfg->out_of_area_second, err, errlen);
    if (strcmp(key, "local_first") == 0)
        return parse_actions_key(key, value, &cfg->local_first, err, errlen);
    if (strcmp(key, "local_second") == 0)
        return parse_actions_key(key, value, &cfg->local_second, err, errlen);
    if (strcmp(key, "local_prefixes") == 0)
        return parse_prefixes(cfg, value, err, errlen);
    if (strcmp(key, "restricted_zone") == 0)
        return parse_bool(key, value, &cfg->restricted_zone, err, errlen);
    if (strcmp(key, "restricted_trucks_only") == 0)
        return parse_bool(key, value, &cfg->restricted_trucks_only, err, errlen);
    if (strcmp(key, "restricted_over_standard_turn_back") == 0)
        return parse_bool(key, value, &cfg->restricted_over_standard_turn_back, err, errlen);
    if (strcmp(key, "restricted_max_stage") == 0)
        return parse_int(key, value, 1, 6, &cfg->restricted_max_stage, err, errlen);
    if (strcmp(key, "alert_min_stage") == 0)
        return parse_int(key, value, 1, 7, &cfg->alert_min_stage, err, errlen);
    if (strcmp(key, "alert_restrict_level") == 0) {
        rc = parse_enum_key(key, value, alert_restrict_parse, "blue, yellow, orange or red", &v,
                            err, errlen);
        if (rc == 0)
            cfg->alert_restrict_level = (enum alert_level)v;
        return rc;
    }
    if (strcmp(key, "yellow_plate_heavy") == 0)
        return parse_bool(key, value, &cfg->yellow_plate_heavy, err, errlen);
    if (strcmp(key, "yellow_plate_fuel") == 0) {
        rc = parse_enum_key(key, value, fuel_parse, FUEL_CHOICES, &v, err, errlen);
        if (rc == 0)
            cfg->yellow_plate_fuel = (enum vehicle_fuel)v;
        return rc;
    }
    if (strcmp(key, "blue_plate_fuel") == 0) {
        rc = parse_enum_key(key, value, fuel_parse, FUEL_CHOICES, &v, err, errlen);
        if (rc == 0)
            cfg->blue_plate_fuel = (enum vehicle_fuel)v;
        return rc;
    }
    if (strcmp(key, "yellow_plate_class") == 0) {
        rc = parse_enum_key(key, value, class_parse, "unknown, car, bus, truck or other", &v, err,
                            errlen);
        if (rc == 0)
            cfg->yellow_plate_class = (enum vehicle_class)v;
        return rc;
    }
    return 1;
}

struct limit_key {
    const char *name; /* without the _a / _b suffix */
    size_t offset;    /* in struct policy_limits */
    double min, max;  /* sane range */
};

static const struct limit_key limit_keys[] = {
    {"diesel_opacity_pct", offsetof(struct policy_limits, diesel_opacity_pct), 0, 100},
    {"diesel_no_ppm", offsetof(struct policy_limits, diesel_no_ppm), 0, 100000},
    {"ringelmann_grade", offsetof(struct policy_limits, ringelmann_grade), 0, 5},
    {"gasoline_co_pct", offsetof(struct policy_limits, gasoline_co_pct), 0, 100},
    {"gasoline_hc_ppm", offsetof(struct policy_limits, gasoline_hc_ppm), 0, 100000},
    {"gasoline_no_ppm", offsetof(struct policy_limits, gasoline_no_ppm), 0, 100000},
};

static double *limit_field(struct policy_limits *l, size_t offset)
{
    return (double *)((char *)l + offset);
}

static const double *limit_field_const(const struct policy_limits *l, size_t offset)
{
    return (const double *)((const char *)l + offset);
}

static int set_limits(struct policy_config *cfg, const char *key, const char *value, char *err,
                      size_t errlen)
{
    for (size_t i = 0; i < COUNT(limit_keys); i++) {
        size_t n = strlen(limit_keys[i].name);
        if (strncmp(key, limit_keys[i].name, n) != 0 || key[n] != '_' ||
            (key[n + 1] != 'a' && key[n + 1] != 'b') || key[n + 2] != 0)
            continue;
        struct policy_limits *l = &cfg->limits[key[n + 1] == 'a' ? 0 : 1];
        return parse_limit(key, value, limit_keys[i].min, limit_keys[i].max,
                           limit_field(l, limit_keys[i].offset), err, errlen);
    }
    return 1;
}

static int set_validity(struct policy_config *cfg, const char *key, const char *value, char *err,
                        size_t errlen)
{
    static const struct {
        const char *window, *required;
        size_t offset;
        double lo, hi;
    } windows[] = {
        {"speed_kmh", "speed_required", offsetof(struct policy_config, speed_kmh), 0, 300},
        {"accel_ms2", "accel_required", offsetof(struct policy_config, accel_ms2), -20, 20},
        {"vsp_kw_t", "vsp_required", offsetof(struct policy_config, vsp_kw_t), -100, 100},
    };
    for (size_t i = 0; i < COUNT(windows); i++) {
        struct policy_window *w = (struct policy_window *)((char *)cfg + windows[i].offset);
        if (strcmp(key, windows[i].window) == 0)
            return parse_window(key, value, windows[i].lo, windows[i].hi, w, err, errlen);
        if (strcmp(key, windows[i].required) == 0)
            return parse_bool(key, value, &w->required, err, errlen);
    }
    return 1;
}

int policy_config_set(struct policy_config *cfg, const char *section, const char *key,
                      const char *value, char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = 0;
    if (!section || !key)
        return 1;
    if (!value)
        return bad(err, errlen, "%s: missing value", key);
    if (strcmp(section, "policy") == 0)
        return set_policy(cfg, key, value, err, errlen);
    if (strcmp(section, "limits") == 0)
        return set_limits(cfg, key, value, err, errlen);
    if (strcmp(section, "validity") == 0)
        return set_validity(cfg, key, value, err, errlen);
    if (strcmp(section, "obd") == 0) {
        if (strcmp(key, "readiness_max_incomplete") == 0)
            return parse_int(key, value, 0, 20, &cfg->obd_readiness_max_incomplete, err, errlen);
        return 1;
    }
    return 1;
}

/* ---- canonical rendering and digest ---- */

struct out_buf {
    char *buf;
    size_t len, used;
};

static void emit(struct out_buf *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void emit(struct out_buf *o, const char *fmt, ...)
{
    char tmp[600];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if (o->used < o->len) {
        size_t room = o->len - o->used;
        size_t copy = (size_t)n < room ? (size_t)n : room - 1;
        memcpy(o->buf + o->used, tmp, copy);
        o->buf[o->used + copy] = 0;
    }
    o->used += (size_t)n;
}

/* Shortest "%g" form that reads back as the same double; "none" for NAN. */
static void fmt_number(double d, char buf[32])
{
    if (isnan(d)) {
        snprintf(buf, 32, "none");
        return;
    }
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, 32, "%.*g", prec, d);
        if (strtod(buf, NULL) == d)
            return;
    }
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

size_t policy_config_format(const struct policy_config *cfg, char *buf, size_t len)
{
    struct out_buf o = {buf, len, 0};
    char a[32], b[32], acts[64];
    if (len)
        buf[0] = 0;
    emit(&o, "rsgw-policy 1\n");
    emit(&o, "policy.limit_set=%s\n", cfg->limit_set == 1 ? "b" : "a");
    emit(&o, "policy.window_months=%d\n", cfg->window_months);
    emit(&o, "policy.heavy_weight_kg=%d\n", cfg->heavy_weight_kg);
    policy_actions_format(cfg->out_of_area_first, acts, sizeof(acts));
    emit(&o, "policy.out_of_area_first=%s\n", acts);
    policy_actions_format(cfg->out_of_area_second, acts, sizeof(acts));
    emit(&o, "policy.out_of_area_second=%s\n", acts);
    policy_actions_format(cfg->local_first, acts, sizeof(acts));
    emit(&o, "policy.local_first=%s\n", acts);
    policy_actions_format(cfg->local_second, acts, sizeof(acts));
    emit(&o, "policy.local_second=%s\n", acts);

    /* The set of prefixes matters, not the order they were written in. */
    char prefixes[POLICY_PREFIXES_MAX][16];
    size_t n =
        cfg->n_local_prefixes < POLICY_PREFIXES_MAX ? cfg->n_local_prefixes : POLICY_PREFIXES_MAX;
    for (size_t i = 0; i < n; i++)
        snprintf(prefixes[i], sizeof(prefixes[i]), "%s", cfg->local_prefixes[i]);
    qsort(prefixes, n, sizeof(prefixes[0]), cmp_str);
    emit(&o, "policy.local_prefixes=");
    for (size_t i = 0; i < n; i++)
        emit(&o, "%s%s", i ? "," : "", prefixes[i]);
    emit(&o, "%s\n", n ? "" : "none");

    emit(&o, "policy.restricted_zone=%s\n", cfg->restricted_zone ? "yes" : "no");
    emit(&o, "policy.restricted_max_stage=%d\n", cfg->restricted_max_stage);
    emit(&o, "policy.restricted_trucks_only=%s\n", cfg->restricted_trucks_only ? "yes" : "no");
    emit(&o, "policy.restricted_over_standard_turn_back=%s\n",
         cfg->restricted_over_standard_turn_back ? "yes" : "no");
    emit(&o, "policy.alert_restrict_level=%s\n", alert_level_name(cfg->alert_restrict_level));
    emit(&o, "policy.alert_min_stage=%d\n", cfg->alert_min_stage);
    emit(&o, "policy.yellow_plate_heavy=%s\n", cfg->yellow_plate_heavy ? "yes" : "no");
    emit(&o, "policy.yellow_plate_fuel=%s\n", vehicle_fuel_name(cfg->yellow_plate_fuel));
    emit(&o, "policy.yellow_plate_class=%s\n", vehicle_class_name(cfg->yellow_plate_class));
    emit(&o, "policy.blue_plate_fuel=%s\n", vehicle_fuel_name(cfg->blue_plate_fuel));
    /* Only when changed: digests of policies that predate the OBD check stay the same. */
    if (cfg->obd_readiness_max_incomplete != 2)
        emit(&o, "obd.readiness_max_incomplete=%d\n", cfg->obd_readiness_max_incomplete);

    for (size_t i = 0; i < COUNT(limit_keys); i++) {
        for (int set = 0; set < 2; set++) {
            fmt_number(*limit_field_const(&cfg->limits[set], limit_keys[i].offset), a);
            emit(&o, "limits.%s_%c=%s\n", limit_keys[i].name, set ? 'b' : 'a', a);
        }
    }

    const struct {
        const char *name, *required;
        const struct policy_window *w;
    } windows[] = {
        {"speed_kmh", "speed_required", &cfg->speed_kmh},
        {"accel_ms2", "accel_required", &cfg->accel_ms2},
        {"vsp_kw_t", "vsp_required", &cfg->vsp_kw_t},
    };
    for (size_t i = 0; i < COUNT(windows); i++) {
        fmt_number(windows[i].w->min, a);
        fmt_number(windows[i].w->max, b);
        emit(&o, "validity.%s=%s..%s\n", windows[i].name, a, b);
        emit(&o, "validity.%s=%s\n", windows[i].required, windows[i].w->required ? "yes" : "no");
    }
    return o.used;
}

void policy_config_digest(const struct policy_config *cfg, char hex[65])
{
    char text[4096];
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    size_t n = policy_config_format(cfg, text, sizeof(text));
    if (n >= sizeof(text) || !EVP_Digest(text, n, md, &md_len, EVP_sha256(), NULL) ||
        md_len != 32) {
        /* Cannot happen with a sane libcrypto; an all-zero digest names no policy. */
        memset(hex, '0', 64);
        hex[64] = 0;
        return;
    }
    for (unsigned int i = 0; i < md_len; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
}
