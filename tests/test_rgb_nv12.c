/* test_rgb_nv12.c - the NVENC path's colour conversion and its fallback (issue 14):
 *  - RGB -> NV12 (io/video.h): known colours give BT.601 limited-range values; the CUDA kernel
 *    equals the CPU twin byte for byte on a random frame with pitched planes (emulated device in CI);
 *  - p3d_video_open_device / p3d_video_write_device: without NVENC on device frames (no driver: the
 *    emulated device, or an FFmpeg without it) the writer falls back to host frames and writes the same
 *    file as a p3d_video_write_rgb loop (mpeg4, repeatable byte for byte); with encoder auto on a CUDA
 *    context it opens either way (NVENC device frames on a GPU with NVENC, host frames elsewhere). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/file_io.h"
#include "io/video.h"
#include "p3d_test.h"
#include "test_ctx.h"
#ifdef P3D_HAVE_CUDA
#include "p3d_cuda.h"
#endif

#define W 64
#define H 48

static void test_known_colours(void) {
    const uint8_t rgb[4 * 3] = {0, 0, 0, 0, 0, 0, 255, 255, 255, 255, 255, 255}; /* 2x2: black row, white row */
    uint8_t y[4], uv[2];
    CHECK_OK(p3d_rgb_to_nv12_cpu(rgb, 2, 2, y, 2, uv, 2));
    CHECK(y[0] == 16 && y[1] == 16 && y[2] == 235 && y[3] == 235);
    CHECK(uv[0] == 128 && uv[1] == 128); /* grey mean: no chroma */
    const uint8_t red[12] = {255, 0, 0, 255, 0, 0, 255, 0, 0, 255, 0, 0};
    CHECK_OK(p3d_rgb_to_nv12_cpu(red, 2, 2, y, 2, uv, 2));
    CHECK_MSG(y[0] == 82 && uv[0] == 90 && uv[1] == 240, "red: Y %d U %d V %d", y[0], uv[0], uv[1]);
    CHECK_FAILS(p3d_rgb_to_nv12_cpu(red, 3, 2, y, 3, uv, 3), P3D_ERR_INVALID_ARG, "even");
}

static void test_cuda_matches_cpu(void) {
#ifdef P3D_HAVE_CUDA
    p3d_ctx *ctx = cuda_ctx_or_skip("CPU-vs-CUDA RGB -> NV12");
    if (!ctx) return;
    const int64_t yp = W + 32, uvp = W + 64; /* pitched planes, as FFmpeg's CUDA frames */
    static uint8_t rgb[W * H * 3], y_cpu[H * (W + 32)], uv_cpu[H / 2 * (W + 64)], y_gpu[H * (W + 32)],
        uv_gpu[H / 2 * (W + 64)];
    uint32_t s = 12345;
    for (size_t i = 0; i < sizeof rgb; i++) rgb[i] = (uint8_t)((s = s * 1664525u + 1013904223u) >> 24);
    memset(y_cpu, 7, sizeof y_cpu);
    memset(uv_cpu, 7, sizeof uv_cpu);
    CHECK_OK(p3d_rgb_to_nv12_cpu(rgb, W, H, y_cpu, yp, uv_cpu, uvp));
    p3d_cuda_ctx *cu = p3d_ctx_cuda(ctx);
    void *d_rgb = NULL, *d_y = NULL, *d_uv = NULL;
    CHECK_OK(p3d_cuda_malloc(cu, sizeof rgb, &d_rgb));
    CHECK_OK(p3d_cuda_malloc(cu, sizeof y_gpu, &d_y));
    CHECK_OK(p3d_cuda_malloc(cu, sizeof uv_gpu, &d_uv));
    if (d_rgb && d_y && d_uv) {
        memset(y_gpu, 7, sizeof y_gpu);
        memset(uv_gpu, 7, sizeof uv_gpu);
        CHECK_OK(p3d_cuda_memcpy_h2d(cu, d_y, y_gpu, sizeof y_gpu)); /* the pitch padding stays as the CPU's */
        CHECK_OK(p3d_cuda_memcpy_h2d(cu, d_uv, uv_gpu, sizeof uv_gpu));
        CHECK_OK(p3d_cuda_memcpy_h2d(cu, d_rgb, rgb, sizeof rgb));
        CHECK_OK(p3d_rgb_to_nv12_cuda(cu, (const uint8_t *)d_rgb, W, H, (uint8_t *)d_y, yp, (uint8_t *)d_uv, uvp));
        CHECK_OK(p3d_cuda_memcpy_d2h(cu, y_gpu, d_y, sizeof y_gpu));
        CHECK_OK(p3d_cuda_memcpy_d2h(cu, uv_gpu, d_uv, sizeof uv_gpu));
        CHECK(!memcmp(y_cpu, y_gpu, sizeof y_cpu));
        CHECK(!memcmp(uv_cpu, uv_gpu, sizeof uv_cpu));
    }
    /* the fallback writer: device frames through the host, the same file as host frames */
    if (p3d_video_available() && p3d_video_has_encoder("mpeg4") && d_rgb) {
        char a[512], b[512], c[512];
        p3d_test_tmp_path("host.mp4", a, sizeof a);
        p3d_test_tmp_path("device.mp4", b, sizeof b);
        p3d_test_tmp_path("auto.mp4", c, sizeof c);
        p3d_video_opts o = p3d_video_opts_default();
        o.encoder = "mpeg4";
        p3d_video_writer *va = NULL, *vb = NULL, *vc = NULL;
        CHECK_OK(p3d_video_open(a, W, H, &o, &va));
        CHECK_OK(p3d_video_open_device(b, W, H, &o, ctx, &vb));
        if (va && vb) {
            CHECK(p3d_video_device_frames(vb) == 0); /* mpeg4 is no NVENC: host frames */
            for (int32_t k = 0; k < 5; k++) {
                for (size_t i = 0; i < sizeof rgb; i++) rgb[i] = (uint8_t)(rgb[i] + 17 * k);
                CHECK_OK(p3d_cuda_memcpy_h2d(cu, d_rgb, rgb, sizeof rgb));
                CHECK_OK(p3d_video_write_rgb(va, rgb));
                CHECK_OK(p3d_video_write_device(vb, (const uint8_t *)d_rgb));
            }
            CHECK_OK(p3d_video_close(va));
            CHECK_OK(p3d_video_close(vb));
            uint8_t *x = NULL, *y = NULL;
            size_t nx = 0, ny = 0;
            CHECK_OK(p3d_file_read(a, 1 << 24, &x, &nx));
            CHECK_OK(p3d_file_read(b, 1 << 24, &y, &ny));
            CHECK_MSG(nx == ny && nx > 0 && x && y && !memcmp(x, y, nx), "device-frame fallback differs from host frames");
            free(x);
            free(y);
        }
        /* encoder auto, NVENC preferred: opens on any machine */
        o = p3d_video_opts_default();
        o.prefer_nvenc = 1;
        CHECK_OK(p3d_video_open_device(c, W, H, &o, ctx, &vc));
        if (vc) {
#ifdef P3D_CUDA_EMU
            CHECK(p3d_video_device_frames(vc) == 0); /* no driver behind the emulated device */
#endif
            printf("  encoder auto on cuda:0: %s, %s frames\n", p3d_video_encoder_name(vc),
                   p3d_video_device_frames(vc) ? "device" : "host");
            CHECK_OK(p3d_video_write_device(vc, (const uint8_t *)d_rgb));
            CHECK_OK(p3d_video_close(vc));
            CHECK(access(c, F_OK) == 0);
        }
        unlink(a), unlink(b), unlink(c);
    }
    p3d_cuda_free(cu, d_rgb);
    p3d_cuda_free(cu, d_y);
    p3d_cuda_free(cu, d_uv);
    p3d_ctx_free(ctx);
#else
    p3d_test_no_cuda();
#endif
}

int main(void) {
    RUN(test_known_colours);
    RUN(test_cuda_matches_cpu);
    return p3d_test_finish();
}
