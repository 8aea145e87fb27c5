/* photo3d.h - one photo (+ its depth map) to an inpainted LDI and its mesh: the per-image job the
 * `mesh` and `run` commands share.
 *
 *   p3d_photo_opts o = p3d_photo_opts_default();
 *   p3d_ldi_nets nets;
 *   int32_t learned;
 *   P3D_TRY(p3d_nets_load(ctx, model_dir, P3D_FILL_AUTO, &nets, &learned));
 *   p3d_photo_result r;
 *   P3D_TRY(p3d_photo_to_mesh(ctx, &nets, "photo.jpg", &map, &o, &r));   // r.mesh, r.ldi, r.report
 *   p3d_photo_result_free(&r);
 *   p3d_nets_free(&nets);
 */
#ifndef P3D_PHOTO3D_H
#define P3D_PHOTO3D_H

#include "core/json.h"
#include "depth/depth_prep.h"
#include "io/depth_io.h"
#include "io/image_io.h"
#include "ldi/ldi_pipeline.h"
#include "mesh/mesh.h"
#include "mesh/mesh_compact.h"
#include "pipeline/config.h"

#ifdef __cplusplus
extern "C" {
#endif

/* "auto", "learned", "classic" (config.h's p3d_fill_mode: AUTO = the networks when all three are
 * installed, else the non-learned fill; LEARNED = the networks, missing weights are an error). */
p3d_status p3d_fill_mode_parse(const char *text, p3d_fill_mode *out);

/* Loads the edge, depth and colour nets onto ctx from the model search path (models.h) as fill asks.
 * *learned = 1 when nets were loaded, 0 for the non-learned fill (nets all NULL). */
p3d_status p3d_nets_load(p3d_ctx *ctx, const char *model_dir, p3d_fill_mode fill, p3d_ldi_nets *nets,
                         int32_t *learned);
void p3d_nets_free(p3d_ldi_nets *nets);

typedef struct p3d_photo_opts {
    int32_t longer_side; /* processing size of the longer image side (960) */
    p3d_depth_prep_opts prep;
    p3d_ldi_opts ldi;
    int32_t compact;     /* also build the textured, simplified mesh (mesh_compact.h) into r->compact */
    p3d_compact_opts compact_opts;
    /* On a CUDA context: build the dense mesh on the device (p3d_mesh_from_ldi_dev) and keep its
     * device arrays in the result for the renderer (r->mesh_xyz_dev, r->mesh_faces_dev), so videos of
     * the dense mesh render it without uploading it again. Off by default: the mesh's download then
     * counts in the photo's device traffic, and the CPU builds the same mesh without it. */
    int32_t device_mesh;
} p3d_photo_opts;

p3d_photo_opts p3d_photo_opts_default(void);

typedef struct p3d_photo_result {
    int32_t width, height;      /* processing size */
    int32_t orig_w, orig_h;     /* the photo's size */
    p3d_camera cam;             /* intrinsics at the processing size (spec 2.0) */
    float center_depth;         /* unfiltered depth at the centre: the dolly-zoom anchor */
    double seconds_prep;        /* decode + resample + depth preparation */
    double seconds_mesh;        /* LDI -> mesh */
    double seconds_compact;     /* dense mesh -> compact mesh (when asked) */
    p3d_ldi ldi;
    p3d_ldi_report report;
    p3d_mesh mesh;              /* the dense mesh: one vertex per LDI node, vertex colours */
    p3d_mesh compact;           /* the compact textured mesh when opts.compact, else empty */
    p3d_compact_stats compact_stats;
    p3d_device_traffic traffic; /* what this photo moved and waited for on ctx (zeros on the CPU) */
    /* opts.device_mesh on a CUDA context: the dense mesh's positions (n_vertices, 3) and faces
     * (n_faces, 3) on the device (the context's scratch: valid until the context's next op that uses
     * it, i.e. the next photo's stages), else NULL. Not owned. */
    const float *mesh_xyz_dev;
    const int32_t *mesh_faces_dev;
} p3d_photo_result;

/* Intrinsics for a photo of orig_w x orig_h processed at w x h: the reference's focal lengths (spec
 * 2.0) fx = max(W0, H0) / W0 * w, fy = max(W0, H0) / H0 * h, and the principal point at the image
 * centre cx = w / 2, cy = h / 2 (the renderer's; the reference's (W0 // 2) / W0 * w is up to half an
 * original pixel off for odd sides: see photo3d.c). */
p3d_camera p3d_camera_reference(int32_t orig_w, int32_t orig_h, int32_t w, int32_t h);

/* A photo prepared for the device (issue 14: overlap across a batch). p3d_photo_input_prepare does the
 * host part of the job - the processing size, the photo resampled to it, the depth map normalised to
 * it (p3d_depth_prep_normalize) - and needs no context, so a second thread can prepare the next photo
 * while the current one is computed. p3d_photo_input_upload (the context's thread) copies the depth
 * into a page-locked staging slot and queues its upload on the context's copy stream
 * (p3d_staging_begin, core/backend.h): it may run while the previous photo's work is still queued.
 * p3d_photo_to_mesh_input then runs the rest, its compute stream waiting for that upload on the
 * device. The photo's pixels stay on the host: the device stages read only the depth map (the LDI's
 * colours are the host's; the fill uploads its own patches). On the CPU the upload is skipped. */
typedef struct p3d_photo_input {
    int32_t width, height; /* processing size */
    int32_t orig_w, orig_h;
    uint8_t *rgb;          /* (height, width, 3) */
    float *depth;          /* (height, width) normalised, unfiltered */
    float center_depth;    /* unfiltered depth at the centre */
    double seconds;        /* resample + normalisation */
    int32_t slot;          /* staging slot of the queued upload; -1 when none */
} p3d_photo_input;

p3d_status p3d_photo_input_prepare(const p3d_image *img, const char *name, const p3d_depth *map,
                                   const p3d_photo_opts *o, p3d_photo_input *in);
/* Queues the upload (nothing on the CPU, or when already queued). */
p3d_status p3d_photo_input_upload(p3d_ctx *ctx, p3d_photo_input *in);
/* Frees the arrays and releases a staging slot never consumed. ctx may be NULL when nothing was queued. */
void p3d_photo_input_free(p3d_ctx *ctx, p3d_photo_input *in);
/* The rest of the job (queues the upload first if it is not yet). The traffic in r counts the upload. */
p3d_status p3d_photo_to_mesh_input(p3d_ctx *ctx, const p3d_ldi_nets *nets, p3d_photo_input *in, const char *name,
                                   const p3d_photo_opts *o, p3d_photo_result *r);

/* The whole per-image job up to the mesh. map: the photo's depth or disparity (any size with the
 * photo's aspect). On failure r is freed. */
p3d_status p3d_photo_to_mesh(p3d_ctx *ctx, const p3d_ldi_nets *nets, const char *image_path, const p3d_depth *map,
                             const p3d_photo_opts *o, p3d_photo_result *r);
/* The same for a decoded photo; name is used in messages. */
p3d_status p3d_photo_to_mesh_image(p3d_ctx *ctx, const p3d_ldi_nets *nets, const p3d_image *img, const char *name,
                                   const p3d_depth *map, const p3d_photo_opts *o, p3d_photo_result *r);
void p3d_photo_result_free(p3d_photo_result *r);

/* Writes "device_traffic": {"h2d_bytes", "d2h_bytes", "syncs", "allocations"} (key and object) into
 * the object j is in: the per-image counters the `mesh` and `run` reports share. */
void p3d_json_device_traffic(p3d_json *j, const p3d_device_traffic *t);

#ifdef __cplusplus
}
#endif
#endif
