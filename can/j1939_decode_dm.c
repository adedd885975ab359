/* SPDX-License-Identifier: MIT */
/* J1939-73 diagnostic messages: DM1/DM2 (lamps and DTCs) and DM5 (readiness). */
#include <string.h>

#include "j1939.h"

static enum j1939_lamp lamp(uint8_t b, unsigned shift)
{
    return (enum j1939_lamp)((b >> shift) & 3u);
}

static enum j1939_flash flash(uint8_t b, unsigned shift)
{
    return (enum j1939_flash)((b >> shift) & 3u);
}

int j1939_dm1_decode(const uint8_t *data, size_t len, struct j1939_dm1 *out)
{
    out->n_dtc = 0;
    out->n_slots = 0;
    out->any_cm = false;
    out->lamps_present = len >= 2;
    if (!out->lamps_present) {
        memset(&out->lamps, 0, sizeof out->lamps);
        out->lamps.mil = out->lamps.red_stop = J1939_LAMP_NA;
        out->lamps.amber_warning = out->lamps.protect = J1939_LAMP_NA;
        out->lamps.mil_flash = out->lamps.red_stop_flash = J1939_FLASH_NONE;
        out->lamps.amber_warning_flash = out->lamps.protect_flash = J1939_FLASH_NONE;
        return J1939_EINVAL;
    }
    /* Byte 0 bits 8-7 MIL, 6-5 red stop, 4-3 amber, 2-1 protect; byte 1 the
     * same lamps' flash states. */
    out->lamps.mil = lamp(data[0], 6);
    out->lamps.red_stop = lamp(data[0], 4);
    out->lamps.amber_warning = lamp(data[0], 2);
    out->lamps.protect = lamp(data[0], 0);
    out->lamps.mil_flash = flash(data[1], 6);
    out->lamps.red_stop_flash = flash(data[1], 4);
    out->lamps.amber_warning_flash = flash(data[1], 2);
    out->lamps.protect_flash = flash(data[1], 0);

    size_t slots = (len - 2) / 4;
    if (slots > J1939_DM_MAX_DTC)
        slots = J1939_DM_MAX_DTC;
    out->n_slots = (uint16_t)slots;
    for (size_t i = 0; i < slots; i++) {
        const uint8_t *b = data + 2 + 4 * i;
        uint32_t spn = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)(b[2] & 0xE0u) << 11;
        uint8_t fmi = b[2] & 0x1Fu;
        if (spn == 0 && fmi == 0)
            continue; /* "no active DTC" */
        if (b[0] == 0xFF && b[1] == 0xFF && b[2] == 0xFF && b[3] == 0xFF)
            continue; /* padding */
        struct j1939_dtc *d = &out->dtc[out->n_dtc++];
        d->spn = spn;
        d->fmi = fmi;
        d->cm = (b[3] & 0x80u) != 0;
        d->oc = b[3] & 0x7Fu;
        out->any_cm |= d->cm;
    }
    return 0;
}

const char *j1939_lamp_name(enum j1939_lamp l)
{
    static const char *const names[] = {"off", "on", "error", "not available"};
    return (unsigned)l < 4 ? names[l] : "?";
}

const char *j1939_flash_name(enum j1939_flash f)
{
    static const char *const names[] = {"slow flash", "fast flash", "reserved", "no flash"};
    return (unsigned)f < 4 ? names[f] : "?";
}

static enum j1939_validity byte_validity(uint8_t b)
{
    if (b <= 0xFA)
        return J1939_VALID;
    return b == 0xFF ? J1939_NOT_AVAILABLE : J1939_ERROR;
}

void j1939_dm5_decode(const uint8_t *data, size_t len, struct j1939_dm5 *out)
{
    memset(out, 0, sizeof *out);
    out->active_valid = len > 0 ? byte_validity(data[0]) : J1939_MISSING;
    out->previous_valid = len > 1 ? byte_validity(data[1]) : J1939_MISSING;
    if (out->active_valid == J1939_VALID)
        out->active_count = data[0];
    if (out->previous_valid == J1939_VALID)
        out->previous_count = data[1];
    if (len > 2) {
        out->obd_compliance = data[2];
        out->compliance_valid = data[2] == 0xFF   ? J1939_NOT_AVAILABLE
                                : data[2] == 0xFE ? J1939_ERROR
                                                  : J1939_VALID;
    } else {
        out->compliance_valid = J1939_MISSING;
        out->obd_compliance = 0xFF;
    }
    /* As ETI j1939-84 reads it: only an ECU that claims some OBD compliance
     * supports monitors. */
    out->is_obd = out->compliance_valid == J1939_VALID && out->obd_compliance != 5;
    if (len > 3 && data[3] != 0xFF) {
        out->continuous_present = true;
        out->continuous_supported = data[3] & 0x07u;
        out->continuous_not_complete = (data[3] >> 4) & 0x07u;
    }
    if (len > 7 && !(data[4] == 0xFF && data[5] == 0xFF)) {
        out->noncontinuous_present = true;
        out->noncontinuous_supported = (uint16_t)(data[4] | (data[5] & 0x1Fu) << 8);
        out->noncontinuous_not_complete = (uint16_t)(data[6] | (data[7] & 0x1Fu) << 8);
    }
}

enum j1939_readiness j1939_dm5_monitor(const struct j1939_dm5 *dm5, enum j1939_monitor m)
{
    bool present, supported, not_complete;
    if (m >= J1939_MON_MISFIRE && m <= J1939_MON_COMPREHENSIVE) {
        unsigned bit = (unsigned)m - J1939_MON_MISFIRE;
        present = dm5->continuous_present;
        supported = (dm5->continuous_supported >> bit) & 1u;
        not_complete = (dm5->continuous_not_complete >> bit) & 1u;
    } else if (m >= J1939_MON_CATALYST && m <= J1939_MON_NMHC_CATALYST) {
        unsigned bit = (unsigned)m;
        present = dm5->noncontinuous_present;
        supported = (dm5->noncontinuous_supported >> bit) & 1u;
        not_complete = (dm5->noncontinuous_not_complete >> bit) & 1u;
    } else {
        return J1939_READY_UNKNOWN;
    }
    if (!present)
        return J1939_READY_UNKNOWN;
    if (!dm5->is_obd || !supported)
        return J1939_READY_UNSUPPORTED;
    return not_complete ? J1939_READY_NOT_COMPLETE : J1939_READY_COMPLETE;
}

const char *j1939_monitor_name(enum j1939_monitor m)
{
    switch (m) {
    case J1939_MON_CATALYST:
        return "catalyst";
    case J1939_MON_HEATED_CATALYST:
        return "heated catalyst";
    case J1939_MON_EVAPORATIVE:
        return "evaporative system";
    case J1939_MON_SECONDARY_AIR:
        return "secondary air system";
    case J1939_MON_AC_REFRIGERANT:
        return "A/C system refrigerant";
    case J1939_MON_EXHAUST_GAS_SENSOR:
        return "exhaust gas sensor (O2)";
    case J1939_MON_EXHAUST_GAS_SENSOR_HEATER:
        return "exhaust gas sensor heater (O2 heater)";
    case J1939_MON_EGR_VVT:
        return "EGR/VVT system";
    case J1939_MON_COLD_START_AID:
        return "cold start aid system";
    case J1939_MON_BOOST_PRESSURE:
        return "boost pressure control system";
    case J1939_MON_DPF:
        return "diesel particulate filter (DPF)";
    case J1939_MON_NOX_CATALYST:
        return "NOx catalyst/adsorber (SCR)";
    case J1939_MON_NMHC_CATALYST:
        return "NMHC converting catalyst (DOC/POC)";
    case J1939_MON_MISFIRE:
        return "misfire";
    case J1939_MON_FUEL_SYSTEM:
        return "fuel system";
    case J1939_MON_COMPREHENSIVE:
        return "comprehensive component";
    }
    return "?";
}

const char *j1939_readiness_name(enum j1939_readiness r)
{
    switch (r) {
    case J1939_READY_UNSUPPORTED:
        return "not supported";
    case J1939_READY_COMPLETE:
        return "complete";
    case J1939_READY_NOT_COMPLETE:
        return "not complete";
    case J1939_READY_UNKNOWN:
        return "unknown";
    }
    return "?";
}

const char *j1939_obd_compliance_name(uint8_t code)
{
    static const char *const names[] = {
        [1] = "OBD II (CARB)",
        [2] = "OBD (EPA)",
        [3] = "OBD and OBD II",
        [4] = "OBD I",
        [5] = "not intended to meet OBD requirements",
        [6] = "EOBD",
        [7] = "EOBD and OBD II",
        [8] = "EOBD and OBD",
        [9] = "EOBD, OBD and OBD II",
        [10] = "JOBD",
        [11] = "JOBD and OBD II",
        [12] = "JOBD and EOBD",
        [13] = "JOBD, EOBD and OBD II",
        [14] = "heavy duty vehicles (Euro IV) B1",
        [15] = "heavy duty vehicles (Euro V) B2",
        [16] = "heavy duty vehicles (Euro EEC) C (gas engines)",
        [17] = "EMD",
        [18] = "EMD+",
        [19] = "HD OBD P",
        [20] = "HD OBD",
        [21] = "WWH OBD",
        [22] = "OBD II",
        [23] = "HD EOBD",
        [25] = "OBD-M (SI-SD/I)",
        [26] = "Euro VI",
        [34] = "OBD, OBD II, HD OBD",
        [35] = "OBD, OBD II, HD OBD P",
    };
    if (code == 0xFE)
        return "error";
    if (code == 0xFF)
        return "not available";
    if (code < sizeof names / sizeof names[0] && names[code])
        return names[code];
    return "reserved";
}
