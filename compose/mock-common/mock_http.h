/* mock-common: the HTTP server layer shared by the mock services (mock-llm, mock-vector).
 *
 * libuv TCP server + http_parser, HTTP/1.1 keep-alive, request body limit (413), one log line per
 * request on stdout, clean shutdown on SIGTERM/SIGINT, a `--healthcheck` mode (the images are FROM
 * scratch: the binary checks itself), and a WireMock-like admin API handled here for every mock:
 *
 *   GET    /__admin/requests   journal: method, path, query, body, status, matched rule, fault,
 * latency DELETE /__admin/requests   clears the journal POST   /__admin/reset      clears journal
 * and faults, then calls the app's reset callback GET    /__admin/faults     the fault
 * configuration in force PUT    /__admin/faults     replaces it (see README.md for the JSON),
 * DELETE clears it; POST /__admin/faults appends one fault ({"id":N}), DELETE
 * /__admin/faults/{id} removes that one
 *
 * A service supplies one handler. It is called on the loop thread for every request that is not an
 * admin request of this layer (apps may serve their own /__admin/... paths, e.g. the cassette) and
 * MUST answer before returning: with mock_respond*() once, or with mock_stream_begin(),
 * mock_stream_write()..., mock_stream_end(), or defer its answer (mock_request_defer). A
 * handler that answers nothing gets a 500.
 * Nothing here blocks the loop: delays are uv timers.
 *
 * The mocks never include envmgr; this layer has its own small helpers (mock_buf_t, mock_x*).
 */
#ifndef MOCK_HTTP_H
#define MOCK_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define MOCK_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define MOCK_DEFAULT_BODY_LIMIT (32u * 1024u * 1024u)
#define MOCK_DEFAULT_JOURNAL_MAX 10000u

/* ---- small helpers ------------------------------------------------------------------------- */
void *mock_xmalloc(size_t size); /* abort on out-of-memory */
void *mock_xcalloc(size_t n, size_t size);
void *mock_xrealloc(void *p, size_t size);
char *mock_xstrdup(const char *s);
char *mock_xstrndup(const char *s, size_t n);

typedef struct mock_buf {
    char *data; /* NUL-terminated once anything was added */
    size_t len;
    size_t cap;
} mock_buf_t;
#define MOCK_BUF_INIT                                                                              \
    {                                                                                              \
        NULL, 0, 0                                                                                 \
    }
void mock_buf_add(mock_buf_t *b, const void *data, size_t len);
void mock_buf_adds(mock_buf_t *b, const char *s);
void mock_buf_addf(mock_buf_t *b, const char *fmt, ...) MOCK_PRINTF(2, 3);
void mock_buf_reset(mock_buf_t *b);
void mock_buf_free(mock_buf_t *b);

/* true when s[0..n) is well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF); *bad_offset
 * (may be NULL) receives the offset of the first bad byte. */
bool mock_utf8_valid(const char *s, size_t n, size_t *bad_offset);

/* Parses a request body as JSON (jansson). On failure returns NULL and writes a message naming the
 * problem ("request body is not valid UTF-8 (byte 12)", "malformed JSON at line 1 column 5: ...",
 * "request body is empty") into msg. *invalid_utf8 (may be NULL) tells the two first apart. */
json_t *mock_json_parse(const char *body, size_t len, char *msg, size_t msgsize,
                        bool *invalid_utf8);

/* ---- requests and responses ---------------------------------------------------------------- */
typedef struct mock_request mock_request_t; /* valid only during the handler call */

const char *mock_request_method(const mock_request_t *req); /* "GET", "POST", ... */
const char *mock_request_path(const mock_request_t *req);  /* as sent (not URL-decoded), no query */
const char *mock_request_query(const mock_request_t *req); /* after '?', "" when none */
const char *mock_request_body(const mock_request_t *req);  /* NUL-terminated, "" when none */
size_t mock_request_body_len(const mock_request_t *req);
/* Case-insensitive header lookup; NULL when absent. */
const char *mock_request_header(const mock_request_t *req, const char *name);
/* Value of one query parameter (not URL-decoded), copied into out; false when absent. */
bool mock_request_query_param(const mock_request_t *req, const char *name, char *out, size_t size);

/* Names the rule that produced the answer, for the journal and the log line (copied). */
void mock_request_set_matched(mock_request_t *req, const char *rule);
/* Adds a response header (before mock_respond/mock_stream_begin). Copied. */
void mock_response_header(mock_request_t *req, const char *name, const char *value);

/* Complete answers. Body is copied. content_type NULL means "application/json". */
void mock_respond(mock_request_t *req, int status, const char *content_type, const char *body,
                  size_t len);
/* Serialises json compactly and answers with it; steals the reference. */
void mock_respond_json(mock_request_t *req, int status, json_t *json);

/* Streaming answers (SSE): chunked transfer for HTTP/1.1, close-delimited for HTTP/1.0.
 * mock_stream_write returns 0, or -1 once the connection is gone (client left, or a
 * "stream_disconnect" fault fired): the handler should stop writing and call mock_stream_end. */
void mock_stream_begin(mock_request_t *req, int status, const char *content_type);
int mock_stream_write(mock_request_t *req, const char *data, size_t len);
void mock_stream_end(mock_request_t *req);

/* Deferred answers: a handler with blocking work (a database query, an HTTP call with libcurl)
 * hands it to libuv's thread pool and returns without answering; done answers later, on the loop.
 *   work(data)      runs on a pool thread; it must not touch req (copy what it needs into data
 *                   before deferring) nor call mock_* functions except the helpers above;
 *   done(req, data) runs on the loop thread when work returned: it answers req with
 *                   mock_respond*() / mock_stream_*() (no answer gives a 500) and frees data.
 *                   req is NULL when the connection closed meanwhile (client reset, server
 *                   stopping): the answer is dropped, done only frees data.
 * No other request of this connection is parsed before done ran (pipelined bytes wait); other
 * connections are served meanwhile. Returns 0, or a negative uv error (e.g. UV_EINVAL when req
 * already answered): then the handler must answer itself. In mock_server_feed (no loop) work and
 * done run at once, inside this call. The pool has $UV_THREADPOOL_SIZE threads (default 4). */
typedef void (*mock_work_cb)(void *data);
typedef void (*mock_done_cb)(mock_request_t *req, void *data);
int mock_request_defer(mock_request_t *req, mock_work_cb work, mock_done_cb done, void *data);

/* ---- server ----------------------------------------------------------------------------- */
typedef struct mock_server mock_server_t;
typedef void (*mock_handler_cb)(mock_request_t *req, void *user);
typedef void (*mock_reset_cb)(void *user);
/* Answers an error in the service's own shape (OpenAI's {"error":{...}}, Qdrant's
 * {"status":{"error":...}}): used by this layer for 413, 400 on bad HTTP, 500 and injected status
 * faults, so clients see errors they understand. Must call mock_respond*(). */
typedef void (*mock_error_cb)(mock_request_t *req, int status, const char *message, void *user);

typedef struct mock_server_config {
    const char *name;      /* "mock-llm": log lines and the Server header */
    const char *host;      /* default "0.0.0.0" */
    int port;              /* 0: an ephemeral port (see mock_server_port and port_file) */
    const char *port_file; /* if set, the bound port is written there after listen */
    size_t body_limit;     /* default MOCK_DEFAULT_BODY_LIMIT; larger bodies get 413 */
    size_t journal_max;    /* default MOCK_DEFAULT_JOURNAL_MAX entries (oldest dropped) */
    bool no_journal;       /* keep no entries (--journal-max 0); meta.total still counts */
    bool quiet;            /* no per-request log line */
    bool no_admin; /* a real service (sca-api): no /__admin/ API, every path to the handler */
    /* Not journaled and not hit by global faults (so Docker's healthchecks do not disturb a
     * seeded fault sequence); a fault naming this path explicitly still applies. May be NULL. */
    const char *health_path;
    mock_handler_cb handler;
    mock_reset_cb reset; /* may be NULL */
    mock_error_cb error; /* may be NULL: {"error":{"message":...,"type":...,"code":status}} */
    void *user;
} mock_server_config_t;

/* Creates the server on loop. Listening starts with mock_server_listen (returns a negative uv
 * error code and a message on stderr on failure). */
mock_server_t *mock_server_new(uv_loop_t *loop, const mock_server_config_t *cfg);
int mock_server_listen(mock_server_t *srv);
int mock_server_port(const mock_server_t *srv);
/* Open client connections (a closed one whose deferred work still runs is not counted). */
size_t mock_server_connections(const mock_server_t *srv);
/* Runs the loop until SIGTERM/SIGINT (or mock_server_stop), closing every connection; then
 * prints "NAME stopped on SIGTERM" (or SIGINT, or "NAME stopped") on stdout. */
int mock_server_run(mock_server_t *srv);
void mock_server_stop(mock_server_t *srv);
void mock_server_free(mock_server_t *srv); /* after the loop stopped */

/* In-memory connection for fuzzing and tests: parses data as one client's bytes on a fresh
 * connection and appends everything the server would send to out. Delays are not waited for. */
void mock_server_feed(mock_server_t *srv, const char *data, size_t len, mock_buf_t *out);

/* ---- program entry shared by the mocks ------------------------------------------------- */
typedef struct mock_app {
    const char *name;        /* "mock-llm" */
    int default_port;        /* used when neither --port nor $MOCK_PORT is given */
    const char *health_path; /* what --healthcheck GETs, e.g. "/health" */
    const char *usage;       /* the app's own options, for --help (may be NULL) */
    /* One app option at argv[*i]: return 1 when consumed (advance *i past a value), 0 when
     * unknown, -1 on error (after printing a message to stderr). May be NULL. */
    int (*option_cb)(void *user, int argc, char **argv, int *i);
    /* After options, before listening (load files...): non-zero exits with status 1. May be NULL.
     */
    int (*start_cb)(void *user);
    mock_handler_cb handler;
    mock_reset_cb reset; /* may be NULL */
    mock_error_cb error; /* may be NULL */
    void *user;
} mock_app_t;

/* Common options: --host H, --port N (or $MOCK_PORT), --port-file F, --body-limit BYTES,
 * --journal-max N, --quiet, --healthcheck [PATH], --help. Returns the process exit status. */
int mock_main(const mock_app_t *app, int argc, char **argv);

/* GETs http://127.0.0.1:port/path with a timeout; 0 when the answer is 2xx, else 1. */
int mock_healthcheck(int port, const char *path, int timeout_ms);

#endif
