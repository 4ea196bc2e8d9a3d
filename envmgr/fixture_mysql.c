/* mysql steps: SQL scripts split into statements (quotes and comments respected) and run one by
 * one; tables streamed out of the archive through LOAD DATA LOCAL INFILE with a local-infile
 * handler (no temporary file), each into a staging table created LIKE its target (on two
 * connections at once, see below) and swapped in with one RENAME TABLE per step. The swapped-out
 * tables are kept until the whole fixture loaded, so a failure anywhere restores them: the database
 * never holds partial data. */
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fixture_internal.h"
#include "log.h"

#define MAX_SCRIPT (64u << 20)
#define CHUNK (64 * 1024)

typedef struct fx_swap {
    char *table;
    char *old; /* the table it replaced, kept until commit */
    uint64_t rows;
    char checksum[32]; /* CHECKSUM TABLE of the loaded rows, recorded for verify */
} fx_swap_t;

struct fx_mysql {
    MYSQL *conn;
    MYSQL *aux; /* second connection: CHECKSUM TABLE while conn builds the keys; may be NULL */
    bool aux_tried;
    fx_swap_t *swaps;
    size_t n_swaps;
};

static int sql_error(MYSQL *c, envmgr_error_t *err, const char *what)
{
    return envmgr_error_set(err, ENVMGR_E_ENV, (int)mysql_errno(c), "%s: MySQL error %u: %s", what,
                            mysql_errno(c), mysql_error(c));
}

static int sql_exec(MYSQL *c, const char *sql, envmgr_error_t *err)
{
    int64_t start = envmgr_now_ms();
    if (mysql_real_query(c, sql, strlen(sql)) != 0)
        return sql_error(c, err, sql);
    MYSQL_RES *res = mysql_store_result(c);
    if (res)
        mysql_free_result(res);
    envmgr_debug("mysql: %.60s%s in %" PRId64 " ms", sql, strlen(sql) > 60 ? "..." : "",
                 envmgr_now_ms() - start);
    return 0;
}

static MYSQL *mysql_connect(const envmgr_fixture_targets_t *t, envmgr_error_t *err)
{
    if (t == NULL || t->mysql.host == NULL) {
        envmgr_error_set(err, ENVMGR_E_USAGE, 0, "no MySQL target given for a mysql step");
        envmgr_error_hint(err, "load the fixture into an environment with a MySQL service");
        return NULL;
    }
    if (envmgr_dl_mysql(err) < 0)
        return NULL;
    MYSQL *c = mysql_init(NULL);
    unsigned int timeout = 10;
    my_bool on = 1;
    mysql_options(c, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    mysql_options(c, MYSQL_OPT_LOCAL_INFILE, &on);
    mysql_options(c, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
    /* bounded waits: a lost reply fails the load (and rolls it back) instead of hanging */
    unsigned int io_timeout = 900;
    mysql_options(c, MYSQL_OPT_READ_TIMEOUT, &io_timeout);
    mysql_options(c, MYSQL_OPT_WRITE_TIMEOUT, &io_timeout);
    if (mysql_real_connect(c, t->mysql.host, t->mysql.user, t->mysql.password, t->mysql.database,
                           t->mysql.port, NULL, 0) == NULL) {
        envmgr_error_set(err, ENVMGR_E_ENV, (int)mysql_errno(c),
                         "cannot connect to MySQL at %s:%u as %s: %s", t->mysql.host, t->mysql.port,
                         t->mysql.user ? t->mysql.user : "(default)", mysql_error(c));
        mysql_close(c);
        return NULL;
    }
    if (sql_exec(c, "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION'", err) < 0) {
        mysql_close(c);
        return NULL;
    }
    return c;
}

/* ---- scripts ------------------------------------------------------------------------------- */
typedef fx_stmt_cb stmt_cb;

/* Splits SQL on ';' outside quotes, backquotes and comments; calls cb with each non-empty
 * statement and its first line. */
static int split_sql(const char *s, size_t len, stmt_cb cb, void *ud, envmgr_error_t *err)
{
    size_t start = 0;
    int line = 1, start_line = 1;
    bool content = false;
    for (size_t i = 0; i <= len; i++) {
        char ch = i < len ? s[i] : ';';
        if (ch == '\n')
            line++;
        if (i < len && (ch == '\'' || ch == '"' || ch == '`')) {
            char q = ch;
            for (i++; i < len && s[i] != q; i++) {
                if (s[i] == '\n')
                    line++;
                if (s[i] == '\\' && q != '`' && i + 1 < len)
                    line += s[++i] == '\n';
            }
            content = true;
            continue;
        }
        if (i + 1 < len &&
            ((ch == '-' && s[i + 1] == '-' &&
              (i + 2 >= len || s[i + 2] == ' ' || s[i + 2] == '\t' || s[i + 2] == '\n')) ||
             ch == '#')) {
            while (i < len && s[i] != '\n')
                i++;
            line++;
            continue;
        }
        if (i + 1 < len && ch == '/' && s[i + 1] == '*') {
            bool keep = i + 2 < len && s[i + 2] == '!'; /* executable comment: part of the SQL */
            for (i += 2; i + 1 < len && !(s[i] == '*' && s[i + 1] == '/'); i++)
                line += s[i] == '\n';
            i++;
            content |= keep;
            continue;
        }
        if (ch == ';') {
            if (content && cb(ud, s + start, i - start, start_line, err) < 0)
                return -1;
            start = i + 1;
            content = false;
            continue;
        }
        if (!content && ch != ' ' && ch != '\t' && ch != '\n' && ch != '\r') {
            content = true;
            start = i;
            start_line = line;
        }
    }
    return 0;
}

typedef struct script_ctx {
    MYSQL *conn;
    const char *where;
} script_ctx_t;

static int run_statement(void *ud, const char *sql, size_t len, int line, envmgr_error_t *err)
{
    script_ctx_t *sc = ud;
    if (len >= 9 && strncasecmp(sql, "DELIMITER", 9) == 0)
        return envmgr_error_set(err, ENVMGR_E_CONFIG, 0,
                                "%s:%d: DELIMITER is a mysql client command, not SQL: end "
                                "statements with ;",
                                sc->where, line);
    if (mysql_real_query(sc->conn, sql, len) != 0)
        return envmgr_error_set(err, ENVMGR_E_ENV, (int)mysql_errno(sc->conn),
                                "%s:%d: MySQL error %u: %s", sc->where, line, mysql_errno(sc->conn),
                                mysql_error(sc->conn));
    do {
        MYSQL_RES *res = mysql_store_result(sc->conn);
        if (res)
            mysql_free_result(res);
    } while (mysql_next_result(sc->conn) == 0);
    return 0;
}

static int run_script(fx_load_ctx_t *ctx, const char *member, envmgr_error_t *err)
{
    cleanup_free char *sql = NULL;
    size_t len;
    if (fx_read_member(ctx->fixture, member, MAX_SCRIPT, &sql, &len, err) < 0)
        return -1;
    cleanup_free char *where = xasprintf("%s:%s", ctx->fixture->display_name, member);
    if (!fx_utf8_valid((const unsigned char *)sql, len))
        return envmgr_error_set(err, ENVMGR_E_CONFIG, 0, "%s: invalid UTF-8", where);
    script_ctx_t sc = {ctx->mysql->conn, where};
    return split_sql(sql, len, run_statement, &sc, err);
}

int fx_sql_split_for_tests(const char *s, size_t len, stmt_cb cb, void *ud, envmgr_error_t *err)
{
    return split_sql(s, len, cb, ud, err);
}

/* ---- streamed tables ------------------------------------------------------------------------
 * A producer thread reads the member, checks and re-encodes its rows and cuts them into chunks of
 * whole rows; chunk k goes to stream k % n_streams, each a LOAD DATA LOCAL INFILE on its own
 * connection into the same staging table (two when a second connection is available), so that the
 * server parses and inserts on two cores. Queues are bounded (QUEUE_DEPTH chunks per stream). Each
 * stream remembers which rows of the file its chunks held, so that MySQL's "at row N" of a stream
 * is reported as the file's data row and line. */
#define QUEUE_DEPTH 4
#define ROWS_CHUNK (128 * 1024) /* bytes of re-encoded rows handed to a stream at once */
#define MAX_STREAMS 2

typedef struct rows_chunk {
    char *data;
    size_t len;
    uint64_t row;       /* data row (0-based) of its first row in the file */
    uint64_t rows;      /* rows it holds */
    uint64_t line;      /* file line of its first row */
    bool one_line_rows; /* every row is one line: row k is on line + k */
} rows_chunk_t;

typedef struct row_span { /* rows [stream_row, stream_row + rows) of a stream */
    uint64_t stream_row, row, rows, line;
    bool one_line_rows;
} row_span_t;

struct loader;

typedef struct stream {
    struct loader *ld;
    MYSQL *conn;
    rows_chunk_t *ring[QUEUE_DEPTH];
    size_t head, count;
    bool closed; /* its LOAD DATA ended: it takes no more chunks */
    pthread_cond_t wake;
    rows_chunk_t *cur;
    size_t cur_pos;
    row_span_t *spans; /* kept per chunk: a few hundred bytes per MB of rows */
    size_t n_spans;
    uint64_t rows_taken;
    const char *sql;
    int mysql_rc;
    bool thread_started;
    pthread_t thread;
} stream_t;

typedef struct loader {
    fx_load_ctx_t *ctx;
    const fx_table_t *table;
    fx_reader_t reader;
    fx_csv_t csv;
    envmgr_buf_t out;
    char *in_chunk;
    uint64_t cut_rows, cut_line; /* rows and line at the last cut */
    size_t next_stream;
    pthread_mutex_t mu;
    pthread_cond_t space; /* wakes the producer */
    bool input_done;      /* every chunk was queued */
    bool failed;          /* the producer failed or gave up: streams end their LOAD DATA */
    envmgr_error_t err;   /* the producer's error (archive, CSV) */
    uint64_t rows_queued, bytes_read;
    stream_t streams[MAX_STREAMS];
    size_t n_streams;
    int64_t start_ms, last_report_ms;
} loader_t;

static void chunk_free(rows_chunk_t *c)
{
    if (c) {
        free(c->data);
        free(c);
    }
}

/* Queues the complete rows of ld->out (all of it when last) for the next stream. Producer only. */
static int loader_cut(loader_t *ld, bool last)
{
    size_t len = ld->out.len;
    if (!last) {
        const char *nl = len ? memrchr(ld->out.data, '\n', len) : NULL;
        len = nl ? (size_t)(nl - ld->out.data) + 1 : 0;
    }
    if (len == 0)
        return 0;
    rows_chunk_t *c = xcalloc(1, sizeof(*c));
    /* the chunk takes the buffer; the part of a row after the cut moves to a new one */
    size_t tail = ld->out.len - len;
    envmgr_buf_t rest = ENVMGR_BUF_INIT;
    envmgr_buf_reserve(&rest, ROWS_CHUNK + tail);
    envmgr_buf_add(&rest, ld->out.data + len, tail);
    c->data = ld->out.data;
    c->len = len;
    ld->out = rest;
    c->row = ld->cut_rows;
    c->rows = ld->csv.rows - ld->cut_rows;
    c->line = ld->cut_line;
    c->one_line_rows = ld->csv.row_line - ld->cut_line == c->rows;
    ld->cut_rows = ld->csv.rows;
    ld->cut_line = ld->csv.row_line;
    stream_t *s = &ld->streams[ld->next_stream];
    ld->next_stream = (ld->next_stream + 1) % ld->n_streams;
    pthread_mutex_lock(&ld->mu);
    while (s->count == QUEUE_DEPTH && !s->closed && !ld->failed)
        pthread_cond_wait(&ld->space, &ld->mu);
    if (s->closed || ld->failed) { /* a LOAD DATA ended early: its error is reported */
        ld->failed = true;
        pthread_cond_broadcast(&s->wake);
        pthread_mutex_unlock(&ld->mu);
        chunk_free(c);
        return -1;
    }
    s->ring[(s->head + s->count++) % QUEUE_DEPTH] = c;
    ld->rows_queued = ld->csv.rows;
    ld->bytes_read = (uint64_t)ld->reader.read_bytes;
    pthread_cond_signal(&s->wake);
    pthread_mutex_unlock(&ld->mu);
    return 0;
}

static void loader_fail(loader_t *ld, const envmgr_error_t *e)
{
    pthread_mutex_lock(&ld->mu);
    if (e && !ld->err.message[0])
        ld->err = *e;
    ld->failed = true;
    for (size_t i = 0; i < ld->n_streams; i++)
        pthread_cond_broadcast(&ld->streams[i].wake);
    pthread_mutex_unlock(&ld->mu);
}

static void *producer_main(void *arg)
{
    loader_t *ld = arg;
    envmgr_error_t e = {0};
    for (;;) {
        ssize_t n = fx_reader_read(&ld->reader, ld->in_chunk, CHUNK, &e);
        if (n < 0)
            break;
        if (n == 0) {
            if (fx_csv_finish(&ld->csv, &ld->out, &e) < 0 || loader_cut(ld, true) < 0)
                break;
            pthread_mutex_lock(&ld->mu);
            ld->input_done = true;
            for (size_t i = 0; i < ld->n_streams; i++)
                pthread_cond_broadcast(&ld->streams[i].wake);
            pthread_mutex_unlock(&ld->mu);
            return NULL;
        }
        if (fx_csv_feed(&ld->csv, ld->in_chunk, (size_t)n, &ld->out, &e) < 0)
            break;
        if (ld->out.len >= ROWS_CHUNK && loader_cut(ld, false) < 0)
            break;
    }
    loader_fail(ld, e.message[0] ? &e : NULL);
    return NULL;
}

static int infile_init(void **ptr, const char *filename, void *userdata)
{
    *ptr = userdata;
    return 0;
}

static int infile_read(void *ptr, char *buf, unsigned int len)
{
    stream_t *s = ptr;
    loader_t *ld = s->ld;
    if (s->cur == NULL || s->cur_pos == s->cur->len) {
        chunk_free(s->cur);
        s->cur = NULL;
        s->cur_pos = 0;
        pthread_mutex_lock(&ld->mu);
        while (s->count == 0 && !ld->input_done && !ld->failed)
            pthread_cond_wait(&s->wake, &ld->mu);
        bool failed = ld->failed;
        if (!failed && s->count > 0) {
            s->cur = s->ring[s->head];
            s->head = (s->head + 1) % QUEUE_DEPTH;
            s->count--;
            pthread_cond_signal(&ld->space);
        }
        uint64_t rows = ld->rows_queued, bytes = ld->bytes_read;
        pthread_mutex_unlock(&ld->mu);
        if (failed)
            return -1;
        if (s->cur == NULL)
            return 0; /* end of the rows */
        s->spans = xrealloc(s->spans, (s->n_spans + 1) * sizeof(*s->spans));
        s->spans[s->n_spans++] = (row_span_t){s->rows_taken, s->cur->row, s->cur->rows,
                                              s->cur->line, s->cur->one_line_rows};
        s->rows_taken += s->cur->rows;
        int64_t now = envmgr_now_ms();
        if (s == &ld->streams[0] && now - ld->last_report_ms >= 250) {
            ld->last_report_ms = now; /* progress is reported from the calling thread only */
            fx_report(ld->ctx, "mysql", ld->table->table, rows, bytes, ld->start_ms, false);
        }
    }
    size_t avail = s->cur->len - s->cur_pos;
    size_t n = avail < len ? avail : len;
    memcpy(buf, s->cur->data + s->cur_pos, n);
    s->cur_pos += n;
    return (int)n;
}

static void infile_end(void *ptr)
{
}

static int infile_error(void *ptr, char *msg, unsigned int len)
{
    /* the producer's error (archive, CSV line) is reported instead of this one */
    snprintf(msg, len, "%s", "fixture read failed");
    return 2000;
}

/* Runs one stream's LOAD DATA; on its end (either way) the producer stops feeding it. */
static void *stream_main(void *arg)
{
    stream_t *s = arg;
    MYSQL *c = s->conn;
    mysql_set_local_infile_handler(c, infile_init, infile_read, infile_end, infile_error, s);
    s->mysql_rc = mysql_real_query(c, s->sql, strlen(s->sql));
    mysql_set_local_infile_default(c);
    pthread_mutex_lock(&s->ld->mu);
    s->closed = true;
    pthread_cond_broadcast(&s->ld->space);
    pthread_mutex_unlock(&s->ld->mu);
    return NULL;
}

static char *stage_name(const char *prefix, const char *table)
{
    return xasprintf("%s%.*s", prefix, (int)(64 - strlen(prefix)), table);
}

static int table_exists(MYSQL *c, const char *table, bool *exists, envmgr_error_t *err)
{
    char esc[200];
    mysql_real_escape_string(c, esc, table, strlen(table));
    cleanup_free char *q = xasprintf("SELECT 1 FROM information_schema.tables WHERE "
                                     "table_schema = DATABASE() AND table_name = '%s'",
                                     esc);
    if (mysql_query(c, q) != 0)
        return sql_error(c, err, "look up table");
    MYSQL_RES *res = mysql_store_result(c);
    *exists = res && mysql_num_rows(res) > 0;
    if (res)
        mysql_free_result(res);
    return 0;
}

/* Where the stream's row n (1-based, as MySQL counts in "at row n") came from in the file. */
static void stream_row_where(const stream_t *s, uint64_t n, char *out, size_t len)
{
    for (size_t i = 0; i < s->n_spans; i++) {
        const row_span_t *sp = &s->spans[i];
        if (n - 1 < sp->stream_row || n - 1 >= sp->stream_row + sp->rows)
            continue;
        uint64_t k = n - 1 - sp->stream_row;
        if (sp->one_line_rows)
            snprintf(out, len, "%" PRIu64 ": data row %" PRIu64, sp->line + k, sp->row + k + 1);
        else
            snprintf(out, len, "data row %" PRIu64 " (lines %" PRIu64 "-%" PRIu64 ")",
                     sp->row + k + 1, sp->line, sp->line + sp->rows);
        return;
    }
    snprintf(out, len, "data row ?");
}

/* LOAD DATA ... LOCAL with errors downgraded to warnings: the first warning fails the load. */
static int check_warnings(const stream_t *s, const char *where, envmgr_error_t *err)
{
    MYSQL *c = s->conn;
    if (mysql_warning_count(c) == 0)
        return 0;
    char msg[512] = "unknown warning";
    if (mysql_query(c, "SHOW WARNINGS LIMIT 1") == 0) {
        MYSQL_RES *res = mysql_store_result(c);
        MYSQL_ROW row = res ? mysql_fetch_row(res) : NULL;
        if (row && row[2])
            snprintf(msg, sizeof(msg), "%s", row[2]);
        if (res)
            mysql_free_result(res);
    }
    const char *at = strstr(msg, "at row ");
    unsigned long long row = at ? strtoull(at + 7, NULL, 10) : 0;
    if (row > 0) {
        char pos[128];
        stream_row_where(s, row, pos, sizeof(pos));
        return envmgr_error_set(err, ENVMGR_E_CONFIG, 0, "%s:%s: MySQL refused a value: %s", where,
                                pos, msg);
    }
    return envmgr_error_set(err, ENVMGR_E_CONFIG, 0, "%s: MySQL refused a value: %s", where, msg);
}

/* Streams the member's rows into stage on n_streams connections (conns[0] on this thread). */
static int load_into(loader_t *ld, MYSQL **conns, size_t n_streams, const char *stage,
                     envmgr_error_t *err)
{
    MYSQL *c = conns[0];
    /* the header gives the column list: read until it was parsed */
    while (!ld->csv.header_done) {
        ssize_t n = fx_reader_read(&ld->reader, ld->in_chunk, CHUNK, err);
        if (n < 0)
            return -1;
        if (n == 0)
            return fx_csv_finish(&ld->csv, &ld->out, err);
        if (fx_csv_feed(&ld->csv, ld->in_chunk, (size_t)n, &ld->out, err) < 0)
            return -1;
    }
    /* the first data row: the line after the header (a blank or multi-line row before it only
     * makes the first chunk's lines a range) */
    ld->cut_line = ld->table->header ? 2 : 1;
    cleanup_free char *cols = fx_csv_column_list(&ld->csv);
    char esc[512];
    mysql_real_escape_string(c, esc, ld->table->file, strlen(ld->table->file));
    cleanup_free char *q = xasprintf(
        "LOAD DATA LOCAL INFILE '%s' INTO TABLE `%s` CHARACTER SET utf8mb4 FIELDS TERMINATED BY "
        "'\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' %s",
        esc, stage, cols);
    ld->n_streams = n_streams;
    for (size_t i = 0; i < n_streams; i++) {
        stream_t *s = &ld->streams[i];
        s->ld = ld;
        s->conn = conns[i];
        s->sql = q;
        pthread_cond_init(&s->wake, NULL);
    }
    pthread_t producer;
    bool producer_started = pthread_create(&producer, NULL, producer_main, ld) == 0;
    if (!producer_started)
        loader_fail(ld, NULL);
    for (size_t i = 1; i < n_streams; i++)
        ld->streams[i].thread_started =
            pthread_create(&ld->streams[i].thread, NULL, stream_main, &ld->streams[i]) == 0;
    for (size_t i = 1; i < n_streams; i++)
        if (!ld->streams[i].thread_started)
            loader_fail(ld, NULL);
    stream_main(&ld->streams[0]);
    for (size_t i = 1; i < n_streams; i++)
        if (ld->streams[i].thread_started)
            pthread_join(ld->streams[i].thread, NULL);
    if (producer_started)
        pthread_join(producer, NULL);
    int r = 0;
    uint64_t affected = 0;
    if (ld->err.message[0]) {
        r = envmgr_error_set(err, ld->err.kind ? ld->err.kind : ENVMGR_E_CONFIG, ld->err.code, "%s",
                             ld->err.message);
    }
    for (size_t i = 0; i < n_streams && r == 0; i++) {
        stream_t *s = &ld->streams[i];
        if (s->mysql_rc != 0 && mysql_errno(s->conn) != 2000)
            r = envmgr_error_set(err, ENVMGR_E_ENV, (int)mysql_errno(s->conn),
                                 "%s: MySQL error %u: %s", ld->reader.where, mysql_errno(s->conn),
                                 mysql_error(s->conn));
    }
    for (size_t i = 0; i < n_streams && r == 0; i++) {
        stream_t *s = &ld->streams[i];
        if (s->mysql_rc != 0)
            r = envmgr_error_set(err, ENVMGR_E_ENV, (int)mysql_errno(s->conn),
                                 "%s: MySQL error %u: %s", ld->reader.where, mysql_errno(s->conn),
                                 mysql_error(s->conn));
        else if ((r = check_warnings(s, ld->reader.where, err)) == 0)
            affected += mysql_affected_rows(s->conn);
    }
    if (r == 0 && !ld->input_done)
        r = envmgr_error_set(err, ENVMGR_E_ENV, 0, "%s: the load stopped early", ld->reader.where);
    if (r == 0 && affected != ld->csv.rows)
        r = envmgr_error_set(err, ENVMGR_E_ENV, 0,
                             "%s: MySQL loaded %" PRIu64 " rows, the file has %" PRIu64,
                             ld->reader.where, affected, ld->csv.rows);
    for (size_t i = 0; i < n_streams; i++) {
        stream_t *s = &ld->streams[i];
        chunk_free(s->cur);
        for (size_t k = 0; k < s->count; k++)
            chunk_free(s->ring[(s->head + k) % QUEUE_DEPTH]);
        free(s->spans);
        pthread_cond_destroy(&s->wake);
    }
    return r;
}

static int table_checksum(MYSQL *c, const char *table, char out[32], envmgr_error_t *err)
{
    cleanup_free char *q = xasprintf("CHECKSUM TABLE `%s`", table);
    if (mysql_query(c, q) != 0)
        return sql_error(c, err, q);
    MYSQL_RES *res = mysql_store_result(c);
    MYSQL_ROW row = res ? mysql_fetch_row(res) : NULL;
    snprintf(out, 32, "%s", row && row[1] ? row[1] : "NULL");
    if (res)
        mysql_free_result(res);
    return 0;
}

/* ---- secondary keys, built after the load -------------------------------------------------------
 * Plain secondary keys (SHOW CREATE TABLE's "  KEY `name` (...)" lines; not PRIMARY, UNIQUE,
 * FULLTEXT or SPATIAL) are dropped from the empty staging table and added back once the rows are
 * in, so that the server builds each one by a sort instead of a random B-tree insert per row.
 * Unique keys stay, so that a duplicate is refused by the load with its row. The definitions are
 * the server's own text, valid on MariaDB and MySQL alike. */
static int deferrable_keys(MYSQL *c, const char *stage, envmgr_strv_t *defs, envmgr_buf_t *drop,
                           envmgr_error_t *err)
{
    cleanup_free char *q = xasprintf("SHOW CREATE TABLE `%s`", stage);
    if (mysql_query(c, q) != 0)
        return sql_error(c, err, q);
    MYSQL_RES *res = mysql_store_result(c);
    MYSQL_ROW row = res ? mysql_fetch_row(res) : NULL;
    const char *text = row && row[1] ? row[1] : "";
    for (const char *line = text; *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        if (len > 7 && strncmp(line, "  KEY `", 7) == 0) {
            const char *def = line + 2;
            size_t def_len = len - 2;
            if (def[def_len - 1] == ',')
                def_len--;
            size_t i = 5; /* after "KEY `": the name, with `` for a backquote */
            while (i < def_len && !(def[i] == '`' && (i + 1 >= def_len || def[i + 1] != '`')))
                i += def[i] == '`' ? 2 : 1;
            cleanup_free char *one = xstrndup(def, def_len);
            envmgr_strv_push(defs, one);
            envmgr_buf_addf(drop, "%sDROP INDEX %.*s", drop->len ? ", " : "", (int)(i + 1 - 4),
                            def + 4);
        }
        line += len + (end ? 1 : 0);
    }
    if (res)
        mysql_free_result(res);
    return 0;
}

static MYSQL *aux_connection(fx_load_ctx_t *ctx)
{
    struct fx_mysql *m = ctx->mysql;
    if (!m->aux_tried) {
        envmgr_error_t ignored = {0};
        m->aux_tried = true;
        m->aux = mysql_connect(ctx->targets, &ignored);
    }
    return m->aux;
}

/* An ALTER that adds keys takes the table's metadata lock exclusively while it prepares, then
 * lets readers in while it sorts: a CHECKSUM TABLE sent before that point would hold the ALTER
 * back until it is done. Waits (at most 5 s) until the ALTER on thread id is sorting. */
static void wait_until_altering(MYSQL *aux, unsigned long id)
{
    cleanup_free char *q =
        xasprintf("SELECT state FROM information_schema.processlist WHERE id = %lu", id);
    for (int i = 0; i < 250; i++) {
        bool altering = true; /* on any doubt, go on */
        if (mysql_query(aux, q) == 0) {
            MYSQL_RES *res = mysql_store_result(aux);
            MYSQL_ROW row = res ? mysql_fetch_row(res) : NULL;
            altering = row == NULL || row[0] == NULL || strcmp(row[0], "altering table") == 0 ||
                       strstr(row[0], "sort") != NULL || strstr(row[0], "committing") != NULL;
            if (res)
                mysql_free_result(res);
        }
        if (altering)
            return;
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

/* Adds the deferred keys back and takes the checksum: the checksum on the second connection reads
 * the rows while the first builds the keys, each on its own core of the server. */
static int finish_table(fx_load_ctx_t *ctx, const char *stage, const envmgr_strv_t *keys,
                        char sum[32], envmgr_error_t *err)
{
    MYSQL *c = ctx->mysql->conn;
    if (keys->n == 0)
        return table_checksum(c, stage, sum, err);
    envmgr_buf_t q = ENVMGR_BUF_INIT;
    envmgr_buf_addf(&q, "ALTER TABLE `%s` ", stage);
    for (size_t i = 0; i < keys->n; i++)
        envmgr_buf_addf(&q, "%sADD %s", i ? ", " : "", keys->items[i]);
    MYSQL *aux = aux_connection(ctx);
    int r = 0;
    if (aux == NULL) {
        r = sql_exec(c, q.data, err);
        if (r == 0)
            r = table_checksum(c, stage, sum, err);
    } else if (mysql_send_query(c, q.data, (unsigned long)q.len) != 0) {
        r = sql_error(c, err, q.data);
    } else {
        wait_until_altering(aux, mysql_thread_id(c));
        r = table_checksum(aux, stage, sum, err);
        if (mysql_read_query_result(c) != 0) {
            envmgr_error_t keys_err = {0};
            sql_error(c, &keys_err, q.data);
            r = envmgr_error_set(err, keys_err.kind, keys_err.code, "%s", keys_err.message);
        }
    }
    envmgr_buf_free(&q);
    return r;
}

static int load_table(fx_load_ctx_t *ctx, const fx_table_t *t, const char *stage, uint64_t *rows,
                      char sum[32], envmgr_error_t *err)
{
    MYSQL *c = ctx->mysql->conn;
    bool exists = false;
    if (table_exists(c, t->table, &exists, err) < 0)
        return -1;
    if (!exists)
        return envmgr_error_set(err, ENVMGR_E_CONFIG, 0,
                                "table `%s` does not exist: create it in a script of this or an "
                                "earlier mysql step",
                                t->table);
    cleanup_free char *drop = xasprintf("DROP TABLE IF EXISTS `%s`", stage);
    cleanup_free char *create = xasprintf("CREATE TABLE `%s` LIKE `%s`", stage, t->table);
    if (sql_exec(c, drop, err) < 0 || sql_exec(c, create, err) < 0)
        return -1;
    envmgr_strv_t keys = {0};
    envmgr_buf_t drop_keys = ENVMGR_BUF_INIT;
    if (deferrable_keys(c, stage, &keys, &drop_keys, err) < 0) {
        envmgr_strv_free(&keys);
        envmgr_buf_free(&drop_keys);
        envmgr_error_t ignored = {0};
        sql_exec(c, drop, &ignored);
        return -1;
    }
    if (keys.n > 0) {
        cleanup_free char *alter = xasprintf("ALTER TABLE `%s` %s", stage, drop_keys.data);
        envmgr_error_t ignored = {0};
        if (sql_exec(c, alter, &ignored) < 0)
            envmgr_strv_free(&keys); /* not deferred: loaded with the keys in place */
    }
    envmgr_buf_free(&drop_keys);
    loader_t ld = {.ctx = ctx, .table = t, .in_chunk = xmalloc(CHUNK)};
    pthread_mutex_init(&ld.mu, NULL);
    pthread_cond_init(&ld.space, NULL);
    ld.start_ms = ld.last_report_ms = envmgr_now_ms();
    MYSQL *conns[MAX_STREAMS] = {c, aux_connection(ctx)};
    size_t n_streams = conns[1] ? 2 : 1;
    int r = fx_reader_open(ctx->fixture, t->file, &ld.reader, err);
    if (r == 0) {
        fx_csv_init(&ld.csv, t, ld.reader.where);
        int64_t t0 = envmgr_now_ms();
        r = load_into(&ld, conns, n_streams, stage, err);
        int64_t t1 = envmgr_now_ms();
        envmgr_debug("mysql: %s: %" PRIu64 " rows into `%s` on %zu connections in %" PRId64 " ms",
                     ld.reader.where, ld.csv.rows, stage, n_streams, t1 - t0);
        if (r == 0)
            r = finish_table(ctx, stage, &keys, sum, err);
        envmgr_debug("mysql: `%s`: %zu keys added back and CHECKSUM TABLE in %" PRId64 " ms", stage,
                     keys.n, envmgr_now_ms() - t1);
        if (r == 0)
            fx_report(ctx, "mysql", t->table, ld.csv.rows, (uint64_t)ld.reader.read_bytes,
                      ld.start_ms, true);
        *rows = ld.csv.rows;
        fx_csv_free(&ld.csv);
    }
    fx_reader_close(&ld.reader);
    envmgr_buf_free(&ld.out);
    free(ld.in_chunk);
    pthread_cond_destroy(&ld.space);
    pthread_mutex_destroy(&ld.mu);
    envmgr_strv_free(&keys);
    if (r < 0) {
        envmgr_error_t ignored = {0};
        sql_exec(c, drop, &ignored);
    }
    return r;
}

static void drop_tables(MYSQL *c, char **names, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        envmgr_error_t ignored = {0};
        cleanup_free char *q = xasprintf("DROP TABLE IF EXISTS `%s`", names[i]);
        sql_exec(c, q, &ignored);
    }
}

int fx_mysql_step(fx_load_ctx_t *ctx, const fx_step_t *step, envmgr_error_t *err)
{
    if (ctx->mysql == NULL) {
        MYSQL *c = mysql_connect(ctx->targets, err);
        if (c == NULL)
            return -1;
        ctx->mysql = xcalloc(1, sizeof(*ctx->mysql));
        ctx->mysql->conn = c;
    }
    MYSQL *c = ctx->mysql->conn;
    for (size_t i = 0; i < step->n_scripts; i++)
        if (run_script(ctx, step->scripts[i], err) < 0)
            return -1;
    if (step->n_tables == 0)
        return 0;
    char **stages = xcalloc(step->n_tables, sizeof(*stages));
    uint64_t *rows = xcalloc(step->n_tables, sizeof(*rows));
    char(*sums)[32] = xcalloc(step->n_tables, sizeof(*sums));
    int r = 0;
    for (size_t i = 0; i < step->n_tables && r == 0; i++) {
        stages[i] = stage_name("_envtest_new_", step->tables[i].table);
        r = load_table(ctx, &step->tables[i], stages[i], &rows[i], sums[i], err);
    }
    envmgr_buf_t q = ENVMGR_BUF_INIT;
    envmgr_buf_adds(&q, "RENAME TABLE ");
    for (size_t i = 0; i < step->n_tables && r == 0; i++) {
        cleanup_free char *old = stage_name("_envtest_old_", step->tables[i].table);
        envmgr_buf_addf(&q, "%s`%s` TO `%s`, `%s` TO `%s`", i ? ", " : "", step->tables[i].table,
                        old, stages[i], step->tables[i].table);
    }
    if (r == 0)
        r = sql_exec(c, q.data, err);
    if (r < 0) {
        drop_tables(c, stages, step->n_tables);
    } else {
        struct fx_mysql *m = ctx->mysql;
        for (size_t i = 0; i < step->n_tables; i++) {
            m->swaps = xrealloc(m->swaps, (m->n_swaps + 1) * sizeof(*m->swaps));
            m->swaps[m->n_swaps++] = (fx_swap_t){
                .table = xstrdup(step->tables[i].table),
                .old = stage_name("_envtest_old_", step->tables[i].table),
                .rows = rows[i],
            };
            memcpy(m->swaps[m->n_swaps - 1].checksum, sums[i], sizeof(sums[i]));
        }
    }
    envmgr_buf_free(&q);
    for (size_t i = 0; i < step->n_tables; i++)
        free(stages[i]);
    free(stages);
    free(rows);
    free(sums);
    return r;
}

/* ---- commit / rollback ------------------------------------------------------------------------
 */
static int record_state(fx_load_ctx_t *ctx, envmgr_error_t *err)
{
    MYSQL *c = ctx->mysql->conn;
    if (sql_exec(c,
                 "CREATE TABLE IF NOT EXISTS `" ENVMGR_FIXTURE_STATE_TABLE "` ("
                 "fixture VARCHAR(190) NOT NULL, table_name VARCHAR(64) NOT NULL, "
                 "digest CHAR(64) NOT NULL, row_count BIGINT NOT NULL, checksum BIGINT NULL, "
                 "loaded_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, "
                 "PRIMARY KEY (fixture, table_name)) DEFAULT CHARSET=utf8mb4",
                 err) < 0)
        return -1;
    char name[400];
    mysql_real_escape_string(c, name, ctx->fixture->manifest->name,
                             strnlen(ctx->fixture->manifest->name, 190));
    for (size_t i = 0; i < ctx->mysql->n_swaps; i++) {
        fx_swap_t *s = &ctx->mysql->swaps[i];
        cleanup_free char *q =
            xasprintf("REPLACE INTO `" ENVMGR_FIXTURE_STATE_TABLE "` (fixture, table_name, digest, "
                      "row_count, checksum) VALUES ('%s', '%s', '%s', %" PRIu64 ", %s)",
                      name, s->table, ctx->fixture->digest, s->rows, s->checksum);
        if (sql_exec(c, q, err) < 0)
            return -1;
    }
    return 0;
}

int fx_mysql_finish(fx_load_ctx_t *ctx, bool success, envmgr_error_t *err)
{
    struct fx_mysql *m = ctx->mysql;
    if (m == NULL)
        return 0;
    int r = 0;
    if (success) {
        r = record_state(ctx, err);
        if (r == 0) {
            for (size_t i = 0; i < m->n_swaps; i++)
                drop_tables(m->conn, &m->swaps[i].old, 1);
            goto done;
        }
    }
    /* rollback, newest first: put the old tables back */
    for (size_t i = m->n_swaps; i-- > 0;) {
        fx_swap_t *s = &m->swaps[i];
        cleanup_free char *junk = stage_name("_envtest_bad_", s->table);
        cleanup_free char *q =
            xasprintf("RENAME TABLE `%s` TO `%s`, `%s` TO `%s`", s->table, junk, s->old, s->table);
        envmgr_error_t ignored = {0};
        if (sql_exec(m->conn, q, &ignored) == 0)
            drop_tables(m->conn, &junk, 1);
        else
            envmgr_warn("fixture rollback of `%s` failed: %s", s->table, ignored.message);
    }
done:
    for (size_t i = 0; i < m->n_swaps; i++) {
        free(m->swaps[i].table);
        free(m->swaps[i].old);
    }
    free(m->swaps);
    if (m->aux)
        mysql_close(m->aux);
    mysql_close(m->conn);
    free(m);
    ctx->mysql = NULL;
    return r;
}

/* ---- verify ---------------------------------------------------------------------------------- */
static void add_check(json_t *checks, const char *target, const char *expected, const char *actual,
                      const char *message)
{
    bool ok = strcmp(expected, actual) == 0;
    json_t *c = json_pack("{s:s, s:s, s:s, s:b}", "target", target, "expected", expected, "actual",
                          actual, "ok", ok);
    if (!ok)
        json_object_set_new(c, "message", json_string(message));
    json_array_append_new(checks, c);
}

static int verify_table(MYSQL *c, envmgr_fixture_t *f, const char *table, json_t *checks,
                        envmgr_error_t *err)
{
    char name[400];
    mysql_real_escape_string(c, name, f->manifest->name, strnlen(f->manifest->name, 190));
    cleanup_free char *q =
        xasprintf("SELECT digest, row_count, checksum FROM `" ENVMGR_FIXTURE_STATE_TABLE
                  "` WHERE fixture = '%s' AND table_name = '%s'",
                  name, table);
    char digest[65] = "(not loaded)", rows[32] = "(not loaded)", sum[32] = "(not loaded)";
    if (mysql_query(c, q) == 0) {
        MYSQL_RES *res = mysql_store_result(c);
        MYSQL_ROW row = res ? mysql_fetch_row(res) : NULL;
        if (row) {
            snprintf(digest, sizeof(digest), "%s", row[0] ? row[0] : "");
            snprintf(rows, sizeof(rows), "%s", row[1] ? row[1] : "");
            snprintf(sum, sizeof(sum), "%s", row[2] ? row[2] : "NULL");
        }
        if (res)
            mysql_free_result(res);
    } else if (mysql_errno(c) != 1146 /* ER_NO_SUCH_TABLE */) {
        return sql_error(c, err, q);
    }
    cleanup_free char *t_digest = xasprintf("%s digest", table);
    cleanup_free char *m_digest =
        xasprintf("table `%s` was loaded from another archive (digest %.12s, this one %.12s)",
                  table, digest, f->digest);
    add_check(checks, t_digest, f->digest, digest, m_digest);
    cleanup_free char *count_q = xasprintf("SELECT COUNT(*) FROM `%s`", table);
    char count[32] = "(missing)";
    if (mysql_query(c, count_q) == 0) {
        MYSQL_RES *res = mysql_store_result(c);
        MYSQL_ROW row = res ? mysql_fetch_row(res) : NULL;
        snprintf(count, sizeof(count), "%s", row && row[0] ? row[0] : "");
        if (res)
            mysql_free_result(res);
    }
    char now_sum[32] = "(missing)";
    envmgr_error_t ignored = {0};
    if (strcmp(count, "(missing)") != 0 && table_checksum(c, table, now_sum, &ignored) < 0)
        snprintf(now_sum, sizeof(now_sum), "(error)");
    cleanup_free char *t_rows = xasprintf("%s rows", table);
    cleanup_free char *m_rows =
        xasprintf("table `%s` has %s rows, the fixture loaded %s", table, count, rows);
    add_check(checks, t_rows, rows, count, m_rows);
    cleanup_free char *t_sum = xasprintf("%s checksum", table);
    cleanup_free char *m_sum =
        xasprintf("table `%s` changed since the fixture loaded it (CHECKSUM TABLE %s, was %s)",
                  table, now_sum, sum);
    add_check(checks, t_sum, sum, now_sum, m_sum);
    return 0;
}

int fx_mysql_verify(envmgr_fixture_t *f, const envmgr_fixture_targets_t *t, json_t *checks,
                    envmgr_error_t *err)
{
    MYSQL *c = NULL;
    int r = 0;
    for (size_t i = 0; i < f->manifest->n_steps && r == 0; i++) {
        const fx_step_t *s = &f->manifest->steps[i];
        for (size_t k = 0; k < s->n_tables && r == 0; k++) {
            if (c == NULL && (c = mysql_connect(t, err)) == NULL)
                return -1;
            r = verify_table(c, f, s->tables[k].table, checks, err);
        }
    }
    if (c)
        mysql_close(c);
    return r;
}
