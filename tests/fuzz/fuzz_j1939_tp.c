/* SPDX-License-Identifier: MIT */
/*
 * J1939 (can/j1939.h): the transport-protocol receiver and sender, address
 * claim and every decoder, fed a stream of frames with time steps. The input
 * is a sequence of records: an op byte, then what the op needs (see step()).
 * Frames are steered towards TP traffic from a few sources so sessions meet,
 * collide and fill the table. Invariants: the session tables stay within their
 * fixed size, every delivered message is 9..1785 bytes, and decoders return
 * sane values (no numbers for not-available/error, bounded DTC lists, strings
 * terminated).
 */
#include <math.h>

#include "fuzz.h"
#include "j1939.h"

#define TOOL      J1939_ADDR_TOOL1
#define QUEUE_MAX 512

/* Frames the machines send, delivered to the other machines after each step
 * (the callbacks must not re-enter the machine that is sending). */
struct world {
    j1939_tp_rx *rx;
    j1939_tp_tx *tx;
    j1939_ac *ac;
    struct can_frame_rec q[QUEUE_MAX];
    size_t head, tail;
    uint64_t now;
};

static int enqueue(void *user, const struct can_frame_rec *f)
{
    struct world *w = user;
    FUZZ_CHECK(f->len <= 8 && (f->id & CAN_FRAME_EFF));
    if (w->tail - w->head >= QUEUE_MAX)
        return -1; /* a full transmit queue: the machines count it */
    w->q[w->tail++ % QUEUE_MAX] = *f;
    return 0;
}

static void check_live(uint32_t pgn, const uint8_t *data, size_t len)
{
    struct j1939_live_value out[8];
    size_t n = j1939_live_decode(NULL, 0, pgn, data, len, out, 8);
    FUZZ_CHECK(n <= 8);
    for (size_t i = 0; i < n; i++) {
        const struct j1939_spn_def *d = out[i].def;
        FUZZ_CHECK(d && d->pgn == pgn);
        FUZZ_CHECK(out[i].validity <= J1939_MISSING);
        if (out[i].validity != J1939_VALID) {
            FUZZ_CHECK(out[i].value == 0.0);
            continue;
        }
        double max_raw = d->size == 1 ? 0xFA : d->size == 2 ? 0xFAFF : 0xFAFFFFFF;
        FUZZ_CHECK(isfinite(out[i].value));
        FUZZ_CHECK(out[i].value >= d->offset - 1e-9);
        FUZZ_CHECK(out[i].value <= d->offset + max_raw * d->scale + 1e-6);
    }
}

static void check_decoders(uint32_t pgn, const uint8_t *data, size_t len)
{
    static struct j1939_dm1 dm1; /* 3.6 KB: not on the fuzzer's stack */
    if (j1939_dm1_decode(data, len, &dm1) == 0) {
        FUZZ_CHECK(dm1.lamps_present && len >= 2);
        FUZZ_CHECK(dm1.n_dtc <= dm1.n_slots && dm1.n_slots <= J1939_DM_MAX_DTC);
        FUZZ_CHECK(dm1.n_slots == (len - 2) / 4 || dm1.n_slots == J1939_DM_MAX_DTC);
        FUZZ_CHECK(dm1.lamps.mil <= J1939_LAMP_NA && dm1.lamps.protect_flash <= J1939_FLASH_NONE);
        for (unsigned i = 0; i < dm1.n_dtc; i++) {
            const struct j1939_dtc *d = &dm1.dtc[i];
            FUZZ_CHECK(d->spn <= 0x7FFFF && d->fmi <= 31 && d->oc <= 127);
            FUZZ_CHECK(d->spn != 0 || d->fmi != 0);
        }
    } else {
        FUZZ_CHECK(len < 2 && dm1.n_dtc == 0);
    }
    struct j1939_dm5 dm5;
    j1939_dm5_decode(data, len, &dm5);
    FUZZ_CHECK(dm5.active_valid == J1939_VALID || dm5.active_count == 0);
    FUZZ_CHECK(dm5.previous_valid == J1939_VALID || dm5.previous_count == 0);
    for (int m = 0; m <= J1939_MON_COMPREHENSIVE; m++) {
        enum j1939_readiness r = j1939_dm5_monitor(&dm5, (enum j1939_monitor)m);
        FUZZ_CHECK(r <= J1939_READY_UNKNOWN);
        FUZZ_CHECK(j1939_readiness_name(r)[0]);
    }
    FUZZ_CHECK(j1939_obd_compliance_name(dm5.obd_compliance) != NULL);
    struct j1939_vin vin;
    j1939_vin_decode(data, len, &vin);
    FUZZ_CHECK(fuzz_terminated(vin.text, sizeof vin.text));
    for (const char *p = vin.text; *p; p++)
        FUZZ_CHECK(*p >= 0x20 && *p < 0x7F);
    FUZZ_CHECK(vin.validity != J1939_VALID || strlen(vin.text) == 17);
    check_live(pgn, data, len);
}

static void on_message(void *user, const struct j1939_msg *m)
{
    (void)user;
    FUZZ_CHECK(m->via_tp);
    FUZZ_CHECK(m->len >= J1939_TP_MIN_SIZE && m->len <= J1939_TP_MAX_SIZE);
    FUZZ_CHECK(m->sa < J1939_ADDR_NULL && m->pgn <= J1939_PGN_MAX);
    check_decoders(m->pgn, m->data, m->len);
}

static void on_done(void *user, const struct j1939_tp_tx_result *r)
{
    (void)user;
    FUZZ_CHECK(r->size >= J1939_TP_MIN_SIZE && r->size <= J1939_TP_MAX_SIZE);
    FUZZ_CHECK(r->ok ? r->reason == 0 : true);
}

/* Every machine sees every frame; single frames from the input also go
 * through the decoders (the machines' own frames would only slow the search). */
static void feed(struct world *w, const struct can_frame_rec *f, bool decode)
{
    bool tp = j1939_tp_rx_frame(w->rx, f, w->now);
    j1939_tp_tx_frame(w->tx, f, w->now);
    j1939_ac_rx(w->ac, f, w->now);
    struct j1939_msg m;
    if (decode && !tp && j1939_msg_from_frame(f, &m)) {
        FUZZ_CHECK(m.len <= 8);
        check_decoders(m.pgn, m.data, m.len);
    }
}

/* What the machines sent goes back to all of them (one bus, own frames
 * included, as with a loopback socket), a bounded number of rounds. */
static void drain(struct world *w)
{
    for (int i = 0; i < 4 * QUEUE_MAX && w->head != w->tail; i++) {
        struct can_frame_rec f = w->q[w->head++ % QUEUE_MAX];
        feed(w, &f, false);
    }
}

static void check_bounds(const struct world *w)
{
    struct j1939_tp_rx_stats rs;
    struct j1939_tp_tx_stats ts;
    j1939_tp_rx_get_stats(w->rx, &rs);
    j1939_tp_tx_get_stats(w->tx, &ts);
    FUZZ_CHECK(rs.active <= J1939_TP_RX_SESSIONS_MAX && rs.peak_active <= J1939_TP_RX_SESSIONS_MAX);
    FUZZ_CHECK(ts.active <= J1939_TP_TX_SESSIONS_MAX);
    FUZZ_CHECK(rs.messages <= rs.bam_started + rs.rts_started);
    uint8_t a = j1939_ac_address(w->ac);
    FUZZ_CHECK(a == J1939_ADDR_NULL || j1939_ac_get_state(w->ac) == J1939_AC_CLAIMED);
    FUZZ_CHECK(a <= J1939_ADDR_NULL);
}

static void step(struct world *w, struct fuzz_bytes *in)
{
    uint8_t op = fuzz_u8(in);
    uint8_t sa = fuzz_u8(in);
    struct can_frame_rec f = {0};
    uint8_t da = (op & 0x08) ? TOOL : J1939_ADDR_GLOBAL;
    sa = (op & 0x10) ? sa : (uint8_t)(sa & 0x07); /* mostly a few ECUs */
    switch (op & 7) {
    case 0:
        f.id = fuzz_u32(in);
        break;
    case 1:
        f.id = j1939_id_make(op >> 5, J1939_PGN_TP_CM, da, sa);
        break;
    case 2:
        f.id = j1939_id_make(op >> 5, J1939_PGN_TP_DT, da, sa);
        break;
    case 3:
        f.id =
            j1939_id_make(6, (op & 0x20) ? J1939_PGN_ADDRESS_CLAIMED : J1939_PGN_REQUEST, da, sa);
        break;
    case 4:
        w->now += (uint64_t)fuzz_u16(in) * 1000;
        j1939_tp_rx_tick(w->rx, w->now);
        j1939_tp_tx_tick(w->tx, w->now);
        j1939_ac_tick(w->ac, w->now);
        return;
    case 5: {
        static uint8_t payload[J1939_TP_MAX_SIZE + 16];
        size_t len = fuzz_u16(in) % (sizeof payload);
        for (size_t i = 0; i < len; i++)
            payload[i] = (uint8_t)(i * 13u + op);
        int rc = j1939_tp_tx_start(w->tx, sa, (op & 0x20) ? J1939_ADDR_GLOBAL : TOOL, J1939_PGN_DM1,
                                   payload, len, w->now);
        FUZZ_CHECK(rc == 0 || rc == J1939_EINVAL || rc == J1939_EBUSY || rc == J1939_EFULL);
        FUZZ_CHECK(rc != 0 || (len >= J1939_TP_MIN_SIZE && len <= J1939_TP_MAX_SIZE));
        return;
    }
    case 6:
        j1939_tp_rx_hold(w->rx, sa, op & 0x20, w->now);
        return;
    default:
        if (op & 0x20)
            j1939_ac_start(w->ac, w->now);
        else
            j1939_tp_rx_set_address(w->rx, sa);
        return;
    }
    f.len = fuzz_u8(in) & 0x0F; /* up to 15: a broken backend must not hurt */
    for (int i = 0; i < 8; i++)
        f.data[i] = fuzz_u8(in);
    w->now += (uint64_t)fuzz_u16(in) * 32;
    f.t_us = w->now;
    feed(w, &f, true);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct world w;
    memset(&w, 0, sizeof w);
    w.now = 1000000;
    struct j1939_tp_rx_config rc;
    j1939_tp_rx_config_default(&rc);
    rc.address = TOOL;
    rc.max_window = 4;
    struct j1939_tp_rx_callbacks rcb = {.send = enqueue, .message = on_message, .user = &w};
    struct j1939_tp_tx_config tc;
    j1939_tp_tx_config_default(&tc);
    struct j1939_tp_tx_callbacks tcb = {.send = enqueue, .done = on_done, .user = &w};
    struct j1939_ac_config ac;
    j1939_ac_config_default(&ac);
    struct j1939_ac_callbacks acb = {.send = enqueue, .user = &w};
    w.rx = j1939_tp_rx_new(&rc, &rcb, NULL, 0);
    w.tx = j1939_tp_tx_new(&tc, &tcb, NULL, 0);
    w.ac = j1939_ac_new(&ac, &acb, NULL, 0);
    FUZZ_CHECK(w.rx && w.tx && w.ac);
    j1939_ac_start(w.ac, w.now);

    struct fuzz_bytes in = {data, size};
    while (in.left) {
        step(&w, &in);
        drain(&w);
        check_bounds(&w);
    }
    /* However the input ended, time heals: every session ends by its timeouts. */
    w.now += 20000000;
    j1939_tp_rx_tick(w.rx, w.now);
    j1939_tp_tx_tick(w.tx, w.now);
    drain(&w);
    j1939_tp_rx_tick(w.rx, w.now + 1);
    j1939_tp_tx_tick(w.tx, w.now + 1);
    struct j1939_tp_tx_stats ts;
    j1939_tp_tx_get_stats(w.tx, &ts);
    FUZZ_CHECK(ts.active == 0 || j1939_tp_tx_next_deadline(w.tx) != UINT64_MAX);

    j1939_tp_rx_free(w.rx);
    j1939_tp_tx_free(w.tx);
    j1939_ac_free(w.ac);
    return 0;
}
