/* SPDX-License-Identifier: MIT */
/*
 * J1939 decoders: DM1 (lamps, flash, every DTC, SPNs above 0xFFFF, the CM bit,
 * a 20-DTC DM1 through BAM end to end), DM5 readiness bits, the VIN, and the
 * live-value table: numbers only when VALID.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "j1939_fixture.h"

#define assert_near(a, b, eps)                                                                     \
    do {                                                                                           \
        double got_ = (a), want_ = (b);                                                            \
        if (!(fabs(got_ - want_) <= (eps)))                                                        \
            fail_msg("%s = %.17g, want %.17g", #a, got_, want_);                                   \
    } while (0)

static void put_dtc(uint8_t *b, uint32_t spn, uint8_t fmi, bool cm, uint8_t oc)
{
    b[0] = (uint8_t)spn;
    b[1] = (uint8_t)(spn >> 8);
    b[2] = (uint8_t)(((spn >> 11) & 0xE0u) | (fmi & 0x1Fu));
    b[3] = (uint8_t)((cm ? 0x80u : 0) | (oc & 0x7Fu));
}

static struct j1939_dm1 *dm1_new(void)
{
    struct j1939_dm1 *dm = malloc(sizeof *dm);
    assert_non_null(dm);
    memset(dm, 0xA5, sizeof *dm);
    return dm;
}

static void test_dm1_no_dtc(void **state)
{
    (void)state;
    struct j1939_dm1 *dm = dm1_new();
    const uint8_t frame[8] = {0x00, 0xFF, 0, 0, 0, 0, 0xFF, 0xFF};
    assert_int_equal(j1939_dm1_decode(frame, 8, dm), 0);
    assert_true(dm->lamps_present);
    assert_int_equal(dm->lamps.mil, J1939_LAMP_OFF);
    assert_int_equal(dm->lamps.mil_flash, J1939_FLASH_NONE);
    assert_int_equal(dm->n_slots, 1);
    assert_int_equal(dm->n_dtc, 0);
    assert_false(dm->any_cm);
    /* Too short for the lamps: an error, nothing invented. */
    assert_int_equal(j1939_dm1_decode(frame, 1, dm), J1939_EINVAL);
    assert_false(dm->lamps_present);
    assert_int_equal(dm->lamps.mil, J1939_LAMP_NA);
    assert_int_equal(dm->n_dtc, 0);
    free(dm);
}

/* Each lamp and flash state in its own bit pair: MIL 8-7, red stop 6-5,
 * amber 4-3, protect 2-1. */
static void test_dm1_lamps(void **state)
{
    (void)state;
    struct j1939_dm1 *dm = dm1_new();
    uint8_t frame[8] = {0x01u << 6 | 0x00u << 4 | 0x03u << 2 | 0x02u,
                        0x00u << 6 | 0x01u << 4 | 0x02u << 2 | 0x03u,
                        0,
                        0,
                        0,
                        0,
                        0xFF,
                        0xFF};
    j1939_dm1_decode(frame, 8, dm);
    assert_int_equal(dm->lamps.mil, J1939_LAMP_ON);
    assert_int_equal(dm->lamps.red_stop, J1939_LAMP_OFF);
    assert_int_equal(dm->lamps.amber_warning, J1939_LAMP_NA);
    assert_int_equal(dm->lamps.protect, J1939_LAMP_ERROR);
    assert_int_equal(dm->lamps.mil_flash, J1939_FLASH_SLOW);
    assert_int_equal(dm->lamps.red_stop_flash, J1939_FLASH_FAST);
    assert_int_equal(dm->lamps.amber_warning_flash, J1939_FLASH_RESERVED);
    assert_int_equal(dm->lamps.protect_flash, J1939_FLASH_NONE);
    assert_string_equal(j1939_lamp_name(dm->lamps.mil), "on");
    assert_string_equal(j1939_flash_name(dm->lamps.red_stop_flash), "fast flash");
    free(dm);
}

/* SPN 19 bits = b0 | b1<<8 | (b2 & 0xE0)<<11; FMI, CM and OC around it. */
static void test_dm1_dtc_fields(void **state)
{
    (void)state;
    const struct {
        uint32_t spn;
        uint8_t fmi;
        bool cm;
        uint8_t oc;
    } cases[] = {
        {110, 0, false, 1},      {0x7FFFF, 31, false, 126}, {0x10000, 3, false, 0},
        {520192, 14, true, 127}, {3216, 2, true, 5},        {0, 1, false, 1},
        {0xFFFF, 0, false, 2},
    };
    uint8_t payload[2 + 4 * 7];
    payload[0] = 0x40;
    payload[1] = 0xFF;
    for (size_t i = 0; i < 7; i++)
        put_dtc(payload + 2 + 4 * i, cases[i].spn, cases[i].fmi, cases[i].cm, cases[i].oc);
    struct j1939_dm1 *dm = dm1_new();
    assert_int_equal(j1939_dm1_decode(payload, sizeof payload, dm), 0);
    assert_int_equal(dm->n_dtc, 7);
    for (size_t i = 0; i < 7; i++) {
        assert_int_equal(dm->dtc[i].spn, cases[i].spn);
        assert_int_equal(dm->dtc[i].fmi, cases[i].fmi);
        assert_int_equal(dm->dtc[i].cm, cases[i].cm);
        assert_int_equal(dm->dtc[i].oc, cases[i].oc);
    }
    assert_true(dm->any_cm);
    /* A hand-packed real one: SPN 520192 (0x7F000) FMI 14 = 00 F0 EE 81. */
    const uint8_t raw[6] = {0x00, 0xFF, 0x00, 0xF0, 0xEE, 0x81};
    j1939_dm1_decode(raw, 6, dm);
    assert_int_equal(dm->n_dtc, 1);
    assert_int_equal(dm->dtc[0].spn, 520192);
    assert_int_equal(dm->dtc[0].fmi, 14);
    assert_true(dm->dtc[0].cm);
    assert_int_equal(dm->dtc[0].oc, 1);
    free(dm);
}

static void test_dm1_padding_and_trailing(void **state)
{
    (void)state;
    uint8_t payload[2 + 4 * 3 + 3];
    memset(payload, 0xFF, sizeof payload);
    payload[0] = 0x00;
    put_dtc(payload + 2, 100, 1, false, 1);
    put_dtc(payload + 6, 0, 0, false, 0); /* "no DTC" in the middle */
    /* slot 3 all 0xFF; then 3 trailing bytes that are not a slot */
    struct j1939_dm1 *dm = dm1_new();
    j1939_dm1_decode(payload, sizeof payload, dm);
    assert_int_equal(dm->n_slots, 3);
    assert_int_equal(dm->n_dtc, 1);
    assert_int_equal(dm->dtc[0].spn, 100);
    free(dm);
}

/* Every DTC, whatever the count: the largest DM1 TP can carry. */
static void test_dm1_max(void **state)
{
    (void)state;
    static uint8_t payload[J1939_TP_MAX_SIZE];
    payload[0] = 0x55;
    payload[1] = 0xFF;
    for (size_t i = 0; i < J1939_DM_MAX_DTC; i++)
        put_dtc(payload + 2 + 4 * i, (uint32_t)(i * 1171u) & 0x7FFFFu, (uint8_t)(1 + i % 31),
                i % 3 == 0, (uint8_t)(i % 127));
    struct j1939_dm1 *dm = dm1_new();
    j1939_dm1_decode(payload, sizeof payload, dm);
    assert_int_equal(dm->n_dtc, J1939_DM_MAX_DTC);
    assert_int_equal(dm->dtc[444].spn, (444u * 1171u) & 0x7FFFFu);
    free(dm);
}

struct bam_catch {
    struct fx *fx;
    j1939_tp_rx *rx;
};

static int to_rx(void *user, const struct can_frame_rec *f)
{
    struct bam_catch *b = user;
    j1939_tp_rx_frame(b->rx, f, f->t_us);
    return 0;
}

/* A DM1 with 20 DTCs (82 bytes, as real trucks send), from the simulator's
 * sender as a BAM through the receiver into the decoder. */
static void test_dm1_20_dtcs_via_bam(void **state)
{
    (void)state;
    uint8_t payload[82];
    payload[0] = 0x01u << 6 | 0x01u << 2; /* MIL and amber on */
    payload[1] = 0xFF;
    for (unsigned i = 0; i < 20; i++)
        put_dtc(payload + 2 + 4 * i, 0xFFFFu + 7u * i, (uint8_t)(i + 1), i == 7, (uint8_t)(i + 1));
    struct bam_catch bc = {.fx = fx_new()};
    bc.rx = fx_rx(bc.fx, NULL);
    struct j1939_tp_tx_config cfg;
    j1939_tp_tx_config_default(&cfg);
    struct j1939_tp_tx_callbacks cb = {.send = to_rx, .user = &bc};
    j1939_tp_tx *tx = j1939_tp_tx_new(&cfg, &cb, NULL, 0);
    assert_non_null(tx);
    assert_int_equal(j1939_tp_tx_start(tx, 0x00, J1939_ADDR_GLOBAL, J1939_PGN_DM1, payload,
                                       sizeof payload, 1000),
                     0);
    for (uint64_t t = 1000; bc.fx->n_msg == 0 && t < 10000000; t += 10000)
        j1939_tp_tx_tick(tx, t);
    assert_int_equal(bc.fx->n_msg, 1);
    const struct j1939_msg *m = &bc.fx->msg[0].m;
    assert_int_equal(m->pgn, J1939_PGN_DM1);
    assert_int_equal(m->len, 82);
    struct j1939_dm1 *dm = dm1_new();
    assert_int_equal(j1939_dm1_decode(m->data, m->len, dm), 0);
    assert_int_equal(dm->lamps.mil, J1939_LAMP_ON);
    assert_int_equal(dm->lamps.amber_warning, J1939_LAMP_ON);
    assert_int_equal(dm->lamps.red_stop, J1939_LAMP_OFF);
    assert_int_equal(dm->n_dtc, 20);
    for (unsigned i = 0; i < 20; i++) {
        assert_int_equal(dm->dtc[i].spn, 0xFFFFu + 7u * i);
        assert_int_equal(dm->dtc[i].fmi, i + 1);
        assert_int_equal(dm->dtc[i].oc, i + 1);
        assert_int_equal(dm->dtc[i].cm, i == 7);
    }
    free(dm);
    j1939_tp_tx_free(tx);
    j1939_tp_rx_free(bc.rx);
    free(bc.fx);
}

static void test_dm5(void **state)
{
    (void)state;
    /* 2 active, 1 previous, HD OBD; misfire+CCM supported, CCM not complete;
     * DPF, SCR, DOC/POC, EGR, boost supported, SCR and EGR not complete. */
    const uint8_t d[8] = {2,    1,   20, 0x05 | 0x40, 0x80 | 0x20, 0x02 | 0x04 | 0x08 | 0x10 | 0xE0,
                          0x80, 0x08};
    struct j1939_dm5 dm;
    j1939_dm5_decode(d, 8, &dm);
    assert_int_equal(dm.active_valid, J1939_VALID);
    assert_int_equal(dm.active_count, 2);
    assert_int_equal(dm.previous_count, 1);
    assert_int_equal(dm.obd_compliance, 20);
    assert_true(dm.is_obd);
    assert_string_equal(j1939_obd_compliance_name(dm.obd_compliance), "HD OBD");
    const struct {
        enum j1939_monitor m;
        enum j1939_readiness r;
    } want[] = {
        {J1939_MON_MISFIRE, J1939_READY_COMPLETE},
        {J1939_MON_FUEL_SYSTEM, J1939_READY_UNSUPPORTED},
        {J1939_MON_COMPREHENSIVE, J1939_READY_NOT_COMPLETE},
        {J1939_MON_CATALYST, J1939_READY_UNSUPPORTED},
        {J1939_MON_EXHAUST_GAS_SENSOR, J1939_READY_COMPLETE},
        {J1939_MON_EGR_VVT, J1939_READY_NOT_COMPLETE},
        {J1939_MON_COLD_START_AID, J1939_READY_UNSUPPORTED},
        {J1939_MON_BOOST_PRESSURE, J1939_READY_COMPLETE},
        {J1939_MON_DPF, J1939_READY_COMPLETE},
        {J1939_MON_NOX_CATALYST, J1939_READY_NOT_COMPLETE},
        {J1939_MON_NMHC_CATALYST, J1939_READY_COMPLETE},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (j1939_dm5_monitor(&dm, want[i].m) != want[i].r)
            fail_msg("%s: %s, want %s", j1939_monitor_name(want[i].m),
                     j1939_readiness_name(j1939_dm5_monitor(&dm, want[i].m)),
                     j1939_readiness_name(want[i].r));
    assert_int_equal(dm.noncontinuous_supported >> 13, 0); /* reserved bits dropped */
    assert_string_equal(j1939_monitor_name(J1939_MON_NOX_CATALYST), "NOx catalyst/adsorber (SCR)");

    /* Not an OBD ECU: nothing is supported, whatever the bits say. */
    uint8_t e[8];
    memcpy(e, d, 8);
    e[2] = 5;
    j1939_dm5_decode(e, 8, &dm);
    assert_false(dm.is_obd);
    assert_int_equal(j1939_dm5_monitor(&dm, J1939_MON_DPF), J1939_READY_UNSUPPORTED);
    /* Not available / error / short: never numbers, monitors unknown. */
    const uint8_t na[8] = {0xFF, 0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
    j1939_dm5_decode(na, 8, &dm);
    assert_int_equal(dm.active_valid, J1939_NOT_AVAILABLE);
    assert_int_equal(dm.previous_valid, J1939_ERROR);
    assert_int_equal(dm.active_count, 0);
    assert_int_equal(dm.compliance_valid, J1939_NOT_AVAILABLE);
    assert_int_equal(j1939_dm5_monitor(&dm, J1939_MON_MISFIRE), J1939_READY_UNKNOWN);
    assert_int_equal(j1939_dm5_monitor(&dm, J1939_MON_DPF), J1939_READY_UNKNOWN);
    j1939_dm5_decode(d, 5, &dm);
    assert_true(dm.continuous_present);
    assert_false(dm.noncontinuous_present);
    j1939_dm5_decode(d, 0, &dm);
    assert_int_equal(dm.active_valid, J1939_MISSING);
    assert_int_equal(dm.compliance_valid, J1939_MISSING);
}

static void test_obd_compliance_names(void **state)
{
    (void)state;
    assert_string_equal(j1939_obd_compliance_name(19), "HD OBD P");
    assert_string_equal(j1939_obd_compliance_name(21), "WWH OBD");
    assert_string_equal(j1939_obd_compliance_name(26), "Euro VI");
    assert_string_equal(j1939_obd_compliance_name(5), "not intended to meet OBD requirements");
    assert_string_equal(j1939_obd_compliance_name(24), "reserved");
    assert_string_equal(j1939_obd_compliance_name(200), "reserved");
    assert_string_equal(j1939_obd_compliance_name(0xFE), "error");
    assert_string_equal(j1939_obd_compliance_name(0xFF), "not available");
    for (unsigned i = 0; i < 256; i++)
        assert_non_null(j1939_obd_compliance_name((uint8_t)i));
}

static void vin(const char *payload, size_t len, enum j1939_validity want, const char *text)
{
    struct j1939_vin v;
    j1939_vin_decode((const uint8_t *)payload, len, &v);
    if (v.validity != want)
        fail_msg("'%.*s': %s, want %s", (int)len, payload, j1939_validity_name(v.validity),
                 j1939_validity_name(want));
    assert_string_equal(v.text, text);
}

static void test_vin(void **state)
{
    (void)state;
    struct j1939_vin v;
    j1939_vin_decode((const uint8_t *)"1M8GDM9AXKP042788*", 18, &v);
    assert_int_equal(v.validity, J1939_VALID);
    assert_true(v.terminated);
    assert_true(v.check_digit_ok);
    j1939_vin_decode((const uint8_t *)"LSVAU2180N2183294*", 18, &v);
    assert_int_equal(v.validity, J1939_VALID); /* the check digit informs, never decides */
    assert_false(v.check_digit_ok);
    vin("LFWADRJF011002346", 17, J1939_VALID, "LFWADRJF011002346"); /* no '*' */
    vin("LFWADRJF011002346  \0*", 21, J1939_VALID, "LFWADRJF011002346");
    vin("LFWADRJF011002346*ABC*", 22, J1939_VALID, "LFWADRJF011002346");
    vin("LFWADRJF01100234*", 17, J1939_ERROR, "LFWADRJF01100234");
    vin("LFWADRJF0110023467*", 19, J1939_ERROR, "LFWADRJF0110023467");
    vin("LFWADRJFO11002346*", 18, J1939_ERROR, "LFWADRJFO11002346"); /* letter O */
    vin("lfwadrjf011002346*", 18, J1939_ERROR, "lfwadrjf011002346");
    vin("LFWADRJF\x01"
        "11002346*",
        18, J1939_ERROR, "LFWADRJF?11002346");
    vin("*", 1, J1939_NOT_AVAILABLE, "");
    vin("\xFF\xFF\xFF\xFF", 4, J1939_NOT_AVAILABLE, "");
    vin("", 0, J1939_MISSING, "");
    char longer[64];
    memset(longer, 'A', sizeof longer);
    j1939_vin_decode((const uint8_t *)longer, sizeof longer, &v);
    assert_int_equal(v.validity, J1939_ERROR);
    assert_int_equal(strlen(v.text), J1939_VIN_TEXT_MAX);
}

static struct j1939_live_value live(uint32_t spn, const uint8_t *d, size_t len)
{
    const struct j1939_spn_def *def = j1939_live_find(NULL, 0, spn);
    assert_non_null(def);
    struct j1939_live_value v;
    j1939_live_value(def, d, len, &v);
    return v;
}

/* Every parameter of standards.md at its byte and scaling. */
static void test_live_values(void **state)
{
    (void)state;
    const struct {
        uint32_t spn;
        uint8_t d[8];
        double want;
    } cases[] = {
        {190, {0xFF, 0xFF, 0xFF, 0xE0, 0x2E, 0xFF, 0xFF, 0xFF}, 1500.0}, /* 12000 x 0.125 */
        {84, {0xFF, 0x00, 0x50, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}, 80.0},    /* 0x5000 / 256 */
        {110, {0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}, -40.0},
        {110, {0xFA, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}, 210.0},
        {183, {0xE8, 0x03, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}, 50.0}, /* 1000 x 0.05 */
        {3216, {0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}, -200.0},
        {3216, {0xA0, 0x0F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}, 0.0},  /* 4000 x 0.05 - 200 */
        {3226, {0x88, 0x13, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}, 50.0}, /* 5000 */
        {1761, {0xFA, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}, 100.0},
        {3251, {0xFF, 0xFF, 0xFF, 0xFF, 0x64, 0x00, 0xFF, 0xFF}, 10.0},
        {132, {0xFF, 0xFF, 0x10, 0x27, 0xFF, 0xFF, 0xFF, 0xFF}, 500.0},    /* 10000 x 0.05 */
        {245, {0xFF, 0xFF, 0xFF, 0xFF, 0x40, 0x42, 0x0F, 0x00}, 125000.0}, /* 1e6 x 0.125 */
        {4360, {0x20, 0x4B, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}, 328.0},   /* 19232/32 - 273 */
        {4363, {0xFF, 0xFF, 0xFF, 0x00, 0x2C, 0xFF, 0xFF, 0xFF}, 79.0},    /* 11264/32 - 273 */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct j1939_live_value v = live(cases[i].spn, cases[i].d, 8);
        if (v.validity != J1939_VALID)
            fail_msg("SPN %u: %s", (unsigned)cases[i].spn, j1939_validity_name(v.validity));
        assert_near(v.value, cases[i].want, 1e-9);
    }
}

/* 0xFE.. error, 0xFF.. not available, reserved ranges, short payloads: the
 * validity says so and the value is never a number. */
static void test_live_not_numbers(void **state)
{
    (void)state;
    size_t n;
    const struct j1939_spn_def *table = j1939_live_defaults(&n);
    assert_true(n >= 12);
    for (size_t i = 0; i < n; i++) {
        const struct j1939_spn_def *def = &table[i];
        uint8_t d[8];
        const struct {
            uint8_t top;
            enum j1939_validity want;
        } marks[] = {{0xFF, J1939_NOT_AVAILABLE},
                     {0xFE, J1939_ERROR},
                     {0xFB, J1939_ERROR},
                     {0xFD, J1939_ERROR}};
        for (size_t k = 0; k < 4; k++) {
            memset(d, 0x00, sizeof d);
            d[def->byte + def->size - 1] = marks[k].top;
            struct j1939_live_value v;
            j1939_live_value(def, d, 8, &v);
            if (v.validity != marks[k].want || v.value != 0.0)
                fail_msg("SPN %u top byte %02X: %s %g", (unsigned)def->spn, marks[k].top,
                         j1939_validity_name(v.validity), v.value);
        }
        /* The largest valid raw value is a number. */
        memset(d, 0xFF, sizeof d);
        d[def->byte + def->size - 1] = 0xFA;
        struct j1939_live_value v;
        j1939_live_value(def, d, 8, &v);
        assert_int_equal(v.validity, J1939_VALID);
        j1939_live_value(def, d, (size_t)def->byte + def->size - 1, &v);
        assert_int_equal(v.validity, J1939_MISSING);
        assert_true(v.value == 0.0);
        assert_non_null(def->name);
        assert_non_null(def->unit);
        assert_true(def->source[0] == 'C' || def->source[0] == 'I' || def->source[0] == 'U');
    }
}

static void test_live_decode_by_pgn(void **state)
{
    (void)state;
    const uint8_t d[8] = {0x20, 0x4B, 0x1F, 0xFF, 0xFF, 0x00, 0xFF, 0xFF};
    struct j1939_live_value out[4];
    size_t got = j1939_live_decode(NULL, 0, J1939_PGN_A1SCREGT1, d, 8, out, 4);
    assert_int_equal(got, 2);
    assert_int_equal(out[0].def->spn, 4360);
    assert_int_equal(out[0].validity, J1939_VALID);
    assert_int_equal(out[1].def->spn, 4363);
    assert_int_equal(out[1].validity, J1939_NOT_AVAILABLE);
    assert_int_equal(j1939_live_decode(NULL, 0, J1939_PGN_A1SCREGT1, d, 8, out, 1), 1);
    assert_int_equal(j1939_live_decode(NULL, 0, 0x1234, d, 8, out, 4), 0);
    /* A caller's own layout for a truck that places the SCR temperatures elsewhere. */
    const struct j1939_spn_def mine[] = {
        {4360, 0xFF00, "SCR in", "°C", 2, 2, 0.03125, -273.0, "U"},
    };
    const uint8_t e[4] = {0xFF, 0xFF, 0x00, 0x2C};
    got = j1939_live_decode(mine, 1, 0xFF00, e, 4, out, 4);
    assert_int_equal(got, 1);
    assert_near(out[0].value, 79.0, 1e-9);
    assert_ptr_equal(j1939_live_find(mine, 1, 4360), &mine[0]);
    assert_null(j1939_live_find(mine, 1, 190));
}

static void test_msg_from_frame(void **state)
{
    (void)state;
    struct can_frame_rec f;
    const uint8_t d[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    j1939_frame_make(&f, 3, J1939_PGN_EEC1, J1939_ADDR_GLOBAL, 0x00, d, 8, 42);
    struct j1939_msg m;
    assert_true(j1939_msg_from_frame(&f, &m));
    assert_int_equal(m.pgn, J1939_PGN_EEC1);
    assert_int_equal(m.len, 8);
    assert_false(m.via_tp);
    assert_int_equal(m.t_us, 42);
    f.len = 200; /* a broken backend: never read past the 8 bytes */
    assert_true(j1939_msg_from_frame(&f, &m));
    assert_int_equal(m.len, 8);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dm1_no_dtc),
        cmocka_unit_test(test_dm1_lamps),
        cmocka_unit_test(test_dm1_dtc_fields),
        cmocka_unit_test(test_dm1_padding_and_trailing),
        cmocka_unit_test(test_dm1_max),
        cmocka_unit_test(test_dm1_20_dtcs_via_bam),
        cmocka_unit_test(test_dm5),
        cmocka_unit_test(test_obd_compliance_names),
        cmocka_unit_test(test_vin),
        cmocka_unit_test(test_live_values),
        cmocka_unit_test(test_live_not_numbers),
        cmocka_unit_test(test_live_decode_by_pgn),
        cmocka_unit_test(test_msg_from_frame),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
