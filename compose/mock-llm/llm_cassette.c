/* mock-llm: the cassette (ordered rules giving the answers), its JSON form and matching.
 *
 * {"models": ["gpt-4o-mini"], "created": 1735689600,
 *  "rules": [{"name": "greeting",
 *             "match": {"user": {"contains": "hello"}, "model": "gpt-4o-mini",
 *                       "system": {"regex": "^You are"}},
 *             "reply": "Hi!"},
 *            {"match": {"user": "boom"}, "error": {"status": 503, "message": "overloaded"}}],
 *  "default": {"reply": "..."}   or   {"error": {"status": 404, "message": "..."}},
 *  "embeddings": [{"input": "text", "model": "text-embedding-3-small", "embedding": [0.1, ...]}]}
 * A matcher is a string (exact) or an object with one of exact, contains, regex (POSIX ERE). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm.h"

static const char *const builtin_models[] = {"gpt-4o-mini", "gpt-4o", "gpt-4.1-mini",
                                             "text-embedding-3-small", "text-embedding-3-large"};

#define FAIL(...) (snprintf(msg, msgsize, __VA_ARGS__), -1)

static void matcher_free(llm_matcher_t *m)
{
    if (m->kind == LLM_MATCH_REGEX)
        regfree(&m->re);
    free(m->pattern);
    memset(m, 0, sizeof(*m));
}

static void rule_free(llm_rule_t *r)
{
    free(r->name);
    matcher_free(&r->user);
    matcher_free(&r->system);
    matcher_free(&r->model);
    free(r->reply);
    free(r->error_message);
    free(r->error_type);
    free(r->error_code);
    memset(r, 0, sizeof(*r));
}

void llm_cassette_free(llm_cassette_t *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->nrules; i++)
        rule_free(&c->rules[i]);
    free(c->rules);
    for (size_t i = 0; i < c->nembeddings; i++) {
        free(c->embeddings[i].input);
        free(c->embeddings[i].vector);
    }
    free(c->embeddings);
    rule_free(&c->fallback);
    for (size_t i = 0; i < c->nmodels; i++)
        free(c->models[i]);
    free(c->models);
    free(c);
}

static int matcher_parse(json_t *v, const char *where, llm_matcher_t *m, char *msg, size_t msgsize)
{
    const char *kinds[] = {NULL, "exact", "contains", "regex"};
    if (json_is_string(v)) {
        m->kind = LLM_MATCH_EXACT;
        m->pattern = mock_xstrdup(json_string_value(v));
        return 0;
    }
    if (!json_is_object(v) || json_object_size(v) != 1)
        return FAIL("%s: must be a string (exact match) or an object with one of \"exact\", "
                    "\"contains\", \"regex\"",
                    where);
    for (int k = LLM_MATCH_EXACT; k <= LLM_MATCH_REGEX; k++) {
        json_t *p = json_object_get(v, kinds[k]);
        if (!p)
            continue;
        if (!json_is_string(p))
            return FAIL("%s.%s: must be a string", where, kinds[k]);
        m->kind = (llm_match_kind_t)k;
        m->pattern = mock_xstrdup(json_string_value(p));
        if (k == LLM_MATCH_REGEX) {
            int rc = regcomp(&m->re, m->pattern, REG_EXTENDED | REG_NOSUB);
            if (rc != 0) {
                char e[128];
                regerror(rc, &m->re, e, sizeof(e));
                m->kind = LLM_MATCH_ANY; /* nothing compiled to free */
                return FAIL("%s.regex: invalid regular expression: %s", where, e);
            }
        }
        return 0;
    }
    return FAIL("%s: unknown matcher: use \"exact\", \"contains\" or \"regex\"", where);
}

static int string_field(json_t *o, const char *key, const char *where, char **out, char *msg,
                        size_t msgsize)
{
    json_t *v = json_object_get(o, key);
    if (!v)
        return 0;
    if (!json_is_string(v))
        return FAIL("%s.%s: must be a string", where, key);
    *out = mock_xstrdup(json_string_value(v));
    return 0;
}

/* The answer part shared by rules and the default: "reply" or "error". */
static int answer_parse(json_t *o, const char *where, llm_rule_t *r, char *msg, size_t msgsize)
{
    json_t *reply = json_object_get(o, "reply"), *err = json_object_get(o, "error");
    if ((reply != NULL) == (err != NULL))
        return FAIL("%s: needs exactly one of \"reply\" (string) or \"error\" (object)", where);
    if (reply) {
        if (!json_is_string(reply))
            return FAIL("%s.reply: must be a string", where);
        r->reply = mock_xstrdup(json_string_value(reply));
        return 0;
    }
    char w[160];
    snprintf(w, sizeof(w), "%s.error", where);
    json_t *st = json_object_get(err, "status");
    if (!json_is_object(err))
        return FAIL("%s: must be an object with \"status\" and \"message\"", w);
    if (!json_is_integer(st) || json_integer_value(st) < 400 || json_integer_value(st) > 599)
        return FAIL("%s.status: must be an integer between 400 and 599", w);
    r->error_status = (int)json_integer_value(st);
    if (string_field(err, "message", w, &r->error_message, msg, msgsize) < 0 ||
        string_field(err, "type", w, &r->error_type, msg, msgsize) < 0 ||
        string_field(err, "code", w, &r->error_code, msg, msgsize) < 0)
        return -1;
    if (!r->error_message)
        return FAIL("%s.message: missing", w);
    return 0;
}

static int rule_parse(json_t *o, size_t idx, llm_rule_t *r, char *msg, size_t msgsize)
{
    char where[64];
    snprintf(where, sizeof(where), "rules[%zu]", idx);
    if (!json_is_object(o))
        return FAIL("%s: must be an object", where);
    if (string_field(o, "name", where, &r->name, msg, msgsize) < 0)
        return -1;
    if (!r->name)
        r->name = mock_xstrdup(where);
    json_t *match = json_object_get(o, "match");
    if (match && !json_is_object(match))
        return FAIL("%s.match: must be an object with user, system and/or model", where);
    const char *key;
    json_t *v;
    json_object_foreach(match, key, v)
    {
        char w[96];
        snprintf(w, sizeof(w), "%s.match.%s", where, key);
        llm_matcher_t *m = strcmp(key, "user") == 0     ? &r->user
                           : strcmp(key, "system") == 0 ? &r->system
                           : strcmp(key, "model") == 0  ? &r->model
                                                        : NULL;
        if (!m)
            return FAIL("%s: unknown field (use user, system, model)", w);
        if (matcher_parse(v, w, m, msg, msgsize) < 0)
            return -1;
    }
    return answer_parse(o, where, r, msg, msgsize);
}

/* "embeddings": [{"input", "embedding": [numbers], "model" (optional, informative)}] */
static int embeddings_parse(llm_cassette_t *c, json_t *list, char *msg, size_t msgsize)
{
    if (!list)
        return 0;
    if (!json_is_array(list))
        return FAIL("embeddings: must be an array of {\"input\", \"embedding\"} objects");
    size_t n = json_array_size(list);
    c->embeddings = mock_xcalloc(n ? n : 1, sizeof(*c->embeddings));
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(list, i), *input = json_object_get(e, "input");
        json_t *vec = json_object_get(e, "embedding"), *model = json_object_get(e, "model");
        if (!json_is_object(e))
            return FAIL("embeddings[%zu]: must be an object", i);
        if (!json_is_string(input))
            return FAIL("embeddings[%zu].input: must be a string", i);
        if (model && !json_is_string(model))
            return FAIL("embeddings[%zu].model: must be a string", i);
        size_t dims = json_array_size(vec);
        if (!json_is_array(vec) || dims == 0 || dims > LLM_MAX_DIMENSIONS)
            return FAIL("embeddings[%zu].embedding: must be an array of 1 to %d numbers", i,
                        LLM_MAX_DIMENSIONS);
        llm_embedding_t *emb = &c->embeddings[c->nembeddings++];
        emb->input = mock_xstrdup(json_string_value(input));
        emb->vector = mock_xmalloc(dims * sizeof(float));
        emb->dims = (int)dims;
        for (size_t d = 0; d < dims; d++) {
            json_t *x = json_array_get(vec, d);
            if (!json_is_number(x))
                return FAIL("embeddings[%zu].embedding[%zu]: must be a number", i, d);
            emb->vector[d] = (float)json_number_value(x);
        }
    }
    return 0;
}

const llm_embedding_t *llm_cassette_embedding(const llm_cassette_t *c, const char *input, int dims)
{
    for (size_t i = 0; i < c->nembeddings; i++)
        if ((dims <= 0 || c->embeddings[i].dims == dims) &&
            strcmp(c->embeddings[i].input, input) == 0)
            return &c->embeddings[i];
    return NULL;
}

static void add_model(llm_cassette_t *c, const char *id)
{
    for (size_t i = 0; i < c->nmodels; i++)
        if (strcmp(c->models[i], id) == 0)
            return;
    c->models = mock_xrealloc(c->models, (c->nmodels + 1) * sizeof(*c->models));
    c->models[c->nmodels++] = mock_xstrdup(id);
}

static int cassette_parse(llm_cassette_t *c, json_t *doc, char *msg, size_t msgsize)
{
    if (!json_is_object(doc))
        return FAIL("must be a JSON object with \"rules\"");
    json_t *rules = json_object_get(doc, "rules"), *models = json_object_get(doc, "models");
    json_t *created = json_object_get(doc, "created"), *def = json_object_get(doc, "default");
    if (rules && !json_is_array(rules))
        return FAIL("rules: must be an array");
    if (models && !json_is_array(models))
        return FAIL("models: must be an array of strings");
    if (created && !json_is_integer(created))
        return FAIL("created: must be an integer (Unix time)");
    if (def && !json_is_object(def))
        return FAIL("default: must be an object with \"reply\" or \"error\"");
    c->created = created ? json_integer_value(created) : 1735689600;
    size_t n = json_array_size(rules);
    c->rules = mock_xcalloc(n ? n : 1, sizeof(*c->rules));
    for (size_t i = 0; i < n; i++) {
        c->nrules = i + 1;
        if (rule_parse(json_array_get(rules, i), i, &c->rules[i], msg, msgsize) < 0)
            return -1;
    }
    if (embeddings_parse(c, json_object_get(doc, "embeddings"), msg, msgsize) < 0)
        return -1;
    c->fallback.name = mock_xstrdup("default");
    if (def && answer_parse(def, "default", &c->fallback, msg, msgsize) < 0)
        return -1;
    if (!def)
        c->fallback.reply = mock_xstrdup("This is a reply from envtest's mock-llm.");
    for (size_t i = 0; i < json_array_size(models); i++) {
        json_t *m = json_array_get(models, i);
        if (!json_is_string(m))
            return FAIL("models[%zu]: must be a string", i);
        add_model(c, json_string_value(m));
    }
    if (!models)
        for (size_t i = 0; i < sizeof(builtin_models) / sizeof(*builtin_models); i++)
            add_model(c, builtin_models[i]);
    for (size_t i = 0; i < c->nrules; i++)
        if (c->rules[i].model.kind == LLM_MATCH_EXACT)
            add_model(c, c->rules[i].model.pattern);
    return 0;
}

llm_cassette_t *llm_cassette_from_json(json_t *doc, char *msg, size_t msgsize)
{
    llm_cassette_t *c = mock_xcalloc(1, sizeof(*c));
    if (cassette_parse(c, doc, msg, msgsize) < 0) {
        llm_cassette_free(c);
        return NULL;
    }
    return c;
}

llm_cassette_t *llm_cassette_load(const char *path, char *msg, size_t msgsize)
{
    json_error_t err;
    json_t *doc = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
    if (!doc) {
        if (err.line > 0)
            snprintf(msg, msgsize, "cassette %s:%d:%d: %s", path, err.line, err.column, err.text);
        else
            snprintf(msg, msgsize, "cassette %s: %s", path, err.text);
        return NULL;
    }
    char inner[400];
    llm_cassette_t *c = llm_cassette_from_json(doc, inner, sizeof(inner));
    json_decref(doc);
    if (!c)
        snprintf(msg, msgsize, "cassette %s: %s", path, inner);
    return c;
}

llm_cassette_t *llm_cassette_builtin(void)
{
    json_t *doc = json_object();
    char msg[64];
    llm_cassette_t *c = llm_cassette_from_json(doc, msg, sizeof(msg));
    json_decref(doc);
    return c;
}

static bool matcher_ok(const llm_matcher_t *m, const char *s)
{
    switch (m->kind) {
    case LLM_MATCH_ANY:
        return true;
    case LLM_MATCH_EXACT:
        return strcmp(s, m->pattern) == 0;
    case LLM_MATCH_CONTAINS:
        return strstr(s, m->pattern) != NULL;
    case LLM_MATCH_REGEX:
        return regexec(&m->re, s, 0, NULL, 0) == 0;
    }
    return false;
}

const llm_rule_t *llm_cassette_match(const llm_cassette_t *c, const char *model, const char *system,
                                     const char *user)
{
    for (size_t i = 0; i < c->nrules; i++) {
        const llm_rule_t *r = &c->rules[i];
        if (matcher_ok(&r->model, model) && matcher_ok(&r->system, system) &&
            matcher_ok(&r->user, user))
            return r;
    }
    return &c->fallback;
}
