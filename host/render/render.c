/* render.c - the mesh rasterizer: checks, planning, the CPU reference over tiles with OpenMP, dispatch
 * (twin: cuda/render/render.cu). Algorithm: render.h; per-sample math: render_math.h. */
#include "render/render.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "render/render_math.h"

#ifdef P3D_HAVE_OPENMP
#include <omp.h>
#endif

/* Triangles are binned in this many fixed chunks (independent of the thread count), each with its
 * own per-tile counters, so the CPU binning needs no atomics. */
#define P3D_RENDER_CHUNKS 64
/* Triangle setups each CPU thread keeps while resolving a tile (p3d_render_resolve's cache): a dense
 * mesh's tile shows a few hundred triangles, a compact one's tens. */
#define P3D_RENDER_CACHE 256

struct p3d_renderer {
    p3d_ctx *ctx;
    const p3d_mesh *mesh;
    p3d_render_opts opts;
    p3d_render_frame_setup fs;
    float bmin[3], bmax[3]; /* the mesh's bounding box (near/far of each view) */
    /* CPU frame buffers */
    int32_t *sx, *sy;   /* (n_vertices) fixed-point raster positions */
    float *sz;          /* (n_vertices) view depth, -1 = dropped */
    int32_t *counts;    /* (P3D_RENDER_CHUNKS, n_tiles) triangles per chunk and tile, then write cursors */
    int32_t *tile_start; /* (n_tiles + 1) */
    int32_t *tile_tris; /* (cap_tris) triangle ids, grouped by tile */
    int64_t cap_tris;
    int32_t *depth;     /* (threads, tile_px^2) per-thread tile buffers: the bits of each sample's nearest 1 / depth */
    int32_t *ids;       /* (threads, tile_px^2) and the face that gave it, -1: none (tri_tile_cpu) */
    p3d_rtri *cache;    /* (threads, P3D_RENDER_CACHE) per-thread resolve caches */
    int32_t *tags;      /* (threads, P3D_RENDER_CACHE) their face ids */
    p3d_rtri *setups;   /* (n_setup) the frame's setup table (P3D_RENDER_SETUP_TABLE_MAX), or NULL */
    int32_t *setup_tags; /* (n_setup) f where setups[f] is face f's accepted setup, else -1 */
    int32_t n_setup;    /* a power of two >= n_faces (the resolve's cache size), 0 without the table */
    uint8_t *tex4;      /* (tex_h, tex_w, 4) a textured mesh's atlas as RGBX (p3d_render_atlas_rgbx), else NULL */
    int32_t threads;
#ifdef P3D_HAVE_CUDA
    p3d_render_cuda *cuda;
#endif
};

p3d_status p3d_render_check_mesh(const p3d_mesh *m) {
    if (m->n_vertices < 0 || m->n_faces < 0 || (m->n_vertices > 0 && (!m->xyz || !m->rgba)) ||
        (m->n_faces > 0 && !m->faces))
        return p3d_fail(P3D_ERR_INVALID_ARG, "render: mesh arrays missing");
    if (m->uv && (!m->tex || m->tex_w < 1 || m->tex_h < 1))
        return p3d_fail(P3D_ERR_INVALID_ARG, "render: textured mesh without its %dx%d texture", (int)m->tex_w, (int)m->tex_h);
    if (m->n_vertices > INT32_MAX || m->n_faces > INT32_MAX)
        return p3d_fail(P3D_ERR_INVALID_ARG, "render: mesh too large (%lld vertices, %lld faces; at most 2^31 - 1)",
                        (long long)m->n_vertices, (long long)m->n_faces);
    if (m->width < 1 || m->height < 1 || !(m->hfov > 0 && m->hfov < 3.14f) || !(m->vfov > 0 && m->vfov < 3.14f))
        return p3d_fail(P3D_ERR_INVALID_ARG, "render: mesh camera %dx%d, hfov %g, vfov %g: need a positive size and "
                        "fields of view in (0, pi)", (int)m->width, (int)m->height, (double)m->hfov, (double)m->vfov);
    for (int64_t i = 0; i < 3 * m->n_vertices; i++)
        if (!isfinite(m->xyz[i]))
            return p3d_fail(P3D_ERR_INVALID_ARG, "render: vertex %lld has a non-finite coordinate", (long long)(i / 3));
    for (int64_t i = 0; i < 3 * m->n_faces; i++)
        if (m->faces[i] < 0 || m->faces[i] >= m->n_vertices)
            return p3d_fail(P3D_ERR_INVALID_ARG, "render: face %lld refers to vertex %d of %lld", (long long)(i / 3),
                            (int)m->faces[i], (long long)m->n_vertices);
    return P3D_OK;
}

p3d_view p3d_view_of_mesh(const p3d_mesh *m, int32_t out_w, int32_t out_h) {
    p3d_view v;
    memset(&v, 0, sizeof v);
    v.rot[0] = v.rot[4] = v.rot[8] = 1.0f;
    const float sx = (float)out_w / (float)m->width, sy = (float)out_h / (float)m->height;
    v.fx = (float)m->width / (2.0f * tanf(0.5f * m->hfov)) * sx;
    v.fy = (float)m->height / (2.0f * tanf(0.5f * m->vfov)) * sy;
    v.cx = 0.5f * (float)m->width * sx;
    v.cy = 0.5f * (float)m->height * sy;
    return v;
}

static int cmp_float(const void *a, const void *b) {
    const float x = *(const float *)a, y = *(const float *)b;
    return x < y ? -1 : x > y;
}

float p3d_mesh_center_depth(const p3d_mesh *m) {
    if (m->n_vertices <= 0) return 1.0f;
    const p3d_view v = p3d_view_of_mesh(m, m->width, m->height);
    const int32_t cu = m->width / 2, cv = m->height / 2;
    float best = INFINITY;
    for (int64_t i = 0; i < m->n_vertices; i++) {
        const float *p = m->xyz + 3 * i;
        if (!(p[2] > 0)) continue;
        const float u = v.fx * p[0] / p[2] + v.cx, w = v.fy * p[1] / p[2] + v.cy;
        if ((int32_t)floorf(u) == cu && (int32_t)floorf(w) == cv && p[2] < best) best = p[2];
    }
    if (isfinite(best)) return best;
    float *z = (float *)malloc((size_t)m->n_vertices * sizeof *z);
    if (!z) return 1.0f;
    for (int64_t i = 0; i < m->n_vertices; i++) z[i] = m->xyz[3 * i + 2];
    qsort(z, (size_t)m->n_vertices, sizeof *z, cmp_float);
    const float med = z[m->n_vertices / 2];
    free(z);
    return med > 0 ? med : 1.0f;
}

void p3d_renderer_free(p3d_renderer *r) {
    if (!r) return;
#ifdef P3D_HAVE_CUDA
    p3d_render_cuda_free(r->cuda);
#endif
    free(r->sx);
    free(r->sy);
    free(r->sz);
    free(r->counts);
    free(r->tile_start);
    free(r->tile_tris);
    free(r->depth);
    free(r->ids);
    free(r->cache);
    free(r->tags);
    free(r->setups);
    free(r->setup_tags);
    free(r->tex4);
    free(r);
}

/* p3d_renderer_init, and p3d_renderer_init_device when xyz_dev and faces_dev are given on a CUDA context. */
static p3d_status renderer_init(p3d_ctx *ctx, const p3d_mesh *m, const float *xyz_dev, const int32_t *faces_dev,
                                const p3d_render_opts *o, p3d_renderer **out) {
    *out = NULL;
    if (o->width < 1 || o->height < 1 || o->width > 16384 || o->height > 16384)
        return p3d_fail(P3D_ERR_INVALID_ARG, "render: frame size %dx%d: need 1..16384 per side", (int)o->width,
                        (int)o->height);
    if (o->ssaa < 1 || o->ssaa > P3D_RENDER_MAX_SSAA)
        return p3d_fail(P3D_ERR_INVALID_ARG, "render: supersampling factor %d: need 1..%d", (int)o->ssaa,
                        P3D_RENDER_MAX_SSAA);
    P3D_TRY(p3d_render_check_mesh(m));
    p3d_renderer *r = (p3d_renderer *)calloc(1, sizeof *r);
    if (!r) return p3d_fail(P3D_ERR_OOM, "render: out of memory");
    r->ctx = ctx;
    r->mesh = m;
    r->opts = *o;
    r->fs.rw = o->width * o->ssaa;
    r->fs.rh = o->height * o->ssaa;
    r->fs.tile_px = P3D_RENDER_TILE * o->ssaa;
    r->fs.tiles_x = (o->width + P3D_RENDER_TILE - 1) / P3D_RENDER_TILE;
    r->fs.tiles_y = (o->height + P3D_RENDER_TILE - 1) / P3D_RENDER_TILE;
    p3d_mesh_bounds(m, r->bmin, r->bmax);
    p3d_status st = P3D_OK;
#ifdef P3D_HAVE_CUDA
    if (p3d_ctx_cuda(ctx)) {
        st = xyz_dev && faces_dev ? p3d_render_cuda_init_dev(p3d_ctx_cuda(ctx), m, xyz_dev, faces_dev, o, &r->fs, &r->cuda)
                                  : p3d_render_cuda_init(p3d_ctx_cuda(ctx), m, o, &r->fs, &r->cuda);
        if (st != P3D_OK) p3d_renderer_free(r);
        else *out = r;
        return st;
    }
#endif
    const int64_t n_tiles = (int64_t)r->fs.tiles_x * r->fs.tiles_y;
    const size_t nv = (size_t)(m->n_vertices > 0 ? m->n_vertices : 1);
    r->threads = p3d_ctx_threads(ctx) > 0 ? p3d_ctx_threads(ctx) : 1;
    r->cap_tris = m->n_faces + n_tiles + 1;
    r->sx = (int32_t *)malloc(nv * sizeof *r->sx);
    r->sy = (int32_t *)malloc(nv * sizeof *r->sy);
    r->sz = (float *)malloc(nv * sizeof *r->sz);
    r->counts = (int32_t *)malloc((size_t)(P3D_RENDER_CHUNKS * n_tiles) * sizeof *r->counts);
    r->tile_start = (int32_t *)malloc((size_t)(n_tiles + 1) * sizeof *r->tile_start);
    r->tile_tris = (int32_t *)malloc((size_t)r->cap_tris * sizeof *r->tile_tris);
    const size_t tile_n = (size_t)r->threads * (size_t)r->fs.tile_px * (size_t)r->fs.tile_px;
    r->depth = (int32_t *)malloc(tile_n * sizeof *r->depth);
    r->ids = (int32_t *)malloc(tile_n * sizeof *r->ids);
    r->cache = (p3d_rtri *)malloc((size_t)r->threads * P3D_RENDER_CACHE * sizeof *r->cache);
    r->tags = (int32_t *)malloc((size_t)r->threads * P3D_RENDER_CACHE * sizeof *r->tags);
    if (m->n_faces > 0 && m->n_faces <= P3D_RENDER_SETUP_TABLE_MAX) {
        r->n_setup = 1;
        while (r->n_setup < m->n_faces) r->n_setup *= 2;
        r->setups = (p3d_rtri *)malloc((size_t)r->n_setup * sizeof *r->setups);
        r->setup_tags = (int32_t *)malloc((size_t)r->n_setup * sizeof *r->setup_tags);
        if (r->setup_tags)
            for (int32_t i = 0; i < r->n_setup; i++) r->setup_tags[i] = -1;
    }
    if (m->uv) r->tex4 = p3d_render_atlas_rgbx(m);
    if (!r->sx || !r->sy || !r->sz || !r->counts || !r->tile_start || !r->tile_tris || !r->depth || !r->ids || !r->cache ||
        !r->tags || (r->n_setup && (!r->setups || !r->setup_tags)) || (m->uv && !r->tex4)) {
        p3d_renderer_free(r);
        return p3d_fail(P3D_ERR_OOM, "render: out of memory planning a %dx%d frame of a %lld-face mesh", (int)o->width,
                        (int)o->height, (long long)m->n_faces);
    }
    *out = r;
    return st;
}

p3d_status p3d_renderer_init(p3d_ctx *ctx, const p3d_mesh *m, const p3d_render_opts *o, p3d_renderer **out) {
    return renderer_init(ctx, m, NULL, NULL, o, out);
}

p3d_status p3d_renderer_init_device(p3d_ctx *ctx, const p3d_mesh *m, const float *xyz_dev, const int32_t *faces_dev,
                                    const p3d_render_opts *o, p3d_renderer **out) {
#ifdef P3D_HAVE_CUDA
    if (p3d_ctx_cuda(ctx) && !m->uv) return renderer_init(ctx, m, xyz_dev, faces_dev, o, out);
#endif
    return renderer_init(ctx, m, NULL, NULL, o, out);
}

uint8_t *p3d_render_atlas_rgbx(const p3d_mesh *m) {
    const size_t texels = (size_t)m->tex_w * (size_t)m->tex_h;
    uint8_t *x = (uint8_t *)malloc(texels * 4);
    for (size_t i = 0; x && i < texels; i++) {
        x[4 * i] = m->tex[3 * i];
        x[4 * i + 1] = m->tex[3 * i + 1];
        x[4 * i + 2] = m->tex[3 * i + 2];
        x[4 * i + 3] = 0;
    }
    return x;
}

void p3d_mesh_bounds(const p3d_mesh *m, float bmin[3], float bmax[3]) {
    for (int32_t k = 0; k < 3; k++) bmin[k] = bmax[k] = 0.0f;
    for (int64_t i = 0; i < m->n_vertices; i++)
        for (int32_t k = 0; k < 3; k++) {
            const float c = m->xyz[3 * i + k];
            if (i == 0 || c < bmin[k]) bmin[k] = c;
            if (i == 0 || c > bmax[k]) bmax[k] = c;
        }
}

/* [znear, zfar] bracketing the depths of the bounding box corners as seen from v (a margin keeps the
 * vertices on the box inside). */
void p3d_view_depth_range(const p3d_view *v, const float bmin[3], const float bmax[3], float *znear, float *zfar) {
    p3d_rview rv;
    memset(&rv, 0, sizeof rv);
    memcpy(rv.rot, v->rot, sizeof rv.rot);
    memcpy(rv.pos, v->pos, sizeof rv.pos);
    float zmin = INFINITY, zmax = -INFINITY;
    for (int32_t c = 0; c < 8; c++) {
        const float p[3] = {(c & 1) ? bmax[0] : bmin[0], (c & 2) ? bmax[1] : bmin[1], (c & 4) ? bmax[2] : bmin[2]};
        const float z = p3d_render_view_depth(&rv, p);
        zmin = z < zmin ? z : zmin;
        zmax = z > zmax ? z : zmax;
    }
    const float margin = 1e-4f * (fabsf(zmax) + fabsf(zmin)) + 1e-6f;
    *zfar = zmax + margin;
    *znear = zmin - margin;
    /* A camera inside the box: keep 1e-4 of the far distance as the nearest usable depth. */
    if (*znear < 1e-4f * *zfar) *znear = 1e-4f * *zfar;
}

/* The raster view of v: intrinsics scaled by the SSAA factor, the depth range of p3d_view_depth_range. */
static p3d_rview raster_view(const p3d_renderer *r, const p3d_view *v) {
    p3d_rview rv;
    const float s = (float)r->opts.ssaa;
    memcpy(rv.rot, v->rot, sizeof rv.rot);
    memcpy(rv.pos, v->pos, sizeof rv.pos);
    rv.fx = v->fx * s;
    rv.fy = v->fy * s;
    rv.cx = v->cx * s;
    rv.cy = v->cy * s;
    p3d_view_depth_range(v, r->bmin, r->bmax, &rv.znear, &rv.zfar);
    return rv;
}

/* Binning pass of one chunk of faces: count (fill = 0) or write ids at the cursors (fill = 1). With
 * the setup table, the count pass sets every face up into it (planes included) and the fill pass
 * reads it. */
static void bin_chunk(p3d_renderer *r, int32_t chunk, int32_t fill) {
    const p3d_mesh *m = r->mesh;
    const int64_t n_tiles = (int64_t)r->fs.tiles_x * r->fs.tiles_y;
    int32_t *cnt = r->counts + chunk * n_tiles;
    const int64_t f0 = m->n_faces * chunk / P3D_RENDER_CHUNKS, f1 = m->n_faces * (chunk + 1) / P3D_RENDER_CHUNKS;
    for (int64_t f = f0; f < f1; f++) {
        const int32_t *fc = m->faces + 3 * f;
        p3d_rtri local, *t = r->setups ? r->setups + f : &local;
        if (r->setups && fill) {
            if (r->setup_tags[f] < 0) continue;
        } else {
            const int32_t ok = p3d_render_tri_setup(r->sx, r->sy, r->sz, fc[0], fc[1], fc[2], r->fs.rw, r->fs.rh, t);
            if (r->setups) {
                r->setup_tags[f] = ok ? (int32_t)f : -1;
                if (ok) p3d_render_tri_planes(t);
            }
            if (!ok) continue;
        }
        int32_t tx0, ty0, tx1, ty1;
        p3d_render_tile_span(t, r->fs.tile_px, &tx0, &ty0, &tx1, &ty1);
        for (int32_t ty = ty0; ty <= ty1; ty++)
            for (int32_t tx = tx0; tx <= tx1; tx++) {
                const int64_t tile = (int64_t)ty * r->fs.tiles_x + tx;
                if (fill) r->tile_tris[cnt[tile]++] = (int32_t)f;
                else cnt[tile]++;
            }
    }
}

/* The CPU's depth test of triangle t (face f) into one tile (p3d_render_tri_tile's twin, samples and
 * values from the same p3d_rwalk): one thread owns the tile, so instead of 64-bit (depth, face) keys
 * it keeps each sample's nearest 1 / depth (its float bits as int32, -1 when empty) and the face that
 * gave it in two arrays the compiler vectorises. Every 1 / depth is positive (p3d_rwalk), and positive
 * floats order as their bits do, so the larger bits are the nearer surface. A tile's triangles come in
 * ascending face order (the binning's scan), so a sample is taken only by a strictly nearer one: exact
 * ties stay with the lower face index, as the keys' minimum gives - the same winner as the GPU's
 * atomicMin of keys. */
static void tri_tile_cpu(const p3d_rtri *t, int32_t f, int32_t *restrict depth_bits, int32_t *restrict ids,
                         int32_t tile_px, int32_t px0, int32_t py0) {
    p3d_rwalk k;
    p3d_render_walk_box(t, tile_px, px0, py0, &k);
    const int32_t hi_bits = p3d_render_float_bits(k.inv_hi);
    if (!k.wide) {
        for (int32_t py = k.y0; py <= k.y1; py++, p3d_render_walk_next(&k)) {
            const int32_t o = (py - py0) * tile_px + (k.x0 - px0);
            int32_t *restrict dr = depth_bits + o, *restrict ir = ids + o;
            int64_t e0 = k.r[0], e1 = k.r[1], e2 = k.r[2];
            for (int32_t i = 0; i <= k.n; i++, e0 += k.st[0], e1 += k.st[1], e2 += k.st[2]) {
                if ((e0 | e1 | e2) < 0 || dr[i] > hi_bits) continue;
                const int32_t v = p3d_render_float_bits(p3d_render_plane_depth(&k, e0, e1, e2));
                if (v > dr[i]) {
                    dr[i] = v;
                    ir[i] = f;
                }
            }
        }
        return;
    }
    /* wide rows: their spans from p3d_rspan (p3d_render_walk_span's, stepped exactly from row to row) */
    p3d_rspan sp;
    p3d_render_span_init(&k, &sp);
    for (int32_t py = k.y0; py <= k.y1; py++, p3d_render_walk_next(&k), p3d_render_span_next(&sp)) {
        int32_t xl, xr;
        p3d_render_span_row(&k, &sp, &xl, &xr);
        if (xl > xr) continue;
        const float base = p3d_render_span_base(&k, xl, xr);
        const int32_t o = (py - py0) * tile_px + (k.x0 - px0) + xl;
        int32_t *restrict dr = depth_bits + o, *restrict ir = ids + o;
        /* Branch-free integer selects over the span, which the compiler vectorises (it does not
         * if-convert float compares, which may trap); the inv_hi skip would only spare the stores. */
        for (int32_t i = 0; i <= xr - xl; i++) {
            const int32_t c = p3d_render_float_bits(p3d_render_span_depth(&k, base, i));
            const int32_t take = c > dr[i];
            dr[i] = take ? c : dr[i];
            ir[i] = take ? f : ir[i];
        }
    }
}

/* Resolves tile (tx, ty)'s output pixels from the faces that won its samples (ids, s x s samples per
 * pixel) into rgb: p3d_render_resolve's values. A vertex-coloured mesh's pixels take
 * p3d_render_resolve one by one. A textured mesh's are resolved a row of the tile at a time, in passes
 * whose iterations are independent, so the processor overlaps one group's division and atlas reads
 * with the next group's instead of waiting on each pixel's chain in turn:
 *   1. each pixel's samples are grouped by the face that won them, as p3d_render_resolve groups them
 *      (a pixel one face won whole is one group);
 *   2. every group's weights and texture coordinates;
 *   3. the groups' atlas reads;
 *   4. each pixel's colour sum - background, then its groups in order - and its bytes.
 * (Batching does not pay for vertex colours: their shading is short, and a dense mesh's pixels have
 * several groups each, whose lists then cost more than they save.) */
static inline void resolve_tile(const p3d_renderer *r, const p3d_rmesh *rm, const int32_t *ids, const int32_t s,
                                int32_t px0, int32_t py0, int32_t tx, int32_t ty, int32_t *tags, p3d_rtri *cache,
                                int32_t n_cache, uint8_t *rgb) {
    enum { G = P3D_RENDER_TILE * P3D_RENDER_MAX_SSAA * P3D_RENDER_MAX_SSAA }; /* groups of a row, at most */
    const int32_t tp = P3D_RENDER_TILE * s, W = r->opts.width, ns = s * s;
    const int32_t nx = W - tx * P3D_RENDER_TILE < P3D_RENDER_TILE ? W - tx * P3D_RENDER_TILE : P3D_RENDER_TILE;
    const int32_t ny = r->opts.height - ty * P3D_RENDER_TILE < P3D_RENDER_TILE ? r->opts.height - ty * P3D_RENDER_TILE
                                                                                : P3D_RENDER_TILE;
    const uint8_t *bg = r->opts.background;
    if (!rm->uv) {
        for (int32_t oy = 0; oy < ny; oy++) {
            uint8_t *out = rgb + 3 * ((int64_t)(ty * P3D_RENDER_TILE + oy) * W + (int64_t)tx * P3D_RENDER_TILE);
            for (int32_t ox = 0; ox < nx; ox++)
                p3d_render_resolve(rm, NULL, ids, tp, s, px0, py0, ox, oy, bg, tags, cache, n_cache, out + 3 * ox);
        }
        return;
    }
    int32_t gf[G], gn[G], gx[G], gy[G]; /* per group: face, samples, sums of their local raster coordinates */
    float gu[G], gv[G], gc[G][3];        /* its texture coordinates, colour */
    int32_t pg[P3D_RENDER_TILE + 1], pbg[P3D_RENDER_TILE]; /* per pixel: first group, background samples */
    for (int32_t oy = 0; oy < ny; oy++) {
        uint8_t *out = rgb + 3 * ((int64_t)(ty * P3D_RENDER_TILE + oy) * W + (int64_t)tx * P3D_RENDER_TILE);
        int32_t ng = 0;
        for (int32_t ox = 0; ox < nx; ox++) {
            pg[ox] = ng;
            pbg[ox] = 0;
            const int32_t f0 = p3d_render_pixel_face(NULL, ids, tp, s, ox, oy);
            if (f0 >= 0) {
                gf[ng] = f0;
                gn[ng] = ns;
                gx[ng] = p3d_render_pixel_coord_sum(s, ox);
                gy[ng++] = p3d_render_pixel_coord_sum(s, oy);
                continue;
            }
            for (int32_t sy = 0; sy < s; sy++)
                for (int32_t sx = 0; sx < s; sx++) {
                    const int32_t ly = oy * s + sy, lx = ox * s + sx;
                    const int32_t f = ids[ly * tp + lx];
                    if (f < 0) {
                        pbg[ox]++;
                        continue;
                    }
                    p3d_render_group_add(f, lx, ly, pg[ox], gf, gn, gx, gy, &ng);
                }
        }
        pg[nx] = ng;
        for (int32_t g = 0; g < ng; g++) {
            const p3d_rtri *t = p3d_render_setup_cached(rm, gf[g], tags, cache, n_cache);
            int64_t e[3];
            p3d_render_group_edges(t, px0, py0, gn[g], gx[g], gy[g], e);
            float b[3];
            p3d_render_bary(t, e, b);
            p3d_render_uv(t, b, rm->uv, gu + g, gv + g);
        }
        for (int32_t g = 0; g < ng; g++) p3d_render_tex_bilinear_x(rm->tex, rm->tex_w, rm->tex_h, gu[g], gv[g], gc[g]);
        for (int32_t ox = 0; ox < nx; ox++) {
            float sum[3];
            p3d_render_sum_init(bg, pbg[ox], sum);
            for (int32_t g = pg[ox]; g < pg[ox + 1]; g++) p3d_render_sum_add(gc[g], gn[g], sum);
            p3d_render_sum_bytes(sum, s, out + 3 * ox);
        }
    }
}

/* How many triangles ahead of its use a tile's setup is fetched from the setup table. */
#define P3D_RENDER_AHEAD 6

/* Asks the cache for the lines of setup t (a hint: compilers without the builtin skip it). */
static inline void prefetch_setup(const p3d_rtri *t) {
#if defined(__GNUC__)
    const char *p = (const char *)t;
    __builtin_prefetch(p);
    __builtin_prefetch(p + 64);
    __builtin_prefetch(p + sizeof *t - 1);
#else
    (void)t;
#endif
}

/* Rasterises the triangles of one tile into the thread's tile buffers and resolves them into the output. */
static void raster_tile(const p3d_renderer *r, int64_t tile, int32_t *depth_bits, int32_t *ids, p3d_rtri *cache,
                        int32_t *tags, uint8_t *rgb) {
    const p3d_mesh *m = r->mesh;
    const int32_t tp = r->fs.tile_px;
    const int32_t tx = (int32_t)(tile % r->fs.tiles_x), ty = (int32_t)(tile / r->fs.tiles_x);
    const int32_t px0 = tx * tp, py0 = ty * tp;
    for (int32_t i = 0; i < tp * tp; i++) depth_bits[i] = -1;
    for (int32_t i = 0; i < tp * tp; i++) ids[i] = -1;
    if (r->setups) {
        /* The frame's setup table: every listed face is set up there, and it is the resolve's cache.
         * The table (160 bytes a face) is far larger than the caches and a tile's faces lie apart in
         * it, so each setup is fetched a few triangles ahead of its use. */
        const int32_t k0 = r->tile_start[tile], k1 = r->tile_start[tile + 1];
        for (int32_t k = k0; k < k0 + P3D_RENDER_AHEAD && k < k1; k++) prefetch_setup(r->setups + r->tile_tris[k]);
        for (int32_t k = k0; k < k1; k++) {
            const int32_t f = r->tile_tris[k];
            if (k + P3D_RENDER_AHEAD < k1) prefetch_setup(r->setups + r->tile_tris[k + P3D_RENDER_AHEAD]);
            tri_tile_cpu(r->setups + f, f, depth_bits, ids, tp, px0, py0);
        }
        cache = r->setups;
        tags = r->setup_tags;
    } else {
        /* Each triangle is set up in the resolve cache's slot, so the resolve finds the setups of the
         * tile's triangles made here unless two of them share a slot. */
        for (int32_t i = 0; i < P3D_RENDER_CACHE; i++) tags[i] = -1;
        for (int32_t k = r->tile_start[tile]; k < r->tile_start[tile + 1]; k++) {
            const int32_t f = r->tile_tris[k], slot = f & (P3D_RENDER_CACHE - 1);
            const int32_t *fc = m->faces + 3 * (int64_t)f;
            p3d_rtri *t = cache + slot;
            p3d_render_tri_setup(r->sx, r->sy, r->sz, fc[0], fc[1], fc[2], r->fs.rw, r->fs.rh, t);
            p3d_render_tri_planes(t);
            tags[slot] = f;
            tri_tile_cpu(t, f, depth_bits, ids, tp, px0, py0);
        }
    }
    const int32_t n_cache = r->setups ? r->n_setup : P3D_RENDER_CACHE;
    const p3d_rmesh rm = {m->faces, m->rgba, r->sx, r->sy, r->sz, r->fs.rw, r->fs.rh, m->uv, r->tex4, m->tex_w, m->tex_h};
    /* SSAA 2 (run's videos) and 3 (the presets) with constant sizes, so the compiler unrolls the
     * sample loops */
    if (r->opts.ssaa == 3) resolve_tile(r, &rm, ids, 3, px0, py0, tx, ty, tags, cache, n_cache, rgb);
    else if (r->opts.ssaa == 2) resolve_tile(r, &rm, ids, 2, px0, py0, tx, ty, tags, cache, n_cache, rgb);
    else resolve_tile(r, &rm, ids, r->opts.ssaa, px0, py0, tx, ty, tags, cache, n_cache, rgb);
}

static p3d_status render_cpu(p3d_renderer *r, const p3d_rview *rv, uint8_t *rgb) {
    const p3d_mesh *m = r->mesh;
    const int64_t n_tiles = (int64_t)r->fs.tiles_x * r->fs.tiles_y;
#ifdef P3D_HAVE_OPENMP
#pragma omp parallel for schedule(static)
#endif
    for (int64_t i = 0; i < m->n_vertices; i++) p3d_render_project(rv, m->xyz + 3 * i, r->sx + i, r->sy + i, r->sz + i);
    memset(r->counts, 0, (size_t)(P3D_RENDER_CHUNKS * n_tiles) * sizeof *r->counts);
#ifdef P3D_HAVE_OPENMP
#pragma omp parallel for schedule(dynamic, 1)
#endif
    for (int32_t c = 0; c < P3D_RENDER_CHUNKS; c++) bin_chunk(r, c, 0);
    /* Exclusive scan in (tile, chunk) order: each tile's list holds its triangles in face order. */
    int64_t total = 0;
    for (int64_t t = 0; t < n_tiles; t++) {
        r->tile_start[t] = (int32_t)total;
        for (int32_t c = 0; c < P3D_RENDER_CHUNKS; c++) {
            const int32_t n = r->counts[c * n_tiles + t];
            r->counts[c * n_tiles + t] = (int32_t)total;
            total += n;
        }
        if (total > INT32_MAX) return p3d_fail(P3D_ERR_INVALID_ARG, "render: more than 2^31 triangle-tile pairs");
    }
    r->tile_start[n_tiles] = (int32_t)total;
    if (total > r->cap_tris) {
        int32_t *grown = (int32_t *)realloc(r->tile_tris, (size_t)total * sizeof *grown);
        if (!grown) return p3d_fail(P3D_ERR_OOM, "render: out of memory for %lld triangle-tile pairs", (long long)total);
        r->tile_tris = grown;
        r->cap_tris = total;
    }
#ifdef P3D_HAVE_OPENMP
#pragma omp parallel for schedule(dynamic, 1)
#endif
    for (int32_t c = 0; c < P3D_RENDER_CHUNKS; c++) bin_chunk(r, c, 1);
    const size_t tile_keys = (size_t)r->fs.tile_px * (size_t)r->fs.tile_px;
#ifdef P3D_HAVE_OPENMP
#pragma omp parallel num_threads(r->threads)
    {
        const size_t th = (size_t)omp_get_thread_num();
#pragma omp for schedule(dynamic, 1)
        for (int64_t t = 0; t < n_tiles; t++)
            raster_tile(r, t, r->depth + th * tile_keys, r->ids + th * tile_keys, r->cache + th * P3D_RENDER_CACHE,
                        r->tags + th * P3D_RENDER_CACHE, rgb);
    }
#else
    for (int64_t t = 0; t < n_tiles; t++) raster_tile(r, t, r->depth, r->ids, r->cache, r->tags, rgb);
    (void)tile_keys;
#endif
    return P3D_OK;
}

p3d_status p3d_render_frame(p3d_renderer *r, const p3d_view *v, uint8_t *rgb) {
    for (int32_t k = 0; k < 9; k++)
        if (!isfinite(v->rot[k])) return p3d_fail(P3D_ERR_INVALID_ARG, "render: camera rotation is not finite");
    if (!isfinite(v->pos[0]) || !isfinite(v->pos[1]) || !isfinite(v->pos[2]) || !(v->fx > 0) || !(v->fy > 0) ||
        !isfinite(v->fx) || !isfinite(v->fy) || !isfinite(v->cx) || !isfinite(v->cy))
        return p3d_fail(P3D_ERR_INVALID_ARG, "render: camera position or intrinsics not finite and positive");
    const p3d_rview rv = raster_view(r, v);
#ifdef P3D_HAVE_CUDA
    if (r->cuda) return p3d_render_cuda_frame(r->cuda, &rv, rgb);
#endif
    return render_cpu(r, &rv, rgb);
}

const uint8_t *p3d_render_frame_device(p3d_renderer *r, const p3d_view *v, p3d_status *st) {
#ifdef P3D_HAVE_CUDA
    if (r->cuda) {
        /* rgb NULL: the frame stays in the renderer's device buffer */
        *st = p3d_render_frame(r, v, NULL);
        return *st == P3D_OK ? p3d_render_cuda_frame_buffer(r->cuda) : NULL;
    }
#else
    (void)v;
#endif
    *st = p3d_fail(P3D_ERR_UNSUPPORTED, "render: frames on the device need a CUDA context");
    return NULL;
}
