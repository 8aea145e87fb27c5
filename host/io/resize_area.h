/* resize_area.h - image / map resizing that reproduces OpenCV's cv::resize(..., INTER_AREA).
 *
 * The reference pipeline and the Tiefenrausch preprocessing resize with INTER_AREA, so this op
 * follows OpenCV's algorithm rather than an idealised area filter: box means for integer factors,
 * computeResizeAreaTab weights for other reductions, and OpenCV's two-tap "area-mode" interpolation
 * on both axes as soon as either axis is enlarged. resize_area_math.h describes the four paths and
 * the arithmetic (float32 results match OpenCV's scalar code; uint8 results use its rounding).
 *
 * Tensors (both in the memory of the context, same dtype, same channel count):
 *   ndim 2            (H, W)                 one channel
 *   ndim 3, HWC       (H, W, C), C in 1..4   interleaved, float32 or uint8
 *   ndim 3, CHW       (C, H, W)              planar: every plane resized on its own
 *   ndim 4, CHW       (N, C, H, W)           planar: N * C planes
 *
 *   P3D_TRY(p3d_resize_area(ctx, &src, &dst, P3D_RESIZE_HWC));   // dst's shape is the target size
 */
#ifndef P3D_RESIZE_AREA_H
#define P3D_RESIZE_AREA_H

#include "core/backend.h"
#include "core/tensor.h"
#include "io/resize_area_math.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum p3d_resize_layout {
    P3D_RESIZE_HWC = 0, /* channels last (interleaved) */
    P3D_RESIZE_CHW = 1, /* channels first (planar) */
} p3d_resize_layout;

/* Resizes src into dst (dst's shape gives the target size) on the context's device. */
p3d_status p3d_resize_area(p3d_ctx *ctx, const p3d_tensor *src, p3d_tensor *dst, p3d_resize_layout layout);

/* The CPU path for host tensors, without a context (OpenMP over destination rows). */
p3d_status p3d_resize_area_cpu(const p3d_tensor *src, p3d_tensor *dst, p3d_resize_layout layout);

/* Checks the pair of tensors and fills the geometry (which path, scales) the kernels use. */
p3d_status p3d_resize_area_plan(const p3d_tensor *src, const p3d_tensor *dst, p3d_resize_layout layout,
                                p3d_ra_geom *g);

#ifdef P3D_HAVE_CUDA
/* The CUDA launcher: src and dst are device pointers laid out as g says; runs on ctx's stream. */
p3d_status p3d_resize_area_cuda(p3d_ctx *ctx, const p3d_ra_geom *g, const void *src, void *dst);
#endif

#ifdef __cplusplus
}
#endif
#endif
