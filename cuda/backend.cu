// backend.cu - the CUDA side of p3d_ctx: device queries, one stream + cuBLAS + cuDNN handle per
// context, allocation with accounting, copies, event timers. Twin of host/core/backend.c.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p3d_cuda_check.h"

extern "C" {

void p3d_cuda_device_count(int32_t *n, const char **why) {
    int count = 0;
    cudaError_t err = cudaGetDeviceCount(&count);
    if (err != cudaSuccess) {
        (void)cudaGetLastError(); // clear the sticky error state for later calls
        *n = 0;
        // Without any NVIDIA driver the runtime says "CUDA driver version is insufficient for CUDA
        // runtime version": the driver version is then 0, and the message says what is really missing.
        int driver = 0;
        if (err == cudaErrorInsufficientDriver && cudaDriverGetVersion(&driver) == cudaSuccess && driver == 0) {
            if (why) *why = "no NVIDIA driver is installed";
        } else if (err == cudaErrorNoDevice) {
            if (why) *why = "no CUDA device found";
        } else if (why) {
            *why = cudaGetErrorString(err);
        }
        return;
    }
    *n = (int32_t)count;
    if (why) *why = count ? "" : "no CUDA device found";
}

p3d_status p3d_cuda_device_info_get(int32_t index, p3d_cuda_device_info *out) {
    cudaDeviceProp prop;
    P3D_CUDA_CHECK(cudaGetDeviceProperties(&prop, index));
    memset(out, 0, sizeof *out);
    snprintf(out->name, sizeof out->name, "%s", prop.name);
    out->total_mem = prop.totalGlobalMem;
    out->cc_major = prop.major;
    out->cc_minor = prop.minor;
    out->sm_count = prop.multiProcessorCount;
    int prev = 0;
    P3D_CUDA_CHECK(cudaGetDevice(&prev));
    P3D_CUDA_CHECK(cudaSetDevice(index));
    size_t free_b = 0, total_b = 0;
    cudaError_t err = cudaMemGetInfo(&free_b, &total_b);
    P3D_CUDA_CHECK(cudaSetDevice(prev));
    P3D_CUDA_CHECK(err);
    out->free_mem = free_b;
    return P3D_OK;
}

void p3d_cuda_versions_get(p3d_cuda_versions *out) {
    memset(out, 0, sizeof *out);
    int v = 0;
    if (cudaRuntimeGetVersion(&v) == cudaSuccess) out->runtime = v;
    v = 0;
    if (cudaDriverGetVersion(&v) == cudaSuccess) out->driver = v;
    out->cudnn = (int64_t)cudnnGetVersion();
    int major = 0, minor = 0, patch = 0;
    if (cublasGetProperty(MAJOR_VERSION, &major) == CUBLAS_STATUS_SUCCESS &&
        cublasGetProperty(MINOR_VERSION, &minor) == CUBLAS_STATUS_SUCCESS &&
        cublasGetProperty(PATCH_LEVEL, &patch) == CUBLAS_STATUS_SUCCESS)
        out->cublas = major * 10000 + minor * 100 + patch;
}

static p3d_status cuda_ctx_setup(p3d_cuda_ctx *ctx, int32_t device_index) {
    P3D_CUDA_CHECK(cudaSetDevice(device_index));
    P3D_CUDA_CHECK(cudaStreamCreateWithFlags(&ctx->stream, cudaStreamNonBlocking));
    P3D_CUBLAS_CHECK(cublasCreate(&ctx->cublas));
    P3D_CUBLAS_CHECK(cublasSetStream(ctx->cublas, ctx->stream));
    // Parity build: no TF32 in cuBLAS, so fp32 GEMMs match the CPU reference to fp32 rounding.
    P3D_CUBLAS_CHECK(cublasSetMathMode(ctx->cublas, CUBLAS_PEDANTIC_MATH));
    P3D_CUDNN_CHECK(cudnnCreate(&ctx->cudnn));
    P3D_CUDNN_CHECK(cudnnSetStream(ctx->cudnn, ctx->stream));
    return P3D_OK;
}

p3d_status p3d_cuda_ctx_init(p3d_cuda_ctx **out, int32_t device_index) {
    *out = NULL;
    p3d_cuda_ctx *ctx = (p3d_cuda_ctx *)calloc(1, sizeof *ctx);
    if (!ctx) return p3d_fail(P3D_ERR_OOM, "p3d_cuda_ctx_init: out of host memory");
    ctx->device = device_index;
    const char *dbg = getenv("P3D_CUDA_SYNC_DEBUG");
    ctx->sync_debug = dbg && dbg[0] == '1';
    p3d_status st = cuda_ctx_setup(ctx, device_index);
    if (st != P3D_OK) {
        p3d_fail_context(st, "cuda:%d", (int)device_index);
        p3d_cuda_ctx_free(ctx);
        return st;
    }
    *out = ctx;
    return P3D_OK;
}

void p3d_cuda_ctx_free(p3d_cuda_ctx *ctx) {
    if (!ctx) return;
    // Teardown: errors here cannot be acted on; the handles are released in reverse order.
    if (ctx->cudnn) (void)cudnnDestroy(ctx->cudnn);
    if (ctx->cublas) (void)cublasDestroy(ctx->cublas);
    for (int32_t i = 0; i < ctx->arena.n_spills; i++) p3d_cuda_free(ctx, ctx->arena.spill[i]);
    p3d_cuda_free(ctx, ctx->arena.base);
    free(ctx->staging);
    if (ctx->stream) (void)cudaStreamDestroy(ctx->stream);
    free(ctx->allocs);
    free(ctx);
}

// Plan-time allocations are few (one arena and the weights per network), so their sizes are kept in
// a small host-side table for the memory accounting that bench/ reports.
static p3d_status alloc_table_add(p3d_cuda_ctx *ctx, void *ptr, size_t bytes) {
    if (ctx->n_allocs == ctx->cap_allocs) {
        int32_t cap = ctx->cap_allocs ? 2 * ctx->cap_allocs : 16;
        p3d_cuda_alloc_rec *t = (p3d_cuda_alloc_rec *)realloc(ctx->allocs, (size_t)cap * sizeof *t);
        if (!t) return p3d_fail(P3D_ERR_OOM, "out of host memory (allocation table)");
        ctx->allocs = t;
        ctx->cap_allocs = cap;
    }
    ctx->allocs[ctx->n_allocs].ptr = ptr;
    ctx->allocs[ctx->n_allocs].bytes = bytes;
    ctx->n_allocs++;
    ctx->bytes_in_use += bytes;
    if (ctx->bytes_in_use > ctx->bytes_peak) ctx->bytes_peak = ctx->bytes_in_use;
    return P3D_OK;
}

p3d_status p3d_cuda_malloc(p3d_cuda_ctx *ctx, size_t bytes, void **out) {
    *out = NULL;
    P3D_CUDA_CHECK(cudaSetDevice(ctx->device));
    void *p = NULL;
    cudaError_t err = cudaMalloc(&p, bytes ? bytes : 1);
    if (err != cudaSuccess) {
        (void)cudaGetLastError();
        return p3d_fail(P3D_ERR_OOM, "cuda:%d: cudaMalloc of %zu bytes failed: %s", (int)ctx->device,
                        bytes, cudaGetErrorString(err));
    }
    ctx->traffic.allocations++;
    p3d_status st = alloc_table_add(ctx, p, bytes);
    if (st != P3D_OK) {
        (void)cudaFree(p);
        return st;
    }
    *out = p;
    return P3D_OK;
}

void p3d_cuda_free(p3d_cuda_ctx *ctx, void *ptr) {
    if (!ptr) return;
    for (int32_t i = 0; i < ctx->n_allocs; i++) {
        if (ctx->allocs[i].ptr == ptr) {
            ctx->bytes_in_use -= ctx->allocs[i].bytes;
            ctx->allocs[i] = ctx->allocs[--ctx->n_allocs];
            break;
        }
    }
    (void)cudaFree(ptr);
}

void p3d_cuda_traffic(const p3d_cuda_ctx *ctx, p3d_device_traffic *out) { *out = ctx->traffic; }

size_t p3d_cuda_bytes_in_use(const p3d_cuda_ctx *ctx, int peak) {
    return peak ? ctx->bytes_peak : ctx->bytes_in_use;
}

// Host -> device needs no wait: from pageable memory cudaMemcpyAsync returns once the source has been
// staged (the caller may reuse it at once), and the copy stays ordered before the kernels queued after
// it on the stream. (A copy from pageable memory may still wait on the stream inside the driver; the
// counters count the waits this code asks for.)
p3d_status p3d_cuda_memcpy_h2d(p3d_cuda_ctx *ctx, void *dst, const void *src, size_t bytes) {
    ctx->traffic.h2d_bytes += (int64_t)bytes;
    P3D_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, ctx->stream));
    return P3D_OK;
}

p3d_status p3d_cuda_memcpy_d2h(p3d_cuda_ctx *ctx, void *dst, const void *src, size_t bytes) {
    ctx->traffic.d2h_bytes += (int64_t)bytes;
    ctx->traffic.syncs++;
    P3D_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, ctx->stream));
    P3D_CUDA_CHECK(cudaStreamSynchronize(ctx->stream));
    return P3D_OK;
}

// ---- the arena ---------------------------------------------------------------------------------

static size_t arena_round(size_t bytes) { return (bytes + 255) / 256 * 256; }

p3d_cuda_arena_mark p3d_cuda_arena_mark_get(const p3d_cuda_ctx *ctx) {
    p3d_cuda_arena_mark m;
    m.offset = ctx->arena.offset;
    m.n_spills = ctx->arena.n_spills;
    return m;
}

static size_t arena_in_use(const p3d_cuda_ctx *ctx) {
    size_t b = ctx->arena.offset;
    for (int32_t i = 0; i < ctx->arena.n_spills; i++) b += ctx->arena.spill_bytes[i];
    return b;
}

p3d_status p3d_cuda_arena_get(p3d_cuda_ctx *ctx, size_t bytes, void **out) {
    *out = NULL;
    const size_t r = arena_round(bytes ? bytes : 1);
    if (r < bytes) return p3d_fail(P3D_ERR_OOM, "cuda:%d: arena request of %zu bytes overflows", (int)ctx->device, bytes);
    if (ctx->arena.base && r <= ctx->arena.capacity - ctx->arena.offset) {
        *out = ctx->arena.base + ctx->arena.offset;
        ctx->arena.offset += r;
    } else {
        if (ctx->arena.n_spills == 64)
            return p3d_fail(P3D_ERR_OOM, "cuda:%d: arena: more than 64 requests past its %zu bytes", (int)ctx->device,
                            ctx->arena.capacity);
        P3D_TRY(p3d_cuda_malloc(ctx, r, out));
        ctx->arena.spill[ctx->arena.n_spills] = *out;
        ctx->arena.spill_bytes[ctx->arena.n_spills++] = r;
    }
    const size_t used = arena_in_use(ctx);
    if (used > ctx->arena.high) ctx->arena.high = used;
    return P3D_OK;
}

p3d_status p3d_cuda_arena_reserve(p3d_cuda_ctx *ctx, size_t bytes) {
    bytes = arena_round(bytes);
    if (bytes <= ctx->arena.capacity) return P3D_OK;
    if (ctx->arena.offset || ctx->arena.n_spills)
        return p3d_fail(P3D_ERR_INVALID_ARG, "cuda:%d: arena reserve while %zu bytes are in use", (int)ctx->device,
                        arena_in_use(ctx));
    // cudaFree waits for the queued kernels that may still read the old block.
    p3d_cuda_free(ctx, ctx->arena.base);
    ctx->arena.base = NULL;
    ctx->arena.capacity = 0;
    void *p = NULL;
    P3D_TRY(p3d_cuda_malloc(ctx, bytes, &p));
    ctx->arena.base = static_cast<unsigned char *>(p);
    ctx->arena.capacity = bytes;
    return P3D_OK;
}

void p3d_cuda_arena_release(p3d_cuda_ctx *ctx, p3d_cuda_arena_mark mark) {
    while (ctx->arena.n_spills > mark.n_spills) p3d_cuda_free(ctx, ctx->arena.spill[--ctx->arena.n_spills]);
    ctx->arena.offset = mark.offset;
    if (mark.offset || mark.n_spills || ctx->arena.high <= ctx->arena.capacity) return;
    // The outermost release after a spill: one block for the high-water mark and some headroom. A
    // failure here only leaves the old block (the next stage spills again, and reports its own OOM).
    const size_t want = ctx->arena.high + ctx->arena.high / 100 * P3D_CUDA_ARENA_HEADROOM;
    (void)p3d_cuda_arena_reserve(ctx, want);
}

size_t p3d_cuda_arena_capacity(const p3d_cuda_ctx *ctx) { return ctx->arena.capacity; }

p3d_status p3d_cuda_download_span(p3d_cuda_ctx *ctx, const void *src, size_t bytes, const void **host) {
    *host = NULL;
    if (bytes > ctx->staging_bytes) {
        void *p = realloc(ctx->staging, bytes);
        if (!p) return p3d_fail(P3D_ERR_OOM, "cuda:%d: out of host memory (%zu bytes of staging)", (int)ctx->device, bytes);
        ctx->staging = p;
        ctx->staging_bytes = bytes;
    }
    if (bytes) P3D_TRY(p3d_cuda_memcpy_d2h(ctx, ctx->staging, src, bytes));
    *host = ctx->staging;
    return P3D_OK;
}

p3d_status p3d_cuda_memcpy_d2d(p3d_cuda_ctx *ctx, void *dst, const void *src, size_t bytes) {
    P3D_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, ctx->stream));
    return P3D_OK;
}

p3d_status p3d_cuda_sync(p3d_cuda_ctx *ctx) {
    ctx->traffic.syncs++;
    P3D_CUDA_CHECK(cudaStreamSynchronize(ctx->stream));
    return P3D_OK;
}

p3d_status p3d_cuda_launch_check(p3d_cuda_ctx *ctx, const char *op) {
    cudaError_t err = cudaGetLastError();
    if (err != cudaSuccess) return p3d_fail(P3D_ERR_DEVICE, "%s: kernel launch failed: %s", op, cudaGetErrorString(err));
    if (ctx->sync_debug) {
        ctx->traffic.syncs++;
        err = cudaStreamSynchronize(ctx->stream);
        if (err != cudaSuccess) return p3d_fail(P3D_ERR_DEVICE, "%s: kernel failed: %s", op, cudaGetErrorString(err));
    }
    return P3D_OK;
}

struct p3d_cuda_timer {
    p3d_cuda_ctx *ctx;
    cudaEvent_t start, stop;
};

p3d_status p3d_cuda_timer_init(p3d_cuda_ctx *ctx, p3d_cuda_timer **out) {
    *out = NULL;
    p3d_cuda_timer *t = (p3d_cuda_timer *)calloc(1, sizeof *t);
    if (!t) return p3d_fail(P3D_ERR_OOM, "p3d_cuda_timer_init: out of host memory");
    t->ctx = ctx;
    cudaError_t e1 = cudaEventCreate(&t->start);
    cudaError_t e2 = cudaEventCreate(&t->stop);
    if (e1 != cudaSuccess || e2 != cudaSuccess) {
        p3d_cuda_timer_free(t);
        return p3d_fail(P3D_ERR_DEVICE, "cudaEventCreate failed: %s",
                        cudaGetErrorString(e1 != cudaSuccess ? e1 : e2));
    }
    *out = t;
    return P3D_OK;
}

p3d_status p3d_cuda_timer_start(p3d_cuda_timer *t) {
    P3D_CUDA_CHECK(cudaEventRecord(t->start, t->ctx->stream));
    return P3D_OK;
}

p3d_status p3d_cuda_timer_stop_ms(p3d_cuda_timer *t, double *ms) {
    P3D_CUDA_CHECK(cudaEventRecord(t->stop, t->ctx->stream));
    t->ctx->traffic.syncs++;
    P3D_CUDA_CHECK(cudaEventSynchronize(t->stop));
    float f = 0.0f;
    P3D_CUDA_CHECK(cudaEventElapsedTime(&f, t->start, t->stop));
    *ms = (double)f;
    return P3D_OK;
}

void p3d_cuda_timer_free(p3d_cuda_timer *t) {
    if (!t) return;
    if (t->start) (void)cudaEventDestroy(t->start);
    if (t->stop) (void)cudaEventDestroy(t->stop);
    free(t);
}

} // extern "C"
