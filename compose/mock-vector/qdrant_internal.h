/* Shared between the mock-vector request handlers (qdrant.c, qdrant_points.c, qdrant_search.c). */
#ifndef MOCK_VECTOR_QDRANT_INTERNAL_H
#define MOCK_VECTOR_QDRANT_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "collection.h"
#include "filter.h"
#include "qdrant.h"

struct qdrant {
    collection_t **collections;
    size_t n, cap;
    bool trim_pending; /* a large body was freed since the last heap trim */
    double last_trim;  /* seconds, monotonic */
    size_t search_threads, min_points_per_thread;
};

typedef struct request {
    const char *raw_body; /* PUT .../points on an existing collection: the unparsed body */
    size_t raw_len;
    qdrant_t *q;
    const char *method;
    char *segs[8]; /* decoded path segments */
    size_t nsegs;
    char *query;  /* raw query string or NULL */
    json_t *body; /* NULL when the body was empty */
    qdrant_response_t *res;
    double start; /* seconds, monotonic */
    bool untimed; /* no "time" member in the response */
} request_t;

/* Responses: each returns res->status. ok_result steals result. */
int reply_ok(request_t *r, json_t *result);
int reply_error(request_t *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int reply_not_found_collection(request_t *r, const char *name);
/* "Format error in JSON body: ..." (400), as serde errors are reported by Qdrant. */
int reply_format_error(request_t *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "Validation error in JSON body: ..." (422). */
int reply_validation_error(request_t *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

bool query_flag(const request_t *r, const char *name, bool fallback);
collection_t *qdrant_find(qdrant_t *q, const char *name);

/* Body helpers: return the body object (an empty object stands in for an empty body), or NULL
 * after replying 400 when it is not a JSON object. */
json_t *body_object(request_t *r);

/* Reads a JSON array of numbers into a float vector of the collection's dimension.
 * Returns a malloc'ed vector, or NULL after replying (the field is named in the message). */
float *vector_from_json(request_t *r, const collection_t *c, const json_t *v, const char *field);

/* The checks of one upsert field, each -1 after replying (the field is named in the message):
 * a vector of the collection's dimension into out, a point id, a payload (NULL or an object:
 * *out is its compact JSON, NULL when empty). */
int vector_read(request_t *r, const collection_t *c, const json_t *v, const char *field,
                float *out);
int id_from_json(request_t *r, const json_t *v, const char *field, point_id_t *out);
int payload_read(request_t *r, const json_t *v, const char *field, char **out);
/* {"operation_id", "status"} of an update. */
json_t *update_result(request_t *r, uint64_t operation);

/* Shortest decimal that reads back as the same float, as a JSON real. */
json_t *json_float(float f);
json_t *vector_to_json(const float *v, size_t dim);

/* with_payload: true/false, a list of keys, {"include": [...]}, {"exclude": [...]}. */
typedef struct payload_selector {
    bool enabled;
    const json_t *include; /* array or NULL */
    const json_t *exclude; /* array or NULL */
} payload_selector_t;
int payload_selector_parse(request_t *r, const json_t *v, bool fallback, payload_selector_t *out);
/* Bool or list of vector names; only the default vector exists here. */
int with_vector_parse(request_t *r, const json_t *v, bool *out);
json_t *payload_select(const char *payload_text, const payload_selector_t *sel);

/* Point JSON as Qdrant prints it (Record or ScoredPoint when score is non-NULL). */
json_t *point_to_json(const collection_t *c, size_t slot, const payload_selector_t *sel,
                      bool with_vector, const float *score);

/* Optional "filter" field: returns 0 and sets *filter (borrowed, NULL if absent), or replies. */
int filter_field(request_t *r, const json_t *body, const json_t **filter);
/* A validated filter with the strings every matching payload must contain (the JSON text of the
 * top-level `must` match values): payloads without them are rejected before being parsed. */
typedef struct filter_ctx {
    const json_t *filter;
    char *needles[8];
    size_t n_needles;
} filter_ctx_t;
void filter_ctx_init(filter_ctx_t *ctx, const json_t *filter);
void filter_ctx_clear(filter_ctx_t *ctx);
/* ctx: a filter_ctx_t (collection_accept_fn). */
bool filter_accept(void *ctx, const collection_t *c, size_t slot);

/* Optional unsigned field: fallback when absent or null; -1 after replying when invalid. */
int uint_field(request_t *r, const json_t *body, const char *name, size_t fallback, size_t *out);

/* Handlers. */
int handle_points_upsert(request_t *r, collection_t *c);
int handle_points_retrieve(request_t *r, collection_t *c);
int handle_point_get(request_t *r, collection_t *c, const char *id);
int handle_points_delete(request_t *r, collection_t *c);
int handle_points_count(request_t *r, collection_t *c);
int handle_points_scroll(request_t *r, collection_t *c);
int handle_points_payload(request_t *r, collection_t *c, bool overwrite);
int handle_points_search(request_t *r, collection_t *c);
int handle_points_search_batch(request_t *r, collection_t *c);
int handle_points_query(request_t *r, collection_t *c);
int handle_points_query_batch(request_t *r, collection_t *c);

#endif
