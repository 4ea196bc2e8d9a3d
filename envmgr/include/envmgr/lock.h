/* One project, many envtests: the project lock, and the uses of a shared environment.
 *
 * envtest processes that change a project's environment (up, down, the set-up and tear-down of
 * run) serialize on a lock that lives with the engine, so that it holds for envtests on other
 * machines of a remote engine too: a volume named envtest-lock-<project>. The engine creates a
 * volume name once (a second create of the name returns the first one's volume, or a conflict on
 * Podman), so the process whose own token is in the volume's labels holds the lock; the labels
 * also say who it is (command, host, pid, start time) for the waiters' progress line. A local
 * file lock (flock on $ENVTEST_LOCK_DIR, else $XDG_RUNTIME_DIR, else /tmp, envtest-<project>.lock)
 * comes first, as the fast path for envtests of one machine; the kernel releases it when its
 * holder dies, whatever the way.
 *
 * A dead holder's engine lock is taken over: one of this machine (same host name and boot id)
 * whose pid is gone or belongs to another process now; one of another machine whose heartbeat
 * stopped (it renames nothing: every ENVTEST_LOCK_BEAT_MS, default 5000, it creates the volume
 * envtest-lock-<project>-beat-<n+1> and removes the n-th) for ENVTEST_LOCK_STALE_MS (default
 * 30000) of the waiter's own clock, so that the two machines' clocks never meet.
 *
 * The uses: a `run` shares an environment that is up; while its suites run it holds a use (a
 * volume envtest-use-<project>-<token>, labelled as the lock). An environment that a `run` brought
 * up carries the ephemeral mark and is removed by the last run to leave it: the one that finds no
 * other live use. `up` takes the mark off (the user asked for the environment). */
#ifndef ENVMGR_LOCK_H
#define ENVMGR_LOCK_H

#include <stdbool.h>
#include <stdint.h>

#include <envmgr/engine.h>
#include <envmgr/error.h>
#include <envmgr/util.h>

#define ENVMGR_LABEL_LOCK "io.envtest.lock"
#define ENVMGR_LABEL_EPHEMERAL "io.envtest.ephemeral"

typedef struct envmgr_lock envmgr_lock_t;

/* Called when acquire must wait, and again when the holder changes. holder reads e.g.
 * "envtest up (pid 4242 on ci-3, for 2.1 s)". */
typedef void (*envmgr_lock_wait_cb)(void *userdata, const char *project, const char *holder);

typedef struct envmgr_lock_options {
    const char *command;      /* what the holder does, shown to waiters: "up", "run", "down" */
    int64_t timeout_ms;       /* 0: wait until the lock is free or envmgr_interrupt() */
    envmgr_lock_wait_cb wait; /* may be NULL */
    void *userdata;
} envmgr_lock_options_t;

/* Takes project's lock (local file lock, then the engine's), waiting for its holder, taking a dead
 * holder's over. ENVMGR_E_INTERRUPTED when interrupted while waiting, ENVMGR_E_ENV on timeout
 * naming the holder. */
int envmgr_lock_acquire(envmgr_engine_t *engine, const char *project,
                        const envmgr_lock_options_t *opts, envmgr_lock_t **out,
                        envmgr_error_t *err);
/* Removes the engine lock (only if still ours) and drops the file lock. NULL is fine. */
void envmgr_lock_release(envmgr_lock_t *lock);
/* The file descriptor of the local file lock, for a watchdog process that must go on holding it
 * after a fork (see reaper.c), or -1. */
int envmgr_lock_fd(const envmgr_lock_t *lock);

/* This process's token, "<host>:<boot id>:<pid>:<start time>", the same for every call. */
const char *envmgr_lock_token(void);

/* Uses (see above). Adding or removing one needs the lock held. */
int envmgr_env_use_add(envmgr_engine_t *engine, const char *project, envmgr_error_t *err);
int envmgr_env_use_remove(envmgr_engine_t *engine, const char *project, envmgr_error_t *err);
/* Live uses other than this process's; dead ones' volumes are removed on the way. */
int envmgr_env_other_uses(envmgr_engine_t *engine, const char *project, int *count,
                          envmgr_error_t *err);
/* The ephemeral mark: a volume <project>_envtest-ephemeral labelled with the project, removed by
 * every down. */
int envmgr_env_ephemeral_set(envmgr_engine_t *engine, const char *project, bool on,
                             envmgr_error_t *err);
int envmgr_env_ephemeral_get(envmgr_engine_t *engine, const char *project, bool *on,
                             envmgr_error_t *err);

/* ---- gc: what envtests that are gone left behind --------------------------------------------
 * An environment carries the ephemeral mark while an envtest owns it: from the creation of its
 * network by up until up succeeds, and while runs that brought it up use it. The mark names the
 * owner (host, boot id, pid, start time). */

/* Cheap (one engine call): the projects whose owner ran on this machine and is gone. */
int envmgr_gc_check(envmgr_engine_t *engine, envmgr_strv_t *gone, envmgr_error_t *err);
/* Removes (as down -v, under the project's lock) those environments, unless kept, guarded by a
 * running reaper container, or used by a live run; then the lock and use marks of processes of
 * this machine that are gone. Owners on other machines are left to their reaper container.
 * cb(project, objects removed) for each environment removed; *removed counts every object. */
/* Removes the lock and use marks of processes of this machine that are gone (two engine calls);
 * every command runs it, so that a lock whose holder was killed before its reaper container
 * watched anything does not outlive the next command. */
void envmgr_gc_stale_marks(envmgr_engine_t *engine, int *removed);
typedef void (*envmgr_gc_cb)(void *userdata, const char *project, int removed);
int envmgr_gc(envmgr_engine_t *engine, envmgr_gc_cb cb, void *userdata, int *removed,
              envmgr_error_t *err);

#endif
