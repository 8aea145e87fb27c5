/* pconv2d.h - partial convolution (PartialConv / PCBActiv of the depth and colour inpainting U-Nets),
 * NCHW float32, CPU and CUDA.
 *
 * Masks travel as single planes. The reference multiplies features by a mask of the same channel
 * count, but its masks are always channel-replicated: the nets' input mask is clamp(context + mask)
 * copied to all 4 (depth) or 6 (colour) channels, every PartialConv's new mask is the same for all
 * its output channels, and the decoder concatenates [upsampled, skip] masks like the features. So a
 * p3d_pmask is a list of (N, 1, H, W) planes, each standing for a run of consecutive feature
 * channels: one plane for the input and for every layer output, two after a decoder concatenation.
 *
 *   p3d_pmask m_in = p3d_pmask_one(valid, 4);                   // (N,1,H,W) for 4 channels
 *   P3D_TRY(p3d_pconv2d_forward(enc1, &x, &m_in, &h1, &m1));    // m1: (N,1,H/2,W/2), for 64 channels
 *   p3d_pmask m_cat = p3d_pmask_concat(&m_up, &m_skip);         // matches p3d_concat(up, skip)
 *
 * Forward (reference section 3.1), per output position and channel c:
 *   y   = conv(x * m) + b                    (the conv's own bias b, zero padding)
 *   S   = sum_g C_g * boxsum(m_g)            (over the conv window: stride, padding, dilation)
 *   out = S > 0 ? (y - b) * (Cin*kh*kw) / S + b : 0,      new mask = S > 0 ? 1 : 0
 *   out = scale[c] * out + shift[c]          (optional eval BatchNorm AFTER the renormalisation, as
 *                                             in PCBActiv; batchnorm.h says why it stays separate)
 *   out = act(out)
 * S is a k x k box sum of the planes (k*k adds per plane and output position), never the
 * reference's dense all-ones mask convolution. The arithmetic of S and of the epilogue is shared by
 * both backends (pconv2d_math.h).
 *
 * The conv runs through a conv2d handle (conv2d.h: weights [Cout, Cin, kh, kw], groups 1, zero
 * padding). CPU: x * m is folded into the im2col. CUDA: x * m goes to scratch, then cuDNN.
 * Plan each input shape once (p3d_pconv2d_plan), as for conv2d. */
#ifndef P3D_PCONV2D_H
#define P3D_PCONV2D_H

#include "nn/conv2d.h"

#ifdef __cplusplus
extern "C" {
#endif

#define P3D_PMASK_MAX_GROUPS P3D_CONV_MAX_MASK_GROUPS

typedef struct p3d_pmask {
    int32_t n_groups;                       /* 1 .. P3D_PMASK_MAX_GROUPS */
    p3d_tensor plane[P3D_PMASK_MAX_GROUPS]; /* (N, 1, H, W) f32 in {0, 1}, context memory */
    int32_t channels[P3D_PMASK_MAX_GROUPS]; /* feature channels each plane stands for, in order */
} p3d_pmask;

/* One plane standing for `channels` channels. */
p3d_pmask p3d_pmask_one(p3d_tensor plane, int32_t channels);
/* The mask of the channel concatenation [features of a, features of b]; aborts past the group limit. */
p3d_pmask p3d_pmask_concat(const p3d_pmask *a, const p3d_pmask *b);
/* Feature channels the mask stands for (sum of channels[]). */
int32_t p3d_pmask_channels(const p3d_pmask *m);

typedef struct p3d_pconv2d p3d_pconv2d;

/* p: geometry and activation (groups 1, zero padding, not transposed). weight [Cout, Cin, kh, kw];
 * bias [Cout] or NULL; bn_scale / bn_shift [Cout] (p3d_batchnorm_scale_shift) or both NULL. */
p3d_status p3d_pconv2d_init(p3d_pconv2d **out, p3d_ctx *ctx, const p3d_conv2d_params *p, const float *weight,
                            const float *bias, const float *bn_scale, const float *bn_shift);
void p3d_pconv2d_free(p3d_pconv2d *pc);
p3d_status p3d_pconv2d_plan(p3d_pconv2d *pc, int64_t n, int64_t h, int64_t w);

/* x (N, Cin, H, W) with mask (planes (N,1,H,W), channels summing to Cin) -> y (N, Cout, Ho, Wo) and
 * new_mask (N, 1, Ho, Wo), which stands for Cout channels. No output may overlap an input. */
p3d_status p3d_pconv2d_forward(p3d_pconv2d *pc, const p3d_tensor *x, const p3d_pmask *mask, p3d_tensor *y,
                               p3d_tensor *new_mask);

/* MACs of the feature conv (p3d_conv2d_macs); the window sums add Ho*Wo*k*k per plane, negligible. */
int64_t p3d_pconv2d_macs(const p3d_conv2d_params *p, int64_t n, int64_t h, int64_t w);

#ifdef P3D_HAVE_CUDA
/* ---- CUDA twin (cuda/nn/pconv2d.cu) ----------------------------------------------------------------- */
struct p3d_cuda_ctx;
/* s (N, 1, Ho, Wo) = window sums; new_mask = (s > 0). */
p3d_status p3d_pconv2d_window_sum_cuda(struct p3d_cuda_ctx *ctx, const p3d_conv2d_params *p, const p3d_pmask *mask,
                                       p3d_tensor *s, p3d_tensor *new_mask);
/* xm (N, Cin, H, W) = x * mask (each channel times its plane). */
p3d_status p3d_pconv2d_mask_input_cuda(struct p3d_cuda_ctx *ctx, const p3d_tensor *x, const p3d_pmask *mask,
                                       p3d_tensor *xm);
/* y = act(bn(renormalise(y))) in place, from the bias-free conv output y and the window sums s. */
p3d_status p3d_pconv2d_finish_cuda(struct p3d_cuda_ctx *ctx, const p3d_conv2d_params *p, p3d_tensor *y,
                                   const p3d_tensor *s, const float *bias, const float *bn_scale,
                                   const float *bn_shift);
#endif

#ifdef __cplusplus
}
#endif
#endif
