/* SPDX-License-Identifier: MIT */
/*
 * Registers -> measurement. Whatever the device sent, the call completes:
 * a field that cannot be trusted is left absent and explained in m->issues,
 * because a record with an explained gap is evidence and a crash is not.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rsu_profile.h"
#include "rsu_scale.h"
#include "rsu_text.h"

/* Device clocks before 2000 or after 2099 are unset or garbage. */
#define DEVICE_TIME_MIN_S 946684800LL  /* 2000-01-01 */
#define DEVICE_TIME_MAX_S 4102444800LL /* 2100-01-01 */

struct decoder {
    struct rsu_measurement *m;
    size_t dropped; /* issues beyond RSU_ISSUES_MAX */
};

static void issue(struct decoder *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void issue(struct decoder *d, const char *fmt, ...)
{
    struct rsu_measurement *m = d->m;
    if (m->n_issues == RSU_ISSUES_MAX) {
        d->dropped++;
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m->issues[m->n_issues++], RSU_ISSUE_LEN, fmt, ap);
    va_end(ap);
}

static const uint16_t *locate(const struct rsu_reg *r, const struct rsu_block *blocks,
                              uint16_t *const *regs, size_t n_blocks)
{
    long start = r->address, end = start + rsu_reg_words(r);
    for (size_t i = 0; i < n_blocks; i++) {
        const struct rsu_block *b = &blocks[i];
        if (b->table == r->table && start >= b->address && end <= (long)b->address + b->count)
            return regs[i] + (start - b->address);
    }
    return NULL;
}

static void format_raw(const struct rsu_reg *r, uint32_t bits, char *buf, size_t len)
{
    if (rsu_reg_words(r) == 2)
        snprintf(buf, len, "0x%08X", (unsigned)bits);
    else
        snprintf(buf, len, "0x%04X", (unsigned)bits);
}

enum number_rc { NUMBER_OK, NUMBER_ABSENT, NUMBER_NOT_FINITE };

static enum number_rc decode_number(const struct rsu_reg *r, const uint16_t *w, uint32_t *bits,
                                    double *value)
{
    *bits = rsu_reg_get_u32(r, w);
    if (r->has_invalid && *bits == r->invalid_raw)
        return NUMBER_ABSENT;
    double raw;
    switch (r->type) {
    case RSU_TYPE_S16:
        raw = (int16_t)*bits;
        break;
    case RSU_TYPE_S32:
        raw = (int32_t)*bits;
        break;
    case RSU_TYPE_FLOAT32: {
        float f;
        memcpy(&f, bits, sizeof f);
        if (!isfinite(f))
            return NUMBER_NOT_FINITE;
        /* A float32 carries about 7 significant digits; printing more invents precision. */
        char txt[32];
        snprintf(txt, sizeof txt, "%.7g", (double)f);
        raw = strtod(txt, NULL);
        break;
    }
    default:
        raw = *bits;
        break;
    }
    *value = rsu_scale_apply(r, raw);
    return isfinite(*value) ? NUMBER_OK : NUMBER_NOT_FINITE;
}

static void decode_quantity(struct decoder *d, int f, const struct rsu_reg *r, const uint16_t *w)
{
    uint32_t bits;
    double v, min, max;
    char raw[16];
    enum number_rc rc = decode_number(r, w, &bits, &v);
    if (rc == NUMBER_ABSENT)
        return;
    format_raw(r, bits, raw, sizeof raw);
    const char *name = rsu_field_name((enum rsu_field)f);
    if (rc == NUMBER_NOT_FINITE) {
        issue(d, "%s: raw %s is not a finite number", name, raw);
        return;
    }
    rsu_field_range((enum rsu_field)f, &min, &max);
    if (v < min || v > max) {
        issue(d, "%s: raw %s decodes to %g %s, outside %g..%g", name, raw, v,
              rsu_field_unit((enum rsu_field)f), min, max);
        return;
    }
    d->m->value[f] = v;
    d->m->present |= 1u << f;
}

static void decode_colour(struct decoder *d, const struct rsu_profile *p, const struct rsu_reg *r,
                          const uint16_t *w)
{
    uint32_t code = rsu_reg_get_u32(r, w);
    if (r->has_invalid && code == r->invalid_raw)
        return;
    d->m->plate_colour_code = code;
    for (size_t i = 0; i < p->n_colours; i++) {
        if (p->colour_map[i].code == code) {
            d->m->plate_colour = p->colour_map[i].colour;
            return;
        }
    }
    issue(d, "plate_colour: code %u is not in the profile's colour map", (unsigned)code);
}

static void decode_time(struct decoder *d, const struct rsu_reg *r, const uint16_t *w)
{
    uint32_t bits = rsu_reg_get_u32(r, w);
    if (r->has_invalid && bits == r->invalid_raw)
        return;
    long long s = r->type == RSU_TYPE_S32 ? (long long)(int32_t)bits : (long long)bits;
    if (s < DEVICE_TIME_MIN_S || s >= DEVICE_TIME_MAX_S) {
        issue(d, "device_time: raw 0x%08X is %lld s, not a time in 2000..2099", (unsigned)bits, s);
        return;
    }
    d->m->has_device_time = true;
    d->m->device_time_ms = s * 1000;
}

/* Registers hold two bytes each, high byte first; the text is NUL or space padded. */
static void decode_text(struct decoder *d, int f, const struct rsu_reg *r, const uint16_t *w,
                        char *out, size_t outsize)
{
    char bytes[2 * 125];
    size_t n = 2u * r->length;
    if (n > sizeof bytes) { /* only a profile built by hand can say so */
        issue(d, "%s: string of %u registers, at most 125", rsu_profile_field_name(f), r->length);
        return;
    }
    for (size_t i = 0; i < r->length; i++) {
        bytes[2 * i] = (char)(w[i] >> 8);
        bytes[2 * i + 1] = (char)(w[i] & 0xFF);
    }
    char *nul = memchr(bytes, '\0', n);
    if (nul)
        n = (size_t)(nul - bytes);
    while (n > 0 && bytes[n - 1] == ' ')
        n--;
    const char *name = rsu_profile_field_name(f);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)bytes[i];
        if (c < 0x20 || c == 0x7F) {
            issue(d, "%s: control byte 0x%02X at offset %zu: not text", name, c, i);
            return;
        }
    }
    int rc = rsu_text_to_utf8(r->encoding, bytes, n, out, outsize);
    if (rc == RSU_TEXT_ETOOBIG) {
        issue(d, "%s: text longer than %zu bytes in UTF-8", name, outsize - 1);
    } else if (rc != RSU_TEXT_OK) {
        char hex[3 * 8 + 1] = "";
        for (size_t i = 0; i < n && i < 8; i++)
            snprintf(hex + 3 * i, sizeof hex - 3 * i, " %02X", (unsigned char)bytes[i]);
        issue(d, "%s: not valid %s:%s%s", name,
              r->encoding == RSU_ENC_GB18030 ? "GB18030" : "UTF-8", hex, n > 8 ? " ..." : "");
    }
}

static void reset_decoded(struct rsu_measurement *m)
{
    m->has_device_time = false;
    m->device_time_ms = 0;
    m->plate[0] = '\0';
    m->plate_colour_code = 0;
    m->plate_colour = RSU_COLOUR_UNKNOWN;
    m->present = 0;
    memset(m->value, 0, sizeof m->value);
    m->n_image_refs = 0;
    memset(m->image_ref, 0, sizeof m->image_ref);
    m->n_issues = 0;
    memset(m->issues, 0, sizeof m->issues);
}

void rsu_profile_decode(const struct rsu_profile *p, const struct rsu_block *blocks,
                        uint16_t *const *regs, size_t n_blocks, struct rsu_measurement *m)
{
    struct decoder d = {.m = m};
    reset_decoded(m);
    for (int f = 0; f < RSU_X_COUNT; f++) {
        if (!(p->mapped & (1u << f)))
            continue;
        const struct rsu_reg *r = &p->field[f];
        const uint16_t *w = locate(r, blocks, regs, n_blocks);
        if (!w) {
            issue(&d, "%s: registers not among those read", rsu_profile_field_name(f));
            continue;
        }
        if (f < RSU_F_COUNT) {
            decode_quantity(&d, f, r, w);
        } else if (f == RSU_X_PLATE_COLOUR) {
            decode_colour(&d, p, r, w);
        } else if (f == RSU_X_DEVICE_TIME) {
            decode_time(&d, r, w);
        } else if (f == RSU_X_PLATE) {
            decode_text(&d, f, r, w, m->plate, sizeof m->plate);
        } else {
            /* Image references are listed in order far, near, skipping empty ones. */
            char *ref = m->image_ref[m->n_image_refs];
            decode_text(&d, f, r, w, ref, RSU_IMAGE_REF_MAX);
            if (ref[0])
                m->n_image_refs++;
        }
    }
    if (d.dropped)
        snprintf(m->issues[RSU_ISSUES_MAX - 1], RSU_ISSUE_LEN, "... and %zu more issues",
                 d.dropped + 1);
}
