/* sca-api: POST /api/v1/etl/sales: a CSV in the fixture's seoul_sales.csv format (libcsv),
 * validated row by row, loaded into etl_sales in one transaction: all rows or none. */
#include <csv.h>
#include <mysql.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sca.h"

#define NCOLS 32
#define REJECTED_MAX 100

void sca_new_id(const char *prefix, char *out, size_t len);

static const char *const columns[NCOLS] = {"quarter_code",
                                           "district_code",
                                           "district",
                                           "area_type_code",
                                           "area_type",
                                           "area_code",
                                           "area_name",
                                           "industry_code",
                                           "industry_name",
                                           "category",
                                           "sales_amount",
                                           "sales_count",
                                           "weekday_sales_amount",
                                           "weekend_sales_amount",
                                           "weekday_sales_count",
                                           "weekend_sales_count",
                                           "time_00_06_sales_amount",
                                           "time_06_11_sales_amount",
                                           "time_11_14_sales_amount",
                                           "time_14_17_sales_amount",
                                           "time_17_21_sales_amount",
                                           "time_21_24_sales_amount",
                                           "male_sales_amount",
                                           "female_sales_amount",
                                           "male_sales_count",
                                           "female_sales_count",
                                           "age_10_sales_amount",
                                           "age_20_sales_amount",
                                           "age_30_sales_amount",
                                           "age_40_sales_amount",
                                           "age_50_sales_amount",
                                           "age_60_above_sales_amount"};

static const struct {
    int code;
    const char *name;
} districts[25] = {{11110, "종로구"},   {11140, "중구"},     {11170, "용산구"},   {11200, "성동구"},
                   {11215, "광진구"},   {11230, "동대문구"}, {11260, "중랑구"},   {11290, "성북구"},
                   {11305, "강북구"},   {11320, "도봉구"},   {11350, "노원구"},   {11380, "은평구"},
                   {11410, "서대문구"}, {11440, "마포구"},   {11470, "양천구"},   {11500, "강서구"},
                   {11530, "구로구"},   {11545, "금천구"},   {11560, "영등포구"}, {11590, "동작구"},
                   {11620, "관악구"},   {11650, "서초구"},   {11680, "강남구"},   {11710, "송파구"},
                   {11740, "강동구"}};

typedef struct parse_state {
    json_t *fields; /* the current record */
    sca_etl_rows_t *out;
    long line;
    bool header_checked;
} parse_state_t;

static void reject(parse_state_t *st, const char *fmt, ...) SCA_PRINTF(2, 3);
static void reject(parse_state_t *st, const char *fmt, ...)
{
    if (json_array_size(st->out->rejected) >= REJECTED_MAX)
        return;
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    json_t *m = json_string(msg);
    json_array_append_new(st->out->rejected, json_pack("{s:I,s:o}", "line", (json_int_t)st->line,
                                                       "reason", m ? m : json_string("?")));
}

static bool parse_uint(const char *s, unsigned long long *out)
{
    if (!*s || strspn(s, "0123456789") != strlen(s) || strlen(s) > 19)
        return false;
    *out = strtoull(s, NULL, 10);
    return true;
}

static void field_cb(void *data, size_t len, void *user)
{
    parse_state_t *st = user;
    json_t *s = json_stringn(data ? data : "", len);
    json_array_append_new(st->fields, s ? s : json_null()); /* null: not UTF-8 */
}

static void check_row(parse_state_t *st)
{
    json_t *f = st->fields;
    if (json_array_size(f) != NCOLS) {
        reject(st, "%zu fields, expected %d", json_array_size(f), NCOLS);
        return;
    }
    for (int c = 0; c < NCOLS; c++)
        if (!json_is_string(json_array_get(f, (size_t)c))) {
            reject(st, "%s: not valid UTF-8", columns[c]);
            return;
        }
#define FIELD(i) json_string_value(json_array_get(f, (i)))
    unsigned long long v;
    for (int c = 0; c < NCOLS; c++) {
        bool numeric = c == 0 || c == 1 || c == 5 || c >= 10;
        if (numeric && !parse_uint(FIELD((size_t)c), &v)) {
            const char *s = FIELD((size_t)c);
            if (c >= 10 && s[0] == '-' && parse_uint(s + 1, &v))
                reject(st, "%s: negative value %s", columns[c], s);
            else
                reject(st, "%s: '%.40s' is not a non-negative integer", columns[c], s);
            return;
        }
        if (!numeric && FIELD((size_t)c)[0] == '\0') {
            reject(st, "%s: empty", columns[c]);
            return;
        }
    }
    parse_uint(FIELD(0), &v);
    if (v < 20000 || v > 21004 || v % 10 < 1 || v % 10 > 4) {
        reject(st, "quarter_code: %s is not a quarter (YYYYQ, Q 1-4)", FIELD(0));
        return;
    }
    unsigned long long code;
    parse_uint(FIELD(1), &code);
    const char *name = FIELD(2);
    int found = -1;
    for (int i = 0; i < 25; i++)
        if (strcmp(districts[i].name, name) == 0)
            found = i;
    if (found < 0) {
        reject(st, "district: '%.40s' is not one of Seoul's 25 자치구", name);
        return;
    }
    if ((unsigned long long)districts[found].code != code) {
        reject(st, "district_code: %s does not match %s (%d)", FIELD(1), name,
               districts[found].code);
        return;
    }
    if (strlen(FIELD(7)) != 8) {
        reject(st, "industry_code: '%.40s' is not 8 characters", FIELD(7));
        return;
    }
#undef FIELD
    json_array_append_new(st->out->rows, json_copy(f)); /* f is reused for the next record */
}

static void record_cb(int term, void *user)
{
    (void)term;
    parse_state_t *st = user;
    st->line++;
    if (!st->header_checked) {
        st->header_checked = true;
        bool ok = json_array_size(st->fields) == NCOLS;
        for (size_t c = 0; ok && c < NCOLS; c++) {
            const char *h = json_string_value(json_array_get(st->fields, c));
            ok = h && strcmp(h, columns[c]) == 0;
        }
        if (!ok)
            reject(st, "header: expected the columns of seoul_sales.csv (%s,%s,...,%s)", columns[0],
                   columns[1], columns[NCOLS - 1]);
    } else {
        check_row(st);
    }
    json_array_clear(st->fields);
}

int sca_etl_parse(const char *csv, size_t len, sca_etl_rows_t *out, char *err, size_t errlen)
{
    out->rows = json_array();
    out->rejected = json_array();
    struct csv_parser p;
    if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL | CSV_EMPTY_IS_NULL) != 0)
        return snprintf(err, errlen, "out of memory"), -1;
    parse_state_t st = {.fields = json_array(), .out = out};
    size_t n = csv_parse(&p, csv, len, field_cb, record_cb, &st);
    int rc = 0;
    if (n != len || csv_fini(&p, field_cb, record_cb, &st) != 0) {
        snprintf(err, errlen, "line %ld: malformed CSV: %s", st.line + 1,
                 csv_strerror(csv_error(&p)));
        rc = -1;
    } else if (!st.header_checked) {
        snprintf(err, errlen, "the CSV is empty (expected a header line)");
        rc = -1;
    }
    csv_free(&p);
    json_decref(st.fields);
    return rc;
}

static int load(sca_app_t *app, const char *batch, json_t *rows, sca_error_t *e)
{
    MYSQL *m = sca_db_get(app->db, e);
    if (!m)
        return -1;
    int rc = sca_db_exec(m, "START TRANSACTION", e);
    size_t nrows = json_array_size(rows);
    for (size_t start = 0; rc == 0 && start < nrows; start += 500) {
        mock_buf_t q = MOCK_BUF_INIT;
        mock_buf_adds(&q, "INSERT INTO etl_sales (batch_id");
        for (int c = 0; c < NCOLS; c++)
            mock_buf_addf(&q, ", %s", columns[c]);
        mock_buf_adds(&q, ") VALUES ");
        for (size_t r = start; r < nrows && r < start + 500; r++) {
            json_t *row = json_array_get(rows, r);
            mock_buf_addf(&q, "%s('%s'", r > start ? "," : "", batch);
            for (size_t c = 0; c < NCOLS; c++) {
                const char *v = json_string_value(json_array_get(row, c));
                char *quoted = sca_db_quote(m, v, strlen(v));
                mock_buf_addf(&q, ",%s", quoted);
                free(quoted);
            }
            mock_buf_adds(&q, ")");
        }
        rc = sca_db_exec(m, q.data, e);
        mock_buf_free(&q);
    }
    if (rc == 0)
        rc = sca_db_exec(m, "COMMIT", e);
    if (rc != 0) {
        sca_error_t ignored;
        sca_db_exec(m, "ROLLBACK", &ignored);
    }
    sca_db_put(app->db, m, rc != 0);
    return rc;
}

void sca_route_etl(sca_job_t *job)
{
    sca_error_t e = {0};
    sca_etl_rows_t rows = {0};
    char err[256];
    if (sca_etl_parse(job->body, job->body_len, &rows, err, sizeof(err)) < 0) {
        json_decref(rows.rows);
        job->status = 422;
        job->reply = sca_error_json("validation_error", err);
        json_object_set_new(job->reply, "rejected", rows.rejected);
        return;
    }
    if (json_array_size(rows.rejected) > 0) {
        job->status = 422;
        job->reply =
            sca_error_json("validation_error", "the CSV has invalid rows: nothing was loaded");
        json_object_set(job->reply, "rejected", rows.rejected);
        json_decref(rows.rows);
        json_decref(rows.rejected);
        return;
    }
    char batch[48];
    sca_new_id("etl", batch, sizeof(batch));
    size_t n = json_array_size(rows.rows);
    int rc = n > 0 ? load(job->app, batch, rows.rows, &e) : 0;
    json_decref(rows.rows);
    if (rc < 0) {
        json_decref(rows.rejected);
        sca_job_error(job, &e);
        return;
    }
    sca_cache_clear(job->app->cache); /* the data changed */
    job->status = 200;
    job->reply = json_pack("{s:s,s:I,s:o}", "batch_id", batch, "loaded", (json_int_t)n, "rejected",
                           rows.rejected);
}
