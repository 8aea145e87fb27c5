/* rgb_nv12.c - RGB -> NV12 on the CPU (rgb_nv12.h; CUDA twin: cuda/io/rgb_nv12.cu). */
#include "io/rgb_nv12.h"

#include "io/rgb_nv12_math.h"

p3d_status p3d_rgb_to_nv12_cpu(const uint8_t *rgb, int32_t w, int32_t h, uint8_t *y, int64_t y_pitch, uint8_t *uv,
                               int64_t uv_pitch) {
    if (w < 2 || h < 2 || w % 2 || h % 2 || y_pitch < w || uv_pitch < w)
        return p3d_fail(P3D_ERR_INVALID_ARG, "rgb_to_nv12: %dx%d (pitches %lld, %lld): need even sides, pitches >= width",
                        (int)w, (int)h, (long long)y_pitch, (long long)uv_pitch);
    for (int32_t by = 0; by < h / 2; by++)
        for (int32_t bx = 0; bx < w / 2; bx++) p3d_nv12_block(rgb, w, bx, by, y, y_pitch, uv, uv_pitch);
    return P3D_OK;
}
