/* backend.h - device selection and the per-run context.
 *
 * A p3d_ctx owns everything device-specific: for CUDA the device index, one stream, the cuBLAS and
 * cuDNN handles and a scratch workspace; for the CPU the thread count. There is no global CUDA
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
 * forward needs (the block only grows, and only then is memory allocated); its forward takes the
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

/* Copies a tensor between memories (dst and src must have the same dtype and shape). */
p3d_status p3d_tensor_copy(p3d_ctx *ctx, p3d_tensor *dst, const p3d_tensor *src);

#ifdef __cplusplus
}
#endif
#endif
