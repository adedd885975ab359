/* SPDX-License-Identifier: MIT */
/*
 * Profile parser state shared by rsu_profile.c (lines, sections, whole-file
 * checks) and rsu_profile_keys.c (one key at a time). Internal to sensing/.
 */
#ifndef RSU_PROFILE_PARSER_H
#define RSU_PROFILE_PARSER_H

#include <stdbool.h>
#include <stddef.h>

#include "rsu_profile.h"

enum key {
    K_TABLE,
    K_ADDRESS,
    K_TYPE,
    K_WORDS,
    K_LENGTH,
    K_ENCODING,
    K_SCALE,
    K_OFFSET,
    K_INVALID,
    K_COUNT
};

enum section_kind { SEC_NONE, SEC_PROFILE, SEC_SEQUENCE, SEC_ACK, SEC_FIELD };

/* Index into parser.section_line: profile, sequence, ack, then one per field. */
#define SECTION_SLOTS (3 + RSU_X_COUNT)

struct rsu_parser {
    const char *file;
    const char *text;
    size_t pos;
    int line;          /* physical line last handed to inih */
    int header_serial; /* counts section header lines seen by the reader */
    int header_line;
    bool stopped;

    int sec_serial; /* header_serial of the section being filled; -1 before any */
    enum section_kind kind;
    int field;
    int sec_line;
    char sec_label[48]; /* "field 'opacity'", "sequence" */
    struct rsu_reg *reg;
    unsigned keys_seen;
    int key_line[K_COUNT];
    long long invalid_value;
    int section_line[SECTION_SLOTS];
    bool have_name;
    int colours_line;

    struct rsu_profile *p;
    char *err;
    size_t errlen;
    int err_line; /* line of the reported error; INT_MAX: an error without a line */
};

/* Record an error; the one with the lowest line wins (line <= 0: no line). */
void rsu_parser_fail(struct rsu_parser *ps, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

void rsu_parser_profile_key(struct rsu_parser *ps, const char *name, const char *value, int line);
void rsu_parser_reg_key(struct rsu_parser *ps, const char *name, const char *value, int line);
/* Checks that need the whole [sequence], [ack] or [field NAME] section. */
void rsu_parser_finish_reg(struct rsu_parser *ps);

#endif
