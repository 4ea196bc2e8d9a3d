/* A TAP suite that allocates and touches N MB (argv[1], default 200) in test 2, then frees it;
 * test 1 burns a little CPU. For the monitor's tests: its peak RSS is compared with GNU time's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    long mb = argc > 1 ? strtol(argv[1], NULL, 10) : 200;
    printf("TAP version 13\n1..2\n");
    volatile unsigned long x = 0;
    for (unsigned long i = 0; i < 50UL * 1000 * 1000; i++)
        x += i;
    printf("ok 1 - spin\n");
    fflush(stdout);
    size_t size = (size_t)mb * 1024 * 1024;
    char *p = malloc(size);
    if (p == NULL) {
        printf("not ok 2 - malloc %ld MB\n", mb);
        return 1;
    }
    memset(p, 1, size);
    printf("ok 2 - allocated %ld MB (%d)\n", mb, p[size / 2]);
    free(p);
    return 0;
}
