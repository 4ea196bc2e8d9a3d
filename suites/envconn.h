/* What the suites know about the environment: only its variables (set by `envtest run`), and the
 * clients to reach it (libmysqlclient, libcurl + jansson). Independent of envmgr.
 *
 * Helpers named suite_* record a TAP failure naming the query / URL, the status and the body when
 * something goes wrong, and return NULL (or a negative number); callers then
 * TAP_RETURN_IF_FAILED(). */
#ifndef SUITES_ENVCONN_H
#define SUITES_ENVCONN_H

#include <jansson.h>
#include <mysql.h>
#include <stdbool.h>
#include <stddef.h>

#include "tap.h"

/* ---- cleanup attributes ---- */
void envconn_freep(void *p);
void envconn_json_decrefp(json_t **j);
void envconn_mysql_closep(MYSQL **m);
void envconn_mysql_res_freep(MYSQL_RES **r);
void envconn_mysql_stmt_closep(MYSQL_STMT **s);
#define cleanup_free __attribute__((cleanup(envconn_freep)))
#define cleanup_json __attribute__((cleanup(envconn_json_decrefp)))
#define cleanup_mysql __attribute__((cleanup(envconn_mysql_closep)))
#define cleanup_mysql_res __attribute__((cleanup(envconn_mysql_res_freep)))
#define cleanup_mysql_stmt __attribute__((cleanup(envconn_mysql_stmt_closep)))

/* ---- the environment ---- */
enum envconn_needs {
    ENVCONN_NEED_MYSQL = 1 << 0,  /* DATABASE_URL */
    ENVCONN_NEED_LLM = 1 << 1,    /* ENVTEST_MOCK_LLM_HOST / _PORT */
    ENVCONN_NEED_VECTOR = 1 << 2, /* ENVTEST_MOCK_VECTOR_HOST / _PORT */
};

typedef struct envconn {
    /* from DATABASE_URL (user, password and database percent-decoded) */
    char *db_user;
    char *db_password;
    char *db_host;
    unsigned db_port;
    char *db_name;
    const char *base_db_name; /* ENVTEST_MYSQL_DATABASE (the fixture-loaded database), or NULL */
    char *llm_url;            /* http://host:port of mock-llm (its admin API and /health) */
    char *openai_url;         /* OPENAI_BASE_URL, or llm_url + "/v1" */
    char *vector_url;         /* QDRANT_URL, or http://host:port of mock-vector */
} envconn_t;

/* Parses mysql://user:password@host:port/database[?options]. Returns 0, or -1 with *why set
 * (malloc'ed) naming what is wrong. */
int envconn_parse_database_url(const char *url, envconn_t *env, char **why);
/* Reads the variables `needs` asks for. When one is missing or invalid, prints a TAP plan with one
 * failing "environment: ..." test and returns -1 (the suite then exits 1). */
int envconn_load(envconn_t *env, unsigned needs);
void envconn_free(envconn_t *env);
/* A suite's main() when its tests take the envconn_t: loads what needs names, runs the tests,
 * frees; returns the exit code (1 when the environment is missing). */
int envconn_run_suite(unsigned needs, const tap_test_t *tests, size_t n);
/* Percent-decodes s (malloc'ed result); NULL on a malformed escape. */
char *envconn_percent_decode(const char *s, size_t len);

/* ---- MySQL ---- */
MYSQL *suite_mysql_connect_at(const envconn_t *env, const char *file, int line);
#define suite_mysql_connect(env) suite_mysql_connect_at(env, __FILE__, __LINE__)
/* Runs a statement that returns no rows. 0 or -1 (failure recorded). */
int suite_sql_exec_at(MYSQL *db, const char *sql, const char *file, int line);
#define suite_sql_exec(db, sql) suite_sql_exec_at(db, sql, __FILE__, __LINE__)
/* Runs a query and stores its result (NULL: failure recorded). */
MYSQL_RES *suite_sql_query_at(MYSQL *db, const char *sql, const char *file, int line);
#define suite_sql_query(db, sql) suite_sql_query_at(db, sql, __FILE__, __LINE__)
/* First column of the first row as an integer; -1 with failure recorded when there is none. */
long long suite_sql_int_at(MYSQL *db, const char *sql, const char *file, int line);
#define suite_sql_int(db, sql) suite_sql_int_at(db, sql, __FILE__, __LINE__)
/* First column of the first row as a string (malloc'ed; NULL with failure recorded). */
char *suite_sql_str_at(MYSQL *db, const char *sql, const char *file, int line);
#define suite_sql_str(db, sql) suite_sql_str_at(db, sql, __FILE__, __LINE__)

/* ---- HTTP ---- */
typedef struct http_response {
    long status; /* 0 when no response was received */
    char *body;  /* NUL-terminated */
    size_t len;
    char *content_type;  /* NULL when absent */
    char *retry_after;   /* NULL when absent */
    int transport_error; /* CURLcode; 0 = complete response */
    char error[256];     /* libcurl's message when transport_error != 0 */
    double total_ms;
} http_response_t;
void http_response_free(http_response_t *r);
/* A libcurl write callback's body: appends add bytes of data to *body (NUL-terminated, *len
 * grows); returns add, or 0 when memory ran out (libcurl then fails the transfer). */
size_t envconn_body_append(char **body, size_t *len, const char *data, size_t add);
#define cleanup_http __attribute__((cleanup(http_response_free)))

/* Performs a request (body may be NULL; content type application/json when body is given).
 * Never records a TAP failure: the caller judges status and transport_error. Timeout 15 s. */
void http_request(const char *method, const char *url, const char *body, http_response_t *resp);
/* Builds base + path (malloc'ed). */
char *url_join(const char *base, const char *path);

/* method url (built from base + path) with a JSON body (may be NULL); expects expect_status and a
 * JSON body. Returns the parsed body, or NULL with a failure recorded naming the request, the
 * status and the body. */
json_t *suite_http_json_at(const char *method, const char *base, const char *path,
                           const json_t *body, long expect_status, const char *file, int line);
#define suite_http_json(method, base, path, body, status)                                          \
    suite_http_json_at(method, base, path, body, status, __FILE__, __LINE__)

/* Convenience: builds a JSON value from a jansson format ("{s:s, s:i}", ...). */
#define JSON_PACK(...) json_pack(__VA_ARGS__)

/* Parses a server-sent-events body: the data: payloads in order (a JSON array of strings, new
 * reference), *done when "data: [DONE]" ended it, *bad_line (malloc'ed) describing the first line
 * that is not SSE or an event after [DONE]. */
json_t *suite_sse_parse(const char *body, bool *done, char **bad_line);

/* Retries fn (returning 0 on success) up to attempts times, sleeping base_ms, 2*base_ms, ...
 * between attempts. Returns 0 on success, else fn's last result; *used gets the attempts made. */
int envconn_retry(int attempts, int base_ms, int (*fn)(void *ud), void *ud, int *used,
                  long *slept_ms);

/* ---- shared mock-service helpers ---- */
/* A model id from GET /v1/models (malloc'ed; cached per process): for chat the first id without
 * "embedding" in it, for embeddings the first with it (else the first listed). NULL with a
 * failure recorded. */
enum suite_model_kind { SUITE_MODEL_CHAT = 0, SUITE_MODEL_EMBEDDING = 1 };
char *suite_model_at(const envconn_t *env, enum suite_model_kind kind, const char *file, int line);
#define suite_model(env, kind) suite_model_at(env, kind, __FILE__, __LINE__)
/* Chat completion for a question (model: suite_model CHAT): the assistant's
 * text (malloc'ed), or NULL with a failure recorded. */
char *suite_chat_answer_at(const envconn_t *env, const char *question, const char *file, int line);
#define suite_chat_answer(env, q) suite_chat_answer_at(env, q, __FILE__, __LINE__)
/* Embedding of text via /v1/embeddings (new reference), or NULL with a failure recorded. */
json_t *suite_embed_at(const envconn_t *env, const char *text, const char *file, int line);
#define suite_embed(env, text) suite_embed_at(env, text, __FILE__, __LINE__)
/* The SQL inside an LLM answer: the body of a ```sql fence if present, else the text trimmed
 * (malloc'ed). */
char *suite_extract_sql(const char *answer);
/* Clears a mock's faults (DELETE /__admin/faults); 0 or -1 (failure recorded). Not POST
 * /__admin/reset: that also clears the request journal, which suites running beside this one may
 * be reading. */
int suite_mock_clear_faults_at(const char *base, const char *file, int line);
#define suite_mock_clear_faults(base) suite_mock_clear_faults_at(base, __FILE__, __LINE__)

/* ---- the mocks' fault API (POST /__admin/faults -> {"id"}, DELETE /__admin/faults/{id}) ---- */
long mock_fault_add_at(const char *base, const json_t *fault, const char *file, int line);
#define mock_fault_add(base, fault) mock_fault_add_at(base, fault, __FILE__, __LINE__)
int mock_fault_remove_at(const char *base, long id, const char *file, int line);
#define mock_fault_remove(base, id) mock_fault_remove_at(base, id, __FILE__, __LINE__)
/* Journal entries of a mock whose body contains text (new reference: an array). */
json_t *mock_journal_find_at(const char *base, const char *text, const char *file, int line);
#define mock_journal_find(base, text) mock_journal_find_at(base, text, __FILE__, __LINE__)

#endif
