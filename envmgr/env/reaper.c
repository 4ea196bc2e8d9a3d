#include "reaper.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <envmgr/lifecycle.h>
#include <envmgr/log.h>
#include <envmgr/util.h>

struct envmgr_reaper {
    int fd;                /* write end; closing it without writing 'k' means "clean up" */
    envmgr_guard_t *guard; /* or the reaper container's connection */
};

static void close_other_fds(int keep, const int *locks, int n_locks)
{
    struct rlimit rl;
    int max = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 65536 ? (int)rl.rlim_cur : 4096;
    for (int fd = 3; fd < max; fd++) {
        bool held = fd == keep;
        for (int i = 0; i < n_locks && !held; i++)
            held = fd == locks[i];
        if (!held)
            close(fd);
    }
}

/* In the grandchild: wait for the verdict, then clean up if envtest died. Never returns. */
static void reaper_main(int fd, const char *host, const char *project)
{
    char verdict = 0;
    ssize_t n;
    do {
        n = read(fd, &verdict, 1);
    } while (n < 0 && errno == EINTR);
    if (n == 1 && verdict == 'k')
        _exit(0);
    envmgr_engine_t *engine = NULL;
    envmgr_error_t err = {0};
    if (envmgr_engine_open(host, &engine, &err) == 0) {
        envmgr_down(engine, project, true, NULL, NULL, NULL, &err);
        envmgr_engine_close(engine);
    }
    _exit(0);
}

static int process_start(const char *host, const char *project, envmgr_reaper_t **out,
                         envmgr_error_t *err)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0)
        return envmgr_error_errno(err, errno, "reaper: pipe");
    pid_t child = fork();
    if (child < 0) {
        int saved = errno;
        close(fds[0]);
        close(fds[1]);
        return envmgr_error_errno(err, saved, "reaper: fork");
    }
    if (child == 0) {
        /* first child: detach and fork the reaper, so that it is not our zombie */
        close(fds[1]);
        setsid();
        signal(SIGINT, SIG_IGN);
        signal(SIGHUP, SIG_IGN);
        signal(SIGTERM, SIG_DFL);
        if (fork() != 0)
            _exit(0);
        int locks[8];
        int n_locks = lock_held_fds(locks, 8);
        close_other_fds(fds[0], locks, n_locks);
        int devnull = open("/dev/null", O_RDWR);
        if (devnull >= 0) {
            dup2(devnull, STDIN_FILENO);
            dup2(devnull, STDOUT_FILENO);
            dup2(devnull, STDERR_FILENO);
        }
        reaper_main(fds[0], host, project);
    }
    close(fds[0]);
    int status;
    while (waitpid(child, &status, 0) < 0 && errno == EINTR)
        ;
    envmgr_reaper_t *r = envmgr_xcalloc(1, sizeof(*r));
    r->fd = fds[1];
    *out = r;
    return 0;
}

int envmgr_reaper_start(envmgr_engine_t *engine, const char *project, envmgr_reaper_t **out,
                        envmgr_error_t *err)
{
    const char *how = getenv("ENVTEST_REAPER");
    if (!how || strcmp(how, "process") != 0) {
        envmgr_guard_t *guard = NULL;
        envmgr_error_t guard_err = {0};
        if (envmgr_guard_open(engine, project, &guard, &guard_err) == 0) {
            envmgr_reaper_t *r = envmgr_xcalloc(1, sizeof(*r));
            r->fd = -1;
            r->guard = guard;
            *out = r;
            return 0;
        }
        if (guard_err.kind == ENVMGR_E_INTERRUPTED) {
            *err = guard_err;
            return -1;
        }
        envmgr_debug("%s; the reaper is a host process", guard_err.message);
    }
    return process_start(envmgr_engine_host(engine), project, out, err);
}

void envmgr_reaper_finish(envmgr_engine_t *engine, const char *project, envmgr_reaper_t *r,
                          bool hand_over)
{
    if (!r)
        return;
    if (r->guard) {
        envmgr_error_t ignored = {0};
        if (hand_over)
            envmgr_guard_release(engine, project, r->guard, &ignored);
        envmgr_guard_close(r->guard);
        free(r);
        return;
    }
    char k = 'k';
    ssize_t n;
    do {
        n = write(r->fd, &k, 1);
    } while (n < 0 && errno == EINTR);
    close(r->fd);
    free(r);
}
