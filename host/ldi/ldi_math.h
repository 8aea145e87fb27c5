/* ldi_math.h - per-element rules of the LDI stages, written once for the CPU passes and the CUDA
 * kernels (P3D_HD, see p3d_hd.h). */
#ifndef P3D_LDI_MATH_H
#define P3D_LDI_MATH_H

#include <math.h>
#include <stdint.h>

#include "core/p3d_hd.h"

/* The tear rule (spec 2.5): two samples are one surface when their disparities (1 / depth) differ by
 * at most `threshold` (0.04 for disparities normalised to [0.05, 3]). */
P3D_HD int32_t p3d_ldi_joined(float depth_a, float depth_b, float threshold) {
    return fabsf(1.0f / depth_a - 1.0f / depth_b) <= threshold;
}

/* The reference's one dangling-link pass (spec 2.5 step 3), decided from the torn state before the
 * pass (np.roll on whole arrays): a link between two pixels survives unless both parallel links beside
 * it (the row above and the row below for a horizontal link, the columns left and right for a
 * vertical one) are torn. `side_a` / `side_b` are 1 when that parallel link exists and is torn; 0 when
 * it is intact or outside the image (the reference limits the rule to rows / columns 1 .. n-2). */
P3D_HD int32_t p3d_ldi_dangling(int32_t linked, int32_t side_a_torn, int32_t side_b_torn) {
    return linked && side_a_torn && side_b_torn;
}

/* Where a synthesised sample goes (spec 2.17.7, quirk 15 kept in value, fixed in identity): at least
 * 0.01 behind the visible surface, and behind every earlier layer farther than that, by 0.001. The
 * caller passes the depths of the pixel's existing layers nearest first. */
P3D_HD float p3d_ldi_behind(float predicted, float visible, const float *layers, int32_t n_layers) {
    float d = predicted;
    if (!(d > visible)) d = visible + 0.01f;
    for (int32_t i = 0; i < n_layers; i++)
        if (layers[i] >= d) d = layers[i] + 0.001f;
    return d;
}

#endif
