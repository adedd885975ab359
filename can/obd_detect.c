/* SPDX-License-Identifier: MIT */
/*
 * Which OBD-on-CAN variant a vehicle speaks (ISO 15765-4 initialisation): at each bitrate
 * (500 k, then 250 k), service 01 PID 00 functionally on 11-bit (0x7DF), then on 29-bit
 * (0x18DB33F1). The first attempt any ECU answers (positively or negatively) decides.
 * Error frames during an attempt mean the bitrate is wrong: the rest of that bitrate is
 * skipped. J1939 is not tried here; see docs/obd.md for combining with the J1939 code.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "obd.h"

struct obd_detect {
    struct obd_detect_config cfg;
    struct obd_detect_bus bus;
    obd_query *q[2]; /* [OBD_CAN_11BIT], [OBD_CAN_29BIT] */
    struct obd_detect_result res;
    size_t step, n_steps;
    unsigned errors;
};

void obd_detect_config_default(struct obd_detect_config *cfg)
{
    *cfg = (struct obd_detect_config){
        .bitrates = {500000, 250000},
        .n_bitrates = 2,
        .wait_ms = 100,
        .tester_addr = 0xF1,
        .max_error_frames = 3,
    };
}

static int detect_send(void *ctx, const struct can_frame_rec *f)
{
    obd_detect *d = ctx;
    return d->bus.send(d->bus.ctx, f);
}

obd_detect *obd_detect_new(const struct obd_detect_config *cfg, const struct obd_detect_bus *bus,
                           char *err, size_t errlen)
{
    const char *what = NULL;
    if (!cfg || !bus || !bus->send)
        what = "obd detect: configuration and a send callback are required";
    else if (bus->set_bitrate && (cfg->n_bitrates < 1 || cfg->n_bitrates > 4))
        what = "obd detect: 1..4 bitrates to try";
    else if (cfg->wait_ms < 1 || cfg->wait_ms > 60000)
        what = "obd detect: wait_ms must be 1..60000";
    else if (cfg->max_error_frames < 1)
        what = "obd detect: max_error_frames must be at least 1";
    if (what) {
        if (err && errlen)
            snprintf(err, errlen, "%s", what);
        return NULL;
    }
    obd_detect *d = calloc(1, sizeof *d);
    if (!d) {
        if (err && errlen)
            snprintf(err, errlen, "obd detect: out of memory");
        return NULL;
    }
    d->cfg = *cfg;
    d->bus = *bus;
    struct obd_bus qb = {.send = detect_send, .ctx = d};
    for (int a = 0; a < 2; a++) {
        struct obd_query_config qc;
        obd_query_config_default(&qc, a == 0 ? OBD_CAN_11BIT : OBD_CAN_29BIT);
        qc.tester_addr = cfg->tester_addr;
        qc.p2_ms = cfg->wait_ms;
        d->q[a] = obd_query_new(&qc, &qb, err, errlen);
        if (!d->q[a]) {
            obd_detect_free(d);
            return NULL;
        }
    }
    d->n_steps = bus->set_bitrate ? 2 * cfg->n_bitrates : 2;
    return d;
}

void obd_detect_free(obd_detect *d)
{
    if (!d)
        return;
    obd_query_free(d->q[0]);
    obd_query_free(d->q[1]);
    free(d);
}

static uint32_t step_bitrate(const obd_detect *d, size_t step)
{
    return d->bus.set_bitrate ? d->cfg.bitrates[step / 2] : 0;
}

static void log_attempt(obd_detect *d, size_t step, const char *what)
{
    struct obd_detect_result *r = &d->res;
    size_t used = strlen(r->log);
    if (used + 1 >= sizeof r->log)
        return;
    uint32_t rate = step_bitrate(d, step);
    char rate_text[16];
    if (rate)
        snprintf(rate_text, sizeof rate_text, "%uk", (unsigned)(rate / 1000));
    else
        snprintf(rate_text, sizeof rate_text, "bus bitrate");
    /* A summary: cut short rather than grown when there are many attempts. */
    snprintf(r->log + used, sizeof r->log - used, "%s%s %s: %s", used ? "; " : "", rate_text,
             step % 2 ? "29-bit" : "11-bit", what);
}

static void next_attempt(obd_detect *d, uint64_t now_us)
{
    static const uint8_t req[2] = {OBD_SID_CURRENT_DATA, 0x00};
    while (d->step < d->n_steps) {
        size_t step = d->step;
        if (step % 2 == 0 && d->bus.set_bitrate &&
            d->bus.set_bitrate(d->bus.ctx, step_bitrate(d, step)) != 0) {
            log_attempt(d, step, "cannot switch the bus to this bitrate");
            d->step += 2;
            continue;
        }
        d->errors = 0;
        d->res.attempts++;
        int rc = obd_query_start(d->q[step % 2], req, sizeof req, now_us);
        if (rc == OBD_OK) {
            d->res.state = OBD_DETECT_RUNNING;
            return;
        }
        log_attempt(d, step, "request not sent");
        d->step++;
    }
    d->res.state = OBD_DETECT_NONE;
}

int obd_detect_start(obd_detect *d, uint64_t now_us)
{
    if (!d)
        return OBD_EINVAL;
    obd_query_cancel(d->q[0], now_us);
    obd_query_cancel(d->q[1], now_us);
    memset(&d->res, 0, sizeof d->res);
    d->step = 0;
    next_attempt(d, now_us);
    return OBD_OK;
}

int obd_detect_on_frame(obd_detect *d, const struct can_frame_rec *f, uint64_t now_us)
{
    if (!d || !f || d->res.state != OBD_DETECT_RUNNING)
        return 0;
    if (f->id & CAN_FRAME_ERR) {
        d->errors++;
        return 1;
    }
    return obd_query_on_frame(d->q[d->step % 2], f, now_us);
}

/* The attempt's answers: FOUND when any ECU answered at all. */
static bool collect(obd_detect *d)
{
    const obd_query *q = d->q[d->step % 2];
    struct obd_detect_result *r = &d->res;
    r->n_ecus = 0;
    for (size_t i = 0; i < obd_query_count(q) && r->n_ecus < OBD_MAX_ECUS; i++) {
        const struct obd_response *resp = obd_query_response(q, i);
        if (resp->status != OBD_RESP_POSITIVE && resp->status != OBD_RESP_NEGATIVE)
            continue;
        struct obd_detect_ecu *e = &r->ecus[r->n_ecus++];
        memset(e, 0, sizeof *e);
        e->rx_id = resp->rx_id;
        e->ecu = resp->ecu;
        e->positive = resp->status == OBD_RESP_POSITIVE;
        if (e->positive)
            obd_decode_supported(resp->data, resp->len, &e->pids);
    }
    if (!r->n_ecus)
        return false;
    r->state = OBD_DETECT_FOUND;
    r->addressing = d->step % 2 ? OBD_CAN_29BIT : OBD_CAN_11BIT;
    r->bitrate = step_bitrate(d, d->step);
    char what[48];
    snprintf(what, sizeof what, "%u ECU(s) answered", (unsigned)r->n_ecus);
    log_attempt(d, d->step, what);
    return true;
}

enum obd_detect_state obd_detect_poll(obd_detect *d, uint64_t now_us)
{
    if (!d)
        return OBD_DETECT_IDLE;
    if (d->res.state != OBD_DETECT_RUNNING)
        return d->res.state;
    obd_query *q = d->q[d->step % 2];
    if (d->errors >= d->cfg.max_error_frames) {
        char what[64];
        snprintf(what, sizeof what, "%u error frames, wrong bitrate", d->errors);
        obd_query_cancel(q, now_us);
        log_attempt(d, d->step, what);
        d->step = d->step - d->step % 2 + 2;
        next_attempt(d, now_us);
        return d->res.state;
    }
    if (obd_query_poll(q, now_us))
        return OBD_DETECT_RUNNING;
    if (collect(d))
        return d->res.state;
    log_attempt(d, d->step, obd_query_request_rc(q) ? "request not sent" : "no answer");
    d->step++;
    next_attempt(d, now_us);
    return d->res.state;
}

uint64_t obd_detect_next_deadline_us(const obd_detect *d)
{
    if (!d || d->res.state != OBD_DETECT_RUNNING)
        return UINT64_MAX;
    return obd_query_next_deadline_us(d->q[d->step % 2]);
}

const struct obd_detect_result *obd_detect_result(const obd_detect *d)
{
    return d ? &d->res : NULL;
}
