/* Suite lists: building them from x-envtest, filtering by tag, sharding; status names. */
#include <glob.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>

#include <envmgr/runner.h>

static const char *const status_names[] = {
    [ENVMGR_SUITE_PASSED] = "passed",           [ENVMGR_SUITE_FAILED] = "failed",
    [ENVMGR_SUITE_SKIPPED] = "skipped",         [ENVMGR_SUITE_FLAKY] = "flaky",
    [ENVMGR_SUITE_TIMEOUT] = "timeout",         [ENVMGR_SUITE_ERROR] = "error",
    [ENVMGR_SUITE_INTERRUPTED] = "interrupted", [ENVMGR_SUITE_NOT_RUN] = "not_run",
};

const char *envmgr_suite_status_name(enum envmgr_suite_status status)
{
    if ((size_t)status < ENVMGR_ARRAY_SIZE(status_names))
        return status_names[status];
    return "unknown";
}

int envmgr_suite_status_from_name(const char *name)
{
    for (size_t i = 0; name && i < ENVMGR_ARRAY_SIZE(status_names); i++)
        if (strcmp(status_names[i], name) == 0)
            return (int)i;
    return -1;
}

bool envmgr_suite_status_ok(enum envmgr_suite_status status)
{
    return status == ENVMGR_SUITE_PASSED || status == ENVMGR_SUITE_SKIPPED ||
           status == ENVMGR_SUITE_FLAKY;
}

envmgr_suite_spec_t *envmgr_suite_list_add(envmgr_suite_list_t *list, const char *name,
                                           const char *const *argv, bool is_tap)
{
    list->items = envmgr_xgrow(list->items, list->n, &list->cap, sizeof(*list->items));
    envmgr_suite_spec_t *s = &list->items[list->n++];
    memset(s, 0, sizeof(*s));
    s->name = envmgr_xstrdup(name);
    for (size_t i = 0; argv && argv[i]; i++)
        envmgr_strv_push(&s->argv, argv[i]);
    s->retries = -1;
    s->is_tap = is_tap;
    return s;
}

static void suite_spec_clear(envmgr_suite_spec_t *s)
{
    free(s->name);
    free(s->cwd);
    envmgr_strv_free(&s->argv);
    envmgr_strv_free(&s->tags);
    envmgr_kvlist_free(&s->env);
}

void envmgr_suite_list_free(envmgr_suite_list_t *list)
{
    for (size_t i = 0; i < list->n; i++)
        suite_spec_clear(&list->items[i]);
    free(list->items);
    memset(list, 0, sizeof(*list));
}

/* ---- x-envtest.suites ---------------------------------------------------------------------- */

static int config_error(envmgr_error_t *err, size_t index, const char *field, const char *what)
{
    envmgr_error_set(err, ENVMGR_E_CONFIG, 0, "x-envtest.suites[%zu].%s: %s", index, field, what);
    return envmgr_error_hint(err, "each suite is {name, path (or glob), args: [..], timeout: 5m, "
                                  "retries: N, tags: [..]}");
}

static int read_strings(const json_t *v, size_t index, const char *field, envmgr_strv_t *out,
                        envmgr_error_t *err)
{
    if (v == NULL)
        return 0;
    if (json_is_string(v)) {
        envmgr_strv_push(out, json_string_value(v));
        return 0;
    }
    if (!json_is_array(v))
        return config_error(err, index, field, "must be a list of strings");
    size_t i;
    json_t *item;
    json_array_foreach(v, i, item)
    {
        if (!json_is_string(item))
            return config_error(err, index, field, "must be a list of strings");
        envmgr_strv_push(out, json_string_value(item));
    }
    return 0;
}

static int read_timeout(const json_t *v, size_t index, int64_t *out, envmgr_error_t *err)
{
    if (v == NULL)
        return 0;
    if (json_is_integer(v) && json_integer_value(v) > 0) {
        *out = json_integer_value(v) * 1000;
        return 0;
    }
    if (json_is_string(v) && envmgr_parse_duration_ms(json_string_value(v), out) == 0 && *out > 0)
        return 0;
    return config_error(err, index, "timeout", "must be a duration such as 90s or 5m");
}

/* Adds one suite for path with the fields of entry. */
static int add_from_entry(envmgr_suite_list_t *out, const json_t *entry, size_t index,
                          const char *name, const char *path, envmgr_error_t *err)
{
    const char *argv[] = {path, NULL};
    envmgr_suite_spec_t *s = envmgr_suite_list_add(out, name, argv, true);
    if (read_strings(json_object_get(entry, "args"), index, "args", &s->argv, err) < 0 ||
        read_strings(json_object_get(entry, "tags"), index, "tags", &s->tags, err) < 0 ||
        read_timeout(json_object_get(entry, "timeout"), index, &s->timeout_ms, err) < 0)
        return -1;
    const json_t *retries = json_object_get(entry, "retries");
    if (retries != NULL) {
        if (!json_is_integer(retries) || json_integer_value(retries) < 0 ||
            json_integer_value(retries) > 100)
            return config_error(err, index, "retries", "must be an integer from 0 to 100");
        s->retries = (int)json_integer_value(retries);
    }
    const json_t *tap = json_object_get(entry, "tap");
    if (tap != NULL && !json_is_boolean(tap))
        return config_error(err, index, "tap", "must be true or false");
    s->is_tap = tap == NULL || json_is_true(tap);
    return 0;
}

static int add_config_entry(envmgr_suite_list_t *out, const json_t *entry, size_t index,
                            const char *base_dir, envmgr_error_t *err)
{
    if (!json_is_object(entry))
        return config_error(err, index, "", "must be a mapping");
    const char *path = json_string_value(json_object_get(entry, "path"));
    const char *name = json_string_value(json_object_get(entry, "name"));
    if (path == NULL || path[0] == '\0')
        return config_error(err, index, "path", "is required (the suite's executable or a glob)");
    envmgr_cleanup_free char *full =
        path[0] == '/' ? envmgr_xstrdup(path) : envmgr_xasprintf("%s/%s", base_dir, path);
    if (strpbrk(path, "*?[") == NULL) {
        envmgr_cleanup_free char *copy = envmgr_xstrdup(full);
        return add_from_entry(out, entry, index, name ? name : basename(copy), full, err);
    }
    glob_t g;
    int rc = glob(full, 0, NULL, &g);
    if (rc == GLOB_NOMATCH)
        return config_error(err, index, "path", "the glob matches no file");
    if (rc != 0)
        return config_error(err, index, "path", "the glob could not be expanded");
    for (size_t i = 0; i < g.gl_pathc; i++) {
        envmgr_cleanup_free char *copy = envmgr_xstrdup(g.gl_pathv[i]);
        envmgr_cleanup_free char *suite_name =
            name ? envmgr_xasprintf("%s/%s", name, basename(copy)) : envmgr_xstrdup(basename(copy));
        if (add_from_entry(out, entry, index, suite_name, g.gl_pathv[i], err) < 0) {
            globfree(&g);
            return -1;
        }
    }
    globfree(&g);
    return 0;
}

int envmgr_suite_list_from_config(const json_t *x_envtest, const char *base_dir,
                                  envmgr_suite_list_t *out, envmgr_error_t *err)
{
    const json_t *suites = x_envtest ? json_object_get(x_envtest, "suites") : NULL;
    if (suites == NULL)
        return 0;
    if (!json_is_array(suites))
        return envmgr_error_set(err, ENVMGR_E_CONFIG, 0, "x-envtest.suites: must be a list");
    size_t i;
    json_t *entry;
    json_array_foreach(suites, i, entry)
    {
        if (add_config_entry(out, entry, i, base_dir, err) < 0)
            return -1;
    }
    return 0;
}

/* ---- selection ----------------------------------------------------------------------------- */

static void keep_where(envmgr_suite_list_t *list,
                       bool (*keep)(const envmgr_suite_spec_t *, const void *), const void *arg)
{
    size_t w = 0;
    for (size_t r = 0; r < list->n; r++) {
        if (keep(&list->items[r], arg))
            list->items[w++] = list->items[r];
        else
            suite_spec_clear(&list->items[r]);
    }
    list->n = w;
}

static bool has_any_tag(const envmgr_suite_spec_t *s, const void *arg)
{
    const char *const *tags = arg;
    for (size_t i = 0; tags[i]; i++)
        for (size_t j = 0; j < s->tags.n; j++)
            if (strcmp(tags[i], s->tags.items[j]) == 0)
                return true;
    return false;
}

void envmgr_suite_list_filter_tags(envmgr_suite_list_t *list, const char *const *tags)
{
    if (tags == NULL || tags[0] == NULL)
        return;
    keep_where(list, has_any_tag, tags);
}

uint64_t envmgr_suite_shard_hash(const char *name)
{
    uint64_t h = 14695981039346656037ULL; /* FNV-1a 64 */
    for (const unsigned char *c = (const unsigned char *)name; *c; c++) {
        h ^= *c;
        h *= 1099511628211ULL;
    }
    return h;
}

struct shard {
    int k, n;
};

static bool in_shard(const envmgr_suite_spec_t *s, const void *arg)
{
    const struct shard *sh = arg;
    return envmgr_suite_shard_hash(s->name) % (uint64_t)sh->n == (uint64_t)(sh->k - 1);
}

int envmgr_suite_list_shard(envmgr_suite_list_t *list, int k, int n, envmgr_error_t *err)
{
    if (n < 1 || k < 1 || k > n)
        return envmgr_error_set(err, ENVMGR_E_USAGE, 0,
                                "shard %d/%d: K/N needs 1 <= K <= N (e.g. --shard 2/4)", k, n);
    struct shard sh = {k, n};
    keep_where(list, in_shard, &sh);
    return 0;
}
