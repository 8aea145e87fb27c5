/* qnn_math.h - the exact integer arithmetic of Caffe2's Int8 operators on QNNPACK (quint8), written
 * once for the CPU reference and the CUDA kernels (P3D_HD).
 *
 * The released Tiefenrausch output was computed by Caffe2 (pytorch-nightly-cpu 1.2.0.dev20190731,
 * x86-64), whose Int8Conv / Int8Add run on QNNPACK (pytorch/QNNPACK, the "qnnp_" library, SSE2
 * micro-kernels). What that code does, and what is reproduced here bit for bit:
 *
 * Convolution (q8gemm / q8conv / q8dwconv, src/qnnpack/requantization.h
 * qnnp_compute_conv_quantization_params + the SSE2 kernels):
 *   acc   = bias + sum (x - x_zp) * (w - w_zp)                     exact int32
 *   scale = input_scale * kernel_scale / output_scale               float32, must be < 1
 *   multiplier = (mantissa(scale) | 1 << 23) << 7                   in [2^30, 2^31)
 *   shift      = 126 - biased_exponent(scale)                      in [0, 31]
 *   q31   = (acc * multiplier + 2^30) >> 31                         64-bit product, floor shift
 *   out   = q31 >> shift, rounded half AWAY from zero               (the remainder/threshold trick)
 *   y     = clamp(out, qmin - y_zp, qmax - y_zp) + y_zp             qmin = 0 (y_zp with fused ReLU)
 * Note this is not gemmlowp's SaturatingRoundingDoublingHighMul + RoundingDivideByPOT pair
 * (Caffe2's MultiplyByQuantizedMultiplierSmallerThanOne, used only by its older TFLite-style ops):
 * the Q31 product rounds half up, the final shift half away from zero, and the multiplier comes
 * straight from the float's mantissa (no double-precision frexp/round).
 *
 * Addition (q8vadd, qnnp_compute_add_quantization_params):
 *   ra = a_scale / y_scale, rb = b_scale / y_scale                  float32, each in [2^-14, 2^8)
 *   shift = 21 - unbiased_exponent(max(ra, rb))                     so the larger multiplier is in [2^21, 2^22)
 *   a_mult = lrintf(ra * 2^shift), b_mult likewise                  round half to even (ratio >= 1 is fine)
 *   acc = a_mult * (a - a_zp) + b_mult * (b - b_zp)                 exact int32
 *   y   = clamp((acc >> shift rounded half away from zero) + y_zp, y_min, y_max)
 *
 * Int8Quantize (int8_quantize_op.h, x86 scalar path): q = clamp(zp + (int)nearbyintf(x / scale),
 * 0, 255) with a float32 division and round-half-even. Int8Dequantize: (float)(q - zp) * scale.
 * The reference CLI then takes np.exp of the float32 output; numpy >= 1.18 computes float32 exp with
 * its own AVX2/AVX512F kernel (not correctly rounded, up to 2.5 ulp), reproduced by p3d_qnn_exp_np.
 *
 * Checked against an independent numpy model of the same operators (tools/tiefenrausch_oracle.py,
 * written from Caffe2's int8_*.h and QNNPACK's SSE2 kernels q8gemm/q8conv/q8dwconv/q8vadd) by
 * tests/test_tiefenrausch_oracle.py, op by op on random inputs with exact rounding ties and saturated
 * outputs, and end to end on every fixture photo: no operator differs, every output level matches,
 * and the oracle reproduces the released columns output bit for bit. (A released output that differs
 * on a 4:2:0 JPEG points at the decoder, not at these operators: see io/jpeg_decode.h.) */
#ifndef P3D_QNN_MATH_H
#define P3D_QNN_MATH_H

#include <math.h>
#include <stdint.h>

#include "core/p3d_hd.h"

/* Arithmetic shift right that does not depend on the implementation-defined >> of negatives. */
P3D_HD int32_t p3d_qnn_asr32(int32_t x, uint32_t s) { return x >= 0 ? x >> s : ~(~x >> s); }
P3D_HD int64_t p3d_qnn_asr64(int64_t x, uint32_t s) { return x >= 0 ? x >> s : ~(~x >> s); }

P3D_HD uint32_t p3d_qnn_f32_bits(float f) {
    union { float f; uint32_t u; } v;
    v.f = f;
    return v.u;
}
P3D_HD float p3d_qnn_f32_from_bits(uint32_t u) {
    union { float f; uint32_t u; } v;
    v.u = u;
    return v.f;
}

/* ---- convolution requantization -------------------------------------------------------------- */
typedef struct p3d_qnn_conv_rq {
    int32_t multiplier; /* [2^30, 2^31) */
    uint32_t shift;     /* [0, 31] */
    int32_t zero_point; /* output zero point */
    int32_t min_less_zp, max_less_zp; /* output range minus the zero point */
} p3d_qnn_conv_rq;

/* scale = input_scale * kernel_scale / output_scale. Returns 0 when QNNPACK would refuse it
 * (scale not normal, >= 1, or below 2^-32). */
P3D_HD int p3d_qnn_conv_rq_init(p3d_qnn_conv_rq *rq, float scale, int32_t out_zp, int32_t out_min,
                                int32_t out_max) {
    if (!(scale > 0.0f) || !(scale < 1.0f)) return 0;
    const uint32_t bits = p3d_qnn_f32_bits(scale);
    const int32_t exponent = (int32_t)(bits >> 23);
    const int32_t shift = 127 + 31 - 32 - exponent;
    if (exponent == 0 || shift < 0 || shift >= 32) return 0;
    rq->multiplier = (int32_t)(((bits & UINT32_C(0x007FFFFF)) | UINT32_C(0x00800000)) << 7);
    rq->shift = (uint32_t)shift;
    rq->zero_point = out_zp;
    rq->min_less_zp = out_min - out_zp;
    rq->max_less_zp = out_max - out_zp;
    return 1;
}

/* int32 accumulator (bias + sum of zero-point-free products) -> uint8 output. */
P3D_HD uint8_t p3d_qnn_requantize(int32_t acc, const p3d_qnn_conv_rq *rq) {
    const int64_t product = (int64_t)acc * (int64_t)rq->multiplier;
    const int32_t q31 = (int32_t)p3d_qnn_asr64(product + INT64_C(0x40000000), 31);
    const int32_t mask = (int32_t)((UINT32_C(1) << rq->shift) - UINT32_C(1));
    const int32_t threshold = mask >> 1;
    const int32_t remainder = (q31 & mask) - (int32_t)(q31 < 0);
    int32_t out = p3d_qnn_asr32(q31, rq->shift) + (int32_t)(remainder > threshold);
    if (out < rq->min_less_zp) out = rq->min_less_zp;
    if (out > rq->max_less_zp) out = rq->max_less_zp;
    return (uint8_t)(out + rq->zero_point);
}

/* ---- addition ----------------------------------------------------------------------------------- */
typedef struct p3d_qnn_add_rq {
    int32_t a_multiplier, b_multiplier; /* [0, 2^22) */
    int32_t a_zero_point, b_zero_point;
    uint32_t shift; /* [13, 31] */
    int32_t y_zero_point, y_min, y_max;
} p3d_qnn_add_rq;

/* Returns 0 when QNNPACK would refuse the scales (a ratio outside [2^-14, 2^8)). */
P3D_HD int p3d_qnn_add_rq_init(p3d_qnn_add_rq *rq, float a_scale, int32_t a_zp, float b_scale,
                               int32_t b_zp, float y_scale, int32_t y_zp, int32_t y_min, int32_t y_max) {
    const float ra = a_scale / y_scale;
    const float rb = b_scale / y_scale;
    const float lo = 6.103515625e-05f; /* 2^-14 */
    if (!(ra >= lo && ra < 256.0f) || !(rb >= lo && rb < 256.0f)) return 0;
    const float rmax = ra > rb ? ra : rb;
    const int32_t exponent = (int32_t)(p3d_qnn_f32_bits(rmax) >> 23) - 127;
    const uint32_t shift = (uint32_t)(21 - exponent);
    if (shift >= 32) return 0;
    const float scale_multiplier = p3d_qnn_f32_from_bits((uint32_t)(21 - exponent + 127) << 23);
    rq->a_multiplier = (int32_t)lrintf(ra * scale_multiplier);
    rq->b_multiplier = (int32_t)lrintf(rb * scale_multiplier);
    rq->a_zero_point = a_zp;
    rq->b_zero_point = b_zp;
    rq->shift = shift;
    rq->y_zero_point = y_zp;
    rq->y_min = y_min;
    rq->y_max = y_max;
    return 1;
}

P3D_HD uint8_t p3d_qnn_add(uint8_t a, uint8_t b, const p3d_qnn_add_rq *rq) {
    /* |acc| < 2 * 2^22 * 255 < 2^31: no overflow */
    int32_t acc = rq->a_multiplier * ((int32_t)a - rq->a_zero_point) +
                  rq->b_multiplier * ((int32_t)b - rq->b_zero_point);
    const int32_t mask = (int32_t)((UINT32_C(1) << rq->shift) - UINT32_C(1));
    const int32_t threshold = mask >> 1;
    const int32_t remainder = (acc & mask) - (int32_t)(acc < 0);
    acc = p3d_qnn_asr32(acc, rq->shift) + (int32_t)(remainder > threshold);
    int32_t y = acc + rq->y_zero_point;
    if (y < rq->y_min) y = rq->y_min;
    if (y > rq->y_max) y = rq->y_max;
    return (uint8_t)y;
}

/* ---- float <-> quint8 ------------------------------------------------------------------------------ */
/* Caffe2 QuantizeUint8: a float32 division (IEEE: nvcc's default -prec-div=true and no fast-math). */
P3D_HD uint8_t p3d_qnn_quantize(float x, float scale, int32_t zero_point) {
#if defined(__CUDA_ARCH__)
    const float r = rintf(__fdiv_rn(x, scale));
#else
    const float r = nearbyintf(x / scale);
#endif
    if (!(r > -1024.0f)) return 0; /* also NaN */
    if (r > 1024.0f) return 255;
    int32_t q = zero_point + (int32_t)r;
    if (q < 0) q = 0;
    if (q > 255) q = 255;
    return (uint8_t)q;
}

P3D_HD float p3d_qnn_dequantize(uint8_t q, float scale, int32_t zero_point) {
    return (float)((int32_t)q - zero_point) * scale;
}

/* numpy's float32 exp (AVX2/AVX512F simd_exp_FLOAT, numpy 1.18+): Cody-Waite reduction with
 * k = rint(x * log2(e)), exp(r) ~ P5(r) / Q2(r) (Remez), times 2^k. Every step is one rounded float
 * operation (the kernel's mul/add/fmadd/div), written with explicit fmaf and, on the device,
 * non-contractible intrinsics. Valid for |x| < 87 (the network's outputs are within +-2.4). */
P3D_HD float p3d_qnn_exp_np(float x) {
#if defined(__CUDA_ARCH__)
#define P3D_QNN_MUL(a, b) __fmul_rn((a), (b))
#define P3D_QNN_ADD(a, b) __fadd_rn((a), (b))
#define P3D_QNN_DIV(a, b) __fdiv_rn((a), (b))
#else
#define P3D_QNN_MUL(a, b) ((a) * (b))
#define P3D_QNN_ADD(a, b) ((a) + (b))
#define P3D_QNN_DIV(a, b) ((a) / (b))
#endif
    const float magic = 12582912.0f; /* 0x1.8p23: adding it rounds to an integer (half to even) */
    float k = P3D_QNN_MUL(x, 1.442695040888963407359924681001892137f);
    k = P3D_QNN_ADD(k, magic);
    k = P3D_QNN_ADD(k, -magic);
    float r = fmaf(k, -6.93145752e-1f, x);
    r = fmaf(k, -1.42860677e-6f, r);
    float num = fmaf(5.082762527590693718096e-04f, r, 6.757896990527504603057e-03f);
    num = fmaf(num, r, 5.114512081637298353406e-02f);
    num = fmaf(num, r, 2.473615434895520810817e-01f);
    num = fmaf(num, r, 7.257664613233124478488e-01f);
    num = fmaf(num, r, 9.999999999980870924916e-01f);
    float den = fmaf(2.159509375685829852307e-02f, r, -2.742335390411667452936e-01f);
    den = fmaf(den, r, 1.0f);
    const float poly = P3D_QNN_DIV(num, den);
    /* scalef: poly * 2^k, exact for the normal range */
    const int32_t ki = (int32_t)k;
    return P3D_QNN_MUL(poly, p3d_qnn_f32_from_bits((uint32_t)(ki + 127) << 23));
#undef P3D_QNN_MUL
#undef P3D_QNN_ADD
#undef P3D_QNN_DIV
}

#endif
