/* pconv2d_math.h - the partial convolution's window sum and epilogue (P3D_HD, shared by
 * host/nn/pconv2d.c and cuda/nn/pconv2d.cu). Formulas: pconv2d.h. */
#ifndef P3D_PCONV2D_MATH_H
#define P3D_PCONV2D_MATH_H

#include "nn/nn_math.h"
#include "nn/pconv2d.h"

/* What the window sum needs, passed by value to the kernels. */
typedef struct p3d_pconv_window {
    int32_t kh, kw, sh, sw, ph, pw, dh, dw;
    int64_t h, w; /* input plane */
    int32_t n_groups;
    const float *plane[P3D_PMASK_MAX_GROUPS]; /* (N, 1, h, w) */
    float channels[P3D_PMASK_MAX_GROUPS];
} p3d_pconv_window;

P3D_HD p3d_pconv_window p3d_pconv_window_make(const p3d_conv2d_params *p, const p3d_pmask *m) {
    p3d_pconv_window win;
    win.kh = p->kernel_h;
    win.kw = p->kernel_w;
    win.sh = p->stride_h;
    win.sw = p->stride_w;
    win.ph = p->pad_h;
    win.pw = p->pad_w;
    win.dh = p->dilation_h;
    win.dw = p->dilation_w;
    win.h = m->plane[0].shape[2];
    win.w = m->plane[0].shape[3];
    win.n_groups = m->n_groups;
    for (int32_t g = 0; g < P3D_PMASK_MAX_GROUPS; g++) {
        win.plane[g] = g < m->n_groups ? (const float *)m->plane[g].data : 0;
        win.channels[g] = g < m->n_groups ? (float)m->channels[g] : 0.0f;
    }
    return win;
}

/* The input-channel -> plane table of a mask (conv2d.h's p3d_conv2d_in_mask), for the CPU im2col
 * and the CUDA x * mask kernel. */
P3D_HD p3d_conv2d_in_mask p3d_pmask_channel_planes(const p3d_pmask *m) {
    p3d_conv2d_in_mask im;
    int32_t end = 0;
    im.n_groups = m->n_groups;
    for (int32_t g = 0; g < P3D_PMASK_MAX_GROUPS; g++) {
        end += g < m->n_groups ? m->channels[g] : 0;
        im.plane[g] = g < m->n_groups ? (const float *)m->plane[g].data : 0;
        im.chan_end[g] = end;
    }
    return im;
}

/* S at output (oy, ox) of sample b: sum over planes of channels * (sum of the plane over the window,
 * positions outside the input counting 0). Planes hold 0/1, so every partial sum is an exact integer. */
P3D_HD float p3d_pconv_window_sum(const p3d_pconv_window *win, int64_t b, int64_t oy, int64_t ox) {
    float s = 0.0f;
    for (int32_t g = 0; g < win->n_groups; g++) {
        const float *m = win->plane[g] + b * win->h * win->w;
        float box = 0.0f;
        for (int32_t ky = 0; ky < win->kh; ky++) {
            const int64_t iy = oy * win->sh - win->ph + (int64_t)ky * win->dh;
            if (iy < 0 || iy >= win->h) continue;
            for (int32_t kx = 0; kx < win->kw; kx++) {
                const int64_t ix = ox * win->sw - win->pw + (int64_t)kx * win->dw;
                if (ix >= 0 && ix < win->w) box += m[iy * win->w + ix];
            }
        }
        s = p3d_mad_rn(win->channels[g], box, s);
    }
    return s;
}

/* Output of one element from the bias-free conv value y0 (reference order of operations:
 * y = y0 + b, then (y - b) * winsize / S + b). scale == NULL: no BatchNorm. */
P3D_HD float p3d_pconv_finish(float y0, float bias, float winsize, float s, const float *scale, const float *shift,
                              int64_t c, p3d_act act, float slope) {
    float out = 0.0f;
    if (s > 0.0f) {
        const float y = y0 + bias;
        out = (y - bias) * winsize / s + bias;
    }
    if (scale) out = p3d_mad_rn(scale[c], out, shift[c]);
    return p3d_act_apply(act, slope, out);
}

#endif
