/* gemm.c - row-major sgemm: OpenBLAS when present, else a plain loop nest. */
#include "nn/gemm.h"

#ifdef P3D_HAVE_OPENMP
#include <omp.h>
#else
#define omp_in_parallel() 0
#endif

#ifdef P3D_HAVE_OPENBLAS
#include <cblas.h>
#include <limits.h>
#endif

void p3d_sgemm_ref(int32_t trans_a, int32_t trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                   const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c, int64_t ldc) {
#ifdef P3D_HAVE_OPENMP
#pragma omp parallel for schedule(static)
#endif
    for (int64_t i = 0; i < m; i++) {
        float *ci = c + i * ldc;
        for (int64_t j = 0; j < n; j++) ci[j] = beta == 0.0f ? 0.0f : beta * ci[j];
        for (int64_t p = 0; p < k; p++) {
            float av = alpha * (trans_a ? a[p * lda + i] : a[i * lda + p]);
            if (trans_b) {
                for (int64_t j = 0; j < n; j++) ci[j] += av * b[j * ldb + p];
            } else {
                const float *bp = b + p * ldb;
                for (int64_t j = 0; j < n; j++) ci[j] += av * bp[j];
            }
        }
    }
}

/* One threading system owns the cores: OpenBLAS runs single-threaded and OpenMP splits C into column
 * blocks (or row blocks when C is narrow), one cblas_sgemm per thread. Letting OpenBLAS's own threads
 * run while OpenMP's spin-wait between the conv's parallel regions made the nets 2-3x slower on a
 * 2-core machine. The blocks have a fixed size (P3D_GEMM_BLOCK_COLS columns, or P3D_GEMM_BLOCK_ROWS
 * rows when C is narrow), never one derived from the thread count, so every element is summed in the
 * same order whatever the number of threads: results depend on the shapes only. 256 columns give the
 * edge net's 32 x 32 residual blocks (most of its work at the learned fill's 128 x 128 patches) four
 * blocks to share out; with 1024 they ran on one thread while the other waited. (OpenBLAS picks its
 * kernels by shape, so the width moves results by rounding: the edge net's CPU output against
 * PyTorch went from 1.18e-6 to 1.48e-6 of its range, test_inpaint_nets.) */
#define P3D_GEMM_BLOCK_COLS 256
#define P3D_GEMM_BLOCK_ROWS 128
#ifdef P3D_HAVE_OPENBLAS
static void sgemm_block(int32_t trans_a, int32_t trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                        const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c, int64_t ldc) {
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, (int)m,
                (int)n, (int)k, alpha, a, (int)lda, b, (int)ldb, beta, c, (int)ldc);
}

static void openblas_single_threaded(void) {
    static int done; /* benign race: every thread stores the same value */
    if (!done) {
        openblas_set_num_threads(1);
        done = 1;
    }
}
#endif

void p3d_sgemm(int32_t trans_a, int32_t trans_b, int64_t m, int64_t n, int64_t k, float alpha,
               const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c, int64_t ldc) {
    if (m <= 0 || n <= 0) return;
#ifdef P3D_HAVE_OPENBLAS
    /* cblas takes int dimensions; the conv tiles stay far below INT_MAX, anything else falls back. */
    if (m <= INT_MAX && n <= INT_MAX && k <= INT_MAX && lda <= INT_MAX && ldb <= INT_MAX && ldc <= INT_MAX) {
        openblas_single_threaded();
        const int by_cols = n >= m;
        const int64_t extent = by_cols ? n : m, step = by_cols ? P3D_GEMM_BLOCK_COLS : P3D_GEMM_BLOCK_ROWS;
#pragma omp parallel for schedule(dynamic) if (extent > step && !omp_in_parallel())
        for (int64_t i0 = 0; i0 < extent; i0 += step) {
            const int64_t len = extent - i0 < step ? extent - i0 : step;
            if (by_cols) /* columns i0.. of op(B) and C */
                sgemm_block(trans_a, trans_b, m, len, k, alpha, a, lda, trans_b ? b + i0 * ldb : b + i0, ldb, beta,
                            c + i0, ldc);
            else /* rows i0.. of op(A) and C */
                sgemm_block(trans_a, trans_b, len, n, k, alpha, trans_a ? a + i0 : a + i0 * lda, lda, b, ldb, beta,
                            c + i0 * ldc, ldc);
        }
        return;
    }
#endif
    p3d_sgemm_ref(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
