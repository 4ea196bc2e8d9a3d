/* Internals of state snapshots (envmgr/env/snapshot*.c). Not part of the public API: see
 * <envmgr/snapshot.h>. */
#ifndef ENVMGR_SNAPSHOT_INTERNAL_H
#define ENVMGR_SNAPSHOT_INTERNAL_H

#include <envmgr/compose.h>
#include <envmgr/engine.h>
#include <envmgr/lifecycle.h>
#include <envmgr/snapshot.h>

#define SNAP_STATE_FILE "datadir.tar"
#define SNAP_META_FILE "meta.json"
#define SNAP_MOCKS_FILE "mocks.json"
#define SNAP_DATADIR "/var/lib/mysql"
#define SNAP_RUN_DIR "/run/envtest-snapshot"
#define SNAP_BIND_TARGET "/run/envtest-snapshot.tar"

/* ---- snapshot_store.c: the folder ------------------------------------------------------------ */
/* <dir>/<key>[/file] (malloc'ed). */
char *snap_path(const char *key, const char *file);
/* A fresh, empty <dir>/<staging>/ (staging: "<key>.<pid>.tmp"; a leftover is removed first). */
int snap_begin(const char *staging, envmgr_error_t *err);
/* Writes meta.json into staging and renames it to <dir>/<key>: the snapshot is complete. When
 * another up saved the same key meanwhile, staging is dropped and theirs kept. */
int snap_commit(const char *staging, const char *key, const json_t *meta, envmgr_error_t *err);
/* Removes <dir>/<key>/ and what it holds (errors ignored: best effort). */
void snap_discard(const char *key);
/* meta.json of a complete snapshot; ENVMGR_E_NOT_FOUND when there is none. */
int snap_meta_read(const char *key, json_t **out, envmgr_error_t *err);
/* Marks the snapshot used now (meta.json's mtime). */
void snap_touch(const char *key);

/* ---- snapshot_mysql.c: the MySQL service ------------------------------------------------------
 */
/* Saves the running server's data into <key>/datadir.tar; fills meta's "accounts" (which account
 * uses which generated secret) and "check" (what snap_mysql_check expects). */
int snap_mysql_save(envmgr_engine_t *engine, const char *container_id,
                    const envmgr_project_t *project, const char *const *digests, size_t n_digests,
                    const char *key, json_t *meta, envmgr_error_t *err);
/* The container config of a restored server: state_path (absolute) bind-mounted read-only, the
 * entrypoint wrapped by a shell that unpacks it before the image's entrypoint runs. image_config:
 * the image's Config (Entrypoint, Cmd). */
void snap_mysql_wrap_config(const envmgr_service_t *s, const json_t *image_config,
                            const char *state_path, json_t *config);
/* Puts the set-up SQL (the new project's passwords) into the created container (nothing when no
 * account of the snapshot uses a generated secret); the wrapper opens it and removes it before the
 * server starts, which reads it from that descriptor. */
int snap_mysql_put(envmgr_engine_t *engine, const char *container_id,
                   const envmgr_project_t *project, const json_t *meta, envmgr_error_t *err);
/* After start: 1 when the data came from the snapshot and holds what meta says, 0 when the
 * unpacking failed in the container (*why: its message; the server was initialized empty), else -1
 * and err. */
int snap_mysql_check(envmgr_engine_t *engine, const char *container_id, const char *const *digests,
                     size_t n_digests, const json_t *meta, char **why, envmgr_error_t *err);

/* After start, for an init snapshot (no fixture digests to check): 1 when the wrapper unpacked the
 * data (its container log does not say it failed), 0 when it failed (*why: its message; the image
 * initialized the server as usual), -1 and err when the log cannot be read. No process in the
 * container: an exec is a few hundred ms of the engine's work on a busy machine. */
int snap_mysql_unpacked(envmgr_engine_t *engine, const char *container_id, char **why,
                        envmgr_error_t *err);

/* ---- snapshot_mocks.c: the mocks' state through their admin APIs ---------------------------- */
/* *out: {"<service>": {...}} for every mock among live's services but db_service. */
int snap_mocks_save(const envmgr_live_targets_t *live, const char *db_service, json_t **out,
                    envmgr_error_t *err);
int snap_mocks_restore(const envmgr_live_targets_t *live, const json_t *mocks, envmgr_error_t *err);

/* ---- snapshot.c: the hooks of up (lifecycle.c) ---------------------------------------------- */
typedef struct envmgr_snapshot_plan envmgr_snapshot_plan_t;
/* Before the services start: *out the plan when the engine is local (a unix socket: the snapshot
 * is bind-mounted), the project's fixtures all load where a snapshot holds their result (or it has
 * none: an init snapshot, of the MySQL service's initialized, empty data) and its MySQL service's
 * data can be snapshotted, else NULL. */
int envmgr_snapshot_plan_make(envmgr_engine_t *engine, const envmgr_project_t *project,
                              envmgr_snapshot_plan_t **out, envmgr_error_t *err);
void envmgr_snapshot_plan_free(envmgr_snapshot_plan_t *plan);
/* ensure_container's create: for the planned service, its key is computed and, when a usable
 * snapshot has it, the container is created with the data put in (entrypoint wrapped); any other
 * service (or plan NULL) is created as it is. Called from the service's worker thread. */
int envmgr_snapshot_container_create(envmgr_snapshot_plan_t *plan, envmgr_engine_t *engine,
                                     const envmgr_project_t *project, const envmgr_service_t *s,
                                     const char *name, json_t *config, const char *image_id,
                                     envmgr_progress_cb progress, void *userdata, char **id,
                                     envmgr_error_t *err);
/* After the service s turned healthy (from its worker thread, before its dependents start): for
 * the planned service of an init snapshot (a project without fixtures), the restored data checked,
 * or its initialized, still empty data saved (a failed save is a warning). Else nothing. */
int envmgr_snapshot_service_ready(envmgr_snapshot_plan_t *plan, envmgr_engine_t *engine,
                                  const envmgr_project_t *project, const envmgr_service_t *s,
                                  const char *container_id, envmgr_progress_cb progress,
                                  void *userdata, envmgr_error_t *err);
/* After the services are up, instead of envmgr_fixtures_up: the restored data checked and the
 * fixtures marked loaded, or the fixtures loaded and a snapshot saved (a failed save is a
 * warning). */
int envmgr_snapshot_fixtures_up(envmgr_snapshot_plan_t *plan, envmgr_engine_t *engine,
                                const envmgr_project_t *project, envmgr_progress_cb progress,
                                void *userdata, envmgr_error_t *err);

#endif
