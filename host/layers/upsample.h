/* upsample.h - upsampling by integer factors, NCHW float32, CPU and CUDA, with the semantics of
 * torch.nn.functional.interpolate(x, scale_factor=f, mode=..., align_corners=...).
 *
 * The factors come from the shapes: x (N, C, H, W) -> y (N, C, fh*H, fw*W), fh, fw >= 1 integers.
 *   NEAREST:           y[oy][ox] = x[oy / fh][ox / fw]   (PyTorch 'nearest' is floor(o * in/out))
 *   BILINEAR:          align_corners=False: src = max((o + 0.5) / f - 0.5, 0)  (scale 1/f, as
 *                      PyTorch uses the given scale_factor)
 *   BILINEAR_ALIGNED:  align_corners=True:  src = o * (in - 1) / (out - 1)
 * Bilinear: i0 = min(floor(src), in - 1), i1 = min(i0 + 1, in - 1), l1 = src - i0, l0 = 1 - l1,
 *   y = l0h * (l0w * x[i0][j0] + l1w * x[i0][j1]) + l1h * (l0w * x[i1][j0] + l1w * x[i1][j1])
 * in that order on both backends (upsample_math.h). The U-Net decoders use NEAREST x2. */
#ifndef P3D_UPSAMPLE_H
#define P3D_UPSAMPLE_H

#include "core/backend.h"
#include "nn/nn_common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum p3d_upsample_mode {
    P3D_UPSAMPLE_NEAREST = 0,
    P3D_UPSAMPLE_BILINEAR = 1,         /* align_corners=False */
    P3D_UPSAMPLE_BILINEAR_ALIGNED = 2, /* align_corners=True */
} p3d_upsample_mode;

/* x and y must not overlap. */
p3d_status p3d_upsample(p3d_ctx *ctx, const p3d_tensor *x, p3d_tensor *y, p3d_upsample_mode mode);

p3d_status p3d_upsample_cpu(const p3d_tensor *x, p3d_tensor *y, p3d_upsample_mode mode);

#ifdef P3D_HAVE_CUDA
struct p3d_cuda_ctx;
p3d_status p3d_upsample_cuda(struct p3d_cuda_ctx *ctx, const p3d_tensor *x, p3d_tensor *y, p3d_upsample_mode mode);
#endif

#ifdef __cplusplus
}
#endif
#endif
