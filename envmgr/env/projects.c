/* Every envtest project on the engine (`envtest ls`), found by label, as a typed list. */
#include <envmgr/env.h>

#include <stdlib.h>
#include <string.h>

#include <envmgr/lifecycle.h>

static const char *project_label(json_t *object)
{
    return json_string_value(
        json_object_get(json_object_get(object, "Labels"), ENVMGR_LABEL_PROJECT));
}

/* The entry of project name, made on first use. */
static envmgr_project_summary_t *project_entry(envmgr_project_list_t *list, const char *name)
{
    for (size_t i = 0; i < list->n; i++)
        if (strcmp(list->items[i].name, name) == 0)
            return &list->items[i];
    list->items = envmgr_xrealloc(list->items, (list->n + 1) * sizeof(*list->items));
    envmgr_project_summary_t *p = &list->items[list->n++];
    memset(p, 0, sizeof(*p));
    p->name = envmgr_xstrdup(name);
    return p;
}

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int compare_projects(const void *a, const void *b)
{
    return strcmp(((const envmgr_project_summary_t *)a)->name,
                  ((const envmgr_project_summary_t *)b)->name);
}

static void count_containers(envmgr_project_list_t *list, json_t *containers)
{
    for (size_t i = 0; i < json_array_size(containers); i++) {
        json_t *c = json_array_get(containers, i);
        const char *name = project_label(c);
        if (!name)
            continue;
        envmgr_project_summary_t *p = project_entry(list, name);
        p->containers++;
        if (strcmp(json_string_value(json_object_get(c, "State")) ?: "", "running") == 0)
            p->running++;
        const char *service =
            json_string_value(json_object_get(json_object_get(c, "Labels"), ENVMGR_LABEL_SERVICE));
        if (service)
            envmgr_strv_push(&p->services, service);
    }
}

int envmgr_projects_list(envmgr_engine_t *engine, envmgr_project_list_t *out, envmgr_error_t *err)
{
    memset(out, 0, sizeof(*out));
    envmgr_cleanup_json json_t *containers = NULL;
    envmgr_cleanup_json json_t *networks = NULL;
    envmgr_cleanup_json json_t *volumes = NULL;
    envmgr_cleanup_free char *keep_filter = envmgr_xasprintf("%s=true", ENVMGR_LABEL_KEEP);
    if (envmgr_engine_container_list(engine, ENVMGR_LABEL_PROJECT, true, &containers, err) < 0 ||
        envmgr_engine_network_list(engine, ENVMGR_LABEL_PROJECT, &networks, err) < 0 ||
        envmgr_engine_volume_list(engine, keep_filter, &volumes, err) < 0)
        return envmgr_error_wrap(err, "list envtest projects");
    count_containers(out, containers);
    for (size_t i = 0; i < json_array_size(networks); i++) {
        const char *name = project_label(json_array_get(networks, i));
        if (name)
            project_entry(out, name)->networks++;
    }
    for (size_t i = 0; i < json_array_size(volumes); i++) {
        const char *name = project_label(json_array_get(volumes, i));
        if (name)
            project_entry(out, name)->kept = true;
    }
    for (size_t i = 0; i < out->n; i++)
        if (out->items[i].services.n)
            qsort(out->items[i].services.items, out->items[i].services.n, sizeof(char *),
                  compare_strings);
    if (out->n)
        qsort(out->items, out->n, sizeof(*out->items), compare_projects);
    return 0;
}

void envmgr_project_list_free(envmgr_project_list_t *list)
{
    for (size_t i = 0; i < list->n; i++) {
        free(list->items[i].name);
        envmgr_strv_free(&list->items[i].services);
    }
    free(list->items);
    memset(list, 0, sizeof(*list));
}

json_t *envmgr_project_list_to_json(const envmgr_project_list_t *list)
{
    json_t *out = json_array();
    for (size_t i = 0; i < list->n; i++) {
        const envmgr_project_summary_t *p = &list->items[i];
        json_t *services = json_array();
        for (size_t s = 0; s < p->services.n; s++)
            json_array_append_new(services, json_string(p->services.items[s]));
        json_array_append_new(out, json_pack("{s:s, s:i, s:i, s:i, s:b, s:o}", "name", p->name,
                                             "containers", p->containers, "running", p->running,
                                             "networks", p->networks, "kept", p->kept, "services",
                                             services));
    }
    return out;
}
