/* mesh_tex_math.h - sampling a textured mesh's atlas (P3D_HD: the CPU and CUDA rasterizers,
 * render_math.h, and the compact mesh's atlas resampling, mesh_compact.c, read it the same way).
 * Products go through p3d_tex_mul, __fmul_rn on the device, so nvcc cannot contract them into FMAs
 * (the host C11 build never contracts). */
#ifndef P3D_MESH_TEX_MATH_H
#define P3D_MESH_TEX_MATH_H

#include <stdint.h>

#include "core/p3d_hd.h"

#if defined(__CUDA_ARCH__)
#define p3d_tex_mul(a, b) __fmul_rn((a), (b))
#else
#define p3d_tex_mul(a, b) ((a) * (b))
#endif

/* Bilinear sample of an RGB texture (tex_h, tex_w, 3) at glTF coordinates (u, v) (u right, v down,
 * [0, 1] across the texture; texel k's centre at (k + 0.5) / size), clamped to the edge texels - the
 * sampler the GLB asks for (LINEAR, CLAMP_TO_EDGE), without mipmaps. */
P3D_HD void p3d_tex_bilinear(const uint8_t *tex, int32_t tw, int32_t th, float u, float v, float out[3]) {
    float x = p3d_tex_mul(u, (float)tw) - 0.5f, y = p3d_tex_mul(v, (float)th) - 0.5f;
    x = x < 0.0f ? 0.0f : (x > (float)(tw - 1) ? (float)(tw - 1) : x);
    y = y < 0.0f ? 0.0f : (y > (float)(th - 1) ? (float)(th - 1) : y);
    const int32_t x0 = (int32_t)x, y0 = (int32_t)y;
    const int32_t x1 = x0 + 1 < tw ? x0 + 1 : x0, y1 = y0 + 1 < th ? y0 + 1 : y0;
    const float fx = x - (float)x0, fy = y - (float)y0;
    const uint8_t *a = tex + 3 * ((int64_t)y0 * tw + x0), *b = tex + 3 * ((int64_t)y0 * tw + x1);
    const uint8_t *c = tex + 3 * ((int64_t)y1 * tw + x0), *d = tex + 3 * ((int64_t)y1 * tw + x1);
    for (int32_t k = 0; k < 3; k++) {
        const float top = (float)a[k] + p3d_tex_mul(fx, (float)b[k] - (float)a[k]);
        const float bot = (float)c[k] + p3d_tex_mul(fx, (float)d[k] - (float)c[k]);
        out[k] = top + p3d_tex_mul(fy, bot - top);
    }
}

#endif
