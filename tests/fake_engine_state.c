/* The fake engine's objects and endpoints: containers, networks, volumes, images and execs kept as
 * the JSON the engine's inspect endpoints return, changed by the requests as dockerd changes them
 * (see fake_engine.h). f->lock is held in everything here. */
#include "fake_engine_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fake_state_init(fake_engine_t *f)
{
    f->containers = json_array();
    f->networks = json_array();
    f->volumes = json_array();
    f->images = json_array();
    f->execs = json_object();
    f->exec_script = json_object();
    f->behaviour = json_object();
}

void fake_state_free(fake_engine_t *f)
{
    json_decref(f->containers);
    json_decref(f->networks);
    json_decref(f->volumes);
    json_decref(f->images);
    json_decref(f->execs);
    json_decref(f->exec_script);
    json_decref(f->behaviour);
}

char *fake_new_id(fake_engine_t *f)
{
    /* 64 hex digits as the engine's, distinct in their first 12 */
    unsigned long n = ++f->next_id;
    unsigned long long x = n * 0x9E3779B97F4A7C15ULL;
    return envmgr_xasprintf("%012llx%04lx%048lx", x & 0xffffffffffffULL, n & 0xffff, n);
}

static const char *str(json_t *object, const char *key)
{
    return json_string_value(json_object_get(object, key));
}

/* "mysql" -> "mysql:latest"; "a/b:1" stays. */
static char *image_ref(const char *name)
{
    const char *slash = strrchr(name, '/');
    const char *colon = strchr(slash ? slash : name, ':');
    return colon ? envmgr_xstrdup(name) : envmgr_xasprintf("%s:latest", name);
}

json_t *fake_object_labels(const char *kind, json_t *object)
{
    if (strcmp(kind, "containers") == 0 || strcmp(kind, "images") == 0)
        return json_object_get(json_object_get(object, "Config"), "Labels");
    return json_object_get(object, "Labels");
}

static bool object_is(const char *kind, json_t *o, const char *name)
{
    if (strcmp(kind, "volumes") == 0)
        return strcmp(str(o, "Name") ?: "", name) == 0;
    const char *id = str(o, "Id") ?: "";
    if (strcmp(id, name) == 0 || (strncmp(id, "sha256:", 7) == 0 && strcmp(id + 7, name) == 0))
        return true;
    if (strcmp(kind, "images") == 0) {
        envmgr_cleanup_free char *ref = image_ref(name);
        size_t i;
        json_t *tag;
        json_array_foreach(json_object_get(o, "RepoTags"), i, tag)
        {
            if (strcmp(json_string_value(tag), ref) == 0)
                return true;
        }
        return false;
    }
    const char *n = str(o, "Name") ?: "";
    return strcmp(n[0] == '/' ? n + 1 : n, name) == 0;
}

static json_t *kind_array(fake_engine_t *f, const char *kind)
{
    if (strcmp(kind, "containers") == 0)
        return f->containers;
    if (strcmp(kind, "networks") == 0)
        return f->networks;
    if (strcmp(kind, "volumes") == 0)
        return f->volumes;
    return f->images;
}

static size_t find_index(fake_engine_t *f, const char *kind, const char *name)
{
    json_t *list = kind_array(f, kind);
    size_t i;
    json_t *o;
    json_array_foreach(list, i, o)
    {
        if (object_is(kind, o, name))
            return i;
    }
    /* an id prefix, as the engine takes it */
    size_t len = strlen(name);
    json_array_foreach(list, i, o)
    {
        if (len >= 4 && strcmp(kind, "volumes") != 0 && strncmp(str(o, "Id") ?: "", name, len) == 0)
            return i;
    }
    return (size_t)-1;
}

json_t *fake_state_find(fake_engine_t *f, const char *kind, const char *name)
{
    return json_array_get(kind_array(f, kind), find_index(f, kind, name));
}

bool fake_state_running(fake_engine_t *f, const char *id)
{
    json_t *c = fake_state_find(f, "containers", id);
    return c && json_is_true(json_object_get(json_object_get(c, "State"), "Running"));
}

bool fake_labels_match(json_t *labels, const char *filter)
{
    const char *eq = strchr(filter, '=');
    envmgr_cleanup_free char *key =
        eq ? envmgr_xstrndup(filter, (size_t)(eq - filter)) : envmgr_xstrdup(filter);
    const char *have = str(labels, key);
    return have && (!eq || strcmp(have, eq + 1) == 0);
}

/* filters={"label":["k=v","k"]}: every one must match. */
static bool filters_match(const struct fake_call *call, json_t *labels)
{
    const char *text = str(call->query, "filters");
    if (!text)
        return true;
    envmgr_cleanup_json json_t *filters = json_loads(text, 0, NULL);
    size_t i;
    json_t *want;
    json_array_foreach(json_object_get(filters, "label"), i, want)
    {
        if (!fake_labels_match(labels, json_string_value(want)))
            return false;
    }
    return true;
}

/* ---- containers ---------------------------------------------------------------------------- */

static void network_detach(fake_engine_t *f, json_t *container, const char *network_name)
{
    json_t *net = fake_state_find(f, "networks", network_name);
    if (net)
        json_object_del(json_object_get(net, "Containers"), str(container, "Id"));
    json_object_del(json_object_get(json_object_get(container, "NetworkSettings"), "Networks"),
                    network_name);
}

static void network_attach(json_t *net, json_t *container)
{
    json_object_set_new(json_object_get(net, "Containers"), str(container, "Id"),
                        json_pack("{s:s}", "Name", str(container, "Name") + 1));
    json_object_set_new(json_object_get(json_object_get(container, "NetworkSettings"), "Networks"),
                        str(net, "Name"),
                        json_pack("{s:s, s:s}", "NetworkID", str(net, "Id"), "IPAddress", ""));
}

static json_t *new_container(fake_engine_t *f, const char *name, json_t *config, json_t *image)
{
    envmgr_cleanup_free char *id = fake_new_id(f);
    json_t *c = json_pack("{s:s, s:s+, s:s, s:O, s:{s:s, s:b, s:i}, s:{s:{}, s:{}}, s:[]}", "Id",
                          id, "Name", "/", name, "Image", image ? str(image, "Id") : "", "Config",
                          config, "State", "Status", "created", "Running", 0, "ExitCode", 0,
                          "NetworkSettings", "Networks", "Ports", "Mounts");
    json_t *cfg = json_object_get(c, "Config");
    json_object_set_new(c, "HostConfig", json_deep_copy(json_object_get(cfg, "HostConfig")));
    if (!json_object_get(c, "HostConfig"))
        json_object_set_new(c, "HostConfig", json_object());
    json_object_del(cfg, "HostConfig");
    json_object_del(cfg, "NetworkingConfig");
    if (!json_is_object(json_object_get(cfg, "Labels")))
        json_object_set_new(cfg, "Labels", json_object());
    if (!json_object_get(cfg, "Env"))
        json_object_set_new(cfg, "Env", json_array());
    json_t *image_hc = json_object_get(json_object_get(image, "Config"), "Healthcheck");
    if (!json_object_get(cfg, "Healthcheck") && image_hc)
        json_object_set(cfg, "Healthcheck", image_hc);
    json_array_append_new(f->containers, c);
    return c;
}

static bool has_healthcheck(json_t *c)
{
    json_t *test =
        json_object_get(json_object_get(json_object_get(c, "Config"), "Healthcheck"), "Test");
    const char *kind = json_string_value(json_array_get(test, 0));
    return kind && strcmp(kind, "NONE") != 0;
}

static void container_start(fake_engine_t *f, json_t *c)
{
    json_t *b = json_object_get(f->behaviour, str(c, "Name") + 1);
    json_t *state = json_object_get(c, "State");
    if (json_is_true(json_object_get(b, "exits"))) {
        json_object_set_new(state, "Status", json_string("exited"));
        json_object_set_new(state, "Running", json_false());
        json_object_set(state, "ExitCode", json_object_get(b, "exit_code"));
        return;
    }
    json_object_set_new(state, "Status", json_string("running"));
    json_object_set_new(state, "Running", json_true());
    json_object_set_new(state, "ExitCode", json_integer(0));
    const char *health = str(b, "health");
    if (health || has_healthcheck(c))
        json_object_set_new(state, "Health",
                            json_pack("{s:s}", "Status", health ? health : "starting"));
    /* the bridge address: 127.0.0.1, so that a test can open the container's ports itself */
    const char *key;
    json_t *ep;
    json_object_foreach(json_object_get(json_object_get(c, "NetworkSettings"), "Networks"), key, ep)
        json_object_set_new(ep, "IPAddress", json_string("127.0.0.1"));
    json_t *bindings = json_object_get(json_object_get(c, "HostConfig"), "PortBindings");
    json_t *ports = json_object_get(json_object_get(c, "NetworkSettings"), "Ports");
    json_t *list;
    json_object_foreach(bindings, key, list)
    {
        json_t *out = json_array();
        size_t i;
        json_t *bind;
        json_array_foreach(list, i, bind)
        {
            const char *hp = str(bind, "HostPort");
            envmgr_cleanup_free char *port =
                hp && *hp ? envmgr_xstrdup(hp) : envmgr_xasprintf("%lu", 40000 + f->next_id++);
            json_array_append_new(out, json_pack("{s:s, s:s}", "HostIp", str(bind, "HostIp") ?: "",
                                                 "HostPort", port));
        }
        json_object_set_new(ports, key, out);
    }
}

static void container_remove(fake_engine_t *f, json_t *c)
{
    const char *key;
    json_t *ep;
    void *tmp;
    json_object_foreach_safe(json_object_get(json_object_get(c, "NetworkSettings"), "Networks"),
                             tmp, key, ep) network_detach(f, c, key);
    json_array_remove(f->containers, find_index(f, "containers", str(c, "Id")));
}

static json_t *container_summary(json_t *c)
{
    json_t *state = json_object_get(c, "State");
    json_t *cfg = json_object_get(c, "Config");
    return json_pack(
        "{s:O, s:[O], s:O, s:O, s:O, s:O, s:s, s:{s:O}}", "Id", json_object_get(c, "Id"), "Names",
        json_object_get(c, "Name"), "Image", json_object_get(cfg, "Image"), "ImageID",
        json_object_get(c, "Image"), "Labels", json_object_get(cfg, "Labels"), "State",
        json_object_get(state, "Status"), "Status",
        json_is_true(json_object_get(state, "Running")) ? "Up" : "Exited", "NetworkSettings",
        "Networks", json_object_get(json_object_get(c, "NetworkSettings"), "Networks"));
}

static int containers_list(fake_engine_t *f, const struct fake_call *call, struct fake_answer *a)
{
    bool all = strcmp(str(call->query, "all") ?: "0", "1") == 0 ||
               strcmp(str(call->query, "all") ?: "", "true") == 0;
    json_t *out = json_array();
    size_t i;
    json_t *c;
    json_array_foreach(f->containers, i, c)
    {
        bool running = json_is_true(json_object_get(json_object_get(c, "State"), "Running"));
        if ((all || running) && filters_match(call, fake_object_labels("containers", c)))
            json_array_append_new(out, container_summary(c));
    }
    fake_answer_json(a, 200, out);
    return 0;
}

static int container_create(fake_engine_t *f, const struct fake_call *call, struct fake_answer *a)
{
    const char *name = str(call->query, "name");
    envmgr_cleanup_free char *generated = name ? NULL : fake_new_id(f);
    if (!name)
        name = generated;
    json_t *existing = fake_state_find(f, "containers", name);
    if (existing && object_is("containers", existing, name))
        return fake_answer_error(a, 409,
                                 "Conflict. The container name \"/%s\" is already in use by "
                                 "container \"%s\". You have to remove (or rename) that container "
                                 "to be able to reuse that name.",
                                 name, str(existing, "Id"));
    const char *image_name = str(call->json, "Image") ?: "";
    json_t *image = fake_state_find(f, "images", image_name);
    if (!image)
        return fake_answer_error(a, 404, "No such image: %s", image_name);
    json_t *endpoints =
        json_object_get(json_object_get(call->json, "NetworkingConfig"), "EndpointsConfig");
    const char *net_name;
    json_t *ep;
    json_object_foreach(endpoints, net_name, ep)
    {
        if (!fake_state_find(f, "networks", net_name))
            return fake_answer_error(a, 404, "network %s not found", net_name);
    }
    envmgr_cleanup_json json_t *config = json_deep_copy(call->json);
    json_t *c = new_container(f, name, config, image);
    json_object_foreach(endpoints, net_name, ep)
        network_attach(fake_state_find(f, "networks", net_name), c);
    fake_answer_json(a, 201, json_pack("{s:O, s:[]}", "Id", json_object_get(c, "Id"), "Warnings"));
    return 0;
}

/* Frames of the container's logs, the last `tail` lines (all when absent or "all"). */
static void logs_body(fake_engine_t *f, json_t *c, const struct fake_call *call, envmgr_buf_t *out)
{
    const char *logs = str(json_object_get(f->behaviour, str(c, "Name") + 1), "logs") ?: "";
    const char *tail = str(call->query, "tail");
    const char *start = logs + strlen(logs);
    if (tail && strcmp(tail, "all") != 0) {
        int want = atoi(tail);
        const char *p = start;
        if (p > logs && p[-1] == '\n')
            p--;
        while (p > logs && want > 0) {
            p--;
            if (*p == '\n' && --want == 0) {
                p++;
                break;
            }
        }
        start = want > 0 ? logs : p;
    } else {
        start = logs;
    }
    bool tty = json_is_true(json_object_get(json_object_get(c, "Config"), "Tty"));
    if (tty) {
        envmgr_buf_adds(out, start);
        return;
    }
    char *frames = NULL;
    size_t len = 0;
    if (*start)
        fake_frame(&frames, &len, 1, start, strlen(start));
    envmgr_buf_add(out, frames, len);
    free(frames);
}

static int container_logs(fake_engine_t *f, json_t *c, const struct fake_call *call,
                          struct fake_answer *a)
{
    bool tty = json_is_true(json_object_get(json_object_get(c, "Config"), "Tty"));
    a->status = 200;
    a->content_type =
        tty ? "application/vnd.docker.raw-stream" : "application/vnd.docker.multiplexed-stream";
    logs_body(f, c, call, &a->body);
    if (strcmp(str(call->query, "follow") ?: "0", "1") == 0 &&
        json_is_true(json_object_get(json_object_get(c, "State"), "Running"))) {
        a->follow = true;
        snprintf(a->follow_id, sizeof(a->follow_id), "%s", str(c, "Id"));
    }
    return 0;
}

/* POST /containers/{id}/wait: answers once the container is not running. */
static int container_wait(fake_engine_t *f, const char *id, struct fake_answer *a)
{
    while (fake_state_running(f, id) && !atomic_load(&f->stop)) {
        pthread_mutex_unlock(&f->lock);
        envmgr_sleep_ms(10);
        pthread_mutex_lock(&f->lock);
    }
    json_t *c = fake_state_find(f, "containers", id);
    if (!c)
        return fake_answer_error(a, 404, "No such container: %s", id);
    fake_answer_json(
        a, 200,
        json_pack("{s:O}", "StatusCode", json_object_get(json_object_get(c, "State"), "ExitCode")));
    return 0;
}

static int exec_create(fake_engine_t *f, json_t *c, const struct fake_call *call,
                       struct fake_answer *a)
{
    if (!json_is_true(json_object_get(json_object_get(c, "State"), "Running")))
        return fake_answer_error(a, 409, "Container %s is not running", str(c, "Id"));
    envmgr_cleanup_free char *id = fake_new_id(f);
    json_object_set_new(f->execs, id,
                        json_pack("{s:s, s:O, s:s, s:O, s:b, s:n}", "ID", id, "ContainerID",
                                  json_object_get(c, "Id"), "Name", str(c, "Name") + 1, "Cmd",
                                  json_object_get(call->json, "Cmd"), "Running", 0, "ExitCode"));
    fake_answer_json(a, 201, json_pack("{s:s}", "Id", id));
    return 0;
}

static int exec_start(fake_engine_t *f, json_t *exec, struct fake_answer *a)
{
    json_t *script = json_object_get(f->exec_script, str(exec, "Name"));
    json_t *results = json_object_get(script, "results");
    size_t next = (size_t)json_integer_value(json_object_get(script, "next"));
    json_t *r = json_array_get(
        results, next < json_array_size(results) ? next : json_array_size(results) - 1);
    if (script)
        json_object_set_new(script, "next", json_integer((json_int_t)next + 1));
    a->status = 200;
    a->content_type = "application/vnd.docker.multiplexed-stream";
    if (json_is_true(json_object_get(r, "hang"))) {
        json_object_set_new(exec, "Running", json_true());
        a->follow = true; /* held until the fake stops */
        return 0;
    }
    char *frames = NULL;
    size_t len = 0;
    const char *out = str(r, "out"), *err = str(r, "err");
    if (out)
        fake_frame(&frames, &len, 1, out, strlen(out));
    if (err)
        fake_frame(&frames, &len, 2, err, strlen(err));
    envmgr_buf_add(&a->body, frames, len);
    free(frames);
    json_object_set_new(exec, "ExitCode",
                        json_integer(json_integer_value(json_object_get(r, "exit_code"))));
    json_object_set_new(exec, "polls",
                        json_integer(json_integer_value(json_object_get(r, "still_running"))));
    return 0;
}

static int exec_inspect(json_t *exec, struct fake_answer *a)
{
    json_int_t polls = json_integer_value(json_object_get(exec, "polls"));
    if (polls > 0) {
        json_object_set_new(exec, "polls", json_integer(polls - 1));
        return fake_answer_json(a, 200,
                                json_pack("{s:O, s:b, s:n}", "ID", json_object_get(exec, "ID"),
                                          "Running", 1, "ExitCode"));
    }
    json_t *copy = json_deep_copy(exec);
    json_object_del(copy, "polls");
    json_object_del(copy, "Name");
    fake_answer_json(a, 200, copy);
    return 0;
}

static int containers_route(fake_engine_t *f, const struct fake_call *call, char **seg, size_t n,
                            struct fake_answer *a)
{
    const char *m = call->method;
    if (n == 2 && strcmp(seg[1], "json") == 0 && strcmp(m, "GET") == 0)
        return containers_list(f, call, a);
    if (n == 2 && strcmp(seg[1], "create") == 0 && strcmp(m, "POST") == 0)
        return container_create(f, call, a);
    json_t *c = n >= 2 ? fake_state_find(f, "containers", seg[1]) : NULL;
    if (!c)
        return fake_answer_error(a, 404, "No such container: %s", n >= 2 ? seg[1] : "");
    const char *action = n >= 3 ? seg[2] : "";
    json_t *state = json_object_get(c, "State");
    bool running = json_is_true(json_object_get(state, "Running"));
    if (n == 2 && strcmp(m, "DELETE") == 0) {
        bool force = strcmp(str(call->query, "force") ?: "0", "1") == 0;
        if (running && !force)
            return fake_answer_error(a, 409,
                                     "You cannot remove a running container %s. Stop the container "
                                     "before attempting removal or force remove",
                                     str(c, "Id"));
        container_remove(f, c);
        a->status = 204;
    } else if (strcmp(action, "json") == 0) {
        fake_answer_json(a, 200, json_deep_copy(c));
    } else if (strcmp(action, "start") == 0) {
        if (running)
            a->status = 304;
        else {
            container_start(f, c);
            a->status = 204;
        }
    } else if (strcmp(action, "stop") == 0 || strcmp(action, "kill") == 0) {
        if (!running) {
            a->status = 304;
            return 0;
        }
        json_object_set_new(state, "Status", json_string("exited"));
        json_object_set_new(state, "Running", json_false());
        json_object_del(state, "Health");
        a->status = 204;
    } else if (strcmp(action, "wait") == 0) {
        envmgr_cleanup_free char *id = envmgr_xstrdup(str(c, "Id"));
        container_wait(f, id, a);
    } else if (strcmp(action, "logs") == 0) {
        container_logs(f, c, call, a);
    } else if (strcmp(action, "exec") == 0) {
        exec_create(f, c, call, a);
    } else if (strcmp(action, "archive") == 0) {
        a->status = 200;
    } else {
        fake_answer_error(a, 404, "page not found");
    }
    return 0;
}

/* ---- networks, volumes --------------------------------------------------------------------- */

static json_t *add_network(fake_engine_t *f, const char *name, json_t *labels)
{
    envmgr_cleanup_free char *id = fake_new_id(f);
    json_t *net =
        json_pack("{s:s, s:s, s:s, s:o, s:{}}", "Name", name, "Id", id, "Driver", "bridge",
                  "Labels", labels ? json_deep_copy(labels) : json_object(), "Containers");
    json_array_append_new(f->networks, net);
    return net;
}

static int networks_route(fake_engine_t *f, const struct fake_call *call, char **seg, size_t n,
                          struct fake_answer *a)
{
    const char *m = call->method;
    if (n == 1 && strcmp(m, "GET") == 0) {
        json_t *out = json_array();
        size_t i;
        json_t *net;
        json_array_foreach(f->networks, i, net)
        {
            if (filters_match(call, json_object_get(net, "Labels")))
                json_array_append(out, net);
        }
        return fake_answer_json(a, 200, out);
    }
    if (n == 2 && strcmp(seg[1], "create") == 0 && strcmp(m, "POST") == 0) {
        const char *name = str(call->json, "Name") ?: "";
        if (fake_state_find(f, "networks", name))
            return fake_answer_error(a, 409, "network with name %s already exists", name);
        json_t *net = add_network(f, name, json_object_get(call->json, "Labels"));
        return fake_answer_json(
            a, 201, json_pack("{s:O, s:s}", "Id", json_object_get(net, "Id"), "Warning", ""));
    }
    json_t *net = n >= 2 ? fake_state_find(f, "networks", seg[1]) : NULL;
    if (!net)
        return fake_answer_error(a, 404, "network %s not found", n >= 2 ? seg[1] : "");
    if (n == 2 && strcmp(m, "GET") == 0)
        return fake_answer_json(a, 200, json_deep_copy(net));
    if (n == 2 && strcmp(m, "DELETE") == 0) {
        if (json_object_size(json_object_get(net, "Containers")) > 0)
            return fake_answer_error(a, 403,
                                     "error while removing network: network %s id %s has active "
                                     "endpoints",
                                     str(net, "Name"), str(net, "Id"));
        json_array_remove(f->networks, find_index(f, "networks", str(net, "Id")));
        a->status = 204;
        return 0;
    }
    json_t *c = fake_state_find(f, "containers", str(call->json, "Container") ?: "");
    if (!c)
        return fake_answer_error(a, 404, "No such container: %s",
                                 str(call->json, "Container") ?: "");
    if (n == 3 && strcmp(seg[2], "disconnect") == 0) {
        envmgr_cleanup_free char *name = envmgr_xstrdup(str(net, "Name"));
        network_detach(f, c, name);
    } else if (n == 3 && strcmp(seg[2], "connect") == 0) {
        network_attach(net, c);
    } else {
        return fake_answer_error(a, 404, "page not found");
    }
    a->status = 200;
    return 0;
}

static json_t *add_volume(fake_engine_t *f, const char *name, json_t *labels)
{
    json_t *v = json_pack("{s:s, s:s, s:s+, s:s, s:o}", "Name", name, "Driver", "local",
                          "Mountpoint", "/var/lib/docker/volumes/", name, "Scope", "local",
                          "Labels", labels ? json_deep_copy(labels) : json_object());
    json_array_append_new(f->volumes, v);
    return v;
}

static int volumes_route(fake_engine_t *f, const struct fake_call *call, char **seg, size_t n,
                         struct fake_answer *a)
{
    const char *m = call->method;
    if (n == 1 && strcmp(m, "GET") == 0) {
        json_t *out = json_array();
        size_t i;
        json_t *v;
        json_array_foreach(f->volumes, i, v)
        {
            if (filters_match(call, json_object_get(v, "Labels")))
                json_array_append(out, v);
        }
        return fake_answer_json(a, 200, json_pack("{s:o, s:n}", "Volumes", out, "Warnings"));
    }
    if (n == 2 && strcmp(seg[1], "create") == 0 && strcmp(m, "POST") == 0) {
        const char *name = str(call->json, "Name");
        envmgr_cleanup_free char *generated = name ? NULL : fake_new_id(f);
        json_t *v = fake_state_find(f, "volumes", name ? name : generated);
        if (!v)
            v = add_volume(f, name ? name : generated, json_object_get(call->json, "Labels"));
        return fake_answer_json(a, 201, json_deep_copy(v));
    }
    json_t *v = n == 2 ? fake_state_find(f, "volumes", seg[1]) : NULL;
    if (!v)
        return fake_answer_error(a, 404, "get %s: no such volume", n >= 2 ? seg[1] : "");
    if (strcmp(m, "GET") == 0)
        return fake_answer_json(a, 200, json_deep_copy(v));
    if (strcmp(m, "DELETE") == 0) {
        json_array_remove(f->volumes, find_index(f, "volumes", seg[1]));
        a->status = 204;
        return 0;
    }
    fake_answer_error(a, 404, "page not found");
    return 0;
}

/* ---- images -------------------------------------------------------------------------------- */

/* config: stolen, may be NULL */
static json_t *add_image(fake_engine_t *f, const char *name, json_t *config)
{
    envmgr_cleanup_free char *ref = image_ref(name);
    json_t *old = fake_state_find(f, "images", ref);
    if (old) /* the tag moves to the new image */
        json_array_remove(f->images, find_index(f, "images", ref));
    envmgr_cleanup_free char *id = fake_new_id(f);
    json_t *image = json_pack("{s:s+, s:[s], s:o}", "Id", "sha256:", id, "RepoTags", ref, "Config",
                              config ? config : json_object());
    json_t *cfg = json_object_get(image, "Config");
    if (!json_is_object(cfg)) {
        cfg = json_object();
        json_object_set_new(image, "Config", cfg);
    }
    if (!json_is_object(json_object_get(cfg, "Labels")))
        json_object_set_new(cfg, "Labels", json_object());
    json_array_append_new(f->images, image);
    return image;
}

static void stream_line(struct fake_answer *a, json_t *line)
{
    char *text = json_dumps(line, JSON_COMPACT);
    envmgr_buf_addf(&a->body, "%s\r\n", text);
    free(text);
    json_decref(line);
}

static int image_build(fake_engine_t *f, const struct fake_call *call, struct fake_answer *a)
{
    const char *tag = str(call->query, "t") ?: "";
    const char *labels_text = str(call->query, "labels");
    json_t *labels = labels_text ? json_loads(labels_text, 0, NULL) : json_object();
    json_t *image =
        add_image(f, tag, json_pack("{s:o}", "Labels", labels ? labels : json_object()));
    a->status = 200;
    a->content_type = "application/json";
    stream_line(a, json_pack("{s:s}", "stream", "Step 1/1 : FROM scratch\n"));
    stream_line(a, json_pack("{s:{s:O}}", "aux", "ID", json_object_get(image, "Id")));
    envmgr_cleanup_free char *built =
        envmgr_xasprintf("Successfully built %.12s\n", str(image, "Id") + 7);
    stream_line(a, json_pack("{s:s}", "stream", built));
    stream_line(a, json_pack("{s:s+}", "stream", "Successfully tagged ", tag));
    return 0;
}

static int images_route(fake_engine_t *f, const struct fake_call *call, const char *rest,
                        struct fake_answer *a)
{
    const char *m = call->method;
    if (strcmp(rest, "json") == 0 && strcmp(m, "GET") == 0) {
        json_t *out = json_array();
        size_t i;
        json_t *image;
        json_array_foreach(f->images, i, image)
        {
            json_t *labels = fake_object_labels("images", image);
            if (filters_match(call, labels))
                json_array_append_new(out, json_pack("{s:O, s:O, s:O}", "Id",
                                                     json_object_get(image, "Id"), "RepoTags",
                                                     json_object_get(image, "RepoTags"), "Labels",
                                                     labels));
        }
        return fake_answer_json(a, 200, out);
    }
    if (strcmp(rest, "create") == 0 && strcmp(m, "POST") == 0) {
        const char *from = str(call->query, "fromImage") ?: "";
        envmgr_cleanup_free char *name =
            envmgr_xasprintf("%s:%s", from, str(call->query, "tag") ?: "latest");
        if (!fake_state_find(f, "images", name))
            add_image(f, name, NULL);
        a->status = 200;
        a->content_type = "application/json";
        stream_line(a, json_pack("{s:s+, s:s}", "status", "Pulling from ", from, "id",
                                 str(call->query, "tag") ?: "latest"));
        stream_line(a, json_pack("{s:s+}", "status", "Status: Downloaded newer image for ", name));
        return 0;
    }
    size_t len = strlen(rest);
    bool inspect = len > 5 && strcmp(rest + len - 5, "/json") == 0;
    envmgr_cleanup_free char *name = envmgr_xstrndup(rest, inspect ? len - 5 : len);
    json_t *image = fake_state_find(f, "images", name);
    if (!image)
        return fake_answer_error(a, 404, "No such image: %s", name);
    if (inspect && strcmp(m, "GET") == 0)
        return fake_answer_json(a, 200, json_deep_copy(image));
    if (inspect || strcmp(m, "DELETE") != 0)
        return fake_answer_error(a, 404, "page not found");
    bool force = strcmp(str(call->query, "force") ?: "0", "1") == 0;
    size_t i;
    json_t *c;
    json_array_foreach(f->containers, i, c)
    {
        if (!force && strcmp(str(c, "Image") ?: "", str(image, "Id")) == 0 &&
            json_array_size(json_object_get(image, "RepoTags")) <= 1)
            return fake_answer_error(a, 409,
                                     "conflict: unable to remove repository reference \"%s\" (must "
                                     "force) - container %.12s is using its referenced image %.12s",
                                     name, str(c, "Id"), str(image, "Id") + 7);
    }
    envmgr_cleanup_free char *ref = image_ref(name);
    json_t *tags = json_object_get(image, "RepoTags");
    json_t *out = json_array();
    for (i = 0; i < json_array_size(tags); i++) {
        if (strcmp(json_string_value(json_array_get(tags, i)), ref) == 0) {
            json_array_append_new(out, json_pack("{s:s}", "Untagged", ref));
            json_array_remove(tags, i);
            break;
        }
    }
    if (json_array_size(tags) == 0 || strncmp(name, "sha256:", 7) == 0) {
        json_array_append_new(out, json_pack("{s:O}", "Deleted", json_object_get(image, "Id")));
        json_array_remove(f->images, find_index(f, "images", str(image, "Id")));
    }
    fake_answer_json(a, 200, out);
    return 0;
}

/* ---- dispatch ------------------------------------------------------------------------------ */

static int version_number(const char *v)
{
    int major = 0, minor = 0;
    return v && sscanf(v, "%d.%d", &major, &minor) == 2 ? major * 1000 + minor : -1;
}

int fake_state_handle(fake_engine_t *f, const struct fake_call *call, struct fake_answer *a)
{
    if (call->version && f->min_api_version &&
        version_number(call->version) < version_number(f->min_api_version))
        return fake_answer_error(a, 400,
                                 "client version %s is too old. Minimum supported API version is "
                                 "%s, please upgrade your client to a newer version",
                                 call->version, f->min_api_version);
    if (strcmp(call->path, "/_ping") == 0) {
        if (f->api_version)
            snprintf(a->api_header, sizeof(a->api_header), "%s", f->api_version);
        a->status = 200;
        a->content_type = "text/plain; charset=utf-8";
        envmgr_buf_adds(&a->body, "OK");
        return 0;
    }
    if (strcmp(call->path, "/version") == 0)
        return fake_answer_json(a, 200,
                                json_pack("{s:s, s:s, s:s}", "Version", "fake", "ApiVersion",
                                          f->api_version ?: "1.41", "MinAPIVersion",
                                          f->min_api_version ?: "1.12"));
    if (strcmp(call->path, "/build") == 0 && strcmp(call->method, "POST") == 0)
        return image_build(f, call, a);
    if (strncmp(call->path, "/images/", 8) == 0)
        return images_route(f, call, call->path + 8, a);
    envmgr_cleanup_free char *copy = envmgr_xstrdup(call->path + 1);
    char *seg[8];
    size_t n = 0;
    char *save = NULL;
    for (char *s = strtok_r(copy, "/", &save); s && n < 8; s = strtok_r(NULL, "/", &save))
        seg[n++] = s;
    if (n == 0)
        return fake_answer_error(a, 404, "page not found");
    if (strcmp(seg[0], "containers") == 0)
        return containers_route(f, call, seg, n, a);
    if (strcmp(seg[0], "networks") == 0)
        return networks_route(f, call, seg, n, a);
    if (strcmp(seg[0], "volumes") == 0)
        return volumes_route(f, call, seg, n, a);
    if (strcmp(seg[0], "exec") == 0 && n == 3) {
        json_t *exec = json_object_get(f->execs, seg[1]);
        if (!exec)
            return fake_answer_error(a, 404, "No such exec instance: %s", seg[1]);
        if (strcmp(seg[2], "start") == 0 && strcmp(call->method, "POST") == 0)
            return exec_start(f, exec, a);
        if (strcmp(seg[2], "json") == 0)
            return exec_inspect(exec, a);
    }
    fake_answer_error(a, 404, "page not found");
    return 0;
}

/* ---- the test's side ----------------------------------------------------------------------- */

static json_t *load(const char *text)
{
    if (!text)
        return NULL;
    json_error_t e;
    json_t *j = json_loads(text, 0, &e);
    if (!j) {
        fprintf(stderr, "fake engine: bad JSON in a test: %s: %s\n", e.text, text);
        abort();
    }
    return j;
}

void fake_engine_exec_script(fake_engine_t *f, const char *name, const fake_exec_t *results,
                             size_t n)
{
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *r = json_pack("{s:i, s:b, s:i}", "exit_code", results[i].exit_code, "hang",
                              results[i].hang, "still_running", results[i].still_running);
        if (results[i].out)
            json_object_set_new(r, "out", json_string(results[i].out));
        if (results[i].err)
            json_object_set_new(r, "err", json_string(results[i].err));
        json_array_append_new(list, r);
    }
    pthread_mutex_lock(&f->lock);
    json_object_set_new(f->exec_script, name, json_pack("{s:i, s:o}", "next", 0, "results", list));
    pthread_mutex_unlock(&f->lock);
}

void fake_engine_container_behaviour(fake_engine_t *f, const char *name, const fake_container_t *b)
{
    json_t *j = json_pack("{s:b, s:i}", "exits", b->exits, "exit_code", b->exit_code);
    if (b->health)
        json_object_set_new(j, "health", json_string(b->health));
    if (b->logs)
        json_object_set_new(j, "logs", json_string(b->logs));
    pthread_mutex_lock(&f->lock);
    json_object_set_new(f->behaviour, name, j);
    pthread_mutex_unlock(&f->lock);
}

void fake_engine_add_image(fake_engine_t *f, const char *name, const char *config_json)
{
    json_t *config = load(config_json);
    pthread_mutex_lock(&f->lock);
    add_image(f, name, config);
    pthread_mutex_unlock(&f->lock);
}

void fake_engine_add_dangling_image(fake_engine_t *f, const char *id)
{
    pthread_mutex_lock(&f->lock);
    json_array_append_new(
        f->images, json_pack("{s:s+, s:[], s:{}}", "Id", "sha256:", id, "RepoTags", "Config"));
    pthread_mutex_unlock(&f->lock);
}

const char *fake_engine_add_container(fake_engine_t *f, const char *name, const char *inspect_json)
{
    envmgr_cleanup_json json_t *over = load(inspect_json);
    pthread_mutex_lock(&f->lock);
    envmgr_cleanup_json json_t *config = json_object();
    json_t *c = new_container(f, name, config, NULL);
    json_object_set_new(json_object_get(c, "Config"), "Image", json_string("fake:latest"));
    json_object_update_recursive(c, over);
    json_t *state = json_object_get(c, "State");
    if (!json_object_get(over, "State") || !str(state, "Status"))
        json_object_set_new(state, "Status", json_string("running"));
    json_object_set_new(state, "Running",
                        json_boolean(strcmp(str(state, "Status"), "running") == 0));
    const char *id = str(c, "Id");
    pthread_mutex_unlock(&f->lock);
    return id;
}

void fake_engine_add_network(fake_engine_t *f, const char *name, const char *labels_json)
{
    envmgr_cleanup_json json_t *labels = load(labels_json);
    pthread_mutex_lock(&f->lock);
    add_network(f, name, labels);
    pthread_mutex_unlock(&f->lock);
}

void fake_engine_add_volume(fake_engine_t *f, const char *name, const char *labels_json)
{
    envmgr_cleanup_json json_t *labels = load(labels_json);
    pthread_mutex_lock(&f->lock);
    add_volume(f, name, labels);
    pthread_mutex_unlock(&f->lock);
}

void fake_engine_connect(fake_engine_t *f, const char *network, const char *container)
{
    pthread_mutex_lock(&f->lock);
    json_t *net = fake_state_find(f, "networks", network);
    json_t *c = fake_state_find(f, "containers", container);
    if (!net || !c)
        abort();
    network_attach(net, c);
    pthread_mutex_unlock(&f->lock);
}

size_t fake_engine_count(fake_engine_t *f, const char *kind, const char *label_filter)
{
    size_t n = 0;
    pthread_mutex_lock(&f->lock);
    size_t i;
    json_t *o;
    json_array_foreach(kind_array(f, kind), i, o)
    {
        if (!label_filter || fake_labels_match(fake_object_labels(kind, o), label_filter))
            n++;
    }
    pthread_mutex_unlock(&f->lock);
    return n;
}

json_t *fake_engine_object(fake_engine_t *f, const char *kind, const char *name)
{
    pthread_mutex_lock(&f->lock);
    json_t *o = json_deep_copy(fake_state_find(f, kind, name));
    pthread_mutex_unlock(&f->lock);
    return o;
}
