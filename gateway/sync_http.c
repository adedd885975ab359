/* SPDX-License-Identifier: MIT */
/* Sync requests: libcurl easy handles set up for an upstream, their outcomes
 * in words a person can act on, and gzip bodies. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "rsgw/platform/v1/platform.pb-c.h"
#include "sync_internal.h"

#ifndef RSGW_VERSION
#define RSGW_VERSION "dev"
#endif

/* Largest answer accepted (a registry or findings page). */
#define RESPONSE_MAX (32u << 20)

static const char *kind_name(enum sync_kind k)
{
    switch (k) {
    case SYNC_UPLOAD:
        return "upload";
    case SYNC_FINDINGS:
        return "findings";
    case SYNC_POLICY:
        return "policy";
    case SYNC_REGISTRY:
        return "registry";
    }
    return "request";
}

int sync_xfer_init(struct sync_xfer *x, struct sync_upstream *u, enum sync_kind kind)
{
    memset(x, 0, sizeof *x);
    x->up = u;
    x->kind = kind;
    x->easy = curl_easy_init();
    return x->easy ? 0 : -1;
}

void sync_xfer_end(sync_engine *e, struct sync_xfer *x)
{
    if (x->busy && x->easy)
        curl_multi_remove_handle(e->multi, x->easy);
    x->busy = false;
    curl_slist_free_all(x->headers);
    x->headers = NULL;
    free(x->body);
    x->body = NULL;
    x->body_len = 0;
    free(x->resp.data);
    memset(&x->resp, 0, sizeof x->resp);
}

void sync_xfer_cleanup(sync_engine *e, struct sync_xfer *x)
{
    sync_xfer_end(e, x);
    if (x->easy)
        curl_easy_cleanup(x->easy);
    x->easy = NULL;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
    struct sync_xfer *x = ud;
    struct sync_buf *b = &x->resp;
    size_t n = size * nmemb;
    if (n > RESPONSE_MAX - b->len)
        return 0; /* CURLE_WRITE_ERROR: a platform does not send this much */
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n)
            cap *= 2;
        uint8_t *p = realloc(b->data, cap);
        if (!p)
            return 0;
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->len, data, n);
    b->len += n;
    return n;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *ud)
{
    struct sync_xfer *x = ud;
    size_t n = size * nmemb;
    if (n >= 5 && strncmp(data, "HTTP/", 5) == 0) {
        x->etag[0] = '\0'; /* a new answer (after 100 Continue, say) */
        x->resp.len = 0;
    } else if (n > 5 && strncasecmp(data, "ETag:", 5) == 0) {
        const char *v = data + 5;
        size_t len = n - 5;
        while (len && (*v == ' ' || *v == '\t')) {
            v++;
            len--;
        }
        while (len && isspace((unsigned char)v[len - 1]))
            len--;
        if (len < sizeof x->etag) {
            memcpy(x->etag, v, len);
            x->etag[len] = '\0';
        }
    }
    return n;
}

static bool is_plain_http(const char *url)
{
    return strncasecmp(url, "http://", 7) == 0;
}

int sync_xfer_start(struct sync_xfer *x, const char *path, uint8_t *body, size_t body_len,
                    const char *if_none_match)
{
    struct sync_upstream *u = x->up;
    sync_engine *e = u->e;
    const struct config_upstream *c = &u->cfg;
    CURL *h = x->easy;

    sync_xfer_end(e, x);
    x->body = body;
    x->body_len = body_len;
    x->etag[0] = '\0';
    x->errbuf[0] = '\0';
    curl_easy_reset(h); /* keeps the connection, DNS and TLS session caches */

    char url[CONFIG_PATH_MAX + 512];
    snprintf(url, sizeof url, "%s%s", c->url, path);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PRIVATE, (char *)x);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, x->errbuf);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "rsgw/" RSGW_VERSION);
    /* Plain http only where the configuration said so for this upstream; never redirects. */
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR,
                     is_plain_http(c->url) && c->allow_plain_http ? "http,https" : "https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);

    /* A platform that accepts the connection and then hangs is abandoned:
     * whole-request timeout, and a stall of a few seconds with nothing moving. */
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)c->timeout_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)c->connect_timeout_ms);
    long stall_s = c->timeout_ms / 2000;
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, stall_s < 1 ? 1L : stall_s > 60 ? 60L : stall_s);

    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    if (c->ca_file[0])
        curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file);
    if (c->cert_file[0]) {
        curl_easy_setopt(h, CURLOPT_SSLCERT, c->cert_file);
        curl_easy_setopt(h, CURLOPT_SSLKEY, c->key_file);
    }

    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, ""); /* gzip answers, decoded by curl */
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, x);

    struct curl_slist *hd = NULL;
    char line[700];
    hd = curl_slist_append(hd, "Accept: application/x-protobuf");
    if (c->token[0]) {
        snprintf(line, sizeof line, "Authorization: Bearer %s", c->token);
        hd = curl_slist_append(hd, line);
    }
    if (if_none_match && *if_none_match) {
        snprintf(line, sizeof line, "If-None-Match: %s", if_none_match);
        hd = curl_slist_append(hd, line);
    }
    if (body) {
        hd = curl_slist_append(hd, "Content-Type: application/x-protobuf");
        hd = curl_slist_append(hd, "Content-Encoding: gzip");
        hd = curl_slist_append(hd, "Expect:"); /* no 100-continue round trip */
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, (char *)body);
    }
    x->headers = hd;
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);

    x->started_mono = sync_mono_ms();
    CURLMcode mc = curl_multi_add_handle(e->multi, h);
    if (mc != CURLM_OK || !hd) {
        sync_note_error(u, x->kind == SYNC_UPLOAD ? SLOT_UPLOAD : SLOT_PULL,
                        "%s: cannot start a request: %s", kind_name(x->kind),
                        hd ? curl_multi_strerror(mc) : "out of memory");
        if (mc == CURLM_OK)
            curl_multi_remove_handle(e->multi, h);
        sync_xfer_end(e, x); /* frees body too */
        return -1;
    }
    x->busy = true;
    return 0;
}

/* snprintf for messages that may be cut short on purpose (libcurl's detail is long). */
static void say(char *out, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void say(char *out, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out, len, fmt, ap);
    va_end(ap);
}

/* What a transport failure means, in the terms of the configuration. */
static void describe_curl(const struct sync_xfer *x, CURLcode cc, char *out, size_t len)
{
    const struct config_upstream *c = &x->up->cfg;
    const char *detail = x->errbuf[0] ? x->errbuf : curl_easy_strerror(cc);
    switch (cc) {
    case CURLE_PEER_FAILED_VERIFICATION:
        say(out, len, "TLS: certificate verify failed (wrong CA%s%s? wrong host name?): %s",
            c->ca_file[0] ? " in " : "", c->ca_file, detail);
        break;
    case CURLE_SSL_CACERT_BADFILE:
        say(out, len, "TLS: cannot use ca_file %s: %s", c->ca_file[0] ? c->ca_file : "(system)",
            detail);
        break;
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
        say(out, len, "TLS: client certificate problem (cert_file %s, key_file %s): %s",
            c->cert_file[0] ? c->cert_file : "-", c->key_file[0] ? c->key_file : "-", detail);
        break;
    case CURLE_SSL_CONNECT_ERROR:
        say(out, len,
            "TLS: handshake failed (not a TLS server, or it refused our certificate?): %s", detail);
        break;
    case CURLE_UNSUPPORTED_PROTOCOL:
        say(out, len, "%s: protocol not allowed (plain http needs allow_plain_http = yes)", detail);
        break;
    case CURLE_COULDNT_RESOLVE_HOST:
        say(out, len, "cannot resolve the host of %s: %s", c->url, detail);
        break;
    case CURLE_COULDNT_CONNECT:
        say(out, len, "cannot connect to %s: %s", c->url, detail);
        break;
    case CURLE_OPERATION_TIMEDOUT:
        say(out, len, "no answer in time (timeout_ms %d, connect_timeout_ms %d): %s", c->timeout_ms,
            c->connect_timeout_ms, detail);
        break;
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        say(out, len, "connection broken: %s", detail);
        break;
    case CURLE_WRITE_ERROR:
        say(out, len, "answer too large (over %u bytes) or out of memory", RESPONSE_MAX);
        break;
    default:
        say(out, len, "%s", detail);
        break;
    }
}

/* The platform's Error body (protobuf), or the start of a text body. */
static void describe_body(const struct sync_xfer *x, char *out, size_t len)
{
    out[0] = '\0';
    if (!x->resp.len)
        return;
    char *ctype = NULL;
    curl_easy_getinfo(x->easy, CURLINFO_CONTENT_TYPE, &ctype);
    if (ctype && strncasecmp(ctype, "application/x-protobuf", 22) == 0) {
        Rsgw__Platform__V1__Error *er =
            rsgw__platform__v1__error__unpack(NULL, x->resp.len, x->resp.data);
        if (er) {
            say(out, len, ": %s%s%s", er->code ? er->code : "", er->code && er->message ? ": " : "",
                er->message ? er->message : "");
            rsgw__platform__v1__error__free_unpacked(er, NULL);
            return;
        }
    }
    size_t o = 0;
    if (len > 3) {
        out[o++] = ':';
        out[o++] = ' ';
    }
    /* A proxy's HTML error page says what it means in its title, e.g. nginx's
     * "400 No required SSL certificate was sent". */
    size_t from = 0, to = x->resp.len;
    const char *data = (const char *)x->resp.data;
    const char *title = data ? memmem(data, x->resp.len, "<title>", 7) : NULL;
    if (title) {
        from = (size_t)(title - data) + 7;
        const char *end = memmem(data + from, x->resp.len - from, "</title>", 8);
        if (end)
            to = (size_t)(end - data);
    }
    for (size_t i = from; i < to && o + 1 < len && i - from < 160; i++) {
        unsigned char ch = x->resp.data[i];
        if (ch == '\n' || ch == '\r')
            break;
        out[o++] = isprint(ch) || ch >= 0x80 ? (char)ch : '?';
    }
    out[o] = '\0';
    if (o <= 2)
        out[0] = '\0';
}

void sync_xfer_result(struct sync_xfer *x, CURLcode cc, struct sync_result *out)
{
    memset(out, 0, sizeof *out);
    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &out->http_status);
    const char *what = kind_name(x->kind);
    if (cc != CURLE_OK) {
        char why[256];
        describe_curl(x, cc, why, sizeof why);
        say(out->msg, sizeof out->msg, "%s: %s", what, why);
        out->http_status = 0;
        return;
    }
    long st = out->http_status;
    if ((st >= 200 && st < 300) || st == 304) {
        out->ok = true;
        return;
    }
    char body[200];
    describe_body(x, body, sizeof body);
    if (st == 429 || st == 503) {
        curl_off_t ra = 0;
        if (curl_easy_getinfo(x->easy, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK && ra > 0)
            out->retry_after_ms = (int64_t)ra * 1000;
    }
    const char *hint = st == 401 || st == 403 ? " (token or client certificate refused)"
                       : st == 404 ? " (wrong url, or the platform does not know this gateway)"
                       : st == 429 || st == 503 ? " (platform busy)"
                                                : "";
    say(out->msg, sizeof out->msg, "%s: HTTP %ld%s%s", what, st, hint, body);
}

int sync_gzip(const uint8_t *data, size_t len, uint8_t **out, size_t *out_len)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
        Z_OK)
        return -1;
    size_t cap = deflateBound(&zs, (uLong)len) + 64;
    uint8_t *buf = malloc(cap);
    if (!buf) {
        deflateEnd(&zs);
        return -1;
    }
    zs.next_in = (Bytef *)data;
    zs.avail_in = (uInt)len;
    zs.next_out = buf;
    zs.avail_out = (uInt)cap;
    int rc = deflate(&zs, Z_FINISH);
    size_t n = cap - zs.avail_out;
    deflateEnd(&zs);
    if (rc != Z_STREAM_END) {
        free(buf);
        return -1;
    }
    *out = buf;
    *out_len = n;
    return 0;
}
