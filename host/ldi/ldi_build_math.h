/* ldi_build_math.h - the input layer's nodes as the build writes them (ldi_build.c), shared with the
 * CUDA build (cuda/ldi/ldi.cu), which writes the same arrays straight into the device LDI (issue 14),
 * and the island refill's per-pixel rules, shared with its CUDA twin (cuda/ldi/ldi_refill.cu).
 *
 * The build gives image pixel i = v * w + u node i, in canvas pixel (u + border, v + border), linked
 * to its 4-neighbours where the grid's right / down flags (h, w, after the tear and dangling passes and
 * the island refill) join them; every other canvas pixel (the border) is empty. */
#ifndef P3D_LDI_BUILD_MATH_H
#define P3D_LDI_BUILD_MATH_H

#include <stdint.h>

#include "ldi/ldi.h"
#include "ldi/ldi_math.h"

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

/* Node i's colour (3 u8): image pixel i's in the photo (h, w, 3) (the host build copies it; the CUDA
 * build reads the photo where the pipeline uploaded it, pipeline/photo3d.c), or 0 without a photo
 * (the device then gets the colours with the first sync). */
P3D_HD void p3d_ldi_grid_rgb(const uint8_t *photo, int32_t i, uint8_t *rgb) {
    for (int32_t c = 0; c < 3; c++) rgb[c] = photo ? photo[3 * (size_t)i + c] : 0;
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

/* ---- the island refill (spec 2.8; ldi_build.c refill, cuda/ldi/ldi_refill.cu) ------------------------
 * An island is a 4-connected group of dropped pixels (keep 0), named by its smallest pixel index. Its
 * kept 4-neighbours vote for their components, one vote per (island pixel, direction) contact; the
 * component with most votes wins, ties to the smaller label. Then rings: at ring t = 1, 2, ... every
 * still pending island pixel with a source among its 4-neighbours takes the mean depth of its sources:
 * kept pixels of the winner's component, and pixels of the same island filled at an earlier ring. Every
 * rule reads only earlier rings, so the host (one island after another) and the device (all islands at
 * once, one kernel a ring) give the same depths. */

/* ring[] of an island pixel not filled (yet). */
#define P3D_LDI_RING_PENDING INT32_MAX

/* The vote of component c with `votes` contacts as one number: the largest wins, ties to the smaller
 * label (the device keeps the maximum per island with a 64-bit atomicMax); 0 is no vote. */
P3D_HD unsigned long long p3d_ldi_refill_vote_key(int32_t votes, int32_t c) {
    return (unsigned long long)(uint32_t)votes << 32 | (unsigned long long)(uint32_t)(INT32_MAX - c);
}

/* The winning component of an island's best vote key; -1 when nothing voted (no kept pixel around). */
P3D_HD int32_t p3d_ldi_refill_winner(unsigned long long key) {
    return key ? INT32_MAX - (int32_t)(uint32_t)(key & 0xffffffffull) : -1;
}

/* Ring t at island pixel (u, v) (maps (h, w): depth as it stands, keep flags, component labels of the
 * kept pixels, island names and rings of the dropped ones), its island's winner `winner`: 1 and *out =
 * the mean depth of its sources, summed up, down, left, right; 0 when it has none yet. */
P3D_HD int32_t p3d_ldi_refill_depth(const float *depth, const uint8_t *keep, const int32_t *label,
                                    const int32_t *island, const int32_t *ring, int32_t w, int32_t h, int32_t u,
                                    int32_t v, int32_t winner, int32_t t, float *out) {
    const int32_t i = v * w + u;
    const int32_t dx[4] = {0, 0, -1, 1}, dy[4] = {-1, 1, 0, 0};
    int32_t cnt = 0;
    float sum = 0.0f;
    for (int32_t k = 0; k < 4; k++) {
        const int32_t x = u + dx[k], y = v + dy[k];
        if (x < 0 || y < 0 || x >= w || y >= h) continue;
        const int32_t q = y * w + x;
        if (keep[q] ? label[q] == winner : island[q] == island[i] && ring[q] < t) {
            sum += depth[q];
            cnt++;
        }
    }
    if (!cnt) return 0;
    *out = sum / (float)cnt;
    return 1;
}

/* The link from pixel (u, v) to its right (down = 0) or lower (down = 1) neighbour after the refill:
 * where either end was dropped the tear rule decides it on the refilled depths, elsewhere it stays
 * `old`. */
P3D_HD uint8_t p3d_ldi_refill_link(const float *depth, const uint8_t *keep, int32_t w, int32_t h, int32_t u,
                                   int32_t v, int32_t down, float thr, uint8_t old) {
    const int32_t i = v * w + u, j = down ? i + w : i + 1;
    if (down ? v + 1 >= h : u + 1 >= w) return old;
    if (keep[i] && keep[j]) return old;
    return (uint8_t)p3d_ldi_joined(depth[i], depth[j], thr);
}

#endif
