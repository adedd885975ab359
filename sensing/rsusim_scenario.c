/* SPDX-License-Identifier: MIT */
/* Scenario files for the simulator (format in rsusim.h and docs/simulator.md). */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rsusim_internal.h"
#include "rsu_text.h"

#define SCENARIO_FILE_MAX (16 << 20)
#define SCENARIO_MS_MAX   86400000 /* one day: anything longer is a typo */
#define PLAY_TICK_MS      50

struct scenario_parser {
    const char *file;
    int line;
    char *err;
    size_t errlen;
};

static int fail(struct scenario_parser *sp, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int fail(struct scenario_parser *sp, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(sp->err, sp->errlen, "%s:%d: %s", sp->file, sp->line, msg);
    return -1;
}

static int parse_ms(struct scenario_parser *sp, const char *what, const char *s, int *out)
{
    char *end;
    errno = 0;
    long v = s ? strtol(s, &end, 10) : -1;
    if (!s || errno || *end || end == s || v < 0 || v > SCENARIO_MS_MAX)
        return fail(sp, "%s '%s' is not a number of milliseconds 0..%d", what, s ? s : "",
                    SCENARIO_MS_MAX);
    *out = (int)v;
    return 0;
}

static int set_text(struct scenario_parser *sp, const char *key, const char *value, char *out,
                    size_t outsize)
{
    if (!rsu_utf8_valid(value, strlen(value)))
        return fail(sp, "%s is not valid UTF-8", key);
    if (snprintf(out, outsize, "%s", value) >= (int)outsize)
        return fail(sp, "%s is longer than %zu bytes", key, outsize - 1);
    return 0;
}

static int pass_key(struct scenario_parser *sp, struct rsu_measurement *m, const char *key,
                    const char *value)
{
    int f = rsu_field_by_name(key);
    if (f >= 0) {
        char *end;
        errno = 0;
        double v = strtod(value, &end);
        if (errno || end == value || *end || !isfinite(v))
            return fail(sp, "%s '%s' is not a number", key, value);
        m->value[f] = v;
        m->present |= 1u << f;
        return 0;
    }
    if (strcmp(key, "plate") == 0)
        return set_text(sp, key, value, m->plate, sizeof m->plate);
    if (strcmp(key, "image_far") == 0 || strcmp(key, "image_near") == 0) {
        size_t i = key[6] == 'f' ? 0 : 1;
        if (set_text(sp, key, value, m->image_ref[i], RSU_IMAGE_REF_MAX) != 0)
            return -1;
        if (m->n_image_refs < i + 1)
            m->n_image_refs = i + 1;
        return 0;
    }
    if (strcmp(key, "colour") == 0 || strcmp(key, "plate_colour") == 0) {
        int c = rsu_colour_by_name(value);
        char *end;
        errno = 0;
        unsigned long code = c < 0 ? strtoul(value, &end, 10) : 0;
        if (c < 0 && (errno || end == value || *end || code > UINT32_MAX || value[0] == '-'))
            return fail(sp,
                        "colour '%s' is not a colour name (blue, yellow, white, black, "
                        "green, yellow_green, other) or a device code",
                        value);
        m->plate_colour = c < 0 ? RSU_COLOUR_UNKNOWN : (enum rsu_plate_colour)c;
        m->plate_colour_code = (uint32_t)code;
        return 0;
    }
    if (strcmp(key, "device_time") == 0) {
        char *end;
        errno = 0;
        long long s = strtoll(value, &end, 10);
        if (errno || end == value || *end || s < 0 || s > UINT32_MAX)
            return fail(sp, "device_time '%s' is not Unix seconds", value);
        m->has_device_time = true;
        m->device_time_ms = s * 1000;
        return 0;
    }
    return fail(sp, "unknown field '%s' (use the profile field names, colour=, device_time=)", key);
}

static int parse_pass(struct scenario_parser *sp, char **tok, int n, struct rsusim_step *st)
{
    st->kind = RSUSIM_STEP_PASS;
    unsigned seen = 0; /* fields given, to catch a repeated key */
    for (int i = 1; i < n; i++) {
        char *eq = strchr(tok[i], '=');
        if (!eq || eq == tok[i])
            return fail(sp, "'%s' is not key=value", tok[i]);
        *eq = '\0';
        int f = rsu_profile_field_by_name(tok[i]);
        if (strcmp(tok[i], "colour") == 0)
            f = RSU_X_PLATE_COLOUR;
        if (f >= 0 && (seen & (1u << f)))
            return fail(sp, "%s given twice", tok[i]);
        if (f >= 0)
            seen |= 1u << f;
        if (pass_key(sp, &st->pass, tok[i], eq + 1) != 0)
            return -1;
    }
    return 0;
}

static int parse_fault(struct scenario_parser *sp, char **tok, int n, struct rsusim_step *st)
{
    static const char *const names[] = {"none", "silent", "slow", "garbage", "crc"};
    st->kind = RSUSIM_STEP_FAULT;
    size_t k;
    for (k = 0; n > 1 && k < sizeof names / sizeof names[0]; k++)
        if (strcmp(tok[1], names[k]) == 0)
            break;
    if (n < 2 || k == sizeof names / sizeof names[0])
        return fail(sp, "fault needs one of none, silent, slow, garbage, crc");
    st->fault = (enum rsusim_fault)k;
    int arg = 2;
    if (st->fault == RSUSIM_FAULT_SLOW) {
        if (parse_ms(sp, "slow delay", n > arg ? tok[arg] : NULL, &st->fault_ms) != 0)
            return -1;
        arg++;
    }
    if (n > arg && st->fault != RSUSIM_FAULT_NONE &&
        parse_ms(sp, "fault duration", tok[arg++], &st->duration_ms) != 0)
        return -1;
    if (n > arg)
        return fail(sp, "unexpected '%s' after fault %s", tok[arg], names[k]);
    return 0;
}

static int parse_line(struct scenario_parser *sp, char *line, struct rsusim_scenario *s)
{
    char *hash = strchr(line, '#');
    if (hash)
        *hash = '\0';
    char *tok[64], *save = NULL;
    int n = 0;
    for (char *t = strtok_r(line, " \t\r", &save); t; t = strtok_r(NULL, " \t\r", &save)) {
        if (n == (int)(sizeof tok / sizeof tok[0]))
            return fail(sp, "more than %zu words on one line", sizeof tok / sizeof tok[0]);
        tok[n++] = t;
    }
    if (n == 0)
        return 0;
    struct rsusim_step *steps = realloc(s->steps, (s->n_steps + 1) * sizeof *steps);
    if (!steps)
        return fail(sp, "out of memory");
    s->steps = steps;
    struct rsusim_step *st = &steps[s->n_steps];
    memset(st, 0, sizeof *st);
    st->line = sp->line;
    int rc;
    if (strcmp(tok[0], "pass") == 0) {
        rc = parse_pass(sp, tok, n, st);
    } else if (strcmp(tok[0], "wait") == 0) {
        st->kind = RSUSIM_STEP_WAIT;
        rc = parse_ms(sp, "wait", n > 1 ? tok[1] : NULL, &st->wait_ms);
        if (rc == 0 && n > 2)
            rc = fail(sp, "unexpected '%s' after wait", tok[2]);
    } else if (strcmp(tok[0], "fault") == 0) {
        rc = parse_fault(sp, tok, n, st);
    } else if (strcmp(tok[0], "restart") == 0) {
        st->kind = RSUSIM_STEP_RESTART;
        rc = n > 1 ? fail(sp, "unexpected '%s' after restart", tok[1]) : 0;
    } else {
        rc = fail(sp, "unknown step '%s' (use pass, wait, fault, restart)", tok[0]);
    }
    if (rc == 0)
        s->n_steps++;
    return rc;
}

int rsusim_scenario_parse(const char *text, const char *name_for_errors,
                          struct rsusim_scenario *out, char *err, size_t errlen)
{
    struct scenario_parser sp = {name_for_errors ? name_for_errors : "scenario", 0, err, errlen};
    out->n_steps = 0;
    out->steps = NULL;
    const char *p = text ? text : "";
    while (*p) {
        sp.line++;
        size_t len = strcspn(p, "\n");
        char line[4096];
        if (len >= sizeof line) {
            fail(&sp, "line longer than %zu characters", sizeof line - 1);
            rsusim_scenario_free(out);
            return -1;
        }
        memcpy(line, p, len);
        line[len] = '\0';
        p += len + (p[len] == '\n');
        if (parse_line(&sp, line, out) != 0) {
            rsusim_scenario_free(out);
            return -1;
        }
    }
    return 0;
}

int rsusim_scenario_load(const char *path, struct rsusim_scenario *out, char *err, size_t errlen)
{
    out->n_steps = 0;
    out->steps = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    char *text = malloc(SCENARIO_FILE_MAX + 1);
    size_t n = text ? fread(text, 1, SCENARIO_FILE_MAX + 1, f) : 0;
    bool bad = !text || ferror(f) || n > SCENARIO_FILE_MAX;
    fclose(f);
    if (bad) {
        snprintf(err, errlen, "%s: %s", path,
                 !text                   ? "out of memory"
                 : n > SCENARIO_FILE_MAX ? "larger than 16 MiB"
                                         : "read error");
        free(text);
        return -1;
    }
    text[n] = '\0';
    int rc = rsusim_scenario_parse(text, path, out, err, errlen);
    free(text);
    return rc;
}

void rsusim_scenario_free(struct rsusim_scenario *s)
{
    if (!s)
        return;
    free(s->steps);
    s->steps = NULL;
    s->n_steps = 0;
}

static bool stopped(volatile const int *stop)
{
    return stop && *stop;
}

/* Sleep in short slices so a stop request is seen within PLAY_TICK_MS. */
static bool play_wait(int ms, volatile const int *stop)
{
    int64_t deadline = rsusim_now_ms() + ms;
    for (;;) {
        if (stopped(stop))
            return false;
        int64_t left = deadline - rsusim_now_ms();
        if (left <= 0)
            return true;
        long slice = left < PLAY_TICK_MS ? (long)left : PLAY_TICK_MS;
        struct timespec ts = {0, slice * 1000000L};
        nanosleep(&ts, NULL);
    }
}

/* Name the scenario line in front of the reason rsusim_push left. */
static void prefix_errmsg(rsusim *sim, int line)
{
    char prefix[32];
    size_t plen = (size_t)snprintf(prefix, sizeof prefix, "scenario line %d: ", line);
    size_t size = sizeof sim->errmsg, len = strlen(sim->errmsg);
    if (plen >= size)
        return;
    if (len > size - 1 - plen)
        len = size - 1 - plen;
    memmove(sim->errmsg + plen, sim->errmsg, len);
    memcpy(sim->errmsg, prefix, plen);
    sim->errmsg[plen + len] = '\0';
}

int rsusim_play(rsusim *sim, const struct rsusim_scenario *s, volatile const int *stop)
{
    for (size_t i = 0; i < s->n_steps; i++) {
        const struct rsusim_step *st = &s->steps[i];
        if (stopped(stop))
            return 1;
        switch (st->kind) {
        case RSUSIM_STEP_PASS:
            if (rsusim_push(sim, &st->pass) == 0) {
                pthread_mutex_lock(&sim->mu);
                prefix_errmsg(sim, st->line);
                pthread_mutex_unlock(&sim->mu);
                return -1;
            }
            break;
        case RSUSIM_STEP_WAIT:
            if (!play_wait(st->wait_ms, stop))
                return 1;
            break;
        case RSUSIM_STEP_FAULT:
            rsusim_set_fault_for(sim, st->fault, st->fault_ms, st->duration_ms);
            break;
        case RSUSIM_STEP_RESTART:
            rsusim_restart(sim);
            break;
        }
    }
    return 0;
}
