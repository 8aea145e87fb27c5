/* gemm.h - single-precision matrix product on the CPU (the engine under conv2d's im2col path).
 *
 *   C = alpha * op(A) * op(B) + beta * C, row-major; op(A) is M x K, op(B) is K x N, C is M x N.
 *
 * p3d_sgemm calls OpenBLAS's cblas_sgemm when the build has it (P3D_HAVE_OPENBLAS; single-threaded
 * OpenBLAS, one call per OpenMP thread on a block of C; callers invoke it from one thread) and
 * p3d_sgemm_ref otherwise. p3d_sgemm_ref is a
 * plain loop nest (OpenMP over the rows of C), kept public so a test can compare the two. */
#ifndef P3D_GEMM_H
#define P3D_GEMM_H

#include "core/p3d_common.h"

#ifdef __cplusplus
extern "C" {
#endif

void p3d_sgemm(int32_t trans_a, int32_t trans_b, int64_t m, int64_t n, int64_t k, float alpha,
               const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c, int64_t ldc);

void p3d_sgemm_ref(int32_t trans_a, int32_t trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                   const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c, int64_t ldc);

#ifdef __cplusplus
}
#endif
#endif
