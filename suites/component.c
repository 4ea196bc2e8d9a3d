/* ADR-009 ComponentIntegrationTests: each component of the Seoul analysis service (sca-api)
 * working with the one behind it: MySQL, the LLM, the vector search, reports, KPIs, the cache,
 * error handling, security. Reads only environment variables; prints TAP 13. */
#include <stdlib.h>
#include <string.h>

#include "sca.h"
#include "sca_fixture.h"

static void test_database_connection(void *ctx)
{
    suite_t *s = ctx;
    cleanup_json json_t *health = sca_call(&s->sca, "GET", "/health", SCA_ANON, NULL, 200);
    TAP_RETURN_IF_FAILED();
    json_t *db = json_object_get(json_object_get(health, "components"), "database");
    TAP_ASSERT_STR_EQ(json_string_value(json_object_get(db, "status")), "ok");
    TAP_ASSERT(json_is_number(json_object_get(db, "latency_ms")),
               "components.database.latency_ms is not a number");
    /* the service's answer comes from the fixture database: the total of all sales */
    cleanup_free char *q = sca_unique(&s->sca, "db", Q_TOTAL_SALES, NULL);
    cleanup_json json_t *a = sca_analysis(&s->sca, q, SCA_READER);
    TAP_RETURN_IF_FAILED();
    TAP_ASSERT(json_is_false(json_object_get(a, "fallback")), "fallback answer: %s",
               json_string_value(json_object_get(a, "message")) ?: "");
    suite_rows_match(json_object_get(a, "rows"), suite_db(s), SQL_TOTAL);
    TAP_RETURN_IF_FAILED();
    cleanup_free char *total =
        suite_cell_text(json_array_get(json_array_get(json_object_get(a, "rows"), 0), 0));
    tap_note("database %.1f ms; total sales %s",
             json_number_value(json_object_get(db, "latency_ms")), total);
}

static void test_llm_service_integration(void *ctx)
{
    suite_t *s = ctx;
    cleanup_free char *tag = NULL;
    cleanup_free char *q = sca_unique(&s->sca, "llm", Q_GANGNAM_TOP_INDUSTRY, &tag);
    cleanup_json json_t *a = sca_analysis(&s->sca, q, SCA_READER);
    TAP_RETURN_IF_FAILED();
    TAP_ASSERT(json_is_false(json_object_get(a, "fallback")), "fallback answer: %s",
               json_string_value(json_object_get(a, "message")) ?: "");
    TAP_ASSERT(json_is_false(json_object_get(a, "cached")), "a new question answered from cache");
    const char *sql = json_string_value(json_object_get(a, "sql"));
    TAP_ASSERT_STR_CONTAINS(sql, SEOUL_SALES);
    /* what mock-llm received: the question verbatim as the last user message, the schema in a
     * system message */
    cleanup_json json_t *seen = mock_journal_find(s->env.llm_url, tag);
    TAP_RETURN_IF_FAILED();
    TAP_ASSERT_INT_GE(json_array_size(seen), 1);
    json_t *entry = json_array_get(seen, json_array_size(seen) - 1);
    TAP_ASSERT_STR_EQ(json_string_value(json_object_get(entry, "path")), "/v1/chat/completions");
    TAP_ASSERT_INT_EQ(json_integer_value(json_object_get(entry, "status")), 200);
    cleanup_json json_t *body =
        json_loads(json_string_value(json_object_get(entry, "body")), 0, NULL);
    json_t *messages = json_object_get(body, "messages");
    TAP_ASSERT_INT_GE(json_array_size(messages), 2);
    json_t *last = json_array_get(messages, json_array_size(messages) - 1);
    TAP_ASSERT_STR_EQ(json_string_value(json_object_get(last, "role")), "user");
    TAP_ASSERT_STR_EQ(json_string_value(json_object_get(last, "content")), q);
    bool schema = false;
    size_t i;
    json_t *m;
    json_array_foreach(messages, i, m)
    {
        const char *content = json_string_value(json_object_get(m, "content"));
        if (strcmp(json_string_value(json_object_get(m, "role")) ?: "", "system") == 0 && content &&
            strstr(content, SEOUL_SALES) && strstr(content, COL_SALES_AMOUNT))
            schema = true;
    }
    TAP_ASSERT(schema, "no system message with the schema (%s, %s) in the LLM request", SEOUL_SALES,
               COL_SALES_AMOUNT);
    /* and the LLM's SQL was executed: the 강남구 top industry */
    json_t *rows = json_object_get(a, "rows");
    cleanup_free char *top = suite_sql_str(suite_db(s), SQL_GANGNAM_TOP);
    TAP_RETURN_IF_FAILED();
    TAP_ASSERT_STR_EQ(json_string_value(json_array_get(json_array_get(rows, 0), 0)), top);
    tap_note("LLM SQL: %s -> %s", sql, top);
}

static void test_rag_service_integration(void *ctx)
{
    suite_t *s = ctx;
    cleanup_json json_t *req = json_pack("{s:s, s:i}", "query", DOC_STARTUP_QUESTION, "top_k", 3);
    cleanup_json json_t *r =
        sca_call(&s->sca, "POST", "/api/v1/documents/search", SCA_READER, req, 200);
    TAP_RETURN_IF_FAILED();
    json_t *results = json_object_get(r, "results");
    TAP_ASSERT_INT_GE(json_array_size(results), 1);
    TAP_ASSERT_INT_LE(json_array_size(results), 3);
    double prev = 1e300;
    size_t i;
    json_t *hit;
    json_array_foreach(results, i, hit)
    {
        const char *text = json_string_value(json_object_get(hit, "text"));
        const char *source = json_string_value(json_object_get(hit, "source"));
        json_t *page = json_object_get(hit, "page");
        double score = json_number_value(json_object_get(hit, "score"));
        TAP_ASSERT(text && *text, "result %zu has no text", i);
        TAP_ASSERT(source && *source, "result %zu has no source", i);
        TAP_ASSERT(json_is_integer(page) && json_integer_value(page) >= 1,
                   "result %zu: page is not a page number", i);
        TAP_ASSERT(score <= prev, "results are not best first (%g after %g)", score, prev);
        prev = score;
        tap_note("%zu: %s p.%lld score %.4f", i, source, (long long)json_integer_value(page),
                 score);
    }
    json_t *top = json_array_get(results, 0);
    TAP_ASSERT_STR_CONTAINS(json_string_value(json_object_get(top, "source")),
                            SEOUL_STARTUP_SOURCE);
    TAP_ASSERT_INT_EQ(json_integer_value(json_object_get(top, "page")), DOC_STARTUP_PAGE);
}

static void test_report_service_integration(void *ctx)
{
    suite_t *s = ctx;
    cleanup_json json_t *req = json_pack("{s:s}", "question", Q_TOP10_INDUSTRIES);
    cleanup_json json_t *rep = sca_call(&s->sca, "POST", "/api/v1/reports", SCA_READER, req, 201);
    TAP_RETURN_IF_FAILED();
    const char *title = json_string_value(json_object_get(rep, "title"));
    TAP_ASSERT(title && *title, "the report has no title");
    static const char *const headings[] = {"요약", "분석", "결론"};
    json_t *sections = json_object_get(rep, "sections");
    TAP_ASSERT_INT_EQ(json_array_size(sections), 3);
    for (size_t i = 0; i < 3; i++) {
        json_t *sec = json_array_get(sections, i);
        TAP_ASSERT_STR_EQ(json_string_value(json_object_get(sec, "heading")), headings[i]);
        const char *text = json_string_value(json_object_get(sec, "text"));
        TAP_ASSERT(text && *text, "section %s is empty", headings[i]);
    }
    json_t *table = json_object_get(rep, "table");
    suite_rows_match(json_object_get(table, "rows"), suite_db(s), SQL_TOP10);
    TAP_RETURN_IF_FAILED();
    json_t *chart = json_array_get(json_object_get(rep, "charts"), 0);
    const char *svg = json_string_value(json_object_get(chart, "svg"));
    TAP_ASSERT_STR_CONTAINS(svg, "<svg");
    TAP_ASSERT_INT_EQ(suite_count(svg, "<rect class=\"bar\""),
                      json_array_size(json_object_get(table, "rows")));
    const char *md = json_string_value(json_object_get(rep, "markdown"));
    for (size_t i = 0; i < 3; i++)
        TAP_ASSERT_STR_CONTAINS(md, headings[i]);
    tap_note("report %s: %zu rows, %zu bars", title,
             json_array_size(json_object_get(table, "rows")),
             suite_count(svg, "<rect class=\"bar\""));
}

static void test_kpi_service_integration(void *ctx)
{
    suite_t *s = ctx;
    cleanup_json json_t *before = sca_call(&s->sca, "GET", "/api/v1/kpi", SCA_READER, NULL, 200);
    TAP_RETURN_IF_FAILED();
    enum { N = 3 };
    for (int i = 0; i < N; i++) {
        cleanup_free char *q = sca_unique(&s->sca, "kpi", Q_TOTAL_SALES, NULL);
        cleanup_json json_t *a = sca_analysis(&s->sca, q, i == 0 ? SCA_ADMIN : SCA_READER);
        TAP_RETURN_IF_FAILED();
    }
    cleanup_json json_t *after = sca_call(&s->sca, "GET", "/api/v1/kpi", SCA_READER, NULL, 200);
    TAP_RETURN_IF_FAILED();
    json_int_t q0 = json_integer_value(json_object_get(before, "daily_queries"));
    json_int_t q1 = json_integer_value(json_object_get(after, "daily_queries"));
    TAP_ASSERT(json_is_integer(json_object_get(after, "daily_queries")), "daily_queries missing");
    /* other suites add queries at the same time: at least ours */
    TAP_ASSERT_INT_GE(q1 - q0, N);
    /* both keys were used today (by this test alone): two users */
    TAP_ASSERT_INT_EQ(json_integer_value(json_object_get(after, "daily_users")), 2);
    json_t *p95 = json_object_get(after, "response_time_p95_ms");
    TAP_ASSERT(json_is_number(p95) && json_number_value(p95) > 0,
               "response_time_p95_ms is not a positive number after %d analyses", N);
    tap_note("daily_queries %lld -> %lld, p95 %.1f ms", (long long)q0, (long long)q1,
             json_number_value(p95));
}

static void test_cache_service_integration(void *ctx)
{
    suite_t *s = ctx;
    cleanup_free char *tag = NULL;
    cleanup_free char *q = sca_unique(&s->sca, "cache", Q_TOTAL_SALES, &tag);
    cleanup_json json_t *first = sca_analysis(&s->sca, q, SCA_READER);
    TAP_RETURN_IF_FAILED();
    TAP_ASSERT(json_is_false(json_object_get(first, "cached")),
               "a new question answered from cache");
    /* the same question again: from the cache (another suite may clear the cache or change a
     * setting in between: then ask once more) */
    json_t *second = NULL;
    int uncached = 1;
    for (int attempt = 0; attempt < 3; attempt++) {
        json_decref(second);
        second = sca_analysis(&s->sca, q, SCA_READER);
        if (!second)
            return;
        if (json_is_true(json_object_get(second, "cached")))
            break;
        uncached++;
    }
    cleanup_json json_t *second_ref = second;
    TAP_ASSERT(json_is_true(json_object_get(second, "cached")), "asked 3 times, never cached");
    TAP_ASSERT(json_equal(json_object_get(second, "rows"), json_object_get(first, "rows")),
               "the cached rows differ from the first answer");
    /* the cache hit did not reach the LLM */
    cleanup_json json_t *seen = mock_journal_find(s->env.llm_url, tag);
    TAP_RETURN_IF_FAILED();
    TAP_ASSERT_INT_EQ(json_array_size(seen), uncached);
    cleanup_json json_t *stats = sca_call(&s->sca, "GET", "/api/v1/cache", SCA_READER, NULL, 200);
    TAP_RETURN_IF_FAILED();
    TAP_ASSERT_INT_GE(json_integer_value(json_object_get(stats, "hits")), 1);
    /* invalidation: DELETE /api/v1/cache (admin), then the question is computed again */
    cleanup_json json_t *cleared =
        sca_call(&s->sca, "DELETE", "/api/v1/cache", SCA_ADMIN, NULL, 200);
    TAP_RETURN_IF_FAILED();
    TAP_ASSERT(json_is_integer(json_object_get(cleared, "cleared")), "no cleared count");
    cleanup_json json_t *third = sca_analysis(&s->sca, q, SCA_READER);
    TAP_RETURN_IF_FAILED();
    TAP_ASSERT(json_is_false(json_object_get(third, "cached")),
               "still cached after DELETE /api/v1/cache");
    TAP_ASSERT(json_equal(json_object_get(third, "rows"), json_object_get(first, "rows")),
               "the recomputed rows differ");
    tap_note("%d uncached answers, cleared %lld entries", uncached,
             (long long)json_integer_value(json_object_get(cleared, "cleared")));
}

static void test_error_handling_integration(void *ctx)
{
    suite_t *s = ctx;
    cleanup_free char *tag = NULL;
    cleanup_free char *q = sca_unique(&s->sca, "storm", Q_GANGNAM_TOP_INDUSTRY, &tag);
    cleanup_json json_t *mark = sca_audit_mark(&s->sca);
    TAP_RETURN_IF_FAILED();
    cleanup_json json_t *fault =
        json_pack("{s:s, s:s, s:i, s:s}", "type", "status", "path", "/v1/chat/completions",
                  "status", 503, "body_contains", tag);
    long id = mock_fault_add(s->env.llm_url, fault);
    TAP_RETURN_IF_FAILED();
    cleanup_json json_t *a = sca_analysis(&s->sca, q, SCA_READER);
    mock_fault_remove(s->env.llm_url, id);
    TAP_RETURN_IF_FAILED();
    TAP_ASSERT(json_is_true(json_object_get(a, "fallback")), "no fallback under a 503 storm");
    const char *msg = json_string_value(json_object_get(a, "message"));
    TAP_ASSERT(msg && *msg, "the fallback has no message");
    TAP_ASSERT_INT_EQ(json_array_size(json_object_get(a, "rows")), 0);
    TAP_ASSERT(json_is_null(json_object_get(a, "sql")), "a fallback with SQL");
    /* the LLM saw the storm (and the service retried) */
    cleanup_json json_t *seen = mock_journal_find(s->env.llm_url, tag);
    TAP_RETURN_IF_FAILED();
    TAP_ASSERT_INT_GE(json_array_size(seen), 1);
    TAP_ASSERT_INT_EQ(json_integer_value(json_object_get(json_array_get(seen, 0), "status")), 503);
    /* the audit log has the request */
    cleanup_json json_t *audit =
        sca_audit_new(&s->sca, mark, "POST", "/api/v1/analysis/sql", 200, "reader");
    TAP_RETURN_IF_FAILED();
    TAP_ASSERT_INT_GE(json_array_size(audit), 1);
    /* the storm is over: the same question is answered (the fallback was not cached) */
    cleanup_json json_t *again = sca_analysis(&s->sca, q, SCA_READER);
    TAP_RETURN_IF_FAILED();
    TAP_ASSERT(json_is_false(json_object_get(again, "fallback")),
               "still a fallback after the storm");
    cleanup_free char *top = suite_sql_str(suite_db(s), SQL_GANGNAM_TOP);
    TAP_RETURN_IF_FAILED();
    TAP_ASSERT_STR_EQ(
        json_string_value(json_array_get(json_array_get(json_object_get(again, "rows"), 0), 0)),
        top);
    tap_note("storm: %zu LLM calls answered 503; fallback: %s", json_array_size(seen), msg);
}

static void test_security_service_integration(void *ctx)
{
    suite_t *s = ctx;
    cleanup_json json_t *mark = sca_audit_mark(&s->sca);
    TAP_RETURN_IF_FAILED();
    const char *body = "{\"question\":\"" Q_TOTAL_SALES "\"}";
    cleanup_sca_resp sca_resp_t r1, r2, r3, r4;
    sca_expect_error(&s->sca, "POST", "/api/v1/analysis/sql", SCA_ANON, NULL, body, strlen(body),
                     401, "unauthorized", &r1);
    TAP_RETURN_IF_FAILED();
    sca_expect_error(&s->sca, "POST", "/api/v1/analysis/sql", SCA_BADKEY, NULL, body, strlen(body),
                     401, "unauthorized", &r2);
    TAP_RETURN_IF_FAILED();
    sca_expect_error(&s->sca, "DELETE", "/api/v1/cache", SCA_READER, NULL, NULL, 0, 403,
                     "forbidden", &r3);
    TAP_RETURN_IF_FAILED();
    /* a body over any sensible limit: 413, not a crash or a 200 */
    size_t big = 64u << 20;
    cleanup_free char *huge = malloc(big + 32);
    TAP_ASSERT_NOT_NULL(huge, "out of memory");
    int n = snprintf(huge, 32, "{\"question\":\"");
    memset(huge + n, 'a', big - (size_t)n - 2);
    memcpy(huge + big - 2, "\"}", 2);
    sca_expect_error(&s->sca, "POST", "/api/v1/analysis/sql", SCA_READER, NULL, huge, big, 413,
                     "payload_too_large", &r4);
    TAP_RETURN_IF_FAILED();
    /* every refusal is in the audit log, with the role; no key in it */
    cleanup_json json_t *a401 =
        sca_audit_new(&s->sca, mark, "POST", "/api/v1/analysis/sql", 401, NULL);
    cleanup_json json_t *a403 =
        sca_audit_new(&s->sca, mark, "DELETE", "/api/v1/cache", 403, "reader");
    cleanup_json json_t *a413 =
        sca_audit_new(&s->sca, mark, "POST", "/api/v1/analysis/sql", 413, NULL);
    TAP_RETURN_IF_FAILED();
    TAP_ASSERT_INT_GE(json_array_size(a401), 2);
    TAP_ASSERT_INT_GE(json_array_size(a403), 1);
    TAP_ASSERT_INT_GE(json_array_size(a413), 1);
    cleanup_json json_t *all = sca_audit_new(&s->sca, NULL, NULL, NULL, 0, NULL);
    TAP_RETURN_IF_FAILED();
    cleanup_free char *dump = json_dumps(all, JSON_COMPACT);
    TAP_ASSERT(!strstr(dump, s->sca.admin_key) && !strstr(dump, s->sca.reader_key),
               "a key appears in the audit log");
    tap_note("401 x%zu, 403 x%zu, 413 x%zu audited", json_array_size(a401), json_array_size(a403),
             json_array_size(a413));
}

int main(void)
{
    static const tap_test_t tests[] = {
        {"test_database_connection: /health database ok; the total of all sales equals SUM over "
         "the fixture",
         test_database_connection},
        {"test_llm_service_integration: the question reaches mock-llm verbatim with the schema; "
         "its SQL answers the 강남구 top industry",
         test_llm_service_integration},
        {"test_rag_service_integration: document search gives scored passages with source and "
         "page, best first; the startup policy on top",
         test_rag_service_integration},
        {"test_report_service_integration: 요약/분석/결론, the table equals the top-10 query, one "
         "bar per row",
         test_report_service_integration},
        {"test_kpi_service_integration: our analyses counted in daily_queries; two keys, two "
         "users; a p95",
         test_kpi_service_integration},
        {"test_cache_service_integration: a repeated question is cached (no LLM call), DELETE "
         "/api/v1/cache recomputes it",
         test_cache_service_integration},
        {"test_error_handling_integration: LLM 503 storm -> fallback answer, audit entry; "
         "answered again after",
         test_error_handling_integration},
        {"test_security_service_integration: no key/unknown key 401, reader on admin 403, 64 MiB "
         "413, all audited, no key logged",
         test_security_service_integration},
    };
    return suite_main("component", ENVCONN_NEED_MYSQL | ENVCONN_NEED_LLM, tests, TAP_COUNT(tests));
}
