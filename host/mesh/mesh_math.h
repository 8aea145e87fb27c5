/* mesh_math.h - the per-node face decision of p3d_mesh_from_ldi (P3D_HD, shared by host/mesh/mesh.c and
 * cuda/mesh/mesh.cu, so both backends emit the same triangles in the same order).
 *
 * A "corner triangle" is (node n, quadrant): n's horizontal link in direction h (LEFT or RIGHT) to p
 * and its vertical link in direction v (UP or DOWN) to q, both present; the triangle is (n, p, q), its
 * two legs are the links n-p and n-q, its hypotenuse the diagonal p-q of the pixel cell the quadrant
 * points into. Only corner triangles are ever emitted, so no face has an unlinked (torn) leg. Which
 * corner triangles of a cell are emitted depends on the links around that cell:
 *   - closed quad (all four sides linked, p's v-link and q's h-link meet at the same node r): split
 *     along the diagonal with the smaller disparity jump |1/depth_a - 1/depth_b|; on a tie the
 *     diagonal joining the top-left and bottom-right corners. The two triangles along that diagonal
 *     are emitted - the corners NOT on it - when the jump is <= the threshold, else none.
 *   - open chain of links around the cell (three sides: one triangle; two sides, an L: one triangle;
 *     in a multi-layer LDI a chain can also spiral onto another layer): a corner triangle is emitted
 *     when its hypotenuse jump is <= the threshold and it beats each neighbouring corner triangle of
 *     the chain (jump, then node id as the tie break; a neighbour over the threshold never wins).
 *     Neighbouring corner triangles overlap, so a chain keeps non-overlapping local minima: for
 *     three sides the one of the two corners whose hypotenuse has the smaller jump.
 * No triangle crosses a diagonal depth discontinuity (hypotenuse jump > threshold) and each cell's
 * faces cover it at most once (quirk 22 of the reference, which emits all four corners of a full quad).
 *
 * Winding: (n, p, q) or (n, q, p), whichever is counter-clockwise as seen from the camera, i.e.
 * counter-clockwise in the image as displayed (x right, y down): in the PLY's OpenCV frame the face
 * normal (v1 - v0) x (v2 - v0) points toward the camera (negative z side); in the GLB's frame
 * (x, -y, -z), a rotation, the same faces are counter-clockwise from the camera as glTF's front faces
 * expect.
 *
 * Faces are ordered by node id, and per node by quadrant in the order (RIGHT, DOWN), (LEFT, DOWN),
 * (RIGHT, UP), (LEFT, UP). */
#ifndef P3D_MESH_MATH_H
#define P3D_MESH_MATH_H

#include <math.h>

#include "ldi/ldi.h"

/* The four quadrants of a node: horizontal and vertical link direction. */
P3D_HD int32_t p3d_mesh_quad_h(int32_t k) { return (k & 1) ? P3D_DIR_LEFT : P3D_DIR_RIGHT; }
P3D_HD int32_t p3d_mesh_quad_v(int32_t k) { return (k & 2) ? P3D_DIR_UP : P3D_DIR_DOWN; }

/* Disparity jump between two nodes; symmetric bit for bit (IEEE subtraction is exactly antisymmetric). */
P3D_HD float p3d_mesh_jump(const float *depth, int32_t a, int32_t b) {
    return fabsf(1.0f / depth[a] - 1.0f / depth[b]);
}

/* Whether corner triangle (jump j, corner node n) beats a neighbouring one (jump jo, corner node o) of an
 * open chain; a neighbour over the threshold never wins. */
P3D_HD int p3d_mesh_beats(float j, int32_t n, float jo, int32_t o, float threshold) {
    if (!(jo <= threshold)) return 1;
    return j < jo || (j == jo && n < o);
}

/* Whether node n emits its corner triangle of quadrant k (0..3); link is (n_nodes, 4), depth (n_nodes). */
P3D_HD int p3d_mesh_corner_emits(const int32_t *link, const float *depth, int32_t n, int32_t k, float threshold) {
    const int32_t h = p3d_mesh_quad_h(k), v = p3d_mesh_quad_v(k);
    const int32_t p = link[4 * (int64_t)n + h], q = link[4 * (int64_t)n + v];
    if (p < 0 || q < 0) return 0;
    const float j = p3d_mesh_jump(depth, p, q);
    if (!(j <= threshold)) return 0;
    const int32_t r1 = link[4 * (int64_t)p + v], r2 = link[4 * (int64_t)q + h];
    if (r1 >= 0 && r1 == r2) {
        /* Closed quad: n's hypotenuse p-q is the top-right/bottom-left diagonal when n sits at the
         * top-left (RIGHT, DOWN) or bottom-right (LEFT, UP) corner. */
        const float other = p3d_mesh_jump(depth, n, r1);
        const int own_is_tr_bl = (h == P3D_DIR_RIGHT) == (v == P3D_DIR_DOWN);
        return j < other || (j == other && !own_is_tr_bl);
    }
    /* Open chain: the neighbouring corner triangles are at p (legs p-n, p-r1; hypotenuse n-r1) and at q
     * (legs q-n, q-r2; hypotenuse n-r2). */
    if (r1 >= 0 && !p3d_mesh_beats(j, n, p3d_mesh_jump(depth, n, r1), p, threshold)) return 0;
    if (r2 >= 0 && !p3d_mesh_beats(j, n, p3d_mesh_jump(depth, n, r2), q, threshold)) return 0;
    return 1;
}

/* Faces node n emits (0..4); when out is not NULL they are written there as index triples, wound
 * counter-clockwise as seen from the camera (see the top of this file). */
P3D_HD int32_t p3d_mesh_node_faces(const int32_t *link, const float *depth, int32_t n, float threshold, int32_t *out) {
    int32_t count = 0;
    for (int32_t k = 0; k < 4; k++) {
        if (!p3d_mesh_corner_emits(link, depth, n, k, threshold)) continue;
        if (out) {
            const int32_t h = p3d_mesh_quad_h(k), v = p3d_mesh_quad_v(k);
            const int32_t p = link[4 * (int64_t)n + h], q = link[4 * (int64_t)n + v];
            /* In image coordinates (y down) the triangle n, q, p has signed area -dx * dy with dx, dy the
             * steps to p and q: negative (counter-clockwise on screen) when dx * dy > 0. */
            const int same_sign = p3d_dir_dx(h) * p3d_dir_dy(v) > 0;
            out[3 * count + 0] = n;
            out[3 * count + 1] = same_sign ? q : p;
            out[3 * count + 2] = same_sign ? p : q;
        }
        count++;
    }
    return count;
}

/* Camera-space position of node i (OpenCV axes) from its canvas pixel and depth. */
P3D_HD void p3d_mesh_vertex(const p3d_camera *cam, int32_t ext_w, int32_t border, int32_t pix, float depth,
                            float out[3]) {
    p3d_ldi_unproject(cam, (float)(pix % ext_w - border), (float)(pix / ext_w - border), depth, out);
}

#endif
