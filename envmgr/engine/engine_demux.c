/* Streamed replies: the 8-byte multiplexed frame format of logs and exec (raw for a TTY), the
 * newline-delimited JSON of build and pull, and the logs and exec endpoints built on them. */
#include "engine_private.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <envmgr/log.h>

/* ---- 8-byte frame demultiplexer ------------------------------------------------------------- */

int envmgr_demux_feed(envmgr_demux_t *d, const char *data, size_t len, envmgr_engine_output_cb cb,
                      void *userdata)
{
    if (d->raw)
        return len ? cb(userdata, ENVMGR_STREAM_STDOUT, data, len) : 0;
    while (len > 0) {
        if (d->remaining == 0) {
            size_t take = 8 - d->header_len < len ? 8 - d->header_len : len;
            memcpy(d->header + d->header_len, data, take);
            d->header_len += take;
            data += take;
            len -= take;
            if (d->header_len < 8)
                return 0;
            /* header: stream (0 stdin, 1 stdout, 2 stderr, 3 system error), 3 zero bytes, size */
            if (d->header[0] > 3 || d->header[1] || d->header[2] || d->header[3])
                return -1;
            d->stream = d->header[0] >= 2 ? ENVMGR_STREAM_STDERR : ENVMGR_STREAM_STDOUT;
            d->remaining = (size_t)d->header[4] << 24 | (size_t)d->header[5] << 16 |
                           (size_t)d->header[6] << 8 | (size_t)d->header[7];
            d->header_len = 0;
            continue;
        }
        size_t take = d->remaining < len ? d->remaining : len;
        d->remaining -= take;
        int r = cb(userdata, d->stream, data, take);
        if (r != 0)
            return r;
        data += take;
        len -= take;
    }
    return 0;
}

bool envmgr_demux_truncated(const envmgr_demux_t *d)
{
    return !d->raw && (d->header_len > 0 || d->remaining > 0);
}

/* A sink that demultiplexes into the caller's output callback. */
struct output_sink {
    envmgr_demux_t demux;
    envmgr_engine_output_cb cb;
    void *userdata;
    bool cb_stopped;
    const char *what; /* "logs of container x" */
};

static int output_forward(void *userdata, enum envmgr_stream stream, const char *data, size_t len)
{
    struct output_sink *o = userdata;
    if (!o->cb || o->cb(o->userdata, stream, data, len) == 0)
        return 0;
    o->cb_stopped = true;
    return 1;
}

static int output_sink_fn(void *userdata, const char *data, size_t len, envmgr_error_t *err)
{
    struct output_sink *o = userdata;
    int r = envmgr_demux_feed(&o->demux, data, len, output_forward, o);
    if (r == 0)
        return 0;
    if (o->cb_stopped)
        return 1;
    const unsigned char *h = o->demux.header;
    return envmgr_error_set(err, ENVMGR_E_ENGINE, 0,
                            "%s: malformed stream from the Docker engine (bad frame header "
                            "%02x %02x %02x %02x)",
                            o->what, h[0], h[1], h[2], h[3]);
}

static int output_check_end(const struct output_sink *o, envmgr_error_t *err)
{
    if (o->cb_stopped || !envmgr_demux_truncated(&o->demux))
        return 0;
    return envmgr_error_set(err, ENVMGR_E_ENGINE, 0,
                            "%s: the stream from the Docker engine ended inside a frame "
                            "(%zu bytes missing)",
                            o->what, o->demux.remaining ? o->demux.remaining : (size_t)8);
}

/* ---- logs ----------------------------------------------------------------------------------- */

int envmgr_engine_container_logs(envmgr_engine_t *engine, const char *id, int tail, bool follow,
                                 bool timestamps, envmgr_engine_output_cb cb, void *userdata,
                                 envmgr_error_t *err)
{
    envmgr_cleanup_json json_t *info = NULL;
    if (envmgr_engine_container_inspect(engine, id, &info, err) < 0)
        return envmgr_error_wrap(err, "logs of container %s", id);
    bool tty = json_is_true(json_object_get(json_object_get(info, "Config"), "Tty"));
    char tail_text[32];
    if (tail < 0)
        snprintf(tail_text, sizeof(tail_text), "all");
    else
        snprintf(tail_text, sizeof(tail_text), "%d", tail);
    envmgr_cleanup_free char *path =
        envmgr_xasprintf("/containers/%s/logs?stdout=1&stderr=1&follow=%d&timestamps=%d&tail=%s",
                         id, follow, timestamps, tail_text);
    envmgr_cleanup_free char *what = envmgr_xasprintf("logs of container %s", id);
    struct output_sink sink = {.demux = {.raw = tty}, .cb = cb, .userdata = userdata, .what = what};
    engine_call_t call = {.method = "GET",
                          .path = path,
                          .timeout_ms = follow ? 0 : ENGINE_TIMEOUT_MS,
                          .sink = output_sink_fn,
                          .sink_userdata = &sink};
    if (engine_json_call(engine, &call, NULL, err) < 0)
        return envmgr_error_wrap(err, "logs of container %s", id);
    return output_check_end(&sink, err);
}

/* ---- exec ----------------------------------------------------------------------------------- */

/* Milliseconds left before the deadline (>= 1), 0 when there is no deadline, -1 when past it. */
static long time_left(int64_t deadline)
{
    if (deadline == 0)
        return 0;
    int64_t left = deadline - envmgr_now_ms();
    return left > 0 ? (long)left : -1;
}

static int exec_timed_out(const char *id, const char *argv0, int timeout_ms, envmgr_error_t *err)
{
    return envmgr_error_set(err, ENVMGR_E_ENV, ETIMEDOUT,
                            "exec %s in container %s: timed out after %d ms", argv0, id,
                            timeout_ms);
}

static int exec_create(envmgr_engine_t *engine, const char *id, const char *const argv[],
                       const char *const env[], long timeout_ms, char **exec_id,
                       envmgr_error_t *err)
{
    json_t *cmd = json_array();
    for (size_t i = 0; argv[i]; i++)
        json_array_append_new(cmd, json_string(argv[i]));
    envmgr_cleanup_json json_t *body =
        json_pack("{s:b, s:b, s:b, s:b, s:o}", "AttachStdin", 0, "AttachStdout", 1, "AttachStderr",
                  1, "Tty", 0, "Cmd", cmd);
    if (env) {
        json_t *list = json_array();
        for (size_t i = 0; env[i]; i++)
            json_array_append_new(list, json_string(env[i]));
        json_object_set_new(body, "Env", list);
    }
    envmgr_cleanup_free char *text = json_dumps(body, JSON_COMPACT);
    envmgr_cleanup_free char *path = envmgr_xasprintf("/containers/%s/exec", id);
    engine_call_t call = {.method = "POST",
                          .path = path,
                          .body = text,
                          .body_len = strlen(text),
                          .timeout_ms = timeout_ms ? timeout_ms : ENGINE_TIMEOUT_MS};
    envmgr_cleanup_json json_t *reply = NULL;
    if (engine_json_call(engine, &call, &reply, err) < 0) {
        /* Podman answers 500 "can only create exec sessions on running containers: container
         * state improper" where Docker answers 409 "Container ... is not running". */
        if (err && err->code == 500 &&
            strstr(err->message, "can only create exec sessions on running")) {
            envmgr_error_clear(err);
            envmgr_error_set(err, ENVMGR_E_ENV, 409,
                             "container %s is not running (HTTP 500 from "
                             "Podman: container state improper)",
                             id);
        }
        return -1;
    }
    const char *eid = json_string_value(json_object_get(reply, "Id"));
    if (!eid)
        return envmgr_error_set(err, ENVMGR_E_ENGINE, 0,
                                "POST %s: the Docker engine's reply has no \"Id\" string", path);
    *exec_id = envmgr_xstrdup(eid);
    return 0;
}

static int exec_attach(envmgr_engine_t *engine, const char *exec_id, long timeout_ms,
                       struct output_sink *sink, envmgr_error_t *err)
{
    static const char body[] = "{\"Detach\":false,\"Tty\":false}";
    envmgr_cleanup_free char *path = envmgr_xasprintf("/exec/%s/start", exec_id);
    engine_call_t call = {.method = "POST",
                          .path = path,
                          .body = body,
                          .body_len = sizeof(body) - 1,
                          .timeout_ms = timeout_ms,
                          .sink = output_sink_fn,
                          .sink_userdata = sink};
    if (engine_json_call(engine, &call, NULL, err) < 0)
        return -1;
    return output_check_end(sink, err);
}

/* The attached stream can end a moment before the engine records the exit code: poll briefly. */
static int exec_exit_code(envmgr_engine_t *engine, const char *exec_id, int64_t deadline,
                          int *exit_code, envmgr_error_t *err)
{
    envmgr_cleanup_free char *path = envmgr_xasprintf("/exec/%s/json", exec_id);
    int64_t give_up = deadline ? deadline : envmgr_now_ms() + 30000;
    for (int64_t pause = 1;; pause = pause < 50 ? pause * 2 : 50) {
        envmgr_cleanup_json json_t *info = NULL;
        if (envmgr_engine_request(engine, "GET", path, NULL, &info, err) < 0)
            return -1;
        json_t *code = json_object_get(info, "ExitCode");
        if (!json_is_true(json_object_get(info, "Running")) && json_is_integer(code)) {
            *exit_code = (int)json_integer_value(code);
            return 0;
        }
        if (envmgr_now_ms() + pause > give_up)
            return envmgr_error_set(err, ENVMGR_E_ENV, ETIMEDOUT,
                                    "GET /exec/%s/json: the exec still runs after its output ended",
                                    exec_id);
        envmgr_sleep_ms(pause);
        if (envmgr_interrupted())
            return envmgr_error_set(err, ENVMGR_E_INTERRUPTED, EINTR, "interrupted");
    }
}

int envmgr_engine_exec(envmgr_engine_t *engine, const char *id, const char *const argv[],
                       const char *const env[], int timeout_ms, envmgr_engine_output_cb cb,
                       void *userdata, int *exit_code, envmgr_error_t *err)
{
    if (!argv || !argv[0])
        return envmgr_error_set(err, ENVMGR_E_USAGE, 0, "exec in container %s: empty command", id);
    int64_t deadline = timeout_ms > 0 ? envmgr_now_ms() + timeout_ms : 0;
    envmgr_cleanup_free char *exec_id = NULL;
    envmgr_cleanup_free char *what = envmgr_xasprintf("exec %s in container %s", argv[0], id);
    long left = time_left(deadline);
    int r = left < 0 ? -1 : exec_create(engine, id, argv, env, left, &exec_id, err);
    if (r == 0) {
        struct output_sink sink = {.cb = cb, .userdata = userdata, .what = what};
        left = time_left(deadline);
        r = left < 0 ? -1 : exec_attach(engine, exec_id, left, &sink, err);
    }
    if (r == 0)
        r = exec_exit_code(engine, exec_id, deadline, exit_code, err);
    if (r == 0)
        return 0;
    if (left < 0 || (err->code == ETIMEDOUT && timeout_ms > 0))
        return exec_timed_out(id, argv[0], timeout_ms, err);
    return envmgr_error_wrap(err, "exec %s in container %s", argv[0], id);
}

/* ---- newline-delimited JSON progress streams ------------------------------------------------ */

static void jsonl_emit_text(engine_jsonl_t *s, const char *text)
{
    if (!s->cb)
        return;
    const char *p = text;
    while (*p) {
        size_t n = strcspn(p, "\n");
        size_t m = n;
        while (m > 0 && (p[m - 1] == '\r' || p[m - 1] == ' '))
            m--;
        if (m > 0) {
            envmgr_cleanup_free char *line = envmgr_xstrndup(p, m);
            s->cb(s->userdata, line);
        }
        p += n;
        if (*p)
            p++;
    }
}

static int jsonl_line(engine_jsonl_t *s, const char *line, size_t len, envmgr_error_t *err)
{
    while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' '))
        len--;
    if (len == 0)
        return 0;
    json_error_t jerr;
    envmgr_cleanup_json json_t *msg = json_loadb(line, len, 0, &jerr);
    if (!json_is_object(msg))
        return envmgr_error_set(err, ENVMGR_E_ENGINE, 0,
                                "malformed progress line from the Docker engine: %.*s",
                                (int)(len > 200 ? 200 : len), line);
    const char *error =
        json_string_value(json_object_get(json_object_get(msg, "errorDetail"), "message"));
    if (!error)
        error = json_string_value(json_object_get(msg, "error"));
    if (error) {
        if (!s->error)
            s->error = envmgr_xstrdup(error);
        return 0;
    }
    const char *image_id = json_string_value(json_object_get(json_object_get(msg, "aux"), "ID"));
    if (image_id && !s->image_id)
        s->image_id = envmgr_xstrdup(image_id);
    const char *stream = json_string_value(json_object_get(msg, "stream"));
    if (stream) {
        jsonl_emit_text(s, stream);
        return 0;
    }
    const char *status = json_string_value(json_object_get(msg, "status"));
    if (status && s->cb) {
        const char *layer = json_string_value(json_object_get(msg, "id"));
        const char *progress = json_string_value(json_object_get(msg, "progress"));
        envmgr_cleanup_free char *text =
            envmgr_xasprintf("%s%s%s%s%s", layer ? layer : "", layer ? ": " : "", status,
                             progress ? " " : "", progress ? progress : "");
        jsonl_emit_text(s, text);
    }
    return 0;
}

int engine_jsonl_sink(void *userdata, const char *data, size_t len, envmgr_error_t *err)
{
    engine_jsonl_t *s = userdata;
    envmgr_buf_add(&s->pending, data, len);
    size_t start = 0;
    for (;;) {
        const char *nl = memchr(s->pending.data + start, '\n', s->pending.len - start);
        if (!nl)
            break;
        size_t end = (size_t)(nl - s->pending.data);
        if (jsonl_line(s, s->pending.data + start, end - start, err) < 0)
            return -1;
        start = end + 1;
    }
    if (start > 0) {
        memmove(s->pending.data, s->pending.data + start, s->pending.len - start);
        s->pending.len -= start;
        s->pending.data[s->pending.len] = '\0';
    }
    return 0;
}

int engine_jsonl_finish(engine_jsonl_t *s, envmgr_error_t *err)
{
    if (s->pending.len == 0)
        return 0;
    int r = jsonl_line(s, s->pending.data, s->pending.len, err);
    envmgr_buf_reset(&s->pending);
    return r;
}

void engine_jsonl_free(engine_jsonl_t *s)
{
    envmgr_buf_free(&s->pending);
    free(s->error);
    free(s->image_id);
    s->error = s->image_id = NULL;
}

int engine_jsonl_call(envmgr_engine_t *engine, engine_call_t *call, envmgr_engine_progress_cb cb,
                      void *userdata, envmgr_error_t *err)
{
    engine_jsonl_t stream = {.cb = cb, .userdata = userdata};
    call->sink = engine_jsonl_sink;
    call->sink_userdata = &stream;
    int r = engine_json_call(engine, call, NULL, err);
    if (r == 0)
        r = engine_jsonl_finish(&stream, err);
    if (r == 0 && stream.error)
        r = envmgr_error_set(err, ENVMGR_E_ENV, 0, "%s", stream.error);
    engine_jsonl_free(&stream);
    return r;
}
