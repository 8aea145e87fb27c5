/* ldi_pipeline.h - photo + prepared depth -> inpainted LDI: the stages of ldi_stages.h and
 * ldi_inpaint.h in the reference's order (spec 2.19), with per-stage times and counts.
 *
 *   p3d_ldi l;
 *   p3d_ldi_report rep;
 *   P3D_TRY(p3d_ldi_run(ctx, &nets, rgb, depth, NULL, NULL, w, h, &cam, &opts, &l, &rep));
 *
 * Order: build (tear, small components, islands) -> cleanup (short edges, end joining) -> border
 * (8 strips) -> edges -> regions + inpainting pass 1 -> edges of the new layer -> regions +
 * inpainting pass 2. */
#ifndef P3D_LDI_PIPELINE_H
#define P3D_LDI_PIPELINE_H

#include "ldi/ldi_inpaint.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { P3D_LDI_STAGE_BUILD, P3D_LDI_STAGE_CLEANUP, P3D_LDI_STAGE_BORDER, P3D_LDI_STAGE_EDGES,
       P3D_LDI_STAGE_REGIONS1, P3D_LDI_STAGE_INPAINT1, P3D_LDI_STAGE_REGIONS2, P3D_LDI_STAGE_INPAINT2,
       P3D_LDI_STAGE_COUNT };

/* "build", "cleanup", "border", "edges", "regions1", "inpaint1", "regions2", "inpaint2". */
const char *p3d_ldi_stage_name(int32_t stage);

typedef struct p3d_ldi_report {
    double seconds[P3D_LDI_STAGE_COUNT];
    p3d_ldi_build_stats build;
    int32_t edges_removed, ends_joined;
    int32_t edges[2];        /* near-side edges inpainted in pass 1 / pass 2 */
    int32_t synthesised[2];  /* nodes added by pass 1 / pass 2 */
    int32_t border_nodes;
    p3d_ldi_inpaint_stats inpaint;
} p3d_ldi_report;

/* The border (pixels) a canvas needs so that a camera moved from the photo's camera by up to cover =
 * (|x|, |y|, |z|) (mesh units, any combination of signs), with the photo's focal length, sees
 * geometry up to the corners of its frame less `crop` (a fraction of each side that the frames hide:
 * the renderer's crop border, at least 0.03 by default): for each side of the image, the frame
 * corners' rays meet the plane of the nearest depth on that side (the depth its border strip
 * continues) and are projected into the photo's camera; the farthest beyond that side falls this many
 * pixels (rounded up, plus 2) outside the image. depth (h, w). 0 when cover is zero. p3d_ldi_run
 * grows opts.border to it. */
int32_t p3d_ldi_border_needed(const p3d_camera *cam, int32_t w, int32_t h, const float *depth, const float cover[3],
                              float crop);

/* rgb (h, w, 3) and depth (h, w) at the processing size; l receives the LDI (freed by the caller
 * with p3d_ldi_free, also on failure). depth_dev: NULL, or on a CUDA context depth as the depth stage
 * left it on the device (the photo's staging slot, pipeline/photo3d.c), which the device build reads instead of an upload
 * (p3d_ldi_build_ctx). rgb_dev: NULL, or on a CUDA context rgb on the device (the same slot), from
 * which the device LDI's input layer takes its colours (p3d_ldi_cuda_resident_photo), so the colours
 * never go up a second time. */
p3d_status p3d_ldi_run(p3d_ctx *ctx, const p3d_ldi_nets *nets, const uint8_t *rgb, const float *depth,
                       const float *depth_dev, const uint8_t *rgb_dev, int32_t w, int32_t h, const p3d_camera *cam,
                       const p3d_ldi_opts *o, p3d_ldi *l, p3d_ldi_report *rep);

#ifdef __cplusplus
}
#endif
#endif
