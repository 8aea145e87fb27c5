/* pad.h - reflection padding, zero padding at an offset and cropping of NCHW float32 tensors.
 *
 *   y[n][c][oy][ox] = x[n][c][src(oy - top)][src(ox - left)]      x (N, C, H, W), y (N, C, Hy, Wy)
 *
 * P3D_PAD_REFLECT mirrors without repeating the edge (torch.nn.ReflectionPad2d((left, Wy-W-left,
 * top, Hy-H-top))): every pad >= 0 and < the input size. P3D_PAD_ZEROS writes 0 outside x and takes
 * any offset, so the inpainting nets' centred padding to multiples of 128 is
 *
 *   int64_t hp, wp, top, left;
 *   p3d_pad_to_multiple(h, w, 128, &hp, &wp, &top, &left);        // y of (N, C, hp, wp)
 *   P3D_TRY(p3d_pad(ctx, &x, &y, P3D_PAD_ZEROS, top, left));
 *   ... P3D_TRY(p3d_crop(ctx, &out_padded, &out, top, left));     // the same window back
 *
 * Neither op runs in place (x and y must not overlap). */
#ifndef P3D_PAD_H
#define P3D_PAD_H

#include "core/backend.h"
#include "nn/nn_common.h"

#ifdef __cplusplus
extern "C" {
#endif

p3d_status p3d_pad(p3d_ctx *ctx, const p3d_tensor *x, p3d_tensor *y, p3d_pad_mode mode, int64_t top, int64_t left);

/* y (N, C, Hy, Wy) = x[:, :, top:top+Hy, left:left+Wy]; the window must lie inside x. */
p3d_status p3d_crop(p3d_ctx *ctx, const p3d_tensor *x, p3d_tensor *y, int64_t top, int64_t left);

/* forward_3P's placement: (hp, wp) = (h, w) rounded up to multiples of unit, the input at
 * (top, left) = ((hp - h) / 2, (wp - w) / 2) (the extra row/column goes to the bottom/right). */
void p3d_pad_to_multiple(int64_t h, int64_t w, int64_t unit, int64_t *hp, int64_t *wp, int64_t *top, int64_t *left);

p3d_status p3d_pad_cpu(const p3d_tensor *x, p3d_tensor *y, p3d_pad_mode mode, int64_t top, int64_t left);

#ifdef P3D_HAVE_CUDA
struct p3d_cuda_ctx;
p3d_status p3d_pad_cuda(struct p3d_cuda_ctx *ctx, const p3d_tensor *x, p3d_tensor *y, p3d_pad_mode mode,
                        int64_t top, int64_t left);
#endif

#ifdef __cplusplus
}
#endif
#endif
