/* sca-api: text-to-SQL analysis, feedback, document search (run on pool threads). */
#include <mysql.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "sca.h"

void sca_new_id(const char *prefix, char *out, size_t len);
void sca_new_id(const char *prefix, char *out, size_t len)
{
    unsigned char b[12];
    if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
        memset(b, 0, sizeof(b));
    char hex[25];
    for (size_t i = 0; i < sizeof(b); i++)
        snprintf(hex + 2 * i, 3, "%02x", b[i]);
    snprintf(out, len, "%s_%s", prefix, hex);
}

static double ms_since(uint64_t t0)
{
    return (double)(uv_hrtime() - t0) / 1e6;
}

/* Checks {"question"}: a non-empty string of at most SCA_QUESTION_MAX characters. */
static const char *question_of(const json_t *input, sca_error_t *e)
{
    json_t *q = json_object_get(input, "question");
    if (!q)
        return sca_fail(e, 400, "validation_error", "question: missing"), NULL;
    if (!json_is_string(q))
        return sca_fail(e, 400, "validation_error", "question: must be a string"), NULL;
    const char *s = json_string_value(q);
    if (s[strspn(s, " \t\r\n")] == '\0')
        return sca_fail(e, 400, "validation_error", "question: must not be empty"), NULL;
    size_t chars = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        chars += (*p & 0xC0) != 0x80;
    if (chars > SCA_QUESTION_MAX)
        return sca_fail(e, 400, "validation_error",
                        "question: %zu characters, at most %d are allowed", chars,
                        SCA_QUESTION_MAX),
               NULL;
    return s;
}

/* Stores the analysis (for feedback and the KPIs). */
static int record_analysis(sca_app_t *app, const char *id, const char *question, const char *sql,
                           size_t rows, bool fallback, sca_error_t *e)
{
    MYSQL *m = sca_db_get(app->db, e);
    if (!m)
        return -1;
    char *q = sca_db_quote(m, question, strlen(question));
    char *s = sql ? sca_db_quote(m, sql, strlen(sql)) : mock_xstrdup("NULL");
    size_t n = strlen(q) + strlen(s) + 256;
    char *stmt = mock_xmalloc(n);
    snprintf(stmt, n,
             "INSERT INTO analyses (id, time, question, `sql`, row_count, fallback) VALUES "
             "('%s', UTC_TIMESTAMP(3), %s, %s, %zu, %d)",
             id, q, s, rows, fallback ? 1 : 0);
    int rc = sca_db_exec(m, stmt, e);
    sca_db_put(app->db, m, rc < 0);
    free(stmt);
    free(q);
    free(s);
    return rc;
}

/* The cached reply under key, marked "cached": true, or NULL. */
static json_t *cache_hit(sca_app_t *app, const char *key)
{
    char *hit = sca_cache_get(app->cache, key);
    json_t *doc = hit ? json_loads(hit, 0, NULL) : NULL;
    free(hit);
    if (doc)
        json_object_set_new(doc, "cached", json_true());
    return doc;
}

/* Caches a reply under key (freed here) for ttl_s seconds. */
static void cache_reply(sca_app_t *app, char *key, const json_t *reply, int ttl_s)
{
    char *text = json_dumps(reply, JSON_COMPACT);
    if (text)
        sca_cache_put(app->cache, key, text, ttl_s);
    free(text);
    free(key);
}

json_t *sca_analysis_run(sca_app_t *app, const char *question, bool use_cache, sca_error_t *e)
{
    uint64_t t0 = uv_hrtime();
    size_t klen = strlen(question) + 8;
    char *key = mock_xmalloc(klen);
    snprintf(key, klen, "sql:%s", question);
    json_t *doc = use_cache ? cache_hit(app, key) : NULL;
    if (doc) {
        free(key);
        json_object_set_new(doc, "elapsed_ms", json_real(ms_since(t0)));
        return doc;
    }
    char id[48];
    sca_new_id("an", id, sizeof(id));
    char *sql = NULL;
    sca_error_t le = {0};
    int rc = sca_llm_sql(app, question, &sql, &le);
    if (rc == 1) {
        /* the LLM is down, timed out or answered garbage: a fallback answer, no rows */
        free(key);
        sca_error_t ignored = {0};
        record_analysis(app, id, question, NULL, 0, true, &ignored);
        return json_pack("{s:s,s:s,s:n,s:[],s:[],s:i,s:f,s:b,s:b,s:s}", "id", id, "question",
                         question, "sql", "columns", "rows", "row_count", 0, "elapsed_ms",
                         ms_since(t0), "cached", 0, "fallback", 1, "message", le.message);
    }
    char *clean = NULL;
    char reason[256];
    if (sca_guard_check(app->guard, sql, &clean, reason, sizeof(reason)) < 0) {
        free(sql);
        free(key);
        sca_fail(e, 422, "unsafe_sql", "the generated SQL was refused: %s", reason);
        return NULL;
    }
    free(sql);
    sca_settings_t s = sca_app_settings(app);
    size_t qlen = strlen(clean) + 96;
    char *q = mock_xmalloc(qlen);
    snprintf(q, qlen, "SELECT * FROM (%s) AS q LIMIT %d", clean, s.row_limit);
    MYSQL *m = sca_db_get(app->reader, e);
    json_t *result = NULL;
    if (m) {
        result = sca_db_select(m, q, e);
        bool broken = !result && e->status == 503;
        if (!result && e->status != 503) {
            /* MySQL refused the statement (syntax the guard's parser accepts but MySQL does
             * not, a missing privilege, the time limit) */
            unsigned err = mysql_errno(m);
            char msg[sizeof(e->message)];
            snprintf(msg, sizeof(msg), "%s", e->message);
            sca_fail(e, 422, err == 1142 || err == 1143 ? "unsafe_sql" : "sql_error",
                     "the generated SQL failed: %s", msg);
        }
        sca_db_put(app->reader, m, broken);
    }
    free(q);
    if (!result) {
        free(clean);
        free(key);
        return NULL;
    }
    size_t nrows = json_array_size(json_object_get(result, "rows"));
    if (record_analysis(app, id, question, clean, nrows, false, e) < 0) {
        json_decref(result);
        free(clean);
        free(key);
        return NULL;
    }
    json_t *reply = json_pack(
        "{s:s,s:s,s:s,s:O,s:O,s:I,s:f,s:b,s:b}", "id", id, "question", question, "sql", clean,
        "columns", json_object_get(result, "columns"), "rows", json_object_get(result, "rows"),
        "row_count", (json_int_t)nrows, "elapsed_ms", ms_since(t0), "cached", 0, "fallback", 0);
    json_decref(result);
    free(clean);
    cache_reply(app, key, reply, s.cache_ttl_s);
    return reply;
}

json_t *sca_job_analysis(sca_job_t *job, const char **question_out)
{
    sca_error_t e = {0};
    const char *question = question_of(job->input, &e);
    json_t *r = question ? sca_analysis_run(job->app, question, true, &e) : NULL;
    if (!r)
        sca_job_error(job, &e);
    if (question_out)
        *question_out = question;
    return r;
}

void sca_route_analysis(sca_job_t *job)
{
    json_t *r = sca_job_analysis(job, NULL);
    if (r) {
        job->status = 200;
        job->reply = r;
    }
}

void sca_route_feedback(sca_job_t *job)
{
    sca_error_t e = {0};
    json_t *c = json_object_get(job->input, "correct");
    if (!json_is_boolean(c)) {
        sca_fail(&e, 400, "validation_error", "correct: must be true or false");
        sca_job_error(job, &e);
        return;
    }
    MYSQL *m = sca_job_db(job, &e);
    if (!m)
        return;
    char *id = sca_db_quote(m, job->id, strlen(job->id));
    char q[256];
    snprintf(q, sizeof(q), "UPDATE analyses SET correct = %d WHERE id = %s", json_is_true(c), id);
    free(id);
    int rc = sca_db_exec(m, q, &e);
    /* affected rows counts changed rows only: CLIENT_FOUND_ROWS is not set, so look it up */
    json_t *found = NULL;
    if (rc == 0) {
        char *id2 = sca_db_quote(m, job->id, strlen(job->id));
        snprintf(q, sizeof(q), "SELECT COUNT(*) FROM analyses WHERE id = %s", id2);
        free(id2);
        found = sca_db_select(m, q, &e);
    }
    sca_db_put(job->app->db, m, rc < 0 || !found);
    if (!found) {
        sca_job_error(job, &e);
        return;
    }
    json_int_t n =
        json_integer_value(json_array_get(json_array_get(json_object_get(found, "rows"), 0), 0));
    json_decref(found);
    if (n == 0) {
        sca_fail(&e, 404, "not_found", "no analysis with id %s", job->id);
        sca_job_error(job, &e);
        return;
    }
    job->status = 200;
    job->reply = json_pack("{s:s,s:b}", "id", job->id, "correct", json_is_true(c));
}

json_t *sca_search_run(sca_app_t *app, const char *query, int top_k, bool use_cache, sca_error_t *e)
{
    size_t klen = strlen(query) + 32;
    char *key = mock_xmalloc(klen);
    snprintf(key, klen, "search:%d:%s", top_k, query);
    json_t *doc = use_cache ? cache_hit(app, key) : NULL;
    if (doc) {
        free(key);
        return doc;
    }
    json_t *results = sca_vector_search(app, query, top_k, e);
    if (!results && e->status == 200) /* no collection yet: no documents */
        results = json_array();
    if (!results) {
        free(key);
        return NULL;
    }
    json_t *reply = json_pack("{s:o,s:b}", "results", results, "cached", 0);
    cache_reply(app, key, reply, sca_app_settings(app).cache_ttl_s);
    return reply;
}

void sca_route_documents_search(sca_job_t *job)
{
    sca_error_t e = {0};
    json_t *q = json_object_get(job->input, "query"), *k = json_object_get(job->input, "top_k");
    sca_settings_t s = sca_app_settings(job->app);
    int top_k = 5;
    if (!json_is_string(q) || json_string_length(q) == 0 ||
        json_string_value(q)[strspn(json_string_value(q), " \t\r\n")] == '\0')
        sca_fail(&e, 400, "validation_error", "query: must be a non-empty string");
    else if (json_string_length(q) > 4000)
        sca_fail(&e, 400, "validation_error", "query: at most 4000 bytes");
    else if (k && (!json_is_integer(k) || json_integer_value(k) < 1 ||
                   json_integer_value(k) > s.search_top_k_max))
        sca_fail(&e, 400, "validation_error", "top_k: must be an integer in 1..%d",
                 s.search_top_k_max);
    if (e.status) {
        sca_job_error(job, &e);
        return;
    }
    if (k)
        top_k = (int)json_integer_value(k);
    json_t *r = sca_search_run(job->app, json_string_value(q), top_k, true, &e);
    if (!r) {
        sca_job_error(job, &e);
        return;
    }
    job->status = 200;
    job->reply = r;
}
