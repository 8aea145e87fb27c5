/* pad_math.h - source index of the pad / crop ops (P3D_HD, shared by host/nn/pad.c and cuda/nn/pad.cu). */
#ifndef P3D_PAD_MATH_H
#define P3D_PAD_MATH_H

#include "nn/nn_common.h"
#include "nn/nn_math.h"

/* Input index along one axis of length n for output index o when the input starts at `off` in the
 * output; -1 means "zero" (outside the input with zero padding). */
P3D_HD int64_t p3d_pad_src(p3d_pad_mode mode, int64_t o, int64_t off, int64_t n) {
    const int64_t i = o - off;
    if (mode == P3D_PAD_REFLECT) return p3d_reflect_index(i, n);
    return i >= 0 && i < n ? i : -1;
}

#endif
