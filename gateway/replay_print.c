/* SPDX-License-Identifier: MIT */
/* rsgw replay's output: for people, and --json. */
#include <stdio.h>

#include "json.h"
#include "replay.h"

static const char *validity_word(enum j1939_validity v)
{
    return j1939_validity_name(v);
}

void replay_print_human(const struct replay *r)
{
    printf("%s: %llu frames over %.3f s, %llu malformed line(s), %llu error frame(s)\n", r->path,
           (unsigned long long)r->frames, replay_rel_s(r, r->last_us),
           (unsigned long long)r->parse_errors, (unsigned long long)r->error_frames);
    printf("\nVINs\n");
    if (!r->n_vins)
        printf("  none\n");
    for (size_t i = 0; i < r->n_vins; i++)
        printf("  %-20s %-17s %s (%llu time(s))\n", r->vins[i].source, r->vins[i].text,
               r->vins[i].valid ? "valid" : "INVALID", (unsigned long long)r->vins[i].count);
    printf("\nDM1 (last per source)\n");
    bool any = false;
    for (int sa = 0; sa < 256; sa++) {
        const struct dm1_seen *d = r->dm1[sa];
        if (!d || !d->present)
            continue;
        any = true;
        const struct j1939_lamps *l = &d->dm1.lamps;
        printf("  0x%02X: MIL %s, red stop %s, amber %s, protect %s; %u DTC(s)%s (%llu seen)\n", sa,
               j1939_lamp_name(l->mil), j1939_lamp_name(l->red_stop),
               j1939_lamp_name(l->amber_warning), j1939_lamp_name(l->protect), d->dm1.n_dtc,
               d->via_tp ? " via TP" : "", (unsigned long long)d->count);
        for (unsigned i = 0; i < d->dm1.n_dtc; i++)
            printf("        SPN %-6u FMI %-2u OC %-3u CM %u\n", d->dm1.dtc[i].spn,
                   d->dm1.dtc[i].fmi, d->dm1.dtc[i].oc, d->dm1.dtc[i].cm ? 1u : 0u);
    }
    if (!any)
        printf("  none\n");
    printf("\nDM5\n");
    any = false;
    for (int sa = 0; sa < 256; sa++) {
        if (!r->dm5_present[sa])
            continue;
        any = true;
        const struct j1939_dm5 *d = &r->dm5[sa];
        printf("  0x%02X: OBD compliance %u (%s), active %u, previously active %u\n", sa,
               d->obd_compliance, j1939_obd_compliance_name(d->obd_compliance), d->active_count,
               d->previous_count);
        for (int m = 0; m <= J1939_MON_COMPREHENSIVE; m++) {
            if (m > J1939_MON_NMHC_CATALYST && m < J1939_MON_MISFIRE)
                continue;
            enum j1939_readiness rd = j1939_dm5_monitor(d, (enum j1939_monitor)m);
            if (rd == J1939_READY_UNSUPPORTED)
                continue;
            printf("        %-32s %s\n", j1939_monitor_name((enum j1939_monitor)m),
                   j1939_readiness_name(rd));
        }
    }
    if (!any)
        printf("  none\n");
    printf("\nLive values (last per SPN)\n");
    any = false;
    for (size_t k = 0; k < REPLAY_LIVE_MAX_SPN && r->live[k].present; k++) {
        const struct live_seen *l = &r->live[k];
        any = true;
        if (l->v.validity == J1939_VALID)
            printf("  SPN %-5u %-40s %10.2f %s (0x%02X)\n", l->v.def->spn, l->v.def->name,
                   l->v.value, l->v.def->unit, l->sa);
        else
            printf("  SPN %-5u %-40s %10s (0x%02X)\n", l->v.def->spn, l->v.def->name,
                   validity_word(l->v.validity), l->sa);
    }
    if (!any)
        printf("  none\n");
    printf("\nOBD (ISO 15765-4): %llu request(s)\n", (unsigned long long)r->obd_requests);
    for (size_t i = 0; i < r->n_obd; i++) {
        const struct obd_ecu_seen *e = &r->obd[i];
        char src[24];
        replay_obd_source(e->rx_id, src, sizeof src);
        printf("  %s: %llu answer(s), %llu negative", src, (unsigned long long)e->answers,
               (unsigned long long)e->negative);
        if (e->have_mon)
            printf("; MIL %s, %u DTC(s) reported", e->mon.mil_on ? "on" : "off", e->mon.dtc_count);
        if (e->have_dtc) {
            printf("; stored DTCs (%u):", e->dtc_count);
            for (size_t k = 0; k < e->n_dtc; k++)
                printf(" %s", e->dtc[k]);
        }
        printf("\n");
    }
    printf("\nJ1939 TP sessions: %llu completed (%llu BAM, %llu RTS/CTS), %llu aborted, %llu timed "
           "out, %llu refused\n",
           (unsigned long long)r->tp_completed, (unsigned long long)r->tp_bam,
           (unsigned long long)r->tp_rts, (unsigned long long)r->tp_aborted,
           (unsigned long long)r->tp_timed_out, (unsigned long long)r->tp_refused);
    for (size_t i = 0; i < r->n_done; i++)
        printf("  0x%02X->0x%02X PGN %-6u %-10s %llu (%s)\n", r->done[i].sa, r->done[i].da,
               r->done[i].pgn, "completed", (unsigned long long)r->done[i].count,
               r->done[i].da == J1939_ADDR_GLOBAL ? "BAM" : "RTS/CTS");
    for (size_t i = 0; i < r->n_sessions; i++)
        printf("  0x%02X->0x%02X PGN %-6u %-10s %s\n", r->sessions[i].sa, r->sessions[i].da,
               r->sessions[i].pgn, r->sessions[i].outcome, r->sessions[i].reason);
    printf("\nAnomalies: %llu\n", (unsigned long long)r->n_anomalies);
    for (uint64_t i = 0; i < r->n_anomalies && i < REPLAY_MAX_ANOMALIES; i++)
        printf("  %s\n", r->anomalies[i].text);
    if (r->n_anomalies > REPLAY_MAX_ANOMALIES)
        printf("  ... %llu more\n", (unsigned long long)(r->n_anomalies - REPLAY_MAX_ANOMALIES));
}

void replay_print_json(const struct replay *r)
{
    struct json j;
    json_init(&j, stdout, true);
    json_object_begin(&j, NULL);
    json_string(&j, "file", r->path);
    json_uint(&j, "frames", r->frames);
    json_double(&j, "duration_s", replay_rel_s(r, r->last_us));
    json_uint(&j, "malformed_lines", r->parse_errors);
    json_uint(&j, "error_frames", r->error_frames);
    json_array_begin(&j, "vins");
    for (size_t i = 0; i < r->n_vins; i++) {
        json_object_begin(&j, NULL);
        json_string(&j, "source", r->vins[i].source);
        json_string(&j, "vin", r->vins[i].text);
        json_bool(&j, "valid", r->vins[i].valid);
        json_uint(&j, "count", r->vins[i].count);
        json_object_end(&j);
    }
    json_array_end(&j);
    json_array_begin(&j, "dm1");
    for (int sa = 0; sa < 256; sa++) {
        const struct dm1_seen *d = r->dm1[sa];
        if (!d || !d->present)
            continue;
        json_object_begin(&j, NULL);
        json_uint(&j, "source", (uint64_t)sa);
        json_uint(&j, "count", d->count);
        json_bool(&j, "via_tp", d->via_tp);
        json_string(&j, "mil", j1939_lamp_name(d->dm1.lamps.mil));
        json_string(&j, "red_stop", j1939_lamp_name(d->dm1.lamps.red_stop));
        json_string(&j, "amber_warning", j1939_lamp_name(d->dm1.lamps.amber_warning));
        json_string(&j, "protect", j1939_lamp_name(d->dm1.lamps.protect));
        json_array_begin(&j, "dtcs");
        for (unsigned i = 0; i < d->dm1.n_dtc; i++) {
            json_object_begin(&j, NULL);
            json_uint(&j, "spn", d->dm1.dtc[i].spn);
            json_uint(&j, "fmi", d->dm1.dtc[i].fmi);
            json_uint(&j, "oc", d->dm1.dtc[i].oc);
            json_uint(&j, "cm", d->dm1.dtc[i].cm ? 1 : 0);
            json_object_end(&j);
        }
        json_array_end(&j);
        json_object_end(&j);
    }
    json_array_end(&j);
    json_array_begin(&j, "dm5");
    for (int sa = 0; sa < 256; sa++) {
        if (!r->dm5_present[sa])
            continue;
        const struct j1939_dm5 *d = &r->dm5[sa];
        json_object_begin(&j, NULL);
        json_uint(&j, "source", (uint64_t)sa);
        json_uint(&j, "obd_compliance", d->obd_compliance);
        json_uint(&j, "active", d->active_count);
        json_uint(&j, "previously_active", d->previous_count);
        json_object_begin(&j, "monitors");
        for (int m = 0; m <= J1939_MON_COMPREHENSIVE; m++) {
            if (m > J1939_MON_NMHC_CATALYST && m < J1939_MON_MISFIRE)
                continue;
            enum j1939_readiness rd = j1939_dm5_monitor(d, (enum j1939_monitor)m);
            if (rd != J1939_READY_UNSUPPORTED)
                json_string(&j, j1939_monitor_name((enum j1939_monitor)m),
                            j1939_readiness_name(rd));
        }
        json_object_end(&j);
        json_object_end(&j);
    }
    json_array_end(&j);
    json_array_begin(&j, "live");
    for (size_t k = 0; k < REPLAY_LIVE_MAX_SPN && r->live[k].present; k++) {
        const struct live_seen *l = &r->live[k];
        json_object_begin(&j, NULL);
        json_uint(&j, "spn", l->v.def->spn);
        json_string(&j, "name", l->v.def->name);
        json_uint(&j, "source", l->sa);
        if (l->v.validity == J1939_VALID)
            json_double(&j, "value", l->v.value);
        else
            json_string(&j, "value", validity_word(l->v.validity));
        json_string(&j, "unit", l->v.def->unit);
        json_object_end(&j);
    }
    json_array_end(&j);
    json_object_begin(&j, "obd");
    json_uint(&j, "requests", r->obd_requests);
    json_array_begin(&j, "ecus");
    for (size_t i = 0; i < r->n_obd; i++) {
        const struct obd_ecu_seen *e = &r->obd[i];
        char src[24];
        replay_obd_source(e->rx_id, src, sizeof src);
        json_object_begin(&j, NULL);
        json_string(&j, "ecu", src + 4);
        json_uint(&j, "answers", e->answers);
        json_uint(&j, "negative", e->negative);
        if (e->have_mon) {
            json_bool(&j, "mil", e->mon.mil_on);
            json_uint(&j, "dtc_count", e->mon.dtc_count);
        }
        if (e->have_dtc) {
            json_array_begin(&j, "stored_dtcs");
            for (size_t k = 0; k < e->n_dtc; k++)
                json_string(&j, NULL, e->dtc[k]);
            json_array_end(&j);
        }
        json_object_end(&j);
    }
    json_array_end(&j);
    json_object_end(&j);
    json_object_begin(&j, "tp");
    json_uint(&j, "completed", r->tp_completed);
    json_uint(&j, "completed_bam", r->tp_bam);
    json_uint(&j, "completed_rts_cts", r->tp_rts);
    json_uint(&j, "aborted", r->tp_aborted);
    json_uint(&j, "timed_out", r->tp_timed_out);
    json_uint(&j, "refused", r->tp_refused);
    json_array_begin(&j, "completed_by");
    for (size_t i = 0; i < r->n_done; i++) {
        json_object_begin(&j, NULL);
        json_uint(&j, "sa", r->done[i].sa);
        json_uint(&j, "da", r->done[i].da);
        json_uint(&j, "pgn", r->done[i].pgn);
        json_string(&j, "kind", r->done[i].da == J1939_ADDR_GLOBAL ? "BAM" : "RTS/CTS");
        json_uint(&j, "count", r->done[i].count);
        json_object_end(&j);
    }
    json_array_end(&j);
    json_array_begin(&j, "sessions");
    for (size_t i = 0; i < r->n_sessions; i++) {
        json_object_begin(&j, NULL);
        json_uint(&j, "sa", r->sessions[i].sa);
        json_uint(&j, "da", r->sessions[i].da);
        json_uint(&j, "pgn", r->sessions[i].pgn);
        json_string(&j, "outcome", r->sessions[i].outcome);
        json_string(&j, "reason", r->sessions[i].reason);
        json_object_end(&j);
    }
    json_array_end(&j);
    json_object_end(&j);
    json_object_begin(&j, "anomalies");
    json_uint(&j, "count", r->n_anomalies);
    json_uint(&j, "orphan_tp_dt", r->orphan_dt);
    json_uint(&j, "sequence_errors", r->seq_errors);
    json_uint(&j, "refused_announcements", r->oversize);
    json_uint(&j, "malformed_tp", r->malformed_tp);
    json_array_begin(&j, "list");
    for (uint64_t i = 0; i < r->n_anomalies && i < REPLAY_MAX_ANOMALIES; i++)
        json_string(&j, NULL, r->anomalies[i].text);
    json_array_end(&j);
    json_object_end(&j);
    json_object_end(&j);
    json_finish(&j);
}
