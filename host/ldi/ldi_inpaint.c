/* ldi_inpaint.c - patches, batched network calls or the non-learned fill, and write-back into the
 * LDI (ldi_inpaint.h; reference spec 2.15, 2.17, 2.18).
 *
 * Deviations from the reference, each deliberate:
 *   - Path planning (clean_far_edge_new, create_placeholder, refine_depth_around_edge,
 *     refine_color_around_edge: spec 2.17.2-2.17.5, 2.17.8) is replaced by the tear rule: the edge
 *     net's prediction guides the depth and colour nets exactly as in the reference, and the new
 *     layer is then torn wherever its predicted disparity jumps by more than depth_threshold - the
 *     same rule that tore the input layer. The reference's planner turns the predicted edge pixels
 *     into near/far paths with networkx and rotating direction "barrels" and is where most of its
 *     bugs and debugger traps live (quirks 9, 10, 14, 26); the depth net already puts the jump where
 *     the edge is, so the tear lands on the same pixels.
 *   - Colours are rounded, not truncated, when they become uint8 (quirk 16).
 *   - A colour patch that is downscaled keeps its edge guidance (resized with it) instead of an
 *     all-zero edge channel (quirk 4).
 *   - The depth seam smoothing (smooth_cntsyn_gap) does not wrap around the canvas (quirk 11).
 * Kept: the networks' inputs channel by channel (spec 2.17.1), the closed mask (open_small_mask),
 * the zero-mean log depth, the 128-multiple centred zero padding, the colour net's patch-size rule
 * (largest_size), the sigmoid threshold ext_edge_threshold and the edge net's two repeats, the depth
 * placement behind the visible surface (+0.01, then +0.001 behind earlier layers), the provenance
 * labels. */
#include "ldi/ldi_inpaint.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "inpaint/fill_classic.h"
#include "inpaint/fill_gather.h"
#include "io/resize_area.h"
#include "io/resize_cubic.h"
#include "ldi/ldi_gather_math.h"
#include "ldi/ldi_math.h"
#include "ldi/ldi_sources_math.h"

/* Pixels of all patches processed together: bounds the host memory of one chunk of regions. */
#define P3D_INPAINT_CHUNK_PIXELS (16 * 1024 * 1024)
/* The non-learned fill's membrane weight of vertical neighbours on disocclusion patches (classic_stage). */
#define P3D_INPAINT_ROW_CROSS 0.04f
/* Padded pixels of one batched network call (N * hp * wp): bounds activation memory. */
#define P3D_INPAINT_BATCH_PIXELS (4 * 1024 * 1024)

/* One region (or border strip) cropped out of the canvas. Maps are (h, w), row-major. */
typedef struct patch {
    int32_t x0, y0, w, h; /* crop in canvas pixels */
    int32_t id;           /* edge id; -1 for a border strip */
    uint8_t *ctx;         /* context for the edge and depth nets: C u E (known depth) */
    uint8_t *cctx;        /* context for colour: C (E is re-coloured) */
    uint8_t *mask;        /* S: pixels that get a new node */
    uint8_t *erode;       /* E: context pixels whose colour is re-synthesised */
    uint8_t *synth;       /* the non-learned fill: context pixels whose node is the extrapolated border's
                             (mark_synthetic) */
    int32_t *node;        /* context node at a ctx pixel, the covering node at a mask pixel, or -1 */
    float *depth;         /* known depth on ctx; predicted depth on mask after the fill */
    float *occ;           /* depth of the node in front of each mask pixel (the occluder), 0 elsewhere
                             and on border strips */
    float *rgb;           /* (h, w, 3) in [0, 1]: known on cctx; synthesised on mask | erode */
    float *edge;          /* context edges in; after the edge net: the edge channel used downstream */
    int32_t used_edge;    /* the edge net ran on this patch (edge_occlusion) */
    p3d_ldi_src_moments fg; /* the non-learned fill: the occluder's colour moments (the nodes in front
                               of the mask pixels; ldi_sources_math.h) */
    const float *results_dev; /* on a device: the non-learned fill's results of the mask pixels there
                                 (p3d_fill_gather.results), or NULL */
    void *mem;            /* one allocation holding every map */
} patch;

static void patch_free(patch *p) {
    free(p->mem);
    memset(p, 0, sizeof *p);
}

static p3d_status patch_alloc(patch *p, int32_t x0, int32_t y0, int32_t w, int32_t h, int32_t id) {
    memset(p, 0, sizeof *p);
    size_t n = (size_t)w * (size_t)h;
    size_t bytes = n * 5 + n * sizeof(int32_t) + n * sizeof(float) * 6 + 64;
    uint8_t *blk = (uint8_t *)calloc(1, bytes);
    if (!blk) return p3d_fail(P3D_ERR_OOM, "inpainting: out of memory for a %dx%d patch", (int)w, (int)h);
    p->mem = blk;
    p->x0 = x0, p->y0 = y0, p->w = w, p->h = h, p->id = id;
    /* floats and ints first, for alignment */
    p->depth = (float *)blk;
    p->rgb = p->depth + n;
    p->edge = p->rgb + 3 * n;
    p->occ = p->edge + n;
    p->node = (int32_t *)(p->occ + n);
    p->ctx = (uint8_t *)(p->node + n);
    p->cctx = p->ctx + n;
    p->mask = p->cctx + n;
    p->erode = p->mask + n;
    p->synth = p->erode + n;
    for (size_t i = 0; i < n; i++) p->node[i] = -1;
    return P3D_OK;
}

/* ---- morphology: the reference's open_small_mask (spec 2.17.1) -------------------------------- */

/* out = 1 where the (2r+1)^2 box around a pixel (clipped to the patch) holds a 1 (dilate) or holds
 * no 0 (erode): OpenCV's border values for dilate / erode leave the outside out of the decision.
 * Separable: rows, then columns, with running sums. tmp: w * h bytes. */
static void box_morph(const uint8_t *in, uint8_t *out, uint8_t *tmp, int32_t w, int32_t h, int32_t r, int32_t dilate) {
    for (int32_t y = 0; y < h; y++) {
        const uint8_t *row = in + (size_t)y * w;
        int32_t cnt = 0; /* ones (dilate) or zeros (erode) in the window */
        for (int32_t x = 0; x < r && x < w; x++) cnt += dilate ? row[x] : !row[x];
        for (int32_t x = 0; x < w; x++) {
            if (x + r < w) cnt += dilate ? row[x + r] : !row[x + r];
            if (x - r - 1 >= 0) cnt -= dilate ? row[x - r - 1] : !row[x - r - 1];
            tmp[(size_t)y * w + x] = (uint8_t)(dilate ? cnt > 0 : cnt == 0);
        }
    }
    for (int32_t x = 0; x < w; x++) {
        int32_t cnt = 0;
        for (int32_t y = 0; y < r && y < h; y++) cnt += dilate ? tmp[(size_t)y * w + x] : !tmp[(size_t)y * w + x];
        for (int32_t y = 0; y < h; y++) {
            if (y + r < h) cnt += dilate ? tmp[(size_t)(y + r) * w + x] : !tmp[(size_t)(y + r) * w + x];
            if (y - r - 1 >= 0) cnt -= dilate ? tmp[(size_t)(y - r - 1) * w + x] : !tmp[(size_t)(y - r - 1) * w + x];
            out[(size_t)y * w + x] = (uint8_t)(dilate ? cnt > 0 : cnt == 0);
        }
    }
}

/* open_small_mask(mask, context, 3, 41): v = mask | context, closed 3 times with a 41 x 41 box; the
 * closed pixels that are not context join the mask (unknown gaps next to the hole become hole).
 * out (w * h) may not alias the inputs. Returns 0 on allocation failure. */
static int32_t closed_mask(const uint8_t *mask, const uint8_t *ctx, int32_t w, int32_t h, uint8_t *out) {
    size_t n = (size_t)w * h;
    uint8_t *v = (uint8_t *)malloc(n * 3);
    if (!v) return 0;
    uint8_t *a = v + n, *tmp = v + 2 * n;
    for (size_t i = 0; i < n; i++) v[i] = mask[i] | ctx[i];
    for (int32_t k = 0; k < 3; k++) {
        box_morph(v, a, tmp, w, h, 20, 1);
        box_morph(a, v, tmp, w, h, 20, 0);
    }
    for (size_t i = 0; i < n; i++) out[i] = (uint8_t)(mask[i] | (v[i] & !ctx[i]));
    free(v);
    return 1;
}

/* ---- batched network calls -------------------------------------------------------------------- */

/* One patch's call: planar inputs (C_i, h, w) in forward_3P order, output (Cout, h, w). */
typedef struct net_item {
    int32_t h, w;
    const float *arg[P3D_INPAINT_MAX_ARGS];
    float *out;
} net_item;

typedef struct item_order {
    int64_t hp, wp;
    int32_t index;
} item_order;

static int cmp_order(const void *a, const void *b) {
    const item_order *x = (const item_order *)a, *y = (const item_order *)b;
    if (x->hp != y->hp) return x->hp < y->hp ? -1 : 1;
    if (x->wp != y->wp) return x->wp < y->wp ? -1 : 1;
    return (x->index > y->index) - (x->index < y->index);
}

/* Runs net on every item: items of equal padded size go through one forward_3p call (up to
 * P3D_INPAINT_BATCH_PIXELS padded pixels), each placed as forward_3P places a single patch
 * (centred, zeros around), so batching changes nothing in the result. */
static p3d_status run_net(p3d_inpaint_net *net, net_item *items, int32_t n, int32_t *calls) {
    if (n == 0) return P3D_OK;
    p3d_inpaint_kind kind = p3d_inpaint_net_kind(net);
    int32_t nargs = p3d_inpaint_arg_count(kind), cout = p3d_inpaint_net_out_channels(net), cin = 0;
    for (int32_t i = 0; i < nargs; i++) cin += p3d_inpaint_arg_channels(kind, i);
    item_order *ord = (item_order *)malloc((size_t)n * sizeof *ord);
    if (!ord) return p3d_fail(P3D_ERR_OOM, "inpainting: out of memory");
    for (int32_t i = 0; i < n; i++) {
        int64_t top, left;
        p3d_inpaint_padded_size(net, items[i].h, items[i].w, &ord[i].hp, &ord[i].wp, &top, &left);
        ord[i].index = i;
    }
    qsort(ord, (size_t)n, sizeof *ord, cmp_order);
    p3d_status st = P3D_OK;
    for (int32_t g0 = 0; g0 < n && st == P3D_OK;) {
        int64_t hp = ord[g0].hp, wp = ord[g0].wp, plane = hp * wp;
        int32_t cap = (int32_t)(P3D_INPAINT_BATCH_PIXELS / plane);
        if (cap < 1) cap = 1;
        int32_t g1 = g0;
        while (g1 < n && g1 - g0 < cap && ord[g1].hp == hp && ord[g1].wp == wp) g1++;
        int32_t nb = g1 - g0;
        float *buf = (float *)calloc((size_t)nb * (size_t)(cin + cout) * (size_t)plane, sizeof *buf);
        if (!buf) {
            st = p3d_fail(P3D_ERR_OOM, "inpainting: out of memory for a batch of %d x %lldx%lld", (int)nb,
                          (long long)hp, (long long)wp);
            break;
        }
        p3d_tensor targ[P3D_INPAINT_MAX_ARGS], tout;
        const p3d_tensor *args[P3D_INPAINT_MAX_ARGS];
        float *base = buf;
        for (int32_t a = 0; a < nargs; a++) {
            int32_t c = p3d_inpaint_arg_channels(kind, a);
            for (int32_t k = 0; k < nb; k++) {
                const net_item *it = &items[ord[g0 + k].index];
                int64_t top, left, h2, w2;
                p3d_inpaint_padded_size(net, it->h, it->w, &h2, &w2, &top, &left);
                for (int32_t ch = 0; ch < c; ch++)
                    for (int32_t y = 0; y < it->h; y++)
                        memcpy(base + (((size_t)k * c + ch) * (size_t)hp + (size_t)(top + y)) * (size_t)wp + (size_t)left,
                               it->arg[a] + ((size_t)ch * it->h + y) * (size_t)it->w, (size_t)it->w * sizeof(float));
            }
            int64_t shape[4] = {nb, c, hp, wp};
            targ[a] = p3d_tensor_view(base, P3D_F32, P3D_MEM_HOST, 4, shape);
            args[a] = &targ[a];
            base += (size_t)nb * c * (size_t)plane;
        }
        int64_t oshape[4] = {nb, cout, hp, wp};
        tout = p3d_tensor_view(base, P3D_F32, P3D_MEM_HOST, 4, oshape);
        st = p3d_inpaint_net_plan(net, nb, hp, wp);
        if (st == P3D_OK) st = p3d_inpaint_net_forward_3p(net, args, nargs, &tout);
        if (st == P3D_OK) {
            (*calls)++;
            for (int32_t k = 0; k < nb; k++) {
                net_item *it = &items[ord[g0 + k].index];
                int64_t top, left, h2, w2;
                p3d_inpaint_padded_size(net, it->h, it->w, &h2, &w2, &top, &left);
                for (int32_t ch = 0; ch < cout; ch++)
                    for (int32_t y = 0; y < it->h; y++)
                        memcpy(it->out + ((size_t)ch * it->h + y) * (size_t)it->w,
                               base + (((size_t)k * cout + ch) * (size_t)hp + (size_t)(top + y)) * (size_t)wp + (size_t)left,
                               (size_t)it->w * sizeof(float));
            }
        }
        free(buf);
        g0 = g1;
    }
    free(ord);
    return st;
}

/* ---- the three stages of the learned fill ---------------------------------------------------- */

/* require_depth_edge: an edge pixel in the 3x3 window of a mask pixel. */
static int32_t edge_near_mask(const patch *p) {
    for (int32_t y = 0; y < p->h; y++)
        for (int32_t x = 0; x < p->w; x++) {
            if (!p->mask[(size_t)y * p->w + x]) continue;
            for (int32_t dy = -1; dy <= 1; dy++)
                for (int32_t dx = -1; dx <= 1; dx++) {
                    int32_t xx = x + dx, yy = y + dy;
                    if (xx >= 0 && yy >= 0 && xx < p->w && yy < p->h && p->edge[(size_t)yy * p->w + xx] > 0) return 1;
                }
        }
    return 0;
}

/* Per-patch planes for the network inputs, freed together. */
typedef struct planes {
    float **buf;
    int32_t n;
} planes;

static void planes_free(planes *pl) {
    if (pl->buf)
        for (int32_t i = 0; i < pl->n; i++) free(pl->buf[i]);
    free(pl->buf);
    memset(pl, 0, sizeof *pl);
}

static p3d_status planes_alloc(planes *pl, int32_t n, const size_t *floats) {
    pl->n = n;
    pl->buf = (float **)calloc((size_t)n + 1, sizeof *pl->buf);
    if (!pl->buf) return p3d_fail(P3D_ERR_OOM, "inpainting: out of memory");
    for (int32_t i = 0; i < n; i++)
        if (!(pl->buf[i] = (float *)calloc(floats[i] ? floats[i] : 1, sizeof(float)))) {
            planes_free(pl);
            return p3d_fail(P3D_ERR_OOM, "inpainting: out of memory for network inputs");
        }
    return P3D_OK;
}

/* Edge net (spec 2.17 loop A, iteration 0): inputs rgb and disparity on the context, the context's
 * edges, context, mask; output sigmoid > ext_edge_threshold inside the mask plus the context edges.
 * With repeat_inpaint_edge the net runs twice more on its own output. Planes per patch: mask, ctx,
 * rgb (3), disp, edge, out, edge_in (7 * h * w + 2 more). */
static p3d_status edge_stage(p3d_inpaint_net *net, patch **ps, int32_t n, const p3d_ldi_opts *o,
                             p3d_ldi_inpaint_stats *st) {
    patch **sel = (patch **)malloc(((size_t)n + 1) * sizeof *sel);
    if (!sel) return p3d_fail(P3D_ERR_OOM, "inpainting: out of memory");
    int32_t ns = 0;
    for (int32_t i = 0; i < n; i++)
        if (edge_near_mask(ps[i])) sel[ns++] = ps[i];
    size_t *sz = (size_t *)malloc(((size_t)ns + 1) * sizeof *sz);
    net_item *items = (net_item *)calloc((size_t)ns + 1, sizeof *items);
    planes pl = {0};
    p3d_status s = sz && items ? P3D_OK : p3d_fail(P3D_ERR_OOM, "inpainting: out of memory");
    if (s == P3D_OK) {
        for (int32_t i = 0; i < ns; i++) sz[i] = (size_t)sel[i]->w * sel[i]->h * 9;
        s = planes_alloc(&pl, ns, sz);
    }
    for (int32_t i = 0; s == P3D_OK && i < ns; i++) {
        patch *p = sel[i];
        size_t m = (size_t)p->w * p->h;
        float *b = pl.buf[i], *mask = b, *ctx = b + m, *rgb = b + 2 * m, *disp = b + 5 * m, *edge = b + 6 * m;
        float *out = b + 7 * m, *edge_in = b + 8 * m;
        for (size_t k = 0; k < m; k++) {
            mask[k] = p->mask[k];
            ctx[k] = p->ctx[k];
            for (int32_t c = 0; c < 3; c++) rgb[c * m + k] = p->ctx[k] ? p->rgb[3 * k + c] : 0.0f;
            disp[k] = p->ctx[k] ? 1.0f / p->depth[k] : 0.0f;
            edge[k] = edge_in[k] = p->ctx[k] ? p->edge[k] : 0.0f;
        }
        items[i] = (net_item){p->h, p->w, {mask, ctx, rgb, disp, edge}, out};
    }
    int32_t rounds = o->repeat_inpaint_edge ? 3 : 1;
    for (int32_t r = 0; s == P3D_OK && r < rounds; r++) {
        s = run_net(net, items, ns, &st->net_calls[0]);
        for (int32_t i = 0; s == P3D_OK && i < ns; i++) {
            patch *p = sel[i];
            size_t m = (size_t)p->w * p->h;
            float *b = pl.buf[i], *edge = b + 6 * m, *out = b + 7 * m, *edge_in = b + 8 * m;
            for (size_t k = 0; k < m; k++) {
                float v = (out[k] > o->ext_edge_threshold && p->mask[k] ? 1.0f : 0.0f) + edge_in[k];
                edge[k] = v > 1.0f ? 1.0f : v;
            }
        }
    }
    for (int32_t i = 0; s == P3D_OK && i < ns; i++) {
        patch *p = sel[i];
        size_t m = (size_t)p->w * p->h;
        memcpy(p->edge, pl.buf[i] + 6 * m, m * sizeof(float));
        p->used_edge = 1;
    }
    st->batches_items[0] += ns * rounds;
    planes_free(&pl);
    free(items), free(sz), free(sel);
    return s;
}

/* smooth_cntsyn_gap (spec 2.17.4): two Jacobi passes replacing each mask pixel's depth by the mean
 * of its known (context or mask) 4-neighbours; the patch border does not wrap (quirk 11 fixed). */
static p3d_status smooth_gap(patch *p) {
    size_t m = (size_t)p->w * p->h;
    float *prev = (float *)malloc(m * sizeof *prev);
    if (!prev) return p3d_fail(P3D_ERR_OOM, "inpainting: out of memory");
    for (int32_t pass = 0; pass < 2; pass++) {
        memcpy(prev, p->depth, m * sizeof *prev);
        for (int32_t y = 0; y < p->h; y++)
            for (int32_t x = 0; x < p->w; x++) {
                size_t i = (size_t)y * p->w + x;
                if (!p->mask[i]) continue;
                float sum = 0;
                int32_t cnt = 0;
                for (int32_t d = 0; d < 4; d++) {
                    int32_t xx = x + p3d_dir_dx(d), yy = y + p3d_dir_dy(d);
                    if (xx < 0 || yy < 0 || xx >= p->w || yy >= p->h) continue;
                    size_t j = (size_t)yy * p->w + xx;
                    if (p->ctx[j] || p->mask[j]) sum += prev[j], cnt++;
                }
                if (cnt) p->depth[i] = sum / (float)cnt;
            }
    }
    free(prev);
    return P3D_OK;
}

/* Depth net (spec 2.17.4): zero-mean log depth on the context, the edge channel, context, closed
 * mask; prediction exp(out + mean) inside the mask. Planes: mask, ctx, zm, edge, out. */
static p3d_status depth_stage(p3d_inpaint_net *net, patch **ps, int32_t n, p3d_ldi_inpaint_stats *st) {
    size_t *sz = (size_t *)malloc(((size_t)n + 1) * sizeof *sz);
    net_item *items = (net_item *)calloc((size_t)n + 1, sizeof *items);
    float *means = (float *)calloc((size_t)n + 1, sizeof *means);
    planes pl = {0};
    p3d_status s = sz && items && means ? P3D_OK : p3d_fail(P3D_ERR_OOM, "inpainting: out of memory");
    if (s == P3D_OK) {
        for (int32_t i = 0; i < n; i++) sz[i] = (size_t)ps[i]->w * ps[i]->h * 5 + (size_t)ps[i]->w * ps[i]->h / 4 + 1;
        s = planes_alloc(&pl, n, sz);
    }
    for (int32_t i = 0; s == P3D_OK && i < n; i++) {
        patch *p = ps[i];
        size_t m = (size_t)p->w * p->h;
        float *b = pl.buf[i], *mask = b, *ctx = b + m, *zm = b + 2 * m, *edge = b + 3 * m, *out = b + 4 * m;
        uint8_t *closed = (uint8_t *)(b + 5 * m); /* m bytes inside the extra quarter plane */
        if (!closed_mask(p->mask, p->ctx, p->w, p->h, closed)) s = p3d_fail(P3D_ERR_OOM, "inpainting: out of memory");
        double sum = 0;
        int64_t cnt = 0;
        for (size_t k = 0; k < m; k++)
            if (p->ctx[k]) sum += log((double)p->depth[k] + 1e-8), cnt++;
        float mean = cnt ? (float)(sum / (double)cnt) : 0.0f;
        means[i] = mean;
        for (size_t k = 0; k < m; k++) {
            mask[k] = closed[k];
            ctx[k] = p->ctx[k];
            zm[k] = p->ctx[k] ? logf(p->depth[k] + 1e-8f) - mean : 0.0f;
            edge[k] = p->edge[k];
        }
        items[i] = (net_item){p->h, p->w, {mask, ctx, zm, edge, NULL}, out};
    }
    if (s == P3D_OK) s = run_net(net, items, n, &st->net_calls[1]);
    for (int32_t i = 0; s == P3D_OK && i < n; i++) {
        patch *p = ps[i];
        size_t m = (size_t)p->w * p->h;
        const float *out = pl.buf[i] + 4 * m;
        for (size_t k = 0; k < m; k++)
            if (p->mask[k]) p->depth[k] = expf(out[k] + means[i]);
        s = smooth_gap(p);
    }
    st->batches_items[1] += n;
    planes_free(&pl);
    free(items), free(sz), free(means);
    return s;
}

/* The colour net's patch size (spec 2.17.6): scale so the area is about largest_size^2 with the
 * longer side a multiple of 128; never upscaled (1 = full size). */
static double colour_frac(int32_t h, int32_t w, int32_t largest) {
    double init = (double)largest / sqrt((double)h * (double)w);
    int32_t mx = h > w ? h : w;
    double m = (double)mx * init;
    double frac = floor(m / 128.0) * 128.0 / (double)mx;
    return frac < 1.0 ? frac : 1.0;
}

static p3d_status area_resize(const float *src, int32_t c, int32_t h, int32_t w, float *dst, int32_t h2, int32_t w2) {
    int64_t ss[3] = {c, h, w}, ds[3] = {c, h2, w2};
    p3d_tensor ts = p3d_tensor_view((void *)src, P3D_F32, P3D_MEM_HOST, 3, ss);
    p3d_tensor td = p3d_tensor_view(dst, P3D_F32, P3D_MEM_HOST, 3, ds);
    return p3d_resize_area_cpu(&ts, &td, P3D_RESIZE_CHW);
}

/* Colour net (spec 2.17.6): rgb on the colour context C, the edge channel, C, the closed mask of
 * S u E. Large patches run downscaled (area) and come back bicubic, as the reference. Planes per
 * patch: full size mask, ctx, rgb (3), edge; net size mask, ctx, rgb (3), edge, out (3), closed. */
static p3d_status colour_stage(p3d_inpaint_net *net, patch **ps, int32_t n, const p3d_ldi_opts *o,
                               p3d_ldi_inpaint_stats *st) {
    size_t *sz = (size_t *)malloc(((size_t)n + 1) * sizeof *sz);
    net_item *items = (net_item *)calloc((size_t)n + 1, sizeof *items);
    int32_t *dims = (int32_t *)calloc(2 * (size_t)n + 2, sizeof *dims);
    planes pl = {0};
    p3d_status s = sz && items && dims ? P3D_OK : p3d_fail(P3D_ERR_OOM, "inpainting: out of memory");
    for (int32_t i = 0; s == P3D_OK && i < n; i++) {
        double frac = colour_frac(ps[i]->h, ps[i]->w, o->largest_size);
        int32_t h2 = frac < 1.0 ? (int32_t)floor(ps[i]->h * frac) : ps[i]->h;
        int32_t w2 = frac < 1.0 ? (int32_t)floor(ps[i]->w * frac) : ps[i]->w;
        dims[2 * i] = h2 > 0 ? h2 : 1;
        dims[2 * i + 1] = w2 > 0 ? w2 : 1;
        sz[i] = (size_t)ps[i]->w * ps[i]->h * 6 + (size_t)dims[2 * i] * dims[2 * i + 1] * 11;
    }
    if (s == P3D_OK) s = planes_alloc(&pl, n, sz);
    for (int32_t i = 0; s == P3D_OK && i < n; i++) {
        patch *p = ps[i];
        int32_t h2 = dims[2 * i], w2 = dims[2 * i + 1];
        size_t m = (size_t)p->w * p->h, m2 = (size_t)h2 * w2;
        float *b = pl.buf[i], *fm = b, *fc = b + m, *frgb = b + 2 * m, *fe = b + 5 * m;
        float *nm = b + 6 * m, *nc = nm + m2, *nrgb = nc + m2, *ne = nrgb + 3 * m2, *out = ne + m2;
        uint8_t *closed = (uint8_t *)(out + 3 * m2), *um = closed + m2, *uc = um + m2;
        for (size_t k = 0; k < m; k++) {
            fm[k] = (float)(p->mask[k] | p->erode[k]);
            fc[k] = p->cctx[k];
            for (int32_t c = 0; c < 3; c++) frgb[c * m + k] = p->cctx[k] ? p->rgb[3 * k + c] : 0.0f;
            fe[k] = p->edge[k];
        }
        if (m2 == m) {
            memcpy(nm, fm, 6 * m * sizeof(float));
        } else {
            /* mask and context: area fractions; new mask = any hole, new context = all context */
            s = area_resize(fm, 2, p->h, p->w, nm, h2, w2);
            if (s == P3D_OK) s = area_resize(frgb, 3, p->h, p->w, nrgb, h2, w2);
            if (s == P3D_OK) s = area_resize(fe, 1, p->h, p->w, ne, h2, w2);
            for (size_t k = 0; s == P3D_OK && k < m2; k++) {
                float mk = nm[k] > 0 ? 1.0f : 0.0f, ck = nc[k] >= 1.0f && !(mk > 0) ? 1.0f : 0.0f;
                nm[k] = mk, nc[k] = ck;
                for (int32_t c = 0; c < 3; c++) nrgb[c * m2 + k] *= ck;
                ne[k] = ne[k] > 0 ? 1.0f : 0.0f; /* quirk 4 fixed: the edges stay */
            }
        }
        for (size_t k = 0; k < m2; k++) um[k] = nm[k] > 0, uc[k] = nc[k] > 0;
        if (s == P3D_OK && !closed_mask(um, uc, w2, h2, closed)) s = p3d_fail(P3D_ERR_OOM, "inpainting: out of memory");
        /* the closed mask goes to the net in a plane of its own: reuse fm (full size >= net size) */
        for (size_t k = 0; k < m2; k++) fm[k] = closed[k];
        items[i] = (net_item){h2, w2, {fm, nc, nrgb, ne, NULL}, out};
    }
    if (s == P3D_OK) s = run_net(net, items, n, &st->net_calls[2]);
    for (int32_t i = 0; s == P3D_OK && i < n; i++) {
        patch *p = ps[i];
        int32_t h2 = dims[2 * i], w2 = dims[2 * i + 1];
        size_t m = (size_t)p->w * p->h, m2 = (size_t)h2 * w2;
        float *b = pl.buf[i], *nm = b + 6 * m, *nc = nm + m2, *nrgb = nc + m2, *ne = nrgb + 3 * m2, *out = ne + m2;
        for (size_t k = 0; k < m2; k++)
            for (int32_t c = 0; c < 3; c++) out[c * m2 + k] = nm[k] > 0 ? out[c * m2 + k] : nrgb[c * m2 + k];
        if (m2 == m) {
            for (size_t k = 0; k < m; k++)
                if (p->mask[k] | p->erode[k])
                    for (int32_t c = 0; c < 3; c++) p->rgb[3 * k + c] = out[c * m + k];
            continue;
        }
        /* back to full size: bicubic of the 8-bit result (F.interpolate bicubic in the reference) */
        uint8_t *u8 = (uint8_t *)malloc(m2 * 3);
        double *up = (double *)malloc(m * 3 * sizeof *up);
        double *scratch = (double *)malloc(p3d_resize_cubic_scratch(p->w, 3) * sizeof *scratch);
        if (!u8 || !up || !scratch) s = p3d_fail(P3D_ERR_OOM, "inpainting: out of memory");
        for (size_t k = 0; s == P3D_OK && k < m2; k++)
            for (int32_t c = 0; c < 3; c++) {
                float v = out[c * m2 + k] * 255.0f + 0.5f;
                u8[3 * k + c] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
            }
        if (s == P3D_OK) s = p3d_resize_cubic_u8(u8, w2, h2, 3, 255.0, up, p->w, p->h, scratch);
        for (size_t k = 0; s == P3D_OK && k < m; k++)
            if (p->mask[k] | p->erode[k])
                for (int32_t c = 0; c < 3; c++) {
                    double v = up[3 * k + c];
                    p->rgb[3 * k + c] = (float)(v < 0 ? 0 : v > 1 ? 1 : v);
                }
        free(u8), free(up), free(scratch);
    }
    st->batches_items[2] += n;
    planes_free(&pl);
    free(items), free(sz), free(dims);
    return s;
}

/* Where two grown surfaces meet inside the mask (extend_depth), a pixel nearer than a 4-neighbour by
 * more than thr and at most 2 thr in disparity takes the mean of the two disparities (the farthest
 * such neighbour's): it is then within thr of both and the write-back's tear rule joins them through
 * it. Growth from two sides of a band brings two background surfaces together along a seam; where
 * they are one slanted or curved background seen at two places (a wall at 1.48 and 1.53 either side of
 * a thin object on Middlebury cones at 960 px, the sky behind moon's astronaut at 0.18 and 0.23) the
 * seam was a step just over thr, a tear in the hidden layer, and a view moved sideways saw through
 * it. One pixel can join a step of at most 2 thr; larger steps are two surfaces and stay torn. Each
 * pixel's new value reads only the grown depths (val, kept unchanged), so the order is free.
 * grown: (h, w) 1 where extend_depth gave a mask pixel its depth; val: (h, w) those depths. */
static void bridge_depth(patch *p, const uint8_t *grown, const float *val, float thr) {
    for (int32_t y = 0; y < p->h; y++)
        for (int32_t x = 0; x < p->w; x++) {
            const size_t k = (size_t)y * p->w + x;
            if (!p->mask[k] || !grown[k]) continue;
            const float dk = 1.0f / val[k];
            float far = dk;
            for (int32_t d = 0; d < 4; d++) {
                const int32_t xx = x + p3d_dir_dx(d), yy = y + p3d_dir_dy(d);
                if (xx < 0 || yy < 0 || xx >= p->w || yy >= p->h) continue;
                const size_t j = (size_t)yy * p->w + xx;
                if (!p->mask[j] || !grown[j]) continue;
                const float dj = 1.0f / val[j];
                if (dk - dj > thr && dk - dj <= 2.0f * thr && dj < far) far = dj;
            }
            if (far < dk) p->depth[k] = 2.0f / (dk + far);
        }
}

/* The non-learned fill's depth (background-only, edge-preserving): rings of breadth-first growth
 * from the known depth (the context C u E) into the mask; a ring pixel takes, among its already
 * known 4-neighbours, the farthest depth and the mean of those within depth_threshold of it (in
 * disparity). A smooth membrane would blend two background surfaces of different depth into a ramp
 * that the tear rule then cuts at every pixel; this keeps each surface's depth and leaves one sharp
 * step where they meet, preferring the farther surface where both reach a pixel (the hidden side of
 * an occlusion is background); a step of at most twice depth_threshold is one background and is
 * joined through one pixel (bridge_depth). Mask pixels the growth cannot reach keep the fill's value.
 * from: (h, w) the pixels it grows from (the fill's sources); known: (h, w) depth, valid where p->ctx.
 * Returns 0 on allocation failure. */
static int32_t extend_depth(patch *p, const uint8_t *from, const float *known, float thr) {
    size_t m = (size_t)p->w * p->h;
    uint8_t *have = (uint8_t *)malloc(m);
    int32_t *ring = (int32_t *)malloc(m * sizeof *ring);
    float *val = (float *)malloc(m * sizeof *val);
    if (!have || !ring || !val) {
        free(have), free(ring), free(val);
        return 0;
    }
    for (size_t k = 0; k < m; k++) {
        have[k] = from[k];
        val[k] = from[k] ? known[k] : 0.0f;
    }
    for (;;) {
        int32_t n = 0;
        for (int32_t y = 0; y < p->h; y++)
            for (int32_t x = 0; x < p->w; x++) {
                size_t k = (size_t)y * p->w + x;
                if (!p->mask[k] || have[k]) continue;
                float far = 0;
                for (int32_t d = 0; d < 4; d++) {
                    int32_t xx = x + p3d_dir_dx(d), yy = y + p3d_dir_dy(d);
                    if (xx < 0 || yy < 0 || xx >= p->w || yy >= p->h) continue;
                    size_t j = (size_t)yy * p->w + xx;
                    if (have[j] && val[j] > far) far = val[j];
                }
                if (far > 0) ring[n++] = (int32_t)k, p->depth[k] = far;
            }
        if (n == 0) break;
        /* the ring's values, from the rings before it only (order independent) */
        for (int32_t i = 0; i < n; i++) {
            int32_t k = ring[i], x = k % p->w, y = k / p->w, cnt = 0;
            float far = p->depth[k], sum = 0;
            for (int32_t d = 0; d < 4; d++) {
                int32_t xx = x + p3d_dir_dx(d), yy = y + p3d_dir_dy(d);
                if (xx < 0 || yy < 0 || xx >= p->w || yy >= p->h) continue;
                size_t j = (size_t)yy * p->w + xx;
                if (have[j] && p3d_ldi_joined(val[j], far, thr)) sum += val[j], cnt++;
            }
            p->depth[k] = sum / (float)cnt;
        }
        for (int32_t i = 0; i < n; i++) have[ring[i]] = 1, val[ring[i]] = p->depth[ring[i]];
    }
    bridge_depth(p, have, val, thr);
    for (size_t k = 0; k < m; k++)
        if (p->ctx[k]) p->depth[k] = known[k];
    free(have), free(ring), free(val);
    return 1;
}

/* Support (p3d_ldi_src_supported, P3D_LDI_SRC_SUP): the context pixels with a 4-neighbour in the context on
 * the same surface (within thr in disparity). An unsupported context pixel is a pixel of the depth map's own edge
 * whose depth lies between the two surfaces (a resampled or blurred map's ramp, one pixel wide at a
 * silhouette): torn from both sides, it belongs to neither. As a source it was the only one on its
 * row when its neighbours along the row are other edges' context, and extend_depth's row-by-row
 * growth carried its in-between depth across the whole hidden band: moon at 960 px, left of the
 * helmet, single rows at depths 3.1, 3.4, 3.5 and 6.0 between rows of sky at 8.5-9.6, each row torn
 * from the next (a one-row seam without geometry in a view moved 2 cm). Without it those rows grow
 * from the rows above and below. */

/* The occluder's own surface (P3D_LDI_SRC_FG; p3d_ldi_src_seed, p3d_ldi_src_grow_pair): the foreground wrapping round
 * an end of the mask, which the region growth can reach as context (ldi_regions.c grows the context
 * round a mask that stopped). Seeds: context pixels 4-adjacent to a mask pixel and not behind that
 * pixel's occluder (p->occ) by more than thr; grown through context pixels joined (within thr in
 * disparity) to a marked 4-neighbour and not behind the farthest occluder of the patch by more than
 * thr (the bound keeps a background that touches the occluder somewhere, a foot on the ground,
 * from being taken whole). Moon at 960 px, left of the helmet: the suit below a hidden band behind
 * the suit was context there, it set the seam (the nearest surface next to the mask), and the depth
 * growth carried the suit's depth 0.516 up through the band (a flat grey block moving with the suit
 * in a view moved 2 cm); one of its pixels at the silhouette's steep slope was behind its occluder
 * by 0.0015 more than thr, hence the growth. Border strips (no occluder) mark nothing.
 * The host floods from the seeds with a stack; the device iterates the growth rule to its fixed point
 * (cuda/ldi/ldi_sources.cu): both give the seeds' reach. stack: (h * w) scratch. */
static void occluder_side(uint8_t *f, const float *depth, const float *occ, int32_t w, int32_t h, float thr,
                          int32_t *stack) {
    float far = 0.0f; /* the farthest disparity of the occluder pixels next to a seed */
    int32_t top = 0;
    for (int32_t y = 0; y < h; y++)
        for (int32_t x = 0; x < w; x++) {
            float seed_far;
            if (!p3d_ldi_src_seed(f, depth, occ, w, h, x, y, thr, &seed_far)) continue;
            f[(size_t)y * w + x] |= P3D_LDI_SRC_FG;
            stack[top++] = y * w + x;
            if (far == 0.0f || seed_far < far) far = seed_far;
        }
    while (top > 0) {
        const int32_t k = stack[--top], x = k % w, y = k / w;
        for (int32_t d = 0; d < 4; d++) {
            const int32_t xx = x + p3d_dir_dx(d), yy = y + p3d_dir_dy(d);
            if (xx < 0 || yy < 0 || xx >= w || yy >= h) continue;
            const size_t j = (size_t)yy * w + xx;
            if ((f[j] & (P3D_LDI_SRC_CTX | P3D_LDI_SRC_FG)) != P3D_LDI_SRC_CTX ||
                !p3d_ldi_src_grow_pair(depth[j], depth[k], far, thr))
                continue;
            f[j] |= P3D_LDI_SRC_FG;
            stack[top++] = (int32_t)j;
        }
    }
}

/* The non-learned fill's sources (issue 15): the context pixels a hidden layer may copy colour and
 * depth from. Only the background side of the edge, per pixel:
 *   - depth: a context pixel nearer (in disparity) than the nearest pixel of the seam (the context
 *     pixels 4-adjacent to the mask: the surface the hidden layer continues) by more than thr is
 *     another object in front of that surface, reached around the edge through smooth links: left out;
 *   - colour: a context pixel of the erosion ring next to the edge (where the photo mixes foreground
 *     and background across the edge's few blurred pixels) is left out when its colour is likelier
 *     under the occluder's colour statistics (fg: diagonal Gaussian of the nodes in front of the
 *     mask) than under the rest of the context's; every other ring pixel is a source like any
 *     background pixel. The ring's nodes keep their photo colour either way (the networks' erosion
 *     repaints them; a patch-copying fill would only damage the photo).
 *   - neither: a context pixel on the occluder's own surface (occluder_side), which also gives no seam.
 * Falls back to the whole context when nothing is left (a patch with no seam). The rules, per pixel,
 * are ldi_sources_math.h's; the device runs them too (cuda/ldi/ldi_sources.cu).
 *
   The colour sources (P3D_LDI_SRC_CSRC, p3d_ldi_src_colour) of an edge's patch: the sources less the seam, the source
 * pixels 4-adjacent to the mask. A seam pixel is the photo's pixel on the depth edge itself: it
 * images both surfaces (the lens, the sensor's demosaicing, the resampling to the processing size
 * blend the occluder into it), so it is the background's colour only in part, and the statistical
 * test of classic_sources keeps it whenever the blend is still likelier background than foreground.
 * The structure pass extends what it is given along the rows (P3D_INPAINT_ROW_CROSS), so a tinted
 * seam tints the whole hidden band: on Middlebury cones (tools/stereo_quality, disoccluded pixels
 * inside the frame) leaving the seam out gives 17.28 dB instead of 16.83 at 960 px and 17.26 instead
 * of 16.95 at 450 px (the stretch: 15.36, 15.34); mirrored pair 18.19 instead of 17.21 and 17.90
 * instead of 17.55. The cost: the first hidden pixel shows through the half pixel the foreground's
 * mesh leaves uncovered at its outline, so the photo at its own camera is 0.7-0.8 dB further from the
 * input (960 px: 37.93 -> 37.27 dB; resampling alone moves with it, no photo node is recoloured). A
 * two-pixel seam gave 17.31 dB at 960 px, no better. The seam keeps its photo colour and still gives
 * the depth (extend_depth): only its colour is not copied. Border strips keep theirs (their seam is the image side, not a depth
 * edge), and so does a patch whose sources are all seam.
 * The extrapolated border (p->synth: context nodes of the border stage) is no colour source either
 * while the photo's own sources number at least P3D_LDI_SRC_MIN_REAL: PatchMatch starts the band from
 * the structure pass's smooth colours, and the smooth extrapolated border matched that start better
 * than the real texture did, so the band behind the sample's pillar copied the border's blur (pale
 * mortar courses, no brick joints) although 40 columns of real bricks lay beside it. An earlier
 * pass's bands stay sources: without them a band in moon's sky behind the backpack kept only a few
 * real pixels of the backpack's outline and copied a white stroke into the sky. */
int32_t p3d_ldi_sources(uint8_t *f, const float *depth, const float *occ, const float *rgb, int32_t w, int32_t h,
                        int32_t id, float thr, const p3d_ldi_src_moments *fg) {
    const size_t m = (size_t)w * h;
    int32_t *stack = (int32_t *)malloc((m + 1) * sizeof *stack);
    if (!stack) return 0;
    p3d_ldi_src_sums s;
    p3d_ldi_src_sums_init(&s);
    s.fg = *fg;
    occluder_side(f, depth, occ, w, h, thr, stack);
    free(stack);
    float seam = 0.0f;
    for (int32_t y = 0; y < h; y++)
        for (int32_t x = 0; x < w; x++) {
            const size_t k = (size_t)y * w + x;
            if (!p3d_ldi_src_supported(f, depth, w, h, x, y, thr)) continue;
            f[k] |= P3D_LDI_SRC_SUP;
            if (!(f[k] & P3D_LDI_SRC_ERODE)) {
                uint8_t c[3];
                p3d_ldi_src_u8(rgb, (int64_t)k, c);
                p3d_ldi_src_moments_add(&s.bg, c);
            }
            const float sd = p3d_ldi_src_seam(f, depth, w, h, x, y);
            if (sd > seam) seam = sd;
        }
    p3d_ldi_src_test t;
    p3d_ldi_src_test_make(&s, &t);
    int64_t kept = 0, real = 0, ckept = 0;
    for (size_t k = 0; k < m; k++)
        if (p3d_ldi_src_keep(f, depth, rgb, (int64_t)k, seam, thr, &t)) f[k] |= P3D_LDI_SRC_SRC, kept++;
    for (size_t k = 0; k < m; k++) {
        if (kept == 0 && (f[k] & P3D_LDI_SRC_CTX)) f[k] |= P3D_LDI_SRC_SRC;
        real += id >= 0 && (f[k] & (P3D_LDI_SRC_SRC | P3D_LDI_SRC_SYNTH)) == P3D_LDI_SRC_SRC;
    }
    for (int32_t y = 0; y < h; y++)
        for (int32_t x = 0; x < w; x++) {
            int32_t kp = 0;
            if (p3d_ldi_src_colour(f, w, h, x, y, id, real >= P3D_LDI_SRC_MIN_REAL, &kp)) f[(size_t)y * w + x] |= P3D_LDI_SRC_CSRC;
            ckept += kp;
        }
    for (size_t k = 0; k < m && ckept == 0; k++)
        if (f[k] & P3D_LDI_SRC_SRC) f[k] |= P3D_LDI_SRC_CSRC;
    return 1;
}

/* The crop's input flags of p (ldi_sources_math.h): context, erosion ring, mask, the border's nodes. */
static void patch_flags(const patch *p, uint8_t *f) {
    for (size_t k = 0; k < (size_t)p->w * p->h; k++)
        f[k] = (uint8_t)((p->ctx[k] ? P3D_LDI_SRC_CTX : 0) | (p->erode[k] ? P3D_LDI_SRC_ERODE : 0) |
                         (p->mask[k] ? P3D_LDI_SRC_MASK : 0) | (p->synth[k] ? P3D_LDI_SRC_SYNTH : 0));
}

/* p's sources src and colour sources csrc (h, w each) by p3d_ldi_sources; f: (h, w) scratch. Returns 0 on
 * allocation failure. */
static int32_t classic_sources(const patch *p, float thr, uint8_t *f, uint8_t *src, uint8_t *csrc) {
    patch_flags(p, f);
    if (!p3d_ldi_sources(f, p->depth, p->occ, p->rgb, p->w, p->h, p->id, thr, &p->fg)) return 0;
    for (size_t k = 0; k < (size_t)p->w * p->h; k++) {
        src[k] = (f[k] & P3D_LDI_SRC_SRC) != 0;
        csrc[k] = (f[k] & P3D_LDI_SRC_CSRC) != 0;
    }
    return 1;
}

#ifdef P3D_HAVE_CUDA
/* The non-learned fill's inputs of one patch made on the device from the device LDI (issue 14,
 * p3d_fill_gather). inputs_on_device: up goes one byte a patch pixel, its crop flags and its node's
 * layer (p3d_ldi_src_code), or half a byte when every pixel's fits (p3d_ldi_src_nibble); the device
 * reads the nodes' colours and depths and runs the source rules (cuda/ldi/ldi_sources.cu, the rules
 * of ldi_sources_math.h that classic_sources runs here), so the fill's labels do not go up. When it cannot (a node deeper than P3D_LDI_SRC_MAX_LAYER), the labels go
 * up and gather_on_device sends the layer bytes of the context pixels only (ldi_gather_math.h,
 * cuda/ldi/ldi_gather.cu). With P3D_LDI_RESIDENT_CHECK=1 the device's labels and inputs are
 * downloaded and compared with the host's. */
typedef struct patch_gather {
    const p3d_ldi *l;
    const patch *p;
    const uint8_t *context; /* (h, w) the fill's context (its labels' P3D_FILL_CONTEXT) */
    float thr;
    p3d_fill_gather hook;
} patch_gather;

/* The gathered inputs against the host's crop: p's colours and depths on the context, 0 elsewhere;
 * with label (device, else NULL) the device's labels against the host's too. */
static p3d_status gather_check(p3d_ctx *ctx, const patch_gather *g, const uint8_t *label, const float *rgb,
                               const float *depth) {
    const patch *p = g->p;
    const size_t m = (size_t)p->w * p->h;
    float *host = (float *)malloc(m * 4 * sizeof(float) + m);
    if (!host) return p3d_fail(P3D_ERR_OOM, "inpainting: out of memory for the gather check");
    uint8_t *hl = (uint8_t *)(host + 4 * m);
    p3d_status s = p3d_ctx_download(ctx, host, rgb, m * 3 * sizeof(float));
    if (s == P3D_OK) s = p3d_ctx_download(ctx, host + 3 * m, depth, m * sizeof(float));
    if (s == P3D_OK && label) s = p3d_ctx_download(ctx, hl, label, m);
    for (size_t k = 0; s == P3D_OK && label && k < m; k++) {
        const uint8_t want = g->context[k] ? P3D_FILL_CONTEXT : p->mask[k] ? P3D_FILL_MASK : P3D_FILL_UNKNOWN;
        if (hl[k] != want)
            s = p3d_fail(P3D_ERR_DEVICE, "inpainting: the device's fill label %d of patch pixel (%d, %d) at canvas (%d, %d) "
                         "differs from the host's %d", (int)hl[k], (int)(k % (size_t)p->w), (int)(k / (size_t)p->w),
                         (int)p->x0, (int)p->y0, (int)want);
    }
    for (size_t k = 0; s == P3D_OK && k < m; k++) {
        const int in = g->context[k] != 0;
        int same = host[3 * m + k] == (in ? p->depth[k] : 0.0f);
        for (int32_t c = 0; c < 3; c++) same &= host[3 * k + c] == (in ? p->rgb[3 * k + c] : 0.0f);
        if (!same)
            s = p3d_fail(P3D_ERR_DEVICE, "inpainting: the device's gathered input of patch pixel (%d, %d) at canvas (%d, %d) "
                         "differs from the host's crop", (int)(k % (size_t)p->w), (int)(k / (size_t)p->w), (int)p->x0,
                         (int)p->y0);
    }
    free(host);
    return s;
}

static p3d_status gather_on_device(void *arg, p3d_ctx *ctx, const uint8_t *label, int32_t w, int32_t h, uint8_t *tmp,
                                   int32_t *rows, float *rgb, float *depth, int32_t *done) {
    const patch_gather *g = (const patch_gather *)arg;
    const patch *p = g->p;
    const p3d_ldi *l = g->l;
    *done = 0;
    if (!p3d_ctx_cuda(ctx) || w != p->w || h != p->h) return P3D_OK;
    const size_t m = (size_t)w * h;
    uint8_t *layers = (uint8_t *)malloc(m + 1);
    if (!layers) return p3d_fail(P3D_ERR_OOM, "inpainting: out of memory for a %dx%d patch's layers", (int)w, (int)h);
    size_t n = 0;
    for (size_t k = 0; k < m; k++) {
        if (!g->context[k]) continue;
        const int64_t pix = (int64_t)(p->y0 + (int32_t)(k / (size_t)w)) * l->ext_w + p->x0 + (int32_t)(k % (size_t)w);
        const int32_t layer = p->node[k] >= 0 ? p3d_ldi_node_layer(l->head, l->next, pix, p->node[k]) : -1;
        if (layer < 0 || layer > P3D_LDI_GATHER_MAX_LAYER) { /* not a node of its pixel's list: upload instead */
            free(layers);
            return P3D_OK;
        }
        layers[n++] = (uint8_t)layer;
    }
    p3d_status s = n ? p3d_ctx_upload(ctx, tmp, layers, n) : P3D_OK;
    if (s == P3D_OK) s = p3d_ldi_gather_cuda(p3d_ctx_cuda(ctx), l, p->x0, p->y0, w, h, label, tmp, rows, rgb, depth, done);
    free(layers);
    const char *check = getenv("P3D_LDI_RESIDENT_CHECK");
    if (s == P3D_OK && *done && check && check[0] == '1') s = gather_check(ctx, g, NULL, rgb, depth);
    return s;
}

static p3d_status inputs_on_device(void *arg, p3d_ctx *ctx, uint8_t *label, int32_t w, int32_t h, uint8_t *tmp,
                                   size_t tmp_bytes, float *rgb, float *depth, int32_t *done) {
    const patch_gather *g = (const patch_gather *)arg;
    const patch *p = g->p;
    const p3d_ldi *l = g->l;
    *done = 0;
    if (!p3d_ctx_cuda(ctx) || w != p->w || h != p->h) return P3D_OK;
    const size_t m = (size_t)w * h;
    uint8_t *code = (uint8_t *)malloc(m + 1);
    if (!code) return p3d_fail(P3D_ERR_OOM, "inpainting: out of memory for a %dx%d patch's codes", (int)w, (int)h);
    patch_flags(p, code);
    int32_t nibbles = 1;
    for (size_t k = 0; k < m; k++) {
        int32_t layer = -1;
        if ((code[k] & (P3D_LDI_SRC_CTX | P3D_LDI_SRC_MASK)) && p->node[k] >= 0) {
            const int64_t pix = (int64_t)(p->y0 + (int32_t)(k / (size_t)w)) * l->ext_w + p->x0 + (int32_t)(k % (size_t)w);
            layer = p3d_ldi_node_layer(l->head, l->next, pix, p->node[k]);
            if (layer < 0 || layer > P3D_LDI_SRC_MAX_LAYER) { /* not in its pixel's list, or too deep: the labels go up */
                free(code);
                return P3D_OK;
            }
        }
        code[k] = p3d_ldi_src_code(code[k], layer);
        nibbles &= p3d_ldi_src_nibble(code[k]) >= 0;
    }
    for (size_t k = 0; nibbles && k < m; k += 2) /* in place: byte k / 2 is read before it is written */
        code[k / 2] = (uint8_t)(p3d_ldi_src_nibble(code[k]) | (k + 1 < m ? p3d_ldi_src_nibble(code[k + 1]) << 4 : 0));
    p3d_status s = p3d_ldi_sources_gather_cuda(p3d_ctx_cuda(ctx), l, p->x0, p->y0, w, h, p->id, g->thr, code, nibbles,
                                               tmp, tmp_bytes, label, rgb, depth, done);
    free(code);
    const char *check = getenv("P3D_LDI_RESIDENT_CHECK");
    if (s == P3D_OK && *done && check && check[0] == '1') s = gather_check(ctx, g, label, rgb, depth);
    return s;
}
#endif

/* The non-learned fill: colour from the background-side sources (classic_sources; PatchMatch draws
 * from all of them, as the networks see the whole context - a narrower band starves the coarse
 * scales of whole source patches and the fill falls back to a smear), depth grown from the same
 * sources (extend_depth). Only the mask is synthesised; context pixels keep their colour. On a device
 * each patch's inputs are gathered there from the device LDI l (gather_on_device). */
static p3d_status classic_stage(p3d_ctx *ctx, const p3d_ldi *l, patch **ps, int32_t n, float thr) {
    p3d_fill_patch *fp = (p3d_fill_patch *)calloc((size_t)n + 1, sizeof *fp);
#ifdef P3D_HAVE_CUDA
    patch_gather *gs = (patch_gather *)calloc((size_t)n + 1, sizeof *gs);
    if (!gs) {
        free(fp);
        return p3d_fail(P3D_ERR_OOM, "inpainting: out of memory");
    }
#else
    (void)l;
#endif
    uint8_t **srcs = (uint8_t **)calloc((size_t)n + 1, sizeof *srcs);
    uint8_t **csrcs = (uint8_t **)calloc((size_t)n + 1, sizeof *csrcs);
    float **known = (float **)calloc((size_t)n + 1, sizeof *known);
    p3d_status s = fp && srcs && csrcs && known ? P3D_OK : p3d_fail(P3D_ERR_OOM, "inpainting: out of memory");
    for (int32_t i = 0; s == P3D_OK && i < n; i++) {
        patch *p = ps[i];
        size_t m = (size_t)p->w * p->h;
        if (!(srcs[i] = (uint8_t *)malloc(3 * m)) || !(known[i] = (float *)malloc(m * sizeof(float)))) {
            s = p3d_fail(P3D_ERR_OOM, "inpainting: out of memory");
            break;
        }
        csrcs[i] = srcs[i] + m;
        if (!classic_sources(p, thr, srcs[i] + 2 * m, srcs[i], csrcs[i])) {
            s = p3d_fail(P3D_ERR_OOM, "inpainting: out of memory");
            break;
        }
        memcpy(known[i], p->depth, m * sizeof(float));
        for (size_t k = 0; k < m; k++)
            if (!srcs[i][k] && !p->mask[k]) p->rgb[3 * k] = p->rgb[3 * k + 1] = p->rgb[3 * k + 2] = 0.0f;
        fp[i] = (p3d_fill_patch){p->w, p->h, csrcs[i], p->mask, p->rgb, p->depth, NULL};
#ifdef P3D_HAVE_CUDA
        if (p3d_ctx_cuda(ctx)) {
            gs[i] = (patch_gather){l, p, csrcs[i], thr, {gather_on_device, &gs[i], NULL, inputs_on_device}};
            fp[i].gather = &gs[i].hook;
        }
#endif
    }
    p3d_fill_opts fo = p3d_fill_opts_default();
    /* A disocclusion opens along the camera's parallax, which for the usual sideways move runs
     * along the rows: its hidden background continues the background beside it on the same row
     * (a wall's mortar courses, a floor's tile rows, a stripe), so the structure pass weighs the
     * vertical neighbours far less (P3D_INPAINT_ROW_CROSS). Measured with tools/stereo_quality on
     * cones (and on cones mirrored, right view meshed), disoccluded pixels inside the frame: 0.02,
     * 0.04, 0.1 and 0.25 score within 0.1 dB; 0.02 and 0.04 carry the sample's mortar courses across
     * the band behind its pillar, 0.1 does not; 0.02 lets a band below the sample's ball take the
     * dark floor beside it along the row (tests/test_fill_bands.c fails). The border strips stay
     * isotropic: they open outward on every side, and rows made cones' outside-the-frame pixels
     * 0.4 dB worse. */
    if (n > 0 && ps[0]->id >= 0) fo.cross = P3D_INPAINT_ROW_CROSS;
    if (s == P3D_OK) s = p3d_fill_classic(ctx, fp, n, &fo);
#ifdef P3D_HAVE_CUDA
    for (int32_t i = 0; s == P3D_OK && i < n; i++) ps[i]->results_dev = p3d_ctx_cuda(ctx) ? gs[i].hook.results : NULL;
#endif
    for (int32_t i = 0; s == P3D_OK && i < n; i++)
        if (!extend_depth(ps[i], srcs[i], known[i], thr)) s = p3d_fail(P3D_ERR_OOM, "inpainting: out of memory");
    for (int32_t i = 0; i < n && srcs; i++) free(srcs[i]);
    for (int32_t i = 0; i < n && known; i++) free(known[i]);
    free(srcs), free(csrcs), free(fp), free(known);
#ifdef P3D_HAVE_CUDA
    free(gs);
#endif
    return s;
}

/* Runs the fill chosen by nets over the patches of l: learned (edge net where allowed, depth, colour)
 * or classic. */
static p3d_status fill_patches(p3d_ctx *ctx, const p3d_ldi_nets *nets, const p3d_ldi *l, patch **ps, int32_t n,
                               int32_t use_edge_net, const p3d_ldi_opts *o, p3d_ldi_inpaint_stats *st) {
    if (n == 0) return P3D_OK;
    if (!nets || !nets->depth) return classic_stage(ctx, l, ps, n, o->depth_threshold);
    if (use_edge_net) P3D_TRY(edge_stage(nets->edge, ps, n, o, st));
    P3D_TRY(depth_stage(nets->depth, ps, n, st));
    return colour_stage(nets->color, ps, n, o, st);
}

/* ---- write-back ------------------------------------------------------------------------------- */

static uint8_t to_u8(float v) { return p3d_ldi_colour_u8(v); }

/* Adds the node for mask pixel k of patch p behind the pixel's existing layers; returns its id in
 * p->node[k]. */
static p3d_status add_behind(p3d_ldi *l, patch *p, size_t k, uint8_t label, uint8_t iter) {
    int32_t x = p->x0 + (int32_t)(k % (size_t)p->w), y = p->y0 + (int32_t)(k / (size_t)p->w);
    float layers[64];
    int32_t nl = 0;
    for (int32_t c = l->head[y * l->ext_w + x]; c >= 0 && nl < 64; c = l->next[c]) layers[nl++] = l->depth[c];
    float d = nl ? p3d_ldi_behind(p->depth[k], layers[0], layers, nl) : p->depth[k];
    if (!(d > 0) || !isfinite(d)) d = nl ? layers[nl - 1] + 0.01f : 1.0f;
    for (int32_t c = l->head[y * l->ext_w + x]; c >= 0; c = l->next[c])
        if (l->depth[c] == d) d = nextafterf(d, INFINITY); /* list is sorted: later equal keys move on too */
    uint8_t rgb[3] = {to_u8(p->rgb[3 * k]), to_u8(p->rgb[3 * k + 1]), to_u8(p->rgb[3 * k + 2])};
    int32_t id;
    P3D_TRY(p3d_ldi_add_node(l, x, y, d, rgb, label, iter, &id));
    p->node[k] = id;
    return P3D_OK;
}

/* Links a new node (patch pixel k, already added) to the context nodes at its 4-adjacent patch
 * pixels where both sides are free (spec 2.17.3: placeholders link to their context unconditionally;
 * the depth net has already made the seam continuous). */
static void link_context(p3d_ldi *l, const patch *p, size_t k) {
    int32_t x = (int32_t)(k % (size_t)p->w), y = (int32_t)(k / (size_t)p->w), a = p->node[k];
    for (int32_t d = 0; d < 4; d++) {
        int32_t xx = x + p3d_dir_dx(d), yy = y + p3d_dir_dy(d);
        if (xx < 0 || yy < 0 || xx >= p->w || yy >= p->h) continue;
        size_t j = (size_t)yy * p->w + xx;
        int32_t b = p->node[j];
        if (!p->ctx[j] || b < 0) continue;
        if (l->link[4 * (size_t)a + d] >= 0 || l->link[4 * (size_t)b + p3d_dir_opposite(d)] >= 0) continue;
        p3d_ldi_link(l, a, d, b);
    }
}

/* Joins nodes [first, l->n_nodes) with their 4-neighbours among the nodes of the given iteration by
 * the tear rule, where both link slots are free. Ascending node id, fixed direction order:
 * deterministic. */
static void link_new(p3d_ldi *l, int32_t first, uint8_t iter, float thr) {
    for (int32_t a = first; a < l->n_nodes; a++)
        for (int32_t d = 0; d < 4; d++) {
            const int32_t b = p3d_ldi_new_link_target(l, a, d, iter, thr);
            if (b >= 0) p3d_ldi_link(l, a, d, b);
        }
}

/* The masks of a pass's patches in the write-back's order (p3d_ldi_pass_masks), grown patch by patch
 * for the device, which finds the new nodes' pixels from them; ok = 0 once an allocation failed (the
 * pixels then go up as they are). */
typedef struct pass_masks {
    p3d_ldi_pass_masks m;
    int32_t *box, cap;
    int64_t *at, cap_bytes;
    uint8_t *bits;
    int32_t ok;
} pass_masks;

static void pass_masks_add(pass_masks *pm, const patch *p) {
    const int64_t area = (int64_t)p->w * p->h, bytes = (area + 7) / 8, at = pm->m.n ? pm->at[pm->m.n] : 0;
    if (!pm->ok) return;
    if (pm->m.n + 1 >= pm->cap) {
        const int32_t cap = 2 * pm->cap + 16;
        int32_t *box = (int32_t *)realloc(pm->box, (size_t)cap * 4 * sizeof *box);
        if (box) pm->box = box;
        int64_t *ats = box ? (int64_t *)realloc(pm->at, ((size_t)cap + 1) * sizeof *ats) : NULL;
        if (ats) pm->at = ats, pm->cap = cap;
        else pm->ok = 0;
    }
    if (pm->ok && at + bytes > pm->cap_bytes) {
        const int64_t cap = 2 * (at + bytes) + 4096;
        uint8_t *bits = (uint8_t *)realloc(pm->bits, (size_t)cap);
        if (bits) pm->bits = bits, pm->cap_bytes = cap;
        else pm->ok = 0;
    }
    if (!pm->ok) return;
    int32_t *b = pm->box + 4 * pm->m.n;
    b[0] = p->x0, b[1] = p->y0, b[2] = p->w, b[3] = p->h;
    memset(pm->bits + at, 0, (size_t)bytes);
    for (int64_t k = 0; k < area; k++)
        if (p->mask[k]) pm->bits[at + k / 8] |= (uint8_t)(1u << (k % 8));
    pm->at[0] = 0;
    pm->at[++pm->m.n] = at + bytes;
    pm->m.box = pm->box, pm->m.at = pm->at, pm->m.bits = pm->bits;
}

static void pass_masks_free(pass_masks *pm) {
    free(pm->box), free(pm->at), free(pm->bits);
    memset(pm, 0, sizeof *pm);
}

/* ---- hidden layers: one patch per region ------------------------------------------------------ */

/* Crop of each edge's regions: the bounding box of its mask and context nodes grown by crop_dilate
 * (the reference's union_size), clipped to the canvas. box: 4 per edge (x0, y0, x1, y1 exclusive). */
static void region_boxes(const p3d_ldi *l, const p3d_ldi_regions *r, int32_t grow, int32_t *box) {
    for (int32_t e = 0; e < r->n_edges; e++) box[4 * e] = box[4 * e + 1] = INT32_MAX, box[4 * e + 2] = box[4 * e + 3] = -1;
    for (int32_t a = 0; a < r->n_nodes; a++) {
        int32_t ids[2] = {r->mask_edge[a], r->ctx_edge[a]};
        for (int32_t t = 0; t < 2; t++) {
            int32_t e = ids[t];
            if (e < 0) continue;
            int32_t x = p3d_ldi_x(l, a), y = p3d_ldi_y(l, a), *b = box + 4 * e;
            if (x < b[0]) b[0] = x;
            if (y < b[1]) b[1] = y;
            if (x > b[2]) b[2] = x;
            if (y > b[3]) b[3] = y;
        }
    }
    for (int32_t e = 0; e < r->n_edges; e++) {
        int32_t *b = box + 4 * e;
        if (b[2] < 0) continue;
        b[0] = b[0] - grow > 0 ? b[0] - grow : 0;
        b[1] = b[1] - grow > 0 ? b[1] - grow : 0;
        b[2] = b[2] + grow + 1 < l->ext_w ? b[2] + grow + 1 : l->ext_w;
        b[3] = b[3] + grow + 1 < l->ext_h ? b[3] + grow + 1 : l->ext_h;
    }
}

/* Pixel k of p becomes context from node a: its node, erosion flag, depth and colour in [0, 1]. */
static void set_context(const p3d_ldi *l, const p3d_ldi_regions *r, patch *p, size_t k, int32_t a) {
    p->ctx[k] = 1;
    p->node[k] = a;
    p->erode[k] = r->erode[a];
    p->cctx[k] = !r->erode[a];
    p3d_ldi_gather_px(l->rgb, l->depth, a, p->rgb + 3 * k, p->depth + k);
}

/* The edge channel at a context pixel of edge id's patch showing node a: 1 on a near-side edge pixel
 * of ANOTHER edge (the reference's filter_irrelevant_edge_new keeps those that touch this edge; keeping
 * all of them only adds real discontinuities of the context). */
static float context_edge(const p3d_ldi_edges *e, int32_t a, int32_t id) {
    const int32_t eid = a < e->n_nodes ? e->edge[a] : -1;
    return eid >= 0 && eid != id && e->near[eid] ? 1.0f : 0.0f;
}

/* The context pixels of p that border its mask show the node behind the occluder (p3d_ldi_seam_node):
 * each pixel's choice reads only the mask's maps, which it does not change, so the order is free. */
static void seam_behind(const p3d_ldi *l, const p3d_ldi_edges *e, const p3d_ldi_regions *r, patch *p, float thr) {
    for (int32_t y = 0; y < p->h; y++)
        for (int32_t x = 0; x < p->w; x++) {
            const size_t k = (size_t)y * p->w + x;
            if (!p->ctx[k]) continue;
            float disp_far = INFINITY;
            for (int32_t d = 0; d < 4; d++) {
                const int32_t xx = x + p3d_dir_dx(d), yy = y + p3d_dir_dy(d);
                if (xx < 0 || yy < 0 || xx >= p->w || yy >= p->h) continue;
                const size_t j = (size_t)yy * p->w + xx;
                if (p->mask[j] && 1.0f / p->occ[j] < disp_far) disp_far = 1.0f / p->occ[j];
            }
            if (disp_far == INFINITY) continue;
            const int64_t pix = (int64_t)(y + p->y0) * l->ext_w + (x + p->x0);
            const int32_t a = p3d_ldi_seam_node(l->head, l->next, l->depth, r->ctx_edge, r->n_nodes, pix, p->id,
                                                p->node[k], disp_far, thr);
            if (a == p->node[k]) continue;
            set_context(l, r, p, k, a);
            p->edge[k] = context_edge(e, a, p->id);
        }
}

/* Fills the maps of the patches of edges [e0, e1) (slot[e] = index into ps, -1 when the edge has no
 * patch) from one sweep over the nodes. Context first, then the mask, which wins where a pixel has
 * a node of each (different layers); where the context holds several nodes of a pixel the nearest
 * shows, except next to the mask (seam_behind). The edge channel: context_edge. */
static void fill_region_maps(const p3d_ldi *l, const p3d_ldi_edges *e, const p3d_ldi_regions *r, patch *ps,
                             const int32_t *slot, int32_t e0, int32_t e1, float thr) {
    for (int32_t a = 0; a < r->n_nodes; a++) {
        int32_t id = r->ctx_edge[a];
        if (id < e0 || id >= e1 || slot[id] < 0) continue;
        patch *p = &ps[slot[id]];
        size_t k = (size_t)(p3d_ldi_y(l, a) - p->y0) * p->w + (size_t)(p3d_ldi_x(l, a) - p->x0);
        if (p->ctx[k] && l->depth[p->node[k]] <= l->depth[a]) continue; /* nearest context node wins */
        set_context(l, r, p, k, a);
        p->edge[k] = context_edge(e, a, id);
    }
    for (int32_t a = 0; a < r->n_nodes; a++) {
        int32_t id = r->mask_edge[a];
        if (id < e0 || id >= e1 || slot[id] < 0) continue;
        patch *p = &ps[slot[id]];
        size_t k = (size_t)(p3d_ldi_y(l, a) - p->y0) * p->w + (size_t)(p3d_ldi_x(l, a) - p->x0);
        p->mask[k] = 1;
        p->ctx[k] = p->cctx[k] = p->erode[k] = 0;
        p->node[k] = a;
        p->depth[k] = 0;
        p->occ[k] = l->depth[a];
        p->edge[k] = 0;
        p->rgb[3 * k] = p->rgb[3 * k + 1] = p->rgb[3 * k + 2] = 0;
    }
    for (int32_t id = e0; id < e1; id++)
        if (slot[id] >= 0) seam_behind(l, e, r, &ps[slot[id]], thr);
}

/* p->synth = context pixels whose node is the extrapolated border's (colour_sources). */
static void mark_synthetic(const p3d_ldi *l, patch *p) {
    for (size_t k = 0; k < (size_t)p->w * p->h; k++)
        p->synth[k] = p->ctx[k] && p->node[k] >= 0 && l->label[p->node[k]] == P3D_LABEL_BORDER;
}

/* The non-learned fill's context beyond its own edge's: every pixel of p's crop that is neither its
 * context nor its mask takes the nearest node there that is some other edge's context and no edge's
 * mask (the reference's extended context, spec 2.16 step 8). A node is one edge's context only (the
 * smallest id claims it), so a background beside two edges reaches only one of them: moon at 960 px,
 * the band behind the suit left of the helmet (canvas rows 250-270) had the ground beside it claimed
 * by the suit's left edge, no source on its rows, and the row-wise structure pass left it a flat
 * grey block. What this adds is filtered like the rest (classic_sources: the seam, the occluder's
 * own surface). The networks keep the reference's context. */
static void extend_context(const p3d_ldi *l, const p3d_ldi_regions *r, patch *p) {
    for (int32_t y = 0; y < p->h; y++)
        for (int32_t x = 0; x < p->w; x++) {
            const size_t k = (size_t)y * p->w + x;
            if (p->ctx[k] || p->mask[k]) continue;
            int32_t a = l->head[(size_t)(y + p->y0) * l->ext_w + (x + p->x0)];
            for (; a >= 0; a = l->next[a])
                if (a < r->n_nodes && r->ctx_edge[a] >= 0 && r->mask_edge[a] < 0) break;
            if (a < 0) continue;
            set_context(l, r, p, k, a);
        }
}

/* p->fg: the colour moments of the nodes covering p's mask pixels (the occluder). */
static void occluder_stats(const p3d_ldi *l, patch *p) {
    for (size_t k = 0; k < (size_t)p->w * p->h; k++)
        if (p->mask[k] && p->node[k] >= 0) p3d_ldi_src_moments_add(&p->fg, l->rgb + 3 * (size_t)p->node[k]);
}

p3d_status p3d_ldi_inpaint_pass(p3d_ctx *ctx, const p3d_ldi_nets *nets, p3d_ldi *l, const p3d_ldi_edges *e,
                                const p3d_ldi_regions *r, int32_t pass, const p3d_ldi_opts *o,
                                p3d_ldi_inpaint_stats *st) {
    int32_t ne = r->n_edges;
    int32_t *box = (int32_t *)malloc(((size_t)ne + 1) * 4 * sizeof *box);
    int32_t *slot = (int32_t *)malloc(((size_t)ne + 1) * sizeof *slot);
    patch *ps = (patch *)calloc((size_t)ne + 1, sizeof *ps);
    patch **pp = (patch **)calloc((size_t)ne + 1, sizeof *pp);
    if (!box || !slot || !ps || !pp) {
        free(box), free(slot), free(ps), free(pp);
        return p3d_fail(P3D_ERR_OOM, "inpainting: out of memory for %d regions", (int)ne);
    }
    region_boxes(l, r, o->crop_dilate, box);
    const int32_t learned = nets && nets->depth;
    int32_t first_new = l->n_nodes;
#ifdef P3D_HAVE_CUDA
    /* a later pass reads the device LDI: it takes the host's edits so far, so that after the write-back
     * only this pass's nodes are new there (the last pass's nodes stay on the host: nothing reads them
     * on the device) */
    const int32_t on_device = ctx && p3d_ctx_cuda(ctx) && pass + 1 < o->passes;
    if (on_device) {
        p3d_status s0 = p3d_ldi_cuda_resident_sync(p3d_ctx_cuda(ctx), l);
        if (s0 != P3D_OK) {
            free(box), free(slot), free(ps), free(pp);
            return s0;
        }
    }
#endif
    uint8_t iter = (uint8_t)(pass + 1);
    p3d_status s = P3D_OK;
    /* The new nodes' colours where the fill left them on the device (one run of nodes per patch, in
     * the order of the write-back): the device takes them from there (p3d_ldi_pass_nodes_cuda). Only
     * with one chunk of regions: a later chunk's fill reuses the scratch that holds them. */
    p3d_ldi_colour_run *runs = (p3d_ldi_colour_run *)malloc(((size_t)ne + 1) * sizeof *runs);
    int32_t n_runs = 0, runs_ok = runs != NULL, chunks = 0;
    /* and their pixels as the patches' masks (p3d_ldi_pass_nodes_cuda) */
    pass_masks masks;
    memset(&masks, 0, sizeof masks);
    masks.ok = 1;
    /* Chunks of regions in edge order, each at most P3D_INPAINT_CHUNK_PIXELS of patches (one region
     * larger than that is a chunk of its own). */
    for (int32_t e0 = 0; e0 < ne && s == P3D_OK;) {
        int32_t e1 = e0, np = 0;
        int64_t pixels = 0;
        runs_ok &= ++chunks == 1;
        for (; e1 < ne; e1++) {
            slot[e1] = -1;
            if (r->n_mask[e1] == 0 || r->n_ctx[e1] == 0) continue;
            int64_t area = (int64_t)(box[4 * e1 + 2] - box[4 * e1]) * (box[4 * e1 + 3] - box[4 * e1 + 1]);
            if (np > 0 && pixels + area > P3D_INPAINT_CHUNK_PIXELS) break;
            s = patch_alloc(&ps[np], box[4 * e1], box[4 * e1 + 1], box[4 * e1 + 2] - box[4 * e1],
                            box[4 * e1 + 3] - box[4 * e1 + 1], e1);
            if (s != P3D_OK) break;
            pp[np] = &ps[np];
            slot[e1] = np++;
            pixels += area;
        }
        if (s == P3D_OK) {
            fill_region_maps(l, e, r, ps, slot, e0, e1, o->depth_threshold);
            for (int32_t i = 0; i < np; i++) {
                if (!learned) extend_context(l, r, &ps[i]), mark_synthetic(l, &ps[i]);
                occluder_stats(l, &ps[i]);
            }
            st->patches += np;
            st->patch_pixels += pixels;
            s = fill_patches(ctx, nets, l, pp, np, pass == 0, o, st);
        }
        for (int32_t i = 0; s == P3D_OK && i < np; i++) {
            patch *p = &ps[i];
            uint8_t label = pass > 0 || p->used_edge ? P3D_LABEL_OCCLUSION : P3D_LABEL_INPAINT1;
            size_t m = (size_t)p->w * p->h;
            const int32_t run_first = l->n_nodes;
            for (size_t k = 0; s == P3D_OK && k < m; k++) {
                if (p->erode[k] && pass == 0 && learned) { /* eroded context takes the net's colour */
                    int32_t c = p->node[k];
                    for (int32_t ch = 0; ch < 3; ch++) l->rgb[3 * (size_t)c + ch] = to_u8(p->rgb[3 * k + ch]);
                    st->recoloured++;
                }
                if (p->mask[k]) s = add_behind(l, p, k, label, iter);
            }
            if (runs_ok && l->n_nodes > run_first) {
                runs_ok = p->results_dev != NULL;
                if (runs_ok) runs[n_runs++] = (p3d_ldi_colour_run){run_first, l->n_nodes - run_first, p->results_dev};
            }
            if (l->n_nodes > run_first && ctx && p3d_ctx_cuda(ctx) && pass + 1 < o->passes) pass_masks_add(&masks, p);
            for (size_t k = 0; s == P3D_OK && k < m; k++)
                if (p->mask[k]) link_context(l, p, k);
        }
        for (int32_t i = 0; i < np; i++) patch_free(&ps[i]);
        e0 = e1;
    }
    if (s == P3D_OK) {
        st->new_nodes += l->n_nodes - first_new;
        link_new(l, first_new, iter, o->depth_threshold);
#ifdef P3D_HAVE_CUDA
        /* the device makes the same nodes in its LDI */
        if (on_device)
            s = p3d_ldi_pass_nodes_cuda(p3d_ctx_cuda(ctx), l, first_new, iter, o->depth_threshold, runs_ok ? runs : NULL,
                                        runs_ok ? n_runs : 0, masks.ok ? &masks.m : NULL, NULL);
#endif
    }
    pass_masks_free(&masks);
    free(box), free(slot), free(ps), free(pp), free(runs);
    return s;
}

/* ---- the border (spec 2.15) ------------------------------------------------------------------- */

/* A border strip: crop [x0, x1) x [y0, y1), mask [mx0, mx1) x [my0, my1); the valid line is the
 * image row (vy >= 0) or column (vx >= 0) next to the mask whose edges guide the edge net. */
typedef struct strip {
    int32_t x0, y0, x1, y1, mx0, my0, mx1, my1, vx, vy;
} strip;

/* Builds a strip's patch. Context: the pixels of the crop outside the mask whose nearest node is
 * link-connected inside the crop to a node of the valid line (the image row or column next to the
 * mask): what the photo shows at its side continues outward, and an object standing back from the
 * side (the sample's pillar) is never copied past the surfaces between it and the side. A corner
 * (no valid line) takes only the border nodes of the two sides just made. Edge channel = near-side
 * edge pixels whose edge crosses the valid line. */
static p3d_status strip_patch(const p3d_ldi *l, const p3d_ldi_edges *e, const strip *sp, patch *p) {
    P3D_TRY(patch_alloc(p, sp->x0, sp->y0, sp->x1 - sp->x0, sp->y1 - sp->y0, -1));
    uint8_t *on_line = (uint8_t *)calloc((size_t)e->n_edges + 1, 1);
    uint8_t *reach = (uint8_t *)calloc((size_t)l->n_nodes + 1, 1);
    int32_t *queue = (int32_t *)malloc(((size_t)p->w * p->h + 1) * sizeof *queue);
    if (!on_line || !reach || !queue) {
        free(on_line), free(reach), free(queue);
        patch_free(p);
        return p3d_fail(P3D_ERR_OOM, "border: out of memory");
    }
    const int32_t has_line = sp->vx >= 0 || sp->vy >= 0;
    int32_t qh = 0, qt = 0;
    if (has_line) {
        int32_t n = sp->vy >= 0 ? sp->x1 - sp->x0 : sp->y1 - sp->y0;
        for (int32_t i = 0; i < n; i++) {
            int32_t x = sp->vy >= 0 ? sp->x0 + i : sp->vx, y = sp->vy >= 0 ? sp->vy : sp->y0 + i;
            int32_t a = l->head[y * l->ext_w + x];
            if (a >= 0 && a < e->n_nodes && e->edge[a] >= 0 && e->near[e->edge[a]]) on_line[e->edge[a]] = 1;
            if (a >= 0 && !reach[a]) reach[a] = 1, queue[qt++] = a;
        }
    }
    /* the line's surfaces inside the crop: breadth-first over links (a pixel's nearest node only) */
    while (qh < qt) {
        const int32_t a = queue[qh++];
        for (int32_t d = 0; d < 4; d++) {
            const int32_t b = l->link[4 * (size_t)a + d];
            if (b < 0 || reach[b]) continue;
            const int32_t x = p3d_ldi_x(l, b), y = p3d_ldi_y(l, b);
            if (x < sp->x0 || y < sp->y0 || x >= sp->x1 || y >= sp->y1 || l->head[y * l->ext_w + x] != b) continue;
            reach[b] = 1;
            queue[qt++] = b;
        }
    }
    for (int32_t y = sp->y0; y < sp->y1; y++)
        for (int32_t x = sp->x0; x < sp->x1; x++) {
            size_t k = (size_t)(y - sp->y0) * p->w + (size_t)(x - sp->x0);
            if (x >= sp->mx0 && x < sp->mx1 && y >= sp->my0 && y < sp->my1) {
                p->mask[k] = 1;
                continue;
            }
            int32_t a = l->head[y * l->ext_w + x];
            if (a < 0 || (has_line ? !reach[a] : l->label[a] != P3D_LABEL_BORDER)) continue;
            p->ctx[k] = p->cctx[k] = 1;
            p->node[k] = a;
            p3d_ldi_gather_px(l->rgb, l->depth, a, p->rgb + 3 * k, p->depth + k);
            int32_t eid = a < e->n_nodes ? e->edge[a] : -1;
            p->edge[k] = eid >= 0 && on_line[eid] ? 1.0f : 0.0f;
        }
    free(on_line), free(reach), free(queue);
    return P3D_OK;
}

/* Fills strips [0, n) as one batch and adds their nodes (label BORDER, iter 0). */
static p3d_status fill_strips(p3d_ctx *ctx, const p3d_ldi_nets *nets, p3d_ldi *l, const p3d_ldi_edges *e,
                              const strip *sp, int32_t n, int32_t use_edge_net, const p3d_ldi_opts *o,
                              p3d_ldi_inpaint_stats *st) {
    patch ps[4];
    patch *pp[4];
    memset(ps, 0, sizeof ps);
    p3d_status s = P3D_OK;
    int32_t np = 0;
    for (int32_t i = 0; i < n && s == P3D_OK; i++) {
        if (sp[i].x1 <= sp[i].x0 || sp[i].y1 <= sp[i].y0) continue;
        s = strip_patch(l, e, &sp[i], &ps[np]);
        if (s == P3D_OK) pp[np] = &ps[np], np++;
    }
    if (s == P3D_OK) {
        st->patches += np;
        for (int32_t i = 0; i < np; i++) st->patch_pixels += (int64_t)ps[i].w * ps[i].h;
        s = fill_patches(ctx, nets, l, pp, np, use_edge_net, o, st);
    }
    for (int32_t i = 0; s == P3D_OK && i < np; i++) {
        patch *p = &ps[i];
        size_t m = (size_t)p->w * p->h;
        for (size_t k = 0; s == P3D_OK && k < m; k++) {
            if (!p->mask[k]) continue;
            int32_t x = p->x0 + (int32_t)(k % (size_t)p->w), y = p->y0 + (int32_t)(k / (size_t)p->w);
            float d = p->depth[k];
            if (!(d > 0) || !isfinite(d)) d = 1.0f;
            uint8_t rgb[3] = {to_u8(p->rgb[3 * k]), to_u8(p->rgb[3 * k + 1]), to_u8(p->rgb[3 * k + 2])};
            s = p3d_ldi_add_node(l, x, y, d, rgb, P3D_LABEL_BORDER, 0, NULL);
        }
    }
    for (int32_t i = 0; i < np; i++) patch_free(&ps[i]);
    return s;
}

p3d_status p3d_ldi_extrapolate(p3d_ctx *ctx, const p3d_ldi_nets *nets, p3d_ldi *l, const p3d_ldi_edges *e,
                               const p3d_ldi_opts *o, p3d_ldi_inpaint_stats *st) {
    int32_t b = l->border, w = l->width, h = l->height;
    if (b <= 0) return P3D_OK;
    if (l->head[0] >= 0) return p3d_fail(P3D_ERR_INVALID_ARG, "border: the LDI already has a border");
    int32_t ctw = o->context_thickness < w ? o->context_thickness : w;
    int32_t cth = o->context_thickness < h ? o->context_thickness : h;
    int32_t ew = l->ext_w, eh = l->ext_h, first = l->n_nodes;
#ifdef P3D_HAVE_CUDA
    /* the device LDI takes the host's edits so far, so that after the border only its nodes are new */
    if (ctx && p3d_ctx_cuda(ctx)) P3D_TRY(p3d_ldi_cuda_resident_sync(p3d_ctx_cuda(ctx), l));
#endif
    /* up, down, left, right: the reference's order is up, left, down, right; the four sides do not
     * see each other (their crops hold image pixels only), so they run as one batch. */
    strip sides[4] = {
        {b, 0, b + w, b + cth, b, 0, b + w, b, -1, b},
        {b, b + h - cth, b + w, eh, b, b + h, b + w, eh, -1, b + h - 1},
        {0, b, b + ctw, b + h, 0, b, b, b + h, b, -1},
        {b + w - ctw, b, ew, b + h, b + w, b, ew, b + h, b + w - 1, -1},
    };
    P3D_TRY(fill_strips(ctx, nets, l, e, sides, 4, 1, o, st));
    /* corners: (b + context) squares at the canvas corners; the context includes the sides just
     * made; no edge guidance (the reference's corners have none). */
    int32_t cw = b + ctw, chh = b + cth;
    strip corners[4] = {
        {0, 0, cw, chh, 0, 0, b, b, -1, -1},
        {ew - cw, 0, ew, chh, ew - b, 0, ew, b, -1, -1},
        {0, eh - chh, cw, eh, 0, eh - b, b, eh, -1, -1},
        {ew - cw, eh - chh, ew, eh, ew - b, eh - b, ew, eh, -1, -1},
    };
    P3D_TRY(fill_strips(ctx, nets, l, e, corners, 4, 0, o, st));
    st->new_nodes += l->n_nodes - first;
    link_new(l, first, 0, o->depth_threshold);
#ifdef P3D_HAVE_CUDA
    /* the device makes the same nodes in its LDI: the mask rects of the strips that got nodes, in order */
    if (ctx && p3d_ctx_cuda(ctx)) {
        int32_t rects[8 * 4], n = 0;
        for (int32_t i = 0; i < 8; i++) {
            const strip *sp = i < 4 ? &sides[i] : &corners[i - 4];
            if (sp->x1 <= sp->x0 || sp->y1 <= sp->y0) continue;
            const int32_t r[4] = {sp->mx0, sp->my0, sp->mx1, sp->my1};
            memcpy(rects + 4 * n++, r, sizeof r);
        }
        P3D_TRY(p3d_ldi_border_nodes_cuda(p3d_ctx_cuda(ctx), l, first, rects, n, o->depth_threshold, NULL));
    }
#endif
    return P3D_OK;
}
