/* Test helpers for the mock services: start a mock binary as a child on an ephemeral port, stop
 * it with SIGTERM (timed), and make HTTP requests with libcurl. */
#ifndef TESTS_MOCK_CHILD_H
#define TESTS_MOCK_CHILD_H

#include <curl/curl.h>
#include <jansson.h>
#include <stddef.h>
#include <sys/types.h>

typedef struct mock_child {
    pid_t pid;
    int port;
    char dir[256];   /* temporary directory: port file, log */
    char base[64];   /* "http://127.0.0.1:PORT" */
    int exit_status; /* after mock_child_stop */
} mock_child_t;

/* Starts bin with --host 127.0.0.1 --port 0 --port-file DIR/port plus args (NULL-terminated, may
 * be NULL); waits up to 5 s for the port. stdout/stderr go to DIR/log. 0 on success. */
int mock_child_start(mock_child_t *c, const char *bin, const char *const *args);
/* SIGTERM, waits up to 5 s (then SIGKILL); returns the milliseconds from the signal to the exit
 * (-1 when it did not exit in time). */
double mock_child_stop(mock_child_t *c);
/* The same, and *log (may be NULL) receives the child's stdout+stderr (malloc'ed, to free). */
double mock_child_stop_log(mock_child_t *c, char **log);

/* A libcurl write/header callback that appends to a mock_bytes_t (NUL-terminated; free data). */
typedef struct mock_bytes {
    char *data;
    size_t len;
} mock_bytes_t;
size_t mock_bytes_sink(char *p, size_t size, size_t n, void *user);

typedef struct mock_http_resp {
    long status;
    char *body;
    size_t len;
    char *headers;
    CURLcode code;
} mock_http_resp_t;

/* One request on handle h (reused: keep-alive). body may be NULL. Returns r->status. */
long mock_http(CURL *h, const char *method, const char *url, const char *body, size_t len,
               mock_http_resp_t *r);
void mock_http_resp_free(mock_http_resp_t *r);
/* Convenience: a fresh handle, request, and the body parsed (NULL when not JSON). */
json_t *mock_http_json(const mock_child_t *c, const char *method, const char *path,
                       const char *body, long *status);
double mock_now_ms(void);

#endif
