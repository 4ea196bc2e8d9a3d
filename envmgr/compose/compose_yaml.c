/* libyaml events -> a node tree with line/column. Aliases share nodes (reference counted); an
 * anchor becomes visible once its node is complete, so a node can never contain itself. Merge keys
 * (`<<: *a`, `<<: [*a, *b]`) are applied when their mapping ends: explicit keys win, then earlier
 * merged mappings over later ones. */
#include "compose_internal.h"

#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define COMPOSE_MAX_DEPTH 200
#define COMPOSE_MAX_WEIGHT 1000000 /* nodes after alias expansion ("billion laughs") */

typedef struct anchor {
    char *name;
    compose_node_t *node;
} anchor_t;

typedef struct builder {
    const char *file;
    envmgr_error_t *err;
    compose_node_t **stack; /* open collections */
    char **stack_anchor;    /* their anchors, registered at their end */
    size_t depth, stack_cap, anchor_cap;
    anchor_t *anchors;
    size_t n_anchors, anchors_cap;
    compose_node_t *root;
    bool have_document;
} builder_t;

static compose_node_t *node_new(enum compose_node_kind kind, const yaml_mark_t *mark)
{
    compose_node_t *n = envmgr_xcalloc(1, sizeof(*n));
    n->kind = kind;
    n->line = (int)mark->line + 1;
    n->column = (int)mark->column + 1;
    n->refs = 1;
    n->weight = 1;
    return n;
}

static compose_node_t *node_ref(compose_node_t *n)
{
    n->refs++;
    return n;
}

void compose_node_unref(compose_node_t *n)
{
    if (!n || --n->refs > 0)
        return;
    free(n->scalar);
    for (size_t i = 0; i < n->n_items; i++)
        compose_node_unref(n->items[i]);
    free(n->items);
    for (size_t i = 0; i < n->n_pairs; i++) {
        compose_node_unref(n->pairs[i].key);
        compose_node_unref(n->pairs[i].value);
    }
    free(n->pairs);
    free(n->file);
    free(n);
}

compose_node_t *compose_node_get(const compose_node_t *map, const char *key)
{
    if (!map || map->kind != COMPOSE_MAP)
        return NULL;
    for (size_t i = 0; i < map->n_pairs; i++)
        if (strcmp(map->pairs[i].key->scalar, key) == 0)
            return map->pairs[i].value;
    return NULL;
}

bool compose_node_is_null(const compose_node_t *n)
{
    if (!n)
        return true;
    if (n->kind != COMPOSE_SCALAR || !n->plain)
        return false;
    return !*n->scalar || !strcmp(n->scalar, "~") || !strcmp(n->scalar, "null") ||
           !strcmp(n->scalar, "Null") || !strcmp(n->scalar, "NULL");
}

const char *compose_node_kind_name(const compose_node_t *n)
{
    if (!n)
        return "nothing";
    switch (n->kind) {
    case COMPOSE_SCALAR:
        return compose_node_is_null(n) ? "null" : "a scalar";
    case COMPOSE_SEQ:
        return "a list";
    case COMPOSE_MAP:
        return "a mapping";
    }
    return "?";
}

static int builder_error(builder_t *b, int line, int column, const char *msg, const char *detail)
{
    return envmgr_error_set(b->err, ENVMGR_E_CONFIG, 0, "%s:%d:%d: %s%s%s", b->file, line, column,
                            msg, detail ? ": " : "", detail ? detail : "");
}

static void add_weight(compose_node_t *parent, const compose_node_t *child)
{
    parent->weight += child->weight;
    if (parent->weight > COMPOSE_MAX_WEIGHT)
        parent->weight = COMPOSE_MAX_WEIGHT + 1;
}

/* Adds a finished node to the open collection (or makes it the root). Takes ownership. */
static int builder_add(builder_t *b, compose_node_t *n)
{
    if (b->depth == 0) {
        if (b->root) {
            compose_node_unref(n);
            return builder_error(b, 1, 1, "unexpected second root node", NULL);
        }
        b->root = n;
        return 0;
    }
    compose_node_t *parent = b->stack[b->depth - 1];
    size_t cap = parent->n_items; /* items grow one by one: keep it simple */
    parent->items = envmgr_xrealloc(parent->items, (cap + 1) * sizeof(*parent->items));
    parent->items[parent->n_items++] = n;
    add_weight(parent, n);
    if (parent->weight > COMPOSE_MAX_WEIGHT)
        return builder_error(b, n->line, n->column, "document too large after expanding aliases",
                             NULL);
    return 0;
}

static void builder_register_anchor(builder_t *b, char *name, compose_node_t *n)
{
    if (!name)
        return;
    /* A later anchor of the same name shadows the earlier one (YAML). */
    b->anchors = envmgr_xgrow(b->anchors, b->n_anchors, &b->anchors_cap, sizeof(*b->anchors));
    b->anchors[b->n_anchors].name = name;
    b->anchors[b->n_anchors].node = node_ref(n);
    b->n_anchors++;
}

static compose_node_t *builder_find_anchor(builder_t *b, const char *name)
{
    for (size_t i = b->n_anchors; i > 0; i--)
        if (strcmp(b->anchors[i - 1].name, name) == 0)
            return b->anchors[i - 1].node;
    return NULL;
}

static bool pairs_have_key(const compose_pair_t *pairs, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(pairs[i].key->scalar, key) == 0)
            return true;
    return false;
}

static void merge_from(compose_node_t *map, size_t *cap, const compose_node_t *src)
{
    for (size_t i = 0; i < src->n_pairs; i++) {
        if (pairs_have_key(map->pairs, map->n_pairs, src->pairs[i].key->scalar))
            continue;
        map->pairs = envmgr_xgrow(map->pairs, map->n_pairs, cap, sizeof(*map->pairs));
        map->pairs[map->n_pairs].key = node_ref(src->pairs[i].key);
        map->pairs[map->n_pairs].value = node_ref(src->pairs[i].value);
        map->n_pairs++;
        add_weight(map, src->pairs[i].value);
    }
}

static bool is_merge_key(const compose_node_t *k)
{
    return k->kind == COMPOSE_SCALAR && k->plain && strcmp(k->scalar, "<<") == 0;
}

/* Turns the collected key, value, key, value... items of a mapping into pairs, then merges. */
static int builder_finish_map(builder_t *b, compose_node_t *map)
{
    size_t n = map->n_items, cap = 0;
    compose_node_t **items = envmgr_steal_pointer(&map->items);
    compose_node_t **merges = envmgr_xcalloc(n / 2 + 1, sizeof(*merges));
    compose_node_t **merge_keys = envmgr_xcalloc(n / 2 + 1, sizeof(*merge_keys));
    size_t n_merges = 0;
    int ret = 0;
    map->n_items = 0;
    map->weight = 1;
    for (size_t i = 0; i + 1 < n; i += 2) {
        compose_node_t *k = items[i], *v = items[i + 1];
        if (ret == 0 && k->kind != COMPOSE_SCALAR)
            ret = builder_error(b, k->line, k->column, "mapping keys must be scalars", NULL);
        else if (ret == 0 && is_merge_key(k)) {
            merge_keys[n_merges] = k;
            merges[n_merges++] = v;
            continue;
        } else if (ret == 0 && pairs_have_key(map->pairs, map->n_pairs, k->scalar))
            ret = envmgr_error_set(b->err, ENVMGR_E_CONFIG, 0,
                                   "%s:%d:%d: mapping key '%s' is already defined", b->file,
                                   k->line, k->column, k->scalar);
        if (ret < 0) {
            compose_node_unref(k);
            compose_node_unref(v);
            continue;
        }
        map->pairs = envmgr_xgrow(map->pairs, map->n_pairs, &cap, sizeof(*map->pairs));
        map->pairs[map->n_pairs].key = k;
        map->pairs[map->n_pairs].value = v;
        map->n_pairs++;
        add_weight(map, v);
    }
    for (size_t m = 0; m < n_merges; m++) {
        compose_node_t *v = merges[m], *k = merge_keys[m];
        if (ret == 0 && v->kind == COMPOSE_MAP)
            merge_from(map, &cap, v);
        else if (ret == 0 && v->kind == COMPOSE_SEQ) {
            for (size_t i = 0; i < v->n_items && ret == 0; i++) {
                if (v->items[i]->kind != COMPOSE_MAP)
                    ret =
                        builder_error(b, k->line, k->column,
                                      "merge key '<<' needs a mapping or a list of mappings", NULL);
                else
                    merge_from(map, &cap, v->items[i]);
            }
        } else if (ret == 0)
            ret = builder_error(b, k->line, k->column,
                                "merge key '<<' needs a mapping or a list of mappings", NULL);
        compose_node_unref(v);
        compose_node_unref(k);
    }
    free(merges);
    free(merge_keys);
    free(items);
    if (ret == 0 && map->weight > COMPOSE_MAX_WEIGHT)
        ret = builder_error(b, map->line, map->column, "document too large after expanding aliases",
                            NULL);
    return ret;
}

static int builder_open(builder_t *b, enum compose_node_kind kind, const yaml_event_t *ev,
                        const yaml_char_t *anchor)
{
    if (b->depth >= COMPOSE_MAX_DEPTH)
        return builder_error(b, (int)ev->start_mark.line + 1, (int)ev->start_mark.column + 1,
                             "document nested too deeply", NULL);
    if (b->depth == b->stack_cap) {
        b->stack_cap = b->stack_cap ? 2 * b->stack_cap : 16;
        b->stack = envmgr_xrealloc(b->stack, b->stack_cap * sizeof(*b->stack));
        b->stack_anchor = envmgr_xrealloc(b->stack_anchor, b->stack_cap * sizeof(*b->stack_anchor));
    }
    b->stack[b->depth] = node_new(kind, &ev->start_mark);
    b->stack_anchor[b->depth] = anchor ? envmgr_xstrdup((const char *)anchor) : NULL;
    b->depth++;
    return 0;
}

static int builder_close(builder_t *b)
{
    b->depth--;
    compose_node_t *n = b->stack[b->depth];
    char *anchor = b->stack_anchor[b->depth];
    if (n->kind == COMPOSE_MAP && builder_finish_map(b, n) < 0) {
        free(anchor);
        compose_node_unref(n);
        return -1;
    }
    builder_register_anchor(b, anchor, n);
    return builder_add(b, n);
}

static int builder_scalar(builder_t *b, const yaml_event_t *ev)
{
    compose_node_t *n = node_new(COMPOSE_SCALAR, &ev->start_mark);
    n->scalar = envmgr_xstrndup((const char *)ev->data.scalar.value, ev->data.scalar.length);
    n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
    if (ev->data.scalar.anchor)
        builder_register_anchor(b, envmgr_xstrdup((const char *)ev->data.scalar.anchor), n);
    return builder_add(b, n);
}

static int builder_alias(builder_t *b, const yaml_event_t *ev)
{
    const char *name = (const char *)ev->data.alias.anchor;
    compose_node_t *n = builder_find_anchor(b, name);
    if (!n)
        return envmgr_error_set(b->err, ENVMGR_E_CONFIG, 0, "%s:%d:%d: unknown alias '*%s'",
                                b->file, (int)ev->start_mark.line + 1,
                                (int)ev->start_mark.column + 1, name);
    return builder_add(b, node_ref(n));
}

static int builder_event(builder_t *b, const yaml_event_t *ev, bool *done)
{
    switch (ev->type) {
    case YAML_DOCUMENT_START_EVENT:
        if (b->have_document)
            return builder_error(b, (int)ev->start_mark.line + 1, (int)ev->start_mark.column + 1,
                                 "a compose file holds one YAML document", NULL);
        b->have_document = true;
        return 0;
    case YAML_SCALAR_EVENT:
        return builder_scalar(b, ev);
    case YAML_ALIAS_EVENT:
        return builder_alias(b, ev);
    case YAML_SEQUENCE_START_EVENT:
        return builder_open(b, COMPOSE_SEQ, ev, ev->data.sequence_start.anchor);
    case YAML_MAPPING_START_EVENT:
        return builder_open(b, COMPOSE_MAP, ev, ev->data.mapping_start.anchor);
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        return builder_close(b);
    case YAML_STREAM_END_EVENT:
        *done = true;
        return 0;
    default:
        return 0;
    }
}

static void builder_free(builder_t *b)
{
    for (size_t i = 0; i < b->depth; i++) {
        compose_node_unref(b->stack[i]);
        free(b->stack_anchor[i]);
    }
    free(b->stack);
    free(b->stack_anchor);
    for (size_t i = 0; i < b->n_anchors; i++) {
        free(b->anchors[i].name);
        compose_node_unref(b->anchors[i].node);
    }
    free(b->anchors);
    compose_node_unref(b->root);
}

static int parser_error(builder_t *b, const yaml_parser_t *p)
{
    const yaml_mark_t *m = p->problem ? &p->problem_mark : &p->mark;
    if (p->context)
        return envmgr_error_set(b->err, ENVMGR_E_CONFIG, 0, "%s:%d:%d: YAML syntax error: %s %s",
                                b->file, (int)m->line + 1, (int)m->column + 1,
                                p->problem ? p->problem : "invalid YAML", p->context);
    return envmgr_error_set(b->err, ENVMGR_E_CONFIG, 0, "%s:%d:%d: YAML syntax error: %s", b->file,
                            (int)m->line + 1, (int)m->column + 1,
                            p->problem ? p->problem : "invalid YAML");
}

int compose_yaml_parse(const char *data, size_t len, const char *file, compose_node_t **root,
                       envmgr_error_t *err)
{
    yaml_parser_t parser;
    builder_t b = {.file = file, .err = err};
    int ret = 0;
    bool done = false;
    *root = NULL;
    if (!yaml_parser_initialize(&parser))
        return envmgr_error_set(err, ENVMGR_E_SYSTEM, 0, "%s: cannot initialise libyaml", file);
    yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
    while (!done && ret == 0) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&parser, &ev)) {
            ret = parser_error(&b, &parser);
            break;
        }
        ret = builder_event(&b, &ev, &done);
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&parser);
    if (ret == 0)
        *root = envmgr_steal_pointer(&b.root);
    builder_free(&b);
    return ret;
}
