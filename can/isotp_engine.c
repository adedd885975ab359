/* SPDX-License-Identifier: MIT */
/*
 * One ISO-TP endpoint: reception (SF, FF, CF, our FC) and transmission (SF, FF, CF,
 * their FC) for one pair of identifiers. Unexpected frames are handled as ISO 15765-2
 * says: a new SF/FF from the sender ends a reception in progress (N_UNEXP_PDU) and starts
 * anew, a CF or FC nobody waits for is ignored, a malformed frame is ignored.
 */
#include <string.h>

#include "isotp_engine.h"

void isotp_engine_init(struct isotp_engine *e, const struct isotp_params *p,
                       const struct isotp_io *io, struct isotp_stats *stats, uint64_t *ticket,
                       uint32_t tx_id, uint32_t rx_id, uint8_t ecu)
{
    memset(e, 0, sizeof *e);
    e->p = p;
    e->io = io;
    e->stats = stats;
    e->ticket = ticket;
    e->tx_id = tx_id;
    e->rx_id = rx_id;
    e->ecu = ecu;
}

void isotp_engine_reset(struct isotp_engine *e)
{
    e->rx.state = RX_IDLE;
    e->rx.out.state = OUT_IDLE;
    e->rx.fc_overflow = false;
    e->tx.state = TX_IDLE;
    e->tx.out.state = OUT_IDLE;
}

bool isotp_frame_usable(const struct can_frame_rec *f)
{
    return f && !(f->id & (CAN_FRAME_RTR | CAN_FRAME_ERR)) && f->len >= 1 && f->len <= 8;
}

bool isotp_parse_sf(const struct can_frame_rec *f, const uint8_t **data, size_t *len)
{
    if (!isotp_frame_usable(f) || f->data[0] >> 4 != ISOTP_PCI_SF)
        return false;
    size_t dl = f->data[0] & 0x0Fu;
    /* SF_DL 0 is the CAN FD escape and 8..15 are invalid on classic CAN; SF_DL beyond the
     * frame's data is a lie. All are ignored. */
    if (dl == 0 || dl > ISOTP_SF_MAX || dl + 1 > f->len)
        return false;
    *data = f->data + 1;
    *len = dl;
    return true;
}

void isotp_emit(const struct isotp_engine *e, enum isotp_event_kind kind, int rc,
                const uint8_t *data, size_t len)
{
    if (!e->io->on_event)
        return;
    struct isotp_event ev = {
        .kind = kind,
        .rc = rc,
        .rx_id = e->rx_id,
        .tx_id = e->tx_id,
        .ecu = e->ecu,
        .data = data,
        .len = len,
    };
    e->io->on_event(e->io->ctx, &ev);
}

/* ---- frames on their way out ---------------------------------------------------------- */

static void frame_begin(const struct isotp_engine *e, struct can_frame_rec *f, uint64_t now_us)
{
    memset(f, 0, sizeof *f);
    f->id = e->tx_id;
    f->t_us = now_us;
}

static void frame_end(const struct isotp_engine *e, struct can_frame_rec *f, unsigned used)
{
    if (e->p->pad_byte == ISOTP_NO_PADDING) {
        f->len = (uint8_t)used;
        return;
    }
    memset(f->data + used, e->p->pad_byte, 8 - used);
    f->len = 8;
}

/* Offers the frame to the bus: 0 it went out, 1 pending (refused for now or awaiting its
 * confirmation), negative the send failed. */
static int out_offer(struct isotp_engine *e, struct isotp_out *o, uint64_t now_us)
{
    o->frame.t_us = now_us;
    int rc = e->io->send(e->io->ctx, &o->frame);
    switch (rc) {
    case ISOTP_SEND_DONE:
        e->stats->frames_tx++;
        o->state = OUT_IDLE;
        return 0;
    case ISOTP_SEND_QUEUED:
        e->stats->frames_tx++;
        o->state = OUT_CONFIRM;
        o->confirm_until_us = isotp_add_ms(now_us, o->confirm_ms);
        o->ticket = ++*e->ticket;
        return 1;
    case ISOTP_SEND_BUSY:
        e->stats->send_busy++;
        o->state = OUT_RETRY;
        o->retry_at_us = isotp_add_us(now_us, ISOTP_RETRY_US);
        return 1;
    default:
        o->state = OUT_IDLE;
        return ISOTP_ESEND;
    }
}

/* Like out_offer for a frame already pending; negative when its window ran out. */
static int out_poll(struct isotp_engine *e, struct isotp_out *o, uint64_t now_us)
{
    if (o->state == OUT_CONFIRM) {
        if (now_us <= o->confirm_until_us)
            return 1;
        o->state = OUT_IDLE;
        return o->confirm_rc;
    }
    if (o->state == OUT_RETRY) {
        if (now_us > o->retry_until_us) {
            o->state = OUT_IDLE;
            return o->retry_rc;
        }
        if (now_us < o->retry_at_us)
            return 1;
        return out_offer(e, o, now_us);
    }
    return 1;
}

static uint64_t out_deadline(const struct isotp_out *o)
{
    if (o->state == OUT_CONFIRM)
        return isotp_add_us(o->confirm_until_us, 1);
    if (o->state == OUT_RETRY) {
        uint64_t expiry = isotp_add_us(o->retry_until_us, 1);
        return o->retry_at_us < expiry ? o->retry_at_us : expiry;
    }
    return UINT64_MAX;
}

/* ---- reception ------------------------------------------------------------------------ */

static void rx_end(struct isotp_engine *e)
{
    e->rx.state = RX_IDLE;
    e->rx.out.state = OUT_IDLE;
    e->rx.fc_overflow = false;
}

static void rx_fail(struct isotp_engine *e, int rc)
{
    uint32_t announced = e->rx.len;
    bool reported = e->rx.fc_overflow; /* an OVERFLOW was reported when the FF came */
    rx_end(e);
    if (reported)
        return;
    e->stats->rx_errors++;
    isotp_emit(e, ISOTP_EV_RX_ERROR, rc, NULL, announced);
}

/* Our FC is on the bus: wait for the next CF (or, after OVERFLOW, for nothing). */
static void rx_fc_out(struct isotp_engine *e, uint64_t now_us)
{
    if (e->rx.fc_overflow) {
        rx_end(e);
        return;
    }
    e->rx.state = RX_CF;
    e->rx.cr_until_us = isotp_add_ms(now_us, e->p->n_cr_ms);
}

static void rx_send_fc(struct isotp_engine *e, enum isotp_fs fs, uint64_t now_us)
{
    struct isotp_out *o = &e->rx.out;
    frame_begin(e, &o->frame, now_us);
    o->frame.data[0] = (uint8_t)(ISOTP_PCI_FC << 4 | fs);
    o->frame.data[1] = e->p->block_size;
    o->frame.data[2] = e->p->st_min;
    frame_end(e, &o->frame, 3);
    o->retry_until_us = isotp_add_ms(now_us, e->p->n_br_ms);
    o->confirm_ms = e->p->n_ar_ms;
    o->retry_rc = ISOTP_ETIMEOUT_BR;
    o->confirm_rc = ISOTP_ETIMEOUT_AR;
    e->rx.state = RX_FC;
    e->rx.block_left = e->p->block_size;
    int rc = out_offer(e, o, now_us);
    if (rc == 0)
        rx_fc_out(e, now_us);
    else if (rc < 0)
        rx_fail(e, rc);
}

static void rx_single(struct isotp_engine *e, const struct can_frame_rec *f)
{
    const uint8_t *data;
    size_t len;
    if (!isotp_parse_sf(f, &data, &len)) {
        e->stats->ignored++;
        return;
    }
    if (e->rx.state != RX_IDLE)
        rx_fail(e, ISOTP_EUNEXP_PDU);
    e->stats->msgs_rx++;
    isotp_emit(e, ISOTP_EV_RX_DONE, ISOTP_OK, data, len);
}

static void rx_first(struct isotp_engine *e, const struct can_frame_rec *f, uint64_t now_us)
{
    /* A first frame always fills the CAN frame; shorter ones are malformed. */
    if (f->len < 8) {
        e->stats->ignored++;
        return;
    }
    uint32_t len = (uint32_t)(f->data[0] & 0x0Fu) << 8 | f->data[1];
    unsigned off = 2;
    if (len == 0) { /* escape sequence: a 32-bit FF_DL follows */
        len = (uint32_t)f->data[2] << 24 | (uint32_t)f->data[3] << 16 | (uint32_t)f->data[4] << 8 |
              f->data[5];
        off = 6;
    }
    if (len <= ISOTP_SF_MAX) { /* below FF_DLmin: ignored (ISO 15765-2) */
        e->stats->ignored++;
        return;
    }
    if (e->rx.state != RX_IDLE)
        rx_fail(e, ISOTP_EUNEXP_PDU);
    e->rx.len = len;
    e->rx.got = 0;
    if (len > e->p->rx_max_len) {
        /* Too long for us: say so once, then tell the sender (FC OVERFLOW). */
        e->stats->rx_errors++;
        isotp_emit(e, ISOTP_EV_RX_ERROR, ISOTP_EOVERFLOW, NULL, len);
        e->rx.fc_overflow = true;
        rx_send_fc(e, ISOTP_FS_OVFLW, now_us);
        return;
    }
    unsigned n = 8 - off;
    memcpy(e->rx.buf, f->data + off, n);
    e->rx.got = n;
    e->rx.sn = 1;
    isotp_emit(e, ISOTP_EV_RX_FIRST, ISOTP_OK, NULL, len);
    rx_send_fc(e, ISOTP_FS_CTS, now_us);
}

static void rx_consecutive(struct isotp_engine *e, const struct can_frame_rec *f, uint64_t now_us)
{
    struct isotp_rx *r = &e->rx;
    if (r->state == RX_FC && r->out.state == OUT_CONFIRM && !r->fc_overflow) {
        /* The sender saw our FC before our bus confirmed it to us. */
        r->out.state = OUT_IDLE;
        rx_fc_out(e, now_us);
    }
    if (r->state != RX_CF) {
        e->stats->ignored++;
        return;
    }
    uint32_t want = r->len - r->got;
    if (want > 7)
        want = 7;
    if (f->len < want + 1) { /* shorter than the data it must carry: ignored */
        e->stats->ignored++;
        return;
    }
    if ((f->data[0] & 0x0Fu) != r->sn) {
        rx_fail(e, ISOTP_EWRONG_SN);
        return;
    }
    memcpy(r->buf + r->got, f->data + 1, want);
    r->got += want;
    r->sn = (r->sn + 1) & 0x0Fu;
    if (r->got == r->len) {
        uint32_t len = r->len;
        rx_end(e);
        e->stats->msgs_rx++;
        isotp_emit(e, ISOTP_EV_RX_DONE, ISOTP_OK, r->buf, len);
        return;
    }
    if (e->p->block_size && --r->block_left == 0) {
        rx_send_fc(e, ISOTP_FS_CTS, now_us);
        return;
    }
    r->cr_until_us = isotp_add_ms(now_us, e->p->n_cr_ms);
}

/* ---- transmission --------------------------------------------------------------------- */

static void tx_end(struct isotp_engine *e)
{
    e->tx.state = TX_IDLE;
    e->tx.out.state = OUT_IDLE;
}

static void tx_fail(struct isotp_engine *e, int rc)
{
    uint32_t len = e->tx.len;
    tx_end(e);
    e->stats->tx_errors++;
    isotp_emit(e, ISOTP_EV_TX_ERROR, rc, NULL, len);
}

static void tx_finish(struct isotp_engine *e)
{
    uint32_t len = e->tx.len;
    tx_end(e);
    e->stats->msgs_tx++;
    isotp_emit(e, ISOTP_EV_TX_DONE, ISOTP_OK, NULL, len);
}

static void tx_wait_fc(struct isotp_engine *e, uint64_t now_us)
{
    e->tx.state = TX_WAIT_FC;
    e->tx.bs_until_us = isotp_add_ms(now_us, e->p->n_bs_ms);
}

static bool tx_block_over(const struct isotp_tx *t)
{
    return t->bs && t->block_left == 0 && t->sent < t->len;
}

/* The frame in tx.out is on the bus. */
static void tx_sent(struct isotp_engine *e, uint64_t now_us)
{
    struct isotp_tx *t = &e->tx;
    switch (t->state) {
    case TX_SF:
        tx_finish(e);
        break;
    case TX_FF:
        t->wft = 0;
        tx_wait_fc(e, now_us);
        break;
    case TX_CF:
        if (t->sent == t->len)
            tx_finish(e);
        else if (tx_block_over(t))
            tx_wait_fc(e, now_us);
        else {
            t->state = TX_WAIT_GAP;
            t->next_cf_us = isotp_add_us(now_us, t->stmin_us);
        }
        break;
    default:
        break;
    }
}

static void tx_send_cf(struct isotp_engine *e, uint64_t due_us, uint64_t now_us)
{
    struct isotp_tx *t = &e->tx;
    struct isotp_out *o = &t->out;
    uint32_t n = t->len - t->sent;
    if (n > 7)
        n = 7;
    frame_begin(e, &o->frame, now_us);
    o->frame.data[0] = (uint8_t)(ISOTP_PCI_CF << 4 | t->sn);
    memcpy(o->frame.data + 1, t->buf + t->sent, n);
    frame_end(e, &o->frame, n + 1);
    t->sent += n;
    t->sn = (t->sn + 1) & 0x0Fu;
    if (t->bs)
        t->block_left--;
    o->retry_until_us = isotp_add_ms(due_us, e->p->n_cs_ms);
    o->confirm_ms = e->p->n_as_ms;
    o->retry_rc = ISOTP_ETIMEOUT_CS;
    o->confirm_rc = ISOTP_ETIMEOUT_AS;
    t->state = TX_CF;
    int rc = out_offer(e, o, now_us);
    if (rc == 0)
        tx_sent(e, now_us);
    else if (rc < 0)
        tx_fail(e, rc);
}

/* Sends every consecutive frame that is due (all of a block at once with STmin 0). */
static void tx_pump(struct isotp_engine *e, uint64_t now_us)
{
    struct isotp_tx *t = &e->tx;
    while (t->state == TX_WAIT_GAP && now_us >= t->next_cf_us) {
        uint64_t due = t->next_cf_us;
        if (now_us > isotp_add_ms(due, e->p->n_cs_ms)) {
            tx_fail(e, ISOTP_ETIMEOUT_CS);
            return;
        }
        tx_send_cf(e, due, now_us);
    }
}

static void tx_flow_control(struct isotp_engine *e, const struct can_frame_rec *f, uint64_t now_us)
{
    struct isotp_tx *t = &e->tx;
    if (f->len < 3) {
        e->stats->ignored++;
        return;
    }
    /* The receiver answered before our bus confirmed the frame it answers. */
    if (t->out.state == OUT_CONFIRM &&
        (t->state == TX_FF || (t->state == TX_CF && tx_block_over(t)))) {
        t->out.state = OUT_IDLE;
        tx_sent(e, now_us);
    }
    if (t->state != TX_WAIT_FC) {
        e->stats->ignored++;
        return;
    }
    switch (f->data[0] & 0x0Fu) {
    case ISOTP_FS_CTS:
        if (!t->fc_seen || e->p->dynamic_fc) {
            t->bs = f->data[1];
            t->stmin_us = isotp_stmin_us(f->data[2]);
        }
        t->fc_seen = true;
        t->wft = 0;
        t->block_left = t->bs;
        t->state = TX_WAIT_GAP;
        t->next_cf_us = now_us;
        tx_pump(e, now_us);
        break;
    case ISOTP_FS_WAIT:
        if (++t->wft > e->p->wft_max)
            tx_fail(e, ISOTP_EWFT_OVRN);
        else
            tx_wait_fc(e, now_us);
        break;
    case ISOTP_FS_OVFLW:
        /* OVERFLOW only answers a first frame; later it is a reserved use. */
        tx_fail(e, t->fc_seen ? ISOTP_EINVALID_FS : ISOTP_EOVERFLOW);
        break;
    default:
        tx_fail(e, ISOTP_EINVALID_FS);
        break;
    }
}

int isotp_engine_send(struct isotp_engine *e, const uint8_t *data, size_t len, uint64_t now_us)
{
    struct isotp_tx *t = &e->tx;
    if (t->state != TX_IDLE)
        return ISOTP_EBUSY;
    if (!data || len == 0)
        return ISOTP_EINVAL;
    if (len > ISOTP_MAX_PAYLOAD)
        return ISOTP_ETOOLONG;
    memcpy(t->buf, data, len);
    t->len = (uint32_t)len;
    t->fc_seen = false;
    t->bs = 0;
    t->block_left = 0;
    t->stmin_us = 0;
    t->wft = 0;
    struct isotp_out *o = &t->out;
    frame_begin(e, &o->frame, now_us);
    if (len <= ISOTP_SF_MAX) {
        o->frame.data[0] = (uint8_t)len;
        memcpy(o->frame.data + 1, data, len);
        frame_end(e, &o->frame, (unsigned)len + 1);
        t->sent = (uint32_t)len;
        t->state = TX_SF;
    } else {
        o->frame.data[0] = (uint8_t)(ISOTP_PCI_FF << 4 | len >> 8);
        o->frame.data[1] = (uint8_t)(len & 0xFFu);
        memcpy(o->frame.data + 2, data, 6);
        frame_end(e, &o->frame, 8);
        t->sent = 6;
        t->sn = 1;
        t->state = TX_FF;
    }
    o->retry_until_us = isotp_add_ms(now_us, e->p->n_as_ms);
    o->confirm_ms = e->p->n_as_ms;
    o->retry_rc = ISOTP_ETIMEOUT_AS;
    o->confirm_rc = ISOTP_ETIMEOUT_AS;
    int rc = out_offer(e, o, now_us);
    if (rc < 0) {
        tx_end(e);
        return rc;
    }
    if (rc == 0)
        tx_sent(e, now_us);
    return ISOTP_OK;
}

/* ---- driving -------------------------------------------------------------------------- */

void isotp_engine_on_frame(struct isotp_engine *e, const struct can_frame_rec *f, uint64_t now_us)
{
    e->stats->frames_rx++;
    switch (f->data[0] >> 4) {
    case ISOTP_PCI_SF:
        rx_single(e, f);
        break;
    case ISOTP_PCI_FF:
        rx_first(e, f, now_us);
        break;
    case ISOTP_PCI_CF:
        rx_consecutive(e, f, now_us);
        break;
    case ISOTP_PCI_FC:
        tx_flow_control(e, f, now_us);
        break;
    default: /* reserved N_PCI types */
        e->stats->ignored++;
        break;
    }
}

void isotp_engine_poll(struct isotp_engine *e, uint64_t now_us)
{
    struct isotp_rx *r = &e->rx;
    if (r->state == RX_FC) {
        int rc = out_poll(e, &r->out, now_us);
        if (rc == 0)
            rx_fc_out(e, now_us);
        else if (rc < 0)
            rx_fail(e, rc);
    } else if (r->state == RX_CF && now_us > r->cr_until_us) {
        rx_fail(e, ISOTP_ETIMEOUT_CR);
    }

    struct isotp_tx *t = &e->tx;
    switch (t->state) {
    case TX_SF:
    case TX_FF:
    case TX_CF: {
        int rc = out_poll(e, &t->out, now_us);
        if (rc == 0) {
            tx_sent(e, now_us);
            tx_pump(e, now_us);
        } else if (rc < 0) {
            tx_fail(e, rc);
        }
        break;
    }
    case TX_WAIT_FC:
        if (now_us > t->bs_until_us)
            tx_fail(e, ISOTP_ETIMEOUT_BS);
        break;
    case TX_WAIT_GAP:
        tx_pump(e, now_us);
        break;
    default:
        break;
    }
}

static bool rx_confirm_pending(const struct isotp_engine *e)
{
    return e->rx.state == RX_FC && e->rx.out.state == OUT_CONFIRM;
}

static bool tx_confirm_pending(const struct isotp_engine *e)
{
    return (e->tx.state == TX_SF || e->tx.state == TX_FF || e->tx.state == TX_CF) &&
           e->tx.out.state == OUT_CONFIRM;
}

uint64_t isotp_engine_oldest_ticket(const struct isotp_engine *e)
{
    uint64_t a = rx_confirm_pending(e) ? e->rx.out.ticket : 0;
    uint64_t b = tx_confirm_pending(e) ? e->tx.out.ticket : 0;
    if (a && (!b || a < b))
        return a;
    return b;
}

void isotp_engine_tx_done(struct isotp_engine *e, uint64_t now_us)
{
    uint64_t oldest = isotp_engine_oldest_ticket(e);
    if (!oldest)
        return;
    /* A confirmation after its window is the timeout, whether or not poll saw it first. */
    if (rx_confirm_pending(e) && e->rx.out.ticket == oldest) {
        e->rx.out.state = OUT_IDLE;
        if (now_us > e->rx.out.confirm_until_us)
            rx_fail(e, e->rx.out.confirm_rc);
        else
            rx_fc_out(e, now_us);
        return;
    }
    e->tx.out.state = OUT_IDLE;
    if (now_us > e->tx.out.confirm_until_us) {
        tx_fail(e, e->tx.out.confirm_rc);
        return;
    }
    tx_sent(e, now_us);
    tx_pump(e, now_us);
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

uint64_t isotp_engine_next_deadline_us(const struct isotp_engine *e)
{
    uint64_t t = UINT64_MAX;
    if (e->rx.state == RX_FC)
        t = out_deadline(&e->rx.out);
    else if (e->rx.state == RX_CF)
        t = isotp_add_us(e->rx.cr_until_us, 1);
    switch (e->tx.state) {
    case TX_SF:
    case TX_FF:
    case TX_CF:
        t = min_u64(t, out_deadline(&e->tx.out));
        break;
    case TX_WAIT_FC:
        t = min_u64(t, isotp_add_us(e->tx.bs_until_us, 1));
        break;
    case TX_WAIT_GAP:
        t = min_u64(t, e->tx.next_cf_us);
        break;
    default:
        break;
    }
    return t;
}

bool isotp_engine_rx_busy(const struct isotp_engine *e)
{
    return e->rx.state != RX_IDLE;
}

bool isotp_engine_tx_busy(const struct isotp_engine *e)
{
    return e->tx.state != TX_IDLE;
}
