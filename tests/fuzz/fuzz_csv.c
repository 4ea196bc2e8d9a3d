/* libFuzzer target: the streaming CSV/TSV reader. The first byte picks delimiter, NULL/empty
 * handling, declared column types and the chunk size, so that state carried across feeds is
 * exercised. Corpus in tests/fuzz/corpus/csv/. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fixture_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
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
    size_t chunk = 1 + (mode >> 5) * 7;
    fx_csv_t c;
    envmgr_buf_t out = ENVMGR_BUF_INIT;
    envmgr_error_t err = {0};
    fx_csv_init(&c, &t, "fuzz:t.csv");
    int r = 0;
    for (size_t i = 1; i < size && r == 0; i += chunk)
        r = fx_csv_feed(&c, (const char *)data + i, size - i < chunk ? size - i : chunk, &out,
                        &err);
    if (r == 0)
        r = fx_csv_finish(&c, &out, &err);
    if (r == 0 && out.len > 0 && out.data[out.len - 1] != '\n')
        __builtin_trap(); /* every completed row ends with a newline */
    fx_csv_free(&c);
    envmgr_buf_free(&out);
    return 0;
}
