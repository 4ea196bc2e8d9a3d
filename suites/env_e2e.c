/* ADR-009 end-to-end integration: complete workflows over MySQL, mock-llm and mock-vector:
 * question -> SQL -> rows -> report, document search -> answer, KPI series, error recovery, health.
 * Reads only the environment's variables; prints TAP 13. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "documents.h"
#include "envconn.h"
#include "environment.h"
#include "seoul.h"

/* ---- SQL analysis -> report ---- */
static void report_add_row(char **report, int rank, const char *name, const char *amount)
{
    char *grown = tap_fmt("%s| %d | %s | %s |\n", *report, rank, name, amount);
    free(*report);
    *report = grown;
}

static void test_sql_analysis_report(void *ctx)
{
    envconn_t *env = ctx;
    cleanup_mysql MYSQL *db = suite_mysql_connect(env);
    TAP_RETURN_IF_FAILED();
    cleanup_free char *answer = suite_chat_answer(env, Q_TOP10_INDUSTRIES);
    TAP_RETURN_IF_FAILED();
    cleanup_free char *sql = suite_extract_sql(answer);
    tap_note("LLM SQL: %s", sql);
    cleanup_mysql_res MYSQL_RES *res = suite_sql_query(db, sql);
    TAP_RETURN_IF_FAILED();
    TAP_ASSERT_INT_GE(mysql_num_fields(res), 2);
    long long industries = suite_sql_int(db, "SELECT LEAST(10, COUNT(DISTINCT " COL_INDUSTRY_CODE
                                             ")) FROM " SEOUL_SALES);
    TAP_RETURN_IF_FAILED();
    TAP_ASSERT_INT_EQ(mysql_num_rows(res), industries);
    /* the report: a markdown table of the rows, amounts descending */
    cleanup_free char *report = tap_fmt("| 순위 | 업종 | 매출 |\n|---:|---|---:|\n");
    MYSQL_ROW row;
    int rank = 0;
    double prev = -1;
    char first_line[512] = "";
    while ((row = mysql_fetch_row(res))) {
        rank++;
        TAP_ASSERT(row[0] && row[1], "row %d has a NULL", rank);
        double amount = strtod(row[1], NULL);
        TAP_ASSERT(prev < 0 || amount <= prev, "row %d (%s) is larger than the row above", rank,
                   row[1]);
        prev = amount;
        report_add_row(&report, rank, row[0], row[1]);
        if (rank == 1)
            snprintf(first_line, sizeof(first_line), "| 1 | %s | %s |", row[0], row[1]);
    }
    tap_note("report:\n%s", report);
    /* independently: the top industry of all Seoul */
    cleanup_free char *top = suite_sql_str(
        db, "SELECT i." COL_INDUSTRY_NAME " FROM " SEOUL_SALES " s JOIN " SEOUL_INDUSTRIES
            " i ON i." COL_INDUSTRY_CODE " = s." COL_INDUSTRY_CODE " GROUP BY i." COL_INDUSTRY_CODE
            ", i." COL_INDUSTRY_NAME " ORDER BY SUM(s." COL_SALES_AMOUNT ") DESC LIMIT 1");
    cleanup_free char *top_sum = suite_sql_str(
        db, "SELECT CAST(SUM(" COL_SALES_AMOUNT ") AS CHAR) FROM " SEOUL_SALES
            " GROUP BY " COL_INDUSTRY_CODE " ORDER BY SUM(" COL_SALES_AMOUNT ") DESC LIMIT 1");
    TAP_RETURN_IF_FAILED();
    cleanup_free char *want = tap_fmt("| 1 | %s | %s |", top, top_sum);
    const char *line3 = strchr(strchr(report, '\n') + 1, '\n') + 1;
    cleanup_free char *got = tap_fmt("%.*s", (int)strcspn(line3, "\n"), line3);
    TAP_ASSERT_STR_EQ(got, want);
    TAP_ASSERT_STR_EQ(first_line, want);
}

/* ---- document search -> answer ---- */
static void test_document_search_answer(void *ctx)
{
    envconn_t *env = ctx;
    cleanup_json json_t *vec = suite_embed(env, Q_STARTUP_POLICY);
    TAP_RETURN_IF_FAILED();
    /* the fixture's own documents only: the service's suites upload copies of them into the same
     * collection under other names */
    json_t *sources = json_array();
    for (size_t i = 0; i < SEOUL_N_DOCUMENTS; i++)
        json_array_append_new(sources, json_string(SEOUL_DOCUMENTS[i].file));
    cleanup_json json_t *req =
        json_pack("{s:O, s:i, s:b, s:{s:[{s:s, s:{s:o}}]}}", "vector", vec, "limit", 3,
                  "with_payload", 1, "filter", "must", "key", "source", "match", "any", sources);
    cleanup_json json_t *resp = suite_http_json(
        "POST", env->vector_url, "/collections/" SEOUL_DOCS_COLLECTION "/points/search", req, 200);
    TAP_RETURN_IF_FAILED();
    json_t *hits = json_object_get(resp, "result");
    TAP_ASSERT_INT_GT(json_array_size(hits), 0);
    /* compose the prompt: the passages with their sources, then the question */
    cleanup_free char *context = tap_fmt("%s", "");
    size_t i;
    json_t *hit;
    json_array_foreach(hits, i, hit)
    {
        json_t *p = json_object_get(hit, "payload");
        const char *text = json_string_value(json_object_get(p, "text"));
        const char *source = json_string_value(json_object_get(p, "source"));
        TAP_ASSERT(text && *text, "hit %zu has no payload.text", i);
        char *grown = tap_fmt("%s[%s] %s\n", context, source ? source : "?", text);
        free(context);
        context = grown;
    }
    TAP_ASSERT_STR_CONTAINS(context, SEOUL_STARTUP_SOURCE);
    cleanup_free char *model = suite_model(env, SUITE_MODEL_CHAT);
    TAP_RETURN_IF_FAILED();
    cleanup_free char *system = tap_fmt("다음 문서를 근거로 답하고 출처를 밝히세요.\n%s", context);
    cleanup_json json_t *chat =
        json_pack("{s:s, s:[{s:s, s:s}, {s:s, s:s}]}", "model", model, "messages", "role", "system",
                  "content", system, "role", "user", "content", Q_STARTUP_POLICY);
    cleanup_json json_t *cr =
        suite_http_json("POST", env->openai_url, "/chat/completions", chat, 200);
    TAP_RETURN_IF_FAILED();
    json_t *choice = json_array_get(json_object_get(cr, "choices"), 0);
    const char *answer =
        json_string_value(json_object_get(json_object_get(choice, "message"), "content"));
    TAP_ASSERT(answer && *answer, "no answer");
    tap_note("answer: %s", answer);
    TAP_ASSERT_STR_CONTAINS(answer, "스타트업");
    /* the answer cites the document the search ranked first */
    const char *top_source = json_string_value(
        json_object_get(json_object_get(json_array_get(hits, 0), "payload"), "source"));
    TAP_ASSERT_STR_CONTAINS(answer, top_source);
    TAP_ASSERT_STR_EQ(json_string_value(json_object_get(choice, "finish_reason")), "stop");
}

/* ---- KPI ---- */
static void test_kpi_quarterly_series(void *ctx)
{
    envconn_t *env = ctx;
    cleanup_mysql MYSQL *db = suite_mysql_connect(env);
    TAP_RETURN_IF_FAILED();
    /* the dashboard's series: total sales per quarter, every quarter present and positive */
    cleanup_mysql_res MYSQL_RES *res =
        suite_sql_query(db, "SELECT " COL_QUARTER ", SUM(" COL_SALES_AMOUNT ") FROM " SEOUL_SALES
                            " GROUP BY " COL_QUARTER " ORDER BY " COL_QUARTER);
    TAP_RETURN_IF_FAILED();
    TAP_ASSERT_INT_GE(mysql_num_rows(res), 4);
    double by_q[4] = {0};
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(res))) {
        TAP_ASSERT(row[0] && row[1], "NULL quarter or total");
        int q = (int)(strtol(row[0], NULL, 10) % 10);
        TAP_ASSERT(q >= 1 && q <= 4, "quarter code %s does not end in 1-4", row[0]);
        double total = strtod(row[1], NULL);
        TAP_ASSERT_DBL_GT(total, 0);
        by_q[q - 1] += total;
    }
    /* the LLM's seasonality SQL gives the same per-quarter totals */
    cleanup_free char *answer = suite_chat_answer(env, "분기별 계절성을 보여주세요");
    TAP_RETURN_IF_FAILED();
    cleanup_free char *sql = suite_extract_sql(answer);
    cleanup_mysql_res MYSQL_RES *season = suite_sql_query(db, sql);
    TAP_RETURN_IF_FAILED();
    TAP_ASSERT_INT_EQ(mysql_num_rows(season), 4);
    while ((row = mysql_fetch_row(season))) {
        int q = atoi(row[0]);
        TAP_ASSERT(q >= 1 && q <= 4, "seasonality row for quarter '%s'", row[0]);
        TAP_ASSERT_DBL_NEAR(strtod(row[1], NULL), by_q[q - 1], 0.5);
    }
    tap_note("Q1 %.0f, Q2 %.0f, Q3 %.0f, Q4 %.0f", by_q[0], by_q[1], by_q[2], by_q[3]);
    /* the generator's seasonal shape (fixtures/seoulgen.c: season 0.93 1.01 0.99 1.09) */
    TAP_ASSERT_DBL_GT(by_q[3], by_q[0]);
}

/* ---- error workflow ---- */
/* The request carries OpenAI's "user" field with a value unique to this process: the fault
 * matches it (body_contains), so no other client of the mock meets the disconnect. */
static int stream_once(const envconn_t *env, const char *user, bool *complete, char *why,
                       size_t why_size)
{
    cleanup_free char *model = suite_model(env, SUITE_MODEL_CHAT);
    if (!model)
        return -1;
    cleanup_json json_t *req =
        json_pack("{s:s, s:[{s:s, s:s}], s:b, s:s}", "model", model, "messages", "role", "user",
                  "content", Q_GANGNAM_TOP_INDUSTRY, "stream", 1, "user", user);
    cleanup_free char *body = json_dumps(req, JSON_COMPACT);
    cleanup_free char *url = url_join(env->openai_url, "/chat/completions");
    cleanup_http http_response_t resp;
    http_request("POST", url, body, &resp);
    *complete =
        resp.transport_error == 0 && resp.status == 200 && strstr(resp.body, "data: [DONE]");
    snprintf(why, why_size, "status %ld, %.120s, %zu bytes, [DONE] %s", resp.status,
             resp.transport_error ? resp.error : "no transport error", resp.len,
             strstr(resp.body, "data: [DONE]") ? "seen" : "missing");
    return 0;
}

static void test_error_recovery_workflow(void *ctx)
{
    envconn_t *env = ctx;
    cleanup_free char *user = tap_fmt("envtest-stream-%ld", (long)getpid());
    cleanup_json json_t *fault =
        json_pack("{s:s, s:s, s:i, s:i, s:s}", "type", "stream_disconnect", "path",
                  "/v1/chat/completions", "after_chunks", 2, "times", 1, "body_contains", user);
    long id = mock_fault_add(env->llm_url, fault);
    TAP_RETURN_IF_FAILED();
    bool complete = true;
    char why[256];
    stream_once(env, user, &complete, why, sizeof(why));
    tap_note("under the fault: %s", why);
    if (tap_failed() || complete) /* a fault not spent must not stay behind */
        mock_fault_remove(env->llm_url, id);
    TAP_RETURN_IF_FAILED();
    TAP_ASSERT(!complete, "the mid-stream disconnect was not seen by the client (%s)", why);
    /* the client retries: the one-shot fault is spent, the stream completes */
    stream_once(env, user, &complete, why, sizeof(why));
    TAP_RETURN_IF_FAILED();
    tap_note("retry: %s", why);
    TAP_ASSERT(complete, "retry did not complete: %s", why);
}

/* ---- health ---- */
static void test_health_workflow(void *ctx)
{
    envconn_t *env = ctx;
    struct {
        const char *base, *path;
    } checks[] = {{env->llm_url, "/health"},
                  {env->vector_url, "/healthz"},
                  {env->vector_url, "/readyz"},
                  {env->vector_url, "/livez"}};
    for (size_t i = 0; i < TAP_COUNT(checks); i++) {
        cleanup_free char *url = url_join(checks[i].base, checks[i].path);
        cleanup_http http_response_t r;
        http_request("GET", url, NULL, &r);
        TAP_ASSERT(r.transport_error == 0, "GET %s: %s", url, r.error);
        if (r.status != 200)
            tap_fail_data("url", "%s", url);
        TAP_ASSERT_INT_EQ(r.status, 200);
        tap_note("GET %s: %ld in %.1f ms", url, r.status, r.total_ms);
    }
    cleanup_mysql MYSQL *db = suite_mysql_connect(env);
    TAP_RETURN_IF_FAILED();
    TAP_ASSERT_INT_EQ(mysql_ping(db), 0);
    long long one = suite_sql_int(db, "SELECT 1");
    TAP_RETURN_IF_FAILED();
    TAP_ASSERT_INT_EQ(one, 1);
}

const tap_test_t env_e2e_tests[] = {
    {"workflow: question -> LLM SQL -> MySQL -> top-10 report", test_sql_analysis_report},
    {"workflow: embed -> search -> answer with passages", test_document_search_answer},
    {"workflow: KPI quarterly sales series and seasonality", test_kpi_quarterly_series},
    {"workflow: mid-stream disconnect seen, retry completes", test_error_recovery_workflow},
    {"workflow: health of mock-llm, mock-vector and MySQL", test_health_workflow},
};
const size_t env_e2e_count = TAP_COUNT(env_e2e_tests);
