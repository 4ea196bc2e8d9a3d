/* project: names, dependency plans, the Engine's container-create body and config hashes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "project.h"
#include <envmgr/util.h>

static const char yaml[] = "name: demo\n"
                           "services:\n"
                           "  web:\n"
                           "    image: busybox:1\n"
                           "    command: [httpd, -f]\n"
                           "    environment: {A: '1', B: two}\n"
                           "    ports: ['8080', '127.0.0.1:9000:90']\n"
                           "    volumes: ['data:/data', '/srv']\n"
                           "    tmpfs: [/run]\n"
                           "    labels: {team: seoul}\n"
                           "    depends_on:\n"
                           "      db: {condition: service_healthy}\n"
                           "  db:\n"
                           "    image: mysql:8.4\n"
                           "    healthcheck: {test: [CMD, ping], interval: 2s}\n"
                           "  tool:\n"
                           "    build: ./tool\n"
                           "    depends_on: [web]\n"
                           "  lonely:\n"
                           "    image: busybox:1\n"
                           "volumes:\n"
                           "  data: {}\n";

static envmgr_project_t *load(const char *text)
{
    envmgr_project_t *p = NULL;
    envmgr_error_t err = {0};
    if (envmgr_compose_load_string(text, strlen(text), "/tmp/demo/compose.yaml", NULL, &p, &err) <
        0)
        fail_msg("load: %s", err.message);
    return p;
}

static const char *name_at(const envmgr_project_t *p, const size_t *order, size_t i)
{
    return p->services[order[i]].name;
}

static void test_names(void **state)
{
    (void)state;
    char *s = envmgr_project_container_name("seoul", "mock-llm");
    assert_string_equal(s, "seoul-mock-llm-1");
    free(s);
    s = envmgr_project_network_name("seoul");
    assert_string_equal(s, "seoul_default");
    free(s);
    s = envmgr_project_env_stem("mock-llm.v2");
    assert_string_equal(s, "MOCK_LLM_V2");
    free(s);
    s = envmgr_project_label_filter("seoul");
    assert_string_equal(s, "io.envtest.project=seoul");
    free(s);
}

static void test_plan_orders_dependencies_first(void **state)
{
    (void)state;
    envmgr_project_t *p = load(yaml);
    size_t *order = NULL, n = 0;
    envmgr_error_t err = {0};
    assert_int_equal(envmgr_project_plan(p, NULL, &order, &n, &err), 0);
    assert_int_equal(n, 4);
    assert_string_equal(name_at(p, order, 0), "db");
    assert_string_equal(name_at(p, order, 1), "web");
    assert_string_equal(name_at(p, order, 2), "tool");
    assert_string_equal(name_at(p, order, 3), "lonely");
    free(order);

    /* a subset brings its dependencies, nothing else */
    const char *only[] = {"tool", NULL};
    assert_int_equal(envmgr_project_plan(p, only, &order, &n, &err), 0);
    assert_int_equal(n, 3);
    assert_string_equal(name_at(p, order, 2), "tool");
    free(order);

    const char *unknown[] = {"nope", NULL};
    assert_int_equal(envmgr_project_plan(p, unknown, &order, &n, &err), -1);
    assert_int_equal(err.kind, ENVMGR_E_USAGE);
    assert_non_null(strstr(err.message, "no such service: 'nope'"));
    envmgr_project_free(p);
}

static void test_container_config(void **state)
{
    (void)state;
    envmgr_project_t *p = load(yaml);
    const envmgr_service_t *web = envmgr_project_service(p, "web");
    json_t *c = envmgr_project_container_config(p, web, "busybox:1", "abc123");
    assert_string_equal(json_string_value(json_object_get(c, "Image")), "busybox:1");
    json_t *labels = json_object_get(c, "Labels");
    assert_string_equal(json_string_value(json_object_get(labels, "io.envtest.project")), "demo");
    assert_string_equal(json_string_value(json_object_get(labels, "io.envtest.service")), "web");
    assert_string_equal(json_string_value(json_object_get(labels, "io.envtest.config-hash")),
                        "abc123");
    assert_string_equal(json_string_value(json_object_get(labels, "team")), "seoul");
    json_t *env = json_object_get(c, "Env");
    assert_int_equal(json_array_size(env), 2);
    assert_string_equal(json_string_value(json_array_get(env, 0)), "A=1");
    json_t *cmd = json_object_get(c, "Cmd");
    assert_string_equal(json_string_value(json_array_get(cmd, 1)), "-f");

    json_t *host = json_object_get(c, "HostConfig");
    json_t *b8080 =
        json_array_get(json_object_get(json_object_get(host, "PortBindings"), "8080/tcp"), 0);
    assert_string_equal(json_string_value(json_object_get(b8080, "HostIp")), "127.0.0.1");
    assert_string_equal(json_string_value(json_object_get(b8080, "HostPort")), "");
    json_t *b90 =
        json_array_get(json_object_get(json_object_get(host, "PortBindings"), "90/tcp"), 0);
    assert_string_equal(json_string_value(json_object_get(b90, "HostPort")), "9000");
    assert_string_equal(json_string_value(json_object_get(host, "NetworkMode")), "demo_default");

    json_t *mounts = json_object_get(host, "Mounts");
    assert_int_equal(json_array_size(mounts), 3);
    json_t *named = json_array_get(mounts, 0);
    assert_string_equal(json_string_value(json_object_get(named, "Type")), "volume");
    assert_string_equal(json_string_value(json_object_get(named, "Source")), "demo_data");
    json_t *anonymous = json_array_get(mounts, 1);
    assert_null(json_object_get(anonymous, "Source"));
    assert_string_equal(json_string_value(json_object_get(json_array_get(mounts, 2), "Type")),
                        "tmpfs");

    json_t *aliases = json_object_get(
        json_object_get(json_object_get(json_object_get(c, "NetworkingConfig"), "EndpointsConfig"),
                        "demo_default"),
        "Aliases");
    assert_string_equal(json_string_value(json_array_get(aliases, 0)), "web");
    json_decref(c);

    const envmgr_service_t *db = envmgr_project_service(p, "db");
    c = envmgr_project_container_config(p, db, "mysql:8.4", "h");
    json_t *hc = json_object_get(c, "Healthcheck");
    assert_string_equal(json_string_value(json_array_get(json_object_get(hc, "Test"), 0)), "CMD");
    assert_int_equal(json_integer_value(json_object_get(hc, "Interval")), 2000000000LL);
    json_decref(c);
    envmgr_project_free(p);
}

static void test_image_names(void **state)
{
    (void)state;
    envmgr_project_t *p = load(yaml);
    char *img = envmgr_service_image(p, envmgr_project_service(p, "tool"));
    assert_string_equal(img, "demo-tool:latest");
    free(img);
    img = envmgr_service_image(p, envmgr_project_service(p, "db"));
    assert_string_equal(img, "mysql:8.4");
    free(img);
    envmgr_project_free(p);
}

static void test_config_hash_tracks_config_and_image(void **state)
{
    (void)state;
    envmgr_project_t *p = load(yaml);
    const envmgr_service_t *web = envmgr_project_service(p, "web");
    char a[65], b[65], c[65];
    envmgr_project_config_hash(web, "sha256:1", a);
    envmgr_project_config_hash(web, "sha256:1", b);
    assert_string_equal(a, b);
    envmgr_project_config_hash(web, "sha256:2", c);
    assert_string_not_equal(a, c);
    envmgr_project_free(p);

    char *changed = envmgr_xstrdup(yaml);
    char *two = strstr(changed, "B: two");
    memcpy(two, "B: 2  ", 6);
    p = load(changed);
    envmgr_project_config_hash(envmgr_project_service(p, "web"), "sha256:1", c);
    assert_string_not_equal(a, c);
    /* db is untouched by web's change */
    envmgr_project_t *orig = load(yaml);
    envmgr_project_config_hash(envmgr_project_service(orig, "db"), "x", a);
    envmgr_project_config_hash(envmgr_project_service(p, "db"), "x", b);
    assert_string_equal(a, b);
    envmgr_project_free(orig);
    envmgr_project_free(p);
    free(changed);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_plan_orders_dependencies_first),
        cmocka_unit_test(test_container_config),
        cmocka_unit_test(test_image_names),
        cmocka_unit_test(test_config_hash_tracks_config_and_image),
    };
    return cmocka_run_group_tests_name("project", tests, NULL, NULL);
}
