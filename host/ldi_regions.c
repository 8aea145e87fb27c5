/* ldi_regions.c - context and synthesis regions of every near-side edge at once (spec 2.16).
 *
 * One multi-source breadth-first search over the LDI links instead of the reference's per-edge
 * flood fills with full-canvas maps (quirk 31): ring 0 of edge e's synthesis region ("mask") is e's
 * own near-side nodes, ring 0 of its context is their far neighbours. Each ring, every frontier node
 * offers its linked neighbours to its edge: the mask grows over the foreground surface (the pixels
 * behind which background must be made up), the context over the background surface. Where several
 * edges offer the same node in the same ring the smallest edge id takes it (deterministic, and the
 * same rule a GPU pass implements with atomicMin); a node taken in an earlier ring is not offered
 * again. Within a ring the mask grows first, then the context (the reference's order).
 *
 * Rules kept from the reference:
 *   - the mask grows for max(background_thickness, context_thickness) rings but only the first
 *     background_thickness are synthesised: the rest is a blocker that keeps the context from
 *     wrapping around the edge's ends onto the foreground (pass 1: 140 rings, 70 synthesised);
 *   - the mask does not enter a pixel next to its own edge's context (the reference's `intersect`
 *     test at ring 10; applied from ring 2 on here, so a mask creeping round an edge's end onto the
 *     background stops as soon as it meets the context, whatever ring that happens in);
 *   - pass 2 grows the mask only over pass-1 nodes (the new layer), the context over any node;
 *   - erosion (pass 1): the first w context rings, w = depth_edge_dilate lowered while those rings
 *     hold more than 30% of the context, are re-coloured by the colour fill (they carry foreground
 *     colour bleeding across the edge).
 * Not kept: forbidden_map's asymmetric 3-pixel margin (quirk 5), the `untouchable` fronts (the
 * smallest-id rule already stops one edge's mask at another edge's nodes), the extended context of
 * neighbouring edges (spec 2.16 step 8, which only adds context the fills do not need). */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "ldi_stages.h"

void p3d_ldi_regions_free(p3d_ldi_regions *r) {
    if (!r) return;
    free(r->mask_edge);
    free(r->ctx_edge);
    free(r->erode);
    free(r->n_mask);
    free(r->n_ctx);
    memset(r, 0, sizeof *r);
}

/* 1 when a pixel of the 3x3 window around node a holds a context node of edge e. */
static int32_t near_context(const p3d_ldi *l, const int32_t *ctx_edge, int32_t a, int32_t e) {
    int32_t x = p3d_ldi_x(l, a), y = p3d_ldi_y(l, a);
    for (int32_t dy = -1; dy <= 1; dy++)
        for (int32_t dx = -1; dx <= 1; dx++) {
            int32_t nx = x + dx, ny = y + dy;
            if (nx < 0 || ny < 0 || nx >= l->ext_w || ny >= l->ext_h) continue;
            for (int32_t b = l->head[ny * l->ext_w + nx]; b >= 0; b = l->next[b])
                if (ctx_edge[b] == e) return 1;
        }
    return 0;
}

/* Offers node b to edge e in this ring: claim[b] keeps the smallest offer; new offers are listed. */
static void offer(int32_t *claim, int32_t *list, int32_t *n_list, int32_t b, int32_t e) {
    if (claim[b] == INT_MAX) list[(*n_list)++] = b;
    if (e < claim[b]) claim[b] = e;
}

static int cmp_i32(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

p3d_status p3d_ldi_regions_find(const p3d_ldi *l, const p3d_ldi_edges *e, const p3d_ldi_opts *o, int32_t pass,
                                p3d_ldi_regions *out) {
    memset(out, 0, sizeof *out);
    int32_t n = l->n_nodes, ne = e->n_edges;
    int32_t bg = pass == 0 ? o->background_thickness : o->background_thickness_2;
    int32_t ct = pass == 0 ? o->context_thickness : o->context_thickness_2;
    int32_t rings = bg > ct ? bg : ct;
    uint8_t mask_iter = (uint8_t)pass; /* pass 0 grows over input nodes, pass 1 over pass-1 nodes */
    int32_t *mask_edge = (int32_t *)malloc(((size_t)n + 1) * sizeof *mask_edge);
    int32_t *ctx_edge = (int32_t *)malloc(((size_t)n + 1) * sizeof *ctx_edge);
    int32_t *mask_ring = (int32_t *)malloc(((size_t)n + 1) * sizeof *mask_ring);
    int32_t *ctx_ring = (int32_t *)malloc(((size_t)n + 1) * sizeof *ctx_ring);
    int32_t *claim = (int32_t *)malloc(((size_t)n + 1) * sizeof *claim);
    int32_t *mf = (int32_t *)malloc(((size_t)n + 1) * sizeof *mf);   /* mask frontier */
    int32_t *cf = (int32_t *)malloc(((size_t)n + 1) * sizeof *cf);   /* context frontier */
    int32_t *nx = (int32_t *)malloc(((size_t)n + 1) * sizeof *nx);   /* offers of this ring */
    int32_t *ring_count = (int32_t *)calloc(((size_t)ne + 1) * (size_t)(ct + 1), sizeof *ring_count);
    out->erode = (uint8_t *)calloc((size_t)n + 1, 1);
    out->n_mask = (int32_t *)calloc((size_t)ne + 1, sizeof *out->n_mask);
    out->n_ctx = (int32_t *)calloc((size_t)ne + 1, sizeof *out->n_ctx);
    p3d_status st = P3D_OK;
    if (!mask_edge || !ctx_edge || !mask_ring || !ctx_ring || !claim || !mf || !cf || !nx || !ring_count ||
        !out->erode || !out->n_mask || !out->n_ctx)
        st = p3d_fail(P3D_ERR_OOM, "LDI regions: out of memory for %d nodes", (int)n);
    int32_t n_mf = 0, n_cf = 0;
    if (st == P3D_OK) {
        for (int32_t a = 0; a < n; a++) mask_edge[a] = ctx_edge[a] = -1, claim[a] = INT_MAX;
        /* Ring 0: the near-side edge nodes themselves (the reference synthesises them too: the
         * background continues under the foreground's outermost pixels) and their far neighbours. */
        for (int32_t a = 0; a < n; a++) {
            int32_t id = a < e->n_nodes ? e->edge[a] : -1;
            if (id < 0 || !e->near[id]) continue;
            mask_edge[a] = id;
            mask_ring[a] = 0;
            mf[n_mf++] = a;
        }
        int32_t n_off = 0;
        for (int32_t i = 0; i < n_mf; i++) {
            int32_t a = mf[i], x = p3d_ldi_x(l, a), y = p3d_ldi_y(l, a);
            for (int32_t d = 0; d < 4; d++) {
                if (l->link[4 * (size_t)a + d] >= 0) continue;
                int32_t px = x + p3d_dir_dx(d), py = y + p3d_dir_dy(d);
                if (px < 0 || py < 0 || px >= l->ext_w || py >= l->ext_h) continue;
                for (int32_t b = l->head[py * l->ext_w + px]; b >= 0; b = l->next[b])
                    if (l->iter[b] == mask_iter && l->depth[b] > l->depth[a] && mask_edge[b] != mask_edge[a])
                        offer(claim, nx, &n_off, b, mask_edge[a]);
            }
        }
        qsort(nx, (size_t)n_off, sizeof *nx, cmp_i32);
        for (int32_t i = 0; i < n_off; i++) {
            int32_t b = nx[i];
            ctx_edge[b] = claim[b];
            ctx_ring[b] = 0;
            claim[b] = INT_MAX;
            cf[n_cf++] = b;
        }
        for (int32_t ring = 1; ring < rings; ring++) {
            /* mask ring */
            n_off = 0;
            {
                for (int32_t i = 0; i < n_mf; i++) {
                    int32_t a = mf[i], id = mask_edge[a];
                    for (int32_t d = 0; d < 4; d++) {
                        int32_t b = l->link[4 * (size_t)a + d];
                        if (b < 0 || l->iter[b] != mask_iter || mask_edge[b] >= 0 || ctx_edge[b] == id) continue;
                        if (ring >= 2 && near_context(l, ctx_edge, b, id)) continue;
                        offer(claim, nx, &n_off, b, id);
                    }
                }
                qsort(nx, (size_t)n_off, sizeof *nx, cmp_i32);
                n_mf = 0;
                for (int32_t i = 0; i < n_off; i++) {
                    int32_t b = nx[i];
                    mask_edge[b] = claim[b];
                    mask_ring[b] = ring;
                    claim[b] = INT_MAX;
                    mf[n_mf++] = b;
                }
            }
            /* context ring */
            if (ring < ct) {
                n_off = 0;
                for (int32_t i = 0; i < n_cf; i++) {
                    int32_t a = cf[i], id = ctx_edge[a];
                    for (int32_t d = 0; d < 4; d++) {
                        int32_t b = l->link[4 * (size_t)a + d];
                        if (b < 0 || ctx_edge[b] >= 0 || mask_edge[b] == id) continue;
                        offer(claim, nx, &n_off, b, id);
                    }
                }
                qsort(nx, (size_t)n_off, sizeof *nx, cmp_i32);
                n_cf = 0;
                for (int32_t i = 0; i < n_off; i++) {
                    int32_t b = nx[i];
                    ctx_edge[b] = claim[b];
                    ctx_ring[b] = ring;
                    claim[b] = INT_MAX;
                    cf[n_cf++] = b;
                }
            }
            if (n_mf == 0 && n_cf == 0) break;
        }
        /* Mask rings past background_thickness were blockers only. */
        for (int32_t a = 0; a < n; a++) {
            if (mask_edge[a] >= 0 && mask_ring[a] >= bg) mask_edge[a] = -1;
            if (mask_edge[a] >= 0) out->n_mask[mask_edge[a]]++;
            if (ctx_edge[a] >= 0) {
                out->n_ctx[ctx_edge[a]]++;
                ring_count[(size_t)ctx_edge[a] * (size_t)(ct + 1) + (size_t)ctx_ring[a]]++;
            }
        }
        if (pass == 0 && o->depth_edge_dilate > 0) {
            /* erosion width per edge: w rings while they hold <= 30% of the context */
            int32_t *wv = (int32_t *)malloc(((size_t)ne + 1) * sizeof *wv);
            if (!wv) {
                st = p3d_fail(P3D_ERR_OOM, "LDI regions: out of memory");
            } else {
                for (int32_t id = 0; id < ne; id++) {
                    const int32_t *rc = ring_count + (size_t)id * (size_t)(ct + 1);
                    int32_t w = o->depth_edge_dilate < ct ? o->depth_edge_dilate : ct;
                    for (;;) {
                        int64_t inside = 0;
                        for (int32_t k = 0; k < w; k++) inside += rc[k];
                        if (w == 0 || (double)inside <= 0.3 * (double)out->n_ctx[id]) break;
                        w--;
                    }
                    wv[id] = w;
                }
                for (int32_t a = 0; a < n; a++)
                    if (ctx_edge[a] >= 0 && ctx_ring[a] < wv[ctx_edge[a]]) out->erode[a] = 1;
                free(wv);
            }
        }
    }
    free(mask_ring), free(ctx_ring), free(claim), free(mf), free(cf), free(nx), free(ring_count);
    if (st != P3D_OK) {
        free(mask_edge), free(ctx_edge);
        p3d_ldi_regions_free(out);
        return st;
    }
    out->n_nodes = n;
    out->n_edges = ne;
    out->mask_edge = mask_edge;
    out->ctx_edge = ctx_edge;
    return P3D_OK;
}
