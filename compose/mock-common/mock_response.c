/* mock-common: status texts, the request log, responses (whole and streamed) and the request
 * accessors. The connections they write to are mock_server.c's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>

#include "mock_internal.h"

/* ---- status and log ----------------------------------------------------------------------- */
const char *mock_status_text(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 409:
        return "Conflict";
    case 413:
        return "Payload Too Large";
    case 422:
        return "Unprocessable Entity";
    case 429:
        return "Too Many Requests";
    case 500:
        return "Internal Server Error";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    default:
        return status < 400 ? "OK" : "Error";
    }
}

static void log_request(mock_server_t *srv, mock_request_t *req)
{
    if (srv->cfg.quiet)
        return;
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    double ms = (double)(uv_hrtime() - req->start_ns) / 1e6;
    printf("%04d-%02d-%02dT%02d:%02d:%02d.%03dZ %s %s \"%s %s%s%s\" %d %zu %.3fms%s%s%s%s\n",
           tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
           (int)(tv.tv_usec / 1000), srv->name, req->conn->peer, req->method, req->path,
           req->query[0] ? "?" : "", req->query, req->status, req->bytes_out, ms,
           req->matched[0] ? " rule=" : "", req->matched, req->fault.desc[0] ? " fault=" : "",
           req->fault.desc);
}

/* Called once per request when its answer is complete (or abandoned). */
void mock_request_finish(mock_conn_t *c, mock_request_t *req, const char *body, size_t len)
{
    mock_server_t *srv = c->srv;
    if (!req->admin && req->journaled)
        mock_journal_add(srv, req, body, len);
    log_request(srv, req);
}

/* ---- responses ------------------------------------------------------------------------------- */
static void add_head(mock_request_t *req, mock_buf_t *b, int status, const char *content_type)
{
    mock_conn_t *c = req->conn;
    /* RFC 9110: a server answers with its own version; HTTP/1.0 clients get no chunking */
    mock_buf_addf(b, "HTTP/1.1 %d %s\r\nServer: %s\r\n", status, mock_status_text(status),
                  c->srv->name);
    if (content_type)
        mock_buf_addf(b, "Content-Type: %s\r\n", content_type);
    if (req->extra_headers.len)
        mock_buf_add(b, req->extra_headers.data, req->extra_headers.len);
}

void mock_response_header(mock_request_t *req, const char *name, const char *value)
{
    mock_buf_addf(&req->extra_headers, "%s: %s\r\n", name, value);
}

void mock_request_set_matched(mock_request_t *req, const char *rule)
{
    snprintf(req->matched, sizeof(req->matched), "%s", rule ? rule : "");
}

void mock_respond(mock_request_t *req, int status, const char *content_type, const char *body,
                  size_t len)
{
    mock_conn_t *c = req->conn;
    if (req->responded || req->streaming)
        return;
    req->responded = true;
    req->status = status;
    if (!content_type)
        content_type = "application/json";
    size_t send_len = len;
    if (req->fault.type == MOCK_FAULT_MALFORMED)
        send_len = len / 2; /* a truncated document: no JSON parser accepts it */
    bool keep = !c->close_after;
    mock_buf_t b = MOCK_BUF_INIT;
    add_head(req, &b, status, content_type);
    mock_buf_addf(&b, "Content-Length: %zu\r\nConnection: %s\r\n\r\n", send_len,
                  keep ? "keep-alive" : "close");
    if (!req->head)
        mock_buf_add(&b, body, send_len);
    req->bytes_out = send_len;
    mock_conn_send(c, &b);
    mock_request_finish(c, req, body, len);
}

void mock_respond_json(mock_request_t *req, int status, json_t *json)
{
    char *s = json ? json_dumps(json, JSON_COMPACT) : NULL;
    json_decref(json);
    if (!s) {
        mock_respond_error(req, 500, "could not serialise the response");
        return;
    }
    mock_respond(req, status, "application/json", s, strlen(s));
    free(s);
}

static void default_error(mock_request_t *req, int status, const char *message)
{
    json_t *j = json_pack("{s:{s:s,s:s,s:n,s:i}}", "error", "message", message, "type",
                          status >= 500 ? "server_error" : "invalid_request_error", "param", "code",
                          status);
    mock_respond_json(req, status, j);
}

void mock_respond_error(mock_request_t *req, int status, const char *message)
{
    mock_server_t *srv = req->conn->srv;
    if (srv->cfg.error)
        srv->cfg.error(req, status, message, srv->cfg.user);
    if (!req->responded && !req->streaming)
        default_error(req, status, message);
}

void mock_stream_begin(mock_request_t *req, int status, const char *content_type)
{
    mock_conn_t *c = req->conn;
    if (req->responded || req->streaming)
        return;
    req->streaming = true;
    req->status = status;
    bool chunked = c->parser.http_minor >= 1;
    if (!chunked)
        c->close_after = true;
    mock_buf_t b = MOCK_BUF_INIT;
    add_head(req, &b, status, content_type ? content_type : "text/event-stream");
    mock_buf_addf(&b, "Cache-Control: no-cache\r\n%sConnection: %s\r\n\r\n",
                  chunked ? "Transfer-Encoding: chunked\r\n" : "",
                  c->close_after ? "close" : "keep-alive");
    mock_conn_send(c, &b);
}

int mock_stream_write(mock_request_t *req, const char *data, size_t len)
{
    mock_conn_t *c = req->conn;
    if (!req->streaming || req->stream_dead || c->closing)
        return -1;
    if (req->fault.type == MOCK_FAULT_STREAM_DISCONNECT && req->chunks >= req->fault.after_chunks) {
        req->stream_dead = true;
        c->close_after = true;
        return -1;
    }
    if (req->fault.type == MOCK_FAULT_MALFORMED && req->chunks == 0)
        len = len / 2;
    if (len == 0)
        return 0;
    mock_buf_t b = MOCK_BUF_INIT;
    bool chunked = c->parser.http_minor >= 1;
    if (chunked)
        mock_buf_addf(&b, "%zx\r\n", len);
    mock_buf_add(&b, data, len);
    if (chunked)
        mock_buf_adds(&b, "\r\n");
    req->chunks++;
    req->bytes_out += len;
    mock_conn_send(c, &b);
    return 0;
}

void mock_stream_end(mock_request_t *req)
{
    mock_conn_t *c = req->conn;
    if (!req->streaming || req->responded)
        return;
    req->responded = true;
    if (req->stream_dead) {
        /* cut mid-stream: no terminating chunk, the connection just closes */
        if (c->memory)
            c->closing = true;
        else
            mock_conn_close(c);
    } else if (c->parser.http_minor >= 1) {
        mock_buf_t b = MOCK_BUF_INIT;
        mock_buf_adds(&b, "0\r\n\r\n");
        mock_conn_send(c, &b);
    }
    mock_request_finish(c, req, NULL, 0);
}

/* ---- request accessors ------------------------------------------------------------------ */
const char *mock_request_method(const mock_request_t *req)
{
    return req->method;
}
const char *mock_request_path(const mock_request_t *req)
{
    return req->path;
}
const char *mock_request_query(const mock_request_t *req)
{
    return req->query;
}
const char *mock_request_body(const mock_request_t *req)
{
    return req->conn->body.data ? req->conn->body.data : "";
}
size_t mock_request_body_len(const mock_request_t *req)
{
    return req->conn->body.len;
}

const char *mock_request_header(const mock_request_t *req, const char *name)
{
    const mock_conn_t *c = req->conn;
    for (int i = 0; i < c->nhdr; i++) {
        if (strcasecmp(c->headers.data + c->hdr_off[2 * i], name) == 0)
            return c->headers.data + c->hdr_off[2 * i + 1];
    }
    return NULL;
}

bool mock_request_query_param(const mock_request_t *req, const char *name, char *out, size_t size)
{
    size_t nlen = strlen(name);
    const char *p = req->query;
    while (*p) {
        const char *end = strchr(p, '&');
        size_t seg = end ? (size_t)(end - p) : strlen(p);
        if (seg >= nlen && strncmp(p, name, nlen) == 0 && (seg == nlen || p[nlen] == '=')) {
            const char *v = seg == nlen ? p + nlen : p + nlen + 1;
            size_t vlen = seg - (size_t)(v - p);
            snprintf(out, size, "%.*s", (int)vlen, v);
            return true;
        }
        p += seg;
        if (*p == '&')
            p++;
    }
    return false;
}
