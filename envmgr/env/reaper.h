/* The reaper: a watchdog process that removes a project's containers, networks and volumes when the
 * envtest that started it dies without saying goodbye (SIGKILL, OOM, a crash), as Testcontainers'
 * Ryuk does, but as a plain host process: it holds the read end of a pipe; the write end closes
 * when envtest exits, whatever the reason. A released reaper exits quietly. */
#ifndef ENVMGR_REAPER_H
#define ENVMGR_REAPER_H

#include <envmgr/engine.h>
#include <envmgr/error.h>
#include <envmgr/guard.h>

#include <stdbool.h>

typedef struct envmgr_reaper envmgr_reaper_t;

/* Starts a reaper for project: the reaper container (<envmgr/guard.h>) where the engine can run
 * it, else (ENVTEST_REAPER=process, a tcp:// engine, no envtest-reaper program) the host process.
 * Call it before any worker thread starts (it may fork). */
int envmgr_reaper_start(envmgr_engine_t *engine, const char *project, envmgr_reaper_t **out,
                        envmgr_error_t *err);
/* Up is over. hand_over: it succeeded and the environment is the user's now: the reaper exits
 * without touching anything. Else (up cleaned up after itself, or the caller owns the environment
 * and holds its own guard) the host process exits quietly and the container's connection drops.
 * Frees r. NULL is fine. */
void envmgr_reaper_finish(envmgr_engine_t *engine, const char *project, envmgr_reaper_t *r,
                          bool hand_over);

/* The local file locks this process holds (lock.c): the reaper keeps them open, so that the lock
 * stays held until it has cleaned up after a killed envtest. Returns how many were stored. */
int lock_held_fds(int *out, int max);

#endif
