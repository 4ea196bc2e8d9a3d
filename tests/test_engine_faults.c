/* docker test (issue 13, item 3): engine faults through a proxy socket between envtest and the
 * real engine, which delays or cuts the engine's replies. envtest must give up within its engine
 * timeout (ENVTEST_ENGINE_TIMEOUT), name the call, exit 3, and never hang. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <envmgr/util.h>

typedef struct proxy {
    char dir[64];
    char path[96];
    const char *upstream;
    int listen_fd;
    int delay_ms;      /* hold each reply this long before its first byte */
    long cut_after;    /* close each connection after this many reply bytes; -1: never */
    volatile int stop; /* set by the test */
    pthread_t thread;
} proxy_t;

static int unix_connect(const char *path)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
        return fd;
    if (fd >= 0)
        close(fd);
    return -1;
}

/* One client connection: requests go up unchanged; replies come down delayed or cut. */
static void relay(proxy_t *p, int client)
{
    int up = unix_connect(p->upstream);
    if (up < 0) {
        close(client);
        return;
    }
    long sent_down = 0;
    bool delayed = false;
    char buf[65536];
    while (!p->stop) {
        struct pollfd pf[2] = {{.fd = client, .events = POLLIN}, {.fd = up, .events = POLLIN}};
        if (poll(pf, 2, 100) <= 0)
            continue;
        if (pf[0].revents) {
            ssize_t n = read(client, buf, sizeof(buf));
            if (n <= 0 || write(up, buf, (size_t)n) != n)
                break;
            delayed = false; /* a new request: its reply is held again */
        }
        if (pf[1].revents) {
            ssize_t n = read(up, buf, sizeof(buf));
            if (n <= 0)
                break;
            if (!delayed && p->delay_ms > 0) {
                for (int waited = 0; waited < p->delay_ms && !p->stop; waited += 10)
                    usleep(10000);
                delayed = true;
            }
            if (p->cut_after >= 0 && sent_down + n > p->cut_after)
                n = p->cut_after - sent_down;
            if (n > 0 && write(client, buf, (size_t)n) != n)
                break;
            sent_down += n;
            if (p->cut_after >= 0 && sent_down >= p->cut_after)
                break; /* the reply is cut: the connection closes mid-reply */
        }
    }
    close(up);
    close(client);
}

static void *proxy_main(void *arg)
{
    proxy_t *p = arg;
    while (!p->stop) {
        struct pollfd pf = {.fd = p->listen_fd, .events = POLLIN};
        if (poll(&pf, 1, 100) <= 0)
            continue;
        int c = accept4(p->listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (c >= 0)
            relay(p, c); /* envtest makes one connection at a time */
    }
    return NULL;
}

static proxy_t *proxy_start(const char *upstream, int delay_ms, long cut_after)
{
    proxy_t *p = envmgr_xcalloc(1, sizeof(*p));
    snprintf(p->dir, sizeof(p->dir), "/tmp/envtest-proxy-XXXXXX");
    assert_non_null(mkdtemp(p->dir));
    snprintf(p->path, sizeof(p->path), "%s/engine.sock", p->dir);
    p->upstream = upstream;
    p->delay_ms = delay_ms;
    p->cut_after = cut_after;
    p->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", p->path);
    assert_int_equal(bind(p->listen_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(p->listen_fd, 8), 0);
    assert_int_equal(pthread_create(&p->thread, NULL, proxy_main, p), 0);
    return p;
}

static void proxy_stop(proxy_t *p)
{
    p->stop = 1;
    pthread_join(p->thread, NULL);
    close(p->listen_fd);
    unlink(p->path);
    rmdir(p->dir);
    free(p);
}

/* Runs envtest with args through the proxy; returns its exit status, its stderr in *out and its
 * wall time in *ms. */
static int run_envtest(const proxy_t *p, const char *timeout_s, const char *const *args, char **out,
                       int64_t *ms)
{
    char log[] = "/tmp/envtest-faults-XXXXXX";
    int fd = mkstemp(log);
    assert_true(fd >= 0);
    const char *bindir = getenv("ENVTEST_BINARY_DIR");
    envmgr_cleanup_free char *envtest =
        envmgr_xasprintf("%s/cmd/envtest", bindir ? bindir : "build");
    envmgr_cleanup_free char *host = envmgr_xasprintf("unix://%s", p->path);
    int64_t t0 = envmgr_now_ms();
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fd, 2);
        dup2(fd, 1);
        setenv("ENVTEST_ENGINE_TIMEOUT", timeout_s, 1);
        setenv("ENVTEST_LOCK_DIR", "/tmp", 1);
        const char *argv[16] = {envtest, "-H", host};
        size_t n = 3;
        for (size_t i = 0; args[i] && n < 15; i++)
            argv[n++] = args[i];
        argv[n] = NULL;
        execv(envtest, (char *const *)argv);
        _exit(127);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    *ms = envmgr_now_ms() - t0;
    size_t len = 0;
    envmgr_error_t err = {0};
    if (envmgr_read_file(log, out, &len, &err) < 0)
        *out = envmgr_xstrdup("");
    close(fd);
    unlink(log);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static const char *upstream_socket(void)
{
    const char *h = getenv("DOCKER_HOST");
    return h && strncmp(h, "unix://", 7) == 0 ? h + 7 : "/var/run/docker.sock";
}

static int setup(void **state)
{
    (void)state;
    int fd = unix_connect(upstream_socket());
    if (fd < 0) {
        if (getenv("ENVTEST_REQUIRE_DOCKER"))
            return -1;
        skip();
    }
    close(fd);
    return 0;
}

static void test_passthrough(void **state)
{
    (void)state;
    proxy_t *p = proxy_start(upstream_socket(), 0, -1);
    const char *args[] = {"ls", NULL};
    envmgr_cleanup_free char *out = NULL;
    int64_t ms = 0;
    int code = run_envtest(p, "5", args, &out, &ms);
    proxy_stop(p);
    if (code != 0)
        fprintf(stderr, "%s\n", out);
    assert_int_equal(code, 0);
}

static void test_slow_replies(void **state)
{
    (void)state;
    proxy_t *p = proxy_start(upstream_socket(), 4000, -1);
    const char *args[] = {"ls", NULL};
    envmgr_cleanup_free char *out = NULL;
    int64_t ms = 0;
    int code = run_envtest(p, "1", args, &out, &ms);
    proxy_stop(p);
    fprintf(stderr, "# slow replies, 1 s engine timeout: exit %d after %lld ms: %s", code,
            (long long)ms, out);
    assert_int_equal(code, 3);
    assert_non_null(strstr(out, "did not answer within 1000 ms"));
    assert_non_null(strstr(out, "GET /")); /* the call is named */
    assert_true(ms < 3000);                /* the timeout, not the reply, ended it */
}

static void test_cut_replies(void **state)
{
    (void)state;
    proxy_t *p = proxy_start(upstream_socket(), 0, 40);
    const char *args[] = {"ls", NULL};
    envmgr_cleanup_free char *out = NULL;
    int64_t ms = 0;
    int code = run_envtest(p, "5", args, &out, &ms);
    proxy_stop(p);
    fprintf(stderr, "# replies cut after 40 bytes: exit %d after %lld ms: %s", code, (long long)ms,
            out);
    assert_int_equal(code, 3);
    assert_non_null(strstr(out, "GET /"));
    assert_true(ms < 5000);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_passthrough, setup),
        cmocka_unit_test_setup(test_slow_replies, setup),
        cmocka_unit_test_setup(test_cut_replies, setup),
    };
    return cmocka_run_group_tests_name("engine_faults", tests, NULL, NULL);
}
