/* ldi_regions.c - context and synthesis regions of every near-side edge at once (spec 2.16).
 *
 * One multi-source breadth-first search over the LDI links instead of the reference's per-edge
 * flood fills with full-canvas maps (quirk 31): ring 0 of edge e's synthesis region ("mask") is e's
 * own near-side nodes, ring 0 of its context is their far neighbours. Each ring, every frontier node
 * offers its linked neighbours to its edge: the mask grows over the foreground surface (the pixels
 * behind which background must be made up), the context over the background surface. Where several
 * edges offer the same node in the same ring the smallest edge id takes it (deterministic, and the
 * rule cuda/ldi/ldi.cu implements with atomicMin); a node taken in an earlier ring is not offered
 * again. Within a ring the mask grows first, then the context (the reference's order). Offers are
 * committed only after all offers of the step are made, and each test (ldi_graph_math.h) reads only
 * what earlier steps committed, so neither the frontier order nor the order of offers matters: the
 * CPU lists frontiers in offer order, the GPU in whatever order its atomics give.
 *
 * Rules kept from the reference:
 *   - the mask grows for max(background_thickness, context_thickness) rings but only the first
 *     background_thickness are synthesised: the rest is a blocker that keeps the context from
 *     wrapping around the edge's ends onto the foreground (pass 1: 140 rings, 70 synthesised);
 *   - the mask does not enter a pixel next to its own edge's context (the reference's `intersect`
 *     test at ring 10; applied from ring 2 on here, so a mask creeping round an edge's end onto the
 *     background stops as soon as it meets the context, whatever ring that happens in);
 *   - pass 2 grows the mask only over pass-1 nodes (the new layer), the context over any node that
 *     no mask holds: a context never crosses another edge's mask (that is foreground; see
 *     p3d_ldi_ctx_takes for the hole it left on moon);
 *   - erosion (pass 1): the first w context rings, w = depth_edge_dilate lowered while those rings
 *     hold more than 30% of the context, are re-coloured by the colour fill (they carry foreground
 *     colour bleeding across the edge).
 * Not kept: forbidden_map's asymmetric 3-pixel margin (quirk 5), the `untouchable` fronts (the
 * smallest-id rule already stops one edge's mask at another edge's nodes), the extended context of
 * neighbouring edges (spec 2.16 step 8, which only adds context the fills do not need). */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "ldi/ldi_graph_math.h"
#include "ldi/ldi_stages.h"

void p3d_ldi_regions_free(p3d_ldi_regions *r) {
    if (!r) return;
    free(r->mask_edge);
    free(r->ctx_edge);
    free(r->erode);
    free(r->n_mask);
    free(r->n_ctx);
    memset(r, 0, sizeof *r);
}

/* Offers node b to edge e in this ring: claim[b] keeps the smallest offer; new offers are listed. */
static void offer(int32_t *claim, int32_t *list, int32_t *n_list, int32_t b, int32_t e) {
    if (claim[b] == INT_MAX) list[(*n_list)++] = b;
    if (e < claim[b]) claim[b] = e;
}

/* Commits the offers of a ring: each listed node joins the edge that claimed it, at this ring, and
 * becomes the next frontier (the list's order is that of the offers; nothing depends on it). */
static int32_t commit(int32_t *claim, const int32_t *list, int32_t n_list, int32_t *edge, int32_t *ring_of,
                      int32_t ring, int32_t *frontier) {
    for (int32_t i = 0; i < n_list; i++) {
        const int32_t b = list[i];
        edge[b] = claim[b];
        ring_of[b] = ring;
        claim[b] = INT_MAX;
        frontier[i] = b;
    }
    return n_list;
}

/* The breadth-first rings on the CPU: mask_edge / ctx_edge and their ring numbers for every node. */
static void rings_cpu(const p3d_ldi *l, const p3d_ldi_edges *e, const p3d_ldi_ring_plan *pl, int32_t *mask_edge,
                      int32_t *ctx_edge, int32_t *mask_ring, int32_t *ctx_ring, int32_t *claim, int32_t *mf,
                      int32_t *cf, int32_t *nx) {
    const int32_t n = l->n_nodes;
    int32_t n_mf = 0, n_cf = 0, n_off = 0;
    for (int32_t a = 0; a < n; a++) mask_edge[a] = ctx_edge[a] = -1, claim[a] = INT_MAX;
    /* Ring 0: the near-side edge nodes themselves (the reference synthesises them too: the
     * background continues under the foreground's outermost pixels) and their far neighbours. */
    for (int32_t a = 0; a < n; a++) {
        const int32_t id = p3d_ldi_ring0_edge(e->edge, e->near, e->n_nodes, a);
        if (id < 0) continue;
        mask_edge[a] = id;
        mask_ring[a] = 0;
        mf[n_mf++] = a;
    }
    for (int32_t i = 0; i < n_mf; i++) {
        const int32_t a = mf[i], x = p3d_ldi_x(l, a), y = p3d_ldi_y(l, a);
        for (int32_t d = 0; d < 4; d++) {
            const int32_t lk = l->link[4 * (size_t)a + d];
            const int32_t px = x + p3d_dir_dx(d), py = y + p3d_dir_dy(d);
            if (px < 0 || py < 0 || px >= l->ext_w || py >= l->ext_h) continue;
            for (int32_t b = l->head[py * l->ext_w + px]; b >= 0; b = l->next[b])
                if (b != lk && p3d_ldi_ctx0_takes(l, mask_edge, pl->mask_iter, a, b))
                    offer(claim, nx, &n_off, b, mask_edge[a]);
        }
    }
    n_cf = commit(claim, nx, n_off, ctx_edge, ctx_ring, 0, cf);
    for (int32_t ring = 1; ring < pl->rings; ring++) {
        /* mask ring: reads ctx_edge as the previous context ring left it */
        n_off = 0;
        for (int32_t i = 0; i < n_mf; i++) {
            const int32_t a = mf[i], id = mask_edge[a];
            for (int32_t d = 0; d < 4; d++) {
                const int32_t b = l->link[4 * (size_t)a + d];
                if (p3d_ldi_mask_takes(l, mask_edge, ctx_edge, pl->mask_iter, ring, b, id))
                    offer(claim, nx, &n_off, b, id);
            }
        }
        n_mf = commit(claim, nx, n_off, mask_edge, mask_ring, ring, mf);
        /* context ring: reads mask_edge as this ring's mask step left it */
        if (ring < pl->ct) {
            n_off = 0;
            for (int32_t i = 0; i < n_cf; i++) {
                const int32_t a = cf[i], id = ctx_edge[a];
                for (int32_t d = 0; d < 4; d++) {
                    const int32_t b = l->link[4 * (size_t)a + d];
                    if (p3d_ldi_ctx_takes(mask_edge, ctx_edge, b, id)) offer(claim, nx, &n_off, b, id);
                }
            }
            n_cf = commit(claim, nx, n_off, ctx_edge, ctx_ring, ring, cf);
        }
        if (n_mf == 0 && n_cf == 0) break;
    }
}

/* Counts per edge, the erosion widths and flags, from the rings (CPU). */
static p3d_status count_erode_cpu(const p3d_ldi_ring_plan *pl, int32_t n, int32_t ne, int32_t *mask_edge,
                                  const int32_t *ctx_edge, const int32_t *mask_ring, const int32_t *ctx_ring,
                                  p3d_ldi_regions *out) {
    const size_t stride = (size_t)pl->ct + 1;
    int32_t *ring_count = (int32_t *)calloc(((size_t)ne + 1) * stride, sizeof *ring_count);
    int32_t *wv = (int32_t *)malloc(((size_t)ne + 1) * sizeof *wv);
    if (!ring_count || !wv) {
        free(ring_count), free(wv);
        return p3d_fail(P3D_ERR_OOM, "LDI regions: out of memory");
    }
    for (int32_t a = 0; a < n; a++) {
        if (mask_edge[a] >= 0) mask_edge[a] = p3d_ldi_mask_final(mask_edge[a], mask_ring[a], pl->bg);
        if (mask_edge[a] >= 0) out->n_mask[mask_edge[a]]++;
        if (ctx_edge[a] >= 0) {
            out->n_ctx[ctx_edge[a]]++;
            ring_count[(size_t)ctx_edge[a] * stride + (size_t)ctx_ring[a]]++;
        }
    }
    if (pl->dilate > 0) {
        for (int32_t id = 0; id < ne; id++)
            wv[id] = p3d_ldi_erode_width(ring_count + (size_t)id * stride, pl->ct, pl->dilate, out->n_ctx[id]);
        for (int32_t a = 0; a < n; a++)
            if (ctx_edge[a] >= 0 && ctx_ring[a] < wv[ctx_edge[a]]) out->erode[a] = 1;
    }
    free(ring_count), free(wv);
    return P3D_OK;
}

static p3d_status regions_cpu(const p3d_ldi *l, const p3d_ldi_edges *e, const p3d_ldi_ring_plan *pl,
                              p3d_ldi_regions *out) {
    const int32_t n = l->n_nodes;
    int32_t *mask_ring = (int32_t *)malloc(((size_t)n + 1) * sizeof *mask_ring);
    int32_t *ctx_ring = (int32_t *)malloc(((size_t)n + 1) * sizeof *ctx_ring);
    int32_t *claim = (int32_t *)malloc(((size_t)n + 1) * sizeof *claim);
    int32_t *mf = (int32_t *)malloc(((size_t)n + 1) * sizeof *mf); /* mask frontier */
    int32_t *cf = (int32_t *)malloc(((size_t)n + 1) * sizeof *cf); /* context frontier */
    int32_t *nx = (int32_t *)malloc(((size_t)n + 1) * sizeof *nx); /* offers of this ring */
    p3d_status st = P3D_OK;
    if (!mask_ring || !ctx_ring || !claim || !mf || !cf || !nx)
        st = p3d_fail(P3D_ERR_OOM, "LDI regions: out of memory for %d nodes", (int)n);
    if (st == P3D_OK) {
        rings_cpu(l, e, pl, out->mask_edge, out->ctx_edge, mask_ring, ctx_ring, claim, mf, cf, nx);
        st = count_erode_cpu(pl, n, e->n_edges, out->mask_edge, out->ctx_edge, mask_ring, ctx_ring, out);
    }
    free(mask_ring), free(ctx_ring), free(claim), free(mf), free(cf), free(nx);
    return st;
}

p3d_status p3d_ldi_regions_find_ctx(p3d_ctx *ctx, const p3d_ldi *l, const p3d_ldi_edges *e, const p3d_ldi_opts *o,
                                    int32_t pass, p3d_ldi_regions *out) {
    memset(out, 0, sizeof *out);
    const int32_t n = l->n_nodes, ne = e->n_edges;
    p3d_ldi_ring_plan pl;
    pl.bg = pass == 0 ? o->background_thickness : o->background_thickness_2;
    pl.ct = pass == 0 ? o->context_thickness : o->context_thickness_2;
    pl.rings = pl.bg > pl.ct ? pl.bg : pl.ct;
    pl.dilate = pass == 0 ? o->depth_edge_dilate : 0; /* erosion only in pass 1 */
    pl.mask_iter = (uint8_t)pass; /* pass 0 grows over input nodes, pass 1 over pass-1 nodes */
    out->mask_edge = (int32_t *)malloc(((size_t)n + 1) * sizeof *out->mask_edge);
    out->ctx_edge = (int32_t *)malloc(((size_t)n + 1) * sizeof *out->ctx_edge);
    out->erode = (uint8_t *)calloc((size_t)n + 1, 1);
    out->n_mask = (int32_t *)calloc((size_t)ne + 1, sizeof *out->n_mask);
    out->n_ctx = (int32_t *)calloc((size_t)ne + 1, sizeof *out->n_ctx);
    p3d_status st = P3D_OK;
    if (!out->mask_edge || !out->ctx_edge || !out->erode || !out->n_mask || !out->n_ctx)
        st = p3d_fail(P3D_ERR_OOM, "LDI regions: out of memory for %d nodes", (int)n);
    if (st == P3D_OK) {
#ifdef P3D_HAVE_CUDA
        if (ctx && p3d_ctx_cuda(ctx))
            st = p3d_ldi_regions_cuda(p3d_ctx_cuda(ctx), l, e, &pl, out);
        else
#endif
            st = regions_cpu(l, e, &pl, out);
    }
    if (st != P3D_OK) {
        p3d_ldi_regions_free(out);
        return st;
    }
    out->n_nodes = n;
    out->n_edges = ne;
    return P3D_OK;
}

p3d_status p3d_ldi_regions_find(const p3d_ldi *l, const p3d_ldi_edges *e, const p3d_ldi_opts *o, int32_t pass,
                                p3d_ldi_regions *out) {
    return p3d_ldi_regions_find_ctx(NULL, l, e, o, pass, out);
}
