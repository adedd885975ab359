/* SPDX-License-Identifier: MIT */
/*
 * ISO-TP and OBD on CAN (can/isotp.h, can/obd.h): a stream of frames, timer ticks, bus
 * confirmations and requests into an obd_query (multi-responder client inside), a second
 * client on the other addressing with few sessions, and an ECU-side link; every message
 * that completes goes through every J1979 decoder.
 * Input: a configuration byte, a start-time byte, then records of
 *   op, then for frames: id selector, length, 8 data bytes, time step.
 * Invariants: frames sent are classic CAN on the identifiers this side may use, messages
 * are no longer than ISO-TP allows, decoders stay inside their tables, poll() leaves
 * nothing overdue, and everything is idle after a long quiet spell.
 */
#include "fuzz.h"
#include "obd.h"

#define MS_TO_US(x) ((uint64_t)(x)*1000u)

struct ctx {
    uint64_t send_rng;
    enum isotp_addressing client_a; /* the second client's addressing */
    bool query_29;
};

static uint32_t next_rand(uint64_t *s)
{
    *s = *s * 6364136223846793005u + 1442695040888963407u;
    return (uint32_t)(*s >> 33);
}

static bool tester_id(uint32_t id, bool is29)
{
    if (!is29)
        return !(id & CAN_FRAME_EFF) && (id == 0x7DF || (id >= 0x7E0 && id <= 0x7E7));
    if (!(id & CAN_FRAME_EFF))
        return false;
    uint32_t ident = id & CAN_EFF_MASK;
    return ident == 0x18DB33F1u || (ident & 0xFFFF00FFu) == 0x18DA00F1u;
}

/* Every send result happens: done, queued, refused, failed. */
static int bus_result(struct ctx *c)
{
    uint32_t r = next_rand(&c->send_rng) % 16;
    return r == 0 ? ISOTP_SEND_BUSY : r == 1 ? ISOTP_SEND_QUEUED : r == 2 ? -1 : ISOTP_SEND_DONE;
}

static int query_send(void *p, const struct can_frame_rec *f)
{
    struct ctx *c = p;
    FUZZ_CHECK(f->len <= 8 && !(f->id & (CAN_FRAME_RTR | CAN_FRAME_ERR)));
    FUZZ_CHECK(tester_id(f->id, c->query_29));
    return bus_result(c);
}

static int client_send(void *p, const struct can_frame_rec *f)
{
    struct ctx *c = p;
    FUZZ_CHECK(f->len <= 8 && !(f->id & (CAN_FRAME_RTR | CAN_FRAME_ERR)));
    FUZZ_CHECK(tester_id(f->id, c->client_a == ISOTP_ADDR_29BIT));
    return bus_result(c);
}

static int link_send(void *p, const struct can_frame_rec *f)
{
    struct ctx *c = p;
    FUZZ_CHECK(f->len <= 8 && f->id == 0x7E8);
    return bus_result(c);
}

static void decode_everything(const uint8_t *m, size_t len)
{
    static struct obd_dtc_list dtcs;
    static struct obd_calid_list cal;
    static struct obd_cvn_list cvn;
    struct obd_value v[6];
    struct obd_pid_support sup = {0};
    struct obd_monitor_status st;
    char vin[18], name[21], err[160];

    int n = obd_decode_dtcs(m, len, &dtcs, err, sizeof err);
    FUZZ_CHECK(dtcs.n <= OBD_MAX_DTCS && (n < 0 || (size_t)n == dtcs.n));
    for (size_t i = 0; i < dtcs.n; i++) {
        FUZZ_CHECK(fuzz_terminated(dtcs.dtc[i].code, 6) && strlen(dtcs.dtc[i].code) == 5);
        FUZZ_CHECK(strchr("PCBU", dtcs.dtc[i].code[0]) && dtcs.dtc[i].raw != 0);
    }
    n = obd_decode_vin(m, len, vin, err, sizeof err);
    FUZZ_CHECK(fuzz_terminated(vin, 18) && fuzz_utf8(vin));
    FUZZ_CHECK(n != OBD_OK || strlen(vin) == 17);
    n = obd_decode_calids(m, len, &cal, err, sizeof err);
    FUZZ_CHECK(cal.n <= OBD_MAX_INFO_ITEMS && (n < 0 || (size_t)n == cal.n));
    for (size_t i = 0; i < cal.n; i++)
        FUZZ_CHECK(fuzz_terminated(cal.id[i], 17) && fuzz_utf8(cal.id[i]));
    n = obd_decode_cvns(m, len, &cvn, err, sizeof err);
    FUZZ_CHECK(cvn.n <= OBD_MAX_INFO_ITEMS && (n < 0 || (size_t)n == cvn.n));
    for (size_t i = 0; i < cvn.n; i++)
        FUZZ_CHECK(strlen(cvn.hex[i]) == 8);
    obd_decode_ecu_name(m, len, name, err, sizeof err);
    FUZZ_CHECK(fuzz_terminated(name, 21) && fuzz_utf8(name));
    n = obd_decode_mode01(m, len, v, 6);
    FUZZ_CHECK(n <= 6);
    for (int i = 0; i < n; i++)
        FUZZ_CHECK(v[i].name && v[i].unit);
    obd_decode_supported(m, len, &sup);
    if (len >= 2 && obd_decode_monitor_status(m + 2, len - 2, &st) == OBD_OK) {
        FUZZ_CHECK(st.n <= OBD_MONITORS_MAX);
        for (size_t i = 0; i < st.n; i++)
            FUZZ_CHECK(obd_monitor_find(&st, st.mon[i].name) != NULL);
    }
    uint8_t nrc;
    obd_classify(m, len, m, len, &nrc);
}

static void on_event(void *p, const struct isotp_event *ev)
{
    (void)p;
    FUZZ_CHECK(ev->kind >= ISOTP_EV_RX_FIRST && ev->kind <= ISOTP_EV_TX_ERROR);
    if (ev->kind == ISOTP_EV_RX_DONE) {
        FUZZ_CHECK(ev->data && ev->len >= 1 && ev->len <= ISOTP_MAX_PAYLOAD);
        decode_everything(ev->data, ev->len);
    }
    if (ev->kind == ISOTP_EV_RX_ERROR || ev->kind == ISOTP_EV_TX_ERROR)
        FUZZ_CHECK(ev->rc < 0 && strcmp(isotp_strerror(ev->rc), "unknown ISO-TP result") != 0);
}

static const uint32_t ids[] = {
    0x7E8,
    0x7E9,
    0x7EA,
    0x7EF,
    0x7E0,
    0x7DF,
    0x7E7,
    0x7F0,
    CAN_FRAME_EFF | 0x18DAF100,
    CAN_FRAME_EFF | 0x18DAF101,
    CAN_FRAME_EFF | 0x18DAF13D,
    CAN_FRAME_EFF | 0x1CDAF117,
    CAN_FRAME_EFF | 0x18DAF1F1,
    CAN_FRAME_EFF | 0x18FECA00,
    CAN_FRAME_RTR | 0x7E8,
    CAN_FRAME_ERR | 0x7E8,
};

static uint64_t advance(uint64_t now, uint64_t by)
{
    return now > UINT64_MAX - by ? UINT64_MAX : now + by;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_bytes in = {data, size};
    uint8_t cfgb = fuzz_u8(&in);
    struct ctx c = {.send_rng = size,
                    .query_29 = cfgb & 1,
                    .client_a = cfgb & 2 ? ISOTP_ADDR_29BIT : ISOTP_ADDR_11BIT};

    struct isotp_params p;
    if (cfgb & 4)
        isotp_params_obd(&p);
    else
        isotp_params_default(&p);
    static const int pads[4] = {0xCC, 0x55, 0xAA, ISOTP_NO_PADDING};
    p.pad_byte = pads[cfgb >> 3 & 3];
    p.block_size = (uint8_t)(cfgb >> 5);
    p.wft_max = (uint8_t)(cfgb >> 6);
    p.dynamic_fc = cfgb & 0x80;

    struct obd_query_config qc;
    obd_query_config_default(&qc, c.query_29 ? OBD_CAN_29BIT : OBD_CAN_11BIT);
    qc.isotp = p;
    qc.max_pending = 3;
    struct obd_bus qb = {.send = query_send, .ctx = &c};
    obd_query *q = obd_query_new(&qc, &qb, NULL, 0);

    struct isotp_client_config cc;
    isotp_client_config_default(&cc, c.client_a);
    cc.params = p;
    cc.max_responders = 2;
    struct isotp_io cio = {.send = client_send, .on_event = on_event, .ctx = &c};
    isotp_client *cl = isotp_client_new(&cc, &cio, NULL, 0);

    struct isotp_link_config lc = {
        .tx_id = 0x7E8, .rx_id = 0x7E0, .functional = true, .func_id = 0x7DF, .params = p};
    struct isotp_io lio = {.send = link_send, .on_event = on_event, .ctx = &c};
    isotp_link *l = isotp_link_new(&lc, &lio, NULL, 0);
    FUZZ_CHECK(q && cl && l);

    static uint8_t payload[ISOTP_MAX_PAYLOAD];
    for (size_t i = 0; i < sizeof payload; i++)
        payload[i] = (uint8_t)(i * 7);
    /* Near the end of time as well: timers must saturate, not wrap. */
    uint64_t now = fuzz_u8(&in) == 0xFF ? UINT64_MAX - MS_TO_US(5000) : 0;

    while (in.left) {
        uint8_t op = fuzz_u8(&in);
        now = advance(now, (uint64_t)fuzz_u8(&in) << (op >> 5 & 7) * 2);
        switch (op & 7) {
        case 0:
        case 1:
        case 2:
        case 3: {
            struct can_frame_rec f = {.id = ids[fuzz_u8(&in) % (sizeof ids / sizeof ids[0])]};
            uint8_t len = fuzz_u8(&in);
            f.len = len < 0xF0 ? len % 9 : len; /* now and then an impossible length */
            for (int i = 0; i < 8; i++)
                f.data[i] = fuzz_u8(&in);
            obd_query_on_frame(q, &f, now);
            isotp_client_on_frame(cl, &f, now);
            isotp_link_on_frame(l, &f, now);
            break;
        }
        case 4: {
            /* Poll leaves nothing overdue: no busy loop for the caller. */
            obd_query_poll(q, now);
            isotp_client_poll(cl, now);
            isotp_link_poll(l, now);
            if (now < UINT64_MAX) {
                FUZZ_CHECK(obd_query_next_deadline_us(q) > now);
                FUZZ_CHECK(isotp_client_next_deadline_us(cl) > now);
                FUZZ_CHECK(isotp_link_next_deadline_us(l) > now);
            }
            break;
        }
        case 5:
            obd_query_tx_done(q, NULL, now);
            isotp_client_tx_done(cl, NULL, now);
            isotp_link_tx_done(l, now);
            break;
        case 6: {
            uint8_t req[3] = {fuzz_u8(&in) % 11, fuzz_u8(&in), fuzz_u8(&in)};
            obd_query_start(q, req, 1 + op % 3, now);
            isotp_client_send_functional(cl, req, 2, now);
            break;
        }
        default: {
            size_t len = (size_t)fuzz_u8(&in) * 16 + fuzz_u8(&in) % 16 + 1;
            isotp_link_send(l, payload, len, now);
            isotp_client_send_physical(cl, fuzz_u8(&in), payload, len % 64 + 1, now);
            break;
        }
        }
        FUZZ_CHECK(obd_query_count(q) <= OBD_MAX_ECUS);
        for (size_t i = 0; i < obd_query_count(q); i++) {
            const struct obd_response *r = obd_query_response(q, i);
            FUZZ_CHECK(r && r->len <= ISOTP_MAX_PAYLOAD);
            if (r->status == OBD_RESP_POSITIVE)
                decode_everything(r->data, r->len);
        }
    }

    /* A long quiet spell ends everything (confirmations may be refused meanwhile). */
    if (now < UINT64_MAX - MS_TO_US(400000)) {
        for (int k = 0; k < 4; k++) {
            now += MS_TO_US(100000);
            obd_query_tx_done(q, NULL, now);
            isotp_client_tx_done(cl, NULL, now);
            isotp_link_tx_done(l, now);
            obd_query_poll(q, now);
            isotp_client_poll(cl, now);
            isotp_link_poll(l, now);
        }
        FUZZ_CHECK(!obd_query_running(q));
        FUZZ_CHECK(!isotp_client_rx_busy(cl) && !isotp_client_tx_busy(cl));
        FUZZ_CHECK(!isotp_link_rx_busy(l) && !isotp_link_tx_busy(l));
    }
    obd_query_free(q);
    isotp_client_free(cl);
    isotp_link_free(l);
    return 0;
}
