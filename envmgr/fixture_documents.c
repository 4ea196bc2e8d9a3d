/* documents steps: passages from a JSONL member ({"text": ..., "source": ..., "page": ..., "id"?}
 * one per line), embedded in batches through an OpenAI-compatible POST /v1/embeddings and upserted
 * into a Qdrant-compatible collection (PUT /collections/{c}, PUT
 * /collections/{c}/points?wait=true). The collection is recreated; on a failure anywhere in the
 * load it is deleted again. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "fixture_internal.h"

#define MAX_LINE (1u << 20)

typedef struct batch {
    json_t *texts;    /* array of strings */
    json_t *payloads; /* array of objects */
    json_t *ids;      /* array of integers */
} batch_t;

static const char *service_url(fx_load_ctx_t *ctx, const char *service, envmgr_error_t *err)
{
    const envmgr_fixture_service_t *svc = fx_find_service(ctx->targets, service);
    if (svc == NULL || svc->base_url == NULL) {
        envmgr_error_set(err, ENVMGR_E_ENV, 0, "service `%s` has no HTTP address", service);
        return NULL;
    }
    return svc->base_url;
}

static int json_call(const char *method, const char *url, json_t *body, long expect, json_t **out,
                     envmgr_error_t *err)
{
    cleanup_free char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    cleanup_free char *reply = NULL;
    long status = 0;
    if (fx_http_request(method, url, "application/json", text, text ? strlen(text) : 0, &status,
                        &reply, err) < 0)
        return -1;
    if (status != expect && !(expect == 200 && status >= 200 && status < 300))
        return envmgr_error_set(err, ENVMGR_E_ENV, (int)status, "%s %s: status %ld: %.300s", method,
                                url, status, reply ? reply : "");
    if (out) {
        json_error_t jerr;
        *out = json_loads(reply ? reply : "", 0, &jerr);
        if (*out == NULL)
            return envmgr_error_set(err, ENVMGR_E_ENV, 0, "%s %s: reply is not JSON: %s", method,
                                    url, jerr.text);
    }
    return 0;
}

static int create_collection(fx_load_ctx_t *ctx, const fx_step_t *s, const char *vurl,
                             envmgr_error_t *err)
{
    cleanup_free char *url = xasprintf("%s/collections/%s", vurl, s->collection);
    cleanup_free char *reply = NULL;
    long status = 0;
    if (fx_http_request("DELETE", url, NULL, NULL, 0, &status, &reply, err) < 0)
        return -1;
    cleanup_json json_t *body =
        json_pack("{s:{s:i, s:s}}", "vectors", "size", (int)s->dimensions, "distance", s->distance);
    if (json_call("PUT", url, body, 200, NULL, err) < 0)
        return -1;
    envmgr_strv_push(&ctx->collections, s->collection);
    envmgr_kvlist_set(&ctx->collection_urls, s->collection, vurl);
    return 0;
}

static int flush_batch(fx_load_ctx_t *ctx, const fx_step_t *s, batch_t *b, const char *where,
                       envmgr_error_t *err)
{
    size_t n = json_array_size(b->texts);
    if (n == 0)
        return 0;
    const char *eurl = service_url(ctx, s->service, err);
    const char *vurl = service_url(ctx, s->vectors_service, err);
    if (eurl == NULL || vurl == NULL)
        return -1;
    cleanup_free char *embed_url = xasprintf("%s/v1/embeddings", eurl);
    cleanup_json json_t *req = json_pack("{s:s, s:O, s:i}", "model", s->model, "input", b->texts,
                                         "dimensions", (int)s->dimensions);
    cleanup_json json_t *reply = NULL;
    if (json_call("POST", embed_url, req, 200, &reply, err) < 0)
        return -1;
    json_t *data = json_object_get(reply, "data");
    if (json_array_size(data) != n)
        return envmgr_error_set(err, ENVMGR_E_ENV, 0,
                                "%s: %s returned %zu embeddings for %zu passages", where, embed_url,
                                json_array_size(data), n);
    json_t *points = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *d = json_array_get(data, i);
        json_t *index = json_object_get(d, "index");
        size_t k = json_is_integer(index) ? (size_t)json_integer_value(index) : i;
        json_t *vec = json_object_get(json_array_get(data, k < n ? k : i), "embedding");
        if (json_array_size(vec) != (size_t)s->dimensions) {
            json_decref(points);
            return envmgr_error_set(err, ENVMGR_E_ENV, 0,
                                    "%s: embedding of %zu dimensions, the step declares %ld", where,
                                    json_array_size(vec), s->dimensions);
        }
        json_array_append_new(points,
                              json_pack("{s:O, s:O, s:O}", "id", json_array_get(b->ids, i),
                                        "vector", vec, "payload", json_array_get(b->payloads, i)));
    }
    cleanup_json json_t *upsert = json_pack("{s:o}", "points", points);
    cleanup_free char *url = xasprintf("%s/collections/%s/points?wait=true", vurl, s->collection);
    if (json_call("PUT", url, upsert, 200, NULL, err) < 0)
        return -1;
    json_array_clear(b->texts);
    json_array_clear(b->payloads);
    json_array_clear(b->ids);
    return 0;
}

/* One JSONL line into the batch: text required, id optional (else the passage number). */
static int add_passage(batch_t *b, const char *line, size_t len, const char *where, uint64_t lineno,
                       uint64_t seq, envmgr_error_t *err)
{
    json_error_t jerr;
    json_t *o = json_loadb(line, len, 0, &jerr);
    if (!json_is_object(o)) {
        json_decref(o);
        return envmgr_error_set(err, ENVMGR_E_CONFIG, 0, "%s:%" PRIu64 ": not a JSON object (%s)",
                                where, lineno, o ? "another JSON value" : jerr.text);
    }
    json_t *text = json_object_get(o, "text");
    json_t *id = json_object_get(o, "id");
    if (!json_is_string(text) || json_string_length(text) == 0 ||
        (id && !(json_is_integer(id) && json_integer_value(id) >= 0))) {
        json_decref(o);
        return envmgr_error_set(err, ENVMGR_E_CONFIG, 0,
                                "%s:%" PRIu64
                                ": a passage needs a non-empty string \"text\" (and \"id\", if "
                                "given, a non-negative integer)",
                                where, lineno);
    }
    json_array_append(b->texts, text);
    json_array_append_new(b->ids, id ? json_incref(id) : json_integer((json_int_t)seq));
    json_object_del(o, "id");
    json_array_append_new(b->payloads, o);
    return 0;
}

/* Streams the member line by line; calls add_passage and flushes full batches. */
typedef int (*line_cb)(void *ud, const char *line, size_t len, uint64_t lineno,
                       envmgr_error_t *err);

static int each_line(envmgr_fixture_t *f, const char *member, line_cb cb, void *ud,
                     envmgr_error_t *err)
{
    fx_reader_t r;
    if (fx_reader_open(f, member, &r, err) < 0) {
        fx_reader_close(&r);
        return -1;
    }
    envmgr_buf_t line = ENVMGR_BUF_INIT;
    char chunk[16384];
    uint64_t lineno = 0;
    int ret = 0;
    for (;;) {
        ssize_t n = fx_reader_read(&r, chunk, sizeof(chunk), err);
        if (n < 0) {
            ret = -1;
            break;
        }
        size_t pos = 0;
        while (ret == 0 && pos < (size_t)n) {
            char *nl = memchr(chunk + pos, '\n', (size_t)n - pos);
            size_t take = nl ? (size_t)(nl - (chunk + pos)) : (size_t)n - pos;
            if (line.len + take > MAX_LINE) {
                ret = envmgr_error_set(err, ENVMGR_E_CONFIG, 0, "%s:%" PRIu64 ": line over 1 MiB",
                                       r.where, lineno + 1);
                break;
            }
            envmgr_buf_add(&line, chunk + pos, take);
            pos += take + (nl ? 1 : 0);
            if (nl || (n == 0)) {
                lineno++;
                if (line.len > 0 && line.data[line.len - 1] == '\r')
                    line.len--;
                if (line.len > 0)
                    ret = cb(ud, line.data, line.len, lineno, err);
                envmgr_buf_reset(&line);
            }
        }
        if (ret < 0 || n == 0)
            break;
    }
    if (ret == 0 && line.len > 0)
        ret = cb(ud, line.data, line.len, ++lineno, err);
    envmgr_buf_free(&line);
    fx_reader_close(&r);
    return ret;
}

typedef struct doc_run {
    fx_load_ctx_t *ctx;
    const fx_step_t *step;
    batch_t batch;
    const char *where;
    uint64_t seq;
    int64_t start;
} doc_run_t;

static int doc_line(void *ud, const char *line, size_t len, uint64_t lineno, envmgr_error_t *err)
{
    doc_run_t *d = ud;
    if (!fx_utf8_valid((const unsigned char *)line, len))
        return envmgr_error_set(err, ENVMGR_E_CONFIG, 0, "%s:%" PRIu64 ": invalid UTF-8", d->where,
                                lineno);
    if (add_passage(&d->batch, line, len, d->where, lineno, ++d->seq, err) < 0)
        return -1;
    if (json_array_size(d->batch.texts) >= (size_t)d->step->batch) {
        if (flush_batch(d->ctx, d->step, &d->batch, d->where, err) < 0)
            return -1;
        fx_report(d->ctx, "documents", d->step->collection, d->seq, 0, d->start, false);
    }
    return 0;
}

int fx_documents_step(fx_load_ctx_t *ctx, const fx_step_t *step, envmgr_error_t *err)
{
    const char *vurl = service_url(ctx, step->vectors_service, err);
    if (vurl == NULL || service_url(ctx, step->service, err) == NULL)
        return -1;
    cleanup_free char *where = xasprintf("%s:%s", ctx->fixture->display_name, step->file);
    if (create_collection(ctx, step, vurl, err) < 0)
        return -1;
    doc_run_t d = {.ctx = ctx, .step = step, .where = where, .start = envmgr_now_ms()};
    d.batch = (batch_t){json_array(), json_array(), json_array()};
    int r = each_line(ctx->fixture, step->file, doc_line, &d, err);
    if (r == 0)
        r = flush_batch(ctx, step, &d.batch, where, err);
    if (r == 0)
        fx_report(ctx, "documents", step->collection, d.seq, 0, d.start, true);
    json_decref(d.batch.texts);
    json_decref(d.batch.payloads);
    json_decref(d.batch.ids);
    return r;
}

void fx_documents_rollback(fx_load_ctx_t *ctx)
{
    for (size_t i = 0; i < ctx->collections.n; i++) {
        const envmgr_kv_t *kv =
            envmgr_kvlist_find(&ctx->collection_urls, ctx->collections.items[i]);
        if (kv == NULL)
            continue;
        cleanup_free char *url = xasprintf("%s/collections/%s", kv->value, kv->key);
        long status;
        envmgr_error_t ignored = {0};
        fx_http_request("DELETE", url, NULL, NULL, 0, &status, NULL, &ignored);
    }
}

static int count_line(void *ud, const char *line, size_t len, uint64_t lineno, envmgr_error_t *err)
{
    (*(uint64_t *)ud)++;
    return 0;
}

int fx_documents_verify(envmgr_fixture_t *f, const envmgr_fixture_targets_t *t, json_t *checks,
                        envmgr_error_t *err)
{
    fx_load_ctx_t ctx = {.fixture = f, .targets = t};
    for (size_t i = 0; i < f->manifest->n_steps; i++) {
        const fx_step_t *s = &f->manifest->steps[i];
        if (s->type != FX_STEP_DOCUMENTS)
            continue;
        const char *vurl = service_url(&ctx, s->vectors_service, err);
        if (vurl == NULL)
            return -1;
        uint64_t expected = 0;
        if (each_line(f, s->file, count_line, &expected, err) < 0)
            return -1;
        cleanup_free char *url = xasprintf("%s/collections/%s/points/count", vurl, s->collection);
        cleanup_json json_t *body = json_pack("{s:b}", "exact", 1);
        cleanup_json json_t *reply = NULL;
        envmgr_error_t call_err = {0};
        json_int_t actual = -1;
        if (json_call("POST", url, body, 200, &reply, &call_err) == 0)
            actual = json_integer_value(json_object_get(json_object_get(reply, "result"), "count"));
        char exp_s[32], act_s[32];
        snprintf(exp_s, sizeof(exp_s), "%" PRIu64, expected);
        snprintf(act_s, sizeof(act_s), "%" JSON_INTEGER_FORMAT, actual);
        bool ok = actual >= 0 && (uint64_t)actual == expected;
        cleanup_free char *target = xasprintf("collection %s points", s->collection);
        json_t *c = json_pack("{s:s, s:s, s:s, s:b}", "target", target, "expected", exp_s, "actual",
                              act_s, "ok", ok);
        if (!ok) {
            cleanup_free char *msg =
                actual < 0 ? xasprintf("collection `%s`: %s", s->collection, call_err.message)
                           : xasprintf("collection `%s` has %s points, the fixture has %s "
                                       "passages",
                                       s->collection, act_s, exp_s);
            json_object_set_new(c, "message", json_string(msg));
        }
        json_array_append_new(checks, c);
    }
    return 0;
}
