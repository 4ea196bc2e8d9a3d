/* Compose loader, the rest: warnings and errors with their exact file:line:column text,
 * interpolation, project names and secrets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h> /* after setjmp.h, stdarg.h, stddef.h */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_compose_lib.h"
#include <envmgr/compose.h>
#include <envmgr/log.h>

static void test_unknown_key_warning(void **state)
{
    envmgr_project_t *p = load("services:\n"
                               "  x:\n"
                               "    image: x\n"
                               "\n"
                               "    foo: bar\n"
                               "    platform: linux/amd64\n"
                               "    profiles: [debug]\n"
                               "networks:\n"
                               "  default:\n"
                               "  backend:\n"
                               "x-anything: 1\n"
                               "whatever: 2\n");
    assert_string_equal(warned(), "compose.yaml:12: unknown top-level key 'whatever' ignored\n"
                                  "compose.yaml:5: unknown key 'foo' in service 'x' ignored\n");
    assert_int_equal(p->n_services, 0); /* only in profile debug, which is not enabled */
    assert_int_equal(p->n_networks, 2);
    envmgr_project_free(p);
}

static void test_unsupported_keys(void **state)
{
    static const struct {
        const char *yaml, *want;
    } cases[] = {
        {"network_mode: host", "compose.yaml:5:19: services.x.network_mode: 'host' is refused: "
                               "the container would share the host's network"},
        {"network_mode: container:abc", "compose.yaml:5:19: services.x.network_mode: "
                                        "'container:abc' is refused: only none and service:NAME"},
        {"pid: host", "compose.yaml:5:10: services.x.pid: 'host' is refused: the container "
                      "would see and signal processes"},
        {"ipc: host", "compose.yaml:5:10: services.x.ipc: 'host' is refused"},
        {"external_links: [a]", "compose.yaml:5:5: service 'x': 'external_links' is refused: it "
                                "joins the container to something outside its environment"},
        {"userns_mode: host", "compose.yaml:5:5: service 'x': 'userns_mode' is refused"},
        {"volumes_from: [container:abc]",
         "compose.yaml:5:19: services.x.volumes_from: 'container:abc': only services of this "
         "file are supported"},
        {"deploy: {mode: global}", "compose.yaml:5:20: services.x.deploy.mode: mode 'global' is "
                                   "for Swarm"},
        {"deploy: {resources: {reservations: {devices: [{capabilities: [gpu]}]}}}",
         "compose.yaml:5:50: services.x.deploy.resources.reservations.devices: device "
         "reservations (GPUs) are not supported by envtest"},
        {"networks: [nope]", "compose.yaml:2: service 'x' uses network 'nope', which is not "
                             "declared under the top-level networks:"},
        {"secrets: [nope]", "compose.yaml:2: service 'x' uses secret 'nope', which is not "
                            "declared under the top-level secrets:"},
        {"networks: [default]\n    network_mode: none",
         "compose.yaml:2: service 'x': 'network_mode' and 'networks' exclude each other"},
        {"links: [y]", "compose.yaml:5:12: services.x.links: links to unknown service 'y'"},
        {"x-envtest: {wait: {log: '('}}",
         "compose.yaml:5:29: services.x.x-envtest.wait: invalid regular expression '('"},
        {"x-envtest: {wait: {http: /, log: a}}",
         "compose.yaml:5:33: services.x.x-envtest.wait: one strategy per item: both http and "
         "log"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char yaml[512];
        snprintf(yaml, sizeof(yaml), "services:\n  x:\n    image: x\n      \n    %s\n",
                 cases[i].yaml);
        const char *got = load_error(yaml);
        if (strncmp(got, cases[i].want, strlen(cases[i].want)) != 0)
            fail_msg("case %zu: got \"%s\", want a message starting \"%s\"", i, got, cases[i].want);
    }
    assert_string_equal(
        load_error("services:\n  x:\n    image: x\nsecrets:\n  s:\n    external: true\n"),
        "compose.yaml:6:15: secrets.s.external: external secrets live in a Swarm, which envtest "
        "does not use; give the secret with file: or environment:");
    assert_string_equal(
        load_error("services:\n  x:\n    image: x\n    depends_on: [y]\n  y:\n    image: y\n"
                   "    profiles: [debug]\n"),
        "compose.yaml:2: service 'x' depends on (or links to) service 'y', which is only in "
        "profile(s) debug, not enabled");
}

static void test_structure_errors(void **state)
{
    assert_string_equal(load_error("services:\n  bad name:\n    image: x\n"),
                        "compose.yaml:2:3: services.bad name: invalid service name 'bad name': "
                        "use letters, digits, '.', '_' and '-'");
    assert_string_equal(load_error("services:\n  a:\n    image: x\n    image: y\n"),
                        "compose.yaml:4:5: mapping key 'image' is already defined");
    assert_string_equal(load_error("services:\n  a:\n    image: [x]\n"),
                        "compose.yaml:3:12: services.a.image: expected a string, got a list");
    assert_string_equal(load_error("services:\n  a:\n    image: x\n    init: maybe\n"),
                        "compose.yaml:4:11: services.a.init: expected true or false, got 'maybe'");
    assert_string_equal(load_error("services:\n  a: {image: x\n"),
                        "compose.yaml:3:1: YAML syntax error: did not find expected ',' or '}' "
                        "while parsing a flow mapping");
    assert_string_equal(load_error("services:\n  a:\n    image: x\n   bad: y\n"),
                        "compose.yaml:4:4: YAML syntax error: did not find expected key while "
                        "parsing a block mapping");
    assert_string_equal(load_error(""),
                        "compose.yaml: the file is empty; expected a mapping with 'services:'");
    assert_string_equal(load_error("- a\n"), "compose.yaml:1:1: (top level): expected a mapping "
                                             "with 'services:', got a list");
    assert_string_equal(load_error("name: x\n"), "compose.yaml: no 'services:' defined");
    assert_string_equal(load_error("services:\n  a: *nope\n"),
                        "compose.yaml:2:6: unknown alias '*nope'");
    assert_string_equal(load_error("services:\n"),
                        "compose.yaml:1:10: services: expected a mapping of services, got null");
    assert_string_equal(load_error("services: {a: {image: x}}\n---\nservices: {}\n"),
                        "compose.yaml:2:1: a compose file holds one YAML document");
    const char *inc = load_error("include: [other.yaml]\nservices: {a: {image: x}}\n");
    assert_true(strncmp(inc, "compose.yaml:1:11: include[0]: compose file: open ", 50) == 0);
    assert_non_null(strstr(inc, "/other.yaml: No such file or directory"));
    assert_string_equal(load_error("services: {a: {image: x}}\nvolumes: {\"my vol\": {}}\n"),
                        "compose.yaml:2:11: volumes.my vol: invalid volume name: use letters, "
                        "digits, '.', '_' and '-'");
    assert_string_equal(load_error("services:\n  a:\n    image: x\n    labels: {a: [1]}\n"),
                        "compose.yaml:4:17: services.a.labels.a: expected a string, number or "
                        "boolean, got a list");
    assert_string_equal(load_error("services:\n  a:\n    image: x\n    environment: [\"=v\"]\n"),
                        "compose.yaml:4:19: services.a.environment[0]: missing name before '=' "
                        "in '=v'");
    assert_string_equal(load_error("services:\n  a:\n    build: https://github.com/x/y.git\n"),
                        "compose.yaml:3:12: services.a.build: remote build context "
                        "'https://github.com/x/y.git' is not supported: use a directory");
}

static void test_volume_driver_warning(void **state)
{
    envmgr_project_t *p = load("services: {a: {image: x}}\n"
                               "volumes:\n"
                               "  data:\n"
                               "    driver: nfs\n"
                               "    driver_opts: {o: addr}\n");
    assert_string_equal(warned(), "compose.yaml:4: volume 'data': driver 'nfs' ignored: envtest "
                                  "uses the local driver\n"
                                  "compose.yaml:5: unknown key 'driver_opts' in volume 'data' "
                                  "ignored\n");
    envmgr_project_free(p);
}

/* ---- interpolation -------------------------------------------------------------------------- */

static const char *table_lookup(void *userdata, const char *name)
{
    static const char *const vars[][2] = {
        {"SET", "value"}, {"EMPTY", ""}, {"B", "bee"}, {"PORT", "3306"}, {"_U1", "u"},
    };
    for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
        if (!strcmp(vars[i][0], name))
            return vars[i][1];
    return NULL;
}

static void test_interpolate_table(void **state)
{
    static const char *const cases[][2] = {
        {"plain", "plain"},
        {"${SET}", "value"},
        {"$SET", "value"},
        {"$SET-suffix", "value-suffix"},
        {"pre${SET}post", "prevaluepost"},
        {"${_U1}", "u"},
        {"$$", "$"},
        {"$${SET}", "${SET}"},
        {"a $ b", "a $ b"},
        {"cost: 5$", "cost: 5$"},
        {"${UNSET:-def}", "def"},
        {"${EMPTY:-def}", "def"},
        {"${SET:-def}", "value"},
        {"${UNSET-def}", "def"},
        {"${EMPTY-def}", ""},
        {"${SET:?must}", "value"},
        {"${EMPTY?must}", ""},
        {"${SET:+alt}", "alt"},
        {"${EMPTY:+alt}", ""},
        {"${EMPTY+alt}", "alt"},
        {"${UNSET+alt}", ""},
        {"${UNSET:-${B}}", "bee"},
        {"${UNSET:-${ALSO_UNSET:-deep}}", "deep"},
        {"${UNSET:-a:b-c}", "a:b-c"},
        {"mysql://${SET}@h:${PORT:-1}/db", "mysql://value@h:3306/db"},
        {"${UNSET:-$$}", "$"},
        {"${UNSET}", ""},
        {"$UNSET", ""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        envmgr_error_t err = {0};
        char *out = NULL;
        if (envmgr_compose_interpolate(cases[i][0], table_lookup, NULL, &out, &err) < 0)
            fail_msg("%s: %s", cases[i][0], err.message);
        assert_string_equal(out, cases[i][1]);
        free(out);
    }
    assert_string_equal(warned(), "variable UNSET is not set, defaulting to blank\n"
                                  "variable UNSET is not set, defaulting to blank\n");
}

static void test_interpolate_errors(void **state)
{
    static const char *const cases[][2] = {
        {"${UNSET:?please set it}", "required variable UNSET is missing a value: please set it"},
        {"${EMPTY:?}", "required variable EMPTY is missing a value"},
        {"${UNSET?no ${B}}", "required variable UNSET is missing a value: no bee"},
        {"${}", "invalid interpolation format '${}': expected ${NAME}, ${NAME:-default}, "
                "${NAME-default}, ${NAME:?error}, ${NAME?error}, ${NAME:+alternative} or "
                "${NAME+alternative} (write $$ for a literal $)"},
        {"${1A}", "invalid interpolation format '${1A}': expected ${NAME}, ${NAME:-default}, "
                  "${NAME-default}, ${NAME:?error}, ${NAME?error}, ${NAME:+alternative} or "
                  "${NAME+alternative} (write $$ for a literal $)"},
        {"${A B}", "invalid interpolation format '${A B}': expected ${NAME}, ${NAME:-default}, "
                   "${NAME-default}, ${NAME:?error}, ${NAME?error}, ${NAME:+alternative} or "
                   "${NAME+alternative} (write $$ for a literal $)"},
        {"x ${SET", "invalid interpolation format '${SET': missing '}'"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        envmgr_error_t err = {0};
        char *out = NULL;
        assert_int_equal(envmgr_compose_interpolate(cases[i][0], table_lookup, NULL, &out, &err),
                         -1);
        assert_null(out);
        assert_string_equal(err.message, cases[i][1]);
    }
}

static void test_interpolate_in_file(void **state)
{
    setenv("ENVTEST_T_IMAGE", "mariadb:10.11", 1);
    setenv("ENVTEST_T_BOTH", "from-environment", 1);
    unsetenv("ENVTEST_T_UNSET");
    write_file(".env", "ENVTEST_T_BOTH=from-dotenv\nENVTEST_T_DOTENV_ONLY=dotenv\n"
                       "ENVTEST_T_EXTRA=dotenv-over-extra\n"
                       "ENVTEST_T_DERIVED=${ENVTEST_T_DOTENV_ONLY}+${ENVTEST_T_BOTH}\n");
    envmgr_kvlist_t extra = {0};
    envmgr_kvlist_set(&extra, "ENVTEST_T_EXTRA", "extra");
    envmgr_kvlist_set(&extra, "ENVTEST_T_EXTRA_ONLY", "extra-only");
    envmgr_compose_options_t opts = {.extra_vars = &extra};
    envmgr_project_t *p = load_opts("services:\n"
                                    "  db:\n"
                                    "    image: ${ENVTEST_T_IMAGE:-mysql:8.4}\n"
                                    "    environment:\n"
                                    "      BOTH: $ENVTEST_T_BOTH\n"
                                    "      DOTENV: ${ENVTEST_T_DOTENV_ONLY}\n"
                                    "      EXTRA: ${ENVTEST_T_EXTRA}\n"
                                    "      EXTRA_ONLY: ${ENVTEST_T_EXTRA_ONLY}\n"
                                    "      DERIVED: ${ENVTEST_T_DERIVED}\n"
                                    "      BLANK: \"[${ENVTEST_T_UNSET}]\"\n"
                                    "      DOLLAR: \"pa$$word\"\n"
                                    "      ${NOT_A_KEY}: keys are not interpolated\n"
                                    "    ports: [\"${ENVTEST_T_PORT:-13306}:3306\"]\n",
                                    &opts);
    const envmgr_service_t *db = svc(p, "db");
    assert_string_equal(db->image, "mariadb:10.11");
    assert_string_equal(env_of(&db->environment, "BOTH"), "from-environment");
    assert_string_equal(env_of(&db->environment, "DOTENV"), "dotenv");
    assert_string_equal(env_of(&db->environment, "EXTRA"), "dotenv-over-extra");
    assert_string_equal(env_of(&db->environment, "EXTRA_ONLY"), "extra-only");
    /* .env values are interpolated: earlier .env entries first, then the process environment */
    assert_string_equal(env_of(&db->environment, "DERIVED"), "dotenv+from-dotenv");
    assert_string_equal(env_of(&db->environment, "BLANK"), "[]");
    assert_string_equal(env_of(&db->environment, "DOLLAR"), "pa$word");
    assert_string_equal(env_of(&db->environment, "${NOT_A_KEY}"), "keys are not interpolated");
    assert_int_equal(db->ports[0].host_port, 13306);
    assert_string_equal(
        warned(), "compose.yaml:10: variable ENVTEST_T_UNSET is not set, defaulting to blank\n");
    envmgr_project_free(p);

    envmgr_compose_options_t raw = {.no_interpolate = true};
    p = load_opts("services:\n  a:\n    image: ${X:-y}\n", &raw);
    assert_string_equal(svc(p, "a")->image, "${X:-y}");
    envmgr_project_free(p);

    assert_string_equal(
        load_error("services:\n  db:\n    image: x\n    environment:\n"
                   "      PASSWORD: ${ENVTEST_T_UNSET:?set ENVTEST_T_UNSET first}\n"),
        "compose.yaml:5:17: services.db.environment.PASSWORD: required variable "
        "ENVTEST_T_UNSET is missing a value: set ENVTEST_T_UNSET first");
    assert_string_equal(load_error("services:\n  db:\n    image: \"${oops\"\n"),
                        "compose.yaml:3:12: services.db.image: invalid interpolation format "
                        "'${oops': missing '}'");
    write_file(".env", "OK=1\nENVTEST_T_NEED=${ENVTEST_T_UNSET:?needed by the tests}\n");
    envmgr_cleanup_free char *need =
        envmgr_xasprintf("%s/.env:2: ENVTEST_T_NEED: required variable "
                         "ENVTEST_T_UNSET is missing a value: needed by the tests",
                         tmpdir);
    assert_string_equal(load_error("services: {a: {image: x}}\n"), need);
    envmgr_kvlist_free(&extra);
    unsetenv("ENVTEST_T_IMAGE");
    unsetenv("ENVTEST_T_BOTH");
}

/* ---- project name ------------------------------------------------------------------------- */

static void test_project_name(void **state)
{
    const char *yaml = "name: From-File\nservices: {a: {image: x}}\n";
    envmgr_compose_options_t opts = {.project_name = "Cli.Name_1"};
    envmgr_project_t *p = load_opts(yaml, &opts);
    assert_string_equal(p->name, "cliname_1");
    envmgr_project_free(p);
    setenv("ENVTEST_PROJECT", "FromEnv", 1);
    p = load(yaml);
    assert_string_equal(p->name, "fromenv");
    envmgr_project_free(p);
    unsetenv("ENVTEST_PROJECT");
    p = load(yaml);
    assert_string_equal(p->name, "from-file");
    envmgr_project_free(p);
    p = load("services: {a: {image: x}}\n");
    char *base = strrchr(tmpdir, '/') + 1;
    envmgr_cleanup_free char *want = envmgr_compose_normalize_project_name(base);
    assert_string_equal(p->name, want);
    assert_string_equal(p->dir, tmpdir);
    envmgr_cleanup_free char *file = envmgr_xasprintf("%s/compose.yaml", tmpdir);
    assert_string_equal(p->file, file);
    envmgr_project_free(p);
    envmgr_cleanup_free char *n1 = envmgr_compose_normalize_project_name("__My Project!");
    assert_string_equal(n1, "myproject");
    assert_null(envmgr_compose_normalize_project_name("!!!"));
}

/* ---- secrets ----------------------------------------------------------------------------------
 */

static char *secret_cb(void *userdata, const char *name)
{
    int *calls = userdata;
    (*calls)++;
    if (!strcmp(name, "ENVTEST_T_DB_PASSWORD"))
        return envmgr_xstrdup("s3cr3t-from-callback");
    return NULL; /* generate */
}

static void test_secrets(void **state)
{
    unsetenv("ENVTEST_T_DB_PASSWORD");
    unsetenv("ENVTEST_T_TOKEN");
    setenv("ENVTEST_T_PRESET", "preset-value", 1);
    int calls = 0;
    envmgr_compose_options_t opts = {.secret_cb = secret_cb, .secret_userdata = &calls};
    envmgr_project_t *p =
        load_opts("x-envtest:\n"
                  "  secrets: [ENVTEST_T_DB_PASSWORD, ENVTEST_T_TOKEN, ENVTEST_T_PRESET]\n"
                  "services:\n"
                  "  db:\n"
                  "    image: x\n"
                  "    environment:\n"
                  "      MYSQL_PASSWORD: ${ENVTEST_T_DB_PASSWORD}\n"
                  "      TOKEN: $ENVTEST_T_TOKEN\n"
                  "      PRESET: ${ENVTEST_T_PRESET}\n"
                  "      URL: mysql://u:${ENVTEST_T_DB_PASSWORD}@db/x\n"
                  "      PUBLIC: visible\n",
                  &opts);
    assert_int_equal(calls, 2); /* not for the preset one */
    assert_int_equal(p->secrets.n, 3);
    assert_string_equal(p->secrets.items[0], "ENVTEST_T_DB_PASSWORD");
    const envmgr_service_t *db = svc(p, "db");
    assert_string_equal(env_of(&db->environment, "MYSQL_PASSWORD"), "s3cr3t-from-callback");
    const char *token = env_of(&db->environment, "TOKEN");
    assert_int_equal(strlen(token), 24);
    assert_int_equal(
        strspn(token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"), 24);
    assert_string_equal(env_of(&p->secret_values, "ENVTEST_T_TOKEN"), token);
    assert_string_equal(env_of(&db->environment, "PRESET"), "preset-value");

    json_t *masked = envmgr_project_to_json(p, true);
    json_t *env =
        json_object_get(json_object_get(json_object_get(masked, "services"), "db"), "environment");
    assert_string_equal(json_string_value(json_object_get(env, "MYSQL_PASSWORD")), "********");
    assert_string_equal(json_string_value(json_object_get(env, "TOKEN")), "********");
    assert_string_equal(json_string_value(json_object_get(env, "PRESET")), "********");
    assert_string_equal(json_string_value(json_object_get(env, "URL")), "mysql://u:********@db/x");
    assert_string_equal(json_string_value(json_object_get(env, "PUBLIC")), "visible");
    char *dump = json_dumps(masked, JSON_SORT_KEYS);
    assert_null(strstr(dump, "s3cr3t"));
    assert_null(strstr(dump, token));
    free(dump);
    json_decref(masked);
    json_t *clear = envmgr_project_to_json(p, false);
    env = json_object_get(json_object_get(json_object_get(clear, "services"), "db"), "environment");
    assert_string_equal(json_string_value(json_object_get(env, "MYSQL_PASSWORD")),
                        "s3cr3t-from-callback");
    json_decref(clear);
    envmgr_project_free(p);

    /* A short secret value is masked where it is the whole value, not inside other strings. */
    setenv("ENVTEST_T_PRESET", "abc", 1);
    p = load("x-envtest: {secrets: [ENVTEST_T_PRESET]}\n"
             "services: {a: {image: abc, environment: {P: $ENVTEST_T_PRESET, Q: abcdef}}}\n");
    masked = envmgr_project_to_json(p, true);
    json_t *a = json_object_get(json_object_get(masked, "services"), "a");
    assert_string_equal(json_string_value(json_object_get(a, "image")), "********");
    env = json_object_get(a, "environment");
    assert_string_equal(json_string_value(json_object_get(env, "P")), "********");
    assert_string_equal(json_string_value(json_object_get(env, "Q")), "abcdef");
    json_decref(masked);
    envmgr_project_free(p);

    /* Without a callback every secret is generated, and differs between loads. */
    p = load("x-envtest: {secrets: [ENVTEST_T_TOKEN]}\nservices: {a: {image: x}}\n");
    envmgr_project_t *q =
        load("x-envtest: {secrets: [ENVTEST_T_TOKEN]}\nservices: {a: {image: x}}\n");
    assert_int_equal(strlen(env_of(&p->secret_values, "ENVTEST_T_TOKEN")), 24);
    assert_string_not_equal(env_of(&p->secret_values, "ENVTEST_T_TOKEN"),
                            env_of(&q->secret_values, "ENVTEST_T_TOKEN"));
    envmgr_project_free(p);
    envmgr_project_free(q);
    unsetenv("ENVTEST_T_PRESET");
    assert_string_equal(
        load_error("x-envtest: {secrets: [\"bad name\"]}\nservices: {a: {image: x}}\n"),
        "compose.yaml:1:23: x-envtest.secrets[0]: expected a variable name "
        "([A-Za-z_][A-Za-z0-9_]*)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_unknown_key_warning, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unsupported_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_structure_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_volume_driver_warning, setup, teardown),
        cmocka_unit_test_setup_teardown(test_interpolate_table, setup, teardown),
        cmocka_unit_test_setup_teardown(test_interpolate_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_interpolate_in_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_project_name, setup, teardown),
        cmocka_unit_test_setup_teardown(test_secrets, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
