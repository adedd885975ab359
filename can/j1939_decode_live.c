/* SPDX-License-Identifier: MIT */
/*
 * Live values (J1939-71) from a table: one row per SPN with its PGN, byte
 * position, size and scaling; and the VIN of VI 65260. Sources per row are in
 * docs/j1939.md; "C" rows are in standards.md, "I" rows are the SCR
 * temperatures of PGN 64830 as several implementations place them.
 */
#include <string.h>

#include "j1939.h"

static const struct j1939_spn_def live_defaults[] = {
    {190, J1939_PGN_EEC1, "engine speed", "rpm", 3, 2, 0.125, 0.0, "C"},
    {84, J1939_PGN_CCVS, "wheel-based vehicle speed", "km/h", 1, 2, 1.0 / 256.0, 0.0, "C"},
    {110, J1939_PGN_ET1, "engine coolant temperature", "°C", 0, 1, 1.0, -40.0, "C"},
    {183, J1939_PGN_LFE, "engine fuel rate", "L/h", 0, 2, 0.05, 0.0, "C"},
    {3216, J1939_PGN_AT1IG1, "aftertreatment 1 intake NOx", "ppm", 0, 2, 0.05, -200.0, "C"},
    {3226, J1939_PGN_AT1OG1, "aftertreatment 1 outlet NOx", "ppm", 0, 2, 0.05, -200.0, "C"},
    {1761, J1939_PGN_AT1T1I, "DEF tank 1 level", "%", 0, 1, 0.4, 0.0, "C"},
    {3251, J1939_PGN_AT1IMG, "DPF differential pressure", "kPa", 4, 2, 0.1, 0.0, "C"},
    {132, J1939_PGN_EGF1, "engine intake air mass flow rate", "kg/h", 2, 2, 0.05, 0.0, "C"},
    {245, J1939_PGN_VD, "total vehicle distance", "km", 4, 4, 0.125, 0.0, "C"},
    {4360, J1939_PGN_A1SCREGT1, "SCR catalyst intake gas temperature", "°C", 0, 2, 0.03125, -273.0,
     "I"},
    {4363, J1939_PGN_A1SCREGT1, "SCR catalyst outlet gas temperature", "°C", 3, 2, 0.03125, -273.0,
     "I"},
};

const struct j1939_spn_def *j1939_live_defaults(size_t *n)
{
    *n = sizeof live_defaults / sizeof live_defaults[0];
    return live_defaults;
}

const struct j1939_spn_def *j1939_live_find(const struct j1939_spn_def *table, size_t n,
                                            uint32_t spn)
{
    if (!table)
        table = j1939_live_defaults(&n);
    for (size_t i = 0; i < n; i++)
        if (table[i].spn == spn)
            return &table[i];
    return NULL;
}

void j1939_live_value(const struct j1939_spn_def *def, const uint8_t *data, size_t len,
                      struct j1939_live_value *out)
{
    out->def = def;
    out->value = 0.0;
    unsigned size = def->size;
    if ((size != 1 && size != 2 && size != 4) || (size_t)def->byte + size > len) {
        out->validity = J1939_MISSING;
        return;
    }
    uint32_t raw = 0;
    for (unsigned i = size; i-- > 0;)
        raw = raw << 8 | data[def->byte + i];
    unsigned top_shift = 8 * (size - 1);
    uint32_t max_valid = size == 4 ? 0xFAFFFFFFu : ((0xFBu << top_shift) - 1u);
    if (raw <= max_valid) {
        out->validity = J1939_VALID;
        out->value = raw * def->scale + def->offset;
        return;
    }
    /* 0xFE.. error indicator, 0xFF.. not available, 0xFB-0xFD.. reserved. */
    out->validity = (raw >> top_shift) == 0xFFu ? J1939_NOT_AVAILABLE : J1939_ERROR;
}

size_t j1939_live_decode(const struct j1939_spn_def *table, size_t n, uint32_t pgn,
                         const uint8_t *data, size_t len, struct j1939_live_value *out, size_t max)
{
    if (!table)
        table = j1939_live_defaults(&n);
    size_t got = 0;
    for (size_t i = 0; i < n && got < max; i++)
        if (table[i].pgn == pgn)
            j1939_live_value(&table[i], data, len, &out[got++]);
    return got;
}

/* ISO 3779: digits and capitals without I, O, Q. Returns the check-digit
 * value, or -1 for a character a VIN cannot contain. */
static int vin_char_value(char c)
{
    static const char letters[] = "ABCDEFGHJKLMNPRSTUVWXYZ";
    static const int values[] = {1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4,
                                 5, 7, 9, 2, 3, 4, 5, 6, 7, 8, 9};
    if (c >= '0' && c <= '9')
        return c - '0';
    const char *p = c ? strchr(letters, c) : NULL;
    return p ? values[p - letters] : -1;
}

void j1939_vin_decode(const uint8_t *data, size_t len, struct j1939_vin *out)
{
    memset(out, 0, sizeof *out);
    if (len == 0) {
        out->validity = J1939_MISSING;
        return;
    }
    size_t end = len;
    const uint8_t *star = memchr(data, '*', len);
    if (star) {
        end = (size_t)(star - data);
        out->terminated = true;
    }
    size_t start = 0;
    while (start < end && (data[start] == ' ' || data[start] == 0))
        start++;
    while (end > start && (data[end - 1] == ' ' || data[end - 1] == 0 || data[end - 1] == 0xFF))
        end--;
    size_t n = end - start, copy = n < J1939_VIN_TEXT_MAX ? n : J1939_VIN_TEXT_MAX;
    bool chars_ok = true;
    for (size_t i = 0; i < copy; i++) {
        uint8_t c = data[start + i];
        out->text[i] = c >= 0x20 && c < 0x7F ? (char)c : '?';
    }
    if (n == 0) {
        out->validity = J1939_NOT_AVAILABLE; /* "*" alone or all 0xFF: no VIN programmed */
        return;
    }
    int sum = 0;
    static const int weights[17] = {8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2};
    for (size_t i = 0; i < n && chars_ok; i++) {
        uint8_t b = data[start + i];
        int v = b < 0x80 ? vin_char_value((char)b) : -1;
        if (v < 0)
            chars_ok = false;
        else if (i < 17)
            sum += v * weights[i];
    }
    out->validity = chars_ok && n == 17 ? J1939_VALID : J1939_ERROR;
    if (out->validity == J1939_VALID) {
        int check = sum % 11;
        out->check_digit_ok = out->text[8] == (check == 10 ? 'X' : '0' + check);
    }
}
