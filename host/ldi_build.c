/* ldi_build.c - the input layer of the LDI (spec 2.4-2.8, 2.11, 2.12's refresh_bord_depth).
 *
 * Everything here works on the pixel grid of the image (one sample per pixel) before any node is
 * created: tear flags per grid link, connected components, island refill; the nodes and links are
 * then written in raster order, so node id = v * W + u for image pixel (u, v). The reference builds a
 * networkx graph and iterates sets; its component order (hence the PLY vertex order) is hash order
 * (quirk 34) - raster order here. */
#include <stdlib.h>
#include <string.h>

#include "ldi_math.h"
#include "ldi_stages.h"

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
    o.largest_size = 512;
    o.ext_edge_threshold = 0.002f;
    o.repeat_inpaint_edge = 1;
    o.crop_dilate = 20;
    o.passes = 2;
    return o;
}

/* Union-find with path halving; the root is always the smallest index of the set, so labels do not
 * depend on the order unions happen in. */
static int32_t uf_find(int32_t *parent, int32_t a) {
    while (parent[a] != a) {
        parent[a] = parent[parent[a]];
        a = parent[a];
    }
    return a;
}

static void uf_union(int32_t *parent, int32_t a, int32_t b) {
    a = uf_find(parent, a);
    b = uf_find(parent, b);
    if (a < b)
        parent[b] = a;
    else if (b < a)
        parent[a] = b;
}

/* Grid links of a W x H image: right[v * W + u] = 1 when (u, v) - (u + 1, v) is linked, down[...] for
 * (u, v) - (u, v + 1). */
typedef struct grid {
    int32_t w, h;
    float *depth;
    uint8_t *right, *down;
} grid;

/* Spec 2.12 refresh_bord_depth, in effect: the outermost image ring copies the depth of the ring
 * inside it (the ring's depth is least reliable: network padding), corners the mean of their two
 * in-image neighbours. Done on the depth map before tearing, which is what the reference's relinking
 * amounts to. */
static void refresh_ring(float *d, int32_t w, int32_t h) {
    if (w < 3 || h < 3) return;
    for (int32_t u = 1; u < w - 1; u++) {
        d[u] = d[w + u];
        d[(size_t)(h - 1) * w + u] = d[(size_t)(h - 2) * w + u];
    }
    for (int32_t v = 1; v < h - 1; v++) {
        d[(size_t)v * w] = d[(size_t)v * w + 1];
        d[(size_t)v * w + w - 1] = d[(size_t)v * w + w - 2];
    }
    d[0] = 0.5f * (d[1] + d[w]);
    d[w - 1] = 0.5f * (d[w - 2] + d[2 * (size_t)w - 1]);
    d[(size_t)(h - 1) * w] = 0.5f * (d[(size_t)(h - 2) * w] + d[(size_t)(h - 1) * w + 1]);
    d[(size_t)h * w - 1] = 0.5f * (d[(size_t)(h - 1) * w - 1] + d[(size_t)h * w - 2]);
}

/* Tear + the one dangling pass (spec 2.5). */
static void tear(grid *g, float thr, p3d_ldi_build_stats *st) {
    int32_t w = g->w, h = g->h;
    const float *d = g->depth;
#pragma omp parallel for schedule(static)
    for (int32_t v = 0; v < h; v++)
        for (int32_t u = 0; u < w; u++) {
            size_t i = (size_t)v * w + u;
            g->right[i] = u + 1 < w && p3d_ldi_joined(d[i], d[i + 1], thr);
            g->down[i] = v + 1 < h && p3d_ldi_joined(d[i], d[i + w], thr);
        }
    int64_t torn = 0;
    for (int32_t v = 0; v < h; v++)
        for (int32_t u = 0; u < w; u++) torn += (u + 1 < w && !g->right[(size_t)v * w + u]) + (v + 1 < h && !g->down[(size_t)v * w + u]);
    /* The dangling pass reads the torn state before it (np.roll over whole arrays). */
    size_t n = (size_t)w * h;
    uint8_t *r0 = (uint8_t *)malloc(n), *d0 = (uint8_t *)malloc(n);
    int64_t dangling = 0;
    if (r0 && d0) {
        memcpy(r0, g->right, n);
        memcpy(d0, g->down, n);
        for (int32_t v = 1; v + 1 < h; v++)
            for (int32_t u = 0; u + 1 < w; u++) {
                size_t i = (size_t)v * w + u;
                if (p3d_ldi_dangling(r0[i], !r0[i - w], !r0[i + w])) {
                    g->right[i] = 0;
                    dangling++;
                }
            }
        for (int32_t v = 0; v + 1 < h; v++)
            for (int32_t u = 1; u + 1 < w; u++) {
                size_t i = (size_t)v * w + u;
                if (p3d_ldi_dangling(d0[i], !d0[i - 1], !d0[i + 1])) {
                    g->down[i] = 0;
                    dangling++;
                }
            }
    }
    free(r0);
    free(d0);
    st->torn_links = (int32_t)torn;
    st->dangling_links = (int32_t)dangling;
}

/* Component labels (smallest pixel index of the component) over the grid links. */
static void components(const grid *g, int32_t *label) {
    int32_t w = g->w, h = g->h;
    for (int32_t i = 0; i < w * h; i++) label[i] = i;
    for (int32_t v = 0; v < h; v++)
        for (int32_t u = 0; u < w; u++) {
            int32_t i = v * w + u;
            if (g->right[i]) uf_union(label, i, i + 1);
            if (g->down[i]) uf_union(label, i, i + w);
        }
    for (int32_t i = 0; i < w * h; i++) label[i] = uf_find(label, i);
}

/* Drops components under min_component pixels (never the largest one) and refills each 4-connected
 * island of dropped pixels from the surrounding component most of its border touches (spec 2.8: the
 * reference votes with edge ids, which are the components' border pixels; the same outcome without
 * the debugger trap at pixel (295, 389) or the endless loop on unreachable pixels, quirks 26-27).
 * Fill: breadth-first rings from the winner; each pixel takes the mean depth of its already-filled
 * 4-neighbours (all pixels of a ring read the previous rings only, so the result does not depend on
 * visiting order). Island pixels are then linked by the tear rule like any other pixels. */
static p3d_status drop_and_refill(grid *g, const p3d_ldi_opts *o, p3d_ldi_build_stats *st) {
    int32_t w = g->w, h = g->h, n = w * h;
    int32_t *label = (int32_t *)malloc((size_t)n * sizeof *label);
    int32_t *size = (int32_t *)calloc((size_t)n, sizeof *size);
    int32_t *island = (int32_t *)malloc((size_t)n * sizeof *island);
    int32_t *queue = (int32_t *)malloc((size_t)n * sizeof *queue);
    int32_t *votes = (int32_t *)calloc((size_t)n, sizeof *votes);
    uint8_t *filled = (uint8_t *)malloc((size_t)n);
    float *next_depth = (float *)malloc((size_t)n * sizeof *next_depth);
    int32_t *ring_buf = (int32_t *)malloc((size_t)n * sizeof *ring_buf);
    if (!label || !size || !island || !queue || !votes || !filled || !next_depth || !ring_buf) {
        free(label), free(size), free(island), free(queue), free(votes), free(filled), free(next_depth), free(ring_buf);
        return p3d_fail(P3D_ERR_OOM, "LDI build: out of memory");
    }
    components(g, label);
    int32_t largest = 0;
    for (int32_t i = 0; i < n; i++)
        if (++size[label[i]] > size[largest] || (size[label[i]] == size[largest] && label[i] < largest)) largest = label[i];
    int32_t dropped_components = 0;
    for (int32_t i = 0; i < n; i++) {
        int32_t keep = size[label[i]] >= o->min_component || label[i] == largest;
        filled[i] = (uint8_t)keep;
        if (!keep && label[i] == i) dropped_components++;
    }
    st->small_components = dropped_components;
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
    free(label), free(size), free(island), free(queue), free(votes), free(filled), free(next_depth), free(ring_buf);
    return P3D_OK;
}

p3d_status p3d_ldi_build(p3d_ldi *l, const uint8_t *rgb, const float *depth, const p3d_ldi_opts *o,
                         p3d_ldi_build_stats *stats) {
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
        memcpy(g.depth, depth, n * sizeof *g.depth);
        if (l->border > 0) refresh_ring(g.depth, g.w, g.h);
        tear(&g, o->depth_threshold, &st);
        s = drop_and_refill(&g, o, &st);
    }
    if (s == P3D_OK) s = p3d_ldi_reserve(l, (int32_t)(n + n / 2));
    if (s == P3D_OK) {
        int32_t b = l->border, ew = l->ext_w;
        for (int32_t v = 0; v < g.h; v++)
            for (int32_t u = 0; u < g.w; u++) {
                int32_t i = v * g.w + u, p = (v + b) * ew + (u + b);
                l->pix[i] = p;
                l->depth[i] = g.depth[i];
                memcpy(l->rgb + 3 * (size_t)i, rgb + 3 * (size_t)i, 3);
                l->label[i] = P3D_LABEL_ORIGINAL;
                l->iter[i] = 0;
                l->next[i] = -1;
                l->head[p] = i;
                int32_t *k = l->link + 4 * (size_t)i;
                k[P3D_DIR_UP] = v > 0 && g.down[i - g.w] ? i - g.w : -1;
                k[P3D_DIR_DOWN] = g.down[i] ? i + g.w : -1;
                k[P3D_DIR_LEFT] = u > 0 && g.right[i - 1] ? i - 1 : -1;
                k[P3D_DIR_RIGHT] = g.right[i] ? i + 1 : -1;
            }
        l->n_nodes = (int32_t)n;
    }
    free(g.depth);
    free(g.right);
    free(g.down);
    if (stats) *stats = st;
    return s;
}
