/* SPDX-License-Identifier: MIT */
/*
 * obdread against scripted vehicles on the virtual bus: a J1939 truck (MIL on, three
 * DTCs by BAM, VI by RTS/CTS, DM5, VD, EEC1), an ISO 15765-4 11-bit car with two ECUs,
 * a silent bus (no answer in time) and a bus full of error frames (interface error).
 * The ECUs are written here on j1939_tp_tx and isotp_link; a fake clock drives both.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "canbus.h"
#include "isotp.h"
#include "j1939.h"
#include "obdread.h"

#define MS 1000u

/* ---- a J1939 truck ---------------------------------------------------------------- */

struct truck {
    canbus *bus;
    j1939_tp_tx *tp;
    uint64_t next_eec1, next_dm1;
    bool answer_requests;
    unsigned requests_seen;
};

static int truck_send(void *user, const struct can_frame_rec *f)
{
    struct truck *t = user;
    return canbus_send(t->bus, f) == CANBUS_OK ? 0 : -1;
}

static const uint8_t dm1_payload[14] = {
    /* lamps: MIL on (bits 7-6 = 01), others off; flash none */
    0x40,
    0xFF,
    /* SPN 3226 FMI 2 OC 3; SPN 1761 FMI 1 OC 1; SPN 3251 FMI 0 OC 5 */
    (uint8_t)(3226 & 0xFF),
    (uint8_t)(3226 >> 8),
    (uint8_t)(((3226 >> 16) << 5) | 2),
    3,
    (uint8_t)(1761 & 0xFF),
    (uint8_t)(1761 >> 8),
    (uint8_t)(((1761 >> 16) << 5) | 1),
    1,
    (uint8_t)(3251 & 0xFF),
    (uint8_t)(3251 >> 8),
    (uint8_t)(((3251 >> 16) << 5) | 0),
    5,
};

static void truck_tick(struct truck *t, uint64_t now)
{
    struct can_frame_rec f;
    if (now >= t->next_eec1) {
        uint8_t eec1[8] = {0xF0, 0x7D, 0x7D, 0x80, 0x3E, 0x00, 0xF0, 0x7D}; /* 2000 rpm */
        j1939_frame_make(&f, 3, J1939_PGN_EEC1, J1939_ADDR_GLOBAL, 0x00, eec1, 8, now);
        truck_send(t, &f);
        t->next_eec1 = now + 100 * MS;
    }
    if (now >= t->next_dm1) {
        j1939_tp_tx_start(t->tp, 0x00, J1939_ADDR_GLOBAL, J1939_PGN_DM1, dm1_payload,
                          sizeof dm1_payload, now);
        t->next_dm1 = now + 1000 * MS;
    }
    j1939_tp_tx_tick(t->tp, now);
    while (canbus_recv(t->bus, &f) == CANBUS_OK) {
        if (j1939_tp_tx_frame(t->tp, &f, now) == 1)
            continue;
        struct j1939_id id;
        uint32_t pgn;
        if (!j1939_request_parse(&f, &id, &pgn) || (id.da != 0x00 && id.da != J1939_ADDR_GLOBAL))
            continue;
        t->requests_seen++;
        if (!t->answer_requests)
            continue;
        if (pgn == J1939_PGN_ADDRESS_CLAIMED) {
            j1939_address_claimed_make(&f, 0x0000000000AB0001ull, 0x00, now);
            truck_send(t, &f);
        } else if (pgn == J1939_PGN_VI) {
            static const char vin[] = "LFWADRJF7K1234567*";
            j1939_tp_tx_start(t->tp, 0x00, id.sa, J1939_PGN_VI, (const uint8_t *)vin,
                              sizeof vin - 1, now);
        } else if (pgn == J1939_PGN_DM5) {
            /* OBD (compliance 0x13), continuous complete, DPF + SCR supported, DPF not
             * complete. */
            uint8_t dm5[8] = {3, 0, 0x13, 0x07, 0x00, 0x0C, 0x00, 0x04};
            j1939_frame_make(&f, 6, J1939_PGN_DM5, J1939_ADDR_GLOBAL, 0x00, dm5, 8, now);
            truck_send(t, &f);
        } else if (pgn == J1939_PGN_VD) {
            uint32_t raw = 1234567 * 8; /* 1234567 km at 0.125 km/bit */
            uint8_t vd[8] = {0xFF,
                             0xFF,
                             0xFF,
                             0xFF,
                             (uint8_t)raw,
                             (uint8_t)(raw >> 8),
                             (uint8_t)(raw >> 16),
                             (uint8_t)(raw >> 24)};
            j1939_frame_make(&f, 6, J1939_PGN_VD, J1939_ADDR_GLOBAL, 0x00, vd, 8, now);
            truck_send(t, &f);
        }
    }
}

/* ---- an ISO 15765-4 11-bit car with two ECUs -------------------------------------- */

struct car_ecu {
    canbus *bus;
    isotp_link *link;
    int idx; /* 0 engine, 1 transmission */
    uint64_t now;
};

struct car {
    canbus *bus;
    struct car_ecu ecu[2];
};

static int car_send(void *ctx, const struct can_frame_rec *f)
{
    struct car_ecu *e = ctx;
    return canbus_send(e->bus, f) == CANBUS_OK ? ISOTP_SEND_DONE : -1;
}

static void answer(struct car_ecu *e, const uint8_t *msg, size_t len)
{
    assert_int_equal(isotp_link_send(e->link, msg, len, e->now), 0);
}

static void car_request(struct car_ecu *e, const uint8_t *req, size_t len)
{
    if (len < 1)
        return;
    uint8_t pid = len > 1 ? req[1] : 0;
    if (req[0] == 0x01 && pid == 0x00) {
        static const uint8_t eng[] = {0x41, 0x00, 0x98, 0x18, 0x00, 0x00};
        static const uint8_t tcm[] = {0x41, 0x00, 0x80, 0x00, 0x00, 0x00};
        answer(e, e->idx == 0 ? eng : tcm, 6);
    } else if (req[0] == 0x01 && pid == 0x01) {
        /* engine: MIL on, 2 DTCs, diesel, continuous supported and complete; PM filter
         * and NOx/SCR supported, PM filter not complete. tcm: MIL off, nothing. */
        static const uint8_t eng[] = {0x41, 0x01, 0x82, 0x0F, 0x42, 0x40};
        static const uint8_t tcm[] = {0x41, 0x01, 0x01, 0x00, 0x00, 0x00};
        answer(e, e->idx == 0 ? eng : tcm, 6);
    } else if (req[0] == 0x03) {
        static const uint8_t eng[] = {0x43, 0x02, 0x01, 0x33, 0x04, 0x20};
        static const uint8_t tcm[] = {0x43, 0x01, 0x07, 0x00};
        answer(e, e->idx == 0 ? eng : tcm, e->idx == 0 ? 6 : 4);
    } else if (req[0] == 0x09 && pid == 0x02 && e->idx == 0) {
        uint8_t m[20] = {0x49, 0x02, 0x01};
        memcpy(m + 3, "LSVAU2180N2183294", 17);
        answer(e, m, sizeof m);
    } else if (req[0] == 0x09 && pid == 0x04) {
        uint8_t m[19] = {0x49, 0x04, 0x01};
        memcpy(m + 3, e->idx == 0 ? "ECM-CAL-0042" : "TCM-CAL-7", e->idx == 0 ? 12 : 9);
        answer(e, m, sizeof m);
    } else if (req[0] == 0x09 && pid == 0x06) {
        uint8_t m[7] = {0x49, 0x06, 0x01, 0x1A, 0x2B, 0x3C, (uint8_t)(0x4D + e->idx)};
        answer(e, m, sizeof m);
    } else if (req[0] == 0x01 && pid == 0xA6 && e->idx == 0) {
        static const uint8_t m[] = {0x41, 0xA6, 0x00, 0x01, 0xE2, 0x40}; /* 123456 -> 12345.6 */
        answer(e, m, sizeof m);
    } else if (req[0] == 0x01 && pid == 0x0C && e->idx == 0) {
        static const uint8_t m[] = {0x41, 0x0C, 0x1A, 0xF8}; /* 1726 rpm */
        answer(e, m, sizeof m);
    } else if (req[0] == 0x01 && pid == 0x0D && e->idx == 0) {
        static const uint8_t m[] = {0x41, 0x0D, 0x32};
        answer(e, m, sizeof m);
    } else if (req[0] == 0x01 && pid == 0x05 && e->idx == 0) {
        static const uint8_t m[] = {0x41, 0x05, 0x5A};
        answer(e, m, sizeof m);
    } else if (req[0] == 0x01 && pid == 0x04 && e->idx == 0) {
        static const uint8_t m[] = {0x41, 0x04, 0x80};
        answer(e, m, sizeof m);
    }
}

static void car_event(void *ctx, const struct isotp_event *ev)
{
    if (ev->kind == ISOTP_EV_RX_DONE)
        car_request(ctx, ev->data, ev->len);
}

static void car_init_ids(struct car *c, canbus *bus, bool ext)
{
    c->bus = bus;
    for (int i = 0; i < 2; i++) {
        /* 29-bit: ECUs at source addresses 0x00 and 0x3D, tester 0xF1 */
        uint32_t sa = i == 0 ? 0x00u : 0x3Du;
        struct isotp_link_config lc = {
            .tx_id = ext ? (CAN_FRAME_EFF | 0x18DAF100u | sa) : 0x7E8u + (uint32_t)i,
            .rx_id = ext ? (CAN_FRAME_EFF | 0x18DA00F1u | sa << 8) : 0x7E0u + (uint32_t)i,
            .functional = true,
            .func_id = ext ? (CAN_FRAME_EFF | 0x18DB33F1u) : 0x7DF,
        };
        isotp_params_obd(&lc.params);
        struct isotp_io io = {.send = car_send, .on_event = car_event, .ctx = &c->ecu[i]};
        c->ecu[i].idx = i;
        c->ecu[i].bus = bus;
        char err[128];
        c->ecu[i].link = isotp_link_new(&lc, &io, err, sizeof err);
        assert_non_null(c->ecu[i].link);
    }
}

static void car_init(struct car *c, canbus *bus)
{
    car_init_ids(c, bus, false);
}

static void car_tick(struct car *c, uint64_t now)
{
    struct can_frame_rec f;
    for (int i = 0; i < 2; i++) {
        c->ecu[i].now = now;
        isotp_link_poll(c->ecu[i].link, now);
    }
    while (canbus_recv(c->bus, &f) == CANBUS_OK)
        for (int i = 0; i < 2; i++)
            isotp_link_on_frame(c->ecu[i].link, &f, now);
}

/* ---- the harness ------------------------------------------------------------------ */

struct rig {
    canbus_virtual *vb;
    canbus *reader_bus, *vehicle_bus;
    obdread *r;
};

static void rig_init(struct rig *g, const struct obdread_opts *o)
{
    char err[256];
    g->vb = canbus_virtual_new(0, err, sizeof err);
    assert_non_null(g->vb);
    g->reader_bus = canbus_virtual_endpoint(g->vb, "gw", err, sizeof err);
    g->vehicle_bus = canbus_virtual_endpoint(g->vb, "vehicle", err, sizeof err);
    assert_non_null(g->reader_bus);
    assert_non_null(g->vehicle_bus);
    g->r = obdread_new(g->reader_bus, o, err, sizeof err);
    assert_non_null(g->r);
}

static void rig_free(struct rig *g)
{
    obdread_free(g->r);
    canbus_close(g->reader_bus);
    canbus_close(g->vehicle_bus);
    canbus_virtual_free(g->vb);
}

/* Runs the reader from t = 1 s until it is done (1 ms steps); returns the end time. */
static uint64_t rig_run(struct rig *g, void (*vehicle)(void *, uint64_t), void *v,
                        uint64_t limit_us)
{
    uint64_t now = 1000 * MS;
    obdread_start(g->r, now);
    for (; now < limit_us; now += MS) {
        if (vehicle)
            vehicle(v, now);
        struct can_frame_rec f;
        while (canbus_recv(g->reader_bus, &f) == CANBUS_OK)
            obdread_on_frame(g->r, &f, now);
        if (obdread_poll(g->r, now) == 0)
            return now;
    }
    fail_msg("the reader did not finish by %llu us", (unsigned long long)limit_us);
    return now;
}

static void truck_step(void *v, uint64_t now)
{
    truck_tick(v, now);
}

static void car_step(void *v, uint64_t now)
{
    car_tick(v, now);
}

static bool has_readiness(const struct obdread_report *rep, const char *name)
{
    for (size_t i = 0; i < rep->n_readiness_incomplete; i++)
        if (strcmp(rep->readiness_incomplete[i], name) == 0)
            return true;
    return false;
}

static const struct obdread_dtc *find_dtc(const struct obdread_report *rep, const char *code)
{
    for (size_t i = 0; i < rep->n_dtcs; i++)
        if (strcmp(rep->dtcs[i].code, code) == 0)
            return &rep->dtcs[i];
    return NULL;
}

static const struct obdread_live *find_live(const struct obdread_report *rep, const char *name)
{
    for (size_t i = 0; i < rep->n_live; i++)
        if (strcmp(rep->live[i].name, name) == 0)
            return &rep->live[i];
    return NULL;
}

/* ---- tests ------------------------------------------------------------------------ */

static void test_j1939_truck(void **state)
{
    (void)state;
    struct rig g;
    rig_init(&g, NULL);
    struct truck t = {.bus = g.vehicle_bus, .answer_requests = true};
    struct j1939_tp_tx_config tc;
    j1939_tp_tx_config_default(&tc);
    struct j1939_tp_tx_callbacks cb = {.send = truck_send, .user = &t};
    char err[128];
    t.tp = j1939_tp_tx_new(&tc, &cb, err, sizeof err);
    assert_non_null(t.tp);

    rig_run(&g, truck_step, &t, 20000 * MS);
    const struct obdread_report *rep = obdread_report(g.r);
    assert_int_equal(rep->comm, OBDREAD_COMM_OK);
    assert_int_equal(rep->protocol, OBDREAD_PROTO_J1939);
    assert_int_equal(rep->mil, OBDREAD_MIL_ON);
    assert_int_equal(rep->n_dtcs, 3);
    const struct obdread_dtc *d = find_dtc(rep, "SPN 3226 FMI 2");
    assert_non_null(d);
    assert_int_equal(d->spn, 3226);
    assert_int_equal(d->fmi, 2);
    assert_int_equal(d->oc, 3);
    assert_int_equal(d->ecu, 0x00);
    assert_true(d->mil_on);
    assert_non_null(find_dtc(rep, "SPN 1761 FMI 1"));
    assert_non_null(find_dtc(rep, "SPN 3251 FMI 0"));
    assert_string_equal(rep->vin, "LFWADRJF7K1234567");
    assert_true(rep->vin_valid);
    assert_true(rep->readiness_read);
    assert_int_equal(rep->n_readiness_incomplete, 1);
    assert_true(has_readiness(rep, j1939_monitor_name(J1939_MON_DPF)));
    assert_true(rep->odometer_present);
    assert_true(rep->odometer_km > 1234566.9 && rep->odometer_km < 1234567.1);
    const struct obdread_live *rpm = find_live(rep, "engine speed");
    assert_non_null(rpm);
    assert_int_equal(rpm->state, OBDREAD_VALUE_OK);
    assert_true(rpm->value > 1999.0 && rpm->value < 2001.0);
    const struct obdread_live *nox = find_live(rep, "aftertreatment 1 outlet NOx");
    assert_non_null(nox); /* never broadcast: listed, without a value */
    assert_int_equal(nox->state, OBDREAD_VALUE_NO_ANSWER);
    assert_string_equal(nox->unit, "ppm");
    assert_string_equal(rep->missing, "");
    j1939_tp_tx_free(t.tp);
    rig_free(&g);
}

static void test_iso_car_two_ecus(void **state)
{
    (void)state;
    struct rig g;
    rig_init(&g, NULL);
    struct car c;
    memset(&c, 0, sizeof c);
    car_init(&c, g.vehicle_bus);
    rig_run(&g, car_step, &c, 20000 * MS);
    const struct obdread_report *rep = obdread_report(g.r);
    assert_int_equal(rep->comm, OBDREAD_COMM_OK);
    assert_int_equal(rep->protocol, OBDREAD_PROTO_ISO15765_11BIT);
    assert_int_equal(rep->n_ecus, 2);
    assert_string_equal(rep->vin, "LSVAU2180N2183294");
    assert_int_equal(rep->mil, OBDREAD_MIL_ON);
    assert_int_equal(rep->n_dtcs, 3);
    const struct obdread_dtc *p0133 = find_dtc(rep, "P0133");
    const struct obdread_dtc *p0700 = find_dtc(rep, "P0700");
    assert_non_null(p0133);
    assert_non_null(find_dtc(rep, "P0420"));
    assert_non_null(p0700);
    assert_int_equal(p0133->ecu, 0);
    assert_true(p0133->mil_on);
    assert_int_equal(p0700->ecu, 1);
    assert_false(p0700->mil_on);
    assert_true(rep->readiness_read);
    assert_int_equal(rep->n_readiness_incomplete, 1);
    assert_true(has_readiness(rep, "PM filter"));
    assert_int_equal(rep->n_cals, 2);
    assert_string_equal(rep->cals[0].cal_id, "ECM-CAL-0042");
    assert_string_equal(rep->cals[0].cvn, "1A2B3C4D");
    assert_int_equal(rep->cals[1].ecu, 1);
    assert_string_equal(rep->cals[1].cal_id, "TCM-CAL-7");
    assert_string_equal(rep->cals[1].cvn, "1A2B3C4E");
    assert_true(rep->odometer_present);
    assert_true(rep->odometer_km > 12345.5 && rep->odometer_km < 12345.7);
    const struct obdread_live *rpm = find_live(rep, "engine speed");
    assert_non_null(rpm);
    assert_true(rpm->value > 1725.0 && rpm->value < 1727.0);
    assert_non_null(find_live(rep, "vehicle speed"));
    for (int i = 0; i < 2; i++)
        isotp_link_free(c.ecu[i].link);
    rig_free(&g);
}

/* The same car on 29-bit identifiers: detected as such, ECUs named by source address. */
static void test_iso_car_29bit(void **state)
{
    (void)state;
    struct rig g;
    rig_init(&g, NULL);
    struct car c;
    memset(&c, 0, sizeof c);
    car_init_ids(&c, g.vehicle_bus, true);
    rig_run(&g, car_step, &c, 20000 * MS);
    const struct obdread_report *rep = obdread_report(g.r);
    assert_int_equal(rep->comm, OBDREAD_COMM_OK);
    assert_int_equal(rep->protocol, OBDREAD_PROTO_ISO15765_29BIT);
    assert_int_equal(rep->n_ecus, 2);
    assert_string_equal(rep->vin, "LSVAU2180N2183294");
    assert_int_equal(rep->mil, OBDREAD_MIL_ON);
    const struct obdread_dtc *p0700 = find_dtc(rep, "P0700");
    assert_non_null(p0700);
    assert_int_equal(p0700->ecu, 0x3D);
    assert_int_equal(rep->n_cals, 2);
    for (int i = 0; i < 2; i++)
        isotp_link_free(c.ecu[i].link);
    rig_free(&g);
}

static void test_no_answer(void **state)
{
    (void)state;
    struct obdread_opts o;
    obdread_opts_default(&o);
    o.detect_ms = 800;
    struct rig g;
    rig_init(&g, &o);
    uint64_t end = rig_run(&g, NULL, NULL, 20000 * MS);
    const struct obdread_report *rep = obdread_report(g.r);
    assert_int_equal(rep->comm, OBDREAD_COMM_NO_ANSWER);
    assert_int_equal(rep->protocol, OBDREAD_PROTO_NONE);
    assert_non_null(strstr(rep->message, "no answer"));
    /* within the configured time (started at 1 s) */
    assert_true(end <= 1000 * MS + 800 * MS + 10 * MS);
    assert_true(end >= 1000 * MS + 800 * MS);
    rig_free(&g);
}

/* The blocking loop on a real clock: a silent bus ends as "no answer" in about detect_ms. */
static void test_run_blocking_no_answer(void **state)
{
    (void)state;
    struct obdread_opts o;
    obdread_opts_default(&o);
    o.detect_ms = 300;
    char err[256] = "";
    canbus_virtual *vb = canbus_virtual_new(0, err, sizeof err);
    canbus *gw = canbus_virtual_endpoint(vb, "gw", err, sizeof err);
    canbus *other = canbus_virtual_endpoint(vb, "other", err, sizeof err);
    assert_non_null(gw);
    struct obdread_report rep;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(obdread_run(gw, &o, &rep, err, sizeof err), OBDREAD_OK);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double elapsed_ms =
        (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    assert_int_equal(rep.comm, OBDREAD_COMM_NO_ANSWER);
    assert_true(elapsed_ms >= 290.0 && elapsed_ms < 3000.0);
    /* what it sent: the request for Address Claimed and obd_detect's 01 00 (11 and 29-bit) */
    struct can_frame_rec f;
    int n = 0;
    bool claim_request = false, obd_11 = false;
    while (canbus_recv(other, &f) == CANBUS_OK) {
        n++;
        claim_request |= f.id == (CAN_FRAME_EFF | 0x18EAFFFEu);
        obd_11 |= f.id == 0x7DF;
    }
    assert_true(n >= 3);
    assert_true(claim_request);
    assert_true(obd_11);
    canbus_close(gw);
    canbus_close(other);
    canbus_virtual_free(vb);
}

static void inject_errors(void *v, uint64_t now)
{
    struct rig *g = v;
    if (now % (20 * MS) != 0)
        return;
    struct can_frame_rec f = {.id = CAN_FRAME_ERR | CANBUS_ERRC_ACK, .len = 8, .t_us = now};
    canbus_virtual_inject(g->vb, &f);
}

static void test_error_frames(void **state)
{
    (void)state;
    struct rig g;
    rig_init(&g, NULL);
    rig_run(&g, inject_errors, &g, 20000 * MS);
    const struct obdread_report *rep = obdread_report(g.r);
    assert_int_equal(rep->comm, OBDREAD_COMM_INTERFACE_ERROR);
    assert_true(rep->error_frames >= 5);
    assert_non_null(strstr(rep->message, "error frames"));
    rig_free(&g);
}

/* A truck that broadcasts but ignores requests (or a candump log): what the broadcasts
 * show, and "no answer" for the requested items. */
static void test_j1939_requests_unanswered(void **state)
{
    (void)state;
    struct rig g;
    rig_init(&g, NULL);
    struct truck t = {.bus = g.vehicle_bus, .answer_requests = false};
    struct j1939_tp_tx_config tc;
    j1939_tp_tx_config_default(&tc);
    struct j1939_tp_tx_callbacks cb = {.send = truck_send, .user = &t};
    char err[128];
    t.tp = j1939_tp_tx_new(&tc, &cb, err, sizeof err);
    rig_run(&g, truck_step, &t, 20000 * MS);
    const struct obdread_report *rep = obdread_report(g.r);
    assert_int_equal(rep->comm, OBDREAD_COMM_OK);
    assert_int_equal(rep->mil, OBDREAD_MIL_ON);
    assert_int_equal(rep->n_dtcs, 3);
    assert_string_equal(rep->vin, "");
    assert_false(rep->readiness_read);
    assert_non_null(strstr(rep->missing, "VI"));
    assert_non_null(strstr(rep->missing, "DM5"));
    assert_true(t.requests_seen >= 3);
    j1939_tp_tx_free(t.tp);
    rig_free(&g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_j1939_truck),
        cmocka_unit_test(test_iso_car_two_ecus),
        cmocka_unit_test(test_iso_car_29bit),
        cmocka_unit_test(test_no_answer),
        cmocka_unit_test(test_error_frames),
        cmocka_unit_test(test_run_blocking_no_answer),
        cmocka_unit_test(test_j1939_requests_unanswered),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
