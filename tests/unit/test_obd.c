/* SPDX-License-Identifier: MIT */
/*
 * J1979 decoders (can/obd.h): supported-PID bitmaps, PID 01 monitor status (spark and
 * compression ignition), the live-data table, multi-PID answers, DTCs with the count
 * byte, VIN / CAL ID / CVN / ECU name, negative responses and answer matching.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "isotp_fixture.h"
#include "obd.h"

static size_t hex(const char *text, uint8_t *out)
{
    return fx_bytes(text, out, 4095);
}

static void test_supported_pids(void **state)
{
    (void)state;
    uint8_t m[64];
    struct obd_pid_support s = {0};
    size_t n = hex("41 00 BE 3E B8 11", m);
    assert_int_equal(obd_decode_supported(m, n, &s), 1);
    /* BE = 1011 1110: PIDs 01, 03, 04, 05, 06, 07. */
    static const uint8_t yes[] = {0x00, 0x01, 0x03, 0x04, 0x05, 0x06, 0x07, 0x0B, 0x0C,
                                  0x0D, 0x0E, 0x0F, 0x11, 0x13, 0x14, 0x15, 0x1C, 0x20};
    static const uint8_t no[] = {0x02, 0x08, 0x0A, 0x10, 0x12, 0x1F, 0x21, 0xA6};
    for (size_t i = 0; i < sizeof yes; i++)
        assert_true(obd_pid_supported(&s, yes[i]));
    for (size_t i = 0; i < sizeof no; i++)
        assert_false(obd_pid_supported(&s, no[i]));
    /* Several bitmaps in one (multi-PID) answer, up to A0 with A6 (odometer). */
    n = hex("41 20 80 00 00 01 40 40 00 00 01 A0 04 00 00 00", m);
    assert_int_equal(obd_decode_supported(m, n, &s), 3);
    assert_true(obd_pid_supported(&s, 0x21));
    assert_true(obd_pid_supported(&s, 0x40));
    assert_true(obd_pid_supported(&s, 0x42));
    assert_true(obd_pid_supported(&s, 0x60));
    assert_true(obd_pid_supported(&s, 0xA6));
    assert_int_equal(s.ranges_seen, 0x27); /* 00, 20, 40, A0 */
    /* Service 09 InfoType 00. */
    struct obd_pid_support s9 = {0};
    n = hex("49 00 55 40 00 00", m);
    assert_int_equal(obd_decode_supported(m, n, &s9), 1);
    assert_true(obd_pid_supported(&s9, 0x02));
    assert_true(obd_pid_supported(&s9, 0x04));
    assert_true(obd_pid_supported(&s9, 0x06));
    assert_true(obd_pid_supported(&s9, 0x08));
    assert_true(obd_pid_supported(&s9, 0x0A));
    assert_false(obd_pid_supported(&s9, 0x03));
    /* Not bitmaps. */
    n = hex("41 00 BE 3E", m);
    assert_int_equal(obd_decode_supported(m, n, &s), OBD_EMALFORMED);
    n = hex("43 00", m);
    assert_int_equal(obd_decode_supported(m, n, &s), OBD_EMISMATCH);
    n = hex("41 0D 32", m);
    assert_int_equal(obd_decode_supported(m, n, &s), OBD_EMALFORMED);
}

struct pid_case {
    const char *msg;
    uint8_t pid;
    const char *name;
    const char *unit;
    double value;
};

static const struct pid_case pid_cases[] = {
    {"41 04 FF", 0x04, "calculated engine load", "%", 100.0},
    {"41 04 80", 0x04, "calculated engine load", "%", 50.19607843},
    {"41 05 7B", 0x05, "engine coolant temperature", "°C", 83},
    {"41 05 00", 0x05, "engine coolant temperature", "°C", -40},
    {"41 0C 1A F8", 0x0C, "engine speed", "rpm", 1726},
    {"41 0C FF FF", 0x0C, "engine speed", "rpm", 16383.75},
    {"41 0D 32", 0x0D, "vehicle speed", "km/h", 50},
    {"41 10 01 F4", 0x10, "MAF air flow rate", "g/s", 5.0},
    {"41 1F 01 2C", 0x1F, "run time since engine start", "s", 300},
    {"41 21 00 0A", 0x21, "distance travelled with MIL on", "km", 10},
    {"41 31 13 88", 0x31, "distance travelled since DTCs cleared", "km", 5000},
    {"41 5E 00 C8", 0x5E, "engine fuel rate", "L/h", 10.0},
    {"41 5E FF FF", 0x5E, "engine fuel rate", "L/h", 3276.75},
    {"41 A6 00 01 E2 40", 0xA6, "odometer", "km", 12345.6},
};

static void test_live_pid_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof pid_cases / sizeof pid_cases[0]; i++) {
        const struct pid_case *c = &pid_cases[i];
        uint8_t m[16];
        size_t n = hex(c->msg, m);
        struct obd_value v[6];
        assert_int_equal(obd_decode_mode01(m, n, v, 6), 1);
        assert_int_equal(v[0].pid, c->pid);
        assert_int_equal(v[0].status, OBD_VALUE_OK);
        assert_int_equal(v[0].kind, OBD_KIND_NUMBER);
        assert_string_equal(v[0].name, c->name);
        assert_string_equal(v[0].unit, c->unit);
        assert_float_equal(v[0].value, c->value, 1e-6);
    }
}

static void test_pid_short_and_unknown(void **state)
{
    (void)state;
    struct obd_value v;
    const uint8_t d[2] = {0x1A, 0xF8};
    assert_int_equal(obd_decode_pid(0x0C, d, 1, &v), OBD_OK);
    assert_int_equal(v.status, OBD_VALUE_SHORT);
    assert_string_equal(v.name, "engine speed");
    assert_int_equal(obd_decode_pid(0x99, d, 2, &v), OBD_OK);
    assert_int_equal(v.status, OBD_VALUE_UNKNOWN_PID);
    assert_string_equal(v.name, "unknown PID");
    assert_null(obd_pid_find(0x99));
    assert_int_equal(obd_pid_find(0xA6)->len, 4);
    assert_int_equal(obd_decode_pid(0x0C, NULL, 2, &v), OBD_EINVAL);
}

static void test_multi_pid_answer(void **state)
{
    (void)state;
    uint8_t m[32];
    struct obd_value v[6];
    size_t n = hex("41 0C 1A F8 0D 32 05 7B 31 13 88", m);
    assert_int_equal(obd_decode_mode01(m, n, v, 6), 4);
    assert_float_equal(v[0].value, 1726, 1e-9);
    assert_float_equal(v[1].value, 50, 1e-9);
    assert_float_equal(v[2].value, 83, 1e-9);
    assert_float_equal(v[3].value, 5000, 1e-9);
    /* An unknown PID ends the parse: its length is unknown. */
    n = hex("41 0D 32 99 01 02 05 7B", m);
    assert_int_equal(obd_decode_mode01(m, n, v, 6), 2);
    assert_int_equal(v[1].status, OBD_VALUE_UNKNOWN_PID);
    /* A cut-short last PID. */
    n = hex("41 0D 32 0C 1A", m);
    assert_int_equal(obd_decode_mode01(m, n, v, 6), 2);
    assert_int_equal(v[1].status, OBD_VALUE_SHORT);
    /* Room for fewer values than sent. */
    n = hex("41 0C 1A F8 0D 32 05 7B", m);
    assert_int_equal(obd_decode_mode01(m, n, v, 2), 2);
    n = hex("43 00", m);
    assert_int_equal(obd_decode_mode01(m, n, v, 6), OBD_EMISMATCH);
    n = hex("41", m);
    assert_int_equal(obd_decode_mode01(m, n, v, 6), OBD_EMALFORMED);
}

static void assert_monitor(const struct obd_monitor_status *st, const char *name, bool cont,
                           bool supported, bool ready)
{
    const struct obd_monitor *m = obd_monitor_find(st, name);
    if (!m)
        fail_msg("no monitor '%s'", name);
    assert_int_equal(m->continuous, cont);
    assert_int_equal(m->supported, supported);
    assert_int_equal(m->ready, ready);
}

static void test_monitor_status_spark(void **state)
{
    (void)state;
    /* A: MIL on, 3 DTCs. B: misfire + fuel + components supported, fuel not ready.
     * C: catalyst, evap, O2 sensor, O2 heater, EGR supported; D: catalyst, O2 not ready. */
    const uint8_t d[4] = {0x83, 0x27, 0xE5, 0x21};
    struct obd_monitor_status st;
    assert_int_equal(obd_decode_monitor_status(d, 4, &st), OBD_OK);
    assert_true(st.mil_on);
    assert_int_equal(st.dtc_count, 3);
    assert_false(st.compression_ignition);
    assert_int_equal(st.n, 11);
    assert_monitor(&st, "misfire", true, true, true);
    assert_monitor(&st, "fuel system", true, true, false);
    assert_monitor(&st, "comprehensive components", true, true, true);
    assert_monitor(&st, "catalyst", false, true, false);
    assert_monitor(&st, "heated catalyst", false, false, true);
    assert_monitor(&st, "evaporative system", false, true, true);
    assert_monitor(&st, "oxygen sensor", false, true, false);
    assert_monitor(&st, "oxygen sensor heater", false, true, true);
    assert_monitor(&st, "EGR and/or VVT system", false, true, true);
    assert_null(obd_monitor_find(&st, "PM filter"));
    assert_int_equal(st.reserved_bits, 0);
}

static void test_monitor_status_diesel(void **state)
{
    (void)state;
    /* A: MIL off, 0 DTCs. B: CI bit, 3 continuous supported, CCM not ready.
     * C: NMHC, NOx/SCR, boost, exhaust gas sensor, PM filter, EGR supported (0xEB);
     * D: NOx/SCR and PM filter not ready (0x42). */
    const uint8_t d[4] = {0x00, 0x4F, 0xEB, 0x42};
    struct obd_monitor_status st;
    assert_int_equal(obd_decode_monitor_status(d, 4, &st), OBD_OK);
    assert_false(st.mil_on);
    assert_int_equal(st.dtc_count, 0);
    assert_true(st.compression_ignition);
    assert_int_equal(st.n, 9);
    assert_monitor(&st, "comprehensive components", true, true, false);
    assert_monitor(&st, "NMHC catalyst", false, true, true);
    assert_monitor(&st, "NOx/SCR aftertreatment", false, true, false);
    assert_monitor(&st, "boost pressure", false, true, true);
    assert_monitor(&st, "exhaust gas sensor", false, true, true);
    assert_monitor(&st, "PM filter", false, true, false);
    assert_monitor(&st, "EGR and/or VVT system", false, true, true);
    /* The spark meanings are not there for a diesel. */
    assert_null(obd_monitor_find(&st, "catalyst"));
    assert_null(obd_monitor_find(&st, "evaporative system"));
    /* Reserved diesel bits (2, 4) set by an ECU are reported, not named. */
    const uint8_t r[4] = {0x00, 0x08, 0x14, 0x00};
    assert_int_equal(obd_decode_monitor_status(r, 4, &st), OBD_OK);
    assert_int_equal(st.reserved_bits, 0x14);
    assert_int_equal(obd_decode_monitor_status(r, 3, &st), OBD_EMALFORMED);
    /* Through the multi-PID decoder, PID 01 is a status. */
    uint8_t m[8];
    size_t n = hex("41 01 81 0F EB 42", m);
    struct obd_value v[2];
    assert_int_equal(obd_decode_mode01(m, n, v, 2), 1);
    assert_int_equal(v[0].kind, OBD_KIND_STATUS);
    assert_int_equal(v[0].raw, 0x810FEB42);
}

static void test_dtc_format(void **state)
{
    (void)state;
    char s[6];
    obd_dtc_format(0x0123, s);
    assert_string_equal(s, "P0123");
    obd_dtc_format(0x4123, s);
    assert_string_equal(s, "C0123");
    obd_dtc_format(0x8100, s);
    assert_string_equal(s, "B0100");
    obd_dtc_format(0xC345, s);
    assert_string_equal(s, "U0345");
    obd_dtc_format(0x3FFF, s);
    assert_string_equal(s, "P3FFF");
    obd_dtc_format(0x2ABC, s);
    assert_string_equal(s, "P2ABC");
}

static void test_dtcs_with_count_byte(void **state)
{
    (void)state;
    uint8_t m[600];
    struct obd_dtc_list *l = calloc(1, sizeof *l);
    char err[128] = "";
    size_t n = hex("43 00", m);
    assert_int_equal(obd_decode_dtcs(m, n, l, err, sizeof err), 0);
    assert_false(l->count_mismatch);

    n = hex("43 01 01 23", m);
    assert_int_equal(obd_decode_dtcs(m, n, l, err, sizeof err), 1);
    assert_string_equal(l->dtc[0].code, "P0123");
    assert_int_equal(l->dtc[0].raw, 0x0123);

    /* python-OBD reads the count byte as half a DTC; the pairs come after it. */
    n = hex("43 02 01 04 80 03", m);
    assert_int_equal(obd_decode_dtcs(m, n, l, err, sizeof err), 2);
    assert_string_equal(l->dtc[0].code, "P0104");
    assert_string_equal(l->dtc[1].code, "B0003");

    n = hex("43 03 41 23 81 00 C3 45", m);
    assert_int_equal(obd_decode_dtcs(m, n, l, err, sizeof err), 3);
    assert_string_equal(l->dtc[0].code, "C0123");
    assert_string_equal(l->dtc[1].code, "B0100");
    assert_string_equal(l->dtc[2].code, "U0345");
    assert_int_equal(l->sid, 0x43);
    assert_int_equal(l->count_byte, 3);

    /* Pending and permanent DTCs have the same shape. */
    n = hex("47 01 02 20", m);
    assert_int_equal(obd_decode_dtcs(m, n, l, err, sizeof err), 1);
    assert_string_equal(l->dtc[0].code, "P0220");
    n = hex("4A 01 24 63", m);
    assert_int_equal(obd_decode_dtcs(m, n, l, err, sizeof err), 1);
    assert_string_equal(l->dtc[0].code, "P2463");

    /* Many: 200 codes in one (segmented) answer. */
    m[0] = 0x43;
    m[1] = 200;
    for (unsigned i = 0; i < 200; i++) {
        m[2 + 2 * i] = (uint8_t)(i >> 8 | 0x20);
        m[3 + 2 * i] = (uint8_t)i;
    }
    assert_int_equal(obd_decode_dtcs(m, 402, l, err, sizeof err), 200);
    assert_string_equal(l->dtc[199].code, "P20C7");
    assert_false(l->count_mismatch);
    free(l);
}

static void test_dtcs_count_disagrees(void **state)
{
    (void)state;
    uint8_t m[64];
    struct obd_dtc_list *l = calloc(1, sizeof *l);
    char err[128] = "";
    /* More announced than sent: what is there is decoded, and said. */
    size_t n = hex("43 05 01 23", m);
    assert_int_equal(obd_decode_dtcs(m, n, l, err, sizeof err), 1);
    assert_true(l->count_mismatch);
    assert_string_equal(err, "ECU announced 5 DTCs but sent 2 bytes of codes");
    /* Fewer announced than sent: only the announced ones. */
    n = hex("43 01 01 23 02 34", m);
    assert_int_equal(obd_decode_dtcs(m, n, l, err, sizeof err), 1);
    assert_true(l->count_mismatch);
    /* An odd trailing byte. */
    n = hex("43 01 01 23 02", m);
    assert_int_equal(obd_decode_dtcs(m, n, l, err, sizeof err), 1);
    assert_true(l->count_mismatch);
    /* 0000 fillers are not faults. */
    n = hex("43 03 01 23 00 00 00 00", m);
    assert_int_equal(obd_decode_dtcs(m, n, l, err, sizeof err), 1);
    assert_int_equal(l->zero_skipped, 2);
    /* Not DTC answers. */
    n = hex("43", m);
    assert_int_equal(obd_decode_dtcs(m, n, l, err, sizeof err), OBD_EMALFORMED);
    n = hex("41 00 BE 3E B8 11", m);
    assert_int_equal(obd_decode_dtcs(m, n, l, err, sizeof err), OBD_EMISMATCH);
    assert_int_equal(obd_decode_dtcs(NULL, 2, l, err, sizeof err), OBD_EINVAL);
    free(l);
}

static size_t vin_answer(const char *prefix, const char *vin, uint8_t *m)
{
    size_t n = hex(prefix, m);
    memcpy(m + n, vin, strlen(vin));
    return n + strlen(vin);
}

static void test_vin(void **state)
{
    (void)state;
    uint8_t m[64];
    char vin[18], err[128] = "";
    size_t n = vin_answer("49 02 01", "LFV2A21K0A3045631", m);
    assert_int_equal(obd_decode_vin(m, n, vin, err, sizeof err), OBD_OK);
    assert_string_equal(vin, "LFV2A21K0A3045631");
    /* Without the NODI byte. */
    n = vin_answer("49 02", "LFV2A21K0A3045631", m);
    assert_int_equal(obd_decode_vin(m, n, vin, err, sizeof err), OBD_OK);
    assert_string_equal(vin, "LFV2A21K0A3045631");
    /* Leading NUL padding and trailing NULs. */
    n = vin_answer("49 02 01 00 00 00", "LFV2A21K0A3045631", m);
    m[n++] = 0;
    assert_int_equal(obd_decode_vin(m, n, vin, err, sizeof err), OBD_OK);
    assert_string_equal(vin, "LFV2A21K0A3045631");
    /* Wrong: too short, a forbidden letter, a control byte. */
    n = vin_answer("49 02 01", "LFV2A21K0A304563", m);
    assert_int_equal(obd_decode_vin(m, n, vin, err, sizeof err), OBD_EMALFORMED);
    assert_string_equal(err, "VIN has 16 characters, not 17");
    assert_string_equal(vin, "LFV2A21K0A304563");
    n = vin_answer("49 02 01", "LFV2A21KOA3045631", m);
    assert_int_equal(obd_decode_vin(m, n, vin, err, sizeof err), OBD_EMALFORMED);
    assert_string_equal(err, "VIN character 9 (0x4F) is not allowed by ISO 3779");
    n = vin_answer("49 02 01", "LFV2A21K0A3045631", m);
    m[5] = 0x07;
    assert_int_equal(obd_decode_vin(m, n, vin, err, sizeof err), OBD_EMALFORMED);
    assert_string_equal(vin, "LF?2A21K0A3045631");
    n = hex("49 04 01", m);
    assert_int_equal(obd_decode_vin(m, n, vin, err, sizeof err), OBD_EMISMATCH);
    n = hex("49 02 01", m);
    assert_int_equal(obd_decode_vin(m, n, vin, err, sizeof err), OBD_EMALFORMED);
    assert_string_equal(vin, "");
}

static void test_calibration_ids_and_cvns(void **state)
{
    (void)state;
    uint8_t m[128];
    char err[128] = "";
    struct obd_calid_list cal;
    size_t n = hex("49 04 02", m);
    memcpy(m + n, "JMB*36761500\0\0\0\0", 16);
    memcpy(m + n + 16, "P5BF0000SCR01V02", 16);
    n += 32;
    assert_int_equal(obd_decode_calids(m, n, &cal, err, sizeof err), 2);
    assert_string_equal(cal.id[0], "JMB*36761500");
    assert_string_equal(cal.id[1], "P5BF0000SCR01V02");
    assert_false(cal.count_mismatch);
    /* Count says 3, two are there. */
    m[2] = 3;
    assert_int_equal(obd_decode_calids(m, n, &cal, err, sizeof err), 2);
    assert_true(cal.count_mismatch);
    /* Control bytes inside become '?'. */
    m[2] = 2;
    m[5] = 0x01;
    assert_int_equal(obd_decode_calids(m, n, &cal, err, sizeof err), 2);
    assert_string_equal(cal.id[0], "JM?*36761500");

    struct obd_cvn_list cvn;
    n = hex("49 06 02 17 91 BC 82 16 E0 62 BE", m);
    assert_int_equal(obd_decode_cvns(m, n, &cvn, err, sizeof err), 2);
    assert_string_equal(cvn.hex[0], "1791BC82");
    assert_string_equal(cvn.hex[1], "16E062BE");
    assert_int_equal(cvn.cvn[1], 0x16E062BEu);
    n = hex("49 06 02 17 91 BC 82 16 E0", m);
    assert_int_equal(obd_decode_cvns(m, n, &cvn, err, sizeof err), 1);
    assert_true(cvn.count_mismatch);
    n = hex("49 06", m);
    assert_int_equal(obd_decode_cvns(m, n, &cvn, err, sizeof err), OBD_EMALFORMED);
    n = hex("49 04 00", m);
    assert_int_equal(obd_decode_cvns(m, n, &cvn, err, sizeof err), OBD_EMISMATCH);

    /* More items than kept: truncated, bounded. */
    static uint8_t big[3 + 40 * 4];
    big[0] = 0x49;
    big[1] = 0x06;
    big[2] = 40;
    assert_int_equal(obd_decode_cvns(big, sizeof big, &cvn, err, sizeof err), OBD_MAX_INFO_ITEMS);
    assert_true(cvn.truncated);
}

static void test_ecu_name(void **state)
{
    (void)state;
    uint8_t m[32];
    char name[21], err[128] = "";
    size_t n = hex("49 0A 01", m);
    memcpy(m + n, "ECM-EngineControl\0\0\0", 20);
    n += 20;
    assert_int_equal(obd_decode_ecu_name(m, n, name, err, sizeof err), OBD_OK);
    assert_string_equal(name, "ECM-EngineControl");
    assert_int_equal(obd_decode_ecu_name(m, n - 2, name, err, sizeof err), OBD_EMALFORMED);
    assert_string_equal(name, "ECM-EngineControl");
    n = hex("49 0A 01", m);
    assert_int_equal(obd_decode_ecu_name(m, n, name, err, sizeof err), OBD_EMALFORMED);
}

static void test_negative_responses_and_matching(void **state)
{
    (void)state;
    assert_string_equal(obd_nrc_name(0x11), "serviceNotSupported");
    assert_string_equal(obd_nrc_name(0x12), "subFunctionNotSupported-invalidFormat");
    assert_string_equal(obd_nrc_name(0x22), "conditionsNotCorrect");
    assert_string_equal(obd_nrc_name(0x31), "requestOutOfRange");
    assert_string_equal(obd_nrc_name(0x78), "requestCorrectlyReceived-ResponsePending");
    assert_string_equal(obd_nrc_name(0x99), "unknown NRC");
    assert_string_equal(obd_service_name(0x09), "vehicle information");
    assert_string_equal(obd_strerror(OBD_ENEGATIVE), "negative response");

    uint8_t req[8], m[16], nrc = 0;
    size_t rn = hex("09 02", req), n;
    n = hex("7F 09 31", m);
    assert_int_equal(obd_classify(req, rn, m, n, &nrc), 0);
    assert_int_equal(nrc, 0x31);
    n = hex("7F 01 31", m); /* about another service */
    assert_int_equal(obd_classify(req, rn, m, n, &nrc), OBD_EMISMATCH);
    n = hex("7F 09", m);
    assert_int_equal(obd_classify(req, rn, m, n, &nrc), OBD_EMISMATCH);
    n = hex("49 02 01 4C", m);
    assert_int_equal(obd_classify(req, rn, m, n, &nrc), 1);
    n = hex("49 04 01 4C", m); /* another InfoType */
    assert_int_equal(obd_classify(req, rn, m, n, &nrc), OBD_EMISMATCH);
    /* A multi-PID request is answered by the PIDs an ECU supports, in any of them. */
    rn = hex("01 0C 0D 05", req);
    n = hex("41 0D 32 05 7B", m);
    assert_int_equal(obd_classify(req, rn, m, n, &nrc), 1);
    n = hex("41 10 00 00", m);
    assert_int_equal(obd_classify(req, rn, m, n, &nrc), OBD_EMISMATCH);
    /* Services without a PID. */
    rn = hex("03", req);
    n = hex("43 00", m);
    assert_int_equal(obd_classify(req, rn, m, n, &nrc), 1);
    n = hex("47 00", m);
    assert_int_equal(obd_classify(req, rn, m, n, &nrc), OBD_EMISMATCH);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_supported_pids),
        cmocka_unit_test(test_live_pid_table),
        cmocka_unit_test(test_pid_short_and_unknown),
        cmocka_unit_test(test_multi_pid_answer),
        cmocka_unit_test(test_monitor_status_spark),
        cmocka_unit_test(test_monitor_status_diesel),
        cmocka_unit_test(test_dtc_format),
        cmocka_unit_test(test_dtcs_with_count_byte),
        cmocka_unit_test(test_dtcs_count_disagrees),
        cmocka_unit_test(test_vin),
        cmocka_unit_test(test_calibration_ids_and_cvns),
        cmocka_unit_test(test_ecu_name),
        cmocka_unit_test(test_negative_responses_and_matching),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
