/* How a service's container died, in words a user can act on: killed by the OOM killer (the
 * engine's State.OOMKilled) with its memory limit and what to raise, or its exit code. Used by the
 * health wait of up (a container that dies while waited for) and by run (a service that died while
 * the suites ran). */
#include "health.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <envmgr/env.h>
#include <envmgr/lifecycle.h>
#include <envmgr/log.h>

/* How long run waits for the engine to report a death its processes already show, and how long a
 * SIGKILLed container's OOMKilled may come after its exit (envmgr_container_inspect_settled). */
#define DEATH_SETTLE_MS 5000
#define OOM_SETTLE_MS 1000

static void add_size(envmgr_buf_t *b, json_int_t bytes)
{
    if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) == 0)
        envmgr_buf_addf(b, "%lld MiB", (long long)(bytes / (1024 * 1024)));
    else
        envmgr_buf_addf(b, "%lld bytes", (long long)bytes);
}

bool envmgr_container_died(json_t *inspect, envmgr_buf_t *why, envmgr_buf_t *hint)
{
    json_t *state = json_object_get(inspect, "State");
    const char *status = json_string_value(json_object_get(state, "Status"));
    bool oom = json_is_true(json_object_get(state, "OOMKilled"));
    int code = (int)json_integer_value(json_object_get(state, "ExitCode"));
    bool gone = status && (strcmp(status, "exited") == 0 || strcmp(status, "dead") == 0);
    if (!oom && !gone)
        return false;
    if (oom && !gone) {
        envmgr_buf_adds(why, "a process in it was killed by the OOM killer (the engine's "
                             "State.OOMKilled; the container still runs)");
        envmgr_buf_adds(hint, "raise the service's mem_limit (or deploy.resources.limits.memory)");
        return true;
    }
    if (oom) {
        json_int_t limit =
            json_integer_value(json_object_get(json_object_get(inspect, "HostConfig"), "Memory"));
        envmgr_buf_addf(why,
                        "killed by the OOM killer (the engine's State.OOMKilled; %s, exit code %d)",
                        status ? status : "?", code);
        if (limit > 0) {
            envmgr_buf_adds(why, ": it needs more memory than its limit of ");
            add_size(why, limit);
            envmgr_buf_adds(hint, "raise the service's mem_limit (or "
                                  "deploy.resources.limits.memory) in the Compose file, or make it "
                                  "use less memory");
        } else {
            envmgr_buf_adds(why, ": the machine (or the engine's VM) ran out of memory");
            envmgr_buf_adds(hint, "give the engine more memory, or set a mem_limit on the services "
                                  "that grow so that the culprit is the one killed");
        }
        return true;
    }
    envmgr_buf_addf(why, "exited with code %d", code);
    if (code == 137)
        envmgr_buf_adds(why, " (SIGKILL; the engine reports no OOM kill: killed from outside?)");
    return true;
}

/* Whether the process PID is alive as /proc/PID/stat tells: 1 alive, 0 exiting or exited (a zombie,
 * or PF_EXITING: the kernel closes its sockets, so the suite sees the service hang up, before it
 * becomes the zombie its parent, the runtime's shim, then reaps), -1 when envtest cannot see it
 * (gone, or another pid namespace). */
#define PF_EXITING 0x00000004
static int proc_alive(json_int_t pid, char *state)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%lld/stat", (long long)pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *paren = strrchr(buf, ')'); /* after the command name, which may hold anything */
    unsigned long flags = 0;
    /* ") S ppid pgrp session tty_nr tpgid flags" */
    if (!paren || sscanf(paren + 1, " %c %*d %*d %*d %*d %*d %lu", state, &flags) != 2)
        return -1;
    return *state == 'Z' || *state == 'X' || (flags & PF_EXITING) ? 0 : 1;
}

/* The engine learns of a container's death from containerd a little after the kernel killed it, and
 * a suite that ended because the service hung up asks in between. So a container the engine still
 * calls running is checked: its main process (State.Pid, when envtest sees the engine's pid
 * namespace: neither exiting nor a zombie), else the engine's own process list (top: none, or an
 * error, when it is dead). */
static bool still_running(envmgr_engine_t *engine, const char *id, json_t *inspect)
{
    json_int_t pid = json_integer_value(json_object_get(json_object_get(inspect, "State"), "Pid"));
    char state = '-';
    int alive = pid > 0 ? proc_alive(pid, &state) : -1;
    envmgr_debug("run: %.12s: running as far as the engine knows; pid %lld: %c%s", id,
                 (long long)pid, state, alive == 0 ? " (exiting)" : "");
    if (alive >= 0)
        return alive == 1;
    envmgr_cleanup_free char *path = envmgr_xasprintf("/containers/%s/top", id);
    envmgr_cleanup_json json_t *top = NULL;
    envmgr_error_t err = {0};
    if (envmgr_engine_request(engine, "GET", path, NULL, &top, &err) < 0) {
        envmgr_debug("run: %.12s: top: %s", id, err.message);
        return err.kind == ENVMGR_E_ENGINE && strstr(err.message, "cannot reach");
    }
    envmgr_debug("run: %.12s: top: %zu processes", id,
                 json_array_size(json_object_get(top, "Processes")));
    return json_array_size(json_object_get(top, "Processes")) > 0;
}

/* A container killed by SIGKILL (exit code 137) whose OOMKilled the engine has not set yet: the
 * engine may handle containerd's exit event before its OOM event. */
static bool oom_maybe_pending(json_t *inspect)
{
    json_t *state = json_object_get(inspect, "State");
    const char *status = json_string_value(json_object_get(state, "Status"));
    return status && strcmp(status, "exited") == 0 &&
           json_integer_value(json_object_get(state, "ExitCode")) == 137 &&
           !json_is_true(json_object_get(state, "OOMKilled"));
}

int envmgr_container_inspect_settled(envmgr_engine_t *engine, const char *id, json_t **inspect,
                                     envmgr_error_t *err)
{
    int64_t start = envmgr_now_ms();
    for (;;) {
        if (envmgr_engine_container_inspect(engine, id, inspect, err) < 0)
            return -1;
        const char *status =
            json_string_value(json_object_get(json_object_get(*inspect, "State"), "Status"));
        bool settled;
        if (status && strcmp(status, "running") == 0)
            settled =
                still_running(engine, id, *inspect) || envmgr_now_ms() - start >= DEATH_SETTLE_MS;
        else
            settled = !oom_maybe_pending(*inspect) || envmgr_now_ms() - start >= OOM_SETTLE_MS;
        if (settled)
            return 0;
        envmgr_debug("%.12s: the engine has not caught up with its death yet (%s)", id,
                     status ? status : "?");
        json_decref(*inspect);
        *inspect = NULL;
        envmgr_sleep_ms(20);
    }
}

/* A service container that died: not running and either OOM-killed or exited non-zero (a one-shot
 * service that exited 0 did its job). */
static json_t *service_failure(envmgr_engine_t *engine, json_t *summary, envmgr_error_t *err)
{
    const char *id = json_string_value(json_object_get(summary, "Id"));
    const char *service = json_string_value(
        json_object_get(json_object_get(summary, "Labels"), ENVMGR_LABEL_SERVICE));
    if (!id || !service)
        return NULL;
    envmgr_cleanup_json json_t *inspect = NULL;
    if (envmgr_container_inspect_settled(engine, id, &inspect, err) < 0)
        return NULL; /* removed meanwhile: nothing to say */
    json_t *state = json_object_get(inspect, "State");
    bool oom = json_is_true(json_object_get(state, "OOMKilled"));
    int code = (int)json_integer_value(json_object_get(state, "ExitCode"));
    const char *status = json_string_value(json_object_get(state, "Status"));
    if (!oom && (code == 0 || (status && strcmp(status, "running") == 0)))
        return NULL;
    envmgr_buf_t why = ENVMGR_BUF_INIT, hint = ENVMGR_BUF_INIT;
    if (!envmgr_container_died(inspect, &why, &hint)) {
        envmgr_buf_free(&why);
        envmgr_buf_free(&hint);
        return NULL;
    }
    json_t *f = json_pack(
        "{s:s, s:s, s:s, s:i, s:b, s:I, s:s, s:s}", "service", service, "container", id, "state",
        status ? status : "", "exit_code", code, "oom_killed", oom, "memory_limit",
        json_integer_value(json_object_get(json_object_get(inspect, "HostConfig"), "Memory")),
        "message", why.data ? why.data : "", "hint", hint.data ? hint.data : "");
    envmgr_buf_free(&why);
    envmgr_buf_free(&hint);
    return f;
}

int envmgr_env_service_failures(envmgr_engine_t *engine, const char *project_name, json_t **out,
                                envmgr_error_t *err)
{
    *out = NULL;
    envmgr_cleanup_free char *filter =
        envmgr_xasprintf("%s=%s", ENVMGR_LABEL_PROJECT, project_name);
    envmgr_cleanup_json json_t *list = NULL;
    if (envmgr_engine_container_list(engine, filter, true, &list, err) < 0)
        return -1;
    json_t *failures = json_array();
    size_t i;
    json_t *summary;
    json_array_foreach(list, i, summary)
    {
        envmgr_error_t ignored = {0};
        json_t *f = service_failure(engine, summary, &ignored);
        if (f)
            json_array_append_new(failures, f);
    }
    *out = failures;
    return 0;
}
