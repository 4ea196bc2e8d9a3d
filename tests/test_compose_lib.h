/* Shared fixtures of the compose tests: each test runs in a fresh temporary directory (its cwd),
 * with warnings captured from envmgr_log. */
#ifndef ENVTEST_TEST_COMPOSE_LIB_H
#define ENVTEST_TEST_COMPOSE_LIB_H

#include <envmgr/compose.h>

extern char compose_test_tmpdir[256];
int compose_test_setup(void **state);
int compose_test_teardown(void **state);
/* Warnings logged since setup, one per line ("" when none). */
const char *compose_test_warnings(void);
void compose_test_write_file(const char *name, const char *content);
/* Loads yaml as "compose.yaml" in the temporary directory; fails the test on an error. */
envmgr_project_t *compose_test_load(const char *yaml, const envmgr_compose_options_t *opts);
/* Loads yaml that must fail with ENVMGR_E_CONFIG; returns the message (static buffer). */
const char *compose_test_load_error(const char *yaml);
const envmgr_service_t *compose_test_service(const envmgr_project_t *p, const char *name);
/* The value of key (which must exist) in l. */
const char *compose_test_value(const envmgr_kvlist_t *l, const char *key);

/* Short names for the test files. */
#ifndef COMPOSE_TEST_LIB_IMPLEMENTATION
#define tmpdir compose_test_tmpdir
#define setup compose_test_setup
#define teardown compose_test_teardown
#define warned compose_test_warnings
#define write_file compose_test_write_file
#define load_opts compose_test_load
#define load(yaml) compose_test_load((yaml), NULL)
#define load_error compose_test_load_error
#define svc compose_test_service
#define env_of compose_test_value
#endif

#endif
