/* Each stateful service's state, saved into and restored from state/<service>/:
 *   MySQL        mysql.sql: mysqldump --single-transaction of every non-system database, run in
 *                the container through the exec endpoint; restored by copying it in (PUT archive)
 *                and running the client there.
 *   mock-common  journal.json and faults.json (GET/PUT /__admin/requests, /__admin/faults); the
 *                journal is saved last and restored last, so that the requests envtest itself
 *                makes (scroll, upserts) are the saved journal's, not extra ones.
 *   mock-llm     cassette.json (GET /__admin/cassette) when a cassette was given by PUT.
 *   Qdrant API   collections.json (name and vector parameters) and collection-<n>.jsonl: one line
 *                per scroll page of 256 points with payloads and vectors. */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bundle_internal.h"
#include "dlib.h"
#include <envmgr/http.h>

#define SCROLL_PAGE 256
#define MYSQL_RESTORE_FILE "envtest-restore.sql"

/* The client and dump tools of both MySQL and MariaDB images, as root; the password through
 * MYSQL_PWD (not the command line). */
static const char mysql_dump_script[] =
    "set -e; export MYSQL_PWD=\"${MYSQL_ROOT_PASSWORD:-}\"; "
    "c=$(command -v mariadb || command -v mysql); d=$(command -v mariadb-dump || command -v "
    "mysqldump); "
    "dbs=$(\"$c\" -uroot -N -B -e \"SELECT schema_name FROM information_schema.schemata WHERE "
    "schema_name NOT IN ('mysql','information_schema','performance_schema','sys')\"); "
    "[ -n \"$dbs\" ] || exit 0; "
    "exec \"$d\" -uroot --single-transaction --quick --routines --triggers --events --hex-blob "
    "--databases $dbs";
static const char mysql_restore_script[] =
    "set -e; export MYSQL_PWD=\"${MYSQL_ROOT_PASSWORD:-}\"; "
    "c=$(command -v mariadb || command -v mysql); "
    "\"$c\" -uroot < /tmp/" MYSQL_RESTORE_FILE "; rm -f /tmp/" MYSQL_RESTORE_FILE;

static int mysql_save(envmgr_engine_t *engine, const bun_service_t *svc, const char *sdir,
                      envmgr_error_t *err)
{
    envmgr_cleanup_free char *path = envmgr_xasprintf("%s/mysql.sql", sdir);
    FILE *f = fopen(path, "we");
    if (!f)
        return envmgr_error_errno(err, errno, "create %s", path);
    int r = envmgr_engine_exec_script(engine, svc->container_id, mysql_dump_script, NULL, f, NULL,
                                      "mysqldump", err);
    if (fclose(f) != 0 && r == 0)
        r = envmgr_error_errno(err, errno, "write %s", path);
    return r;
}

/* The dump as a one-file tar (what PUT /containers/{id}/archive takes), written with libarchive. */
static int mysql_restore_tar(const char *sql, const char *tar, envmgr_error_t *err)
{
    if (envmgr_dl_archive(err) < 0)
        return -1;
    envmgr_cleanup_close int in = open(sql, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return envmgr_error_errno(err, errno, "open %s", sql);
    off_t size = lseek(in, 0, SEEK_END);
    lseek(in, 0, SEEK_SET);
    struct archive *a = archive_write_new();
    int r = 0;
    if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
        archive_write_open_filename(a, tar) != ARCHIVE_OK)
        r = envmgr_error_set(err, ENVMGR_E_SYSTEM, 0, "%s: %s", tar, archive_error_string(a));
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, MYSQL_RESTORE_FILE);
    archive_entry_set_size(e, size);
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    if (r == 0 && archive_write_header(a, e) != ARCHIVE_OK)
        r = envmgr_error_set(err, ENVMGR_E_SYSTEM, 0, "%s: %s", tar, archive_error_string(a));
    archive_entry_free(e);
    char buf[65536];
    ssize_t n;
    while (r == 0 && (n = read(in, buf, sizeof(buf))) > 0)
        if (archive_write_data(a, buf, (size_t)n) != n)
            r = envmgr_error_set(err, ENVMGR_E_SYSTEM, 0, "%s: %s", tar, archive_error_string(a));
    if (r == 0 && archive_write_close(a) != ARCHIVE_OK)
        r = envmgr_error_set(err, ENVMGR_E_SYSTEM, 0, "%s: %s", tar, archive_error_string(a));
    archive_write_free(a);
    return r;
}

static int mysql_restore(envmgr_engine_t *engine, const bun_service_t *svc, const char *sdir,
                         envmgr_error_t *err)
{
    envmgr_cleanup_free char *sql = envmgr_xasprintf("%s/mysql.sql", sdir);
    envmgr_cleanup_free char *tar = envmgr_xasprintf("%s/.restore.tar", sdir);
    int r = mysql_restore_tar(sql, tar, err);
    if (r == 0) {
        bun_file_source_t src = {.fd = open(tar, O_RDONLY | O_CLOEXEC), .path = tar};
        if (src.fd < 0)
            r = envmgr_error_errno(err, errno, "open %s", tar);
        else
            r = envmgr_engine_container_put_archive_stream(engine, svc->container_id, "/tmp",
                                                           bun_file_read, &src, err);
        if (src.fd >= 0)
            close(src.fd);
    }
    unlink(tar);
    if (r == 0)
        r = envmgr_engine_exec_script(engine, svc->container_id, mysql_restore_script, NULL, NULL,
                                      NULL, "mysql restore", err);
    return r;
}

/* ---- HTTP services -------------------------------------------------------------------------- */

static char *url(const bun_service_t *svc, const char *path)
{
    return envmgr_xasprintf("%s%s", svc->base_url, path);
}

/* base_url + "/collections/" + escaped name + suffix */
static char *url_name(const bun_service_t *svc, const char *name, const char *suffix)
{
    char *escaped = curl_easy_escape(NULL, name, 0);
    char *u =
        envmgr_xasprintf("%s/collections/%s%s", svc->base_url, escaped ? escaped : "", suffix);
    curl_free(escaped);
    return u;
}

/* GET that answers JSON with 200, else NULL (not this kind of service). Admin probes only. */
static json_t *probe(const bun_service_t *svc, const char *path)
{
    envmgr_cleanup_free char *u = url(svc, path);
    envmgr_buf_t reply = ENVMGR_BUF_INIT;
    long status = 0;
    envmgr_error_t ignored = {0};
    json_t *doc = NULL;
    if (envmgr_http_request("GET", u, NULL, 0, 5000, &reply, &status, &ignored) == 0 &&
        status == 200)
        doc = json_loadb(reply.data ? reply.data : "", reply.len, 0, NULL);
    envmgr_buf_free(&reply);
    return doc;
}

static int save_json(const char *sdir, const char *name, const json_t *doc, envmgr_error_t *err)
{
    envmgr_cleanup_free char *path = envmgr_xasprintf("%s/%s", sdir, name);
    if (json_dump_file(doc, path, JSON_COMPACT) < 0)
        return envmgr_error_set(err, ENVMGR_E_SYSTEM, 0, "cannot write %s", path);
    return 0;
}

static int collections_save(const bun_service_t *svc, const json_t *list, const char *sdir,
                            envmgr_error_t *err)
{
    json_t *out = json_array();
    const json_t *cols = json_object_get(json_object_get(list, "result"), "collections");
    size_t i;
    const json_t *c;
    int r = 0;
    json_array_foreach(cols, i, c)
    {
        const char *name = json_string_value(json_object_get(c, "name"));
        if (!name)
            continue;
        envmgr_cleanup_free char *u = url_name(svc, name, "");
        envmgr_cleanup_json json_t *info = NULL;
        if ((r = bun_http_json("GET", u, NULL, &info, err)) < 0)
            break;
        json_t *vectors = json_object_get(
            json_object_get(json_object_get(json_object_get(info, "result"), "config"), "params"),
            "vectors");
        envmgr_cleanup_free char *file = envmgr_xasprintf("collection-%zu.jsonl", i);
        envmgr_cleanup_free char *path = envmgr_xasprintf("%s/%s", sdir, file);
        FILE *f = fopen(path, "we");
        if (!f) {
            r = envmgr_error_errno(err, errno, "create %s", path);
            break;
        }
        envmgr_cleanup_free char *su = url_name(svc, name, "/points/scroll");
        json_t *offset = json_null();
        size_t points = 0;
        while (r == 0) {
            envmgr_cleanup_json json_t *body =
                json_pack("{s:i,s:b,s:b,s:O}", "limit", SCROLL_PAGE, "with_payload", 1,
                          "with_vector", 1, "offset", offset);
            envmgr_cleanup_json json_t *page = NULL;
            if ((r = bun_http_json("POST", su, body, &page, err)) < 0)
                break;
            json_t *res = json_object_get(page, "result");
            json_t *pts = json_object_get(res, "points");
            if (json_array_size(pts) > 0) {
                json_dumpf(pts, f, JSON_COMPACT);
                fputc('\n', f);
                points += json_array_size(pts);
            }
            json_decref(offset);
            offset = json_incref(json_object_get(res, "next_page_offset"));
            if (!offset || json_is_null(offset))
                break;
        }
        json_decref(offset);
        if (fclose(f) != 0 && r == 0)
            r = envmgr_error_errno(err, errno, "write %s", path);
        if (r < 0)
            break;
        json_array_append_new(out, json_pack("{s:s,s:O,s:s,s:I}", "name", name, "vectors",
                                             vectors ? vectors : json_null(), "file", file,
                                             "points", (json_int_t)points));
    }
    if (r == 0)
        r = save_json(sdir, "collections.json", out, err);
    json_decref(out);
    return r;
}

static int collections_restore(const bun_service_t *svc, const char *sdir, envmgr_error_t *err)
{
    envmgr_cleanup_free char *path = envmgr_xasprintf("%s/collections.json", sdir);
    envmgr_cleanup_json json_t *list = bun_read_json(path, err);
    if (!list)
        return -1;
    size_t i;
    json_t *c;
    json_array_foreach(list, i, c)
    {
        const char *name = json_string_value(json_object_get(c, "name"));
        const char *file = json_string_value(json_object_get(c, "file"));
        if (!name || !file || strchr(file, '/'))
            return envmgr_error_set(err, ENVMGR_E_CONFIG, 0, "%s: entry %zu: name and file", path,
                                    i);
        envmgr_cleanup_free char *u = url_name(svc, name, "");
        envmgr_cleanup_json json_t *create =
            json_pack("{s:O}", "vectors", json_object_get(c, "vectors"));
        if (bun_http_json("PUT", u, create, NULL, err) < 0)
            return -1;
        envmgr_cleanup_free char *pu = url_name(svc, name, "/points?wait=true");
        envmgr_cleanup_free char *lines = envmgr_xasprintf("%s/%s", sdir, file);
        FILE *f = fopen(lines, "re");
        if (!f)
            return envmgr_error_errno(err, errno, "open %s", lines);
        char *line = NULL;
        size_t cap = 0;
        ssize_t n;
        int r = 0;
        size_t lineno = 0;
        while (r == 0 && (n = getline(&line, &cap, f)) > 0) {
            lineno++;
            json_error_t je;
            json_t *pts = json_loadb(line, (size_t)n, 0, &je);
            if (!json_is_array(pts)) {
                json_decref(pts);
                r = envmgr_error_set(err, ENVMGR_E_CONFIG, 0, "%s:%zu: not a list of points", lines,
                                     lineno);
                break;
            }
            envmgr_cleanup_json json_t *body = json_pack("{s:o}", "points", pts);
            r = bun_http_json("PUT", pu, body, NULL, err);
        }
        free(line);
        fclose(f);
        if (r < 0)
            return -1;
    }
    return 0;
}

int bun_state_save(envmgr_engine_t *engine, const bun_service_t *svc, const char *dir,
                   json_t *kinds, envmgr_error_t *err)
{
    envmgr_cleanup_free char *sdir = envmgr_xasprintf("%s/state/%s", dir, svc->name);
    if (envmgr_mkdir_p(sdir, 0755, err) < 0)
        return -1;
    if (svc->mysql) {
        json_array_append_new(kinds, json_string("mysql"));
        return mysql_save(engine, svc, sdir, err) < 0
                   ? envmgr_error_wrap(err, "service %s: MySQL dump", svc->name)
                   : 0;
    }
    if (!svc->base_url)
        return 0;
    envmgr_cleanup_json json_t *journal_probe = probe(svc, "/__admin/requests?limit=0");
    bool mock = json_is_array(json_object_get(journal_probe, "requests"));
    int r = 0;
    bool llm = false;
    if (mock) {
        envmgr_cleanup_json json_t *cassette = probe(svc, "/__admin/cassette");
        if ((llm = json_is_string(json_object_get(cassette, "source")))) {
            json_array_append_new(kinds, json_string("cassette"));
            r = save_json(sdir, "cassette.json", cassette, err);
        }
        envmgr_cleanup_json json_t *faults = probe(svc, "/__admin/faults");
        if (r == 0 && faults) {
            json_array_append_new(kinds, json_string("faults"));
            r = save_json(sdir, "faults.json", faults, err);
        }
    }
    /* A Qdrant-compatible API (mock-vector) answers /collections. Not asked of mock-llm: the
     * request would go into the journal, which the bundle must save as the tests left it. */
    envmgr_cleanup_json json_t *cols = r == 0 && !llm ? probe(svc, "/collections") : NULL;
    if (r == 0 && json_is_array(json_object_get(json_object_get(cols, "result"), "collections"))) {
        json_array_append_new(kinds, json_string("collections"));
        r = collections_save(svc, cols, sdir, err);
    }
    if (r == 0 && mock) { /* last: after every request envtest made */
        envmgr_cleanup_json json_t *journal = probe(svc, "/__admin/requests");
        if (!journal)
            r = envmgr_error_set(err, ENVMGR_E_ENV, 0, "GET %s/__admin/requests failed",
                                 svc->base_url);
        else {
            json_array_append_new(kinds, json_string("journal"));
            r = save_json(sdir, "journal.json", journal, err);
        }
    }
    return r < 0 ? envmgr_error_wrap(err, "service %s: state", svc->name) : 0;
}

static bool has_kind(const json_t *kinds, const char *kind)
{
    size_t i;
    const json_t *k;
    json_array_foreach(kinds, i, k) if (strcmp(json_string_value(k), kind) == 0) return true;
    return false;
}

static int put_file(const bun_service_t *svc, const char *sdir, const char *file, const char *path,
                    const char *member, envmgr_error_t *err)
{
    envmgr_cleanup_free char *p = envmgr_xasprintf("%s/%s", sdir, file);
    envmgr_cleanup_json json_t *doc = bun_read_json(p, err);
    if (!doc)
        return -1;
    json_t *body = member ? json_object_get(doc, member) : doc;
    envmgr_cleanup_free char *u = url(svc, path);
    return bun_http_json("PUT", u, body, NULL, err);
}

int bun_state_restore(envmgr_engine_t *engine, const bun_service_t *svc, const char *dir,
                      const json_t *kinds, envmgr_error_t *err)
{
    envmgr_cleanup_free char *sdir = envmgr_xasprintf("%s/state/%s", dir, svc->name);
    int r = 0;
    if (has_kind(kinds, "mysql"))
        r = mysql_restore(engine, svc, sdir, err);
    bool http = has_kind(kinds, "cassette") || has_kind(kinds, "faults") ||
                has_kind(kinds, "collections") || has_kind(kinds, "journal");
    if (r == 0 && http && !svc->base_url)
        r = envmgr_error_set(err, ENVMGR_E_ENV, 0, "no published port to restore its state");
    if (r == 0 && has_kind(kinds, "cassette")) {
        envmgr_cleanup_free char *p = envmgr_xasprintf("%s/cassette.json", sdir);
        envmgr_cleanup_json json_t *doc = bun_read_json(p, err);
        if (!doc)
            r = -1;
        else if (json_object_get(doc, "cassette")) /* else the start-up one: nothing to do */
            r = put_file(svc, sdir, "cassette.json", "/__admin/cassette", "cassette", err);
    }
    if (r == 0 && has_kind(kinds, "collections"))
        r = collections_restore(svc, sdir, err);
    if (r == 0 && has_kind(kinds, "faults"))
        r = put_file(svc, sdir, "faults.json", "/__admin/faults", NULL, err);
    if (r == 0 && has_kind(kinds, "journal"))
        r = put_file(svc, sdir, "journal.json", "/__admin/requests", NULL, err);
    return r < 0 ? envmgr_error_wrap(err, "service %s: restore state", svc->name) : 0;
}
