/* SPDX-License-Identifier: MIT */
/*
 * Registry import from CSV (RFC 4180: quoted fields with "" escapes and line
 * breaks, CRLF or LF, an optional UTF-8 BOM). The whole file is read and
 * checked before the database is touched, then written in one transaction:
 * a bad line changes nothing. Columns the header does not name keep their
 * stored values for vehicles already in the registry.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry.h"
#include "store_priv.h"

#define CSV_BYTES_MAX  (64L << 20)
#define CSV_FIELDS_MAX 32
#define CSV_RECORD_MAX 8192

struct csv {
    const char *p, *end;
    unsigned line; /* physical line of p, from 1 */
};

struct csv_record {
    char buf[CSV_RECORD_MAX];
    char *field[CSV_FIELDS_MAX];
    size_t n;
    unsigned line; /* where the record starts */
};

struct row {
    struct registry_vehicle v;
    unsigned line;
};

struct import {
    store *s;
    const char *path;
    char *err;
    size_t errlen;
};

static int import_fail(struct import *im, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int import_fail(struct import *im, unsigned line, const char *fmt, ...)
{
    char msg[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (line)
        snprintf(im->err, im->errlen, "%s:%u: %s", im->path, line, msg);
    else
        snprintf(im->err, im->errlen, "%s: %s", im->path, msg);
    store_fail(im->s, STORE_EINVAL, "%s", im->err);
    return STORE_EINVAL;
}

/* Offset of the first byte that is not valid UTF-8 (or is NUL), or len. */
static size_t utf8_invalid_at(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned char c = s[i];
        size_t n;
        uint32_t cp;
        if (c == 0)
            return i;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            n = 2;
            cp = c & 0x1Fu;
        } else if ((c & 0xF0) == 0xE0) {
            n = 3;
            cp = c & 0x0Fu;
        } else if ((c & 0xF8) == 0xF0) {
            n = 4;
            cp = c & 0x07u;
        } else {
            return i;
        }
        if (i + n > len)
            return i;
        for (size_t k = 1; k < n; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return i;
            cp = (cp << 6) | (s[i + k] & 0x3Fu);
        }
        static const uint32_t min_for_len[5] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < min_for_len[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return i;
        i += n;
    }
    return len;
}

static unsigned line_of(const char *start, size_t off)
{
    unsigned line = 1;
    for (size_t i = 0; i < off; i++)
        if (start[i] == '\n')
            line++;
    return line;
}

static bool put_char(struct csv_record *r, size_t *used, char ch)
{
    if (*used >= sizeof r->buf)
        return false;
    r->buf[(*used)++] = ch;
    return true;
}

/* Skip one line ending at c->p, if there is one. */
static void end_line(struct csv *c)
{
    if (c->p >= c->end)
        return;
    if (*c->p == '\r' && c->p + 1 < c->end && c->p[1] == '\n')
        c->p++;
    c->p++;
    c->line++;
}

/* 1 = a record, 0 = end of input, <0 = error (reported). */
static int csv_next(struct import *im, struct csv *c, struct csv_record *r)
{
    if (c->p >= c->end)
        return 0;
    r->n = 0;
    r->line = c->line;
    size_t used = 0;
    for (;;) {
        if (r->n == CSV_FIELDS_MAX)
            return import_fail(im, r->line, "more than %d fields", CSV_FIELDS_MAX);
        r->field[r->n++] = r->buf + used;
        bool ok = true;
        if (c->p < c->end && *c->p == '"') {
            unsigned opened = c->line;
            c->p++;
            for (;;) {
                if (c->p >= c->end)
                    return import_fail(im, opened, "quoted field is never closed");
                char ch = *c->p++;
                if (ch == '"') {
                    if (c->p < c->end && *c->p == '"') {
                        c->p++;
                        ok = ok && put_char(r, &used, '"');
                        continue;
                    }
                    break;
                }
                if (ch == '\r' || ch == '\n') {
                    if (ch == '\r' && c->p < c->end && *c->p == '\n')
                        c->p++;
                    c->line++;
                    ch = '\n';
                }
                ok = ok && put_char(r, &used, ch);
            }
            while (c->p < c->end && (*c->p == ' ' || *c->p == '\t'))
                c->p++;
            if (c->p < c->end && *c->p != ',' && *c->p != '\r' && *c->p != '\n')
                return import_fail(im, c->line, "text after a closing quote");
        } else {
            while (c->p < c->end && *c->p != ',' && *c->p != '\r' && *c->p != '\n')
                ok = ok && put_char(r, &used, *c->p++);
        }
        ok = ok && put_char(r, &used, '\0');
        if (!ok)
            return import_fail(im, r->line, "record longer than %d bytes", CSV_RECORD_MAX);
        if (c->p < c->end && *c->p == ',') {
            c->p++;
            continue;
        }
        end_line(c);
        return 1;
    }
}

static bool blank(const struct csv_record *r)
{
    if (r->n != 1)
        return false;
    for (const char *p = r->field[0]; *p; p++)
        if (*p != ' ' && *p != '\t')
            return false;
    return true;
}

static int next_nonblank(struct import *im, struct csv *c, struct csv_record *r)
{
    int rc;
    while ((rc = csv_next(im, c, r)) == 1 && blank(r))
        ;
    return rc;
}

static int read_file(struct import *im, char **out, size_t *len)
{
    FILE *f = fopen(im->path, "rb");
    if (!f)
        return import_fail(im, 0, "cannot open: %s", strerror(errno));
    char *buf = NULL;
    size_t n = 0, cap = 0;
    int rc = STORE_OK;
    for (;;) {
        if (n == cap) {
            cap = cap ? cap * 2 : 65536;
            if ((long)cap > CSV_BYTES_MAX + 1) {
                rc = import_fail(im, 0, "larger than %ld MiB", CSV_BYTES_MAX >> 20);
                break;
            }
            char *bigger = realloc(buf, cap);
            if (!bigger) {
                rc = import_fail(im, 0, "out of memory");
                break;
            }
            buf = bigger;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            if (ferror(f))
                rc = import_fail(im, 0, "cannot read: %s", strerror(errno));
            break;
        }
    }
    fclose(f);
    if (rc != STORE_OK) {
        free(buf);
        return rc;
    }
    *out = buf;
    *len = n;
    return STORE_OK;
}

static int by_plate(const void *a, const void *b)
{
    const struct row *x = *(const struct row *const *)a, *y = *(const struct row *const *)b;
    int c = strcmp(x->v.plate, y->v.plate);
    return c ? c : (x->line > y->line) - (x->line < y->line);
}

/* A plate twice in one file is a mistake in the file: report the first repetition. */
static int check_duplicates(struct import *im, struct row *rows, size_t n)
{
    if (n < 2)
        return STORE_OK;
    struct row **sorted = malloc(n * sizeof *sorted);
    if (!sorted)
        return import_fail(im, 0, "out of memory");
    for (size_t i = 0; i < n; i++)
        sorted[i] = &rows[i];
    qsort(sorted, n, sizeof *sorted, by_plate);
    const struct row *first = NULL, *again = NULL;
    for (size_t i = 1; i < n; i++)
        if (strcmp(sorted[i]->v.plate, sorted[i - 1]->v.plate) == 0 &&
            (!again || sorted[i]->line < again->line)) {
            again = sorted[i];
            size_t j = i - 1;
            while (j > 0 && strcmp(sorted[j - 1]->v.plate, again->v.plate) == 0)
                j--;
            first = sorted[j];
        }
    int rc = STORE_OK;
    if (again)
        rc = import_fail(im, again->line, "plate '%s' again (first on line %u)", again->v.plate,
                         first->line);
    free(sorted);
    return rc;
}

struct header {
    enum registry_field col[CSV_FIELDS_MAX];
    size_t n;
};

static int parse_header(struct import *im, const struct csv_record *r, struct header *h)
{
    bool seen[REGISTRY_FIELD_COUNT] = {false};
    h->n = r->n;
    for (size_t i = 0; i < r->n; i++) {
        char name[64];
        snprintf(name, sizeof name, "%s", r->field[i]);
        char *b = name, *e = name + strlen(name);
        while (*b == ' ' || *b == '\t')
            b++;
        while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
            *--e = '\0';
        int f = registry_field_parse(b);
        if (f < 0)
            return import_fail(im, r->line,
                               "unknown column '%s' (use plate, fuel, stage, gross_weight_kg, "
                               "class, vin, exemption)",
                               b);
        if (seen[f])
            return import_fail(im, r->line, "column '%s' appears twice", b);
        seen[f] = true;
        h->col[i] = (enum registry_field)f;
    }
    if (!seen[REGISTRY_FIELD_PLATE])
        return import_fail(im, r->line, "no 'plate' column in the header");
    return STORE_OK;
}

static int parse_rows(struct import *im, struct csv *c, const struct header *h, struct row **out,
                      size_t *n_out)
{
    struct csv_record *r = malloc(sizeof *r);
    struct row *rows = NULL;
    size_t n = 0, cap = 0;
    int rc = r ? STORE_OK : import_fail(im, 0, "out of memory");
    while (rc == STORE_OK && (rc = next_nonblank(im, c, r)) == 1) {
        rc = STORE_OK;
        if (r->n != h->n) {
            rc = import_fail(im, r->line, "%zu fields, but the header has %zu", r->n, h->n);
            break;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 256;
            struct row *bigger = realloc(rows, cap * sizeof *rows);
            if (!bigger) {
                rc = import_fail(im, 0, "out of memory");
                break;
            }
            rows = bigger;
        }
        struct row *w = &rows[n];
        memset(w, 0, sizeof *w);
        w->line = r->line;
        for (size_t i = 0; i < h->n && rc == STORE_OK; i++) {
            char why[256];
            if (registry_field_set(&w->v, h->col[i], r->field[i], why, sizeof why) != 0)
                rc = import_fail(im, r->line, "%s", why);
        }
        if (rc == STORE_OK)
            n++;
    }
    free(r);
    if (rc != STORE_OK) {
        free(rows);
        return rc;
    }
    *out = rows;
    *n_out = n;
    return STORE_OK;
}

/* Existing values stay for the columns the file does not have. */
static void merge(struct registry_vehicle *dst, const struct registry_vehicle *src,
                  const struct header *h)
{
    for (size_t i = 0; i < h->n; i++) {
        switch (h->col[i]) {
        case REGISTRY_FIELD_FUEL:
            dst->fuel = src->fuel;
            break;
        case REGISTRY_FIELD_STAGE:
            dst->emission_stage = src->emission_stage;
            break;
        case REGISTRY_FIELD_WEIGHT:
            dst->gross_weight_kg = src->gross_weight_kg;
            break;
        case REGISTRY_FIELD_CLASS:
            dst->vclass = src->vclass;
            break;
        case REGISTRY_FIELD_VIN:
            memcpy(dst->vin, src->vin, sizeof dst->vin);
            break;
        case REGISTRY_FIELD_EXEMPTION:
            dst->exemption = src->exemption;
            break;
        default:
            break;
        }
    }
}

static int write_rows(struct import *im, const struct row *rows, size_t n, const struct header *h,
                      struct registry_import_result *res)
{
    store *s = im->s;
    int rc = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        int code = store_fail_sqlite(s, rc, "registry import");
        snprintf(im->err, im->errlen, "%s", s->err);
        return code;
    }
    int64_t now = registry_now_ms();
    size_t inserted = 0, updated = 0;
    int code = STORE_OK;
    for (size_t i = 0; i < n && code == STORE_OK; i++) {
        struct registry_vehicle v;
        int found = registry_get(s, rows[i].v.plate, &v);
        if (found < 0) {
            code = found;
            break;
        }
        if (found) {
            merge(&v, &rows[i].v, h);
            updated++;
        } else {
            v = rows[i].v;
            inserted++;
        }
        v.updated_ms = now;
        snprintf(v.source, sizeof v.source, "csv");
        code = registry_put(s, &v);
    }
    if (code == STORE_OK) {
        rc = sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
        if (rc != SQLITE_OK)
            code = store_fail_sqlite(s, rc, "registry import: commit");
    }
    if (code != STORE_OK) {
        if (!sqlite3_get_autocommit(s->db))
            sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        snprintf(im->err, im->errlen, "%s: nothing imported: %s", im->path, s->err);
        return code;
    }
    if (res) {
        res->inserted = inserted;
        res->updated = updated;
    }
    return STORE_OK;
}

int registry_import_csv(store *s, const char *path, struct registry_import_result *res, char *err,
                        size_t errlen)
{
    if (res)
        memset(res, 0, sizeof *res);
    if (!s || !path) {
        snprintf(err, errlen, "registry import: no store or no file");
        return STORE_EINVAL;
    }
    struct import im = {.s = s, .path = path, .err = err, .errlen = errlen};
    if (store_require_write(s, "registry import") != STORE_OK) {
        snprintf(err, errlen, "%s", s->err);
        return STORE_EINVAL;
    }
    if (s->in_txn)
        return import_fail(&im, 0, "cannot import while a group commit is open");
    char *buf = NULL;
    size_t len = 0;
    int rc = read_file(&im, &buf, &len);
    if (rc != STORE_OK)
        return rc;
    const char *text = buf;
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) {
        text += 3;
        len -= 3;
    }
    size_t bad = utf8_invalid_at((const unsigned char *)text, len);
    if (bad < len) {
        const char *nl = memrchr(text, '\n', bad);
        size_t col = bad - (nl ? (size_t)(nl + 1 - text) : 0) + 1;
        rc = import_fail(&im, line_of(text, bad),
                         "not UTF-8 text (byte %zu of the line); save the file as UTF-8", col);
        free(buf);
        return rc;
    }
    struct csv c = {.p = text, .end = text + len, .line = 1};
    struct csv_record *hr = malloc(sizeof *hr);
    struct header h = {.n = 0};
    rc = hr ? next_nonblank(&im, &c, hr) : import_fail(&im, 0, "out of memory");
    if (rc == 0)
        rc = import_fail(&im, 0, "empty file: expected a header line naming the columns");
    else if (rc == 1)
        rc = parse_header(&im, hr, &h);
    free(hr);
    struct row *rows = NULL;
    size_t n = 0;
    if (rc == STORE_OK)
        rc = parse_rows(&im, &c, &h, &rows, &n);
    free(buf);
    if (rc == STORE_OK)
        rc = check_duplicates(&im, rows, n);
    if (rc == STORE_OK)
        rc = write_rows(&im, rows, n, &h, res);
    free(rows);
    return rc;
}
