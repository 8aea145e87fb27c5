/* arena.h - one allocation per image size, carved into tensors with a bump pointer.
 *
 * The per-image path must not allocate, so a stage sizes its memory once with a planning pass that
 * runs the same sequence of p3d_arena_alloc calls without data (ggml's "measure" allocator):
 *
 *   p3d_arena *a;
 *   P3D_TRY(p3d_arena_init(&a, ctx));
 *   p3d_arena_begin_plan(a);
 *   P3D_TRY(plan_or_run(a, H, W));    // allocations return NULL data and only count bytes
 *   P3D_TRY(p3d_arena_commit(a));     // one p3d_ctx_alloc of the planned size (or keeps a larger one)
 *   for each image of that size: p3d_arena_reset(a); P3D_TRY(plan_or_run(a, H, W));   // real pointers
 *   p3d_arena_free(a);
 *
 * Every block is 256-byte aligned (cuDNN, vector loads). An allocation past the committed capacity
 * is a P3D_ERR_OOM naming the sizes (a plan that does not match the run). */
#ifndef P3D_ARENA_H
#define P3D_ARENA_H

#include "core/backend.h"
#include "core/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

#define P3D_ARENA_ALIGN 256

typedef struct p3d_arena p3d_arena;

p3d_status p3d_arena_init(p3d_arena **out, p3d_ctx *ctx);
void p3d_arena_free(p3d_arena *a);

/* Switches to planning: the offset goes back to 0, allocations count bytes and return NULL. */
void p3d_arena_begin_plan(p3d_arena *a);
/* Ends planning: makes sure the backing block holds the largest plan seen so far. */
p3d_status p3d_arena_commit(p3d_arena *a);
/* Starts a new run over the committed block (offset back to 0). */
void p3d_arena_reset(p3d_arena *a);

/* bytes rounded up to P3D_ARENA_ALIGN. While planning *out is NULL. */
p3d_status p3d_arena_alloc(p3d_arena *a, size_t bytes, void **out);
/* A tensor of this shape carved from the arena (data NULL while planning). */
p3d_status p3d_arena_tensor(p3d_arena *a, p3d_dtype dt, int32_t ndim, const int64_t *shape, p3d_tensor *out);

int p3d_arena_planning(const p3d_arena *a);
size_t p3d_arena_capacity(const p3d_arena *a);
size_t p3d_arena_used(const p3d_arena *a);
/* Number of times the backing block was (re)allocated: stays 1 across images of one size. */
int32_t p3d_arena_allocations(const p3d_arena *a);

#ifdef __cplusplus
}
#endif
#endif
