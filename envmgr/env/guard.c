/* The reaper container's client side (see <envmgr/guard.h>). */
#include <envmgr/guard.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "project.h"
#include "scratch_image.h"
#include <envmgr/lock.h>
#include <envmgr/log.h>
#include <envmgr/util.h>

#define REAPER_PORT "7777/tcp"
#define CONNECT_DEADLINE_MS 15000
#define RELEASE_CONNECT_MS 1000

struct envmgr_guard {
    int fd;
};

/* envtest/reaper:<digest of the binary>, built from a FROM scratch context when absent. */
static const envmgr_scratch_program_t reaper_program = {
    .name = "reaper", .env_var = "ENVTEST_REAPER_BIN", .what = "reaper container"};

static char *container_name(const char *project)
{
    return envmgr_xasprintf("envtest-reaper-%s", project);
}

/* Whether the reaper's process, pid on the engine's machine, is visibly not on this one: no
 * /proc/<pid> here (macOS has no /proc at all). Then the engine runs in a VM (Docker Desktop, a
 * Podman machine) or elsewhere, or envtest runs in a container of its own, and the 127.0.0.1 the
 * reaper listens on is not this machine's. Unknown (no pid, /proc unreadable) counts as here. */
static bool process_elsewhere(json_int_t pid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%lld", (long long)pid);
    return pid > 0 && access(path, F_OK) < 0 && errno == ENOENT;
}

/* Where the reaper container runs: in the host's network namespace, or, when envtest runs in a
 * container of the engine's with a namespace of its own (envmgr_engine_self), in that container's:
 * either way it listens on the 127.0.0.1 envtest has. Malloc'ed. */
static char *reaper_network_mode(const envmgr_engine_t *engine)
{
    const char *self = envmgr_engine_self(engine);
    return self ? envmgr_xasprintf("container:%s", self) : envmgr_xstrdup("host");
}

/* The host port of a running reaper container, 0 when it is not running, -1 on error (also when
 * it listens in another network namespace than this envtest's would: the host's, or another
 * container's). In the host's network namespace or a container's: its --port argument; else (an
 * older envtest's) its published 7777. *pid: its process's pid
 * on the engine's machine, when the engine says (else 0). */
static int running_port(envmgr_engine_t *engine, const char *name, json_int_t *pid,
                        envmgr_error_t *err)
{
    envmgr_cleanup_json json_t *c = NULL;
    *pid = 0;
    if (envmgr_engine_container_inspect(engine, name, &c, err) < 0)
        return -1;
    if (!json_is_true(json_object_get(json_object_get(c, "State"), "Running")))
        return 0;
    *pid = json_integer_value(json_object_get(json_object_get(c, "State"), "Pid"));
    const char *mode =
        json_string_value(json_object_get(json_object_get(c, "HostConfig"), "NetworkMode"));
    bool in_namespace = mode && (strcmp(mode, "host") == 0 || strncmp(mode, "container:", 10) == 0);
    envmgr_cleanup_free char *want = reaper_network_mode(engine);
    if (in_namespace && strcmp(mode, want) != 0) /* another envtest's 127.0.0.1, out of reach */
        return envmgr_error_set(err, ENVMGR_E_ENV, 0,
                                "reaper container %s runs in network mode %s, this envtest's "
                                "would in %s: out of reach",
                                name, mode, want);
    if (in_namespace) {
        json_t *cmd = json_object_get(json_object_get(c, "Config"), "Cmd");
        for (size_t i = 0; i + 1 < json_array_size(cmd); i++)
            if (strcmp(json_string_value(json_array_get(cmd, i)) ?: "", "--port") == 0)
                return atoi(json_string_value(json_array_get(cmd, i + 1)) ?: "0");
        return 0;
    }
    json_t *b = json_array_get(
        json_object_get(json_object_get(json_object_get(c, "NetworkSettings"), "Ports"),
                        REAPER_PORT),
        0);
    const char *port = json_string_value(json_object_get(b, "HostPort"));
    return port ? atoi(port) : 0;
}

/* Removes a reaper container this envtest created and could not start, even after Ctrl-C (the
 * engine calls refuse to start while interrupted): else it stays, created, for good. */
static void remove_unstarted(envmgr_engine_t *engine, const char *id)
{
    envmgr_error_t ignored = {0};
    bool held = envmgr_interrupt_hold();
    envmgr_engine_container_remove(engine, id, true, false, &ignored);
    envmgr_interrupt_restore(held);
}

/* A free TCP port on 127.0.0.1 (the kernel's choice; the reaper binds it a moment later, and a
 * reaper that finds it taken exits: the next attempt picks another). */
static int free_port(envmgr_error_t *err)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(sa);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
        int saved = errno;
        if (fd >= 0)
            close(fd);
        return envmgr_error_errno(err, saved, "reaper container: a free port");
    }
    close(fd);
    return ntohs(sa.sin_port);
}

/* The reaper container's create body. It runs in the host's network namespace (or envtest's own
 * container's, see reaper_network_mode), listening on 127.0.0.1:port only: the engine then sets up
 * no network for it (no libnetwork-setkey hook, no port forward), which was a whole container's
 * network set-up on every cold up. */
static json_t *reaper_config(const char *image, const char *project, const char *bind, int port,
                             const char *network_mode)
{
    const char *grace = getenv("ENVTEST_REAPER_GRACE");
    char port_text[16];
    snprintf(port_text, sizeof(port_text), "%d", port);
    return json_pack("{s:s, s:[s,s,s,s,s,s,s,s], s:{s:s}, s:{s:[s], s:s, s:b}}", "Image", image,
                     "Cmd", "--project", project, "--grace", grace && *grace ? grace : "10",
                     "--port", port_text, "--listen", "127.0.0.1", "Labels", ENVMGR_LABEL_REAPER,
                     project, "HostConfig", "Binds", bind, "NetworkMode", network_mode,
                     "AutoRemove", 1);
}

/* The engine's socket as the engine's host names it, for the reaper's bind mount: the path envtest
 * uses, unless envtest runs in a container (envmgr_engine_self), where it is that container's mount
 * of it (or of a folder holding it): `-v /run/podman/podman.sock:/var/run/docker.sock` is
 * /run/podman/podman.sock on the host, and /var/run/docker.sock there is another engine's, or
 * nothing. Malloc'ed. */
static char *socket_on_engine_host(envmgr_engine_t *engine, const char *path)
{
    const char *self = envmgr_engine_self(engine);
    envmgr_cleanup_json json_t *c = NULL;
    envmgr_error_t ignored = {0};
    if (!self || envmgr_engine_container_inspect(engine, self, &c, &ignored) < 0)
        return envmgr_xstrdup(path);
    size_t i, best = 0;
    const char *source = NULL;
    json_t *m;
    json_array_foreach(json_object_get(c, "Mounts"), i, m)
    {
        const char *dst = json_string_value(json_object_get(m, "Destination"));
        const char *src = json_string_value(json_object_get(m, "Source"));
        size_t n = dst ? strlen(dst) : 0;
        while (n > 1 && dst[n - 1] == '/')
            n--;
        if (src && *src && n > best && strncmp(path, dst, n) == 0 &&
            (path[n] == '\0' || path[n] == '/')) {
            best = n;
            source = src;
        }
    }
    return source ? envmgr_xasprintf("%s%s", source, path + best) : envmgr_xstrdup(path);
}

static int start_container(envmgr_engine_t *engine, const char *project, int *port, json_int_t *pid,
                           envmgr_error_t *err)
{
    const char *host = envmgr_engine_host(engine);
    if (!host || strncmp(host, "unix://", 7) != 0)
        return envmgr_error_set(err, ENVMGR_E_ENV, 0,
                                "reaper container: the engine at %s is not a unix socket it "
                                "could mount",
                                host ? host : "(default)");
    envmgr_cleanup_free char *name = container_name(project);
    for (int attempt = 0; attempt < 3; attempt++) {
        envmgr_error_t lookup_err = {0};
        int p = running_port(engine, name, pid, &lookup_err);
        if (p > 0) {
            *port = p;
            return 0;
        }
        if (p == 0) /* there but not running: it is on its way out */
            envmgr_engine_container_remove(engine, name, true, false, &lookup_err);
        else if (lookup_err.kind != ENVMGR_E_NOT_FOUND)
            return envmgr_error_set(err, lookup_err.kind, lookup_err.code, "%s",
                                    lookup_err.message);
        envmgr_cleanup_free char *image = NULL;
        if (envmgr_scratch_image_ensure(engine, &reaper_program, &image, err) < 0)
            return -1;
        int chosen = free_port(err);
        if (chosen < 0)
            return -1;
        envmgr_cleanup_free char *source = socket_on_engine_host(engine, host + 7);
        envmgr_cleanup_free char *bind = envmgr_xasprintf("%s:/engine.sock", source);
        envmgr_cleanup_free char *mode = reaper_network_mode(engine);
        envmgr_cleanup_json json_t *config = reaper_config(image, project, bind, chosen, mode);
        envmgr_cleanup_free char *id = NULL;
        envmgr_error_t create_err = {0};
        if (envmgr_engine_container_create(engine, name, config, &id, &create_err) < 0) {
            if (create_err.kind == ENVMGR_E_ENV) /* 409: another envtest made it: join it */
                continue;
            if (create_err.kind == ENVMGR_E_INTERRUPTED) /* the engine may have made it */
                remove_unstarted(engine, name);
            *err = create_err;
            return envmgr_error_wrap(err, "reaper container");
        }
        if (envmgr_engine_container_start(engine, id, &create_err) < 0) {
            if (create_err.kind == ENVMGR_E_ENV) /* a conflict again: retry */
                continue;
            *err = create_err;
            remove_unstarted(engine, id);
            return envmgr_error_wrap(err, "reaper container");
        }
    }
    envmgr_error_t last = {0};
    int p = running_port(engine, name, pid, &last);
    if (p > 0) {
        *port = p;
        return 0;
    }
    return envmgr_error_set(err, ENVMGR_E_ENV, 0, "reaper container %s does not stay up", name);
}

/* Connects to 127.0.0.1:port and waits for the reaper's "ready" (the port may accept before the
 * program inside listens: then the connection closes and it tries again, until the deadline). */
static int connect_reaper(int port, int64_t within_ms, int *fd_out, envmgr_error_t *err)
{
    int64_t deadline = envmgr_now_ms() + within_ms;
    int saved = 0;
    while (envmgr_now_ms() < deadline && !envmgr_interrupted()) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return envmgr_error_errno(err, errno, "reaper container: socket");
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
            struct pollfd pf = {.fd = fd, .events = POLLIN};
            char buf[8] = "";
            /* the reply, or the close when nothing listens yet */
            if (poll(&pf, 1, (int)(deadline - envmgr_now_ms())) == 1 && read(fd, buf, 6) == 6 &&
                memcmp(buf, "ready\n", 6) == 0) {
                *fd_out = fd;
                return 0;
            }
        }
        saved = errno;
        close(fd);
        envmgr_sleep_ms(20); /* the container's program is starting */
    }
    return envmgr_error_set(err, ENVMGR_E_ENV, saved,
                            "reaper container: no answer on 127.0.0.1:%d within %.1f s", port,
                            within_ms / 1000.0);
}

static int send_line(int fd, const char *line)
{
    size_t len = strlen(line);
    return send(fd, line, len, MSG_NOSIGNAL) == (ssize_t)len ? 0 : -1;
}

int envmgr_guard_open(envmgr_engine_t *engine, const char *project, envmgr_guard_t **out,
                      envmgr_error_t *err)
{
    *out = NULL;
    int port = 0, fd = -1;
    for (int attempt = 0; attempt < 2; attempt++) {
        json_int_t pid = 0;
        if (start_container(engine, project, &port, &pid, err) < 0)
            return -1;
        /* at once, not after the connect deadline (in envtest's own container's namespace, its
         * pid is another namespace's: it is reachable all the same) */
        if (!envmgr_engine_self(engine) && process_elsewhere(pid)) {
            envmgr_cleanup_free char *name = container_name(project);
            envmgr_error_t ignored = {0};
            envmgr_engine_container_remove(engine, name, true, false, &ignored);
            envmgr_error_set(err, ENVMGR_E_ENV, 0,
                             "reaper container: its process (pid %lld where the engine runs) is "
                             "not on this machine, so its 127.0.0.1:%d is out of envtest's reach "
                             "(Docker Desktop, a Podman machine, or envtest in a container)",
                             (long long)pid, port);
            return envmgr_error_hint(err, "envtest guards the environment with its host-process "
                                          "reaper instead (ENVTEST_REAPER=process says so)");
        }
        if (connect_reaper(port, CONNECT_DEADLINE_MS, &fd, err) == 0)
            break;
        /* a reaper that was reaping as we came: a new one */
        envmgr_cleanup_free char *name = container_name(project);
        envmgr_error_t ignored = {0};
        envmgr_engine_container_remove(engine, name, true, false, &ignored);
    }
    if (fd < 0)
        return -1;
    envmgr_cleanup_free char *hello = envmgr_xasprintf("token %s\n", envmgr_lock_token());
    if (send_line(fd, hello) < 0) {
        close(fd);
        return envmgr_error_errno(err, errno, "reaper container: send");
    }
    envmgr_error_clear(err);
    *out = envmgr_xcalloc(1, sizeof(**out));
    (*out)->fd = fd;
    envmgr_debug("reaper container of %s on 127.0.0.1:%d", project, port);
    return 0;
}

int envmgr_guard_wanted(envmgr_engine_t *engine, const char *project, bool *wanted,
                        envmgr_error_t *err)
{
    *wanted = false;
    const char *how = getenv("ENVTEST_REAPER");
    if (how && strcmp(how, "process") == 0) /* the host-process reaper only (see reaper.h) */
        return 0;
    if (envmgr_env_ephemeral_get(engine, project, wanted, err) < 0 || *wanted)
        return *wanted ? 0 : -1;
    envmgr_cleanup_free char *net = envmgr_project_network_name(project);
    envmgr_cleanup_json json_t *info = NULL;
    if (envmgr_engine_network_inspect(engine, net, &info, err) == 0)
        return 0;
    if (err->kind != ENVMGR_E_NOT_FOUND)
        return -1;
    envmgr_error_clear(err);
    *wanted = true;
    return 0;
}

void envmgr_guard_close(envmgr_guard_t *guard)
{
    if (!guard)
        return;
    close(guard->fd);
    free(guard);
}

int envmgr_guard_release(envmgr_engine_t *engine, const char *project, envmgr_guard_t *guard,
                         envmgr_error_t *err)
{
    int fd = guard ? guard->fd : -1;
    bool own = false;
    if (fd < 0) {
        envmgr_cleanup_free char *name = container_name(project);
        envmgr_error_t lookup_err = {0};
        json_int_t pid = 0;
        int port = running_port(engine, name, &pid, &lookup_err);
        if (port < 0 && lookup_err.kind == ENVMGR_E_NOT_FOUND)
            return 0;
        if (port < 0) {
            *err = lookup_err;
            return -1;
        }
        /* one that does not answer at once is on its way out: it watches nothing */
        if (port == 0 || process_elsewhere(pid) ||
            connect_reaper(port, RELEASE_CONNECT_MS, &fd, &lookup_err) < 0)
            return 0;
        own = true;
    }
    int r = send_line(fd, "release\n");
    if (r == 0) { /* it exits at once: its close is the acknowledgement */
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        char buf[16];
        while (poll(&pf, 1, 5000) == 1 && read(fd, buf, sizeof(buf)) > 0)
            ;
    }
    if (own)
        close(fd);
    if (r < 0)
        return envmgr_error_errno(err, errno, "reaper container of %s: release", project);
    return 0;
}

int envmgr_guard_done(envmgr_engine_t *engine, const char *project, envmgr_guard_t *guard,
                      envmgr_error_t *err)
{
    if (!guard)
        return 0;
    /* "watching" (another envtest holds it), or its close (0) as it exits; no answer within the
       second (an older reaper, which knows no "done"): it reaps an empty project after its grace */
    char buf[16];
    ssize_t got = -1;
    struct pollfd pf = {.fd = guard->fd, .events = POLLIN};
    if (send_line(guard->fd, "done\n") == 0 && poll(&pf, 1, RELEASE_CONNECT_MS) == 1)
        got = read(guard->fd, buf, sizeof(buf));
    envmgr_guard_close(guard);
    if (got != 0)
        return 0;
    envmgr_cleanup_free char *name = container_name(project);
    return envmgr_engine_container_wait_removed(engine, name, err);
}

/* Whether nothing labelled with project is left: containers (all), networks, volumes. */
static int project_empty(envmgr_engine_t *engine, const char *project, bool *empty,
                         envmgr_error_t *err)
{
    envmgr_cleanup_free char *filter = envmgr_project_label_filter(project);
    envmgr_cleanup_json json_t *c = NULL, *n = NULL, *v = NULL;
    if (envmgr_engine_container_list(engine, filter, true, &c, err) < 0 ||
        envmgr_engine_network_list(engine, filter, &n, err) < 0 ||
        envmgr_engine_volume_list(engine, filter, &v, err) < 0)
        return -1;
    *empty = json_array_size(c) == 0 && json_array_size(n) == 0 && json_array_size(v) == 0;
    return 0;
}

int envmgr_guard_failed(envmgr_engine_t *engine, const char *project, envmgr_guard_t *guard,
                        envmgr_error_t *err)
{
    if (!guard)
        return 0;
    bool empty = false;
    bool held = envmgr_interrupt_hold(); /* after Ctrl-C too: the engine calls below must run */
    int r = project_empty(engine, project, &empty, err);
    if (r == 0 && empty)
        r = envmgr_guard_done(engine, project, guard, err);
    else
        envmgr_guard_close(guard);
    envmgr_interrupt_restore(held);
    return r;
}
