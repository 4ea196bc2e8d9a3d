/* libFuzzer target for the Engine's streamed replies, read through the engine's own call path
 * (engine_replay_open: no socket, the reply handed over in pieces as curl would):
 *   mode 0: an image pull's newline-delimited JSON progress (status/progress/errorDetail);
 *   mode 1: the same stream read by the sink build uses (the build's aux ID and its error);
 *   mode 2: a container's logs, 8-byte multiplexed frames, or raw for a TTY;
 *   mode 3: an exec's attached output (frames), then its exit code.
 * Input: [mode][piece size][tty][reply bytes...]. Each stream is read twice, in pieces and whole:
 * the outcome (return, error message, lines, output bytes per stream) must not depend on how the
 * bytes arrive; a progress line never holds a newline; output is never more than the reply. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine_private.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct reply {
    const char *body;
    size_t len, piece;
    bool tty;
} reply_t;

static int answer(void *userdata, const engine_call_t *call, long *status, const char **body,
                  size_t *len, size_t *piece, envmgr_error_t *err)
{
    (void)err;
    const reply_t *r = userdata;
    static const char tty_on[] = "{\"Id\":\"c\",\"Config\":{\"Tty\":true}}";
    static const char tty_off[] = "{\"Id\":\"c\",\"Config\":{\"Tty\":false}}";
    static const char exec_made[] = "{\"Id\":\"e1\"}";
    static const char exec_done[] = "{\"Running\":false,\"ExitCode\":3}";
    const char *fixed = NULL;
    if (strstr(call->path, "/containers/c/json"))
        fixed = r->tty ? tty_on : tty_off;
    else if (strstr(call->path, "/containers/c/exec"))
        fixed = exec_made;
    else if (strstr(call->path, "/exec/e1/json"))
        fixed = exec_done;
    *status = 200;
    *body = fixed ? fixed : r->body;
    *len = fixed ? strlen(fixed) : r->len;
    *piece = fixed ? 0 : r->piece;
    return 0;
}

typedef struct outcome {
    int rc;
    char message[sizeof(((envmgr_error_t *)0)->message)];
    envmgr_buf_t text[3]; /* progress lines; stdout; stderr */
    int code;
    char *image_id;
} outcome_t;

static void on_line(void *userdata, const char *line)
{
    outcome_t *o = userdata;
    if (strchr(line, '\n'))
        abort(); /* a progress line is one line */
    envmgr_buf_adds(&o->text[0], line);
    envmgr_buf_add(&o->text[0], "\n", 1);
}

static int on_output(void *userdata, enum envmgr_stream stream, const char *data, size_t len)
{
    outcome_t *o = userdata;
    envmgr_buf_add(&o->text[stream == ENVMGR_STREAM_STDERR ? 2 : 1], data, len);
    return 0;
}

static void read_stream(int mode, reply_t *r, outcome_t *o)
{
    envmgr_error_t err = {0};
    envmgr_engine_t *e = engine_replay_open(answer, r, "1.41");
    static const char *const argv[] = {"true", NULL};
    if (mode == 0) {
        o->rc = envmgr_engine_image_pull(e, "img", on_line, o, &err);
    } else if (mode == 1) {
        engine_jsonl_t s = {.cb = on_line, .userdata = o};
        o->rc = 0;
        for (size_t off = 0; off < r->len && o->rc == 0;) {
            size_t n = r->piece && r->piece < r->len - off ? r->piece : r->len - off;
            o->rc = engine_jsonl_sink(&s, r->body + off, n, &err);
            off += n;
        }
        if (o->rc == 0)
            o->rc = engine_jsonl_finish(&s, &err);
        if (s.error)
            envmgr_buf_adds(&o->text[2], s.error);
        o->image_id = s.image_id ? envmgr_xstrdup(s.image_id) : NULL;
        engine_jsonl_free(&s);
    } else if (mode == 2) {
        o->rc = envmgr_engine_container_logs(e, "c", -1, false, false, on_output, o, &err);
    } else {
        o->rc = envmgr_engine_exec(e, "c", argv, NULL, 0, on_output, o, &o->code, &err);
        if (o->rc == 0 && o->code != 3)
            abort(); /* the exit code is the one /exec/e1/json gave */
    }
    snprintf(o->message, sizeof(o->message), "%s", o->rc < 0 ? err.message : "");
    if (o->rc < 0 && err.message[0] == '\0')
        abort(); /* every failure says why */
    if (o->text[1].len + o->text[2].len > r->len && mode >= 2)
        abort(); /* output is never more than the reply */
    envmgr_engine_close(e);
}

static bool same_buf(const envmgr_buf_t *a, const envmgr_buf_t *b)
{
    return a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

static void outcome_free(outcome_t *o)
{
    for (int i = 0; i < 3; i++)
        envmgr_buf_free(&o->text[i]);
    free(o->image_id);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    int mode = data[0] % 4;
    reply_t r = {.body = (const char *)data + 3,
                 .len = size - 3,
                 .piece = (size_t)data[1] % 23 + 1,
                 .tty = data[2] & 1};
    outcome_t pieces = {0}, whole = {0};
    read_stream(mode, &r, &pieces);
    r.piece = 0;
    read_stream(mode, &r, &whole);
    if (pieces.rc != whole.rc || strcmp(pieces.message, whole.message) != 0 ||
        !same_buf(&pieces.text[0], &whole.text[0]) || !same_buf(&pieces.text[1], &whole.text[1]) ||
        !same_buf(&pieces.text[2], &whole.text[2]) ||
        (pieces.image_id == NULL) != (whole.image_id == NULL) ||
        (pieces.image_id && strcmp(pieces.image_id, whole.image_id) != 0))
        abort(); /* the outcome depends on how the bytes arrived */
    outcome_free(&pieces);
    outcome_free(&whole);
    return 0;
}
