/* A fake Docker engine on a Unix socket, for fault injection only: it answers each request it
 * receives with the next scripted reply, written as raw bytes (which may be a broken HTTP reply on
 * purpose: truncated bodies, dropped connections, bad frames). Runs in its own thread. */
#ifndef ENVTEST_FAKE_ENGINE_H
#define ENVTEST_FAKE_ENGINE_H

#include <stdbool.h>
#include <stddef.h>

typedef struct fake_reply {
    char *raw;        /* bytes written as the reply; owned by the fake after start */
    size_t len;       /* 0: strlen(raw) */
    bool close_after; /* close the connection after writing the reply */
} fake_reply_t;

typedef struct fake_engine fake_engine_t;

/* Starts a server in a fresh temp directory; replies are served in order, one per request. */
fake_engine_t *fake_engine_start(const fake_reply_t *replies, size_t n);
/* "unix:///tmp/fake-engine-XXXXXX/docker.sock" */
const char *fake_engine_host(const fake_engine_t *f);
/* Waits until every reply was served (or timeout_ms passed), stops the server, removes its
 * directory. Returns the number of requests served. */
size_t fake_engine_stop(fake_engine_t *f, int timeout_ms);
/* How many connections the client opened. */
size_t fake_engine_connections(const fake_engine_t *f);
/* Request line i ("GET /v1.41/_ping"), valid until fake_engine_free; NULL when absent. */
const char *fake_engine_request(const fake_engine_t *f, size_t i);
/* Body of request i (NUL-terminated), or NULL. */
const char *fake_engine_request_body(const fake_engine_t *f, size_t i);
size_t fake_engine_request_body_len(const fake_engine_t *f, size_t i);
void fake_engine_free(fake_engine_t *f);

/* Helpers returning malloc'd raw replies. */
char *fake_http(int status, const char *content_type, const char *body); /* with Content-Length */
char *fake_json(int status, const char *json);
char *fake_version(const char *api_version); /* a GET /_ping reply with Api-Version */
/* A reply header with no length (the body runs until the connection closes), then body bytes. */
char *fake_stream(const char *content_type, const void *body, size_t body_len, size_t *out_len);
/* Appends an 8-byte multiplexed frame (stream 1 or 2) to *buf of *len bytes. */
void fake_frame(char **buf, size_t *len, int stream, const char *payload, size_t payload_len);

#endif
