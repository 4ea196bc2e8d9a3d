#include "reaper.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <envmgr/lifecycle.h>
#include <envmgr/util.h>

struct envmgr_reaper {
    int fd; /* write end; closing it without writing 'k' means "clean up" */
};

static void close_other_fds(int keep)
{
    struct rlimit rl;
    int max = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 65536 ? (int)rl.rlim_cur : 4096;
    for (int fd = 3; fd < max; fd++)
        if (fd != keep)
            close(fd);
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

int envmgr_reaper_start(const char *host, const char *project, envmgr_reaper_t **out,
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
        close_other_fds(fds[0]);
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

void envmgr_reaper_release(envmgr_reaper_t *r)
{
    if (!r)
        return;
    char k = 'k';
    ssize_t n;
    do {
        n = write(r->fd, &k, 1);
    } while (n < 0 && errno == EINTR);
    close(r->fd);
    free(r);
}
