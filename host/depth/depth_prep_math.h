/* depth_prep_math.h - per-pixel math of the reference's "sparse bilateral filtering" (a masked median
 * near disparity jumps), shared by host/depth/depth_prep.c and cuda/depth/depth_prep.cu (P3D_HD, see p3d_hd.h).
 * What the pass computes and why: depth_prep.h.
 *
 * Maps are (h, w) row-major float32 depth, h, w >= 3. The reference replaces the outer 1-pixel ring of
 * the depth and of the discontinuity map by edge replication of the interior and then pads by
 * window / 2 with edge replication; both amount to reading every tap (y, x) of a window at
 * (clamp(y, 1, h - 2), clamp(x, 1, w - 2)), which is what the functions below do. */
#ifndef P3D_DEPTH_PREP_MATH_H
#define P3D_DEPTH_PREP_MATH_H

#include <math.h>
#include <stdint.h>

#include "core/p3d_hd.h"

/* Largest supported window side (odd) and its number of taps. */
#define P3D_DP_MAX_WINDOW 9
#define P3D_DP_MAX_TAPS (P3D_DP_MAX_WINDOW * P3D_DP_MAX_WINDOW)

P3D_HD int32_t p3d_dp_clamp(int32_t v, int32_t lo, int32_t hi) { return v < lo ? lo : v > hi ? hi : v; }

/* vis_depth_discontinuity: 1 when interior pixel (y, x) differs from any 4-neighbour by more than
 * threshold in disparity 1 / depth (the reference compares float64 differences with the float64
 * threshold; the comparison here is in double too, on float32 disparities); 0 on the outer ring. */
P3D_HD uint8_t p3d_dp_discontinuity(const float *depth, int32_t h, int32_t w, int32_t y, int32_t x, double threshold) {
    if (y < 1 || x < 1 || y > h - 2 || x > w - 2) return 0;
    const int64_t i = (int64_t)y * w + x;
    const float c = 1.0f / depth[i];
    const float up = 1.0f / depth[i - w], down = 1.0f / depth[i + w];
    const float left = 1.0f / depth[i - 1], right = 1.0f / depth[i + 1];
    return (double)fabsf(c - up) > threshold || (double)fabsf(c - down) > threshold ||
           (double)fabsf(c - left) > threshold || (double)fabsf(c - right) > threshold;
}

/* The 1-based rank, among n equally weighted values sorted ascending, that the reference selects:
 * its weights are float32 (1 - disc), normalised by their float32 sum (n, exact) to 1.0f / n, summed
 * cumulatively in float32 (np.cumsum) and searched with np.digitize(0.5, cumsum), i.e. the first
 * cumulative sum strictly above 0.5. That is n / 2 + 1 (the upper median) except where the rounded
 * running sum already exceeds 0.5 after n / 2 terms: n = 20, 22, 28, 36, 40, 44, 48, 50, ... (48 is a
 * 7x7 window with one discontinuity pixel) give the lower median n / 2. Zero weights of the
 * discontinuity pixels interleaved in the sort do not move the sum, so only n matters. */
P3D_HD int32_t p3d_dp_median_rank(int32_t n) {
    const float c = 1.0f / (float)n;
    float s = 0.0f;
    for (int32_t k = 1; k <= n; k++) {
        s = s + c;
        if (s > 0.5f) return k;
    }
    return n;
}

/* 1 when the window x window neighbourhood of (y, x) (clamped taps) holds a discontinuity pixel. */
P3D_HD int p3d_dp_window_has_disc(const uint8_t *disc, int32_t h, int32_t w, int32_t y, int32_t x, int32_t window) {
    const int32_t r = window / 2;
    for (int32_t dy = -r; dy <= r; dy++) {
        const uint8_t *row = disc + (int64_t)p3d_dp_clamp(y + dy, 1, h - 2) * w;
        for (int32_t dx = -r; dx <= r; dx++)
            if (row[p3d_dp_clamp(x + dx, 1, w - 2)]) return 1;
    }
    return 0;
}

/* One output pixel of a filter pass: the centre (clamped, so the outer ring takes the replicated
 * interior) unless the window x window neighbourhood holds a discontinuity pixel; then one of the n
 * non-discontinuity ("clean") values of the window (the centre when n = 0):
 *   snap = 0: the reference's bilateral_filter, the value of rank p3d_dp_median_rank(n). A median
 *             takes the majority side of the window, so it erodes every structure narrower than about
 *             half the window: the tip of a cone, a stick, a gap in a lattice lose whole rows to the
 *             background (or the foreground) on every pass, and a view moved sideways shows the photo's
 *             foreground colours where the background was (cones at 450 px: 1879 disoccluded pixels);
 *   snap = 1: the median of the centre's own surface: the sorted clean values split into clusters
 *             wherever two consecutive ones differ by more than threshold in disparity (the surfaces
 *             the window sees), and the centre takes the reference's median rank within the cluster
 *             whose disparity range holds its value, or the nearest one (ties: the nearer surface).
 *             Where the window sees one surface this is the reference's median (the same noise
 *             removal); a transition pixel between two surfaces joins the side its value is closer
 *             to, as the median makes it do on a straight edge; but a thin structure keeps its own
 *             surface as long as the window holds a clean pixel of it.
 * Equal values may be ordered either way by the reference's argsort, but the selected VALUE is the
 * same, so the result is exact. Insertion sort of at most P3D_DP_MAX_TAPS values. */
P3D_HD float p3d_dp_filter_pixel(const float *depth, const uint8_t *disc, int32_t h, int32_t w, int32_t y, int32_t x,
                                 int32_t window, int32_t snap, double threshold) {
    const float centre = depth[(int64_t)p3d_dp_clamp(y, 1, h - 2) * w + p3d_dp_clamp(x, 1, w - 2)];
    if (!p3d_dp_window_has_disc(disc, h, w, y, x, window)) return centre;
    float v[P3D_DP_MAX_TAPS];
    int32_t n = 0;
    const int32_t r = window / 2;
    for (int32_t dy = -r; dy <= r; dy++) {
        const int64_t row = (int64_t)p3d_dp_clamp(y + dy, 1, h - 2) * w;
        for (int32_t dx = -r; dx <= r; dx++) {
            const int64_t i = row + p3d_dp_clamp(x + dx, 1, w - 2);
            if (disc[i]) continue;
            const float d = depth[i];
            int32_t j = n++;
            for (; j > 0 && v[j - 1] > d; j--) v[j] = v[j - 1];
            v[j] = d;
        }
    }
    if (!n) return centre;
    if (!snap) return v[p3d_dp_median_rank(n) - 1];
    /* clusters: runs of the sorted values without a disparity gap above threshold; the centre's is the
     * one holding it, or the nearest when it falls in a gap */
    const float c = 1.0f / centre;
    int32_t lo = 0, best_lo = 0, best_hi = n - 1;
    float best_d = 3.4e38f;
    for (int32_t k = 0; k < n; k++) {
        if (k + 1 < n && (double)(1.0f / v[k] - 1.0f / v[k + 1]) <= threshold) continue;
        /* cluster lo..k: disparities from 1 / v[k] (farthest) to 1 / v[lo] (nearest) */
        const float near_d = 1.0f / v[lo], far_d = 1.0f / v[k];
        const float d = c > near_d ? c - near_d : c < far_d ? far_d - c : 0.0f;
        if (d < best_d) best_d = d, best_lo = lo, best_hi = k;
        lo = k + 1;
    }
    return v[best_lo + p3d_dp_median_rank(best_hi - best_lo + 1) - 1];
}

/* The in-between step that follows the snap passes (opts.snap = 1): an interior pixel whose disparity lies
 * between those of its two row neighbours, more than threshold from each, is a one-pixel column of
 * in-between depth: it images both surfaces, and no surface beside it on the row holds it. It takes the
 * value of the row neighbour nearer in disparity (ties: the nearer surface, the larger disparity). Why
 * the passes leave such pixels: a ramp across an edge wider than a window's clean reach (moon's depth
 * map, upsampled 1.5x, has ramps three pixels wide) marks the whole window as discontinuity, the
 * filter then keeps the centre, and a later pass snaps the ramp's sides but not its middle. Nearer in
 * disparity rather than nearer in colour: the photo is not part of this stage, and a blend of the two
 * surfaces' depths leans to the surface that covers more of the pixel, the one its colour leans to as
 * well. Rows only: a sideways camera move opens the gap along the rows, and the same test along columns
 * also took the boundary pixels of a third surface at T-junctions (cones at 960 px: 21 of its 45
 * changes). A pixel that continues a thin surface above or below is kept (below). Reads src only, so the
 * result does not depend on the order the pixels are visited in. */
P3D_HD float p3d_dp_between_pixel(const float *depth, int32_t h, int32_t w, int32_t y, int32_t x, double threshold) {
    const int64_t i = (int64_t)y * w + x;
    const float centre = depth[i];
    if (y < 1 || x < 1 || y > h - 2 || x > w - 2) return centre;
    const float c = 1.0f / centre, a = 1.0f / depth[i - 1], b = 1.0f / depth[i + 1];
    const float lo = a < b ? a : b, hi = a < b ? b : a; /* far and near side's disparity */
    if (!((double)(c - lo) > threshold && (double)(hi - c) > threshold)) return centre;
    /* A thin surface, not a ramp: the pixel above or below holds the centre's disparity (within threshold)
     * and lies on a flat stretch of its row (a row neighbour within threshold / 4). That is the tip of a
     * wedge of a third surface between the two (cones at 960 px: 17 of the 24 pixels the step changed,
     * e.g. a strip at disparity 1.98 narrowing to one pixel between 2.33 and 1.55). Snapping such tips
     * left holes without geometry at the right camera beside them (an 80-pixel one beside that strip;
     * disoccluded pixels without geometry 89 -> 167, back to 89 with this test). A ramp's pixels step by about the
     * jump over the ramp's width (moon: 0.03 .. 0.05 per pixel, threshold 0.04), a surface's by far
     * less than the edge threshold (cones' planes: under 0.01). */
    const double flat = 0.25 * threshold;
    for (int32_t dy = -1; dy <= 1; dy += 2) {
        const int64_t j = i + (int64_t)dy * w;
        const float v = 1.0f / depth[j];
        if ((double)fabsf(v - c) > threshold) continue;
        if ((double)fabsf(1.0f / depth[j - 1] - v) <= flat || (double)fabsf(1.0f / depth[j + 1] - v) <= flat)
            return centre;
    }
    const float far_v = a < b ? depth[i - 1] : depth[i + 1], near_v = a < b ? depth[i + 1] : depth[i - 1];
    return (c - lo) < (hi - c) ? far_v : near_v;
}

/* ---- the colour fringe step (depth_prep.h; the photo's mixed pixels follow the surface they show) -- */

/* Window radius of the fringe step's colour models: 7 x 7 pixels, the largest filter window of the
 * default schedule, so each side of the edge holds some 10-20 pixels off the edge itself. */
#define P3D_DP_FRINGE_RADIUS 3
/* Fewest model pixels per side for a decision (a thinner side keeps its pixels as they are). */
#define P3D_DP_FRINGE_MIN 4
/* Variance floor per channel in 8-bit units, (2 % of 255)^2: a flat side does not make every pixel an
 * outlier (the same floor as ldi_inpaint.c's classic_sources). */
#define P3D_DP_FRINGE_FLOOR 26

/* 1 when pixel j (disparity dj) is on the edge of its surface towards `side`: a 4-neighbour nearer (side
 * > 0) or farther (side < 0) by more than threshold in disparity. */
P3D_HD int p3d_dp_fringe_edge(const float *depth, int32_t h, int32_t w, int32_t y, int32_t x, float dj, int side,
                              double threshold) {
    const int32_t dx[4] = {1, -1, 0, 0}, dy[4] = {0, 0, 1, -1};
    for (int32_t d = 0; d < 4; d++) {
        const int32_t xx = x + dx[d], yy = y + dy[d];
        if (xx < 0 || yy < 0 || xx >= w || yy >= h) continue;
        const float v = 1.0f / depth[(int64_t)yy * w + xx];
        if (side > 0 ? (double)(v - dj) > threshold : (double)(dj - v) > threshold) return 1;
    }
    return 0;
}

/* The colour rule of a fringe pass for one pixel: the depth it would take (its own when it stays);
 * p3d_dp_fringe_pixel below decides whether it does. depth (h, w) the pass's input, rgb (h, w, 3) the
 * photo at the same size. A pixel on the far side of a depth edge (a 4-neighbour nearer by more than
 * threshold in disparity) images, through the lens, the demosaicing and the resampling, a blend of both surfaces
 * when the depth map puts the edge one or two pixels off the photo's: left on the background it stays
 * in place when the view moves and draws the occluder's pale or dark outline on the background it
 * uncovers (moon at +2 cm: the suit's outline on the ground right of the arm). The rule decides from
 * the colour statistics of both sides in the 7 x 7 window, each side less its own edge pixels (they
 * blend too): the foreground (disparity above the centre's by more than threshold, not next to a
 * farther pixel) and the background (within threshold of the centre, not next to a nearer pixel).
 * The pixel joins the foreground, taking the depth of its nearest 4-neighbour, when the two means are
 * apart (squared distance above 4 x 3 x P3D_DP_FRINGE_FLOOR, about 4 % of the range per channel: at an
 * edge between two surfaces of one colour the answer is a coin toss, and nothing moves) and
 *   - its colour is nearer (Euclidean, rgb) to the foreground's mean than to the background's (a
 *     blend of the two means with more than half of the foreground in it) and no background pixel
 *     of the window lies within 3 x P3D_DP_FRINGE_FLOOR of it (a brick beside a brown pillar, where
 *     mortar rows pull the wall's mean away from the brick colour, stays); or
 *   - it is explained better as a blend with at least half the foreground's mean in it and one of
 *     the background's pixels in the rest than as any background pixel alone (squared rgb distance
 *     to that segment's upper half against the distance to the nearest background pixel), and that
 *     blend fits within 3 x P3D_DP_FRINGE_FLOOR (on a background of many colours some segment passes
 *     near almost any colour: cones at 960 px moved pixels beside a green cone and a moved view
 *     showed 170 disoccluded pixels without geometry instead of 108): where the
 *     background is no single colour, a blend of mortar and a brown pillar looks like brick, nearer
 *     the wall's mean than the pillar's (the sample at -2 cm: a dark line where the band behind the
 *     pillar meets the wall).
 * Colour statistics rather than a test of the pixel against the background's spread: on a textured
 * background the blend of a grey suit's shadow side and the ground lies within two standard
 * deviations of the ground (moon right of the arm: most of the pale outline's pixels), and the
 * outline is what the eye follows.
 * Otherwise, or with fewer than P3D_DP_FRINGE_MIN model pixels on a side, it keeps its depth. The
 * photo's colour is not changed: the pixel is still seen at the photo's own camera, now on the
 * foreground, and the background behind it becomes part of the hidden band the fill synthesises. The
 * sums are integers (at most 49 pixels of 8-bit colour, int64 products) and the blend test's doubles
 * follow one fixed order of IEEE operations (no fused multiply-adds): the same on CPU and GPU. Reads
 * src only: the result does not depend on the order of the pixels. */
P3D_HD float p3d_dp_fringe_move(const float *depth, const uint8_t *rgb, int32_t h, int32_t w, int32_t y, int32_t x,
                                double threshold) {
    const int64_t i = (int64_t)y * w + x;
    const float centre = depth[i], c = 1.0f / centre;
    const int32_t dx[4] = {1, -1, 0, 0}, dy[4] = {0, 0, 1, -1};
    float near_depth = centre, near_disp = c;
    for (int32_t d = 0; d < 4; d++) {
        const int32_t xx = x + dx[d], yy = y + dy[d];
        if (xx < 0 || yy < 0 || xx >= w || yy >= h) continue;
        const float v = depth[(int64_t)yy * w + xx];
        if (1.0f / v > near_disp) near_disp = 1.0f / v, near_depth = v;
    }
    if (!((double)(near_disp - c) > threshold)) return centre;
    int64_t nf = 0, nb = 0, sf[3] = {0, 0, 0}, sb[3] = {0, 0, 0};
    int64_t bj[(2 * P3D_DP_FRINGE_RADIUS + 1) * (2 * P3D_DP_FRINGE_RADIUS + 1)]; /* the background's pixels */
    const int32_t r = P3D_DP_FRINGE_RADIUS;
    for (int32_t yy = y - r; yy <= y + r; yy++) {
        if (yy < 0 || yy >= h) continue;
        for (int32_t xx = x - r; xx <= x + r; xx++) {
            if (xx < 0 || xx >= w) continue;
            const int64_t j = (int64_t)yy * w + xx;
            const float dj = 1.0f / depth[j];
            const uint8_t *px = rgb + 3 * j;
            if ((double)(dj - c) > threshold) {
                if (p3d_dp_fringe_edge(depth, h, w, yy, xx, dj, -1, threshold)) continue;
                for (int32_t k = 0; k < 3; k++) sf[k] += px[k];
                nf++;
            } else if ((double)fabsf(dj - c) <= threshold) {
                if (p3d_dp_fringe_edge(depth, h, w, yy, xx, dj, 1, threshold)) continue;
                for (int32_t k = 0; k < 3; k++) sb[k] += px[k];
                bj[nb++] = j;
            }
        }
    }
    if (nf < P3D_DP_FRINGE_MIN || nb < P3D_DP_FRINGE_MIN) return centre;
    /* In units scaled by nb (and nf): e = nb c - Sb = nb (c - mb); g = nb Sf - nf Sb = nb nf (mf - mb).
     * Nearer the foreground's mean: 2 (c - mb).(mf - mb) > |mf - mb|^2, i.e. 2 nf (e.g) > |g|^2.
     * Apart: |mf - mb|^2 > 12 floor, i.e. |g|^2 > 12 floor (nb nf)^2. */
    int64_t eg = 0, gg = 0;
    for (int32_t k = 0; k < 3; k++) {
        const int64_t e = nb * rgb[3 * i + k] - sb[k], g = nb * sf[k] - nf * sb[k];
        eg += e * g, gg += g * g;
    }
    if (gg <= 12 * (int64_t)P3D_DP_FRINGE_FLOOR * (nb * nf) * (nb * nf)) return centre;
    /* The blend: c = a f + (1 - a) b for the foreground's mean f and one background pixel b, a >= 1/2
     * (a > 1 counts as f itself), fits c closer than any background pixel does alone. Squared
     * distances in 8-bit units, doubles from integers and one division per channel (IEEE, the same
     * on CPU and GPU). */
    double f[3], best_bg = 1e30, best_blend = 1e30;
    for (int32_t k = 0; k < 3; k++) f[k] = (double)sf[k] / (double)nf;
    for (int64_t t = 0; t < nb; t++) {
        const uint8_t *b = rgb + 3 * bj[t];
        double cb = 0, dot = 0, len = 0;
        for (int32_t k = 0; k < 3; k++) {
            const double e = (double)rgb[3 * i + k] - (double)b[k], g = f[k] - (double)b[k];
            cb += e * e, dot += e * g, len += g * g;
        }
        if (cb < best_bg) best_bg = cb;
        if (!(len > 0) || 2.0 * dot < len) continue;
        double res = 0;
        if (dot >= len) {
            for (int32_t k = 0; k < 3; k++) res += ((double)rgb[3 * i + k] - f[k]) * ((double)rgb[3 * i + k] - f[k]);
        } else {
            res = cb - dot * (dot / len);
        }
        if (res < best_blend) best_blend = res;
    }
    if (best_blend < best_bg && best_blend < 3.0 * P3D_DP_FRINGE_FLOOR) return near_depth;
    /* nearer the foreground's mean, and no background pixel of (nearly) its colour */
    return 2 * nf * eg > gg && best_bg > 3.0 * P3D_DP_FRINGE_FLOOR ? near_depth : centre;
}

/* 1 when depths a and b are one surface by the LDI's tear rule (ldi_math.h p3d_ldi_joined). */
P3D_HD int p3d_dp_fringe_joined(float a, float b, double threshold) {
    return (double)fabsf(1.0f / a - 1.0f / b) <= threshold;
}

/* One output pixel of a fringe pass: p3d_dp_fringe_move's depth when the pixel, moved, stays linked to
 * the neighbour n whose depth it takes, else its own. The LDI build cuts a link whose two parallel
 * links beside it (the rows above and below for a horizontal link) are both torn (ldi_graph_math.h
 * p3d_ldi_grid_after_dangling), so a pixel moved where neither the row above nor the row below keeps
 * the same pair of columns joined after the pass is torn from n and from its old surface alike: a
 * sliver of one or two pixels that the build drops as a small component and refills with a depth
 * between the surfaces (a third surface the hidden layers then continue). Cones at 960 px (`mesh
 * --fill classic --device cpu`): 72 small components (726 px refilled) without the fringe step, 225
 * (836 px) with it before this check, 90 (680 px) with it. Moon at 960 px (tests/test_ldi_fixtures.c)
 * keeps the step's gains: pixels without geometry at -2 / +2 cm 37 / 45 before the check, 39 / 39
 * with it. What the check does NOT change: cones' disoccluded pixels without geometry at the right
 * camera (tools/stereo_quality, 960 px: 89 without the step, 176 with it, 177 with the check; 450 px:
 * 27 -> 24); they lie in the band behind the right edge of the red cone, where the hidden layer 1
 * continues the green cone's strip and layer 2 behind it is synthesised at a depth between that
 * strip's and the background's (rows 440-446: 1/depth 1.56 with the step before this check, 1.42
 * without the step) and tears from layer 1's
 * background: the LDI's pass-2 regions and depth synthesis, not a sliver of this step.
 * The parallel links are judged from the colour rule's result at their four pixels (evaluated from
 * the pass's input like the pixel's own, so the result does not depend on the order of the pixels);
 * a row or column outside the image, or on the image's outer ring (where the build does not apply the
 * rule), keeps the link. */
P3D_HD float p3d_dp_fringe_pixel(const float *depth, const uint8_t *rgb, int32_t h, int32_t w, int32_t y, int32_t x,
                                 double threshold) {
    const float centre = depth[(int64_t)y * w + x], moved = p3d_dp_fringe_move(depth, rgb, h, w, y, x, threshold);
    if (moved == centre) return centre;
    /* n = (x + ndx, y + ndy): the 4-neighbour whose depth the pixel takes */
    int32_t ndx = 0, ndy = 0;
    if (x + 1 < w && depth[(int64_t)y * w + x + 1] == moved) ndx = 1;
    else if (x > 0 && depth[(int64_t)y * w + x - 1] == moved) ndx = -1;
    else if (y + 1 < h && depth[(int64_t)(y + 1) * w + x] == moved) ndy = 1;
    else ndy = -1;
    /* the link lies in row y (horizontal) or column x (vertical): outer ring, no dangling rule */
    if (ndx ? (y < 1 || y + 1 >= h) : (x < 1 || x + 1 >= w)) return moved;
    for (int32_t s = -1; s <= 1; s += 2) {
        /* the parallel link beside it: pixel (px, py) beside the pixel, (qx, qy) beside n */
        const int32_t px = x + (ndx ? 0 : s), py = y + (ndx ? s : 0), qx = px + ndx, qy = py + ndy;
        const float a = p3d_dp_fringe_move(depth, rgb, h, w, py, px, threshold);
        const float b = p3d_dp_fringe_move(depth, rgb, h, w, qy, qx, threshold);
        if (p3d_dp_fringe_joined(a, b, threshold)) return moved;
    }
    return centre;
}

#endif
