/* The one settable output handler. envmgr never writes to stdout/stderr itself: warnings (e.g. an
 * unknown compose key at file:line), progress and debug messages go through the handler the CLI
 * sets. With no handler set, messages are dropped. The handler may be called from several threads.
 */
#ifndef ENVMGR_LOG_H
#define ENVMGR_LOG_H

#include <envmgr/error.h>

enum envmgr_log_level {
    ENVMGR_LOG_DEBUG,
    ENVMGR_LOG_INFO,
    ENVMGR_LOG_WARN,
};

typedef void (*envmgr_log_cb)(void *userdata, enum envmgr_log_level level, const char *message);

void envmgr_log_set_handler(envmgr_log_cb cb, void *userdata);
void envmgr_log(enum envmgr_log_level level, const char *fmt, ...) ENVMGR_PRINTF(2, 3);
#define envmgr_warn(...) envmgr_log(ENVMGR_LOG_WARN, __VA_ARGS__)
#define envmgr_info(...) envmgr_log(ENVMGR_LOG_INFO, __VA_ARGS__)
#define envmgr_debug(...) envmgr_log(ENVMGR_LOG_DEBUG, __VA_ARGS__)

#endif
