/* The CLI as a user meets it, without an engine: every command has --help, README documents every
 * command, usage errors exit 2 with a pointer to --help, an invalid compose file names
 * file:line:column, an unreachable engine exits 3 with what to do. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "docker_util.h"
#include <envmgr/util.h>

/* The command names `envtest --help` lists. */
static envmgr_strv_t listed_commands(void)
{
    envmgr_strv_t names = {0};
    test_run_t run;
    test_envtest(&run, (const char *[]){"--help", NULL}, NULL);
    assert_int_equal(run.exit_code, 0);
    const char *p = strstr(run.out, "Commands:\n");
    assert_non_null(p);
    p += strlen("Commands:\n");
    while (strncmp(p, "  ", 2) == 0) {
        p += 2;
        size_t len = strcspn(p, " ");
        char *name = envmgr_xstrndup(p, len);
        envmgr_strv_push(&names, name);
        free(name);
        p = strchr(p, '\n');
        if (!p)
            break;
        p++;
    }
    test_run_free(&run);
    return names;
}

static void test_every_command_has_help_and_docs(void **state)
{
    (void)state;
    envmgr_strv_t names = listed_commands();
    assert_true(names.n >= 8);
    envmgr_cleanup_free char *readme_path = test_source_path("README.md");
    char *readme = NULL;
    envmgr_error_t err = {0};
    assert_int_equal(envmgr_read_file(readme_path, &readme, NULL, &err), 0);
    for (size_t i = 0; i < names.n; i++) {
        const char *cmd = names.items[i];
        if (strcmp(cmd, "version") != 0) {
            test_run_t run;
            test_envtest(&run, (const char *[]){cmd, "--help", NULL}, NULL);
            if (run.exit_code != 0 || strstr(run.out, "Usage: envtest") == NULL)
                fail_msg("envtest %s --help: exit %d, output: %s", cmd, run.exit_code, run.out);
            test_run_free(&run);
        }
        envmgr_cleanup_free char *mention = envmgr_xasprintf("`envtest %s", cmd);
        if (!strstr(readme, mention))
            fail_msg("README.md does not document `envtest %s`", cmd);
    }
    free(readme);
    envmgr_strv_free(&names);
}

static void test_usage_errors_exit_2(void **state)
{
    (void)state;
    test_run_t run;
    test_envtest(&run, (const char *[]){"frobnicate", NULL}, NULL);
    assert_int_equal(run.exit_code, 2);
    assert_non_null(strstr(run.err, "'frobnicate' is not an envtest command"));
    assert_null(strstr(run.err, "did you mean")); /* nothing close */
    test_run_free(&run);

    /* a typo, and a Compose name, get the command they most likely meant */
    test_envtest(&run, (const char *[]){"stauts", NULL}, NULL);
    assert_int_equal(run.exit_code, 2);
    assert_non_null(strstr(run.err, "hint: did you mean 'envtest status'?"));
    test_run_free(&run);
    test_envtest(&run, (const char *[]){"ps", NULL}, NULL);
    assert_int_equal(run.exit_code, 2);
    assert_non_null(strstr(run.err, "hint: did you mean 'envtest status'?"));
    test_run_free(&run);

    test_envtest(&run, (const char *[]){"up", "--wait-timeout", "soon", NULL}, NULL);
    assert_int_equal(run.exit_code, 2);
    assert_non_null(strstr(run.err, "--wait-timeout: 'soon' is not a positive number"));
    assert_non_null(strstr(run.err, "Try 'envtest up --help'"));
    test_run_free(&run);

    test_envtest(&run, (const char *[]){"env", "--format", "xml", NULL}, NULL);
    assert_int_equal(run.exit_code, 2);
    assert_non_null(strstr(run.err, "'xml' is not one of sh, dotenv, json, github"));
    test_run_free(&run);

    test_envtest(&run, (const char *[]){NULL}, NULL); /* no command at all */
    assert_int_equal(run.exit_code, 2);
    test_run_free(&run);
}

static void test_invalid_compose_file_names_line(void **state)
{
    (void)state;
    char path[] = "/tmp/envtest-cli-XXXXXX.yaml";
    int fd = mkstemps(path, 5);
    assert_true(fd >= 0);
    const char text[] = "services:\n  db:\n    image: mysql:8.4\n    pid: host\n";
    assert_int_equal(write(fd, text, sizeof(text) - 1), (ssize_t)(sizeof(text) - 1));
    close(fd);
    test_run_t run;
    test_envtest(&run, (const char *[]){"-f", path, "config", NULL}, NULL);
    assert_int_equal(run.exit_code, 2);
    envmgr_cleanup_free char *where = envmgr_xasprintf("%s:4:10", path);
    if (!strstr(run.err, where) || !strstr(run.err, "pid"))
        fail_msg("expected %s and 'pid' in: %s", where, run.err);
    test_run_free(&run);
    /* up refuses the same file before touching anything, also with no engine */
    const char *env[] = {"DOCKER_HOST=unix:///tmp/envtest-cli-no-engine.sock", NULL};
    test_envtest(&run, (const char *[]){"-f", path, "up", NULL}, env);
    assert_true(run.exit_code == 2 || run.exit_code == 3);
    test_run_free(&run);
    unlink(path);
}

static void test_unreachable_engine_exit_3(void **state)
{
    (void)state;
    const char *env[] = {"DOCKER_HOST=unix:///tmp/envtest-cli-no-engine.sock", NULL};
    envmgr_cleanup_free char *compose = test_source_path("compose/compose.yaml");
    test_run_t run;
    test_envtest(&run, (const char *[]){"-f", compose, "status", NULL}, env);
    assert_int_equal(run.exit_code, 3);
    assert_non_null(
        strstr(run.err, "cannot reach the Docker engine at /tmp/envtest-cli-no-engine.sock"));
    assert_non_null(strstr(run.err, "hint:"));
    test_run_free(&run);
    test_envtest(&run, (const char *[]){"ls", NULL}, env); /* no Compose file needed, same error */
    assert_int_equal(run.exit_code, 3);
    assert_non_null(
        strstr(run.err, "cannot reach the Docker engine at /tmp/envtest-cli-no-engine.sock"));
    test_run_free(&run);
}

/* Commands that need no archive, no SQL and no history do not load libarchive, the MySQL client or
 * SQLite at all (envmgr/dlib.h): the dynamic loader's own log says what it opened. */
static void test_light_commands_load_no_archive_sql_or_sqlite(void **state)
{
    (void)state;
#if ENVMGR_DLOPEN
    const char *env[] = {"LD_DEBUG=files", NULL};
    envmgr_cleanup_free char *compose = test_source_path("compose/compose.yaml");
    test_run_t run;
    test_envtest(&run, (const char *[]){"-f", compose, "config", NULL}, env);
    assert_int_equal(run.exit_code, 0);
    assert_non_null(strstr(run.err, "libcurl")); /* the log is there */
    assert_null(strstr(run.err, "libarchive.so"));
    assert_null(strstr(run.err, "libmariadb.so"));
    assert_null(strstr(run.err, "libmysqlclient.so"));
    assert_null(strstr(run.err, "libsqlite3.so"));
    assert_null(strstr(run.err, "libxml2.so"));
    test_run_free(&run);
#else
    skip();
#endif
}

static void test_config_masks_generated_secrets(void **state)
{
    (void)state;
    envmgr_cleanup_free char *compose = test_source_path("compose/compose.yaml");
    test_run_t run;
    test_envtest(&run, (const char *[]){"-f", compose, "config", NULL}, NULL);
    assert_int_equal(run.exit_code, 0);
    json_t *j = json_loads(run.out, 0, NULL);
    assert_non_null(j);
    json_t *env =
        json_object_get(json_object_get(json_object_get(j, "services"), "mysql"), "environment");
    assert_string_equal(json_string_value(json_object_get(env, "MYSQL_PASSWORD")), "********");
    assert_string_equal(json_string_value(json_object_get(env, "MYSQL_DATABASE")), "seoul");
    json_t *ports =
        json_object_get(json_object_get(json_object_get(j, "services"), "mysql"), "ports");
    assert_string_equal(json_string_value(json_object_get(json_array_get(ports, 0), "host_ip")),
                        "127.0.0.1");
    json_decref(j);
    test_run_free(&run);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_command_has_help_and_docs),
        cmocka_unit_test(test_usage_errors_exit_2),
        cmocka_unit_test(test_invalid_compose_file_names_line),
        cmocka_unit_test(test_unreachable_engine_exit_3),
        cmocka_unit_test(test_config_masks_generated_secrets),
        cmocka_unit_test(test_light_commands_load_no_archive_sql_or_sqlite),
    };
    return cmocka_run_group_tests_name("cli", tests, NULL, NULL);
}
