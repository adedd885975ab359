/* SPDX-License-Identifier: MIT */
/*
 * One CAN frame as every part of can/ sees it: the bus backends produce and
 * consume it, the J1939 and ISO-TP stacks are pure state machines over it.
 * Independent of <linux/can.h> so the stacks build and test anywhere; the
 * SocketCAN backend converts.
 */
#ifndef CAN_FRAME_H
#define CAN_FRAME_H

#include <stdbool.h>
#include <stdint.h>

#define CAN_FRAME_EFF 0x80000000u /* 29-bit identifier */
#define CAN_FRAME_RTR 0x40000000u /* remote transmission request */
#define CAN_FRAME_ERR 0x20000000u /* error frame (bus backends report these) */
/* Spelled exactly as <linux/can.h> does, so including both is not a redefinition. */
#ifndef CAN_SFF_MASK
#define CAN_SFF_MASK 0x000007FFU
#endif
#ifndef CAN_EFF_MASK
#define CAN_EFF_MASK 0x1FFFFFFFU
#endif

struct can_frame_rec {
    uint32_t id; /* identifier | CAN_FRAME_EFF / RTR / ERR flags */
    uint8_t len; /* 0..8 (classic CAN) */
    uint8_t data[8];
    uint64_t t_us; /* receive (or send) time, microseconds, monotonic or from a log */
};

static inline bool can_frame_is_ext(const struct can_frame_rec *f)
{
    return (f->id & CAN_FRAME_EFF) != 0;
}

static inline uint32_t can_frame_ident(const struct can_frame_rec *f)
{
    return f->id & (can_frame_is_ext(f) ? CAN_EFF_MASK : CAN_SFF_MASK);
}

#endif
