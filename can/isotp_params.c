/* SPDX-License-Identifier: MIT */
/* ISO-TP parameters, result names and ISO 15765-4 identifiers. */
#include <stdio.h>

#include "isotp.h"

void isotp_params_default(struct isotp_params *p)
{
    /* ISO 15765-2 timeouts: N_As = N_Ar = N_Bs = N_Cr = 1000 ms. N_Br and N_Cs are
     * performance requirements there; 900 ms keeps them inside 0.9 x the peer's timer. */
    *p = (struct isotp_params){
        .n_as_ms = 1000,
        .n_ar_ms = 1000,
        .n_bs_ms = 1000,
        .n_br_ms = 900,
        .n_cs_ms = 900,
        .n_cr_ms = 1000,
        .block_size = 0,
        .st_min = 0,
        .wft_max = 10,
        .dynamic_fc = false,
        .pad_byte = 0xCC,
        .rx_max_len = ISOTP_MAX_PAYLOAD,
    };
}

void isotp_params_obd(struct isotp_params *p)
{
    /* ISO 15765-4 (legislated OBD): N_As = N_Ar = 25 ms, N_Bs = 75 ms, N_Cr = 150 ms;
     * (N_Br + N_Ar) < 0.9 N_Bs and (N_Cs + N_As) < 0.9 N_Cr give 42 and 110 ms. */
    isotp_params_default(p);
    p->n_as_ms = 25;
    p->n_ar_ms = 25;
    p->n_bs_ms = 75;
    p->n_br_ms = 42;
    p->n_cs_ms = 110;
    p->n_cr_ms = 150;
}

static bool stmin_valid(uint8_t raw)
{
    return raw <= 0x7F || (raw >= 0xF1 && raw <= 0xF9);
}

uint32_t isotp_stmin_us(uint8_t raw)
{
    if (raw <= 0x7F)
        return raw * 1000u;
    if (raw >= 0xF1 && raw <= 0xF9)
        return (raw - 0xF0u) * 100u;
    return 127000u; /* reserved: the longest defined value (ISO 15765-2) */
}

int isotp_params_check(const struct isotp_params *p, char *err, size_t errlen)
{
    const char *what = NULL;
    if (!p)
        what = "no parameters";
    else if (!p->n_as_ms || !p->n_ar_ms || !p->n_bs_ms || !p->n_br_ms || !p->n_cs_ms || !p->n_cr_ms)
        what = "every N_ timer must be at least 1 ms";
    else if (p->n_as_ms > 60000 || p->n_ar_ms > 60000 || p->n_bs_ms > 60000 || p->n_br_ms > 60000 ||
             p->n_cs_ms > 60000 || p->n_cr_ms > 60000)
        what = "N_ timers above 60000 ms make a lost frame hang the bus";
    else if (!stmin_valid(p->st_min))
        what = "st_min must be 0x00-0x7F (ms) or 0xF1-0xF9 (100-900 us)";
    else if (p->pad_byte != ISOTP_NO_PADDING && (p->pad_byte < 0 || p->pad_byte > 0xFF))
        what = "pad_byte must be ISOTP_NO_PADDING or 0x00-0xFF";
    else if (p->rx_max_len < 8 || p->rx_max_len > ISOTP_MAX_PAYLOAD)
        what = "rx_max_len must be 8..4095";
    if (!what)
        return ISOTP_OK;
    if (err && errlen)
        snprintf(err, errlen, "isotp parameters: %s", what);
    return ISOTP_EINVAL;
}

const char *isotp_strerror(int rc)
{
    switch (rc) {
    case ISOTP_OK:
        return "ok";
    case ISOTP_EINVAL:
        return "invalid argument";
    case ISOTP_EBUSY:
        return "a transmission is already in progress";
    case ISOTP_ETOOLONG:
        return "message too long";
    case ISOTP_ESEND:
        return "the bus refused the frame (N_ERROR)";
    case ISOTP_ETIMEOUT_AS:
        return "frame not confirmed by the bus in time (N_TIMEOUT_A, N_As)";
    case ISOTP_ETIMEOUT_AR:
        return "flow control not confirmed by the bus in time (N_TIMEOUT_A, N_Ar)";
    case ISOTP_ETIMEOUT_BS:
        return "no flow control from the receiver (N_TIMEOUT_Bs)";
    case ISOTP_ETIMEOUT_BR:
        return "flow control could not be sent in time (N_Br)";
    case ISOTP_ETIMEOUT_CS:
        return "consecutive frame could not be sent in time (N_Cs)";
    case ISOTP_ETIMEOUT_CR:
        return "no consecutive frame from the sender (N_TIMEOUT_Cr)";
    case ISOTP_EWRONG_SN:
        return "consecutive frame out of sequence (N_WRONG_SN)";
    case ISOTP_EINVALID_FS:
        return "flow control with a reserved flow status (N_INVALID_FS)";
    case ISOTP_EUNEXP_PDU:
        return "reception replaced by a new message from the same sender (N_UNEXP_PDU)";
    case ISOTP_EWFT_OVRN:
        return "too many flow control WAIT frames (N_WFT_OVRN)";
    case ISOTP_EOVERFLOW:
        return "message longer than the receive buffer (N_BUFFER_OVFLW)";
    case ISOTP_ENOSLOT:
        return "every responder session is busy";
    default:
        return "unknown ISO-TP result";
    }
}

/* ISO 15765-4 normal-fixed addressing: priority 6, PF 0xDA physical / 0xDB functional,
 * target address, source address. The functional target address is 0x33. */
#define ID29_PHYS 0x18DA0000u
#define ID29_FUNC 0x18DB3300u

uint32_t isotp_functional_id(enum isotp_addressing a, uint8_t tester_addr)
{
    if (a == ISOTP_ADDR_11BIT)
        return 0x7DFu;
    return ID29_FUNC | tester_addr | CAN_FRAME_EFF;
}

uint32_t isotp_physical_id(enum isotp_addressing a, uint8_t ecu, uint8_t tester_addr)
{
    if (a == ISOTP_ADDR_11BIT)
        return 0x7E0u + (ecu & 7u);
    return ID29_PHYS | (uint32_t)ecu << 8 | tester_addr | CAN_FRAME_EFF;
}

uint32_t isotp_response_id(enum isotp_addressing a, uint8_t ecu, uint8_t tester_addr)
{
    if (a == ISOTP_ADDR_11BIT)
        return 0x7E8u + (ecu & 7u);
    return ID29_PHYS | (uint32_t)tester_addr << 8 | ecu | CAN_FRAME_EFF;
}

bool isotp_is_response_id(enum isotp_addressing a, uint32_t id, uint8_t tester_addr, uint8_t *ecu)
{
    if (id & (CAN_FRAME_RTR | CAN_FRAME_ERR))
        return false;
    if (a == ISOTP_ADDR_11BIT) {
        if ((id & CAN_FRAME_EFF) || id < 0x7E8u || id > 0x7EFu)
            return false;
        if (ecu)
            *ecu = (uint8_t)(id - 0x7E8u);
        return true;
    }
    if (!(id & CAN_FRAME_EFF))
        return false;
    /* Any priority (bits 28-26): trucks are seen using 6 and 7; EDP/DP must be 0. */
    uint32_t ident = id & CAN_EFF_MASK;
    if ((ident & 0x03FFFF00u) != (0x00DA0000u | (uint32_t)tester_addr << 8))
        return false;
    uint8_t sa = (uint8_t)(ident & 0xFFu);
    if (sa == tester_addr)
        return false;
    if (ecu)
        *ecu = sa;
    return true;
}
