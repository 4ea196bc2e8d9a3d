/* Images and archives as streams: GET /images/get (save), POST /images/load, POST /images/{}/tag,
 * and PUT /containers/{}/archive from a streamed body. For repro bundles (envmgr/bundle/), whose
 * images and dumps are too large to hold in memory. */
#include <stdlib.h>
#include <string.h>

#include "engine_private.h"

/* "<path>?k=v&k2=v2" with the values URL-encoded (NULL keys end the list). */
static char *path_query(const char *path, const char *k1, const char *v1, const char *k2,
                        const char *v2)
{
    envmgr_buf_t params = ENVMGR_BUF_INIT;
    if (k1)
        engine_query_add(&params, k1, v1);
    if (k2)
        engine_query_add(&params, k2, v2);
    char *out = envmgr_xasprintf("%s%s", path, params.len ? params.data : "");
    envmgr_buf_free(&params);
    return out;
}

struct save_sink {
    envmgr_engine_output_cb cb;
    void *userdata;
};

static int save_sink_fn(void *userdata, const char *data, size_t len, envmgr_error_t *err)
{
    struct save_sink *s = userdata;
    if (s->cb(s->userdata, ENVMGR_STREAM_STDOUT, data, len) != 0)
        return envmgr_error_set(err, ENVMGR_E_SYSTEM, 0, "writing the image archive failed");
    return 0;
}

int envmgr_engine_image_save(envmgr_engine_t *engine, const char *name, envmgr_engine_output_cb cb,
                             void *userdata, envmgr_error_t *err)
{
    envmgr_cleanup_free char *path = path_query("/images/get", "names", name, NULL, NULL);
    struct save_sink sink = {.cb = cb, .userdata = userdata};
    engine_call_t call = {
        .method = "GET", .path = path, .sink = save_sink_fn, .sink_userdata = &sink};
    int r = engine_json_call(engine, &call, NULL, err);
    if (r < 0)
        envmgr_error_wrap(err, "save image %s", name);
    return r;
}

int envmgr_engine_image_load(envmgr_engine_t *engine, envmgr_engine_source_cb source,
                             void *userdata, envmgr_error_t *err)
{
    engine_jsonl_t stream = {0};
    engine_call_t call = {.method = "POST",
                          .path = "/images/load?quiet=1",
                          .source = (engine_source_fn)source,
                          .source_userdata = userdata,
                          .content_type = "application/x-tar",
                          .sink = engine_jsonl_sink,
                          .sink_userdata = &stream};
    int r = engine_json_call(engine, &call, NULL, err);
    if (r == 0)
        r = engine_jsonl_finish(&stream, err);
    if (r == 0 && stream.error)
        r = envmgr_error_set(err, ENVMGR_E_ENV, 0, "%s", stream.error);
    if (r < 0)
        envmgr_error_wrap(err, "load image");
    engine_jsonl_free(&stream);
    return r;
}

int envmgr_engine_image_tag(envmgr_engine_t *engine, const char *name, const char *repo,
                            const char *tag, envmgr_error_t *err)
{
    envmgr_cleanup_free char *base = envmgr_xasprintf("/images/%s/tag", name);
    envmgr_cleanup_free char *path = path_query(base, "repo", repo, "tag", tag);
    engine_call_t call = {.method = "POST", .path = path, .timeout_ms = ENGINE_TIMEOUT_MS};
    int r = engine_json_call(engine, &call, NULL, err);
    if (r < 0)
        envmgr_error_wrap(err, "tag image %s as %s:%s", name, repo, tag);
    return r;
}

int envmgr_engine_container_put_archive_stream(envmgr_engine_t *engine, const char *id,
                                               const char *path, envmgr_engine_source_cb source,
                                               void *userdata, envmgr_error_t *err)
{
    envmgr_cleanup_free char *base = envmgr_xasprintf("/containers/%s/archive", id);
    envmgr_cleanup_free char *full = path_query(base, "path", path, NULL, NULL);
    engine_call_t call = {.method = "PUT",
                          .path = full,
                          .source = (engine_source_fn)source,
                          .source_userdata = userdata,
                          .content_type = "application/x-tar"};
    int r = engine_json_call(engine, &call, NULL, err);
    if (r < 0)
        envmgr_error_wrap(err, "copy archive to %s:%s", id, path);
    return r;
}
