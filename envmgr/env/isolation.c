/* Per-suite databases: CREATE DATABASE + CREATE TABLE ... LIKE + INSERT ... SELECT for every base
 * table of the fixture-loaded database, as root, then the application user is granted the clone. */
#include <envmgr/isolation.h>

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "dlib.h"
#include <envmgr/env.h>
#include <envmgr/log.h>

struct mysql_admin {
    MYSQL *conn;
    char *base_db;
    char *user;     /* the application user (MYSQL_USER), or NULL */
    char *password; /* its password */
    char *host;     /* where envtest reaches the server */
    unsigned port;
};

static void admin_close(struct mysql_admin *a)
{
    if (a->conn)
        mysql_close(a->conn);
    free(a->base_db);
    free(a->user);
    free(a->password);
    free(a->host);
    memset(a, 0, sizeof(*a));
}

static int mysql_fail(struct mysql_admin *a, envmgr_error_t *err, const char *what)
{
    return envmgr_error_set(err, ENVMGR_E_ENV, (int)mysql_errno(a->conn), "%s: %s", what,
                            mysql_error(a->conn));
}

/* Connects as root to the project's database service (the state's mysql); the application user
 * and its password come from the same state. 1 (and nothing open) when there is no database. */
static int admin_open(const envmgr_env_state_t *state, struct mysql_admin *a, envmgr_error_t *err)
{
    memset(a, 0, sizeof(*a));
    const envmgr_db_credentials_t *db = state->mysql ? state->mysql->db : NULL;
    if (!db)
        return 1;
    a->user = strcmp(db->user, "root") != 0 ? envmgr_xstrdup(db->user) : NULL;
    a->password = envmgr_xstrdup(db->password);
    a->base_db = envmgr_xstrdup(db->database);
    a->host = envmgr_xstrdup(db->host);
    a->port = (unsigned)db->port;
    if (envmgr_dl_mysql(err) < 0)
        return -1;
    a->conn = mysql_init(NULL);
    unsigned timeout = 10;
    mysql_options(a->conn, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
    mysql_options(a->conn, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    if (!mysql_real_connect(a->conn, a->host, "root", db->root_password, NULL, a->port, NULL, 0)) {
        int ret = mysql_fail(a, err, "connect to MySQL as root");
        admin_close(a);
        return ret;
    }
    return 0;
}

static char *clone_name(const char *suite, int attempt)
{
    char hex[5];
    envmgr_error_t ignored = {0};
    if (envmgr_random_token(hex, 4, &ignored) < 0)
        strcpy(hex, "0000");
    for (char *p = hex; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    char *name = envmgr_xasprintf("envtest_%.40s_%d_%s", suite, attempt, hex);
    for (char *p = name; *p; p++)
        *p = isalnum((unsigned char)*p) ? (char)tolower((unsigned char)*p) : '_';
    return name;
}

static int exec_sql(struct mysql_admin *a, const char *sql, envmgr_error_t *err)
{
    if (mysql_query(a->conn, sql) != 0)
        return mysql_fail(a, err, sql);
    MYSQL_RES *res = mysql_store_result(a->conn);
    mysql_free_result(res);
    return 0;
}

static int copy_tables(struct mysql_admin *a, const char *clone, envmgr_error_t *err)
{
    envmgr_cleanup_free char *list_sql = envmgr_xasprintf(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = '%s' AND "
        "table_type = 'BASE TABLE' ORDER BY table_name",
        a->base_db);
    if (mysql_query(a->conn, list_sql) != 0)
        return mysql_fail(a, err, "list tables");
    MYSQL_RES *res = mysql_store_result(a->conn);
    envmgr_strv_t tables = {0};
    MYSQL_ROW row;
    while (res && (row = mysql_fetch_row(res)))
        envmgr_strv_push(&tables, row[0]);
    mysql_free_result(res);
    int ret = 0;
    for (size_t i = 0; i < tables.n && ret == 0; i++) {
        envmgr_cleanup_free char *create =
            envmgr_xasprintf("CREATE TABLE `%s`.`%s` LIKE `%s`.`%s`", clone, tables.items[i],
                             a->base_db, tables.items[i]);
        envmgr_cleanup_free char *copy =
            envmgr_xasprintf("INSERT INTO `%s`.`%s` SELECT * FROM `%s`.`%s`", clone,
                             tables.items[i], a->base_db, tables.items[i]);
        ret = exec_sql(a, create, err);
        if (ret == 0)
            ret = exec_sql(a, copy, err);
    }
    envmgr_strv_free(&tables);
    return ret;
}

static bool identifier_ok(const char *s)
{
    for (; *s; s++)
        if (*s == '`' || *s == '\'' || *s == '\\')
            return false;
    return true;
}

/* DATABASE_URL and the database variables of the state, pointed at the clone. */
static void clone_vars(const envmgr_env_state_t *state, const char *clone, const char *base_db,
                       envmgr_kvlist_t *env_to_add)
{
    envmgr_kvlist_t vars = {0};
    envmgr_error_t ignored = {0};
    envmgr_env_state_vars(state, NULL, &vars, &ignored);
    const envmgr_kv_t *url = envmgr_kvlist_find(&vars, "DATABASE_URL");
    if (url && url->value) {
        const char *slash = strrchr(url->value, '/');
        envmgr_cleanup_free char *clone_url =
            envmgr_xasprintf("%.*s/%s", (int)(slash - url->value), url->value, clone);
        envmgr_kvlist_set(env_to_add, "DATABASE_URL", clone_url);
    }
    envmgr_kvlist_free(&vars);
    envmgr_kvlist_set(env_to_add, "ENVTEST_MYSQL_DATABASE", clone);
    envmgr_kvlist_set(env_to_add, "ENVTEST_MYSQL_BASE_DATABASE", base_db);
}

static int make_clone(struct mysql_admin *a, const char *clone, envmgr_error_t *err)
{
    envmgr_cleanup_free char *create = envmgr_xasprintf(
        "CREATE DATABASE `%s` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci", clone);
    int ret = exec_sql(a, create, err);
    if (ret == 0)
        ret = copy_tables(a, clone, err);
    if (ret == 0 && a->user) {
        envmgr_cleanup_free char *grant =
            envmgr_xasprintf("GRANT ALL PRIVILEGES ON `%s`.* TO '%s'@'%%'", clone, a->user);
        ret = exec_sql(a, grant, err);
    }
    if (ret < 0) {
        envmgr_cleanup_free char *drop = envmgr_xasprintf("DROP DATABASE IF EXISTS `%s`", clone);
        envmgr_error_t ignored = {0};
        exec_sql(a, drop, &ignored);
    }
    return ret;
}

int envmgr_isolation_clone_db(envmgr_engine_t *engine, const envmgr_project_t *project,
                              const char *suite_name, int attempt, envmgr_kvlist_t *env_to_add,
                              char **db_name, envmgr_error_t *err)
{
    *db_name = NULL;
    envmgr_env_state_t state;
    struct mysql_admin a;
    if (envmgr_env_inspect(engine, project, &state, err) < 0)
        return envmgr_error_wrap(err, "isolated database for suite %s", suite_name);
    int r = envmgr_env_state_up(&state)
                ? admin_open(&state, &a, err)
                : envmgr_error_set(err, ENVMGR_E_ENV, 0, "project %s is not up", project->name);
    if (r != 0) {
        envmgr_env_state_free(&state);
        return r < 0 ? envmgr_error_wrap(err, "isolated database for suite %s", suite_name) : 0;
    }
    if (!identifier_ok(a.base_db) || (a.user && !identifier_ok(a.user))) {
        admin_close(&a);
        envmgr_env_state_free(&state);
        return envmgr_error_set(err, ENVMGR_E_CONFIG, 0,
                                "isolated database: MYSQL_DATABASE/MYSQL_USER contain quotes");
    }
    char *clone = clone_name(suite_name, attempt);
    if (make_clone(&a, clone, err) < 0) {
        free(clone);
        admin_close(&a);
        envmgr_env_state_free(&state);
        return envmgr_error_wrap(err, "isolated database for suite %s", suite_name);
    }
    clone_vars(&state, clone, a.base_db, env_to_add);
    envmgr_debug("suite %s attempt %d: isolated database %s", suite_name, attempt, clone);
    *db_name = clone;
    admin_close(&a);
    envmgr_env_state_free(&state);
    return 0;
}

int envmgr_isolation_drop_db(envmgr_engine_t *engine, const envmgr_project_t *project,
                             const char *db_name, envmgr_error_t *err)
{
    if (!identifier_ok(db_name) || strncmp(db_name, "envtest_", 8) != 0)
        return envmgr_error_set(err, ENVMGR_E_USAGE, 0,
                                "refusing to drop '%s': not an isolated suite database", db_name);
    envmgr_env_state_t state;
    if (envmgr_env_inspect(engine, project, &state, err) < 0)
        return -1;
    struct mysql_admin a;
    int r = admin_open(&state, &a, err);
    envmgr_env_state_free(&state);
    if (r != 0)
        return r < 0 ? -1 : 0;
    envmgr_cleanup_free char *drop = envmgr_xasprintf("DROP DATABASE IF EXISTS `%s`", db_name);
    int ret = exec_sql(&a, drop, err);
    admin_close(&a);
    return ret;
}
