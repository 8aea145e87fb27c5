/* rgb_nv12_math.h - RGB -> NV12 (BT.601 limited range, as the videos are tagged: video.h), per 2 x 2
 * pixel block: the four luma samples and one interleaved (U, V) pair from the block's mean colour.
 * Integer arithmetic only, so the CPU (rgb_nv12.c) and the CUDA kernel (cuda/io/rgb_nv12.cu) agree
 * bit for bit. The frames NVENC encodes straight from the device buffer (video.h
 * p3d_video_write_device) go through it. */
#ifndef P3D_RGB_NV12_MATH_H
#define P3D_RGB_NV12_MATH_H

#include "core/p3d_hd.h"

/* The 8-bit BT.601 studio-swing coefficients (ITU-R BT.601 in 1/256 steps), rounded. */
P3D_HD uint8_t p3d_nv12_y(int32_t r, int32_t g, int32_t b) {
    return (uint8_t)(((66 * r + 129 * g + 25 * b + 128) >> 8) + 16);
}
P3D_HD uint8_t p3d_nv12_u(int32_t r, int32_t g, int32_t b) {
    return (uint8_t)(((-38 * r - 74 * g + 112 * b + 128) >> 8) + 128);
}
P3D_HD uint8_t p3d_nv12_v(int32_t r, int32_t g, int32_t b) {
    return (uint8_t)(((112 * r - 94 * g - 18 * b + 128) >> 8) + 128);
}

/* Block (bx, by) of an RGB frame (h, w, 3), w and h even: luma rows 2 by and 2 by + 1 of y (pitch
 * y_pitch bytes), the (U, V) pair at column 2 bx of row by of uv (pitch uv_pitch bytes). */
P3D_HD void p3d_nv12_block(const uint8_t *rgb, int32_t w, int32_t bx, int32_t by, uint8_t *y, int64_t y_pitch,
                           uint8_t *uv, int64_t uv_pitch) {
    int32_t sr = 0, sg = 0, sb = 0;
    for (int32_t dy = 0; dy < 2; dy++)
        for (int32_t dx = 0; dx < 2; dx++) {
            const int32_t px = 2 * bx + dx, py = 2 * by + dy;
            const uint8_t *p = rgb + 3 * ((int64_t)py * w + px);
            y[(int64_t)py * y_pitch + px] = p3d_nv12_y(p[0], p[1], p[2]);
            sr += p[0], sg += p[1], sb += p[2];
        }
    /* the block's mean, rounded half up */
    sr = (sr + 2) >> 2, sg = (sg + 2) >> 2, sb = (sb + 2) >> 2;
    uint8_t *c = uv + (int64_t)by * uv_pitch + 2 * bx;
    c[0] = p3d_nv12_u(sr, sg, sb);
    c[1] = p3d_nv12_v(sr, sg, sb);
}

#endif
