/* The last run's failing suites, with the arguments that re-run each (`envtest keep`). */
#include <envmgr/session.h>

#include <stdlib.h>
#include <string.h>

#include <envmgr/report.h>

static void add_failure(envmgr_failed_suites_t *out, json_t *suite)
{
    const char *name = json_string_value(json_object_get(suite, "name"));
    const char *status = json_string_value(json_object_get(suite, "status"));
    out->items = envmgr_xrealloc(out->items, (out->n + 1) * sizeof(*out->items));
    envmgr_failed_suite_t *f = &out->items[out->n++];
    memset(f, 0, sizeof(*f));
    f->name = envmgr_xstrdup(name ? name : "?");
    f->status = envmgr_xstrdup(status ? status : "?");
    size_t i;
    json_t *arg;
    json_array_foreach(json_object_get(suite, "rerun"), i, arg)
    {
        if (json_is_string(arg))
            envmgr_strv_push(&f->rerun, json_string_value(arg));
    }
}

int envmgr_session_last_failures(const char *runs_dir, envmgr_failed_suites_t *out,
                                 envmgr_error_t *err)
{
    memset(out, 0, sizeof(*out));
    envmgr_cleanup_free char *dir = NULL;
    envmgr_error_t find_err = {0};
    if (envmgr_report_find_run(runs_dir ? runs_dir : ENVMGR_DEFAULT_RUNS_DIR, NULL, &dir,
                               &find_err) < 0)
        return 0; /* no run yet */
    envmgr_cleanup_json json_t *report = NULL;
    if (envmgr_report_load(dir, &report, err) < 0)
        return -1;
    out->report_path = envmgr_xasprintf("%s/report.json", dir);
    size_t i;
    json_t *suite;
    json_array_foreach(json_object_get(report, "suites"), i, suite)
    {
        int status =
            envmgr_suite_status_from_name(json_string_value(json_object_get(suite, "status")));
        if (status >= 0 && status != ENVMGR_SUITE_NOT_RUN &&
            !envmgr_suite_status_ok((enum envmgr_suite_status)status))
            add_failure(out, suite);
    }
    return 0;
}

void envmgr_failed_suites_free(envmgr_failed_suites_t *list)
{
    for (size_t i = 0; i < list->n; i++) {
        free(list->items[i].name);
        free(list->items[i].status);
        envmgr_strv_free(&list->items[i].rerun);
    }
    free(list->items);
    free(list->report_path);
    memset(list, 0, sizeof(*list));
}
