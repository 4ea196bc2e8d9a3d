/* sca-api's SQL guard (compose/sca-api/guard.c): a table of accepted and refused SQL, each
 * refusal with the reason's key words; plus the SQL extraction from LLM answers and the ETL CSV
 * checks. No services needed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sca.h"

typedef struct guard_case {
    const char *sql;
    const char *reason; /* NULL: accepted; else a substring of the refusal */
    const char *clean;  /* accepted: the statement handed to MySQL (NULL: same as sql) */
} guard_case_t;

static const guard_case_t cases[] = {
    /* accepted */
    {"SELECT industry_name, SUM(sales_amount) AS total_sales FROM seoul_sales WHERE district = "
     "'강남구' GROUP BY industry_name ORDER BY total_sales DESC LIMIT 1;",
     NULL,
     "SELECT industry_name, SUM(sales_amount) AS total_sales FROM seoul_sales WHERE district = "
     "'강남구' GROUP BY industry_name ORDER BY total_sales DESC LIMIT 1"},
    {"select count(*) from seoul_areas where district = '강남구'", NULL, NULL},
    {"SELECT FLOOR(quarter_code / 10) AS year, SUM(sales_amount) FROM seoul_sales GROUP BY year",
     NULL, NULL},
    {"SELECT a.area_name, s.industry_name FROM seoul_sales s JOIN seoul_areas a ON a.area_code = "
     "s.area_code JOIN seoul_industries i ON i.industry_code = s.industry_code LIMIT 5",
     NULL, NULL},
    {"WITH t AS (SELECT district, SUM(sales_amount) AS s FROM seoul_sales GROUP BY district) "
     "SELECT * FROM t ORDER BY s DESC",
     NULL, NULL},
    {"SELECT ';' AS semi, 'a--b' FROM seoul_sales", "comments", NULL}, /* conservative */
    {"SELECT ';' AS semi FROM seoul_sales  ;  \n", NULL, "SELECT ';' AS semi FROM seoul_sales"},
    {"SELECT district FROM seoul_sales UNION SELECT district FROM seoul_areas", NULL, NULL},
    /* MySQL accepts parenthesised UNION members, SQLite's parser does not: refused, as any
     * syntax the guard cannot read */
    {"(SELECT district FROM seoul_sales) UNION (SELECT district FROM seoul_areas)", "syntax error",
     NULL},
    {"SELECT ROUND(AVG(sales_amount), 1), IF(1, 2, 3), CONCAT(district, '구') FROM seoul_sales",
     NULL, NULL},
    /* refused */
    {"SELECT * FROM seoul_sales; DROP TABLE seoul_sales", "more than one statement", NULL},
    {"SELECT * FROM seoul_sales; DROP TABLE seoul_sales;", "more than one statement", NULL},
    {"SELECT 'x;' AS a FROM seoul_sales; DELETE FROM seoul_sales", "more than one statement", NULL},
    {"SELECT district FROM seoul_sales UNION SELECT user FROM mysql.user", "mysql.user", NULL},
    {"SELECT user, authentication_string FROM mysql.user", "mysql.user", NULL},
    {"SELECT * FROM seoul_sales INTO OUTFILE '/tmp/x'", "syntax error", NULL},
    {"SELECT SLEEP(10)", "SLEEP", NULL},
    {"SELECT BENCHMARK(1000000, MD5('a')) FROM seoul_sales", "BENCHMARK", NULL},
    {"SELECT LOAD_FILE('/etc/passwd')", "LOAD_FILE", NULL},
    {"SELECT * FROM seoul_sales -- hi", "comments", NULL},
    {"SELECT * FROM seoul_sales # hi", "comments", NULL},
    {"SELECT /*!50000 SLEEP(1) */ 1 FROM seoul_sales", "comments", NULL},
    {"SELECT * FROM seoul_sales WHERE district = 'a\\' OR 1=1", "backslash", NULL},
    {"DROP TABLE seoul_sales", "only one SELECT", NULL},
    {"DELETE FROM seoul_sales", "only one SELECT", NULL},
    {"UPDATE seoul_sales SET sales_amount = 0", "only one SELECT", NULL},
    {"INSERT INTO seoul_sales SELECT * FROM seoul_sales", "only one SELECT", NULL},
    {"WITH x AS (SELECT 1) DELETE FROM seoul_sales", "", NULL},
    {"SELECT * FROM audit_log", "no such table", NULL},
    {"SELECT * FROM sqlite_master", "sqlite_master", NULL},
    {"SELECT * FROM pragma_table_info('seoul_sales')", "", NULL},
    {"SELECT * FROM seoul_sales WHERE district = @d", "parameters", NULL},
    {"SELECT * FROM seoul_sales WHERE district = ?", "parameters", NULL},
    {"SELECT \"강남구\" FROM seoul_sales", "no such column", NULL},
    {"SELECT * FROM seoul_sales FOR UPDATE", "syntax error", NULL},
    {"SELECT * FROM seoul_sales LOCK IN SHARE MODE", "syntax error", NULL},
    {"SELECT @@version", "", NULL},
    {"ATTACH DATABASE '/tmp/x' AS x", "only one SELECT", NULL},
    {"SELECT * FROM seoul.seoul_sales", "", NULL},
    {"", "no SQL", NULL},
    {"SELECT", "incomplete input", NULL},
    {"SELECT quarter_code DIV 10 FROM seoul_sales", "", NULL}, /* MySQL-only syntax */
};

static void test_guard_table(void **state)
{
    (void)state;
    sca_guard_t *g = sca_guard_new();
    assert_non_null(g);
    int bad = 0;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *clean = NULL;
        char reason[256] = "";
        int rc = sca_guard_check(g, cases[i].sql, &clean, reason, sizeof(reason));
        bool ok = cases[i].reason ? rc < 0 && strstr(reason, cases[i].reason) != NULL
                                  : rc == 0 && strcmp(clean, cases[i].clean ? cases[i].clean
                                                                            : cases[i].sql) == 0;
        if (!ok) {
            printf("# case %zu: %s\n#   want %s%s, got rc=%d reason='%s' clean='%s'\n", i,
                   cases[i].sql, cases[i].reason ? "refusal containing " : "acceptance",
                   cases[i].reason ? cases[i].reason : "", rc, reason, clean ? clean : "");
            bad++;
        }
        free(clean);
    }
    sca_guard_free(g);
    assert_int_equal(bad, 0);
}

static void test_extract_sql(void **state)
{
    (void)state;
    char *s = sca_extract_sql("다음 SQL로\n```sql\nSELECT 1 FROM seoul_sales;\n```\n끝");
    assert_string_equal(s, "SELECT 1 FROM seoul_sales;");
    free(s);
    s = sca_extract_sql("  SELECT 2 FROM seoul_sales  \n");
    assert_string_equal(s, "SELECT 2 FROM seoul_sales");
    free(s);
    s = sca_extract_sql("```\nSELECT 3 FROM seoul_sales");
    assert_string_equal(s, "SELECT 3 FROM seoul_sales");
    free(s);
}

static const char header[] =
    "quarter_code,district_code,district,area_type_code,area_type,area_code,area_name,"
    "industry_code,industry_name,category,sales_amount,sales_count,weekday_sales_amount,"
    "weekend_sales_amount,weekday_sales_count,weekend_sales_count,time_00_06_sales_amount,"
    "time_06_11_sales_amount,time_11_14_sales_amount,time_14_17_sales_amount,"
    "time_17_21_sales_amount,time_21_24_sales_amount,male_sales_amount,female_sales_amount,"
    "male_sales_count,female_sales_count,age_10_sales_amount,age_20_sales_amount,"
    "age_30_sales_amount,age_40_sales_amount,age_50_sales_amount,age_60_above_sales_amount\n";

static char *csv_with(const char *quarter, const char *code, const char *district,
                      const char *sales)
{
    static char buf[4096];
    snprintf(buf, sizeof(buf),
             "%s%s,%s,\"%s\",A,\"골목상권\",3110001,\"역삼동 골목\",CS100001,\"한식음식점\","
             "\"음식점업\",%s,10,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1\n",
             header, quarter, code, district, sales);
    return buf;
}

static void etl_expect(const char *csv, size_t rows, const char *reason)
{
    sca_etl_rows_t r = {0};
    char err[256] = "";
    int rc = sca_etl_parse(csv, strlen(csv), &r, err, sizeof(err));
    assert_int_equal(rc, 0);
    assert_int_equal(json_array_size(r.rows), rows);
    if (reason) {
        const char *got =
            json_string_value(json_object_get(json_array_get(r.rejected, 0), "reason"));
        assert_non_null(got);
        assert_non_null(strstr(got, reason));
        assert_int_equal(json_integer_value(json_object_get(json_array_get(r.rejected, 0), "line")),
                         2);
    } else {
        assert_int_equal(json_array_size(r.rejected), 0);
    }
    json_decref(r.rows);
    json_decref(r.rejected);
}

static void test_etl_checks(void **state)
{
    (void)state;
    etl_expect(csv_with("20241", "11680", "강남구", "100"), 1, NULL);
    etl_expect(csv_with("20241", "11680", "강남구", "-100"), 0, "negative");
    etl_expect(csv_with("20241", "11110", "강남구", "100"), 0, "district_code");
    etl_expect(csv_with("20241", "11680", "강남시", "100"), 0, "25 자치구");
    etl_expect(csv_with("20245", "11680", "강남구", "100"), 0, "quarter_code");
    etl_expect(csv_with("2024x", "11680", "강남구", "100"), 0, "quarter_code");
    etl_expect(csv_with("20241", "11680", "강남구", "1.5"), 0, "sales_amount");
    sca_etl_rows_t r = {0};
    char err[256];
    assert_int_equal(sca_etl_parse("a,b\n", 4, &r, err, sizeof(err)), 0);
    assert_non_null(strstr(
        json_string_value(json_object_get(json_array_get(r.rejected, 0), "reason")), "header"));
    json_decref(r.rows);
    json_decref(r.rejected);
    memset(&r, 0, sizeof(r));
    assert_int_equal(sca_etl_parse("", 0, &r, err, sizeof(err)), -1);
    json_decref(r.rows);
    json_decref(r.rejected);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_guard_table),
        cmocka_unit_test(test_extract_sql),
        cmocka_unit_test(test_etl_checks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
