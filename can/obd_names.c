/* SPDX-License-Identifier: MIT */
/* OBD result names, service names, negative response codes, and matching answers. */
#include "obd.h"

const char *obd_strerror(int rc)
{
    switch (rc) {
    case OBD_OK:
        return "ok";
    case OBD_EINVAL:
        return "invalid argument";
    case OBD_EMALFORMED:
        return "malformed answer";
    case OBD_ENEGATIVE:
        return "negative response";
    case OBD_EMISMATCH:
        return "answer to another request";
    case OBD_EBUSY:
        return "a query is still running";
    case OBD_ESEND:
        return "request could not be sent";
    default:
        return "unknown OBD result";
    }
}

const char *obd_service_name(uint8_t sid)
{
    switch (sid) {
    case 0x01:
        return "current powertrain data";
    case 0x02:
        return "freeze frame data";
    case 0x03:
        return "stored DTCs";
    case 0x04:
        return "clear DTCs";
    case 0x05:
        return "oxygen sensor monitoring";
    case 0x06:
        return "on-board monitoring results";
    case 0x07:
        return "pending DTCs";
    case 0x08:
        return "control of on-board system";
    case 0x09:
        return "vehicle information";
    case 0x0A:
        return "permanent DTCs";
    default:
        return "unknown service";
    }
}

struct nrc_name {
    uint8_t nrc;
    const char *name;
};

/* ISO 14229-1 names, which ISO 15031-5 / J1979 use for the codes they allow. */
static const struct nrc_name nrc_names[] = {
    {0x10, "generalReject"},
    {0x11, "serviceNotSupported"},
    {0x12, "subFunctionNotSupported-invalidFormat"},
    {0x13, "incorrectMessageLengthOrInvalidFormat"},
    {0x14, "responseTooLong"},
    {0x21, "busyRepeatRequest"},
    {0x22, "conditionsNotCorrect"},
    {0x24, "requestSequenceError"},
    {0x25, "noResponseFromSubnetComponent"},
    {0x26, "failurePreventsExecutionOfRequestedAction"},
    {0x31, "requestOutOfRange"},
    {0x33, "securityAccessDenied"},
    {0x35, "invalidKey"},
    {0x36, "exceedNumberOfAttempts"},
    {0x37, "requiredTimeDelayNotExpired"},
    {0x70, "uploadDownloadNotAccepted"},
    {0x71, "transferDataSuspended"},
    {0x72, "generalProgrammingFailure"},
    {0x73, "wrongBlockSequenceCounter"},
    {0x78, "requestCorrectlyReceived-ResponsePending"},
    {0x7E, "subFunctionNotSupportedInActiveSession"},
    {0x7F, "serviceNotSupportedInActiveSession"},
};

const char *obd_nrc_name(uint8_t nrc)
{
    for (size_t i = 0; i < sizeof nrc_names / sizeof nrc_names[0]; i++)
        if (nrc_names[i].nrc == nrc)
            return nrc_names[i].name;
    return "unknown NRC";
}

/* Services whose answer repeats the PID (or InfoType, TID, ...) it answers. */
static bool echoes_pid(uint8_t sid)
{
    return sid == 0x01 || sid == 0x02 || sid == 0x05 || sid == 0x06 || sid == 0x08 || sid == 0x09;
}

int obd_classify(const uint8_t *req, size_t req_len, const uint8_t *msg, size_t len, uint8_t *nrc)
{
    if (!req || req_len == 0 || !msg || len == 0)
        return OBD_EMISMATCH;
    uint8_t sid = req[0];
    if (msg[0] == OBD_NEGATIVE_RESPONSE) {
        if (len < 3 || msg[1] != sid)
            return OBD_EMISMATCH;
        if (nrc)
            *nrc = msg[2];
        return 0;
    }
    if (msg[0] != (uint8_t)(sid + 0x40))
        return OBD_EMISMATCH;
    if (!echoes_pid(sid) || req_len < 2)
        return 1;
    if (len < 2)
        return OBD_EMISMATCH;
    /* A multi-PID service 01 request is answered with the supported PIDs only. */
    for (size_t i = 1; i < req_len; i++)
        if (msg[1] == req[i])
            return 1;
    return OBD_EMISMATCH;
}
