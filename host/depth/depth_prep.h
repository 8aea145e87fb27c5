/* depth_prep.h - the pipeline's depth preparation (issue 5, stage 2): a disparity or metric depth map of
 * any size becomes the (h, w) float32 depth map the LDI is built from, as the reference's
 * utils.read_MiDaS_depth followed by bilateral_filtering.sparse_bilateral_filtering (spec 2.2, 2.3).
 *
 *   p3d_depth_prep_opts o = p3d_depth_prep_opts_default();   // 3.0, 0.05, 0.04, windows 7 7 5 5
 *   float *depth = malloc(sizeof(float) * w * h), centre;
 *   P3D_TRY(p3d_depth_prepare(ctx, &map, w, h, &o, depth, &centre));   // depth (h, w) host, in [1/3, 20]
 *
 * Steps (p3d_depth_prep_normalize, on the host):
 *   1. metric depth -> disparity 1 / depth; invalid pixels filled (p3d_depth_fill_disparity);
 *   2. disp -= min; with opts.blur, disp = blur3x3(disp / max) * max (the reference's cv2.blur,
 *      BORDER_REFLECT_101, double sums); disp = disp / max * disp_rescale  (so [0, disp_rescale]).
 *      The blur is off by default: it spreads every depth edge over three map pixels and lowers thin
 *      structures' disparity by a third; where the map is at the processing size (a 450-px photo with
 *      a 450-px map) the tear then leaves a pixel-wide ramp on the foreground side of each edge, and a
 *      view moved sideways shows the foreground a pixel too wide (Middlebury cones at 450 px,
 *      tools/stereo_quality: the prepared disparity's rms error against the ground truth is 1.49 px
 *      with the reference's blur and median, 0.34 px without the blur and with snap; disoccluded
 *      pixels inside the frame 16.62 dB with the blur and snap, 17.13 dB without the blur);
 *   3. resize to (h, w): when neither axis shrinks, skimage.transform.resize(order=1) as the reference
 *      (bilinear, half-pixel centres, taps outside mirrored, no anti-aliasing); when an axis shrinks,
 *      skimage would blur with a Gaussian first, and we use OpenCV's INTER_AREA instead (resize_area.h;
 *      the map has no invalid pixels left, so p3d_depth_resize's mask handling would change nothing);
 *   4. depth = 1 / max(disp, min_disp); *center_depth = depth[h / 2][w / 2], the reference's
 *      mean_loc_depth (dolly-zoom anchor), read BEFORE the filter (its quirk 18, replicated).
 * A constant map (max 0 after subtracting the min; the reference divides 0 by 0 and gets NaN) carries
 * no depth: it becomes the flat plane disp = disp_rescale, the value the normalisation gives a map's
 * largest disparity, i.e. depth 1 / disp_rescale.
 *
 * Then p3d_depth_sharpen on the context's device: n_passes passes of the reference's "bilateral" filter,
 * which is a masked median near disparity jumps (with opts.snap, the default, the nearest clean value
 * instead of the median: depth_prep_math.h) (its quirk 1: sigma_s / sigma_r have no effect; of the
 * 5 configured passes with windows 7 7 5 5 5 the last is computed and discarded, so the effective
 * schedule, replicated here, is 7 7 5 5). Per pass, on the pass's input D:
 *   disc = interior pixels whose disparity 1/D differs from a 4-neighbour's by > depth_threshold;
 *   out  = D with the outer ring replaced by the replicated interior, and, at every pixel whose
 *          window x window neighbourhood (clamped to the interior) holds a disc pixel, the weighted
 *          median of the non-disc values of the window, ranked as the reference's float32 cumulative
 *          weights rank it (depth_prep_math.h: usually the upper median). Results are exact: the
 *          median selects one of the input values.
 * With snap, one more step follows the passes (depth_prep_math.h p3d_dp_between_pixel): a pixel whose
 * disparity lies between its two row neighbours', more than depth_threshold from each, takes the value
 * of the row neighbour nearer in disparity. The passes leave such one-pixel columns where a ramp
 * across an edge is wider than the windows' clean reach (every tap a discontinuity, so the centre is
 * kept): moon at 960 px kept 95 (the reference's median: 90), 14 after the step (wedge tips, below;
 * 3 before they were kept); in the LDI they were their own thin surface, a pale line beside the suit
 * in a view moved 2 cm left (moon's LDI layer 0, measured with the tips snapped too: 168 -> 97 such
 * pixels; the rest are made by the LDI's island refill, which averages the depths of
 * both sides into a dropped thin component). A pixel whose neighbour above or below continues it as a
 * flat surface is the tip of a wedge of a third surface between the two, not a ramp, and is kept
 * (depth_prep_math.h): snapping such tips on cones at 960 px (17 of the 24 pixels the step changed)
 * left 167 disoccluded pixels without geometry at the right camera instead of 89; with the tips kept
 * the step changes 7 pixels there and the count is 89 again. The fill's figures: fill_classic.h.
 * (The reference also marks pixels whose unfiltered depth is 0 as discontinuities; depth >= 1 / 3 here,
 * so that never happens.) The reference computes in float64 from the resize on; this stage stores
 * float32 (a relative difference of ~6e-8; tests/test_depth_prep.c agrees with a numpy transcription
 * of the reference to 1e-6).
 *
 * Invalid pixels (TUM Kinect holes, Middlebury disparity 0) are filled before the normalisation, along
 * scanlines: every run of invalid pixels in a row takes the SMALLER disparity (the farther) of the
 * valid pixels just left and right of it (the one that exists at the image border); rows without a
 * valid pixel are then filled the same way along columns. Such holes are mostly occlusions of a
 * horizontal baseline (the stereo pair's, the Kinect projector's shadow) beside a depth edge: the
 * missing surface is the background hidden from the second view, so the far side is the right guess;
 * taking the near side, or growing both sides into the hole (ring-wise dilation, which favours the
 * background only where the fronts meet), would widen foreground objects and move the depth edges the
 * LDI tears the mesh at. Fill values are valid values, so min and max, and hence
 * the normalisation, are those of the valid pixels. A map without any valid pixel is an error. */
#ifndef P3D_DEPTH_PREP_H
#define P3D_DEPTH_PREP_H

#include "core/backend.h"
#include "depth/depth_prep_math.h"
#include "io/depth_io.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Most filter passes a schedule may hold. */
#define P3D_DEPTH_PREP_MAX_PASSES 8
/* Most colour fringe passes (p3d_depth_fringe). */
#define P3D_DEPTH_PREP_MAX_FRINGE 4

typedef struct p3d_depth_prep_opts {
    double disp_rescale;    /* normalised disparity range [0, disp_rescale]; reference 3.0; > 0 */
    double min_disp;        /* depth = 1 / max(disp, min_disp); reference 0.05; > 0 */
    double depth_threshold; /* disparity jump marking a discontinuity; reference 0.04; >= 0 */
    int32_t n_passes;       /* filter passes, 0..P3D_DEPTH_PREP_MAX_PASSES; reference 4 (effective) */
    int32_t windows[P3D_DEPTH_PREP_MAX_PASSES]; /* window side per pass, odd, 1..P3D_DP_MAX_WINDOW */
    int32_t blur;           /* 1: the reference's 3x3 box blur of the normalised map (step 2); default 0 */
    int32_t snap;           /* 1: a filtered pixel snaps to the nearest clean value (default); 0: the
                               reference's median (depth_prep_math.h says why not) */
    int32_t fringe;         /* passes of the colour fringe step (p3d_depth_fringe), 0..
                               P3D_DEPTH_PREP_MAX_FRINGE; default 2 (a fringe up to two pixels wide);
                               0 = off, the reference's depth */
} p3d_depth_prep_opts;

/* The reference's values (3.0, 0.05, 0.04, 4 passes with windows 7, 7, 5, 5) with blur 0, snap 1 and
 * fringe 2; blur 1, snap 0 and fringe 0 give the reference's stage exactly. */
p3d_depth_prep_opts p3d_depth_prep_opts_default(void);

/* P3D_ERR_INVALID_ARG naming the bad field. */
p3d_status p3d_depth_prep_opts_check(const p3d_depth_prep_opts *opts);

/* The whole stage: map (any size, host) -> depth_out (h, w) float32 host memory, filtered on ctx's
 * device. The processing size (w, h) must have the map's aspect (p3d_depth_aspect_ok) and w, h >= 3.
 * center_depth (may be NULL) receives the unfiltered depth at (h / 2, w / 2). */
p3d_status p3d_depth_prepare(p3d_ctx *ctx, const p3d_depth *map, int32_t w, int32_t h, const p3d_depth_prep_opts *opts,
                             float *depth_out, float *center_depth);

/* Steps 1-4 only (host): depth_out (h, w) unfiltered. */
p3d_status p3d_depth_prep_normalize(const p3d_depth *map, int32_t w, int32_t h, const p3d_depth_prep_opts *opts,
                                    float *depth_out, float *center_depth);

/* Step 1 only: disp (map->height, map->width) host = the map's disparity (metric depth inverted) with
 * every invalid pixel filled as described above. Fails on a map without a valid pixel. */
p3d_status p3d_depth_fill_disparity(const p3d_depth *map, float *disp);

/* The filter passes of opts on ctx's device: src and dst are (h, w) float32 in the context's memory and
 * must not overlap (n_passes 0 copies). Uses the context's scratch (p3d_ctx_scratch_reserve) for one
 * (h, w) float32 ping-pong buffer and the (h, w) uint8 discontinuity map, nothing per pass. */
p3d_status p3d_depth_sharpen(p3d_ctx *ctx, const float *src, float *dst, int32_t w, int32_t h,
                             const p3d_depth_prep_opts *opts);

/* The colour fringe step (issue 15), after the filter passes, where the photo is at hand (the pipeline,
 * pipeline/photo3d.c): opts->fringe passes of depth_prep_math.h's p3d_dp_fringe_pixel, each moving
 * the photo's pixels on the far side of a depth edge that blend in the foreground's colour (nearer
 * the foreground's local mean than the background's, and an outlier of the background) onto the
 * foreground's depth. Two passes: the photo's anti-aliased or demosaiced fringe is one or two pixels
 * wide. depth (h, w) float32 and rgb (h, w, 3) uint8, the photo at the same size, both in ctx's
 * memory (on a device the pipeline passes the photo where its staging slot already holds it, so the
 * photo goes up once); depth is filtered in place, with one float plane of ping-pong in the context's
 * scratch. Why: left on the background, those pixels stay in place when the view moves
 * and draw the occluder's outline on the background it uncovers (moon at +2 cm, right of the arm and
 * backpack: a pale outline of the suit on the ground; the sample's ball: a pale halo on its uncovered
 * side); moved, they travel with the occluder and the fill synthesises the background behind them.
 * The photo's colours are not changed (the photo's own camera sees every pixel as before). A pixel
 * whose move would leave it a sliver that the LDI's dangling rule cuts off stays (depth_prep_math.h
 * p3d_dp_fringe_pixel). Figures: fill_classic.h and depth_prep_math.h. opts->fringe 0 returns at once. */
p3d_status p3d_depth_fringe(p3d_ctx *ctx, const uint8_t *rgb, float *depth, int32_t w, int32_t h,
                            const p3d_depth_prep_opts *opts);

#ifdef P3D_HAVE_CUDA
struct p3d_cuda_ctx;
/* One fringe pass on ctx's stream: dst = src with the photo's fringe pixels joined to the near side
 * (depth_prep_math.h p3d_dp_fringe_pixel). Device pointers; rgb (h, w, 3). */
p3d_status p3d_depth_fringe_pass_cuda(struct p3d_cuda_ctx *ctx, const float *src, const uint8_t *rgb, float *dst,
                                      int32_t w, int32_t h, double threshold);
/* One pass on ctx's stream: disc (h, w) = discontinuities of src, then dst = the filtered src. Device
 * pointers. */
p3d_status p3d_depth_sharpen_pass_cuda(struct p3d_cuda_ctx *ctx, const float *src, float *dst, uint8_t *disc,
                                       int32_t w, int32_t h, int32_t window, double threshold, int32_t snap);
/* The in-between step after the snap passes (depth_prep_math.h p3d_dp_between_pixel) on ctx's stream:
 * dst = src with one-pixel columns of in-between depth joined to a side. Device pointers. */
p3d_status p3d_depth_between_pass_cuda(struct p3d_cuda_ctx *ctx, const float *src, float *dst, int32_t w, int32_t h,
                                       double threshold);
#endif

#ifdef __cplusplus
}
#endif
#endif
