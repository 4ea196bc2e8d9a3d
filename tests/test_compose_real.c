/* Real services instead of mocks in the Compose model: x-envtest.real, ENVTEST_REAL_<SERVICE> and
 * the caller's --real (later ones winning, "" back to the mock), ${ENVTEST_URL_<SERVICE>} for the
 * file, errors naming the source; and credential-named variables masked by `config`. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "test_compose_lib.h"

static const char yaml[] =
    "x-envtest:\n"
    "  real: {mock-llm: \"http://${LLM_HOST:-llm.example}:8080/v1\"}\n"
    "services:\n"
    "  mock-llm: {image: busybox}\n"
    "  mock-vector: {image: busybox}\n"
    "  api:\n"
    "    image: busybox\n"
    "    environment:\n"
    "      OPENAI_BASE_URL: ${ENVTEST_URL_MOCK_LLM:-http://mock-llm:8080/v1}\n"
    "      QDRANT_URL: ${ENVTEST_URL_MOCK_VECTOR:-http://mock-vector:6333}\n"
    "      OPENAI_API_KEY: ${TEST_REAL_API_KEY:-envtest}\n"
    "    depends_on: [mock-llm, mock-vector]\n";

static void test_sources_and_interpolation(void **state)
{
    (void)state;
    unsetenv("ENVTEST_REAL_MOCK_LLM");
    unsetenv("ENVTEST_REAL_MOCK_VECTOR");
    setenv("ENVTEST_URL_MOCK_LLM", "http://from-the-environment/v1", 1); /* envtest's wins */
    envmgr_project_t *p = load(yaml);
    assert_string_equal(envmgr_project_real_url(p, "mock-llm"), "http://llm.example:8080/v1");
    assert_null(envmgr_project_real_url(p, "mock-vector"));
    const envmgr_service_t *api = svc(p, "api");
    assert_string_equal(env_of(&api->environment, "OPENAI_BASE_URL"), "http://llm.example:8080/v1");
    assert_string_equal(env_of(&api->environment, "QDRANT_URL"), "http://mock-vector:6333");
    envmgr_project_free(p);
    unsetenv("ENVTEST_URL_MOCK_LLM");

    /* the environment over the file; "" is the mock again */
    setenv("ENVTEST_REAL_MOCK_LLM", "", 1);
    setenv("ENVTEST_REAL_MOCK_VECTOR", "https://qdrant.example", 1);
    p = load(yaml);
    assert_null(envmgr_project_real_url(p, "mock-llm"));
    assert_string_equal(env_of(&svc(p, "api")->environment, "QDRANT_URL"),
                        "https://qdrant.example");
    envmgr_project_free(p);

    /* --real over both */
    envmgr_kvlist_t given = {0};
    envmgr_kvlist_set(&given, "mock-llm", "http://cli.example/v1");
    envmgr_kvlist_set(&given, "mock-vector", "");
    envmgr_compose_options_t opts = {.real_services = &given};
    p = load_opts(yaml, &opts);
    assert_string_equal(envmgr_project_real_url(p, "mock-llm"), "http://cli.example/v1");
    assert_null(envmgr_project_real_url(p, "mock-vector"));
    assert_string_equal(env_of(&svc(p, "api")->environment, "OPENAI_BASE_URL"),
                        "http://cli.example/v1");
    json_t *j = envmgr_project_to_json(p, true);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(j, "real_services"), "mock-llm")),
        "http://cli.example/v1");
    json_decref(j);
    envmgr_project_free(p);
    envmgr_kvlist_free(&given);
    unsetenv("ENVTEST_REAL_MOCK_LLM");
    unsetenv("ENVTEST_REAL_MOCK_VECTOR");
}

/* compose/compose.yaml's sca-api: its LLM timeout is 3 s against mock-llm, 30 s when mock-llm is a
 * real LLM (--real), and ENVTEST_SCA_LLM_TIMEOUT_MS over both. */
static void test_seoul_llm_timeout(void **state)
{
    (void)state;
    const char *src = getenv("ENVTEST_SOURCE_DIR");
    if (!src)
        skip();
    envmgr_cleanup_free char *file = envmgr_xasprintf("%s/compose/compose.yaml", src);
    unsetenv("ENVTEST_REAL_MOCK_LLM");
    unsetenv("ENVTEST_SCA_LLM_TIMEOUT_MS");
    envmgr_kvlist_t given = {0};
    envmgr_compose_options_t opts = {.real_services = &given};
    struct {
        const char *real, *override, *want;
    } cases[] = {
        {NULL, NULL, "3000"},
        {"https://api.openai.com/v1", NULL, "30000"},
        {NULL, "5000", "5000"},
        {"https://api.openai.com/v1", "5000", "5000"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        envmgr_kvlist_free(&given);
        if (cases[i].real)
            envmgr_kvlist_set(&given, "mock-llm", cases[i].real);
        if (cases[i].override)
            setenv("ENVTEST_SCA_LLM_TIMEOUT_MS", cases[i].override, 1);
        else
            unsetenv("ENVTEST_SCA_LLM_TIMEOUT_MS");
        envmgr_project_t *p = NULL;
        envmgr_error_t err = {0};
        if (envmgr_compose_load(file, &opts, &p, &err) < 0)
            fail_msg("%s: %s", file, err.message);
        const char *got = env_of(&svc(p, "sca-api")->environment, "SCA_LLM_TIMEOUT_MS");
        if (!got || strcmp(got, cases[i].want) != 0)
            fail_msg("case %zu: SCA_LLM_TIMEOUT_MS %s, expected %s", i, got ? got : "(unset)",
                     cases[i].want);
        envmgr_project_free(p);
    }
    envmgr_kvlist_free(&given);
    unsetenv("ENVTEST_SCA_LLM_TIMEOUT_MS");
}

static void test_errors(void **state)
{
    (void)state;
    const char *msg = load_error("x-envtest:\n  real: {nope: http://x}\n"
                                 "services:\n  a: {image: busybox}\n");
    assert_non_null(strstr(msg, "compose.yaml:2:"));
    assert_non_null(strstr(msg, "x-envtest.real.nope"));
    assert_non_null(strstr(msg, "no service 'nope'"));
    msg = load_error("x-envtest:\n  real: {a: ftp://x}\nservices:\n  a: {image: busybox}\n");
    assert_non_null(strstr(msg, "not an http:// or https:// URL"));
    msg = load_error("x-envtest:\n  real: [a]\nservices:\n  a: {image: busybox}\n");
    assert_non_null(strstr(msg, "expected a mapping of service: URL"));

    envmgr_kvlist_t given = {0};
    envmgr_kvlist_set(&given, "a", NULL); /* --real a (no =URL) */
    envmgr_compose_options_t opts = {.real_services = &given};
    envmgr_project_t *p = NULL;
    envmgr_error_t err = {0};
    write_file("compose.yaml", "services:\n  a: {image: busybox}\n");
    assert_int_equal(envmgr_compose_load("compose.yaml", &opts, &p, &err), -1);
    assert_non_null(strstr(err.message, "--real a: expected SERVICE=URL"));
    envmgr_kvlist_free(&given);
}

static void test_credentials_masked(void **state)
{
    (void)state;
    setenv("TEST_REAL_API_KEY", "sk-never-shown-4242", 1);
    envmgr_project_t *p = load(yaml);
    assert_string_equal(env_of(&svc(p, "api")->environment, "OPENAI_API_KEY"),
                        "sk-never-shown-4242");
    json_t *j = envmgr_project_to_json(p, true);
    char *text = json_dumps(j, 0);
    assert_null(strstr(text, "sk-never-shown-4242"));
    free(text);
    json_decref(j);
    envmgr_project_free(p);
    unsetenv("TEST_REAL_API_KEY");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sources_and_interpolation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_seoul_llm_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_credentials_masked, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
