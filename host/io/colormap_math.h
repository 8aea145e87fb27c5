/* colormap_math.h - the colour ramp of depth visualisations (P3D_HD: usable from kernels too).
 *
 * A perceptually ordered dark-to-bright ramp close to matplotlib's "magma" (the look of the
 * reference's visualisations): 9 control colours sampled from magma at t = 0, 1/8, ..., 1 and
 * interpolated linearly in sRGB. Values are rounded, not truncated. */
#ifndef P3D_COLORMAP_MATH_H
#define P3D_COLORMAP_MATH_H

#include <stdint.h>

#include "core/p3d_hd.h"

/* t in [0, 1] (clamped; NaN maps to 0) -> rgb[3] in 0..255. */
P3D_HD void p3d_colormap_magma(float t, uint8_t *rgb) {
    const uint8_t ramp[9][3] = {{0, 0, 4},      {28, 16, 68},   {79, 18, 123}, {129, 37, 129}, {181, 54, 122},
                                {229, 80, 100}, {251, 135, 97}, {254, 194, 135}, {252, 253, 191}};
    if (!(t > 0.0f)) t = 0.0f;
    if (t > 1.0f) t = 1.0f;
    float x = t * 8.0f;
    int32_t i = (int32_t)x;
    if (i > 7) i = 7;
    float f = x - (float)i;
    for (int32_t c = 0; c < 3; c++) {
        float v = (float)ramp[i][c] + f * (float)(ramp[i + 1][c] - ramp[i][c]);
        rgb[c] = (uint8_t)(v + 0.5f);
    }
}

#endif
