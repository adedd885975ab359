/* SPDX-License-Identifier: MIT */
#include "pf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

void pf_buf_free(struct pf_buf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

static bool buf_reserve(struct pf_buf *b, size_t extra)
{
    if (b->failed)
        return false;
    if (b->len + extra + 1 <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1) {
        if (cap > SIZE_MAX / 2) {
            b->failed = true;
            return false;
        }
        cap *= 2;
    }
    char *p = realloc(b->p, cap);
    if (!p) {
        b->failed = true;
        return false;
    }
    b->p = p;
    b->cap = cap;
    return true;
}

void pf_buf_add(struct pf_buf *b, const void *data, size_t len)
{
    if (!buf_reserve(b, len))
        return;
    if (len)
        memcpy(b->p + b->len, data, len);
    b->len += len;
    b->p[b->len] = '\0';
}

void pf_buf_printf(struct pf_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char small[256];
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = true;
        return;
    }
    if ((size_t)n < sizeof small) {
        pf_buf_add(b, small, (size_t)n);
        return;
    }
    if (!buf_reserve(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void pf_buf_json_str(struct pf_buf *b, const char *s)
{
    pf_buf_add(b, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; p && *p; p++) {
        if (*p == '"' || *p == '\\')
            pf_buf_printf(b, "\\%c", *p);
        else if (*p < 0x20)
            pf_buf_printf(b, "\\u%04x", *p);
        else
            pf_buf_add(b, p, 1);
    }
    pf_buf_add(b, "\"", 1);
}

void pf_hex(const uint8_t *in, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * len] = '\0';
}

bool pf_gateway_id_valid(const char *id)
{
    size_t n = 0;
    for (; id[n]; n++) {
        char c = id[n];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_' || c == '.';
        if (!ok || n >= PF_GATEWAY_ID_MAX)
            return false;
    }
    return n > 0;
}

int64_t pf_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void pf_sleep_ms(unsigned ms, const atomic_bool *stop)
{
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    while (!atomic_load(stop)) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        int64_t elapsed =
            (int64_t)(now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
        if (ms && elapsed >= (int64_t)ms)
            return;
        int64_t step = ms ? (int64_t)ms - elapsed : 20;
        if (step > 20)
            step = 20;
        struct timespec ts = {0, (long)step * 1000000L};
        nanosleep(&ts, NULL);
    }
}

int pf_gunzip(const void *in, size_t len, size_t max_out, struct pf_buf *out)
{
    if (len > UINT32_MAX)
        return 1;
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, 15 + 16) != Z_OK) /* gzip wrapper only */
        return PF_ENOMEM;
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)len;
    int rc;
    uint8_t chunk[16384];
    do {
        z.next_out = chunk;
        z.avail_out = sizeof chunk;
        rc = inflate(&z, Z_NO_FLUSH); /* Z_BUF_ERROR: input ended inside the stream */
        if (rc != Z_OK && rc != Z_STREAM_END)
            break;
        size_t got = sizeof chunk - z.avail_out;
        if (out->len + got > max_out) {
            inflateEnd(&z);
            return 1;
        }
        pf_buf_add(out, chunk, got);
    } while (rc != Z_STREAM_END);
    bool trailing = z.avail_in > 0;
    inflateEnd(&z);
    if (out->failed)
        return PF_ENOMEM;
    return rc == Z_STREAM_END && !trailing ? 0 : PF_EINVAL;
}

int pf_gzip(const void *in, size_t len, struct pf_buf *out)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return PF_ENOMEM;
    uLong bound = deflateBound(&z, (uLong)len);
    if (!buf_reserve(out, bound)) {
        deflateEnd(&z);
        return PF_ENOMEM;
    }
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)len;
    z.next_out = (Bytef *)out->p + out->len;
    z.avail_out = (uInt)bound;
    int rc = deflate(&z, Z_FINISH);
    out->len += bound - z.avail_out;
    deflateEnd(&z);
    return rc == Z_STREAM_END ? 0 : PF_ERR;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decode [s, s + len) into a new string; NULL on allocation failure. */
static char *url_decode(const char *s, size_t len)
{
    char *out = malloc(len + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '+') {
            out[o++] = ' ';
        } else if (s[i] == '%' && i + 2 < len && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
            out[o++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 2;
        } else {
            out[o++] = s[i];
        }
    }
    out[o] = '\0';
    return out;
}

void pf_form_add(struct pf_form *f, const char *key, const char *value)
{
    if (f->n >= sizeof f->kv / sizeof f->kv[0]) {
        f->overflow = true;
        return;
    }
    char *k = strdup(key);
    char *v = strdup(value ? value : "");
    if (!k || !v) {
        free(k);
        free(v);
        f->overflow = true;
        return;
    }
    f->kv[f->n].key = k;
    f->kv[f->n].value = v;
    f->n++;
}

void pf_form_parse(struct pf_form *f, const char *text, size_t len)
{
    size_t i = 0;
    while (i < len) {
        size_t end = i;
        while (end < len && text[end] != '&' && text[end] != '\n' && text[end] != '\r')
            end++;
        if (end > i) {
            size_t eq = i;
            while (eq < end && text[eq] != '=')
                eq++;
            char *k = url_decode(text + i, eq - i);
            char *v = eq < end ? url_decode(text + eq + 1, end - eq - 1) : strdup("");
            if (k && v && k[0])
                pf_form_add(f, k, v);
            else if (!k || !v)
                f->overflow = true;
            free(k);
            free(v);
        }
        i = end + 1;
    }
}

const char *pf_form_get(const struct pf_form *f, const char *key)
{
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->kv[i].key, key) == 0)
            return f->kv[i].value;
    return NULL;
}

void pf_form_free(struct pf_form *f)
{
    for (size_t i = 0; i < f->n; i++) {
        free(f->kv[i].key);
        free(f->kv[i].value);
    }
    memset(f, 0, sizeof *f);
}
