/* SPDX-License-Identifier: MIT */
/*
 * For the ISO-TP and OBD unit tests: a recording bus (every frame sent, a script of
 * send results), a recording event sink, and frames written as hex strings.
 */
#ifndef ISOTP_FIXTURE_H
#define ISOTP_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include "isotp.h"

#define FX_MAX_FRAMES 1024
#define FX_MAX_EVENTS 64
#define FX_MAX_SCRIPT 64

#define MS(x)   ((uint64_t)(x)*1000u)
#define ID29(x) ((uint32_t)(x) | CAN_FRAME_EFF)

struct fx_event {
    struct isotp_event ev; /* ev.data points into data */
    uint8_t data[ISOTP_MAX_PAYLOAD];
};

/* Owned by the test (fx_new / fx_free). */
struct fx {
    struct can_frame_rec sent[FX_MAX_FRAMES];
    size_t n_sent;
    int script[FX_MAX_SCRIPT]; /* results of the next sends, then default_rc */
    size_t n_script, script_pos;
    int default_rc;
    struct fx_event events[FX_MAX_EVENTS];
    size_t n_events;
};

struct fx *fx_new(void);
void fx_free(struct fx *fx);
void fx_clear(struct fx *fx); /* forget frames and events */
void fx_script(struct fx *fx, size_t n, const int *rcs);
int fx_send(void *ctx, const struct can_frame_rec *f);
void fx_on_event(void *ctx, const struct isotp_event *ev);
struct isotp_io fx_io(struct fx *fx);

/* "10 14 49 02" -> bytes; returns the count. */
size_t fx_bytes(const char *hex, uint8_t *out, size_t cap);
struct can_frame_rec fx_frame(uint32_t id, const char *hex);
/* Frames a peer would send for msg (SF, or FF + CFs), padded with pad (or not: -1).
 * Written apart from the library so that it does not share its mistakes. */
size_t fx_segments(uint32_t id, const uint8_t *msg, size_t len, int pad, struct can_frame_rec *out,
                   size_t cap);
/* The n-th sent frame equals id + hex (length included). */
void fx_assert_sent(const struct fx *fx, size_t n, uint32_t id, const char *hex);
/* Events of one kind, and the n-th of them. */
size_t fx_count(const struct fx *fx, enum isotp_event_kind kind);
const struct isotp_event *fx_nth(const struct fx *fx, enum isotp_event_kind kind, size_t n);

#endif
