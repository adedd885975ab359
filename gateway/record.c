/* SPDX-License-Identifier: MIT */
#include "record.h"

#include <stdlib.h>
#include <string.h>

/* The C enums mirror the schema's numbering; the record is the contract. */
_Static_assert((int)RESULT_OVER_STANDARD == (int)RSGW__V1__RESULT__RESULT_OVER_STANDARD, "result");
_Static_assert((int)ACTION_PENALTY == (int)RSGW__V1__ACTION__ACTION_PENALTY, "action");
_Static_assert((int)AGENCY_TRAFFIC_POLICE == (int)RSGW__V1__AGENCY__AGENCY_TRAFFIC_POLICE,
               "agency");
_Static_assert((int)ALERT_RED == (int)RSGW__V1__ALERT_LEVEL__ALERT_LEVEL_RED, "alert");
_Static_assert((int)PLATE_KIND_HK_MACAU == (int)RSGW__V1__PLATE_KIND__PLATE_KIND_HK_MACAU, "kind");
_Static_assert((int)RSU_COLOUR_OTHER == (int)RSGW__V1__PLATE_COLOUR__PLATE_COLOUR_OTHER, "colour");
_Static_assert((int)FUEL_HYBRID == (int)RSGW__V1__FUEL__FUEL_HYBRID, "fuel");
_Static_assert((int)EXEMPT_ENFORCEMENT == (int)RSGW__V1__EXEMPTION__EXEMPTION_ENFORCEMENT,
               "exemption");

#define SET_OPT(msg, field, present, v)                                                            \
    do {                                                                                           \
        if (present) {                                                                             \
            (msg).has_##field = 1;                                                                 \
            (msg).field = (v);                                                                     \
        }                                                                                          \
    } while (0)

static char *s(const char *v)
{
    return (char *)(v ? v : "");
}

static void fill_measurement(Rsgw__V1__Measurement *pm, const struct record_pass *in,
                             char **image_refs, char **issues)
{
    const struct rsu_measurement *m = in->m;
    pm->device_id = s(in->device_id);
    pm->lane = s(in->lane);
    SET_OPT(*pm, device_seq, 1, m->seq);
    SET_OPT(*pm, read_time_ms, 1, m->read_time_ms);
    SET_OPT(*pm, device_time_ms, m->has_device_time, m->device_time_ms);
    pm->plate = (char *)m->plate;
    SET_OPT(*pm, plate_colour_code, 1, m->plate_colour_code);
    SET_OPT(*pm, plate_colour, 1, (Rsgw__V1__PlateColour)m->plate_colour);
#define FIELD(f, name) SET_OPT(*pm, name, rsu_has(m, f), m->value[f])
    FIELD(RSU_F_OPACITY, opacity_pct);
    FIELD(RSU_F_RINGELMANN, ringelmann);
    FIELD(RSU_F_NO, no_ppm);
    FIELD(RSU_F_CO, co_pct);
    FIELD(RSU_F_HC, hc_ppm);
    FIELD(RSU_F_CO2, co2_pct);
    FIELD(RSU_F_SPEED, speed_kmh);
    FIELD(RSU_F_ACCEL, accel_ms2);
    FIELD(RSU_F_VSP, vsp_kw_t);
    FIELD(RSU_F_WIND_SPEED, wind_speed_ms);
    FIELD(RSU_F_WIND_DIR, wind_dir_deg);
    FIELD(RSU_F_AMBIENT_TEMP, ambient_temp_c);
    FIELD(RSU_F_HUMIDITY, humidity_pct);
    FIELD(RSU_F_PRESSURE, pressure_kpa);
    FIELD(RSU_F_SLOPE, slope_deg);
#undef FIELD
    for (size_t i = 0; i < m->n_image_refs && i < RSU_IMAGE_REFS; i++)
        image_refs[i] = (char *)m->image_ref[i];
    pm->n_image_refs = m->n_image_refs < RSU_IMAGE_REFS ? m->n_image_refs : RSU_IMAGE_REFS;
    pm->image_refs = image_refs;
    for (size_t i = 0; i < m->n_issues && i < RSU_ISSUES_MAX; i++)
        issues[i] = (char *)m->issues[i];
    pm->n_issues = m->n_issues < RSU_ISSUES_MAX ? m->n_issues : RSU_ISSUES_MAX;
    pm->issues = issues;
    pm->has_raw_registers = 1;
    pm->raw_registers.len = m->raw_len;
    pm->raw_registers.data = (uint8_t *)m->raw;
    pm->has_raw_fingerprint = 1;
    pm->raw_fingerprint.len = sizeof m->fingerprint;
    pm->raw_fingerprint.data = (uint8_t *)m->fingerprint;
    pm->profile = s(in->profile);
}

static void fill_vehicle(Rsgw__V1__Vehicle *pv, const struct policy_vehicle *v, char **assumptions)
{
    pv->plate = (char *)(v->plate.normalised[0] ? v->plate.normalised : "");
    SET_OPT(*pv, plate_kind, 1, (Rsgw__V1__PlateKind)v->plate.kind);
    SET_OPT(*pv, plate_colour, 1, (Rsgw__V1__PlateColour)v->plate_colour);
    SET_OPT(*pv, local, 1, v->local);
    pv->region = (char *)v->plate.region;
    SET_OPT(*pv, in_registry, 1, v->in_registry);
    SET_OPT(*pv, fuel, 1, (Rsgw__V1__Fuel)v->fuel);
    SET_OPT(*pv, emission_stage, 1, (uint32_t)v->emission_stage);
    SET_OPT(*pv, gross_weight_kg, 1, (uint32_t)v->gross_weight_kg);
    SET_OPT(*pv, vehicle_class, 1, (Rsgw__V1__VehicleClass)v->vclass);
    pv->vin = (char *)v->vin;
    SET_OPT(*pv, exemption, 1, (Rsgw__V1__Exemption)v->exemption);
    SET_OPT(*pv, heavy, 1, v->heavy);
    size_t n = v->n_assumptions < POLICY_ASSUMPTIONS_MAX ? v->n_assumptions : 0;
    for (size_t i = 0; i < n; i++)
        assumptions[i] = (char *)v->assumptions[i];
    pv->n_assumptions = n;
    pv->assumptions = assumptions;
}

static size_t bits_to_list(uint32_t bits, int *out, size_t max)
{
    size_t n = 0;
    for (int b = 0; b < 32 && n < max; b++)
        if (bits & (1u << b))
            out[n++] = b;
    return n;
}

/* Storage the packed verdict points into; lives as long as the pack call. */
struct verdict_store {
    Rsgw__V1__Action action_list[32];
    Rsgw__V1__Agency agency_list[32];
    Rsgw__V1__RuleHit hits[POLICY_RULES_MAX];
    Rsgw__V1__RuleHit *hit_ptrs[POLICY_RULES_MAX];
    char *exceeded[8];
};

static void fill_verdict(Rsgw__V1__Verdict *pd, const struct policy_verdict *vd,
                         const char *policy_digest, struct verdict_store *st)
{
    SET_OPT(*pd, result, 1, (Rsgw__V1__Result)vd->result);
    int actions[32], agencies[32];
    pd->n_actions = bits_to_list(vd->actions & ~POLICY_ACT(ACTION_NONE), actions, 32);
    for (size_t i = 0; i < pd->n_actions; i++)
        st->action_list[i] = (Rsgw__V1__Action)actions[i];
    pd->actions = st->action_list;
    pd->n_agencies = bits_to_list(vd->agencies & ~POLICY_AGENCY(AGENCY_NONE), agencies, 32);
    for (size_t i = 0; i < pd->n_agencies; i++)
        st->agency_list[i] = (Rsgw__V1__Agency)agencies[i];
    pd->agencies = st->agency_list;
    SET_OPT(*pd, finding_number, 1, vd->finding_number);

    size_t n_rules = vd->n_rules < POLICY_RULES_MAX ? vd->n_rules : POLICY_RULES_MAX;
    for (size_t i = 0; i < n_rules; i++) {
        const struct policy_rule_hit *r = &vd->rules[i];
        Rsgw__V1__RuleHit h = RSGW__V1__RULE_HIT__INIT;
        h.rule_id = (char *)r->rule_id;
        h.quantity = (char *)r->quantity;
        SET_OPT(h, measured, r->has_measured, r->measured);
        SET_OPT(h, limit, r->has_limit, r->limit);
        h.unit = (char *)r->unit;
        h.clause = (char *)r->clause;
        h.text = (char *)r->text;
        st->hits[i] = h;
        st->hit_ptrs[i] = &st->hits[i];
    }
    pd->n_rules = n_rules;
    pd->rules = st->hit_ptrs;
    pd->limit_set = vd->limit_set == 1 ? "b" : "a";
    SET_OPT(*pd, window_start_ms, 1, vd->window_start_ms);
    SET_OPT(*pd, alert_level, 1, (Rsgw__V1__AlertLevel)vd->alert);
    size_t n_exceeded = 0;
    for (uint32_t bit = 1; bit && n_exceeded < 8; bit <<= 1)
        if (vd->exceeded & bit)
            st->exceeded[n_exceeded++] = (char *)history_pollutant_name(bit);
    pd->n_exceeded = n_exceeded;
    pd->exceeded = st->exceeded;
    pd->policy_digest = s(policy_digest);
    SET_OPT(*pd, history_stale, 1, vd->history_stale);
}

/* The envelope every record shares: numbering, origin, size check, packing. */
static int pack_record(Rsgw__V1__Record *rec, uint64_t seq, int64_t time_ms, const char *gateway_id,
                       const char *checkpoint, uint8_t *buf, size_t cap, size_t *len)
{
    SET_OPT(*rec, seq, 1, seq);
    SET_OPT(*rec, time_ms, 1, time_ms);
    rec->gateway_id = s(gateway_id);
    rec->checkpoint = s(checkpoint);
    if (rsgw__v1__record__get_packed_size(rec) > cap)
        return -1;
    *len = rsgw__v1__record__pack(rec, buf);
    return 0;
}

int record_pack_pass(const struct record_pass *in, uint8_t *buf, size_t cap, size_t *len)
{
    Rsgw__V1__Measurement pm = RSGW__V1__MEASUREMENT__INIT;
    char *image_refs[RSU_IMAGE_REFS], *issues[RSU_ISSUES_MAX];
    fill_measurement(&pm, in, image_refs, issues);

    Rsgw__V1__Vehicle pv = RSGW__V1__VEHICLE__INIT;
    char *assumptions[POLICY_ASSUMPTIONS_MAX];
    fill_vehicle(&pv, in->vehicle, assumptions);

    Rsgw__V1__Verdict pd = RSGW__V1__VERDICT__INIT;
    struct verdict_store vst;
    fill_verdict(&pd, in->verdict, in->policy_digest, &vst);

    Rsgw__V1__Pass pass = RSGW__V1__PASS__INIT;
    pass.measurement = &pm;
    pass.vehicle = &pv;
    pass.verdict = &pd;

    Rsgw__V1__Record rec = RSGW__V1__RECORD__INIT;
    rec.body_case = RSGW__V1__RECORD__BODY_PASS;
    rec.pass = &pass;
    return pack_record(&rec, in->seq, in->time_ms, in->gateway_id, in->checkpoint, buf, cap, len);
}

_Static_assert((int)OBDREAD_PROTO_ISO15765_29BIT ==
                   (int)RSGW__V1__OBD_PROTOCOL__OBD_PROTOCOL_ISO15765_29BIT,
               "obd protocol");
_Static_assert((int)OBDREAD_COMM_INTERFACE_ERROR + 1 ==
                   (int)RSGW__V1__OBD_COMMUNICATION__OBD_COMMUNICATION_INTERFACE_ERROR,
               "obd communication");

/* The pack buffers of one ObdCheck (the report's arrays are bounded). */
struct obd_store {
    Rsgw__V1__ObdDtc dtc[OBDREAD_MAX_DTCS];
    Rsgw__V1__ObdDtc *dtc_ptr[OBDREAD_MAX_DTCS];
    char *readiness[OBDREAD_MAX_READINESS];
    Rsgw__V1__ObdCalibration cal[OBDREAD_MAX_CALS];
    Rsgw__V1__ObdCalibration *cal_ptr[OBDREAD_MAX_CALS];
    Rsgw__V1__ObdLiveValue live[OBDREAD_MAX_LIVE];
    Rsgw__V1__ObdLiveValue *live_ptr[OBDREAD_MAX_LIVE];
};

static void fill_obd_check(Rsgw__V1__ObdCheck *pc, const struct record_obd *in,
                           struct obd_store *st)
{
    const struct obdread_report *r = in->report;
    SET_OPT(*pc, protocol, 1, (Rsgw__V1__ObdProtocol)r->protocol);
    pc->vin = (char *)r->vin;
    SET_OPT(*pc, mil_on, r->mil != OBDREAD_MIL_UNKNOWN, r->mil == OBDREAD_MIL_ON);
    size_t n = r->n_dtcs < OBDREAD_MAX_DTCS ? r->n_dtcs : OBDREAD_MAX_DTCS;
    for (size_t i = 0; i < n; i++) {
        Rsgw__V1__ObdDtc d = RSGW__V1__OBD_DTC__INIT;
        const struct obdread_dtc *x = &r->dtcs[i];
        SET_OPT(d, ecu, 1, x->ecu);
        d.code = (char *)x->code;
        SET_OPT(d, spn, x->spn != 0, x->spn);
        SET_OPT(d, fmi, x->spn != 0, x->fmi);
        SET_OPT(d, occurrence, x->spn != 0, x->oc);
        SET_OPT(d, mil_on, 1, x->mil_on);
        st->dtc[i] = d;
        st->dtc_ptr[i] = &st->dtc[i];
    }
    pc->n_dtcs = n;
    pc->dtcs = st->dtc_ptr;
    n = r->n_readiness_incomplete < OBDREAD_MAX_READINESS ? r->n_readiness_incomplete
                                                          : OBDREAD_MAX_READINESS;
    for (size_t i = 0; i < n; i++)
        st->readiness[i] = (char *)r->readiness_incomplete[i];
    pc->n_readiness_incomplete = n;
    pc->readiness_incomplete = st->readiness;
    SET_OPT(*pc, odometer_km, r->odometer_present, r->odometer_km);
    n = r->n_cals < OBDREAD_MAX_CALS ? r->n_cals : OBDREAD_MAX_CALS;
    for (size_t i = 0; i < n; i++) {
        Rsgw__V1__ObdCalibration c = RSGW__V1__OBD_CALIBRATION__INIT;
        SET_OPT(c, ecu, 1, r->cals[i].ecu);
        c.cal_id = (char *)r->cals[i].cal_id;
        c.cvn = (char *)r->cals[i].cvn;
        st->cal[i] = c;
        st->cal_ptr[i] = &st->cal[i];
    }
    pc->n_calibrations = n;
    pc->calibrations = st->cal_ptr;
    n = r->n_live < OBDREAD_MAX_LIVE ? r->n_live : OBDREAD_MAX_LIVE;
    for (size_t i = 0; i < n; i++) {
        Rsgw__V1__ObdLiveValue l = RSGW__V1__OBD_LIVE_VALUE__INIT;
        const struct obdread_live *x = &r->live[i];
        l.name = (char *)x->name;
        l.unit = (char *)x->unit;
        SET_OPT(l, value, x->state == OBDREAD_VALUE_OK, x->value);
        l.state = (char *)obdread_value_state_name(x->state);
        SET_OPT(l, ecu, 1, x->ecu);
        st->live[i] = l;
        st->live_ptr[i] = &st->live[i];
    }
    pc->n_live_values = n;
    pc->live_values = st->live_ptr;
    SET_OPT(*pc, communication, 1, (Rsgw__V1__ObdCommunication)(r->comm + 1));
    pc->communication_message = (char *)r->message;
    pc->plate = s(in->plate);
    pc->operator_note = s(in->note);
    SET_OPT(*pc, readiness_read, 1, r->readiness_read);
    pc->missing = (char *)r->missing;
    pc->interface = s(in->interface);
}

int record_pack_obd(const struct record_obd *in, uint8_t *buf, size_t cap, size_t *len)
{
    Rsgw__V1__ObdCheck pc = RSGW__V1__OBD_CHECK__INIT;
    struct obd_store *ost = calloc(1, sizeof(*ost));
    if (!ost)
        return -1;
    fill_obd_check(&pc, in, ost);

    Rsgw__V1__Vehicle pv = RSGW__V1__VEHICLE__INIT;
    char *assumptions[POLICY_ASSUMPTIONS_MAX];
    fill_vehicle(&pv, in->vehicle, assumptions);

    Rsgw__V1__Verdict pd = RSGW__V1__VERDICT__INIT;
    struct verdict_store vst;
    fill_verdict(&pd, in->verdict, in->policy_digest, &vst);

    Rsgw__V1__ObdInspection insp = RSGW__V1__OBD_INSPECTION__INIT;
    insp.check = &pc;
    insp.vehicle = &pv;
    insp.verdict = &pd;

    Rsgw__V1__Record rec = RSGW__V1__RECORD__INIT;
    rec.body_case = RSGW__V1__RECORD__BODY_OBD;
    rec.obd = &insp;
    int rc = pack_record(&rec, in->seq, in->time_ms, in->gateway_id, in->checkpoint, buf, cap, len);
    free(ost);
    return rc;
}

int record_pack_event(const struct record_event *in, uint8_t *buf, size_t cap, size_t *len)
{
    Rsgw__V1__Event ev = RSGW__V1__EVENT__INIT;
    ev.kind = s(in->kind);
    ev.detail = s(in->detail);
    SET_OPT(ev, alert_level, 1, (Rsgw__V1__AlertLevel)in->alert);
    SET_OPT(ev, valid_until_ms, 1, in->valid_until_ms);

    Rsgw__V1__Record rec = RSGW__V1__RECORD__INIT;
    rec.body_case = RSGW__V1__RECORD__BODY_EVENT;
    rec.event = &ev;
    return pack_record(&rec, in->seq, in->time_ms, in->gateway_id, in->checkpoint, buf, cap, len);
}

Rsgw__V1__Record *record_unpack(const uint8_t *buf, size_t len)
{
    return rsgw__v1__record__unpack(NULL, len, buf);
}

void record_free(Rsgw__V1__Record *r)
{
    if (r)
        rsgw__v1__record__free_unpacked(r, NULL);
}

const char *record_agency_word(int agency)
{
    static const char *const words[] = {"none", "environment", "traffic_police"};
    return agency >= 0 && agency < 3 ? words[agency] : "unknown";
}
