/* The FROM scratch image of a program installed beside envtest (envtest-reaper for the reaper
 * container, envtest-pause for the pod holder): envtest/<name>:<12 hex digits of the program's
 * sha256>, built when the engine does not have it yet. */
#ifndef ENVMGR_SCRATCH_IMAGE_H
#define ENVMGR_SCRATCH_IMAGE_H

#include <envmgr/engine.h>
#include <envmgr/error.h>

typedef struct {
    const char *name;    /* "reaper": the program envtest-reaper, the image envtest/reaper:<digest>,
                            the label io.envtest.reaper-image=true */
    const char *env_var; /* overrides the program's path (ENVTEST_REAPER_BIN) */
    const char *what;    /* the errors' subject ("reaper container") */
    const char *hint;    /* the hint when the program cannot be read, or NULL */
} envmgr_scratch_program_t;

/* Finds the program (envmgr_project_sibling_program), reads it and sets *tag_out (malloc'ed) to
 * its image, built from a context holding only the program as the entrypoint when absent. Errors
 * say "<what>: its program envtest-<name>" or "<what>: build its image". */
int envmgr_scratch_image_ensure(envmgr_engine_t *engine, const envmgr_scratch_program_t *program,
                                char **tag_out, envmgr_error_t *err);

#endif
