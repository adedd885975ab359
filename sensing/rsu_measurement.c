/* SPDX-License-Identifier: MIT */
#include "rsu_measurement.h"

#include <string.h>

struct field_desc {
    const char *name;
    const char *unit;
    double min, max; /* physically plausible; outside means a broken reading */
};

/*
 * Names are stable: they appear in profiles, scenarios, issues and exports.
 * The ranges are deliberately wide: they catch garbage registers, not dirty
 * vehicles, so a real extreme reading is never discarded.
 */
static const struct field_desc field_desc[RSU_F_COUNT] = {
    [RSU_F_OPACITY] = {"opacity", "%", 0, 100},
    [RSU_F_RINGELMANN] = {"ringelmann", "grade", 0, 5},
    [RSU_F_NO] = {"no", "ppm", 0, 10000},
    [RSU_F_CO] = {"co", "%", 0, 20},
    [RSU_F_HC] = {"hc", "ppm", 0, 20000},
    [RSU_F_CO2] = {"co2", "%", 0, 25},
    [RSU_F_SPEED] = {"speed", "km/h", 0, 250},
    [RSU_F_ACCEL] = {"accel", "m/s2", -15, 15},
    [RSU_F_VSP] = {"vsp", "kW/t", -100, 200},
    [RSU_F_WIND_SPEED] = {"wind_speed", "m/s", 0, 80},
    [RSU_F_WIND_DIR] = {"wind_dir", "deg", 0, 360},
    [RSU_F_AMBIENT_TEMP] = {"ambient_temp", "degC", -50, 70},
    [RSU_F_HUMIDITY] = {"humidity", "%RH", 0, 100},
    [RSU_F_PRESSURE] = {"pressure", "kPa", 50, 120},
    [RSU_F_SLOPE] = {"slope", "deg", -45, 45},
};

static const char *const colour_names[] = {
    [RSU_COLOUR_UNKNOWN] = "unknown",
    [RSU_COLOUR_BLUE] = "blue",
    [RSU_COLOUR_YELLOW] = "yellow",
    [RSU_COLOUR_WHITE] = "white",
    [RSU_COLOUR_BLACK] = "black",
    [RSU_COLOUR_GREEN] = "green",
    [RSU_COLOUR_YELLOW_GREEN] = "yellow_green",
    [RSU_COLOUR_OTHER] = "other",
};

const char *rsu_field_name(enum rsu_field f)
{
    return (unsigned)f < RSU_F_COUNT ? field_desc[f].name : "?";
}

const char *rsu_field_unit(enum rsu_field f)
{
    return (unsigned)f < RSU_F_COUNT ? field_desc[f].unit : "";
}

void rsu_field_range(enum rsu_field f, double *min, double *max)
{
    *min = (unsigned)f < RSU_F_COUNT ? field_desc[f].min : 0;
    *max = (unsigned)f < RSU_F_COUNT ? field_desc[f].max : 0;
}

int rsu_field_by_name(const char *name)
{
    for (int f = 0; f < RSU_F_COUNT; f++)
        if (name && strcmp(name, field_desc[f].name) == 0)
            return f;
    return -1;
}

const char *rsu_colour_name(enum rsu_plate_colour c)
{
    return (unsigned)c <= RSU_COLOUR_OTHER ? colour_names[c] : "unknown";
}

int rsu_colour_by_name(const char *name)
{
    for (int c = 0; c <= RSU_COLOUR_OTHER; c++)
        if (name && strcmp(name, colour_names[c]) == 0)
            return c;
    return -1;
}
