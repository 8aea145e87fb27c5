/* nn_common.h - plumbing shared by the neural-network ops (conv2d, pconv2d, instance_norm, eltwise,
 * upsample, pad, concat): argument checks with uniform messages, the per-layer cache of planned
 * input shapes, and the scratch carving of context memory.
 *
 * Every op takes float32 NCHW tensors (N >= 1) that live in its context's memory (host memory on a
 * CPU context, device memory on a CUDA one), writes into caller-provided outputs (from an arena)
 * and allocates nothing per call: layers with scratch needs size them in a plan step per input
 * shape (p3d_ctx_scratch_reserve), and the forward only reads p3d_ctx_scratch. */
#ifndef P3D_NN_COMMON_H
#define P3D_NN_COMMON_H

#include "core/backend.h"
#include "core/tensor.h"
#include "nn/nn_math.h"

#ifdef __cplusplus
extern "C" {
#endif

/* How a layer or the pad op fills positions outside the input. */
typedef enum p3d_pad_mode {
    P3D_PAD_ZEROS = 0,
    P3D_PAD_REFLECT = 1, /* mirror without repeating the edge (ReflectionPad2d); pad < H and < W */
} p3d_pad_mode;

/* Checks that t is f32, 4-D, lives in `mem` and has the given dimensions (-1 = any). On failure
 * returns P3D_ERR_INVALID_ARG with "op: what: expected f32 [N,C,H,W] in host memory, got ...". */
p3d_status p3d_nn_check(const char *op, const char *what, const p3d_tensor *t, p3d_mem mem,
                        int64_t n, int64_t c, int64_t h, int64_t w);

/* Copies count floats from the host into new context memory (*out NULL and P3D_OK when src is
 * NULL). Release with p3d_ctx_release. */
p3d_status p3d_nn_upload(p3d_ctx *ctx, const float *src, int64_t count, float **out);

/* 1 when the data of a and b overlap (ops that cannot run in place refuse that). */
int p3d_nn_overlap(const p3d_tensor *a, const p3d_tensor *b);

/* Number of input shapes a layer keeps planned at once (cuDNN descriptors + algorithm per shape).
 * A ninth shape replaces the oldest. */
#define P3D_PLAN_SLOTS 8

/* The (N, H, W) input shapes a layer has been planned for; slot i of every side table (the CUDA
 * descriptors) belongs to key[i]. */
typedef struct p3d_plan_cache {
    int64_t key[P3D_PLAN_SLOTS][3];
    int32_t used; /* slots filled so far */
    int32_t next; /* slot the next new shape replaces once all are used */
} p3d_plan_cache;

/* The slot planned for (n, h, w), or -1. */
int32_t p3d_plan_find(const p3d_plan_cache *pc, int64_t n, int64_t h, int64_t w);
/* Records (n, h, w) in a free slot, else in the oldest one; returns the slot. */
int32_t p3d_plan_insert(p3d_plan_cache *pc, int64_t n, int64_t h, int64_t w);
/* Un-records a slot whose planning failed. */
void p3d_plan_forget(p3d_plan_cache *pc, int32_t slot);

/* Scratch carving: *offset advances past `bytes` rounded up to 256 (cuDNN and vector alignment).
 * Returns the start of the piece (base + old offset; NULL base gives NULL, for sizing). Inline so the
 * CUDA launchers use it too. */
static inline void *p3d_scratch_take(void *base, size_t *offset, size_t bytes) {
    void *p = base ? (unsigned char *)base + *offset : NULL;
    *offset += (bytes + 255) / 256 * 256;
    return p;
}

#ifdef __cplusplus
}
#endif
#endif
