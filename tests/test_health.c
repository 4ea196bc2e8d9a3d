/* Health without Docker: envmgr_health_wait and friends against the stateful fake engine
 * (fake_engine.h), whose execs give scripted results. Checks that pass after N tries, the engine's
 * unhealthy verdict, containers that exit, checks that hang, deadlines, the port probe. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fake_engine.h"
#include "health.h"
#include "probe.h"

#include <pthread.h>
#include <stdio.h>
#include <sys/stat.h>

/* A wait that stops at its deadline only. */
#define LIMIT(ms) (&(envmgr_wait_limit_t){.deadline_ms = (ms)})

struct env {
    fake_engine_t *fake;
    envmgr_engine_t *engine;
    envmgr_healthcheck_t hc; /* CMD ready, timeout 1 s */
    envmgr_buf_t output;
};

static int setup(void **state)
{
    struct env *e = envmgr_xcalloc(1, sizeof(*e));
    e->fake = fake_engine_start();
    envmgr_error_t err = {0};
    if (envmgr_engine_open(fake_engine_host(e->fake), &e->engine, &err) < 0)
        fail_msg("open: %s", err.message);
    e->hc.kind = ENVMGR_HEALTHCHECK_CMD;
    envmgr_strv_push(&e->hc.test, "ready");
    e->hc.timeout_ms = 1000;
    e->hc.interval_ms = 1000;
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    struct env *e = *state;
    envmgr_engine_close(e->engine);
    fake_engine_free(e->fake);
    envmgr_healthcheck_clear(&e->hc);
    envmgr_buf_free(&e->output);
    free(e);
    return 0;
}

static void test_passes_after_three_tries(void **state)
{
    struct env *e = *state;
    const char *id = fake_engine_add_container(e->fake, "h", NULL);
    fake_exec_t checks[] = {
        {.exit_code = 1, .out = "no"}, {.exit_code = 7, .err = "still no"}, {.out = "yes\n"}};
    fake_engine_exec_script(e->fake, "h", checks, 3);
    envmgr_error_t err = {0};
    assert_int_equal(
        envmgr_health_wait(e->engine, id, &e->hc, LIMIT(envmgr_now_ms() + 10000), &e->output, &err),
        0);
    assert_int_equal(fake_engine_count_requests(e->fake, "POST /containers/*/exec"), 3);
    assert_string_equal(e->output.data, "yes\n");
    /* the check is the service's: CMD ready */
    envmgr_cleanup_json json_t *body =
        json_loads(fake_engine_request_body(e->fake, 2), 0, NULL); /* after ping and inspect */
    assert_string_equal(json_string_value(json_array_get(json_object_get(body, "Cmd"), 0)),
                        "ready");
}

static void test_never_passes_in_time(void **state)
{
    struct env *e = *state;
    const char *id = fake_engine_add_container(e->fake, "h", NULL);
    fake_engine_exec_script(e->fake, "h", &(fake_exec_t){.exit_code = 1, .out = "warming up"}, 1);
    envmgr_error_t err = {0};
    int64_t t0 = envmgr_now_ms();
    assert_int_equal(envmgr_health_wait(e->engine, id, &e->hc, LIMIT(t0 + 300), &e->output, &err),
                     -1);
    int64_t elapsed = envmgr_now_ms() - t0;
    assert_int_equal(err.kind, ENVMGR_E_ENV);
    assert_non_null(strstr(err.message, "health check did not pass in time ("));
    assert_true(fake_engine_count_requests(e->fake, "POST /containers/*/exec") >= 2);
    assert_string_equal(e->output.data, "warming up");
    /* stopped at the deadline: the bound is loose for a loaded machine (a sanitizer build, CI) */
    assert_true(elapsed >= 300 && elapsed < 5000);
}

struct cancel_later {
    atomic_bool *flag;
    int after_ms;
};

static void *cancel_later_thread(void *arg)
{
    struct cancel_later *c = arg;
    envmgr_sleep_ms(c->after_ms);
    atomic_store(c->flag, true);
    return NULL;
}

/* up's other service failed: every wait stops within a poll, with ENVMGR_E_INTERRUPTED "stopped",
 * long before its own deadline (the health check, the port probe, a completion) */
static void test_cancelled_wait_stops(void **state)
{
    struct env *e = *state;
    const char *id = fake_engine_add_container(e->fake, "h", NULL);
    fake_engine_exec_script(e->fake, "h", &(fake_exec_t){.exit_code = 1, .out = "warming up"}, 1);
    atomic_bool cancel = false;
    int64_t t0 = envmgr_now_ms();
    envmgr_wait_limit_t limit = {.deadline_ms = t0 + 20000, .cancel = &cancel};
    struct cancel_later later = {&cancel, 200};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, cancel_later_thread, &later), 0);
    envmgr_error_t err = {0};
    assert_int_equal(envmgr_health_wait(e->engine, id, &e->hc, &limit, &e->output, &err), -1);
    int64_t elapsed = envmgr_now_ms() - t0;
    pthread_join(th, NULL);
    assert_int_equal(err.kind, ENVMGR_E_INTERRUPTED);
    assert_string_equal(err.message, "stopped");
    assert_true(elapsed >= 200 && elapsed < 5000); /* not the 20 s deadline */
    /* already cancelled: the probe and the completion wait stop before asking anything */
    size_t before = fake_engine_count_requests(e->fake, "GET /containers/*/json");
    assert_int_equal(envmgr_health_wait(e->engine, id, NULL, &limit, &e->output, &err), -1);
    assert_string_equal(err.message, "stopped");
    assert_int_equal(envmgr_health_wait_completed(e->engine, id, &limit, &err), -1);
    assert_string_equal(err.message, "stopped");
    assert_int_equal(fake_engine_count_requests(e->fake, "GET /containers/*/json"), before);
}

static void test_engine_says_unhealthy(void **state)
{
    struct env *e = *state;
    const char *id = fake_engine_add_container(
        e->fake, "h", "{\"State\":{\"Status\":\"running\",\"Health\":{\"Status\":\"unhealthy\"}}}");
    envmgr_error_t err = {0};
    assert_int_equal(
        envmgr_health_wait(e->engine, id, &e->hc, LIMIT(envmgr_now_ms() + 10000), &e->output, &err),
        -1);
    assert_string_equal(err.message, "the engine reports the container unhealthy");
    assert_int_equal(fake_engine_count_requests(e->fake, "POST /containers/*/exec"), 0);
}

static void test_exited_container_fails_at_once(void **state)
{
    struct env *e = *state;
    const char *id = fake_engine_add_container(
        e->fake, "h", "{\"State\":{\"Status\":\"exited\",\"ExitCode\":3}}");
    envmgr_error_t err = {0};
    int64_t t0 = envmgr_now_ms();
    assert_int_equal(envmgr_health_wait(e->engine, id, &e->hc, LIMIT(t0 + 10000), &e->output, &err),
                     -1);
    assert_string_equal(err.message, "container exited with code 3 while envtest waited for it");
    assert_true(envmgr_now_ms() - t0 < 5000); /* at once: not the 10 s deadline */
    /* and so without a healthcheck */
    assert_int_equal(envmgr_health_wait(e->engine, id, NULL, LIMIT(t0 + 10000), &e->output, &err),
                     -1);
    assert_string_equal(err.message, "container exited with code 3 while envtest waited for it");
}

/* The engine's State.OOMKilled: said, with the limit and what to do, at once. */
static void test_oom_killed_says_so(void **state)
{
    struct env *e = *state;
    const char *id = fake_engine_add_container(
        e->fake, "h",
        "{\"State\":{\"Status\":\"exited\",\"ExitCode\":137,\"OOMKilled\":true},"
        "\"HostConfig\":{\"Memory\":16777216}}");
    envmgr_error_t err = {0};
    int64_t t0 = envmgr_now_ms();
    assert_int_equal(envmgr_health_wait(e->engine, id, &e->hc, LIMIT(t0 + 10000), &e->output, &err),
                     -1);
    assert_string_equal(err.message, "container killed by the OOM killer (the engine's "
                                     "State.OOMKilled; exited, exit code 137): it needs more "
                                     "memory than its limit of 16 MiB while envtest waited for it");
    assert_non_null(strstr(err.hint, "raise the service's mem_limit"));
    assert_true(envmgr_now_ms() - t0 < 5000); /* at once: not the 10 s deadline */
    /* without a limit: the machine's memory */
    const char *id2 = fake_engine_add_container(
        e->fake, "h2", "{\"State\":{\"Status\":\"exited\",\"ExitCode\":137,\"OOMKilled\":true}}");
    assert_int_equal(envmgr_health_wait(e->engine, id2, NULL, LIMIT(t0 + 10000), &e->output, &err),
                     -1);
    assert_non_null(strstr(err.message, "the machine (or the engine's VM) ran out of memory"));
}

static void test_hung_check_times_out_then_passes(void **state)
{
    struct env *e = *state;
    const char *id = fake_engine_add_container(e->fake, "h", NULL);
    fake_exec_t checks[] = {{.hang = true}, {.exit_code = 0, .out = "ok"}};
    fake_engine_exec_script(e->fake, "h", checks, 2);
    e->hc.timeout_ms = 200;
    envmgr_error_t err = {0};
    int64_t t0 = envmgr_now_ms();
    assert_int_equal(envmgr_health_wait(e->engine, id, &e->hc, LIMIT(t0 + 10000), &e->output, &err),
                     0);
    int64_t elapsed = envmgr_now_ms() - t0;
    /* the hung check cut by its 200 ms timeout (libcurl's, which fired at 178 ms under load),
     * not returned at once, and not the 10 s deadline */
    assert_true(elapsed >= 100 && elapsed < 8000);
    assert_int_equal(fake_engine_count_requests(e->fake, "POST /containers/*/exec"), 2);
    assert_string_equal(e->output.data, "ok");
}

static void test_probe_once(void **state)
{
    struct env *e = *state;
    const char *id = fake_engine_add_container(e->fake, "h", NULL);
    fake_exec_t checks[] = {{.exit_code = 1}, {.exit_code = 0}};
    fake_engine_exec_script(e->fake, "h", checks, 2);
    envmgr_error_t err = {0};
    bool passed = true;
    assert_int_equal(envmgr_health_probe(e->engine, id, &e->hc, &passed, &err), 0);
    assert_false(passed);
    assert_int_equal(envmgr_health_probe(e->engine, id, &e->hc, &passed, &err), 0);
    assert_true(passed);
    /* a container that is gone: the check cannot run */
    assert_int_equal(envmgr_health_probe(e->engine, "missing", &e->hc, &passed, &err), -1);
    assert_false(passed);
}

static void test_completed(void **state)
{
    struct env *e = *state;
    const char *ok = fake_engine_add_container(
        e->fake, "ok", "{\"State\":{\"Status\":\"exited\",\"ExitCode\":0}}");
    const char *bad = fake_engine_add_container(
        e->fake, "bad", "{\"State\":{\"Status\":\"exited\",\"ExitCode\":2}}");
    const char *running = fake_engine_add_container(e->fake, "running", NULL);
    envmgr_error_t err = {0};
    int64_t t0 = envmgr_now_ms();
    assert_int_equal(envmgr_health_wait_completed(e->engine, ok, LIMIT(t0 + 5000), &err), 0);
    assert_int_equal(envmgr_health_wait_completed(e->engine, bad, LIMIT(t0 + 5000), &err), -1);
    assert_string_equal(err.message, "exited with code 2 (expected 0)");
    assert_int_equal(
        envmgr_health_wait_completed(e->engine, running, LIMIT(envmgr_now_ms() + 200), &err), -1);
    assert_string_equal(err.message, "did not complete in time");
}

/* Without a healthcheck a container is ready when its TCP ports accept connections; the fake puts
 * containers at 127.0.0.1, so a socket of the test's plays the service. */
static void test_ports_probe(void **state)
{
    struct env *e = *state;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(addr);
    assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&addr, &len), 0);
    int port = ntohs(addr.sin_port);
    envmgr_cleanup_free char *inspect = envmgr_xasprintf(
        "{\"Config\":{\"ExposedPorts\":{\"%d/tcp\":{}}},"
        "\"NetworkSettings\":{\"Networks\":{\"n\":{\"IPAddress\":\"127.0.0.1\"}}}}",
        port);
    const char *id = fake_engine_add_container(e->fake, "h", inspect);
    envmgr_error_t err = {0};
    /* bound but not listening: refused */
    assert_int_equal(
        envmgr_health_wait(e->engine, id, NULL, LIMIT(envmgr_now_ms() + 200), &e->output, &err),
        -1);
    assert_string_equal(err.message, "ports did not accept connections in time (state running)");
    assert_int_equal(listen(fd, 4), 0);
    assert_int_equal(
        envmgr_health_wait(e->engine, id, NULL, LIMIT(envmgr_now_ms() + 5000), &e->output, &err),
        0);
    close(fd);
}

/* ---- a VM engine: ports reached through published ports (probe.h) ---------------------------- */

/* A port forwarder with nothing behind it, as Docker Desktop's or docker-proxy: it accepts every
 * connection and closes it at once. */
struct forwarder {
    int fd;
    int port;
    pthread_t thread;
    volatile int stop;
};

static void *forwarder_main(void *arg)
{
    struct forwarder *f = arg;
    while (!f->stop) {
        int c = accept(f->fd, NULL, NULL);
        if (c >= 0)
            close(c);
    }
    return NULL;
}

/* A listening socket on ip (host order), on a port the kernel picks. */
static int listener_at(uint32_t ip, int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(ip)};
    socklen_t len = sizeof(addr);
    assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&addr, &len), 0);
    assert_int_equal(listen(fd, 16), 0);
    *port = ntohs(addr.sin_port);
    return fd;
}

static int listener(int *port)
{
    return listener_at(INADDR_LOOPBACK, port);
}

static void test_published_port_behind_forwarder(void **state)
{
    struct env *e = *state;
    struct forwarder f = {0};
    f.fd = listener(&f.port);
    /* the container's own address would be reachable (127.0.0.1): the probe must not use it */
    envmgr_cleanup_free char *inspect = envmgr_xasprintf(
        "{\"Config\":{\"ExposedPorts\":{\"3306/tcp\":{}}},"
        "\"NetworkSettings\":{\"Networks\":{\"n\":{\"IPAddress\":\"127.0.0.1\"}},"
        "\"Ports\":{\"3306/tcp\":[{\"HostIp\":\"127.0.0.1\",\"HostPort\":\"%d\"}]}}}",
        f.port);
    const char *id = fake_engine_add_container(e->fake, "vm", inspect);
    setenv("ENVTEST_PROBE", "published", 1);
    assert_int_equal(pthread_create(&f.thread, NULL, forwarder_main, &f), 0);
    envmgr_error_t err = {0};
    /* the forwarder accepts and closes: nothing listens behind it */
    assert_int_equal(
        envmgr_health_wait(e->engine, id, NULL, LIMIT(envmgr_now_ms() + 600), &e->output, &err),
        -1);
    assert_string_equal(err.message, "ports did not accept connections in time (state running)");
    /* the service listens now: connections stay open (they wait in the listener's queue) */
    f.stop = 1;
    int wake = socket(AF_INET, SOCK_STREAM, 0); /* unblocks the forwarder's accept */
    struct sockaddr_in addr = {.sin_family = AF_INET,
                               .sin_port = htons((uint16_t)f.port),
                               .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(connect(wake, (struct sockaddr *)&addr, sizeof(addr)), 0);
    pthread_join(f.thread, NULL);
    close(wake);
    memset(&err, 0, sizeof(err));
    assert_int_equal(
        envmgr_health_wait(e->engine, id, NULL, LIMIT(envmgr_now_ms() + 5000), &e->output, &err),
        0);
    unsetenv("ENVTEST_PROBE");
    close(f.fd);
}

/* A service that speaks first (MySQL's greeting) and closes: it accepted. */
static void *greet_main(void *arg)
{
    struct forwarder *f = arg;
    int c = accept(f->fd, NULL, NULL);
    if (c >= 0) {
        (void)!write(c, "J", 1);
        close(c);
    }
    return NULL;
}

/* A target reached through its published ports: container port 3306 at host_ip:host_port. */
static envmgr_probe_target_t published_at(const char *host_ip, int host_port)
{
    envmgr_probe_target_t t = {.published = true, .n_map = 1};
    t.map[0].container_port = 3306;
    t.map[0].host_port = host_port;
    snprintf(t.map[0].host_ip, sizeof(t.map[0].host_ip), "%s", host_ip);
    return t;
}

static void test_published_port_greeting(void **state)
{
    (void)state;
    struct forwarder f = {0};
    f.fd = listener(&f.port);
    envmgr_probe_target_t t = published_at("127.0.0.1", f.port);
    assert_int_equal(pthread_create(&f.thread, NULL, greet_main, &f), 0);
    assert_true(envmgr_probe_port(&t, 3306));
    pthread_join(f.thread, NULL);
    close(f.fd);
    /* nothing listens at all: refused */
    assert_false(envmgr_probe_port(&t, 3306));
    /* a port that is not published cannot be waited on: it counts as accepting */
    assert_true(envmgr_probe_port(&t, 8080));
}

/* A port published on one address of this machine (here 127.0.0.2, the engine's HostIp) is probed
 * there: 127.0.0.1 has nothing on that port. */
static void test_published_port_at_its_address(void **state)
{
    (void)state;
    struct forwarder f = {0};
    f.fd = listener_at(INADDR_LOOPBACK + 1, &f.port);
    envmgr_probe_target_t t = published_at("127.0.0.2", f.port);
    assert_int_equal(pthread_create(&f.thread, NULL, greet_main, &f), 0);
    assert_true(envmgr_probe_port(&t, 3306));
    pthread_join(f.thread, NULL);
    /* the same port on 127.0.0.1 (where the probe looked before): refused */
    snprintf(t.map[0].host_ip, sizeof(t.map[0].host_ip), "127.0.0.1");
    assert_false(envmgr_probe_port(&t, 3306));
    close(f.fd);
}

static void test_probe_target_published_ports(void **state)
{
    (void)state;
    envmgr_cleanup_json json_t *inspect = json_loads(
        "{\"Id\":\"abc\",\"State\":{\"Pid\":0},\"NetworkSettings\":{"
        "\"Networks\":{\"p_default\":{\"IPAddress\":\"172.18.0.2\"}},"
        "\"Ports\":{\"3306/tcp\":[{\"HostIp\":\"::\",\"HostPort\":\"5000\"},"
        "{\"HostIp\":\"0.0.0.0\",\"HostPort\":\"49153\"}],"
        "\"8080/tcp\":null,\"53/udp\":[{\"HostIp\":\"127.0.0.1\",\"HostPort\":\"5353\"}],"
        "\"9000/tcp\":[{\"HostIp\":\"192.0.2.7\",\"HostPort\":\"49160\"}]}},"
        "\"Config\":{\"ExposedPorts\":{\"3306/tcp\":{},\"8080/tcp\":{},\"53/udp\":{}}}}",
        0, NULL);
    assert_non_null(inspect);
    envmgr_probe_target_t t;
    envmgr_error_t err = {0};
    const char *host;
    int port;
    setenv("ENVTEST_PROBE", "published", 1);
    assert_int_equal(envmgr_probe_target_get(NULL, inspect, &t, &err), 0);
    assert_true(t.published);
    assert_true(envmgr_probe_address(&t, 3306, &host, &port));
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(port, 49153); /* the IPv4 binding, not the IPv6 one */
    assert_false(envmgr_probe_address(&t, 8080, &host, &port)); /* exposed, not published */
    assert_false(envmgr_probe_address(&t, 53, &host, &port));   /* udp */
    /* published on one address of this machine: reached there, not on 127.0.0.1 */
    assert_true(envmgr_probe_address(&t, 9000, &host, &port));
    assert_string_equal(host, "192.0.2.7");
    assert_int_equal(port, 49160);
    /* the service's tcp ports, for the port probe and the http/sql waits: not the udp one */
    assert_int_equal(t.n_tcp_ports, 2);
    assert_int_equal(t.tcp_ports[0] + t.tcp_ports[1], 3306 + 8080);
    setenv("ENVTEST_PROBE", "container", 1);
    assert_int_equal(envmgr_probe_target_get(NULL, inspect, &t, &err), 0);
    assert_false(t.published);
    assert_true(envmgr_probe_address(&t, 8080, &host, &port));
    assert_string_equal(host, "172.18.0.2");
    assert_int_equal(port, 8080);
    /* automatic: a pid that is not this machine's (beyond any pid_max) means a VM */
    unsetenv("ENVTEST_PROBE");
    json_object_set_new(json_object_get(inspect, "State"), "Pid", json_integer(1999999999));
    assert_int_equal(envmgr_probe_target_get(NULL, inspect, &t, &err), 0);
    assert_true(t.published);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_process_here(void **state)
{
    (void)state;
    char proc[] = "/tmp/envtest-proc-XXXXXX";
    assert_non_null(mkdtemp(proc));
    envmgr_cleanup_free char *dir = envmgr_xasprintf("%s/123", proc);
    envmgr_cleanup_free char *cg = envmgr_xasprintf("%s/123/cgroup", proc);
    assert_int_equal(mkdir(dir, 0755), 0);
    const char *id = "5f1c0ffee0ddba11ab";
    write_file(cg, "0::/system.slice/docker-5f1c0ffee0ddba11ab.scope\n");
    assert_true(envmgr_probe_process_here(proc, 123, id));
    /* a pid of this kernel that is some other process (a VM engine's pid numbering) */
    assert_false(envmgr_probe_process_here(proc, 123, "0123456789abcdef"));
    assert_false(envmgr_probe_process_here(proc, 456, id)); /* no such process here */
    assert_true(envmgr_probe_process_here(proc, 0, id));    /* unknown: as before */
    unlink(cg);
    rmdir(dir);
    rmdir(proc);
}

/* envtest in a container of the engine it drives: in a network namespace of its own, the engine
 * handle gets the container as its self (envtest joins the services' networks); not in the host's,
 * on another engine, outside a container, or when ENVTEST_PROBE chose. */
static const char *prepared_self(envmgr_engine_t *engine, const char *root)
{
    envmgr_error_t err = {0};
    envmgr_engine_set_self(engine, NULL);
    assert_int_equal(envmgr_probe_reach_prepare(engine, root, &err), 0);
    return envmgr_engine_self(engine);
}

static void test_reach_prepare_in_container(void **state)
{
    struct env *e = *state;
    char root[] = "/tmp/envtest-root-XXXXXX";
    assert_non_null(mkdtemp(root));
    envmgr_cleanup_free char *proc = envmgr_xasprintf("%s/proc", root);
    envmgr_cleanup_free char *self = envmgr_xasprintf("%s/proc/self", root);
    envmgr_cleanup_free char *mountinfo = envmgr_xasprintf("%s/proc/self/mountinfo", root);
    envmgr_cleanup_free char *dockerenv = envmgr_xasprintf("%s/.dockerenv", root);
    envmgr_cleanup_free char *run = envmgr_xasprintf("%s/run", root);
    envmgr_cleanup_free char *containerenv = envmgr_xasprintf("%s/run/.containerenv", root);
    assert_int_equal(mkdir(proc, 0755), 0);
    assert_int_equal(mkdir(self, 0755), 0);
    assert_int_equal(mkdir(run, 0755), 0);
    const char *dev = fake_engine_add_container(e->fake, "devbox",
                                                "{\"HostConfig\":{\"NetworkMode\":\"bridge\"}}");
    envmgr_cleanup_free char *docker_mounts = envmgr_xasprintf(
        "1210 1180 0:60 / / rw,relatime - overlay overlay rw\n"
        "1230 1210 254:1 /var/lib/docker/containers/%s/hostname /etc/hostname rw - ext4 /dev/vda1 "
        "rw\n",
        dev);
    write_file(mountinfo, docker_mounts);
    char id[65];
    /* not in a container (no .dockerenv): no decision, whatever the mounts say */
    assert_false(envmgr_probe_own_container(root, id));
    assert_null(prepared_self(e->engine, root));
    /* in one, on its own network: it is the handle's self, copied by a dup */
    write_file(dockerenv, "");
    assert_true(envmgr_probe_own_container(root, id));
    assert_string_equal(id, dev);
    assert_string_equal(prepared_self(e->engine, root), dev);
    envmgr_engine_t *dup = NULL;
    envmgr_error_t err = {0};
    assert_int_equal(envmgr_engine_dup(e->engine, &dup, &err), 0);
    assert_string_equal(envmgr_engine_self(dup), dev);
    envmgr_engine_close(dup);
    /* ENVTEST_PROBE set: the user chose how to reach the services */
    setenv("ENVTEST_PROBE", "published", 1);
    assert_null(prepared_self(e->engine, root));
    unsetenv("ENVTEST_PROBE");
    /* in the host's network namespace: the published ports are in reach */
    const char *hostnet = fake_engine_add_container(e->fake, "hostbox",
                                                    "{\"HostConfig\":{\"NetworkMode\":\"host\"}}");
    envmgr_cleanup_free char *podman_mounts = envmgr_xasprintf(
        "88 70 0:31 /containers/storage/overlay-containers/%s/userdata/hostname /etc/hostname "
        "rw - tmpfs tmpfs rw\n",
        hostnet);
    unlink(dockerenv);
    write_file(containerenv, "engine=\"podman-4.3.1\"\n"); /* Podman's marker */
    write_file(mountinfo, podman_mounts);
    assert_true(envmgr_probe_own_container(root, id));
    assert_string_equal(id, hostnet);
    assert_null(prepared_self(e->engine, root));
    /* a container this engine does not know (docker-in-docker: its own engine) */
    write_file(mountinfo, "1 0 0:1 /var/lib/docker/containers/"
                          "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef/hosts "
                          "/etc/hosts rw - ext4 /dev/vda1 rw\n");
    assert_true(envmgr_probe_own_container(root, id));
    assert_null(prepared_self(e->engine, root));
    /* a marker but no engine mounts: no id */
    write_file(mountinfo, "1210 1180 0:60 / / rw,relatime - overlay overlay rw\n");
    assert_false(envmgr_probe_own_container(root, id));
    /* other containers' mounts, as a host running Podman lists them (their shm): not this
     * process's container, even with a marker (a machine that is itself a container) */
    envmgr_cleanup_free char *host_mounts = envmgr_xasprintf(
        "26 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n"
        "55 26 0:92 / /var/lib/containers/storage/overlay-containers/%s/userdata/shm "
        "rw,nosuid,nodev,noexec,relatime - tmpfs shm rw,size=64000k\n"
        "60 26 254:0 /var/lib/docker/containers/%s/mounts/shm /var/lib/docker/containers/%s/"
        "mounts/shm rw - ext4 /dev/vda rw\n",
        dev, dev, dev);
    write_file(mountinfo, host_mounts);
    assert_false(envmgr_probe_own_container(root, id));
    assert_null(prepared_self(e->engine, root));
    unlink(mountinfo);
    unlink(containerenv);
    rmdir(self);
    rmdir(proc);
    rmdir(run);
    rmdir(root);
}

static void test_resolve_from_image(void **state)
{
    (void)state;
    envmgr_service_t service = {.name = "s"};
    envmgr_cleanup_json json_t *image =
        json_loads("{\"Config\":{\"Healthcheck\":{\"Test\":[\"CMD-SHELL\",\"pg_isready\"],"
                   "\"Timeout\":5000000000}}}",
                   0, NULL);
    envmgr_healthcheck_t hc;
    assert_true(envmgr_health_resolve(&service, image, &hc));
    assert_int_equal(hc.kind, ENVMGR_HEALTHCHECK_CMD_SHELL);
    assert_string_equal(hc.test.items[0], "pg_isready");
    assert_int_equal(hc.timeout_ms, 5000);
    envmgr_healthcheck_clear(&hc);
    service.healthcheck.kind = ENVMGR_HEALTHCHECK_NONE;
    assert_false(envmgr_health_resolve(&service, image, &hc));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_passes_after_three_tries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_never_passes_in_time, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancelled_wait_stops, setup, teardown),
        cmocka_unit_test_setup_teardown(test_engine_says_unhealthy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exited_container_fails_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_oom_killed_says_so, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hung_check_times_out_then_passes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_probe_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_completed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ports_probe, setup, teardown),
        cmocka_unit_test_setup_teardown(test_published_port_behind_forwarder, setup, teardown),
        cmocka_unit_test(test_published_port_greeting),
        cmocka_unit_test(test_published_port_at_its_address),
        cmocka_unit_test_setup_teardown(test_reach_prepare_in_container, setup, teardown),
        cmocka_unit_test(test_probe_target_published_ports),
        cmocka_unit_test(test_process_here),
        cmocka_unit_test(test_resolve_from_image),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
