/* SPDX-License-Identifier: MIT */
/* The simulator's vehicle presets and the diagnostic payloads built from a profile. */
#include <stdio.h>
#include <string.h>

#include "ecusim.h"
#include "j1939.h"

/* Diesel monitors a China VI truck supports (DM5 bits, enum j1939_monitor). */
#define TRUCK_MONITORS                                                                             \
    ((1u << J1939_MON_EXHAUST_GAS_SENSOR) | (1u << J1939_MON_EGR_VVT) |                            \
     (1u << J1939_MON_BOOST_PRESSURE) | (1u << J1939_MON_DPF) | (1u << J1939_MON_NOX_CATALYST) |   \
     (1u << J1939_MON_NMHC_CATALYST))

/* PID 01 byte C/D bits for compression ignition: 0 NMHC cat, 1 NOx/SCR, 3 boost,
 * 5 exhaust gas sensor, 6 PM filter, 7 EGR/VVT. */
#define PID01_DIESEL 0xEBu
#define PID01_SCR    0x02u
#define PID01_DPF    0x40u

static void truck_base(struct ecusim_profile *p, const char *name)
{
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", name);
    snprintf(p->calid, sizeof p->calid, "%s", "WP10H-CN6-0421");
    p->cvn = 0x1A2B3C4Du;
    p->j1939 = true;
    p->obd29 = true;
    p->obd_compliance = 20; /* HD OBD */
    p->dm5_supported = TRUCK_MONITORS;
    p->pid01_supported = PID01_DIESEL;
}

static void add_dtc(struct ecusim_j1939_dtc *d, size_t *n, uint32_t spn, uint8_t fmi, uint8_t oc)
{
    d[*n] = (struct ecusim_j1939_dtc){.spn = spn, .fmi = fmi, .oc = oc};
    (*n)++;
}

static void preset_truck_clean(struct ecusim_profile *p)
{
    truck_base(p, "truck-clean");
    snprintf(p->vin, sizeof p->vin, "%s", "LZZ5BLSJ8KN123456");
    /* Non-emission faults, MIL off: battery voltage, ambient temperature, brake switch. */
    add_dtc(p->engine_dtc, &p->n_engine_dtc, 168, 4, 2);
    add_dtc(p->engine_dtc, &p->n_engine_dtc, 171, 2, 1);
    add_dtc(p->engine_dtc, &p->n_engine_dtc, 597, 2, 3);
    add_dtc(p->aftert_dtc, &p->n_aftert_dtc, 3031, 2, 1);
    add_dtc(p->aftert_dtc, &p->n_aftert_dtc, 1761, 17, 1);
    add_dtc(p->aftert_dtc, &p->n_aftert_dtc, 4334, 3, 2);
    p->n_obd_trans_dtc = 1;
    p->obd_trans_dtc[0] = 0xC100; /* U0100, not emission related */
}

static void preset_truck_mil(struct ecusim_profile *p)
{
    truck_base(p, "truck-mil");
    snprintf(p->vin, sizeof p->vin, "%s", "LFWSRXSJ3N1A00042");
    p->mil = true;
    add_dtc(p->engine_dtc, &p->n_engine_dtc, 3216, 2, 5);  /* intake NOx sensor */
    add_dtc(p->engine_dtc, &p->n_engine_dtc, 4364, 18, 4); /* SCR conversion efficiency */
    add_dtc(p->engine_dtc, &p->n_engine_dtc, 3251, 0, 2);  /* DPF differential pressure */
    add_dtc(p->engine_dtc, &p->n_engine_dtc, 524287, 31, 1);
    add_dtc(p->aftert_dtc, &p->n_aftert_dtc, 4094, 18, 3); /* NOx limits exceeded */
    add_dtc(p->aftert_dtc, &p->n_aftert_dtc, 1761, 1, 6);  /* DEF level very low */
    add_dtc(p->aftert_dtc, &p->n_aftert_dtc, 5246, 0, 1);  /* SCR inducement */
    p->dm5_not_complete = (1u << J1939_MON_NOX_CATALYST) | (1u << J1939_MON_DPF);
    p->pid01_not_ready = PID01_SCR | PID01_DPF;
    p->n_obd_engine_dtc = 3;
    p->obd_engine_dtc[0] = 0x20EE; /* P20EE SCR efficiency below threshold */
    p->obd_engine_dtc[1] = 0x2002; /* P2002 DPF efficiency */
    p->obd_engine_dtc[2] = 0x0401; /* P0401 EGR flow insufficient */
    p->n_obd_trans_dtc = 1;
    p->obd_trans_dtc[0] = 0x0700; /* P0700 transmission control system */
}

static void preset_car(struct ecusim_profile *p, const char *name, bool obd29)
{
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", name);
    snprintf(p->vin, sizeof p->vin, "%s", obd29 ? "WVWZZZ1KZ8W000029" : "LSVAU033512345678");
    snprintf(p->calid, sizeof p->calid, "%s", "ECM-CAL-0007");
    p->cvn = 0x0BADF00Du;
    p->obd11 = !obd29;
    p->obd29 = obd29;
    p->pid01_supported = PID01_DIESEL;
    p->n_obd_engine_dtc = 2;
    p->obd_engine_dtc[0] = 0x0171; /* P0171 */
    p->obd_engine_dtc[1] = 0x0420; /* P0420 */
    p->n_obd_trans_dtc = 0;
}

static const char *const preset_names[] = {"truck-clean", "truck-mil", "car-obd", "car-obd29"};

const char *ecusim_preset_name(size_t i)
{
    return i < sizeof preset_names / sizeof preset_names[0] ? preset_names[i] : NULL;
}

int ecusim_preset(const char *name, struct ecusim_profile *out)
{
    if (!name || !out)
        return ECUSIM_EINVAL;
    if (strcmp(name, "truck-clean") == 0)
        preset_truck_clean(out);
    else if (strcmp(name, "truck-mil") == 0)
        preset_truck_mil(out);
    else if (strcmp(name, "car-obd") == 0)
        preset_car(out, name, false);
    else if (strcmp(name, "car-obd29") == 0)
        preset_car(out, name, true);
    else
        return ECUSIM_ENOENT;
    return ECUSIM_OK;
}

size_t ecusim_dm1_payload(const struct ecusim_profile *p, bool aftertreatment, uint8_t *out,
                          size_t cap)
{
    const struct ecusim_j1939_dtc *d = aftertreatment ? p->aftert_dtc : p->engine_dtc;
    size_t n = aftertreatment ? p->n_aftert_dtc : p->n_engine_dtc;
    if (n > ECUSIM_MAX_DTC)
        n = ECUSIM_MAX_DTC;
    if (cap < 8 || cap < 2 + 4 * n)
        return 0;
    /* Lamps: MIL bits 8-7, amber warning bits 4-3; 01 = on. A clean truck with
     * faults still shows amber. */
    out[0] = (uint8_t)((p->mil && !aftertreatment ? 0x40u : 0x00u) | (n ? 0x04u : 0x00u));
    out[1] = 0xFF;
    if (n == 0) {
        memset(out + 2, 0, 4); /* SPN 0 / FMI 0: no DTC */
        out[6] = out[7] = 0xFF;
        return 8;
    }
    for (size_t i = 0; i < n; i++) {
        uint8_t *b = out + 2 + 4 * i;
        b[0] = (uint8_t)(d[i].spn & 0xFF);
        b[1] = (uint8_t)((d[i].spn >> 8) & 0xFF);
        b[2] = (uint8_t)((((d[i].spn >> 16) & 0x7u) << 5) | (d[i].fmi & 0x1Fu));
        b[3] = (uint8_t)(d[i].oc & 0x7F); /* CM 0 */
    }
    size_t len = 2 + 4 * n;
    if (len < 8) { /* one DTC: pad the single frame */
        memset(out + len, 0xFF, 8 - len);
        len = 8;
    }
    return len;
}

size_t ecusim_dm5_payload(const struct ecusim_profile *p, uint8_t *out, size_t cap)
{
    if (cap < 8)
        return 0;
    size_t active = p->n_engine_dtc;
    out[0] = (uint8_t)(active > 250 ? 250 : active);
    out[1] = 0;
    out[2] = p->obd_compliance;
    out[3] = 0x07; /* misfire, fuel system, comprehensive: supported and complete */
    out[4] = (uint8_t)(p->dm5_supported & 0xFF);
    out[5] = (uint8_t)(p->dm5_supported >> 8);
    out[6] = (uint8_t)(p->dm5_not_complete & 0xFF);
    out[7] = (uint8_t)(p->dm5_not_complete >> 8);
    return 8;
}
