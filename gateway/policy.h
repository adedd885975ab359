/* SPDX-License-Identifier: MIT */
/*
 * The enforcement policy: from one measurement, the vehicle facts and the
 * plate's history to a verdict that explains itself. Pure: no I/O, no clock,
 * no allocation. Every rule is documented in docs/policy.md under its id.
 */
#ifndef POLICY_H
#define POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "history.h"
#include "plate.h"
#include "rsu_measurement.h"
#include "vehicle.h"

/* Values match rsgw.v1.Result / Action / Agency / AlertLevel. */
enum policy_result {
    RESULT_UNSPECIFIED = 0,
    RESULT_PASS = 1,
    RESULT_OVER_STANDARD = 2,
    RESULT_INVALID = 3,
    RESULT_NOT_JUDGED = 4,
};

enum policy_action {
    ACTION_NONE = 0,
    ACTION_NOTICE = 1,
    ACTION_WARN = 2,
    ACTION_TURN_BACK = 3,
    ACTION_PENALTY = 4,
};
#define POLICY_ACT(a) (1u << (a)) /* action sets are bitmasks of these */

enum policy_agency {
    AGENCY_NONE = 0,
    AGENCY_ENVIRONMENT = 1,
    AGENCY_TRAFFIC_POLICE = 2,
};
#define POLICY_AGENCY(a) (1u << (a))

enum alert_level {
    ALERT_NONE = 0,
    ALERT_BLUE = 1,
    ALERT_YELLOW = 2,
    ALERT_ORANGE = 3,
    ALERT_RED = 4,
};

struct policy_window {
    double min, max; /* inclusive */
    bool required;   /* a measurement without this value is invalid */
};

/* One limit set. NAN means "not judged" (for example gasoline limits left unset). */
struct policy_limits {
    double diesel_opacity_pct;
    double diesel_no_ppm;
    double ringelmann_grade; /* any fuel: over this grade is black smoke */
    double gasoline_co_pct;
    double gasoline_hc_ppm;
    double gasoline_no_ppm;
};

#define POLICY_PREFIXES_MAX 16

struct policy_config {
    struct policy_limits limits[2]; /* [0] set a, [1] set b */
    int limit_set;                  /* 0 = a, 1 = b */
    int window_months;              /* natural months, default 6 */
    int heavy_weight_kg;            /* over this = heavy, default 3500 */

    uint32_t out_of_area_first; /* action sets, defaults WARN / TURN_BACK|PENALTY */
    uint32_t out_of_area_second;
    uint32_t local_first; /* defaults NOTICE / PENALTY */
    uint32_t local_second;

    size_t n_local_prefixes;
    char local_prefixes[POLICY_PREFIXES_MAX][16];

    bool restricted_zone;                  /* this checkpoint guards the restricted zone */
    int restricted_max_stage;              /* diesel trucks at or below: turned back, default 3 */
    enum alert_level alert_restrict_level; /* from this level on ..., default ORANGE */
    int alert_min_stage;         /* ... diesel trucks below this stage are turned back, default 5 */
    bool restricted_trucks_only; /* zone stage rule for diesel trucks only; default false =
                                  * all diesel vehicles (seed 000 line 514 "柴油车辆") */
    bool restricted_over_standard_turn_back; /* zone checkpoint: over-standard vehicles are
                                              * turned back (seed 001 line 247), default true */

    struct policy_window speed_kmh, accel_ms2, vsp_kw_t;

    /* Unknown vehicles: what the plate colour lets us assume (said in the verdict). */
    bool yellow_plate_heavy;               /* default true */
    enum vehicle_fuel yellow_plate_fuel;   /* default diesel */
    enum vehicle_class yellow_plate_class; /* default truck */
    enum vehicle_fuel blue_plate_fuel;     /* default unknown: only black smoke judged */

    /* [obd] The roadside OBD check: readiness monitors not complete up to this many mean
     * re-check, more mean fail (default 2; docs/policy.md, OBD_READINESS). */
    int obd_readiness_max_incomplete;
};

void policy_config_defaults(struct policy_config *cfg);

/*
 * Set one configuration key (section names as in docs/configuration.md:
 * "policy", "limits", "validity"). Returns 0, 1 if the key is not a policy
 * key, or -1 with a message for a bad value.
 */
int policy_config_set(struct policy_config *cfg, const char *section, const char *key,
                      const char *value, char *err, size_t errlen);

/* Hex SHA-256 over the effective settings: a verdict names the policy it used. */
void policy_config_digest(const struct policy_config *cfg, char hex[65]);

/* The canonical text the digest is computed over ("section.key=value" lines, fixed order),
 * for `config show` and for auditors re-computing a digest. Returns the length it needs
 * (as snprintf); the text is complete when that is below len. */
size_t policy_config_format(const struct policy_config *cfg, char *buf, size_t len);

#define POLICY_ASSUMPTIONS_MAX 4

struct policy_vehicle {
    struct plate_info plate;
    int plate_colour; /* enum rsu_plate_colour */
    bool local;
    bool in_registry;
    enum vehicle_fuel fuel;
    int emission_stage;
    int gross_weight_kg;
    enum vehicle_class vclass;
    char vin[24];
    enum vehicle_exemption exemption;
    bool heavy;
    size_t n_assumptions;
    char assumptions[POLICY_ASSUMPTIONS_MAX][128];
};

/* Combine plate, colour and the registry entry (NULL if unknown) into the facts the rules use. */
void policy_resolve_vehicle(const struct policy_config *cfg, const char *plate_utf8,
                            int plate_colour, const struct registry_vehicle *reg,
                            struct policy_vehicle *out);

#define POLICY_RULES_MAX 16

struct policy_rule_hit {
    char rule_id[32];
    char quantity[24];
    bool has_measured, has_limit;
    double measured, limit;
    char unit[12];
    char clause[128];
    char text[256];
};

struct policy_verdict {
    enum policy_result result;
    uint32_t actions;  /* POLICY_ACT bits */
    uint32_t agencies; /* POLICY_AGENCY bits */
    uint32_t finding_number;
    uint32_t exceeded; /* pollutant bits (history.h) */
    int limit_set;
    int64_t window_start_ms;
    enum alert_level alert;
    bool history_stale;
    size_t n_rules;
    struct policy_rule_hit rules[POLICY_RULES_MAX];
};

struct policy_input {
    const struct rsu_measurement *m;
    const struct policy_vehicle *vehicle;
    const struct history *history; /* prior passes of this plate, not including m */
    int64_t now_ms;
    enum alert_level alert;
};

void policy_judge(const struct policy_config *cfg, const struct policy_input *in,
                  struct policy_verdict *out);

/* ---- the roadside OBD check (policy_obd.c; GB 3847-2018 §7 / App. E) ---- */

/* What the OBD reader found, as the policy needs it (the gateway converts the reader's
 * report; the policy never sees CAN). Strings are the caller's. */
struct policy_obd_check {
    bool communication_ok;     /* the vehicle answered */
    const char *communication; /* "no answer", "interface error: ...": for the text */
    bool mil_known, mil_on;
    size_t n_dtcs;         /* every DTC read */
    size_t n_dtcs_mil;     /* emission-relevant DTCs reported with the MIL on */
    const char *dtc_codes; /* "P0401, SPN 3226 FMI 2": for the text, may be NULL */
    bool readiness_read;   /* DM5 / 01 01 answered */
    size_t n_readiness_incomplete;
    const char *readiness_names; /* "PM filter, NOx/SCR aftertreatment", may be NULL */
};

/* Judges an OBD check: OBD_NO_COMM, OBD_MIL, OBD_DTC fail (RESULT_OVER_STANDARD with the
 * exceedance POLLUTANT_OBD, then findings, actions, agencies and restrictions exactly as
 * for a remote-sensing pass); OBD_READINESS fails above obd_readiness_max_incomplete
 * monitors not complete and asks for a re-check (RESULT_NOT_JUDGED) at or below it;
 * otherwise RESULT_PASS. vehicle and history may be NULL. */
void policy_judge_obd(const struct policy_config *cfg, const struct policy_obd_check *check,
                      const struct policy_vehicle *vehicle, const struct history *history,
                      int64_t now_ms, enum alert_level alert, struct policy_verdict *out);

/* Start of the window: the same local calendar day `months` natural months
 * before now (clamped to the month's last day), at 00:00 local time. */
int64_t policy_window_start(int64_t now_ms, int months);

const char *policy_result_name(enum policy_result r);
const char *policy_action_name(enum policy_action a);
int policy_action_parse(const char *s); /* one name, or -1 */
/* "warn", "turn_back+penalty", "none" -> bitmask, or -1 */
int policy_actions_parse(const char *s, uint32_t *out);
/* Writes "TURN_BACK+PENALTY" (or "NONE"). */
void policy_actions_format(uint32_t actions, char *buf, size_t len);
const char *policy_agency_name(enum policy_agency a);
const char *alert_level_name(enum alert_level a);
int alert_level_parse(const char *s);

#endif
