/* mock-common: allocation, buffers, UTF-8, JSON parsing, --healthcheck and the shared main. */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "mock_internal.h"

/* ---- allocation ---------------------------------------------------------------------------- */
static void *oom(void *p)
{
    if (!p) {
        fputs("mock: out of memory\n", stderr);
        abort();
    }
    return p;
}
void *mock_xmalloc(size_t size)
{
    return oom(malloc(size ? size : 1));
}
void *mock_xcalloc(size_t n, size_t size)
{
    return oom(calloc(n ? n : 1, size ? size : 1));
}
void *mock_xrealloc(void *p, size_t size)
{
    return oom(realloc(p, size ? size : 1));
}
char *mock_xstrdup(const char *s)
{
    return oom(strdup(s));
}
char *mock_xstrndup(const char *s, size_t n)
{
    return oom(strndup(s, n));
}

/* ---- buffers ------------------------------------------------------------------------------- */
static void buf_reserve(mock_buf_t *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1)
        cap *= 2;
    b->data = mock_xrealloc(b->data, cap);
    b->cap = cap;
}

void mock_buf_add(mock_buf_t *b, const void *data, size_t len)
{
    buf_reserve(b, len);
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
}

void mock_buf_adds(mock_buf_t *b, const char *s)
{
    mock_buf_add(b, s, strlen(s));
}

void mock_buf_addf(mock_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char small[256];
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof(small)) {
        mock_buf_add(b, small, (size_t)n);
        return;
    }
    buf_reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void mock_buf_reset(mock_buf_t *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

void mock_buf_free(mock_buf_t *b)
{
    free(b->data);
    *b = (mock_buf_t)MOCK_BUF_INIT;
}

/* ---- UTF-8 and JSON --------------------------------------------------------------------- */
bool mock_utf8_valid(const char *str, size_t n, size_t *bad_offset)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t len;
        unsigned cp, min;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            len = 2, cp = c & 0x1f, min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            len = 3, cp = c & 0x0f, min = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
            len = 4, cp = c & 0x07, min = 0x10000;
        } else {
            goto bad;
        }
        if (i + len > n)
            goto bad;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                goto bad;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            goto bad;
        i += len;
    }
    return true;
bad:
    if (bad_offset)
        *bad_offset = i;
    return false;
}

json_t *mock_json_parse(const char *body, size_t len, char *msg, size_t msgsize, bool *invalid_utf8)
{
    size_t bad = 0;
    if (invalid_utf8)
        *invalid_utf8 = false;
    if (len == 0) {
        snprintf(msg, msgsize, "request body is empty: a JSON document is required");
        return NULL;
    }
    if (!mock_utf8_valid(body, len, &bad)) {
        if (invalid_utf8)
            *invalid_utf8 = true;
        snprintf(msg, msgsize, "request body is not valid UTF-8 (byte %zu)", bad);
        return NULL;
    }
    json_error_t err;
    json_t *j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &err);
    if (!j)
        snprintf(msg, msgsize, "malformed JSON at line %d column %d: %s", err.line, err.column,
                 err.text);
    return j;
}

/* ---- --healthcheck --------------------------------------------------------------------------- */
static int on_status_done(http_parser *p)
{
    *(int *)p->data = (int)p->status_code;
    return 1; /* skip the body: the status is all we need */
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int mock_healthcheck(int port, const char *path, int timeout_ms)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return 1;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int64_t deadline = now_ms() + timeout_ms;
    int status = 0;
    char req[512];
    int n =
        snprintf(req, sizeof(req),
                 "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n\r\n", path, port);
    if (n < 0 || (size_t)n >= sizeof(req) || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        write(fd, req, (size_t)n) != n) {
        close(fd);
        return 1;
    }
    http_parser parser;
    http_parser_init(&parser, HTTP_RESPONSE);
    parser.data = &status;
    http_parser_settings settings = {.on_headers_complete = on_status_done};
    char buf[4096];
    while (status == 0) {
        int left = (int)(deadline - now_ms());
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (left <= 0 || poll(&pfd, 1, left) <= 0)
            break;
        ssize_t r = read(fd, buf, sizeof(buf));
        if (r <= 0)
            break;
        http_parser_execute(&parser, &settings, buf, (size_t)r);
        if (HTTP_PARSER_ERRNO(&parser) != HPE_OK && status == 0)
            break;
    }
    close(fd);
    return status >= 200 && status < 300 ? 0 : 1;
}

/* ---- shared main ---------------------------------------------------------------------------- */
static void usage(const mock_app_t *app, FILE *f)
{
    fprintf(
        f,
        "usage: %s [options]\n"
        "  --host ADDR          listen address (default 0.0.0.0)\n"
        "  --port N             listen port (default $MOCK_PORT or %d; 0 = ephemeral)\n"
        "  --port-file PATH     write the bound port there once listening\n"
        "  --body-limit BYTES   larger request bodies get 413 (default %u)\n"
        "  --journal-max N      request journal entries kept (default %u; 0: none, only counted)\n"
        "  --quiet              no log line per request\n"
        "  --healthcheck [PATH] GET http://127.0.0.1:PORT%s (or PATH), exit 0 when 2xx\n"
        "  --help               this text\n%s",
        app->name, app->default_port, MOCK_DEFAULT_BODY_LIMIT, MOCK_DEFAULT_JOURNAL_MAX,
        app->health_path, app->usage ? app->usage : "");
}

static int parse_number(const char *app, const char *opt, const char *s, long long max,
                        long long *out)
{
    char *end;
    errno = 0;
    long long v = s ? strtoll(s, &end, 10) : -1;
    if (!s || errno || *end || v < 0 || v > max) {
        fprintf(stderr, "%s: option %s: expected a number between 0 and %lld (see --help)\n", app,
                opt, max);
        return -1;
    }
    *out = v;
    return 0;
}

int mock_main(const mock_app_t *app, int argc, char **argv)
{
    mock_server_config_t cfg = {.name = app->name,
                                .health_path = app->health_path,
                                .handler = app->handler,
                                .reset = app->reset,
                                .error = app->error,
                                .user = app->user};
    long long port = app->default_port, v;
    const char *env = getenv("MOCK_PORT");
    if (env && *env && parse_number(app->name, "$MOCK_PORT", env, 65535, &port) < 0)
        return 2;
    const char *health = NULL;
    bool healthcheck = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(app, stdout);
            return 0;
        } else if (strcmp(a, "--host") == 0 && val) {
            cfg.host = argv[++i];
        } else if (strcmp(a, "--port") == 0) {
            if (parse_number(app->name, a, val, 65535, &port) < 0)
                return 2;
            i++;
        } else if (strcmp(a, "--port-file") == 0 && val) {
            cfg.port_file = argv[++i];
        } else if (strcmp(a, "--body-limit") == 0 || strcmp(a, "--journal-max") == 0) {
            bool body = a[2] == 'b';
            if (parse_number(app->name, a, val, 1LL << 40, &v) < 0)
                return 2;
            if (body && v == 0) {
                fprintf(stderr, "%s: option --body-limit: must be at least 1 byte\n", app->name);
                return 2;
            }
            *(body ? &cfg.body_limit : &cfg.journal_max) = (size_t)v;
            cfg.no_journal = !body ? v == 0 : cfg.no_journal;
            i++;
        } else if (strcmp(a, "--quiet") == 0) {
            cfg.quiet = true;
        } else if (strcmp(a, "--healthcheck") == 0) {
            healthcheck = true;
            if (val && val[0] == '/')
                health = argv[++i];
        } else {
            int r = app->option_cb ? app->option_cb(app->user, argc, argv, &i) : 0;
            if (r < 0)
                return 2;
            if (r == 0) {
                fprintf(stderr, "%s: unknown option or missing value: %s (see --help)\n", app->name,
                        a);
                return 2;
            }
        }
    }
    if (healthcheck)
        return mock_healthcheck((int)port, health ? health : app->health_path, 2000);
    cfg.port = (int)port;
    if (app->start_cb && app->start_cb(app->user) != 0)
        return 1;
    setvbuf(stdout, NULL, _IOFBF, 1 << 16); /* flushed once per loop iteration */
    uv_loop_t loop;
    uv_loop_init(&loop);
    mock_server_t *srv = mock_server_new(&loop, &cfg);
    int status = 0;
    if (mock_server_listen(srv) != 0) {
        mock_server_stop(srv);
        uv_run(&loop, UV_RUN_DEFAULT);
        status = 1;
    } else {
        mock_server_run(srv);
    }
    int r = uv_loop_close(&loop);
    if (r != 0)
        fprintf(stderr, "%s: event loop still busy at exit: %s\n", app->name, uv_strerror(r));
    mock_server_free(srv);
    return status;
}
