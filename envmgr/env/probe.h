/* How envtest reaches a container's TCP ports from this machine, for the port probe and the HTTP,
 * SQL and ports wait strategies (health.c, health_wait.c).
 *
 * On a local engine, at the container's own address on its first network (its pod holder's, in pod
 * mode): a connect() there tells in microseconds whether the service listens. On a VM engine
 * (Docker Desktop, a Podman machine) that address is inside the VM, and this machine reaches the
 * container only through its published ports on 127.0.0.1, where the engine's port forwarder
 * accepts every connection and closes it at once when nothing listens behind it: a published port
 * accepts when its connection stays open (or the service speaks first, as MySQL does).
 *
 * Which: ENVTEST_PROBE=container|published, else automatic: published when the container's process
 * is not on this machine (no /proc/<pid>, or one whose cgroup does not name the container: a VM's
 * pids are not this kernel's). */
#ifndef ENVMGR_PROBE_H
#define ENVMGR_PROBE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include <envmgr/engine.h>
#include <envmgr/error.h>

typedef struct envmgr_probe_target {
    char ip[64];    /* the container's (or pod holder's) address; "" when it has none */
    bool published; /* reached through its published ports on 127.0.0.1 */
    bool pod;       /* in a pod: address and ports are the holder's */
    size_t n_map;
    struct {
        int container_port, host_port;
        char host_ip[46]; /* where it is published: 127.0.0.1 for 0.0.0.0 or none */
    } map[32];            /* published tcp ports (pod mode: the holder's) */
    size_t n_tcp_ports;
    int tcp_ports[32]; /* the service's tcp ports: exposed, or in a pod its own of the holder's */
} envmgr_probe_target_t;

/* Fills t from a container's inspect (and its pod holder's when it is in a pod). */
int envmgr_probe_target_get(envmgr_engine_t *engine, json_t *inspect, envmgr_probe_target_t *t,
                            envmgr_error_t *err);
/* Where to connect for container_port: false when it cannot be reached from here (no address; on a
 * VM engine, a port that is not published). */
bool envmgr_probe_address(const envmgr_probe_target_t *t, int container_port, const char **host,
                          int *port);
/* Whether the service accepts connections on container_port. A port that cannot be reached from
 * here counts as accepting (nothing to wait on: the healthcheck decides). */
bool envmgr_probe_port(const envmgr_probe_target_t *t, int container_port);

/* The decision alone, for tests: whether a container whose process is pid, with this id, runs on
 * this machine; proc is the /proc to read ("/proc"). Unknown (pid 0, /proc unreadable) is true. */
bool envmgr_probe_process_here(const char *proc, long long pid, const char *id);

/* envtest itself in a container of the engine it drives (a devcontainer, a CI job's container
 * with the engine's socket mounted), in a network namespace of its own: the services' ports are
 * published on the engine host's 127.0.0.1, out of this container's reach. Then the engine handle
 * gets this container as its self (envmgr_engine_set_self): envtest joins the services' networks
 * and reaches them at their addresses there (envmgr_probe_container_ip; state.c for the
 * variables). Unset otherwise (on the host, a container in the host's network namespace, an engine
 * that does not know this container, or ENVTEST_PROBE set: the user chose how to reach the
 * services). root is "/" (tests: another folder holding .dockerenv, run/.containerenv and
 * proc/self/mountinfo). */
int envmgr_probe_reach_prepare(envmgr_engine_t *engine, const char *root, envmgr_error_t *err);
/* The address of a container (of its inspect) on its first network with one, into ip ("" when it
 * has none); with a self container, connects it to that network first. */
int envmgr_probe_container_ip(envmgr_engine_t *engine, json_t *inspect, char *ip, size_t size,
                              envmgr_error_t *err);
/* The decision's first half, for tests: the id of the container this process runs in, when root
 * has .dockerenv or run/.containerenv, from the engine's mounts of the container's own
 * /etc/hostname, /etc/hosts or /etc/resolv.conf in root's proc/self/mountinfo (their source is
 * .../containers/<64 hex>/...; other containers' mounts a host lists do not count). */
bool envmgr_probe_own_container(const char *root, char id[65]);

#endif
