/* SPDX-License-Identifier: MIT */
/* Profile keys: one value at a time, then the checks that need a whole section. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rsu_profile_parser.h"

static const char *const key_names[K_COUNT] = {
    "table", "address", "type", "words", "length", "encoding", "scale", "offset", "invalid",
};

/* Decimal, or hexadecimal with 0x; a leading zero is not octal (vendor sheets write 010). */
static bool parse_int(const char *s, long long min, long long max, long long *out)
{
    const char *p = s;
    bool neg = *p == '-';
    if (neg)
        p++;
    int base = (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) ? 16 : 10;
    if (base == 16)
        p += 2;
    if (!(base == 16 ? isxdigit((unsigned char)*p) : isdigit((unsigned char)*p)))
        return false;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(p, &end, base);
    if (errno || *end != '\0' || v > (unsigned long long)LLONG_MAX)
        return false;
    long long sv = neg ? -(long long)v : (long long)v;
    if (sv < min || sv > max)
        return false;
    *out = sv;
    return true;
}

static bool parse_double(const char *s, double *out)
{
    errno = 0;
    char *end;
    double v = strtod(s, &end);
    if (errno || end == s || *end != '\0' || !isfinite(v))
        return false;
    *out = v;
    return true;
}

static void set_colours(struct rsu_parser *ps, const char *value, int line)
{
    struct rsu_profile *p = ps->p;
    char buf[512];
    if (snprintf(buf, sizeof buf, "%s", value) >= (int)sizeof buf) {
        rsu_parser_fail(ps, line, "colours list too long");
        return;
    }
    p->n_colours = 0;
    ps->colours_line = line;
    char *save = NULL;
    for (char *item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        item += strspn(item, " \t");
        char *end = item + strlen(item);
        while (end > item && (end[-1] == ' ' || end[-1] == '\t'))
            *--end = '\0';
        char *colon = strchr(item, ':');
        long long code;
        if (!colon) {
            rsu_parser_fail(ps, line, "colour entry '%s' is not CODE:NAME (e.g. 0:blue)", item);
            return;
        }
        *colon = '\0';
        const char *name = colon + 1 + strspn(colon + 1, " \t");
        char *ce = colon;
        while (ce > item && (ce[-1] == ' ' || ce[-1] == '\t'))
            *--ce = '\0';
        if (!parse_int(item, 0, UINT32_MAX, &code)) {
            rsu_parser_fail(ps, line, "colour code '%s' is not a number 0..4294967295", item);
            return;
        }
        int c = rsu_colour_by_name(name);
        if (c < 0) {
            rsu_parser_fail(
                ps, line,
                "unknown colour '%s' (use blue, yellow, white, black, green, yellow_green, other)",
                name);
            return;
        }
        for (size_t i = 0; i < p->n_colours; i++) {
            if (p->colour_map[i].code == (uint32_t)code) {
                rsu_parser_fail(ps, line, "colour code %lld mapped twice", code);
                return;
            }
        }
        if (p->n_colours == RSU_COLOUR_MAP_MAX) {
            rsu_parser_fail(ps, line, "more than %d colours", RSU_COLOUR_MAP_MAX);
            return;
        }
        p->colour_map[p->n_colours].code = (uint32_t)code;
        p->colour_map[p->n_colours].colour = (enum rsu_plate_colour)c;
        p->n_colours++;
    }
    if (p->n_colours == 0)
        rsu_parser_fail(ps, line, "colours is empty");
}

void rsu_parser_profile_key(struct rsu_parser *ps, const char *name, const char *value, int line)
{
    struct rsu_profile *p = ps->p;
    if (strcmp(name, "name") == 0) {
        if (!*value || snprintf(p->name, sizeof p->name, "%s", value) >= (int)sizeof p->name)
            rsu_parser_fail(ps, line, "name must be 1..%zu characters", sizeof p->name - 1);
        ps->have_name = true;
    } else if (strcmp(name, "version") == 0) {
        if (!*value ||
            snprintf(p->version, sizeof p->version, "%s", value) >= (int)sizeof p->version)
            rsu_parser_fail(ps, line, "version must be 1..%zu characters", sizeof p->version - 1);
    } else if (strcmp(name, "colours") == 0) {
        set_colours(ps, value, line);
    } else {
        rsu_parser_fail(ps, line, "unknown key '%s' in [profile] (use name, version, colours)",
                        name);
    }
}

void rsu_parser_reg_key(struct rsu_parser *ps, const char *name, const char *value, int line)
{
    struct rsu_reg *r = ps->reg;
    int k;
    for (k = 0; k < K_COUNT; k++)
        if (strcmp(name, key_names[k]) == 0)
            break;
    if (k == K_COUNT) {
        rsu_parser_fail(
            ps, line,
            "unknown key '%s' in %s (use table, address, type, words, length, encoding, scale, "
            "offset, invalid)",
            name, ps->sec_label);
        return;
    }
    if (ps->keys_seen & (1u << k)) {
        rsu_parser_fail(ps, line, "'%s' given twice in %s (first at line %d)", name, ps->sec_label,
                        ps->key_line[k]);
        return;
    }
    ps->keys_seen |= 1u << k;
    ps->key_line[k] = line;
    long long v;
    switch ((enum key)k) {
    case K_TABLE:
        if (strcmp(value, "holding") == 0)
            r->table = RSU_TABLE_HOLDING;
        else if (strcmp(value, "input") == 0)
            r->table = RSU_TABLE_INPUT;
        else
            rsu_parser_fail(ps, line, "unknown table '%s' (use holding, input)", value);
        break;
    case K_ADDRESS:
        if (!parse_int(value, 0, 65535, &v))
            rsu_parser_fail(ps, line, "address '%s' is not a register address 0..65535", value);
        r->address = (uint16_t)v;
        break;
    case K_TYPE: {
        static const char *const types[] = {"u16", "s16", "u32", "s32", "float32", "string"};
        size_t t;
        for (t = 0; t < sizeof types / sizeof types[0]; t++)
            if (strcmp(value, types[t]) == 0)
                break;
        if (t == sizeof types / sizeof types[0])
            rsu_parser_fail(ps, line, "unknown type '%s' (use u16, s16, u32, s32, float32, string)",
                            value);
        else
            r->type = (enum rsu_type)t;
        break;
    }
    case K_WORDS:
        if (strcmp(value, "big") == 0)
            r->words = RSU_WORDS_BIG;
        else if (strcmp(value, "little") == 0)
            r->words = RSU_WORDS_LITTLE;
        else
            rsu_parser_fail(ps, line,
                            "unknown word order '%s' (use big = ABCD high word first, "
                            "little = CDAB low word first)",
                            value);
        break;
    case K_LENGTH:
        if (!parse_int(value, 1, 125, &v))
            rsu_parser_fail(ps, line, "length '%s' is not a register count 1..125", value);
        r->length = (uint16_t)v;
        break;
    case K_ENCODING:
        if (strcmp(value, "utf-8") == 0 || strcmp(value, "utf8") == 0)
            r->encoding = RSU_ENC_UTF8;
        else if (strcmp(value, "gb18030") == 0)
            r->encoding = RSU_ENC_GB18030;
        else
            rsu_parser_fail(ps, line, "unknown encoding '%s' (use gb18030, utf-8)", value);
        break;
    case K_SCALE:
        if (!parse_double(value, &r->scale) || r->scale == 0)
            rsu_parser_fail(ps, line, "scale '%s' is not a finite non-zero number", value);
        break;
    case K_OFFSET:
        if (!parse_double(value, &r->offset))
            rsu_parser_fail(ps, line, "offset '%s' is not a finite number", value);
        break;
    case K_INVALID:
        if (!parse_int(value, INT32_MIN, UINT32_MAX, &ps->invalid_value))
            rsu_parser_fail(ps, line,
                            "invalid '%s' is not a raw register value (decimal or 0x hex)", value);
        break;
    case K_COUNT:
        break;
    }
}

static bool seen(const struct rsu_parser *ps, enum key k)
{
    return ps->keys_seen & (1u << k);
}

/* A key that makes no sense for this register: name it at its own line. */
static void reject_key(struct rsu_parser *ps, enum key k, const char *why)
{
    if (seen(ps, k))
        rsu_parser_fail(ps, ps->key_line[k], "'%s' %s", key_names[k], why);
}

static void check_invalid(struct rsu_parser *ps, struct rsu_reg *r)
{
    if (!seen(ps, K_INVALID))
        return;
    long long v = ps->invalid_value;
    bool wide = rsu_reg_words(r) == 2;
    long long lo = r->type == RSU_TYPE_S16 ? INT16_MIN : r->type == RSU_TYPE_S32 ? INT32_MIN : 0;
    long long hi = wide ? UINT32_MAX : UINT16_MAX;
    if (v < lo || v > hi) {
        rsu_parser_fail(ps, ps->key_line[K_INVALID], "invalid %lld does not fit a %s register", v,
                        wide ? "32-bit" : "16-bit");
        return;
    }
    r->has_invalid = 1;
    r->invalid_raw = wide ? (uint32_t)v : (uint32_t)v & 0xFFFFu;
}

void rsu_parser_finish_reg(struct rsu_parser *ps)
{
    struct rsu_reg *r = ps->reg;
    const char *label = ps->sec_label;
    if (!seen(ps, K_ADDRESS))
        rsu_parser_fail(ps, ps->sec_line, "%s needs 'address'", label);
    if (!seen(ps, K_TYPE)) {
        rsu_parser_fail(ps, ps->sec_line, "%s needs 'type'", label);
        return;
    }
    int tl = ps->key_line[K_TYPE];
    bool is_string = r->type == RSU_TYPE_STRING;
    bool wide = r->type == RSU_TYPE_U32 || r->type == RSU_TYPE_S32 || r->type == RSU_TYPE_FLOAT32;
    if (ps->kind == SEC_SEQUENCE || ps->kind == SEC_ACK) {
        if (r->type != RSU_TYPE_U16 && r->type != RSU_TYPE_U32)
            rsu_parser_fail(ps, tl, "%s must be type u16 or u32", label);
        if (ps->kind == SEC_ACK && r->table != RSU_TABLE_HOLDING)
            rsu_parser_fail(ps, ps->key_line[K_TABLE],
                            "ack must be in the holding table (it is written)");
        reject_key(ps, K_SCALE, "does not apply to the sequence and ack registers");
        reject_key(ps, K_OFFSET, "does not apply to the sequence and ack registers");
        reject_key(ps, K_INVALID, "does not apply to the sequence and ack registers");
    } else {
        int f = ps->field;
        bool text_field = f == RSU_X_PLATE || f == RSU_X_IMAGE_FAR || f == RSU_X_IMAGE_NEAR;
        if (text_field && !is_string)
            rsu_parser_fail(ps, tl, "%s must be type string", label);
        if (!text_field && is_string)
            rsu_parser_fail(ps, tl, "%s is a number and cannot be type string", label);
        if (f == RSU_X_PLATE_COLOUR && r->type == RSU_TYPE_FLOAT32)
            rsu_parser_fail(ps, tl, "%s is a code and must be an integer type", label);
        if (f == RSU_X_DEVICE_TIME && r->type != RSU_TYPE_U32 && r->type != RSU_TYPE_S32)
            rsu_parser_fail(ps, tl, "%s is Unix seconds and must be type u32 or s32", label);
        if (f == RSU_X_PLATE_COLOUR || f == RSU_X_DEVICE_TIME || is_string) {
            reject_key(ps, K_SCALE, "does not apply to this field");
            reject_key(ps, K_OFFSET, "does not apply to this field");
        }
        if (is_string) {
            reject_key(ps, K_INVALID, "does not apply to strings (padding means not available)");
            int max = f == RSU_X_PLATE ? RSU_PLATE_MAX / 3 : (RSU_IMAGE_REF_MAX - 2) / 2;
            if (!seen(ps, K_LENGTH))
                rsu_parser_fail(ps, ps->sec_line, "%s is a string and needs 'length' (registers)",
                                label);
            else if (r->length > max)
                rsu_parser_fail(ps, ps->key_line[K_LENGTH],
                                "length %u is more than %d registers for %s", r->length, max,
                                label);
        }
    }
    if (!is_string) {
        reject_key(ps, K_LENGTH, "applies to strings only");
        reject_key(ps, K_ENCODING, "applies to strings only");
    }
    if (!wide)
        reject_key(ps, K_WORDS, "applies to 32-bit types only (u32, s32, float32)");
    if (seen(ps, K_ADDRESS) && (!is_string || seen(ps, K_LENGTH)) &&
        (long)r->address + rsu_reg_words(r) > 65536)
        rsu_parser_fail(ps, ps->key_line[K_ADDRESS], "%s runs past register 65535", label);
    check_invalid(ps, r);
    if (ps->kind == SEC_FIELD)
        ps->p->mapped |= 1u << ps->field;
}
