/* sca-api: entry point. Configuration from the environment only (see README.md);
 * `sca-api --healthcheck` GETs its own /health (the image is FROM scratch). */
#include <curl/curl.h>
#include <mysql.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sca.h"

/* Creates the service's tables and reads the stored settings. */
static int app_start(sca_app_t *app, char *err, size_t errlen)
{
    sca_error_t e = {0};
    MYSQL *m = sca_db_get(app->db, &e);
    if (!m)
        return snprintf(err, errlen, "%s", e.message), -1;
    int rc = sca_db_migrate(m, &e);
    json_t *r =
        rc == 0 ? sca_db_select(m, "SELECT value FROM settings WHERE name = 'settings'", &e) : NULL;
    sca_db_put(app->db, m, !r);
    if (!r)
        return snprintf(err, errlen, "%s", e.message), -1;
    json_t *v = json_array_get(json_array_get(json_object_get(r, "rows"), 0), 0);
    json_t *stored = json_is_string(v) ? json_loads(json_string_value(v), 0, NULL) : NULL;
    sca_settings_t s;
    sca_settings_defaults(&s, &app->cfg);
    char msg[256];
    if (stored && sca_settings_apply(&s, stored, msg, sizeof(msg)) < 0)
        fprintf(stderr, "sca-api: stored settings ignored: %s\n", msg);
    sca_app_set_settings(app, &s);
    json_decref(stored);
    json_decref(r);
    return 0;
}

/* The audit queue is written by a pool thread every 200 ms when something is queued. */
typedef struct flusher {
    uv_timer_t timer;
    uv_work_t work;
    bool busy;
    sca_app_t *app;
} flusher_t;

static void flush_work(uv_work_t *w)
{
    flusher_t *f = w->data;
    sca_audit_flush(f->app);
}

static void flush_after(uv_work_t *w, int status)
{
    (void)status;
    flusher_t *f = w->data;
    f->busy = false;
}

static void flush_timer_cb(uv_timer_t *t)
{
    flusher_t *f = t->data;
    if (f->busy || !sca_audit_pending(f->app->audit))
        return;
    f->busy = true;
    f->work.data = f;
    if (uv_queue_work(t->loop, &f->work, flush_work, flush_after) != 0)
        f->busy = false;
}

static int healthcheck(void)
{
    const char *p = getenv("SCA_PORT");
    return mock_healthcheck(p && *p ? atoi(p) : 8000, "/health", 3000);
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--healthcheck") == 0)
            return healthcheck();
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: sca-api [--healthcheck]\nConfiguration from the environment: "
                   "DATABASE_URL, DATABASE_READONLY_URL, OPENAI_BASE_URL, OPENAI_API_KEY, "
                   "QDRANT_URL, SCA_ADMIN_KEY, SCA_READER_KEY, SCA_PORT (8000), SCA_LLM_RETRIES, "
                   "SCA_BACKOFF_MS, SCA_DB_TIMEOUT_S, SCA_STATEMENT_TIME_MS, SCA_QUIET "
                   "(see README.md)\n");
            return 0;
        }
        fprintf(stderr,
                "sca-api: unknown option %s (configuration comes from the environment; "
                "see --help)\n",
                argv[i]);
        return 2;
    }
    setenv("UV_THREADPOOL_SIZE", "16", 0); /* LLM calls wait: more than libuv's 4 threads */
    char err[512];
    sca_app_t app;
    memset(&app, 0, sizeof(app));
    if (sca_config_load(&app.cfg, err, sizeof(err)) < 0) {
        fprintf(stderr, "sca-api: configuration: %s\n", err);
        sca_config_free(&app.cfg);
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    mysql_library_init(0, NULL, NULL);
    pthread_mutex_init(&app.settings_lock, NULL);
    sca_settings_defaults(&app.settings, &app.cfg);
    app.db = sca_db_pool_new(&app.cfg.db, app.cfg.db_timeout_s, app.cfg.statement_time_ms, false);
    app.reader =
        sca_db_pool_new(&app.cfg.db_reader, app.cfg.db_timeout_s, app.cfg.statement_time_ms, true);
    app.guard = sca_guard_new();
    app.cache = sca_cache_new();
    app.audit = sca_audit_new();
    int status = 1;
    if (!app.guard) {
        fprintf(stderr, "sca-api: cannot create the SQL guard (SQLite)\n");
        goto out;
    }
    if (app_start(&app, err, sizeof(err)) < 0) {
        fprintf(stderr, "sca-api: database: %s\n", err);
        goto out;
    }
    setvbuf(stdout, NULL, _IOFBF, 1 << 16);
    uv_loop_t loop;
    uv_loop_init(&loop);
    mock_server_config_t cfg = {.name = "sca-api",
                                .port = app.cfg.port,
                                .body_limit = SCA_BODY_LIMIT,
                                .no_journal = true,
                                .no_admin = true,
                                .quiet = app.cfg.quiet,
                                .health_path = "/health",
                                .handler = sca_handle,
                                .error = sca_layer_error,
                                .user = &app};
    mock_server_t *srv = mock_server_new(&loop, &cfg);
    flusher_t flusher = {.app = &app};
    uv_timer_init(&loop, &flusher.timer);
    flusher.timer.data = &flusher;
    uv_timer_start(&flusher.timer, flush_timer_cb, 200, 200);
    uv_unref((uv_handle_t *)&flusher.timer); /* the server's handles keep the loop alive */
    if (mock_server_listen(srv) == 0) {
        mock_server_run(srv); /* until SIGTERM/SIGINT */
        status = 0;
    } else {
        mock_server_stop(srv);
    }
    uv_close((uv_handle_t *)&flusher.timer, NULL);
    uv_run(&loop, UV_RUN_DEFAULT); /* deferred work still running, the flusher */
    if (uv_loop_close(&loop) != 0)
        fprintf(stderr, "sca-api: event loop still busy at exit\n");
    mock_server_free(srv);
    sca_audit_flush(&app); /* what the last requests queued */
out:
    sca_audit_free(app.audit);
    sca_cache_free(app.cache);
    sca_guard_free(app.guard);
    sca_db_pool_free(app.db);
    sca_db_pool_free(app.reader);
    pthread_mutex_destroy(&app.settings_lock);
    sca_config_free(&app.cfg);
    sca_http_global_cleanup();
    mysql_library_end();
    curl_global_cleanup();
    fflush(stdout);
    return status;
}
