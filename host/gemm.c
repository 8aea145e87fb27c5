/* gemm.c - row-major sgemm: OpenBLAS when present, else a plain loop nest. */
#include "gemm.h"

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

void p3d_sgemm(int32_t trans_a, int32_t trans_b, int64_t m, int64_t n, int64_t k, float alpha,
               const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c, int64_t ldc) {
    if (m <= 0 || n <= 0) return;
#ifdef P3D_HAVE_OPENBLAS
    /* cblas takes int dimensions; the conv tiles stay far below INT_MAX, anything else falls back. */
    if (m <= INT_MAX && n <= INT_MAX && k <= INT_MAX && lda <= INT_MAX && ldb <= INT_MAX && ldc <= INT_MAX) {
        cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
                    (int)m, (int)n, (int)k, alpha, a, (int)lda, b, (int)ldb, beta, c, (int)ldc);
        return;
    }
#endif
    p3d_sgemm_ref(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
