/* nn_common.c - argument checks, planned-shape cache and scratch carving for the NN ops. */
#include "nn/nn_common.h"

#include <stdio.h>

static const char *mem_name(p3d_mem mem) { return mem == P3D_MEM_CUDA ? "device" : "host"; }

static void dim_str(char *buf, size_t cap, int64_t n, int64_t c, int64_t h, int64_t w) {
    const int64_t d[4] = {n, c, h, w};
    const char *const sym[4] = {"N", "C", "H", "W"};
    size_t pos = 0;
    for (int i = 0; i < 4 && pos < cap; i++) {
        int k = d[i] < 0 ? snprintf(buf + pos, cap - pos, "%s%s", i ? "," : "[", sym[i])
                         : snprintf(buf + pos, cap - pos, "%s%lld", i ? "," : "[", (long long)d[i]);
        if (k < 0) break;
        pos += (size_t)k;
    }
    if (pos < cap) snprintf(buf + pos, cap - pos, "]");
}

p3d_status p3d_nn_check(const char *op, const char *what, const p3d_tensor *t, p3d_mem mem,
                        int64_t n, int64_t c, int64_t h, int64_t w) {
    const int64_t want[4] = {n, c, h, w};
    int ok = t && t->dtype == P3D_F32 && t->ndim == 4 && t->mem == mem && t->data;
    for (int i = 0; ok && i < 4; i++)
        if (t->shape[i] < 1 || (want[i] >= 0 && t->shape[i] != want[i])) ok = 0;
    if (ok) return P3D_OK;
    char exp[96], got[96];
    dim_str(exp, sizeof exp, n, c, h, w);
    if (!t) return p3d_fail(P3D_ERR_INVALID_ARG, "%s: %s: expected f32 %s, got no tensor", op, what, exp);
    p3d_shape_str(got, sizeof got, t->ndim, t->shape);
    return p3d_fail(P3D_ERR_INVALID_ARG, "%s: %s: expected f32 %s in %s memory, got %s %s in %s memory%s",
                    op, what, exp, mem_name(mem), p3d_dtype_name(t->dtype), got, mem_name(t->mem),
                    t->data ? "" : " (no data)");
}

p3d_status p3d_nn_upload(p3d_ctx *ctx, const float *src, int64_t count, float **out) {
    *out = NULL;
    if (!src) return P3D_OK;
    void *d = NULL;
    P3D_TRY(p3d_ctx_alloc(ctx, (size_t)count * sizeof(float), &d));
    *out = (float *)d;
    return p3d_ctx_upload(ctx, d, src, (size_t)count * sizeof(float));
}

int p3d_nn_overlap(const p3d_tensor *a, const p3d_tensor *b) {
    uintptr_t pa = (uintptr_t)a->data, pb = (uintptr_t)b->data;
    return pa < pb + p3d_tensor_nbytes(b) && pb < pa + p3d_tensor_nbytes(a);
}

int32_t p3d_plan_find(const p3d_plan_cache *pc, int64_t n, int64_t h, int64_t w) {
    for (int32_t i = 0; i < pc->used; i++)
        if (pc->key[i][0] == n && pc->key[i][1] == h && pc->key[i][2] == w) return i;
    return -1;
}

int32_t p3d_plan_insert(p3d_plan_cache *pc, int64_t n, int64_t h, int64_t w) {
    int32_t slot;
    if (pc->used < P3D_PLAN_SLOTS) {
        slot = pc->used++;
    } else {
        slot = pc->next;
        pc->next = (pc->next + 1) % P3D_PLAN_SLOTS;
    }
    pc->key[slot][0] = n;
    pc->key[slot][1] = h;
    pc->key[slot][2] = w;
    return slot;
}

void p3d_plan_forget(p3d_plan_cache *pc, int32_t slot) { pc->key[slot][0] = -1; }
