/* Small shared helpers: cleanup attributes (one per resource type, as crun does), allocation that
 * aborts on out-of-memory (as git's envmgr_xmalloc), a growable string, key/value lists, time,
 * digests. */
#ifndef ENVMGR_UTIL_H
#define ENVMGR_UTIL_H

#include <jansson.h>
#include <nettle/sha2.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <envmgr/error.h>

/* ---- cleanup attributes ------------------------------------------------------------------- */
void envmgr_freep(void *p);
void envmgr_fclosep(FILE **f);
void envmgr_closep(int *fd);
void envmgr_json_decrefp(json_t **j);
#define envmgr_cleanup_free __attribute__((cleanup(envmgr_freep)))
#define envmgr_cleanup_file __attribute__((cleanup(envmgr_fclosep)))
#define envmgr_cleanup_close __attribute__((cleanup(envmgr_closep)))
#define envmgr_cleanup_json __attribute__((cleanup(envmgr_json_decrefp)))

/* Hands ownership off: returns *pp and sets *pp to NULL. */
#define envmgr_steal_pointer(pp)                                                                   \
    __extension__({                                                                                \
        __typeof__(*(pp)) envmgr_steal_tmp_ = *(pp);                                               \
        *(pp) = NULL;                                                                              \
        envmgr_steal_tmp_;                                                                         \
    })

#define ENVMGR_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- allocation (aborts on out-of-memory) -------------------------------------------------- */
void *envmgr_xmalloc(size_t size);
void *envmgr_xcalloc(size_t n, size_t size);
void *envmgr_xrealloc(void *p, size_t size);
/* Grows *items (of *cap elements of elem_size) so that one more fits at index n. */
void *envmgr_xgrow(void *items, size_t n, size_t *cap, size_t elem_size);
char *envmgr_xstrdup(const char *s);
char *envmgr_xstrndup(const char *s, size_t n);
char *envmgr_xasprintf(const char *fmt, ...) ENVMGR_PRINTF(1, 2);

/* ---- growable string ------------------------------------------------------------------------ */
typedef struct envmgr_buf {
    char *data; /* always NUL-terminated once anything was added */
    size_t len;
    size_t cap;
} envmgr_buf_t;
#define ENVMGR_BUF_INIT                                                                            \
    {                                                                                              \
        NULL, 0, 0                                                                                 \
    }
void envmgr_buf_add(envmgr_buf_t *b, const void *data, size_t len);
/* Room for len more bytes (and the NUL) after b->len; returns where they go. The caller writes
 * them, then sets b->len and the NUL itself. */
char *envmgr_buf_reserve(envmgr_buf_t *b, size_t len);
void envmgr_buf_adds(envmgr_buf_t *b, const char *s);
void envmgr_buf_addf(envmgr_buf_t *b, const char *fmt, ...) ENVMGR_PRINTF(2, 3);
void envmgr_buf_reset(envmgr_buf_t *b);
char *envmgr_buf_detach(envmgr_buf_t *b); /* returns the string ("" if empty); b is reset */
void envmgr_buf_free(envmgr_buf_t *b);

/* ---- JSON arrays ---------------------------------------------------------------------------- */
/* Sorts a JSON array in place; compare gets pointers to two elements (json_t *const *), as qsort.
 */
void envmgr_json_array_sort(json_t *array, int (*compare)(const void *, const void *));
/* A compare for envmgr_json_array_sort: objects by their "name" strings. */
int envmgr_json_compare_by_name(const void *a, const void *b);

/* ---- string lists and key/value lists ----------------------------------------------------- */
typedef struct envmgr_strv {
    char **items;
    size_t n;
} envmgr_strv_t;
void envmgr_strv_push(envmgr_strv_t *v, const char *s);
void envmgr_strv_free(envmgr_strv_t *v);

typedef struct envmgr_kv {
    char *key;
    char *value; /* may be NULL (e.g. environment entry with no value) */
} envmgr_kv_t;
typedef struct envmgr_kvlist {
    envmgr_kv_t *items;
    size_t n;
} envmgr_kvlist_t;
/* Sets key (replacing an existing entry with the same key, keeping its position). */
void envmgr_kvlist_set(envmgr_kvlist_t *l, const char *key, const char *value);
const envmgr_kv_t *envmgr_kvlist_find(const envmgr_kvlist_t *l, const char *key);
void envmgr_kvlist_free(envmgr_kvlist_t *l);

/* ---- time ------------------------------------------------------------------------------------ */
int64_t envmgr_now_ms(void);      /* CLOCK_MONOTONIC, milliseconds */
int64_t envmgr_wall_now_ms(void); /* CLOCK_REALTIME, milliseconds since the epoch */
void envmgr_sleep_ms(int64_t ms); /* returns early when envmgr_interrupted() */
/* Parses a Compose duration ("1m30s", "100ms", "2h", "10" = seconds) into milliseconds. */
int envmgr_parse_duration_ms(const char *s, int64_t *out_ms);

/* ---- digests and secrets -------------------------------------------------------------------- */
/* SHA-256 (nettle: small, and loaded anyway; OpenSSL's EVP would initialise its providers and
 * cost about 2 MB of RSS in every command). Streaming: init, update..., final_hex. */
typedef struct sha256_ctx envmgr_sha256_t;
void envmgr_sha256_init(envmgr_sha256_t *ctx);
void envmgr_sha256_update(envmgr_sha256_t *ctx, const void *data, size_t len);
/* Writes 64 lowercase hex digits plus NUL. */
void envmgr_sha256_final_hex(envmgr_sha256_t *ctx, char out[65]);
/* SHA-256 of data as 64 lowercase hex digits plus NUL. */
void envmgr_sha256_hex(const void *data, size_t len, char out[65]);
/* A random password of len characters from [A-Za-z0-9] (getrandom). out has len + 1 bytes. */
int envmgr_random_token(char *out, size_t len, envmgr_error_t *err);

/* ---- files -------------------------------------------------------------------------------- */
/* Reads a whole file; *out is NUL-terminated. */
int envmgr_read_file(const char *path, char **out, size_t *len, envmgr_error_t *err);
/* Writes atomically (temp file + rename). */
int envmgr_write_file(const char *path, const void *data, size_t len, envmgr_error_t *err);
/* mkdir -p */
int envmgr_mkdir_p(const char *path, int mode, envmgr_error_t *err);
/* The regular files below root (links not followed), as paths relative to root, sorted bytewise,
 * pushed to out. strict: a folder that cannot be read, an entry that cannot be stat'ed, anything
 * else than a regular file or a folder, or folders nested over 32 levels is an error naming it;
 * not strict: those are passed over (and 0 is returned). */
int envmgr_list_files(const char *root, bool strict, envmgr_strv_t *out, envmgr_error_t *err);

#endif
