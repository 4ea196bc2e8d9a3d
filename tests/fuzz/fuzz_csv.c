/* libFuzzer target: the streaming CSV/TSV reader. The first byte picks delimiter, NULL/empty
 * handling, declared column types and the chunk size, so that state carried across feeds is
 * exercised; the same input read in one piece must give the same result (tests/csv_differential.c).
 * Corpus in tests/fuzz/corpus/csv/, also replayed by test_fixture. */
#include <stdio.h>

#include "csv_differential.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char why[4096];
    if (csv_differential(data, size, why, sizeof(why)) < 0) {
        fprintf(stderr, "csv differential: %s\n", why);
        __builtin_trap();
    }
    return 0;
}
