/* Fixtures at `up`: find where the services are, load each archive of x-envtest.fixtures once. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "project.h"
#include <envmgr/env.h>
#include <envmgr/lifecycle.h>
#include <envmgr/log.h>

static const char *keep_string(envmgr_live_targets_t *t, const char *s)
{
    envmgr_strv_push(&t->strings, s);
    return t->strings.items[t->strings.n - 1];
}

int envmgr_live_targets_get(envmgr_engine_t *engine, const envmgr_project_t *project,
                            envmgr_live_targets_t *t, envmgr_error_t *err)
{
    memset(t, 0, sizeof(*t));
    envmgr_env_state_t state;
    if (envmgr_env_inspect(engine, project, &state, err) < 0)
        return -1;
    /* The strings vector must not move while targets borrow from it: reserve up front. */
    t->strings.items = envmgr_xcalloc(state.n_services * 4 + 8, sizeof(char *));
    t->services = envmgr_xcalloc(state.n_services + 1, sizeof(*t->services));
    for (size_t i = 0; i < state.n_services; i++) {
        const envmgr_service_state_t *s = &state.services[i];
        if (s->url) { /* a real service: HTTP steps go to its URL's origin */
            envmgr_cleanup_free char *origin = NULL, *host = NULL;
            int port = 0;
            if (envmgr_real_url_parts(s->url, &origin, &host, &port, err) < 0) {
                envmgr_env_state_free(&state);
                envmgr_live_targets_free(t);
                return -1;
            }
            envmgr_fixture_service_t *fs = &t->services[t->targets.n_services++];
            fs->name = keep_string(t, s->service);
            fs->base_url = keep_string(t, origin);
            fs->real = true;
            continue;
        }
        if (!s->id)
            continue;
        envmgr_fixture_service_t *fs = &t->services[t->targets.n_services++];
        fs->name = keep_string(t, s->service);
        fs->container_id = keep_string(t, s->id);
        if (s->n_ports) {
            envmgr_cleanup_free char *url =
                envmgr_xasprintf("http://%s:%d", s->ports[0].reach_host, s->ports[0].reach_port);
            fs->base_url = keep_string(t, url);
        }
        if (s == state.mysql) { /* as root, into the service's database */
            t->targets.mysql.host = keep_string(t, s->db->host);
            t->targets.mysql.port = (unsigned)s->db->port;
            t->targets.mysql.user = "root";
            t->targets.mysql.password = keep_string(t, s->db->root_password);
            t->targets.mysql.database = keep_string(t, s->db->database);
            t->mysql_container_id = fs->container_id;
        }
    }
    envmgr_env_state_free(&state);
    t->targets.services = t->services;
    t->targets.engine = engine;
    return 0;
}

void envmgr_live_targets_free(envmgr_live_targets_t *t)
{
    envmgr_strv_free(&t->strings);
    free(t->services);
    memset(t, 0, sizeof(*t));
}

/* A fixture's path as the user reads it: relative to the current folder when it is under it, else
 * absolute (not relative to the Compose file's folder, which the user may not be in). */
static char *display_path(const char *full)
{
    char resolved[PATH_MAX], cwd[PATH_MAX];
    envmgr_cleanup_free char *path = NULL;
    if (realpath(full, resolved)) {
        path = envmgr_xstrdup(resolved);
    } else { /* a missing file: resolve its folder */
        envmgr_cleanup_free char *dir = envmgr_xstrdup(full);
        char *slash = strrchr(dir, '/');
        if (!slash || slash == dir)
            return envmgr_xstrdup(full);
        *slash = '\0';
        if (!realpath(dir, resolved))
            return envmgr_xstrdup(full);
        path = envmgr_xasprintf("%s/%s", resolved, slash + 1);
    }
    size_t n = getcwd(cwd, sizeof(cwd)) ? strlen(cwd) : 0;
    if (n > 1 && strncmp(path, cwd, n) == 0 && path[n] == '/')
        return envmgr_xstrdup(path + n + 1);
    return envmgr_xstrdup(path);
}

struct fixture_progress_ctx {
    envmgr_progress_cb progress;
    void *userdata;
    const char *label;
    int64_t t0;
};

static void fixture_progress_cb(void *userdata, const envmgr_fixture_progress_t *p)
{
    struct fixture_progress_ctx *ctx = userdata;
    if (!ctx->progress)
        return;
    char what[160], detail[200];
    envmgr_fixture_progress_format(p, what, sizeof(what));
    snprintf(detail, sizeof(detail), "step %zu/%zu %s", p->step + 1, p->n_steps, what);
    ctx->progress(ctx->userdata, ctx->label, ENVMGR_PHASE_LOADING, envmgr_now_ms() - ctx->t0,
                  detail);
}

/* The marker of a loaded fixture: a volume labelled with the digest and the MySQL container it
 * went into (a recreated database container must be loaded again). */
static bool fixture_already_loaded(envmgr_engine_t *engine, const char *project, const char *name,
                                   const char *digest, const char *mysql_id)
{
    envmgr_cleanup_free char *filter = envmgr_xasprintf("io.envtest.fixture.%s=%s", name, digest);
    envmgr_cleanup_json json_t *vols = NULL;
    envmgr_error_t err = {0};
    if (envmgr_engine_volume_list(engine, filter, &vols, &err) < 0)
        return false;
    for (size_t i = 0; i < json_array_size(vols); i++) {
        json_t *labels = json_object_get(json_array_get(vols, i), "Labels");
        const char *p = json_string_value(json_object_get(labels, ENVMGR_LABEL_PROJECT));
        const char *target =
            json_string_value(json_object_get(labels, "io.envtest.fixture-target"));
        if (p && strcmp(p, project) == 0 && target && strcmp(target, mysql_id ? mysql_id : "") == 0)
            return true;
    }
    return false;
}

static int fixture_mark_loaded(envmgr_engine_t *engine, const char *project, const char *name,
                               const char *digest, const char *mysql_id, envmgr_error_t *err)
{
    envmgr_cleanup_free char *volume = envmgr_xasprintf("%s_envtest-fixture-%s", project, name);
    envmgr_error_t ignored = {0};
    envmgr_engine_volume_remove(engine, volume, true, &ignored); /* a stale mark */
    envmgr_kvlist_t labels = {0};
    envmgr_cleanup_free char *key = envmgr_xasprintf("io.envtest.fixture.%s", name);
    envmgr_kvlist_set(&labels, ENVMGR_LABEL_PROJECT, project);
    envmgr_kvlist_set(&labels, key, digest);
    envmgr_kvlist_set(&labels, "io.envtest.fixture-target", mysql_id ? mysql_id : "");
    int r = envmgr_engine_volume_create(engine, volume, &labels, err);
    envmgr_kvlist_free(&labels);
    return r;
}

int envmgr_fixture_mark_loaded(envmgr_engine_t *engine, const char *project, const char *name,
                               const char *digest, const char *mysql_id, envmgr_error_t *err)
{
    return fixture_mark_loaded(engine, project, name, digest, mysql_id, err);
}

int envmgr_fixtures_up(envmgr_engine_t *engine, const envmgr_project_t *project,
                       envmgr_progress_cb progress, void *userdata, envmgr_error_t *err)
{
    json_t *list = json_object_get(project->x_envtest, "fixtures");
    if (json_array_size(list) == 0)
        return 0;
    envmgr_live_targets_t live;
    if (envmgr_live_targets_get(engine, project, &live, err) < 0)
        return envmgr_error_wrap(err, "fixtures");
    const char *mysql_id = live.mysql_container_id;
    int ret = 0;
    for (size_t i = 0; i < json_array_size(list) && ret == 0; i++) {
        json_t *item = json_array_get(list, i);
        const char *path = json_is_string(item) ? json_string_value(item)
                                                : json_string_value(json_object_get(item, "path"));
        if (!path) {
            ret = envmgr_error_set(err, ENVMGR_E_CONFIG, 0,
                                   "%s: x-envtest.fixtures[%zu]: expected a path or {path: ...}",
                                   project->file, i);
            break;
        }
        envmgr_cleanup_free char *full =
            path[0] == '/' ? envmgr_xstrdup(path) : envmgr_xasprintf("%s/%s", project->dir, path);
        envmgr_cleanup_free char *shown = display_path(full);
        envmgr_fixture_t *fixture = NULL;
        if (envmgr_fixture_open_streamed(shown, NULL, &fixture, err) < 0) {
            if (err->kind == ENVMGR_E_SYSTEM)
                envmgr_error_hint(err, "build the fixture archives first: cmake --build build");
            ret = envmgr_error_wrap(err, "fixture %s (x-envtest.fixtures[%zu] of %s)", shown, i,
                                    project->file);
            break;
        }
        const char *name = envmgr_fixture_name(fixture);
        const char *digest = envmgr_fixture_digest(fixture);
        envmgr_cleanup_free char *label = envmgr_xasprintf("fixture %s", name);
        struct fixture_progress_ctx pctx = {progress, userdata, label, envmgr_now_ms()};
        if (fixture_already_loaded(engine, project->name, name, digest, mysql_id)) {
            if (progress)
                progress(userdata, label, ENVMGR_PHASE_SKIPPED, 0, "same digest already loaded");
        } else {
            if (progress)
                progress(userdata, label, ENVMGR_PHASE_LOADING, 0, shown);
            ret = envmgr_fixture_load(fixture, &live.targets, fixture_progress_cb, &pctx, err);
            if (ret == 0)
                ret = fixture_mark_loaded(engine, project->name, name, digest, mysql_id, err);
            if (ret == 0 && progress)
                progress(userdata, label, ENVMGR_PHASE_LOADED, envmgr_now_ms() - pctx.t0, digest);
            if (ret < 0)
                envmgr_error_wrap(err, "fixture %s", name);
        }
        envmgr_fixture_free(fixture);
    }
    envmgr_live_targets_free(&live);
    return ret;
}
