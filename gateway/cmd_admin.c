/* SPDX-License-Identifier: MIT */
/* rsgw registry, rsgw alert, rsgw status */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "json.h"
#include "pipeline.h"
#include "plate.h"
#include "registry.h"
#include "sync.h"

static const struct option target_long[] = {
    {"config", required_argument, NULL, 'c'}, {"db", required_argument, NULL, 'd'},
    {"json", no_argument, NULL, 'j'},         {"for", required_argument, NULL, 'f'},
    {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0}};

struct admin_opts {
    struct cli_target target;
    bool json;
    const char *for_hours;
};

static int parse_admin(int argc, char **argv, struct admin_opts *o, const char *usage)
{
    memset(o, 0, sizeof *o);
    int c;
    while ((c = getopt_long(argc, argv, "c:d:jf:h", target_long, NULL)) != -1) {
        switch (c) {
        case 'c':
            o->target.config = optarg;
            break;
        case 'd':
            o->target.db = optarg;
            break;
        case 'j':
            o->json = true;
            break;
        case 'f':
            o->for_hours = optarg;
            break;
        case 'h':
            printf("%s", usage);
            return 1;
        default:
            fprintf(stderr, "%s", usage);
            return 2;
        }
    }
    return 0;
}

static void vehicle_json(struct json *j, const struct registry_vehicle *v)
{
    json_object_begin(j, NULL);
    json_string(j, "plate", v->plate);
    json_string(j, "fuel", vehicle_fuel_name(v->fuel));
    json_int(j, "emission_stage", v->emission_stage);
    json_int(j, "gross_weight_kg", v->gross_weight_kg);
    json_string(j, "class", vehicle_class_name(v->vclass));
    json_string(j, "vin", v->vin);
    json_string(j, "exemption", vehicle_exemption_name(v->exemption));
    json_int(j, "updated_ms", v->updated_ms);
    json_string(j, "source", v->source);
    json_object_end(j);
}

static void vehicle_line(const struct registry_vehicle *v)
{
    printf("%-10s fuel=%s stage=%d gross_weight_kg=%d class=%s vin=%s exemption=%s source=%s\n",
           v->plate, vehicle_fuel_name(v->fuel), v->emission_stage, v->gross_weight_kg,
           vehicle_class_name(v->vclass), v->vin[0] ? v->vin : "-",
           vehicle_exemption_name(v->exemption), v->source[0] ? v->source : "-");
}

struct list_ctx {
    struct json *j;
    size_t n;
};

static int list_one(void *ud, const struct registry_vehicle *v)
{
    struct list_ctx *c = ud;
    if (c->j)
        vehicle_json(c->j, v);
    else
        vehicle_line(v);
    c->n++;
    return 0;
}

static const char registry_usage[] =
    "usage: rsgw registry [-c FILE | --db PATH] [--json] COMMAND\n"
    "  import FILE.csv              add or update vehicles (all or nothing)\n"
    "  set PLATE key=value ...      keys: fuel stage gross_weight_kg class vin exemption\n"
    "  show PLATE | rm PLATE | list\n";

static int registry_set(store *st, int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "%s", registry_usage);
        return 2;
    }
    struct plate_info pi;
    plate_parse(argv[1], &pi);
    if (!pi.valid) {
        fprintf(stderr, "rsgw: '%s' is not a valid plate: %s\n", argv[1], pi.error);
        return 1;
    }
    struct registry_vehicle v;
    int rc = registry_get_own(st, pi.normalised, &v); /* not the platform's exemption */
    if (rc < 0) {
        fprintf(stderr, "rsgw: %s\n", store_errmsg(st));
        return 1;
    }
    if (rc == 0) {
        memset(&v, 0, sizeof v);
        snprintf(v.plate, sizeof v.plate, "%s", pi.normalised);
    }
    for (int i = 2; i < argc; i++) {
        char err[256];
        if (registry_apply_edit(&v, argv[i], err, sizeof err) < 0) {
            fprintf(stderr, "rsgw: %s\n", err);
            return 1;
        }
    }
    snprintf(v.source, sizeof v.source, "cli");
    if (registry_put(st, &v) < 0) {
        fprintf(stderr, "rsgw: %s\n", store_errmsg(st));
        return 1;
    }
    vehicle_line(&v);
    return 0;
}

int cmd_registry(int argc, char **argv)
{
    struct admin_opts o;
    int rc = parse_admin(argc, argv, &o, registry_usage);
    if (rc)
        return rc == 1 ? 0 : rc;
    argc -= optind;
    argv += optind;
    if (argc < 1) {
        fprintf(stderr, "%s", registry_usage);
        return 2;
    }
    const char *sub = argv[0];
    bool writes = strcmp(sub, "import") == 0 || strcmp(sub, "set") == 0 || strcmp(sub, "rm") == 0;
    store *st;
    if (cli_open_store(&o.target, writes ? STORE_ADMIN : STORE_READ, &st) < 0)
        return 1;
    rc = 0;
    if (strcmp(sub, "import") == 0 && argc == 2) {
        struct registry_import_result res;
        char err[512];
        if (registry_import_csv(st, argv[1], &res, err, sizeof err) < 0) {
            fprintf(stderr, "rsgw: %s\nnothing was imported\n", err);
            rc = 1;
        } else {
            printf("%s: %zu vehicle(s) added, %zu updated\n", argv[1], res.inserted, res.updated);
        }
    } else if (strcmp(sub, "set") == 0) {
        rc = registry_set(st, argc, argv);
    } else if ((strcmp(sub, "show") == 0 || strcmp(sub, "rm") == 0) && argc == 2) {
        struct plate_info pi;
        plate_parse(argv[1], &pi);
        const char *plate = pi.valid ? pi.normalised : argv[1];
        struct registry_vehicle v;
        int found =
            strcmp(sub, "rm") == 0 ? registry_delete(st, plate) : registry_get(st, plate, &v);
        if (found < 0) {
            fprintf(stderr, "rsgw: %s\n", store_errmsg(st));
            rc = 1;
        } else if (found == 0) {
            fprintf(stderr, "rsgw: %s is not in the registry\n", plate);
            rc = 1;
        } else if (strcmp(sub, "rm") == 0) {
            printf("%s removed\n", plate);
        } else if (o.json) {
            struct json j;
            json_init(&j, stdout, true);
            vehicle_json(&j, &v);
            json_finish(&j);
        } else {
            vehicle_line(&v);
        }
    } else if (strcmp(sub, "list") == 0 && argc == 1) {
        struct json j;
        struct list_ctx c = {.j = o.json ? &j : NULL};
        if (o.json) {
            json_init(&j, stdout, true);
            json_array_begin(&j, NULL);
        }
        if (registry_list(st, list_one, &c) < 0) {
            fprintf(stderr, "rsgw: %s\n", store_errmsg(st));
            rc = 1;
        }
        if (o.json) {
            json_array_end(&j);
            json_finish(&j);
        }
    } else {
        fprintf(stderr, "%s", registry_usage);
        rc = 2;
    }
    store_close(st);
    return rc;
}

static const char alert_usage[] =
    "usage: rsgw alert [-c FILE | --db PATH] set LEVEL [--for HOURS]\n"
    "       rsgw alert [-c FILE | --db PATH] show [--json]\n"
    "LEVEL: none, blue, yellow, orange, red. The running gateway applies it within a\n"
    "second and records the change in the chain.\n";

int cmd_alert(int argc, char **argv)
{
    struct admin_opts o;
    int rc = parse_admin(argc, argv, &o, alert_usage);
    if (rc)
        return rc == 1 ? 0 : rc;
    /* getopt permutes: options may follow the subcommand (rsgw alert set orange --for 24). */
    argc -= optind;
    argv += optind;
    bool set = argc >= 1 && strcmp(argv[0], "set") == 0;
    bool show = argc >= 1 && strcmp(argv[0], "show") == 0;
    if (!set && !show) {
        fprintf(stderr, "%s", alert_usage);
        return 2;
    }
    store *st;
    if (cli_open_store(&o.target, set ? STORE_ADMIN : STORE_READ, &st) < 0)
        return 1;
    if (set) {
        const char *level_arg = argc >= 2 ? argv[1] : NULL;
        int level = level_arg ? alert_level_parse(level_arg) : -1;
        if (level < 0) {
            fprintf(stderr, "rsgw: alert level must be none, blue, yellow, orange or red\n");
            store_close(st);
            return 2;
        }
        int64_t until = 0;
        if (o.for_hours) {
            char *end;
            double h = strtod(o.for_hours, &end);
            if (*end || h <= 0 || h > 24 * 30) {
                fprintf(stderr, "rsgw: --for expects hours (0 < h <= 720), got '%s'\n",
                        o.for_hours);
                store_close(st);
                return 2;
            }
            until = (int64_t)time(NULL) * 1000 + (int64_t)(h * 3600000.0);
        }
        char until_text[32];
        snprintf(until_text, sizeof until_text, "%lld", (long long)until);
        if (store_setting_set(st, ALERT_UNTIL_KEY, until_text) < 0 ||
            store_setting_set(st, SYNC_ALERT_SOURCE_KEY, "operator") < 0 ||
            store_setting_set(st, ALERT_LEVEL_KEY, alert_level_name((enum alert_level)level)) < 0) {
            fprintf(stderr, "rsgw: %s\n", store_errmsg(st));
            store_close(st);
            return 1;
        }
        printf("alert level set to %s%s\n", alert_level_name((enum alert_level)level),
               until ? " (expires automatically)" : "");
    } else {
        char level[32] = "none", until_text[32] = "0";
        if (store_setting_get(st, ALERT_LEVEL_KEY, level, sizeof level) < 0 ||
            store_setting_get(st, ALERT_UNTIL_KEY, until_text, sizeof until_text) < 0) {
            fprintf(stderr, "rsgw: %s\n", store_errmsg(st));
            store_close(st);
            return 1;
        }
        long long until = strtoll(until_text, NULL, 10);
        if (o.json) {
            struct json j;
            json_init(&j, stdout, true);
            json_object_begin(&j, NULL);
            json_string(&j, "level", level);
            json_int(&j, "until_ms", until);
            json_object_end(&j);
            json_finish(&j);
        } else if (until > 0) {
            time_t t = (time_t)(until / 1000);
            struct tm tm;
            char when[32];
            localtime_r(&t, &tm);
            strftime(when, sizeof when, "%Y-%m-%d %H:%M", &tm);
            printf("alert level %s until %s\n", level, when);
        } else {
            printf("alert level %s\n", level);
        }
    }
    store_close(st);
    return 0;
}

int cmd_status(int argc, char **argv)
{
    struct admin_opts o;
    int rc = parse_admin(argc, argv, &o,
                         "usage: rsgw status [-c FILE] [--json]\n"
                         "Shows the running gateway's health (lanes, store, alert level).\n");
    if (rc)
        return rc == 1 ? 0 : rc;
    struct config *cfg = malloc(sizeof *cfg);
    const char *path = o.target.config ? o.target.config : CLI_DEFAULT_CONFIG;
    if (!cfg || cli_load_config(path, cfg) < 0) {
        free(cfg);
        return 1;
    }
    char status_path[CONFIG_PATH_MAX + 16];
    config_status_path(cfg, status_path, sizeof status_path);
    if (!o.json) {
        /* The human view is rendered by the daemon next to the JSON. */
        size_t n = strlen(status_path);
        snprintf(status_path + n - 4, sizeof status_path - (n - 4), "txt");
    }
    int interval = cfg->status_interval_ms;
    free(cfg);
    FILE *f = fopen(status_path, "r");
    if (!f) {
        fprintf(stderr, "rsgw: no status at %s (%s): is the gateway running?\n", status_path,
                strerror(errno));
        return 1;
    }
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        fwrite(buf, 1, n, stdout);
    struct stat sb;
    if (fstat(fileno(f), &sb) == 0) {
        long age = (long)(time(NULL) - sb.st_mtime);
        if (age * 1000 > 3L * interval + 2000)
            fprintf(stderr,
                    "rsgw: warning: this status is %ld s old: the gateway may not be "
                    "running\n",
                    age);
    }
    fclose(f);
    return 0;
}
