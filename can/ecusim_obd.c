/* SPDX-License-Identifier: MIT */
/* The ECU simulator's ISO 15765-4 side: engine and transmission ECUs answering
 * SAE J1979 services 01, 03 and 09 through isotp_link (flow control honoured). */
#include <stdio.h>
#include <string.h>

#include "ecusim_priv.h"

static const uint8_t engine_pids[] = {0x00, 0x01, 0x04, 0x05, 0x0C, 0x0D, 0x1C,
                                      0x1F, 0x20, 0x21, 0x31, 0x40, 0x5E};
static const uint8_t trans_pids[] = {0x00, 0x01, 0x0D};

static bool pid_supported(bool engine, uint8_t pid)
{
    const uint8_t *t = engine ? engine_pids : trans_pids;
    size_t n = engine ? sizeof engine_pids : sizeof trans_pids;
    for (size_t i = 0; i < n; i++)
        if (t[i] == pid)
            return true;
    return false;
}

/* The "PIDs supported base+1 .. base+0x20" bitmap (J1979: bit 7 of byte A is base+1). */
static void pid_bitmap(bool engine, uint8_t base, uint8_t out[4])
{
    memset(out, 0, 4);
    for (unsigned p = base + 1u; p <= base + 0x20u && p <= 0xFFu; p++)
        if (pid_supported(engine, (uint8_t)p)) {
            unsigned i = p - base - 1u;
            out[i / 8] |= (uint8_t)(0x80u >> (i % 8));
        }
}

static void on_event(void *ctx, const struct isotp_event *ev)
{
    struct ecusim_obd_ecu *e = ctx;
    if (ev->kind != ISOTP_EV_RX_DONE || ev->len == 0 || ev->len > sizeof e->req)
        return; /* OBD requests are short; anything else is not for us to answer */
    memcpy(e->req, ev->data, ev->len);
    e->req_len = ev->len;
    e->req_functional = ev->functional;
    e->have_req = true;
}

static int link_send(void *ctx, const struct can_frame_rec *f)
{
    struct ecusim_obd_ecu *e = ctx;
    return ecusim_send(e->sim, f) < 0 ? -1 : ISOTP_SEND_DONE;
}

int ecusim_obd_init(struct ecusim *s, char *err, size_t errlen)
{
    struct {
        bool on;
        bool engine;
        uint32_t tx, rx, func;
    } want[ECUSIM_OBD_ECUS] = {
        {s->p.obd11, true, 0x7E8, 0x7E0, 0x7DF},
        {s->p.obd11, false, 0x7E9, 0x7E1, 0x7DF},
        {s->p.obd29, true, 0x18DAF100u | ECUSIM_OBD29_ENGINE | CAN_FRAME_EFF,
         0x18DA00F1u | (ECUSIM_OBD29_ENGINE << 8) | CAN_FRAME_EFF, 0x18DB33F1u | CAN_FRAME_EFF},
        {s->p.obd29, false, 0x18DAF100u | ECUSIM_OBD29_TRANS | CAN_FRAME_EFF,
         0x18DA00F1u | (ECUSIM_OBD29_TRANS << 8) | CAN_FRAME_EFF, 0x18DB33F1u | CAN_FRAME_EFF},
    };
    for (size_t i = 0; i < ECUSIM_OBD_ECUS; i++) {
        if (!want[i].on)
            continue;
        struct ecusim_obd_ecu *e = &s->obd[s->n_obd];
        e->sim = s;
        e->engine = want[i].engine;
        struct isotp_link_config cfg = {
            .tx_id = want[i].tx, .rx_id = want[i].rx, .functional = true, .func_id = want[i].func};
        isotp_params_obd(&cfg.params);
        struct isotp_io io = {.send = link_send, .on_event = on_event, .ctx = e};
        e->link = isotp_link_new(&cfg, &io, err, errlen);
        if (!e->link)
            return ECUSIM_ESTACK;
        s->n_obd++;
    }
    return ECUSIM_OK;
}

void ecusim_obd_free(struct ecusim *s)
{
    for (size_t i = 0; i < s->n_obd; i++)
        isotp_link_free(s->obd[i].link);
    s->n_obd = 0;
}

static void put_be(uint8_t *b, uint32_t v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

static uint32_t clamp_raw(double v, uint32_t max)
{
    if (v <= 0)
        return 0;
    return v >= (double)max ? max : (uint32_t)(v + 0.5);
}

/* Data bytes of a service-01 PID; 0 when this ECU does not support it. */
static size_t pid_data(const struct ecusim *s, const struct ecusim_obd_ecu *e, uint8_t pid,
                       uint64_t now_us, uint8_t *out)
{
    if (!pid_supported(e->engine, pid))
        return 0;
    struct ecusim_live v;
    ecusim_live_at(s, now_us, &v);
    size_t ndtc = e->engine ? s->p.n_obd_engine_dtc : s->p.n_obd_trans_dtc;
    switch (pid) {
    case 0x00:
    case 0x20:
    case 0x40:
        pid_bitmap(e->engine, pid, out);
        return 4;
    case 0x01:
        out[0] = (uint8_t)((s->p.mil && e->engine ? 0x80u : 0u) | (ndtc & 0x7Fu));
        out[1] = 0x08u | 0x07u; /* compression ignition; continuous monitors supported, ready */
        out[2] = e->engine ? s->p.pid01_supported : 0;
        out[3] = e->engine ? s->p.pid01_not_ready : 0;
        return 4;
    case 0x04:
        out[0] = 102; /* 40 % */
        return 1;
    case 0x05:
        out[0] = (uint8_t)clamp_raw(v.coolant_c + 40, 255);
        return 1;
    case 0x0C:
        put_be(out, clamp_raw(v.rpm * 4, 0xFFFF), 2);
        return 2;
    case 0x0D:
        out[0] = (uint8_t)clamp_raw(v.speed_kmh, 255);
        return 1;
    case 0x1C:
        out[0] = 0x11; /* JOBD: any plausible code; the check does not judge it */
        return 1;
    case 0x1F:
        put_be(out, clamp_raw((double)((now_us - s->start_us) / 1000000u), 0xFFFF), 2);
        return 2;
    case 0x21:
        put_be(out, s->p.mil ? 120u : 0u, 2);
        return 2;
    case 0x31:
        put_be(out, 2400u, 2);
        return 2;
    case 0x5E:
        put_be(out, clamp_raw(v.fuel_lph / 0.05, 0xFFFF), 2);
        return 2;
    default:
        return 0;
    }
}

/* Builds the answer to req; 0 when there is none (a functional request this ECU
 * does not serve is not answered, as J1979 asks). */
static size_t build_answer(const struct ecusim *s, const struct ecusim_obd_ecu *e, uint64_t now_us,
                           uint8_t *out, size_t cap)
{
    const uint8_t *req = e->req;
    size_t n = 0;
    uint8_t sid = req[0];
    if (sid == 0x01 && e->req_len >= 2 && e->req_len <= 7) {
        out[n++] = 0x41;
        for (size_t i = 1; i < e->req_len; i++) {
            uint8_t d[4];
            size_t dl = pid_data(s, e, req[i], now_us, d);
            if (dl == 0)
                continue;
            out[n++] = req[i];
            memcpy(out + n, d, dl);
            n += dl;
        }
        if (n > 1)
            return n;
        n = 0;
        if (e->req_functional)
            return 0;
        out[n++] = 0x7F, out[n++] = sid, out[n++] = 0x12; /* subFunctionNotSupported */
        return n;
    }
    if (sid == 0x03 && e->req_len == 1) {
        size_t nd = e->engine ? s->p.n_obd_engine_dtc : s->p.n_obd_trans_dtc;
        const uint16_t *d = e->engine ? s->p.obd_engine_dtc : s->p.obd_trans_dtc;
        out[n++] = 0x43;
        out[n++] = (uint8_t)nd;
        for (size_t i = 0; i < nd && n + 2 <= cap; i++) {
            put_be(out + n, d[i], 2);
            n += 2;
        }
        return n;
    }
    if (sid == 0x09 && e->req_len == 2) {
        out[n++] = 0x49;
        out[n++] = req[1];
        switch (req[1]) {
        case 0x00:
            out[n++] = 0x54; /* 02, 04, 06 */
            out[n++] = 0, out[n++] = 0, out[n++] = 0;
            return n;
        case 0x02:
            out[n++] = 1;
            memcpy(out + n, s->p.vin, 17);
            return n + 17;
        case 0x04: {
            out[n++] = 1;
            /* 16 bytes padded with NULs; the transmission's is "TCU-" + the engine's. */
            char id[16];
            memset(id, 0, sizeof id);
            size_t k = e->engine ? 0 : 4;
            memcpy(id, "TCU-", k);
            size_t cl = strnlen(s->p.calid, sizeof s->p.calid);
            memcpy(id + k, s->p.calid, cl < sizeof id - k ? cl : sizeof id - k);
            memcpy(out + n, id, 16);
            return n + 16;
        }
        case 0x06:
            out[n++] = 1;
            put_be(out + n, e->engine ? s->p.cvn : s->p.cvn ^ 0xFFFF0000u, 4);
            return n + 4;
        default:
            break;
        }
        n = 0;
    }
    if (e->req_functional)
        return 0;
    out[n++] = 0x7F, out[n++] = sid, out[n++] = sid == 0x09 ? 0x12 : 0x11;
    return n;
}

static void answer(struct ecusim *s, struct ecusim_obd_ecu *e, uint64_t now_us)
{
    e->have_req = false;
    s->st.obd_requests++;
    uint8_t out[64];
    size_t n = build_answer(s, e, now_us, out, sizeof out);
    if (n == 0)
        return;
    if (isotp_link_send(e->link, out, n, now_us) == 0)
        s->st.obd_answers++;
    else
        s->st.tx_errors++;
}

int ecusim_obd_rx(struct ecusim *s, const struct can_frame_rec *f, uint64_t now_us)
{
    int used = 0;
    for (size_t i = 0; i < s->n_obd; i++) {
        struct ecusim_obd_ecu *e = &s->obd[i];
        if (isotp_link_on_frame(e->link, f, now_us) == 1)
            used = 1;
        if (e->have_req)
            answer(s, e, now_us);
    }
    return used;
}

void ecusim_obd_tick(struct ecusim *s, uint64_t now_us)
{
    for (size_t i = 0; i < s->n_obd; i++)
        isotp_link_poll(s->obd[i].link, now_us);
}

uint64_t ecusim_obd_next_deadline(const struct ecusim *s)
{
    uint64_t d = UINT64_MAX;
    for (size_t i = 0; i < s->n_obd; i++) {
        uint64_t t = isotp_link_next_deadline_us(s->obd[i].link);
        if (t < d)
            d = t;
    }
    return d;
}
