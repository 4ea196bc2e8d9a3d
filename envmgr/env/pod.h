/* Pod mode (`envtest up --pod`, `x-envtest: {pod: true}`): one network namespace for the whole
 * environment, as a Kubernetes pod has. A holder container (<project>-pod-holder, the FROM scratch
 * image envtest/pause:<digest> that only waits) owns the project network's one endpoint and every
 * published port (the union of the services' ports, 127.0.0.1 as the file says); each service
 * joins it with NetworkMode container:<holder> and finds the others by name through the holder's
 * /etc/hosts (ExtraHosts: every service at 127.0.0.1). The engine then sets up one network
 * endpoint and one set of port forwards per environment instead of one per container.
 *
 * What it changes, refused with an error naming the service (envmgr_pod_check): two services on
 * one container port (they would clash on one loopback), network_mode, several networks, aliases,
 * fixed addresses, hostname, extra_hosts, dns, links. Services also lose their network isolation
 * from each other (one namespace). */
#ifndef ENVMGR_POD_H
#define ENVMGR_POD_H

#include <jansson.h>
#include <stdbool.h>

#include <envmgr/compose.h>
#include <envmgr/engine.h>
#include <envmgr/error.h>
#include <envmgr/lifecycle.h>

#define ENVMGR_LABEL_POD "io.envtest.pod"             /* on the holder: "holder" */
#define ENVMGR_LABEL_POD_PORTS "io.envtest.pod-ports" /* on a service: "3306/tcp,8080/tcp" */

/* Whether up runs the project as a pod: forced (--pod), or x-envtest.pod: true. A value of
 * x-envtest.pod other than true/false is an ENVMGR_E_CONFIG error naming the file. */
int envmgr_pod_wanted(const envmgr_project_t *project, bool forced, bool *on, envmgr_error_t *err);

/* Refuses what a pod cannot keep (see above): ENVMGR_E_CONFIG naming file:line, the service and,
 * for a port clash, both services and the port. */
int envmgr_pod_check(const envmgr_project_t *project, envmgr_error_t *err);

typedef struct envmgr_pod envmgr_pod_t;

/* Makes the holder's image, creates the holder (or reuses one with the same configuration) and
 * starts it in a thread of its own, so that the services' containers are created meanwhile. Call
 * after the project network exists. */
int envmgr_pod_open(envmgr_engine_t *engine, const envmgr_project_t *project, envmgr_pod_t **out,
                    envmgr_error_t *err);
/* Blocks until the holder runs (a service's container can start only then). */
int envmgr_pod_wait_running(envmgr_pod_t *pod, envmgr_error_t *err);
/* The config hash of a service in this pod (changes with the holder's configuration). */
void envmgr_pod_config_hash(const envmgr_pod_t *pod, const envmgr_service_t *service,
                            const char *image_id, char out[65]);
/* Rewrites a container-create body (envmgr_project_container_config) to join the holder: no ports,
 * no endpoint of its own, the ENVMGR_LABEL_POD_PORTS label. */
void envmgr_pod_container_config(const envmgr_pod_t *pod, const envmgr_service_t *service,
                                 json_t *config);
/* Joins the start thread; failed: removes the holder when this call created it. Frees pod. */
void envmgr_pod_close(envmgr_engine_t *engine, envmgr_pod_t *pod, bool failed);

/* Up without pod mode: a holder left from an up in pod mode goes (its services were recreated). */
int envmgr_pod_remove_stale(envmgr_engine_t *engine, const envmgr_project_t *project,
                            envmgr_error_t *err);

/* The holder's inspect when the container of inspect is in a pod (*holder NULL otherwise). */
int envmgr_pod_holder_inspect(envmgr_engine_t *engine, json_t *inspect, json_t **holder,
                              envmgr_error_t *err);
/* The tcp ports of the pod ports label, at most max. */
size_t envmgr_pod_tcp_ports(json_t *inspect, int *ports, size_t max);
/* The service's pod ports label ("3306/tcp,...") or NULL. */
const char *envmgr_pod_ports_label(json_t *inspect);

#endif
