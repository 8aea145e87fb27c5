/* instance_norm_math.h - the instance-norm statistics and normalisation (P3D_HD, shared by
 * host/layers/instance_norm.c and cuda/layers/instance_norm.cu). Definition: instance_norm.h. */
#ifndef P3D_INSTANCE_NORM_MATH_H
#define P3D_INSTANCE_NORM_MATH_H

#include "nn/nn_math.h"

/* 1 / sqrt(var + eps) from the second-pass sum of squared deviations over n samples. */
P3D_HD double p3d_inorm_inv_std(double sq_dev_sum, int64_t n, float eps) {
    return 1.0 / sqrt(sq_dev_sum / (double)n + (double)eps);
}

/* Squared deviation of one sample, in double. */
P3D_HD double p3d_inorm_sq_dev(float x, double mean) {
    const double d = (double)x - mean;
    return d * d;
}

P3D_HD float p3d_inorm_apply(float x, double mean, double inv_std, p3d_act act, float slope) {
    return p3d_act_apply(act, slope, (float)(((double)x - mean) * inv_std));
}

#endif
