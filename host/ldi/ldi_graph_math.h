/* ldi_graph_math.h - per-element decisions of the LDI graph stages (ldi_build.c, ldi_edges.c,
 * ldi_regions.c), written once for the CPU loops and the CUDA kernels of cuda/ldi/ldi.cu (P3D_HD, see
 * p3d_hd.h). Every function reads the flat LDI arrays (ldi.h) through a p3d_ldi whose pointers are
 * host memory on the CPU and device memory in a kernel (rgb and label are not read), and decides one
 * element: one grid link, one node's role, one node's edge-graph neighbours, one cleanup edit, one ring
 * offer. */
#ifndef P3D_LDI_GRAPH_MATH_H
#define P3D_LDI_GRAPH_MATH_H

#include <stdint.h>

#include "ldi/ldi.h"
#include "ldi/ldi_math.h"

/* ---- build (spec 2.5): grid links of the W x H image, flags per pixel i = v * W + u ---------------- */

/* Sequential union-find with path halving (the CPU passes; the kernels use their own lock-free
 * hooking, cuda/ldi/ldi.cu): the root is always the smallest index of the set, so labels do not depend
 * on the order the unions happen in, and match the kernels' labels. */
static inline int32_t p3d_uf_find(int32_t *parent, int32_t a) {
    while (parent[a] != a) {
        parent[a] = parent[parent[a]];
        a = parent[a];
    }
    return a;
}

static inline void p3d_uf_union(int32_t *parent, int32_t a, int32_t b) {
    a = p3d_uf_find(parent, a);
    b = p3d_uf_find(parent, b);
    if (a < b)
        parent[b] = a;
    else if (b < a)
        parent[a] = b;
}

/* The link of pixel (u, v) to its right (down = 0) or lower (down = 1) neighbour by the tear rule;
 * 0 when that neighbour is outside the image. depth (H, W). */
P3D_HD uint8_t p3d_ldi_grid_joined(const float *depth, int32_t w, int32_t h, int32_t u, int32_t v, int32_t down,
                                   float threshold) {
    const int32_t i = v * w + u;
    if (down) return (uint8_t)(v + 1 < h && p3d_ldi_joined(depth[i], depth[i + w], threshold));
    return (uint8_t)(u + 1 < w && p3d_ldi_joined(depth[i], depth[i + 1], threshold));
}

/* The same link after the one dangling pass, from the flags before it (flags0: the right flags for
 * down = 0, the down flags for down = 1). The pass applies to rows 1 .. H-2 (horizontal links) and
 * columns 1 .. W-2 (vertical links), as the reference's np.roll ranges. */
P3D_HD uint8_t p3d_ldi_grid_after_dangling(const uint8_t *flags0, int32_t w, int32_t h, int32_t u, int32_t v,
                                           int32_t down) {
    const int32_t i = v * w + u;
    if (!flags0[i]) return 0;
    if (down) {
        if (u < 1 || u + 1 >= w || v + 1 >= h) return 1;
        return (uint8_t)!p3d_ldi_dangling(1, !flags0[i - 1], !flags0[i + 1]);
    }
    if (v < 1 || v + 1 >= h || u + 1 >= w) return 1;
    return (uint8_t)!p3d_ldi_dangling(1, !flags0[i - w], !flags0[i + w]);
}

/* The smallest component kept at a w x h processing size: opts.min_component is in pixels of the
 * reference's 960-px longer side and scales with the image's area, (longer side / 960)^2, rounded, at
 * least 1. A fixed pixel count drops ever larger parts of the scene as the size goes down: at 450 px
 * the 200-pixel minimum is a 900-pixel patch at 960, and the background seen through the gaps of a
 * lattice (Middlebury cones) was dropped and refilled at the lattice's depth, so a view moved sideways
 * showed it at the wrong place. */
P3D_HD int32_t p3d_ldi_min_component(int32_t min_component, int32_t w, int32_t h) {
    const double side = (double)(w > h ? w : h) / 960.0;
    const int32_t m = (int32_t)floor((double)min_component * side * side + 0.5);
    return m > 1 ? m : 1;
}

/* Whether a pixel of component `label` (size pixels) stays: components under min_component pixels
 * are dropped (spec 2.8), except the largest one (`largest`: its label; ties to the smaller label). */
P3D_HD uint8_t p3d_ldi_keep(int32_t size, int32_t label, int32_t largest, int32_t min_component) {
    return (uint8_t)(size >= min_component || label == largest);
}

/* ---- edges (spec 2.7, 2.9): roles and the edge graph ------------------------------------------- */

enum { P3D_LDI_ROLE_NONE = 0, P3D_LDI_ROLE_NEAR = 1, P3D_LDI_ROLE_FAR = 2 };

/* Which nodes an edge search examines: pass iter_min..iter_max, pixels inside the box x0..x1,
 * y0..y1 (inclusive). */
typedef struct p3d_ldi_box {
    int32_t iter_min, iter_max;
    int32_t x0, y0, x1, y1;
} p3d_ldi_box;

P3D_HD int32_t p3d_ldi_in_pass(const p3d_ldi *l, const p3d_ldi_box *c, int32_t id) {
    return l->iter[id] >= c->iter_min && l->iter[id] <= c->iter_max;
}

/* Role of node a (P3D_LDI_ROLE_*): NEAR when a neighbour position (inside the box grown by one
 * pixel) holds a farther node of the pass that a is not linked to, else FAR when an unlinked
 * neighbour position holds a nearer one, else NONE. Nodes outside the pass or the box have no role.
 * A linked side counts too: in pass 2 a pass-1 node behind a thin foreground object links to the
 * layer-0 surface it continues, while another pass-1 layer lies farther behind at that position;
 * the background between them (hidden behind both) had no edge to grow from, and a view moved
 * sideways saw a gap there. In pass 1 every position holds one node of the pass, so only unlinked
 * sides count, as before. */
P3D_HD uint8_t p3d_ldi_role(const p3d_ldi *l, const p3d_ldi_box *c, int32_t a) {
    if (!p3d_ldi_in_pass(l, c, a)) return P3D_LDI_ROLE_NONE;
    const int32_t x = p3d_ldi_x(l, a), y = p3d_ldi_y(l, a);
    if (x < c->x0 || y < c->y0 || x > c->x1 || y > c->y1) return P3D_LDI_ROLE_NONE;
    int32_t has_far = 0, has_near = 0;
    for (int32_t d = 0; d < 4; d++) {
        const int32_t lk = l->link[4 * (size_t)a + d];
        const int32_t nx = x + p3d_dir_dx(d), ny = y + p3d_dir_dy(d);
        if (nx < c->x0 - 1 || ny < c->y0 - 1 || nx > c->x1 + 1 || ny > c->y1 + 1) continue;
        for (int32_t b = l->head[ny * l->ext_w + nx]; b >= 0; b = l->next[b]) {
            if (b == lk || !p3d_ldi_in_pass(l, c, b)) continue;
            if (l->depth[b] > l->depth[a])
                has_far = 1;
            else if (lk < 0)
                has_near = 1;
        }
    }
    return (uint8_t)(has_far ? P3D_LDI_ROLE_NEAR : has_near ? P3D_LDI_ROLE_FAR : P3D_LDI_ROLE_NONE);
}

/* The edge-graph neighbours of node a (role[a] != NONE) into out, at most 8, returning how many:
 * linked 4-neighbours of the same role, then same-role diagonal nodes b reached through a linked
 * corner node (vertical step then horizontal, else horizontal then vertical) when neither corner node
 * has a's role (the edge then already runs through the corner: the reference's "not neighbours of the
 * node's discontinuity 4-neighbours" rule) and a and b are one surface by the tear rule. */
P3D_HD int32_t p3d_ldi_edge_neighbours(const p3d_ldi *l, const uint8_t *role, int32_t a, float threshold,
                                       int32_t out[8]) {
    int32_t n = 0;
    for (int32_t d = 0; d < 4; d++) {
        const int32_t b = l->link[4 * (size_t)a + d];
        if (b >= 0 && role[b] == role[a]) out[n++] = b;
    }
    for (int32_t i = 0; i < 2; i++)
        for (int32_t j = 0; j < 2; j++) {
            const int32_t vd = i ? P3D_DIR_DOWN : P3D_DIR_UP, hd = j ? P3D_DIR_RIGHT : P3D_DIR_LEFT;
            const int32_t c1 = l->link[4 * (size_t)a + vd], c2 = l->link[4 * (size_t)a + hd];
            int32_t b = -1;
            if (c1 >= 0) b = l->link[4 * (size_t)c1 + hd];
            if (b < 0 && c2 >= 0) b = l->link[4 * (size_t)c2 + vd];
            if (b < 0 || role[b] != role[a]) continue;
            if ((c1 >= 0 && role[c1] == role[a]) || (c2 >= 0 && role[c2] == role[a])) continue;
            if (!p3d_ldi_joined(l->depth[a], l->depth[b], threshold)) continue;
            out[n++] = b;
        }
    return n;
}

/* ---- cleanup (spec 2.13, 2.14): the link edits between the two edge searches -------------------- */

/* The cleanup's decisions read the first search's results only (edge ids per node, per-edge size,
 * near flag and drop flag, per-node role and edge-graph degree) and the links as they were before any
 * edit, so they are the same whatever order the nodes are visited in (the CPU loop, a kernel). Every
 * edit links the nearest nodes of two 4-adjacent pixels (the cleanup runs on the input layer, one node a
 * pixel), and each pixel pair is decided once, from its upper or left pixel: no two decisions share a
 * link slot. */

/* 1 when a pixel of the 3x3 window around node a holds a node b with id[b] == e (other = 0), or with an
 * id that is neither e nor -1 (other = 1). */
P3D_HD int32_t p3d_ldi_window_holds(const p3d_ldi *l, const int32_t *id, int32_t a, int32_t e, int32_t other) {
    const int32_t x = p3d_ldi_x(l, a), y = p3d_ldi_y(l, a);
    for (int32_t dy = -1; dy <= 1; dy++)
        for (int32_t dx = -1; dx <= 1; dx++) {
            const int32_t nx = x + dx, ny = y + dy;
            if (nx < 0 || ny < 0 || nx >= l->ext_w || ny >= l->ext_h) continue;
            for (int32_t b = l->head[ny * l->ext_w + nx]; b >= 0; b = l->next[b])
                if (other ? id[b] >= 0 && id[b] != e : id[b] == e) return 1;
        }
    return 0;
}

/* 1 when no node of ANOTHER edge lies in the 3x3 window of node a (spec 2.14's "free end"); edge: the
 * edge id of every node of l (-1: none). */
P3D_HD int32_t p3d_ldi_free_end(const p3d_ldi *l, const int32_t *edge, int32_t a) {
    return !p3d_ldi_window_holds(l, edge, a, edge[a], 1);
}

/* Node a's count toward its edge's free ends: 0 unless its edge is short (at most `redundant` nodes)
 * and a is an end (degree <= 1) with no other edge in its window; then 1, or 2 for an isolated node
 * (both ends of a one-node edge). */
P3D_HD int32_t p3d_ldi_end_count(const p3d_ldi *l, const int32_t *edge, const int32_t *size, const uint8_t *degree,
                                 int32_t redundant, int32_t a) {
    const int32_t id = edge[a];
    if (id < 0 || size[id] > redundant || degree[a] > 1 || !p3d_ldi_free_end(l, edge, a)) return 0;
    return degree[a] == 0 ? 2 : 1;
}

/* Whether a short edge is removed (remove_redundant_edge): a near side with >= 1 free end, a far side
 * with >= 2; both are noise of the depth map rather than occlusions worth a hidden layer. */
P3D_HD uint8_t p3d_ldi_short_drop(int32_t size, uint8_t near, int32_t free_ends, int32_t redundant) {
    return (uint8_t)(size <= redundant && free_ends >= (near ? 1 : 2));
}

enum { P3D_LDI_EDIT_NONE = 0, P3D_LDI_EDIT_HEAL = 1, P3D_LDI_EDIT_JOIN = 2 };

/* The first search's results the edits read (host or device arrays): edge, role, degree per node;
 * near and drop per edge. */
typedef struct p3d_ldi_cleanup_edges {
    const int32_t *edge;
    const uint8_t *near, *drop, *role, *degree;
} p3d_ldi_cleanup_edges;

/* May a removed edge id heal onto a node of edge `other`? Not onto another near-side edge that stays
 * (another occluder's outline); the far side of the discontinuity being removed is healed with it. */
P3D_HD int32_t p3d_ldi_heal_onto(const p3d_ldi_cleanup_edges *c, int32_t id, int32_t other) {
    return !(other >= 0 && other != id && !c->drop[other] && c->near[other]);
}

/* The edit of the pixel pair (node a's pixel, its neighbour in direction d, DOWN or RIGHT), a the
 * nearest node of its pixel: P3D_LDI_EDIT_* with *b the neighbour's nearest node to link a to.
 *   HEAL (removal re-makes the torn link, spec 2.14): both input-layer nodes, unlinked on both sides,
 *   one of them on a removed edge and the other allowed to take it (p3d_ldi_heal_onto); depths are
 *   not changed (as the reference).
 *   JOIN (combine_end_node, spec 2.13): ends (degree 1) of two different kept edges of the same role,
 *   unlinked, so a discontinuity interrupted by one pixel becomes one edge. The reference's
 *   must_connect bookkeeping (and its missing abs(), quirk 8) is not needed: the link itself joins the
 *   edges when they are found again.
 * The two never meet at one pair (a heal needs a removed edge, a join two kept ones). */
P3D_HD int32_t p3d_ldi_cleanup_edit(const p3d_ldi *l, const p3d_ldi_cleanup_edges *c, int32_t a, int32_t d,
                                    int32_t *b) {
    const int32_t x = p3d_ldi_x(l, a) + p3d_dir_dx(d), y = p3d_ldi_y(l, a) + p3d_dir_dy(d);
    *b = -1;
    if (x >= l->ext_w || y >= l->ext_h || l->head[l->pix[a]] != a) return P3D_LDI_EDIT_NONE;
    const int32_t nb = l->head[y * l->ext_w + x];
    if (nb < 0 || l->link[4 * (int64_t)a + d] >= 0 || l->link[4 * (int64_t)nb + p3d_dir_opposite(d)] >= 0)
        return P3D_LDI_EDIT_NONE;
    const int32_t ea = c->edge[a], eb = c->edge[nb];
    int32_t kind = P3D_LDI_EDIT_NONE;
    if (!l->iter[a] && !l->iter[nb] &&
        ((ea >= 0 && c->drop[ea] && p3d_ldi_heal_onto(c, ea, eb)) || (eb >= 0 && c->drop[eb] && p3d_ldi_heal_onto(c, eb, ea))))
        kind = P3D_LDI_EDIT_HEAL;
    else if (ea >= 0 && eb >= 0 && ea != eb && !c->drop[ea] && !c->drop[eb] && c->degree[a] == 1 && c->degree[nb] == 1 &&
             c->role[a] == c->role[nb])
        kind = P3D_LDI_EDIT_JOIN;
    if (kind) *b = nb;
    return kind;
}

/* ---- regions (spec 2.16): the ring offers of the multi-source breadth-first search --------------- */

/* The rings of one pass: mask and context grow for `rings` = max(bg, ct) rings, the context only for
 * its first ct, the mask is synthesised for its first bg; erosion over at most `dilate` context rings
 * (0: none); the mask grows over nodes of iter mask_iter. */
typedef struct p3d_ldi_ring_plan {
    int32_t bg, ct, rings, dilate;
    uint8_t mask_iter;
} p3d_ldi_ring_plan;

/* Ring 0 of the masks: node a's edge when a is a node of a near-side edge (edge, near of
 * p3d_ldi_edges, computed for the first n_edge_nodes nodes), else -1. */
P3D_HD int32_t p3d_ldi_ring0_edge(const int32_t *edge, const uint8_t *near, int32_t n_edge_nodes, int32_t a) {
    const int32_t id = a < n_edge_nodes ? edge[a] : -1;
    return id >= 0 && near[id] ? id : -1;
}

/* A node's synthesis edge after the rings: mask rings past bg were blockers only. */
P3D_HD int32_t p3d_ldi_mask_final(int32_t mask_edge, int32_t mask_ring, int32_t bg) {
    return mask_edge >= 0 && mask_ring >= bg ? -1 : mask_edge;
}

/* 1 when a pixel of the 3x3 window around node a holds a context node of edge e. ctx_edge is read
 * as committed by the previous context ring (the mask ring that calls this writes only mask_edge). */
P3D_HD int32_t p3d_ldi_near_context(const p3d_ldi *l, const int32_t *ctx_edge, int32_t a, int32_t e) {
    return p3d_ldi_window_holds(l, ctx_edge, a, e, 0);
}

/* Ring 0 of the context: may mask node a (of ring 0) offer node b, which lies at the pixel beyond
 * one of a's sides (not the node a links to there), to the context of its edge? b must be a node the mask grows over (iter
 * mask_iter), behind a, and not of a's own mask. */
P3D_HD int32_t p3d_ldi_ctx0_takes(const p3d_ldi *l, const int32_t *mask_edge, uint8_t mask_iter, int32_t a,
                                  int32_t b) {
    return l->iter[b] == mask_iter && l->depth[b] > l->depth[a] && mask_edge[b] != mask_edge[a];
}

/* Mask ring `ring` >= 1: may the mask of edge e take node b (linked to a frontier node of e)? b must
 * be of the grown layer, in no mask yet, not e's context, and (from ring 2 on) not next to e's
 * context. */
P3D_HD int32_t p3d_ldi_mask_takes(const p3d_ldi *l, const int32_t *mask_edge, const int32_t *ctx_edge,
                                  uint8_t mask_iter, int32_t ring, int32_t b, int32_t e) {
    if (b < 0 || l->iter[b] != mask_iter || mask_edge[b] >= 0 || ctx_edge[b] == e) return 0;
    return !(ring >= 2 && p3d_ldi_near_context(l, ctx_edge, b, e));
}

/* Context ring >= 1: may the context of edge e take node b (linked to a frontier node of e)? b must
 * be in no context yet and in no mask (as committed by this ring's mask step), e's or another edge's:
 * a mask holds the foreground side of its edge. One depth contour is often several edges (its far
 * side changes surface, e.g. sky then ground along a silhouette); when a context could cross the
 * neighbouring edges' masks it wrapped round onto the foreground, the fill took the foreground's depth
 * for the hidden layer, and a view moved sideways saw no geometry behind the silhouette (moon at 960,
 * left of the helmet: 1373 background pixels at -2 cm). (e is kept for the callers' symmetry.) */
P3D_HD int32_t p3d_ldi_ctx_takes(const int32_t *mask_edge, const int32_t *ctx_edge, int32_t b, int32_t e) {
    (void)e;
    return b >= 0 && ctx_edge[b] < 0 && mask_edge[b] < 0;
}

/* Erosion width of one edge (pass 1): w = min(dilate, ct) context rings, lowered while rings 0..w-1
 * hold more than 30% of the edge's n_ctx context nodes. ring_count: (ct + 1) nodes per context ring. */
P3D_HD int32_t p3d_ldi_erode_width(const int32_t *ring_count, int32_t ct, int32_t dilate, int32_t n_ctx) {
    int32_t w = dilate < ct ? dilate : ct;
    for (;;) {
        int64_t inside = 0;
        for (int32_t k = 0; k < w; k++) inside += ring_count[k];
        if (w == 0 || (double)inside <= 0.3 * (double)n_ctx) break;
        w--;
    }
    return w;
}

/* ---- write-back: joining the new nodes of a pass or of the border (ldi_inpaint.c link_new) --------- */

/* The node that new node a joins in direction d: the nearest node of `iter` at the neighbouring pixel
 * whose opposite link is free and that the tear rule joins to a; -1 when there is none, when a's link d
 * is taken, or when the neighbouring pixel is outside the canvas. link_new asks it for every new node
 * in ascending id, directions in order, and links each answer at once. */
P3D_HD int32_t p3d_ldi_new_link_target(const p3d_ldi *l, int32_t a, int32_t d, uint8_t iter, float thr) {
    if (l->link[4 * (int64_t)a + d] >= 0) return -1;
    const int32_t xx = p3d_ldi_x(l, a) + p3d_dir_dx(d), yy = p3d_ldi_y(l, a) + p3d_dir_dy(d);
    if (xx < 0 || yy < 0 || xx >= l->ext_w || yy >= l->ext_h) return -1;
    for (int32_t b = l->head[yy * l->ext_w + xx]; b >= 0; b = l->next[b]) {
        if (l->iter[b] != iter || l->link[4 * (int64_t)b + p3d_dir_opposite(d)] >= 0) continue;
        if (p3d_ldi_joined(l->depth[a], l->depth[b], thr)) return b;
    }
    return -1;
}

/* The smallest new node (id >= first) at pixel p above id `after`, or -1. */
P3D_HD int32_t p3d_ldi_new_after(const p3d_ldi *l, int32_t p, int32_t first, int32_t after) {
    int32_t best = -1;
    for (int32_t b = l->head[p]; b >= 0; b = l->next[b])
        if (b >= first && b > after && (best < 0 || b < best)) best = b;
    return best;
}

/* link_new in parallel, one pixel pair at a time. A link decision of new node a in direction d reads and
 * writes only the link slots that face each other across the pair of pixels (a's pixel, its neighbour
 * in d): so link_new's sequence, restricted to one pair, is the new nodes of the two pixels in ascending
 * id, each asking p3d_ldi_new_link_target across the pair, and the pairs do not depend on each other.
 * Called for new node a and direction d, this replays the pair's sequence when a is the smallest new node
 * of the two pixels (so each pair is replayed once) and returns 1; else it returns 0 and changes nothing.
 * The result equals link_new's, link for link. */
P3D_HD int32_t p3d_ldi_new_link_pair(p3d_ldi *l, int32_t first, int32_t a, int32_t d, uint8_t iter, float thr) {
    const int32_t x = p3d_ldi_x(l, a), y = p3d_ldi_y(l, a);
    const int32_t xx = x + p3d_dir_dx(d), yy = y + p3d_dir_dy(d);
    if (xx < 0 || yy < 0 || xx >= l->ext_w || yy >= l->ext_h) return 0;
    const int32_t p = y * l->ext_w + x, q = yy * l->ext_w + xx;
    const int32_t q0 = p3d_ldi_new_after(l, q, first, -1);
    if (p3d_ldi_new_after(l, p, first, -1) != a || (q0 >= 0 && q0 < a)) return 0;
    for (int32_t c = a, cp = a, cq = q0; c >= 0;) {
        const int32_t dir = c == cp ? d : p3d_dir_opposite(d);
        const int32_t b = p3d_ldi_new_link_target(l, c, dir, iter, thr);
        if (b >= 0) {
            l->link[4 * (int64_t)c + dir] = b;
            l->link[4 * (int64_t)b + p3d_dir_opposite(dir)] = c;
        }
        if (c == cp) cp = p3d_ldi_new_after(l, p, first, c);
        else cq = p3d_ldi_new_after(l, q, first, c);
        c = cp < 0 ? cq : cq < 0 ? cp : cp < cq ? cp : cq;
    }
    return 1;
}

#endif
