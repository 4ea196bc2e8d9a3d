/* sca-api: the SQL guard. The LLM's SQL is parsed by SQLite's real parser against an in-memory
 * database holding the allowed tables' schema; an authorizer allows reading those tables, SELECT
 * and a whitelist of functions, and nothing else. What SQLite cannot parse is refused (MySQL-only
 * syntax included): the guard is never weakened to let it through.
 *
 * Accepted: exactly one read-only SELECT (or WITH ... SELECT) over seoul_sales, seoul_areas,
 * seoul_industries, no comments, no backslashes, no parameters, no second statement.
 * The caller then runs it in MySQL as SELECT * FROM (<sql>) AS q LIMIT n, as a read-only user,
 * with a statement time limit, in a session whose sql_mode reads strings as SQLite does
 * (NO_BACKSLASH_ESCAPES, ANSI_QUOTES, PIPES_AS_CONCAT).
 */
#include <ctype.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sca.h"

struct sca_guard {
    pthread_mutex_t lock;
    sqlite3 *db;
    char denied[256]; /* what the authorizer refused last (under lock) */
};

static const char *const allowed_tables[] = {"seoul_sales", "seoul_areas", "seoul_industries"};

/* SQLite's own functions that are safe and mean the same in MySQL. */
static const char *const allowed_functions[] = {
    "count",    "sum",    "avg",    "min",   "max",   "round",       "abs",
    "coalesce", "ifnull", "nullif", "lower", "upper", "length",      "substr",
    "replace",  "trim",   "ltrim",  "rtrim", "instr", "group_concat"};

/* MySQL functions SQLite lacks: registered as stubs so that the parser knows them (never run). */
static const struct {
    const char *name;
    int args;
} mysql_functions[] = {{"floor", 1},    {"ceil", 1},        {"ceiling", 1}, {"if", 3},
                       {"concat", -1},  {"char_length", 1}, {"left", 2},    {"right", 2},
                       {"truncate", 2}, {"greatest", -1},   {"least", -1},  {"substring", -1}};

/* The allowed tables (columns as in fixtures/seoul/schema.sql; types do not matter here). */
static const char schema[] =
    "CREATE TABLE seoul_industries (industry_code, industry_name, category_code, category);"
    "CREATE TABLE seoul_areas (area_code, area_name, area_type_code, area_type, district_code,"
    " district);"
    "CREATE TABLE seoul_sales (quarter_code, district_code, district, area_type_code, area_type,"
    " area_code, area_name, industry_code, industry_name, category, sales_amount, sales_count,"
    " weekday_sales_amount, weekend_sales_amount, weekday_sales_count, weekend_sales_count,"
    " time_00_06_sales_amount, time_06_11_sales_amount, time_11_14_sales_amount,"
    " time_14_17_sales_amount, time_17_21_sales_amount, time_21_24_sales_amount,"
    " male_sales_amount, female_sales_amount, male_sales_count, female_sales_count,"
    " age_10_sales_amount, age_20_sales_amount, age_30_sales_amount, age_40_sales_amount,"
    " age_50_sales_amount, age_60_above_sales_amount);";

static void stub_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    (void)argv;
    sqlite3_result_null(ctx);
}

static bool in_list(const char *name, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (name && strcasecmp(name, list[i]) == 0)
            return true;
    return false;
}

static bool mysql_function(const char *name)
{
    for (size_t i = 0; i < sizeof(mysql_functions) / sizeof(mysql_functions[0]); i++)
        if (name && strcasecmp(name, mysql_functions[i].name) == 0)
            return true;
    return false;
}

static int authorize(void *user, int action, const char *a1, const char *a2, const char *db,
                     const char *trigger)
{
    (void)trigger;
    sca_guard_t *g = user;
    switch (action) {
    case SQLITE_SELECT:
        return SQLITE_OK;
    case SQLITE_READ:
        if ((!db || strcmp(db, "main") == 0) &&
            in_list(a1, allowed_tables, sizeof(allowed_tables) / sizeof(allowed_tables[0])))
            return SQLITE_OK;
        snprintf(g->denied, sizeof(g->denied),
                 "table %s%s%s is not one of seoul_sales, "
                 "seoul_areas, seoul_industries",
                 db && strcmp(db, "main") ? db : "", db && strcmp(db, "main") ? "." : "",
                 a1 ? a1 : "?");
        return SQLITE_DENY;
    case SQLITE_FUNCTION:
        if (in_list(a2, allowed_functions,
                    sizeof(allowed_functions) / sizeof(allowed_functions[0])) ||
            mysql_function(a2))
            return SQLITE_OK;
        snprintf(g->denied, sizeof(g->denied), "function %s() is not allowed", a2 ? a2 : "?");
        return SQLITE_DENY;
    default:
        snprintf(g->denied, sizeof(g->denied), "operation %d is not a read (only SELECT)", action);
        return SQLITE_DENY;
    }
}

sca_guard_t *sca_guard_new(void)
{
    sca_guard_t *g = mock_xcalloc(1, sizeof(*g));
    pthread_mutex_init(&g->lock, NULL);
    if (sqlite3_open_v2(":memory:", &g->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
            SQLITE_OK ||
        sqlite3_exec(g->db, schema, NULL, NULL, NULL) != SQLITE_OK) {
        sca_guard_free(g);
        return NULL;
    }
    /* "x" is an identifier only (as under MySQL's ANSI_QUOTES), never a string */
    sqlite3_db_config(g->db, SQLITE_DBCONFIG_DQS_DML, 0, (void *)0);
    sqlite3_db_config(g->db, SQLITE_DBCONFIG_DQS_DDL, 0, (void *)0);
    sqlite3_db_config(g->db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, (void *)0);
    sqlite3_db_config(g->db, SQLITE_DBCONFIG_DEFENSIVE, 1, (void *)0);
    sqlite3_db_config(g->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, (void *)0);
    for (size_t i = 0; i < sizeof(mysql_functions) / sizeof(mysql_functions[0]); i++)
        sqlite3_create_function(g->db, mysql_functions[i].name, mysql_functions[i].args,
                                SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL, stub_fn, NULL, NULL);
    sqlite3_limit(g->db, SQLITE_LIMIT_SQL_LENGTH, 20000);
    sqlite3_limit(g->db, SQLITE_LIMIT_EXPR_DEPTH, 100);
    sqlite3_limit(g->db, SQLITE_LIMIT_COMPOUND_SELECT, 10);
    sqlite3_set_authorizer(g->db, authorize, g);
    return g;
}

void sca_guard_free(sca_guard_t *g)
{
    if (!g)
        return;
    sqlite3_close(g->db);
    pthread_mutex_destroy(&g->lock);
    free(g);
}

static int refuse(char *reason, size_t len, const char *msg)
{
    snprintf(reason, len, "%s", msg);
    return -1;
}

/* The first keyword (after opening parentheses) is SELECT or WITH. */
static bool starts_with_select(const char *s)
{
    while (isspace((unsigned char)*s) || *s == '(')
        s++;
    return strncasecmp(s, "select", 6) == 0 || strncasecmp(s, "with", 4) == 0;
}

int sca_guard_check(sca_guard_t *g, const char *sql, char **clean, char *reason, size_t reasonlen)
{
    *clean = NULL;
    if (!sql || !*sql)
        return refuse(reason, reasonlen, "no SQL in the answer");
    size_t len = strlen(sql);
    if (len > 10000)
        return refuse(reason, reasonlen, "the SQL is longer than 10000 bytes");
    /* Comments first: MySQL reads #, "-- " and its executable comments differently from SQLite. */
    if (strstr(sql, "--") || strchr(sql, '#') || strstr(sql, "/*") || strstr(sql, "*/"))
        return refuse(reason, reasonlen, "comments are not allowed (--, #, /* */)");
    if (strchr(sql, '\\'))
        return refuse(reason, reasonlen, "backslashes are not allowed");
    if (!starts_with_select(sql))
        return refuse(reason, reasonlen, "only one SELECT statement is allowed");
    pthread_mutex_lock(&g->lock);
    g->denied[0] = '\0';
    sqlite3_stmt *st = NULL;
    const char *tail = NULL;
    int rc = sqlite3_prepare_v2(g->db, sql, (int)len, &st, &tail);
    int result = 0;
    if (rc != SQLITE_OK) {
        if (g->denied[0])
            snprintf(reason, reasonlen, "%s", g->denied);
        else
            snprintf(reason, reasonlen, "not a statement the guard can parse: %s",
                     sqlite3_errmsg(g->db));
        result = -1;
    } else if (!st) {
        result = refuse(reason, reasonlen, "no SQL statement");
    } else if (tail && tail[strspn(tail, " \t\r\n")] != '\0') {
        result = refuse(reason, reasonlen, "more than one statement (text after the first ';')");
    } else if (!sqlite3_stmt_readonly(st)) {
        result = refuse(reason, reasonlen, "the statement is not read-only");
    } else if (sqlite3_bind_parameter_count(st) > 0) {
        result = refuse(reason, reasonlen,
                        "parameters and variables (?, :x, @x, $x) are not "
                        "allowed");
    } else if (sqlite3_column_count(st) == 0) {
        result = refuse(reason, reasonlen, "the statement returns no columns");
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&g->lock);
    if (result < 0)
        return -1;
    /* the statement without the trailing ';' and whitespace */
    size_t end = (size_t)(tail - sql);
    while (end > 0 && (isspace((unsigned char)sql[end - 1]) || sql[end - 1] == ';'))
        end--;
    *clean = mock_xstrndup(sql, end);
    return 0;
}
