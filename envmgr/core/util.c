#include <envmgr/util.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void envmgr_freep(void *p)
{
    free(*(void **)p);
}

void envmgr_fclosep(FILE **f)
{
    if (*f)
        fclose(*f);
}

void envmgr_closep(int *fd)
{
    if (*fd >= 0)
        close(*fd);
}

void envmgr_json_decrefp(json_t **j)
{
    json_decref(*j);
}

static void oom(void)
{
    fputs("envtest: out of memory\n", stderr);
    abort();
}

void *envmgr_xmalloc(size_t size)
{
    void *p = malloc(size ? size : 1);
    if (!p)
        oom();
    return p;
}

void *envmgr_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        oom();
    return p;
}

void *envmgr_xrealloc(void *p, size_t size)
{
    void *q = realloc(p, size ? size : 1);
    if (!q)
        oom();
    return q;
}

void *envmgr_xgrow(void *items, size_t n, size_t *cap, size_t elem_size)
{
    if (n < *cap)
        return items;
    size_t new_cap = *cap ? *cap * 2 : 8;
    while (new_cap <= n)
        new_cap *= 2;
    items = envmgr_xrealloc(items, new_cap * elem_size);
    memset((char *)items + *cap * elem_size, 0, (new_cap - *cap) * elem_size);
    *cap = new_cap;
    return items;
}

char *envmgr_xstrdup(const char *s)
{
    char *p = strdup(s);
    if (!p)
        oom();
    return p;
}

char *envmgr_xstrndup(const char *s, size_t n)
{
    char *p = strndup(s, n);
    if (!p)
        oom();
    return p;
}

char *envmgr_xasprintf(const char *fmt, ...)
{
    char *p;
    va_list ap;
    va_start(ap, fmt);
    int r = vasprintf(&p, fmt, ap);
    va_end(ap);
    if (r < 0)
        oom();
    return p;
}

char *envmgr_buf_reserve(envmgr_buf_t *b, size_t len)
{
    if (b->len + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + len + 1)
            cap *= 2;
        b->data = envmgr_xrealloc(b->data, cap);
        b->cap = cap;
    }
    return b->data + b->len;
}

void envmgr_buf_add(envmgr_buf_t *b, const void *data, size_t len)
{
    envmgr_buf_reserve(b, len);
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
}

void envmgr_buf_adds(envmgr_buf_t *b, const char *s)
{
    envmgr_buf_add(b, s, strlen(s));
}

void envmgr_buf_addf(envmgr_buf_t *b, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof(small)) {
        envmgr_buf_add(b, small, (size_t)n);
        return;
    }
    char *big = envmgr_xmalloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    envmgr_buf_add(b, big, (size_t)n);
    free(big);
}

void envmgr_buf_reset(envmgr_buf_t *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

char *envmgr_buf_detach(envmgr_buf_t *b)
{
    char *s = b->data ? b->data : envmgr_xstrdup("");
    b->data = NULL;
    b->len = b->cap = 0;
    return s;
}

void envmgr_buf_free(envmgr_buf_t *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

void envmgr_json_array_sort(json_t *array, int (*compare)(const void *, const void *))
{
    size_t n = json_array_size(array);
    json_t **items = envmgr_xcalloc(n ? n : 1, sizeof(*items));
    for (size_t i = 0; i < n; i++)
        items[i] = json_incref(json_array_get(array, i));
    qsort(items, n, sizeof(*items), compare);
    json_array_clear(array);
    for (size_t i = 0; i < n; i++)
        json_array_append_new(array, items[i]);
    free(items);
}

int envmgr_json_compare_by_name(const void *a, const void *b)
{
    const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    return strcmp(json_string_value(json_object_get(x, "name")) ?: "",
                  json_string_value(json_object_get(y, "name")) ?: "");
}

void envmgr_strv_push(envmgr_strv_t *v, const char *s)
{
    v->items = envmgr_xrealloc(v->items, (v->n + 2) * sizeof(char *));
    v->items[v->n++] = envmgr_xstrdup(s);
    v->items[v->n] = NULL;
}

void envmgr_strv_free(envmgr_strv_t *v)
{
    for (size_t i = 0; i < v->n; i++)
        free(v->items[i]);
    free(v->items);
    v->items = NULL;
    v->n = 0;
}

void envmgr_kvlist_set(envmgr_kvlist_t *l, const char *key, const char *value)
{
    for (size_t i = 0; i < l->n; i++) {
        if (strcmp(l->items[i].key, key) == 0) {
            free(l->items[i].value);
            l->items[i].value = value ? envmgr_xstrdup(value) : NULL;
            return;
        }
    }
    l->items = envmgr_xrealloc(l->items, (l->n + 1) * sizeof(envmgr_kv_t));
    l->items[l->n].key = envmgr_xstrdup(key);
    l->items[l->n].value = value ? envmgr_xstrdup(value) : NULL;
    l->n++;
}

const envmgr_kv_t *envmgr_kvlist_find(const envmgr_kvlist_t *l, const char *key)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->items[i].key, key) == 0)
            return &l->items[i];
    return NULL;
}

void envmgr_kvlist_free(envmgr_kvlist_t *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->items[i].key);
        free(l->items[i].value);
    }
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

int64_t envmgr_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t envmgr_wall_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void envmgr_sleep_ms(int64_t ms)
{
    int64_t end = envmgr_now_ms() + ms;
    while (!envmgr_interrupted()) {
        int64_t left = end - envmgr_now_ms();
        if (left <= 0)
            break;
        if (left > 50)
            left = 50;
        struct timespec ts = {left / 1000, (left % 1000) * 1000000};
        nanosleep(&ts, NULL);
    }
}

int envmgr_parse_duration_ms(const char *s, int64_t *out_ms)
{
    /* Compose durations: a sequence of <number><unit> with units us, ms, s, m, h; a bare number
     * means seconds. */
    double total = 0;
    const char *p = s;
    if (!*p)
        return -1;
    while (*p) {
        char *end;
        errno = 0;
        double v = strtod(p, &end);
        if (end == p || errno || v < 0)
            return -1;
        p = end;
        double mult;
        if (*p == '\0') {
            if (p != s + strspn(s, "0123456789.")) /* a bare number must stand alone */
                return -1;
            mult = 1000;
        } else if (strncmp(p, "ms", 2) == 0) {
            mult = 1, p += 2;
        } else if (strncmp(p, "us", 2) == 0) {
            mult = 0.001, p += 2;
        } else if (*p == 's') {
            mult = 1000, p++;
        } else if (*p == 'm') {
            mult = 60000, p++;
        } else if (*p == 'h') {
            mult = 3600000, p++;
        } else {
            return -1;
        }
        total += v * mult;
    }
    *out_ms = (int64_t)(total + 0.5);
    return 0;
}

void envmgr_sha256_init(envmgr_sha256_t *ctx)
{
    sha256_init(ctx);
}

void envmgr_sha256_update(envmgr_sha256_t *ctx, const void *data, size_t len)
{
    sha256_update(ctx, len, data);
}

void envmgr_sha256_final_hex(envmgr_sha256_t *ctx, char out[65])
{
    static const char hex[] = "0123456789abcdef";
    uint8_t md[SHA256_DIGEST_SIZE];
    sha256_digest(ctx, sizeof(md), md);
    for (size_t i = 0; i < sizeof(md); i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[64] = '\0';
}

void envmgr_sha256_hex(const void *data, size_t len, char out[65])
{
    envmgr_sha256_t ctx;
    envmgr_sha256_init(&ctx);
    envmgr_sha256_update(&ctx, data, len);
    envmgr_sha256_final_hex(&ctx, out);
}

int envmgr_random_token(char *out, size_t len, envmgr_error_t *err)
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    for (size_t i = 0; i < len;) {
        unsigned char raw[64];
        ssize_t n = getrandom(raw, sizeof(raw), 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return envmgr_error_errno(err, errno, "getrandom");
        }
        for (ssize_t j = 0; j < n && i < len; j++) {
            if (raw[j] >= 248) /* 248 = 4 * 62: reject to stay uniform */
                continue;
            out[i++] = alphabet[raw[j] % 62];
        }
    }
    out[len] = '\0';
    return 0;
}

int envmgr_read_file(const char *path, char **out, size_t *len, envmgr_error_t *err)
{
    envmgr_cleanup_file FILE *f = fopen(path, "rb");
    if (!f)
        return envmgr_error_errno(err, errno, "open %s", path);
    envmgr_buf_t b = ENVMGR_BUF_INIT;
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        envmgr_buf_add(&b, chunk, n);
    if (ferror(f)) {
        envmgr_buf_free(&b);
        return envmgr_error_errno(err, errno, "read %s", path);
    }
    if (len)
        *len = b.len;
    *out = envmgr_buf_detach(&b);
    return 0;
}

int envmgr_write_file(const char *path, const void *data, size_t len, envmgr_error_t *err)
{
    envmgr_cleanup_free char *tmp = envmgr_xasprintf("%s.tmp.%d", path, (int)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return envmgr_error_errno(err, errno, "create %s", tmp);
    const char *p = data;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            int saved = errno;
            close(fd);
            unlink(tmp);
            return envmgr_error_errno(err, saved, "write %s", tmp);
        }
        p += w;
        len -= (size_t)w;
    }
    if (close(fd) < 0) {
        int saved = errno;
        unlink(tmp);
        return envmgr_error_errno(err, saved, "close %s", tmp);
    }
    if (rename(tmp, path) < 0) {
        int saved = errno;
        unlink(tmp);
        return envmgr_error_errno(err, saved, "rename %s to %s", tmp, path);
    }
    return 0;
}

int envmgr_mkdir_p(const char *path, int mode, envmgr_error_t *err)
{
    envmgr_cleanup_free char *copy = envmgr_xstrdup(path);
    for (char *p = copy + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(copy, (mode_t)mode) < 0 && errno != EEXIST)
            return envmgr_error_errno(err, errno, "mkdir %s", copy);
        *p = '/';
    }
    if (mkdir(copy, (mode_t)mode) < 0 && errno != EEXIST)
        return envmgr_error_errno(err, errno, "mkdir %s", copy);
    return 0;
}

static int list_files(const char *root, const char *rel, bool strict, int depth, envmgr_strv_t *out,
                      envmgr_error_t *err)
{
    envmgr_cleanup_free char *dir =
        rel[0] ? envmgr_xasprintf("%s/%s", root, rel) : envmgr_xstrdup(root);
    if (depth > 32)
        return strict ? envmgr_error_set(err, ENVMGR_E_CONFIG, 0, "%s: nested too deeply", dir) : 0;
    DIR *d = opendir(dir);
    if (d == NULL)
        return strict ? envmgr_error_errno(err, errno, "open directory `%s`", dir) : 0;
    int r = 0;
    struct dirent *de;
    while (r == 0 && (de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        envmgr_cleanup_free char *relpath =
            rel[0] ? envmgr_xasprintf("%s/%s", rel, de->d_name) : envmgr_xstrdup(de->d_name);
        envmgr_cleanup_free char *full = envmgr_xasprintf("%s/%s", root, relpath);
        struct stat st;
        if (lstat(full, &st) < 0)
            r = strict ? envmgr_error_errno(err, errno, "stat `%s`", full) : 0;
        else if (S_ISDIR(st.st_mode))
            r = list_files(root, relpath, strict, depth + 1, out, err);
        else if (S_ISREG(st.st_mode))
            envmgr_strv_push(out, relpath);
        else if (strict)
            r = envmgr_error_set(err, ENVMGR_E_CONFIG, 0,
                                 "`%s` is not a regular file (links and devices are not taken)",
                                 full);
    }
    closedir(d);
    return r;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int envmgr_list_files(const char *root, bool strict, envmgr_strv_t *out, envmgr_error_t *err)
{
    size_t first = out->n;
    int r = list_files(root, "", strict, 0, out, err);
    if (out->n - first > 1)
        qsort(out->items + first, out->n - first, sizeof(*out->items), cmp_str);
    return r;
}
