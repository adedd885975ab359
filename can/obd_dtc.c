/* SPDX-License-Identifier: MIT */
/*
 * Services 03 (stored), 07 (pending) and 0A (permanent) trouble codes on CAN:
 * SID + 0x40, a count byte, then two bytes per DTC. The count byte is data about the list,
 * not the first half of a DTC (python-OBD's mistake), and it may disagree with the bytes
 * actually sent: we decode what is there and say so.
 */
#include <stdio.h>
#include <string.h>

#include "obd.h"

void obd_dtc_format(uint16_t raw, char out[6])
{
    static const char letters[4] = {'P', 'C', 'B', 'U'};
    static const char hex[] = "0123456789ABCDEF";
    out[0] = letters[raw >> 14];
    out[1] = (char)('0' + (raw >> 12 & 0x3u));
    out[2] = hex[raw >> 8 & 0xFu];
    out[3] = hex[raw >> 4 & 0xFu];
    out[4] = hex[raw & 0xFu];
    out[5] = '\0';
}

static int fail(char *err, size_t errlen, const char *msg)
{
    if (err && errlen)
        snprintf(err, errlen, "%s", msg);
    return OBD_EMALFORMED;
}

int obd_decode_dtcs(const uint8_t *msg, size_t len, struct obd_dtc_list *out, char *err,
                    size_t errlen)
{
    if (!msg || !out)
        return OBD_EINVAL;
    out->sid = len ? msg[0] : 0;
    out->count_byte = 0;
    out->count_mismatch = false;
    out->zero_skipped = 0;
    out->n = 0;
    if (len < 1 || (msg[0] != 0x43 && msg[0] != 0x47 && msg[0] != 0x4A)) {
        if (err && errlen)
            snprintf(err, errlen, "not a DTC answer (43, 47 or 4A)");
        return OBD_EMISMATCH;
    }
    if (len < 2)
        return fail(err, errlen, "DTC answer without its count byte");
    out->count_byte = msg[1];
    size_t pairs = (len - 2) / 2;
    size_t take = out->count_byte < pairs ? out->count_byte : pairs;
    out->count_mismatch = out->count_byte != pairs || (len - 2) % 2 != 0;
    for (size_t i = 0; i < take; i++) {
        uint16_t raw = (uint16_t)(msg[2 + 2 * i] << 8 | msg[3 + 2 * i]);
        if (raw == 0) { /* "P0000": filler, not a fault */
            out->zero_skipped++;
            continue;
        }
        struct obd_dtc *d = &out->dtc[out->n++];
        d->raw = raw;
        obd_dtc_format(raw, d->code);
    }
    if (out->count_mismatch && err && errlen)
        snprintf(err, errlen, "ECU announced %u DTCs but sent %zu bytes of codes", out->count_byte,
                 len - 2);
    return (int)out->n;
}
