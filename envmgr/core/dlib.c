/* Loading libarchive, the MySQL client and SQLite on first use: see dlib.h. */
#define ENVMGR_DLIB_IMPLEMENTATION
#include "dlib.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int envmgr_dl_open(const char *soname, const char *debian_package, const char *const *names,
                   void **slots, size_t n, envmgr_error_t *err)
{
    void *handle = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        envmgr_error_set(err, ENVMGR_E_ENV, 0, "cannot load %s: %s", soname, dlerror());
        return envmgr_error_hint(err, "install it (Debian: apt-get install %s) or run ci/setup.sh",
                                 debian_package);
    }
    for (size_t i = 0; i < n; i++) {
        dlerror();
        slots[i] = dlsym(handle, names[i]);
        if (!slots[i]) {
            envmgr_error_set(err, ENVMGR_E_ENV, 0, "%s has no %s: %s", soname, names[i], dlerror());
            dlclose(handle);
            return envmgr_error_hint(
                err, "envtest was built against another version of it: rebuild envtest");
        }
    }
    return 0; /* never closed: the functions stay in use until exit, as a linked library's would */
}

#if ENVMGR_DLOPEN

typedef struct dl_library {
    const char *soname;         /* from the build: the library envtest was compiled against */
    const char *debian_package; /* what to install when it is missing */
    pthread_once_t once;
    envmgr_error_t error; /* why loading failed, for every later caller */
    int result;
} dl_library_t;

static dl_library_t archive_lib = {.soname = ENVMGR_LIBARCHIVE_SONAME,
                                   .debian_package = "libarchive13",
                                   .once = PTHREAD_ONCE_INIT};
static dl_library_t mysql_lib = {
    .soname = ENVMGR_LIBMYSQL_SONAME, .debian_package = "libmariadb3", .once = PTHREAD_ONCE_INIT};
static dl_library_t sqlite_lib = {
    .soname = ENVMGR_LIBSQLITE_SONAME, .debian_package = "libsqlite3-0", .once = PTHREAD_ONCE_INIT};
static envmgr_dl_archive_api_t archive_api;
static envmgr_dl_mysql_api_t mysql_api;
static envmgr_dl_sqlite_api_t sqlite_api;

static void dl_load(dl_library_t *lib, const char *const *names, void **slots, size_t n)
{
    lib->result = envmgr_dl_open(lib->soname, lib->debian_package, names, slots, n, &lib->error);
}

#define DL_NAME(name) #name,
static const char *const archive_names[] = {ENVMGR_DL_ARCHIVE_SYMBOLS(DL_NAME)};
static const char *const mysql_names[] = {ENVMGR_DL_MYSQL_SYMBOLS(DL_NAME)};
static const char *const sqlite_names[] = {ENVMGR_DL_SQLITE_SYMBOLS(DL_NAME)};
#define DL_COUNT(names) (sizeof(names) / sizeof(names[0]))

/* The structs hold nothing but function pointers, in the order of the name lists. */
_Static_assert(sizeof(archive_api) == DL_COUNT(archive_names) * sizeof(void *), "archive_api");
_Static_assert(sizeof(mysql_api) == DL_COUNT(mysql_names) * sizeof(void *), "mysql_api");
_Static_assert(sizeof(sqlite_api) == DL_COUNT(sqlite_names) * sizeof(void *), "sqlite_api");

static void archive_once(void)
{
    dl_load(&archive_lib, archive_names, (void **)&archive_api, DL_COUNT(archive_names));
}

static void mysql_once(void)
{
    dl_load(&mysql_lib, mysql_names, (void **)&mysql_api, DL_COUNT(mysql_names));
}

static void sqlite_once(void)
{
    dl_load(&sqlite_lib, sqlite_names, (void **)&sqlite_api, DL_COUNT(sqlite_names));
}

static int dl_result(dl_library_t *lib, envmgr_error_t *err)
{
    if (lib->result == 0)
        return 0;
    if (err)
        *err = lib->error;
    return -1;
}

int envmgr_dl_archive(envmgr_error_t *err)
{
    pthread_once(&archive_lib.once, archive_once);
    return dl_result(&archive_lib, err);
}

int envmgr_dl_mysql(envmgr_error_t *err)
{
    pthread_once(&mysql_lib.once, mysql_once);
    return dl_result(&mysql_lib, err);
}

/* Like an assertion: reached only through a missing envmgr_dl_*() check, so it says why and stops
 * (the one place envmgr prints). */
int envmgr_dl_sqlite(envmgr_error_t *err)
{
    pthread_once(&sqlite_lib.once, sqlite_once);
    return dl_result(&sqlite_lib, err);
}

static void dl_die(const dl_library_t *lib)
{
    fprintf(stderr, "envtest: %s (%s)\n", lib->error.message, lib->error.hint);
    abort();
}

const envmgr_dl_archive_api_t *envmgr_dl_archive_api(void)
{
    if (envmgr_dl_archive(NULL) < 0)
        dl_die(&archive_lib);
    return &archive_api;
}

const envmgr_dl_mysql_api_t *envmgr_dl_mysql_api(void)
{
    if (envmgr_dl_mysql(NULL) < 0)
        dl_die(&mysql_lib);
    return &mysql_api;
}

const envmgr_dl_sqlite_api_t *envmgr_dl_sqlite_api(void)
{
    if (envmgr_dl_sqlite(NULL) < 0)
        dl_die(&sqlite_lib);
    return &sqlite_api;
}

#else /* linked as usual */

int envmgr_dl_archive(envmgr_error_t *err)
{
    (void)err;
    return 0;
}

int envmgr_dl_mysql(envmgr_error_t *err)
{
    (void)err;
    return 0;
}

int envmgr_dl_sqlite(envmgr_error_t *err)
{
    (void)err;
    return 0;
}

#endif
