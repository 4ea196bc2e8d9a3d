#include "health.h"
#include "probe.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <envmgr/log.h>

void envmgr_healthcheck_clear(envmgr_healthcheck_t *hc)
{
    envmgr_strv_free(&hc->test);
    memset(hc, 0, sizeof(*hc));
}

static void healthcheck_copy(const envmgr_healthcheck_t *from, envmgr_healthcheck_t *to)
{
    *to = *from;
    memset(&to->test, 0, sizeof(to->test));
    for (size_t i = 0; i < from->test.n; i++)
        envmgr_strv_push(&to->test, from->test.items[i]);
}

bool envmgr_health_resolve(const envmgr_service_t *service, json_t *image_inspect,
                           envmgr_healthcheck_t *out)
{
    memset(out, 0, sizeof(*out));
    if (service->healthcheck.kind == ENVMGR_HEALTHCHECK_NONE)
        return false;
    if (service->healthcheck.kind != ENVMGR_HEALTHCHECK_UNSET) {
        healthcheck_copy(&service->healthcheck, out);
        /* Compose's defaults where the file gave none. */
        if (out->timeout_ms <= 0)
            out->timeout_ms = 30000;
        if (out->interval_ms <= 0)
            out->interval_ms = 30000;
        return true;
    }
    json_t *test = json_object_get(
        json_object_get(json_object_get(image_inspect, "Config"), "Healthcheck"), "Test");
    if (!json_is_array(test) || json_array_size(test) < 1)
        return false;
    const char *kind = json_string_value(json_array_get(test, 0));
    if (!kind || strcmp(kind, "NONE") == 0)
        return false;
    if (strcmp(kind, "CMD") == 0)
        out->kind = ENVMGR_HEALTHCHECK_CMD;
    else if (strcmp(kind, "CMD-SHELL") == 0)
        out->kind = ENVMGR_HEALTHCHECK_CMD_SHELL;
    else
        return false;
    for (size_t i = 1; i < json_array_size(test); i++) {
        const char *arg = json_string_value(json_array_get(test, i));
        if (arg)
            envmgr_strv_push(&out->test, arg);
    }
    json_t *hc = json_object_get(json_object_get(image_inspect, "Config"), "Healthcheck");
    json_int_t timeout_ns = json_integer_value(json_object_get(hc, "Timeout"));
    out->timeout_ms = timeout_ns > 0 ? timeout_ns / 1000000 : 30000;
    out->interval_ms = 30000;
    out->retries = 3;
    return out->test.n > 0;
}

struct container_state {
    char status[32]; /* created, running, exited, ... */
    char health[32]; /* engine's health status or "" */
    int exit_code;
    char died[512]; /* exited or dead: how (envmgr_container_died), else "" */
    char died_hint[256];
    envmgr_probe_target_t probe; /* where its ports are reached from here, and which */
};

static int container_state_get(envmgr_engine_t *engine, const char *id, struct container_state *st,
                               envmgr_error_t *err)
{
    envmgr_cleanup_json json_t *inspect = NULL;
    if (envmgr_engine_container_inspect(engine, id, &inspect, err) < 0)
        return -1;
    const char *status =
        json_string_value(json_object_get(json_object_get(inspect, "State"), "Status"));
    if (status && (strcmp(status, "exited") == 0 || strcmp(status, "dead") == 0)) {
        json_decref(inspect); /* died: as the engine will tell it (an OOM kill may come late) */
        inspect = NULL;
        if (envmgr_container_inspect_settled(engine, id, &inspect, err) < 0)
            return -1;
    }
    memset(st, 0, sizeof(*st));
    json_t *state = json_object_get(inspect, "State");
    snprintf(st->status, sizeof(st->status), "%s",
             json_string_value(json_object_get(state, "Status")) ?: "");
    snprintf(st->health, sizeof(st->health), "%s",
             json_string_value(json_object_get(json_object_get(state, "Health"), "Status")) ?: "");
    st->exit_code = (int)json_integer_value(json_object_get(state, "ExitCode"));
    if (strcmp(st->status, "exited") == 0 || strcmp(st->status, "dead") == 0) {
        envmgr_buf_t why = ENVMGR_BUF_INIT, hint = ENVMGR_BUF_INIT;
        envmgr_container_died(inspect, &why, &hint);
        snprintf(st->died, sizeof(st->died), "%s", why.data ? why.data : "exited");
        snprintf(st->died_hint, sizeof(st->died_hint), "%s", hint.data ? hint.data : "");
        envmgr_buf_free(&why);
        envmgr_buf_free(&hint);
    }
    return envmgr_probe_target_get(engine, inspect, &st->probe, err);
}

static int collect_output_cb(void *userdata, enum envmgr_stream stream, const char *data,
                             size_t len)
{
    envmgr_buf_t *b = userdata;
    (void)stream;
    if (b->len < 8192)
        envmgr_buf_add(b, data, len);
    return 0;
}

static int run_healthcheck(envmgr_engine_t *engine, const char *id, const envmgr_healthcheck_t *hc,
                           int timeout_ms, envmgr_buf_t *output, int *exit_code,
                           envmgr_error_t *err)
{
    const char *shell_argv[] = {"/bin/sh", "-c", hc->test.n ? hc->test.items[0] : "", NULL};
    const char *const *argv =
        hc->kind == ENVMGR_HEALTHCHECK_CMD_SHELL ? shell_argv : (const char *const *)hc->test.items;
    /* Keep the previous attempt's output unless this one completes: a check cut short by the
     * deadline says less than the last complete one. */
    envmgr_buf_t fresh = ENVMGR_BUF_INIT;
    int r = envmgr_engine_exec(engine, id, argv, NULL, timeout_ms, collect_output_cb, &fresh,
                               exit_code, err);
    if (r == 0 || output->len == 0) {
        envmgr_buf_reset(output);
        if (r == 0)
            envmgr_buf_add(output, fresh.data ? fresh.data : "", fresh.len);
        else
            envmgr_buf_adds(output, err->message);
    }
    envmgr_debug("health check of %.12s: %s, exit %d, output: %.200s", id,
                 r == 0 ? "ran" : err->message, *exit_code, output->data ? output->data : "");
    envmgr_buf_free(&fresh);
    return r;
}

int envmgr_health_probe(envmgr_engine_t *engine, const char *container_id,
                        const envmgr_healthcheck_t *hc, bool *passed, envmgr_error_t *err)
{
    envmgr_buf_t output = ENVMGR_BUF_INIT;
    int code = -1;
    int r = run_healthcheck(engine, container_id, hc, (int)hc->timeout_ms, &output, &code, err);
    envmgr_buf_free(&output);
    *passed = r == 0 && code == 0;
    return r;
}

static bool ports_accept(const struct container_state *st)
{
    /* no tcp port, or one not reachable from here (network_mode none or service:X; unpublished
     * on a VM engine), counts as accepting: the healthcheck decides */
    for (size_t i = 0; i < st->probe.n_tcp_ports; i++)
        if (!envmgr_probe_port(&st->probe, st->probe.tcp_ports[i]))
            return false;
    return true;
}

/* The container died while waited for: at once, with how (an OOM kill says so, with its hint). */
static int died_error(const struct container_state *st, envmgr_error_t *err)
{
    envmgr_error_set(err, ENVMGR_E_ENV, 0, "container %s while envtest waited for it", st->died);
    return st->died_hint[0] ? envmgr_error_hint(err, "%s", st->died_hint) : -1;
}

int envmgr_wait_stopped(const envmgr_wait_limit_t *limit, envmgr_error_t *err)
{
    if (envmgr_interrupted())
        return envmgr_error_set(err, ENVMGR_E_INTERRUPTED, 0, "interrupted");
    if (limit->cancel && atomic_load(limit->cancel))
        return envmgr_error_set(err, ENVMGR_E_INTERRUPTED, 0, "stopped");
    return 0;
}

int envmgr_health_wait(envmgr_engine_t *engine, const char *id, const envmgr_healthcheck_t *hc,
                       const envmgr_wait_limit_t *limit, envmgr_buf_t *last_output,
                       envmgr_error_t *err)
{
    const int64_t deadline_ms = limit->deadline_ms;
    struct container_state st;
    int attempts = 0;
    /* The first exec waits for the ports too (or a second): an exec issued while the service is
     * still starting only keeps this thread from noticing the moment its ports open. */
    int64_t last_exec = envmgr_now_ms();
    bool accepted = false;
    for (;;) {
        if (envmgr_wait_stopped(limit, err) < 0)
            return -1;
        if (container_state_get(engine, id, &st, err) < 0)
            return -1;
        if (st.died[0])
            return died_error(&st, err);
        if (strcmp(st.health, "unhealthy") == 0)
            return envmgr_error_set(err, ENVMGR_E_ENV, 0,
                                    "the engine reports the container unhealthy");
        if (strcmp(st.status, "running") == 0) {
            bool ready;
            if (hc) {
                /* An exec costs the engine a process start (100s of ms of CPU that the starting
                 * service needs too): while the container's TCP ports still refuse connections,
                 * which a connect() tells in microseconds (probe.h), the check can only fail,
                 * so it runs then at most once a second. Once the ports accept, it runs at once. */
                int64_t now = envmgr_now_ms();
                bool accept = ports_accept(&st);
                if (accept && !accepted)
                    envmgr_debug("health: %.12s: its ports accept connections", id);
                accepted = accept;
                bool gate = accept || now - last_exec >= ENVMGR_HEALTH_SLOW_POLL_MS;
                ready = false;
                if (gate) {
                    int64_t left = deadline_ms - now;
                    int timeout = (int)(hc->timeout_ms < left ? hc->timeout_ms : left);
                    int code = -1;
                    envmgr_error_t exec_err = {0};
                    attempts++;
                    last_exec = now;
                    if (run_healthcheck(engine, id, hc, timeout > 0 ? timeout : 1, last_output,
                                        &code, &exec_err) < 0) {
                        if (exec_err.kind == ENVMGR_E_ENGINE &&
                            strstr(exec_err.message, "cannot reach"))
                            return envmgr_error_set(err, exec_err.kind, exec_err.code, "%s",
                                                    exec_err.message);
                    } else {
                        ready = code == 0;
                    }
                }
            } else {
                ready = ports_accept(&st);
            }
            if (ready)
                return 0;
        }
        if (envmgr_now_ms() >= deadline_ms) {
            if (hc)
                return envmgr_error_set(err, ENVMGR_E_ENV, 0,
                                        "health check did not pass in time (%d attempts)",
                                        attempts);
            return envmgr_error_set(err, ENVMGR_E_ENV, 0,
                                    "ports did not accept connections in time (state %s)",
                                    st.status);
        }
        envmgr_sleep_ms(ENVMGR_HEALTH_POLL_MS);
    }
}

int envmgr_health_wait_completed(envmgr_engine_t *engine, const char *id,
                                 const envmgr_wait_limit_t *limit, envmgr_error_t *err)
{
    struct container_state st;
    for (;;) {
        if (envmgr_wait_stopped(limit, err) < 0)
            return -1;
        if (container_state_get(engine, id, &st, err) < 0)
            return -1;
        if (st.died[0]) {
            if (st.exit_code == 0)
                return 0;
            envmgr_error_set(err, ENVMGR_E_ENV, 0, "%s (expected 0)", st.died);
            return st.died_hint[0] ? envmgr_error_hint(err, "%s", st.died_hint) : -1;
        }
        if (envmgr_now_ms() >= limit->deadline_ms)
            return envmgr_error_set(err, ENVMGR_E_ENV, 0, "did not complete in time");
        envmgr_sleep_ms(ENVMGR_HEALTH_POLL_MS);
    }
}
