/* render_math.h - per-vertex, per-triangle and per-sample math of the rasterizer (P3D_HD, shared by
 * host/render/render.c and cuda/render/render.cu). Definitions and conventions: render.h.
 *
 * Bit-identical frames on both backends: coverage is decided on 8-bit sub-pixel fixed-point vertex
 * positions with exact int64 edge functions (watertight: a sample on an edge shared by two triangles
 * belongs to exactly one of them, by the top-left rule), and every float product that is followed by
 * an addition goes through p3d_rmul, which is __fmul_rn on the device so nvcc cannot contract it into
 * an FMA (the host C11 build never contracts: -std=c11 implies -ffp-contract=off). Divisions are IEEE
 * on both sides (no fast-math). */
#ifndef P3D_RENDER_MATH_H
#define P3D_RENDER_MATH_H

#include <math.h>

#include "mesh/mesh_tex_math.h"
#include <stdint.h>

#include "core/p3d_hd.h"
#include "render/render.h"

#if defined(__CUDA_ARCH__)
#define p3d_rmul(a, b) __fmul_rn((a), (b))
#else
#define p3d_rmul(a, b) ((a) * (b))
#endif

/* x86 hosts sample the atlas with SSE2 (part of x86-64; p3d_render_tex_bilinear_x); device code and
 * other hosts use the scalar code, which gives the same floats. */
#if defined(__SSE2__) && !defined(__CUDA_ARCH__)
#define P3D_RENDER_SSE2 1
#include <emmintrin.h>
#else
#define P3D_RENDER_SSE2 0
#endif

/* Sub-pixel precision of projected vertices: 1/256 pixel. */
#define P3D_RENDER_SUBPIX_BITS 8
#define P3D_RENDER_SUBPIX (1 << P3D_RENDER_SUBPIX_BITS)
/* Vertices projecting farther than this from the raster origin (in raster pixels) are dropped with
 * their triangles, so fixed-point coordinates stay below 2^23 and edge products below 2^47. */
#define P3D_RENDER_GUARD 32768.0f
/* A raster sample's key when no triangle covers it (every real key is smaller). */
#define P3D_RENDER_KEY_EMPTY 0xffffffffffffffffull

/* Camera of one raster: world -> camera rotation rows (OpenCV axes), camera centre in mesh space,
 * intrinsics in raster pixels (pixel (x, y) has its centre at (x + 0.5, y + 0.5)), and the depth
 * range [znear, zfar] a vertex must lie in. */
typedef struct p3d_rview {
    float rot[9];
    float pos[3];
    float fx, fy, cx, cy;
    float znear, zfar;
} p3d_rview;

/* One triangle after setup: fixed-point vertices ordered so that the signed area is positive, their
 * view depths, the mesh vertex ids in the same order, and the raster pixels whose centres may lie
 * inside ([x0, x1] x [y0, y1], inclusive, not yet clipped to the raster). p3d_render_tri_planes adds
 * the per-sample plane: e_k, the exact integer edge function opposite vertex k at a sample (with the
 * top-left rule's bias: covered iff all three are >= 0), is ea_k * qx + eb_k * qy + ec_k (qx, qy: the
 * sample centre in fixed point; the three sum to area, up to the bias), and
 * w_k = 1 / (z_k * area), so that the sample's 1 / depth is sum_k w_k e_k - interpolated linearly in
 * screen space, which is what makes the interpolation perspective-correct - with no division. */
typedef struct p3d_rtri {
    int32_t x[3], y[3];
    float z[3];
    int32_t v[3];
    int64_t area;
    int32_t x0, y0, x1, y1;
    int64_t ea[3], eb[3], ec[3];
    float w[3];
} p3d_rtri;

/* Camera-space depth of mesh point p (for the near/far range of a view). */
P3D_HD float p3d_render_view_depth(const p3d_rview *v, const float *p) {
    const float d0 = p[0] - v->pos[0], d1 = p[1] - v->pos[1], d2 = p[2] - v->pos[2];
    return p3d_rmul(v->rot[6], d0) + p3d_rmul(v->rot[7], d1) + p3d_rmul(v->rot[8], d2);
}

/* Projects mesh point p: fixed-point raster position (*sx, *sy) and view depth *sz. Returns 0 (and
 * *sz = -1, which marks the vertex unusable) when the depth is outside [znear, zfar] or the position
 * is outside the guard band. */
P3D_HD int32_t p3d_render_project(const p3d_rview *v, const float *p, int32_t *sx, int32_t *sy, float *sz) {
    const float d0 = p[0] - v->pos[0], d1 = p[1] - v->pos[1], d2 = p[2] - v->pos[2];
    const float xc = p3d_rmul(v->rot[0], d0) + p3d_rmul(v->rot[1], d1) + p3d_rmul(v->rot[2], d2);
    const float yc = p3d_rmul(v->rot[3], d0) + p3d_rmul(v->rot[4], d1) + p3d_rmul(v->rot[5], d2);
    const float zc = p3d_rmul(v->rot[6], d0) + p3d_rmul(v->rot[7], d1) + p3d_rmul(v->rot[8], d2);
    *sx = *sy = 0;
    *sz = -1.0f;
    if (!(zc >= v->znear && zc <= v->zfar)) return 0;
    const float u = p3d_rmul(v->fx, xc / zc) + v->cx, w = p3d_rmul(v->fy, yc / zc) + v->cy;
    if (!(fabsf(u) < P3D_RENDER_GUARD && fabsf(w) < P3D_RENDER_GUARD)) return 0;
    *sx = (int32_t)floorf(p3d_rmul(u, (float)P3D_RENDER_SUBPIX) + 0.5f);
    *sy = (int32_t)floorf(p3d_rmul(w, (float)P3D_RENDER_SUBPIX) + 0.5f);
    *sz = zc;
    return 1;
}

/* Edge function of (a -> b) at q: twice the signed area of (a, b, q), exact. */
P3D_HD int64_t p3d_render_edge(int32_t ax, int32_t ay, int32_t bx, int32_t by, int64_t qx, int64_t qy) {
    return (int64_t)(bx - ax) * (qy - ay) - (int64_t)(by - ay) * (qx - ax);
}

/* floor(a / 2^bits) for negative a too, without relying on >> of negative numbers. */
P3D_HD int32_t p3d_render_floor_shift(int32_t a, int32_t bits) {
    const int32_t d = 1 << bits;
    return a >= 0 ? a / d : -((-a + d - 1) / d);
}

/* Sets up triangle (ia, ib, ic) from the projected vertex arrays; returns 0 when the triangle is
 * culled: a vertex is unusable, it is degenerate (zero area in fixed point) or no raster pixel centre
 * of the w x h raster can lie inside its bounding box. Both windings are kept (no back-face culling:
 * the reference renders with cull_face off). The plane fields are left to p3d_render_tri_planes. */
P3D_HD int32_t p3d_render_tri_setup(const int32_t *sx, const int32_t *sy, const float *sz, int32_t ia, int32_t ib,
                                    int32_t ic, int32_t w, int32_t h, p3d_rtri *t) {
    const int64_t area = p3d_render_edge(sx[ia], sy[ia], sx[ib], sy[ib], sx[ic], sy[ic]);
    if (area < 0) {
        const int32_t s = ib;
        ib = ic;
        ic = s;
    }
    t->area = area < 0 ? -area : area;
    const int32_t ids[3] = {ia, ib, ic};
    int32_t mnx = sx[ia], mxx = sx[ia], mny = sy[ia], mxy = sy[ia];
    for (int32_t k = 0; k < 3; k++) {
        const int32_t i = ids[k];
        t->v[k] = i;
        t->x[k] = sx[i];
        t->y[k] = sy[i];
        t->z[k] = sz[i];
        mnx = sx[i] < mnx ? sx[i] : mnx;
        mxx = sx[i] > mxx ? sx[i] : mxx;
        mny = sy[i] < mny ? sy[i] : mny;
        mxy = sy[i] > mxy ? sy[i] : mxy;
    }
    /* Pixel centres (p + 1/2) * SUBPIX inside [mn, mx]: p from ceil((mn - half) / S) to floor((mx - half) / S). */
    const int32_t half = P3D_RENDER_SUBPIX / 2;
    t->x0 = -p3d_render_floor_shift(-(mnx - half), P3D_RENDER_SUBPIX_BITS);
    t->y0 = -p3d_render_floor_shift(-(mny - half), P3D_RENDER_SUBPIX_BITS);
    t->x1 = p3d_render_floor_shift(mxx - half, P3D_RENDER_SUBPIX_BITS);
    t->y1 = p3d_render_floor_shift(mxy - half, P3D_RENDER_SUBPIX_BITS);
    if (t->x0 < 0) t->x0 = 0;
    if (t->y0 < 0) t->y0 = 0;
    if (t->x1 > w - 1) t->x1 = w - 1;
    if (t->y1 > h - 1) t->y1 = h - 1;
    /* Every field is set above, so callers may reuse t after a rejection without reading garbage. */
    return area != 0 && t->z[0] > 0.0f && t->z[1] > 0.0f && t->z[2] > 0.0f && t->x0 <= t->x1 && t->y0 <= t->y1;
}

/* Top-left rule for the edge a -> b of a positively oriented triangle: a sample exactly on the edge
 * belongs to the triangle only for these edge directions; the same edge seen from the neighbouring
 * triangle runs the other way and fails the test, so shared edges are covered exactly once. */
P3D_HD int32_t p3d_render_edge_owns(int32_t ax, int32_t ay, int32_t bx, int32_t by) {
    return by > ay || (by == ay && bx < ax);
}

/* The plane fields of a triangle p3d_render_tri_setup accepted (see p3d_rtri). Edge k runs from
 * vertex (k + 1) % 3 to vertex (k + 2) % 3: e_k(q) = (bx - ax) (qy - ay) - (by - ay) (qx - ax) - bias_k,
 * i.e. ea_k = ay - by, eb_k = bx - ax, ec_k = (by - ay) ax - (bx - ax) ay - bias_k, all exact in int64
 * (below 2^48). bias_k is 0 when the edge owns the samples exactly on it (top-left rule), else 1, so
 * a sample is covered exactly when all three e_k >= 0. (The bias moves the weights below by 1 in
 * e ~ area units: invisible, and the same on both backends.) */
P3D_HD void p3d_render_tri_planes(p3d_rtri *t) {
    const float area = (float)t->area;
    for (int32_t k = 0; k < 3; k++) {
        const int32_t a = (k + 1) % 3, b = (k + 2) % 3;
        const int32_t ax = t->x[a], ay = t->y[a], bx = t->x[b], by = t->y[b];
        t->ea[k] = (int64_t)ay - by;
        t->eb[k] = (int64_t)bx - ax;
        t->ec[k] = ((int64_t)by - ay) * ax - ((int64_t)bx - ax) * ay - (p3d_render_edge_owns(ax, ay, bx, by) ? 0 : 1);
        t->w[k] = 1.0f / p3d_rmul(t->z[k], area);
    }
}

/* The three edge functions of t at raster pixel (px, py)'s centre. */
P3D_HD void p3d_render_edges(const p3d_rtri *t, int32_t px, int32_t py, int64_t e[3]) {
    const int64_t qx = (int64_t)px * P3D_RENDER_SUBPIX + P3D_RENDER_SUBPIX / 2;
    const int64_t qy = (int64_t)py * P3D_RENDER_SUBPIX + P3D_RENDER_SUBPIX / 2;
    for (int32_t k = 0; k < 3; k++) e[k] = t->ea[k] * qx + t->eb[k] * qy + t->ec[k];
}

/* The mesh and projected vertices a resolve reads. */
typedef struct p3d_rmesh {
    const int32_t *faces; /* (n_faces, 3) */
    const uint8_t *rgba;  /* (n_vertices, 4) */
    const int32_t *sx, *sy;
    const float *sz;
    int32_t rw, rh;      /* raster size */
    const float *uv;     /* (n_vertices, 2) texture coordinates, or NULL: vertex colours */
    const uint8_t *tex;  /* (tex_h, tex_w, 4) when uv is set: the atlas as RGBX (p3d_render_atlas_rgbx) */
    int32_t tex_w, tex_h;
} p3d_rmesh;

/* Perspective-correct weights at a sample of t with edge functions e (or a group's sums of them):
 * with p_k = w_k e_k (the sample's 1 / depth is sum_k p_k), b_k = p_k / sum_j p_j, computed with one
 * reciprocal. */
P3D_HD void p3d_render_bary(const p3d_rtri *t, const int64_t e[3], float b[3]) {
    const float w0 = p3d_rmul(t->w[0], (float)e[0]), w1 = p3d_rmul(t->w[1], (float)e[1]);
    const float w2 = p3d_rmul(t->w[2], (float)e[2]);
    const float r = 1.0f / (w0 + w1 + w2);
    b[0] = p3d_rmul(w0, r);
    b[1] = p3d_rmul(w1, r);
    b[2] = p3d_rmul(w2, r);
}

/* The texture coordinates sum_k b_k uv_k of t's vertices (uv: (n_vertices, 2)). */
P3D_HD void p3d_render_uv(const p3d_rtri *t, const float b[3], const float *uv, float *u, float *v) {
    const float *t0 = uv + 2 * (int64_t)t->v[0], *t1 = uv + 2 * (int64_t)t->v[1], *t2 = uv + 2 * (int64_t)t->v[2];
    *u = p3d_rmul(b[0], t0[0]) + p3d_rmul(b[1], t1[0]) + p3d_rmul(b[2], t2[0]);
    *v = p3d_rmul(b[0], t0[1]) + p3d_rmul(b[1], t1[1]) + p3d_rmul(b[2], t2[1]);
}

/* p3d_tex_bilinear (mesh_tex_math.h, the sampler both backends shade with) on the atlas laid out for
 * the fetch: (tex_h, tex_w, 4) RGBX, a texel's channels in one 4-byte word (the 4th unused), so the
 * four texels are four word loads and, on x86 hosts, the channels' lerps run side by side in SSE2
 * registers (lanes of IEEE single-precision subtractions, products and sums, as the scalar code's).
 * The same operations on the same values in the same order per channel as p3d_tex_bilinear, so the
 * same floats (test_render compares the two, clamped edges included). */
P3D_HD void p3d_render_tex_bilinear_x(const uint8_t *tex4, int32_t tw, int32_t th, float u, float v, float out[3]) {
    const p3d_tex_taps t = p3d_tex_bilinear_taps(tw, th, u, v);
    const float fx = t.fx, fy = t.fy;
    const uint8_t *a = tex4 + 4 * ((int64_t)t.y0 * tw + t.x0), *b = tex4 + 4 * ((int64_t)t.y0 * tw + t.x1);
    const uint8_t *c = tex4 + 4 * ((int64_t)t.y1 * tw + t.x0), *d = tex4 + 4 * ((int64_t)t.y1 * tw + t.x1);
#if P3D_RENDER_SSE2
    const __m128i z = _mm_setzero_si128();
    /* a texel's word (the compiler makes each one load) */
#define P3D_RENDER_WORD(p) ((int32_t)((uint32_t)(p)[0] | (uint32_t)(p)[1] << 8 | (uint32_t)(p)[2] << 16 | (uint32_t)(p)[3] << 24))
    const int32_t wa = P3D_RENDER_WORD(a), wb = P3D_RENDER_WORD(b), wc = P3D_RENDER_WORD(c), wd = P3D_RENDER_WORD(d);
#undef P3D_RENDER_WORD
    /* each texel's 4 bytes widened to 4 int32 lanes, then converted exactly to float */
    const __m128 fa = _mm_cvtepi32_ps(_mm_unpacklo_epi16(_mm_unpacklo_epi8(_mm_cvtsi32_si128(wa), z), z));
    const __m128 fb = _mm_cvtepi32_ps(_mm_unpacklo_epi16(_mm_unpacklo_epi8(_mm_cvtsi32_si128(wb), z), z));
    const __m128 fc = _mm_cvtepi32_ps(_mm_unpacklo_epi16(_mm_unpacklo_epi8(_mm_cvtsi32_si128(wc), z), z));
    const __m128 fd = _mm_cvtepi32_ps(_mm_unpacklo_epi16(_mm_unpacklo_epi8(_mm_cvtsi32_si128(wd), z), z));
    const __m128 vx = _mm_set1_ps(fx), vy = _mm_set1_ps(fy);
    const __m128 top = _mm_add_ps(fa, _mm_mul_ps(vx, _mm_sub_ps(fb, fa)));
    const __m128 bot = _mm_add_ps(fc, _mm_mul_ps(vx, _mm_sub_ps(fd, fc)));
    float o[4];
    _mm_storeu_ps(o, _mm_add_ps(top, _mm_mul_ps(vy, _mm_sub_ps(bot, top))));
    for (int32_t k = 0; k < 3; k++) out[k] = o[k];
#else
    p3d_tex_lerp(a, b, c, d, fx, fy, out);
#endif
}

/* The vertex colours' sum_k b_k colour_k (rgba: (n_vertices, 4)). */
P3D_HD void p3d_render_vcolour(const p3d_rtri *t, const float b[3], const uint8_t *rgba, float out[3]) {
    const uint8_t *c0 = rgba + 4 * (int64_t)t->v[0], *c1 = rgba + 4 * (int64_t)t->v[1], *c2 = rgba + 4 * (int64_t)t->v[2];
    for (int32_t c = 0; c < 3; c++)
        out[c] = p3d_rmul(b[0], (float)c0[c]) + p3d_rmul(b[1], (float)c1[c]) + p3d_rmul(b[2], (float)c2[c]);
}

/* Perspective-correct colour at a sample of t with edge functions e (p3d_render_bary's weights b_k):
 * the vertex colours' sum_k b_k colour_k, or for a textured mesh the texture at sum_k b_k uv_k. */
P3D_HD void p3d_render_shade(const p3d_rtri *t, const int64_t e[3], const p3d_rmesh *m, float out[3]) {
    float b[3];
    p3d_render_bary(t, e, b);
    if (m->uv) {
        float u, v;
        p3d_render_uv(t, b, m->uv, &u, &v);
        p3d_render_tex_bilinear_x(m->tex, m->tex_w, m->tex_h, u, v, out);
        return;
    }
    p3d_render_vcolour(t, b, m->rgba, out);
}

/* The output byte of an s x s box of samples whose colour sum is `sum`. */
P3D_HD uint8_t p3d_render_box_byte(float sum, float inv_count) {
    float v = p3d_rmul(sum, inv_count) + 0.5f;
    v = v < 0.0f ? 0.0f : (v > 255.0f ? 255.0f : v);
    return (uint8_t)v;
}

/* A pixel's colour sum (p3d_render_resolve): its n_bg background samples, then each group's colour c
 * times its n samples, in the groups' order; the bytes are the sum over s x s. */
P3D_HD void p3d_render_sum_init(const uint8_t *bg, int32_t n_bg, float sum[3]) {
    for (int32_t c = 0; c < 3; c++) sum[c] = p3d_rmul((float)bg[c], (float)n_bg);
}

P3D_HD void p3d_render_sum_add(const float c[3], int32_t n, float sum[3]) {
    for (int32_t k = 0; k < 3; k++) sum[k] += p3d_rmul(c[k], (float)n);
}

P3D_HD void p3d_render_sum_bytes(const float sum[3], int32_t s, uint8_t *out) {
    const float inv = 1.0f / (float)(s * s);
    for (int32_t c = 0; c < 3; c++) out[c] = p3d_render_box_byte(sum[c], inv);
}

/* Tiles [tx0, tx1] x [ty0, ty1] (inclusive) that t's pixel box touches; tile_px samples per side. */
P3D_HD void p3d_render_tile_span(const p3d_rtri *t, int32_t tile_px, int32_t *tx0, int32_t *ty0, int32_t *tx1,
                                 int32_t *ty1) {
    *tx0 = t->x0 / tile_px;
    *tx1 = t->x1 / tile_px;
    *ty0 = t->y0 / tile_px;
    *ty1 = t->y1 / tile_px;
}

/* keys[i] = min(keys[i], key): a plain store on the CPU (one thread per tile), a shared-memory atomic
 * on the GPU (one thread per triangle of the tile). */
P3D_HD void p3d_render_key_min(uint64_t *dst, uint64_t key) {
#if defined(__CUDA_ARCH__)
    atomicMin((unsigned long long *)dst, (unsigned long long)key);
#else
    if (key < *dst) *dst = key;
#endif
}

/* Rows of a triangle's box narrower than this many samples are tested sample by sample; wider rows
 * are first cut to their exact covered span (which costs a few operations per edge and row). */
#define P3D_RENDER_SPAN_MIN 8

/* First covered index i >= 0 (e + i * s >= 0, s > 0) of an edge along a row of n + 1 samples, n + 1
 * when none; inv = 1 / s. The estimate (truncated, so no ceil or floor call) is corrected by exact
 * int64 steps, so the result is exact. */
P3D_HD int32_t p3d_render_span_lo(int64_t e, int64_t s, double inv, int32_t n) {
    if (e >= 0) return 0;
    const double c = -(double)e * inv;
    int32_t i = c > (double)(n + 1) ? n + 1 : (int32_t)c;
    while (i > 0 && e + (int64_t)(i - 1) * s >= 0) i--;
    while (i <= n && e + (int64_t)i * s < 0) i++;
    return i;
}

/* Last covered index i <= n (e + i * s >= 0, s < 0) of an edge along a row, -1 when none; inv = 1 / -s. */
P3D_HD int32_t p3d_render_span_hi(int64_t e, int64_t s, double inv, int32_t n) {
    if (e < 0) return -1;
    if (e + (int64_t)n * s >= 0) return n;
    const double c = (double)e * inv;
    int32_t i = c > (double)n ? n : (int32_t)c;
    while (i < n && e + (int64_t)(i + 1) * s >= 0) i++;
    while (i >= 0 && e + (int64_t)i * s < 0) i--;
    return i;
}

/* The walk of triangle t over the samples of one tile (p3d_render_walk_init), row by row; both
 * backends' depth tests (p3d_render_tri_tile on the GPU's 64-bit keys, the CPU's split buffers in
 * render.c) take every per-sample value from it, so they see the same samples with the same 1 / depth.
 * Samples [x0, x1] x [y0, y1] (raster coordinates) of the tile; r: the exact edge functions at (x0, py)
 * of the current row py. The edge functions are stepped exactly in int64 (a pixel right adds
 * st_k = ea_k * SUBPIX, a row down eb_k * SUBPIX), so coverage is decided exactly as by direct
 * evaluation.
 * Narrow boxes (n = x1 - x0 < P3D_RENDER_SPAN_MIN) test every sample of a row, and a covered sample's
 * 1 / depth is p3d_render_plane_depth, sum_k w_k e_k. Wider rows are first cut to their exact covered
 * span [xl, xr] (p3d_render_walk_span: per edge, the bound of the linear e_k(x0 + i) = e_k(x0) +
 * i * st_k, estimated in double and corrected with exact integer steps), whose samples are all
 * covered, so they need no edge test; 1 / depth there is p3d_render_span_depth: the plane value at the
 * span's first sample, base = sum_k w_k e_k(xl), plus (x - xl) times the row step d = sum_k w_k st_k.
 * Within the span every w_k e_k stays in [0, 1 / z_k], so (x - xl) |w_k st_k| <= 1 / z_k and the
 * step's rounding is a few 1e-7 of 1 / zmin, like the direct sum's; the value is still clamped to
 * inv_hi. Every value is therefore at least 1 / zfar less a few 1e-7 of 1 / znear (znear >= 1e-4
 * zfar): positive, so comparing the float 1 / depths orders samples as comparing their bits does.
 * inv_hi: the nearest vertex's 1 / depth widened by 2^-16, above every value the triangle gives a
 * sample, so a sample already nearer than inv_hi can be skipped without changing which triangle
 * wins: the frame does not depend on drawing order. */
typedef struct p3d_rwalk {
    int32_t x0, x1, y0, y1, n, wide;
    int64_t st[3], sr[3]; /* the edge steps a sample right and a row down */
    double inv[3];        /* 1 / |st_k| (wide rows) */
    float w[3], d, inv_hi;
    int64_t r[3];
} p3d_rwalk;

/* p3d_render_walk_init without the reciprocals inv (which only p3d_render_walk_span reads). */
P3D_HD void p3d_render_walk_box(const p3d_rtri *t, int32_t tile_px, int32_t px0, int32_t py0, p3d_rwalk *k) {
    k->x0 = t->x0 > px0 ? t->x0 : px0;
    k->x1 = t->x1 < px0 + tile_px - 1 ? t->x1 : px0 + tile_px - 1;
    k->y0 = t->y0 > py0 ? t->y0 : py0;
    k->y1 = t->y1 < py0 + tile_px - 1 ? t->y1 : py0 + tile_px - 1;
    float zmin = t->z[0] < t->z[1] ? t->z[0] : t->z[1];
    zmin = t->z[2] < zmin ? t->z[2] : zmin;
    k->inv_hi = p3d_rmul(1.0f / zmin, 1.0f + 1.0f / 65536.0f);
    k->n = k->x1 - k->x0;
    k->wide = k->n >= P3D_RENDER_SPAN_MIN;
    for (int32_t j = 0; j < 3; j++) {
        k->st[j] = t->ea[j] * P3D_RENDER_SUBPIX;
        k->sr[j] = t->eb[j] * P3D_RENDER_SUBPIX;
        k->w[j] = t->w[j];
    }
    k->d = k->wide ? p3d_rmul(k->w[0], (float)k->st[0]) + p3d_rmul(k->w[1], (float)k->st[1]) +
                         p3d_rmul(k->w[2], (float)k->st[2])
                   : 0.0f;
    p3d_render_edges(t, k->x0, k->y0, k->r);
}

P3D_HD void p3d_render_walk_init(const p3d_rtri *t, int32_t tile_px, int32_t px0, int32_t py0, p3d_rwalk *k) {
    p3d_render_walk_box(t, tile_px, px0, py0, k);
    for (int32_t j = 0; j < 3; j++)
        k->inv[j] = k->wide && k->st[j] != 0 ? 1.0 / (double)(k->st[j] > 0 ? k->st[j] : -k->st[j]) : 0.0;
}

/* The next row's edge functions. */
P3D_HD void p3d_render_walk_next(p3d_rwalk *k) {
    for (int32_t j = 0; j < 3; j++) k->r[j] += k->sr[j];
}

/* 1 / depth of a covered sample from its edge functions. */
P3D_HD float p3d_render_plane_depth(const p3d_rwalk *k, int64_t e0, int64_t e1, int64_t e2) {
    return p3d_rmul(k->w[0], (float)e0) + p3d_rmul(k->w[1], (float)e1) + p3d_rmul(k->w[2], (float)e2);
}

/* The 1 / depth of a wide row's span [lo, hi] at its first sample (0 when the span is empty). */
P3D_HD float p3d_render_span_base(const p3d_rwalk *k, int32_t lo, int32_t hi) {
    return lo <= hi ? p3d_render_plane_depth(k, k->r[0] + lo * k->st[0], k->r[1] + lo * k->st[1], k->r[2] + lo * k->st[2])
                    : 0.0f;
}

/* A wide row's covered span [*xl, *xr] (indices from x0; empty when *xl > *xr) and the 1 / depth of
 * its first sample. */
P3D_HD void p3d_render_walk_span(const p3d_rwalk *k, int32_t *xl, int32_t *xr, float *base) {
    int32_t lo = 0, hi = k->n;
    for (int32_t j = 0; j < 3 && lo <= hi; j++) {
        if (k->st[j] > 0) {
            const int32_t a = p3d_render_span_lo(k->r[j], k->st[j], k->inv[j], k->n);
            lo = a > lo ? a : lo;
        } else if (k->st[j] < 0) {
            const int32_t b = p3d_render_span_hi(k->r[j], k->st[j], k->inv[j], k->n);
            hi = b < hi ? b : hi;
        } else if (k->r[j] < 0) {
            hi = -1;
        }
    }
    *xl = lo;
    *xr = hi;
    *base = p3d_render_span_base(k, lo, hi);
}

/* floor(a / b) for b > 0 into *q; returns the remainder a - *q * b, in [0, b). */
P3D_HD int64_t p3d_render_floor_div(int64_t a, int64_t b, int64_t *q) {
    int64_t qq = a / b, r = a - qq * b;
    if (r < 0) {
        qq--;
        r += b;
    }
    *q = qq;
    return r;
}

/* The CPU's walk of a wide box's spans: the same [xl, xr] as p3d_render_walk_span, stepped from row to
 * row with exact integers instead of found per row (test_render compares the two row by row). Per
 * edge with st_k > 0 (a left bound) the bound is the first covered index i = ceil(-e_k / st_k) of the
 * row, per edge with st_k < 0 (a right bound) the last, i = floor(e_k / -st_k); with m = |st_k|, v =
 * the remainder (e_k + i st_k for a left bound, e_k - i m for a right one) lies in [0, m). A row down
 * adds sr_k to e_k = (q m + rem) with rem in [0, m): i moves by q (less q for a left bound) and v
 * grows by rem, then a carry when v reaches m: a division per edge for the first row and for the
 * step, then per row and edge a few additions and selects, no branch. Each edge's bound is kept as
 * a lower limit (lo) and an upper limit (hi) of the span, the side it does not bound fixed at
 * -/+ 2^62. Edges with st_k = 0 (flat along the rows) bound no index: the row is empty when e_k < 0. */
#define P3D_RENDER_SPAN_FAR ((int64_t)1 << 62)
typedef struct p3d_rspan {
    int64_t m[3];            /* |st_k|; INT64_MAX for a flat edge (its remainder never carries) */
    int64_t v[3], dv[3];     /* the remainder, in [0, m), and its row step, in [0, m) */
    int64_t lo[3], hi[3];    /* the edge's bound as a lower and an upper limit of the span */
    int64_t dlo[3], dhi[3];  /* their row steps before the carry */
    int64_t clo[3], chi[3];  /* and their steps at a carry: -1 and 0 (a left bound), 0 and +1 (a right one) */
    int32_t flat;            /* bit k: edge k is flat */
} p3d_rspan;

/* The span walk of the box k (p3d_render_walk_box) from its first row. */
P3D_HD void p3d_render_span_init(const p3d_rwalk *k, p3d_rspan *sp) {
    sp->flat = 0;
    for (int32_t j = 0; j < 3; j++) {
        const int64_t st = k->st[j];
        sp->lo[j] = -P3D_RENDER_SPAN_FAR;
        sp->hi[j] = P3D_RENDER_SPAN_FAR;
        sp->v[j] = sp->dv[j] = sp->dlo[j] = sp->dhi[j] = sp->clo[j] = sp->chi[j] = 0;
        if (st == 0) {
            sp->m[j] = INT64_MAX;
            sp->flat |= 1 << j;
            continue;
        }
        sp->m[j] = st > 0 ? st : -st;
        int64_t q, qs;
        sp->v[j] = p3d_render_floor_div(k->r[j], sp->m[j], &q);
        sp->dv[j] = p3d_render_floor_div(k->sr[j], sp->m[j], &qs);
        if (st > 0) { /* left: i = -floor(e / m), v = e + i m */
            sp->lo[j] = -q;
            sp->dlo[j] = -qs;
            sp->clo[j] = -1;
        } else { /* right: i = floor(e / m), v = e - i m */
            sp->hi[j] = q;
            sp->dhi[j] = qs;
            sp->chi[j] = 1;
        }
    }
}

/* The current row's span [*xl, *xr] (indices from the box's x0, empty when *xl > *xr): the largest
 * lower and the smallest upper limit, clamped to [0, n]; k: the box at the same row (its edge
 * functions r, for the flat edges). */
P3D_HD void p3d_render_span_row(const p3d_rwalk *k, const p3d_rspan *sp, int32_t *xl, int32_t *xr) {
    int64_t lo = sp->lo[0] > sp->lo[1] ? sp->lo[0] : sp->lo[1];
    lo = sp->lo[2] > lo ? sp->lo[2] : lo;
    int64_t hi = sp->hi[0] < sp->hi[1] ? sp->hi[0] : sp->hi[1];
    hi = sp->hi[2] < hi ? sp->hi[2] : hi;
    if (sp->flat)
        for (int32_t j = 0; j < 3; j++)
            if (((sp->flat >> j) & 1) && k->r[j] < 0) hi = -1;
    /* an empty span comes out as lo > hi, within [0, n + 1] and [-1, n] */
    lo = lo < 0 ? 0 : (lo > (int64_t)k->n + 1 ? (int64_t)k->n + 1 : lo);
    hi = hi > (int64_t)k->n ? (int64_t)k->n : (hi < -1 ? -1 : hi);
    *xl = (int32_t)lo;
    *xr = (int32_t)hi;
}

/* The next row's bounds. */
P3D_HD void p3d_render_span_next(p3d_rspan *sp) {
    for (int32_t j = 0; j < 3; j++) {
        const int64_t v = sp->v[j] + sp->dv[j];
        const int64_t carry = -(int64_t)(v >= sp->m[j]); /* all ones at a carry */
        sp->v[j] = v - (sp->m[j] & carry);
        sp->lo[j] += sp->dlo[j] + (sp->clo[j] & carry);
        sp->hi[j] += sp->dhi[j] + (sp->chi[j] & carry);
    }
}

/* The bits of a float as an int32 (for positive floats they grow with the value). */
P3D_HD int32_t p3d_render_float_bits(float v) {
    union {
        float f;
        int32_t i;
    } bits;
    bits.f = v;
    return bits.i;
}

/* 1 / depth of the span sample j steps after its first. */
P3D_HD float p3d_render_span_depth(const p3d_rwalk *k, float base, int32_t j) {
    const float v = base + p3d_rmul((float)j, k->d);
    return v < k->inv_hi ? v : k->inv_hi;
}

/* The sample's depth-test key for the GPU's 64-bit atomics from its 1 / depth: the float32's bits
 * inverted (for positive floats the bits grow with the value, so the inverted bits grow with the
 * depth: 32-bit depth with ~1e-7 relative resolution at every distance) above the triangle index, so
 * the minimum is the nearest surface and exact ties go to the lower triangle index - the result does
 * not depend on the order triangles are drawn in. (The CPU draws a tile's triangles in face order and
 * keeps the 1 / depths and face indices apart: a strictly nearer sample wins, which is the same.) */
P3D_HD uint64_t p3d_render_key(float inv_depth, int32_t tri) {
    union {
        float f;
        uint32_t u;
    } bits;
    bits.f = inv_depth;
    return ((uint64_t)(0xffffffffu - bits.u) << 32) | (uint32_t)tri;
}

/* Depth-tests triangle t (face index f, planes set up) into the keys (tile_px x tile_px, 64-bit
 * p3d_render_key) of the tile whose first raster sample is (px0, py0), with shared-memory atomics (one
 * GPU thread per triangle; the CPU's twin is render.c's tri_tile_cpu). Samples and values:
 * p3d_rwalk. A sample whose key is below key_lo (the key of inv_hi) is skipped; a key read while
 * another thread lowers it is at least its final value, so the skip stays safe. */
P3D_HD void p3d_render_tri_tile(const p3d_rtri *t, int32_t f, uint64_t *keys, int32_t tile_px, int32_t px0,
                                int32_t py0) {
    p3d_rwalk k;
    p3d_render_walk_init(t, tile_px, px0, py0, &k);
    const uint64_t key_lo = p3d_render_key(k.inv_hi, 0);
    for (int32_t py = k.y0; py <= k.y1; py++, p3d_render_walk_next(&k)) {
        uint64_t *row = keys + (py - py0) * tile_px + (k.x0 - px0);
        if (!k.wide) {
            int64_t e0 = k.r[0], e1 = k.r[1], e2 = k.r[2];
            for (int32_t i = 0; i <= k.n; i++, e0 += k.st[0], e1 += k.st[1], e2 += k.st[2]) {
                if ((e0 | e1 | e2) < 0 || row[i] < key_lo) continue;
                p3d_render_key_min(row + i, p3d_render_key(p3d_render_plane_depth(&k, e0, e1, e2), f));
            }
            continue;
        }
        int32_t xl, xr;
        float base;
        p3d_render_walk_span(&k, &xl, &xr, &base);
        for (int32_t i = xl; i <= xr; i++) {
            if (row[i] < key_lo) continue;
            p3d_render_key_min(row + i, p3d_render_key(p3d_render_span_depth(&k, base, i - xl), f));
        }
    }
}

/* The face index that won sample j of a tile, -1 for none: the low word of the GPU's 64-bit key
 * (keys), or the CPU's face buffer (ids, when keys is NULL). */
P3D_HD int32_t p3d_render_sample_face(const uint64_t *keys, const int32_t *ids, int32_t j) {
    return keys ? (int32_t)(uint32_t)(keys[j] & 0xffffffffu) : ids[j];
}

/* The face that won all s x s samples of output pixel (ox, oy) of a tile (local coordinates), -1 when
 * they are not one face's or no face's (keys / ids: p3d_render_sample_face). Branch-free: the OR of
 * every sample's face XOR the first's is 0 exactly when one face won them all; no sample's face (-1)
 * is no face index. */
P3D_HD int32_t p3d_render_pixel_face(const uint64_t *keys, const int32_t *ids, int32_t tile_px, int32_t s, int32_t ox,
                                     int32_t oy) {
    const int32_t j0 = oy * s * tile_px + ox * s;
    const int32_t f0 = p3d_render_sample_face(keys, ids, j0);
    int32_t diff = 0;
    for (int32_t sy = 0; sy < s; sy++)
        for (int32_t sx = 0; sx < s; sx++) diff |= p3d_render_sample_face(keys, ids, j0 + sy * tile_px + sx) ^ f0;
    return diff == 0 && f0 >= 0 ? f0 : -1;
}

/* Face f's setup from a direct-mapped cache of n_cache (a power of two) setups: entry f % n_cache
 * holds face f when tags[f % n_cache] == f (-1: empty), else face f is set up there. The setup of a
 * face is the same wherever it is made, so the cache's size changes the work, never the frame. */
P3D_HD const p3d_rtri *p3d_render_setup_cached(const p3d_rmesh *m, int32_t f, int32_t *tags, p3d_rtri *cache,
                                               int32_t n_cache) {
    const int32_t slot = f & (n_cache - 1);
    p3d_rtri *t = cache + slot;
    if (tags[slot] != f) {
        const int32_t *fc = m->faces + 3 * (int64_t)f;
        p3d_render_tri_setup(m->sx, m->sy, m->sz, fc[0], fc[1], fc[2], m->rw, m->rh, t);
        p3d_render_tri_planes(t);
        tags[slot] = f;
    }
    return t;
}

/* The sums of t's edge functions over a group of gn samples of the tile whose first raster sample is
 * (px0, py0), gx / gy the sums of their local raster coordinates: the samples' fixed-point centres
 * (px0 + lx + 1/2) * SUBPIX summed, then e_k = ea_k qx + eb_k qy + ec_k gn, exact. */
P3D_HD void p3d_render_group_edges(const p3d_rtri *t, int32_t px0, int32_t py0, int32_t gn, int32_t gx, int32_t gy,
                                   int64_t e[3]) {
    const int64_t qx = ((int64_t)px0 * gn + gx) * P3D_RENDER_SUBPIX + (int64_t)gn * (P3D_RENDER_SUBPIX / 2);
    const int64_t qy = ((int64_t)py0 * gn + gy) * P3D_RENDER_SUBPIX + (int64_t)gn * (P3D_RENDER_SUBPIX / 2);
    for (int32_t k = 0; k < 3; k++) e[k] = t->ea[k] * qx + t->eb[k] * qy + t->ec[k] * gn;
}

/* The sum of the local raster coordinates of output pixel o's s x s samples along one axis. */
P3D_HD int32_t p3d_render_pixel_coord_sum(int32_t s, int32_t o) { return s * (s * o * s + s * (s - 1) / 2); }

/* Adds the sample (lx, ly) of face f to a pixel's groups [first, *ng) (per group: face gf, samples gn,
 * the sums of their local raster coordinates gx, gy), opening a group for a face not among them yet. */
P3D_HD void p3d_render_group_add(int32_t f, int32_t lx, int32_t ly, int32_t first, int32_t *gf, int32_t *gn,
                                 int32_t *gx, int32_t *gy, int32_t *ng) {
    int32_t g = first;
    while (g < *ng && gf[g] != f) g++;
    if (g == *ng) {
        gf[g] = f;
        gn[g] = 0;
        gx[g] = gy[g] = 0;
        (*ng)++;
    }
    gn[g]++;
    gx[g] += lx;
    gy[g] += ly;
}

/* Output pixel (ox, oy) of a tile (local coordinates; s x s samples each) from the faces that won the
 * tile's samples (p3d_render_sample_face of keys / ids), shaded as multisample anti-aliasing does: coverage and depth are per sample, colour once per triangle and
 * pixel. The samples are grouped by the triangle that won them (in scan order of first appearance);
 * each group is shaded once at the centroid of its samples - the sum of their edge functions, since
 * the perspective weights b_k = p_k / sum_j p_j do not change when all e_k are scaled by the count -
 * and weighs as many samples as it won; samples no triangle won are background. The centroid lies
 * inside the triangle, so a textured triangle reads its own chart. At s = 1 this is the pixel
 * centre's colour, so a vertex on a pixel centre gives that pixel its own colour.
 * cache / tags: p3d_render_setup_cached's n_cache setups; the CPU keeps 256 per thread for a whole
 * tile (or the frame's setup table), a GPU thread one. The CPU resolves a tile's pixels in batches
 * with the same functions in the same order per pixel (render.c resolve_tile). */
P3D_HD void p3d_render_resolve(const p3d_rmesh *m, const uint64_t *keys, const int32_t *ids, int32_t tile_px,
                               int32_t s, int32_t px0, int32_t py0, int32_t ox, int32_t oy, const uint8_t *bg,
                               int32_t *tags, p3d_rtri *cache, int32_t n_cache, uint8_t *out) {
    /* The common case first: one triangle won every sample (one group, the pixel's samples' sums). */
    const int32_t f0 = p3d_render_pixel_face(keys, ids, tile_px, s, ox, oy);
    if (f0 >= 0) {
        const p3d_rtri *t = p3d_render_setup_cached(m, f0, tags, cache, n_cache);
        int64_t e[3];
        p3d_render_group_edges(t, px0, py0, s * s, p3d_render_pixel_coord_sum(s, ox), p3d_render_pixel_coord_sum(s, oy), e);
        float c[3], sum[3];
        p3d_render_shade(t, e, m, c);
        p3d_render_sum_init(bg, 0, sum);
        p3d_render_sum_add(c, s * s, sum);
        p3d_render_sum_bytes(sum, s, out);
        return;
    }
    /* per group: face, samples, and the sums of their local raster coordinates (lx, ly) */
    int32_t gf[P3D_RENDER_MAX_SSAA * P3D_RENDER_MAX_SSAA], gn[P3D_RENDER_MAX_SSAA * P3D_RENDER_MAX_SSAA];
    int32_t gx[P3D_RENDER_MAX_SSAA * P3D_RENDER_MAX_SSAA], gy[P3D_RENDER_MAX_SSAA * P3D_RENDER_MAX_SSAA];
    int32_t ng = 0, n_bg = 0;
    for (int32_t sy = 0; sy < s; sy++)
        for (int32_t sx = 0; sx < s; sx++) {
            const int32_t ly = oy * s + sy, lx = ox * s + sx;
            const int32_t f = p3d_render_sample_face(keys, ids, ly * tile_px + lx);
            if (f < 0) {
                n_bg++;
                continue;
            }
            p3d_render_group_add(f, lx, ly, 0, gf, gn, gx, gy, &ng);
        }
    float sum[3];
    p3d_render_sum_init(bg, n_bg, sum);
    for (int32_t g = 0; g < ng; g++) {
        const p3d_rtri *t = p3d_render_setup_cached(m, gf[g], tags, cache, n_cache);
        int64_t e[3];
        p3d_render_group_edges(t, px0, py0, gn[g], gx[g], gy[g], e);
        float c[3];
        p3d_render_shade(t, e, m, c);
        p3d_render_sum_add(c, gn[g], sum);
    }
    p3d_render_sum_bytes(sum, s, out);
}

#endif
