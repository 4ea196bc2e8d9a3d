/* Engine client latency: median of envmgr_engine_ping and of one exec round trip (exec create +
 * attached start + exit code) over N iterations, against the engine at $DOCKER_HOST or the default
 * socket. Needs the test image envtest-test-busybox:latest (built by test_engine_docker) or builds
 * it from tests/images/busybox with /bin/busybox.
 *   usage: engine_bench [iterations=100] [source-dir]
 * Prints: "ping median X.XXX ms", "container inspect median ...", "exec median X.XXX ms" (plus
 * min and p90). An exec round trip is exec create + attached start (the engine runs the process:
 * most of the time) + exec inspect. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <envmgr/engine.h>

#define BENCH_IMAGE "envtest-test-busybox:latest"

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void report(const char *what, double *samples, int n)
{
    qsort(samples, (size_t)n, sizeof(double), cmp_double);
    double median = n % 2 ? samples[n / 2] : (samples[n / 2 - 1] + samples[n / 2]) / 2;
    printf("%s median %.3f ms (min %.3f, p90 %.3f, n=%d)\n", what, median / 1000, samples[0] / 1000,
           samples[(n * 9) / 10] / 1000, n);
}

static int copy_file(const char *from, const char *to, envmgr_error_t *err)
{
    envmgr_cleanup_free char *data = NULL;
    size_t len = 0;
    if (envmgr_read_file(from, &data, &len, err) < 0 || envmgr_write_file(to, data, len, err) < 0)
        return -1;
    return chmod(to, 0755) < 0 ? envmgr_error_errno(err, errno, "chmod %s", to) : 0;
}

static int ensure_image(envmgr_engine_t *e, const char *source_dir, envmgr_error_t *err)
{
    envmgr_cleanup_json json_t *info = NULL;
    if (envmgr_engine_image_inspect(e, BENCH_IMAGE, &info, err) == 0)
        return 0;
    char dir[] = "/tmp/engine-bench-XXXXXX";
    if (!mkdtemp(dir))
        return envmgr_error_errno(err, errno, "mkdtemp");
    envmgr_cleanup_free char *df_src =
        envmgr_xasprintf("%s/tests/images/busybox/Dockerfile", source_dir);
    envmgr_cleanup_free char *df = envmgr_xasprintf("%s/Dockerfile", dir);
    envmgr_cleanup_free char *bb = envmgr_xasprintf("%s/busybox", dir);
    int r = copy_file(df_src, df, err);
    if (r == 0)
        r = copy_file("/bin/busybox", bb, err);
    if (r == 0) {
        envmgr_build_options_t opts = {.context_dir = dir, .tag = BENCH_IMAGE};
        r = envmgr_engine_image_build(e, &opts, NULL, NULL, err);
    }
    unlink(df);
    unlink(bb);
    rmdir(dir);
    return r;
}

static int bench_exec(envmgr_engine_t *e, int n, double *samples, envmgr_error_t *err)
{
    envmgr_cleanup_free char *name = envmgr_xasprintf("envtest-engine-bench-%d", (int)getpid());
    envmgr_cleanup_json json_t *config =
        json_pack("{s:s, s:[s,s], s:{s:s}}", "Image", BENCH_IMAGE, "Cmd", "sleep", "3600", "Labels",
                  "io.envtest.bench", "engine");
    envmgr_cleanup_free char *id = NULL;
    if (envmgr_engine_container_create(e, name, config, &id, err) < 0)
        return -1;
    int r = envmgr_engine_container_start(e, id, err);
    /* a plain JSON round trip on the same container, for comparison with exec */
    for (int i = 0; r == 0 && i < n; i++) {
        envmgr_cleanup_json json_t *info = NULL;
        double t0 = now_us();
        r = envmgr_engine_container_inspect(e, id, &info, err);
        samples[i] = now_us() - t0;
    }
    if (r == 0)
        report("container inspect", samples, n);
    const char *argv[] = {"true", NULL};
    for (int i = 0; r == 0 && i < n; i++) {
        int code = -1;
        double t0 = now_us();
        r = envmgr_engine_exec(e, id, argv, NULL, 10000, NULL, NULL, &code, err);
        samples[i] = now_us() - t0;
        if (r == 0 && code != 0)
            r = envmgr_error_set(err, ENVMGR_E_ENV, 0, "exec true exited %d", code);
    }
    envmgr_error_t ignored = {0};
    envmgr_engine_container_remove(e, id, true, true, &ignored);
    return r;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 100;
    const char *source_dir = argc > 2 ? argv[2] : ENVTEST_SOURCE_DIR_DEFAULT;
    if (n < 1)
        n = 100;
    envmgr_error_t err = {0};
    envmgr_engine_t *e = NULL;
    if (envmgr_engine_open(NULL, &e, &err) < 0) {
        fprintf(stderr, "engine_bench: %s\n%s\n", err.message, err.hint);
        return 3;
    }
    printf("engine %s, API %s\n", envmgr_engine_host(e), envmgr_engine_api_version(e));
    double *samples = envmgr_xcalloc((size_t)n, sizeof(double));
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        double t0 = now_us();
        rc = envmgr_engine_ping(e, &err);
        samples[i] = now_us() - t0;
    }
    if (rc == 0)
        report("ping", samples, n);
    if (rc == 0)
        rc = ensure_image(e, source_dir, &err);
    if (rc == 0)
        rc = bench_exec(e, n, samples, &err);
    if (rc == 0)
        report("exec", samples, n);
    if (rc < 0)
        fprintf(stderr, "engine_bench: %s\n", err.message);
    free(samples);
    envmgr_engine_close(e);
    return rc < 0 ? 3 : 0;
}
