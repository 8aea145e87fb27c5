// render.cu - CUDA twin of host/render/render.c: the same tile-binned rasterizer (render_math.h), with the mesh
// resident on the device for a whole trajectory. Per frame:
//   project (one thread per vertex) -> count (one thread per face, atomicAdd per touched tile) ->
//   scan (one block) -> fill (one thread per face, atomicAdd cursors: list order is arbitrary, which
//   the (depth, face index) keys make irrelevant) -> raster (one block per tile: the tile's sample keys
//   in shared memory, one thread per listed triangle with shared atomicMin, then one thread per output
//   pixel resolving its s x s samples) -> the frame back to the host.
#include "p3d_cuda.h"
#include "p3d_cuda_check.h"
#include "render/render.h"
#include "render/render_math.h"

#define P3D_RENDER_THREADS 256
#define P3D_RENDER_SCAN_THREADS 1024

struct p3d_render_cuda {
    p3d_cuda_ctx *ctx;
    int64_t nv, nf;
    p3d_render_opts opts;
    p3d_render_frame_setup fs;
    int32_t n_tiles;
    float *xyz;       // (nv, 3)
    uint8_t *rgba;    // (nv, 4)
    int32_t *faces;   // (nf, 3)
    int32_t *sx, *sy; // (nv)
    float *sz;        // (nv)
    int32_t *counts;  // (n_tiles) triangles per tile, then write cursors
    int32_t *start;   // (n_tiles + 1) exclusive prefix sum of counts
    int32_t *tris;    // (cap) triangle ids grouped by tile
    int64_t cap;
    uint8_t *rgb;     // (height, width, 3) the frame
    float *uv;        // (nv, 2) texture coordinates of a textured mesh, else NULL
    uint8_t *tex;     // (tex_h, tex_w, 4) its atlas as RGBX (p3d_render_atlas_rgbx)
    int32_t tex_w, tex_h;
};

static __global__ void project_kernel(p3d_rview v, const float *xyz, int64_t nv, int32_t *sx, int32_t *sy, float *sz) {
    const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i < nv) p3d_render_project(&v, xyz + 3 * i, sx + i, sy + i, sz + i);
}

// fill = 0: counts[tile]++ per touched tile; fill = 1: tris[counts[tile]++] = face.
static __global__ void bin_kernel(const int32_t *faces, int64_t nf, const int32_t *sx, const int32_t *sy,
                                  const float *sz, p3d_render_frame_setup fs, int32_t *counts, int32_t *tris,
                                  int32_t fill) {
    const int64_t f = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (f >= nf) return;
    p3d_rtri t = {}; // set up before use; zeroed so -O3 builds of the emulated device see it initialised
    const int32_t *fc = faces + 3 * f;
    if (!p3d_render_tri_setup(sx, sy, sz, fc[0], fc[1], fc[2], fs.rw, fs.rh, &t)) return;
    int32_t tx0, ty0, tx1, ty1;
    p3d_render_tile_span(&t, fs.tile_px, &tx0, &ty0, &tx1, &ty1);
    for (int32_t ty = ty0; ty <= ty1; ty++)
        for (int32_t tx = tx0; tx <= tx1; tx++) {
            const int32_t slot = atomicAdd(&counts[ty * fs.tiles_x + tx], 1);
            if (fill) tris[slot] = static_cast<int32_t>(f);
        }
}

// Exclusive scan of counts (n) into start (n + 1), and counts := start (the fill cursors). One block:
// each thread sums a contiguous run, the block scans the run sums in shared memory (Hillis-Steele).
static __global__ void scan_kernel(int32_t *counts, int32_t *start, int32_t n) {
    P3D_SHARED(int32_t, part, [P3D_RENDER_SCAN_THREADS]);
    const int32_t per = (n + P3D_RENDER_SCAN_THREADS - 1) / P3D_RENDER_SCAN_THREADS;
    const int32_t a = threadIdx.x * per, b = a + per < n ? a + per : n;
    int32_t sum = 0;
    for (int32_t i = a; i < b; i++) sum += counts[i];
    part[threadIdx.x] = sum;
    __syncthreads();
    for (int32_t off = 1; off < P3D_RENDER_SCAN_THREADS; off <<= 1) {
        const int32_t v = threadIdx.x >= off ? part[threadIdx.x - off] : 0;
        __syncthreads();
        part[threadIdx.x] += v;
        __syncthreads();
    }
    int32_t run = part[threadIdx.x] - sum;
    for (int32_t i = a; i < b; i++) {
        const int32_t c = counts[i];
        start[i] = run;
        counts[i] = run;
        run += c;
    }
    if (threadIdx.x == P3D_RENDER_SCAN_THREADS - 1) start[n] = part[threadIdx.x];
}

// One block per tile; dynamic shared memory: the tile's (tile_px^2) sample keys.
static __global__ void raster_kernel(p3d_rmesh m, const int32_t *start, const int32_t *tris,
                                     p3d_render_frame_setup fs, int32_t width, int32_t height, int32_t s, uchar3 bg,
                                     uint8_t *rgb) {
    P3D_DYNAMIC_SHARED(unsigned long long, p3d_tile_keys);
    uint64_t *keys = reinterpret_cast<uint64_t *>(p3d_tile_keys);
    const int32_t tile = blockIdx.x, tp = fs.tile_px;
    const int32_t tx = tile % fs.tiles_x, ty = tile / fs.tiles_x, px0 = tx * tp, py0 = ty * tp;
    for (int32_t i = threadIdx.x; i < tp * tp; i += blockDim.x) keys[i] = P3D_RENDER_KEY_EMPTY;
    __syncthreads();
    p3d_rtri t = {}; // set up before use; zeroed so -O3 builds of the emulated device see it initialised
    for (int32_t k = start[tile] + threadIdx.x; k < start[tile + 1]; k += blockDim.x) {
        const int32_t f = tris[k];
        const int32_t *fc = m.faces + 3 * static_cast<int64_t>(f);
        p3d_render_tri_setup(m.sx, m.sy, m.sz, fc[0], fc[1], fc[2], m.rw, m.rh, &t);
        p3d_render_tri_planes(&t);
        p3d_render_tri_tile(&t, f, keys, tp, px0, py0);
    }
    __syncthreads();
    const uint8_t bgc[3] = {bg.x, bg.y, bg.z};
    int32_t tag = -1; // a one-entry setup cache (p3d_render_resolve)
    for (int32_t i = threadIdx.x; i < P3D_RENDER_TILE * P3D_RENDER_TILE; i += blockDim.x) {
        const int32_t ox = i % P3D_RENDER_TILE, oy = i / P3D_RENDER_TILE;
        const int32_t gx = tx * P3D_RENDER_TILE + ox, gy = ty * P3D_RENDER_TILE + oy;
        if (gx >= width || gy >= height) continue;
        p3d_render_resolve(&m, keys, NULL, tp, s, px0, py0, ox, oy, bgc, &tag, &t, 1,
                           rgb + 3 * (static_cast<int64_t>(gy) * width + gx));
    }
}

extern "C" void p3d_render_cuda_free(p3d_render_cuda *r) {
    if (!r) return;
    void *bufs[] = {r->xyz, r->rgba, r->faces, r->sx, r->sy, r->sz, r->counts, r->start, r->tris, r->rgb, r->uv, r->tex};
    for (void *b : bufs) p3d_cuda_free(r->ctx, b);
    free(r);
}

extern "C" p3d_status p3d_render_cuda_init(p3d_cuda_ctx *ctx, const p3d_mesh *m, const p3d_render_opts *o,
                                           const p3d_render_frame_setup *fs, p3d_render_cuda **out) {
    *out = NULL;
    p3d_render_cuda *r = static_cast<p3d_render_cuda *>(calloc(1, sizeof *r));
    if (!r) return p3d_fail(P3D_ERR_OOM, "render: out of memory");
    r->ctx = ctx;
    r->nv = m->n_vertices;
    r->nf = m->n_faces;
    r->opts = *o;
    r->fs = *fs;
    r->n_tiles = fs->tiles_x * fs->tiles_y;
    r->cap = r->nf + r->n_tiles + 1;
    const size_t nv = static_cast<size_t>(r->nv > 0 ? r->nv : 1), nf = static_cast<size_t>(r->nf > 0 ? r->nf : 1);
    p3d_status st = P3D_OK;
    if (st == P3D_OK) st = p3d_cuda_malloc(ctx, nv * 3 * sizeof(float), reinterpret_cast<void **>(&r->xyz));
    if (st == P3D_OK) st = p3d_cuda_malloc(ctx, nv * 4, reinterpret_cast<void **>(&r->rgba));
    if (st == P3D_OK) st = p3d_cuda_malloc(ctx, nf * 3 * sizeof(int32_t), reinterpret_cast<void **>(&r->faces));
    if (st == P3D_OK) st = p3d_cuda_malloc(ctx, nv * sizeof(int32_t), reinterpret_cast<void **>(&r->sx));
    if (st == P3D_OK) st = p3d_cuda_malloc(ctx, nv * sizeof(int32_t), reinterpret_cast<void **>(&r->sy));
    if (st == P3D_OK) st = p3d_cuda_malloc(ctx, nv * sizeof(float), reinterpret_cast<void **>(&r->sz));
    if (st == P3D_OK) st = p3d_cuda_malloc(ctx, (r->n_tiles + 1) * sizeof(int32_t), reinterpret_cast<void **>(&r->counts));
    if (st == P3D_OK) st = p3d_cuda_malloc(ctx, (r->n_tiles + 1) * sizeof(int32_t), reinterpret_cast<void **>(&r->start));
    if (st == P3D_OK) st = p3d_cuda_malloc(ctx, r->cap * sizeof(int32_t), reinterpret_cast<void **>(&r->tris));
    if (st == P3D_OK)
        st = p3d_cuda_malloc(ctx, static_cast<size_t>(o->width) * o->height * 3, reinterpret_cast<void **>(&r->rgb));
    if (st == P3D_OK && r->nv > 0) st = p3d_cuda_memcpy_h2d(ctx, r->xyz, m->xyz, r->nv * 3 * sizeof(float));
    if (st == P3D_OK && r->nv > 0) st = p3d_cuda_memcpy_h2d(ctx, r->rgba, m->rgba, r->nv * 4);
    if (st == P3D_OK && r->nf > 0) st = p3d_cuda_memcpy_h2d(ctx, r->faces, m->faces, r->nf * 3 * sizeof(int32_t));
    if (st == P3D_OK && m->uv) {
        // the atlas goes up as RGBX, the layout p3d_render_tex_bilinear_x reads (one word per texel)
        const size_t tex_bytes = static_cast<size_t>(m->tex_w) * m->tex_h * 4;
        r->tex_w = m->tex_w;
        r->tex_h = m->tex_h;
        uint8_t *rgbx = p3d_render_atlas_rgbx(m);
        if (!rgbx) st = p3d_fail(P3D_ERR_OOM, "render: out of memory for the %dx%d atlas", (int)m->tex_w, (int)m->tex_h);
        if (st == P3D_OK) st = p3d_cuda_malloc(ctx, nv * 2 * sizeof(float), reinterpret_cast<void **>(&r->uv));
        if (st == P3D_OK) st = p3d_cuda_malloc(ctx, tex_bytes, reinterpret_cast<void **>(&r->tex));
        if (st == P3D_OK && r->nv > 0) st = p3d_cuda_memcpy_h2d(ctx, r->uv, m->uv, r->nv * 2 * sizeof(float));
        if (st == P3D_OK) st = p3d_cuda_memcpy_h2d(ctx, r->tex, rgbx, tex_bytes);
        free(rgbx);
    }
    if (st != P3D_OK) {
        p3d_render_cuda_free(r);
        return st;
    }
    *out = r;
    return P3D_OK;
}

extern "C" p3d_status p3d_render_cuda_frame(p3d_render_cuda *r, const void *rview, uint8_t *rgb) {
    p3d_cuda_ctx *ctx = r->ctx;
    const p3d_rview v = *static_cast<const p3d_rview *>(rview);
    const p3d_render_frame_setup fs = r->fs;
    if (r->nv > 0) {
        P3D_LAUNCH(project_kernel, p3d_cuda_blocks(r->nv, P3D_RENDER_THREADS), P3D_RENDER_THREADS, 0, ctx->stream)(
            v, r->xyz, r->nv, r->sx, r->sy, r->sz);
        P3D_CUDA_LAUNCH_CHECK(ctx, "render.project");
    }
    P3D_CUDA_CHECK(cudaMemsetAsync(r->counts, 0, r->n_tiles * sizeof(int32_t), ctx->stream));
    if (r->nf > 0) {
        P3D_LAUNCH(bin_kernel, p3d_cuda_blocks(r->nf, P3D_RENDER_THREADS), P3D_RENDER_THREADS, 0, ctx->stream)(
            r->faces, r->nf, r->sx, r->sy, r->sz, fs, r->counts, r->tris, 0);
        P3D_CUDA_LAUNCH_CHECK(ctx, "render.count");
    }
    P3D_LAUNCH(scan_kernel, 1, P3D_RENDER_SCAN_THREADS, 0, ctx->stream)(r->counts, r->start, r->n_tiles);
    P3D_CUDA_LAUNCH_CHECK(ctx, "render.scan");
    int32_t total = 0;
    P3D_TRY(p3d_cuda_memcpy_d2h(ctx, &total, r->start + r->n_tiles, sizeof total));
    if (total > r->cap) { // more triangle-tile pairs than planned (large triangles): grow the list
        p3d_cuda_free(ctx, r->tris);
        r->tris = NULL;
        P3D_TRY(p3d_cuda_malloc(ctx, static_cast<size_t>(total) * sizeof(int32_t), reinterpret_cast<void **>(&r->tris)));
        r->cap = total;
    }
    if (r->nf > 0) {
        P3D_LAUNCH(bin_kernel, p3d_cuda_blocks(r->nf, P3D_RENDER_THREADS), P3D_RENDER_THREADS, 0, ctx->stream)(
            r->faces, r->nf, r->sx, r->sy, r->sz, fs, r->counts, r->tris, 1);
        P3D_CUDA_LAUNCH_CHECK(ctx, "render.fill");
    }
    const p3d_rmesh m = {r->faces, r->rgba, r->sx, r->sy, r->sz, fs.rw, fs.rh, r->uv, r->tex, r->tex_w, r->tex_h};
    const size_t shared = static_cast<size_t>(fs.tile_px) * fs.tile_px * sizeof(uint64_t);
    const uchar3 bg = make_uchar3(r->opts.background[0], r->opts.background[1], r->opts.background[2]);
    P3D_LAUNCH(raster_kernel, r->n_tiles, P3D_RENDER_THREADS, shared, ctx->stream)(
        m, r->start, r->tris, fs, r->opts.width, r->opts.height, r->opts.ssaa, bg, r->rgb);
    P3D_CUDA_LAUNCH_CHECK(ctx, "render.raster");
    if (!rgb) return P3D_OK; // the frame stays on the device (p3d_render_cuda_frame_buffer)
    return p3d_cuda_memcpy_d2h(ctx, rgb, r->rgb, static_cast<size_t>(r->opts.width) * r->opts.height * 3);
}

extern "C" const uint8_t *p3d_render_cuda_frame_buffer(const p3d_render_cuda *r) { return r->rgb; }

// The renderer of a mesh whose positions and faces are already on this device (the device mesh of
// cuda/mesh/mesh.cu, issue 14): p3d_render_cuda_init for an untextured mesh, with the positions and
// faces copied device to device instead of uploaded from the host; only the colours go up.
extern "C" p3d_status p3d_render_cuda_init_dev(p3d_cuda_ctx *ctx, const p3d_mesh *m, const float *xyz_dev,
                                               const int32_t *faces_dev, const p3d_render_opts *o,
                                               const p3d_render_frame_setup *fs, p3d_render_cuda **out) {
    *out = NULL;
    if (m->uv) return p3d_fail(P3D_ERR_INVALID_ARG, "render: a textured mesh is not a device mesh");
    p3d_mesh colours = *m; // the host mesh's header only: p3d_render_cuda_init then uploads no vertex
    colours.n_vertices = 0;
    colours.n_faces = 0;
    p3d_render_cuda *r = NULL;
    P3D_TRY(p3d_render_cuda_init(ctx, &colours, o, fs, &r));
    // re-plan the mesh buffers at the real sizes (the empty plan made them one element each)
    void **mesh_bufs[] = {reinterpret_cast<void **>(&r->xyz), reinterpret_cast<void **>(&r->rgba),
                          reinterpret_cast<void **>(&r->faces), reinterpret_cast<void **>(&r->sx),
                          reinterpret_cast<void **>(&r->sy), reinterpret_cast<void **>(&r->sz),
                          reinterpret_cast<void **>(&r->tris)};
    for (void **b : mesh_bufs) {
        p3d_cuda_free(ctx, *b);
        *b = NULL;
    }
    r->nv = m->n_vertices;
    r->nf = m->n_faces;
    r->cap = r->nf + r->n_tiles + 1;
    const size_t nv = static_cast<size_t>(r->nv > 0 ? r->nv : 1), nf = static_cast<size_t>(r->nf > 0 ? r->nf : 1);
    p3d_status st = p3d_cuda_malloc(ctx, nv * 3 * sizeof(float), reinterpret_cast<void **>(&r->xyz));
    if (st == P3D_OK) st = p3d_cuda_malloc(ctx, nv * 4, reinterpret_cast<void **>(&r->rgba));
    if (st == P3D_OK) st = p3d_cuda_malloc(ctx, nf * 3 * sizeof(int32_t), reinterpret_cast<void **>(&r->faces));
    if (st == P3D_OK) st = p3d_cuda_malloc(ctx, nv * sizeof(int32_t), reinterpret_cast<void **>(&r->sx));
    if (st == P3D_OK) st = p3d_cuda_malloc(ctx, nv * sizeof(int32_t), reinterpret_cast<void **>(&r->sy));
    if (st == P3D_OK) st = p3d_cuda_malloc(ctx, nv * sizeof(float), reinterpret_cast<void **>(&r->sz));
    if (st == P3D_OK) st = p3d_cuda_malloc(ctx, r->cap * sizeof(int32_t), reinterpret_cast<void **>(&r->tris));
    if (st == P3D_OK && r->nv > 0) st = p3d_cuda_memcpy_d2d(ctx, r->xyz, xyz_dev, r->nv * 3 * sizeof(float));
    if (st == P3D_OK && r->nv > 0) st = p3d_cuda_memcpy_h2d(ctx, r->rgba, m->rgba, r->nv * 4);
    if (st == P3D_OK && r->nf > 0) st = p3d_cuda_memcpy_d2d(ctx, r->faces, faces_dev, r->nf * 3 * sizeof(int32_t));
    if (st != P3D_OK) {
        p3d_render_cuda_free(r);
        return st;
    }
    *out = r;
    return P3D_OK;
}
