/* ldi_gather_math.h - a patch's inputs from the LDI (issue 14): the per-pixel rule that the host's
 * crop (ldi_inpaint.c: set_context, strip_patch) and the device's gather (cuda/ldi/ldi_gather.cu, from
 * the device LDI) both use, so the non-learned fill's inputs gathered on the device equal the host's
 * crop bit for bit.
 *
 * A context pixel of a patch names its node by its layer at the pixel: the number of `next` steps
 * from the pixel's head (0 = nearest). That is what goes up per context pixel (1 byte, in the raster
 * order of the patch's context pixels) instead of the node's colour and depth (7 bytes packed). */
#ifndef P3D_LDI_GATHER_MATH_H
#define P3D_LDI_GATHER_MATH_H

#include "ldi/ldi.h"

/* Most layers a gathered pixel may name (a layer index goes up as one byte). */
#define P3D_LDI_GATHER_MAX_LAYER 255

/* The node at layer k of canvas pixel p (head (ext_h * ext_w), next (nodes)), -1 when the list is
 * shorter. */
P3D_HD int32_t p3d_ldi_layer_node(const int32_t *head, const int32_t *next, int64_t p, int32_t k) {
    int32_t a = head[p];
    for (; a >= 0 && k > 0; k--) a = next[a];
    return a;
}

/* Layer of node a at canvas pixel p (its steps from the head), -1 when a is not in p's list. */
P3D_HD int32_t p3d_ldi_node_layer(const int32_t *head, const int32_t *next, int64_t p, int32_t a) {
    int32_t k = 0;
    for (int32_t b = head[p]; b >= 0; b = next[b], k++)
        if (b == a) return k;
    return -1;
}

/* A context pixel's inputs from node a: its colour in [0, 1] (the 8-bit value / 255) and its depth. */
P3D_HD void p3d_ldi_gather_px(const uint8_t *rgb, const float *depth, int32_t a, float *out_rgb, float *out_depth) {
    for (int32_t c = 0; c < 3; c++) out_rgb[c] = (float)rgb[3 * (int64_t)a + c] / 255.0f;
    *out_depth = depth[a];
}

/* A synthesised colour channel in [0, 1] as the LDI stores it, from the fill's result: rounded, not
 * truncated (quirk 16: the reference truncates), and clamped. The write-back on the host
 * (ldi_inpaint.c) and the device's new nodes (cuda/ldi/ldi.cu, p3d_ldi_pass_nodes_cuda with the fill's
 * results left on the device) both use it; on the device the product is rounded before the sum (no
 * fused multiply-add), as on the host. */
P3D_HD uint8_t p3d_ldi_colour_u8(float v) {
#ifdef __CUDA_ARCH__
    const float x = __fadd_rn(__fmul_rn(v, 255.0f), 0.5f);
#else
    const float x = v * 255.0f + 0.5f;
#endif
    return (uint8_t)(x < 0 ? 0 : x > 255 ? 255 : x);
}

#endif
