/* SPDX-License-Identifier: MIT */
/*
 * obd_query: one request, the answers of every ECU. The request goes out functionally
 * (or physically to one ECU); answers are collected per ECU until P2 has passed and no
 * ECU is still sending a segmented answer or has asked for more time with NRC 0x78
 * (which gives that ECU P2* from its last 0x78).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "obd.h"

struct obd_query {
    struct obd_query_config cfg;
    struct obd_bus bus;
    isotp_client *client;
    bool running;
    bool p2_over;
    bool physical;
    uint8_t phys_ecu;
    uint8_t req[8]; /* enough of the request to match answers */
    size_t req_len;
    int request_rc;
    uint64_t p2_until_us;
    uint64_t now_us; /* time of the call into the client, for the events it produces */
    uint64_t ignored;
    size_t n;
    struct obd_response resp[OBD_MAX_ECUS];
    uint64_t pending_until_us[OBD_MAX_ECUS];
    bool fresh[OBD_MAX_ECUS]; /* created by a first frame whose message is not yet known */
    enum obd_resp_status before[OBD_MAX_ECUS]; /* status before RECEIVING */
};

static uint64_t add_us(uint64_t t, uint64_t us)
{
    return t > UINT64_MAX - us ? UINT64_MAX : t + us;
}

static uint64_t add_ms(uint64_t t, uint32_t ms)
{
    return add_us(t, (uint64_t)ms * 1000u);
}

void obd_query_config_default(struct obd_query_config *cfg, enum obd_can_addressing a)
{
    *cfg = (struct obd_query_config){
        .addressing = a,
        .tester_addr = 0xF1,
        .p2_ms = 100,
        .p2_star_ms = 5000,
        .max_pending = 10,
    };
    isotp_params_default(&cfg->isotp);
}

static int query_send(void *ctx, const struct can_frame_rec *f)
{
    obd_query *q = ctx;
    return q->bus.send(q->bus.ctx, f);
}

static bool final_status(enum obd_resp_status s)
{
    return s == OBD_RESP_POSITIVE || s == OBD_RESP_NEGATIVE || s == OBD_RESP_ERROR ||
           s == OBD_RESP_TIMEOUT;
}

static int find_resp(const obd_query *q, uint8_t ecu)
{
    for (size_t i = 0; i < q->n; i++)
        if (q->resp[i].ecu == ecu)
            return (int)i;
    return -1;
}

/* The answer slot of the ECU behind ev, created on first contact; -1 when the event does
 * not belong to the running query. */
static int resp_for(obd_query *q, const struct isotp_event *ev, uint64_t now_us)
{
    if (!q->running || (q->physical && ev->ecu != q->phys_ecu))
        return -1;
    int i = find_resp(q, ev->ecu);
    if (i >= 0)
        return i;
    if (q->n == OBD_MAX_ECUS)
        return -1;
    struct obd_response *r = &q->resp[q->n];
    r->rx_id = ev->rx_id;
    r->ecu = ev->ecu;
    r->status = OBD_RESP_RECEIVING;
    r->nrc = 0;
    r->isotp_rc = 0;
    r->pending = 0;
    r->t_us = now_us;
    r->len = 0;
    q->fresh[q->n] = true;
    q->before[q->n] = OBD_RESP_RECEIVING;
    return (int)q->n++;
}

static void drop_resp(obd_query *q, int i)
{
    size_t rest = q->n - (size_t)i - 1;
    memmove(&q->resp[i], &q->resp[i + 1], rest * sizeof q->resp[0]);
    memmove(&q->pending_until_us[i], &q->pending_until_us[i + 1], rest * sizeof(uint64_t));
    memmove(&q->fresh[i], &q->fresh[i + 1], rest * sizeof(bool));
    memmove(&q->before[i], &q->before[i + 1], rest * sizeof q->before[0]);
    q->n--;
}

static void on_message(obd_query *q, const struct isotp_event *ev, uint64_t now_us)
{
    uint8_t nrc = 0;
    int kind =
        q->running ? obd_classify(q->req, q->req_len, ev->data, ev->len, &nrc) : OBD_EMISMATCH;
    int i = kind == OBD_EMISMATCH ? find_resp(q, ev->ecu) : resp_for(q, ev, now_us);
    if (kind == OBD_EMISMATCH || i < 0) {
        q->ignored++;
        /* A segmented message we waited for turned out not to be an answer. */
        if (i >= 0 && q->resp[i].status == OBD_RESP_RECEIVING) {
            if (q->fresh[i])
                drop_resp(q, i);
            else
                q->resp[i].status = q->before[i];
        }
        return;
    }
    struct obd_response *r = &q->resp[i];
    q->fresh[i] = false;
    if (final_status(r->status)) {
        q->ignored++; /* a second answer from the same ECU */
        return;
    }
    r->t_us = now_us;
    if (kind == 1) {
        r->status = OBD_RESP_POSITIVE;
        r->len = ev->len < sizeof r->data ? ev->len : sizeof r->data;
        memcpy(r->data, ev->data, r->len);
        return;
    }
    r->nrc = nrc;
    if (nrc == OBD_NRC_RESPONSE_PENDING && ++r->pending <= q->cfg.max_pending) {
        r->status = OBD_RESP_PENDING;
        q->pending_until_us[i] = add_ms(now_us, q->cfg.p2_star_ms);
        return;
    }
    r->status = OBD_RESP_NEGATIVE; /* final, or one 0x78 too many */
}

static void query_event(void *ctx, const struct isotp_event *ev)
{
    obd_query *q = ctx;
    int i;
    switch (ev->kind) {
    case ISOTP_EV_RX_FIRST:
        i = resp_for(q, ev, q->now_us);
        if (i >= 0 && !final_status(q->resp[i].status)) {
            if (q->resp[i].status != OBD_RESP_RECEIVING)
                q->before[i] = q->resp[i].status;
            q->resp[i].status = OBD_RESP_RECEIVING;
            q->resp[i].t_us = q->now_us;
        }
        break;
    case ISOTP_EV_RX_DONE:
        on_message(q, ev, q->now_us);
        break;
    case ISOTP_EV_RX_ERROR:
        /* An answer lost in transport still says the ECU is there and tried. */
        i = resp_for(q, ev, q->now_us);
        if (i >= 0 && !final_status(q->resp[i].status)) {
            q->fresh[i] = false;
            q->resp[i].status = OBD_RESP_ERROR;
            q->resp[i].isotp_rc = ev->rc;
            q->resp[i].t_us = q->now_us;
        }
        break;
    case ISOTP_EV_TX_ERROR:
        if (q->running) {
            q->request_rc = ev->rc;
            q->running = false;
        }
        break;
    case ISOTP_EV_TX_DONE:
        break;
    }
}

obd_query *obd_query_new(const struct obd_query_config *cfg, const struct obd_bus *bus, char *err,
                         size_t errlen)
{
    const char *what = NULL;
    if (!cfg || !bus || !bus->send)
        what = "obd query: configuration and a send callback are required";
    else if (cfg->addressing != OBD_CAN_11BIT && cfg->addressing != OBD_CAN_29BIT)
        what = "obd query: addressing must be 11-bit or 29-bit";
    else if (cfg->p2_ms < 1 || cfg->p2_ms > 60000 || cfg->p2_star_ms < 1 || cfg->p2_star_ms > 60000)
        what = "obd query: p2_ms and p2_star_ms must be 1..60000";
    if (what) {
        if (err && errlen)
            snprintf(err, errlen, "%s", what);
        return NULL;
    }
    obd_query *q = calloc(1, sizeof *q);
    if (!q) {
        if (err && errlen)
            snprintf(err, errlen, "obd query: out of memory");
        return NULL;
    }
    q->cfg = *cfg;
    q->bus = *bus;
    struct isotp_client_config cc;
    isotp_client_config_default(&cc, cfg->addressing == OBD_CAN_11BIT ? ISOTP_ADDR_11BIT
                                                                      : ISOTP_ADDR_29BIT);
    cc.tester_addr = cfg->tester_addr;
    cc.params = cfg->isotp;
    struct isotp_io io = {.send = query_send, .on_event = query_event, .ctx = q};
    q->client = isotp_client_new(&cc, &io, err, errlen);
    if (!q->client) {
        free(q);
        return NULL;
    }
    return q;
}

void obd_query_free(obd_query *q)
{
    if (!q)
        return;
    isotp_client_free(q->client);
    free(q);
}

static int start(obd_query *q, bool physical, uint8_t ecu, const uint8_t *req, size_t len,
                 uint64_t now_us)
{
    if (!q || !req || len == 0)
        return OBD_EINVAL;
    if (q->running)
        return OBD_EBUSY;
    q->n = 0;
    q->physical = physical;
    q->phys_ecu = ecu;
    q->req_len = len < sizeof q->req ? len : sizeof q->req;
    memcpy(q->req, req, q->req_len);
    q->request_rc = 0;
    q->p2_over = false;
    q->p2_until_us = add_ms(now_us, q->cfg.p2_ms);
    q->now_us = now_us;
    /* Running before the send: a synchronous failure is reported by event too. */
    q->running = true;
    int rc = physical ? isotp_client_send_physical(q->client, ecu, req, len, now_us)
                      : isotp_client_send_functional(q->client, req, len, now_us);
    if (rc < 0) {
        q->running = false;
        q->request_rc = rc;
        return rc == ISOTP_EINVAL || rc == ISOTP_ETOOLONG ? OBD_EINVAL : OBD_ESEND;
    }
    if (!q->running) /* the request failed while being sent */
        return OBD_ESEND;
    return OBD_OK;
}

int obd_query_start(obd_query *q, const uint8_t *req, size_t len, uint64_t now_us)
{
    return start(q, false, 0, req, len, now_us);
}

int obd_query_start_physical(obd_query *q, uint8_t ecu, const uint8_t *req, size_t len,
                             uint64_t now_us)
{
    return start(q, true, ecu, req, len, now_us);
}

int obd_query_on_frame(obd_query *q, const struct can_frame_rec *f, uint64_t now_us)
{
    if (!q)
        return 0;
    q->now_us = now_us;
    return isotp_client_on_frame(q->client, f, now_us);
}

int obd_query_poll(obd_query *q, uint64_t now_us)
{
    if (!q)
        return 0;
    q->now_us = now_us;
    isotp_client_poll(q->client, now_us);
    if (!q->running)
        return 0;
    bool wait = false;
    if (now_us <= q->p2_until_us)
        wait = true;
    else
        q->p2_over = true;
    for (size_t i = 0; i < q->n; i++) {
        struct obd_response *r = &q->resp[i];
        if (r->status != OBD_RESP_PENDING)
            continue;
        if (now_us > q->pending_until_us[i]) {
            r->status = OBD_RESP_TIMEOUT;
            r->t_us = now_us;
        } else {
            wait = true;
        }
    }
    /* A segmented answer or our own request still in transfer ends by its own timers. */
    if (wait || isotp_client_rx_busy(q->client) || isotp_client_tx_busy(q->client))
        return 1;
    for (size_t i = 0; i < q->n; i++) {
        if (q->resp[i].status == OBD_RESP_RECEIVING) {
            q->resp[i].status = OBD_RESP_TIMEOUT;
            q->resp[i].t_us = now_us;
        }
    }
    q->running = false;
    return 0;
}

void obd_query_cancel(obd_query *q, uint64_t now_us)
{
    if (!q)
        return;
    isotp_client_cancel(q->client);
    if (!q->running)
        return;
    for (size_t i = 0; i < q->n; i++) {
        if (!final_status(q->resp[i].status)) {
            q->resp[i].status = OBD_RESP_TIMEOUT;
            q->resp[i].t_us = now_us;
        }
    }
    q->running = false;
}

void obd_query_tx_done(obd_query *q, const struct can_frame_rec *echo, uint64_t now_us)
{
    if (!q)
        return;
    q->now_us = now_us;
    isotp_client_tx_done(q->client, echo, now_us);
}

uint64_t obd_query_next_deadline_us(const obd_query *q)
{
    if (!q)
        return UINT64_MAX;
    uint64_t t = isotp_client_next_deadline_us(q->client);
    if (!q->running)
        return t;
    if (!q->p2_over && add_us(q->p2_until_us, 1) < t)
        t = add_us(q->p2_until_us, 1);
    for (size_t i = 0; i < q->n; i++) {
        uint64_t d = add_us(q->pending_until_us[i], 1);
        if (q->resp[i].status == OBD_RESP_PENDING && d < t)
            t = d;
    }
    return t;
}

bool obd_query_running(const obd_query *q)
{
    return q && q->running;
}

size_t obd_query_count(const obd_query *q)
{
    return q ? q->n : 0;
}

const struct obd_response *obd_query_response(const obd_query *q, size_t i)
{
    return q && i < q->n ? &q->resp[i] : NULL;
}

uint64_t obd_query_ignored(const obd_query *q)
{
    return q ? q->ignored : 0;
}

int obd_query_request_rc(const obd_query *q)
{
    return q ? q->request_rc : 0;
}

const struct isotp_stats *obd_query_isotp_stats(const obd_query *q)
{
    return q ? isotp_client_stats(q->client) : NULL;
}
