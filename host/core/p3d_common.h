/* p3d_common.h - status codes, error messages, logging and the abort path shared by every file.
 *
 * Two tiers of failure (see DEVELOPERS.md):
 *   - Recoverable: bad input, I/O, OOM, device errors. A function returns a p3d_status and records a
 *     message with p3d_fail(); callers pass the status up to the CLI, which prints p3d_last_error().
 *       if (!f) return p3d_fail(P3D_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
 *   - Programmer errors (broken invariants): P3D_ASSERT / P3D_ABORT, which never depend on NDEBUG.
 *
 * Messages are kept per thread (C11 _Thread_local), so batch workers do not overwrite each other. */
#ifndef P3D_COMMON_H
#define P3D_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum p3d_status {
    P3D_OK = 0,
    P3D_ERR_INVALID_ARG = 1, /* a parameter or option is out of range or malformed */
    P3D_ERR_IO = 2,          /* a file cannot be opened, read or written */
    P3D_ERR_FORMAT = 3,      /* a file's contents are corrupt, truncated or of an unsupported kind */
    P3D_ERR_OOM = 4,         /* host or device allocation failed */
    P3D_ERR_UNSUPPORTED = 5, /* feature not compiled in, or not available on this machine */
    P3D_ERR_DEVICE = 6,      /* CUDA / cuDNN / cuBLAS reported an error */
    P3D_ERR_MODEL = 7,       /* weights missing, unknown, or of the wrong shape */
    P3D_ERR_INTERRUPTED = 8, /* stopped by a signal (Ctrl-C) */
} p3d_status;

/* "ok", "invalid argument", ... */
const char *p3d_status_str(p3d_status st);

/* Records a formatted message for this thread and returns st, so it can end a `return` statement. */
p3d_status p3d_fail(p3d_status st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prepends "prefix: " to this thread's last message (adds context on the way up) and returns st. */
p3d_status p3d_fail_context(p3d_status st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* This thread's last message ("" when none). Valid until the next p3d_fail on the same thread. */
const char *p3d_last_error(void);
void p3d_clear_error(void);

/* Propagates a non-OK status to the caller. */
#define P3D_TRY(expr)                                                                              \
    do {                                                                                           \
        p3d_status p3d_try_st_ = (expr);                                                           \
        if (p3d_try_st_ != P3D_OK) return p3d_try_st_;                                             \
    } while (0)

/* ---- programmer errors ---------------------------------------------------------------------- */
#ifdef __cplusplus
#define P3D_NORETURN [[noreturn]]
#else
#define P3D_NORETURN _Noreturn
#endif

typedef void (*p3d_abort_fn)(const char *message);
/* Replaces what happens before abort() (tests use it to assert that an invariant fires). */
void p3d_set_abort_callback(p3d_abort_fn fn);
P3D_NORETURN void p3d_abort_at(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define P3D_ABORT(...) p3d_abort_at(__FILE__, __LINE__, __VA_ARGS__)
#define P3D_ASSERT(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) P3D_ABORT("assertion failed: %s", #cond);                                     \
    } while (0)

/* ---- logging (stderr) ------------------------------------------------------------------------ */
typedef enum p3d_log_level {
    P3D_LOG_ERROR = 0,
    P3D_LOG_WARN = 1,
    P3D_LOG_INFO = 2,
    P3D_LOG_DEBUG = 3,
} p3d_log_level;

void p3d_log_set_level(p3d_log_level level);
p3d_log_level p3d_log_get_level(void);
void p3d_log(p3d_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Monotonic clock in seconds. */
double p3d_time_now(void);

/* Checked size arithmetic: return 0 on overflow (and leave *out untouched), 1 otherwise. */
int p3d_size_mul(size_t a, size_t b, size_t *out);
int p3d_size_add(size_t a, size_t b, size_t *out);

#ifdef __cplusplus
}
#endif
#endif
