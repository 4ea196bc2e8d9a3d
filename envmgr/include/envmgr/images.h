/* Images envtest builds, and where envtest's own files are.
 *
 * Content-addressed builds: an image envtest builds for a `build:` without `image:` is tagged
 * envtest/<service>:<build digest, 16 hex> (the digest covers the context's paths, modes and
 * contents, the Dockerfile's name and the build args), labelled io.envtest.context-digest with the
 * whole digest and no project label, so every project that builds the same context shares one
 * image. An image is removed only when no container (of any project, in any state) uses it.
 *
 * Built-in images: `image: envtest/mock-llm` (also envtest/mock-vector, envtest/sca-api,
 * envtest/mock-llm-record; no tag or :latest) is built, when the engine lacks it, from the context
 * envtest was installed with (<data dir>/compose/<name>/context, mock-llm-record's in
 * compose/mock-llm/record-context: a Dockerfile and the binary), tagged by its digest like any
 * build.
 *
 * The data dir: $ENVTEST_DATA_DIR; else $ENVTEST_BUILD_DIR; else, found from the running
 * executable, the build tree it belongs to (<build>/cmd/envtest) or its installed share of
 * <prefix>/lib/envtest (fixtures/, suites/, compose/<name>/context/). */
#ifndef ENVMGR_IMAGES_H
#define ENVMGR_IMAGES_H

#include <stdbool.h>

#include <envmgr/engine.h>
#include <envmgr/error.h>
#include <envmgr/util.h>

#define ENVMGR_LABEL_CONTEXT_DIGEST "io.envtest.context-digest"

/* The data dir as above, or NULL when none is found. Caller frees. */
char *envmgr_data_dir(void);
/* For a built-in image name (envtest/mock-llm[:latest], ...): its build context directory (which
 * holds a Dockerfile), else NULL. Caller frees. *is_builtin (may be NULL) tells a built-in name
 * whose context was not found (so the caller can say where it looked) from any other image. */
char *envmgr_builtin_image_context(const char *image, bool *is_builtin);

/* sha256 of the context digest (envmgr_engine_context_digest) and the build args, in out. */
int envmgr_image_build_digest(const char *context_dir, const char *dockerfile,
                              const envmgr_kvlist_t *args, char out[65], envmgr_error_t *err);
/* "<repo>:<first 16 hex of digest>". Caller frees. */
char *envmgr_image_content_tag(const char *repo, const char *digest);

/* The images a project's containers run that envtest built (labelled with a context digest), and
 * the images labelled io.envtest.project=<project> (built by envtest before images were shared,
 * tagged or not): ids appended to out. Call it before the containers go. */
int envmgr_images_of_project(envmgr_engine_t *engine, const char *project, envmgr_strv_t *out,
                             envmgr_error_t *err);
/* Removes each image of ids that no container uses (any project, any state), by id with all its
 * tags. *removed: how many went. Images that stay are not errors; an engine failure is. */
int envmgr_images_remove_unused(envmgr_engine_t *engine, const envmgr_strv_t *ids, int *removed,
                                envmgr_error_t *err);
/* `gc --images`: every image envtest built (labelled with a context digest, or with a project)
 * that no container uses. */
int envmgr_images_gc(envmgr_engine_t *engine, int *removed, envmgr_error_t *err);

#endif
