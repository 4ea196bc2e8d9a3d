/* sca-api: MySQL through libmysqlclient/libmariadb: a small connection pool per user, queries,
 * results as JSON with numbers as numbers, the service's own tables. */
#include <errmsg.h>
#include <mysql.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sca.h"

#define POOL_MAX 8

struct sca_db_pool {
    pthread_mutex_t lock;
    MYSQL *idle[POOL_MAX];
    int n_idle;
    const sca_db_url_t *url;
    int timeout_s, statement_time_ms;
    bool reader;
};

sca_db_pool_t *sca_db_pool_new(const sca_db_url_t *url, int timeout_s, int statement_time_ms,
                               bool reader)
{
    sca_db_pool_t *p = mock_xcalloc(1, sizeof(*p));
    pthread_mutex_init(&p->lock, NULL);
    p->url = url;
    p->timeout_s = timeout_s;
    p->statement_time_ms = statement_time_ms;
    p->reader = reader;
    return p;
}

void sca_db_pool_free(sca_db_pool_t *p)
{
    if (!p)
        return;
    for (int i = 0; i < p->n_idle; i++)
        mysql_close(p->idle[i]);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

bool sca_db_error_is_connection(unsigned err)
{
    return err == CR_CONNECTION_ERROR || err == CR_CONN_HOST_ERROR || err == CR_SERVER_GONE_ERROR ||
           err == CR_SERVER_LOST || err == CR_UNKNOWN_HOST || err == CR_SERVER_LOST_EXTENDED ||
           err == 1040 /* too many connections */ || err == 1053 /* server shutdown */ ||
           err == 2013 || err == 2006 || err == 1927 /* connection killed */;
}

static MYSQL *db_connect(sca_db_pool_t *p, sca_error_t *e)
{
    MYSQL *m = mysql_init(NULL);
    if (!m)
        return sca_fail(e, 503, "database_error", "out of memory"), NULL;
    unsigned t = (unsigned)p->timeout_s;
    mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &t);
    unsigned rt = p->reader ? (unsigned)(p->statement_time_ms / 1000 + p->timeout_s) : t * 10;
    mysql_options(m, MYSQL_OPT_READ_TIMEOUT, &rt);
    mysql_options(m, MYSQL_OPT_WRITE_TIMEOUT, &rt);
    mysql_options(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    if (!mysql_real_connect(m, p->url->host, p->url->user, p->url->password, p->url->database,
                            p->url->port, NULL, 0)) {
        sca_fail(e, 503, "database_error", "database unavailable: %s (user %s at %s:%u)",
                 mysql_error(m), p->url->user, p->url->host, p->url->port);
        mysql_close(m);
        return NULL;
    }
    /* The same reading of the SQL text as the guard's (SQLite): no backslash escapes, "x" is an
     * identifier, || concatenates. The reader's statements get a time limit (MySQL 8:
     * max_execution_time in ms; MariaDB: max_statement_time in s). */
    mysql_query(m, "SET SESSION sql_mode = CONCAT(@@sql_mode, "
                   "',NO_BACKSLASH_ESCAPES,ANSI_QUOTES,PIPES_AS_CONCAT'), time_zone = '+00:00'");
    if (p->reader) {
        char q[128];
        snprintf(q, sizeof(q), "SET SESSION max_execution_time = %d", p->statement_time_ms);
        if (mysql_query(m, q) != 0) {
            snprintf(q, sizeof(q), "SET SESSION max_statement_time = %.3f",
                     p->statement_time_ms / 1000.0);
            mysql_query(m, q);
        }
    }
    return m;
}

MYSQL *sca_db_get(sca_db_pool_t *p, sca_error_t *e)
{
    pthread_mutex_lock(&p->lock);
    MYSQL *m = p->n_idle > 0 ? p->idle[--p->n_idle] : NULL;
    pthread_mutex_unlock(&p->lock);
    if (m && mysql_ping(m) != 0) { /* the server restarted or closed an idle connection */
        mysql_close(m);
        m = NULL;
    }
    return m ? m : db_connect(p, e);
}

void sca_db_put(sca_db_pool_t *p, MYSQL *m, bool broken)
{
    if (!m)
        return;
    pthread_mutex_lock(&p->lock);
    if (!broken && p->n_idle < POOL_MAX) {
        p->idle[p->n_idle++] = m;
        m = NULL;
    }
    pthread_mutex_unlock(&p->lock);
    if (m)
        mysql_close(m);
}

static int db_fail(MYSQL *m, sca_error_t *e)
{
    unsigned err = mysql_errno(m);
    if (sca_db_error_is_connection(err))
        return sca_fail(e, 503, "database_error", "database unavailable: %s", mysql_error(m));
    return sca_fail(e, 500, "database_error", "database error %u: %s", err, mysql_error(m));
}

int sca_db_exec(MYSQL *m, const char *q, sca_error_t *e)
{
    if (mysql_query(m, q) != 0)
        return db_fail(m, e);
    MYSQL_RES *r = mysql_store_result(m);
    if (r)
        mysql_free_result(r);
    return 0;
}

static bool is_integer_type(enum enum_field_types t)
{
    return t == MYSQL_TYPE_TINY || t == MYSQL_TYPE_SHORT || t == MYSQL_TYPE_LONG ||
           t == MYSQL_TYPE_INT24 || t == MYSQL_TYPE_LONGLONG || t == MYSQL_TYPE_YEAR;
}

static bool is_number_type(enum enum_field_types t)
{
    return is_integer_type(t) || t == MYSQL_TYPE_DECIMAL || t == MYSQL_TYPE_NEWDECIMAL ||
           t == MYSQL_TYPE_FLOAT || t == MYSQL_TYPE_DOUBLE;
}

/* A value as JSON: integers (and decimals without a fraction) as integers when they fit,
 * other numbers as reals, NULL as null, the rest as strings. */
static json_t *value_json(const MYSQL_FIELD *f, const char *v, unsigned long len)
{
    if (!v)
        return json_null();
    if (is_number_type(f->type)) {
        char *end = NULL;
        if (!memchr(v, '.', len) && !memchr(v, 'e', len) && !memchr(v, 'E', len)) {
            errno = 0;
            long long n = strtoll(v, &end, 10);
            if (errno == 0 && end && *end == '\0')
                return json_integer(n);
        }
        double d = strtod(v, &end);
        if (end && *end == '\0')
            return json_real(d);
    }
    json_t *s = json_stringn(v, len);
    return s ? s : json_null(); /* not UTF-8 (binary): null rather than a broken document */
}

json_t *sca_db_select(MYSQL *m, const char *q, sca_error_t *e)
{
    if (mysql_query(m, q) != 0) {
        db_fail(m, e);
        return NULL;
    }
    MYSQL_RES *res = mysql_store_result(m);
    if (!res) {
        if (mysql_errno(m)) {
            db_fail(m, e);
            return NULL;
        }
        return json_pack("{s:[],s:[]}", "columns", "rows");
    }
    unsigned nf = mysql_num_fields(res);
    MYSQL_FIELD *fields = mysql_fetch_fields(res);
    json_t *cols = json_array();
    for (unsigned i = 0; i < nf; i++) {
        json_t *name = json_string(fields[i].name);
        json_array_append_new(cols, name ? name : json_string("?"));
    }
    json_t *rows = json_array();
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(res))) {
        unsigned long *lens = mysql_fetch_lengths(res);
        json_t *r = json_array();
        for (unsigned i = 0; i < nf; i++)
            json_array_append_new(r, value_json(&fields[i], row[i], lens[i]));
        json_array_append_new(rows, r);
    }
    mysql_free_result(res);
    return json_pack("{s:o,s:o}", "columns", cols, "rows", rows);
}

char *sca_db_quote(MYSQL *m, const char *s, size_t len)
{
    char *out = mock_xmalloc(len * 2 + 3);
    out[0] = '\'';
    unsigned long n = mysql_real_escape_string(m, out + 1, s, (unsigned long)len);
    out[n + 1] = '\'';
    out[n + 2] = '\0';
    return out;
}

/* The service's own tables (the read-write user). etl_sales mirrors seoul_sales + batch_id. */
static const char *const migrations[] = {
    "CREATE TABLE IF NOT EXISTS audit_log ("
    " id BIGINT AUTO_INCREMENT PRIMARY KEY, time DATETIME(3) NOT NULL, role VARCHAR(16) NOT NULL,"
    " method VARCHAR(16) NOT NULL, path VARCHAR(512) NOT NULL, status INT NOT NULL,"
    " elapsed_ms DOUBLE NOT NULL, KEY idx_audit_time (time)) DEFAULT CHARSET=utf8mb4",
    "CREATE TABLE IF NOT EXISTS request_log ("
    " id BIGINT AUTO_INCREMENT PRIMARY KEY, time DATETIME(3) NOT NULL, role VARCHAR(16) NOT NULL,"
    " route VARCHAR(64) NOT NULL, status INT NOT NULL, elapsed_ms DOUBLE NOT NULL,"
    " KEY idx_request_route_time (route, time)) DEFAULT CHARSET=utf8mb4",
    "CREATE TABLE IF NOT EXISTS analyses ("
    " id VARCHAR(40) PRIMARY KEY, time DATETIME(3) NOT NULL, question TEXT NOT NULL,"
    " `sql` TEXT NULL, row_count INT NOT NULL, fallback TINYINT NOT NULL,"
    " correct TINYINT NULL) DEFAULT CHARSET=utf8mb4",
    "CREATE TABLE IF NOT EXISTS reports ("
    " id VARCHAR(40) PRIMARY KEY, time DATETIME(3) NOT NULL, question TEXT NOT NULL,"
    " citations INT NOT NULL, body LONGTEXT NOT NULL) DEFAULT CHARSET=utf8mb4",
    "CREATE TABLE IF NOT EXISTS settings ("
    " name VARCHAR(64) PRIMARY KEY, value TEXT NOT NULL) DEFAULT CHARSET=utf8mb4",
    "CREATE TABLE IF NOT EXISTS etl_sales ("
    " batch_id VARCHAR(40) NOT NULL, quarter_code INT NOT NULL, district_code INT NOT NULL,"
    " district VARCHAR(10) NOT NULL, area_type_code CHAR(1) NOT NULL,"
    " area_type VARCHAR(10) NOT NULL, area_code INT NOT NULL, area_name VARCHAR(80) NOT NULL,"
    " industry_code CHAR(8) NOT NULL, industry_name VARCHAR(40) NOT NULL,"
    " category VARCHAR(10) NOT NULL, sales_amount BIGINT UNSIGNED NOT NULL,"
    " sales_count INT UNSIGNED NOT NULL, weekday_sales_amount BIGINT UNSIGNED NOT NULL,"
    " weekend_sales_amount BIGINT UNSIGNED NOT NULL, weekday_sales_count INT UNSIGNED NOT NULL,"
    " weekend_sales_count INT UNSIGNED NOT NULL, time_00_06_sales_amount BIGINT UNSIGNED NOT NULL,"
    " time_06_11_sales_amount BIGINT UNSIGNED NOT NULL,"
    " time_11_14_sales_amount BIGINT UNSIGNED NOT NULL,"
    " time_14_17_sales_amount BIGINT UNSIGNED NOT NULL,"
    " time_17_21_sales_amount BIGINT UNSIGNED NOT NULL,"
    " time_21_24_sales_amount BIGINT UNSIGNED NOT NULL, male_sales_amount BIGINT UNSIGNED NOT NULL,"
    " female_sales_amount BIGINT UNSIGNED NOT NULL, male_sales_count INT UNSIGNED NOT NULL,"
    " female_sales_count INT UNSIGNED NOT NULL, age_10_sales_amount BIGINT UNSIGNED NOT NULL,"
    " age_20_sales_amount BIGINT UNSIGNED NOT NULL, age_30_sales_amount BIGINT UNSIGNED NOT NULL,"
    " age_40_sales_amount BIGINT UNSIGNED NOT NULL, age_50_sales_amount BIGINT UNSIGNED NOT NULL,"
    " age_60_above_sales_amount BIGINT UNSIGNED NOT NULL, KEY idx_etl_batch (batch_id))"
    " DEFAULT CHARSET=utf8mb4",
};

int sca_db_migrate(MYSQL *m, sca_error_t *e)
{
    for (size_t i = 0; i < sizeof(migrations) / sizeof(migrations[0]); i++)
        if (sca_db_exec(m, migrations[i], e) < 0)
            return -1;
    return 0;
}
