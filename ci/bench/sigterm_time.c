/* SIGTERM-to-exit time of a mock service, median over N starts (used by ci/bench/mock_*.sh).
 * usage: sigterm_time RUNS WORKDIR MOCK_BINARY
 * Each start: MOCK_BINARY --host 127.0.0.1 --port 0 --port-file WORKDIR/port --quiet, wait for the
 * port, one TCP connect (the server accepts), then SIGTERM and a blocking waitpid, timed with
 * CLOCK_MONOTONIC. Exit status 1 when the server did not start or did not exit with status 0. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int wait_port(const char *file, pid_t pid)
{
    for (int i = 0; i < 500; i++) {
        FILE *f = fopen(file, "r");
        int port = 0;
        if (f) {
            if (fscanf(f, "%d", &port) != 1)
                port = 0;
            fclose(f);
        }
        if (port > 0)
            return port;
        if (waitpid(pid, NULL, WNOHANG) == pid)
            return -1;
        usleep(10000);
    }
    return -1;
}

static double one_run(const char *bin, const char *dir)
{
    char file[512];
    snprintf(file, sizeof(file), "%s/sigterm-port", dir);
    unlink(file);
    pid_t pid = fork();
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stdout))
            _exit(127);
        execl(bin, bin, "--host", "127.0.0.1", "--port", "0", "--port-file", file, "--quiet",
              (char *)NULL);
        _exit(127);
    }
    int port = wait_port(file, pid);
    if (port < 0) {
        fprintf(stderr, "%s did not start\n", bin);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return -1;
    }
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
        fprintf(stderr, "connect to port %d failed\n", port);
    close(fd);
    usleep(20000); /* the server is idle again */
    int status = 0;
    double t0 = now_ms();
    kill(pid, SIGTERM);
    waitpid(pid, &status, 0);
    double ms = now_ms() - t0;
    unlink(file);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "%s: exit status %d after SIGTERM\n", bin, status);
        return -1;
    }
    return ms;
}

int main(int argc, char **argv)
{
    if (argc != 4 || atoi(argv[1]) < 1) {
        fprintf(stderr, "usage: %s RUNS WORKDIR MOCK_BINARY\n", argv[0]);
        return 2;
    }
    int runs = atoi(argv[1]);
    double *ms = calloc((size_t)runs, sizeof(*ms));
    for (int i = 0; i < runs; i++)
        if ((ms[i] = one_run(argv[3], argv[2])) < 0)
            return 1;
    qsort(ms, (size_t)runs, sizeof(*ms), cmp);
    double median = runs % 2 ? ms[runs / 2] : (ms[runs / 2 - 1] + ms[runs / 2]) / 2;
    printf("SIGTERM to exit: median %.2f ms over %d starts (min %.2f, max %.2f; target < 100 ms: "
           "%s)\n",
           median, runs, ms[0], ms[runs - 1], median < 100 ? "ok" : "MISSED");
    free(ms);
    return 0;
}
