/* A service that needs more memory than its limit, for the OOM tests (tests/test_oom_kill.sh):
 * linked statically for a FROM scratch image. The engine's OOM killer ends it; it never exits on
 * its own.
 *   hog grow          allocates and touches 1 MiB after 1 MiB, at once
 *   hog serve PORT    listens on PORT (ready once it accepts); the first connection makes it grow
 *   hog check         a healthcheck that never passes ("still loading"): up waits on it */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void grow(void)
{
    for (size_t total = 0;; total++) {
        char *p = malloc(1 << 20);
        if (!p) /* no overcommit: the limit shows as a failed malloc; keep the pressure on */
            continue;
        memset(p, (int)(total & 0xff) | 1, 1 << 20); /* touched: charged to the cgroup */
        if (total % 8 == 0)
            fprintf(stderr, "hog: %zu MiB\n", total + 1);
    }
}

static int serve(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 16) < 0) {
        perror("hog: listen");
        return 1;
    }
    fprintf(stderr, "hog: listening on %d\n", port);
    for (;;) {
        int c = accept(fd, NULL, NULL);
        if (c < 0)
            continue;
        char buf[64];
        if (read(c, buf, sizeof(buf)) > 0) { /* a request (not the port probe): grow */
            fprintf(stderr, "hog: a request: growing\n");
            grow();
        }
        close(c);
    }
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "grow") == 0)
        grow();
    if (argc >= 3 && strcmp(argv[1], "serve") == 0)
        return serve(atoi(argv[2]));
    if (argc >= 2 && strcmp(argv[1], "check") == 0) {
        puts("still loading");
        return 1;
    }
    fprintf(stderr, "usage: hog grow | serve PORT | check\n");
    return 2;
}
