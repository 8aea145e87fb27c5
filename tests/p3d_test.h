/* p3d_test.h - the tests' tiny harness (header-only, one test program per file).
 *
 *   static void test_something(void) { CHECK(x == 3); CHECK_NEAR(a, b, 1e-6); }
 *   int main(void) { RUN(test_something); return p3d_test_finish(); }
 *
 * Every failed CHECK prints file:line and the expression and makes the program exit 1. SKIP("why")
 * records a skipped case; a program whose every case was skipped exits 77, which ctest reports as
 * skipped, never as passed. The last line is "N passed, N failed, N skipped". */
#ifndef P3D_TEST_H
#define P3D_TEST_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int p3d_t_passed, p3d_t_failed, p3d_t_skipped;
static int p3d_t_case_failed, p3d_t_case_skipped;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "  FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);                      \
            p3d_t_case_failed = 1;                                                                 \
        }                                                                                          \
    } while (0)

#define CHECK_MSG(cond, ...)                                                                       \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "  FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                      \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            p3d_t_case_failed = 1;                                                                 \
        }                                                                                          \
    } while (0)

#define CHECK_NEAR(a, b, tol)                                                                      \
    do {                                                                                           \
        double p3d_a_ = (double)(a), p3d_b_ = (double)(b);                                         \
        if (!(fabs(p3d_a_ - p3d_b_) <= (tol))) {                                                   \
            fprintf(stderr, "  FAIL %s:%d: %s = %.9g, %s = %.9g, tolerance %g\n", __FILE__,        \
                    __LINE__, #a, p3d_a_, #b, p3d_b_, (double)(tol));                              \
            p3d_t_case_failed = 1;                                                                 \
        }                                                                                          \
    } while (0)

/* A status-returning call that must succeed; prints p3d_last_error() otherwise. */
#define CHECK_OK(expr)                                                                             \
    do {                                                                                           \
        p3d_status p3d_st_ = (expr);                                                               \
        if (p3d_st_ != P3D_OK) {                                                                   \
            fprintf(stderr, "  FAIL %s:%d: %s -> %s: %s\n", __FILE__, __LINE__, #expr,             \
                    p3d_status_str(p3d_st_), p3d_last_error());                                   \
            p3d_t_case_failed = 1;                                                                 \
        }                                                                                          \
    } while (0)

/* A call that must fail with `want` and a message containing `needle`. */
#define CHECK_FAILS(expr, want, needle)                                                            \
    do {                                                                                           \
        p3d_clear_error();                                                                         \
        p3d_status p3d_st_ = (expr);                                                               \
        if (p3d_st_ != (want) || !strstr(p3d_last_error(), (needle))) {                            \
            fprintf(stderr, "  FAIL %s:%d: %s -> %s '%s', wanted %s with '%s'\n", __FILE__,       \
                    __LINE__, #expr, p3d_status_str(p3d_st_), p3d_last_error(),                    \
                    p3d_status_str(want), (needle));                                               \
            p3d_t_case_failed = 1;                                                                 \
        }                                                                                          \
    } while (0)

#define SKIP(...)                                                                                  \
    do {                                                                                           \
        fprintf(stderr, "  SKIP: ");                                                               \
        fprintf(stderr, __VA_ARGS__);                                                              \
        fputc('\n', stderr);                                                                       \
        p3d_t_case_skipped = 1;                                                                    \
    } while (0)

#define RUN(fn)                                                                                    \
    do {                                                                                           \
        p3d_t_case_failed = p3d_t_case_skipped = 0;                                                \
        fn();                                                                                      \
        if (p3d_t_case_failed) {                                                                   \
            p3d_t_failed++;                                                                        \
            fprintf(stderr, "FAIL %s\n", #fn);                                                     \
        } else if (p3d_t_case_skipped) {                                                           \
            p3d_t_skipped++;                                                                       \
            fprintf(stderr, "skip %s\n", #fn);                                                     \
        } else {                                                                                   \
            p3d_t_passed++;                                                                        \
            fprintf(stderr, "ok   %s\n", #fn);                                                     \
        }                                                                                          \
    } while (0)

static inline int p3d_test_finish(void) {
    printf("%d passed, %d failed, %d skipped\n", p3d_t_passed, p3d_t_failed, p3d_t_skipped);
    if (p3d_t_failed) return 1;
    if (p3d_t_passed == 0 && p3d_t_skipped > 0) return 77;
    return 0;
}

/* ---- GPU comparisons ----------------------------------------------------------------------------
 * A CPU-vs-CUDA case that cannot run is a SKIP, except where a GPU is required: with
 * P3D_REQUIRE_GPU=1, in the emulated-device build (P3D_CUDA_EMU), or once a test found a device
 * (it sets p3d_t_gpu_present) - then it is a FAIL, so a CUDA context that cannot be created (a
 * cuDNN / driver mismatch) never passes as "skipped". */
static int p3d_t_gpu_present;

static inline int p3d_test_gpu_required(void) {
#ifdef P3D_CUDA_EMU
    (void)p3d_t_gpu_present;
    return 1;
#else
    const char *v = getenv("P3D_REQUIRE_GPU");
    return p3d_t_gpu_present || (v && strcmp(v, "1") == 0);
#endif
}

#define SKIP_GPU(...)                                                                              \
    do {                                                                                           \
        if (p3d_test_gpu_required()) {                                                             \
            fprintf(stderr, "  FAIL %s:%d: a GPU is required (P3D_REQUIRE_GPU=1, a device found, "   \
                            "or the emulated build): ", __FILE__, __LINE__);                       \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            p3d_t_case_failed = 1;                                                                 \
        } else {                                                                                   \
            SKIP(__VA_ARGS__);                                                                     \
        }                                                                                          \
    } while (0)

/* The CUDA case of a test program built without the CUDA backend. */
static inline void p3d_test_no_cuda(void) { SKIP_GPU("CPU-vs-CUDA comparison not run: built without the CUDA backend"); }

/* ../shared/fixtures/<rel> from the source root, or NULL (and a SKIP) when ../shared is absent. */
static inline const char *p3d_test_fixture(const char *rel, char *buf, size_t cap) {
    snprintf(buf, cap, "../shared/fixtures/%s", rel);
    if (access(buf, R_OK) != 0) {
        SKIP("%s not found (../shared is absent beside the project root)", buf);
        return NULL;
    }
    return buf;
}

/* A fresh temporary directory for one test program (removed by the OS's tmp cleaning). */
static inline const char *p3d_test_tmpdir(void) {
    static char dir[256];
    if (!dir[0]) {
        const char *base = getenv("TMPDIR");
        snprintf(dir, sizeof dir, "%s/p3d-test-XXXXXX", base && base[0] ? base : "/tmp");
        if (!mkdtemp(dir)) {
            perror("mkdtemp");
            exit(2);
        }
    }
    return dir;
}

/* <tmpdir>/name in buf. */
static inline const char *p3d_test_tmp_path(const char *name, char *buf, size_t cap) {
    snprintf(buf, cap, "%s/%s", p3d_test_tmpdir(), name);
    return buf;
}

/* Writes n bytes to <tmpdir>/name and returns its path (in buf); exits 2 when it cannot. */
static inline const char *p3d_test_tmp_file(const char *name, const void *data, size_t n, char *buf, size_t cap) {
    FILE *f = fopen(p3d_test_tmp_path(name, buf, cap), "wb");
    if (!f || (n && fwrite(data, 1, n, f) != n) || fclose(f) != 0) {
        perror(buf);
        exit(2);
    }
    return buf;
}

#endif
