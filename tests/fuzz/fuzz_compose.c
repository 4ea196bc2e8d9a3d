/* libFuzzer target: arbitrary bytes as a compose file. Must never crash, leak or hang; on success
 * the JSON output is produced too (it walks every model field). Build with -DENVTEST_FUZZ=ON and
 * CC=clang; run: ./fuzz_compose -max_total_time=60 ../tests/fuzz/corpus/compose */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <envmgr/compose.h>

static char *fuzz_secret(void *userdata, const char *name)
{
    return envmgr_xstrdup("fuzz-secret");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    envmgr_error_t err = {0};
    envmgr_project_t *project = NULL;
    envmgr_kvlist_t extra = {0};
    envmgr_kvlist_set(&extra, "FUZZ_EXTRA", "extra");
    envmgr_compose_options_t opts = {.extra_vars = &extra, .secret_cb = fuzz_secret};
    /* A file in a directory that does not exist: no .env or env_file is read from the disk. */
    if (envmgr_compose_load_string((const char *)data, size, "/nonexistent-fuzz/compose.yaml",
                                   &opts, &project, &err) == 0) {
        json_t *j = envmgr_project_to_json(project, true);
        char *s = json_dumps(j, JSON_SORT_KEYS);
        free(s);
        json_decref(j);
        for (size_t i = 0; i < project->n_services; i++)
            json_decref(envmgr_service_to_json(&project->services[i]));
        envmgr_project_free(project);
    }
    envmgr_kvlist_free(&extra);
    return 0;
}
