#include "docker_util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <envmgr/util.h>

extern char **environ;

static char *envtest_binary(void)
{
    const char *bin = getenv("ENVTEST_BINARY_DIR");
    return envmgr_xasprintf("%s/cmd/envtest", bin ? bin : "build");
}

char *test_source_path(const char *relative)
{
    const char *src = getenv("ENVTEST_SOURCE_DIR");
    return envmgr_xasprintf("%s/%s", src ? src : ".", relative);
}

static char **build_envp(const char *const *extra)
{
    size_t n = 0, k = 0;
    while (environ[n])
        n++;
    while (extra && extra[k])
        k++;
    char **envp = envmgr_xcalloc(n + k + 1, sizeof(char *));
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        bool overridden = false;
        for (size_t j = 0; j < k; j++) {
            size_t len = strcspn(extra[j], "=");
            if (strncmp(environ[i], extra[j], len) == 0 && environ[i][len] == '=')
                overridden = true;
        }
        if (!overridden)
            envp[m++] = environ[i];
    }
    for (size_t j = 0; j < k; j++)
        envp[m++] = (char *)extra[j];
    envp[m] = NULL;
    return envp;
}

static char **build_argv(const char *const *args)
{
    size_t n = 0;
    while (args[n])
        n++;
    char **argv = envmgr_xcalloc(n + 2, sizeof(char *));
    argv[0] = envtest_binary();
    for (size_t i = 0; i < n; i++)
        argv[i + 1] = (char *)args[i];
    return argv;
}

void test_envtest(test_run_t *run, const char *const *args, const char *const *env)
{
    int out_pipe[2], err_pipe[2];
    memset(run, 0, sizeof(*run));
    if (pipe2(out_pipe, O_CLOEXEC) < 0 || pipe2(err_pipe, O_CLOEXEC) < 0)
        abort();
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, out_pipe[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&fa, err_pipe[1], STDERR_FILENO);
    posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    char **argv = build_argv(args);
    char **envp = build_envp(env);
    pid_t pid;
    int r = posix_spawn(&pid, argv[0], &fa, NULL, argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    close(out_pipe[1]);
    close(err_pipe[1]);
    envmgr_buf_t out = ENVMGR_BUF_INIT, err = ENVMGR_BUF_INIT;
    envmgr_buf_adds(&out, "");
    envmgr_buf_adds(&err, "");
    if (r == 0) {
        struct pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
        int open_fds = 2;
        while (open_fds > 0) {
            if (poll(fds, 2, -1) < 0 && errno != EINTR)
                break;
            for (int i = 0; i < 2; i++) {
                if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP)))
                    continue;
                char chunk[8192];
                ssize_t n = read(fds[i].fd, chunk, sizeof(chunk));
                if (n <= 0) {
                    fds[i].fd = -1;
                    open_fds--;
                } else {
                    envmgr_buf_add(i == 0 ? &out : &err, chunk, (size_t)n);
                }
            }
        }
        int status;
        waitpid(pid, &status, 0);
        run->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    } else {
        run->exit_code = 127;
    }
    close(out_pipe[0]);
    close(err_pipe[0]);
    run->out = envmgr_buf_detach(&out);
    run->err = envmgr_buf_detach(&err);
    free(argv[0]);
    free(argv);
    free(envp);
}

int test_envtest_spawn(const char *const *args, const char *const *env, const char *out_path,
                       const char *err_path)
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, out_path, O_WRONLY | O_CREAT | O_TRUNC,
                                     0644);
    posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, err_path, O_WRONLY | O_CREAT | O_TRUNC,
                                     0644);
    posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    char **argv = build_argv(args);
    char **envp = build_envp(env);
    pid_t pid = -1;
    if (posix_spawn(&pid, argv[0], &fa, NULL, argv, envp) != 0)
        pid = -1;
    posix_spawn_file_actions_destroy(&fa);
    free(argv[0]);
    free(argv);
    free(envp);
    return pid;
}

void test_run_free(test_run_t *run)
{
    free(run->out);
    free(run->err);
    run->out = run->err = NULL;
}

envmgr_engine_t *test_engine_or_skip(void)
{
    envmgr_engine_t *engine = NULL;
    envmgr_error_t err = {0};
    if (envmgr_engine_open(NULL, &engine, &err) < 0) {
        fprintf(stderr, "docker engine unreachable: %s\n", err.message);
        return NULL;
    }
    return engine;
}

int test_project_leftovers(envmgr_engine_t *engine, const char *project)
{
    envmgr_cleanup_free char *filter = envmgr_xasprintf("io.envtest.project=%s", project);
    envmgr_error_t err = {0};
    int count = 0;
    json_t *list = NULL;
    if (envmgr_engine_container_list(engine, filter, true, &list, &err) == 0)
        count += (int)json_array_size(list);
    json_decref(list);
    list = NULL;
    if (envmgr_engine_network_list(engine, filter, &list, &err) == 0)
        count += (int)json_array_size(list);
    json_decref(list);
    list = NULL;
    if (envmgr_engine_volume_list(engine, filter, &list, &err) == 0)
        count += (int)json_array_size(list);
    json_decref(list);
    return count;
}

char *test_busybox_context(void)
{
    char tmpl[] = "/tmp/envtest-busybox-XXXXXX";
    if (!mkdtemp(tmpl))
        abort();
    char *dir = envmgr_xstrdup(tmpl);
    envmgr_cleanup_free char *dockerfile = envmgr_xasprintf("%s/Dockerfile", dir);
    const char text[] = "FROM scratch\n"
                        "COPY busybox /bin/busybox\n"
                        "RUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]\n"
                        "RUN [\"/bin/busybox\", \"mkdir\", \"-p\", \"/www\", \"/tmp\"]\n"
                        "CMD [\"sh\"]\n";
    envmgr_error_t err = {0};
    if (envmgr_write_file(dockerfile, text, sizeof(text) - 1, &err) < 0)
        abort();
    char *data = NULL;
    size_t len = 0;
    if (envmgr_read_file("/bin/busybox", &data, &len, &err) < 0) {
        fprintf(stderr, "%s (apt-get install busybox-static)\n", err.message);
        abort();
    }
    envmgr_cleanup_free char *bin = envmgr_xasprintf("%s/busybox", dir);
    if (envmgr_write_file(bin, data, len, &err) < 0)
        abort();
    chmod(bin, 0755);
    free(data);
    return dir;
}

const char *test_mysql_image(void)
{
    const char *image = getenv("ENVTEST_MYSQL_IMAGE");
    return image && *image ? image : "envtest/mysql-offline:10.11";
}

void test_rm_rf(const char *path)
{
    envmgr_cleanup_free char *cmd = envmgr_xasprintf("rm -rf '%s'", path);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", path);
}
