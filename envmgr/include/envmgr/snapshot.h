/* State snapshots (issue 16): the MySQL service's data (and the mocks' state) once the fixtures are
 * loaded, saved by `up` and put back by a later `up` (any project) whose key is the same, instead
 * of loading again.
 *
 * The key is the SHA-256 of the MySQL image id, the service's resolved configuration (generated
 * secret values replaced by their names: every project generates its own), the content of its
 * bind-mounted files (e.g. /docker-entrypoint-initdb.d scripts), every other service's
 * configuration and image reference, and the digest of every fixture archive.
 *
 * Each snapshot is a folder <dir>/<key>/ holding datadir.tar (the server's data folder, read under
 * FLUSH TABLES WITH READ LOCK once InnoDB has no dirty page; bind-mounted read-only into the next
 * container and unpacked before its server starts, so snapshots need a local engine), mocks.json
 * (the mocks' state the fixtures put there, through their admin APIs) and meta.json (what it was
 * made from, its size, which accounts use which generated secret, so that a
 * restored server takes the new project's passwords). <dir> is $ENVTEST_SNAPSHOT_DIR, else
 * $XDG_CACHE_HOME/envtest/snapshots, else ~/.cache/envtest/snapshots. A save is made in
 * <key>.<pid>.tmp and renamed into place when complete: such a folder is never used, and prune
 * removes it once it is an hour old.
 *
 * With ENVTEST_INIT_SNAPSHOT=1, a project without fixtures gets an init snapshot: the MySQL
 * service's data as the image initialized it, saved when the service turns healthy, keyed by the
 * image id and that service's configuration only, restored in the same way. */
#ifndef ENVMGR_SNAPSHOT_H
#define ENVMGR_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <envmgr/error.h>

#define ENVMGR_SNAPSHOT_FORMAT 1

typedef struct envmgr_snapshot_info {
    char key[65];
    char *service;               /* Compose service name (e.g. mysql) */
    char *image;                 /* image reference as the service named it */
    char *project;               /* the project whose up made it */
    char *fixtures;              /* "name@digest12, ..." */
    uint64_t size;               /* bytes on disk */
    int64_t created_ms, used_ms; /* wall clock; used: made or last restored */
    bool complete;               /* false: unfinished (a save in progress or cut short) */
    char *folder;                /* its folder's name under envmgr_snapshot_dir() */
} envmgr_snapshot_info_t;

/* The snapshot folder (malloc'ed), as above. Not created. */
char *envmgr_snapshot_dir(void);

/* Every snapshot (complete or not), newest use first. */
int envmgr_snapshot_list(envmgr_snapshot_info_t **out, size_t *n, envmgr_error_t *err);
void envmgr_snapshot_list_free(envmgr_snapshot_info_t *list, size_t n);

/* Removes the snapshot whose key is key or starts with it (at least 4 hex digits; more than one
 * match is ENVMGR_E_CONFIG naming them, none ENVMGR_E_NOT_FOUND). *removed: its full key. */
int envmgr_snapshot_remove(const char *key, char removed[65], envmgr_error_t *err);

/* Removes unfinished snapshots and those not used for older_than_ms (< 0: every snapshot). */
int envmgr_snapshot_prune(int64_t older_than_ms, size_t *removed, uint64_t *freed,
                          envmgr_error_t *err);

#endif
