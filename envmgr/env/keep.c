/* The keep mark: a small labelled volume <project>_envtest-keep (engine labels cannot change after
 * creation), removed by `down`. */
#include <stdlib.h>
#include <string.h>

#include "project.h"
#include <envmgr/lifecycle.h>

static char *keep_volume_name(const char *project_name)
{
    return envmgr_xasprintf("%s_envtest-keep", project_name);
}

int envmgr_env_mark_set(envmgr_engine_t *engine, const char *name, const envmgr_kvlist_t *labels,
                        envmgr_error_t *err)
{
    if (labels)
        return envmgr_engine_volume_create(engine, name, labels, err);
    if (envmgr_engine_volume_remove(engine, name, true, err) < 0 && err->kind != ENVMGR_E_NOT_FOUND)
        return -1;
    envmgr_error_clear(err);
    return 0;
}

int envmgr_keep_set(envmgr_engine_t *engine, const char *project_name, bool keep,
                    envmgr_error_t *err)
{
    envmgr_cleanup_free char *name = keep_volume_name(project_name);
    envmgr_kvlist_t labels = {0};
    envmgr_kvlist_set(&labels, ENVMGR_LABEL_PROJECT, project_name);
    envmgr_kvlist_set(&labels, ENVMGR_LABEL_KEEP, "true");
    int r = envmgr_env_mark_set(engine, name, keep ? &labels : NULL, err);
    envmgr_kvlist_free(&labels);
    return r;
}

int envmgr_keep_get(envmgr_engine_t *engine, const char *project_name, bool *kept,
                    envmgr_error_t *err)
{
    envmgr_cleanup_free char *filter = envmgr_xasprintf("%s=true", ENVMGR_LABEL_KEEP);
    envmgr_cleanup_json json_t *vols = NULL;
    if (envmgr_engine_volume_list(engine, filter, &vols, err) < 0)
        return -1;
    *kept = false;
    for (size_t i = 0; i < json_array_size(vols); i++) {
        const char *p = json_string_value(json_object_get(
            json_object_get(json_array_get(vols, i), "Labels"), ENVMGR_LABEL_PROJECT));
        if (p && strcmp(p, project_name) == 0)
            *kept = true;
    }
    return 0;
}
