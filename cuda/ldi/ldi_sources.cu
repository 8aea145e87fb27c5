// ldi_sources.cu - CUDA twin of the non-learned fill's source rules (host/ldi/ldi_inpaint.c
// p3d_ldi_sources; the per-pixel rules in host/ldi/ldi_sources_math.h, which the host calls too): a
// patch's fill labels are made on the device from its inputs there, instead of going up (issue 14).
//
//   p3d_ldi_sources_cuda         the rules over a patch's flags (h, w), depth, occ, rgb on the device:
//                                one thread a pixel per rule, in the host's order (seeds, flood,
//                                support and seam, keep, the sources' fallback, colour sources, labels)
//   p3d_ldi_sources_gather_cuda  the same from the device LDI: up goes one byte a patch pixel (its crop
//                                flags and its node's layer, p3d_ldi_src_code; half a byte when every
//                                pixel's fits, p3d_ldi_src_nibble) instead of the labels
//                                (1 byte a pixel) and the context pixels' layers (1 byte each,
//                                ldi_gather.cu); decode_kernel reads the nodes' colours, depths and the
//                                occluder's depth there (p3d_ldi_gather_px, as the host's crop)
//
// The patch-wide values are reductions into one p3d_ldi_src_sums in device scratch: integer sums of
// the 8-bit colours and counts by atomicAdd (exact in any order), the farthest seed occluder and the
// seam by atomicMin / atomicMax on the float bits (positive floats order as their bits). The flood of
// the occluder's surface (the host's stack) is the growth rule iterated to its fixed point in one
// block: each round sweeps every row both ways, then every column both ways, marking in place (a mark
// only ever turns on and the rule reads marks, so the order of the marking does not change the fixed
// point: the seeds' reach); the block stops after a round that marked nothing, decided on the device
// (three rotating flags in shared memory, so a flag is never cleared while a thread may still read it),
// with no host synchronisation. A path with k turns needs about k rounds.
#include "inpaint/fill_classic_math.h"
#include "ldi/ldi_sources_math.h"
#include "ldi/ldi_stages.h"
#include "p3d_cuda_check.h"

#define P3D_LDI_SRC_THREADS 256

#define SRC_INDEX() (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x)

static __device__ void moments_add(p3d_ldi_src_moments *m, const uint8_t c[3]) {
    for (int32_t ch = 0; ch < 3; ch++) {
        atomicAdd(reinterpret_cast<unsigned long long *>(&m->sum[ch]), static_cast<unsigned long long>(c[ch]));
        atomicAdd(reinterpret_cast<unsigned long long *>(&m->sq[ch]), static_cast<unsigned long long>(c[ch]) * c[ch]);
    }
    atomicAdd(reinterpret_cast<unsigned long long *>(&m->n), 1ull);
}

static __global__ void sums_init_kernel(p3d_ldi_src_sums *s) {
    if (threadIdx.x == 0 && blockIdx.x == 0) p3d_ldi_src_sums_init(s);
}

// Pixel k of the crop at (x0, y0) from its code: the input flags; on a context pixel its node's colour
// and depth, on a mask pixel its node's depth (the occluder) and colour moments; 0 elsewhere.
static __global__ void decode_kernel(const p3d_ldi v, int32_t x0, int32_t y0, int32_t w, int32_t h, const uint8_t *up,
                                     int32_t nibbles, uint8_t *f, float *occ, float *rgb, float *depth,
                                     p3d_ldi_src_sums *s) {
    const int64_t k = SRC_INDEX();
    if (k >= static_cast<int64_t>(w) * h) return;
    const uint8_t code = p3d_ldi_src_code_at(up, k, nibbles);
    const uint8_t fl = p3d_ldi_src_code_flags(code);
    const int32_t layer = p3d_ldi_src_code_layer(code);
    const int64_t pix = static_cast<int64_t>(y0 + k / w) * v.ext_w + x0 + k % w;
    const int32_t a = layer >= 0 ? p3d_ldi_layer_node(v.head, v.next, pix, layer) : -1;
    f[k] = fl;
    occ[k] = 0.0f;
    for (int32_t c = 0; c < 3; c++) rgb[3 * k + c] = 0.0f;
    depth[k] = 0.0f;
    if ((fl & P3D_LDI_SRC_CTX) && a >= 0) p3d_ldi_gather_px(v.rgb, v.depth, a, rgb + 3 * k, depth + k);
    if ((fl & P3D_LDI_SRC_MASK) && a >= 0) {
        occ[k] = v.depth[a];
        moments_add(&s->fg, v.rgb + 3 * static_cast<int64_t>(a));
    }
}

static __global__ void seed_kernel(uint8_t *f, const float *depth, const float *occ, int32_t w, int32_t h, float thr,
                                   p3d_ldi_src_sums *s) {
    const int64_t k = SRC_INDEX();
    if (k >= static_cast<int64_t>(w) * h) return;
    float far;
    if (!p3d_ldi_src_seed(f, depth, occ, w, h, static_cast<int32_t>(k % w), static_cast<int32_t>(k / w), thr, &far)) return;
    f[k] |= P3D_LDI_SRC_FG;
    atomicMin(&s->far, p3d_ldi_src_bits(far));
}

static __device__ int32_t grow_at(uint8_t *f, const float *depth, int32_t w, int32_t h, int32_t x, int32_t y, float far,
                                  float thr) {
    if (!p3d_ldi_src_grows(f, depth, w, h, x, y, far, thr)) return 0;
    f[static_cast<int64_t>(y) * w + x] |= P3D_LDI_SRC_FG;
    return 1;
}

// One block: the growth rule to its fixed point (see the top of the file).
static __global__ void flood_kernel(uint8_t *f, const float *depth, int32_t w, int32_t h, float thr,
                                    const p3d_ldi_src_sums *s) {
    P3D_SHARED(int32_t, flag, [3]);
    const float far = p3d_ldi_src_float(s->far);
    const int32_t t = static_cast<int32_t>(threadIdx.x), nt = static_cast<int32_t>(blockDim.x);
    if (t < 3) flag[t] = 0;
    __syncthreads();
    for (int32_t r = 0;; r++) {
        if (t == 0) flag[(r + 1) % 3] = 0; // the next round's flag: its last readers finished round r - 2
        int32_t any = 0;
        for (int32_t y = t; y < h; y += nt) {
            for (int32_t x = 0; x < w; x++) any |= grow_at(f, depth, w, h, x, y, far, thr);
            for (int32_t x = w - 1; x >= 0; x--) any |= grow_at(f, depth, w, h, x, y, far, thr);
        }
        __syncthreads();
        for (int32_t x = t; x < w; x += nt) {
            for (int32_t y = 0; y < h; y++) any |= grow_at(f, depth, w, h, x, y, far, thr);
            for (int32_t y = h - 1; y >= 0; y--) any |= grow_at(f, depth, w, h, x, y, far, thr);
        }
        if (any) flag[r % 3] = 1;
        __syncthreads();
        if (!flag[r % 3]) break;
    }
}

// Support, then (from the pixel's own support) the colour context's moments and the seam.
static __global__ void support_kernel(uint8_t *f, const float *depth, const float *rgb, int32_t w, int32_t h, float thr,
                                      p3d_ldi_src_sums *s) {
    const int64_t k = SRC_INDEX();
    if (k >= static_cast<int64_t>(w) * h) return;
    const int32_t x = static_cast<int32_t>(k % w), y = static_cast<int32_t>(k / w);
    if (!p3d_ldi_src_supported(f, depth, w, h, x, y, thr)) return;
    f[k] |= P3D_LDI_SRC_SUP;
    if (!(f[k] & P3D_LDI_SRC_ERODE)) {
        uint8_t c[3];
        p3d_ldi_src_u8(rgb, k, c);
        moments_add(&s->bg, c);
    }
    const float seam = p3d_ldi_src_seam(f, depth, w, h, x, y);
    if (seam > 0.0f) atomicMax(&s->seam, p3d_ldi_src_bits(seam));
}

static __global__ void keep_kernel(uint8_t *f, const float *depth, const float *rgb, int32_t w, int32_t h, float thr,
                                   p3d_ldi_src_sums *s) {
    const int64_t k = SRC_INDEX();
    if (k >= static_cast<int64_t>(w) * h) return;
    p3d_ldi_src_test t;
    p3d_ldi_src_test_make(s, &t);
    if (!p3d_ldi_src_keep(f, depth, rgb, k, p3d_ldi_src_float(s->seam), thr, &t)) return;
    f[k] |= P3D_LDI_SRC_SRC;
    atomicAdd(&s->kept, 1);
}

// The sources' fallback (none kept: the whole context), then the photo's own sources of an edge's patch.
static __global__ void real_kernel(uint8_t *f, int32_t w, int32_t h, int32_t id, p3d_ldi_src_sums *s) {
    const int64_t k = SRC_INDEX();
    if (k >= static_cast<int64_t>(w) * h) return;
    if (s->kept == 0 && (f[k] & P3D_LDI_SRC_CTX)) f[k] |= P3D_LDI_SRC_SRC;
    if (id >= 0 && (f[k] & (P3D_LDI_SRC_SRC | P3D_LDI_SRC_SYNTH)) == P3D_LDI_SRC_SRC) atomicAdd(&s->real, 1);
}

static __global__ void colour_kernel(uint8_t *f, int32_t w, int32_t h, int32_t id, p3d_ldi_src_sums *s) {
    const int64_t k = SRC_INDEX();
    if (k >= static_cast<int64_t>(w) * h) return;
    int32_t kept = 0;
    if (p3d_ldi_src_colour(f, w, h, static_cast<int32_t>(k % w), static_cast<int32_t>(k / w), id,
                           s->real >= P3D_LDI_SRC_MIN_REAL, &kept))
        f[k] |= P3D_LDI_SRC_CSRC;
    if (kept) atomicAdd(&s->ckept, 1);
}

// The fill's labels (the colour sources' fallback: none kept, every source); rgb / depth (unless NULL)
// take 0 off the labels' context, as p3d_fill_unpack leaves them.
static __global__ void label_kernel(uint8_t *f, int32_t w, int32_t h, const p3d_ldi_src_sums *s, uint8_t *label,
                                    float *rgb, float *depth) {
    const int64_t k = SRC_INDEX();
    if (k >= static_cast<int64_t>(w) * h) return;
    if (s->ckept == 0 && (f[k] & P3D_LDI_SRC_SRC)) f[k] |= P3D_LDI_SRC_CSRC;
    label[k] = p3d_ldi_src_label(f[k]);
    if (rgb && label[k] != P3D_FILL_CONTEXT) {
        for (int32_t c = 0; c < 3; c++) rgb[3 * k + c] = 0.0f;
        depth[k] = 0.0f;
    }
}

// The rules after the decode (sums holds the occluder's moments, the rest as p3d_ldi_src_sums_init).
static p3d_status sources_run(p3d_cuda_ctx *ctx, int32_t w, int32_t h, int32_t id, float thr, uint8_t *f,
                              const float *depth, const float *occ, const float *rgb, p3d_ldi_src_sums *s,
                              uint8_t *label, float *zero_rgb, float *zero_depth) {
    const int64_t m = static_cast<int64_t>(w) * h;
    const unsigned blocks = p3d_cuda_blocks(m, P3D_LDI_SRC_THREADS);
    P3D_LAUNCH(seed_kernel, blocks, P3D_LDI_SRC_THREADS, 0, ctx->stream)(f, depth, occ, w, h, thr, s);
    P3D_LAUNCH(flood_kernel, 1, P3D_LDI_SRC_THREADS, 0, ctx->stream)(f, depth, w, h, thr, s);
    P3D_LAUNCH(support_kernel, blocks, P3D_LDI_SRC_THREADS, 0, ctx->stream)(f, depth, rgb, w, h, thr, s);
    P3D_LAUNCH(keep_kernel, blocks, P3D_LDI_SRC_THREADS, 0, ctx->stream)(f, depth, rgb, w, h, thr, s);
    P3D_LAUNCH(real_kernel, blocks, P3D_LDI_SRC_THREADS, 0, ctx->stream)(f, w, h, id, s);
    P3D_LAUNCH(colour_kernel, blocks, P3D_LDI_SRC_THREADS, 0, ctx->stream)(f, w, h, id, s);
    P3D_LAUNCH(label_kernel, blocks, P3D_LDI_SRC_THREADS, 0, ctx->stream)(f, w, h, s, label, zero_rgb, zero_depth);
    P3D_CUDA_LAUNCH_CHECK(ctx, "LDI sources");
    return P3D_OK;
}

extern "C" p3d_status p3d_ldi_sources_cuda(p3d_cuda_ctx *ctx, int32_t w, int32_t h, int32_t id, float thr, uint8_t *f,
                                           const float *depth, const float *occ, const float *rgb,
                                           p3d_ldi_src_sums *sums, uint8_t *label) {
    if (w < 1 || h < 1) return p3d_fail(P3D_ERR_INVALID_ARG, "LDI sources (cuda): empty %dx%d patch", (int)w, (int)h);
    return sources_run(ctx, w, h, id, thr, f, depth, occ, rgb, sums, label, nullptr, nullptr);
}

extern "C" size_t p3d_ldi_sources_scratch(int32_t w, int32_t h) {
    const size_t m = static_cast<size_t>(w) * static_cast<size_t>(h);
    return 256 + m * sizeof(float) + 2 * m;
}

extern "C" p3d_status p3d_ldi_sources_gather_cuda(p3d_cuda_ctx *ctx, const p3d_ldi *l, int32_t x0, int32_t y0, int32_t w,
                                                  int32_t h, int32_t id, float thr, const uint8_t *code, int32_t nibbles,
                                                  uint8_t *tmp, size_t tmp_bytes, uint8_t *label, float *rgb, float *depth,
                                                  int32_t *done) {
    *done = 0;
    if (w < 1 || h < 1 || x0 < 0 || y0 < 0 || x0 + w > l->ext_w || y0 + h > l->ext_h)
        return p3d_fail(P3D_ERR_INVALID_ARG, "LDI sources (cuda): crop %dx%d at (%d, %d) outside the %dx%d canvas", (int)w,
                        (int)h, (int)x0, (int)y0, (int)l->ext_w, (int)l->ext_h);
    p3d_ldi v;
    if (tmp_bytes < p3d_ldi_sources_scratch(w, h) || !p3d_ldi_cuda_resident_current(ctx, l, &v)) return P3D_OK;
    // tmp: the sums (256 bytes), occ (h, w) f32, the flags (h, w), the codes (h, w)
    const size_t m = static_cast<size_t>(w) * static_cast<size_t>(h);
    p3d_ldi_src_sums *s = reinterpret_cast<p3d_ldi_src_sums *>(tmp);
    float *occ = reinterpret_cast<float *>(tmp + 256);
    uint8_t *f = tmp + 256 + m * sizeof(float), *dcode = f + m;
    P3D_TRY(p3d_cuda_memcpy_h2d(ctx, dcode, code, nibbles ? (m + 1) / 2 : m));
    P3D_LAUNCH(sums_init_kernel, 1, 32, 0, ctx->stream)(s);
    P3D_LAUNCH(decode_kernel, p3d_cuda_blocks(static_cast<int64_t>(m), P3D_LDI_SRC_THREADS), P3D_LDI_SRC_THREADS, 0,
               ctx->stream)(v, x0, y0, w, h, dcode, nibbles, f, occ, rgb, depth, s);
    P3D_CUDA_LAUNCH_CHECK(ctx, "LDI sources decode");
    P3D_TRY(sources_run(ctx, w, h, id, thr, f, depth, occ, rgb, s, label, rgb, depth));
    *done = 1;
    return P3D_OK;
}
