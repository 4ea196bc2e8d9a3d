/* Shared helpers for docker-labelled tests: run the envtest binary, build the busybox test context,
 * count what a project left in the engine. */
#ifndef ENVTEST_TESTS_DOCKER_UTIL_H
#define ENVTEST_TESTS_DOCKER_UTIL_H

#include <stdbool.h>

#include <envmgr/engine.h>

typedef struct test_run {
    int exit_code; /* or 128+signal */
    char *out;
    char *err;
} test_run_t;

/* Runs build/cmd/envtest with argv (NULL-terminated, without argv[0]) and extra "K=V" environment
 * entries (NULL-terminated, may be NULL). Captures stdout and stderr. */
void test_envtest(test_run_t *run, const char *const *args, const char *const *env);
/* Starts envtest in the background; returns its pid; output goes to files out_path/err_path. */
int test_envtest_spawn(const char *const *args, const char *const *env, const char *out_path,
                       const char *err_path);
void test_run_free(test_run_t *run);

/* The engine, or NULL (and a skip/failure decision made by the caller) when unreachable. */
envmgr_engine_t *test_engine_or_skip(void);
/* Containers + networks + volumes labelled io.envtest.project=project. */
int test_project_leftovers(envmgr_engine_t *engine, const char *project);
/* A temp dir holding Dockerfile + a static busybox (from /bin/busybox); malloc'ed path. */
char *test_busybox_context(void);
/* The MySQL image the tests use ($ENVTEST_MYSQL_IMAGE, else envtest/mysql-offline:10.11). */
const char *test_mysql_image(void);
char *test_source_path(const char *relative);
void test_rm_rf(const char *path);

#endif
