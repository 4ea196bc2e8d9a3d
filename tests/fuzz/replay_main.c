/* main() for a libFuzzer target built without libFuzzer (every build, ASan included): runs
 * LLVMFuzzerTestOneInput on each file of the corpus folders given, so that a committed input that
 * once crashed stays a unit test. Fails when a folder cannot be read or holds no file; a finding
 * aborts, as under libFuzzer. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return -1;
    size_t cap = 4096, len = 0;
    uint8_t *buf = malloc(cap);
    size_t n;
    while (buf && (n = fread(buf + len, 1, cap - len, f)) > 0) {
        len += n;
        if (len == cap) {
            uint8_t *bigger = realloc(buf, cap *= 2);
            if (bigger == NULL)
                free(buf);
            buf = bigger;
        }
    }
    fclose(f);
    if (buf == NULL)
        return -1;
    LLVMFuzzerTestOneInput(buf, len);
    free(buf);
    return 0;
}

int main(int argc, char **argv)
{
    long files = 0;
    for (int i = 1; i < argc; i++) {
        DIR *d = opendir(argv[i]);
        if (d == NULL) {
            fprintf(stderr, "%s: cannot read the corpus folder\n", argv[i]);
            return 1;
        }
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (e->d_name[0] == '.')
                continue;
            size_t size = strlen(argv[i]) + strlen(e->d_name) + 2;
            char *path = malloc(size);
            snprintf(path, size, "%s/%s", argv[i], e->d_name);
            if (replay_file(path) < 0) {
                fprintf(stderr, "%s: cannot read\n", path);
                free(path);
                closedir(d);
                return 1;
            }
            free(path);
            files++;
        }
        closedir(d);
    }
    printf("%ld inputs replayed\n", files);
    return files > 0 ? 0 : 1;
}
