/* envtest-pause: the pod holder's only program (envmgr/env/pod.c). A static binary, the only file
 * of a FROM scratch image that envtest builds locally, like Kubernetes' pause container: it owns
 * the pod's network namespace (the project network's one endpoint and every published port) and
 * does nothing else. It waits for SIGTERM or SIGINT (docker stop, docker rm -f) and exits 0; as
 * PID 1 it also reaps any child that lands on it. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: envtest-pause\nholds a pod's network namespace until SIGTERM or SIGINT\n");
        return 0;
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGCHLD);
    sigprocmask(SIG_BLOCK, &set, NULL);
    for (;;) {
        int sig = 0;
        if (sigwait(&set, &sig) != 0)
            return 1;
        if (sig != SIGCHLD)
            return 0;
        while (waitpid(-1, NULL, WNOHANG) > 0)
            ;
    }
}
