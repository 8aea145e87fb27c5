/* maxpool2d_math.h - one output element of the max-pool op (P3D_HD, shared by host/layers/maxpool2d.c and
 * cuda/layers/maxpool2d.cu). Definition: maxpool2d.h. */
#ifndef P3D_MAXPOOL2D_MATH_H
#define P3D_MAXPOOL2D_MATH_H

#include "nn/nn_math.h"

/* Max of the k x k window of plane (h, w) whose top-left corner is (y0, x0) (may lie in the padding),
 * over the positions inside the plane, in raster order; the first NaN met is kept (PyTorch's
 * `val > max || isnan(val)`). The window must hold an input position. */
P3D_HD float p3d_maxpool_window(const float *plane, int64_t h, int64_t w, int64_t y0, int64_t x0, int32_t k) {
    const int64_t ya = y0 < 0 ? 0 : y0, xa = x0 < 0 ? 0 : x0;
    const int64_t yb = y0 + k < h ? y0 + k : h, xb = x0 + k < w ? x0 + k : w;
    float m = plane[ya * w + xa];
    for (int64_t y = ya; y < yb; y++)
        for (int64_t x = xa; x < xb; x++) {
            const float v = plane[y * w + x];
            if (v > m || isnan(v)) m = v;
            if (isnan(m)) return m;
        }
    return m;
}

#endif
