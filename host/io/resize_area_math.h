/* resize_area_math.h - per-element math of cv::resize(..., INTER_AREA), shared by host/io/resize_area.c
 * and cuda/io/resize_area.cu (P3D_HD, see p3d_hd.h).
 *
 * OpenCV (imgproc/src/resize.cpp, cv::hal::resize) picks one of four paths from the scales
 * scale_x = 1 / (dw / sw) and scale_y = 1 / (dh / sh) (computed exactly that way, in double):
 *   COPY   same size: the source is copied.
 *   FAST   both scales >= 1 and integers (|scale - round(scale)| < DBL_EPSILON): the mean of each
 *          ix x iy block (resizeAreaFast_). float: sum in groups of four (2x2 blocks: in the order
 *          of OpenCV's SIMD kernel, see p3d_ra_fast_pairwise), times 1.f / area. uint8:
 *          the 2x2 case with 1, 3 or 4 channels is (a + b + c + d + 2) >> 2; otherwise the integer
 *          sum times 1.f / area, rounded half to even and saturated.
 *   AREA   both scales >= 1 otherwise: each destination pixel integrates its source cell; per axis
 *          the weights are computeResizeAreaTab's (partial first/last pixel, 1e-3 threshold,
 *          float weights), rows are accumulated as sum += beta * (sum_x S * alpha) in float
 *          (ResizeArea_Invoker), uint8 rounded half to even and saturated.
 *   LINEAR either scale < 1: two-tap interpolation on BOTH axes with the area-mode coefficients
 *          s = floor(d * scale), f = (d + 1) - (s + 1) * inv_scale, f = f <= 0 ? 0 : f - floor(f);
 *          on x a tap at s >= sw - 1 takes S[sw - 1] alone; on y the rows are clamped to sh - 1.
 *          float: (S0 * (1 - f) + S1 * f) per axis. uint8: OpenCV's fixed point (11-bit weights,
 *          horizontal sums in int, the vertical pass of the VResizeLinear<uchar> specialisation).
 *
 * Element (p, y, x, c) of an image with `planes` planes of h x w pixels of cn interleaved channels
 * lives at ((p * h + y) * w + x) * cn + c: HWC images have one plane, CHW images have C planes of
 * one channel. Products and sums go through p3d_ra_{f,d}{mul,add}, so the CUDA compiler cannot
 * contract a multiply and an add into an FMA and the GPU matches the CPU bit for bit. */
#ifndef P3D_RESIZE_AREA_MATH_H
#define P3D_RESIZE_AREA_MATH_H

#include <math.h>
#include <stdint.h>

#include "core/p3d_hd.h"

enum { P3D_RA_COPY = 0, P3D_RA_FAST = 1, P3D_RA_AREA = 2, P3D_RA_LINEAR = 3 };

/* INTER_RESIZE_COEF_BITS: OpenCV's fixed-point weight precision for uint8 interpolation. */
#define P3D_RA_COEF_BITS 11
#define P3D_RA_COEF_ONE (1 << P3D_RA_COEF_BITS)

typedef struct p3d_ra_geom {
    int32_t sw, sh, dw, dh; /* source and destination width and height */
    int32_t planes, cn;     /* planes, interleaved channels per pixel (1..4) */
    int32_t mode;           /* P3D_RA_* */
    int32_t u8;             /* 1: uint8 samples, 0: float32 */
    int32_t ix, iy;         /* integer scales (FAST) */
    double scale_x, scale_y; /* source pixels per destination pixel */
    double inv_x, inv_y;     /* dw / sw, dh / sh */
} p3d_ra_geom;

/* ---- unfused arithmetic: a op b rounded once, never contracted into an FMA ------------------ */
#ifdef __CUDA_ARCH__
#define P3D_RA_BINOP(name, type, op, intrinsic) \
    P3D_HD type name(type a, type b) { return intrinsic(a, b); }
#else
#define P3D_RA_BINOP(name, type, op, intrinsic) \
    P3D_HD type name(type a, type b) { return a op b; }
#endif
P3D_RA_BINOP(p3d_ra_fmul, float, *, __fmul_rn)
P3D_RA_BINOP(p3d_ra_fadd, float, +, __fadd_rn)
P3D_RA_BINOP(p3d_ra_dmul, double, *, __dmul_rn)
P3D_RA_BINOP(p3d_ra_dadd, double, +, __dadd_rn)
#undef P3D_RA_BINOP

/* cvRound + saturate_cast: round half to even (the default rounding mode), then clamp. */
P3D_HD int32_t p3d_ra_round_sat(float v, int32_t lo, int32_t hi) {
    float r = rintf(v);
    return r <= (float)lo ? lo : r >= (float)hi ? hi : (int32_t)r;
}

P3D_HD int64_t p3d_ra_index(int64_t p, int32_t h, int32_t w, int32_t cn, int32_t y, int32_t x, int32_t c) {
    return ((p * h + y) * (int64_t)w + x) * cn + c;
}

P3D_HD float p3d_ra_load(const void *src, int32_t u8, int64_t i) {
    return u8 ? (float)((const uint8_t *)src)[i] : ((const float *)src)[i];
}

/* ---- AREA: one axis of computeResizeAreaTab for destination index d ------------------------- */
typedef struct p3d_ra_span {
    int32_t lo, hi;              /* source indices [lo, hi) */
    int32_t head, tail;          /* lo / hi - 1 carry a partial weight */
    float w_head, w_body, w_tail;
} p3d_ra_span;

P3D_HD p3d_ra_span p3d_ra_area_span(int32_t d, int32_t ssize, double scale) {
    double f1 = p3d_ra_dmul((double)d, scale);
    double f2 = p3d_ra_dadd(f1, scale);
    double cell = fmin(scale, (double)ssize - f1);
    int32_t s1 = (int32_t)ceil(f1), s2 = (int32_t)floor(f2);
    s2 = s2 < ssize - 1 ? s2 : ssize - 1;
    s1 = s1 < s2 ? s1 : s2;
    p3d_ra_span sp;
    sp.head = (double)s1 - f1 > 1e-3;
    sp.tail = f2 - (double)s2 > 1e-3;
    sp.w_head = (float)(((double)s1 - f1) / cell);
    sp.w_body = (float)(1.0 / cell);
    sp.w_tail = (float)(fmin(fmin(f2 - (double)s2, 1.0), cell) / cell);
    sp.lo = sp.head ? s1 - 1 : s1;
    sp.hi = sp.tail ? s2 + 1 : s2;
    return sp;
}

P3D_HD float p3d_ra_span_weight(const p3d_ra_span *sp, int32_t s) {
    if (sp->head && s == sp->lo) return sp->w_head;
    if (sp->tail && s == sp->hi - 1) return sp->w_tail;
    return sp->w_body;
}

/* The AREA sum over the source spans sy (rows) x sx (columns) of plane p, channel c. The CPU path
 * computes the spans once per row and column (host/io/resize_area.c); a kernel thread computes its own. */
P3D_HD float p3d_ra_area_sum(const p3d_ra_geom *g, const void *src, int64_t p, const p3d_ra_span *sy,
                             const p3d_ra_span *sx, int32_t c) {
    float sum = 0.0f;
    for (int32_t j = sy->lo; j < sy->hi; j++) {
        float row = 0.0f;
        for (int32_t i = sx->lo; i < sx->hi; i++) {
            float v = p3d_ra_load(src, g->u8, p3d_ra_index(p, g->sh, g->sw, g->cn, j, i, c));
            row = p3d_ra_fadd(row, p3d_ra_fmul(v, p3d_ra_span_weight(sx, i)));
        }
        sum = p3d_ra_fadd(sum, p3d_ra_fmul(p3d_ra_span_weight(sy, j), row));
    }
    return sum;
}

/* Destination element (p, y, x, c) of the AREA path, before the uint8 conversion. */
P3D_HD float p3d_ra_area_value(const p3d_ra_geom *g, const void *src, int64_t p, int32_t y, int32_t x, int32_t c) {
    p3d_ra_span sy = p3d_ra_area_span(y, g->sh, g->scale_y);
    p3d_ra_span sx = p3d_ra_area_span(x, g->sw, g->scale_x);
    return p3d_ra_area_sum(g, src, p, &sy, &sx, c);
}

/* Stores an AREA-path value: rounded and saturated for uint8, as is for float. */
P3D_HD void p3d_ra_store(const p3d_ra_geom *g, void *dst, int64_t o, float v) {
    if (g->u8) ((uint8_t *)dst)[o] = (uint8_t)p3d_ra_round_sat(v, 0, 255);
    else ((float *)dst)[o] = v;
}

/* ---- FAST: block sum in OpenCV's order (row-major in the block, groups of four) ----------------- */

/* float 2x2 blocks with 1 or 4 channels go through OpenCV's 128-bit SIMD kernel
 * (ResizeAreaFastVec_SIMD_32f), which adds (S00 + S01) + (S10 + S11); with one channel the last
 * dw % 4 pixels of a row are left to the scalar loop. */
P3D_HD int p3d_ra_fast_pairwise(const p3d_ra_geom *g, int32_t x) {
    if (g->u8 || g->ix != 2 || g->iy != 2) return 0;
    return g->cn == 4 || (g->cn == 1 && x < g->dw - g->dw % 4);
}

P3D_HD float p3d_ra_fast_sum(const p3d_ra_geom *g, const void *src, int64_t p, int32_t y, int32_t x, int32_t c) {
    if (p3d_ra_fast_pairwise(g, x)) {
        int64_t i0 = p3d_ra_index(p, g->sh, g->sw, g->cn, 2 * y, 2 * x, c);
        int64_t i1 = p3d_ra_index(p, g->sh, g->sw, g->cn, 2 * y + 1, 2 * x, c);
        const float *s = (const float *)src;
        return p3d_ra_fadd(p3d_ra_fadd(s[i0], s[i0 + g->cn]), p3d_ra_fadd(s[i1], s[i1 + g->cn]));
    }
    int32_t area = g->ix * g->iy, k = 0;
    float sum = 0.0f, v[4];
    while (k < area) {
        int32_t m = area - k >= 4 ? 4 : 1;
        for (int32_t t = 0; t < m; t++, k++)
            v[t] = p3d_ra_load(src, g->u8,
                               p3d_ra_index(p, g->sh, g->sw, g->cn, y * g->iy + k / g->ix, x * g->ix + k % g->ix, c));
        float part = v[0];
        for (int32_t t = 1; t < m; t++) part = p3d_ra_fadd(part, v[t]);
        sum = p3d_ra_fadd(sum, part);
    }
    return sum;
}

/* ---- LINEAR: one axis' tap for destination index d --------------------------------------- */
typedef struct p3d_ra_tap {
    int32_t s; /* first source index */
    float f;   /* weight of s + 1 (s gets 1 - f) */
} p3d_ra_tap;

P3D_HD p3d_ra_tap p3d_ra_linear_tap(int32_t d, double scale, double inv) {
    p3d_ra_tap t;
    t.s = (int32_t)floor(p3d_ra_dmul((double)d, scale));
    float f = (float)p3d_ra_dadd((double)(d + 1), -p3d_ra_dmul((double)(t.s + 1), inv));
    t.f = f <= 0.0f ? 0.0f : f - floorf(f);
    return t;
}

/* saturate_cast<short>(w * INTER_RESIZE_COEF_SCALE) */
P3D_HD int32_t p3d_ra_fixed_weight(float w) {
    return p3d_ra_round_sat(p3d_ra_fmul(w, (float)P3D_RA_COEF_ONE), -32768, 32767);
}

/* float: horizontal pass of source row r (HResizeLinear, ONE = 1). */
P3D_HD float p3d_ra_hlinear_f32(const p3d_ra_geom *g, const float *src, int64_t p, int32_t r, p3d_ra_tap tx, int32_t c) {
    if (tx.s >= g->sw - 1) return src[p3d_ra_index(p, g->sh, g->sw, g->cn, r, g->sw - 1, c)];
    float s0 = src[p3d_ra_index(p, g->sh, g->sw, g->cn, r, tx.s, c)];
    float s1 = src[p3d_ra_index(p, g->sh, g->sw, g->cn, r, tx.s + 1, c)];
    return p3d_ra_fadd(p3d_ra_fmul(s0, 1.0f - tx.f), p3d_ra_fmul(s1, tx.f));
}

/* uint8: horizontal pass in fixed point (weights sum to 2048). */
P3D_HD int32_t p3d_ra_hlinear_u8(const p3d_ra_geom *g, const uint8_t *src, int64_t p, int32_t r, p3d_ra_tap tx, int32_t c) {
    if (tx.s >= g->sw - 1) return src[p3d_ra_index(p, g->sh, g->sw, g->cn, r, g->sw - 1, c)] * P3D_RA_COEF_ONE;
    int32_t s0 = src[p3d_ra_index(p, g->sh, g->sw, g->cn, r, tx.s, c)];
    int32_t s1 = src[p3d_ra_index(p, g->sh, g->sw, g->cn, r, tx.s + 1, c)];
    return s0 * p3d_ra_fixed_weight(1.0f - tx.f) + s1 * p3d_ra_fixed_weight(tx.f);
}

P3D_HD float p3d_ra_linear_f32(const p3d_ra_geom *g, const float *src, int64_t p, int32_t y, int32_t x, int32_t c) {
    p3d_ra_tap ty = p3d_ra_linear_tap(y, g->scale_y, g->inv_y), tx = p3d_ra_linear_tap(x, g->scale_x, g->inv_x);
    int32_t r0 = ty.s < g->sh - 1 ? ty.s : g->sh - 1, r1 = ty.s + 1 < g->sh - 1 ? ty.s + 1 : g->sh - 1;
    float h0 = p3d_ra_hlinear_f32(g, src, p, r0, tx, c), h1 = p3d_ra_hlinear_f32(g, src, p, r1, tx, c);
    return p3d_ra_fadd(p3d_ra_fmul(h0, 1.0f - ty.f), p3d_ra_fmul(h1, ty.f));
}

P3D_HD uint8_t p3d_ra_linear_u8(const p3d_ra_geom *g, const uint8_t *src, int64_t p, int32_t y, int32_t x, int32_t c) {
    p3d_ra_tap ty = p3d_ra_linear_tap(y, g->scale_y, g->inv_y), tx = p3d_ra_linear_tap(x, g->scale_x, g->inv_x);
    int32_t r0 = ty.s < g->sh - 1 ? ty.s : g->sh - 1, r1 = ty.s + 1 < g->sh - 1 ? ty.s + 1 : g->sh - 1;
    int32_t h0 = p3d_ra_hlinear_u8(g, src, p, r0, tx, c), h1 = p3d_ra_hlinear_u8(g, src, p, r1, tx, c);
    int32_t b0 = p3d_ra_fixed_weight(1.0f - ty.f), b1 = p3d_ra_fixed_weight(ty.f);
    return (uint8_t)((((b0 * (h0 >> 4)) >> 16) + ((b1 * (h1 >> 4)) >> 16) + 2) >> 2);
}

/* ---- one destination element ------------------------------------------------------------- */
P3D_HD void p3d_ra_element(const p3d_ra_geom *g, const void *src, void *dst, int64_t p, int32_t y, int32_t x, int32_t c) {
    int64_t o = p3d_ra_index(p, g->dh, g->dw, g->cn, y, x, c);
    if (g->mode == P3D_RA_LINEAR) {
        if (g->u8) ((uint8_t *)dst)[o] = p3d_ra_linear_u8(g, (const uint8_t *)src, p, y, x, c);
        else ((float *)dst)[o] = p3d_ra_linear_f32(g, (const float *)src, p, y, x, c);
        return;
    }
    float v;
    if (g->mode == P3D_RA_COPY) {
        v = p3d_ra_load(src, g->u8, p3d_ra_index(p, g->sh, g->sw, g->cn, y, x, c));
    } else if (g->mode == P3D_RA_AREA) {
        v = p3d_ra_area_value(g, src, p, y, x, c);
    } else {
        float sum = p3d_ra_fast_sum(g, src, p, y, x, c);
        if (g->u8 && g->ix == 2 && g->iy == 2 && g->cn != 2) {
            ((uint8_t *)dst)[o] = (uint8_t)(((int32_t)sum + 2) >> 2);
            return;
        }
        v = p3d_ra_fmul(sum, 1.0f / (float)(g->ix * g->iy));
    }
    p3d_ra_store(g, dst, o, v);
}

#endif
