/* ldi_build.c - the input layer of the LDI (spec 2.4-2.8, 2.11, 2.12's refresh_bord_depth).
 *
 * Everything here works on the pixel grid of the image (one sample per pixel) before any node is
 * created: tear flags per grid link, connected components, island refill; the nodes and links are
 * then written in raster order, so node id = v * W + u for image pixel (u, v). The reference builds a
 * networkx graph and iterates sets; its component order (hence the PLY vertex order) is hash order
 * (quirk 34) - raster order here. On a CUDA context the tear and dangling pass, the components, the
 * keep flags (cuda/ldi/ldi.cu, same rules: ldi_graph_math.h) and the island refill
 * (cuda/ldi/ldi_refill.cu, same rules: ldi_build_math.h) run on the device, which sends back the links
 * and the refilled depths; the host writes its nodes from them. */
#include <stdlib.h>
#include <string.h>

#include "ldi/ldi_build_math.h"
#include "ldi/ldi_graph_math.h"
#include "ldi/ldi_stages.h"

p3d_ldi_opts p3d_ldi_opts_default(void) {
    p3d_ldi_opts o;
    o.depth_threshold = 0.04f;
    o.min_component = 200;
    o.redundant_number = 12;
    o.background_thickness = 70;
    o.context_thickness = 140;
    o.background_thickness_2 = 70;
    o.context_thickness_2 = 70;
    o.depth_edge_dilate = 10;
    o.border = 60;
    o.border_cover[0] = 0.015f;
    o.border_cover[1] = 0.015f;
    o.border_cover[2] = 0.05f;
    o.border_crop = 0.03f;
    o.largest_size = 512;
    o.ext_edge_threshold = 0.002f;
    o.repeat_inpaint_edge = 1;
    o.crop_dilate = 20;
    o.passes = 2;
    return o;
}

/* Grid links of a W x H image: right[v * W + u] = 1 when (u, v) - (u + 1, v) is linked, down[...] for
 * (u, v) - (u, v + 1). */
typedef struct grid {
    int32_t w, h;
    float *depth;
    uint8_t *right, *down;
} grid;

/* The map the build tears: a copy of depth (w, h), its outermost ring refreshed when the LDI has a
 * border (p3d_ldi_ring_depth, ldi_build_math.h). */
static void build_depth(const float *depth, float *d, int32_t w, int32_t h, int32_t border) {
    memcpy(d, depth, (size_t)w * h * sizeof *d);
    if (border <= 0 || w < 3 || h < 3) return;
    for (int32_t v = 0; v < h; v++)
        for (int32_t u = 0; u < w; u += v == 0 || v == h - 1 ? 1 : w - 1)
            d[(size_t)v * w + u] = p3d_ldi_ring_depth(depth, w, h, u, v);
}

/* Tear + the one dangling pass (spec 2.5), per link by ldi_graph_math.h; the pass reads the torn
 * state before it (np.roll over whole arrays), kept in r0 / d0. */
static p3d_status tear(grid *g, float thr, p3d_ldi_build_stats *st) {
    const int32_t w = g->w, h = g->h;
    const size_t n = (size_t)w * h;
    uint8_t *r0 = (uint8_t *)malloc(n), *d0 = (uint8_t *)malloc(n);
    if (!r0 || !d0) {
        free(r0), free(d0);
        return p3d_fail(P3D_ERR_OOM, "LDI build: out of memory");
    }
#pragma omp parallel for schedule(static)
    for (int32_t v = 0; v < h; v++)
        for (int32_t u = 0; u < w; u++) {
            r0[(size_t)v * w + u] = p3d_ldi_grid_joined(g->depth, w, h, u, v, 0, thr);
            d0[(size_t)v * w + u] = p3d_ldi_grid_joined(g->depth, w, h, u, v, 1, thr);
        }
    int64_t torn = 0, dangling = 0;
#pragma omp parallel for schedule(static) reduction(+ : torn, dangling)
    for (int32_t v = 0; v < h; v++)
        for (int32_t u = 0; u < w; u++) {
            const size_t i = (size_t)v * w + u;
            g->right[i] = p3d_ldi_grid_after_dangling(r0, w, h, u, v, 0);
            g->down[i] = p3d_ldi_grid_after_dangling(d0, w, h, u, v, 1);
            torn += (u + 1 < w && !r0[i]) + (v + 1 < h && !d0[i]);
            dangling += (r0[i] && !g->right[i]) + (d0[i] && !g->down[i]);
        }
    free(r0);
    free(d0);
    st->torn_links = (int32_t)torn;
    st->dangling_links = (int32_t)dangling;
    return P3D_OK;
}

/* Component labels (smallest pixel index of the component) over the grid links, and the keep flag
 * per pixel (p3d_ldi_keep: components under min_component pixels are dropped, never the largest). */
static p3d_status components_keep(const grid *g, const p3d_ldi_opts *o, int32_t *label, uint8_t *keep,
                                  p3d_ldi_build_stats *st) {
    const int32_t w = g->w, h = g->h, n = w * h;
    int32_t *size = (int32_t *)calloc((size_t)n, sizeof *size);
    if (!size) return p3d_fail(P3D_ERR_OOM, "LDI build: out of memory");
    for (int32_t i = 0; i < n; i++) label[i] = i;
    for (int32_t v = 0; v < h; v++)
        for (int32_t u = 0; u < w; u++) {
            int32_t i = v * w + u;
            if (g->right[i]) p3d_uf_union(label, i, i + 1);
            if (g->down[i]) p3d_uf_union(label, i, i + w);
        }
    for (int32_t i = 0; i < n; i++) label[i] = p3d_uf_find(label, i);
    /* the largest component, ties to the smaller label */
    int32_t largest = 0;
    for (int32_t i = 0; i < n; i++) size[label[i]]++;
    for (int32_t i = 0; i < n; i++)
        if (label[i] == i && (size[i] > size[largest] || (size[i] == size[largest] && i < largest))) largest = i;
    int32_t dropped_components = 0;
    for (int32_t i = 0; i < n; i++) {
        keep[i] = p3d_ldi_keep(size[label[i]], label[i], largest, o->min_component);
        if (!keep[i] && label[i] == i) dropped_components++;
    }
    st->small_components = dropped_components;
    free(size);
    return P3D_OK;
}

/* Refills each 4-connected island of dropped pixels (keep[i] = 0) from the surrounding component most
 * of its border touches (spec 2.8: the reference votes with edge ids, which are the components' border
 * pixels; the same outcome without the debugger trap at pixel (295, 389) or the endless loop on
 * unreachable pixels, quirks 26-27). Fill: rings from the winner; each pixel takes the mean depth of its
 * sources (p3d_ldi_refill_depth: all pixels of a ring read the previous rings only, so the result does
 * not depend on visiting order). Island pixels are then linked by the tear rule like any other pixels
 * (p3d_ldi_refill_link). Sequential per island here, the reference; the CUDA build runs the same rules
 * for all islands at once (cuda/ldi/ldi_refill.cu) and must give the same bytes. */
static p3d_status refill(grid *g, const p3d_ldi_opts *o, const int32_t *label, const uint8_t *keep,
                         p3d_ldi_build_stats *st) {
    int32_t w = g->w, h = g->h, n = w * h;
    int32_t *island = (int32_t *)malloc((size_t)n * sizeof *island);
    int32_t *queue = (int32_t *)malloc((size_t)n * sizeof *queue);
    int32_t *votes = (int32_t *)calloc((size_t)n, sizeof *votes);
    int32_t *ring = (int32_t *)malloc((size_t)n * sizeof *ring);
    if (!island || !queue || !votes || !ring) {
        free(island), free(queue), free(votes), free(ring);
        return p3d_fail(P3D_ERR_OOM, "LDI build: out of memory");
    }
    static const int32_t dx[4] = {0, 0, -1, 1}, dy[4] = {-1, 1, 0, 0};
    /* Islands: 4-connected groups of dropped pixels, found by flood fill from each unvisited one, so
     * each is named by its smallest pixel (the device's union-find roots). */
    for (int32_t i = 0; i < n; i++) island[i] = -1;
    int32_t refilled = 0, unreachable = 0;
    for (int32_t s = 0; s < n; s++) {
        if (keep[s] || island[s] >= 0) continue;
        int32_t qn = 0;
        queue[qn++] = s;
        island[s] = s;
        for (int32_t qi = 0; qi < qn; qi++) {
            int32_t p = queue[qi], u = p % w, v = p / w;
            ring[p] = P3D_LDI_RING_PENDING;
            for (int32_t k = 0; k < 4; k++) {
                int32_t x = u + dx[k], y = v + dy[k];
                if (x < 0 || y < 0 || x >= w || y >= h) continue;
                int32_t q = y * w + x;
                if (!keep[q] && island[q] < 0) {
                    island[q] = s;
                    queue[qn++] = q;
                }
            }
        }
        /* Vote: the kept pixels 4-adjacent to the island, by component (p3d_ldi_refill_vote_key): count,
         * take the best key, clear the counts. */
        unsigned long long best = 0;
        for (int32_t pass = 0; pass < 3; pass++) {
            for (int32_t qi = 0; qi < qn; qi++) {
                int32_t p = queue[qi], u = p % w, v = p / w;
                for (int32_t k = 0; k < 4; k++) {
                    int32_t x = u + dx[k], y = v + dy[k];
                    if (x < 0 || y < 0 || x >= w || y >= h || !keep[y * w + x]) continue;
                    int32_t c = label[y * w + x];
                    if (pass == 0) votes[c]++;
                    else if (pass == 1) {
                        unsigned long long key = p3d_ldi_refill_vote_key(votes[c], c);
                        if (key > best) best = key;
                    } else votes[c] = 0;
                }
            }
        }
        int32_t winner = p3d_ldi_refill_winner(best);
        if (winner < 0) { /* nothing around it (cannot happen while the largest component stays) */
            unreachable += qn;
            continue;
        }
        /* Rings; a pixel filled at ring t is no source for ring t, so it is written in place. */
        int32_t npend = qn;
        for (int32_t t = 1; npend > 0; t++) {
            int32_t nring = 0;
            for (int32_t qi = 0; qi < npend; qi++) {
                int32_t p = queue[qi];
                float d;
                if (p3d_ldi_refill_depth(g->depth, keep, label, island, ring, w, h, p % w, p / w, winner, t, &d)) {
                    g->depth[p] = d;
                    ring[p] = t;
                    nring++;
                }
            }
            if (nring == 0) { /* cut off from the winner: keep the map's own depth */
                unreachable += npend;
                break;
            }
            int32_t kept = 0;
            for (int32_t qi = 0; qi < npend; qi++)
                if (ring[queue[qi]] == P3D_LDI_RING_PENDING) queue[kept++] = queue[qi];
            npend = kept;
        }
        refilled += qn;
    }
    /* Island pixels are joined to their neighbours by the tear rule. */
    for (int32_t v = 0; v < h; v++)
        for (int32_t u = 0; u < w; u++) {
            size_t i = (size_t)v * w + u;
            g->right[i] = p3d_ldi_refill_link(g->depth, keep, w, h, u, v, 0, o->depth_threshold, g->right[i]);
            g->down[i] = p3d_ldi_refill_link(g->depth, keep, w, h, u, v, 1, o->depth_threshold, g->down[i]);
        }
    st->refilled_pixels = refilled;
    st->unreachable_pixels = unreachable;
    free(island), free(queue), free(votes), free(ring);
    return P3D_OK;
}

/* The grid on the CPU: tear, components, keep flags, island refill (g->depth: the map as refreshed, the
 * refilled depths on return). */
static p3d_status build_grid(grid *g, const p3d_ldi_opts *o, p3d_ldi_build_stats *st) {
    const size_t n = (size_t)g->w * g->h;
    int32_t *label = (int32_t *)malloc(n * sizeof *label);
    uint8_t *keep = (uint8_t *)malloc(n);
    p3d_status s = label && keep ? P3D_OK : p3d_fail(P3D_ERR_OOM, "LDI build: out of memory");
    if (s == P3D_OK) s = tear(g, o->depth_threshold, st);
    if (s == P3D_OK) s = components_keep(g, o, label, keep, st);
    if (s == P3D_OK) s = refill(g, o, label, keep, st);
    free(label);
    free(keep);
    return s;
}

#ifdef P3D_HAVE_CUDA
/* P3D_LDI_RESIDENT_CHECK=1 (tests): the device's grid (d: links, refilled depths, stats) against the
 * CPU's from the same map; fails naming the first pixel that differs. */
static p3d_status check_device_build(const grid *d, const float *depth, int32_t border, const p3d_ldi_opts *o,
                                     const p3d_ldi_build_stats *dst) {
    const size_t n = (size_t)d->w * d->h;
    grid c = {d->w, d->h, (float *)malloc(n * sizeof(float)), (uint8_t *)malloc(n), (uint8_t *)malloc(n)};
    p3d_ldi_build_stats cst;
    memset(&cst, 0, sizeof cst);
    p3d_status s = c.depth && c.right && c.down ? P3D_OK : p3d_fail(P3D_ERR_OOM, "LDI build: out of memory");
    if (s == P3D_OK) {
        build_depth(depth, c.depth, c.w, c.h, border);
        s = build_grid(&c, o, &cst);
    }
    for (size_t i = 0; s == P3D_OK && i < n; i++)
        if (memcmp(&c.depth[i], &d->depth[i], sizeof(float)) || c.right[i] != d->right[i] || c.down[i] != d->down[i])
            s = p3d_fail(P3D_ERR_DEVICE,
                         "LDI build (cuda): pixel (%d, %d) differs from the CPU build: depth %.9g / %.9g, links %d%d / %d%d",
                         (int)(i % (size_t)c.w), (int)(i / (size_t)c.w), (double)d->depth[i], (double)c.depth[i],
                         d->right[i], d->down[i], c.right[i], c.down[i]);
    if (s == P3D_OK && memcmp(&cst, dst, sizeof cst))
        s = p3d_fail(P3D_ERR_DEVICE,
                     "LDI build (cuda): stats differ from the CPU build: torn %d / %d, dangling %d / %d, dropped %d / %d, "
                     "refilled %d / %d, unreachable %d / %d",
                     (int)dst->torn_links, (int)cst.torn_links, (int)dst->dangling_links, (int)cst.dangling_links,
                     (int)dst->small_components, (int)cst.small_components, (int)dst->refilled_pixels,
                     (int)cst.refilled_pixels, (int)dst->unreachable_pixels, (int)cst.unreachable_pixels);
    free(c.depth), free(c.right), free(c.down);
    return s;
}
#endif

p3d_status p3d_ldi_build_ctx(p3d_ctx *ctx, p3d_ldi *l, const uint8_t *rgb, const float *depth, const float *depth_dev,
                             const p3d_ldi_opts *opts, p3d_ldi_build_stats *stats) {
    /* both backends drop components under the size-scaled minimum (ldi_graph_math.h) */
    p3d_ldi_opts scaled = *opts;
    scaled.min_component = p3d_ldi_min_component(opts->min_component, l->width, l->height);
    const p3d_ldi_opts *o = &scaled;
    p3d_ldi_build_stats st;
    memset(&st, 0, sizeof st);
    if (l->n_nodes) return p3d_fail(P3D_ERR_INVALID_ARG, "LDI build: the LDI already has %d nodes", (int)l->n_nodes);
    grid g;
    g.w = l->width;
    g.h = l->height;
    size_t n = (size_t)g.w * g.h;
    for (size_t i = 0; i < n; i++)
        if (!(depth[i] > 0) || !(depth[i] < 1e30f))
            return p3d_fail(P3D_ERR_INVALID_ARG, "LDI build: depth %g at pixel (%d, %d) is not positive and finite",
                            (double)depth[i], (int)(i % (size_t)g.w), (int)(i / (size_t)g.w));
    g.depth = (float *)malloc(n * sizeof *g.depth);
    g.right = (uint8_t *)malloc(n);
    g.down = (uint8_t *)malloc(n);
    p3d_status s = P3D_OK;
    if (!g.depth || !g.right || !g.down) s = p3d_fail(P3D_ERR_OOM, "LDI build: out of memory");
    if (s == P3D_OK) {
        build_depth(depth, g.depth, g.w, g.h, l->border);
#ifdef P3D_HAVE_CUDA
        if (ctx && p3d_ctx_cuda(ctx)) {
            s = p3d_ldi_build_links_cuda(p3d_ctx_cuda(ctx), l, g.depth, depth_dev, o, g.right, g.down, &st);
            const char *check = getenv("P3D_LDI_RESIDENT_CHECK");
            if (s == P3D_OK && check && check[0] == '1') s = check_device_build(&g, depth, l->border, o, &st);
        } else
#endif
            s = build_grid(&g, o, &st);
    }
    if (s == P3D_OK) s = p3d_ldi_reserve(l, (int32_t)(n + n / 2));
    if (s == P3D_OK) {
        int32_t b = l->border, ew = l->ext_w;
        for (int32_t v = 0; v < g.h; v++)
            for (int32_t u = 0; u < g.w; u++) {
                int32_t i = v * g.w + u, p = (v + b) * ew + (u + b); /* p3d_ldi_grid_node's pixel */
                l->pix[i] = p;
                l->depth[i] = g.depth[i];
                memcpy(l->rgb + 3 * (size_t)i, rgb + 3 * (size_t)i, 3);
                l->label[i] = P3D_LABEL_ORIGINAL;
                l->iter[i] = 0;
                l->next[i] = -1;
                l->head[p] = i;
                p3d_ldi_grid_node(g.right, g.down, g.w, u, v, b, ew, l->link + 4 * (size_t)i);
            }
        l->n_nodes = (int32_t)n;
    }
    free(g.depth);
    free(g.right);
    free(g.down);
    if (stats) *stats = st;
    return s;
}

p3d_status p3d_ldi_build(p3d_ldi *l, const uint8_t *rgb, const float *depth, const p3d_ldi_opts *o,
                         p3d_ldi_build_stats *stats) {
    return p3d_ldi_build_ctx(NULL, l, rgb, depth, NULL, o, stats);
}
