/* concat.h - concatenation of NCHW float32 tensors along channels (torch.cat(xs, dim=1)), CPU and
 * CUDA. The U-Net decoders concatenate [upsampled, skip] features (and their masks, p3d_pmask_concat).
 *
 *   const p3d_tensor *parts[2] = {&up, &skip};                    // (N,Cu,H,W), (N,Cs,H,W)
 *   P3D_TRY(p3d_concat(ctx, parts, 2, &cat));                      // (N,Cu+Cs,H,W)
 *
 * Inputs share N, H, W; y must not overlap any input. */
#ifndef P3D_CONCAT_H
#define P3D_CONCAT_H

#include "core/backend.h"
#include "nn/nn_common.h"

#ifdef __cplusplus
extern "C" {
#endif

p3d_status p3d_concat(p3d_ctx *ctx, const p3d_tensor *const *xs, int32_t count, p3d_tensor *y);

p3d_status p3d_concat_cpu(const p3d_tensor *const *xs, int32_t count, p3d_tensor *y);

#ifdef P3D_HAVE_CUDA
struct p3d_cuda_ctx;
p3d_status p3d_concat_cuda(struct p3d_cuda_ctx *ctx, const p3d_tensor *const *xs, int32_t count, p3d_tensor *y);
#endif

#ifdef __cplusplus
}
#endif
#endif
