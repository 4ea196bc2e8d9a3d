/* ADR-009 data integration: the loaded Seoul data (ETL result checks), Korean text, text-to-SQL
 * against independently computed answers, RAG data, and isolation of the suite's own database.
 * Reads only the environment's variables; prints TAP 13. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "envconn.h"
#include "environment.h"
#include "seoul.h"

typedef env_ctx_t data_ctx_t;

/* connects once for the tests that only read */
static MYSQL *db_of(data_ctx_t *c)
{
    if (!c->db)
        c->db = suite_mysql_connect(&c->env);
    return c->db;
}

/* ---- ETL ---- */
static void test_etl_row_counts(void *ctx)
{
    MYSQL *db = db_of(ctx);
    TAP_RETURN_IF_FAILED();
    long long sales = suite_sql_int(db, "SELECT COUNT(*) FROM " SEOUL_SALES);
    long long areas = suite_sql_int(db, "SELECT COUNT(*) FROM " SEOUL_AREAS);
    long long industries = suite_sql_int(db, "SELECT COUNT(*) FROM " SEOUL_INDUSTRIES);
    TAP_RETURN_IF_FAILED();
    tap_note("%s %lld rows, %s %lld, %s %lld", SEOUL_SALES, sales, SEOUL_AREAS, areas,
             SEOUL_INDUSTRIES, industries);
    TAP_ASSERT_INT_GT(sales, 0);
    TAP_ASSERT_INT_GE(areas, 25);
    TAP_ASSERT_INT_GT(industries, 0);
    /* every sales row refers to a known area and industry (referential consistency) */
    long long orphan_areas = suite_sql_int(
        db, "SELECT COUNT(*) FROM " SEOUL_SALES " s LEFT JOIN " SEOUL_AREAS " a ON a." COL_AREA_CODE
            " = s." COL_AREA_CODE " WHERE a." COL_AREA_CODE " IS NULL");
    long long orphan_industries =
        suite_sql_int(db, "SELECT COUNT(*) FROM " SEOUL_SALES " s LEFT JOIN " SEOUL_INDUSTRIES
                          " i ON i." COL_INDUSTRY_CODE " = s." COL_INDUSTRY_CODE
                          " WHERE i." COL_INDUSTRY_CODE " IS NULL");
    TAP_RETURN_IF_FAILED();
    TAP_ASSERT_INT_EQ(orphan_areas, 0);
    TAP_ASSERT_INT_EQ(orphan_industries, 0);
    /* the sales rows repeat their area's district and their industry's name: they agree */
    long long district_mismatch = suite_sql_int(
        db, "SELECT COUNT(*) FROM " SEOUL_SALES " s JOIN " SEOUL_AREAS " a ON a." COL_AREA_CODE
            " = s." COL_AREA_CODE " WHERE a." COL_DISTRICT " <> s." COL_DISTRICT);
    long long name_mismatch =
        suite_sql_int(db, "SELECT COUNT(*) FROM " SEOUL_SALES " s JOIN " SEOUL_INDUSTRIES
                          " i ON i." COL_INDUSTRY_CODE " = s." COL_INDUSTRY_CODE
                          " WHERE i." COL_INDUSTRY_NAME " <> s." COL_INDUSTRY_NAME);
    TAP_RETURN_IF_FAILED();
    TAP_ASSERT_INT_EQ(district_mismatch, 0);
    TAP_ASSERT_INT_EQ(name_mismatch, 0);
    /* one row per quarter x area x industry: no duplicates from a double load */
    long long distinct_keys =
        suite_sql_int(db, "SELECT COUNT(*) FROM (SELECT DISTINCT " COL_QUARTER ", " COL_AREA_CODE
                          ", " COL_INDUSTRY_CODE " FROM " SEOUL_SALES ") k");
    TAP_RETURN_IF_FAILED();
    TAP_ASSERT_INT_EQ(distinct_keys, sales);
}

static void test_etl_districts(void *ctx)
{
    MYSQL *db = db_of(ctx);
    TAP_RETURN_IF_FAILED();
    for (size_t i = 0; i < TAP_COUNT(SEOUL_DISTRICTS); i++) {
        cleanup_free char *q = tap_fmt("SELECT COUNT(*) FROM " SEOUL_SALES " s JOIN " SEOUL_AREAS
                                       " a ON a." COL_AREA_CODE " = s." COL_AREA_CODE
                                       " WHERE a." COL_DISTRICT " = '%s'",
                                       SEOUL_DISTRICTS[i]);
        long long n = suite_sql_int(db, q);
        TAP_RETURN_IF_FAILED();
        if (n <= 0)
            tap_fail_data("district", "%s", SEOUL_DISTRICTS[i]);
        TAP_ASSERT_INT_GT(n, 0);
    }
    long long distinct =
        suite_sql_int(db, "SELECT COUNT(DISTINCT " COL_DISTRICT ") FROM " SEOUL_AREAS);
    TAP_RETURN_IF_FAILED();
    TAP_ASSERT_INT_EQ(distinct, 25);
}

static void test_etl_not_null(void *ctx)
{
    MYSQL *db = db_of(ctx);
    TAP_RETURN_IF_FAILED();
    static const char *const cols[] = {COL_QUARTER, COL_AREA_CODE, COL_INDUSTRY_CODE,
                                       COL_SALES_AMOUNT, COL_SALES_COUNT};
    for (size_t i = 0; i < TAP_COUNT(cols); i++) {
        cleanup_free char *q =
            tap_fmt("SELECT COUNT(*) FROM " SEOUL_SALES " WHERE %s IS NULL", cols[i]);
        long long nulls = suite_sql_int(db, q);
        TAP_RETURN_IF_FAILED();
        if (nulls)
            tap_fail_data("column", "%s.%s", SEOUL_SALES, cols[i]);
        TAP_ASSERT_INT_EQ(nulls, 0);
    }
    long long neg = suite_sql_int(db, "SELECT COUNT(*) FROM " SEOUL_SALES " WHERE " COL_SALES_AMOUNT
                                      " < 0 OR " COL_SALES_COUNT " < 0");
    long long blank_names =
        suite_sql_int(db, "SELECT COUNT(*) FROM " SEOUL_AREAS " WHERE " COL_AREA_NAME
                          " IS NULL OR " COL_AREA_NAME " = '' OR " COL_DISTRICT " IS NULL");
    TAP_RETURN_IF_FAILED();
    TAP_ASSERT_INT_EQ(neg, 0);
    TAP_ASSERT_INT_EQ(blank_names, 0);
}

static void test_etl_sums_consistent(void *ctx)
{
    MYSQL *db = db_of(ctx);
    TAP_RETURN_IF_FAILED();
    /* the total equals the sum of the per-district totals, which equal their areas' detail */
    cleanup_free char *total =
        suite_sql_str(db, "SELECT CAST(SUM(" COL_SALES_AMOUNT ") AS CHAR) FROM " SEOUL_SALES);
    cleanup_free char *by_district = suite_sql_str(
        db, "SELECT CAST(SUM(t) AS CHAR) FROM (SELECT a." COL_DISTRICT ", SUM(s." COL_SALES_AMOUNT
            ") t FROM " SEOUL_SALES " s JOIN " SEOUL_AREAS " a ON a." COL_AREA_CODE
            " = s." COL_AREA_CODE " GROUP BY a." COL_DISTRICT ") d");
    cleanup_free char *by_area = suite_sql_str(
        db, "SELECT CAST(SUM(t) AS CHAR) FROM (SELECT " COL_AREA_CODE ", SUM(" COL_SALES_AMOUNT
            ") t FROM " SEOUL_SALES " GROUP BY " COL_AREA_CODE ") d");
    TAP_RETURN_IF_FAILED();
    tap_note("total sales %s", total);
    TAP_ASSERT_STR_EQ(by_district, total);
    TAP_ASSERT_STR_EQ(by_area, total);
    /* the generator's skew: 강남구 sells the most */
    cleanup_free char *top_district =
        suite_sql_str(db, "SELECT " COL_DISTRICT " FROM " SEOUL_SALES " GROUP BY " COL_DISTRICT
                          " ORDER BY SUM(" COL_SALES_AMOUNT ") DESC LIMIT 1");
    TAP_RETURN_IF_FAILED();
    TAP_ASSERT_STR_EQ(top_district, "강남구");
    /* weekday + weekend = the month's amount, row by row */
    long long bad =
        suite_sql_int(db, "SELECT COUNT(*) FROM " SEOUL_SALES " WHERE " COL_WEEKDAY_AMOUNT
                          " + " COL_WEEKEND_AMOUNT " <> " COL_SALES_AMOUNT);
    TAP_RETURN_IF_FAILED();
    TAP_ASSERT_INT_EQ(bad, 0);
}

/* ---- Korean text ---- */
static void test_korean_round_trip(void *ctx)
{
    MYSQL *db = db_of(ctx);
    TAP_RETURN_IF_FAILED();
    const char *text = "강남구 한식음식점";
    suite_sql_exec(db, "DROP TABLE IF EXISTS suite_korean_probe");
    suite_sql_exec(db, "CREATE TABLE suite_korean_probe (id INT PRIMARY KEY, name VARCHAR(64)) "
                       "DEFAULT CHARSET=utf8mb4");
    TAP_RETURN_IF_FAILED();
    cleanup_mysql_stmt MYSQL_STMT *st = mysql_stmt_init(db);
    const char *ins = "INSERT INTO suite_korean_probe VALUES (1, ?)";
    unsigned long len = strlen(text);
    MYSQL_BIND b = {.buffer_type = MYSQL_TYPE_STRING,
                    .buffer = (void *)text,
                    .buffer_length = len,
                    .length = &len};
    TAP_ASSERT(st && mysql_stmt_prepare(st, ins, strlen(ins)) == 0 &&
                   mysql_stmt_bind_param(st, &b) == 0 && mysql_stmt_execute(st) == 0,
               "prepared INSERT failed: %s", st ? mysql_stmt_error(st) : "oom");
    cleanup_free char *back = suite_sql_str(db, "SELECT name FROM suite_korean_probe WHERE id = 1");
    cleanup_free char *hex =
        suite_sql_str(db, "SELECT HEX(name) FROM suite_korean_probe WHERE id = 1");
    long long chars =
        suite_sql_int(db, "SELECT CHAR_LENGTH(name) FROM suite_korean_probe WHERE id = 1");
    long long found =
        suite_sql_int(db, "SELECT COUNT(*) FROM suite_korean_probe WHERE name LIKE '%한식음식점'");
    suite_sql_exec(db, "DROP TABLE suite_korean_probe");
    TAP_RETURN_IF_FAILED();
    TAP_ASSERT_STR_EQ(back, text);
    char want_hex[128] = "";
    for (size_t i = 0; text[i]; i++)
        snprintf(want_hex + 2 * i, 3, "%02X", (unsigned char)text[i]);
    TAP_ASSERT_STR_EQ(hex, want_hex); /* the bytes stored are the UTF-8 bytes sent */
    TAP_ASSERT_INT_EQ(chars, 9);
    TAP_ASSERT_INT_EQ(found, 1);
    /* the fixture's own Korean names survived the load */
    long long hansik = suite_sql_int(db, "SELECT COUNT(*) FROM " SEOUL_INDUSTRIES
                                         " WHERE " COL_INDUSTRY_NAME " = '한식음식점'");
    TAP_RETURN_IF_FAILED();
    TAP_ASSERT_INT_EQ(hansik, 1);
}

/* ---- text to SQL ---- */
static void test_text_to_sql_gangnam(void *ctx)
{
    data_ctx_t *c = ctx;
    MYSQL *db = db_of(c);
    TAP_RETURN_IF_FAILED();
    cleanup_free char *answer = suite_chat_answer(&c->env, Q_GANGNAM_TOP_INDUSTRY);
    TAP_RETURN_IF_FAILED();
    cleanup_free char *sql = suite_extract_sql(answer);
    tap_note("LLM SQL: %s", sql);
    cleanup_mysql_res MYSQL_RES *res = suite_sql_query(db, sql);
    TAP_RETURN_IF_FAILED();
    MYSQL_ROW row = mysql_fetch_row(res);
    TAP_ASSERT(row && row[0], "the LLM's SQL returned no rows");
    /* independently: the industry with the highest total sales in 강남구 */
    cleanup_free char *expected = suite_sql_str(
        db, "SELECT i." COL_INDUSTRY_NAME " FROM " SEOUL_SALES " s JOIN " SEOUL_AREAS
            " a ON a." COL_AREA_CODE " = s." COL_AREA_CODE " JOIN " SEOUL_INDUSTRIES
            " i ON i." COL_INDUSTRY_CODE " = s." COL_INDUSTRY_CODE " WHERE a." COL_DISTRICT
            " = '강남구' GROUP BY i." COL_INDUSTRY_CODE ", i." COL_INDUSTRY_NAME
            " ORDER BY SUM(s." COL_SALES_AMOUNT ") DESC LIMIT 1");
    TAP_RETURN_IF_FAILED();
    tap_note("강남구 top industry: %s", expected);
    TAP_ASSERT_STR_EQ(row[0], expected);
}

/* More cassette questions, each with an independent query (through the code tables, not the
 * denormalised names the LLM's SQL uses) that must give the same first value. */
static const struct {
    const char *question, *independent;
} sql_checks[] = {
    {"서울시 전체 매출 합계는 얼마인가요?", "SELECT SUM(" COL_SALES_AMOUNT ") FROM " SEOUL_SALES},
    {"강남구의 상권 수는 몇 개인가요?",
     "SELECT COUNT(*) FROM " SEOUL_AREAS " WHERE district_code = 11680"},
    {"편의점 매출이 가장 높은 자치구는 어디인가요?",
     "SELECT a." COL_DISTRICT " FROM " SEOUL_SALES " s JOIN " SEOUL_AREAS " a ON a." COL_AREA_CODE
     " = s." COL_AREA_CODE " JOIN " SEOUL_INDUSTRIES " i ON i." COL_INDUSTRY_CODE
     " = s." COL_INDUSTRY_CODE " WHERE i." COL_INDUSTRY_NAME " = '편의점' GROUP BY a." COL_DISTRICT
     " ORDER BY SUM(s." COL_SALES_AMOUNT ") DESC LIMIT 1"},
    {"도봉구에서 매출이 가장 낮은 업종은 무엇인가요?",
     "SELECT i." COL_INDUSTRY_NAME " FROM " SEOUL_SALES " s JOIN " SEOUL_AREAS
     " a ON a." COL_AREA_CODE " = s." COL_AREA_CODE " JOIN " SEOUL_INDUSTRIES
     " i ON i." COL_INDUSTRY_CODE " = s." COL_INDUSTRY_CODE
     " WHERE a.district_code = 11320 GROUP BY i." COL_INDUSTRY_CODE ", i." COL_INDUSTRY_NAME
     " ORDER BY SUM(s." COL_SALES_AMOUNT ") ASC LIMIT 1"},
};

static void test_text_to_sql_more(void *ctx)
{
    data_ctx_t *c = ctx;
    MYSQL *db = db_of(c);
    TAP_RETURN_IF_FAILED();
    for (size_t i = 0; i < TAP_COUNT(sql_checks); i++) {
        cleanup_free char *answer = suite_chat_answer(&c->env, sql_checks[i].question);
        TAP_RETURN_IF_FAILED();
        cleanup_free char *sql = suite_extract_sql(answer);
        cleanup_free char *got = suite_sql_str(db, sql);
        cleanup_free char *want = suite_sql_str(db, sql_checks[i].independent);
        if (got && want && strcmp(got, want) != 0) {
            tap_fail_data("question", "%s", sql_checks[i].question);
            tap_fail_data("llm_sql", "%s", sql);
            tap_fail_data("independent_sql", "%s", sql_checks[i].independent);
        }
        TAP_RETURN_IF_FAILED();
        TAP_ASSERT_STR_EQ(got, want);
        tap_note("%s -> %s", sql_checks[i].question, got);
    }
}

/* ---- RAG data ---- */
static void test_rag_startup_policy(void *ctx)
{
    data_ctx_t *c = ctx;
    cleanup_json json_t *vec = suite_embed(&c->env, Q_STARTUP_POLICY);
    TAP_RETURN_IF_FAILED();
    cleanup_json json_t *req =
        json_pack("{s:O, s:i, s:b}", "vector", vec, "limit", 3, "with_payload", 1);
    cleanup_json json_t *resp =
        suite_http_json("POST", c->env.vector_url,
                        "/collections/" SEOUL_DOCS_COLLECTION "/points/search", req, 200);
    TAP_RETURN_IF_FAILED();
    json_t *top = json_array_get(json_object_get(resp, "result"), 0);
    TAP_ASSERT(top, "search returned no hits");
    json_t *payload = json_object_get(top, "payload");
    const char *source = json_string_value(json_object_get(payload, "source"));
    tap_note("top hit: %s (score %.4f)", source ? source : "(none)",
             json_number_value(json_object_get(top, "score")));
    TAP_ASSERT_STR_CONTAINS(source, SEOUL_STARTUP_SOURCE);
    TAP_ASSERT(json_object_get(payload, "page"), "top hit has no payload.page");
}

/* ---- isolation ---- */
/* The fixture-loaded database this suite's clone was made from: ENVTEST_MYSQL_BASE_DATABASE when
 * envtest names it, else ENVTEST_MYSQL_DATABASE when it differs from the clone in DATABASE_URL,
 * else every other database holding the fixture's tables that this user can see. */
static MYSQL_RES *other_fixture_databases(data_ctx_t *c, MYSQL *db)
{
    const char *named = getenv("ENVTEST_MYSQL_BASE_DATABASE");
    if (!named || !*named)
        named = c->env.base_db_name;
    if (named && strcmp(named, c->env.db_name) != 0) {
        cleanup_free char *q = tap_fmt("SELECT '%s'", named);
        return suite_sql_query(db, q);
    }
    return suite_sql_query(db, "SELECT DISTINCT TABLE_SCHEMA FROM information_schema.TABLES WHERE "
                               "TABLE_NAME = '" SEOUL_SALES "' AND TABLE_SCHEMA <> DATABASE()");
}

static void test_writes_isolated(void *ctx)
{
    data_ctx_t *c = ctx;
    MYSQL *db = db_of(c);
    TAP_RETURN_IF_FAILED();
    cleanup_mysql_res MYSQL_RES *others = other_fixture_databases(c, db);
    TAP_RETURN_IF_FAILED();
    TAP_ASSERT(mysql_num_rows(others) > 0,
               "cannot tell the suite's database %s from the fixture database: "
               "ENVTEST_MYSQL_BASE_DATABASE is not set, ENVTEST_MYSQL_DATABASE names the same "
               "database, and no other database with %s is visible",
               c->env.db_name, SEOUL_SALES);
    cleanup_free char *table = tap_fmt("suite_isolation_%ld", (long)getpid());
    cleanup_free char *create = tap_fmt("CREATE TABLE %s (n INT)", table);
    cleanup_free char *insert = tap_fmt("INSERT INTO %s VALUES (42)", table);
    suite_sql_exec(db, create);
    suite_sql_exec(db, insert);
    TAP_RETURN_IF_FAILED();
    cleanup_free char *q = tap_fmt("SELECT TABLE_SCHEMA FROM information_schema.TABLES WHERE "
                                   "TABLE_NAME = '%s' ORDER BY 1",
                                   table);
    cleanup_mysql_res MYSQL_RES *res = suite_sql_query(db, q);
    cleanup_free char *drop = tap_fmt("DROP TABLE %s", table);
    suite_sql_exec(db, drop);
    TAP_RETURN_IF_FAILED();
    /* the new table exists once, in this suite's database, and not in the fixture database */
    TAP_ASSERT_INT_EQ(mysql_num_rows(res), 1);
    MYSQL_ROW row = mysql_fetch_row(res);
    TAP_ASSERT_STR_EQ(row[0], c->env.db_name);
    MYSQL_ROW other;
    while ((other = mysql_fetch_row(others))) {
        TAP_ASSERT(strcmp(other[0], c->env.db_name) != 0, "the fixture database is this suite's");
        tap_note("suite database %s, fixture database %s", c->env.db_name, other[0]);
    }
}

const tap_test_t env_data_tests[] = {
    {"etl: row counts and referential consistency", test_etl_row_counts},
    {"etl: all 25 자치구 present", test_etl_districts},
    {"etl: no NULLs or negatives where not allowed", test_etl_not_null},
    {"etl: sums by district equal the per-area detail", test_etl_sums_consistent},
    {"korean: text round-trips through utf8mb4", test_korean_round_trip},
    {"text-to-sql: LLM SQL answers the 강남구 top industry", test_text_to_sql_gangnam},
    {"text-to-sql: more cassette questions match independent queries", test_text_to_sql_more},
    {"rag: startup policy question finds the startup policy document", test_rag_startup_policy},
    {"isolation: writes stay in the suite's own database", test_writes_isolated},
};
const size_t env_data_count = TAP_COUNT(env_data_tests);
