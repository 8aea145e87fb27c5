/* instance_norm.h - InstanceNorm2d(affine=False, track_running_stats=False), optionally followed by
 * an activation, NCHW float32, CPU and CUDA.
 *
 *   y[n][c] = act((x[n][c] - mean) / sqrt(var + eps))     statistics per (n, c) plane over H*W
 *
 * One definition on both backends (instance_norm_math.h), two passes in double precision:
 *   mean    = (sum_i x_i) / (H*W)
 *   var     = (sum_i (x_i - mean)^2) / (H*W)       (biased, as PyTorch; second pass about the mean)
 *   inv_std = 1 / sqrt(var + eps)
 *   y_i     = act((float)((x_i - mean) * inv_std))  (double, rounded to float once)
 * The CPU sums each plane in order, the GPU as a tree: with double accumulators the two agree to
 * ~1e-16 relative before the final rounding to float, so outputs match except in rare ties.
 * The edge net uses eps 1e-5 (P3D_INSTANCE_NORM_EPS). y may be x (in place). */
#ifndef P3D_INSTANCE_NORM_H
#define P3D_INSTANCE_NORM_H

#include "core/backend.h"
#include "nn/nn_common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define P3D_INSTANCE_NORM_EPS 1e-5f

p3d_status p3d_instance_norm(p3d_ctx *ctx, const p3d_tensor *x, p3d_tensor *y, float eps, p3d_act act, float slope);

p3d_status p3d_instance_norm_cpu(const p3d_tensor *x, p3d_tensor *y, float eps, p3d_act act, float slope);

#ifdef P3D_HAVE_CUDA
struct p3d_cuda_ctx;
p3d_status p3d_instance_norm_cuda(struct p3d_cuda_ctx *ctx, const p3d_tensor *x, p3d_tensor *y, float eps, p3d_act act,
                                  float slope);
#endif

#ifdef __cplusplus
}
#endif
#endif
