/* Shared fixtures of the compose tests (see test_compose_lib.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h> /* after setjmp.h, stdarg.h, stddef.h */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <envmgr/compose.h>
#include <envmgr/log.h>
#define COMPOSE_TEST_LIB_IMPLEMENTATION
#include "test_compose_lib.h"

/* ---- fixtures: a fresh temporary directory as cwd, captured warnings ------------------------- */

char compose_test_tmpdir[256];
static char saved_cwd[4096];
static envmgr_buf_t warnings = ENVMGR_BUF_INIT;

static void capture_log(void *userdata, enum envmgr_log_level level, const char *message)
{
    if (level == ENVMGR_LOG_WARN) {
        envmgr_buf_adds(&warnings, message);
        envmgr_buf_adds(&warnings, "\n");
    }
}

const char *compose_test_warnings(void)
{
    return warnings.data ? warnings.data : "";
}

int compose_test_setup(void **state)
{
    snprintf(compose_test_tmpdir, sizeof(compose_test_tmpdir), "/tmp/envtest-compose-XXXXXX");
    if (!mkdtemp(compose_test_tmpdir) || !getcwd(saved_cwd, sizeof(saved_cwd)) ||
        chdir(compose_test_tmpdir) != 0)
        return -1;
    envmgr_buf_reset(&warnings);
    envmgr_log_set_handler(capture_log, NULL);
    unsetenv("ENVTEST_PROJECT");
    return 0;
}

int compose_test_teardown(void **state)
{
    char cmd[512];
    envmgr_log_set_handler(NULL, NULL);
    envmgr_buf_free(&warnings);
    if (chdir(saved_cwd) != 0)
        return -1;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", compose_test_tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

void compose_test_write_file(const char *name, const char *content)
{
    FILE *f = fopen(name, "w");
    assert_non_null(f);
    fputs(content, f);
    fclose(f);
}

envmgr_project_t *compose_test_load(const char *yaml, const envmgr_compose_options_t *opts)
{
    envmgr_error_t err = {0};
    envmgr_project_t *p = NULL;
    int r = envmgr_compose_load_string(yaml, strlen(yaml), "compose.yaml", opts, &p, &err);
    if (r < 0)
        fail_msg("unexpected error: %s", err.message);
    assert_non_null(p);
    return p;
}

/* Loads yaml that must fail; returns the message (static). */
const char *compose_test_load_error(const char *yaml)
{
    static envmgr_error_t err;
    envmgr_project_t *p = NULL;
    memset(&err, 0, sizeof(err));
    int r = envmgr_compose_load_string(yaml, strlen(yaml), "compose.yaml", NULL, &p, &err);
    assert_int_equal(r, -1);
    assert_null(p);
    assert_int_equal(err.kind, ENVMGR_E_CONFIG);
    return err.message;
}

const envmgr_service_t *compose_test_service(const envmgr_project_t *p, const char *name)
{
    const envmgr_service_t *s = envmgr_project_service(p, name);
    if (!s)
        fail_msg("no service %s", name);
    return s;
}

const char *compose_test_value(const envmgr_kvlist_t *l, const char *key)
{
    const envmgr_kv_t *kv = envmgr_kvlist_find(l, key);
    if (!kv)
        fail_msg("no key %s", key);
    return kv->value;
}
