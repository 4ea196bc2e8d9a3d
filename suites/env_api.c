/* ADR-009 API integration: the contracts of every mock endpoint the system uses (OpenAI chat,
 * streaming, embeddings; Qdrant collections, upsert, search with filter, query, count) and their
 * error shapes. Reads only the environment's variables; prints TAP 13. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "envconn.h"
#include "environment.h"
#include "seoul.h"

static const char *model_of(const envconn_t *env, enum suite_model_kind kind)
{
    static char ids[2][256];
    if (!*ids[kind]) {
        cleanup_free char *id = suite_model(env, kind);
        snprintf(ids[kind], sizeof(ids[kind]), "%s", id ? id : "");
    }
    return ids[kind];
}
#define chat_model(env) model_of(env, SUITE_MODEL_CHAT)
#define embedding_model(env) model_of(env, SUITE_MODEL_EMBEDDING)

/* ---- OpenAI: chat ---- */
static json_t *chat_request(const envconn_t *env, const char *question, bool stream)
{
    json_t *req =
        json_pack("{s:s, s:[{s:s, s:s}, {s:s, s:s}]}", "model", chat_model(env), "messages", "role",
                  "system", "content", "You translate Korean questions into MySQL.", "role", "user",
                  "content", question);
    if (stream) {
        json_object_set_new(req, "stream", json_true());
        json_object_set_new(req, "stream_options", json_pack("{s:b}", "include_usage", 1));
    }
    return req;
}

static void test_chat_completion(void *ctx)
{
    envconn_t *env = ctx;
    const char *model = chat_model(env);
    TAP_RETURN_IF_FAILED();
    cleanup_json json_t *req = chat_request(env, Q_GANGNAM_TOP_INDUSTRY, false);
    cleanup_json json_t *r =
        suite_http_json("POST", env->openai_url, "/chat/completions", req, 200);
    TAP_RETURN_IF_FAILED();
    TAP_ASSERT_STR_EQ(json_string_value(json_object_get(r, "object")), "chat.completion");
    const char *id = json_string_value(json_object_get(r, "id"));
    TAP_ASSERT(id && strncmp(id, "chatcmpl-", 9) == 0, "id is not chatcmpl-...: %s",
               id ?: "(none)");
    TAP_ASSERT_INT_GT(json_integer_value(json_object_get(r, "created")), 1600000000);
    TAP_ASSERT_STR_EQ(json_string_value(json_object_get(r, "model")), model);
    json_t *choice = json_array_get(json_object_get(r, "choices"), 0);
    TAP_ASSERT_INT_EQ(json_integer_value(json_object_get(choice, "index")), 0);
    json_t *msg = json_object_get(choice, "message");
    TAP_ASSERT_STR_EQ(json_string_value(json_object_get(msg, "role")), "assistant");
    const char *content = json_string_value(json_object_get(msg, "content"));
    TAP_ASSERT(content && *content, "choices[0].message.content is empty");
    TAP_ASSERT_STR_EQ(json_string_value(json_object_get(choice, "finish_reason")), "stop");
    json_t *usage = json_object_get(r, "usage");
    json_int_t pt = json_integer_value(json_object_get(usage, "prompt_tokens"));
    json_int_t ct = json_integer_value(json_object_get(usage, "completion_tokens"));
    TAP_ASSERT_INT_GT(pt, 0);
    TAP_ASSERT_INT_GT(ct, 0);
    TAP_ASSERT_INT_EQ(json_integer_value(json_object_get(usage, "total_tokens")), pt + ct);
}

static void test_chat_stream(void *ctx)
{
    envconn_t *env = ctx;
    cleanup_json json_t *plain_req = chat_request(env, Q_GANGNAM_TOP_INDUSTRY, false);
    TAP_RETURN_IF_FAILED();
    cleanup_json json_t *plain =
        suite_http_json("POST", env->openai_url, "/chat/completions", plain_req, 200);
    TAP_RETURN_IF_FAILED();
    const char *expected = json_string_value(json_object_get(
        json_object_get(json_array_get(json_object_get(plain, "choices"), 0), "message"),
        "content"));

    cleanup_json json_t *req = chat_request(env, Q_GANGNAM_TOP_INDUSTRY, true);
    cleanup_free char *text = json_dumps(req, JSON_COMPACT);
    cleanup_free char *url = url_join(env->openai_url, "/chat/completions");
    cleanup_http http_response_t resp;
    /* another suite may inject a mid-stream disconnect into the shared mock: retry that */
    for (int attempt = 1;; attempt++) {
        http_request("POST", url, text, &resp);
        if (resp.transport_error == 0 || attempt == 3)
            break;
        tap_note("stream attempt %d: %s, retrying", attempt, resp.error);
        http_response_free(&resp);
    }
    TAP_ASSERT(resp.transport_error == 0, "stream ended with a transport error: %s", resp.error);
    TAP_ASSERT_INT_EQ(resp.status, 200);
    TAP_ASSERT_STR_CONTAINS(resp.content_type, "text/event-stream");
    bool done;
    cleanup_free char *bad = NULL;
    cleanup_json json_t *events = suite_sse_parse(resp.body, &done, &bad);
    TAP_ASSERT(bad == NULL, "%s", bad);
    TAP_ASSERT(done, "stream did not end with data: [DONE]");
    TAP_ASSERT_INT_GE(json_array_size(events), 2);
    cleanup_free char *joined = tap_fmt("%s", "");
    const char *first_id = NULL, *finish = NULL;
    bool usage_seen = false;
    size_t i;
    json_t *ev;
    cleanup_json json_t *chunks = json_array();
    json_array_foreach(events, i, ev)
    {
        json_t *chunk = json_loads(json_string_value(ev), 0, NULL);
        TAP_ASSERT(chunk, "event %zu is not JSON: %s", i, json_string_value(ev));
        json_array_append_new(chunks, chunk);
        TAP_ASSERT_STR_EQ(json_string_value(json_object_get(chunk, "object")),
                          "chat.completion.chunk");
        const char *id = json_string_value(json_object_get(chunk, "id"));
        if (!first_id)
            first_id = id;
        TAP_ASSERT_STR_EQ(id, first_id);
        json_t *choice = json_array_get(json_object_get(chunk, "choices"), 0);
        const char *piece =
            json_string_value(json_object_get(json_object_get(choice, "delta"), "content"));
        if (piece) {
            char *grown = tap_fmt("%s%s", joined, piece);
            free(joined);
            joined = grown;
        }
        if (json_string_value(json_object_get(choice, "finish_reason")))
            finish = json_string_value(json_object_get(choice, "finish_reason"));
        if (json_is_object(json_object_get(chunk, "usage")))
            usage_seen = true;
    }
    TAP_ASSERT_STR_EQ(finish, "stop");
    TAP_ASSERT(usage_seen, "include_usage asked, but no chunk carries usage");
    TAP_ASSERT_STR_EQ(joined, expected);
    tap_note("%zu chunks, %zu bytes of content", json_array_size(events), strlen(joined));
}

/* ---- OpenAI: embeddings ---- */
static double dot(const json_t *a, const json_t *b)
{
    double s = 0;
    for (size_t i = 0; i < json_array_size(a) && i < json_array_size(b); i++)
        s += json_number_value(json_array_get(a, i)) * json_number_value(json_array_get(b, i));
    return s;
}

static void test_embeddings(void *ctx)
{
    envconn_t *env = ctx;
    const char *model = embedding_model(env);
    TAP_RETURN_IF_FAILED();
    cleanup_json json_t *req =
        json_pack("{s:s, s:[s, s, s]}", "model", model, "input", "스타트업 지원 정책",
                  "서울시 스타트업 지원 정책: 창업 초기 기업에 사무공간과 자금을 지원합니다.",
                  "2024년 1분기 강남구 한식음식점 매출 금액과 매출 건수");
    cleanup_json json_t *r = suite_http_json("POST", env->openai_url, "/embeddings", req, 200);
    TAP_RETURN_IF_FAILED();
    TAP_ASSERT_STR_EQ(json_string_value(json_object_get(r, "object")), "list");
    json_t *data = json_object_get(r, "data");
    TAP_ASSERT_INT_EQ(json_array_size(data), 3);
    json_t *v[3];
    for (size_t i = 0; i < 3; i++) {
        json_t *item = json_array_get(data, i);
        TAP_ASSERT_INT_EQ(json_integer_value(json_object_get(item, "index")), (long long)i);
        TAP_ASSERT_STR_EQ(json_string_value(json_object_get(item, "object")), "embedding");
        v[i] = json_object_get(item, "embedding");
        TAP_ASSERT_INT_EQ(json_array_size(v[i]), 384);
        TAP_ASSERT_DBL_NEAR(sqrt(dot(v[i], v[i])), 1.0, 1e-3);
    }
    double related = dot(v[0], v[1]), unrelated = dot(v[0], v[2]);
    tap_note("cosine(query, startup passage) %.4f, cosine(query, sales text) %.4f", related,
             unrelated);
    TAP_ASSERT_DBL_GT(related, unrelated);
    TAP_ASSERT_INT_GT(
        json_integer_value(json_object_get(json_object_get(r, "usage"), "prompt_tokens")), 0);

    /* dimensions asks for a shorter, still normalised vector; same text, same vector */
    cleanup_json json_t *small_req = json_pack("{s:s, s:s, s:i}", "model", model, "input",
                                               "스타트업 지원 정책", "dimensions", 64);
    cleanup_json json_t *small =
        suite_http_json("POST", env->openai_url, "/embeddings", small_req, 200);
    TAP_RETURN_IF_FAILED();
    json_t *sv = json_object_get(json_array_get(json_object_get(small, "data"), 0), "embedding");
    TAP_ASSERT_INT_EQ(json_array_size(sv), 64);
    TAP_ASSERT_DBL_NEAR(sqrt(dot(sv, sv)), 1.0, 1e-3);
    cleanup_json json_t *again = suite_http_json("POST", env->openai_url, "/embeddings", req, 200);
    TAP_RETURN_IF_FAILED();
    TAP_ASSERT(json_equal(json_object_get(again, "data"), data),
               "same input, different embeddings");
}

/* ---- OpenAI: errors ---- */
static void test_openai_errors(void *ctx)
{
    envconn_t *env = ctx;
    cleanup_json json_t *req = json_pack("{s:s}", "model", chat_model(env)); /* no messages */
    TAP_RETURN_IF_FAILED();
    cleanup_json json_t *r =
        suite_http_json("POST", env->openai_url, "/chat/completions", req, 400);
    TAP_RETURN_IF_FAILED();
    json_t *err = json_object_get(r, "error");
    TAP_ASSERT(json_is_object(err), "400 body is not {\"error\":{...}}");
    const char *msg = json_string_value(json_object_get(err, "message"));
    TAP_ASSERT_STR_CONTAINS(msg, "messages");
    TAP_ASSERT(json_is_string(json_object_get(err, "type")), "error.type missing");
    TAP_ASSERT(json_object_get(err, "param") && json_object_get(err, "code"),
               "error.param / error.code keys missing (OpenAI's shape has them, null allowed)");
    cleanup_json json_t *nf =
        suite_http_json("GET", env->llm_url, "/v1/no-such-endpoint", NULL, 404);
    TAP_RETURN_IF_FAILED();
    TAP_ASSERT(json_is_object(json_object_get(nf, "error")), "404 body is not {\"error\":{...}}");
}

/* ---- Qdrant ---- */
typedef struct scratch_collection {
    const envconn_t *env;
    char path[128]; /* /collections/<name> */
} scratch_collection_t;

static void scratch_collection_drop(scratch_collection_t *c)
{
    if (!c->env)
        return;
    cleanup_free char *url = url_join(c->env->vector_url, c->path);
    cleanup_http http_response_t resp;
    http_request("DELETE", url, NULL, &resp);
}
#define cleanup_collection __attribute__((cleanup(scratch_collection_drop)))

static const char *const point_districts[] = {"강남구", "강남구", "마포구",
                                              "서초구", "강남구", "마포구"};

static int scratch_create(scratch_collection_t *c, const envconn_t *env)
{
    snprintf(c->path, sizeof(c->path), "/collections/suite_api_%ld", (long)getpid());
    cleanup_json json_t *create =
        json_pack("{s:{s:i, s:s}}", "vectors", "size", 4, "distance", "Cosine");
    cleanup_json json_t *r = suite_http_json("PUT", env->vector_url, c->path, create, 200);
    if (!r)
        return -1;
    c->env = env;
    json_t *points = json_array();
    for (int i = 0; i < 6; i++) {
        double a = (double)(i + 1);
        json_array_append_new(points,
                              json_pack("{s:i, s:[f,f,f,f], s:{s:s, s:i}}", "id", i + 1, "vector",
                                        a, 1.0, 0.5 * a, 6.0 - a, "payload", "district",
                                        point_districts[i], "sales", (i + 1) * 1000));
    }
    cleanup_json json_t *upsert = json_pack("{s:o}", "points", points);
    cleanup_free char *path = tap_fmt("%s/points?wait=true", c->path);
    cleanup_json json_t *u = suite_http_json("PUT", env->vector_url, path, upsert, 200);
    return u ? 0 : -1;
}

static void test_qdrant_search_filter_query_count(void *ctx)
{
    envconn_t *env = ctx;
    cleanup_collection scratch_collection_t col = {0};
    if (scratch_create(&col, env) < 0)
        return;
    /* search with a filter: only 강남구 points, best first */
    cleanup_json json_t *search = json_pack(
        "{s:[f,f,f,f], s:i, s:b, s:{s:[{s:s, s:{s:s}}]}}", "vector", 1.0, 1.0, 0.5, 5.0, "limit",
        10, "with_payload", 1, "filter", "must", "key", "district", "match", "value", "강남구");
    cleanup_free char *spath = tap_fmt("%s/points/search", col.path);
    cleanup_json json_t *sr = suite_http_json("POST", env->vector_url, spath, search, 200);
    TAP_RETURN_IF_FAILED();
    TAP_ASSERT_STR_EQ(json_string_value(json_object_get(sr, "status")), "ok");
    TAP_ASSERT(json_is_number(json_object_get(sr, "time")), "search answer has no time");
    json_t *hits = json_object_get(sr, "result");
    TAP_ASSERT_INT_EQ(json_array_size(hits), 3);
    TAP_ASSERT_INT_EQ(json_integer_value(json_object_get(json_array_get(hits, 0), "id")), 1);
    size_t i;
    json_t *h;
    json_array_foreach(hits, i, h)
    {
        TAP_ASSERT_STR_EQ(
            json_string_value(json_object_get(json_object_get(h, "payload"), "district")),
            "강남구");
    }
    /* the universal query endpoint with a nearest vector */
    cleanup_json json_t *query = json_pack("{s:[f,f,f,f], s:i, s:b}", "query", 6.0, 1.0, 3.0, 0.0,
                                           "limit", 2, "with_payload", 1);
    cleanup_free char *qpath = tap_fmt("%s/points/query", col.path);
    cleanup_json json_t *qr = suite_http_json("POST", env->vector_url, qpath, query, 200);
    TAP_RETURN_IF_FAILED();
    json_t *qpoints = json_object_get(json_object_get(qr, "result"), "points");
    TAP_ASSERT_INT_EQ(json_array_size(qpoints), 2);
    TAP_ASSERT_INT_EQ(json_integer_value(json_object_get(json_array_get(qpoints, 0), "id")), 6);
    /* count, with and without a filter */
    cleanup_free char *cpath = tap_fmt("%s/points/count", col.path);
    cleanup_json json_t *call = json_pack("{s:b}", "exact", 1);
    cleanup_json json_t *cr = suite_http_json("POST", env->vector_url, cpath, call, 200);
    TAP_RETURN_IF_FAILED();
    TAP_ASSERT_INT_EQ(json_integer_value(json_object_get(json_object_get(cr, "result"), "count")),
                      6);
    cleanup_json json_t *cf =
        json_pack("{s:b, s:{s:[{s:s, s:{s:[s,s]}}]}}", "exact", 1, "filter", "must", "key",
                  "district", "match", "any", "마포구", "서초구");
    cleanup_json json_t *cfr = suite_http_json("POST", env->vector_url, cpath, cf, 200);
    TAP_RETURN_IF_FAILED();
    TAP_ASSERT_INT_EQ(json_integer_value(json_object_get(json_object_get(cfr, "result"), "count")),
                      3);
}

static void test_qdrant_errors(void *ctx)
{
    envconn_t *env = ctx;
    cleanup_json json_t *search =
        json_pack("{s:[f,f,f,f], s:i}", "vector", 1.0, 0.0, 0.0, 0.0, "limit", 1);
    cleanup_json json_t *nf =
        suite_http_json("POST", env->vector_url,
                        "/collections/no_such_collection_envtest/points/search", search, 404);
    TAP_RETURN_IF_FAILED();
    const char *msg = json_string_value(json_object_get(json_object_get(nf, "status"), "error"));
    TAP_ASSERT(msg && *msg, "404 body is not {\"status\":{\"error\":...}}");
    TAP_ASSERT_STR_CONTAINS(msg, "no_such_collection_envtest");

    cleanup_collection scratch_collection_t col = {0};
    if (scratch_create(&col, env) < 0)
        return;
    cleanup_json json_t *bad = json_pack("{s:[f,f,f], s:i}", "vector", 1.0, 0.0, 0.0, "limit", 1);
    cleanup_free char *spath = tap_fmt("%s/points/search", col.path);
    cleanup_json json_t *dim = suite_http_json("POST", env->vector_url, spath, bad, 400);
    TAP_RETURN_IF_FAILED();
    const char *dmsg = json_string_value(json_object_get(json_object_get(dim, "status"), "error"));
    TAP_ASSERT(dmsg && *dmsg, "400 body is not {\"status\":{\"error\":...}}");
    tap_note("wrong dimension: %s", dmsg);
    TAP_ASSERT(strstr(dmsg, "dimension") || strstr(dmsg, "Dimension"),
               "error does not mention the dimension: %s", dmsg);
    /* a bad upsert is refused too and leaves the count unchanged */
    cleanup_json json_t *bad_up =
        json_pack("{s:[{s:i, s:[f,f]}]}", "points", "id", 99, "vector", 1.0, 2.0);
    cleanup_free char *upath = tap_fmt("%s/points?wait=true", col.path);
    cleanup_json json_t *ur = suite_http_json("PUT", env->vector_url, upath, bad_up, 400);
    TAP_RETURN_IF_FAILED();
    const char *umsg = json_string_value(json_object_get(json_object_get(ur, "status"), "error"));
    TAP_ASSERT(umsg && *umsg, "refused upsert without {\"status\":{\"error\":...}}");
    cleanup_free char *cpath = tap_fmt("%s/points/count", col.path);
    cleanup_json json_t *call = json_pack("{s:b}", "exact", 1);
    cleanup_json json_t *cr = suite_http_json("POST", env->vector_url, cpath, call, 200);
    TAP_RETURN_IF_FAILED();
    TAP_ASSERT_INT_EQ(json_integer_value(json_object_get(json_object_get(cr, "result"), "count")),
                      6);
}

static void test_admin_journal(void *ctx)
{
    envconn_t *env = ctx;
    cleanup_free char *marker = tap_fmt("journal probe %ld", (long)getpid());
    cleanup_json json_t *req =
        json_pack("{s:s, s:s}", "model", embedding_model(env), "input", marker);
    cleanup_json json_t *r = suite_http_json("POST", env->openai_url, "/embeddings", req, 200);
    TAP_RETURN_IF_FAILED();
    TAP_ASSERT_INT_EQ(json_array_size(json_object_get(r, "data")), 1);
    cleanup_json json_t *j = suite_http_json("GET", env->llm_url, "/__admin/requests", NULL, 200);
    TAP_RETURN_IF_FAILED();
    json_t *list = json_is_array(j) ? j : json_object_get(j, "requests");
    TAP_ASSERT(json_is_array(list), "GET /__admin/requests is not a list of requests");
    json_t *found = NULL;
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e)
    {
        const char *body = json_string_value(json_object_get(e, "body"));
        if (body && strstr(body, marker))
            found = e;
    }
    TAP_ASSERT(found, "the journal does not show this suite's embeddings request (%zu entries)",
               json_array_size(list));
    TAP_ASSERT_STR_EQ(json_string_value(json_object_get(found, "method")), "POST");
    TAP_ASSERT_STR_EQ(json_string_value(json_object_get(found, "path")), "/v1/embeddings");
    TAP_ASSERT_INT_EQ(json_integer_value(json_object_get(found, "status")), 200);
}

const tap_test_t env_api_tests[] = {
    {"openai: chat completion (non-stream) contract", test_chat_completion},
    {"openai: chat completion stream (SSE chunks, usage, [DONE])", test_chat_stream},
    {"openai: embeddings dimensions, normalisation, similarity", test_embeddings},
    {"openai: error shape {\"error\":{...}} and 404", test_openai_errors},
    {"qdrant: search with filter, query, count", test_qdrant_search_filter_query_count},
    {"qdrant: error shape, 404 unknown collection, 400 wrong dimension", test_qdrant_errors},
    {"admin: request journal records the calls", test_admin_journal},
};
const size_t env_api_count = TAP_COUNT(env_api_tests);
