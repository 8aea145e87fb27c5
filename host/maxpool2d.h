/* maxpool2d.h - 2-D max pooling of NCHW float32 tensors, CPU and CUDA, with the semantics of
 * torch.nn.MaxPool2d(kernel, stride, padding) (dilation 1, ceil_mode False):
 *
 *   y[n][c][oy][ox] = max over ky, kx < kernel of x[n][c][oy*stride - pad + ky][ox*stride - pad + kx]
 *
 * taken over the taps inside x only (the padding never wins, as PyTorch's -inf padding), NaN
 * propagating (a NaN tap makes the output NaN). Output size (h + 2*pad - kernel) / stride + 1 (floor).
 * The ResNeXt stem of MiDaS v2.1 large uses kernel 3, stride 2, pad 1:
 *
 *   P3D_TRY(p3d_maxpool2d(ctx, &x, &y, 3, 2, 1));   // x (N, C, H, W) -> y (N, C, ho, wo)
 *
 * x and y must not overlap. The per-element math is maxpool2d_math.h, shared by both backends, so
 * both give the same floats. */
#ifndef P3D_MAXPOOL2D_H
#define P3D_MAXPOOL2D_H

#include "backend.h"
#include "nn_common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Output height/width; P3D_ERR_INVALID_ARG when kernel < 1, stride < 1, pad < 0, pad > kernel / 2
 * (PyTorch's limit) or the output would be empty. */
p3d_status p3d_maxpool2d_out_size(int32_t kernel, int32_t stride, int32_t pad, int64_t h, int64_t w, int64_t *ho,
                                  int64_t *wo);

/* y must have the output size of x. */
p3d_status p3d_maxpool2d(p3d_ctx *ctx, const p3d_tensor *x, p3d_tensor *y, int32_t kernel, int32_t stride, int32_t pad);

p3d_status p3d_maxpool2d_cpu(const p3d_tensor *x, p3d_tensor *y, int32_t kernel, int32_t stride, int32_t pad);

#ifdef P3D_HAVE_CUDA
struct p3d_cuda_ctx;
p3d_status p3d_maxpool2d_cuda(struct p3d_cuda_ctx *ctx, const p3d_tensor *x, p3d_tensor *y, int32_t kernel,
                              int32_t stride, int32_t pad);
#endif

#ifdef __cplusplus
}
#endif
#endif
