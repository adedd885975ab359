/* SPDX-License-Identifier: MIT */
/*
 * Service 01 (current data): the PID table (SAE J1979 / ISO 15031-5 scalings), supported
 * PID bitmaps, multi-PID answers and PID 01 monitor status with its spark and
 * compression-ignition meanings.
 */
#include <string.h>

#include "obd.h"

static const struct obd_pid_desc pid_table[] = {
    {0x00, 4, OBD_KIND_BITMAP, "PIDs supported 01-20", "", 1, 0},
    {0x01, 4, OBD_KIND_STATUS, "monitor status since DTCs cleared", "", 1, 0},
    {0x04, 1, OBD_KIND_NUMBER, "calculated engine load", "%", 100.0 / 255.0, 0},
    {0x05, 1, OBD_KIND_NUMBER, "engine coolant temperature", "°C", 1, -40},
    {0x0C, 2, OBD_KIND_NUMBER, "engine speed", "rpm", 0.25, 0},
    {0x0D, 1, OBD_KIND_NUMBER, "vehicle speed", "km/h", 1, 0},
    {0x10, 2, OBD_KIND_NUMBER, "MAF air flow rate", "g/s", 0.01, 0},
    {0x1C, 1, OBD_KIND_STATUS, "OBD requirements the vehicle conforms to", "", 1, 0},
    {0x1F, 2, OBD_KIND_NUMBER, "run time since engine start", "s", 1, 0},
    {0x20, 4, OBD_KIND_BITMAP, "PIDs supported 21-40", "", 1, 0},
    {0x21, 2, OBD_KIND_NUMBER, "distance travelled with MIL on", "km", 1, 0},
    {0x31, 2, OBD_KIND_NUMBER, "distance travelled since DTCs cleared", "km", 1, 0},
    {0x40, 4, OBD_KIND_BITMAP, "PIDs supported 41-60", "", 1, 0},
    {0x5E, 2, OBD_KIND_NUMBER, "engine fuel rate", "L/h", 0.05, 0},
    {0x60, 4, OBD_KIND_BITMAP, "PIDs supported 61-80", "", 1, 0},
    {0x80, 4, OBD_KIND_BITMAP, "PIDs supported 81-A0", "", 1, 0},
    {0xA0, 4, OBD_KIND_BITMAP, "PIDs supported A1-C0", "", 1, 0},
    {0xA6, 4, OBD_KIND_NUMBER, "odometer", "km", 0.1, 0},
    {0xC0, 4, OBD_KIND_BITMAP, "PIDs supported C1-E0", "", 1, 0},
    {0xE0, 4, OBD_KIND_BITMAP, "PIDs supported E1-FF", "", 1, 0},
};

const struct obd_pid_desc *obd_pid_find(uint8_t pid)
{
    for (size_t i = 0; i < sizeof pid_table / sizeof pid_table[0]; i++)
        if (pid_table[i].pid == pid)
            return &pid_table[i];
    return NULL;
}

int obd_decode_pid(uint8_t pid, const uint8_t *data, size_t len, struct obd_value *out)
{
    if (!out || (len && !data))
        return OBD_EINVAL;
    const struct obd_pid_desc *d = obd_pid_find(pid);
    *out = (struct obd_value){.pid = pid, .name = "unknown PID", .unit = ""};
    if (!d) {
        out->status = OBD_VALUE_UNKNOWN_PID;
        return OBD_OK;
    }
    out->name = d->name;
    out->unit = d->unit;
    out->kind = d->kind;
    if (len < d->len) {
        out->status = OBD_VALUE_SHORT;
        return OBD_OK;
    }
    uint32_t raw = 0;
    for (unsigned i = 0; i < d->len; i++)
        raw = raw << 8 | data[i];
    out->raw = raw;
    out->value = raw * d->scale + d->offset;
    out->status = OBD_VALUE_OK;
    return OBD_OK;
}

int obd_decode_mode01(const uint8_t *msg, size_t len, struct obd_value *out, size_t cap)
{
    if (!msg || !out)
        return OBD_EINVAL;
    if (len < 1 || msg[0] != 0x41)
        return OBD_EMISMATCH;
    if (len < 2)
        return OBD_EMALFORMED;
    size_t pos = 1, n = 0;
    while (pos < len && n < cap) {
        uint8_t pid = msg[pos];
        const struct obd_pid_desc *d = obd_pid_find(pid);
        size_t avail = len - pos - 1;
        size_t take = d && avail > d->len ? d->len : avail;
        obd_decode_pid(pid, msg + pos + 1, take, &out[n]);
        if (out[n++].status != OBD_VALUE_OK)
            break; /* unknown length or cut short: nothing after it can be trusted */
        pos += 1 + d->len;
    }
    return (int)n;
}

static void merge_bitmap(struct obd_pid_support *s, uint8_t base, uint32_t bits)
{
    s->ranges_seen |= (uint8_t)(1u << (base / 0x20));
    for (unsigned i = 0; i < 32; i++) {
        unsigned pid = base + 1u + i;
        if (pid > 0xFF || !(bits & (0x80000000u >> i)))
            continue;
        s->bits[pid / 8] |= (uint8_t)(0x80u >> (pid % 8));
    }
}

int obd_decode_supported(const uint8_t *msg, size_t len, struct obd_pid_support *s)
{
    if (!msg || !s)
        return OBD_EINVAL;
    if (len < 1 || (msg[0] != 0x41 && msg[0] != 0x49))
        return OBD_EMISMATCH;
    if (msg[0] == 0x49) {
        /* 49 00 A B C D: InfoType 00 carries no NODI byte. */
        if (len < 6 || msg[1] % 0x20 != 0)
            return OBD_EMALFORMED;
        merge_bitmap(s, msg[1],
                     (uint32_t)msg[2] << 24 | (uint32_t)msg[3] << 16 | (uint32_t)msg[4] << 8 |
                         msg[5]);
        return 1;
    }
    struct obd_value v[6];
    int n = obd_decode_mode01(msg, len, v, 6);
    if (n < 0)
        return n;
    int merged = 0;
    for (int i = 0; i < n; i++) {
        if (v[i].status == OBD_VALUE_OK && v[i].kind == OBD_KIND_BITMAP) {
            merge_bitmap(s, v[i].pid, v[i].raw);
            merged++;
        }
    }
    return merged ? merged : OBD_EMALFORMED;
}

bool obd_pid_supported(const struct obd_pid_support *s, uint8_t pid)
{
    if (!s)
        return false;
    if (pid == 0)
        return s->ranges_seen & 1u;
    return s->bits[pid / 8] & (0x80u >> (pid % 8));
}

/* ---- PID 01 ------------------------------------------------------------------------- */

static const char *const continuous_names[3] = {"misfire", "fuel system",
                                                "comprehensive components"};

/* Byte C / D bits 0-7; NULL = reserved for that ignition type. */
static const char *const spark_names[8] = {
    "catalyst",        "heated catalyst", "evaporative system",   "secondary air system",
    "A/C refrigerant", "oxygen sensor",   "oxygen sensor heater", "EGR and/or VVT system",
};

static const char *const diesel_names[8] = {
    "NMHC catalyst", "NOx/SCR aftertreatment", NULL, "boost pressure", NULL, "exhaust gas sensor",
    "PM filter",     "EGR and/or VVT system",
};

int obd_decode_monitor_status(const uint8_t *data, size_t len, struct obd_monitor_status *out)
{
    if (!data || !out)
        return OBD_EINVAL;
    memset(out, 0, sizeof *out);
    if (len < 4)
        return OBD_EMALFORMED;
    uint8_t a = data[0], b = data[1], c = data[2], d = data[3];
    out->mil_on = a & 0x80u;
    out->dtc_count = a & 0x7Fu;
    out->compression_ignition = b & 0x08u;
    for (unsigned i = 0; i < 3; i++) {
        out->mon[out->n++] = (struct obd_monitor){
            .name = continuous_names[i],
            .continuous = true,
            .supported = b & (1u << i),
            .ready = !(b & (0x10u << i)),
        };
    }
    const char *const *names = out->compression_ignition ? diesel_names : spark_names;
    for (unsigned i = 0; i < 8; i++) {
        if (!names[i]) {
            if (c & (1u << i))
                out->reserved_bits |= (uint8_t)(1u << i);
            continue;
        }
        out->mon[out->n++] = (struct obd_monitor){
            .name = names[i],
            .continuous = false,
            .supported = c & (1u << i),
            .ready = !(d & (1u << i)),
        };
    }
    return OBD_OK;
}

const struct obd_monitor *obd_monitor_find(const struct obd_monitor_status *st, const char *name)
{
    if (!st || !name)
        return NULL;
    for (size_t i = 0; i < st->n && i < OBD_MONITORS_MAX; i++)
        if (strcmp(st->mon[i].name, name) == 0)
            return &st->mon[i];
    return NULL;
}
