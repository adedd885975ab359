/* SPDX-License-Identifier: MIT */
/*
 * Licence plates (GA 36 formats as summarised in shared/reference/standards.md).
 * The rules are documented in docs/policy.md, section "Plates".
 */
#include "plate.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Longest input we look at, in characters; longer plates are reported with their length. */
#define PLATE_CHARS_MAX 16

static const char provinces[] = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼";

#define CP_TRAILER 0x6302u /* 挂 */
#define CP_LEARNER 0x5B66u /* 学 */
#define CP_POLICE  0x8B66u /* 警 */
#define CP_HK      0x6E2Fu /* 港 */
#define CP_MACAU   0x6FB3u /* 澳 */
#define CP_CONSUL  0x9886u /* 领 */
#define CP_EMBASSY 0x4F7Fu /* 使 */

/* Decode one code point at s[*i]; strict (no overlong forms, no surrogates). -1 if malformed. */
static int32_t utf8_next(const char *s, size_t *i)
{
    const unsigned char *p = (const unsigned char *)s + *i;
    uint32_t cp;
    size_t n;
    if (p[0] < 0x80) {
        *i += 1;
        return p[0];
    } else if ((p[0] & 0xE0) == 0xC0) {
        cp = p[0] & 0x1Fu;
        n = 2;
    } else if ((p[0] & 0xF0) == 0xE0) {
        cp = p[0] & 0x0Fu;
        n = 3;
    } else if ((p[0] & 0xF8) == 0xF0) {
        cp = p[0] & 0x07u;
        n = 4;
    } else {
        return -1;
    }
    for (size_t k = 1; k < n; k++) {
        if ((p[k] & 0xC0) != 0x80)
            return -1;
        cp = (cp << 6) | (p[k] & 0x3Fu);
    }
    static const uint32_t min_for_len[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_for_len[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return -1;
    *i += n;
    return (int32_t)cp;
}

/* Encode cp into buf (at least 5 bytes); returns the byte count. */
static size_t utf8_put(uint32_t cp, char *buf)
{
    unsigned char *b = (unsigned char *)buf;
    if (cp < 0x80) {
        b[0] = (unsigned char)cp;
        b[1] = 0;
        return 1;
    }
    if (cp < 0x800) {
        b[0] = (unsigned char)(0xC0 | (cp >> 6));
        b[1] = (unsigned char)(0x80 | (cp & 0x3F));
        b[2] = 0;
        return 2;
    }
    if (cp < 0x10000) {
        b[0] = (unsigned char)(0xE0 | (cp >> 12));
        b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (unsigned char)(0x80 | (cp & 0x3F));
        b[3] = 0;
        return 3;
    }
    b[0] = (unsigned char)(0xF0 | (cp >> 18));
    b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    b[3] = (unsigned char)(0x80 | (cp & 0x3F));
    b[4] = 0;
    return 4;
}

static bool cp_in(const char *set, uint32_t cp)
{
    size_t i = 0;
    while (set[i]) {
        int32_t c = utf8_next(set, &i);
        if (c < 0)
            return false;
        if ((uint32_t)c == cp)
            return true;
    }
    return false;
}

/* Characters read as separators, not as part of the plate. */
static bool is_separator(uint32_t cp)
{
    switch (cp) {
    case ' ':
    case '\t':
    case '\r':
    case '\n':
    case '-':
    case '.':
    case 0x00A0: /* no-break space */
    case 0x00B7: /* middle dot, as printed on plates: 豫A·12345 */
    case 0x2022: /* bullet */
    case 0x2027: /* hyphenation point */
    case 0x2219: /* bullet operator */
    case 0x22C5: /* dot operator */
    case 0x3000: /* ideographic space */
    case 0x30FB: /* katakana middle dot */
        return true;
    default:
        return false;
    }
}

/* Full-width ASCII to ASCII, lower case to upper case. */
static uint32_t fold(uint32_t cp)
{
    if (cp >= 0xFF01 && cp <= 0xFF5E)
        cp -= 0xFEE0;
    if (cp >= 'a' && cp <= 'z')
        cp -= 'a' - 'A';
    return cp;
}

static bool is_digit(uint32_t cp)
{
    return cp >= '0' && cp <= '9';
}

static bool is_plate_letter(uint32_t cp)
{
    return cp >= 'A' && cp <= 'Z' && cp != 'I' && cp != 'O';
}

static bool is_plate_alnum(uint32_t cp)
{
    return is_digit(cp) || is_plate_letter(cp);
}

/* A character as it appears in an error message: itself, or U+XXXX when invisible. */
static void show_char(uint32_t cp, char buf[16])
{
    if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp < 0xA0))
        snprintf(buf, 16, "U+%04X", (unsigned)cp);
    else
        utf8_put(cp, buf);
}

struct plate_chars {
    size_t n; /* characters in the input (may exceed PLATE_CHARS_MAX) */
    uint32_t cp[PLATE_CHARS_MAX];
    bool bad_utf8; /* input is not valid UTF-8 */
    size_t bad_at; /* byte offset of the first malformed sequence */
};

static void normalise(const char *utf8, struct plate_chars *pc)
{
    memset(pc, 0, sizeof(*pc));
    size_t i = 0;
    while (utf8[i]) {
        size_t at = i;
        int32_t c = utf8_next(utf8, &i);
        if (c < 0) {
            pc->bad_utf8 = true;
            pc->bad_at = at;
            return;
        }
        uint32_t cp = fold((uint32_t)c);
        if (is_separator(cp))
            continue;
        if (pc->n < PLATE_CHARS_MAX)
            pc->cp[pc->n] = cp;
        pc->n++;
    }
}

/* Write cp[from..to) as UTF-8 into buf, stopping before a character that would not fit. */
static void chars_to_utf8(const uint32_t *cp, size_t from, size_t to, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = 0;
    for (size_t k = from; k < to; k++) {
        char tmp[8];
        size_t n = utf8_put(cp[k], tmp);
        if (used + n + 1 > len)
            break;
        memcpy(buf + used, tmp, n + 1);
        used += n;
    }
}

static void fail(struct plate_info *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void fail(struct plate_info *out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->error, sizeof(out->error), fmt, ap);
    va_end(ap);
    out->valid = false;
    out->kind = PLATE_KIND_UNKNOWN;
    out->new_energy_large = false;
    out->region[0] = 0;
}

/* Characters from..to (0-based, exclusive) must be letters without I/O or digits. */
static bool check_alnum(struct plate_info *out, const uint32_t *cp, size_t from, size_t to)
{
    for (size_t k = from; k < to; k++) {
        if (!is_plate_alnum(cp[k])) {
            char c[16];
            show_char(cp[k], c);
            fail(out, "character %zu must be a letter A-Z without I and O, or a digit; got '%s'",
                 k + 1, c);
            return false;
        }
    }
    return true;
}

static bool check_digits(struct plate_info *out, const char *what, const uint32_t *cp, size_t from,
                         size_t to)
{
    for (size_t k = from; k < to; k++) {
        if (!is_digit(cp[k])) {
            char c[16];
            show_char(cp[k], c);
            fail(out, "%s: character %zu must be a digit, got '%s'", what, k + 1, c);
            return false;
        }
    }
    return true;
}

static void parse_new_energy(struct plate_info *out, const uint32_t *cp)
{
    char c[16];
    if (cp[2] == 'D' || cp[2] == 'F') {
        /* small: province, letter, D/F, one letter or digit, four digits */
        if (!is_plate_alnum(cp[3])) {
            show_char(cp[3], c);
            fail(out,
                 "new-energy plate: character 4 must be a letter A-Z without I and O, or a "
                 "digit; got '%s'",
                 c);
            return;
        }
        if (!check_digits(out, "new-energy plate", cp, 4, 8))
            return;
        out->kind = PLATE_KIND_NEW_ENERGY;
        out->new_energy_large = false;
    } else if (is_digit(cp[2])) {
        /* large: province, letter, five digits, D/F */
        if (!check_digits(out, "new-energy plate", cp, 2, 7))
            return;
        if (cp[7] != 'D' && cp[7] != 'F') {
            show_char(cp[7], c);
            fail(out, "new-energy plate: character 8 must be D or F, got '%s'", c);
            return;
        }
        out->kind = PLATE_KIND_NEW_ENERGY;
        out->new_energy_large = true;
    } else {
        show_char(cp[2], c);
        fail(out,
             "new-energy plate: character 3 must be D or F (small) or a digit (large), got '%s'",
             c);
        return;
    }
    out->valid = true;
}

static void parse_seven(struct plate_info *out, const uint32_t *cp)
{
    uint32_t last = cp[6];
    enum plate_kind kind = PLATE_KIND_ORDINARY;
    size_t body_end = 6;
    if (last == CP_TRAILER)
        kind = PLATE_KIND_TRAILER;
    else if (last == CP_POLICE)
        kind = PLATE_KIND_POLICE;
    else if (last == CP_LEARNER)
        kind = PLATE_KIND_LEARNER;
    else if (last == CP_HK || last == CP_MACAU)
        kind = PLATE_KIND_HK_MACAU;
    else if (last == CP_CONSUL)
        kind = PLATE_KIND_EMBASSY;
    else
        body_end = 7;
    if (!check_alnum(out, cp, 2, body_end))
        return;
    out->kind = kind;
    out->valid = true;
}

void plate_parse(const char *utf8, struct plate_info *out)
{
    memset(out, 0, sizeof(*out));
    if (!utf8) {
        fail(out, "no plate");
        return;
    }
    struct plate_chars pc;
    normalise(utf8, &pc);
    if (pc.bad_utf8) {
        fail(out, "not valid UTF-8 (byte %zu)", pc.bad_at + 1);
        return;
    }
    size_t stored = pc.n < PLATE_CHARS_MAX ? pc.n : PLATE_CHARS_MAX;
    chars_to_utf8(pc.cp, 0, stored, out->normalised, sizeof(out->normalised));
    if (pc.n == 0) {
        fail(out, "no plate");
        return;
    }
    if (pc.n != 7 && pc.n != 8) {
        fail(out, "7 or 8 characters expected, got %zu", pc.n);
        return;
    }
    const uint32_t *cp = pc.cp;
    char c[16];
    if (cp[0] == CP_EMBASSY) {
        if (pc.n != 7) {
            fail(out, "embassy plate: 7 characters expected, got %zu", pc.n);
            return;
        }
        if (!check_digits(out, "embassy plate", cp, 1, 7))
            return;
        out->kind = PLATE_KIND_EMBASSY;
        out->valid = true;
        chars_to_utf8(cp, 0, 1, out->region, sizeof(out->region));
        return;
    }
    if (!cp_in(provinces, cp[0])) {
        show_char(cp[0], c);
        fail(out, "unknown province character '%s'", c);
        return;
    }
    if (!is_plate_letter(cp[1])) {
        show_char(cp[1], c);
        fail(out, "second character must be a letter A-Z without I and O, got '%s'", c);
        return;
    }
    if (pc.n == 8)
        parse_new_energy(out, cp);
    else
        parse_seven(out, cp);
    if (out->valid)
        chars_to_utf8(cp, 0, 2, out->region, sizeof(out->region));
}

int plate_parse_prefix(const char *utf8, char *out, size_t outlen, char *err, size_t errlen)
{
    struct plate_chars pc;
    char c[16];
    if (outlen)
        out[0] = 0;
    normalise(utf8 ? utf8 : "", &pc);
    if (pc.bad_utf8) {
        snprintf(err, errlen, "not valid UTF-8 (byte %zu)", pc.bad_at + 1);
        return -1;
    }
    if (pc.n == 0 || pc.n > 2) {
        snprintf(err, errlen,
                 "a province character, optionally followed by a city letter, "
                 "expected (e.g. 豫 or 豫A), got %zu characters",
                 pc.n);
        return -1;
    }
    if (pc.cp[0] == CP_EMBASSY) {
        if (pc.n != 1) {
            snprintf(err, errlen, "the embassy prefix is 使 alone");
            return -1;
        }
    } else if (!cp_in(provinces, pc.cp[0])) {
        show_char(pc.cp[0], c);
        snprintf(err, errlen, "unknown province character '%s'", c);
        return -1;
    } else if (pc.n == 2 && !is_plate_letter(pc.cp[1])) {
        show_char(pc.cp[1], c);
        snprintf(err, errlen, "second character must be a letter A-Z without I and O, got '%s'", c);
        return -1;
    }
    chars_to_utf8(pc.cp, 0, pc.n, out, outlen);
    return 0;
}

bool plate_is_local(const struct plate_info *p, const char *const *prefixes, size_t n_prefixes)
{
    if (!p || !p->valid || !prefixes)
        return false;
    for (size_t i = 0; i < n_prefixes; i++) {
        size_t len = prefixes[i] ? strlen(prefixes[i]) : 0;
        if (len > 0 && strncmp(p->region, prefixes[i], len) == 0)
            return true;
    }
    return false;
}

const char *plate_kind_name(enum plate_kind k)
{
    switch (k) {
    case PLATE_KIND_UNKNOWN:
        return "unknown";
    case PLATE_KIND_ORDINARY:
        return "ordinary";
    case PLATE_KIND_NEW_ENERGY:
        return "new_energy";
    case PLATE_KIND_TRAILER:
        return "trailer";
    case PLATE_KIND_POLICE:
        return "police";
    case PLATE_KIND_EMBASSY:
        return "embassy";
    case PLATE_KIND_LEARNER:
        return "learner";
    case PLATE_KIND_HK_MACAU:
        return "hk_macau";
    }
    return "invalid";
}
