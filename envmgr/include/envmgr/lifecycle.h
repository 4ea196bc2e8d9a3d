/* Environment lifecycle: up / down / status / env / keep over the Engine, driven by a Compose
 * model. The engine is the source of truth: everything envtest creates carries the labels
 *   io.envtest.project=<project>, io.envtest.service=<service>, io.envtest.config-hash=<sha256>
 * and is found again by them (also after envtest crashed). No state file. */
#ifndef ENVMGR_LIFECYCLE_H
#define ENVMGR_LIFECYCLE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include <envmgr/compose.h>
#include <envmgr/defaults.h>
#include <envmgr/engine.h>
#include <envmgr/env.h>
#include <envmgr/error.h>
#include <envmgr/util.h>

#define ENVMGR_LABEL_PROJECT "io.envtest.project"
#define ENVMGR_LABEL_SERVICE "io.envtest.service"
#define ENVMGR_LABEL_CONFIG_HASH "io.envtest.config-hash"
#define ENVMGR_LABEL_KEEP "io.envtest.keep"
#define ENVMGR_LABEL_SECRETS "io.envtest.secrets"
#define ENVMGR_LABEL_FIXTURE_PREFIX "io.envtest.fixture."

enum envmgr_service_phase {
    ENVMGR_PHASE_BUILDING,
    ENVMGR_PHASE_PULLING,
    ENVMGR_PHASE_CREATING,
    ENVMGR_PHASE_STARTING,
    ENVMGR_PHASE_WAITING,
    ENVMGR_PHASE_HEALTHY,
    ENVMGR_PHASE_RUNNING, /* started, no health condition asked */
    ENVMGR_PHASE_EXITED,  /* completed (service_completed_successfully) */
    ENVMGR_PHASE_UNCHANGED,
    ENVMGR_PHASE_FAILED,
    ENVMGR_PHASE_REMOVING,
    ENVMGR_PHASE_REMOVED,
    ENVMGR_PHASE_LOADING, /* fixtures: "service" is "fixture <name>" */
    ENVMGR_PHASE_LOADED,
    ENVMGR_PHASE_SKIPPED, /* fixture unchanged since the last load */
    ENVMGR_PHASE_REAL,    /* a real service instead of the mock: not started; detail: its URL */
    ENVMGR_PHASE_STOPPED, /* its wait was cut short: another service failed; detail: which */
};
const char *envmgr_service_phase_name(enum envmgr_service_phase phase);

/* Progress for one service (called from worker threads; the CLI serialises). detail may be NULL. */
typedef void (*envmgr_progress_cb)(void *userdata, const char *service,
                                   enum envmgr_service_phase phase, int64_t elapsed_ms,
                                   const char *detail);

typedef struct envmgr_up_options {
    const char *const
        *services;           /* NULL-terminated subset (with their dependencies), or NULL: all */
    int64_t wait_timeout_ms; /* 0: ENVMGR_DEFAULT_WAIT_TIMEOUT_MS */
    bool keep_on_failure;    /* --keep: leave what was created when up fails */
    bool no_fixtures;
    bool no_snapshot; /* load the fixtures even if a state snapshot has them (envmgr/snapshot.h) */
    /* Pod mode (also x-envtest.pod: true): one network namespace for the environment, held by
     * a pause container that publishes every port; services reach each other by name at
     * 127.0.0.1. A Compose model it cannot keep (two services on one port, networks, aliases,
     * network_mode, hostname, extra_hosts, dns, links) is refused with ENVMGR_E_CONFIG. */
    bool pod;
    /* The caller owns the environment and holds its own guard (<envmgr/guard.h>): up starts no
     * reaper of its own, and the reaper container is not released when up succeeds. */
    bool owned;
    /* Extra labels for the project network (e.g. io.envtest.secrets), set when it is created. */
    const envmgr_kvlist_t *network_labels;
    envmgr_progress_cb progress;
    void *userdata;
} envmgr_up_options_t;

/* How this envtest reaches the services. On the engine's host (or in its network namespace): at
 * their ports published on 127.0.0.1. In a container of the engine it drives with a network
 * namespace of its own (a devcontainer, a CI job's `container:`), whose 127.0.0.1 is not the
 * engine host's: the engine handle gets that container as its self (envmgr_engine_self), and
 * envtest joins the services' networks and reaches them at their addresses there, for its health
 * waits, fixtures and the variables it hands out; its reaper container shares the container's
 * network namespace. envmgr_up and a run call it first; callers that start a reaper before up call
 * it before that. Idempotent. */
int envmgr_reach_prepare(envmgr_engine_t *engine, envmgr_error_t *err);

/* Brings the project up: network, volumes, images (build/pull), containers in dependency order with
 * independent services in parallel, health waits (the healthcheck exec'd by envtest as soon as the
 * ports accept connections; state and ports polled every 25 ms, ENVMGR_HEALTH_POLL_MS), then
 * fixtures from x-envtest.fixtures. Idempotent. On failure: err names the service with its health
 * output and its last 30 log lines (in err->message), and what up created is removed. */
int envmgr_up(envmgr_engine_t *engine, const envmgr_project_t *project,
              const envmgr_up_options_t *opts, envmgr_error_t *err);

/* Removes every container, network and (volumes) volume labelled with the project. *removed counts
 * the objects removed (0 when nothing was there, which is not an error). */
int envmgr_down(envmgr_engine_t *engine, const char *project_name, bool volumes,
                envmgr_progress_cb progress, void *userdata, int *removed, envmgr_error_t *err);

/* Removes the images envtest built for the project (labelled io.envtest.project), as
 * `docker compose down --rmi local` does. Images in use by a container stay. *removed counts them.
 */
int envmgr_down_images(envmgr_engine_t *engine, const char *project_name, int *removed,
                       envmgr_error_t *err);

/* Marks (or unmarks) the live environment as kept. Engine labels cannot change after creation, so
 * the mark is a small labelled volume <project>_envtest-keep, removed by `down`. */
int envmgr_keep_set(envmgr_engine_t *engine, const char *project_name, bool keep,
                    envmgr_error_t *err);
int envmgr_keep_get(envmgr_engine_t *engine, const char *project_name, bool *kept,
                    envmgr_error_t *err);

/* ---- fixtures ------------------------------------------------------------------------------ */
#include <envmgr/fixture.h>

/* Where a live environment's services are, for fixture steps: MySQL (the state's database service,
 * envmgr_env_state_t.mysql, as root, into its database), every service's first published port as
 * base_url, container ids for copy steps. Owns the strings that targets borrows. */
typedef struct envmgr_live_targets {
    envmgr_fixture_targets_t targets;
    envmgr_fixture_service_t *services;
    const char *mysql_container_id; /* the MySQL service's container, or NULL */
    envmgr_strv_t strings;
} envmgr_live_targets_t;
int envmgr_live_targets_get(envmgr_engine_t *engine, const envmgr_project_t *project,
                            envmgr_live_targets_t *out, envmgr_error_t *err);
void envmgr_live_targets_free(envmgr_live_targets_t *t);

/* Loads the archives of x-envtest.fixtures (paths relative to the compose file) into the live
 * environment. An archive whose digest was already loaded into the same MySQL container is
 * skipped; the digest is kept as the label io.envtest.fixture.<name> of a marker volume. */
int envmgr_fixtures_up(envmgr_engine_t *engine, const envmgr_project_t *project,
                       envmgr_progress_cb progress, void *userdata, envmgr_error_t *err);

#endif
