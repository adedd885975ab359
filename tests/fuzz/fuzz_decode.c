/* SPDX-License-Identifier: MIT */
/*
 * A pass from a device through the shipped profile to a verdict and a record:
 * deploy/profiles/generic-rsu.ini decodes arbitrary register contents, the
 * policy (default settings) judges the result against an arbitrary history,
 * and the pass record is packed and read back. Garbage must give issues and
 * an INVALID verdict, never a crash.
 *
 * Input: the profile's read blocks in order (holding 10..95, input 0..4) as
 * big-endian words, then the bytes that choose the registry entry, the clock,
 * the alert level and the plate's history. Missing bytes read as zero.
 */
#include <math.h>
#include <time.h>

#include "fuzz.h"
#include "policy.h"
#include "record.h"
#include "rsu_profile.h"

#define PROFILE_PATH RSGW_SOURCE_DIR "/deploy/profiles/generic-rsu.ini"
#define NOW_BASE_MS  1717200000000LL /* 2024-06-01 */

static struct rsu_profile profile;
static struct rsu_block blocks[RSU_BLOCKS_MAX];
static size_t n_blocks;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    setenv("TZ", "Asia/Shanghai", 1); /* the window is counted in local calendar months */
    tzset();
    char err[256];
    if (rsu_profile_load(PROFILE_PATH, &profile, err, sizeof err) != 0) {
        fprintf(stderr, "fuzz_decode: %s\n", err);
        abort();
    }
    n_blocks = rsu_profile_blocks(&profile, blocks, RSU_BLOCKS_MAX);
    FUZZ_CHECK(n_blocks >= 1 && n_blocks <= RSU_BLOCKS_MAX);
    return 0;
}

static bool has_hit(const struct policy_verdict *v, const char *prefix)
{
    for (size_t i = 0; i < v->n_rules; i++)
        if (strncmp(v->rules[i].rule_id, prefix, strlen(prefix)) == 0)
            return true;
    return false;
}

static void check_hits(const struct policy_verdict *v)
{
    FUZZ_CHECK(v->n_rules <= POLICY_RULES_MAX);
    for (size_t i = 0; i < v->n_rules; i++) {
        const struct policy_rule_hit *h = &v->rules[i];
        FUZZ_CHECK(fuzz_terminated(h->rule_id, sizeof h->rule_id) && h->rule_id[0]);
        FUZZ_CHECK(fuzz_terminated(h->quantity, sizeof h->quantity) && fuzz_utf8(h->quantity));
        FUZZ_CHECK(fuzz_terminated(h->unit, sizeof h->unit) && fuzz_utf8(h->unit));
        FUZZ_CHECK(fuzz_terminated(h->clause, sizeof h->clause) && fuzz_utf8(h->clause));
        FUZZ_CHECK(fuzz_terminated(h->text, sizeof h->text) && fuzz_utf8(h->text));
        FUZZ_CHECK(!h->has_measured || isfinite(h->measured));
        FUZZ_CHECK(!h->has_limit || isfinite(h->limit));
    }
}

/* docs/policy.md, "How the rules combine" and "Decisions". */
static void check_verdict(const struct policy_config *cfg, const struct policy_input *in,
                          const struct policy_vehicle *veh, const struct policy_verdict *v)
{
    const uint32_t all_actions = POLICY_ACT(ACTION_NOTICE) | POLICY_ACT(ACTION_WARN) |
                                 POLICY_ACT(ACTION_TURN_BACK) | POLICY_ACT(ACTION_PENALTY);
    const uint32_t all_agencies =
        POLICY_AGENCY(AGENCY_ENVIRONMENT) | POLICY_AGENCY(AGENCY_TRAFFIC_POLICE);
    const uint32_t all_pollutants =
        POLLUTANT_OPACITY | POLLUTANT_NO | POLLUTANT_RINGELMANN | POLLUTANT_CO | POLLUTANT_HC;
    check_hits(v);
    FUZZ_CHECK(v->result == RESULT_PASS || v->result == RESULT_OVER_STANDARD ||
               v->result == RESULT_INVALID || v->result == RESULT_NOT_JUDGED);
    FUZZ_CHECK((v->actions & ~all_actions) == 0);
    FUZZ_CHECK((v->agencies & ~all_agencies) == 0);
    FUZZ_CHECK((v->exceeded & ~all_pollutants) == 0);
    FUZZ_CHECK(v->limit_set == cfg->limit_set && v->alert == in->alert);
    FUZZ_CHECK(v->history_stale == in->history->stale);
    FUZZ_CHECK(v->history_stale ? has_hit(v, "HISTORY_STALE") || has_hit(v, "RULES_TRUNCATED")
                                : !has_hit(v, "HISTORY_STALE"));

    /* A measurement with decode issues is stored, never judged. */
    if (in->m->n_issues > 0)
        FUZZ_CHECK(v->result == RESULT_INVALID && has_hit(v, "VALID_ISSUES"));
    /* Invalid: no pollutant compared, no finding, no finding actions (restrictions may
     * still turn the vehicle back). */
    if (v->result == RESULT_INVALID) {
        FUZZ_CHECK((v->actions & ~POLICY_ACT(ACTION_TURN_BACK)) == 0);
        FUZZ_CHECK(!has_hit(v, "OVER_") && !has_hit(v, "WITHIN_"));
        FUZZ_CHECK(!has_hit(v, "OUT_OF_AREA_") && !has_hit(v, "CONSECUTIVE_"));
        FUZZ_CHECK(!has_hit(v, "ZONE_OVER_STANDARD"));
    }
    if (v->result != RESULT_OVER_STANDARD) {
        FUZZ_CHECK(v->finding_number == 0 && v->exceeded == 0);
        FUZZ_CHECK(!has_hit(v, "OVER_") && !has_hit(v, "OUT_OF_AREA_"));
        FUZZ_CHECK(!has_hit(v, "CONSECUTIVE_"));
    } else {
        FUZZ_CHECK(v->exceeded != 0);
    }
    /* No valid plate: nobody can be followed up. */
    if (!veh->plate.valid)
        FUZZ_CHECK(v->finding_number == 0 && v->actions == 0 && v->agencies == 0);
    else if (v->result == RESULT_OVER_STANDARD)
        FUZZ_CHECK(v->finding_number >= 1 && v->actions != 0 && v->agencies != 0);
    if (v->actions & POLICY_ACT(ACTION_TURN_BACK))
        FUZZ_CHECK(v->agencies & POLICY_AGENCY(AGENCY_TRAFFIC_POLICE));
}

static void check_record(const struct rsu_measurement *m, const struct policy_vehicle *veh,
                         const struct policy_verdict *v)
{
    static uint8_t buf[RECORD_MAX];
    struct record_pass rp = {.seq = 1,
                             .time_ms = NOW_BASE_MS,
                             .gateway_id = "fuzz",
                             .checkpoint = "fuzz",
                             .lane = "L1",
                             .device_id = "rsu-1",
                             .profile = "generic-rsu 1",
                             .policy_digest = "0",
                             .m = m,
                             .vehicle = veh,
                             .verdict = v};
    size_t len = 0;
    FUZZ_CHECK(record_pack_pass(&rp, buf, sizeof buf, &len) == 0);
    Rsgw__V1__Record *r = record_unpack(buf, len);
    FUZZ_CHECK(r != NULL && r->body_case == RSGW__V1__RECORD__BODY_PASS);
    const Rsgw__V1__Pass *p = r->pass;
    FUZZ_CHECK(p->measurement && p->vehicle && p->verdict);
    FUZZ_CHECK(strcmp(p->measurement->plate, m->plate) == 0);
    FUZZ_CHECK(p->measurement->n_issues == m->n_issues);
    FUZZ_CHECK((int)p->verdict->result == (int)v->result);
    FUZZ_CHECK(p->verdict->finding_number == v->finding_number);
    FUZZ_CHECK(p->verdict->n_rules == v->n_rules);
    record_free(r);
}

static void read_registry(struct fuzz_bytes *in, struct registry_vehicle *reg)
{
    memset(reg, 0, sizeof *reg);
    /* Values the registry accepts (registry_field_set); the plate is the measured one. */
    reg->fuel = (enum vehicle_fuel)(fuzz_u8(in) % (FUEL_HYBRID + 1));
    reg->emission_stage = fuzz_u8(in) % 7;
    reg->gross_weight_kg = (int)(fuzz_u32(in) % 100001);
    reg->vclass = (enum vehicle_class)(fuzz_u8(in) % (VCLASS_OTHER + 1));
    reg->exemption = (enum vehicle_exemption)(fuzz_u8(in) % (EXEMPT_ENFORCEMENT + 1));
    size_t vin_len = fuzz_u8(in) % sizeof reg->vin;
    for (size_t i = 0; i < vin_len; i++)
        reg->vin[i] = (char)('A' + fuzz_u8(in) % 26);
}

/* Newest first, at most HISTORY_MAX, as store_history() returns them. */
static void read_history(struct fuzz_bytes *in, int64_t now_ms, struct history *h)
{
    memset(h, 0, sizeof *h);
    h->n = fuzz_u8(in) % (HISTORY_MAX + 1);
    h->findings = fuzz_u8(in);
    int64_t t = now_ms;
    for (size_t i = 0; i < h->n; i++) {
        t -= (int64_t)fuzz_u16(in) * 3600 * 1000; /* up to 7.5 years between passes */
        h->pass[i].seq = h->n - i;
        h->pass[i].time_ms = t;
        h->pass[i].exceeded = fuzz_u8(in) & 0x1F;
        snprintf(h->pass[i].checkpoint, sizeof h->pass[i].checkpoint, "fuzz");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_bytes in = {data, size};
    uint16_t words[RSU_BLOCKS_MAX][125];
    uint16_t *regs[RSU_BLOCKS_MAX];
    for (size_t b = 0; b < n_blocks; b++) {
        for (size_t k = 0; k < blocks[b].count; k++)
            words[b][k] = fuzz_u16(&in);
        regs[b] = words[b];
    }
    struct rsu_measurement m;
    memset(&m, 0, sizeof m);
    rsu_profile_decode(&profile, blocks, regs, n_blocks, &m);
    FUZZ_CHECK(m.n_issues <= RSU_ISSUES_MAX);
    FUZZ_CHECK(fuzz_terminated(m.plate, sizeof m.plate) && fuzz_utf8(m.plate));

    struct policy_config cfg;
    policy_config_defaults(&cfg);
    uint8_t flags = fuzz_u8(&in);
    cfg.restricted_zone = flags & 1;
    cfg.limit_set = flags >> 1 & 1;
    struct registry_vehicle reg;
    read_registry(&in, &reg);
    struct policy_vehicle veh;
    policy_resolve_vehicle(&cfg, m.plate, (int)m.plate_colour, flags & 4 ? &reg : NULL, &veh);
    FUZZ_CHECK(veh.n_assumptions <= POLICY_ASSUMPTIONS_MAX);
    FUZZ_CHECK(fuzz_terminated(veh.plate.normalised, sizeof veh.plate.normalised));
    FUZZ_CHECK(fuzz_terminated(veh.plate.region, sizeof veh.plate.region));
    FUZZ_CHECK(!veh.local || veh.plate.valid);

    int64_t now_ms = NOW_BASE_MS + (int64_t)(int32_t)fuzz_u32(&in) * 1000;
    struct history hist;
    read_history(&in, now_ms, &hist);
    hist.stale = flags & 8;
    struct policy_input pin = {.m = &m,
                               .vehicle = &veh,
                               .history = &hist,
                               .now_ms = now_ms,
                               .alert = (enum alert_level)((flags >> 4) % (ALERT_RED + 1))};
    struct policy_verdict v;
    policy_judge(&cfg, &pin, &v);
    check_verdict(&cfg, &pin, &veh, &v);
    check_record(&m, &veh, &v);
    return 0;
}
