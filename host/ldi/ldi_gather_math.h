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

/* The node a context pixel of an edge's patch shows where it borders the patch's mask (issue 15).
 * The crop is one layer: a pixel where the edge's context holds several nodes shows the nearest of
 * them, but next to the mask that can be the occluder's own surface: in the second pass the mask is a
 * hidden layer made by the first (a surface continued behind a nearer object) and the context grows
 * over the photo's nodes it continued, so a strip of a third surface between the near object and the
 * background (Middlebury cones at 960 px: the green cone's strip right of the red cone) is context in
 * front of the background that the first pass made behind the strip. Shown in the crop, the strip
 * hid that background: the hidden layer had no background beside it to continue, took the depth of a
 * surface grown from farther away (the floor below, a depth between the strip's and the wall's) and
 * tore from the background next to it, and a view moved sideways saw through the tear. A hidden layer
 * continues the surface behind its occluder, so here the pixel shows the nearest of the edge's context
 * nodes at canvas pixel p that lies behind every occluder next to it (disparity below disp_far, the
 * smallest occluder disparity of the 4-adjacent mask pixels, by more than thr), or `shown` (the
 * nearest context node) when that one already does or none does. ctx_edge: each node's context edge
 * (the first n_nodes nodes); the pixel's list runs nearest first. */
P3D_HD int32_t p3d_ldi_seam_node(const int32_t *head, const int32_t *next, const float *depth, const int32_t *ctx_edge,
                                 int32_t n_nodes, int64_t p, int32_t id, int32_t shown, float disp_far, float thr) {
    if (1.0f / depth[shown] < disp_far - thr) return shown;
    for (int32_t b = head[p]; b >= 0; b = next[b])
        if (b < n_nodes && ctx_edge[b] == id && 1.0f / depth[b] < disp_far - thr) return b;
    return shown;
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
