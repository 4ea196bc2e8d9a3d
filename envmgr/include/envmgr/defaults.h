/* envtest's defaults, named once: every module and the CLI read them from here. */
#ifndef ENVMGR_DEFAULTS_H
#define ENVMGR_DEFAULTS_H

/* `up`: how long to wait for every service to be healthy (--wait-timeout). */
#define ENVMGR_DEFAULT_WAIT_TIMEOUT_MS (120 * 1000)
/* Health: the container's state and ports are looked at every ENVMGR_HEALTH_POLL_MS; a healthcheck
 * runs as soon as the ports accept connections, and at least every ENVMGR_HEALTH_SLOW_POLL_MS
 * before. */
#define ENVMGR_HEALTH_POLL_MS 25
#define ENVMGR_HEALTH_SLOW_POLL_MS 1000

/* `run`: where runs are kept (<runs dir>/<run-id>/, and the `latest` link), the history database,
 * the per-suite timeout (--timeout) and the grace between SIGTERM and SIGKILL. */
#define ENVMGR_DEFAULT_RUNS_DIR ".envtest/runs"
#define ENVMGR_DEFAULT_HISTORY_PATH ".envtest/history.sqlite"
#define ENVMGR_RUNNER_DEFAULT_TIMEOUT_MS (300 * 1000)
#define ENVMGR_RUNNER_DEFAULT_GRACE_MS (5 * 1000)

#endif
