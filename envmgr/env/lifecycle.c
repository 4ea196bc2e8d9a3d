/* envtest up: plan, then one worker thread per service (its own engine handle) that makes its
 * image, waits for its dependencies' conditions, creates or reuses its container, starts it and
 * waits for health. Independent services thus proceed in parallel. What this run created is
 * remembered so that a failure (or Ctrl-C) removes exactly that. */
#include <envmgr/lifecycle.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "health.h"
#include "pod.h"
#include "probe.h"
#include "project.h"
#include "reaper.h"
#include "snapshot_internal.h"
#include <envmgr/images.h>
#include <envmgr/lock.h>
#include <envmgr/log.h>

#define UP_LOG_TAIL_LINES 30

enum run_state { RUN_PENDING, RUN_STARTED, RUN_READY, RUN_FAILED, RUN_SKIPPED };

struct up_ctx;

struct service_run {
    struct up_ctx *ctx;
    const envmgr_service_t *service;
    pthread_t thread;
    bool thread_started;
    enum run_state state; /* guarded by ctx->lock */
    bool wait_completed;  /* a dependent asks for service_completed_successfully */
    char *container_id;
    bool created_by_us;
    char *built_image_id; /* the image this run built, removed if up fails and none uses it */
    envmgr_error_t err;
    envmgr_buf_t health_output;
};

struct up_ctx {
    envmgr_engine_t *engine;
    const envmgr_project_t *project;
    const envmgr_up_options_t *opts;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    atomic_bool abort; /* a service failed (or up could not start them all): the waits stop */
    struct service_run *runs; /* in plan order */
    size_t n_runs;
    int64_t t0;
    int64_t deadline;
    envmgr_snapshot_plan_t *snapshot; /* NULL: fixtures load as they are (snapshot.c) */
    envmgr_pod_t *pod;                /* pod mode (pod.h), or NULL */
};

const char *envmgr_service_phase_name(enum envmgr_service_phase phase)
{
    static const char *const names[] = {
        [ENVMGR_PHASE_BUILDING] = "building",   [ENVMGR_PHASE_PULLING] = "pulling",
        [ENVMGR_PHASE_CREATING] = "creating",   [ENVMGR_PHASE_STARTING] = "starting",
        [ENVMGR_PHASE_WAITING] = "waiting",     [ENVMGR_PHASE_HEALTHY] = "healthy",
        [ENVMGR_PHASE_RUNNING] = "running",     [ENVMGR_PHASE_EXITED] = "exited",
        [ENVMGR_PHASE_UNCHANGED] = "unchanged", [ENVMGR_PHASE_FAILED] = "failed",
        [ENVMGR_PHASE_REMOVING] = "removing",   [ENVMGR_PHASE_REMOVED] = "removed",
        [ENVMGR_PHASE_LOADING] = "loading",     [ENVMGR_PHASE_LOADED] = "loaded",
        [ENVMGR_PHASE_SKIPPED] = "unchanged",   [ENVMGR_PHASE_REAL] = "real",
        [ENVMGR_PHASE_STOPPED] = "stopped",
    };
    if ((unsigned)phase >= ENVMGR_ARRAY_SIZE(names))
        return "?";
    return names[phase];
}

static void progress(struct up_ctx *ctx, const char *service, enum envmgr_service_phase phase,
                     const char *detail)
{
    if (ctx->opts->progress)
        ctx->opts->progress(ctx->opts->userdata, service, phase, envmgr_now_ms() - ctx->t0, detail);
}

static struct service_run *find_run(struct up_ctx *ctx, const char *name)
{
    for (size_t i = 0; i < ctx->n_runs; i++)
        if (strcmp(ctx->runs[i].service->name, name) == 0)
            return &ctx->runs[i];
    return NULL;
}

static void set_state(struct service_run *run, enum run_state state)
{
    pthread_mutex_lock(&run->ctx->lock);
    run->state = state;
    if (state == RUN_FAILED)
        atomic_store(&run->ctx->abort, true);
    pthread_cond_broadcast(&run->ctx->cond);
    pthread_mutex_unlock(&run->ctx->lock);
}

/* Blocks until every dependency reached its condition. -1 when one failed or up aborts. */
static int wait_dependencies(struct service_run *run)
{
    struct up_ctx *ctx = run->ctx;
    const envmgr_service_t *s = run->service;
    pthread_mutex_lock(&ctx->lock);
    for (;;) {
        bool all_met = true;
        const char *failed = NULL;
        for (size_t i = 0; i < s->n_depends_on; i++) {
            struct service_run *dep = find_run(ctx, s->depends_on[i].service);
            if (!dep)
                continue; /* optional dependency not in the plan */
            enum run_state need =
                s->depends_on[i].condition == ENVMGR_DEPENDS_STARTED ? RUN_STARTED : RUN_READY;
            if (dep->state == RUN_FAILED || dep->state == RUN_SKIPPED)
                failed = dep->service->name;
            else if (dep->state < need)
                all_met = false;
        }
        if (failed || atomic_load(&ctx->abort) || envmgr_interrupted()) {
            pthread_mutex_unlock(&ctx->lock);
            return -1;
        }
        if (all_met)
            break;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 100 * 1000000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&ctx->cond, &ctx->lock, &ts);
    }
    pthread_mutex_unlock(&ctx->lock);
    return 0;
}

static void build_progress_cb(void *userdata, const char *line)
{
    (void)userdata;
    envmgr_debug("build: %s", line);
}

/* Builds context into tag (labelled with its digest) unless the engine has it; records the image
 * id in run->built_image_id when this run built it. */
static int build_image(struct service_run *run, envmgr_engine_t *engine, const char *context,
                       const char *dockerfile, const envmgr_kvlist_t *args, const char *tag,
                       const char *digest, json_t **inspect, envmgr_error_t *err)
{
    const envmgr_service_t *s = run->service;
    progress(run->ctx, s->name, ENVMGR_PHASE_BUILDING, context);
    envmgr_kvlist_t labels = {0};
    envmgr_kvlist_set(&labels, ENVMGR_LABEL_CONTEXT_DIGEST, digest);
    envmgr_build_options_t bo = {
        .context_dir = context,
        .dockerfile = dockerfile,
        .tag = tag,
        .args = args,
        .labels = &labels,
        .platform = s->platform,
    };
    int r = envmgr_engine_image_build(engine, &bo, build_progress_cb, run, err);
    envmgr_kvlist_free(&labels);
    if (r < 0 || envmgr_engine_image_inspect(engine, tag, inspect, err) < 0)
        return -1;
    const char *id = json_string_value(json_object_get(*inspect, "Id"));
    run->built_image_id = id ? envmgr_xstrdup(id) : NULL;
    return 0;
}

/* Makes the service's image available and says which it is in *image: a build without image: and
 * a built-in image (envtest/mock-llm...) are tagged by their digest and shared between projects
 * (envmgr/images.h); a build with image: is rebuilt when its digest changes; any other image is
 * pulled when absent. Returns the image's inspect JSON in *inspect_out. */
static int ensure_image(struct service_run *run, envmgr_engine_t *engine, char **image,
                        json_t **inspect_out, envmgr_error_t *err)
{
    struct up_ctx *ctx = run->ctx;
    const envmgr_service_t *s = run->service;
    bool builtin = false;
    envmgr_cleanup_free char *builtin_context =
        s->build ? NULL : envmgr_builtin_image_context(*image, &builtin);
    if (builtin && !builtin_context) {
        envmgr_cleanup_free char *data = envmgr_data_dir();
        envmgr_error_set(err, ENVMGR_E_ENV, 0,
                         "image %s is built in, but its build context is not in %s/compose/",
                         *image, data ? data : "(no data dir found)");
        return envmgr_error_hint(err, "install envtest (cmake --install), or set ENVTEST_DATA_DIR "
                                      "(or ENVTEST_BUILD_DIR) to the folder that holds "
                                      "compose/<service>/context");
    }
    const char *context = s->build ? s->build->context : builtin_context;
    char digest[65];
    if (context) {
        if (envmgr_image_build_digest(context, s->build ? s->build->dockerfile : NULL,
                                      s->build ? &s->build->args : NULL, digest, err) < 0)
            return envmgr_error_wrap(err, "build context %s", context);
        envmgr_project_platform_digest(s->platform, digest);
        if (builtin || !s->image) {
            envmgr_cleanup_free char *repo =
                builtin ? envmgr_xstrdup(*image) : envmgr_xasprintf("envtest/%s", s->name);
            char *tag = envmgr_image_content_tag(repo, digest);
            free(*image);
            *image = tag;
        }
    }
    json_t *inspect = NULL;
    envmgr_error_t lookup_err = {0};
    int found = envmgr_engine_image_inspect(engine, *image, &inspect, &lookup_err) == 0;
    if (!found && lookup_err.kind != ENVMGR_E_NOT_FOUND)
        return envmgr_error_set(err, lookup_err.kind, lookup_err.code, "%s", lookup_err.message);

    if (context) {
        const char *have = json_string_value(
            json_object_get(json_object_get(json_object_get(inspect, "Config"), "Labels"),
                            ENVMGR_LABEL_CONTEXT_DIGEST));
        if (!found || !have || strcmp(have, digest) != 0) {
            json_decref(inspect);
            inspect = NULL;
            if (build_image(run, engine, context, s->build ? s->build->dockerfile : NULL,
                            s->build ? &s->build->args : NULL, *image, digest, &inspect, err) < 0)
                return -1;
        }
    } else if (!found) {
        progress(ctx, s->name, ENVMGR_PHASE_PULLING, *image);
        if (envmgr_engine_image_pull_platform(engine, *image, s->platform, build_progress_cb, run,
                                              err) < 0) {
            envmgr_error_wrap(err, "image %s is not present and could not be pulled", *image);
            if (strstr(*image, "mysql"))
                envmgr_error_hint(err,
                                  "without a registry, build the offline MySQL-compatible image "
                                  "with `ci/mysql-image/build.sh` and set "
                                  "ENVTEST_MYSQL_IMAGE=envtest/mysql-offline:10.11");
            else
                envmgr_error_hint(err, "check the image name, or build it locally first");
            return -1;
        }
        if (envmgr_engine_image_inspect(engine, *image, &inspect, err) < 0)
            return -1;
    }
    *inspect_out = inspect;
    return 0;
}

/* Starts the container; a host port that is taken gets a hint naming the service's fixed ports. */
static int start_container(const envmgr_service_t *s, envmgr_engine_t *engine, const char *id,
                           envmgr_error_t *err)
{
    if (envmgr_engine_container_start(engine, id, err) == 0)
        return 0;
    if (!strstr(err->message, "port is already allocated") &&
        !strstr(err->message, "address already in use"))
        return -1;
    envmgr_buf_t fixed = ENVMGR_BUF_INIT;
    for (size_t i = 0; i < s->n_ports; i++)
        if (s->ports[i].host_port > 0)
            envmgr_buf_addf(&fixed, "%s%s:%d", fixed.len ? ", " : "", s->ports[i].host_ip,
                            s->ports[i].host_port);
    envmgr_error_hint(err,
                      "a host port of service %s (%s) is taken by another container or program "
                      "(`ss -ltnp` shows which); free it, or give only the container port in "
                      "`ports:` and envtest publishes it on a free port (see `envtest env`)",
                      s->name, fixed.len ? fixed.data : "none fixed");
    envmgr_buf_free(&fixed);
    return -1;
}

/* Reuses a container with the same config hash; removes a stale one. Sets run->container_id. */

/* A bind mount's missing source folder is created, as Compose does for the short syntax (the
 * Engine's Mounts API refuses a missing source, unlike the old Binds). */
static int create_bind_sources(const envmgr_service_t *s, envmgr_error_t *err)
{
    for (size_t i = 0; i < s->n_mounts; i++) {
        const envmgr_mount_t *m = &s->mounts[i];
        if (m->type != ENVMGR_MOUNT_BIND || !m->create_host_path || access(m->source, F_OK) == 0)
            continue;
        if (envmgr_mkdir_p(m->source, 0755, err) < 0)
            return envmgr_error_wrap(err, "service %s: bind mount source", s->name);
    }
    return 0;
}

static int ensure_container(struct service_run *run, envmgr_engine_t *engine, const char *image,
                            const char *image_id, envmgr_error_t *err)
{
    struct up_ctx *ctx = run->ctx;
    const envmgr_service_t *s = run->service;
    envmgr_cleanup_free char *name = envmgr_project_service_container_name(ctx->project, s);
    char hash[65];
    if (ctx->pod)
        envmgr_pod_config_hash(ctx->pod, s, image_id, hash);
    else
        envmgr_project_config_hash(s, image_id, hash);

    envmgr_cleanup_json json_t *existing = NULL;
    envmgr_error_t lookup_err = {0};
    if (envmgr_engine_container_inspect(engine, name, &existing, &lookup_err) == 0) {
        json_t *labels = json_object_get(json_object_get(existing, "Config"), "Labels");
        const char *owner = json_string_value(json_object_get(labels, ENVMGR_LABEL_PROJECT));
        const char *old_hash = json_string_value(json_object_get(labels, ENVMGR_LABEL_CONFIG_HASH));
        const char *id = json_string_value(json_object_get(existing, "Id"));
        if (!owner || strcmp(owner, ctx->project->name) != 0) {
            const char *other_svc =
                json_string_value(json_object_get(labels, "io.envtest.service"));
            if (owner) {
                envmgr_error_set(err, ENVMGR_E_ENV, 409,
                                 "container name %s of service %s (project %s) is taken by "
                                 "service %s of project %s",
                                 name, s->name, ctx->project->name, other_svc ? other_svc : "?",
                                 owner);
                return envmgr_error_hint(err,
                                         "bring that one down (envtest -p %s down), or drop "
                                         "container_name so envtest names it per project",
                                         owner);
            }
            envmgr_error_set(err, ENVMGR_E_ENV, 409,
                             "container name %s is in use by a container envtest did not create",
                             name);
            return envmgr_error_hint(err, "remove it, or choose another project name with -p");
        }
        if (old_hash && strcmp(old_hash, hash) == 0) {
            run->container_id = envmgr_xstrdup(id);
            const char *status =
                json_string_value(json_object_get(json_object_get(existing, "State"), "Status"));
            if (status && strcmp(status, "running") == 0) {
                progress(ctx, s->name, ENVMGR_PHASE_UNCHANGED, NULL);
                return 0;
            }
            if (ctx->pod && envmgr_pod_wait_running(ctx->pod, err) < 0)
                return -1;
            progress(ctx, s->name, ENVMGR_PHASE_STARTING, NULL);
            return start_container(s, engine, id, err);
        }
        envmgr_info("service %s: configuration changed, recreating", s->name);
        if (envmgr_engine_container_remove(engine, id, true, true, err) < 0)
            return -1;
    } else if (lookup_err.kind != ENVMGR_E_NOT_FOUND) {
        return envmgr_error_set(err, lookup_err.kind, lookup_err.code, "%s", lookup_err.message);
    }

    progress(ctx, s->name, ENVMGR_PHASE_CREATING, NULL);
    if (create_bind_sources(s, err) < 0)
        return -1;
    envmgr_cleanup_json json_t *config =
        envmgr_project_container_config(ctx->project, s, image, hash);
    if (ctx->pod)
        envmgr_pod_container_config(ctx->pod, s, config);
    int r = envmgr_snapshot_container_create(ctx->snapshot, engine, ctx->project, s, name, config,
                                             image_id, ctx->opts->progress, ctx->opts->userdata,
                                             &run->container_id, err);
    run->created_by_us = run->container_id != NULL;
    if (r < 0)
        return envmgr_project_platform_error(s, err);
    if (envmgr_project_container_connect(engine, ctx->project, s, run->container_id, err) < 0 ||
        envmgr_project_files_copy(engine, ctx->project, s, run->container_id, err) < 0)
        return -1;
    if (ctx->pod && envmgr_pod_wait_running(ctx->pod, err) < 0)
        return -1;
    progress(ctx, s->name, ENVMGR_PHASE_STARTING, NULL);
    return start_container(s, engine, run->container_id, err);
}

/* A wait that failed: 1 (not a failure of its own, as a service whose dependency failed) when it
 * was stopped because another service failed, so that up reports that one at once; else -1. */
static int wait_failed(struct service_run *run, envmgr_error_t *err)
{
    struct up_ctx *ctx = run->ctx;
    if (err->kind != ENVMGR_E_INTERRUPTED || envmgr_interrupted() || !atomic_load(&ctx->abort))
        return -1;
    const char *failed = NULL;
    pthread_mutex_lock(&ctx->lock);
    for (size_t i = 0; i < ctx->n_runs && !failed; i++)
        if (ctx->runs[i].state == RUN_FAILED)
            failed = ctx->runs[i].service->name;
    pthread_mutex_unlock(&ctx->lock);
    envmgr_cleanup_free char *why = envmgr_xasprintf("service %s failed", failed ? failed : "?");
    progress(ctx, run->service->name, ENVMGR_PHASE_STOPPED, why);
    envmgr_error_clear(err);
    return 1;
}

static int service_up(struct service_run *run, envmgr_engine_t *engine, envmgr_error_t *err)
{
    struct up_ctx *ctx = run->ctx;
    const envmgr_service_t *s = run->service;
    envmgr_cleanup_free char *image = envmgr_service_image(ctx->project, s);
    envmgr_cleanup_json json_t *image_inspect = NULL;
    if (ensure_image(run, engine, &image, &image_inspect, err) < 0)
        return -1;
    if (wait_dependencies(run) < 0) {
        if (envmgr_interrupted())
            return envmgr_error_set(err, ENVMGR_E_INTERRUPTED, 0, "interrupted");
        return 1; /* skipped: a dependency failed */
    }
    const char *image_id = json_string_value(json_object_get(image_inspect, "Id"));
    if (ensure_container(run, engine, image, image_id, err) < 0)
        return -1;
    set_state(run, RUN_STARTED);

    const envmgr_wait_limit_t limit = {.deadline_ms = ctx->deadline, .cancel = &ctx->abort};
    if (run->wait_completed) {
        progress(ctx, s->name, ENVMGR_PHASE_WAITING, "until it exits");
        if (envmgr_health_wait_completed(engine, run->container_id, &limit, err) < 0)
            return wait_failed(run, err);
        progress(ctx, s->name, ENVMGR_PHASE_EXITED, NULL);
        return 0;
    }
    envmgr_healthcheck_t hc;
    bool has_hc = envmgr_health_resolve(s, image_inspect, &hc);
    progress(ctx, s->name, ENVMGR_PHASE_WAITING, has_hc ? "healthcheck" : "ports");
    int r = envmgr_health_wait(engine, run->container_id, has_hc ? &hc : NULL, &limit,
                               &run->health_output, err);
    if (has_hc)
        envmgr_healthcheck_clear(&hc);
    if (r == 0 && s->n_waits) {
        progress(ctx, s->name, ENVMGR_PHASE_WAITING, "x-envtest.wait");
        r = envmgr_health_wait_strategies(engine, run->container_id, s, &limit, &run->health_output,
                                          err);
    }
    if (r < 0)
        return wait_failed(run, err);
    progress(ctx, s->name, has_hc ? ENVMGR_PHASE_HEALTHY : ENVMGR_PHASE_RUNNING, NULL);
    return envmgr_snapshot_service_ready(ctx->snapshot, engine, ctx->project, s, run->container_id,
                                         ctx->opts->progress, ctx->opts->userdata, err);
}

static void *service_thread(void *arg)
{
    struct service_run *run = arg;
    envmgr_engine_t *engine = NULL;
    int r = envmgr_engine_dup(run->ctx->engine, &engine, &run->err);
    if (r == 0) {
        r = service_up(run, engine, &run->err);
        envmgr_engine_close(engine);
    }
    if (r < 0) {
        progress(run->ctx, run->service->name, ENVMGR_PHASE_FAILED, run->err.message);
        set_state(run, RUN_FAILED);
    } else if (r > 0) {
        set_state(run, RUN_SKIPPED);
    } else {
        set_state(run, RUN_READY);
    }
    return NULL;
}

static int collect_log_cb(void *userdata, enum envmgr_stream stream, const char *data, size_t len)
{
    (void)stream;
    envmgr_buf_add(userdata, data, len);
    return 0;
}

/* Turns the first failure into the error up returns: the service's message, its last health
 * output, and its last log lines. */
static void describe_failure(struct up_ctx *ctx, struct service_run *run, envmgr_error_t *err)
{
    envmgr_buf_t msg = ENVMGR_BUF_INIT;
    envmgr_buf_addf(&msg, "service %s: %s", run->service->name, run->err.message);
    /* the other services that failed, one line each (the CLI's progress no longer repeats them) */
    for (size_t i = 0; i < ctx->n_runs; i++)
        if (&ctx->runs[i] != run && ctx->runs[i].state == RUN_FAILED)
            envmgr_buf_addf(&msg, "\n  also failed: service %s: %.*s", ctx->runs[i].service->name,
                            (int)strcspn(ctx->runs[i].err.message, "\n"), ctx->runs[i].err.message);
    if (run->health_output.len) {
        envmgr_buf_addf(&msg, "\n  last health check output:\n    %.*s",
                        (int)(run->health_output.len > 2000 ? 2000 : run->health_output.len),
                        run->health_output.data);
    }
    if (run->container_id) {
        envmgr_buf_t logs = ENVMGR_BUF_INIT;
        envmgr_error_t log_err = {0};
        if (envmgr_engine_container_logs(ctx->engine, run->container_id, UP_LOG_TAIL_LINES, false,
                                         false, collect_log_cb, &logs, &log_err) == 0 &&
            logs.len) {
            envmgr_buf_addf(&msg, "\n  last %d log lines of %s:\n", UP_LOG_TAIL_LINES,
                            run->service->name);
            const char *p = logs.data;
            while (*p) {
                const char *nl = strchr(p, '\n');
                size_t n = nl ? (size_t)(nl - p) : strlen(p);
                envmgr_buf_addf(&msg, "    | %.*s\n", (int)n, p);
                p += n + (nl ? 1 : 0);
            }
        }
        envmgr_buf_free(&logs);
    }
    enum envmgr_error_kind kind = run->err.kind;
    char hint[sizeof(err->hint)];
    memcpy(hint, run->err.hint, sizeof(hint));
    envmgr_error_set(err, kind, run->err.code, "%s", msg.data);
    memcpy(err->hint, hint, sizeof(hint));
    envmgr_buf_free(&msg);
}

/* Creates the project network unless it exists. A fresh environment is guarded by a reaper until
 * up is over: if this process is killed midway, the reaper removes what it made. (Called before any
 * worker thread starts: the reaper forks.) */
static int ensure_network(struct up_ctx *ctx, bool *created, envmgr_reaper_t **reaper,
                          envmgr_error_t *err)
{
    const char *project = ctx->project->name;
    envmgr_cleanup_free char *name = envmgr_project_network_name(project);
    envmgr_cleanup_json json_t *existing = NULL;
    envmgr_error_t lookup_err = {0};
    *created = false;
    if (envmgr_engine_network_inspect(ctx->engine, name, &existing, &lookup_err) == 0)
        return 0;
    if (lookup_err.kind != ENVMGR_E_NOT_FOUND)
        return envmgr_error_set(err, lookup_err.kind, lookup_err.code, "%s", lookup_err.message);
    /* a caller that owns the environment holds the guard already: no second connection */
    if (!ctx->opts->keep_on_failure && !ctx->opts->owned &&
        envmgr_reaper_start(ctx->engine, project, reaper, &lookup_err) < 0)
        envmgr_warn("no reaper for %s: %s", project, lookup_err.message);
    /* owned by this envtest until it is up (see <envmgr/lock.h>, envtest gc): marked before the
     * network exists, so that a reaper finds the mark whenever there is something to remove.
     * From here on a failure removes the whole environment: a call cut short (Ctrl-C) may have
     * made the mark or the network all the same. */
    *created = true;
    if (envmgr_env_ephemeral_set(ctx->engine, project, true, err) < 0)
        return envmgr_error_wrap(err, "create network %s", name);
    envmgr_kvlist_t labels = {0};
    envmgr_kvlist_set(&labels, ENVMGR_LABEL_PROJECT, project);
    envmgr_kvlist_set(&labels, "com.docker.compose.project", project);
    if (ctx->opts->network_labels)
        for (size_t i = 0; i < ctx->opts->network_labels->n; i++)
            envmgr_kvlist_set(&labels, ctx->opts->network_labels->items[i].key,
                              ctx->opts->network_labels->items[i].value);
    envmgr_cleanup_free char *id = NULL;
    int r = envmgr_engine_network_create(ctx->engine, name, &labels, &id, err);
    envmgr_kvlist_free(&labels);
    if (r < 0)
        return envmgr_error_wrap(err, "create network %s", name);
    return 0;
}

/* Real services are not started: a container left from a run with the mock goes (its dependents
 * are recreated with the new URL anyway, their configuration changed). */
static int remove_real_services(struct up_ctx *ctx, envmgr_error_t *err)
{
    const envmgr_kvlist_t *real = &ctx->project->real_services;
    for (size_t i = 0; i < real->n; i++) {
        const char *service = real->items[i].key;
        if (ctx->opts->services) { /* `up SERVICE...`: only those and what they depend on */
            bool named = false;
            for (size_t k = 0; ctx->opts->services[k]; k++)
                named = named || strcmp(ctx->opts->services[k], service) == 0;
            bool needed = named;
            for (size_t r = 0; r < ctx->n_runs && !needed; r++)
                for (size_t d = 0; d < ctx->runs[r].service->n_depends_on; d++)
                    needed =
                        needed || strcmp(ctx->runs[r].service->depends_on[d].service, service) == 0;
            if (!needed)
                continue;
        }
        envmgr_cleanup_free char *id = NULL;
        envmgr_error_t lookup_err = {0};
        if (envmgr_service_container(ctx->engine, ctx->project->name, service, &id, &lookup_err) ==
            0) {
            progress(ctx, service, ENVMGR_PHASE_REMOVING, "replaced by a real service");
            if (envmgr_engine_container_remove(ctx->engine, id, true, true, err) < 0)
                return envmgr_error_wrap(err, "remove the mock %s", service);
        } else if (lookup_err.kind != ENVMGR_E_NOT_FOUND) {
            *err = lookup_err;
            return -1;
        }
        progress(ctx, service, ENVMGR_PHASE_REAL, real->items[i].value);
    }
    return 0;
}

static int ensure_volumes(struct up_ctx *ctx, envmgr_error_t *err)
{
    const envmgr_project_t *p = ctx->project;
    for (size_t i = 0; i < p->n_volumes; i++) {
        if (p->volumes[i].external)
            continue;
        envmgr_cleanup_free char *name = envmgr_project_volume_name(p->name, &p->volumes[i]);
        envmgr_kvlist_t labels = {0};
        for (size_t k = 0; k < p->volumes[i].labels.n; k++)
            envmgr_kvlist_set(&labels, p->volumes[i].labels.items[k].key,
                              p->volumes[i].labels.items[k].value);
        envmgr_kvlist_set(&labels, ENVMGR_LABEL_PROJECT, p->name);
        envmgr_kvlist_set(&labels, "com.docker.compose.volume", p->volumes[i].key);
        int r = envmgr_engine_volume_create(ctx->engine, name, &labels, err);
        envmgr_kvlist_free(&labels);
        if (r < 0)
            return envmgr_error_wrap(err, "create volume %s", name);
    }
    return 0;
}

/* After a failed up: the images it built go, unless a container (another project's) uses them. */
static void remove_built_images(struct up_ctx *ctx)
{
    envmgr_strv_t ids = {0};
    for (size_t i = 0; i < ctx->n_runs; i++)
        if (ctx->runs[i].built_image_id)
            envmgr_strv_push(&ids, ctx->runs[i].built_image_id);
    envmgr_error_t rm_err = {0};
    int removed = 0;
    if (envmgr_images_remove_unused(ctx->engine, &ids, &removed, &rm_err) < 0)
        envmgr_warn("images this up built stay: %s", rm_err.message);
    else if (removed)
        envmgr_info("removed %d image%s this up built", removed, removed == 1 ? "" : "s");
    envmgr_strv_free(&ids);
}

int envmgr_reach_prepare(envmgr_engine_t *engine, envmgr_error_t *err)
{
    return envmgr_probe_reach_prepare(engine, "/", err);
}

int envmgr_up(envmgr_engine_t *engine, const envmgr_project_t *project,
              const envmgr_up_options_t *opts, envmgr_error_t *err)
{
    static const envmgr_up_options_t defaults = {0};
    if (!opts)
        opts = &defaults;
    struct up_ctx ctx = {
        .engine = engine,
        .project = project,
        .opts = opts,
        .t0 = envmgr_now_ms(),
    };
    ctx.deadline = ctx.t0 + (opts->wait_timeout_ms > 0 ? opts->wait_timeout_ms
                                                       : ENVMGR_DEFAULT_WAIT_TIMEOUT_MS);
    size_t *order = NULL;
    if (envmgr_project_plan(project, opts->services, &order, &ctx.n_runs, err) < 0)
        return -1;
    ctx.runs = envmgr_xcalloc(ctx.n_runs, sizeof(*ctx.runs));
    for (size_t i = 0; i < ctx.n_runs; i++) {
        ctx.runs[i].ctx = &ctx;
        ctx.runs[i].service = &project->services[order[i]];
    }
    free(order);
    for (size_t i = 0; i < ctx.n_runs; i++) {
        const envmgr_service_t *s = ctx.runs[i].service;
        for (size_t d = 0; d < s->n_depends_on; d++) {
            struct service_run *dep = find_run(&ctx, s->depends_on[d].service);
            if (dep && s->depends_on[d].condition == ENVMGR_DEPENDS_COMPLETED_SUCCESSFULLY)
                dep->wait_completed = true;
        }
    }
    pthread_mutex_init(&ctx.lock, NULL);
    pthread_cond_init(&ctx.cond, NULL);

    envmgr_reaper_t *reaper = NULL;
    bool network_created = false, pod = false;
    int ret = envmgr_reach_prepare(engine, err);
    if (ret == 0)
        ret = envmgr_pod_wanted(project, opts->pod, &pod, err);
    if (ret == 0 && pod)
        ret = envmgr_pod_check(project, err);
    if (ret == 0)
        ret = ensure_network(&ctx, &network_created, &reaper, err);
    if (ret == 0 && pod)
        ret = envmgr_pod_open(engine, project, &ctx.pod, err);
    if (ret == 0)
        ret = envmgr_project_networks_ensure(engine, project, err);
    if (ret == 0)
        ret = envmgr_project_files_write(project, err);
    if (ret == 0)
        ret = ensure_volumes(&ctx, err);
    if (ret == 0)
        ret = remove_real_services(&ctx, err);
    if (ret == 0 && !opts->no_fixtures && !opts->services && !opts->no_snapshot)
        ret = envmgr_snapshot_plan_make(engine, project, &ctx.snapshot, err);
    if (ret == 0) {
        for (size_t i = 0; i < ctx.n_runs; i++) {
            if (pthread_create(&ctx.runs[i].thread, NULL, service_thread, &ctx.runs[i]) != 0) {
                ret = envmgr_error_errno(err, errno, "start a worker thread");
                pthread_mutex_lock(&ctx.lock);
                atomic_store(&ctx.abort, true);
                pthread_cond_broadcast(&ctx.cond);
                pthread_mutex_unlock(&ctx.lock);
                break;
            }
            ctx.runs[i].thread_started = true;
        }
        for (size_t i = 0; i < ctx.n_runs; i++)
            if (ctx.runs[i].thread_started)
                pthread_join(ctx.runs[i].thread, NULL);
        if (ret == 0 && envmgr_interrupted()) {
            ret = envmgr_error_set(err, ENVMGR_E_INTERRUPTED, 0,
                                   "interrupted: removing what this up created");
        } else if (ret == 0) {
            for (size_t i = 0; i < ctx.n_runs; i++) {
                if (ctx.runs[i].state == RUN_FAILED) {
                    describe_failure(&ctx, &ctx.runs[i], err);
                    ret = -1;
                    break;
                }
            }
        }
    }

    if (ret == 0 && !pod && !opts->services)
        ret = envmgr_pod_remove_stale(engine, project, err);
    if (ret == 0 && !opts->no_fixtures && !opts->services)
        ret = envmgr_snapshot_fixtures_up(ctx.snapshot, engine, project, opts->progress,
                                          opts->userdata, err);

    envmgr_pod_close(engine, ctx.pod, ret < 0 && !opts->keep_on_failure);
    if (ret < 0 && !opts->keep_on_failure) {
        /* Leave nothing half-done: a fresh environment goes entirely; on a live one, only what
         * this run created. */
        envmgr_error_t cleanup_err = {0};
        /* The clean-up itself must not be cut short by the interrupt that caused it (a second
         * Ctrl-C still exits at once: the CLI handles that). */
        bool held = envmgr_interrupt_hold();
        if (network_created) {
            envmgr_down(engine, project->name, true, opts->progress, opts->userdata, NULL,
                        &cleanup_err);
        } else {
            for (size_t i = 0; i < ctx.n_runs; i++)
                if (ctx.runs[i].created_by_us)
                    envmgr_engine_container_remove(engine, ctx.runs[i].container_id, true, true,
                                                   &cleanup_err);
        }
        remove_built_images(&ctx);
        envmgr_interrupt_restore(held);
    }
    envmgr_reaper_finish(engine, project->name, reaper, ret == 0 && !opts->owned);
    for (size_t i = 0; i < ctx.n_runs; i++) {
        free(ctx.runs[i].built_image_id);
        free(ctx.runs[i].container_id);
        envmgr_buf_free(&ctx.runs[i].health_output);
    }
    free(ctx.runs);
    envmgr_snapshot_plan_free(ctx.snapshot);
    pthread_cond_destroy(&ctx.cond);
    pthread_mutex_destroy(&ctx.lock);
    return ret;
}
