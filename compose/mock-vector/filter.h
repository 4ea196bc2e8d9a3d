/* Qdrant payload filters: must / should / must_not / min_should over field conditions (match
 * value/any/except/text, range, values_count, is_empty, is_null), has_id and nested filters. */
#ifndef MOCK_VECTOR_FILTER_H
#define MOCK_VECTOR_FILTER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "collection.h"

/* Checks the shape of a filter object; on error writes a message naming the field (the path
 * inside the filter, e.g. "filter.must[0].match") into err and returns -1. */
int filter_validate(const json_t *filter, const char *where, char *err, size_t err_size);

/* Evaluation of a validated filter against one point. The payload is parsed on first use. */
typedef struct filter_point {
    const point_id_t *id;
    const char *payload_text; /* compact JSON or NULL */
    json_t *payload;          /* cache: parsed payload, owned; NULL until needed */
    bool parsed;
} filter_point_t;

bool filter_match(const json_t *filter, filter_point_t *point);
void filter_point_clear(filter_point_t *point);

/* Parses a point id from JSON (unsigned integer or UUID string); 0 or -1. */
int point_id_from_json(const json_t *value, point_id_t *out);
/* New JSON value for an id: integer or lowercase hyphenated UUID string. */
json_t *point_id_to_json(const point_id_t *id);

#endif
