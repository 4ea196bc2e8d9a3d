/* Internals shared by engine.c, engine_demux.c and engine_build.c. Not part of the public API. */
#ifndef ENVMGR_ENGINE_PRIVATE_H
#define ENVMGR_ENGINE_PRIVATE_H

#include <curl/curl.h>
#include <sys/types.h>

#include <envmgr/engine.h>

#define ENGINE_API_VERSION_MAX "1.47" /* the newest API envtest speaks */
#define ENGINE_API_VERSION_MIN "1.41" /* the oldest (Docker 20.10) */
/* The per-request timeout: ENVTEST_ENGINE_TIMEOUT seconds (read once), else 120 s. */
long engine_timeout_ms(void);
#define ENGINE_TIMEOUT_MS engine_timeout_ms()
#define ENGINE_CONNECT_TIMEOUT_MS 5000L

struct engine_call;
/* A transport without a socket (engine_replay_open): answers a call with a status and a body,
 * which is handed to the call in pieces of `piece` bytes (0: whole), as curl's write callback
 * would; < 0 for a transport failure (err filled). */
typedef int (*engine_replay_fn)(void *userdata, const struct engine_call *call, long *status,
                                const char **body, size_t *len, size_t *piece, envmgr_error_t *err);

struct envmgr_engine {
    CURL *curl;
    engine_replay_fn replay; /* instead of curl, or NULL */
    void *replay_userdata;
    char *host;        /* "unix:///var/run/docker.sock" or "tcp://h:p" */
    char *socket_path; /* unix socket path, or NULL for tcp */
    char *base_url;    /* "http://localhost" or "http://h:p" */
    char *display;     /* what messages call the engine: the socket path or "tcp://h:p" */
    char api_version[16];
    char curl_error[CURL_ERROR_SIZE];
    /* tcp:// with TLS (engine_remote.c) */
    bool tls, tls_verify;
    char *tls_ca, *tls_cert, *tls_key;
    /* ssh://: [user@]host and port; the ssh processes of its connections */
    char *ssh_target, *ssh_port;
    pid_t *ssh_pids;
    size_t n_ssh_pids, cap_ssh_pids;
    /* envtest in a container of this engine: that container's id (envmgr_engine_set_self), and
     * the networks this handle connected it to (ids) */
    char *self;
    char **joined;
    size_t n_joined;
};

/* ---- engine_remote.c: TLS, ssh://, Docker contexts ---- */
typedef struct engine_target {
    char *host;    /* as given, from DOCKER_HOST, from the context, or the default socket */
    char *context; /* the Docker context it came from, or NULL */
    char *tls_dir; /* the context's TLS folder (ca.pem, cert.pem, key.pem), or NULL */
    bool skip_tls_verify;
} engine_target_t;
int engine_resolve_host(const char *given, engine_target_t *t, envmgr_error_t *err);
void engine_target_free(engine_target_t *t);
/* For tcp://: TLS from the context's folder or DOCKER_TLS_VERIFY/DOCKER_CERT_PATH. */
int engine_tls_setup(envmgr_engine_t *e, const engine_target_t *t, envmgr_error_t *err);
int engine_ssh_parse(envmgr_engine_t *e, const char *host, envmgr_error_t *err);
void engine_remote_setopt(envmgr_engine_t *e, CURL *c);
curl_socket_t engine_ssh_open_cb(void *userdata, curlsocktype purpose, struct curl_sockaddr *addr);
int engine_ssh_sockopt_cb(void *userdata, curl_socket_t fd, curlsocktype purpose);
void engine_ssh_reap(envmgr_engine_t *e); /* and frees the remote fields */

/* Receives a 2xx body piece by piece: 0 to go on, > 0 to stop quietly (not an error), < 0 after
 * filling err (the request then fails with that error). */
typedef int (*engine_sink_fn)(void *userdata, const char *data, size_t len, envmgr_error_t *err);

/* Produces a streamed request body (sent chunked): fills up to len bytes of buf and returns how
 * many, 0 at the end, or < 0 after filling err. */
typedef long (*engine_source_fn)(void *userdata, char *buf, size_t len, envmgr_error_t *err);

typedef struct engine_call {
    const char *method; /* "GET", "POST", "PUT", "DELETE" */
    const char *path;   /* after the version prefix, with its query string */
    bool unversioned;   /* true for GET /version before negotiation */
    const void *body;   /* request body or NULL */
    size_t body_len;
    engine_source_fn source; /* instead of body: a streamed body */
    void *source_userdata;
    const char *content_type; /* for body or source; NULL = application/json */
    long timeout_ms;          /* whole transfer; 0 = no limit */
    engine_sink_fn sink;      /* NULL: the body is collected into *body */
    void *sink_userdata;
} engine_call_t;

/* Performs one HTTP request. Returns 0 with *status set (any HTTP status) and *body holding the
 * collected body (for a streamed 2xx, nothing); transport failures, timeouts and interruption fill
 * err. A sink that stopped quietly gives 0. */
int engine_call(envmgr_engine_t *engine, const engine_call_t *call, long *status,
                envmgr_buf_t *body, envmgr_error_t *err);

/* An engine whose calls are answered by replay (no socket, no curl), speaking api_version: the
 * reply readers (JSON replies, errors, progress streams, multiplexed output) run exactly as behind
 * curl. For the fuzz targets (tests/fuzz/fuzz_engine_*.c); close with envmgr_engine_close. */
envmgr_engine_t *engine_replay_open(engine_replay_fn replay, void *userdata,
                                    const char *api_version);

/* Turns a non-2xx reply into an error carrying the Engine's "message" and the status in err->code:
 * 404 -> ENVMGR_E_NOT_FOUND, 409 -> ENVMGR_E_ENV, others ENVMGR_E_ENGINE. Returns -1. */
int engine_status_error(envmgr_engine_t *engine, const engine_call_t *call, long status,
                        const envmgr_buf_t *body, envmgr_error_t *err);

/* engine_call + status check + JSON parse of a 2xx body (reply may be NULL). */
int engine_json_call(envmgr_engine_t *engine, const engine_call_t *call, json_t **reply,
                     envmgr_error_t *err);

/* Full request path for messages: "/v1.41/containers/x/json". Caller frees. */
char *engine_full_path(const envmgr_engine_t *engine, const engine_call_t *call);

/* Appends "&key=value" (or "?key=value" when q is empty) with value URL-encoded. */
void engine_query_add(envmgr_buf_t *q, const char *key, const char *value);
/* Appends a kvlist as a URL-encoded JSON object {"k":"v",...}. */
void engine_query_add_kvlist(envmgr_buf_t *q, const char *key, const envmgr_kvlist_t *l);

/* A newline-delimited JSON progress stream (build, pull): lines go to cb; the first "error" or
 * "errorDetail" is kept in error. */
typedef struct engine_jsonl {
    envmgr_buf_t pending;
    envmgr_engine_progress_cb cb;
    void *userdata;
    char *error;    /* first stream error, owned */
    char *image_id; /* "aux":{"ID":...} of a build, owned */
} engine_jsonl_t;
int engine_jsonl_sink(void *userdata, const char *data, size_t len, envmgr_error_t *err);
/* Handles a last unterminated line. */
int engine_jsonl_finish(engine_jsonl_t *s, envmgr_error_t *err);
void engine_jsonl_free(engine_jsonl_t *s);
/* Performs call (its sink set here) with its 2xx body read as such a stream: lines go to cb; the
 * stream's own error becomes an ENVMGR_E_ENV error. For pull and build. */
int engine_jsonl_call(envmgr_engine_t *engine, engine_call_t *call, envmgr_engine_progress_cb cb,
                      void *userdata, envmgr_error_t *err);

#endif
