/* test_ldi_cuda.c - the LDI graph stages' shared per-element rules (ldi_graph_math.h) and their CUDA
 * twins (cuda/ldi/ldi.cu).
 *
 * CPU (always): on random grids and random multi-layer LDIs, every rule of ldi_graph_math.h equals
 * the straightforward transcription of the loops it was taken out of (written out again below):
 * the tear + dangling pass, node roles, edge-graph neighbours (same nodes in the same order), the
 * ring offers, near_context and the erosion width; on synthetic islands the build's refill equals
 * its former loops; on random one-layer LDIs the cleanup's edits (each pixel pair decided from the
 * links before any edit) equal its former one-after-another loops.
 * CPU vs CUDA (SKIP without a usable GPU): build, cleanup (both edge searches and the edits made on
 * the device, nothing sent up for them with the resident device LDI), edges of passes 1 and
 * 2 and regions of both passes give identical outputs on the synthetic scene of test_ldi.c, on random
 * LDIs, on synthetic islands for the island refill, and on moon (../shared/fixtures) through the depth
 * preparation at a longer side of 320; and
 * the same with the resident device LDI across stages that the host edits in between. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p3d_test.h"

#include "io/image_io.h"
#include "nn_oracle.h"
#include "pipeline/photo3d.h"
#include "io/resize_area.h"
#include "inpaint/fill_classic_math.h"
#include "ldi/ldi_gather_math.h"

static p3d_ctx *g_cpu, *g_gpu;
static char g_why[600];

/* 1 when a GPU context exists; otherwise the case is a SKIP naming why. */
static int have_gpu(void) {
    if (!g_gpu) SKIP_GPU("CPU-vs-CUDA comparison not run: %s", g_why);
    return g_gpu != NULL;
}

static uint32_t g_rng = 12345u;
static uint32_t rnd(uint32_t n) {
    g_rng = g_rng * 1664525u + 1013904223u;
    return (g_rng >> 8) % n;
}

/* ---- the loops the rules came from, written out plainly ---------------------------------------- */

/* Tear, then one dangling pass over copies of the flags (np.roll semantics). */
static void ref_tear(const float *d, int32_t w, int32_t h, float thr, uint8_t *right, uint8_t *down) {
    size_t n = (size_t)w * h;
    uint8_t *r0 = (uint8_t *)malloc(n), *d0 = (uint8_t *)malloc(n);
    for (int32_t v = 0; v < h; v++)
        for (int32_t u = 0; u < w; u++) {
            size_t i = (size_t)v * w + u;
            r0[i] = u + 1 < w && fabsf(1.0f / d[i] - 1.0f / d[i + 1]) <= thr;
            d0[i] = v + 1 < h && fabsf(1.0f / d[i] - 1.0f / d[i + w]) <= thr;
        }
    memcpy(right, r0, n);
    memcpy(down, d0, n);
    for (int32_t v = 1; v + 1 < h; v++)
        for (int32_t u = 0; u + 1 < w; u++) {
            size_t i = (size_t)v * w + u;
            if (r0[i] && !r0[i - w] && !r0[i + w]) right[i] = 0;
        }
    for (int32_t v = 0; v + 1 < h; v++)
        for (int32_t u = 1; u + 1 < w; u++) {
            size_t i = (size_t)v * w + u;
            if (d0[i] && !d0[i - 1] && !d0[i + 1]) down[i] = 0;
        }
    free(r0);
    free(d0);
}

static int32_t ref_in_pass(const p3d_ldi *l, const p3d_ldi_box *c, int32_t id) {
    return l->iter[id] >= c->iter_min && l->iter[id] <= c->iter_max;
}

static int32_t ref_role(const p3d_ldi *l, const p3d_ldi_box *c, int32_t a) {
    if (!ref_in_pass(l, c, a)) return 0;
    int32_t x = l->pix[a] % l->ext_w, y = l->pix[a] / l->ext_w;
    if (x < c->x0 || y < c->y0 || x > c->x1 || y > c->y1) return 0;
    static const int32_t dx[4] = {0, 0, -1, 1}, dy[4] = {-1, 1, 0, 0};
    int32_t has_far = 0, has_near = 0;
    for (int32_t d = 0; d < 4; d++) {
        int32_t nx = x + dx[d], ny = y + dy[d], linked = l->link[4 * a + d];
        if (nx < c->x0 - 1 || ny < c->y0 - 1 || nx > c->x1 + 1 || ny > c->y1 + 1) continue;
        /* a farther node of the pass counts on any side unless it is the linked one; a nearer one
         * only on an unlinked side */
        for (int32_t b = l->head[ny * l->ext_w + nx]; b >= 0; b = l->next[b]) {
            if (!ref_in_pass(l, c, b) || b == linked) continue;
            if (l->depth[b] > l->depth[a]) has_far = 1;
            else if (linked < 0) has_near = 1;
        }
    }
    return has_far ? 1 : has_near ? 2 : 0;
}

static int32_t ref_neighbours(const p3d_ldi *l, const uint8_t *role, int32_t a, float thr, int32_t out[8]) {
    int32_t n = 0;
    for (int32_t d = 0; d < 4; d++) {
        int32_t b = l->link[4 * a + d];
        if (b >= 0 && role[b] == role[a]) out[n++] = b;
    }
    static const int32_t vd[2] = {0, 1}, hd[2] = {2, 3};
    for (int32_t i = 0; i < 2; i++)
        for (int32_t j = 0; j < 2; j++) {
            int32_t c1 = l->link[4 * a + vd[i]], c2 = l->link[4 * a + hd[j]], b = -1;
            if (c1 >= 0) b = l->link[4 * c1 + hd[j]];
            if (b < 0 && c2 >= 0) b = l->link[4 * c2 + vd[i]];
            if (b < 0 || role[b] != role[a]) continue;
            if ((c1 >= 0 && role[c1] == role[a]) || (c2 >= 0 && role[c2] == role[a])) continue;
            if (!(fabsf(1.0f / l->depth[a] - 1.0f / l->depth[b]) <= thr)) continue;
            out[n++] = b;
        }
    return n;
}

static int32_t ref_near_context(const p3d_ldi *l, const int32_t *ctx_edge, int32_t a, int32_t e) {
    int32_t x = l->pix[a] % l->ext_w, y = l->pix[a] / l->ext_w;
    for (int32_t dy = -1; dy <= 1; dy++)
        for (int32_t dx = -1; dx <= 1; dx++) {
            int32_t nx = x + dx, ny = y + dy;
            if (nx < 0 || ny < 0 || nx >= l->ext_w || ny >= l->ext_h) continue;
            for (int32_t b = l->head[ny * l->ext_w + nx]; b >= 0; b = l->next[b])
                if (ctx_edge[b] == e) return 1;
        }
    return 0;
}

static int32_t ref_erode_width(const int32_t *rc, int32_t ct, int32_t dilate, int32_t n_ctx) {
    int32_t w = dilate < ct ? dilate : ct;
    for (;;) {
        int64_t inside = 0;
        for (int32_t k = 0; k < w; k++) inside += rc[k];
        if (w == 0 || (double)inside <= 0.3 * (double)n_ctx) break;
        w--;
    }
    return w;
}

/* The cleanup's link edits as ldi_edges.c made them one after another (before the rules of
 * ldi_graph_math.h): free ends per short edge, the removed edges, their torn links to the layer-0
 * neighbours re-made (all four sides of every node of a removed edge, in node order), then the ends
 * joined. e: the first search's edges of l; role and degree per node. */
static void ref_cleanup(p3d_ldi *l, const p3d_ldi_edges *e, const uint8_t *role, const uint8_t *degree,
                        int32_t redundant, int32_t *removed, int32_t *joined) {
    static const int32_t dx[4] = {0, 0, -1, 1}, dy[4] = {-1, 1, 0, 0};
    const int32_t n = l->n_nodes, ne = e->n_edges;
    int32_t *free_ends = (int32_t *)calloc((size_t)ne + 1, sizeof *free_ends);
    uint8_t *drop = (uint8_t *)calloc((size_t)ne + 1, 1);
    for (int32_t a = 0; a < n; a++) {
        int32_t id = e->edge[a];
        if (id < 0 || e->size[id] > redundant || degree[a] > 1) continue;
        int32_t x = l->pix[a] % l->ext_w, y = l->pix[a] / l->ext_w, free_end = 1;
        for (int32_t yy = y - 1; yy <= y + 1; yy++)
            for (int32_t xx = x - 1; xx <= x + 1; xx++) {
                if (xx < 0 || yy < 0 || xx >= l->ext_w || yy >= l->ext_h) continue;
                for (int32_t b = l->head[yy * l->ext_w + xx]; b >= 0; b = l->next[b])
                    if (e->edge[b] >= 0 && e->edge[b] != id) free_end = 0;
            }
        if (free_end) free_ends[id] += degree[a] == 0 ? 2 : 1;
    }
    *removed = 0;
    for (int32_t id = 0; id < ne; id++)
        if (e->size[id] <= redundant && free_ends[id] >= (e->near[id] ? 1 : 2)) drop[id] = 1, ++*removed;
    for (int32_t a = 0; a < n; a++) {
        int32_t id = e->edge[a];
        if (id < 0 || !drop[id] || l->iter[a]) continue;
        for (int32_t d = 0; d < 4; d++) {
            int32_t nx = l->pix[a] % l->ext_w + dx[d], ny = l->pix[a] / l->ext_w + dy[d];
            if (l->link[4 * a + d] >= 0 || nx < 0 || ny < 0 || nx >= l->ext_w || ny >= l->ext_h) continue;
            int32_t b = l->head[ny * l->ext_w + nx];
            int32_t eb = b >= 0 ? e->edge[b] : -1;
            if (b < 0 || l->iter[b] || (eb >= 0 && eb != id && !drop[eb] && e->near[eb])) continue;
            if (l->link[4 * b + (d ^ 1)] >= 0) continue;
            l->link[4 * a + d] = b, l->link[4 * b + (d ^ 1)] = a;
        }
    }
    *joined = 0;
    for (int32_t a = 0; a < n; a++) {
        int32_t id = e->edge[a];
        if (id < 0 || drop[id] || degree[a] != 1) continue;
        for (int32_t d = 1; d < 4; d += 2) {
            int32_t nx = l->pix[a] % l->ext_w + dx[d], ny = l->pix[a] / l->ext_w + dy[d];
            if (l->link[4 * a + d] >= 0 || nx >= l->ext_w || ny >= l->ext_h) continue;
            int32_t b = l->head[ny * l->ext_w + nx];
            if (b < 0 || e->edge[b] < 0 || e->edge[b] == id || drop[e->edge[b]] || degree[b] != 1) continue;
            if (role[b] != role[a] || l->link[4 * b + (d ^ 1)] >= 0) continue;
            l->link[4 * a + d] = b, l->link[4 * b + (d ^ 1)] = a;
            ++*joined;
        }
    }
    free(free_ends), free(drop);
}

/* ---- random inputs ------------------------------------------------------------------------------ */

/* A random depth map of a few levels (disparity steps of 0.0125 to 0.6 around the 0.04 threshold). */
static void random_depth(float *d, int32_t n) {
    static const float levels[6] = {1.0f, 1.02f, 1.05f, 1.6f, 2.5f, 4.0f};
    for (int32_t i = 0; i < n; i++) d[i] = levels[rnd(6)];
}

/* A random LDI on a w x h canvas (border 0): 0-3 layers per pixel (layer 0 of iter 0, deeper layers
 * of iter 0 or 1), random links between nodes of neighbouring pixels. */
static void random_ldi(p3d_ldi *l, int32_t w, int32_t h) {
    p3d_camera cam = {(float)w, (float)w, w * 0.5f, h * 0.5f};
    CHECK_OK(p3d_ldi_init(l, w, h, 0, &cam));
    const uint8_t rgb[3] = {1, 2, 3};
    for (int32_t y = 0; y < h; y++)
        for (int32_t x = 0; x < w; x++) {
            int32_t layers = rnd(10) == 0 ? 0 : 1 + (int32_t)rnd(3) / 2 + (rnd(4) == 0);
            float depth = 1.0f + 0.1f * (float)rnd(30);
            for (int32_t k = 0; k < layers; k++) {
                CHECK_OK(p3d_ldi_add_node(l, x, y, depth, rgb, P3D_LABEL_ORIGINAL, k == 0 ? 0 : (uint8_t)rnd(2), NULL));
                depth += 0.01f + 0.3f * (float)rnd(5);
            }
        }
    for (int32_t a = 0; a < l->n_nodes; a++) {
        int32_t x = p3d_ldi_x(l, a), y = p3d_ldi_y(l, a);
        for (int32_t d = 1; d < 4; d += 2) { /* DOWN, RIGHT */
            int32_t nx = x + p3d_dir_dx(d), ny = y + p3d_dir_dy(d);
            if (nx >= w || ny >= h || rnd(10) < 3 || l->link[4 * a + d] >= 0) continue;
            int32_t cand[8], nc = 0;
            for (int32_t b = l->head[ny * w + nx]; b >= 0 && nc < 8; b = l->next[b])
                if (l->link[4 * b + p3d_dir_opposite(d)] < 0) cand[nc++] = b;
            if (nc) p3d_ldi_link(l, a, d, cand[rnd((uint32_t)nc)]);
        }
    }
    CHECK_OK(p3d_ldi_check(l));
}

/* ---- CPU: the rules equal the loops ------------------------------------------------------------- */

static void test_grid_rules(void) {
    int64_t bad = 0;
    for (int32_t t = 0; t < 200; t++) {
        int32_t w = 1 + (int32_t)rnd(12), h = 1 + (int32_t)rnd(12), n = w * h;
        float *d = (float *)malloc((size_t)n * sizeof *d);
        uint8_t *r = (uint8_t *)malloc((size_t)n), *dn = (uint8_t *)malloc((size_t)n);
        uint8_t *r0 = (uint8_t *)malloc((size_t)n), *d0 = (uint8_t *)malloc((size_t)n);
        random_depth(d, n);
        ref_tear(d, w, h, 0.04f, r, dn);
        for (int32_t v = 0; v < h; v++)
            for (int32_t u = 0; u < w; u++) {
                r0[v * w + u] = p3d_ldi_grid_joined(d, w, h, u, v, 0, 0.04f);
                d0[v * w + u] = p3d_ldi_grid_joined(d, w, h, u, v, 1, 0.04f);
            }
        for (int32_t v = 0; v < h; v++)
            for (int32_t u = 0; u < w; u++) {
                bad += p3d_ldi_grid_after_dangling(r0, w, h, u, v, 0) != r[v * w + u];
                bad += p3d_ldi_grid_after_dangling(d0, w, h, u, v, 1) != dn[v * w + u];
            }
        free(d), free(r), free(dn), free(r0), free(d0);
    }
    CHECK_MSG(bad == 0, "%lld grid links differ from the tear + dangling loops", (long long)bad);
}

static void test_node_rules(void) {
    int64_t bad_role = 0, bad_nb = 0, bad_ring = 0, checked = 0;
    for (int32_t t = 0; t < 60; t++) {
        p3d_ldi l;
        random_ldi(&l, 4 + (int32_t)rnd(12), 4 + (int32_t)rnd(12));
        int32_t n = l.n_nodes;
        p3d_ldi_box box;
        box.iter_min = (int32_t)rnd(2);
        box.iter_max = box.iter_min + (int32_t)rnd(2);
        /* one pixel inside the canvas at least, as the stages' boxes (the grown box stays inside) */
        box.x0 = 1 + (int32_t)rnd(2), box.y0 = 1 + (int32_t)rnd(2);
        box.x1 = l.ext_w - 2 - (int32_t)rnd(2), box.y1 = l.ext_h - 2 - (int32_t)rnd(2);
        uint8_t *role = (uint8_t *)malloc((size_t)n + 1);
        int32_t *mask_edge = (int32_t *)malloc(((size_t)n + 1) * sizeof(int32_t));
        int32_t *ctx_edge = (int32_t *)malloc(((size_t)n + 1) * sizeof(int32_t));
        for (int32_t a = 0; a < n; a++) {
            role[a] = p3d_ldi_role(&l, &box, a);
            bad_role += role[a] != ref_role(&l, &box, a);
            mask_edge[a] = (int32_t)rnd(5) - 2;
            ctx_edge[a] = (int32_t)rnd(5) - 2;
        }
        for (int32_t a = 0; a < n; a++) {
            if (!role[a]) continue;
            int32_t got[8], want[8];
            int32_t k = p3d_ldi_edge_neighbours(&l, role, a, 0.04f, got), kr = ref_neighbours(&l, role, a, 0.04f, want);
            bad_nb += k != kr || memcmp(got, want, (size_t)k * sizeof *got) != 0;
        }
        for (int32_t a = 0; a < n; a++)
            for (int32_t e = -1; e < 3; e++) {
                bad_ring += p3d_ldi_near_context(&l, ctx_edge, a, e) != ref_near_context(&l, ctx_edge, a, e);
                for (int32_t d = 0; d < 4; d++) {
                    int32_t b = l.link[4 * a + d];
                    for (int32_t ring = 1; ring <= 3; ring++) {
                        int32_t want = !(b < 0 || l.iter[b] != 1 || mask_edge[b] >= 0 || ctx_edge[b] == e) &&
                                       !(ring >= 2 && ref_near_context(&l, ctx_edge, b, e));
                        bad_ring += p3d_ldi_mask_takes(&l, mask_edge, ctx_edge, 1, ring, b, e) != want;
                    }
                    bad_ring += p3d_ldi_ctx_takes(mask_edge, ctx_edge, b, e) != !(b < 0 || ctx_edge[b] >= 0 || mask_edge[b] >= 0);
                    checked++;
                }
            }
        for (int32_t a = 0; a < n; a++)
            for (int32_t b = 0; b < n; b++)
                bad_ring += p3d_ldi_ctx0_takes(&l, mask_edge, 0, a, b) !=
                            (l.iter[b] == 0 && l.depth[b] > l.depth[a] && mask_edge[b] != mask_edge[a]);
        free(role), free(mask_edge), free(ctx_edge);
        p3d_ldi_free(&l);
    }
    CHECK_MSG(bad_role == 0, "%lld roles differ from role_of", (long long)bad_role);
    CHECK_MSG(bad_nb == 0, "%lld neighbour lists differ from edge_neighbours", (long long)bad_nb);
    CHECK_MSG(bad_ring == 0, "%lld ring offers differ from the loops' tests", (long long)bad_ring);
    CHECK(checked > 1000);
}

static void test_erode_width(void) {
    int64_t bad = 0;
    for (int32_t t = 0; t < 2000; t++) {
        int32_t ct = (int32_t)rnd(20), dilate = (int32_t)rnd(15), rc[21], total = 0;
        for (int32_t k = 0; k <= ct; k++) total += rc[k] = (int32_t)rnd(50);
        int32_t n_ctx = total + (int32_t)rnd(100);
        bad += p3d_ldi_erode_width(rc, ct, dilate, n_ctx) != ref_erode_width(rc, ct, dilate, n_ctx);
    }
    CHECK_MSG(bad == 0, "%lld erosion widths differ", (long long)bad);
}

/* ---- CPU vs CUDA ------------------------------------------------------------------------------- */

static int same_ldi(const p3d_ldi *a, const p3d_ldi *b) {
    if (a->n_nodes != b->n_nodes || a->ext_w != b->ext_w || a->ext_h != b->ext_h) return 0;
    size_t n = (size_t)a->n_nodes;
    return !memcmp(a->pix, b->pix, n * 4) && !memcmp(a->depth, b->depth, n * 4) && !memcmp(a->rgb, b->rgb, n * 3) &&
           !memcmp(a->label, b->label, n) && !memcmp(a->iter, b->iter, n) && !memcmp(a->link, b->link, n * 16) &&
           !memcmp(a->next, b->next, n * 4) && !memcmp(a->head, b->head, (size_t)a->ext_w * a->ext_h * 4);
}

static int same_edges(const p3d_ldi_edges *a, const p3d_ldi_edges *b) {
    return a->n_edges == b->n_edges && a->n_nodes == b->n_nodes &&
           !memcmp(a->edge, b->edge, (size_t)a->n_nodes * 4) && !memcmp(a->near, b->near, (size_t)a->n_edges) &&
           !memcmp(a->size, b->size, (size_t)a->n_edges * 4);
}

/* A random map for the cleanup (w, h >= 6): a plane at 4 with random boxes of other depths and noise
 * (edges with many ends, some a pixel apart), and short runs of other depths on the image's outermost
 * rows and columns: the edges beside them, one pixel inside, have no other edge in their windows (the
 * runs themselves lie outside the searched box), so they are the short edges with free ends that the
 * cleanup removes. */
static void cleanup_map(float *d, int32_t w, int32_t h) {
    static const float levels[6] = {1.0f, 1.02f, 1.05f, 1.6f, 2.5f, 8.0f};
    for (int32_t i = 0; i < w * h; i++) d[i] = 4.0f;
    for (int32_t k = 0; k < 6; k++) {
        const int32_t x0 = 3 + (int32_t)rnd((uint32_t)w - 5), y0 = 3 + (int32_t)rnd((uint32_t)h - 5);
        const int32_t x1 = x0 + 1 + (int32_t)rnd(12), y1 = y0 + 1 + (int32_t)rnd(12);
        const float v = levels[rnd(6)];
        for (int32_t y = y0; y < y1 && y < h - 3; y++)
            for (int32_t x = x0; x < x1 && x < w - 3; x++) d[y * w + x] = k == 5 ? levels[rnd(6)] : v;
    }
    for (int32_t k = 0; k < 8; k++) {
        const int32_t side = (int32_t)rnd(4), len = 1 + (int32_t)rnd(4), at = 2 + (int32_t)rnd(8);
        const float v = levels[rnd(6)];
        for (int32_t j = at; j < at + len; j++) {
            if (side < 2 && j < h - 2) d[j * w + (side ? w - 1 : 0)] = v;
            if (side >= 2 && j < w - 2) d[(side == 3 ? h - 1 : 0) * w + j] = v;
        }
    }
}

/* A one-layer LDI from cleanup_map, every component kept; border: the empty canvas margin. */
static void random_layer(p3d_ldi *l, int32_t w, int32_t h, int32_t border, p3d_ldi_opts *o) {
    float *d = (float *)malloc((size_t)w * h * sizeof *d);
    uint8_t *rgb = (uint8_t *)calloc((size_t)w * h * 3, 1);
    cleanup_map(d, w, h);
    *o = p3d_ldi_opts_default();
    o->border = border;
    o->min_component = 1;
    p3d_camera cam = {(float)w, (float)w, w * 0.5f, h * 0.5f};
    p3d_ldi_build_stats bs;
    CHECK_OK(p3d_ldi_init(l, w, h, border, &cam));
    CHECK_OK(p3d_ldi_build(l, rgb, d, o, &bs));
    free(d), free(rgb);
}

/* The cleanup's edits by the rules of ldi_graph_math.h (p3d_ldi_cleanup: each pixel pair decided from
 * the links before the edits) equal the former one-after-another loops (ref_cleanup) on random
 * one-layer LDIs, with and without a canvas margin: the same links, counts and edges after it. */
static void test_cleanup_rules(void) {
    int64_t removed_all = 0, joined_all = 0;
    for (int32_t t = 0; t < 40; t++) {
        const int32_t w = 6 + (int32_t)rnd(40), h = 6 + (int32_t)rnd(40), border = t % 3 == 2 ? 3 : 0;
        const uint32_t seed = g_rng;
        p3d_ldi_opts o;
        p3d_ldi l[2];
        random_layer(&l[0], w, h, border, &o);
        g_rng = seed;
        random_layer(&l[1], w, h, border, &o);
        o.redundant_number = 4 + (int32_t)rnd(12);
        p3d_ldi_edges e[2], after;
        int32_t removed[2], joined[2];
        CHECK_OK(p3d_ldi_cleanup(&l[0], &o, &e[0], &removed[0], &joined[0]));
        /* the former loops from the first search's edges, roles and degrees */
        CHECK_OK(p3d_ldi_edges_find(&l[1], &o, 0, 0, &e[1]));
        const int32_t n = l[1].n_nodes;
        p3d_ldi_box box = {0, 0, border + 1, border + 1, border + w - 2, border + h - 2};
        uint8_t *role = (uint8_t *)calloc((size_t)n + 1, 1), *degree = (uint8_t *)calloc((size_t)n + 1, 1);
        for (int32_t a = 0; a < n; a++) role[a] = (uint8_t)ref_role(&l[1], &box, a);
        for (int32_t a = 0; a < n; a++) {
            int32_t nb[8];
            CHECK(!role[a] == (e[1].edge[a] < 0));
            if (role[a]) degree[a] = (uint8_t)ref_neighbours(&l[1], role, a, o.depth_threshold, nb);
        }
        ref_cleanup(&l[1], &e[1], role, degree, o.redundant_number, &removed[1], &joined[1]);
        CHECK_OK(p3d_ldi_check(&l[0]));
        CHECK_OK(p3d_ldi_edges_find(&l[1], &o, 0, 0, &after));
        CHECK_MSG(same_ldi(&l[0], &l[1]) && removed[0] == removed[1] && joined[0] == joined[1] && same_edges(&e[0], &after),
                  "random layer %d (%d x %d): cleanup %d removed / %d joined, the loops %d / %d%s", (int)t, (int)w, (int)h,
                  (int)removed[0], (int)joined[0], (int)removed[1], (int)joined[1],
                  same_ldi(&l[0], &l[1]) ? "" : ", links differ");
        removed_all += removed[1], joined_all += joined[1];
        free(role), free(degree);
        p3d_ldi_edges_free(&e[0]), p3d_ldi_edges_free(&e[1]), p3d_ldi_edges_free(&after);
        p3d_ldi_free(&l[0]), p3d_ldi_free(&l[1]);
    }
    CHECK_MSG(removed_all > 40 && joined_all > 20, "random layers: %lld edges removed, %lld ends joined (too few to test)",
              (long long)removed_all, (long long)joined_all);
}

static int same_regions(const p3d_ldi_regions *a, const p3d_ldi_regions *b) {
    return a->n_nodes == b->n_nodes && a->n_edges == b->n_edges &&
           !memcmp(a->mask_edge, b->mask_edge, (size_t)a->n_nodes * 4) &&
           !memcmp(a->ctx_edge, b->ctx_edge, (size_t)a->n_nodes * 4) && !memcmp(a->erode, b->erode, (size_t)a->n_nodes) &&
           !memcmp(a->n_mask, b->n_mask, (size_t)a->n_edges * 4) && !memcmp(a->n_ctx, b->n_ctx, (size_t)a->n_edges * 4);
}

/* build -> cleanup -> regions (pass 0) on both backends from the same image; names the first stage
 * that differs. Returns the number of near edges with regions (so callers can check the case is not
 * trivial). depth_dev: NULL, or depth on the device, which the CUDA build then reads instead of an
 * upload (the depth stage's hand-over, issue 14): its build must then send up less than the map. */
static int32_t compare_stages_once(const char *what, const uint8_t *rgb, const float *depth, const float *depth_dev,
                                   int32_t w, int32_t h, const p3d_camera *cam, const p3d_ldi_opts *o) {
    p3d_ldi l[2];
    p3d_ldi_build_stats bs[2];
    p3d_ldi_edges e[2];
    p3d_ldi_regions r[2];
    int32_t removed[2], joined[2];
    p3d_ctx *ctx[2] = {g_cpu, g_gpu};
    memset(l, 0, sizeof l), memset(e, 0, sizeof e), memset(r, 0, sizeof r);
    int ok = 1;
    int64_t build_h2d = 0;
    for (int32_t k = 0; k < 2 && ok; k++) {
        const p3d_device_traffic t0 = p3d_ctx_traffic(ctx[k]);
        ok = p3d_ldi_init(&l[k], w, h, o->border, cam) == P3D_OK &&
             p3d_ldi_build_ctx(ctx[k], &l[k], rgb, depth, k ? depth_dev : NULL, o, &bs[k]) == P3D_OK;
        CHECK_MSG(ok, "%s: build on %s: %s", what, k ? "cuda" : "cpu", p3d_last_error());
        build_h2d = p3d_device_traffic_sub(p3d_ctx_traffic(ctx[k]), t0).h2d_bytes;
    }
    if (ok && depth_dev)
        CHECK_MSG(build_h2d < (int64_t)w * h * (int64_t)sizeof(float), "%s: the build sent up %lld bytes, the map is %lld",
                  what, (long long)build_h2d, (long long)w * h * (long long)sizeof(float));
    if (ok) {
        CHECK_MSG(same_ldi(&l[0], &l[1]) && !memcmp(&bs[0], &bs[1], sizeof bs[0]), "%s: build differs", what);
        for (int32_t k = 0; k < 2 && ok; k++) {
            const p3d_device_traffic t0 = p3d_ctx_traffic(ctx[k]);
            ok = p3d_ldi_cleanup_ctx(ctx[k], &l[k], o, &e[k], &removed[k], &joined[k]) == P3D_OK;
            CHECK_MSG(ok, "%s: cleanup on %s: %s", what, k ? "cuda" : "cpu", p3d_last_error());
            /* the device LDI holds the build's input layer and makes the edits itself: nothing goes up */
            const int64_t up = p3d_device_traffic_sub(p3d_ctx_traffic(ctx[k]), t0).h2d_bytes;
            if (ok && k && depth_dev)
                CHECK_MSG(up == 0, "%s: the cleanup sent up %lld bytes to the device LDI", what, (long long)up);
        }
    }
    if (ok) {
        CHECK_MSG(same_ldi(&l[0], &l[1]) && same_edges(&e[0], &e[1]) && removed[0] == removed[1] && joined[0] == joined[1],
                  "%s: cleanup differs (edges %d / %d)", what, (int)e[0].n_edges, (int)e[1].n_edges);
        for (int32_t k = 0; k < 2 && ok; k++) {
            ok = p3d_ldi_regions_find_ctx(ctx[k], &l[k], &e[0], o, 0, &r[k]) == P3D_OK;
            CHECK_MSG(ok, "%s: regions on %s: %s", what, k ? "cuda" : "cpu", p3d_last_error());
        }
    }
    int32_t near = 0;
    if (ok) {
        CHECK_MSG(same_regions(&r[0], &r[1]), "%s: regions differ", what);
        for (int32_t k = 0; k < r[0].n_edges; k++) near += r[0].n_mask[k] > 0 && r[0].n_ctx[k] > 0;
    }
    for (int32_t k = 0; k < 2; k++) p3d_ldi_regions_free(&r[k]), p3d_ldi_edges_free(&e[k]), p3d_ldi_free(&l[k]);
    return near;
}

/* compare_stages_once twice: the launchers with their own copies of the LDI, then as p3d_ldi_run runs
 * them: with the resident device LDI held across the stages (the build writes the input layer on the
 * device, later stages send only the host's changes), the build reading the depth from the device
 * (the ring refresh of a border then runs there: build_depth_kernel) and, with
 * P3D_LDI_RESIDENT_CHECK, comparing the input layer it wrote there with the host's. */
static int32_t compare_stages(const char *what, const uint8_t *rgb, const float *depth, int32_t w, int32_t h,
                              const p3d_camera *cam, const p3d_ldi_opts *o) {
    int32_t near = compare_stages_once(what, rgb, depth, NULL, w, h, cam, o);
#ifdef P3D_HAVE_CUDA
    char name[200];
    snprintf(name, sizeof name, "%s, resident device LDI, depth on the device", what);
    const size_t bytes = (size_t)w * h * sizeof(float);
    void *d_depth = NULL;
    CHECK_OK(p3d_ctx_alloc(g_gpu, bytes, &d_depth));
    CHECK_OK(p3d_ctx_upload(g_gpu, d_depth, depth, bytes));
    CHECK_OK(p3d_ldi_cuda_plan(p3d_ctx_cuda(g_gpu), w, h, o));
    CHECK_OK(p3d_ldi_cuda_resident_begin(p3d_ctx_cuda(g_gpu), w, h, o));
    /* the input layer's colours from the photo on the device (p3d_ldi_grid_rgb) */
    void *d_rgb = NULL;
    CHECK_OK(p3d_ctx_alloc(g_gpu, (size_t)w * h * 3, &d_rgb));
    CHECK_OK(p3d_ctx_upload(g_gpu, d_rgb, rgb, (size_t)w * h * 3));
    p3d_ldi_cuda_resident_photo(p3d_ctx_cuda(g_gpu), rgb, (const uint8_t *)d_rgb);
    /* the build also compares the input layer it wrote on the device with the host's */
    setenv("P3D_LDI_RESIDENT_CHECK", "1", 1);
    CHECK(compare_stages_once(name, rgb, depth, (const float *)d_depth, w, h, cam, o) == near);
    unsetenv("P3D_LDI_RESIDENT_CHECK");
    p3d_ldi_cuda_resident_end(p3d_ctx_cuda(g_gpu));
    p3d_ctx_release(g_gpu, d_rgb);
    p3d_ctx_release(g_gpu, d_depth);
#endif
    return near;
}

/* test_ldi.c's scene: a box at depth 1.5 over a textured plane at 4, a 4x4 speck at 2. */
static void test_scene_cuda(void) {
    if (!have_gpu()) return;
    enum { W = 120, H = 90 };
    static uint8_t rgb[W * H * 3];
    static float depth[W * H];
    for (int32_t y = 0; y < H; y++)
        for (int32_t x = 0; x < W; x++) {
            size_t i = (size_t)y * W + x;
            int32_t box = x >= 40 && x < 80 && y >= 30 && y < 60, sp = x >= 10 && x < 14 && y >= 10 && y < 14;
            depth[i] = box ? 1.5f : sp ? 2.0f : 4.0f;
            rgb[3 * i] = (uint8_t)(box ? 250 : ((x / 4 + y / 4) & 1) ? 40 : 160);
            rgb[3 * i + 1] = (uint8_t)(60 + x), rgb[3 * i + 2] = (uint8_t)(60 + y);
        }
    p3d_camera cam = {(float)W, (float)W, W / 2.0f, H / 2.0f};
    p3d_ldi_opts o = p3d_ldi_opts_default();
    o.border = 0;
    /* min_component is given at a 960-px longer side (p3d_ldi_min_component): 12800 is 200 px here,
     * so the speck is dropped */
    o.min_component = 12800;
    CHECK(compare_stages("scene", rgb, depth, W, H, &cam, &o) == 1);
    o.border = 60; /* the image box inside a canvas, the outer ring refreshed */
    CHECK(compare_stages("scene + border", rgb, depth, W, H, &cam, &o) == 1);
    /* an outermost ring at another depth, which tears unless refreshed (on the device when the build
     * reads the depth there) */
    for (int32_t x = 0; x < W; x++) depth[x] = depth[(size_t)(H - 1) * W + x] = 2.5f;
    for (int32_t y = 0; y < H; y++) depth[(size_t)y * W] = depth[(size_t)y * W + W - 1] = 2.5f;
    CHECK(compare_stages("scene + border, ring refreshed", rgb, depth, W, H, &cam, &o) == 1);
    for (int32_t x = 0; x < W; x++) depth[x] = depth[(size_t)(H - 1) * W + x] = 4.0f;
    for (int32_t y = 0; y < H; y++) depth[(size_t)y * W] = depth[(size_t)y * W + W - 1] = 4.0f;
    /* Every component under min_component: only the largest stays, which the device finds with a
     * 64-bit atomicMax (the plane; the box and the speck are refilled from it). */
    o.border = 0;
    o.min_component = W * H * 64; /* W * H at this size */
    CHECK(compare_stages("scene, only the largest component kept", rgb, depth, W, H, &cam, &o) >= 0);
}

/* Random maps for the cleanup (cleanup_map: short edges removed, ends joined): the cleanup's
 * edits on the device (p3d_ldi_cleanup_cuda) against the CPU's, with the launchers' own copies and with
 * the resident device LDI (compare_stages: P3D_LDI_RESIDENT_CHECK compares the copy after the edits). */
static void test_cleanup_cuda(void) {
    if (!have_gpu()) return;
    int64_t removed_all = 0, joined_all = 0;
    for (int32_t t = 0; t < 12; t++) {
        const int32_t w = 24 + (int32_t)rnd(60), h = 16 + (int32_t)rnd(60), border = t % 2 ? 4 : 0;
        const uint32_t seed = g_rng;
        p3d_ldi l;
        p3d_ldi_opts o;
        random_layer(&l, w, h, border, &o);
        p3d_ldi_edges e;
        int32_t removed, joined;
        CHECK_OK(p3d_ldi_cleanup(&l, &o, &e, &removed, &joined));
        removed_all += removed, joined_all += joined;
        p3d_ldi_edges_free(&e);
        p3d_ldi_free(&l);
        /* the same map again, through both backends' stages */
        g_rng = seed;
        float *d = (float *)malloc((size_t)w * h * sizeof *d);
        uint8_t *rgb = (uint8_t *)calloc((size_t)w * h * 3, 1);
        cleanup_map(d, w, h);
        p3d_camera cam = {(float)w, (float)w, w * 0.5f, h * 0.5f};
        char name[64];
        snprintf(name, sizeof name, "random map %d", (int)t);
        CHECK(compare_stages(name, rgb, d, w, h, &cam, &o) >= 0);
        free(d), free(rgb);
    }
    CHECK_MSG(removed_all > 12 && joined_all > 5, "random maps: %lld edges removed, %lld ends joined (too few to test)",
              (long long)removed_all, (long long)joined_all);
}

/* ---- the island refill ------------------------------------------------------------------------- */
enum { ISL_W = 160, ISL_H = 120 };

/* Synthetic islands (layout t) for the island refill: a plane split into a far left half and a near
 * right half (two kept components), with dropped islands: specks of random depths and sizes (some
 * touching, so islands merge across torn links; some on the image border), a block straddling the
 * halves' boundary (a vote between two components, with equal contacts at even t: the tie goes to the
 * smaller label), a 1-pixel snake, random noise (many one-pixel components in one island) and a
 * 56 x 56 block that needs 28 rings, more than one device round (P3D_LDI_REFILL_RINGS, 16). o: the
 * options that drop them (the block is under min_component, the halves are not). */
static void make_islands(int32_t t, uint8_t *rgb, float *depth, p3d_ldi_opts *o) {
    static const float levels[5] = {1.2f, 1.6f, 2.2f, 3.0f, 6.0f};
    const int32_t W = ISL_W, H = ISL_H;
    *o = p3d_ldi_opts_default();
    o->border = 0;
    o->min_component = 3600 * 36; /* 3600 px at this size (p3d_ldi_min_component) */
    for (int32_t y = 0; y < H; y++)
        for (int32_t x = 0; x < W; x++) {
            size_t i = (size_t)y * W + x;
            depth[i] = x < W / 2 ? 4.0f : 1.0f;
            rgb[3 * i] = (uint8_t)(x * 3), rgb[3 * i + 1] = (uint8_t)(y * 2), rgb[3 * i + 2] = (uint8_t)(t * 20);
        }
    for (int32_t k = 0; k < 25; k++) { /* specks, some over the image border */
        int32_t x0 = (int32_t)rnd(W + 4) - 2, y0 = (int32_t)rnd(H + 4) - 2, sw = 1 + (int32_t)rnd(6),
                sh = 1 + (int32_t)rnd(6);
        float d = levels[rnd(5)];
        for (int32_t y = y0; y < y0 + sh; y++)
            for (int32_t x = x0; x < x0 + sw; x++)
                if (x >= 0 && y >= 0 && x < W && y < H) depth[(size_t)y * W + x] = d;
    }
    int32_t bh = 2 + (int32_t)rnd(6), by = 5 + (int32_t)rnd(20), bw = 2 + 2 * (int32_t)rnd(3);
    for (int32_t y = by; y < by + bh; y++) /* across the boundary: equal halves at even t */
        for (int32_t x = W / 2 - bw / 2; x < W / 2 + bw / 2 + (int32_t)(t & 1); x++) depth[(size_t)y * W + x] = 20.0f;
    for (int32_t x = 10; x < 70; x++) depth[(size_t)(100 + (x / 10) % 2 * 3) * W + x] = 0.5f; /* a snake */
    for (int32_t y = 100; y < 103; y++) depth[(size_t)y * W + 20 + 10 * (int32_t)rnd(4)] = 0.5f;
    for (int32_t y = 60; y < 70; y++) /* noise */
        for (int32_t x = 100; x < 112; x++) depth[(size_t)y * W + x] = levels[rnd(5)];
    for (int32_t y = 30; y < 86; y++) /* the deep block, inside the left half */
        for (int32_t x = 8; x < 64; x++) depth[(size_t)y * W + x] = 0.3f + 0.001f * (float)((x + y) % 7);
}

/* The CPU build's grid as it was written before its refill shared rules with the device: tear +
 * dangling (ref_tear), components by flood fill (label = smallest pixel), keep flags, and the refill's
 * breadth-first loops (votes with a running winner, rings over a pending queue, then the relinking).
 * d: the map in, refilled out; counts[0] refilled, [1] unreachable pixels. */
static void ref_build_grid(float *d, int32_t w, int32_t h, float thr, int32_t min_component, uint8_t *right,
                           uint8_t *down, int32_t counts[2]) {
    const int32_t n = w * h;
    static const int32_t dx[4] = {0, 0, -1, 1}, dy[4] = {-1, 1, 0, 0};
    int32_t *label = (int32_t *)malloc((size_t)n * sizeof *label), *size = (int32_t *)calloc((size_t)n, sizeof *size);
    int32_t *queue = (int32_t *)malloc((size_t)n * sizeof *queue), *island = (int32_t *)malloc((size_t)n * sizeof *island);
    int32_t *votes = (int32_t *)calloc((size_t)n, sizeof *votes), *ring_buf = (int32_t *)malloc((size_t)n * sizeof *ring_buf);
    float *next_depth = (float *)malloc((size_t)n * sizeof *next_depth);
    uint8_t *filled = (uint8_t *)malloc((size_t)n);
    ref_tear(d, w, h, thr, right, down);
    for (int32_t i = 0; i < n; i++) label[i] = -1;
    for (int32_t s = 0; s < n; s++) {
        if (label[s] >= 0) continue;
        int32_t qn = 0;
        queue[qn++] = s, label[s] = s;
        for (int32_t qi = 0; qi < qn; qi++) {
            int32_t p = queue[qi], u = p % w, v = p / w;
            int32_t nb[4] = {v > 0 && down[p - w] ? p - w : -1, down[p] ? p + w : -1, u > 0 && right[p - 1] ? p - 1 : -1,
                             right[p] ? p + 1 : -1};
            for (int32_t k = 0; k < 4; k++)
                if (nb[k] >= 0 && label[nb[k]] < 0) label[nb[k]] = s, queue[qn++] = nb[k];
        }
        size[s] = qn;
    }
    int32_t largest = 0;
    for (int32_t i = 0; i < n; i++)
        if (label[i] == i && size[i] > size[largest]) largest = i;
    for (int32_t i = 0; i < n; i++) filled[i] = size[label[i]] >= min_component || label[i] == largest;
    for (int32_t i = 0; i < n; i++) island[i] = -1;
    int32_t refilled = 0, unreachable = 0;
    for (int32_t s = 0; s < n; s++) {
        if (filled[s] || island[s] >= 0) continue;
        int32_t qn = 0;
        queue[qn++] = s, island[s] = s;
        for (int32_t qi = 0; qi < qn; qi++) {
            int32_t p = queue[qi], u = p % w, v = p / w;
            for (int32_t k = 0; k < 4; k++) {
                int32_t x = u + dx[k], y = v + dy[k];
                if (x < 0 || y < 0 || x >= w || y >= h) continue;
                int32_t q = y * w + x;
                if (!filled[q] && island[q] < 0) island[q] = s, queue[qn++] = q;
            }
        }
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
        if (winner < 0) {
            for (int32_t qi = 0; qi < qn; qi++) filled[queue[qi]] = 1;
            unreachable += qn;
            continue;
        }
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
                    if (src) sum += d[q], cnt++;
                }
                if (cnt) next_depth[p] = sum / (float)cnt, ring_buf[nring++] = p;
            }
            if (nring == 0) {
                for (int32_t qi = 0; qi < npend; qi++) filled[queue[qi]] = 1;
                unreachable += npend;
                break;
            }
            for (int32_t k = 0; k < nring; k++) d[ring_buf[k]] = next_depth[ring_buf[k]], filled[ring_buf[k]] = 1;
            int32_t kept = 0;
            for (int32_t qi = 0; qi < npend; qi++)
                if (!filled[queue[qi]]) queue[kept++] = queue[qi];
            npend = kept;
        }
        refilled += qn;
    }
    for (int32_t v = 0; v < h; v++)
        for (int32_t u = 0; u < w; u++) {
            size_t i = (size_t)v * w + u;
            if (u + 1 < w && (island[i] >= 0 || island[i + 1] >= 0))
                right[i] = (uint8_t)(fabsf(1.0f / d[i] - 1.0f / d[i + 1]) <= thr);
            if (v + 1 < h && (island[i] >= 0 || island[i + w] >= 0))
                down[i] = (uint8_t)(fabsf(1.0f / d[i] - 1.0f / d[i + w]) <= thr);
        }
    counts[0] = refilled, counts[1] = unreachable;
    free(label), free(size), free(queue), free(island), free(votes), free(ring_buf), free(next_depth), free(filled);
}

/* CPU: the build (its refill through the shared rules of ldi_build_math.h) equals the loops it was
 * written as before, on the synthetic islands: depths bit for bit, links, counts. */
static void test_refill_rules(void) {
    static uint8_t rgb[ISL_W * ISL_H * 3], right[ISL_W * ISL_H], down[ISL_W * ISL_H];
    static float depth[ISL_W * ISL_H], ref[ISL_W * ISL_H];
    const int32_t W = ISL_W, H = ISL_H;
    p3d_camera cam = {(float)W, (float)W, W / 2.0f, H / 2.0f};
    int64_t bad = 0;
    for (int32_t t = 0; t < 10; t++) {
        p3d_ldi_opts o;
        make_islands(t, rgb, depth, &o);
        memcpy(ref, depth, sizeof ref);
        int32_t counts[2];
        ref_build_grid(ref, W, H, o.depth_threshold, p3d_ldi_min_component(o.min_component, W, H), right, down, counts);
        p3d_ldi l;
        p3d_ldi_build_stats bs;
        CHECK_OK(p3d_ldi_init(&l, W, H, 0, &cam));
        CHECK_OK(p3d_ldi_build(&l, rgb, depth, &o, &bs));
        CHECK_MSG(bs.refilled_pixels == counts[0] && bs.unreachable_pixels == counts[1] && counts[0] >= 56 * 56,
                  "islands %d: refilled %d / %d, unreachable %d / %d", (int)t, (int)bs.refilled_pixels, (int)counts[0],
                  (int)bs.unreachable_pixels, (int)counts[1]);
        for (int32_t i = 0; i < W * H; i++) {
            bad += memcmp(&l.depth[i], &ref[i], sizeof(float)) != 0;
            bad += (l.link[4 * i + P3D_DIR_RIGHT] >= 0) != right[i] || (l.link[4 * i + P3D_DIR_DOWN] >= 0) != down[i];
        }
        p3d_ldi_free(&l);
    }
    CHECK_MSG(bad == 0, "%lld pixels of the refill differ from its plain loops", (long long)bad);
}

/* The island refill on both backends (cuda/ldi/ldi_refill.cu against ldi_build.c's refill), on the
 * synthetic islands: the CPU refill must fill something every time, and the CUDA build (also with the
 * resident device LDI and P3D_LDI_RESIDENT_CHECK, which compares the device's grid with a CPU build)
 * must equal it byte for byte. */
static void test_islands_cuda(void) {
    if (!have_gpu()) return;
    static uint8_t rgb[ISL_W * ISL_H * 3];
    static float depth[ISL_W * ISL_H];
    const int32_t W = ISL_W, H = ISL_H;
    p3d_camera cam = {(float)W, (float)W, W / 2.0f, H / 2.0f};
    for (int32_t t = 0; t < 10; t++) {
        p3d_ldi_opts o;
        make_islands(t, rgb, depth, &o);
        p3d_ldi l;
        p3d_ldi_build_stats bs;
        CHECK_OK(p3d_ldi_init(&l, W, H, 0, &cam));
        CHECK_OK(p3d_ldi_build(&l, rgb, depth, &o, &bs));
        CHECK_MSG(bs.small_components > 5 && bs.refilled_pixels >= 56 * 56 && bs.unreachable_pixels == 0,
                  "islands %d: %d dropped components, %d refilled, %d unreachable", (int)t, (int)bs.small_components,
                  (int)bs.refilled_pixels, (int)bs.unreachable_pixels);
        p3d_ldi_free(&l);
        char name[64];
        snprintf(name, sizeof name, "islands %d", (int)t);
        CHECK(compare_stages(name, rgb, depth, W, H, &cam, &o) >= 0);
    }
}

/* Random LDIs with two passes of nodes: edges of every iter range and regions of both passes. */
static void test_random_cuda(void) {
    if (!have_gpu()) return;
    p3d_ldi_opts o = p3d_ldi_opts_default();
    o.background_thickness = o.background_thickness_2 = 5;
    o.context_thickness = 9, o.context_thickness_2 = 4, o.depth_edge_dilate = 3;
    for (int32_t t = 0; t < 40; t++) {
        p3d_ldi l;
        random_ldi(&l, 8 + (int32_t)rnd(40), 8 + (int32_t)rnd(40));
        for (int32_t it = 0; it < 3; it++) {
            int32_t lo = it == 1, hi = it >= 1;
            p3d_ldi_edges e[2];
            memset(e, 0, sizeof e);
            CHECK_OK(p3d_ldi_edges_find_ctx(g_cpu, &l, &o, lo, hi, &e[0]));
            CHECK_OK(p3d_ldi_edges_find_ctx(g_gpu, &l, &o, lo, hi, &e[1]));
            CHECK_MSG(same_edges(&e[0], &e[1]), "random LDI %d, iter %d..%d: edges differ", (int)t, (int)lo, (int)hi);
            for (int32_t pass = 0; pass < 2 && it < 2; pass++) {
                p3d_ldi_regions r[2];
                memset(r, 0, sizeof r);
                CHECK_OK(p3d_ldi_regions_find_ctx(g_cpu, &l, &e[0], &o, pass, &r[0]));
                CHECK_OK(p3d_ldi_regions_find_ctx(g_gpu, &l, &e[0], &o, pass, &r[1]));
                CHECK_MSG(same_regions(&r[0], &r[1]), "random LDI %d, pass %d: regions differ", (int)t, (int)pass);
                p3d_ldi_regions_free(&r[0]), p3d_ldi_regions_free(&r[1]);
            }
            p3d_ldi_edges_free(&e[0]), p3d_ldi_edges_free(&e[1]);
        }
        p3d_ldi_free(&l);
    }
}

/* moon through the pipeline's preparation at a longer side of 320, with the 60-px canvas border. */
static void test_moon_cuda(void) {
    if (!have_gpu()) return;
    char img_path[1024], dep_path[1024];
    if (!p3d_test_fixture("moon/moon.jpg", img_path, sizeof img_path) ||
        !p3d_test_fixture("moon/moon.npy", dep_path, sizeof dep_path)) {
        SKIP("moon fixture not found under ../shared/fixtures");
        return;
    }
    p3d_image img;
    p3d_depth map;
    const p3d_depth_opts dopt = {P3D_DEPTH_DISPARITY, 1.0f};
    CHECK_OK(p3d_image_read(img_path, 0, &img));
    CHECK_OK(p3d_depth_read(dep_path, &dopt, &map));
    const int32_t side = 320;
    double frac = (double)side / (double)(img.width > img.height ? img.width : img.height);
    int32_t w = (int32_t)(img.width * frac), h = (int32_t)(img.height * frac);
    uint8_t *rgb = (uint8_t *)malloc((size_t)w * h * 3);
    float *depth = (float *)malloc((size_t)w * h * sizeof *depth), centre = 0;
    int64_t ss[3] = {img.height, img.width, 3}, ds[3] = {h, w, 3};
    p3d_tensor src = p3d_tensor_view(img.rgb, P3D_U8, P3D_MEM_HOST, 3, ss);
    p3d_tensor dst = p3d_tensor_view(rgb, P3D_U8, P3D_MEM_HOST, 3, ds);
    CHECK_OK(p3d_resize_area_cpu(&src, &dst, P3D_RESIZE_HWC));
    const p3d_depth_prep_opts po = p3d_depth_prep_opts_default();
    CHECK_OK(p3d_depth_prepare(g_cpu, &map, w, h, &po, depth, &centre));
    p3d_camera cam = p3d_camera_reference(img.width, img.height, w, h);
    p3d_ldi_opts o = p3d_ldi_opts_default();
    CHECK(compare_stages("moon 320", rgb, depth, w, h, &cam, &o) > 0);
    free(rgb), free(depth);
    p3d_depth_free(&map);
    p3d_image_free(&img);
}

/* The resident device LDI (issue 14): between resident_begin and _end the launchers work on one device
 * copy that each stage brings up to date with the host's edits since the previous stage. Random LDIs
 * are edited between stages as the host stages edit them (nodes inserted into pixel lists, links made
 * and removed); after every edit the CUDA edges and regions must still equal the CPU's. A stage on an
 * unchanged LDI moves nothing up; an edit moves less than the whole LDI; an LDI beyond the copy's
 * capacity or of another canvas still gives the CPU's results. */
#ifdef P3D_HAVE_CUDA
static void compare_edges_regions(const char *what, int32_t round, const p3d_ldi *l, const p3d_ldi_opts *o) {
    p3d_ldi_edges e[2];
    memset(e, 0, sizeof e);
    CHECK_OK(p3d_ldi_edges_find_ctx(g_cpu, l, o, 0, 1, &e[0]));
    CHECK_OK(p3d_ldi_edges_find_ctx(g_gpu, l, o, 0, 1, &e[1]));
    CHECK_MSG(same_edges(&e[0], &e[1]), "%s, round %d: edges differ", what, (int)round);
    p3d_ldi_regions r[2];
    memset(r, 0, sizeof r);
    CHECK_OK(p3d_ldi_regions_find_ctx(g_cpu, l, &e[0], o, 0, &r[0]));
    CHECK_OK(p3d_ldi_regions_find_ctx(g_gpu, l, &e[0], o, 0, &r[1]));
    CHECK_MSG(same_regions(&r[0], &r[1]), "%s, round %d: regions differ", what, (int)round);
    p3d_ldi_regions_free(&r[0]), p3d_ldi_regions_free(&r[1]);
    p3d_ldi_edges_free(&e[0]), p3d_ldi_edges_free(&e[1]);
}

/* A host stage's edits: k nodes inserted at random pixels (behind, between or in front of the list),
 * and k links removed and made. */
static void edit_ldi(p3d_ldi *l, int32_t k) {
    const uint8_t rgb[3] = {9, 8, 7};
    for (int32_t i = 0; i < k; i++) {
        int32_t x = (int32_t)rnd((uint32_t)l->ext_w), y = (int32_t)rnd((uint32_t)l->ext_h);
        float depth = 0.5f + 0.137f * (float)rnd(60);
        int32_t dup = 0;
        for (int32_t b = l->head[y * l->ext_w + x]; b >= 0; b = l->next[b]) dup |= l->depth[b] == depth;
        if (!dup) CHECK_OK(p3d_ldi_add_node(l, x, y, depth, rgb, P3D_LABEL_INPAINT1, 1, NULL));
    }
    for (int32_t i = 0; i < k && l->n_nodes > 0; i++) {
        int32_t a = (int32_t)rnd((uint32_t)l->n_nodes), d = (int32_t)rnd(4);
        if (l->link[4 * a + d] >= 0) {
            p3d_ldi_unlink(l, a, d);
            continue;
        }
        int32_t nx = p3d_ldi_x(l, a) + p3d_dir_dx(d), ny = p3d_ldi_y(l, a) + p3d_dir_dy(d);
        if (nx < 0 || ny < 0 || nx >= l->ext_w || ny >= l->ext_h) continue;
        for (int32_t b = l->head[ny * l->ext_w + nx]; b >= 0; b = l->next[b])
            if (l->link[4 * b + p3d_dir_opposite(d)] < 0) {
                p3d_ldi_link(l, a, d, b);
                break;
            }
    }
    CHECK_OK(p3d_ldi_check(l));
}

#endif

static void test_resident_cuda(void) {
    if (!have_gpu()) return;
#ifdef P3D_HAVE_CUDA
    struct p3d_cuda_ctx *cu = p3d_ctx_cuda(g_gpu);
    p3d_ldi_opts o = p3d_ldi_opts_default();
    o.border = 0;
    o.background_thickness = o.background_thickness_2 = 5;
    o.context_thickness = 9, o.context_thickness_2 = 4, o.depth_edge_dilate = 3;
    for (int32_t t = 0; t < 6; t++) {
        p3d_ldi l;
        const int32_t w = 24 + (int32_t)rnd(40), h = 16 + (int32_t)rnd(40);
        random_ldi(&l, w, h);
        CHECK_OK(p3d_ldi_cuda_plan(cu, w, h, &o));
        CHECK_OK(p3d_ldi_cuda_resident_begin(cu, w, h, &o));
        const size_t full = (size_t)l.n_nodes * 29 + (size_t)w * h * 4;
        compare_edges_regions("resident, first stage", t, &l, &o);
        for (int32_t round = 1; round <= 4; round++) {
            p3d_device_traffic t0 = p3d_ctx_traffic(g_gpu);
            p3d_ldi_edges e;
            CHECK_OK(p3d_ldi_edges_find_ctx(g_gpu, &l, &o, 0, 1, &e));
            p3d_ldi_edges_free(&e);
            p3d_device_traffic unchanged = p3d_device_traffic_sub(p3d_ctx_traffic(g_gpu), t0);
            CHECK_MSG(unchanged.h2d_bytes == 0, "LDI %d round %d: a stage on the unchanged LDI uploaded %lld bytes",
                      (int)t, (int)round, (long long)unchanged.h2d_bytes);
            edit_ldi(&l, 1 + (int32_t)rnd(4));
            t0 = p3d_ctx_traffic(g_gpu);
            compare_edges_regions("resident, after edits", round, &l, &o);
            p3d_device_traffic edited = p3d_device_traffic_sub(p3d_ctx_traffic(g_gpu), t0);
            /* the edges' sync moves the changed chunks; the regions add the list of edge nodes */
            CHECK_MSG(edited.h2d_bytes > 0 && (size_t)edited.h2d_bytes < full, "LDI %d round %d: %lld bytes up for a "
                      "few edits of an LDI of %zu bytes", (int)t, (int)round, (long long)edited.h2d_bytes, full);
        }
        /* beyond the copy's capacity (3/2 nodes a pixel): the launchers take their own copy */
        edit_ldi(&l, 2 * w * h);
        compare_edges_regions("resident, LDI outgrew the copy", 5, &l, &o);
        /* another, smaller canvas while the copy is held: sent whole, same results */
        p3d_ldi small;
        random_ldi(&small, w / 2, h / 2);
        compare_edges_regions("resident, smaller canvas", 6, &small, &o);
        compare_edges_regions("resident, back to the first canvas", 7, &l, &o);
        p3d_ldi_cuda_resident_end(cu);
        p3d_ldi_free(&small);
        p3d_ldi_free(&l);
    }
#endif
}

#ifdef P3D_HAVE_CUDA
/* link_new of the nodes [first, n_nodes) of iteration iter, as ldi_inpaint.c runs it (the shared rule). */
static void ref_link_new(p3d_ldi *l, int32_t first, uint8_t iter, float thr) {
    for (int32_t a = first; a < l->n_nodes; a++)
        for (int32_t d = 0; d < 4; d++) {
            const int32_t b = p3d_ldi_new_link_target(l, a, d, iter, thr);
            if (b >= 0) p3d_ldi_link(l, a, d, b);
        }
}
#endif

/* The nodes a pass and the border add, made on the device (p3d_ldi_pass_nodes_cuda,
 * p3d_ldi_border_nodes_cuda) against the host's: random LDIs, new nodes at random pixels (up to three at
 * one pixel, between the older layers), random links to older nodes (link_context's), link_new on the
 * host; the device copy must then equal the host LDI array for array (P3D_LDI_RESIDENT_CHECK). */
static void test_new_nodes_cuda(void) {
    if (!have_gpu()) return;
#ifdef P3D_HAVE_CUDA
    struct p3d_cuda_ctx *cu = p3d_ctx_cuda(g_gpu);
    setenv("P3D_LDI_RESIDENT_CHECK", "1", 1);
    p3d_ldi_opts o = p3d_ldi_opts_default();
    const float thr = o.depth_threshold;
    const uint8_t rgb[3] = {4, 5, 6};
    for (int32_t t = 0; t < 4; t++) {
        p3d_ldi l;
        const int32_t w = 20 + (int32_t)rnd(30), h = 14 + (int32_t)rnd(30);
        random_ldi(&l, w, h);
        o.border = 0;
        CHECK_OK(p3d_ldi_cuda_plan(cu, w, h, &o));
        CHECK_OK(p3d_ldi_cuda_resident_begin(cu, w, h, &o));
        CHECK_OK(p3d_ldi_cuda_resident_sync(cu, &l));
        const int32_t first = l.n_nodes, cap = w * h + w * h / 2; /* the device copy's capacity */
        int32_t multi = 0;
        for (int32_t y = 0; y < h; y++)
            for (int32_t x = 0; x < w; x++) {
                const int32_t k = rnd(10) < 2 ? 1 + (int32_t)rnd(3) : 0;
                if (l.n_nodes + k > cap) continue;
                multi += k > 1;
                for (int32_t i = 0; i < k; i++) {
                    const float d = 1.0f + 0.013f * (float)rnd(200) + 0.0001f * (float)i;
                    int32_t id;
                    if (p3d_ldi_add_node(&l, x, y, d, rgb, P3D_LABEL_INPAINT1, 2, &id) != P3D_OK) continue;
                    for (int32_t dd = 0; dd < 4; dd++) {
                        const int32_t xx = x + p3d_dir_dx(dd), yy = y + p3d_dir_dy(dd);
                        if (xx < 0 || yy < 0 || xx >= w || yy >= h || rnd(3) != 0) continue;
                        for (int32_t b = l.head[yy * w + xx]; b >= 0; b = l.next[b])
                            if (b < first && l.link[4 * b + p3d_dir_opposite(dd)] < 0) {
                                p3d_ldi_link(&l, id, dd, b);
                                break;
                            }
                    }
                }
            }
        ref_link_new(&l, first, 2, thr);
        CHECK_OK(p3d_ldi_check(&l));
        CHECK(multi > 0 && l.n_nodes > first);
        int32_t made = 0;
        CHECK_OK(p3d_ldi_pass_nodes_cuda(cu, &l, first, 2, thr, NULL, 0, NULL, &made));
        CHECK_MSG(made == 1, "LDI %d: the device did not make the pass's nodes", (int)t);
        p3d_ldi_cuda_resident_end(cu);
        p3d_ldi_free(&l);

        /* the border: one node at every pixel of the side and corner rects, in order */
        const int32_t b = 1 + (int32_t)rnd(3);
        p3d_camera cam = {(float)w, (float)w, w * 0.5f, h * 0.5f};
        CHECK_OK(p3d_ldi_init(&l, w, h, b, &cam));
        for (int32_t y = 0; y < h; y++)
            for (int32_t x = 0; x < w; x++)
                CHECK_OK(p3d_ldi_add_node(&l, x + b, y + b, 1.0f + 0.013f * (float)rnd(200), rgb, P3D_LABEL_ORIGINAL, 0, NULL));
        for (int32_t a = 0; a < l.n_nodes; a++)
            for (int32_t d = 1; d < 4; d += 2) {
                const int32_t x = p3d_ldi_x(&l, a) + p3d_dir_dx(d), y = p3d_ldi_y(&l, a) + p3d_dir_dy(d);
                if (x < b + w && y < b + h && rnd(4) != 0) p3d_ldi_link(&l, a, d, l.head[y * l.ext_w + x]);
            }
        o.border = b;
        CHECK_OK(p3d_ldi_cuda_plan(cu, w, h, &o));
        CHECK_OK(p3d_ldi_cuda_resident_begin(cu, w, h, &o));
        CHECK_OK(p3d_ldi_cuda_resident_sync(cu, &l));
        const int32_t ew = l.ext_w, eh = l.ext_h, first_b = l.n_nodes;
        const int32_t rects[8 * 4] = {b, 0, b + w, b,  b, b + h, b + w, eh, 0, b, b, b + h, b + w, b, ew, b + h,
                                      0, 0, b, b,      ew - b, 0, ew, b,  0, eh - b, b, eh, ew - b, eh - b, ew, eh};
        for (int32_t r = 0; r < 8; r++)
            for (int32_t y = rects[4 * r + 1]; y < rects[4 * r + 3]; y++)
                for (int32_t x = rects[4 * r]; x < rects[4 * r + 2]; x++)
                    CHECK_OK(p3d_ldi_add_node(&l, x, y, 1.0f + 0.013f * (float)rnd(200), rgb, P3D_LABEL_BORDER, 0, NULL));
        ref_link_new(&l, first_b, 0, thr);
        CHECK_OK(p3d_ldi_check(&l));
        CHECK_OK(p3d_ldi_border_nodes_cuda(cu, &l, first_b, rects, 8, thr, &made));
        CHECK_MSG(made == 1, "LDI %d: the device did not make the border's nodes", (int)t);
        /* nodes that are not the rects' (one missing): left to the chunks */
        CHECK_OK(p3d_ldi_border_nodes_cuda(cu, &l, first_b, rects, 7, thr, &made));
        CHECK(made == 0);
        p3d_ldi_cuda_resident_end(cu);
        p3d_ldi_free(&l);
    }
    unsetenv("P3D_LDI_RESIDENT_CHECK");
#endif
}

/* A pass's new nodes whose colours stay on the device (p3d_ldi_pass_nodes_cuda with colour runs, as the
 * non-learned fill leaves its results there) and whose pixels come from their patches' masks: random
 * LDIs, new nodes at random pixels of 1 to 4 random (overlapping) crops, patch after patch in raster
 * order as the write-back adds them, with random float colours (some outside [0, 1], some at the
 * rounding's half steps), the host's colours made by p3d_ldi_colour_u8; the device takes the floats from
 * runs of 1 to 3 pieces and, every other LDI, the pixels from the masks' bits (p3d_ldi_pass_masks: what
 * goes up is counted), and its copy must equal the host LDI colours included (P3D_LDI_RESIDENT_CHECK). */
static void test_pass_colours_cuda(void) {
    if (!have_gpu()) return;
#ifdef P3D_HAVE_CUDA
    struct p3d_cuda_ctx *cu = p3d_ctx_cuda(g_gpu);
    setenv("P3D_LDI_RESIDENT_CHECK", "1", 1);
    p3d_ldi_opts o = p3d_ldi_opts_default();
    o.border = 0;
    int32_t n_masked = 0;
    for (int32_t t = 0; t < 8; t++) {
        p3d_ldi l;
        const int32_t w = 16 + (int32_t)rnd(30), h = 12 + (int32_t)rnd(30);
        random_ldi(&l, w, h);
        CHECK_OK(p3d_ldi_cuda_plan(cu, w, h, &o));
        CHECK_OK(p3d_ldi_cuda_resident_begin(cu, w, h, &o));
        CHECK_OK(p3d_ldi_cuda_resident_sync(cu, &l));
        const int32_t first = l.n_nodes, cap = w * h + w * h / 2;
        if (first + 16 > cap) { /* no room in the device LDI for a pass (3/2 nodes a pixel) */
            p3d_ldi_cuda_resident_end(cu);
            p3d_ldi_free(&l);
            continue;
        }
        float *col = (float *)malloc((size_t)w * h * 3 * sizeof(float));
        CHECK(col != NULL);
        /* the nodes of 1 to 4 patches (random crops, overlapping), each mask in raster order, as the
         * write-back adds them; their masks as bits for the device's pixels (p3d_ldi_pass_masks) */
        const int32_t n_patches = 1 + (int32_t)rnd(4);
        int32_t pbox[16];
        int64_t pat[5] = {0};
        uint8_t *pbits = (uint8_t *)calloc((size_t)n_patches * ((size_t)w * h / 8 + 1), 1);
        int32_t m = 0;
        for (int32_t i = 0; i < n_patches; i++) {
            int32_t *b = pbox + 4 * i;
            b[0] = (int32_t)rnd((uint32_t)w / 4), b[1] = (int32_t)rnd((uint32_t)h / 4);
            b[2] = w / 2 + (int32_t)rnd((uint32_t)(w - w / 2 - b[0] + 1)), b[3] = h / 2 + (int32_t)rnd((uint32_t)(h - h / 2 - b[1] + 1));
            pat[i + 1] = pat[i] + ((int64_t)b[2] * b[3] + 7) / 8;
            for (int32_t k = 0; k < b[2] * b[3]; k++) {
                const int32_t x = b[0] + k % b[2], y = b[1] + k / b[2];
                if (rnd(10) >= 3 || first + m >= cap) continue;
                float c[3];
                for (int32_t ch = 0; ch < 3; ch++) {
                    const uint32_t r = rnd(4);
                    c[ch] = r == 0 ? ((float)rnd(256) + 0.5f) / 255.0f : r == 1 ? -0.2f + 1.4f * (float)rnd(1000) / 999.0f
                                                                        : (float)rnd(100000) / 99999.0f;
                }
                const uint8_t rgb[3] = {p3d_ldi_colour_u8(c[0]), p3d_ldi_colour_u8(c[1]), p3d_ldi_colour_u8(c[2])};
                int32_t id;
                if (p3d_ldi_add_node(&l, x, y, 50.0f + 0.01f * (float)rnd(100), rgb, P3D_LABEL_INPAINT1, 1, &id) != P3D_OK)
                    continue;
                CHECK(id == first + m);
                memcpy(col + 3 * (size_t)m, c, sizeof c);
                pbits[pat[i] + k / 8] |= (uint8_t)(1u << (k % 8));
                m++;
            }
        }
        ref_link_new(&l, first, 1, o.depth_threshold);
        CHECK_OK(p3d_ldi_check(&l));
        CHECK(m > 3);
        void *d_col = NULL;
        CHECK_OK(p3d_ctx_alloc(g_gpu, (size_t)m * 3 * sizeof(float), &d_col));
        CHECK_OK(p3d_ctx_upload(g_gpu, d_col, col, (size_t)m * 3 * sizeof(float)));
        /* 1 to 3 runs, split at random nodes */
        const int32_t n_runs = 1 + (int32_t)rnd(3), s1 = 1 + (int32_t)rnd((uint32_t)m / 2), s2 = s1 + 1 + (int32_t)rnd((uint32_t)(m - s1 - 1));
        const int32_t cut[4] = {0, n_runs == 1 ? m : s1, n_runs == 3 ? s2 : m, m};
        p3d_ldi_colour_run runs[3];
        for (int32_t r = 0; r < n_runs; r++)
            runs[r] = (p3d_ldi_colour_run){first + cut[r], cut[r + 1] - cut[r], (const float *)d_col + 3 * (size_t)cut[r]};
        int32_t made = 0;
        /* odd t: the pixels go up as they are; even t: as the masks, fewer bytes (when they are) */
        const p3d_ldi_pass_masks masks = {n_patches, pbox, pat, pbits};
        const p3d_device_traffic t0 = p3d_ctx_traffic(g_gpu);
        CHECK_OK(p3d_ldi_pass_nodes_cuda(cu, &l, first, 1, o.depth_threshold, runs, n_runs, t % 2 ? NULL : &masks, &made));
        CHECK_MSG(made == 1, "LDI %d: the device did not make the pass's nodes from %d colour runs", (int)t, (int)n_runs);
        /* up: the depths, the runs, the links to older nodes (8 bytes each) and the pixels (4 bytes a
         * node) or the masks (bits, 16 bytes a crop and 8 an offset) */
        const int64_t up = p3d_device_traffic_sub(p3d_ctx_traffic(g_gpu), t0).h2d_bytes;
        int64_t older = 0;
        for (int32_t a = first; a < l.n_nodes; a++)
            for (int32_t d = 0; d < 4; d++) older += l.link[4 * a + d] >= 0 && l.link[4 * a + d] < first;
        const int64_t base = 4 * (int64_t)m + n_runs * (int64_t)sizeof(p3d_ldi_colour_run) + 8 * older;
        const int64_t by_masks = pat[n_patches] + 24 * (int64_t)n_patches + 8;
        const int use_masks = t % 2 == 0 && pat[n_patches] + 16 * (int64_t)n_patches < 4 * (int64_t)m;
        CHECK_MSG(up == base + (use_masks ? by_masks : 4 * (int64_t)m), "LDI %d: %lld bytes up for %d nodes, %s %lld",
                  (int)t, (long long)up, (int)m, use_masks ? "with the masks" : "with the pixels",
                  (long long)(base + (use_masks ? by_masks : 4 * (int64_t)m)));
        n_masked += use_masks;
        free(pbits);
        p3d_ldi_cuda_resident_end(cu);
        p3d_ctx_release(g_gpu, d_col);
        free(col);
        p3d_ldi_free(&l);
    }
    CHECK_MSG(n_masked >= 2, "only %d of 4 passes had their pixels made from the masks", (int)n_masked);
    unsetenv("P3D_LDI_RESIDENT_CHECK");
#endif
}

/* The patch gather on the device (p3d_ldi_gather_cuda, cuda/ldi/ldi_gather.cu) against the host's rule
 * (ldi_gather_math.h, what the host's crop uses): random LDIs with random colours, random crops whose
 * pixels are context (naming a random layer of their list), mask or unknown; the gathered colours and
 * depths must equal the host's bit for bit, 0 off the context. An LDI changed on the host since the
 * device's copy (a node added) is not gathered. */
static void test_gather_cuda(void) {
    if (!have_gpu()) return;
#ifdef P3D_HAVE_CUDA
    struct p3d_cuda_ctx *cu = p3d_ctx_cuda(g_gpu);
    p3d_ldi_opts o = p3d_ldi_opts_default();
    o.border = 0;
    for (int32_t t = 0; t < 6; t++) {
        p3d_ldi l;
        const int32_t w = 12 + (int32_t)rnd(40), h = 10 + (int32_t)rnd(40);
        random_ldi(&l, w, h);
        for (int32_t a = 0; a < 3 * l.n_nodes; a++) l.rgb[a] = (uint8_t)rnd(256);
        CHECK_OK(p3d_ldi_cuda_plan(cu, w, h, &o));
        CHECK_OK(p3d_ldi_cuda_resident_begin(cu, w, h, &o));
        CHECK_OK(p3d_ldi_cuda_resident_sync(cu, &l));
        const int32_t x0 = (int32_t)rnd((uint32_t)w / 2), y0 = (int32_t)rnd((uint32_t)h / 2);
        const int32_t cw = 1 + (int32_t)rnd((uint32_t)(w - x0)), ch = 1 + (int32_t)rnd((uint32_t)(h - y0));
        const size_t m = (size_t)cw * ch;
        uint8_t *label = (uint8_t *)malloc(m), *layers = (uint8_t *)malloc(m);
        float *want = (float *)malloc(m * 4 * sizeof(float)), *got = (float *)malloc(m * 4 * sizeof(float));
        CHECK(label && layers && want && got);
        size_t n = 0;
        for (size_t k = 0; k < m; k++) {
            const int32_t x = x0 + (int32_t)(k % (size_t)cw), y = y0 + (int32_t)(k / (size_t)cw);
            const int32_t nl = p3d_ldi_layers(&l, x, y), r = (int32_t)rnd(4);
            label[k] = nl > 0 && r < 2 ? P3D_FILL_CONTEXT : r == 2 ? P3D_FILL_MASK : P3D_FILL_UNKNOWN;
            memset(want + 3 * k, 0, 3 * sizeof(float));
            want[3 * m + k] = 0.0f;
            if (label[k] != P3D_FILL_CONTEXT) continue;
            const int32_t layer = (int32_t)rnd((uint32_t)nl), a = p3d_ldi_layer_node(l.head, l.next, (int64_t)y * w + x, layer);
            CHECK(a >= 0 && p3d_ldi_node_layer(l.head, l.next, (int64_t)y * w + x, a) == layer);
            layers[n++] = (uint8_t)layer;
            p3d_ldi_gather_px(l.rgb, l.depth, a, want + 3 * k, want + 3 * m + k);
        }
        void *d_label = NULL, *d_layers = NULL, *d_rows = NULL, *d_out = NULL;
        CHECK_OK(p3d_ctx_alloc(g_gpu, m, &d_label));
        CHECK_OK(p3d_ctx_alloc(g_gpu, m, &d_layers));
        CHECK_OK(p3d_ctx_alloc(g_gpu, ((size_t)ch + 1) * sizeof(int32_t), &d_rows));
        CHECK_OK(p3d_ctx_alloc(g_gpu, m * 4 * sizeof(float), &d_out));
        CHECK_OK(p3d_ctx_upload(g_gpu, d_label, label, m));
        if (n) CHECK_OK(p3d_ctx_upload(g_gpu, d_layers, layers, n));
        float *d_rgb = (float *)d_out, *d_depth = d_rgb + 3 * m;
        int32_t done = 0;
        CHECK_OK(p3d_ldi_gather_cuda(cu, &l, x0, y0, cw, ch, (const uint8_t *)d_label, (const uint8_t *)d_layers,
                                     (int32_t *)d_rows, d_rgb, d_depth, &done));
        CHECK_MSG(done == 1, "LDI %d: the device LDI was not gathered from", (int)t);
        CHECK_OK(p3d_ctx_download(g_gpu, got, d_out, m * 4 * sizeof(float)));
        CHECK_MSG(memcmp(got, want, m * 4 * sizeof(float)) == 0,
                  "LDI %d: the gathered inputs of a %dx%d crop at (%d, %d) differ from the host's rule", (int)t,
                  (int)cw, (int)ch, (int)x0, (int)y0);
        /* a node added on the host only: the device's copy is not the host's, nothing is gathered */
        const uint8_t c3[3] = {7, 8, 9};
        CHECK_OK(p3d_ldi_add_node(&l, x0, y0, 99.0f, c3, P3D_LABEL_INPAINT1, 1, NULL));
        CHECK_OK(p3d_ldi_gather_cuda(cu, &l, x0, y0, cw, ch, (const uint8_t *)d_label, (const uint8_t *)d_layers,
                                     (int32_t *)d_rows, d_rgb, d_depth, &done));
        CHECK(done == 0);
        p3d_ctx_release(g_gpu, d_label), p3d_ctx_release(g_gpu, d_layers);
        p3d_ctx_release(g_gpu, d_rows), p3d_ctx_release(g_gpu, d_out);
        free(label), free(layers), free(want), free(got);
        p3d_ldi_cuda_resident_end(cu);
        p3d_ldi_free(&l);
    }
#endif
}

int main(void) {
    g_cpu = cpu_ctx();
    g_gpu = cuda_ctx_or_why(g_why, sizeof g_why);
    RUN(test_grid_rules);
    RUN(test_node_rules);
    RUN(test_erode_width);
    RUN(test_cleanup_rules);
    RUN(test_refill_rules);
    RUN(test_scene_cuda);
    RUN(test_cleanup_cuda);
    RUN(test_islands_cuda);
    RUN(test_random_cuda);
    RUN(test_moon_cuda);
    RUN(test_resident_cuda);
    RUN(test_new_nodes_cuda);
    RUN(test_gather_cuda);
    RUN(test_pass_colours_cuda);
    p3d_ctx_free(g_gpu);
    p3d_ctx_free(g_cpu);
    return p3d_test_finish();
}
