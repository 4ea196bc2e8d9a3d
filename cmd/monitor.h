/* The run's monitor, as the CLI uses it (cmd/monitor.c): alert limits from the Compose file,
 * alerts printed at the end of a run. */
#ifndef ENVTEST_MONITOR_H
#define ENVTEST_MONITOR_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "cmd.h"
#include <envmgr/monitor.h>

/* Opens the monitor of a run: the limits of project's x-envtest.monitor (project NULL: the
 * Compose file is read for them when there is one, unless the run is a bare command). */
envmgr_monitor_t *envtest_run_monitor(const envtest_globals_t *g, const envmgr_project_t *project,
                                      const char *history, bool bare_command);
/* "alert: ..." lines after the run's summary. */
void envtest_print_alerts(FILE *out, const json_t *report, bool fail_on_alert);

#endif
