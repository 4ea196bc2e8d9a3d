/* The run's monitor hooks (see monitor.h). */
#include "monitor.h"

#include <stdlib.h>

envmgr_monitor_t *envtest_run_monitor(const envtest_globals_t *g, const envmgr_project_t *project,
                                      const char *history, bool bare_command)
{
    envmgr_project_t *loaded = NULL;
    envmgr_error_t err = {0};
    if (project == NULL && !bare_command && envtest_load_project(g, &loaded, &err) == 0)
        project = loaded; /* --no-env: the limits still come from the file, when there is one */
    envmgr_monitor_options_t opts = {.history_path = history, .project = project};
    envmgr_monitor_t *monitor = envmgr_monitor_open(&opts);
    envmgr_project_free(loaded);
    return monitor;
}

void envtest_print_alerts(FILE *out, const json_t *report, bool fail_on_alert)
{
    size_t n = json_array_size(json_object_get(report, "alerts"));
    if (n == 0)
        return;
    envmgr_buf_t b = ENVMGR_BUF_INIT;
    envmgr_monitor_alerts_text(report, &b);
    fprintf(out, "%zu alert%s (x-envtest.monitor.alerts)%s:\n%s", n, n == 1 ? "" : "s",
            fail_on_alert ? ", failing the run (--fail-on-alert)" : "", b.data);
    envmgr_buf_free(&b);
}
