/* A stateful fake Docker engine for unit tests: it listens on a Unix socket as dockerd does, parses
 * requests with http_parser, and keeps containers, networks, volumes and images with their labels
 * (create, start, stop, remove, inspect, list with label filters, exec, logs, build, pull). What a
 * real engine decides by itself is scripted: exec results (exit code, output, hangs), what a
 * container does when started (exits, the engine's health verdict, its logs), and injected faults
 * per endpoint (a status and body, a dropped connection, a hang, raw bytes such as a cut stream).
 * Every request is recorded. One thread accepts, one thread per connection serves; a mutex guards
 * the state, so parallel clients (envmgr_up's worker threads) see one consistent engine. */
#ifndef ENVTEST_FAKE_ENGINE_H
#define ENVTEST_FAKE_ENGINE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct fake_engine fake_engine_t;

/* Starts a fake engine on <fresh temp dir>/docker.sock speaking API 1.41. */
fake_engine_t *fake_engine_start(void);
/* "unix:///tmp/fake-engine-XXXXXX/docker.sock" */
const char *fake_engine_host(const fake_engine_t *f);
/* Stops the server (a hung request is released), removes its directory, frees everything. */
void fake_engine_free(fake_engine_t *f);

/* The Api-Version header of GET /_ping (NULL: no header); and the oldest version accepted in a
 * versioned path (older ones get the engine's 400 "client version ... is too old"). */
void fake_engine_set_api_version(fake_engine_t *f, const char *api_version,
                                 const char *min_api_version);

/* ---- injected faults ----------------------------------------------------------------------- */
typedef struct fake_fault {
    int status;               /* reply with this status and body (default 500) ... */
    const char *body;         /* ... this body (NULL: {"message":"injected fault"}), may be cut */
    const char *content_type; /* NULL: application/json */
    const void *raw;          /* or write these bytes as they are, then close the connection */
    size_t raw_len;           /* 0: strlen(raw) */
    bool drop;                /* or close the connection without a reply */
    bool hang;                /* or never reply (released by fake_engine_free); with raw: write
                                 raw, then hold the connection open */
    int skip;                 /* let this many matching requests through first */
    int times;                /* then fault this many (0: every one after the skipped) */
} fake_fault_t;
/* request: an fnmatch pattern over "METHOD /path" without the version prefix and the query, e.g.
 * "POST /build", or "POST /containers/ID/start" with a star for ID ('*' matches '/' too). Faults
 * are looked at in the order added; the first that fires answers. */
void fake_engine_fault(fake_engine_t *f, const char *request, const fake_fault_t *fault);

/* ---- scripted behaviour -------------------------------------------------------------------- */
typedef struct fake_exec {
    int exit_code;
    const char *out;   /* stdout, may be NULL */
    const char *err;   /* stderr, may be NULL */
    bool hang;         /* the attached stream never ends */
    int still_running; /* GET /exec/{id}/json says Running this many times before the exit code */
} fake_exec_t;
/* Results of the execs in container `name`, one per exec in order; the last one repeats. Without a
 * script an exec exits 0 with no output. */
void fake_engine_exec_script(fake_engine_t *f, const char *name, const fake_exec_t *results,
                             size_t n);

typedef struct fake_container {
    bool exits;         /* exits at once when started ... */
    int exit_code;      /* ... with this code */
    const char *health; /* the engine's own verdict once running ("unhealthy"); NULL: "starting"
                           when there is a healthcheck */
    const char *logs;   /* what GET /containers/{id}/logs returns */
} fake_container_t;
/* How the container called `name` behaves when it is started (by name: set it before `up`). */
void fake_engine_container_behaviour(fake_engine_t *f, const char *name,
                                     const fake_container_t *behaviour);

/* ---- seeding (as a previous or a crashed envtest left things) ------------------------------- */
/* config: the image's Config ({"Labels":{...},"Healthcheck":{...}}), may be NULL. */
void fake_engine_add_image(fake_engine_t *f, const char *name, const char *config_json);
/* An image no name refers to (RepoTags []), as a build step leaves one; found by its id. */
void fake_engine_add_dangling_image(fake_engine_t *f, const char *id);
/* inspect: a partial inspect object merged over the defaults (Config.Labels, Config.Env,
 * State.Status "running"...; NetworkSettings.Ports with fixed host ports). Returns the id (owned
 * by the fake). */
const char *fake_engine_add_container(fake_engine_t *f, const char *name, const char *inspect_json);
void fake_engine_add_network(fake_engine_t *f, const char *name, const char *labels_json);
void fake_engine_add_volume(fake_engine_t *f, const char *name, const char *labels_json);
void fake_engine_connect(fake_engine_t *f, const char *network, const char *container);

/* ---- observing ----------------------------------------------------------------------------- */
/* kind: "containers", "networks", "volumes" or "images"; label_filter as the engine takes it
 * ("key=value" or "key"), or NULL for all. */
size_t fake_engine_count(fake_engine_t *f, const char *kind, const char *label_filter);
/* A copy of the object called name (a container's inspect, a network, a volume, an image), or
 * NULL when absent. */
json_t *fake_engine_object(fake_engine_t *f, const char *kind, const char *name);
size_t fake_engine_requests(fake_engine_t *f);
/* Request line i ("GET /v1.41/containers/json?all=1"), body and its length; NULL when absent.
 * Valid until fake_engine_free. */
const char *fake_engine_request(fake_engine_t *f, size_t i);
const char *fake_engine_request_body(fake_engine_t *f, size_t i);
size_t fake_engine_request_body_len(fake_engine_t *f, size_t i);
/* How many requests matched pattern (as for fake_engine_fault). */
size_t fake_engine_count_requests(fake_engine_t *f, const char *pattern);
/* How many connections clients opened. */
size_t fake_engine_connections(const fake_engine_t *f);

/* Appends an 8-byte multiplexed frame (stream 1 or 2) to *buf of *len bytes. */
void fake_frame(char **buf, size_t *len, int stream, const char *payload, size_t payload_len);

#endif
