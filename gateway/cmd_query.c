/* SPDX-License-Identifier: MIT */
/* rsgw records, rsgw history, rsgw verify */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "plate.h"
#include "policy.h"
#include "record.h"
#include "view.h"

struct query_opts {
    struct cli_target target;
    const char *plate;
    size_t limit;
    bool json, detail, all;
};

static const struct option query_long[] = {{"config", required_argument, NULL, 'c'},
                                           {"db", required_argument, NULL, 'd'},
                                           {"plate", required_argument, NULL, 'p'},
                                           {"limit", required_argument, NULL, 'n'},
                                           {"json", no_argument, NULL, 'j'},
                                           {"detail", no_argument, NULL, 'D'},
                                           {"all", no_argument, NULL, 'a'},
                                           {"help", no_argument, NULL, 'h'},
                                           {NULL, 0, NULL, 0}};

static int parse_query(int argc, char **argv, struct query_opts *o, const char *usage)
{
    memset(o, 0, sizeof *o);
    o->limit = 50;
    int c;
    while ((c = getopt_long(argc, argv, "c:d:p:n:jDah", query_long, NULL)) != -1) {
        switch (c) {
        case 'c':
            o->target.config = optarg;
            break;
        case 'd':
            o->target.db = optarg;
            break;
        case 'p':
            o->plate = optarg;
            break;
        case 'n': {
            char *end;
            long n = strtol(optarg, &end, 10);
            if (*end || n < 0) {
                fprintf(stderr, "rsgw: --limit expects a number, got '%s'\n", optarg);
                return 2;
            }
            o->limit = (size_t)n;
            break;
        }
        case 'j':
            o->json = true;
            break;
        case 'D':
            o->detail = true;
            break;
        case 'a':
            o->all = true;
            break;
        case 'h':
            printf("%s", usage);
            return 1;
        default:
            return 2;
        }
    }
    return 0;
}

struct collected {
    size_t n, cap;
    Rsgw__V1__Record **rec;
    uint8_t (*hash)[32];
    size_t bad;
};

static int collect(void *ud, uint64_t seq, const uint8_t hash[32], const uint8_t *payload,
                   size_t len)
{
    struct collected *c = ud;
    Rsgw__V1__Record *r = record_unpack(payload, len);
    if (!r) {
        fprintf(stderr, "rsgw: record %llu does not decode (run rsgw verify)\n",
                (unsigned long long)seq);
        c->bad++;
        return 0;
    }
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 64;
        Rsgw__V1__Record **nr = realloc(c->rec, cap * sizeof *nr);
        if (nr)
            c->rec = nr;
        uint8_t(*nh)[32] = nr ? realloc(c->hash, cap * sizeof *nh) : NULL;
        if (!nr || !nh) {
            record_free(r);
            return -1;
        }
        c->hash = nh;
        c->cap = cap;
    }
    c->rec[c->n] = r;
    memcpy(c->hash[c->n], hash, 32);
    c->n++;
    return 0;
}

static void collected_free(struct collected *c)
{
    for (size_t i = 0; i < c->n; i++)
        record_free(c->rec[i]);
    free(c->rec);
    free(c->hash);
}

static void print_records(const struct collected *c, bool newest_first, const struct query_opts *o)
{
    struct view_opts vo = {.colour = isatty(STDOUT_FILENO) && !o->json};
    struct json j;
    if (o->json) {
        json_init(&j, stdout, true);
        json_array_begin(&j, NULL);
    } else if (!o->detail) {
        view_table_header(stdout, &vo);
    }
    for (size_t k = 0; k < c->n; k++) {
        size_t i = newest_first ? c->n - 1 - k : k; /* collected newest first: show oldest first */
        if (o->json)
            view_record_json(&j, c->rec[i], c->hash[i]);
        else if (o->detail)
            view_record_detail(stdout, &vo, c->rec[i], c->hash[i]);
        else
            view_table_row(stdout, &vo, c->rec[i]);
    }
    if (o->json) {
        json_array_end(&j);
        json_finish(&j);
    }
}

static const char *normalised_plate(const char *in, struct plate_info *p)
{
    plate_parse(in, p);
    return p->valid ? p->normalised : in;
}

int cmd_records(int argc, char **argv)
{
    struct query_opts o;
    int rc =
        parse_query(argc, argv, &o,
                    "usage: rsgw records [-c FILE | --db PATH] [--plate P] [--limit N | --all]\n"
                    "                    [--detail] [--json]\n"
                    "Shows the newest records (50 by default), oldest first.\n");
    if (rc)
        return rc == 1 ? 0 : rc;
    store *st;
    if (cli_open_store(&o.target, STORE_READ, &st) < 0)
        return 1;
    struct plate_info pi;
    struct store_query q = {.limit = o.all ? 0 : o.limit,
                            .newest_first = !o.all,
                            .plate = o.plate ? normalised_plate(o.plate, &pi) : NULL};
    struct collected c = {0};
    rc = store_records(st, &q, collect, &c);
    if (rc < 0)
        fprintf(stderr, "rsgw: %s\n", store_errmsg(st));
    else
        print_records(&c, !o.all, &o);
    collected_free(&c);
    store_close(st);
    return rc < 0 || c.bad ? 1 : 0;
}

int cmd_history(int argc, char **argv)
{
    struct query_opts o;
    int rc = parse_query(argc, argv, &o,
                         "usage: rsgw history PLATE [-c FILE | --db PATH] [--json]\n"
                         "Every record of the plate, newest first, with the rules that decided.\n");
    if (rc)
        return rc == 1 ? 0 : rc;
    if (optind != argc - 1) {
        fprintf(stderr, "usage: rsgw history PLATE [-c FILE | --db PATH] [--json]\n");
        return 2;
    }
    struct plate_info pi;
    const char *plate = normalised_plate(argv[optind], &pi);
    if (!pi.valid)
        fprintf(stderr, "rsgw: note: '%s' is not a valid plate (%s); searching as written\n",
                argv[optind], pi.error);

    /* The window the policy uses: from the configuration when there is one. */
    int months = 6;
    if (!o.target.db) {
        struct config *cfg = malloc(sizeof *cfg);
        if (cfg &&
            cli_load_config(o.target.config ? o.target.config : CLI_DEFAULT_CONFIG, cfg) == 0)
            months = cfg->policy.window_months;
        free(cfg);
    }
    store *st;
    if (cli_open_store(&o.target, STORE_READ, &st) < 0)
        return 1;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    int64_t since = policy_window_start(now, months);
    struct history h;
    rc = store_history(st, plate, since, &h);
    struct store_query q = {.plate = plate, .newest_first = true};
    struct collected c = {0};
    if (rc >= 0)
        rc = store_records(st, &q, collect, &c);
    if (rc < 0) {
        fprintf(stderr, "rsgw: %s\n", store_errmsg(st));
    } else if (o.json) {
        struct json j;
        json_init(&j, stdout, true);
        json_object_begin(&j, NULL);
        json_string(&j, "plate", plate);
        json_int(&j, "window_start_ms", since);
        json_int(&j, "window_months", months);
        json_uint(&j, "findings_in_window", h.findings);
        json_array_begin(&j, "records");
        for (size_t i = 0; i < c.n; i++)
            view_record_json(&j, c.rec[i], c.hash[i]);
        json_array_end(&j);
        json_object_end(&j);
        json_finish(&j);
    } else {
        char day[32];
        time_t t = (time_t)(since / 1000);
        struct tm tm;
        localtime_r(&t, &tm);
        strftime(day, sizeof day, "%Y-%m-%d", &tm);
        printf("%s: %zu record(s); %u finding(s) since %s (%d natural months)\n\n", plate, c.n,
               h.findings, day, months);
        struct view_opts vo = {.colour = isatty(STDOUT_FILENO)};
        for (size_t i = 0; i < c.n; i++) {
            view_record_detail(stdout, &vo, c.rec[i], c.hash[i]);
            putchar('\n');
        }
    }
    collected_free(&c);
    store_close(st);
    return rc < 0 ? 1 : 0;
}

static int copy_hash(void *ud, uint64_t seq, const uint8_t hash[32], const uint8_t *payload,
                     size_t len)
{
    (void)seq;
    (void)payload;
    (void)len;
    memcpy(ud, hash, 32);
    return 0;
}

static void verify_progress(void *ud, uint64_t done, uint64_t total)
{
    (void)ud;
    fprintf(stderr, "\rverifying: %llu / %llu", (unsigned long long)done,
            (unsigned long long)total);
}

int cmd_verify(int argc, char **argv)
{
    struct query_opts o;
    int rc =
        parse_query(argc, argv, &o,
                    "usage: rsgw verify [-c FILE | --db PATH] [--json]\n"
                    "Recomputes the hash chain over every record; names the first broken one.\n"
                    "Exit status 0 intact, 1 broken or unreadable.\n");
    if (rc)
        return rc == 1 ? 0 : rc;
    store *st;
    if (cli_open_store(&o.target, STORE_READ, &st) < 0)
        return 1;
    struct store_verify_result res;
    bool tty = isatty(STDERR_FILENO) && !o.json;
    rc = store_verify(st, &res, tty ? verify_progress : NULL, NULL);
    if (tty)
        fputs("\r\033[K", stderr);
    /* The head is the newest record's hash (a read-only handle does not track it). */
    uint8_t head[32] = {0};
    struct store_query newest = {.limit = 1, .newest_first = true};
    store_records(st, &newest, copy_hash, head);
    if (rc < 0 && !res.reason[0])
        snprintf(res.reason, sizeof res.reason, "%s", store_errmsg(st));
    if (o.json) {
        struct json j;
        json_init(&j, stdout, true);
        json_object_begin(&j, NULL);
        json_bool(&j, "ok", rc == 0 && res.ok);
        json_uint(&j, "checked", res.checked);
        if (!res.ok || rc < 0) {
            json_uint(&j, "first_bad_seq", res.first_bad_seq);
            json_string(&j, "reason", res.reason);
        }
        json_object_end(&j);
        json_finish(&j);
    } else if (rc == 0 && res.ok) {
        printf("chain intact: %llu record(s) verified, head ", (unsigned long long)res.checked);
        for (int i = 0; i < 32; i++)
            printf("%02x", head[i]);
        putchar('\n');
    } else {
        printf("CHAIN BROKEN: %s\n", res.reason);
        if (res.first_bad_seq)
            printf("first broken record: %llu (%llu record(s) before it verified)\n",
                   (unsigned long long)res.first_bad_seq, (unsigned long long)res.checked);
    }
    store_close(st);
    return rc == 0 && res.ok ? 0 : 1;
}
