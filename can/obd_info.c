/* SPDX-License-Identifier: MIT */
/*
 * Service 09 (vehicle information) on CAN: 49 InfoType NODI data. VIN (02), calibration
 * ids (04, 16 characters each), calibration verification numbers (06, 4 bytes each) and
 * the ECU name (0A, 20 characters). Text from the vehicle is made printable before it
 * goes anywhere; what is wrong with it is said, never silently repaired.
 */
#include <stdio.h>
#include <string.h>

#include "obd.h"

static int fail(char *err, size_t errlen, int rc, const char *msg)
{
    if (err && errlen)
        snprintf(err, errlen, "%s", msg);
    return rc;
}

static char printable(uint8_t c)
{
    return c >= 0x20 && c <= 0x7E ? (char)c : '?';
}

/* Copies a fixed-width text field: trailing NUL / 0xFF padding dropped, the rest made
 * printable. out has room for n + 1. */
static void text_field(const uint8_t *p, size_t n, char *out)
{
    while (n && (p[n - 1] == 0x00 || p[n - 1] == 0xFF))
        n--;
    for (size_t i = 0; i < n; i++)
        out[i] = printable(p[i]);
    out[n] = '\0';
}

static bool vin_char(char c)
{
    /* ISO 3779: digits and capitals except I, O and Q. */
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z' && c != 'I' && c != 'O' && c != 'Q');
}

int obd_decode_vin(const uint8_t *msg, size_t len, char vin[18], char *err, size_t errlen)
{
    if (!msg || !vin)
        return OBD_EINVAL;
    vin[0] = '\0';
    if (len < 2 || msg[0] != 0x49 || msg[1] != 0x02)
        return fail(err, errlen, OBD_EMISMATCH, "not a VIN answer (49 02)");
    const uint8_t *p = msg + 2;
    size_t n = len - 2;
    /* NODI (1) precedes the 17 characters on CAN; a few ECUs leave it out. 0x01 is never a
     * VIN character, so there is no ambiguity. */
    if (n && p[0] == 0x01) {
        p++;
        n--;
    }
    /* Some ECUs pad the VIN field with leading NULs (a 20-byte legacy layout). */
    while (n && p[0] == 0x00) {
        p++;
        n--;
    }
    while (n && (p[n - 1] == 0x00 || p[n - 1] == 0xFF || p[n - 1] == ' '))
        n--;
    size_t shown = n < 17 ? n : 17;
    for (size_t i = 0; i < shown; i++)
        vin[i] = printable(p[i]);
    vin[shown] = '\0';
    if (n != 17) {
        if (err && errlen)
            snprintf(err, errlen, "VIN has %zu characters, not 17", n);
        return OBD_EMALFORMED;
    }
    for (size_t i = 0; i < 17; i++) {
        if (!vin_char((char)p[i])) {
            if (err && errlen)
                snprintf(err, errlen, "VIN character %zu (0x%02X) is not allowed by ISO 3779",
                         i + 1, p[i]);
            return OBD_EMALFORMED;
        }
    }
    return OBD_OK;
}

/* 49 type N, then N items of size bytes: how many to decode, and whether N and the bytes
 * agree. Negative when the answer is not one. */
static int item_count(const uint8_t *msg, size_t len, uint8_t type, size_t size,
                      unsigned *count_byte, bool *mismatch, bool *truncated, char *err,
                      size_t errlen)
{
    if (len < 2 || msg[0] != 0x49 || msg[1] != type) {
        if (err && errlen)
            snprintf(err, errlen, "not a 49 %02X answer", type);
        return OBD_EMISMATCH;
    }
    if (len < 3)
        return fail(err, errlen, OBD_EMALFORMED, "vehicle information without its item count");
    *count_byte = msg[2];
    size_t items = (len - 3) / size;
    *mismatch = *count_byte != items || (len - 3) % size != 0;
    size_t take = *count_byte < items ? *count_byte : items;
    *truncated = take > OBD_MAX_INFO_ITEMS;
    if (*truncated)
        take = OBD_MAX_INFO_ITEMS;
    if (*mismatch && err && errlen)
        snprintf(err, errlen, "ECU announced %u items of %zu bytes but sent %zu bytes", *count_byte,
                 size, len - 3);
    return (int)take;
}

int obd_decode_calids(const uint8_t *msg, size_t len, struct obd_calid_list *out, char *err,
                      size_t errlen)
{
    if (!msg || !out)
        return OBD_EINVAL;
    memset(out, 0, sizeof *out);
    int take = item_count(msg, len, 0x04, 16, &out->count_byte, &out->count_mismatch,
                          &out->truncated, err, errlen);
    if (take < 0)
        return take;
    for (int i = 0; i < take; i++)
        text_field(msg + 3 + 16 * (size_t)i, 16, out->id[i]);
    out->n = (size_t)take;
    return take;
}

int obd_decode_cvns(const uint8_t *msg, size_t len, struct obd_cvn_list *out, char *err,
                    size_t errlen)
{
    if (!msg || !out)
        return OBD_EINVAL;
    memset(out, 0, sizeof *out);
    int take = item_count(msg, len, 0x06, 4, &out->count_byte, &out->count_mismatch,
                          &out->truncated, err, errlen);
    if (take < 0)
        return take;
    for (int i = 0; i < take; i++) {
        const uint8_t *p = msg + 3 + 4 * (size_t)i;
        out->cvn[i] = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
        snprintf(out->hex[i], sizeof out->hex[i], "%08X", (unsigned)out->cvn[i]);
    }
    out->n = (size_t)take;
    return take;
}

int obd_decode_ecu_name(const uint8_t *msg, size_t len, char name[21], char *err, size_t errlen)
{
    if (!msg || !name)
        return OBD_EINVAL;
    name[0] = '\0';
    if (len < 2 || msg[0] != 0x49 || msg[1] != 0x0A)
        return fail(err, errlen, OBD_EMISMATCH, "not an ECU name answer (49 0A)");
    if (len < 4)
        return fail(err, errlen, OBD_EMALFORMED, "ECU name answer without a name");
    size_t n = len - 3 < 20 ? len - 3 : 20;
    text_field(msg + 3, n, name);
    if (msg[2] != 1 || len != 23) {
        if (err && errlen)
            snprintf(err, errlen, "ECU name: %u items in %zu bytes, expected 1 in 20", msg[2],
                     len - 3);
        return OBD_EMALFORMED;
    }
    return OBD_OK;
}
