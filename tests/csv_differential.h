/* The CSV reader's differential check, shared by the fuzz target and the unit test that replays
 * its corpus: one input read in the chunk size its first byte picks and read in one piece must give
 * the same result, the same bytes and the same error (rows whole in one input take the whole-line
 * path, rows cut by a chunk the general one). */
#ifndef TESTS_CSV_DIFFERENTIAL_H
#define TESTS_CSV_DIFFERENTIAL_H

#include <stddef.h>
#include <stdint.h>

#include "fixture_internal.h"

/* Reads data[0..size) in pieces of `chunk` bytes as the member "where" of table t; returns 0 or -1
 * (err), out gets the re-encoded rows and, when cols is not NULL, *cols the column list. */
int csv_read_pieces(const fx_table_t *t, const char *where, const char *data, size_t size,
                    size_t chunk, envmgr_buf_t *out, envmgr_error_t *err, char **cols);

/* 0 when both reads agree (success or failure alike); -1 with a description in why otherwise. */
int csv_differential(const uint8_t *data, size_t size, char *why, size_t why_len);

#endif
