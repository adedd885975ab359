/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "isotp_fixture.h"

struct fx *fx_new(void)
{
    struct fx *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    return fx;
}

void fx_free(struct fx *fx)
{
    free(fx);
}

void fx_clear(struct fx *fx)
{
    fx->n_sent = 0;
    fx->n_events = 0;
}

void fx_script(struct fx *fx, size_t n, const int *rcs)
{
    assert_true(n <= FX_MAX_SCRIPT);
    memcpy(fx->script, rcs, n * sizeof *rcs);
    fx->n_script = n;
    fx->script_pos = 0;
}

int fx_send(void *ctx, const struct can_frame_rec *f)
{
    struct fx *fx = ctx;
    int rc = fx->script_pos < fx->n_script ? fx->script[fx->script_pos++] : fx->default_rc;
    assert_true(f->len <= 8);
    /* Every attempt is recorded, refused ones too, so tests see the retries. */
    assert_true(fx->n_sent < FX_MAX_FRAMES);
    fx->sent[fx->n_sent++] = *f;
    return rc;
}

void fx_on_event(void *ctx, const struct isotp_event *ev)
{
    struct fx *fx = ctx;
    assert_true(fx->n_events < FX_MAX_EVENTS);
    struct fx_event *e = &fx->events[fx->n_events++];
    e->ev = *ev;
    if (ev->kind == ISOTP_EV_RX_DONE) {
        assert_true(ev->len <= ISOTP_MAX_PAYLOAD);
        memcpy(e->data, ev->data, ev->len);
        e->ev.data = e->data;
    } else {
        e->ev.data = NULL;
    }
}

struct isotp_io fx_io(struct fx *fx)
{
    return (struct isotp_io){.send = fx_send, .on_event = fx_on_event, .ctx = fx};
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

size_t fx_bytes(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = 0;
    for (const char *p = hex; *p;) {
        if (*p == ' ') {
            p++;
            continue;
        }
        int hi = hexval(p[0]), lo = hexval(p[1]);
        assert_true(hi >= 0 && lo >= 0);
        assert_true(n < cap);
        out[n++] = (uint8_t)(hi << 4 | lo);
        p += 2;
    }
    return n;
}

struct can_frame_rec fx_frame(uint32_t id, const char *hex)
{
    struct can_frame_rec f = {.id = id};
    f.len = (uint8_t)fx_bytes(hex, f.data, sizeof f.data);
    return f;
}

size_t fx_segments(uint32_t id, const uint8_t *msg, size_t len, int pad, struct can_frame_rec *out,
                   size_t cap)
{
    size_t n = 0, pos = 0;
    unsigned sn = 1;
    assert_true(len >= 1 && len <= 4095 && cap >= 1);
    while (pos < len || n == 0) {
        assert_true(n < cap);
        struct can_frame_rec *f = &out[n++];
        memset(f, 0, sizeof *f);
        f->id = id;
        unsigned used, take;
        if (len <= 7) {
            f->data[0] = (uint8_t)len;
            take = (unsigned)len;
            memcpy(f->data + 1, msg, take);
            used = 1 + take;
        } else if (pos == 0) {
            f->data[0] = (uint8_t)(0x10 | len >> 8);
            f->data[1] = (uint8_t)len;
            take = 6;
            memcpy(f->data + 2, msg, take);
            used = 8;
        } else {
            f->data[0] = (uint8_t)(0x20 | (sn++ & 0x0F));
            take = len - pos > 7 ? 7 : (unsigned)(len - pos);
            memcpy(f->data + 1, msg + pos, take);
            used = 1 + take;
        }
        pos += take;
        if (pad >= 0) {
            memset(f->data + used, pad, 8 - used);
            used = 8;
        }
        f->len = (uint8_t)used;
    }
    return n;
}

void fx_assert_sent(const struct fx *fx, size_t n, uint32_t id, const char *hex)
{
    if (n >= fx->n_sent)
        fail_msg("frame %zu was not sent (only %zu)", n, fx->n_sent);
    struct can_frame_rec want = fx_frame(id, hex);
    const struct can_frame_rec *got = &fx->sent[n];
    if (got->id != want.id || got->len != want.len || memcmp(got->data, want.data, want.len) != 0) {
        char text[64] = "";
        for (unsigned i = 0; i < got->len && i < 8; i++)
            snprintf(text + 3 * i, sizeof text - 3 * i, "%02X ", got->data[i]);
        fail_msg("frame %zu: got %08X [%u] %s, want %08X %s", n, (unsigned)got->id, got->len, text,
                 (unsigned)id, hex);
    }
}

size_t fx_count(const struct fx *fx, enum isotp_event_kind kind)
{
    size_t n = 0;
    for (size_t i = 0; i < fx->n_events; i++)
        n += fx->events[i].ev.kind == kind;
    return n;
}

const struct isotp_event *fx_nth(const struct fx *fx, enum isotp_event_kind kind, size_t n)
{
    size_t left = n;
    for (size_t i = 0; i < fx->n_events; i++)
        if (fx->events[i].ev.kind == kind && left-- == 0)
            return &fx->events[i].ev;
    fail_msg("no event #%zu of kind %d", n, (int)kind);
    return NULL;
}
