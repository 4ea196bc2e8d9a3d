/* The project lock and the uses of a shared environment (see <envmgr/lock.h>). */
#include <envmgr/lock.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <envmgr/lifecycle.h>
#include <envmgr/log.h>
#include <envmgr/util.h>

#include "project.h"
#include "reaper.h"

#define LOCK_POLL_MS 50
#define DEFAULT_BEAT_MS 5000
#define DEFAULT_STALE_MS 30000

/* ---- who we are ------------------------------------------------------------------------------ */
typedef struct identity {
    char host[64]; /* host name, made safe for a volume name */
    char boot[16]; /* the first characters of the kernel's boot id */
    long pid;
    char start[24]; /* the process's start time in clock ticks since boot (/proc/<pid>/stat) */
    char token[160];
} identity_t;

static identity_t self_id;
static pthread_once_t self_once = PTHREAD_ONCE_INIT;

/* Field 22 of /proc/<pid>/stat (start time), or "" when the process does not exist. */
static void process_start(long pid, char out[24])
{
    out[0] = '\0';
    char path[64];
    snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return;
    char buf[1024];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')'); /* the command name may hold spaces and parentheses */
    if (!p)
        return;
    for (int field = 2; field < 22 && p; field++)
        p = strchr(p + 1, ' ');
    if (p)
        snprintf(out, 24, "%.*s", (int)strcspn(p + 1, " "), p + 1);
}

static void identity_init(void)
{
    identity_t *id = &self_id;
    char host[64] = "localhost";
    gethostname(host, sizeof(host) - 1);
    size_t k = 0;
    for (size_t i = 0; host[i] && k < sizeof(id->host) - 1; i++)
        id->host[k++] = isalnum((unsigned char)host[i]) || host[i] == '.' ? host[i] : '-';
    id->host[k] = '\0';
    snprintf(id->boot, sizeof(id->boot), "none");
    FILE *f = fopen("/proc/sys/kernel/random/boot_id", "re");
    if (f) {
        char line[64] = "";
        if (fgets(line, sizeof(line), f))
            snprintf(id->boot, sizeof(id->boot), "%.8s", line);
        fclose(f);
    }
    id->pid = (long)getpid();
    process_start(id->pid, id->start);
    snprintf(id->token, sizeof(id->token), "%.63s-%.15s-%ld-%.23s", id->host, id->boot, id->pid,
             id->start);
}

static const identity_t *self(void)
{
    pthread_once(&self_once, identity_init);
    return &self_id;
}

const char *envmgr_lock_token(void)
{
    return self()->token;
}

/* Labels naming this process, under prefix (io.envtest.lock or io.envtest.use). */
static void identity_labels(envmgr_kvlist_t *labels, const char *prefix, const char *project,
                            const char *command)
{
    const identity_t *id = self();
    char buf[64];
    envmgr_kvlist_set(labels, prefix, project);
    envmgr_cleanup_free char *k = envmgr_xasprintf("%s.token", prefix);
    envmgr_kvlist_set(labels, k, id->token);
    free(k);
    k = envmgr_xasprintf("%s.host", prefix);
    envmgr_kvlist_set(labels, k, id->host);
    free(k);
    k = envmgr_xasprintf("%s.boot", prefix);
    envmgr_kvlist_set(labels, k, id->boot);
    free(k);
    k = envmgr_xasprintf("%s.pid", prefix);
    snprintf(buf, sizeof(buf), "%ld", id->pid);
    envmgr_kvlist_set(labels, k, buf);
    free(k);
    k = envmgr_xasprintf("%s.start", prefix);
    envmgr_kvlist_set(labels, k, id->start);
    free(k);
    k = envmgr_xasprintf("%s.since", prefix);
    snprintf(buf, sizeof(buf), "%lld", (long long)time(NULL));
    envmgr_kvlist_set(labels, k, buf);
    free(k);
    k = envmgr_xasprintf("%s.command", prefix);
    envmgr_kvlist_set(labels, k, command ? command : "");
}

static const char *label(const json_t *labels, const char *prefix, const char *name)
{
    char key[128];
    snprintf(key, sizeof(key), "%s.%s", prefix, name);
    const char *v = json_string_value(json_object_get(labels, key));
    return v ? v : "";
}

enum liveness { HOLDER_ALIVE, HOLDER_DEAD, HOLDER_REMOTE };

/* Whether the process named by labels runs: known for this machine's processes only. */
static enum liveness holder_liveness(const json_t *labels, const char *prefix)
{
    const identity_t *id = self();
    if (strcmp(label(labels, prefix, "host"), id->host) != 0 ||
        strcmp(label(labels, prefix, "boot"), id->boot) != 0)
        return HOLDER_REMOTE;
    long pid = strtol(label(labels, prefix, "pid"), NULL, 10);
    if (pid <= 0)
        return HOLDER_DEAD;
    char start[24];
    process_start(pid, start);
    return start[0] && strcmp(start, label(labels, prefix, "start")) == 0 ? HOLDER_ALIVE
                                                                          : HOLDER_DEAD;
}

static char *holder_text(const json_t *labels, const char *prefix)
{
    long long since = strtoll(label(labels, prefix, "since"), NULL, 10);
    long long age = since > 0 ? (long long)time(NULL) - since : 0;
    return envmgr_xasprintf("envtest %s (pid %s on %s, for %lld s)",
                            label(labels, prefix, "command"), label(labels, prefix, "pid"),
                            label(labels, prefix, "host"), age < 0 ? 0 : age);
}

static int64_t env_ms(const char *name, int64_t fallback)
{
    const char *v = getenv(name);
    char *end;
    long long n = v ? strtoll(v, &end, 10) : 0;
    return v && *v && *end == '\0' && n > 0 ? (int64_t)n : fallback;
}

/* ---- the lock -------------------------------------------------------------------------------- */
struct envmgr_lock {
    envmgr_engine_t *engine;
    char *project;
    char *volume; /* envtest-lock-<project> */
    int fd;       /* the local file lock, or -1 */
    bool acquired;
    /* heartbeat */
    envmgr_engine_t *beat_engine;
    pthread_t beat_thread;
    bool beat_started;
    bool beat_stop;
    pthread_mutex_t beat_mu;
    pthread_cond_t beat_cond;
    uint64_t beat_seq;
};

static pthread_mutex_t held_mu = PTHREAD_MUTEX_INITIALIZER;
static int held_fds[8];
static int n_held;

static void held_add(int fd)
{
    pthread_mutex_lock(&held_mu);
    if (n_held < 8)
        held_fds[n_held++] = fd;
    pthread_mutex_unlock(&held_mu);
}

static void held_remove(int fd)
{
    pthread_mutex_lock(&held_mu);
    for (int i = 0; i < n_held; i++)
        if (held_fds[i] == fd)
            held_fds[i--] = held_fds[--n_held];
    pthread_mutex_unlock(&held_mu);
}

int lock_held_fds(int *out, int max)
{
    pthread_mutex_lock(&held_mu);
    int n = n_held < max ? n_held : max;
    memcpy(out, held_fds, (size_t)n * sizeof(int));
    pthread_mutex_unlock(&held_mu);
    return n;
}

int envmgr_lock_fd(const envmgr_lock_t *lock)
{
    return lock ? lock->fd : -1;
}

static char *lock_file_path(const char *project)
{
    const char *dir = getenv("ENVTEST_LOCK_DIR");
    if (!dir || !*dir)
        dir = getenv("XDG_RUNTIME_DIR");
    if (!dir || !*dir)
        dir = "/tmp";
    return envmgr_xasprintf("%s/envtest-%s.lock", dir, project);
}

static bool deadline_passed(int64_t deadline)
{
    return deadline > 0 && envmgr_now_ms() >= deadline;
}

static int wait_error(const char *project, const char *holder, int64_t timeout_ms,
                      envmgr_error_t *err)
{
    if (envmgr_interrupted())
        return envmgr_error_set(err, ENVMGR_E_INTERRUPTED, 0,
                                "interrupted while waiting for the lock of %s", project);
    envmgr_error_set(err, ENVMGR_E_ENV, 0, "the lock of %s is still held by %s after %.1f s",
                     project, holder, timeout_ms / 1000.0);
    return envmgr_error_hint(err, "wait for it, or stop that envtest");
}

/* The fast path: flock of this machine. Holders write who they are into the file. */
static int local_lock(envmgr_lock_t *lock, const envmgr_lock_options_t *opts, int64_t deadline,
                      envmgr_error_t *err)
{
    envmgr_cleanup_free char *path = lock_file_path(lock->project);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0) {
        lock->fd = -1; /* e.g. another user's file: the engine's lock still holds */
        return 0;
    }
    fchmod(fd, 0666); /* whatever the umask: envtests of every user share it */
    char last[256] = "";
    while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        if (errno != EWOULDBLOCK && errno != EINTR) {
            int saved = errno;
            close(fd);
            return envmgr_error_errno(err, saved, "lock %s", path);
        }
        char holder[256] = "";
        ssize_t n = pread(fd, holder, sizeof(holder) - 1, 0);
        holder[n > 0 ? n : 0] = '\0';
        holder[strcspn(holder, "\n")] = '\0';
        if (!holder[0])
            snprintf(holder, sizeof(holder), "another envtest");
        if (strcmp(holder, last) != 0) {
            snprintf(last, sizeof(last), "%s", holder);
            if (opts->wait)
                opts->wait(opts->userdata, lock->project, holder);
        }
        if (envmgr_interrupted() || deadline_passed(deadline)) {
            close(fd);
            return wait_error(lock->project, holder, opts->timeout_ms, err);
        }
        envmgr_sleep_ms(LOCK_POLL_MS);
    }
    const identity_t *id = self();
    char text[256];
    int len = snprintf(text, sizeof(text), "envtest %s (pid %ld on %s)\n",
                       opts->command ? opts->command : "", id->pid, id->host);
    if (ftruncate(fd, 0) == 0 && pwrite(fd, text, (size_t)len, 0) < 0)
        envmgr_debug("lock: cannot write %s", path);
    lock->fd = fd;
    held_add(fd);
    return 0;
}

static char *beat_name(const char *project, uint64_t seq)
{
    return envmgr_xasprintf("envtest-lock-%s-beat-%" PRIu64, project, seq);
}

static void *beat_main(void *arg)
{
    envmgr_lock_t *lock = arg;
    int64_t every = env_ms("ENVTEST_LOCK_BEAT_MS", DEFAULT_BEAT_MS);
    pthread_mutex_lock(&lock->beat_mu);
    while (!lock->beat_stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += every / 1000;
        ts.tv_nsec += (every % 1000) * 1000000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&lock->beat_cond, &lock->beat_mu, &ts);
        if (lock->beat_stop)
            break;
        uint64_t seq = lock->beat_seq;
        pthread_mutex_unlock(&lock->beat_mu);
        envmgr_kvlist_t labels = {0};
        envmgr_kvlist_set(&labels, "io.envtest.lock-beat", self()->token);
        envmgr_cleanup_free char *next = beat_name(lock->project, seq + 1);
        envmgr_cleanup_free char *prev = beat_name(lock->project, seq);
        envmgr_error_t ignored = {0};
        if (envmgr_engine_volume_create(lock->beat_engine, next, &labels, &ignored) == 0) {
            if (seq > 0)
                envmgr_engine_volume_remove(lock->beat_engine, prev, true, &ignored);
            seq++;
        }
        envmgr_kvlist_free(&labels);
        pthread_mutex_lock(&lock->beat_mu);
        lock->beat_seq = seq;
    }
    pthread_mutex_unlock(&lock->beat_mu);
    return NULL;
}

/* The highest heartbeat of token, 0 when none. */
static uint64_t last_beat(envmgr_engine_t *engine, const char *project, const char *token)
{
    envmgr_cleanup_free char *filter = envmgr_xasprintf("io.envtest.lock-beat=%s", token);
    envmgr_cleanup_json json_t *vols = NULL;
    envmgr_error_t ignored = {0};
    if (envmgr_engine_volume_list(engine, filter, &vols, &ignored) < 0)
        return 0;
    envmgr_cleanup_free char *prefix = envmgr_xasprintf("envtest-lock-%s-beat-", project);
    uint64_t max = 0;
    for (size_t i = 0; i < json_array_size(vols); i++) {
        const char *name = json_string_value(json_object_get(json_array_get(vols, i), "Name"));
        if (name && strncmp(name, prefix, strlen(prefix)) == 0) {
            uint64_t n = strtoull(name + strlen(prefix), NULL, 10);
            max = n > max ? n : max;
        }
    }
    return max;
}

static void remove_beats(envmgr_engine_t *engine, const char *token)
{
    envmgr_cleanup_free char *filter = envmgr_xasprintf("io.envtest.lock-beat=%s", token);
    envmgr_cleanup_json json_t *vols = NULL;
    envmgr_error_t ignored = {0};
    if (envmgr_engine_volume_list(engine, filter, &vols, &ignored) < 0)
        return;
    for (size_t i = 0; i < json_array_size(vols); i++) {
        const char *name = json_string_value(json_object_get(json_array_get(vols, i), "Name"));
        if (name)
            envmgr_engine_volume_remove(engine, name, true, &ignored);
    }
}

/* Creates the lock volume unless it exists; *labels_out: the labels of the volume that is there
 * (ours when we hold the lock). */
static int engine_lock_try(envmgr_lock_t *lock, const char *command, json_t **labels_out,
                           envmgr_error_t *err)
{
    envmgr_kvlist_t labels = {0};
    identity_labels(&labels, ENVMGR_LABEL_LOCK, lock->project, command);
    json_t *lab = json_object();
    for (size_t i = 0; i < labels.n; i++)
        json_object_set_new(lab, labels.items[i].key, json_string(labels.items[i].value));
    envmgr_kvlist_free(&labels);
    envmgr_cleanup_json json_t *body = json_pack("{s:s, s:o}", "Name", lock->volume, "Labels", lab);
    envmgr_cleanup_json json_t *reply = NULL;
    envmgr_error_t create_err = {0};
    if (envmgr_engine_request(lock->engine, "POST", "/volumes/create", body, &reply, &create_err) <
        0) {
        if (create_err.kind == ENVMGR_E_ENGINE || create_err.kind == ENVMGR_E_INTERRUPTED) {
            *err = create_err;
            return envmgr_error_wrap(err, "lock %s", lock->project);
        }
        /* Podman answers a name in use with a conflict: read the volume that is there */
        envmgr_cleanup_free char *path = envmgr_xasprintf("/volumes/%s", lock->volume);
        if (envmgr_engine_request(lock->engine, "GET", path, NULL, &reply, err) < 0) {
            if (err->kind == ENVMGR_E_NOT_FOUND) { /* released in between: try again */
                *labels_out = json_object();
                return 1;
            }
            return envmgr_error_wrap(err, "lock %s", lock->project);
        }
    }
    json_t *got = json_object_get(reply, "Labels");
    *labels_out = json_is_object(got) ? json_incref(got) : json_object();
    return 0;
}

/* Removes the lock volume if the token in its labels is still token. */
static void engine_lock_remove_if(envmgr_engine_t *engine, const char *volume, const char *token)
{
    envmgr_cleanup_free char *path = envmgr_xasprintf("/volumes/%s", volume);
    envmgr_cleanup_json json_t *reply = NULL;
    envmgr_error_t ignored = {0};
    if (envmgr_engine_request(engine, "GET", path, NULL, &reply, &ignored) < 0)
        return;
    const char *t = label(json_object_get(reply, "Labels"), ENVMGR_LABEL_LOCK, "token");
    if (strcmp(t, token) == 0)
        envmgr_engine_volume_remove(engine, volume, true, &ignored);
}

static int engine_lock(envmgr_lock_t *lock, const envmgr_lock_options_t *opts, int64_t deadline,
                       envmgr_error_t *err)
{
    const char *token = self()->token;
    int64_t stale_ms = env_ms("ENVTEST_LOCK_STALE_MS", DEFAULT_STALE_MS);
    char last_holder[160] = "";
    uint64_t seen_beat = 0;
    int64_t beat_changed_at = 0;
    for (;;) {
        envmgr_cleanup_json json_t *labels = NULL;
        int r = engine_lock_try(lock, opts->command, &labels, err);
        if (r < 0)
            return -1;
        const char *holder = label(labels, ENVMGR_LABEL_LOCK, "token");
        if (r == 0 && strcmp(holder, token) == 0)
            return 0;
        if (r == 0 && holder[0]) {
            enum liveness l = holder_liveness(labels, ENVMGR_LABEL_LOCK);
            bool dead = l == HOLDER_DEAD;
            if (strcmp(holder, last_holder) != 0) {
                snprintf(last_holder, sizeof(last_holder), "%s", holder);
                seen_beat = last_beat(lock->engine, lock->project, holder);
                beat_changed_at = envmgr_now_ms();
                if (!dead && opts->wait) {
                    envmgr_cleanup_free char *text = holder_text(labels, ENVMGR_LABEL_LOCK);
                    opts->wait(opts->userdata, lock->project, text);
                }
            } else if (l == HOLDER_REMOTE) {
                uint64_t beat = last_beat(lock->engine, lock->project, holder);
                if (beat != seen_beat) {
                    seen_beat = beat;
                    beat_changed_at = envmgr_now_ms();
                } else if (envmgr_now_ms() - beat_changed_at >= stale_ms) {
                    dead = true;
                }
            }
            if (dead) {
                envmgr_cleanup_free char *text = holder_text(labels, ENVMGR_LABEL_LOCK);
                envmgr_debug("lock %s: taking over from %s, who is gone", lock->project, text);
                engine_lock_remove_if(lock->engine, lock->volume, holder);
                remove_beats(lock->engine, holder);
                last_holder[0] = '\0';
                continue;
            }
        }
        if (envmgr_interrupted() || deadline_passed(deadline)) {
            envmgr_cleanup_free char *text = holder_text(labels, ENVMGR_LABEL_LOCK);
            return wait_error(lock->project, text, opts->timeout_ms, err);
        }
        envmgr_sleep_ms(LOCK_POLL_MS);
    }
}

int envmgr_lock_acquire(envmgr_engine_t *engine, const char *project,
                        const envmgr_lock_options_t *opts, envmgr_lock_t **out, envmgr_error_t *err)
{
    static const envmgr_lock_options_t defaults = {0};
    if (!opts)
        opts = &defaults;
    *out = NULL;
    int64_t deadline = opts->timeout_ms > 0 ? envmgr_now_ms() + opts->timeout_ms : 0;
    envmgr_lock_t *lock = envmgr_xcalloc(1, sizeof(*lock));
    lock->engine = engine;
    lock->project = envmgr_xstrdup(project);
    lock->volume = envmgr_xasprintf("envtest-lock-%s", project);
    lock->fd = -1;
    pthread_mutex_init(&lock->beat_mu, NULL);
    pthread_cond_init(&lock->beat_cond, NULL);
    if (local_lock(lock, opts, deadline, err) < 0 || engine_lock(lock, opts, deadline, err) < 0) {
        if (lock->fd >= 0) {
            held_remove(lock->fd);
            close(lock->fd);
        }
        lock->fd = -1;
        envmgr_lock_release(lock);
        return -1;
    }
    if (envmgr_engine_dup(engine, &lock->beat_engine, err) == 0 &&
        pthread_create(&lock->beat_thread, NULL, beat_main, lock) == 0)
        lock->beat_started = true;
    envmgr_error_clear(err);
    lock->acquired = true;
    *out = lock;
    return 0;
}

void envmgr_lock_release(envmgr_lock_t *lock)
{
    if (!lock)
        return;
    if (lock->beat_started) {
        pthread_mutex_lock(&lock->beat_mu);
        lock->beat_stop = true;
        pthread_cond_signal(&lock->beat_cond);
        pthread_mutex_unlock(&lock->beat_mu);
        pthread_join(lock->beat_thread, NULL);
    }
    if (lock->acquired) {
        /* acquired: the engine's lock is ours unless taken over */
        bool held = envmgr_interrupt_hold(); /* the lock must go even after Ctrl-C */
        remove_beats(lock->engine, self()->token);
        engine_lock_remove_if(lock->engine, lock->volume, self()->token);
        envmgr_interrupt_restore(held);
    }
    if (lock->beat_engine)
        envmgr_engine_close(lock->beat_engine);
    if (lock->fd >= 0) {
        held_remove(lock->fd);
        close(lock->fd);
    }
    pthread_cond_destroy(&lock->beat_cond);
    pthread_mutex_destroy(&lock->beat_mu);
    free(lock->volume);
    free(lock->project);
    free(lock);
}

/* ---- uses and the ephemeral mark ------------------------------------------------------------- */
static char *use_volume_name(const char *project)
{
    return envmgr_xasprintf("envtest-use-%s-%s", project, self()->token);
}

int envmgr_env_use_add(envmgr_engine_t *engine, const char *project, envmgr_error_t *err)
{
    envmgr_kvlist_t labels = {0};
    identity_labels(&labels, "io.envtest.use", project, "run");
    envmgr_cleanup_free char *name = use_volume_name(project);
    int r = envmgr_engine_volume_create(engine, name, &labels, err);
    envmgr_kvlist_free(&labels);
    return r;
}

int envmgr_env_use_remove(envmgr_engine_t *engine, const char *project, envmgr_error_t *err)
{
    envmgr_cleanup_free char *name = use_volume_name(project);
    if (envmgr_engine_volume_remove(engine, name, true, err) < 0 && err->kind != ENVMGR_E_NOT_FOUND)
        return -1;
    envmgr_error_clear(err);
    return 0;
}

int envmgr_env_other_uses(envmgr_engine_t *engine, const char *project, int *count,
                          envmgr_error_t *err)
{
    *count = 0;
    envmgr_cleanup_free char *filter = envmgr_xasprintf("io.envtest.use=%s", project);
    envmgr_cleanup_json json_t *vols = NULL;
    if (envmgr_engine_volume_list(engine, filter, &vols, err) < 0)
        return -1;
    for (size_t i = 0; i < json_array_size(vols); i++) {
        json_t *v = json_array_get(vols, i);
        json_t *labels = json_object_get(v, "Labels");
        if (strcmp(label(labels, "io.envtest.use", "token"), self()->token) == 0)
            continue;
        if (holder_liveness(labels, "io.envtest.use") == HOLDER_DEAD) {
            envmgr_error_t ignored = {0};
            envmgr_engine_volume_remove(engine, json_string_value(json_object_get(v, "Name")), true,
                                        &ignored);
            continue;
        }
        (*count)++;
    }
    return 0;
}

static char *ephemeral_volume_name(const char *project)
{
    return envmgr_xasprintf("%s_envtest-ephemeral", project);
}

int envmgr_env_ephemeral_set(envmgr_engine_t *engine, const char *project, bool on,
                             envmgr_error_t *err)
{
    envmgr_cleanup_free char *name = ephemeral_volume_name(project);
    envmgr_kvlist_t labels = {0};
    identity_labels(&labels, ENVMGR_LABEL_EPHEMERAL, project, "");
    envmgr_kvlist_set(&labels, "io.envtest.project", project);
    int r = envmgr_env_mark_set(engine, name, on ? &labels : NULL, err);
    envmgr_kvlist_free(&labels);
    return r;
}

int envmgr_env_ephemeral_get(envmgr_engine_t *engine, const char *project, bool *on,
                             envmgr_error_t *err)
{
    *on = false;
    envmgr_cleanup_free char *name = ephemeral_volume_name(project);
    envmgr_cleanup_free char *p = envmgr_xasprintf("/volumes/%s", name);
    envmgr_cleanup_json json_t *reply = NULL;
    if (envmgr_engine_request(engine, "GET", p, NULL, &reply, err) < 0) {
        if (err->kind != ENVMGR_E_NOT_FOUND)
            return -1;
        envmgr_error_clear(err);
        return 0;
    }
    *on = true;
    return 0;
}

/* ---- gc -------------------------------------------------------------------------------------- */
static bool volume_exists(envmgr_engine_t *engine, const char *name)
{
    envmgr_cleanup_free char *path = envmgr_xasprintf("/volumes/%s", name);
    envmgr_error_t ignored = {0};
    return envmgr_engine_request(engine, "GET", path, NULL, NULL, &ignored) == 0;
}

static bool reaper_running(envmgr_engine_t *engine, const char *project)
{
    envmgr_cleanup_free char *path =
        envmgr_xasprintf("/containers/envtest-reaper-%s/json", project);
    envmgr_cleanup_json json_t *c = NULL;
    envmgr_error_t ignored = {0};
    return envmgr_engine_request(engine, "GET", path, NULL, &c, &ignored) == 0 &&
           json_is_true(json_object_get(json_object_get(c, "State"), "Running"));
}

int envmgr_gc_check(envmgr_engine_t *engine, envmgr_strv_t *gone, envmgr_error_t *err)
{
    envmgr_cleanup_json json_t *vols = NULL;
    if (envmgr_engine_volume_list(engine, ENVMGR_LABEL_EPHEMERAL, &vols, err) < 0)
        return -1;
    for (size_t i = 0; i < json_array_size(vols); i++) {
        json_t *labels = json_object_get(json_array_get(vols, i), "Labels");
        const char *project = json_string_value(json_object_get(labels, ENVMGR_LABEL_EPHEMERAL));
        if (project && holder_liveness(labels, ENVMGR_LABEL_EPHEMERAL) == HOLDER_DEAD)
            envmgr_strv_push(gone, project);
    }
    return 0;
}

static void gc_markers(envmgr_engine_t *engine, const char *prefix, int *removed)
{
    envmgr_cleanup_json json_t *vols = NULL;
    envmgr_error_t ignored = {0};
    if (envmgr_engine_volume_list(engine, prefix, &vols, &ignored) < 0)
        return;
    for (size_t i = 0; i < json_array_size(vols); i++) {
        json_t *v = json_array_get(vols, i);
        if (holder_liveness(json_object_get(v, "Labels"), prefix) != HOLDER_DEAD)
            continue;
        const char *name = json_string_value(json_object_get(v, "Name"));
        if (name && envmgr_engine_volume_remove(engine, name, true, &ignored) == 0)
            (*removed)++;
        if (strcmp(prefix, ENVMGR_LABEL_LOCK) == 0) /* and its heartbeats */
            remove_beats(engine, label(json_object_get(v, "Labels"), prefix, "token"));
    }
}

void envmgr_gc_stale_marks(envmgr_engine_t *engine, int *removed)
{
    gc_markers(engine, ENVMGR_LABEL_LOCK, removed);
    gc_markers(engine, "io.envtest.use", removed);
}

int envmgr_gc(envmgr_engine_t *engine, envmgr_gc_cb cb, void *userdata, int *removed,
              envmgr_error_t *err)
{
    *removed = 0;
    envmgr_strv_t gone = {0};
    if (envmgr_gc_check(engine, &gone, err) < 0)
        return -1;
    int ret = 0;
    for (size_t i = 0; i < gone.n && ret == 0; i++) {
        const char *project = gone.items[i];
        envmgr_cleanup_free char *keep = envmgr_xasprintf("%s_envtest-keep", project);
        int others = 0;
        if (volume_exists(engine, keep) || reaper_running(engine, project) ||
            envmgr_env_other_uses(engine, project, &others, err) < 0 || others > 0) {
            envmgr_error_clear(err);
            continue;
        }
        envmgr_lock_t *lock = NULL;
        envmgr_lock_options_t opts = {.command = "gc", .timeout_ms = 10000};
        if (envmgr_lock_acquire(engine, project, &opts, &lock, err) < 0) {
            ret = -1;
            break;
        }
        int n = 0;
        ret = envmgr_down(engine, project, true, NULL, NULL, &n, err);
        envmgr_lock_release(lock);
        if (ret == 0) {
            *removed += n;
            if (cb)
                cb(userdata, project, n);
        }
    }
    envmgr_strv_free(&gone);
    if (ret < 0)
        return -1;
    envmgr_gc_stale_marks(engine, removed);
    /* reaper containers that stopped without removing themselves (the engine died under them) */
    envmgr_cleanup_json json_t *reapers = NULL;
    envmgr_error_t ignored = {0};
    if (envmgr_engine_container_list(engine, "io.envtest.reaper", true, &reapers, &ignored) == 0)
        for (size_t i = 0; i < json_array_size(reapers); i++) {
            json_t *c = json_array_get(reapers, i);
            const char *state = json_string_value(json_object_get(c, "State"));
            const char *id = json_string_value(json_object_get(c, "Id"));
            if (id && state && strcmp(state, "running") != 0 &&
                envmgr_engine_container_remove(engine, id, true, false, &ignored) == 0)
                (*removed)++;
        }
    return 0;
}
