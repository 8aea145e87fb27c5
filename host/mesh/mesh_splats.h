/* mesh_splats.h - the LDI as 3D Gaussians in the de facto 3D Gaussian Splatting PLY layout, so splat
 * viewers and editors open a 3D photo.
 *
 * One Gaussian per LDI node (every layer, the border included), binary little-endian PLY, float32
 * properties in this order: x y z nx ny nz f_dc_0 f_dc_1 f_dc_2 opacity scale_0 scale_1 scale_2
 * rot_0 rot_1 rot_2 rot_3, as the 3DGS reference writes them:
 *   x y z      the node's camera-space position (OpenCV axes, as the dense mesh's vertices)
 *   n*         0 (unused by splat renderers)
 *   f_dc_k     degree-0 spherical harmonics: (colour / 255 - 0.5) / 0.28209479
 *   opacity    logit of 0.99 (renderers apply a sigmoid)
 *   scale_k    log standard deviations: 0.6 of the node's pixel footprint (depth / fx sideways,
 *              depth / fy vertically; neighbouring Gaussians overlap into a closed surface) and a
 *              tenth of it along the viewing axis, so each Gaussian is a disc facing the camera
 *   rot_k      the identity quaternion (w, x, y, z) = (1, 0, 0, 0): the discs' axes are the camera's
 * The header carries the same comments as the dense PLY (H, W, hFov, vFov). */
#ifndef P3D_MESH_SPLATS_H
#define P3D_MESH_SPLATS_H

#include "ldi/ldi.h"
#include "mesh/mesh.h"

#ifdef __cplusplus
extern "C" {
#endif

/* dense = p3d_mesh_from_ldi(l, ...) (vertex i is node i: positions and the header fields). Written to a
 * temporary name and renamed. */
p3d_status p3d_splats_write(const p3d_ldi *l, const p3d_mesh *dense, const char *path);

#ifdef __cplusplus
}
#endif
#endif
