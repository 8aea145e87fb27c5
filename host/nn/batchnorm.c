/* batchnorm.c - BatchNorm2d folding (formulas in batchnorm.h). */
#include "nn/batchnorm.h"

#include <math.h>

static double bn_scale(const float *gamma, const float *var, float eps, int32_t c) {
    return (double)gamma[c] / sqrt((double)var[c] + (double)eps);
}

void p3d_batchnorm_scale_shift(int32_t channels, const float *gamma, const float *beta, const float *mean,
                               const float *var, float eps, float *scale, float *shift) {
    for (int32_t c = 0; c < channels; c++) {
        const double s = bn_scale(gamma, var, eps, c);
        scale[c] = (float)s;
        shift[c] = (float)((double)beta[c] - (double)mean[c] * s);
    }
}

void p3d_fold_batchnorm(int32_t out_channels, int64_t per_channel, const float *weight, const float *bias,
                        const float *gamma, const float *beta, const float *mean, const float *var, float eps,
                        float *weight_out, float *bias_out) {
    for (int32_t c = 0; c < out_channels; c++) {
        const double s = bn_scale(gamma, var, eps, c);
        for (int64_t i = 0; i < per_channel; i++)
            weight_out[c * per_channel + i] = (float)((double)weight[c * per_channel + i] * s);
        bias_out[c] = (float)(((bias ? (double)bias[c] : 0.0) - (double)mean[c]) * s + (double)beta[c]);
    }
}
