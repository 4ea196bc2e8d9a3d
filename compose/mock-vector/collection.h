/* mock-vector storage: one collection of points held as contiguous float vectors, with an id
 * index and compact-JSON payloads, and exact (brute force) top-k search. Transport-free. */
#ifndef MOCK_VECTOR_COLLECTION_H
#define MOCK_VECTOR_COLLECTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum { DISTANCE_COSINE, DISTANCE_DOT, DISTANCE_EUCLID, DISTANCE_MANHATTAN } distance_t;

const char *distance_name(distance_t d);
int distance_parse(const char *name, distance_t *out); /* 0 or -1 */

/* A point id: an unsigned integer or a UUID (stored as 16 bytes). Integers sort before UUIDs. */
typedef struct point_id {
    bool is_uuid;
    uint64_t num;
    uint8_t uuid[16];
} point_id_t;

/* Parses the hyphenated, simple (32 hex), braced and urn:uuid: forms. 0 or -1. */
int point_id_parse_uuid(const char *s, point_id_t *out);
/* Lowercase hyphenated form into buf (at least 37 bytes). */
void point_id_format_uuid(const point_id_t *id, char *buf);
int point_id_compare(const point_id_t *a, const point_id_t *b);
bool point_id_equal(const point_id_t *a, const point_id_t *b);

typedef struct collection collection_t;

collection_t *collection_new(const char *name, size_t dim, distance_t distance);
void collection_free(collection_t *c);
const char *collection_name(const collection_t *c);
size_t collection_dim(const collection_t *c);
distance_t collection_distance(const collection_t *c);
size_t collection_count(const collection_t *c);
/* Next operation id (starts at 0, one per update request). */
uint64_t collection_next_operation(collection_t *c);

/* Inserts or replaces a point. vector has dim floats (normalised here for Cosine); payload is a
 * compact JSON object string or NULL, copied. */
void collection_upsert(collection_t *c, const point_id_t *id, const float *vector,
                       const char *payload, uint64_t version);
/* Removes a point; returns true if it existed. */
bool collection_delete(collection_t *c, const point_id_t *id);
/* Slot of a point, or -1. Slots are 0..count-1 and change when points are deleted. */
long collection_find(const collection_t *c, const point_id_t *id);
const point_id_t *collection_slot_id(const collection_t *c, size_t slot);
const float *collection_slot_vector(const collection_t *c, size_t slot);
const char *collection_slot_payload(const collection_t *c, size_t slot);
uint64_t collection_slot_version(const collection_t *c, size_t slot);
void collection_slot_set_payload(collection_t *c, size_t slot, const char *payload);

/* L2-normalises v in place (a zero vector stays zero). */
void vector_normalize(float *v, size_t dim);

typedef struct scored {
    uint32_t slot;
    float score; /* as Qdrant reports it: similarity, or distance for Euclid/Manhattan */
} scored_t;

/* Returns true if the point in slot passes the caller's filter. */
typedef bool (*collection_accept_fn)(void *ctx, const collection_t *c, size_t slot);

typedef struct search_params {
    const float *query; /* dim floats, already normalised for Cosine */
    size_t k;           /* results wanted (offset + limit) */
    bool has_threshold;
    float threshold;
    collection_accept_fn accept; /* NULL: every point */
    void *accept_ctx;
    long exclude_slot; /* -1 or a slot never returned (query by point id) */
    /* Unfiltered scans of at least 2 x min_points_per_thread points are split over up to
     * `threads` threads (at most SEARCH_MAX_THREADS); 0 or 1: one thread. */
    size_t threads;
    size_t min_points_per_thread;
} search_params_t;

#define SEARCH_MAX_THREADS 16

/* Exact top-k: best first (highest similarity, or smallest distance); ties by ascending id.
 * out must hold k entries; returns how many were written. */
size_t collection_search(const collection_t *c, const search_params_t *p, scored_t *out);

/* Slots sorted by ascending point id (for scroll); caller frees. */
uint32_t *collection_sorted_slots(const collection_t *c);

/* Bytes held for vectors, ids and index (payload strings excluded), for the memory report. */
size_t collection_memory(const collection_t *c);

#endif
