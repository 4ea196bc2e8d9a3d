/* Fault injector: a scripted fake Docker engine on a Unix socket (see fake_engine.h). */
#include "fake_engine.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <envmgr/util.h>

#define FAKE_MAX_REQUESTS 64

struct fake_engine {
    char dir[64];
    char path[128];
    char host[160];
    int listen_fd;
    pthread_t thread;
    fake_reply_t *replies;
    size_t n_replies;
    atomic_size_t served;
    atomic_size_t connections;
    atomic_bool stop;
    char *request_lines[FAKE_MAX_REQUESTS];
    envmgr_buf_t request_bodies[FAKE_MAX_REQUESTS];
};

static int wait_readable(fake_engine_t *f, int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    while (!atomic_load(&f->stop)) {
        int r = poll(&p, 1, 50);
        if (r > 0)
            return 0;
        if (r < 0 && errno != EINTR)
            return -1;
    }
    return -1;
}

/* Reads until in holds at least need bytes. */
static int fill(fake_engine_t *f, int fd, envmgr_buf_t *in, size_t need)
{
    char chunk[16384];
    while (in->len < need) {
        if (wait_readable(f, fd) < 0)
            return -1;
        ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n <= 0)
            return -1;
        envmgr_buf_add(in, chunk, (size_t)n);
    }
    return 0;
}

/* Reads until in holds "\r\n" at or after pos; returns its offset or -1. */
static long fill_line(fake_engine_t *f, int fd, envmgr_buf_t *in, size_t pos)
{
    for (;;) {
        const char *nl = in->len > pos ? memmem(in->data + pos, in->len - pos, "\r\n", 2) : NULL;
        if (nl)
            return nl - in->data;
        if (fill(f, fd, in, in->len + 1) < 0)
            return -1;
    }
}

/* Decodes a chunked body starting at pos into body; returns the offset after it or -1. */
static long read_chunked(fake_engine_t *f, int fd, envmgr_buf_t *in, size_t pos, envmgr_buf_t *body)
{
    for (;;) {
        long nl = fill_line(f, fd, in, pos);
        if (nl < 0)
            return -1;
        size_t size = strtoul(in->data + pos, NULL, 16);
        pos = (size_t)nl + 2;
        if (fill(f, fd, in, pos + size + 2) < 0)
            return -1;
        envmgr_buf_add(body, in->data + pos, size);
        pos += size + 2;
        if (size == 0)
            return (long)pos;
    }
}

/* Reads one HTTP request (headers, then a Content-Length or chunked body). 0 ok, -1 closed. */
static int read_request(fake_engine_t *f, int fd, envmgr_buf_t *in, size_t index)
{
    long end = fill_line(f, fd, in, 0);
    while (end >= 0 && (size_t)end != 0 && memcmp(in->data + end - 2, "\r\n", 2) != 0)
        end = fill_line(f, fd, in, (size_t)end + 2);
    if (end < 0)
        return -1;
    size_t header_len = (size_t)end + 2;
    size_t body_len = 0;
    bool chunked = false;
    for (char *p = in->data; p && p < in->data + header_len;) {
        if (strncasecmp(p, "Content-Length:", 15) == 0)
            body_len = strtoul(p + 15, NULL, 10);
        if (strncasecmp(p, "Transfer-Encoding: chunked", 26) == 0)
            chunked = true;
        char *nl = strstr(p, "\r\n");
        p = nl ? nl + 2 : NULL;
    }
    envmgr_buf_t body = ENVMGR_BUF_INIT;
    size_t used;
    if (chunked) {
        long after = read_chunked(f, fd, in, header_len, &body);
        if (after < 0) {
            envmgr_buf_free(&body);
            return -1;
        }
        used = (size_t)after;
    } else {
        if (fill(f, fd, in, header_len + body_len) < 0)
            return -1;
        envmgr_buf_add(&body, in->data + header_len, body_len);
        used = header_len + body_len;
    }
    if (index < FAKE_MAX_REQUESTS) {
        size_t line_len = strcspn(in->data, "\r\n");
        char *line = envmgr_xstrndup(in->data, line_len);
        char *http = strstr(line, " HTTP/");
        if (http)
            *http = '\0';
        f->request_lines[index] = line;
        f->request_bodies[index] = body;
    } else {
        envmgr_buf_free(&body);
    }
    memmove(in->data, in->data + used, in->len - used);
    in->len -= used;
    in->data[in->len] = '\0';
    return 0;
}

static void write_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        data += n;
        len -= (size_t)n;
    }
}

static void *fake_main(void *arg)
{
    fake_engine_t *f = arg;
    int client = -1;
    envmgr_buf_t in = ENVMGR_BUF_INIT;
    while (atomic_load(&f->served) < f->n_replies && !atomic_load(&f->stop)) {
        if (client < 0) {
            if (wait_readable(f, f->listen_fd) < 0)
                break;
            client = accept(f->listen_fd, NULL, NULL);
            envmgr_buf_reset(&in);
            if (client < 0)
                continue;
            atomic_fetch_add(&f->connections, 1);
        }
        size_t i = atomic_load(&f->served);
        if (read_request(f, client, &in, i) < 0) {
            close(client);
            client = -1;
            continue;
        }
        const fake_reply_t *r = &f->replies[i];
        write_all(client, r->raw, r->len ? r->len : strlen(r->raw));
        atomic_store(&f->served, i + 1);
        if (r->close_after) {
            close(client);
            client = -1;
        }
    }
    /* Keep a kept-alive connection open until stopped (a stream that never ends, for timeouts). */
    if (client >= 0) {
        while (!atomic_load(&f->stop))
            envmgr_sleep_ms(10);
        close(client);
    }
    envmgr_buf_free(&in);
    return NULL;
}

fake_engine_t *fake_engine_start(const fake_reply_t *replies, size_t n)
{
    fake_engine_t *f = envmgr_xcalloc(1, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/fake-engine-XXXXXX");
    if (!mkdtemp(f->dir))
        abort();
    snprintf(f->path, sizeof(f->path), "%s/docker.sock", f->dir);
    snprintf(f->host, sizeof(f->host), "unix://%s", f->path);
    f->replies = envmgr_xcalloc(n, sizeof(*f->replies));
    memcpy(f->replies, replies, n * sizeof(*replies));
    f->n_replies = n;
    f->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    memcpy(addr.sun_path, f->path, strlen(f->path) + 1); /* path < 108 bytes: /tmp/... */
    if (f->listen_fd < 0 || bind(f->listen_fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
        listen(f->listen_fd, 8) < 0)
        abort();
    if (pthread_create(&f->thread, NULL, fake_main, f) != 0)
        abort();
    return f;
}

const char *fake_engine_host(const fake_engine_t *f)
{
    return f->host;
}

size_t fake_engine_stop(fake_engine_t *f, int timeout_ms)
{
    int64_t give_up = envmgr_now_ms() + timeout_ms;
    while (atomic_load(&f->served) < f->n_replies && envmgr_now_ms() < give_up)
        envmgr_sleep_ms(5);
    atomic_store(&f->stop, true);
    pthread_join(f->thread, NULL);
    close(f->listen_fd);
    unlink(f->path);
    rmdir(f->dir);
    return atomic_load(&f->served);
}

size_t fake_engine_connections(const fake_engine_t *f)
{
    return atomic_load(&f->connections);
}

const char *fake_engine_request(const fake_engine_t *f, size_t i)
{
    return i < FAKE_MAX_REQUESTS ? f->request_lines[i] : NULL;
}

const char *fake_engine_request_body(const fake_engine_t *f, size_t i)
{
    return i < FAKE_MAX_REQUESTS ? f->request_bodies[i].data : NULL;
}

size_t fake_engine_request_body_len(const fake_engine_t *f, size_t i)
{
    return i < FAKE_MAX_REQUESTS ? f->request_bodies[i].len : 0;
}

void fake_engine_free(fake_engine_t *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->n_replies; i++)
        free(f->replies[i].raw);
    for (size_t i = 0; i < FAKE_MAX_REQUESTS; i++) {
        free(f->request_lines[i]);
        envmgr_buf_free(&f->request_bodies[i]);
    }
    free(f->replies);
    free(f);
}

static const char *reason_phrase(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 204:
        return "No Content";
    case 404:
        return "Not Found";
    case 409:
        return "Conflict";
    default:
        return "Status";
    }
}

char *fake_http(int status, const char *content_type, const char *body)
{
    return envmgr_xasprintf("HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n\r\n%s",
                            status, reason_phrase(status), content_type, strlen(body), body);
}

char *fake_json(int status, const char *json)
{
    return fake_http(status, "application/json", json);
}

char *fake_version(const char *api_version)
{
    /* what envmgr_engine_open asks: GET /_ping, negotiating from the Api-Version header */
    return envmgr_xasprintf("HTTP/1.1 200 OK\r\nApi-Version: %s\r\nContent-Type: text/plain; "
                            "charset=utf-8\r\nContent-Length: 2\r\n\r\nOK",
                            api_version);
}

char *fake_stream(const char *content_type, const void *body, size_t body_len, size_t *out_len)
{
    envmgr_buf_t b = ENVMGR_BUF_INIT;
    envmgr_buf_addf(&b, "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nConnection: close\r\n\r\n",
                    content_type);
    envmgr_buf_add(&b, body, body_len);
    *out_len = b.len;
    return envmgr_buf_detach(&b);
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
    memcpy(*buf + *len + 8, payload, payload_len);
    *len += 8 + payload_len;
}
