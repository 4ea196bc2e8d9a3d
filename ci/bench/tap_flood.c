/* A TAP suite for the benchmarks: prints MIB mebibytes (default 10) of TAP: TESTS passing tests
 * (default 1000), each followed by comment lines up to its share of the output. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    long mib = argc > 1 ? atol(argv[1]) : 10;
    long tests = argc > 2 ? atol(argv[2]) : 1000;
    if (mib < 0 || tests < 1)
        return 2;
    long per_test = mib * 1024 * 1024 / tests;
    static char line[101];
    memset(line, 'x', sizeof(line) - 1);
    line[0] = '#';
    line[1] = ' ';
    line[99] = '\n';
    static char buf[1 << 16];
    setvbuf(stdout, buf, _IOFBF, sizeof(buf));
    printf("TAP version 13\n1..%ld\n", tests);
    for (long t = 1; t <= tests; t++) {
        long n = printf("ok %ld - test %ld\n", t, t);
        for (; n + 100 <= per_test; n += 100)
            fwrite(line, 1, 100, stdout);
    }
    return 0;
}
