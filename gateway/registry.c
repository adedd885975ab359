/* SPDX-License-Identifier: MIT */
/* The vehicle registry: rows of table vehicles, and the field parsers the CLI and CSV share. */
#include "registry.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "plate.h"
#include "store_priv.h"

#define WEIGHT_MAX_KG 200000

static const char *const field_names[REGISTRY_FIELD_COUNT] = {
    [REGISTRY_FIELD_PLATE] = "plate",         [REGISTRY_FIELD_FUEL] = "fuel",
    [REGISTRY_FIELD_STAGE] = "stage",         [REGISTRY_FIELD_WEIGHT] = "gross_weight_kg",
    [REGISTRY_FIELD_CLASS] = "class",         [REGISTRY_FIELD_VIN] = "vin",
    [REGISTRY_FIELD_EXEMPTION] = "exemption",
};

int64_t registry_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Trimmed copy of [s, s+len) into out; false when it does not fit. */
static bool copy_trimmed(const char *s, size_t len, char *out, size_t cap)
{
    while (len > 0 && isspace((unsigned char)*s)) {
        s++;
        len--;
    }
    while (len > 0 && isspace((unsigned char)s[len - 1]))
        len--;
    if (len >= cap)
        return false;
    memcpy(out, s, len);
    out[len] = '\0';
    return true;
}

int registry_normalise_plate(const char *in, char *out, size_t cap, char *err, size_t errlen)
{
    struct plate_info p;
    plate_parse(in ? in : "", &p);
    bool fits = p.valid ? copy_trimmed(p.normalised, strlen(p.normalised), out, cap)
                        : copy_trimmed(in ? in : "", in ? strlen(in) : 0, out, cap);
    if (!fits) {
        snprintf(err, errlen, "plate '%.60s...' is too long", in);
        return -1;
    }
    if (!out[0]) {
        snprintf(err, errlen, "empty plate");
        return -1;
    }
    return 0;
}

int registry_field_parse(const char *name)
{
    static const struct {
        const char *alias;
        enum registry_field field;
    } aliases[] = {{"emission_stage", REGISTRY_FIELD_STAGE},
                   {"weight_kg", REGISTRY_FIELD_WEIGHT},
                   {"vehicle_class", REGISTRY_FIELD_CLASS}};
    if (!name)
        return -1;
    for (int f = 0; f < REGISTRY_FIELD_COUNT; f++)
        if (strcasecmp(name, field_names[f]) == 0)
            return f;
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
        if (strcasecmp(name, aliases[i].alias) == 0)
            return (int)aliases[i].field;
    return -1;
}

const char *registry_field_name(enum registry_field f)
{
    return f >= 0 && f < REGISTRY_FIELD_COUNT ? field_names[f] : "?";
}

static int parse_fuel(const char *v)
{
    static const struct {
        const char *name;
        enum vehicle_fuel fuel;
    } extra[] = {{"柴油", FUEL_DIESEL},     {"汽油", FUEL_GASOLINE},   {"cng", FUEL_GAS},
                 {"lng", FUEL_GAS},         {"lpg", FUEL_GAS},         {"天然气", FUEL_GAS},
                 {"燃气", FUEL_GAS},        {"纯电动", FUEL_ELECTRIC}, {"电动", FUEL_ELECTRIC},
                 {"混合动力", FUEL_HYBRID}, {"混动", FUEL_HYBRID}};
    if (!*v)
        return FUEL_UNKNOWN;
    int f = vehicle_fuel_parse(v);
    if (f >= 0)
        return f;
    for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++)
        if (strcasecmp(v, extra[i].name) == 0)
            return (int)extra[i].fuel;
    return -1;
}

/* Strip a prefix (ASCII case-insensitive); true if it was there. */
static bool strip(const char **p, const char *prefix)
{
    size_t n = strlen(prefix);
    if (strncasecmp(*p, prefix, n) != 0)
        return false;
    *p += n;
    return true;
}

/* 1..6 from "6", "VI", "China VI", "China 6", "国六", "国6", "国VI", with an optional a/b
 * sub-stage ("6b", "国六b"); 0 for empty or "unknown"; -1 otherwise. */
static int parse_stage(const char *v)
{
    static const struct {
        const char *text;
        int stage;
    } numerals[] = {{"VI", 6}, {"IV", 4}, {"V", 5},  {"III", 3}, {"II", 2}, {"I", 1},
                    {"六", 6}, {"五", 5}, {"四", 4}, {"三", 3},  {"二", 2}, {"一", 1}};
    if (!*v || strcasecmp(v, "unknown") == 0 || strcmp(v, "0") == 0)
        return 0;
    const char *p = v;
    if (strip(&p, "china")) {
        while (*p == ' ')
            p++;
    } else if (!strip(&p, "国")) {
        strip(&p, "stage ");
    }
    int stage = -1;
    if (*p >= '1' && *p <= '6') {
        stage = *p - '0';
        p++;
    } else {
        for (size_t i = 0; i < sizeof numerals / sizeof numerals[0]; i++)
            if (strip(&p, numerals[i].text)) {
                stage = numerals[i].stage;
                break;
            }
    }
    if (stage < 0)
        return -1;
    if (*p == 'a' || *p == 'b' || *p == 'A' || *p == 'B')
        p++;
    return *p == '\0' ? stage : -1;
}

static int parse_weight(const char *v)
{
    if (!*v)
        return 0;
    errno = 0;
    char *end = NULL;
    long kg = strtol(v, &end, 10);
    if (end == v || errno != 0 || !isdigit((unsigned char)*v))
        return -1;
    while (*end == ' ')
        end++;
    if (*end && strcasecmp(end, "kg") != 0)
        return -1;
    return kg > WEIGHT_MAX_KG ? -1 : (int)kg;
}

bool registry_vin_valid(const char *vin)
{
    if (strlen(vin) != 17)
        return false;
    for (const char *p = vin; *p; p++) {
        char c = (char)toupper((unsigned char)*p);
        if (!isdigit((unsigned char)c) && !(c >= 'A' && c <= 'Z'))
            return false;
        if (c == 'I' || c == 'O' || c == 'Q')
            return false;
    }
    return true;
}

int registry_field_set(struct registry_vehicle *v, enum registry_field f, const char *raw,
                       char *err, size_t errlen)
{
    char val[128];
    if (!copy_trimmed(raw ? raw : "", raw ? strlen(raw) : 0, val, sizeof val)) {
        snprintf(err, errlen, "%s value is too long", registry_field_name(f));
        return -1;
    }
    int n;
    switch (f) {
    case REGISTRY_FIELD_PLATE:
        return registry_normalise_plate(val, v->plate, sizeof v->plate, err, errlen);
    case REGISTRY_FIELD_FUEL:
        if ((n = parse_fuel(val)) < 0) {
            snprintf(err, errlen, "unknown fuel '%s' (use diesel, gasoline, gas, electric, hybrid)",
                     val);
            return -1;
        }
        v->fuel = (enum vehicle_fuel)n;
        return 0;
    case REGISTRY_FIELD_STAGE:
        if ((n = parse_stage(val)) < 0) {
            snprintf(err, errlen,
                     "unknown emission stage '%s' (use 1 to 6, I to VI, China VI or 国六)", val);
            return -1;
        }
        v->emission_stage = n;
        return 0;
    case REGISTRY_FIELD_WEIGHT:
        if ((n = parse_weight(val)) < 0) {
            snprintf(err, errlen, "bad gross_weight_kg '%s' (whole kilograms, 0 to %d)", val,
                     WEIGHT_MAX_KG);
            return -1;
        }
        v->gross_weight_kg = n;
        return 0;
    case REGISTRY_FIELD_CLASS:
        if ((n = *val ? vehicle_class_parse(val) : VCLASS_UNKNOWN) < 0) {
            snprintf(err, errlen, "unknown class '%s' (use car, bus, truck, other)", val);
            return -1;
        }
        v->vclass = (enum vehicle_class)n;
        return 0;
    case REGISTRY_FIELD_VIN:
        if (*val && !registry_vin_valid(val)) {
            snprintf(err, errlen, "bad VIN '%s' (17 letters and digits, without I, O or Q)", val);
            return -1;
        }
        /* Valid VINs are 17 bytes: they fit v->vin. */
        memset(v->vin, 0, sizeof v->vin);
        for (size_t i = 0; val[i] && i < sizeof v->vin - 1; i++)
            v->vin[i] = (char)toupper((unsigned char)val[i]);
        return 0;
    case REGISTRY_FIELD_EXEMPTION:
        if ((n = *val ? vehicle_exemption_parse(val) : EXEMPT_NONE) < 0) {
            snprintf(err, errlen,
                     "unknown exemption '%s' (use none, livelihood, emergency, enforcement)", val);
            return -1;
        }
        v->exemption = (enum vehicle_exemption)n;
        return 0;
    default:
        snprintf(err, errlen, "unknown field");
        return -1;
    }
}

int registry_apply_edit(struct registry_vehicle *v, const char *key_eq_value, char *err,
                        size_t errlen)
{
    const char *eq = key_eq_value ? strchr(key_eq_value, '=') : NULL;
    if (!v || !eq) {
        snprintf(err, errlen, "'%s': expected key=value", key_eq_value ? key_eq_value : "");
        return STORE_EINVAL;
    }
    char key[32];
    if (!copy_trimmed(key_eq_value, (size_t)(eq - key_eq_value), key, sizeof key)) {
        snprintf(err, errlen, "'%s': unknown key", key_eq_value);
        return STORE_EINVAL;
    }
    int f = registry_field_parse(key);
    if (f == REGISTRY_FIELD_PLATE) {
        snprintf(err, errlen,
                 "the plate is the vehicle's key and cannot be edited (delete the "
                 "entry and add it again)");
        return STORE_EINVAL;
    }
    if (f < 0) {
        snprintf(err, errlen,
                 "unknown key '%s' (use fuel, stage, gross_weight_kg, class, vin, exemption)", key);
        return STORE_EINVAL;
    }
    return registry_field_set(v, (enum registry_field)f, eq + 1, err, errlen) == 0 ? STORE_OK
                                                                                   : STORE_EINVAL;
}

static void column_copy(sqlite3_stmt *st, int col, char *out, size_t cap)
{
    const char *t = (const char *)sqlite3_column_text(st, col);
    snprintf(out, cap, "%s", t ? t : "");
}

static void read_row(sqlite3_stmt *st, struct registry_vehicle *v)
{
    memset(v, 0, sizeof *v);
    column_copy(st, 0, v->plate, sizeof v->plate);
    v->fuel = (enum vehicle_fuel)sqlite3_column_int(st, 1);
    v->emission_stage = sqlite3_column_int(st, 2);
    v->gross_weight_kg = sqlite3_column_int(st, 3);
    v->vclass = (enum vehicle_class)sqlite3_column_int(st, 4);
    column_copy(st, 5, v->vin, sizeof v->vin);
    v->exemption = (enum vehicle_exemption)sqlite3_column_int(st, 6);
    v->updated_ms = sqlite3_column_int64(st, 7);
    column_copy(st, 8, v->source, sizeof v->source);
}

/* The platform's exemption of a normalised plate: 1 valid at now_ms, 0 none, <0 error. */
static int platform_exemption(store *s, const char *key, int64_t now_ms,
                              enum vehicle_exemption *out)
{
    sqlite3_stmt *st = store_stmt(s, ST_PLATFORM_EXEMPTION);
    if (!st)
        return STORE_ERR;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    int ret = 0;
    if (rc == SQLITE_ROW) {
        int64_t until = sqlite3_column_int64(st, 1);
        int e = sqlite3_column_int(st, 0);
        if ((until == 0 || until > now_ms) && e >= EXEMPT_NONE && e <= EXEMPT_ENFORCEMENT) {
            *out = (enum vehicle_exemption)e;
            ret = 1;
        }
    } else if (rc != SQLITE_DONE) {
        ret = store_fail_sqlite(s, rc, "registry: look up a platform exemption");
    }
    sqlite3_reset(st);
    return ret;
}

int registry_platform_exemption(store *s, const char *plate, int64_t now_ms,
                                enum vehicle_exemption *out)
{
    if (!s || !out)
        return STORE_EINVAL;
    *out = EXEMPT_NONE;
    char key[48], why[128];
    if (registry_normalise_plate(plate, key, sizeof key, why, sizeof why) != 0)
        return store_fail(s, STORE_EINVAL, "registry: %s", why);
    return platform_exemption(s, key, now_ms, out);
}

/* The registry's own row, without the platform's exemption. */
static int own_row(store *s, const char *key, struct registry_vehicle *out)
{
    sqlite3_stmt *st = store_stmt(s, ST_VEHICLE_GET);
    if (!st)
        return STORE_ERR;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    int ret = 0;
    if (rc == SQLITE_ROW) {
        read_row(st, out);
        ret = 1;
    } else if (rc != SQLITE_DONE) {
        ret = store_fail_sqlite(s, rc, "registry: look up a vehicle");
    }
    sqlite3_reset(st);
    return ret;
}

static int get(store *s, const char *plate, struct registry_vehicle *out, bool overlay)
{
    if (!s || !out)
        return STORE_EINVAL;
    char key[sizeof out->plate], why[128];
    if (registry_normalise_plate(plate, key, sizeof key, why, sizeof why) != 0)
        return store_fail(s, STORE_EINVAL, "registry: %s", why);
    int ret = own_row(s, key, out);
    if (ret == 1 && overlay) {
        enum vehicle_exemption e;
        int rc = platform_exemption(s, key, registry_now_ms(), &e);
        if (rc < 0)
            return rc;
        if (rc == 1)
            out->exemption = e;
    }
    return ret;
}

int registry_get(store *s, const char *plate, struct registry_vehicle *out)
{
    return get(s, plate, out, true);
}

int registry_get_own(store *s, const char *plate, struct registry_vehicle *out)
{
    return get(s, plate, out, false);
}

static int check_vehicle(store *s, const struct registry_vehicle *v)
{
    const char *bad = NULL;
    if ((int)v->fuel < FUEL_UNKNOWN || v->fuel > FUEL_HYBRID)
        bad = "fuel";
    else if (v->emission_stage < 0 || v->emission_stage > 6)
        bad = "emission stage";
    else if (v->gross_weight_kg < 0 || v->gross_weight_kg > WEIGHT_MAX_KG)
        bad = "gross weight";
    else if ((int)v->vclass < VCLASS_UNKNOWN || v->vclass > VCLASS_OTHER)
        bad = "class";
    else if ((int)v->exemption < EXEMPT_NONE || v->exemption > EXEMPT_ENFORCEMENT)
        bad = "exemption";
    else if (v->vin[0] && !registry_vin_valid(v->vin))
        bad = "VIN";
    if (bad)
        return store_fail(s, STORE_EINVAL, "registry: %s: %s out of range", v->plate, bad);
    return STORE_OK;
}

int registry_put(store *s, const struct registry_vehicle *v)
{
    if (!s || !v)
        return STORE_EINVAL;
    int rc = store_require_write(s, "registry");
    if (rc != STORE_OK)
        return rc;
    struct registry_vehicle n = *v;
    char why[128];
    if (registry_normalise_plate(v->plate, n.plate, sizeof n.plate, why, sizeof why) != 0)
        return store_fail(s, STORE_EINVAL, "registry: %s", why);
    rc = check_vehicle(s, &n);
    if (rc != STORE_OK)
        return rc;
    if (n.updated_ms == 0)
        n.updated_ms = registry_now_ms();
    sqlite3_stmt *st = store_stmt(s, ST_VEHICLE_PUT);
    if (!st)
        return STORE_ERR;
    sqlite3_bind_text(st, 1, n.plate, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, (int)n.fuel);
    sqlite3_bind_int(st, 3, n.emission_stage);
    sqlite3_bind_int(st, 4, n.gross_weight_kg);
    sqlite3_bind_int(st, 5, (int)n.vclass);
    if (n.vin[0])
        sqlite3_bind_text(st, 6, n.vin, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 7, (int)n.exemption);
    sqlite3_bind_int64(st, 8, n.updated_ms);
    sqlite3_bind_text(st, 9, n.source, -1, SQLITE_STATIC);
    int src = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (src != SQLITE_DONE)
        return store_write_failed(s, store_fail_sqlite(s, src, "registry: store a vehicle"));
    return STORE_OK;
}

int registry_delete(store *s, const char *plate)
{
    if (!s)
        return STORE_EINVAL;
    int rc = store_require_write(s, "registry");
    if (rc != STORE_OK)
        return rc;
    char key[48], why[128];
    if (registry_normalise_plate(plate, key, sizeof key, why, sizeof why) != 0)
        return store_fail(s, STORE_EINVAL, "registry: %s", why);
    sqlite3_stmt *st = store_stmt(s, ST_VEHICLE_DELETE);
    if (!st)
        return STORE_ERR;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    int src = sqlite3_step(st);
    int changed = sqlite3_changes(s->db);
    sqlite3_reset(st);
    if (src != SQLITE_DONE)
        return store_write_failed(s, store_fail_sqlite(s, src, "registry: delete a vehicle"));
    return changed > 0 ? 1 : 0;
}

int registry_list(store *s, registry_fn fn, void *ud)
{
    if (!s || !fn)
        return STORE_EINVAL;
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db,
                                "SELECT plate, fuel, stage, gross_weight_kg, class, vin, "
                                "exemption, updated_ms, source FROM vehicles ORDER BY plate",
                                -1, &st, NULL);
    if (rc != SQLITE_OK)
        return store_fail_sqlite(s, rc, "registry: list");
    int ret = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct registry_vehicle v;
        read_row(st, &v);
        ret = fn(ud, &v);
        if (ret != 0)
            break;
    }
    if (ret == 0 && rc != SQLITE_DONE)
        ret = store_fail_sqlite(s, rc, "registry: list");
    sqlite3_finalize(st);
    return ret;
}
