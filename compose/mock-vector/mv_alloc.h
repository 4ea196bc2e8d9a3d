/* Allocation for mock-vector: aborts on out-of-memory (a mock has no better recovery). */
#ifndef MOCK_VECTOR_ALLOC_H
#define MOCK_VECTOR_ALLOC_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline void *mv_oom(size_t size)
{
    fprintf(stderr, "mock-vector: out of memory allocating %zu bytes\n", size);
    abort();
}

static inline void *mv_malloc(size_t size)
{
    void *p = malloc(size ? size : 1);
    return p ? p : mv_oom(size);
}

static inline void *mv_calloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    return p ? p : mv_oom(n * size);
}

static inline void *mv_realloc(void *old, size_t size)
{
    void *p = realloc(old, size ? size : 1);
    return p ? p : mv_oom(size);
}

static inline char *mv_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    return memcpy(mv_malloc(n), s, n);
}

#endif
