/* ADR-009 EndToEndIntegrationTests: complete user workflows through the Seoul analysis service
 * (sca-api): a question and its answer, a document and its search, a report, the KPI dashboard,
 * health, errors, security, performance (P95 of 50 analyses under 3 s).
 * Reads only environment variables; prints TAP 13. */
#include <stdlib.h>
#include <string.h>

#include "sca.h"
#include "sca_fixture.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* nearest-rank percentile of sorted values */
static double percentile(const double *sorted, size_t n, double p)
{
    size_t rank = (size_t)((p / 100.0) * (double)n + 0.999999);
    return sorted[rank == 0 ? 0 : rank - 1];
}

static const char *first_cell(const json_t *a)
{
    return json_string_value(json_array_get(json_array_get(json_object_get(a, "rows"), 0), 0));
}

static void test_complete_sql_analysis_workflow(void *ctx)
{
    suite_t *s = ctx;
    /* the user asks, reads the table, says it is right, asks a follow-up, comes back later */
    cleanup_json json_t *a = sca_analysis(&s->sca, Q_TOP10_INDUSTRIES, SCA_READER);
    TAP_RETURN_IF_FAILED();
    TAP_ASSERT(json_is_false(json_object_get(a, "fallback")), "fallback answer");
    suite_rows_match(json_object_get(a, "rows"), suite_db(s), SQL_TOP10);
    TAP_RETURN_IF_FAILED();
    json_t *columns = json_object_get(a, "columns");
    TAP_ASSERT_INT_EQ(json_array_size(columns), 2);
    cleanup_free char *id = suite_cell_text(json_object_get(a, "id"));
    cleanup_free char *path = tap_fmt("/api/v1/analysis/%s/feedback", id);
    cleanup_json json_t *fb = json_pack("{s:b}", "correct", 1);
    cleanup_json json_t *fr = sca_call(&s->sca, "POST", path, SCA_READER, fb, 200);
    TAP_RETURN_IF_FAILED();
    cleanup_free char *q2 = sca_unique(&s->sca, "flow", Q_GANGNAM_TOP_INDUSTRY, NULL);
    cleanup_json json_t *b = sca_analysis(&s->sca, q2, SCA_READER);
    TAP_RETURN_IF_FAILED();
    cleanup_free char *top = suite_sql_str(suite_db(s), SQL_GANGNAM_TOP);
    TAP_RETURN_IF_FAILED();
    TAP_ASSERT_STR_EQ(first_cell(b), top);
    cleanup_json json_t *again = sca_analysis(&s->sca, Q_TOP10_INDUSTRIES, SCA_READER);
    TAP_RETURN_IF_FAILED();
    TAP_ASSERT(json_equal(json_object_get(again, "rows"), json_object_get(a, "rows")),
               "the same question, another answer");
    tap_note("top industry of Seoul %s; of 강남구 %s", first_cell(a), top);
}

static void test_complete_document_search_workflow(void *ctx)
{
    suite_t *s = ctx;
    size_t len = 0;
    const unsigned char *pdf = sca_startup_pdf(&len);
    TAP_ASSERT(pdf, "the startup-policy PDF was not built into the suites (fixtures/documents)");
    /* an admin adds a document, a reader finds it */
    cleanup_free char *source = tap_fmt("e2e-%s-" DOC_STARTUP_SOURCE, s->sca.marker);
    cleanup_free char *path = tap_fmt("/api/v1/documents?source=%s", source);
    cleanup_sca_resp sca_resp_t up;
    sca_send(&s->sca, "POST", path, SCA_ADMIN, "application/pdf", (const char *)pdf, len, &up);
    TAP_ASSERT(up.status == 201 && up.json, "upload: %ld %s %s", up.status, up.error, up.body);
    cleanup_json json_t *req = json_pack("{s:s, s:i}", "query", DOC_STARTUP_QUESTION, "top_k", 20);
    cleanup_json json_t *r =
        sca_call(&s->sca, "POST", "/api/v1/documents/search", SCA_READER, req, 200);
    TAP_RETURN_IF_FAILED();
    json_t *results = json_object_get(r, "results"), *top = json_array_get(results, 0);
    TAP_ASSERT_STR_CONTAINS(json_string_value(json_object_get(top, "source")),
                            SEOUL_STARTUP_SOURCE);
    TAP_ASSERT_INT_EQ(json_integer_value(json_object_get(top, "page")), DOC_STARTUP_PAGE);
    TAP_ASSERT_STR_CONTAINS(json_string_value(json_object_get(top, "text")), DOC_STARTUP_FACT);
    bool found = false;
    size_t i;
    json_t *hit;
    json_array_foreach(results, i, hit)
    {
        if (strcmp(json_string_value(json_object_get(hit, "source")) ?: "", source) == 0 &&
            json_integer_value(json_object_get(hit, "page")) == DOC_STARTUP_PAGE)
            found = true;
    }
    TAP_ASSERT(found, "the uploaded %s page %d is not among the hits", source, DOC_STARTUP_PAGE);
    /* the same search again is served from the cache, with the same results */
    cleanup_json json_t *r2 =
        sca_call(&s->sca, "POST", "/api/v1/documents/search", SCA_READER, req, 200);
    TAP_RETURN_IF_FAILED();
    TAP_ASSERT(json_equal(json_array_get(json_object_get(r2, "results"), 0), top),
               "the second search has another top hit");
}

static void test_complete_report_generation_workflow(void *ctx)
{
    suite_t *s = ctx;
    cleanup_json json_t *a = sca_analysis(&s->sca, Q_TOP10_INDUSTRIES, SCA_READER);
    TAP_RETURN_IF_FAILED();
    cleanup_json json_t *req = json_pack("{s:s}", "question", Q_TOP10_INDUSTRIES);
    cleanup_json json_t *rep = sca_call(&s->sca, "POST", "/api/v1/reports", SCA_READER, req, 201);
    TAP_RETURN_IF_FAILED();
    json_t *rows = json_object_get(json_object_get(rep, "table"), "rows");
    /* the report's table is the analysis' rows, which are the fixture's */
    TAP_ASSERT(json_equal(rows, json_object_get(a, "rows")),
               "the report's table is not the analysis' rows");
    suite_rows_match(rows, suite_db(s), SQL_TOP10);
    TAP_RETURN_IF_FAILED();
    const char *svg = json_string_value(
        json_object_get(json_array_get(json_object_get(rep, "charts"), 0), "svg"));
    TAP_ASSERT_INT_EQ(suite_count(svg, "<rect class=\"bar\""), json_array_size(rows));
    json_t *citations = json_object_get(rep, "citations");
    TAP_ASSERT_INT_GE(json_array_size(citations), 1);
    /* delivered: by id, and as markdown with one table line per row */
    const char *md = json_string_value(json_object_get(rep, "markdown"));
    TAP_ASSERT_INT_GE(suite_count(md, "\n|"), json_array_size(rows) + 1);
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row)
        TAP_ASSERT_STR_CONTAINS(md, json_string_value(json_array_get(row, 0)));
    cleanup_free char *id = suite_cell_text(json_object_get(rep, "id"));
    cleanup_free char *path = tap_fmt("/api/v1/reports/%s", id);
    cleanup_json json_t *again = sca_call(&s->sca, "GET", path, SCA_ADMIN, NULL, 200);
    TAP_RETURN_IF_FAILED();
    TAP_ASSERT(json_equal(again, rep), "GET %s differs", path);
    tap_note("report %s: %zu rows, %zu citations (first %s p.%lld)", id, json_array_size(rows),
             json_array_size(citations),
             json_string_value(json_object_get(json_array_get(citations, 0), "source")) ?: "?",
             (long long)json_integer_value(json_object_get(json_array_get(citations, 0), "page")));
}

static void test_complete_kpi_dashboard_workflow(void *ctx)
{
    suite_t *s = ctx;
    cleanup_json json_t *k0 = sca_call(&s->sca, "GET", "/api/v1/kpi", SCA_ADMIN, NULL, 200);
    TAP_RETURN_IF_FAILED();
    /* a day's use: two questions (one judged right, one wrong), a report */
    for (int i = 0; i < 2; i++) {
        cleanup_free char *q = sca_unique(&s->sca, "dash", Q_TOTAL_SALES, NULL);
        cleanup_json json_t *a = sca_analysis(&s->sca, q, SCA_READER);
        TAP_RETURN_IF_FAILED();
        cleanup_free char *id = suite_cell_text(json_object_get(a, "id"));
        cleanup_free char *path = tap_fmt("/api/v1/analysis/%s/feedback", id);
        cleanup_json json_t *fb = json_pack("{s:b}", "correct", i == 0);
        cleanup_json json_t *r = sca_call(&s->sca, "POST", path, SCA_READER, fb, 200);
        TAP_RETURN_IF_FAILED();
    }
    cleanup_json json_t *req = json_pack("{s:s}", "question", Q_TOP10_INDUSTRIES);
    cleanup_json json_t *rep = sca_call(&s->sca, "POST", "/api/v1/reports", SCA_READER, req, 201);
    TAP_RETURN_IF_FAILED();
    cleanup_json json_t *k1 = sca_call(&s->sca, "GET", "/api/v1/kpi", SCA_READER, NULL, 200);
    TAP_RETURN_IF_FAILED();
    TAP_ASSERT_INT_GE(json_integer_value(json_object_get(k1, "daily_queries")) -
                          json_integer_value(json_object_get(k0, "daily_queries")),
                      2);
    TAP_ASSERT_INT_EQ(json_integer_value(json_object_get(k1, "daily_users")), 2);
    json_t *acc = json_object_get(k1, "text_to_sql_accuracy");
    TAP_ASSERT(json_is_number(acc) && json_number_value(acc) > 0 && json_number_value(acc) < 1,
               "accuracy is not strictly between 0 and 1 after one right and one wrong answer");
    json_t *cite = json_object_get(k1, "evidence_citation_rate");
    TAP_ASSERT(json_is_number(cite) && json_number_value(cite) > 0,
               "evidence_citation_rate is not > 0 after a report with citations");
    TAP_ASSERT(json_number_value(json_object_get(k1, "response_time_p95_ms")) > 0, "no p95");
    cleanup_free char *dump = json_dumps(k1, JSON_COMPACT);
    tap_note("dashboard %s", dump);
}

static void test_complete_system_health_workflow(void *ctx)
{
    suite_t *s = ctx;
    /* monitoring: five polls, all ok */
    for (int i = 0; i < 5; i++) {
        cleanup_json json_t *h = sca_call(&s->sca, "GET", "/health", SCA_ANON, NULL, 200);
        TAP_RETURN_IF_FAILED();
        TAP_ASSERT_STR_EQ(json_string_value(json_object_get(h, "status")), "ok");
    }
    /* one failing LLM request does not make the system unhealthy, and the system recovers */
    cleanup_free char *tag = NULL;
    cleanup_free char *q = sca_unique(&s->sca, "hstorm", Q_TOTAL_SALES, &tag);
    cleanup_json json_t *fault =
        json_pack("{s:s, s:s, s:i, s:s}", "type", "status", "path", "/v1/chat/completions",
                  "status", 500, "body_contains", tag);
    long id = mock_fault_add(s->env.llm_url, fault);
    TAP_RETURN_IF_FAILED();
    cleanup_json json_t *a = sca_analysis(&s->sca, q, SCA_READER);
    cleanup_json json_t *h = sca_call(&s->sca, "GET", "/health", SCA_ANON, NULL, 200);
    mock_fault_remove(s->env.llm_url, id);
    TAP_RETURN_IF_FAILED();
    TAP_ASSERT(json_is_true(json_object_get(a, "fallback")), "no fallback under a 500 storm");
    TAP_ASSERT_STR_EQ(json_string_value(json_object_get(h, "status")), "ok");
    cleanup_free char *q2 = sca_unique(&s->sca, "hok", Q_TOTAL_SALES, NULL);
    cleanup_json json_t *b = sca_analysis(&s->sca, q2, SCA_READER);
    TAP_RETURN_IF_FAILED();
    TAP_ASSERT(json_is_false(json_object_get(b, "fallback")), "no recovery after the storm");
    suite_rows_match(json_object_get(b, "rows"), suite_db(s), SQL_TOTAL);
    TAP_RETURN_IF_FAILED();
    json_t *comps = json_object_get(h, "components");
    tap_note("database %.1f ms, llm %.1f ms, vector %.1f ms, cache %.1f ms",
             json_number_value(json_object_get(json_object_get(comps, "database"), "latency_ms")),
             json_number_value(json_object_get(json_object_get(comps, "llm"), "latency_ms")),
             json_number_value(json_object_get(json_object_get(comps, "vector"), "latency_ms")),
             json_number_value(json_object_get(json_object_get(comps, "cache"), "latency_ms")));
}

static void test_complete_error_handling_workflow(void *ctx)
{
    suite_t *s = ctx;
    cleanup_json json_t *mark = sca_audit_mark(&s->sca);
    TAP_RETURN_IF_FAILED();
    /* the user sends nothing, then something unsafe: told why each time */
    cleanup_sca_resp sca_resp_t e400, e422;
    const char *m400 =
        sca_expect_error(&s->sca, "POST", "/api/v1/analysis/sql", SCA_READER, NULL,
                         "{\"question\":\"  \"}", 17, 400, "validation_error", &e400);
    TAP_RETURN_IF_FAILED();
    cleanup_json json_t *inj = json_pack("{s:s}", "question", Q_INJECT_DROP);
    cleanup_free char *inj_text = json_dumps(inj, JSON_COMPACT);
    const char *m422 = sca_expect_error(&s->sca, "POST", "/api/v1/analysis/sql", SCA_READER, NULL,
                                        inj_text, strlen(inj_text), 422, "unsafe_sql", &e422);
    TAP_RETURN_IF_FAILED();
    /* the LLM hangs on the user's question: a fallback within the timeout and its retries */
    cleanup_json json_t *settings =
        sca_call(&s->sca, "GET", "/api/v1/settings", SCA_READER, NULL, 200);
    TAP_RETURN_IF_FAILED();
    json_int_t timeout = json_integer_value(json_object_get(settings, "llm_timeout_ms"));
    cleanup_free char *tag = NULL;
    cleanup_free char *q = sca_unique(&s->sca, "hang", Q_TOTAL_SALES, &tag);
    cleanup_json json_t *fault =
        json_pack("{s:s, s:s, s:I, s:s}", "type", "delay", "path", "/v1/chat/completions",
                  "delay_ms", timeout + 2000, "body_contains", tag);
    long id = mock_fault_add(s->env.llm_url, fault);
    TAP_RETURN_IF_FAILED();
    double t0 = suite_now_ms();
    cleanup_json json_t *a = sca_analysis(&s->sca, q, SCA_READER);
    double took = suite_now_ms() - t0;
    mock_fault_remove(s->env.llm_url, id);
    TAP_RETURN_IF_FAILED();
    TAP_ASSERT(json_is_true(json_object_get(a, "fallback")), "no fallback when the LLM hangs");
    TAP_ASSERT(took < 4.0 * (double)timeout + 5000.0,
               "the fallback took %.0f ms (llm_timeout_ms %lld)", took, (long long)timeout);
    /* and the user goes on: the next question is answered */
    cleanup_free char *q2 = sca_unique(&s->sca, "after", Q_TOTAL_SALES, NULL);
    cleanup_json json_t *b = sca_analysis(&s->sca, q2, SCA_READER);
    TAP_RETURN_IF_FAILED();
    suite_rows_match(json_object_get(b, "rows"), suite_db(s), SQL_TOTAL);
    TAP_RETURN_IF_FAILED();
    /* every step is in the audit log */
    cleanup_json json_t *a400 =
        sca_audit_new(&s->sca, mark, "POST", "/api/v1/analysis/sql", 400, "reader");
    cleanup_json json_t *a422 =
        sca_audit_new(&s->sca, mark, "POST", "/api/v1/analysis/sql", 422, "reader");
    TAP_RETURN_IF_FAILED();
    TAP_ASSERT_INT_GE(json_array_size(a400), 1);
    TAP_ASSERT_INT_GE(json_array_size(a422), 1);
    tap_note("400: %s | 422: %s | hang -> fallback in %.0f ms: %s", m400, m422, took,
             json_string_value(json_object_get(a, "message")) ?: "");
}

static void test_complete_security_workflow(void *ctx)
{
    suite_t *s = ctx;
    cleanup_json json_t *mark = sca_audit_mark(&s->sca);
    TAP_RETURN_IF_FAILED();
    cleanup_sca_resp sca_resp_t anon, put, audit;
    /* a stranger: authentication */
    sca_expect_error(&s->sca, "GET", "/api/v1/settings", SCA_ANON, NULL, NULL, 0, 401,
                     "unauthorized", &anon);
    TAP_RETURN_IF_FAILED();
    /* a reader: works, but cannot administer (authorization) */
    cleanup_free char *q = sca_unique(&s->sca, "sec", Q_TOTAL_SALES, NULL);
    cleanup_json json_t *a = sca_analysis(&s->sca, q, SCA_READER);
    TAP_RETURN_IF_FAILED();
    cleanup_json json_t *before =
        sca_call(&s->sca, "GET", "/api/v1/settings", SCA_READER, NULL, 200);
    TAP_RETURN_IF_FAILED();
    sca_expect_error(&s->sca, "PUT", "/api/v1/settings", SCA_READER, NULL, "{\"cache_ttl_s\":0}",
                     17, 403, "forbidden", &put);
    TAP_RETURN_IF_FAILED();
    sca_expect_error(&s->sca, "GET", "/api/v1/audit?limit=10", SCA_READER, NULL, NULL, 0, 403,
                     "forbidden", &audit);
    TAP_RETURN_IF_FAILED();
    cleanup_json json_t *after =
        sca_call(&s->sca, "GET", "/api/v1/settings", SCA_READER, NULL, 200);
    TAP_RETURN_IF_FAILED();
    TAP_ASSERT_INT_EQ(json_integer_value(json_object_get(after, "cache_ttl_s")),
                      json_integer_value(json_object_get(before, "cache_ttl_s")));
    /* the admin reviews the audit log (access control, audit logging) */
    cleanup_json json_t *a401 = sca_audit_new(&s->sca, mark, "GET", "/api/v1/settings", 401, NULL);
    cleanup_json json_t *a200 =
        sca_audit_new(&s->sca, mark, "POST", "/api/v1/analysis/sql", 200, "reader");
    cleanup_json json_t *put403 =
        sca_audit_new(&s->sca, mark, "PUT", "/api/v1/settings", 403, "reader");
    cleanup_json json_t *all = sca_audit_new(&s->sca, mark, NULL, NULL, 0, NULL);
    TAP_RETURN_IF_FAILED();
    TAP_ASSERT_INT_GE(json_array_size(a401), 1);
    TAP_ASSERT_INT_GE(json_array_size(a200), 1);
    TAP_ASSERT_INT_GE(json_array_size(put403), 1);
    json_t *e = json_array_get(all, 0);
    static const char *const fields[] = {"time", "role", "method", "path", "status"};
    for (size_t i = 0; i < TAP_COUNT(fields); i++)
        TAP_ASSERT(json_object_get(e, fields[i]), "audit entries have no %s", fields[i]);
    cleanup_free char *dump = json_dumps(all, JSON_COMPACT);
    TAP_ASSERT(!strstr(dump, s->sca.admin_key) && !strstr(dump, s->sca.reader_key),
               "a key appears in the audit log");
    TAP_ASSERT(!strstr(anon.body, s->sca.admin_key) && !strstr(put.body, s->sca.reader_key),
               "a key appears in an error answer");
    tap_note("%zu audit entries since the start of this test", json_array_size(all));
}

static void test_complete_performance_workflow(void *ctx)
{
    suite_t *s = ctx;
    enum { N = 50 };
    double ms[N];
    MYSQL *db = suite_db(s);
    TAP_RETURN_IF_FAILED();
    cleanup_free char *total = suite_sql_str(db, SQL_TOTAL);
    TAP_RETURN_IF_FAILED();
    /* 50 different questions (none from the cache), one connection kept alive, as a user's
     * browser would */
    for (int i = 0; i < N; i++) {
        cleanup_free char *q = sca_unique(&s->sca, "perf", Q_TOTAL_SALES, NULL);
        cleanup_json json_t *req = json_pack("{s:s}", "question", q);
        cleanup_free char *text = json_dumps(req, JSON_COMPACT);
        cleanup_sca_resp sca_resp_t r;
        sca_send(&s->sca, "POST", "/api/v1/analysis/sql", SCA_READER, NULL, text, strlen(text), &r);
        TAP_ASSERT(r.status == 200 && r.json, "request %d: %ld %s %s", i + 1, r.status, r.error,
                   r.body);
        TAP_ASSERT(json_is_false(json_object_get(r.json, "fallback")), "request %d: fallback",
                   i + 1);
        TAP_ASSERT(json_is_false(json_object_get(r.json, "cached")), "request %d: cached", i + 1);
        cleanup_free char *got =
            suite_cell_text(json_array_get(json_array_get(json_object_get(r.json, "rows"), 0), 0));
        TAP_ASSERT_STR_EQ(got, total);
        ms[i] = r.ms;
    }
    qsort(ms, N, sizeof(ms[0]), cmp_double);
    double p50 = percentile(ms, N, 50), p95 = percentile(ms, N, 95);
    tap_note("P95 of %d analysis requests: %.1f ms (p50 %.1f ms, max %.1f ms; ADR-009: P95 < 3 s)",
             N, p95, p50, ms[N - 1]);
    TAP_ASSERT(p95 < 3000.0, "P95 %.1f ms is not under 3 s", p95);
    /* the dashboard reports a p95 too */
    cleanup_json json_t *k = sca_call(&s->sca, "GET", "/api/v1/kpi", SCA_READER, NULL, 200);
    TAP_RETURN_IF_FAILED();
    TAP_ASSERT(json_number_value(json_object_get(k, "response_time_p95_ms")) > 0,
               "the dashboard has no response_time_p95_ms");
}

int main(void)
{
    static const tap_test_t tests[] = {
        {"test_complete_sql_analysis_workflow: ask the top 10 (= fixture), feedback, follow-up "
         "강남구 question, same answer later",
         test_complete_sql_analysis_workflow},
        {"test_complete_document_search_workflow: admin uploads the startup PDF, a reader finds "
         "it at the right page, again from cache",
         test_complete_document_search_workflow},
        {"test_complete_report_generation_workflow: analysis -> report: table = rows = fixture, "
         "bars = rows, citations, markdown, GET by id",
         test_complete_report_generation_workflow},
        {"test_complete_kpi_dashboard_workflow: questions, feedback and a report move the "
         "dashboard: queries, users, accuracy, citations, p95",
         test_complete_kpi_dashboard_workflow},
        {"test_complete_system_health_workflow: health ok over polls and through a scoped LLM "
         "storm; answers again after",
         test_complete_system_health_workflow},
        {"test_complete_error_handling_workflow: 400 and 422 explained, LLM hang -> timely "
         "fallback, next question answered, all audited",
         test_complete_error_handling_workflow},
        {"test_complete_security_workflow: anonymous 401, reader works but 403 on settings and "
         "audit, admin sees it all, no key logged",
         test_complete_security_workflow},
        {"test_complete_performance_workflow: P95 of 50 uncached analysis requests under 3 s "
         "(ADR-009's metric), every answer right",
         test_complete_performance_workflow},
    };
    return suite_main("e2e", ENVCONN_NEED_MYSQL | ENVCONN_NEED_LLM, tests, TAP_COUNT(tests));
}
