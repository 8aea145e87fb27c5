/* backend.h - device selection and the per-run context.
 *
 * A p3d_ctx owns everything device-specific: for CUDA the device index, a compute stream, a copy
 * stream, the cuBLAS and cuDNN handles, a scratch workspace and the page-locked upload staging; for
 * the CPU the thread count. There is no global CUDA
 * state: two contexts on two GPUs run side by side in two threads (one worker per GPU).
 *
 *   p3d_device dev;
 *   P3D_TRY(p3d_device_parse("cuda:1", &dev));      // or "cpu", "cuda", "auto"
 *   P3D_TRY(p3d_device_resolve(&dev));              // "auto" -> cuda:0 if a GPU is usable, else cpu
 *   p3d_ctx *ctx;
 *   P3D_TRY(p3d_ctx_init(&ctx, dev));
 *   ...
 *   p3d_ctx_free(ctx);
 */
#ifndef P3D_BACKEND_H
#define P3D_BACKEND_H

#include "core/p3d_common.h"
#include "core/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum p3d_device_kind {
    P3D_DEVICE_AUTO = 0, /* only before p3d_device_resolve */
    P3D_DEVICE_CPU = 1,
    P3D_DEVICE_CUDA = 2,
} p3d_device_kind;

typedef struct p3d_device {
    p3d_device_kind kind;
    int32_t index; /* CUDA ordinal; 0 for the CPU */
} p3d_device;

/* Parses "auto", "cpu", "cuda" (= cuda:0) or "cuda:N". */
p3d_status p3d_device_parse(const char *text, p3d_device *out);
/* Replaces AUTO by cuda:0 when a CUDA device is usable, else by cpu with one notice on stderr.
 * Checks that an explicit cuda:N exists. */
p3d_status p3d_device_resolve(p3d_device *dev);
/* "cpu" or "cuda:N" */
const char *p3d_device_str(p3d_device dev, char *buf, size_t cap);

/* 1 when this binary has the CUDA backend compiled in. */
int p3d_cuda_compiled(void);

typedef struct p3d_ctx p3d_ctx;

/* dev must be resolved (not AUTO). */
p3d_status p3d_ctx_init(p3d_ctx **out, p3d_device dev);
void p3d_ctx_free(p3d_ctx *ctx);

p3d_device p3d_ctx_device(const p3d_ctx *ctx);
/* Memory kind tensors of this context live in. */
p3d_mem p3d_ctx_mem(const p3d_ctx *ctx);
/* The CUDA side (struct p3d_cuda_ctx *, see cuda/p3d_cuda.h), NULL on the CPU. */
struct p3d_cuda_ctx *p3d_ctx_cuda(const p3d_ctx *ctx);
/* OpenMP threads the CPU backend uses (1 without OpenMP). */
int32_t p3d_ctx_threads(const p3d_ctx *ctx);

/* Device (or host, for the CPU) memory. Allocation happens at plan time, never per image. */
p3d_status p3d_ctx_alloc(p3d_ctx *ctx, size_t bytes, void **out);
void p3d_ctx_release(p3d_ctx *ctx, void *ptr);
/* Copies between host memory and this context's memory; synchronous. */
p3d_status p3d_ctx_upload(p3d_ctx *ctx, void *dst, const void *src_host, size_t bytes);
p3d_status p3d_ctx_download(p3d_ctx *ctx, void *dst_host, const void *src, size_t bytes);
/* Copies within this context's memory; queued behind the work before it, no host wait on a device. */
p3d_status p3d_ctx_copy(p3d_ctx *ctx, void *dst, const void *src, size_t bytes);
/* Waits for all queued work. */
p3d_status p3d_ctx_sync(p3d_ctx *ctx);
/* Bytes currently allocated through p3d_ctx_alloc and their high-water mark. */
size_t p3d_ctx_bytes_in_use(const p3d_ctx *ctx);
size_t p3d_ctx_bytes_peak(const p3d_ctx *ctx);

/* Scratch memory shared by the ops of one context: im2col tiles, cuDNN workspaces, padded or
 * masked copies of an op's input. An op's plan step calls p3d_ctx_scratch_reserve with what its
 * forward needs (the block only grows, and only then is memory allocated, a quarter more than asked so
 * that the next image of a batch fits it); its forward takes the
 * block with p3d_ctx_scratch. Ops on one context run one at a time (one thread, one stream), so
 * they can all share it; the block is valid until the next reserve that grows it. */
p3d_status p3d_ctx_scratch_reserve(p3d_ctx *ctx, size_t bytes);
/* The current block (context memory, aligned to at least 64 bytes) and its size in *bytes;
 * NULL and 0 before the first reserve. */
void *p3d_ctx_scratch(const p3d_ctx *ctx, size_t *bytes);

/* What a context moved and waited for since it was created (issue 14: measured, not assumed). On
 * the CPU every field stays 0. Per image: the difference of two snapshots (p3d_device_traffic_sub). */
typedef struct p3d_device_traffic {
    int64_t h2d_bytes;   /* bytes copied host -> device */
    int64_t d2h_bytes;   /* bytes copied device -> host */
    int64_t syncs;       /* blocking host waits: stream / device / event synchronisations, including the
                          * one that ends every device -> host copy */
    int64_t allocations; /* device allocations: cudaMalloc (arena blocks and their growth, cuDNN
                          * workspaces, weights, renderer buffers) and cudaMallocHost */
} p3d_device_traffic;

/* The context's counters now (zeros on the CPU). */
p3d_device_traffic p3d_ctx_traffic(const p3d_ctx *ctx);
/* after - before, field by field. */
p3d_device_traffic p3d_device_traffic_sub(p3d_device_traffic after, p3d_device_traffic before);

/* Uploads through page-locked staging on the context's copy stream (issue 14: overlap across a batch).
 * The staging has two slots used in turn, so the upload for the next image runs on the copy stream
 * while the current image's kernels run on the compute stream. A slot is a page-locked host buffer of
 * host_bytes and a device buffer of dev_bytes >= host_bytes (the upload lands at its start; the rest
 * is the caller's, e.g. the stage that reads the upload writes its result there). Both slots are
 * planned together from the image size: begin only grows them (one cudaMallocHost and one cudaMalloc
 * for both), so a batch of one size allocates on its first image only.
 *
 *   int32_t slot; void *host, *dev;
 *   P3D_TRY(p3d_staging_begin(ctx, bytes, dev_bytes, &slot, &host)); // write host[0, bytes)
 *   P3D_TRY(p3d_staging_start(ctx, slot));  // cudaMemcpyAsync on the copy stream, then an event
 *   ...                                     // the previous image's work goes on meanwhile
 *   P3D_TRY(p3d_staging_take(ctx, slot, &dev)); // the compute stream waits for the event (no host wait)
 *   ...                                     // kernels read dev
 *   P3D_TRY(p3d_staging_release(ctx, slot)); // free again once the compute stream's work so far ran
 *
 * Counting: the allocations, bytes and blocking waits of begin and start are kept with the slot and
 * added to the context's counters by take, so they count on the image that uses the upload even when
 * it was issued while the previous image was being computed. One thread calls these per context. On
 * the CPU host and device buffer are one ordinary block, start and take move nothing, and nothing is
 * counted. Slots are taken in the order they were begun; release also ends a slot never taken. */
p3d_status p3d_staging_begin(p3d_ctx *ctx, size_t host_bytes, size_t dev_bytes, int32_t *slot, void **host);
p3d_status p3d_staging_start(p3d_ctx *ctx, int32_t slot);
p3d_status p3d_staging_take(p3d_ctx *ctx, int32_t slot, void **dev);
p3d_status p3d_staging_release(p3d_ctx *ctx, int32_t slot);
/* Device time of the slot's last upload on the copy stream in ms, from CUDA events (bench/; waits for
 * the copy: one counted sync). 0 on the CPU. */
p3d_status p3d_staging_copy_ms(p3d_ctx *ctx, int32_t slot, double *ms);

/* Copies a tensor between memories (dst and src must have the same dtype and shape). */
p3d_status p3d_tensor_copy(p3d_ctx *ctx, p3d_tensor *dst, const p3d_tensor *src);

#ifdef __cplusplus
}
#endif
#endif
