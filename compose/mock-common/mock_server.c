/* mock-common: libuv TCP server, http_parser glue, deferred answers, shutdown (responses and
 * streaming: mock_response.c). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mock_internal.h"

/* ---- writing ------------------------------------------------------------------------------- */
typedef struct mock_write {
    uv_write_t req;
    char *data;
} mock_write_t;

static void write_cb(uv_write_t *w, int status)
{
    mock_write_t *mw = (mock_write_t *)w;
    free(mw->data);
    free(mw);
}

/* Sends b's bytes (taking its memory); b is left empty. */
void mock_conn_send(mock_conn_t *c, mock_buf_t *b)
{
    if (b->len == 0) {
        mock_buf_free(b);
        return;
    }
    if (c->memory) {
        mock_buf_add(c->sink, b->data, b->len);
        mock_buf_free(b);
        return;
    }
    if (c->closing) {
        mock_buf_free(b);
        return;
    }
    mock_write_t *mw = mock_xmalloc(sizeof(*mw));
    mw->data = b->data;
    uv_buf_t buf = uv_buf_init(b->data, (unsigned)b->len);
    *b = (mock_buf_t)MOCK_BUF_INIT;
    if (uv_write(&mw->req, (uv_stream_t *)&c->tcp, &buf, 1, write_cb) != 0) {
        free(mw->data);
        free(mw);
        mock_conn_close(c);
    }
}

/* Drops one reference (a closed handle or a finished deferred work); the last one frees. */
static void conn_release(mock_conn_t *c)
{
    if (--c->open_handles > 0)
        return;
    mock_buf_free(&c->url);
    mock_buf_free(&c->headers);
    mock_buf_free(&c->body);
    mock_buf_free(&c->pending);
    mock_buf_free(&c->req.extra_headers);
    free(c);
}

static void conn_handle_closed_cb(uv_handle_t *h)
{
    conn_release(h->data);
}

void mock_conn_close(mock_conn_t *c)
{
    if (c->closing)
        return;
    c->closing = true;
    if (c->memory)
        return;
    mock_server_t *srv = c->srv;
    if (c->prev)
        c->prev->next = c->next;
    else
        srv->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    uv_timer_stop(&c->timer);
    uv_close((uv_handle_t *)&c->timer, conn_handle_closed_cb);
    uv_close((uv_handle_t *)&c->tcp, conn_handle_closed_cb);
}

static void drain_timeout_cb(uv_timer_t *t)
{
    mock_conn_close(t->data);
}

static void shutdown_cb(uv_shutdown_t *s, int status)
{
    mock_conn_t *c = s->data;
    free(s);
    if (c->draining && !c->closing && status == 0) {
        /* Closing with unread bytes would send a RST that can destroy the answer (413) before
         * the client reads it: read and drop until the client closes, for 2 s at most. */
        uv_timer_start(&c->timer, drain_timeout_cb, 2000, 0);
        return;
    }
    mock_conn_close(c);
}

/* Closes once everything queued so far is written. */
static void conn_close_after_writes(mock_conn_t *c)
{
    if (c->memory || c->closing || c->shutting)
        return;
    c->shutting = true;
    uv_shutdown_t *s = mock_xmalloc(sizeof(*s));
    s->data = c;
    if (uv_shutdown(s, (uv_stream_t *)&c->tcp, shutdown_cb) != 0) {
        free(s);
        mock_conn_close(c);
        return;
    }
    if (!c->draining)
        uv_read_stop((uv_stream_t *)&c->tcp);
}

/* ---- dispatch -------------------------------------------------------------------------------- */
static void dispatch(mock_conn_t *c)
{
    mock_server_t *srv = c->srv;
    mock_request_t *req = &c->req;
    if (req->fault.type == MOCK_FAULT_DROP) {
        req->status = 0;
        mock_request_finish(c, req, NULL, 0);
        if (c->memory)
            c->closing = true;
        else
            mock_conn_close(c);
        return;
    }
    if (req->fault.type == MOCK_FAULT_STATUS) {
        char msg[96];
        snprintf(msg, sizeof(msg), "injected fault: HTTP %d", req->fault.status);
        if (req->fault.status == 429) {
            snprintf(msg, sizeof(msg), "injected fault: rate limit reached, retry after %d s",
                     req->fault.retry_after);
            char ra[16];
            snprintf(ra, sizeof(ra), "%d", req->fault.retry_after);
            mock_response_header(req, "Retry-After", ra);
        }
        mock_request_set_matched(req, "fault");
        mock_respond_error(req, req->fault.status, msg);
        return;
    }
    if (!(req->admin && mock_admin_handle(srv, req)))
        srv->cfg.handler(req, srv->cfg.user);
    if (req->deferred)
        return; /* answered later on the loop by the deferred work's done callback */
    if (req->streaming && !req->responded)
        mock_stream_end(req);
    if (!req->responded)
        mock_respond_error(req, 500, "the mock's handler gave no answer (a bug in the mock)");
}

static void conn_process(mock_conn_t *c, const char *data, size_t len);
static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

/* After an answer that came later (delay fault, deferred work): closes or resumes parsing. */
static void after_late_answer(mock_conn_t *c)
{
    if (c->closing)
        return;
    if (c->close_after) {
        conn_close_after_writes(c);
        return;
    }
    if (c->paused) {
        /* resume parsing what arrived meanwhile (pipelined requests) */
        c->paused = false;
        http_parser_pause(&c->parser, 0);
        mock_buf_t rest = c->pending;
        c->pending = (mock_buf_t)MOCK_BUF_INIT;
        if (rest.len)
            conn_process(c, rest.data, rest.len);
        mock_buf_free(&rest);
        if (!c->closing && !c->paused && !c->memory) {
            if (c->eof)
                conn_close_after_writes(c); /* the client half-closed: answer, then close */
            else
                uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb);
        }
    }
}

static void pause_for_deferred(mock_conn_t *c);

static void finish_dispatch(mock_conn_t *c)
{
    dispatch(c);
    if (c->req.deferred) {
        pause_for_deferred(c);
        return;
    }
    after_late_answer(c);
}

static void delay_cb(uv_timer_t *t)
{
    finish_dispatch(t->data);
}

/* ---- deferred answers -------------------------------------------------------------------- */
typedef struct mock_deferred {
    uv_work_t work;
    mock_conn_t *conn;
    mock_work_cb work_cb;
    mock_done_cb done_cb;
    void *data;
} mock_deferred_t;

static void deferred_work_cb(uv_work_t *w)
{
    mock_deferred_t *d = w->data;
    d->work_cb(d->data);
}

static void deferred_after_cb(uv_work_t *w, int status)
{
    (void)status; /* UV_ECANCELED never happens: nothing calls uv_cancel */
    mock_deferred_t *d = w->data;
    mock_conn_t *c = d->conn;
    mock_request_t *req = &c->req;
    req->deferred = false;
    if (c->closing) {
        d->done_cb(NULL, d->data); /* the client is gone: the answer is dropped */
    } else {
        d->done_cb(req, d->data);
        if (req->streaming && !req->responded)
            mock_stream_end(req);
        if (!req->responded)
            mock_respond_error(req, 500, "the deferred work gave no answer (a bug in the service)");
        after_late_answer(c);
    }
    free(d);
    conn_release(c);
}

/* The handler deferred its answer: parse nothing more meanwhile, but keep reading (so that a
 * client that resets the connection is noticed and the answer dropped). */
static void pause_for_deferred(mock_conn_t *c)
{
    if (!c->paused) {
        c->paused = true;
        http_parser_pause(&c->parser, 1);
    }
    if (!c->closing && !c->eof && !c->memory)
        uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb);
}

int mock_request_defer(mock_request_t *req, mock_work_cb work, mock_done_cb done, void *data)
{
    mock_conn_t *c = req->conn;
    if (req->responded || req->streaming || req->deferred || !work || !done)
        return UV_EINVAL;
    if (c->memory) {
        /* mock_server_feed (fuzzing, tests): no loop turns, the work runs here */
        work(data);
        done(req, data);
        return 0;
    }
    mock_deferred_t *d = mock_xcalloc(1, sizeof(*d));
    d->conn = c;
    d->work_cb = work;
    d->done_cb = done;
    d->data = data;
    d->work.data = d;
    int r = uv_queue_work(c->srv->loop, &d->work, deferred_work_cb, deferred_after_cb);
    if (r != 0) {
        free(d);
        return r;
    }
    req->deferred = true;
    c->open_handles++; /* the connection outlives its close until the work is done */
    return 0;
}

/* ---- http_parser callbacks ------------------------------------------------------------------ */
static void req_reset(mock_conn_t *c)
{
    mock_buf_reset(&c->req.extra_headers);
    mock_buf_t extra = c->req.extra_headers;
    memset(&c->req, 0, sizeof(c->req));
    c->req.extra_headers = extra;
    c->req.conn = c;
    c->req.start_ns = uv_hrtime();
    c->req.method = "GET";
    c->req.path = c->req.query = "";
}

static int on_message_begin(http_parser *p)
{
    mock_conn_t *c = p->data;
    mock_buf_reset(&c->url);
    mock_buf_reset(&c->headers);
    mock_buf_reset(&c->body);
    c->nhdr = 0;
    c->in_value = false;
    req_reset(c);
    return 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
    mock_conn_t *c = p->data;
    mock_buf_add(&c->url, at, len);
    return c->url.len > 65536 ? -1 : 0;
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
    mock_conn_t *c = p->data;
    if (c->in_value || c->nhdr == 0) {
        if (c->nhdr == MOCK_MAX_HEADERS)
            return -1;
        if (c->nhdr > 0)
            mock_buf_add(&c->headers, "", 1); /* terminate the previous value */
        else
            mock_buf_add(&c->headers, "", 0);
        c->hdr_off[2 * c->nhdr] = c->headers.len;
        c->hdr_off[2 * c->nhdr + 1] = (size_t)-1;
        c->nhdr++;
        c->in_value = false;
    }
    mock_buf_add(&c->headers, at, len);
    return c->headers.len > 65536 ? -1 : 0;
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
    mock_conn_t *c = p->data;
    if (c->nhdr == 0)
        return -1;
    if (!c->in_value) {
        mock_buf_add(&c->headers, "", 1);
        c->hdr_off[2 * c->nhdr - 1] = c->headers.len;
        c->in_value = true;
    }
    mock_buf_add(&c->headers, at, len);
    return c->headers.len > 65536 ? -1 : 0;
}

static void reject(mock_conn_t *c, int status, const char *msg)
{
    c->error_sent = true;
    c->close_after = true;
    c->draining = true;
    mock_respond_error(&c->req, status, msg);
    if (!c->memory)
        conn_close_after_writes(c);
    else
        c->closing = true;
}

static void split_url(mock_conn_t *c)
{
    mock_buf_add(&c->url, "", 0);
    if (!c->url.data) {
        c->req.path = c->req.query = "";
        return;
    }
    c->req.path = c->url.data;
    char *q = strchr(c->url.data, '?');
    if (q) {
        *q = '\0';
        c->req.query = q + 1;
    } else {
        c->req.query = c->url.data + c->url.len;
    }
}

/* RFC 9110 10.1.1: a client sending "Expect: 100-continue" (libcurl does for bodies over 1 KiB)
 * waits for an interim 100 before sending the body (libcurl: 1 s). Bodies known to be over the
 * limit were answered 413 before this; HTTP/1.0 requests ignore the expectation. */
static void send_continue(mock_conn_t *c, const http_parser *p)
{
    const char *expect = mock_request_header(&c->req, "Expect");
    bool has_body =
        (p->flags & F_CHUNKED) || (p->content_length != ULLONG_MAX && p->content_length > 0);
    if (!expect || strcasecmp(expect, "100-continue") != 0 || !has_body ||
        (p->http_major == 1 && p->http_minor == 0))
        return;
    mock_buf_t b = MOCK_BUF_INIT;
    mock_buf_adds(&b, "HTTP/1.1 100 Continue\r\n\r\n");
    mock_conn_send(c, &b);
}

static int on_headers_complete(http_parser *p)
{
    mock_conn_t *c = p->data;
    mock_server_t *srv = c->srv;
    if (c->nhdr > 0) {
        if (c->hdr_off[2 * c->nhdr - 1] == (size_t)-1) {
            mock_buf_add(&c->headers, "", 1);
            c->hdr_off[2 * c->nhdr - 1] = c->headers.len - 1;
        }
        mock_buf_add(&c->headers, "", 1);
    }
    c->req.method = http_method_str((enum http_method)p->method);
    c->req.head = p->method == HTTP_HEAD;
    split_url(c);
    c->req.admin = !srv->cfg.no_admin && strncmp(c->req.path, "/__admin/", 9) == 0;
    c->req.journaled = !(srv->health_path && strcmp(c->req.path, srv->health_path) == 0);
    if (p->content_length != ULLONG_MAX && p->content_length > srv->cfg.body_limit) {
        char msg[160];
        snprintf(msg, sizeof(msg), "request body of %llu bytes is over the limit of %zu bytes",
                 (unsigned long long)p->content_length, srv->cfg.body_limit);
        reject(c, 413, msg);
        return -1;
    }
    send_continue(c, p);
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
    mock_conn_t *c = p->data;
    if (c->body.len + len > c->srv->cfg.body_limit) {
        char msg[128];
        snprintf(msg, sizeof(msg), "request body is over the limit of %zu bytes",
                 c->srv->cfg.body_limit);
        reject(c, 413, msg);
        return -1;
    }
    mock_buf_add(&c->body, at, len);
    return 0;
}

static int on_message_complete(http_parser *p)
{
    mock_conn_t *c = p->data;
    mock_server_t *srv = c->srv;
    mock_request_t *req = &c->req;
    mock_buf_add(&c->body, "", 0);
    if (!http_should_keep_alive(p))
        c->close_after = true;
    if (!req->admin && !srv->cfg.no_admin)
        mock_faults_decide(srv, req);
    if (req->fault.delay_ms > 0 && !c->memory) {
        c->paused = true;
        http_parser_pause(p, 1);
        uv_read_stop((uv_stream_t *)&c->tcp);
        uv_timer_start(&c->timer, delay_cb, req->fault.delay_ms, 0);
        return 0;
    }
    dispatch(c);
    if (c->req.deferred) {
        c->paused = true;
        http_parser_pause(p, 1);
        return 0;
    }
    if (c->closing || c->close_after) {
        c->paused = true; /* nothing more is parsed on this connection */
        http_parser_pause(p, 1);
        conn_close_after_writes(c);
    }
    return 0;
}

static const http_parser_settings parser_settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

static void conn_process(mock_conn_t *c, const char *data, size_t len)
{
    if (c->closing)
        return;
    if (c->paused) {
        mock_buf_add(&c->pending, data, len);
        return;
    }
    size_t n = http_parser_execute(&c->parser, &parser_settings, data, len);
    enum http_errno e = HTTP_PARSER_ERRNO(&c->parser);
    if (e == HPE_PAUSED) {
        if (c->closing)
            return;
        if (c->close_after)
            return; /* nothing more is read on this connection */
        if (n < len)
            mock_buf_add(&c->pending, data + n, len - n);
        return;
    }
    if (e != HPE_OK) {
        if (c->error_sent || c->closing)
            return;
        char msg[160];
        snprintf(msg, sizeof(msg), "malformed HTTP request: %s", http_errno_description(e));
        req_reset(c);
        c->req.method = "?";
        reject(c, 400, msg);
    }
}

/* ---- connections ------------------------------------------------------------------------------
 */
static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    mock_conn_t *c = h->data;
    buf->base = c->srv->readbuf;
    buf->len = sizeof(c->srv->readbuf);
}

static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    mock_conn_t *c = s->data;
    if (c->draining) {
        if (nread < 0)
            mock_conn_close(c);
        return;
    }
    if (nread < 0) {
        if (c->paused && !c->closing && nread == UV_EOF) {
            c->eof = true; /* answer the delayed request first */
            uv_read_stop(s);
            return;
        }
        mock_conn_close(c);
        return;
    }
    if (nread > 0) {
        conn_process(c, buf->base, (size_t)nread);
        /* pipelined bytes pile up while a deferred answer is pending: stop reading at a limit */
        if (c->paused && !c->closing && c->pending.len > c->srv->cfg.body_limit + 65536)
            uv_read_stop(s);
    }
}

static void conn_init(mock_conn_t *c, mock_server_t *srv)
{
    c->srv = srv;
    http_parser_init(&c->parser, HTTP_REQUEST);
    c->parser.data = c;
    req_reset(c);
}

static void on_connection(uv_stream_t *listener, int status)
{
    mock_server_t *srv = listener->data;
    if (status < 0 || srv->stopping)
        return;
    mock_conn_t *c = mock_xcalloc(1, sizeof(*c));
    conn_init(c, srv);
    uv_tcp_init(srv->loop, &c->tcp);
    uv_timer_init(srv->loop, &c->timer);
    c->tcp.data = c->timer.data = c;
    c->open_handles = 2;
    c->next = srv->conns;
    if (srv->conns)
        srv->conns->prev = c;
    srv->conns = c;
    if (uv_accept(listener, (uv_stream_t *)&c->tcp) != 0) {
        mock_conn_close(c);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    struct sockaddr_storage ss;
    int sl = sizeof(ss);
    snprintf(c->peer, sizeof(c->peer), "-");
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET)
            uv_ip4_name((struct sockaddr_in *)&ss, c->peer, sizeof(c->peer));
        else if (ss.ss_family == AF_INET6)
            uv_ip6_name((struct sockaddr_in6 *)&ss, c->peer, sizeof(c->peer));
    }
    uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb);
}

/* ---- server lifecycle ------------------------------------------------------------------------ */
mock_server_t *mock_server_new(uv_loop_t *loop, const mock_server_config_t *cfg)
{
    mock_server_t *srv = mock_xcalloc(1, sizeof(*srv));
    srv->loop = loop;
    srv->cfg = *cfg;
    srv->name = mock_xstrdup(cfg->name ? cfg->name : "mock");
    srv->host = mock_xstrdup(cfg->host ? cfg->host : "0.0.0.0");
    srv->port_file = cfg->port_file ? mock_xstrdup(cfg->port_file) : NULL;
    srv->health_path = cfg->health_path ? mock_xstrdup(cfg->health_path) : NULL;
    srv->cfg.name = srv->name;
    srv->cfg.host = srv->host;
    srv->cfg.port_file = srv->port_file;
    srv->cfg.health_path = srv->health_path;
    if (!srv->cfg.body_limit)
        srv->cfg.body_limit = MOCK_DEFAULT_BODY_LIMIT;
    if (srv->cfg.no_journal)
        srv->cfg.journal_max = 0; /* requests are counted, none kept */
    else if (!srv->cfg.journal_max)
        srv->cfg.journal_max = MOCK_DEFAULT_JOURNAL_MAX;
    srv->journal =
        mock_xcalloc(srv->cfg.journal_max ? srv->cfg.journal_max : 1, sizeof(*srv->journal));
    srv->journal_next_id = 1;
    return srv;
}

static int write_port_file(const char *path, int port)
{
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return -errno;
    fprintf(f, "%d\n", port);
    if (fclose(f) != 0 || rename(tmp, path) != 0)
        return -errno;
    return 0;
}

static void log_flush_cb(uv_check_t *check)
{
    fflush(stdout);
}

int mock_server_listen(mock_server_t *srv)
{
    struct sockaddr_storage addr;
    int r = uv_ip4_addr(srv->host, srv->cfg.port, (struct sockaddr_in *)&addr);
    if (r != 0)
        r = uv_ip6_addr(srv->host, srv->cfg.port, (struct sockaddr_in6 *)&addr);
    if (r != 0) {
        fprintf(stderr, "%s: --host %s: not an IP address\n", srv->name, srv->host);
        return r;
    }
    uv_tcp_init(srv->loop, &srv->listener);
    srv->listener.data = srv;
    srv->listening = true;
    r = uv_tcp_bind(&srv->listener, (struct sockaddr *)&addr, 0);
    if (r == 0)
        r = uv_listen((uv_stream_t *)&srv->listener, 511, on_connection);
    if (r != 0) {
        fprintf(stderr, "%s: cannot listen on %s:%d: %s\n", srv->name, srv->host, srv->cfg.port,
                uv_strerror(r));
        return r;
    }
    int len = sizeof(addr);
    uv_tcp_getsockname(&srv->listener, (struct sockaddr *)&addr, &len);
    srv->port = ntohs(((struct sockaddr_in *)&addr)->sin_port);
    if (srv->port_file) {
        r = write_port_file(srv->port_file, srv->port);
        if (r != 0) {
            fprintf(stderr, "%s: cannot write --port-file %s: %s\n", srv->name, srv->port_file,
                    strerror(-r));
            return r;
        }
    }
    printf("%s listening on http://%s:%d\n", srv->name, srv->host, srv->port);
    fflush(stdout);
    if (!srv->cfg.quiet) {
        /* log lines are written in one go per loop iteration, not one write(2) per request */
        uv_check_init(srv->loop, &srv->log_flush);
        uv_check_start(&srv->log_flush, log_flush_cb);
        uv_unref((uv_handle_t *)&srv->log_flush);
        srv->log_flush_started = true;
    }
    return 0;
}

int mock_server_port(const mock_server_t *srv)
{
    return srv->port;
}

size_t mock_server_connections(const mock_server_t *srv)
{
    size_t n = 0;
    for (const mock_conn_t *c = srv->conns; c; c = c->next)
        n++;
    return n;
}

static void signal_cb(uv_signal_t *s, int signum)
{
    mock_server_t *srv = s->data;
    srv->stop_signal = signum;
    mock_server_stop(srv);
}

void mock_server_stop(mock_server_t *srv)
{
    if (srv->stopping)
        return;
    srv->stopping = true;
    if (srv->listening)
        uv_close((uv_handle_t *)&srv->listener, NULL);
    if (uv_is_active((uv_handle_t *)&srv->sigterm) || srv->sigterm.data) {
        uv_close((uv_handle_t *)&srv->sigterm, NULL);
        uv_close((uv_handle_t *)&srv->sigint, NULL);
    }
    while (srv->conns)
        mock_conn_close(srv->conns);
    if (srv->log_flush_started) {
        uv_close((uv_handle_t *)&srv->log_flush, NULL);
        srv->log_flush_started = false;
    }
    fflush(stdout);
}

int mock_server_run(mock_server_t *srv)
{
    uv_signal_init(srv->loop, &srv->sigterm);
    uv_signal_init(srv->loop, &srv->sigint);
    srv->sigterm.data = srv->sigint.data = srv;
    uv_signal_start(&srv->sigterm, signal_cb, SIGTERM);
    uv_signal_start(&srv->sigint, signal_cb, SIGINT);
    signal(SIGPIPE, SIG_IGN);
    int r = uv_run(srv->loop, UV_RUN_DEFAULT);
    if (srv->stop_signal)
        printf("%s stopped on %s\n", srv->name, srv->stop_signal == SIGTERM ? "SIGTERM" : "SIGINT");
    else
        printf("%s stopped\n", srv->name);
    fflush(stdout);
    return r;
}

void mock_server_free(mock_server_t *srv)
{
    if (!srv)
        return;
    mock_journal_clear(srv);
    mock_faults_clear(srv);
    free(srv->journal);
    free(srv->name);
    free(srv->host);
    free(srv->port_file);
    free(srv->health_path);
    free(srv);
}

void mock_server_feed(mock_server_t *srv, const char *data, size_t len, mock_buf_t *out)
{
    mock_conn_t c;
    memset(&c, 0, sizeof(c));
    conn_init(&c, srv);
    c.memory = true;
    c.sink = out;
    snprintf(c.peer, sizeof(c.peer), "memory");
    conn_process(&c, data, len);
    while (c.paused && !c.closing && !c.close_after) {
        /* delays are not waited for in memory */
        c.paused = false;
        http_parser_pause(&c.parser, 0);
        mock_buf_t rest = c.pending;
        c.pending = (mock_buf_t)MOCK_BUF_INIT;
        conn_process(&c, rest.data ? rest.data : "", rest.len);
        mock_buf_free(&rest);
    }
    mock_buf_free(&c.url);
    mock_buf_free(&c.headers);
    mock_buf_free(&c.body);
    mock_buf_free(&c.pending);
    mock_buf_free(&c.req.extra_headers);
}
