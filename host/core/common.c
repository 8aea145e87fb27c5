/* common.c - error recording, abort path, logging, clocks, checked size arithmetic. */
#include "core/p3d_common.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define P3D_ERRMSG_MAX 1024

static _Thread_local char g_errmsg[P3D_ERRMSG_MAX];
static p3d_abort_fn g_abort_fn = NULL;
static p3d_log_level g_log_level = P3D_LOG_INFO;

const char *p3d_status_str(p3d_status st) {
    switch (st) {
    case P3D_OK: return "ok";
    case P3D_ERR_INVALID_ARG: return "invalid argument";
    case P3D_ERR_IO: return "I/O error";
    case P3D_ERR_FORMAT: return "bad file format";
    case P3D_ERR_OOM: return "out of memory";
    case P3D_ERR_UNSUPPORTED: return "unsupported";
    case P3D_ERR_DEVICE: return "device error";
    case P3D_ERR_MODEL: return "model error";
    case P3D_ERR_INTERRUPTED: return "interrupted";
    }
    return "unknown status";
}

p3d_status p3d_fail(p3d_status st, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_errmsg, sizeof g_errmsg, fmt, ap);
    va_end(ap);
    return st;
}

p3d_status p3d_fail_context(p3d_status st, const char *fmt, ...) {
    char prefix[P3D_ERRMSG_MAX];
    char old[P3D_ERRMSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, g_errmsg, sizeof old);
    snprintf(g_errmsg, sizeof g_errmsg, "%.400s: %.600s", prefix, old[0] ? old : p3d_status_str(st));
    return st;
}

const char *p3d_last_error(void) { return g_errmsg; }
void p3d_clear_error(void) { g_errmsg[0] = '\0'; }

void p3d_set_abort_callback(p3d_abort_fn fn) { g_abort_fn = fn; }

P3D_NORETURN void p3d_abort_at(const char *file, int line, const char *fmt, ...) {
    char msg[P3D_ERRMSG_MAX];
    int n = snprintf(msg, sizeof msg, "%s:%d: internal error: ", file, line);
    if (n < 0) n = 0;
    if ((size_t)n < sizeof msg) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg + n, sizeof msg - (size_t)n, fmt, ap);
        va_end(ap);
    }
    if (g_abort_fn) g_abort_fn(msg);
    fprintf(stderr, "photo3d-gpu: %s\n", msg);
    fflush(stderr);
    abort();
}

void p3d_log_set_level(p3d_log_level level) { g_log_level = level; }
p3d_log_level p3d_log_get_level(void) { return g_log_level; }

void p3d_log(p3d_log_level level, const char *fmt, ...) {
    static const char *const tags[] = {"error: ", "warning: ", "", "debug: "};
    if (level > g_log_level) return;
    char msg[P3D_ERRMSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* One fprintf per line so lines from worker threads never interleave mid-line. */
    fprintf(stderr, "photo3d-gpu: %s%s\n", tags[level], msg);
}

double p3d_time_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int p3d_size_mul(size_t a, size_t b, size_t *out) {
    if (a != 0 && b > SIZE_MAX / a) return 0;
    *out = a * b;
    return 1;
}

int p3d_size_add(size_t a, size_t b, size_t *out) {
    if (b > SIZE_MAX - a) return 0;
    *out = a + b;
    return 1;
}
