// pconv2d.cu - CUDA twin of host/nn/pconv2d.c: window sums, x * mask into scratch, the renormalisation
// epilogue (the conv itself runs through conv2d.cu). Arithmetic shared via pconv2d_math.h.
#include "nn/p3d_cuda_nn.h"
#include "nn/pconv2d.h"
#include "nn/pconv2d_math.h"

// s, new_mask (N, 1, ho, wo).
static __global__ void window_sum_kernel(p3d_pconv_window win, float *s, float *new_mask, int64_t total, int64_t ho,
                                         int64_t wo) {
    const int64_t i = P3D_NN_INDEX();
    if (i >= total) return;
    const float v = p3d_pconv_window_sum(&win, i / (ho * wo), i / wo % ho, i % wo);
    s[i] = v;
    new_mask[i] = v > 0.0f ? 1.0f : 0.0f;
}

// xm (N, C, plane) = x * mask plane of the channel's group (mp passed by value).
static __global__ void mask_input_kernel(const float *x, p3d_conv2d_in_mask mp, float *xm, int64_t total,
                                         int64_t channels, int64_t plane) {
    const int64_t i = P3D_NN_INDEX();
    if (i >= total) return;
    const int64_t c = i / plane % channels, b = i / (plane * channels);
    int32_t g = 0;
    while (g + 1 < mp.n_groups && c >= mp.chan_end[g]) g++;
    xm[i] = x[i] * mp.plane[g][b * plane + i % plane];
}

// y (N, Cout, plane) in place; s (N, 1, plane).
static __global__ void finish_kernel(float *y, const float *s, const float *bias, const float *scale,
                                     const float *shift, float winsize, int64_t total, int64_t channels, int64_t plane,
                                     p3d_act act, float slope) {
    const int64_t i = P3D_NN_INDEX();
    if (i >= total) return;
    const int64_t c = i / plane % channels, b = i / (plane * channels);
    y[i] = p3d_pconv_finish(y[i], bias ? bias[c] : 0.0f, winsize, s[b * plane + i % plane], scale, shift, c, act, slope);
}

extern "C" p3d_status p3d_pconv2d_window_sum_cuda(p3d_cuda_ctx *ctx, const p3d_conv2d_params *p, const p3d_pmask *mask,
                                                  p3d_tensor *s, p3d_tensor *new_mask) {
    const int64_t total = p3d_nn_numel(s);
    P3D_LAUNCH(window_sum_kernel, p3d_cuda_blocks(total, P3D_NN_THREADS), P3D_NN_THREADS, 0, ctx->stream)(
        p3d_pconv_window_make(p, mask), (float *)s->data, (float *)new_mask->data, total, s->shape[2], s->shape[3]);
    P3D_CUDA_LAUNCH_CHECK(ctx, "pconv2d window sum");
    return P3D_OK;
}

extern "C" p3d_status p3d_pconv2d_mask_input_cuda(p3d_cuda_ctx *ctx, const p3d_tensor *x, const p3d_pmask *mask,
                                                  p3d_tensor *xm) {
    const int64_t total = p3d_nn_numel(x);
    P3D_LAUNCH(mask_input_kernel, p3d_cuda_blocks(total, P3D_NN_THREADS), P3D_NN_THREADS, 0, ctx->stream)(
        (const float *)x->data, p3d_pmask_channel_planes(mask), (float *)xm->data, total, x->shape[1],
        x->shape[2] * x->shape[3]);
    P3D_CUDA_LAUNCH_CHECK(ctx, "pconv2d mask input");
    return P3D_OK;
}

extern "C" p3d_status p3d_pconv2d_finish_cuda(p3d_cuda_ctx *ctx, const p3d_conv2d_params *p, p3d_tensor *y,
                                              const p3d_tensor *s, const float *bias, const float *bn_scale,
                                              const float *bn_shift) {
    const int64_t total = p3d_nn_numel(y);
    const float winsize = (float)((int64_t)p->in_channels * p->kernel_h * p->kernel_w);
    P3D_LAUNCH(finish_kernel, p3d_cuda_blocks(total, P3D_NN_THREADS), P3D_NN_THREADS, 0, ctx->stream)(
        (float *)y->data, (const float *)s->data, bias, bn_scale, bn_shift, winsize, total, p->out_channels,
        y->shape[2] * y->shape[3], p->act, p->act_slope);
    P3D_CUDA_LAUNCH_CHECK(ctx, "pconv2d finish");
    return P3D_OK;
}
