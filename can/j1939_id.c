/* SPDX-License-Identifier: MIT */
/* J1939-21 identifiers, requests, acknowledgements; J1939-81 NAME; names of codes. */
#include <string.h>

#include "j1939.h"
#include "j1939_internal.h"

const char *j1939_strerror(int rc)
{
    switch (rc) {
    case J1939_OK:
        return "ok";
    case J1939_EINVAL:
        return "invalid argument";
    case J1939_EBUSY:
        return "a session for that source and destination is already running";
    case J1939_EFULL:
        return "session table full";
    case J1939_ENOENT:
        return "no such session";
    default:
        return "unknown error";
    }
}

const char *j1939_validity_name(enum j1939_validity v)
{
    switch (v) {
    case J1939_VALID:
        return "valid";
    case J1939_NOT_AVAILABLE:
        return "not available";
    case J1939_ERROR:
        return "error";
    case J1939_MISSING:
        return "missing";
    }
    return "?";
}

bool j1939_id_parse(const struct can_frame_rec *f, struct j1939_id *out)
{
    uint32_t id = f->id & CAN_EFF_MASK;
    out->priority = (uint8_t)((id >> 26) & 7u);
    out->edp = (uint8_t)((id >> 25) & 1u);
    out->dp = (uint8_t)((id >> 24) & 1u);
    out->pf = (uint8_t)(id >> 16);
    out->ps = (uint8_t)(id >> 8);
    out->sa = (uint8_t)id;
    out->pgn = (uint32_t)out->edp << 17 | (uint32_t)out->dp << 16 | (uint32_t)out->pf << 8;
    if (out->pf < 240u) {
        out->da = out->ps;
    } else {
        out->da = J1939_ADDR_GLOBAL;
        out->pgn |= out->ps;
    }
    if ((f->id & (CAN_FRAME_EFF | CAN_FRAME_RTR | CAN_FRAME_ERR)) != CAN_FRAME_EFF)
        return false;
    return out->edp == 0;
}

uint32_t j1939_id_make(uint8_t priority, uint32_t pgn, uint8_t da, uint8_t sa)
{
    pgn &= J1939_PGN_MAX;
    uint32_t ps = j1939_pgn_is_pdu1(pgn) ? da : (pgn & 0xFFu);
    uint32_t id = (uint32_t)(priority & 7u) << 26 | (pgn & 0x3FF00u) << 8 | ps << 8 | sa;
    return id | CAN_FRAME_EFF;
}

void j1939_frame_make(struct can_frame_rec *f, uint8_t priority, uint32_t pgn, uint8_t da,
                      uint8_t sa, const uint8_t *data, uint8_t len, uint64_t t_us)
{
    if (len > 8)
        len = 8;
    f->id = j1939_id_make(priority, pgn, da, sa);
    f->len = len;
    memset(f->data, 0xFF, sizeof f->data);
    if (len)
        memcpy(f->data, data, len);
    f->t_us = t_us;
}

void j1939_request_make(struct can_frame_rec *f, uint32_t pgn, uint8_t da, uint8_t sa,
                        uint64_t t_us)
{
    uint8_t d[3] = {(uint8_t)pgn, (uint8_t)(pgn >> 8), (uint8_t)((pgn >> 16) & 0x03u)};
    j1939_frame_make(f, 6, J1939_PGN_REQUEST, da, sa, d, 3, t_us);
}

bool j1939_request_parse(const struct can_frame_rec *f, struct j1939_id *id, uint32_t *pgn)
{
    if (!j1939_id_parse(f, id) || id->pgn != J1939_PGN_REQUEST || f->len < 3)
        return false;
    *pgn = (uint32_t)f->data[0] | (uint32_t)f->data[1] << 8 | (uint32_t)f->data[2] << 16;
    return *pgn <= J1939_PGN_MAX;
}

void j1939_ack_make(struct can_frame_rec *f, enum j1939_ack_control control, uint32_t pgn,
                    uint8_t requester, uint8_t sa, uint64_t t_us)
{
    uint8_t d[8] = {(uint8_t)control,
                    0xFF,
                    0xFF,
                    0xFF,
                    requester,
                    (uint8_t)pgn,
                    (uint8_t)(pgn >> 8),
                    (uint8_t)((pgn >> 16) & 0x03u)};
    j1939_frame_make(f, 6, J1939_PGN_ACK, J1939_ADDR_GLOBAL, sa, d, 8, t_us);
}

bool j1939_ack_parse(const struct can_frame_rec *f, enum j1939_ack_control *control, uint32_t *pgn,
                     uint8_t *requester)
{
    struct j1939_id id;
    if (!j1939_id_parse(f, &id) || id.pgn != J1939_PGN_ACK || f->len < 8 ||
        f->data[0] > J1939_ACK_CANNOT_RESPOND)
        return false;
    *control = (enum j1939_ack_control)f->data[0];
    *requester = f->data[4];
    *pgn = (uint32_t)f->data[5] | (uint32_t)f->data[6] << 8 | (uint32_t)f->data[7] << 16;
    return *pgn <= J1939_PGN_MAX;
}

bool j1939_msg_from_frame(const struct can_frame_rec *f, struct j1939_msg *msg)
{
    struct j1939_id id;
    if (!j1939_id_parse(f, &id))
        return false;
    msg->pgn = id.pgn;
    msg->sa = id.sa;
    msg->da = id.da;
    msg->priority = id.priority;
    msg->via_tp = false;
    msg->len = f->len > 8 ? 8 : f->len;
    msg->data = f->data;
    msg->t_us = f->t_us;
    return true;
}

uint64_t j1939_name_pack(const struct j1939_name_fields *n)
{
    return (uint64_t)(n->identity & 0x1FFFFFu) | (uint64_t)(n->manufacturer & 0x7FFu) << 21 |
           (uint64_t)(n->ecu_instance & 0x7u) << 32 |
           (uint64_t)(n->function_instance & 0x1Fu) << 35 | (uint64_t)n->function << 40 |
           (uint64_t)(n->vehicle_system & 0x7Fu) << 49 |
           (uint64_t)(n->vehicle_system_instance & 0xFu) << 56 |
           (uint64_t)(n->industry_group & 0x7u) << 60 |
           (uint64_t)(n->arbitrary_address ? 1 : 0) << 63;
}

void j1939_name_unpack(uint64_t name, struct j1939_name_fields *n)
{
    n->identity = (uint32_t)(name & 0x1FFFFFu);
    n->manufacturer = (uint16_t)((name >> 21) & 0x7FFu);
    n->ecu_instance = (uint8_t)((name >> 32) & 0x7u);
    n->function_instance = (uint8_t)((name >> 35) & 0x1Fu);
    n->function = (uint8_t)(name >> 40);
    n->vehicle_system = (uint8_t)((name >> 49) & 0x7Fu);
    n->vehicle_system_instance = (uint8_t)((name >> 56) & 0xFu);
    n->industry_group = (uint8_t)((name >> 60) & 0x7u);
    n->arbitrary_address = (name >> 63) != 0;
}

void j1939_address_claimed_make(struct can_frame_rec *f, uint64_t name, uint8_t sa, uint64_t t_us)
{
    uint8_t d[8];
    for (int i = 0; i < 8; i++)
        d[i] = (uint8_t)(name >> (8 * i));
    j1939_frame_make(f, 6, J1939_PGN_ADDRESS_CLAIMED, J1939_ADDR_GLOBAL, sa, d, 8, t_us);
}

const char *j1939_tp_abort_name(unsigned reason)
{
    switch (reason) {
    case J1939_TP_ABORT_BUSY:
        return "already in a connection-managed session";
    case J1939_TP_ABORT_RESOURCES:
        return "resources needed for another task";
    case J1939_TP_ABORT_TIMEOUT:
        return "timeout";
    case J1939_TP_ABORT_CTS_WHILE_SENDING:
        return "CTS received while data transfer in progress";
    case J1939_TP_ABORT_RETRANSMIT_LIMIT:
        return "maximum retransmit requests reached";
    case J1939_TP_ABORT_UNEXPECTED_DT:
        return "unexpected data transfer packet";
    case J1939_TP_ABORT_BAD_SEQUENCE:
        return "bad sequence number";
    case J1939_TP_ABORT_DUPLICATE_SEQUENCE:
        return "duplicate sequence number";
    case J1939_TP_ABORT_TOO_LARGE:
        return "message larger than 1785 bytes";
    case J1939_TP_ABORT_OTHER:
        return "other reason";
    default:
        return "unknown reason";
    }
}

void j1939_tp_timing_default(struct j1939_tp_timing *t)
{
    t->t1_us = 750000;
    t->t2_us = 1250000;
    t->t3_us = 1250000;
    t->t4_us = 1050000;
    t->tr_us = 200000;
    t->th_us = 500000;
}

int j1939_tp_timing_check(const struct j1939_tp_timing *t, char *err, size_t errlen)
{
    if (!t->t1_us || !t->t2_us || !t->t3_us || !t->t4_us || !t->tr_us || !t->th_us)
        return tp_fail(err, errlen, "J1939 TP timing: every timeout must be above 0");
    if (t->th_us >= t->t4_us)
        return tp_fail(err, errlen,
                       "J1939 TP timing: Th (%u us) must be below T4 (%u us) or holds time out",
                       (unsigned)t->th_us, (unsigned)t->t4_us);
    return 0;
}
