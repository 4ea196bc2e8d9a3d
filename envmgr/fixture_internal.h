/* envmgr_fixture internals shared by its .c files and its tests/fuzz targets. Not a public API. */
#ifndef ENVMGR_FIXTURE_INTERNAL_H
#define ENVMGR_FIXTURE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dlib.h"
#include "fixture.h"
#include "util.h"

/* ---- manifest --------------------------------------------------------------------------- */
enum fx_step_type { FX_STEP_MYSQL, FX_STEP_HTTP, FX_STEP_DOCUMENTS, FX_STEP_COPY };
enum fx_coltype {
    FX_COL_ANY, /* not declared: no client-side check */
    FX_COL_INT,
    FX_COL_DECIMAL,
    FX_COL_VARCHAR, /* also char(n); limit in characters */
    FX_COL_TEXT,
    FX_COL_DATE,
};

typedef struct fx_column {
    char *name;
    enum fx_coltype type;
    int64_t min, max;     /* FX_COL_INT */
    int precision, scale; /* FX_COL_DECIMAL */
    int64_t length;       /* FX_COL_VARCHAR (characters), FX_COL_TEXT (bytes) */
    bool not_null;
} fx_column_t;

enum fx_empty { FX_EMPTY_STRING, FX_EMPTY_NULL };

typedef struct fx_table {
    char *table;
    char *file; /* member */
    char delimiter;
    bool header;
    char *null_token; /* unquoted field equal to this is NULL (default "\N") */
    enum fx_empty empty;
    fx_column_t *columns; /* declared types, may be empty */
    size_t n_columns;
    int line; /* manifest line */
} fx_table_t;

typedef struct fx_copy_file {
    char *src;  /* member */
    char *dest; /* directory in the container */
} fx_copy_file_t;

typedef struct fx_step {
    enum fx_step_type type;
    int line;
    /* mysql */
    char **scripts;
    size_t n_scripts;
    fx_table_t *tables;
    size_t n_tables;
    /* http / documents / copy */
    char *service;
    char *method, *path, *body, *content_type;
    long expect_status;
    /* documents */
    char *file, *collection, *model, *vectors_service;
    long dimensions, batch;
    char *distance;
    /* copy */
    fx_copy_file_t *files;
    size_t n_files;
} fx_step_t;

typedef struct fx_manifest {
    char *name, *version;
    fx_step_t *steps;
    size_t n_steps;
} fx_manifest_t;

const char *fx_step_type_name(enum fx_step_type t);
/* Parses a YAML (yaml = true) or JSON manifest. where: "archive.tar.gz:envtest-fixture.yaml" for
 * messages. */
int fx_manifest_parse(const char *data, size_t len, bool yaml, const char *where,
                      fx_manifest_t **out, envmgr_error_t *err);
void fx_manifest_free(fx_manifest_t *m);
/* Calls fn for every member the manifest names (for existence checks). */
int fx_manifest_members(const fx_manifest_t *m, int (*fn)(void *ud, const char *member, int line),
                        void *ud);

/* ---- CSV: streaming reader that re-encodes rows for LOAD DATA --------------------------------
 * Input: RFC 4180 CSV (quotes, "" escapes, CRLF or LF) or TSV. Output: one line per row, fields
 * separated by TAB, escaped with backslash (\t \n \r \\ \0), NULL as \N, which LOAD DATA reads with
 *   FIELDS TERMINATED BY '\t' ESCAPED BY '\\' LINES TERMINATED BY '\n'.
 * Checks column count, UTF-8 and declared types; constant memory (one field at a time, capped). */
#define FX_CSV_MAX_FIELD (16u << 20)

typedef struct fx_csv {
    const fx_table_t *table; /* borrowed */
    const char *where;       /* "archive:member" for messages */
    /* state */
    int state;
    uint64_t line;     /* current physical line, 1-based */
    uint64_t row_line; /* line where the current row began */
    uint64_t rows;     /* data rows completed */
    size_t field_index;
    size_t n_fields_expected; /* 0 until the header (or first row) is known */
    bool quoted, header_done;
    envmgr_buf_t field;
    envmgr_strv_t header_names;
    size_t *col_map; /* header position -> index in table->columns, or SIZE_MAX */
    size_t null_len; /* strlen(table->null_token) */
    bool failed;
} fx_csv_t;

void fx_csv_init(fx_csv_t *c, const fx_table_t *table, const char *where);
void fx_csv_free(fx_csv_t *c);
/* Feeds input; appends re-encoded rows to out. Returns 0 or -1 (err names where and line). */
int fx_csv_feed(fx_csv_t *c, const char *data, size_t len, envmgr_buf_t *out, envmgr_error_t *err);
/* End of input: completes a last row without a newline; fails inside an open quote. */
int fx_csv_finish(fx_csv_t *c, envmgr_buf_t *out, envmgr_error_t *err);
/* "(`a`,`b`)" for LOAD DATA, from the header row; empty before the header was read. */
char *fx_csv_column_list(const fx_csv_t *c);
bool fx_utf8_valid(const unsigned char *s, size_t len);

/* ---- archive members ---------------------------------------------------------------------- */
typedef struct fx_member_info {
    char *path;
    int64_t size;
    char sha256[65];
} fx_member_info_t;

/* A forward pass over the archive that checks every entry it passes (fixture.c). */
typedef struct fx_scan fx_scan_t;

struct envmgr_fixture {
    char *path;         /* archive on disk */
    char *display_name; /* basename, for messages */
    char digest[65];
    envmgr_fixture_limits_t limits;
    fx_manifest_t *manifest;
    fx_member_info_t *members; /* every regular file, once the whole archive was checked */
    size_t n_members;
    bool checked;    /* every entry checked (open, or a load's scan reached the end) */
    fx_scan_t *tail; /* the scan the last reader left: the next reader goes on from there */
};

/* Checks the entries no scan has passed yet (at most one more pass, from where the last reader
 * stopped) and that every member the manifest names exists. A no-op once done. */
int fx_fixture_check_all(envmgr_fixture_t *f, envmgr_error_t *err);

/* A reader positioned on one member's data, enforcing size and ratio limits while reading. */
typedef struct fx_reader {
    struct archive *a;
    fx_scan_t *scan; /* owned; handed to fixture->tail on close */
    envmgr_fixture_t *fixture;
    char *member;
    char *where; /* "archive:member" */
    int64_t read_bytes;
    int64_t compressed_start;
    bool eof;
} fx_reader_t;

/* Opens the archive and advances to member; ENVMGR_E_NOT_FOUND when absent. */
int fx_reader_open(envmgr_fixture_t *f, const char *member, fx_reader_t *r, envmgr_error_t *err);
/* Reads up to len bytes; returns the count (0 at end) or -1. */
ssize_t fx_reader_read(fx_reader_t *r, void *buf, size_t len, envmgr_error_t *err);
/* Reads a whole member (capped at max bytes) into *out (NUL-terminated). */
int fx_read_member(envmgr_fixture_t *f, const char *member, size_t max, char **out, size_t *len,
                   envmgr_error_t *err);
void fx_reader_close(fx_reader_t *r);
/* Refuses unsafe entry types and paths; shared by open and pack. */
int fx_check_entry(const char *where_archive, struct archive_entry *e, envmgr_error_t *err);

/* ---- steps ---------------------------------------------------------------------------------- */
typedef struct fx_load_ctx {
    envmgr_fixture_t *fixture;
    const envmgr_fixture_targets_t *targets;
    envmgr_fixture_progress_cb progress;
    void *userdata;
    size_t step_index;
    struct fx_mysql *mysql;          /* opened on the first mysql step */
    envmgr_strv_t collections;       /* created by this load: deleted on failure */
    envmgr_kvlist_t collection_urls; /* collection -> base url */
} fx_load_ctx_t;

const envmgr_fixture_service_t *fx_find_service(const envmgr_fixture_targets_t *t,
                                                const char *name);
void fx_report(fx_load_ctx_t *ctx, const char *type, const char *target, uint64_t rows,
               uint64_t bytes, int64_t start_ms, bool done);

int fx_mysql_step(fx_load_ctx_t *ctx, const fx_step_t *step, envmgr_error_t *err);
/* Commits (drops the swapped-out tables) or rolls back every table this load swapped in. */
int fx_mysql_finish(fx_load_ctx_t *ctx, bool success, envmgr_error_t *err);
int fx_mysql_verify(envmgr_fixture_t *f, const envmgr_fixture_targets_t *t, json_t *checks,
                    envmgr_error_t *err);
int fx_http_step(fx_load_ctx_t *ctx, const fx_step_t *step, envmgr_error_t *err);
int fx_documents_step(fx_load_ctx_t *ctx, const fx_step_t *step, envmgr_error_t *err);
void fx_documents_rollback(fx_load_ctx_t *ctx);
int fx_documents_verify(envmgr_fixture_t *f, const envmgr_fixture_targets_t *t, json_t *checks,
                        envmgr_error_t *err);
int fx_copy_step(fx_load_ctx_t *ctx, const fx_step_t *step, envmgr_error_t *err);

/* SQL scripts are split on ';' outside quotes, backquotes and comments; cb gets each non-empty
 * statement and its first line. Exposed for tests. */
typedef int (*fx_stmt_cb)(void *ud, const char *sql, size_t len, int line, envmgr_error_t *err);
int fx_sql_split_for_tests(const char *s, size_t len, fx_stmt_cb cb, void *ud, envmgr_error_t *err);

/* HTTP helper (libcurl): body may be NULL. *reply gets the body (NUL-terminated). */
int fx_http_request(const char *method, const char *url, const char *content_type, const char *body,
                    size_t body_len, long *status, char **reply, envmgr_error_t *err);

#endif
