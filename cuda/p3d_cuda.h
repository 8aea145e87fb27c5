/* p3d_cuda.h - what the CUDA backend (cuda/) exports to host C code. Compiled only with P3D_CUDA.
 * Every function returns a p3d_status; CUDA, cuDNN and cuBLAS errors come back as P3D_ERR_DEVICE
 * with the failing call, file and line in p3d_last_error(). */
#ifndef P3D_CUDA_H
#define P3D_CUDA_H

#include "core/backend.h"
#include "core/p3d_common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct p3d_cuda_ctx p3d_cuda_ctx;

typedef struct p3d_cuda_device_info {
    char name[256];
    size_t total_mem;
    size_t free_mem;
    int32_t cc_major, cc_minor;
    int32_t sm_count;
} p3d_cuda_device_info;

typedef struct p3d_cuda_versions {
    int32_t runtime; /* e.g. 13000 */
    int32_t driver;  /* 0 when no driver is installed */
    int64_t cudnn;   /* cudnnGetVersion() */
    int32_t cublas;  /* cublasGetProperty major*10000 + minor*100 + patch; 0 when not queried */
} p3d_cuda_versions;

/* Number of usable devices. With no driver or no device, *n = 0 and *why says why (never fails). */
void p3d_cuda_device_count(int32_t *n, const char **why);
p3d_status p3d_cuda_device_info_get(int32_t index, p3d_cuda_device_info *out);
void p3d_cuda_versions_get(p3d_cuda_versions *out);

p3d_status p3d_cuda_ctx_init(p3d_cuda_ctx **out, int32_t device_index);
void p3d_cuda_ctx_free(p3d_cuda_ctx *ctx);

p3d_status p3d_cuda_malloc(p3d_cuda_ctx *ctx, size_t bytes, void **out);
void p3d_cuda_free(p3d_cuda_ctx *ctx, void *ptr);
p3d_status p3d_cuda_memcpy_h2d(p3d_cuda_ctx *ctx, void *dst, const void *src, size_t bytes);
p3d_status p3d_cuda_memcpy_d2h(p3d_cuda_ctx *ctx, void *dst, const void *src, size_t bytes);
p3d_status p3d_cuda_memcpy_d2d(p3d_cuda_ctx *ctx, void *dst, const void *src, size_t bytes);
p3d_status p3d_cuda_sync(p3d_cuda_ctx *ctx);
/* Bytes allocated through p3d_cuda_malloc now (peak = 0) or at their high-water mark (peak = 1). */
size_t p3d_cuda_bytes_in_use(const p3d_cuda_ctx *ctx, int peak);

/* The context's device arena: one block that the per-image stages carve their buffers from with a
 * bump pointer, so the per-image path makes no cudaMalloc / cudaFree once the block is large enough
 * (issue 14). A stage takes a mark, allocates, and releases back to its mark when it ends (on every
 * path); buffers of one stage are thus contiguous in allocation order. A request that does not fit
 * goes to a spill block of its own (cudaMalloc, counted); when the outermost mark is released after a
 * spill, the arena is replaced by one block of the high-water size plus P3D_CUDA_ARENA_HEADROOM
 * percent, so the next image of that size (whose LDI has a different node count) fits it. Work
 * queued on the context's stream keeps stream order, so memory released by one stage is reused by
 * the next stage's kernels only after the earlier ones ran. Every block is 256-byte aligned. */
#define P3D_CUDA_ARENA_HEADROOM 25
typedef struct p3d_cuda_arena_mark {
    size_t offset;
    int32_t n_spills;
} p3d_cuda_arena_mark;
p3d_cuda_arena_mark p3d_cuda_arena_mark_get(const p3d_cuda_ctx *ctx);
p3d_status p3d_cuda_arena_get(p3d_cuda_ctx *ctx, size_t bytes, void **out);
void p3d_cuda_arena_release(p3d_cuda_ctx *ctx, p3d_cuda_arena_mark mark);
/* Sizes the arena for at least `bytes` now (a plan from the image size; only grows). */
p3d_status p3d_cuda_arena_reserve(p3d_cuda_ctx *ctx, size_t bytes);
size_t p3d_cuda_arena_capacity(const p3d_cuda_ctx *ctx);

/* One blocking device -> host copy of the device range [src, src + bytes) into the context's host
 * staging buffer (grown with realloc, host memory); *host points at the copy, valid until the next
 * call. Stages that return several arrays allocate them next to each other in the arena and fetch
 * them with one wait instead of one per array. */
p3d_status p3d_cuda_download_span(p3d_cuda_ctx *ctx, const void *src, size_t bytes, const void **host);

/* Uploads through page-locked staging on the context's copy stream (core/backend.h's p3d_staging_*,
 * which says how they are used and counted). Two slots used in turn; slot k's page-locked host
 * buffer is host_bytes, its device buffer dev_bytes (>= host_bytes; the upload lands at its start).
 * A slot's counters are added to the context's by take. */
typedef struct p3d_cuda_staging p3d_cuda_staging;
p3d_status p3d_cuda_staging_init(p3d_cuda_ctx *ctx, p3d_cuda_staging **out);
void p3d_cuda_staging_free(p3d_cuda_staging *s);
p3d_status p3d_cuda_staging_begin(p3d_cuda_staging *s, size_t host_bytes, size_t dev_bytes, int32_t *slot,
                                  void **host);
p3d_status p3d_cuda_staging_start(p3d_cuda_staging *s, int32_t slot);
p3d_status p3d_cuda_staging_take(p3d_cuda_staging *s, int32_t slot, void **dev);
p3d_status p3d_cuda_staging_release(p3d_cuda_staging *s, int32_t slot);
/* The slot's last copy on the copy stream, in ms from its events (waits for it: one counted sync). */
p3d_status p3d_cuda_staging_copy_ms(p3d_cuda_staging *s, int32_t slot, double *ms);

/* The counted traffic of this context (see p3d_device_traffic in core/backend.h). Every CUDA call of
 * cuda/ that allocates, copies between host and device or blocks the host goes through the functions
 * above (or counts itself, as the timer's event wait does), so these are complete. */
void p3d_cuda_traffic(const p3d_cuda_ctx *ctx, p3d_device_traffic *out);

/* Event timing on the context's stream (bench/). */
typedef struct p3d_cuda_timer p3d_cuda_timer;
p3d_status p3d_cuda_timer_init(p3d_cuda_ctx *ctx, p3d_cuda_timer **out);
p3d_status p3d_cuda_timer_start(p3d_cuda_timer *t);
p3d_status p3d_cuda_timer_stop_ms(p3d_cuda_timer *t, double *ms); /* records, waits, returns ms */
void p3d_cuda_timer_free(p3d_cuda_timer *t);

#ifdef __cplusplus
}
#endif
#endif
