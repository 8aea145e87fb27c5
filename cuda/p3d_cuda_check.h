/* p3d_cuda_check.h - internal to cuda/: the context layout and the one error-check template.
 *
 * P3D_CHECK_GEN generates the CUDA runtime, cuDNN and cuBLAS checks, so all three report the same
 * way: the failing expression, function, file:line and the library's own message, returned as
 * P3D_ERR_DEVICE up to the caller (never exit()). Launchers end with P3D_CUDA_LAUNCH_CHECK(ctx, "op"),
 * which also synchronises when P3D_CUDA_SYNC_DEBUG=1 is set, so an asynchronous fault is blamed on
 * the op that caused it. */
#ifndef P3D_CUDA_CHECK_H
#define P3D_CUDA_CHECK_H

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include "core/p3d_common.h"
#include "p3d_cuda.h"

#define P3D_CHECK_GEN(expr, success, to_string)                                                    \
    do {                                                                                           \
        auto p3d_chk_ = (expr);                                                                    \
        if (p3d_chk_ != (success)) {                                                               \
            return p3d_fail(P3D_ERR_DEVICE, "%s failed in %s (%s:%d): %s", #expr, __func__,        \
                            __FILE__, __LINE__, to_string(p3d_chk_));                              \
        }                                                                                          \
    } while (0)

#define P3D_CUDA_CHECK(expr) P3D_CHECK_GEN(expr, cudaSuccess, cudaGetErrorString)
#define P3D_CUDNN_CHECK(expr) P3D_CHECK_GEN(expr, CUDNN_STATUS_SUCCESS, cudnnGetErrorString)
#define P3D_CUBLAS_CHECK(expr) P3D_CHECK_GEN(expr, CUBLAS_STATUS_SUCCESS, cublasGetStatusString)

typedef struct p3d_cuda_alloc_rec {
    void *ptr;
    size_t bytes;
} p3d_cuda_alloc_rec;

struct p3d_cuda_ctx {
    int32_t device;
    cudaStream_t stream;
    cudaStream_t copy_stream; /* uploads through the page-locked staging (p3d_cuda_staging_*), beside the compute stream */
    cublasHandle_t cublas;
    cudnnHandle_t cudnn;
    int32_t sync_debug; /* P3D_CUDA_SYNC_DEBUG=1: synchronise after every launch check */
    size_t bytes_in_use;
    size_t bytes_peak;
    p3d_cuda_alloc_rec *allocs; /* live p3d_cuda_malloc allocations */
    int32_t n_allocs, cap_allocs;
    p3d_device_traffic traffic; /* counted by backend.cu's wrappers */
    struct {                    /* p3d_cuda_arena_* */
        unsigned char *base;
        size_t capacity, offset;
        size_t high;            /* most bytes in use at once (block + spills) since the last regrowth */
        void *spill[64];        /* blocks of the requests that did not fit, in allocation order */
        size_t spill_bytes[64];
        int32_t n_spills;
    } arena;
    void *staging;              /* p3d_cuda_download_span's host buffer */
    size_t staging_bytes;
    void *ldi_resident;         /* the device LDI of the image in progress (cuda/ldi/ldi.cu), or NULL */
};

// Kernel launches, written P3D_LAUNCH(kernel, grid, block, shared_bytes, stream)(args...): exactly
// kernel<<<grid, block, shared_bytes, stream>>>(args...) under nvcc; in the emulated build
// (P3D_CUDA_EMU, cuda/emu/) the grid runs on the CPU after the same launch checks. A kernel's shared
// memory is declared with P3D_SHARED(type, name, dims) - `P3D_SHARED(float, tile, [16][17]);` is
// exactly `__shared__ float tile[16][17];` under nvcc - and its dynamic shared memory (extern
// __shared__) with P3D_DYNAMIC_SHARED(type, name). The emulator counts both against the launch's limit.
#ifdef P3D_CUDA_EMU
#define P3D_LAUNCH(kernel, grid, block, shared_bytes, stream)                                             \
    p3d_emu::make_launcher(#kernel, kernel, grid, block, shared_bytes, stream)
#define P3D_SHARED(type, name, dims)                                                                      \
    thread_local type name dims;                                                                          \
    p3d_emu::note_static_shared(&name, sizeof name)
#define P3D_DYNAMIC_SHARED(type, name) type *const name = reinterpret_cast<type *>(p3d_emu::cur_dyn_shared)
#else
#define P3D_LAUNCH(kernel, grid, block, shared_bytes, stream) kernel<<<grid, block, shared_bytes, stream>>>
#define P3D_SHARED(type, name, dims) __shared__ type name dims
#define P3D_DYNAMIC_SHARED(type, name) extern __shared__ type name[]
#endif

/* Checks the last launch; names the op. Returns P3D_OK or P3D_ERR_DEVICE. */
extern "C" p3d_status p3d_cuda_launch_check(p3d_cuda_ctx *ctx, const char *op);
#define P3D_CUDA_LAUNCH_CHECK(ctx, op) P3D_TRY(p3d_cuda_launch_check((ctx), (op)))

/* Grid size for n elements at `threads` per block (n > 0). */
static inline unsigned p3d_cuda_blocks(int64_t n, int threads) {
    return (unsigned)((n + threads - 1) / threads);
}

#endif
