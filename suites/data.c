/* ADR-009 DataIntegrationTests: data flowing through the Seoul analysis service (sca-api): CSV ->
 * ETL -> MySQL, question -> SQL -> rows, PDF -> chunks -> vectors -> search, rows -> report,
 * requests -> KPIs, answers -> cache, validation, transformation. Each result is compared with
 * what this suite computes itself from the CSV it sends or the fixture database.
 * Reads only environment variables; prints TAP 13. */
#include <stdlib.h>
#include <string.h>

#include "sca.h"
#include "sca_fixture.h"

#define SALES_COLUMNS                                                                              \
    "quarter_code,district_code,district,area_type_code,area_type,area_code,area_name,"            \
    "industry_code,industry_name,category,sales_amount,sales_count,weekday_sales_amount,"          \
    "weekend_sales_amount,weekday_sales_count,weekend_sales_count,time_00_06_sales_amount,"        \
    "time_06_11_sales_amount,time_11_14_sales_amount,time_14_17_sales_amount,"                     \
    "time_17_21_sales_amount,time_21_24_sales_amount,male_sales_amount,female_sales_amount,"       \
    "male_sales_count,female_sales_count,age_10_sales_amount,age_20_sales_amount,"                 \
    "age_30_sales_amount,age_40_sales_amount,age_50_sales_amount,age_60_above_sales_amount"
#define COL_AREA_NAME_INDEX 6
#define COL_SALES_AMOUNT_INDEX 10
#define COL_SALES_COUNT_INDEX 11

/* A CSV in the fixture's seoul_sales.csv format, built from rows of the suite's own copy of the
 * fixture (area names suffixed with a tag so the rows can be found again), with its totals. */
typedef struct csv {
    char *text;
    size_t rows;
    long long sales_amount, sales_count;
} csv_t;

static void csv_free(csv_t *c)
{
    free(c->text);
}
#define cleanup_csv __attribute__((cleanup(csv_free)))

static void csv_add(char **text, const char *s)
{
    char *grown = tap_fmt("%s%s", *text, s);
    free(*text);
    *text = grown;
}

static void csv_add_field(char **text, const char *v, bool quoted)
{
    if (!quoted) {
        csv_add(text, v);
        return;
    }
    csv_add(text, "\"");
    for (const char *p = v; *p; p++) {
        char one[3] = {*p, *p == '"' ? '"' : '\0', '\0'};
        csv_add(text, one);
    }
    csv_add(text, "\"");
}

static int csv_from_fixture(suite_t *s, size_t offset, size_t n, const char *tag, csv_t *out)
{
    memset(out, 0, sizeof(*out));
    MYSQL *db = suite_db(s);
    if (!db)
        return -1;
    cleanup_free char *q =
        tap_fmt("SELECT " SALES_COLUMNS " FROM " SEOUL_SALES
                " ORDER BY quarter_code, area_code, industry_code LIMIT %zu, %zu",
                offset, n);
    cleanup_mysql_res MYSQL_RES *res = suite_sql_query(db, q);
    if (!res)
        return -1;
    out->text = tap_fmt("%s\n", SALES_COLUMNS);
    MYSQL_FIELD *fields = mysql_fetch_fields(res);
    unsigned cols = mysql_num_fields(res);
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(res))) {
        for (unsigned c = 0; c < cols; c++) {
            if (c)
                csv_add(&out->text, ",");
            bool text = !IS_NUM(fields[c].type);
            if (c == COL_AREA_NAME_INDEX && tag) {
                cleanup_free char *name = tap_fmt("%s %s", row[c], tag);
                csv_add_field(&out->text, name, true);
            } else {
                csv_add_field(&out->text, row[c], text);
            }
        }
        csv_add(&out->text, "\n");
        out->sales_amount += strtoll(row[COL_SALES_AMOUNT_INDEX], NULL, 10);
        out->sales_count += strtoll(row[COL_SALES_COUNT_INDEX], NULL, 10);
        out->rows++;
    }
    return 0;
}

static json_t *etl_upload_at(suite_t *s, const char *csv, long expect, sca_resp_t *r,
                             const char *file, int line)
{
    sca_send(&s->sca, "POST", "/api/v1/etl/sales", SCA_ADMIN, "text/csv", csv, strlen(csv), r);
    if (r->transport_error || r->status != expect || !r->json) {
        cleanup_free char *got = tap_fmt("%ld %s", r->status, r->error);
        cleanup_free char *want = tap_fmt("%ld with JSON", expect);
        tap_fail(file, line, got, want, "POST /api/v1/etl/sales");
        tap_fail_data("response_body", "%s", r->body ? r->body : "");
        return NULL;
    }
    return r->json;
}
#define etl_upload(s, csv, expect, r) etl_upload_at(s, csv, expect, r, __FILE__, __LINE__)

static void test_etl_pipeline_integration(void *ctx)
{
    suite_t *s = ctx;
    cleanup_free char *tag = tap_fmt("etl-%s", s->sca.marker);
    cleanup_csv csv_t csv;
    if (csv_from_fixture(s, 100, 40, tag, &csv) < 0)
        return;
    TAP_ASSERT_INT_EQ(csv.rows, 40);
    cleanup_sca_resp sca_resp_t r;
    json_t *j = etl_upload(s, csv.text, 200, &r);
    TAP_RETURN_IF_FAILED();
    TAP_ASSERT_INT_EQ(json_integer_value(json_object_get(j, "loaded")), csv.rows);
    TAP_ASSERT_INT_EQ(json_array_size(json_object_get(j, "rejected")), 0);
    json_t *batch = json_object_get(j, "batch_id");
    TAP_ASSERT(json_is_string(batch) || json_is_integer(batch), "no batch_id");
    cleanup_free char *batch_sql = json_is_string(batch)
                                       ? tap_fmt("'%s'", json_string_value(batch))
                                       : tap_fmt("%lld", (long long)json_integer_value(batch));
    /* what landed in etl_sales, counted independently */
    cleanup_free char *q = tap_fmt("SELECT CONCAT(COUNT(*), ' ', SUM(sales_amount), ' ', "
                                   "SUM(sales_count)) FROM %s.etl_sales WHERE batch_id = %s",
                                   s->base_db, batch_sql);
    cleanup_free char *got = suite_sql_str(suite_db(s), q);
    TAP_RETURN_IF_FAILED();
    cleanup_free char *want = tap_fmt("%zu %lld %lld", csv.rows, csv.sales_amount, csv.sales_count);
    TAP_ASSERT_STR_EQ(got, want);
    cleanup_free char *tagged =
        tap_fmt("SELECT COUNT(*) FROM %s.etl_sales WHERE area_name LIKE '%% %s'", s->base_db, tag);
    long long n = suite_sql_int(suite_db(s), tagged);
    TAP_RETURN_IF_FAILED();
    TAP_ASSERT_INT_EQ(n, csv.rows);
    tap_note("batch %s: %s (rows, sales_amount, sales_count)", batch_sql, got);
}

static void test_sql_query_integration(void *ctx)
{
    suite_t *s = ctx;
    cleanup_json json_t *a = sca_analysis(&s->sca, Q_GANGNAM_TOP_INDUSTRY, SCA_READER);
    TAP_RETURN_IF_FAILED();
    TAP_ASSERT(json_is_false(json_object_get(a, "fallback")), "fallback answer: %s",
               json_string_value(json_object_get(a, "message")) ?: "");
    json_t *rows = json_object_get(a, "rows");
    TAP_ASSERT_INT_EQ(json_integer_value(json_object_get(a, "row_count")), json_array_size(rows));
    cleanup_free char *top = suite_sql_str(suite_db(s), SQL_GANGNAM_TOP);
    TAP_RETURN_IF_FAILED();
    tap_note("강남구 top industry: service %s, independent %s",
             json_string_value(json_array_get(json_array_get(rows, 0), 0)) ?: "(none)", top);
    suite_rows_match(rows, suite_db(s), SQL_GANGNAM_TOP);
    TAP_RETURN_IF_FAILED();
    /* the top 10 of all Seoul, row by row */
    cleanup_json json_t *b = sca_analysis(&s->sca, Q_TOP10_INDUSTRIES, SCA_READER);
    TAP_RETURN_IF_FAILED();
    suite_rows_match(json_object_get(b, "rows"), suite_db(s), SQL_TOP10);
}

static void test_rag_data_integration(void *ctx)
{
    suite_t *s = ctx;
    size_t len = 0;
    const unsigned char *pdf = sca_startup_pdf(&len);
    TAP_ASSERT(pdf, "the startup-policy PDF was not built into the suites (fixtures/documents)");
    cleanup_free char *source = tap_fmt("%s-" DOC_STARTUP_SOURCE, s->sca.marker);
    cleanup_free char *path = tap_fmt("/api/v1/documents?source=%s", source);
    cleanup_sca_resp sca_resp_t up;
    sca_send(&s->sca, "POST", path, SCA_ADMIN, "application/pdf", (const char *)pdf, len, &up);
    TAP_ASSERT(up.status == 201 && up.json, "upload: %ld %s %s", up.status, up.error, up.body);
    TAP_ASSERT_STR_EQ(json_string_value(json_object_get(up.json, "source")), source);
    json_int_t pages = json_integer_value(json_object_get(up.json, "pages"));
    json_int_t chunks = json_integer_value(json_object_get(up.json, "chunks"));
    TAP_ASSERT_INT_GE(pages, DOC_STARTUP_PAGE);
#ifdef DOC_STARTUP_PAGES
    TAP_ASSERT_INT_EQ(pages, DOC_STARTUP_PAGES);
#endif
    TAP_ASSERT_INT_GE(chunks, pages);
    /* the question finds the document at its page; our copy is among the hits */
    cleanup_json json_t *req = json_pack("{s:s, s:i}", "query", DOC_STARTUP_QUESTION, "top_k", 20);
    cleanup_json json_t *r =
        sca_call(&s->sca, "POST", "/api/v1/documents/search", SCA_READER, req, 200);
    TAP_RETURN_IF_FAILED();
    json_t *results = json_object_get(r, "results"), *top = json_array_get(results, 0);
    TAP_ASSERT_STR_CONTAINS(json_string_value(json_object_get(top, "source")),
                            SEOUL_STARTUP_SOURCE);
    TAP_ASSERT_INT_EQ(json_integer_value(json_object_get(top, "page")), DOC_STARTUP_PAGE);
    double top_score = json_number_value(json_object_get(top, "score"));
    json_t *ours = NULL;
    size_t i;
    json_t *hit;
    json_array_foreach(results, i, hit)
    {
        if (!ours && strcmp(json_string_value(json_object_get(hit, "source")) ?: "", source) == 0)
            ours = hit;
    }
    TAP_ASSERT(ours, "the uploaded %s is not among the %zu hits", source, json_array_size(results));
    TAP_ASSERT_INT_EQ(json_integer_value(json_object_get(ours, "page")), DOC_STARTUP_PAGE);
    /* the same text scores the same as the top hit */
    TAP_ASSERT_DBL_NEAR(json_number_value(json_object_get(ours, "score")), top_score, 1e-6);
    tap_note("%s: %lld pages, %lld chunks; top hit %s p.%d", source, (long long)pages,
             (long long)chunks, json_string_value(json_object_get(top, "source")),
             DOC_STARTUP_PAGE);
}

static void test_report_data_integration(void *ctx)
{
    suite_t *s = ctx;
    cleanup_free char *q = sca_unique(&s->sca, "report", Q_DISTRICT_TOTALS, NULL);
    cleanup_json json_t *req = json_pack("{s:s}", "question", q);
    cleanup_json json_t *rep = sca_call(&s->sca, "POST", "/api/v1/reports", SCA_READER, req, 201);
    TAP_RETURN_IF_FAILED();
    json_t *table = json_object_get(rep, "table");
    json_t *rows = json_object_get(table, "rows");
    /* the aggregation: 25 자치구 totals, as the fixture gives them */
    suite_rows_match(rows, suite_db(s), SQL_DISTRICT_TOTALS);
    TAP_RETURN_IF_FAILED();
    TAP_ASSERT_INT_EQ(json_array_size(rows), 25);
    TAP_ASSERT_INT_EQ(json_array_size(json_object_get(table, "columns")), 2);
    /* the visualisation: one bar per row, longest bar for the largest total */
    json_t *chart = json_array_get(json_object_get(rep, "charts"), 0);
    const char *svg = json_string_value(json_object_get(chart, "svg"));
    TAP_ASSERT_STR_CONTAINS(svg, "</svg>");
    TAP_ASSERT_INT_EQ(suite_count(svg, "<rect class=\"bar\""), 25);
    /* every row's 자치구 is named in the chart and the markdown */
    const char *md = json_string_value(json_object_get(rep, "markdown"));
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row)
    {
        const char *district = json_string_value(json_array_get(row, 0));
        TAP_ASSERT_STR_CONTAINS(svg, district);
        TAP_ASSERT_STR_CONTAINS(md, district);
    }
}

/* COUNT(*) of one of the service's own tables (through the suite's connection). */
static long long base_count(suite_t *s, const char *table, const char *where)
{
    cleanup_free char *q = tap_fmt("SELECT COUNT(*) FROM %s.%s WHERE %s", s->base_db, table, where);
    return suite_sql_int(suite_db(s), q);
}

static void test_kpi_data_integration(void *ctx)
{
    suite_t *s = ctx;
    /* our own analyses with feedback */
    for (int i = 0; i < 3; i++) {
        cleanup_free char *q = sca_unique(&s->sca, "kpidata", Q_TOTAL_SALES, NULL);
        cleanup_json json_t *a = sca_analysis(&s->sca, q, SCA_READER);
        TAP_RETURN_IF_FAILED();
        json_t *id = json_object_get(a, "id");
        cleanup_free char *idtext = suite_cell_text(id);
        cleanup_free char *path = tap_fmt("/api/v1/analysis/%s/feedback", idtext);
        cleanup_json json_t *fb = json_pack("{s:b}", "correct", i != 1);
        cleanup_json json_t *r = sca_call(&s->sca, "POST", path, SCA_READER, fb, 200);
        TAP_RETURN_IF_FAILED();
        TAP_ASSERT(json_equal(json_object_get(r, "id"), id), "feedback answered another id");
    }
    /* the KPIs equal what the service's own tables say; other suites write at the same time, so
     * read the tables before and after the KPIs and compare when nothing moved */
    static const char *const today = "route = 'analysis' AND time >= UTC_DATE()";
    for (int attempt = 1;; attempt++) {
        long long n0 = base_count(s, "request_log", today),
                  c0 = base_count(s, "analyses", "correct = 1"),
                  w0 = base_count(s, "analyses", "correct = 0");
        TAP_RETURN_IF_FAILED();
        cleanup_json json_t *kpi = sca_call(&s->sca, "GET", "/api/v1/kpi", SCA_READER, NULL, 200);
        TAP_RETURN_IF_FAILED();
        long long n1 = base_count(s, "request_log", today),
                  c1 = base_count(s, "analyses", "correct = 1"),
                  w1 = base_count(s, "analyses", "correct = 0");
        TAP_RETURN_IF_FAILED();
        if ((n0 != n1 || c0 != c1 || w0 != w1) && attempt < 10)
            continue;
        TAP_ASSERT(n0 == n1 && c0 == c1 && w0 == w1,
                   "the service's tables never stood still for one KPI read (10 attempts)");
        TAP_ASSERT_INT_GE(c1, 2);
        TAP_ASSERT_INT_GE(w1, 1);
        TAP_ASSERT_INT_EQ(json_integer_value(json_object_get(kpi, "daily_queries")), n1);
        TAP_ASSERT_DBL_NEAR(json_number_value(json_object_get(kpi, "text_to_sql_accuracy")),
                            (double)c1 / (double)(c1 + w1), 1e-6);
        tap_note("daily_queries %lld; accuracy %lld/%lld (attempt %d)", n1, c1, c1 + w1, attempt);
        break;
    }
}

static void test_cache_data_integration(void *ctx)
{
    suite_t *s = ctx;
    cleanup_free char *q = sca_unique(&s->sca, "cachedata", Q_TOTAL_SALES, NULL);
    cleanup_json json_t *first = sca_analysis(&s->sca, q, SCA_READER);
    TAP_RETURN_IF_FAILED();
    json_t *second = NULL;
    for (int attempt = 0; attempt < 3; attempt++) { /* others may clear the cache meanwhile */
        json_decref(second);
        second = sca_analysis(&s->sca, q, SCA_READER);
        if (!second || json_is_true(json_object_get(second, "cached")))
            break;
    }
    cleanup_json json_t *second_ref = second;
    TAP_RETURN_IF_FAILED();
    TAP_ASSERT(json_is_true(json_object_get(second, "cached")), "asked 3 times, never cached");
    /* consistency: the cached answer is the answer, and both equal the fixture's total */
    TAP_ASSERT(
        json_equal(json_object_get(first, "rows"), json_object_get(second, "rows")) &&
            json_equal(json_object_get(first, "columns"), json_object_get(second, "columns")),
        "the cached answer differs from the computed one");
    suite_rows_match(json_object_get(second, "rows"), suite_db(s), SQL_TOTAL);
    TAP_RETURN_IF_FAILED();
    /* an ETL load invalidates the cache */
    cleanup_free char *tag = tap_fmt("cache-%s", s->sca.marker);
    cleanup_csv csv_t csv;
    if (csv_from_fixture(s, 7, 1, tag, &csv) < 0)
        return;
    cleanup_sca_resp sca_resp_t r;
    etl_upload(s, csv.text, 200, &r);
    TAP_RETURN_IF_FAILED();
    cleanup_json json_t *third = sca_analysis(&s->sca, q, SCA_READER);
    TAP_RETURN_IF_FAILED();
    TAP_ASSERT(json_is_false(json_object_get(third, "cached")), "still cached after an ETL load");
    suite_rows_match(json_object_get(third, "rows"), suite_db(s), SQL_TOTAL);
}

/* The fields f[0..n) joined by commas, with field i replaced (malloc'ed). */
static char *csv_replace(char *const *f, size_t n, size_t i, const char *with)
{
    char *line = tap_fmt("%s", "");
    for (size_t k = 0; k < n; k++) {
        if (k)
            csv_add(&line, ",");
        csv_add(&line, k == i ? with : f[k]);
    }
    return line;
}

static void test_data_validation_integration(void *ctx)
{
    suite_t *s = ctx;
    /* a CSV with one good row and four bad ones: refused whole, each bad line named */
    cleanup_free char *tag = tap_fmt("bad-%s", s->sca.marker);
    cleanup_csv csv_t good;
    if (csv_from_fixture(s, 0, 1, tag, &good) < 0)
        return;
    const char *row = strchr(good.text, '\n') + 1; /* the data line after the header */
    cleanup_free char *line = tap_fmt("%.*s", (int)strcspn(row, "\n"), row);
    /* fields: 0 quarter, 1 district_code, 2 district, ..., 10 sales_amount */
    char *f[40];
    size_t nf = 0;
    cleanup_free char *copy = tap_fmt("%s", line);
    for (char *save = NULL, *t = strtok_r(copy, ",", &save); t && nf < 40;
         t = strtok_r(NULL, ",", &save))
        f[nf++] = t;
    TAP_ASSERT_INT_EQ(nf, 32);
    cleanup_free char *bad_district = csv_replace(f, nf, 2, "\"없는구\"");
    cleanup_free char *neg = tap_fmt("-%s", f[COL_SALES_AMOUNT_INDEX]);
    cleanup_free char *negative = csv_replace(f, nf, COL_SALES_AMOUNT_INDEX, neg);
    cleanup_free char *bad_quarter = csv_replace(f, nf, 0, "20245");
    cleanup_free char *bad_code = csv_replace(f, nf, 1, "11000"); /* not this 자치구's code */
    cleanup_free char *not_number = csv_replace(f, nf, COL_SALES_COUNT_INDEX, "abc");
    cleanup_free char *csv = tap_fmt("%s\n%s\n%s\n%s\n%s\n%s\n%s\n", SALES_COLUMNS, line,
                                     bad_district, negative, bad_quarter, bad_code, not_number);
    cleanup_sca_resp sca_resp_t r;
    json_t *j = etl_upload(s, csv, 422, &r);
    TAP_RETURN_IF_FAILED();
    TAP_ASSERT_STR_EQ(json_string_value(json_object_get(json_object_get(j, "error"), "code")),
                      "validation_error");
    json_t *rejected = json_object_get(j, "rejected");
    static const long want_lines[] = {3, 4, 5, 6, 7}; /* line 1 is the header, 2 the good row */
    TAP_ASSERT_INT_EQ(json_array_size(rejected), TAP_COUNT(want_lines));
    for (size_t i = 0; i < TAP_COUNT(want_lines); i++) {
        json_t *e = json_array_get(rejected, i);
        TAP_ASSERT_INT_EQ(json_integer_value(json_object_get(e, "line")), want_lines[i]);
        const char *reason = json_string_value(json_object_get(e, "reason"));
        TAP_ASSERT(reason && *reason, "line %ld rejected without a reason", want_lines[i]);
        tap_note("line %ld: %s", want_lines[i], reason);
    }
    /* all or nothing: not even the good row was loaded */
    cleanup_free char *q =
        tap_fmt("SELECT COUNT(*) FROM %s.etl_sales WHERE area_name LIKE '%% %s'", s->base_db, tag);
    long long loaded = suite_sql_int(suite_db(s), q);
    TAP_RETURN_IF_FAILED();
    TAP_ASSERT_INT_EQ(loaded, 0);
    /* input validation of questions */
    static const char *const bad_bodies[] = {"{}", "{\"question\":\"\"}", "{\"question\":42}",
                                             "{\"question\": \"강남구"};
    for (size_t i = 0; i < TAP_COUNT(bad_bodies); i++) {
        cleanup_sca_resp sca_resp_t e;
        sca_expect_error(&s->sca, "POST", "/api/v1/analysis/sql", SCA_READER, NULL, bad_bodies[i],
                         strlen(bad_bodies[i]), 400, "validation_error", &e);
        TAP_RETURN_IF_FAILED();
    }
    cleanup_free char *long_q = malloc(1002 * 3 + 32);
    TAP_ASSERT_NOT_NULL(long_q, "out of memory");
    strcpy(long_q, "{\"question\":\"");
    for (int i = 0; i < 1001; i++)
        strcat(long_q, "가");
    strcat(long_q, "\"}");
    cleanup_sca_resp sca_resp_t e;
    sca_expect_error(&s->sca, "POST", "/api/v1/analysis/sql", SCA_READER, NULL, long_q,
                     strlen(long_q), 400, "validation_error", &e);
    TAP_RETURN_IF_FAILED();
    /* business rules of the fixture the service answers from */
    MYSQL *db = suite_db(s);
    long long split =
        suite_sql_int(db, "SELECT COUNT(*) FROM " SEOUL_SALES
                          " WHERE weekday_sales_amount + weekend_sales_amount <> sales_amount");
    long long negative_rows =
        suite_sql_int(db, "SELECT COUNT(*) FROM " SEOUL_SALES " WHERE sales_amount < 0");
    long long wrong_district =
        suite_sql_int(db, "SELECT COUNT(*) FROM " SEOUL_SALES " s JOIN " SEOUL_AREAS
                          " a ON a.area_code = s.area_code WHERE a.district <> s.district OR "
                          "a.district_code <> s.district_code");
    TAP_RETURN_IF_FAILED();
    TAP_ASSERT_INT_EQ(split, 0);
    TAP_ASSERT_INT_EQ(negative_rows, 0);
    TAP_ASSERT_INT_EQ(wrong_district, 0);
}

static void test_data_transformation_integration(void *ctx)
{
    suite_t *s = ctx;
    /* CSV text -> typed rows: every field of every row comes back as sent */
    cleanup_free char *tag = tap_fmt("tf-%s", s->sca.marker);
    cleanup_csv csv_t csv;
    if (csv_from_fixture(s, 2000, 3, tag, &csv) < 0)
        return;
    cleanup_sca_resp sca_resp_t r;
    json_t *j = etl_upload(s, csv.text, 200, &r);
    TAP_RETURN_IF_FAILED();
    TAP_ASSERT_INT_EQ(json_integer_value(json_object_get(j, "loaded")), 3);
    cleanup_free char *q =
        tap_fmt("SELECT " SALES_COLUMNS " FROM %s.etl_sales WHERE area_name LIKE "
                "'%% %s' ORDER BY quarter_code, area_code, industry_code",
                s->base_db, tag);
    cleanup_free char *fixture_q =
        tap_fmt("SELECT " SALES_COLUMNS " FROM " SEOUL_SALES
                " ORDER BY quarter_code, area_code, industry_code LIMIT 2000, 3");
    cleanup_mysql_res MYSQL_RES *loaded = suite_sql_query(suite_db(s), q);
    TAP_RETURN_IF_FAILED();
    cleanup_mysql_res MYSQL_RES *fixture = suite_sql_query(suite_db(s), fixture_q);
    TAP_RETURN_IF_FAILED();
    TAP_ASSERT_INT_EQ(mysql_num_rows(loaded), 3);
    MYSQL_ROW a, b;
    while ((a = mysql_fetch_row(loaded)) && (b = mysql_fetch_row(fixture))) {
        for (unsigned c = 0; c < mysql_num_fields(loaded); c++) {
            cleanup_free char *want =
                c == COL_AREA_NAME_INDEX ? tap_fmt("%s %s", b[c], tag) : tap_fmt("%s", b[c]);
            if (strcmp(a[c] ? a[c] : "NULL", want) != 0)
                tap_fail_data("column", "%s", mysql_fetch_field_direct(loaded, c)->name);
            TAP_ASSERT_STR_EQ(a[c], want);
        }
    }
    /* MySQL DECIMAL averages -> JSON numbers, Korean names intact */
    cleanup_json json_t *avg = sca_analysis(&s->sca, Q_AREA_TYPE_AVG, SCA_READER);
    TAP_RETURN_IF_FAILED();
    json_t *rows = json_object_get(avg, "rows");
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row)
    {
        TAP_ASSERT(json_is_string(json_array_get(row, 0)), "row %zu: area type is not a string", i);
        TAP_ASSERT(json_is_number(json_array_get(row, 1)), "row %zu: the average is not a number",
                   i);
    }
    suite_rows_match(rows, suite_db(s), SQL_AREA_TYPE_AVG);
}

int main(void)
{
    static const tap_test_t tests[] = {
        {"test_etl_pipeline_integration: 40 CSV rows uploaded -> loaded 40; etl_sales count and "
         "sums for the batch equal the CSV's",
         test_etl_pipeline_integration},
        {"test_sql_query_integration: 강남구 top industry and the Seoul top 10 equal independent "
         "queries over the fixture",
         test_sql_query_integration},
        {"test_rag_data_integration: the startup-policy PDF -> pages and chunks -> its question's "
         "top hit at the right page",
         test_rag_data_integration},
        {"test_report_data_integration: 자치구 totals report: table equals the fixture's 25 "
         "totals, 25 bars, names in chart and markdown",
         test_report_data_integration},
        {"test_kpi_data_integration: daily_queries and accuracy equal the service's request_log "
         "and analyses after our feedback",
         test_kpi_data_integration},
        {"test_cache_data_integration: cached answer equals the computed one and the fixture; an "
         "ETL load invalidates it",
         test_cache_data_integration},
        {"test_data_validation_integration: bad CSV lines named, nothing loaded; bad questions "
         "400; the fixture obeys its business rules",
         test_data_validation_integration},
        {"test_data_transformation_integration: CSV fields come back typed and exact; DECIMAL "
         "averages as JSON numbers",
         test_data_transformation_integration},
    };
    return suite_main("data", ENVCONN_NEED_MYSQL | ENVCONN_NEED_LLM, tests, TAP_COUNT(tests));
}
