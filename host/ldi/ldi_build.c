/* ldi_build.c - the input layer of the LDI (spec 2.4-2.8, 2.11, 2.12's refresh_bord_depth).
 *
 * Everything here works on the pixel grid of the image (one sample per pixel) before any node is
 * created: tear flags per grid link, connected components, island refill; the nodes and links are
 * then written in raster order, so node id = v * W + u for image pixel (u, v). The reference builds a
 * networkx graph and iterates sets; its component order (hence the PLY vertex order) is hash order
 * (quirk 34) - raster order here. On a CUDA context the tear and dangling pass, the components and
 * the keep flags run on the device (cuda/ldi/ldi.cu, same rules: ldi_graph_math.h); the island refill
 * and the node writing run on the host for both. */
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

/* Refills each 4-connected island of dropped pixels (filled[i] = 0 on entry: the keep flags) from the
 * surrounding component most of its border touches (spec 2.8: the reference votes with edge ids,
 * which are the components' border pixels; the same outcome without the debugger trap at pixel
 * (295, 389) or the endless loop on unreachable pixels, quirks 26-27). Fill: breadth-first rings from
 * the winner; each pixel takes the mean depth of its already-filled 4-neighbours (all pixels of a ring
 * read the previous rings only, so the result does not depend on visiting order). Island pixels are
 * then linked by the tear rule like any other pixels. Sequential per island on the host for both
 * backends: islands are few and small (under min_component pixels each). */
static p3d_status refill(grid *g, const p3d_ldi_opts *o, const int32_t *label, uint8_t *filled,
                         p3d_ldi_build_stats *st) {
    int32_t w = g->w, h = g->h, n = w * h;
    int32_t *island = (int32_t *)malloc((size_t)n * sizeof *island);
    int32_t *queue = (int32_t *)malloc((size_t)n * sizeof *queue);
    int32_t *votes = (int32_t *)calloc((size_t)n, sizeof *votes);
    float *next_depth = (float *)malloc((size_t)n * sizeof *next_depth);
    int32_t *ring_buf = (int32_t *)malloc((size_t)n * sizeof *ring_buf);
    if (!island || !queue || !votes || !next_depth || !ring_buf) {
        free(island), free(queue), free(votes), free(next_depth), free(ring_buf);
        return p3d_fail(P3D_ERR_OOM, "LDI build: out of memory");
    }
    static const int32_t dx[4] = {0, 0, -1, 1}, dy[4] = {-1, 1, 0, 0};
    /* Islands: 4-connected groups of dropped pixels, found by flood fill from each unvisited one. */
    for (int32_t i = 0; i < n; i++) island[i] = -1;
    int32_t refilled = 0, unreachable = 0;
    for (int32_t s = 0; s < n; s++) {
        if (filled[s] || island[s] >= 0) continue;
        int32_t qn = 0;
        queue[qn++] = s;
        island[s] = s;
        for (int32_t qi = 0; qi < qn; qi++) {
            int32_t p = queue[qi], u = p % w, v = p / w;
            for (int32_t k = 0; k < 4; k++) {
                int32_t x = u + dx[k], y = v + dy[k];
                if (x < 0 || y < 0 || x >= w || y >= h) continue;
                int32_t q = y * w + x;
                if (!filled[q] && island[q] < 0) {
                    island[q] = s;
                    queue[qn++] = q;
                }
            }
        }
        /* Vote: kept pixels 4-adjacent to the island, by component (ties: smaller label). */
        int32_t winner = -1;
        for (int32_t qi = 0; qi < qn; qi++) {
            int32_t p = queue[qi], u = p % w, v = p / w;
            for (int32_t k = 0; k < 4; k++) {
                int32_t x = u + dx[k], y = v + dy[k];
                if (x < 0 || y < 0 || x >= w || y >= h) continue;
                int32_t q = y * w + x;
                if (!filled[q] || island[q] >= 0) continue;
                int32_t c = label[q];
                votes[c]++;
                if (winner < 0 || votes[c] > votes[winner] || (votes[c] == votes[winner] && c < winner)) winner = c;
            }
        }
        for (int32_t qi = 0; qi < qn; qi++) {
            int32_t p = queue[qi], u = p % w, v = p / w;
            for (int32_t k = 0; k < 4; k++) {
                int32_t x = u + dx[k], y = v + dy[k];
                if (x >= 0 && y >= 0 && x < w && y < h) votes[label[y * w + x]] = 0;
            }
        }
        if (winner < 0) { /* nothing around it (cannot happen while the largest component stays) */
            for (int32_t qi = 0; qi < qn; qi++) filled[queue[qi]] = 1;
            unreachable += qn;
            continue;
        }
        /* Rings: a pixel is a source when it is kept and in the winner, or filled in an earlier ring. */
        int32_t npend = qn;
        while (npend > 0) {
            int32_t nring = 0;
            for (int32_t qi = 0; qi < npend; qi++) {
                int32_t p = queue[qi], u = p % w, v = p / w, cnt = 0;
                float sum = 0;
                for (int32_t k = 0; k < 4; k++) {
                    int32_t x = u + dx[k], y = v + dy[k];
                    if (x < 0 || y < 0 || x >= w || y >= h) continue;
                    int32_t q = y * w + x;
                    int32_t src = island[q] == s ? filled[q] : (island[q] < 0 && filled[q] && label[q] == winner);
                    if (src) {
                        sum += g->depth[q];
                        cnt++;
                    }
                }
                if (cnt) {
                    next_depth[p] = sum / (float)cnt;
                    ring_buf[nring++] = p;
                }
            }
            if (nring == 0) { /* cut off from the winner: keep the map's own depth */
                for (int32_t qi = 0; qi < npend; qi++) filled[queue[qi]] = 1;
                unreachable += npend;
                break;
            }
            for (int32_t k = 0; k < nring; k++) {
                g->depth[ring_buf[k]] = next_depth[ring_buf[k]];
                filled[ring_buf[k]] = 1;
            }
            int32_t kept = 0;
            for (int32_t qi = 0; qi < npend; qi++)
                if (!filled[queue[qi]]) queue[kept++] = queue[qi];
            npend = kept;
        }
        refilled += qn;
    }
    /* Island pixels are joined to their neighbours by the tear rule. */
    for (int32_t v = 0; v < h; v++)
        for (int32_t u = 0; u < w; u++) {
            size_t i = (size_t)v * w + u;
            if (u + 1 < w && (island[i] >= 0 || island[i + 1] >= 0))
                g->right[i] = (uint8_t)p3d_ldi_joined(g->depth[i], g->depth[i + 1], o->depth_threshold);
            if (v + 1 < h && (island[i] >= 0 || island[i + w] >= 0))
                g->down[i] = (uint8_t)p3d_ldi_joined(g->depth[i], g->depth[i + w], o->depth_threshold);
        }
    st->refilled_pixels = refilled;
    st->unreachable_pixels = unreachable;
    free(island), free(queue), free(votes), free(next_depth), free(ring_buf);
    return P3D_OK;
}

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
    int32_t *label = (int32_t *)malloc(n * sizeof *label);
    uint8_t *keep = (uint8_t *)malloc(n);
    p3d_status s = P3D_OK;
    if (!g.depth || !g.right || !g.down || !label || !keep) s = p3d_fail(P3D_ERR_OOM, "LDI build: out of memory");
    if (s == P3D_OK) {
        build_depth(depth, g.depth, g.w, g.h, l->border);
#ifdef P3D_HAVE_CUDA
        if (ctx && p3d_ctx_cuda(ctx))
            s = p3d_ldi_build_links_cuda(p3d_ctx_cuda(ctx), l, g.depth, depth_dev, o, g.right, g.down, label, keep,
                                         &st);
        else
#endif
        {
            s = tear(&g, o->depth_threshold, &st);
            if (s == P3D_OK) s = components_keep(&g, o, label, keep, &st);
        }
    }
    if (s == P3D_OK) s = refill(&g, o, label, keep, &st);
    free(label);
    free(keep);
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
