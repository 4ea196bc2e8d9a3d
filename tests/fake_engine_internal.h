/* Shared by fake_engine.c (the server: sockets, http_parser, faults, the request log) and
 * fake_engine_state.c (the engine's objects and endpoints). */
#ifndef ENVTEST_FAKE_ENGINE_INTERNAL_H
#define ENVTEST_FAKE_ENGINE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include <envmgr/util.h>

#include "fake_engine.h"

struct fake_fault_entry {
    char *pattern;
    fake_fault_t fault; /* body, content_type and raw owned */
    int matched;
};

struct fake_request {
    char *line;  /* "GET /v1.41/_ping" */
    char *match; /* "GET /_ping": no version, no query */
    envmgr_buf_t body;
};

struct fake_engine {
    char dir[64];
    char path[128];
    char host[160];
    int listen_fd;
    pthread_t accept_thread;
    atomic_bool stop;
    atomic_size_t connections;
    pthread_mutex_t lock; /* everything below */
    pthread_t *conn_threads;
    size_t n_conn_threads;
    char *api_version;
    char *min_api_version;
    struct fake_request *requests;
    size_t n_requests;
    struct fake_fault_entry *faults;
    size_t n_faults;
    /* the engine's objects, shaped as its inspect replies */
    json_t *containers;
    json_t *networks;
    json_t *volumes;
    json_t *images;
    json_t *execs;       /* exec id -> {"ID","ContainerID","Name","Running","ExitCode","polls"} */
    json_t *exec_script; /* container name -> {"next": n, "results": [...]} */
    json_t *behaviour;   /* container name -> {"exits","exit_code","health","logs"} */
    unsigned long next_id;
};

/* One parsed request. */
struct fake_call {
    const char *method;
    const char *path;    /* without the version prefix and the query */
    const char *version; /* "1.41" or NULL */
    json_t *query;       /* decoded parameters */
    const char *body;
    size_t body_len;
    json_t *json; /* the body parsed, or NULL */
};

/* What to answer. */
struct fake_answer {
    int status;
    const char *content_type;
    envmgr_buf_t body;
    bool follow; /* a stream without length that stays open while the container runs */
    char follow_id[80];
    char api_header[16];
};

/* Answers a request from the state; f->lock is held (the handler may release it while it waits). */
int fake_state_handle(fake_engine_t *f, const struct fake_call *call, struct fake_answer *a);
int fake_answer_error(struct fake_answer *a, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int fake_answer_json(struct fake_answer *a, int status, json_t *json); /* steals json */
/* true while the container exists and runs (f->lock held). */
bool fake_state_running(fake_engine_t *f, const char *id);
/* The object of kind called (or with id) name, borrowed; NULL when absent (f->lock held). */
json_t *fake_state_find(fake_engine_t *f, const char *kind, const char *name);
bool fake_labels_match(json_t *labels, const char *filter);
json_t *fake_object_labels(const char *kind, json_t *object);
void fake_state_init(fake_engine_t *f);
void fake_state_free(fake_engine_t *f);
char *fake_new_id(fake_engine_t *f);

#endif
