/* Runner tests with real processes: the suites in tests/suites/ pass, fail, skip, are flaky, hang,
 * crash, flood output and print malformed TAP. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <envmgr/runner.h>
#include <envmgr/util.h>

static char runs_dir[] = "/tmp/envtest-test-runner-XXXXXX";

static char *suite_path(const char *name)
{
    const char *src = getenv("ENVTEST_SOURCE_DIR");
    return envmgr_xasprintf("%s/tests/suites/%s", src ? src : ".", name);
}

static envmgr_suite_spec_t *add(envmgr_suite_list_t *l, const char *name, const char *script,
                                const char *arg)
{
    envmgr_cleanup_free char *path = suite_path(script);
    const char *argv[] = {path, arg, NULL};
    return envmgr_suite_list_add(l, name, argv, true);
}

static const envmgr_suite_result_t *find(const envmgr_run_result_t *r, const char *name)
{
    for (size_t i = 0; i < r->n_suites; i++)
        if (strcmp(r->suites[i].spec->name, name) == 0)
            return &r->suites[i];
    fail_msg("suite %s not in the result", name);
    return NULL;
}

static const char *last_message(const envmgr_run_result_t *r, const char *name)
{
    const envmgr_suite_attempt_t *a = envmgr_suite_result_last(find(r, name));
    assert_non_null(a);
    return a->message ? a->message : "(none)";
}

static envmgr_run_result_t *run(const envmgr_suite_list_t *l, envmgr_run_options_t *o)
{
    o->runs_dir = runs_dir;
    envmgr_error_t err = {0};
    envmgr_run_result_t *r = NULL;
    int rc = envmgr_runner_run(l, o, &r, &err);
    if (rc < 0)
        fail_msg("run failed: %s", err.message);
    assert_int_equal(r->n_suites, l->n);
    return r;
}

static void assert_status(const envmgr_run_result_t *r, const char *name,
                          enum envmgr_suite_status expected)
{
    assert_string_equal(envmgr_suite_status_name(find(r, name)->status),
                        envmgr_suite_status_name(expected));
}

static void test_statuses(void **state)
{
    envmgr_suite_list_t l = {0};
    add(&l, "pass", "pass.sh", NULL);
    add(&l, "fail", "fail.sh", NULL);
    add(&l, "skip", "skip.sh", NULL);
    add(&l, "todo", "todo.sh", NULL);
    add(&l, "crash", "crash.sh", NULL);
    add(&l, "plan", "plan_mismatch.sh", NULL);
    add(&l, "noplan", "no_plan.sh", NULL);
    add(&l, "long", "long_line.sh", NULL);
    add(&l, "missing", "does_not_exist.sh", NULL);
    add(&l, "notexec", "not_executable.sh", NULL);
    add(&l, "exit3", "exit3.sh", NULL)->is_tap = false;
    add(&l, "pass-cmd", "pass.sh", NULL)->is_tap = false;
    const char *nothing[] = {"no-such-command-envtest", NULL};
    envmgr_suite_list_add(&l, "nocmd", nothing, false);
    envmgr_run_options_t o = {.jobs = 4};
    envmgr_run_result_t *r = run(&l, &o);

    assert_false(r->interrupted);
    assert_status(r, "pass", ENVMGR_SUITE_PASSED);
    assert_int_equal(envmgr_suite_result_last(find(r, "pass"))->tap->passed, 3);
    assert_status(r, "fail", ENVMGR_SUITE_FAILED);
    assert_string_equal(last_message(r, "fail"), "1 of 2 tests failed");
    const envmgr_tap_test_t *t = &envmgr_suite_result_last(find(r, "fail"))->tap->tests[1];
    assert_string_equal(t->message, "expected 3 rows, got 2");
    assert_string_equal(t->file, "suites/db_test.c");
    assert_int_equal(t->line, 42);
    assert_status(r, "skip", ENVMGR_SUITE_SKIPPED);
    assert_status(r, "todo", ENVMGR_SUITE_PASSED);
    assert_status(r, "crash", ENVMGR_SUITE_FAILED);
    assert_string_equal(last_message(r, "crash"), "killed by signal 11 (SIGSEGV)");
    assert_status(r, "plan", ENVMGR_SUITE_FAILED);
    assert_string_equal(last_message(r, "plan"), "planned 10, ran 7");
    assert_status(r, "noplan", ENVMGR_SUITE_FAILED);
    assert_string_equal(last_message(r, "noplan"), "no plan (ran 2 tests)");
    assert_int_equal(envmgr_suite_result_last(find(r, "noplan"))->tap->garbage_lines, 1);
    assert_status(r, "long", ENVMGR_SUITE_PASSED);
    assert_int_equal(envmgr_suite_result_last(find(r, "long"))->tap->truncated_lines, 1);
    assert_true(envmgr_suite_result_last(find(r, "long"))->output_bytes > 5 * 1024 * 1024);
    assert_status(r, "missing", ENVMGR_SUITE_ERROR);
    assert_non_null(strstr(last_message(r, "missing"), "does_not_exist.sh: No such file"));
    assert_status(r, "notexec", ENVMGR_SUITE_ERROR);
    assert_non_null(strstr(last_message(r, "notexec"), "is not executable (chmod +x"));
    assert_status(r, "exit3", ENVMGR_SUITE_FAILED);
    assert_string_equal(last_message(r, "exit3"), "exited with status 3");
    assert_status(r, "pass-cmd", ENVMGR_SUITE_PASSED);
    /* valgrind runs posix_spawn's vfork as a fork: the exec error then shows as exit 127 */
    const char *preload = getenv("LD_PRELOAD");
    if (preload == NULL || strstr(preload, "vgpreload") == NULL) {
        assert_status(r, "nocmd", ENVMGR_SUITE_ERROR);
        assert_string_equal(last_message(r, "nocmd"),
                            "no-such-command-envtest: command not found in $PATH");
    }

    /* output captured (stdout and stderr) in the run folder */
    envmgr_cleanup_free char *out = NULL;
    size_t len = 0;
    envmgr_error_t err = {0};
    assert_int_equal(
        envmgr_read_file(envmgr_suite_result_last(find(r, "fail"))->output_path, &out, &len, &err),
        0);
    assert_non_null(strstr(out, "not ok 2 - rows match"));
    assert_non_null(strstr(out, "diagnostic on stderr"));
    envmgr_run_result_free(r);
    envmgr_suite_list_free(&l);
}

static void test_flaky_and_retries(void **state)
{
    envmgr_suite_list_t l = {0};
    add(&l, "flaky", "flaky.sh", NULL);
    add(&l, "flaky-no-retry", "flaky.sh", NULL)->retries = 0;
    add(&l, "fail", "fail.sh", NULL);
    envmgr_run_options_t o = {.jobs = 2, .retries = 2};
    envmgr_run_result_t *r = run(&l, &o);
    assert_status(r, "flaky", ENVMGR_SUITE_FLAKY);
    assert_int_equal(find(r, "flaky")->n_attempts, 2);
    assert_string_equal(envmgr_suite_status_name(find(r, "flaky")->attempts[0].status), "failed");
    assert_non_null(strstr(find(r, "flaky")->attempts[1].output_path, "flaky.attempt2.out"));
    assert_status(r, "flaky-no-retry", ENVMGR_SUITE_FAILED);
    assert_int_equal(find(r, "flaky-no-retry")->n_attempts, 1);
    assert_status(r, "fail", ENVMGR_SUITE_FAILED);
    assert_int_equal(find(r, "fail")->n_attempts, 3); /* 1 + 2 retries */
    envmgr_run_result_free(r);
    envmgr_suite_list_free(&l);
}

/* --fail-fast: after the first failed suite nothing more starts; the suite running then finishes
 * with its own verdict; the rest are not run. Without it, all run. */
static void test_fail_fast(void **state)
{
    envmgr_suite_list_t l = {0};
    add(&l, "fail", "fail.sh", NULL);
    add(&l, "slow", "sleep.sh", "1");
    add(&l, "later1", "pass.sh", NULL);
    add(&l, "later2", "pass.sh", NULL);
    envmgr_run_options_t o = {.jobs = 2, .fail_fast = true};
    envmgr_run_result_t *r = run(&l, &o);
    assert_status(r, "fail", ENVMGR_SUITE_FAILED);
    assert_status(r, "slow", ENVMGR_SUITE_PASSED); /* running when fail failed: it finished */
    assert_status(r, "later1", ENVMGR_SUITE_NOT_RUN);
    assert_status(r, "later2", ENVMGR_SUITE_NOT_RUN);
    assert_int_equal(find(r, "later1")->n_attempts, 0);
    assert_true(r->failed_fast);
    assert_false(r->interrupted);
    envmgr_run_result_free(r);

    /* two failures at once, "fail" without retries and "retried" with one: whichever is recorded
     * first, nothing queued starts. When "retried" fails first, its retry takes the free slot at
     * once (a retry runs next) and finishes as a running suite does; when "fail" does, the retry
     * is not started. */
    envmgr_suite_list_t l2 = {0};
    add(&l2, "fail", "fail.sh", NULL)->retries = 0;
    add(&l2, "retried", "fail.sh", NULL)->retries = 1;
    add(&l2, "later1", "pass.sh", NULL);
    add(&l2, "later2", "pass.sh", NULL);
    r = run(&l2, &o);
    assert_status(r, "fail", ENVMGR_SUITE_FAILED);
    assert_status(r, "retried", ENVMGR_SUITE_FAILED);
    assert_in_range(find(r, "retried")->n_attempts, 1, 2);
    assert_status(r, "later1", ENVMGR_SUITE_NOT_RUN);
    assert_status(r, "later2", ENVMGR_SUITE_NOT_RUN);
    assert_true(r->failed_fast);
    envmgr_run_result_free(r);
    envmgr_suite_list_free(&l2);

    /* a retry runs before the suites queued behind it: when it fails too, they do not start
     * (at the queue's end, both would have run and passed before the run stopped) */
    envmgr_suite_list_t l3 = {0};
    add(&l3, "retried", "fail.sh", NULL)->retries = 1;
    add(&l3, "later1", "pass.sh", NULL);
    add(&l3, "later2", "pass.sh", NULL);
    envmgr_run_options_t one = {.jobs = 1, .fail_fast = true};
    r = run(&l3, &one);
    assert_status(r, "retried", ENVMGR_SUITE_FAILED);
    assert_int_equal(find(r, "retried")->n_attempts, 2);
    assert_status(r, "later1", ENVMGR_SUITE_NOT_RUN);
    assert_status(r, "later2", ENVMGR_SUITE_NOT_RUN);
    assert_true(r->failed_fast);
    envmgr_run_result_free(r);
    envmgr_suite_list_free(&l3);

    o = (envmgr_run_options_t){.jobs = 2};
    r = run(&l, &o);
    assert_status(r, "later1", ENVMGR_SUITE_PASSED);
    assert_status(r, "later2", ENVMGR_SUITE_PASSED);
    assert_false(r->failed_fast);
    envmgr_run_result_free(r);
    envmgr_suite_list_free(&l);
}

static pid_t read_pid(const envmgr_run_result_t *r, const char *file)
{
    envmgr_cleanup_free char *path = envmgr_xasprintf("%s/%s", r->run_dir, file);
    envmgr_cleanup_free char *text = NULL;
    size_t len;
    envmgr_error_t err = {0};
    if (envmgr_read_file(path, &text, &len, &err) < 0)
        fail_msg("%s", err.message);
    return (pid_t)atoi(text);
}

/* The state letter of a process in /proc, or 0 when it is gone. */
static char process_state(pid_t pid)
{
    if (kill(pid, 0) == -1)
        return 0;
    envmgr_cleanup_free char *path = envmgr_xasprintf("/proc/%d/stat", (int)pid);
    envmgr_cleanup_free char *stat_text = NULL;
    size_t len;
    envmgr_error_t err = {0};
    if (envmgr_read_file(path, &stat_text, &len, &err) < 0)
        return 0;
    const char *paren = strrchr(stat_text, ')');
    return paren && paren[1] ? paren[2] : '?';
}

/* Gone, or a zombie waiting for an init that does not reap (as in some containers). A process
 * that got SIGKILL may still be exiting (its pipes already closed) for a moment: wait up to 2 s. */
static void assert_gone(pid_t pid)
{
    assert_true(pid > 0);
    char state = process_state(pid);
    for (int i = 0; i < 200 && state != 0 && state != 'Z'; i++) {
        envmgr_sleep_ms(10);
        state = process_state(pid);
    }
    if (state != 0)
        assert_int_equal(state, 'Z');
}

static void test_timeout_kills_group(void **state)
{
    envmgr_suite_list_t l = {0};
    add(&l, "hang", "hang.sh", NULL)->timeout_ms = 400;
    envmgr_suite_spec_t *stubborn = add(&l, "stubborn", "hang.sh", NULL);
    stubborn->timeout_ms = 400;
    envmgr_kvlist_set(&stubborn->env, "IGNORE_TERM", "1");
    envmgr_run_options_t o = {.jobs = 2, .kill_grace_ms = 300, .retries = 0};
    int64_t t0 = envmgr_now_ms();
    envmgr_run_result_t *r = run(&l, &o);
    int64_t elapsed = envmgr_now_ms() - t0;
    assert_true(elapsed < 10000); /* the timeouts and the grace, not a hang (loose: CI, ASan) */
    assert_status(r, "hang", ENVMGR_SUITE_TIMEOUT);
    assert_string_equal(last_message(r, "hang"),
                        "timed out after 0.400 s (process group killed with SIGTERM)");
    assert_status(r, "stubborn", ENVMGR_SUITE_TIMEOUT);
    assert_string_equal(last_message(r, "stubborn"),
                        "timed out after 0.400 s (process group killed with SIGKILL)");
    assert_gone(read_pid(r, "hang.pid"));
    assert_gone(read_pid(r, "hang.child.pid"));
    assert_gone(read_pid(r, "stubborn.pid"));
    assert_gone(read_pid(r, "stubborn.child.pid"));
    envmgr_run_result_free(r);
    envmgr_suite_list_free(&l);
}

static void test_parallel(void **state)
{
    envmgr_suite_list_t l = {0};
    for (int i = 0; i < 4; i++) {
        envmgr_cleanup_free char *name = envmgr_xasprintf("sleep%d", i);
        add(&l, name, "sleep.sh", "1");
    }
    envmgr_run_options_t o = {.jobs = 4};
    int64_t t0 = envmgr_now_ms();
    envmgr_run_result_t *r = run(&l, &o);
    int64_t parallel = envmgr_now_ms() - t0;
    for (size_t i = 0; i < r->n_suites; i++)
        assert_int_equal(r->suites[i].status, ENVMGR_SUITE_PASSED);
    envmgr_run_result_free(r);
    print_message("# 4 x sleep 1 at -j 4: %lld ms\n", (long long)parallel);
    assert_true(parallel < 3500);

    o.jobs = 2;
    t0 = envmgr_now_ms();
    r = run(&l, &o);
    int64_t two = envmgr_now_ms() - t0;
    print_message("# 4 x sleep 1 at -j 2: %lld ms\n", (long long)two);
    assert_true(two >= 1900); /* -j really limits concurrency */
    envmgr_run_result_free(r);
    envmgr_suite_list_free(&l);
}

static long max_rss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static void test_flood_memory(void **state)
{
    envmgr_suite_list_t l = {0};
    add(&l, "flood", "flood.sh", "100");
    envmgr_run_options_t o = {.jobs = 1};
    long before = max_rss_kb();
    envmgr_run_result_t *r = run(&l, &o);
    long after = max_rss_kb();
    print_message("# 100 MiB flood: peak RSS %ld KiB -> %ld KiB\n", before, after);
    assert_status(r, "flood", ENVMGR_SUITE_PASSED);
    const envmgr_suite_attempt_t *a = envmgr_suite_result_last(find(r, "flood"));
    assert_true(a->output_bytes >= 100 * 1024 * 1024);
    assert_int_equal(a->tap->ran, 2);
    assert_true(after - before < 16 * 1024);
    struct stat st;
    assert_int_equal(stat(a->output_path, &st), 0);
    assert_true(st.st_size >= 100 * 1024 * 1024);
    unlink(a->output_path); /* 100 MiB */
    envmgr_run_result_free(r);
    envmgr_suite_list_free(&l);
}

static void test_shards_cover_once(void **state)
{
    enum { N_SUITES = 200, SHARDS = 3 };
    int seen[N_SUITES] = {0};
    for (int k = 1; k <= SHARDS; k++) {
        envmgr_suite_list_t l = {0};
        for (int i = 0; i < N_SUITES; i++) {
            envmgr_cleanup_free char *name = envmgr_xasprintf("suite-%d", i);
            const char *argv[] = {"true", NULL};
            envmgr_suite_list_add(&l, name, argv, false);
        }
        envmgr_error_t err = {0};
        assert_int_equal(envmgr_suite_list_shard(&l, k, SHARDS, &err), 0);
        assert_true(l.n > N_SUITES / SHARDS / 2); /* roughly balanced */
        for (size_t i = 0; i < l.n; i++)
            seen[atoi(l.items[i].name + 6)]++;
        envmgr_suite_list_free(&l);
    }
    for (int i = 0; i < N_SUITES; i++)
        assert_int_equal(seen[i], 1);
    envmgr_suite_list_t l = {0};
    envmgr_error_t err = {0};
    assert_int_equal(envmgr_suite_list_shard(&l, 3, 2, &err), -1);
    assert_int_equal(err.kind, ENVMGR_E_USAGE);
    /* the hash is fixed (FNV-1a 64), so shards are the same on every machine */
    assert_true(envmgr_suite_shard_hash("a") == 0xaf63dc4c8601ec8cULL);
}

typedef struct hook_state {
    int before, after;
    bool fail_before;
} hook_state_t;

static int before_hook(void *userdata, const envmgr_suite_spec_t *suite, int attempt,
                       envmgr_kvlist_t *env_to_add, envmgr_error_t *err)
{
    hook_state_t *h = userdata;
    __atomic_add_fetch(&h->before, 1, __ATOMIC_SEQ_CST);
    if (h->fail_before)
        return envmgr_error_set(err, ENVMGR_E_ENV, 0, "clone failed for %s", suite->name);
    envmgr_cleanup_free char *db = envmgr_xasprintf("db_%s_%d", suite->name, attempt);
    envmgr_kvlist_set(env_to_add, "ENVTEST_MYSQL_DATABASE", db);
    return 0;
}

static int after_hook(void *userdata, const envmgr_suite_spec_t *suite, int attempt,
                      const envmgr_suite_attempt_t *outcome, envmgr_error_t *err)
{
    hook_state_t *h = userdata;
    __atomic_add_fetch(&h->after, 1, __ATOMIC_SEQ_CST);
    return 0;
}

static void test_hooks_and_env(void **state)
{
    envmgr_suite_list_t l = {0};
    envmgr_cleanup_free char *path = suite_path("env.sh");
    const char *argv[] = {path,         "ENVTEST_MYSQL_DATABASE", "FROM_RUN",
                          "FROM_SUITE", "ENVTEST_SUITE",          NULL};
    envmgr_suite_spec_t *s = envmgr_suite_list_add(&l, "env", argv, true);
    envmgr_kvlist_set(&s->env, "FROM_SUITE", "yes");
    envmgr_kvlist_t run_env = {0};
    envmgr_kvlist_set(&run_env, "FROM_RUN", "1");
    hook_state_t h = {0};
    envmgr_run_options_t o = {.jobs = 1,
                              .env = &run_env,
                              .before_suite = before_hook,
                              .after_suite = after_hook,
                              .userdata = &h};
    envmgr_run_result_t *r = run(&l, &o);
    assert_status(r, "env", ENVMGR_SUITE_PASSED);
    const envmgr_tap_result_t *tap = envmgr_suite_result_last(find(r, "env"))->tap;
    assert_int_equal(tap->passed, 4);
    assert_string_equal(tap->tests[0].description, "ENVTEST_MYSQL_DATABASE=db_env_1");
    assert_int_equal(h.before, 1);
    assert_int_equal(h.after, 1);
    envmgr_run_result_free(r);

    h = (hook_state_t){.fail_before = true};
    r = run(&l, &o);
    assert_status(r, "env", ENVMGR_SUITE_ERROR);
    assert_string_equal(last_message(r, "env"), "before_suite: clone failed for env");
    assert_int_equal(h.after, 0); /* nothing ran, nothing to drop */
    envmgr_run_result_free(r);
    envmgr_kvlist_free(&run_env);
    envmgr_suite_list_free(&l);
}

/* A signal while before_suite runs: its engine call fails with "interrupted" before the runner's
 * tick has seen the flag. The run is interrupted (exit 130), not a suite error (exit 1). */
static int interrupted_hook(void *userdata, const envmgr_suite_spec_t *suite, int attempt,
                            envmgr_kvlist_t *env_to_add, envmgr_error_t *err)
{
    envmgr_interrupt();
    return envmgr_error_set(err, ENVMGR_E_INTERRUPTED, 0, "GET /containers/json: interrupted");
}

static void test_interrupt_in_before_suite(void **state)
{
    envmgr_suite_list_t l = {0};
    add(&l, "first", "pass.sh", NULL);
    add(&l, "second", "pass.sh", NULL);
    envmgr_run_options_t o = {.jobs = 1, .before_suite = interrupted_hook, .kill_grace_ms = 500};
    envmgr_run_result_t *r = run(&l, &o);
    envmgr_interrupt_reset();
    assert_true(r->interrupted);
    assert_status(r, "first", ENVMGR_SUITE_INTERRUPTED);
    assert_status(r, "second", ENVMGR_SUITE_NOT_RUN);
    envmgr_run_result_free(r);
    envmgr_suite_list_free(&l);
}

static void interrupt_on_start(void *userdata, const envmgr_run_event_t *ev)
{
    if (ev->kind == ENVMGR_RUN_SUITE_STARTED)
        envmgr_interrupt();
}

static void test_interrupt(void **state)
{
    envmgr_suite_list_t l = {0};
    add(&l, "hang", "hang.sh", NULL);
    add(&l, "later", "pass.sh", NULL);
    envmgr_run_options_t o = {.jobs = 1, .progress = interrupt_on_start, .kill_grace_ms = 500};
    int64_t t0 = envmgr_now_ms();
    envmgr_run_result_t *r = run(&l, &o);
    envmgr_interrupt_reset();
    assert_true(envmgr_now_ms() - t0 < 10000); /* the interrupt, not a hang (loose: CI, ASan) */
    assert_true(r->interrupted);
    assert_status(r, "hang", ENVMGR_SUITE_INTERRUPTED);
    assert_status(r, "later", ENVMGR_SUITE_NOT_RUN);
    assert_int_equal(find(r, "later")->n_attempts, 0);
    envmgr_run_result_free(r);
    envmgr_suite_list_free(&l);
}

static void test_config(void **state)
{
    const char *src = getenv("ENVTEST_SOURCE_DIR");
    envmgr_cleanup_free char *base = envmgr_xasprintf("%s/tests", src ? src : ".");
    json_error_t jerr;
    json_t *cfg =
        json_loads("{\"suites\": ["
                   " {\"name\": \"db\", \"path\": \"suites/pass.sh\", \"args\": [\"-v\"],"
                   "  \"timeout\": \"90s\", \"retries\": 2, \"tags\": [\"db\", \"fast\"]},"
                   " {\"path\": \"suites/fl*.sh\", \"tags\": \"slow\"}]}",
                   0, &jerr);
    assert_non_null(cfg);
    envmgr_suite_list_t l = {0};
    envmgr_error_t err = {0};
    assert_int_equal(envmgr_suite_list_from_config(cfg, base, &l, &err), 0);
    assert_int_equal(l.n, 3);
    assert_string_equal(l.items[0].name, "db");
    assert_int_equal(l.items[0].argv.n, 2);
    assert_string_equal(l.items[0].argv.items[1], "-v");
    assert_int_equal(l.items[0].timeout_ms, 90000);
    assert_int_equal(l.items[0].retries, 2);
    assert_string_equal(l.items[1].name, "flaky.sh");
    assert_string_equal(l.items[2].name, "flood.sh");
    assert_int_equal(l.items[2].retries, -1);
    const char *tags[] = {"db", NULL};
    envmgr_suite_list_filter_tags(&l, tags);
    assert_int_equal(l.n, 1);
    envmgr_suite_list_free(&l);
    json_decref(cfg);

    cfg = json_loads("{\"suites\": [{\"path\": \"x\", \"timeout\": \"soon\"}]}", 0, &jerr);
    assert_int_equal(envmgr_suite_list_from_config(cfg, base, &l, &err), -1);
    assert_string_equal(err.message,
                        "x-envtest.suites[0].timeout: must be a duration such as 90s or 5m");
    envmgr_suite_list_free(&l);
    json_decref(cfg);

    const char *argv[] = {"true", NULL};
    envmgr_suite_list_add(&l, "same", argv, false);
    envmgr_suite_list_add(&l, "same", argv, false);
    envmgr_run_result_t *r = NULL;
    envmgr_run_options_t o = {.runs_dir = runs_dir};
    assert_int_equal(envmgr_runner_run(&l, &o, &r, &err), -1);
    assert_string_equal(err.message, "two suites are named 'same': suite names must be unique");
    envmgr_suite_list_free(&l);
}

static int setup(void **state)
{
    return mkdtemp(runs_dir) ? 0 : -1;
}

static int teardown(void **state)
{
    envmgr_cleanup_free char *cmd = envmgr_xasprintf("rm -rf '%s'", runs_dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_statuses),
        cmocka_unit_test(test_flaky_and_retries),
        cmocka_unit_test(test_fail_fast),
        cmocka_unit_test(test_timeout_kills_group),
        cmocka_unit_test(test_parallel),
        cmocka_unit_test(test_flood_memory),
        cmocka_unit_test(test_shards_cover_once),
        cmocka_unit_test(test_hooks_and_env),
        cmocka_unit_test(test_interrupt),
        cmocka_unit_test(test_interrupt_in_before_suite),
        cmocka_unit_test(test_config),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
