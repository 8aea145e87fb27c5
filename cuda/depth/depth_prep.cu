// depth_prep.cu - CUDA twin of the filter passes of host/depth/depth_prep.c: one thread per pixel, first the
// discontinuity map, then the masked median (depth_prep_math.h), so the GPU selects the same values.
#include "depth/depth_prep.h"
#include "depth/depth_prep_math.h"
#include "p3d_cuda_check.h"

#define P3D_DP_THREADS 256

// disc (h, w) from depth (h, w).
static __global__ void dp_disc_kernel(const float *depth, uint8_t *disc, int32_t w, int32_t h, double threshold) {
    const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i >= static_cast<int64_t>(w) * h) return;
    disc[i] = p3d_dp_discontinuity(depth, h, w, static_cast<int32_t>(i / w), static_cast<int32_t>(i % w), threshold);
}

// dst (h, w) = one filter pass over src (h, w) with its discontinuity map.
static __global__ void dp_filter_kernel(const float *src, const uint8_t *disc, float *dst, int32_t w, int32_t h,
                                        int32_t window, int32_t snap, double threshold) {
    const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i >= static_cast<int64_t>(w) * h) return;
    dst[i] = p3d_dp_filter_pixel(src, disc, h, w, static_cast<int32_t>(i / w), static_cast<int32_t>(i % w), window, snap,
                                 threshold);
}

// dst (h, w) = src with one-pixel columns of in-between depth joined to a side.
static __global__ void dp_between_kernel(const float *src, float *dst, int32_t w, int32_t h, double threshold) {
    const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i >= static_cast<int64_t>(w) * h) return;
    dst[i] = p3d_dp_between_pixel(src, h, w, static_cast<int32_t>(i / w), static_cast<int32_t>(i % w), threshold);
}

extern "C" p3d_status p3d_depth_sharpen_pass_cuda(p3d_cuda_ctx *ctx, const float *src, float *dst, uint8_t *disc,
                                                  int32_t w, int32_t h, int32_t window, double threshold,
                                                  int32_t snap) {
    const int64_t n = static_cast<int64_t>(w) * h;
    const unsigned blocks = p3d_cuda_blocks(n, P3D_DP_THREADS);
    P3D_LAUNCH(dp_disc_kernel, blocks, P3D_DP_THREADS, 0, ctx->stream)(src, disc, w, h, threshold);
    P3D_CUDA_LAUNCH_CHECK(ctx, "depth_prep discontinuities");
    P3D_LAUNCH(dp_filter_kernel, blocks, P3D_DP_THREADS, 0, ctx->stream)(src, disc, dst, w, h, window, snap, threshold);
    P3D_CUDA_LAUNCH_CHECK(ctx, "depth_prep filter");
    return P3D_OK;
}

extern "C" p3d_status p3d_depth_between_pass_cuda(p3d_cuda_ctx *ctx, const float *src, float *dst, int32_t w, int32_t h,
                                                  double threshold) {
    const int64_t n = static_cast<int64_t>(w) * h;
    P3D_LAUNCH(dp_between_kernel, p3d_cuda_blocks(n, P3D_DP_THREADS), P3D_DP_THREADS, 0, ctx->stream)(src, dst, w, h,
                                                                                                    threshold);
    P3D_CUDA_LAUNCH_CHECK(ctx, "depth_prep in-between step");
    return P3D_OK;
}

// dst (h, w) = src with the photo's fringe pixels joined to the near side of their depth edge.
static __global__ void dp_fringe_kernel(const float *src, const uint8_t *rgb, float *dst, int32_t w, int32_t h,
                                        double threshold) {
    const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i >= static_cast<int64_t>(w) * h) return;
    dst[i] = p3d_dp_fringe_pixel(src, rgb, h, w, static_cast<int32_t>(i / w), static_cast<int32_t>(i % w), threshold);
}

extern "C" p3d_status p3d_depth_fringe_pass_cuda(p3d_cuda_ctx *ctx, const float *src, const uint8_t *rgb, float *dst,
                                                 int32_t w, int32_t h, double threshold) {
    const int64_t n = static_cast<int64_t>(w) * h;
    P3D_LAUNCH(dp_fringe_kernel, p3d_cuda_blocks(n, P3D_DP_THREADS), P3D_DP_THREADS, 0, ctx->stream)(src, rgb, dst, w, h,
                                                                                                   threshold);
    P3D_CUDA_LAUNCH_CHECK(ctx, "depth_prep fringe step");
    return P3D_OK;
}
