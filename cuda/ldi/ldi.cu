// ldi.cu - CUDA twins of the LDI graph stages (host/ldi/ldi_build.c, host/ldi/ldi_edges.c,
// host/ldi/ldi_regions.c): data-parallel passes over the flat LDI arrays, deciding each element with
// the P3D_HD rules of ldi_graph_math.h, so the results equal the CPU's bit for bit.
//
//   build    one thread per pixel: the depth map (the depth stage's result on the device, a border's
//            ring refreshed: p3d_ldi_ring_depth), tear flags, then the dangling pass from a copy of
//            them; connected components by lock-free union-find (a root is hooked under the smaller root with
//            atomicCAS, so every root is the smallest pixel of its tree: labels = smallest pixel
//            index, the CPU union-find's), sizes by atomicAdd, the largest component by a 64-bit
//            atomicMax of (size, -label), keep flags; then the island refill (ldi_refill.cu: islands
//            by the same union-find over the links between dropped pixels, the vote, the rings).
//   edges    one thread per node: role, edge-graph neighbours (hooked the same way: labels = smallest
//            node), then a prefix sum over the roots gives edge ids in node order (the CPU numbers
//            edges in the order of their smallest node), sizes by atomicAdd.
//   regions  the ring search with per-ring frontier lists: an offer kernel per frontier node, the
//            smallest edge id kept per candidate by atomicMin on a claim array (the first offer of a
//            candidate, which sees INT_MAX, lists it), a commit kernel that turns the offer list into
//            the next frontier. Frontier order differs from the CPU's and does not matter: a claim is
//            the minimum over all offers, and every rule reads only what earlier steps committed.
//            Counts per edge by atomicAdd, erosion widths per edge, erode flags per node.
//
// Device residency (issue 14). p3d_ldi_run holds one device copy of the LDI's arrays (pix, depth,
// iter, link, next, head and the colours, rgb) for the whole image, at the bottom of the context's arena
// (p3d_ldi_cuda_resident_begin / _end); every launcher carves its own buffers above it and releases them
// on return, so nothing is allocated per image once the arena holds an image of this size.
//   - The build reads the prepared depth where the depth stage left it on the device (p3d_ldi_run's
//     depth_dev, the photo's staging slot, filtered there by pipeline/photo3d.c; build_depth_kernel applies the ring refresh there), so the map
//     goes up once, for the depth stage, not again for the build. It writes the input layer (after
//     the island refill, which runs on the device too) into the copy on the device (grid_ldi_kernel,
//     the rule of ldi_build_math.h), its colours from the photo, which went up once in the same
//     staging slot (p3d_ldi_cuda_resident_photo); the host writes the same arrays into its shadow of
//     the copy.
//   - The cleanup's link edits are made in the copy on the device (cleanup_run: its first edge search
//     and the edits, each pixel pair decided from the links before any edit by the rules of
//     ldi_graph_math.h, so the threads' order does not matter): back come the counts and the list of
//     edits (4 bytes each; not the first search's roles and degrees), which the host makes in its LDI
//     and its shadow, so nothing goes up for them.
//   - The host stages between the device stages (border extrapolation, the inpainting write-back)
//     still edit the host LDI. Before each device stage the
//     copy is brought up to date with those edits only: each array is compared with the shadow in
//     256-byte chunks, and the chunks that changed or hold appended nodes go up in one packed copy
//     (chunk_scatter_kernel puts them in place). A stage on an unchanged LDI moves nothing up.
//   - The nodes the border and an inpainting pass append are made in the copy on the device instead
//     (p3d_ldi_border_nodes_cuda, p3d_ldi_pass_nodes_cuda): up go their depths and colours (and a
//     pass's links to older nodes and its pixels, as its patches' masks, 1 bit a crop pixel, whose
//     prefix sum on the device gives each node its pixel: p3d_ldi_pass_masks; a pass's colours stay on
//     the device when the fill left them there: p3d_ldi_colour_run); the device writes the nodes, inserts them into the pixel lists and replays
//     link_new one pixel pair at a time (ldi_graph_math.h); the shadow then takes the host's arrays.
//     P3D_LDI_RESIDENT_CHECK=1 downloads the copy after each and compares it with the host's.
//   - Results come back compacted: the build's links as two bits a pixel and the dropped pixels with
//     their refilled depths (the host has every other pixel's depth: the prepared map),
//     the edges as the list of nodes with a role, the regions as the lists of mask and context nodes;
//     the edge ids go up as the list of edge nodes. The host expands them into its per-node arrays.
//   - An LDI that outgrows the copy (3/2 nodes a canvas pixel, p3d_ldi_cuda_plan's estimate), or a
//     launcher called without an image in progress (tests, single stages), gets a whole copy in the
//     launcher's own buffers, as before.
// Each launcher fetches its results with one or two blocking copies (a small header with the list
// lengths, then the lists); the regions loop keeps the frontier lengths on the device and reads them back
// only after rings 0, 2, 4, 8, ... (see regions_run).
// The non-learned fill's patch inputs and labels are made from the copy (cuda/ldi/ldi_sources.cu): up
// goes one byte a patch pixel, or half a byte where every pixel's fits (its crop flags - context,
// erosion ring, mask, the border's node - and its node's layer at the pixel, p3d_ldi_src_code,
// p3d_ldi_src_nibble); the device reads the colours and depths there, runs the
// fill's source rules (host/ldi/ldi_sources_math.h: the occluder's surface flooded to its fixed point,
// support, the seam, the colour test, the colour sources; the host runs the same rules for its own
// part of the fill) and writes the labels, builds the rest of the workspace (host/inpaint/fill_gather.h),
// and sends back only the mask pixels' results. Before, the labels (1 byte a pixel, from the host's
// rules) and one layer byte per context pixel went up (cuda/ldi/ldi_gather.cu, still the way for a
// patch with a node deeper than P3D_LDI_SRC_MAX_LAYER). A patch whose context the copy does not hold yet
// (the border's corners, whose context is the sides' new nodes) goes up packed, its labels too.
// Not yet on the device: the patch crop's maps (region
// maps, border strips: their flags go up), the non-learned fill's depth growth, the learned fill's inputs and
// the placement of new nodes behind the layers (host stages over the host LDI; the host computes each
// new node, the device rebuilds the graph from it). Moon at 960, emulated device, per image: h2d
// 12.4 MB with the labels made on the device from the patches' codes (15.4 MB before: 15,371,594 ->
// 12,425,772 bytes, 14,132,935 with a byte a pixel; the sample 11,017,628 -> 9,458,878; d2h and the 36
// host waits unchanged), 15.5 MB with a pass's colours from the fill's results on the device, 15.8 MB
// after the gather (19.0 MB before it: the photo then never went up; 23.2 MB with the photo up and the patches still packed;
// all measured before the refill moved to the device); earlier, on main of ed9b999 with the depth
// hand-over, 20.0 MB: the depth map 3.7 MB (for the depth stage), the cleanup's link edits 0.1 MB (and
// the island refill's 0.1 MB, now made on the device), the border 6.7 MB (its strips'
// labels and packed context, its nodes' depths), the regions' edge lists 0.1 MB, inpainting pass 1
// 6.1 MB (patches, then its nodes) and pass 2 3.4 MB (patches); d2h 19.9 MB (19.2 MB now): the prepared depth 3.7 MB
// (the host's LDI takes every pixel's depth: the host stages and the CPU mesh read it), the build's
// flags and labels 0.9 MB (now its links, 0.23 MB, and the dropped pixels, 8 bytes each: h2d 18.9 MB,
// d2h 18.5 MB in all), the border's fill results 5.7 MB, the regions 3.4 + 2.6 MB, the passes' fill
// results 2.0 + 1.5 MB. With the cleanup's edits made on the device (on the tree before the labels moved
// there): h2d 15,371,594 -> 15,366,842 bytes,
// d2h 18,494,616 -> 18,457,360 (the first search's roles and degrees no longer come back), 36 host waits
// (the sample: h2d 11,017,628 unchanged, d2h 15,667,640 -> 15,616,700, 36 -> 35 waits: no edits to fetch);
// then with the first pass's pixels from its patches' masks h2d 15,101,684 (the sample 10,388,726), both
// on that tree; with the labels on the device too (main a7ec2f7): h2d 12,425,772 -> 12,155,862 (the
// sample 9,458,878 -> 8,829,976).
#include <climits>
#include <cstdlib>
#include <cstring>

#include <cub/device/device_scan.cuh>

#include "ldi/ldi_build_math.h"
#include "ldi/ldi_gather_math.h"
#include "ldi/ldi_graph_math.h"
#include "ldi/ldi_refill.h"
#include "ldi/ldi_stages.h"
#include "p3d_cuda_check.h"

#define P3D_LDI_THREADS 256

// Device buffers of one launcher call: carved from the context's arena (p3d_cuda_arena_*, no
// cudaMalloc once the arena holds an image of this size) and released to the launcher's mark together,
// on every path.
typedef struct ldi_pool {
    p3d_cuda_ctx *ctx;
    p3d_cuda_arena_mark mark;
} ldi_pool;

static ldi_pool pool_open(p3d_cuda_ctx *ctx) {
    ldi_pool pl = {ctx, p3d_cuda_arena_mark_get(ctx)};
    return pl;
}

template <class T>
static p3d_status pool_get(ldi_pool *pl, size_t count, T **out) {
    void *p = nullptr;
    P3D_TRY(p3d_cuda_arena_get(pl->ctx, (count ? count : 1) * sizeof(T), &p));
    *out = static_cast<T *>(p);
    return P3D_OK;
}

static void pool_free(ldi_pool *pl) { p3d_cuda_arena_release(pl->ctx, pl->mark); }

// Arrays a launcher returns to the host lie in one block (one pool_get), so one blocking copy fetches
// them all (p3d_cuda_download_span). carve() lays the block out: each array at a 64-byte aligned offset.
static size_t carve(size_t *at, size_t bytes) {
    const size_t off = *at;
    *at += (bytes + 63) / 64 * 64;
    return off;
}

template <class T>
static void take(const void *host_block, size_t off, size_t count, T *dst) {
    if (count) memcpy(dst, static_cast<const unsigned char *>(host_block) + off, count * sizeof(T));
}

// The two blocking copies of a packed result (the edges' and the regions'): its header {a, b} (two
// counts the pack kernel wrote), then the block the counts size. ok(a, b) says whether the counts are
// possible (a broken device fails naming `what` with them, before any count sizes a copy); layout(a, b)
// gives the block's layout, whose .bytes come back. *h: the block on the host, valid until the next copy.
template <class Ok, class Layout, class L>
static p3d_status fetch_packed(p3d_cuda_ctx *ctx, const int32_t *d_hdr, const unsigned char *d_pack, const char *what,
                               Ok ok, Layout layout, int32_t hdr[2], L *lay, const unsigned char **h) {
    const void *host = nullptr;
    P3D_TRY(p3d_cuda_download_span(ctx, d_hdr, 2 * sizeof(int32_t), &host));
    take(host, 0, 2, hdr);
    if (!ok(hdr[0], hdr[1])) return p3d_fail(P3D_ERR_DEVICE, "%s (cuda): device counts %d and %d", what, (int)hdr[0], (int)hdr[1]);
    *lay = layout(hdr[0], hdr[1]);
    P3D_TRY(p3d_cuda_download_span(ctx, d_pack, lay->bytes, &host));
    *h = static_cast<const unsigned char *>(host);
    return P3D_OK;
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

// The build's results come back packed: the links as two bits a pixel (pixel i in byte i / 4, bits
// 2 (i % 4) right and 2 (i % 4) + 1 down, after the island refill), then the dropped pixels (raster
// order) and their refilled depths (the host takes every other pixel's depth from its own map, and
// needs the links for its LDI). need = dropped, for the list of them.
static __global__ void build_flag_kernel(const uint8_t *right, const uint8_t *down, int32_t n, uint8_t *bits) {
    const int64_t j = LDI_INDEX();
    if (j >= (static_cast<int64_t>(n) + 3) / 4) return;
    uint8_t b = 0;
    for (int32_t k = 0; k < 4; k++) {
        const int64_t i = 4 * j + k;
        if (i < n) b = static_cast<uint8_t>(b | right[i] << (2 * k) | down[i] << (2 * k + 1));
    }
    bits[j] = b;
}

static __global__ void build_need_kernel(const uint8_t *keep, int32_t n, int32_t *need) {
    const int64_t i = LDI_INDEX();
    if (i <= n) need[i] = i < n && !keep[i];
}

// list (m): the dropped pixels in raster order (the refill then puts their depths after them, at
// list + m); pos = exclusive sum of need; counts[3] = m.
static __global__ void build_list_kernel(const int32_t *need, const int32_t *pos, int32_t n, int32_t *list,
                                         int32_t *counts) {
    const int64_t i = LDI_INDEX();
    if (i >= n) return;
    if (i == 0) counts[3] = pos[n];
    if (need[i]) list[pos[i]] = static_cast<int32_t>(i);
}

// The islands of the refill: 4-links between dropped pixels (keep 0); a kept pixel stays alone.
typedef struct island_graph {
    const uint8_t *keep;
    int32_t w, h;
    __device__ void hook(int32_t a, int32_t *label) const {
        if (keep[a]) return;
        if (a % w + 1 < w && !keep[a + 1]) uf_unite(label, a, a + 1);
        if (a / w + 1 < h && !keep[a + w]) uf_unite(label, a, a + w);
    }
} island_graph;

// The resident device LDI (below): the build writes the input layer into it.
static p3d_status resident_build(p3d_cuda_ctx *ctx, const p3d_ldi *l, const float *d_depth, const uint8_t *d_right,
                                 const uint8_t *d_down, int *written);
static void resident_adopt_build(p3d_cuda_ctx *ctx, const p3d_ldi *l, const float *depth, const uint8_t *right,
                                 const uint8_t *down);
static p3d_status resident_check_build(p3d_cuda_ctx *ctx, const p3d_ldi *l);

// The depth map the build tears, from the prepared depth the depth stage left on the device (issue 14):
// one thread per pixel, the outermost ring refreshed when the LDI has a border (p3d_ldi_ring_depth, the
// host build's rule), a copy elsewhere.
static __global__ void build_depth_kernel(const float *src, int32_t w, int32_t h, int32_t refresh, float *dst) {
    const int64_t i = LDI_INDEX();
    if (i >= static_cast<int64_t>(w) * h) return;
    const int32_t u = static_cast<int32_t>(i % w), v = static_cast<int32_t>(i / w);
    dst[i] = refresh ? p3d_ldi_ring_depth(src, w, h, u, v) : src[i];
}

static p3d_status build_run(ldi_pool *pl, const p3d_ldi *l, float *depth, const float *depth_dev,
                            const p3d_ldi_opts *o, uint8_t *right, uint8_t *down, p3d_ldi_build_stats *st) {
    p3d_cuda_ctx *ctx = pl->ctx;
    const int32_t w = l->width, h = l->height, n = w * h;
    const size_t un = static_cast<size_t>(n);
    float *d_depth;
    uint8_t *d_r0, *d_d0, *d_right, *d_down, *d_keep, *out;
    int32_t *d_label, *d_island, *d_size, *d_counts, *d_need, *d_pos, *d_list;
    unsigned long long *d_best;
    // fetched together: the links (2 bits a pixel) and counts[8] (torn, dangling, dropped components, dropped
    // pixels, then the refill's: refilled, unreachable, its last ring's fills)
    size_t at = 0;
    const size_t o_bits = carve(&at, (un + 3) / 4), o_counts = carve(&at, 8 * sizeof(int32_t)), out_bytes = at;
    P3D_TRY(pool_get(pl, out_bytes, &out));
    d_counts = reinterpret_cast<int32_t *>(out + o_counts);
    P3D_TRY(pool_get(pl, un, &d_right));
    P3D_TRY(pool_get(pl, un, &d_down));
    P3D_TRY(pool_get(pl, un, &d_keep));
    P3D_TRY(pool_get(pl, un, &d_label));
    P3D_TRY(pool_get(pl, un, &d_island));
    P3D_TRY(pool_get(pl, un, &d_depth));
    P3D_TRY(pool_get(pl, un, &d_r0));
    P3D_TRY(pool_get(pl, un, &d_d0));
    P3D_TRY(pool_get(pl, un, &d_size));
    P3D_TRY(pool_get(pl, 1, &d_best));
    P3D_TRY(pool_get(pl, un + 1, &d_need));
    P3D_TRY(pool_get(pl, un + 1, &d_pos));
    P3D_TRY(pool_get(pl, 2 * un, &d_list));
    size_t scan_bytes = 0;
    P3D_CUDA_CHECK(cub::DeviceScan::ExclusiveSum(nullptr, scan_bytes, static_cast<const int32_t *>(d_need), d_pos,
                                                 static_cast<int64_t>(n) + 1, ctx->stream));
    uint8_t *d_scan;
    P3D_TRY(pool_get(pl, scan_bytes, &d_scan));
    const unsigned blocks = ldi_blocks(n);
    if (depth_dev) {
        P3D_LAUNCH(build_depth_kernel, blocks, P3D_LDI_THREADS, 0, ctx->stream)(
            depth_dev, w, h, l->border > 0 && w >= 3 && h >= 3, d_depth);
        P3D_CUDA_LAUNCH_CHECK(ctx, "LDI build depth");
    } else {
        P3D_TRY(p3d_cuda_memcpy_h2d(ctx, d_depth, depth, un * sizeof(float)));
    }
    P3D_CUDA_CHECK(cudaMemsetAsync(d_counts, 0, 8 * sizeof(int32_t), ctx->stream));
    P3D_CUDA_CHECK(cudaMemsetAsync(d_size, 0, un * sizeof(int32_t), ctx->stream));
    P3D_CUDA_CHECK(cudaMemsetAsync(d_best, 0, sizeof(unsigned long long), ctx->stream));
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
    // the island refill (ldi_refill.cu) over the list of dropped pixels and their islands
    P3D_LAUNCH(build_need_kernel, ldi_blocks(static_cast<int64_t>(n) + 1), P3D_LDI_THREADS, 0, ctx->stream)(
        d_keep, n, d_need);
    P3D_CUDA_LAUNCH_CHECK(ctx, "LDI build dropped pixels");
    P3D_CUDA_CHECK(cub::DeviceScan::ExclusiveSum(d_scan, scan_bytes, static_cast<const int32_t *>(d_need), d_pos,
                                                 static_cast<int64_t>(n) + 1, ctx->stream));
    P3D_LAUNCH(build_list_kernel, blocks, P3D_LDI_THREADS, 0, ctx->stream)(d_need, d_pos, n, d_list, d_counts);
    P3D_CUDA_LAUNCH_CHECK(ctx, "LDI build dropped pixels");
    const island_graph islands = {d_keep, w, h};
    P3D_TRY(uf_components(ctx, islands, n, d_island, "LDI build islands"));
    p3d_ldi_refill_dev R;
    memset(&R, 0, sizeof R);
    R.w = w, R.h = h, R.thr = o->depth_threshold;
    R.keep = d_keep, R.label = d_label, R.island = d_island, R.list = d_list, R.n_list = d_counts + 3;
    R.depth = d_depth, R.right = d_right, R.down = d_down, R.counts = d_counts + 4;
    P3D_TRY(p3d_ldi_refill_cuda_open(ctx, &R));
    // Rounds of rings until the last ring of a round filled nothing (one round unless an island needs
    // more than P3D_LDI_REFILL_RINGS rings); each round ends with the input layer and the results.
    const void *host = nullptr;
    int32_t counts[8];
    int written = 0;
    for (;;) {
        P3D_TRY(p3d_ldi_refill_cuda_rings(ctx, &R));
        P3D_LAUNCH(build_flag_kernel, ldi_blocks((static_cast<int64_t>(n) + 3) / 4), P3D_LDI_THREADS, 0, ctx->stream)(
            d_right, d_down, n, out + o_bits);
        P3D_CUDA_LAUNCH_CHECK(ctx, "LDI build pack");
        P3D_TRY(resident_build(ctx, l, d_depth, d_right, d_down, &written));
        P3D_TRY(p3d_cuda_download_span(ctx, out, out_bytes, &host));
        take(host, o_counts, 8, counts);
        if (counts[6] == 0) break;
        if (R.next_ring > n + 1)
            return p3d_fail(P3D_ERR_DEVICE, "LDI build (cuda): the refill still fills pixels after %d rings",
                            (int)R.next_ring - 1);
    }
    const uint8_t *bits = static_cast<const uint8_t *>(host) + o_bits;
    for (size_t i = 0; i < un; i++) {
        right[i] = bits[i / 4] >> (2 * (i % 4)) & 1;
        down[i] = bits[i / 4] >> (2 * (i % 4) + 1) & 1;
    }
    const int32_t m = counts[3];
    if (m < 0 || m > n) return p3d_fail(P3D_ERR_DEVICE, "LDI build (cuda): %d dropped pixels listed of %d", (int)m, (int)n);
    if (m > 0) {
        P3D_TRY(p3d_cuda_download_span(ctx, d_list, 2 * static_cast<size_t>(m) * sizeof(int32_t), &host));
        const int32_t *list = static_cast<const int32_t *>(host);
        const float *list_depth = reinterpret_cast<const float *>(list + m);
        for (int32_t k = 0; k < m; k++) {
            if (list[k] < 0 || list[k] >= n || (k && list[k] <= list[k - 1]))
                return p3d_fail(P3D_ERR_DEVICE, "LDI build (cuda): dropped pixel %d listed at %d", (int)list[k], (int)k);
            depth[list[k]] = list_depth[k];
        }
    }
    if (written) {
        resident_adopt_build(ctx, l, depth, right, down);
        P3D_TRY(resident_check_build(ctx, l));
    }
    st->torn_links = counts[0];
    st->dangling_links = counts[1];
    st->small_components = counts[2];
    st->refilled_pixels = counts[4];
    st->unreachable_pixels = counts[5];
    return P3D_OK;
}

extern "C" p3d_status p3d_ldi_build_links_cuda(p3d_cuda_ctx *ctx, const p3d_ldi *l, float *depth,
                                               const float *depth_dev, const p3d_ldi_opts *o, uint8_t *right,
                                               uint8_t *down, p3d_ldi_build_stats *st) {
    ldi_pool pl = pool_open(ctx);
    const p3d_status s = build_run(&pl, l, depth, depth_dev, o, right, down, st);
    pool_free(&pl);
    return s;
}

// ---- the LDI on the device ------------------------------------------------------------------------

// Copies l's graph arrays into v, whose arrays hold at least l->n_nodes nodes and ext_w * ext_h heads.
static p3d_status dev_copy(p3d_cuda_ctx *ctx, p3d_ldi *v, const p3d_ldi *l) {
    const int64_t npix = static_cast<int64_t>(l->ext_w) * l->ext_h;
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

// The launchers' copy of the LDI: its arrays carved from the launcher's pool (arena memory), so an
// LDI upload allocates nothing once the arena is large enough.
static p3d_status dev_upload_pool(ldi_pool *pl, p3d_ldi *v, const p3d_ldi *l) {
    const size_t n = static_cast<size_t>(l->n_nodes), npix = static_cast<size_t>(l->ext_w) * l->ext_h;
    memset(v, 0, sizeof *v);
    P3D_TRY(pool_get(pl, n, &v->pix));
    P3D_TRY(pool_get(pl, n, &v->depth));
    P3D_TRY(pool_get(pl, n, &v->iter));
    P3D_TRY(pool_get(pl, 4 * n, &v->link));
    P3D_TRY(pool_get(pl, n, &v->next));
    P3D_TRY(pool_get(pl, npix, &v->head));
    v->cap_nodes = l->n_nodes;
    return dev_copy(pl->ctx, v, l);
}

// ---- the resident device LDI ----------------------------------------------------------------------
// Between p3d_ldi_cuda_resident_begin and _end (one image) the device holds one copy of the LDI's graph
// arrays at the bottom of the arena, below every launcher's buffers, and the stages work on it. The
// host stages between them (the border extrapolation, the inpainting write-back) still edit the host
// LDI, so before each stage the copy is brought up to date
// with what changed since the last stage, not uploaded whole: the host keeps a shadow of exactly the
// bytes the device holds; each array is compared with it in chunks of P3D_LDI_CHUNK bytes, and the
// chunks that differ (or lie past the nodes already sent) go up packed in one copy of at most
// P3D_LDI_PACK_CHUNKS chunks, which chunk_scatter_kernel writes into place. The appended nodes of a pass
// and the chunks of the nodes they linked to are all that moves; an unchanged LDI moves nothing.
#define P3D_LDI_CHUNK 256
#define P3D_LDI_PACK_CHUNKS 16384 // 4 MB of payload a copy
#define P3D_LDI_ARRAYS 7          // pix, depth, iter, link, next, head, rgb (the head array: index 5)

typedef struct ldi_resident {
    p3d_cuda_arena_mark mark; // the arena below the copy: _end releases to it
    int32_t cap_nodes;
    int32_t ext_w, ext_h;     // the canvas of the copy
    int32_t n_synced;         // nodes the copy holds (-1: nothing yet)
    size_t off[P3D_LDI_ARRAYS], bytes;
    unsigned char *dev;       // the copy: the arrays at off[], each a multiple of P3D_LDI_CHUNK long
    unsigned char *shadow;    // host: the bytes dev holds, same layout
    unsigned char *pack;      // host staging: offsets (P3D_LDI_PACK_CHUNKS) i64, then the chunks
    unsigned char *d_pack;    // device staging, same layout
    const uint8_t *photo_dev; // the photo (h, w, 3) on the device, for the build's colours (or NULL)
    const uint8_t *photo;     // the same photo on the host, for the shadow
} ldi_resident;

static const size_t ldi_elem[P3D_LDI_ARRAYS] = {4, 4, 1, 16, 4, 4, 3};

static size_t chunk_round(size_t b) { return (b + P3D_LDI_CHUNK - 1) / P3D_LDI_CHUNK * P3D_LDI_CHUNK; }

// One thread per 4-byte word of the n packed chunks: chunk c goes to dev + offsets[c].
static __global__ void chunk_scatter_kernel(const int64_t *offsets, const uint32_t *chunks, int32_t n,
                                            unsigned char *dev) {
    const int64_t w = LDI_INDEX();
    const int64_t words = P3D_LDI_CHUNK / 4;
    if (w >= static_cast<int64_t>(n) * words) return;
    const int64_t c = w / words, k = w % words;
    reinterpret_cast<uint32_t *>(dev + offsets[c])[k] = chunks[w];
}

static p3d_status resident_flush(p3d_cuda_ctx *ctx, ldi_resident *R, int32_t n) {
    if (n == 0) return P3D_OK;
    const size_t idx = P3D_LDI_PACK_CHUNKS * sizeof(int64_t);
    P3D_TRY(p3d_cuda_memcpy_h2d(ctx, R->d_pack, R->pack, static_cast<size_t>(n) * sizeof(int64_t)));
    P3D_TRY(p3d_cuda_memcpy_h2d(ctx, R->d_pack + idx, R->pack + idx, static_cast<size_t>(n) * P3D_LDI_CHUNK));
    const int64_t words = static_cast<int64_t>(n) * (P3D_LDI_CHUNK / 4);
    P3D_LAUNCH(chunk_scatter_kernel, ldi_blocks(words), P3D_LDI_THREADS, 0, ctx->stream)(
        reinterpret_cast<const int64_t *>(R->d_pack), reinterpret_cast<const uint32_t *>(R->d_pack + idx), n, R->dev);
    P3D_CUDA_LAUNCH_CHECK(ctx, "LDI resident update");
    return P3D_OK;
}

// Brings the copy up to date with l (see above). The host staging is reused after each flush: a copy
// from pageable memory has read its source when cudaMemcpyAsync returns, and the next flush's copy into
// d_pack is queued after the scatter that reads it.
static p3d_status resident_sync(p3d_cuda_ctx *ctx, ldi_resident *R, const p3d_ldi *l) {
    if (l->ext_w != R->ext_w || l->ext_h != R->ext_h || R->n_synced > l->n_nodes) R->n_synced = -1;
    const size_t npix = static_cast<size_t>(l->ext_w) * l->ext_h;
    const void *src[P3D_LDI_ARRAYS] = {l->pix, l->depth, l->iter, l->link, l->next, l->head, l->rgb};
    const size_t idx = P3D_LDI_PACK_CHUNKS * sizeof(int64_t);
    int32_t k = 0;
    for (int32_t a = 0; a < P3D_LDI_ARRAYS; a++) {
        const size_t count = a == 5 ? npix : static_cast<size_t>(l->n_nodes);
        const size_t old = R->n_synced < 0 ? 0 : a == 5 ? npix : static_cast<size_t>(R->n_synced);
        const size_t used = count * ldi_elem[a], known = old * ldi_elem[a];
        const unsigned char *h = static_cast<const unsigned char *>(src[a]);
        unsigned char *sh = R->shadow + R->off[a];
        for (size_t lo = 0; lo < used; lo += P3D_LDI_CHUNK) {
            const size_t len = used - lo < P3D_LDI_CHUNK ? used - lo : P3D_LDI_CHUNK;
            if (lo + len <= known && memcmp(h + lo, sh + lo, len) == 0) continue;
            // the chunk past the used bytes is zero on both sides (the copy's arrays are chunk multiples)
            memcpy(sh + lo, h + lo, len);
            if (len < P3D_LDI_CHUNK) memset(sh + lo + len, 0, P3D_LDI_CHUNK - len);
            reinterpret_cast<int64_t *>(R->pack)[k] = static_cast<int64_t>(R->off[a] + lo);
            memcpy(R->pack + idx + static_cast<size_t>(k) * P3D_LDI_CHUNK, sh + lo, P3D_LDI_CHUNK);
            if (++k == P3D_LDI_PACK_CHUNKS) {
                P3D_TRY(resident_flush(ctx, R, k));
                k = 0;
            }
        }
    }
    P3D_TRY(resident_flush(ctx, R, k));
    R->n_synced = l->n_nodes;
    R->ext_w = l->ext_w, R->ext_h = l->ext_h;
    return P3D_OK;
}

static void resident_view(const ldi_resident *R, const p3d_ldi *l, p3d_ldi *v) {
    memset(v, 0, sizeof *v);
    v->pix = reinterpret_cast<int32_t *>(R->dev + R->off[0]);
    v->depth = reinterpret_cast<float *>(R->dev + R->off[1]);
    v->iter = R->dev + R->off[2];
    v->link = reinterpret_cast<int32_t *>(R->dev + R->off[3]);
    v->next = reinterpret_cast<int32_t *>(R->dev + R->off[4]);
    v->head = reinterpret_cast<int32_t *>(R->dev + R->off[5]);
    v->rgb = R->dev + R->off[6];
    v->width = l->width, v->height = l->height, v->border = l->border;
    v->ext_w = l->ext_w, v->ext_h = l->ext_h, v->cam = l->cam;
    v->n_nodes = l->n_nodes, v->cap_nodes = R->cap_nodes;
}

static void resident_free(p3d_cuda_ctx *ctx, ldi_resident *R) {
    if (!R) return;
    p3d_cuda_arena_release(ctx, R->mark);
    free(R->shadow);
    free(R->pack);
    free(R);
}

extern "C" void p3d_ldi_cuda_resident_end(p3d_cuda_ctx *ctx) {
    if (!ctx || !ctx->ldi_resident) return;
    ldi_resident *R = static_cast<ldi_resident *>(ctx->ldi_resident);
    ctx->ldi_resident = nullptr;
    resident_free(ctx, R);
}

extern "C" p3d_status p3d_ldi_cuda_resident_begin(p3d_cuda_ctx *ctx, int32_t w, int32_t h, const p3d_ldi_opts *o) {
    p3d_ldi_cuda_resident_end(ctx);
    ldi_resident *R = static_cast<ldi_resident *>(calloc(1, sizeof *R));
    if (!R) return p3d_fail(P3D_ERR_OOM, "LDI (cuda): out of host memory");
    const size_t px = static_cast<size_t>(w + 2 * o->border) * static_cast<size_t>(h + 2 * o->border);
    const size_t cap = px + px / 2; // p3d_ldi_cuda_plan's estimate; a larger LDI goes up whole per stage
    R->cap_nodes = static_cast<int32_t>(cap < INT32_MAX ? cap : INT32_MAX);
    R->n_synced = -1;
    R->mark = p3d_cuda_arena_mark_get(ctx);
    size_t at = 0;
    for (int32_t a = 0; a < P3D_LDI_ARRAYS; a++) {
        R->off[a] = at;
        at += chunk_round((a == 5 ? px : static_cast<size_t>(R->cap_nodes)) * ldi_elem[a]);
    }
    R->bytes = at;
    const size_t pack_bytes = P3D_LDI_PACK_CHUNKS * (sizeof(int64_t) + P3D_LDI_CHUNK);
    void *d = nullptr, *dp = nullptr;
    p3d_status st = p3d_cuda_arena_get(ctx, R->bytes, &d);
    if (st == P3D_OK) st = p3d_cuda_arena_get(ctx, pack_bytes, &dp);
    R->dev = static_cast<unsigned char *>(d);
    R->d_pack = static_cast<unsigned char *>(dp);
    R->shadow = static_cast<unsigned char *>(malloc(R->bytes));
    R->pack = static_cast<unsigned char *>(malloc(pack_bytes));
    if (st == P3D_OK && (!R->shadow || !R->pack)) st = p3d_fail(P3D_ERR_OOM, "LDI (cuda): out of host memory");
    if (st != P3D_OK) {
        resident_free(ctx, R);
        return st;
    }
    ctx->ldi_resident = R;
    return P3D_OK;
}

// Sets the photo the build's input layer takes its colours from (p3d_ldi_cuda_resident_photo).
extern "C" void p3d_ldi_cuda_resident_photo(p3d_cuda_ctx *ctx, const uint8_t *rgb, const uint8_t *rgb_dev) {
    ldi_resident *R = static_cast<ldi_resident *>(ctx->ldi_resident);
    if (!R) return;
    R->photo = rgb_dev ? rgb : nullptr;
    R->photo_dev = rgb ? rgb_dev : nullptr;
}

// The build's input layer, written on the device from the grid (ldi_build_math.h): one thread per
// canvas pixel writes its head, and, for the first w * h, node i of image pixel i with its colour from
// the photo on the device (photo: NULL gives 0, which the first sync then replaces).
static __global__ void grid_ldi_kernel(const float *depth, const uint8_t *photo, const uint8_t *right,
                                       const uint8_t *down, int32_t w, int32_t h, int32_t border, int32_t ext_w,
                                       int64_t npix, p3d_ldi v) {
    const int64_t i = LDI_INDEX();
    if (i >= npix) return;
    v.head[i] = p3d_ldi_grid_head(static_cast<int32_t>(i), w, h, border, ext_w);
    if (i >= static_cast<int64_t>(w) * h) return;
    const int32_t a = static_cast<int32_t>(i);
    v.pix[a] = p3d_ldi_grid_node(right, down, w, a % w, a / w, border, ext_w, v.link + 4 * static_cast<size_t>(a));
    v.depth[a] = depth[a];
    p3d_ldi_grid_rgb(photo, a, v.rgb + 3 * static_cast<size_t>(a));
    v.iter[a] = 0;
    v.next[a] = -1;
}

static int resident_fits(const ldi_resident *R, const p3d_ldi *l, int32_t n_nodes) {
    return R && n_nodes <= R->cap_nodes && static_cast<size_t>(l->ext_w) * l->ext_h * 4 <= R->off[6] - R->off[5];
}

static p3d_status resident_build(p3d_cuda_ctx *ctx, const p3d_ldi *l, const float *d_depth, const uint8_t *d_right,
                                 const uint8_t *d_down, int *written) {
    ldi_resident *R = static_cast<ldi_resident *>(ctx->ldi_resident);
    *written = 0;
    const int32_t n = l->width * l->height;
    if (!resident_fits(R, l, n)) return P3D_OK;
    p3d_ldi v;
    resident_view(R, l, &v);
    const int64_t npix = static_cast<int64_t>(l->ext_w) * l->ext_h;
    P3D_LAUNCH(grid_ldi_kernel, ldi_blocks(npix), P3D_LDI_THREADS, 0, ctx->stream)(
        d_depth, R->photo_dev, d_right, d_down, l->width, l->height, l->border, l->ext_w, npix, v);
    P3D_CUDA_LAUNCH_CHECK(ctx, "LDI build nodes");
    R->n_synced = -1; // the shadow is not the copy until resident_adopt_build
    *written = 1;
    return P3D_OK;
}

// The host twin of grid_ldi_kernel, into the shadow: the shadow then holds what the device wrote, so the
// next sync sends only what the island refill and the host stages change.
static void resident_adopt_build(p3d_cuda_ctx *ctx, const p3d_ldi *l, const float *depth, const uint8_t *right,
                                 const uint8_t *down) {
    ldi_resident *R = static_cast<ldi_resident *>(ctx->ldi_resident);
    const int32_t w = l->width, h = l->height, n = w * h;
    const size_t npix = static_cast<size_t>(l->ext_w) * l->ext_h;
    int32_t *pix = reinterpret_cast<int32_t *>(R->shadow + R->off[0]);
    float *dep = reinterpret_cast<float *>(R->shadow + R->off[1]);
    uint8_t *iter = R->shadow + R->off[2];
    int32_t *link = reinterpret_cast<int32_t *>(R->shadow + R->off[3]);
    int32_t *next = reinterpret_cast<int32_t *>(R->shadow + R->off[4]);
    int32_t *head = reinterpret_cast<int32_t *>(R->shadow + R->off[5]);
    uint8_t *rgb = R->shadow + R->off[6];
    for (size_t p = 0; p < npix; p++) head[p] = p3d_ldi_grid_head(static_cast<int32_t>(p), w, h, l->border, l->ext_w);
    for (int32_t a = 0; a < n; a++) {
        pix[a] = p3d_ldi_grid_node(right, down, w, a % w, a / w, l->border, l->ext_w, link + 4 * static_cast<size_t>(a));
        dep[a] = depth[a];
        p3d_ldi_grid_rgb(R->photo, a, rgb + 3 * static_cast<size_t>(a));
        iter[a] = 0;
        next[a] = -1;
    }
    R->n_synced = n;
    R->ext_w = l->ext_w, R->ext_h = l->ext_h;
}

// The LDI a launcher works on (device arrays in v): the resident copy brought up to date when an image
// is in progress and l fits it, else a copy of l in the launcher's pool.
static p3d_status ldi_view(ldi_pool *pl, p3d_ldi *v, const p3d_ldi *l) {
    ldi_resident *R = static_cast<ldi_resident *>(pl->ctx->ldi_resident);
    if (!resident_fits(R, l, l->n_nodes)) return dev_upload_pool(pl, v, l);
    P3D_TRY(resident_sync(pl->ctx, R, l));
    resident_view(R, l, v);
    return P3D_OK;
}

extern "C" p3d_status p3d_ldi_cuda_resident_sync(p3d_cuda_ctx *ctx, const p3d_ldi *l) {
    ldi_resident *R = static_cast<ldi_resident *>(ctx->ldi_resident);
    return resident_fits(R, l, l->n_nodes) ? resident_sync(ctx, R, l) : P3D_OK;
}

// The copy as a device view when it holds l's nodes as last synced or made on the device (the gather:
// cuda/ldi/ldi_gather.cu). The host stages append nodes whenever they change the lists, so a copy
// synced at l->n_nodes holds l's lists, colours and depths.
extern "C" int p3d_ldi_cuda_resident_current(p3d_cuda_ctx *ctx, const p3d_ldi *l, p3d_ldi *v) {
    const ldi_resident *R = static_cast<const ldi_resident *>(ctx->ldi_resident);
    if (!resident_fits(R, l, l->n_nodes) || R->n_synced != l->n_nodes || R->ext_w != l->ext_w || R->ext_h != l->ext_h)
        return 0;
    resident_view(R, l, v);
    return 1;
}

// ---- the border's nodes on the device --------------------------------------------------------------
// The border extrapolation (host/ldi/ldi_inpaint.c) adds one node at every pixel of its strips' masks,
// strip after strip, each mask in raster order, onto empty pixels, then joins them (link_new). The
// device makes the same nodes in its copy from their depths alone (4 bytes a node instead of the
// 29 bytes of graph arrays, and the chunks of the links and heads they change, that the sync would send):
// node first + k is entry k of the masks' scan (the rects' start offsets, an exclusive sum of their
// areas, computed on the host: at most 8 rects), and the links are link_new's, replayed one pixel pair at
// a time (p3d_ldi_new_link_pair). The host's shadow then takes the host's arrays as they are: the
// copy equals them (P3D_LDI_RESIDENT_CHECK=1 in the environment downloads the copy and compares).

// rects: (x0, y0, x1, y1) per rect, then the rects' start offsets (n_rects + 1).
static __global__ void border_node_kernel(p3d_ldi v, int32_t first, const int32_t *rects, int32_t n_rects,
                                          const float *depth, const uint8_t *rgb, int32_t m) {
    const int64_t k = LDI_INDEX();
    if (k >= m) return;
    const int32_t *start = rects + 4 * n_rects;
    int32_t r = 0;
    while (r + 1 < n_rects && start[r + 1] <= k) r++;
    const int32_t *b = rects + 4 * r, rw = b[2] - b[0], i = static_cast<int32_t>(k) - start[r];
    const int32_t a = first + static_cast<int32_t>(k), p = (b[1] + i / rw) * v.ext_w + b[0] + i % rw;
    v.pix[a] = p;
    v.depth[a] = depth[k];
    for (int32_t c = 0; c < 3; c++) v.rgb[3 * static_cast<int64_t>(a) + c] = rgb[3 * k + c];
    v.iter[a] = 0;
    v.next[a] = -1;
    for (int32_t d = 0; d < 4; d++) v.link[4 * static_cast<int64_t>(a) + d] = -1;
    v.head[p] = a;
}

// link_new over the m new nodes from first, one thread per (node, direction): the pair's replay.
static __global__ void new_link_kernel(p3d_ldi v, int32_t first, int32_t m, uint8_t iter, float thr) {
    const int64_t t = LDI_INDEX();
    if (t >= 4 * static_cast<int64_t>(m)) return;
    p3d_ldi_new_link_pair(&v, first, first + static_cast<int32_t>(t / 4), static_cast<int32_t>(t % 4), iter, thr);
}

// The host's arrays into the shadow, once the copy holds them.
static void resident_adopt(ldi_resident *R, const p3d_ldi *l) {
    const void *src[P3D_LDI_ARRAYS] = {l->pix, l->depth, l->iter, l->link, l->next, l->head, l->rgb};
    const size_t npix = static_cast<size_t>(l->ext_w) * l->ext_h;
    for (int32_t a = 0; a < P3D_LDI_ARRAYS; a++)
        memcpy(R->shadow + R->off[a], src[a], (a == 5 ? npix : static_cast<size_t>(l->n_nodes)) * ldi_elem[a]);
    R->n_synced = l->n_nodes;
}

// P3D_LDI_RESIDENT_CHECK=1 in the environment: the steps that write the copy on the device compare it
// with what the host holds after them (tests).
static int resident_check_on() {
    const char *check = getenv("P3D_LDI_RESIDENT_CHECK");
    return check && check[0] == '1';
}

// The copy against the arrays src (n nodes, npix heads), array by array (a check for tests: one blocking
// download of the whole copy, its arrays at their offsets); `whose` names src in the message.
static p3d_status resident_compare(p3d_cuda_ctx *ctx, const ldi_resident *R, const void *const *src, size_t n,
                                   size_t npix, const char *whose) {
    static const char *const names[P3D_LDI_ARRAYS] = {"pix", "depth", "iter", "link", "next", "head", "rgb"};
    const void *block = nullptr;
    P3D_TRY(p3d_cuda_download_span(ctx, R->dev, R->off[6] + n * ldi_elem[6], &block));
    for (int32_t a = 0; a < P3D_LDI_ARRAYS; a++) {
        const size_t count = a == 5 ? npix : n;
        const unsigned char *host = static_cast<const unsigned char *>(block) + R->off[a];
        for (size_t i = 0; i < count; i++)
            if (memcmp(host + i * ldi_elem[a], static_cast<const unsigned char *>(src[a]) + i * ldi_elem[a],
                       ldi_elem[a]) != 0)
                return p3d_fail(P3D_ERR_DEVICE, "LDI (cuda): the device copy's %s differs from the %s at element %zu",
                                names[a], whose, i);
    }
    return P3D_OK;
}

// The build's input layer on the device against the shadow's, which the host wrote with the same rule
// from its own depth map (resident_adopt_build): the check of the device-side depth (build_depth_kernel).
static p3d_status resident_check_build(p3d_cuda_ctx *ctx, const p3d_ldi *l) {
    const ldi_resident *R = static_cast<const ldi_resident *>(ctx->ldi_resident);
    if (!resident_check_on()) return P3D_OK;
    const void *src[P3D_LDI_ARRAYS];
    for (int32_t a = 0; a < P3D_LDI_ARRAYS; a++) src[a] = R->shadow + R->off[a];
    return resident_compare(ctx, R, src, static_cast<size_t>(l->width) * l->height,
                            static_cast<size_t>(l->ext_w) * l->ext_h, "host's input layer");
}

// The copy against l.
static p3d_status resident_check(p3d_cuda_ctx *ctx, const ldi_resident *R, const p3d_ldi *l) {
    const void *src[P3D_LDI_ARRAYS] = {l->pix, l->depth, l->iter, l->link, l->next, l->head, l->rgb};
    return resident_compare(ctx, R, src, static_cast<size_t>(l->n_nodes), static_cast<size_t>(l->ext_w) * l->ext_h,
                            "host's");
}

// 1 when l's nodes [first, n_nodes) are the rects' pixels in order, each the only node at its pixel.
static int border_nodes_match(const p3d_ldi *l, int32_t first, const int32_t *rects, int32_t n_rects) {
    int32_t a = first;
    for (int32_t r = 0; r < n_rects; r++)
        for (int32_t y = rects[4 * r + 1]; y < rects[4 * r + 3]; y++)
            for (int32_t x = rects[4 * r]; x < rects[4 * r + 2]; x++, a++) {
                const int32_t p = y * l->ext_w + x;
                if (a >= l->n_nodes || l->pix[a] != p || l->head[p] != a || l->next[a] != -1 || l->iter[a] != 0) return 0;
            }
    return a == l->n_nodes;
}

extern "C" p3d_status p3d_ldi_border_nodes_cuda(p3d_cuda_ctx *ctx, const p3d_ldi *l, int32_t first, const int32_t *rects,
                                                int32_t n_rects, float thr, int32_t *made) {
    ldi_resident *R = static_cast<ldi_resident *>(ctx->ldi_resident);
    if (made) *made = 0;
    if (n_rects < 1 || n_rects > 8 || !resident_fits(R, l, l->n_nodes) || R->n_synced != first || R->ext_w != l->ext_w ||
        R->ext_h != l->ext_h || !border_nodes_match(l, first, rects, n_rects))
        return P3D_OK; // the next stage's sync sends the border's nodes as chunks
    const int32_t m = l->n_nodes - first;
    int32_t hr[8 * 5 + 1];
    memcpy(hr, rects, static_cast<size_t>(n_rects) * 4 * sizeof(int32_t));
    hr[4 * n_rects] = 0;
    for (int32_t r = 0; r < n_rects; r++)
        hr[4 * n_rects + r + 1] = hr[4 * n_rects + r] + (rects[4 * r + 2] - rects[4 * r]) * (rects[4 * r + 3] - rects[4 * r + 1]);
    ldi_pool pl = pool_open(ctx);
    int32_t *d_rects = nullptr;
    float *d_depth = nullptr;
    uint8_t *d_rgb = nullptr;
    p3d_status st = pool_get(&pl, static_cast<size_t>(5 * n_rects + 1), &d_rects);
    if (st == P3D_OK) st = pool_get(&pl, static_cast<size_t>(m), &d_depth);
    if (st == P3D_OK) st = pool_get(&pl, 3 * static_cast<size_t>(m), &d_rgb);
    if (st == P3D_OK) st = p3d_cuda_memcpy_h2d(ctx, d_rects, hr, static_cast<size_t>(5 * n_rects + 1) * sizeof(int32_t));
    if (st == P3D_OK && m > 0) st = p3d_cuda_memcpy_h2d(ctx, d_depth, l->depth + first, static_cast<size_t>(m) * sizeof(float));
    if (st == P3D_OK && m > 0) st = p3d_cuda_memcpy_h2d(ctx, d_rgb, l->rgb + 3 * static_cast<size_t>(first), 3 * static_cast<size_t>(m));
    if (st == P3D_OK && m > 0) {
        p3d_ldi v;
        resident_view(R, l, &v);
        P3D_LAUNCH(border_node_kernel, ldi_blocks(m), P3D_LDI_THREADS, 0, ctx->stream)(v, first, d_rects, n_rects, d_depth, d_rgb, m);
        P3D_LAUNCH(new_link_kernel, ldi_blocks(4 * static_cast<int64_t>(m)), P3D_LDI_THREADS, 0, ctx->stream)(
            v, first, m, 0, thr);
        st = p3d_cuda_launch_check(ctx, "LDI border nodes");
    }
    pool_free(&pl);
    P3D_TRY(st);
    resident_adopt(R, l);
    if (made) *made = 1;
    return resident_check_on() ? resident_check(ctx, R, l) : P3D_OK;
}

// ---- an inpainting pass's nodes on the device -------------------------------------------------------
// A pass's write-back (host/ldi/ldi_inpaint.c) appends its nodes (iteration `iter`) behind the layers of
// their pixels, links each to the context nodes beside it (link_context) and joins them (link_new). The
// device makes the same nodes in its copy from their depths (4 bytes a node), their pixels and their links
// to older nodes (link_context's, 8 bytes a link, few: the seams), instead of the 29 bytes a node of graph
// arrays and the chunks of the lists and links they change:
//   - the pixels: the write-back appends the nodes patch after patch, each patch's mask in raster
//     order, so node first + r is the r-th set bit of the patches' masks laid end to end; up go the
//     masks as bits (p3d_ldi_pass_masks: 1 bit a crop pixel, each patch from a byte boundary) and the
//     crops, mask_count_kernel counts each byte's bits, a prefix sum places them and mask_pix_kernel
//     writes each node's pixel (pass_pixels); the pixels themselves (4 bytes a node) go up only when
//     the masks would not be fewer bytes or do not describe the nodes (masks_cover checks on the host);
//   - pass_node_kernel writes each node and drops it into an unordered bucket of its pixel (atomicExch
//     on a per-pixel head; the buckets' order does not matter);
//   - pass_insert_kernel: the bucket's smallest node inserts every node of the bucket into the pixel's
//     list by depth, as p3d_ldi_add_node does; the depths are distinct (the host made them so), so the
//     list is the host's whatever the order of insertion;
//   - link_list_kernel writes the links to older nodes (both slots), then new_link_kernel replays link_new.

static __global__ void pass_node_kernel(p3d_ldi v, int32_t first, int32_t m, const int32_t *pix, const float *depth,
                                        const uint8_t *rgb, uint8_t iter, int32_t *bucket, int32_t *bucket_next) {
    const int64_t k = LDI_INDEX();
    if (k >= m) return;
    const int32_t a = first + static_cast<int32_t>(k), p = pix[k];
    v.pix[a] = p;
    v.depth[a] = depth[k];
    if (rgb)
        for (int32_t c = 0; c < 3; c++) v.rgb[3 * static_cast<int64_t>(a) + c] = rgb[3 * k + c];
    v.iter[a] = iter;
    v.next[a] = -1;
    for (int32_t d = 0; d < 4; d++) v.link[4 * static_cast<int64_t>(a) + d] = -1;
    bucket_next[k] = atomicExch(&bucket[p], a);
}

static __global__ void pass_insert_kernel(p3d_ldi v, int32_t first, int32_t m, const int32_t *bucket,
                                          const int32_t *bucket_next) {
    const int64_t k = LDI_INDEX();
    if (k >= m) return;
    const int32_t a = first + static_cast<int32_t>(k), p = v.pix[a];
    for (int32_t b = bucket[p]; b >= 0; b = bucket_next[b - first])
        if (b < a) return; // the bucket's smallest node inserts them all
    for (int32_t b = bucket[p]; b >= 0; b = bucket_next[b - first]) {
        int32_t prev = -1, cur = v.head[p];
        while (cur >= 0 && v.depth[cur] < v.depth[b]) prev = cur, cur = v.next[cur];
        v.next[b] = cur;
        if (prev < 0) v.head[p] = b;
        else v.next[prev] = b;
    }
}

// The colours of the m new nodes from first where the fill left them on the device (runs, in node
// order, covering the nodes): one thread a node finds its run by bisection and stores its colour as the
// host's write-back does (p3d_ldi_colour_u8, ldi_gather_math.h).
static __global__ void run_colour_kernel(p3d_ldi v, int32_t first, int32_t m, const p3d_ldi_colour_run *runs,
                                         int32_t n_runs) {
    const int64_t k = LDI_INDEX();
    if (k >= m) return;
    const int32_t a = first + static_cast<int32_t>(k);
    int32_t lo = 0, hi = n_runs - 1;
    while (lo < hi) {
        const int32_t mid = (lo + hi + 1) / 2;
        if (runs[mid].first <= a) lo = mid;
        else hi = mid - 1;
    }
    const float *c = runs[lo].colours + 3 * static_cast<int64_t>(a - runs[lo].first);
    for (int32_t ch = 0; ch < 3; ch++) v.rgb[3 * static_cast<int64_t>(a) + ch] = p3d_ldi_colour_u8(c[ch]);
}

// 1 when runs (n_runs) cover the nodes [first, first + m) in order, each with its colours.
static int runs_cover(const p3d_ldi_colour_run *runs, int32_t n_runs, int32_t first, int32_t m) {
    if (!runs || n_runs < 1) return 0;
    int32_t at = first;
    for (int32_t r = 0; r < n_runs; r++) {
        if (runs[r].first != at || runs[r].count < 1 || !runs[r].colours) return 0;
        at += runs[r].count;
    }
    return at == first + m;
}

// links: (4 a + d, b) pairs, a new and b older.
static __global__ void link_list_kernel(p3d_ldi v, const int32_t *links, int32_t n_links) {
    const int64_t k = LDI_INDEX();
    if (k >= n_links) return;
    const int32_t slot = links[2 * k], a = slot / 4, d = slot % 4, b = links[2 * k + 1];
    v.link[slot] = b;
    v.link[4 * static_cast<int64_t>(b) + p3d_dir_opposite(d)] = a;
}

// The pass's pixels from its patches' masks (p3d_ldi_pass_masks): the bits of all patches, each patch's
// from a byte boundary, are the new nodes in order, so node first + r is the r-th set bit. cnt[t] = the
// set bits of byte t (cnt[nb] = 0), then the exclusive sum of cnt places each byte's nodes.
static __global__ void mask_count_kernel(const uint8_t *bits, int64_t nb, int32_t *cnt) {
    const int64_t t = LDI_INDEX();
    if (t <= nb) cnt[t] = t < nb ? __popc(static_cast<unsigned>(bits[t])) : 0;
}

// One thread per byte t of the bits (nb): its patch by bisection over at (n + 1 byte offsets), then the
// canvas pixel of each set bit into pix at pos[t] on.
static __global__ void mask_pix_kernel(const uint8_t *bits, int64_t nb, const int32_t *box, const int64_t *at,
                                       int32_t n, const int32_t *pos, int32_t ext_w, int32_t *pix) {
    const int64_t t = LDI_INDEX();
    if (t >= nb || !bits[t]) return;
    int32_t lo = 0, hi = n - 1;
    while (lo < hi) {
        const int32_t mid = (lo + hi + 1) / 2;
        if (at[mid] <= t) lo = mid;
        else hi = mid - 1;
    }
    const int32_t *b = box + 4 * lo;
    int32_t r = pos[t];
    for (int32_t j = 0; j < 8; j++) {
        if (!(bits[t] >> j & 1)) continue;
        const int64_t k = (t - at[lo]) * 8 + j;
        pix[r++] = (b[1] + static_cast<int32_t>(k / b[2])) * ext_w + b[0] + static_cast<int32_t>(k % b[2]);
    }
}

// 1 when the masks' set bits are exactly the pixels of l's nodes [first, n_nodes) in order (each patch's
// bits from a byte boundary, inside its byte range, its crop on the canvas) and take fewer bytes than
// the pixels would.
static int masks_cover(const p3d_ldi *l, int32_t first, const p3d_ldi_pass_masks *M) {
    if (!M || M->n < 1 || !M->box || !M->at || !M->bits || M->at[0] != 0) return 0;
    const int32_t m = l->n_nodes - first;
    if (M->at[M->n] + 16 * static_cast<int64_t>(M->n) >= 4 * static_cast<int64_t>(m)) return 0;
    int32_t a = first;
    for (int32_t i = 0; i < M->n; i++) {
        const int32_t *b = M->box + 4 * i;
        const int64_t area = static_cast<int64_t>(b[2]) * b[3];
        if (b[0] < 0 || b[1] < 0 || b[2] < 1 || b[3] < 1 || b[0] + b[2] > l->ext_w || b[1] + b[3] > l->ext_h ||
            M->at[i + 1] - M->at[i] != (area + 7) / 8)
            return 0;
        for (int64_t k = 0; k < area; k++) {
            if (!(M->bits[M->at[i] + k / 8] >> (k % 8) & 1)) continue;
            const int32_t p = (b[1] + static_cast<int32_t>(k / b[2])) * l->ext_w + b[0] + static_cast<int32_t>(k % b[2]);
            if (a >= l->n_nodes || l->pix[a] != p) return 0;
            a++;
        }
        for (int64_t k = area; k < (M->at[i + 1] - M->at[i]) * 8; k++)
            if (M->bits[M->at[i] + k / 8] >> (k % 8) & 1) return 0;
    }
    return a == l->n_nodes;
}

// The pixels of the m new nodes into d_pix: from the masks when masks_cover, else uploaded.
static p3d_status pass_pixels(ldi_pool *pl, const p3d_ldi *l, int32_t first, const p3d_ldi_pass_masks *M, int32_t *d_pix) {
    p3d_cuda_ctx *ctx = pl->ctx;
    const size_t um = static_cast<size_t>(l->n_nodes - first);
    if (!masks_cover(l, first, M)) return p3d_cuda_memcpy_h2d(ctx, d_pix, l->pix + first, um * sizeof(int32_t));
    const int64_t nb = M->at[M->n];
    const size_t un = static_cast<size_t>(M->n);
    uint8_t *d_bits, *d_scan;
    int32_t *d_box, *d_cnt, *d_pos;
    int64_t *d_at;
    P3D_TRY(pool_get(pl, static_cast<size_t>(nb), &d_bits));
    P3D_TRY(pool_get(pl, 4 * un, &d_box));
    P3D_TRY(pool_get(pl, un + 1, &d_at));
    P3D_TRY(pool_get(pl, static_cast<size_t>(nb) + 1, &d_cnt));
    P3D_TRY(pool_get(pl, static_cast<size_t>(nb) + 1, &d_pos));
    size_t scan_bytes = 0;
    P3D_CUDA_CHECK(cub::DeviceScan::ExclusiveSum(nullptr, scan_bytes, static_cast<const int32_t *>(d_cnt), d_pos, nb + 1,
                                                 ctx->stream));
    P3D_TRY(pool_get(pl, scan_bytes, &d_scan));
    P3D_TRY(p3d_cuda_memcpy_h2d(ctx, d_bits, M->bits, static_cast<size_t>(nb)));
    P3D_TRY(p3d_cuda_memcpy_h2d(ctx, d_box, M->box, 4 * un * sizeof(int32_t)));
    P3D_TRY(p3d_cuda_memcpy_h2d(ctx, d_at, M->at, (un + 1) * sizeof(int64_t)));
    P3D_LAUNCH(mask_count_kernel, ldi_blocks(nb + 1), P3D_LDI_THREADS, 0, ctx->stream)(d_bits, nb, d_cnt);
    P3D_CUDA_LAUNCH_CHECK(ctx, "LDI pass nodes mask counts");
    P3D_CUDA_CHECK(cub::DeviceScan::ExclusiveSum(d_scan, scan_bytes, static_cast<const int32_t *>(d_cnt), d_pos, nb + 1,
                                                 ctx->stream));
    P3D_LAUNCH(mask_pix_kernel, ldi_blocks(nb), P3D_LDI_THREADS, 0, ctx->stream)(d_bits, nb, d_box, d_at, M->n, d_pos,
                                                                                l->ext_w, d_pix);
    P3D_CUDA_LAUNCH_CHECK(ctx, "LDI pass nodes mask pixels");
    return P3D_OK;
}

extern "C" p3d_status p3d_ldi_pass_nodes_cuda(p3d_cuda_ctx *ctx, const p3d_ldi *l, int32_t first, uint8_t iter, float thr,
                                              const p3d_ldi_colour_run *runs, int32_t n_runs,
                                              const p3d_ldi_pass_masks *masks, int32_t *made) {
    ldi_resident *R = static_cast<ldi_resident *>(ctx->ldi_resident);
    if (made) *made = 0;
    if (!resident_fits(R, l, l->n_nodes) || R->n_synced != first || R->ext_w != l->ext_w || R->ext_h != l->ext_h)
        return P3D_OK; // the next stage's sync sends the pass's nodes as chunks
    const int32_t m = l->n_nodes - first;
    if (m <= 0) return P3D_OK;
    int32_t n_links = 0;
    for (int32_t a = first; a < l->n_nodes; a++) {
        if (l->iter[a] != iter) return P3D_OK; // not a pass's nodes alone: the sync's chunks
        for (int32_t d = 0; d < 4; d++) n_links += l->link[4 * static_cast<size_t>(a) + d] >= 0 && l->link[4 * static_cast<size_t>(a) + d] < first;
    }
    int32_t *links = static_cast<int32_t *>(malloc((2 * static_cast<size_t>(n_links) + 1) * sizeof(int32_t)));
    if (!links) return p3d_fail(P3D_ERR_OOM, "LDI (cuda): out of host memory for %d links", (int)n_links);
    for (int32_t a = first, k = 0; a < l->n_nodes; a++)
        for (int32_t d = 0; d < 4; d++) {
            const int32_t b = l->link[4 * static_cast<size_t>(a) + d];
            if (b < 0 || b >= first) continue;
            links[2 * k] = 4 * a + d, links[2 * k + 1] = b;
            k++;
        }
    const size_t npix = static_cast<size_t>(l->ext_w) * l->ext_h, um = static_cast<size_t>(m);
    // the colours: from where the fill left them on the device (runs), else up with the depths
    const int on_device = runs_cover(runs, n_runs, first, m);
    ldi_pool pl = pool_open(ctx);
    int32_t *d_pix = nullptr, *d_bucket = nullptr, *d_bucket_next = nullptr, *d_links = nullptr;
    float *d_depth = nullptr;
    uint8_t *d_rgb = nullptr;
    p3d_ldi_colour_run *d_runs = nullptr;
    p3d_status st = pool_get(&pl, um, &d_pix);
    if (st == P3D_OK) st = pool_get(&pl, um, &d_depth);
    if (st == P3D_OK && on_device) st = pool_get(&pl, static_cast<size_t>(n_runs), &d_runs);
    if (st == P3D_OK && !on_device) st = pool_get(&pl, 3 * um, &d_rgb);
    if (st == P3D_OK) st = pool_get(&pl, npix, &d_bucket);
    if (st == P3D_OK) st = pool_get(&pl, um, &d_bucket_next);
    if (st == P3D_OK) st = pool_get(&pl, 2 * static_cast<size_t>(n_links) + 1, &d_links);
    if (st == P3D_OK) st = pass_pixels(&pl, l, first, masks, d_pix);
    if (st == P3D_OK) st = p3d_cuda_memcpy_h2d(ctx, d_depth, l->depth + first, um * sizeof(float));
    if (st == P3D_OK && on_device) st = p3d_cuda_memcpy_h2d(ctx, d_runs, runs, static_cast<size_t>(n_runs) * sizeof *runs);
    if (st == P3D_OK && !on_device) st = p3d_cuda_memcpy_h2d(ctx, d_rgb, l->rgb + 3 * static_cast<size_t>(first), 3 * um);
    if (st == P3D_OK && n_links > 0)
        st = p3d_cuda_memcpy_h2d(ctx, d_links, links, 2 * static_cast<size_t>(n_links) * sizeof(int32_t));
    if (st == P3D_OK && cudaMemsetAsync(d_bucket, 0xff, npix * sizeof(int32_t), ctx->stream) != cudaSuccess)
        st = p3d_fail(P3D_ERR_DEVICE, "LDI pass nodes (cuda): clearing the buckets failed");
    if (st == P3D_OK) {
        p3d_ldi v;
        resident_view(R, l, &v);
        P3D_LAUNCH(pass_node_kernel, ldi_blocks(m), P3D_LDI_THREADS, 0, ctx->stream)(v, first, m, d_pix, d_depth, d_rgb, iter,
                                                                                     d_bucket, d_bucket_next);
        P3D_LAUNCH(pass_insert_kernel, ldi_blocks(m), P3D_LDI_THREADS, 0, ctx->stream)(v, first, m, d_bucket, d_bucket_next);
        if (on_device)
            P3D_LAUNCH(run_colour_kernel, ldi_blocks(m), P3D_LDI_THREADS, 0, ctx->stream)(v, first, m, d_runs, n_runs);
        if (n_links > 0)
            P3D_LAUNCH(link_list_kernel, ldi_blocks(n_links), P3D_LDI_THREADS, 0, ctx->stream)(v, d_links, n_links);
        P3D_LAUNCH(new_link_kernel, ldi_blocks(4 * static_cast<int64_t>(m)), P3D_LDI_THREADS, 0, ctx->stream)(
            v, first, m, iter, thr);
        st = p3d_cuda_launch_check(ctx, "LDI pass nodes");
    }
    pool_free(&pl);
    // the copy from pageable memory has read links when cudaMemcpyAsync returned
    free(links);
    P3D_TRY(st);
    resident_adopt(R, l);
    if (made) *made = 1;
    return resident_check_on() ? resident_check(ctx, R, l) : P3D_OK;
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

// The edges' results come back compacted: only nodes with a role can be on an edge (a few per cent of
// the LDI), so the host gets the list of those nodes with their edge id instead of per-node arrays, and
// expands them (every other node: edge -1). Layout of the packed block, from the edge count ne and the
// listed nodes m, which the device knows and the host reads first (8 bytes): size (ne) i32 | node (m)
// i32 | edge (m) i32 | near (ne) u8, each 64-byte aligned.
typedef struct edge_layout {
    size_t size, node, edge, near, bytes;
} edge_layout;

static __host__ __device__ edge_layout edge_pack_layout(int64_t ne, int64_t m) {
    edge_layout L;
    size_t at = 0;
    const size_t une = static_cast<size_t>(ne), um = static_cast<size_t>(m);
    L.size = at, at += (une * 4 + 63) / 64 * 64;
    L.node = at, at += (um * 4 + 63) / 64 * 64;
    L.edge = at, at += (um * 4 + 63) / 64 * 64;
    L.near = at, at += (une + 63) / 64 * 64;
    L.bytes = at;
    return L;
}

// flag[i] = 1 for nodes with a role (i < n); flag[n] = 0 so the exclusive sum's last entry is m.
static __global__ void role_flag_kernel(const uint8_t *role, int32_t n, int32_t *flag) {
    const int64_t i = LDI_INDEX();
    if (i <= n) flag[i] = i < n && role[i];
}

// Writes the packed block (edge_pack_layout) and the header {ne, m}; pos = exclusive sum of the flags.
static __global__ void edge_pack_kernel(const int32_t *ids, const int32_t *pos, int32_t n, const int32_t *size,
                                        const uint8_t *near, const int32_t *edge, const uint8_t *role,
                                        unsigned char *pack, int32_t *hdr) {
    const int64_t i = LDI_INDEX();
    const int32_t ne = ids[n], m = pos[n];
    const edge_layout L = edge_pack_layout(ne, m);
    if (i == 0) hdr[0] = ne, hdr[1] = m;
    if (i < ne) {
        reinterpret_cast<int32_t *>(pack + L.size)[i] = size[i];
        pack[L.near + static_cast<size_t>(i)] = near[i];
    }
    if (i >= n || !role[i]) return;
    const int32_t k = pos[i];
    reinterpret_cast<int32_t *>(pack + L.node)[k] = static_cast<int32_t>(i);
    reinterpret_cast<int32_t *>(pack + L.edge)[k] = edge[i];
}

// An edge search's per-node and per-edge results on the device (n nodes): role, degree, edge id (-1
// without a role), near flag and size per edge; ids[n] = the number of edges. label and root are
// scratch, spent after the search; scan is the prefix sums' temporary storage.
typedef struct edge_dev {
    uint8_t *role, *degree, *near;
    int32_t *edge, *label, *root, *ids, *size;
    uint8_t *scan;
    size_t scan_bytes;
} edge_dev;

static p3d_status edges_device(ldi_pool *pl, const p3d_ldi &v, const p3d_ldi_box *box, float thr, edge_dev *E) {
    p3d_cuda_ctx *ctx = pl->ctx;
    const int32_t n = v.n_nodes;
    const size_t un = static_cast<size_t>(n);
    P3D_TRY(pool_get(pl, un, &E->edge));
    P3D_TRY(pool_get(pl, un, &E->role));
    P3D_TRY(pool_get(pl, un, &E->degree));
    P3D_TRY(pool_get(pl, un, &E->near));
    P3D_TRY(pool_get(pl, un + 1, &E->label));
    P3D_TRY(pool_get(pl, un + 1, &E->root));
    P3D_TRY(pool_get(pl, un + 1, &E->ids));
    P3D_TRY(pool_get(pl, un, &E->size));
    E->scan_bytes = 0;
    P3D_CUDA_CHECK(cub::DeviceScan::ExclusiveSum(nullptr, E->scan_bytes, static_cast<const int32_t *>(E->root), E->ids,
                                                 static_cast<int64_t>(n) + 1, ctx->stream));
    P3D_TRY(pool_get(pl, E->scan_bytes, &E->scan));
    P3D_CUDA_CHECK(cudaMemsetAsync(E->size, 0, un * sizeof(int32_t), ctx->stream));
    P3D_CUDA_CHECK(cudaMemsetAsync(E->near, 0, un, ctx->stream));
    const unsigned blocks = ldi_blocks(n), blocks1 = ldi_blocks(static_cast<int64_t>(n) + 1);
    P3D_LAUNCH(role_kernel, blocks, P3D_LDI_THREADS, 0, ctx->stream)(v, *box, E->role);
    P3D_CUDA_LAUNCH_CHECK(ctx, "LDI edges roles");
    const edge_graph graph = {v, E->role, thr, E->degree};
    P3D_TRY(uf_components(ctx, graph, n, E->label, "LDI edges components"));
    P3D_LAUNCH(edge_roots_kernel, blocks1, P3D_LDI_THREADS, 0, ctx->stream)(E->role, E->label, n, E->root);
    P3D_CUDA_LAUNCH_CHECK(ctx, "LDI edges roots");
    P3D_CUDA_CHECK(cub::DeviceScan::ExclusiveSum(E->scan, E->scan_bytes, static_cast<const int32_t *>(E->root), E->ids,
                                                 static_cast<int64_t>(n) + 1, ctx->stream));
    P3D_LAUNCH(edge_assign_kernel, blocks, P3D_LDI_THREADS, 0, ctx->stream)(
        E->role, E->label, E->ids, n, E->edge, E->size, E->near);
    P3D_CUDA_LAUNCH_CHECK(ctx, "LDI edges ids");
    return P3D_OK;
}

static p3d_status edges_run(ldi_pool *pl, const p3d_ldi *l, const p3d_ldi_box *box, float thr, p3d_ldi_edges *out) {
    p3d_cuda_ctx *ctx = pl->ctx;
    const int32_t n = l->n_nodes;
    const size_t un = static_cast<size_t>(n);
    out->n_edges = 0;
    out->near = static_cast<uint8_t *>(calloc(un + 1, 1));
    out->size = static_cast<int32_t *>(calloc(un + 1, sizeof(int32_t)));
    if (!out->near || !out->size) return p3d_fail(P3D_ERR_OOM, "LDI edges (cuda): out of host memory");
    if (n == 0) return P3D_OK;
    p3d_ldi v;
    P3D_TRY(ldi_view(pl, &v, l));
    edge_dev E;
    P3D_TRY(edges_device(pl, v, box, thr, &E));
    int32_t *d_hdr;
    unsigned char *d_pack;
    P3D_TRY(pool_get(pl, 2, &d_hdr));
    // m <= n and ne <= m (every edge has a node): the block is at most 13 bytes a node plus alignment
    P3D_TRY(pool_get(pl, edge_pack_layout(n, n).bytes, &d_pack));
    const unsigned blocks = ldi_blocks(n), blocks1 = ldi_blocks(static_cast<int64_t>(n) + 1);
    // the roots and labels are spent: the role flags and their prefix sum reuse them
    int32_t *d_flag = E.root, *d_pos = E.label;
    P3D_LAUNCH(role_flag_kernel, blocks1, P3D_LDI_THREADS, 0, ctx->stream)(E.role, n, d_flag);
    P3D_CUDA_LAUNCH_CHECK(ctx, "LDI edges role flags");
    P3D_CUDA_CHECK(cub::DeviceScan::ExclusiveSum(E.scan, E.scan_bytes, static_cast<const int32_t *>(d_flag), d_pos,
                                                 static_cast<int64_t>(n) + 1, ctx->stream));
    P3D_LAUNCH(edge_pack_kernel, blocks, P3D_LDI_THREADS, 0, ctx->stream)(
        E.ids, d_pos, n, E.size, E.near, E.edge, E.role, d_pack, d_hdr);
    P3D_CUDA_LAUNCH_CHECK(ctx, "LDI edges pack");
    // the header is {edges, listed nodes}: every edge has a node, every listed node is a node
    int32_t hdr[2];
    edge_layout L = {};
    const unsigned char *h = nullptr;
    P3D_TRY(fetch_packed(
        ctx, d_hdr, d_pack, "LDI edges", [n](int32_t a, int32_t b) { return a >= 0 && b >= a && b <= n; },
        [](int32_t a, int32_t b) { return edge_pack_layout(a, b); }, hdr, &L, &h));
    const int32_t ne = hdr[0], m = hdr[1];
    const int32_t *node = reinterpret_cast<const int32_t *>(h + L.node), *eid = reinterpret_cast<const int32_t *>(h + L.edge);
    for (size_t i = 0; i < un; i++) out->edge[i] = -1;
    for (int32_t k = 0; k < m; k++) {
        const int32_t a = node[k];
        if (a < 0 || a >= n) return p3d_fail(P3D_ERR_DEVICE, "LDI edges (cuda): listed node %d of %d", (int)a, (int)n);
        out->edge[a] = eid[k];
    }
    take(h, L.size, static_cast<size_t>(ne), out->size);
    take(h, L.near, static_cast<size_t>(ne), out->near);
    out->n_edges = ne;
    return P3D_OK;
}

extern "C" p3d_status p3d_ldi_edges_cuda(p3d_cuda_ctx *ctx, const p3d_ldi *l, const p3d_ldi_box *box, float threshold,
                                         p3d_ldi_edges *out) {
    ldi_pool pl = pool_open(ctx);
    const p3d_status s = edges_run(&pl, l, box, threshold, out);
    pool_free(&pl);
    return s;
}

// ---- the cleanup's link edits ------------------------------------------------------------------------
// p3d_ldi_cleanup_ctx's first edge search and its edits run on the device LDI, with the rules of
// ldi_graph_math.h, which decide every pixel pair from the links as they were before the edits (so the
// threads' order does not matter and the result is the CPU's): the free ends of the short edges by
// atomicAdd per edge, the removed edges, then one thread per node decides the pairs below and to the
// right of it and makes the edit in the copy. Back come the counts and the list of edits (the slot
// 4 a + d of each; the host finds the other node at the neighbouring pixel), not the first search's
// per-node roles and degrees; the host makes the same links in its LDI and its shadow of the copy.

static __global__ void end_count_kernel(const p3d_ldi v, const int32_t *edge, const int32_t *size, const uint8_t *degree,
                                        int32_t redundant, int32_t *free_ends) {
    const int64_t i = LDI_INDEX();
    if (i >= v.n_nodes) return;
    const int32_t k = p3d_ldi_end_count(&v, edge, size, degree, redundant, static_cast<int32_t>(i));
    if (k) atomicAdd(&free_ends[edge[i]], k);
}

// hdr[0] += the removed edges; ids[n]: the number of edges.
static __global__ void drop_kernel(const int32_t *ids, int32_t n, const int32_t *size, const uint8_t *near,
                                   const int32_t *free_ends, int32_t redundant, uint8_t *drop, int32_t *hdr) {
    const int64_t i = LDI_INDEX();
    int32_t dropped = 0;
    if (i < ids[n]) {
        drop[i] = p3d_ldi_short_drop(size[i], near[i], free_ends[i], redundant);
        dropped = drop[i];
    }
    warp_add(&hdr[0], dropped);
}

// hdr[1] += the joins, hdr[2]: the edits listed in list (slots 4 a + d, in no particular order).
static __global__ void edit_kernel(p3d_ldi v, const p3d_ldi_cleanup_edges c, int32_t *hdr, int32_t *list) {
    const int64_t i = LDI_INDEX();
    int32_t joins = 0;
    if (i < v.n_nodes) {
        const int32_t a = static_cast<int32_t>(i);
        for (int32_t d = P3D_DIR_DOWN; d <= P3D_DIR_RIGHT; d += 2) {
            int32_t b;
            const int32_t kind = p3d_ldi_cleanup_edit(&v, &c, a, d, &b);
            if (!kind) continue;
            v.link[4 * static_cast<int64_t>(a) + d] = b;
            v.link[4 * static_cast<int64_t>(b) + p3d_dir_opposite(d)] = a;
            list[atomicAdd(&hdr[2], 1)] = 4 * a + d;
            joins += kind == P3D_LDI_EDIT_JOIN;
        }
    }
    warp_add(&hdr[1], joins);
}

// The host's twin of an edit in the shadow (the copy made it on the device).
static void resident_adopt_link(ldi_resident *R, int32_t a, int32_t d, int32_t b) {
    int32_t *link = reinterpret_cast<int32_t *>(R->shadow + R->off[3]);
    link[4 * static_cast<size_t>(a) + d] = b;
    link[4 * static_cast<size_t>(b) + p3d_dir_opposite(d)] = a;
}

static p3d_status cleanup_run(ldi_pool *pl, p3d_ldi *l, const p3d_ldi_box *box, float thr, int32_t redundant,
                              int32_t *removed, int32_t *joined) {
    p3d_cuda_ctx *ctx = pl->ctx;
    const int32_t n = l->n_nodes;
    const size_t un = static_cast<size_t>(n);
    *removed = *joined = 0;
    if (n == 0) return P3D_OK;
    ldi_resident *R = static_cast<ldi_resident *>(ctx->ldi_resident);
    const int resident = resident_fits(R, l, n); // ldi_view's choice: the copy, else the pool's
    p3d_ldi v;
    P3D_TRY(ldi_view(pl, &v, l));
    edge_dev E;
    P3D_TRY(edges_device(pl, v, box, thr, &E));
    int32_t *d_free, *d_out;
    uint8_t *d_drop;
    P3D_TRY(pool_get(pl, un, &d_free));
    P3D_TRY(pool_get(pl, un, &d_drop));
    // header {removed, joined, edits} at 0, the edits (at most two a node) from 16 bytes on
    P3D_TRY(pool_get(pl, 4 + 2 * un, &d_out));
    P3D_CUDA_CHECK(cudaMemsetAsync(d_free, 0, un * sizeof(int32_t), ctx->stream));
    P3D_CUDA_CHECK(cudaMemsetAsync(d_out, 0, 4 * sizeof(int32_t), ctx->stream));
    const unsigned blocks = ldi_blocks(n);
    P3D_LAUNCH(end_count_kernel, blocks, P3D_LDI_THREADS, 0, ctx->stream)(v, E.edge, E.size, E.degree, redundant, d_free);
    P3D_CUDA_LAUNCH_CHECK(ctx, "LDI cleanup free ends");
    P3D_LAUNCH(drop_kernel, blocks, P3D_LDI_THREADS, 0, ctx->stream)(E.ids, n, E.size, E.near, d_free, redundant, d_drop,
                                                                      d_out);
    P3D_CUDA_LAUNCH_CHECK(ctx, "LDI cleanup removed edges");
    const p3d_ldi_cleanup_edges c = {E.edge, E.near, d_drop, E.role, E.degree};
    P3D_LAUNCH(edit_kernel, blocks, P3D_LDI_THREADS, 0, ctx->stream)(v, c, d_out, d_out + 4);
    P3D_CUDA_LAUNCH_CHECK(ctx, "LDI cleanup edits");
    const void *host = nullptr;
    int32_t hdr[3];
    P3D_TRY(p3d_cuda_download_span(ctx, d_out, 3 * sizeof(int32_t), &host));
    take(host, 0, 3, hdr);
    if (hdr[0] < 0 || hdr[0] > n || hdr[1] < 0 || hdr[2] < hdr[1] || hdr[2] > 2 * n)
        return p3d_fail(P3D_ERR_DEVICE, "LDI cleanup (cuda): device counts %d, %d and %d", (int)hdr[0], (int)hdr[1],
                        (int)hdr[2]);
    if (hdr[2] > 0) P3D_TRY(p3d_cuda_download_span(ctx, d_out + 4, static_cast<size_t>(hdr[2]) * sizeof(int32_t), &host));
    const int32_t *list = static_cast<const int32_t *>(host);
    for (int32_t k = 0; k < hdr[2]; k++) {
        const int32_t a = list[k] / 4, d = list[k] % 4;
        int32_t b = -1;
        if (list[k] >= 0 && a < n && (d == P3D_DIR_DOWN || d == P3D_DIR_RIGHT)) {
            const int32_t x = p3d_ldi_x(l, a) + p3d_dir_dx(d), y = p3d_ldi_y(l, a) + p3d_dir_dy(d);
            if (x < l->ext_w && y < l->ext_h) b = l->head[y * l->ext_w + x];
        }
        if (b < 0 || l->link[4 * static_cast<size_t>(a) + d] >= 0 || l->link[4 * static_cast<size_t>(b) + p3d_dir_opposite(d)] >= 0)
            return p3d_fail(P3D_ERR_DEVICE, "LDI cleanup (cuda): edit %d of %d (slot %d) is not a free pixel pair", (int)k,
                            (int)hdr[2], (int)list[k]);
        p3d_ldi_link(l, a, d, b);
        if (resident) resident_adopt_link(R, a, d, b);
    }
    *removed = hdr[0];
    *joined = hdr[1];
    return resident && resident_check_on() ? resident_check(ctx, R, l) : P3D_OK;
}

extern "C" p3d_status p3d_ldi_cleanup_cuda(p3d_cuda_ctx *ctx, p3d_ldi *l, const p3d_ldi_box *box, float threshold,
                                           int32_t redundant, int32_t *removed, int32_t *joined) {
    ldi_pool pl = pool_open(ctx);
    const p3d_status s = cleanup_run(&pl, l, box, threshold, redundant, removed, joined);
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

// The frontier kernels take their frontier's length from device memory (*n_front, written by the
// previous step's offers) and walk it with a grid-stride loop, so the host never needs the length to
// launch them: any grid covers any frontier, an empty one makes them return at once.
#define LDI_STRIDE() (static_cast<int64_t>(gridDim.x) * blockDim.x)

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
                                         const int32_t *n_mf, int32_t *list, int32_t *n_list) {
    const int64_t count = *n_mf;
    for (int64_t i = LDI_INDEX(); i < count; i += LDI_STRIDE()) {
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
}

static __global__ void mask_offer_kernel(const p3d_ldi l, ring_state r, uint8_t mask_iter, int32_t ring,
                                         const int32_t *mf, const int32_t *n_mf, int32_t *list, int32_t *n_list) {
    const int64_t count = *n_mf;
    for (int64_t i = LDI_INDEX(); i < count; i += LDI_STRIDE()) {
        const int32_t a = mf[i], id = r.mask_edge[a];
        for (int32_t d = 0; d < 4; d++) {
            const int32_t b = l.link[4 * static_cast<size_t>(a) + d];
            if (p3d_ldi_mask_takes(&l, r.mask_edge, r.ctx_edge, mask_iter, ring, b, id))
                offer(r.claim, list, n_list, b, id);
        }
    }
}

static __global__ void ctx_offer_kernel(const p3d_ldi l, ring_state r, const int32_t *cf, const int32_t *n_cf,
                                        int32_t *list, int32_t *n_list) {
    const int64_t count = *n_cf;
    for (int64_t i = LDI_INDEX(); i < count; i += LDI_STRIDE()) {
        const int32_t a = cf[i], id = r.ctx_edge[a];
        for (int32_t d = 0; d < 4; d++) {
            const int32_t b = l.link[4 * static_cast<size_t>(a) + d];
            if (p3d_ldi_ctx_takes(r.mask_edge, r.ctx_edge, b, id)) offer(r.claim, list, n_list, b, id);
        }
    }
}

// Commits the *n_list listed offers into edge / ring_of and releases their claims. The list then
// serves as the next frontier.
static __global__ void commit_kernel(int32_t *claim, const int32_t *list, const int32_t *n_list, int32_t *edge,
                                     int32_t *ring_of, int32_t ring) {
    const int64_t count = *n_list;
    for (int64_t i = LDI_INDEX(); i < count; i += LDI_STRIDE()) {
        const int32_t b = list[i];
        edge[b] = claim[b];
        ring_of[b] = ring;
        claim[b] = INT_MAX;
    }
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

// One step of the ring search: the offer kernel (queued by the caller) filled *list and *d_count; this
// commits the offers and makes the list the next frontier (the old frontier's buffer becomes the list
// of the next step). `blocks` is the grid of the commit: any size is correct (grid-stride loop).
static p3d_status commit_step(p3d_cuda_ctx *ctx, unsigned blocks, int32_t *claim, const int32_t *d_count,
                              int32_t *edge, int32_t *ring_of, int32_t ring, int32_t **frontier, int32_t **list) {
    P3D_LAUNCH(commit_kernel, blocks, P3D_LDI_THREADS, 0, ctx->stream)(claim, *list, d_count, edge, ring_of, ring);
    P3D_CUDA_LAUNCH_CHECK(ctx, "LDI regions commit");
    int32_t *t = *frontier;
    *frontier = *list;
    *list = t;
    return P3D_OK;
}

// The regions come back compacted: a node is in at most one synthesis region and one context (a third
// of moon's nodes in pass 1, a quarter in pass 2), so the host gets the list of the mask nodes with
// their edge and the list of the context nodes with their edge and erode flag, and expands them (every
// other node: -1, -1, 0). Layout of the packed block, from the edge count ne and the list lengths mm, mc
// (the header the host reads first): n_mask (ne) i32 | n_ctx (ne) i32 | mask node (mm) i32 | mask edge
// (mm) i32 | ctx node (mc) i32 | ctx edge (mc) i32 | erode (mc) u8, each 64-byte aligned.
typedef struct region_layout {
    size_t n_mask, n_ctx, mnode, medge, cnode, cedge, erode, bytes;
} region_layout;

static __host__ __device__ region_layout region_pack_layout(int64_t ne, int64_t mm, int64_t mc) {
    region_layout L;
    size_t at = 0;
    const size_t une = static_cast<size_t>(ne), umm = static_cast<size_t>(mm), umc = static_cast<size_t>(mc);
    L.n_mask = at, at += (une * 4 + 63) / 64 * 64;
    L.n_ctx = at, at += (une * 4 + 63) / 64 * 64;
    L.mnode = at, at += (umm * 4 + 63) / 64 * 64;
    L.medge = at, at += (umm * 4 + 63) / 64 * 64;
    L.cnode = at, at += (umc * 4 + 63) / 64 * 64;
    L.cedge = at, at += (umc * 4 + 63) / 64 * 64;
    L.erode = at, at += (umc + 63) / 64 * 64;
    L.bytes = at;
    return L;
}

// fm[i] / fc[i] = 1 for nodes in a synthesis region / a context (i < n); [n] = 0 for the list lengths.
static __global__ void region_flag_kernel(int32_t n, ring_state r, int32_t *fm, int32_t *fc) {
    const int64_t i = LDI_INDEX();
    if (i > n) return;
    fm[i] = i < n && r.mask_edge[i] >= 0;
    fc[i] = i < n && r.ctx_edge[i] >= 0;
}

// Writes the packed block (region_pack_layout) and the header {mm, mc}; pm, pc = exclusive sums of the
// flags.
static __global__ void region_pack_kernel(int32_t n, int32_t ne, ring_state r, const uint8_t *erode,
                                          const int32_t *n_mask, const int32_t *n_ctx, const int32_t *pm,
                                          const int32_t *pc, unsigned char *pack, int32_t *hdr) {
    const int64_t i = LDI_INDEX();
    const region_layout L = region_pack_layout(ne, pm[n], pc[n]);
    if (i == 0) hdr[0] = pm[n], hdr[1] = pc[n];
    if (i < ne) {
        reinterpret_cast<int32_t *>(pack + L.n_mask)[i] = n_mask[i];
        reinterpret_cast<int32_t *>(pack + L.n_ctx)[i] = n_ctx[i];
    }
    if (i >= n) return;
    if (r.mask_edge[i] >= 0) {
        reinterpret_cast<int32_t *>(pack + L.mnode)[pm[i]] = static_cast<int32_t>(i);
        reinterpret_cast<int32_t *>(pack + L.medge)[pm[i]] = r.mask_edge[i];
    }
    if (r.ctx_edge[i] >= 0) {
        reinterpret_cast<int32_t *>(pack + L.cnode)[pc[i]] = static_cast<int32_t>(i);
        reinterpret_cast<int32_t *>(pack + L.cedge)[pc[i]] = r.ctx_edge[i];
        pack[L.erode + static_cast<size_t>(pc[i])] = erode[i];
    }
}

// edge[node[k]] = id[k] for the m listed nodes (list: node (m) then id (m)); every other entry is -1.
static __global__ void edge_scatter_kernel(const int32_t *list, int32_t m, int32_t *edge) {
    const int64_t k = LDI_INDEX();
    if (k < m) edge[list[k]] = list[static_cast<size_t>(m) + static_cast<size_t>(k)];
}

// The edge ids go up as the list of the nodes on an edge (a few per cent of the LDI) and are expanded on
// the device, instead of an id per node.
static p3d_status edge_upload(p3d_cuda_ctx *ctx, const p3d_ldi_edges *e, int32_t *d_edge) {
    const size_t n = static_cast<size_t>(e->n_nodes);
    if (n == 0) return P3D_OK;
    P3D_CUDA_CHECK(cudaMemsetAsync(d_edge, 0xff, n * sizeof(int32_t), ctx->stream)); // all -1
    int64_t m = 0;
    for (size_t a = 0; a < n; a++) m += e->edge[a] >= 0;
    if (m == 0) return P3D_OK;
    int32_t *list = static_cast<int32_t *>(malloc(2 * static_cast<size_t>(m) * sizeof(int32_t)));
    if (!list) return p3d_fail(P3D_ERR_OOM, "LDI regions (cuda): out of host memory");
    int64_t k = 0;
    for (size_t a = 0; a < n; a++)
        if (e->edge[a] >= 0) list[k] = static_cast<int32_t>(a), list[m + k] = e->edge[a], k++;
    int32_t *d_list = nullptr;
    void *p = nullptr;
    p3d_status st = p3d_cuda_arena_get(ctx, 2 * static_cast<size_t>(m) * sizeof(int32_t), &p);
    d_list = static_cast<int32_t *>(p);
    if (st == P3D_OK) st = p3d_cuda_memcpy_h2d(ctx, d_list, list, 2 * static_cast<size_t>(m) * sizeof(int32_t));
    free(list);
    P3D_TRY(st);
    P3D_LAUNCH(edge_scatter_kernel, ldi_blocks(m), P3D_LDI_THREADS, 0, ctx->stream)(d_list, static_cast<int32_t>(m), d_edge);
    P3D_CUDA_LAUNCH_CHECK(ctx, "LDI regions edge ids");
    return P3D_OK;
}

// The ring search keeps every frontier length on the device: ring k's mask step reads the length its
// frontier got at ring k - 1 (mcount[k - 1]) and counts its offers into mcount[k]; the context steps
// use ccount the same way. No step needs a length on the host, so the rings are queued back to back
// (a fixed ring budget, plan->rings, whose kernels return at once on an empty frontier) and the host
// reads the lengths back only after rings 0, 2, 4, 8, 16, ... and the last: to stop early once both
// searches are done (at most as many empty rings as were run before the check) and to size the
// grids. A grid is sized for twice the largest frontier seen at the last check (the frontiers of a
// breadth-first ring search change slowly); a larger frontier is still covered by the kernels'
// grid-stride loops. That is at most 2 + log2(rings) blocking reads per pass (9 for 140 rings),
// where reading each ring's lengths took 1 + rings.
static unsigned ring_blocks(int64_t est, int32_t n) { return ldi_blocks(est < 1 ? 1 : est < n ? est : n); }

static p3d_status regions_run(ldi_pool *pl, const p3d_ldi *l, const p3d_ldi_edges *e, const p3d_ldi_ring_plan *plan,
                              p3d_ldi_regions *out) {
    p3d_cuda_ctx *ctx = pl->ctx;
    const int32_t n = l->n_nodes, ne = e->n_edges;
    if (n == 0) return P3D_OK;
    const size_t un = static_cast<size_t>(n), une = static_cast<size_t>(ne);
    const size_t stride = static_cast<size_t>(plan->ct) + 1;
    const int32_t rings = plan->rings > 1 ? plan->rings : 1;
    p3d_ldi v;
    P3D_TRY(ldi_view(pl, &v, l));
    // the results, fetched together: mask_edge, ctx_edge (n) i32, erode (n) u8, n_mask, n_ctx (ne) i32
    size_t at = 0;
    const size_t o_mask = carve(&at, un * sizeof(int32_t)), o_ctx = carve(&at, un * sizeof(int32_t));
    const size_t o_erode = carve(&at, un), o_n_mask = carve(&at, une * sizeof(int32_t));
    const size_t o_n_ctx = carve(&at, une * sizeof(int32_t)), out_bytes = at;
    unsigned char *res;
    P3D_TRY(pool_get(pl, out_bytes, &res));
    ring_state r;
    r.mask_edge = reinterpret_cast<int32_t *>(res + o_mask);
    r.ctx_edge = reinterpret_cast<int32_t *>(res + o_ctx);
    uint8_t *d_erode = res + o_erode;
    int32_t *d_n_mask = reinterpret_cast<int32_t *>(res + o_n_mask), *d_n_ctx = reinterpret_cast<int32_t *>(res + o_n_ctx);
    int32_t *d_edge, *mf, *cf, *list, *d_len, *d_ring_count, *d_width;
    uint8_t *d_near;
    P3D_TRY(pool_get(pl, un, &r.mask_ring));
    P3D_TRY(pool_get(pl, un, &r.ctx_ring));
    // n + 1 entries: after the rings these four hold the flags and positions of the packed results
    P3D_TRY(pool_get(pl, un + 1, &r.claim));
    P3D_TRY(pool_get(pl, un + 1, &mf));
    P3D_TRY(pool_get(pl, un + 1, &cf));
    P3D_TRY(pool_get(pl, un + 1, &list));
    int32_t *d_hdr;
    unsigned char *d_pack;
    P3D_TRY(pool_get(pl, 2, &d_hdr));
    P3D_TRY(pool_get(pl, region_pack_layout(ne, n, n).bytes, &d_pack));
    size_t scan_bytes = 0;
    P3D_CUDA_CHECK(cub::DeviceScan::ExclusiveSum(nullptr, scan_bytes, static_cast<const int32_t *>(mf), list,
                                                 static_cast<int64_t>(n) + 1, ctx->stream));
    uint8_t *d_scan;
    P3D_TRY(pool_get(pl, scan_bytes, &d_scan));
    // frontier lengths: mcount[k] = d_len[k], ccount[k] = d_len[rings + 1 + k], k = 0..rings
    const size_t n_len = 2 * (static_cast<size_t>(rings) + 1);
    P3D_TRY(pool_get(pl, n_len, &d_len));
    int32_t *mcount = d_len, *ccount = d_len + rings + 1;
    P3D_TRY(pool_get(pl, static_cast<size_t>(e->n_nodes), &d_edge));
    P3D_TRY(pool_get(pl, une, &d_near));
    P3D_TRY(pool_get(pl, une * stride, &d_ring_count));
    P3D_TRY(pool_get(pl, une, &d_width));
    P3D_TRY(edge_upload(ctx, e, d_edge));
    if (ne > 0) P3D_TRY(p3d_cuda_memcpy_h2d(ctx, d_near, e->near, une));
    P3D_CUDA_CHECK(cudaMemsetAsync(d_len, 0, n_len * sizeof(int32_t), ctx->stream));
    if (ne > 0) {
        P3D_CUDA_CHECK(cudaMemsetAsync(d_n_mask, 0, une * sizeof(int32_t), ctx->stream));
        P3D_CUDA_CHECK(cudaMemsetAsync(d_n_ctx, 0, une * sizeof(int32_t), ctx->stream));
        P3D_CUDA_CHECK(cudaMemsetAsync(d_ring_count, 0, une * stride * sizeof(int32_t), ctx->stream));
    }
    P3D_CUDA_CHECK(cudaMemsetAsync(d_erode, 0, un, ctx->stream));
    const unsigned blocks = ldi_blocks(n);
    P3D_LAUNCH(ring0_kernel, blocks, P3D_LDI_THREADS, 0, ctx->stream)(d_edge, d_near, e->n_nodes, n, r, mf, &mcount[0]);
    P3D_CUDA_LAUNCH_CHECK(ctx, "LDI regions ring 0");
    // before the first read-back the frontiers are bounded by the edge nodes, a few per cent of n
    int64_t est = 2 * static_cast<int64_t>(e->n_nodes < n ? e->n_nodes : n) / 16;
    P3D_LAUNCH(ctx0_offer_kernel, ring_blocks(est, n), P3D_LDI_THREADS, 0, ctx->stream)(
        v, r, plan->mask_iter, mf, &mcount[0], list, &ccount[0]);
    P3D_CUDA_LAUNCH_CHECK(ctx, "LDI regions context ring 0");
    P3D_TRY(commit_step(ctx, ring_blocks(est, n), r.claim, &ccount[0], r.ctx_edge, r.ctx_ring, 0, &cf, &list));
    int32_t *len = static_cast<int32_t *>(malloc(n_len * sizeof(int32_t)));
    if (!len) return p3d_fail(P3D_ERR_OOM, "LDI regions (cuda): out of host memory");
    p3d_status st = P3D_OK;
    for (int32_t ring = 0, next_check = 0; ring < rings && st == P3D_OK; ring++) {
        if (ring > 0) {
            // mask step: reads ctx_edge as the previous context step left it
            const unsigned b = ring_blocks(est, n);
            P3D_LAUNCH(mask_offer_kernel, b, P3D_LDI_THREADS, 0, ctx->stream)(
                v, r, plan->mask_iter, ring, mf, &mcount[ring - 1], list, &mcount[ring]);
            st = p3d_cuda_launch_check(ctx, "LDI regions mask ring");
            if (st == P3D_OK)
                st = commit_step(ctx, b, r.claim, &mcount[ring], r.mask_edge, r.mask_ring, ring, &mf, &list);
            // context step: reads mask_edge as this ring's mask step left it; it stops after ct rings
            if (st == P3D_OK && ring < plan->ct) {
                P3D_LAUNCH(ctx_offer_kernel, b, P3D_LDI_THREADS, 0, ctx->stream)(
                    v, r, cf, &ccount[ring - 1], list, &ccount[ring]);
                st = p3d_cuda_launch_check(ctx, "LDI regions context ring");
                if (st == P3D_OK)
                    st = commit_step(ctx, b, r.claim, &ccount[ring], r.ctx_edge, r.ctx_ring, ring, &cf, &list);
            }
        }
        if (st != P3D_OK || (ring != next_check && ring + 1 < rings)) continue;
        next_check = ring < 2 ? 2 : 2 * ring;
        const void *host = nullptr;
        st = p3d_cuda_download_span(ctx, d_len, n_len * sizeof(int32_t), &host);
        if (st != P3D_OK) break;
        take(host, 0, n_len, len);
        const int32_t n_mf = len[ring], n_cf = ring < plan->ct ? len[rings + 1 + ring] : 0;
        for (int32_t k = 0; k <= ring; k++) {
            if (len[k] > est / 2) est = 2 * static_cast<int64_t>(len[k]);
            if (len[rings + 1 + k] > est / 2) est = 2 * static_cast<int64_t>(len[rings + 1 + k]);
        }
        if (n_mf == 0 && (ring + 1 >= plan->ct || n_cf == 0)) break; // nothing left to grow
    }
    free(len);
    P3D_TRY(st);
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
    // the frontier buffers are spent: flags in two of them, their prefix sums in the other two
    int32_t *fm = mf, *fc = cf, *pm = list, *pc = r.claim;
    P3D_LAUNCH(region_flag_kernel, ldi_blocks(static_cast<int64_t>(n) + 1), P3D_LDI_THREADS, 0, ctx->stream)(
        n, r, fm, fc);
    P3D_CUDA_LAUNCH_CHECK(ctx, "LDI regions flags");
    P3D_CUDA_CHECK(cub::DeviceScan::ExclusiveSum(d_scan, scan_bytes, static_cast<const int32_t *>(fm), pm,
                                                 static_cast<int64_t>(n) + 1, ctx->stream));
    P3D_CUDA_CHECK(cub::DeviceScan::ExclusiveSum(d_scan, scan_bytes, static_cast<const int32_t *>(fc), pc,
                                                 static_cast<int64_t>(n) + 1, ctx->stream));
    P3D_LAUNCH(region_pack_kernel, blocks, P3D_LDI_THREADS, 0, ctx->stream)(
        n, ne, r, d_erode, d_n_mask, d_n_ctx, pm, pc, d_pack, d_hdr);
    P3D_CUDA_LAUNCH_CHECK(ctx, "LDI regions pack");
    // the header is {mask nodes, context nodes}, each at most the nodes
    int32_t hdr[2];
    region_layout L = {};
    const unsigned char *h = nullptr;
    P3D_TRY(fetch_packed(
        ctx, d_hdr, d_pack, "LDI regions", [n](int32_t a, int32_t b) { return a >= 0 && b >= 0 && a <= n && b <= n; },
        [ne](int32_t a, int32_t b) { return region_pack_layout(ne, a, b); }, hdr, &L, &h));
    const int32_t mm = hdr[0], mc = hdr[1];
    for (size_t i = 0; i < un; i++) out->mask_edge[i] = out->ctx_edge[i] = -1;
    const int32_t *mnode = reinterpret_cast<const int32_t *>(h + L.mnode), *medge = reinterpret_cast<const int32_t *>(h + L.medge);
    const int32_t *cnode = reinterpret_cast<const int32_t *>(h + L.cnode), *cedge = reinterpret_cast<const int32_t *>(h + L.cedge);
    for (int32_t k = 0; k < mm; k++) {
        if (mnode[k] < 0 || mnode[k] >= n) return p3d_fail(P3D_ERR_DEVICE, "LDI regions (cuda): listed node %d", (int)mnode[k]);
        out->mask_edge[mnode[k]] = medge[k];
    }
    for (int32_t k = 0; k < mc; k++) {
        if (cnode[k] < 0 || cnode[k] >= n) return p3d_fail(P3D_ERR_DEVICE, "LDI regions (cuda): listed node %d", (int)cnode[k]);
        out->ctx_edge[cnode[k]] = cedge[k];
        out->erode[cnode[k]] = h[L.erode + static_cast<size_t>(k)];
    }
    take(h, L.n_mask, une, out->n_mask);
    take(h, L.n_ctx, une, out->n_ctx);
    return P3D_OK;
}

// The arena holds the resident LDI (29 bytes a node, 4 a canvas pixel, and its 4.3 MB staging) below
// the largest launcher, the regions: per node the ring state and frontier lists (24), the results (9),
// the packed results (at most 17) and the edge ids (4); per edge the ring counts (4 (ct + 1)) and 21
// more; up to 32 arrays of alignment slack. (The edges need 38 bytes a node; the build about 74 an image
// pixel, 36 of them its island refill's: ring 4, vote key 8, the vote table 24, two slots a pixel.) The
// estimate: 3/2 nodes per canvas pixel (moon at 960 ends with 1.10 after both passes) and 4096 edges
// (moon: 219).
extern "C" p3d_status p3d_ldi_cuda_plan(p3d_cuda_ctx *ctx, int32_t w, int32_t h, const p3d_ldi_opts *o) {
    const size_t px = static_cast<size_t>(w + 2 * o->border) * static_cast<size_t>(h + 2 * o->border);
    const size_t nodes = px + px / 2, edges = 4096;
    const int32_t ct = o->context_thickness > o->context_thickness_2 ? o->context_thickness : o->context_thickness_2;
    const size_t resident = nodes * 29 + px * 4 + P3D_LDI_PACK_CHUNKS * (sizeof(int64_t) + P3D_LDI_CHUNK) + 8 * 256;
    const size_t bytes = resident + nodes * 54 + edges * (4 * (static_cast<size_t>(ct) + 1) + 21) + 32 * 256;
    return p3d_cuda_arena_reserve(ctx, bytes);
}

extern "C" p3d_status p3d_ldi_regions_cuda(p3d_cuda_ctx *ctx, const p3d_ldi *l, const p3d_ldi_edges *e,
                                           const p3d_ldi_ring_plan *plan, p3d_ldi_regions *out) {
    ldi_pool pl = pool_open(ctx);
    const p3d_status s = regions_run(&pl, l, e, plan, out);
    pool_free(&pl);
    return s;
}
