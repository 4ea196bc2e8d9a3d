/* sca-api: the Seoul Commercial Analysis service (the system under test of ADR-009).
 * Internal header shared by the service's files. The HTTP layer is compose/mock-common
 * (mock_http.h); blocking work (MySQL, LLM, vector store) runs on libuv's thread pool through
 * mock_request_defer and answers on the loop.
 */
#ifndef SCA_H
#define SCA_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mock_http.h"

#define SCA_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define SCA_QUESTION_MAX 1000
#define SCA_BODY_LIMIT (16u * 1024u * 1024u)
#define SCA_COLLECTION "seoul_documents"
#define SCA_EMBED_DIM 384

/* ---- configuration (environment only) -------------------------------------------------- */
typedef struct sca_db_url {
    char *user, *password, *host, *database;
    unsigned port;
} sca_db_url_t;

typedef struct sca_config {
    sca_db_url_t db, db_reader;
    char *openai_base_url, *openai_api_key, *qdrant_url;
    char *admin_key, *reader_key;
    int port;
    int llm_retries;       /* SCA_LLM_RETRIES (default 2): retries after the first try */
    int backoff_ms;        /* SCA_BACKOFF_MS (default 100): first retry delay, doubled each time */
    int db_timeout_s;      /* SCA_DB_TIMEOUT_S (default 3): connect/read/write */
    int statement_time_ms; /* SCA_STATEMENT_TIME_MS (default 5000): reader query limit */
    int llm_timeout_ms;    /* SCA_LLM_TIMEOUT_MS (default 10000): the setting's first value */
    bool quiet;            /* SCA_QUIET=1: no request log line */
} sca_config_t;

/* Reads the environment; on error returns -1 with a message naming the variable. */
int sca_config_load(sca_config_t *cfg, char *err, size_t errlen);
void sca_config_free(sca_config_t *cfg);
/* Parses mysql://user:password@host:port/database (libcurl's URL parser, percent-decoded). */
int sca_db_url_parse(const char *url, sca_db_url_t *out, char *err, size_t errlen);
void sca_db_url_free(sca_db_url_t *u);

/* ---- settings (GET/PUT /api/v1/settings) ----------------------------------------------- */
typedef struct sca_settings {
    int row_limit;        /* 1..10000, default 1000 */
    int cache_ttl_s;      /* 0..86400, default 300 */
    char llm_model[128];  /* non-empty */
    int llm_timeout_ms;   /* 100..60000, default SCA_LLM_TIMEOUT_MS (10000) */
    int search_top_k_max; /* 1..50, default 50 */
} sca_settings_t;

/* The settings before any PUT: llm_timeout_ms from cfg, the rest built in. */
void sca_settings_defaults(sca_settings_t *s, const sca_config_t *cfg);
json_t *sca_settings_json(const sca_settings_t *s);
/* Applies the fields of obj (a subset) to a copy of *s; -1 with "field: reason" on error. */
int sca_settings_apply(sca_settings_t *s, const json_t *obj, char *err, size_t errlen);

/* ---- errors of a job --------------------------------------------------------------------- */
typedef struct sca_error {
    int status;       /* HTTP status */
    const char *code; /* stable code: validation_error, unsafe_sql, database_error, ... */
    char message[512];
} sca_error_t;
int sca_fail(sca_error_t *e, int status, const char *code, const char *fmt, ...) SCA_PRINTF(4, 5);

/* ---- MySQL (db.c) ------------------------------------------------------------------------ */
typedef struct sca_db_pool sca_db_pool_t;
typedef struct st_mysql MYSQL;
sca_db_pool_t *sca_db_pool_new(const sca_db_url_t *url, int timeout_s, int statement_time_ms,
                               bool reader);
void sca_db_pool_free(sca_db_pool_t *p);
/* A connection from the pool (connected, pinged when it was idle); NULL + 503 database_error. */
MYSQL *sca_db_get(sca_db_pool_t *p, sca_error_t *e);
/* Gives it back; broken = true closes it (after an error). */
void sca_db_put(sca_db_pool_t *p, MYSQL *m, bool broken);
/* Runs q; on failure fills e (503 database_error for connection errors, 500 otherwise). */
int sca_db_exec(MYSQL *m, const char *q, sca_error_t *e);
/* Runs a SELECT and gives {"columns":[...],"rows":[[...]]} with numbers as numbers. */
json_t *sca_db_select(MYSQL *m, const char *q, sca_error_t *e);
/* 'text' escaped for a '...' literal (malloc'ed). */
char *sca_db_quote(MYSQL *m, const char *s, size_t len);
/* Creates the service's own tables if absent. */
int sca_db_migrate(MYSQL *m, sca_error_t *e);
bool sca_db_error_is_connection(unsigned err);

/* ---- outgoing HTTP (http_client.c): libcurl, timeouts, retries with backoff ------------- */
typedef struct sca_http_result {
    long status; /* 0: transport error */
    char *body;  /* malloc'ed, NUL-terminated */
    char error[256];
    int attempts;
} sca_http_result_t;
/* POST/PUT/GET JSON; retries transport errors, 429 and 5xx up to `retries` times, sleeping
 * backoff_ms, 2*backoff_ms, ... (Retry-After when shorter than 5 s). */
int sca_http_json(const char *method, const char *url, const char *bearer, const char *body,
                  int timeout_ms, int retries, int backoff_ms, sca_http_result_t *r);
void sca_http_result_free(sca_http_result_t *r);
void sca_http_global_cleanup(void);

/* ---- the SQL guard (guard.c) ------------------------------------------------------------- */
typedef struct sca_guard sca_guard_t;
sca_guard_t *sca_guard_new(void);
void sca_guard_free(sca_guard_t *g);
/* Checks sql (the LLM's answer). On success returns 0 and *clean (malloc'ed) is the single
 * statement without a trailing ';'. On refusal returns -1 and reason says why. Thread-safe. */
int sca_guard_check(sca_guard_t *g, const char *sql, char **clean, char *reason, size_t reasonlen);

/* ---- LLM and vector store (llm.c) ------------------------------------------------------ */
typedef struct sca_app sca_app_t;
/* The SQL for a question: 0 and *sql; 1 = fallback (message in e->message); never a 5xx. */
int sca_llm_sql(sca_app_t *app, const char *question, char **sql, sca_error_t *e);
/* The answer text out of an LLM reply: the body of a ```sql fence, else the text trimmed. */
char *sca_extract_sql(const char *content);
/* Embeddings of n texts: a JSON array of n vectors (new reference) or NULL with e filled. */
json_t *sca_llm_embed(sca_app_t *app, const char *const *texts, size_t n, sca_error_t *e);
json_t *sca_vector_search(sca_app_t *app, const char *query, int top_k, sca_error_t *e);
int sca_vector_upsert(sca_app_t *app, json_t *points, sca_error_t *e);

/* ---- cache (cache.c) ---------------------------------------------------------------------- */
typedef struct sca_cache sca_cache_t;
sca_cache_t *sca_cache_new(void);
void sca_cache_free(sca_cache_t *c);
/* A copy of the cached text (malloc'ed) or NULL (counts a hit or a miss). */
char *sca_cache_get(sca_cache_t *c, const char *key);
void sca_cache_put(sca_cache_t *c, const char *key, const char *value, int ttl_s);
size_t sca_cache_clear(sca_cache_t *c);
void sca_cache_stats(sca_cache_t *c, size_t *entries, uint64_t *hits, uint64_t *misses);

/* ---- audit (audit.c): every request, written in batches by pool threads --------------- */
typedef struct sca_audit sca_audit_t;
sca_audit_t *sca_audit_new(void);
void sca_audit_free(sca_audit_t *a);
void sca_audit_add(sca_audit_t *a, const char *role, const char *method, const char *path,
                   int status, double elapsed_ms);
/* Writes what is queued (call on a pool thread or at exit). */
void sca_audit_flush(sca_app_t *app);
bool sca_audit_pending(sca_audit_t *a);

/* ---- the application --------------------------------------------------------------------- */
struct sca_app {
    sca_config_t cfg;
    sca_db_pool_t *db, *reader;
    sca_guard_t *guard;
    sca_cache_t *cache;
    sca_audit_t *audit;
    pthread_mutex_t settings_lock;
    sca_settings_t settings;
    uint64_t settings_generation;
};

sca_settings_t sca_app_settings(sca_app_t *app);
void sca_app_set_settings(sca_app_t *app, const sca_settings_t *s);

/* ---- requests (server.c, routes_*.c) ------------------------------------------------------ */
typedef enum sca_role {
    SCA_ROLE_NONE = 0,
    SCA_ROLE_INVALID,
    SCA_ROLE_READER,
    SCA_ROLE_ADMIN
} sca_role_t;
const char *sca_role_name(sca_role_t r);

/* One deferred request: copied out of the HTTP request on the loop, run on a pool thread. */
typedef struct sca_job sca_job_t;
typedef void (*sca_job_fn)(sca_job_t *job);
struct sca_job {
    sca_app_t *app;
    sca_role_t role;
    char method[16];
    char *path, *query;
    char *body;
    size_t body_len;
    json_t *input; /* parsed JSON body, when the route takes one */
    char id[64];   /* the {id} of the path, when the route has one */
    uint64_t start_ns;
    sca_job_fn run;
    /* results */
    int status;
    json_t *reply; /* answer body */
    char *raw_reply;
    const char *content_type;
};
void sca_job_error(sca_job_t *job, const sca_error_t *e);
/* A pooled database connection for the job (give it back with sca_db_put), or NULL with the
 * job's error reply set. */
MYSQL *sca_job_db(sca_job_t *job, sca_error_t *e);
json_t *sca_error_json(const char *code, const char *message);

/* Route handlers (run on pool threads). */
void sca_route_health(sca_job_t *job);
void sca_route_analysis(sca_job_t *job);
void sca_route_feedback(sca_job_t *job);
void sca_route_documents_upload(sca_job_t *job);
void sca_route_documents_search(sca_job_t *job);
void sca_route_reports_create(sca_job_t *job);
void sca_route_reports_get(sca_job_t *job);
void sca_route_etl(sca_job_t *job);
void sca_route_kpi(sca_job_t *job);
void sca_route_settings_get(sca_job_t *job);
void sca_route_settings_put(sca_job_t *job);
void sca_route_cache_get(sca_job_t *job);
void sca_route_cache_delete(sca_job_t *job);
void sca_route_audit(sca_job_t *job);

/* The analysis itself (shared by /analysis/sql and /reports): the reply object or NULL + e. */
json_t *sca_analysis_run(sca_app_t *app, const char *question, bool use_cache, sca_error_t *e);
/* A job's {"question"} (checked; into *question_out unless NULL) and its analysis (cached), or
 * NULL with the job's error reply set. */
json_t *sca_job_analysis(sca_job_t *job, const char **question);
/* Document search (shared by /documents/search and /reports). */
json_t *sca_search_run(sca_app_t *app, const char *query, int top_k, bool use_cache,
                       sca_error_t *e);

/* The SVG bar chart of a table (first text column as labels, first numeric column as values);
 * one <rect class="bar"> per row. */
char *sca_svg_bar_chart(const char *title, const json_t *columns, const json_t *rows);

/* Request dispatch on the loop (server.c). */
void sca_handle(mock_request_t *req, void *user);
void sca_layer_error(mock_request_t *req, int status, const char *message, void *user);

/* ETL CSV validation (etl.c), exposed for the fuzzer and tests: rows as arrays of strings. */
typedef struct sca_etl_rows {
    json_t *rows;     /* array of arrays of strings, the columns of SCA_ETL_COLUMNS */
    json_t *rejected; /* array of {"line","reason"} */
} sca_etl_rows_t;
int sca_etl_parse(const char *csv, size_t len, sca_etl_rows_t *out, char *err, size_t errlen);

#endif
