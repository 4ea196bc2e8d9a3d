/* The Seoul analysis service (sca-api) as ADR-009's 32 tests see it: its URL and keys from the
 * environment, one keep-alive libcurl handle, JSON through jansson, and the checks the four
 * suites share (rows against an independent query, the mocks' scoped faults, the audit log).
 *
 * Variables: SCA_API_URL (or ENVTEST_SCA_API_HOST/_PORT), SCA_ADMIN_KEY, SCA_READER_KEY, plus
 * what envconn.h reads (DATABASE_URL, ENVTEST_MOCK_LLM_HOST/_PORT, ...). Pointing SCA_API_URL and
 * the keys at another implementation of the API runs the same tests against it. */
#ifndef SUITES_SCA_H
#define SUITES_SCA_H

#include <stdbool.h>
#include <stddef.h>

#include "envconn.h"

typedef enum sca_role { SCA_ANON = 0, SCA_READER, SCA_ADMIN, SCA_BADKEY } sca_role_t;

typedef struct sca {
    char *url; /* SCA_API_URL without a trailing '/' */
    char *admin_key;
    char *reader_key;
    void *curl;      /* CURL *, reused: keep-alive */
    char marker[32]; /* unique to this process, e.g. "data-1a2b3c" */
    unsigned seq;
} sca_t;

/* A suite's context: the environment (first member: tests taking an envconn_t * work too), the
 * service, and one MySQL connection to the suite's clone of the fixture, made on first use. */
typedef struct suite {
    envconn_t env;
    sca_t sca;
    MYSQL *db;
    char *base_db; /* the fixture database the service reads and writes (ENVTEST_MYSQL_BASE_DATABASE
                      or ENVTEST_MYSQL_DATABASE), quoted for SQL: `seoul` */
} suite_t;

/* Loads the environment (envconn needs + the SCA variables), runs the tests, frees. A missing
 * variable is one failing test naming it (exit 1). */
int suite_main(const char *name, unsigned needs, const tap_test_t *tests, size_t n);
MYSQL *suite_db(suite_t *s); /* NULL with a failure recorded */

typedef struct sca_resp {
    long status; /* 0: no response */
    char *body;
    size_t len;
    json_t *json; /* the body parsed, or NULL */
    char *content_type;
    double ms;
    int transport_error;
    char error[256];
} sca_resp_t;
void sca_resp_free(sca_resp_t *r);
#define cleanup_sca_resp __attribute__((cleanup(sca_resp_free)))

/* One request (never records a failure). ctype NULL: application/json when body is given. */
void sca_send(sca_t *s, const char *method, const char *path, sca_role_t role, const char *ctype,
              const char *body, size_t len, sca_resp_t *out);
/* JSON in, JSON out: expects status; the parsed body (new reference) or NULL with a failure
 * recorded naming the request, the status and the body. */
json_t *sca_call_at(sca_t *s, const char *method, const char *path, sca_role_t role,
                    const json_t *body, long expect, const char *file, int line);
#define sca_call(s, m, p, role, body, st) sca_call_at(s, m, p, role, body, st, __FILE__, __LINE__)
/* Expects an error answer: status, {"error":{"code": code, "message": non-empty}}. Returns the
 * message (borrowed from *out) or NULL with a failure recorded. */
const char *sca_expect_error_at(sca_t *s, const char *method, const char *path, sca_role_t role,
                                const char *ctype, const char *body, size_t len, long status,
                                const char *code, sca_resp_t *out, const char *file, int line);
#define sca_expect_error(s, m, p, role, ct, body, len, st, code, out)                              \
    sca_expect_error_at(s, m, p, role, ct, body, len, st, code, out, __FILE__, __LINE__)

/* POST /api/v1/analysis/sql {"question"} as role; expects 200. */
json_t *sca_analysis_at(sca_t *s, const char *question, sca_role_t role, const char *file,
                        int line);
#define sca_analysis(s, q, role) sca_analysis_at(s, q, role, __FILE__, __LINE__)
/* A question only this process asks: "[tag-<marker>-<n>] question" (malloc'ed); the tag in *tag_out
 * (malloc'ed, may be NULL) for the mocks' body_contains. */
char *sca_unique(sca_t *s, const char *tag, const char *question, char **tag_out);

/* ---- checks ---- */
/* The analysis' rows equal the rows of an independent query (same order, same number of columns;
 * numbers compared as numbers with a relative 1e-9, strings byte for byte). */
int suite_rows_match_at(const json_t *rows, MYSQL *db, const char *sql, const char *file, int line);
#define suite_rows_match(rows, db, sql) suite_rows_match_at(rows, db, sql, __FILE__, __LINE__)
/* A JSON cell as text ("%lld" for integers, "%.17g" for reals, the string itself). */
char *suite_cell_text(const json_t *cell);

/* ---- audit ---- */
/* The newest audit entry now (new reference; json null when the log is empty), or NULL with a
 * failure recorded: what sca_audit_new counts from. */
json_t *sca_audit_mark_at(sca_t *s, const char *file, int line);
#define sca_audit_mark(s) sca_audit_mark_at(s, __FILE__, __LINE__)
/* The entries logged after mark (newest first, at most limit) whose method, path (NULL: any),
 * status (0: any) and role (NULL: any) match. New reference, or NULL with a failure recorded. */
json_t *sca_audit_new_at(sca_t *s, const json_t *mark, const char *method, const char *path,
                         long status, const char *role, const char *file, int line);
#define sca_audit_new(s, mark, m, p, st, role)                                                     \
    sca_audit_new_at(s, mark, m, p, st, role, __FILE__, __LINE__)

/* Milliseconds, monotonic. */
double suite_now_ms(void);
/* Counts non-overlapping occurrences of needle in hay. */
size_t suite_count(const char *hay, const char *needle);

#endif
