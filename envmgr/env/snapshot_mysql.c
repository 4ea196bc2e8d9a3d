/* The MySQL service's snapshot: its data folder as a tar, taken in the container and unpacked in
 * the next container before the server starts.
 *
 * Save (after the fixtures loaded): with FLUSH TABLES WITH READ LOCK held and InnoDB's dirty pages
 * flushed to none (innodb_max_dirty_pages_pct 0 for the while, its value put back after), `tar
 * --sparse` of the data folder runs through the client's `system` command (the lock lives as long
 * as that session) and streams out of the exec's stdout into <key>/datadir.tar
 * as it is (ibtmp1, the temporary tablespace, left out: the server makes it at start).
 *
 * Restore: the new container is created with its entrypoint wrapped (see wrapper below) and the
 * snapshot's datadir.tar bind-mounted read-only at SNAP_BIND_TARGET; init.sql (the new project's
 * passwords for the accounts that used the old ones) is put into /run/envtest-snapshot before it
 * starts. The wrapper unpacks the tar into the data folder (a tmpfs is mounted only at start: no
 * engine call can write into it before), hands --init-file=init.sql to the server, and execs the
 * image's own entrypoint, which finds the data initialized. If unpacking fails it empties the data
 * folder and says so in status: the image initializes it as usual, and `up` loads the fixtures.
 * Measured against the alternatives (issue 16): `docker commit` misses volumes and tmpfs; a volume
 * copy needs a helper container per up (about a second of engine work on this machine); streaming
 * the tar through PUT /containers/{id}/archive writes it into the container's layer and then into
 * the tmpfs (two copies of 570 MB for the 1,000,000-row fixture); the bind mount reads it once from
 * the page cache. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "snapshot_internal.h"

static const char client_preamble[] =
    "set -e; export MYSQL_PWD=\"${MYSQL_ROOT_PASSWORD:-${MARIADB_ROOT_PASSWORD:-}}\"; "
    "c=$(command -v mariadb || command -v mysql); ";

/* Which accounts' password is a generated secret: "<i>\t<user>\t<host>" lines. The values come as
 * hex in the exec's environment, never on a command line. */
static const char accounts_script[] =
    "i=0; while :; do eval \"h=\\${ENVTEST_SNAPSHOT_HEX_$i:-}\"; [ -n \"$h\" ] || break; "
    "\"$c\" -uroot -N -B -e \"SELECT $i, User, Host FROM mysql.user WHERE authentication_string "
    "= PASSWORD(UNHEX('$h'))\"; i=$((i + 1)); done";

/* What the restored server must show: the fixtures' bookkeeping digests. */
#define CHECK_QUERY                                                                                \
    "\"$c\" -uroot -h127.0.0.1 --protocol=tcp -N -B -e \"SELECT COALESCE(GROUP_CONCAT(DISTINCT "   \
    "digest ORDER BY digest), '') FROM \\`${MYSQL_DATABASE:-${MARIADB_DATABASE:-mysql}}\\`."       \
    "_envtest_fixture\" 2>&1 || echo none"

static const char tar_script[] =
    "rm -f /tmp/envtest-snapshot.ok; "
    "cat >/tmp/envtest-snapshot.sh <<'EOF'\n"
    "n=0\n"
    "while [ \"$(\"$c\" -uroot -N -B -e \"SELECT VARIABLE_VALUE FROM "
    "information_schema.GLOBAL_STATUS "
    "WHERE VARIABLE_NAME = 'INNODB_BUFFER_POOL_PAGES_DIRTY'\")\" != 0 ]; do\n"
    "  n=$((n + 1)); [ $n -lt 600 ] || { echo 'InnoDB still has dirty pages after 60 s' >&2; exit "
    "1; }\n"
    "  sleep 0.1\n"
    "done\n"
    "tar --sparse --exclude=./ibtmp1 -c -C " SNAP_DATADIR " . && : >/tmp/envtest-snapshot.ok\n"
    "EOF\n"
    "export c; \"$c\" -uroot -N -B -e \"SET @p = @@GLOBAL.innodb_max_dirty_pages_pct; SET GLOBAL "
    "innodb_max_dirty_pages_pct = 0; FLUSH TABLES WITH READ LOCK; system sh "
    "/tmp/envtest-snapshot.sh; UNLOCK TABLES; SET GLOBAL innodb_max_dirty_pages_pct = @p\"; "
    "rm -f /tmp/envtest-snapshot.sh; "
    "[ -f /tmp/envtest-snapshot.ok ] || { echo 'tar of the data folder failed' >&2; exit 1; }; "
    "rm -f /tmp/envtest-snapshot.ok";

#define UNPACK_FAILED "envtest: the snapshot could not be unpacked: "

/* The restored container's entrypoint: sh -c WRAPPER envtest-snapshot <entrypoint...> <cmd...>.
 * The data comes read-only from the snapshot's file, bind-mounted at SNAP_BIND_TARGET. */
static const char wrapper_script[] =
    "s=" SNAP_RUN_DIR " d=" SNAP_DATADIR " t=" SNAP_BIND_TARGET "; "
    "if [ -f \"$t\" ] && [ ! -d \"$d/mysql\" ]; then "
    "mkdir -p \"$s\" \"$d\"; "
    "if tar -x -f \"$t\" -C \"$d\" 2>\"$s/error\"; then "
    "echo ok >\"$s/status\"; "
    "if [ -f \"$s/init.sql\" ]; then "
    "exec 9<\"$s/init.sql\"; chown mysql:mysql \"$s/init.sql\"; rm -f \"$s/init.sql\"; "
    "set -- \"$@\" --init-file=/dev/fd/9; "
    "fi; "
    "else "
    "find \"$d\" -mindepth 1 -delete; echo failed >\"$s/status\"; "
    "echo \"" UNPACK_FAILED "$(head -c 300 \"$s/error\")\" >&2; "
    "fi; "
    "fi; "
    "exec \"$@\"";

static char *hex(const char *s)
{
    envmgr_buf_t b = ENVMGR_BUF_INIT;
    envmgr_buf_adds(&b, "");
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        envmgr_buf_addf(&b, "%02x", *p);
    return envmgr_buf_detach(&b);
}

static int save_accounts(envmgr_engine_t *engine, const char *id, const envmgr_project_t *project,
                         json_t *meta, envmgr_error_t *err)
{
    const envmgr_kvlist_t *secrets = &project->secret_values;
    char **env = envmgr_xcalloc(secrets->n + 1, sizeof(char *)); /* NULL-terminated */
    for (size_t i = 0; i < secrets->n; i++) {
        envmgr_cleanup_free char *h = hex(secrets->items[i].value ? secrets->items[i].value : "");
        env[i] = envmgr_xasprintf("ENVTEST_SNAPSHOT_HEX_%zu=%s", i, h);
    }
    envmgr_cleanup_free char *script = envmgr_xasprintf("%s%s", client_preamble, accounts_script);
    envmgr_cleanup_free char *out = NULL;
    int r = envmgr_engine_exec_script(engine, id, script, (const char *const *)env, NULL, &out,
                                      "reading the accounts", err);
    for (size_t i = 0; i < secrets->n; i++)
        free(env[i]);
    free(env);
    if (r < 0)
        return -1;
    json_t *accounts = json_array();
    for (char *line = out, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        char *user = strchr(line, '\t');
        char *host = user ? strchr(user + 1, '\t') : NULL;
        if (!host)
            continue;
        *user++ = '\0';
        *host++ = '\0';
        size_t i = strtoul(line, NULL, 10);
        if (i < secrets->n)
            json_array_append_new(accounts, json_pack("{s:s,s:s,s:s}", "user", user, "host", host,
                                                      "secret", secrets->items[i].key));
    }
    json_object_set_new(meta, "accounts", accounts);
    return 0;
}

int snap_mysql_save(envmgr_engine_t *engine, const char *container_id,
                    const envmgr_project_t *project, const char *const *digests, size_t n_digests,
                    const char *key, json_t *meta, envmgr_error_t *err)
{
    (void)digests, (void)n_digests;
    if (save_accounts(engine, container_id, project, meta, err) < 0)
        return -1;
    envmgr_cleanup_free char *check_script = envmgr_xasprintf("%s%s", client_preamble, CHECK_QUERY);
    envmgr_cleanup_free char *check = NULL;
    if (envmgr_engine_exec_script(engine, container_id, check_script, NULL, NULL, &check,
                                  "reading the fixtures", err) < 0)
        return -1;
    json_object_set_new(meta, "check", json_string(check));

    envmgr_cleanup_free char *state = snap_path(key, SNAP_STATE_FILE);
    FILE *f = fopen(state, "we");
    if (!f)
        return envmgr_error_errno(err, errno, "create %s", state);
    envmgr_cleanup_free char *script = envmgr_xasprintf("%s%s", client_preamble, tar_script);
    int r = envmgr_engine_exec_script(engine, container_id, script, NULL, f, NULL,
                                      "tar of " SNAP_DATADIR, err);
    if (fclose(f) != 0 && r == 0)
        r = envmgr_error_errno(err, errno, "write %s", state);
    struct stat st;
    if (r == 0 && stat(state, &st) < 0)
        r = envmgr_error_errno(err, errno, "stat %s", state);
    if (r == 0)
        json_object_set_new(meta, "size", json_integer((json_int_t)st.st_size));
    return r;
}

void snap_mysql_wrap_config(const envmgr_service_t *s, const json_t *image_config,
                            const char *state_path, json_t *config)
{
    json_t *host = json_object_get(config, "HostConfig");
    json_t *mounts = json_object_get(host, "Mounts");
    if (!json_is_array(mounts)) {
        mounts = json_array();
        json_object_set_new(host, "Mounts", mounts);
    }
    json_array_append_new(mounts, json_pack("{s:s,s:s,s:s,s:b}", "Type", "bind", "Source",
                                            state_path, "Target", SNAP_BIND_TARGET, "ReadOnly", 1));
    json_t *entrypoint =
        json_pack("[s,s,s,s]", "/bin/sh", "-c", wrapper_script, "envtest-snapshot");
    if (s->has_entrypoint) {
        for (size_t i = 0; i < s->entrypoint.n; i++)
            json_array_append_new(entrypoint, json_string(s->entrypoint.items[i]));
    } else {
        json_array_extend(entrypoint, json_object_get(image_config, "Entrypoint"));
    }
    json_object_set_new(config, "Entrypoint", entrypoint);
    if (!s->has_command) {
        json_t *cmd = json_object_get(image_config, "Cmd");
        json_object_set_new(config, "Cmd", json_is_array(cmd) ? json_deep_copy(cmd) : json_array());
    }
}

static void sql_quoted(envmgr_buf_t *b, const char *s)
{
    envmgr_buf_adds(b, "'");
    for (; *s; s++) {
        if (*s == '\'' || *s == '\\')
            envmgr_buf_add(b, "\\", 1);
        if (*s == '\n')
            envmgr_buf_adds(b, "\\n");
        else
            envmgr_buf_add(b, s, 1);
    }
    envmgr_buf_adds(b, "'");
}

int snap_mysql_put(envmgr_engine_t *engine, const char *container_id,
                   const envmgr_project_t *project, const json_t *meta, envmgr_error_t *err)
{
    /* one statement a line: the server reads an init file line by line */
    envmgr_buf_t sql = ENVMGR_BUF_INIT;
    envmgr_buf_adds(&sql, "SET SESSION sql_log_bin = 0;\n");
    size_t i;
    json_t *a;
    json_array_foreach(json_object_get(meta, "accounts"), i, a)
    {
        const char *name = json_string_value(json_object_get(a, "secret"));
        const envmgr_kv_t *kv = name ? envmgr_kvlist_find(&project->secret_values, name) : NULL;
        if (!kv || !kv->value)
            continue;
        envmgr_buf_adds(&sql, "ALTER USER ");
        sql_quoted(&sql, json_string_value(json_object_get(a, "user")) ?: "");
        envmgr_buf_adds(&sql, "@");
        sql_quoted(&sql, json_string_value(json_object_get(a, "host")) ?: "");
        envmgr_buf_adds(&sql, " IDENTIFIED BY ");
        sql_quoted(&sql, kv->value);
        envmgr_buf_adds(&sql, ";\n");
    }
    if (!strstr(sql.data, "ALTER USER")) { /* no account takes a new password */
        envmgr_buf_free(&sql);
        return 0;
    }
    envmgr_buf_adds(&sql, "FLUSH PRIVILEGES;\n");
    envmgr_engine_file_t file = {
        .member = "envtest-snapshot/init.sql", .data = sql.data, .len = sql.len, .mode = 0600};
    int r = envmgr_engine_container_put_file(engine, container_id, "/run", &file, err);
    memset(sql.data, 0, sql.len); /* passwords */
    envmgr_buf_free(&sql);
    return r;
}

static int logs_cb(void *userdata, enum envmgr_stream stream, const char *data, size_t len)
{
    envmgr_buf_t *b = userdata;
    if (stream == ENVMGR_STREAM_STDERR && b->len < 1 << 20)
        envmgr_buf_add(b, data, len);
    return 0;
}

int snap_mysql_unpacked(envmgr_engine_t *engine, const char *container_id, char **why,
                        envmgr_error_t *err)
{
    *why = NULL;
    envmgr_buf_t logs = ENVMGR_BUF_INIT;
    envmgr_buf_adds(&logs, "");
    if (envmgr_engine_container_logs(engine, container_id, -1, false, false, logs_cb, &logs, err) <
        0) {
        envmgr_buf_free(&logs);
        return -1;
    }
    const char *hit = strstr(logs.data, UNPACK_FAILED);
    if (hit)
        *why = envmgr_xasprintf("%.*s", (int)strcspn(hit + strlen(UNPACK_FAILED), "\n"),
                                hit + strlen(UNPACK_FAILED));
    envmgr_buf_free(&logs);
    return hit ? 0 : 1;
}

int snap_mysql_check(envmgr_engine_t *engine, const char *container_id, const char *const *digests,
                     size_t n_digests, const json_t *meta, char **why, envmgr_error_t *err)
{
    (void)digests, (void)n_digests;
    *why = NULL;
    envmgr_cleanup_free char *script = envmgr_xasprintf(
        "s=" SNAP_RUN_DIR "; st=$(cat \"$s/status\" 2>/dev/null || echo missing); "
        "if [ \"$st\" != ok ]; then echo \"$st: $(head -c 300 \"$s/error\" 2>/dev/null)\"; exit 0; "
        "fi; rm -f \"$s/init.sql\" \"$s/error\"; %secho \"check $(%s)\"",
        client_preamble, CHECK_QUERY);
    envmgr_cleanup_free char *out = NULL;
    if (envmgr_engine_exec_script(engine, container_id, script, NULL, NULL, &out,
                                  "checking the restored data", err) < 0)
        return -1;
    size_t len = strlen(out);
    while (len && out[len - 1] == '\n')
        out[--len] = '\0';
    if (strncmp(out, "check ", 6) != 0) {
        for (char *p = out; *p; p++)
            if (*p == '\n')
                *p = ' ';
        *why = envmgr_xstrdup(out);
        return 0;
    }
    const char *want = json_string_value(json_object_get(meta, "check")) ?: "";
    envmgr_cleanup_free char *want_trimmed = envmgr_xstrdup(want);
    size_t wl = strlen(want_trimmed);
    while (wl && want_trimmed[wl - 1] == '\n')
        want_trimmed[--wl] = '\0';
    if (strcmp(out + 6, want_trimmed) != 0)
        return envmgr_error_set(err, ENVMGR_E_ENV, 0,
                                "the restored server does not hold the snapshot's fixtures "
                                "(expected %.200s, got %.300s)",
                                want_trimmed, out + 6);
    return 1;
}
