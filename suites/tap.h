/* A tiny TAP 13 emitter for the integration suites (independent of envmgr).
 *
 * A suite is a table of test functions. Each function is one TAP test point; inside it, assertion
 * macros check values and, on the first failure, record a YAML diagnostic (message, file, line,
 * got, expected) and return from the test function. Resources are released by cleanup attributes
 * (see envconn.h), so an early return leaks nothing.
 *
 *   static void test_version(suite_t *s) { TAP_ASSERT_STR_CONTAINS(version, "MariaDB"); }
 *   static const tap_test_t tests[] = {{"database: version", test_version}, ...};
 *   return tap_run(tests, TAP_COUNT(tests), &ctx);
 */
#ifndef SUITES_TAP_H
#define SUITES_TAP_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define TAP_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define TAP_COUNT(a) (sizeof(a) / sizeof((a)[0]))

typedef void (*tap_test_fn)(void *ctx);
typedef struct tap_test {
    const char *name;
    tap_test_fn fn;
} tap_test_t;

/* Output stream (default stdout); for the emitter's own tests. Resets the counters. */
void tap_set_output(FILE *out);

/* Prints "TAP version 13" and "1..n". */
void tap_plan(int n);
/* Runs every test in order (plan first) and returns the exit status: 0 when all passed, 1
 * otherwise. */
int tap_run(const tap_test_t *tests, size_t n, void *ctx);
/* Prints a plan of one failing test "environment: <what>" with a diagnostic; returns 1. */
int tap_environment_failure(const char *what, const char *detail);

/* Inside a test function. */
void tap_note(const char *fmt, ...) TAP_PRINTF(1, 2); /* "# ..." comment line */
void tap_skip(const char *fmt, ...) TAP_PRINTF(1, 2); /* marks the current test "# SKIP reason" */
/* Records the failure of the current test (only the first one is kept). got/expected may be NULL.
 */
void tap_fail(const char *file, int line, const char *got, const char *expected, const char *fmt,
              ...) TAP_PRINTF(5, 6);
/* Adds a key to the current failure's YAML diagnostic ("data" block). */
void tap_fail_data(const char *key, const char *fmt, ...) TAP_PRINTF(2, 3);
bool tap_failed(void); /* the current test has failed */

/* Counters for the summary and the tests of the emitter. */
int tap_count_run(void);
int tap_count_failed(void);

/* Writes s as a YAML double-quoted scalar (escapes quotes, backslashes, control characters; keeps
 * UTF-8; cuts after max bytes at a character boundary, marking the cut). */
void tap_yaml_quote(FILE *out, const char *s, size_t max);

/* ---- assertions: on failure record both values and return from the test function ---- */
char *tap_fmt(const char *fmt, ...) TAP_PRINTF(1, 2); /* malloc'ed, for the macros */
void tap_fail_owned(const char *file, int line, char *got, char *expected, const char *message);

#define TAP_ASSERT(cond, ...)                                                                      \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            tap_fail(__FILE__, __LINE__, NULL, NULL, __VA_ARGS__);                                 \
            return;                                                                                \
        }                                                                                          \
    } while (0)

#define TAP_ASSERT_INT_CMP(a, op, b)                                                               \
    do {                                                                                           \
        long long tap_a_ = (long long)(a), tap_b_ = (long long)(b);                                \
        if (!(tap_a_ op tap_b_)) {                                                                 \
            tap_fail_owned(__FILE__, __LINE__, tap_fmt("%lld", tap_a_),                            \
                           tap_fmt("%s %lld", #op, tap_b_), #a " " #op " " #b);                    \
            return;                                                                                \
        }                                                                                          \
    } while (0)
#define TAP_ASSERT_INT_EQ(a, b) TAP_ASSERT_INT_CMP(a, ==, b)
#define TAP_ASSERT_INT_NE(a, b) TAP_ASSERT_INT_CMP(a, !=, b)
#define TAP_ASSERT_INT_GT(a, b) TAP_ASSERT_INT_CMP(a, >, b)
#define TAP_ASSERT_INT_GE(a, b) TAP_ASSERT_INT_CMP(a, >=, b)
#define TAP_ASSERT_INT_LT(a, b) TAP_ASSERT_INT_CMP(a, <, b)
#define TAP_ASSERT_INT_LE(a, b) TAP_ASSERT_INT_CMP(a, <=, b)

#define TAP_ASSERT_DBL_NEAR(a, b, eps)                                                             \
    do {                                                                                           \
        double tap_a_ = (double)(a), tap_b_ = (double)(b), tap_e_ = (double)(eps);                 \
        if (!(tap_a_ - tap_b_ <= tap_e_ && tap_b_ - tap_a_ <= tap_e_)) {                           \
            tap_fail_owned(__FILE__, __LINE__, tap_fmt("%.9g", tap_a_),                            \
                           tap_fmt("%.9g (+/- %g)", tap_b_, tap_e_), #a " ~= " #b);                \
            return;                                                                                \
        }                                                                                          \
    } while (0)

#define TAP_ASSERT_DBL_GT(a, b)                                                                    \
    do {                                                                                           \
        double tap_a_ = (double)(a), tap_b_ = (double)(b);                                         \
        if (!(tap_a_ > tap_b_)) {                                                                  \
            tap_fail_owned(__FILE__, __LINE__, tap_fmt("%.9g", tap_a_), tap_fmt("> %.9g", tap_b_), \
                           #a " > " #b);                                                           \
            return;                                                                                \
        }                                                                                          \
    } while (0)

#define TAP_ASSERT_STR_EQ(a, b)                                                                    \
    do {                                                                                           \
        const char *tap_a_ = (a), *tap_b_ = (b);                                                   \
        if (!tap_a_ || !tap_b_ || strcmp(tap_a_, tap_b_) != 0) {                                   \
            tap_fail(__FILE__, __LINE__, tap_a_ ? tap_a_ : "(null)", tap_b_ ? tap_b_ : "(null)",   \
                     "%s", #a " == " #b);                                                          \
            return;                                                                                \
        }                                                                                          \
    } while (0)

#define TAP_ASSERT_STR_CONTAINS(hay, needle)                                                       \
    do {                                                                                           \
        const char *tap_h_ = (hay), *tap_n_ = (needle);                                            \
        if (!tap_h_ || !tap_n_ || !strstr(tap_h_, tap_n_)) {                                       \
            char *tap_e_ = tap_fmt("contains \"%s\"", tap_n_ ? tap_n_ : "(null)");                 \
            tap_fail_owned(__FILE__, __LINE__, tap_fmt("%s", tap_h_ ? tap_h_ : "(null)"), tap_e_,  \
                           #hay " contains " #needle);                                             \
            return;                                                                                \
        }                                                                                          \
    } while (0)

#define TAP_ASSERT_NOT_NULL(p, ...)                                                                \
    do {                                                                                           \
        if ((p) == NULL) {                                                                         \
            tap_fail(__FILE__, __LINE__, "NULL", "not NULL", __VA_ARGS__);                         \
            return;                                                                                \
        }                                                                                          \
    } while (0)

/* A failure already recorded by a helper (e.g. an HTTP or SQL error): stop the test. */
#define TAP_RETURN_IF_FAILED()                                                                     \
    do {                                                                                           \
        if (tap_failed())                                                                          \
            return;                                                                                \
    } while (0)

#endif
