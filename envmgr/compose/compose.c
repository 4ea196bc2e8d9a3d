/* Compose loader: file lookup, top-level keys, .env and secrets, project name, dependency checks.
 */
#include "compose_internal.h"
#include <envmgr/log.h>

#include <ctype.h>
#include <errno.h>
#include <libgen.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SECRET_TOKEN_LEN 24

/* ---- context helpers --------------------------------------------------------------------------
 */

/* A variable whose name says it holds a credential (OPENAI_API_KEY, ..._TOKEN, ..._PASSWORD):
 * its value, when a Compose file uses it, is masked like a generated secret in `config`. */
static bool name_is_credential(const char *name)
{
    static const char *const suffixes[] = {"_KEY", "_TOKEN", "_PASSWORD", "_SECRET"};
    size_t n = strlen(name);
    for (size_t i = 0; i < sizeof(suffixes) / sizeof(*suffixes); i++) {
        size_t k = strlen(suffixes[i]);
        if (n > k && strcmp(name + n - k, suffixes[i]) == 0)
            return true;
    }
    return false;
}

const char *compose_ctx_lookup(void *userdata, const char *name)
{
    compose_ctx_t *ctx = userdata;
    const char *v = getenv(name);
    const envmgr_kv_t *kv;
    if ((kv = envmgr_kvlist_find(&ctx->real_vars, name)) && kv->value)
        return kv->value; /* envtest's own: the real services' URLs */
    if (v && *v && name_is_credential(name) && ctx->project &&
        !envmgr_kvlist_find(&ctx->project->secret_values, name))
        envmgr_kvlist_set(&ctx->project->secret_values, name, v);
    if (v)
        return v;
    /* an included file: the including project's environment overrides its env_file */
    if (ctx->parent && (v = compose_ctx_lookup(ctx->parent, name)))
        return v;
    if ((kv = envmgr_kvlist_find(&ctx->dotenv, name)) && kv->value)
        return kv->value;
    if ((kv = envmgr_kvlist_find(&ctx->secrets, name)) && kv->value)
        return kv->value;
    if (ctx->extra_vars && (kv = envmgr_kvlist_find(ctx->extra_vars, name)) && kv->value)
        return kv->value;
    return NULL;
}

int compose_error_at(compose_ctx_t *ctx, const compose_node_t *node, const char *path,
                     const char *fmt, ...)
{
    char msg[3072];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (node)
        return envmgr_error_set(ctx->err, ENVMGR_E_CONFIG, 0, "%s:%d:%d: %s: %s",
                                node->file ? node->file : ctx->file, node->line, node->column, path,
                                msg);
    return envmgr_error_set(ctx->err, ENVMGR_E_CONFIG, 0, "%s: %s: %s", ctx->file, path, msg);
}

static int interpolate_node(compose_ctx_t *ctx, const compose_node_t *node, const char *path,
                            char **out)
{
    if (ctx->no_interpolate || !strchr(node->scalar, '$')) {
        *out = envmgr_xstrdup(node->scalar);
        return 0;
    }
    envmgr_cleanup_free char *where = envmgr_xasprintf("%s:%d", ctx->file, node->line);
    if (compose_interpolate_at(node->scalar, compose_ctx_lookup, ctx, where, out, ctx->err) == 0)
        return 0;
    char msg[sizeof(ctx->err->message)];
    snprintf(msg, sizeof(msg), "%s", ctx->err->message);
    return compose_error_at(ctx, node, path, "%s", msg);
}

int compose_get_string(compose_ctx_t *ctx, const compose_node_t *node, const char *path, char **out)
{
    if (!node || node->kind != COMPOSE_SCALAR || compose_node_is_null(node))
        return compose_error_at(ctx, node, path, "expected a string, got %s",
                                compose_node_kind_name(node));
    return interpolate_node(ctx, node, path, out);
}

int compose_get_bool(compose_ctx_t *ctx, const compose_node_t *node, const char *path, bool *out)
{
    static const char *const yes[] = {"true", "yes", "on"}, *const no[] = {"false", "no", "off"};
    envmgr_cleanup_free char *s = NULL;
    if (compose_get_string(ctx, node, path, &s) < 0)
        return -1;
    for (size_t i = 0; i < ENVMGR_ARRAY_SIZE(yes); i++) {
        if (strcasecmp(s, yes[i]) == 0)
            return *out = true, 0;
        if (strcasecmp(s, no[i]) == 0)
            return *out = false, 0;
    }
    return compose_error_at(ctx, node, path, "expected true or false, got '%s'", s);
}

int compose_get_int(compose_ctx_t *ctx, const compose_node_t *node, const char *path, long min,
                    long max, long *out)
{
    envmgr_cleanup_free char *s = NULL;
    char *end;
    if (compose_get_string(ctx, node, path, &s) < 0)
        return -1;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (!*s || *end || errno || v < min || v > max)
        return compose_error_at(ctx, node, path, "expected an integer from %ld to %ld, got '%s'",
                                min, max, s);
    *out = v;
    return 0;
}

int compose_each_field(compose_ctx_t *ctx, const compose_node_t *node, const char *path,
                       compose_field_fn field, void *def)
{
    if (compose_node_is_null(node))
        return 0;
    if (node->kind != COMPOSE_MAP)
        return compose_error_at(ctx, node, path, "expected a mapping, got %s",
                                compose_node_kind_name(node));
    for (size_t i = 0; i < node->n_pairs; i++)
        if (field(ctx, def, &node->pairs[i], path) < 0)
            return -1;
    return 0;
}

int compose_get_duration(compose_ctx_t *ctx, const compose_node_t *node, const char *path,
                         int64_t *out_ms)
{
    envmgr_cleanup_free char *s = NULL;
    if (compose_get_string(ctx, node, path, &s) < 0)
        return -1;
    if (envmgr_parse_duration_ms(s, out_ms) < 0)
        return compose_error_at(ctx, node, path,
                                "invalid duration '%s': expected e.g. 30s, 1m30s or 500ms", s);
    return 0;
}

int compose_get_strv(compose_ctx_t *ctx, const compose_node_t *node, const char *path, bool split,
                     envmgr_strv_t *out)
{
    if (compose_node_is_null(node))
        return 0;
    if (node->kind == COMPOSE_SCALAR) {
        envmgr_cleanup_free char *s = NULL;
        if (compose_get_string(ctx, node, path, &s) < 0)
            return -1;
        if (!split) {
            envmgr_strv_push(out, s);
            return 0;
        }
        if (compose_shell_split(s, out, ctx->err) < 0) {
            char msg[sizeof(ctx->err->message)];
            snprintf(msg, sizeof(msg), "%s", ctx->err->message);
            return compose_error_at(ctx, node, path, "%s", msg);
        }
        return 0;
    }
    if (node->kind != COMPOSE_SEQ)
        return compose_error_at(ctx, node, path, "expected a string or a list of strings, got %s",
                                compose_node_kind_name(node));
    for (size_t i = 0; i < node->n_items; i++) {
        envmgr_cleanup_free char *item_path = envmgr_xasprintf("%s[%zu]", path, i);
        envmgr_cleanup_free char *s = NULL;
        if (compose_get_string(ctx, node->items[i], item_path, &s) < 0)
            return -1;
        envmgr_strv_push(out, s);
    }
    return 0;
}

static int kv_from_item(compose_ctx_t *ctx, const compose_node_t *item, const char *path,
                        bool lookup_missing, envmgr_kvlist_t *out)
{
    envmgr_cleanup_free char *s = NULL;
    if (compose_get_string(ctx, item, path, &s) < 0)
        return -1;
    char *eq = strchr(s, '=');
    if (eq == s)
        return compose_error_at(ctx, item, path, "missing name before '=' in '%s'", s);
    if (eq) {
        *eq = '\0';
        envmgr_kvlist_set(out, s, eq + 1);
    } else {
        envmgr_kvlist_set(out, s, lookup_missing ? compose_ctx_lookup(ctx, s) : "");
    }
    return 0;
}

int compose_get_kvlist(compose_ctx_t *ctx, const compose_node_t *node, const char *path,
                       bool lookup_missing, envmgr_kvlist_t *out)
{
    if (compose_node_is_null(node))
        return 0;
    if (node->kind == COMPOSE_SEQ) {
        for (size_t i = 0; i < node->n_items; i++) {
            envmgr_cleanup_free char *item_path = envmgr_xasprintf("%s[%zu]", path, i);
            if (kv_from_item(ctx, node->items[i], item_path, lookup_missing, out) < 0)
                return -1;
        }
        return 0;
    }
    if (node->kind != COMPOSE_MAP)
        return compose_error_at(ctx, node, path,
                                "expected a mapping or a list of NAME=VALUE, got %s",
                                compose_node_kind_name(node));
    for (size_t i = 0; i < node->n_pairs; i++) {
        const char *key = node->pairs[i].key->scalar;
        const compose_node_t *v = node->pairs[i].value;
        envmgr_cleanup_free char *item_path = envmgr_xasprintf("%s.%s", path, key);
        envmgr_cleanup_free char *s = NULL;
        if (compose_node_is_null(v)) {
            envmgr_kvlist_set(out, key, lookup_missing ? compose_ctx_lookup(ctx, key) : "");
            continue;
        }
        if (v->kind != COMPOSE_SCALAR)
            return compose_error_at(ctx, v, item_path,
                                    "expected a string, number or boolean, got %s",
                                    compose_node_kind_name(v));
        if (compose_get_string(ctx, v, item_path, &s) < 0)
            return -1;
        envmgr_kvlist_set(out, key, s);
    }
    return 0;
}

static json_t *plain_scalar_json(const char *s)
{
    char *end;
    if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE"))
        return json_true();
    if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE"))
        return json_false();
    if (*s && strspn(s, "0123456789+-.eE") == strlen(s)) { /* no hex, inf or nan */
        errno = 0;
        long long v = strtoll(s, &end, 10);
        if (!*end && !errno)
            return json_integer(v);
        double d = strtod(s, &end);
        if (!*end && !errno && isfinite(d))
            return json_real(d);
    }
    return NULL;
}

int compose_node_to_json(compose_ctx_t *ctx, const compose_node_t *node, const char *path,
                         json_t **out)
{
    if (compose_node_is_null(node)) {
        *out = json_null();
        return 0;
    }
    if (node->kind == COMPOSE_SCALAR) {
        json_t *typed = node->plain ? plain_scalar_json(node->scalar) : NULL;
        char *s = NULL;
        if (typed) {
            *out = typed;
            return 0;
        }
        if (interpolate_node(ctx, node, path, &s) < 0)
            return -1;
        *out = json_string(s);
        if (!*out) /* not UTF-8 */
            *out = json_stringn_nocheck(s, strlen(s));
        free(s);
        return 0;
    }
    json_t *j = node->kind == COMPOSE_SEQ ? json_array() : json_object();
    for (size_t i = 0; i < (node->kind == COMPOSE_SEQ ? node->n_items : node->n_pairs); i++) {
        json_t *child = NULL;
        envmgr_cleanup_free char *child_path =
            node->kind == COMPOSE_SEQ ? envmgr_xasprintf("%s[%zu]", path, i)
                                      : envmgr_xasprintf("%s.%s", path, node->pairs[i].key->scalar);
        const compose_node_t *c = node->kind == COMPOSE_SEQ ? node->items[i] : node->pairs[i].value;
        if (compose_node_to_json(ctx, c, child_path, &child) < 0) {
            json_decref(j);
            return -1;
        }
        if (node->kind == COMPOSE_SEQ)
            json_array_append_new(j, child);
        else
            json_object_set_new_nocheck(j, node->pairs[i].key->scalar, child);
    }
    *out = j;
    return 0;
}

/* ---- paths ---------------------------------------------------------------------------------- */

char *compose_path_normalize(const char *path)
{
    envmgr_cleanup_free char *copy = envmgr_xstrdup(path);
    char **parts = envmgr_xcalloc(strlen(path) / 2 + 2, sizeof(char *));
    size_t n = 0;
    for (char *save = NULL, *t = strtok_r(copy, "/", &save); t; t = strtok_r(NULL, "/", &save)) {
        if (!strcmp(t, "."))
            continue;
        if (!strcmp(t, "..")) {
            if (n > 0)
                n--;
            continue;
        }
        parts[n++] = t;
    }
    envmgr_buf_t b = ENVMGR_BUF_INIT;
    for (size_t i = 0; i < n; i++) {
        envmgr_buf_adds(&b, "/");
        envmgr_buf_adds(&b, parts[i]);
    }
    if (n == 0)
        envmgr_buf_adds(&b, "/");
    free(parts);
    return envmgr_buf_detach(&b);
}

static char *resolve_in(const char *dir, const char *path)
{
    envmgr_cleanup_free char *joined = NULL;
    const char *home = getenv("HOME");
    if (path[0] == '/')
        return compose_path_normalize(path);
    if ((path[0] == '~' && (path[1] == '/' || !path[1])) && home)
        joined = envmgr_xasprintf("%s/%s", home, path + 1);
    else
        joined = envmgr_xasprintf("%s/%s", dir, path);
    return compose_path_normalize(joined);
}

char *compose_resolve_path(compose_ctx_t *ctx, const char *path)
{
    return resolve_in(ctx->dir, path);
}

char *compose_resolve_path_at(compose_ctx_t *ctx, const compose_node_t *node, const char *path)
{
    if (!node || !node->file)
        return resolve_in(ctx->dir, path);
    envmgr_cleanup_free char *dir = envmgr_xstrdup(node->file);
    char *slash = strrchr(dir, '/');
    if (slash)
        slash[slash == dir ? 1 : 0] = '\0';
    return resolve_in(dir, path);
}

static char *absolute_path(const char *path)
{
    if (path[0] == '/')
        return compose_path_normalize(path);
    char cwd[4096];
    if (!getcwd(cwd, sizeof(cwd)))
        snprintf(cwd, sizeof(cwd), "/");
    envmgr_cleanup_free char *joined = envmgr_xasprintf("%s/%s", cwd, path);
    return compose_path_normalize(joined);
}

/* ---- project name ---------------------------------------------------------------------------- */

char *envmgr_compose_normalize_project_name(const char *name)
{
    envmgr_buf_t b = ENVMGR_BUF_INIT;
    for (const char *p = name; *p; p++) {
        char c = (char)tolower((unsigned char)*p);
        bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
        if (!ok || (b.len == 0 && (c == '_' || c == '-')))
            continue;
        envmgr_buf_add(&b, &c, 1);
    }
    if (b.len == 0) {
        envmgr_buf_free(&b);
        return NULL;
    }
    return envmgr_buf_detach(&b);
}

static int resolve_project_name(compose_ctx_t *ctx, const compose_node_t *root,
                                const envmgr_compose_options_t *opts)
{
    envmgr_cleanup_free char *from_file = NULL;
    const char *source = "the directory name";
    const char *name = NULL;
    const compose_node_t *name_node = compose_node_get(root, "name");
    if (opts && opts->project_name && *opts->project_name)
        name = opts->project_name, source = "-p";
    else if (getenv("ENVTEST_PROJECT") && *getenv("ENVTEST_PROJECT"))
        name = getenv("ENVTEST_PROJECT"), source = "ENVTEST_PROJECT";
    if (name_node && !compose_node_is_null(name_node)) {
        if (compose_get_string(ctx, name_node, "name", &from_file) < 0)
            return -1;
        if (!name)
            name = from_file, source = "name:";
    }
    envmgr_cleanup_free char *dir_copy = envmgr_xstrdup(ctx->dir);
    if (!name)
        name = basename(dir_copy);
    ctx->project->name = envmgr_compose_normalize_project_name(name);
    if (!ctx->project->name) {
        envmgr_error_set(ctx->err, ENVMGR_E_CONFIG, 0,
                         "%s: project name '%s' (from %s) has no character in [a-z0-9_-]",
                         ctx->file, name, source);
        return envmgr_error_hint(ctx->err, "give a name with -p NAME or `name:` in the file");
    }
    return 0;
}

/* ---- .env and secrets ------------------------------------------------------------------------ */

static int load_env_file(compose_ctx_t *ctx, const char *path)
{
    envmgr_cleanup_free char *data = NULL;
    size_t len;
    if (envmgr_read_file(path, &data, &len, ctx->err) < 0)
        return -1;
    return compose_dotenv_parse(data, path, NULL, NULL, &ctx->dotenv, ctx->err);
}

/* .env in the project directory, or an included file's env_file list (later files win). */
static int load_dotenv(compose_ctx_t *ctx, const compose_include_t *inc)
{
    if (inc && inc->env_files && inc->env_files->n) {
        for (size_t i = 0; i < inc->env_files->n; i++)
            if (load_env_file(ctx, inc->env_files->items[i]) < 0)
                return envmgr_error_wrap(ctx->err, "%s: include env_file", ctx->file);
        return 0;
    }
    envmgr_cleanup_free char *path = envmgr_xasprintf("%s/.env", ctx->dir);
    if (access(path, F_OK) != 0)
        return 0;
    return load_env_file(ctx, path);
}

static bool valid_variable_name(const char *s)
{
    if (!*s || !(isalpha((unsigned char)*s) || *s == '_'))
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_')
            return false;
    return true;
}

static int secret_value(compose_ctx_t *ctx, const envmgr_compose_options_t *opts, const char *name)
{
    const char *set = getenv(name);
    const envmgr_kv_t *kv = envmgr_kvlist_find(&ctx->dotenv, name);
    if (!set && kv)
        set = kv->value;
    if (set) {
        envmgr_kvlist_set(&ctx->project->secret_values, name, set);
        return 0;
    }
    envmgr_cleanup_free char *value =
        opts && opts->secret_cb ? opts->secret_cb(opts->secret_userdata, name) : NULL;
    if (!value) {
        value = envmgr_xmalloc(SECRET_TOKEN_LEN + 1);
        if (envmgr_random_token(value, SECRET_TOKEN_LEN, ctx->err) < 0)
            return envmgr_error_wrap(ctx->err, "secret %s", name);
    }
    envmgr_kvlist_set(&ctx->secrets, name, value);
    envmgr_kvlist_set(&ctx->project->secret_values, name, value);
    return 0;
}

static int load_secrets(compose_ctx_t *ctx, const compose_node_t *root,
                        const envmgr_compose_options_t *opts)
{
    const compose_node_t *x = compose_node_get(root, "x-envtest");
    const compose_node_t *list = x ? compose_node_get(x, "secrets") : NULL;
    if (compose_node_is_null(list))
        return 0;
    if (list->kind != COMPOSE_SEQ)
        return compose_error_at(ctx, list, "x-envtest.secrets",
                                "expected a list of variable names, got %s",
                                compose_node_kind_name(list));
    for (size_t i = 0; i < list->n_items; i++) {
        const compose_node_t *item = list->items[i];
        envmgr_cleanup_free char *path = envmgr_xasprintf("x-envtest.secrets[%zu]", i);
        if (item->kind != COMPOSE_SCALAR || !valid_variable_name(item->scalar))
            return compose_error_at(ctx, item, path,
                                    "expected a variable name ([A-Za-z_][A-Za-z0-9_]*)");
        envmgr_strv_push(&ctx->project->secrets, item->scalar);
        if (secret_value(ctx, opts, item->scalar) < 0)
            return -1;
    }
    return 0;
}

/* ---- top-level volumes and networks -----------------------------------------------------------
 */

static int parse_volume_field(compose_ctx_t *ctx, void *def, const compose_pair_t *f,
                              const char *path)
{
    envmgr_volume_def_t *vol = def;
    const char *key = f->key->scalar;
    envmgr_cleanup_free char *fpath = envmgr_xasprintf("%s.%s", path, key);
    if (!strcmp(key, "name"))
        return compose_get_string(ctx, f->value, fpath, &vol->name);
    if (!strcmp(key, "labels"))
        return compose_get_kvlist(ctx, f->value, fpath, false, &vol->labels);
    if (!strcmp(key, "external")) {
        if (f->value->kind == COMPOSE_MAP) { /* legacy external: {name: x} */
            vol->external = true;
            const compose_node_t *n = compose_node_get(f->value, "name");
            return n && !vol->name ? compose_get_string(ctx, n, fpath, &vol->name) : 0;
        }
        return compose_get_bool(ctx, f->value, fpath, &vol->external);
    }
    if (!strcmp(key, "driver")) {
        envmgr_cleanup_free char *driver = NULL;
        if (compose_get_string(ctx, f->value, fpath, &driver) < 0)
            return -1;
        if (strcmp(driver, "local") != 0)
            envmgr_warn("%s:%d: volume '%s': driver '%s' ignored: envtest uses the local driver",
                        ctx->file, f->key->line, vol->key, driver);
        return 0;
    }
    if (!strncmp(key, "x-", 2))
        return 0;
    envmgr_warn("%s:%d: unknown key '%s' in volume '%s' ignored", ctx->file, f->key->line, key,
                vol->key);
    return 0;
}

static int parse_volumes(compose_ctx_t *ctx, const compose_node_t *node)
{
    envmgr_project_t *p = ctx->project;
    if (compose_node_is_null(node))
        return 0;
    if (node->kind != COMPOSE_MAP)
        return compose_error_at(ctx, node, "volumes", "expected a mapping of volume names, got %s",
                                compose_node_kind_name(node));
    p->volumes = envmgr_xcalloc(node->n_pairs, sizeof(*p->volumes));
    for (size_t i = 0; i < node->n_pairs; i++) {
        const compose_pair_t *pair = &node->pairs[i];
        envmgr_volume_def_t *vol = &p->volumes[p->n_volumes++];
        envmgr_cleanup_free char *path = envmgr_xasprintf("volumes.%s", pair->key->scalar);
        vol->key = envmgr_xstrdup(pair->key->scalar);
        if (!compose_valid_name(vol->key))
            return compose_error_at(ctx, pair->key, path,
                                    "invalid volume name: use letters, digits, '.', '_' and '-'");
        if (compose_each_field(ctx, pair->value, path, parse_volume_field, vol) < 0)
            return -1;
    }
    return 0;
}

/* ---- services and dependencies ----------------------------------------------------------------
 */

static int parse_services(compose_ctx_t *ctx, const compose_node_t *node)
{
    envmgr_project_t *p = ctx->project;
    if (!node)
        return envmgr_error_set(ctx->err, ENVMGR_E_CONFIG, 0, "%s: no 'services:' defined",
                                ctx->file);
    if (node->kind != COMPOSE_MAP || node->n_pairs == 0)
        return compose_error_at(ctx, node, "services", "expected a mapping of services, got %s",
                                node->kind == COMPOSE_MAP ? "an empty one"
                                                          : compose_node_kind_name(node));
    ctx->services = node;
    size_t included = p->n_services; /* services of include: files come first */
    p->services = envmgr_xrealloc(p->services, (included + node->n_pairs) * sizeof(*p->services));
    memset(&p->services[included], 0, node->n_pairs * sizeof(*p->services));
    for (size_t i = 0; i < node->n_pairs; i++) {
        for (size_t j = 0; j < included; j++)
            if (!strcmp(p->services[j].name, node->pairs[i].key->scalar))
                return compose_error_at(ctx, node->pairs[i].key, "services",
                                        "service '%s' is also defined by an included file",
                                        node->pairs[i].key->scalar);
        p->n_services++;
        if (compose_parse_service(ctx, &node->pairs[i], &p->services[included + i]) < 0)
            return -1;
    }
    return 0;
}

static int find_service(const envmgr_project_t *p, const char *name)
{
    for (size_t i = 0; i < p->n_services; i++)
        if (!strcmp(p->services[i].name, name))
            return (int)i;
    return -1;
}

/* Depth-first search; state: 0 unvisited, 1 on the stack, 2 done. */
static int visit(compose_ctx_t *ctx, size_t i, char *state, size_t *stack, size_t depth)
{
    const envmgr_project_t *p = ctx->project;
    state[i] = 1;
    stack[depth] = i;
    for (size_t d = 0; d < p->services[i].n_depends_on; d++) {
        int j = find_service(p, p->services[i].depends_on[d].service);
        if (j < 0 || state[j] == 2)
            continue;
        if (state[j] == 1) {
            envmgr_buf_t cycle = ENVMGR_BUF_INIT;
            size_t from = 0;
            while (stack[from] != (size_t)j)
                from++;
            for (size_t k = from; k <= depth; k++)
                envmgr_buf_addf(&cycle, "%s -> ", p->services[stack[k]].name);
            envmgr_buf_adds(&cycle, p->services[j].name);
            envmgr_error_set(ctx->err, ENVMGR_E_CONFIG, 0,
                             "%s:%d: services.%s.depends_on: dependency cycle %s", ctx->file,
                             p->services[j].line, p->services[j].name, cycle.data);
            envmgr_buf_free(&cycle);
            return -1;
        }
        if (visit(ctx, (size_t)j, state, stack, depth + 1) < 0)
            return -1;
    }
    state[i] = 2;
    return 0;
}

static int check_cycles(compose_ctx_t *ctx)
{
    size_t n = ctx->project->n_services;
    envmgr_cleanup_free char *state = envmgr_xcalloc(n + 1, 1);
    envmgr_cleanup_free size_t *stack = envmgr_xcalloc(n + 1, sizeof(size_t));
    for (size_t i = 0; i < n; i++)
        if (state[i] == 0 && visit(ctx, i, state, stack, 0) < 0)
            return -1;
    return 0;
}

/* ---- loading ----------------------------------------------------------------------------------
 */

static int parse_top_level(compose_ctx_t *ctx, compose_node_t *root,
                           const envmgr_compose_options_t *opts)
{
    static const char *const known[] = {"name",    "services", "volumes", "networks",
                                        "version", "secrets",  "configs", "include"};
    for (size_t i = 0; i < root->n_pairs; i++) {
        const compose_node_t *k = root->pairs[i].key;
        bool ok = !strncmp(k->scalar, "x-", 2);
        for (size_t j = 0; j < ENVMGR_ARRAY_SIZE(known); j++)
            ok = ok || !strcmp(k->scalar, known[j]);
        if (!ok)
            envmgr_warn("%s:%d: unknown top-level key '%s' ignored", ctx->file, k->line, k->scalar);
    }
    if (compose_apply_include(ctx, root, opts) < 0 || compose_apply_extends(ctx, root) < 0 ||
        parse_volumes(ctx, compose_node_get(root, "volumes")) < 0 ||
        compose_parse_networks(ctx, compose_node_get(root, "networks")) < 0 ||
        compose_parse_file_defs(ctx, compose_node_get(root, "secrets"), true) < 0 ||
        compose_parse_file_defs(ctx, compose_node_get(root, "configs"), false) < 0 ||
        parse_services(ctx, compose_node_get(root, "services")) < 0 ||
        compose_resolve_references(ctx, opts) < 0 || check_cycles(ctx) < 0)
        return -1;
    const compose_node_t *x = compose_node_get(root, "x-envtest");
    if (x && compose_node_to_json(ctx, x, "x-envtest", &ctx->project->x_envtest) < 0)
        return -1;
    if (compose_parse_monitor(ctx, x) < 0)
        return -1;
    return 0;
}

static int load_project(compose_ctx_t *ctx, compose_node_t *root,
                        const envmgr_compose_options_t *opts, const compose_include_t *inc)
{
    if (!root)
        return envmgr_error_set(ctx->err, ENVMGR_E_CONFIG, 0,
                                "%s: the file is empty; expected a mapping with 'services:'",
                                ctx->file);
    if (root->kind != COMPOSE_MAP)
        return compose_error_at(ctx, root, "(top level)",
                                "expected a mapping with 'services:', got %s",
                                compose_node_kind_name(root));
    if (load_dotenv(ctx, inc) < 0 || load_secrets(ctx, root, opts) < 0 ||
        compose_load_real(ctx, root, opts) < 0 || resolve_project_name(ctx, root, opts) < 0 ||
        parse_top_level(ctx, root, opts) < 0)
        return -1;
    return 0;
}

static int load_string(const char *yaml, size_t len, const char *file,
                       const envmgr_compose_options_t *opts, const compose_include_t *inc,
                       envmgr_project_t **out, envmgr_error_t *err)
{
    envmgr_project_t *p = envmgr_xcalloc(1, sizeof(*p));
    compose_node_t *root = NULL;
    compose_ctx_t ctx = {
        .file = file, .err = err, .project = p, .parent = inc ? inc->parent : NULL};
    *out = NULL;
    p->file = absolute_path(file);
    envmgr_cleanup_free char *file_copy = envmgr_xstrdup(p->file);
    p->dir = inc && inc->project_dir ? compose_path_normalize(inc->project_dir)
                                     : envmgr_xstrdup(dirname(file_copy));
    ctx.dir = p->dir;
    ctx.extra_vars = opts ? opts->extra_vars : NULL;
    ctx.no_interpolate = opts && opts->no_interpolate;
    int ret = compose_yaml_parse(yaml, len, file, &root, err);
    if (ret == 0)
        ret = load_project(&ctx, root, opts, inc);
    compose_node_unref(root);
    envmgr_kvlist_free(&ctx.dotenv);
    envmgr_kvlist_free(&ctx.secrets);
    envmgr_kvlist_free(&ctx.real_vars);
    if (ret < 0) {
        envmgr_project_free(p);
        return -1;
    }
    *out = p;
    return 0;
}

int envmgr_compose_load_string(const char *yaml, size_t len, const char *file,
                               const envmgr_compose_options_t *opts, envmgr_project_t **out,
                               envmgr_error_t *err)
{
    return load_string(yaml, len, file, opts, NULL, out, err);
}

int compose_load_included(const char *file, const compose_include_t *inc,
                          const envmgr_compose_options_t *opts, envmgr_project_t **out,
                          envmgr_error_t *err)
{
    envmgr_cleanup_free char *data = NULL;
    size_t len = 0;
    *out = NULL;
    if (envmgr_read_file(file, &data, &len, err) < 0)
        return envmgr_error_wrap(err, "compose file");
    return load_string(data, len, file, opts, inc, out, err);
}

static const char *find_default_file(void)
{
    static const char *const candidates[] = {"compose/compose.yaml", "compose.yaml", "compose.yml",
                                             "docker-compose.yaml", "docker-compose.yml"};
    for (size_t i = 0; i < ENVMGR_ARRAY_SIZE(candidates); i++)
        if (access(candidates[i], F_OK) == 0)
            return candidates[i];
    return NULL;
}

int envmgr_compose_load(const char *path, const envmgr_compose_options_t *opts,
                        envmgr_project_t **out, envmgr_error_t *err)
{
    envmgr_cleanup_free char *data = NULL;
    size_t len = 0;
    *out = NULL;
    if (!path && !(path = find_default_file())) {
        envmgr_error_set(err, ENVMGR_E_CONFIG, 0,
                         "no compose file: none of compose/compose.yaml, compose.yaml, "
                         "compose.yml, docker-compose.yaml, docker-compose.yml in the current "
                         "directory");
        return envmgr_error_hint(err, "pass -f FILE");
    }
    if (envmgr_read_file(path, &data, &len, err) < 0)
        return envmgr_error_wrap(err, "compose file");
    return envmgr_compose_load_string(data, len, path, opts, out, err);
}

/* ---- freeing and lookup ------------------------------------------------------------------------
 */

void envmgr_project_free(envmgr_project_t *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n_services; i++)
        compose_service_clear(&p->services[i]);
    free(p->services);
    for (size_t i = 0; i < p->n_volumes; i++) {
        free(p->volumes[i].key);
        free(p->volumes[i].name);
        envmgr_kvlist_free(&p->volumes[i].labels);
    }
    free(p->volumes);
    compose_resources_free(p);
    json_decref(p->x_envtest);
    envmgr_strv_free(&p->secrets);
    envmgr_kvlist_free(&p->secret_values);
    envmgr_kvlist_free(&p->real_services);
    free(p->name);
    free(p->file);
    free(p->dir);
    free(p);
}

const envmgr_service_t *envmgr_project_service(const envmgr_project_t *p, const char *name)
{
    int i = find_service(p, name);
    return i < 0 ? NULL : &p->services[i];
}
