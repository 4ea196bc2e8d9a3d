/* The libuv process pool: see runner.h. One job = one attempt of one suite:
 *   [before hook on the thread pool] -> posix_spawn (own session and process group; reaped on
 *   SIGCHLD through a uv_signal) -> read stdout/stderr to the
 *   output file (stdout also to the TAP parser) -> exit + both pipes closed -> verdict
 *   -> [after hook on the thread pool] -> record, retry or finish.
 * Every handle is closed through uv_close; the job is freed when its last handle's close callback
 * has run, so uv_loop_close returns 0 at the end. */
#include <envmgr/runner.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include <envmgr/log.h>

#include "runner_measure.h"

extern char **environ;

#define TICK_MS 50
#define TICKS_PER_EVENT 5
#define READ_BUFFER_SIZE (64 * 1024)

typedef struct run_state run_state_t;

typedef struct job {
    run_state_t *run;
    size_t index;
    int attempt;
    uv_work_t work;
    envmgr_kvlist_t hook_env;
    envmgr_error_t hook_err;
    int hook_rc;
    pid_t pid;
    uv_pipe_t out_pipe, err_pipe;
    uv_timer_t timer;
    int open_handles;
    bool spawned, exited, timed_out, interrupted, killed, timer_closing;
    int output_fd;
    envmgr_tap_parser_t *tap;
    suite_meter_t meter;
    struct rusage usage; /* from wait4 */
    int64_t start_mono;
    envmgr_suite_attempt_t outcome;
    char buffer[READ_BUFFER_SIZE];
} job_t;

typedef struct pending {
    size_t index;
    int attempt;
} pending_t;

struct run_state {
    uv_loop_t loop;
    uv_timer_t tick;
    uv_signal_t sigchld;
    unsigned ticks;
    const envmgr_suite_list_t *suites;
    const envmgr_run_options_t *opts;
    envmgr_run_result_t *result;
    pending_t *queue;
    size_t queue_head, queue_len, queue_cap;
    job_t **active; /* jobs slots, NULL when free */
    int jobs;
    int running;
    size_t finished, failed;
    bool interrupting, tick_closed;
    bool failing_fast; /* fail_fast and a suite failed: nothing more starts */
    int64_t start_mono;
    int64_t timeout_ms, grace_ms;
};

static void schedule(run_state_t *run);
static void job_complete(job_t *job);
static void handle_closed_cb(uv_handle_t *handle);

/* ---- events -------------------------------------------------------------------------------- */

static void emit(run_state_t *run, enum envmgr_run_event_kind kind, const envmgr_suite_spec_t *s,
                 int attempt, const envmgr_suite_result_t *result)
{
    if (run->opts->progress == NULL)
        return;
    envmgr_run_event_t ev = {
        .kind = kind,
        .suite = s,
        .attempt = attempt,
        .result = result,
        .total = run->suites->n,
        .running = (size_t)run->running,
        .finished = run->finished,
        .failed = run->failed,
        .elapsed_ms = envmgr_now_ms() - run->start_mono,
        .run_dir = run->result->run_dir,
    };
    run->opts->progress(run->opts->userdata, &ev);
}

/* ---- environment --------------------------------------------------------------------------- */

static void kvlist_merge(envmgr_kvlist_t *dst, const envmgr_kvlist_t *src)
{
    for (size_t i = 0; src && i < src->n; i++)
        envmgr_kvlist_set(dst, src->items[i].key, src->items[i].value ? src->items[i].value : "");
}

static char **build_environment(job_t *job)
{
    run_state_t *run = job->run;
    const envmgr_suite_spec_t *spec = &run->suites->items[job->index];
    envmgr_kvlist_t env = {0};
    for (char **e = environ; e && *e; e++) {
        const char *eq = strchr(*e, '=');
        if (eq == NULL)
            continue;
        envmgr_cleanup_free char *key = envmgr_xstrndup(*e, (size_t)(eq - *e));
        envmgr_kvlist_set(&env, key, eq + 1);
    }
    kvlist_merge(&env, run->opts->env);
    kvlist_merge(&env, &spec->env);
    kvlist_merge(&env, &job->hook_env);
    envmgr_cleanup_free char *attempt = envmgr_xasprintf("%d", job->attempt);
    envmgr_kvlist_set(&env, "ENVTEST_SUITE", spec->name);
    envmgr_kvlist_set(&env, "ENVTEST_ATTEMPT", attempt);
    envmgr_kvlist_set(&env, "ENVTEST_RUN_DIR", run->result->run_dir);
    char **out = envmgr_xcalloc(env.n + 1, sizeof(char *));
    for (size_t i = 0; i < env.n; i++)
        out[i] = envmgr_xasprintf("%s=%s", env.items[i].key,
                                  env.items[i].value ? env.items[i].value : "");
    envmgr_kvlist_free(&env);
    return out;
}

static void free_environment(char **env)
{
    for (char **e = env; e && *e; e++)
        free(*e);
    free(env);
}

/* A clear message for a suite that cannot be started, or NULL when it looks runnable. */
static char *check_executable(const char *path)
{
    if (strchr(path, '/') == NULL)
        return NULL; /* looked up in $PATH by execvp; uv_spawn reports ENOENT */
    struct stat st;
    if (stat(path, &st) < 0)
        return envmgr_xasprintf("%s: %s (check the suite's path)", path, strerror(errno));
    if (S_ISDIR(st.st_mode))
        return envmgr_xasprintf("%s: is a directory, not an executable", path);
    if (access(path, X_OK) < 0)
        return envmgr_xasprintf("%s: is not executable (chmod +x %s)", path, path);
    return NULL;
}

/* ---- processes ----------------------------------------------------------------------------- */

static void kill_group(job_t *job, int sig)
{
    if (job->spawned && job->pid > 0)
        kill(-job->pid, sig);
}

static void close_timer_when_done(job_t *job)
{
    /* the timer is the last handle: closed once the process is reaped and both pipes are closed */
    if (job->open_handles == 1 && job->exited && !job->timer_closing) {
        job->timer_closing = true;
        uv_close((uv_handle_t *)&job->timer, handle_closed_cb);
    }
}

static void handle_closed_cb(uv_handle_t *handle)
{
    job_t *job = handle->data;
    job->open_handles--;
    if (job->open_handles == 0)
        job_complete(job);
    else
        close_timer_when_done(job);
}

static void alloc_cb(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
    job_t *job = handle->data;
    *buf = uv_buf_init(job->buffer, sizeof(job->buffer));
}

static void read_cb(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    job_t *job = stream->data;
    if (nread > 0) {
        job->outcome.output_bytes += nread;
        for (ssize_t off = 0; off < nread && job->output_fd >= 0;) {
            ssize_t w = write(job->output_fd, buf->base + off, (size_t)(nread - off));
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0) {
                envmgr_warn("runner: writing %s: %s", job->outcome.output_path, strerror(errno));
                close(job->output_fd);
                job->output_fd = -1;
                break;
            }
            off += w;
        }
        if (job->tap != NULL && stream == (uv_stream_t *)&job->out_pipe) {
            envmgr_tap_parser_feed(job->tap, buf->base, (size_t)nread);
            suite_meter_sample(&job->meter, job->tap);
        }
    } else if (nread < 0) {
        uv_close((uv_handle_t *)stream, handle_closed_cb);
    }
}

/* SIGCHLD: reaps our suites (only their pids, so other children of the process are left alone). */
static void sigchld_cb(uv_signal_t *handle, int signum)
{
    run_state_t *run = handle->data;
    for (int i = 0; i < run->jobs; i++) {
        job_t *job = run->active[i];
        if (job == NULL || !job->spawned || job->exited)
            continue;
        int status;
        pid_t r = wait4(job->pid, &status, WNOHANG, &job->usage);
        if (r != job->pid)
            continue;
        job->exited = true;
        job->outcome.term_signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
        job->outcome.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        /* whatever the suite left behind in its group goes too (and releases the pipes) */
        kill(-job->pid, SIGKILL);
        envmgr_child_group_remove(job->pid);
        close_timer_when_done(job);
    }
}

static void timer_cb(uv_timer_t *timer)
{
    job_t *job = timer->data;
    if (job->exited)
        return;
    if (!job->timed_out && !job->interrupted) {
        job->timed_out = true;
        kill_group(job, SIGTERM);
        uv_timer_start(timer, timer_cb, (uint64_t)job->run->grace_ms, 0);
    } else {
        job->killed = true;
        kill_group(job, SIGKILL);
    }
}

static int64_t suite_timeout(const run_state_t *run, const envmgr_suite_spec_t *spec)
{
    return spec->timeout_ms > 0 ? spec->timeout_ms : run->timeout_ms;
}

/* posix_spawn (vfork-like in glibc: no page-table copy, which uv_spawn's fork pays per suite) into
 * a new session, stdin /dev/null, stdout and stderr to pipes; signals reset to defaults. Returns 0
 * or an errno value. */
static int spawn_process(const envmgr_suite_spec_t *spec, char **env, int out_fd, int err_fd,
                         pid_t *pid)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&attr);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
    posix_spawn_file_actions_adddup2(&fa, err_fd, 2);
    if (spec->cwd)
        posix_spawn_file_actions_addchdir_np(&fa, spec->cwd);
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    sigdelset(&all, SIGKILL);
    sigdelset(&all, SIGSTOP);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setflags(&attr,
                             POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    const char *file = spec->argv.items[0];
    int rc = strchr(file, '/') ? posix_spawn(pid, file, &fa, &attr, spec->argv.items, env)
                               : posix_spawnp(pid, file, &fa, &attr, spec->argv.items, env);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    return rc;
}

static char *start_process(job_t *job, const envmgr_suite_spec_t *spec)
{
    int out[2] = {-1, -1}, errp[2] = {-1, -1};
    if (pipe2(out, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0) {
        int e = errno;
        close(out[0]), close(out[1]);
        return envmgr_xasprintf("cannot create pipes: %s", strerror(e));
    }
    char **env = build_environment(job);
    int rc = spawn_process(spec, env, out[1], errp[1], &job->pid);
    free_environment(env);
    close(out[1]);
    close(errp[1]);
    if (rc != 0) {
        close(out[0]);
        close(errp[0]);
        if (rc == ENOENT && strchr(spec->argv.items[0], '/') == NULL)
            return envmgr_xasprintf("%s: command not found in $PATH", spec->argv.items[0]);
        return envmgr_xasprintf("%s: cannot execute: %s", spec->argv.items[0], strerror(rc));
    }
    job->spawned = true;
    envmgr_child_group_add(job->pid); /* a forced exit kills it (envmgr_kill_children) */
    suite_meter_start(&job->meter, job->pid);
    uv_pipe_open(&job->out_pipe, out[0]);
    uv_pipe_open(&job->err_pipe, errp[0]);
    return NULL;
}

static void spawn_job(job_t *job)
{
    run_state_t *run = job->run;
    const envmgr_suite_spec_t *spec = &run->suites->items[job->index];
    uv_loop_t *loop = &run->loop;

    uv_pipe_init(loop, &job->out_pipe, 0);
    uv_pipe_init(loop, &job->err_pipe, 0);
    uv_timer_init(loop, &job->timer);
    job->out_pipe.data = job->err_pipe.data = job->timer.data = job;
    job->open_handles = 3;

    job->start_mono = envmgr_now_ms();
    job->outcome.start_wall_ms = envmgr_wall_now_ms();
    if (spec->is_tap) /* a test's clock starts with its suite's process, after the hooks */
        job->tap = envmgr_tap_parser_new(NULL);
    char *problem =
        spec->argv.n ? check_executable(spec->argv.items[0]) : envmgr_xstrdup("empty command");
    if (problem == NULL)
        problem = start_process(job, spec);
    if (problem == NULL) {
        uv_read_start((uv_stream_t *)&job->out_pipe, alloc_cb, read_cb);
        uv_read_start((uv_stream_t *)&job->err_pipe, alloc_cb, read_cb);
        uv_timer_start(&job->timer, timer_cb, (uint64_t)suite_timeout(run, spec), 0);
        emit(run, ENVMGR_RUN_SUITE_STARTED, spec, job->attempt, NULL);
        /* a child that exited before this point was reaped already by nobody: look now */
        sigchld_cb(&run->sigchld, SIGCHLD);
        return;
    }
    job->outcome.status = ENVMGR_SUITE_ERROR;
    job->outcome.message = problem;
    job->exited = true;
    uv_close((uv_handle_t *)&job->out_pipe, handle_closed_cb);
    uv_close((uv_handle_t *)&job->err_pipe, handle_closed_cb);
}

/* ---- verdict ------------------------------------------------------------------------------- */

static char *signal_message(int sig)
{
    const char *abbrev = sigabbrev_np(sig);
    return envmgr_xasprintf("killed by signal %d (SIG%s)", sig, abbrev ? abbrev : "?");
}

static void judge_attempt(job_t *job)
{
    run_state_t *run = job->run;
    const envmgr_suite_spec_t *spec = &run->suites->items[job->index];
    envmgr_suite_attempt_t *o = &job->outcome;
    if (job->spawned && job->exited)
        suite_meter_finish(&job->meter, &job->usage, job->tap, o);
    if (job->tap != NULL) {
        envmgr_tap_parser_finish(job->tap);
        o->tap = envmgr_tap_parser_take_result(job->tap);
        envmgr_tap_parser_free(envmgr_steal_pointer(&job->tap));
    }
    if (o->message != NULL) /* decided without a process (finish_without_process, spawn) */
        return;
    if (job->interrupted) {
        o->status = ENVMGR_SUITE_INTERRUPTED;
        o->message = envmgr_xstrdup("interrupted");
    } else if (job->timed_out) {
        o->status = ENVMGR_SUITE_TIMEOUT;
        int64_t t = suite_timeout(run, spec);
        o->message = envmgr_xasprintf(
            "timed out after %lld.%03lld s (process group killed with %s)", (long long)(t / 1000),
            (long long)(t % 1000), job->killed ? "SIGKILL" : "SIGTERM");
    } else if (o->term_signal != 0) {
        o->status = ENVMGR_SUITE_FAILED;
        o->message = signal_message(o->term_signal);
    } else if (o->tap != NULL && !o->tap->ok) {
        o->status = ENVMGR_SUITE_FAILED;
        o->message = o->exit_status ? envmgr_xasprintf("%s (exit status %lld)", o->tap->verdict,
                                                       (long long)o->exit_status)
                                    : envmgr_xstrdup(o->tap->verdict);
    } else if (o->exit_status != 0) {
        o->status = ENVMGR_SUITE_FAILED;
        o->message = envmgr_xasprintf("exited with status %lld", (long long)o->exit_status);
    } else if (o->tap != NULL && o->tap->skip_all) {
        o->status = ENVMGR_SUITE_SKIPPED;
    } else {
        o->status = ENVMGR_SUITE_PASSED;
    }
}

/* ---- hooks on the thread pool ------------------------------------------------------------- */

static void before_work_cb(uv_work_t *work)
{
    job_t *job = work->data;
    const envmgr_suite_spec_t *spec = &job->run->suites->items[job->index];
    job->hook_rc = job->run->opts->before_suite(job->run->opts->userdata, spec, job->attempt,
                                                &job->hook_env, &job->hook_err);
}

static void finish_without_process(job_t *job, enum envmgr_suite_status status, char *message)
{
    job->outcome.status = status;
    job->outcome.message = message;
    job->open_handles = 0;
    job_complete(job);
}

static void interrupt_all(run_state_t *run);

static void before_done_cb(uv_work_t *work, int status)
{
    job_t *job = work->data;
    /* A signal during the hook fails its engine calls ("interrupted"), often before the tick
     * sees the flag: that is the run's interrupt, not the suite's error. */
    if (!job->run->interrupting &&
        (envmgr_interrupted() || (job->hook_rc < 0 && job->hook_err.kind == ENVMGR_E_INTERRUPTED)))
        interrupt_all(job->run);
    if (status == UV_ECANCELED || job->interrupted)
        finish_without_process(job, ENVMGR_SUITE_INTERRUPTED, envmgr_xstrdup("interrupted"));
    else if (job->hook_rc < 0)
        finish_without_process(job, ENVMGR_SUITE_ERROR,
                               envmgr_xasprintf("before_suite: %s", job->hook_err.message));
    else
        spawn_job(job);
}

static void after_work_cb(uv_work_t *work)
{
    job_t *job = work->data;
    const envmgr_suite_spec_t *spec = &job->run->suites->items[job->index];
    envmgr_error_t err = {0};
    if (job->run->opts->after_suite(job->run->opts->userdata, spec, job->attempt, &job->outcome,
                                    &err) < 0)
        envmgr_warn("suite %s: after_suite: %s", spec->name, err.message);
}

/* ---- recording, retries -------------------------------------------------------------------- */

static void enqueue(run_state_t *run, size_t index, int attempt)
{
    if (run->queue_head + run->queue_len == run->queue_cap && run->queue_head > 0) {
        memmove(run->queue, run->queue + run->queue_head, run->queue_len * sizeof(*run->queue));
        run->queue_head = 0;
    }
    run->queue = envmgr_xgrow(run->queue, run->queue_head + run->queue_len, &run->queue_cap,
                              sizeof(*run->queue));
    run->queue[run->queue_head + run->queue_len++] = (pending_t){index, attempt};
}

/* A retry under fail-fast goes first: the suite's last verdict, and so whether the run stops,
 * comes before any suite that waited behind it starts. */
static void enqueue_front(run_state_t *run, size_t index, int attempt)
{
    if (run->queue_head == 0) {
        run->queue = envmgr_xgrow(run->queue, run->queue_len, &run->queue_cap, sizeof(*run->queue));
        memmove(run->queue + 1, run->queue, run->queue_len * sizeof(*run->queue));
        run->queue_head = 1;
    }
    run->queue[--run->queue_head] = (pending_t){index, attempt};
    run->queue_len++;
}

static void job_free(job_t *job)
{
    run_state_t *run = job->run;
    for (int i = 0; i < run->jobs; i++)
        if (run->active[i] == job)
            run->active[i] = NULL;
    if (job->output_fd >= 0)
        close(job->output_fd);
    envmgr_tap_parser_free(job->tap);
    envmgr_kvlist_free(&job->hook_env);
    free(job);
}

static void record_attempt(job_t *job)
{
    run_state_t *run = job->run;
    const envmgr_suite_spec_t *spec = &run->suites->items[job->index];
    envmgr_suite_result_t *res = &run->result->suites[job->index];
    res->attempts =
        envmgr_xgrow(res->attempts, res->n_attempts, &res->cap_attempts, sizeof(*res->attempts));
    res->attempts[res->n_attempts++] = job->outcome;
    enum envmgr_suite_status st = job->outcome.status;
    int retries = spec->retries >= 0 ? spec->retries : run->opts->retries;
    bool ok = st == ENVMGR_SUITE_PASSED || st == ENVMGR_SUITE_SKIPPED;
    bool retry = !ok && (st == ENVMGR_SUITE_FAILED || st == ENVMGR_SUITE_TIMEOUT) &&
                 job->attempt <= retries && !run->interrupting && !run->failing_fast;
    if (retry) {
        emit(run, ENVMGR_RUN_SUITE_RETRYING, spec, job->attempt, NULL);
        if (run->opts->fail_fast)
            enqueue_front(run, job->index, job->attempt + 1);
        else
            enqueue(run, job->index, job->attempt + 1);
    } else {
        res->status = ok && job->attempt > 1 ? ENVMGR_SUITE_FLAKY : st;
        run->finished++;
        if (!envmgr_suite_status_ok(res->status)) {
            run->failed++;
            run->failing_fast = run->opts->fail_fast;
        }
    }
    run->running--;
    job_free(job);
    if (!retry) {
        emit(run, ENVMGR_RUN_SUITE_FINISHED, spec, res->n_attempts, res);
        if (run->opts->compact_finished)
            envmgr_suite_result_compact(res, ENVMGR_RUNNER_KEEP_SLOWEST);
    }
    schedule(run);
}

static void after_done_cb(uv_work_t *work, int status)
{
    record_attempt(work->data);
}

static void job_complete(job_t *job)
{
    job->outcome.duration_ms = job->start_mono ? envmgr_now_ms() - job->start_mono : 0;
    if (job->output_fd >= 0) {
        close(job->output_fd);
        job->output_fd = -1;
    }
    judge_attempt(job);
    if (job->run->opts->after_suite != NULL && job->spawned) {
        job->work.data = job;
        uv_queue_work(&job->run->loop, &job->work, after_work_cb, after_done_cb);
        return;
    }
    record_attempt(job);
}

/* ---- scheduling ---------------------------------------------------------------------------- */

char *envmgr_suite_file_name(const char *dir, const char *name, const char *suffix)
{
    envmgr_cleanup_free char *safe = envmgr_xstrdup(name);
    for (char *c = safe; *c; c++)
        if (!(((*c | 32) >= 'a' && (*c | 32) <= 'z') || (*c >= '0' && *c <= '9') || *c == '-' ||
              *c == '_' || *c == '.'))
            *c = '_';
    return envmgr_xasprintf("%s/%s%s", dir, safe, suffix);
}

static char *output_file_name(const char *dir, const char *name, int attempt)
{
    if (attempt == 1)
        return envmgr_suite_file_name(dir, name, ".out");
    envmgr_cleanup_free char *suffix = envmgr_xasprintf(".attempt%d.out", attempt);
    return envmgr_suite_file_name(dir, name, suffix);
}

static void compact_tap(envmgr_tap_result_t *tap, size_t keep_slowest)
{
    size_t slowest[16];
    size_t n_slow = 0;
    keep_slowest = keep_slowest > 16 ? 16 : keep_slowest;
    for (size_t i = 0; i < tap->n_tests; i++) {
        if (tap->tests[i].status != ENVMGR_TAP_PASSED)
            continue;
        size_t pos = n_slow;
        while (pos > 0 && tap->tests[slowest[pos - 1]].duration_ms < tap->tests[i].duration_ms)
            pos--;
        if (pos >= keep_slowest)
            continue;
        if (n_slow < keep_slowest)
            n_slow++;
        memmove(&slowest[pos + 1], &slowest[pos], (n_slow - pos - 1) * sizeof(*slowest));
        slowest[pos] = i;
    }
    size_t w = 0;
    for (size_t i = 0; i < tap->n_tests; i++) {
        bool keep = tap->tests[i].status != ENVMGR_TAP_PASSED;
        for (size_t k = 0; k < n_slow && !keep; k++)
            keep = slowest[k] == i;
        if (keep)
            tap->tests[w++] = tap->tests[i];
        else
            envmgr_tap_test_clear(&tap->tests[i]);
    }
    tap->n_tests = w;
    tap->cap_tests = w; /* give the array back too: it is 64 KiB for 1000 tests */
    if (w == 0) {
        free(tap->tests);
        tap->tests = NULL;
    } else {
        tap->tests = envmgr_xrealloc(tap->tests, w * sizeof(*tap->tests));
    }
}

void envmgr_suite_result_compact(envmgr_suite_result_t *suite, size_t keep_slowest)
{
    for (size_t a = 0; a < suite->n_attempts; a++)
        if (suite->attempts[a].tap != NULL)
            compact_tap(suite->attempts[a].tap, keep_slowest);
}

static void start_job(run_state_t *run, pending_t p)
{
    const envmgr_suite_spec_t *spec = &run->suites->items[p.index];
    job_t *job = envmgr_xcalloc(1, sizeof(*job));
    job->run = run;
    job->index = p.index;
    job->attempt = p.attempt;
    job->outcome.attempt = p.attempt;
    job->outcome.exit_status = -1;
    job->outcome.output_path = output_file_name(run->result->run_dir, spec->name, p.attempt);
    job->output_fd = open(job->outcome.output_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (job->output_fd < 0)
        envmgr_warn("suite %s: cannot write %s: %s (output not kept)", spec->name,
                    job->outcome.output_path, strerror(errno));
    for (int i = 0; i < run->jobs; i++) {
        if (run->active[i] == NULL) {
            run->active[i] = job;
            break;
        }
    }
    run->running++;
    if (run->opts->before_suite != NULL) {
        job->work.data = job;
        uv_queue_work(&run->loop, &job->work, before_work_cb, before_done_cb);
    } else {
        spawn_job(job);
    }
}

/* Fail-fast: what waits in the queue does not start. A waiting retry ends the suite with its last
 * attempt's verdict (FINISHED); a first attempt leaves it not run. */
static void drop_queue(run_state_t *run)
{
    while (run->queue_len > 0) {
        pending_t p = run->queue[run->queue_head++];
        run->queue_len--;
        envmgr_suite_result_t *res = &run->result->suites[p.index];
        const envmgr_suite_attempt_t *last = envmgr_suite_result_last(res);
        if (!last)
            continue;
        res->status = last->status;
        run->finished++;
        run->failed++;
        emit(run, ENVMGR_RUN_SUITE_FINISHED, &run->suites->items[p.index], res->n_attempts, res);
        if (run->opts->compact_finished)
            envmgr_suite_result_compact(res, ENVMGR_RUNNER_KEEP_SLOWEST);
    }
}

static void schedule(run_state_t *run)
{
    if (run->failing_fast && !run->interrupting)
        drop_queue(run);
    while (!run->interrupting && run->running < run->jobs && run->queue_len > 0) {
        pending_t p = run->queue[run->queue_head++];
        run->queue_len--;
        start_job(run, p);
    }
    if (run->running == 0 && (run->queue_len == 0 || run->interrupting) && !run->tick_closed) {
        run->tick_closed = true;
        uv_close((uv_handle_t *)&run->tick, NULL);
        uv_close((uv_handle_t *)&run->sigchld, NULL);
    }
}

static void interrupt_all(run_state_t *run)
{
    run->interrupting = true;
    emit(run, ENVMGR_RUN_INTERRUPTING, NULL, 0, NULL);
    for (int i = 0; i < run->jobs; i++) {
        job_t *job = run->active[i];
        if (job == NULL)
            continue;
        job->interrupted = true;
        if (!job->spawned) {
            uv_cancel((uv_req_t *)&job->work);
        } else if (!job->exited) {
            kill_group(job, SIGTERM);
            uv_timer_start(&job->timer, timer_cb, (uint64_t)run->grace_ms, 0);
        }
    }
    schedule(run);
}

static void tick_cb(uv_timer_t *timer)
{
    run_state_t *run = timer->data;
    if (!run->interrupting && envmgr_interrupted())
        interrupt_all(run);
    if (++run->ticks % TICKS_PER_EVENT == 0 && !run->tick_closed)
        emit(run, ENVMGR_RUN_TICK, NULL, 0, NULL);
}

/* ---- the run ------------------------------------------------------------------------------- */

char *envmgr_run_id_new(void)
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    char stamp[32];
    strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
    unsigned char rnd[2] = {0};
    if (getentropy(rnd, sizeof(rnd)) < 0) {
        rnd[0] = (unsigned char)getpid();
        rnd[1] = (unsigned char)envmgr_now_ms();
    }
    return envmgr_xasprintf("%s-%02x%02x", stamp, rnd[0], rnd[1]);
}

static int check_names(const envmgr_suite_list_t *suites, envmgr_error_t *err)
{
    for (size_t i = 0; i < suites->n; i++) {
        if (suites->items[i].name == NULL || suites->items[i].name[0] == '\0')
            return envmgr_error_set(err, ENVMGR_E_USAGE, 0, "suite %zu has no name", i + 1);
        for (size_t j = 0; j < i; j++)
            if (strcmp(suites->items[i].name, suites->items[j].name) == 0)
                return envmgr_error_set(err, ENVMGR_E_USAGE, 0,
                                        "two suites are named '%s': suite names must be unique",
                                        suites->items[i].name);
    }
    return 0;
}

static int make_run_dir(const envmgr_run_options_t *opts, envmgr_run_result_t *res,
                        envmgr_error_t *err)
{
    const char *base = opts->runs_dir ? opts->runs_dir : ENVMGR_DEFAULT_RUNS_DIR;
    res->run_id = opts->run_id ? envmgr_xstrdup(opts->run_id) : envmgr_run_id_new();
    envmgr_cleanup_free char *dir = envmgr_xasprintf("%s/%s", base, res->run_id);
    if (envmgr_mkdir_p(dir, 0755, err) < 0)
        return envmgr_error_wrap(err, "run folder");
    res->run_dir = realpath(dir, NULL);
    if (res->run_dir == NULL)
        return envmgr_error_errno(err, errno, "run folder %s", dir);
    return 0;
}

int envmgr_runner_run(const envmgr_suite_list_t *suites, const envmgr_run_options_t *opts,
                      envmgr_run_result_t **out, envmgr_error_t *err)
{
    if (check_names(suites, err) < 0)
        return -1;
    envmgr_run_result_t *res = envmgr_xcalloc(1, sizeof(*res));
    res->shard_index = opts->shard_index;
    res->shard_count = opts->shard_count;
    if (make_run_dir(opts, res, err) < 0) {
        envmgr_run_result_free(res);
        return -1;
    }
    res->n_suites = suites->n;
    res->suites = envmgr_xcalloc(suites->n ? suites->n : 1, sizeof(*res->suites));
    for (size_t i = 0; i < suites->n; i++) {
        res->suites[i].spec = &suites->items[i];
        res->suites[i].status = ENVMGR_SUITE_NOT_RUN;
    }

    run_state_t run = {
        .suites = suites,
        .opts = opts,
        .result = res,
        .jobs = opts->jobs > 0 ? opts->jobs : (int)uv_available_parallelism(),
        .timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms : ENVMGR_RUNNER_DEFAULT_TIMEOUT_MS,
        .grace_ms = opts->kill_grace_ms > 0 ? opts->kill_grace_ms : ENVMGR_RUNNER_DEFAULT_GRACE_MS,
    };
    int rc = uv_loop_init(&run.loop);
    if (rc < 0) {
        envmgr_run_result_free(res);
        return envmgr_error_set(err, ENVMGR_E_SYSTEM, -rc, "runner: event loop: %s",
                                uv_strerror(rc));
    }
    run.active = envmgr_xcalloc((size_t)run.jobs, sizeof(*run.active));
    for (size_t i = 0; i < suites->n; i++)
        enqueue(&run, i, 1);
    run.start_mono = envmgr_now_ms();
    res->start_wall_ms = envmgr_wall_now_ms();
    uv_timer_init(&run.loop, &run.tick);
    run.tick.data = &run;
    uv_signal_init(&run.loop, &run.sigchld);
    run.sigchld.data = &run;
    uv_signal_start(&run.sigchld, sigchld_cb, SIGCHLD);
    uv_timer_start(&run.tick, tick_cb, TICK_MS, TICK_MS);
    schedule(&run);
    uv_run(&run.loop, UV_RUN_DEFAULT);
    res->end_wall_ms = envmgr_wall_now_ms();
    res->interrupted = run.interrupting;
    res->failed_fast = run.failing_fast;
    rc = uv_loop_close(&run.loop);
    free(run.active);
    free(run.queue);
    if (rc != 0) {
        envmgr_run_result_free(res);
        return envmgr_error_set(err, ENVMGR_E_SYSTEM, -rc, "runner: handles left open: %s",
                                uv_strerror(rc));
    }
    *out = res;
    return 0;
}

void envmgr_run_result_free(envmgr_run_result_t *run)
{
    if (run == NULL)
        return;
    for (size_t i = 0; i < run->n_suites; i++) {
        envmgr_suite_result_t *s = &run->suites[i];
        for (size_t a = 0; a < s->n_attempts; a++) {
            free(s->attempts[a].message);
            free(s->attempts[a].output_path);
            envmgr_tap_result_free(s->attempts[a].tap);
        }
        free(s->attempts);
    }
    free(run->suites);
    free(run->run_id);
    free(run->run_dir);
    free(run);
}

const envmgr_suite_attempt_t *envmgr_suite_result_last(const envmgr_suite_result_t *suite)
{
    return suite->n_attempts ? &suite->attempts[suite->n_attempts - 1] : NULL;
}
