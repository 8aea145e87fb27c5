/* tensor.h - a tensor is a typed, shaped view of memory owned by someone else (an arena, a weight
 * blob, or the caller). It never frees anything.
 *
 * Layouts: activations of the float networks are NCHW float32 (shape = {N, C, H, W}); the quantized
 * Tiefenrausch network keeps NHWC int8 as the model was exported (shape = {N, H, W, C}); each op's
 * header says which. Quantized values map to real ones as real = scale * (q - zero_point).
 *
 *   int64_t shape[4] = {1, 3, 480, 640};
 *   p3d_tensor t;
 *   P3D_TRY(p3d_tensor_arena(arena, P3D_F32, 4, shape, &t));   // memory from an arena
 *   float *x = p3d_tensor_f32(&t);                              // typed access, checks dtype
 */
#ifndef P3D_TENSOR_H
#define P3D_TENSOR_H

#include "core/p3d_common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define P3D_MAX_DIMS 4

typedef enum p3d_dtype {
    P3D_F32 = 0,
    P3D_I8 = 1,  /* quantized: real = scale * (q - zero_point) */
    P3D_U8 = 2,  /* quantized or 8-bit image samples */
    P3D_I32 = 3, /* int32 accumulators / quantized biases (scale = in_scale * w_scale, zp = 0) */
    P3D_U16 = 4, /* 16-bit image samples */
    P3D_F64 = 5, /* only for reading .npy files; never computed with */
} p3d_dtype;

/* Where the data lives. */
typedef enum p3d_mem {
    P3D_MEM_HOST = 0,
    P3D_MEM_CUDA = 1,
} p3d_mem;

typedef struct p3d_tensor {
    void *data;
    p3d_dtype dtype;
    p3d_mem mem;
    int32_t ndim;
    int64_t shape[P3D_MAX_DIMS];
    float scale;        /* quantized dtypes only; 1 otherwise */
    int32_t zero_point; /* quantized dtypes only; 0 otherwise */
} p3d_tensor;

size_t p3d_dtype_size(p3d_dtype dt);
const char *p3d_dtype_name(p3d_dtype dt); /* "f32", "i8", ... */

/* Number of elements; 0 for a tensor with a zero dimension. */
int64_t p3d_tensor_numel(const p3d_tensor *t);
size_t p3d_tensor_nbytes(const p3d_tensor *t);

/* A view of existing memory. ndim in 1..4, every dimension >= 0. */
p3d_tensor p3d_tensor_view(void *data, p3d_dtype dt, p3d_mem mem, int32_t ndim, const int64_t *shape);

/* Writes "[256,128,3,3]" into buf (always NUL-terminated). Returns buf. */
char *p3d_shape_str(char *buf, size_t cap, int32_t ndim, const int64_t *shape);

/* 1 when dtype, ndim and every dimension agree. */
int p3d_tensor_same_shape(const p3d_tensor *a, const p3d_tensor *b);

/* Typed accessors: abort (programmer error) if the dtype does not match. */
float *p3d_tensor_f32(const p3d_tensor *t);
int8_t *p3d_tensor_i8(const p3d_tensor *t);
uint8_t *p3d_tensor_u8(const p3d_tensor *t);
int32_t *p3d_tensor_i32(const p3d_tensor *t);

#ifdef __cplusplus
}
#endif
#endif
