/* mock-llm: routing, OpenAI-shaped errors, the cassette admin API and reset. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm.h"

void llm_respond_error(mock_request_t *req, int status, const char *type, const char *param,
                       const char *code, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    json_t *err = json_pack("{s:s,s:s}", "message", msg, "type", type);
    json_object_set_new(err, "param", param ? json_string(param) : json_null());
    json_object_set_new(err, "code", code ? json_string(code) : json_null());
    mock_respond_json(req, status, json_pack("{s:o}", "error", err));
}

/* The layer's own errors (413, bad HTTP, injected faults) in OpenAI's shape. */
json_t *llm_request_parse(mock_request_t *req, const char **model)
{
    char msg[256];
    json_t *doc =
        mock_json_parse(mock_request_body(req), mock_request_body_len(req), msg, sizeof(msg), NULL);
    const char *bad = NULL, *param = "model";
    json_t *m = json_object_get(doc, "model");
    if (!doc) {
        bad = msg;
        param = NULL;
    } else if (!json_is_object(doc)) {
        bad = "The request body must be a JSON object.";
        param = NULL;
    } else if (!m) {
        bad = "Missing required parameter: 'model'.";
    } else if (!json_is_string(m)) {
        bad = "Invalid type for 'model': expected a string.";
    }
    if (bad) {
        llm_respond_error(req, 400, "invalid_request_error", param, NULL, "%s", bad);
        json_decref(doc);
        return NULL;
    }
    *model = json_string_value(m);
    return doc;
}

void llm_error(mock_request_t *req, int status, const char *message, void *user)
{
    const char *type = "invalid_request_error", *code = NULL;
    if (status == 429)
        type = "rate_limit_error", code = "rate_limit_exceeded";
    else if (status == 404)
        type = "invalid_request_error", code = "unknown_url";
    else if (status >= 500)
        type = "server_error";
    llm_respond_error(req, status, type, NULL, code, "%s", message);
}

int llm_state_load(llm_state_t *st, char *msg, size_t msgsize)
{
    llm_cassette_t *c = st->cassette_path ? llm_cassette_load(st->cassette_path, msg, msgsize)
                                          : llm_cassette_builtin();
    if (!c)
        return -1;
    if (st->default_reply) {
        free(c->fallback.reply);
        c->fallback.reply = mock_xstrdup(st->default_reply);
        c->fallback.error_status = 0;
    }
    llm_cassette_free(st->cassette);
    st->cassette = c;
    return 0;
}

/* POST /__admin/reset: back to the cassette the environment was set up with, i.e. the last one
 * given by PUT /__admin/cassette (cassettes are never changed in place: it is the one in force),
 * else the --cassette file (reloaded) or the built-in one. */
void llm_reset(void *user)
{
    llm_state_t *st = user;
    char msg[512];
    if (st->from_admin)
        return;
    if (llm_state_load(st, msg, sizeof(msg)) < 0)
        fprintf(stderr, "mock-llm: reset: %s (keeping the current cassette)\n", msg);
}

static json_t *model_json(const char *id)
{
    return json_pack("{s:s,s:s,s:I,s:s}", "id", id, "object", "model", "created",
                     (json_int_t)1700000000, "owned_by", "envtest-mock");
}

static void models_list(llm_state_t *st, mock_request_t *req)
{
    json_t *data = json_array();
    for (size_t i = 0; i < st->cassette->nmodels; i++)
        json_array_append_new(data, model_json(st->cassette->models[i]));
    mock_respond_json(req, 200, json_pack("{s:s,s:o}", "object", "list", "data", data));
}

static void model_get(llm_state_t *st, mock_request_t *req, const char *id)
{
    for (size_t i = 0; i < st->cassette->nmodels; i++) {
        if (strcmp(st->cassette->models[i], id) == 0) {
            mock_respond_json(req, 200, model_json(id));
            return;
        }
    }
    llm_respond_error(req, 404, "invalid_request_error", "model", "model_not_found",
                      "The model '%s' does not exist", id);
}

static void cassette_put(llm_state_t *st, mock_request_t *req)
{
    char msg[512];
    bool bad_utf8;
    json_t *doc = mock_json_parse(mock_request_body(req), mock_request_body_len(req), msg,
                                  sizeof(msg), &bad_utf8);
    if (!doc) {
        llm_respond_error(req, 400, "invalid_request_error", NULL, NULL, "cassette: %s", msg);
        return;
    }
    llm_cassette_t *c = llm_cassette_from_json(doc, msg, sizeof(msg));
    if (!c) {
        json_decref(doc);
        llm_respond_error(req, 400, "invalid_request_error", NULL, NULL, "cassette: %s", msg);
        return;
    }
    llm_cassette_free(st->cassette);
    st->cassette = c;
    st->from_admin = true;
    json_decref(st->admin_doc);
    st->admin_doc = doc;
    mock_respond_json(req, 200, json_pack("{s:I}", "rules", (json_int_t)c->nrules));
}

/* DELETE /__admin/cassette: back to the start-up cassette (--cassette, reloaded, or built-in). */
static void cassette_delete(llm_state_t *st, mock_request_t *req)
{
    char msg[512];
    if (llm_state_load(st, msg, sizeof(msg)) < 0) {
        llm_respond_error(req, 500, "server_error", NULL, NULL,
                          "%s (keeping the cassette given by PUT /__admin/cassette)", msg);
        return;
    }
    st->from_admin = false;
    json_decref(st->admin_doc);
    st->admin_doc = NULL;
    json_t *src = st->cassette_path ? json_string(st->cassette_path) : json_string("built-in");
    mock_respond_json(
        req, 200,
        json_pack("{s:I,s:o}", "rules", (json_int_t)st->cassette->nrules, "cassette", src));
}

/* GET /__admin/cassette: {"source":"admin","cassette":{...}} for a cassette given by PUT (what
 * `envtest bundle` saves and `up --from` puts back), else {"source":"start-up","rules":N}: the
 * --cassette file or the built-in one, which the same image and command give again. */
static void cassette_get(llm_state_t *st, mock_request_t *req)
{
    if (st->from_admin && st->admin_doc)
        mock_respond_json(req, 200,
                          json_pack("{s:s,s:O}", "source", "admin", "cassette", st->admin_doc));
    else
        mock_respond_json(req, 200,
                          json_pack("{s:s,s:I}", "source", "start-up", "rules",
                                    (json_int_t)st->cassette->nrules));
}

static bool method_is(mock_request_t *req, const char *want)
{
    if (strcmp(mock_request_method(req), want) == 0)
        return true;
    llm_respond_error(req, 405, "invalid_request_error", NULL, "method_not_allowed",
                      "%s %s: use %s", mock_request_method(req), mock_request_path(req), want);
    return false;
}

void llm_handle(mock_request_t *req, void *user)
{
    llm_state_t *st = user;
    const char *path = mock_request_path(req);
    if (strcmp(path, "/health") == 0) {
        if (method_is(req, "GET"))
            mock_respond_json(req, 200, json_pack("{s:s}", "status", "ok"));
    } else if (strcmp(path, "/v1/models") == 0) {
        if (method_is(req, "GET"))
            models_list(st, req);
    } else if (strncmp(path, "/v1/models/", 11) == 0 && path[11]) {
        if (method_is(req, "GET"))
            model_get(st, req, path + 11);
    } else if (strcmp(path, "/v1/chat/completions") == 0) {
        if (method_is(req, "POST") && st->proxy)
            st->proxy(st, req, "/chat/completions");
        else if (strcmp(mock_request_method(req), "POST") == 0)
            llm_chat_completions(st, req);
    } else if (strcmp(path, "/v1/embeddings") == 0) {
        if (method_is(req, "POST") && st->proxy)
            st->proxy(st, req, "/embeddings");
        else if (strcmp(mock_request_method(req), "POST") == 0)
            llm_embeddings(st, req);
    } else if (strcmp(path, "/__admin/cassette") == 0) {
        if (strcmp(mock_request_method(req), "DELETE") == 0)
            cassette_delete(st, req);
        else if (strcmp(mock_request_method(req), "GET") == 0)
            cassette_get(st, req);
        else if (strcmp(mock_request_method(req), "PUT") == 0)
            cassette_put(st, req);
        else
            llm_respond_error(req, 405, "invalid_request_error", NULL, "method_not_allowed",
                              "%s /__admin/cassette: use GET, PUT or DELETE",
                              mock_request_method(req));
    } else {
        llm_respond_error(req, 404, "invalid_request_error", NULL, "unknown_url",
                          "Unknown request URL: %s %s", mock_request_method(req), path);
    }
}
