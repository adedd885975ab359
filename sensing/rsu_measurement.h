/* SPDX-License-Identifier: MIT */
/*
 * One remote-sensing pass as decoded from a device's registers.
 *
 * Plain data, no allocation: the struct is copied between the lane threads
 * and the main loop. Units are fixed per field (see rsu_field_unit()).
 */
#ifndef RSU_MEASUREMENT_H
#define RSU_MEASUREMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum rsu_field {
    RSU_F_OPACITY,      /* %            */
    RSU_F_RINGELMANN,   /* grade 0..5   */
    RSU_F_NO,           /* ppm          */
    RSU_F_CO,           /* %            */
    RSU_F_HC,           /* ppm          */
    RSU_F_CO2,          /* %            */
    RSU_F_SPEED,        /* km/h         */
    RSU_F_ACCEL,        /* m/s^2        */
    RSU_F_VSP,          /* kW/t         */
    RSU_F_WIND_SPEED,   /* m/s          */
    RSU_F_WIND_DIR,     /* degrees      */
    RSU_F_AMBIENT_TEMP, /* degrees C    */
    RSU_F_HUMIDITY,     /* % RH         */
    RSU_F_PRESSURE,     /* kPa          */
    RSU_F_SLOPE,        /* degrees      */
    RSU_F_COUNT
};

/* Plate colours after the profile's colour map; values match rsgw.v1.PlateColour. */
enum rsu_plate_colour {
    RSU_COLOUR_UNKNOWN = 0,
    RSU_COLOUR_BLUE = 1,
    RSU_COLOUR_YELLOW = 2,
    RSU_COLOUR_WHITE = 3,
    RSU_COLOUR_BLACK = 4,
    RSU_COLOUR_GREEN = 5,
    RSU_COLOUR_YELLOW_GREEN = 6,
    RSU_COLOUR_OTHER = 7,
};

#define RSU_PLATE_MAX     48 /* UTF-8 bytes incl. NUL; a plate is at most 8 characters */
#define RSU_IMAGE_REF_MAX 128
#define RSU_IMAGE_REFS    2   /* far and near plate images */
#define RSU_RAW_MAX       512 /* bytes of raw register data kept as evidence */
#define RSU_ISSUES_MAX    4
#define RSU_ISSUE_LEN     96

struct rsu_measurement {
    uint32_t seq;         /* the device's sequence register for this pass */
    int64_t read_time_ms; /* gateway clock, Unix ms */
    bool has_device_time;
    int64_t device_time_ms;

    char plate[RSU_PLATE_MAX];  /* UTF-8, empty when unreadable */
    uint32_t plate_colour_code; /* as the device sent it */
    enum rsu_plate_colour plate_colour;

    uint32_t present; /* bit (1u << field) set when value[field] is valid */
    double value[RSU_F_COUNT];

    size_t n_image_refs;
    char image_ref[RSU_IMAGE_REFS][RSU_IMAGE_REF_MAX];

    /* Decode problems (garbage, NaN, out of physical range, bad plate text).
     * A measurement with issues is stored and marked invalid, never judged. */
    size_t n_issues;
    char issues[RSU_ISSUES_MAX][RSU_ISSUE_LEN];

    size_t raw_len;
    uint8_t raw[RSU_RAW_MAX]; /* register blocks as read, big-endian words */
    uint8_t fingerprint[32];  /* SHA-256 of raw */
};

static inline bool rsu_has(const struct rsu_measurement *m, enum rsu_field f)
{
    return (m->present >> f) & 1u;
}

/* Stable lower-case name ("opacity", "no", "speed", ...) and unit ("%", "ppm", ...). */
const char *rsu_field_name(enum rsu_field f);
const char *rsu_field_unit(enum rsu_field f);
/* Field by name, or -1. */
int rsu_field_by_name(const char *name);
/* Physically plausible range; a decoded value outside it is reported as an issue. */
void rsu_field_range(enum rsu_field f, double *min, double *max);

const char *rsu_colour_name(enum rsu_plate_colour c);
/* Colour by name ("blue", "yellow", "yellow_green", ...), or -1. */
int rsu_colour_by_name(const char *name);

#endif
