/* mock-common internals shared by mock_server.c, mock_response.c and mock_admin.c (not for the
 * services). */
#ifndef MOCK_INTERNAL_H
#define MOCK_INTERNAL_H

#include <http_parser.h>

#include "mock_http.h"

#define MOCK_MAX_HEADERS 64
#define MOCK_JOURNAL_BODY_MAX (1024u * 1024u)
#define MOCK_JOURNAL_BYTES_MAX (64u * 1024u * 1024u)

typedef enum mock_fault_type {
    MOCK_FAULT_NONE = 0,
    MOCK_FAULT_DELAY,
    MOCK_FAULT_STATUS,
    MOCK_FAULT_DROP,
    MOCK_FAULT_MALFORMED,
    MOCK_FAULT_STREAM_DISCONNECT,
} mock_fault_type_t;

typedef struct mock_fault {
    uint64_t id; /* POST /__admin/faults answers it, DELETE /__admin/faults/{id} removes it */
    mock_fault_type_t type;
    char *body_contains; /* NULL: every body; else only bodies containing this text */
    char *path;          /* NULL: every path; "/x*": prefix */
    char *method;        /* NULL: every method */
    double probability;
    uint64_t delay_ms, delay_max_ms;
    int status, retry_after, after_chunks;
    long times; /* remaining firings, -1 unlimited */
} mock_fault_t;

/* What the faults decided for one request. */
typedef struct mock_fault_hit {
    uint64_t delay_ms;
    mock_fault_type_t type; /* the one non-delay fault that fired, or NONE */
    int status, retry_after, after_chunks;
    char desc[96]; /* for the journal and log: "delay 120ms, status 429" */
} mock_fault_hit_t;

typedef struct mock_journal_entry {
    uint64_t id;
    int64_t time_ms; /* wall clock */
    char *method, *path, *query, *body, *matched, *fault;
    size_t body_len;
    bool body_truncated;
    int status;
    double latency_ms;
} mock_journal_entry_t;

typedef struct mock_conn mock_conn_t;

struct mock_request {
    mock_conn_t *conn;
    const char *method;
    char *path, *query; /* point into conn->url */
    bool responded, streaming, stream_dead, head;
    int status;
    size_t bytes_out;
    int chunks;
    char matched[128];
    mock_buf_t extra_headers;
    uint64_t start_ns;
    bool journaled, admin;
    bool deferred; /* mock_request_defer: the answer comes from the done callback */
    mock_fault_hit_t fault;
};

struct mock_conn {
    uv_tcp_t tcp;
    uv_timer_t timer;
    mock_server_t *srv;
    http_parser parser;
    mock_buf_t url, headers, body, pending;
    size_t hdr_off[MOCK_MAX_HEADERS * 2];
    int nhdr;
    bool in_value;
    bool memory; /* mock_server_feed: no socket */
    mock_buf_t *sink;
    bool closing, close_after, paused, eof, error_sent;
    bool shutting; /* uv_shutdown requested */
    bool draining; /* rejected: unread request bytes are read and dropped until EOF */
    int open_handles;
    char peer[64];
    mock_request_t req;
    mock_conn_t *next, *prev;
};

struct mock_server {
    uv_loop_t *loop;
    mock_server_config_t cfg;
    char *name, *host, *port_file, *health_path;
    uv_tcp_t listener;
    uv_signal_t sigterm, sigint;
    uv_check_t log_flush; /* flushes the request log once per loop iteration */
    bool log_flush_started;
    bool listening, stopping;
    int stop_signal; /* SIGTERM/SIGINT that stopped the loop, 0 for mock_server_stop */
    int port;
    mock_conn_t *conns;
    char readbuf[65536];
    bool readbuf_busy;
    /* journal: ring buffer */
    mock_journal_entry_t *journal;
    size_t journal_head, journal_len, journal_bytes;
    uint64_t journal_total; /* journaled requests since the last clear, kept or not */
    uint64_t journal_next_id;
    /* faults */
    mock_fault_t *faults;
    size_t nfaults;
    uint64_t fault_next_id;
    uint64_t seed, rng;
};

/* mock_admin.c */
bool mock_admin_handle(mock_server_t *srv, mock_request_t *req);
/* mock_server.c: a connection's writes and close; mock_response.c: a request's end (journal, log)
 */
void mock_conn_send(mock_conn_t *c, mock_buf_t *b);
void mock_conn_close(mock_conn_t *c);
void mock_request_finish(mock_conn_t *c, mock_request_t *req, const char *body, size_t len);
void mock_faults_decide(mock_server_t *srv, mock_request_t *req);
void mock_faults_clear(mock_server_t *srv);
void mock_journal_add(mock_server_t *srv, mock_request_t *req, const char *body, size_t body_len);
void mock_journal_clear(mock_server_t *srv);

/* mock_server.c */
void mock_respond_error(mock_request_t *req, int status, const char *message);
const char *mock_status_text(int status);

#endif
