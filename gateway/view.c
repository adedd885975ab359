/* SPDX-License-Identifier: MIT */
#include "view.h"

#include <string.h>
#include <strings.h>
#include <time.h>

#define C_RESET "\033[0m"
#define C_RED   "\033[1;31m"
#define C_YEL   "\033[1;33m"
#define C_GRN   "\033[32m"
#define C_DIM   "\033[2m"

int view_text_width(const char *utf8)
{
    int w = 0;
    for (const unsigned char *p = (const unsigned char *)utf8; *p;) {
        unsigned cp;
        int n;
        if (*p < 0x80) {
            cp = *p;
            n = 1;
        } else if ((*p & 0xE0) == 0xC0) {
            cp = *p & 0x1F;
            n = 2;
        } else if ((*p & 0xF0) == 0xE0) {
            cp = *p & 0x0F;
            n = 3;
        } else {
            cp = *p & 0x07;
            n = 4;
        }
        for (int i = 1; i < n; i++) {
            if ((p[i] & 0xC0) != 0x80) {
                n = i;
                break;
            }
            cp = (cp << 6) | (p[i] & 0x3F);
        }
        p += n;
        /* East Asian wide ranges that matter here: CJK, Hangul, full-width forms. */
        bool wide = (cp >= 0x1100 && cp <= 0x115F) || (cp >= 0x2E80 && cp <= 0xA4CF) ||
                    (cp >= 0xAC00 && cp <= 0xD7A3) || (cp >= 0xF900 && cp <= 0xFAFF) ||
                    (cp >= 0xFF00 && cp <= 0xFF60) || (cp >= 0xFFE0 && cp <= 0xFFE6);
        w += wide ? 2 : 1;
    }
    return w;
}

/* Optional strings of a damaged or older record may be absent. */
static const char *str(const char *s)
{
    return s ? s : "";
}

static void put_padded(FILE *f, const char *s, int width)
{
    fputs(s, f);
    for (int w = view_text_width(s); w < width; w++)
        fputc(' ', f);
    fputc(' ', f);
}

static void format_time(int64_t ms, char *buf, size_t len, bool with_date)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(buf, len, with_date ? "%Y-%m-%d %H:%M:%S" : "%H:%M:%S", &tm);
}

static const Rsgw__V1__RuleHit *rule_for(const Rsgw__V1__Verdict *v, const char *quantity)
{
    for (size_t i = 0; i < v->n_rules; i++) {
        const Rsgw__V1__RuleHit *h = v->rules[i];
        if (h->quantity && strcasecmp(h->quantity, quantity) == 0 && h->has_limit)
            return h;
    }
    return NULL;
}

static bool exceeded(const Rsgw__V1__Verdict *v, const char *quantity)
{
    for (size_t i = 0; i < v->n_exceeded; i++)
        if (strcasecmp(v->exceeded[i], quantity) == 0)
            return true;
    return false;
}

/* "opacity 42.1/30% NO 1800/1500ppm": each judged pollutant with its limit. */
static void format_measured(const Rsgw__V1__Pass *p, char *buf, size_t len)
{
    const Rsgw__V1__Measurement *m = p->measurement;
    struct {
        const char *name;
        protobuf_c_boolean has;
        double value;
        const char *unit;
    } q[] = {
        {"opacity", m->has_opacity_pct, m->opacity_pct, "%"},
        {"NO", m->has_no_ppm, m->no_ppm, "ppm"},
        {"Ringelmann", m->has_ringelmann, m->ringelmann, ""},
        {"CO", m->has_co_pct, m->co_pct, "%"},
        {"HC", m->has_hc_ppm, m->hc_ppm, "ppm"},
    };
    size_t off = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof q / sizeof q[0] && off < len; i++) {
        if (!q[i].has)
            continue;
        const Rsgw__V1__RuleHit *h = p->verdict ? rule_for(p->verdict, q[i].name) : NULL;
        if (!h)
            continue; /* not judged for this vehicle: shown in the detail view only */
        bool over = p->verdict && exceeded(p->verdict, q[i].name);
        if (!over && strcmp(q[i].name, "Ringelmann") == 0 && q[i].value < 1)
            continue; /* no visible smoke: not worth the width */
        const char *mark = over ? "!" : "";
        int n = snprintf(buf + off, len - off, "%s%s %.4g/%.4g%s", off ? " " : "", q[i].name,
                         q[i].value, h->limit, mark);
        if (n < 0)
            break;
        off += (size_t)n;
    }
    if (off == 0)
        snprintf(buf, len, "-");
}

static void format_actions(const Rsgw__V1__Verdict *v, char *buf, size_t len)
{
    size_t off = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < v->n_actions && off < len; i++) {
        int n = snprintf(buf + off, len - off, "%s%s", i ? "+" : "",
                         policy_action_name((enum policy_action)v->actions[i]));
        if (n < 0)
            break;
        off += (size_t)n;
    }
    if (!off)
        snprintf(buf, len, "-");
}

static void format_agencies(const Rsgw__V1__Verdict *v, char *buf, size_t len)
{
    size_t off = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < v->n_agencies && off < len; i++) {
        const char *a = v->agencies[i] == RSGW__V1__AGENCY__AGENCY_ENVIRONMENT      ? "env"
                        : v->agencies[i] == RSGW__V1__AGENCY__AGENCY_TRAFFIC_POLICE ? "police"
                                                                                    : "?";
        int n = snprintf(buf + off, len - off, "%s%s", i ? "+" : "", a);
        if (n < 0)
            break;
        off += (size_t)n;
    }
    if (!off)
        snprintf(buf, len, "-");
}

static const char *result_word(int r)
{
    static const char *const w[] = {"?", "PASS", "OVER", "INVALID", "NOT_JUDGED"};
    return r >= 0 && r < 5 ? w[r] : "?";
}

void view_table_header(FILE *f, const struct view_opts *o)
{
    (void)o;
    fprintf(f, "%-6s %-8s %-6s %-10s %-5s %-34s %-10s %-18s %-11s %s\n", "SEQ", "TIME", "LANE",
            "PLATE", "AREA", "MEASURED/LIMIT (! = over)", "RESULT", "ACTION", "AGENCY", "FINDING");
}

/* An OBD inspection in the table: lane "OBD", the check's summary where passes show values. */
static void obd_summary(const Rsgw__V1__ObdCheck *c, char *buf, size_t len)
{
    if (c->has_communication &&
        c->communication != RSGW__V1__OBD_COMMUNICATION__OBD_COMMUNICATION_OK)
        snprintf(buf, len, "OBD: no communication");
    else
        snprintf(buf, len, "OBD: MIL %s, %zu DTC, %zu not ready",
                 !c->has_mil_on ? "?"
                 : c->mil_on    ? "on!"
                                : "off",
                 c->n_dtcs, c->n_readiness_incomplete);
}

static void format_actions(const Rsgw__V1__Verdict *v, char *buf, size_t len);
static void format_agencies(const Rsgw__V1__Verdict *v, char *buf, size_t len);
static const char *result_word(int r);

static void obd_row(FILE *f, const Rsgw__V1__Record *r, const char *when)
{
    const Rsgw__V1__ObdCheck *c = r->obd->check;
    const Rsgw__V1__Verdict *v = r->obd->verdict;
    char summary[96], actions[64], agencies[32], finding[16];
    obd_summary(c, summary, sizeof summary);
    format_actions(v, actions, sizeof actions);
    format_agencies(v, agencies, sizeof agencies);
    if (v->finding_number)
        snprintf(finding, sizeof finding, "#%u", v->finding_number);
    else
        snprintf(finding, sizeof finding, "-");
    const Rsgw__V1__Vehicle *veh = r->obd->vehicle;
    const char *plate = veh && veh->plate && *veh->plate ? veh->plate
                        : c->plate && *c->plate          ? c->plate
                                                         : "(none)";
    fprintf(f, "%-6llu %-8s ", (unsigned long long)r->seq, when);
    put_padded(f, "OBD", 6);
    put_padded(f, plate, 10);
    put_padded(f, veh && veh->local ? "local" : "out", 5);
    put_padded(f, summary, 34);
    put_padded(f, result_word(v->result), 10);
    put_padded(f, actions, 18);
    put_padded(f, agencies, 11);
    fputs(finding, f);
    fputc('\n', f);
}

void view_table_row(FILE *f, const struct view_opts *o, const Rsgw__V1__Record *r)
{
    char when[32];
    format_time(r->time_ms, when, sizeof when, false);
    if (r->body_case == RSGW__V1__RECORD__BODY_EVENT) {
        const Rsgw__V1__Event *e = r->event;
        fprintf(f, "%s%-6llu %-8s event: %s: %s%s\n", o->colour ? C_DIM : "",
                (unsigned long long)r->seq, when, e->kind ? e->kind : "?",
                e->detail ? e->detail : "", o->colour ? C_RESET : "");
        return;
    }
    if (r->body_case == RSGW__V1__RECORD__BODY_OBD && r->obd && r->obd->check && r->obd->verdict) {
        obd_row(f, r, when);
        return;
    }
    if (r->body_case != RSGW__V1__RECORD__BODY_PASS || !r->pass || !r->pass->measurement ||
        !r->pass->verdict || !r->pass->vehicle) {
        fprintf(f, "%-6llu %-8s (record without a pass)\n", (unsigned long long)r->seq, when);
        return;
    }
    const Rsgw__V1__Pass *p = r->pass;
    const Rsgw__V1__Verdict *v = p->verdict;
    char measured[160], actions[64], agencies[32], finding[16];
    format_measured(p, measured, sizeof measured);
    format_actions(v, actions, sizeof actions);
    format_agencies(v, agencies, sizeof agencies);
    if (v->finding_number)
        snprintf(finding, sizeof finding, "#%u", v->finding_number);
    else
        snprintf(finding, sizeof finding, "-");

    const char *colour = "";
    if (o->colour) {
        bool turn_back = false, warn = false;
        for (size_t i = 0; i < v->n_actions; i++) {
            turn_back |= v->actions[i] == RSGW__V1__ACTION__ACTION_TURN_BACK ||
                         v->actions[i] == RSGW__V1__ACTION__ACTION_PENALTY;
            warn |= v->actions[i] == RSGW__V1__ACTION__ACTION_WARN ||
                    v->actions[i] == RSGW__V1__ACTION__ACTION_NOTICE;
        }
        colour = turn_back                                       ? C_RED
                 : warn                                          ? C_YEL
                 : v->result == RSGW__V1__RESULT__RESULT_INVALID ? C_DIM
                 : v->result == RSGW__V1__RESULT__RESULT_PASS    ? C_GRN
                                                                 : "";
    }
    /* An unreadable plate (garbage registers) is shown as such; `records --detail` has the bytes.
     */
    const char *plate = !p->measurement->plate || !p->measurement->plate[0] ? "(none)"
                        : p->vehicle->plate_kind == RSGW__V1__PLATE_KIND__PLATE_KIND_UNKNOWN
                            ? "(invalid)"
                            : p->measurement->plate;
    fputs(colour, f);
    fprintf(f, "%-6llu %-8s ", (unsigned long long)r->seq, when);
    put_padded(f, p->measurement->lane ? p->measurement->lane : "", 6);
    put_padded(f, plate, 10);
    put_padded(f, p->vehicle->local ? "local" : "out", 5);
    put_padded(f, measured, 34);
    put_padded(f, result_word(v->result), 10);
    put_padded(f, actions, 18);
    put_padded(f, agencies, 11);
    fputs(finding, f);
    fputs(o->colour && *colour ? C_RESET "\n" : "\n", f);
}

static void put_hex(FILE *f, const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%02x", b[i]);
}

void view_record_detail(FILE *f, const struct view_opts *o, const Rsgw__V1__Record *r,
                        const uint8_t hash[32])
{
    char when[32];
    format_time(r->time_ms, when, sizeof when, true);
    fprintf(f, "record %llu  %s  gateway %s  checkpoint %s\n", (unsigned long long)r->seq, when,
            r->gateway_id ? r->gateway_id : "", r->checkpoint ? r->checkpoint : "");
    if (hash) {
        fputs("  hash     ", f);
        put_hex(f, hash, 32);
        fputc('\n', f);
    }
    if (r->body_case == RSGW__V1__RECORD__BODY_EVENT) {
        fprintf(f, "  event    %s: %s\n", str(r->event->kind), str(r->event->detail));
        return;
    }
    if (r->body_case == RSGW__V1__RECORD__BODY_OBD && r->obd && r->obd->check) {
        const Rsgw__V1__ObdCheck *c = r->obd->check;
        char summary[96];
        obd_summary(c, summary, sizeof summary);
        fprintf(f, "  obd      %s on %s, plate %s, VIN %s: %s\n", str(c->communication_message),
                str(c->interface), str(c->plate), c->vin && *c->vin ? c->vin : "not read", summary);
        for (size_t i = 0; i < c->n_dtcs; i++)
            fprintf(f, "  dtc      ECU 0x%02X %s%s\n", c->dtcs[i]->ecu, str(c->dtcs[i]->code),
                    c->dtcs[i]->mil_on ? " (MIL on)" : "");
        for (size_t i = 0; i < c->n_readiness_incomplete; i++)
            fprintf(f, "  ready    not complete: %s\n", str(c->readiness_incomplete[i]));
        if (c->has_odometer_km)
            fprintf(f, "  odometer %.1f km\n", c->odometer_km);
        for (size_t i = 0; i < c->n_calibrations; i++)
            fprintf(f, "  cal      ECU 0x%02X %s CVN %s\n", c->calibrations[i]->ecu,
                    str(c->calibrations[i]->cal_id), str(c->calibrations[i]->cvn));
        if (c->operator_note && *c->operator_note)
            fprintf(f, "  note     %s\n", c->operator_note);
        if (!r->obd->verdict)
            return;
        const Rsgw__V1__Verdict *vd = r->obd->verdict;
        char actions[64];
        format_actions(vd, actions, sizeof actions);
        fprintf(f, "  verdict  %s, action %s, finding #%u\n", result_word(vd->result), actions,
                vd->finding_number);
        for (size_t i = 0; i < vd->n_rules; i++)
            fprintf(f, "  rule     %-22s %s (%s)\n", str(vd->rules[i]->rule_id),
                    str(vd->rules[i]->text), str(vd->rules[i]->clause));
        return;
    }
    if (r->body_case != RSGW__V1__RECORD__BODY_PASS || !r->pass || !r->pass->measurement ||
        !r->pass->verdict || !r->pass->vehicle)
        return;
    const Rsgw__V1__Pass *p = r->pass;
    const Rsgw__V1__Measurement *m = p->measurement;
    const Rsgw__V1__Vehicle *v = p->vehicle;
    const Rsgw__V1__Verdict *vd = p->verdict;
    fprintf(f, "  device   %s (lane %s) pass %u, profile %s\n", str(m->device_id), str(m->lane),
            m->device_seq, str(m->profile));
    bool has_vin = v->vin && *v->vin;
    fprintf(f, "  vehicle  %s, %s plate, %s, %s%s, fuel %s, China %u, %u kg%s%s\n",
            v->plate && *v->plate ? v->plate : "(no plate)",
            rsu_colour_name((enum rsu_plate_colour)v->plate_colour),
            v->local ? "local" : "out-of-area", v->in_registry ? "in registry" : "not in registry",
            v->heavy ? ", heavy" : "", vehicle_fuel_name((enum vehicle_fuel)v->fuel),
            v->emission_stage, v->gross_weight_kg, has_vin ? ", VIN " : "", has_vin ? v->vin : "");
    for (size_t i = 0; i < v->n_assumptions; i++)
        fprintf(f, "  assumed  %s\n", str(v->assumptions[i]));
    for (size_t i = 0; i < m->n_issues; i++)
        fprintf(f, "  issue    %s\n", str(m->issues[i]));
    char actions[64];
    format_actions(vd, actions, sizeof actions);
    fprintf(f, "  verdict  %s%s%s, action %s, finding #%u, limit set %s, alert %s\n",
            o->colour ? C_YEL : "", result_word(vd->result), o->colour ? C_RESET : "", actions,
            vd->finding_number, str(vd->limit_set),
            alert_level_name((enum alert_level)vd->alert_level));
    for (size_t i = 0; i < vd->n_rules; i++) {
        const Rsgw__V1__RuleHit *h = vd->rules[i];
        fprintf(f, "  rule     %-22s %s", str(h->rule_id), str(h->text));
        if (h->has_measured || h->has_limit) {
            fputs(" [", f);
            /* "%" hugs the number; words get a space: "12 %" reads oddly, "4issues" worse. */
            const char *sep = h->unit && h->unit[0] && h->unit[0] != '%' ? " " : "";
            if (h->has_measured)
                fprintf(f, "%s %.6g%s%s", str(h->quantity), h->measured, sep, str(h->unit));
            if (h->has_limit)
                fprintf(f, "%slimit %.6g%s%s", h->has_measured ? ", " : "", h->limit, sep,
                        str(h->unit));
            fputc(']', f);
        }
        if (h->clause && *h->clause)
            fprintf(f, " (%s)", h->clause);
        fputc('\n', f);
    }
}

static void json_opt(struct json *j, const char *key, protobuf_c_boolean has, double v)
{
    if (has)
        json_double(j, key, v);
}

static void json_hex(struct json *j, const char *key, const uint8_t *b, size_t n)
{
    char hex[2 * 512 + 1];
    if (n > 512)
        n = 512;
    for (size_t i = 0; i < n; i++)
        snprintf(hex + 2 * i, 3, "%02x", b[i]);
    hex[2 * n] = '\0';
    json_string(j, key, hex);
}

static void json_measurement(struct json *j, const Rsgw__V1__Measurement *m)
{
    json_object_begin(j, "measurement");
    json_string(j, "device_id", m->device_id);
    json_string(j, "lane", m->lane);
    json_uint(j, "device_seq", m->device_seq);
    json_int(j, "read_time_ms", m->read_time_ms);
    if (m->has_device_time_ms)
        json_int(j, "device_time_ms", m->device_time_ms);
    json_string(j, "plate", m->plate);
    json_uint(j, "plate_colour_code", m->plate_colour_code);
    json_string(j, "plate_colour", rsu_colour_name((enum rsu_plate_colour)m->plate_colour));
    json_opt(j, "opacity_pct", m->has_opacity_pct, m->opacity_pct);
    json_opt(j, "ringelmann", m->has_ringelmann, m->ringelmann);
    json_opt(j, "no_ppm", m->has_no_ppm, m->no_ppm);
    json_opt(j, "co_pct", m->has_co_pct, m->co_pct);
    json_opt(j, "hc_ppm", m->has_hc_ppm, m->hc_ppm);
    json_opt(j, "co2_pct", m->has_co2_pct, m->co2_pct);
    json_opt(j, "speed_kmh", m->has_speed_kmh, m->speed_kmh);
    json_opt(j, "accel_ms2", m->has_accel_ms2, m->accel_ms2);
    json_opt(j, "vsp_kw_t", m->has_vsp_kw_t, m->vsp_kw_t);
    json_opt(j, "wind_speed_ms", m->has_wind_speed_ms, m->wind_speed_ms);
    json_opt(j, "wind_dir_deg", m->has_wind_dir_deg, m->wind_dir_deg);
    json_opt(j, "ambient_temp_c", m->has_ambient_temp_c, m->ambient_temp_c);
    json_opt(j, "humidity_pct", m->has_humidity_pct, m->humidity_pct);
    json_opt(j, "pressure_kpa", m->has_pressure_kpa, m->pressure_kpa);
    json_opt(j, "slope_deg", m->has_slope_deg, m->slope_deg);
    json_array_begin(j, "image_refs");
    for (size_t i = 0; i < m->n_image_refs; i++)
        json_string(j, NULL, m->image_refs[i]);
    json_array_end(j);
    json_array_begin(j, "issues");
    for (size_t i = 0; i < m->n_issues; i++)
        json_string(j, NULL, m->issues[i]);
    json_array_end(j);
    json_string(j, "profile", m->profile);
    if (m->has_raw_fingerprint)
        json_hex(j, "raw_fingerprint", m->raw_fingerprint.data, m->raw_fingerprint.len);
    json_object_end(j);
}

static void json_vehicle(struct json *j, const Rsgw__V1__Vehicle *v)
{
    json_object_begin(j, "vehicle");
    json_string(j, "plate", v->plate);
    json_string(j, "plate_kind", plate_kind_name((enum plate_kind)v->plate_kind));
    json_string(j, "plate_colour", rsu_colour_name((enum rsu_plate_colour)v->plate_colour));
    json_bool(j, "local", v->local);
    json_string(j, "region", v->region);
    json_bool(j, "in_registry", v->in_registry);
    json_string(j, "fuel", vehicle_fuel_name((enum vehicle_fuel)v->fuel));
    json_uint(j, "emission_stage", v->emission_stage);
    json_uint(j, "gross_weight_kg", v->gross_weight_kg);
    json_string(j, "class", vehicle_class_name((enum vehicle_class)v->vehicle_class));
    json_string(j, "vin", v->vin);
    json_string(j, "exemption", vehicle_exemption_name((enum vehicle_exemption)v->exemption));
    json_bool(j, "heavy", v->heavy);
    json_array_begin(j, "assumptions");
    for (size_t i = 0; i < v->n_assumptions; i++)
        json_string(j, NULL, v->assumptions[i]);
    json_array_end(j);
    json_object_end(j);
}

static void json_verdict(struct json *j, const Rsgw__V1__Verdict *v)
{
    json_object_begin(j, "verdict");
    json_string(j, "result", policy_result_name((enum policy_result)v->result));
    json_array_begin(j, "actions");
    for (size_t i = 0; i < v->n_actions; i++)
        json_string(j, NULL, policy_action_name((enum policy_action)v->actions[i]));
    json_array_end(j);
    json_array_begin(j, "agencies");
    for (size_t i = 0; i < v->n_agencies; i++)
        json_string(j, NULL, record_agency_word((int)v->agencies[i]));
    json_array_end(j);
    json_uint(j, "finding_number", v->finding_number);
    json_array_begin(j, "exceeded");
    for (size_t i = 0; i < v->n_exceeded; i++)
        json_string(j, NULL, v->exceeded[i]);
    json_array_end(j);
    json_string(j, "limit_set", v->limit_set);
    json_int(j, "window_start_ms", v->window_start_ms);
    json_string(j, "alert_level", alert_level_name((enum alert_level)v->alert_level));
    json_bool(j, "history_stale", v->history_stale);
    json_string(j, "policy_digest", v->policy_digest);
    json_array_begin(j, "rules");
    for (size_t i = 0; i < v->n_rules; i++) {
        const Rsgw__V1__RuleHit *h = v->rules[i];
        json_object_begin(j, NULL);
        json_string(j, "rule_id", h->rule_id);
        json_string(j, "quantity", h->quantity);
        if (h->has_measured)
            json_double(j, "measured", h->measured);
        if (h->has_limit)
            json_double(j, "limit", h->limit);
        json_string(j, "unit", h->unit);
        json_string(j, "clause", h->clause);
        json_string(j, "text", h->text);
        json_object_end(j);
    }
    json_array_end(j);
    json_object_end(j);
}

void view_record_json(struct json *j, const Rsgw__V1__Record *r, const uint8_t hash[32])
{
    json_object_begin(j, NULL);
    json_uint(j, "seq", r->seq);
    json_int(j, "time_ms", r->time_ms);
    json_string(j, "gateway_id", r->gateway_id);
    json_string(j, "checkpoint", r->checkpoint);
    if (hash)
        json_hex(j, "hash", hash, 32);
    if (r->body_case == RSGW__V1__RECORD__BODY_EVENT && r->event) {
        json_string(j, "type", "event");
        json_object_begin(j, "event");
        json_string(j, "kind", r->event->kind);
        json_string(j, "detail", r->event->detail);
        json_string(j, "alert_level", alert_level_name((enum alert_level)r->event->alert_level));
        json_int(j, "valid_until_ms", r->event->valid_until_ms);
        json_object_end(j);
    } else if (r->body_case == RSGW__V1__RECORD__BODY_PASS && r->pass) {
        json_string(j, "type", "pass");
        if (r->pass->measurement)
            json_measurement(j, r->pass->measurement);
        if (r->pass->vehicle)
            json_vehicle(j, r->pass->vehicle);
        if (r->pass->verdict)
            json_verdict(j, r->pass->verdict);
    } else if (r->body_case == RSGW__V1__RECORD__BODY_OBD && r->obd) {
        json_string(j, "type", "obd");
        const Rsgw__V1__ObdCheck *c = r->obd->check;
        if (c) {
            json_object_begin(j, "obd");
            json_uint(j, "protocol", c->protocol);
            json_uint(j, "communication", c->communication);
            json_string(j, "communication_message", c->communication_message);
            json_string(j, "interface", c->interface);
            json_string(j, "plate", c->plate);
            json_string(j, "vin", c->vin);
            if (c->has_mil_on)
                json_bool(j, "mil_on", c->mil_on);
            json_array_begin(j, "dtcs");
            for (size_t i = 0; i < c->n_dtcs; i++)
                json_string(j, NULL, c->dtcs[i]->code);
            json_array_end(j);
            json_array_begin(j, "readiness_incomplete");
            for (size_t i = 0; i < c->n_readiness_incomplete; i++)
                json_string(j, NULL, c->readiness_incomplete[i]);
            json_array_end(j);
            json_opt(j, "odometer_km", c->has_odometer_km, c->odometer_km);
            json_string(j, "operator_note", c->operator_note);
            json_object_end(j);
        }
        if (r->obd->vehicle)
            json_vehicle(j, r->obd->vehicle);
        if (r->obd->verdict)
            json_verdict(j, r->obd->verdict);
    }
    json_object_end(j);
}
