// fill_gather.cu - CUDA twin of host/inpaint/fill_gather.c: the non-learned fill's static block (label
// pyramids, valid source centres, mask and source lists) built on the device from the level-0 labels,
// with the per-pixel rules of fill_gather_math.h, so the block equals the host's byte for byte and only
// its level-0 labels go up (issue 14); and a filled patch's results compacted to its mask pixels, so only
// those come back. Per level, in stream order: labels (one thread a pixel: copy or
// 2x2 reduction of an earlier level), valid centres (one thread a pixel), then each list by rows: a
// count per row, an exclusive sum of the row counts (one thread: a level has at most a few thousand
// rows), and each row written at its offset, so the lists keep the host's raster order.
#include "inpaint/fill_gather.h"
#include "inpaint/fill_gather_math.h"
#include "p3d_cuda_check.h"

#define P3D_GATHER_THREADS 256

static __global__ void label_kernel(uint8_t *label, const uint8_t *from, int32_t fw, int32_t fh, int32_t w, int32_t h,
                                    int32_t how, int32_t all_context) {
    const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i >= static_cast<int64_t>(w) * h) return;
    const int32_t x = static_cast<int32_t>(i % w), y = static_cast<int32_t>(i / w);
    label[i] = how == P3D_FILL_STATIC_COPY ? from[i] : p3d_fill_label_down_px(from, fw, fh, x, y, all_context);
}

static __global__ void valid_kernel(uint8_t *valid, const uint8_t *label, int32_t w, int32_t h, int32_t r) {
    const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i >= static_cast<int64_t>(w) * h) return;
    valid[i] = p3d_fill_valid_px(label, w, h, r, static_cast<int32_t>(i % w), static_cast<int32_t>(i / w));
}

// rows[y + 1] = entries of row y (rows[0] is set by the scan).
static __global__ void row_count_kernel(int32_t *rows, const uint8_t *label, const uint8_t *valid, int32_t w, int32_t h,
                                        int32_t kind) {
    const int32_t y = static_cast<int32_t>(blockIdx.x * blockDim.x + threadIdx.x);
    if (y >= h) return;
    int32_t n = 0;
    for (int32_t x = 0; x < w; x++) n += p3d_fill_list_has(label, valid, w, x, y, kind);
    rows[y + 1] = n;
}

// rows[y] = entries before row y (one thread).
static __global__ void row_scan_kernel(int32_t *rows, int32_t h) {
    if (blockIdx.x != 0 || threadIdx.x != 0) return;
    int32_t at = 0;
    for (int32_t y = 0; y < h; y++) {
        const int32_t n = rows[y + 1];
        rows[y] = at;
        at += n;
    }
}

static __global__ void row_write_kernel(int32_t *out, const int32_t *rows, const uint8_t *label, const uint8_t *valid,
                                        int32_t w, int32_t h, int32_t kind) {
    const int32_t y = static_cast<int32_t>(blockIdx.x * blockDim.x + threadIdx.x);
    if (y >= h) return;
    int32_t k = rows[y];
    for (int32_t x = 0; x < w; x++)
        if (p3d_fill_list_has(label, valid, w, x, y, kind)) out[k++] = p3d_fill_list_entry(w, x, y, kind);
}

static p3d_status static_list(p3d_cuda_ctx *ctx, uint8_t *base, int32_t *rows, const p3d_fill_static_level *v,
                              int32_t kind) {
    const uint8_t *label = base + v->label, *valid = v->valid >= 0 ? base + v->valid : nullptr;
    int32_t *out = reinterpret_cast<int32_t *>(base + (kind == P3D_FILL_LIST_MASK ? v->list : v->sources));
    const unsigned rb = p3d_cuda_blocks(v->h, P3D_GATHER_THREADS);
    P3D_LAUNCH(row_count_kernel, rb, P3D_GATHER_THREADS, 0, ctx->stream)(rows, label, valid, v->w, v->h, kind);
    P3D_LAUNCH(row_scan_kernel, 1, 32, 0, ctx->stream)(rows, v->h);
    P3D_LAUNCH(row_write_kernel, rb, P3D_GATHER_THREADS, 0, ctx->stream)(out, rows, label, valid, v->w, v->h, kind);
    P3D_CUDA_LAUNCH_CHECK(ctx, "fill_static lists");
    return P3D_OK;
}

extern "C" p3d_status p3d_fill_static_cuda(p3d_cuda_ctx *ctx, uint8_t *base, const p3d_fill_static *d) {
    int32_t *rows = reinterpret_cast<int32_t *>(base + d->scratch);
    for (int32_t l = 0; l < d->n; l++) {
        const p3d_fill_static_level *v = &d->lv[l];
        const unsigned pb = p3d_cuda_blocks(static_cast<int64_t>(v->w) * v->h, P3D_GATHER_THREADS);
        if (v->how != P3D_FILL_STATIC_GIVEN) {
            const p3d_fill_static_level *f = &d->lv[v->from];
            P3D_LAUNCH(label_kernel, pb, P3D_GATHER_THREADS, 0, ctx->stream)(base + v->label, base + f->label, f->w, f->h,
                                                                             v->w, v->h, v->how, v->all_context);
            P3D_CUDA_LAUNCH_CHECK(ctx, "fill_static labels");
        }
        if (v->valid >= 0) {
            P3D_LAUNCH(valid_kernel, pb, P3D_GATHER_THREADS, 0, ctx->stream)(base + v->valid, base + v->label, v->w, v->h,
                                                                             d->r);
            P3D_CUDA_LAUNCH_CHECK(ctx, "fill_static valid");
            P3D_TRY(static_list(ctx, base, rows, v, P3D_FILL_LIST_SOURCES));
        }
        if (v->list >= 0) P3D_TRY(static_list(ctx, base, rows, v, P3D_FILL_LIST_MASK));
    }
    return P3D_OK;
}

// Row y's context pixels take packed entries rows[y].. in order; the other pixels 0.
static __global__ void row_unpack_kernel(float *rgb, float *depth, const int32_t *rows, const uint8_t *label,
                                         const uint8_t *packed, const float *dep, int32_t rgb8, int32_t w, int32_t h) {
    const int32_t y = static_cast<int32_t>(blockIdx.x * blockDim.x + threadIdx.x);
    if (y >= h) return;
    int64_t k = rows[y];
    for (int32_t x = 0; x < w; x++) {
        const int64_t i = static_cast<int64_t>(y) * w + x;
        const int32_t in = label[i] == P3D_FILL_CONTEXT;
        for (int32_t c = 0; c < 3; c++) rgb[3 * i + c] = in ? p3d_fill_unpack_channel(packed, 3 * k + c, rgb8) : 0.0f;
        depth[i] = in ? dep[k] : 0.0f;
        k += in;
    }
}

extern "C" p3d_status p3d_fill_context_rows_cuda(p3d_cuda_ctx *ctx, const uint8_t *label, int32_t w, int32_t h,
                                                 int32_t *rows) {
    P3D_LAUNCH(row_count_kernel, p3d_cuda_blocks(h, P3D_GATHER_THREADS), P3D_GATHER_THREADS, 0, ctx->stream)(
        rows, label, nullptr, w, h, P3D_FILL_LIST_CONTEXT);
    P3D_LAUNCH(row_scan_kernel, 1, 32, 0, ctx->stream)(rows, h);
    P3D_CUDA_LAUNCH_CHECK(ctx, "fill context rows");
    return P3D_OK;
}

extern "C" p3d_status p3d_fill_unpack_cuda(p3d_cuda_ctx *ctx, const uint8_t *label, const uint8_t *packed, int32_t n_ctx,
                                           int32_t rgb8, int32_t w, int32_t h, int32_t *rows, float *rgb, float *depth) {
    const unsigned rb = p3d_cuda_blocks(h, P3D_GATHER_THREADS);
    const float *dep = reinterpret_cast<const float *>(packed + P3D_FILL_PACK_DEPTH(n_ctx, rgb8));
    P3D_TRY(p3d_fill_context_rows_cuda(ctx, label, w, h, rows));
    P3D_LAUNCH(row_unpack_kernel, rb, P3D_GATHER_THREADS, 0, ctx->stream)(rgb, depth, rows, label, packed, dep, rgb8, w, h);
    P3D_CUDA_LAUNCH_CHECK(ctx, "fill_unpack");
    return P3D_OK;
}

// One thread a mask pixel: entry k of the packed results (fill_gather_math.h).
static __global__ void results_kernel(const int32_t *list, int64_t n_mask, const float *rgb, const float *depth,
                                      float *out) {
    const int64_t k = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (k < n_mask) p3d_fill_result_put(list, n_mask, k, rgb, depth, out);
}

extern "C" p3d_status p3d_fill_results_pack_cuda(p3d_cuda_ctx *ctx, const int32_t *list, int64_t n_mask, const float *rgb,
                                                 const float *depth, float *out) {
    if (n_mask == 0) return P3D_OK;
    P3D_LAUNCH(results_kernel, p3d_cuda_blocks(n_mask, P3D_GATHER_THREADS), P3D_GATHER_THREADS, 0, ctx->stream)(
        list, n_mask, rgb, depth, out);
    P3D_CUDA_LAUNCH_CHECK(ctx, "fill_results");
    return P3D_OK;
}
