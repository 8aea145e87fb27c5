/* upsample_math.h - source positions and interpolation of the upsample op (P3D_HD, shared by
 * host/layers/upsample.c and cuda/layers/upsample.cu). Definition: upsample.h. */
#ifndef P3D_UPSAMPLE_MATH_H
#define P3D_UPSAMPLE_MATH_H

#include "layers/upsample.h"
#include "nn/nn_math.h"

/* Source coordinate scale along one axis of in -> out = f * in samples (PyTorch's
 * area_pixel_compute_scale with a given scale_factor). */
P3D_HD float p3d_upsample_scale(p3d_upsample_mode mode, int64_t in, int64_t out) {
    if (mode == P3D_UPSAMPLE_BILINEAR_ALIGNED) return out > 1 ? (float)(in - 1) / (float)(out - 1) : 0.0f;
    return (float)(1.0 / (double)(out / in));
}

/* The two source indices and the weight of the second for output index o. */
P3D_HD void p3d_upsample_linear(p3d_upsample_mode mode, float scale, int64_t o, int64_t in, int64_t *i0, int64_t *i1,
                                float *l1) {
    float src;
    if (mode == P3D_UPSAMPLE_BILINEAR_ALIGNED) {
        src = p3d_mul_rn(scale, (float)o);
    } else {
        src = p3d_add_rn(p3d_mul_rn(scale, (float)o + 0.5f), -0.5f);
        if (src < 0.0f) src = 0.0f;
    }
    int64_t i = (int64_t)floorf(src);
    if (i > in - 1) i = in - 1;
    float l = src - (float)i;
    l = l < 0.0f ? 0.0f : (l > 1.0f ? 1.0f : l);
    *i0 = i;
    *i1 = i < in - 1 ? i + 1 : i;
    *l1 = l;
}

/* Bilinear blend of the four neighbours with weights l1 (second row / column). */
P3D_HD float p3d_upsample_blend(float x00, float x01, float x10, float x11, float ly, float lx) {
    const float l0y = 1.0f - ly, l0x = 1.0f - lx;
    const float top = p3d_add_rn(p3d_mul_rn(l0x, x00), p3d_mul_rn(lx, x01));
    const float bot = p3d_add_rn(p3d_mul_rn(l0x, x10), p3d_mul_rn(lx, x11));
    return p3d_add_rn(p3d_mul_rn(l0y, top), p3d_mul_rn(ly, bot));
}

#endif
