/* SPDX-License-Identifier: MIT */
/*
 * Showing stored records to people (tables, detail) and programs (JSON).
 * Everything shown is read back from the record itself, so what the officer
 * sees is exactly what was stored as evidence.
 */
#ifndef VIEW_H
#define VIEW_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "json.h"
#include "record.h"

struct view_opts {
    bool colour; /* ANSI colours (terminals only) */
};

void view_table_header(FILE *f, const struct view_opts *o);
void view_table_row(FILE *f, const struct view_opts *o, const Rsgw__V1__Record *r);
/* Multi-line: measurement, vehicle facts, every rule with value, limit and clause. */
void view_record_detail(FILE *f, const struct view_opts *o, const Rsgw__V1__Record *r,
                        const uint8_t hash[32]);
void view_record_json(struct json *j, const Rsgw__V1__Record *r, const uint8_t hash[32]);

/* Display width of UTF-8 text on a terminal (CJK characters take two cells). */
int view_text_width(const char *utf8);

#endif
