// p3d_cuda_nn.h - internal to cuda/: small helpers shared by the NN op launchers (conv2d, pconv2d,
// instance_norm, eltwise, upsample, pad, concat). Header-only so that cuda/ needs nothing from host/
// beyond the headers (the p3d and p3d_cuda archives are linked in that order).
#ifndef P3D_CUDA_NN_H
#define P3D_CUDA_NN_H

#include <string.h>

#include "core/tensor.h"
#include "p3d_cuda_check.h"

// Threads per block of the element-wise kernels (one thread per output element).
#define P3D_NN_THREADS 256

static inline int64_t p3d_nn_numel(const p3d_tensor *t) {
    return t->shape[0] * t->shape[1] * t->shape[2] * t->shape[3];
}

// Global index of this thread in a 1-D launch.
#define P3D_NN_INDEX() (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x)

// A float32 NCHW view of device memory.
static inline p3d_tensor p3d_nn_dev_view(float *data, int64_t n, int64_t c, int64_t h, int64_t w) {
    p3d_tensor t;
    memset(&t, 0, sizeof t);
    t.data = data;
    t.dtype = P3D_F32;
    t.mem = P3D_MEM_CUDA;
    t.ndim = 4;
    t.shape[0] = n;
    t.shape[1] = c;
    t.shape[2] = h;
    t.shape[3] = w;
    t.scale = 1.0f;
    return t;
}

#endif
