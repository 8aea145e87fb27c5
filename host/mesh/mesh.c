/* mesh.c - the mesh container, the LDI -> mesh conversion (CPU reference, dispatch; twin:
 * cuda/mesh/mesh.cu, shared rules: mesh_math.h). The files are mesh_file.c's. */
#include "mesh/mesh.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mesh/mesh_math.h"

p3d_status p3d_mesh_alloc(p3d_mesh *m, int64_t n_vertices, int64_t n_faces) {
    memset(m, 0, sizeof *m);
    if (n_vertices < 0 || n_faces < 0 || n_vertices > INT32_MAX || n_faces > INT64_MAX / 12)
        return p3d_fail(P3D_ERR_INVALID_ARG, "mesh: bad counts: %lld vertices, %lld faces", (long long)n_vertices,
                        (long long)n_faces);
    size_t nv = (size_t)n_vertices, nf = (size_t)n_faces, fb = 0;
    if (!p3d_size_mul(nf, 3 * sizeof(int32_t), &fb))
        return p3d_fail(P3D_ERR_OOM, "mesh: %lld faces do not fit in memory", (long long)n_faces);
    /* malloc(0) may return NULL: allocate at least one element so NULL always means failure. */
    m->xyz = (float *)malloc((nv ? nv : 1) * 3 * sizeof(float));
    m->rgba = (uint8_t *)malloc((nv ? nv : 1) * 4);
    m->faces = (int32_t *)malloc(fb ? fb : sizeof(int32_t));
    if (!m->xyz || !m->rgba || !m->faces) {
        p3d_mesh_free(m);
        return p3d_fail(P3D_ERR_OOM, "mesh: out of memory for %lld vertices and %lld faces", (long long)n_vertices,
                        (long long)n_faces);
    }
    m->n_vertices = n_vertices;
    m->n_faces = n_faces;
    return P3D_OK;
}

void p3d_mesh_free(p3d_mesh *m) {
    if (!m) return;
    free(m->xyz);
    free(m->rgba);
    free(m->faces);
    free(m->uv);
    free(m->tex);
    memset(m, 0, sizeof *m);
}

static p3d_status check_ldi_args(const p3d_ldi *l, float depth_threshold, p3d_mesh *out) {
    memset(out, 0, sizeof *out);
    if (!(depth_threshold >= 0))
        return p3d_fail(P3D_ERR_INVALID_ARG, "mesh: depth threshold %g: need a number >= 0", (double)depth_threshold);
    if (l->n_nodes < 0 || !(l->cam.fx > 0) || !(l->cam.fy > 0))
        return p3d_fail(P3D_ERR_INVALID_ARG, "mesh: LDI with %d nodes and focal lengths %g, %g", (int)l->n_nodes,
                        (double)l->cam.fx, (double)l->cam.fy);
    return P3D_OK;
}

/* Size and field of view of the processing image (spec 2.4 calculate_fov: 2 atan(W / (2 fx))). */
static void set_header(const p3d_ldi *l, p3d_mesh *m) {
    m->width = l->width;
    m->height = l->height;
    m->hfov = (float)(2.0 * atan((double)l->width / (2.0 * (double)l->cam.fx)));
    m->vfov = (float)(2.0 * atan((double)l->height / (2.0 * (double)l->cam.fy)));
}

/* Colour + label bytes of every vertex (same on every backend). */
static void fill_rgba(const p3d_ldi *l, p3d_mesh *m) {
    const int32_t n = l->n_nodes;
#ifdef P3D_HAVE_OPENMP
#pragma omp parallel for schedule(static)
#endif
    for (int32_t i = 0; i < n; i++) {
        uint8_t *c = m->rgba + 4 * (size_t)i;
        memcpy(c, l->rgb + 3 * (size_t)i, 3);
        c[3] = l->label[i];
    }
}

p3d_status p3d_mesh_from_ldi(const p3d_ldi *l, float depth_threshold, p3d_mesh *out) {
    P3D_TRY(check_ldi_args(l, depth_threshold, out));
    const int32_t n = l->n_nodes;
    /* Pass 1: faces per node into offsets[i + 1]; then the prefix sum gives each node's first face, so
     * pass 2 writes every face at a place fixed by node order alone (thread count does not matter). */
    int64_t *offsets = (int64_t *)malloc(((size_t)n + 1) * sizeof *offsets);
    if (!offsets) return p3d_fail(P3D_ERR_OOM, "mesh: out of memory for %d nodes", (int)n);
    offsets[0] = 0;
#ifdef P3D_HAVE_OPENMP
#pragma omp parallel for schedule(static)
#endif
    for (int32_t i = 0; i < n; i++) offsets[i + 1] = p3d_mesh_node_faces(l->link, l->depth, i, depth_threshold, NULL);
    for (int32_t i = 0; i < n; i++) offsets[i + 1] += offsets[i];
    p3d_status st = p3d_mesh_alloc(out, n, offsets[n]);
    if (st != P3D_OK) {
        free(offsets);
        return st;
    }
    set_header(l, out);
#ifdef P3D_HAVE_OPENMP
#pragma omp parallel for schedule(static)
#endif
    for (int32_t i = 0; i < n; i++) {
        p3d_mesh_vertex(&l->cam, l->ext_w, l->border, l->pix[i], l->depth[i], out->xyz + 3 * (size_t)i);
        p3d_mesh_node_faces(l->link, l->depth, i, depth_threshold, out->faces + 3 * offsets[i]);
    }
    fill_rgba(l, out);
    free(offsets);
    return P3D_OK;
}

#ifdef P3D_HAVE_CUDA
/* Byte offset of the next 256-aligned block after `*at` holding `bytes`. */
static size_t carve(size_t *at, size_t bytes) {
    size_t start = (*at + 255) & ~(size_t)255;
    *at = start + bytes;
    return start;
}

/* xyz_dev, faces_dev (may be NULL): where the device copies of the positions and faces were left. */
static p3d_status mesh_from_ldi_device(p3d_ctx *ctx, const p3d_ldi *l, float depth_threshold, p3d_mesh *out,
                                       const float **xyz_dev, const int32_t **faces_dev) {
    const size_t n = (size_t)l->n_nodes;
    size_t at = 0;
    const size_t o_link = carve(&at, n * 4 * sizeof(int32_t)), o_depth = carve(&at, n * sizeof(float));
    const size_t o_pix = carve(&at, n * sizeof(int32_t)), o_counts = carve(&at, (n + 1) * sizeof(int64_t));
    const size_t o_offsets = carve(&at, (n + 1) * sizeof(int64_t));
    const size_t o_scan = carve(&at, p3d_mesh_cuda_scan_bytes(l->n_nodes));
    const size_t o_xyz = carve(&at, n * 3 * sizeof(float)), o_faces = carve(&at, n * 12 * sizeof(int32_t));
    P3D_TRY(p3d_ctx_scratch_reserve(ctx, at));
    size_t have = 0;
    uint8_t *base = (uint8_t *)p3d_ctx_scratch(ctx, &have);
    p3d_mesh_dev d;
    memset(&d, 0, sizeof d);
    d.link = (const int32_t *)(base + o_link);
    d.depth = (const float *)(base + o_depth);
    d.pix = (const int32_t *)(base + o_pix);
    d.n_nodes = l->n_nodes;
    d.ext_w = l->ext_w;
    d.border = l->border;
    d.cam = l->cam;
    d.threshold = depth_threshold;
    d.counts = (int64_t *)(base + o_counts);
    d.offsets = (int64_t *)(base + o_offsets);
    d.scan_tmp = base + o_scan;
    d.xyz = (float *)(base + o_xyz);
    d.faces = (int32_t *)(base + o_faces);
    P3D_TRY(p3d_ctx_upload(ctx, base + o_link, l->link, n * 4 * sizeof(int32_t)));
    P3D_TRY(p3d_ctx_upload(ctx, base + o_depth, l->depth, n * sizeof(float)));
    P3D_TRY(p3d_ctx_upload(ctx, base + o_pix, l->pix, n * sizeof(int32_t)));
    int64_t n_faces = 0;
    P3D_TRY(p3d_mesh_from_ldi_cuda(p3d_ctx_cuda(ctx), &d, &n_faces));
    P3D_TRY(p3d_mesh_alloc(out, l->n_nodes, n_faces));
    set_header(l, out);
    p3d_status st = p3d_ctx_download(ctx, out->xyz, d.xyz, n * 3 * sizeof(float));
    if (st == P3D_OK) st = p3d_ctx_download(ctx, out->faces, d.faces, (size_t)n_faces * 3 * sizeof(int32_t));
    if (st != P3D_OK) {
        p3d_mesh_free(out);
        return st;
    }
    fill_rgba(l, out);
    if (xyz_dev) *xyz_dev = d.xyz;
    if (faces_dev) *faces_dev = d.faces;
    return P3D_OK;
}
#endif

p3d_status p3d_mesh_from_ldi_ctx(p3d_ctx *ctx, const p3d_ldi *l, float depth_threshold, p3d_mesh *out) {
#ifdef P3D_HAVE_CUDA
    if (ctx && p3d_ctx_cuda(ctx) && l->n_nodes > 0) {
        P3D_TRY(check_ldi_args(l, depth_threshold, out));
        return mesh_from_ldi_device(ctx, l, depth_threshold, out, NULL, NULL);
    }
#else
    (void)ctx;
#endif
    return p3d_mesh_from_ldi(l, depth_threshold, out);
}

p3d_status p3d_mesh_from_ldi_dev(p3d_ctx *ctx, const p3d_ldi *l, float depth_threshold, p3d_mesh *out,
                                 const float **xyz_dev, const int32_t **faces_dev) {
    *xyz_dev = NULL;
    *faces_dev = NULL;
#ifdef P3D_HAVE_CUDA
    if (ctx && p3d_ctx_cuda(ctx) && l->n_nodes > 0) {
        P3D_TRY(check_ldi_args(l, depth_threshold, out));
        return mesh_from_ldi_device(ctx, l, depth_threshold, out, xyz_dev, faces_dev);
    }
#endif
    return p3d_mesh_from_ldi_ctx(ctx, l, depth_threshold, out);
}
