/* envtest-reaper: the watchdog that runs in a container (issue 13), as Testcontainers' Ryuk does,
 * so that it outlives whatever kills envtest: SIGKILL, the OOM killer, a CI job whose whole cgroup
 * is killed. A static binary, the only file of a FROM scratch image that envtest builds locally.
 *
 *   envtest-reaper --project P [--grace S] [--port N] [--listen ADDR] [--socket PATH]
 *                  [--first-client S]
 *
 * It listens on TCP port N (7777) of ADDR (all of the container's addresses; envtest runs it in the
 * host's network namespace with --listen 127.0.0.1 and a free port it chose, so that the engine
 * sets up no network for it). An
 * envtest that owns project P's environment holds a connection to it: it sends "token <its lock
 * token>\n" and gets "ready\n". "release\n" (the environment is the user's now) makes the reaper
 * exit at once without touching anything; "done\n" (this client removed the environment itself)
 * makes it exit at once when no other client is connected, else it answers "watching\n" and
 * drops that client. When the last connection drops, and no new one comes
 * within the grace (10 s), or when no envtest connected within --first-client seconds (10), it
 * reaps: under the project's lock (the engine's volume envtest-lock-P, taken over only from one of
 * its own clients), unless the environment is kept (the volume P_envtest-keep) or no envtest owns
 * it (no ephemeral mark, the volume P_envtest-ephemeral: an up handed it to the user, or its
 * clients died before they made anything; then only their lock marks go), it removes every
 * container, network and volume labelled io.envtest.project=P and its clients' use marks, through
 * the engine's socket mounted at PATH (/engine.sock); then it exits (the container is created with
 * AutoRemove). It needs no registry, no shell, no libc at run time: HTTP/1.1 requests are written
 * by hand, replies parsed with http_parser, JSON with jansson. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <http_parser.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_CLIENTS 64

static const char *engine_socket = "/engine.sock";
static const char *project;
static char host_id[64] = "reaper";

static void logf_(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "envtest-reaper: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- one request to the engine ------------------------------------------------------------ */
typedef struct reply {
    int status;
    char *body;
    size_t len, cap;
    bool done;
} reply_t;

static int on_body(http_parser *p, const char *at, size_t n)
{
    reply_t *r = p->data;
    if (r->len + n + 1 > r->cap) {
        r->cap = (r->len + n + 1) * 2;
        char *b = realloc(r->body, r->cap);
        if (!b)
            return 1;
        r->body = b;
    }
    memcpy(r->body + r->len, at, n);
    r->len += n;
    r->body[r->len] = '\0';
    return 0;
}

static int on_complete(http_parser *p)
{
    ((reply_t *)p->data)->done = true;
    return 0;
}

/* METHOD path [body] -> HTTP status (and *out the parsed JSON body, or NULL), -1 on a transport
 * failure. */
static int engine(const char *method, const char *path, const char *body, json_t **out)
{
    if (out)
        *out = NULL;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", engine_socket);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        logf_("cannot reach the engine at %s: %s", engine_socket, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    char *req = NULL;
    int len = asprintf(&req,
                       "%s %s HTTP/1.1\r\nHost: engine\r\nConnection: close\r\n"
                       "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                       method, path, body ? strlen(body) : 0, body ? body : "");
    bool sent = len > 0;
    for (int off = 0; sent && off < len;) {
        ssize_t n = write(fd, req + off, (size_t)(len - off));
        if (n < 0 && errno == EINTR)
            continue;
        sent = n > 0;
        off += n > 0 ? (int)n : 0;
    }
    free(req);
    reply_t r = {0};
    http_parser parser;
    http_parser_init(&parser, HTTP_RESPONSE);
    parser.data = &r;
    http_parser_settings settings = {.on_body = on_body, .on_message_complete = on_complete};
    char buf[16384];
    while (sent && !r.done) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            break;
        size_t used = http_parser_execute(&parser, &settings, buf, (size_t)n);
        if (n == 0 || used != (size_t)n)
            break;
    }
    close(fd);
    if (!r.done) {
        free(r.body);
        logf_("%s %s: no complete reply", method, path);
        return -1;
    }
    if (out && r.body)
        *out = json_loads(r.body, 0, NULL);
    free(r.body);
    return (int)parser.status_code;
}

/* "%7B%22label%22%3A%5B%22K%3DV%22%5D%7D", i.e. {"label":["K=V"]} url-encoded */
static char *label_filter(const char *key, const char *value)
{
    char raw[512];
    snprintf(raw, sizeof(raw), "{\"label\":[\"%s=%s\"]}", key, value);
    char *out = malloc(strlen(raw) * 3 + 1), *o = out;
    for (const char *p = raw; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.')
            *o++ = (char)c;
        else
            o += sprintf(o, "%%%02X", c);
    }
    *o = '\0';
    return out;
}

/* ---- the reaping -------------------------------------------------------------------------- */
static char *tokens[MAX_CLIENTS];
static size_t n_tokens;

static bool is_client_token(const char *t)
{
    for (size_t i = 0; i < n_tokens; i++)
        if (strcmp(tokens[i], t) == 0)
            return true;
    return false;
}

static const char *lock_token_of(json_t *vol)
{
    const char *t =
        json_string_value(json_object_get(json_object_get(vol, "Labels"), "io.envtest.lock.token"));
    return t ? t : "";
}

/* Takes the project's lock for the reaping: free, or held by one of our clients (who are gone). */
static bool take_lock(char *lock_path, const char *my_token)
{
    char body[1024];
    snprintf(body, sizeof(body),
             "{\"Name\":\"envtest-lock-%s\",\"Labels\":{\"io.envtest.lock\":\"%s\","
             "\"io.envtest.lock.token\":\"%s\",\"io.envtest.lock.host\":\"%s\","
             "\"io.envtest.lock.boot\":\"none\",\"io.envtest.lock.pid\":\"1\","
             "\"io.envtest.lock.command\":\"reaper\",\"io.envtest.lock.since\":\"%lld\"}}",
             project, project, my_token, host_id, (long long)time(NULL));
    for (int attempt = 0; attempt < 3; attempt++) {
        json_t *vol = NULL;
        int st = engine("POST", "/volumes/create", body, &vol);
        if (st == 409 || (st >= 200 && st < 300 && strcmp(lock_token_of(vol), my_token) != 0)) {
            json_decref(vol);
            vol = NULL;
            engine("GET", lock_path, NULL, &vol);
        }
        const char *holder = lock_token_of(vol);
        if (strcmp(holder, my_token) == 0) {
            json_decref(vol);
            return true;
        }
        bool ours = is_client_token(holder);
        json_decref(vol);
        if (!ours) {
            logf_("the lock of %s is held by %s, not by a client of this reaper: it is its "
                  "environment now",
                  project, holder);
            return false;
        }
        char del[600];
        snprintf(del, sizeof(del), "%s?force=1", lock_path);
        engine("DELETE", del, NULL, NULL);
    }
    return false;
}

/* DELETE path. A network is first rid of what is still on it (force): a container that is not the
 * project's, as the container of an envtest that ran in one and joined the network. Docker refuses
 * to remove a network with endpoints; Podman (4.3) removes it and leaves the container with a
 * dangling attachment that breaks its next exec. */
static int delete_object(const char *path)
{
    json_t *net = NULL;
    if (strncmp(path, "/networks/", 10) == 0 && engine("GET", path, NULL, &net) == 200) {
        const char *id;
        json_t *unused;
        json_object_foreach(json_object_get(net, "Containers"), id, unused)
        {
            char disconnect[1024], body[256];
            snprintf(disconnect, sizeof(disconnect), "%s/disconnect", path);
            snprintf(body, sizeof(body), "{\"Container\":\"%s\",\"Force\":true}", id);
            engine("POST", disconnect, body, NULL);
        }
    }
    json_decref(net);
    return engine("DELETE", path, NULL, NULL);
}

static int remove_listed(const char *list_path, const char *array_key, const char *id_key,
                         const char *delete_prefix, const char *delete_query)
{
    json_t *reply = NULL;
    if (engine("GET", list_path, NULL, &reply) != 200)
        return -1;
    json_t *items = array_key ? json_object_get(reply, array_key) : reply;
    /* one process per object: the engine removes them side by side */
    int n = 0;
    size_t started = 0;
    for (size_t i = 0; i < json_array_size(items); i++) {
        const char *id = json_string_value(json_object_get(json_array_get(items, i), id_key));
        if (!id)
            continue;
        char path[1024];
        snprintf(path, sizeof(path), "%s%s%s", delete_prefix, id, delete_query);
        pid_t pid = fork();
        if (pid == 0) {
            int st = delete_object(path);
            _exit(st >= 200 && st < 300 ? 0 : 1);
        }
        if (pid < 0) {
            int st = delete_object(path);
            n += st >= 200 && st < 300;
        } else {
            started++;
        }
    }
    for (; started > 0; started--) {
        int status = 0;
        if (wait(&status) < 0)
            break;
        n += WIFEXITED(status) && WEXITSTATUS(status) == 0;
    }
    json_decref(reply);
    return n;
}

/* The gone clients' lock heartbeats. */
static void remove_client_beats(void)
{
    for (size_t i = 0; i < n_tokens; i++) {
        char *f = label_filter("io.envtest.lock-beat", tokens[i]);
        char path[1024];
        snprintf(path, sizeof(path), "/volumes?filters=%s", f);
        remove_listed(path, "Volumes", "Name", "/volumes/", "?force=1");
        free(f);
    }
}

static void reap(void)
{
    char my_token[128], lock_path[512], keep_path[512], mark_path[512];
    snprintf(my_token, sizeof(my_token), "reaper-%s-%lld", host_id, (long long)time(NULL));
    snprintf(lock_path, sizeof(lock_path), "/volumes/envtest-lock-%s", project);
    snprintf(keep_path, sizeof(keep_path), "/volumes/%s_envtest-keep", project);
    if (!take_lock(lock_path, my_token))
        return;
    snprintf(mark_path, sizeof(mark_path), "/volumes/%s_envtest-ephemeral", project);
    if (engine("GET", keep_path, NULL, NULL) == 200) {
        logf_("%s is kept: nothing removed", project);
    } else if (engine("GET", mark_path, NULL, NULL) == 404) {
        /* no envtest owns it (an up handed it to the user, or none was made): only the gone
         * clients' lock marks go */
        logf_("%s is not owned by an envtest (no ephemeral mark): nothing removed", project);
        remove_client_beats();
    } else {
        char *f = label_filter("io.envtest.project", project);
        char path[1024];
        snprintf(path, sizeof(path), "/containers/json?all=1&filters=%s", f);
        int c = remove_listed(path, NULL, "Id", "/containers/", "?force=1&v=1");
        /* what is left: a pod holder Podman would not remove while a service in its namespace
         * was still there ("has dependent containers") */
        c += remove_listed(path, NULL, "Id", "/containers/", "?force=1&v=1");
        snprintf(path, sizeof(path), "/networks?filters=%s", f);
        int nw = remove_listed(path, NULL, "Id", "/networks/", "");
        snprintf(path, sizeof(path), "/volumes?filters=%s", f);
        int v = remove_listed(path, "Volumes", "Name", "/volumes/", "?force=1");
        free(f);
        f = label_filter("io.envtest.use", project);
        snprintf(path, sizeof(path), "/volumes?filters=%s", f);
        remove_listed(path, "Volumes", "Name", "/volumes/", "?force=1");
        free(f);
        remove_client_beats();
        logf_("%s: removed %d containers, %d networks, %d volumes", project, c, nw, v);
    }
    char del[600];
    snprintf(del, sizeof(del), "%s?force=1", lock_path);
    engine("DELETE", del, NULL, NULL);
}

/* ---- the connections ---------------------------------------------------------------------- */
typedef struct client {
    int fd;
    char line[256];
    size_t len;
} client_t;

enum client_said { SAID_LINES, SAID_RELEASE, SAID_DONE };

/* Handles what a client sent: lines, "release", or "done". */
static enum client_said client_lines(client_t *c)
{
    char *nl;
    while ((nl = memchr(c->line, '\n', c->len)) != NULL) {
        *nl = '\0';
        if (strcmp(c->line, "release") == 0)
            return SAID_RELEASE;
        if (strcmp(c->line, "done") == 0)
            return SAID_DONE;
        if (strncmp(c->line, "token ", 6) == 0 && n_tokens < MAX_CLIENTS &&
            !is_client_token(c->line + 6))
            tokens[n_tokens++] = strdup(c->line + 6);
        size_t used = (size_t)(nl - c->line) + 1;
        memmove(c->line, nl + 1, c->len - used);
        c->len -= used;
    }
    if (c->len == sizeof(c->line))
        c->len = 0; /* a line too long: dropped */
    return SAID_LINES;
}

int main(int argc, char **argv)
{
    int port = 7777;
    const char *listen_addr = NULL;
    long long grace_ms = 10000, first_ms = 10000;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--project") == 0)
            project = argv[i + 1];
        else if (strcmp(argv[i], "--grace") == 0)
            grace_ms = (long long)(atof(argv[i + 1]) * 1000);
        else if (strcmp(argv[i], "--port") == 0)
            port = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--listen") == 0)
            listen_addr = argv[i + 1];
        else if (strcmp(argv[i], "--socket") == 0)
            engine_socket = argv[i + 1];
        else if (strcmp(argv[i], "--first-client") == 0)
            first_ms = (long long)(atof(argv[i + 1]) * 1000);
    }
    if (!project) {
        logf_("usage: envtest-reaper --project P [--grace S] [--port N] [--listen ADDR] "
              "[--socket PATH]");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    gethostname(host_id, sizeof(host_id) - 1);
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (listen_addr && inet_pton(AF_INET, listen_addr, &sa.sin_addr) != 1) {
        logf_("--listen %s: not an IPv4 address", listen_addr);
        return 2;
    }
    if (ls < 0 || bind(ls, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(ls, 16) < 0) {
        logf_("listen on port %d: %s", port, strerror(errno));
        return 1;
    }
    logf_("watching %s (grace %.1f s)", project, grace_ms / 1000.0);
    client_t clients[MAX_CLIENTS];
    size_t n = 0;
    long long deadline = now_ms() + first_ms; /* reap if nobody comes */
    for (;;) {
        struct pollfd pf[MAX_CLIENTS + 1];
        pf[0] = (struct pollfd){.fd = ls, .events = POLLIN};
        for (size_t i = 0; i < n; i++)
            pf[i + 1] = (struct pollfd){.fd = clients[i].fd, .events = POLLIN};
        long long wait = deadline > 0 ? deadline - now_ms() : -1;
        if (deadline > 0 && wait <= 0) {
            logf_("no envtest holds %s any more: reaping", project);
            reap();
            return 0;
        }
        int r = poll(pf, n + 1, deadline > 0 ? (int)wait : -1);
        if (r < 0 && errno != EINTR)
            return 1;
        if (r <= 0)
            continue;
        for (size_t i = n; i-- > 0;) {
            if (!pf[i + 1].revents)
                continue;
            client_t *c = &clients[i];
            ssize_t got = read(c->fd, c->line + c->len, sizeof(c->line) - c->len);
            if (got > 0) {
                c->len += (size_t)got;
                enum client_said said = client_lines(c);
                if (said == SAID_RELEASE) {
                    logf_("released: %s is the user's now", project);
                    return 0;
                }
                if (said == SAID_DONE && n == 1) {
                    logf_("done: the last envtest removed %s itself", project);
                    return 0;
                }
                if (said == SAID_DONE && write(c->fd, "watching\n", 9) != 9)
                    logf_("a client left at once");
                if (said == SAID_LINES)
                    continue;
            }
            if (got < 0 && errno == EINTR)
                continue;
            close(c->fd);
            clients[i] = clients[--n];
            if (n == 0)
                deadline = now_ms() + grace_ms;
        }
        if (pf[0].revents & POLLIN) {
            int fd = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
            if (fd >= 0 && n < MAX_CLIENTS) {
                clients[n++] = (client_t){.fd = fd};
                deadline = 0;
                if (write(fd, "ready\n", 6) != 6)
                    logf_("a client left at once");
            } else if (fd >= 0) {
                close(fd);
            }
        }
    }
}
