/* fill_gather_math.h - the per-pixel rules of the non-learned fill's static workspace block (issue 14):
 * the label pyramids, the mask lists and the valid PatchMatch source centres that fill_classic.c's
 * fill_build writes on the host. The host build (fill_build, and p3d_fill_static's CPU path in
 * fill_gather.c) and the device build (cuda/inpaint/fill_gather.cu) decide every element with these
 * functions, so a device that builds the block itself from the level-0 labels (1 byte a pixel) holds
 * the same bytes as the host's block, which then no longer goes up (about 20 bytes a patch pixel).
 *
 * Layout of the block: fill_classic_math.h (label u8 (h, w), list i32 (n_list) raster order, valid u8
 * (h, w), sources i32 (n_src) raster order as P3D_FILL_XY). */
#ifndef P3D_FILL_GATHER_MATH_H
#define P3D_FILL_GATHER_MATH_H

#include <stdint.h>

#include "core/p3d_hd.h"
#include "inpaint/fill_classic_math.h"

/* Label of coarse pixel (x, y) from its 2x2 children in the finer level fl (fw x fh): with
 * all_context, context only when every child is (PatchMatch: a coarse source pixel must not average in
 * unknown colour); otherwise context when any child is (membrane: keep thin Dirichlet data). Not
 * context and any child mask: mask; else unknown. */
P3D_HD uint8_t p3d_fill_label_down_px(const uint8_t *fl, int32_t fw, int32_t fh, int32_t x, int32_t y,
                                      int32_t all_context) {
    int32_t n = 0, nc = 0, nm = 0;
    for (int32_t dy = 0; dy < 2; dy++)
        for (int32_t dx = 0; dx < 2; dx++) {
            const int32_t fx = 2 * x + dx, fy = 2 * y + dy;
            if (fx >= fw || fy >= fh) continue;
            const uint8_t l = fl[fy * fw + fx];
            n++;
            nc += l == P3D_FILL_CONTEXT;
            nm += l == P3D_FILL_MASK;
        }
    const int32_t ctx = all_context ? nc == n : nc > 0;
    return (uint8_t)(ctx ? P3D_FILL_CONTEXT : nm ? P3D_FILL_MASK : P3D_FILL_UNKNOWN);
}

/* 1 when (x, y) is a valid source centre of a w x h level: its window of side 2r+1 lies inside the
 * level and is context everywhere. The host counts the window with a summed-area table (fill_sources),
 * the device reads it directly; both give this predicate. */
P3D_HD uint8_t p3d_fill_valid_px(const uint8_t *label, int32_t w, int32_t h, int32_t r, int32_t x, int32_t y) {
    if (x - r < 0 || y - r < 0 || x + r >= w || y + r >= h) return 0;
    for (int32_t yy = y - r; yy <= y + r; yy++)
        for (int32_t xx = x - r; xx <= x + r; xx++)
            if (label[yy * w + xx] != P3D_FILL_CONTEXT) return 0;
    return 1;
}

/* What list a level's row pass writes: the mask pixels' indices (y * w + x) or the valid centres as
 * P3D_FILL_XY; or, for the patch's inputs, which pixels take a packed value (the context). */
#define P3D_FILL_LIST_MASK 0
#define P3D_FILL_LIST_SOURCES 1
#define P3D_FILL_LIST_CONTEXT 2

/* 1 when pixel (x, y) of a level enters list `kind`. */
P3D_HD int32_t p3d_fill_list_has(const uint8_t *label, const uint8_t *valid, int32_t w, int32_t x, int32_t y,
                                 int32_t kind) {
    return kind == P3D_FILL_LIST_MASK      ? label[y * w + x] == P3D_FILL_MASK
           : kind == P3D_FILL_LIST_CONTEXT ? label[y * w + x] == P3D_FILL_CONTEXT
                                           : valid[y * w + x] != 0;
}

/* The list entry of pixel (x, y). */
P3D_HD int32_t p3d_fill_list_entry(int32_t w, int32_t x, int32_t y, int32_t kind) {
    return kind == P3D_FILL_LIST_MASK ? y * w + x : P3D_FILL_XY(x, y);
}

/* A packed colour channel: 8 bits (rgb8: the LDI's colours, v / 255 exactly as the host's patch gather
 * computes it) or the f32 value itself. */
P3D_HD float p3d_fill_unpack_channel(const uint8_t *rgb, int64_t i, int32_t rgb8) {
    return rgb8 ? (float)rgb[i] / 255.0f : ((const float *)rgb)[i];
}

/* The patch's results as they come back from a device (issue 14): only the mask pixels', in the order
 * of the level-0 mask list (raster order): n_mask colours (3 f32 each) then n_mask depths (f32), the
 * values themselves. Entry k of the packed block takes mask pixel list[k] of the (h, w, 3) colours and
 * (h, w) depths. */
#define P3D_FILL_RESULT_BYTES(n_mask) ((size_t)(n_mask) * 4 * sizeof(float))
P3D_HD void p3d_fill_result_put(const int32_t *list, int64_t n_mask, int64_t k, const float *rgb, const float *depth,
                                float *out) {
    const int64_t i = list[k];
    for (int32_t c = 0; c < 3; c++) out[3 * k + c] = rgb[3 * i + c];
    out[3 * n_mask + k] = depth[i];
}

#endif
