/* maxpool2d.h - 2-D max pooling of NCHW float32 tensors, CPU and CUDA, with the semantics of
 * torch.nn.MaxPool2d(kernel, stride, padding) (dilation 1, ceil_mode False): the ResNet-50 stem's
 * 3x3 / stride 2 / padding 1 pool of MiDaS v1.
 *
 *   int64_t ho, wo;
 *   P3D_TRY(p3d_maxpool2d_out_size(3, 2, 1, h, w, &ho, &wo));     // (h + 2*pad - k) / stride + 1
 *   P3D_TRY(p3d_maxpool2d(ctx, &x, &y, 3, 2, 1));                 // x (N, C, h, w) -> y (N, C, ho, wo)
 *
 *   y[n][c][oy][ox] = max over the k x k window at (oy*stride - pad, ox*stride - pad) of the positions
 *                     inside x (padding never wins: it acts as -inf)
 * A NaN in a window gives NaN, as in PyTorch. pad <= k / 2 (PyTorch's own rule), so every window holds
 * at least one input position. Both backends run pool_math.h and give the same floats. x and y must
 * not overlap. */
#ifndef P3D_MAXPOOL2D_H
#define P3D_MAXPOOL2D_H

#include "core/backend.h"
#include "nn/nn_common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Output size; P3D_ERR_INVALID_ARG naming the bad value when k < 1, stride < 1, pad outside 0..k/2 or
 * the output would be empty. */
p3d_status p3d_maxpool2d_out_size(int32_t k, int32_t stride, int32_t pad, int64_t h, int64_t w, int64_t *ho,
                                  int64_t *wo);

p3d_status p3d_maxpool2d(p3d_ctx *ctx, const p3d_tensor *x, p3d_tensor *y, int32_t k, int32_t stride, int32_t pad);

p3d_status p3d_maxpool2d_cpu(const p3d_tensor *x, p3d_tensor *y, int32_t k, int32_t stride, int32_t pad);

#ifdef P3D_HAVE_CUDA
struct p3d_cuda_ctx;
p3d_status p3d_maxpool2d_cuda(struct p3d_cuda_ctx *ctx, const p3d_tensor *x, p3d_tensor *y, int32_t k,
                              int32_t stride, int32_t pad);
#endif

#ifdef __cplusplus
}
#endif
#endif
