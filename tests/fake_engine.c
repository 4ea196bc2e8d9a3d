/* The fake engine's server: a Unix socket, one thread per connection, requests parsed by
 * http_parser, injected faults, the request log (see fake_engine.h). */
#include "fake_engine_internal.h"

#include <curl/curl.h>
#include <errno.h>
#include <fnmatch.h>
#include <http_parser.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

struct conn {
    fake_engine_t *f;
    int fd;
    http_parser parser;
    envmgr_buf_t url;
    envmgr_buf_t body;
    bool close; /* after this request */
};

static const char *reason_phrase(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 204:
        return "No Content";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 409:
        return "Conflict";
    default:
        return "Status";
    }
}

static void write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        p += n;
        len -= (size_t)n;
    }
}

/* Waits until fd is readable or the fake stops: 0 readable, -1 stopped or failed. */
static int wait_readable(fake_engine_t *f, int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    while (!atomic_load(&f->stop)) {
        int r = poll(&p, 1, 20);
        if (r > 0)
            return 0;
        if (r < 0 && errno != EINTR)
            return -1;
    }
    return -1;
}

static void hold_until_stopped(fake_engine_t *f, const char *container_id)
{
    while (!atomic_load(&f->stop)) {
        if (container_id) {
            pthread_mutex_lock(&f->lock);
            bool running = fake_state_running(f, container_id);
            pthread_mutex_unlock(&f->lock);
            if (!running)
                return;
        }
        envmgr_sleep_ms(10);
    }
}

int fake_answer_error(struct fake_answer *a, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = NULL;
    if (vasprintf(&msg, fmt, ap) < 0)
        abort();
    va_end(ap);
    fake_answer_json(a, status, json_pack("{s:s}", "message", msg));
    free(msg);
    return 0;
}

int fake_answer_json(struct fake_answer *a, int status, json_t *json)
{
    a->status = status;
    a->content_type = "application/json";
    envmgr_buf_reset(&a->body);
    char *text = json_dumps(json, JSON_COMPACT);
    envmgr_buf_adds(&a->body, text);
    envmgr_buf_adds(&a->body, "\n");
    free(text);
    json_decref(json);
    return 0;
}

/* "/v1.41/containers/json" -> version "1.41", path "/containers/json". */
static const char *split_version(const char *path, char *version, size_t size)
{
    version[0] = '\0';
    if (strncmp(path, "/v", 2) != 0 || !strchr("0123456789", path[2]))
        return path;
    const char *slash = strchr(path + 1, '/');
    if (!slash)
        return path;
    snprintf(version, size, "%.*s", (int)(slash - path - 2), path + 2);
    return slash;
}

static json_t *parse_query(const char *q, size_t len)
{
    json_t *out = json_object();
    char *copy = envmgr_xstrndup(q, len);
    char *save = NULL;
    for (char *pair = strtok_r(copy, "&", &save); pair; pair = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(pair, '=');
        if (eq)
            *eq = '\0';
        char *value = curl_easy_unescape(NULL, eq ? eq + 1 : "", 0, NULL);
        json_object_set_new(out, pair, json_string(value ? value : ""));
        curl_free(value);
    }
    free(copy);
    return out;
}

/* The first fault that fires for this request, or NULL (f->lock held). */
static const fake_fault_t *fault_for(fake_engine_t *f, const char *match)
{
    for (size_t i = 0; i < f->n_faults; i++) {
        struct fake_fault_entry *e = &f->faults[i];
        if (fnmatch(e->pattern, match, 0) != 0)
            continue;
        int n = e->matched++;
        if (n < e->fault.skip)
            continue;
        if (e->fault.times > 0 && n >= e->fault.skip + e->fault.times)
            continue;
        return &e->fault;
    }
    return NULL;
}

/* Answers with the injected fault; returns false when the connection is to be closed. */
static bool answer_fault(struct conn *c, const fake_fault_t *fault)
{
    if (fault->raw) { /* with hang: the bytes, then the connection held open */
        write_all(c->fd, fault->raw, fault->raw_len ? fault->raw_len : strlen(fault->raw));
        if (fault->hang)
            hold_until_stopped(c->f, NULL);
        return false;
    }
    if (fault->hang) {
        hold_until_stopped(c->f, NULL);
        return false;
    }
    if (fault->drop)
        return false;
    int status = fault->status ? fault->status : 500;
    const char *body = fault->body ? fault->body : "{\"message\":\"injected fault\"}";
    envmgr_cleanup_free char *head = envmgr_xasprintf(
        "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n\r\n", status,
        reason_phrase(status), fault->content_type ? fault->content_type : "application/json",
        strlen(body));
    write_all(c->fd, head, strlen(head));
    write_all(c->fd, body, strlen(body));
    return true;
}

static void send_answer(struct conn *c, struct fake_answer *a)
{
    envmgr_buf_t head = ENVMGR_BUF_INIT;
    envmgr_buf_addf(&head, "HTTP/1.1 %d %s\r\nServer: fake-engine\r\n", a->status,
                    reason_phrase(a->status));
    if (a->api_header[0])
        envmgr_buf_addf(&head, "Api-Version: %s\r\n", a->api_header);
    if (a->content_type)
        envmgr_buf_addf(&head, "Content-Type: %s\r\n", a->content_type);
    if (a->follow)
        envmgr_buf_adds(&head, "Connection: close\r\n\r\n");
    else
        envmgr_buf_addf(&head, "Content-Length: %zu\r\n\r\n", a->body.len);
    write_all(c->fd, head.data, head.len);
    if (a->body.len)
        write_all(c->fd, a->body.data, a->body.len);
    envmgr_buf_free(&head);
    if (a->follow) {
        hold_until_stopped(c->f, a->follow_id);
        c->close = true;
    }
}

static int on_message_begin(http_parser *p)
{
    struct conn *c = p->data;
    envmgr_buf_reset(&c->url);
    envmgr_buf_reset(&c->body);
    return 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
    envmgr_buf_add(&((struct conn *)p->data)->url, at, len);
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
    envmgr_buf_add(&((struct conn *)p->data)->body, at, len);
    return 0;
}

static int on_message_complete(http_parser *p)
{
    struct conn *c = p->data;
    fake_engine_t *f = c->f;
    const char *method = http_method_str((enum http_method)p->method);
    const char *url = c->url.data ? c->url.data : "/";
    struct http_parser_url u;
    http_parser_url_init(&u);
    if (http_parser_parse_url(url, c->url.len, 0, &u) != 0) {
        c->close = true;
        return 0;
    }
    envmgr_cleanup_free char *raw_path =
        envmgr_xstrndup(url + u.field_data[UF_PATH].off, u.field_data[UF_PATH].len);
    char version[16];
    const char *path = split_version(raw_path, version, sizeof(version));
    struct fake_call call = {
        .method = method,
        .path = path,
        .version = version[0] ? version : NULL,
        .query = (u.field_set & (1 << UF_QUERY))
                     ? parse_query(url + u.field_data[UF_QUERY].off, u.field_data[UF_QUERY].len)
                     : json_object(),
        .body = c->body.data ? c->body.data : "",
        .body_len = c->body.len,
    };
    call.json = c->body.len ? json_loadb(c->body.data, c->body.len, 0, NULL) : NULL;

    pthread_mutex_lock(&f->lock);
    struct fake_request req = {
        .line = envmgr_xasprintf("%s %s", method, url),
        .match = envmgr_xasprintf("%s %s", method, path),
    };
    envmgr_buf_add(&req.body, call.body, call.body_len);
    f->requests = envmgr_xrealloc(f->requests, (f->n_requests + 1) * sizeof(*f->requests));
    f->requests[f->n_requests++] = req;
    const fake_fault_t *fault = fault_for(f, req.match);
    struct fake_answer a = {.status = 200};
    if (!fault)
        fake_state_handle(f, &call, &a);
    pthread_mutex_unlock(&f->lock);

    if (fault) {
        if (!answer_fault(c, fault))
            c->close = true;
    } else {
        send_answer(c, &a);
    }
    if (!http_should_keep_alive(p))
        c->close = true;
    envmgr_buf_free(&a.body);
    json_decref(call.query);
    json_decref(call.json);
    return c->close ? 1 : 0; /* 1 stops the parser: the connection closes */
}

static const http_parser_settings parser_settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

static void *conn_main(void *arg)
{
    struct conn *c = arg;
    http_parser_init(&c->parser, HTTP_REQUEST);
    c->parser.data = c;
    char buf[65536];
    while (!c->close && wait_readable(c->f, c->fd) == 0) {
        ssize_t n = read(c->fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        size_t used = http_parser_execute(&c->parser, &parser_settings, buf, (size_t)n);
        if (c->close || c->parser.http_errno != HPE_OK || used != (size_t)n)
            break;
    }
    close(c->fd);
    envmgr_buf_free(&c->url);
    envmgr_buf_free(&c->body);
    free(c);
    return NULL;
}

static void *accept_main(void *arg)
{
    fake_engine_t *f = arg;
    while (wait_readable(f, f->listen_fd) == 0) {
        int fd = accept4(f->listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
            continue;
        atomic_fetch_add(&f->connections, 1);
        struct conn *c = envmgr_xcalloc(1, sizeof(*c));
        c->f = f;
        c->fd = fd;
        pthread_mutex_lock(&f->lock);
        f->conn_threads =
            envmgr_xrealloc(f->conn_threads, (f->n_conn_threads + 1) * sizeof(pthread_t));
        if (pthread_create(&f->conn_threads[f->n_conn_threads], NULL, conn_main, c) == 0)
            f->n_conn_threads++;
        else
            abort();
        pthread_mutex_unlock(&f->lock);
    }
    return NULL;
}

fake_engine_t *fake_engine_start(void)
{
    fake_engine_t *f = envmgr_xcalloc(1, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/fake-engine-XXXXXX");
    if (!mkdtemp(f->dir))
        abort();
    snprintf(f->path, sizeof(f->path), "%s/docker.sock", f->dir);
    snprintf(f->host, sizeof(f->host), "unix://%s", f->path);
    pthread_mutex_init(&f->lock, NULL);
    f->api_version = envmgr_xstrdup("1.41");
    fake_state_init(f);
    f->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    memcpy(addr.sun_path, f->path, strlen(f->path) + 1); /* path < 108 bytes: /tmp/... */
    if (f->listen_fd < 0 || bind(f->listen_fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
        listen(f->listen_fd, 64) < 0)
        abort();
    if (pthread_create(&f->accept_thread, NULL, accept_main, f) != 0)
        abort();
    return f;
}

const char *fake_engine_host(const fake_engine_t *f)
{
    return f->host;
}

void fake_engine_free(fake_engine_t *f)
{
    if (!f)
        return;
    atomic_store(&f->stop, true);
    pthread_join(f->accept_thread, NULL);
    /* no new connection threads from here on */
    for (size_t i = 0; i < f->n_conn_threads; i++)
        pthread_join(f->conn_threads[i], NULL);
    close(f->listen_fd);
    unlink(f->path);
    rmdir(f->dir);
    for (size_t i = 0; i < f->n_requests; i++) {
        free(f->requests[i].line);
        free(f->requests[i].match);
        envmgr_buf_free(&f->requests[i].body);
    }
    for (size_t i = 0; i < f->n_faults; i++) {
        free(f->faults[i].pattern);
        free((char *)f->faults[i].fault.body);
        free((char *)f->faults[i].fault.content_type);
        free((void *)f->faults[i].fault.raw);
    }
    fake_state_free(f);
    free(f->faults);
    free(f->requests);
    free(f->conn_threads);
    free(f->api_version);
    free(f->min_api_version);
    pthread_mutex_destroy(&f->lock);
    free(f);
}

void fake_engine_set_api_version(fake_engine_t *f, const char *api_version,
                                 const char *min_api_version)
{
    pthread_mutex_lock(&f->lock);
    free(f->api_version);
    free(f->min_api_version);
    f->api_version = api_version ? envmgr_xstrdup(api_version) : NULL;
    f->min_api_version = min_api_version ? envmgr_xstrdup(min_api_version) : NULL;
    pthread_mutex_unlock(&f->lock);
}

void fake_engine_fault(fake_engine_t *f, const char *request, const fake_fault_t *fault)
{
    pthread_mutex_lock(&f->lock);
    f->faults = envmgr_xrealloc(f->faults, (f->n_faults + 1) * sizeof(*f->faults));
    struct fake_fault_entry *e = &f->faults[f->n_faults++];
    memset(e, 0, sizeof(*e));
    e->pattern = envmgr_xstrdup(request);
    e->fault = *fault;
    e->fault.body = fault->body ? envmgr_xstrdup(fault->body) : NULL;
    e->fault.content_type = fault->content_type ? envmgr_xstrdup(fault->content_type) : NULL;
    if (fault->raw) {
        size_t len = fault->raw_len ? fault->raw_len : strlen(fault->raw);
        void *copy = envmgr_xmalloc(len);
        memcpy(copy, fault->raw, len);
        e->fault.raw = copy;
        e->fault.raw_len = len;
    }
    pthread_mutex_unlock(&f->lock);
}

size_t fake_engine_requests(fake_engine_t *f)
{
    pthread_mutex_lock(&f->lock);
    size_t n = f->n_requests;
    pthread_mutex_unlock(&f->lock);
    return n;
}

/* The log only grows, and entries never move once the clients are done: tests read it after. */
const char *fake_engine_request(fake_engine_t *f, size_t i)
{
    pthread_mutex_lock(&f->lock);
    const char *line = i < f->n_requests ? f->requests[i].line : NULL;
    pthread_mutex_unlock(&f->lock);
    return line;
}

const char *fake_engine_request_body(fake_engine_t *f, size_t i)
{
    pthread_mutex_lock(&f->lock);
    const char *body = i < f->n_requests ? f->requests[i].body.data : NULL;
    pthread_mutex_unlock(&f->lock);
    return body;
}

size_t fake_engine_request_body_len(fake_engine_t *f, size_t i)
{
    pthread_mutex_lock(&f->lock);
    size_t len = i < f->n_requests ? f->requests[i].body.len : 0;
    pthread_mutex_unlock(&f->lock);
    return len;
}

size_t fake_engine_count_requests(fake_engine_t *f, const char *pattern)
{
    size_t n = 0;
    pthread_mutex_lock(&f->lock);
    for (size_t i = 0; i < f->n_requests; i++)
        if (fnmatch(pattern, f->requests[i].match, 0) == 0)
            n++;
    pthread_mutex_unlock(&f->lock);
    return n;
}

size_t fake_engine_connections(const fake_engine_t *f)
{
    return atomic_load(&f->connections);
}

void fake_frame(char **buf, size_t *len, int stream, const char *payload, size_t payload_len)
{
    *buf = envmgr_xrealloc(*buf, *len + 8 + payload_len);
    unsigned char *h = (unsigned char *)*buf + *len;
    h[0] = (unsigned char)stream;
    h[1] = h[2] = h[3] = 0;
    h[4] = (unsigned char)(payload_len >> 24);
    h[5] = (unsigned char)(payload_len >> 16);
    h[6] = (unsigned char)(payload_len >> 8);
    h[7] = (unsigned char)payload_len;
    if (payload_len)
        memcpy(*buf + *len + 8, payload, payload_len);
    *len += 8 + payload_len;
}
