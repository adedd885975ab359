/* SPDX-License-Identifier: MIT */
#include "history.h"

const char *history_pollutant_name(uint32_t bit)
{
    switch (bit) {
    case POLLUTANT_OPACITY:
        return "opacity";
    case POLLUTANT_NO:
        return "NO";
    case POLLUTANT_RINGELMANN:
        return "Ringelmann";
    case POLLUTANT_CO:
        return "CO";
    case POLLUTANT_HC:
        return "HC";
    case POLLUTANT_OBD:
        return "OBD";
    default:
        return "unknown";
    }
}
