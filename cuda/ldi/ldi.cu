// ldi.cu - CUDA twins of the LDI graph stages (host/ldi/ldi_build.c, host/ldi/ldi_edges.c,
// host/ldi/ldi_regions.c): data-parallel passes over the flat LDI arrays, deciding each element with
// the P3D_HD rules of ldi_graph_math.h, so the results equal the CPU's bit for bit.
//
//   build    one thread per pixel: tear flags, then the dangling pass from a copy of them; connected
//            components by lock-free union-find (a root is hooked under the smaller root with
//            atomicCAS, so every root is the smallest pixel of its tree: labels = smallest pixel
//            index, the CPU union-find's), sizes by atomicAdd, the largest component by a 64-bit
//            atomicMax of (size, -label), keep flags. The island refill stays on the host.
//   edges    one thread per node: role, edge-graph neighbours (hooked the same way: labels = smallest
//            node), then a prefix sum over the roots gives edge ids in node order (the CPU numbers
//            edges in the order of their smallest node), sizes by atomicAdd.
//   regions  the ring search with per-ring frontier lists: an offer kernel per frontier node, the
//            smallest edge id kept per candidate by atomicMin on a claim array (the first offer of a
//            candidate, which sees INT_MAX, lists it), a commit kernel that turns the offer list into
//            the next frontier. Frontier order differs from the CPU's and does not matter: a claim is
//            the minimum over all offers, and every rule reads only what earlier steps committed.
//            Counts per edge by atomicAdd, erosion widths per edge, erode flags per node.
// Every launcher uploads the LDI once (p3d_ldi_dev), queues its kernels on the context's stream,
// and downloads the results; the regions loop reads two frontier sizes back per ring.
#include <climits>
#include <cstring>

#include <cub/device/device_scan.cuh>

#include "ldi/ldi_graph_math.h"
#include "ldi/ldi_stages.h"
#include "p3d_cuda_check.h"

#define P3D_LDI_THREADS 256

// Device buffers of one launcher call, freed together on every path.
typedef struct ldi_pool {
    p3d_cuda_ctx *ctx;
    void *ptr[32];
    int32_t n;
} ldi_pool;

template <class T>
static p3d_status pool_get(ldi_pool *pl, size_t count, T **out) {
    P3D_ASSERT(pl->n < 32);
    void *p = nullptr;
    P3D_TRY(p3d_cuda_malloc(pl->ctx, (count ? count : 1) * sizeof(T), &p));
    pl->ptr[pl->n++] = p;
    *out = static_cast<T *>(p);
    return P3D_OK;
}

static void pool_free(ldi_pool *pl) {
    for (int32_t i = 0; i < pl->n; i++) p3d_cuda_free(pl->ctx, pl->ptr[i]);
    pl->n = 0;
}

static inline unsigned ldi_blocks(int64_t n) { return p3d_cuda_blocks(n, P3D_LDI_THREADS); }

#define LDI_INDEX() (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x)

// Adds v of every lane of the warp to *counter (one atomic per warp). Every lane must call it: the
// kernels that count keep all threads alive to the end (blockDim is a multiple of 32).
static __device__ void warp_add(int32_t *counter, int32_t v) {
    for (int off = 16; off > 0; off >>= 1) v += __shfl_down_sync(0xffffffffu, v, off);
    if ((threadIdx.x & 31) == 0 && v) atomicAdd(counter, v);
}

// ---- union-find shared by the build and the edges -------------------------------------------------
// label[i] <= i always (a root is only ever hooked under a smaller root), so the root of a tree is
// its smallest member. Reads are volatile: other threads hook roots while this one walks.

static __device__ int32_t uf_root(const int32_t *label, int32_t a) {
    const volatile int32_t *v = label;
    int32_t p = v[a];
    while (p != a) {
        a = p;
        p = v[a];
    }
    return a;
}

static __device__ void uf_unite(int32_t *label, int32_t a, int32_t b) {
    a = uf_root(label, a);
    b = uf_root(label, b);
    while (a != b) {
        if (a < b) {
            const int32_t t = a;
            a = b;
            b = t;
        }
        const int32_t old = atomicCAS(&label[a], a, b); // hook root a under b if a is still a root
        if (old == a) return;
        a = uf_root(label, old); // a was hooked meanwhile: go on from its new root
        b = uf_root(label, b);
    }
}

static __global__ void iota_kernel(int32_t *label, int32_t n) {
    const int64_t i = LDI_INDEX();
    if (i < n) label[i] = static_cast<int32_t>(i);
}

// One thread per element a of graph G unites a with its neighbours (G::hook).
template <class G>
static __global__ void hook_kernel(const G g, int32_t n, int32_t *label) {
    const int64_t i = LDI_INDEX();
    if (i < n) g.hook(static_cast<int32_t>(i), label);
}

// After all hooks: every label becomes its root.
static __global__ void uf_flatten_kernel(int32_t *label, int32_t n) {
    const int64_t i = LDI_INDEX();
    if (i < n) label[i] = uf_root(label, static_cast<int32_t>(i));
}

// label (n): the smallest element of each element's component in graph G (n > 0).
template <class G>
static p3d_status uf_components(p3d_cuda_ctx *ctx, const G &g, int32_t n, int32_t *label, const char *op) {
    const unsigned blocks = ldi_blocks(n);
    P3D_LAUNCH(iota_kernel, blocks, P3D_LDI_THREADS, 0, ctx->stream)(label, n);
    P3D_CUDA_LAUNCH_CHECK(ctx, op);
    P3D_LAUNCH(hook_kernel<G>, blocks, P3D_LDI_THREADS, 0, ctx->stream)(g, n, label);
    P3D_CUDA_LAUNCH_CHECK(ctx, op);
    P3D_LAUNCH(uf_flatten_kernel, blocks, P3D_LDI_THREADS, 0, ctx->stream)(label, n);
    P3D_CUDA_LAUNCH_CHECK(ctx, op);
    return P3D_OK;
}

// ---- build --------------------------------------------------------------------------------------
// Pixel grids (h, w); counts[0] torn links, [1] dangling links, [2] dropped components.

static __global__ void tear_kernel(const float *depth, int32_t w, int32_t h, float thr, uint8_t *r0, uint8_t *d0,
                                   int32_t *counts) {
    const int64_t i = LDI_INDEX();
    int32_t torn = 0;
    if (i < static_cast<int64_t>(w) * h) {
        const int32_t u = static_cast<int32_t>(i % w), v = static_cast<int32_t>(i / w);
        r0[i] = p3d_ldi_grid_joined(depth, w, h, u, v, 0, thr);
        d0[i] = p3d_ldi_grid_joined(depth, w, h, u, v, 1, thr);
        torn = (u + 1 < w && !r0[i]) + (v + 1 < h && !d0[i]);
    }
    warp_add(&counts[0], torn);
}

static __global__ void dangling_kernel(const uint8_t *r0, const uint8_t *d0, int32_t w, int32_t h, uint8_t *right,
                                       uint8_t *down, int32_t *counts) {
    const int64_t i = LDI_INDEX();
    int32_t cut = 0;
    if (i < static_cast<int64_t>(w) * h) {
        const int32_t u = static_cast<int32_t>(i % w), v = static_cast<int32_t>(i / w);
        right[i] = p3d_ldi_grid_after_dangling(r0, w, h, u, v, 0);
        down[i] = p3d_ldi_grid_after_dangling(d0, w, h, u, v, 1);
        cut = (r0[i] && !right[i]) + (d0[i] && !down[i]);
    }
    warp_add(&counts[1], cut);
}

// The pixel grid's links (h, w): each pixel unites with its linked right and lower neighbours.
typedef struct grid_graph {
    const uint8_t *right, *down;
    int32_t w;
    __device__ void hook(int32_t a, int32_t *label) const {
        if (right[a]) uf_unite(label, a, a + 1);
        if (down[a]) uf_unite(label, a, a + w);
    }
} grid_graph;

static __global__ void size_kernel(const int32_t *label, int32_t n, int32_t *size) {
    const int64_t i = LDI_INDEX();
    if (i < n) atomicAdd(&size[label[i]], 1);
}

// best = max over roots of (size << 32 | INT32_MAX - label): the largest component, ties to the
// smaller label (the CPU's rule).
static __global__ void largest_kernel(const int32_t *label, const int32_t *size, int32_t n, unsigned long long *best) {
    const int64_t i = LDI_INDEX();
    if (i >= n || label[i] != i) return;
    const unsigned long long key = (static_cast<unsigned long long>(size[i]) << 32) |
                                   static_cast<unsigned long long>(INT32_MAX - static_cast<int32_t>(i));
    atomicMax(best, key);
}

static __global__ void keep_kernel(const int32_t *label, const int32_t *size, const unsigned long long *best,
                                   int32_t n, int32_t min_component, uint8_t *keep, int32_t *counts) {
    const int64_t i = LDI_INDEX();
    int32_t dropped = 0;
    if (i < n) {
        const int32_t largest = INT32_MAX - static_cast<int32_t>(*best & 0xffffffffull);
        keep[i] = p3d_ldi_keep(size[label[i]], label[i], largest, min_component);
        dropped = !keep[i] && label[i] == i;
    }
    warp_add(&counts[2], dropped);
}

static p3d_status build_run(ldi_pool *pl, const float *depth, int32_t w, int32_t h, const p3d_ldi_opts *o,
                            uint8_t *right, uint8_t *down, int32_t *label, uint8_t *keep, p3d_ldi_build_stats *st) {
    p3d_cuda_ctx *ctx = pl->ctx;
    const int32_t n = w * h;
    const size_t un = static_cast<size_t>(n);
    float *d_depth;
    uint8_t *d_r0, *d_d0, *d_right, *d_down, *d_keep;
    int32_t *d_label, *d_size, *d_counts;
    unsigned long long *d_best;
    P3D_TRY(pool_get(pl, un, &d_depth));
    P3D_TRY(pool_get(pl, un, &d_r0));
    P3D_TRY(pool_get(pl, un, &d_d0));
    P3D_TRY(pool_get(pl, un, &d_right));
    P3D_TRY(pool_get(pl, un, &d_down));
    P3D_TRY(pool_get(pl, un, &d_keep));
    P3D_TRY(pool_get(pl, un, &d_label));
    P3D_TRY(pool_get(pl, un, &d_size));
    P3D_TRY(pool_get(pl, 3, &d_counts));
    P3D_TRY(pool_get(pl, 1, &d_best));
    P3D_TRY(p3d_cuda_memcpy_h2d(ctx, d_depth, depth, un * sizeof(float)));
    P3D_CUDA_CHECK(cudaMemsetAsync(d_counts, 0, 3 * sizeof(int32_t), ctx->stream));
    P3D_CUDA_CHECK(cudaMemsetAsync(d_size, 0, un * sizeof(int32_t), ctx->stream));
    P3D_CUDA_CHECK(cudaMemsetAsync(d_best, 0, sizeof(unsigned long long), ctx->stream));
    const unsigned blocks = ldi_blocks(n);
    P3D_LAUNCH(tear_kernel, blocks, P3D_LDI_THREADS, 0, ctx->stream)(
        d_depth, w, h, o->depth_threshold, d_r0, d_d0, d_counts);
    P3D_CUDA_LAUNCH_CHECK(ctx, "LDI build tear");
    P3D_LAUNCH(dangling_kernel, blocks, P3D_LDI_THREADS, 0, ctx->stream)(d_r0, d_d0, w, h, d_right, d_down, d_counts);
    P3D_CUDA_LAUNCH_CHECK(ctx, "LDI build dangling");
    const grid_graph grid = {d_right, d_down, w};
    P3D_TRY(uf_components(ctx, grid, n, d_label, "LDI build components"));
    P3D_LAUNCH(size_kernel, blocks, P3D_LDI_THREADS, 0, ctx->stream)(d_label, n, d_size);
    P3D_CUDA_LAUNCH_CHECK(ctx, "LDI build sizes");
    P3D_LAUNCH(largest_kernel, blocks, P3D_LDI_THREADS, 0, ctx->stream)(d_label, d_size, n, d_best);
    P3D_CUDA_LAUNCH_CHECK(ctx, "LDI build largest");
    P3D_LAUNCH(keep_kernel, blocks, P3D_LDI_THREADS, 0, ctx->stream)(
        d_label, d_size, d_best, n, o->min_component, d_keep, d_counts);
    P3D_CUDA_LAUNCH_CHECK(ctx, "LDI build keep");
    int32_t counts[3];
    P3D_TRY(p3d_cuda_memcpy_d2h(ctx, right, d_right, un));
    P3D_TRY(p3d_cuda_memcpy_d2h(ctx, down, d_down, un));
    P3D_TRY(p3d_cuda_memcpy_d2h(ctx, label, d_label, un * sizeof(int32_t)));
    P3D_TRY(p3d_cuda_memcpy_d2h(ctx, keep, d_keep, un));
    P3D_TRY(p3d_cuda_memcpy_d2h(ctx, counts, d_counts, sizeof counts));
    st->torn_links = counts[0];
    st->dangling_links = counts[1];
    st->small_components = counts[2];
    return P3D_OK;
}

extern "C" p3d_status p3d_ldi_build_links_cuda(p3d_cuda_ctx *ctx, const float *depth, int32_t w, int32_t h,
                                               const p3d_ldi_opts *o, uint8_t *right, uint8_t *down, int32_t *label,
                                               uint8_t *keep, p3d_ldi_build_stats *st) {
    ldi_pool pl = {ctx, {nullptr}, 0};
    const p3d_status s = build_run(&pl, depth, w, h, o, right, down, label, keep, st);
    pool_free(&pl);
    return s;
}

// ---- the LDI on the device ------------------------------------------------------------------------

extern "C" void p3d_ldi_dev_free(p3d_cuda_ctx *ctx, p3d_ldi_dev *d) {
    p3d_cuda_free(ctx, d->view.pix);
    p3d_cuda_free(ctx, d->view.depth);
    p3d_cuda_free(ctx, d->view.iter);
    p3d_cuda_free(ctx, d->view.link);
    p3d_cuda_free(ctx, d->view.next);
    p3d_cuda_free(ctx, d->view.head);
    memset(d, 0, sizeof *d);
}

static p3d_status dev_grow(p3d_cuda_ctx *ctx, p3d_ldi_dev *d, int32_t cap, int64_t cap_pixels) {
    p3d_ldi *v = &d->view;
    if (cap > v->cap_nodes) {
        const size_t c = static_cast<size_t>(cap);
        p3d_cuda_free(ctx, v->pix), p3d_cuda_free(ctx, v->depth), p3d_cuda_free(ctx, v->iter);
        p3d_cuda_free(ctx, v->link), p3d_cuda_free(ctx, v->next);
        v->pix = nullptr, v->depth = nullptr, v->iter = nullptr, v->link = nullptr, v->next = nullptr;
        v->cap_nodes = 0;
        void *p[5] = {nullptr, nullptr, nullptr, nullptr, nullptr};
        P3D_TRY(p3d_cuda_malloc(ctx, c * sizeof(int32_t), &p[0]));
        v->pix = static_cast<int32_t *>(p[0]);
        P3D_TRY(p3d_cuda_malloc(ctx, c * sizeof(float), &p[1]));
        v->depth = static_cast<float *>(p[1]);
        P3D_TRY(p3d_cuda_malloc(ctx, c, &p[2]));
        v->iter = static_cast<uint8_t *>(p[2]);
        P3D_TRY(p3d_cuda_malloc(ctx, c * 4 * sizeof(int32_t), &p[3]));
        v->link = static_cast<int32_t *>(p[3]);
        P3D_TRY(p3d_cuda_malloc(ctx, c * sizeof(int32_t), &p[4]));
        v->next = static_cast<int32_t *>(p[4]);
        v->cap_nodes = cap;
    }
    if (cap_pixels > d->cap_pixels) {
        p3d_cuda_free(ctx, v->head);
        v->head = nullptr;
        d->cap_pixels = 0;
        void *p = nullptr;
        P3D_TRY(p3d_cuda_malloc(ctx, static_cast<size_t>(cap_pixels) * sizeof(int32_t), &p));
        v->head = static_cast<int32_t *>(p);
        d->cap_pixels = cap_pixels;
    }
    return P3D_OK;
}

extern "C" p3d_status p3d_ldi_dev_upload(p3d_cuda_ctx *ctx, p3d_ldi_dev *d, const p3d_ldi *l) {
    const int64_t npix = static_cast<int64_t>(l->ext_w) * l->ext_h;
    P3D_TRY(dev_grow(ctx, d, l->n_nodes > 0 ? l->n_nodes : 1, npix));
    p3d_ldi *v = &d->view;
    const size_t n = static_cast<size_t>(l->n_nodes);
    if (n) {
        P3D_TRY(p3d_cuda_memcpy_h2d(ctx, v->pix, l->pix, n * sizeof(int32_t)));
        P3D_TRY(p3d_cuda_memcpy_h2d(ctx, v->depth, l->depth, n * sizeof(float)));
        P3D_TRY(p3d_cuda_memcpy_h2d(ctx, v->iter, l->iter, n));
        P3D_TRY(p3d_cuda_memcpy_h2d(ctx, v->link, l->link, n * 4 * sizeof(int32_t)));
        P3D_TRY(p3d_cuda_memcpy_h2d(ctx, v->next, l->next, n * sizeof(int32_t)));
    }
    P3D_TRY(p3d_cuda_memcpy_h2d(ctx, v->head, l->head, static_cast<size_t>(npix) * sizeof(int32_t)));
    v->width = l->width, v->height = l->height, v->border = l->border;
    v->ext_w = l->ext_w, v->ext_h = l->ext_h, v->cam = l->cam;
    v->n_nodes = l->n_nodes;
    v->rgb = nullptr, v->label = nullptr;
    return P3D_OK;
}

// ---- edges ----------------------------------------------------------------------------------------

static __global__ void role_kernel(const p3d_ldi l, const p3d_ldi_box box, uint8_t *role) {
    const int64_t i = LDI_INDEX();
    if (i < l.n_nodes) role[i] = p3d_ldi_role(&l, &box, static_cast<int32_t>(i));
}

// The edge graph: each node with a role unites with its edge-graph neighbours and records their
// number (the cleanup's degree); nodes without a role have degree 0.
typedef struct edge_graph {
    p3d_ldi l;
    const uint8_t *role;
    float thr;
    uint8_t *degree;
    __device__ void hook(int32_t a, int32_t *label) const {
        int32_t k = 0;
        if (role[a]) {
            int32_t nb[8];
            k = p3d_ldi_edge_neighbours(&l, role, a, thr, nb);
            for (int32_t j = 0; j < k; j++) uf_unite(label, a, nb[j]);
        }
        degree[a] = static_cast<uint8_t>(k);
    }
} edge_graph;

// root[a] = 1 for the smallest node of each edge component; root[n] = 0 so the exclusive sum's last
// entry is the number of edges.
static __global__ void edge_roots_kernel(const uint8_t *role, const int32_t *label, int32_t n, int32_t *root) {
    const int64_t i = LDI_INDEX();
    if (i <= n) root[i] = i < n && role[i] && label[i] == i;
}

static __global__ void edge_assign_kernel(const uint8_t *role, const int32_t *label, const int32_t *ids, int32_t n,
                                          int32_t *edge, int32_t *size, uint8_t *near) {
    const int64_t i = LDI_INDEX();
    if (i >= n) return;
    if (!role[i]) {
        edge[i] = -1;
        return;
    }
    const int32_t e = ids[label[i]];
    edge[i] = e;
    atomicAdd(&size[e], 1);
    if (label[i] == i) near[e] = role[i] == P3D_LDI_ROLE_NEAR; // every node of an edge has its role
}

static p3d_status edges_run(ldi_pool *pl, const p3d_ldi *l, const p3d_ldi_box *box, float thr, p3d_ldi_edges *out,
                            uint8_t *role, uint8_t *degree, p3d_ldi_dev *dev) {
    p3d_cuda_ctx *ctx = pl->ctx;
    const int32_t n = l->n_nodes;
    const size_t un = static_cast<size_t>(n);
    out->n_edges = 0;
    out->near = static_cast<uint8_t *>(calloc(un + 1, 1));
    out->size = static_cast<int32_t *>(calloc(un + 1, sizeof(int32_t)));
    if (!out->near || !out->size) return p3d_fail(P3D_ERR_OOM, "LDI edges (cuda): out of host memory");
    if (n == 0) return P3D_OK;
    P3D_TRY(p3d_ldi_dev_upload(ctx, dev, l));
    uint8_t *d_role, *d_degree, *d_near;
    int32_t *d_label, *d_root, *d_ids, *d_edge, *d_size;
    P3D_TRY(pool_get(pl, un, &d_role));
    P3D_TRY(pool_get(pl, un, &d_degree));
    P3D_TRY(pool_get(pl, un, &d_near));
    P3D_TRY(pool_get(pl, un, &d_label));
    P3D_TRY(pool_get(pl, un + 1, &d_root));
    P3D_TRY(pool_get(pl, un + 1, &d_ids));
    P3D_TRY(pool_get(pl, un, &d_edge));
    P3D_TRY(pool_get(pl, un, &d_size));
    size_t scan_bytes = 0;
    P3D_CUDA_CHECK(cub::DeviceScan::ExclusiveSum(nullptr, scan_bytes, static_cast<const int32_t *>(d_root), d_ids,
                                                 static_cast<int64_t>(n) + 1, ctx->stream));
    uint8_t *d_scan;
    P3D_TRY(pool_get(pl, scan_bytes, &d_scan));
    P3D_CUDA_CHECK(cudaMemsetAsync(d_size, 0, un * sizeof(int32_t), ctx->stream));
    P3D_CUDA_CHECK(cudaMemsetAsync(d_near, 0, un, ctx->stream));
    const p3d_ldi v = dev->view;
    const unsigned blocks = ldi_blocks(n);
    P3D_LAUNCH(role_kernel, blocks, P3D_LDI_THREADS, 0, ctx->stream)(v, *box, d_role);
    P3D_CUDA_LAUNCH_CHECK(ctx, "LDI edges roles");
    const edge_graph graph = {v, d_role, thr, d_degree};
    P3D_TRY(uf_components(ctx, graph, n, d_label, "LDI edges components"));
    P3D_LAUNCH(edge_roots_kernel, ldi_blocks(static_cast<int64_t>(n) + 1), P3D_LDI_THREADS, 0, ctx->stream)(
        d_role, d_label, n, d_root);
    P3D_CUDA_LAUNCH_CHECK(ctx, "LDI edges roots");
    P3D_CUDA_CHECK(cub::DeviceScan::ExclusiveSum(d_scan, scan_bytes, static_cast<const int32_t *>(d_root), d_ids,
                                                 static_cast<int64_t>(n) + 1, ctx->stream));
    P3D_LAUNCH(edge_assign_kernel, blocks, P3D_LDI_THREADS, 0, ctx->stream)(
        d_role, d_label, d_ids, n, d_edge, d_size, d_near);
    P3D_CUDA_LAUNCH_CHECK(ctx, "LDI edges ids");
    int32_t n_edges = 0;
    P3D_TRY(p3d_cuda_memcpy_d2h(ctx, &n_edges, d_ids + n, sizeof n_edges));
    P3D_TRY(p3d_cuda_memcpy_d2h(ctx, out->edge, d_edge, un * sizeof(int32_t)));
    P3D_TRY(p3d_cuda_memcpy_d2h(ctx, role, d_role, un));
    P3D_TRY(p3d_cuda_memcpy_d2h(ctx, degree, d_degree, un));
    P3D_TRY(p3d_cuda_memcpy_d2h(ctx, out->near, d_near, static_cast<size_t>(n_edges)));
    P3D_TRY(p3d_cuda_memcpy_d2h(ctx, out->size, d_size, static_cast<size_t>(n_edges) * sizeof(int32_t)));
    out->n_edges = n_edges;
    return P3D_OK;
}

extern "C" p3d_status p3d_ldi_edges_cuda(p3d_cuda_ctx *ctx, const p3d_ldi *l, const p3d_ldi_box *box, float threshold,
                                         p3d_ldi_edges *out, uint8_t *role, uint8_t *degree) {
    ldi_pool pl = {ctx, {nullptr}, 0};
    p3d_ldi_dev dev;
    memset(&dev, 0, sizeof dev);
    const p3d_status s = edges_run(&pl, l, box, threshold, out, role, degree, &dev);
    p3d_ldi_dev_free(ctx, &dev);
    pool_free(&pl);
    return s;
}

// ---- regions --------------------------------------------------------------------------------------

// The per-node state of the ring search (device arrays of n nodes).
typedef struct ring_state {
    int32_t *mask_edge, *ctx_edge, *mask_ring, *ctx_ring, *claim;
} ring_state;

// Offers node b to edge e: claim keeps the smallest offer; the first offer of b (the one that sees
// INT_MAX) appends b to the list.
static __device__ void offer(int32_t *claim, int32_t *list, int32_t *n_list, int32_t b, int32_t e) {
    if (atomicMin(&claim[b], e) == INT_MAX) list[atomicAdd(n_list, 1)] = b;
}

// Ring 0 of the masks: the near-side edge nodes, listed as the first mask frontier.
static __global__ void ring0_kernel(const int32_t *edge, const uint8_t *near, int32_t n_edge_nodes, int32_t n,
                                    ring_state r, int32_t *mf, int32_t *n_mf) {
    const int64_t i = LDI_INDEX();
    if (i >= n) return;
    const int32_t a = static_cast<int32_t>(i);
    const int32_t id = p3d_ldi_ring0_edge(edge, near, n_edge_nodes, a);
    r.mask_edge[a] = id;
    r.ctx_edge[a] = -1;
    r.claim[a] = INT_MAX;
    if (id < 0) return;
    r.mask_ring[a] = 0;
    mf[atomicAdd(n_mf, 1)] = a;
}

// Ring 0 of the contexts: each ring-0 mask node offers the nodes at the pixels beyond its unlinked
// sides.
static __global__ void ctx0_offer_kernel(const p3d_ldi l, ring_state r, uint8_t mask_iter, const int32_t *mf,
                                         int32_t n_mf, int32_t *list, int32_t *n_list) {
    const int64_t i = LDI_INDEX();
    if (i >= n_mf) return;
    const int32_t a = mf[i], x = p3d_ldi_x(&l, a), y = p3d_ldi_y(&l, a);
    for (int32_t d = 0; d < 4; d++) {
        const int32_t lk = l.link[4 * static_cast<size_t>(a) + d];
        const int32_t px = x + p3d_dir_dx(d), py = y + p3d_dir_dy(d);
        if (px < 0 || py < 0 || px >= l.ext_w || py >= l.ext_h) continue;
        for (int32_t b = l.head[py * l.ext_w + px]; b >= 0; b = l.next[b])
            if (b != lk && p3d_ldi_ctx0_takes(&l, r.mask_edge, mask_iter, a, b))
                offer(r.claim, list, n_list, b, r.mask_edge[a]);
    }
}

static __global__ void mask_offer_kernel(const p3d_ldi l, ring_state r, uint8_t mask_iter, int32_t ring,
                                         const int32_t *mf, int32_t n_mf, int32_t *list, int32_t *n_list) {
    const int64_t i = LDI_INDEX();
    if (i >= n_mf) return;
    const int32_t a = mf[i], id = r.mask_edge[a];
    for (int32_t d = 0; d < 4; d++) {
        const int32_t b = l.link[4 * static_cast<size_t>(a) + d];
        if (p3d_ldi_mask_takes(&l, r.mask_edge, r.ctx_edge, mask_iter, ring, b, id))
            offer(r.claim, list, n_list, b, id);
    }
}

static __global__ void ctx_offer_kernel(const p3d_ldi l, ring_state r, const int32_t *cf, int32_t n_cf,
                                        int32_t *list, int32_t *n_list) {
    const int64_t i = LDI_INDEX();
    if (i >= n_cf) return;
    const int32_t a = cf[i], id = r.ctx_edge[a];
    for (int32_t d = 0; d < 4; d++) {
        const int32_t b = l.link[4 * static_cast<size_t>(a) + d];
        if (p3d_ldi_ctx_takes(r.mask_edge, r.ctx_edge, b, id)) offer(r.claim, list, n_list, b, id);
    }
}

// Commits the listed offers (*n_list of them; the launch covers an upper bound) into edge / ring_of
// and releases their claims. The list then serves as the next frontier.
static __global__ void commit_kernel(int32_t *claim, const int32_t *list, const int32_t *n_list, int32_t *edge,
                                     int32_t *ring_of, int32_t ring) {
    const int64_t i = LDI_INDEX();
    if (i >= *n_list) return;
    const int32_t b = list[i];
    edge[b] = claim[b];
    ring_of[b] = ring;
    claim[b] = INT_MAX;
}

static __global__ void region_count_kernel(int32_t n, ring_state r, int32_t bg, int32_t ct, int32_t *n_mask,
                                           int32_t *n_ctx, int32_t *ring_count) {
    const int64_t i = LDI_INDEX();
    if (i >= n) return;
    int32_t me = r.mask_edge[i];
    if (me >= 0) me = r.mask_edge[i] = p3d_ldi_mask_final(me, r.mask_ring[i], bg);
    if (me >= 0) atomicAdd(&n_mask[me], 1);
    const int32_t ce = r.ctx_edge[i];
    if (ce >= 0) {
        atomicAdd(&n_ctx[ce], 1);
        atomicAdd(&ring_count[static_cast<size_t>(ce) * (static_cast<size_t>(ct) + 1) + r.ctx_ring[i]], 1);
    }
}

static __global__ void erode_width_kernel(const int32_t *ring_count, const int32_t *n_ctx, int32_t ne, int32_t ct,
                                          int32_t dilate, int32_t *width) {
    const int64_t i = LDI_INDEX();
    if (i < ne)
        width[i] = p3d_ldi_erode_width(ring_count + static_cast<size_t>(i) * (static_cast<size_t>(ct) + 1), ct, dilate,
                                       n_ctx[i]);
}

static __global__ void erode_kernel(int32_t n, ring_state r, const int32_t *width, uint8_t *erode) {
    const int64_t i = LDI_INDEX();
    if (i >= n) return;
    const int32_t ce = r.ctx_edge[i];
    erode[i] = ce >= 0 && r.ctx_ring[i] < width[ce];
}

// Commits the *d_count offers in *list (at most `bound`) into edge / ring_of, then makes the list the
// next frontier; the old frontier's buffer becomes the list of the next step.
static p3d_status commit_step(p3d_cuda_ctx *ctx, int32_t *claim, const int32_t *d_count, int64_t bound, int32_t *edge,
                              int32_t *ring_of, int32_t ring, int32_t **frontier, int32_t **list) {
    P3D_LAUNCH(commit_kernel, ldi_blocks(bound), P3D_LDI_THREADS, 0, ctx->stream)(
        claim, *list, d_count, edge, ring_of, ring);
    P3D_CUDA_LAUNCH_CHECK(ctx, "LDI regions commit");
    int32_t *t = *frontier;
    *frontier = *list;
    *list = t;
    return P3D_OK;
}

// Upper bound on the offers of a ring from a frontier of k nodes (each offers its <= 4 links).
static inline int64_t offer_bound(int64_t k, int32_t n) { return 4 * k < n ? 4 * k : n; }

static p3d_status regions_run(ldi_pool *pl, const p3d_ldi *l, const p3d_ldi_edges *e, const p3d_ldi_ring_plan *plan,
                              p3d_ldi_regions *out, p3d_ldi_dev *dev) {
    p3d_cuda_ctx *ctx = pl->ctx;
    const int32_t n = l->n_nodes, ne = e->n_edges;
    if (n == 0) return P3D_OK;
    const size_t un = static_cast<size_t>(n), une = static_cast<size_t>(ne);
    const size_t stride = static_cast<size_t>(plan->ct) + 1;
    P3D_TRY(p3d_ldi_dev_upload(ctx, dev, l));
    ring_state r;
    int32_t *d_edge, *mf, *cf, *list, *d_counts, *d_n_mask, *d_n_ctx, *d_ring_count, *d_width;
    uint8_t *d_near, *d_erode;
    P3D_TRY(pool_get(pl, un, &r.mask_edge));
    P3D_TRY(pool_get(pl, un, &r.ctx_edge));
    P3D_TRY(pool_get(pl, un, &r.mask_ring));
    P3D_TRY(pool_get(pl, un, &r.ctx_ring));
    P3D_TRY(pool_get(pl, un, &r.claim));
    P3D_TRY(pool_get(pl, un, &mf));
    P3D_TRY(pool_get(pl, un, &cf));
    P3D_TRY(pool_get(pl, un, &list));
    P3D_TRY(pool_get(pl, 2, &d_counts)); // [0] offers of the mask step, [1] of the context step
    P3D_TRY(pool_get(pl, static_cast<size_t>(e->n_nodes), &d_edge));
    P3D_TRY(pool_get(pl, une, &d_near));
    P3D_TRY(pool_get(pl, une, &d_n_mask));
    P3D_TRY(pool_get(pl, une, &d_n_ctx));
    P3D_TRY(pool_get(pl, une * stride, &d_ring_count));
    P3D_TRY(pool_get(pl, une, &d_width));
    P3D_TRY(pool_get(pl, un, &d_erode));
    if (e->n_nodes > 0) P3D_TRY(p3d_cuda_memcpy_h2d(ctx, d_edge, e->edge, static_cast<size_t>(e->n_nodes) * sizeof(int32_t)));
    if (ne > 0) P3D_TRY(p3d_cuda_memcpy_h2d(ctx, d_near, e->near, une));
    P3D_CUDA_CHECK(cudaMemsetAsync(d_counts, 0, 2 * sizeof(int32_t), ctx->stream));
    P3D_CUDA_CHECK(cudaMemsetAsync(d_n_mask, 0, (une ? une : 1) * sizeof(int32_t), ctx->stream));
    P3D_CUDA_CHECK(cudaMemsetAsync(d_n_ctx, 0, (une ? une : 1) * sizeof(int32_t), ctx->stream));
    P3D_CUDA_CHECK(cudaMemsetAsync(d_ring_count, 0, (une ? une * stride : 1) * sizeof(int32_t), ctx->stream));
    P3D_CUDA_CHECK(cudaMemsetAsync(d_erode, 0, un, ctx->stream));
    const p3d_ldi v = dev->view;
    const unsigned blocks = ldi_blocks(n);
    P3D_LAUNCH(ring0_kernel, blocks, P3D_LDI_THREADS, 0, ctx->stream)(
        d_edge, d_near, e->n_nodes, n, r, mf, &d_counts[0]);
    P3D_CUDA_LAUNCH_CHECK(ctx, "LDI regions ring 0");
    int32_t counts[2] = {0, 0};
    P3D_TRY(p3d_cuda_memcpy_d2h(ctx, counts, d_counts, sizeof counts));
    int64_t n_mf = counts[0], n_cf = 0;
    P3D_CUDA_CHECK(cudaMemsetAsync(d_counts, 0, 2 * sizeof(int32_t), ctx->stream));
    if (n_mf > 0) {
        P3D_LAUNCH(ctx0_offer_kernel, ldi_blocks(n_mf), P3D_LDI_THREADS, 0, ctx->stream)(v, r, plan->mask_iter, mf,
                                                                              static_cast<int32_t>(n_mf), list,
                                                                              &d_counts[1]);
        P3D_CUDA_LAUNCH_CHECK(ctx, "LDI regions context ring 0");
        P3D_TRY(commit_step(ctx, r.claim, &d_counts[1], n, r.ctx_edge, r.ctx_ring, 0, &cf, &list));
        P3D_TRY(p3d_cuda_memcpy_d2h(ctx, counts, d_counts, sizeof counts));
        n_cf = counts[1];
    }
    for (int32_t ring = 1; ring < plan->rings; ring++) {
        P3D_CUDA_CHECK(cudaMemsetAsync(d_counts, 0, 2 * sizeof(int32_t), ctx->stream));
        // mask step: reads ctx_edge as the previous context step left it
        if (n_mf > 0) {
            P3D_LAUNCH(mask_offer_kernel, ldi_blocks(n_mf), P3D_LDI_THREADS, 0, ctx->stream)(
                v, r, plan->mask_iter, ring, mf, static_cast<int32_t>(n_mf), list, &d_counts[0]);
            P3D_CUDA_LAUNCH_CHECK(ctx, "LDI regions mask ring");
            P3D_TRY(commit_step(ctx, r.claim, &d_counts[0], offer_bound(n_mf, n), r.mask_edge, r.mask_ring, ring, &mf,
                                &list));
        }
        // context step: reads mask_edge as this ring's mask step left it
        const int32_t grow_ctx = ring < plan->ct && n_cf > 0;
        if (grow_ctx) {
            P3D_LAUNCH(ctx_offer_kernel, ldi_blocks(n_cf), P3D_LDI_THREADS, 0, ctx->stream)(
                v, r, cf, static_cast<int32_t>(n_cf), list, &d_counts[1]);
            P3D_CUDA_LAUNCH_CHECK(ctx, "LDI regions context ring");
            P3D_TRY(commit_step(ctx, r.claim, &d_counts[1], offer_bound(n_cf, n), r.ctx_edge, r.ctx_ring, ring, &cf,
                                &list));
        }
        P3D_TRY(p3d_cuda_memcpy_d2h(ctx, counts, d_counts, sizeof counts));
        n_mf = counts[0];
        if (ring < plan->ct) n_cf = counts[1]; // the context stops growing after ct rings
        if (n_mf == 0 && (ring + 1 >= plan->ct || n_cf == 0)) break; // nothing left to grow
    }
    P3D_LAUNCH(region_count_kernel, blocks, P3D_LDI_THREADS, 0, ctx->stream)(
        n, r, plan->bg, plan->ct, d_n_mask, d_n_ctx, d_ring_count);
    P3D_CUDA_LAUNCH_CHECK(ctx, "LDI regions counts");
    if (plan->dilate > 0 && ne > 0) {
        P3D_LAUNCH(erode_width_kernel, ldi_blocks(ne), P3D_LDI_THREADS, 0, ctx->stream)(
            d_ring_count, d_n_ctx, ne, plan->ct, plan->dilate, d_width);
        P3D_CUDA_LAUNCH_CHECK(ctx, "LDI regions erosion widths");
        P3D_LAUNCH(erode_kernel, blocks, P3D_LDI_THREADS, 0, ctx->stream)(n, r, d_width, d_erode);
        P3D_CUDA_LAUNCH_CHECK(ctx, "LDI regions erosion");
    }
    P3D_TRY(p3d_cuda_memcpy_d2h(ctx, out->mask_edge, r.mask_edge, un * sizeof(int32_t)));
    P3D_TRY(p3d_cuda_memcpy_d2h(ctx, out->ctx_edge, r.ctx_edge, un * sizeof(int32_t)));
    P3D_TRY(p3d_cuda_memcpy_d2h(ctx, out->erode, d_erode, un));
    if (ne > 0) {
        P3D_TRY(p3d_cuda_memcpy_d2h(ctx, out->n_mask, d_n_mask, une * sizeof(int32_t)));
        P3D_TRY(p3d_cuda_memcpy_d2h(ctx, out->n_ctx, d_n_ctx, une * sizeof(int32_t)));
    }
    return P3D_OK;
}

extern "C" p3d_status p3d_ldi_regions_cuda(p3d_cuda_ctx *ctx, const p3d_ldi *l, const p3d_ldi_edges *e,
                                           const p3d_ldi_ring_plan *plan, p3d_ldi_regions *out) {
    ldi_pool pl = {ctx, {nullptr}, 0};
    p3d_ldi_dev dev;
    memset(&dev, 0, sizeof dev);
    const p3d_status s = regions_run(&pl, l, e, plan, out, &dev);
    p3d_ldi_dev_free(ctx, &dev);
    pool_free(&pl);
    return s;
}
