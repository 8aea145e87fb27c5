/* ldi_build_math.h - the input layer's nodes as the build writes them (ldi_build.c), shared with the
 * CUDA build (cuda/ldi/ldi.cu), which writes the same arrays straight into the device LDI (issue 14).
 *
 * The build gives image pixel i = v * w + u node i, in canvas pixel (u + border, v + border), linked
 * to its 4-neighbours where the grid's right / down flags (h, w, after the tear and dangling passes and
 * the island refill) join them; every other canvas pixel (the border) is empty. */
#ifndef P3D_LDI_BUILD_MATH_H
#define P3D_LDI_BUILD_MATH_H

#include "ldi/ldi.h"

/* Node i's canvas pixel; link (4): its links in P3D_DIR_* order. */
P3D_HD int32_t p3d_ldi_grid_node(const uint8_t *right, const uint8_t *down, int32_t w, int32_t u, int32_t v,
                                 int32_t border, int32_t ext_w, int32_t *link) {
    const int32_t i = v * w + u;
    link[P3D_DIR_UP] = v > 0 && down[i - w] ? i - w : -1;
    link[P3D_DIR_DOWN] = down[i] ? i + w : -1;
    link[P3D_DIR_LEFT] = u > 0 && right[i - 1] ? i - 1 : -1;
    link[P3D_DIR_RIGHT] = right[i] ? i + 1 : -1;
    return (v + border) * ext_w + (u + border);
}

/* head of canvas pixel p (ext_w wide): the node of its image pixel, -1 in the border. */
P3D_HD int32_t p3d_ldi_grid_head(int32_t p, int32_t w, int32_t h, int32_t border, int32_t ext_w) {
    const int32_t u = p % ext_w - border, v = p / ext_w - border;
    return u >= 0 && v >= 0 && u < w && v < h ? v * w + u : -1;
}

/* Spec 2.12 refresh_bord_depth, in effect (the build does it on the depth map before tearing when the
 * LDI has a border): pixel (u, v)'s depth after the outermost image ring copied the ring inside it
 * (the ring's depth is least reliable: network padding); a corner takes the mean of its two refreshed
 * neighbours, which are both copies of the pixel diagonally inside, so that pixel's depth. d (h, w) is
 * the map before the refresh (w, h >= 3); the host build applies it to a copy of the map, the CUDA
 * build one thread per pixel to the prepared depth its depth stage left on the device (issue 14). */
P3D_HD float p3d_ldi_ring_depth(const float *d, int32_t w, int32_t h, int32_t u, int32_t v) {
    const int32_t uu = u == 0 ? 1 : u == w - 1 ? w - 2 : u, vv = v == 0 ? 1 : v == h - 1 ? h - 2 : v;
    return d[(size_t)vv * w + uu];
}

#endif
