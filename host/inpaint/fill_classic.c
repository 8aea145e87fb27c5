/* fill_classic.c - the non-learned fill: checks, the level plan (built on the host for both
 * backends), the step sequence, and the CPU runner of the steps (twin: cuda/inpaint/fill_classic.cu). */
#include "inpaint/fill_classic.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "inpaint/fill_classic_math.h"
#include "inpaint/fill_gather.h"
#include "inpaint/fill_gather_math.h"

#ifdef P3D_HAVE_OPENMP
#include <omp.h>
#endif

/* Membrane pyramid: halve until the longer side is at most this (the SM_FLAT level). */
#define FILL_SM_COARSEST 8
/* Level count bounds: ceil(log2(P3D_FILL_MAX_SIDE / FILL_SM_COARSEST)) + 1 = 11 membrane levels. */
#define FILL_MAX_LEVELS 16
#define FILL_MAX_SCALES 8
/* Sweeps per membrane level: smooth_iters on the finest, doubled on each coarser level up to
 * 2^FILL_SWEEP_DOUBLINGS times (a coarse sweep costs a quarter of the finer one and carries the
 * slowly converging, far-reaching part of the solution: measured on a 960x200 moon strip with a
 * 60-px band, 16 / 32 / 64 / 128 sweeps come closer to the converged solve than 64 on every level,
 * at a third of the cost); the coarsest level gets FILL_COARSEST_SWEEP_FACTOR times more again: it
 * starts from a flat guess, while every finer level starts from its parent's solution. */
#define FILL_SWEEP_DOUBLINGS 3
#define FILL_COARSEST_SWEEP_FACTOR 4
#define FILL_ALIGN 256

p3d_fill_opts p3d_fill_opts_default(void) {
    p3d_fill_opts o;
    o.patch = 7;
    o.scales = 4;
    o.em_iters = 3;
    o.coarse_nnf_iters = 4;
    o.nnf_iters = 1;
    o.smooth_iters = 16;
    o.seed = 1u;
    o.texture = 1.0f;
    o.cross = 1.0f;
    o.confidence = 1;
    o.offsets = 1;
    return o;
}

/* ---- layout ------------------------------------------------------------------------------------ */

/* Byte offsets into the workspace of one level's buffers (0 = not used by this pyramid). */
typedef struct fill_level {
    int32_t w, h;
    int32_t n_list, n_sources;
    size_t label, list, valid, sources; /* static part: built on the host, uploaded once per patch */
    size_t val;                         /* smooth (4 f32 / pixel) or colour (3 f32 / pixel) */
    size_t key;                         /* PatchMatch: colour rounded to 8 bits (3 u8 / pixel) */
} fill_level;

/* The workspace of one patch. The layout depends only on (w, h) and the options, so the largest
 * patch's layout bounds every other patch's. [0, static_bytes) is uploaded from the host staging
 * block; the rest is computed on the device. The staging block also holds `sat_bytes` of host-only
 * prefix sums after static_bytes. */
typedef struct fill_plan {
    int32_t w, h, n_sm, n_pm; /* n_pm = 0: colour is the diffusion fill */
    int32_t n_lp;             /* PatchMatch pyramid levels with labels (>= n_pm): the low-pass of the
                                 finished image goes down to level n_lp - 1 whatever scales ran */
    fill_level sm[FILL_MAX_LEVELS], pm[FILL_MAX_SCALES];
    size_t io_rgb, io_depth, sm_tmp, conf, nnf[2], dsum[2], wt[2]; /* conf: f32 (h, w), the last vote's */
    size_t static_bytes, total_bytes, sat_bytes;
    float plane[3], depth_lo, depth_hi; /* fill_trend */
    float rgb_lo[3], rgb_hi[3];         /* fill_trend: the context's colour range per channel */
    int32_t n_off, off[2 * P3D_FILL_MAX_OFFSETS]; /* fill_offsets: dominant offsets, level-0 pixels */
} fill_plan;

static size_t fill_take(size_t *off, size_t bytes) {
    const size_t at = *off;
    *off += (bytes + FILL_ALIGN - 1) / FILL_ALIGN * FILL_ALIGN;
    return at;
}

static int32_t fill_half(int32_t v) { return (v + 1) / 2; }

/* Offsets for a w x h patch (w, h <= P3D_FILL_MAX_SIDE, so every size fits in size_t arithmetic on
 * 64-bit hosts without overflow checks). n_sm is fixed by the size; n_pm is the most PatchMatch
 * scales the sizes allow (fill_build may use fewer). */
static void fill_layout(fill_plan *pl, int32_t w, int32_t h, const p3d_fill_opts *o) {
    memset(pl, 0, sizeof *pl);
    pl->w = w;
    pl->h = h;
    size_t off = 0;
    int32_t lw = w, lh = h;
    for (;;) {
        fill_level *lv = &pl->sm[pl->n_sm++];
        const size_t n = (size_t)lw * (size_t)lh;
        lv->w = lw;
        lv->h = lh;
        lv->label = fill_take(&off, n);
        lv->list = fill_take(&off, n * sizeof(int32_t));
        if ((lw > lh ? lw : lh) <= FILL_SM_COARSEST) break;
        lw = fill_half(lw);
        lh = fill_half(lh);
    }
    lw = w;
    lh = h;
    for (int32_t l = 0; l < o->scales; l++) {
        if (l > 0 && (lw < o->patch || lh < o->patch)) break;
        fill_level *lv = &pl->pm[pl->n_pm++];
        const size_t n = (size_t)lw * (size_t)lh;
        lv->w = lw;
        lv->h = lh;
        lv->label = fill_take(&off, n);
        lv->valid = fill_take(&off, n);
        lv->list = fill_take(&off, n * sizeof(int32_t));
        lv->sources = fill_take(&off, n * sizeof(int32_t));
        lw = fill_half(lw);
        lh = fill_half(lh);
    }
    pl->static_bytes = off;
    const size_t n0 = (size_t)w * (size_t)h;
    pl->sat_bytes = (n0 + (size_t)w + (size_t)h + 1) * sizeof(int32_t);
    pl->io_rgb = fill_take(&off, n0 * 3 * sizeof(float));
    pl->io_depth = fill_take(&off, n0 * sizeof(float));
    for (int32_t l = 0; l < pl->n_sm; l++) pl->sm[l].val = fill_take(&off, (size_t)pl->sm[l].w * pl->sm[l].h * 4 * sizeof(float));
    pl->sm_tmp = fill_take(&off, n0 * 4 * sizeof(float));
    pl->conf = fill_take(&off, n0 * sizeof(float));
    for (int32_t l = 0; l < pl->n_pm; l++) {
        const size_t n = (size_t)pl->pm[l].w * pl->pm[l].h * 3;
        pl->pm[l].val = fill_take(&off, n * sizeof(float));
        pl->pm[l].key = fill_take(&off, n + P3D_FILL_KEY_SLACK);
    }
    for (int32_t k = 0; k < 2; k++) {
        pl->nnf[k] = fill_take(&off, n0 * sizeof(int32_t));
        pl->dsum[k] = fill_take(&off, n0 * sizeof(int32_t));
        pl->wt[k] = fill_take(&off, n0 * sizeof(float));
    }
    pl->total_bytes = off;
}

/* Mask pixels of a level into its list; returns the count. */
static int32_t fill_list(const uint8_t *label, int32_t n, int32_t *list) {
    int32_t k = 0;
    for (int32_t i = 0; i < n; i++)
        if (label[i] == P3D_FILL_MASK) list[k++] = i;
    return k;
}

/* Coarse label from the 2x2 children of the finer level: with all_context, context only when every
 * child is (PatchMatch: a coarse source pixel must not average in unknown colour); otherwise
 * context when any child is (membrane: keep thin Dirichlet data). Not context and any child mask:
 * mask; else unknown. */
static void fill_label_down(const fill_level *f, const uint8_t *fl, const fill_level *c, uint8_t *cl, int all_context) {
    for (int32_t y = 0; y < c->h; y++)
        for (int32_t x = 0; x < c->w; x++) cl[y * c->w + x] = p3d_fill_label_down_px(fl, f->w, f->h, x, y, all_context);
}

/* Valid source centres of a PatchMatch level (window of side 2r+1 inside the level and entirely
 * context), from a summed-area table of the context; returns their count. */
static int32_t fill_sources(const fill_level *lv, const uint8_t *label, int32_t r, int32_t *sat, uint8_t *valid,
                            int32_t *sources) {
    const int32_t w = lv->w, h = lv->h, sw = w + 1;
    for (int32_t x = 0; x <= w; x++) sat[x] = 0;
    for (int32_t y = 0; y < h; y++) {
        int32_t row = 0;
        sat[(y + 1) * sw] = 0;
        for (int32_t x = 0; x < w; x++) {
            row += label[y * w + x] == P3D_FILL_CONTEXT;
            sat[(y + 1) * sw + x + 1] = sat[y * sw + x + 1] + row;
        }
    }
    const int32_t full = (2 * r + 1) * (2 * r + 1);
    int32_t k = 0;
    for (int32_t y = 0; y < h; y++)
        for (int32_t x = 0; x < w; x++) {
            const int32_t x0 = x - r, y0 = y - r, x1 = x + r + 1, y1 = y + r + 1;
            int ok = x0 >= 0 && y0 >= 0 && x1 <= w && y1 <= h;
            if (ok) ok = sat[y1 * sw + x1] - sat[y0 * sw + x1] - sat[y1 * sw + x0] + sat[y0 * sw + x0] == full;
            valid[y * w + x] = (uint8_t)ok;
            if (ok) sources[k++] = P3D_FILL_XY(x, y);
        }
    return k;
}

/* Builds the static part of p's workspace in the host staging block `st` (static_bytes + sat_bytes)
 * and settles how many PatchMatch scales run: a scale is used while it has a valid source centre
 * (n_pm = 0 when level 0 has none; patchmatch = 0 forces the diffusion colour). */
static void fill_build(fill_plan *pl, const p3d_fill_patch *p, uint8_t *st, const p3d_fill_opts *o, int patchmatch) {
    const int32_t n0 = p->w * p->h;
    uint8_t *l0 = st + pl->sm[0].label;
    for (int32_t i = 0; i < n0; i++)
        l0[i] = p->context[i] ? P3D_FILL_CONTEXT : p->mask[i] ? P3D_FILL_MASK : P3D_FILL_UNKNOWN;
    for (int32_t l = 0; l < pl->n_sm; l++) {
        fill_level *lv = &pl->sm[l];
        if (l > 0) fill_label_down(&pl->sm[l - 1], st + pl->sm[l - 1].label, lv, st + lv->label, 0);
        lv->n_list = fill_list(st + lv->label, lv->w * lv->h, (int32_t *)(st + lv->list));
    }
    int32_t *sat = (int32_t *)(st + pl->static_bytes);
    const int32_t r = o->patch / 2;
    int32_t used = 0, searching = 1;
    for (int32_t l = 0; patchmatch && l < pl->n_pm; l++) {
        fill_level *lv = &pl->pm[l];
        if (l == 0)
            memcpy(st + lv->label, l0, (size_t)n0);
        else
            fill_label_down(&pl->pm[l - 1], st + pl->pm[l - 1].label, lv, st + lv->label, 1);
        lv->n_list = fill_list(st + lv->label, lv->w * lv->h, (int32_t *)(st + lv->list));
        if (!searching) continue; /* labels only: a level of the low-pass pyramid */
        lv->n_sources = fill_sources(lv, st + lv->label, r, sat, st + lv->valid, (int32_t *)(st + lv->sources));
        if (lv->n_sources == 0 || lv->n_list == 0) searching = 0;
        else used = l + 1;
    }
    pl->n_lp = used > 0 ? pl->n_pm : 0;
    pl->n_pm = used;
}

/* The least-squares plane through the context's disparity (double sums in raster order, centred
 * coordinates, ridge of 1 px^2 per pixel so a context one column or row wide gets a slope of about
 * 0 across it instead of a wild one) and the context's depth range. The membrane solve then
 * interpolates only the residual, so a tilted background (a floor, a wall) continues as the same
 * plane behind the foreground instead of flattening; the clamp to the range keeps the extension
 * background (never nearer than the context's nearest pixel). */
static void fill_trend(fill_plan *pl, const p3d_fill_patch *p) {
    double n = 0.0, sx = 0.0, sy = 0.0, sd = 0.0;
    float lo = INFINITY, hi = 0.0f;
    for (int32_t c = 0; c < 3; c++) pl->rgb_lo[c] = INFINITY, pl->rgb_hi[c] = -INFINITY;
    for (int32_t y = 0; y < p->h; y++)
        for (int32_t x = 0; x < p->w; x++) {
            const int64_t i = (int64_t)y * p->w + x;
            if (!p->context[i]) continue;
            const float z = p->depth[i];
            for (int32_t c = 0; c < 3; c++) {
                const float v = p->rgb[3 * i + c];
                pl->rgb_lo[c] = v < pl->rgb_lo[c] ? v : pl->rgb_lo[c];
                pl->rgb_hi[c] = v > pl->rgb_hi[c] ? v : pl->rgb_hi[c];
            }
            n += 1.0;
            sx += x;
            sy += y;
            sd += 1.0 / z;
            lo = z < lo ? z : lo;
            hi = z > hi ? z : hi;
        }
    const double mx = sx / n, my = sy / n, md = sd / n;
    double sxx = n, syy = n, sxy = 0.0, sxd = 0.0, syd = 0.0;
    for (int32_t y = 0; y < p->h; y++)
        for (int32_t x = 0; x < p->w; x++) {
            const int64_t i = (int64_t)y * p->w + x;
            if (!p->context[i]) continue;
            const double dx = x - mx, dy = y - my, dd = 1.0 / p->depth[i] - md;
            sxx += dx * dx;
            syy += dy * dy;
            sxy += dx * dy;
            sxd += dx * dd;
            syd += dy * dd;
        }
    const double det = sxx * syy - sxy * sxy; /* > 0: the ridge makes the matrix positive definite */
    const double bx = (syy * sxd - sxy * syd) / det, by = (sxx * syd - sxy * sxd) / det;
    pl->plane[0] = (float)(md - bx * mx - by * my);
    pl->plane[1] = (float)bx;
    pl->plane[2] = (float)by;
    pl->depth_lo = lo;
    pl->depth_hi = hi;
}

/* ---- dominant offsets (He & Sun 2012) -------------------------------------------------------------- */

/* The statistics run on the context reduced by a power of two until it holds at most this many pixels
 * (the cost per patch stays bounded: about 25 ms for the largest on one core). */
#define FILL_OFF_MAX_PX 6144
#define FILL_OFF_RADIUS 2 /* 5 x 5 patches on the reduced image */
#define FILL_OFF_PASSES 4 /* PatchMatch passes of the context onto itself, alternating scan order */

/* Sum of squared 8-bit differences of the (2R+1)^2 windows at a and b of a (w, h, 3) image, stopping
 * once it reaches cap. */
static int32_t off_dist(const uint8_t *img, int32_t w, int32_t a, int32_t b, int32_t cap) {
    int32_t sum = 0;
    for (int32_t dy = -FILL_OFF_RADIUS; dy <= FILL_OFF_RADIUS; dy++) {
        const uint8_t *pa = img + 3 * ((int64_t)a + (int64_t)dy * w - FILL_OFF_RADIUS);
        const uint8_t *pb = img + 3 * ((int64_t)b + (int64_t)dy * w - FILL_OFF_RADIUS);
        for (int32_t k = 0; k < 3 * (2 * FILL_OFF_RADIUS + 1); k++) {
            const int32_t d = (int32_t)pa[k] - (int32_t)pb[k];
            sum += d * d;
        }
        if (sum >= cap) return sum;
    }
    return sum;
}

/* The context's dominant patch offsets, as He & Sun's "Statistics of Patch Offsets for Image
 * Completion" (ECCV 2012) finds them: every context patch is matched to its most similar context patch
 * at least a patch side away (PatchMatch of the context onto itself, on the context reduced by f = 2^k
 * to at most FILL_OFF_MAX_PX pixels, 5 x 5 patches), the offsets of the matches are counted in a 2-D
 * histogram (o and -o in one bin), smoothed with a 3 x 3 binomial kernel, and the highest local
 * maxima holding at least 1/64 of the matches (and 4 of them) are the dominant offsets, times f. In a
 * regular pattern (a brick wall, tiles) they are its periods (one brick along the course, half a
 * brick and one course down); in an irregular texture the matches scatter and no bin reaches the
 * share. Host code in a fixed order with the fill's counter hash: the same offsets on both backends.
 * Returns the count; 0 when the context is too small or a buffer cannot be had (fill_classic.h). */
int32_t p3d_fill_dominant_offsets(const p3d_fill_patch *p, uint32_t seed, int32_t *off) {
    int64_t n_ctx = 0;
    for (int64_t i = 0; i < (int64_t)p->w * p->h; i++) n_ctx += p->context[i] != 0;
    int32_t f = 1;
    while (n_ctx / ((int64_t)f * f) > FILL_OFF_MAX_PX) f *= 2;
    const int32_t w = p->w / f, h = p->h / f, R = FILL_OFF_RADIUS, side = 2 * R + 1;
    if (w < 2 * side || h < side) return 0;
    const int32_t n = w * h, hw = w, hh = 2 * h - 1; /* histogram: dx in [0, w), dy in (-h, h) */
    uint8_t *img = (uint8_t *)calloc((size_t)n, 4);
    int32_t *cnt = (int32_t *)calloc((size_t)n, sizeof(int32_t)); /* 1 = valid centre */
    int32_t *list = (int32_t *)malloc((size_t)n * sizeof(int32_t)), *nnf = (int32_t *)malloc((size_t)n * sizeof(int32_t));
    int32_t *dist = (int32_t *)malloc((size_t)n * sizeof(int32_t));
    int32_t *hist = (int32_t *)calloc((size_t)hw * hh * 2, sizeof(int32_t));
    int32_t found = 0;
    if (!img || !cnt || !list || !nnf || !dist || !hist) goto done;
    uint8_t *ok = img + 3 * (size_t)n; /* 1 = the reduced pixel is context (all f x f children) */
    for (int32_t y = 0; y < h; y++)
        for (int32_t x = 0; x < w; x++) {
            float acc[3] = {0.0f, 0.0f, 0.0f};
            int32_t all = 1;
            for (int32_t dy = 0; dy < f && all; dy++)
                for (int32_t dx = 0; dx < f; dx++) {
                    const int64_t i = (int64_t)(y * f + dy) * p->w + x * f + dx;
                    if (!p->context[i]) {
                        all = 0;
                        break;
                    }
                    for (int32_t c = 0; c < 3; c++) acc[c] += p->rgb[3 * i + c];
                }
            ok[y * w + x] = (uint8_t)all;
            for (int32_t c = 0; c < 3; c++) img[3 * (y * w + x) + c] = all ? p3d_fill_key(acc[c] / (float)(f * f)) : 0;
        }
    /* valid centres: the window inside the image and all context */
    int32_t nv = 0;
    for (int32_t y = R; y < h - R; y++)
        for (int32_t x = R; x < w - R; x++) {
            int32_t all = 1;
            for (int32_t dy = -R; dy <= R && all; dy++)
                for (int32_t dx = -R; dx <= R; dx++)
                    if (!ok[(y + dy) * w + x + dx]) {
                        all = 0;
                        break;
                    }
            cnt[y * w + x] = all;
            if (all) list[nv++] = y * w + x;
        }
    if (nv < 2 * side) goto done;
    /* PatchMatch of the valid centres onto each other, offsets at least a patch side on one axis */
    for (int32_t k = 0; k < nv; k++) {
        const int32_t a = list[k];
        nnf[a] = -1;
        dist[a] = INT32_MAX;
        for (uint32_t t = 0; t < 4u && nnf[a] < 0; t++) {
            const int32_t b = list[p3d_fill_below(p3d_fill_rand(p3d_fill_rand_pixel(seed, 99u, 0u, (uint32_t)a), t), nv)];
            if (abs(b % w - a % w) >= side || abs(b / w - a / w) >= side) nnf[a] = b, dist[a] = off_dist(img, w, a, b, INT32_MAX);
        }
    }
#define OFF_TRY(cand)                                                                                          \
    do {                                                                                                       \
        const int32_t c_ = (cand), cx_ = c_ % w, cy_ = c_ / w;                                                 \
        if (c_ != nnf[a] && cnt[c_] && (abs(cx_ - ax) >= side || abs(cy_ - ay) >= side)) {                   \
            const int32_t d_ = off_dist(img, w, a, c_, dist[a]);                                               \
            if (d_ < dist[a]) nnf[a] = c_, dist[a] = d_;                                                       \
        }                                                                                                      \
    } while (0)
    for (int32_t pass = 0; pass < FILL_OFF_PASSES; pass++) {
        const int32_t dir = pass % 2 ? -1 : 1;
        for (int32_t k = 0; k < nv; k++) {
            const int32_t a = list[dir > 0 ? k : nv - 1 - k], ax = a % w, ay = a / w;
            /* propagation from the neighbours already visited in this pass */
            const int32_t nb[2] = {a - dir, a - dir * w};
            for (int32_t j = 0; j < 2; j++) {
                const int32_t m = nb[j];
                if (m < 0 || m >= n || !cnt[m] || nnf[m] < 0) continue;
                const int32_t c = nnf[m] + (a - m);
                if (c >= 0 && c < n && abs(c % w - nnf[m] % w) <= 1) OFF_TRY(c);
            }
            /* random search around the best, radius halving */
            const uint32_t hash = p3d_fill_rand_pixel(seed, 99u, 1u + (uint32_t)pass, (uint32_t)a);
            uint32_t t = 0;
            for (int32_t rad = w > h ? w : h; rad >= 1 && nnf[a] >= 0; rad /= 2, t += 2) {
                const int32_t bx = nnf[a] % w + p3d_fill_below(p3d_fill_rand(hash, t), 2 * rad + 1) - rad;
                const int32_t by = nnf[a] / w + p3d_fill_below(p3d_fill_rand(hash, t + 1), 2 * rad + 1) - rad;
                if (bx >= 0 && by >= 0 && bx < w && by < h) OFF_TRY(by * w + bx);
            }
            OFF_TRY(list[p3d_fill_below(p3d_fill_rand(hash, t), nv)]);
        }
    }
#undef OFF_TRY
    /* histogram of the offsets, o and -o in one bin (dx > 0, or dx = 0 and dy > 0) */
    int32_t *sm = hist + (size_t)hw * hh, matched = 0;
    for (int32_t k = 0; k < nv; k++) {
        const int32_t a = list[k];
        if (nnf[a] < 0) continue;
        int32_t dx = nnf[a] % w - a % w, dy = nnf[a] / w - a / w;
        if (dx < 0 || (dx == 0 && dy < 0)) dx = -dx, dy = -dy;
        hist[(dy + h - 1) * hw + dx]++;
        matched++;
    }
    for (int32_t y = 0; y < hh; y++)
        for (int32_t x = 0; x < hw; x++) {
            int32_t acc = 0;
            for (int32_t dy = -1; dy <= 1; dy++)
                for (int32_t dx = -1; dx <= 1; dx++) {
                    const int32_t yy = y + dy, xx = x + dx;
                    if (yy < 0 || yy >= hh || xx < 0 || xx >= hw) continue;
                    acc += hist[yy * hw + xx] * (dy ? 1 : 2) * (dx ? 1 : 2);
                }
            sm[y * hw + x] = acc; /* 16 x the binomial-smoothed count */
        }
    const int32_t need = 16 * (matched / 64 > 4 ? matched / 64 : 4);
    for (; found < P3D_FILL_MAX_OFFSETS; found++) {
        int32_t best = -1, bv = need - 1;
        for (int32_t y = 0; y < hh; y++)
            for (int32_t x = 0; x < hw; x++) {
                const int32_t v = sm[y * hw + x];
                if (v <= bv) continue;
                int32_t peak = 1;
                for (int32_t dy = -1; dy <= 1 && peak; dy++)
                    for (int32_t dx = -1; dx <= 1; dx++) {
                        const int32_t yy = y + dy, xx = x + dx;
                        if ((dx || dy) && yy >= 0 && yy < hh && xx >= 0 && xx < hw && sm[yy * hw + xx] > v) peak = 0;
                    }
                if (peak) best = y * hw + x, bv = v;
            }
        if (best < 0) break;
        off[2 * found] = (best % hw) * f;
        off[2 * found + 1] = (best / hw - (h - 1)) * f;
        /* suppress the peak's neighbourhood (a patch side) before the next */
        for (int32_t y = best / hw - side; y <= best / hw + side; y++)
            for (int32_t x = best % hw - side; x <= best % hw + side; x++)
                if (y >= 0 && y < hh && x >= 0 && x < hw) sm[y * hw + x] = 0;
    }
done:
    free(img), free(cnt), free(list), free(nnf), free(dist), free(hist);
    return found;
}

/* ---- running steps -------------------------------------------------------------------------------- */

static p3d_status fill_run_cpu(const p3d_fill_step *s) {
    const int32_t n = s->n;
    /* dynamic: a PatchMatch pixel's cost depends on how early its candidates are rejected; the
     * elements are independent, so the schedule never changes the result. */
#ifdef P3D_HAVE_OPENMP
#pragma omp parallel for schedule(dynamic, 64) if (n > 1024 && !omp_in_parallel())
#endif
    for (int32_t i = 0; i < n; i++) p3d_fill_step_px(s, i);
    return P3D_OK;
}

static p3d_status fill_run(p3d_ctx *ctx, const p3d_fill_step *s) {
    if (s->n <= 0) return P3D_OK;
#ifdef P3D_HAVE_CUDA
    if (p3d_ctx_cuda(ctx)) return p3d_fill_classic_cuda(p3d_ctx_cuda(ctx), s);
#endif
    (void)ctx;
    return fill_run_cpu(s);
}

/* A step over level lv of the workspace at `base` (context memory): the level's sizes and static
 * buffers are filled in; the caller sets the kind-specific fields. `all` = one element per pixel,
 * else one per mask pixel. */
static p3d_fill_step fill_step_on(uint8_t *base, const fill_level *lv, int32_t kind, int all) {
    p3d_fill_step s;
    memset(&s, 0, sizeof s);
    s.kind = kind;
    s.w = lv->w;
    s.h = lv->h;
    s.n = all ? lv->w * lv->h : lv->n_list;
    s.label = base + lv->label;
    s.list = (const int32_t *)(base + lv->list);
    if (lv->valid) s.valid = base + lv->valid;
    if (lv->sources) s.sources = (const int32_t *)(base + lv->sources);
    s.n_sources = lv->n_sources;
    return s;
}

static float *fill_f32(uint8_t *base, size_t off) { return (float *)(base + off); }

/* Levels 1..n-1 of a pyramid's values from the level below each (kind SM_DOWN or PM_DOWN). */
static p3d_status fill_pyramid_down(p3d_ctx *ctx, uint8_t *b, const fill_level *lv, int32_t n, int32_t kind) {
    for (int32_t l = 1; l < n; l++) {
        p3d_fill_step s = fill_step_on(b, &lv[l], kind, 1);
        s.ow = lv[l - 1].w;
        s.oh = lv[l - 1].h;
        s.olabel = b + lv[l - 1].label;
        s.in = fill_f32(b, lv[l - 1].val);
        s.out = fill_f32(b, lv[l].val);
        if (lv[l].key) s.key_out = b + lv[l].key;
        P3D_TRY(fill_run(ctx, &s));
    }
    return P3D_OK;
}

/* The membrane solve of disparity and colour, coarsest level first; the result is in sm[0].val. */
static p3d_status fill_smooth_solve(p3d_ctx *ctx, uint8_t *b, const fill_plan *pl, const p3d_fill_opts *o) {
    p3d_fill_step s = fill_step_on(b, &pl->sm[0], P3D_FILL_SM_LOAD, 1);
    memcpy(s.plane, pl->plane, sizeof s.plane);
    s.in = fill_f32(b, pl->io_rgb);
    s.in2 = fill_f32(b, pl->io_depth);
    s.out = fill_f32(b, pl->sm[0].val);
    P3D_TRY(fill_run(ctx, &s));
    P3D_TRY(fill_pyramid_down(ctx, b, pl->sm, pl->n_sm, P3D_FILL_SM_DOWN));
    for (int32_t l = pl->n_sm - 1; l >= 0; l--) {
        const fill_level *lv = &pl->sm[l];
        if (l == pl->n_sm - 1) {
            s = fill_step_on(b, lv, P3D_FILL_SM_FLAT, 0);
        } else {
            s = fill_step_on(b, lv, P3D_FILL_SM_PROLONG, 0);
            s.ow = pl->sm[l + 1].w;
            s.oh = pl->sm[l + 1].h;
            s.in = fill_f32(b, pl->sm[l + 1].val);
        }
        s.out = fill_f32(b, lv->val);
        P3D_TRY(fill_run(ctx, &s));
        /* Sweeps in pairs (val -> tmp -> val), so the solution ends in val. */
        const int32_t sweeps = (o->smooth_iters << (l < FILL_SWEEP_DOUBLINGS ? l : FILL_SWEEP_DOUBLINGS)) *
                               (l == pl->n_sm - 1 ? FILL_COARSEST_SWEEP_FACTOR : 1);
        for (int32_t k = 0; k < sweeps; k++) {
            s = fill_step_on(b, lv, P3D_FILL_SM_JACOBI, 0);
            s.wx = 1.0f;
            s.wy = o->cross;
            s.in = fill_f32(b, k % 2 ? pl->sm_tmp : lv->val);
            s.in2 = fill_f32(b, lv->val);
            s.out = fill_f32(b, k % 2 ? lv->val : pl->sm_tmp);
            P3D_TRY(fill_run(ctx, &s));
        }
    }
    return P3D_OK;
}

static p3d_status fill_vote(p3d_ctx *ctx, uint8_t *b, const fill_plan *pl, const fill_level *lv,
                            const p3d_fill_opts *o, int32_t cur) {
    p3d_fill_step s = fill_step_on(b, lv, P3D_FILL_VOTE, 0);
    if (lv == &pl->pm[0]) s.out2 = fill_f32(b, pl->conf);
    s.radius = o->patch / 2;
    s.nnf_in = (const int32_t *)(b + pl->nnf[cur]);
    s.wt_in = fill_f32(b, pl->wt[cur]);
    s.out = fill_f32(b, lv->val);
    s.key_out = b + lv->key;
    return fill_run(ctx, &s);
}

/* A level-0 offset component on level l (halved l times), rounded half away from zero. */
static int32_t fill_scale_off(int32_t v, int32_t l) {
    const int32_t half = l > 0 ? 1 << (l - 1) : 0;
    return v >= 0 ? (v + half) >> l : -((-v + half) >> l);
}

/* Multi-scale PatchMatch completion over pm[0 .. n_pm-1]; the result is in pm[0].val. */
static p3d_status fill_patchmatch(p3d_ctx *ctx, uint8_t *b, const fill_plan *pl, const p3d_fill_opts *o) {
    p3d_fill_step s = fill_step_on(b, &pl->pm[0], P3D_FILL_PM_LOAD, 1);
    s.in = fill_f32(b, pl->io_rgb);
    s.in2 = fill_f32(b, pl->sm[0].val);
    s.out = fill_f32(b, pl->pm[0].val);
    s.key_out = b + pl->pm[0].key;
    P3D_TRY(fill_run(ctx, &s));
    P3D_TRY(fill_pyramid_down(ctx, b, pl->pm, pl->n_pm, P3D_FILL_PM_DOWN));
    int32_t cur = 0; /* which of the two nnf / dsum / wt buffer sets holds the current field */
    for (int32_t l = pl->n_pm - 1; l >= 0; l--) {
        const fill_level *lv = &pl->pm[l];
        const int32_t coarsest = l == pl->n_pm - 1;
        s = fill_step_on(b, lv, coarsest ? P3D_FILL_NNF_INIT : P3D_FILL_NNF_UP, 0);
        s.seed = o->seed;
        s.level = (uint32_t)l;
        if (!coarsest) {
            s.ow = pl->pm[l + 1].w;
            s.oh = pl->pm[l + 1].h;
            s.nnf_in = (const int32_t *)(b + pl->nnf[cur]);
        }
        s.nnf_out = (int32_t *)(b + pl->nnf[1 - cur]);
        s.wt_out = fill_f32(b, pl->wt[1 - cur]);
        P3D_TRY(fill_run(ctx, &s));
        cur = 1 - cur;
        /* The upsampled field's vote gives this scale its first image; the coarsest scale starts
         * from the downsampled diffusion fill. */
        if (!coarsest) P3D_TRY(fill_vote(ctx, b, pl, lv, o, cur));
        uint32_t iter = 1u; /* iteration 0 drew the initial or fallback sources */
        for (int32_t e = 0; e < o->em_iters; e++) {
            const int32_t passes = coarsest ? o->coarse_nnf_iters : o->nnf_iters;
            for (int32_t k = 0; k < passes; k++, iter++) {
                s = fill_step_on(b, lv, P3D_FILL_NNF_STEP, 0);
                s.seed = o->seed;
                s.level = (uint32_t)l;
                s.iter = iter;
                s.radius = o->patch / 2;
                s.jump = 1 << (3 - k % 3); /* 8, 4, 2, 8, ...: reach across the band fast */
                /* the dominant offsets on this level, rounded half away from zero; none shorter than
                 * a pixel */
                for (int32_t j = 0; j < pl->n_off; j++) {
                    const int32_t ox = fill_scale_off(pl->off[2 * j], l), oy = fill_scale_off(pl->off[2 * j + 1], l);
                    if (ox == 0 && oy == 0) continue;
                    s.offsets[2 * s.n_offsets] = ox;
                    s.offsets[2 * s.n_offsets + 1] = oy;
                    s.n_offsets++;
                }
                s.key = b + lv->key;
                s.fresh = k > 0; /* the vote before the first pass changed the image */
                s.nnf_in = (const int32_t *)(b + pl->nnf[cur]);
                s.nnf_out = (int32_t *)(b + pl->nnf[1 - cur]);
                s.dsum_in = (const int32_t *)(b + pl->dsum[cur]);
                s.dsum_out = (int32_t *)(b + pl->dsum[1 - cur]);
                s.wt_out = fill_f32(b, pl->wt[1 - cur]);
                P3D_TRY(fill_run(ctx, &s));
                cur = 1 - cur;
            }
            P3D_TRY(fill_vote(ctx, b, pl, lv, o, cur));
        }
    }
    return P3D_OK;
}

/* ---- checks and the entry points ----------------------------------------------------------------- */

static p3d_status fill_check_opts(const p3d_fill_opts *o) {
    if (o->patch < 3 || o->patch > 15 || o->patch % 2 == 0)
        return p3d_fail(P3D_ERR_INVALID_ARG, "fill_classic: patch size %d: need an odd size in 3..15", (int)o->patch);
    if (o->scales < 1 || o->scales > FILL_MAX_SCALES)
        return p3d_fail(P3D_ERR_INVALID_ARG, "fill_classic: %d scales: need 1..%d", (int)o->scales, FILL_MAX_SCALES);
    if (o->em_iters < 1 || o->em_iters > 32 || o->coarse_nnf_iters < 1 || o->coarse_nnf_iters > 32 ||
        o->nnf_iters < 1 || o->nnf_iters > 32)
        return p3d_fail(P3D_ERR_INVALID_ARG, "fill_classic: %d EM rounds, %d / %d search passes: need 1..32 each",
                        (int)o->em_iters, (int)o->coarse_nnf_iters, (int)o->nnf_iters);
    if (o->smooth_iters < 2 || o->smooth_iters > 4096 || o->smooth_iters % 2)
        return p3d_fail(P3D_ERR_INVALID_ARG, "fill_classic: %d smoothing sweeps: need an even count in 2..4096",
                        (int)o->smooth_iters);
    if (!(o->cross >= 0.001f && o->cross <= 1.0f))
        return p3d_fail(P3D_ERR_INVALID_ARG, "fill_classic: cross weight %g: need 0.001..1", (double)o->cross);
    if (o->confidence != 0 && o->confidence != 1)
        return p3d_fail(P3D_ERR_INVALID_ARG, "fill_classic: confidence %d: need 0 or 1", (int)o->confidence);
    if (o->offsets != 0 && o->offsets != 1)
        return p3d_fail(P3D_ERR_INVALID_ARG, "fill_classic: offsets %d: need 0 or 1", (int)o->offsets);
    if (!(o->texture >= 0.0f && o->texture <= 1.0f))
        return p3d_fail(P3D_ERR_INVALID_ARG, "fill_classic: texture weight %g: need 0..1", (double)o->texture);
    return P3D_OK;
}

/* Checks patch i; *n_mask = its mask pixels. */
static p3d_status fill_check_patch(const p3d_fill_patch *p, int32_t i, int64_t *n_mask) {
    if (p->w < 1 || p->h < 1 || p->w > P3D_FILL_MAX_SIDE || p->h > P3D_FILL_MAX_SIDE)
        return p3d_fail(P3D_ERR_INVALID_ARG, "fill_classic: patch %d: size %dx%d: need 1..%d per side", (int)i,
                        (int)p->w, (int)p->h, P3D_FILL_MAX_SIDE);
    if (!p->context || !p->mask || !p->rgb || !p->depth)
        return p3d_fail(P3D_ERR_INVALID_ARG, "fill_classic: patch %d: a context, mask, rgb or depth buffer is NULL",
                        (int)i);
    int64_t nc = 0, nm = 0;
    for (int64_t k = 0; k < (int64_t)p->w * p->h; k++) {
        const int32_t x = (int32_t)(k % p->w), y = (int32_t)(k / p->w);
        if (p->context[k] && p->mask[k])
            return p3d_fail(P3D_ERR_INVALID_ARG, "fill_classic: patch %d: pixel (%d, %d) is both context and mask",
                            (int)i, (int)x, (int)y);
        if (!p->context[k]) {
            nm += p->mask[k] != 0;
            continue;
        }
        nc++;
        const float d = p->depth[k], *c = p->rgb + 3 * k;
        if (!(d > 0.0f) || !isfinite(d))
            return p3d_fail(P3D_ERR_INVALID_ARG, "fill_classic: patch %d: context pixel (%d, %d) has depth %g: need a "
                            "finite depth > 0", (int)i, (int)x, (int)y, (double)d);
        if (!isfinite(c[0]) || !isfinite(c[1]) || !isfinite(c[2]))
            return p3d_fail(P3D_ERR_INVALID_ARG, "fill_classic: patch %d: context pixel (%d, %d) has a non-finite colour",
                            (int)i, (int)x, (int)y);
    }
    if (nm > 0 && nc == 0)
        return p3d_fail(P3D_ERR_INVALID_ARG, "fill_classic: patch %d: %lld mask pixels but no context pixel to extend",
                        (int)i, (long long)nm);
    *n_mask = nm;
    return P3D_OK;
}

/* On a device the static block is built there from the level-0 labels (fill_gather.h, the rules of
 * fill_gather_math.h), the same levels fill_build built on the host: the membrane's labels and lists;
 * with PatchMatch every scale's labels and lists, and the valid centres and sources of the scales
 * fill_build searched (those it used plus the one that stopped it). The host's block still gives the
 * counts (n_list, n_sources) the steps are sized by; only its 1 byte a pixel of level-0 labels goes up
 * instead of the whole block (issue 14). The row offsets use pm[0].val, free until PatchMatch. */
static p3d_status fill_static_on_device(p3d_ctx *ctx, uint8_t *dev, const fill_plan *pl, const p3d_fill_opts *o,
                                        int patchmatch, int32_t n_pm_layout) {
    p3d_fill_static d;
    memset(&d, 0, sizeof d);
    d.r = o->patch / 2;
    d.scratch = (int64_t)pl->pm[0].val;
    for (int32_t l = 0; l < pl->n_sm; l++)
        d.lv[d.n++] = (p3d_fill_static_level){pl->sm[l].w, pl->sm[l].h, l ? P3D_FILL_STATIC_DOWN : P3D_FILL_STATIC_GIVEN,
                                              l - 1, 0, (int64_t)pl->sm[l].label, (int64_t)pl->sm[l].list, -1, -1};
    const int32_t searched = pl->n_pm + (pl->n_pm < n_pm_layout ? 1 : 0);
    for (int32_t l = 0; patchmatch && l < n_pm_layout; l++) {
        const fill_level *lv = &pl->pm[l];
        d.lv[d.n] = (p3d_fill_static_level){lv->w, lv->h, l ? P3D_FILL_STATIC_DOWN : P3D_FILL_STATIC_COPY,
                                            l ? d.n - 1 : 0, 1, (int64_t)lv->label, (int64_t)lv->list, -1, -1};
        if (l < searched) d.lv[d.n].valid = (int64_t)lv->valid, d.lv[d.n].sources = (int64_t)lv->sources;
        d.n++;
    }
    return p3d_fill_static_build(ctx, dev, &d);
}

/* Fills one patch (n_mask mask pixels) in the workspace dev. Its colours and depths come back to p->rgb /
 * p->depth, or, with out_dev, its mask pixels' are packed at out_dev (context memory, p3d_fill_results_pack)
 * for the caller to fetch with the other patches' in one download. */
static p3d_status fill_patch_run(p3d_ctx *ctx, const p3d_fill_patch *p, int64_t n_mask, const p3d_fill_opts *o,
                                 uint8_t *staging, uint8_t *dev, int patchmatch, uint8_t *out_dev) {
    fill_plan pl;
    fill_layout(&pl, p->w, p->h, o);
    const int32_t n_pm_layout = pl.n_pm;
    fill_build(&pl, p, staging, o, patchmatch);
    fill_trend(&pl, p);
    if (pl.n_pm > 0 && o->offsets) pl.n_off = p3d_fill_dominant_offsets(p, o->seed, pl.off);
    const size_t n0 = (size_t)p->w * (size_t)p->h;
    if (p3d_ctx_cuda(ctx)) {
        /* Up go the level-0 labels and the context pixels' colours (8 bits when they are 8-bit values,
         * as the LDI's are) and depths, packed in the staging block after the labels (fill_host_bytes);
         * the device builds the rest of the static block and unpacks the inputs, 0 off the context
         * (never read, and not copied back: fill_fetch_results). sm_tmp holds the packed inputs and
         * pm[0].val the row offsets until the solve and PatchMatch overwrite them. With p->gather the
         * caller gathers the inputs on the device from its own device data (fill_gather.h: the device
         * LDI) and only the labels go up from here, unless it cannot; with p->gather->inputs the caller
         * makes the labels there too (the same labels as `label`: ldi/'s source rules on the device). */
        int32_t n_ctx = 0, rgb8 = 0, gathered = 0;
        uint8_t *label = staging + pl.sm[0].label;
        int32_t *rows = (int32_t *)(dev + pl.pm[0].val);
        if (p->gather && p->gather->inputs)
            P3D_TRY(p->gather->inputs(p->gather->arg, ctx, dev + pl.sm[0].label, p->w, p->h, dev + pl.sm_tmp,
                                      n0 * 4 * sizeof(float), fill_f32(dev, pl.io_rgb), fill_f32(dev, pl.io_depth),
                                      &gathered));
        if (!gathered) P3D_TRY(p3d_ctx_upload(ctx, dev + pl.sm[0].label, label, n0));
        P3D_TRY(fill_static_on_device(ctx, dev, &pl, o, patchmatch, n_pm_layout));
        if (p->gather && !gathered)
            P3D_TRY(p->gather->run(p->gather->arg, ctx, dev + pl.sm[0].label, p->w, p->h, dev + pl.sm_tmp, rows,
                                   fill_f32(dev, pl.io_rgb), fill_f32(dev, pl.io_depth), &gathered));
        if (!gathered) {
            const size_t packed = p3d_fill_pack(label, p->rgb, p->depth, p->w, p->h, staging + pl.sm[0].list, &n_ctx, &rgb8);
            P3D_TRY(p3d_ctx_upload(ctx, dev + pl.sm_tmp, staging + pl.sm[0].list, packed));
            P3D_TRY(p3d_fill_unpack(ctx, dev + pl.sm[0].label, dev + pl.sm_tmp, n_ctx, rgb8, p->w, p->h, rows,
                                    fill_f32(dev, pl.io_rgb), fill_f32(dev, pl.io_depth)));
        }
    } else {
        P3D_TRY(p3d_ctx_upload(ctx, dev, staging, pl.static_bytes));
        P3D_TRY(p3d_ctx_upload(ctx, dev + pl.io_rgb, p->rgb, n0 * 3 * sizeof(float)));
        P3D_TRY(p3d_ctx_upload(ctx, dev + pl.io_depth, p->depth, n0 * sizeof(float)));
    }
    P3D_TRY(fill_smooth_solve(ctx, dev, &pl, o));
    if (pl.n_pm > 0) P3D_TRY(fill_patchmatch(ctx, dev, &pl, o));
    p3d_fill_step s = fill_step_on(dev, &pl.sm[0], P3D_FILL_OUT, 0);
    memcpy(s.plane, pl.plane, sizeof s.plane);
    s.depth_lo = pl.depth_lo;
    s.depth_hi = pl.depth_hi;
    s.texture = o->texture;
    memcpy(s.rgb_lo, pl.rgb_lo, sizeof s.rgb_lo);
    memcpy(s.rgb_hi, pl.rgb_hi, sizeof s.rgb_hi);
    s.in = pl.n_pm > 0 ? fill_f32(dev, pl.pm[0].val) : NULL;
    s.conf = pl.n_pm > 0 && o->confidence ? fill_f32(dev, pl.conf) : NULL;
    if (pl.n_lp > 1) {
        /* The finished image's low-pass: its pyramid rebuilt from level 0 down to the coarsest level
         * the patch's size allows (not only the scales PatchMatch ran on, which a narrow context
         * cuts short), so the detail is everything finer than a fixed 1 / 2^(n_lp - 1) of the
         * patch; the structure below comes from the diffusion fill. */
        P3D_TRY(fill_pyramid_down(ctx, dev, pl.pm, pl.n_lp, P3D_FILL_PM_DOWN));
        const int32_t L = pl.n_lp - 1;
        s.level = (uint32_t)L;
        s.in3 = fill_f32(dev, pl.pm[L].val);
        s.olabel = dev + pl.pm[L].label;
        s.ow = pl.pm[L].w;
        s.oh = pl.pm[L].h;
    }
    s.in2 = fill_f32(dev, pl.sm[0].val);
    s.out = fill_f32(dev, pl.io_rgb);
    s.out2 = fill_f32(dev, pl.io_depth);
    P3D_TRY(fill_run(ctx, &s));
    if (out_dev)
        return p3d_fill_results_pack(ctx, (const int32_t *)(dev + pl.sm[0].list), n_mask, fill_f32(dev, pl.io_rgb),
                                     fill_f32(dev, pl.io_depth), (float *)out_dev);
    P3D_TRY(p3d_ctx_download(ctx, p->rgb, dev + pl.io_rgb, n0 * 3 * sizeof(float)));
    return p3d_ctx_download(ctx, p->depth, dev + pl.io_depth, n0 * sizeof(float));
}

/* Host staging bytes of a patch: its static block and prefix sums (fill_build), or on a device its
 * level-0 labels then the packed inputs (p3d_fill_pack: at most 12 bytes of colour, rounded up to 16,
 * and 4 of depth a pixel), whichever is larger. */
static size_t fill_host_bytes(const fill_plan *pl) {
    const size_t n0 = (size_t)pl->w * (size_t)pl->h, built = pl->static_bytes + pl->sat_bytes;
    const size_t packed = pl->sm[0].list + P3D_FILL_PACK_DEPTH(n0, 0) + n0 * sizeof(float);
    return built > packed ? built : packed;
}

/* Patches with mask pixels, largest mask first (so the dynamic schedule below ends on small ones);
 * ties keep the caller's order. */
typedef struct fill_job {
    int32_t index;
    int64_t n_mask;
} fill_job;

/* Bytes of one job's results in the shared output block (fill_patch_run's out_dev): its mask pixels'
 * colours and depths (p3d_fill_results_pack), 256-aligned. */
static size_t fill_out_bytes(const fill_job *j) { return (P3D_FILL_RESULT_BYTES(j->n_mask) + 255) & ~(size_t)255; }

static int fill_job_cmp(const void *a, const void *b) {
    const fill_job *x = (const fill_job *)a, *y = (const fill_job *)b;
    if (x->n_mask != y->n_mask) return x->n_mask > y->n_mask ? -1 : 1;
    return (x->index > y->index) - (x->index < y->index);
}

/* Runs the jobs on the CPU, `workers` patches at a time, each worker with its own workspace (`dev`
 * and `staging` blocks of dev_bytes / host_bytes per worker); each patch's steps then run on its
 * worker's thread alone (fill_run_cpu does not nest). A patch's result depends only on the patch,
 * so which worker takes it never matters. */
static p3d_status fill_jobs_cpu(p3d_ctx *ctx, p3d_fill_patch *patches, const fill_job *jobs, int32_t n_jobs,
                                const p3d_fill_opts *opts, int patchmatch, uint8_t *dev, size_t dev_bytes,
                                uint8_t *staging, size_t host_bytes, int32_t workers) {
    p3d_status st = P3D_OK;
    int32_t failed = -1;
#ifdef P3D_HAVE_OPENMP
#pragma omp parallel for schedule(dynamic, 1) num_threads(workers)
#endif
    for (int32_t j = 0; j < n_jobs; j++) {
        int32_t t = 0;
#ifdef P3D_HAVE_OPENMP
        t = (int32_t)omp_get_thread_num();
#endif
        const p3d_status r = fill_patch_run(ctx, &patches[jobs[j].index], jobs[j].n_mask, opts, staging + (size_t)t * host_bytes,
                                            dev + (size_t)t * dev_bytes, patchmatch, NULL);
        if (r != P3D_OK) {
#ifdef P3D_HAVE_OPENMP
#pragma omp critical(p3d_fill_jobs)
#endif
            if (failed < 0 || jobs[j].index < failed) {
                failed = jobs[j].index;
                st = r;
            }
        }
    }
    (void)workers;
    if (st != P3D_OK) return p3d_fail(st, "fill_classic: patch %d failed", (int)failed);
    return P3D_OK;
}

/* The output block (jobs' results in job order, fill_out_bytes each) -> each patch's rgb and depth, with
 * one download. */
static p3d_status fill_fetch_results(p3d_ctx *ctx, p3d_fill_patch *patches, const fill_job *jobs, int32_t n_jobs,
                                     const uint8_t *out_dev, size_t out_bytes) {
    uint8_t *host = (uint8_t *)malloc(out_bytes ? out_bytes : 1);
    if (!host)
        return p3d_fail(P3D_ERR_OOM, "fill_classic: out of memory for the %.1f MB of results", (double)out_bytes / 1e6);
    p3d_status st = p3d_ctx_download(ctx, host, out_dev, out_bytes);
    size_t at = 0;
    /* only the mask came back (the device's other pixels hold 0, p3d_fill_unpack): the caller's are unchanged */
    for (int32_t j = 0; st == P3D_OK && j < n_jobs; j++) {
        p3d_fill_patch *p = &patches[jobs[j].index];
        p3d_fill_results_unpack((const float *)(host + at), jobs[j].n_mask, p->mask, p->w, p->h, p->rgb, p->depth);
        at += fill_out_bytes(&jobs[j]);
    }
    free(host);
    return st;
}

static p3d_status fill_all(p3d_ctx *ctx, p3d_fill_patch *patches, int32_t n, const p3d_fill_opts *opts, int patchmatch) {
    if (n < 0 || (n > 0 && !patches) || !opts)
        return p3d_fail(P3D_ERR_INVALID_ARG, "fill_classic: %d patches at %p, options at %p", (int)n, (void *)patches,
                        (const void *)opts);
    P3D_TRY(fill_check_opts(opts));
    fill_job *jobs = (fill_job *)malloc(((size_t)n + 1) * sizeof *jobs);
    if (!jobs) return p3d_fail(P3D_ERR_OOM, "fill_classic: out of memory for %d patches", (int)n);
    size_t dev_bytes = 0, host_bytes = 0;
    int32_t n_jobs = 0;
    for (int32_t i = 0; i < n; i++) {
        int64_t nm = 0;
        const p3d_status st = fill_check_patch(&patches[i], i, &nm);
        if (st != P3D_OK) {
            free(jobs);
            return st;
        }
        if (nm == 0) continue;
        jobs[n_jobs++] = (fill_job){i, nm};
        fill_plan pl;
        fill_layout(&pl, patches[i].w, patches[i].h, opts);
        if (pl.total_bytes > dev_bytes) dev_bytes = pl.total_bytes;
        if (fill_host_bytes(&pl) > host_bytes) host_bytes = fill_host_bytes(&pl);
    }
    qsort(jobs, (size_t)n_jobs, sizeof *jobs, fill_job_cmp);
    /* Several patches on the CPU: one worker per thread, patches in parallel (many small patches
     * keep both cores busy where a step over one small level would not split). One patch, or a
     * GPU: patches one after the other, each step parallel over its pixels. */
    int32_t workers = 1;
#ifdef P3D_HAVE_OPENMP
    if (!p3d_ctx_cuda(ctx) && n_jobs > 1) workers = (int32_t)omp_get_max_threads();
    if (workers > n_jobs) workers = n_jobs;
#endif
    /* On a device every patch's results are copied, on the device, to their own place in an output
     * block after the workspace, and the block comes back in one download: one host wait for the
     * whole pass instead of two per patch (issue 14). */
    const int on_device = p3d_ctx_cuda(ctx) != NULL;
    size_t out_bytes = 0;
    for (int32_t j = 0; on_device && j < n_jobs; j++) out_bytes += fill_out_bytes(&jobs[j]);
    dev_bytes = (dev_bytes + 255) & ~(size_t)255;
    p3d_status st = n_jobs ? p3d_ctx_scratch_reserve(ctx, dev_bytes * (size_t)workers + out_bytes) : P3D_OK;
    uint8_t *staging = NULL;
    if (st == P3D_OK && n_jobs) {
        staging = (uint8_t *)malloc(host_bytes * (size_t)workers);
        if (!staging)
            st = p3d_fail(P3D_ERR_OOM, "fill_classic: out of memory for a %.1f MB staging block",
                          (double)(host_bytes * (size_t)workers) / 1e6);
    }
    if (st == P3D_OK && n_jobs) {
        size_t have = 0;
        uint8_t *dev = (uint8_t *)p3d_ctx_scratch(ctx, &have);
        if (workers > 1) {
            st = fill_jobs_cpu(ctx, patches, jobs, n_jobs, opts, patchmatch, dev, dev_bytes, staging, host_bytes, workers);
        } else {
            size_t at = 0;
            for (int32_t j = 0; j < n_jobs && st == P3D_OK; j++) {
                p3d_fill_patch *p = &patches[jobs[j].index];
                st = fill_patch_run(ctx, p, jobs[j].n_mask, opts, staging, dev, patchmatch,
                                    on_device ? dev + dev_bytes + at : NULL);
                if (st != P3D_OK) p3d_fail_context(st, "fill_classic: patch %d", (int)jobs[j].index);
                if (on_device && p->gather) p->gather->results = (const float *)(dev + dev_bytes + at);
                if (on_device) at += fill_out_bytes(&jobs[j]);
            }
            if (st == P3D_OK && on_device) st = fill_fetch_results(ctx, patches, jobs, n_jobs, dev + dev_bytes, out_bytes);
        }
    }
    free(staging);
    free(jobs);
    return st;
}

p3d_status p3d_fill_classic(p3d_ctx *ctx, p3d_fill_patch *patches, int32_t n, const p3d_fill_opts *opts) {
    return fill_all(ctx, patches, n, opts, 1);
}

p3d_status p3d_fill_smooth(p3d_ctx *ctx, p3d_fill_patch *patches, int32_t n, const p3d_fill_opts *opts) {
    return fill_all(ctx, patches, n, opts, 0);
}
