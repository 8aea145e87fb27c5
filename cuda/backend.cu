// backend.cu - the CUDA side of p3d_ctx: device queries, a compute stream + cuBLAS + cuDNN handle and
// a copy stream per context, allocation with accounting, copies, page-locked upload staging, event
// timers. Twin of host/core/backend.c.
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
    P3D_CUDA_CHECK(cudaStreamCreateWithFlags(&ctx->copy_stream, cudaStreamNonBlocking));
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
    if (ctx->copy_stream) (void)cudaStreamDestroy(ctx->copy_stream);
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

// ---- page-locked upload staging ----------------------------------------------------------------
//
// One cudaMallocHost block and one cudaMalloc block, each cut into two equal slots, so an upload for
// the next image fills and copies one slot while the current image's kernels may still read the other.
// A slot goes IDLE -> begin (FILLING: the caller writes its host buffer) -> start (QUEUED: the copy and
// the `ready` event on the copy stream) -> take (TAKEN: the compute stream waits for `ready`) ->
// release (IDLE: `released` recorded on the compute stream after the last work that reads the slot).
// begin waits for `released` only when it has not passed yet (cudaEventQuery), so a wait is counted
// only when it blocks. Growth frees and reallocates both blocks and needs the other slot idle too.
enum { STAGING_IDLE, STAGING_FILLING, STAGING_QUEUED, STAGING_TAKEN };

struct p3d_cuda_staging {
    p3d_cuda_ctx *ctx;
    unsigned char *host;   // 2 * host_cap, page-locked
    unsigned char *dev;    // 2 * dev_cap, device
    size_t host_cap, dev_cap;
    struct {
        int32_t state;
        size_t bytes;                 // the upload's size
        cudaEvent_t t0, ready, released;
        int32_t released_recorded;
        p3d_device_traffic traffic;   // counted for this slot's image, added to the context's by take
    } slot[2];
    int32_t next;                     // the slot the next begin takes
};

p3d_status p3d_cuda_staging_init(p3d_cuda_ctx *ctx, p3d_cuda_staging **out) {
    *out = NULL;
    p3d_cuda_staging *s = (p3d_cuda_staging *)calloc(1, sizeof *s);
    if (!s) return p3d_fail(P3D_ERR_OOM, "staging: out of host memory");
    s->ctx = ctx;
    for (int32_t k = 0; k < 2; k++) {
        cudaError_t e = cudaEventCreate(&s->slot[k].t0);
        if (e == cudaSuccess) e = cudaEventCreate(&s->slot[k].ready);
        if (e == cudaSuccess) e = cudaEventCreate(&s->slot[k].released);
        if (e != cudaSuccess) {
            p3d_cuda_staging_free(s);
            return p3d_fail(P3D_ERR_DEVICE, "cuda:%d: staging: cudaEventCreate failed: %s", (int)ctx->device,
                            cudaGetErrorString(e));
        }
    }
    *out = s;
    return P3D_OK;
}

void p3d_cuda_staging_free(p3d_cuda_staging *s) {
    if (!s) return;
    // Teardown: cudaFreeHost waits for the copies still queued from the block.
    if (s->host) (void)cudaFreeHost(s->host);
    p3d_cuda_free(s->ctx, s->dev);
    for (int32_t k = 0; k < 2; k++) {
        if (s->slot[k].t0) (void)cudaEventDestroy(s->slot[k].t0);
        if (s->slot[k].ready) (void)cudaEventDestroy(s->slot[k].ready);
        if (s->slot[k].released) (void)cudaEventDestroy(s->slot[k].released);
    }
    free(s);
}

// Waits until the compute stream's work before slot k's release has run (counted in slot `into`'s
// traffic only when the host really waits).
static p3d_status staging_wait_released(p3d_cuda_staging *s, int32_t k, int32_t into) {
    if (!s->slot[k].released_recorded) return P3D_OK;
    cudaError_t e = cudaEventQuery(s->slot[k].released);
    if (e == cudaErrorNotReady) {
        s->slot[into].traffic.syncs++;
        e = cudaEventSynchronize(s->slot[k].released);
    }
    P3D_CUDA_CHECK(e);
    return P3D_OK;
}

static size_t staging_round(size_t b) { return (b + 255) / 256 * 256; }

p3d_status p3d_cuda_staging_begin(p3d_cuda_staging *s, size_t host_bytes, size_t dev_bytes, int32_t *slot,
                                  void **host) {
    *slot = -1;
    *host = NULL;
    if (dev_bytes < host_bytes) dev_bytes = host_bytes;
    const int32_t k = s->next;
    if (s->slot[k].state != STAGING_IDLE)
        return p3d_fail(P3D_ERR_INVALID_ARG, "cuda:%d: staging: slot %d begun again before its release",
                        (int)s->ctx->device, (int)k);
    P3D_TRY(staging_wait_released(s, k, k));
    if (host_bytes > s->host_cap || dev_bytes > s->dev_cap) {
        if (s->slot[k ^ 1].state != STAGING_IDLE)
            return p3d_fail(P3D_ERR_INVALID_ARG, "cuda:%d: staging: growing to %zu bytes while the other slot is in use",
                            (int)s->ctx->device, host_bytes);
        P3D_TRY(staging_wait_released(s, k ^ 1, k));
        const size_t hc = staging_round(host_bytes > s->host_cap ? host_bytes : s->host_cap);
        const size_t dc = staging_round(dev_bytes > s->dev_cap ? dev_bytes : s->dev_cap);
        if (s->host) P3D_CUDA_CHECK(cudaFreeHost(s->host));
        p3d_cuda_free(s->ctx, s->dev);
        s->host = NULL, s->dev = NULL, s->host_cap = 0, s->dev_cap = 0;
        void *h = NULL, *d = NULL;
        P3D_CUDA_CHECK(cudaSetDevice(s->ctx->device));
        cudaError_t e = cudaMallocHost(&h, 2 * hc);
        if (e != cudaSuccess) {
            (void)cudaGetLastError();
            return p3d_fail(P3D_ERR_OOM, "cuda:%d: staging: cudaMallocHost of %zu bytes failed: %s",
                            (int)s->ctx->device, 2 * hc, cudaGetErrorString(e));
        }
        s->slot[k].traffic.allocations++;
        e = cudaMalloc(&d, 2 * dc);
        if (e != cudaSuccess) {
            (void)cudaGetLastError();
            (void)cudaFreeHost(h);
            return p3d_fail(P3D_ERR_OOM, "cuda:%d: staging: cudaMalloc of %zu bytes failed: %s", (int)s->ctx->device,
                            2 * dc, cudaGetErrorString(e));
        }
        s->slot[k].traffic.allocations++;
        p3d_status st = alloc_table_add(s->ctx, d, 2 * dc);
        if (st != P3D_OK) {
            (void)cudaFree(d);
            (void)cudaFreeHost(h);
            return st;
        }
        s->host = static_cast<unsigned char *>(h), s->dev = static_cast<unsigned char *>(d);
        s->host_cap = hc, s->dev_cap = dc;
    }
    s->slot[k].state = STAGING_FILLING;
    s->slot[k].bytes = host_bytes;
    s->next = k ^ 1;
    *slot = k;
    *host = s->host + (size_t)k * s->host_cap;
    return P3D_OK;
}

p3d_status p3d_cuda_staging_start(p3d_cuda_staging *s, int32_t k) {
    if (k < 0 || k > 1 || s->slot[k].state != STAGING_FILLING)
        return p3d_fail(P3D_ERR_INVALID_ARG, "cuda:%d: staging: start of slot %d that was not begun", (int)s->ctx->device, (int)k);
    cudaStream_t cs = s->ctx->copy_stream;
    const size_t b = s->slot[k].bytes;
    P3D_CUDA_CHECK(cudaEventRecord(s->slot[k].t0, cs));
    if (b) P3D_CUDA_CHECK(cudaMemcpyAsync(s->dev + (size_t)k * s->dev_cap, s->host + (size_t)k * s->host_cap, b,
                                          cudaMemcpyHostToDevice, cs));
    P3D_CUDA_CHECK(cudaEventRecord(s->slot[k].ready, cs));
    s->slot[k].traffic.h2d_bytes += (int64_t)b;
    s->slot[k].state = STAGING_QUEUED;
    return P3D_OK;
}

p3d_status p3d_cuda_staging_take(p3d_cuda_staging *s, int32_t k, void **dev) {
    *dev = NULL;
    if (k < 0 || k > 1 || s->slot[k].state != STAGING_QUEUED)
        return p3d_fail(P3D_ERR_INVALID_ARG, "cuda:%d: staging: take of slot %d that was not started", (int)s->ctx->device, (int)k);
    // The compute stream's later work waits for the copy on the device; the host goes on.
    P3D_CUDA_CHECK(cudaStreamWaitEvent(s->ctx->stream, s->slot[k].ready, 0));
    p3d_device_traffic *t = &s->ctx->traffic, *add = &s->slot[k].traffic;
    t->h2d_bytes += add->h2d_bytes, t->d2h_bytes += add->d2h_bytes;
    t->syncs += add->syncs, t->allocations += add->allocations;
    memset(add, 0, sizeof *add);
    s->slot[k].state = STAGING_TAKEN;
    *dev = s->dev + (size_t)k * s->dev_cap;
    return P3D_OK;
}

p3d_status p3d_cuda_staging_release(p3d_cuda_staging *s, int32_t k) {
    if (k < 0 || k > 1 || s->slot[k].state == STAGING_IDLE) return P3D_OK;
    // A slot begun or started but never taken: its copy may still read the host buffer.
    if (s->slot[k].state == STAGING_QUEUED) P3D_CUDA_CHECK(cudaStreamWaitEvent(s->ctx->stream, s->slot[k].ready, 0));
    P3D_CUDA_CHECK(cudaEventRecord(s->slot[k].released, s->ctx->stream));
    s->slot[k].released_recorded = 1;
    s->slot[k].state = STAGING_IDLE;
    return P3D_OK;
}

p3d_status p3d_cuda_staging_copy_ms(p3d_cuda_staging *s, int32_t k, double *ms) {
    *ms = 0.0;
    if (k < 0 || k > 1) return p3d_fail(P3D_ERR_INVALID_ARG, "staging: slot %d", (int)k);
    s->ctx->traffic.syncs++;
    P3D_CUDA_CHECK(cudaEventSynchronize(s->slot[k].ready));
    float f = 0.0f;
    P3D_CUDA_CHECK(cudaEventElapsedTime(&f, s->slot[k].t0, s->slot[k].ready));
    *ms = (double)f;
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
