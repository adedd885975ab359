/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#ifndef RSGW_PROFILE_DIR
#define RSGW_PROFILE_DIR "/usr/share/rsgw/profiles"
#endif

struct parse_ctx {
    struct config *cfg;
    struct config_diag *diag;
    const char *fname;
    FILE *in;
    int line;                                    /* line the reader handed to inih last */
    struct config_lane *lane;                    /* section being read, NULL outside [lane ...] */
    struct config_upstream *upstream;            /* NULL outside [upstream ...] */
    char upstream_section[CONFIG_NAME_MAX + 16]; /* the header it came from */
};

static void diag_add(struct config_diag *d, const char *fname, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void diag_add(struct config_diag *d, const char *fname, int line, const char *fmt, ...)
{
    if (d->n >= CONFIG_DIAG_MAX) {
        d->dropped++;
        return;
    }
    char *m = d->msg[d->n++];
    /* A long file name keeps its end and leaves room for the reason: the prefix must
     * stay shorter than the message, or the reason would be written past it. */
    size_t name_len = strlen(fname), name_max = sizeof d->msg[0] / 2;
    const char *name = name_len > name_max ? fname + name_len - name_max : fname;
    while (name != fname && ((unsigned char)*name & 0xC0) == 0x80)
        name++; /* not in the middle of a UTF-8 character */
    const char *cut = name != fname ? "..." : "";
    int off = line > 0 ? snprintf(m, sizeof d->msg[0], "%s%s:%d: ", cut, name, line)
                       : snprintf(m, sizeof d->msg[0], "%s%s: ", cut, name);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m + off, sizeof d->msg[0] - (size_t)off, fmt, ap);
    va_end(ap);
}

/* inih calls the handler while processing the line the reader returned last,
 * so counting lines here gives exact positions for every message. */
static char *counting_reader(char *str, int num, void *stream)
{
    struct parse_ctx *ctx = stream;
    char *r = fgets(str, num, ctx->in);
    if (r)
        ctx->line++;
    return r;
}

static int parse_int(const char *v, long min, long max, int *out, char *err, size_t errlen)
{
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || end == v || *end != '\0') {
        snprintf(err, errlen, "expected a whole number, got '%s'", v);
        return -1;
    }
    if (n < min || n > max) {
        snprintf(err, errlen, "%ld is outside %ld..%ld", n, min, max);
        return -1;
    }
    *out = (int)n;
    return 0;
}

static int copy_str(char *dst, size_t len, const char *v, char *err, size_t errlen)
{
    if (strlen(v) >= len) {
        snprintf(err, errlen, "value longer than %zu bytes", len - 1);
        return -1;
    }
    if (!*v) {
        snprintf(err, errlen, "value must not be empty");
        return -1;
    }
    memcpy(dst, v, strlen(v) + 1);
    return 0;
}

static int set_log_level(int *out, const char *v, char *err, size_t errlen)
{
    static const struct {
        const char *name;
        int prio;
    } levels[] = {{"error", LOG_ERR},
                  {"warning", LOG_WARNING},
                  {"notice", LOG_NOTICE},
                  {"info", LOG_INFO},
                  {"debug", LOG_DEBUG}};
    for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++) {
        if (strcasecmp(v, levels[i].name) == 0) {
            *out = levels[i].prio;
            return 0;
        }
    }
    snprintf(err, errlen, "log_level: expected error, warning, notice, info or debug, got '%s'", v);
    return -1;
}

/* 0 ok, 1 unknown key, -1 bad value */
static int set_gateway(struct config *cfg, const char *name, const char *v, char *err,
                       size_t errlen)
{
    if (strcmp(name, "id") == 0)
        return copy_str(cfg->gateway_id, sizeof cfg->gateway_id, v, err, errlen);
    if (strcmp(name, "checkpoint") == 0)
        return copy_str(cfg->checkpoint, sizeof cfg->checkpoint, v, err, errlen);
    if (strcmp(name, "state_dir") == 0)
        return copy_str(cfg->state_dir, sizeof cfg->state_dir, v, err, errlen);
    if (strcmp(name, "profile_dir") == 0)
        return copy_str(cfg->profile_dir, sizeof cfg->profile_dir, v, err, errlen);
    if (strcmp(name, "log_level") == 0)
        return set_log_level(&cfg->log_priority, v, err, errlen);
    if (strcmp(name, "status_interval_ms") == 0)
        return parse_int(v, 100, 3600000, &cfg->status_interval_ms, err, errlen);
    if (strcmp(name, "retention_days") == 0)
        return parse_int(v, 0, 36500, &cfg->retention_days, err, errlen);
    if (strcmp(name, "prune_interval_ms") == 0)
        return parse_int(v, 1000, 86400000, &cfg->prune_interval_ms, err, errlen);
    return 1;
}

static int parse_bool(const char *v, bool *out, char *err, size_t errlen)
{
    if (strcasecmp(v, "yes") == 0 || strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0 ||
        strcasecmp(v, "on") == 0)
        *out = true;
    else if (strcasecmp(v, "no") == 0 || strcasecmp(v, "false") == 0 || strcmp(v, "0") == 0 ||
             strcasecmp(v, "off") == 0)
        *out = false;
    else {
        snprintf(err, errlen, "expected yes or no, got '%s'", v);
        return -1;
    }
    return 0;
}

static int set_url(char *dst, size_t len, const char *v, char *err, size_t errlen)
{
    if (strncasecmp(v, "https://", 8) != 0 && strncasecmp(v, "http://", 7) != 0) {
        snprintf(err, errlen, "expected https://HOST[:PORT][/PREFIX], got '%s'", v);
        return -1;
    }
    const char *host = strstr(v, "://") + 3;
    if (!*host || *host == '/' || *host == ':') {
        snprintf(err, errlen, "no host in '%s'", v);
        return -1;
    }
    if (strpbrk(v, " \t?#")) {
        snprintf(err, errlen, "a base URL has no spaces, query or fragment: '%s'", v);
        return -1;
    }
    if (copy_str(dst, len, v, err, errlen) < 0)
        return -1;
    size_t n = strlen(dst);
    while (n > 0 && dst[n - 1] == '/') /* paths are appended as "/v1/..." */
        dst[--n] = '\0';
    return 0;
}

static int set_upstream(struct config_upstream *u, const char *name, const char *v, char *err,
                        size_t errlen)
{
    if (strcmp(name, "url") == 0)
        return set_url(u->url, sizeof u->url, v, err, errlen);
    if (strcmp(name, "ca_file") == 0)
        return copy_str(u->ca_file, sizeof u->ca_file, v, err, errlen);
    if (strcmp(name, "cert_file") == 0)
        return copy_str(u->cert_file, sizeof u->cert_file, v, err, errlen);
    if (strcmp(name, "key_file") == 0)
        return copy_str(u->key_file, sizeof u->key_file, v, err, errlen);
    if (strcmp(name, "token") == 0)
        return copy_str(u->token, sizeof u->token, v, err, errlen);
    if (strcmp(name, "allow_plain_http") == 0)
        return parse_bool(v, &u->allow_plain_http, err, errlen);
    if (strcmp(name, "batch_max_records") == 0)
        return parse_int(v, 1, 100000, &u->batch_max_records, err, errlen);
    if (strcmp(name, "batch_max_bytes") == 0)
        return parse_int(v, 1024, 64 << 20, &u->batch_max_bytes, err, errlen);
    if (strcmp(name, "timeout_ms") == 0)
        return parse_int(v, 100, 3600000, &u->timeout_ms, err, errlen);
    if (strcmp(name, "connect_timeout_ms") == 0)
        return parse_int(v, 100, 600000, &u->connect_timeout_ms, err, errlen);
    if (strcmp(name, "backoff_min_ms") == 0)
        return parse_int(v, 10, 3600000, &u->backoff_min_ms, err, errlen);
    if (strcmp(name, "backoff_max_ms") == 0)
        return parse_int(v, 10, 86400000, &u->backoff_max_ms, err, errlen);
    if (strcmp(name, "max_attempts") == 0)
        return parse_int(v, 1, 1000000, &u->max_attempts, err, errlen);
    if (strcmp(name, "pull_findings") == 0)
        return parse_bool(v, &u->pull_findings, err, errlen);
    if (strcmp(name, "pull_policy") == 0) {
        u->pull_policy_set = true;
        return parse_bool(v, &u->pull_policy, err, errlen);
    }
    if (strcmp(name, "pull_registry") == 0)
        return parse_bool(v, &u->pull_registry, err, errlen);
    if (strcmp(name, "pull_interval_ms") == 0)
        return parse_int(v, 100, 86400000, &u->pull_interval_ms, err, errlen);
    if (strcmp(name, "findings_stale_after_ms") == 0)
        return parse_int(v, 100, 864000000, &u->findings_stale_after_ms, err, errlen);
    return 1;
}

static void upstream_defaults(struct config_upstream *u, const char *name, int line)
{
    memset(u, 0, sizeof *u);
    snprintf(u->name, sizeof u->name, "%s", name);
    u->batch_max_records = 500;
    u->batch_max_bytes = 1 << 20;
    u->timeout_ms = 30000;
    u->connect_timeout_ms = 10000;
    u->backoff_min_ms = 1000;
    u->backoff_max_ms = 300000;
    u->max_attempts = 20;
    u->pull_findings = true;
    u->pull_policy = true;
    u->pull_registry = true;
    u->pull_interval_ms = 30000;
    u->findings_stale_after_ms = 600000;
    u->line = line;
}

static int set_parity(char *out, const char *v, char *err, size_t errlen)
{
    if (strcasecmp(v, "N") == 0 || strcasecmp(v, "none") == 0)
        *out = 'N';
    else if (strcasecmp(v, "E") == 0 || strcasecmp(v, "even") == 0)
        *out = 'E';
    else if (strcasecmp(v, "O") == 0 || strcasecmp(v, "odd") == 0)
        *out = 'O';
    else {
        snprintf(err, errlen, "parity: expected none, even or odd, got '%s'", v);
        return -1;
    }
    return 0;
}

static int set_lane(struct config_lane *l, const char *name, const char *v, char *err,
                    size_t errlen)
{
    struct rsu_link_config *k = &l->link;
    if (strcmp(name, "transport") == 0) {
        if (strcasecmp(v, "tcp") == 0)
            k->transport = RSU_TRANSPORT_TCP;
        else if (strcasecmp(v, "rtu") == 0)
            k->transport = RSU_TRANSPORT_RTU;
        else {
            snprintf(err, errlen, "transport: expected tcp or rtu, got '%s'", v);
            return -1;
        }
        return 0;
    }
    if (strcmp(name, "host") == 0)
        return copy_str(k->host, sizeof k->host, v, err, errlen);
    if (strcmp(name, "port") == 0)
        return parse_int(v, 1, 65535, &k->port, err, errlen);
    if (strcmp(name, "device") == 0)
        return copy_str(k->device, sizeof k->device, v, err, errlen);
    if (strcmp(name, "baud") == 0)
        return parse_int(v, 300, 4000000, &k->baud, err, errlen);
    if (strcmp(name, "parity") == 0)
        return set_parity(&k->parity, v, err, errlen);
    if (strcmp(name, "data_bits") == 0)
        return parse_int(v, 5, 8, &k->data_bits, err, errlen);
    if (strcmp(name, "stop_bits") == 0)
        return parse_int(v, 1, 2, &k->stop_bits, err, errlen);
    if (strcmp(name, "response_timeout_ms") == 0)
        return parse_int(v, 10, 60000, &k->response_timeout_ms, err, errlen);
    if (strcmp(name, "byte_timeout_ms") == 0)
        return parse_int(v, 1, 10000, &k->byte_timeout_ms, err, errlen);
    if (strcmp(name, "unit_id") == 0)
        return parse_int(v, 0, 247, &l->unit_id, err, errlen);
    if (strcmp(name, "profile") == 0)
        return copy_str(l->profile_path, sizeof l->profile_path, v, err, errlen);
    if (strcmp(name, "device_id") == 0)
        return copy_str(l->device_id, sizeof l->device_id, v, err, errlen);
    if (strcmp(name, "poll_interval_ms") == 0)
        return parse_int(v, 10, 60000, &l->poll_interval_ms, err, errlen);
    if (strcmp(name, "reconnect_min_ms") == 0)
        return parse_int(v, 10, 600000, &l->reconnect_min_ms, err, errlen);
    if (strcmp(name, "reconnect_max_ms") == 0)
        return parse_int(v, 10, 3600000, &l->reconnect_max_ms, err, errlen);
    return 1;
}

static void lane_defaults(struct config_lane *l, const char *name, int line)
{
    memset(l, 0, sizeof *l);
    snprintf(l->name, sizeof l->name, "%s", name);
    l->link.transport = RSU_TRANSPORT_TCP;
    l->link.port = 502;
    l->link.baud = 9600;
    l->link.parity = 'N';
    l->link.data_bits = 8;
    l->link.stop_bits = 1;
    l->link.response_timeout_ms = 1000;
    l->link.byte_timeout_ms = 100;
    l->unit_id = 1;
    snprintf(l->profile_path, sizeof l->profile_path, "generic-rsu");
    l->poll_interval_ms = 200;
    l->reconnect_min_ms = 500;
    l->reconnect_max_ms = 30000;
    l->line = line;
}

static const char *lane_name_of(const char *section)
{
    const char *name = section + 4;
    while (*name == ' ' || *name == '\t')
        name++;
    return name;
}

static bool upstream_name_ok(const char *name)
{
    if (!*name || strlen(name) > CONFIG_UPSTREAM_NAME_MAX)
        return false;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_'))
            return false;
    return true;
}

static struct config_upstream *begin_upstream(struct parse_ctx *ctx, const char *section)
{
    const char *name = section + 8;
    while (*name == ' ' || *name == '\t')
        name++;
    if (!upstream_name_ok(name)) {
        diag_add(ctx->diag, ctx->fname, ctx->line,
                 "[upstream] needs a name of 1-%d letters, digits, '-' or '_': [upstream city]",
                 CONFIG_UPSTREAM_NAME_MAX);
        return NULL;
    }
    struct config *cfg = ctx->cfg;
    for (size_t i = 0; i < cfg->n_upstreams; i++) {
        if (strcmp(cfg->upstreams[i].name, name) == 0) {
            diag_add(ctx->diag, ctx->fname, ctx->line, "upstream '%s' already defined on line %d",
                     name, cfg->upstreams[i].line);
            return NULL;
        }
    }
    if (cfg->n_upstreams >= CONFIG_UPSTREAMS_MAX) {
        diag_add(ctx->diag, ctx->fname, ctx->line, "too many upstreams (at most %d)",
                 CONFIG_UPSTREAMS_MAX);
        return NULL;
    }
    struct config_upstream *u = &cfg->upstreams[cfg->n_upstreams++];
    upstream_defaults(u, name, ctx->line);
    return u;
}

static struct config_lane *begin_lane(struct parse_ctx *ctx, const char *section)
{
    const char *name = lane_name_of(section);
    if (!*name) {
        diag_add(ctx->diag, ctx->fname, ctx->line, "[lane] needs a name: [lane north]");
        return NULL;
    }
    if (strlen(name) >= CONFIG_NAME_MAX) {
        diag_add(ctx->diag, ctx->fname, ctx->line, "lane name longer than %d bytes",
                 CONFIG_NAME_MAX - 1);
        return NULL;
    }
    struct config *cfg = ctx->cfg;
    for (size_t i = 0; i < cfg->n_lanes; i++) {
        if (strcmp(cfg->lanes[i].name, name) == 0) {
            diag_add(ctx->diag, ctx->fname, ctx->line, "lane '%s' already defined on line %d", name,
                     cfg->lanes[i].line);
            return NULL;
        }
    }
    if (cfg->n_lanes >= CONFIG_LANES_MAX) {
        diag_add(ctx->diag, ctx->fname, ctx->line, "too many lanes (at most %d)", CONFIG_LANES_MAX);
        return NULL;
    }
    struct config_lane *l = &cfg->lanes[cfg->n_lanes++];
    lane_defaults(l, name, ctx->line);
    return l;
}

static int on_entry(void *user, const char *section, const char *name, const char *value)
{
    struct parse_ctx *ctx = user;
    char err[200] = "";
    int rc;

    if (!name) { /* a new section header (INI_CALL_HANDLER_ON_NEW_SECTION builds) */
        return 1;
    }
    bool is_lane = strncmp(section, "lane", 4) == 0 && (section[4] == ' ' || section[4] == '\0');
    bool is_upstream = strncmp(section, "upstream", 8) == 0 &&
                       (section[8] == ' ' || section[8] == '\t' || section[8] == '\0');
    if (!is_lane)
        ctx->lane = NULL; /* a lane's keys must stay under its own header */
    if (!is_upstream) {
        ctx->upstream = NULL;
        ctx->upstream_section[0] = '\0';
    }
    if (is_upstream) {
        /* Keyed by the header text, so a broken header is reported once, not per key. */
        if (strcmp(ctx->upstream_section, section) != 0) {
            snprintf(ctx->upstream_section, sizeof ctx->upstream_section, "%s", section);
            ctx->upstream = begin_upstream(ctx, section);
        }
        if (!ctx->upstream)
            return 1;
        rc = set_upstream(ctx->upstream, name, value, err, sizeof err);
    } else if (is_lane) {
        /* Sections arrive key by key: start a lane when its header is first seen. */
        if (!ctx->lane || strcmp(ctx->lane->name, lane_name_of(section)) != 0) {
            ctx->lane = begin_lane(ctx, section);
            if (!ctx->lane)
                return 1;
        }
        rc = set_lane(ctx->lane, name, value, err, sizeof err);
    } else if (strcmp(section, "gateway") == 0) {
        rc = set_gateway(ctx->cfg, name, value, err, sizeof err);
    } else if (strcmp(section, "policy") == 0 || strcmp(section, "limits") == 0 ||
               strcmp(section, "validity") == 0 || strcmp(section, "obd") == 0) {
        rc = policy_config_set(&ctx->cfg->policy, section, name, value, err, sizeof err);
    } else if (*section == '\0') {
        diag_add(
            ctx->diag, ctx->fname, ctx->line,
            "'%s' outside a section (sections: [gateway], [policy], [limits], [validity], [obd], "
            "[lane NAME], [upstream NAME])",
            name);
        return 1;
    } else {
        diag_add(
            ctx->diag, ctx->fname, ctx->line,
            "unknown section [%s] (sections: [gateway], [policy], [limits], [validity], [obd], "
            "[lane NAME], [upstream NAME])",
            section);
        return 1;
    }
    if (rc == 1)
        diag_add(ctx->diag, ctx->fname, ctx->line, "unknown key '%s' in [%s]", name, section);
    else if (rc < 0 && strncmp(err, name, strlen(name)) == 0 && err[strlen(name)] == ':')
        diag_add(ctx->diag, ctx->fname, ctx->line, "%s", err); /* already names the key */
    else if (rc < 0)
        diag_add(ctx->diag, ctx->fname, ctx->line, "%s: %s", name, err);
    return 1; /* keep going: report every problem */
}

static void config_defaults(struct config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->state_dir, sizeof cfg->state_dir, "/var/lib/rsgw");
    snprintf(cfg->profile_dir, sizeof cfg->profile_dir, "/etc/rsgw/profiles");
    cfg->log_priority = LOG_INFO;
    cfg->status_interval_ms = 2000;
    cfg->retention_days = 180;
    cfg->prune_interval_ms = 3600000;
    policy_config_defaults(&cfg->policy);
}

static int file_exists(const char *p)
{
    return access(p, R_OK) == 0;
}

int config_resolve_profile(const char *profile_dir, const char *base_path, const char *spec,
                           char *out, size_t len)
{
    size_t n = strlen(spec);
    if (strchr(spec, '/') || (n > 4 && strcmp(spec + n - 4, ".ini") == 0)) {
        const char *slash = base_path ? strrchr(base_path, '/') : NULL;
        if (spec[0] == '/' || !slash)
            snprintf(out, len, "%s", spec);
        else
            snprintf(out, len, "%.*s/%s", (int)(slash - base_path), base_path, spec);
        return file_exists(out) ? 0 : -1;
    }
    const char *dirs[] = {profile_dir ? profile_dir : "/etc/rsgw/profiles", RSGW_PROFILE_DIR,
                          "/usr/share/rsgw/profiles"};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        snprintf(out, len, "%s/%s.ini", dirs[i], spec);
        if (file_exists(out))
            return 0;
    }
    snprintf(out, len, "%s/%s.ini", dirs[0], spec);
    return -1;
}

static bool same_serial(const struct rsu_link_config *a, const struct rsu_link_config *b)
{
    return a->baud == b->baud && a->parity == b->parity && a->data_bits == b->data_bits &&
           a->stop_bits == b->stop_bits;
}

static void check_lane(struct config *cfg, size_t idx, struct config_diag *diag)
{
    struct config_lane *l = &cfg->lanes[idx];
    const char *f = cfg->path;
    if (!l->device_id[0])
        memcpy(l->device_id, l->name, sizeof l->device_id); /* same size */
    if (l->link.transport == RSU_TRANSPORT_TCP && !l->link.host[0])
        diag_add(diag, f, l->line, "lane %s: transport tcp needs host =", l->name);
    if (l->link.transport == RSU_TRANSPORT_RTU && !l->link.device[0])
        diag_add(diag, f, l->line, "lane %s: transport rtu needs device = (e.g. /dev/ttyUSB0)",
                 l->name);
    if (l->reconnect_min_ms > l->reconnect_max_ms)
        diag_add(diag, f, l->line, "lane %s: reconnect_min_ms %d is above reconnect_max_ms %d",
                 l->name, l->reconnect_min_ms, l->reconnect_max_ms);

    for (size_t j = 0; j < idx; j++) {
        const struct config_lane *o = &cfg->lanes[j];
        if (strcmp(o->device_id, l->device_id) == 0)
            diag_add(diag, f, l->line, "lane %s: device_id '%s' already used by lane %s", l->name,
                     l->device_id, o->name);
        bool same_line = o->link.transport == RSU_TRANSPORT_RTU &&
                         l->link.transport == RSU_TRANSPORT_RTU &&
                         strcmp(o->link.device, l->link.device) == 0;
        if (same_line && !same_serial(&o->link, &l->link))
            diag_add(diag, f, l->line,
                     "lane %s: shares serial line %s with lane %s but with other settings", l->name,
                     l->link.device, o->name);
        if (same_line && o->unit_id == l->unit_id)
            diag_add(diag, f, l->line, "lane %s: unit_id %d already used on %s by lane %s", l->name,
                     l->unit_id, l->link.device, o->name);
    }

    char path[CONFIG_PATH_MAX];
    if (config_resolve_profile(cfg->profile_dir, cfg->path, l->profile_path, path, sizeof path) <
        0) {
        diag_add(diag, f, l->line, "lane %s: profile '%s' not found (looked for %s)", l->name,
                 l->profile_path, path);
        return;
    }
    snprintf(l->profile_path, sizeof l->profile_path, "%s", path);
    char err[256];
    if (rsu_profile_load(l->profile_path, &l->profile, err, sizeof err) < 0)
        diag_add(diag, f, l->line, "lane %s: %s", l->name, err);
}

/* Relative certificate paths are relative to the configuration file, like profiles. */
static void resolve_relative(const char *base_path, char *path, size_t len,
                             struct config_diag *diag, const struct config_upstream *u)
{
    const char *slash = strrchr(base_path, '/');
    if (!path[0] || path[0] == '/' || !slash)
        return;
    char tmp[CONFIG_PATH_MAX];
    int n = snprintf(tmp, sizeof tmp, "%.*s/%s", (int)(slash - base_path), base_path, path);
    if (n < 0 || (size_t)n >= len || (size_t)n >= sizeof tmp) {
        diag_add(diag, base_path, u->line, "upstream %s: path %s is too long", u->name, path);
        return;
    }
    memcpy(path, tmp, (size_t)n + 1);
}

static void check_upstream(struct config *cfg, size_t idx, struct config_diag *diag)
{
    struct config_upstream *u = &cfg->upstreams[idx];
    const char *f = cfg->path;
    resolve_relative(f, u->ca_file, sizeof u->ca_file, diag, u);
    resolve_relative(f, u->cert_file, sizeof u->cert_file, diag, u);
    resolve_relative(f, u->key_file, sizeof u->key_file, diag, u);
    if (!u->url[0]) {
        diag_add(diag, f, u->line, "upstream %s: url = is required (https://host:port)", u->name);
    } else if (strncasecmp(u->url, "http://", 7) == 0 && !u->allow_plain_http) {
        diag_add(diag, f, u->line,
                 "upstream %s: %s is plain http (records would travel unencrypted and "
                 "unauthenticated); use https:// or set allow_plain_http = yes for this upstream",
                 u->name, u->url);
    }
    if (u->cert_file[0] && !u->key_file[0])
        diag_add(diag, f, u->line, "upstream %s: cert_file needs key_file (mutual TLS)", u->name);
    if (u->key_file[0] && !u->cert_file[0])
        diag_add(diag, f, u->line, "upstream %s: key_file needs cert_file (mutual TLS)", u->name);
    const char *files[] = {u->ca_file, u->cert_file, u->key_file};
    const char *keys[] = {"ca_file", "cert_file", "key_file"};
    for (size_t i = 0; i < 3; i++)
        if (files[i][0] && !file_exists(files[i]))
            diag_add(diag, f, u->line, "upstream %s: %s %s: %s", u->name, keys[i], files[i],
                     strerror(errno));
    if (u->backoff_min_ms > u->backoff_max_ms)
        diag_add(diag, f, u->line, "upstream %s: backoff_min_ms %d is above backoff_max_ms %d",
                 u->name, u->backoff_min_ms, u->backoff_max_ms);
    if (u->pull_findings && u->findings_stale_after_ms <= u->pull_interval_ms)
        diag_add(diag, f, u->line,
                 "upstream %s: findings_stale_after_ms %d must be above pull_interval_ms %d "
                 "(history would always be stale)",
                 u->name, u->findings_stale_after_ms, u->pull_interval_ms);
    /* One authority for the alert level, limit set and exemptions: by default the
     * first upstream (the nearest platform, usually the city); the others upload and
     * pull findings unless the file says otherwise. */
    if (!u->pull_policy_set && idx > 0)
        u->pull_policy = false;
    for (size_t j = 0; j < idx; j++) {
        const struct config_upstream *o = &cfg->upstreams[j];
        if (u->pull_policy && o->pull_policy)
            diag_add(diag, f, u->line,
                     "upstream %s: pull_policy = yes here and on upstream %s: the alert level, "
                     "limit set and exemptions need one authority; set pull_policy = no on all "
                     "but one",
                     u->name, o->name);
    }
}

static int parse_stream(FILE *in, const char *name, struct config *out, struct config_diag *diag)
{
    config_defaults(out);
    memset(diag, 0, sizeof *diag);
    snprintf(out->path, sizeof out->path, "%s", name);

    struct parse_ctx ctx = {.cfg = out, .diag = diag, .fname = name, .in = in};
    int rc = ini_parse_stream(counting_reader, &ctx, on_entry, &ctx);
    if (rc > 0)
        diag_add(diag, name, rc, "not an INI line (expected [section] or key = value)");
    else if (rc < 0)
        diag_add(diag, name, 0, "cannot parse (out of memory)");

    if (!out->gateway_id[0])
        diag_add(diag, name, 0, "[gateway] id = is required (the gateway's id on the platform)");
    if (!out->checkpoint[0])
        snprintf(out->checkpoint, sizeof out->checkpoint, "%s", out->gateway_id);
    for (size_t i = 0; i < out->n_lanes; i++)
        check_lane(out, i, diag);
    for (size_t i = 0; i < out->n_upstreams; i++)
        check_upstream(out, i, diag);
    return diag->n || diag->dropped ? -1 : 0;
}

int config_load(const char *path, struct config *out, struct config_diag *diag)
{
    FILE *in = fopen(path, "r");
    if (!in) {
        config_defaults(out);
        memset(diag, 0, sizeof *diag);
        diag_add(diag, path, 0, "cannot open: %s", strerror(errno));
        return -1;
    }
    int rc = parse_stream(in, path, out, diag);
    fclose(in);
    return rc;
}

int config_parse(const char *text, const char *name_for_errors, struct config *out,
                 struct config_diag *diag)
{
    FILE *in = fmemopen((void *)text, strlen(text), "r");
    if (!in) {
        config_defaults(out);
        memset(diag, 0, sizeof *diag);
        diag_add(diag, name_for_errors, 0, "cannot read: %s", strerror(errno));
        return -1;
    }
    int rc = parse_stream(in, name_for_errors, out, diag);
    fclose(in);
    return rc;
}

void config_db_path(const struct config *cfg, char *buf, size_t len)
{
    snprintf(buf, len, "%s/rsgw.db", cfg->state_dir);
}

void config_status_path(const struct config *cfg, char *buf, size_t len)
{
    snprintf(buf, len, "%s/status.json", cfg->state_dir);
}

void config_sync_state_path(const struct config *cfg, char *buf, size_t len)
{
    snprintf(buf, len, "%s/sync.txt", cfg->state_dir);
}

int config_make_state_dir(const struct config *cfg, char *err, size_t errlen)
{
    char tmp[CONFIG_PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s", cfg->state_dir);
    for (char *p = tmp + 1;; p++) {
        bool end = *p == '\0';
        if (*p != '/' && !end)
            continue;
        *p = '\0';
        if (mkdir(tmp, 0750) < 0 && errno != EEXIST) {
            snprintf(err, errlen, "cannot create state directory %s: %s", tmp, strerror(errno));
            return -1;
        }
        if (end)
            return 0;
        *p = '/';
    }
}
