/* SPDX-License-Identifier: MIT */
/* state_dir/sync.txt: the daemon's per-upstream sync state for `rsgw sync status`. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "atomicfile.h"
#include "sync.h"

/* Tabs and line ends would break the format: they become spaces. */
static void put_text(FILE *f, const char *key, const char *v)
{
    fprintf(f, "\t%s=", key);
    for (const char *p = v; *p; p++)
        fputc(*p == '\t' || *p == '\n' || *p == '\r' ? ' ' : *p, f);
}

struct state_snapshot {
    const struct sync_upstream_status *ups;
    size_t n;
    bool running;
};

static void fill_state(FILE *f, void *ud)
{
    const struct state_snapshot *s = ud;
    const struct sync_upstream_status *ups = s->ups;
    size_t n = s->n;
    bool running = s->running;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    fprintf(f, "# rsgw platform sync state: written by the daemon, read by `rsgw sync status`\n");
    fprintf(f, "written_ms=%lld\trunning=%d\tpid=%d\n",
            (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, running ? 1 : 0, (int)getpid());
    for (size_t i = 0; i < n; i++) {
        const struct sync_upstream_status *u = &ups[i];
        fprintf(f, "name=%s", u->name);
        put_text(f, "url", u->url);
        fprintf(
            f,
            "\tlast_success_ms=%lld\tlast_error_ms=%lld\tdelivered_seq=%llu\tbacklog=%llu"
            "\toldest_seq=%llu\toldest_time_ms=%lld\trejected=%llu\tin_flight=%d"
            "\tin_flight_records=%llu\tbytes_per_s=%llu\tconnections=%llu\tlast_findings_ms=%lld"
            "\tlast_policy_ms=%lld\tlast_registry_ms=%lld\tfindings_stale=%d",
            (long long)u->last_success_ms, (long long)u->last_error_ms,
            (unsigned long long)u->delivered_seq, (unsigned long long)u->backlog,
            (unsigned long long)u->oldest_seq, (long long)u->oldest_time_ms,
            (unsigned long long)u->rejected, u->in_flight ? 1 : 0,
            (unsigned long long)u->in_flight_records, (unsigned long long)u->bytes_per_s,
            (unsigned long long)u->connections, (long long)u->last_findings_ms,
            (long long)u->last_policy_ms, (long long)u->last_registry_ms,
            u->findings_stale ? 1 : 0);
        put_text(f, "last_error", u->last_error);
        fputc('\n', f);
    }
}

int sync_state_write(const char *path, const struct sync_upstream_status *ups, size_t n,
                     bool running, char *err, size_t errlen)
{
    struct state_snapshot s = {.ups = ups, .n = n, .running = running};
    return atomicfile_replace(path, fill_state, &s, err, errlen);
}

static void set_field(struct sync_upstream_status *u, const char *key, const char *v)
{
    long long n = strtoll(v, NULL, 10);
    unsigned long long un = strtoull(v, NULL, 10);
    if (strcmp(key, "name") == 0)
        snprintf(u->name, sizeof u->name, "%s", v);
    else if (strcmp(key, "url") == 0)
        snprintf(u->url, sizeof u->url, "%s", v);
    else if (strcmp(key, "last_error") == 0)
        snprintf(u->last_error, sizeof u->last_error, "%s", v);
    else if (strcmp(key, "last_success_ms") == 0)
        u->last_success_ms = n;
    else if (strcmp(key, "last_error_ms") == 0)
        u->last_error_ms = n;
    else if (strcmp(key, "delivered_seq") == 0)
        u->delivered_seq = un;
    else if (strcmp(key, "backlog") == 0)
        u->backlog = un;
    else if (strcmp(key, "oldest_seq") == 0)
        u->oldest_seq = un;
    else if (strcmp(key, "oldest_time_ms") == 0)
        u->oldest_time_ms = n;
    else if (strcmp(key, "rejected") == 0)
        u->rejected = un;
    else if (strcmp(key, "in_flight") == 0)
        u->in_flight = n != 0;
    else if (strcmp(key, "in_flight_records") == 0)
        u->in_flight_records = un;
    else if (strcmp(key, "bytes_per_s") == 0)
        u->bytes_per_s = un;
    else if (strcmp(key, "connections") == 0)
        u->connections = un;
    else if (strcmp(key, "last_findings_ms") == 0)
        u->last_findings_ms = n;
    else if (strcmp(key, "last_policy_ms") == 0)
        u->last_policy_ms = n;
    else if (strcmp(key, "last_registry_ms") == 0)
        u->last_registry_ms = n;
    else if (strcmp(key, "findings_stale") == 0)
        u->findings_stale = n != 0;
    /* unknown keys: written by a newer daemon, ignored */
}

int sync_state_read(const char *path, struct sync_upstream_status *ups, size_t max, size_t *n,
                    bool *running, int64_t *written_ms)
{
    *n = 0;
    *running = false;
    *written_ms = 0;
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char line[2048];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] == '#' || !line[0])
            continue;
        bool is_upstream = strncmp(line, "name=", 5) == 0;
        if (is_upstream && *n >= max)
            continue;
        struct sync_upstream_status *u = is_upstream ? &ups[*n] : NULL;
        if (u)
            memset(u, 0, sizeof *u);
        char *save = NULL;
        for (char *tok = strtok_r(line, "\t", &save); tok; tok = strtok_r(NULL, "\t", &save)) {
            char *eq = strchr(tok, '=');
            if (!eq)
                continue;
            *eq = '\0';
            if (u)
                set_field(u, tok, eq + 1);
            else if (strcmp(tok, "running") == 0)
                *running = atoi(eq + 1) != 0;
            else if (strcmp(tok, "written_ms") == 0)
                *written_ms = strtoll(eq + 1, NULL, 10);
        }
        if (u)
            (*n)++;
    }
    fclose(f);
    return 0;
}
