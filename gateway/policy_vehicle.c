/* SPDX-License-Identifier: MIT */
/*
 * Vehicle facts for the rules: plate + colour + registry entry, with what the
 * plate colour lets us assume when the registry does not know (docs/policy.md,
 * "Unknown vehicles"). Every assumption is written down as "ID: sentence".
 */
#include "policy_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void assume(struct policy_vehicle *v, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void assume(struct policy_vehicle *v, const char *fmt, ...)
{
    if (v->n_assumptions >= POLICY_ASSUMPTIONS_MAX)
        return;
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    policy_copy_utf8(v->assumptions[v->n_assumptions], sizeof(v->assumptions[0]), buf);
    v->n_assumptions++;
}

void policy_resolve_vehicle(const struct policy_config *cfg, const char *plate_utf8,
                            int plate_colour, const struct registry_vehicle *reg,
                            struct policy_vehicle *out)
{
    memset(out, 0, sizeof(*out));
    plate_parse(plate_utf8 ? plate_utf8 : "", &out->plate);
    out->plate_colour = plate_colour;

    const char *prefixes[POLICY_PREFIXES_MAX];
    size_t n =
        cfg->n_local_prefixes < POLICY_PREFIXES_MAX ? cfg->n_local_prefixes : POLICY_PREFIXES_MAX;
    for (size_t i = 0; i < n; i++)
        prefixes[i] = cfg->local_prefixes[i];
    out->local = plate_is_local(&out->plate, prefixes, n);

    if (reg) {
        out->in_registry = true;
        out->fuel = reg->fuel;
        out->emission_stage = reg->emission_stage > 0 ? reg->emission_stage : 0;
        out->gross_weight_kg = reg->gross_weight_kg > 0 ? reg->gross_weight_kg : 0;
        out->vclass = reg->vclass;
        policy_copy_utf8(out->vin, sizeof(out->vin), reg->vin);
        out->exemption = reg->exemption;
    }
    const char *why = reg ? "the registry does not say" : "not in the registry";

    /* Learner cars also carry yellow plates: the colour says nothing about their size. */
    bool yellow = plate_colour == RSU_COLOUR_YELLOW && out->plate.kind != PLATE_KIND_LEARNER;
    bool blue = plate_colour == RSU_COLOUR_BLUE;

    if (out->fuel == FUEL_UNKNOWN && yellow && cfg->yellow_plate_fuel != FUEL_UNKNOWN) {
        out->fuel = cfg->yellow_plate_fuel;
        assume(out, "ASSUME_YELLOW_FUEL: fuel %s assumed from the yellow plate (%s)",
               vehicle_fuel_name(out->fuel), why);
    } else if (out->fuel == FUEL_UNKNOWN && blue && cfg->blue_plate_fuel != FUEL_UNKNOWN) {
        out->fuel = cfg->blue_plate_fuel;
        assume(out, "ASSUME_BLUE_FUEL: fuel %s assumed from the blue plate (%s)",
               vehicle_fuel_name(out->fuel), why);
    }
    if (out->vclass == VCLASS_UNKNOWN && yellow && cfg->yellow_plate_class != VCLASS_UNKNOWN) {
        out->vclass = cfg->yellow_plate_class;
        assume(out, "ASSUME_YELLOW_CLASS: class %s assumed from the yellow plate (%s)",
               vehicle_class_name(out->vclass), why);
    }
    if (out->gross_weight_kg > 0) {
        out->heavy = out->gross_weight_kg > cfg->heavy_weight_kg;
    } else if (yellow && cfg->yellow_plate_heavy) {
        out->heavy = true;
        assume(out,
               "ASSUME_YELLOW_HEAVY: over %d kg assumed from the yellow plate (gross weight "
               "unknown)",
               cfg->heavy_weight_kg);
    }
}

bool policy_is_diesel_truck(const struct policy_vehicle *v)
{
    return v->fuel == FUEL_DIESEL && v->vclass == VCLASS_TRUCK;
}

const char *policy_stage_name(int stage)
{
    static const char *const names[] = {"unknown",  "China I", "China II", "China III",
                                        "China IV", "China V", "China VI", "stage 7"};
    return stage >= 0 && stage <= 7 ? names[stage] : "unknown";
}
