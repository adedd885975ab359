/* SPDX-License-Identifier: MIT */
/* Names of results, actions, agencies and alert levels, and their parsers. */
#include "policy.h"
#include "vehicle.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const char *const result_names[] = {"UNSPECIFIED", "PASS", "OVER_STANDARD", "INVALID",
                                           "NOT_JUDGED"};
static const char *const action_names[] = {"NONE", "NOTICE", "WARN", "TURN_BACK", "PENALTY"};
static const char *const agency_names[] = {"NONE", "ENVIRONMENT", "TRAFFIC_POLICE"};
static const char *const alert_names[] = {"none", "blue", "yellow", "orange", "red"};
static const char *const fuel_names[] = {"unknown", "diesel",   "gasoline",
                                         "gas",     "electric", "hybrid"};
static const char *const class_names[] = {"unknown", "car", "bus", "truck", "other"};
static const char *const exemption_names[] = {"none", "livelihood", "emergency", "enforcement"};

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

const char *policy_result_name(enum policy_result r)
{
    return name_of(result_names, COUNT(result_names), (int)r);
}

const char *policy_action_name(enum policy_action a)
{
    return name_of(action_names, COUNT(action_names), (int)a);
}

int policy_action_parse(const char *s)
{
    return parse_of(action_names, COUNT(action_names), s);
}

int policy_actions_parse(const char *s, uint32_t *out)
{
    if (!s)
        return -1;
    uint32_t set = 0;
    size_t tokens = 0;
    bool saw_none = false;
    const char *p = s;
    for (;;) {
        const char *end = strchr(p, '+');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        while (len > 0 && (*p == ' ' || *p == '\t')) {
            p++;
            len--;
        }
        while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
            len--;
        char word[16];
        if (len == 0 || len >= sizeof(word))
            return -1;
        memcpy(word, p, len);
        word[len] = 0;
        int a = policy_action_parse(word);
        if (a < 0)
            return -1;
        if (a == ACTION_NONE)
            saw_none = true;
        else
            set |= POLICY_ACT(a);
        tokens++;
        if (!end)
            break;
        p = end + 1;
    }
    if (saw_none && tokens > 1)
        return -1; /* "none+warn" is a typo, not a set */
    if (out)
        *out = set;
    return 0;
}

void policy_actions_format(uint32_t actions, char *buf, size_t len)
{
    if (len == 0)
        return;
    buf[0] = 0;
    size_t used = 0;
    for (int a = ACTION_NOTICE; a <= ACTION_PENALTY; a++) {
        if (!(actions & POLICY_ACT(a)))
            continue;
        int n = snprintf(buf + used, len - used, "%s%s", used ? "+" : "", action_names[a]);
        if (n < 0 || (size_t)n >= len - used) {
            buf[used] = 0; /* never leave half a name */
            return;
        }
        used += (size_t)n;
    }
    if (used == 0)
        snprintf(buf, len, "NONE");
}

const char *policy_agency_name(enum policy_agency a)
{
    return name_of(agency_names, COUNT(agency_names), (int)a);
}

const char *alert_level_name(enum alert_level a)
{
    return name_of(alert_names, COUNT(alert_names), (int)a);
}

int alert_level_parse(const char *s)
{
    return parse_of(alert_names, COUNT(alert_names), s);
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
