/* envmgr error values: every fallible envmgr function takes `envmgr_error_t *err` last and returns
 * a negative number on failure after filling it. Context is prepended at each layer with
 * envmgr_error_wrap(), so the CLI prints one line such as
 *   up: service mysql: health check timed out after 120 s (last output: ...)
 * envmgr never prints and never exits; only cmd/ turns an error into a message and an exit code. */
#ifndef ENVMGR_ERROR_H
#define ENVMGR_ERROR_H

#include <stdbool.h>

enum envmgr_error_kind {
    ENVMGR_OK = 0,
    ENVMGR_E_USAGE,        /* bad command line: exit 2 */
    ENVMGR_E_CONFIG,       /* invalid compose file, manifest, archive, TAP plan...: exit 2 */
    ENVMGR_E_ENGINE,       /* Docker engine unreachable or an error reply: exit 3 */
    ENVMGR_E_ENV,          /* environment problem (unhealthy service, missing image...): exit 3 */
    ENVMGR_E_SYSTEM,       /* an OS call failed (errno in code): exit 3 */
    ENVMGR_E_NOT_FOUND,    /* a thing looked up does not exist (callers often handle it): exit 3 */
    ENVMGR_E_TESTS_FAILED, /* a suite or test failed: exit 1 */
    ENVMGR_E_INTERRUPTED,  /* SIGINT/SIGTERM: exit 130 */
};

/* Documented exit codes (README "Exit codes"). */
enum {
    ENVTEST_EXIT_OK = 0,
    ENVTEST_EXIT_TESTS_FAILED = 1,
    ENVTEST_EXIT_USAGE = 2,
    ENVTEST_EXIT_ENVIRONMENT = 3,
    ENVTEST_EXIT_INTERRUPTED = 130,
};

typedef struct envmgr_error {
    enum envmgr_error_kind kind;
    int code;           /* errno, HTTP status, or 0 */
    char message[4096]; /* what went wrong, with context */
    char hint[1024];    /* what to do about it, or "" */
} envmgr_error_t;

#define ENVMGR_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* Fills err and returns -1, so that a failing path reads `return envmgr_error_set(...)`. */
int envmgr_error_set(envmgr_error_t *err, enum envmgr_error_kind kind, int code, const char *fmt,
                     ...) ENVMGR_PRINTF(4, 5);
/* Like envmgr_error_set with kind ENVMGR_E_SYSTEM, code errno and ": strerror(errno)" appended. */
int envmgr_error_errno(envmgr_error_t *err, int errnum, const char *fmt, ...) ENVMGR_PRINTF(3, 4);
/* Prepends "context: " to the message; returns -1. */
int envmgr_error_wrap(envmgr_error_t *err, const char *fmt, ...) ENVMGR_PRINTF(2, 3);
/* Sets the hint (what the user should do); returns -1. */
int envmgr_error_hint(envmgr_error_t *err, const char *fmt, ...) ENVMGR_PRINTF(2, 3);
void envmgr_error_clear(envmgr_error_t *err);
int envmgr_error_exit_code(const envmgr_error_t *err);

/* Cooperative cancellation: the CLI's signal handler calls envmgr_interrupt(); long operations poll
 * envmgr_interrupted() and fail with ENVMGR_E_INTERRUPTED, after cleaning up what they made. */
void envmgr_interrupt(void);
bool envmgr_interrupted(void);
void envmgr_interrupt_reset(void);
/* Clean-up that must run even after Ctrl-C (engine calls refuse to start while interrupted):
 *     bool held = envmgr_interrupt_hold();   -- the flag, cleared
 *     ... engine calls ...
 *     envmgr_interrupt_restore(held);        -- raised again if it was raised
 * A signal that lands in between is not lost: restore keeps a flag raised meanwhile. */
bool envmgr_interrupt_hold(void);
void envmgr_interrupt_restore(bool held);
/* The process groups of the children envmgr runs in their own session (the runner's suites): a
 * forced exit (the CLI's second Ctrl-C) must not leave them running, and a terminal's Ctrl-C does
 * not reach them. envmgr_kill_children() is async-signal-safe (lock-free atomics and kill(2)). */
void envmgr_child_group_add(int pgid);
void envmgr_child_group_remove(int pgid);
void envmgr_kill_children(int sig);

#endif
