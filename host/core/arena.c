/* arena.c - planned bump allocator over one p3d_ctx allocation. */
#include "core/arena.h"

#include <stdlib.h>

struct p3d_arena {
    p3d_ctx *ctx;
    unsigned char *base; /* committed block (host or device memory), NULL before commit */
    size_t capacity;     /* bytes of the committed block */
    size_t offset;       /* bump pointer of the current pass */
    size_t planned;      /* largest offset reached by any planning pass */
    int planning;
    int32_t n_allocations;
};

p3d_status p3d_arena_init(p3d_arena **out, p3d_ctx *ctx) {
    p3d_arena *a = (p3d_arena *)calloc(1, sizeof *a);
    if (!a) return p3d_fail(P3D_ERR_OOM, "p3d_arena_init: out of host memory");
    a->ctx = ctx;
    a->planning = 1;
    *out = a;
    return P3D_OK;
}

void p3d_arena_free(p3d_arena *a) {
    if (!a) return;
    p3d_ctx_release(a->ctx, a->base);
    free(a);
}

void p3d_arena_begin_plan(p3d_arena *a) {
    a->planning = 1;
    a->offset = 0;
}

p3d_status p3d_arena_commit(p3d_arena *a) {
    a->planning = 0;
    a->offset = 0;
    if (a->planned <= a->capacity && a->base) return P3D_OK;
    p3d_ctx_release(a->ctx, a->base);
    a->base = NULL;
    a->capacity = 0;
    void *p = NULL;
    P3D_TRY(p3d_ctx_alloc(a->ctx, a->planned ? a->planned : P3D_ARENA_ALIGN, &p));
    a->base = (unsigned char *)p;
    a->capacity = a->planned;
    a->n_allocations++;
    return P3D_OK;
}

void p3d_arena_reset(p3d_arena *a) { a->offset = 0; }

p3d_status p3d_arena_alloc(p3d_arena *a, size_t bytes, void **out) {
    size_t rounded, end;
    if (!p3d_size_add(bytes, P3D_ARENA_ALIGN - 1, &rounded) || !p3d_size_add(a->offset, rounded / P3D_ARENA_ALIGN * P3D_ARENA_ALIGN, &end))
        return p3d_fail(P3D_ERR_OOM, "arena: allocation of %zu bytes overflows", bytes);
    if (a->planning) {
        *out = NULL;
        a->offset = end;
        if (end > a->planned) a->planned = end;
        return P3D_OK;
    }
    if (end > a->capacity)
        return p3d_fail(P3D_ERR_OOM, "arena: %zu bytes requested at offset %zu, capacity %zu (the run "
                                     "allocates more than its plan)", bytes, a->offset, a->capacity);
    *out = a->base + a->offset;
    a->offset = end;
    return P3D_OK;
}

p3d_status p3d_arena_tensor(p3d_arena *a, p3d_dtype dt, int32_t ndim, const int64_t *shape, p3d_tensor *out) {
    size_t bytes = p3d_dtype_size(dt);
    for (int32_t i = 0; i < ndim; i++) {
        if (shape[i] < 0 || !p3d_size_mul(bytes, (size_t)shape[i], &bytes)) {
            char s[96];
            return p3d_fail(P3D_ERR_INVALID_ARG, "arena: bad tensor shape %s", p3d_shape_str(s, sizeof s, ndim, shape));
        }
    }
    void *p = NULL;
    P3D_TRY(p3d_arena_alloc(a, bytes, &p));
    *out = p3d_tensor_view(p, dt, p3d_ctx_mem(a->ctx), ndim, shape);
    return P3D_OK;
}

int p3d_arena_planning(const p3d_arena *a) { return a->planning; }
size_t p3d_arena_capacity(const p3d_arena *a) { return a->capacity; }
size_t p3d_arena_used(const p3d_arena *a) { return a->offset; }
int32_t p3d_arena_allocations(const p3d_arena *a) { return a->n_allocations; }
