/* Which suites a run runs: x-envtest.suites, --suite names or paths, one command after --, then
 * tags and the shard. Each suite records the `envtest run` arguments that select it again. */
#include <envmgr/session.h>

#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void set_rerun(envmgr_suite_spec_t *s, const char *first, const char *const *rest)
{
    envmgr_strv_push(&s->rerun, first);
    for (size_t i = 0; rest && rest[i]; i++)
        envmgr_strv_push(&s->rerun, rest[i]);
}

static void copy_spec(envmgr_suite_list_t *list, const envmgr_suite_spec_t *s)
{
    envmgr_suite_spec_t *c =
        envmgr_suite_list_add(list, s->name, (const char *const *)s->argv.items, s->is_tap);
    for (size_t i = 0; i < s->tags.n; i++)
        envmgr_strv_push(&c->tags, s->tags.items[i]);
    for (size_t i = 0; i < s->env.n; i++)
        envmgr_kvlist_set(&c->env, s->env.items[i].key, s->env.items[i].value);
    c->timeout_ms = s->timeout_ms;
    c->retries = s->retries;
    c->cwd = s->cwd ? envmgr_xstrdup(s->cwd) : NULL;
    set_rerun(c, "--suite", (const char *const[]){s->name, NULL});
}

static bool looks_like_path(const char *arg)
{
    return strchr(arg, '/') != NULL || access(arg, F_OK) == 0;
}

static char *suite_names(const envmgr_suite_list_t *list)
{
    envmgr_buf_t names = ENVMGR_BUF_INIT;
    for (size_t k = 0; list && k < list->n; k++)
        envmgr_buf_addf(&names, "%s%s", k ? ", " : "", list->items[k].name);
    if (!names.len)
        envmgr_buf_adds(&names, "none");
    return envmgr_buf_detach(&names);
}

/* A path runs as its real path, so that the rerun works from any folder. */
static void add_path_suite(envmgr_suite_list_t *out, const char *arg)
{
    envmgr_cleanup_free char *real = realpath(arg, NULL);
    envmgr_cleanup_free char *copy = envmgr_xstrdup(arg);
    const char *argv[] = {real ? real : arg, NULL};
    envmgr_suite_spec_t *s = envmgr_suite_list_add(out, basename(copy), argv, true);
    set_rerun(s, "--suite", argv);
}

/* The suites named by --suite: paths, or names (or "name/" glob groups) from x-envtest. */
static int select_named(const char *const *names, const envmgr_suite_list_t *config,
                        envmgr_suite_list_t *out, envmgr_error_t *err)
{
    for (size_t i = 0; names[i]; i++) {
        const char *arg = names[i];
        if (looks_like_path(arg)) {
            add_path_suite(out, arg);
            continue;
        }
        size_t before = out->n, len = strlen(arg);
        for (size_t k = 0; k < config->n; k++) {
            const char *name = config->items[k].name;
            if (strcmp(name, arg) == 0 || (strncmp(name, arg, len) == 0 && name[len] == '/'))
                copy_spec(out, &config->items[k]);
        }
        if (out->n == before) {
            envmgr_cleanup_free char *known = suite_names(config);
            return envmgr_error_set(err, ENVMGR_E_USAGE, 0,
                                    "--suite %s: no such file and no suite of that name in "
                                    "x-envtest.suites (known: %s)",
                                    arg, known);
        }
    }
    return 0;
}

bool envmgr_session_needs_project(const envmgr_session_options_t *o)
{
    if (o->command)
        return false;
    if (!o->suites || !o->suites[0])
        return true;
    for (size_t i = 0; o->suites[i]; i++)
        if (!looks_like_path(o->suites[i]))
            return true;
    return false;
}

/* Every tag of the list, once, in order of appearance. */
static char *tag_names(const envmgr_suite_list_t *list)
{
    envmgr_strv_t seen = {0};
    envmgr_buf_t b = ENVMGR_BUF_INIT;
    for (size_t i = 0; i < list->n; i++) {
        for (size_t t = 0; t < list->items[i].tags.n; t++) {
            const char *tag = list->items[i].tags.items[t];
            bool dup = false;
            for (size_t k = 0; k < seen.n && !dup; k++)
                dup = strcmp(seen.items[k], tag) == 0;
            if (!dup) {
                envmgr_buf_addf(&b, "%s%s", seen.n ? ", " : "", tag);
                envmgr_strv_push(&seen, tag);
            }
        }
    }
    envmgr_strv_free(&seen);
    if (!b.len)
        envmgr_buf_adds(&b, "none");
    return envmgr_buf_detach(&b);
}

/* --tag: a selection the tags empty is a usage error naming what there is. */
static int filter_tags(const envmgr_session_options_t *o, envmgr_suite_list_t *out,
                       envmgr_error_t *err)
{
    if (!o->tags || !o->tags[0] || out->n == 0)
        return 0;
    envmgr_cleanup_free char *suites = suite_names(out);
    envmgr_cleanup_free char *tags = tag_names(out);
    envmgr_suite_list_filter_tags(out, o->tags);
    if (out->n > 0)
        return 0;
    envmgr_buf_t asked = ENVMGR_BUF_INIT;
    for (size_t i = 0; o->tags[i]; i++)
        envmgr_buf_addf(&asked, "%s%s", i ? ", " : "", o->tags[i]);
    envmgr_error_set(err, ENVMGR_E_USAGE, 0, "--tag %s: no suite has %s (suites: %s; tags: %s)",
                     asked.data, o->tags[1] ? "any of these tags" : "this tag", suites, tags);
    envmgr_buf_free(&asked);
    return -1;
}

static int select_from_project(const envmgr_session_options_t *o, const envmgr_project_t *project,
                               envmgr_suite_list_t *out, envmgr_error_t *err)
{
    envmgr_suite_list_t config = {0};
    int rc = 0;
    if (project &&
        envmgr_suite_list_from_config(project->x_envtest, project->dir, &config, err) < 0) {
        rc = envmgr_error_wrap(err, "%s", project->file);
    } else if (o->suites && o->suites[0]) {
        rc = select_named(o->suites, &config, out, err);
    } else {
        for (size_t i = 0; i < config.n; i++)
            copy_spec(out, &config.items[i]);
        if (out->n == 0)
            rc = envmgr_error_set(err, ENVMGR_E_USAGE, 0,
                                  "no suites: add x-envtest.suites to %s, or use --suite PATH, "
                                  "or -- CMD",
                                  project ? project->file : "the Compose file");
    }
    envmgr_suite_list_free(&config);
    return rc;
}

int envmgr_session_select(const envmgr_session_options_t *o, const envmgr_project_t *project,
                          envmgr_suite_list_t *out, bool *empty_shard, envmgr_error_t *err)
{
    *empty_shard = false;
    if (o->command) {
        envmgr_cleanup_free char *copy = envmgr_xstrdup(o->command[0]);
        envmgr_suite_spec_t *s = envmgr_suite_list_add(out, basename(copy), o->command, false);
        set_rerun(s, "--", o->command);
    } else if (select_from_project(o, envmgr_session_needs_project(o) ? project : NULL, out, err) <
               0) {
        return -1;
    }
    if (filter_tags(o, out, err) < 0)
        return -1;
    size_t selected = out->n;
    if (o->shard_count > 0 && envmgr_suite_list_shard(out, o->shard_index, o->shard_count, err) < 0)
        return -1;
    *empty_shard = selected > 0 && out->n == 0;
    return 0;
}
