/* What run and up --session share: the session's events on stderr, and the project read again
 * under the lock. */
#include <stdio.h>

#include "cmd.h"
#include <envmgr/session.h>

void envtest_session_event_print(const envtest_globals_t *g, const envmgr_session_event_t *ev,
                                 const char *what)
{
    const char *name = ev->project;
    switch (ev->kind) {
    case ENVMGR_SESSION_LOCK_WAIT:
        if (!g->quiet)
            fprintf(stderr, "envtest: waiting for %s: its lock is held by %s\n", name, ev->message);
        break;
    case ENVMGR_SESSION_SHARED:
        if (!g->quiet)
            fprintf(stderr, "envtest: %s stays up: %d other run%s use%s it\n", name, ev->count,
                    ev->count == 1 ? "" : "s", ev->count == 1 ? "s" : "");
        break;
    case ENVMGR_SESSION_BRINGING_UP:
        if (!g->quiet)
            fprintf(stderr, "envtest: %s is not up: bringing it up for this %s\n", name, what);
        break;
    case ENVMGR_SESSION_EMPTY_SHARD:
        fprintf(stderr, "envtest: note: %s\n", ev->message);
        break;
    case ENVMGR_SESSION_VARIABLES: /* before any suite can print one */
        envtest_ci_mask_project(ev->model, ev->vars);
        break;
    case ENVMGR_SESSION_KEPT:
        fprintf(stderr,
                "envtest: kept environment %s for inspection (suites failed).\n"
                "  connect: eval \"$(envtest -p %s env)\"   logs: envtest -p %s logs SERVICE\n"
                "  a command in a service: envtest -p %s exec SERVICE COMMAND\n"
                "  re-run one suite: envtest -p %s run --suite NAME   remove: envtest -p %s down\n",
                name, name, name, name, name, name);
        break;
    case ENVMGR_SESSION_REMOVED:
        if (!g->quiet)
            fprintf(stderr, "envtest: removed environment %s (brought up for this %s)\n", name,
                    what);
        break;
    case ENVMGR_SESSION_FINISH_FAILED:
        envtest_report_error(ev->error);
        break;
    }
}

int envtest_reload_live_project(const envtest_globals_t *g, envmgr_engine_t *engine,
                                envmgr_project_t **out, envmgr_kvlist_t *labels,
                                envmgr_error_t *err)
{
    envmgr_cleanup_free char *secrets = NULL;
    if (envtest_load_live_project(g, engine, out, &secrets, err) < 0)
        return -1;
    envtest_network_labels(*out, secrets, labels);
    return 0;
}
