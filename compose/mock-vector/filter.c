/* Qdrant payload filters; see filter.h. */
#include "filter.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "mv_alloc.h"

#define FILTER_MAX_DEPTH 32

/* ---- point ids as JSON ---------------------------------------------------------------------- */

int point_id_from_json(const json_t *value, point_id_t *out)
{
    if (json_is_integer(value)) {
        json_int_t n = json_integer_value(value);
        if (n < 0)
            return -1;
        memset(out, 0, sizeof(*out));
        out->num = (uint64_t)n;
        return 0;
    }
    if (json_is_string(value))
        return point_id_parse_uuid(json_string_value(value), out);
    return -1;
}

json_t *point_id_to_json(const point_id_t *id)
{
    if (!id->is_uuid)
        return json_integer((json_int_t)id->num);
    char buf[40];
    point_id_format_uuid(id, buf);
    return json_string(buf);
}

/* ---- validation ----------------------------------------------------------------------------- */

/* snprintf for the paths and messages; a truncated one is fine. */
static void path_fmt(char *dst, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void path_fmt(char *dst, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(dst, size, fmt, ap);
    va_end(ap);
}

/* The message into err; -1. */
#define invalid(err, size, ...) (path_fmt((err), (size), __VA_ARGS__), -1)

static int validate_filter(const json_t *f, const char *where, int depth, char *err, size_t size);

static bool is_number(const json_t *v)
{
    return json_is_integer(v) || json_is_real(v);
}

static int validate_bounds(const json_t *obj, const char *where, bool integers, char *err,
                           size_t size)
{
    static const char *const names[] = {"gt", "gte", "lt", "lte"};
    if (!json_is_object(obj))
        return invalid(err, size, "%s: expected an object with gt, gte, lt or lte", where);
    for (size_t i = 0; i < 4; i++) {
        const json_t *b = json_object_get(obj, names[i]);
        if (!b || json_is_null(b))
            continue;
        if (json_is_string(b) && !integers)
            return invalid(err, size, "%s.%s: datetime ranges are not supported by mock-vector",
                           where, names[i]);
        if (integers ? !(json_is_integer(b) && json_integer_value(b) >= 0) : !is_number(b))
            return invalid(err, size, "%s.%s: expected %s", where, names[i],
                           integers ? "an unsigned integer" : "a number");
    }
    return 0;
}

static int validate_match_list(const json_t *list, const char *where, char *err, size_t size)
{
    if (!json_is_array(list))
        return invalid(err, size, "%s: expected an array of strings or integers", where);
    size_t i;
    const json_t *v;
    bool strings = json_array_size(list) > 0 && json_is_string(json_array_get(list, 0));
    json_array_foreach(list, i, v)
    {
        if (strings ? !json_is_string(v) : !json_is_integer(v))
            return invalid(err, size, "%s[%zu]: expected %s", where, i,
                           strings ? "a string (all values of one type)" : "an integer");
    }
    return 0;
}

static int validate_match(const json_t *m, const char *where, char *err, size_t size)
{
    char sub[256];
    if (!json_is_object(m))
        return invalid(err, size, "%s: expected an object", where);
    const json_t *v;
    if ((v = json_object_get(m, "value"))) {
        if (!json_is_string(v) && !json_is_integer(v) && !json_is_boolean(v))
            return invalid(err, size, "%s.value: expected a string, an integer or a boolean",
                           where);
        return 0;
    }
    if ((v = json_object_get(m, "any"))) {
        path_fmt(sub, sizeof(sub), "%s.any", where);
        return validate_match_list(v, sub, err, size);
    }
    if ((v = json_object_get(m, "except"))) {
        path_fmt(sub, sizeof(sub), "%s.except", where);
        return validate_match_list(v, sub, err, size);
    }
    static const char *const text_keys[] = {"text", "phrase", "text_any"};
    for (size_t i = 0; i < 3; i++) {
        if ((v = json_object_get(m, text_keys[i]))) {
            if (!json_is_string(v))
                return invalid(err, size, "%s.%s: expected a string", where, text_keys[i]);
            return 0;
        }
    }
    return invalid(err, size, "%s: expected one of value, any, except, text, phrase", where);
}

static int validate_key_object(const json_t *obj, const char *where, char *err, size_t size)
{
    if (!json_is_object(obj) || !json_is_string(json_object_get(obj, "key")))
        return invalid(err, size, "%s.key: expected a string", where);
    return 0;
}

static int validate_field_condition(const json_t *c, const char *where, char *err, size_t size)
{
    char sub[256];
    if (!json_is_string(json_object_get(c, "key")))
        return invalid(err, size, "%s.key: expected a string", where);
    bool any = false;
    const json_t *v;
    if ((v = json_object_get(c, "match")) && !json_is_null(v)) {
        path_fmt(sub, sizeof(sub), "%s.match", where);
        if (validate_match(v, sub, err, size) < 0)
            return -1;
        any = true;
    }
    if ((v = json_object_get(c, "range")) && !json_is_null(v)) {
        path_fmt(sub, sizeof(sub), "%s.range", where);
        if (validate_bounds(v, sub, false, err, size) < 0)
            return -1;
        any = true;
    }
    if ((v = json_object_get(c, "values_count")) && !json_is_null(v)) {
        path_fmt(sub, sizeof(sub), "%s.values_count", where);
        if (validate_bounds(v, sub, true, err, size) < 0)
            return -1;
        any = true;
    }
    static const char *const flags[] = {"is_empty", "is_null"};
    for (size_t i = 0; i < 2; i++) {
        if ((v = json_object_get(c, flags[i])) && !json_is_null(v)) {
            if (!json_is_boolean(v))
                return invalid(err, size, "%s.%s: expected a boolean", where, flags[i]);
            any = true;
        }
    }
    if (!any)
        return invalid(err, size,
                       "%s: a field condition needs match, range, values_count, is_empty or "
                       "is_null (geo conditions are not supported by mock-vector)",
                       where);
    return 0;
}

static int validate_condition(const json_t *c, const char *where, int depth, char *err, size_t size)
{
    char sub[256];
    const json_t *v;
    if (!json_is_object(c))
        return invalid(err, size, "%s: expected a condition object", where);
    if (json_object_get(c, "key"))
        return validate_field_condition(c, where, err, size);
    if ((v = json_object_get(c, "has_id"))) {
        if (!json_is_array(v))
            return invalid(err, size, "%s.has_id: expected an array of point ids", where);
        size_t i;
        const json_t *id;
        point_id_t tmp;
        json_array_foreach(v, i, id)
        {
            if (point_id_from_json(id, &tmp) < 0)
                return invalid(err, size,
                               "%s.has_id[%zu]: not a valid point ID, valid values are either an "
                               "unsigned integer or a UUID",
                               where, i);
        }
        return 0;
    }
    if ((v = json_object_get(c, "is_empty")) || (v = json_object_get(c, "is_null"))) {
        path_fmt(sub, sizeof(sub), "%s.%s", where,
                 json_object_get(c, "is_empty") ? "is_empty" : "is_null");
        return validate_key_object(v, sub, err, size);
    }
    if ((v = json_object_get(c, "nested"))) {
        path_fmt(sub, sizeof(sub), "%s.nested", where);
        if (validate_key_object(v, sub, err, size) < 0)
            return -1;
        path_fmt(sub, sizeof(sub), "%s.nested.filter", where);
        return validate_filter(json_object_get(v, "filter"), sub, depth + 1, err, size);
    }
    if (json_object_get(c, "must") || json_object_get(c, "should") ||
        json_object_get(c, "must_not") || json_object_get(c, "min_should"))
        return validate_filter(c, where, depth + 1, err, size);
    return invalid(err, size,
                   "%s: unknown condition (expected key, has_id, is_empty, is_null, nested or a "
                   "filter with must/should/must_not)",
                   where);
}

static int validate_clause(const json_t *clause, const char *where, int depth, char *err,
                           size_t size)
{
    char sub[256];
    if (!clause || json_is_null(clause))
        return 0;
    if (json_is_object(clause))
        return validate_condition(clause, where, depth, err, size);
    if (!json_is_array(clause))
        return invalid(err, size, "%s: expected a condition or an array of conditions", where);
    size_t i;
    const json_t *c;
    json_array_foreach(clause, i, c)
    {
        path_fmt(sub, sizeof(sub), "%s[%zu]", where, i);
        if (validate_condition(c, sub, depth, err, size) < 0)
            return -1;
    }
    return 0;
}

static int validate_filter(const json_t *f, const char *where, int depth, char *err, size_t size)
{
    char sub[256];
    if (depth > FILTER_MAX_DEPTH)
        return invalid(err, size, "%s: filter nested deeper than %d levels", where,
                       FILTER_MAX_DEPTH);
    if (!json_is_object(f))
        return invalid(err, size, "%s: expected a filter object", where);
    static const char *const clauses[] = {"must", "should", "must_not"};
    for (size_t i = 0; i < 3; i++) {
        path_fmt(sub, sizeof(sub), "%s.%s", where, clauses[i]);
        if (validate_clause(json_object_get(f, clauses[i]), sub, depth, err, size) < 0)
            return -1;
    }
    const json_t *ms = json_object_get(f, "min_should");
    if (ms && !json_is_null(ms)) {
        const json_t *count = json_object_get(ms, "min_count");
        if (!json_is_object(ms) || !json_is_array(json_object_get(ms, "conditions")) ||
            !json_is_integer(count) || json_integer_value(count) < 0)
            return invalid(err, size,
                           "%s.min_should: expected {\"conditions\": [...], \"min_count\": n}",
                           where);
        path_fmt(sub, sizeof(sub), "%s.min_should.conditions", where);
        return validate_clause(json_object_get(ms, "conditions"), sub, depth, err, size);
    }
    return 0;
}

int filter_validate(const json_t *filter, const char *where, char *err, size_t err_size)
{
    return validate_filter(filter, where, 0, err, err_size);
}

/* ---- value collection along a key path ("a.b", "a[].b") ------------------------------------ */

typedef struct values {
    const json_t **items;
    size_t n, cap;
} values_t;

static void values_push(values_t *v, const json_t *item)
{
    if (v->n == v->cap) {
        v->cap = v->cap ? v->cap * 2 : 8;
        v->items = mv_realloc(v->items, v->cap * sizeof(*v->items));
    }
    v->items[v->n++] = item;
}

/* Arrays are flattened at every level, as Qdrant does for payload arrays. */
static void collect(const json_t *node, const char *path, values_t *out, int depth)
{
    if (depth > 64)
        return;
    if (json_is_array(node)) {
        size_t i;
        const json_t *item;
        json_array_foreach(node, i, item) collect(item, path, out, depth + 1);
        return;
    }
    while (*path == '.')
        path++;
    if (*path == '\0') {
        if (!json_is_null(node))
            values_push(out, node);
        return;
    }
    if (!json_is_object(node))
        return;
    size_t len = strcspn(path, ".[");
    char name[256];
    if (len >= sizeof(name))
        return;
    memcpy(name, path, len);
    name[len] = '\0';
    const char *rest = path + len;
    while (strncmp(rest, "[]", 2) == 0)
        rest += 2;
    const json_t *child = json_object_get(node, name);
    if (child)
        collect(child, rest, out, depth + 1);
}

static json_t *point_payload(filter_point_t *p)
{
    if (!p->parsed) {
        p->parsed = true;
        if (p->payload_text)
            p->payload = json_loads(p->payload_text, 0, NULL);
    }
    return p->payload;
}

void filter_point_clear(filter_point_t *point)
{
    json_decref(point->payload);
    point->payload = NULL;
    point->parsed = false;
}

/* ---- evaluation ----------------------------------------------------------------------------- */

static bool scalar_equal(const json_t *a, const json_t *b)
{
    if (json_is_string(a) && json_is_string(b))
        return strcmp(json_string_value(a), json_string_value(b)) == 0;
    if (json_is_boolean(a) && json_is_boolean(b))
        return json_is_true(a) == json_is_true(b);
    if (json_is_integer(b) && json_is_integer(a))
        return json_integer_value(a) == json_integer_value(b);
    if (json_is_integer(b) && json_is_real(a))
        return json_real_value(a) == (double)json_integer_value(b);
    return false;
}

static bool in_list(const json_t *v, const json_t *list)
{
    size_t i;
    const json_t *item;
    json_array_foreach(list, i, item)
    {
        if (scalar_equal(v, item))
            return true;
    }
    return false;
}

static bool check_bounds(double x, const json_t *bounds)
{
    const json_t *b;
    if ((b = json_object_get(bounds, "gt")) && is_number(b) && !(x > json_number_value(b)))
        return false;
    if ((b = json_object_get(bounds, "gte")) && is_number(b) && !(x >= json_number_value(b)))
        return false;
    if ((b = json_object_get(bounds, "lt")) && is_number(b) && !(x < json_number_value(b)))
        return false;
    if ((b = json_object_get(bounds, "lte")) && is_number(b) && !(x <= json_number_value(b)))
        return false;
    return true;
}

static bool text_contains(const json_t *v, const char *needle, bool any_word)
{
    if (!json_is_string(v))
        return false;
    const char *hay = json_string_value(v);
    if (!any_word)
        return strstr(hay, needle) != NULL;
    char word[256];
    for (const char *p = needle; *p;) {
        p += strspn(p, " \t\n");
        size_t len = strcspn(p, " \t\n");
        if (len > 0 && len < sizeof(word)) {
            memcpy(word, p, len);
            word[len] = '\0';
            if (strstr(hay, word))
                return true;
        }
        p += len;
    }
    return false;
}

static bool check_match(const json_t *m, const values_t *vals)
{
    const json_t *arg;
    if ((arg = json_object_get(m, "except"))) {
        if (vals->n == 0)
            return true;
        for (size_t i = 0; i < vals->n; i++) {
            if (!in_list(vals->items[i], arg))
                return true;
        }
        return false;
    }
    for (size_t i = 0; i < vals->n; i++) {
        const json_t *v = vals->items[i];
        if ((arg = json_object_get(m, "value")) && scalar_equal(v, arg))
            return true;
        if ((arg = json_object_get(m, "any")) && in_list(v, arg))
            return true;
        if ((arg = json_object_get(m, "text")) && text_contains(v, json_string_value(arg), false))
            return true;
        if ((arg = json_object_get(m, "phrase")) && text_contains(v, json_string_value(arg), false))
            return true;
        if ((arg = json_object_get(m, "text_any")) &&
            text_contains(v, json_string_value(arg), true))
            return true;
    }
    return false;
}

static bool check_field(const json_t *c, const json_t *root)
{
    values_t vals = {0};
    bool ok = true;
    const char *key = json_string_value(json_object_get(c, "key"));
    if (root)
        collect(root, key, &vals, 0);
    const json_t *v;
    if (ok && (v = json_object_get(c, "match")) && !json_is_null(v))
        ok = check_match(v, &vals);
    if (ok && (v = json_object_get(c, "range")) && !json_is_null(v)) {
        bool found = false;
        for (size_t i = 0; i < vals.n && !found; i++)
            found = is_number(vals.items[i]) && check_bounds(json_number_value(vals.items[i]), v);
        ok = found;
    }
    if (ok && (v = json_object_get(c, "values_count")) && !json_is_null(v))
        ok = check_bounds((double)vals.n, v);
    if (ok && (v = json_object_get(c, "is_empty")) && json_is_boolean(v))
        ok = (vals.n == 0) == json_is_true(v);
    free(vals.items);
    return ok;
}

/* True if the value at key is null, or the key holds an array containing null. */
static bool check_is_null(const json_t *root, const char *key)
{
    if (!root || !json_is_object(root))
        return false;
    const char *dot = strrchr(key, '.');
    const json_t *leaf;
    if (!dot) {
        leaf = json_object_get(root, key);
        return leaf && json_is_null(leaf);
    }
    values_t parents = {0};
    char *parent_path = mv_strdup(key);
    parent_path[dot - key] = '\0';
    collect(root, parent_path, &parents, 0);
    bool found = false;
    for (size_t i = 0; i < parents.n && !found; i++) {
        leaf = json_object_get(parents.items[i], dot + 1);
        found = leaf && json_is_null(leaf);
    }
    free(parent_path);
    free(parents.items);
    return found;
}

static bool match_filter(const json_t *f, filter_point_t *p, const json_t *root, int depth);

/* The point's own payload is parsed only when a condition reads it: `root` is TOP_LEVEL there. */
static const json_t top_level_marker;
#define TOP_LEVEL (&top_level_marker)

static const json_t *resolve(filter_point_t *p, const json_t *root)
{
    return root == TOP_LEVEL ? point_payload(p) : root;
}

static bool match_condition(const json_t *c, filter_point_t *p, const json_t *root, int depth)
{
    const json_t *v;
    if (json_object_get(c, "key")) {
        const json_t *doc = resolve(p, root);
        if ((v = json_object_get(c, "is_null")) && json_is_boolean(v) &&
            check_is_null(doc, json_string_value(json_object_get(c, "key"))) != json_is_true(v))
            return false;
        return check_field(c, doc);
    }
    if ((v = json_object_get(c, "has_id"))) {
        if (!p->id || root != TOP_LEVEL)
            return false; /* has_id inside nested has no meaning */
        size_t i;
        const json_t *item;
        json_array_foreach(v, i, item)
        {
            point_id_t id;
            if (point_id_from_json(item, &id) == 0 && point_id_equal(&id, p->id))
                return true;
        }
        return false;
    }
    if ((v = json_object_get(c, "is_empty"))) {
        json_t *fc = json_pack("{s:O,s:b}", "key", json_object_get(v, "key"), "is_empty", 1);
        bool ok = fc && check_field(fc, resolve(p, root));
        json_decref(fc);
        return ok;
    }
    if ((v = json_object_get(c, "is_null")))
        return check_is_null(resolve(p, root), json_string_value(json_object_get(v, "key")));
    if ((v = json_object_get(c, "nested"))) {
        values_t items = {0};
        const json_t *doc = resolve(p, root);
        if (doc)
            collect(doc, json_string_value(json_object_get(v, "key")), &items, 0);
        bool ok = false;
        for (size_t i = 0; i < items.n && !ok; i++)
            ok = match_filter(json_object_get(v, "filter"), p, items.items[i], depth + 1);
        free(items.items);
        return ok;
    }
    return match_filter(c, p, root, depth + 1);
}

/* Calls match_condition over a clause (one condition or an array); returns how many matched
 * and sets *total to the number of conditions. */
static size_t count_matches(const json_t *clause, filter_point_t *p, const json_t *root, int depth,
                            size_t *total, size_t stop_at)
{
    *total = 0;
    if (!clause || json_is_null(clause))
        return 0;
    if (json_is_object(clause)) {
        *total = 1;
        return match_condition(clause, p, root, depth) ? 1 : 0;
    }
    size_t matched = 0, i;
    const json_t *c;
    *total = json_array_size(clause);
    json_array_foreach(clause, i, c)
    {
        if (match_condition(c, p, root, depth) && ++matched >= stop_at)
            break;
    }
    return matched;
}

static bool match_filter(const json_t *f, filter_point_t *p, const json_t *root, int depth)
{
    size_t total, matched;
    if (depth > FILTER_MAX_DEPTH + 2 || !json_is_object(f))
        return false;
    /* must: all; must_not: none; should: at least one (when present) */
    matched = count_matches(json_object_get(f, "must"), p, root, depth, &total, SIZE_MAX);
    if (matched != total)
        return false;
    matched = count_matches(json_object_get(f, "must_not"), p, root, depth, &total, 1);
    if (matched > 0)
        return false;
    matched = count_matches(json_object_get(f, "should"), p, root, depth, &total, 1);
    if (total > 0 && matched == 0)
        return false;
    const json_t *ms = json_object_get(f, "min_should");
    if (json_is_object(ms)) {
        size_t need = (size_t)json_integer_value(json_object_get(ms, "min_count"));
        matched = count_matches(json_object_get(ms, "conditions"), p, root, depth, &total, need);
        if (matched < need)
            return false;
    }
    return true;
}

bool filter_match(const json_t *filter, filter_point_t *point)
{
    if (!filter || json_is_null(filter))
        return true;
    return match_filter(filter, point, TOP_LEVEL, 0);
}
