/* SPDX-License-Identifier: MIT */
/* Vehicle facts shared by the registry and the policy. Values match rsgw.v1. */
#ifndef VEHICLE_H
#define VEHICLE_H

#include <stdint.h>

enum vehicle_fuel {
    FUEL_UNKNOWN = 0,
    FUEL_DIESEL = 1,
    FUEL_GASOLINE = 2,
    FUEL_GAS = 3,
    FUEL_ELECTRIC = 4,
    FUEL_HYBRID = 5,
};

enum vehicle_class {
    VCLASS_UNKNOWN = 0,
    VCLASS_CAR = 1,
    VCLASS_BUS = 2,
    VCLASS_TRUCK = 3,
    VCLASS_OTHER = 4,
};

enum vehicle_exemption {
    EXEMPT_NONE = 0,
    EXEMPT_LIVELIHOOD = 1,
    EXEMPT_EMERGENCY = 2,
    EXEMPT_ENFORCEMENT = 3,
};

/* One registry entry: what the registration authority or platform says. */
struct registry_vehicle {
    char plate[48];
    enum vehicle_fuel fuel;
    int emission_stage;  /* China 1..6, 0 unknown */
    int gross_weight_kg; /* 0 unknown */
    enum vehicle_class vclass;
    char vin[24];
    enum vehicle_exemption exemption;
    int64_t updated_ms;
    char source[32]; /* "csv", "cli", later "platform" */
};

/* Names are the lower-case words used in CSV files, the CLI and JSON:
 * diesel, gasoline, gas, electric, hybrid; car, bus, truck, other;
 * none, livelihood, emergency, enforcement. Parsers return -1 on no match. */
const char *vehicle_fuel_name(enum vehicle_fuel f);
int vehicle_fuel_parse(const char *s);
const char *vehicle_class_name(enum vehicle_class c);
int vehicle_class_parse(const char *s);
const char *vehicle_exemption_name(enum vehicle_exemption e);
int vehicle_exemption_parse(const char *s);

#endif
