/* Reaching a container's ports from this machine (see probe.h). */
#include "probe.h"
#include "health.h"
#include "pod.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <envmgr/log.h>
#include <envmgr/util.h>

/* How long a connection through a port forwarder must stay open (or speak) to count as accepted:
 * a forwarder that finds nothing listening closes it within a millisecond or two. */
#define FORWARDED_SETTLE_MS 150

bool envmgr_probe_process_here(const char *proc, long long pid, const char *id)
{
    if (pid <= 0 || !id || !*id)
        return true;
    char path[256];
    snprintf(path, sizeof(path), "%s/%lld/cgroup", proc, pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return errno != ENOENT; /* no such process here (or no /proc at all: macOS) */
    char line[1024];
    bool named = false;
    while (!named && fgets(line, sizeof(line), f))
        named = strstr(line, id) != NULL;
    fclose(f);
    return named;
}

static bool want_published(envmgr_engine_t *engine, json_t *inspect)
{
    if (envmgr_engine_self(engine))
        return false; /* envtest in a container: at the service's address on its network */
    const char *how = getenv("ENVTEST_PROBE");
    if (how && strcmp(how, "published") == 0)
        return true;
    if (how && strcmp(how, "container") == 0)
        return false;
    json_int_t pid = json_integer_value(json_object_get(json_object_get(inspect, "State"), "Pid"));
    const char *id = json_string_value(json_object_get(inspect, "Id"));
    return !envmgr_probe_process_here("/proc", (long long)pid, id);
}

int envmgr_probe_container_ip(envmgr_engine_t *engine, json_t *inspect, char *ip, size_t size,
                              envmgr_error_t *err)
{
    ip[0] = '\0';
    const char *key;
    json_t *net;
    json_object_foreach(json_object_get(json_object_get(inspect, "NetworkSettings"), "Networks"),
                        key, net)
    {
        const char *addr = json_string_value(json_object_get(net, "IPAddress"));
        if (!addr || !*addr)
            continue;
        const char *network = json_string_value(json_object_get(net, "NetworkID"));
        if (envmgr_engine_network_join_self(engine, network && *network ? network : key, err) < 0)
            return -1;
        snprintf(ip, size, "%s", addr);
        return 0;
    }
    return 0;
}

/* Whether an engine port key ("3306/tcp", "53/udp") is a tcp port, and which. */
static bool tcp_key(const char *key, int *port)
{
    char proto[8];
    return sscanf(key, "%d/%7s", port, proto) == 2 && strcmp(proto, "tcp") == 0;
}

/* NetworkSettings.Ports: {"3306/tcp": [{"HostIp": "127.0.0.1", "HostPort": "49153"}], ...}; the
 * first IPv4 binding of each tcp port, at its address (0.0.0.0 or none: 127.0.0.1). */
static void read_published(json_t *inspect, envmgr_probe_target_t *t)
{
    const char *key;
    json_t *bindings;
    json_object_foreach(json_object_get(json_object_get(inspect, "NetworkSettings"), "Ports"), key,
                        bindings)
    {
        int port;
        if (!tcp_key(key, &port))
            continue;
        size_t i;
        json_t *b;
        json_array_foreach(bindings, i, b)
        {
            const char *host_ip = json_string_value(json_object_get(b, "HostIp"));
            int host_port = atoi(json_string_value(json_object_get(b, "HostPort")) ?: "0");
            if (host_port <= 0 || (host_ip && strchr(host_ip, ':')))
                continue;
            if (t->n_map < ENVMGR_ARRAY_SIZE(t->map)) {
                bool any = !host_ip || !*host_ip || strcmp(host_ip, "0.0.0.0") == 0;
                t->map[t->n_map].container_port = port;
                t->map[t->n_map].host_port = host_port;
                snprintf(t->map[t->n_map].host_ip, sizeof(t->map[0].host_ip), "%s",
                         any ? "127.0.0.1" : host_ip);
                t->n_map++;
            }
            break;
        }
    }
}

/* The service's tcp ports: Config.ExposedPorts ("3306/tcp": {}), or in a pod the ones of the
 * holder's that are the service's (its ENVMGR_LABEL_POD_PORTS label). */
static void read_tcp_ports(json_t *inspect, envmgr_probe_target_t *t)
{
    if (t->pod) {
        t->n_tcp_ports =
            envmgr_pod_tcp_ports(inspect, t->tcp_ports, ENVMGR_ARRAY_SIZE(t->tcp_ports));
        return;
    }
    const char *key;
    json_t *unused;
    json_object_foreach(json_object_get(json_object_get(inspect, "Config"), "ExposedPorts"), key,
                        unused)
    {
        int port;
        if (tcp_key(key, &port) && t->n_tcp_ports < ENVMGR_ARRAY_SIZE(t->tcp_ports))
            t->tcp_ports[t->n_tcp_ports++] = port;
    }
}

int envmgr_probe_target_get(envmgr_engine_t *engine, json_t *inspect, envmgr_probe_target_t *t,
                            envmgr_error_t *err)
{
    memset(t, 0, sizeof(*t));
    t->published = want_published(engine, inspect);
    envmgr_cleanup_json json_t *holder = NULL;
    if (envmgr_pod_holder_inspect(engine, inspect, &holder, err) < 0)
        return -1;
    t->pod = holder != NULL;
    json_t *net_owner = holder ? holder : inspect;
    if (envmgr_probe_container_ip(engine, net_owner, t->ip, sizeof(t->ip), err) < 0)
        return -1;
    if (t->published)
        read_published(net_owner, t);
    read_tcp_ports(inspect, t);
    return 0;
}

bool envmgr_probe_address(const envmgr_probe_target_t *t, int container_port, const char **host,
                          int *port)
{
    if (!t->published) {
        *host = t->ip;
        *port = container_port;
        return t->ip[0] != '\0';
    }
    for (size_t i = 0; i < t->n_map; i++) {
        if (t->map[i].container_port == container_port) {
            *host = t->map[i].host_ip;
            *port = t->map[i].host_port;
            return true;
        }
    }
    return false;
}

/* A TCP connection to host:port succeeds within timeout_ms. */
static bool tcp_connects(const char *host, int port, int timeout_ms)
{
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1)
        return false;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    bool ok = false;
    if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0) {
        ok = true;
    } else if (errno == EINPROGRESS) {
        struct pollfd pfd = {.fd = fd, .events = POLLOUT};
        if (poll(&pfd, 1, timeout_ms) == 1) {
            int soerr = 0;
            socklen_t len = sizeof(soerr);
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len);
            ok = soerr == 0;
        }
    }
    close(fd);
    return ok;
}

/* Through a port forwarder at host:port (where the port is published): connected, then still open
 * (or the service spoke) after the settle time. A close (EOF, reset) in that time: nothing listens
 * behind it. */
static bool forwarded_accepts(const char *host, int port)
{
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1)
        return false;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    bool ok = false;
    if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int r = poll(&pfd, 1, FORWARDED_SETTLE_MS);
        if (r == 0) {
            ok = true; /* still open: the service took it and waits for us to speak */
        } else if (r == 1) {
            char c;
            ssize_t n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
            ok = n > 0; /* it spoke first (a MySQL greeting); 0 or an error: closed */
        }
    }
    close(fd);
    return ok;
}

bool envmgr_probe_port(const envmgr_probe_target_t *t, int container_port)
{
    const char *host;
    int port;
    if (!envmgr_probe_address(t, container_port, &host, &port))
        return true;
    if (!t->published)
        return tcp_connects(host, port, 200);
    return forwarded_accepts(host, port);
}

static bool root_has(const char *root, const char *rel)
{
    envmgr_cleanup_free char *path = envmgr_xasprintf("%s/%s", root, rel);
    struct stat st;
    return stat(path, &st) == 0;
}

/* A mountinfo line's root (4th field) and mount point (5th): "36 35 98:0 /mnt1 /mnt2 rw ...". */
static bool mount_fields(const char *line, char source[4096], char point[256])
{
    return sscanf(line, "%*s %*s %*s %4095s %255s", source, point) == 2;
}

bool envmgr_probe_own_container(const char *root, char id[65])
{
    id[0] = '\0';
    if (!root_has(root, ".dockerenv") && !root_has(root, "run/.containerenv"))
        return false;
    envmgr_cleanup_free char *path = envmgr_xasprintf("%s/proc/self/mountinfo", root);
    FILE *f = fopen(path, "re");
    if (!f)
        return false;
    char line[8192], source[4096], point[256];
    while (!id[0] && fgets(line, sizeof(line), f)) {
        /* Only the files the engine mounts into its container: its /etc/hostname, /etc/hosts and
         * /etc/resolv.conf, from Docker's /var/lib/docker/containers/<id>/ or Podman's
         * .../overlay-containers/<id>/userdata/. A host's mount table also lists other containers'
         * mounts (Podman's shm, for one): those are not this process's container. */
        if (!mount_fields(line, source, point) ||
            (strcmp(point, "/etc/hostname") != 0 && strcmp(point, "/etc/hosts") != 0 &&
             strcmp(point, "/etc/resolv.conf") != 0))
            continue;
        for (const char *p = strstr(source, "containers/"); p && !id[0];
             p = strstr(p + 1, "containers/")) {
            const char *h = p + strlen("containers/");
            size_t n = strspn(h, "0123456789abcdef");
            if (n == 64 && h[64] == '/')
                snprintf(id, 65, "%.64s", h);
        }
    }
    fclose(f);
    return id[0] != '\0';
}

int envmgr_probe_reach_prepare(envmgr_engine_t *engine, const char *root, envmgr_error_t *err)
{
    (void)err;
    char id[65];
    if (envmgr_engine_self(engine))
        return 0; /* prepared before */
    if (getenv("ENVTEST_PROBE") || !envmgr_probe_own_container(root, id))
        return 0;
    envmgr_cleanup_json json_t *self = NULL;
    envmgr_error_t lookup_err = {0};
    if (envmgr_engine_container_inspect(engine, id, &self, &lookup_err) < 0) {
        /* another engine (docker-in-docker: the engine runs in this container) */
        envmgr_debug("envtest runs in container %.12s, which the engine does not know (%s)", id,
                     lookup_err.message);
        return 0;
    }
    const char *mode =
        json_string_value(json_object_get(json_object_get(self, "HostConfig"), "NetworkMode"));
    if (mode && strcmp(mode, "host") == 0)
        return 0;
    /* The services' ports are published on the engine host's 127.0.0.1, out of this container's
     * reach: envtest joins their network and reaches them at their addresses there. */
    envmgr_debug("envtest runs in container %.12s (network mode %s): it reaches the services over "
                 "their network",
                 id, mode && *mode ? mode : "default");
    envmgr_engine_set_self(engine, id);
    return 0;
}
