/* Reading a run's JSON (report.json, the history's rows) in the report writers: a member's value,
 * NULL/0 when it is absent or of another type. */
#ifndef ENVMGR_REPORT_JSON_H
#define ENVMGR_REPORT_JSON_H

#include <jansson.h>

static inline const char *str_at(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static inline json_int_t int_at(const json_t *o, const char *key)
{
    return json_integer_value(json_object_get(o, key));
}

static inline double real_at(const json_t *o, const char *key)
{
    return json_number_value(json_object_get(o, key));
}

#endif
