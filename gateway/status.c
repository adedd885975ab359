/* SPDX-License-Identifier: MIT */
#include "status.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "atomicfile.h"
#include "json.h"

static void lane_json(struct json *j, const struct config_lane *l, const struct lane_health *h)
{
    json_object_begin(j, NULL);
    json_string(j, "name", l->name);
    json_string(j, "device_id", l->device_id);
    char endpoint[192];
    if (l->link.transport == RSU_TRANSPORT_TCP)
        snprintf(endpoint, sizeof endpoint, "tcp %s:%d unit %d", l->link.host, l->link.port,
                 l->unit_id);
    else
        snprintf(endpoint, sizeof endpoint, "rtu %s %d %c%d%d unit %d", l->link.device,
                 l->link.baud, l->link.parity, l->link.data_bits, l->link.stop_bits, l->unit_id);
    json_string(j, "endpoint", endpoint);
    if (h) {
        json_bool(j, "connected", h->connected);
        json_int(j, "last_contact_ms", h->last_contact_ms);
        json_int(j, "last_pass_ms", h->last_pass_ms);
        json_uint(j, "passes", h->passes);
        json_uint(j, "timeouts", h->timeouts);
        json_uint(j, "protocol_errors", h->protocol_errors);
        json_uint(j, "reconnects", h->reconnects);
        json_uint(j, "decode_issues", h->decode_issues);
        json_uint(j, "store_failures", h->store_failures);
        json_string(j, "last_error", h->last_error[0] ? h->last_error : NULL);
        json_int(j, "last_error_ms", h->last_error_ms);
    } else {
        json_bool(j, "connected", false);
    }
    json_object_end(j);
}

static void format_age(int64_t now, int64_t then, char *buf, size_t len)
{
    if (then <= 0)
        snprintf(buf, len, "never");
    else if (now - then < 120000)
        snprintf(buf, len, "%llds ago", (long long)((now - then) / 1000));
    else
        snprintf(buf, len, "%lldmin ago", (long long)((now - then) / 60000));
}

static void upstream_json(struct json *j, const struct sync_upstream_status *u)
{
    json_object_begin(j, NULL);
    json_string(j, "name", u->name);
    json_string(j, "url", u->url);
    json_int(j, "last_success_ms", u->last_success_ms);
    json_string(j, "last_error", u->last_error[0] ? u->last_error : NULL);
    json_int(j, "last_error_ms", u->last_error_ms);
    json_uint(j, "delivered_seq", u->delivered_seq);
    json_uint(j, "backlog", u->backlog);
    json_uint(j, "oldest_seq", u->oldest_seq);
    json_int(j, "oldest_time_ms", u->oldest_time_ms);
    json_uint(j, "rejected", u->rejected);
    json_bool(j, "in_flight", u->in_flight);
    json_uint(j, "in_flight_records", u->in_flight_records);
    json_uint(j, "bytes_per_s", u->bytes_per_s);
    json_uint(j, "connections", u->connections);
    json_int(j, "last_findings_ms", u->last_findings_ms);
    json_int(j, "last_policy_ms", u->last_policy_ms);
    json_int(j, "last_registry_ms", u->last_registry_ms);
    json_bool(j, "findings_stale", u->findings_stale);
    json_object_end(j);
}

static void format_age(int64_t now, int64_t then, char *buf, size_t len);

static void upstreams_text(FILE *f, const struct sync_upstream_status *ups, size_t n, int64_t now)
{
    if (!n)
        return;
    fprintf(f, "\n%-10s %-12s %9s %-12s %8s %9s  %s\n", "UPSTREAM", "LAST SUCCESS", "BACKLOG",
            "OLDEST", "REJECTED", "BYTES/S", "LAST ERROR");
    for (size_t i = 0; i < n; i++) {
        const struct sync_upstream_status *u = &ups[i];
        char ok[24], oldest[24];
        format_age(now, u->last_success_ms, ok, sizeof ok);
        if (u->backlog)
            format_age(now, u->oldest_time_ms, oldest, sizeof oldest);
        else
            snprintf(oldest, sizeof oldest, "-");
        fprintf(f, "%-10s %-12s %9llu %-12s %8llu %9llu  %s%s\n", u->name, ok,
                (unsigned long long)u->backlog, oldest, (unsigned long long)u->rejected,
                (unsigned long long)u->bytes_per_s, u->last_error[0] ? u->last_error : "-",
                u->findings_stale ? " [findings stale]" : "");
    }
}

/* The same snapshot for people: what `rsgw status` prints. */
static void write_text(FILE *f, const struct config *cfg, lanes *ln, enum alert_level alert,
                       bool store_failing, bool running, const struct store_stats *stats,
                       int64_t now)
{
    fprintf(f, "gateway %s (%s): %s, pid %d\n", cfg->gateway_id, cfg->checkpoint,
            running ? "running" : "stopped", (int)getpid());
    fprintf(f, "alert level: %s\n", alert_level_name(alert));
    if (stats)
        fprintf(f, "store: %s, %llu records (%llu passes, %llu findings), last record %llu\n",
                store_failing ? "FAILING (see the log)" : "ok", (unsigned long long)stats->records,
                (unsigned long long)stats->passes, (unsigned long long)stats->findings,
                (unsigned long long)stats->last_seq);
    fprintf(f, "\n%-10s %-10s %-12s %-12s %8s %8s %8s %8s  %s\n", "LANE", "STATE", "LAST CONTACT",
            "LAST PASS", "PASSES", "TIMEOUTS", "ERRORS", "RECONN", "LAST ERROR");
    for (size_t i = 0; i < cfg->n_lanes; i++) {
        struct lane_health h;
        memset(&h, 0, sizeof h);
        if (ln)
            lanes_health(ln, i, &h);
        char contact[24], pass[24];
        format_age(now, h.last_contact_ms, contact, sizeof contact);
        format_age(now, h.last_pass_ms, pass, sizeof pass);
        fprintf(f, "%-10s %-10s %-12s %-12s %8llu %8llu %8llu %8llu  %s\n", cfg->lanes[i].name,
                !ln           ? "stopped"
                : h.connected ? "connected"
                              : "DOWN",
                contact, pass, (unsigned long long)h.passes, (unsigned long long)h.timeouts,
                (unsigned long long)(h.protocol_errors + h.decode_issues),
                (unsigned long long)h.reconnects, h.last_error[0] ? h.last_error : "-");
    }
}

struct snapshot {
    const struct config *cfg;
    lanes *ln;
    const struct sync_upstream_status *ups;
    size_t n_ups;
    enum alert_level alert;
    bool store_failing, running, have_stats;
    struct store_stats stats;
    int64_t now;
};

static void fill_text(FILE *f, void *ud)
{
    struct snapshot *s = ud;
    write_text(f, s->cfg, s->ln, s->alert, s->store_failing, s->running,
               s->have_stats ? &s->stats : NULL, s->now);
    upstreams_text(f, s->ups, s->n_ups, s->now);
}

static void fill_json(FILE *f, void *ud)
{
    struct snapshot *s = ud;
    const struct config *cfg = s->cfg;
    struct json j;
    json_init(&j, f, true);
    json_object_begin(&j, NULL);
    json_string(&j, "gateway_id", cfg->gateway_id);
    json_string(&j, "checkpoint", cfg->checkpoint);
    json_int(&j, "pid", getpid());
    json_bool(&j, "running", s->running);
    json_int(&j, "time_ms", s->now);
    json_string(&j, "alert_level", alert_level_name(s->alert));
    json_object_begin(&j, "store");
    json_bool(&j, "ok", !s->store_failing);
    if (s->have_stats) {
        json_uint(&j, "records", s->stats.records);
        json_uint(&j, "passes", s->stats.passes);
        json_uint(&j, "findings", s->stats.findings);
        json_uint(&j, "last_seq", s->stats.last_seq);
    }
    json_object_end(&j);
    json_array_begin(&j, "lanes");
    for (size_t i = 0; i < cfg->n_lanes; i++) {
        struct lane_health h;
        if (s->ln)
            lanes_health(s->ln, i, &h);
        lane_json(&j, &cfg->lanes[i], s->ln ? &h : NULL);
    }
    json_array_end(&j);
    json_array_begin(&j, "upstreams");
    for (size_t i = 0; i < s->n_ups; i++)
        upstream_json(&j, &s->ups[i]);
    json_array_end(&j);
    json_object_end(&j);
    json_finish(&j);
}

int status_write(const struct config *cfg, const struct store_stats *stats, lanes *ln,
                 enum alert_level alert, bool store_failing, bool running,
                 const struct sync_upstream_status *ups, size_t n_ups, char *err, size_t errlen)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct snapshot snap = {.cfg = cfg,
                            .ln = ln,
                            .alert = alert,
                            .store_failing = store_failing,
                            .running = running,
                            .ups = ups,
                            .n_ups = n_ups,
                            .now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000};
    snap.have_stats = stats != NULL;
    if (stats)
        snap.stats = *stats;
    char path[CONFIG_PATH_MAX + 16];
    config_status_path(cfg, path, sizeof path);
    if (atomicfile_replace(path, fill_json, &snap, err, errlen) < 0)
        return -1;
    size_t n = strlen(path);
    snprintf(path + n - 4, sizeof path - (n - 4), "txt");
    if (atomicfile_replace(path, fill_text, &snap, err, errlen) < 0)
        return -1;
    config_sync_state_path(cfg, path, sizeof path);
    return sync_state_write(path, ups, n_ups, running, err, errlen);
}
