#include <envmgr/error.h>

#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

static volatile sig_atomic_t interrupted_flag;
/* 0: a free slot; more children than slots run at once only with --jobs above it */
#define CHILD_GROUP_SLOTS 1024
static atomic_int child_groups[CHILD_GROUP_SLOTS];

static void error_vset(envmgr_error_t *err, enum envmgr_error_kind kind, int code, const char *fmt,
                       va_list ap) ENVMGR_PRINTF(4, 0);
static void error_vset(envmgr_error_t *err, enum envmgr_error_kind kind, int code, const char *fmt,
                       va_list ap)
{
    err->kind = kind;
    err->code = code;
    err->hint[0] = '\0';
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
}

int envmgr_error_set(envmgr_error_t *err, enum envmgr_error_kind kind, int code, const char *fmt,
                     ...)
{
    va_list ap;
    va_start(ap, fmt);
    error_vset(err, kind, code, fmt, ap);
    va_end(ap);
    return -1;
}

int envmgr_error_errno(envmgr_error_t *err, int errnum, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    error_vset(err, ENVMGR_E_SYSTEM, errnum, fmt, ap);
    va_end(ap);
    size_t len = strlen(err->message);
    snprintf(err->message + len, sizeof(err->message) - len, ": %s", strerror(errnum));
    return -1;
}

int envmgr_error_wrap(envmgr_error_t *err, const char *fmt, ...)
{
    char context[1024];
    char old[sizeof(err->message)];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(context, sizeof(context), fmt, ap);
    va_end(ap);
    memcpy(old, err->message, sizeof(old));
    size_t n = strlen(context);
    if (n > sizeof(err->message) - 3)
        n = sizeof(err->message) - 3;
    memcpy(err->message, context, n);
    memcpy(err->message + n, ": ", 2);
    size_t rest = sizeof(err->message) - n - 3;
    size_t old_len = strnlen(old, rest);
    memcpy(err->message + n + 2, old, old_len);
    err->message[n + 2 + old_len] = '\0';
    return -1;
}

int envmgr_error_hint(envmgr_error_t *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->hint, sizeof(err->hint), fmt, ap);
    va_end(ap);
    return -1;
}

void envmgr_error_clear(envmgr_error_t *err)
{
    err->kind = ENVMGR_OK;
    err->code = 0;
    err->message[0] = '\0';
    err->hint[0] = '\0';
}

int envmgr_error_exit_code(const envmgr_error_t *err)
{
    switch (err->kind) {
    case ENVMGR_OK:
        return ENVTEST_EXIT_OK;
    case ENVMGR_E_TESTS_FAILED:
        return ENVTEST_EXIT_TESTS_FAILED;
    case ENVMGR_E_USAGE:
    case ENVMGR_E_CONFIG:
        return ENVTEST_EXIT_USAGE;
    case ENVMGR_E_INTERRUPTED:
        return ENVTEST_EXIT_INTERRUPTED;
    case ENVMGR_E_ENGINE:
    case ENVMGR_E_ENV:
    case ENVMGR_E_SYSTEM:
    case ENVMGR_E_NOT_FOUND:
        break;
    }
    return ENVTEST_EXIT_ENVIRONMENT;
}

void envmgr_interrupt(void)
{
    interrupted_flag = 1;
}

bool envmgr_interrupted(void)
{
    return interrupted_flag != 0;
}

void envmgr_interrupt_reset(void)
{
    interrupted_flag = 0;
}

bool envmgr_interrupt_hold(void)
{
    bool held = interrupted_flag != 0;
    interrupted_flag = 0;
    return held;
}

void envmgr_interrupt_restore(bool held)
{
    if (held)
        interrupted_flag = 1;
}

void envmgr_child_group_add(int pgid)
{
    for (size_t i = 0; i < CHILD_GROUP_SLOTS; i++) {
        int expected = 0;
        if (atomic_compare_exchange_strong(&child_groups[i], &expected, pgid))
            return;
    }
}

void envmgr_child_group_remove(int pgid)
{
    for (size_t i = 0; i < CHILD_GROUP_SLOTS; i++) {
        int expected = pgid;
        if (atomic_compare_exchange_strong(&child_groups[i], &expected, 0))
            return;
    }
}

void envmgr_kill_children(int sig)
{
    for (size_t i = 0; i < CHILD_GROUP_SLOTS; i++) {
        int pgid = atomic_load(&child_groups[i]);
        if (pgid > 0)
            kill(-pgid, sig);
    }
}
