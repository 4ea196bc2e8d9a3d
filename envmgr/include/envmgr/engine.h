/* Docker Engine API client: HTTP over the Unix socket (or tcp://) with libcurl, JSON with jansson.
 * Knows HTTP and the Engine's JSON, not Compose. One envmgr_engine_t holds one curl handle whose
 * connection is reused; it is not thread-safe: use envmgr_engine_dup() for another thread.
 *
 * Every error carries the Engine's own message and the HTTP status (err->code). An unreachable
 * engine gives ENVMGR_E_ENGINE with "cannot reach the Docker engine at <socket>: <reason>" and a
 * hint saying what to do. A 404 gives ENVMGR_E_NOT_FOUND so callers can tell "absent" from
 * "failed"; a 409 (conflict: name in use, network still in use...) gives ENVMGR_E_ENV; other
 * statuses ENVMGR_E_ENGINE. The message reads "<Engine message> (HTTP <status> from <METHOD>
 * <path>)". A 304 (start of a running container, stop of a stopped one) is success. A reply that is
 * not valid JSON, or a connection that closes mid-reply, is ENVMGR_E_ENGINE naming the endpoint.
 * Plain requests time out after ENVTEST_ENGINE_TIMEOUT seconds, default 120 (connect: 5 s), with
 * the call named in the error ("GET /v1.41/...: the Docker engine at ... did not answer within N
 * ms", exit 3); logs -f, wait, build, pull, put_archive and
 * exec without timeout_ms have no limit. Every request gives up with ENVMGR_E_INTERRUPTED within
 * about a second of envmgr_interrupt(). Thread safety: curl_global_init runs once (pthread_once);
 * handles share nothing. */
#ifndef ENVMGR_ENGINE_H
#define ENVMGR_ENGINE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <envmgr/error.h>
#include <envmgr/util.h>

typedef struct envmgr_engine envmgr_engine_t;

/* host: "unix:///path", "tcp://h:p", or NULL for $DOCKER_HOST, else unix:///var/run/docker.sock.
 * Connects, GET /version, and negotiates the API version: min(engine's ApiVersion, ours 1.47),
 * refusing engines older than 1.41's floor (MinAPIVersion honoured). */
int envmgr_engine_open(const char *host, envmgr_engine_t **out, envmgr_error_t *err);
/* A second handle to the same engine with the same negotiated version (no /version round trip). */
int envmgr_engine_dup(const envmgr_engine_t *engine, envmgr_engine_t **out, envmgr_error_t *err);
void envmgr_engine_close(envmgr_engine_t *engine);
const char *envmgr_engine_host(const envmgr_engine_t *engine);        /* as given/resolved */
const char *envmgr_engine_api_version(const envmgr_engine_t *engine); /* e.g. "1.41" */

/* Generic request. path is relative to the version prefix ("/containers/json?all=1"). body may be
 * NULL. On 2xx: *reply = parsed JSON (or NULL for an empty body) and 0 returned. On any other
 * status an error with the Engine's "message". reply may be NULL when the caller ignores it. */
int envmgr_engine_request(envmgr_engine_t *engine, const char *method, const char *path,
                          json_t *body, json_t **reply, envmgr_error_t *err);

int envmgr_engine_ping(envmgr_engine_t *engine, envmgr_error_t *err);
int envmgr_engine_version(envmgr_engine_t *engine, json_t **out, envmgr_error_t *err);

/* ---- images ------------------------------------------------------------------------------- */
/* Progress lines from pull/build streams ("Step 2/5 : COPY ...", "Downloading 12 MB/40 MB"). */
typedef void (*envmgr_engine_progress_cb)(void *userdata, const char *line);

/* 0 and *out set when present; ENVMGR_E_NOT_FOUND when absent. */
int envmgr_engine_image_inspect(envmgr_engine_t *engine, const char *name, json_t **out,
                                envmgr_error_t *err);
/* POST /images/create?fromImage=<repo>&tag=<tag> (tag "latest" when none); stream errors
 * ("errorDetail") become ENVMGR_E_ENV errors with the Engine's text. */
int envmgr_engine_image_pull(envmgr_engine_t *engine, const char *name,
                             envmgr_engine_progress_cb cb, void *userdata, envmgr_error_t *err);
/* Same for one platform (os[/arch[/variant]], the `platform` query parameter); NULL: the engine's.
 */
int envmgr_engine_image_pull_platform(envmgr_engine_t *engine, const char *name,
                                      const char *platform, envmgr_engine_progress_cb cb,
                                      void *userdata, envmgr_error_t *err);

typedef struct envmgr_build_options {
    const char *context_dir;       /* absolute */
    const char *dockerfile;        /* relative to context_dir; NULL = "Dockerfile" */
    const char *tag;               /* e.g. "envtest-seoul-mock-llm:latest" */
    const envmgr_kvlist_t *args;   /* build args, may be NULL */
    const envmgr_kvlist_t *labels; /* image labels, may be NULL */
    const char *platform;          /* os[/arch[/variant]] (the `platform` query), or NULL */
} envmgr_build_options_t;
/* Makes a tar of context_dir with libarchive (honouring .dockerignore's simple patterns), streams
 * it to POST /build, and reports the build output lines through cb. The build's own error
 * ("errorDetail") becomes the error message (ENVMGR_E_ENV). .dockerignore: one fnmatch pattern
 * a line, '#' comments, '!' exceptions (last match wins), a pattern also excludes what is under a
 * matching directory, "**" crosses '/'. The Dockerfile is always sent. cb may be NULL. */
int envmgr_engine_image_build(envmgr_engine_t *engine, const envmgr_build_options_t *opts,
                              envmgr_engine_progress_cb cb, void *userdata, envmgr_error_t *err);
/* Digest of a build context (sha256 over paths, modes and contents, .dockerignore honoured), for
 * "rebuild only when its sources change". */
int envmgr_engine_context_digest(const char *context_dir, const char *dockerfile, char out[65],
                                 envmgr_error_t *err);
/* GET /images/json?filters={"label":[label_filter]}; out: JSON array. */
int envmgr_engine_image_list(envmgr_engine_t *engine, const char *label_filter, json_t **out,
                             envmgr_error_t *err);
int envmgr_engine_image_remove(envmgr_engine_t *engine, const char *name, bool force,
                               envmgr_error_t *err);

/* ---- networks ----------------------------------------------------------------------------- */
int envmgr_engine_network_create(envmgr_engine_t *engine, const char *name,
                                 const envmgr_kvlist_t *labels, char **id_out, envmgr_error_t *err);
int envmgr_engine_network_remove(envmgr_engine_t *engine, const char *id_or_name,
                                 envmgr_error_t *err); /* absent: ENVMGR_E_NOT_FOUND */
/* label_filter: "key=value" or "key"; out: JSON array as the Engine returns it. */
int envmgr_engine_network_list(envmgr_engine_t *engine, const char *label_filter, json_t **out,
                               envmgr_error_t *err);
int envmgr_engine_network_inspect(envmgr_engine_t *engine, const char *id_or_name, json_t **out,
                                  envmgr_error_t *err);

/* envtest itself in a container of this engine, with a network namespace of its own (a
 * devcontainer, a CI job's container): that container's id, set by envmgr_reach_prepare (NULL: on
 * the engine's host, or in the host's namespace). Then envtest reaches the services at their
 * addresses on their network, which it joins its container to (envmgr_engine_network_join_self),
 * instead of their ports published on the host's 127.0.0.1, out of the container's reach. Copied
 * by envmgr_engine_dup. */
void envmgr_engine_set_self(envmgr_engine_t *engine, const char *container_id);
const char *envmgr_engine_self(const envmgr_engine_t *engine);
/* Connects the self container to the network (id or name), once per handle; already connected
 * is success. Without a self container: 0, nothing done. */
int envmgr_engine_network_join_self(envmgr_engine_t *engine, const char *network,
                                    envmgr_error_t *err);

/* ---- volumes ------------------------------------------------------------------------------ */
int envmgr_engine_volume_create(envmgr_engine_t *engine, const char *name,
                                const envmgr_kvlist_t *labels, envmgr_error_t *err);
int envmgr_engine_volume_remove(envmgr_engine_t *engine, const char *name, bool force,
                                envmgr_error_t *err);
int envmgr_engine_volume_list(envmgr_engine_t *engine, const char *label_filter, json_t **out,
                              envmgr_error_t *err); /* out: the "Volumes" array */

/* ---- containers --------------------------------------------------------------------------- */
/* config: the Engine's create body (Image, Cmd, Env, Labels, HostConfig, NetworkingConfig...),
 * borrowed. On 409 (name in use) ENVMGR_E_ENV with the Engine's message. */
int envmgr_engine_container_create(envmgr_engine_t *engine, const char *name, json_t *config,
                                   char **id_out, envmgr_error_t *err);
/* Same with the `platform` query parameter (os[/arch[/variant]], NULL: none): the engine refuses
 * an image of another platform (404 "... does not match the specified platform") and a platform
 * it does not know (400). */
int envmgr_engine_container_create_platform(envmgr_engine_t *engine, const char *name,
                                            const char *platform, json_t *config, char **id_out,
                                            envmgr_error_t *err);
int envmgr_engine_container_start(envmgr_engine_t *engine, const char *id, envmgr_error_t *err);
int envmgr_engine_container_stop(envmgr_engine_t *engine, const char *id, int timeout_s,
                                 envmgr_error_t *err);
/* force + remove anonymous volumes when volumes is true. Absent: ENVMGR_E_NOT_FOUND. */
int envmgr_engine_container_remove(envmgr_engine_t *engine, const char *id, bool force,
                                   bool volumes, envmgr_error_t *err);
int envmgr_engine_container_inspect(envmgr_engine_t *engine, const char *id, json_t **out,
                                    envmgr_error_t *err);
/* GET /containers/json?all=1&filters={"label":[label_filter]}; out: JSON array. */
int envmgr_engine_container_list(envmgr_engine_t *engine, const char *label_filter, bool all,
                                 json_t **out, envmgr_error_t *err);
/* Blocks until an auto-removed container is gone (POST /wait?condition=removed); 0 when it is
 * gone already. */
int envmgr_engine_container_wait_removed(envmgr_engine_t *engine, const char *id,
                                         envmgr_error_t *err);
/* Blocks until the container exits (POST /wait). */
int envmgr_engine_container_wait(envmgr_engine_t *engine, const char *id, int64_t *exit_code,
                                 envmgr_error_t *err);

enum envmgr_stream { ENVMGR_STREAM_STDOUT = 1, ENVMGR_STREAM_STDERR = 2 };
/* Receives demultiplexed output; return non-zero to stop (e.g. follow mode interrupted). */
typedef int (*envmgr_engine_output_cb)(void *userdata, enum envmgr_stream stream, const char *data,
                                       size_t len);

/* tail < 0: all. follow: keep streaming until the container stops or cb returns non-zero or
 * envmgr_interrupted(). Handles both multiplexed (no TTY) and raw (TTY) streams; a truncated frame
 * is an error. */
int envmgr_engine_container_logs(envmgr_engine_t *engine, const char *id, int tail, bool follow,
                                 bool timestamps, envmgr_engine_output_cb cb, void *userdata,
                                 envmgr_error_t *err);

/* Runs argv inside the container (exec create + start attached + inspect), passing output to cb
 * (may be NULL). timeout_ms > 0: give up (ENVMGR_E_ENV, code ETIMEDOUT, "... timed out after N ms")
 * after that long; the process in the container is not killed. *exit_code: the command's exit
 * status. env may be NULL ("K=V" strings, NULL-terminated). No TTY: output is demultiplexed. */
int envmgr_engine_exec(envmgr_engine_t *engine, const char *id, const char *const argv[],
                       const char *const env[], int timeout_ms, envmgr_engine_output_cb cb,
                       void *userdata, int *exit_code, envmgr_error_t *err);

/* PUT /containers/{id}/archive?path=: extracts the tar stream (tar_data) at path in the container.
 * path must exist in the container (else ENVMGR_E_NOT_FOUND). */
int envmgr_engine_container_put_archive(envmgr_engine_t *engine, const char *id, const char *path,
                                        const void *tar_data, size_t tar_len, envmgr_error_t *err);

/* One file for envmgr_engine_container_put_file. */
typedef struct {
    const char *member; /* its path under the destination ("a/b" makes the folder a; a leading '/'
                           is dropped) */
    const void *data;
    size_t len;
    int mode; /* permission bits, e.g. 0644 */
    long uid, gid;
    long long mtime; /* seconds since the epoch (0: the epoch) */
} envmgr_engine_file_t;
/* envmgr_engine_container_put_archive of a tar holding only file (made with libarchive, wiped
 * before it is freed: the file may be a secret). */
int envmgr_engine_container_put_file(envmgr_engine_t *engine, const char *id, const char *path,
                                     const envmgr_engine_file_t *file, envmgr_error_t *err);

/* Runs `sh -c script` in the container (env as envmgr_engine_exec's, or NULL): its stdout into
 * out (a file), else, text not NULL, into *text (malloc'ed, the first 64 KiB). A failed write to
 * out, or an exit status other than 0, is an error naming what (with the first 4 KiB of stderr:
 * "<what> exited with N: ..."). */
int envmgr_engine_exec_script(envmgr_engine_t *engine, const char *id, const char *script,
                              const char *const *env, FILE *out, char **text, const char *what,
                              envmgr_error_t *err);

/* ---- streams (envmgr/engine/engine_images.c) --------------------------------------------- */
/* Produces a streamed request body: fills up to len bytes of buf and returns how many, 0 at the
 * end, or < 0 after filling err. */
typedef long (*envmgr_engine_source_cb)(void *userdata, char *buf, size_t len, envmgr_error_t *err);
/* GET /images/get?names=NAME: the image (a tar as `docker save` writes it) to cb (stdout stream).
 */
int envmgr_engine_image_save(envmgr_engine_t *engine, const char *name, envmgr_engine_output_cb cb,
                             void *userdata, envmgr_error_t *err);
/* POST /images/load with the tar from source; the engine's stream error becomes ENVMGR_E_ENV. */
int envmgr_engine_image_load(envmgr_engine_t *engine, envmgr_engine_source_cb source,
                             void *userdata, envmgr_error_t *err);
/* POST /images/{name}/tag?repo=&tag= */
int envmgr_engine_image_tag(envmgr_engine_t *engine, const char *name, const char *repo,
                            const char *tag, envmgr_error_t *err);
/* envmgr_engine_container_put_archive with a streamed tar (plain, gzip, bzip2 or xz). */
int envmgr_engine_container_put_archive_stream(envmgr_engine_t *engine, const char *id,
                                               const char *path, envmgr_engine_source_cb source,
                                               void *userdata, envmgr_error_t *err);

/* Demultiplexes a Docker attach/log stream incrementally. Exposed for tests. */
typedef struct envmgr_demux {
    unsigned char header[8];
    size_t header_len;
    size_t remaining; /* bytes left in the current frame */
    enum envmgr_stream stream;
    bool raw; /* TTY stream: no frames */
} envmgr_demux_t;
/* Feeds bytes; calls cb per payload piece. Returns 0, cb's non-zero value, or -1 on a bad header
 * (stream byte > 3 or non-zero padding). Stream 0 (stdin) is reported as stdout, 3 (the Engine's
 * system error) as stderr. */
int envmgr_demux_feed(envmgr_demux_t *d, const char *data, size_t len, envmgr_engine_output_cb cb,
                      void *userdata);
/* true when the stream ended inside a frame (truncated). */
bool envmgr_demux_truncated(const envmgr_demux_t *d);

#endif
