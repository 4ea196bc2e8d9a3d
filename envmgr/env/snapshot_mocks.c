/* The mocks' share of a snapshot, through their admin APIs (the fixture's http and documents
 * steps put it there): mock-llm's cassette (GET/PUT /__admin/cassette) and mock-vector's
 * collections (the Qdrant API: GET /collections/<name> for the vector parameters, scroll for the
 * points with payloads and vectors; restored by PUT /collections/<name> and PUT .../points).
 * Saved as one mocks.json: {"<service>": {"cassette": {...}, "collections": [{"name", "vectors",
 * "points": [...]}]}}. The request journals are not part of it: a restored mock starts with an
 * empty one, as a mock does after `up`. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snapshot_internal.h"
#include <envmgr/http.h>

#define SCROLL_PAGE 256
#define HTTP_TIMEOUT_MS 120000L

/* One request with a JSON body (or none); *out the JSON reply (may be NULL). probe: a failure is
 * no error, *out stays NULL. */
static int http_json(const char *method, const char *url, const json_t *body, json_t **out,
                     bool probe, envmgr_error_t *err)
{
    if (out)
        *out = NULL;
    envmgr_cleanup_free char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    envmgr_buf_t reply = ENVMGR_BUF_INIT;
    long status = 0;
    envmgr_error_t transfer_err = {0};
    bool sent = envmgr_http_request(method, url, text, text ? strlen(text) : 0,
                                    probe ? 5000L : HTTP_TIMEOUT_MS, &reply, &status,
                                    probe ? &transfer_err : err) == 0;
    int r = 0;
    if (!sent)
        r = probe ? 0 : -1;
    else if (status < 200 || status > 299)
        r = probe ? 0
                  : envmgr_error_set(err, ENVMGR_E_ENV, (int)status, "%s %s: HTTP %ld: %.300s",
                                     method, url, status, reply.data ? reply.data : "");
    else if (out)
        *out = json_loadb(reply.data ? reply.data : "", reply.len, 0, NULL);
    if (r == 0 && out && !*out && !probe && sent && status >= 200 && status <= 299)
        r = envmgr_error_set(err, ENVMGR_E_ENV, 0, "%s %s: the reply is not JSON", method, url);
    envmgr_buf_free(&reply);
    return r;
}

static char *collection_url(const char *base, const char *name, const char *suffix)
{
    char *escaped = curl_easy_escape(NULL, name, 0);
    char *u = envmgr_xasprintf("%s/collections/%s%s", base, escaped ? escaped : "", suffix);
    curl_free(escaped);
    return u;
}

static int collection_save(const char *base, const char *name, json_t *out, envmgr_error_t *err)
{
    envmgr_cleanup_free char *u = collection_url(base, name, "");
    envmgr_cleanup_json json_t *info = NULL;
    if (http_json("GET", u, NULL, &info, false, err) < 0)
        return -1;
    json_t *vectors = json_object_get(
        json_object_get(json_object_get(json_object_get(info, "result"), "config"), "params"),
        "vectors");
    json_t *points = json_array();
    envmgr_cleanup_free char *su = collection_url(base, name, "/points/scroll");
    json_t *offset = json_null();
    int r = 0;
    while (r == 0) {
        envmgr_cleanup_json json_t *body =
            json_pack("{s:i,s:b,s:b,s:O}", "limit", SCROLL_PAGE, "with_payload", 1, "with_vector",
                      1, "offset", offset);
        envmgr_cleanup_json json_t *page = NULL;
        if ((r = http_json("POST", su, body, &page, false, err)) < 0)
            break;
        json_t *res = json_object_get(page, "result");
        json_array_extend(points, json_object_get(res, "points"));
        json_decref(offset);
        offset = json_incref(json_object_get(res, "next_page_offset"));
        if (!offset || json_is_null(offset))
            break;
    }
    json_decref(offset);
    if (r == 0)
        json_array_append_new(out, json_pack("{s:s,s:O,s:o}", "name", name, "vectors",
                                             vectors ? vectors : json_null(), "points", points));
    else
        json_decref(points);
    return r;
}

/* What one mock holds, or NULL when the service is no mock (no /__admin/requests). */
static int service_save(const char *base, json_t **out, envmgr_error_t *err)
{
    *out = NULL;
    envmgr_cleanup_free char *probe_url = envmgr_xasprintf("%s/__admin/requests?limit=0", base);
    envmgr_cleanup_json json_t *probe = NULL;
    http_json("GET", probe_url, NULL, &probe, true, err);
    if (!json_is_array(json_object_get(probe, "requests")))
        return 0;
    json_t *state = json_object();
    envmgr_cleanup_free char *cu = envmgr_xasprintf("%s/__admin/cassette", base);
    json_t *cassette = NULL;
    http_json("GET", cu, NULL, &cassette, true, err);
    bool llm = json_is_string(json_object_get(cassette, "source"));
    if (llm && json_object_get(cassette, "cassette"))
        json_object_set(state, "cassette", json_object_get(cassette, "cassette"));
    json_decref(cassette);
    envmgr_cleanup_free char *lu = envmgr_xasprintf("%s/collections", base);
    envmgr_cleanup_json json_t *list = NULL;
    if (!llm) /* a Qdrant API (mock-vector) */
        http_json("GET", lu, NULL, &list, true, err);
    json_t *cols = json_object_get(json_object_get(list, "result"), "collections");
    if (json_is_array(cols)) {
        json_t *saved = json_array();
        json_object_set_new(state, "collections", saved);
        size_t i;
        json_t *c;
        json_array_foreach(cols, i, c)
        {
            const char *name = json_string_value(json_object_get(c, "name"));
            if (name && collection_save(base, name, saved, err) < 0) {
                json_decref(state);
                return -1;
            }
        }
    }
    *out = state;
    return 0;
}

int snap_mocks_save(const envmgr_live_targets_t *live, const char *db_service, json_t **out,
                    envmgr_error_t *err)
{
    *out = json_object();
    for (size_t i = 0; i < live->targets.n_services; i++) {
        const envmgr_fixture_service_t *s = &live->targets.services[i];
        if (!s->base_url || s->real || strcmp(s->name, db_service) == 0)
            continue;
        json_t *state = NULL;
        if (service_save(s->base_url, &state, err) < 0)
            return envmgr_error_wrap(err, "service %s", s->name);
        if (state && json_object_size(state))
            json_object_set_new(*out, s->name, state);
        else
            json_decref(state);
    }
    return 0;
}

static int collection_restore(const char *base, const json_t *c, envmgr_error_t *err)
{
    const char *name = json_string_value(json_object_get(c, "name"));
    const json_t *points = json_object_get(c, "points");
    if (!name || !json_is_array(points))
        return envmgr_error_set(err, ENVMGR_E_CONFIG, 0, "a collection without name or points");
    envmgr_cleanup_free char *u = collection_url(base, name, "");
    envmgr_cleanup_json json_t *create =
        json_pack("{s:O}", "vectors", json_object_get(c, "vectors") ?: json_null());
    if (http_json("PUT", u, create, NULL, false, err) < 0)
        return -1;
    envmgr_cleanup_free char *pu = collection_url(base, name, "/points?wait=true");
    for (size_t at = 0; at < json_array_size(points); at += SCROLL_PAGE) {
        json_t *page = json_array();
        for (size_t k = at; k < at + SCROLL_PAGE && k < json_array_size(points); k++)
            json_array_append(page, json_array_get(points, k));
        envmgr_cleanup_json json_t *body = json_pack("{s:o}", "points", page);
        if (http_json("PUT", pu, body, NULL, false, err) < 0)
            return -1;
    }
    return 0;
}

int snap_mocks_restore(const envmgr_live_targets_t *live, const json_t *mocks, envmgr_error_t *err)
{
    const char *name;
    const json_t *state;
    json_object_foreach((json_t *)mocks, name, state)
    {
        const envmgr_fixture_service_t *s = NULL;
        for (size_t i = 0; i < live->targets.n_services && !s; i++)
            if (strcmp(live->targets.services[i].name, name) == 0)
                s = &live->targets.services[i];
        if (!s || !s->base_url || s->real)
            return envmgr_error_set(err, ENVMGR_E_ENV, 0,
                                    "service %s: not a running mock with a published port", name);
        const json_t *cassette = json_object_get(state, "cassette");
        envmgr_cleanup_free char *cu = envmgr_xasprintf("%s/__admin/cassette", s->base_url);
        if (cassette && http_json("PUT", cu, cassette, NULL, false, err) < 0)
            return envmgr_error_wrap(err, "service %s", name);
        size_t i;
        json_t *c;
        json_array_foreach(json_object_get(state, "collections"), i, c)
        {
            if (collection_restore(s->base_url, c, err) < 0)
                return envmgr_error_wrap(err, "service %s", name);
        }
    }
    return 0;
}
