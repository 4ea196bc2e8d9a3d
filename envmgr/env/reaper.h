/* The reaper: a watchdog process that removes a project's containers, networks and volumes when the
 * envtest that started it dies without saying goodbye (SIGKILL, OOM, a crash), as Testcontainers'
 * Ryuk does, but as a plain host process: it holds the read end of a pipe; the write end closes
 * when envtest exits, whatever the reason. A released reaper exits quietly. */
#ifndef ENVMGR_REAPER_H
#define ENVMGR_REAPER_H

#include <envmgr/engine.h>
#include <envmgr/error.h>

typedef struct envmgr_reaper envmgr_reaper_t;

/* Starts a reaper for project (engine host as given to envmgr_engine_open, NULL = default). Call
 * it before any worker thread starts (it forks). */
int envmgr_reaper_start(const char *host, const char *project, envmgr_reaper_t **out,
                        envmgr_error_t *err);
/* The environment is in good hands (up succeeded, or was cleaned up): the reaper exits without
 * touching anything. Frees r. NULL is fine. */
void envmgr_reaper_release(envmgr_reaper_t *r);

#endif
