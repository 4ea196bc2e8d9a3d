#include "csv_differential.h"

#include <stdio.h>
#include <string.h>

int csv_read_pieces(const fx_table_t *t, const char *where, const char *data, size_t size,
                    size_t chunk, envmgr_buf_t *out, envmgr_error_t *err, char **cols)
{
    fx_csv_t c;
    fx_csv_init(&c, t, where);
    int r = 0;
    for (size_t i = 0; i < size && r == 0; i += chunk)
        r = fx_csv_feed(&c, data + i, size - i < chunk ? size - i : chunk, out, err);
    if (r == 0)
        r = fx_csv_finish(&c, out, err);
    if (cols)
        *cols = fx_csv_column_list(&c);
    fx_csv_free(&c);
    return r;
}

typedef struct csv_result {
    int r;
    envmgr_buf_t out;
    envmgr_error_t err;
} csv_result_t;

static void csv_read(const fx_table_t *t, const uint8_t *data, size_t size, size_t chunk,
                     csv_result_t *res)
{
    res->r = csv_read_pieces(t, "fuzz:t.csv", (const char *)data, size, chunk, &res->out, &res->err,
                             NULL);
}

int csv_differential(const uint8_t *data, size_t size, char *why, size_t why_len)
{
    if (size == 0)
        return 0;
    uint8_t mode = data[0];
    fx_column_t cols[] = {
        {.name = "a", .type = FX_COL_INT, .min = -100, .max = 100000},
        {.name = "b", .type = FX_COL_VARCHAR, .length = 8},
        {.name = "c", .type = FX_COL_DECIMAL, .precision = 6, .scale = 2},
        {.name = "d", .type = FX_COL_DATE, .not_null = true},
    };
    fx_table_t t = {
        .table = "t",
        .file = "t.csv",
        .delimiter = (mode & 1) ? '\t' : ',',
        .header = (mode & 2) == 0,
        .null_token = (mode & 4) ? "NULL" : "\\N",
        .empty = (mode & 8) ? FX_EMPTY_NULL : FX_EMPTY_STRING,
        .columns = (mode & 16) ? cols : NULL,
        .n_columns = (mode & 16) ? 4 : 0,
    };
    csv_result_t cut = {.out = ENVMGR_BUF_INIT}, whole = {.out = ENVMGR_BUF_INIT};
    csv_read(&t, data + 1, size - 1, 1 + (size_t)(mode >> 5) * 7, &cut);
    csv_read(&t, data + 1, size - 1, size, &whole);
    int r = 0;
    if (cut.r != whole.r)
        r = snprintf(why, why_len, "read in pieces: %d (%s), whole: %d (%s)", cut.r,
                     cut.err.message, whole.r, whole.err.message);
    else if (cut.r < 0 && strcmp(cut.err.message, whole.err.message) != 0)
        r = snprintf(why, why_len, "errors differ: `%s` vs `%s`", cut.err.message,
                     whole.err.message);
    else if (cut.r == 0 && (cut.out.len != whole.out.len ||
                            (cut.out.len && memcmp(cut.out.data, whole.out.data, cut.out.len))))
        r = snprintf(why, why_len, "outputs differ: `%s` vs `%s`", cut.out.data ? cut.out.data : "",
                     whole.out.data ? whole.out.data : "");
    else if (cut.r == 0 && cut.out.len > 0 && cut.out.data[cut.out.len - 1] != '\n')
        r = snprintf(why, why_len, "a completed row does not end with a newline");
    envmgr_buf_free(&cut.out);
    envmgr_buf_free(&whole.out);
    return r > 0 ? -1 : 0;
}
