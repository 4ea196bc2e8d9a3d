/* mock-vector: a Qdrant-compatible REST engine, transport-free. The HTTP layer hands it one request
 * (method, target with query string, body) and sends back the response it fills in. One engine
 * serves one thread (the server's loop): it has no locks. */
#ifndef MOCK_VECTOR_QDRANT_H
#define MOCK_VECTOR_QDRANT_H

#include <stddef.h>

#define QDRANT_MOCK_VERSION "1.18.0"

typedef struct qdrant qdrant_t;

typedef struct qdrant_response {
    int status;
    const char *content_type; /* static string */
    char *body;               /* malloc'ed, NUL-terminated */
    size_t body_len;
} qdrant_response_t;

qdrant_t *qdrant_new(void);
void qdrant_free(qdrant_t *q);
/* Drops every collection (the admin reset). */
void qdrant_reset(qdrant_t *q);

/* Handles one request. Always fills res (the caller frees it with qdrant_response_clear) and
 * returns res->status. body need not be NUL-terminated; body_len may be 0. */
int qdrant_handle(qdrant_t *q, const char *method, const char *target, const char *body,
                  size_t body_len, qdrant_response_t *res);
void qdrant_response_clear(qdrant_response_t *res);

/* Unfiltered searches over large collections are split over threads: by default one per online
 * CPU (at most 16), each taking at least 16384 points. */
void qdrant_set_search_threads(qdrant_t *q, size_t threads, size_t min_points_per_thread);

/* Bytes held by the stored vectors, ids and indexes of every collection (payloads excluded). */
size_t qdrant_memory(const qdrant_t *q);

#endif
