/* mesh_compact.c - the textured, simplified mesh of the LDI (mesh_compact.h): charts, atlas,
 * simplification. Host only: charts grow one after another (each chart's pixel claims depend on the
 * charts before it), and meshoptimizer is a CPU library. Every loop runs in a fixed order, so the
 * result is the same on every run and thread count. */
#include "mesh/mesh_compact.h"

#include <math.h>
#include <meshoptimizer.h>
#include <stb_rect_pack.h>
#ifdef P3D_HAVE_OPENMP
#include <omp.h>
#endif
#include <stdlib.h>
#include <string.h>

p3d_compact_opts p3d_compact_defaults(void) {
    p3d_compact_opts o;
    o.max_error_px = 0.5f;
    o.shift_xy = 0.015f * 1.41421356f;
    o.shift_z = 0.05f;
    o.gutter = 2;
    o.max_atlas = 4096;
    /* Moon's GLB within 8 MB (issue 17): the geometry is 7.2 MB of it, the atlas 0.98 MB at quality 95
     * with full-resolution hidden layers. Halving the hidden layers leaves the preset frames as they
     * were (39.10 against 39.12 dB from the dense mesh's at 95), quality 93 costs 0.5 dB: 7.95 MB. */
    o.jpeg_quality = 93;
    o.hidden_scale = 2;
    return o;
}

/* ---- (chart, pixel) -> halo node claims: open addressing, grown at half load -------------------- */

typedef struct claims {
    uint64_t *key; /* chart << 32 | pixel; UINT64_MAX = empty */
    int32_t *val;
    size_t mask, n;
} claims;

static size_t mix64(uint64_t k) {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    k *= 0xc4ceb9fe1a85ec53ULL;
    k ^= k >> 33;
    return (size_t)k;
}

static int claims_alloc(claims *c, size_t cap) {
    c->key = (uint64_t *)malloc(cap * sizeof *c->key);
    c->val = (int32_t *)malloc(cap * sizeof *c->val);
    if (!c->key || !c->val) return 0;
    memset(c->key, 0xff, cap * sizeof *c->key);
    c->mask = cap - 1;
    c->n = 0;
    return 1;
}

static void claims_free(claims *c) {
    free(c->key);
    free(c->val);
    memset(c, 0, sizeof *c);
}

static int32_t claims_get(const claims *c, int32_t chart, int32_t pix) {
    const uint64_t k = (uint64_t)(uint32_t)chart << 32 | (uint32_t)pix;
    for (size_t i = mix64(k) & c->mask;; i = (i + 1) & c->mask) {
        if (c->key[i] == k) return c->val[i];
        if (c->key[i] == UINT64_MAX) return -1;
    }
}

static void claims_insert(claims *c, uint64_t k, int32_t v) {
    size_t i = mix64(k) & c->mask;
    while (c->key[i] != UINT64_MAX) i = (i + 1) & c->mask;
    c->key[i] = k;
    c->val[i] = v;
    c->n++;
}

/* Claims pixel pix of chart for node v (the pixel must be unclaimed). 0 when out of memory. */
static int claims_put(claims *c, int32_t chart, int32_t pix, int32_t v) {
    if (2 * (c->n + 1) > c->mask + 1) {
        claims old = *c;
        if (!claims_alloc(c, 2 * (old.mask + 1))) {
            claims_free(c);
            *c = old;
            return 0;
        }
        for (size_t i = 0; i <= old.mask; i++)
            if (old.key[i] != UINT64_MAX) claims_insert(c, old.key[i], old.val[i]);
        claims_free(&old);
    }
    claims_insert(c, (uint64_t)(uint32_t)chart << 32 | (uint32_t)pix, v);
    return 1;
}

/* ---- the work ---------------------------------------------------------------------------------- */

typedef struct chart_info {
    int32_t x0, y0, x1, y1; /* canvas pixel box of its own and halo nodes (inclusive) */
    int32_t layer;          /* layer of its seed: 0 = the photo's surface */
    int32_t scale;          /* texels per pixel: 1, or 2 for a halved hidden chart */
    int32_t rx, ry;         /* atlas position of its rectangle (gutter included) */
} chart_info;

typedef struct compact_work {
    const p3d_ldi *l;
    const p3d_mesh *d;
    p3d_compact_opts o;
    int32_t n, nf, n_charts;
    int32_t *vf_off, *vf;       /* vertex -> faces (CSR) */
    int32_t *chart;             /* (n) own chart, -1 for nodes of no face */
    int32_t *fchart;            /* (nf) chart each face went to */
    int32_t *halo_chart, *halo_node, n_halo, cap_halo;
    chart_info *ci;
    int32_t cap_charts;
    claims cl;
} compact_work;

static void work_free(compact_work *w) {
    free(w->vf_off);
    free(w->vf);
    free(w->chart);
    free(w->fchart);
    free(w->halo_chart);
    free(w->halo_node);
    free(w->ci);
    claims_free(&w->cl);
}

static int new_chart(compact_work *w, int32_t layer) {
    if (w->n_charts == w->cap_charts) {
        const int32_t cap = w->cap_charts ? 2 * w->cap_charts : 1024;
        chart_info *ci = (chart_info *)realloc(w->ci, (size_t)cap * sizeof *ci);
        if (!ci) return -1;
        w->ci = ci;
        w->cap_charts = cap;
    }
    chart_info *c = &w->ci[w->n_charts];
    c->x0 = c->y0 = INT32_MAX;
    c->x1 = c->y1 = -1;
    c->layer = layer;
    c->scale = 1;
    c->rx = c->ry = 0;
    return w->n_charts++;
}

static void chart_grow_box(compact_work *w, int32_t c, int32_t node) {
    chart_info *ci = &w->ci[c];
    const int32_t x = p3d_ldi_x(w->l, node), y = p3d_ldi_y(w->l, node);
    if (x < ci->x0) ci->x0 = x;
    if (x > ci->x1) ci->x1 = x;
    if (y < ci->y0) ci->y0 = y;
    if (y > ci->y1) ci->y1 = y;
}

static int add_halo(compact_work *w, int32_t c, int32_t node) {
    if (w->n_halo == w->cap_halo) {
        const int32_t cap = w->cap_halo ? 2 * w->cap_halo : 4096;
        int32_t *hc = (int32_t *)realloc(w->halo_chart, (size_t)cap * sizeof *hc);
        if (!hc) return 0;
        w->halo_chart = hc;
        int32_t *hn = (int32_t *)realloc(w->halo_node, (size_t)cap * sizeof *hn);
        if (!hn) return 0;
        w->halo_node = hn;
        w->cap_halo = cap;
    }
    w->halo_chart[w->n_halo] = c;
    w->halo_node[w->n_halo++] = node;
    chart_grow_box(w, c, node);
    return claims_put(&w->cl, c, w->l->pix[node], node);
}

/* Vertex -> faces adjacency, and the charts grown from seeds in (layer, raster) order. */
static p3d_status grow_charts(compact_work *w) {
    const p3d_ldi *l = w->l;
    const int32_t n = w->n, nf = w->nf, npix = l->ext_w * l->ext_h;
    const int32_t *F = w->d->faces;
    w->vf_off = (int32_t *)calloc((size_t)n + 1, sizeof(int32_t));
    w->vf = (int32_t *)malloc((size_t)(nf ? nf : 1) * 3 * sizeof(int32_t));
    w->chart = (int32_t *)malloc((size_t)(n ? n : 1) * sizeof(int32_t));
    int32_t *layer = (int32_t *)malloc((size_t)(n ? n : 1) * sizeof(int32_t));
    int32_t *order = (int32_t *)malloc((size_t)(n ? n : 1) * sizeof(int32_t));
    int32_t *stamp = (int32_t *)malloc((size_t)npix * sizeof(int32_t));
    int32_t *bfs = (int32_t *)malloc((size_t)(n ? n : 1) * sizeof(int32_t));
    int32_t *fstamp = (int32_t *)malloc((size_t)(nf ? nf : 1) * sizeof(int32_t)); /* (nf) last chart through each face */
    p3d_status st = P3D_OK;
    if (!w->vf_off || !w->vf || !w->chart || !layer || !order || !stamp || !bfs || !fstamp ||
        !claims_alloc(&w->cl, (size_t)1 << 12)) {
        st = p3d_fail(P3D_ERR_OOM, "compact mesh: out of memory for %d vertices", (int)n);
        goto done;
    }
    /* The CSR in parallel with each vertex's faces in increasing order, as one pass would leave them:
     * every thread counts and then fills the faces of its own stretch, and a vertex's slots go to the
     * threads' stretches in order. cursor: (threads, n) per-thread counts, then fill positions. */
    int32_t threads = 1;
#ifdef P3D_HAVE_OPENMP
    threads = omp_get_max_threads();
#endif
    int32_t *cursor = (int32_t *)calloc((size_t)threads * (n ? n : 1), sizeof(int32_t));
    if (!cursor) {
        st = p3d_fail(P3D_ERR_OOM, "compact mesh: out of memory for %d vertices", (int)n);
        goto done;
    }
#ifdef P3D_HAVE_OPENMP
#pragma omp parallel num_threads(threads)
#endif
    {
#ifdef P3D_HAVE_OPENMP
        const int32_t t = omp_get_thread_num(), nt = omp_get_num_threads();
#else
        const int32_t t = 0, nt = 1;
#endif
        int32_t *own = cursor + (size_t)t * n;
        const int64_t f0 = (int64_t)nf * t / nt, f1 = (int64_t)nf * (t + 1) / nt;
        for (int64_t i = 3 * f0; i < 3 * f1; i++) own[F[i]]++;
#ifdef P3D_HAVE_OPENMP
#pragma omp barrier
#pragma omp single
#endif
        for (int32_t v = 0; v < n; v++) {
            int32_t at = w->vf_off[v];
            for (int32_t k = 0; k < nt; k++) {
                const int32_t c = cursor[(size_t)k * n + v];
                cursor[(size_t)k * n + v] = at;
                at += c;
            }
            w->vf_off[v + 1] = at;
        }
        for (int64_t f = f0; f < f1; f++)
            for (int32_t k = 0; k < 3; k++) w->vf[own[F[3 * f + k]]++] = (int32_t)f;
    }
    free(cursor);
    /* Layer of every node, then the nodes bucketed by layer in raster order (a counting sort). */
    int32_t max_layer = 0;
    for (int32_t p = 0; p < npix; p++) {
        int32_t k = 0;
        for (int32_t id = l->head[p]; id >= 0; id = l->next[id]) layer[id] = k++;
        if (k - 1 > max_layer) max_layer = k - 1;
    }
    {
        int32_t *cnt = (int32_t *)calloc((size_t)max_layer + 2, sizeof(int32_t));
        if (!cnt) {
            st = p3d_fail(P3D_ERR_OOM, "compact mesh: out of memory");
            goto done;
        }
        for (int32_t i = 0; i < n; i++) cnt[layer[i] + 1]++;
        for (int32_t k = 0; k <= max_layer; k++) cnt[k + 1] += cnt[k];
        for (int32_t p = 0; p < npix; p++)
            for (int32_t id = l->head[p]; id >= 0; id = l->next[id]) order[cnt[layer[id]]++] = id;
        free(cnt);
    }
    for (int32_t i = 0; i < n; i++) w->chart[i] = -1;
    for (int32_t p = 0; p < npix; p++) stamp[p] = -1;
    for (int32_t f = 0; f < nf; f++) fstamp[f] = -1;
    for (int32_t s = 0; s < n; s++) {
        const int32_t seed = order[s];
        if (w->chart[seed] >= 0 || w->vf_off[seed + 1] == w->vf_off[seed]) continue;
        const int32_t c = new_chart(w, layer[seed]);
        if (c < 0) {
            st = p3d_fail(P3D_ERR_OOM, "compact mesh: out of memory for charts");
            goto done;
        }
        int32_t head = 0, tail = 0;
        w->chart[seed] = c;
        stamp[l->pix[seed]] = c;
        bfs[tail++] = seed;
        while (head < tail) {
            const int32_t v = bfs[head++];
            for (int32_t e = w->vf_off[v]; e < w->vf_off[v + 1]; e++) {
                /* A face this chart went through once has every corner taken or its pixel claimed by
                 * the chart, for as long as the chart grows: it cannot add a node again. */
                if (fstamp[w->vf[e]] == c) continue;
                fstamp[w->vf[e]] = c;
                const int32_t *t = F + 3 * (int64_t)w->vf[e];
                for (int32_t k = 0; k < 3; k++) {
                    const int32_t u = t[k];
                    if (w->chart[u] >= 0 || stamp[l->pix[u]] == c) continue;
                    w->chart[u] = c;
                    stamp[l->pix[u]] = c;
                    bfs[tail++] = u;
                }
            }
        }
    }
    /* Every chart's box of its own nodes, in one pass over the pixels (their coordinates without a
     * division per node). */
    for (int32_t y = 0, p = 0; y < l->ext_h; y++)
        for (int32_t x = 0; x < l->ext_w; x++, p++)
            for (int32_t id = l->head[p]; id >= 0; id = l->next[id]) {
                if (w->chart[id] < 0) continue;
                chart_info *ci = &w->ci[w->chart[id]];
                ci->x0 = x < ci->x0 ? x : ci->x0;
                ci->x1 = x > ci->x1 ? x : ci->x1;
                ci->y0 = y < ci->y0 ? y : ci->y0;
                ci->y1 = y > ci->y1 ? y : ci->y1;
            }
done:
    free(layer);
    free(order);
    free(stamp);
    free(bfs);
    free(fstamp);
    return st;
}

/* The node of chart c at canvas pixel pix (its own node: at most one, the chart is a height field; or
 * a halo node it claimed), -1 if none. Own nodes are found on the pixel's short node list, so only
 * the few halo claims go through the hash table. */
static int32_t chart_node_at(const compact_work *w, int32_t c, int32_t pix) {
    for (int32_t id = w->l->head[pix]; id >= 0; id = w->l->next[id])
        if (w->chart[id] == c) return id;
    return claims_get(&w->cl, c, pix);
}

/* Each face to a chart: its corners' common chart, else the first corner's chart that has the other
 * corners' pixels free (they join it as halo), else a chart of its own. */
static p3d_status assign_faces(compact_work *w, p3d_compact_stats *stats) {
    const int32_t *F = w->d->faces;
    const int32_t *pix = w->l->pix;
    w->fchart = (int32_t *)malloc((size_t)(w->nf ? w->nf : 1) * sizeof(int32_t));
    if (!w->fchart) return p3d_fail(P3D_ERR_OOM, "compact mesh: out of memory for %d faces", (int)w->nf);
    /* Faces inside one chart first, in parallel (-1: corners in different charts); the others in face
     * order, as each one's choice depends on the halo claims of those before it. */
#ifdef P3D_HAVE_OPENMP
#pragma omp parallel for schedule(static)
#endif
    for (int32_t f = 0; f < w->nf; f++) {
        const int32_t *t = F + 3 * (int64_t)f;
        const int32_t c0 = w->chart[t[0]];
        w->fchart[f] = c0 == w->chart[t[1]] && c0 == w->chart[t[2]] ? c0 : -1;
    }
    for (int32_t f = 0; f < w->nf; f++) {
        if (w->fchart[f] >= 0) continue;
        const int32_t *t = F + 3 * (int64_t)f;
        const int32_t c0 = w->chart[t[0]], c1 = w->chart[t[1]], c2 = w->chart[t[2]];
        int32_t chosen = -1;
        const int32_t cand[3] = {c0, c1, c2};
        for (int32_t k = 0; k < 3 && chosen < 0; k++) {
            const int32_t c = cand[k];
            int ok = 1;
            for (int32_t j = 0; j < 3 && ok; j++) {
                if (w->chart[t[j]] == c) continue;
                const int32_t got = chart_node_at(w, c, pix[t[j]]);
                ok = got < 0 || got == t[j];
            }
            if (ok) chosen = c;
        }
        if (chosen < 0) {
            chosen = new_chart(w, w->ci[c0].layer);
            if (chosen < 0) return p3d_fail(P3D_ERR_OOM, "compact mesh: out of memory for charts");
            stats->own_charts++;
        }
        for (int32_t j = 0; j < 3; j++) {
            if (w->chart[t[j]] == chosen || chart_node_at(w, chosen, pix[t[j]]) == t[j]) continue;
            if (!add_halo(w, chosen, t[j])) return p3d_fail(P3D_ERR_OOM, "compact mesh: out of memory for halos");
        }
        w->fchart[f] = chosen;
    }
    stats->halo_vertices = w->n_halo;
    return P3D_OK;
}

/* Packs every chart's rectangle into a side x side atlas; 1 when all fit. */
static int pack(compact_work *w, int32_t side) {
    stbrp_context ctx;
    stbrp_node *nodes = (stbrp_node *)malloc((size_t)side * sizeof *nodes);
    stbrp_rect *rects = (stbrp_rect *)malloc((size_t)w->n_charts * sizeof *rects);
    int all = 0;
    if (nodes && rects) {
        const int32_t g = w->o.gutter;
        for (int32_t c = 0; c < w->n_charts; c++) {
            const chart_info *ci = &w->ci[c];
            rects[c].id = c;
            rects[c].w = (ci->x1 - ci->x0) / ci->scale + 1 + 2 * g;
            rects[c].h = (ci->y1 - ci->y0) / ci->scale + 1 + 2 * g;
        }
        stbrp_init_target(&ctx, side, side, nodes, side);
        all = stbrp_pack_rects(&ctx, rects, w->n_charts);
        for (int32_t c = 0; all && c < w->n_charts; c++) {
            w->ci[rects[c].id].rx = rects[c].x;
            w->ci[rects[c].id].ry = rects[c].y;
        }
    }
    free(nodes);
    free(rects);
    return all;
}

static p3d_status place_charts(compact_work *w, p3d_compact_stats *stats) {
    for (int32_t hidden_scale = w->o.hidden_scale; hidden_scale <= 2; hidden_scale++) {
        double area = 0;
        const int32_t g = w->o.gutter;
        for (int32_t c = 0; c < w->n_charts; c++) {
            chart_info *ci = &w->ci[c];
            ci->scale = ci->layer > 0 ? hidden_scale : 1;
            area += (double)((ci->x1 - ci->x0) / ci->scale + 1 + 2 * g) * ((ci->y1 - ci->y0) / ci->scale + 1 + 2 * g);
        }
        int32_t side = 64;
        while (side < w->o.max_atlas && (double)side * side < area) side *= 2;
        for (; side <= w->o.max_atlas; side *= 2)
            if (pack(w, side)) {
                stats->atlas_w = stats->atlas_h = side;
                stats->hidden_scale = hidden_scale;
                return P3D_OK;
            }
    }
    return p3d_fail(P3D_ERR_UNSUPPORTED, "compact mesh: %d charts do not fit a %dx%d atlas even with hidden layers at "
                    "half resolution", (int)w->n_charts, (int)w->o.max_atlas, (int)w->o.max_atlas);
}

/* Texel of canvas pixel (x, y) in chart c. */
static void texel_of(const compact_work *w, int32_t c, int32_t x, int32_t y, int32_t *tx, int32_t *ty) {
    const chart_info *ci = &w->ci[c];
    *tx = ci->rx + w->o.gutter + (x - ci->x0) / ci->scale;
    *ty = ci->ry + w->o.gutter + (y - ci->y0) / ci->scale;
}

/* The atlas: every chart's own and halo nodes averaged into their texels, then the rest of each
 * rectangle bled from its filled texels (gutter + 2 rings), and what is still empty there takes the
 * chart's mean colour. After the sums, every chart works inside its own rectangle only (the packed
 * rectangles are disjoint, gutter included), so the charts run in parallel (OpenMP) with the same
 * atlas for any thread count; texels outside every rectangle stay black. */
static p3d_status paint_atlas(compact_work *w, p3d_mesh *out) {
    const int32_t W = out->tex_w, H = out->tex_h, g = w->o.gutter;
    const size_t nt = (size_t)W * H;
    /* calloc'd pages are only touched inside the rectangles */
    /* r, g, b, count: a texel holds at most one node per pixel of the chart (it is a height field, a
     * halo node takes a free pixel), so at most 4 nodes of a halved chart: 16 bits hold the sums */
    uint16_t *sum = (uint16_t *)calloc(nt * 4, sizeof(uint16_t));
    uint8_t *filled = (uint8_t *)calloc(nt, 1), *next = (uint8_t *)calloc(nt, 1);
    size_t most = 1; /* texels of the largest rectangle */
    for (int32_t c = 0; c < w->n_charts; c++) {
        const chart_info *ci = &w->ci[c];
        const size_t a = (size_t)((ci->x1 - ci->x0) / ci->scale + 1 + 2 * g) * ((ci->y1 - ci->y0) / ci->scale + 1 + 2 * g);
        most = a > most ? a : most;
    }
    int32_t threads = 1;
#ifdef P3D_HAVE_OPENMP
    threads = omp_get_max_threads();
#endif
    int32_t *lists = (int32_t *)malloc((size_t)threads * most * sizeof(int32_t)); /* (threads, most) */
    if (!sum || !filled || !next || !lists) {
        free(sum);
        free(filled);
        free(next);
        free(lists);
        return p3d_fail(P3D_ERR_OOM, "compact mesh: out of memory for a %dx%d atlas", (int)W, (int)H);
    }
    const p3d_ldi *l = w->l;
    for (int32_t i = 0; i < w->n + w->n_halo; i++) {
        const int32_t node = i < w->n ? i : w->halo_node[i - w->n];
        const int32_t c = i < w->n ? w->chart[i] : w->halo_chart[i - w->n];
        if (c < 0) continue;
        int32_t tx, ty;
        texel_of(w, c, p3d_ldi_x(l, node), p3d_ldi_y(l, node), &tx, &ty);
        uint16_t *s = sum + 4 * ((size_t)ty * W + tx);
        for (int32_t k = 0; k < 3; k++) s[k] += l->rgb[3 * (size_t)node + k];
        s[3]++;
    }
#ifdef P3D_HAVE_OPENMP
#pragma omp parallel for schedule(dynamic, 1)
#endif
    for (int32_t c = 0; c < w->n_charts; c++) {
        const chart_info *ci = &w->ci[c];
        const int32_t x0 = ci->rx, y0 = ci->ry;
        const int32_t x1 = x0 + (ci->x1 - ci->x0) / ci->scale + 2 * g, y1 = y0 + (ci->y1 - ci->y0) / ci->scale + 2 * g;
        for (int32_t y = y0; y <= y1; y++)
            for (int32_t x = x0; x <= x1; x++) {
                const size_t t = (size_t)y * W + x;
                const uint16_t *s = sum + 4 * t;
                if (!s[3]) continue;
                for (int32_t k = 0; k < 3; k++) out->tex[3 * t + k] = (uint8_t)((s[k] + s[3] / 2) / s[3]);
                filled[t] = 1;
            }
        /* The rectangle's empty texels in raster order (this thread's list), bled pass by pass: a pass
         * reads only texels filled before it, so its order does not matter. */
#ifdef P3D_HAVE_OPENMP
        int32_t *todo = lists + (size_t)omp_get_thread_num() * most;
#else
        int32_t *todo = lists;
#endif
        int32_t n_todo = 0;
        for (int32_t y = y0; y <= y1; y++)
            for (int32_t x = x0; x <= x1; x++)
                if (!filled[(size_t)y * W + x]) todo[n_todo++] = (y - y0) * (x1 - x0 + 1) + (x - x0);
        for (int32_t pass = 0; pass < g + 2 && n_todo; pass++) {
            int any = 0;
            for (int32_t i = 0; i < n_todo; i++) {
                const int32_t x = x0 + todo[i] % (x1 - x0 + 1), y = y0 + todo[i] / (x1 - x0 + 1);
                const size_t t = (size_t)y * W + x;
                uint32_t acc[3] = {0, 0, 0}, cnt = 0;
                for (int32_t dy = -1; dy <= 1; dy++)
                    for (int32_t dx = -1; dx <= 1; dx++) {
                        const int32_t xx = x + dx, yy = y + dy;
                        if (xx < x0 || xx > x1 || yy < y0 || yy > y1) continue;
                        const size_t u = (size_t)yy * W + xx;
                        if (filled[u] != 1) continue;
                        for (int32_t k = 0; k < 3; k++) acc[k] += out->tex[3 * u + k];
                        cnt++;
                    }
                if (!cnt) continue;
                for (int32_t k = 0; k < 3; k++) out->tex[3 * t + k] = (uint8_t)((acc[k] + cnt / 2) / cnt);
                next[t] = 1;
                any = 1;
            }
            /* the bled texels count as filled from the next pass on; the rest stay on the list */
            int32_t keep = 0;
            for (int32_t i = 0; i < n_todo; i++) {
                const size_t t = (size_t)(y0 + todo[i] / (x1 - x0 + 1)) * W + x0 + todo[i] % (x1 - x0 + 1);
                if (next[t])
                    filled[t] = 1;
                else
                    todo[keep++] = todo[i];
            }
            n_todo = keep;
            if (!any) break;
        }
        uint64_t acc[3] = {0, 0, 0}, cnt = 0;
        for (int32_t y = y0; y <= y1; y++)
            for (int32_t x = x0; x <= x1; x++)
                if (filled[(size_t)y * W + x]) {
                    for (int32_t k = 0; k < 3; k++) acc[k] += out->tex[3 * ((size_t)y * W + x) + k];
                    cnt++;
                }
        for (int32_t y = y0; y <= y1 && cnt; y++)
            for (int32_t x = x0; x <= x1; x++)
                if (!filled[(size_t)y * W + x])
                    for (int32_t k = 0; k < 3; k++) out->tex[3 * ((size_t)y * W + x) + k] = (uint8_t)(acc[k] / cnt);
    }
    free(sum);
    free(filled);
    free(next);
    free(lists);
    return P3D_OK;
}

/* One chart's faces, simplified and reordered, appended to the output arrays. */
typedef struct out_buf {
    int32_t *node;   /* output vertex -> LDI node */
    int32_t *vchart; /* output vertex -> chart */
    int32_t *faces;
    int64_t nv, nfaces;
} out_buf;

/* Side of the simplification tiles, in pixels (see simplify_region). 128 rather than 64: a quarter of
 * the tiles' locked edges, so fewer faces (moon at 960: 8.7% -> 6.2% of the dense faces with the
 * RTIN and meshoptimizer as before), which leaves room in the face budget for COMPACT_RTIN_KEEP. */
#define COMPACT_TILE 128
#define COMPACT_TILE_LOG2 7 /* COMPACT_TILE == 1 << COMPACT_TILE_LOG2 */
/* A tile whose RTIN decimation under the whole bound keeps at most this fraction of its dense faces
 * takes it as its result, without meshoptimizer (the RTIN's scan guarantees the bound). Moon at 960
 * (64-pixel tiles before this, branch compact5's notes): the RTIN alone on every tile is 15.5% of the
 * dense faces, 10.1 MB of GLB and 0.81 s of CPU against 1.21 s; 0.2 on 128-pixel tiles 9.1%, 6.4 MB,
 * frames from the GLB 38.34 dB, 0.89 s; 0.15 8.8%, 38.29 dB, 1.00 s. */
#define COMPACT_RTIN_KEEP 0.2
/* Share of the error bound the RTIN pre-decimation of the other tiles spends (rtin_pick); meshoptimizer
 * gets the bound less the RTIN's measured error. It halves what
 * meshoptimizer reads (moon at 960: 3.21 M -> 1.74 M triangles over all its calls), but meshoptimizer
 * collapses a pre-decimated input less well than the dense grid, and more tiles then fall back to
 * their quarters. Moon at 960, faces / preset frames from the GLB vs the dense mesh, min dB: without
 * 8.5% / 38.89, share 0.05 8.7% / 38.95, 0.1 8.8% / 38.89, 0.25 9.4% / 38.33, 0.5 9.8% / 38.49; at
 * 480 (test_mesh_compact) 0.15 takes a preset frame below 38 dB. 0.2 would save a sixth of the
 * simplification's time (meshoptimizer reads 0.65 M instead of 1.06 M triangles of moon's tiles; 8.8%,
 * 38.62 dB at 960), but moon at 480 falls to 37.8 dB and the sample's photo camera to an 8x8 block
 * error of 57. */
#define COMPACT_PRE_SHARE 0.1f

/* One thread's scratch of the simplification of a region (the tiles of a chart run in parallel). */
typedef struct simp_thread {
    int32_t *tstamp, *tidx;   /* (n) node -> tile-local index, valid where tstamp == tile_id */
    int32_t *tnode;           /* (cap_v) tile-local index -> node */
    float *pos;               /* (cap_v, 3) tile-local positions in the simplification space */
    int32_t *gx, *gy;         /* (cap_v) tile-local vertices' canvas pixels */
    unsigned int *idx, *simp; /* (cap_i) the region's triangles, tile-local; simplified */
    int32_t *grid;            /* ((COMPACT_TILE + 2)^2) simplified triangle per pixel of a region and its ring */
    unsigned int *pre;        /* (cap_i) the region's triangles after the pre-decimation (rtin_pick) */
    int32_t *gv;              /* ((COMPACT_TILE + 1)^2) tile-local vertex at each grid vertex, -1 for none */
    float *gerr;              /* ((COMPACT_TILE + 1)^2) hierarchy error at each grid vertex (as a midpoint) */
    float *gz;                /* ((COMPACT_TILE + 1)^2) third coordinate of gv's vertex (pos), where gv >= 0:
                               * the RTIN reads it at grid vertices, without going through gv */
    uint8_t *vfree;           /* ((COMPACT_TILE + 1)^2) all four cells around the vertex complete */
    uint8_t *ccnt, *cover;    /* (COMPACT_TILE^2) dense faces per cell (255: inconsistent); the cell's
                               * halves that are smallest leaves (rtin_pick: covered below 2) */
    int32_t *leaf0;           /* (2 COMPACT_TILE^2, 4) smallest leaves: three corners and the cell */
    const struct rtin_tri *const *tabs; /* (COMPACT_TILE_LOG2 + 1) tabs[k]: the hierarchy of a region of
                                         * 2^k pixels (rtin_table; k >= 1), shared */
    int32_t *cstamp, *cinv;   /* (cap_v) tile-local index -> simplify_px's index, valid where cstamp == call_id */
    unsigned int *cmap;       /* (cap_v) simplify_px's index -> tile-local index */
    float *cpos;              /* (cap_v, 3) simplify_px's positions */
    unsigned int *cidx;       /* (cap_i) simplify_px's triangles */
    size_t cap_v, cap_i;
    int32_t tile_id, call_id;
    float K;                  /* parallax weight of the simplification space (pixels per unit of 1/depth) */
    const float *zfront, *zback; /* (n) K / depth of each node's drawn neighbours, NAN for none (shared) */
    float error_px;           /* the largest error this thread's regions were simplified with */
    float pre_err;            /* the largest error of the last rtin_pick's coarse triangles (an upper bound) */
    int32_t dense_tiles;      /* regions it left dense */
} simp_thread;

/* Scratch of the simplification, sized for the whole dense mesh once. */
typedef struct simp_scratch {
    int32_t *cstamp, *cidx;   /* (n) node -> chart-local index, valid where cstamp == chart */
    int32_t *cnode;           /* (n) chart-local index -> node */
    int32_t *tmp;             /* (nf) the faces by chart, then by tile */
    int32_t *tmp2;            /* (nf) partition scratch, parallel to tmp */
    int32_t *out;             /* (3 nf) the simplified triangles' node ids: a tile's at 3 x its first face's
                               * place in tmp */
    unsigned int *chart_idx;  /* (3 nf) a chart's simplified triangles, chart-local */
    unsigned int *remap;      /* (n) */
    simp_thread *th;          /* (threads) */
    int32_t threads;
    float K;
} simp_scratch;

/* Triangles of idx (ni indices) that turned over in the image plane: the dense mesh is wound
 * counter-clockwise on screen (negative area with y down, mesh_math.h). */
static int64_t image_flips(const float *pos, const unsigned int *idx, size_t ni) {
    int64_t flips = 0;
    for (size_t i = 0; i < ni; i += 3) {
        const float *a = pos + 3 * idx[i], *b = pos + 3 * idx[i + 1], *c = pos + 3 * idx[i + 2];
        flips += (b[0] - a[0]) * (c[1] - a[1]) - (c[0] - a[0]) * (b[1] - a[1]) > 1e-3f;
    }
    return flips;
}

/* The nearest node in front of node v at its pixel (*front) and behind it (*back) that is drawn
 * (belongs to a chart), -1 where there is none. */
static void drawn_neighbours(const compact_work *w, int32_t v, int32_t *front, int32_t *back) {
    const p3d_ldi *l = w->l;
    *front = *back = -1;
    for (int32_t id = l->head[l->pix[v]]; id >= 0 && id != v; id = l->next[id])
        if (w->chart[id] >= 0) *front = id;
    for (int32_t id = l->next[v]; id >= 0 && *back < 0; id = l->next[id])
        if (w->chart[id] >= 0) *back = id;
}

/* Every node's drawn neighbours (drawn_neighbours) as K / depth, NAN where there is none, once for all
 * regions (a region and its retries read them many times): zfront and zback hold n values. */
static void drawn_neighbour_z(const compact_work *w, float K, float *zfront, float *zback) {
    const p3d_ldi *l = w->l;
#ifdef P3D_HAVE_OPENMP
#pragma omp parallel for schedule(static)
#endif
    for (int32_t v = 0; v < w->n; v++) {
        int32_t front, back;
        drawn_neighbours(w, v, &front, &back);
        zfront[v] = front >= 0 ? K / l->depth[front] : NAN;
        zback[v] = back >= 0 ? K / l->depth[back] : NAN;
    }
}

/* Whether the simplified triangles res (n tile-local indices, positions sc->pos) of the region at
 * (x0, y0) of size pixels move one of the region's ntl nodes past the middle between it and the
 * nearest drawn node in front of it or behind it at its pixel (other charts: the surface the node
 * hides, or the one hiding it). Each chart keeps to its side of the middle, so two overlapping charts simplified
 * on their own never cross at a node and a hidden band never shows through the surface in front of
 * it at the photo's camera, however small the gap between them is against the error bound. The
 * simplified surface is read at each node's pixel centre (the nodes' own positions: vertices at
 * pixel centres), through a grid of the region and its one-pixel ring filled with the triangle that
 * covers each centre; the third coordinate K / depth is linear in the image plane. */
static int depth_order_breaks(const compact_work *w, simp_thread *sc, const unsigned int *res, size_t n, int32_t ntl,
                              int32_t x0, int32_t y0, int32_t size) {
    const p3d_ldi *l = w->l;
    const int32_t gs = size + 2, gx0 = x0 - 1, gy0 = y0 - 1;
    for (int32_t i = 0; i < gs * gs; i++) sc->grid[i] = -1;
    for (size_t i = 0; i < n; i += 3) {
        const float *a = sc->pos + 3 * res[i], *b = sc->pos + 3 * res[i + 1], *c = sc->pos + 3 * res[i + 2];
        const double area = ((double)b[0] - a[0]) * ((double)c[1] - a[1]) - ((double)c[0] - a[0]) * ((double)b[1] - a[1]);
        if (area == 0.0) continue;
        /* pixel centres px + 0.5 inside the box: the positions are centres already */
        const int32_t bx0 = (int32_t)floorf(fminf(a[0], fminf(b[0], c[0]))), bx1 = (int32_t)floorf(fmaxf(a[0], fmaxf(b[0], c[0])));
        const int32_t by0 = (int32_t)floorf(fminf(a[1], fminf(b[1], c[1]))), by1 = (int32_t)floorf(fmaxf(a[1], fmaxf(b[1], c[1])));
        for (int32_t y = by0 > gy0 ? by0 : gy0; y <= by1 && y < gy0 + gs; y++)
            for (int32_t x = bx0 > gx0 ? bx0 : gx0; x <= bx1 && x < gx0 + gs; x++) {
                const double px = x + 0.5, py = y + 0.5;
                const double e0 = ((double)c[0] - b[0]) * (py - b[1]) - ((double)c[1] - b[1]) * (px - b[0]);
                const double e1 = ((double)a[0] - c[0]) * (py - c[1]) - ((double)a[1] - c[1]) * (px - c[0]);
                const double e2 = area - e0 - e1;
                const double eps = -1e-9 * fabs(area);
                if (area > 0 ? (e0 >= eps && e1 >= eps && e2 >= eps) : (e0 <= -eps && e1 <= -eps && e2 <= -eps)) {
                    int32_t *g = &sc->grid[(y - gy0) * gs + (x - gx0)];
                    if (*g < 0) *g = (int32_t)(i / 3);
                }
            }
    }
    for (int32_t j = 0; j < ntl; j++) {
        const int32_t v = sc->tnode[j];
        const int32_t x = p3d_ldi_x(l, v), y = p3d_ldi_y(l, v);
        if (x < gx0 || x >= gx0 + gs || y < gy0 || y >= gy0 + gs) continue;
        const int32_t tri = sc->grid[(y - gy0) * gs + (x - gx0)];
        if (tri < 0) continue;
        const float *a = sc->pos + 3 * res[3 * tri], *b = sc->pos + 3 * res[3 * tri + 1], *c = sc->pos + 3 * res[3 * tri + 2];
        const double px = x + 0.5, py = y + 0.5;
        const double area = ((double)b[0] - a[0]) * ((double)c[1] - a[1]) - ((double)c[0] - a[0]) * ((double)b[1] - a[1]);
        const double la = (((double)c[0] - b[0]) * (py - b[1]) - ((double)c[1] - b[1]) * (px - b[0])) / area;
        const double lb = (((double)a[0] - c[0]) * (py - c[1]) - ((double)a[1] - c[1]) * (px - c[0])) / area;
        const double z = la * a[2] + lb * b[2] + (1.0 - la - lb) * c[2]; /* K / depth of the simplified surface */
        const double zv = sc->pos[3 * j + 2];
        const float zf = sc->zfront[v], zb = sc->zback[v];
        if (!isnan(zf) && !(z < 0.5 * (zv + zf))) return 1;
        if (!isnan(zb) && !(z > 0.5 * (zv + zb))) return 1;
    }
    return 0;
}

/* Half the smallest gap, in the simplification's third coordinate (K / depth: pixels of parallax),
 * between one of the ntl nodes of a region and the nearest drawn node in front of it or behind it at
 * its pixel: an error bound below it keeps every node on its side of the middle (depth_order_breaks). */
static float region_half_gap(const simp_thread *sc, int32_t ntl) {
    float gap = INFINITY;
    for (int32_t j = 0; j < ntl; j++) {
        const int32_t v = sc->tnode[j];
        const float zv = sc->pos[3 * j + 2], zf = sc->zfront[v], zb = sc->zback[v];
        if (!isnan(zf) && 0.5f * (zf - zv) < gap) gap = 0.5f * (zf - zv);
        if (!isnan(zb) && 0.5f * (zv - zb) < gap) gap = 0.5f * (zv - zb);
    }
    return gap;
}

/* ---- pre-decimation: a right-triangulated irregular network (RTIN) of a region's height field ------
 * meshoptimizer's cost grows with its input, and most of a region is a smooth height field: the
 * region's square grid of S + 1 vertices a side (S a power of two; canvas pixels x0 .. x0 + S) is
 * first covered by the coarsest right triangles of the longest-edge bisection hierarchy whose every
 * grid vertex lies within the bound of the triangle's plane in the simplification space (the third
 * coordinate K / depth; x and y are exact on the grid), as in Martini (Agafonkin 2019, after Evans et
 * al. 2001). A triangle's error includes its children's and its hypotenuse neighbour's (the
 * bottom-up pass over the levels writes both into the hypotenuse's midpoint), so the result has no
 * T-junction. Most triangles are kept on a constant-time bound, Martini's error pyramid made strict:
 * splitting a triangle T at its hypotenuse's midpoint m changes the plane on each child by a linear
 * function that is 0 at the child's other two corners and d_m = |z_m - (z_a + z_b) / 2| at m, so no
 * vertex of T is farther from T's plane than d_m plus the larger of its children's errors; only where
 * that sum exceeds the bound is the triangle scanned exactly. Exact wherever the dense mesh is not a
 * full grid: a coarse triangle may only cover complete cells (both dense faces of the cell in this
 * region) and contain, besides its corners, only free vertices (all four cells around them complete:
 * no chart border, tear, halo edge or region edge), so borders and tears keep every dense edge and
 * neighbouring regions and charts stay watertight. Cells no coarse triangle touches keep their dense
 * faces (their own diagonal); a cell cut by a coarse triangle's diagonal leg whose other half is a
 * smallest triangle takes that half (the same four nodes, the hierarchy's diagonal). */

/* A triangle of the hierarchy of a region of at most COMPACT_TILE pixels: hypotenuse a-b, apex c (grid
 * coordinates). */
typedef struct rtin_tri {
    uint8_t ax, ay, bx, by, cx, cy;
} rtin_tri;

/* The hierarchy's 2 S^2 - 2 triangles above half cells (S a power of two, at most COMPACT_TILE),
 * bottom-up: Martini's walk from the two top triangles in reverse heap order (a level's triangles
 * before their parents'). tab holds 2 S^2 - 2 entries. */
static void rtin_table(rtin_tri *tab, int32_t S) {
    const int32_t n_tri = 4 * S * S - 2;
    int32_t k = 0;
    for (int32_t i = n_tri - 1; i >= 0; i--) {
        int32_t id = i + 2, ax = 0, ay = 0, bx = 0, by = 0, cx = 0, cy = 0;
        if (id & 1) {
            bx = by = cx = S;
        } else {
            ax = ay = cy = S;
        }
        while ((id >>= 1) > 1) {
            const int32_t mx = (ax + bx) >> 1, my = (ay + by) >> 1;
            if (id & 1) {
                bx = ax;
                by = ay;
                ax = cx;
                ay = cy;
            } else {
                ax = bx;
                ay = by;
                bx = cx;
                by = cy;
            }
            cx = mx;
            cy = my;
        }
        if (abs(ax - cx) + abs(ay - cy) == 1) continue; /* half a cell: never split */
        tab[k].ax = (uint8_t)ax;
        tab[k].ay = (uint8_t)ay;
        tab[k].bx = (uint8_t)bx;
        tab[k].by = (uint8_t)by;
        tab[k].cx = (uint8_t)cx;
        tab[k].cy = (uint8_t)cy;
        k++;
    }
}

/* Largest deviation (pixels, K / depth) of the grid vertices in the closed triangle (a, b, c) (grid
 * coordinates, region side S) from its plane; INFINITY when it holds a vertex that is not free besides
 * its corners, or when it exceeds bound (early exit). Every cell a triangle of the hierarchy above the
 * smallest touches has a corner in the closed triangle that is not one of its corners, so free
 * vertices there also mean that the triangle covers complete cells only. */
static float rtin_own_error(const simp_thread *sc, int32_t S, int32_t ax, int32_t ay, int32_t bx, int32_t by,
                            int32_t cx, int32_t cy, float bound) {
    const int32_t G = S + 1;
    if (sc->gv[ay * G + ax] < 0 || sc->gv[by * G + bx] < 0 || sc->gv[cy * G + cx] < 0) return INFINITY;
    const int32_t D = (bx - ax) * (cy - ay) - (cx - ax) * (by - ay);
    const int32_t mnx = ax < bx ? (ax < cx ? ax : cx) : (bx < cx ? bx : cx);
    const int32_t mxx = ax > bx ? (ax > cx ? ax : cx) : (bx > cx ? bx : cx);
    const int32_t mny = ay < by ? (ay < cy ? ay : cy) : (by < cy ? by : cy);
    const int32_t mxy = ay > by ? (ay > cy ? ay : cy) : (by > cy ? by : cy);
    const float za = sc->gz[ay * G + ax], zb = sc->gz[by * G + bx], zc = sc->gz[cy * G + cx];
    if (abs(ax - bx) + abs(ay - by) == 2) {
        /* a hypotenuse of two cells: its midpoint is the only vertex besides the corners */
        const int32_t m = ((ay + by) >> 1) * G + ((ax + bx) >> 1);
        if (!sc->vfree[m]) return INFINITY;
        const float e = fabsf(0.5f * (za + zb) - sc->gz[m]);
        return e > bound ? INFINITY : e;
    }
    const float invD = 1.0f / (float)D;
    float worst = 0.0f;
    for (int32_t y = mny; y <= mxy; y++)
        for (int32_t x = mnx; x <= mxx; x++) {
            const int32_t wb = (x - ax) * (cy - ay) - (cx - ax) * (y - ay);
            const int32_t wc = (bx - ax) * (y - ay) - (x - ax) * (by - ay);
            const int32_t wa = D - wb - wc;
            const int inside = D > 0 ? (wa >= 0 && wb >= 0 && wc >= 0) : (wa <= 0 && wb <= 0 && wc <= 0);
            if (!inside || (x == ax && y == ay) || (x == bx && y == by) || (x == cx && y == cy)) continue;
            if (!sc->vfree[y * G + x]) return INFINITY;
            const float z = (wa * za + wb * zb + wc * zc) * invD;
            const float e = fabsf(z - sc->gz[y * G + x]);
            if (e > bound) return INFINITY;
            worst = e > worst ? e : worst;
        }
    return worst;
}

/* Appends triangle (a, b, c) of tile-local vertices to pre, wound counter-clockwise on screen like the
 * dense faces (non-positive area in (x, y) with y down). */
static void rtin_emit(simp_thread *sc, size_t *np, int32_t a, int32_t b, int32_t c) {
    const float *pa = sc->pos + 3 * a, *pb = sc->pos + 3 * b, *pc = sc->pos + 3 * c;
    const float area = (pb[0] - pa[0]) * (pc[1] - pa[1]) - (pc[0] - pa[0]) * (pb[1] - pa[1]);
    sc->pre[(*np)++] = (unsigned int)a;
    sc->pre[(*np)++] = (unsigned int)(area > 0 ? c : b);
    sc->pre[(*np)++] = (unsigned int)(area > 0 ? b : c);
}

/* Leaves of the hierarchy below triangle (a, b, c) (hypotenuse a-b, apex c): coarse ones are emitted,
 * smallest ones (half cells) are listed in leaf0. */
static void rtin_extract(simp_thread *sc, int32_t S, float bound, int32_t ax, int32_t ay, int32_t bx, int32_t by,
                         int32_t cx, int32_t cy, size_t *np, int32_t *n0) {
    const int32_t G = S + 1;
    if (abs(ax - cx) + abs(ay - cy) == 1) {
        int32_t *l0 = sc->leaf0 + 4 * (*n0)++;
        l0[0] = sc->gv[ay * G + ax];
        l0[1] = sc->gv[by * G + bx];
        l0[2] = sc->gv[cy * G + cx];
        l0[3] = (ay < by ? ay : by) * S + (ax < bx ? ax : bx); /* the cell: its hypotenuse is the diagonal */
        return;
    }
    const int32_t mx = (ax + bx) >> 1, my = (ay + by) >> 1;
    if (sc->gerr[my * G + mx] > bound) {
        rtin_extract(sc, S, bound, cx, cy, ax, ay, mx, my, np, n0);
        rtin_extract(sc, S, bound, bx, by, cx, cy, mx, my, np, n0);
        return;
    }
    rtin_emit(sc, np, sc->gv[ay * G + ax], sc->gv[by * G + bx], sc->gv[cy * G + cx]);
    if (sc->gerr[my * G + mx] > sc->pre_err) sc->pre_err = sc->gerr[my * G + mx];
}

/* Whether face t (tile-local corners) is half of a cell inside the region of side S at (x0, y0): the
 * faces the RTIN works on. (*cx, *cy) is the cell's corner, in the region's grid. */
static int rtin_face_cell(const simp_thread *sc, const unsigned int *t, int32_t x0, int32_t y0, int32_t S, int32_t *cx,
                          int32_t *cy) {
    int32_t mnx = INT32_MAX, mny = INT32_MAX, mxx = INT32_MIN, mxy = INT32_MIN;
    for (int32_t k = 0; k < 3; k++) {
        const int32_t x = sc->gx[t[k]] - x0, y = sc->gy[t[k]] - y0;
        mnx = x < mnx ? x : mnx;
        mxx = x > mxx ? x : mxx;
        mny = y < mny ? y : mny;
        mxy = y > mxy ? y : mxy;
    }
    *cx = mnx;
    *cy = mny;
    return mnx >= 0 && mny >= 0 && mxx <= S && mxy <= S && mxx - mnx == 1 && mxy - mny == 1;
}

/* Grid vertices, free vertices and the errors (sc->gerr at each hypotenuse's midpoint, exact up to
 * bound) of the region's nt faces (tile-local corners in sc->idx) at (x0, y0), side S. */
static void rtin_prepare(simp_thread *sc, int32_t nt, int32_t x0, int32_t y0, int32_t S, float bound) {
    const int32_t G = S + 1;
    for (int32_t i = 0; i < G * G; i++) {
        sc->gv[i] = -1;
        sc->gerr[i] = 0.0f;
        sc->vfree[i] = 0;
    }
    memset(sc->ccnt, 0, (size_t)S * S);
    /* Nodes at grid vertices and faces per cell; a second node at a vertex makes its cells incomplete
     * (255). */
    for (int32_t e = 0; e < nt; e++) {
        const unsigned int *t = sc->idx + 3 * e;
        int32_t mnx, mny;
        if (!rtin_face_cell(sc, t, x0, y0, S, &mnx, &mny)) continue;
        uint8_t *cc = &sc->ccnt[mny * S + mnx];
        for (int32_t k = 0; k < 3; k++) {
            const int32_t g = (sc->gy[t[k]] - y0) * G + sc->gx[t[k]] - x0;
            if (sc->gv[g] >= 0 && sc->gv[g] != (int32_t)t[k]) *cc = 255;
            sc->gv[g] = (int32_t)t[k];
            sc->gz[g] = sc->pos[3 * t[k] + 2];
        }
        if (*cc != 255) (*cc)++;
    }
    for (int32_t y = 1; y < S; y++)
        for (int32_t x = 1; x < S; x++)
            sc->vfree[y * G + x] = sc->ccnt[(y - 1) * S + x - 1] == 2 && sc->ccnt[(y - 1) * S + x] == 2 &&
                                   sc->ccnt[y * S + x - 1] == 2 && sc->ccnt[y * S + x] == 2;
    /* Bottom-up over the hierarchy. A triangle whose children split splits; otherwise its error is
     * first bounded in constant time by its midpoint's deviation d_m plus the larger of its children's
     * errors (none below a triangle of two cells: its children are half cells, with no vertex besides
     * their corners; infinite where m is not free or a corner has no node), and only a triangle that
     * bound does not keep within the bound is scanned exactly (rtin_own_error). Either way a triangle
     * is kept exactly when the exact scan alone would keep it. */
    int32_t lg = 1;
    while ((1 << lg) < S) lg++;
    const rtin_tri *tab = sc->tabs[lg];
    for (int32_t i = 0; i < 2 * S * S - 2; i++) {
        const rtin_tri *tr = &tab[i];
        const int32_t ax = tr->ax, ay = tr->ay, bx = tr->bx, by = tr->by, cx = tr->cx, cy = tr->cy;
        const int32_t m = ((ay + by) >> 1) * G + ((ax + bx) >> 1);
        float e = 0.0f;
        if (abs(ax - cx) + abs(ay - cy) > 2 || (ax != bx && ay != by)) {
            /* children are not half cells: their hypotenuses' midpoints are this triangle's legs' */
            const float el = sc->gerr[((ay + cy) >> 1) * G + ((ax + cx) >> 1)];
            const float er = sc->gerr[((by + cy) >> 1) * G + ((bx + cx) >> 1)];
            e = el > er ? el : er;
        }
        if (e <= bound) {
            const int32_t a = ay * G + ax, b = by * G + bx;
            const float dm = sc->vfree[m] && sc->gv[a] >= 0 && sc->gv[b] >= 0 && sc->gv[cy * G + cx] >= 0
                                 ? fabsf(sc->gz[m] - 0.5f * (sc->gz[a] + sc->gz[b]))
                                 : INFINITY;
            if (e + dm <= bound) {
                e += dm;
            } else if (dm > bound) {
                e = INFINITY; /* m itself is off the plane by dm: the exact scan would fail too */
            } else {
                const float own = rtin_own_error(sc, S, ax, ay, bx, by, cx, cy, bound);
                e = own > e ? own : e;
            }
        }
        if (e > sc->gerr[m]) sc->gerr[m] = e;
    }
}

/* The side S of the hierarchy the RTIN of a tile at (x0, y0) runs on (sc->idx: its nt faces): the
 * smallest power of two (at least 2, at most COMPACT_TILE) whose square from the tile's corner holds
 * every cell face rtin_prepare takes. The same triangles come out, in the same order, as from the
 * whole tile's hierarchy: that hierarchy's triangles inside the square [0, S]^2 from the corner are
 * the smaller one's (both top triangles of the smaller square descend from the larger's, with the
 * same corners in the same roles), every triangle reaching outside holds a vertex without a node or
 * a vertex that is not free, so it is never kept, and a hypotenuse midpoint on the square's edge is
 * not free either, so its error is over every bound from both sides. Most tiles of the hidden charts
 * hold a few faces (moon at 960: 373 of 569 tiles hold fewer than 10), and the whole tile's
 * hierarchy cost them as much as a full tile. */
static int32_t rtin_side(const simp_thread *sc, int32_t nt, int32_t x0, int32_t y0) {
    int32_t most = 1;
    for (int32_t e = 0; e < nt; e++) {
        int32_t cx, cy;
        if (!rtin_face_cell(sc, sc->idx + 3 * e, x0, y0, COMPACT_TILE, &cx, &cy)) continue;
        most = cx + 1 > most ? cx + 1 : most;
        most = cy + 1 > most ? cy + 1 : most;
    }
    int32_t S = 2;
    while (S < most) S *= 2;
    return S;
}

/* The region's nt faces (tile-local corners in sc->idx) decimated into sc->pre under bound, from the
 * errors rtin_prepare found under a bound at least as large (a triangle's sc->gerr bounds its error
 * from above, and the larger of two triangles sharing a hypotenuse, so any lower bound still leaves
 * no T-junction); returns its index count and sets sc->pre_err. S is the hierarchy's side (rtin_side). */
static size_t rtin_pick(simp_thread *sc, int32_t nt, int32_t x0, int32_t y0, int32_t S, float bound) {
    memset(sc->cover, 0, (size_t)S * S);
    sc->pre_err = 0.0f;
    size_t np = 0;
    int32_t n0 = 0;
    rtin_extract(sc, S, bound, 0, 0, S, S, S, 0, &np, &n0);
    rtin_extract(sc, S, bound, S, S, 0, 0, 0, S, &np, &n0);
    /* The leaves split the square into coarse triangles and half cells, and every triangle of the
     * hierarchy is a union of half cells (the cells' diagonals are the hierarchy's): a coarse triangle
     * touches a cell exactly when it holds one of the cell's halves, so a cell is touched unless both
     * its halves are smallest leaves (cover counts them: covered below 2). */
    for (int32_t k = 0; k < n0; k++) sc->cover[sc->leaf0[4 * k + 3]]++;
    /* Half cells of covered cells, then the dense faces of every cell no coarse triangle touches. */
    for (int32_t k = 0; k < n0; k++) {
        const int32_t *l0 = sc->leaf0 + 4 * k;
        if (sc->cover[l0[3]] < 2) rtin_emit(sc, &np, l0[0], l0[1], l0[2]);
    }
    for (int32_t e = 0; e < nt; e++) {
        const unsigned int *t = sc->idx + 3 * e;
        int32_t mnx = INT32_MAX, mny = INT32_MAX;
        for (int32_t k = 0; k < 3; k++) {
            const int32_t x = sc->gx[t[k]] - x0, y = sc->gy[t[k]] - y0;
            mnx = x < mnx ? x : mnx;
            mny = y < mny ? y : mny;
        }
        if (mnx >= 0 && mny >= 0 && mnx < S && mny < S && sc->cover[mny * S + mnx] < 2) continue;
        for (int32_t k = 0; k < 3; k++) sc->pre[np++] = t[k];
    }
    return np;
}

/* meshopt_simplify of the ni tile-local indices in (sc->pos) into sc->simp with borders locked, under
 * bound pixels; returns the index count and the error met in pixels. meshoptimizer works on the
 * vertices the indices use only (the 0.18 library has no sparse mode, and its per-vertex work over a
 * whole tile's dense vertices was a seventh of the simplification when the input is pre-decimated). */
static size_t simplify_px(simp_thread *sc, const unsigned int *in, size_t ni, float bound, float *err_px) {
    const int32_t call = ++sc->call_id;
    int32_t nc = 0;
    for (size_t i = 0; i < ni; i++) {
        const unsigned int v = in[i];
        if (sc->cstamp[v] != call) {
            sc->cstamp[v] = call;
            sc->cinv[v] = nc;
            sc->cmap[nc] = v;
            memcpy(sc->cpos + 3 * (size_t)nc, sc->pos + 3 * (size_t)v, 3 * sizeof(float));
            nc++;
        }
        sc->cidx[i] = (unsigned int)sc->cinv[v];
    }
    const float scale = meshopt_simplifyScale(sc->cpos, (size_t)nc, 3 * sizeof(float));
    float err = 0.0f;
    const size_t n = scale > 0.0f ? meshopt_simplify(sc->simp, sc->cidx, ni, sc->cpos, (size_t)nc, 3 * sizeof(float), 0,
                                                     bound / scale, meshopt_SimplifyLockBorder, &err)
                                  : ni;
    const unsigned int *src = scale > 0.0f ? sc->simp : sc->cidx;
    for (size_t i = 0; i < n; i++) sc->simp[i] = sc->cmap[src[i]];
    *err_px = err * scale;
    return n;
}

/* The faces of a square region (faces: global face ids, first corners inside (x0, y0) + size)
 * simplified with the region's border locked (chart borders, tears and the region's edges keep every
 * vertex), appended to out (*n_out so far) as node ids; faces and part (its scratch) are the region's
 * slices. meshoptimizer keeps each collapse from
 * turning a triangle over in its own space (x, y, K / depth), but a sequence of collapses can still
 * turn one over in the image plane, where the atlas (addressed by image position) would then be read
 * twice, and the error bound alone lets a surface cross another chart's surface close behind or in
 * front of it (depth_order_breaks): such a region is split in four and each quarter simplified on its own, down to 8 pixels,
 * below which it stays dense. Regions also bound meshoptimizer's work per call. */
static void simplify_region(const compact_work *w, simp_thread *sc, int32_t *faces, int32_t *part, int32_t nt,
                            int32_t x0, int32_t y0, int32_t size, int32_t *out, size_t *n_out) {
    if (!nt) return;
    const p3d_ldi *l = w->l;
    const int32_t *F = w->d->faces;
    const int32_t tile = ++sc->tile_id;
    int32_t ntl = 0, near = 0; /* near: a node of the region has a drawn neighbour (depth_order_breaks) */
    for (int32_t e = 0; e < nt; e++) {
        const int32_t *t = F + 3 * (int64_t)faces[e];
        for (int32_t j = 0; j < 3; j++) {
            const int32_t v = t[j];
            if (sc->tstamp[v] != tile) {
                near |= !isnan(sc->zfront[v]) || !isnan(sc->zback[v]);
                sc->tstamp[v] = tile;
                sc->tidx[v] = ntl;
                sc->tnode[ntl] = v;
                sc->gx[ntl] = p3d_ldi_x(l, v);
                sc->gy[ntl] = p3d_ldi_y(l, v);
                sc->pos[3 * ntl + 0] = (float)sc->gx[ntl] + 0.5f;
                sc->pos[3 * ntl + 1] = (float)sc->gy[ntl] + 0.5f;
                sc->pos[3 * ntl + 2] = sc->K / l->depth[v];
                ntl++;
            }
            sc->idx[3 * e + j] = (unsigned int)sc->tidx[v];
        }
    }
    size_t ni = 3 * (size_t)nt;
    const unsigned int *res = sc->idx;
    if (nt >= 2) {
        float err = 0.0f;
        /* A whole tile is decimated by the RTIN under the whole bound; where that does not keep at most
         * COMPACT_RTIN_KEEP of its faces, the RTIN's triangles within COMPACT_PRE_SHARE of the bound go
         * to meshoptimizer with the bound less their measured error (pre_err): every node stays within
         * the bound of the simplified surface. Quarters of a tile (split below) start from their dense
         * faces. */
        size_t n;
        if (size == COMPACT_TILE) {
            const int32_t S = rtin_side(sc, nt, x0, y0);
            rtin_prepare(sc, nt, x0, y0, S, w->o.max_error_px);
            n = rtin_pick(sc, nt, x0, y0, S, w->o.max_error_px);
            if ((double)n <= COMPACT_RTIN_KEEP * (double)ni) {
                memcpy(sc->simp, sc->pre, n * sizeof *sc->pre);
                err = sc->pre_err;
            } else {
                const size_t np = rtin_pick(sc, nt, x0, y0, S, COMPACT_PRE_SHARE * w->o.max_error_px);
                const float pre_err = sc->pre_err;
                n = simplify_px(sc, sc->pre, np, w->o.max_error_px - pre_err, &err);
                err += pre_err;
            }
        } else {
            n = simplify_px(sc, sc->idx, ni, w->o.max_error_px, &err);
        }
        int flips = image_flips(sc->pos, sc->simp, n) != 0;
        int crosses = !flips && near && depth_order_breaks(w, sc, sc->simp, n, ntl, x0, y0, size);
        /* A region whose surface crosses another chart's is simplified again under a half, a quarter
         * and an eighth of the bound before it is split (fewer faces than splitting at once: 9.4%
         * of moon's dense faces at 960 against 9.7%), and a smallest region once more under its
         * smallest half gap before it stays dense. */
        for (float e = 0.5f * w->o.max_error_px; crosses && e > 0.1f * w->o.max_error_px; e *= 0.5f) {
            n = simplify_px(sc, sc->idx, ni, e, &err);
            flips = image_flips(sc->pos, sc->simp, n) != 0;
            crosses = !flips && near && depth_order_breaks(w, sc, sc->simp, n, ntl, x0, y0, size);
        }
        if (crosses && size <= 8) {
            const float gap = 0.9f * region_half_gap(sc, ntl);
            n = simplify_px(sc, sc->idx, ni, gap, &err);
            flips = image_flips(sc->pos, sc->simp, n) != 0;
            crosses = !flips && near && depth_order_breaks(w, sc, sc->simp, n, ntl, x0, y0, size);
        }
        if (!flips && !crosses) {
            if (err > sc->error_px) sc->error_px = err;
            ni = n;
            res = sc->simp;
        } else if (size > 8) {
            /* Quarters by the faces' first corners (a stable partition through part). */
            const int32_t h = size / 2;
            int32_t cnt[4] = {0, 0, 0, 0}, at[4];
            for (int32_t e = 0; e < nt; e++) {
                const int32_t v = F[3 * (int64_t)faces[e]];
                cnt[(p3d_ldi_x(l, v) >= x0 + h) + 2 * (p3d_ldi_y(l, v) >= y0 + h)]++;
            }
            at[0] = 0;
            for (int32_t q = 1; q < 4; q++) at[q] = at[q - 1] + cnt[q - 1];
            for (int32_t e = 0; e < nt; e++) {
                const int32_t v = F[3 * (int64_t)faces[e]];
                part[at[(p3d_ldi_x(l, v) >= x0 + h) + 2 * (p3d_ldi_y(l, v) >= y0 + h)]++] = faces[e];
            }
            memcpy(faces, part, (size_t)nt * sizeof *faces);
            for (int32_t q = 0, start = 0; q < 4; start += cnt[q++])
                simplify_region(w, sc, faces + start, part + start, cnt[q], x0 + (q & 1) * h, y0 + (q >> 1) * h, h, out,
                                n_out);
            return;
        } else {
            sc->dense_tiles++;
        }
    }
    /* sc->tnode is this region's until the next call: read it now. */
    for (size_t i = 0; i < ni; i++) out[(*n_out)++] = sc->tnode[res[i]];
}

static void simp_threads_free(simp_scratch *sc) {
    for (int32_t t = 0; sc->th && t < sc->threads; t++) {
        simp_thread *th = &sc->th[t];
        free(th->tstamp);
        free(th->tidx);
        free(th->tnode);
        free(th->pos);
        free(th->gx);
        free(th->gy);
        free(th->idx);
        free(th->simp);
        free(th->grid);
        free(th->pre);
        free(th->gv);
        free(th->gerr);
        free(th->gz);
        free(th->vfree);
        free(th->ccnt);
        free(th->cover);
        free(th->leaf0);
        free(th->cstamp);
        free(th->cinv);
        free(th->cmap);
        free(th->cpos);
        free(th->cidx);
    }
    free(sc->th);
    sc->th = NULL;
}

/* Grows every thread's region buffers to hold a region of nt faces; 0 when out of memory. */
static int simp_threads_reserve(simp_scratch *sc, int32_t nt) {
    const size_t need = 3 * (size_t)(nt > 0 ? nt : 1);
    for (int32_t t = 0; t < sc->threads; t++) {
        simp_thread *th = &sc->th[t];
        if (th->cap_i >= need) continue;
        int32_t *tnode = (int32_t *)realloc(th->tnode, need * sizeof *tnode);
        if (tnode) th->tnode = tnode;
        float *pos = (float *)realloc(th->pos, need * 3 * sizeof *pos);
        if (pos) th->pos = pos;
        int32_t *gx = (int32_t *)realloc(th->gx, need * sizeof *gx);
        if (gx) th->gx = gx;
        int32_t *gy = (int32_t *)realloc(th->gy, need * sizeof *gy);
        if (gy) th->gy = gy;
        unsigned int *idx = (unsigned int *)realloc(th->idx, need * sizeof *idx);
        if (idx) th->idx = idx;
        unsigned int *simp = (unsigned int *)realloc(th->simp, need * sizeof *simp);
        if (simp) th->simp = simp;
        unsigned int *pre = (unsigned int *)realloc(th->pre, need * sizeof *pre);
        if (pre) th->pre = pre;
        int32_t *cstamp = (int32_t *)realloc(th->cstamp, need * sizeof *cstamp);
        if (cstamp) th->cstamp = cstamp;
        int32_t *cinv = (int32_t *)realloc(th->cinv, need * sizeof *cinv);
        if (cinv) th->cinv = cinv;
        unsigned int *cmap = (unsigned int *)realloc(th->cmap, need * sizeof *cmap);
        if (cmap) th->cmap = cmap;
        float *cpos = (float *)realloc(th->cpos, need * 3 * sizeof *cpos);
        if (cpos) th->cpos = cpos;
        unsigned int *cidx = (unsigned int *)realloc(th->cidx, need * sizeof *cidx);
        if (cidx) th->cidx = cidx;
        if (!tnode || !pos || !gx || !gy || !idx || !simp || !pre || !cstamp || !cinv || !cmap || !cpos || !cidx) return 0;
        for (size_t i = 0; i < need; i++) th->cstamp[i] = 0; /* call_id starts at 1 */
        th->cap_i = th->cap_v = need;
    }
    return 1;
}

/* One simplification tile: faces tmp[start, end) of one chart, its corner at (x0, y0). */
typedef struct simp_tile {
    int32_t start, end, x0, y0;
} simp_tile;

static p3d_status simplify_charts(compact_work *w, out_buf *ob, p3d_compact_stats *stats) {
    const p3d_ldi *l = w->l;
    const int32_t *F = w->d->faces;
    const int32_t n_charts = w->n_charts, nf = w->nf, n = w->n;
    const size_t nn = (size_t)(n ? n : 1), nff = (size_t)(nf ? nf : 1);
    int32_t *off = (int32_t *)calloc((size_t)n_charts + 1, sizeof(int32_t));
    int32_t *ctile = (int32_t *)calloc((size_t)n_charts + 1, sizeof(int32_t)); /* first tile of each chart */
    simp_tile *tiles = NULL;
    size_t *tcount = NULL;
    int32_t n_tiles = 0, most = 0;
    simp_scratch sc;
    memset(&sc, 0, sizeof sc);
#ifdef P3D_HAVE_OPENMP
    sc.threads = omp_get_max_threads();
#else
    sc.threads = 1;
#endif
    sc.cstamp = (int32_t *)malloc(nn * sizeof(int32_t));
    sc.cidx = (int32_t *)malloc(nn * sizeof(int32_t));
    sc.cnode = (int32_t *)malloc(nn * sizeof(int32_t));
    sc.chart_idx = (unsigned int *)malloc(nff * 3 * sizeof(unsigned int));
    sc.out = (int32_t *)malloc(nff * 3 * sizeof(int32_t));
    sc.tmp = (int32_t *)malloc(nff * sizeof(int32_t));
    sc.tmp2 = (int32_t *)malloc(nff * sizeof(int32_t));
    sc.remap = (unsigned int *)malloc(nn * sizeof(unsigned int));
    sc.th = (simp_thread *)calloc((size_t)sc.threads, sizeof *sc.th);
    p3d_status st = P3D_OK;
    int ok = off && ctile && sc.cstamp && sc.cidx && sc.cnode && sc.chart_idx && sc.out && sc.tmp && sc.tmp2 &&
             sc.remap && sc.th;
    /* The parallax weight K: a depth error d(1/z) moves a pixel by K d(1/z) in the farthest preset. */
    const double r_max = 0.5 * sqrt((double)l->ext_w * l->ext_w + (double)l->ext_h * l->ext_h);
    sc.K = (float)(l->cam.fx * w->o.shift_xy + r_max * w->o.shift_z);
    /* The hierarchies of regions of 2, 4, ..., COMPACT_TILE pixels, one after another in tab. */
    size_t tab_n = 0;
    for (int32_t k = 1; k <= COMPACT_TILE_LOG2; k++) tab_n += 2 * ((size_t)1 << 2 * k) - 2;
    rtin_tri *tab = (rtin_tri *)malloc(tab_n * sizeof *tab);
    const rtin_tri *tabs[COMPACT_TILE_LOG2 + 1] = {NULL};
    float *zfront = (float *)malloc(nn * sizeof(float)), *zback = (float *)malloc(nn * sizeof(float));
    ok = ok && tab && zfront && zback;
    if (ok) drawn_neighbour_z(w, sc.K, zfront, zback);
    for (int32_t k = 1, at = 0; ok && k <= COMPACT_TILE_LOG2; k++) {
        rtin_table(tab + at, 1 << k);
        tabs[k] = tab + at;
        at += 2 * (1 << 2 * k) - 2;
    }
    for (int32_t t = 0; ok && t < sc.threads; t++) {
        simp_thread *th = &sc.th[t];
        th->tstamp = (int32_t *)malloc(nn * sizeof(int32_t));
        th->tidx = (int32_t *)malloc(nn * sizeof(int32_t));
        th->grid = (int32_t *)malloc((size_t)(COMPACT_TILE + 2) * (COMPACT_TILE + 2) * sizeof(int32_t));
        const size_t g1 = (size_t)(COMPACT_TILE + 1) * (COMPACT_TILE + 1), c1 = (size_t)COMPACT_TILE * COMPACT_TILE;
        th->gv = (int32_t *)malloc(g1 * sizeof(int32_t));
        th->gerr = (float *)malloc(g1 * sizeof(float));
        th->gz = (float *)malloc(g1 * sizeof(float));
        th->vfree = (uint8_t *)malloc(g1);
        th->ccnt = (uint8_t *)malloc(c1);
        th->cover = (uint8_t *)malloc(c1);
        th->leaf0 = (int32_t *)malloc(2 * c1 * 4 * sizeof(int32_t));
        ok = th->tstamp && th->tidx && th->grid && th->gv && th->gerr && th->gz && th->vfree && th->ccnt && th->cover && th->leaf0;
        if (ok)
            for (int32_t i = 0; i < n; i++) th->tstamp[i] = -1;
        th->tabs = tabs;
        th->K = sc.K;
        th->zfront = zfront;
        th->zback = zback;
    }
    if (!ok) {
        st = p3d_fail(P3D_ERR_OOM, "compact mesh: out of memory for simplification");
        goto done;
    }
    /* Faces per chart, and every chart's tiles of COMPACT_TILE pixels (none for a chart without faces). */
    for (int32_t f = 0; f < nf; f++) off[w->fchart[f] + 1]++;
    for (int32_t c = 0; c < n_charts; c++) {
        off[c + 1] += off[c];
        ctile[c] = n_tiles;
        if (off[c + 1] > off[c])
            n_tiles += ((w->ci[c].x1 - w->ci[c].x0) / COMPACT_TILE + 1) * ((w->ci[c].y1 - w->ci[c].y0) / COMPACT_TILE + 1);
    }
    ctile[n_charts] = n_tiles;
    tiles = (simp_tile *)malloc((size_t)(n_tiles ? n_tiles : 1) * sizeof *tiles);
    if (!tiles) {
        st = p3d_fail(P3D_ERR_OOM, "compact mesh: out of memory for %d tiles", (int)n_tiles);
        goto done;
    }
    for (int32_t c = 0; c < n_charts; c++) {
        const chart_info *ci = &w->ci[c];
        const int32_t tx = (ci->x1 - ci->x0) / COMPACT_TILE + 1;
        for (int32_t k = 0; k < ctile[c + 1] - ctile[c]; k++) {
            simp_tile *tl = &tiles[ctile[c] + k];
            tl->start = 0;
            tl->x0 = ci->x0 + (k % tx) * COMPACT_TILE;
            tl->y0 = ci->y0 + (k / tx) * COMPACT_TILE;
        }
    }
    /* Every face's tile (of its first corner), in parallel into tmp2 (free until the tiles run); then
     * the faces by tile into tmp, a counting sort that keeps face order within a tile, so a chart's
     * faces lie at its place, tile after tile. */
    int32_t *key = sc.tmp2;
#ifdef P3D_HAVE_OPENMP
#pragma omp parallel for schedule(static)
#endif
    for (int32_t f = 0; f < nf; f++) {
        const chart_info *ci = &w->ci[w->fchart[f]];
        const int32_t v = F[3 * (int64_t)f], tx = (ci->x1 - ci->x0) / COMPACT_TILE + 1;
        key[f] = ctile[w->fchart[f]] + ((p3d_ldi_y(l, v) - ci->y0) / COMPACT_TILE) * tx +
                 (p3d_ldi_x(l, v) - ci->x0) / COMPACT_TILE;
    }
    for (int32_t f = 0; f < nf; f++) tiles[key[f]].start++;
    for (int32_t k = 0, at = 0; k < n_tiles; k++) {
        const int32_t cnt = tiles[k].start;
        most = cnt > most ? cnt : most;
        tiles[k].start = tiles[k].end = at; /* end: the fill cursor below */
        at += cnt;
    }
    for (int32_t f = 0; f < nf; f++) sc.tmp[tiles[key[f]].end++] = f;
    tcount = (size_t *)calloc((size_t)(n_tiles ? n_tiles : 1), sizeof(size_t));
    if (!tcount || !simp_threads_reserve(&sc, most)) {
        st = p3d_fail(P3D_ERR_OOM, "compact mesh: out of memory for a tile of %d faces", (int)most);
        goto done;
    }
    /* Every tile of every chart in one parallel loop (one fork, whatever the number of charts), each
     * into its own stretch of out: the same mesh for every thread count. */
#ifdef P3D_HAVE_OPENMP
#pragma omp parallel for schedule(dynamic, 1)
#endif
    for (int32_t k = 0; k < n_tiles; k++) {
#ifdef P3D_HAVE_OPENMP
        simp_thread *th = &sc.th[omp_get_thread_num()];
#else
        simp_thread *th = &sc.th[0];
#endif
        const simp_tile *tl = &tiles[k];
        int32_t *o = sc.out + 3 * (size_t)tl->start;
        simplify_region(w, th, sc.tmp + tl->start, sc.tmp2 + tl->start, tl->end - tl->start, tl->x0, tl->y0,
                        COMPACT_TILE, o, &tcount[k]);
        /* The tile's triangles in meshoptimizer's vertex-cache order (tile by tile, so in parallel: a
         * chart's order is its tiles' orders one after another). */
        const int32_t stamp = ++th->tile_id;
        int32_t nloc = 0;
        for (size_t i = 0; i < tcount[k]; i++) {
            const int32_t v = o[i];
            if (th->tstamp[v] != stamp) {
                th->tstamp[v] = stamp;
                th->tidx[v] = nloc;
                th->tnode[nloc++] = v;
            }
            th->idx[i] = (unsigned int)th->tidx[v];
        }
        meshopt_optimizeVertexCache(th->simp, th->idx, tcount[k], (size_t)nloc);
        for (size_t i = 0; i < tcount[k]; i++) o[i] = th->tnode[th->simp[i]];
    }
    for (int32_t i = 0; i < n; i++) sc.cstamp[i] = -1;
    for (int32_t c = 0; c < n_charts; c++) {
        const int32_t nfc = off[c + 1] - off[c];
        if (!nfc) continue;
        /* Its tiles' triangles in tile order, numbered chart-locally in order of first use (only the
         * vertices the simplified triangles keep: a tenth of the chart's dense ones). */
        int32_t nloc = 0;
        size_t ni = 0;
        for (int32_t k = ctile[c]; k < ctile[c + 1]; k++) {
            const int32_t *o = sc.out + 3 * (size_t)tiles[k].start;
            for (size_t i = 0; i < tcount[k]; i++) {
                const int32_t v = o[i];
                if (sc.cstamp[v] != c) {
                    sc.cstamp[v] = c;
                    sc.cidx[v] = nloc;
                    sc.cnode[nloc++] = v;
                }
                sc.chart_idx[ni++] = (unsigned int)sc.cidx[v];
            }
        }
        const size_t nv = meshopt_optimizeVertexFetchRemap(sc.remap, sc.chart_idx, ni, (size_t)nloc);
        for (int32_t v = 0; v < nloc; v++)
            if (sc.remap[v] != ~0u) {
                ob->node[ob->nv + sc.remap[v]] = sc.cnode[v];
                ob->vchart[ob->nv + sc.remap[v]] = c;
            }
        for (size_t i = 0; i < ni; i++) ob->faces[3 * ob->nfaces + i] = (int32_t)(ob->nv + sc.remap[sc.chart_idx[i]]);
        ob->nv += (int64_t)nv;
        ob->nfaces += (int64_t)(ni / 3);
    }
    for (int32_t t = 0; t < sc.threads; t++) {
        if (sc.th[t].error_px > stats->error_px) stats->error_px = sc.th[t].error_px;
        stats->dense_tiles += sc.th[t].dense_tiles;
    }
done:
    free(tab);
    free(zfront);
    free(zback);
    free(tiles);
    free(tcount);
    free(ctile);
    free(off);
    free(sc.cstamp);
    free(sc.cidx);
    free(sc.cnode);
    free(sc.chart_idx);
    free(sc.out);
    free(sc.tmp);
    free(sc.tmp2);
    free(sc.remap);
    simp_threads_free(&sc);
    return st;
}

/* Catmull-Rom weights of the four taps around a sample at fraction t. */
static void catmull_rom(double t, double wt[4]) {
    const double t2 = t * t, t3 = t2 * t;
    wt[0] = 0.5 * (-t3 + 2 * t2 - t);
    wt[1] = 0.5 * (3 * t3 - 5 * t2 + 2);
    wt[2] = 0.5 * (-3 * t3 + 4 * t2 + t);
    wt[3] = 0.5 * (t3 - t2);
}

/* src (W wide, RGB) at texel-centre coordinates (x, y) >= 0 (texel k's centre at k), bicubic
 * (Catmull-Rom: interpolating, and much less blur than bilinear, which the renderer applies once more
 * anyway), taps clamped to the rectangle [x0, x1] x [y0, y1]. */
static void cubic_sample(const uint8_t *src, int32_t W, int32_t x0, int32_t y0, int32_t x1, int32_t y1, double x,
                         double y, uint8_t out[3]) {
    /* floor of a non-negative coordinate: its truncation (a conversion, where floor is a call) */
    const double fx = (double)(int64_t)x, fy = (double)(int64_t)y;
    const int32_t ix = (int32_t)fx - 1, iy = (int32_t)fy - 1;
    /* Within CUBIC_NEAR of a texel centre on both axes (a fifth of moon's resampled texels: the
     * triangles of constant depth map every texel onto itself) the weights differ from the nearest
     * tap's 1 and the others' 0 by at most 1.0001 CUBIC_NEAR in all on each axis, so the sum below is
     * within 2 * 255 * 1.0001e-4 < 0.06 of the nearest (clamped) texel's value and rounds to it: that
     * texel is the result, the same bytes without the taps. */
#define CUBIC_NEAR 1e-4
    const double tx = x - fx, ty = y - fy;
    if ((tx <= CUBIC_NEAR || tx >= 1.0 - CUBIC_NEAR) && (ty <= CUBIC_NEAR || ty >= 1.0 - CUBIC_NEAR)) {
        int32_t nx = ix + 1 + (tx > 0.5), ny = iy + 1 + (ty > 0.5);
        nx = nx < x0 ? x0 : (nx > x1 ? x1 : nx);
        ny = ny < y0 ? y0 : (ny > y1 ? y1 : ny);
        memcpy(out, src + 3 * ((size_t)ny * W + nx), 3);
        return;
    }
    double wx[4], wy[4], acc[3] = {0, 0, 0};
    catmull_rom(tx, wx);
    catmull_rom(ty, wy);
    int32_t xs[4];
    for (int32_t i = 0; i < 4; i++) xs[i] = ix + i < x0 ? x0 : (ix + i > x1 ? x1 : ix + i);
    for (int32_t j = 0; j < 4; j++) {
        const int32_t yy = iy + j < y0 ? y0 : (iy + j > y1 ? y1 : iy + j);
        const uint8_t *row = src + 3 * (size_t)yy * W;
        double h[3] = {0, 0, 0}; /* the row's taps weighted by wx */
        for (int32_t i = 0; i < 4; i++) {
            const uint8_t *p = row + 3 * xs[i];
            for (int32_t k = 0; k < 3; k++) h[k] += wx[i] * p[k];
        }
        for (int32_t k = 0; k < 3; k++) acc[k] += wy[j] * h[k];
    }
    for (int32_t k = 0; k < 3; k++) {
        const double v = acc[k] + 0.5;
        out[k] = (uint8_t)(v < 0 ? 0 : (v > 255 ? 255 : v));
    }
}

/* Texture coordinates are interpolated perspective-correctly, so inside a simplified triangle whose
 * depth varies the projective atlas would be read off the image position of the surface point (by
 * about L r / 4 pixels along an edge of L pixels whose inverse depth changes by the relative amount
 * r: several pixels on a long floor triangle). So every texel a triangle covers, and the ring of
 * texels within one texel of its edges that bilinear filtering reads, is repainted with the
 * projective atlas' colour (bicubic) at the image point its surface point projects to: through the
 * triangle's own mapping, texel -> barycentrics -> 3D point -> pixel -> the chart's texel. At the
 * vertices nothing changes; inside, the atlas now fits the simplified geometry exactly, at the
 * original camera and from every other one. Interior texels win over another triangle's ring. */
static p3d_status resample_atlas(const compact_work *w, const out_buf *ob, p3d_mesh *out) {
    const int32_t W = out->tex_w, H = out->tex_h, g = w->o.gutter;
    const p3d_camera *cam = &w->l->cam;
    const size_t nt = (size_t)W * H;
    uint8_t *src = (uint8_t *)malloc(nt * 3), *done = (uint8_t *)calloc(nt, 1);
    if (!src || !done) {
        free(src);
        free(done);
        return p3d_fail(P3D_ERR_OOM, "compact mesh: out of memory for a %dx%d atlas", (int)W, (int)H);
    }
    /* The painted atlas, read by the taps: only the charts' rectangles (gutters included), where every
     * tap is clamped to; the rest of src is never touched (a third of moon's atlas is in rectangles). */
    for (int32_t c = 0; c < w->n_charts; c++) {
        const chart_info *ci = &w->ci[c];
        const size_t row = 3 * (size_t)((ci->x1 - ci->x0) / ci->scale + 1 + 2 * g);
        for (int32_t y = ci->ry; y <= ci->ry + (ci->y1 - ci->y0) / ci->scale + 2 * g; y++) {
            const size_t at = 3 * ((size_t)y * W + ci->rx);
            memcpy(src + at, out->tex + at, row);
        }
    }
    /* The faces are grouped by chart (simplify_charts appends chart after chart) and a chart's faces
     * read and write its own rectangle only. The work is cut into bands of RESAMPLE_BAND texel rows
     * of a chart's rectangle: a band goes through the chart's faces in the same order (first pass,
     * then second) as one loop over all faces would, restricted to its rows, so every texel meets the
     * same faces in the same order and the bands run in parallel (OpenMP) with the same atlas for
     * any thread count. (Charts alone would leave the photo's chart, most of the work, on one core.) */
#define RESAMPLE_BAND 32
    int64_t *fr = (int64_t *)malloc(((size_t)w->n_charts + 1) * sizeof *fr); /* (n_charts + 1) first face */
    int32_t *job = (int32_t *)malloc(((size_t)w->n_charts + 1) * sizeof *job); /* (n_charts + 1) first band */
    if (!fr || !job) {
        free(src);
        free(done);
        free(fr);
        free(job);
        return p3d_fail(P3D_ERR_OOM, "compact mesh: out of memory for %d charts", (int)w->n_charts);
    }
    int64_t f0 = 0;
    job[0] = 0;
    for (int32_t c = 0; c <= w->n_charts; c++) {
        while (f0 < out->n_faces && ob->vchart[out->faces[3 * f0]] < c) f0++;
        fr[c] = f0;
        if (c < w->n_charts) {
            const int32_t rows = (w->ci[c].y1 - w->ci[c].y0) / w->ci[c].scale + 1 + 2 * g;
            job[c + 1] = job[c] + (rows + RESAMPLE_BAND - 1) / RESAMPLE_BAND;
        }
    }
    const int32_t n_jobs = job[w->n_charts];
    /* The faces of each band (CSR, in face order): the rows a face's second pass reaches, its texel
     * box grown by one. */
    int64_t *boff = (int64_t *)calloc((size_t)n_jobs + 1, sizeof *boff);
    int64_t *bface = NULL;
    for (int32_t pass = 0; boff && pass < 2; pass++) {
        for (int32_t c = 0; c < w->n_charts; c++) {
            const chart_info *ci = &w->ci[c];
            const int32_t ry0 = ci->ry, ry1 = ry0 + (ci->y1 - ci->y0) / ci->scale + 2 * g;
            for (int64_t f = fr[c]; f < fr[c + 1]; f++) {
                const int32_t *t = out->faces + 3 * f;
                double V[3];
                for (int32_t k = 0; k < 3; k++) V[k] = (double)out->uv[2 * t[k] + 1] * H;
                int32_t by0 = (int32_t)floor(fmin(V[0], fmin(V[1], V[2]))) - 1, by1 = (int32_t)ceil(fmax(V[0], fmax(V[1], V[2]))) + 1;
                by0 = by0 < ry0 ? ry0 : by0;
                by1 = by1 > ry1 ? ry1 : by1;
                if (by0 > by1) continue;
                for (int32_t b = (by0 - ry0) / RESAMPLE_BAND; b <= (by1 - ry0) / RESAMPLE_BAND; b++) {
                    if (pass)
                        bface[boff[job[c] + b]++] = f;
                    else
                        boff[job[c] + b + 1]++;
                }
            }
        }
        if (!pass) {
            for (int32_t j = 0; j < n_jobs; j++) boff[j + 1] += boff[j];
            bface = (int64_t *)malloc(((size_t)boff[n_jobs] + 1) * sizeof *bface);
            if (!bface) break;
        } else {
            for (int32_t j = n_jobs; j > 0; j--) boff[j] = boff[j - 1]; /* the fill cursors back to starts */
            boff[0] = 0;
        }
    }
    if (!boff || !bface) {
        free(src);
        free(done);
        free(fr);
        free(job);
        free(boff);
        free(bface);
        return p3d_fail(P3D_ERR_OOM, "compact mesh: out of memory for the resampling bands");
    }
#ifdef P3D_HAVE_OPENMP
#pragma omp parallel for schedule(dynamic, 1)
#endif
    for (int32_t j = 0; j < n_jobs; j++) {
        int32_t c = 0, lo = 0, hi = w->n_charts - 1; /* the chart of band j: job[c] <= j < job[c + 1] */
        while (lo <= hi) {
            const int32_t mid = (lo + hi) / 2;
            if (job[mid] <= j) {
                c = mid;
                lo = mid + 1;
            } else {
                hi = mid - 1;
            }
        }
        const chart_info *ci = &w->ci[c];
        const int32_t rx0 = ci->rx, ry0 = ci->ry;
        const int32_t rx1 = rx0 + (ci->x1 - ci->x0) / ci->scale + 2 * g, ry1 = ry0 + (ci->y1 - ci->y0) / ci->scale + 2 * g;
        const int32_t band0 = ry0 + (j - job[c]) * RESAMPLE_BAND;
        const int32_t band1 = band0 + RESAMPLE_BAND - 1 < ry1 ? band0 + RESAMPLE_BAND - 1 : ry1;
        for (int32_t pass = 0; pass < 2; pass++)
            for (int64_t e = boff[j]; e < boff[j + 1]; e++) {
                const int32_t *t = out->faces + 3 * bface[e];
                double U[3], V[3];
                for (int32_t k = 0; k < 3; k++) {
                    U[k] = (double)out->uv[2 * t[k]] * W;
                    V[k] = (double)out->uv[2 * t[k] + 1] * H;
                }
                int32_t by0 = (int32_t)floor(fmin(V[0], fmin(V[1], V[2]))) - pass, by1 = (int32_t)ceil(fmax(V[0], fmax(V[1], V[2]))) + pass;
                by0 = by0 < band0 ? band0 : by0;
                by1 = by1 > band1 ? band1 : by1;
                if (by0 > by1) continue;
                const double area = (U[1] - U[0]) * (V[2] - V[0]) - (U[2] - U[0]) * (V[1] - V[0]);
                if (fabs(area) < 1e-9) continue;
                /* Barycentric k may go down to -slack[k]: one texel beyond edge k (opposite vertex k). */
                double slack[3];
                for (int32_t k = 0; k < 3; k++) {
                    const int32_t a = (k + 1) % 3, b = (k + 2) % 3;
                    const double len = sqrt((U[b] - U[a]) * (U[b] - U[a]) + (V[b] - V[a]) * (V[b] - V[a]));
                    slack[k] = pass ? len / fabs(area) : 0.0;
                }
                /* Barycentric k at texel centre (px, py) is bk[k][0] + bk[k][1] px + bk[k][2] py, and the
                 * surface point's camera coordinate i is pc[i][0] + pc[i][1] px + pc[i][2] py (affine in
                 * the texel position, as the barycentrics are). */
                double bk[3][3], pc[3][3] = {{0, 0, 0}, {0, 0, 0}, {0, 0, 0}};
                for (int32_t k = 0; k < 3; k++) {
                    const int32_t a = (k + 1) % 3, b = (k + 2) % 3;
                    bk[k][0] = (U[a] * V[b] - U[b] * V[a]) / area;
                    bk[k][1] = (V[a] - V[b]) / area;
                    bk[k][2] = (U[b] - U[a]) / area;
                    for (int32_t i = 0; i < 3; i++)
                        for (int32_t q = 0; q < 3; q++) pc[i][q] += bk[k][q] * out->xyz[3 * (int64_t)t[k] + i];
                }
                /* Canvas position (pixel x's centre at x + 0.5) of the surface point, the inverse of
                 * p3d_ldi_unproject, and from it the chart's texel: sx = ox + fx' P0 / P2. */
                const double fxs = cam->fx / ci->scale, fys = cam->fy / ci->scale;
                const double ox = rx0 + g + (cam->cx + w->l->border - ci->x0) / ci->scale;
                const double oy = ry0 + g + (cam->cy + w->l->border - ci->y0) / ci->scale;
                int32_t bx0 = (int32_t)floor(fmin(U[0], fmin(U[1], U[2]))) - pass, bx1 = (int32_t)ceil(fmax(U[0], fmax(U[1], U[2]))) + pass;
                bx0 = bx0 < rx0 ? rx0 : bx0;
                bx1 = bx1 > rx1 ? rx1 : bx1;
                for (int32_t ty = by0; ty <= by1; ty++) {
                    const double py = ty + 0.5;
                    for (int32_t tx = bx0; tx <= bx1; tx++) {
                        const size_t ti = (size_t)ty * W + tx;
                        if (done[ti]) continue;
                        const double px = tx + 0.5;
                        const double b0 = bk[0][0] + bk[0][1] * px + bk[0][2] * py;
                        const double b1 = bk[1][0] + bk[1][1] * px + bk[1][2] * py;
                        const double b2 = 1.0 - b0 - b1;
                        if (b0 < -slack[0] || b1 < -slack[1] || b2 < -slack[2]) continue;
                        const double P2 = pc[2][0] + pc[2][1] * px + pc[2][2] * py;
                        if (!(P2 > 0)) continue;
                        const double P0 = pc[0][0] + pc[0][1] * px + pc[0][2] * py;
                        const double P1 = pc[1][0] + pc[1][1] * px + pc[1][2] * py;
                        const double iz = 1.0 / P2;
                        double sx = ox + fxs * P0 * iz, sy = oy + fys * P1 * iz;
                        sx = sx < rx0 + 0.5 ? rx0 + 0.5 : (sx > rx1 + 0.5 ? rx1 + 0.5 : sx);
                        sy = sy < ry0 + 0.5 ? ry0 + 0.5 : (sy > ry1 + 0.5 ? ry1 + 0.5 : sy);
                        cubic_sample(src, W, rx0, ry0, rx1, ry1, sx - 0.5, sy - 0.5, out->tex + 3 * ti);
                        done[ti] = (uint8_t)(1 + pass);
                    }
                }
            }
    }
    free(job);
    free(boff);
    free(bface);
    free(fr);
    free(src);
    free(done);
    return P3D_OK;
}

p3d_status p3d_mesh_compact(const p3d_ldi *l, const p3d_mesh *dense, const p3d_compact_opts *o, p3d_mesh *out,
                            p3d_compact_stats *stats) {
    memset(out, 0, sizeof *out);
    p3d_compact_stats local;
    if (!stats) stats = &local;
    memset(stats, 0, sizeof *stats);
    if (dense->n_vertices != l->n_nodes || dense->uv || dense->n_faces > INT32_MAX)
        return p3d_fail(P3D_ERR_INVALID_ARG, "compact mesh: the dense mesh (%lld vertices%s) is not the LDI's (%d nodes)",
                        (long long)dense->n_vertices, dense->uv ? ", textured" : "", (int)l->n_nodes);
    if (!(o->max_error_px >= 0) || !(o->shift_xy >= 0) || !(o->shift_z >= 0) || o->gutter < 1 || o->gutter > 16 ||
        o->max_atlas < 64 || o->max_atlas > 16384 || (o->max_atlas & (o->max_atlas - 1)) || o->jpeg_quality < 0 ||
        o->jpeg_quality > 100 || o->hidden_scale < 1 || o->hidden_scale > 2)
        return p3d_fail(P3D_ERR_INVALID_ARG, "compact mesh: bad options (error %g px, shifts %g/%g, gutter %d, atlas %d, "
                        "JPEG quality %d, hidden scale %d)", (double)o->max_error_px, (double)o->shift_xy,
                        (double)o->shift_z, (int)o->gutter, (int)o->max_atlas, (int)o->jpeg_quality, (int)o->hidden_scale);
    compact_work w;
    memset(&w, 0, sizeof w);
    w.l = l;
    w.d = dense;
    w.o = *o;
    w.n = l->n_nodes;
    w.nf = (int32_t)dense->n_faces;
    out_buf ob = {NULL, NULL, NULL, 0, 0};
    p3d_status st = grow_charts(&w);
    if (st == P3D_OK) st = assign_faces(&w, stats);
    if (st == P3D_OK) st = place_charts(&w, stats);
    if (st == P3D_OK) {
        /* At most every dense face, and each of its corners once per chart it lands in. */
        const size_t cap_v = (size_t)w.n + (size_t)w.n_halo + 1;
        ob.node = (int32_t *)malloc(cap_v * sizeof(int32_t));
        ob.vchart = (int32_t *)malloc(cap_v * sizeof(int32_t));
        ob.faces = (int32_t *)malloc(((size_t)w.nf + 1) * 3 * sizeof(int32_t));
        if (!ob.node || !ob.vchart || !ob.faces) st = p3d_fail(P3D_ERR_OOM, "compact mesh: out of memory for the output");
    }
    if (st == P3D_OK) st = simplify_charts(&w, &ob, stats);
    if (st == P3D_OK) st = p3d_mesh_alloc(out, ob.nv, ob.nfaces);
    if (st == P3D_OK) {
        out->width = dense->width;
        out->height = dense->height;
        out->hfov = dense->hfov;
        out->vfov = dense->vfov;
        out->tex_w = stats->atlas_w;
        out->tex_h = stats->atlas_h;
        out->tex_quality = o->jpeg_quality;
        out->uv = (float *)malloc(((size_t)ob.nv + 1) * 2 * sizeof(float));
        out->tex = (uint8_t *)calloc((size_t)out->tex_w * out->tex_h, 3);
        if (!out->uv || !out->tex) st = p3d_fail(P3D_ERR_OOM, "compact mesh: out of memory for the texture");
    }
    if (st == P3D_OK) {
        memcpy(out->faces, ob.faces, (size_t)ob.nfaces * 3 * sizeof(int32_t));
        const float iw = 1.0f / (float)out->tex_w, ih = 1.0f / (float)out->tex_h;
        for (int64_t v = 0; v < ob.nv; v++) {
            const int32_t node = ob.node[v], c = ob.vchart[v];
            const chart_info *ci = &w.ci[c];
            memcpy(out->xyz + 3 * v, dense->xyz + 3 * (size_t)node, 3 * sizeof(float));
            memcpy(out->rgba + 4 * v, dense->rgba + 4 * (size_t)node, 4);
            /* The texel centre of the node's pixel: pixel centres are x + 0.5 in canvas pixels, and a
             * halved chart's texel k covers pixels 2k and 2k + 1. */
            const float tx = (float)(ci->rx + o->gutter) + ((float)(p3d_ldi_x(l, node) - ci->x0) + 0.5f) / (float)ci->scale;
            const float ty = (float)(ci->ry + o->gutter) + ((float)(p3d_ldi_y(l, node) - ci->y0) + 0.5f) / (float)ci->scale;
            out->uv[2 * v + 0] = tx * iw;
            out->uv[2 * v + 1] = ty * ih;
        }
        st = paint_atlas(&w, out);
        if (st == P3D_OK) st = resample_atlas(&w, &ob, out);
    }
    if (st == P3D_OK) {
        stats->charts = w.n_charts;
        double texels = 0;
        for (int32_t c = 0; c < w.n_charts; c++)
            texels += (double)((w.ci[c].x1 - w.ci[c].x0) / w.ci[c].scale + 1) * ((w.ci[c].y1 - w.ci[c].y0) / w.ci[c].scale + 1);
        stats->atlas_fill = texels / ((double)out->tex_w * out->tex_h);
    } else {
        p3d_mesh_free(out);
    }
    free(ob.node);
    free(ob.vchart);
    free(ob.faces);
    work_free(&w);
    return st;
}
