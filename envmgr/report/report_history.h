/* Internals of the history (report_history.c, report_trends.c, report_monitor.c). */
#ifndef ENVMGR_REPORT_HISTORY_H
#define ENVMGR_REPORT_HISTORY_H

#include <jansson.h>

#include "dlib.h"
#include <envmgr/monitor.h>

/* A parameter: text when not NULL, else the number (an integer when it is whole). */
typedef struct history_bind {
    const char *text;
    double number;
} history_bind_t;

sqlite3 *history_db(envmgr_history_t *history);
/* Fills err with the file, what was done and the SQLite error in words; returns -1. */
int history_error(envmgr_history_t *history, const char *what, envmgr_error_t *err);
json_t *history_column(sqlite3_stmt *st, int i);
/* Runs sql; each row becomes an object with the keys names (NULL-terminated, one per column). */
int history_query(envmgr_history_t *history, const char *sql, const char *const *names,
                  const history_bind_t *binds, size_t n_binds, json_t **out, envmgr_error_t *err);

#endif
