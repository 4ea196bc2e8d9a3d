/* Per-suite databases, the engine side, without Docker: which service is MySQL, its published port
 * and credentials (from the stateful fake engine, fake_engine.h), what is refused, and what
 * happens without MySQL. The SQL itself (clone and drop) runs against a real server in the docker
 * tests (test_lifecycle_docker.c, the suites). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fake_engine.h"
#include <envmgr/isolation.h>
#include <envmgr/lifecycle.h>

static const char yaml[] = "name: iso\n"
                           "services:\n"
                           "  db:\n"
                           "    image: fakedb:1\n"
                           "  web:\n"
                           "    image: fakeweb:1\n";

struct env {
    fake_engine_t *fake;
    envmgr_engine_t *engine;
    envmgr_project_t *project;
    /* a MySQL port that accepts a connection and closes it at once */
    int listen_fd;
    int port;
    pthread_t thread;
    atomic_int accepted;
};

static void *accept_and_close(void *arg)
{
    struct env *e = arg;
    int fd;
    while ((fd = accept(e->listen_fd, NULL, NULL)) >= 0) {
        atomic_fetch_add(&e->accepted, 1);
        close(fd);
    }
    return NULL;
}

static int setup(void **state)
{
    struct env *e = envmgr_xcalloc(1, sizeof(*e));
    e->fake = fake_engine_start();
    envmgr_error_t err = {0};
    if (envmgr_engine_open(fake_engine_host(e->fake), &e->engine, &err) < 0 ||
        envmgr_compose_load_string(yaml, strlen(yaml), "/tmp/iso/compose.yaml", NULL, &e->project,
                                   &err) < 0)
        fail_msg("setup: %s", err.message);
    e->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(addr);
    if (bind(e->listen_fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
        getsockname(e->listen_fd, (struct sockaddr *)&addr, &len) < 0 || listen(e->listen_fd, 8))
        fail_msg("listen");
    e->port = ntohs(addr.sin_port);
    pthread_create(&e->thread, NULL, accept_and_close, e);
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    struct env *e = *state;
    shutdown(e->listen_fd, SHUT_RDWR);
    pthread_join(e->thread, NULL);
    close(e->listen_fd);
    envmgr_engine_close(e->engine);
    envmgr_project_free(e->project);
    fake_engine_free(e->fake);
    free(e);
    return 0;
}

static void add_service(struct env *e, const char *service, const char *env_json, int port)
{
    envmgr_cleanup_free char *name = envmgr_xasprintf("iso-%s-1", service);
    envmgr_cleanup_free char *ports =
        port ? envmgr_xasprintf(",\"NetworkSettings\":{\"Ports\":{\"3306/tcp\":[{\"HostIp\":"
                                "\"127.0.0.1\",\"HostPort\":\"%d\"}]}}",
                                port)
             : envmgr_xstrdup("");
    envmgr_cleanup_free char *inspect = envmgr_xasprintf(
        "{\"Config\":{\"Labels\":{\"io.envtest.project\":\"iso\",\"io.envtest.service\":\"%s\"},"
        "\"Env\":%s}%s}",
        service, env_json, ports);
    fake_engine_add_container(e->fake, name, inspect);
}

static const char mysql_env[] = "[\"MYSQL_ROOT_PASSWORD=r00t\",\"MYSQL_DATABASE=app\","
                                "\"MYSQL_USER=appuser\",\"MYSQL_PASSWORD=p@ss\"]";

static void test_not_up(void **state)
{
    struct env *e = *state;
    envmgr_error_t err = {0};
    envmgr_kvlist_t vars = {0};
    char *db = (char *)"unset";
    assert_int_equal(envmgr_isolation_clone_db(e->engine, e->project, "s1", 1, &vars, &db, &err),
                     -1);
    assert_null(db);
    assert_string_equal(err.message, "isolated database for suite s1: project iso is not up");
    assert_int_equal(vars.n, 0);
}

static void test_no_mysql_service(void **state)
{
    struct env *e = *state;
    add_service(e, "db", "[\"POSTGRES_PASSWORD=x\"]", 0);
    add_service(e, "web", "[]", 0);
    envmgr_error_t err = {0};
    envmgr_kvlist_t vars = {0};
    char *db = (char *)"unset";
    assert_int_equal(envmgr_isolation_clone_db(e->engine, e->project, "s1", 1, &vars, &db, &err),
                     0);
    assert_null(db);
    assert_int_equal(vars.n, 0);
    assert_int_equal(atomic_load(&e->accepted), 0);
    assert_int_equal(envmgr_isolation_drop_db(e->engine, e->project, "envtest_s1_1_abcd", &err), 0);
}

static void test_finds_mysql_by_its_variables_and_port(void **state)
{
    struct env *e = *state;
    add_service(e, "db", mysql_env, e->port);
    add_service(e, "web", "[\"MYSQL_HOST=db\"]", 0);
    envmgr_error_t err = {0};
    /* the variables a suite gets */
    envmgr_kvlist_t vars = {0};
    assert_int_equal(envmgr_env_vars(e->engine, e->project, &vars, &err), 0);
    envmgr_cleanup_free char *url =
        envmgr_xasprintf("mysql://appuser:p%%40ss@127.0.0.1:%d/app", e->port);
    assert_string_equal(envmgr_kvlist_find(&vars, "DATABASE_URL")->value, url);
    assert_string_equal(envmgr_kvlist_find(&vars, "ENVTEST_MYSQL_DATABASE")->value, "app");
    envmgr_kvlist_free(&vars);

    /* the clone connects as root to the db service's published 3306 (which hangs up here) */
    char *db = (char *)"unset";
    assert_int_equal(envmgr_isolation_clone_db(e->engine, e->project, "s1", 2, &vars, &db, &err),
                     -1);
    assert_null(db);
    assert_int_equal(vars.n, 0);
    assert_non_null(
        strstr(err.message, "isolated database for suite s1: connect to MySQL as root"));
    assert_int_equal(atomic_load(&e->accepted), 1);
    /* as does the drop */
    assert_int_equal(envmgr_isolation_drop_db(e->engine, e->project, "envtest_s1_2_abcd", &err),
                     -1);
    assert_non_null(strstr(err.message, "connect to MySQL as root"));
    assert_int_equal(atomic_load(&e->accepted), 2);
}

static void test_drop_refuses_other_databases(void **state)
{
    struct env *e = *state;
    add_service(e, "db", mysql_env, e->port);
    envmgr_error_t err = {0};
    const char *refused[] = {"app", "mysql", "envtest_x`; DROP DATABASE app; --", "envtest_'x"};
    for (size_t i = 0; i < ENVMGR_ARRAY_SIZE(refused); i++) {
        assert_int_equal(envmgr_isolation_drop_db(e->engine, e->project, refused[i], &err), -1);
        assert_int_equal(err.kind, ENVMGR_E_USAGE);
        assert_non_null(strstr(err.message, "not an isolated suite database"));
    }
    assert_int_equal(atomic_load(&e->accepted), 0); /* refused before connecting */
}

static void test_quotes_in_credentials_are_refused(void **state)
{
    struct env *e = *state;
    add_service(e, "db",
                "[\"MYSQL_ROOT_PASSWORD=r\",\"MYSQL_DATABASE=a`b\",\"MYSQL_USER=u\","
                "\"MYSQL_PASSWORD=p\"]",
                e->port);
    envmgr_error_t err = {0};
    envmgr_kvlist_t vars = {0};
    char *db = NULL;
    /* the connection fails first here (nothing speaks MySQL); what matters: no clone named */
    assert_int_equal(envmgr_isolation_clone_db(e->engine, e->project, "s1", 1, &vars, &db, &err),
                     -1);
    assert_null(db);
    assert_int_equal(vars.n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_not_up, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_mysql_service, setup, teardown),
        cmocka_unit_test_setup_teardown(test_finds_mysql_by_its_variables_and_port, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_drop_refuses_other_databases, setup, teardown),
        cmocka_unit_test_setup_teardown(test_quotes_in_credentials_are_refused, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
