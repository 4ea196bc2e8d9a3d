/* Lifecycle without Docker: envmgr_up / envmgr_down / envmgr_env_inspect against the stateful fake
 * engine (fake_engine.h). Recreate on a config change, clean-up after a failed, a faulted or an
 * interrupted up, down by label (also of what a crashed envtest left). The docker tests
 * (test_lifecycle_docker.c) do the same against the real engine. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "fake_engine.h"
#include <envmgr/env.h>
#include <envmgr/guard.h>
#include <envmgr/lifecycle.h>

#define PROJECT_LABEL "io.envtest.project=lc"

static const char base_yaml[] = "name: lc\n"
                                "services:\n"
                                "  db:\n"
                                "    image: fakedb:1\n"
                                "    volumes: ['data:/data']\n"
                                "    healthcheck: {test: [CMD, ready], interval: 1s, timeout: 1s}\n"
                                "  web:\n"
                                "    image: fakeweb:1\n"
                                "    environment: {MODE: %s}\n"
                                "    depends_on:\n"
                                "      db: {condition: service_healthy}\n"
                                "volumes:\n"
                                "  data: {}\n";

static envmgr_project_t *load(const char *mode)
{
    envmgr_cleanup_free char *text = envmgr_xasprintf(base_yaml, mode);
    envmgr_project_t *p = NULL;
    envmgr_error_t err = {0};
    if (envmgr_compose_load_string(text, strlen(text), "/tmp/lc/compose.yaml", NULL, &p, &err) < 0)
        fail_msg("compose: %s", err.message);
    return p;
}

struct env {
    fake_engine_t *fake;
    envmgr_engine_t *engine;
    envmgr_project_t *project;
};

static int setup(void **state)
{
    struct env *e = envmgr_xcalloc(1, sizeof(*e));
    e->fake = fake_engine_start();
    fake_engine_add_image(e->fake, "fakedb:1", NULL);
    fake_engine_add_image(e->fake, "fakeweb:1", NULL);
    envmgr_error_t err = {0};
    if (envmgr_engine_open(fake_engine_host(e->fake), &e->engine, &err) < 0)
        fail_msg("open: %s", err.message);
    e->project = load("one");
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    struct env *e = *state;
    envmgr_engine_close(e->engine);
    envmgr_project_free(e->project);
    fake_engine_free(e->fake);
    free(e);
    return 0;
}

static const char *container_id(fake_engine_t *f, const char *name, char buf[80])
{
    envmgr_cleanup_json json_t *c = fake_engine_object(f, "containers", name);
    snprintf(buf, 80, "%s", c ? json_string_value(json_object_get(c, "Id")) : "");
    return buf;
}

static size_t left_of_project(fake_engine_t *f)
{
    return fake_engine_count(f, "containers", PROJECT_LABEL) +
           fake_engine_count(f, "networks", PROJECT_LABEL) +
           fake_engine_count(f, "volumes", PROJECT_LABEL);
}

static void test_up_creates_labelled_objects(void **state)
{
    struct env *e = *state;
    /* the db is ready on the third check */
    fake_exec_t checks[] = {
        {.exit_code = 1, .out = "starting"}, {.exit_code = 1}, {.exit_code = 0}};
    fake_engine_exec_script(e->fake, "lc-db-1", checks, 3);
    envmgr_error_t err = {0};
    envmgr_up_options_t opts = {.wait_timeout_ms = 10000};
    assert_int_equal(envmgr_up(e->engine, e->project, &opts, &err), 0);
    assert_int_equal(fake_engine_count(e->fake, "containers", PROJECT_LABEL), 2);
    assert_int_equal(fake_engine_count(e->fake, "containers", "io.envtest.service=db"), 1);
    assert_int_equal(fake_engine_count(e->fake, "networks", PROJECT_LABEL), 1);
    /* the named volume, and the ephemeral mark of an environment this up created (<envmgr/lock.h>:
     * `envtest up` clears it once up; envmgr_up alone leaves it) */
    assert_int_equal(fake_engine_count(e->fake, "volumes", PROJECT_LABEL), 2);
    json_t *mark = fake_engine_object(e->fake, "volumes", "lc_envtest-ephemeral");
    assert_non_null(mark);
    json_decref(mark);
    char db_id[80];
    envmgr_cleanup_free char *db_exec =
        envmgr_xasprintf("POST /containers/%s/exec", container_id(e->fake, "lc-db-1", db_id));
    assert_int_equal(fake_engine_count_requests(e->fake, db_exec), 3);
    /* web was created only after db was healthy */
    size_t last_exec = 0, web_create = 0;
    for (size_t i = 0; i < fake_engine_requests(e->fake); i++) {
        const char *r = fake_engine_request(e->fake, i);
        if (strstr(r, db_exec + 5))
            last_exec = i;
        if (strstr(r, "/containers/create?name=lc-web-1"))
            web_create = i;
    }
    assert_true(web_create > last_exec);

    envmgr_env_state_t st;
    assert_int_equal(envmgr_env_inspect(e->engine, e->project, &st, &err), 0);
    assert_true(envmgr_env_state_healthy(&st));
    assert_string_equal(st.services[0].service, "db");
    assert_string_equal(st.services[0].state, "running");
    assert_string_equal(st.services[0].health, "starting");
    envmgr_env_state_free(&st);
}

static void test_up_again_reuses_and_recreates_on_change(void **state)
{
    struct env *e = *state;
    envmgr_error_t err = {0};
    assert_int_equal(envmgr_up(e->engine, e->project, NULL, &err), 0);
    char db1[80], web1[80], db2[80], web2[80];
    container_id(e->fake, "lc-db-1", db1);
    container_id(e->fake, "lc-web-1", web1);

    /* the same configuration: nothing is created again */
    assert_int_equal(envmgr_up(e->engine, e->project, NULL, &err), 0);
    assert_int_equal(fake_engine_count_requests(e->fake, "POST /containers/create"), 2);
    assert_string_equal(container_id(e->fake, "lc-db-1", db2), db1);

    /* web's environment changes: web is recreated, db stays */
    envmgr_project_t *changed = load("two");
    assert_int_equal(envmgr_up(e->engine, changed, NULL, &err), 0);
    assert_int_equal(fake_engine_count_requests(e->fake, "POST /containers/create"), 3);
    envmgr_cleanup_free char *removed = envmgr_xasprintf("DELETE /containers/%s", web1);
    assert_int_equal(fake_engine_count_requests(e->fake, removed), 1);
    assert_string_equal(container_id(e->fake, "lc-db-1", db2), db1);
    assert_string_not_equal(container_id(e->fake, "lc-web-1", web2), web1);
    envmgr_cleanup_json json_t *web = fake_engine_object(e->fake, "containers", "lc-web-1");
    json_t *env = json_object_get(json_object_get(web, "Config"), "Env");
    assert_string_equal(json_string_value(json_array_get(env, 0)), "MODE=two");

    /* a stopped container with the same configuration is started, not recreated */
    assert_int_equal(envmgr_engine_container_stop(e->engine, "lc-db-1", 1, &err), 0);
    assert_int_equal(envmgr_up(e->engine, changed, NULL, &err), 0);
    assert_string_equal(container_id(e->fake, "lc-db-1", db2), db1);
    assert_int_equal(fake_engine_count_requests(e->fake, "POST /containers/create"), 3);
    envmgr_project_free(changed);
}

static void test_failed_up_removes_what_it_made(void **state)
{
    struct env *e = *state;
    fake_engine_exec_script(e->fake, "lc-db-1",
                            &(fake_exec_t){.exit_code = 1, .out = "db: not ready yet"}, 1);
    fake_engine_container_behaviour(e->fake, "lc-db-1",
                                    &(fake_container_t){.logs = "booting\nwaiting for disk\n"});
    envmgr_error_t err = {0};
    envmgr_up_options_t opts = {.wait_timeout_ms = 1500};
    assert_int_equal(envmgr_up(e->engine, e->project, &opts, &err), -1);
    assert_int_equal(err.kind, ENVMGR_E_ENV);
    assert_non_null(strstr(err.message, "service db: health check did not pass in time"));
    if (!strstr(err.message, "db: not ready yet"))
        fail_msg("%s", err.message);
    assert_non_null(strstr(err.message, "| waiting for disk"));
    /* a fresh environment goes entirely: containers, network, volume */
    assert_int_equal(left_of_project(e->fake), 0);
    assert_int_equal(fake_engine_count(e->fake, "containers", NULL), 0);
    /* web never started: its dependency failed */
    assert_int_equal(fake_engine_count_requests(e->fake, "POST /containers/create"), 1);
}

static void test_failed_up_on_a_live_environment_removes_only_its_own(void **state)
{
    struct env *e = *state;
    envmgr_error_t err = {0};
    assert_int_equal(envmgr_up(e->engine, e->project, NULL, &err), 0);
    char db1[80], db2[80];
    container_id(e->fake, "lc-db-1", db1);
    /* the new web exits at once */
    fake_engine_container_behaviour(e->fake, "lc-web-1",
                                    &(fake_container_t){.exits = true, .exit_code = 2});
    envmgr_project_t *changed = load("broken");
    assert_int_equal(envmgr_up(e->engine, changed, NULL, &err), -1);
    assert_non_null(strstr(err.message, "service web: container exited with code 2"));
    assert_string_equal(container_id(e->fake, "lc-db-1", db2), db1);
    assert_null(fake_engine_object(e->fake, "containers", "lc-web-1"));
    assert_int_equal(fake_engine_count(e->fake, "networks", PROJECT_LABEL), 1);
    assert_int_equal(fake_engine_count(e->fake, "volumes", PROJECT_LABEL), 2); /* + the mark */
    envmgr_project_free(changed);
}

static void test_injected_engine_failures_clean_up(void **state)
{
    struct env *e = *state;
    envmgr_error_t err = {0};
    /* the engine refuses to start the db */
    fake_engine_fault(e->fake, "POST /containers/*/start",
                      &(fake_fault_t){.status = 500,
                                      .body = "{\"message\":\"driver failed programming external "
                                              "connectivity: Bind for 127.0.0.1:3306 failed: port "
                                              "is already allocated\"}",
                                      .times = 1});
    assert_int_equal(envmgr_up(e->engine, e->project, NULL, &err), -1);
    assert_int_equal(err.kind, ENVMGR_E_ENGINE);
    assert_non_null(strstr(err.message, "service db: "));
    assert_non_null(strstr(err.message, "port is already allocated"));
    assert_non_null(strstr(err.hint, "a host port of service db"));
    assert_int_equal(left_of_project(e->fake), 0);

    /* the connection drops in the middle of creating web's container */
    envmgr_error_clear(&err);
    fake_engine_fault(e->fake, "POST /containers/create", &(fake_fault_t){.drop = true, .skip = 1});
    assert_int_equal(envmgr_up(e->engine, e->project, NULL, &err), -1);
    assert_non_null(strstr(err.message, "service web: "));
    assert_int_equal(left_of_project(e->fake), 0);
}

struct phases {
    pthread_mutex_t lock;
    char log[2048];
};

static void phases_cb(void *userdata, const char *service, enum envmgr_service_phase phase,
                      int64_t elapsed_ms, const char *detail)
{
    (void)elapsed_ms;
    struct phases *p = userdata;
    pthread_mutex_lock(&p->lock);
    size_t n = strlen(p->log);
    snprintf(p->log + n, sizeof(p->log) - n, "%s %s (%s)\n", service,
             envmgr_service_phase_name(phase), detail ? detail : "");
    pthread_mutex_unlock(&p->lock);
}

/* Two services, neither waiting for the other to be healthy: one exits at once, the other never
 * turns healthy (cache starts after db started, so that db is always in its wait when cache
 * fails: a db not yet started when it fails is not started at all, with nothing to say). Up reports
 * the one that failed at once, not after the other's whole wait (60 s); the other's wait is stopped
 * ("stopped: service cache failed"), not reported as a failure. */
static void test_failed_service_stops_the_other_waits(void **state)
{
    struct env *e = *state;
    static const char yaml[] = "name: lc\n"
                               "services:\n"
                               "  db:\n"
                               "    image: fakedb:1\n"
                               "    healthcheck: {test: [CMD, ready], interval: 1s, timeout: 1s}\n"
                               "  cache:\n"
                               "    image: fakeweb:1\n"
                               "    depends_on: {db: {condition: service_started}}\n";
    envmgr_project_t *p = NULL;
    envmgr_error_t err = {0};
    assert_int_equal(
        envmgr_compose_load_string(yaml, strlen(yaml), "/tmp/lc/compose.yaml", NULL, &p, &err), 0);
    fake_engine_exec_script(e->fake, "lc-db-1", &(fake_exec_t){.exit_code = 1, .out = "no"}, 1);
    fake_engine_container_behaviour(e->fake, "lc-cache-1",
                                    &(fake_container_t){.exits = true, .exit_code = 2});
    struct phases phases = {.lock = PTHREAD_MUTEX_INITIALIZER};
    envmgr_up_options_t opts = {
        .wait_timeout_ms = 60000, .progress = phases_cb, .userdata = &phases};
    int64_t t0 = envmgr_now_ms();
    assert_int_equal(envmgr_up(e->engine, p, &opts, &err), -1);
    int64_t elapsed = envmgr_now_ms() - t0;
    assert_non_null(strstr(err.message, "service cache: container exited with code 2"));
    if (strstr(err.message, "service db") ||
        !strstr(phases.log, "db stopped (service cache failed)"))
        fail_msg("error: %s\nprogress:\n%s", err.message, phases.log);
    assert_true(elapsed < 10000); /* not the 60 s wait of db */
    assert_int_equal(left_of_project(e->fake), 0);
    envmgr_project_free(p);
}

static void *interrupt_later(void *arg)
{
    envmgr_sleep_ms(300);
    envmgr_interrupt();
    return NULL;
}

static void test_interrupted_up_cleans_up(void **state)
{
    struct env *e = *state;
    fake_engine_exec_script(e->fake, "lc-db-1", &(fake_exec_t){.exit_code = 1}, 1);
    envmgr_error_t err = {0};
    envmgr_up_options_t opts = {.wait_timeout_ms = 60000};
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, interrupt_later, NULL), 0);
    int64_t t0 = envmgr_now_ms();
    int r = envmgr_up(e->engine, e->project, &opts, &err);
    int64_t elapsed = envmgr_now_ms() - t0;
    pthread_join(thread, NULL);
    /* the interrupt stays raised for the caller (a second Ctrl-C exits at once) */
    assert_true(envmgr_interrupted());
    envmgr_interrupt_reset();
    assert_int_equal(r, -1);
    assert_int_equal(err.kind, ENVMGR_E_INTERRUPTED);
    assert_true(elapsed < 5000);
    assert_int_equal(left_of_project(e->fake), 0);
}

/* What a crashed envtest leaves: containers (running and exited) on the project network, the data
 * volume and the keep mark; and another project's things beside them. */
static void seed_crashed(fake_engine_t *f)
{
    fake_engine_add_network(f, "lc_default", "{\"io.envtest.project\":\"lc\"}");
    fake_engine_add_container(f, "lc-db-1",
                              "{\"Config\":{\"Labels\":{\"io.envtest.project\":\"lc\","
                              "\"io.envtest.service\":\"db\"}}}");
    fake_engine_add_container(f, "lc-web-1",
                              "{\"Config\":{\"Labels\":{\"io.envtest.project\":\"lc\","
                              "\"io.envtest.service\":\"web\"}},"
                              "\"State\":{\"Status\":\"exited\",\"ExitCode\":137}}");
    fake_engine_connect(f, "lc_default", "lc-db-1");
    fake_engine_connect(f, "lc_default", "lc-web-1");
    fake_engine_add_volume(f, "lc_data", "{\"io.envtest.project\":\"lc\"}");
    fake_engine_add_volume(f, "lc_envtest-keep",
                           "{\"io.envtest.project\":\"lc\",\"io.envtest.keep\":\"true\"}");
    fake_engine_add_network(f, "other_default", "{\"io.envtest.project\":\"other\"}");
    fake_engine_add_container(f, "other-db-1",
                              "{\"Config\":{\"Labels\":{\"io.envtest.project\":\"other\","
                              "\"io.envtest.service\":\"db\"}}}");
    fake_engine_connect(f, "other_default", "other-db-1");
    fake_engine_add_volume(f, "other_data", "{\"io.envtest.project\":\"other\"}");
    fake_engine_add_container(f, "unlabelled", NULL);
}

static void test_down_by_label_after_a_crash(void **state)
{
    struct env *e = *state;
    seed_crashed(e->fake);
    envmgr_error_t err = {0};
    bool kept = false;
    assert_int_equal(envmgr_keep_get(e->engine, "lc", &kept, &err), 0);
    assert_true(kept);
    int removed = -1;
    assert_int_equal(envmgr_down(e->engine, "lc", false, NULL, NULL, &removed, &err), 0);
    assert_int_equal(removed, 3); /* two containers and the network */
    assert_int_equal(fake_engine_count(e->fake, "containers", PROJECT_LABEL), 0);
    assert_int_equal(fake_engine_count(e->fake, "networks", PROJECT_LABEL), 0);
    /* without -v the data stays; the keep mark always goes */
    envmgr_cleanup_json json_t *data = fake_engine_object(e->fake, "volumes", "lc_data");
    assert_non_null(data);
    assert_null(fake_engine_object(e->fake, "volumes", "lc_envtest-keep"));
    /* the other project and the unlabelled container are untouched */
    assert_int_equal(fake_engine_count(e->fake, "containers", NULL), 2);
    assert_int_equal(fake_engine_count(e->fake, "networks", "io.envtest.project=other"), 1);
    assert_int_equal(fake_engine_count(e->fake, "volumes", "io.envtest.project=other"), 1);

    assert_int_equal(envmgr_down(e->engine, "lc", true, NULL, NULL, &removed, &err), 0);
    assert_int_equal(removed, 1);
    assert_int_equal(left_of_project(e->fake), 0);
    /* nothing left: not an error */
    assert_int_equal(envmgr_down(e->engine, "lc", true, NULL, NULL, &removed, &err), 0);
    assert_int_equal(removed, 0);
    assert_int_equal(fake_engine_count(e->fake, "volumes", NULL), 1);
}

/* A container that is not the project's on its network (the container of an envtest that ran in
 * one and joined it) is taken off before the network goes; a pod holder that the engine refused
 * to remove while a service was in its namespace (Podman: "has dependent containers") goes once
 * the others are gone. */
static void test_down_foreign_endpoint_and_pod_holder(void **state)
{
    struct env *e = *state;
    fake_engine_t *f = e->fake;
    fake_engine_add_network(f, "lc_default", "{\"io.envtest.project\":\"lc\"}");
    const char *holder = fake_engine_add_container(
        f, "lc-pod-holder",
        "{\"Config\":{\"Labels\":{\"io.envtest.project\":\"lc\",\"io.envtest.pod\":"
        "\"holder\"}}}");
    fake_engine_add_container(f, "lc-db-1",
                              "{\"Config\":{\"Labels\":{\"io.envtest.project\":\"lc\","
                              "\"io.envtest.service\":\"db\"}}}");
    fake_engine_add_container(f, "devbox", NULL);
    fake_engine_connect(f, "lc_default", "lc-pod-holder");
    fake_engine_connect(f, "lc_default", "devbox");
    envmgr_cleanup_free char *holder_delete = envmgr_xasprintf("DELETE /containers/%s", holder);
    fake_engine_fault(f, holder_delete,
                      &(fake_fault_t){.status = 500,
                                      .body = "{\"message\":\"container has dependent containers "
                                              "which must be removed before it\"}",
                                      .times = 1});
    envmgr_error_t err = {0};
    int removed = -1;
    assert_int_equal(envmgr_down(e->engine, "lc", true, NULL, NULL, &removed, &err), 0);
    assert_int_equal(removed, 3); /* the holder, the service and the network */
    assert_int_equal(left_of_project(f), 0);
    assert_int_equal(fake_engine_count_requests(f, "DELETE /containers/*"), 3); /* holder twice */
    /* the devbox stays, off the network */
    envmgr_cleanup_json json_t *devbox = fake_engine_object(f, "containers", "devbox");
    assert_non_null(devbox);
    assert_int_equal(
        json_object_size(json_object_get(json_object_get(devbox, "NetworkSettings"), "Networks")),
        0);
}

static void test_down_reports_an_engine_failure(void **state)
{
    struct env *e = *state;
    seed_crashed(e->fake);
    envmgr_error_t err = {0};
    fake_engine_fault(e->fake, "DELETE /containers/*", &(fake_fault_t){.status = 500, .times = 1});
    int removed = 0;
    assert_int_equal(envmgr_down(e->engine, "lc", false, NULL, NULL, &removed, &err), -1);
    assert_non_null(strstr(err.message, "down lc: remove "));
    assert_non_null(strstr(err.message, "injected fault"));
    /* a second down finishes the job */
    assert_int_equal(envmgr_down(e->engine, "lc", false, NULL, NULL, &removed, &err), 0);
    assert_int_equal(fake_engine_count(e->fake, "containers", PROJECT_LABEL), 0);
}

/* An engine whose reaper container's process is not on this machine (Docker Desktop's VM, a
 * Podman machine, envtest in a container): its 127.0.0.1 is not ours. The guard says so at once,
 * rather than after trying to connect for 2 x 15 s, and removes the container; up and run then
 * guard with the host-process reaper. */
static void test_reaper_elsewhere_fails_at_once(void **state)
{
    struct env *e = *state;
    fake_engine_add_container(e->fake, "envtest-reaper-lc",
                              "{\"State\":{\"Status\":\"running\",\"Pid\":999999999},"
                              "\"HostConfig\":{\"NetworkMode\":\"host\"},"
                              "\"Config\":{\"Cmd\":[\"--project\",\"lc\",\"--port\",\"1\"]}}");
    envmgr_error_t err = {0};
    envmgr_guard_t *guard = NULL;
    int64_t t0 = envmgr_now_ms();
    assert_int_equal(envmgr_guard_open(e->engine, "lc", &guard, &err), -1);
    assert_null(guard);
    assert_true(envmgr_now_ms() - t0 < 10000); /* not the 2 x 15 s of connecting */
    assert_string_equal(err.message,
                        "reaper container: its process (pid 999999999 where the engine runs) is "
                        "not on this machine, so its 127.0.0.1:1 is out of envtest's reach "
                        "(Docker Desktop, a Podman machine, or envtest in a container)");
    assert_non_null(strstr(err.hint, "host-process reaper"));
    assert_int_equal(fake_engine_count_requests(e->fake, "DELETE /containers/envtest-reaper-lc"),
                     1);
    assert_int_equal(fake_engine_count(e->fake, "containers", NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_up_creates_labelled_objects, setup, teardown),
        cmocka_unit_test_setup_teardown(test_up_again_reuses_and_recreates_on_change, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_failed_up_removes_what_it_made, setup, teardown),
        cmocka_unit_test_setup_teardown(test_down_foreign_endpoint_and_pod_holder, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_up_on_a_live_environment_removes_only_its_own,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_injected_engine_failures_clean_up, setup, teardown),
        cmocka_unit_test_setup_teardown(test_interrupted_up_cleans_up, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_service_stops_the_other_waits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_down_by_label_after_a_crash, setup, teardown),
        cmocka_unit_test_setup_teardown(test_down_reports_an_engine_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reaper_elsewhere_fails_at_once, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
