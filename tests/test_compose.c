/* Compose loader, the model: every supported form parsed into the right values, anchors and
 * merge keys, env_file, relative paths, JSON output, files in the tree. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h> /* after setjmp.h, stdarg.h, stddef.h */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "corpus.h"
#include "test_compose_lib.h"
#include <envmgr/compose.h>
#include <envmgr/log.h>

/* ---- basic services ---------------------------------------------------------------------------
 */

static void test_basic(void **state)
{
    envmgr_project_t *p = load("services:\n"
                               "  db:\n"
                               "    image: mysql:8.4\n"
                               "    environment:\n"
                               "      MYSQL_DATABASE: seoul\n"
                               "      N: 5\n"
                               "      B: true\n"
                               "    ports: [\"3306\"]\n"
                               "    healthcheck:\n"
                               "      test: [CMD, mysqladmin, ping]\n"
                               "      interval: 1s\n"
                               "  app:\n"
                               "    image: busybox\n"
                               "    depends_on: [db]\n");
    assert_int_equal(p->n_services, 2);
    const envmgr_service_t *db = svc(p, "db");
    assert_string_equal(p->services[0].name, "db");
    assert_int_equal(db->line, 2);
    assert_string_equal(db->image, "mysql:8.4");
    assert_int_equal(db->environment.n, 3);
    assert_string_equal(env_of(&db->environment, "MYSQL_DATABASE"), "seoul");
    assert_string_equal(env_of(&db->environment, "N"), "5");
    assert_string_equal(env_of(&db->environment, "B"), "true");
    assert_int_equal(db->n_ports, 1);
    assert_string_equal(db->ports[0].host_ip, "127.0.0.1");
    assert_int_equal(db->ports[0].host_port, 0);
    assert_int_equal(db->ports[0].container_port, 3306);
    assert_string_equal(db->ports[0].protocol, "tcp");
    assert_int_equal(db->healthcheck.kind, ENVMGR_HEALTHCHECK_CMD);
    assert_int_equal(db->healthcheck.test.n, 2);
    assert_string_equal(db->healthcheck.test.items[0], "mysqladmin");
    assert_int_equal(db->healthcheck.interval_ms, 1000);
    assert_int_equal(db->healthcheck.timeout_ms, 30000);
    assert_int_equal(db->healthcheck.start_period_ms, 0);
    assert_int_equal(db->healthcheck.retries, 3);
    const envmgr_service_t *app = svc(p, "app");
    assert_int_equal(app->n_depends_on, 1);
    assert_string_equal(app->depends_on[0].service, "db");
    assert_int_equal(app->depends_on[0].condition, ENVMGR_DEPENDS_STARTED);
    assert_true(app->depends_on[0].required);
    assert_int_equal(app->healthcheck.kind, ENVMGR_HEALTHCHECK_UNSET);
    assert_string_equal(warned(), "");
    envmgr_project_free(p);
}

/* ---- ports --------------------------------------------------------------------------------------
 */

static void test_ports_short(void **state)
{
    static const struct {
        const char *in;
        const char *ip;
        int host, container;
        const char *proto;
        size_t count;
    } cases[] = {
        {"\"3306\"", "127.0.0.1", 0, 3306, "tcp", 1},
        {"3306", "127.0.0.1", 0, 3306, "tcp", 1},
        {"\"8080:80\"", "127.0.0.1", 8080, 80, "tcp", 1},
        {"\"127.0.0.1:8080:80\"", "127.0.0.1", 8080, 80, "tcp", 1},
        {"\"127.0.0.1::80\"", "127.0.0.1", 0, 80, "tcp", 1},
        {"\"10.1.2.3:9000:90\"", "10.1.2.3", 9000, 90, "tcp", 1},
        {"\"53:53/udp\"", "127.0.0.1", 53, 53, "udp", 1},
        {"\"8000-8002:8000-8002\"", "127.0.0.1", 8000, 8000, "tcp", 3},
        {"\"9000-9001\"", "127.0.0.1", 0, 9000, "tcp", 2},
        {"\"[::1]:8080:80\"", "::1", 8080, 80, "tcp", 1},
        {"\"6000:6000/tcp\"", "127.0.0.1", 6000, 6000, "tcp", 1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char yaml[256];
        snprintf(yaml, sizeof(yaml), "services:\n  s:\n    image: x\n    ports:\n      - %s\n",
                 cases[i].in);
        envmgr_project_t *p = load(yaml);
        const envmgr_service_t *s = svc(p, "s");
        assert_int_equal(s->n_ports, cases[i].count);
        for (size_t k = 0; k < s->n_ports; k++) {
            assert_string_equal(s->ports[k].host_ip, cases[i].ip);
            assert_int_equal(s->ports[k].host_port, cases[i].host ? cases[i].host + (int)k : 0);
            assert_int_equal(s->ports[k].container_port, cases[i].container + (int)k);
            assert_string_equal(s->ports[k].protocol, cases[i].proto);
        }
        envmgr_project_free(p);
    }
    assert_string_equal(warned(), "");
}

static void test_ports_long_and_warning(void **state)
{
    envmgr_project_t *p = load("services:\n"
                               "  s:\n"
                               "    image: x\n"
                               "    ports:\n"
                               "      - target: 80\n"
                               "        published: \"8081\"\n"
                               "        protocol: udp\n"
                               "      - target: 443\n"
                               "      - target: 22\n"
                               "        published: 2222\n"
                               "        host_ip: 0.0.0.0\n");
    const envmgr_service_t *s = svc(p, "s");
    assert_int_equal(s->n_ports, 3);
    assert_int_equal(s->ports[0].container_port, 80);
    assert_int_equal(s->ports[0].host_port, 8081);
    assert_string_equal(s->ports[0].protocol, "udp");
    assert_string_equal(s->ports[0].host_ip, "127.0.0.1");
    assert_int_equal(s->ports[1].host_port, 0);
    assert_string_equal(s->ports[2].host_ip, "0.0.0.0");
    assert_int_equal(s->ports[2].host_port, 2222);
    assert_string_equal(warned(),
                        "compose.yaml:9: services.s.ports[2]: published on 0.0.0.0: the port is "
                        "reachable from other machines (envtest's default is 127.0.0.1)\n");
    envmgr_project_free(p);
}

static void test_ports_errors(void **state)
{
    assert_string_equal(load_error("services:\n  mysql:\n    image: x\n    ports:\n"
                                   "      - \"99999\"\n"),
                        "compose.yaml:5:9: services.mysql.ports[0]: invalid port '99999': "
                        "ports are 1-65535");
    assert_string_equal(load_error("services:\n  s:\n    image: x\n    ports: [\"80:abc\"]\n"),
                        "compose.yaml:4:13: services.s.ports[0]: invalid port 'abc': expected "
                        "[[HOST_IP:]HOST_PORT:]CONTAINER_PORT[/PROTOCOL], e.g. \"8080:80\"");
    assert_string_equal(load_error("services:\n  s:\n    image: x\n    ports: [\"80/icmp\"]\n"),
                        "compose.yaml:4:13: services.s.ports[0]: invalid protocol 'icmp': "
                        "expected tcp or udp");
    assert_string_equal(
        load_error("services:\n  s:\n    image: x\n    ports: [\"8000-8001:80-82\"]\n"),
        "compose.yaml:4:13: services.s.ports[0]: host port range 8000-8001 and container port "
        "range 80-82 differ in size");
    assert_string_equal(load_error("services:\n  s:\n    image: x\n    ports: [\"1.2.3:80:80\"]\n"),
                        "compose.yaml:4:13: services.s.ports[0]: invalid host IP '1.2.3'");
    assert_string_equal(load_error("services:\n  s:\n    image: x\n    ports:\n"
                                   "      - published: 80\n"),
                        "compose.yaml:5:9: services.s.ports[0]: missing 'target' (the container "
                        "port)");
}

static void test_expose(void **state)
{
    envmgr_project_t *p =
        load("services:\n  s:\n    image: x\n    expose: [\"3306\", 8080, \"9000-9001/tcp\"]\n");
    const envmgr_service_t *s = svc(p, "s");
    assert_int_equal(s->n_expose, 4);
    assert_int_equal(s->expose[0], 3306);
    assert_int_equal(s->expose[1], 8080);
    assert_int_equal(s->expose[2], 9000);
    assert_int_equal(s->expose[3], 9001);
    envmgr_project_free(p);
}

/* ---- build, command, entrypoint ----------------------------------------------------------------
 */

static void test_build(void **state)
{
    envmgr_project_t *p = load("services:\n"
                               "  a:\n"
                               "    build: ./mock-llm\n"
                               "  b:\n"
                               "    build:\n"
                               "      context: ../other\n"
                               "      dockerfile: Dockerfile.test\n"
                               "      args: [VERSION=1.2, \"EMPTY=\"]\n"
                               "  c:\n"
                               "    image: c:1\n"
                               "    build:\n"
                               "      args:\n"
                               "        A: b\n");
    envmgr_cleanup_free char *ctx_a = envmgr_xasprintf("%s/mock-llm", tmpdir);
    char parent[256];
    snprintf(parent, sizeof(parent), "%s", tmpdir);
    *strrchr(parent, '/') = '\0';
    envmgr_cleanup_free char *ctx_b = envmgr_xasprintf("%s/other", parent);
    const envmgr_service_t *a = svc(p, "a"), *b = svc(p, "b"), *c = svc(p, "c");
    assert_null(a->image);
    assert_non_null(a->build);
    assert_string_equal(a->build->context, ctx_a);
    assert_string_equal(a->build->dockerfile, "Dockerfile");
    assert_string_equal(b->build->context, ctx_b);
    assert_string_equal(b->build->dockerfile, "Dockerfile.test");
    assert_int_equal(b->build->args.n, 2);
    assert_string_equal(env_of(&b->build->args, "VERSION"), "1.2");
    assert_string_equal(env_of(&b->build->args, "EMPTY"), "");
    assert_string_equal(c->image, "c:1");
    assert_string_equal(c->build->context, tmpdir);
    assert_string_equal(env_of(&c->build->args, "A"), "b");
    envmgr_project_free(p);
    assert_string_equal(load_error("services:\n  s:\n    environment: {A: b}\n"),
                        "compose.yaml:2:3: services.s: service 's' has neither 'image' nor "
                        "'build'");
}

static void test_command_entrypoint(void **state)
{
    envmgr_project_t *p = load("services:\n"
                               "  a:\n"
                               "    image: x\n"
                               "    command: sh -c 'echo \"a  b\"; exit 0' \"x y\" z\\ w\n"
                               "    entrypoint: [\"/bin/tini\", \"--\"]\n"
                               "  b:\n"
                               "    image: x\n"
                               "    entrypoint: /docker-entrypoint.sh\n");
    const envmgr_service_t *a = svc(p, "a"), *b = svc(p, "b");
    assert_true(a->has_command);
    assert_int_equal(a->command.n, 5);
    assert_string_equal(a->command.items[0], "sh");
    assert_string_equal(a->command.items[1], "-c");
    assert_string_equal(a->command.items[2], "echo \"a  b\"; exit 0");
    assert_string_equal(a->command.items[3], "x y");
    assert_string_equal(a->command.items[4], "z w");
    assert_true(a->has_entrypoint);
    assert_int_equal(a->entrypoint.n, 2);
    assert_string_equal(a->entrypoint.items[1], "--");
    assert_false(b->has_command);
    assert_int_equal(b->entrypoint.n, 1);
    assert_string_equal(b->entrypoint.items[0], "/docker-entrypoint.sh");
    envmgr_project_free(p);
    assert_string_equal(load_error("services:\n  s:\n    image: x\n    command: echo 'oops\n"),
                        "compose.yaml:4:14: services.s.command: unterminated quote in "
                        "'echo 'oops'");
}

/* ---- environment, env_file, labels ----------------------------------------------------------- */

static void test_environment_forms(void **state)
{
    setenv("ENVTEST_T_FROM_SHELL", "shell-value", 1);
    unsetenv("ENVTEST_T_UNSET");
    envmgr_project_t *p = load("services:\n"
                               "  a:\n"
                               "    image: x\n"
                               "    environment:\n"
                               "      - A=1\n"
                               "      - B=x=y\n"
                               "      - C=\n"
                               "      - ENVTEST_T_FROM_SHELL\n"
                               "      - ENVTEST_T_UNSET\n"
                               "  b:\n"
                               "    image: x\n"
                               "    environment:\n"
                               "      ENVTEST_T_FROM_SHELL:\n"
                               "      EMPTY: \"\"\n");
    const envmgr_service_t *a = svc(p, "a"), *b = svc(p, "b");
    assert_int_equal(a->environment.n, 5);
    assert_string_equal(env_of(&a->environment, "A"), "1");
    assert_string_equal(env_of(&a->environment, "B"), "x=y");
    assert_string_equal(env_of(&a->environment, "C"), "");
    assert_string_equal(env_of(&a->environment, "ENVTEST_T_FROM_SHELL"), "shell-value");
    assert_null(env_of(&a->environment, "ENVTEST_T_UNSET"));
    assert_string_equal(env_of(&b->environment, "ENVTEST_T_FROM_SHELL"), "shell-value");
    assert_string_equal(env_of(&b->environment, "EMPTY"), "");
    envmgr_project_free(p);
    unsetenv("ENVTEST_T_FROM_SHELL");
}

static void test_env_file(void **state)
{
    mkdir("conf", 0755);
    write_file("conf/app.env", "# a comment\n"
                               "\n"
                               "PLAIN=hello world  # trailing comment\n"
                               "export EXPORTED=yes\n"
                               "DOUBLE=\"line1\\nline2 # not a comment\"\n"
                               "SINGLE='$NOT_EXPANDED \\n'\n"
                               "OVERRIDDEN=from-file\n"
                               "HASH=a#b\n"
                               "EXPANDED=${EXPORTED}-and-${ENVTEST_T_SHELL_ONLY:-default}\n"
                               "QUOTED_EXPANDED=\"<$EXPORTED>\"\n"
                               "LITERAL='<$EXPORTED>'\n");
    write_file("second.env", "SECOND=2\nPLAIN=second wins\n");
    envmgr_project_t *p = load("services:\n"
                               "  a:\n"
                               "    image: x\n"
                               "    environment:\n"
                               "      OVERRIDDEN: from-environment\n"
                               "    env_file:\n"
                               "      - ./conf/app.env\n"
                               "      - second.env\n"
                               "      - path: missing.env\n"
                               "        required: false\n");
    const envmgr_service_t *a = svc(p, "a");
    assert_string_equal(env_of(&a->environment, "PLAIN"), "second wins");
    assert_string_equal(env_of(&a->environment, "EXPORTED"), "yes");
    assert_string_equal(env_of(&a->environment, "DOUBLE"), "line1\nline2 # not a comment");
    assert_string_equal(env_of(&a->environment, "SINGLE"), "$NOT_EXPANDED \\n");
    assert_string_equal(env_of(&a->environment, "OVERRIDDEN"), "from-environment");
    assert_string_equal(env_of(&a->environment, "HASH"), "a#b");
    assert_string_equal(env_of(&a->environment, "SECOND"), "2");
    assert_string_equal(env_of(&a->environment, "EXPANDED"), "yes-and-default");
    assert_string_equal(env_of(&a->environment, "QUOTED_EXPANDED"), "<yes>");
    assert_string_equal(env_of(&a->environment, "LITERAL"), "<$EXPORTED>");
    /* env_file entries come first, environment: after */
    assert_string_equal(a->environment.items[0].key, "PLAIN");
    envmgr_project_free(p);

    envmgr_cleanup_free char *missing =
        envmgr_xasprintf("compose.yaml:4:15: services.a.env_file: cannot read "
                         "env file '%s/nope.env': No such file or directory",
                         tmpdir);
    assert_string_equal(load_error("services:\n  a:\n    image: x\n    env_file: nope.env\n"),
                        missing);
    write_file("bad.env", "OK=1\nBROKEN=\"unterminated\n");
    envmgr_cleanup_free char *bad =
        envmgr_xasprintf("compose.yaml:4:15: services.a.env_file: %s/bad.env:2: "
                         "BROKEN: unterminated quoted value (missing closing \")",
                         tmpdir);
    assert_string_equal(load_error("services:\n  a:\n    image: x\n    env_file: bad.env\n"), bad);
}

static void test_labels(void **state)
{
    envmgr_project_t *p = load("services:\n"
                               "  a:\n"
                               "    image: x\n"
                               "    labels:\n"
                               "      com.example.team: search\n"
                               "      count: 3\n"
                               "  b:\n"
                               "    image: x\n"
                               "    labels: [\"com.example.a=1\", com.example.flag]\n");
    assert_string_equal(env_of(&svc(p, "a")->labels, "com.example.team"), "search");
    assert_string_equal(env_of(&svc(p, "a")->labels, "count"), "3");
    assert_string_equal(env_of(&svc(p, "b")->labels, "com.example.a"), "1");
    assert_string_equal(env_of(&svc(p, "b")->labels, "com.example.flag"), "");
    envmgr_project_free(p);
}

/* ---- healthcheck ------------------------------------------------------------------------------
 */

static void test_healthcheck_forms(void **state)
{
    envmgr_project_t *p = load("services:\n"
                               "  str:\n"
                               "    image: x\n"
                               "    healthcheck:\n"
                               "      test: mysqladmin ping -h 127.0.0.1\n"
                               "      interval: 1m30s\n"
                               "      timeout: 500ms\n"
                               "      start_period: 10\n"
                               "      retries: 7\n"
                               "  cmd:\n"
                               "    image: x\n"
                               "    healthcheck: {test: [CMD, curl, -f, http://localhost]}\n"
                               "  shell:\n"
                               "    image: x\n"
                               "    healthcheck: {test: [CMD-SHELL, \"pg_isready || exit 1\"]}\n"
                               "  none:\n"
                               "    image: x\n"
                               "    healthcheck: {test: [NONE]}\n"
                               "  disabled:\n"
                               "    image: x\n"
                               "    healthcheck: {disable: true}\n");
    const envmgr_healthcheck_t *h = &svc(p, "str")->healthcheck;
    assert_int_equal(h->kind, ENVMGR_HEALTHCHECK_CMD_SHELL);
    assert_int_equal(h->test.n, 1);
    assert_string_equal(h->test.items[0], "mysqladmin ping -h 127.0.0.1");
    assert_int_equal(h->interval_ms, 90000);
    assert_int_equal(h->timeout_ms, 500);
    assert_int_equal(h->start_period_ms, 10000);
    assert_int_equal(h->retries, 7);
    h = &svc(p, "cmd")->healthcheck;
    assert_int_equal(h->kind, ENVMGR_HEALTHCHECK_CMD);
    assert_int_equal(h->test.n, 3);
    assert_string_equal(h->test.items[2], "http://localhost");
    assert_int_equal(h->interval_ms, 30000);
    assert_int_equal(h->timeout_ms, 30000);
    assert_int_equal(h->retries, 3);
    h = &svc(p, "shell")->healthcheck;
    assert_int_equal(h->kind, ENVMGR_HEALTHCHECK_CMD_SHELL);
    assert_string_equal(h->test.items[0], "pg_isready || exit 1");
    assert_int_equal(svc(p, "none")->healthcheck.kind, ENVMGR_HEALTHCHECK_NONE);
    assert_int_equal(svc(p, "disabled")->healthcheck.kind, ENVMGR_HEALTHCHECK_NONE);
    envmgr_project_free(p);

    assert_string_equal(load_error("services:\n  s:\n    image: x\n    healthcheck:\n"
                                   "      test: [CMD]\n      interval: 1s\n"),
                        "compose.yaml:5:13: services.s.healthcheck.test: expected a command "
                        "string, [CMD, arg...], [CMD-SHELL, command] or [NONE]");
    assert_string_equal(load_error("services:\n  s:\n    image: x\n    healthcheck:\n"
                                   "      interval: 5 seconds\n"),
                        "compose.yaml:5:17: services.s.healthcheck.interval: invalid duration "
                        "'5 seconds': expected e.g. 30s, 1m30s or 500ms");
    assert_string_equal(load_error("services:\n  s:\n    image: x\n    healthcheck:\n"
                                   "      retries: many\n"),
                        "compose.yaml:5:16: services.s.healthcheck.retries: expected an integer "
                        "from 0 to 1000000, got 'many'");
}

/* ---- depends_on and cycles ---------------------------------------------------------------------
 */

static void test_depends_on_map(void **state)
{
    envmgr_project_t *p = load("services:\n"
                               "  db: {image: x}\n"
                               "  init: {image: x}\n"
                               "  cache: {image: x}\n"
                               "  app:\n"
                               "    image: x\n"
                               "    depends_on:\n"
                               "      db: {condition: service_healthy}\n"
                               "      init:\n"
                               "        condition: service_completed_successfully\n"
                               "        required: false\n"
                               "      cache:\n");
    const envmgr_service_t *app = svc(p, "app");
    assert_int_equal(app->n_depends_on, 3);
    assert_string_equal(app->depends_on[0].service, "db");
    assert_int_equal(app->depends_on[0].condition, ENVMGR_DEPENDS_HEALTHY);
    assert_true(app->depends_on[0].required);
    assert_int_equal(app->depends_on[1].condition, ENVMGR_DEPENDS_COMPLETED_SUCCESSFULLY);
    assert_false(app->depends_on[1].required);
    assert_int_equal(app->depends_on[2].condition, ENVMGR_DEPENDS_STARTED);
    envmgr_project_free(p);
}

static void test_depends_on_errors(void **state)
{
    assert_string_equal(load_error("services:\n"
                                   "  app:\n"
                                   "    image: x\n"
                                   "    depends_on: [db, cache]\n"
                                   "  db: {image: x}\n"),
                        "compose.yaml:4:22: services.app.depends_on[1]: unknown service 'cache'");
    assert_string_equal(load_error("services:\n"
                                   "  app:\n"
                                   "    image: x\n"
                                   "    depends_on:\n"
                                   "      db: {condition: service_ready}\n"
                                   "  db: {image: x}\n"),
                        "compose.yaml:5:23: services.app.depends_on.db.condition: unknown "
                        "condition 'service_ready': expected service_started, service_healthy or "
                        "service_completed_successfully");
    assert_string_equal(load_error("services:\n"
                                   "  a: {image: x, depends_on: [b]}\n"
                                   "  b: {image: x, depends_on: [c]}\n"
                                   "  c: {image: x, depends_on: [a]}\n"),
                        "compose.yaml:2: services.a.depends_on: dependency cycle a -> b -> c -> a");
    assert_string_equal(load_error("services:\n"
                                   "  x: {image: x}\n"
                                   "  self: {image: x, depends_on: [self]}\n"),
                        "compose.yaml:3: services.self.depends_on: dependency cycle self -> self");
}

/* ---- volumes and tmpfs
 * --------------------------------------------------------------------------- */

static void test_volumes(void **state)
{
    envmgr_project_t *p = load("services:\n"
                               "  a:\n"
                               "    image: x\n"
                               "    volumes:\n"
                               "      - data:/var/lib/mysql\n"
                               "      - /abs/path:/in:ro\n"
                               "      - ./rel/../init:/docker-entrypoint-initdb.d:ro\n"
                               "      - /anonymous\n"
                               "      - type: tmpfs\n"
                               "        target: /scratch\n"
                               "        tmpfs: {size: 64m}\n"
                               "      - type: bind\n"
                               "        source: ./conf\n"
                               "        target: /etc/app\n"
                               "        read_only: true\n"
                               "      - type: volume\n"
                               "        source: data\n"
                               "        target: /backup\n"
                               "    tmpfs: [/run, \"/tmp:size=1g\"]\n"
                               "  b:\n"
                               "    image: x\n"
                               "    tmpfs: /cache\n"
                               "volumes:\n"
                               "  data:\n"
                               "  ext:\n"
                               "    external: true\n"
                               "    name: shared-ext\n"
                               "    labels: [team=search]\n");
    const envmgr_service_t *a = svc(p, "a");
    envmgr_cleanup_free char *init = envmgr_xasprintf("%s/init", tmpdir);
    envmgr_cleanup_free char *conf = envmgr_xasprintf("%s/conf", tmpdir);
    assert_int_equal(a->n_mounts, 9);
    assert_int_equal(a->mounts[0].type, ENVMGR_MOUNT_VOLUME);
    assert_string_equal(a->mounts[0].source, "data");
    assert_string_equal(a->mounts[0].target, "/var/lib/mysql");
    assert_false(a->mounts[0].read_only);
    assert_int_equal(a->mounts[1].type, ENVMGR_MOUNT_BIND);
    assert_string_equal(a->mounts[1].source, "/abs/path");
    assert_true(a->mounts[1].read_only);
    assert_int_equal(a->mounts[2].type, ENVMGR_MOUNT_BIND);
    assert_string_equal(a->mounts[2].source, init);
    assert_int_equal(a->mounts[3].type, ENVMGR_MOUNT_VOLUME);
    assert_null(a->mounts[3].source);
    assert_string_equal(a->mounts[3].target, "/anonymous");
    assert_int_equal(a->mounts[4].type, ENVMGR_MOUNT_TMPFS);
    assert_int_equal(a->mounts[4].tmpfs_size, 64 << 20);
    assert_int_equal(a->mounts[5].type, ENVMGR_MOUNT_BIND);
    assert_string_equal(a->mounts[5].source, conf);
    assert_true(a->mounts[5].read_only);
    assert_string_equal(a->mounts[6].source, "data");
    assert_string_equal(a->mounts[6].target, "/backup");
    assert_int_equal(a->mounts[7].type, ENVMGR_MOUNT_TMPFS);
    assert_string_equal(a->mounts[7].target, "/run");
    assert_int_equal(a->mounts[8].tmpfs_size, 1 << 30);
    assert_int_equal(svc(p, "b")->n_mounts, 1);
    assert_string_equal(svc(p, "b")->mounts[0].target, "/cache");
    assert_int_equal(p->n_volumes, 2);
    assert_string_equal(p->volumes[0].key, "data");
    assert_null(p->volumes[0].name);
    assert_false(p->volumes[0].external);
    assert_string_equal(p->volumes[1].name, "shared-ext");
    assert_true(p->volumes[1].external);
    assert_string_equal(env_of(&p->volumes[1].labels, "team"), "search");
    envmgr_project_free(p);

    assert_string_equal(load_error("services:\n  a:\n    image: x\n    volumes: [\"db:/data\"]\n"),
                        "compose.yaml:4:15: services.a.volumes[0]: volume 'db' is not declared "
                        "under the top-level 'volumes:' key");
    assert_string_equal(load_error("services:\n  a:\n    image: x\n    volumes: [\"/a:rel\"]\n"),
                        "compose.yaml:4:15: services.a.volumes[0]: invalid volume '/a:rel': the "
                        "container path must be absolute");
    assert_string_equal(load_error("services:\n  a:\n    image: x\n    volumes: [\"/a:/b:rx\"]\n"),
                        "compose.yaml:4:15: services.a.volumes[0]: unknown volume option 'rx': "
                        "expected ro or rw");
}

/* ---- simple keys, unknown and unsupported keys -------------------------------------------------
 */

static void test_simple_keys(void **state)
{
    envmgr_project_t *p = load("services:\n"
                               "  a:\n"
                               "    image: x\n"
                               "    working_dir: /app\n"
                               "    user: \"1000:1000\"\n"
                               "    init: true\n"
                               "    hostname: db.local\n"
                               "    restart: unless-stopped\n"
                               "    x-note: ignored\n"
                               "    x-envtest:\n"
                               "      probe: {tcp: 3306}\n"
                               "      tags: [a, 2, true]\n"
                               "      typed: [1.5, \"3\", 0x10, +inf, ~, -7]\n");
    const envmgr_service_t *a = svc(p, "a");
    assert_string_equal(a->working_dir, "/app");
    assert_string_equal(a->user, "1000:1000");
    assert_true(a->init);
    assert_string_equal(a->hostname, "db.local");
    assert_non_null(a->x_envtest);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(a->x_envtest, "probe"), "tcp")), 3306);
    json_t *tags = json_object_get(a->x_envtest, "tags");
    assert_string_equal(json_string_value(json_array_get(tags, 0)), "a");
    assert_true(json_is_integer(json_array_get(tags, 1)));
    assert_true(json_is_true(json_array_get(tags, 2)));
    json_t *typed = json_object_get(a->x_envtest, "typed");
    assert_true(json_real_value(json_array_get(typed, 0)) == 1.5);
    assert_string_equal(json_string_value(json_array_get(typed, 1)), "3");
    assert_string_equal(json_string_value(json_array_get(typed, 2)), "0x10");
    assert_string_equal(json_string_value(json_array_get(typed, 3)), "+inf");
    assert_true(json_is_null(json_array_get(typed, 4)));
    assert_int_equal(json_integer_value(json_array_get(typed, 5)), -7);
    assert_string_equal(warned(), "");
    envmgr_project_free(p);
}

/* ---- anchors and merge keys ------------------------------------------------------------------ */

static void test_anchors_and_merge(void **state)
{
    envmgr_project_t *p = load("x-base: &base\n"
                               "  image: base:1\n"
                               "  environment: &env\n"
                               "    A: \"1\"\n"
                               "    B: \"2\"\n"
                               "  labels: {tier: base}\n"
                               "x-extra: &extra\n"
                               "  labels: {tier: extra}\n"
                               "  user: nobody\n"
                               "services:\n"
                               "  one:\n"
                               "    <<: *base\n"
                               "    image: one:2\n"
                               "  two:\n"
                               "    <<: [*extra, *base]\n"
                               "  three:\n"
                               "    image: x\n"
                               "    environment:\n"
                               "      <<: *env\n"
                               "      B: override\n"
                               "      C: \"3\"\n");
    const envmgr_service_t *one = svc(p, "one"), *two = svc(p, "two"), *three = svc(p, "three");
    assert_string_equal(one->image, "one:2");
    assert_string_equal(env_of(&one->environment, "A"), "1");
    assert_string_equal(env_of(&one->labels, "tier"), "base");
    assert_string_equal(two->image, "base:1");
    assert_string_equal(env_of(&two->labels, "tier"), "extra"); /* earlier merge source wins */
    assert_string_equal(two->user, "nobody");
    assert_string_equal(env_of(&three->environment, "A"), "1");
    assert_string_equal(env_of(&three->environment, "B"), "override");
    assert_string_equal(env_of(&three->environment, "C"), "3");
    envmgr_project_free(p);
    assert_string_equal(load_error("x: &a [1]\nservices:\n  s:\n    <<: *a\n    image: x\n"),
                        "compose.yaml:4:5: merge key '<<' needs a mapping or a list of mappings");
}

static void test_alias_bomb(void **state)
{
    const char *bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
                       "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                       "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
                       "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
                       "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
                       "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
                       "services: {s: {image: x}}\n";
    const char *msg = load_error(bomb);
    assert_non_null(strstr(msg, "document too large after expanding aliases"));
}

/* ---- JSON ----------------------------------------------------------------------------------- */

static void test_to_json(void **state)
{
    envmgr_project_t *p = load("name: demo\n"
                               "services:\n"
                               "  db:\n"
                               "    image: mysql:8.4\n"
                               "    ports: [\"127.0.0.1:13306:3306\", \"9000\"]\n"
                               "    healthcheck:\n"
                               "      test: [CMD, mysqladmin, ping]\n"
                               "      interval: 1500ms\n"
                               "      timeout: 2m\n"
                               "    volumes: [data:/var/lib/mysql]\n"
                               "  app:\n"
                               "    build: ./app\n"
                               "    command: [run, --fast]\n"
                               "    depends_on: {db: {condition: service_healthy}}\n"
                               "volumes: {data: {}}\n"
                               "x-envtest: {fixtures: [seoul]}\n");
    json_t *j = envmgr_project_to_json(p, true);
    char *s = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);
    envmgr_cleanup_free char *want = envmgr_xasprintf(
        "{\"name\":\"demo\",\"networks\":{\"default\":{\"name\":\"demo_default\"}},"
        "\"services\":{\"app\":{\"build\":{\"context\":\"%s/app\","
        "\"dockerfile\":\"Dockerfile\"},\"command\":[\"run\",\"--fast\"],\"depends_on\":{\"db\":"
        "{\"condition\":\"service_healthy\",\"required\":true}},\"networks\":{\"default\":null}},"
        "\"db\":{\"healthcheck\":{"
        "\"interval\":\"1.5s\",\"retries\":3,\"start_period\":\"0s\",\"test\":[\"CMD\","
        "\"mysqladmin\",\"ping\"],\"timeout\":\"2m0s\"},\"image\":\"mysql:8.4\",\"networks\":{"
        "\"default\":null},"
        "\"ports\":[{"
        "\"host_ip\":\"127.0.0.1\",\"mode\":\"ingress\",\"protocol\":\"tcp\",\"published\":"
        "\"13306\",\"target\":3306},{\"host_ip\":\"127.0.0.1\",\"mode\":\"ingress\",\"protocol\":"
        "\"tcp\",\"target\":9000}],\"volumes\":[{\"source\":\"data\",\"target\":\"/var/lib/mysql\","
        "\"type\":\"volume\"}]}},\"volumes\":{\"data\":{}},\"x-envtest\":{\"fixtures\":[\"seoul\"]}"
        "}",
        tmpdir);
    assert_string_equal(s, want);
    free(s);
    json_decref(j);

    /* The per-service JSON changes when the service changes (config hashes). */
    json_t *a = envmgr_service_to_json(svc(p, "db"));
    envmgr_project_t *q = load("name: demo\nservices:\n  db:\n    image: mysql:8.4\n"
                               "    ports: [\"127.0.0.1:13307:3306\", \"9000\"]\n");
    json_t *b = envmgr_service_to_json(svc(q, "db"));
    assert_false(json_equal(a, b));
    json_decref(a);
    json_decref(b);
    envmgr_project_free(p);
    envmgr_project_free(q);
}

/* ---- files -------------------------------------------------------------------------------- */

static void test_default_file_lookup(void **state)
{
    envmgr_error_t err = {0};
    envmgr_project_t *p = NULL;
    assert_int_equal(envmgr_compose_load(NULL, NULL, &p, &err), -1);
    assert_int_equal(err.kind, ENVMGR_E_CONFIG);
    assert_string_equal(err.hint, "pass -f FILE");
    write_file("docker-compose.yml", "services: {old: {image: x}}\n");
    assert_int_equal(envmgr_compose_load(NULL, NULL, &p, &err), 0);
    assert_non_null(envmgr_project_service(p, "old"));
    envmgr_project_free(p);
    write_file("compose.yaml", "services: {new: {image: x}}\n");
    assert_int_equal(envmgr_compose_load(NULL, NULL, &p, &err), 0);
    assert_non_null(envmgr_project_service(p, "new"));
    envmgr_project_free(p);
    mkdir("compose", 0755);
    write_file("compose/compose.yaml", "services: {sub: {image: x}}\n");
    assert_int_equal(envmgr_compose_load(NULL, NULL, &p, &err), 0);
    assert_non_null(envmgr_project_service(p, "sub"));
    assert_string_equal(p->name, "compose");
    envmgr_project_free(p);
    assert_int_equal(envmgr_compose_load("missing.yaml", NULL, &p, &err), -1);
    assert_non_null(strstr(err.message, "missing.yaml"));
}

static void test_files_in_tree(void **state)
{
    const char *src = getenv("ENVTEST_SOURCE_DIR");
    if (!src)
        skip();
    envmgr_cleanup_free char *file = envmgr_xasprintf("%s/tests/compose/full.yaml", src);
    envmgr_cleanup_free char *dir = envmgr_xasprintf("%s/tests/compose", src);
    envmgr_error_t err = {0};
    envmgr_project_t *p = NULL;
    unsetenv("ENVTEST_T_FULL_TAG");
    if (envmgr_compose_load(file, NULL, &p, &err) < 0)
        fail_msg("%s", err.message);
    assert_string_equal(p->name, "full-test");
    const envmgr_service_t *db = svc(p, "mysql");
    assert_string_equal(db->image, "mysql:8.4-from-dotenv");
    assert_string_equal(env_of(&db->environment, "MYSQL_DATABASE"), "seoul");
    assert_string_equal(env_of(&db->environment, "FROM_ENV_FILE"), "yes");
    assert_int_equal(strlen(env_of(&db->environment, "MYSQL_PASSWORD")), 24);
    envmgr_cleanup_free char *init = envmgr_xasprintf("%s/initdb", dir);
    assert_string_equal(db->mounts[1].source, init);
    const envmgr_service_t *app = svc(p, "app");
    assert_string_equal(app->build->context, dir);
    assert_int_equal(app->depends_on[0].condition, ENVMGR_DEPENDS_HEALTHY);
    envmgr_project_free(p);
}

struct replay_counts {
    size_t loaded, failed;
};

static void replay_compose(void *ud, const char *path, const char *file)
{
    struct replay_counts *n = ud;
    envmgr_error_t err = {0};
    envmgr_project_t *p = NULL;
    if (envmgr_compose_load(path, NULL, &p, &err) == 0) {
        json_t *j = envmgr_project_to_json(p, true);
        assert_non_null(j);
        json_decref(j);
        envmgr_project_free(p);
        n->loaded++;
    } else {
        if (err.message[0] == '\0')
            fail_msg("%s: failed without a message", file);
        n->failed++;
    }
}

/* Every file of the fuzz corpus loads or fails cleanly (no crash; valgrind/ASan see the rest). */
static void test_fuzz_corpus_replay(void **state)
{
    struct replay_counts n = {0};
    long files = corpus_each("compose", replay_compose, &n);
    if (files == -2)
        skip();
    assert_true(files > 0);
    assert_true(n.loaded >= 3); /* the seed files are valid */
    assert_true(n.failed >= 1); /* cycle.yaml is not */
}

/* The secrets CI log masking must know (issue 17): x-envtest secrets, credential-named variables
 * of the services and of the connection variables, URL passwords; distinct, none too short. */
static void test_project_secrets(void **state)
{
    (void)state;
    setenv("MASK_TEST_SECRET", "s3cr3t-generated-value", 1);
    envmgr_project_t *p = load("services:\n"
                               "  db:\n"
                               "    image: mysql:8.4\n"
                               "    environment:\n"
                               "      MYSQL_ROOT_PASSWORD: ${MASK_TEST_SECRET}\n"
                               "      MYSQL_USER: seoul\n"
                               "      API_KEY: abc\n"
                               "  app:\n"
                               "    image: app\n"
                               "    environment:\n"
                               "      DATABASE_URL: mysql://seoul:url-pass%40x@db:3306/seoul\n"
                               "      GITHUB_TOKEN: tok-123456\n"
                               "      PLAIN: mysql://nopassword@db/x\n"
                               "x-envtest: {secrets: [MASK_TEST_SECRET]}\n");
    envmgr_kvlist_t vars = {0};
    envmgr_kvlist_set(&vars, "ENVTEST_MYSQL_PASSWORD", "var-password");
    envmgr_kvlist_set(&vars, "ENVTEST_MYSQL_USER", "seoul");
    envmgr_kvlist_set(&vars, "SCA_ADMIN_KEY", "admin-key-value");
    envmgr_kvlist_set(&vars, "OTHER_URL", "http://u:inline-pw@h/x?q=1");
    envmgr_strv_t out = {0};
    envmgr_project_secrets(p, &vars, &out);
    const char *want[] = {"s3cr3t-generated-value", "url-pass%40x",    "tok-123456",
                          "var-password",           "admin-key-value", "inline-pw"};
    assert_int_equal(out.n, sizeof(want) / sizeof(want[0]));
    for (size_t i = 0; i < out.n; i++)
        assert_string_equal(out.items[i], want[i]);
    assert_true(envmgr_secret_name("ENVTEST_MYSQL_ROOT_PASSWORD"));
    assert_true(envmgr_secret_name("sca_admin_key"));
    assert_false(envmgr_secret_name("KEYBOARD"));
    assert_false(envmgr_secret_name("ENVTEST_MYSQL_USER"));
    envmgr_strv_free(&out);
    envmgr_kvlist_free(&vars);
    envmgr_project_free(p);
    unsetenv("MASK_TEST_SECRET");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_basic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ports_short, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ports_long_and_warning, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ports_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expose, setup, teardown),
        cmocka_unit_test_setup_teardown(test_build, setup, teardown),
        cmocka_unit_test_setup_teardown(test_command_entrypoint, setup, teardown),
        cmocka_unit_test_setup_teardown(test_environment_forms, setup, teardown),
        cmocka_unit_test_setup_teardown(test_env_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_labels, setup, teardown),
        cmocka_unit_test_setup_teardown(test_healthcheck_forms, setup, teardown),
        cmocka_unit_test_setup_teardown(test_depends_on_map, setup, teardown),
        cmocka_unit_test_setup_teardown(test_depends_on_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_volumes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_simple_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_anchors_and_merge, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alias_bomb, setup, teardown),
        cmocka_unit_test_setup_teardown(test_to_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_project_secrets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_default_file_lookup, setup, teardown),
        cmocka_unit_test_setup_teardown(test_files_in_tree, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fuzz_corpus_replay, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
