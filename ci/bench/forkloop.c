/* Baseline for the runner-overhead benchmark: runs each argument as a program, one after the
 * other (fork + execv + waitpid, stdout and stderr to one pipe that is drained), like a minimal
 * sequential runner. Prints the wall time in milliseconds. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
    double t0 = now_ms();
    for (int i = 1; i < argc; i++) {
        int fds[2];
        if (pipe2(fds, O_CLOEXEC) < 0)
            return 1;
        pid_t pid = fork();
        if (pid < 0)
            return 1;
        if (pid == 0) {
            dup2(fds[1], 1);
            dup2(fds[1], 2);
            char *args[] = {argv[i], NULL};
            execv(argv[i], args);
            _exit(127);
        }
        close(fds[1]);
        char buf[65536];
        while (read(fds[0], buf, sizeof(buf)) > 0)
            ;
        close(fds[0]);
        int status;
        waitpid(pid, &status, 0);
    }
    printf("%.1f\n", now_ms() - t0);
    return 0;
}
