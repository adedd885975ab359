/* SPDX-License-Identifier: MIT */
/*
 * HTTP: libmicrohttpd with a thread per connection, request bodies bounded
 * before and after gunzip, routing, bearer token and client identity checks,
 * gzip answers when the client accepts them, and the faults that change how
 * (or whether) an answer is sent.
 */
#include "pf.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netdb.h>
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* Per-request state between libmicrohttpd's calls; owned by the connection,
 * freed in on_completed. */
struct request_state {
    struct pf_buf body;
    bool too_large;
    bool answered; /* an answer was queued before the body (413 by Content-Length) */
};

const char *pf_header(const struct pf_request *rq, const char *name)
{
    return MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, name);
}

const char *pf_query_arg(const struct pf_request *rq, const char *key)
{
    return MHD_lookup_connection_value(rq->conn, MHD_GET_ARGUMENT_KIND, key);
}

void pf_answer_text(struct pf_answer *a, unsigned status, const char *fmt, ...)
{
    a->status = status;
    a->content_type = "text/plain; charset=utf-8";
    pf_buf_free(&a->body);
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    pf_buf_printf(&a->body, "%s\n", line);
}

void pf_answer_proto(struct pf_answer *a, const ProtobufCMessage *msg)
{
    a->status = MHD_HTTP_OK;
    a->content_type = "application/x-protobuf";
    pf_buf_free(&a->body);
    size_t len = protobuf_c_message_get_packed_size(msg);
    uint8_t *p = malloc(len ? len : 1);
    if (!p) {
        a->body.failed = true;
        return;
    }
    protobuf_c_message_pack(msg, p);
    pf_buf_add(&a->body, p, len);
    free(p);
}

void pf_answer_error(struct pf_answer *a, unsigned status, const char *code, const char *fmt, ...)
{
    char message[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    Rsgw__Platform__V1__Error e = RSGW__PLATFORM__V1__ERROR__INIT;
    e.code = (char *)code;
    e.message = message;
    pf_answer_proto(a, &e.base);
    a->status = status;
}

/* gzip acceptable per Accept-Encoding (a "gzip" or "*" token without q=0). */
static bool accepts_gzip(const char *ae)
{
    if (!ae)
        return false;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", ae);
    for (char *tok = buf, *save = NULL; (tok = strtok_r(tok, ",", &save)); tok = NULL) {
        while (*tok == ' ' || *tok == '\t')
            tok++;
        size_t n = strcspn(tok, "; \t");
        bool named = (n == 4 && strncasecmp(tok, "gzip", 4) == 0) || (n == 1 && tok[0] == '*');
        if (!named)
            continue;
        const char *q = strstr(tok + n, "q=");
        if (!q || strtod(q + 2, NULL) > 0.0)
            return true;
    }
    return false;
}

static bool add_header(struct MHD_Response *r, const char *name, const char *value)
{
    return MHD_add_response_header(r, name, value) == MHD_YES;
}

/* Send an answer; MHD_NO (close the connection) for a drop or a failure. */
static enum MHD_Result send_answer(struct pf_server *srv, struct MHD_Connection *conn,
                                   struct pf_answer *a)
{
    if (a->drop)
        return MHD_NO;
    if (a->body.failed)
        pf_answer_text(a, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
    if (a->status < 100)
        pf_answer_error(a, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", "no answer was made");
    if (a->delay_ms)
        pf_sleep_ms(a->delay_ms, &srv->stopping);
    struct pf_buf gz = {0};
    const char *body = a->body.p ? a->body.p : "";
    size_t len = a->body.len;
    bool gzipped = false;
    if (len >= 64 &&
        accepts_gzip(
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT_ENCODING)) &&
        pf_gzip(body, len, &gz) == 0 && !gz.failed) {
        body = gz.p;
        len = gz.len;
        gzipped = true;
    }
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    pf_buf_free(&gz);
    if (!r)
        return MHD_NO;
    bool ok = true;
    if (a->status != MHD_HTTP_NOT_MODIFIED && a->content_type)
        ok = ok && add_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, a->content_type);
    if (gzipped)
        ok = ok && add_header(r, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
    ok = ok && add_header(r, MHD_HTTP_HEADER_VARY, "Accept-Encoding");
    if (a->etag[0]) {
        char etag[96];
        snprintf(etag, sizeof etag, "\"%s\"", a->etag);
        ok = ok && add_header(r, MHD_HTTP_HEADER_ETAG, etag);
    }
    if (a->retry_after_s) {
        char s[24];
        snprintf(s, sizeof s, "%u", a->retry_after_s);
        ok = ok && add_header(r, MHD_HTTP_HEADER_RETRY_AFTER, s);
    }
    if (a->www_authenticate)
        ok = ok && add_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"rsgw\"");
    enum MHD_Result rc = ok ? MHD_queue_response(conn, a->status, r) : MHD_NO;
    MHD_destroy_response(r);
    return rc;
}

static bool token_ok(const struct pf_server *srv, const struct pf_request *rq)
{
    const char *want = srv->cfg->token;
    if (!want)
        return true;
    const char *auth = pf_header(rq, MHD_HTTP_HEADER_AUTHORIZATION);
    if (!auth || strncasecmp(auth, "Bearer ", 7) != 0)
        return false;
    const char *got = auth + 7;
    size_t n = strlen(want);
    return strlen(got) == n && CRYPTO_memcmp(got, want, n) == 0;
}

/* The verified client identity (CN, or any of a comma-separated SAN list in
 * the same header) must name the gateway of the path. */
static bool identity_names(const char *identity, const char *gateway_id)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", identity);
    for (char *tok = buf, *save = NULL; (tok = strtok_r(tok, ",", &save)); tok = NULL) {
        while (*tok == ' ')
            tok++;
        size_t n = strlen(tok);
        while (n && tok[n - 1] == ' ')
            tok[--n] = '\0';
        if (strcmp(tok, gateway_id) == 0)
            return true;
    }
    return false;
}

/* Split "/v1/gateways/{id}/{rest}"; false when the path has another shape. */
static bool gateway_path(const char *url, char *id, size_t idlen, const char **rest)
{
    static const char prefix[] = "/v1/gateways/";
    if (strncmp(url, prefix, sizeof prefix - 1) != 0)
        return false;
    const char *p = url + sizeof prefix - 1;
    const char *slash = strchr(p, '/');
    if (!slash)
        return false;
    if ((size_t)(slash - p) >= idlen) {
        id[0] = '\0'; /* too long: an invalid id, answered 400 */
    } else {
        memcpy(id, p, (size_t)(slash - p));
        id[slash - p] = '\0';
    }
    *rest = slash + 1;
    return true;
}

static void answer_method(struct pf_answer *a, const char *allowed)
{
    pf_answer_error(a, MHD_HTTP_METHOD_NOT_ALLOWED, "method_not_allowed", "use %s", allowed);
}

/* Faults that decide before the endpoint runs; true when the answer is made. */
static bool fault_before(struct pf_server *srv, const struct pf_fault *f, struct pf_answer *a)
{
    switch (f->mode) {
    case PF_FAULT_STATUS:
        pf_answer_error(a, f->status,
                        f->status == 429   ? "rate_limited"
                        : f->status == 503 ? "unavailable"
                                           : "injected",
                        "fault injected by the reference platform (status %u)", f->status);
        a->retry_after_s = f->retry_after_s;
        return true;
    case PF_FAULT_HANG:
        pf_sleep_ms(f->ms, &srv->stopping);
        a->drop = true;
        return true;
    case PF_FAULT_DROP_BEFORE_STORE:
        a->drop = true;
        return true;
    default:
        return false;
    }
}

/* Undo Content-Encoding into plain (rq->body then points into it); false
 * when the answer is made (415, 400, 413). */
static bool body_decode(struct pf_request *rq, struct pf_buf *plain, struct pf_answer *a)
{
    const char *ce = pf_header(rq, MHD_HTTP_HEADER_CONTENT_ENCODING);
    if (!ce || !ce[0] || strcasecmp(ce, "identity") == 0)
        return true;
    if (strcasecmp(ce, "gzip") != 0) {
        pf_answer_error(a, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "unsupported_encoding",
                        "Content-Encoding %.64s is not supported (use gzip or none)", ce);
        return false;
    }
    int rc = pf_gunzip(rq->body, rq->body_len, PF_MAX_BODY, plain);
    if (rc == 1) {
        pf_answer_error(a, MHD_HTTP_CONTENT_TOO_LARGE, "body_too_large",
                        "the body is over %u bytes once decompressed", PF_MAX_BODY);
        return false;
    }
    if (rc != 0) {
        pf_answer_error(a, rc == PF_ENOMEM ? 500 : MHD_HTTP_BAD_REQUEST,
                        rc == PF_ENOMEM ? "internal" : "malformed",
                        "the body is not valid gzip (Content-Encoding: gzip)");
        return false;
    }
    rq->body = (const uint8_t *)(plain->p ? plain->p : "");
    rq->body_len = plain->len;
    return true;
}

static unsigned endpoint_index(enum pf_endpoint ep)
{
    return ep == PF_EP_UPLOAD ? 0 : ep == PF_EP_FINDINGS ? 1 : ep == PF_EP_POLICY ? 2 : 3;
}

/* Faults, then the endpoint, for an authenticated /v1 request. */
static void serve_v1(struct pf_server *srv, const struct pf_request *rq, enum pf_endpoint ep,
                     const char *gw, struct pf_answer *a)
{
    atomic_fetch_add(&srv->requests[endpoint_index(ep)], 1);
    struct pf_fault f;
    bool faulted = pf_faults_take(srv->faults, ep, &f);
    if (faulted)
        fprintf(stderr, "rsgw-platform: fault %s on %s %s\n", pf_fault_mode_name(f.mode),
                rq->method, rq->url);
    if (faulted && fault_before(srv, &f, a))
        return;
    switch (ep) {
    case PF_EP_UPLOAD:
        pf_api_upload(srv, rq, gw, faulted && f.mode == PF_FAULT_PARTIAL ? f.k : SIZE_MAX, a);
        break;
    case PF_EP_POLICY:
        pf_api_policy(srv, rq, gw, a);
        break;
    case PF_EP_FINDINGS:
        pf_api_findings(srv, rq, a);
        break;
    default:
        pf_api_registry(srv, rq, a);
        break;
    }
    if (faulted && f.mode == PF_FAULT_SLOW)
        a->delay_ms = f.ms;
    if (faulted && f.mode == PF_FAULT_DROP_AFTER_STORE)
        a->drop = true;
}

static void route_v1(struct pf_server *srv, struct pf_request *rq, struct pf_answer *a)
{
    char gw[PF_GATEWAY_ID_MAX + 8];
    const char *rest = NULL;
    enum pf_endpoint ep;
    bool is_gw = gateway_path(rq->url, gw, sizeof gw, &rest);
    if (is_gw && strcmp(rest, "records") == 0)
        ep = PF_EP_UPLOAD;
    else if (is_gw && strcmp(rest, "policy") == 0)
        ep = PF_EP_POLICY;
    else if (strcmp(rq->url, "/v1/findings") == 0)
        ep = PF_EP_FINDINGS;
    else if (strcmp(rq->url, "/v1/registry") == 0)
        ep = PF_EP_REGISTRY;
    else
        return pf_answer_error(a, MHD_HTTP_NOT_FOUND, "not_found", "no endpoint %s", rq->url);
    const char *want_method = ep == PF_EP_UPLOAD ? "POST" : "GET";
    if (strcmp(rq->method, want_method) != 0)
        return answer_method(a, want_method);

    if (!token_ok(srv, rq)) {
        a->www_authenticate = true;
        return pf_answer_error(a, MHD_HTTP_UNAUTHORIZED, "unauthenticated",
                               "a valid Authorization: Bearer token is required");
    }
    const char *identity = pf_header(rq, srv->cfg->cn_header);
    if (srv->cfg->require_client_cn && (!identity || !identity[0]))
        return pf_answer_error(a, MHD_HTTP_UNAUTHORIZED, "client_certificate_required",
                               "no verified client certificate (header %s)", srv->cfg->cn_header);
    if (is_gw && !pf_gateway_id_valid(gw))
        return pf_answer_error(a, MHD_HTTP_BAD_REQUEST, "bad_gateway_id",
                               "a gateway id is 1-64 of A-Z a-z 0-9 . _ -");
    if (is_gw && srv->cfg->require_client_cn && !identity_names(identity, gw))
        return pf_answer_error(a, MHD_HTTP_FORBIDDEN, "gateway_mismatch",
                               "the client certificate does not name gateway %s", gw);
    if (is_gw) {
        int known = pf_db_gateway_known(srv->db, gw, srv->cfg->strict_gateways);
        if (known < 0)
            return pf_answer_error(a, MHD_HTTP_INTERNAL_SERVER_ERROR, "storage",
                                   "storage failure (see the platform's log)");
        if (!known)
            return pf_answer_error(a, MHD_HTTP_NOT_FOUND, "unknown_gateway",
                                   "gateway %s is not registered with this platform", gw);
    }
    struct pf_buf plain = {0};
    if (body_decode(rq, &plain, a))
        serve_v1(srv, rq, ep, is_gw ? gw : NULL, a);
    pf_buf_free(&plain);
}

static void route(struct pf_server *srv, struct pf_request *rq, struct pf_answer *a)
{
    if (strcmp(rq->url, "/healthz") == 0)
        return pf_answer_text(a, MHD_HTTP_OK, "ok");
    if (strncmp(rq->url, "/v1/", 4) == 0)
        return route_v1(srv, rq, a);
    if (strncmp(rq->url, "/admin/", 7) != 0)
        return pf_answer_error(a, MHD_HTTP_NOT_FOUND, "not_found", "no endpoint %s", rq->url);
    if (!token_ok(srv, rq)) {
        a->www_authenticate = true;
        return pf_answer_text(a, MHD_HTTP_UNAUTHORIZED,
                              "a valid Authorization: Bearer token is required");
    }
    struct pf_buf plain = {0};
    if (body_decode(rq, &plain, a))
        pf_admin(srv, rq, a);
    pf_buf_free(&plain);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **req_cls)
{
    (void)version;
    struct pf_server *srv = cls;
    struct request_state *rs = *req_cls;
    if (!rs) {
        if (!(rs = calloc(1, sizeof *rs)))
            return MHD_NO;
        *req_cls = rs;
        /* Refuse an announced oversized body before reading it. */
        const char *cl =
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl && strtoull(cl, NULL, 10) > PF_MAX_BODY) {
            struct pf_answer a = {0};
            pf_answer_error(&a, MHD_HTTP_CONTENT_TOO_LARGE, "body_too_large",
                            "the body is over %u bytes", PF_MAX_BODY);
            rs->answered = true;
            enum MHD_Result rc = send_answer(srv, conn, &a);
            pf_buf_free(&a.body);
            return rc;
        }
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (!rs->answered && !rs->too_large) {
            if (rs->body.len + *upload_data_size > PF_MAX_BODY)
                rs->too_large = true;
            else
                pf_buf_add(&rs->body, upload_data, *upload_data_size);
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (rs->answered)
        return MHD_YES;
    struct pf_answer a = {0};
    if (rs->too_large) {
        pf_answer_error(&a, MHD_HTTP_CONTENT_TOO_LARGE, "body_too_large",
                        "the body is over %u bytes", PF_MAX_BODY);
    } else if (rs->body.failed) {
        pf_answer_error(&a, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", "out of memory");
    } else {
        struct pf_request rq = {.conn = conn, .url = url, .method = method};
        rq.body = (const uint8_t *)(rs->body.p ? rs->body.p : "");
        rq.body_len = rs->body.len;
        route(srv, &rq, &a);
    }
    enum MHD_Result rc = send_answer(srv, conn, &a);
    pf_buf_free(&a.body);
    return rc;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    struct request_state *rs = *req_cls;
    if (rs) {
        pf_buf_free(&rs->body);
        free(rs);
        *req_cls = NULL;
    }
}

/* "host:port" or "[v6]:port" into a socket address. */
static int parse_listen(const char *listen, struct sockaddr_storage *ss, bool *v6, char *err,
                        size_t errlen)
{
    char host[128];
    const char *colon = strrchr(listen, ':');
    if (!colon || colon == listen) {
        snprintf(err, errlen, "--listen %s: expected HOST:PORT", listen);
        return -1;
    }
    size_t hl = (size_t)(colon - listen);
    if (listen[0] == '[' && hl >= 2 && listen[hl - 1] == ']') {
        listen++;
        hl -= 2;
    }
    if (hl >= sizeof host) {
        snprintf(err, errlen, "--listen %s: host too long", listen);
        return -1;
    }
    memcpy(host, listen, hl);
    host[hl] = '\0';
    char *end;
    unsigned long port = strtoul(colon + 1, &end, 10);
    if (!colon[1] || *end || port > 65535) {
        snprintf(err, errlen, "--listen: bad port \"%s\"", colon + 1);
        return -1;
    }
    struct addrinfo hints = {.ai_flags = AI_NUMERICHOST, .ai_socktype = SOCK_STREAM};
    struct addrinfo *ai = NULL;
    int rc = getaddrinfo(host, NULL, &hints, &ai);
    if (rc != 0 || !ai) {
        snprintf(err, errlen, "--listen: \"%s\" is not a numeric address: %s", host,
                 gai_strerror(rc));
        return -1;
    }
    memset(ss, 0, sizeof *ss);
    memcpy(ss, ai->ai_addr, ai->ai_addrlen);
    *v6 = ai->ai_family == AF_INET6;
    freeaddrinfo(ai);
    if (*v6)
        ((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
    else
        ((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
    return 0;
}

__attribute__((format(printf, 2, 0))) static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char line[512];
    vsnprintf(line, sizeof line, fmt, ap);
    size_t n = strlen(line);
    while (n && line[n - 1] == '\n')
        line[--n] = '\0';
    fprintf(stderr, "rsgw-platform: libmicrohttpd: %s\n", line);
}

int pf_server_start(struct pf_server *srv, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    bool v6 = false;
    if (parse_listen(srv->cfg->listen, &ss, &v6, err, errlen) != 0)
        return -1;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
                     MHD_USE_POLL | MHD_USE_ERROR_LOG;
    if (v6)
        flags |= MHD_USE_IPv6;
    srv->mhd = MHD_start_daemon(flags, 0, NULL, NULL, on_request, srv, MHD_OPTION_EXTERNAL_LOGGER,
                                mhd_log, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
                                MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
                                MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)120,
                                MHD_OPTION_CONNECTION_LIMIT, (unsigned int)512, MHD_OPTION_END);
    if (!srv->mhd) {
        snprintf(err, errlen, "--listen %s: cannot listen (address in use or not local?)",
                 srv->cfg->listen);
        return -1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(srv->mhd, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = info ? info->port : 0;
    return 0;
}

void pf_server_stop(struct pf_server *srv)
{
    atomic_store(&srv->stopping, true);
    if (srv->mhd)
        MHD_stop_daemon(srv->mhd);
    srv->mhd = NULL;
}
