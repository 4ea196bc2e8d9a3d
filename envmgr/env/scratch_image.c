/* The FROM scratch image of a program beside envtest (see scratch_image.h). */
#include "scratch_image.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "project.h"
#include <envmgr/util.h>

/* Builds tag from a context of a Dockerfile and the program (data, len) as /envtest-<name>. */
static int build_scratch(envmgr_engine_t *engine, const char *name, const char *tag,
                         const char *data, size_t len, envmgr_error_t *err)
{
    envmgr_cleanup_free char *dir = envmgr_xasprintf("/tmp/envtest-%s-XXXXXX", name);
    if (mkdtemp(dir) == NULL)
        return envmgr_error_errno(err, errno, "a build context");
    envmgr_cleanup_free char *dockerfile = envmgr_xasprintf("FROM scratch\n"
                                                            "COPY envtest-%s /envtest-%s\n"
                                                            "ENTRYPOINT [\"/envtest-%s\"]\n",
                                                            name, name, name);
    envmgr_cleanup_free char *df = envmgr_xasprintf("%s/Dockerfile", dir);
    envmgr_cleanup_free char *bin = envmgr_xasprintf("%s/envtest-%s", dir, name);
    envmgr_cleanup_free char *label = envmgr_xasprintf("io.envtest.%s-image", name);
    envmgr_kvlist_t labels = {0};
    envmgr_kvlist_set(&labels, label, "true");
    envmgr_build_options_t opts = {.context_dir = dir, .tag = tag, .labels = &labels};
    int r = -1;
    if (envmgr_write_file(df, dockerfile, strlen(dockerfile), err) == 0 &&
        envmgr_write_file(bin, data, len, err) == 0) {
        if (chmod(bin, 0755) < 0)
            envmgr_error_errno(err, errno, "chmod %s", bin);
        else
            r = envmgr_engine_image_build(engine, &opts, NULL, NULL, err);
    }
    envmgr_kvlist_free(&labels);
    unlink(bin);
    unlink(df);
    rmdir(dir);
    return r;
}

int envmgr_scratch_image_ensure(envmgr_engine_t *engine, const envmgr_scratch_program_t *program,
                                char **tag_out, envmgr_error_t *err)
{
    envmgr_cleanup_free char *exe = envmgr_xasprintf("envtest-%s", program->name);
    envmgr_cleanup_free char *bin = envmgr_project_sibling_program(program->env_var, exe);
    envmgr_cleanup_free char *data = NULL;
    size_t len = 0;
    if (!bin || envmgr_read_file(bin, &data, &len, err) < 0) {
        envmgr_error_wrap(err, "%s: its program %s", program->what, exe);
        return program->hint ? envmgr_error_hint(err, "%s", program->hint) : -1;
    }
    char digest[65];
    envmgr_sha256_hex(data, len, digest);
    char *tag = envmgr_xasprintf("envtest/%s:%.12s", program->name, digest);
    envmgr_cleanup_json json_t *inspect = NULL;
    envmgr_error_t lookup_err = {0};
    if (envmgr_engine_image_inspect(engine, tag, &inspect, &lookup_err) < 0 &&
        build_scratch(engine, program->name, tag, data, len, err) < 0) {
        free(tag);
        return envmgr_error_wrap(err, "%s: build its image", program->what);
    }
    *tag_out = tag;
    return 0;
}
