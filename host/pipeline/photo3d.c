/* photo3d.c - the per-image job: photo + depth map -> LDI -> mesh (photo3d.h). */
#include "pipeline/photo3d.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/models.h"
#include "io/image_io.h"
#include "io/resize_area.h"

p3d_status p3d_fill_mode_parse(const char *text, p3d_fill_mode *out) {
    if (!strcmp(text, "auto")) *out = P3D_FILL_AUTO;
    else if (!strcmp(text, "learned")) *out = P3D_FILL_LEARNED;
    else if (!strcmp(text, "classic")) *out = P3D_FILL_CLASSIC;
    else return p3d_fail(P3D_ERR_INVALID_ARG, "fill '%s': expected auto, learned or classic", text);
    return P3D_OK;
}

void p3d_nets_free(p3d_ldi_nets *nets) {
    if (!nets) return;
    p3d_inpaint_net_free(nets->edge);
    p3d_inpaint_net_free(nets->depth);
    p3d_inpaint_net_free(nets->color);
    memset(nets, 0, sizeof *nets);
}

p3d_status p3d_nets_load(p3d_ctx *ctx, const char *model_dir, p3d_fill_mode fill, p3d_ldi_nets *nets,
                         int32_t *learned) {
    memset(nets, 0, sizeof *nets);
    *learned = 0;
    if (fill == P3D_FILL_CLASSIC) return P3D_OK;
    static const char *const names[3] = {"edge", "depth", "color"};
    static const p3d_inpaint_kind kinds[3] = {P3D_INPAINT_EDGE, P3D_INPAINT_DEPTH, P3D_INPAINT_COLOR};
    char paths[3][1024];
    for (int32_t i = 0; i < 3; i++) {
        const p3d_model_desc *d = p3d_model_by_name(names[i]);
        if (!d || !p3d_model_find(model_dir, d, paths[i], sizeof paths[i])) {
            if (fill == P3D_FILL_AUTO) return P3D_OK;
            return p3d_fail(P3D_ERR_MODEL, "learned fill: %s not found in the model search path (--model-dir, "
                            "$P3D_MODEL_DIR, ~/.cache/photo3d-gpu/models); convert the official checkpoints "
                            "with tools/convert_inpaint.py, or use --fill classic",
                            d ? d->file : names[i]);
        }
    }
    p3d_inpaint_net **slots[3] = {&nets->edge, &nets->depth, &nets->color};
    for (int32_t i = 0; i < 3; i++) {
        p3d_weights *w;
        p3d_status s = p3d_weights_load(paths[i], &w);
        if (s == P3D_OK) {
            s = p3d_inpaint_net_init(slots[i], ctx, w, kinds[i]);
            p3d_weights_free(w);
        }
        if (s != P3D_OK) {
            p3d_nets_free(nets);
            return s;
        }
    }
    *learned = 1;
    return P3D_OK;
}

p3d_photo_opts p3d_photo_opts_default(void) {
    p3d_photo_opts o;
    o.longer_side = 960;
    o.prep = p3d_depth_prep_opts_default();
    o.ldi = p3d_ldi_opts_default();
    o.compact = 0;
    o.compact_opts = p3d_compact_defaults();
    o.device_mesh = 0;
    return o;
}

p3d_camera p3d_camera_reference(int32_t orig_w, int32_t orig_h, int32_t w, int32_t h) {
    float mx = (float)(orig_w > orig_h ? orig_w : orig_h);
    p3d_camera c;
    /* the reference's float32 normalised focal lengths, scaled by the processing size (spec 2.0, 2.4) */
    c.fx = mx / (float)orig_w * (float)w;
    c.fy = mx / (float)orig_h * (float)h;
    /* Principal point: the image centre, (w / 2, h / 2) in this project's pixel-edge coordinates
     * (pixel u has its centre at u + 0.5; p3d_ldi_unproject). The reference's (W0 // 2) / W0 * w is
     * the middle pixel's INDEX scaled as if it were an edge coordinate: for an odd side it sits
     * w / (2 W0) before the centre (0.5 px at the original size, 1.07 px for 375 rows at 800), for an
     * even side it is the centre. The renderer's mesh camera (p3d_view_of_mesh), the viewer and the
     * dolly-zoom anchor (p3d_mesh_center_depth) all put the principal point at the centre, so the
     * mesh is built with it too: at its own camera a mesh then lands on the photo's pixels exactly
     * (issue 15). */
    c.cx = 0.5f * (float)w;
    c.cy = 0.5f * (float)h;
    return c;
}

void p3d_photo_result_free(p3d_photo_result *r) {
    if (!r) return;
    p3d_ldi_free(&r->ldi);
    p3d_mesh_free(&r->mesh);
    p3d_mesh_free(&r->compact);
    memset(r, 0, sizeof *r);
}

p3d_status p3d_photo_to_mesh(p3d_ctx *ctx, const p3d_ldi_nets *nets, const char *image_path, const p3d_depth *map,
                             const p3d_photo_opts *o, p3d_photo_result *r) {
    memset(r, 0, sizeof *r);
    double t0 = p3d_time_now();
    p3d_image img;
    P3D_TRY(p3d_image_read(image_path, 0, &img));
    double t_read = p3d_time_now() - t0;
    p3d_status s = p3d_photo_to_mesh_image(ctx, nets, &img, image_path, map, o, r);
    r->seconds_prep += t_read;
    p3d_image_free(&img);
    return s;
}

void p3d_photo_input_free(p3d_ctx *ctx, p3d_photo_input *in) {
    if (!in) return;
    if (ctx && in->slot >= 0) (void)p3d_staging_release(ctx, in->slot);
    free(in->rgb);
    free(in->depth);
    memset(in, 0, sizeof *in);
    in->slot = -1;
}

p3d_status p3d_photo_input_prepare(const p3d_image *img, const char *name, const p3d_depth *map,
                                   const p3d_photo_opts *o, p3d_photo_input *in) {
    memset(in, 0, sizeof *in);
    in->slot = -1;
    const double t0 = p3d_time_now();
    /* Processing size from the IMAGE (quirk 19 fixed: the reference takes it from the depth map). */
    double frac = (double)o->longer_side / (double)(img->width > img->height ? img->width : img->height);
    int32_t w = (int32_t)(img->width * frac), h = (int32_t)(img->height * frac);
    if (w < 3 || h < 3)
        return p3d_fail(P3D_ERR_INVALID_ARG, "%s: %dx%d is too small for a longer side of %d", name, (int)img->width,
                        (int)img->height, (int)o->longer_side);
    if (!p3d_depth_aspect_ok(map->width, map->height, w, h))
        return p3d_fail(P3D_ERR_FORMAT, "depth map is %dx%d, which does not have the aspect of %s (%dx%d, processed "
                        "at %dx%d)", (int)map->width, (int)map->height, name, (int)img->width, (int)img->height,
                        (int)w, (int)h);
    in->width = w, in->height = h, in->orig_w = img->width, in->orig_h = img->height;
    in->rgb = (uint8_t *)malloc((size_t)w * h * 3);
    in->depth = (float *)malloc((size_t)w * h * sizeof(float));
    p3d_status s = in->rgb && in->depth ? P3D_OK : p3d_fail(P3D_ERR_OOM, "%s: out of memory", name);
    if (s == P3D_OK) {
        int64_t ss[3] = {img->height, img->width, 3}, ds[3] = {h, w, 3};
        p3d_tensor src = p3d_tensor_view(img->rgb, P3D_U8, P3D_MEM_HOST, 3, ss);
        p3d_tensor dst = p3d_tensor_view(in->rgb, P3D_U8, P3D_MEM_HOST, 3, ds);
        s = p3d_resize_area_cpu(&src, &dst, P3D_RESIZE_HWC);
    }
    if (s == P3D_OK) s = p3d_depth_prep_normalize(map, w, h, &o->prep, in->depth, &in->center_depth);
    if (s != P3D_OK) {
        p3d_photo_input_free(NULL, in);
        return s;
    }
    in->seconds = p3d_time_now() - t0;
    return P3D_OK;
}

/* The staging slot of one photo, each part 256-aligned: the normalised depth (h, w) f32 and the photo
 * (h, w, 3) u8, both uploaded in one copy, then the filtered depth (written on the device). The photo
 * goes up once: the device LDI's input layer takes its colours from it (p3d_ldi_run's rgb_dev). */
static size_t align256(size_t b) { return (b + 255) / 256 * 256; }
static size_t depth_bytes(const p3d_photo_input *in) { return (size_t)in->width * (size_t)in->height * sizeof(float); }
static size_t rgb_offset(const p3d_photo_input *in) { return align256(depth_bytes(in)); }
static size_t rgb_bytes(const p3d_photo_input *in) { return (size_t)in->width * (size_t)in->height * 3; }
static size_t filtered_offset(const p3d_photo_input *in) { return align256(rgb_offset(in) + rgb_bytes(in)); }

p3d_status p3d_photo_input_upload(p3d_ctx *ctx, p3d_photo_input *in) {
    if (in->slot >= 0 || p3d_ctx_mem(ctx) == P3D_MEM_HOST) return P3D_OK;
    const size_t bytes = rgb_offset(in) + rgb_bytes(in);
    void *host = NULL;
    int32_t slot = -1;
    P3D_TRY(p3d_staging_begin(ctx, bytes, filtered_offset(in) + depth_bytes(in), &slot, &host));
    in->slot = slot;
    memcpy(host, in->depth, depth_bytes(in));
    memset((unsigned char *)host + depth_bytes(in), 0, rgb_offset(in) - depth_bytes(in));
    memcpy((unsigned char *)host + rgb_offset(in), in->rgb, rgb_bytes(in));
    return p3d_staging_start(ctx, slot);
}

/* The depth preparation's filter passes and its colour fringe step (depth_prep.h): on a device from the uploaded slot into its
 * last part, downloaded into depth (one blocking download, as p3d_depth_prepare: the LDI build's
 * host half reads every pixel) and left there for the LDI build's device half (*depth_dev: the slot
 * stays taken until the LDI run has ended, see release_input), beside the photo (*rgb_dev, from which
 * the device LDI takes its colours); on the CPU from in->depth into depth. */
static p3d_status sharpen_input(p3d_ctx *ctx, p3d_photo_input *in, const p3d_photo_opts *o, float *depth,
                                const float **depth_dev, const uint8_t **rgb_dev) {
    const int32_t w = in->width, h = in->height;
    *depth_dev = NULL;
    *rgb_dev = NULL;
    if (p3d_ctx_mem(ctx) == P3D_MEM_HOST) {
        P3D_TRY(p3d_depth_sharpen(ctx, in->depth, depth, w, h, &o->prep));
        return p3d_depth_fringe(ctx, in->rgb, depth, w, h, &o->prep);
    }
    P3D_TRY(p3d_photo_input_upload(ctx, in));
    void *dev = NULL;
    P3D_TRY(p3d_staging_take(ctx, in->slot, &dev));
    float *filtered = (float *)((unsigned char *)dev + filtered_offset(in));
    P3D_TRY(p3d_depth_sharpen(ctx, (const float *)dev, filtered, w, h, &o->prep));
    const uint8_t *photo = (const uint8_t *)dev + rgb_offset(in);
    P3D_TRY(p3d_depth_fringe(ctx, photo, filtered, w, h, &o->prep));
    P3D_TRY(p3d_ctx_download(ctx, depth, filtered, depth_bytes(in)));
    *depth_dev = filtered;
    *rgb_dev = photo;
    return P3D_OK;
}

/* Gives the photo's staging slot back once the LDI run has ended (the build read the filtered depth and
 * the photo from it). */
static p3d_status release_input(p3d_ctx *ctx, p3d_photo_input *in) {
    if (in->slot < 0) return P3D_OK;
    const int32_t slot = in->slot;
    in->slot = -1;
    return p3d_staging_release(ctx, slot);
}

p3d_status p3d_photo_to_mesh_input(p3d_ctx *ctx, const p3d_ldi_nets *nets, p3d_photo_input *in, const char *name,
                                   const p3d_photo_opts *o, p3d_photo_result *r) {
    memset(r, 0, sizeof *r);
    const p3d_device_traffic traffic0 = p3d_ctx_traffic(ctx);
    double t0 = p3d_time_now();
    const int32_t w = in->width, h = in->height;
    float *depth = (float *)malloc(depth_bytes(in));
    p3d_status s = depth ? P3D_OK : p3d_fail(P3D_ERR_OOM, "%s: out of memory", name);
    const float *depth_dev = NULL;
    const uint8_t *rgb_dev = NULL;
    if (s == P3D_OK) s = sharpen_input(ctx, in, o, depth, &depth_dev, &rgb_dev);
    if (s == P3D_OK) {
        r->width = w, r->height = h, r->orig_w = in->orig_w, r->orig_h = in->orig_h;
        r->center_depth = in->center_depth;
        r->cam = p3d_camera_reference(in->orig_w, in->orig_h, w, h);
        r->seconds_prep = in->seconds + (p3d_time_now() - t0);
        s = p3d_ldi_run(ctx, nets, in->rgb, depth, depth_dev, rgb_dev, w, h, &r->cam, &o->ldi, &r->ldi, &r->report);
    }
    const p3d_status released = release_input(ctx, in);
    if (s == P3D_OK) s = released;
    if (s == P3D_OK) {
        double t1 = p3d_time_now();
        s = o->device_mesh ? p3d_mesh_from_ldi_dev(ctx, &r->ldi, o->ldi.depth_threshold, &r->mesh, &r->mesh_xyz_dev,
                                                   &r->mesh_faces_dev)
                           : p3d_mesh_from_ldi(&r->ldi, o->ldi.depth_threshold, &r->mesh);
        r->seconds_mesh = p3d_time_now() - t1;
    }
    if (s == P3D_OK && o->compact) {
        double t1 = p3d_time_now();
        s = p3d_mesh_compact(&r->ldi, &r->mesh, &o->compact_opts, &r->compact, &r->compact_stats);
        r->seconds_compact = p3d_time_now() - t1;
    }
    free(depth);
    if (s != P3D_OK) p3d_photo_result_free(r);
    else r->traffic = p3d_device_traffic_sub(p3d_ctx_traffic(ctx), traffic0);
    return s;
}

p3d_status p3d_photo_to_mesh_image(p3d_ctx *ctx, const p3d_ldi_nets *nets, const p3d_image *img, const char *name,
                                   const p3d_depth *map, const p3d_photo_opts *o, p3d_photo_result *r) {
    memset(r, 0, sizeof *r);
    p3d_photo_input in;
    P3D_TRY(p3d_photo_input_prepare(img, name, map, o, &in));
    p3d_status s = p3d_photo_to_mesh_input(ctx, nets, &in, name, o, r);
    p3d_photo_input_free(ctx, &in);
    return s;
}

void p3d_json_device_traffic(p3d_json *j, const p3d_device_traffic *t) {
    p3d_json_key(j, "device_traffic");
    p3d_json_begin_object(j);
    p3d_json_key(j, "h2d_bytes");
    p3d_json_int(j, t->h2d_bytes);
    p3d_json_key(j, "d2h_bytes");
    p3d_json_int(j, t->d2h_bytes);
    p3d_json_key(j, "syncs");
    p3d_json_int(j, t->syncs);
    p3d_json_key(j, "allocations");
    p3d_json_int(j, t->allocations);
    p3d_json_end_object(j);
}
