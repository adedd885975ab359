/* SPDX-License-Identifier: MIT */
/*
 * Chinese licence plates: parsing, validation, local vs out-of-area.
 * Rules in docs/policy.md ("Plates"); facts in shared/reference/standards.md.
 */
#ifndef PLATE_H
#define PLATE_H

#include <stdbool.h>
#include <stddef.h>

/* Values match rsgw.v1.PlateKind. */
enum plate_kind {
    PLATE_KIND_UNKNOWN = 0,
    PLATE_KIND_ORDINARY = 1,
    PLATE_KIND_NEW_ENERGY = 2,
    PLATE_KIND_TRAILER = 3,
    PLATE_KIND_POLICE = 4,
    PLATE_KIND_EMBASSY = 5,
    PLATE_KIND_LEARNER = 6,
    PLATE_KIND_HK_MACAU = 7,
};

struct plate_info {
    bool valid;
    enum plate_kind kind;
    bool new_energy_large; /* 8-character plate with D/F at the end */
    char region[16];     /* first two characters as UTF-8, e.g. "豫A" ("使" alone for embassy) */
    char normalised[48]; /* trimmed, upper-case ASCII letters, full-width folded */
    char error[96];      /* why it is not valid */
};

/* Parse a UTF-8 plate. Never fails: an invalid plate has valid = false and error set. */
void plate_parse(const char *utf8, struct plate_info *out);

/* The plate's region starts with one of the configured prefixes ("豫A", or "豫" for a whole
 * province). */
bool plate_is_local(const struct plate_info *p, const char *const *prefixes, size_t n_prefixes);

const char *plate_kind_name(enum plate_kind k);

/* Validate and normalise a local-prefix setting: a province character, optionally followed by
 * a city letter ("豫", "豫A", full-width or lower case accepted), or "使". Writes the normalised
 * prefix to out. 0, or -1 with a message in err. */
int plate_parse_prefix(const char *utf8, char *out, size_t outlen, char *err, size_t errlen);

#endif
