/* sca-api: health, KPIs, settings, cache and audit routes (run on pool threads). */
#include <mysql.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sca.h"

static double ms_since(uint64_t t0)
{
    return (double)(uv_hrtime() - t0) / 1e6;
}

static json_t *component(bool ok, double ms, const char *error)
{
    json_t *c = json_pack("{s:s,s:f}", "status", ok ? "ok" : "down", "latency_ms", ms);
    if (!ok && error) {
        json_t *e = json_string(error);
        json_object_set_new(c, "error", e ? e : json_string("unavailable"));
    }
    return c;
}

/* GET /health: database (a ping), LLM (GET models), vector store (GET collections), cache. */
void sca_route_health(sca_job_t *job)
{
    sca_app_t *app = job->app;
    sca_error_t e = {0};
    uint64_t t0 = uv_hrtime();
    MYSQL *m = sca_db_get(app->db, &e);
    bool db_ok = m && mysql_ping(m) == 0;
    if (m && !db_ok)
        snprintf(e.message, sizeof(e.message), "%s", mysql_error(m));
    sca_db_put(app->db, m, !db_ok);
    double db_ms = ms_since(t0);

    char url[1024];
    sca_http_result_t r;
    t0 = uv_hrtime();
    snprintf(url, sizeof(url), "%s/models", app->cfg.openai_base_url);
    bool llm_ok = sca_http_json("GET", url, app->cfg.openai_api_key, NULL, 2000, 0, 0, &r) == 0 &&
                  r.status == 200;
    char llm_err[256];
    snprintf(llm_err, sizeof(llm_err), "%s", r.error[0] ? r.error : "unexpected status");
    sca_http_result_free(&r);
    double llm_ms = ms_since(t0);

    t0 = uv_hrtime();
    snprintf(url, sizeof(url), "%s/collections", app->cfg.qdrant_url);
    bool vec_ok = sca_http_json("GET", url, NULL, NULL, 2000, 0, 0, &r) == 0 && r.status == 200;
    char vec_err[256];
    snprintf(vec_err, sizeof(vec_err), "%s", r.error[0] ? r.error : "unexpected status");
    sca_http_result_free(&r);
    double vec_ms = ms_since(t0);

    t0 = uv_hrtime();
    size_t entries;
    uint64_t hits, misses;
    sca_cache_stats(app->cache, &entries, &hits, &misses);
    json_t *cache = component(true, ms_since(t0), NULL);
    json_object_set_new(cache, "entries", json_integer((json_int_t)entries));

    const char *status = !db_ok ? "down" : (!llm_ok || !vec_ok) ? "degraded" : "ok";
    job->status = db_ok ? 200 : 503;
    job->reply =
        json_pack("{s:s,s:{s:o,s:o,s:o,s:o}}", "status", status, "components", "database",
                  component(db_ok, db_ms, e.message), "llm", component(llm_ok, llm_ms, llm_err),
                  "vector", component(vec_ok, vec_ms, vec_err), "cache", cache);
}

static json_t *select_one(sca_app_t *app, MYSQL *m, const char *q, sca_error_t *e)
{
    (void)app;
    json_t *r = sca_db_select(m, q, e);
    if (!r)
        return NULL;
    json_t *rows = json_incref(json_object_get(r, "rows"));
    json_decref(r);
    return rows;
}

/* GET /api/v1/kpi: from request_log, analyses and reports. */
void sca_route_kpi(sca_job_t *job)
{
    sca_app_t *app = job->app;
    sca_error_t e = {0};
    sca_audit_flush(app); /* every request answered before this one is counted */
    MYSQL *m = sca_job_db(job, &e);
    if (!m)
        return;
    json_t *acc = select_one(app, m,
                             "SELECT SUM(correct = 1), SUM(correct = 0) FROM analyses "
                             "WHERE correct IS NOT NULL",
                             &e);
    json_t *cit =
        acc ? select_one(app, m, "SELECT SUM(citations > 0), COUNT(*) FROM reports", &e) : NULL;
    json_t *lat = cit ? select_one(app, m,
                                   "SELECT elapsed_ms FROM request_log WHERE route = 'analysis' "
                                   "AND time >= UTC_DATE() ORDER BY elapsed_ms",
                                   &e)
                      : NULL;
    json_t *users = lat ? select_one(app, m,
                                     "SELECT COUNT(DISTINCT role) FROM request_log WHERE time >= "
                                     "UTC_DATE() AND role IN ('admin', 'reader')",
                                     &e)
                        : NULL;
    sca_db_put(app->db, m, !users);
    if (!users) {
        json_decref(acc);
        json_decref(cit);
        json_decref(lat);
        sca_job_error(job, &e);
        return;
    }
    json_t *a0 = json_array_get(acc, 0), *c0 = json_array_get(cit, 0);
    double correct = json_number_value(json_array_get(a0, 0));
    double wrong = json_number_value(json_array_get(a0, 1));
    double cited = json_number_value(json_array_get(c0, 0));
    double reports = json_number_value(json_array_get(c0, 1));
    size_t n = json_array_size(lat);
    json_t *p95 = json_null();
    if (n > 0) {
        size_t rank = (size_t)((95 * n + 99) / 100); /* nearest rank */
        p95 = json_real(json_number_value(json_array_get(json_array_get(lat, rank - 1), 0)));
    }
    job->status = 200;
    job->reply =
        json_pack("{s:o,s:o,s:o,s:I,s:I}", "text_to_sql_accuracy",
                  correct + wrong > 0 ? json_real(correct / (correct + wrong)) : json_null(),
                  "evidence_citation_rate", reports > 0 ? json_real(cited / reports) : json_null(),
                  "response_time_p95_ms", p95, "daily_queries", (json_int_t)n, "daily_users",
                  (json_int_t)json_number_value(json_array_get(json_array_get(users, 0), 0)));
    json_decref(acc);
    json_decref(cit);
    json_decref(lat);
    json_decref(users);
}

void sca_route_settings_get(sca_job_t *job)
{
    sca_settings_t s = sca_app_settings(job->app);
    job->status = 200;
    job->reply = sca_settings_json(&s);
}

void sca_route_settings_put(sca_job_t *job)
{
    sca_app_t *app = job->app;
    sca_error_t e = {0};
    sca_settings_t s = sca_app_settings(app);
    if (sca_settings_apply(&s, job->input, e.message, sizeof(e.message)) < 0) {
        e.status = 400;
        e.code = "validation_error";
        sca_job_error(job, &e);
        return;
    }
    /* kept in the settings table, so that a restarted service keeps them */
    json_t *j = sca_settings_json(&s);
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    MYSQL *m = sca_db_get(app->db, &e);
    int rc = -1;
    if (m) {
        char *v = sca_db_quote(m, text, strlen(text));
        size_t n = strlen(v) + 128;
        char *q = mock_xmalloc(n);
        snprintf(q, n,
                 "INSERT INTO settings (name, value) VALUES ('settings', %s) "
                 "ON DUPLICATE KEY UPDATE value = VALUES(value)",
                 v);
        rc = sca_db_exec(m, q, &e);
        free(q);
        free(v);
    }
    sca_db_put(app->db, m, rc < 0);
    free(text);
    if (rc < 0) {
        sca_job_error(job, &e);
        return;
    }
    sca_app_set_settings(app, &s);
    sca_cache_clear(app->cache);
    job->status = 200;
    job->reply = sca_settings_json(&s);
}

void sca_route_cache_get(sca_job_t *job)
{
    size_t entries;
    uint64_t hits, misses;
    sca_cache_stats(job->app->cache, &entries, &hits, &misses);
    job->status = 200;
    job->reply = json_pack("{s:I,s:I,s:I}", "entries", (json_int_t)entries, "hits",
                           (json_int_t)hits, "misses", (json_int_t)misses);
}

void sca_route_cache_delete(sca_job_t *job)
{
    size_t n = sca_cache_clear(job->app->cache);
    job->status = 200;
    job->reply = json_pack("{s:I}", "cleared", (json_int_t)n);
}

/* GET /api/v1/audit?limit=N (default 100, at most 10000), newest first. */
void sca_route_audit(sca_job_t *job)
{
    sca_app_t *app = job->app;
    sca_error_t e = {0};
    long limit = 100;
    const char *p = strstr(job->query, "limit=");
    if (p && (p == job->query || p[-1] == '&')) {
        char *end = NULL;
        limit = strtol(p + 6, &end, 10);
        if (end == p + 6 || (*end && *end != '&') || limit < 1 || limit > 10000) {
            sca_fail(&e, 400, "validation_error", "limit: must be an integer in 1..10000");
            sca_job_error(job, &e);
            return;
        }
    }
    sca_audit_flush(app);
    MYSQL *m = sca_job_db(job, &e);
    if (!m)
        return;
    char q[256];
    snprintf(q, sizeof(q),
             "SELECT DATE_FORMAT(time, '%%Y-%%m-%%dT%%H:%%i:%%s.%%fZ'), role, method, path, "
             "status, elapsed_ms FROM audit_log ORDER BY id DESC LIMIT %ld",
             limit);
    json_t *r = sca_db_select(m, q, &e);
    sca_db_put(app->db, m, !r);
    if (!r) {
        sca_job_error(job, &e);
        return;
    }
    json_t *entries = json_array();
    size_t i;
    json_t *row;
    json_array_foreach(json_object_get(r, "rows"), i, row)
    {
        json_array_append_new(
            entries, json_pack("{s:O,s:O,s:O,s:O,s:O,s:O}", "time", json_array_get(row, 0), "role",
                               json_array_get(row, 1), "method", json_array_get(row, 2), "path",
                               json_array_get(row, 3), "status", json_array_get(row, 4),
                               "elapsed_ms", json_array_get(row, 5)));
    }
    json_decref(r);
    job->status = 200;
    job->reply = json_pack("{s:o}", "entries", entries);
}
