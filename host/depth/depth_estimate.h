/* depth_estimate.h - monocular disparity for photos without a depth map: one loaded model
 * (Tiefenrausch, MiDaS v1, MiDaS v2.1 small or large) reused for every image.
 *
 *   p3d_depth_estimator *e;
 *   P3D_TRY(p3d_depth_estimator_init(ctx, "tiefenrausch", model_dir, 0, &e));
 *   p3d_depth d;
 *   P3D_TRY(p3d_depth_estimate(e, &img, &d));   // disparity at the network's resolution
 *   p3d_depth_free(&d);
 *   p3d_depth_estimator_free(e);
 *
 * Validity: Tiefenrausch's exp() output and MiDaS v2.1's non-negative output where > 0; MiDaS v1 (any
 * sign) where finite and not 0, as p3d_depth_read would read the map back from a file. */
#ifndef P3D_DEPTH_ESTIMATE_H
#define P3D_DEPTH_ESTIMATE_H

#include "core/backend.h"
#include "io/depth_io.h"
#include "io/image_io.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct p3d_depth_estimator p3d_depth_estimator;

/* 1 for tiefenrausch, midas-v1, midas-small, midas-large. */
int32_t p3d_depth_model_known(const char *name);

/* Finds the model's blob in the model search path (models.h; model_dir may be NULL) and loads it on
 * ctx. P3D_ERR_MODEL naming the file, the folders searched and how to get it when missing.
 * postprocess: midas-v1 only, replace the map by the reference's post-processed one (640 px). */
p3d_status p3d_depth_estimator_init(p3d_ctx *ctx, const char *model, const char *model_dir, int32_t postprocess,
                                    p3d_depth_estimator **out);
void p3d_depth_estimator_free(p3d_depth_estimator *e);
const char *p3d_depth_estimator_model(const p3d_depth_estimator *e);

/* The model's disparity for img into d (allocated here; free with p3d_depth_free). */
p3d_status p3d_depth_estimate(p3d_depth_estimator *e, const p3d_image *img, p3d_depth *d);

/* p3d_depth_estimate, then the map resized (INTER_AREA, validity-weighted) from the network's size,
 * which stretches the photo to multiples of 32, back to the photo's aspect at the network's longer
 * side: what the pipeline needs (its maps must have the photo's aspect). */
p3d_status p3d_depth_estimate_photo(p3d_depth_estimator *e, const p3d_image *img, p3d_depth *d);

#ifdef __cplusplus
}
#endif
#endif
