/* backend.c - device parsing/resolution and the p3d_ctx that dispatches to the CPU or CUDA side. */
#include "core/backend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef P3D_HAVE_OPENMP
#include <omp.h>
#endif
#ifdef P3D_HAVE_CUDA
#include "p3d_cuda.h"
#endif

struct p3d_ctx {
    p3d_device dev;
    int32_t n_threads;
    struct p3d_cuda_ctx *cuda; /* NULL on the CPU */
    size_t bytes_in_use;       /* host allocations (the CUDA side tracks its own) */
    size_t bytes_peak;
    void *scratch; /* p3d_ctx_scratch_reserve: context memory shared by the ops */
    size_t scratch_bytes;
#ifdef P3D_HAVE_CUDA
    struct p3d_cuda_staging *staging; /* p3d_staging_*, made on first use */
#endif
    void *cpu_slot[2]; /* the CPU's staging slots (host = device memory) */
    size_t cpu_slot_bytes[2];
    int32_t cpu_next;
};

/* Host allocations carry their size in a header so p3d_ctx_release can account for them; 256 bytes
 * keeps the payload as aligned as cudaMalloc's (the arena's P3D_ARENA_ALIGN, vector loads). */
#define P3D_HOST_HDR 256

int p3d_cuda_compiled(void) {
#ifdef P3D_HAVE_CUDA
    return 1;
#else
    return 0;
#endif
}

p3d_status p3d_device_parse(const char *text, p3d_device *out) {
    if (!text) return p3d_fail(P3D_ERR_INVALID_ARG, "--device: missing value");
    if (strcmp(text, "auto") == 0) {
        out->kind = P3D_DEVICE_AUTO;
        out->index = 0;
        return P3D_OK;
    }
    if (strcmp(text, "cpu") == 0) {
        out->kind = P3D_DEVICE_CPU;
        out->index = 0;
        return P3D_OK;
    }
    if (strcmp(text, "cuda") == 0) {
        out->kind = P3D_DEVICE_CUDA;
        out->index = 0;
        return P3D_OK;
    }
    if (strncmp(text, "cuda:", 5) == 0 && text[5] >= '0' && text[5] <= '9') {
        char *end = NULL;
        long v = strtol(text + 5, &end, 10);
        if (*end == '\0' && v >= 0 && v < 1024) {
            out->kind = P3D_DEVICE_CUDA;
            out->index = (int32_t)v;
            return P3D_OK;
        }
    }
    return p3d_fail(P3D_ERR_INVALID_ARG, "--device '%s': expected cpu, cuda, cuda:N or auto", text);
}

const char *p3d_device_str(p3d_device dev, char *buf, size_t cap) {
    switch (dev.kind) {
    case P3D_DEVICE_AUTO: snprintf(buf, cap, "auto"); break;
    case P3D_DEVICE_CPU: snprintf(buf, cap, "cpu"); break;
    case P3D_DEVICE_CUDA: snprintf(buf, cap, "cuda:%d", (int)dev.index); break;
    }
    return buf;
}

p3d_status p3d_device_resolve(p3d_device *dev) {
    int32_t n = 0;
    const char *why = "the CUDA backend is not compiled into this binary";
#ifdef P3D_HAVE_CUDA
    p3d_cuda_device_count(&n, &why);
#endif
    if (dev->kind == P3D_DEVICE_AUTO) {
        if (n > 0) {
            dev->kind = P3D_DEVICE_CUDA;
            dev->index = 0;
        } else {
            p3d_log(P3D_LOG_INFO, "no usable CUDA device (%s): running on the CPU", why);
            dev->kind = P3D_DEVICE_CPU;
            dev->index = 0;
        }
        return P3D_OK;
    }
    if (dev->kind == P3D_DEVICE_CUDA) {
        if (n == 0) return p3d_fail(P3D_ERR_UNSUPPORTED, "--device cuda:%d: no usable CUDA device (%s)",
                                    (int)dev->index, why);
        if (dev->index >= n)
            return p3d_fail(P3D_ERR_INVALID_ARG, "--device cuda:%d: only %d CUDA device(s) found",
                            (int)dev->index, (int)n);
    }
    return P3D_OK;
}

p3d_status p3d_ctx_init(p3d_ctx **out, p3d_device dev) {
    *out = NULL;
    if (dev.kind == P3D_DEVICE_AUTO) P3D_ABORT("p3d_ctx_init: device not resolved");
    p3d_ctx *ctx = (p3d_ctx *)calloc(1, sizeof *ctx);
    if (!ctx) return p3d_fail(P3D_ERR_OOM, "p3d_ctx_init: out of host memory");
    ctx->dev = dev;
#ifdef P3D_HAVE_OPENMP
    ctx->n_threads = (int32_t)omp_get_max_threads();
#else
    ctx->n_threads = 1;
#endif
    if (dev.kind == P3D_DEVICE_CUDA) {
#ifdef P3D_HAVE_CUDA
        p3d_status st = p3d_cuda_ctx_init(&ctx->cuda, dev.index);
        if (st != P3D_OK) {
            free(ctx);
            return st;
        }
#else
        free(ctx);
        return p3d_fail(P3D_ERR_UNSUPPORTED, "the CUDA backend is not compiled into this binary "
                                             "(rebuild with -DP3D_CUDA=ON)");
#endif
    }
    *out = ctx;
    return P3D_OK;
}

void p3d_ctx_free(p3d_ctx *ctx) {
    if (!ctx) return;
    p3d_ctx_release(ctx, ctx->scratch);
    free(ctx->cpu_slot[0]);
    free(ctx->cpu_slot[1]);
#ifdef P3D_HAVE_CUDA
    p3d_cuda_staging_free(ctx->staging);
    if (ctx->cuda) p3d_cuda_ctx_free(ctx->cuda);
#endif
    free(ctx);
}

p3d_device p3d_ctx_device(const p3d_ctx *ctx) { return ctx->dev; }
p3d_mem p3d_ctx_mem(const p3d_ctx *ctx) { return ctx->cuda ? P3D_MEM_CUDA : P3D_MEM_HOST; }
struct p3d_cuda_ctx *p3d_ctx_cuda(const p3d_ctx *ctx) { return ctx->cuda; }
int32_t p3d_ctx_threads(const p3d_ctx *ctx) { return ctx->n_threads; }

p3d_status p3d_ctx_alloc(p3d_ctx *ctx, size_t bytes, void **out) {
    *out = NULL;
#ifdef P3D_HAVE_CUDA
    if (ctx->cuda) return p3d_cuda_malloc(ctx->cuda, bytes, out);
#endif
    size_t total;
    if (!p3d_size_add(bytes, P3D_HOST_HDR, &total))
        return p3d_fail(P3D_ERR_OOM, "host allocation of %zu bytes overflows", bytes);
    unsigned char *p = (unsigned char *)aligned_alloc(P3D_HOST_HDR, (total + P3D_HOST_HDR - 1) / P3D_HOST_HDR * P3D_HOST_HDR);
    if (!p) return p3d_fail(P3D_ERR_OOM, "out of host memory allocating %zu bytes", bytes);
    memcpy(p, &bytes, sizeof bytes);
    ctx->bytes_in_use += bytes;
    if (ctx->bytes_in_use > ctx->bytes_peak) ctx->bytes_peak = ctx->bytes_in_use;
    *out = p + P3D_HOST_HDR;
    return P3D_OK;
}

void p3d_ctx_release(p3d_ctx *ctx, void *ptr) {
    if (!ptr) return;
#ifdef P3D_HAVE_CUDA
    if (ctx->cuda) {
        p3d_cuda_free(ctx->cuda, ptr);
        return;
    }
#endif
    unsigned char *p = (unsigned char *)ptr - P3D_HOST_HDR;
    size_t bytes;
    memcpy(&bytes, p, sizeof bytes);
    ctx->bytes_in_use -= bytes;
    free(p);
}

p3d_status p3d_ctx_upload(p3d_ctx *ctx, void *dst, const void *src_host, size_t bytes) {
#ifdef P3D_HAVE_CUDA
    if (ctx->cuda) return p3d_cuda_memcpy_h2d(ctx->cuda, dst, src_host, bytes);
#endif
    if (bytes) memmove(dst, src_host, bytes);
    return P3D_OK;
}

p3d_status p3d_ctx_download(p3d_ctx *ctx, void *dst_host, const void *src, size_t bytes) {
#ifdef P3D_HAVE_CUDA
    if (ctx->cuda) return p3d_cuda_memcpy_d2h(ctx->cuda, dst_host, src, bytes);
#endif
    if (bytes) memmove(dst_host, src, bytes);
    return P3D_OK;
}

p3d_status p3d_ctx_copy(p3d_ctx *ctx, void *dst, const void *src, size_t bytes) {
#ifdef P3D_HAVE_CUDA
    if (ctx->cuda) return p3d_cuda_memcpy_d2d(ctx->cuda, dst, src, bytes);
#endif
    if (bytes) memmove(dst, src, bytes);
    return P3D_OK;
}

p3d_status p3d_ctx_sync(p3d_ctx *ctx) {
#ifdef P3D_HAVE_CUDA
    if (ctx->cuda) return p3d_cuda_sync(ctx->cuda);
#endif
    (void)ctx;
    return P3D_OK;
}

/* A growth takes a quarter more than asked: the next image of a batch has other LDI and patch counts,
 * and its stages then fit the block without a new allocation (issue 14: none after the first image). */
#define P3D_SCRATCH_HEADROOM 4

p3d_status p3d_ctx_scratch_reserve(p3d_ctx *ctx, size_t bytes) {
    if (bytes <= ctx->scratch_bytes) return P3D_OK;
    /* On a GPU cudaFree waits for the queued kernels that may still read the old block. */
    p3d_ctx_release(ctx, ctx->scratch);
    ctx->scratch = NULL;
    ctx->scratch_bytes = 0;
    if (bytes + bytes / P3D_SCRATCH_HEADROOM > bytes) bytes += bytes / P3D_SCRATCH_HEADROOM;
    void *p = NULL;
    P3D_TRY(p3d_ctx_alloc(ctx, bytes, &p));
    ctx->scratch = p;
    ctx->scratch_bytes = bytes;
    return P3D_OK;
}

void *p3d_ctx_scratch(const p3d_ctx *ctx, size_t *bytes) {
    *bytes = ctx->scratch_bytes;
    return ctx->scratch;
}

p3d_status p3d_staging_begin(p3d_ctx *ctx, size_t host_bytes, size_t dev_bytes, int32_t *slot, void **host) {
    *slot = -1;
    *host = NULL;
#ifdef P3D_HAVE_CUDA
    if (ctx->cuda) {
        if (!ctx->staging) P3D_TRY(p3d_cuda_staging_init(ctx->cuda, &ctx->staging));
        return p3d_cuda_staging_begin(ctx->staging, host_bytes, dev_bytes, slot, host);
    }
#endif
    const int32_t k = ctx->cpu_next;
    const size_t need = dev_bytes > host_bytes ? dev_bytes : host_bytes;
    if (need > ctx->cpu_slot_bytes[k]) {
        free(ctx->cpu_slot[k]);
        ctx->cpu_slot_bytes[k] = 0;
        /* 256-byte aligned as the device's blocks, never empty */
        ctx->cpu_slot[k] = aligned_alloc(256, (need + 255) / 256 * 256 + 256);
        if (!ctx->cpu_slot[k]) return p3d_fail(P3D_ERR_OOM, "staging: out of host memory (%zu bytes)", need);
        ctx->cpu_slot_bytes[k] = need;
    }
    ctx->cpu_next = k ^ 1;
    *slot = k;
    *host = ctx->cpu_slot[k];
    return P3D_OK;
}

p3d_status p3d_staging_start(p3d_ctx *ctx, int32_t slot) {
#ifdef P3D_HAVE_CUDA
    if (ctx->cuda) return p3d_cuda_staging_start(ctx->staging, slot);
#endif
    (void)ctx, (void)slot;
    return P3D_OK;
}

p3d_status p3d_staging_take(p3d_ctx *ctx, int32_t slot, void **dev) {
    *dev = NULL;
#ifdef P3D_HAVE_CUDA
    if (ctx->cuda) return p3d_cuda_staging_take(ctx->staging, slot, dev);
#endif
    if (slot < 0 || slot > 1 || !ctx->cpu_slot[slot]) return p3d_fail(P3D_ERR_INVALID_ARG, "staging: slot %d was not begun", (int)slot);
    *dev = ctx->cpu_slot[slot];
    return P3D_OK;
}

p3d_status p3d_staging_release(p3d_ctx *ctx, int32_t slot) {
#ifdef P3D_HAVE_CUDA
    if (ctx->cuda) return ctx->staging ? p3d_cuda_staging_release(ctx->staging, slot) : P3D_OK;
#endif
    (void)ctx, (void)slot;
    return P3D_OK;
}

p3d_status p3d_staging_copy_ms(p3d_ctx *ctx, int32_t slot, double *ms) {
    *ms = 0.0;
#ifdef P3D_HAVE_CUDA
    if (ctx->cuda && ctx->staging) return p3d_cuda_staging_copy_ms(ctx->staging, slot, ms);
#endif
    (void)ctx, (void)slot;
    return P3D_OK;
}

p3d_device_traffic p3d_ctx_traffic(const p3d_ctx *ctx) {
    p3d_device_traffic t;
    memset(&t, 0, sizeof t);
#ifdef P3D_HAVE_CUDA
    if (ctx->cuda) p3d_cuda_traffic(ctx->cuda, &t);
#else
    (void)ctx;
#endif
    return t;
}

p3d_device_traffic p3d_device_traffic_sub(p3d_device_traffic after, p3d_device_traffic before) {
    p3d_device_traffic d;
    d.h2d_bytes = after.h2d_bytes - before.h2d_bytes;
    d.d2h_bytes = after.d2h_bytes - before.d2h_bytes;
    d.syncs = after.syncs - before.syncs;
    d.allocations = after.allocations - before.allocations;
    return d;
}

size_t p3d_ctx_bytes_in_use(const p3d_ctx *ctx) {
#ifdef P3D_HAVE_CUDA
    if (ctx->cuda) return p3d_cuda_bytes_in_use(ctx->cuda, 0);
#endif
    return ctx->bytes_in_use;
}

size_t p3d_ctx_bytes_peak(const p3d_ctx *ctx) {
#ifdef P3D_HAVE_CUDA
    if (ctx->cuda) return p3d_cuda_bytes_in_use(ctx->cuda, 1);
#endif
    return ctx->bytes_peak;
}

p3d_status p3d_tensor_copy(p3d_ctx *ctx, p3d_tensor *dst, const p3d_tensor *src) {
    if (!p3d_tensor_same_shape(dst, src)) {
        char a[64], b[64];
        return p3d_fail(P3D_ERR_INVALID_ARG, "tensor copy: %s %s into %s %s", p3d_dtype_name(src->dtype),
                        p3d_shape_str(a, sizeof a, src->ndim, src->shape), p3d_dtype_name(dst->dtype),
                        p3d_shape_str(b, sizeof b, dst->ndim, dst->shape));
    }
    size_t n = p3d_tensor_nbytes(src);
    dst->scale = src->scale;
    dst->zero_point = src->zero_point;
    if (src->mem == P3D_MEM_HOST && dst->mem == P3D_MEM_HOST) {
        if (n) memmove(dst->data, src->data, n);
        return P3D_OK;
    }
#ifdef P3D_HAVE_CUDA
    if (!ctx->cuda) return p3d_fail(P3D_ERR_INVALID_ARG, "tensor copy: device memory on a CPU context");
    if (src->mem == P3D_MEM_HOST) return p3d_cuda_memcpy_h2d(ctx->cuda, dst->data, src->data, n);
    if (dst->mem == P3D_MEM_HOST) return p3d_cuda_memcpy_d2h(ctx->cuda, dst->data, src->data, n);
    return p3d_cuda_memcpy_d2d(ctx->cuda, dst->data, src->data, n);
#else
    (void)ctx;
    return p3d_fail(P3D_ERR_UNSUPPORTED, "tensor copy: device memory without the CUDA backend");
#endif
}
