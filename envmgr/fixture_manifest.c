/* The fixture manifest (envtest-fixture.yaml or .json): parsed into a small node tree that keeps
 * line numbers (libyaml document API; jansson for JSON, which has no per-value lines), then checked
 * key by key into fx_manifest_t. Every message names archive:member, line (YAML) and key path. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "fixture_internal.h"

enum node_kind { N_SCALAR, N_SEQ, N_MAP };
typedef struct node {
    enum node_kind kind;
    int line;
    char *scalar;
    bool quoted;         /* scalar was quoted (YAML) or a JSON string */
    struct node **items; /* seq items, or map values */
    char **keys;         /* map keys */
    size_t n;
} node_t;

static void node_free(node_t *n)
{
    if (n == NULL)
        return;
    for (size_t i = 0; i < n->n; i++) {
        node_free(n->items[i]);
        if (n->keys)
            free(n->keys[i]);
    }
    free(n->items);
    free(n->keys);
    free(n->scalar);
    free(n);
}

static node_t *node_new(enum node_kind kind, int line)
{
    node_t *n = xcalloc(1, sizeof(*n));
    n->kind = kind;
    n->line = line;
    return n;
}

static void node_push(node_t *n, const char *key, node_t *child)
{
    n->items = xrealloc(n->items, (n->n + 1) * sizeof(*n->items));
    if (n->kind == N_MAP) {
        n->keys = xrealloc(n->keys, (n->n + 1) * sizeof(*n->keys));
        n->keys[n->n] = xstrdup(key);
    }
    n->items[n->n++] = child;
}

/* ---- YAML -> nodes ------------------------------------------------------------------------ */
static node_t *from_yaml(yaml_document_t *doc, yaml_node_t *y, int depth, const char *where,
                         envmgr_error_t *err)
{
    int line = (int)y->start_mark.line + 1;
    if (depth > 32) {
        envmgr_error_set(err, ENVMGR_E_CONFIG, 0, "%s:%d: nesting deeper than 32 levels", where,
                         line);
        return NULL;
    }
    if (y->type == YAML_SCALAR_NODE) {
        node_t *n = node_new(N_SCALAR, line);
        n->scalar = xstrndup((const char *)y->data.scalar.value, y->data.scalar.length);
        n->quoted = y->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
        return n;
    }
    if (y->type == YAML_SEQUENCE_NODE) {
        node_t *n = node_new(N_SEQ, line);
        for (yaml_node_item_t *it = y->data.sequence.items.start; it < y->data.sequence.items.top;
             it++) {
            node_t *c = from_yaml(doc, yaml_document_get_node(doc, *it), depth + 1, where, err);
            if (c == NULL) {
                node_free(n);
                return NULL;
            }
            node_push(n, NULL, c);
        }
        return n;
    }
    node_t *n = node_new(N_MAP, line);
    for (yaml_node_pair_t *p = y->data.mapping.pairs.start; p < y->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(doc, p->key);
        if (k == NULL || k->type != YAML_SCALAR_NODE) {
            node_free(n);
            envmgr_error_set(err, ENVMGR_E_CONFIG, 0, "%s:%d: mapping keys must be plain strings",
                             where, line);
            return NULL;
        }
        node_t *c = from_yaml(doc, yaml_document_get_node(doc, p->value), depth + 1, where, err);
        if (c == NULL) {
            node_free(n);
            return NULL;
        }
        node_push(n, (const char *)k->data.scalar.value, c);
    }
    return n;
}

static node_t *parse_yaml(const char *data, size_t len, const char *where, envmgr_error_t *err)
{
    yaml_parser_t parser;
    yaml_document_t doc;
    node_t *n = NULL;
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
    if (!yaml_parser_load(&parser, &doc)) {
        envmgr_error_set(err, ENVMGR_E_CONFIG, 0, "%s:%zu:%zu: malformed YAML: %s", where,
                         parser.problem_mark.line + 1, parser.problem_mark.column + 1,
                         parser.problem ? parser.problem : "syntax error");
        yaml_parser_delete(&parser);
        return NULL;
    }
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (root == NULL)
        envmgr_error_set(err, ENVMGR_E_CONFIG, 0, "%s: the manifest is empty", where);
    else
        n = from_yaml(&doc, root, 0, where, err);
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    return n;
}

/* ---- JSON -> nodes ------------------------------------------------------------------------ */
static node_t *from_json(json_t *j, int depth)
{
    if (depth > 32)
        return NULL;
    if (json_is_array(j)) {
        node_t *n = node_new(N_SEQ, 0);
        size_t i;
        json_t *v;
        json_array_foreach(j, i, v)
        {
            node_t *c = from_json(v, depth + 1);
            if (c == NULL) {
                node_free(n);
                return NULL;
            }
            node_push(n, NULL, c);
        }
        return n;
    }
    if (json_is_object(j)) {
        node_t *n = node_new(N_MAP, 0);
        const char *k;
        json_t *v;
        json_object_foreach(j, k, v)
        {
            node_t *c = from_json(v, depth + 1);
            if (c == NULL) {
                node_free(n);
                return NULL;
            }
            node_push(n, k, c);
        }
        return n;
    }
    node_t *n = node_new(N_SCALAR, 0);
    if (json_is_string(j)) {
        n->scalar = xstrdup(json_string_value(j));
        n->quoted = true;
    } else if (json_is_integer(j)) {
        n->scalar = xasprintf("%" JSON_INTEGER_FORMAT, json_integer_value(j));
    } else if (json_is_real(j)) {
        n->scalar = xasprintf("%g", json_real_value(j));
    } else if (json_is_true(j) || json_is_false(j)) {
        n->scalar = xstrdup(json_is_true(j) ? "true" : "false");
    } else {
        n->scalar = xstrdup("null");
    }
    return n;
}

static node_t *parse_json(const char *data, size_t len, const char *where, envmgr_error_t *err)
{
    json_error_t jerr;
    cleanup_json json_t *j = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
    if (j == NULL) {
        envmgr_error_set(err, ENVMGR_E_CONFIG, 0, "%s:%d:%d: malformed JSON: %s", where, jerr.line,
                         jerr.column, jerr.text);
        return NULL;
    }
    node_t *n = from_json(j, 0);
    if (n == NULL)
        envmgr_error_set(err, ENVMGR_E_CONFIG, 0, "%s: nesting deeper than 32 levels", where);
    return n;
}

/* ---- checked access ---------------------------------------------------------------------------
 */
typedef struct ctx {
    const char *where;
    envmgr_error_t *err;
} ctx_t;

static int fail(ctx_t *c, const node_t *n, const char *path, const char *fmt, ...)
    ENVMGR_PRINTF(4, 5);
static int fail(ctx_t *c, const node_t *n, const char *path, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (n && n->line > 0)
        return envmgr_error_set(c->err, ENVMGR_E_CONFIG, 0, "%s:%d: %s: %s", c->where, n->line,
                                path, msg);
    return envmgr_error_set(c->err, ENVMGR_E_CONFIG, 0, "%s: %s: %s", c->where, path, msg);
}

/* "path.key" (truncated when absurdly long). */
static void keypath(char *out, size_t n, const char *path, const char *key)
{
    int r = snprintf(out, n, "%s.%s", path, key);
    if (r < 0)
        out[0] = '\0';
}

static const node_t *map_get(const node_t *map, const char *key)
{
    for (size_t i = 0; i < map->n; i++)
        if (strcmp(map->keys[i], key) == 0)
            return map->items[i];
    return NULL;
}

/* Refuses keys not in allowed (NULL-terminated): a typo must not be silently ignored. */
static int check_keys(ctx_t *c, const node_t *map, const char *path, const char *const *allowed)
{
    for (size_t i = 0; i < map->n; i++) {
        bool ok = false;
        for (size_t k = 0; allowed[k] && !ok; k++)
            ok = strcmp(map->keys[i], allowed[k]) == 0;
        if (!ok) {
            char p[256];
            keypath(p, sizeof(p), path, map->keys[i]);
            return fail(c, map->items[i], p, "unknown key%s (check the spelling)", "");
        }
    }
    return 0;
}

static int get_string(ctx_t *c, const node_t *map, const char *path, const char *key, bool required,
                      char **out)
{
    const node_t *v = map_get(map, key);
    char p[256];
    keypath(p, sizeof(p), path, key);
    if (v == NULL) {
        if (required)
            return fail(c, map, p, "missing required key%s", "");
        return 0;
    }
    if (v->kind != N_SCALAR)
        return fail(c, v, p, "must be a string%s", "");
    if (!fx_utf8_valid((const unsigned char *)v->scalar, strlen(v->scalar)))
        return fail(c, v, p, "invalid UTF-8%s", "");
    free(*out);
    *out = xstrdup(v->scalar);
    return 0;
}

static int get_long(ctx_t *c, const node_t *map, const char *path, const char *key, long min,
                    long max, long *out)
{
    const node_t *v = map_get(map, key);
    char p[256];
    keypath(p, sizeof(p), path, key);
    if (v == NULL)
        return 0;
    char *end = NULL;
    errno = 0;
    long x = v->kind == N_SCALAR ? strtol(v->scalar, &end, 10) : 0;
    if (v->kind != N_SCALAR || end == v->scalar || *end != '\0' || errno != 0 || x < min ||
        x > max) {
        char range[64];
        snprintf(range, sizeof(range), "%ld..%ld", min, max);
        return fail(c, v, p, "must be an integer in %s", range);
    }
    *out = x;
    return 0;
}

static int get_bool(ctx_t *c, const node_t *map, const char *path, const char *key, bool *out)
{
    const node_t *v = map_get(map, key);
    char p[256];
    keypath(p, sizeof(p), path, key);
    if (v == NULL)
        return 0;
    if (v->kind == N_SCALAR && strcmp(v->scalar, "true") == 0)
        *out = true;
    else if (v->kind == N_SCALAR && strcmp(v->scalar, "false") == 0)
        *out = false;
    else
        return fail(c, v, p, "must be true or false%s", "");
    return 0;
}

/* A member path inside the archive: relative, no "..", no empty components. */
static int check_member_path(ctx_t *c, const node_t *n, const char *path, const char *member)
{
    if (member[0] == '\0' || member[0] == '/')
        return fail(c, n, path, "member path `%s` must be relative to the archive root", member);
    for (const char *s = member; *s;) {
        const char *e = strchr(s, '/');
        size_t l = e ? (size_t)(e - s) : strlen(s);
        if ((l == 2 && strncmp(s, "..", 2) == 0) || l == 0)
            return fail(c, n, path, "member path `%s` may not contain `..` or empty components",
                        member);
        s += l + (e ? 1 : 0);
    }
    return 0;
}

static int get_member(ctx_t *c, const node_t *map, const char *path, const char *key, bool required,
                      char **out)
{
    if (get_string(c, map, path, key, required, out) < 0)
        return -1;
    char p[256];
    keypath(p, sizeof(p), path, key);
    return *out ? check_member_path(c, map_get(map, key), p, *out) : 0;
}

static bool is_identifier(const char *s)
{
    if (*s == '\0' || strlen(s) > 64)
        return false;
    for (; *s; s++)
        if (!(isalnum((unsigned char)*s) || *s == '_' || *s == '$'))
            return false;
    return true;
}

/* ---- column types: "int", "bigint unsigned", "decimal(15,2)", "varchar(80) not null", ... ---- */
static int parse_coltype(const char *spec, fx_column_t *col)
{
    char t[128];
    size_t n = 0;
    for (const char *s = spec; *s && n + 1 < sizeof(t); s++)
        t[n++] = (char)tolower((unsigned char)*s);
    t[n] = '\0';
    char *nn = strstr(t, " not null");
    if (nn) {
        col->not_null = true;
        *nn = '\0';
    }
    bool is_unsigned = false;
    char *u = strstr(t, " unsigned");
    if (u) {
        is_unsigned = true;
        *u = '\0';
    }
    static const struct {
        const char *name;
        int64_t min, max;
    } ints[] = {
        {"tinyint", -128, 127},
        {"smallint", -32768, 32767},
        {"mediumint", -8388608, 8388607},
        {"int", INT32_MIN, INT32_MAX},
        {"integer", INT32_MIN, INT32_MAX},
        {"bigint", INT64_MIN, INT64_MAX},
    };
    for (size_t i = 0; i < ENVMGR_ARRAY_SIZE(ints); i++) {
        if (strcmp(t, ints[i].name) == 0) {
            col->type = FX_COL_INT;
            col->min = is_unsigned ? 0 : ints[i].min;
            /* unsigned bigint above INT64_MAX is refused: a fixture does not need it */
            col->max = is_unsigned && ints[i].max < INT64_MAX ? ints[i].max * 2 + 1 : ints[i].max;
            return 0;
        }
    }
    int a = 0, b = 0;
    char close = 0;
    if (sscanf(t, "decimal(%d,%d%c", &a, &b, &close) == 3 && close == ')' && a > 0 && a <= 65 &&
        b >= 0 && b <= a) {
        col->type = FX_COL_DECIMAL;
        col->precision = a;
        col->scale = b;
        return is_unsigned ? -1 : 0;
    }
    if ((sscanf(t, "varchar(%d%c", &a, &close) == 2 || sscanf(t, "char(%d%c", &a, &close) == 2) &&
        close == ')' && a > 0) {
        col->type = FX_COL_VARCHAR;
        col->length = a;
        return 0;
    }
    if (strcmp(t, "text") == 0) {
        col->type = FX_COL_TEXT;
        col->length = 65535;
        return 0;
    }
    if (strcmp(t, "mediumtext") == 0 || strcmp(t, "longtext") == 0) {
        col->type = FX_COL_TEXT;
        col->length = FX_CSV_MAX_FIELD;
        return 0;
    }
    if (strcmp(t, "date") == 0) {
        col->type = FX_COL_DATE;
        return 0;
    }
    if (strcmp(t, "any") == 0) {
        col->type = FX_COL_ANY;
        return 0;
    }
    return -1;
}

static int parse_table(ctx_t *c, const node_t *n, const char *path, fx_table_t *t)
{
    static const char *const keys[] = {"table", "file",  "format",  "header",
                                       "null",  "empty", "columns", NULL};
    if (n->kind != N_MAP)
        return fail(c, n, path, "must be a mapping with table and file%s", "");
    if (check_keys(c, n, path, keys) < 0 || get_string(c, n, path, "table", true, &t->table) < 0 ||
        get_member(c, n, path, "file", true, &t->file) < 0)
        return -1;
    t->line = n->line;
    if (!is_identifier(t->table))
        return fail(c, map_get(n, "table"), path,
                    "table `%s` must be a plain identifier ([A-Za-z0-9_$], at most 64)", t->table);
    cleanup_free char *format = NULL, *empty = NULL;
    if (get_string(c, n, path, "format", false, &format) < 0 ||
        get_string(c, n, path, "null", false, &t->null_token) < 0 ||
        get_string(c, n, path, "empty", false, &empty) < 0 ||
        get_bool(c, n, path, "header", &t->header) < 0)
        return -1;
    const char *ext = strrchr(t->file, '.');
    bool tsv = format ? strcmp(format, "tsv") == 0 : (ext && strcmp(ext, ".tsv") == 0);
    if (format && strcmp(format, "csv") != 0 && strcmp(format, "tsv") != 0)
        return fail(c, map_get(n, "format"), path, "format `%s` must be csv or tsv", format);
    t->delimiter = tsv ? '\t' : ',';
    if (t->null_token == NULL)
        t->null_token = xstrdup("\\N");
    if (empty == NULL || strcmp(empty, "string") == 0)
        t->empty = FX_EMPTY_STRING;
    else if (strcmp(empty, "null") == 0)
        t->empty = FX_EMPTY_NULL;
    else
        return fail(c, map_get(n, "empty"), path, "empty `%s` must be string or null", empty);
    const node_t *cols = map_get(n, "columns");
    if (cols == NULL)
        return 0;
    if (cols->kind != N_MAP)
        return fail(c, cols, path, "columns must map column names to types%s", "");
    t->columns = xcalloc(cols->n ? cols->n : 1, sizeof(*t->columns));
    for (size_t i = 0; i < cols->n; i++) {
        fx_column_t *col = &t->columns[t->n_columns++];
        col->name = xstrdup(cols->keys[i]);
        if (cols->items[i]->kind != N_SCALAR || parse_coltype(cols->items[i]->scalar, col) < 0)
            return fail(c, cols->items[i], path,
                        "column `%s`: type must be tinyint/smallint/mediumint/int/bigint "
                        "[unsigned], decimal(p,s), char(n), varchar(n), text, date or any "
                        "[not null]",
                        cols->keys[i]);
    }
    return 0;
}

static int parse_strings(ctx_t *c, const node_t *map, const char *path, const char *key,
                         char ***out, size_t *n_out)
{
    const node_t *v = map_get(map, key);
    char p[256];
    keypath(p, sizeof(p), path, key);
    if (v == NULL)
        return 0;
    if (v->kind != N_SEQ)
        return fail(c, v, p, "must be a list of member paths%s", "");
    *out = xcalloc(v->n ? v->n : 1, sizeof(**out));
    for (size_t i = 0; i < v->n; i++) {
        if (v->items[i]->kind != N_SCALAR)
            return fail(c, v->items[i], p, "items must be strings%s", "");
        (*out)[(*n_out)++] = xstrdup(v->items[i]->scalar);
        if (check_member_path(c, v->items[i], p, v->items[i]->scalar) < 0)
            return -1;
    }
    return 0;
}

static int parse_mysql(ctx_t *c, const node_t *n, const char *path, fx_step_t *s)
{
    static const char *const keys[] = {"type", "scripts", "tables", NULL};
    if (check_keys(c, n, path, keys) < 0 ||
        parse_strings(c, n, path, "scripts", &s->scripts, &s->n_scripts) < 0)
        return -1;
    const node_t *tables = map_get(n, "tables");
    if (tables && tables->kind != N_SEQ)
        return fail(c, tables, path, "tables must be a list%s", "");
    if (s->n_scripts == 0 && (tables == NULL || tables->n == 0))
        return fail(c, n, path, "a mysql step needs scripts or tables%s", "");
    if (tables == NULL)
        return 0;
    s->tables = xcalloc(tables->n ? tables->n : 1, sizeof(*s->tables));
    for (size_t i = 0; i < tables->n; i++) {
        char p[256];
        if (snprintf(p, sizeof(p), "%s.tables[%zu]", path, i) < 0)
            p[0] = 0;
        fx_table_t *t = &s->tables[s->n_tables++];
        t->header = true;
        if (parse_table(c, tables->items[i], p, t) < 0)
            return -1;
        for (size_t k = 0; k + 1 < s->n_tables; k++)
            if (strcmp(s->tables[k].table, t->table) == 0)
                return fail(c, tables->items[i], p, "table `%s` is loaded twice in this step",
                            t->table);
    }
    return 0;
}

static int parse_http(ctx_t *c, const node_t *n, const char *path, fx_step_t *s)
{
    static const char *const keys[] = {"type", "service",      "method", "path",
                                       "body", "content_type", "expect", NULL};
    s->expect_status = 200;
    if (check_keys(c, n, path, keys) < 0 ||
        get_string(c, n, path, "service", true, &s->service) < 0 ||
        get_string(c, n, path, "method", false, &s->method) < 0 ||
        get_string(c, n, path, "path", true, &s->path) < 0 ||
        get_member(c, n, path, "body", false, &s->body) < 0 ||
        get_string(c, n, path, "content_type", false, &s->content_type) < 0 ||
        get_long(c, n, path, "expect", 100, 599, &s->expect_status) < 0)
        return -1;
    if (s->method == NULL)
        s->method = xstrdup(s->body ? "PUT" : "GET");
    for (const char *m = s->method; *m; m++)
        if (!isupper((unsigned char)*m))
            return fail(c, map_get(n, "method"), path, "method `%s` must be upper-case letters",
                        s->method);
    if (s->path[0] != '/')
        return fail(c, map_get(n, "path"), path, "path `%s` must start with /", s->path);
    if (s->content_type == NULL)
        s->content_type = xstrdup("application/json");
    return 0;
}

static int parse_documents(ctx_t *c, const node_t *n, const char *path, fx_step_t *s)
{
    static const char *const keys[] = {"type",       "file",       "embeddings", "model", "vectors",
                                       "collection", "dimensions", "distance",   "batch", NULL};
    s->dimensions = 384;
    s->batch = 64;
    if (check_keys(c, n, path, keys) < 0 || get_member(c, n, path, "file", true, &s->file) < 0 ||
        get_string(c, n, path, "embeddings", true, &s->service) < 0 ||
        get_string(c, n, path, "vectors", true, &s->vectors_service) < 0 ||
        get_string(c, n, path, "collection", true, &s->collection) < 0 ||
        get_string(c, n, path, "model", false, &s->model) < 0 ||
        get_string(c, n, path, "distance", false, &s->distance) < 0 ||
        get_long(c, n, path, "dimensions", 1, 65536, &s->dimensions) < 0 ||
        get_long(c, n, path, "batch", 1, 4096, &s->batch) < 0)
        return -1;
    if (!is_identifier(s->collection) && strchr(s->collection, '-') == NULL)
        return fail(c, map_get(n, "collection"), path,
                    "collection `%s` must be letters, digits, _ or -", s->collection);
    for (const char *p = s->collection; *p; p++)
        if (!(isalnum((unsigned char)*p) || *p == '_' || *p == '-'))
            return fail(c, map_get(n, "collection"), path,
                        "collection `%s` must be letters, digits, _ or -", s->collection);
    if (s->model == NULL)
        s->model = xstrdup("text-embedding-3-small");
    if (s->distance == NULL)
        s->distance = xstrdup("Cosine");
    if (strcmp(s->distance, "Cosine") != 0 && strcmp(s->distance, "Dot") != 0 &&
        strcmp(s->distance, "Euclid") != 0)
        return fail(c, map_get(n, "distance"), path, "distance `%s` must be Cosine, Dot or Euclid",
                    s->distance);
    return 0;
}

static int parse_copy(ctx_t *c, const node_t *n, const char *path, fx_step_t *s)
{
    static const char *const keys[] = {"type", "service", "files", NULL};
    static const char *const fkeys[] = {"src", "dest", NULL};
    if (check_keys(c, n, path, keys) < 0 ||
        get_string(c, n, path, "service", true, &s->service) < 0)
        return -1;
    const node_t *files = map_get(n, "files");
    if (files == NULL || files->kind != N_SEQ || files->n == 0)
        return fail(c, files ? files : n, path, "files must be a non-empty list of {src, dest}%s",
                    "");
    s->files = xcalloc(files->n, sizeof(*s->files));
    for (size_t i = 0; i < files->n; i++) {
        char p[256];
        if (snprintf(p, sizeof(p), "%s.files[%zu]", path, i) < 0)
            p[0] = 0;
        const node_t *f = files->items[i];
        if (f->kind != N_MAP)
            return fail(c, f, p, "must be a mapping {src, dest}%s", "");
        fx_copy_file_t *cf = &s->files[s->n_files++];
        if (check_keys(c, f, p, fkeys) < 0 || get_member(c, f, p, "src", true, &cf->src) < 0 ||
            get_string(c, f, p, "dest", true, &cf->dest) < 0)
            return -1;
        if (cf->dest[0] != '/')
            return fail(c, map_get(f, "dest"), p, "dest `%s` must be an absolute directory",
                        cf->dest);
    }
    return 0;
}

const char *fx_step_type_name(enum fx_step_type t)
{
    static const char *const names[] = {"mysql", "http", "documents", "copy"};
    return names[t];
}

static int parse_step(ctx_t *c, const node_t *n, size_t index, fx_step_t *s)
{
    char path[64];
    snprintf(path, sizeof(path), "steps[%zu]", index);
    if (n->kind != N_MAP)
        return fail(c, n, path, "must be a mapping with a type%s", "");
    cleanup_free char *type = NULL;
    if (get_string(c, n, path, "type", true, &type) < 0)
        return -1;
    s->line = n->line;
    if (strcmp(type, "mysql") == 0) {
        s->type = FX_STEP_MYSQL;
        return parse_mysql(c, n, path, s);
    }
    if (strcmp(type, "http") == 0) {
        s->type = FX_STEP_HTTP;
        return parse_http(c, n, path, s);
    }
    if (strcmp(type, "documents") == 0) {
        s->type = FX_STEP_DOCUMENTS;
        return parse_documents(c, n, path, s);
    }
    if (strcmp(type, "copy") == 0) {
        s->type = FX_STEP_COPY;
        return parse_copy(c, n, path, s);
    }
    return fail(c, map_get(n, "type"), path,
                "unknown step type `%s` (known: mysql, http, documents, copy)", type);
}

static void step_free(fx_step_t *s)
{
    for (size_t i = 0; i < s->n_scripts; i++)
        free(s->scripts[i]);
    free(s->scripts);
    for (size_t i = 0; i < s->n_tables; i++) {
        fx_table_t *t = &s->tables[i];
        free(t->table);
        free(t->file);
        free(t->null_token);
        for (size_t k = 0; k < t->n_columns; k++)
            free(t->columns[k].name);
        free(t->columns);
    }
    free(s->tables);
    for (size_t i = 0; i < s->n_files; i++) {
        free(s->files[i].src);
        free(s->files[i].dest);
    }
    free(s->files);
    free(s->service);
    free(s->method);
    free(s->path);
    free(s->body);
    free(s->content_type);
    free(s->file);
    free(s->collection);
    free(s->model);
    free(s->vectors_service);
    free(s->distance);
}

void fx_manifest_free(fx_manifest_t *m)
{
    if (m == NULL)
        return;
    for (size_t i = 0; i < m->n_steps; i++)
        step_free(&m->steps[i]);
    free(m->steps);
    free(m->name);
    free(m->version);
    free(m);
}

static int parse_root(ctx_t *c, const node_t *root, fx_manifest_t *m)
{
    static const char *const keys[] = {"name", "version", "description", "steps", NULL};
    if (root->kind != N_MAP)
        return fail(c, root, "manifest", "must be a mapping with name, version and steps%s", "");
    if (check_keys(c, root, "manifest", keys) < 0 ||
        get_string(c, root, "manifest", "name", true, &m->name) < 0 ||
        get_string(c, root, "manifest", "version", true, &m->version) < 0)
        return -1;
    const node_t *steps = map_get(root, "steps");
    if (steps == NULL || steps->kind != N_SEQ || steps->n == 0)
        return fail(c, steps ? steps : root, "manifest.steps", "must be a non-empty list%s", "");
    m->steps = xcalloc(steps->n, sizeof(*m->steps));
    for (size_t i = 0; i < steps->n; i++) {
        m->n_steps++;
        if (parse_step(c, steps->items[i], i, &m->steps[i]) < 0)
            return -1;
    }
    return 0;
}

int fx_manifest_parse(const char *data, size_t len, bool yaml, const char *where,
                      fx_manifest_t **out, envmgr_error_t *err)
{
    ctx_t c = {where, err};
    if (!fx_utf8_valid((const unsigned char *)data, len))
        return envmgr_error_set(err, ENVMGR_E_CONFIG, 0, "%s: the manifest is not valid UTF-8",
                                where);
    node_t *root = yaml ? parse_yaml(data, len, where, err) : parse_json(data, len, where, err);
    if (root == NULL)
        return -1;
    fx_manifest_t *m = xcalloc(1, sizeof(*m));
    int r = parse_root(&c, root, m);
    node_free(root);
    if (r < 0) {
        fx_manifest_free(m);
        return -1;
    }
    *out = m;
    return 0;
}

int fx_manifest_members(const fx_manifest_t *m, int (*fn)(void *ud, const char *member, int line),
                        void *ud)
{
    for (size_t i = 0; i < m->n_steps; i++) {
        const fx_step_t *s = &m->steps[i];
        for (size_t k = 0; k < s->n_scripts; k++)
            if (fn(ud, s->scripts[k], s->line) < 0)
                return -1;
        for (size_t k = 0; k < s->n_tables; k++)
            if (fn(ud, s->tables[k].file, s->tables[k].line) < 0)
                return -1;
        for (size_t k = 0; k < s->n_files; k++)
            if (fn(ud, s->files[k].src, s->line) < 0)
                return -1;
        if (s->body && fn(ud, s->body, s->line) < 0)
            return -1;
        if (s->file && fn(ud, s->file, s->line) < 0)
            return -1;
    }
    return 0;
}
