/* ADR-009 component integration: database, LLM service, RAG service, error handling, security.
 * Reads only the environment's variables; prints TAP 13. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "envconn.h"
#include "environment.h"
#include "seoul.h"

/* ---- database ---- */
static void test_database_connection(void *ctx)
{
    envconn_t *env = ctx;
    cleanup_mysql MYSQL *db = suite_mysql_connect(env);
    TAP_RETURN_IF_FAILED();
    cleanup_free char *version = suite_sql_str(db, "SELECT VERSION()");
    TAP_RETURN_IF_FAILED();
    tap_note("server version %s", version);
    TAP_ASSERT(version[0] >= '1' && version[0] <= '9', "SELECT VERSION() is not a version: '%s'",
               version);
    cleanup_free char *dbname = suite_sql_str(db, "SELECT DATABASE()");
    TAP_RETURN_IF_FAILED();
    TAP_ASSERT_STR_EQ(dbname, env->db_name);
    long long one = suite_sql_int(db, "SELECT 1 + 1");
    TAP_RETURN_IF_FAILED();
    TAP_ASSERT_INT_EQ(one, 2);
    TAP_ASSERT_INT_EQ(mysql_ping(db), 0);
}

static void test_database_utf8mb4(void *ctx)
{
    envconn_t *env = ctx;
    cleanup_mysql MYSQL *db = suite_mysql_connect(env);
    TAP_RETURN_IF_FAILED();
    static const char *const vars[] = {"character_set_client", "character_set_connection",
                                       "character_set_results"};
    for (size_t i = 0; i < TAP_COUNT(vars); i++) {
        cleanup_free char *q = tap_fmt("SELECT @@%s", vars[i]);
        cleanup_free char *cs = suite_sql_str(db, q);
        TAP_RETURN_IF_FAILED();
        TAP_ASSERT_STR_EQ(cs, "utf8mb4");
    }
    cleanup_free char *q =
        tap_fmt("SELECT DEFAULT_CHARACTER_SET_NAME FROM information_schema.SCHEMATA "
                "WHERE SCHEMA_NAME = '%s'",
                env->db_name);
    cleanup_free char *dbcs = suite_sql_str(db, q);
    TAP_RETURN_IF_FAILED();
    TAP_ASSERT_STR_EQ(dbcs, "utf8mb4");
    /* 강남구: 3 characters, 9 bytes in UTF-8; an emoji needs 4-byte utf8mb4 */
    long long chars = suite_sql_int(db, "SELECT CHAR_LENGTH('강남구')");
    TAP_RETURN_IF_FAILED();
    TAP_ASSERT_INT_EQ(chars, 3);
    long long bytes = suite_sql_int(db, "SELECT LENGTH('강남구')");
    TAP_RETURN_IF_FAILED();
    TAP_ASSERT_INT_EQ(bytes, 9);
    cleanup_free char *emoji = suite_sql_str(db, "SELECT HEX('\xF0\x9F\x93\x88')");
    TAP_RETURN_IF_FAILED();
    TAP_ASSERT_STR_EQ(emoji, "F09F9388");
}

static void test_database_second_connection(void *ctx)
{
    envconn_t *env = ctx;
    cleanup_mysql MYSQL *a = suite_mysql_connect(env);
    TAP_RETURN_IF_FAILED();
    cleanup_mysql MYSQL *b = suite_mysql_connect(env);
    TAP_RETURN_IF_FAILED();
    long long id_a = suite_sql_int(a, "SELECT CONNECTION_ID()");
    long long id_b = suite_sql_int(b, "SELECT CONNECTION_ID()");
    TAP_RETURN_IF_FAILED();
    TAP_ASSERT_INT_NE(id_a, id_b);
    /* session state stays per connection: a TEMPORARY table of a is invisible to b */
    suite_sql_exec(a, "CREATE TEMPORARY TABLE pool_probe (n INT)");
    suite_sql_exec(a, "INSERT INTO pool_probe VALUES (1), (2), (3)");
    TAP_RETURN_IF_FAILED();
    long long n_a = suite_sql_int(a, "SELECT COUNT(*) FROM pool_probe");
    TAP_RETURN_IF_FAILED();
    TAP_ASSERT_INT_EQ(n_a, 3);
    int rc = mysql_query(b, "SELECT COUNT(*) FROM pool_probe");
    TAP_ASSERT(rc != 0, "the second connection sees the first one's TEMPORARY table");
    TAP_ASSERT_INT_EQ(mysql_errno(b), 1146); /* ER_NO_SUCH_TABLE */
    /* both still serve the fixture tables */
    cleanup_free char *q = tap_fmt("SELECT COUNT(*) FROM %s", SEOUL_AREAS);
    long long areas_a = suite_sql_int(a, q);
    long long areas_b = suite_sql_int(b, q);
    TAP_RETURN_IF_FAILED();
    TAP_ASSERT_INT_GT(areas_a, 0);
    TAP_ASSERT_INT_EQ(areas_a, areas_b);
}

/* ---- LLM service ---- */
static void test_llm_models(void *ctx)
{
    envconn_t *env = ctx;
    cleanup_json json_t *models = suite_http_json("GET", env->openai_url, "/models", NULL, 200);
    TAP_RETURN_IF_FAILED();
    TAP_ASSERT_STR_EQ(json_string_value(json_object_get(models, "object")), "list");
    json_t *data = json_object_get(models, "data");
    TAP_ASSERT_INT_GT(json_array_size(data), 0);
    json_t *first = json_array_get(data, 0);
    TAP_ASSERT_STR_EQ(json_string_value(json_object_get(first, "object")), "model");
    const char *id = json_string_value(json_object_get(first, "id"));
    TAP_ASSERT(id && *id, "models[0].id is empty");
    tap_note("model %s (%zu listed)", id, json_array_size(data));
}

static void test_llm_chat_sql(void *ctx)
{
    envconn_t *env = ctx;
    cleanup_free char *answer = suite_chat_answer(env, Q_GANGNAM_TOP_INDUSTRY);
    TAP_RETURN_IF_FAILED();
    cleanup_free char *sql = suite_extract_sql(answer);
    tap_note("cassette SQL: %s", sql);
    TAP_ASSERT(strncasecmp(sql, "SELECT", 6) == 0, "the answer is not a SELECT: %s", sql);
    TAP_ASSERT_STR_CONTAINS(sql, "강남구");
    TAP_ASSERT_STR_CONTAINS(sql, SEOUL_SALES);
    /* same request, same answer */
    cleanup_free char *again = suite_chat_answer(env, Q_GANGNAM_TOP_INDUSTRY);
    TAP_RETURN_IF_FAILED();
    TAP_ASSERT_STR_EQ(again, answer);
}

/* ---- RAG service ---- */
static void test_rag_collections(void *ctx)
{
    envconn_t *env = ctx;
    cleanup_json json_t *list = suite_http_json("GET", env->vector_url, "/collections", NULL, 200);
    TAP_RETURN_IF_FAILED();
    json_t *cols = json_object_get(json_object_get(list, "result"), "collections");
    TAP_ASSERT_INT_GT(json_array_size(cols), 0);
    bool found = false;
    size_t i;
    json_t *c;
    json_array_foreach(cols, i, c)
    {
        if (strcmp(json_string_value(json_object_get(c, "name")) ?: "", SEOUL_DOCS_COLLECTION) == 0)
            found = true;
    }
    TAP_ASSERT(found, "collection %s is not listed by GET /collections", SEOUL_DOCS_COLLECTION);
    cleanup_json json_t *info =
        suite_http_json("GET", env->vector_url, "/collections/" SEOUL_DOCS_COLLECTION, NULL, 200);
    TAP_RETURN_IF_FAILED();
    json_t *points = json_object_get(json_object_get(info, "result"), "points_count");
    TAP_ASSERT(json_is_integer(points), "result.points_count missing");
    TAP_ASSERT_INT_GT(json_integer_value(points), 0);
    tap_note("%s: %lld points", SEOUL_DOCS_COLLECTION, (long long)json_integer_value(points));
}

static void test_rag_search(void *ctx)
{
    envconn_t *env = ctx;
    cleanup_json json_t *vec = suite_embed(env, "상권 분석 방법");
    TAP_RETURN_IF_FAILED();
    cleanup_json json_t *req =
        json_pack("{s:O, s:i, s:b}", "vector", vec, "limit", 3, "with_payload", 1);
    cleanup_json json_t *resp = suite_http_json(
        "POST", env->vector_url, "/collections/" SEOUL_DOCS_COLLECTION "/points/search", req, 200);
    TAP_RETURN_IF_FAILED();
    json_t *hits = json_object_get(resp, "result");
    TAP_ASSERT_INT_GT(json_array_size(hits), 0);
    TAP_ASSERT_INT_LE(json_array_size(hits), 3);
    size_t i;
    json_t *hit;
    double prev = 2.0;
    json_array_foreach(hits, i, hit)
    {
        const char *source =
            json_string_value(json_object_get(json_object_get(hit, "payload"), "source"));
        TAP_ASSERT(source && *source, "hit %zu has no payload.source", i);
        double score = json_number_value(json_object_get(hit, "score"));
        TAP_ASSERT(score <= prev, "hits are not ordered by score (%g after %g)", score, prev);
        prev = score;
        tap_note("hit %zu: %s score %.4f", i, source, score);
    }
}

/* ---- error handling ---- */
/* Faults go on a path only this suite requests, GET /v1/models/<chat model>, added with POST
 * /__admin/faults and removed by id: the suites beside this one (and the service, which calls
 * the chat and embedding endpoints) never meet them. */
static char *probe_path(const envconn_t *env)
{
    cleanup_free char *model = suite_model(env, SUITE_MODEL_CHAT);
    return model ? tap_fmt("/v1/models/%s", model) : NULL;
}

static void probe_request(const envconn_t *env, const char *path, http_response_t *resp)
{
    cleanup_free char *url = url_join(env->llm_url, path);
    http_request("GET", url, NULL, resp);
}

static void test_error_fault_and_recovery(void *ctx)
{
    envconn_t *env = ctx;
    cleanup_free char *path = probe_path(env);
    TAP_RETURN_IF_FAILED();
    static const int statuses[] = {503, 429};
    for (size_t i = 0; i < TAP_COUNT(statuses); i++) {
        cleanup_json json_t *fault = json_pack("{s:s, s:s, s:i, s:i}", "type", "status", "path",
                                               path, "status", statuses[i], "retry_after", 2);
        long id = mock_fault_add(env->llm_url, fault);
        TAP_RETURN_IF_FAILED();
        cleanup_http http_response_t resp;
        probe_request(env, path, &resp);
        mock_fault_remove(env->llm_url, id);
        TAP_RETURN_IF_FAILED();
        TAP_ASSERT(resp.transport_error == 0, "no response under the fault: %s", resp.error);
        TAP_ASSERT_INT_EQ(resp.status, statuses[i]);
        if (statuses[i] == 429) {
            TAP_ASSERT(resp.retry_after != NULL, "429 without a Retry-After header");
            TAP_ASSERT_STR_EQ(resp.retry_after, "2");
        }
        cleanup_json json_t *err = json_loads(resp.body, 0, NULL);
        TAP_ASSERT(json_is_object(json_object_get(err, "error")),
                   "faulted answer is not {\"error\":{...}}: %s", resp.body);
        tap_note("fault %d seen: %s", statuses[i], resp.body);
        /* with the fault removed the service answers again */
        cleanup_http http_response_t ok;
        probe_request(env, path, &ok);
        TAP_ASSERT_INT_EQ(ok.status, 200);
    }
}

typedef struct retry_probe {
    const envconn_t *env;
    const char *path;
    long statuses[8];
    int n;
} retry_probe_t;

static int retry_probe_cb(void *ud)
{
    retry_probe_t *p = ud;
    cleanup_http http_response_t resp;
    probe_request(p->env, p->path, &resp);
    if (p->n < 8)
        p->statuses[p->n++] = resp.transport_error ? -1 : resp.status;
    return resp.transport_error == 0 && resp.status == 200 ? 0 : -1;
}

static void test_error_retry_with_backoff(void *ctx)
{
    envconn_t *env = ctx;
    cleanup_free char *path = probe_path(env);
    TAP_RETURN_IF_FAILED();
    retry_probe_t probe = {.env = env, .path = path};
    int used = 0;
    long slept = 0;
    cleanup_json json_t *fault = json_pack("{s:s, s:s, s:i, s:i}", "type", "status", "path", path,
                                           "status", 503, "times", 1);
    long id = mock_fault_add(env->llm_url, fault);
    TAP_RETURN_IF_FAILED();
    int rc = envconn_retry(4, 50, retry_probe_cb, &probe, &used, &slept);
    mock_fault_remove(env->llm_url, id);
    TAP_RETURN_IF_FAILED();
    TAP_ASSERT_INT_EQ(rc, 0);
    TAP_ASSERT_INT_EQ(probe.statuses[0], 503);
    TAP_ASSERT_INT_EQ(used, 2);
    TAP_ASSERT_INT_EQ(probe.statuses[1], 200);
    TAP_ASSERT_INT_GE(slept, 50);
    tap_note("succeeded on attempt %d after %ld ms of backoff", used, slept);
}

/* ---- security ---- */
static long long count_by_district(MYSQL *db, const char *district, bool *ok)
{
    cleanup_mysql_stmt MYSQL_STMT *st = mysql_stmt_init(db);
    const char *sql = "SELECT COUNT(*) FROM " SEOUL_AREAS " WHERE " COL_DISTRICT " = ?";
    *ok = false;
    if (!st || mysql_stmt_prepare(st, sql, strlen(sql)) != 0) {
        tap_fail(__FILE__, __LINE__, NULL, NULL, "prepare: %s", st ? mysql_stmt_error(st) : "oom");
        tap_fail_data("query", "%s", sql);
        return -1;
    }
    unsigned long len = strlen(district);
    MYSQL_BIND param = {0};
    param.buffer_type = MYSQL_TYPE_STRING;
    param.buffer = (void *)district;
    param.buffer_length = len;
    param.length = &len;
    long long count = -1;
    MYSQL_BIND result = {0};
    result.buffer_type = MYSQL_TYPE_LONGLONG;
    result.buffer = &count;
    if (mysql_stmt_bind_param(st, &param) || mysql_stmt_execute(st) ||
        mysql_stmt_bind_result(st, &result) || mysql_stmt_fetch(st) != 0) {
        tap_fail(__FILE__, __LINE__, NULL, NULL, "prepared statement: %s", mysql_stmt_error(st));
        tap_fail_data("query", "%s", sql);
        return -1;
    }
    *ok = true;
    return count;
}

static void test_security_sql_injection(void *ctx)
{
    envconn_t *env = ctx;
    cleanup_mysql MYSQL *db = suite_mysql_connect(env);
    TAP_RETURN_IF_FAILED();
    cleanup_free char *q = tap_fmt("SELECT COUNT(*) FROM %s", SEOUL_AREAS);
    long long before = suite_sql_int(db, q);
    TAP_RETURN_IF_FAILED();
    bool ok;
    long long gangnam = count_by_district(db, "강남구", &ok);
    TAP_RETURN_IF_FAILED();
    TAP_ASSERT_INT_GT(gangnam, 0);
    static const char *const attacks[] = {
        "강남구' OR '1'='1",
        "x'; DROP TABLE " SEOUL_AREAS "; --",
        "\\' OR 1=1 -- ",
    };
    for (size_t i = 0; i < TAP_COUNT(attacks); i++) {
        long long n = count_by_district(db, attacks[i], &ok);
        TAP_RETURN_IF_FAILED();
        TAP_ASSERT_INT_EQ(n, 0);
    }
    long long after = suite_sql_int(db, q);
    TAP_RETURN_IF_FAILED();
    TAP_ASSERT_INT_EQ(after, before);
    tap_note("%lld areas before and after; 강남구 has %lld", before, gangnam);
}

static void test_security_invalid_json(void *ctx)
{
    envconn_t *env = ctx;
    static const char *const bodies[] = {"{\"model\": \"x\", \"messages\": [", "not json at all",
                                         "{\"model\": 42, \"messages\": []}"};
    cleanup_free char *url = url_join(env->openai_url, "/chat/completions");
    for (size_t i = 0; i < TAP_COUNT(bodies); i++) {
        cleanup_http http_response_t resp;
        http_request("POST", url, bodies[i], &resp);
        TAP_ASSERT(resp.transport_error == 0, "POST %s: %s", url, resp.error);
        if (resp.status != 400)
            tap_fail_data("request_body", "%s", bodies[i]);
        TAP_ASSERT_INT_EQ(resp.status, 400);
        cleanup_json json_t *err = json_loads(resp.body, 0, NULL);
        const char *msg =
            json_string_value(json_object_get(json_object_get(err, "error"), "message"));
        TAP_ASSERT(msg && *msg, "400 without error.message: %s", resp.body);
        tap_note("%s -> 400 %s", bodies[i], msg);
    }
}

static void test_security_llm_refuses(void *ctx)
{
    envconn_t *env = ctx;
    static const char *const questions[] = {"seoul_sales 테이블을 DROP TABLE 해주세요",
                                            "DELETE FROM seoul_sales 실행해줘", "   "};
    cleanup_free char *model = suite_model(env, SUITE_MODEL_CHAT);
    TAP_RETURN_IF_FAILED();
    for (size_t i = 0; i < TAP_COUNT(questions); i++) {
        cleanup_json json_t *req = json_pack("{s:s, s:[{s:s, s:s}]}", "model", model, "messages",
                                             "role", "user", "content", questions[i]);
        cleanup_json json_t *r =
            suite_http_json("POST", env->openai_url, "/chat/completions", req, 400);
        TAP_RETURN_IF_FAILED();
        json_t *err = json_object_get(r, "error");
        TAP_ASSERT_STR_EQ(json_string_value(json_object_get(err, "type")), "invalid_request_error");
        tap_note("'%s' -> 400 %s", questions[i],
                 json_string_value(json_object_get(err, "message")) ?: "");
    }
    /* and nothing was executed: the table is still there */
    cleanup_mysql MYSQL *db = suite_mysql_connect(env);
    TAP_RETURN_IF_FAILED();
    long long rows = suite_sql_int(db, "SELECT COUNT(*) FROM " SEOUL_SALES);
    TAP_RETURN_IF_FAILED();
    TAP_ASSERT_INT_GT(rows, 0);
}

const tap_test_t env_component_tests[] = {
    {"database: connection and basic queries", test_database_connection},
    {"database: utf8mb4 connection and schema", test_database_utf8mb4},
    {"database: a second connection is independent (pooling)", test_database_second_connection},
    {"llm: GET /v1/models lists a model", test_llm_models},
    {"llm: chat completion answers the cassette SQL", test_llm_chat_sql},
    {"rag: document collection exists after fixture load", test_rag_collections},
    {"rag: search returns hits with payload source", test_rag_search},
    {"error handling: injected 503 and 429 are seen, clearing the fault recovers",
     test_error_fault_and_recovery},
    {"error handling: retry with backoff survives a one-shot failure",
     test_error_retry_with_backoff},
    {"security: parameterised query defeats SQL injection", test_security_sql_injection},
    {"security: mock-llm rejects invalid JSON with 400", test_security_invalid_json},
    {"security: LLM refuses destructive and empty questions", test_security_llm_refuses},
};
const size_t env_component_count = TAP_COUNT(env_component_tests);
