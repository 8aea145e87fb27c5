/* eltwise_math.h - the binary element-wise ops (P3D_HD, shared by host/layers/eltwise.c and cuda/layers/eltwise.cu). */
#ifndef P3D_ELTWISE_MATH_H
#define P3D_ELTWISE_MATH_H

#include "layers/eltwise.h"
#include "nn/nn_math.h"

P3D_HD float p3d_binary_apply(p3d_binary_op op, float a, float b) {
    switch (op) {
    case P3D_BINARY_ADD: return a + b;
    case P3D_BINARY_MUL: return a * b;
    case P3D_BINARY_ADD_CLAMP01: {
        const float v = a + b;
        return v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v);
    }
    }
    return a;
}

/* Index into b for element i of a (N, C, plane) tensor: the same index, or (n, plane) when b has
 * one channel and is broadcast. */
P3D_HD int64_t p3d_binary_b_index(int64_t i, int64_t channels, int64_t plane, int broadcast) {
    return broadcast ? i / (channels * plane) * plane + i % plane : i;
}

#endif
