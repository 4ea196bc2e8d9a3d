/* ADR-009 APIIntegrationTests: the HTTP API of the Seoul analysis service (sca-api) as a client
 * sees it: each endpoint's request/response contract, errors in one shape with stable codes,
 * settings, health, security. Reads only environment variables; prints TAP 13. */
#include <stdlib.h>
#include <string.h>

#include "sca.h"
#include "sca_fixture.h"

static bool is_json_ctype(const char *ct)
{
    return ct && strncmp(ct, "application/json", 16) == 0;
}

static void test_sql_analysis_api_integration(void *ctx)
{
    suite_t *s = ctx;
    cleanup_free char *q = sca_unique(&s->sca, "api", Q_DISTRICT_TOTALS, NULL);
    cleanup_json json_t *req = json_pack("{s:s}", "question", q);
    cleanup_free char *text = json_dumps(req, JSON_COMPACT);
    cleanup_sca_resp sca_resp_t r;
    sca_send(&s->sca, "POST", "/api/v1/analysis/sql", SCA_READER, NULL, text, strlen(text), &r);
    TAP_ASSERT(r.status == 200 && r.json, "POST /api/v1/analysis/sql: %ld %s %s", r.status, r.error,
               r.body);
    TAP_ASSERT(is_json_ctype(r.content_type), "Content-Type %s", r.content_type ?: "(none)");
    json_t *a = r.json;
    json_t *id = json_object_get(a, "id");
    TAP_ASSERT(json_is_string(id) || json_is_integer(id), "id is not a string or integer");
    TAP_ASSERT_STR_EQ(json_string_value(json_object_get(a, "question")), q);
    TAP_ASSERT(json_is_string(json_object_get(a, "sql")), "sql is not a string");
    json_t *columns = json_object_get(a, "columns"), *rows = json_object_get(a, "rows");
    TAP_ASSERT_INT_EQ(json_array_size(columns), 2);
    TAP_ASSERT(json_is_string(json_array_get(columns, 0)), "columns are not strings");
    TAP_ASSERT_INT_EQ(json_array_size(rows), 25);
    TAP_ASSERT_INT_EQ(json_integer_value(json_object_get(a, "row_count")), 25);
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row)
    {
        TAP_ASSERT_INT_EQ(json_array_size(row), 2);
        TAP_ASSERT(json_is_integer(json_array_get(row, 1)),
                   "row %zu: the total is not a JSON integer", i);
    }
    TAP_ASSERT(json_is_number(json_object_get(a, "elapsed_ms")), "elapsed_ms is not a number");
    TAP_ASSERT(json_is_boolean(json_object_get(a, "cached")), "cached is not a boolean");
    TAP_ASSERT(json_is_false(json_object_get(a, "fallback")), "fallback is not false");
    suite_rows_match(rows, suite_db(s), SQL_DISTRICT_TOTALS);
    TAP_RETURN_IF_FAILED();
    /* feedback on it, and on an id that does not exist */
    cleanup_free char *idtext = suite_cell_text(id);
    cleanup_free char *path = tap_fmt("/api/v1/analysis/%s/feedback", idtext);
    cleanup_json json_t *fb = json_pack("{s:b}", "correct", 1);
    cleanup_json json_t *fr = sca_call(&s->sca, "POST", path, SCA_READER, fb, 200);
    TAP_RETURN_IF_FAILED();
    TAP_ASSERT(json_equal(json_object_get(fr, "id"), id), "feedback answered another id");
    TAP_ASSERT(json_is_true(json_object_get(fr, "correct")), "feedback did not keep correct");
    cleanup_sca_resp sca_resp_t nf;
    sca_expect_error(&s->sca, "POST", "/api/v1/analysis/999999999/feedback", SCA_READER, NULL,
                     "{\"correct\":true}", 16, 404, "not_found", &nf);
    TAP_RETURN_IF_FAILED();
    tap_note("%s -> %zu rows in %.1f ms (service %.1f ms)", q, json_array_size(rows), r.ms,
             json_number_value(json_object_get(a, "elapsed_ms")));
}

static void test_document_search_api_integration(void *ctx)
{
    suite_t *s = ctx;
    cleanup_json json_t *dflt = json_pack("{s:s}", "query", DOC_STARTUP_QUESTION);
    cleanup_json json_t *r =
        sca_call(&s->sca, "POST", "/api/v1/documents/search", SCA_READER, dflt, 200);
    TAP_RETURN_IF_FAILED();
    TAP_ASSERT(json_is_boolean(json_object_get(r, "cached")), "the envelope has no cached flag");
    json_t *results = json_object_get(r, "results");
    TAP_ASSERT_INT_GE(json_array_size(results), 1);
    TAP_ASSERT_INT_LE(json_array_size(results), 5); /* the default top_k */
    size_t i;
    json_t *hit;
    json_array_foreach(results, i, hit)
    {
        TAP_ASSERT(json_is_string(json_object_get(hit, "text")) &&
                       json_is_string(json_object_get(hit, "source")) &&
                       json_is_integer(json_object_get(hit, "page")) &&
                       json_is_number(json_object_get(hit, "score")),
                   "result %zu is not {text, source, page, score}", i);
    }
    cleanup_json json_t *two = json_pack("{s:s, s:i}", "query", DOC_STARTUP_QUESTION, "top_k", 2);
    cleanup_json json_t *r2 =
        sca_call(&s->sca, "POST", "/api/v1/documents/search", SCA_READER, two, 200);
    TAP_RETURN_IF_FAILED();
    TAP_ASSERT_INT_EQ(json_array_size(json_object_get(r2, "results")), 2);
    /* the first two of five are the two */
    TAP_ASSERT(
        json_equal(json_array_get(json_object_get(r2, "results"), 0), json_array_get(results, 0)),
        "top_k 2 and top_k 5 disagree on the best hit");
    static const char *const bad[] = {"{\"query\":\"x\",\"top_k\":0}",
                                      "{\"query\":\"x\",\"top_k\":51}", "{\"top_k\":3}",
                                      "{\"query\":\"\"}"};
    for (size_t k = 0; k < TAP_COUNT(bad); k++) {
        cleanup_sca_resp sca_resp_t e;
        sca_expect_error(&s->sca, "POST", "/api/v1/documents/search", SCA_READER, NULL, bad[k],
                         strlen(bad[k]), 400, "validation_error", &e);
        TAP_RETURN_IF_FAILED();
    }
    cleanup_sca_resp sca_resp_t notpdf;
    sca_expect_error(&s->sca, "POST", "/api/v1/documents?source=not.pdf", SCA_ADMIN,
                     "application/pdf", "hello, not a PDF", 16, 400, "invalid_pdf", &notpdf);
}

static void test_report_generation_api_integration(void *ctx)
{
    suite_t *s = ctx;
    cleanup_json json_t *req = json_pack("{s:s}", "question", Q_TOP10_INDUSTRIES);
    cleanup_json json_t *rep = sca_call(&s->sca, "POST", "/api/v1/reports", SCA_READER, req, 201);
    TAP_RETURN_IF_FAILED();
    json_t *id = json_object_get(rep, "id");
    TAP_ASSERT(json_is_string(id) || json_is_integer(id), "the report has no id");
    static const char *const keys[] = {"title",  "sections",  "table",
                                       "charts", "citations", "markdown"};
    for (size_t i = 0; i < TAP_COUNT(keys); i++)
        TAP_ASSERT(json_object_get(rep, keys[i]), "the report has no %s", keys[i]);
    json_t *citations = json_object_get(rep, "citations");
    size_t i;
    json_t *c;
    json_array_foreach(citations, i, c)
    {
        TAP_ASSERT(json_is_string(json_object_get(c, "source")) &&
                       json_integer_value(json_object_get(c, "page")) >= 1,
                   "citation %zu is not {source, page >= 1}", i);
    }
    /* the markdown carries the table's first row */
    json_t *first = json_array_get(json_object_get(json_object_get(rep, "table"), "rows"), 0);
    cleanup_free char *name = suite_cell_text(json_array_get(first, 0));
    TAP_ASSERT_STR_CONTAINS(json_string_value(json_object_get(rep, "markdown")), name);
    /* delivered again, the same */
    cleanup_free char *idtext = suite_cell_text(id);
    cleanup_free char *path = tap_fmt("/api/v1/reports/%s", idtext);
    cleanup_json json_t *again = sca_call(&s->sca, "GET", path, SCA_READER, NULL, 200);
    TAP_RETURN_IF_FAILED();
    TAP_ASSERT(json_equal(again, rep), "GET %s differs from the report POST made", path);
    cleanup_sca_resp sca_resp_t nf;
    sca_expect_error(&s->sca, "GET", "/api/v1/reports/999999999", SCA_READER, NULL, NULL, 0, 404,
                     "not_found", &nf);
    TAP_RETURN_IF_FAILED();
    cleanup_sca_resp sca_resp_t empty;
    sca_expect_error(&s->sca, "POST", "/api/v1/reports", SCA_READER, NULL, "{}", 2, 400,
                     "validation_error", &empty);
}

static void test_kpi_dashboard_api_integration(void *ctx)
{
    suite_t *s = ctx;
    cleanup_json json_t *k = sca_call(&s->sca, "GET", "/api/v1/kpi", SCA_READER, NULL, 200);
    TAP_RETURN_IF_FAILED();
    json_t *acc = json_object_get(k, "text_to_sql_accuracy");
    json_t *cite = json_object_get(k, "evidence_citation_rate");
    json_t *p95 = json_object_get(k, "response_time_p95_ms");
    json_t *queries = json_object_get(k, "daily_queries"),
           *users = json_object_get(k, "daily_users");
    TAP_ASSERT(json_is_null(acc) || (json_is_number(acc) && json_number_value(acc) >= 0 &&
                                     json_number_value(acc) <= 1),
               "text_to_sql_accuracy is not null or 0..1");
    TAP_ASSERT(json_is_null(cite) || (json_is_number(cite) && json_number_value(cite) >= 0 &&
                                      json_number_value(cite) <= 1),
               "evidence_citation_rate is not null or 0..1");
    TAP_ASSERT(json_is_null(p95) || (json_is_number(p95) && json_number_value(p95) >= 0),
               "response_time_p95_ms is not a number >= 0");
    TAP_ASSERT(json_is_integer(queries) && json_integer_value(queries) >= 0, "daily_queries");
    TAP_ASSERT(json_is_integer(users) && json_integer_value(users) >= 0 &&
                   json_integer_value(users) <= 2,
               "daily_users is not 0..2 (there are two keys)");
    /* readers and admins see the same dashboard; anonymous nobody */
    cleanup_json json_t *ka = sca_call(&s->sca, "GET", "/api/v1/kpi", SCA_ADMIN, NULL, 200);
    TAP_RETURN_IF_FAILED();
    cleanup_sca_resp sca_resp_t anon;
    sca_expect_error(&s->sca, "GET", "/api/v1/kpi", SCA_ANON, NULL, NULL, 0, 401, "unauthorized",
                     &anon);
    TAP_RETURN_IF_FAILED();
    cleanup_free char *dump = json_dumps(k, JSON_COMPACT);
    tap_note("kpi %s", dump);
}

static void test_health_check_api_integration(void *ctx)
{
    suite_t *s = ctx;
    cleanup_sca_resp sca_resp_t r;
    sca_send(&s->sca, "GET", "/health", SCA_ANON, NULL, NULL, 0, &r);
    TAP_ASSERT(r.transport_error == 0, "GET /health: %s", r.error);
    TAP_ASSERT(is_json_ctype(r.content_type), "Content-Type %s", r.content_type ?: "(none)");
    cleanup_free char *body = tap_fmt("%s", r.body);
    TAP_ASSERT_INT_EQ(r.status, 200);
    TAP_ASSERT_STR_EQ(json_string_value(json_object_get(r.json, "status")), "ok");
    static const char *const parts[] = {"database", "llm", "vector", "cache"};
    json_t *components = json_object_get(r.json, "components");
    for (size_t i = 0; i < TAP_COUNT(parts); i++) {
        json_t *c = json_object_get(components, parts[i]);
        if (strcmp(json_string_value(json_object_get(c, "status")) ?: "", "ok") != 0)
            tap_fail_data("health", "%s", body);
        TAP_ASSERT_STR_EQ(json_string_value(json_object_get(c, "status")), "ok");
        TAP_ASSERT(json_is_number(json_object_get(c, "latency_ms")),
                   "components.%s.latency_ms is not a number", parts[i]);
    }
    tap_note("%s", body);
}

static json_t *settings_get(suite_t *s)
{
    return sca_call(&s->sca, "GET", "/api/v1/settings", SCA_READER, NULL, 200);
}

static void test_system_settings_api_integration(void *ctx)
{
    suite_t *s = ctx;
    cleanup_json json_t *orig = settings_get(s);
    TAP_RETURN_IF_FAILED();
    static const char *const ints[] = {"row_limit", "cache_ttl_s", "llm_timeout_ms",
                                       "search_top_k_max"};
    for (size_t i = 0; i < TAP_COUNT(ints); i++)
        TAP_ASSERT(json_is_integer(json_object_get(orig, ints[i])), "%s is not an integer",
                   ints[i]);
    TAP_ASSERT(json_is_string(json_object_get(orig, "llm_model")), "llm_model is not a string");
    /* a change that does not disturb the suites running beside this one: the LLM timeout, +1 ms */
    json_int_t timeout = json_integer_value(json_object_get(orig, "llm_timeout_ms"));
    json_int_t changed = timeout < 60000 ? timeout + 1 : timeout - 1;
    cleanup_json json_t *put = json_pack("{s:I}", "llm_timeout_ms", changed);
    cleanup_json json_t *r = sca_call(&s->sca, "PUT", "/api/v1/settings", SCA_ADMIN, put, 200);
    cleanup_json json_t *now = settings_get(s);
    cleanup_json json_t *restore = json_pack("{s:I}", "llm_timeout_ms", timeout);
    cleanup_json json_t *back =
        sca_call(&s->sca, "PUT", "/api/v1/settings", SCA_ADMIN, restore, 200);
    TAP_RETURN_IF_FAILED();
    TAP_ASSERT_INT_EQ(json_integer_value(json_object_get(r, "llm_timeout_ms")), changed);
    TAP_ASSERT_INT_EQ(json_integer_value(json_object_get(now, "llm_timeout_ms")), changed);
    TAP_ASSERT_INT_EQ(json_integer_value(json_object_get(back, "llm_timeout_ms")), timeout);
    /* a subset changes only itself */
    TAP_ASSERT(json_equal(json_object_get(now, "llm_model"), json_object_get(orig, "llm_model")),
               "a PUT of llm_timeout_ms changed llm_model");
    /* invalid values: 400 naming the field, nothing changed */
    static const struct {
        const char *body, *field;
    } bad[] = {{"{\"row_limit\":0}", "row_limit"},
               {"{\"row_limit\":10001}", "row_limit"},
               {"{\"cache_ttl_s\":86401}", "cache_ttl_s"},
               {"{\"llm_model\":\"\"}", "llm_model"},
               {"{\"llm_timeout_ms\":99}", "llm_timeout_ms"},
               {"{\"search_top_k_max\":51}", "search_top_k_max"},
               {"{\"row_limit\":\"many\"}", "row_limit"}};
    for (size_t i = 0; i < TAP_COUNT(bad); i++) {
        cleanup_sca_resp sca_resp_t e;
        const char *msg =
            sca_expect_error(&s->sca, "PUT", "/api/v1/settings", SCA_ADMIN, NULL, bad[i].body,
                             strlen(bad[i].body), 400, "validation_error", &e);
        TAP_RETURN_IF_FAILED();
        TAP_ASSERT_STR_CONTAINS(msg, bad[i].field);
    }
    cleanup_json json_t *after = settings_get(s);
    TAP_RETURN_IF_FAILED();
    TAP_ASSERT_INT_EQ(json_integer_value(json_object_get(after, "row_limit")),
                      json_integer_value(json_object_get(orig, "row_limit")));
    TAP_ASSERT_INT_EQ(json_integer_value(json_object_get(after, "cache_ttl_s")),
                      json_integer_value(json_object_get(orig, "cache_ttl_s")));
}

static void test_error_handling_api_integration(void *ctx)
{
    suite_t *s = ctx;
    static const struct {
        const char *method, *path, *body;
        long status;
        const char *code;
    } errors[] = {
        {"GET", "/api/v1/no-such-thing", NULL, 404, "not_found"},
        {"GET", "/api/v1/analysis/sql", NULL, 405, "method_not_allowed"},
        {"POST", "/api/v1/analysis/sql", "{\"question\": [", 400, "validation_error"},
        {"POST", "/api/v1/analysis/sql", "not json", 400, "validation_error"},
    };
    for (size_t i = 0; i < TAP_COUNT(errors); i++) {
        cleanup_sca_resp sca_resp_t e;
        sca_expect_error(&s->sca, errors[i].method, errors[i].path, SCA_READER, NULL,
                         errors[i].body, errors[i].body ? strlen(errors[i].body) : 0,
                         errors[i].status, errors[i].code, &e);
        TAP_RETURN_IF_FAILED();
    }
    /* an LLM answer without SQL (the cassette knows no such question): a fallback, not an error */
    cleanup_free char *unknown =
        sca_unique(&s->sca, "garbage", "이 질문에는 아무도 답하지 않습니다", NULL);
    cleanup_json json_t *fb = sca_analysis(&s->sca, unknown, SCA_READER);
    TAP_RETURN_IF_FAILED();
    TAP_ASSERT(json_is_true(json_object_get(fb, "fallback")),
               "no fallback for an unanswerable question");
    TAP_ASSERT(json_is_string(json_object_get(fb, "message")), "the fallback has no message");
    /* recovery: one 503 from the LLM for this question, then the retry answers */
    cleanup_free char *tag = NULL;
    cleanup_free char *q = sca_unique(&s->sca, "retry", Q_TOTAL_SALES, &tag);
    cleanup_json json_t *fault =
        json_pack("{s:s, s:s, s:i, s:i, s:s}", "type", "status", "path", "/v1/chat/completions",
                  "status", 503, "times", 1, "body_contains", tag);
    long id = mock_fault_add(s->env.llm_url, fault);
    TAP_RETURN_IF_FAILED();
    cleanup_json json_t *a = sca_analysis(&s->sca, q, SCA_READER);
    mock_fault_remove(s->env.llm_url, id);
    TAP_RETURN_IF_FAILED();
    TAP_ASSERT(json_is_false(json_object_get(a, "fallback")),
               "one 503 gave a fallback: the service does not retry");
    suite_rows_match(json_object_get(a, "rows"), suite_db(s), SQL_TOTAL);
    TAP_RETURN_IF_FAILED();
    cleanup_json json_t *seen = mock_journal_find(s->env.llm_url, tag);
    TAP_RETURN_IF_FAILED();
    TAP_ASSERT_INT_EQ(json_array_size(seen), 2);
    TAP_ASSERT_INT_EQ(json_integer_value(json_object_get(json_array_get(seen, 0), "status")), 503);
    TAP_ASSERT_INT_EQ(json_integer_value(json_object_get(json_array_get(seen, 1), "status")), 200);
}

static void test_security_api_integration(void *ctx)
{
    suite_t *s = ctx;
    MYSQL *db = suite_db(s);
    TAP_RETURN_IF_FAILED();
    cleanup_free char *count_q = tap_fmt("SELECT COUNT(*) FROM %s." SEOUL_SALES, s->base_db);
    long long before = suite_sql_int(db, count_q);
    TAP_RETURN_IF_FAILED();
    cleanup_json json_t *mark = sca_audit_mark(&s->sca);
    TAP_RETURN_IF_FAILED();
    /* the LLM obeys each injection; the guard refuses each SQL it writes */
    static const char *const injections[] = {Q_INJECT_DROP, Q_INJECT_COMMENT, Q_INJECT_TABLE,
                                             Q_INJECT_UPDATE};
    for (size_t i = 0; i < TAP_COUNT(injections); i++) {
        cleanup_json json_t *req = json_pack("{s:s}", "question", injections[i]);
        cleanup_free char *text = json_dumps(req, JSON_COMPACT);
        cleanup_sca_resp sca_resp_t e;
        const char *why = sca_expect_error(&s->sca, "POST", "/api/v1/analysis/sql", SCA_READER,
                                           NULL, text, strlen(text), 422, "unsafe_sql", &e);
        TAP_RETURN_IF_FAILED();
        tap_note("%s -> 422 %s", injections[i], why);
    }
    long long after = suite_sql_int(db, count_q);
    TAP_RETURN_IF_FAILED();
    TAP_ASSERT_INT_EQ(after, before);
    cleanup_json json_t *refused =
        sca_audit_new(&s->sca, mark, "POST", "/api/v1/analysis/sql", 422, NULL);
    TAP_RETURN_IF_FAILED();
    TAP_ASSERT_INT_GE(json_array_size(refused), TAP_COUNT(injections));
    /* a reader cannot change settings, and they stay as they were */
    cleanup_json json_t *orig = sca_call(&s->sca, "GET", "/api/v1/settings", SCA_READER, NULL, 200);
    TAP_RETURN_IF_FAILED();
    cleanup_sca_resp sca_resp_t e403;
    sca_expect_error(&s->sca, "PUT", "/api/v1/settings", SCA_READER, NULL, "{\"row_limit\":1}", 15,
                     403, "forbidden", &e403);
    TAP_RETURN_IF_FAILED();
    cleanup_json json_t *now = sca_call(&s->sca, "GET", "/api/v1/settings", SCA_READER, NULL, 200);
    TAP_RETURN_IF_FAILED();
    TAP_ASSERT_INT_EQ(json_integer_value(json_object_get(now, "row_limit")),
                      json_integer_value(json_object_get(orig, "row_limit")));
    TAP_ASSERT(json_integer_value(json_object_get(now, "row_limit")) != 1,
               "row_limit is 1: the reader's PUT went through");
    /* admin routes refuse readers */
    static const struct {
        const char *method, *path;
    } admin_only[] = {{"GET", "/api/v1/audit?limit=1"},
                      {"DELETE", "/api/v1/cache"},
                      {"POST", "/api/v1/etl/sales"},
                      {"POST", "/api/v1/documents?source=x.pdf"}};
    for (size_t i = 0; i < TAP_COUNT(admin_only); i++) {
        cleanup_sca_resp sca_resp_t e;
        bool post = strcmp(admin_only[i].method, "POST") == 0;
        sca_expect_error(&s->sca, admin_only[i].method, admin_only[i].path, SCA_READER,
                         "application/octet-stream", post ? "x" : NULL, post ? 1 : 0, 403,
                         "forbidden", &e);
        TAP_RETURN_IF_FAILED();
    }
}

int main(void)
{
    static const tap_test_t tests[] = {
        {"test_sql_analysis_api_integration: POST /api/v1/analysis/sql contract (25 자치구 rows "
         "as the fixture), feedback 200/404",
         test_sql_analysis_api_integration},
        {"test_document_search_api_integration: results {text,source,page,score}, default and "
         "explicit top_k, 400s, invalid_pdf",
         test_document_search_api_integration},
        {"test_report_generation_api_integration: 201 with every part, citations {source,page}, "
         "GET returns the same, 404/400",
         test_report_generation_api_integration},
        {"test_kpi_dashboard_api_integration: the five KPIs with their types and ranges; reader "
         "and admin 200, anonymous 401",
         test_kpi_dashboard_api_integration},
        {"test_health_check_api_integration: /health without a key: ok, database/llm/vector/cache "
         "ok with latencies",
         test_health_check_api_integration},
        {"test_system_settings_api_integration: GET types; PUT a subset, read back, restored; "
         "invalid values 400 naming the field",
         test_system_settings_api_integration},
        {"test_error_handling_api_integration: 404/405/400 in one shape; no SQL -> fallback; one "
         "LLM 503 -> retried, answered",
         test_error_handling_api_integration},
        {"test_security_api_integration: '; DROP TABLE' and 3 more injections 422 unsafe_sql, "
         "table intact; reader 403 on settings and admin routes",
         test_security_api_integration},
    };
    return suite_main("api", ENVCONN_NEED_MYSQL | ENVCONN_NEED_LLM, tests, TAP_COUNT(tests));
}
