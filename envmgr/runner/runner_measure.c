/* See runner_measure.h. Why rusage and /proc rather than a cgroup per suite: see runner.h. */
#include "runner_measure.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int64_t timeval_ms(struct timeval tv)
{
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static ssize_t read_proc(pid_t pid, const char *name, char *buf, size_t size)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, size - 1);
    close(fd);
    if (n >= 0)
        buf[n] = '\0';
    return n;
}

/* utime + stime + cutime + cstime (the process and the children it waited for), in ms. */
static int proc_cpu_ms(pid_t pid, int64_t *out)
{
    char buf[1024];
    if (read_proc(pid, "stat", buf, sizeof(buf)) <= 0)
        return -1;
    const char *p = strrchr(buf, ')');
    if (p == NULL)
        return -1;
    /* after ")": state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt, then
     * utime stime cutime cstime (fields 14-17 of proc(5)) */
    char state;
    long long skip, ut, st, cut, cst;
    if (sscanf(p + 1, " %c %lld %lld %lld %lld %lld %lld %lld %lld %lld %lld %lld %lld %lld %lld",
               &state, &skip, &skip, &skip, &skip, &skip, &skip, &skip, &skip, &skip, &skip, &ut,
               &st, &cut, &cst) != 15)
        return -1;
    long hz = sysconf(_SC_CLK_TCK);
    *out = (ut + st + cut + cst) * 1000 / (hz > 0 ? hz : 100);
    return 0;
}

/* The window's peak RSS (VmHWM) in KiB, then the high-water mark reset (clear_refs 5, Linux >=
 * 4.0) so that the next window starts from the current RSS. -1 when unreadable (a zombie). */
static int64_t proc_window_peak_kb(pid_t pid)
{
    char buf[4096];
    if (read_proc(pid, "status", buf, sizeof(buf)) <= 0)
        return -1;
    const char *p = strstr(buf, "\nVmHWM:");
    if (p == NULL)
        return -1;
    int64_t kb = strtoll(p + 7, NULL, 10);
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/clear_refs", (int)pid);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
        if (write(fd, "5", 1) < 0) {
            /* not resettable: the figure stays the peak since the start */
        }
        close(fd);
    }
    return kb;
}

void suite_meter_start(suite_meter_t *meter, pid_t pid)
{
    *meter = (suite_meter_t){.pid = pid};
}

void suite_meter_sample(suite_meter_t *meter, envmgr_tap_parser_t *tap)
{
    size_t n;
    envmgr_tap_test_t *tests = tap ? envmgr_tap_parser_tests(tap, &n) : NULL;
    if (tests == NULL || n <= meter->measured || meter->pid <= 0)
        return;
    int64_t cpu, peak = proc_window_peak_kb(meter->pid);
    if (peak < 0 || proc_cpu_ms(meter->pid, &cpu) < 0)
        return; /* exited: suite_meter_finish measures these tests */
    if (peak > meter->peak_kb)
        meter->peak_kb = peak;
    /* tests of one chunk share its window: the last gets the CPU time */
    for (size_t i = meter->measured; i < n; i++) {
        tests[i].measured = true;
        tests[i].cpu_ms = i + 1 == n ? cpu - meter->last_cpu_ms : 0;
        tests[i].peak_rss_kb = peak;
    }
    meter->last_cpu_ms = cpu;
    meter->measured = n;
}

void suite_meter_finish(suite_meter_t *meter, const struct rusage *usage, envmgr_tap_parser_t *tap,
                        envmgr_suite_attempt_t *outcome)
{
    outcome->measured = true;
    outcome->cpu_user_ms = timeval_ms(usage->ru_utime);
    outcome->cpu_system_ms = timeval_ms(usage->ru_stime);
    /* ru_maxrss covers the last window of the main process (its mark was reset at each sample)
     * and the largest of its waited-for descendants */
    outcome->peak_rss_kb = usage->ru_maxrss > meter->peak_kb ? usage->ru_maxrss : meter->peak_kb;
    size_t n;
    envmgr_tap_test_t *tests = tap ? envmgr_tap_parser_tests(tap, &n) : NULL;
    if (tests == NULL || n <= meter->measured)
        return;
    int64_t total = outcome->cpu_user_ms + outcome->cpu_system_ms;
    for (size_t i = meter->measured; i < n; i++) {
        tests[i].measured = true;
        tests[i].cpu_ms = i + 1 == n && total > meter->last_cpu_ms ? total - meter->last_cpu_ms : 0;
        tests[i].peak_rss_kb = usage->ru_maxrss;
    }
    meter->measured = n;
}
