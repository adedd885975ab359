/* SPDX-License-Identifier: MIT */
#include "vehicle.h"

#include <stddef.h>
#include <strings.h>

static const char *const fuel_names[] = {"unknown", "diesel",   "gasoline",
                                         "gas",     "electric", "hybrid"};
static const char *const class_names[] = {"unknown", "car", "bus", "truck", "other"};
static const char *const exemption_names[] = {"none", "livelihood", "emergency", "enforcement"};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const char *name_of(const char *const *names, size_t n, int v)
{
    return v >= 0 && (size_t)v < n ? names[v] : "invalid";
}

static int parse_of(const char *const *names, size_t n, const char *s)
{
    if (!s)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(s, names[i]) == 0)
            return (int)i;
    return -1;
}

const char *vehicle_fuel_name(enum vehicle_fuel f)
{
    return name_of(fuel_names, COUNT(fuel_names), (int)f);
}

int vehicle_fuel_parse(const char *s)
{
    return parse_of(fuel_names, COUNT(fuel_names), s);
}

const char *vehicle_class_name(enum vehicle_class c)
{
    return name_of(class_names, COUNT(class_names), (int)c);
}

int vehicle_class_parse(const char *s)
{
    return parse_of(class_names, COUNT(class_names), s);
}

const char *vehicle_exemption_name(enum vehicle_exemption e)
{
    return name_of(exemption_names, COUNT(exemption_names), (int)e);
}

int vehicle_exemption_parse(const char *s)
{
    return parse_of(exemption_names, COUNT(exemption_names), s);
}
