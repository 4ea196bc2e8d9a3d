/* Fixture archives: a tar/tar.gz/tar.zst/zip (anything libarchive reads) with a manifest
 * `envtest-fixture.yaml` (or `.json`) at its root naming the fixture, its version and ordered
 * steps:
 *
 *   mysql      SQL scripts, then tables from CSV/TSV streamed out of the archive with
 *              LOAD DATA LOCAL INFILE (no temporary files, constant memory), validated row by row,
 *              each table loaded into a staging table and swapped in with one RENAME TABLE.
 *   http       one request (method, path, body member, expected status) to a named service.
 *   documents  passages (JSONL: text + metadata) embedded through POST /v1/embeddings and upserted
 *              into a Qdrant-compatible collection.
 *   copy       members into a container through the Engine's archive endpoint.
 *
 * Every entry of the archive is checked: path traversal, absolute paths, links, device files and
 * fifos, members over the size limit or over the compression ratio limit, a missing or malformed
 * manifest, unknown step types and members the manifest names but the archive lacks are all refused
 * with an error naming archive, member and (for the manifest) line. envmgr_fixture_open checks the
 * whole archive before it returns; envmgr_fixture_open_streamed checks up to the manifest and
 * leaves the rest to the load, which checks each entry as it streams past and finishes the check
 * before a step other than mysql runs and before any table is committed, so the archive is
 * decompressed once. envmgr_fixture does not know the lifecycle: the caller passes where the
 * services are. */
#ifndef ENVMGR_FIXTURE_H
#define ENVMGR_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <envmgr/engine.h>
#include <envmgr/error.h>

#define ENVMGR_FIXTURE_MANIFEST_YAML "envtest-fixture.yaml"
#define ENVMGR_FIXTURE_MANIFEST_JSON "envtest-fixture.json"
#define ENVMGR_FIXTURE_DEFAULT_MAX_MEMBER (INT64_C(2) << 30) /* 2 GiB */
#define ENVMGR_FIXTURE_DEFAULT_MAX_RATIO 200                 /* uncompressed : compressed */
/* Bookkeeping table envmgr_fixture_load() writes in the database (digest, per-table rows and
 * checksums), which envmgr_fixture_verify() compares against. */
#define ENVMGR_FIXTURE_STATE_TABLE "_envtest_fixture"

typedef struct envmgr_fixture envmgr_fixture_t;

typedef struct envmgr_fixture_limits {
    int64_t max_member_bytes; /* 0: ENVMGR_FIXTURE_DEFAULT_MAX_MEMBER */
    int max_ratio;            /* 0: ENVMGR_FIXTURE_DEFAULT_MAX_RATIO */
} envmgr_fixture_limits_t;

/* Opens and checks the archive (one streaming pass: headers, sizes, ratios, manifest, digest).
 * limits may be NULL. */
int envmgr_fixture_open(const char *path, const envmgr_fixture_limits_t *limits,
                        envmgr_fixture_t **out, envmgr_error_t *err);
/* The same for a load: digest, and the entries up to the manifest (the first member of a packed
 * archive); envmgr_fixture_load checks the rest while it streams. A refusal found by the load
 * rolls back every table it loaded (SQL scripts that already ran stay run, as on a bad row). */
int envmgr_fixture_open_streamed(const char *path, const envmgr_fixture_limits_t *limits,
                                 envmgr_fixture_t **out, envmgr_error_t *err);
void envmgr_fixture_free(envmgr_fixture_t *fixture);

const char *envmgr_fixture_name(const envmgr_fixture_t *fixture);
const char *envmgr_fixture_version(const envmgr_fixture_t *fixture);
/* SHA-256 (hex) of the archive's bytes: the lifecycle stores it as a label; same digest, skip. */
const char *envmgr_fixture_digest(const envmgr_fixture_t *fixture);

/* What `envtest fixture inspect` prints:
 * {"archive","name","version","digest","steps":[{"type","summary",...}],
 *  "members":[{"path","size","sha256"}]} */
int envmgr_fixture_inspect(envmgr_fixture_t *fixture, json_t **out, envmgr_error_t *err);

/* ---- where the steps go ------------------------------------------------------------------- */
typedef struct envmgr_fixture_service {
    const char *name;         /* compose service name, as the manifest names it */
    const char *base_url;     /* "http://127.0.0.1:49153" for http/documents steps, or NULL */
    const char *container_id; /* for copy steps, or NULL */
    /* A real service instead of the mock (envtest --real): base_url is its URL's origin
     * ("https://host:port"); http steps to the mocks' admin API (/__admin/...) are skipped. */
    bool real;
} envmgr_fixture_service_t;

typedef struct envmgr_fixture_targets {
    struct {
        const char *host; /* NULL: no MySQL; a mysql step then fails */
        unsigned port;
        const char *user;
        const char *password;
        const char *database;
    } mysql;
    const envmgr_fixture_service_t *services;
    size_t n_services;
    envmgr_engine_t *engine; /* for copy steps; may be NULL when there are none */
} envmgr_fixture_targets_t;

typedef struct envmgr_fixture_progress {
    size_t step; /* 0-based */
    size_t n_steps;
    const char *type;   /* "mysql", "http", "documents", "copy" */
    const char *target; /* table, path, collection or container path */
    uint64_t rows;      /* rows (or passages) so far in this target */
    uint64_t bytes;     /* uncompressed bytes read so far in this target */
    double rows_per_s;
    bool done; /* last call for this target */
} envmgr_fixture_progress_t;
/* Called at most ~4 times a second during a long load, and once per target when it is done. */
typedef void (*envmgr_fixture_progress_cb)(void *userdata, const envmgr_fixture_progress_t *p);

/* Runs the steps in order. Each table is swapped in atomically; on any failure the staging tables,
 * a half-filled collection and the tables this load already swapped in are dropped, so the
 * environment holds no partial data; err names archive, member and line. */
int envmgr_fixture_load(envmgr_fixture_t *fixture, const envmgr_fixture_targets_t *targets,
                        envmgr_fixture_progress_cb progress, void *userdata, envmgr_error_t *err);

/* Checks the live environment against the archive: per table COUNT(*) equals the archive's row
 * count and CHECKSUM TABLE equals the one recorded at load; per collection the point count. *out
 * (may be NULL) gets {"ok":bool,"checks":[{"target","expected","actual","ok"}]}. Returns 0 when all
 * match, -1 with ENVMGR_E_ENV naming the first mismatch otherwise. */
int envmgr_fixture_verify(envmgr_fixture_t *fixture, const envmgr_fixture_targets_t *targets,
                          json_t **out, envmgr_error_t *err);

/* Builds a deterministic tar.gz (mtime 0, uid/gid 0) of dir, which must hold a manifest; the
 * manifest is validated and every member it names must exist first. Order: the manifest, the
 * members in the order the steps use them, then the other files sorted, so that a load streams
 * the archive front to back once. */
int envmgr_fixture_pack(const char *dir, const char *out_path, envmgr_error_t *err);

#endif
