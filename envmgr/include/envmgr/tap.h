/* Streaming TAP parser (TAP 12/13/14): feed bytes as they arrive from a pipe, in chunks of any
 * size.
 *
 * Memory is bounded per suite, whatever the producer prints:
 *  - a line is buffered up to ENVMGR_TAP_MAX_LINE bytes; the rest of a longer line is dropped (and
 *    counted in truncated_lines), so a line of megabytes costs 64 KiB;
 *  - a YAML diagnostics block is kept up to ENVMGR_TAP_MAX_YAML bytes;
 *  - test records are kept for the first ENVMGR_TAP_MAX_RECORDED tests, and after that only for
 * tests that did not pass (up to the same number again); the others are only counted
 *    (tests_not_recorded). The counters (passed, failed, ...) are always exact.
 *
 * Subtests (TAP 14 "    # Subtest: name" and 4-space indented lines): the parent's test line is
 * what counts; indented lines are parsed by a nested parser (depth up to 16) whose first failure's
 * description and message are copied into the failing parent's message ("subtest 'x': ...").
 *
 * Verdict (envmgr_tap_parser_finish): failing when a test failed (not "# TODO"), "Bail out!", no
 * plan, or the plan does not match the tests run ("planned 10, ran 7"). Garbage lines, truncated
 * lines and out-of-order test numbers are recorded as notes and do not fail the suite. */
#ifndef ENVMGR_TAP_H
#define ENVMGR_TAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ENVMGR_TAP_MAX_LINE (64 * 1024)
#define ENVMGR_TAP_MAX_YAML (64 * 1024)
#define ENVMGR_TAP_MAX_RECORDED 1000
#define ENVMGR_TAP_MAX_DEPTH 16

enum envmgr_tap_status {
    ENVMGR_TAP_PASSED,
    ENVMGR_TAP_FAILED,
    ENVMGR_TAP_SKIPPED, /* ok/not ok # SKIP */
    ENVMGR_TAP_TODO,    /* ok/not ok # TODO: never fails the suite */
};
const char *envmgr_tap_status_name(enum envmgr_tap_status status);

typedef struct envmgr_tap_test {
    int number; /* the number on the line, or the implied one */
    enum envmgr_tap_status status;
    char *description;   /* may be "" */
    char *reason;        /* SKIP/TODO reason, or NULL */
    char *message;       /* failure message (YAML `message`), or NULL */
    char *severity;      /* YAML `severity`, or NULL */
    char *file;          /* YAML `at.file` / `file`, or NULL */
    int line;            /* YAML `at.line` / `line`, or 0 */
    int64_t duration_ms; /* YAML `duration_ms`, else time since the previous test line (the first
                            test: since the parser was made, i.e. its suite's process started) */
    /* Measured by the runner (see runner.h) for recorded tests, when `measured`: CPU time (user +
     * system) of the suite's process tree since the previous test line, and the peak RSS of the
     * suite's main process over the same window, in KiB. */
    bool measured;
    int64_t cpu_ms;
    int64_t peak_rss_kb;
} envmgr_tap_test_t;

typedef struct envmgr_tap_result {
    int version; /* 12 when no "TAP version" line */
    bool has_plan;
    int planned;
    bool plan_at_end;
    bool skip_all;         /* "1..0 # SKIP reason" */
    char *skip_all_reason; /* or NULL */
    int ran, passed, failed, skipped, todo;
    bool bailed_out;
    char *bail_reason; /* or NULL */
    int garbage_lines;
    char *first_garbage; /* first garbage line (up to 200 bytes), or NULL */
    int truncated_lines; /* lines longer than ENVMGR_TAP_MAX_LINE */
    int out_of_order;    /* test numbers that were not the expected next one */
    int64_t bytes;       /* bytes fed */
    bool ok;             /* the verdict (valid after finish) */
    char *verdict;       /* why it failed ("planned 10, ran 7", "no plan", ...), or NULL when ok */
    envmgr_tap_test_t *tests; /* recorded tests, in order */
    size_t n_tests;
    size_t cap_tests;
    int tests_not_recorded;
} envmgr_tap_result_t;

typedef struct envmgr_tap_parser envmgr_tap_parser_t;

/* clock_ms: returns the current time in ms for per-test durations; NULL: the monotonic clock. */
envmgr_tap_parser_t *envmgr_tap_parser_new(int64_t (*clock_ms)(void));
void envmgr_tap_parser_feed(envmgr_tap_parser_t *parser, const void *data, size_t len);
/* Ends the stream: flushes a last line without newline, computes the verdict. */
void envmgr_tap_parser_finish(envmgr_tap_parser_t *parser);
const envmgr_tap_result_t *envmgr_tap_parser_result(const envmgr_tap_parser_t *parser);
/* Moves the result out (the parser keeps an empty one). Free with envmgr_tap_result_free. */
envmgr_tap_result_t *envmgr_tap_parser_take_result(envmgr_tap_parser_t *parser);
void envmgr_tap_parser_free(envmgr_tap_parser_t *parser);
/* The tests recorded so far, writable (the runner adds its measurements). */
envmgr_tap_test_t *envmgr_tap_parser_tests(envmgr_tap_parser_t *parser, size_t *n);

void envmgr_tap_result_free(envmgr_tap_result_t *result);
void envmgr_tap_test_clear(envmgr_tap_test_t *test);

#endif
