/* SPDX-License-Identifier: MIT */
/*
 * The ECU simulator on the in-process virtual bus, against the real J1939 receiver
 * (as tool 0xF9) and the ISO-TP client: broadcasts, DM1 by concurrent BAMs, VI by
 * BAM and by RTS/CTS, DM5, NACK, and two OBD ECUs answering one functional request
 * with the tester's flow control honoured. Time is simulated.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "canbus.h"
#include "ecusim.h"
#include "isotp.h"
#include "j1939.h"
#include "obd.h"

#define MS(x)      ((uint64_t)(x)*1000u)
#define MAX_MSGS   4096
#define MAX_FRAMES 8192
#define TESTER     0xF9u

struct got_msg {
    struct j1939_msg m;
    uint8_t data[J1939_TP_MAX_SIZE];
};

struct got_obd {
    uint8_t ecu;
    uint32_t rx_id;
    size_t len;
    uint8_t data[256];
};

struct sent {
    struct can_frame_rec f;
    bool from_tester;
};

/* One bench: a simulator and a tester on one virtual bus. */
struct bench {
    canbus *sim_ep, *tester_ep;
    ecusim *sim;
    struct ecusim_profile p;
    j1939_tp_rx *tp;
    isotp_client *obd;
    uint64_t now;
    struct got_msg *msgs;
    size_t n_msgs;
    struct got_obd obd_msgs[16];
    size_t n_obd;
    size_t obd_errors;
    struct sent *frames;
    size_t n_frames;
};

static void record(struct bench *b, const struct can_frame_rec *f, bool tester)
{
    if (b->n_frames < MAX_FRAMES) {
        b->frames[b->n_frames].f = *f;
        b->frames[b->n_frames].f.t_us = b->now;
        b->frames[b->n_frames++].from_tester = tester;
    }
}

static int sim_send(void *ctx, const struct can_frame_rec *f)
{
    struct bench *b = ctx;
    record(b, f, false);
    return canbus_send(b->sim_ep, f) == CANBUS_OK ? 0 : -1;
}

static int tester_send(void *ctx, const struct can_frame_rec *f)
{
    struct bench *b = ctx;
    record(b, f, true);
    return canbus_send(b->tester_ep, f) == CANBUS_OK ? 0 : -1;
}

static int tester_isotp_send(void *ctx, const struct can_frame_rec *f)
{
    return tester_send(ctx, f) < 0 ? -1 : ISOTP_SEND_DONE;
}

static void keep_msg(struct bench *b, const struct j1939_msg *m)
{
    if (b->n_msgs == MAX_MSGS)
        return;
    struct got_msg *g = &b->msgs[b->n_msgs++];
    g->m = *m;
    memcpy(g->data, m->data, m->len);
    g->m.data = g->data;
}

static void on_tp_msg(void *user, const struct j1939_msg *m)
{
    keep_msg(user, m);
}

static void on_obd(void *ctx, const struct isotp_event *ev)
{
    struct bench *b = ctx;
    if (ev->kind == ISOTP_EV_RX_ERROR)
        b->obd_errors++;
    if (ev->kind != ISOTP_EV_RX_DONE || b->n_obd == 16 || ev->len > 256)
        return;
    struct got_obd *o = &b->obd_msgs[b->n_obd++];
    o->ecu = ev->ecu;
    o->rx_id = ev->rx_id;
    o->len = ev->len;
    memcpy(o->data, ev->data, ev->len);
}

static struct bench *bench_new(const char *preset, uint8_t block_size, uint8_t st_min)
{
    char err[256];
    struct bench *b = calloc(1, sizeof *b);
    assert_non_null(b);
    b->msgs = calloc(MAX_MSGS, sizeof *b->msgs);
    b->frames = calloc(MAX_FRAMES, sizeof *b->frames);
    assert_non_null(b->msgs);
    assert_non_null(b->frames);
    assert_int_equal(ecusim_preset(preset, &b->p), ECUSIM_OK);
    canbus_virtual *vb = canbus_virtual_new(4096, err, sizeof err);
    assert_non_null(vb);
    b->sim_ep = canbus_virtual_endpoint(vb, "sim", err, sizeof err);
    b->tester_ep = canbus_virtual_endpoint(vb, "tester", err, sizeof err);
    canbus_virtual_free(vb);
    assert_non_null(b->sim_ep);
    assert_non_null(b->tester_ep);
    struct ecusim_io io = {.send = sim_send, .ctx = b};
    b->sim = ecusim_new(&b->p, &io, err, sizeof err);
    assert_non_null(b->sim);
    struct j1939_tp_rx_config rc;
    j1939_tp_rx_config_default(&rc);
    rc.address = TESTER;
    struct j1939_tp_rx_callbacks cb = {.send = tester_send, .message = on_tp_msg, .user = b};
    b->tp = j1939_tp_rx_new(&rc, &cb, err, sizeof err);
    assert_non_null(b->tp);
    struct isotp_client_config cc;
    isotp_client_config_default(&cc, b->p.obd11 ? ISOTP_ADDR_11BIT : ISOTP_ADDR_29BIT);
    cc.params.block_size = block_size;
    cc.params.st_min = st_min;
    struct isotp_io oio = {.send = tester_isotp_send, .on_event = on_obd, .ctx = b};
    b->obd = isotp_client_new(&cc, &oio, err, sizeof err);
    assert_non_null(b->obd);
    b->now = MS(1000);
    ecusim_start(b->sim, b->now);
    return b;
}

static void bench_free(struct bench *b)
{
    isotp_client_free(b->obd);
    j1939_tp_rx_free(b->tp);
    ecusim_free(b->sim);
    canbus_close(b->sim_ep);
    canbus_close(b->tester_ep);
    free(b->msgs);
    free(b->frames);
    free(b);
}

static void pump(struct bench *b)
{
    for (int round = 0; round < 100; round++) {
        int moved = 0;
        struct can_frame_rec f;
        while (canbus_recv(b->sim_ep, &f) == CANBUS_OK) {
            ecusim_rx(b->sim, &f, b->now);
            moved++;
        }
        while (canbus_recv(b->tester_ep, &f) == CANBUS_OK) {
            moved++;
            if (j1939_tp_rx_frame(b->tp, &f, b->now) == 1)
                continue;
            if (isotp_client_on_frame(b->obd, &f, b->now) == 1)
                continue;
            struct j1939_msg m;
            if (j1939_msg_from_frame(&f, &m))
                keep_msg(b, &m);
        }
        if (!moved)
            return;
        ecusim_tick(b->sim, b->now);
    }
}

static void run_until(struct bench *b, uint64_t end)
{
    while (b->now <= end) {
        ecusim_tick(b->sim, b->now);
        j1939_tp_rx_tick(b->tp, b->now);
        isotp_client_poll(b->obd, b->now);
        pump(b);
        uint64_t next = ecusim_next_deadline(b->sim);
        uint64_t t = j1939_tp_rx_next_deadline(b->tp);
        if (t < next)
            next = t;
        t = isotp_client_next_deadline_us(b->obd);
        if (t < next)
            next = t;
        b->now = next > b->now ? next : b->now + 100;
    }
}

static size_t count_msgs(const struct bench *b, uint32_t pgn, uint8_t sa, uint8_t da, int via_tp)
{
    size_t n = 0;
    for (size_t i = 0; i < b->n_msgs; i++) {
        const struct j1939_msg *m = &b->msgs[i].m;
        if (m->pgn == pgn && m->sa == sa && m->da == da && (via_tp < 0 || m->via_tp == via_tp))
            n++;
    }
    return n;
}

static const struct got_msg *last_msg(const struct bench *b, uint32_t pgn, uint8_t sa)
{
    for (size_t i = b->n_msgs; i-- > 0;)
        if (b->msgs[i].m.pgn == pgn && b->msgs[i].m.sa == sa)
            return &b->msgs[i];
    return NULL;
}

/* TP.CM frames of a control byte for pgn from sa. */
static size_t count_cm(const struct bench *b, uint8_t control, uint32_t pgn, uint8_t sa)
{
    size_t n = 0;
    for (size_t i = 0; i < b->n_frames; i++) {
        struct j1939_id id;
        const struct can_frame_rec *f = &b->frames[i].f;
        if (!j1939_id_parse(f, &id) || id.pgn != J1939_PGN_TP_CM || id.sa != sa || f->len < 8)
            continue;
        uint32_t p = f->data[5] | (uint32_t)f->data[6] << 8 | (uint32_t)f->data[7] << 16;
        if (f->data[0] == control && p == pgn)
            n++;
    }
    return n;
}

static void test_broadcasts_decode(void **state)
{
    (void)state;
    struct bench *b = bench_new("truck-clean", 0, 0);
    run_until(b, b->now + MS(2000));
    static const uint32_t pgns[] = {J1939_PGN_EEC1,   J1939_PGN_CCVS,     J1939_PGN_ET1,
                                    J1939_PGN_LFE,    J1939_PGN_AT1IG1,   J1939_PGN_AT1OG1,
                                    J1939_PGN_AT1T1I, J1939_PGN_AT1IMG,   J1939_PGN_EGF1,
                                    J1939_PGN_VD,     J1939_PGN_A1SCREGT1};
    for (size_t i = 0; i < sizeof pgns / sizeof pgns[0]; i++) {
        const struct got_msg *g = last_msg(b, pgns[i], ECUSIM_ADDR_ENGINE);
        assert_non_null(g);
        struct j1939_live_value v[4];
        size_t n = j1939_live_decode(NULL, 0, pgns[i], g->data, g->m.len, v, 4);
        assert_true(n >= 1);
        for (size_t k = 0; k < n; k++)
            assert_int_equal(v[k].validity, J1939_VALID);
    }
    /* EEC1 every 100 ms: 2 s gives about 20; ET1 every 1 s gives 2 or 3. */
    size_t eec1 = count_msgs(b, J1939_PGN_EEC1, 0, J1939_ADDR_GLOBAL, 0);
    assert_in_range(eec1, 19, 21);
    assert_in_range(count_msgs(b, J1939_PGN_ET1, 0, J1939_ADDR_GLOBAL, 0), 2, 3);
    struct j1939_live_value v;
    const struct got_msg *g = last_msg(b, J1939_PGN_EEC1, 0);
    j1939_live_value(j1939_live_find(NULL, 0, 190), g->data, g->m.len, &v);
    assert_true(v.value >= 800 && v.value <= 1600);
    g = last_msg(b, J1939_PGN_ET1, 0);
    j1939_live_value(j1939_live_find(NULL, 0, 110), g->data, g->m.len, &v);
    assert_true(v.value > 84.5 && v.value < 85.5);
    bench_free(b);
}

static void check_dm1(const struct bench *b, uint8_t sa, const struct ecusim_j1939_dtc *want,
                      size_t n, bool mil)
{
    const struct got_msg *g = last_msg(b, J1939_PGN_DM1, sa);
    assert_non_null(g);
    assert_true(g->m.via_tp);
    assert_int_equal(g->m.da, J1939_ADDR_GLOBAL);
    struct j1939_dm1 *dm1 = malloc(sizeof *dm1);
    assert_non_null(dm1);
    assert_int_equal(j1939_dm1_decode(g->data, g->m.len, dm1), 0);
    assert_int_equal(dm1->n_dtc, n);
    assert_int_equal(dm1->lamps.mil, mil ? J1939_LAMP_ON : J1939_LAMP_OFF);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(dm1->dtc[i].spn, want[i].spn);
        assert_int_equal(dm1->dtc[i].fmi, want[i].fmi);
        assert_int_equal(dm1->dtc[i].oc, want[i].oc);
        assert_false(dm1->dtc[i].cm);
    }
    free(dm1);
}

static void test_dm1_concurrent_bams(void **state)
{
    (void)state;
    struct bench *b = bench_new("truck-mil", 0, 0);
    run_until(b, b->now + MS(3100));
    /* One DM1 per second from each ECU, by BAM, every DTC decoded. */
    assert_in_range(count_msgs(b, J1939_PGN_DM1, 0x00, J1939_ADDR_GLOBAL, 1), 3, 4);
    assert_in_range(count_msgs(b, J1939_PGN_DM1, 0x3D, J1939_ADDR_GLOBAL, 1), 3, 4);
    check_dm1(b, 0x00, b->p.engine_dtc, b->p.n_engine_dtc, true);
    check_dm1(b, 0x3D, b->p.aftert_dtc, b->p.n_aftert_dtc, false);
    /* Concurrent: the second BAM is announced before the first one's last packet. */
    size_t bam0 = SIZE_MAX, bam3d = SIZE_MAX, last_dt0 = 0;
    for (size_t i = 0; i < b->n_frames; i++) {
        struct j1939_id id;
        if (!j1939_id_parse(&b->frames[i].f, &id))
            continue;
        if (id.pgn == J1939_PGN_TP_CM && b->frames[i].f.data[0] == J1939_TP_CM_BAM) {
            if (id.sa == 0x00 && bam0 == SIZE_MAX)
                bam0 = i;
            if (id.sa == 0x3D && bam3d == SIZE_MAX)
                bam3d = i;
        }
        if (id.pgn == J1939_PGN_TP_DT && id.sa == 0x00 && bam0 != SIZE_MAX && last_dt0 == 0 &&
            b->frames[i].f.data[0] == 3)
            last_dt0 = i; /* 18 bytes: 3 packets */
    }
    assert_true(bam0 != SIZE_MAX && bam3d != SIZE_MAX);
    assert_true(bam3d < last_dt0);
    struct ecusim_stats st;
    ecusim_get_stats(b->sim, &st);
    assert_int_equal(st.tp_failed, 0);
    bench_free(b);
}

static void test_vi_global_by_bam(void **state)
{
    (void)state;
    struct bench *b = bench_new("truck-clean", 0, 0);
    run_until(b, b->now + MS(100));
    struct can_frame_rec req;
    j1939_request_make(&req, J1939_PGN_VI, J1939_ADDR_GLOBAL, TESTER, b->now);
    tester_send(b, &req);
    run_until(b, b->now + MS(500));
    assert_int_equal(count_msgs(b, J1939_PGN_VI, 0x00, J1939_ADDR_GLOBAL, 1), 1);
    assert_int_equal(count_cm(b, J1939_TP_CM_BAM, J1939_PGN_VI, 0x00), 1);
    assert_int_equal(count_cm(b, J1939_TP_CM_RTS, J1939_PGN_VI, 0x00), 0);
    const struct got_msg *g = last_msg(b, J1939_PGN_VI, 0x00);
    struct j1939_vin vin;
    j1939_vin_decode(g->data, g->m.len, &vin);
    assert_int_equal(vin.validity, J1939_VALID);
    assert_string_equal(vin.text, b->p.vin);
    assert_true(vin.terminated);
    /* The aftertreatment ECU has no VI and stays silent on a global request. */
    assert_int_equal(count_msgs(b, J1939_PGN_VI, 0x3D, J1939_ADDR_GLOBAL, -1), 0);
    bench_free(b);
}

static void test_vi_specific_by_rts_cts(void **state)
{
    (void)state;
    struct bench *b = bench_new("truck-mil", 0, 0);
    run_until(b, b->now + MS(100));
    struct can_frame_rec req;
    j1939_request_make(&req, J1939_PGN_VI, 0x00, TESTER, b->now);
    tester_send(b, &req);
    run_until(b, b->now + MS(500));
    assert_int_equal(count_msgs(b, J1939_PGN_VI, 0x00, TESTER, 1), 1);
    assert_int_equal(count_cm(b, J1939_TP_CM_RTS, J1939_PGN_VI, 0x00), 1);
    assert_int_equal(count_cm(b, J1939_TP_CM_BAM, J1939_PGN_VI, 0x00), 0);
    assert_int_equal(count_cm(b, J1939_TP_CM_CTS, J1939_PGN_VI, TESTER), 1);
    assert_int_equal(count_cm(b, J1939_TP_CM_EOMA, J1939_PGN_VI, TESTER), 1);
    const struct got_msg *g = last_msg(b, J1939_PGN_VI, 0x00);
    struct j1939_vin vin;
    j1939_vin_decode(g->data, g->m.len, &vin);
    assert_string_equal(vin.text, "LFWSRXSJ3N1A00042");
    struct ecusim_stats st;
    ecusim_get_stats(b->sim, &st);
    assert_true(st.tp_completed >= 1);
    assert_int_equal(st.tp_failed, 0);
    bench_free(b);
}

static void test_dm5_and_nack(void **state)
{
    (void)state;
    struct bench *b = bench_new("truck-mil", 0, 0);
    run_until(b, b->now + MS(100));
    struct can_frame_rec req;
    j1939_request_make(&req, J1939_PGN_DM5, J1939_ADDR_GLOBAL, TESTER, b->now);
    tester_send(b, &req);
    run_until(b, b->now + MS(50));
    const struct got_msg *g = last_msg(b, J1939_PGN_DM5, 0x00);
    assert_non_null(g);
    struct j1939_dm5 dm5;
    j1939_dm5_decode(g->data, g->m.len, &dm5);
    assert_true(dm5.is_obd);
    assert_int_equal(dm5.active_count, b->p.n_engine_dtc);
    assert_int_equal(j1939_dm5_monitor(&dm5, J1939_MON_NOX_CATALYST), J1939_READY_NOT_COMPLETE);
    assert_int_equal(j1939_dm5_monitor(&dm5, J1939_MON_DPF), J1939_READY_NOT_COMPLETE);
    assert_int_equal(j1939_dm5_monitor(&dm5, J1939_MON_EGR_VVT), J1939_READY_COMPLETE);
    assert_int_equal(j1939_dm5_monitor(&dm5, J1939_MON_CATALYST), J1939_READY_UNSUPPORTED);
    /* A specific request for a PGN nobody has is NACKed; a global one is not. */
    size_t before = b->n_frames;
    j1939_request_make(&req, 0xFEDA, 0x00, TESTER, b->now);
    tester_send(b, &req);
    j1939_request_make(&req, 0xFEDA, J1939_ADDR_GLOBAL, TESTER, b->now);
    tester_send(b, &req);
    pump(b);
    size_t nacks = 0;
    for (size_t i = before; i < b->n_frames; i++) {
        enum j1939_ack_control c;
        uint32_t pgn;
        uint8_t who;
        if (j1939_ack_parse(&b->frames[i].f, &c, &pgn, &who)) {
            assert_int_equal(c, J1939_ACK_NEGATIVE);
            assert_int_equal(pgn, 0xFEDA);
            assert_int_equal(who, TESTER);
            nacks++;
        }
    }
    assert_int_equal(nacks, 1);
    bench_free(b);
}

/* One functional 09 02: both ECUs answer, both VINs reassemble, and every ECU
 * honours the tester's flow control: with block size 1 each CF waits for its own
 * FC; with block size 0 and STmin 20 ms the CFs are at least 20 ms apart. */
static void vin_flow_control(uint8_t block_size, uint8_t st_min)
{
    struct bench *b = bench_new("car-obd", block_size, st_min);
    static const uint8_t req[] = {0x09, 0x02};
    assert_int_equal(isotp_client_send_functional(b->obd, req, sizeof req, b->now), 0);
    run_until(b, b->now + MS(300));
    assert_int_equal(b->obd_errors, 0);
    assert_int_equal(b->n_obd, 2);
    bool seen[2] = {false, false};
    for (size_t i = 0; i < b->n_obd; i++) {
        char vin[18], err[128];
        assert_int_equal(
            obd_decode_vin(b->obd_msgs[i].data, b->obd_msgs[i].len, vin, err, sizeof err), 0);
        assert_string_equal(vin, b->p.vin);
        assert_true(b->obd_msgs[i].ecu < 2);
        seen[b->obd_msgs[i].ecu] = true;
    }
    assert_true(seen[0] && seen[1]);
    for (uint32_t ecu = 0; ecu < 2; ecu++) {
        uint32_t rx = 0x7E8 + ecu, fc = 0x7E0 + ecu;
        uint64_t last_cf = 0;
        size_t n_fc = 0, n_cf = 0;
        for (size_t i = 0; i < b->n_frames; i++) {
            const struct can_frame_rec *f = &b->frames[i].f;
            if (f->id == fc && (f->data[0] & 0xF0) == 0x30)
                n_fc++;
            if (f->id == rx && (f->data[0] & 0xF0) == 0x20) {
                n_cf++;
                assert_true(n_fc >= 1); /* never a CF before the first FC */
                if (block_size == 1)
                    assert_int_equal(n_fc, n_cf);
                if (last_cf && st_min)
                    assert_true(f->t_us - last_cf >= MS(st_min));
                last_cf = f->t_us;
            }
        }
        assert_int_equal(n_cf, 2); /* 20 bytes: FF carries 6, two CFs of 7 */
        assert_int_equal(n_fc, block_size == 1 ? 2 : 1);
    }
    bench_free(b);
}

static void test_two_ecus_vin_flow_control(void **state)
{
    (void)state;
    vin_flow_control(1, 0);
    vin_flow_control(0, 20);
}

static void test_obd29_services(void **state)
{
    (void)state;
    struct bench *b = bench_new("truck-mil", 0, 0);
    static const uint8_t mon[] = {0x01, 0x01}, dtcs[] = {0x03}, unsupported[] = {0x01, 0x42};
    assert_int_equal(isotp_client_send_functional(b->obd, mon, sizeof mon, b->now), 0);
    run_until(b, b->now + MS(200));
    assert_int_equal(isotp_client_send_functional(b->obd, dtcs, sizeof dtcs, b->now), 0);
    run_until(b, b->now + MS(200));
    assert_int_equal(isotp_client_send_functional(b->obd, unsupported, 2, b->now), 0);
    run_until(b, b->now + MS(200));
    assert_int_equal(b->n_obd, 4); /* two answers each; nobody answers PID 42 */
    size_t mil_on = 0, dtc_total = 0;
    for (size_t i = 0; i < b->n_obd; i++) {
        const struct got_obd *o = &b->obd_msgs[i];
        assert_true(o->rx_id == (0x18DAF110u | CAN_FRAME_EFF) ||
                    o->rx_id == (0x18DAF118u | CAN_FRAME_EFF));
        if (o->data[0] == 0x41) {
            struct obd_monitor_status st;
            assert_int_equal(obd_decode_monitor_status(o->data + 2, o->len - 2, &st), 0);
            assert_true(st.compression_ignition);
            mil_on += st.mil_on;
            if (o->rx_id == (0x18DAF110u | CAN_FRAME_EFF)) {
                const struct obd_monitor *m = obd_monitor_find(&st, "NOx/SCR aftertreatment");
                assert_non_null(m);
                assert_true(m->supported);
                assert_false(m->ready);
            }
        } else {
            struct obd_dtc_list *l = malloc(sizeof *l);
            char err[128];
            assert_non_null(l);
            assert_true(obd_decode_dtcs(o->data, o->len, l, err, sizeof err) >= 0);
            assert_false(l->count_mismatch);
            dtc_total += l->n;
            if (o->rx_id == (0x18DAF110u | CAN_FRAME_EFF)) {
                assert_int_equal(l->n, 3);
                assert_string_equal(l->dtc[0].code, "P20EE");
            } else {
                assert_int_equal(l->n, 1);
            }
            free(l);
        }
    }
    assert_int_equal(mil_on, 1);
    assert_int_equal(dtc_total, 4);
    bench_free(b);
}

/* Hostile frames (random TP.CM/TP.DT to our ECUs, requests, ISO-TP frames with any
 * PCI, flow control at any time): nothing breaks, and afterwards the simulator still
 * answers a specific VI request by RTS/CTS and an OBD VIN request. */
static void test_hostile_frames_then_still_answers(void **state)
{
    (void)state;
    struct bench *b = bench_new("truck-clean", 0, 0);
    static const uint32_t ids[] = {0x1CEC00F9u | CAN_FRAME_EFF,
                                   0x1CEC3DF9u | CAN_FRAME_EFF,
                                   0x1CEB00F9u | CAN_FRAME_EFF,
                                   0x18EA00F9u | CAN_FRAME_EFF,
                                   0x18EAFFF9u | CAN_FRAME_EFF,
                                   0x18DA10F1u | CAN_FRAME_EFF,
                                   0x18DA18F1u | CAN_FRAME_EFF,
                                   0x18DB33F1u | CAN_FRAME_EFF,
                                   0x7DF,
                                   0x7E0};
    uint32_t x = 12345;
    for (int i = 0; i < 20000; i++) {
        struct can_frame_rec f = {0};
        x = x * 1103515245u + 12345u;
        f.id = ids[(x >> 16) % (sizeof ids / sizeof ids[0])];
        x = x * 1103515245u + 12345u;
        f.len = (uint8_t)((x >> 16) % 9);
        for (int k = 0; k < 8; k++) {
            x = x * 1103515245u + 12345u;
            f.data[k] = (uint8_t)(x >> 16);
        }
        if (f.len >= 8 && (x & 0x300) == 0) /* now and then a well-formed request */
            f.data[0] = 0x10, f.data[5] = 0xEC, f.data[6] = 0xFE, f.data[7] = 0x00;
        ecusim_rx(b->sim, &f, b->now);
        if (i % 50 == 0) {
            b->now += MS(7);
            ecusim_tick(b->sim, b->now);
        }
    }
    run_until(b, b->now + MS(5000)); /* whatever was started ends or times out */
    size_t before = count_msgs(b, J1939_PGN_VI, 0x00, TESTER, 1);
    struct can_frame_rec req;
    j1939_request_make(&req, J1939_PGN_VI, 0x00, TESTER, b->now);
    tester_send(b, &req);
    static const uint8_t vin_req[] = {0x09, 0x02};
    b->n_obd = 0;
    assert_int_equal(isotp_client_send_functional(b->obd, vin_req, sizeof vin_req, b->now), 0);
    run_until(b, b->now + MS(500));
    assert_int_equal(count_msgs(b, J1939_PGN_VI, 0x00, TESTER, 1), before + 1);
    assert_int_equal(b->n_obd, 2);
    bench_free(b);
}

static void test_presets(void **state)
{
    (void)state;
    struct ecusim_profile p;
    size_t n = 0;
    for (; ecusim_preset_name(n); n++) {
        assert_int_equal(ecusim_preset(ecusim_preset_name(n), &p), ECUSIM_OK);
        assert_int_equal(strlen(p.vin), 17);
    }
    assert_int_equal(n, 4);
    assert_int_equal(ecusim_preset("bus", &p), ECUSIM_ENOENT);
    assert_int_equal(ecusim_preset("car-obd", &p), ECUSIM_OK);
    assert_false(p.j1939);
    assert_true(p.obd11);
    p.vin[3] = '\0';
    char err[128];
    struct ecusim_io io = {.send = sim_send, .ctx = NULL};
    assert_null(ecusim_new(&p, &io, err, sizeof err));
    assert_non_null(strstr(err, "VIN"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_broadcasts_decode),
        cmocka_unit_test(test_dm1_concurrent_bams),
        cmocka_unit_test(test_vi_global_by_bam),
        cmocka_unit_test(test_vi_specific_by_rts_cts),
        cmocka_unit_test(test_dm5_and_nack),
        cmocka_unit_test(test_two_ecus_vin_flow_control),
        cmocka_unit_test(test_obd29_services),
        cmocka_unit_test(test_hostile_frames_then_still_answers),
        cmocka_unit_test(test_presets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
