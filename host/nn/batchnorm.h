/* batchnorm.h - eval-mode BatchNorm2d folded into what runs (conversion-time helpers, host only).
 *
 * Eval BatchNorm2d: bn(v) = (v - mean) / sqrt(var + eps) * gamma + beta = s * v + t with
 *   s = gamma / sqrt(var + eps),   t = beta - mean * s                  (per channel)
 *
 * Conv -> BN folds into the conv: bn(conv_w(x) + b) = conv_w'(x) + b' with
 *   w' = w * gamma / sqrt(var + eps),   b' = (b - mean) * gamma / sqrt(var + eps) + beta
 *
 * Partial conv -> BN (PCBActiv: conv -> renormalise -> BN -> act) does not fold exactly. With
 * w' and b', the renormalisation gives (y' - b') * r + b' = s * ((y - b) * r + b) + t wherever the
 * window sum S > 0 (r = winsize / S), the same as BN after it; but where S == 0 the reference's output
 * is bn(0) = t, while the folded layer gives 0. So pconv2d keeps (s, t) as a per-channel scale/shift
 * applied after the renormalisation (p3d_batchnorm_scale_shift), which is exact everywhere.
 *
 * All arithmetic is in double, rounded to float once per output. */
#ifndef P3D_BATCHNORM_H
#define P3D_BATCHNORM_H

#include "core/p3d_common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* scale[c] = s, shift[c] = t for c < channels. */
void p3d_batchnorm_scale_shift(int32_t channels, const float *gamma, const float *beta, const float *mean,
                               const float *var, float eps, float *scale, float *shift);

/* Conv2d weight [Cout, per_channel] (per_channel = Cin/groups * kh * kw) and bias [Cout] (NULL = 0)
 * into weight_out / bias_out (which may be weight / bias). */
void p3d_fold_batchnorm(int32_t out_channels, int64_t per_channel, const float *weight, const float *bias,
                        const float *gamma, const float *beta, const float *mean, const float *var, float eps,
                        float *weight_out, float *bias_out);

#ifdef __cplusplus
}
#endif
#endif
