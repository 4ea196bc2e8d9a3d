/* libFuzzer target for the mock-vector engine (compose/mock-vector): one input is a sequence of
 * requests "METHOD PATH\nBODY" separated by a line "\x1e\n", run against one engine that already
 * holds a small collection, so that filters, searches and updates meet real points.
 *
 * Build: cmake -DENVTEST_FUZZ=ON -DCMAKE_C_COMPILER=clang ...; make fuzz_mock_vector
 * Run:   ./tests/fuzz_mock_vector -max_total_time=60 tests/fuzz/corpus/mock_vector */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "qdrant.h"

static void run(qdrant_t *q, const char *method, const char *target, const char *body)
{
    qdrant_response_t res;
    int status = qdrant_handle(q, method, target, body, strlen(body), &res);
    if (status < 100 || status > 599 || !res.body || strlen(res.body) != res.body_len)
        abort();
    qdrant_response_clear(&res);
}

static void seed_collection(qdrant_t *q)
{
    run(q, "PUT", "/collections/c", "{\"vectors\":{\"size\":3,\"distance\":\"Cosine\"}}");
    run(q, "PUT", "/collections/e", "{\"vectors\":{\"size\":2,\"distance\":\"Euclid\"}}");
    run(q, "PUT", "/collections/c/points",
        "{\"points\":[{\"id\":1,\"vector\":[1,0,0],\"payload\":{\"a\":1,\"t\":[\"x\",\"y\"],"
        "\"o\":{\"b\":\"s\"}}},{\"id\":\"5c56c793-69f3-4fbf-87e6-c4bf54c28c26\",\"vector\":"
        "[0,1,0],\"payload\":{\"a\":2.5,\"n\":null,\"arr\":[{\"k\":1},{\"k\":2}]}},{\"id\":3,"
        "\"vector\":[0,0,0]}]}");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *input = malloc(size + 1);
    memcpy(input, data, size);
    input[size] = '\0';
    qdrant_t *q = qdrant_new();
    seed_collection(q);
    char *cursor = input, *end = input + size;
    for (int n = 0; cursor < end && n < 16; n++) {
        char *seg_end = memmem(cursor, (size_t)(end - cursor), "\x1e\n", 2);
        char *next = seg_end ? seg_end + 2 : end;
        if (!seg_end)
            seg_end = end;
        *seg_end = '\0';
        char *newline = memchr(cursor, '\n', (size_t)(seg_end - cursor));
        char *body = seg_end;
        if (newline) {
            *newline = '\0';
            body = newline + 1;
        }
        char *space = strchr(cursor, ' ');
        if (space) {
            *space = '\0';
            /* the body may hold NUL bytes: it is passed with its length */
            qdrant_response_t res;
            int status = qdrant_handle(q, cursor, space + 1, body, (size_t)(seg_end - body), &res);
            if (status < 100 || status > 599 || !res.body || strlen(res.body) != res.body_len)
                abort();
            qdrant_response_clear(&res);
        }
        cursor = next;
    }
    qdrant_free(q);
    free(input);
    return 0;
}
