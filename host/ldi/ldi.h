/* ldi.h - the layered depth image (LDI): per pixel a list of surface samples ("nodes", nearest
 * first), each node linked to at most one node at each of its four neighbouring pixels.
 *
 * Canvas. The processing image is width x height; the LDI canvas adds `border` pixels on every side
 * (60 when the border is extrapolated, reference spec 2.12/2.15; 0 otherwise): ext_w = width +
 * 2 * border, ext_h = height + 2 * border. A canvas pixel is (x, y) = (column, row) - NOTE: the
 * reference writes (row, column) - and image pixel (u, v) sits at (u + border, v + border).
 *
 * Storage is flat structure-of-arrays so the same arrays go to the device unchanged (the flood fill
 * and the connectivity work run as data-parallel passes over them):
 *   node i:  pix[i]       canvas pixel index y * ext_w + x
 *            depth[i]     distance along the optical axis, > 0 (the reference stores z = -depth)
 *            rgb[3i..]    colour, uint8 RGB
 *            label[i]     provenance, p3d_ldi_label (the reference's PLY "alpha" byte, quirk 24)
 *            iter[i]      0 for input and border nodes, k for nodes synthesised by inpainting pass k
 *            link[4i + d] node at the neighbouring pixel in direction d that this node is connected
 *                         to, or -1 (no node there, or the link was torn at a depth discontinuity)
 *            next[i]      the next FARTHER node at the same pixel, -1 at the end of the list
 *   pixel p: head[p]      the nearest node at p (layer 0), -1 when the pixel is empty
 * Node identity is the integer index - never a float depth key (the reference's quirk 15: fixed).
 *
 * Invariants (p3d_ldi_check verifies them; every stage keeps them):
 *   - links are symmetric: link[4a + d] == b  <=>  link[4b + opposite(d)] == a, and b lies at the
 *     neighbouring pixel of a in direction d;
 *   - a pixel's list is strictly ordered by depth, nearest first (equal depths are not allowed);
 *   - every node is in exactly one pixel list.
 *
 *   p3d_ldi l;
 *   P3D_TRY(p3d_ldi_init(&l, 960, 640, 60, &cam));
 *   int32_t id;
 *   P3D_TRY(p3d_ldi_add_node(&l, x, y, depth, rgb, P3D_LABEL_ORIGINAL, 0, &id));
 *   p3d_ldi_link(&l, id, P3D_DIR_RIGHT, other);
 *   p3d_ldi_free(&l);
 */
#ifndef P3D_LDI_H
#define P3D_LDI_H

#include "core/p3d_common.h"
#include "core/p3d_hd.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Link directions. Opposite direction = d ^ 1. */
enum { P3D_DIR_UP = 0, P3D_DIR_DOWN = 1, P3D_DIR_LEFT = 2, P3D_DIR_RIGHT = 3 };

P3D_HD int32_t p3d_dir_dx(int32_t d) { return d == 2 ? -1 : d == 3 ? 1 : 0; }
P3D_HD int32_t p3d_dir_dy(int32_t d) { return d == 0 ? -1 : d == 1 ? 1 : 0; }
P3D_HD int32_t p3d_dir_opposite(int32_t d) { return d ^ 1; }

/* Provenance of a node = the reference's vertex "alpha" byte (spec 2.20). */
typedef enum p3d_ldi_label {
    P3D_LABEL_ORIGINAL = 1,  /* a pixel of the input photo (or refilled island / missing pixel) */
    P3D_LABEL_INPAINT1 = 2,  /* synthesised by inpainting pass 1 */
    P3D_LABEL_INPAINT2 = 3,  /* synthesised by inpainting pass 2 */
    P3D_LABEL_OCCLUSION = 4, /* synthesised next to a predicted occlusion edge (edge_occlusion) */
    P3D_LABEL_BORDER = 5,    /* the extrapolated border outside the photo */
} p3d_ldi_label;

/* Pinhole intrinsics in pixels of the processing image (image pixel (u, v) has its centre at
 * (u + 0.5, v + 0.5)). The pipeline's (p3d_camera_reference): fx = fy = longer side and the
 * principal point at the image centre (W / 2, H / 2), as the renderer's mesh camera. */
typedef struct p3d_camera {
    float fx, fy, cx, cy;
} p3d_camera;

typedef struct p3d_ldi {
    int32_t width, height; /* processing image */
    int32_t border;        /* canvas margin on every side */
    int32_t ext_w, ext_h;  /* canvas = image + 2 * border */
    p3d_camera cam;
    int32_t n_nodes, cap_nodes;
    int32_t *pix;    /* (cap) canvas pixel index */
    float *depth;    /* (cap) > 0 */
    uint8_t *rgb;    /* (cap, 3) */
    uint8_t *label;  /* (cap) p3d_ldi_label */
    uint8_t *iter;   /* (cap) 0 input/border, k = inpainting pass */
    int32_t *link;   /* (cap, 4) */
    int32_t *next;   /* (cap) */
    int32_t *head;   /* (ext_h * ext_w) */
} p3d_ldi;

/* An empty LDI (every head -1) for a width x height image with the given canvas margin. */
p3d_status p3d_ldi_init(p3d_ldi *l, int32_t width, int32_t height, int32_t border, const p3d_camera *cam);
/* NULL or a zeroed struct is allowed. */
void p3d_ldi_free(p3d_ldi *l);
/* Room for at least n nodes without further allocation. */
p3d_status p3d_ldi_reserve(p3d_ldi *l, int32_t n);

/* Adds an unlinked node at canvas pixel (x, y), inserted into the pixel's list by depth. Fails
 * (P3D_ERR_INVALID_ARG) when the pixel is outside the canvas, depth is not finite and > 0, or a
 * node of exactly that depth already exists there. *id may be NULL. */
p3d_status p3d_ldi_add_node(p3d_ldi *l, int32_t x, int32_t y, float depth, const uint8_t rgb[3], uint8_t label,
                            uint8_t iter, int32_t *id);

P3D_HD int32_t p3d_ldi_x(const p3d_ldi *l, int32_t id) { return l->pix[id] % l->ext_w; }
P3D_HD int32_t p3d_ldi_y(const p3d_ldi *l, int32_t id) { return l->pix[id] / l->ext_w; }

/* Links node a to node b in direction d (b must sit at a's neighbouring pixel; both directions are
 * set) / removes a's link in direction d (both directions). */
void p3d_ldi_link(p3d_ldi *l, int32_t a, int32_t d, int32_t b);
void p3d_ldi_unlink(p3d_ldi *l, int32_t a, int32_t d);
/* Number of links of a node (0..4). */
int32_t p3d_ldi_degree(const p3d_ldi *l, int32_t id);

/* Layers at a pixel (list length). */
int32_t p3d_ldi_layers(const p3d_ldi *l, int32_t x, int32_t y);

/* Verifies the invariants above; P3D_ERR_FORMAT naming the first broken one. */
p3d_status p3d_ldi_check(const p3d_ldi *l);

/* Back-projection of a node to camera space (OpenCV axes: x right, y down, z forward), exactly the
 * reference's reproject_3d_int_detail: X = d * (u + 0.5 - cx) / fx, Y = d * (v + 0.5 - cy) / fy,
 * Z = d, with (u, v) = (x - border, y - border) (negative / beyond the image in the border). */
P3D_HD void p3d_ldi_unproject(const p3d_camera *cam, float u, float v, float depth, float out[3]) {
    out[0] = depth * ((u + 0.5f - cam->cx) / cam->fx);
    out[1] = depth * ((v + 0.5f - cam->cy) / cam->fy);
    out[2] = depth;
}

#ifdef __cplusplus
}
#endif
#endif
