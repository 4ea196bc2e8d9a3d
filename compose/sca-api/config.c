/* sca-api: configuration from the environment, settings, error values. */
#include <curl/curl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sca.h"

int sca_fail(sca_error_t *e, int status, const char *code, const char *fmt, ...)
{
    e->status = status;
    e->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof(e->message), fmt, ap);
    va_end(ap);
    return -1;
}

/* ---- URLs ------------------------------------------------------------------------------- */
void sca_db_url_free(sca_db_url_t *u)
{
    free(u->user);
    free(u->password);
    free(u->host);
    free(u->database);
    memset(u, 0, sizeof(*u));
}

static char *url_part(CURLU *h, CURLUPart part)
{
    char *v = NULL;
    if (curl_url_get(h, part, &v, CURLU_URLDECODE) != CURLUE_OK)
        return NULL;
    char *copy = mock_xstrdup(v);
    curl_free(v);
    return copy;
}

int sca_db_url_parse(const char *url, sca_db_url_t *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    CURLU *h = curl_url();
    if (!h)
        return snprintf(err, errlen, "out of memory"), -1;
    CURLUcode rc = curl_url_set(h, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME);
    char *scheme = rc == CURLUE_OK ? url_part(h, CURLUPART_SCHEME) : NULL;
    if (rc != CURLUE_OK || !scheme || strcmp(scheme, "mysql") != 0) {
        snprintf(err, errlen, "expected mysql://USER:PASSWORD@HOST:PORT/DATABASE (%s)",
                 rc != CURLUE_OK ? curl_url_strerror(rc) : "the scheme must be mysql");
        free(scheme);
        curl_url_cleanup(h);
        return -1;
    }
    free(scheme);
    out->user = url_part(h, CURLUPART_USER);
    out->password = url_part(h, CURLUPART_PASSWORD);
    out->host = url_part(h, CURLUPART_HOST);
    char *port = url_part(h, CURLUPART_PORT);
    char *path = url_part(h, CURLUPART_PATH);
    out->port = port ? (unsigned)strtoul(port, NULL, 10) : 3306;
    const char *db = path ? path + strspn(path, "/") : "";
    out->database = mock_xstrdup(db);
    free(port);
    free(path);
    curl_url_cleanup(h);
    if (!out->user || !out->host || !out->database[0]) {
        snprintf(err, errlen, "expected mysql://USER:PASSWORD@HOST:PORT/DATABASE (%s missing)",
                 !out->user   ? "user"
                 : !out->host ? "host"
                              : "database");
        sca_db_url_free(out);
        return -1;
    }
    if (!out->password)
        out->password = mock_xstrdup("");
    return 0;
}

/* ---- configuration ------------------------------------------------------------------------ */
static const char *env_str(const char *name, const char *def)
{
    const char *v = getenv(name);
    return v && *v ? v : def;
}

static int env_int(const char *name, int def, int lo, int hi, int *out, char *err, size_t errlen)
{
    const char *v = getenv(name);
    if (!v || !*v) {
        *out = def;
        return 0;
    }
    char *end = NULL;
    long n = strtol(v, &end, 10);
    if (*end || n < lo || n > hi)
        return snprintf(err, errlen, "%s: expected an integer in %d..%d", name, lo, hi), -1;
    *out = (int)n;
    return 0;
}

static int need(const char *name, char **out, char *err, size_t errlen)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return snprintf(err, errlen, "%s is not set", name), -1;
    *out = mock_xstrdup(v);
    return 0;
}

static char *strip_slash(const char *s)
{
    char *c = mock_xstrdup(s);
    size_t n = strlen(c);
    while (n > 0 && c[n - 1] == '/')
        c[--n] = '\0';
    return c;
}

int sca_config_load(sca_config_t *cfg, char *err, size_t errlen)
{
    memset(cfg, 0, sizeof(*cfg));
    char msg[256];
    const char *url = getenv("DATABASE_URL");
    if (!url || !*url)
        return snprintf(err, errlen, "DATABASE_URL is not set"), -1;
    if (sca_db_url_parse(url, &cfg->db, msg, sizeof(msg)) < 0)
        return snprintf(err, errlen, "DATABASE_URL: %s", msg), -1;
    const char *ro = env_str("DATABASE_READONLY_URL", NULL);
    if (!ro)
        return snprintf(err, errlen,
                        "DATABASE_READONLY_URL is not set (the read-only user that "
                        "runs the LLM's SQL)"),
               -1;
    if (sca_db_url_parse(ro, &cfg->db_reader, msg, sizeof(msg)) < 0)
        return snprintf(err, errlen, "DATABASE_READONLY_URL: %s", msg), -1;
    cfg->openai_base_url = strip_slash(env_str("OPENAI_BASE_URL", "http://mock-llm:8080/v1"));
    cfg->openai_api_key = mock_xstrdup(env_str("OPENAI_API_KEY", "none"));
    cfg->qdrant_url = strip_slash(env_str("QDRANT_URL", "http://mock-vector:6333"));
    if (need("SCA_ADMIN_KEY", &cfg->admin_key, err, errlen) < 0 ||
        need("SCA_READER_KEY", &cfg->reader_key, err, errlen) < 0)
        return -1;
    if (strcmp(cfg->admin_key, cfg->reader_key) == 0)
        return snprintf(err, errlen, "SCA_ADMIN_KEY and SCA_READER_KEY must differ"), -1;
    if (env_int("SCA_PORT", 8000, 0, 65535, &cfg->port, err, errlen) < 0 ||
        env_int("SCA_LLM_RETRIES", 2, 0, 10, &cfg->llm_retries, err, errlen) < 0 ||
        env_int("SCA_BACKOFF_MS", 100, 0, 10000, &cfg->backoff_ms, err, errlen) < 0 ||
        env_int("SCA_DB_TIMEOUT_S", 3, 1, 60, &cfg->db_timeout_s, err, errlen) < 0 ||
        env_int("SCA_STATEMENT_TIME_MS", 5000, 100, 600000, &cfg->statement_time_ms, err, errlen) <
            0 ||
        env_int("SCA_LLM_TIMEOUT_MS", 10000, 100, 60000, &cfg->llm_timeout_ms, err, errlen) < 0)
        return -1;
    cfg->quiet = strcmp(env_str("SCA_QUIET", "0"), "1") == 0;
    return 0;
}

void sca_config_free(sca_config_t *cfg)
{
    sca_db_url_free(&cfg->db);
    sca_db_url_free(&cfg->db_reader);
    free(cfg->openai_base_url);
    free(cfg->openai_api_key);
    free(cfg->qdrant_url);
    free(cfg->admin_key);
    free(cfg->reader_key);
    memset(cfg, 0, sizeof(*cfg));
}

/* ---- settings ------------------------------------------------------------------------------ */
sca_settings_t sca_app_settings(sca_app_t *app)
{
    pthread_mutex_lock(&app->settings_lock);
    sca_settings_t s = app->settings;
    pthread_mutex_unlock(&app->settings_lock);
    return s;
}

void sca_app_set_settings(sca_app_t *app, const sca_settings_t *s)
{
    pthread_mutex_lock(&app->settings_lock);
    app->settings = *s;
    app->settings_generation++;
    pthread_mutex_unlock(&app->settings_lock);
}

void sca_settings_defaults(sca_settings_t *s, const sca_config_t *cfg)
{
    memset(s, 0, sizeof(*s));
    s->row_limit = 1000;
    s->cache_ttl_s = 300;
    snprintf(s->llm_model, sizeof(s->llm_model), "%s", "gpt-4o-mini");
    s->llm_timeout_ms = cfg->llm_timeout_ms;
    s->search_top_k_max = 50;
}

json_t *sca_settings_json(const sca_settings_t *s)
{
    return json_pack("{s:i,s:i,s:s,s:i,s:i}", "row_limit", s->row_limit, "cache_ttl_s",
                     s->cache_ttl_s, "llm_model", s->llm_model, "llm_timeout_ms", s->llm_timeout_ms,
                     "search_top_k_max", s->search_top_k_max);
}

static int int_field(const json_t *v, const char *key, int lo, int hi, int *out, char *err,
                     size_t errlen)
{
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return snprintf(err, errlen, "%s: must be an integer in %d..%d", key, lo, hi), -1;
    *out = (int)json_integer_value(v);
    return 0;
}

int sca_settings_apply(sca_settings_t *s, const json_t *obj, char *err, size_t errlen)
{
    if (!json_is_object(obj))
        return snprintf(err, errlen, "body: must be a JSON object"), -1;
    sca_settings_t n = *s;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v)
    {
        int r;
        if (strcmp(key, "row_limit") == 0)
            r = int_field(v, key, 1, 10000, &n.row_limit, err, errlen);
        else if (strcmp(key, "cache_ttl_s") == 0)
            r = int_field(v, key, 0, 86400, &n.cache_ttl_s, err, errlen);
        else if (strcmp(key, "llm_timeout_ms") == 0)
            r = int_field(v, key, 100, 60000, &n.llm_timeout_ms, err, errlen);
        else if (strcmp(key, "search_top_k_max") == 0)
            r = int_field(v, key, 1, 50, &n.search_top_k_max, err, errlen);
        else if (strcmp(key, "llm_model") == 0) {
            r = 0;
            if (!json_is_string(v) || json_string_length(v) == 0 ||
                json_string_length(v) >= sizeof(n.llm_model)) {
                snprintf(err, errlen, "llm_model: must be a non-empty string (at most %zu bytes)",
                         sizeof(n.llm_model) - 1);
                r = -1;
            } else
                snprintf(n.llm_model, sizeof(n.llm_model), "%s", json_string_value(v));
        } else {
            snprintf(err, errlen,
                     "%s: unknown setting (row_limit, cache_ttl_s, llm_model, "
                     "llm_timeout_ms, search_top_k_max)",
                     key);
            r = -1;
        }
        if (r < 0)
            return -1;
    }
    *s = n;
    return 0;
}
