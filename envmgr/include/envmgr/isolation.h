/* Per-suite isolated MySQL databases for `envtest run` (the env module).
 *
 * Before each suite attempt the runner asks for a clone of the fixture-loaded database; the suite
 * sees only its clone (through the variables set in env_to_add), so suites that write can run in
 * parallel without seeing each other. After the attempt the clone is dropped (unless kept).
 *
 * Threads: cmd/run.c calls these from libuv worker threads but serialises the calls with a mutex,
 * so an implementation may use the engine handle and one MySQL connection at a time. */
#ifndef ENVMGR_ISOLATION_H
#define ENVMGR_ISOLATION_H

#include <envmgr/compose.h>
#include <envmgr/engine.h>
#include <envmgr/error.h>
#include <envmgr/util.h>

/* Creates a database cloned (schema and data) from the project's MySQL database (the one in
 * ENVTEST_MYSQL_DATABASE of envmgr_env_vars) named after the suite and attempt, e.g.
 * envtest_<suite>_<attempt>_<4 hex> (sanitised, at most 64 characters), and sets in env_to_add the
 * variables that point a suite at it: ENVTEST_MYSQL_DATABASE and DATABASE_URL. *db_name is
 * malloc'ed. When the project has no MySQL service: returns 0 with *db_name NULL and adds nothing.
 */
int envmgr_isolation_clone_db(envmgr_engine_t *engine, const envmgr_project_t *project,
                              const char *suite_name, int attempt, envmgr_kvlist_t *env_to_add,
                              char **db_name, envmgr_error_t *err);

/* Drops a database made by envmgr_isolation_clone_db (a missing one is not an error). */
int envmgr_isolation_drop_db(envmgr_engine_t *engine, const envmgr_project_t *project,
                             const char *db_name, envmgr_error_t *err);

#endif
