// instance_norm.cu - CUDA twin of host/layers/instance_norm.c: one block per (n, c) plane, the same two
// double-precision passes as the CPU (instance_norm_math.h), reduced as a tree in the block.
#include "layers/instance_norm.h"
#include "layers/instance_norm_math.h"
#include "nn/p3d_cuda_nn.h"

// A multiple of 32, at most 1024 (one partial sum per warp fits `red`).
#define P3D_INORM_THREADS 512

// Sum of v over the block; every thread gets the result. red: 32 doubles of shared memory.
static __device__ double block_sum(double v, double *red) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    if (lane == 0) red[warp] = v;
    __syncthreads();
    if (warp == 0) {
        v = lane < (int)(blockDim.x >> 5) ? red[lane] : 0.0;
        for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
        if (lane == 0) red[0] = v;
    }
    __syncthreads();
    const double total = red[0];
    __syncthreads(); // red is reused by the next call
    return total;
}

// x, y (planes, hw); block b normalises plane b. y may be x: each thread rewrites only elements it
// read, after both reductions.
static __global__ void instance_norm_kernel(const float *x, float *y, int64_t hw, float eps, p3d_act act, float slope) {
    P3D_SHARED(double, red, [32]);
    const float *xp = x + static_cast<int64_t>(blockIdx.x) * hw;
    float *yp = y + static_cast<int64_t>(blockIdx.x) * hw;
    double s = 0.0;
    for (int64_t i = threadIdx.x; i < hw; i += blockDim.x) s += (double)xp[i];
    const double mean = block_sum(s, red) / (double)hw;
    double q = 0.0;
    for (int64_t i = threadIdx.x; i < hw; i += blockDim.x) q += p3d_inorm_sq_dev(xp[i], mean);
    const double inv_std = p3d_inorm_inv_std(block_sum(q, red), hw, eps);
    for (int64_t i = threadIdx.x; i < hw; i += blockDim.x) yp[i] = p3d_inorm_apply(xp[i], mean, inv_std, act, slope);
}

extern "C" p3d_status p3d_instance_norm_cuda(p3d_cuda_ctx *ctx, const p3d_tensor *x, p3d_tensor *y, float eps,
                                             p3d_act act, float slope) {
    const int64_t planes = x->shape[0] * x->shape[1];
    if (planes > INT32_MAX) return p3d_fail(P3D_ERR_UNSUPPORTED, "instance_norm: %lld planes", (long long)planes);
    P3D_LAUNCH(instance_norm_kernel, (unsigned)planes, P3D_INORM_THREADS, 0, ctx->stream)(
        (const float *)x->data, (float *)y->data, x->shape[2] * x->shape[3], eps, act, slope);
    P3D_CUDA_LAUNCH_CHECK(ctx, "instance_norm");
    return P3D_OK;
}
