/* Wait strategies: a service is ready when its healthcheck passes (envtest execs the check itself
 * as soon as the container's TCP ports accept connections, instead of waiting for the engine's
 * schedule, whose first check only comes after `interval`), or, with no healthcheck, when its TCP
 * ports accept connections. */
#ifndef ENVMGR_HEALTH_H
#define ENVMGR_HEALTH_H

#include <stdatomic.h>
#include <stdint.h>

#include <envmgr/compose.h>
#include <envmgr/defaults.h>
#include <envmgr/engine.h>
#include <envmgr/error.h>
#include <envmgr/util.h>

/* How often: ENVMGR_HEALTH_POLL_MS and ENVMGR_HEALTH_SLOW_POLL_MS, in <envmgr/defaults.h>. */

/* The healthcheck to use: the service's own, else the image's Config.Healthcheck (image_inspect may
 * be NULL). Returns false when there is none (or it is NONE). out is filled (free with
 * envmgr_healthcheck_clear) only when true is returned. */
bool envmgr_health_resolve(const envmgr_service_t *service, json_t *image_inspect,
                           envmgr_healthcheck_t *out);
void envmgr_healthcheck_clear(envmgr_healthcheck_t *hc);

/* Where a wait gives up short of ready: at deadline_ms (envmgr_now_ms clock), or within one poll
 * (ENVMGR_HEALTH_POLL_MS) of *cancel turning true (NULL: never), with ENVMGR_E_INTERRUPTED and
 * "stopped": up sets it when another of its services failed, so that it reports that failure at
 * once instead of after every other service's wait. */
typedef struct envmgr_wait_limit {
    int64_t deadline_ms;
    const atomic_bool *cancel;
} envmgr_wait_limit_t;

/* Waits until the container is ready or limit says to stop.
 * hc: the resolved healthcheck, or NULL for the port probe. On failure err says why and
 * last_output holds the last health output (may be empty). A container that exits while waited
 * for fails at once; so does the engine's own "unhealthy" verdict. */
int envmgr_health_wait(envmgr_engine_t *engine, const char *container_id,
                       const envmgr_healthcheck_t *hc, const envmgr_wait_limit_t *limit,
                       envmgr_buf_t *last_output, envmgr_error_t *err);

/* Runs the healthcheck once in the container, as envmgr_health_wait does: *passed is true when it
 * exited 0. -1 only when the check could not be run. */
int envmgr_health_probe(envmgr_engine_t *engine, const char *container_id,
                        const envmgr_healthcheck_t *hc, bool *passed, envmgr_error_t *err);

/* Waits until the container has exited; fails unless its exit code is 0 (for
 * service_completed_successfully). */
int envmgr_health_wait_completed(envmgr_engine_t *engine, const char *container_id,
                                 const envmgr_wait_limit_t *limit, envmgr_error_t *err);

/* Fails (ENVMGR_E_INTERRUPTED) when the waits must stop now: Ctrl-C, or limit's cancel. */
int envmgr_wait_stopped(const envmgr_wait_limit_t *limit, envmgr_error_t *err);

/* died.c: when the inspected container is gone (exited, dead) or was OOM-killed, appends to why
 * how it died ("killed by the OOM killer (...): it needs more memory than its limit of 16 MiB",
 * "exited with code 2") and to hint what to do (may stay empty), and returns true. */
bool envmgr_container_died(json_t *inspect, envmgr_buf_t *why, envmgr_buf_t *hint);
/* Inspects the container (*inspect: new reference) once the engine has caught up with its death:
 * while it says "running" but the main process is exiting or gone (/proc, else the engine's top),
 * up to 5 s; while it says "exited" with code 137 and no OOMKilled yet (containerd's OOM event
 * may come after its exit event), up to 1 s. Otherwise at once. */
int envmgr_container_inspect_settled(envmgr_engine_t *engine, const char *id, json_t **inspect,
                                     envmgr_error_t *err);

/* health_wait.c: the service's x-envtest.wait strategies, in order, until limit says to stop. */
int envmgr_health_wait_strategies(envmgr_engine_t *engine, const char *container_id,
                                  const envmgr_service_t *service, const envmgr_wait_limit_t *limit,
                                  envmgr_buf_t *last_output, envmgr_error_t *err);

#endif
