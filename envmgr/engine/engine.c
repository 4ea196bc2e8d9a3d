/* Docker Engine API client: handles, HTTP with libcurl, errors, version negotiation, and the plain
 * JSON endpoints (networks, volumes, containers, images). Streams (logs, exec) live in
 * engine_demux.c, builds in engine_build.c. */
#include "engine_private.h"

#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <envmgr/log.h>

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result;

/* Debian's libcurl brings libssh2 for SCP/SFTP, which envtest never speaks, and curl_global_init
 * calls libssh2_init(0), which initialises OpenSSL: about 2 MB of RSS in every command. libssh2
 * counts its initialisations and sets up crypto only in the first, so a first call with
 * LIBSSH2_INIT_NO_CRYPTO (documented, value 1) skips it. Looked up at run time: no header, and
 * nothing happens when libcurl is built without libssh2. OpenSSL still initialises itself on first
 * use should anything ever need it. */
static void libssh2_init_without_crypto(void)
{
    int (*ssh2_init)(int) = (int (*)(int))dlsym(RTLD_DEFAULT, "libssh2_init");
    if (ssh2_init)
        (void)ssh2_init(1 /* LIBSSH2_INIT_NO_CRYPTO */);
}

static void curl_init_once(void)
{
    libssh2_init_without_crypto();
    curl_init_result = curl_global_init(CURL_GLOBAL_ALL);
}

/* ---- host parsing --------------------------------------------------------------------------- */

static int engine_parse_host(envmgr_engine_t *e, const char *host, envmgr_error_t *err)
{
    if (strncmp(host, "unix://", 7) == 0 || host[0] == '/') {
        const char *path = host[0] == '/' ? host : host + 7;
        if (path[0] != '/')
            return envmgr_error_set(err, ENVMGR_E_CONFIG, 0,
                                    "Docker host \"%s\": a unix socket path must be absolute",
                                    host);
        e->host = envmgr_xasprintf("unix://%s", path);
        e->socket_path = envmgr_xstrdup(path);
        e->base_url = envmgr_xstrdup("http://localhost");
        e->display = envmgr_xstrdup(path);
        return 0;
    }
    if (strncmp(host, "ssh://", 6) == 0)
        return engine_ssh_parse(e, host, err);
    const char *addr = NULL;
    if (strncmp(host, "tcp://", 6) == 0)
        addr = host + 6;
    else if (strncmp(host, "http://", 7) == 0)
        addr = host + 7;
    if (!addr || !*addr) {
        envmgr_error_set(
            err, ENVMGR_E_CONFIG, 0,
            "Docker host \"%s\" is not supported (use unix:///path, tcp://host:port or "
            "ssh://[user@]host)",
            host);
        return envmgr_error_hint(
            err, "set DOCKER_HOST to unix:///var/run/docker.sock or tcp://host:2375");
    }
    size_t n = strcspn(addr, "/");
    envmgr_cleanup_free char *hostport = envmgr_xstrndup(addr, n);
    bool has_port = strrchr(hostport, ':') && hostport[strlen(hostport) - 1] != ']';
    /* Docker's default ports: 2376 with TLS, 2375 without */
    const char *verify = getenv("DOCKER_TLS_VERIFY");
    const char *port = verify && *verify ? ":2376" : ":2375";
    e->host = envmgr_xasprintf("tcp://%s%s", hostport, has_port ? "" : port);
    e->base_url = envmgr_xasprintf("http://%s%s", hostport, has_port ? "" : port);
    e->display = envmgr_xstrdup(e->host);
    return 0;
}

/* ---- version numbers ------------------------------------------------------------------------ */

/* "1.41" -> 1041; -1 when malformed. */
static int api_version_number(const char *v)
{
    int major, minor;
    char tail;
    if (!v || sscanf(v, "%d.%d%c", &major, &minor, &tail) != 2 || major < 0 || minor < 0 ||
        minor > 999)
        return -1;
    return major * 1000 + minor;
}

/* Picks the API version from the Api-Version header of GET /_ping, as Docker's own client does:
 * /_ping is answered at once, where /version first asks containerd and runc theirs (25 ms, in
 * every command). An engine that needs a newer API than ours says so in its first error reply. */
static int engine_negotiate(envmgr_engine_t *e, const char *api, envmgr_error_t *err)
{
    int theirs = api_version_number(api);
    if (theirs < 0)
        return envmgr_error_set(err, ENVMGR_E_ENGINE, 0,
                                "GET /_ping: the Docker engine at %s gave no valid Api-Version "
                                "header (got %s%s%s)",
                                e->display, api ? "\"" : "", api ? api : "none", api ? "\"" : "");
    int ours = api_version_number(ENGINE_API_VERSION_MAX);
    int floor = api_version_number(ENGINE_API_VERSION_MIN);
    if (theirs < floor) {
        envmgr_error_set(err, ENVMGR_E_ENGINE, 0,
                         "the Docker engine at %s speaks API %s, older than %s (Docker 20.10), "
                         "the oldest envtest supports",
                         e->display, api, ENGINE_API_VERSION_MIN);
        return envmgr_error_hint(err, "upgrade Docker to 20.10 or newer");
    }
    snprintf(e->api_version, sizeof(e->api_version), "%s",
             theirs < ours ? api : ENGINE_API_VERSION_MAX);
    return 0;
}

static int engine_ping(envmgr_engine_t *e, bool unversioned, int timeout_ms, envmgr_error_t *err)
{
    engine_call_t call = {
        .method = "GET", .path = "/_ping", .unversioned = unversioned, .timeout_ms = timeout_ms};
    envmgr_buf_t body = ENVMGR_BUF_INIT;
    long status = 0;
    int r = engine_call(e, &call, &status, &body, err);
    if (r == 0 && status != 200)
        r = engine_status_error(e, &call, status, &body, err);
    envmgr_buf_free(&body);
    return r;
}

/* GET /_ping, unversioned; negotiates from its Api-Version header. */
static int engine_ping_negotiate(envmgr_engine_t *e, envmgr_error_t *err)
{
    if (engine_ping(e, true, (int)(ENGINE_TIMEOUT_MS < 30000 ? ENGINE_TIMEOUT_MS : 30000), err) < 0)
        return -1;
    struct curl_header *h = NULL;
    const char *api = curl_easy_header(e->curl, "Api-Version", 0, CURLH_HEADER, -1, &h) == CURLHE_OK
                          ? h->value
                          : NULL;
    return engine_negotiate(e, api, err);
}

/* ---- handles -------------------------------------------------------------------------------- */

static int engine_new(const engine_target_t *t, envmgr_engine_t **out, envmgr_error_t *err)
{
    const char *host = t->host;
    pthread_once(&curl_once, curl_init_once);
    if (curl_init_result != CURLE_OK)
        return envmgr_error_set(err, ENVMGR_E_SYSTEM, 0, "curl_global_init: %s",
                                curl_easy_strerror(curl_init_result));
    envmgr_engine_t *e = envmgr_xcalloc(1, sizeof(*e));
    if (engine_parse_host(e, host, err) < 0 || engine_tls_setup(e, t, err) < 0) {
        envmgr_engine_close(e);
        return -1;
    }
    e->curl = curl_easy_init();
    if (!e->curl) {
        envmgr_engine_close(e);
        return envmgr_error_set(err, ENVMGR_E_SYSTEM, 0, "curl_easy_init failed");
    }
    *out = e;
    return 0;
}

int envmgr_engine_open(const char *host, envmgr_engine_t **out, envmgr_error_t *err)
{
    *out = NULL;
    engine_target_t t;
    if (engine_resolve_host(host, &t, err) < 0) {
        engine_target_free(&t);
        return -1;
    }
    envmgr_engine_t *e;
    int r = engine_new(&t, &e, err);
    if (r == 0 && t.context)
        envmgr_debug("Docker context %s: %s", t.context, t.host);
    engine_target_free(&t);
    if (r < 0)
        return -1;
    if (engine_ping_negotiate(e, err) < 0) {
        envmgr_engine_close(e);
        return -1;
    }
    *out = e;
    return 0;
}

int envmgr_engine_dup(const envmgr_engine_t *engine, envmgr_engine_t **out, envmgr_error_t *err)
{
    *out = NULL;
    envmgr_engine_t *e;
    /* the same TLS files as the original (a context's are not in the environment) */
    engine_target_t t = {.host = engine->host};
    if (engine_new(&t, &e, err) < 0)
        return -1;
    if (engine->tls && !e->tls) {
        e->tls = true;
        e->tls_verify = engine->tls_verify;
        e->tls_ca = envmgr_xstrdup(engine->tls_ca);
        e->tls_cert = envmgr_xstrdup(engine->tls_cert);
        e->tls_key = envmgr_xstrdup(engine->tls_key);
        free(e->base_url);
        e->base_url = envmgr_xstrdup(engine->base_url);
    }
    memcpy(e->api_version, engine->api_version, sizeof(e->api_version));
    envmgr_engine_set_self(e, engine->self);
    *out = e;
    return 0;
}

void envmgr_engine_close(envmgr_engine_t *engine)
{
    if (!engine)
        return;
    if (engine->curl)
        curl_easy_cleanup(engine->curl);
    engine_ssh_reap(engine);
    for (size_t i = 0; i < engine->n_joined; i++)
        free(engine->joined[i]);
    free(engine->joined);
    free(engine->self);
    free(engine->host);
    free(engine->socket_path);
    free(engine->base_url);
    free(engine->display);
    free(engine);
}

const char *envmgr_engine_host(const envmgr_engine_t *engine)
{
    return engine->host;
}

const char *envmgr_engine_api_version(const envmgr_engine_t *engine)
{
    return engine->api_version;
}

/* ---- one HTTP request ----------------------------------------------------------------------- */

struct call_state {
    envmgr_engine_t *engine;
    const engine_call_t *call;
    envmgr_buf_t *body;
    envmgr_error_t *err;
    long status;
    bool stopped, sink_failed, source_failed, interrupted;
    bool runs_to_its_end; /* see engine_call */
};

static size_t call_read_cb(char *buf, size_t size, size_t nitems, void *userdata)
{
    struct call_state *st = userdata;
    long n = st->call->source(st->call->source_userdata, buf, size * nitems, st->err);
    if (n >= 0)
        return (size_t)n;
    st->source_failed = true;
    return CURL_READFUNC_ABORT;
}

static size_t call_write_cb(char *data, size_t size, size_t nmemb, void *userdata)
{
    struct call_state *st = userdata;
    size_t len = size * nmemb;
    if (st->status == 0)
        curl_easy_getinfo(st->engine->curl, CURLINFO_RESPONSE_CODE, &st->status);
    if (st->call->sink && st->status >= 200 && st->status < 300) {
        int r = st->call->sink(st->call->sink_userdata, data, len, st->err);
        if (r == 0)
            return len;
        if (r < 0)
            st->sink_failed = true;
        else
            st->stopped = true;
        return 0; /* makes curl stop with CURLE_WRITE_ERROR */
    }
    envmgr_buf_add(st->body, data, len);
    return len;
}

static int call_progress_cb(void *userdata, curl_off_t dltotal, curl_off_t dlnow,
                            curl_off_t ultotal, curl_off_t ulnow)
{
    struct call_state *st = userdata;
    if (envmgr_interrupted() && !st->runs_to_its_end) {
        st->interrupted = true;
        return 1;
    }
    return 0;
}

char *engine_full_path(const envmgr_engine_t *engine, const engine_call_t *call)
{
    if (call->unversioned)
        return envmgr_xstrdup(call->path);
    return envmgr_xasprintf("/v%s%s", engine->api_version, call->path);
}

static long timeout_ms_value = 120000L;
static pthread_once_t timeout_once = PTHREAD_ONCE_INIT;

static void timeout_init(void)
{
    const char *v = getenv("ENVTEST_ENGINE_TIMEOUT");
    char *end;
    double s = v && *v ? strtod(v, &end) : 0;
    if (v && *v && *end == '\0' && s > 0)
        timeout_ms_value = (long)(s * 1000);
}

long engine_timeout_ms(void)
{
    pthread_once(&timeout_once, timeout_init);
    return timeout_ms_value;
}

static int engine_unreachable(envmgr_engine_t *e, const char *reason, envmgr_error_t *err)
{
    envmgr_error_set(err, ENVMGR_E_ENGINE, 0, "cannot reach the Docker engine at %s: %s",
                     e->display, reason);
    return envmgr_error_hint(err,
                             "start the Docker engine (sudo dockerd, or run ci/setup.sh), or set "
                             "DOCKER_HOST to where it listens (e.g. unix:///var/run/docker.sock)%s",
                             strstr(reason, "ermission") ? "; to use the socket without sudo, add "
                                                           "your user to the docker group"
                                                         : "");
}

static int engine_transport_error(envmgr_engine_t *e, const engine_call_t *call, CURLcode rc,
                                  struct call_state *st, envmgr_error_t *err)
{
    envmgr_cleanup_free char *path = engine_full_path(e, call);
    const char *detail = e->curl_error[0] ? e->curl_error : curl_easy_strerror(rc);
    long os_errno = 0;
    curl_easy_getinfo(e->curl, CURLINFO_OS_ERRNO, &os_errno);
    switch (rc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        return engine_unreachable(e, os_errno ? strerror((int)os_errno) : detail, err);
    case CURLE_OPERATION_TIMEDOUT:
        return envmgr_error_set(err, ENVMGR_E_ENGINE, ETIMEDOUT,
                                "%s %s: the Docker engine at %s did not answer within %ld ms",
                                call->method, path, e->display, call->timeout_ms);
    case CURLE_GOT_NOTHING:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_PARTIAL_FILE:
        return envmgr_error_set(err, ENVMGR_E_ENGINE, (int)st->status,
                                "%s %s: the connection to the Docker engine at %s closed "
                                "mid-reply (%s)",
                                call->method, path, e->display, detail);
    default:
        return envmgr_error_set(err, ENVMGR_E_ENGINE, (int)st->status, "%s %s: %s", call->method,
                                path, detail);
    }
}

static struct curl_slist *call_headers(const engine_call_t *call)
{
    struct curl_slist *h = curl_slist_append(NULL, "Expect:");
    if (call->source)
        h = curl_slist_append(h, "Transfer-Encoding: chunked");
    if (call->body || call->source) {
        envmgr_cleanup_free char *ct = envmgr_xasprintf(
            "Content-Type: %s", call->content_type ? call->content_type : "application/json");
        h = curl_slist_append(h, ct);
    }
    return h;
}

static void call_setup(envmgr_engine_t *e, const engine_call_t *call, const char *url,
                       struct curl_slist *headers, struct call_state *st)
{
    CURL *c = e->curl;
    curl_easy_reset(c); /* keeps the connection cache: the connection is reused */
    curl_easy_setopt(c, CURLOPT_URL, url);
    if (e->socket_path)
        curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, e->socket_path);
    engine_remote_setopt(e, c);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, ENGINE_CONNECT_TIMEOUT_MS);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, call->timeout_ms);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, e->curl_error);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, call_write_cb);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, st);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, call_progress_cb);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, st);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    if (strcmp(call->method, "GET") == 0) {
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
        return;
    }
    if (strcmp(call->method, "DELETE") == 0 && !call->body) {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "DELETE");
        return;
    }
    if (strcmp(call->method, "HEAD") == 0) {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
        return;
    }
    if (call->source) {
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_READFUNCTION, call_read_cb);
        curl_easy_setopt(c, CURLOPT_READDATA, st);
    } else {
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)call->body_len);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, call->body ? (const char *)call->body : "");
    }
    if (strcmp(call->method, "POST") != 0)
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, call->method);
}

/* The replay transport: the reply in pieces through the write callback curl would call. */
static int replay_perform(envmgr_engine_t *e, const engine_call_t *call, struct call_state *st)
{
    const char *data = NULL;
    size_t len = 0, piece = 0;
    if (e->replay(e->replay_userdata, call, &st->status, &data, &len, &piece, st->err) < 0)
        return -1;
    if (st->status < 100)
        st->status = 100; /* what curl reports is a status line's */
    for (size_t off = 0; off < len;) {
        size_t n = piece && piece < len - off ? piece : len - off;
        if (call_write_cb((char *)data + off, 1, n, st) != n)
            break; /* the sink stopped or failed */
        off += n;
    }
    return st->sink_failed || st->source_failed ? -1 : 0;
}

envmgr_engine_t *engine_replay_open(engine_replay_fn replay, void *userdata,
                                    const char *api_version)
{
    envmgr_engine_t *e = envmgr_xcalloc(1, sizeof(*e));
    e->replay = replay;
    e->replay_userdata = userdata;
    e->host = envmgr_xstrdup("replay://");
    e->base_url = envmgr_xstrdup("http://replay");
    e->display = envmgr_xstrdup("replay");
    snprintf(e->api_version, sizeof(e->api_version), "%s", api_version);
    return e;
}

int engine_call(envmgr_engine_t *e, const engine_call_t *call, long *status, envmgr_buf_t *body,
                envmgr_error_t *err)
{
    envmgr_cleanup_free char *path = engine_full_path(e, call);
    envmgr_cleanup_free char *url = envmgr_xasprintf("%s%s", e->base_url, path);
    /* Ctrl-C: no new call starts, and a read or an unbounded one (a build, a pull, logs, wait)
     * stops at once; a bounded call that changes something runs to its end: cut mid-way, the
     * engine would finish it alone, and what it made would outlive the clean-up, which removes
     * only what it knows of. */
    bool changes = strcmp(call->method, "GET") != 0 && strcmp(call->method, "HEAD") != 0;
    struct call_state st = {.engine = e,
                            .call = call,
                            .body = body,
                            .err = err,
                            .runs_to_its_end = changes && call->timeout_ms > 0};
    *status = 0;
    if (envmgr_interrupted())
        return envmgr_error_set(err, ENVMGR_E_INTERRUPTED, EINTR, "%s %s: interrupted",
                                call->method, path);
    if (e->replay) {
        int r = replay_perform(e, call, &st);
        *status = st.status;
        return r;
    }
    struct curl_slist *headers = call_headers(call);
    e->curl_error[0] = '\0';
    call_setup(e, call, url, headers, &st);
    int64_t t0 = envmgr_now_ms();
    CURLcode rc = curl_easy_perform(e->curl);
    curl_slist_free_all(headers);
    curl_easy_getinfo(e->curl, CURLINFO_RESPONSE_CODE, &st.status);
    *status = st.status;
    /* `envtest -v`: every Engine call with its status and time, for "why is this slow?" */
    envmgr_debug("engine: %s %s -> %ld in %" PRId64 " ms", call->method, path, st.status,
                 envmgr_now_ms() - t0);
    if (st.sink_failed || st.source_failed)
        return -1;
    if (st.interrupted)
        return envmgr_error_set(err, ENVMGR_E_INTERRUPTED, EINTR, "%s %s: interrupted",
                                call->method, path);
    if (rc == CURLE_OK || (rc == CURLE_WRITE_ERROR && st.stopped))
        return 0;
    return engine_transport_error(e, call, rc, &st, err);
}

int engine_status_error(envmgr_engine_t *e, const engine_call_t *call, long status,
                        const envmgr_buf_t *body, envmgr_error_t *err)
{
    envmgr_cleanup_free char *path = engine_full_path(e, call);
    envmgr_cleanup_json json_t *reply =
        body->len ? json_loadb(body->data, body->len, 0, NULL) : NULL;
    const char *message = json_string_value(json_object_get(reply, "message"));
    envmgr_cleanup_free char *text = NULL;
    if (!message && body->len) {
        text = envmgr_xstrndup(body->data, body->len > 512 ? 512 : body->len);
        text[strcspn(text, "\r\n")] = '\0';
        message = text;
    }
    if (!message || !*message)
        message = "(no message)";
    enum envmgr_error_kind kind = status == 404   ? ENVMGR_E_NOT_FOUND
                                  : status == 409 ? ENVMGR_E_ENV
                                                  : ENVMGR_E_ENGINE;
    envmgr_error_set(err, kind, (int)status, "%s (HTTP %ld from %s %s)", message, status,
                     call->method, path);
    if (status == 400 && strstr(message, "too old"))
        envmgr_error_hint(err,
                          "this Docker engine needs a newer API than envtest's %s: upgrade "
                          "envtest, or use an older Docker engine",
                          ENGINE_API_VERSION_MAX);
    return -1;
}

int engine_json_call(envmgr_engine_t *e, const engine_call_t *call, json_t **reply,
                     envmgr_error_t *err)
{
    if (reply)
        *reply = NULL;
    envmgr_buf_t body = ENVMGR_BUF_INIT;
    long status = 0;
    if (engine_call(e, call, &status, &body, err) < 0) {
        envmgr_buf_free(&body);
        return -1;
    }
    /* 304 Not Modified: start of a running container, stop of a stopped one. */
    if ((status < 200 || status >= 300) && status != 304) {
        engine_status_error(e, call, status, &body, err);
        envmgr_buf_free(&body);
        return -1;
    }
    if (!reply || body.len == 0 || call->sink) {
        envmgr_buf_free(&body);
        return 0;
    }
    json_error_t jerr;
    *reply = json_loadb(body.data, body.len, 0, &jerr);
    if (!*reply) {
        envmgr_cleanup_free char *path = engine_full_path(e, call);
        envmgr_error_set(err, ENVMGR_E_ENGINE, (int)status,
                         "%s %s: malformed JSON reply from the Docker engine (%zu bytes, truncated "
                         "or not JSON): %s at line %d column %d",
                         call->method, path, body.len, jerr.text, jerr.line, jerr.column);
    }
    envmgr_buf_free(&body);
    return *reply ? 0 : -1;
}

/* ---- query strings -------------------------------------------------------------------------- */

void engine_query_add(envmgr_buf_t *q, const char *key, const char *value)
{
    char *escaped = curl_easy_escape(NULL, value, 0);
    envmgr_buf_addf(q, "%c%s=%s", q->len ? '&' : '?', key, escaped ? escaped : "");
    curl_free(escaped);
}

void engine_query_add_kvlist(envmgr_buf_t *q, const char *key, const envmgr_kvlist_t *l)
{
    envmgr_cleanup_json json_t *obj = json_object();
    for (size_t i = 0; l && i < l->n; i++)
        json_object_set_new(obj, l->items[i].key,
                            json_string(l->items[i].value ? l->items[i].value : ""));
    envmgr_cleanup_free char *text = json_dumps(obj, JSON_COMPACT);
    engine_query_add(q, key, text);
}

static void query_add_label_filter(envmgr_buf_t *q, const char *label_filter)
{
    if (!label_filter)
        return;
    envmgr_cleanup_json json_t *filters = json_pack("{s:[s]}", "label", label_filter);
    envmgr_cleanup_free char *text = json_dumps(filters, JSON_COMPACT);
    engine_query_add(q, "filters", text);
}

/* ---- generic requests ----------------------------------------------------------------------- */

static int engine_simple(envmgr_engine_t *e, const char *method, const char *path, json_t *body,
                         long timeout_ms, json_t **reply, envmgr_error_t *err)
{
    envmgr_cleanup_free char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    engine_call_t call = {.method = method,
                          .path = path,
                          .body = text,
                          .body_len = text ? strlen(text) : 0,
                          .timeout_ms = timeout_ms};
    return engine_json_call(e, &call, reply, err);
}

/* GET base[?all=1][&filters={"label":[label_filter]}]; for the list endpoints. */
static int engine_list_get(envmgr_engine_t *engine, const char *base, bool all,
                           const char *label_filter, json_t **reply, envmgr_error_t *err)
{
    envmgr_buf_t q = ENVMGR_BUF_INIT;
    envmgr_buf_adds(&q, base);
    envmgr_buf_t params = ENVMGR_BUF_INIT;
    if (all)
        engine_query_add(&params, "all", "1");
    query_add_label_filter(&params, label_filter);
    if (params.len)
        envmgr_buf_add(&q, params.data, params.len);
    envmgr_buf_free(&params);
    int r = engine_simple(engine, "GET", q.data, NULL, ENGINE_TIMEOUT_MS, reply, err);
    envmgr_buf_free(&q);
    return r;
}

/* engine_list_get for endpoints that answer a JSON array. */
static int engine_list_array(envmgr_engine_t *engine, const char *base, bool all,
                             const char *label_filter, json_t **out, envmgr_error_t *err)
{
    *out = NULL;
    int r = engine_list_get(engine, base, all, label_filter, out, err);
    if (r == 0 && !json_is_array(*out)) {
        json_decref(*out);
        *out = NULL;
        return envmgr_error_set(err, ENVMGR_E_ENGINE, 0,
                                "GET %s: the Docker engine's reply is not an array", base);
    }
    return r;
}

int envmgr_engine_request(envmgr_engine_t *engine, const char *method, const char *path,
                          json_t *body, json_t **reply, envmgr_error_t *err)
{
    return engine_simple(engine, method, path, body, ENGINE_TIMEOUT_MS, reply, err);
}

int envmgr_engine_ping(envmgr_engine_t *engine, envmgr_error_t *err)
{
    return engine_ping(engine, false, (int)(ENGINE_TIMEOUT_MS < 10000 ? ENGINE_TIMEOUT_MS : 10000),
                       err);
}

int envmgr_engine_version(envmgr_engine_t *engine, json_t **out, envmgr_error_t *err)
{
    return engine_simple(engine, "GET", "/version", NULL, 30000, out, err);
}

/* Reads the string member key of an object reply, for ids. */
static int reply_string(const json_t *reply, const char *key, const char *what, char **out,
                        envmgr_error_t *err)
{
    const char *s = json_string_value(json_object_get(reply, key));
    if (!s)
        return envmgr_error_set(err, ENVMGR_E_ENGINE, 0,
                                "%s: the Docker engine's reply has no \"%s\" string", what, key);
    if (out)
        *out = envmgr_xstrdup(s);
    return 0;
}

static json_t *labels_object(const envmgr_kvlist_t *labels)
{
    json_t *obj = json_object();
    for (size_t i = 0; labels && i < labels->n; i++)
        json_object_set_new(obj, labels->items[i].key,
                            json_string(labels->items[i].value ? labels->items[i].value : ""));
    return obj;
}

/* ---- images --------------------------------------------------------------------------------- */

int envmgr_engine_image_inspect(envmgr_engine_t *engine, const char *name, json_t **out,
                                envmgr_error_t *err)
{
    envmgr_cleanup_free char *path = envmgr_xasprintf("/images/%s/json", name);
    return engine_simple(engine, "GET", path, NULL, ENGINE_TIMEOUT_MS, out, err);
}

int envmgr_engine_image_remove(envmgr_engine_t *engine, const char *name, bool force,
                               envmgr_error_t *err)
{
    envmgr_buf_t q = ENVMGR_BUF_INIT;
    envmgr_buf_addf(&q, "/images/%s", name);
    if (force)
        envmgr_buf_adds(&q, "?force=1");
    int r = engine_simple(engine, "DELETE", q.data, NULL, ENGINE_TIMEOUT_MS, NULL, err);
    envmgr_buf_free(&q);
    return r;
}

int envmgr_engine_image_pull(envmgr_engine_t *engine, const char *name,
                             envmgr_engine_progress_cb cb, void *userdata, envmgr_error_t *err)
{
    return envmgr_engine_image_pull_platform(engine, name, NULL, cb, userdata, err);
}

int envmgr_engine_image_pull_platform(envmgr_engine_t *engine, const char *name,
                                      const char *platform, envmgr_engine_progress_cb cb,
                                      void *userdata, envmgr_error_t *err)
{
    /* Split "repo:tag" (a ':' after the last '/') so that the engine pulls one tag, not all. */
    envmgr_cleanup_free char *repo = envmgr_xstrdup(name);
    const char *tag = "latest";
    char *slash = strrchr(repo, '/');
    char *colon = strrchr(slash ? slash : repo, ':');
    if (strchr(repo, '@'))
        tag = NULL;
    else if (colon) {
        *colon = '\0';
        tag = colon + 1;
    }
    envmgr_buf_t q = ENVMGR_BUF_INIT;
    envmgr_buf_adds(&q, "/images/create");
    envmgr_buf_t params = ENVMGR_BUF_INIT;
    engine_query_add(&params, "fromImage", repo);
    if (tag)
        engine_query_add(&params, "tag", tag);
    if (platform)
        engine_query_add(&params, "platform", platform);
    envmgr_buf_add(&q, params.data, params.len);
    envmgr_buf_free(&params);
    engine_call_t call = {.method = "POST", .path = q.data};
    int r = engine_jsonl_call(engine, &call, cb, userdata, err);
    if (r < 0)
        envmgr_error_wrap(err, "pull %s", name);
    envmgr_buf_free(&q);
    return r;
}

/* ---- networks ------------------------------------------------------------------------------- */

int envmgr_engine_network_create(envmgr_engine_t *engine, const char *name,
                                 const envmgr_kvlist_t *labels, char **id_out, envmgr_error_t *err)
{
    envmgr_cleanup_json json_t *body =
        json_pack("{s:s, s:s, s:b, s:o}", "Name", name, "Driver", "bridge", "CheckDuplicate", 1,
                  "Labels", labels_object(labels));
    envmgr_cleanup_json json_t *reply = NULL;
    if (engine_simple(engine, "POST", "/networks/create", body, ENGINE_TIMEOUT_MS, &reply, err) < 0)
        return envmgr_error_wrap(err, "create network %s", name);
    return reply_string(reply, "Id", "create network", id_out, err);
}

int envmgr_engine_network_remove(envmgr_engine_t *engine, const char *id_or_name,
                                 envmgr_error_t *err)
{
    envmgr_cleanup_free char *path = envmgr_xasprintf("/networks/%s", id_or_name);
    return engine_simple(engine, "DELETE", path, NULL, ENGINE_TIMEOUT_MS, NULL, err);
}

int envmgr_engine_network_list(envmgr_engine_t *engine, const char *label_filter, json_t **out,
                               envmgr_error_t *err)
{
    return engine_list_array(engine, "/networks", false, label_filter, out, err);
}

int envmgr_engine_image_list(envmgr_engine_t *engine, const char *label_filter, json_t **out,
                             envmgr_error_t *err)
{
    return engine_list_array(engine, "/images/json", false, label_filter, out, err);
}

int envmgr_engine_network_inspect(envmgr_engine_t *engine, const char *id_or_name, json_t **out,
                                  envmgr_error_t *err)
{
    envmgr_cleanup_free char *path = envmgr_xasprintf("/networks/%s", id_or_name);
    return engine_simple(engine, "GET", path, NULL, ENGINE_TIMEOUT_MS, out, err);
}

/* ---- volumes -------------------------------------------------------------------------------- */

int envmgr_engine_volume_create(envmgr_engine_t *engine, const char *name,
                                const envmgr_kvlist_t *labels, envmgr_error_t *err)
{
    envmgr_cleanup_json json_t *body =
        json_pack("{s:s, s:o}", "Name", name, "Labels", labels_object(labels));
    if (engine_simple(engine, "POST", "/volumes/create", body, ENGINE_TIMEOUT_MS, NULL, err) < 0)
        return envmgr_error_wrap(err, "create volume %s", name);
    return 0;
}

int envmgr_engine_volume_remove(envmgr_engine_t *engine, const char *name, bool force,
                                envmgr_error_t *err)
{
    envmgr_cleanup_free char *path =
        envmgr_xasprintf("/volumes/%s%s", name, force ? "?force=1" : "");
    return engine_simple(engine, "DELETE", path, NULL, ENGINE_TIMEOUT_MS, NULL, err);
}

int envmgr_engine_volume_list(envmgr_engine_t *engine, const char *label_filter, json_t **out,
                              envmgr_error_t *err)
{
    *out = NULL;
    envmgr_cleanup_json json_t *reply = NULL;
    int r = engine_list_get(engine, "/volumes", false, label_filter, &reply, err);
    if (r < 0)
        return r;
    json_t *volumes = json_object_get(reply, "Volumes");
    if (json_is_null(volumes) || !volumes) /* the engine sends null for none */
        *out = json_array();
    else if (json_is_array(volumes))
        *out = json_incref(volumes);
    else
        return envmgr_error_set(err, ENVMGR_E_ENGINE, 0,
                                "GET /volumes: the Docker engine's reply has no \"Volumes\" array");
    return 0;
}

/* ---- containers ----------------------------------------------------------------------------- */

int envmgr_engine_container_create(envmgr_engine_t *engine, const char *name, json_t *config,
                                   char **id_out, envmgr_error_t *err)
{
    return envmgr_engine_container_create_platform(engine, name, NULL, config, id_out, err);
}

int envmgr_engine_container_create_platform(envmgr_engine_t *engine, const char *name,
                                            const char *platform, json_t *config, char **id_out,
                                            envmgr_error_t *err)
{
    envmgr_buf_t q = ENVMGR_BUF_INIT;
    envmgr_buf_adds(&q, "/containers/create");
    envmgr_buf_t params = ENVMGR_BUF_INIT;
    if (name)
        engine_query_add(&params, "name", name);
    if (platform)
        engine_query_add(&params, "platform", platform);
    if (params.len)
        envmgr_buf_add(&q, params.data, params.len);
    envmgr_buf_free(&params);
    envmgr_cleanup_json json_t *reply = NULL;
    int r = engine_simple(engine, "POST", q.data, config, ENGINE_TIMEOUT_MS, &reply, err);
    envmgr_buf_free(&q);
    if (r < 0)
        return envmgr_error_wrap(err, "create container %s", name ? name : "");
    size_t i;
    json_t *w;
    json_array_foreach(json_object_get(reply, "Warnings"), i, w)
    {
        if (json_string_value(w))
            envmgr_warn("create container %s: %s", name ? name : "", json_string_value(w));
    }
    return reply_string(reply, "Id", "create container", id_out, err);
}

static int container_post(envmgr_engine_t *engine, const char *id, const char *action,
                          const char *query, long timeout_ms, envmgr_error_t *err)
{
    envmgr_cleanup_free char *path =
        envmgr_xasprintf("/containers/%s/%s%s", id, action, query ? query : "");
    if (engine_simple(engine, "POST", path, NULL, timeout_ms, NULL, err) < 0)
        return envmgr_error_wrap(err, "%s container %s", action, id);
    return 0;
}

int envmgr_engine_container_start(envmgr_engine_t *engine, const char *id, envmgr_error_t *err)
{
    return container_post(engine, id, "start", NULL, ENGINE_TIMEOUT_MS, err);
}

int envmgr_engine_container_stop(envmgr_engine_t *engine, const char *id, int timeout_s,
                                 envmgr_error_t *err)
{
    char query[32];
    snprintf(query, sizeof(query), "?t=%d", timeout_s < 0 ? 10 : timeout_s);
    return container_post(engine, id, "stop", query,
                          ENGINE_TIMEOUT_MS + (timeout_s > 0 ? timeout_s * 1000L : 0), err);
}

int envmgr_engine_container_remove(envmgr_engine_t *engine, const char *id, bool force,
                                   bool volumes, envmgr_error_t *err)
{
    envmgr_cleanup_free char *path =
        envmgr_xasprintf("/containers/%s?force=%d&v=%d", id, force, volumes);
    return engine_simple(engine, "DELETE", path, NULL, ENGINE_TIMEOUT_MS, NULL, err);
}

int envmgr_engine_container_inspect(envmgr_engine_t *engine, const char *id, json_t **out,
                                    envmgr_error_t *err)
{
    envmgr_cleanup_free char *path = envmgr_xasprintf("/containers/%s/json", id);
    if (engine_simple(engine, "GET", path, NULL, ENGINE_TIMEOUT_MS, out, err) < 0)
        return -1;
    /* Podman reports a container without a healthcheck as State.Health {"Status": ""}; Docker
     * omits State.Health. Callers see Docker's shape. */
    json_t *state = json_object_get(*out, "State");
    const char *health =
        json_string_value(json_object_get(json_object_get(state, "Health"), "Status"));
    if (health && !*health)
        json_object_del(state, "Health");
    return 0;
}

int envmgr_engine_container_list(envmgr_engine_t *engine, const char *label_filter, bool all,
                                 json_t **out, envmgr_error_t *err)
{
    return engine_list_array(engine, "/containers/json", all, label_filter, out, err);
}

int envmgr_engine_container_wait(envmgr_engine_t *engine, const char *id, int64_t *exit_code,
                                 envmgr_error_t *err)
{
    envmgr_cleanup_free char *path = envmgr_xasprintf("/containers/%s/wait", id);
    envmgr_cleanup_json json_t *reply = NULL;
    if (engine_simple(engine, "POST", path, NULL, 0, &reply, err) < 0)
        return envmgr_error_wrap(err, "wait for container %s", id);
    json_t *code = json_object_get(reply, "StatusCode");
    if (!json_is_integer(code))
        return envmgr_error_set(err, ENVMGR_E_ENGINE, 0,
                                "wait for container %s: the reply has no \"StatusCode\" integer",
                                id);
    const char *message =
        json_string_value(json_object_get(json_object_get(reply, "Error"), "Message"));
    if (message && *message)
        return envmgr_error_set(err, ENVMGR_E_ENGINE, 0, "wait for container %s: %s", id, message);
    if (exit_code)
        *exit_code = json_integer_value(code);
    return 0;
}

int envmgr_engine_container_wait_removed(envmgr_engine_t *engine, const char *id,
                                         envmgr_error_t *err)
{
    envmgr_cleanup_free char *path = envmgr_xasprintf("/containers/%s/wait?condition=removed", id);
    envmgr_cleanup_json json_t *reply = NULL;
    if (engine_simple(engine, "POST", path, NULL, 0, &reply, err) == 0)
        return 0;
    if (err->kind != ENVMGR_E_NOT_FOUND)
        return envmgr_error_wrap(err, "wait for the removal of container %s", id);
    envmgr_error_clear(err); /* gone already */
    return 0;
}

int envmgr_engine_container_put_archive(envmgr_engine_t *engine, const char *id, const char *path,
                                        const void *tar_data, size_t tar_len, envmgr_error_t *err)
{
    envmgr_buf_t q = ENVMGR_BUF_INIT;
    envmgr_buf_addf(&q, "/containers/%s/archive", id);
    envmgr_buf_t params = ENVMGR_BUF_INIT;
    engine_query_add(&params, "path", path);
    envmgr_buf_add(&q, params.data, params.len);
    envmgr_buf_free(&params);
    /* The destination must exist: Docker answers 404 to a PUT into a missing folder, Podman creates
     * it. A HEAD first (the folder's stat) gives both engines Docker's behaviour. */
    engine_call_t stat = {.method = "HEAD", .path = q.data, .timeout_ms = ENGINE_TIMEOUT_MS};
    envmgr_buf_t body = ENVMGR_BUF_INIT;
    long status = 0;
    int r = engine_call(engine, &stat, &status, &body, err);
    envmgr_buf_free(&body);
    if (r == 0 && status == 404)
        r = envmgr_error_set(err, ENVMGR_E_NOT_FOUND, 404, "%s: not found in the container", path);
    engine_call_t call = {.method = "PUT",
                          .path = q.data,
                          .body = tar_data ? tar_data : "",
                          .body_len = tar_len,
                          .content_type = "application/x-tar",
                          .timeout_ms = 0};
    if (r == 0)
        r = engine_json_call(engine, &call, NULL, err);
    if (r < 0)
        envmgr_error_wrap(err, "copy archive to %s:%s", id, path);
    envmgr_buf_free(&q);
    return r;
}
