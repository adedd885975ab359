/* SPDX-License-Identifier: MIT */
/*
 * rsgw obd: the roadside OBD check. Reads the connected vehicle (can/obdread.h),
 * prints the report and the verdict, and appends an ObdInspection record to the
 * store. The store has one writer: when the daemon holds it, the report and verdict
 * are printed and nothing is stored (said clearly; routing the record through the
 * daemon is a later issue).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "json.h"
#include "obd_inspect.h"

static const char usage[] =
    "usage: rsgw obd (--can IFACE | --log FILE) [--plate PLATE [--colour C]] [--note TEXT]\n"
    "                [--json]"
    " [-c FILE | --db PATH] [--no-store]\n"
    "  --can IFACE   read the vehicle on a SocketCAN interface (can0)\n"
    "  --log FILE    read a candump log instead: listen only, requests go unanswered\n"
    "  --plate P     the plate as the officer reads it (history, registry, findings)\n"
    "  --colour C    the plate's colour (blue, yellow, green, ...): yellow = heavy diesel proxy\n"
    "  --note TEXT   operator note, stored with the record\n"
    "  --no-store    print only\n";

struct obd_opts {
    struct cli_target target;
    const char *can, *log, *plate, *note;
    int colour; /* enum rsu_plate_colour */
    bool json, no_store;
};

static int parse(int argc, char **argv, struct obd_opts *o)
{
    static const struct option longs[] = {
        {"can", required_argument, NULL, 'C'},
        {"log", required_argument, NULL, 'L'},
        {"plate", required_argument, NULL, 'p'},
        {"note", required_argument, NULL, 'n'},
        {"json", no_argument, NULL, 'j'},
        {"config", required_argument, NULL, 'c'},
        {"db", required_argument, NULL, 'd'},
        {"no-store", no_argument, NULL, 'N'},
        {"colour", required_argument, NULL, 'K'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof(*o));
    int c;
    while ((c = getopt_long(argc, argv, "c:d:p:jh", longs, NULL)) != -1) {
        switch (c) {
        case 'C':
            o->can = optarg;
            break;
        case 'L':
            o->log = optarg;
            break;
        case 'p':
            o->plate = optarg;
            break;
        case 'n':
            o->note = optarg;
            break;
        case 'j':
            o->json = true;
            break;
        case 'c':
            o->target.config = optarg;
            break;
        case 'd':
            o->target.db = optarg;
            break;
        case 'N':
            o->no_store = true;
            break;
        case 'K':
            o->colour = rsu_colour_by_name(optarg);
            if (o->colour < 0) {
                fprintf(stderr, "rsgw obd: --colour %s: not a plate colour (blue, yellow, ...)\n",
                        optarg);
                return 2;
            }
            break;
        case 'h':
            printf("%s", usage);
            return 1;
        default:
            fprintf(stderr, "%s", usage);
            return 2;
        }
    }
    if (optind < argc || (!o->can == !o->log)) {
        fprintf(stderr, "rsgw obd: give exactly one of --can IFACE or --log FILE\n%s", usage);
        return 2;
    }
    return 0;
}

static const char *verdict_word(enum policy_result r)
{
    switch (r) {
    case RESULT_PASS:
        return "PASS";
    case RESULT_OVER_STANDARD:
        return "FAIL";
    case RESULT_NOT_JUDGED:
        return "RE-CHECK / NOT JUDGED";
    default:
        return policy_result_name(r);
    }
}

static void print_human(const struct obdread_report *r, const struct obd_inspection *in,
                        const char *plate, const char *iface)
{
    printf("OBD check     %s  (%s on %s)\n", plate && *plate ? plate : "(no plate entered)",
           obdread_protocol_name(r->protocol), iface);
    printf("communication %s: %s\n", obdread_comm_name(r->comm), r->message);
    printf("VIN           %s%s\n", r->vin[0] ? r->vin : "not read",
           r->vin[0] && !r->vin_valid ? " (not a valid VIN)" : "");
    printf("MIL           %s\n", r->mil == OBDREAD_MIL_ON    ? "ON"
                                 : r->mil == OBDREAD_MIL_OFF ? "off"
                                                             : "not read");
    printf("DTCs          %zu%s\n", r->n_dtcs, r->dtcs_truncated ? " (more not shown)" : "");
    for (size_t i = 0; i < r->n_dtcs; i++) {
        const struct obdread_dtc *d = &r->dtcs[i];
        printf("  ECU 0x%02X  %-16s", d->ecu, d->code);
        if (d->spn)
            printf("  occurrences %s%u", d->oc == 127 ? "n/a " : "", d->oc == 127 ? 0u : d->oc);
        printf("%s\n", d->mil_on ? "  MIL on" : "");
    }
    if (!r->readiness_read)
        printf("readiness     not read\n");
    else if (r->n_readiness_incomplete == 0)
        printf("readiness     all supported monitors complete\n");
    else
        printf("readiness     %zu not complete: %s\n", r->n_readiness_incomplete,
               in->readiness_names);
    if (r->odometer_present)
        printf("odometer      %.1f km\n", r->odometer_km);
    else
        printf("odometer      not read\n");
    for (size_t i = 0; i < r->n_cals; i++)
        printf("CAL ID / CVN  ECU 0x%02X  %s  %s\n", r->cals[i].ecu,
               r->cals[i].cal_id[0] ? r->cals[i].cal_id : "-",
               r->cals[i].cvn[0] ? r->cals[i].cvn : "-");
    if (r->n_live)
        printf("live values\n");
    for (size_t i = 0; i < r->n_live; i++) {
        const struct obdread_live *l = &r->live[i];
        if (l->state == OBDREAD_VALUE_OK)
            printf("  %-40s %10.2f %s\n", l->name, l->value, l->unit);
        else
            printf("  %-40s %10s\n", l->name, obdread_value_state_name(l->state));
    }
    if (r->missing[0])
        printf("no answer for %s\n", r->missing);
    const struct policy_verdict *v = &in->verdict;
    char acts[64];
    policy_actions_format(v->actions, acts, sizeof acts);
    printf("VERDICT       %s", verdict_word(v->result));
    if (v->finding_number)
        printf("  finding #%u", v->finding_number);
    printf("  action %s", acts);
    if (v->agencies & POLICY_AGENCY(AGENCY_ENVIRONMENT))
        printf("  env");
    if (v->agencies & POLICY_AGENCY(AGENCY_TRAFFIC_POLICE))
        printf("  police");
    printf("\n");
    for (size_t i = 0; i < v->n_rules; i++) {
        const struct policy_rule_hit *h = &v->rules[i];
        printf("  %-20s", h->rule_id);
        if (h->has_measured)
            printf(" measured %g", h->measured);
        if (h->has_limit)
            printf(" limit %g", h->limit);
        printf("  [%s]\n      %s\n", h->clause, h->text);
    }
}

static void print_json(const struct obdread_report *r, const struct obd_inspection *in,
                       const char *plate, const char *iface, const char *stored, uint64_t seq)
{
    struct json j;
    json_init(&j, stdout, true);
    json_object_begin(&j, NULL);
    json_string(&j, "plate", plate ? plate : "");
    json_string(&j, "interface", iface);
    json_string(&j, "protocol", obdread_protocol_name(r->protocol));
    json_string(&j, "communication", obdread_comm_name(r->comm));
    json_string(&j, "message", r->message);
    json_string(&j, "vin", r->vin[0] ? r->vin : NULL);
    if (r->mil == OBDREAD_MIL_UNKNOWN)
        json_null(&j, "mil_on");
    else
        json_bool(&j, "mil_on", r->mil == OBDREAD_MIL_ON);
    json_array_begin(&j, "dtcs");
    for (size_t i = 0; i < r->n_dtcs; i++) {
        json_object_begin(&j, NULL);
        json_uint(&j, "ecu", r->dtcs[i].ecu);
        json_string(&j, "code", r->dtcs[i].code);
        if (r->dtcs[i].spn) {
            json_uint(&j, "spn", r->dtcs[i].spn);
            json_uint(&j, "fmi", r->dtcs[i].fmi);
            json_uint(&j, "occurrence", r->dtcs[i].oc);
        }
        json_bool(&j, "mil_on", r->dtcs[i].mil_on);
        json_object_end(&j);
    }
    json_array_end(&j);
    json_bool(&j, "readiness_read", r->readiness_read);
    json_array_begin(&j, "readiness_incomplete");
    for (size_t i = 0; i < r->n_readiness_incomplete; i++)
        json_string(&j, NULL, r->readiness_incomplete[i]);
    json_array_end(&j);
    if (r->odometer_present)
        json_double(&j, "odometer_km", r->odometer_km);
    else
        json_null(&j, "odometer_km");
    json_array_begin(&j, "calibrations");
    for (size_t i = 0; i < r->n_cals; i++) {
        json_object_begin(&j, NULL);
        json_uint(&j, "ecu", r->cals[i].ecu);
        json_string(&j, "cal_id", r->cals[i].cal_id);
        json_string(&j, "cvn", r->cals[i].cvn);
        json_object_end(&j);
    }
    json_array_end(&j);
    json_array_begin(&j, "live_values");
    for (size_t i = 0; i < r->n_live; i++) {
        const struct obdread_live *l = &r->live[i];
        json_object_begin(&j, NULL);
        json_string(&j, "name", l->name);
        json_string(&j, "unit", l->unit);
        if (l->state == OBDREAD_VALUE_OK)
            json_double(&j, "value", l->value);
        else
            json_null(&j, "value");
        json_string(&j, "state", obdread_value_state_name(l->state));
        json_uint(&j, "ecu", l->ecu);
        json_object_end(&j);
    }
    json_array_end(&j);
    json_string(&j, "missing", r->missing);
    const struct policy_verdict *v = &in->verdict;
    json_object_begin(&j, "verdict");
    json_string(&j, "result", policy_result_name(v->result));
    char acts[64];
    policy_actions_format(v->actions, acts, sizeof acts);
    json_string(&j, "actions", acts);
    json_bool(&j, "environment", v->agencies & POLICY_AGENCY(AGENCY_ENVIRONMENT));
    json_bool(&j, "traffic_police", v->agencies & POLICY_AGENCY(AGENCY_TRAFFIC_POLICE));
    json_uint(&j, "finding_number", v->finding_number);
    json_array_begin(&j, "rules");
    for (size_t i = 0; i < v->n_rules; i++) {
        const struct policy_rule_hit *h = &v->rules[i];
        json_object_begin(&j, NULL);
        json_string(&j, "rule_id", h->rule_id);
        if (h->has_measured)
            json_double(&j, "measured", h->measured);
        if (h->has_limit)
            json_double(&j, "limit", h->limit);
        json_string(&j, "clause", h->clause);
        json_string(&j, "text", h->text);
        json_object_end(&j);
    }
    json_array_end(&j);
    json_object_end(&j);
    json_string(&j, "stored", stored);
    if (seq)
        json_uint(&j, "seq", seq);
    json_object_end(&j);
    json_finish(&j);
}

static canbus *open_bus(const struct obd_opts *o, struct obdread_opts *ro)
{
    char err[512];
    obdread_opts_default(ro);
    canbus *bus;
    if (o->log) {
        ro->listen_only = true;
        bus = canbus_open_log(o->log, NULL, err, sizeof err);
    } else {
        bus = canbus_open_socketcan(o->can, NULL, err, sizeof err);
    }
    if (!bus)
        fprintf(stderr, "rsgw obd: %s\n", err);
    return bus;
}

/* The configuration: -c, else the default file when there is one, else (with --db or
 * --no-store) the built-in defaults. */
static int load_config(const struct obd_opts *o, struct config *cfg)
{
    if (o->target.config)
        return cli_load_config(o->target.config, cfg);
    FILE *f = fopen(CLI_DEFAULT_CONFIG, "r");
    if (f) {
        fclose(f);
        return cli_load_config(CLI_DEFAULT_CONFIG, cfg);
    }
    if (!o->target.db && !o->no_store) {
        fprintf(stderr, "rsgw obd: no %s: pass -c FILE, --db PATH or --no-store\n",
                CLI_DEFAULT_CONFIG);
        return -1;
    }
    struct config_diag diag;
    memset(&diag, 0, sizeof diag);
    if (config_parse("[gateway]\nid = rsgw-obd\n", "(defaults)", cfg, &diag) == 0)
        return 0;
    for (size_t i = 0; i < diag.n; i++)
        fprintf(stderr, "rsgw obd: %s\n", diag.msg[i]);
    return -1;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The writer when nobody else holds the store; else a reader (history only). */
static store *open_store(const struct obd_opts *o, const struct config *cfg, bool *writer,
                         char *why, size_t whylen)
{
    *writer = false;
    char path[CONFIG_PATH_MAX + 16];
    if (o->target.db)
        snprintf(path, sizeof path, "%s", o->target.db);
    else
        config_db_path(cfg, path, sizeof path);
    store *st = NULL;
    char err[512];
    if (!o->no_store) {
        int rc = store_open(path, STORE_WRITER, &st, err, sizeof err);
        if (rc == STORE_OK) {
            *writer = true;
            return st;
        }
        if (rc == STORE_EBUSY)
            snprintf(why, whylen,
                     "the gateway daemon holds the store %s: report printed, NOT stored "
                     "(stop the daemon or re-run later to record it)",
                     path);
        else
            snprintf(why, whylen, "cannot open the store: %s: NOT stored", err);
    } else {
        snprintf(why, whylen, "--no-store: NOT stored");
    }
    if (store_open(path, STORE_READ, &st, err, sizeof err) != STORE_OK)
        st = NULL; /* judged without history */
    return st;
}

int cmd_obd(int argc, char **argv)
{
    struct obd_opts o;
    int rc = parse(argc, argv, &o);
    if (rc)
        return rc == 1 ? 0 : rc;
    struct obdread_opts ro;
    canbus *bus = open_bus(&o, &ro);
    if (!bus)
        return 1;
    struct config *cfg = calloc(1, sizeof *cfg);
    struct obdread_report *rep = calloc(1, sizeof *rep);
    struct obd_inspection *in = calloc(1, sizeof *in);
    int status = 1;
    store *st = NULL;
    if (!cfg || !rep || !in || load_config(&o, cfg) < 0)
        goto out;
    if (!o.json)
        fprintf(stderr, "reading the vehicle on %s ...\n", o.can ? o.can : o.log);
    char err[512] = "";
    if (obdread_run(bus, &ro, rep, err, sizeof err) < 0)
        fprintf(stderr, "rsgw obd: %s\n", err);
    bool writer = false;
    char why[768] = "";
    st = open_store(&o, cfg, &writer, why, sizeof why);
    const char *iface = o.can ? o.can : o.log;
    if (obd_inspect(cfg, st, rep, o.plate, o.colour, o.note, iface, now_ms(), in, err, sizeof err) <
        0) {
        fprintf(stderr, "rsgw obd: %s\n", err);
        goto out;
    }
    uint64_t seq = 0;
    status = 0;
    if (writer) {
        seq = store_next_seq(st);
        if (store_append(st, in->record, in->len, NULL) < 0) {
            snprintf(why, sizeof why, "NOT stored: %s", store_errmsg(st));
            seq = 0;
            status = 1;
        } else {
            snprintf(why, sizeof why, "stored as record %llu", (unsigned long long)seq);
        }
    }
    if (o.json) {
        print_json(rep, in, o.plate, iface, why, seq);
    } else {
        print_human(rep, in, o.plate, iface);
        printf("%s\n", why);
    }
    if (!writer && !o.no_store)
        fprintf(stderr, "rsgw obd: %s\n", why);
out:
    store_close(st);
    canbus_close(bus);
    free(in);
    free(rep);
    free(cfg);
    return status;
}
