/* maxpool2d_math.h - one output element of the max-pool op (P3D_HD, shared by host/maxpool2d.c and
 * cuda/maxpool2d.cu). Definition: maxpool2d.h. */
#ifndef P3D_MAXPOOL2D_MATH_H
#define P3D_MAXPOOL2D_MATH_H

#include <math.h>
#include <stdint.h>

#include "p3d_hd.h"

/* Max of the window at (oy, ox) of one (h, w) plane xp; taps outside the plane are skipped. Like
 * PyTorch's kernel, a tap replaces the running max when it is larger or NaN (v != v). */
P3D_HD float p3d_maxpool_at(const float *xp, int64_t h, int64_t w, int64_t oy, int64_t ox, int32_t kernel,
                            int32_t stride, int32_t pad) {
    float m = -INFINITY;
    const int64_t y0 = oy * stride - pad, x0 = ox * stride - pad;
    for (int32_t ky = 0; ky < kernel; ky++) {
        const int64_t iy = y0 + ky;
        if (iy < 0 || iy >= h) continue;
        for (int32_t kx = 0; kx < kernel; kx++) {
            const int64_t ix = x0 + kx;
            if (ix < 0 || ix >= w) continue;
            const float v = xp[iy * w + ix];
            if (v > m || v != v) m = v;
        }
    }
    return m;
}

#endif
