/* npy.h - NumPy .npy files (format versions 1, 2 and 3) as host float32 tensors.
 *
 * Reading accepts little-endian, C-order arrays of dtype float32 ('<f4'), float64 ('<f8'), uint16
 * ('<u2'), uint8 ('|u1') or bool ('|b1', bytes 0/1) with 1..4 dimensions and at least one element;
 * the values are converted to float32 (integers exactly, float64 rounded to nearest). Anything else - big-endian or other dtypes,
 * fortran_order True, a malformed header, truncated or surplus data, an empty array - fails with
 * P3D_ERR_FORMAT and a message naming the file and what is wrong.
 *
 *   p3d_tensor t;                                  // t.shape = the file's shape, e.g. {384, 288}
 *   P3D_TRY(p3d_npy_read("columns.npy", &t, NULL));
 *   ... p3d_tensor_f32(&t) ...
 *   p3d_npy_free(&t);
 *
 * Writing stores a host float32 tensor as a version-1 '<f4' C-order file, atomically. */
#ifndef P3D_NPY_H
#define P3D_NPY_H

#include "core/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Reads path into *out: a host P3D_F32 tensor whose data is malloc'ed (release with p3d_npy_free).
 * *file_dtype (may be NULL) receives the dtype stored in the file: P3D_F32, P3D_F64, P3D_U16 or
 * P3D_U8 (uint8 and bool). */
p3d_status p3d_npy_read(const char *path, p3d_tensor *out, p3d_dtype *file_dtype);

/* Frees the data of a tensor from p3d_npy_read and clears it. */
void p3d_npy_free(p3d_tensor *t);

/* Writes a host float32 tensor (ndim 1..4, any shape) to path as '<f4', C order. */
p3d_status p3d_npy_write(const char *path, const p3d_tensor *t);

#ifdef __cplusplus
}
#endif
#endif
