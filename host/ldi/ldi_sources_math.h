/* ldi_sources_math.h - the non-learned fill's source rules (issue 15) per pixel, written once for the
 * host (ldi_inpaint.c: p3d_ldi_sources, the patches' classic_sources / colour_sources) and the device
 * (cuda/ldi/ldi_sources.cu, which makes a patch's fill labels from the device LDI instead of their
 * upload: issue 14). Every map is (h, w) row-major; rgb is (h, w, 3) in [0, 1].
 *
 * A patch pixel's state is one byte of flags: the crop's maps (context, erosion ring, mask, the
 * extrapolated border's node) and the rules' results (on the occluder's own surface, supported,
 * source, colour source), each rule reading only the bits that the rules before it set, so a pass of
 * one thread a pixel (device) or a raster loop (host) give the same bits. The patch-wide statistics
 * are integer sums of the 8-bit colours (the LDI's own values: the crop's colours are u8 / 255), exact
 * in any order, and minima / maxima of disparities, turned into the doubles of the tests by the same
 * functions on both sides; the device's double products and sums go through __dmul_rn / __dadd_rn, so
 * nvcc cannot contract them into fused multiply-adds. */
#ifndef P3D_LDI_SOURCES_MATH_H
#define P3D_LDI_SOURCES_MATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "inpaint/fill_classic_math.h"
#include "ldi/ldi_gather_math.h"
#include "ldi/ldi_math.h"

/* The flags of a patch pixel. Inputs (the crop): */
#define P3D_LDI_SRC_CTX 0x01   /* context (known depth and colour) */
#define P3D_LDI_SRC_ERODE 0x02 /* context of the erosion ring (not colour context) */
#define P3D_LDI_SRC_MASK 0x04  /* to synthesise */
#define P3D_LDI_SRC_SYNTH 0x08 /* context whose node is the extrapolated border's */
/* Results, in the order the rules set them: */
#define P3D_LDI_SRC_FG 0x10   /* on the occluder's own surface (seeded, then flooded) */
#define P3D_LDI_SRC_SUP 0x20  /* supported: a context 4-neighbour on the same surface */
#define P3D_LDI_SRC_SRC 0x40  /* a source of the fill (colour and depth) */
#define P3D_LDI_SRC_CSRC 0x80 /* a colour source */

/* The colour floor of the variances: (2 % of the range)^2, so a flat side does not reject everything. */
#define P3D_LDI_SRC_FLOOR_VAR (0.02 * 0.02)
/* The photo's own colour sources an edge's patch needs before the border's nodes are dropped from them
 * (p3d_ldi_src_colour): more than a 7 x 7 source patch. */
#define P3D_LDI_SRC_MIN_REAL 64

/* Colour moments of a set of pixels: sums of the 8-bit values and of their squares per channel, and
 * the count. Integers, so the sum does not depend on the order (the device adds them atomically). */
typedef struct p3d_ldi_src_moments {
    uint64_t sum[3], sq[3], n;
} p3d_ldi_src_moments;

/* The patch-wide values the rules share: the occluder's colour moments (the nodes covering the mask
 * pixels), the supported colour context's, the farthest disparity of a seed's occluder (far, float
 * bits; 0x7f800000 = +inf = none yet), the nearest disparity of the seam (seam, float bits, 0 = none)
 * and the counts of the fallbacks. The device keeps one in scratch and fills it with atomics. */
typedef struct p3d_ldi_src_sums {
    p3d_ldi_src_moments fg, bg;
    uint32_t far, seam;
    int32_t kept, real, ckept, pad;
} p3d_ldi_src_sums;

#define P3D_LDI_SRC_NONE_FAR 0x7f800000u

P3D_HD void p3d_ldi_src_sums_init(p3d_ldi_src_sums *s) {
    for (int32_t c = 0; c < 3; c++) s->fg.sum[c] = s->fg.sq[c] = s->bg.sum[c] = s->bg.sq[c] = 0;
    s->fg.n = s->bg.n = 0;
    s->far = P3D_LDI_SRC_NONE_FAR;
    s->seam = 0;
    s->kept = s->real = s->ckept = s->pad = 0;
}

/* A patch pixel as it goes up to the device (one byte, cuda/ldi/ldi_sources.cu): its input flags (the
 * low four bits) and its node's layer at its pixel + 1 above them (0: no node). Layers up to
 * P3D_LDI_SRC_MAX_LAYER; a patch with a deeper node is made on the host. */
#define P3D_LDI_SRC_MAX_LAYER 14
P3D_HD uint8_t p3d_ldi_src_code(uint8_t flags, int32_t layer) {
    return (uint8_t)((flags & 0x0f) | ((layer + 1) << 4));
}
P3D_HD uint8_t p3d_ldi_src_code_flags(uint8_t code) { return (uint8_t)(code & 0x0f); }
P3D_HD int32_t p3d_ldi_src_code_layer(uint8_t code) { return (int32_t)(code >> 4) - 1; }

/* The codes of most patches fit in four bits, and then go up two a byte (pixel 2i in the low half):
 * 0 unknown, 1 mask without a node (a border strip's), 2 + layer a mask pixel at layer 0 or 1, and
 * 4 + 2 c + layer a context pixel at layer 0 or 1 with c = erosion ring + 2 * border node. -1: code
 * has no nibble (a deeper layer). */
P3D_HD int32_t p3d_ldi_src_nibble(uint8_t code) {
    const uint8_t f = p3d_ldi_src_code_flags(code);
    const int32_t layer = p3d_ldi_src_code_layer(code);
    if (f == 0) return 0;
    if (f == P3D_LDI_SRC_MASK) return layer < 0 ? 1 : layer <= 1 ? 2 + layer : -1;
    if (!(f & P3D_LDI_SRC_CTX) || (f & P3D_LDI_SRC_MASK) || layer < 0 || layer > 1) return -1;
    return 4 + 2 * (((f & P3D_LDI_SRC_ERODE) ? 1 : 0) + ((f & P3D_LDI_SRC_SYNTH) ? 2 : 0)) + layer;
}

P3D_HD uint8_t p3d_ldi_src_unnibble(uint8_t n) {
    if (n == 0) return 0;
    if (n < 4) return p3d_ldi_src_code(P3D_LDI_SRC_MASK, n == 1 ? -1 : n - 2);
    const int32_t c = (n - 4) / 2;
    const uint8_t f = (uint8_t)(P3D_LDI_SRC_CTX | ((c & 1) ? P3D_LDI_SRC_ERODE : 0) | ((c & 2) ? P3D_LDI_SRC_SYNTH : 0));
    return p3d_ldi_src_code(f, (n - 4) % 2);
}

/* Code k of a patch's upload: nibbles (two a byte) or bytes. */
P3D_HD uint8_t p3d_ldi_src_code_at(const uint8_t *up, int64_t k, int32_t nibbles) {
    return nibbles ? p3d_ldi_src_unnibble((uint8_t)((up[k >> 1] >> ((k & 1) * 4)) & 15)) : up[k];
}

/* The fill's level-0 label of a pixel from its final flags (fill_classic_math.h). */
P3D_HD uint8_t p3d_ldi_src_label(uint8_t f) {
    return (f & P3D_LDI_SRC_CSRC) ? P3D_FILL_CONTEXT : (f & P3D_LDI_SRC_MASK) ? P3D_FILL_MASK : P3D_FILL_UNKNOWN;
}

#ifdef __CUDA_ARCH__
#define p3d_src_dmul(a, b) __dmul_rn((a), (b))
#define p3d_src_dadd(a, b) __dadd_rn((a), (b))
#define p3d_src_dsub(a, b) __dsub_rn((a), (b))
#else
#define p3d_src_dmul(a, b) ((a) * (b))
#define p3d_src_dadd(a, b) ((a) + (b))
#define p3d_src_dsub(a, b) ((a) - (b))
#endif

/* A float's bits and back (positive floats order as their bits: the device's atomicMin / atomicMax). */
P3D_HD uint32_t p3d_ldi_src_bits(float v) {
    uint32_t u;
    memcpy(&u, &v, sizeof u);
    return u;
}

P3D_HD float p3d_ldi_src_float(uint32_t u) {
    float v;
    memcpy(&v, &u, sizeof v);
    return v;
}

/* Adds an 8-bit colour to the moments m (host; the device adds the same terms atomically). */
P3D_HD void p3d_ldi_src_moments_add(p3d_ldi_src_moments *m, const uint8_t c[3]) {
    for (int32_t ch = 0; ch < 3; ch++) m->sum[ch] += c[ch], m->sq[ch] += (uint64_t)c[ch] * c[ch];
    m->n++;
}

/* Channel ch's mean and variance (in [0, 1] units, the variance clamped at 0) of m; m->n > 0. */
P3D_HD void p3d_ldi_src_mean_var(const p3d_ldi_src_moments *m, int32_t ch, double *mean, double *var) {
    const double n = (double)m->n, mu = (double)m->sum[ch] / 255.0 / n;
    const double v = p3d_src_dsub((double)m->sq[ch] / 65025.0 / n, p3d_src_dmul(mu, mu));
    *mean = mu;
    *var = v > 0 ? v : 0;
}

/* The pixel's 8-bit colour from its crop colour (u8 / 255: exact). */
P3D_HD void p3d_ldi_src_u8(const float *rgb, int64_t k, uint8_t c[3]) {
    for (int32_t ch = 0; ch < 3; ch++) c[ch] = p3d_ldi_colour_u8(rgb[3 * k + ch]);
}

/* Seed rule of the occluder's surface: context pixel (x, y) is a seed when a 4-neighbour is a mask
 * pixel with an occluder (occ > 0) that the pixel is not behind by more than thr in disparity.
 * Returns 1 for a seed, with *far the smallest disparity among those occluders. */
P3D_HD int32_t p3d_ldi_src_seed(const uint8_t *f, const float *depth, const float *occ, int32_t w, int32_t h,
                                int32_t x, int32_t y, float thr, float *far) {
    const int64_t k = (int64_t)y * w + x;
    int32_t seed = 0;
    *far = 0.0f;
    if (!(f[k] & P3D_LDI_SRC_CTX)) return 0;
    for (int32_t d = 0; d < 4; d++) {
        const int32_t xx = x + p3d_dir_dx(d), yy = y + p3d_dir_dy(d);
        if (xx < 0 || yy < 0 || xx >= w || yy >= h) continue;
        const int64_t j = (int64_t)yy * w + xx;
        if ((f[j] & P3D_LDI_SRC_MASK) && occ[j] > 0.0f && 1.0f / depth[k] >= 1.0f / occ[j] - thr) {
            seed = 1;
            if (*far == 0.0f || 1.0f / occ[j] < *far) *far = 1.0f / occ[j];
        }
    }
    return seed;
}

/* Growth rule of the occluder's surface: context pixel j (depth dj) joins from a marked 4-neighbour of
 * depth dk when it is on the same surface (within thr) and not behind the farthest occluder far by
 * more than thr (a background touching the occluder somewhere is not taken whole). */
P3D_HD int32_t p3d_ldi_src_grow_pair(float dj, float dk, float far, float thr) {
    return !(1.0f / dj < far - thr) && p3d_ldi_joined(dj, dk, thr);
}

/* 1 when unmarked context pixel (x, y) joins the occluder's surface from a marked 4-neighbour now. */
P3D_HD int32_t p3d_ldi_src_grows(const uint8_t *f, const float *depth, int32_t w, int32_t h, int32_t x, int32_t y,
                                 float far, float thr) {
    const int64_t k = (int64_t)y * w + x;
    if ((f[k] & (P3D_LDI_SRC_CTX | P3D_LDI_SRC_FG)) != P3D_LDI_SRC_CTX) return 0;
    for (int32_t d = 0; d < 4; d++) {
        const int32_t xx = x + p3d_dir_dx(d), yy = y + p3d_dir_dy(d);
        if (xx < 0 || yy < 0 || xx >= w || yy >= h) continue;
        const int64_t j = (int64_t)yy * w + xx;
        if ((f[j] & P3D_LDI_SRC_FG) && p3d_ldi_src_grow_pair(depth[k], depth[j], far, thr)) return 1;
    }
    return 0;
}

/* Support: context pixel (x, y) has a context 4-neighbour on the same surface (within thr). */
P3D_HD int32_t p3d_ldi_src_supported(const uint8_t *f, const float *depth, int32_t w, int32_t h, int32_t x, int32_t y,
                                     float thr) {
    const int64_t k = (int64_t)y * w + x;
    if (!(f[k] & P3D_LDI_SRC_CTX)) return 0;
    for (int32_t d = 0; d < 4; d++) {
        const int32_t xx = x + p3d_dir_dx(d), yy = y + p3d_dir_dy(d);
        if (xx < 0 || yy < 0 || xx >= w || yy >= h) continue;
        const int64_t j = (int64_t)yy * w + xx;
        if ((f[j] & P3D_LDI_SRC_CTX) && p3d_ldi_joined(depth[k], depth[j], thr)) return 1;
    }
    return 0;
}

/* 1 when a 4-neighbour of (x, y) is a mask pixel. */
P3D_HD int32_t p3d_ldi_src_by_mask(const uint8_t *f, int32_t w, int32_t h, int32_t x, int32_t y) {
    for (int32_t d = 0; d < 4; d++) {
        const int32_t xx = x + p3d_dir_dx(d), yy = y + p3d_dir_dy(d);
        if (xx >= 0 && yy >= 0 && xx < w && yy < h && (f[(int64_t)yy * w + xx] & P3D_LDI_SRC_MASK)) return 1;
    }
    return 0;
}

/* The seam's disparity at (x, y), after support and the occluder's surface: a supported pixel off that
 * surface next to the mask gives its disparity (the seam is their largest), any other pixel 0. */
P3D_HD float p3d_ldi_src_seam(const uint8_t *f, const float *depth, int32_t w, int32_t h, int32_t x, int32_t y) {
    const int64_t k = (int64_t)y * w + x;
    if ((f[k] & (P3D_LDI_SRC_SUP | P3D_LDI_SRC_FG)) != P3D_LDI_SRC_SUP || !p3d_ldi_src_by_mask(f, w, h, x, y))
        return 0.0f;
    return 1.0f / depth[k];
}

/* The colour test's constants from the patch's moments: the background's (the supported colour
 * context) and the occluder's diagonal Gaussians with the variance floor; test = 0 when either is
 * empty (no pixel is dropped by colour then). */
typedef struct p3d_ldi_src_test {
    double mean[3], ib[3], fg[3], jf[3], lb, lf;
    int32_t test;
} p3d_ldi_src_test;

/* The occluder's colour statistics in floats (mean, then variance per channel), as the patch kept
 * them before the device made the labels; zeros when m->n = 0. */
P3D_HD void p3d_ldi_src_fg_stats(const p3d_ldi_src_moments *m, float fg[6]) {
    for (int32_t ch = 0; ch < 3; ch++) {
        double mu = 0, v = 0;
        if (m->n > 0) p3d_ldi_src_mean_var(m, ch, &mu, &v);
        fg[ch] = (float)mu;
        fg[3 + ch] = (float)v;
    }
}

/* The log of the variances is the one libm call (log, double; on a device CUDA's, within 1 ulp of the
 * host's: a pixel whose two likelihoods are within that of each other could differ there, which
 * P3D_LDI_RESIDENT_CHECK=1 reports; the emulated device uses the host's). */
P3D_HD void p3d_ldi_src_test_make(const p3d_ldi_src_sums *s, p3d_ldi_src_test *t) {
    float fg[6];
    p3d_ldi_src_fg_stats(&s->fg, fg);
    t->lb = t->lf = 0;
    t->test = s->fg.n > 0 && s->bg.n > 0;
    for (int32_t ch = 0; ch < 3; ch++) {
        double mu = 0, v = 0;
        if (s->bg.n > 0) p3d_ldi_src_mean_var(&s->bg, ch, &mu, &v);
        const double vb = p3d_src_dadd(v, P3D_LDI_SRC_FLOOR_VAR), vf = p3d_src_dadd((double)fg[3 + ch], P3D_LDI_SRC_FLOOR_VAR);
        t->mean[ch] = mu;
        t->ib[ch] = 1.0 / vb;
        t->lb = p3d_src_dadd(t->lb, log(vb));
        t->fg[ch] = (double)fg[ch];
        t->jf[ch] = 1.0 / vf;
        t->lf = p3d_src_dadd(t->lf, log(vf));
    }
}

/* Source rule at pixel k (after support, the occluder's surface and the seam): a supported pixel off
 * the occluder's surface, not nearer than the seam by more than thr, and, in the erosion ring, not
 * likelier under the occluder's colour Gaussian than under the background's. */
P3D_HD int32_t p3d_ldi_src_keep(const uint8_t *f, const float *depth, const float *rgb, int64_t k, float seam, float thr,
                                const p3d_ldi_src_test *t) {
    if ((f[k] & (P3D_LDI_SRC_SUP | P3D_LDI_SRC_FG)) != P3D_LDI_SRC_SUP) return 0;
    if (seam > 0 && 1.0f / depth[k] > seam + thr) return 0;
    if ((f[k] & P3D_LDI_SRC_ERODE) && t->test) {
        double db = t->lb, df = t->lf;
        for (int32_t c = 0; c < 3; c++) {
            const double v = (double)rgb[3 * k + c], eb = p3d_src_dsub(v, t->mean[c]), ef = p3d_src_dsub(v, t->fg[c]);
            db = p3d_src_dadd(db, p3d_src_dmul(p3d_src_dmul(eb, eb), t->ib[c]));
            df = p3d_src_dadd(df, p3d_src_dmul(p3d_src_dmul(ef, ef), t->jf[c]));
        }
        if (df < db) return 0;
    }
    return 1;
}

/* Colour source rule at (x, y), the sources final (after their fallback): a source less the seam (a
 * source next to the mask: the photo's pixel on the depth edge, a blend of both surfaces) on an
 * edge's patch (id >= 0), and less the border's nodes when drop_synth (the photo gives at least
 * P3D_LDI_SRC_MIN_REAL sources). *kept: the pixel's share of the count whose 0 makes every source a
 * colour source (ldi_inpaint.c colour_sources). */
P3D_HD int32_t p3d_ldi_src_colour(const uint8_t *f, int32_t w, int32_t h, int32_t x, int32_t y, int32_t id,
                                  int32_t drop_synth, int32_t *kept) {
    const int64_t k = (int64_t)y * w + x;
    const int32_t src = (f[k] & P3D_LDI_SRC_SRC) != 0;
    int32_t c = src && !(drop_synth && (f[k] & P3D_LDI_SRC_SYNTH));
    if (!c || id < 0) {
        *kept = src;
        return c;
    }
    c = !p3d_ldi_src_by_mask(f, w, h, x, y);
    *kept = c;
    return c;
}

#endif
