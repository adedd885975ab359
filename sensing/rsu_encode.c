/* SPDX-License-Identifier: MIT */
/* Measurement -> registers, the simulator's half of the profile. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "rsu_profile.h"
#include "rsu_scale.h"
#include "rsu_text.h"

/* A field the pass does not carry is shown the way a device shows "not available". */
static void put_absent(const struct rsu_reg *r, uint16_t *w)
{
    if (r->has_invalid)
        rsu_reg_put_u32(r, r->invalid_raw, w);
    else
        memset(w, 0, sizeof w[0] * (size_t)rsu_reg_words(r));
}

static int put_number(const struct rsu_reg *r, const char *name, double value, uint16_t *w,
                      char *err, size_t errlen)
{
    double raw = rsu_scale_unapply(r, value);
    uint32_t bits;
    if (r->type == RSU_TYPE_FLOAT32) {
        float f = (float)raw;
        if (!isfinite(f)) {
            snprintf(err, errlen, "%s: %g does not fit a float32", name, value);
            return -1;
        }
        memcpy(&bits, &f, sizeof bits);
    } else {
        static const double lo[] = {[RSU_TYPE_U16] = 0,
                                    [RSU_TYPE_S16] = INT16_MIN,
                                    [RSU_TYPE_U32] = 0,
                                    [RSU_TYPE_S32] = INT32_MIN};
        static const double hi[] = {[RSU_TYPE_U16] = UINT16_MAX,
                                    [RSU_TYPE_S16] = INT16_MAX,
                                    [RSU_TYPE_U32] = UINT32_MAX,
                                    [RSU_TYPE_S32] = INT32_MAX};
        double rounded = round(raw);
        if (!isfinite(rounded) || rounded < lo[r->type] || rounded > hi[r->type]) {
            snprintf(err, errlen, "%s: %g is raw %.0f, outside the register's %.0f..%.0f", name,
                     value, rounded, lo[r->type], hi[r->type]);
            return -1;
        }
        long long v = (long long)rounded;
        bits = rsu_reg_words(r) == 2 ? (uint32_t)v : (uint32_t)v & 0xFFFFu;
    }
    if (r->has_invalid && bits == r->invalid_raw) {
        snprintf(err, errlen, "%s: %g encodes to the profile's 'invalid' marker", name, value);
        return -1;
    }
    rsu_reg_put_u32(r, bits, w);
    return 0;
}

static int put_text(const struct rsu_reg *r, const char *name, const char *text, uint16_t *w,
                    char *err, size_t errlen)
{
    char bytes[2 * 125];
    size_t cap = 2u * r->length, n = 0;
    if (cap > sizeof bytes) {
        snprintf(err, errlen, "%s: string of %u registers, at most 125", name, r->length);
        return -1;
    }
    int rc = rsu_text_from_utf8(r->encoding, text, bytes, cap, &n);
    if (rc == RSU_TEXT_ETOOBIG) {
        snprintf(err, errlen, "%s: '%s' does not fit %u registers", name, text, r->length);
        return -1;
    }
    if (rc != RSU_TEXT_OK) {
        snprintf(err, errlen, "%s: '%s' cannot be written as %s", name, text,
                 r->encoding == RSU_ENC_GB18030 ? "GB18030" : "UTF-8");
        return -1;
    }
    memset(bytes + n, 0, cap - n);
    for (size_t i = 0; i < r->length; i++)
        w[i] = (uint16_t)((unsigned char)bytes[2 * i] << 8 | (unsigned char)bytes[2 * i + 1]);
    return 0;
}

static int put_colour(const struct rsu_profile *p, const struct rsu_measurement *m, uint16_t *w,
                      char *err, size_t errlen)
{
    const struct rsu_reg *r = &p->field[RSU_X_PLATE_COLOUR];
    if (m->plate_colour == RSU_COLOUR_UNKNOWN) {
        /* No colour name: send the raw code, so a scenario can send unmapped codes. */
        if (m->plate_colour_code == 0 && r->has_invalid)
            put_absent(r, w);
        else
            rsu_reg_put_u32(r, m->plate_colour_code, w);
        return 0;
    }
    for (size_t i = 0; i < p->n_colours; i++) {
        if (p->colour_map[i].colour == m->plate_colour) {
            rsu_reg_put_u32(r, p->colour_map[i].code, w);
            return 0;
        }
    }
    snprintf(err, errlen, "plate_colour: %s is not in the profile's colour map",
             rsu_colour_name(m->plate_colour));
    return -1;
}

static int put_field(const struct rsu_profile *p, int f, const struct rsu_measurement *m,
                     uint16_t *w, char *err, size_t errlen)
{
    const struct rsu_reg *r = &p->field[f];
    const char *name = rsu_profile_field_name(f);
    if (f < RSU_F_COUNT) {
        if (!rsu_has(m, (enum rsu_field)f)) {
            put_absent(r, w);
            return 0;
        }
        return put_number(r, name, m->value[f], w, err, errlen);
    }
    switch (f) {
    case RSU_X_PLATE_COLOUR:
        return put_colour(p, m, w, err, errlen);
    case RSU_X_DEVICE_TIME:
        if (!m->has_device_time) {
            put_absent(r, w);
            return 0;
        }
        return put_number(r, name, floor((double)m->device_time_ms / 1000.0), w, err, errlen);
    case RSU_X_PLATE:
        return put_text(r, name, m->plate, w, err, errlen);
    case RSU_X_IMAGE_FAR:
    case RSU_X_IMAGE_NEAR: {
        size_t i = (size_t)(f - RSU_X_IMAGE_FAR);
        return put_text(r, name, i < m->n_image_refs ? m->image_ref[i] : "", w, err, errlen);
    }
    }
    return 0;
}

int rsu_profile_encode(const struct rsu_profile *p, const struct rsu_measurement *m,
                       uint16_t *holding, size_t n_holding, uint16_t *input, size_t n_input,
                       char *err, size_t errlen)
{
    for (int f = 0; f < RSU_X_COUNT; f++) {
        if (!(p->mapped & (1u << f)))
            continue;
        const struct rsu_reg *r = &p->field[f];
        uint16_t *image = r->table == RSU_TABLE_INPUT ? input : holding;
        size_t size = r->table == RSU_TABLE_INPUT ? n_input : n_holding;
        if (!image || (size_t)r->address + (size_t)rsu_reg_words(r) > size) {
            snprintf(err, errlen, "%s: registers %u..%d are outside the %zu-register image",
                     rsu_profile_field_name(f), r->address, r->address + rsu_reg_words(r) - 1,
                     size);
            return -1;
        }
        if (put_field(p, f, m, image + r->address, err, errlen) != 0)
            return -1;
    }
    return 0;
}
