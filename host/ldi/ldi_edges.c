/* ldi_edges.c - depth edges of the LDI and the reference's cleanup of them (spec 2.7, 2.9, 2.10,
 * 2.13, 2.14).
 *
 * Roles (update_status, spec 2.9): a node with a neighbour position holding a farther node of the
 * same pass that it is not linked to is on the NEAR side of a discontinuity - those far nodes are
 * the background the inpainting extends (in pass 2 also on a linked side: a pass-1 node behind a
 * thin object links to the layer-0 surface it continues while another pass-1 layer lies behind
 * that position; ldi_graph_math.h); a node whose unlinked neighbours are all nearer is on the far
 * side. A node that is both (a one-pixel-wide sliver) counts as near: the reference's conflict
 * resolution (remove_conflict_ordinal) keeps such nodes' far lists for the same reason.
 *
 * Edges (group_edges): components of same-role nodes joined through links - 4-adjacent nodes that
 * are linked, and diagonal nodes that share a linked corner node (the path a - c - b through the
 * 4-neighbour c) with disparities within depth_threshold (the reference's one-sided test; |.| here).
 * Edge ids follow the smallest node id of each component (raster order), so they do not depend on
 * visiting order (quirk 34). Roles, neighbours and the cleanup's link edits between its two searches
 * are decided per node by ldi_graph_math.h, on a CUDA context by cuda/ldi/ldi.cu. */
#include <stdlib.h>
#include <string.h>

#include "ldi/ldi_graph_math.h"
#include "ldi/ldi_stages.h"

void p3d_ldi_edges_free(p3d_ldi_edges *e) {
    if (!e) return;
    free(e->edge);
    free(e->near);
    free(e->size);
    memset(e, 0, sizeof *e);
}

/* The examined box of an edge search: pass iter_min..iter_max, one pixel inside the populated area
 * (spec 2.7): the image before the border exists, the whole canvas after. */
static p3d_ldi_box edge_box(const p3d_ldi *l, int32_t iter_min, int32_t iter_max) {
    const int32_t full = l->head[0] >= 0;
    p3d_ldi_box c;
    c.iter_min = iter_min;
    c.iter_max = iter_max;
    c.x0 = full ? 1 : l->border + 1;
    c.y0 = full ? 1 : l->border + 1;
    c.x1 = full ? l->ext_w - 2 : l->border + l->width - 2;
    c.y1 = full ? l->ext_h - 2 : l->border + l->height - 2;
    return c;
}

/* CPU: roles, edge-graph degrees and edge components (union-find; roots are the smallest node of
 * each component). out->edge must hold n nodes; near and size are allocated here. */
static p3d_status find_edges_cpu(const p3d_ldi *l, const p3d_ldi_box *c, float thr, p3d_ldi_edges *out,
                                 uint8_t *role, uint8_t *degree) {
    const int32_t n = l->n_nodes;
    int32_t *parent = (int32_t *)malloc(((size_t)n + 1) * sizeof *parent);
    if (!parent) return p3d_fail(P3D_ERR_OOM, "LDI edges: out of memory");
#pragma omp parallel for schedule(static)
    for (int32_t a = 0; a < n; a++) role[a] = p3d_ldi_role(l, c, a);
    for (int32_t a = 0; a < n; a++) parent[a] = a;
    for (int32_t a = 0; a < n; a++) {
        degree[a] = 0;
        if (!role[a]) continue;
        int32_t nb[8];
        int32_t k = p3d_ldi_edge_neighbours(l, role, a, thr, nb);
        degree[a] = (uint8_t)k;
        for (int32_t i = 0; i < k; i++) p3d_uf_union(parent, a, nb[i]);
    }
    int32_t n_edges = 0;
    for (int32_t a = 0; a < n; a++) {
        out->edge[a] = -1;
        if (role[a] && p3d_uf_find(parent, a) == a) out->edge[a] = n_edges++;
    }
    out->near = (uint8_t *)calloc((size_t)n_edges + 1, 1);
    out->size = (int32_t *)calloc((size_t)n_edges + 1, sizeof *out->size);
    if (!out->near || !out->size) {
        free(parent);
        return p3d_fail(P3D_ERR_OOM, "LDI edges: out of memory");
    }
    for (int32_t a = 0; a < n; a++) {
        if (!role[a]) continue;
        int32_t e = out->edge[p3d_uf_find(parent, a)];
        out->edge[a] = e;
        out->size[e]++;
        out->near[e] = role[a] == P3D_LDI_ROLE_NEAR;
    }
    out->n_edges = n_edges;
    free(parent);
    return P3D_OK;
}

/* Finds roles and edges on the context's device; also returns the roles and per-node edge-graph
 * degree when asked (the CPU cleanup; the device's keeps them on the device). Edge ids follow the
 * smallest node of each component on both backends. */
static p3d_status find_edges(p3d_ctx *ctx, const p3d_ldi *l, const p3d_ldi_opts *o, int32_t iter_min,
                             int32_t iter_max, p3d_ldi_edges *out, uint8_t **role_out, uint8_t **degree_out) {
    memset(out, 0, sizeof *out);
    const int32_t n = l->n_nodes;
    const p3d_ldi_box c = edge_box(l, iter_min, iter_max);
    uint8_t *role = (uint8_t *)calloc((size_t)n + 1, 1);
    uint8_t *degree = (uint8_t *)calloc((size_t)n + 1, 1);
    out->edge = (int32_t *)malloc(((size_t)n + 1) * sizeof *out->edge);
    p3d_status s = P3D_OK;
    if (!role || !degree || !out->edge) s = p3d_fail(P3D_ERR_OOM, "LDI edges: out of memory");
    if (s == P3D_OK) {
#ifdef P3D_HAVE_CUDA
        if (ctx && p3d_ctx_cuda(ctx))
            s = p3d_ldi_edges_cuda(p3d_ctx_cuda(ctx), l, &c, o->depth_threshold, out);
        else
#endif
            s = find_edges_cpu(l, &c, o->depth_threshold, out, role, degree);
    }
    if (s != P3D_OK) {
        free(role), free(degree);
        p3d_ldi_edges_free(out);
        return s;
    }
    out->n_nodes = n;
    if (role_out)
        *role_out = role;
    else
        free(role);
    if (degree_out)
        *degree_out = degree;
    else
        free(degree);
    return P3D_OK;
}

p3d_status p3d_ldi_edges_find_ctx(p3d_ctx *ctx, const p3d_ldi *l, const p3d_ldi_opts *o, int32_t iter_min,
                                  int32_t iter_max, p3d_ldi_edges *out) {
    return find_edges(ctx, l, o, iter_min, iter_max, out, NULL, NULL);
}

p3d_status p3d_ldi_edges_find(const p3d_ldi *l, const p3d_ldi_opts *o, int32_t iter_min, int32_t iter_max,
                              p3d_ldi_edges *out) {
    return find_edges(NULL, l, o, iter_min, iter_max, out, NULL, NULL);
}

/* CPU: the cleanup's link edits on l from the first search's results (e, role, degree), with the
 * rules of ldi_graph_math.h: free ends per short edge, the removed edges, then one edit per pixel pair
 * decided from the links as they were before the edits. */
static p3d_status cleanup_edits_cpu(p3d_ldi *l, const p3d_ldi_opts *o, const p3d_ldi_edges *e, const uint8_t *role,
                                    const uint8_t *degree, int32_t *removed, int32_t *joined) {
    const int32_t n = l->n_nodes, ne = e->n_edges;
    int32_t *free_ends = (int32_t *)calloc((size_t)ne + 1, sizeof *free_ends);
    uint8_t *drop = (uint8_t *)calloc((size_t)ne + 1, 1);
    if (!free_ends || !drop) {
        free(free_ends), free(drop);
        return p3d_fail(P3D_ERR_OOM, "LDI cleanup: out of memory");
    }
    for (int32_t a = 0; a < n; a++) {
        const int32_t k = p3d_ldi_end_count(l, e->edge, e->size, degree, o->redundant_number, a);
        if (k) free_ends[e->edge[a]] += k;
    }
    int32_t n_removed = 0, n_joined = 0;
    for (int32_t id = 0; id < ne; id++) {
        drop[id] = p3d_ldi_short_drop(e->size[id], e->near[id], free_ends[id], o->redundant_number);
        n_removed += drop[id];
    }
    /* a pair's decision reads only its own two link slots, which no other pair's edit writes: linking
     * at once gives what deciding every pair first would (the device's order) */
    const p3d_ldi_cleanup_edges c = {e->edge, e->near, drop, role, degree};
    for (int32_t a = 0; a < n; a++)
        for (int32_t d = P3D_DIR_DOWN; d <= P3D_DIR_RIGHT; d += 2) {
            int32_t b;
            const int32_t kind = p3d_ldi_cleanup_edit(l, &c, a, d, &b);
            if (kind) p3d_ldi_link(l, a, d, b);
            n_joined += kind == P3D_LDI_EDIT_JOIN;
        }
    free(free_ends), free(drop);
    *removed = n_removed;
    *joined = n_joined;
    return P3D_OK;
}

/* Short edges (remove_redundant_edge, spec 2.14) are healed: their torn links to the layer-0 neighbours
 * that are not on another near-side edge are re-made; ends of edges are joined (combine_end_node, spec
 * 2.13); then the edges are found again. The edits' rules: ldi_graph_math.h. On a CUDA context the
 * first search and the edits run on the device (p3d_ldi_cleanup_cuda) and only the list of edits comes
 * back. */
p3d_status p3d_ldi_cleanup_ctx(p3d_ctx *ctx, p3d_ldi *l, const p3d_ldi_opts *o, p3d_ldi_edges *edges,
                               int32_t *removed, int32_t *joined) {
    int32_t n_removed = 0, n_joined = 0;
#ifdef P3D_HAVE_CUDA
    if (ctx && p3d_ctx_cuda(ctx)) {
        const p3d_ldi_box box = edge_box(l, 0, 0);
        P3D_TRY(p3d_ldi_cleanup_cuda(p3d_ctx_cuda(ctx), l, &box, o->depth_threshold, o->redundant_number, &n_removed,
                                     &n_joined));
    } else
#endif
    {
        uint8_t *role = NULL, *degree = NULL;
        p3d_ldi_edges e;
        P3D_TRY(find_edges(NULL, l, o, 0, 0, &e, &role, &degree));
        const p3d_status s = cleanup_edits_cpu(l, o, &e, role, degree, &n_removed, &n_joined);
        free(role), free(degree);
        p3d_ldi_edges_free(&e);
        P3D_TRY(s);
    }
    if (removed) *removed = n_removed;
    if (joined) *joined = n_joined;
    return find_edges(ctx, l, o, 0, 0, edges, NULL, NULL);
}

p3d_status p3d_ldi_cleanup(p3d_ldi *l, const p3d_ldi_opts *o, p3d_ldi_edges *edges, int32_t *removed,
                           int32_t *joined) {
    return p3d_ldi_cleanup_ctx(NULL, l, o, edges, removed, joined);
}
