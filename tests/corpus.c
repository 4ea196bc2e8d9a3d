#include "corpus.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>

long corpus_each(const char *name, void (*fn)(void *ud, const char *path, const char *file),
                 void *ud)
{
    const char *src = getenv("ENVTEST_SOURCE_DIR");
    if (src == NULL)
        return -2;
    char dir[4096], path[4096 + 256];
    snprintf(dir, sizeof(dir), "%s/tests/fuzz/corpus/%s", src, name);
    DIR *d = opendir(dir);
    if (d == NULL)
        return -1;
    long n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        fn(ud, path, e->d_name);
        n++;
    }
    closedir(d);
    return n;
}
