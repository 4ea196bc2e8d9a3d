/* mock-llm's record mode with three processes on loopback: an upstream mock-llm serving a cassette
 * (the "real" model), the record build proxying to it and writing a new cassette, and a third
 * mock-llm loaded with what was recorded, which must answer as the upstream did. Upstream errors
 * pass through and are not recorded; the API key reaches neither the file nor the log. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mock_child.h"

#define KEY "sk-envtest-record-7Hq2Zx9Wv4"

static const char upstream_cassette[] =
    "{\"rules\":["
    "{\"name\":\"gangnam\",\"match\":{\"user\":\"강남구에서 매출이 가장 높은 업종은?\"},"
    "\"reply\":\"```sql\\nSELECT industry_name FROM seoul_sales WHERE district = '강남구' "
    "LIMIT 1\\n```\"},"
    "{\"name\":\"policy\",\"match\":{\"user\":{\"contains\":\"스타트업\"}},"
    "\"reply\":\"서울시 스타트업 지원 정책은 창업 초기 기업을 지원합니다.\"},"
    "{\"name\":\"boom\",\"match\":{\"user\":\"boom\"},\"error\":{\"status\":500,"
    "\"message\":\"upstream exploded\",\"code\":\"kaput\"}}],"
    "\"default\":{\"reply\":\"upstream default answer\"}}";

typedef struct fixture {
    char dir[64];
    char cassette[128]; /* what the recorder writes */
    mock_child_t upstream, recorder;
} fixture_t;

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = calloc(1, (size_t)n + 1);
    if (fread(s, 1, (size_t)n, f) != (size_t)n) {
        free(s);
        s = NULL;
    }
    fclose(f);
    return s;
}

static json_t *chat(const mock_child_t *c, const char *user, bool stream, long *status, char **raw)
{
    json_t *req = json_pack("{s:s,s:b,s:[{s:s,s:s},{s:s,s:s}]}", "model", "gpt-4o-mini", "stream",
                            stream, "messages", "role", "system", "content", "You write SQL.",
                            "role", "user", "content", user);
    char *body = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    char url[128];
    snprintf(url, sizeof(url), "%s/v1/chat/completions", c->base);
    CURL *h = curl_easy_init();
    mock_http_resp_t r = {0};
    *status = mock_http(h, "POST", url, body, strlen(body), &r);
    curl_easy_cleanup(h);
    free(body);
    json_t *j = stream ? NULL : json_loads(r.body ? r.body : "", 0, NULL);
    if (raw)
        *raw = r.body ? strdup(r.body) : NULL;
    mock_http_resp_free(&r);
    return j;
}

static char *reply_of(json_t *j)
{
    json_t *ch = json_array_get(json_object_get(j, "choices"), 0);
    const char *s = json_string_value(json_object_get(json_object_get(ch, "message"), "content"));
    return s ? strdup(s) : NULL;
}

/* The text a streamed answer carries (the deltas' content, in order). */
static char *stream_text(const char *sse)
{
    size_t cap = strlen(sse) + 1, len = 0;
    char *out = calloc(1, cap);
    for (const char *p = strstr(sse, "data: "); p; p = strstr(p + 1, "data: ")) {
        const char *end = strchr(p, '\n');
        json_t *ev = json_loadb(p + 6, end ? (size_t)(end - p - 6) : strlen(p + 6), 0, NULL);
        const char *c = json_string_value(json_object_get(
            json_object_get(json_array_get(json_object_get(ev, "choices"), 0), "delta"),
            "content"));
        if (c && len + strlen(c) < cap) {
            memcpy(out + len, c, strlen(c));
            len += strlen(c);
        }
        json_decref(ev);
    }
    return out;
}

static json_t *embed(const mock_child_t *c, long *status)
{
    return mock_http_json(c, "POST", "/v1/embeddings",
                          "{\"model\":\"text-embedding-3-small\",\"dimensions\":8,"
                          "\"input\":[\"스타트업 지원 정책\",\"seoul sales\"]}",
                          status);
}

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof(*f));
    *state = f;
    snprintf(f->dir, sizeof(f->dir), "/tmp/envtest-record-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    char up[128];
    snprintf(up, sizeof(up), "%s/upstream.json", f->dir);
    snprintf(f->cassette, sizeof(f->cassette), "%s/recorded.json", f->dir);
    FILE *fp = fopen(up, "w");
    if (!fp || fputs(upstream_cassette, fp) < 0 || fclose(fp) != 0)
        return -1;
    const char *up_args[] = {"--cassette", up, NULL};
    if (mock_child_start(&f->upstream, MOCK_LLM_BIN, up_args) != 0)
        return -1;
    char url[128];
    snprintf(url, sizeof(url), "%s/v1", f->upstream.base);
    setenv("ENVTEST_RECORD_TEST_KEY", KEY, 1);
    const char *rec_args[] = {
        "--record", url, "--cassette", f->cassette, "--upstream-key-env", "ENVTEST_RECORD_TEST_KEY",
        NULL};
    return mock_child_start(&f->recorder, MOCK_LLM_RECORD_BIN, rec_args);
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    if (f->recorder.pid > 0)
        mock_child_stop(&f->recorder);
    if (f->upstream.pid > 0)
        mock_child_stop(&f->upstream);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", f->dir);
    free(f);
    return 0;
}

static void test_record_and_replay(void **state)
{
    fixture_t *f = *state;
    long status;
    const char *q1 = "강남구에서 매출이 가장 높은 업종은?", *q2 = "스타트업 지원 정책을 알려줘";

    /* what the "real" model answers, asked directly */
    json_t *j = chat(&f->upstream, q1, false, &status, NULL);
    assert_int_equal(status, 200);
    char *want1 = reply_of(j);
    json_decref(j);
    j = chat(&f->upstream, q2, false, &status, NULL);
    char *want2 = reply_of(j);
    json_decref(j);
    assert_non_null(want1);
    assert_non_null(want2);
    assert_string_not_equal(want2, "upstream default answer");
    json_t *want_emb = embed(&f->upstream, &status);
    assert_int_equal(status, 200);

    /* through the recorder: the same answers, passed through */
    j = chat(&f->recorder, q1, false, &status, NULL);
    assert_int_equal(status, 200);
    char *got = reply_of(j);
    assert_string_equal(got, want1);
    free(got);
    json_decref(j);
    j = chat(&f->recorder, q1, false, &status, NULL); /* asked twice: recorded once */
    json_decref(j);
    char *sse = NULL;
    chat(&f->recorder, q2, true, &status, &sse); /* streamed: the client gets the events */
    assert_int_equal(status, 200);
    assert_non_null(sse);
    assert_non_null(strstr(sse, "data: [DONE]"));
    char *text = stream_text(sse);
    assert_string_equal(text, want2);
    free(text);
    free(sse);
    char *raw = NULL;
    j = chat(&f->recorder, "boom", false, &status, &raw); /* upstream 500: passed through */
    assert_int_equal(status, 500);
    assert_non_null(strstr(raw, "upstream exploded"));
    free(raw);
    json_decref(j);
    json_t *got_emb = embed(&f->recorder, &status);
    assert_int_equal(status, 200);
    assert_true(json_equal(json_object_get(got_emb, "data"), json_object_get(want_emb, "data")));
    json_decref(got_emb);

    /* the cassette: two rules (q1 once, q2 from the stream, no "boom"), two embeddings, no key */
    char *file = read_all(f->cassette);
    assert_non_null(file);
    assert_null(strstr(file, KEY));
    assert_null(strstr(file, "boom"));
    json_error_t e;
    json_t *doc = json_loads(file, 0, &e);
    free(file);
    assert_non_null(doc);
    json_t *rules = json_object_get(doc, "rules");
    assert_int_equal(json_array_size(rules), 2);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_array_get(rules, 0), "match"), "user")),
                        q1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(rules, 1), "reply")),
                        want2);
    assert_int_equal(json_array_size(json_object_get(doc, "embeddings")), 2);
    json_decref(doc);
    char tmp[160];
    snprintf(tmp, sizeof(tmp), "%s.tmp", f->cassette);
    assert_int_not_equal(access(tmp, F_OK), 0); /* renamed into place, nothing left behind */

    /* a third mock-llm loaded with the recording answers as the upstream did */
    mock_child_t replay = {0};
    const char *args[] = {"--cassette", f->cassette, NULL};
    assert_int_equal(mock_child_start(&replay, MOCK_LLM_BIN, args), 0);
    j = chat(&replay, q1, false, &status, NULL);
    got = reply_of(j);
    assert_string_equal(got, want1);
    free(got);
    json_decref(j);
    j = chat(&replay, q2, false, &status, NULL);
    got = reply_of(j);
    assert_string_equal(got, want2);
    free(got);
    json_decref(j);
    got_emb = embed(&replay, &status);
    assert_int_equal(status, 200);
    assert_true(json_equal(json_object_get(got_emb, "data"), json_object_get(want_emb, "data")));
    json_decref(got_emb);
    json_t *journal = mock_http_json(&replay, "GET", "/__admin/requests", NULL, &status);
    json_t *reqs = json_object_get(journal, "requests");
    const char *matched = json_string_value(
        json_object_get(json_array_get(reqs, json_array_size(reqs) - 1), "matched"));
    assert_string_equal(matched, "embeddings (2 of 2 recorded)"); /* not the hashed ones */
    json_decref(journal);
    mock_child_stop(&replay);
    json_decref(want_emb);
    free(want1);
    free(want2);

    /* the log names what happened and never the key */
    char *log = NULL;
    mock_child_stop_log(&f->recorder, &log);
    f->recorder.pid = 0;
    assert_non_null(log);
    assert_null(strstr(log, KEY));
    assert_non_null(strstr(log, "upstream 500, not recorded"));
    assert_non_null(strstr(log, "key: set"));
    free(log);
}

static void test_upstream_unreachable(void **state)
{
    fixture_t *f = *state;
    mock_child_t rec = {0};
    char path[160];
    snprintf(path, sizeof(path), "%s/unreachable.json", f->dir);
    /* port 1 on loopback: connection refused */
    const char *args[] = {"--record", "http://127.0.0.1:1/v1", "--cassette", path, NULL};
    assert_int_equal(mock_child_start(&rec, MOCK_LLM_RECORD_BIN, args), 0);
    long status;
    char *raw = NULL;
    json_t *j = chat(&rec, "hello", false, &status, &raw);
    assert_int_equal(status, 502);
    assert_non_null(strstr(raw, "upstream_unreachable"));
    free(raw);
    json_decref(j);
    assert_int_not_equal(access(path, F_OK), 0); /* nothing recorded, no file */
    mock_child_stop(&rec);
}

static void test_static_build_says_where_record_mode_is(void **state)
{
    (void)state;
    char cmd[512];
    snprintf(cmd, sizeof(cmd),
             "%s --port 0 --record http://127.0.0.1:1/v1 --cassette /nonexistent 2>&1 | grep -q "
             "'use the record build'",
             MOCK_LLM_BIN);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_record_and_replay, setup, teardown),
        cmocka_unit_test_setup_teardown(test_upstream_unreachable, setup, teardown),
        cmocka_unit_test(test_static_build_says_where_record_mode_is),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
