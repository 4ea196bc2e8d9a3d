/* envtest up/status/env/down against the real Docker engine and a real MySQL server, as a user runs
 * them: through the envtest binary. Every test asserts that nothing of its project remains. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <mysql.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "docker_util.h"
#include <envmgr/util.h>

static envmgr_engine_t *engine;
static char *busybox_context;
static char *three_yaml, *unhealthy_yaml, *noimage_yaml, *porttaken_yaml;
static char env_context[512], env_image[256];

static int group_setup(void **state)
{
    (void)state;
    engine = test_engine_or_skip();
    if (!engine)
        return getenv("ENVTEST_REQUIRE_DOCKER") ? -1 : 0;
    busybox_context = test_busybox_context();
    snprintf(env_context, sizeof(env_context), "BUSYBOX_CONTEXT=%s", busybox_context);
    snprintf(env_image, sizeof(env_image), "ENVTEST_MYSQL_IMAGE=%s", test_mysql_image());
    three_yaml = test_source_path("tests/compose/lifecycle/three.yaml");
    unhealthy_yaml = test_source_path("tests/compose/lifecycle/unhealthy.yaml");
    noimage_yaml = test_source_path("tests/compose/lifecycle/noimage.yaml");
    porttaken_yaml = test_source_path("tests/compose/lifecycle/porttaken.yaml");
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    /* the images built for the projects of failing and interrupted ups */
    static const char *const projects[] = {"envtest-test-sick", "envtest-test-ctrlc",
                                           "envtest-test-kill9", "envtest-test-porttaken"};
    for (size_t i = 0; engine && i < sizeof(projects) / sizeof(projects[0]); i++) {
        test_run_t run;
        test_envtest(
            &run, (const char *[]){"-p", projects[i], "down", "-v", "--rmi", "local", NULL}, NULL);
        test_run_free(&run);
    }
    if (busybox_context) {
        test_rm_rf(busybox_context);
        free(busybox_context);
    }
    free(three_yaml);
    free(unhealthy_yaml);
    free(noimage_yaml);
    free(porttaken_yaml);
    envmgr_engine_close(engine);
    return 0;
}

#define SKIP_WITHOUT_ENGINE()                                                                      \
    do {                                                                                           \
        if (!engine)                                                                               \
            skip();                                                                                \
    } while (0)

static void down_and_assert_clean(const char *file, const char *project)
{
    test_run_t run;
    const char *args[] = {"-f", file, "-p", project, "down", "-v", "--rmi", "local", NULL};
    const char *env[] = {env_context, env_image, NULL};
    test_envtest(&run, args, env);
    if (run.exit_code != 0)
        fprintf(stderr, "down stderr: %s\n", run.err);
    assert_int_equal(run.exit_code, 0);
    test_run_free(&run);
    assert_int_equal(test_project_leftovers(engine, project), 0);
}

static json_t *run_json(const char *file, const char *project, const char *const *cmd)
{
    const char *args[16] = {"-f", file, "-p", project};
    size_t n = 4;
    for (size_t i = 0; cmd[i] && n < 15; i++)
        args[n++] = cmd[i];
    args[n] = NULL;
    const char *env[] = {env_context, env_image, NULL};
    test_run_t run;
    test_envtest(&run, args, env);
    json_error_t jerr;
    json_t *j = json_loads(run.out, 0, &jerr);
    if (!j)
        fprintf(stderr, "not JSON (exit %d): %s\nstderr: %s\n", run.exit_code, run.out, run.err);
    test_run_free(&run);
    return j;
}

static char *container_field(const char *name, const char *path1, const char *path2)
{
    json_t *inspect = NULL;
    envmgr_error_t err = {0};
    if (envmgr_engine_container_inspect(engine, name, &inspect, &err) < 0)
        return NULL;
    json_t *v = json_object_get(inspect, path1);
    if (path2)
        v = json_object_get(v, path2);
    char *s = json_string_value(v) ? envmgr_xstrdup(json_string_value(v)) : NULL;
    json_decref(inspect);
    return s;
}

static void query_database(json_t *vars)
{
    const char *port = json_string_value(json_object_get(vars, "ENVTEST_DB_PORT"));
    const char *user = json_string_value(json_object_get(vars, "ENVTEST_MYSQL_USER"));
    const char *password = json_string_value(json_object_get(vars, "ENVTEST_MYSQL_PASSWORD"));
    const char *db = json_string_value(json_object_get(vars, "ENVTEST_MYSQL_DATABASE"));
    const char *url = json_string_value(json_object_get(vars, "DATABASE_URL"));
    assert_non_null(port);
    assert_non_null(url);
    assert_string_equal(user, "tester");
    assert_string_equal(db, "lifecycle");
    assert_int_equal(strlen(password), 24); /* generated secret */
    envmgr_cleanup_free char *expected_prefix =
        envmgr_xasprintf("mysql://tester:%s@127.0.0.1:%s/lifecycle", password, port);
    assert_string_equal(url, expected_prefix);

    MYSQL *conn = mysql_init(NULL);
    assert_non_null(
        mysql_real_connect(conn, "127.0.0.1", user, password, db, (unsigned)atoi(port), NULL, 0));
    assert_int_equal(mysql_query(conn, "CREATE TABLE t (id INT PRIMARY KEY, name VARCHAR(40))"), 0);
    assert_int_equal(mysql_query(conn, "INSERT INTO t VALUES (1, 'seoul'), (2, 'busan')"), 0);
    assert_int_equal(mysql_query(conn, "SELECT COUNT(*), MAX(name) FROM t"), 0);
    MYSQL_RES *res = mysql_store_result(conn);
    MYSQL_ROW row = mysql_fetch_row(res);
    assert_string_equal(row[0], "2");
    assert_string_equal(row[1], "seoul");
    mysql_free_result(res);
    mysql_close(conn);
}

static bool file_contains(const char *path, const char *needle)
{
    char *text = NULL;
    size_t len = 0;
    envmgr_error_t err = {0};
    if (envmgr_read_file(path, &text, &len, &err) < 0)
        return false;
    bool found = strstr(text, needle) != NULL;
    free(text);
    return found;
}

/* logs of one service (unprefixed), and -f following all of them at once until Ctrl-C */
static void check_logs(const char *project)
{
    const char *env[] = {env_context, env_image, NULL};
    test_run_t run;
    const char *one[] = {"-f", three_yaml, "-p", project, "logs", "--tail", "20", "worker", NULL};
    test_envtest(&run, one, env);
    assert_int_equal(run.exit_code, 0);
    assert_string_equal(run.out, "worker ready\n");
    test_run_free(&run);

    /* db is first in the file and never ends: worker's line shows only if both are followed */
    const char *follow[] = {"-f", three_yaml, "-p", project, "logs", "-f", NULL};
    const char *out = "/tmp/envtest-logs-f.out", *err = "/tmp/envtest-logs-f.err";
    int pid = test_envtest_spawn(follow, env, out, err);
    for (int i = 0; i < 100 && !(file_contains(out, "worker       | worker ready\n") &&
                                 file_contains(err, "db           | "));
         i++)
        usleep(100000);
    kill(pid, SIGINT);
    int status;
    waitpid(pid, &status, 0);
    assert_true(file_contains(out, "worker       | worker ready\n"));
    assert_true(file_contains(err, "db           | ")); /* MariaDB logs on stderr */
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 130);
    unlink(out);
    unlink(err);
}

/* keep: how to connect, without the generated password (its output lands in CI logs) */
static void check_keep(const char *project, const char *password)
{
    const char *env[] = {env_context, env_image, NULL};
    test_run_t run;
    test_envtest(&run, (const char *[]){"-f", three_yaml, "-p", project, "keep", NULL}, env);
    assert_int_equal(run.exit_code, 0);
    assert_non_null(strstr(run.out, "envtest-test-three is kept until"));
    assert_non_null(strstr(run.out, "DATABASE_URL=mysql://tester:****@127.0.0.1:"));
    assert_non_null(strstr(run.out, "exec SERVICE COMMAND"));
    assert_non_null(password);
    assert_null(strstr(run.out, password));
    assert_null(strstr(run.err, password));
    test_run_free(&run);
    test_envtest(&run, (const char *[]){"-f", three_yaml, "-p", project, "keep", "--release", NULL},
                 env);
    assert_int_equal(run.exit_code, 0);
    test_run_free(&run);
}

/* exec: output on the right streams, the command's exit status, -e, and a service that is not up */
static void check_exec(const char *project)
{
    const char *env[] = {env_context, env_image, NULL};
    test_run_t run;
    test_envtest(&run,
                 (const char *[]){"-f", three_yaml, "-p", project, "exec", "worker", "sh", "-c",
                                  "echo out; echo err >&2; exit 7", NULL},
                 env);
    assert_int_equal(run.exit_code, 7);
    assert_string_equal(run.out, "out\n");
    assert_string_equal(run.err, "err\n");
    test_run_free(&run);
    test_envtest(&run,
                 (const char *[]){"-f", three_yaml, "-p", project, "exec", "-e",
                                  "GREETING=annyeong", "worker", "sh", "-c", "echo $GREETING",
                                  NULL},
                 env);
    assert_int_equal(run.exit_code, 0);
    assert_string_equal(run.out, "annyeong\n");
    test_run_free(&run);
}

static void test_up_status_env_down(void **state)
{
    (void)state;
    SKIP_WITHOUT_ENGINE();
    const char *project = "envtest-test-three";
    const char *env[] = {env_context, env_image, NULL};
    test_run_t run;
    const char *up[] = {"-f", three_yaml, "-p", project, "up", "--wait-timeout", "180", NULL};
    test_envtest(&run, up, env);
    if (run.exit_code != 0)
        fprintf(stderr, "up stderr:\n%s\n", run.err);
    assert_int_equal(run.exit_code, 0);
    test_run_free(&run);

    /* status: all three running, db and worker healthy, ports on 127.0.0.1 only */
    json_t *status = run_json(three_yaml, project, (const char *[]){"status", "--json", NULL});
    assert_non_null(status);
    json_t *services = json_object_get(status, "services");
    assert_int_equal(json_array_size(services), 3);
    for (size_t i = 0; i < 3; i++) {
        json_t *s = json_array_get(services, i);
        assert_string_equal(json_string_value(json_object_get(s, "state")), "running");
        /* healthy as up found them, also where the engine's first check (after `interval`: 30 s
         * for worker) has not come yet; web has no healthcheck */
        const char *name = json_string_value(json_object_get(s, "service"));
        assert_string_equal(json_string_value(json_object_get(s, "health")),
                            strcmp(name, "web") == 0 ? "none" : "healthy");
        if (strcmp(name, "worker") == 0)
            assert_string_equal(json_string_value(json_object_get(s, "health_checked_by")),
                                "envtest");
        json_t *ports = json_object_get(s, "ports");
        for (size_t p = 0; p < json_array_size(ports); p++)
            assert_string_equal(
                json_string_value(json_object_get(json_array_get(ports, p), "host_ip")),
                "127.0.0.1");
    }
    json_decref(status);

    /* dependency order: db healthy before web starts; web started before worker */
    char *db_started = container_field("envtest-test-three-db-1", "State", "StartedAt");
    char *web_started = container_field("envtest-test-three-web-1", "State", "StartedAt");
    char *worker_started = container_field("envtest-test-three-worker-1", "State", "StartedAt");
    assert_non_null(db_started);
    assert_true(strcmp(db_started, web_started) < 0);
    assert_true(strcmp(web_started, worker_started) < 0);
    free(db_started);
    free(worker_started);

    /* env: a real query over DATABASE_URL's parts */
    json_t *vars = run_json(three_yaml, project, (const char *[]){"env", "--format", "json", NULL});
    assert_non_null(vars);
    assert_non_null(json_object_get(vars, "ENVTEST_WEB_PORT_8080"));
    query_database(vars);
    check_keep(project, json_string_value(json_object_get(vars, "ENVTEST_MYSQL_PASSWORD")));
    json_decref(vars);

    check_logs(project);
    check_exec(project);

    /* idempotent: a second up changes nothing */
    char *web_id = container_field("envtest-test-three-web-1", "Id", NULL);
    char *db_id = container_field("envtest-test-three-db-1", "Id", NULL);
    test_envtest(&run, up, env);
    if (!strstr(run.err, "db: unchanged"))
        fprintf(stderr, "second up (exit %d):\n%s\n", run.exit_code, run.err);
    assert_int_equal(run.exit_code, 0);
    assert_non_null(strstr(run.err, "db: unchanged"));
    assert_non_null(strstr(run.err, "web: unchanged"));
    test_run_free(&run);
    char *web_id2 = container_field("envtest-test-three-web-1", "Id", NULL);
    assert_string_equal(web_id, web_id2);
    free(web_id2);

    /* a changed service is recreated alone */
    const char *env_changed[] = {env_context, env_image, "WEB_PORT=8081", NULL};
    test_envtest(&run, up, env_changed);
    if (run.exit_code != 0)
        fprintf(stderr, "re-up stderr:\n%s\n", run.err);
    assert_int_equal(run.exit_code, 0);
    test_run_free(&run);
    web_id2 = container_field("envtest-test-three-web-1", "Id", NULL);
    char *db_id2 = container_field("envtest-test-three-db-1", "Id", NULL);
    assert_string_not_equal(web_id, web_id2);
    assert_string_equal(db_id, db_id2);
    free(web_id);
    free(web_id2);
    free(db_id);
    free(db_id2);
    free(web_started);

    /* exec in a service whose container has stopped: what happened and what to do */
    envmgr_error_t stop_err = {0};
    assert_int_equal(
        envmgr_engine_container_stop(engine, "envtest-test-three-worker-1", 1, &stop_err), 0);
    const char *exec_worker[] = {"-f", three_yaml, "-p", project, "exec", "worker", "true", NULL};
    test_envtest(&run, exec_worker, env);
    assert_int_equal(run.exit_code, 3);
    assert_non_null(strstr(run.err, "service worker is not running (its container has stopped)"));
    assert_non_null(strstr(run.err, "hint: `envtest logs worker` shows why"));
    test_run_free(&run);

    down_and_assert_clean(three_yaml, project);
    test_envtest(&run, exec_worker, env);
    assert_int_equal(run.exit_code, 3);
    assert_non_null(strstr(run.err, "service worker of project envtest-test-three is not up"));
    test_run_free(&run);
    /* --rmi local removed the images built for the project, and only those */
    json_t *image = NULL;
    envmgr_error_t err = {0};
    assert_int_equal(
        envmgr_engine_image_inspect(engine, "envtest-test-three-web:latest", &image, &err), -1);
    assert_int_equal(err.kind, ENVMGR_E_NOT_FOUND);
    assert_int_equal(envmgr_engine_image_inspect(engine, test_mysql_image(), &image, &err), 0);
    json_decref(image);
}

static void test_unhealthy_service_fails_and_cleans_up(void **state)
{
    (void)state;
    SKIP_WITHOUT_ENGINE();
    const char *project = "envtest-test-sick";
    const char *env[] = {env_context, NULL};
    const char *up[] = {"-f", unhealthy_yaml, "-p", project, "up", "--wait-timeout", "12", NULL};
    test_run_t run;
    test_envtest(&run, up, env);
    assert_int_equal(run.exit_code, 3);
    assert_non_null(strstr(run.err, "service sick"));
    assert_non_null(strstr(run.err, "health probe failed: no listener on 9000"));
    assert_non_null(strstr(run.err, "fatal: cannot open /data/config")); /* its logs */
    test_run_free(&run);
    assert_int_equal(test_project_leftovers(engine, project), 0);
}

static void test_missing_image(void **state)
{
    (void)state;
    SKIP_WITHOUT_ENGINE();
    const char *project = "envtest-test-ghost";
    const char *up[] = {"-f", noimage_yaml, "-p", project, "up", NULL};
    test_run_t run;
    test_envtest(&run, up, NULL);
    assert_int_equal(run.exit_code, 3);
    assert_non_null(strstr(run.err, "envtest-test-does-not-exist:1.0"));
    test_run_free(&run);
    assert_int_equal(test_project_leftovers(engine, project), 0);
}

static void test_host_port_taken(void **state)
{
    (void)state;
    SKIP_WITHOUT_ENGINE();
    /* a program (not a container) listens on the service's fixed host port */
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(addr);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
    assert_int_equal(listen(fd, 1), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&addr, &len), 0);
    char port_env[32], port_text[32];
    snprintf(port_env, sizeof(port_env), "TAKEN_PORT=%d", ntohs(addr.sin_port));
    snprintf(port_text, sizeof(port_text), "(127.0.0.1:%d)", ntohs(addr.sin_port));

    const char *project = "envtest-test-porttaken";
    const char *env[] = {env_context, port_env, NULL};
    const char *up[] = {"-f", porttaken_yaml, "-p", project, "up", NULL};
    test_run_t run;
    test_envtest(&run, up, env);
    close(fd);
    assert_int_equal(run.exit_code, 3);
    assert_non_null(strstr(run.err, "service web"));
    assert_non_null(strstr(run.err, "address already in use"));           /* the engine's words */
    assert_non_null(strstr(run.err, "hint: a host port of service web")); /* and what to do */
    assert_non_null(strstr(run.err, port_text));
    test_run_free(&run);
    assert_int_equal(test_project_leftovers(engine, project), 0);
}

static void test_two_projects_at_once(void **state)
{
    (void)state;
    SKIP_WITHOUT_ENGINE();
    const char *env[] = {env_context, NULL};
    const char *up_a[] = {"-f", unhealthy_yaml, "-p", "envtest-test-pa", "up", "fine", NULL};
    const char *up_b[] = {"-f", unhealthy_yaml, "-p", "envtest-test-pb", "up", "fine", NULL};
    int a = test_envtest_spawn(up_a, env, "/tmp/envtest-pa.out", "/tmp/envtest-pa.err");
    int b = test_envtest_spawn(up_b, env, "/tmp/envtest-pb.out", "/tmp/envtest-pb.err");
    int sa, sb;
    waitpid(a, &sa, 0);
    waitpid(b, &sb, 0);
    assert_int_equal(WEXITSTATUS(sa), 0);
    assert_int_equal(WEXITSTATUS(sb), 0);
    assert_int_equal(test_project_leftovers(engine, "envtest-test-pa"), 2); /* container+net */
    assert_int_equal(test_project_leftovers(engine, "envtest-test-pb"), 2);
    /* ls lists both, each with its one running container of two services */
    json_t *list =
        run_json(unhealthy_yaml, "envtest-test-pa", (const char *[]){"ls", "--json", NULL});
    assert_non_null(list);
    int found = 0;
    size_t i;
    json_t *p;
    json_array_foreach(list, i, p)
    {
        const char *name = json_string_value(json_object_get(p, "name"));
        if (strcmp(name, "envtest-test-pa") != 0 && strcmp(name, "envtest-test-pb") != 0)
            continue;
        found++;
        assert_int_equal(json_integer_value(json_object_get(p, "running")), 1);
        assert_int_equal(json_integer_value(json_object_get(p, "networks")), 1);
        assert_false(json_is_true(json_object_get(p, "kept")));
        assert_string_equal(json_string_value(json_array_get(json_object_get(p, "services"), 0)),
                            "fine");
    }
    assert_int_equal(found, 2);
    json_decref(list);
    down_and_assert_clean(unhealthy_yaml, "envtest-test-pa");
    assert_int_equal(test_project_leftovers(engine, "envtest-test-pb"), 2); /* untouched */
    down_and_assert_clean(unhealthy_yaml, "envtest-test-pb");
}

static void test_ctrl_c_during_up(void **state)
{
    (void)state;
    SKIP_WITHOUT_ENGINE();
    const char *project = "envtest-test-ctrlc";
    const char *env[] = {env_context, NULL};
    const char *up[] = {"-f", unhealthy_yaml, "-p", project, "up", "--wait-timeout", "60", NULL};
    int pid = test_envtest_spawn(up, env, "/tmp/envtest-ctrlc.out", "/tmp/envtest-ctrlc.err");
    /* wait until its containers exist, then interrupt */
    for (int i = 0; i < 200 && test_project_leftovers(engine, project) < 3; i++)
        usleep(100000);
    assert_true(test_project_leftovers(engine, project) >= 2);
    kill(pid, SIGINT);
    int status;
    waitpid(pid, &status, 0);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 130);
    assert_int_equal(test_project_leftovers(engine, project), 0);
}

static void test_sigkill_during_up_is_reaped(void **state)
{
    (void)state;
    SKIP_WITHOUT_ENGINE();
    const char *project = "envtest-test-kill9";
    const char *env[] = {env_context, NULL};
    const char *up[] = {"-f", unhealthy_yaml, "-p", project, "up", "--wait-timeout", "60", NULL};
    int pid = test_envtest_spawn(up, env, "/tmp/envtest-kill9.out", "/tmp/envtest-kill9.err");
    for (int i = 0; i < 200 && test_project_leftovers(engine, project) < 3; i++)
        usleep(100000);
    assert_true(test_project_leftovers(engine, project) >= 2);
    kill(pid, SIGKILL); /* no handler runs: only the reaper can clean up */
    int status;
    waitpid(pid, &status, 0);
    int left = -1;
    for (int i = 0; i < 150 && left != 0; i++) {
        usleep(100000);
        left = test_project_leftovers(engine, project);
    }
    assert_int_equal(left, 0);
}

static void test_down_nothing_and_unreachable_engine(void **state)
{
    (void)state;
    SKIP_WITHOUT_ENGINE();
    test_run_t run;
    const char *down[] = {"-p", "envtest-test-nothing-here", "down", NULL};
    test_envtest(&run, down, NULL);
    assert_int_equal(run.exit_code, 0);
    assert_non_null(strstr(run.err, "nothing"));
    test_run_free(&run);

    const char *env[] = {"DOCKER_HOST=unix:///tmp/envtest-no-such.sock", NULL};
    test_envtest(&run, down, env);
    assert_int_equal(run.exit_code, 3);
    assert_non_null(strstr(run.err, "cannot reach the Docker engine at /tmp/envtest-no-such.sock"));
    test_run_free(&run);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_down_nothing_and_unreachable_engine),
        cmocka_unit_test(test_missing_image),
        cmocka_unit_test(test_host_port_taken),
        cmocka_unit_test(test_unhealthy_service_fails_and_cleans_up),
        cmocka_unit_test(test_two_projects_at_once),
        cmocka_unit_test(test_ctrl_c_during_up),
        cmocka_unit_test(test_sigkill_during_up_is_reaped),
        cmocka_unit_test(test_up_status_env_down),
    };
    return cmocka_run_group_tests_name("lifecycle_docker", tests, group_setup, group_teardown);
}
