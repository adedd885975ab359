/* SPDX-License-Identifier: MIT */
/* Shared by the j1939_*.c files; not part of the API. */
#ifndef J1939_INTERNAL_H
#define J1939_INTERNAL_H

#include <stdarg.h>
#include <stdio.h>

#include "j1939.h"

/* Formats a message into err (when given) and returns J1939_EINVAL. */
__attribute__((format(printf, 3, 4))) static inline int tp_fail(char *err, size_t errlen,
                                                                const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return J1939_EINVAL;
}

int j1939_tp_timing_check(const struct j1939_tp_timing *t, char *err, size_t errlen);

/* A TP.CM frame: control byte, four parameter bytes, the PGN (LE, 3 bytes). */
static inline void tp_cm_make(struct can_frame_rec *f, uint8_t priority, uint8_t da, uint8_t sa,
                              uint8_t control, uint8_t b1, uint8_t b2, uint8_t b3, uint8_t b4,
                              uint32_t pgn, uint64_t t_us)
{
    uint8_t d[8] = {
        control, b1, b2, b3, b4, (uint8_t)pgn, (uint8_t)(pgn >> 8), (uint8_t)(pgn >> 16)};
    j1939_frame_make(f, priority, J1939_PGN_TP_CM, da, sa, d, 8, t_us);
}

static inline uint32_t tp_cm_pgn(const uint8_t *d)
{
    return (uint32_t)d[5] | (uint32_t)d[6] << 8 | (uint32_t)d[7] << 16;
}

static inline uint16_t tp_cm_size(const uint8_t *d)
{
    return (uint16_t)(d[1] | d[2] << 8);
}

/* Packets needed for size bytes. */
static inline unsigned tp_packets(unsigned size)
{
    return (size + 6u) / 7u;
}

/* now + limit, saturating: a timeout fires when now is past the deadline,
 * so exactly T after the event is still in time. */
static inline uint64_t tp_deadline(uint64_t now_us, uint64_t limit_us)
{
    return now_us > UINT64_MAX - limit_us ? UINT64_MAX : now_us + limit_us;
}

#endif
