/* ldi_single.h - the simplest LDI: one layer, one node per image pixel, no inpainting. The renderer's
 * tests and benchmarks build their meshes with it (image + disparity -> LDI -> p3d_mesh_from_ldi), and
 * it is what a 3D photo without hidden layers looks like.
 *
 *   P3D_TRY(p3d_ldi_single_layer(rgb, disp, w, h, &cam, 450.0f, 1.5f, &ldi));
 *
 * Node (x, y): depth = depth_scale / disparity, colour rgb (H, W, 3). Pixels whose disparity is not
 * positive and finite (unknown, e.g. occluded in a stereo pair) take the smaller (farther) of the
 * nearest valid disparities to their left and right on the same row: such holes are mostly background
 * uncovered next to a foreground edge. A row without any valid disparity fails. Each node is linked to
 * its right and lower neighbours unless their disparities differ by more than tear. */
#ifndef P3D_LDI_SINGLE_H
#define P3D_LDI_SINGLE_H

#include "ldi/ldi.h"

#ifdef __cplusplus
extern "C" {
#endif

p3d_status p3d_ldi_single_layer(const uint8_t *rgb, const float *disp, int32_t width, int32_t height,
                                const p3d_camera *cam, float depth_scale, float tear, p3d_ldi *out);

#ifdef __cplusplus
}
#endif
#endif
