// rgb_nv12.cu - the CUDA twin of p3d_rgb_to_nv12_cpu (host/io/video.c): one thread per 2 x 2 block, the shared
// P3D_HD rule of video.h (bit-identical to the CPU). Writes straight into an NVENC input frame (FFmpeg's CUDA
// frames: pitched NV12 planes), so a rendered frame is encoded without leaving the device.
#include "io/video.h"
#include "p3d_cuda.h"
#include "p3d_cuda_check.h"

static __global__ void rgb_nv12_kernel(const uint8_t *rgb, int32_t w, int32_t h, uint8_t *y, int64_t y_pitch,
                                       uint8_t *uv, int64_t uv_pitch) {
    const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    const int32_t bw = w / 2;
    if (i >= static_cast<int64_t>(bw) * (h / 2)) return;
    p3d_nv12_block(rgb, w, static_cast<int32_t>(i % bw), static_cast<int32_t>(i / bw), y, y_pitch, uv, uv_pitch);
}

extern "C" p3d_status p3d_rgb_to_nv12_cuda(p3d_cuda_ctx *ctx, const uint8_t *rgb, int32_t w, int32_t h, uint8_t *y,
                                           int64_t y_pitch, uint8_t *uv, int64_t uv_pitch) {
    if (w < 2 || h < 2 || w % 2 || h % 2 || y_pitch < w || uv_pitch < w)
        return p3d_fail(P3D_ERR_INVALID_ARG, "rgb_to_nv12: %dx%d (pitches %lld, %lld): need even sides, pitches >= width",
                        (int)w, (int)h, (long long)y_pitch, (long long)uv_pitch);
    const int64_t blocks = static_cast<int64_t>(w / 2) * (h / 2);
    const int threads = 256;
    P3D_LAUNCH(rgb_nv12_kernel, p3d_cuda_blocks(blocks, threads), threads, 0, ctx->stream)(rgb, w, h, y, y_pitch, uv,
                                                                                           uv_pitch);
    P3D_CUDA_LAUNCH_CHECK(ctx, "rgb_to_nv12");
    return P3D_OK;
}
