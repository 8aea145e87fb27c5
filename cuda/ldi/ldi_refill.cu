// ldi_refill.cu - the LDI build's island refill on the device (spec 2.8; the CPU reference is
// host/ldi/ldi_build.c refill, the per-pixel rules host/ldi/ldi_build_math.h). All islands at once:
//
//   vote   one thread per dropped pixel (the build's list of them) offers each kept 4-neighbour's
//          component to its island: the (island, component) pair is counted in a hash table by
//          atomicCAS on its 64-bit key (linear probing) and atomicAdd on its count; a second pass looks
//          each pair up again and keeps the island's best p3d_ldi_refill_vote_key by a 64-bit
//          atomicMax (the most votes, ties to the smaller label: the CPU's winner, whatever the order).
//   rings  one kernel per ring t over the dropped pixels: a pending pixel with a source (a kept pixel
//          of the winner's component, or a pixel of its island filled at a ring before t) takes their
//          mean depth (p3d_ldi_refill_depth) and ring t. A pixel filled at ring t is no source at ring
//          t, so the kernel writes in place and the result does not depend on thread order. Each ring
//          adds its fills to a counter on the device; the next ring's kernel reads it and exits at
//          once when it is 0 (the frontier is empty), so no ring's size comes back to the host: a round
//          is a fixed number of launches (P3D_LDI_REFILL_RINGS), and the host reads only the last ring's
//          count, with the build's results, to know whether another round is needed.
//   links  one thread per dropped pixel re-decides its four links by the tear rule on the refilled
//          depths (p3d_ldi_refill_link; a link between two dropped pixels by the one on its left or
//          above), writes its depth after the list (the host downloads both at once), and counts the refilled and the
//          unreachable pixels as the CPU does.
// The list kernels run a fixed grid (P3D_REFILL_BLOCKS) striding over the list, whose length stays on
// the device.
#include <climits>

#include "ldi/ldi_build_math.h"
#include "ldi/ldi_refill.h"
#include "p3d_cuda_check.h"

#define P3D_REFILL_THREADS 256
#define P3D_REFILL_BLOCKS 64
#define P3D_REFILL_EMPTY (~0ull)

#define REFILL_LIST_LOOP(k, m)                                                                   \
    for (int64_t k = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; k < (m);      \
         k += static_cast<int64_t>(gridDim.x) * blockDim.x)

static unsigned refill_blocks(int32_t n) {
    const unsigned b = p3d_cuda_blocks(n, P3D_REFILL_THREADS);
    return b < P3D_REFILL_BLOCKS ? b : P3D_REFILL_BLOCKS;
}

// Adds v of every lane of the warp to *counter (one atomic per warp); every lane calls it.
static __device__ void refill_warp_add(int32_t *counter, int32_t v) {
    for (int off = 16; off > 0; off >>= 1) v += __shfl_down_sync(0xffffffffu, v, off);
    if ((threadIdx.x & 31) == 0 && v) atomicAdd(counter, v);
}

// The vote table's first slot for key (cap slots): Fibonacci hashing; probing goes on at next_slot.
static __device__ size_t vote_slot(unsigned long long key, size_t cap) {
    return static_cast<size_t>((key * 0x9E3779B97F4A7C15ull) >> 32) % cap;
}

static __device__ size_t next_slot(size_t s, size_t cap) { return s + 1 == cap ? 0 : s + 1; }

static __device__ unsigned long long vote_pair(int32_t island, int32_t c) {
    return static_cast<unsigned long long>(static_cast<uint32_t>(island)) << 32 | static_cast<uint32_t>(c);
}

// Marks every dropped pixel pending, clears its island's best key (at the island's name), and counts
// each (island pixel, kept neighbour) contact for the pair (island, neighbour's component). Each contact
// is a grid link and the table has more slots than the grid has links, so a free slot is always found.
static __global__ void contact_kernel(p3d_ldi_refill_dev r) {
    const int32_t m = *r.n_list, w = r.w, h = r.h;
    const size_t cap = r.cap;
    REFILL_LIST_LOOP(k, m) {
        const int32_t p = r.list[k], u = p % w, v = p / w, isl = r.island[p];
        r.ring[p] = P3D_LDI_RING_PENDING;
        if (isl == p) r.best[p] = 0;
        const int32_t q[4] = {v > 0 ? p - w : -1, v + 1 < h ? p + w : -1, u > 0 ? p - 1 : -1, u + 1 < w ? p + 1 : -1};
        for (int32_t d = 0; d < 4; d++) {
            if (q[d] < 0 || !r.keep[q[d]]) continue;
            const unsigned long long key = vote_pair(isl, r.label[q[d]]);
            for (size_t s = vote_slot(key, cap);; s = next_slot(s, cap)) {
                const unsigned long long old = atomicCAS(&r.keys[s], P3D_REFILL_EMPTY, key);
                if (old == P3D_REFILL_EMPTY || old == key) {
                    atomicAdd(&r.votes[s], 1);
                    break;
                }
            }
        }
    }
}

// After all contacts are counted: each contact looks its pair up and offers the pair's vote key.
static __global__ void winner_kernel(p3d_ldi_refill_dev r) {
    const int32_t m = *r.n_list, w = r.w, h = r.h;
    const size_t cap = r.cap;
    REFILL_LIST_LOOP(k, m) {
        const int32_t p = r.list[k], u = p % w, v = p / w, isl = r.island[p];
        const int32_t q[4] = {v > 0 ? p - w : -1, v + 1 < h ? p + w : -1, u > 0 ? p - 1 : -1, u + 1 < w ? p + 1 : -1};
        for (int32_t d = 0; d < 4; d++) {
            if (q[d] < 0 || !r.keep[q[d]]) continue;
            const int32_t c = r.label[q[d]];
            const unsigned long long key = vote_pair(isl, c);
            size_t s = vote_slot(key, cap);
            while (r.keys[s] != key) s = next_slot(s, cap);
            atomicMax(&r.best[isl], p3d_ldi_refill_vote_key(r.votes[s], c));
        }
    }
}

// A round's ring counters: rings[0] carries the count of the ring before the round (first round: 1,
// so its first ring runs), rings[1..] are cleared.
static __global__ void ring_carry_kernel(int32_t *rings, int32_t first) {
    if (blockIdx.x != 0 || threadIdx.x != 0) return;
    rings[0] = first ? 1 : rings[P3D_LDI_REFILL_RINGS];
    for (int32_t j = 1; j <= P3D_LDI_REFILL_RINGS; j++) rings[j] = 0;
}

// Ring t, the round's j-th: nothing when ring j - 1 filled nothing (the frontier is empty).
static __global__ void ring_kernel(p3d_ldi_refill_dev r, int32_t j, int32_t t) {
    if (r.rings[j - 1] == 0) return;
    const int32_t m = *r.n_list, w = r.w, h = r.h;
    int32_t filled = 0;
    REFILL_LIST_LOOP(k, m) {
        const int32_t p = r.list[k];
        if (r.ring[p] != P3D_LDI_RING_PENDING) continue;
        const int32_t winner = p3d_ldi_refill_winner(r.best[r.island[p]]);
        float d;
        if (winner >= 0 && p3d_ldi_refill_depth(r.depth, r.keep, r.label, r.island, r.ring, w, h, p % w, p / w, winner,
                                                 t, &d)) {
            r.depth[p] = d;
            r.ring[p] = t;
            filled++;
        }
    }
    refill_warp_add(&r.rings[j], filled);
}

// The links at island pixels, the list's depths and the counts (counts[0..1] cleared before).
static __global__ void relink_kernel(p3d_ldi_refill_dev r) {
    const int32_t m = *r.n_list, w = r.w, h = r.h;
    int32_t refilled = 0, unreachable = 0;
    REFILL_LIST_LOOP(k, m) {
        const int32_t p = r.list[k], u = p % w, v = p / w;
        r.right[p] = p3d_ldi_refill_link(r.depth, r.keep, w, h, u, v, 0, r.thr, r.right[p]);
        r.down[p] = p3d_ldi_refill_link(r.depth, r.keep, w, h, u, v, 1, r.thr, r.down[p]);
        // a link from a kept pixel to this one is this thread's; from a dropped one, that pixel's thread's
        if (u > 0 && r.keep[p - 1]) r.right[p - 1] = p3d_ldi_refill_link(r.depth, r.keep, w, h, u - 1, v, 0, r.thr, r.right[p - 1]);
        if (v > 0 && r.keep[p - w]) r.down[p - w] = p3d_ldi_refill_link(r.depth, r.keep, w, h, u, v - 1, 1, r.thr, r.down[p - w]);
        reinterpret_cast<float *>(r.list + m)[k] = r.depth[p];
        refilled += p3d_ldi_refill_winner(r.best[r.island[p]]) >= 0;
        unreachable += r.ring[p] == P3D_LDI_RING_PENDING;
    }
    refill_warp_add(&r.counts[0], refilled);
    refill_warp_add(&r.counts[1], unreachable);
    if (blockIdx.x == 0 && threadIdx.x == 0) r.counts[2] = r.rings[P3D_LDI_REFILL_RINGS];
}

p3d_status p3d_ldi_refill_cuda_open(p3d_cuda_ctx *ctx, p3d_ldi_refill_dev *r) {
    const size_t n = static_cast<size_t>(r->w) * static_cast<size_t>(r->h);
    // more slots than grid links ((w - 1) h + w (h - 1) < 2 n; each contact is one): 24 bytes a pixel
    const size_t cap = 2 * n + 1;
    r->cap = cap;
    void *p = nullptr;
    P3D_TRY(p3d_cuda_arena_get(ctx, n * sizeof(int32_t), &p));
    r->ring = static_cast<int32_t *>(p);
    P3D_TRY(p3d_cuda_arena_get(ctx, n * sizeof(unsigned long long), &p));
    r->best = static_cast<unsigned long long *>(p);
    P3D_TRY(p3d_cuda_arena_get(ctx, cap * sizeof(unsigned long long), &p));
    r->keys = static_cast<unsigned long long *>(p);
    P3D_TRY(p3d_cuda_arena_get(ctx, cap * sizeof(int32_t), &p));
    r->votes = static_cast<int32_t *>(p);
    P3D_TRY(p3d_cuda_arena_get(ctx, (P3D_LDI_REFILL_RINGS + 1) * sizeof(int32_t), &p));
    r->rings = static_cast<int32_t *>(p);
    r->next_ring = 1;
    const unsigned blocks = refill_blocks(static_cast<int32_t>(n));
    P3D_CUDA_CHECK(cudaMemsetAsync(r->keys, 0xff, cap * sizeof(unsigned long long), ctx->stream));
    P3D_CUDA_CHECK(cudaMemsetAsync(r->votes, 0, cap * sizeof(int32_t), ctx->stream));
    P3D_LAUNCH(contact_kernel, blocks, P3D_REFILL_THREADS, 0, ctx->stream)(*r);
    P3D_CUDA_LAUNCH_CHECK(ctx, "LDI refill votes");
    P3D_LAUNCH(winner_kernel, blocks, P3D_REFILL_THREADS, 0, ctx->stream)(*r);
    P3D_CUDA_LAUNCH_CHECK(ctx, "LDI refill winners");
    return P3D_OK;
}

p3d_status p3d_ldi_refill_cuda_rings(p3d_cuda_ctx *ctx, p3d_ldi_refill_dev *r) {
    const unsigned blocks = refill_blocks(r->w * r->h);
    P3D_LAUNCH(ring_carry_kernel, 1, 32, 0, ctx->stream)(r->rings, r->next_ring == 1);
    P3D_CUDA_LAUNCH_CHECK(ctx, "LDI refill rings");
    for (int32_t j = 1; j <= P3D_LDI_REFILL_RINGS; j++) {
        P3D_LAUNCH(ring_kernel, blocks, P3D_REFILL_THREADS, 0, ctx->stream)(*r, j, r->next_ring + j - 1);
        P3D_CUDA_LAUNCH_CHECK(ctx, "LDI refill rings");
    }
    r->next_ring += P3D_LDI_REFILL_RINGS;
    P3D_CUDA_CHECK(cudaMemsetAsync(r->counts, 0, 2 * sizeof(int32_t), ctx->stream));
    P3D_LAUNCH(relink_kernel, blocks, P3D_REFILL_THREADS, 0, ctx->stream)(*r);
    P3D_CUDA_LAUNCH_CHECK(ctx, "LDI refill links");
    return P3D_OK;
}
