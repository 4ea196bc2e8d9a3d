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

/* Bytes held by the stored vectors, ids and indexes of every collection (payloads excluded). */
size_t qdrant_memory(const qdrant_t *q);

#endif
