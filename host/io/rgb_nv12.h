/* rgb_nv12.h - RGB frames to NV12 (the 4:2:0 layout NVENC takes), on the CPU or a CUDA device; the
 * per-block rule is rgb_nv12_math.h's.
 *
 *   p3d_rgb_to_nv12_cpu(rgb, w, h, y, w, uv, w);        // rgb (h, w, 3); y (h, w); uv (h / 2, w)
 */
#ifndef P3D_RGB_NV12_H
#define P3D_RGB_NV12_H

#include "core/backend.h"

#ifdef __cplusplus
extern "C" {
#endif

/* rgb (h, w, 3) -> y (h rows of y_pitch bytes, w used) and uv (h / 2 rows of uv_pitch bytes, w used:
 * U, V interleaved). w and h even and positive, pitches >= w. */
p3d_status p3d_rgb_to_nv12_cpu(const uint8_t *rgb, int32_t w, int32_t h, uint8_t *y, int64_t y_pitch, uint8_t *uv,
                               int64_t uv_pitch);

#ifdef P3D_HAVE_CUDA
struct p3d_cuda_ctx;
/* The CUDA twin: every pointer is device memory; runs on ctx's stream (asynchronous). */
p3d_status p3d_rgb_to_nv12_cuda(struct p3d_cuda_ctx *ctx, const uint8_t *rgb, int32_t w, int32_t h, uint8_t *y,
                                int64_t y_pitch, uint8_t *uv, int64_t uv_pitch);
#endif

#ifdef __cplusplus
}
#endif
#endif
