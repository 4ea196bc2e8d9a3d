/* libFuzzer target: sca-api's request handling and its SQL guard. The first byte picks:
 *   0: the SQL guard on the rest;  1: the ETL CSV checks;  2: SQL extraction from an LLM answer;
 *   else: the rest as raw HTTP bytes through mock-common's parser and sca-api's dispatch
 *         (routes, keys, JSON bodies, validation), with the database and the LLM unreachable
 *         (127.0.0.1:1, no retries): deferred work runs in place (mock_server_feed).
 * Without ENVTEST_FUZZ the same file builds the corpus replayer (MOCK_FUZZ_REPLAY). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sca.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static sca_app_t app;
static mock_server_t *srv;
static uv_loop_t loop;

static void setup(void)
{
    if (srv)
        return;
    setenv("DATABASE_URL", "mysql://u:p@127.0.0.1:1/seoul", 1);
    setenv("DATABASE_READONLY_URL", "mysql://r:p@127.0.0.1:1/seoul", 1);
    setenv("OPENAI_BASE_URL", "http://127.0.0.1:1/v1", 1);
    setenv("QDRANT_URL", "http://127.0.0.1:1", 1);
    setenv("SCA_ADMIN_KEY", "admin-key", 1);
    setenv("SCA_READER_KEY", "reader-key", 1);
    setenv("SCA_LLM_RETRIES", "0", 1);
    setenv("SCA_BACKOFF_MS", "0", 1);
    char err[256];
    if (sca_config_load(&app.cfg, err, sizeof(err)) < 0)
        abort();
    pthread_mutex_init(&app.settings_lock, NULL);
    sca_settings_defaults(&app.settings, &app.cfg);
    app.settings.llm_timeout_ms = 200;
    app.db = sca_db_pool_new(&app.cfg.db, 1, 1000, false);
    app.reader = sca_db_pool_new(&app.cfg.db_reader, 1, 1000, true);
    app.guard = sca_guard_new();
    app.cache = sca_cache_new();
    app.audit = sca_audit_new();
    uv_loop_init(&loop);
    mock_server_config_t cfg = {.name = "sca-api",
                                .quiet = true,
                                .no_journal = true,
                                .no_admin = true,
                                .body_limit = 65536,
                                .handler = sca_handle,
                                .error = sca_layer_error,
                                .user = &app};
    srv = mock_server_new(&loop, &cfg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    setup();
    char *text = mock_xstrndup((const char *)data + 1, size - 1);
    switch (data[0]) {
    case 0: {
        char *clean = NULL;
        char reason[256];
        if (sca_guard_check(app.guard, text, &clean, reason, sizeof(reason)) == 0 &&
            strchr(clean, ';') && !strchr(text, '\''))
            abort(); /* a second statement got through */
        free(clean);
        break;
    }
    case 1: {
        sca_etl_rows_t r = {0};
        char err[256];
        sca_etl_parse((const char *)data + 1, size - 1, &r, err, sizeof(err));
        json_decref(r.rows);
        json_decref(r.rejected);
        break;
    }
    case 2:
        free(sca_extract_sql(text));
        break;
    default: {
        mock_buf_t out = MOCK_BUF_INIT;
        mock_server_feed(srv, (const char *)data + 1, size - 1, &out);
        mock_buf_free(&out);
        break;
    }
    }
    free(text);
    /* the audit queue would only grow: drop it */
    sca_audit_free(app.audit);
    app.audit = sca_audit_new();
    return 0;
}

#ifdef MOCK_FUZZ_REPLAY
static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    mock_buf_t b = MOCK_BUF_INIT;
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        mock_buf_add(&b, chunk, n);
    fclose(f);
    LLVMFuzzerTestOneInput((const uint8_t *)(b.data ? b.data : ""), b.len);
    mock_buf_free(&b);
    return 0;
}

int main(int argc, char **argv)
{
    int count = 0;
    for (int i = 1; i < argc; i++) {
        DIR *d = opendir(argv[i]);
        if (!d) {
            fprintf(stderr, "cannot open corpus directory %s\n", argv[i]);
            return 1;
        }
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (e->d_name[0] == '.')
                continue;
            char path[4096];
            snprintf(path, sizeof(path), "%s/%s", argv[i], e->d_name);
            if (replay_file(path) == 0)
                count++;
        }
        closedir(d);
    }
    printf("replayed %d inputs\n", count);
    if (srv) {
        mock_server_free(srv);
        uv_loop_close(&loop);
        sca_audit_free(app.audit);
        sca_cache_free(app.cache);
        sca_guard_free(app.guard);
        sca_db_pool_free(app.db);
        sca_db_pool_free(app.reader);
        sca_config_free(&app.cfg);
        sca_http_global_cleanup();
    }
    return count > 0 ? 0 : 1;
}
#endif
