/* Internals of the bundle module (envmgr/bundle/). Not part of the public API. */
#ifndef ENVMGR_BUNDLE_INTERNAL_H
#define ENVMGR_BUNDLE_INTERNAL_H

#include <envmgr/bundle.h>

struct envmgr_bundle {
    char *dir;
    char *compose_file; /* <dir>/compose.json */
    char id[65];
    json_t *manifest;
};

/* ---- bundle_files.c: the staging directory and the archive ---------------------------------- */
/* Copies a file or a directory tree (regular files, directories, symlinks) from src to dst. */
int bun_copy_tree(const char *src, const char *dst, envmgr_error_t *err);
/* Writes every file under dir into a tar.zst at path: manifest.json first, checksums.json (made
 * here) last. Written to path.tmp, then renamed. */
int bun_archive_write(const char *dir, const char *path, envmgr_error_t *err);
/* Writes JSON to dir/rel (parents made). */
int bun_write_json(const char *dir, const char *rel, const json_t *doc, envmgr_error_t *err);
json_t *bun_read_json(const char *path, envmgr_error_t *err);
/* Drops the names of networks and volumes that are the source project's own ("<project>_<key>",
 * what Compose derives), so that the environment restored under another project gets its own
 * network and volumes instead of joining the source's. Returns whether it changed compose. */
bool bun_unpin_project_names(json_t *compose);
/* A file as the engine's upload callbacks read it (envmgr_engine_image_load, archive puts). */
typedef struct bun_file_source {
    int fd;
    const char *path;
} bun_file_source_t;
long bun_file_read(void *userdata, char *buf, size_t len, envmgr_error_t *err);

/* ---- bundle_http.c: the mocks' admin APIs over the published port --------------------------- */
/* A request whose 2xx body is JSON: *out (may be NULL). Non-2xx is ENVMGR_E_ENV naming the URL. */
int bun_http_json(const char *method, const char *url, const json_t *body, json_t **out,
                  envmgr_error_t *err);

/* ---- bundle_state.c: each service's state -----------------------------------------------------
 */
typedef struct bun_service {
    const char *name;
    const char *container_id;
    const char *base_url; /* first published port, or NULL */
    bool mysql;
} bun_service_t;
/* Saves what the service holds under dir/state/<name>/; *kinds gets the parts saved
 * (["mysql"], ["journal","faults","cassette"], ["collections"]...). */
int bun_state_save(envmgr_engine_t *engine, const bun_service_t *svc, const char *dir,
                   json_t *kinds, envmgr_error_t *err);
int bun_state_restore(envmgr_engine_t *engine, const bun_service_t *svc, const char *dir,
                      const json_t *kinds, envmgr_error_t *err);

#endif
