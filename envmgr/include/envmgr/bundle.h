/* Repro bundles: one archive (tar + zstd) that holds what it takes to recreate a live environment
 * elsewhere with the same state (issue 16):
 *   manifest.json        format, project, services with their image ids/digests and state kind,
 *                        fixture digests, secret names, the failed suites
 *   compose.json         the resolved Compose model: build: replaced by the saved image, bind
 *                        mounts by the copies under mounts/, secrets as ${NAME} (never in clear),
 *                        x-envtest.fixtures dropped (the state is restored instead)
 *   images/<id>.tar      the images envtest built and those with no registry digest (GET
 * /images/get) mounts/<service>/<n> the bind-mounted files state/<service>/...  MySQL: mysql.sql
 * (mysqldump --single-transaction through exec); mock services (mock-common's admin API):
 * journal.json, faults.json; mock-llm: cassette.json; Qdrant-compatible: collections.json + one
 * JSON-lines file of scroll pages (with vectors) per collection logs/<service>.log   container
 * logs;  run/...  the run's reports and suite outputs secrets.enc          optional: the secrets'
 * values, AES-256-GCM with a PBKDF2-SHA256 key checksums.json       last entry: sha256 and size of
 * every other entry (a bundle without it, or whose entries do not match it, is refused) libarchive
 * is loaded on first use. */
#ifndef ENVMGR_BUNDLE_H
#define ENVMGR_BUNDLE_H

#include <jansson.h>
#include <stdbool.h>

#include <envmgr/compose.h>
#include <envmgr/engine.h>
#include <envmgr/error.h>
#include <envmgr/lifecycle.h>
#include <envmgr/util.h>

#define ENVMGR_BUNDLE_FORMAT "envtest-bundle/1"
#define ENVMGR_LABEL_BUNDLE "io.envtest.bundle" /* on the network of an env made by up --from */

typedef struct envmgr_bundle_create_options {
    const char *output;       /* the archive to write (replaced atomically) */
    const char *run_dir;      /* a run's report directory to include, or NULL */
    const char *passphrase;   /* non-NULL: the secrets' values go in secrets.enc, encrypted */
    bool without_base_images; /* only the images envtest built; others must exist where restored */
    envmgr_progress_cb progress; /* "service" is what is being saved; may be NULL */
    void *userdata;
} envmgr_bundle_create_options_t;

/* Saves the live environment of project into opts->output. Nothing is left behind on failure (the
 * staging directory beside the output is removed). */
int envmgr_bundle_create(envmgr_engine_t *engine, const envmgr_project_t *project,
                         const envmgr_bundle_create_options_t *opts, envmgr_error_t *err);

typedef struct envmgr_bundle envmgr_bundle_t;

/* Unpacks and checks the archive into dir (which must not exist; made with its parents). An image
 * whose id the engine (if non-NULL) already has is not written out. On any failure (unreadable,
 * truncated, not a bundle, a checksum mismatch, another format) err names the file and the entry,
 * and dir is removed. */
int envmgr_bundle_extract(const char *path, const char *dir, envmgr_engine_t *engine,
                          envmgr_bundle_t **out, envmgr_error_t *err);
/* A bundle extracted before (dir holds manifest.json and compose.json). */
int envmgr_bundle_open_dir(const char *dir, envmgr_bundle_t **out, envmgr_error_t *err);
void envmgr_bundle_free(envmgr_bundle_t *bundle);
const json_t *envmgr_bundle_manifest(const envmgr_bundle_t *bundle);
const char *envmgr_bundle_dir(const envmgr_bundle_t *bundle);
const char *envmgr_bundle_compose_file(const envmgr_bundle_t *bundle);
/* The sha256 of the archive it came from (also the network label ENVMGR_LABEL_BUNDLE). */
const char *envmgr_bundle_id(const envmgr_bundle_t *bundle);

/* The secrets' values from secrets.enc: ENVMGR_E_NOT_FOUND when the bundle has none,
 * ENVMGR_E_USAGE on a wrong passphrase. */
int envmgr_bundle_secrets(const envmgr_bundle_t *bundle, const char *passphrase,
                          envmgr_kvlist_t *out, envmgr_error_t *err);

/* Rewrites x-envtest.suites paths of compose.json that do not exist here to those of the suites of
 * the same name in local (a project loaded from this checkout's compose file), if given. */
int envmgr_bundle_localize_suites(envmgr_bundle_t *bundle, const envmgr_project_t *local,
                                  envmgr_error_t *err);

/* Loads the bundle's images (skipping those the engine has) and tags them as compose.json names
 * them. */
int envmgr_bundle_load_images(envmgr_engine_t *engine, const envmgr_bundle_t *bundle,
                              envmgr_progress_cb progress, void *userdata, envmgr_error_t *err);

/* Restores every service's saved state into the live project (brought up from compose.json). */
int envmgr_bundle_restore_state(envmgr_engine_t *engine, const envmgr_bundle_t *bundle,
                                const envmgr_project_t *project, envmgr_progress_cb progress,
                                void *userdata, envmgr_error_t *err);

/* Encrypts/decrypts a small secret document: "envtest-secrets/1" header, salt, nonce, PBKDF2-
 * SHA256 (200,000 rounds) key, AES-256-GCM with tag. Exposed for tests. */
int envmgr_bundle_encrypt(const char *passphrase, const void *plain, size_t len, envmgr_buf_t *out,
                          envmgr_error_t *err);
int envmgr_bundle_decrypt(const char *passphrase, const void *data, size_t len, envmgr_buf_t *out,
                          envmgr_error_t *err);

/* Removes a directory tree (for callers cleaning up an extraction dir). 0 when absent. */
int envmgr_bundle_remove_tree(const char *path, envmgr_error_t *err);

#endif
