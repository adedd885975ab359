/* SPDX-License-Identifier: MIT */
/*
 * Profile parser. inih does the INI syntax; its handler does not report line
 * numbers, so the reader below feeds it one physical line at a time and
 * counts them, and notes section headers so that repeated sections and
 * per-section checks can name the header's line.
 */
#include "rsu_profile.h"

#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rsu_profile_check.h"
#include "rsu_profile_parser.h"

#define PROFILE_FILE_MAX (1 << 20)

static const char *const extra_names[RSU_X_COUNT - RSU_F_COUNT] = {
    "plate", "plate_colour", "device_time", "image_far", "image_near",
};

const char *rsu_profile_field_name(int field)
{
    if (field >= 0 && field < RSU_F_COUNT)
        return rsu_field_name((enum rsu_field)field);
    if (field >= RSU_F_COUNT && field < RSU_X_COUNT)
        return extra_names[field - RSU_F_COUNT];
    return "?";
}

int rsu_profile_field_by_name(const char *name)
{
    int f = rsu_field_by_name(name);
    if (f >= 0)
        return f;
    for (int x = RSU_F_COUNT; x < RSU_X_COUNT; x++)
        if (strcmp(name, extra_names[x - RSU_F_COUNT]) == 0)
            return x;
    return -1;
}

/* Keep the error with the lowest line: checks run when a section ends, so they
 * can be found after an error further down the file. */
void rsu_parser_fail(struct rsu_parser *ps, int line, const char *fmt, ...)
{
    int key = line > 0 ? line : INT_MAX;
    if (ps->err_line != 0 && ps->err_line <= key)
        return;
    ps->err_line = key;
    char msg[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (line > 0)
        snprintf(ps->err, ps->errlen, "%s:%d: %s", ps->file, line, msg);
    else
        snprintf(ps->err, ps->errlen, "%s: %s", ps->file, msg);
}

static char *read_line(char *str, int num, void *stream)
{
    struct rsu_parser *ps = stream;
    if (ps->stopped || ps->text[ps->pos] == '\0')
        return NULL;
    const char *start = ps->text + ps->pos;
    const char *nl = strchr(start, '\n');
    size_t len = nl ? (size_t)(nl - start) + 1 : strlen(start);
    ps->line++;
    if (num < 2 || len + 1 > (size_t)num) {
        rsu_parser_fail(ps, ps->line, "line too long (at most %d characters)", num - 2);
        ps->stopped = true;
        return NULL;
    }
    memcpy(str, start, len);
    str[len] = '\0';
    ps->pos += len;
    const char *q = str;
    if (ps->line == 1 && strncmp(q, "\xEF\xBB\xBF", 3) == 0)
        q += 3;
    q += strspn(q, " \t");
    if (*q == '[') {
        ps->header_serial++;
        ps->header_line = ps->line;
    }
    return str;
}

static void list_fields(char *buf, size_t len)
{
    size_t off = 0;
    buf[0] = '\0';
    for (int f = 0; f < RSU_X_COUNT && off < len; f++) {
        int n = snprintf(buf + off, len - off, "%s%s", f ? ", " : "", rsu_profile_field_name(f));
        if (n < 0)
            break;
        off += (size_t)n;
    }
}

static void begin_section(struct rsu_parser *ps, const char *section)
{
    ps->sec_serial = ps->header_serial;
    ps->sec_line = ps->header_line;
    ps->kind = SEC_NONE;
    ps->reg = NULL;
    ps->keys_seen = 0;
    if (ps->header_serial == 0) {
        rsu_parser_fail(ps, ps->line, "setting outside any section (start with [profile])");
        return;
    }
    int slot = -1;
    if (strcmp(section, "profile") == 0) {
        ps->kind = SEC_PROFILE, slot = 0;
        snprintf(ps->sec_label, sizeof ps->sec_label, "profile");
    } else if (strcmp(section, "sequence") == 0) {
        ps->kind = SEC_SEQUENCE, slot = 1, ps->reg = &ps->p->sequence;
        snprintf(ps->sec_label, sizeof ps->sec_label, "sequence");
    } else if (strcmp(section, "ack") == 0) {
        ps->kind = SEC_ACK, slot = 2, ps->reg = &ps->p->ack;
        snprintf(ps->sec_label, sizeof ps->sec_label, "ack");
    } else if (strncmp(section, "field", 5) == 0 && (section[5] == ' ' || section[5] == '\t')) {
        const char *name = section + 5 + strspn(section + 5, " \t");
        int f = rsu_profile_field_by_name(name);
        if (f < 0) {
            char known[320];
            list_fields(known, sizeof known);
            rsu_parser_fail(ps, ps->sec_line, "unknown field '%s' (known: %s)", name, known);
            return;
        }
        ps->kind = SEC_FIELD, ps->field = f, slot = 3 + f, ps->reg = &ps->p->field[f];
        snprintf(ps->sec_label, sizeof ps->sec_label, "field '%s'", name);
    } else {
        rsu_parser_fail(ps, ps->sec_line,
                        "unknown section [%s] (use [profile], [sequence], [ack] or [field NAME])",
                        section);
        return;
    }
    if (ps->section_line[slot]) {
        rsu_parser_fail(ps, ps->sec_line, "[%s] repeats the section at line %d", section,
                        ps->section_line[slot]);
        ps->kind = SEC_NONE;
        return;
    }
    ps->section_line[slot] = ps->sec_line;
    if (ps->reg) {
        *ps->reg = (struct rsu_reg){.table = RSU_TABLE_HOLDING,
                                    .words = RSU_WORDS_BIG,
                                    .encoding = RSU_ENC_UTF8,
                                    .scale = 1.0,
                                    .line = ps->sec_line};
    }
}

static void finish_section(struct rsu_parser *ps)
{
    if (ps->reg)
        rsu_parser_finish_reg(ps);
    ps->reg = NULL;
    ps->kind = SEC_NONE;
}

static int on_key(void *user, const char *section, const char *name, const char *value)
{
    struct rsu_parser *ps = user;
    if (ps->header_serial != ps->sec_serial) {
        finish_section(ps);
        begin_section(ps, section);
    }
    if (ps->kind == SEC_PROFILE)
        rsu_parser_profile_key(ps, name, value, ps->line);
    else if (ps->kind != SEC_NONE)
        rsu_parser_reg_key(ps, name, value, ps->line);
    /* Always continue: errors are collected here, inih only reports syntax. */
    return 1;
}

static void check_profile(struct rsu_parser *ps)
{
    struct rsu_profile *p = ps->p;
    if (!ps->section_line[0])
        rsu_parser_fail(ps, 0, "missing [profile] section");
    else if (!ps->have_name)
        rsu_parser_fail(ps, ps->section_line[0], "[profile] needs 'name'");
    if (!ps->section_line[1])
        rsu_parser_fail(ps, 0, "missing [sequence] section (the register holding the pass number)");
    if (!ps->section_line[2])
        rsu_parser_fail(
            ps, 0, "missing [ack] section (the register the gateway writes the pass number to)");
    if (ps->section_line[1] && ps->section_line[2] && p->ack.type != p->sequence.type)
        rsu_parser_fail(ps, ps->section_line[2], "ack must have the same type as sequence");
    if (!p->mapped)
        rsu_parser_fail(ps, 0, "no [field NAME] sections: nothing to read");
    if ((p->mapped & (1u << RSU_X_PLATE_COLOUR)) && p->n_colours == 0)
        rsu_parser_fail(ps, p->field[RSU_X_PLATE_COLOUR].line,
                        "plate_colour is mapped but [profile] has no 'colours' map");
    char msg[200];
    int line = rsu_profile_check_layout(p, msg, sizeof msg);
    if (line)
        rsu_parser_fail(ps, line, "%s", msg);
}

int rsu_profile_parse(const char *text, const char *name_for_errors, struct rsu_profile *out,
                      char *err, size_t errlen)
{
    struct rsu_parser ps = {.file = name_for_errors ? name_for_errors : "profile",
                            .text = text ? text : "",
                            .sec_serial = -1,
                            .p = out,
                            .err = err,
                            .errlen = errlen};
    memset(out, 0, sizeof *out);
    if (errlen)
        err[0] = '\0';
    int rc = ini_parse_stream(read_line, &ps, on_key, &ps);
    finish_section(&ps);
    if (rc > 0)
        rsu_parser_fail(&ps, rc, "syntax error (expected [section], key = value or a ; comment)");
    else if (rc < 0)
        rsu_parser_fail(&ps, 0, "cannot parse (out of memory)");
    if (!ps.err_line)
        check_profile(&ps);
    if (ps.err_line) {
        memset(out, 0, sizeof *out);
        return -1;
    }
    return 0;
}

int rsu_profile_load(const char *path, struct rsu_profile *out, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    char *text = malloc(PROFILE_FILE_MAX + 1);
    size_t n = text ? fread(text, 1, PROFILE_FILE_MAX + 1, f) : 0;
    bool read_error = ferror(f);
    fclose(f);
    if (!text || read_error || n > PROFILE_FILE_MAX) {
        snprintf(err, errlen, "%s: %s", path,
                 !text        ? "out of memory"
                 : read_error ? "read error"
                              : "larger than 1 MiB, not a profile");
        free(text);
        return -1;
    }
    text[n] = '\0';
    if (memchr(text, '\0', n)) {
        snprintf(err, errlen, "%s: contains NUL bytes, not a text file", path);
        free(text);
        return -1;
    }
    int rc = rsu_profile_parse(text, path, out, err, errlen);
    free(text);
    return rc;
}
