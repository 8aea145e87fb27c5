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

/* The four taps of a bilinear sample at glTF coordinates (u, v) on a (th, tw) texture (u right, v down,
 * [0, 1] across the texture; texel k's centre at (k + 0.5) / size), clamped to the edge texels: the
 * texels (x0, y0) .. (x1, y1) and the fractions fx, fy between them. */
typedef struct p3d_tex_taps {
    int32_t x0, y0, x1, y1;
    float fx, fy;
} p3d_tex_taps;

P3D_HD p3d_tex_taps p3d_tex_bilinear_taps(int32_t tw, int32_t th, float u, float v) {
    float x = p3d_tex_mul(u, (float)tw) - 0.5f, y = p3d_tex_mul(v, (float)th) - 0.5f;
    x = x < 0.0f ? 0.0f : (x > (float)(tw - 1) ? (float)(tw - 1) : x);
    y = y < 0.0f ? 0.0f : (y > (float)(th - 1) ? (float)(th - 1) : y);
    p3d_tex_taps t;
    t.x0 = (int32_t)x, t.y0 = (int32_t)y;
    t.x1 = t.x0 + 1 < tw ? t.x0 + 1 : t.x0, t.y1 = t.y0 + 1 < th ? t.y0 + 1 : t.y0;
    t.fx = x - (float)t.x0, t.fy = y - (float)t.y0;
    return t;
}

/* The lerps of the first three channels of the texels a (x0, y0), b (x1, y0), c (x0, y1), d (x1, y1). */
P3D_HD void p3d_tex_lerp(const uint8_t *a, const uint8_t *b, const uint8_t *c, const uint8_t *d, float fx, float fy,
                         float out[3]) {
    for (int32_t k = 0; k < 3; k++) {
        const float top = (float)a[k] + p3d_tex_mul(fx, (float)b[k] - (float)a[k]);
        const float bot = (float)c[k] + p3d_tex_mul(fx, (float)d[k] - (float)c[k]);
        out[k] = top + p3d_tex_mul(fy, bot - top);
    }
}

/* Bilinear sample of an RGB texture (tex_h, tex_w, 3) at glTF coordinates (u, v), clamped to the edge
 * texels - the sampler the GLB asks for (LINEAR, CLAMP_TO_EDGE), without mipmaps. */
P3D_HD void p3d_tex_bilinear(const uint8_t *tex, int32_t tw, int32_t th, float u, float v, float out[3]) {
    const p3d_tex_taps t = p3d_tex_bilinear_taps(tw, th, u, v);
    p3d_tex_lerp(tex + 3 * ((int64_t)t.y0 * tw + t.x0), tex + 3 * ((int64_t)t.y0 * tw + t.x1),
                 tex + 3 * ((int64_t)t.y1 * tw + t.x0), tex + 3 * ((int64_t)t.y1 * tw + t.x1), t.fx, t.fy, out);
}

#endif
