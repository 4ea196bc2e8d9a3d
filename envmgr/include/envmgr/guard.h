/* The reaper container (issue 13): an envtest that owns an environment (up until it is up, a run
 * that brought it up, up --session) holds a connection to the container envtest-reaper-<project>,
 * built from envtest's own static envtest-reaper (FROM scratch, built locally as
 * envtest/reaper:<digest>, no registry), with the engine's socket mounted. When every connection
 * to it dropped (the envtests are gone, however they died) and none came back within the grace
 * (ENVTEST_REAPER_GRACE seconds, default 10), it removes the project's containers, networks and
 * volumes, unless the environment is kept, and then itself. See cmd/reaper/reaper.c. Works with
 * Docker and Podman (a unix:// socket); elsewhere envmgr_guard_open fails and the caller falls
 * back to the host-process reaper. */
#ifndef ENVMGR_GUARD_H
#define ENVMGR_GUARD_H

#include <stdbool.h>

#include <envmgr/engine.h>
#include <envmgr/error.h>

#define ENVMGR_LABEL_REAPER "io.envtest.reaper"

typedef struct envmgr_guard envmgr_guard_t;

/* Starts project's reaper container (building its image once) or joins the running one, and
 * connects to it (the socket is close-on-exec: suites do not inherit it). */
int envmgr_guard_open(envmgr_engine_t *engine, const char *project, envmgr_guard_t **out,
                      envmgr_error_t *err);
/* Whether an envtest about to take project's lock for an up or a run should hold a guard first:
 * there is no environment yet (no network) or one that envtests own (the ephemeral mark), and
 * ENVTEST_REAPER is not "process". Held
 * before the lock, a guard covers every point after it: killed while it holds the lock, envtest
 * leaves its lock mark to the reaper (which removes the environment only when it is owned). */
int envmgr_guard_wanted(envmgr_engine_t *engine, const char *project, bool *wanted,
                        envmgr_error_t *err);
/* Drops the connection: the reaper reaps after its grace unless another envtest holds it. NULL is
 * fine. */
void envmgr_guard_close(envmgr_guard_t *guard);
/* The holder removed the environment itself (the last run or session to leave it): closes guard;
 * when no other envtest holds the reaper, it exits at once and this returns once its container is
 * gone, so that nothing of the project is left as envtest exits. NULL is fine. */
int envmgr_guard_done(envmgr_engine_t *engine, const char *project, envmgr_guard_t *guard,
                      envmgr_error_t *err);
/* A failed holder (an up that failed and removed what it made): envmgr_guard_done when nothing of
 * project is left (no container, network or volume labelled with it), so that its reaper goes at
 * once too; else envmgr_guard_close, and the reaper removes the rest after its grace. NULL is
 * fine. */
int envmgr_guard_failed(envmgr_engine_t *engine, const char *project, envmgr_guard_t *guard,
                        envmgr_error_t *err);
/* The environment is the user's now: a running reaper of project exits without touching anything
 * (through guard when given, else through a new connection). 0 when there is none. */
int envmgr_guard_release(envmgr_engine_t *engine, const char *project, envmgr_guard_t *guard,
                         envmgr_error_t *err);

#endif
