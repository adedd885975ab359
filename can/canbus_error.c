/* SPDX-License-Identifier: MIT */
/* Error frames: what they say (the kernel's linux/can/error.h layout), in candump -e's
 * words, and what they do to a bus's stats and state. */
#include <stdio.h>
#include <string.h>

#include "canbus_priv.h"

int canbus_error_decode(const struct can_frame_rec *f, struct canbus_error *out)
{
    if (!f || !out || !(f->id & CAN_FRAME_ERR))
        return -1;
    uint8_t d[8] = {0};
    memcpy(d, f->data, f->len <= 8 ? f->len : 8);
    uint32_t c = f->id & CAN_EFF_MASK;
    memset(out, 0, sizeof *out);
    out->classes = c;
    out->tx_timeout = c & CANBUS_ERRC_TX_TIMEOUT;
    out->lost_arbitration = c & CANBUS_ERRC_LOSTARB;
    out->controller = c & CANBUS_ERRC_CRTL;
    out->protocol_violation = c & CANBUS_ERRC_PROT;
    out->transceiver = c & CANBUS_ERRC_TRX;
    out->no_ack = c & CANBUS_ERRC_ACK;
    out->bus_off = c & CANBUS_ERRC_BUSOFF;
    out->bus_error = c & CANBUS_ERRC_BUSERROR;
    out->restarted = c & CANBUS_ERRC_RESTARTED;
    out->lostarb_bit = d[0];
    if (out->controller) {
        out->ctrl = d[1];
        out->error_passive = d[1] & (CANBUS_CTRL_RX_PASSIVE | CANBUS_CTRL_TX_PASSIVE);
        out->error_warning = d[1] & (CANBUS_CTRL_RX_WARNING | CANBUS_CTRL_TX_WARNING);
        out->back_to_active = d[1] & CANBUS_CTRL_ACTIVE;
    }
    out->prot_type = d[2];
    out->prot_location = d[3];
    out->trx_status = d[4];
    /* Drivers fill the counters with CANBUS_ERRC_CNT, and many without it. */
    out->counters = (c & CANBUS_ERRC_CNT) || d[6] || d[7];
    out->tx_errors = d[6];
    out->rx_errors = d[7];
    return 0;
}

struct out {
    char *buf;
    size_t len, used; /* used may pass len: the text is truncated */
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct out *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t room = o->used < o->len ? o->len - o->used : 0;
    int n = vsnprintf(room ? o->buf + o->used : NULL, room, fmt, ap);
    va_end(ap);
    if (n > 0)
        o->used += (size_t)n;
}

static const char *const class_names[] = {
    "tx-timeout",
    "lost-arbitration",
    "controller-problem",
    "protocol-violation",
    "transceiver-status",
    "no-acknowledgement-on-tx",
    "bus-off",
    "bus-error",
    "restarted-after-bus-off",
    "error-counter-tx-rx",
};
static const char *const ctrl_names[] = {
    "rx-overflow",      "tx-overflow",      "rx-error-warning",     "tx-error-warning",
    "rx-error-passive", "tx-error-passive", "back-to-error-active",
};
static const char *const prot_names[] = {
    "single-bit-error",       "frame-format-error", "bit-stuffing-error", "tx-dominant-bit-error",
    "tx-recessive-bit-error", "bus-overload",       "active-error",       "error-on-tx",
};

static void put_bits(struct out *o, uint8_t bits, const char *const *names, size_t n)
{
    bool first = true;
    for (size_t i = 0; i < n; i++) {
        if (bits & (1u << i)) {
            put(o, "%s%s", first ? "" : ",", names[i]);
            first = false;
        }
    }
}

int canbus_error_describe(const struct can_frame_rec *f, char *buf, size_t len)
{
    struct canbus_error e;
    if (canbus_error_decode(f, &e) != 0)
        return -1;
    struct out o = {buf, len, 0};
    if (len)
        buf[0] = '\0';
    bool first = true;
    for (size_t i = 0; i < sizeof class_names / sizeof class_names[0]; i++) {
        uint32_t bit = 1u << i;
        if (!(e.classes & bit))
            continue;
        put(&o, "%s%s", first ? "" : ",", class_names[i]);
        first = false;
        if (bit == CANBUS_ERRC_LOSTARB)
            put(&o, "{at bit %u}", e.lostarb_bit);
        else if (bit == CANBUS_ERRC_CRTL) {
            put(&o, "{");
            put_bits(&o, e.ctrl, ctrl_names, sizeof ctrl_names / sizeof ctrl_names[0]);
            put(&o, "}");
        } else if (bit == CANBUS_ERRC_PROT) {
            put(&o, "{");
            put_bits(&o, e.prot_type, prot_names, sizeof prot_names / sizeof prot_names[0]);
            put(&o, "}{location %u}", e.prot_location);
        } else if (bit == CANBUS_ERRC_TRX)
            put(&o, "{0x%02X}", e.trx_status);
    }
    if (e.classes & ~0x3FFu)
        put(&o, "%sunknown-class-0x%X", first ? "" : ",", (unsigned)(e.classes & ~0x3FFu));
    else if (first)
        put(&o, "unspecified");
    if (e.counters && !(e.classes & CANBUS_ERRC_CNT))
        put(&o, ",error-counter-tx-rx");
    if (e.counters)
        put(&o, "{{%u}{%u}}", e.tx_errors, e.rx_errors);
    if (len && o.used >= len)
        buf[len - 1] = '\0';
    return (int)(o.used < len ? o.used : (len ? len - 1 : 0));
}

void canbus_account_error(canbus *bus, const struct can_frame_rec *f)
{
    struct canbus_error e;
    if (canbus_error_decode(f, &e) != 0)
        return;
    struct canbus_stats *s = &bus->stats;
    s->error_frames++;
    s->tx_timeouts += e.tx_timeout;
    s->lost_arbitration += e.lost_arbitration;
    s->no_ack += e.no_ack;
    s->bus_errors += e.protocol_violation || e.bus_error;
    if (e.controller) {
        s->controller_problems++;
        s->error_passive += e.error_passive;
        s->error_warning += e.error_warning;
        if (bus->state != CANBUS_STATE_BUS_OFF) {
            if (e.error_passive)
                bus->state = CANBUS_STATE_PASSIVE;
            else if (e.error_warning)
                bus->state = CANBUS_STATE_WARNING;
            else if (e.back_to_active)
                bus->state = CANBUS_STATE_ACTIVE;
        }
    }
    if (e.bus_off) {
        s->bus_off++;
        bus->state = CANBUS_STATE_BUS_OFF;
    }
    if (e.restarted) {
        s->restarts++;
        bus->state = CANBUS_STATE_ACTIVE;
    }
}
