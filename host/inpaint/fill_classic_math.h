/* fill_classic_math.h - one element of each step of the non-learned fill (P3D_HD, shared by
 * host/inpaint/fill_classic.c and cuda/inpaint/fill_classic.cu). Definition: fill_classic.h.
 *
 * A step is one pass over the pixels of one pyramid level (or over its mask-pixel list). It reads
 * only buffers no element of the same step writes, except where noted (SM_FLAT and VOTE write mask
 * pixels and read only context pixels of the same buffer), so the elements are independent: any
 * thread count and any order give the same floats. Multiplies go through p3d_mul_rn / p3d_add_rn
 * (nn_math.h) so nvcc does not contract them into fused multiply-adds the host never uses; the
 * divisions are IEEE-rounded on both sides.
 *
 * Buffers, all row-major over a level of (h, w) pixels:
 *   label    u8 (h, w)     P3D_FILL_UNKNOWN / P3D_FILL_CONTEXT / P3D_FILL_MASK
 *   list     i32 (n)       the level's mask pixels (y * w + x), raster order
 *   valid    u8 (h, w)     1 = the patch centred here lies inside the level and entirely in context
 *   sources  i32 (n_src)   the valid centres, raster order, as P3D_FILL_XY
 *   smooth   f32 (h, w, 4) disparity, r, g, b of the membrane solve
 *   colour   f32 (h, w, 3) the PatchMatch image
 *   key      u8 (h, w, 3)  the PatchMatch image rounded to 8 bits, which the patch distances compare:
 *                          integer sums are exact in any order, so the distance loop vectorises on
 *                          the CPU and still matches the GPU bit for bit
 *   nnf      i32 (h, w)    source centre P3D_FILL_XY(x, y) of each mask pixel's patch (packed
 *                          coordinates rather than y * w + x: no integer division per candidate)
 *   dsum     i32 (h, w)    that match's sum of squared key differences (reused while the image
 *                          does not change)
 *   wt       f32 (h, w)    that match's vote weight, from its mean squared difference per channel
 *                          and pixel in [0, 1] colour units (P3D_FILL_VOTE_INV_SIGMA2) */
#ifndef P3D_FILL_CLASSIC_MATH_H
#define P3D_FILL_CLASSIC_MATH_H

#include "nn/nn_math.h"

#define P3D_FILL_UNKNOWN 0
#define P3D_FILL_CONTEXT 1
#define P3D_FILL_MASK 2

/* Larger than any patch distance sum (at most 15 x 15 x 3 terms of at most 255^2). */
#define P3D_FILL_DSUM_MAX 0x7fffffff
/* A gathered window row: 3 (2r + 1) terms padded to a multiple of 16 (whole 16-byte vectors on the
 * CPU, no scalar tail); the largest window, 15 x 15 pixels, takes 15 rows of 48. */
#define P3D_FILL_ROW_ALIGN 16
#define P3D_FILL_WIN_MAX (15 * 48)
/* Bytes after a level's key image that a padded source row may read past its last pixel (the
 * padding terms are masked out, so what they read never counts). */
#define P3D_FILL_KEY_SLACK P3D_FILL_ROW_ALIGN
/* Most dominant patch offsets of a patch's context (fill_classic.c fill_offsets); each is tried with
 * both signs. */
#define P3D_FILL_MAX_OFFSETS 4
/* The PatchMatch image's own low-pass replaces the structure's by conf^(2^P3D_FILL_LOWPASS_SQUARINGS)
 * (p3d_fill_out): conf^32 is 1 where the covering patches matched exactly, 0.72 at a confidence of
 * 0.99, 0.20 at 0.95, 0.03 at 0.9 - only near-exact matches (a regular pattern copied in phase) bring
 * their coarse colours; an irregular texture's matches (cones: four fifths of its disoccluded pixels
 * below 0.99) keep the structure's. */
#define P3D_FILL_LOWPASS_SQUARINGS 5
/* Vote weight 1 / (1 + dist / sigma^2) with sigma = 0.05 (a colour difference of 5 % per channel
 * halves a patch's say): a rational weight rather than Wexler's exp() so both sides round alike. */
#define P3D_FILL_VOTE_INV_SIGMA2 400.0f

typedef enum p3d_fill_kind {
    P3D_FILL_SM_LOAD = 0,    /* all pixels, level 0: smooth = context ? (1 / depth, rgb) : 0 */
    P3D_FILL_SM_DOWN = 1,    /* all coarse pixels: context = mean of the context children, else 0 */
    P3D_FILL_SM_FLAT = 2,    /* mask list, coarsest level: the mean of the level's context values */
    P3D_FILL_SM_PROLONG = 3, /* mask list: the parent's value on the coarser level */
    P3D_FILL_SM_JACOBI = 4,  /* mask list: (self + weighted known 4-neighbours) / (1 + their weights) */
    P3D_FILL_PM_LOAD = 5,    /* all pixels, level 0: colour = context rgb, mask = diffusion colour; key */
    P3D_FILL_PM_DOWN = 6,    /* all coarse pixels: mean of the known children; key */
    P3D_FILL_NNF_INIT = 7,   /* mask list: a random source centre */
    P3D_FILL_NNF_UP = 8,     /* mask list: the parent's match, doubled, or a random one if unusable */
    P3D_FILL_NNF_STEP = 9,   /* mask list: propagation + random search, previous field -> new field */
    P3D_FILL_VOTE = 10,      /* mask list: weighted mean of the covering matches' pixels; key; out2: confidence */
    P3D_FILL_OUT = 11,       /* mask list, level 0: write colour (diffusion + PatchMatch detail) and
                                1 / disparity to the patch */
} p3d_fill_kind;

/* One step; which fields a kind reads is listed with the kinds above and in p3d_fill_step_px. */
typedef struct p3d_fill_step {
    int32_t kind;           /* p3d_fill_kind */
    int32_t n;              /* elements: the level's pixels or its list entries */
    int32_t w, h;           /* this level */
    int32_t ow, oh;         /* the other level: the finer one (DOWN) or the coarser one (PROLONG, NNF_UP) */
    const int32_t *list;    /* this level's mask pixels */
    const uint8_t *label;   /* (h, w) */
    const uint8_t *olabel;  /* (oh, ow): the finer level's labels (DOWN) */
    const uint8_t *valid;   /* (h, w) */
    const int32_t *sources; /* (n_sources) */
    int32_t n_sources;
    int32_t radius;         /* patch / 2 */
    int32_t jump;           /* NNF_STEP: the second propagation distance */
    uint32_t seed, level, iter;
    float plane[3];         /* SM_LOAD, OUT: the context's disparity trend plane[0] + plane[1] x + plane[2] y */
    float depth_lo, depth_hi; /* OUT: the context's depth range */
    float texture;          /* OUT: weight of the PatchMatch detail added to the diffusion colour */
    float wx, wy;           /* SM_JACOBI: weights of the horizontal and vertical neighbours (one of them 1) */
    float rgb_lo[3], rgb_hi[3]; /* OUT: the context's colour range per channel */
    const float *in, *in2;  /* kind-specific inputs */
    const float *in3;       /* OUT: the coarser PatchMatch scale's colour (ow, oh), or NULL */
    const float *conf;      /* OUT: (h, w) the PatchMatch colour's confidence in (0, 1], or NULL */
    float *out, *out2;      /* kind-specific outputs */
    int32_t n_offsets;      /* NNF_STEP: the context's dominant offsets on this level (x, y pairs), each
                               tried with both signs: offsets[2 k], offsets[2 k + 1] */
    int32_t offsets[2 * P3D_FILL_MAX_OFFSETS];
    const uint8_t *key;     /* NNF_STEP: (h, w, 3) the image the distances compare */
    uint8_t *key_out;       /* PM_LOAD, PM_DOWN, VOTE: the rounded colour written alongside out */
    int32_t fresh;          /* NNF_STEP: dsum_in holds nnf_in's sums on the current key image */
    const int32_t *nnf_in;
    int32_t *nnf_out;
    const int32_t *dsum_in;
    int32_t *dsum_out;
    const float *wt_in;
    float *wt_out;
} p3d_fill_step;

/* ---- counter-based random numbers -------------------------------------------------------------- */

/* A centre (x, y) packed into one int32 (sides are at most P3D_FILL_MAX_SIDE < 2^15). */
#define P3D_FILL_XY(x, y) (((y) << 16) | (x))
#define P3D_FILL_X(q) ((q) & 0xffff)
#define P3D_FILL_Y(q) ((q) >> 16)

/* A 32-bit integer hash (two multiply-xorshift rounds; full avalanche). */
P3D_HD uint32_t p3d_fill_mix(uint32_t x) {
    x ^= x >> 16;
    x *= 0x21f0aaadu;
    x ^= x >> 15;
    x *= 0x735a2d97u;
    x ^= x >> 15;
    return x;
}

/* The random word for (seed, level, iteration, pixel, trial): a pure function, so every thread
 * draws the same numbers whatever runs where. Split in two so a pixel hashes its prefix once and
 * each of its trials costs one mix. */
P3D_HD uint32_t p3d_fill_rand_pixel(uint32_t seed, uint32_t level, uint32_t iter, uint32_t pixel) {
    uint32_t h = p3d_fill_mix(seed ^ 0x9e3779b9u);
    h = p3d_fill_mix(h ^ (level * 0x85ebca6bu));
    h = p3d_fill_mix(h ^ (iter * 0xc2b2ae35u));
    return p3d_fill_mix(h ^ pixel);
}

P3D_HD uint32_t p3d_fill_rand(uint32_t pixel_hash, uint32_t trial) {
    return p3d_fill_mix(pixel_hash ^ (trial * 0x27d4eb2fu));
}

/* A uniform integer in [0, n) from a random word (multiply-shift, no modulo bias worth a branch). */
P3D_HD int32_t p3d_fill_below(uint32_t r, int32_t n) {
    return (int32_t)(((uint64_t)r * (uint64_t)(uint32_t)n) >> 32);
}

/* ---- the membrane (smooth) solve ---------------------------------------------------------------- */

/* The trend plane at pixel p. */
P3D_HD float p3d_fill_plane(const p3d_fill_step *s, int32_t p) {
    return p3d_add_rn(p3d_add_rn(s->plane[0], p3d_mul_rn(s->plane[1], (float)(p % s->w))),
                      p3d_mul_rn(s->plane[2], (float)(p / s->w)));
}

/* Smooth channel 0 is the disparity's residual from the trend plane; 1..3 the colour. */
P3D_HD void p3d_fill_sm_load(const p3d_fill_step *s, int32_t p) {
    float *o = s->out + 4 * (int64_t)p;
    if (s->label[p] == P3D_FILL_CONTEXT) {
        o[0] = 1.0f / s->in2[p] - p3d_fill_plane(s, p);
        for (int32_t c = 0; c < 3; c++) o[1 + c] = s->in[3 * (int64_t)p + c];
    } else {
        for (int32_t c = 0; c < 4; c++) o[c] = 0.0f;
    }
}

/* Mean of the children (2x2 block of the finer level, clipped at its border) whose fine label is
 * `want` (any known label when want < 0), over `ch` channels; 0 when none. */
P3D_HD void p3d_fill_down_mean(const p3d_fill_step *s, int32_t p, int32_t ch, int32_t want) {
    const int32_t x = p % s->w, y = p / s->w;
    float acc[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    int32_t cnt = 0;
    for (int32_t dy = 0; dy < 2; dy++)
        for (int32_t dx = 0; dx < 2; dx++) {
            const int32_t fx = 2 * x + dx, fy = 2 * y + dy;
            if (fx >= s->ow || fy >= s->oh) continue;
            const int32_t f = fy * s->ow + fx;
            const uint8_t l = s->olabel[f];
            if (want < 0 ? l == P3D_FILL_UNKNOWN : l != (uint8_t)want) continue;
            for (int32_t c = 0; c < ch; c++) acc[c] = p3d_add_rn(acc[c], s->in[(int64_t)f * ch + c]);
            cnt++;
        }
    for (int32_t c = 0; c < ch; c++) s->out[(int64_t)p * ch + c] = cnt ? acc[c] / (float)cnt : 0.0f;
}

P3D_HD void p3d_fill_sm_down(const p3d_fill_step *s, int32_t p) {
    if (s->label[p] == P3D_FILL_CONTEXT) {
        p3d_fill_down_mean(s, p, 4, P3D_FILL_CONTEXT);
    } else {
        for (int32_t c = 0; c < 4; c++) s->out[4 * (int64_t)p + c] = 0.0f;
    }
}

/* The coarsest level has at most 8 x 8 pixels, so every mask thread summing the whole level (in
 * raster order, the same order on both sides) is cheap and needs no reduction pass. */
P3D_HD void p3d_fill_sm_flat(const p3d_fill_step *s, int32_t p) {
    float acc[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    int32_t cnt = 0;
    for (int32_t q = 0; q < s->w * s->h; q++) {
        if (s->label[q] != P3D_FILL_CONTEXT) continue;
        for (int32_t c = 0; c < 4; c++) acc[c] = p3d_add_rn(acc[c], s->out[4 * (int64_t)q + c]);
        cnt++;
    }
    for (int32_t c = 0; c < 4; c++) s->out[4 * (int64_t)p + c] = cnt ? acc[c] / (float)cnt : 0.0f;
}

P3D_HD void p3d_fill_sm_prolong(const p3d_fill_step *s, int32_t p) {
    const int32_t x = p % s->w, y = p / s->w;
    const int64_t q = (int64_t)(y / 2) * s->ow + x / 2;
    for (int32_t c = 0; c < 4; c++) s->out[4 * (int64_t)p + c] = s->in[4 * q + c];
}

/* A mask pixel becomes the weighted mean of itself (weight 1) and its known 4-neighbours (wx
 * horizontal, wy vertical: a Jacobi sweep of the anisotropic membrane wx u_xx + wy u_yy = 0, damped
 * by the pixel's own weight, which also damps the checkerboard mode plain Jacobi keeps). Unknown
 * neighbours are walls (zero flux); context pixels are fixed. Only mask pixels are swept (the cost
 * follows the mask, not the patch): mask values come from `in` (the previous sweep), context values
 * from `in2` (the level's own buffer, whose context pixels no sweep writes), so the two sweep
 * buffers need only their mask pixels. */
P3D_HD void p3d_fill_sm_jacobi(const p3d_fill_step *s, int32_t p) {
    const float *in = s->in + 4 * (int64_t)p;
    float *o = s->out + 4 * (int64_t)p;
    const int32_t x = p % s->w, y = p / s->w;
    const int32_t nx[4] = {x - 1, x + 1, x, x}, ny[4] = {y, y, y - 1, y + 1};
    float acc[4] = {in[0], in[1], in[2], in[3]}, wsum = 1.0f;
    for (int32_t k = 0; k < 4; k++) {
        if (nx[k] < 0 || nx[k] >= s->w || ny[k] < 0 || ny[k] >= s->h) continue;
        const int32_t q = ny[k] * s->w + nx[k];
        const uint8_t l = s->label[q];
        if (l == P3D_FILL_UNKNOWN) continue;
        const float *v = (l == P3D_FILL_MASK ? s->in : s->in2) + 4 * (int64_t)q;
        const float wk = k < 2 ? s->wx : s->wy;
        for (int32_t c = 0; c < 4; c++) acc[c] = p3d_add_rn(acc[c], p3d_mul_rn(wk, v[c]));
        wsum = p3d_add_rn(wsum, wk);
    }
    for (int32_t c = 0; c < 4; c++) o[c] = acc[c] / wsum;
}

/* ---- PatchMatch ----------------------------------------------------------------------------------- */

/* A colour in [0, 1] rounded to 8 bits (the image's own precision) for the patch distances. */
P3D_HD uint8_t p3d_fill_key(float v) {
    const float k = p3d_mad_rn(v, 255.0f, 0.5f);
    return (uint8_t)(k < 0.0f ? 0.0f : k > 255.0f ? 255.0f : k);
}

P3D_HD void p3d_fill_put_key(const p3d_fill_step *s, int32_t p) {
    for (int32_t c = 0; c < 3; c++) s->key_out[3 * (int64_t)p + c] = p3d_fill_key(s->out[3 * (int64_t)p + c]);
}

P3D_HD void p3d_fill_pm_load(const p3d_fill_step *s, int32_t p) {
    const uint8_t l = s->label[p];
    for (int32_t c = 0; c < 3; c++)
        s->out[3 * (int64_t)p + c] = l == P3D_FILL_CONTEXT ? s->in[3 * (int64_t)p + c]
                                     : l == P3D_FILL_MASK  ? s->in2[4 * (int64_t)p + 1 + c]
                                                           : 0.0f;
    p3d_fill_put_key(s, p);
}

P3D_HD void p3d_fill_pm_down(const p3d_fill_step *s, int32_t p) {
    p3d_fill_down_mean(s, p, 3, -1);
    p3d_fill_put_key(s, p);
}

/* The window of side 2r+1 centred on a mask pixel, gathered once per search pass: key bytes, row
 * after row (p3d_fill_row_len apart), and per term 0xff where the pixel is known (context, or mask
 * with its current estimate) or 0 where it is unknown or outside the level or row padding (such
 * terms are left out of every distance, and their key is 0). Every candidate source window lies
 * inside the level and entirely in context, so a distance is then a branch-free loop over
 * contiguous bytes. */
typedef struct p3d_fill_win {
    uint8_t key[P3D_FILL_WIN_MAX];
    uint8_t use[P3D_FILL_WIN_MAX];
    int32_t known; /* known pixels in the window */
} p3d_fill_win;

P3D_HD int32_t p3d_fill_row_len(int32_t radius) {
    return (3 * (2 * radius + 1) + P3D_FILL_ROW_ALIGN - 1) / P3D_FILL_ROW_ALIGN * P3D_FILL_ROW_ALIGN;
}

P3D_HD void p3d_fill_win_load(const p3d_fill_step *s, int32_t px, int32_t py, p3d_fill_win *t) {
    const int32_t r = s->radius, row = p3d_fill_row_len(r);
    int32_t known = 0;
    for (int32_t dy = 0; dy <= 2 * r; dy++) {
        const int32_t y = py - r + dy;
        uint8_t *key = t->key + dy * row, *use = t->use + dy * row;
        for (int32_t k = 0; k < row; k++) key[k] = use[k] = 0;
        if (y < 0 || y >= s->h) continue;
        for (int32_t dx = 0; dx <= 2 * r; dx++) {
            const int32_t x = px - r + dx;
            if (x < 0 || x >= s->w || s->label[y * s->w + x] == P3D_FILL_UNKNOWN) continue;
            const int64_t a = 3 * ((int64_t)y * s->w + x);
            for (int32_t c = 0; c < 3; c++) {
                key[3 * dx + c] = s->key[a + c];
                use[3 * dx + c] = 0xff;
            }
            known++;
        }
    }
    t->known = known;
}


/* Sum of squared key differences between the gathered window and the source window centred at q (a
 * valid centre), over the known terms. Integer sums: exact, so the order of the terms (vector lanes
 * on the CPU, one thread on the GPU) never changes the result. Stops once the sum reaches cap, row
 * by row (the caller keeps only sums below it). */
P3D_HD int32_t p3d_fill_win_dist(const p3d_fill_step *s, const p3d_fill_win *t, int32_t q, int32_t cap) {
    const int32_t r = s->radius, row = p3d_fill_row_len(r);
    const uint8_t *src = s->key + 3 * ((int64_t)(P3D_FILL_Y(q) - r) * s->w + P3D_FILL_X(q) - r);
    int32_t sum = 0;
    for (int32_t dy = 0; dy <= 2 * r; dy++) {
        const uint8_t *a = t->key + dy * row, *u = t->use + dy * row, *b = src + 3 * (int64_t)dy * s->w;
        int32_t rs = 0;
        for (int32_t k0 = 0; k0 < row; k0 += P3D_FILL_ROW_ALIGN)
            for (int32_t k = k0; k < k0 + P3D_FILL_ROW_ALIGN; k++) {
                const int32_t d = (int32_t)a[k] - (int32_t)(uint8_t)(b[k] & u[k]);
                rs += d * d;
            }
        sum += rs;
        if (sum >= cap) return sum;
    }
    return sum;
}

P3D_HD int32_t p3d_fill_random_source(const p3d_fill_step *s, uint32_t pixel_hash, uint32_t trial) {
    return s->sources[p3d_fill_below(p3d_fill_rand(pixel_hash, trial), s->n_sources)];
}

P3D_HD uint32_t p3d_fill_step_hash(const p3d_fill_step *s, int32_t p) {
    return p3d_fill_rand_pixel(s->seed, s->level, s->iter, (uint32_t)p);
}

P3D_HD void p3d_fill_nnf_init(const p3d_fill_step *s, int32_t p) {
    s->nnf_out[p] = p3d_fill_random_source(s, p3d_fill_step_hash(s, p), 0u);
    s->wt_out[p] = 1.0f;
}

/* The parent's source centre, scaled to this level with the same offset inside its 2x2 block;
 * a random source when that centre is not valid here. Weight 1: the first vote weighs the
 * upsampled matches alike. */
P3D_HD void p3d_fill_nnf_up(const p3d_fill_step *s, int32_t p) {
    const int32_t x = p % s->w, y = p / s->w;
    const int32_t q = s->nnf_in[(y / 2) * s->ow + x / 2];
    const int32_t qx = 2 * P3D_FILL_X(q) + (x & 1), qy = 2 * P3D_FILL_Y(q) + (y & 1);
    const int32_t ok = qx < s->w && qy < s->h && s->valid[qy * s->w + qx];
    s->nnf_out[p] = ok ? P3D_FILL_XY(qx, qy) : p3d_fill_random_source(s, p3d_fill_step_hash(s, p), 0u);
    s->wt_out[p] = 1.0f;
}

/* Best-so-far state of one pixel's search. */
typedef struct p3d_fill_best {
    int32_t q;
    int32_t d;
} p3d_fill_best;

/* Tries centre (qx, qy): kept when valid and strictly better (ties keep the earlier candidate). */
P3D_HD void p3d_fill_try(const p3d_fill_step *s, const p3d_fill_win *t, int32_t qx, int32_t qy, p3d_fill_best *b) {
    if (qx < 0 || qy < 0 || qx >= s->w || qy >= s->h) return;
    const int32_t q = P3D_FILL_XY(qx, qy);
    if (q == b->q || !s->valid[qy * s->w + qx]) return;
    const int32_t d = p3d_fill_win_dist(s, t, q, b->d);
    if (d < b->d) {
        b->q = q;
        b->d = d;
    }
}

/* One PatchMatch pass for mask pixel p, reading only the previous field (nnf_in): the current match
 * (its sum taken from dsum_in when the image has not changed since), then the matches of the mask
 * neighbours at distance 1 and `jump` in the four axis directions, shifted back by that offset, then
 * the dominant offsets' candidates, then random candidates around the best so far in windows of radius max(w, h), halved down to 1, then
 * one source drawn from the whole level. */
P3D_HD void p3d_fill_nnf_step(const p3d_fill_step *s, int32_t p) {
    const int32_t w = s->w, px = p % w, py = p / w;
    p3d_fill_win t;
    p3d_fill_win_load(s, px, py, &t);
    p3d_fill_best b;
    b.q = s->nnf_in[p];
    b.d = s->fresh ? s->dsum_in[p] : p3d_fill_win_dist(s, &t, b.q, P3D_FILL_DSUM_MAX);
    const int32_t ddx[4] = {-1, 1, 0, 0}, ddy[4] = {0, 0, -1, 1};
    for (int32_t k = 0; k < 8; k++) {
        const int32_t st = k < 4 ? 1 : s->jump, ox = ddx[k & 3] * st, oy = ddy[k & 3] * st;
        const int32_t nx = px + ox, ny = py + oy;
        if (nx < 0 || ny < 0 || nx >= w || ny >= s->h || s->label[ny * w + nx] != P3D_FILL_MASK) continue;
        const int32_t q = s->nnf_in[ny * w + nx];
        p3d_fill_try(s, &t, P3D_FILL_X(q) - ox, P3D_FILL_Y(q) - oy, &b);
    }
    /* The dominant offsets (He & Sun 2012): the patch one offset away, when it is context, or the
     * source of the mask pixel there; in a regular pattern that offset is a period, so the copy
     * continues the pattern in phase and the neighbours' copies agree. */
    for (int32_t k = 0; k < 2 * s->n_offsets; k++) {
        const int32_t sg = k & 1 ? -1 : 1, nx = px + sg * s->offsets[2 * (k >> 1)], ny = py + sg * s->offsets[2 * (k >> 1) + 1];
        if (nx < 0 || ny < 0 || nx >= w || ny >= s->h) continue;
        const uint8_t l = s->label[ny * w + nx];
        if (l == P3D_FILL_CONTEXT) {
            p3d_fill_try(s, &t, nx, ny, &b);
        } else if (l == P3D_FILL_MASK) {
            const int32_t q = s->nnf_in[ny * w + nx];
            p3d_fill_try(s, &t, P3D_FILL_X(q), P3D_FILL_Y(q), &b);
        }
    }
    const uint32_t hash = p3d_fill_step_hash(s, p);
    uint32_t trial = 1u;
    for (int32_t rad = w > s->h ? w : s->h; rad >= 1; rad /= 2) {
        const int32_t ox = p3d_fill_below(p3d_fill_rand(hash, trial), 2 * rad + 1) - rad;
        const int32_t oy = p3d_fill_below(p3d_fill_rand(hash, trial + 1u), 2 * rad + 1) - rad;
        trial += 2u;
        p3d_fill_try(s, &t, P3D_FILL_X(b.q) + ox, P3D_FILL_Y(b.q) + oy, &b);
    }
    const int32_t g = p3d_fill_random_source(s, hash, trial);
    p3d_fill_try(s, &t, P3D_FILL_X(g), P3D_FILL_Y(g), &b);
    s->nnf_out[p] = b.q;
    s->dsum_out[p] = b.d;
    /* The vote weight from the mean squared difference per term in [0, 1] colour units
     * (3 * known * 255^2 <= 675 * 65025 fits an int32). */
    const float dist = (float)b.d / (float)(3 * t.known * 65025);
    s->wt_out[p] = 1.0f / p3d_add_rn(1.0f, p3d_mul_rn(dist, P3D_FILL_VOTE_INV_SIGMA2));
}

/* Mask pixel p's colour from every mask pixel c whose window covers p: the pixel of c's source
 * patch at p's place (always context), weighted by wt(c) = 1 / (1 + dist(c) / sigma^2); its key
 * follows. With out2 (level 0's last vote): the mean of those weights, the colour's confidence in
 * (0, 1] (1 = every covering patch matched exactly).
 * Writes only mask pixels of `out` / `key_out` and reads only context pixels of `out`, so it runs
 * in place. */
P3D_HD void p3d_fill_vote(const p3d_fill_step *s, int32_t p) {
    const int32_t w = s->w, px = p % w, py = p / w, r = s->radius;
    float acc[3] = {0.0f, 0.0f, 0.0f}, wsum = 0.0f;
    int32_t cover = 0;
    for (int32_t dy = -r; dy <= r; dy++)
        for (int32_t dx = -r; dx <= r; dx++) {
            const int32_t cx = px - dx, cy = py - dy;
            if (cx < 0 || cy < 0 || cx >= w || cy >= s->h) continue;
            const int32_t c = cy * w + cx;
            if (s->label[c] != P3D_FILL_MASK) continue;
            cover++;
            const int32_t q = s->nnf_in[c];
            const int64_t src = (int64_t)(P3D_FILL_Y(q) + dy) * w + P3D_FILL_X(q) + dx;
            const float wt = s->wt_in[c];
            for (int32_t k = 0; k < 3; k++) acc[k] = p3d_mad_rn(wt, s->out[3 * src + k], acc[k]);
            wsum = p3d_add_rn(wsum, wt);
        }
    for (int32_t k = 0; k < 3; k++) s->out[3 * (int64_t)p + k] = acc[k] / wsum;
    if (s->out2) s->out2[p] = wsum / (float)cover;
    p3d_fill_put_key(s, p);
}

/* A coarser PatchMatch scale's colour (in3: (oh, ow, 3), s->level = how many halvings coarser) at
 * fine pixel p: bilinear over the known (not unknown) coarse pixels around p's position (coarse
 * pixel X covers fine pixels f X .. f X + f - 1, f = 2^level), renormalised; *ok = 0 when none is
 * known. */
P3D_HD void p3d_fill_coarse_at(const p3d_fill_step *s, int32_t p, float out[3], int32_t *ok) {
    const int32_t x = p % s->w, y = p / s->w;
    const float inv = 1.0f / (float)(1 << s->level);
    const float fx = p3d_mul_rn((float)x + 0.5f, inv) - 0.5f, fy = p3d_mul_rn((float)y + 0.5f, inv) - 0.5f;
    const int32_t x0 = (int32_t)floorf(fx), y0 = (int32_t)floorf(fy);
    const float tx = fx - (float)x0, ty = fy - (float)y0;
    float acc[3] = {0.0f, 0.0f, 0.0f}, ws = 0.0f;
    for (int32_t j = 0; j < 4; j++) {
        const int32_t cx = x0 + (j & 1), cy = y0 + (j >> 1);
        if (cx < 0 || cy < 0 || cx >= s->ow || cy >= s->oh) continue;
        const int32_t q = cy * s->ow + cx;
        if (s->olabel[q] == P3D_FILL_UNKNOWN) continue;
        const float wt = p3d_mul_rn((j & 1) ? tx : 1.0f - tx, (j >> 1) ? ty : 1.0f - ty);
        for (int32_t c = 0; c < 3; c++) acc[c] = p3d_add_rn(acc[c], p3d_mul_rn(wt, s->in3[3 * (int64_t)q + c]));
        ws = p3d_add_rn(ws, wt);
    }
    *ok = ws > 0.0f;
    for (int32_t c = 0; c < 3; c++) out[c] = ws > 0.0f ? acc[c] / ws : 0.0f;
}

/* Level 0 result into the patch buffers. Colour: the structure (the diffusion colour, in2 channels
 * 1..3) plus `texture` (times the vote's confidence `conf` when given) times the PatchMatch image's detail (in: the finished image, less in3: its
 * low-pass, the same image averaged down `level` times and upsampled, so the copied patches bring
 * every detail finer than that scale and the diffusion the mean colour over it, except that the
 * low-pass itself replaces the diffusion's by conf^(2^P3D_FILL_LOWPASS_SQUARINGS) where the covering
 * patches matched near-exactly: a copied regular pattern keeps its coarse colours; without a low-pass
 * the whole PatchMatch image replaces the structure by that weight); without PatchMatch the diffusion colour alone; clamped to
 * the context's range per channel (rgb_lo, rgb_hi: a sum of two fills must not overshoot the
 * colours it was made from). Depth = 1 / (trend plane + membrane residual),
 * clamped to the context's depth range (so never nearer than the nearest context pixel; a
 * non-positive disparity, the plane extrapolated past infinity, becomes the farthest context
 * depth). */
P3D_HD void p3d_fill_out(const p3d_fill_step *s, int32_t p) {
    const float *sm = s->in2 + 4 * (int64_t)p;
    float base[3] = {sm[1], sm[2], sm[3]};
    int32_t ok = 0;
    if (s->in && s->in3) p3d_fill_coarse_at(s, p, base, &ok);
    const float gain = s->conf ? p3d_mul_rn(s->texture, s->conf[p]) : s->texture;
    float trust = ok && s->conf ? s->conf[p] : 0.0f;
    for (int32_t k = 0; k < P3D_FILL_LOWPASS_SQUARINGS; k++) trust = p3d_mul_rn(trust, trust);
    for (int32_t c = 0; c < 3; c++) {
        const float detail = s->in ? s->in[3 * (int64_t)p + c] - (ok ? base[c] : sm[1 + c]) : 0.0f;
        const float coarse = ok ? p3d_mul_rn(trust, base[c] - sm[1 + c]) : 0.0f;
        const float v = p3d_add_rn(p3d_add_rn(sm[1 + c], coarse), p3d_mul_rn(gain, detail));
        s->out[3 * (int64_t)p + c] = v < s->rgb_lo[c] ? s->rgb_lo[c] : v > s->rgb_hi[c] ? s->rgb_hi[c] : v;
    }
    const float disp = p3d_add_rn(p3d_fill_plane(s, p), sm[0]);
    const float d = disp > 0.0f ? 1.0f / disp : s->depth_hi;
    s->out2[p] = d < s->depth_lo ? s->depth_lo : d > s->depth_hi ? s->depth_hi : d;
}

/* Element i of step s (a pixel index, or an index into s->list). */
P3D_HD void p3d_fill_step_px(const p3d_fill_step *s, int32_t i) {
    switch (s->kind) {
    case P3D_FILL_SM_LOAD: p3d_fill_sm_load(s, i); break;
    case P3D_FILL_SM_DOWN: p3d_fill_sm_down(s, i); break;
    case P3D_FILL_SM_FLAT: p3d_fill_sm_flat(s, s->list[i]); break;
    case P3D_FILL_SM_PROLONG: p3d_fill_sm_prolong(s, s->list[i]); break;
    case P3D_FILL_SM_JACOBI: p3d_fill_sm_jacobi(s, s->list[i]); break;
    case P3D_FILL_PM_LOAD: p3d_fill_pm_load(s, i); break;
    case P3D_FILL_PM_DOWN: p3d_fill_pm_down(s, i); break;
    case P3D_FILL_NNF_INIT: p3d_fill_nnf_init(s, s->list[i]); break;
    case P3D_FILL_NNF_UP: p3d_fill_nnf_up(s, s->list[i]); break;
    case P3D_FILL_NNF_STEP: p3d_fill_nnf_step(s, s->list[i]); break;
    case P3D_FILL_VOTE: p3d_fill_vote(s, s->list[i]); break;
    case P3D_FILL_OUT: p3d_fill_out(s, s->list[i]); break;
    default: break;
    }
}

#endif
