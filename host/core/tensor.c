/* tensor.c - shapes, sizes and typed views. */
#include "core/tensor.h"

#include <stdio.h>
#include <string.h>

size_t p3d_dtype_size(p3d_dtype dt) {
    switch (dt) {
    case P3D_F32: return 4;
    case P3D_I8: return 1;
    case P3D_U8: return 1;
    case P3D_I32: return 4;
    case P3D_U16: return 2;
    case P3D_F64: return 8;
    }
    P3D_ABORT("bad dtype %d", (int)dt);
}

const char *p3d_dtype_name(p3d_dtype dt) {
    switch (dt) {
    case P3D_F32: return "f32";
    case P3D_I8: return "i8";
    case P3D_U8: return "u8";
    case P3D_I32: return "i32";
    case P3D_U16: return "u16";
    case P3D_F64: return "f64";
    }
    return "?";
}

int64_t p3d_tensor_numel(const p3d_tensor *t) {
    int64_t n = 1;
    for (int32_t i = 0; i < t->ndim; i++) n *= t->shape[i];
    return n;
}

size_t p3d_tensor_nbytes(const p3d_tensor *t) {
    return (size_t)p3d_tensor_numel(t) * p3d_dtype_size(t->dtype);
}

p3d_tensor p3d_tensor_view(void *data, p3d_dtype dt, p3d_mem mem, int32_t ndim, const int64_t *shape) {
    P3D_ASSERT(ndim >= 1 && ndim <= P3D_MAX_DIMS);
    p3d_tensor t;
    memset(&t, 0, sizeof t);
    t.data = data;
    t.dtype = dt;
    t.mem = mem;
    t.ndim = ndim;
    for (int32_t i = 0; i < ndim; i++) {
        P3D_ASSERT(shape[i] >= 0);
        t.shape[i] = shape[i];
    }
    t.scale = 1.0f;
    t.zero_point = 0;
    return t;
}

char *p3d_shape_str(char *buf, size_t cap, int32_t ndim, const int64_t *shape) {
    size_t pos = 0;
    if (cap == 0) return buf;
    buf[0] = '\0';
    int n = snprintf(buf, cap, "[");
    pos = n > 0 ? (size_t)n : 0;
    for (int32_t i = 0; i < ndim && pos < cap; i++) {
        n = snprintf(buf + pos, cap - pos, i ? ",%lld" : "%lld", (long long)shape[i]);
        if (n < 0) break;
        pos += (size_t)n;
    }
    if (pos < cap) snprintf(buf + pos, cap - pos, "]");
    return buf;
}

int p3d_tensor_same_shape(const p3d_tensor *a, const p3d_tensor *b) {
    if (a->dtype != b->dtype || a->ndim != b->ndim) return 0;
    for (int32_t i = 0; i < a->ndim; i++)
        if (a->shape[i] != b->shape[i]) return 0;
    return 1;
}

#define P3D_TYPED_ACCESSOR(fn, ctype, dt)                                                          \
    ctype *fn(const p3d_tensor *t) {                                                               \
        if (t->dtype != (dt))                                                                      \
            P3D_ABORT("%s: tensor is %s, not %s", #fn, p3d_dtype_name(t->dtype), p3d_dtype_name(dt)); \
        return (ctype *)t->data;                                                                   \
    }
P3D_TYPED_ACCESSOR(p3d_tensor_f32, float, P3D_F32)
P3D_TYPED_ACCESSOR(p3d_tensor_i8, int8_t, P3D_I8)
P3D_TYPED_ACCESSOR(p3d_tensor_u8, uint8_t, P3D_U8)
P3D_TYPED_ACCESSOR(p3d_tensor_i32, int32_t, P3D_I32)
