/* The runner: a libuv process pool that runs test suites (TAP executables or any command judged by
 * its exit code), at most `jobs` at a time, each in its own process group with a timeout (SIGTERM
 * to the group, SIGKILL after a grace period), retries (fails then passes = flaky), output captured
 * to <run_dir>/<suite>.out (attempt k > 1: <suite>.attempt<k>.out) and parsed as TAP as it arrives.
 * Processes are started with posix_spawn (a new session, so kill(-pid) reaches the whole group;
 * glibc's vfork-like spawn avoids the page-table copy that uv_spawn's fork costs per suite) and
 * reaped on SIGCHLD through a uv_signal handle, by pid. Ctrl-C: envmgr_interrupted() is polled
 * every 50 ms; running suites get SIGTERM then SIGKILL, queued ones are "not_run".
 *
 * Measurement (per attempt, and per recorded test): wall time from the suite's process start (a
 * test's clock starts there too, after the before-hook's database clone); CPU time (user +
 * system) and peak RSS from wait4's rusage of the suite's process when it is reaped: the CPU time
 * of the process and of every descendant that was waited for (by it or its children), and the
 * peak RSS of the largest single process among them (ru_maxrss: not a sum of processes that were
 * alive at once; descendants still running when the suite exits are killed and not counted).
 * Each suite is reaped by pid with its own rusage, so concurrent suites never mix (unlike
 * RUSAGE_CHILDREN deltas). Per test: at each chunk of output that recorded tests, the CPU time
 * of the tree so far (/proc/<pid>/stat utime+stime+cutime+cstime) minus the previous sample's,
 * and the main process's peak RSS since the previous sample (VmHWM, whose mark is then reset with
 * /proc/<pid>/clear_refs; the suite's peak is the greatest of these windows and ru_maxrss).
 * A cgroup v2 per suite (memory.peak, cpu.stat) would sum concurrent processes of the tree, but it
 * needs a delegated, writable cgroup v2 hierarchy with the memory controller and a spawn into it
 * (clone3 CLONE_INTO_CGROUP instead of posix_spawn), which hybrid cgroup v1 hosts (this project's
 * CI machine) and unprivileged runs do not have; rusage works everywhere, so it is the one source.
 *
 * The runner never prints: it reports through the progress callback. Hooks (before/after each
 * attempt) run on libuv's thread pool, so that a slow hook (cloning a database) does not stall the
 * output of running suites; several hooks may run at the same time, so they must be thread-safe. */
#ifndef ENVMGR_RUNNER_H
#define ENVMGR_RUNNER_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include <envmgr/defaults.h>
#include <envmgr/error.h>
#include <envmgr/tap.h>
#include <envmgr/util.h>

typedef struct envmgr_suite_spec {
    char *name;          /* unique; also names the output files */
    envmgr_strv_t argv;  /* argv[0]: a path (with '/') or a command looked up in $PATH */
    envmgr_kvlist_t env; /* added to the environment */
    char *cwd;           /* or NULL: envtest's */
    int64_t timeout_ms;  /* 0: the run's default */
    int retries;         /* -1: the run's default */
    envmgr_strv_t tags;
    envmgr_strv_t rerun; /* the `envtest run` arguments that select this suite again, or empty */
    bool is_tap;         /* false: judged by exit code only (envtest run -- CMD) */
} envmgr_suite_spec_t;

typedef struct envmgr_suite_list {
    envmgr_suite_spec_t *items;
    size_t n;
    size_t cap;
} envmgr_suite_list_t;

/* Appends a suite (argv copied, NULL-terminated) and returns it for further settings. */
envmgr_suite_spec_t *envmgr_suite_list_add(envmgr_suite_list_t *list, const char *name,
                                           const char *const *argv, bool is_tap);
void envmgr_suite_list_free(envmgr_suite_list_t *list);

/* Reads `x-envtest: {suites: [{name, path (or glob), args, timeout, retries, tags}]}`; relative
 * paths resolve against base_dir. A glob adds one suite per match, named after the file. */
int envmgr_suite_list_from_config(const json_t *x_envtest, const char *base_dir,
                                  envmgr_suite_list_t *out, envmgr_error_t *err);

/* Keeps the suites having any of tags (NULL-terminated; NULL or empty: all). */
void envmgr_suite_list_filter_tags(envmgr_suite_list_t *list, const char *const *tags);

/* Shard k of n (1 <= k <= n): keeps the suites whose FNV-1a 64 hash of the name, modulo n, is k
 * - 1. Deterministic: the n shards together cover every suite exactly once. */
int envmgr_suite_list_shard(envmgr_suite_list_t *list, int k, int n, envmgr_error_t *err);
uint64_t envmgr_suite_shard_hash(const char *name);

enum envmgr_suite_status {
    ENVMGR_SUITE_PASSED,
    ENVMGR_SUITE_FAILED,      /* tests failed, bad TAP, non-zero exit, killed by a signal */
    ENVMGR_SUITE_SKIPPED,     /* "1..0 # SKIP" */
    ENVMGR_SUITE_FLAKY,       /* failed, then passed on a retry */
    ENVMGR_SUITE_TIMEOUT,     /* killed after its timeout */
    ENVMGR_SUITE_ERROR,       /* could not be started (missing, not executable, hook failed) */
    ENVMGR_SUITE_INTERRUPTED, /* running when the run was interrupted */
    ENVMGR_SUITE_NOT_RUN,     /* not started before the run was interrupted */
};
const char *envmgr_suite_status_name(enum envmgr_suite_status status);
/* Parses a name back (for reports read from JSON); -1 when unknown. */
int envmgr_suite_status_from_name(const char *name);
/* Passed, skipped and flaky count as success. */
bool envmgr_suite_status_ok(enum envmgr_suite_status status);

typedef struct envmgr_suite_attempt {
    int attempt;                     /* 1-based */
    enum envmgr_suite_status status; /* of this attempt (PASSED/FAILED/SKIPPED/TIMEOUT/ERROR/...) */
    int64_t start_wall_ms;
    int64_t duration_ms;
    int64_t exit_status; /* -1 when killed by a signal or not started */
    int term_signal;     /* 0 or the signal that killed it */
    char *message;       /* why it failed, or NULL */
    char *output_path;   /* absolute */
    int64_t output_bytes;
    envmgr_tap_result_t *tap; /* NULL for non-TAP suites and attempts that did not start */
    bool measured;            /* the process ran and was reaped: the figures below are set */
    int64_t cpu_user_ms, cpu_system_ms; /* of the process tree (see the top of this file) */
    int64_t peak_rss_kb;                /* largest process of the tree, KiB */
} envmgr_suite_attempt_t;

typedef struct envmgr_suite_result {
    const envmgr_suite_spec_t *spec; /* borrowed from the caller's list */
    enum envmgr_suite_status status;
    envmgr_suite_attempt_t *attempts;
    size_t n_attempts;
    size_t cap_attempts;
} envmgr_suite_result_t;

typedef struct envmgr_run_result {
    char *run_id;
    char *run_dir;
    int64_t start_wall_ms;
    int64_t end_wall_ms;
    bool interrupted;
    bool failed_fast; /* fail_fast stopped the run at a failed suite: the rest were not run */
    int shard_index, shard_count;  /* 0, 0 when not sharded */
    envmgr_suite_result_t *suites; /* in the order of the input list */
    size_t n_suites;
} envmgr_run_result_t;
void envmgr_run_result_free(envmgr_run_result_t *run);
/* The final attempt of a suite (NULL when it never started). */
const envmgr_suite_attempt_t *envmgr_suite_result_last(const envmgr_suite_result_t *suite);

enum envmgr_run_event_kind {
    ENVMGR_RUN_SUITE_STARTED,  /* suite, attempt */
    ENVMGR_RUN_SUITE_RETRYING, /* suite, attempt (the one that failed) */
    ENVMGR_RUN_SUITE_FINISHED, /* suite, result */
    ENVMGR_RUN_TICK,           /* about every 250 ms, for live progress */
    ENVMGR_RUN_INTERRUPTING,   /* Ctrl-C seen: killing the running suites */
};

typedef struct envmgr_run_event {
    enum envmgr_run_event_kind kind;
    const envmgr_suite_spec_t *suite; /* NULL for TICK/INTERRUPTING */
    int attempt;
    const envmgr_suite_result_t *result; /* FINISHED only */
    size_t total, running, finished, failed;
    int64_t elapsed_ms;
    const char *run_dir;
} envmgr_run_event_t;

typedef void (*envmgr_run_progress_cb)(void *userdata, const envmgr_run_event_t *event);
/* Called before each attempt (on a worker thread); may add variables to the suite's environment.
 * A failure makes that attempt an ERROR with the hook's message. */
typedef int (*envmgr_run_before_cb)(void *userdata, const envmgr_suite_spec_t *suite, int attempt,
                                    envmgr_kvlist_t *env_to_add, envmgr_error_t *err);
/* Called after each attempt (on a worker thread) with that attempt's outcome. Failures are logged
 * as warnings. */
typedef int (*envmgr_run_after_cb)(void *userdata, const envmgr_suite_spec_t *suite, int attempt,
                                   const envmgr_suite_attempt_t *outcome, envmgr_error_t *err);

typedef struct envmgr_run_options {
    int jobs;              /* 0: uv_available_parallelism() */
    int64_t timeout_ms;    /* 0: ENVMGR_RUNNER_DEFAULT_TIMEOUT_MS */
    int64_t kill_grace_ms; /* 0: ENVMGR_RUNNER_DEFAULT_GRACE_MS */
    int retries;           /* default retries for suites with retries == -1 */
    /* After the first suite that fails (its retries spent), start no other suite and no other
     * retry: the suites running then finish; the rest stay ENVMGR_SUITE_NOT_RUN (a suite whose
     * retry was waiting keeps its last attempt's verdict). Sets the result's failed_fast. */
    bool fail_fast;
    const char *runs_dir; /* the run folder is <runs_dir>/<run-id>; NULL: ENVMGR_DEFAULT_RUNS_DIR */
    const char *run_id;   /* or NULL: generated (20261124T063012Z-1a2b) */
    const envmgr_kvlist_t *env;   /* added to every suite's environment (envtest env), or NULL */
    int shard_index, shard_count; /* recorded in the result only */
    /* After a suite's FINISHED event, drop its passing test records except the
     * ENVMGR_RUNNER_KEEP_SLOWEST slowest (the progress callback saves the full suite first:
     * envmgr_report_save_suite), so that memory does not grow with the number of suites. */
    bool compact_finished;
    envmgr_run_progress_cb progress;
    envmgr_run_before_cb before_suite;
    envmgr_run_after_cb after_suite;
    void *userdata;
} envmgr_run_options_t;

/* Runs the suites. Returns 0 with *out filled whenever the run happened (even if suites failed or
 * it was interrupted: see out->interrupted); negative only when it could not run at all (run folder
 * not writable, duplicate suite names, loop failure). Every suite also gets ENVTEST_SUITE,
 * ENVTEST_ATTEMPT and ENVTEST_RUN_DIR in its environment. */
int envmgr_runner_run(const envmgr_suite_list_t *suites, const envmgr_run_options_t *opts,
                      envmgr_run_result_t **out, envmgr_error_t *err);

/* What compact_finished keeps of a suite's passing tests: the slowest 10, so that the compacted
 * run still holds the run's 10 slowest tests (report.html's chart; the analysis lists 5). */
#define ENVMGR_RUNNER_KEEP_SLOWEST 10

/* Drops a suite's passing test records except the `keep_slowest` slowest (failures, skips and
 * TODOs stay). */
void envmgr_suite_result_compact(envmgr_suite_result_t *suite, size_t keep_slowest);

/* <dir>/<name with [^A-Za-z0-9._-] as '_'><suffix>, malloc'ed: the files of a suite in a run. */
char *envmgr_suite_file_name(const char *dir, const char *name, const char *suffix);

/* A new run id: UTC time and 4 random hex digits, e.g. 20261124T063012Z-1a2b. Malloc'ed. */
char *envmgr_run_id_new(void);

#endif
