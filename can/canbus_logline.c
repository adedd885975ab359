/* SPDX-License-Identifier: MIT */
/*
 * candump's text formats, one line at a time (can-utils lib.c and candump.c):
 *   -l / -L      (1436509052.249713) vcan0 18FECA00#0104000000FFFFFF
 *                id: 3 hex digits (standard), 8 (extended, or an error frame when
 *                0x20000000 is set); data: hex bytes, '.' allowed between bytes;
 *                "R" or "R<len>" for a remote frame; "_<dlc>" after 8 bytes (raw
 *                DLC 9..F); "##<flags><data>" CAN FD; "<5 hex>#" CAN XL; with -x a
 *                trailing " R" or " T" (received/transmitted).
 *   printed      " (1436509052.249713)  vcan0  18FECA00   [8]  01 04 00 00 00 FF FF FF"
 *                timestamp per -ta "(%010ld.%06ld)", -tA "(2015-07-10 14:17:32.249713)",
 *                -td/-tz "(%03ld.%06ld)" or none; with -x "RX - -" after the
 *                interface; length "[n]" ("{X}" with -8, "[nn]" CAN FD,
 *                "[nnnn]" CAN XL); "remote request"; -a adds '....', error frames
 *                end in ERRORFRAME and -e puts their meaning on lines starting with
 *                a tab.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "canbus_priv.h"

struct cur {
    const char *p, *end;
};

static bool at_end(const struct cur *c)
{
    return c->p >= c->end;
}

static bool is_space(char ch)
{
    return ch == ' ' || ch == '\t';
}

static void skip_space(struct cur *c)
{
    while (!at_end(c) && is_space(*c->p))
        c->p++;
}

/* The next whitespace-separated token (len 0 at the end). */
static size_t token(struct cur *c, const char **tok)
{
    skip_space(c);
    *tok = c->p;
    while (!at_end(c) && !is_space(*c->p))
        c->p++;
    return (size_t)(c->p - *tok);
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    return -1;
}

static bool is_digit(char ch)
{
    return ch >= '0' && ch <= '9';
}

static bool tok_is(const char *tok, size_t len, const char *word)
{
    return len == strlen(word) && memcmp(tok, word, len) == 0;
}

/* An interface name as candump prints it: no blanks, controls or '#'. */
static bool ifname_ok(const char *s, size_t n)
{
    if (n == 0 || n >= 16)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch <= ' ' || ch == 0x7F || ch == '#')
            return false;
    }
    return true;
}

/* A note that quotes at most 40 bytes of the offending text. */
#define QUOTE(tok, len) (int)((len) > 40 ? 40 : (len)), (tok)

/* 3 or 8 hex digits into a can_frame_rec id. */
static int parse_id(const char *s, size_t n, uint32_t *id, char *note, size_t notelen)
{
    uint32_t v = 0;
    for (size_t i = 0; i < n; i++) {
        int h = hexval(s[i]);
        if (h < 0) {
            canbus_set_err(note, notelen, "CAN id '%.*s' is not hexadecimal", QUOTE(s, n));
            return CANBUS_EPARSE;
        }
        v = v << 4 | (uint32_t)h;
    }
    if (n == 3) {
        if (v > CAN_SFF_MASK) {
            canbus_set_err(note, notelen, "standard CAN id %03X above 7FF", (unsigned)v);
            return CANBUS_EPARSE;
        }
        *id = v;
        return CANBUS_OK;
    }
    if (n != 8) {
        canbus_set_err(note, notelen, "CAN id '%.*s' has not 3 or 8 hex digits", QUOTE(s, n));
        return CANBUS_EPARSE;
    }
    if (v & (CAN_FRAME_EFF | CAN_FRAME_RTR)) {
        canbus_set_err(note, notelen, "CAN id %08X above 1FFFFFFF", (unsigned)v);
        return CANBUS_EPARSE;
    }
    *id = (v & CAN_FRAME_ERR) ? v : (v | CAN_FRAME_EFF);
    return CANBUS_OK;
}

static int parse_ts_digits(const char *s, size_t n, uint64_t *out_us, size_t *int_digits)
{
    size_t i = 0;
    uint64_t sec = 0, frac = 0;
    while (i < n && is_digit(s[i]) && i < 12)
        sec = sec * 10 + (uint64_t)(s[i++] - '0');
    *int_digits = i;
    if (i == 0 || i >= n || s[i] != '.')
        return -1;
    size_t f0 = ++i, fd = 0;
    while (i < n && is_digit(s[i]) && fd < 9) {
        if (fd < 6)
            frac = frac * 10 + (uint64_t)(s[i] - '0');
        fd++, i++;
    }
    if (fd == 0 || i != n || i - f0 != fd)
        return -1;
    for (; fd < 6; fd++)
        frac *= 10;
    *out_us = sec * 1000000u + frac;
    return 0;
}

static bool digits_at(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!is_digit(s[i]))
            return false;
    return true;
}

static int num_at(const char *s, size_t n)
{
    int v = 0;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

/* candump -tA: "2015-07-10 14:17:32.249713", local time. */
static int parse_ts_date(const char *s, size_t n, uint64_t *out_us)
{
    if (n < 21 || !digits_at(s, 4) || s[4] != '-' || !digits_at(s + 5, 2) || s[7] != '-' ||
        !digits_at(s + 8, 2) || s[10] != ' ' || !digits_at(s + 11, 2) || s[13] != ':' ||
        !digits_at(s + 14, 2) || s[16] != ':')
        return -1;
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    tm.tm_year = num_at(s, 4) - 1900;
    tm.tm_mon = num_at(s + 5, 2) - 1;
    tm.tm_mday = num_at(s + 8, 2);
    tm.tm_hour = num_at(s + 11, 2);
    tm.tm_min = num_at(s + 14, 2);
    tm.tm_isdst = -1;
    if (tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
        tm.tm_min > 59 || tm.tm_year < 70)
        return -1;
    uint64_t sec_us;
    size_t int_digits;
    if (parse_ts_digits(s + 17, n - 17, &sec_us, &int_digits) != 0 || int_digits != 2 ||
        sec_us >= 61000000u)
        return -1;
    time_t t = mktime(&tm);
    if (t == (time_t)-1 || t < 0)
        return -1;
    *out_us = (uint64_t)t * 1000000u + sec_us;
    return 0;
}

static int parse_timestamp(struct cur *c, struct canbus_log_line *out, char *note, size_t notelen)
{
    const char *open = c->p++; /* '(' */
    const char *close = memchr(c->p, ')', (size_t)(c->end - c->p));
    if (!close) {
        canbus_set_err(note, notelen, "timestamp '%.*s' without ')'",
                       QUOTE(open, (size_t)(c->end - open)));
        return CANBUS_EPARSE;
    }
    size_t n = (size_t)(close - c->p), int_digits;
    uint64_t us;
    if (n > 10 && c->p[4] == '-' && parse_ts_date(c->p, n, &us) == 0)
        out->time = CANBUS_LOG_TIME_ABS;
    else if (parse_ts_digits(c->p, n, &us, &int_digits) == 0)
        /* candump writes absolute seconds as %010ld, relative ones as %03ld. */
        out->time = int_digits >= 10 ? CANBUS_LOG_TIME_ABS : CANBUS_LOG_TIME_REL;
    else {
        canbus_set_err(note, notelen, "bad timestamp '%.*s'", QUOTE(open, n + 2));
        return CANBUS_EPARSE;
    }
    out->frame.t_us = us;
    c->p = close + 1;
    if (!at_end(c) && !is_space(*c->p)) {
        canbus_set_err(note, notelen, "no space after the timestamp");
        return CANBUS_EPARSE;
    }
    return CANBUS_OK;
}

/* "-l" style: ID#DATA, ID#R[len[_dlc]], ID##FD, PRIO#XL. */
static int parse_compact(const char *t, size_t n, struct canbus_log_line *out, char *note,
                         size_t notelen)
{
    const char *hash = memchr(t, '#', n);
    size_t idlen = (size_t)(hash - t);
    if (idlen == 5) {
        canbus_set_err(note, notelen, "CAN XL frame skipped (classic CAN only)");
        return CANBUS_SKIP;
    }
    struct can_frame_rec *f = &out->frame;
    int rc = parse_id(t, idlen, &f->id, note, notelen);
    if (rc != CANBUS_OK)
        return rc;
    const char *p = hash + 1, *end = t + n;
    if (p < end && *p == '#') {
        canbus_set_err(note, notelen, "CAN FD frame skipped (classic CAN only)");
        return CANBUS_SKIP;
    }
    if (p < end && (*p == 'R' || *p == 'r')) {
        if (f->id & CAN_FRAME_ERR) {
            canbus_set_err(note, notelen, "an error frame cannot be a remote frame");
            return CANBUS_EPARSE;
        }
        f->id |= CAN_FRAME_RTR;
        p++;
        if (p < end && *p >= '0' && *p <= '8')
            f->len = (uint8_t)(*p++ - '0');
        if (f->len == 8 && p + 1 < end && *p == '_' && hexval(p[1]) > 8)
            p += 2;
        if (p != end) {
            canbus_set_err(note, notelen, "bad remote frame '%.*s'", QUOTE(t, n));
            return CANBUS_EPARSE;
        }
        return CANBUS_OK;
    }
    while (p < end) {
        if (*p == '.' && ++p == end) /* one optional separator before each byte */
            break;
        if (*p == '_' && f->len == 8 && p + 2 == end && hexval(p[1]) > 8)
            break; /* raw DLC 9..F of an 8-byte frame */
        if (p + 1 >= end || hexval(p[0]) < 0 || hexval(p[1]) < 0) {
            canbus_set_err(note, notelen, "bad data '%.*s' (hex byte pairs expected)",
                           QUOTE(hash + 1, (size_t)(end - hash - 1)));
            return CANBUS_EPARSE;
        }
        if (f->len == 8) {
            canbus_set_err(note, notelen, "more than 8 data bytes (classic CAN)");
            return CANBUS_EPARSE;
        }
        f->data[f->len++] = (uint8_t)(hexval(p[0]) << 4 | hexval(p[1]));
        p += 2;
    }
    return CANBUS_OK;
}

static int parse_printed(struct cur *c, const char *t, size_t n, struct canbus_log_line *out,
                         char *note, size_t notelen)
{
    if (tok_is(t, n, "RX") || tok_is(t, n, "TX")) { /* -x: "RX - -", "TX B E" */
        for (int i = 0; i < 2; i++) {
            n = token(c, &t);
            if (!(tok_is(t, n, "-") || tok_is(t, n, "B") || tok_is(t, n, "E"))) {
                canbus_set_err(note, notelen, "bad extra message info after RX/TX");
                return CANBUS_EPARSE;
            }
        }
        n = token(c, &t);
    }
    if (n == 0) {
        canbus_set_err(note, notelen, "no CAN id after the interface");
        return CANBUS_EPARSE;
    }
    struct can_frame_rec *f = &out->frame;
    const char *id = t;
    size_t idlen = n;
    n = token(c, &t);
    if ((n == 4 || n == 6) && t[0] == '[' && t[n - 1] == ']' && digits_at(t + 1, n - 2)) {
        canbus_set_err(note, notelen, "CAN %s frame skipped (classic CAN only)",
                       n == 4 ? "FD" : "XL");
        return CANBUS_SKIP;
    }
    int rc = parse_id(id, idlen, &f->id, note, notelen);
    if (rc != CANBUS_OK)
        return rc;
    if (n == 3 && t[0] == '[' && t[2] == ']' && t[1] >= '0' && t[1] <= '8')
        f->len = (uint8_t)(t[1] - '0');
    else if (n == 3 && t[0] == '{' && t[2] == '}' && hexval(t[1]) >= 0)
        f->len = (uint8_t)(hexval(t[1]) > 8 ? 8 : hexval(t[1]));
    else {
        canbus_set_err(note, notelen, "bad length '%.*s' ([0] to [8] expected)", QUOTE(t, n));
        return CANBUS_EPARSE;
    }
    skip_space(c);
    size_t rest = (size_t)(c->end - c->p);
    if (rest >= 14 && memcmp(c->p, "remote request", 14) == 0) {
        if (f->id & CAN_FRAME_ERR) {
            canbus_set_err(note, notelen, "an error frame cannot be a remote frame");
            return CANBUS_EPARSE;
        }
        f->id |= CAN_FRAME_RTR;
        c->p += 14;
        skip_space(c);
        if (!at_end(c)) {
            canbus_set_err(note, notelen, "text after 'remote request'");
            return CANBUS_EPARSE;
        }
        return CANBUS_OK;
    }
    for (unsigned i = 0; i < f->len; i++) {
        n = token(c, &t);
        if (n != 2 || hexval(t[0]) < 0 || hexval(t[1]) < 0) {
            canbus_set_err(note, notelen, "data byte %u of %u: '%.*s' is not a hex byte", i + 1,
                           f->len, QUOTE(t, n));
            return CANBUS_EPARSE;
        }
        f->data[i] = (uint8_t)(hexval(t[0]) << 4 | hexval(t[1]));
    }
    skip_space(c);
    rest = (size_t)(c->end - c->p);
    if (rest == 0 || (rest == 10 && memcmp(c->p, "ERRORFRAME", 10) == 0) ||
        (rest >= 2 && c->p[0] == '\'' && c->end[-1] == '\'')) /* -a */
        return CANBUS_OK;
    canbus_set_err(note, notelen, "unexpected '%.*s' after the data", QUOTE(c->p, rest));
    return CANBUS_EPARSE;
}

static int parse_dropcount(struct cur *c, struct canbus_log_line *out, char *note, size_t notelen)
{
    const char *t;
    size_t n = token(c, &t); /* "DROPCOUNT:" */
    n = token(c, &t);
    if (tok_is(t, n, "dropped")) {
        n = token(c, &t);
        if (n > 0 && n <= 10 && digits_at(t, n)) {
            for (size_t i = 0; i < n; i++)
                out->dropped = out->dropped * 10 + (uint64_t)(t[i] - '0');
            canbus_set_err(note, notelen, "candump dropped %llu frames here",
                           (unsigned long long)out->dropped);
            return CANBUS_SKIP;
        }
    }
    canbus_set_err(note, notelen, "bad DROPCOUNT line");
    return CANBUS_EPARSE;
}

int canbus_log_parse_line(const char *line, size_t len, struct canbus_log_line *out, char *note,
                          size_t notelen)
{
    char scratch[8];
    if (!note || notelen == 0)
        note = scratch, notelen = sizeof scratch;
    note[0] = '\0';
    if (!out)
        return CANBUS_EPARSE;
    memset(out, 0, sizeof *out);
    if (!line)
        len = 0;
    if (len && memchr(line, '\0', len)) {
        canbus_set_err(note, notelen, "NUL byte in the line");
        return CANBUS_EPARSE;
    }
    while (len && (is_space(line[len - 1]) || line[len - 1] == '\r' || line[len - 1] == '\n'))
        len--;
    if (len == 0)
        return CANBUS_SKIP;
    if (line[0] == '\t') { /* candump -e: the meaning of the error frame above */
        canbus_set_err(note, notelen, "error frame detail (candump -e)");
        return CANBUS_SKIP;
    }
    struct cur c = {line, line + len};
    skip_space(&c);
    if ((size_t)(c.end - c.p) >= 10 && memcmp(c.p, "DROPCOUNT:", 10) == 0)
        return parse_dropcount(&c, out, note, notelen);
    if (*c.p == '(') {
        int rc = parse_timestamp(&c, out, note, notelen);
        if (rc != CANBUS_OK)
            return rc;
    }
    const char *t;
    size_t n = token(&c, &t);
    if (!ifname_ok(t, n)) {
        canbus_set_err(note, notelen, n == 0 ? "no interface name" : "bad interface name '%.*s'",
                       QUOTE(t, n));
        return CANBUS_EPARSE;
    }
    memcpy(out->ifname, t, n);
    out->ifname[n] = '\0';
    n = token(&c, &t);
    if (n && memchr(t, '#', n)) {
        out->log_format = true;
        int rc = parse_compact(t, n, out, note, notelen);
        if (rc != CANBUS_OK)
            return rc;
        n = token(&c, &t);
        if (n == 0 || tok_is(t, n, "R") || tok_is(t, n, "T")) { /* -x */
            if (n == 0 || token(&c, &t) == 0)
                return CANBUS_OK;
        }
        canbus_set_err(note, notelen, "unexpected '%.*s' after the frame",
                       QUOTE(t, (size_t)(c.end - t)));
        return CANBUS_EPARSE;
    }
    return parse_printed(&c, t, n, out, note, notelen);
}

int canbus_log_format(const struct can_frame_rec *f, const char *ifname, char *buf, size_t len)
{
    if (!f || !buf || f->len > 8)
        return -1;
    if (!ifname || !*ifname)
        ifname = "can0";
    if (!ifname_ok(ifname, strlen(ifname)))
        return -1;
    char frame[48];
    int n;
    if (f->id & CAN_FRAME_ERR) {
        if (f->id & (CAN_FRAME_EFF | CAN_FRAME_RTR))
            return -1;
        n = snprintf(frame, sizeof frame, "%08X#", (unsigned)f->id);
    } else if (f->id & CAN_FRAME_EFF)
        n = snprintf(frame, sizeof frame, "%08X#", (unsigned)(f->id & CAN_EFF_MASK));
    else if ((f->id & ~CAN_FRAME_RTR) <= CAN_SFF_MASK)
        n = snprintf(frame, sizeof frame, "%03X#", (unsigned)(f->id & CAN_SFF_MASK));
    else
        return -1;
    if (f->id & CAN_FRAME_RTR) {
        if (f->len)
            n += snprintf(frame + n, sizeof frame - (size_t)n, "R%u", f->len);
        else
            n += snprintf(frame + n, sizeof frame - (size_t)n, "R");
    } else {
        for (unsigned i = 0; i < f->len; i++)
            n += snprintf(frame + n, sizeof frame - (size_t)n, "%02X", f->data[i]);
    }
    int total =
        snprintf(buf, len, "(%010llu.%06llu) %s %s", (unsigned long long)(f->t_us / 1000000u),
                 (unsigned long long)(f->t_us % 1000000u), ifname, frame);
    return total < 0 || (size_t)total >= len ? -1 : total;
}
