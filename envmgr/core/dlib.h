/* Libraries loaded when first needed (dlopen), not at start-up, as systemd does for its optional
 * libraries. libarchive (with libxml2, ICU and libstdc++ behind it), the MySQL client (with
 * OpenSSL's libssl) and SQLite (with libm) are needed only to build images, load fixtures, clone
 * databases and keep the run history; loaded by the dynamic linker they cost every command 3.5 MB
 * of RSS and a few milliseconds, `envtest up` on a built, fixture-less environment included
 * (issue 2 asks <= 10 MB).
 *
 * Use: include "dlib.h" instead of <archive.h>, <archive_entry.h>, <mysql.h> and <sqlite3.h>;
 * call envmgr_dl_archive(), envmgr_dl_mysql() or envmgr_dl_sqlite() (which return an error naming
 * the library and what to install) at each entry point before the first call. Calls then read as
 * usual: each library function is a macro for a pointer resolved once. A function missing from the
 * lists below is a link error, not a crash. With -DENVMGR_DLOPEN=0 the libraries are linked as
 * usual. */
#ifndef ENVMGR_DLIB_H
#define ENVMGR_DLIB_H

#include <archive.h>
#include <archive_entry.h>
#include <mysql.h>
#include <sqlite3.h>

#include <envmgr/error.h>

#ifndef ENVMGR_DLOPEN
#define ENVMGR_DLOPEN 1
#endif

/* 0 when the library is loaded (every symbol resolved), else -1 and err (ENVMGR_E_ENV). Thread
 * safe; loads once. */
int envmgr_dl_archive(envmgr_error_t *err);
int envmgr_dl_mysql(envmgr_error_t *err);
int envmgr_dl_sqlite(envmgr_error_t *err);

/* Opens soname and resolves each of names[0..n) into slots: 0, or -1 and err naming the library or
 * the missing function and what to do. The three above are made of it. */
int envmgr_dl_open(const char *soname, const char *debian_package, const char *const *names,
                   void **slots, size_t n, envmgr_error_t *err);

#if ENVMGR_DLOPEN

#define ENVMGR_DL_ARCHIVE_SYMBOLS(X)                                                               \
    X(archive_entry_copy_stat)                                                                     \
    X(archive_entry_filetype)                                                                      \
    X(archive_entry_free)                                                                          \
    X(archive_entry_hardlink)                                                                      \
    X(archive_entry_new)                                                                           \
    X(archive_entry_pathname)                                                                      \
    X(archive_entry_set_filetype)                                                                  \
    X(archive_entry_set_gid)                                                                       \
    X(archive_entry_set_gname)                                                                     \
    X(archive_entry_set_mtime)                                                                     \
    X(archive_entry_set_pathname)                                                                  \
    X(archive_entry_set_perm)                                                                      \
    X(archive_entry_set_size)                                                                      \
    X(archive_entry_set_symlink)                                                                   \
    X(archive_entry_set_uid)                                                                       \
    X(archive_entry_set_uname)                                                                     \
    X(archive_entry_size)                                                                          \
    X(archive_entry_size_is_set)                                                                   \
    X(archive_entry_symlink)                                                                       \
    X(archive_errno)                                                                               \
    X(archive_error_string)                                                                        \
    X(archive_filter_bytes)                                                                        \
    X(archive_read_data)                                                                           \
    X(archive_read_data_skip)                                                                      \
    X(archive_read_free)                                                                           \
    X(archive_read_new)                                                                            \
    X(archive_read_next_header)                                                                    \
    X(archive_read_open_filename)                                                                  \
    X(archive_read_support_filter_bzip2)                                                           \
    X(archive_read_support_filter_gzip)                                                            \
    X(archive_read_support_filter_lz4)                                                             \
    X(archive_read_support_filter_lzma)                                                            \
    X(archive_read_support_filter_xz)                                                              \
    X(archive_read_support_filter_zstd)                                                            \
    X(archive_read_support_format_7zip)                                                            \
    X(archive_read_support_format_cpio)                                                            \
    X(archive_read_support_format_tar)                                                             \
    X(archive_read_support_format_zip)                                                             \
    X(archive_write_add_filter_gzip)                                                               \
    X(archive_write_add_filter_zstd)                                                               \
    X(archive_write_close)                                                                         \
    X(archive_write_data)                                                                          \
    X(archive_write_free)                                                                          \
    X(archive_write_header)                                                                        \
    X(archive_write_new)                                                                           \
    X(archive_write_open)                                                                          \
    X(archive_write_open_filename)                                                                 \
    X(archive_write_set_bytes_in_last_block)                                                       \
    X(archive_write_set_format_pax_restricted)                                                     \
    X(archive_write_set_options)                                                                   \
    X(archive_version_number)

#define ENVMGR_DL_MYSQL_SYMBOLS(X)                                                                 \
    X(mysql_affected_rows)                                                                         \
    X(mysql_close)                                                                                 \
    X(mysql_errno)                                                                                 \
    X(mysql_error)                                                                                 \
    X(mysql_fetch_row)                                                                             \
    X(mysql_free_result)                                                                           \
    X(mysql_init)                                                                                  \
    X(mysql_next_result)                                                                           \
    X(mysql_num_rows)                                                                              \
    X(mysql_options)                                                                               \
    X(mysql_query)                                                                                 \
    X(mysql_real_connect)                                                                          \
    X(mysql_real_escape_string)                                                                    \
    X(mysql_real_query)                                                                            \
    X(mysql_set_local_infile_default)                                                              \
    X(mysql_set_local_infile_handler)                                                              \
    X(mysql_store_result)                                                                          \
    X(mysql_warning_count)                                                                         \
    X(mysql_get_server_version)                                                                    \
    X(mysql_get_server_info)                                                                       \
    X(mysql_field_count)                                                                           \
    X(mysql_num_fields)                                                                            \
    X(mysql_fetch_lengths)                                                                         \
    X(mysql_commit)                                                                                \
    X(mysql_rollback)                                                                              \
    X(mysql_autocommit)                                                                            \
    X(mysql_select_db)                                                                             \
    X(mysql_ping)                                                                                  \
    X(mysql_send_query)                                                                            \
    X(mysql_read_query_result)                                                                     \
    X(mysql_thread_id)                                                                             \
    X(mysql_get_socket)

#define ENVMGR_DL_SQLITE_SYMBOLS(X)                                                                \
    X(sqlite3_bind_double)                                                                         \
    X(sqlite3_bind_int)                                                                            \
    X(sqlite3_bind_int64)                                                                          \
    X(sqlite3_bind_text)                                                                           \
    X(sqlite3_busy_timeout)                                                                        \
    X(sqlite3_clear_bindings)                                                                      \
    X(sqlite3_close)                                                                               \
    X(sqlite3_column_double)                                                                       \
    X(sqlite3_column_int64)                                                                        \
    X(sqlite3_column_text)                                                                         \
    X(sqlite3_errcode)                                                                             \
    X(sqlite3_errmsg)                                                                              \
    X(sqlite3_exec)                                                                                \
    X(sqlite3_finalize)                                                                            \
    X(sqlite3_open)                                                                                \
    X(sqlite3_open_v2)                                                                             \
    X(sqlite3_column_type)                                                                         \
    X(sqlite3_prepare_v2)                                                                          \
    X(sqlite3_reset)                                                                               \
    X(sqlite3_step)                                                                                \
    X(sqlite3_libversion_number)

#define ENVMGR_DL_MEMBER(name) __typeof__(name) *name;
typedef struct envmgr_dl_archive_api {
    ENVMGR_DL_ARCHIVE_SYMBOLS(ENVMGR_DL_MEMBER)
} envmgr_dl_archive_api_t;
typedef struct envmgr_dl_mysql_api {
    ENVMGR_DL_MYSQL_SYMBOLS(ENVMGR_DL_MEMBER)
} envmgr_dl_mysql_api_t;
typedef struct envmgr_dl_sqlite_api {
    ENVMGR_DL_SQLITE_SYMBOLS(ENVMGR_DL_MEMBER)
} envmgr_dl_sqlite_api_t;

/* The resolved functions; loads on first use and aborts with a message if that fails, which only
 * happens when an entry point forgot its envmgr_dl_*() check. */
const envmgr_dl_archive_api_t *envmgr_dl_archive_api(void);
const envmgr_dl_mysql_api_t *envmgr_dl_mysql_api(void);
const envmgr_dl_sqlite_api_t *envmgr_dl_sqlite_api(void);

#ifndef ENVMGR_DLIB_IMPLEMENTATION
#define archive_entry_copy_stat (envmgr_dl_archive_api()->archive_entry_copy_stat)
#define archive_entry_filetype (envmgr_dl_archive_api()->archive_entry_filetype)
#define archive_entry_free (envmgr_dl_archive_api()->archive_entry_free)
#define archive_entry_hardlink (envmgr_dl_archive_api()->archive_entry_hardlink)
#define archive_entry_new (envmgr_dl_archive_api()->archive_entry_new)
#define archive_entry_pathname (envmgr_dl_archive_api()->archive_entry_pathname)
#define archive_entry_set_filetype (envmgr_dl_archive_api()->archive_entry_set_filetype)
#define archive_entry_set_gid (envmgr_dl_archive_api()->archive_entry_set_gid)
#define archive_entry_set_gname (envmgr_dl_archive_api()->archive_entry_set_gname)
#define archive_entry_set_mtime (envmgr_dl_archive_api()->archive_entry_set_mtime)
#define archive_entry_set_pathname (envmgr_dl_archive_api()->archive_entry_set_pathname)
#define archive_entry_set_perm (envmgr_dl_archive_api()->archive_entry_set_perm)
#define archive_entry_set_size (envmgr_dl_archive_api()->archive_entry_set_size)
#define archive_entry_set_symlink (envmgr_dl_archive_api()->archive_entry_set_symlink)
#define archive_entry_set_uid (envmgr_dl_archive_api()->archive_entry_set_uid)
#define archive_entry_set_uname (envmgr_dl_archive_api()->archive_entry_set_uname)
#define archive_entry_size (envmgr_dl_archive_api()->archive_entry_size)
#define archive_entry_size_is_set (envmgr_dl_archive_api()->archive_entry_size_is_set)
#define archive_entry_symlink (envmgr_dl_archive_api()->archive_entry_symlink)
#define archive_errno (envmgr_dl_archive_api()->archive_errno)
#define archive_error_string (envmgr_dl_archive_api()->archive_error_string)
#define archive_filter_bytes (envmgr_dl_archive_api()->archive_filter_bytes)
#define archive_read_data (envmgr_dl_archive_api()->archive_read_data)
#define archive_read_data_skip (envmgr_dl_archive_api()->archive_read_data_skip)
#define archive_read_free (envmgr_dl_archive_api()->archive_read_free)
#define archive_read_new (envmgr_dl_archive_api()->archive_read_new)
#define archive_read_next_header (envmgr_dl_archive_api()->archive_read_next_header)
#define archive_read_open_filename (envmgr_dl_archive_api()->archive_read_open_filename)
#define archive_read_support_filter_bzip2                                                          \
    (envmgr_dl_archive_api()->archive_read_support_filter_bzip2)
#define archive_read_support_filter_gzip (envmgr_dl_archive_api()->archive_read_support_filter_gzip)
#define archive_read_support_filter_lz4 (envmgr_dl_archive_api()->archive_read_support_filter_lz4)
#define archive_read_support_filter_lzma (envmgr_dl_archive_api()->archive_read_support_filter_lzma)
#define archive_read_support_filter_xz (envmgr_dl_archive_api()->archive_read_support_filter_xz)
#define archive_read_support_filter_zstd (envmgr_dl_archive_api()->archive_read_support_filter_zstd)
#define archive_read_support_format_7zip (envmgr_dl_archive_api()->archive_read_support_format_7zip)
#define archive_read_support_format_cpio (envmgr_dl_archive_api()->archive_read_support_format_cpio)
#define archive_read_support_format_tar (envmgr_dl_archive_api()->archive_read_support_format_tar)
#define archive_read_support_format_zip (envmgr_dl_archive_api()->archive_read_support_format_zip)
#define archive_write_add_filter_gzip (envmgr_dl_archive_api()->archive_write_add_filter_gzip)
#define archive_write_add_filter_zstd (envmgr_dl_archive_api()->archive_write_add_filter_zstd)
#define archive_write_close (envmgr_dl_archive_api()->archive_write_close)
#define archive_write_data (envmgr_dl_archive_api()->archive_write_data)
#define archive_write_free (envmgr_dl_archive_api()->archive_write_free)
#define archive_write_header (envmgr_dl_archive_api()->archive_write_header)
#define archive_write_new (envmgr_dl_archive_api()->archive_write_new)
#define archive_write_open (envmgr_dl_archive_api()->archive_write_open)
#define archive_write_open_filename (envmgr_dl_archive_api()->archive_write_open_filename)
#define archive_write_set_bytes_in_last_block                                                      \
    (envmgr_dl_archive_api()->archive_write_set_bytes_in_last_block)
#define archive_write_set_format_pax_restricted                                                    \
    (envmgr_dl_archive_api()->archive_write_set_format_pax_restricted)
#define archive_write_set_options (envmgr_dl_archive_api()->archive_write_set_options)
#define archive_version_number (envmgr_dl_archive_api()->archive_version_number)

#define mysql_affected_rows (envmgr_dl_mysql_api()->mysql_affected_rows)
#define mysql_close (envmgr_dl_mysql_api()->mysql_close)
#define mysql_errno (envmgr_dl_mysql_api()->mysql_errno)
#define mysql_error (envmgr_dl_mysql_api()->mysql_error)
#define mysql_fetch_row (envmgr_dl_mysql_api()->mysql_fetch_row)
#define mysql_free_result (envmgr_dl_mysql_api()->mysql_free_result)
#define mysql_init (envmgr_dl_mysql_api()->mysql_init)
#define mysql_next_result (envmgr_dl_mysql_api()->mysql_next_result)
#define mysql_num_rows (envmgr_dl_mysql_api()->mysql_num_rows)
#define mysql_options (envmgr_dl_mysql_api()->mysql_options)
#define mysql_query (envmgr_dl_mysql_api()->mysql_query)
#define mysql_real_connect (envmgr_dl_mysql_api()->mysql_real_connect)
#define mysql_real_escape_string (envmgr_dl_mysql_api()->mysql_real_escape_string)
#define mysql_real_query (envmgr_dl_mysql_api()->mysql_real_query)
#define mysql_set_local_infile_default (envmgr_dl_mysql_api()->mysql_set_local_infile_default)
#define mysql_set_local_infile_handler (envmgr_dl_mysql_api()->mysql_set_local_infile_handler)
#define mysql_store_result (envmgr_dl_mysql_api()->mysql_store_result)
#define mysql_warning_count (envmgr_dl_mysql_api()->mysql_warning_count)
#define mysql_get_server_version (envmgr_dl_mysql_api()->mysql_get_server_version)
#define mysql_get_server_info (envmgr_dl_mysql_api()->mysql_get_server_info)
#define mysql_field_count (envmgr_dl_mysql_api()->mysql_field_count)
#define mysql_num_fields (envmgr_dl_mysql_api()->mysql_num_fields)
#define mysql_fetch_lengths (envmgr_dl_mysql_api()->mysql_fetch_lengths)
#define mysql_commit (envmgr_dl_mysql_api()->mysql_commit)
#define mysql_rollback (envmgr_dl_mysql_api()->mysql_rollback)
#define mysql_autocommit (envmgr_dl_mysql_api()->mysql_autocommit)
#define mysql_select_db (envmgr_dl_mysql_api()->mysql_select_db)
#define mysql_ping (envmgr_dl_mysql_api()->mysql_ping)
#define mysql_send_query (envmgr_dl_mysql_api()->mysql_send_query)
#define mysql_read_query_result (envmgr_dl_mysql_api()->mysql_read_query_result)
#define mysql_thread_id (envmgr_dl_mysql_api()->mysql_thread_id)
#define mysql_get_socket (envmgr_dl_mysql_api()->mysql_get_socket)

#define sqlite3_bind_double (envmgr_dl_sqlite_api()->sqlite3_bind_double)
#define sqlite3_bind_int (envmgr_dl_sqlite_api()->sqlite3_bind_int)
#define sqlite3_bind_int64 (envmgr_dl_sqlite_api()->sqlite3_bind_int64)
#define sqlite3_bind_text (envmgr_dl_sqlite_api()->sqlite3_bind_text)
#define sqlite3_busy_timeout (envmgr_dl_sqlite_api()->sqlite3_busy_timeout)
#define sqlite3_clear_bindings (envmgr_dl_sqlite_api()->sqlite3_clear_bindings)
#define sqlite3_close (envmgr_dl_sqlite_api()->sqlite3_close)
#define sqlite3_column_double (envmgr_dl_sqlite_api()->sqlite3_column_double)
#define sqlite3_column_int64 (envmgr_dl_sqlite_api()->sqlite3_column_int64)
#define sqlite3_column_text (envmgr_dl_sqlite_api()->sqlite3_column_text)
#define sqlite3_errcode (envmgr_dl_sqlite_api()->sqlite3_errcode)
#define sqlite3_errmsg (envmgr_dl_sqlite_api()->sqlite3_errmsg)
#define sqlite3_exec (envmgr_dl_sqlite_api()->sqlite3_exec)
#define sqlite3_finalize (envmgr_dl_sqlite_api()->sqlite3_finalize)
#define sqlite3_open (envmgr_dl_sqlite_api()->sqlite3_open)
#define sqlite3_open_v2 (envmgr_dl_sqlite_api()->sqlite3_open_v2)
#define sqlite3_column_type (envmgr_dl_sqlite_api()->sqlite3_column_type)
#define sqlite3_prepare_v2 (envmgr_dl_sqlite_api()->sqlite3_prepare_v2)
#define sqlite3_reset (envmgr_dl_sqlite_api()->sqlite3_reset)
#define sqlite3_step (envmgr_dl_sqlite_api()->sqlite3_step)
#define sqlite3_libversion_number (envmgr_dl_sqlite_api()->sqlite3_libversion_number)
#endif

#endif /* ENVMGR_DLOPEN */
#endif
