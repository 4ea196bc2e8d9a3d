#include <envmgr/log.h>

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static envmgr_log_cb log_handler;
static void *log_userdata;

void envmgr_log_set_handler(envmgr_log_cb cb, void *userdata)
{
    pthread_mutex_lock(&log_lock);
    log_handler = cb;
    log_userdata = userdata;
    pthread_mutex_unlock(&log_lock);
}

void envmgr_log(enum envmgr_log_level level, const char *fmt, ...)
{
    char message[4096];
    va_list ap;
    pthread_mutex_lock(&log_lock);
    if (log_handler) {
        va_start(ap, fmt);
        vsnprintf(message, sizeof(message), fmt, ap);
        va_end(ap);
        log_handler(log_userdata, level, message);
    }
    pthread_mutex_unlock(&log_lock);
}
