/* Resource measurement of one attempt of a suite (runner.c): CPU time and peak RSS of the suite's
 * process tree from wait4's rusage at exit, and per test from /proc/<pid> at each chunk of TAP
 * output that recorded tests (see runner.h for what the figures mean). */
#ifndef ENVMGR_RUNNER_MEASURE_H
#define ENVMGR_RUNNER_MEASURE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include <envmgr/runner.h>
#include <envmgr/tap.h>

typedef struct suite_meter {
    pid_t pid;
    int64_t last_cpu_ms; /* the tree's CPU time at the previous sample */
    int64_t peak_kb;     /* the greatest window peak sampled (VmHWM, reset after each sample) */
    size_t measured;     /* tests measured so far */
} suite_meter_t;

void suite_meter_start(suite_meter_t *meter, pid_t pid);
/* After output was fed to the parser: measures the tests it recorded since the last call. */
void suite_meter_sample(suite_meter_t *meter, envmgr_tap_parser_t *tap);
/* After the process was reaped with wait4: the attempt's totals, and the tests recorded after the
 * last sample (output read after the exit) get what is left. tap may be NULL. */
void suite_meter_finish(suite_meter_t *meter, const struct rusage *usage, envmgr_tap_parser_t *tap,
                        envmgr_suite_attempt_t *outcome);

#endif
