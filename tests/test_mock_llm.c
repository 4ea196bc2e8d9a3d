/* mock-llm over real loopback sockets: the OpenAI endpoints, streaming, the cassette rules,
 * embeddings (including Korean similarity) and the 400s that name the field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mock_child.h"

static const char cassette[] =
    "{\"rules\":["
    "{\"name\":\"exact-hello\",\"match\":{\"user\":\"hello\"},\"reply\":\"Hello! How can I "
    "help?\"},"
    "{\"name\":\"model-4o\",\"match\":{\"user\":{\"contains\":\"weather\"},\"model\":\"gpt-4o\"},"
    "\"reply\":\"Sunny (gpt-4o).\"},"
    "{\"name\":\"weather\",\"match\":{\"user\":{\"contains\":\"weather\"}},\"reply\":\"Rainy.\"},"
    "{\"name\":\"pirate\",\"match\":{\"system\":{\"contains\":\"pirate\"}},\"reply\":\"Arr!\"},"
    "{\"name\":\"policy\",\"match\":{\"user\":{\"regex\":\"^(startup|스타트업) "
    "[a-z가-힣 ]+$\"}},\"reply\":\"서울시 스타트업 지원 정책입니다.\"},"
    "{\"name\":\"boom\",\"match\":{\"user\":\"boom\"},\"error\":{\"status\":503,"
    "\"message\":\"engine overloaded\",\"code\":\"overloaded\"}}],"
    "\"default\":{\"error\":{\"status\":404,\"message\":\"no cassette rule matches\","
    "\"code\":\"cassette_miss\"}}}";

static int setup(void **state)
{
    mock_child_t *c = calloc(1, sizeof(*c));
    char path[] = "/tmp/envtest-cassette-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0 || write(fd, cassette, sizeof(cassette) - 1) != (ssize_t)(sizeof(cassette) - 1))
        return -1;
    close(fd);
    const char *args[] = {"--cassette", path, NULL};
    int r = mock_child_start(c, MOCK_LLM_BIN, args);
    *state = c;
    unlink(path); /* loaded at start; POST /__admin/reset would reload it: tests keep a copy */
    return r;
}

static int teardown(void **state)
{
    mock_child_stop(*state);
    free(*state);
    return 0;
}

static json_t *chat(const mock_child_t *c, const char *model, const char *system, const char *user,
                    long *status)
{
    json_t *msgs = json_array();
    if (system)
        json_array_append_new(msgs, json_pack("{s:s,s:s}", "role", "system", "content", system));
    json_array_append_new(msgs, json_pack("{s:s,s:s}", "role", "user", "content", user));
    json_t *req = json_pack("{s:s,s:o}", "model", model, "messages", msgs);
    char *body = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    json_t *j = mock_http_json(c, "POST", "/v1/chat/completions", body, status);
    free(body);
    return j;
}

static const char *reply_of(json_t *j)
{
    json_t *ch = json_array_get(json_object_get(j, "choices"), 0);
    return json_string_value(json_object_get(json_object_get(ch, "message"), "content"));
}

static const char *error_field(json_t *j, const char *field)
{
    return json_string_value(json_object_get(json_object_get(j, "error"), field));
}

static void test_health_and_models(void **state)
{
    mock_child_t *c = *state;
    long st;
    json_t *j = mock_http_json(c, "GET", "/health", NULL, &st);
    assert_int_equal(st, 200);
    assert_string_equal(json_string_value(json_object_get(j, "status")), "ok");
    json_decref(j);
    j = mock_http_json(c, "GET", "/v1/models", NULL, &st);
    assert_int_equal(st, 200);
    assert_string_equal(json_string_value(json_object_get(j, "object")), "list");
    json_t *data = json_object_get(j, "data");
    bool found = false;
    for (size_t i = 0; i < json_array_size(data); i++)
        found |= strcmp(json_string_value(json_object_get(json_array_get(data, i), "id")),
                        "gpt-4o-mini") == 0;
    assert_true(found);
    json_decref(j);
    j = mock_http_json(c, "GET", "/v1/models/gpt-4o", NULL, &st);
    assert_int_equal(st, 200);
    assert_string_equal(json_string_value(json_object_get(j, "object")), "model");
    json_decref(j);
    j = mock_http_json(c, "GET", "/v1/models/nonesuch", NULL, &st);
    assert_int_equal(st, 404);
    assert_string_equal(error_field(j, "code"), "model_not_found");
    json_decref(j);
}

static void test_chat_completion_shape(void **state)
{
    mock_child_t *c = *state;
    long st;
    json_t *j = chat(c, "gpt-4o-mini", NULL, "hello", &st);
    assert_int_equal(st, 200);
    assert_string_equal(json_string_value(json_object_get(j, "object")), "chat.completion");
    assert_string_equal(json_string_value(json_object_get(j, "model")), "gpt-4o-mini");
    assert_true(strncmp(json_string_value(json_object_get(j, "id")), "chatcmpl-", 9) == 0);
    assert_true(json_integer_value(json_object_get(j, "created")) > 1600000000);
    assert_string_equal(reply_of(j), "Hello! How can I help?");
    json_t *ch = json_array_get(json_object_get(j, "choices"), 0);
    assert_string_equal(json_string_value(json_object_get(ch, "finish_reason")), "stop");
    assert_string_equal(json_string_value(json_object_get(json_object_get(ch, "message"), "role")),
                        "assistant");
    json_t *u = json_object_get(j, "usage");
    json_int_t p = json_integer_value(json_object_get(u, "prompt_tokens"));
    json_int_t k = json_integer_value(json_object_get(u, "completion_tokens"));
    assert_true(p > 0);
    assert_true(k > 0);
    assert_int_equal(json_integer_value(json_object_get(u, "total_tokens")), p + k);
    /* same request, same answer */
    json_t *j2 = chat(c, "gpt-4o-mini", NULL, "hello", &st);
    assert_true(json_equal(j, j2));
    json_decref(j2);
    json_decref(j);
}

static void test_cassette_rules(void **state)
{
    mock_child_t *c = *state;
    long st;
    struct {
        const char *model, *system, *user, *reply;
    } cases[] = {
        {"gpt-4o-mini", NULL, "hello", "Hello! How can I help?"},   /* exact */
        {"gpt-4o-mini", NULL, "what's the weather?", "Rainy."},     /* contains */
        {"gpt-4o", NULL, "what's the weather?", "Sunny (gpt-4o)."}, /* model */
        {"gpt-4o-mini", "You are a pirate.", "anything", "Arr!"},   /* system */
        {"gpt-4o-mini", NULL, "스타트업 지원 정책", "서울시 스타트업 지원 정책입니다."}, /* regex */
        {"gpt-4o-mini", NULL, "startup grants", "서울시 스타트업 지원 정책입니다."},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        json_t *j = chat(c, cases[i].model, cases[i].system, cases[i].user, &st);
        assert_int_equal(st, 200);
        assert_string_equal(reply_of(j), cases[i].reply);
        json_decref(j);
    }
    /* "hello " is not exactly "hello": falls to the default, an error here */
    json_t *j = chat(c, "gpt-4o-mini", NULL, "hello ", &st);
    assert_int_equal(st, 404);
    assert_string_equal(error_field(j, "code"), "cassette_miss");
    json_decref(j);
    /* a rule giving an error */
    j = chat(c, "gpt-4o-mini", NULL, "boom", &st);
    assert_int_equal(st, 503);
    assert_string_equal(error_field(j, "message"), "engine overloaded");
    assert_string_equal(error_field(j, "type"), "server_error");
    assert_string_equal(error_field(j, "code"), "overloaded");
    assert_true(json_is_null(json_object_get(json_object_get(j, "error"), "param")));
    json_decref(j);
    /* the journal names the rule */
    j = mock_http_json(c, "GET", "/__admin/requests?limit=1", NULL, &st);
    json_t *e = json_array_get(json_object_get(j, "requests"), 0);
    assert_string_equal(json_string_value(json_object_get(e, "matched")), "boom");
    json_decref(j);
}

static void test_cassette_replaced_at_run_time(void **state)
{
    mock_child_t *c = *state;
    long st;
    json_t *j = mock_http_json(
        c, "PUT", "/__admin/cassette",
        "{\"rules\":[{\"match\":{\"user\":{\"regex\":\"(\"}},\"reply\":\"x\"}]}", &st);
    assert_int_equal(st, 400);
    assert_non_null(strstr(error_field(j, "message"), "rules[0].match.user.regex"));
    json_decref(j);
    j = mock_http_json(c, "PUT", "/__admin/cassette",
                       "{\"rules\":[{\"match\":{\"user\":\"ping\"},\"reply\":\"pong\"}],"
                       "\"default\":{\"reply\":\"fixed default\"}}",
                       &st);
    assert_int_equal(st, 200);
    json_decref(j);
    j = chat(c, "gpt-4o-mini", NULL, "ping", &st);
    assert_string_equal(reply_of(j), "pong");
    json_decref(j);
    j = chat(c, "gpt-4o-mini", NULL, "hello", &st); /* the old rules are gone */
    assert_int_equal(st, 200);
    assert_string_equal(reply_of(j), "fixed default");
    json_decref(j);
    j = mock_http_json(c, "PUT", "/__admin/cassette", "{\"rules\":[{\"reply\":5}]}", &st);
    assert_int_equal(st, 400);
    assert_non_null(strstr(error_field(j, "message"), "rules[0].reply"));
    json_decref(j);
}

static void expect_reply(const mock_child_t *c, const char *user, const char *want)
{
    long st;
    json_t *j = chat(c, "gpt-4o-mini", NULL, user, &st);
    assert_int_equal(st, 200);
    assert_string_equal(reply_of(j), want);
    json_decref(j);
}

/* The live environment loads its cassette with PUT /__admin/cassette: a reset by one suite must
 * keep it (reset = journal and faults cleared, back to the cassette the environment was set up
 * with); DELETE /__admin/cassette goes back to the start-up one (--cassette, else built-in). */
static void test_reset_keeps_the_admin_cassette(void **state)
{
    char path[] = "/tmp/envtest-cassette-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, cassette, sizeof(cassette) - 1), (ssize_t)(sizeof(cassette) - 1));
    close(fd);
    mock_child_t c;
    const char *args[] = {"--cassette", path, NULL};
    assert_int_equal(mock_child_start(&c, MOCK_LLM_BIN, args), 0);
    long st;
    json_decref(mock_http_json(&c, "PUT", "/__admin/cassette",
                               "{\"rules\":[{\"match\":{\"user\":\"ping\"},\"reply\":\"pong\"}],"
                               "\"default\":{\"reply\":\"admin default\"}}",
                               &st));
    assert_int_equal(st, 200);
    json_decref(
        mock_http_json(&c, "PUT", "/__admin/faults", "{\"type\":\"status\",\"status\":503}", &st));
    json_decref(mock_http_json(&c, "POST", "/__admin/reset", "", &st));
    assert_int_equal(st, 200);
    expect_reply(&c, "ping", "pong"); /* faults gone, the PUT cassette kept */
    expect_reply(&c, "hello", "admin default");
    json_t *j = mock_http_json(&c, "GET", "/__admin/requests", NULL, &st);
    assert_int_equal(json_array_size(json_object_get(j, "requests")), 2); /* cleared by reset */
    json_decref(j);
    j = mock_http_json(&c, "DELETE", "/__admin/cassette", NULL, &st);
    assert_int_equal(st, 200);
    assert_string_equal(json_string_value(json_object_get(j, "cassette")), path);
    assert_int_equal(json_integer_value(json_object_get(j, "rules")), 6);
    json_decref(j);
    expect_reply(&c, "hello", "Hello! How can I help?"); /* the --cassette file again */
    json_decref(chat(&c, "gpt-4o-mini", NULL, "ping", &st));
    assert_int_equal(st, 404); /* its default: cassette_miss */
    /* with the start-up cassette in force, reset reloads the file (edited meanwhile) */
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("{\"default\":{\"reply\":\"edited file\"}}", f);
    fclose(f);
    json_decref(mock_http_json(&c, "POST", "/__admin/reset", "", &st));
    expect_reply(&c, "hello", "edited file");
    j = mock_http_json(&c, "GET", "/__admin/cassette", NULL, &st);
    assert_int_equal(st, 200); /* the start-up cassette: GET names it, without the document */
    assert_string_equal(json_string_value(json_object_get(j, "source")), "start-up");
    json_decref(j);
    j = mock_http_json(&c, "PATCH", "/__admin/cassette", "{}", &st);
    assert_int_equal(st, 405);
    json_decref(j);
    /* a PUT cassette is given back by GET as it was put (what a repro bundle saves) */
    json_decref(mock_http_json(&c, "PUT", "/__admin/cassette",
                               "{\"rules\":[{\"match\":{\"user\":\"x\"},\"reply\":\"y\"}]}", &st));
    assert_int_equal(st, 200);
    j = mock_http_json(&c, "GET", "/__admin/cassette", NULL, &st);
    assert_int_equal(st, 200);
    assert_string_equal(json_string_value(json_object_get(j, "source")), "admin");
    assert_string_equal(
        json_string_value(json_object_get(
            json_array_get(json_object_get(json_object_get(j, "cassette"), "rules"), 0), "reply")),
        "y");
    json_decref(j);
    mock_child_stop(&c);
    unlink(path);
    /* without --cassette: DELETE returns to the built-in cassette */
    assert_int_equal(mock_child_start(&c, MOCK_LLM_BIN, NULL), 0);
    json_decref(
        mock_http_json(&c, "PUT", "/__admin/cassette", "{\"default\":{\"reply\":\"x\"}}", &st));
    json_decref(mock_http_json(&c, "POST", "/__admin/reset", "", &st));
    expect_reply(&c, "hi", "x");
    j = mock_http_json(&c, "DELETE", "/__admin/cassette", NULL, &st);
    assert_int_equal(st, 200);
    assert_string_equal(json_string_value(json_object_get(j, "cassette")), "built-in");
    json_decref(j);
    expect_reply(&c, "hi", "This is a reply from envtest's mock-llm.");
    mock_child_stop(&c);
    assert_int_equal(c.exit_status, 0);
}

/* Parses an SSE body into the JSON payloads of its events; *done tells whether [DONE] came last. */
static json_t *sse_events(const char *body, bool *done)
{
    json_t *events = json_array();
    *done = false;
    const char *p = body;
    while ((p = strstr(p, "data: ")) != NULL) {
        p += 6;
        const char *end = strstr(p, "\n\n");
        assert_non_null(end);
        if (strncmp(p, "[DONE]", 6) == 0) {
            *done = true;
            assert_string_equal(end + 2, "");
            break;
        }
        json_error_t err;
        json_t *ev = json_loadb(p, (size_t)(end - p), 0, &err);
        assert_non_null(ev);
        json_array_append_new(events, ev);
        p = end + 2;
    }
    return events;
}

static void stream(const mock_child_t *c, bool include_usage, const char *extra, json_t **events,
                   mock_http_resp_t *r)
{
    char body[512];
    snprintf(body, sizeof(body),
             "{\"model\":\"gpt-4o\",\"stream\":true,%s%s\"messages\":[{\"role\":\"user\","
             "\"content\":\"what is the weather today\"}]}",
             include_usage ? "\"stream_options\":{\"include_usage\":true}," : "", extra);
    CURL *h = curl_easy_init();
    char url[256];
    snprintf(url, sizeof(url), "%s/v1/chat/completions", c->base);
    assert_int_equal(mock_http(h, "POST", url, body, strlen(body), r), 200);
    curl_easy_cleanup(h);
    assert_int_equal(r->code, CURLE_OK);
    assert_non_null(strcasestr(r->headers, "Content-Type: text/event-stream"));
    bool done;
    *events = sse_events(r->body, &done);
    assert_true(done);
}

static void test_streaming_chunks(void **state)
{
    mock_child_t *c = *state;
    mock_http_resp_t r;
    json_t *ev;
    stream(c, true, "", &ev, &r);
    assert_non_null(strcasestr(r.headers, "Transfer-Encoding: chunked"));
    size_t n = json_array_size(ev);
    assert_true(n >= 4);
    char text[256] = "";
    json_t *c0 = json_array_get(json_object_get(json_array_get(ev, 0), "choices"), 0);
    assert_string_equal(json_string_value(json_object_get(json_object_get(c0, "delta"), "role")),
                        "assistant");
    const char *id = json_string_value(json_object_get(json_array_get(ev, 0), "id"));
    for (size_t i = 0; i + 1 < n; i++) {
        json_t *e = json_array_get(ev, i);
        assert_string_equal(json_string_value(json_object_get(e, "object")),
                            "chat.completion.chunk");
        assert_string_equal(json_string_value(json_object_get(e, "id")), id);
        json_t *ch = json_array_get(json_object_get(e, "choices"), 0);
        const char *d = json_string_value(json_object_get(json_object_get(ch, "delta"), "content"));
        if (d)
            strncat(text, d, sizeof(text) - strlen(text) - 1);
        json_t *fr = json_object_get(ch, "finish_reason");
        if (i + 2 < n)
            assert_true(json_is_null(fr));
        else
            assert_string_equal(json_string_value(fr), "stop");
        assert_true(json_is_null(json_object_get(e, "usage")));
    }
    assert_string_equal(text, "Sunny (gpt-4o).");
    json_t *last = json_array_get(ev, n - 1);
    assert_int_equal(json_array_size(json_object_get(last, "choices")), 0);
    json_t *u = json_object_get(last, "usage");
    assert_true(json_integer_value(json_object_get(u, "completion_tokens")) > 0);
    assert_int_equal(json_integer_value(json_object_get(u, "total_tokens")),
                     json_integer_value(json_object_get(u, "prompt_tokens")) +
                         json_integer_value(json_object_get(u, "completion_tokens")));
    json_decref(ev);
    mock_http_resp_free(&r);
    /* without include_usage: no usage anywhere */
    stream(c, false, "", &ev, &r);
    for (size_t i = 0; i < json_array_size(ev); i++)
        assert_null(json_object_get(json_array_get(ev, i), "usage"));
    json_decref(ev);
    mock_http_resp_free(&r);
}

static void test_max_tokens_cuts_with_length(void **state)
{
    mock_child_t *c = *state;
    long st;
    json_t *j = mock_http_json(c, "POST", "/v1/chat/completions",
                               "{\"model\":\"gpt-4o\",\"max_tokens\":2,\"messages\":[{\"role\":"
                               "\"user\",\"content\":\"weather\"}]}",
                               &st);
    assert_int_equal(st, 200);
    json_t *ch = json_array_get(json_object_get(j, "choices"), 0);
    assert_string_equal(json_string_value(json_object_get(ch, "finish_reason")), "length");
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(j, "usage"), "completion_tokens")), 2);
    assert_string_equal(reply_of(j), "Sunny"); /* "Sunn" + "y": pieces of 4 letters */
    json_decref(j);
}

static void expect_400(const mock_child_t *c, const char *path, const char *body, const char *param,
                       const char *in_message)
{
    long st;
    json_t *j = mock_http_json(c, "POST", path, body, &st);
    assert_int_equal(st, 400);
    assert_non_null(j);
    assert_string_equal(error_field(j, "type"), "invalid_request_error");
    if (param)
        assert_string_equal(error_field(j, "param"), param);
    else
        assert_true(json_is_null(json_object_get(json_object_get(j, "error"), "param")));
    assert_non_null(strstr(error_field(j, "message"), in_message));
    json_decref(j);
}

static void test_bad_input_names_the_field(void **state)
{
    mock_child_t *c = *state;
    const char *chat_path = "/v1/chat/completions", *emb = "/v1/embeddings";
    expect_400(c, chat_path, "{\"model\":", NULL, "malformed JSON");
    expect_400(c, chat_path, "{\"messages\":[]}", "model", "'model'");
    expect_400(c, chat_path, "{\"model\":7,\"messages\":[]}", "model", "expected a string");
    expect_400(c, chat_path, "{\"model\":\"m\"}", "messages", "'messages'");
    expect_400(c, chat_path, "{\"model\":\"m\",\"messages\":{}}", "messages", "expected an array");
    expect_400(c, chat_path,
               "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"a\"},"
               "{\"content\":\"b\"}]}",
               "messages[1].role", "messages[1].role");
    expect_400(c, chat_path, "{\"model\":\"m\",\"messages\":[{\"role\":\"king\"}]}",
               "messages[0].role", "king");
    expect_400(c, chat_path,
               "{\"model\":\"m\",\"stream\":\"yes\",\"messages\":[{\"role\":\"user\"}]}", "stream",
               "boolean");
    expect_400(c, chat_path, "\"model\xff\"", NULL, "not valid UTF-8");
    expect_400(c, emb, "{\"model\":\"e\"}", "input", "'input'");
    expect_400(c, emb, "{\"model\":\"e\",\"input\":[\"a\",5]}", "input[1]", "input[1]");
    expect_400(c, emb, "{\"model\":\"e\",\"input\":\"a\",\"dimensions\":0}", "dimensions",
               "dimensions");
    expect_400(c, emb, "{\"model\":\"e\",\"input\":\"a\",\"encoding_format\":\"hex\"}",
               "encoding_format", "encoding_format");
    expect_400(c, emb, "{\"input\":\"a\"}", "model", "'model'");
    long st;
    json_t *j = mock_http_json(c, "GET", "/v2/whatever", NULL, &st);
    assert_int_equal(st, 404);
    assert_string_equal(error_field(j, "code"), "unknown_url");
    json_decref(j);
    j = mock_http_json(c, "GET", "/v1/chat/completions", NULL, &st);
    assert_int_equal(st, 405);
    json_decref(j);
}

/* ---- embeddings ---------------------------------------------------------------------------- */
static float *embedding(const mock_child_t *c, const char *text, int dims, const char *format,
                        int *out_dims)
{
    json_t *req = json_pack("{s:s,s:s,s:s}", "model", "text-embedding-3-small", "input", text,
                            "encoding_format", format);
    if (dims)
        json_object_set_new(req, "dimensions", json_integer(dims));
    char *body = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    long st;
    json_t *j = mock_http_json(c, "POST", "/v1/embeddings", body, &st);
    free(body);
    assert_int_equal(st, 200);
    json_t *d0 = json_array_get(json_object_get(j, "data"), 0);
    assert_string_equal(json_string_value(json_object_get(d0, "object")), "embedding");
    json_t *e = json_object_get(d0, "embedding");
    float *v;
    if (strcmp(format, "float") == 0) {
        *out_dims = (int)json_array_size(e);
        v = calloc((size_t)*out_dims, sizeof(float));
        for (int i = 0; i < *out_dims; i++)
            v[i] = (float)json_real_value(json_array_get(e, (size_t)i));
    } else {
        static const char tbl[] =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        const char *s = json_string_value(e);
        size_t n = strlen(s), k = 0;
        unsigned char *bytes = calloc(n, 1);
        for (size_t i = 0; i + 3 < n; i += 4) {
            uint32_t q = 0;
            int pad = 0;
            for (int t = 0; t < 4; t++) {
                const char *pos = strchr(tbl, s[i + t]);
                pad += s[i + t] == '=';
                q = (q << 6) | (s[i + t] == '=' ? 0 : (uint32_t)(pos - tbl));
            }
            bytes[k++] = (unsigned char)(q >> 16);
            if (pad < 2)
                bytes[k++] = (unsigned char)(q >> 8);
            if (pad < 1)
                bytes[k++] = (unsigned char)q;
        }
        *out_dims = (int)(k / 4);
        v = (float *)bytes;
    }
    json_decref(j);
    return v;
}

static double cosine(const float *a, const float *b, int n)
{
    double dot = 0, na = 0, nb = 0;
    for (int i = 0; i < n; i++)
        dot += (double)a[i] * b[i], na += (double)a[i] * a[i], nb += (double)b[i] * b[i];
    return dot / sqrt(na * nb);
}

static void test_embeddings_shape_and_formats(void **state)
{
    mock_child_t *c = *state;
    int n, n2;
    float *f = embedding(c, "hello world", 0, "float", &n);
    assert_int_equal(n, 384);
    double norm = 0;
    for (int i = 0; i < n; i++)
        norm += (double)f[i] * f[i];
    assert_true(fabs(norm - 1.0) < 1e-4);
    float *b = embedding(c, "hello world", 0, "base64", &n2);
    assert_int_equal(n2, 384);
    for (int i = 0; i < n; i++)
        assert_true(fabsf(f[i] - b[i]) < 1e-6f);
    float *f2 = embedding(c, "hello world", 0, "float", &n2);
    assert_memory_equal(f, f2, sizeof(float) * 384); /* deterministic */
    free(f), free(b), free(f2);
    f = embedding(c, "hello world", 64, "float", &n);
    assert_int_equal(n, 64);
    free(f);
    long st;
    json_t *j = mock_http_json(c, "POST", "/v1/embeddings",
                               "{\"model\":\"e\",\"input\":[\"a b\",\"c d\",[1,2,3]]}", &st);
    assert_int_equal(st, 200);
    json_t *data = json_object_get(j, "data");
    assert_int_equal(json_array_size(data), 3);
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(json_integer_value(json_object_get(json_array_get(data, i), "index")),
                         (json_int_t)i);
    assert_true(json_integer_value(json_object_get(json_object_get(j, "usage"), "prompt_tokens")) >
                0);
    json_decref(j);
}

static void test_embeddings_korean_similarity(void **state)
{
    mock_child_t *c = *state;
    int n;
    float *q = embedding(c, "스타트업 지원 정책", 0, "float", &n);
    float *policy = embedding(c,
                              "서울시는 창업 초기 스타트업을 위한 지원 정책으로 사무 공간과 "
                              "자금을 제공한다.",
                              0, "float", &n);
    float *sales = embedding(c,
                             "2024년 3분기 매출 표: 제품 A 1,200만원, 제품 B 850만원, 합계 "
                             "2,050만원",
                             0, "float", &n);
    double near = cosine(q, policy, n), far = cosine(q, sales, n);
    printf("# cosine(query, policy) = %.3f, cosine(query, sales) = %.3f\n", near, far);
    assert_true(near > far + 0.1);
    free(q), free(policy), free(sales);
    /* and in English */
    q = embedding(c, "startup support policy", 0, "float", &n);
    policy = embedding(c, "The city's policy to support startups with grants", 0, "float", &n);
    sales = embedding(c, "Q3 revenue table: product A 12M, product B 8.5M", 0, "float", &n);
    assert_true(cosine(q, policy, n) > cosine(q, sales, n));
    free(q), free(policy), free(sales);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_health_and_models),
        cmocka_unit_test(test_chat_completion_shape),
        cmocka_unit_test(test_cassette_rules),
        cmocka_unit_test(test_streaming_chunks),
        cmocka_unit_test(test_max_tokens_cuts_with_length),
        cmocka_unit_test(test_bad_input_names_the_field),
        cmocka_unit_test(test_embeddings_shape_and_formats),
        cmocka_unit_test(test_embeddings_korean_similarity),
        cmocka_unit_test(test_reset_keeps_the_admin_cassette),
        cmocka_unit_test(test_cassette_replaced_at_run_time), /* last: replaces the cassette */
    };
    int r = cmocka_run_group_tests(tests, setup, teardown);
    curl_global_cleanup();
    return r;
}
