/* depth_io.h - depth / disparity maps: reading (.npy, 8/16-bit PNG, PFM), validity masks, writing
 * (.npy, 16-bit PNG) and resizing to the processing size.
 *
 * A map is (H, W) float32 values plus an (H, W) uint8 validity mask (1 valid, 0 invalid). It is either
 * disparity (inverse depth, larger = nearer, any sign: network outputs carry an unknown shift) or
 * metric depth (larger = farther). value = stored number * opts.scale, e.g. TUM Kinect PNGs:
 * metres = v / 5000 (scale 1 / 5000.f); Middlebury disparity PNGs: pixels = v / 4 (scale 0.25f).
 * Invalid, masked and stored as 0 so no later step can pick them up by accident: 0, NaN, +-inf, and
 * for metric depth negative values.
 *
 * Formats, told apart by their first bytes (not the file name):
 *   .npy  '<f4', '<f8' or '<u2', C order, shape (H, W) (or (1, H, W) / (H, W, 1)); see npy.h.
 *   PNG   greyscale (grey+alpha: alpha ignored), 8 or 16 bits per sample; colour PNGs are refused.
 *   PFM   "Pf" (grey) or "PF" (colour: the first channel is used), scale < 0 little-endian,
 *         > 0 big-endian, rows stored bottom to top.
 *
 *   p3d_depth_opts o = {P3D_DEPTH_METRIC, 1.0f / 5000.0f};
 *   p3d_depth d;
 *   P3D_TRY(p3d_depth_read("TUM_depth.png", &o, &d));   // d.value[y * d.width + x], d.mask[...]
 *   p3d_depth_free(&d);
 */
#ifndef P3D_DEPTH_IO_H
#define P3D_DEPTH_IO_H

#include "core/p3d_common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum p3d_depth_kind {
    P3D_DEPTH_DISPARITY = 0, /* inverse depth: larger is nearer */
    P3D_DEPTH_METRIC = 1,    /* distance: larger is farther; negative values are invalid */
} p3d_depth_kind;

typedef struct p3d_depth_opts {
    p3d_depth_kind kind;
    float scale; /* value = stored number * scale; 0 means 1; must be > 0 and finite otherwise */
} p3d_depth_opts;

typedef struct p3d_depth {
    int32_t width, height;
    p3d_depth_kind kind;
    float *value;    /* (H, W), 0 where mask is 0 */
    uint8_t *mask;   /* (H, W), 1 valid, 0 invalid */
    int64_t n_valid; /* number of ones in mask */
} p3d_depth;

/* Reads a map (see above for formats and validity). opts NULL = disparity, scale 1. */
p3d_status p3d_depth_read(const char *path, const p3d_depth_opts *opts, p3d_depth *out);

/* An all-invalid width x height map of the given kind (value 0, mask 0). */
p3d_status p3d_depth_alloc(int32_t width, int32_t height, p3d_depth_kind kind, p3d_depth *out);
void p3d_depth_free(p3d_depth *d);

/* .npy float32 (H, W) of the values (invalid pixels hold 0, so reading the file back gives the same
 * mask). */
p3d_status p3d_depth_write_npy(const char *path, const p3d_depth *d);

/* 16-bit greyscale PNG, min-max scaled over the valid pixels: a valid value v is stored as
 * 1 + round((v - min) / (max - min) * 65534) (65535 when max == min) and an invalid pixel as 0, so
 * reading the file back gives the same mask and the values up to an affine map. */
p3d_status p3d_depth_write_png16(const char *path, const p3d_depth *d);

/* 1 when a width x height map may be resized to target_w x target_h: the aspects agree to within one
 * target pixel, i.e. one scale s has |s * width - target_w| <= 1 and |s * height - target_h| <= 1. */
int p3d_depth_aspect_ok(int32_t width, int32_t height, int32_t target_w, int32_t target_h);

/* Resizes src to target_w x target_h with cv::resize INTER_AREA semantics (resize_area.h), never
 * letting invalid pixels leak into valid ones: the value * mask and the mask are resized alike; a
 * target pixel is valid when its resized mask m (the share of its interpolation / area weight
 * that falls on valid source pixels) is at least 0.5, and its value is the resized value * mask
 * divided by m (the weighted mean over the valid pixels only). A map without invalid pixels is
 * resized directly, exactly as cv::resize would. Fails when the aspects differ (see above). */
p3d_status p3d_depth_resize(const p3d_depth *src, int32_t target_w, int32_t target_h, p3d_depth *out);

#ifdef __cplusplus
}
#endif
#endif
