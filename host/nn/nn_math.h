/* nn_math.h - scalar math shared by the neural-network ops on both backends (P3D_HD functions).
 *
 * Rounding: nvcc contracts `a * b + c` into one fused multiply-add by default, while the host build
 * (-std=c11, no -march) never does, so the same expression would round differently on the two
 * sides. Every multiply that feeds an add in the element-wise formulas below goes through
 * p3d_mul_rn / p3d_add_rn, which are __fmul_rn / __fadd_rn on the device (never contracted) and
 * plain operators on the host: the CPU and the GPU then compute the same float for the same inputs.
 * Exceptions, said where they occur: expf / tanhf (libm vs CUDA's own, up to 2 ulp apart).
 */
#ifndef P3D_NN_MATH_H
#define P3D_NN_MATH_H

#include <math.h>
#include <stdint.h>

#include "core/p3d_hd.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Activation fused into an op's epilogue (and the stand-alone p3d_activation). */
typedef enum p3d_act {
    P3D_ACT_NONE = 0,
    P3D_ACT_RELU = 1,       /* max(x, 0) */
    P3D_ACT_LEAKY_RELU = 2, /* x >= 0 ? x : slope * x (the networks use slope 0.2) */
    P3D_ACT_SIGMOID = 3,    /* 1 / (1 + exp(-x)) */
    P3D_ACT_TANH = 4,
    P3D_ACT_RELU6 = 5,      /* min(max(x, 0), 6) (the EfficientNet-Lite encoders) */
} p3d_act;

/* The last p3d_act value (argument checks). */
#define P3D_ACT_LAST P3D_ACT_RELU6

#ifdef __cplusplus
}
#endif

P3D_HD float p3d_mul_rn(float a, float b) {
#if defined(__CUDA_ARCH__)
    return __fmul_rn(a, b);
#else
    return a * b;
#endif
}

P3D_HD float p3d_add_rn(float a, float b) {
#if defined(__CUDA_ARCH__)
    return __fadd_rn(a, b);
#else
    return a + b;
#endif
}

/* a * b + c with two roundings on both sides. */
P3D_HD float p3d_mad_rn(float a, float b, float c) { return p3d_add_rn(p3d_mul_rn(a, b), c); }

/* NaN stays NaN through ReLU, LeakyReLU and ReLU6 (as in PyTorch). */
P3D_HD float p3d_act_apply(p3d_act act, float slope, float x) {
    switch (act) {
    case P3D_ACT_NONE: return x;
    case P3D_ACT_RELU: return x < 0.0f ? 0.0f : x;
    case P3D_ACT_LEAKY_RELU: return x < 0.0f ? x * slope : x;
    case P3D_ACT_SIGMOID: return 1.0f / (1.0f + expf(-x));
    case P3D_ACT_TANH: return tanhf(x);
    case P3D_ACT_RELU6: return x < 0.0f ? 0.0f : (x > 6.0f ? 6.0f : x);
    }
    return x;
}

/* A conv epilogue: act(y + bias) (bias 0 for layers without one). */
P3D_HD float p3d_bias_act(float y, float bias, p3d_act act, float slope) { return p3d_act_apply(act, slope, y + bias); }

/* Index i (in -n+1 .. 2n-2) mirrored into 0..n-1 without repeating the edge sample, as
 * torch.nn.ReflectionPad2d does: -1 -> 1, n -> n-2. Needs n >= 2 unless i is already inside. */
P3D_HD int64_t p3d_reflect_index(int64_t i, int64_t n) {
    if (i < 0) i = -i;
    if (i >= n) i = 2 * (n - 1) - i;
    return i;
}

#endif
