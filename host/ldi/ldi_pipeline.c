/* ldi_pipeline.c - the LDI stages in order (ldi_pipeline.h). */
#include "ldi/ldi_pipeline.h"

#include <math.h>
#include <string.h>

const char *p3d_ldi_stage_name(int32_t stage) {
    static const char *const names[P3D_LDI_STAGE_COUNT] = {"build",    "cleanup",  "border",   "edges",
                                                           "regions1", "inpaint1", "regions2", "inpaint2"};
    return stage >= 0 && stage < P3D_LDI_STAGE_COUNT ? names[stage] : "?";
}

static int32_t count_near(const p3d_ldi_regions *r) {
    int32_t n = 0;
    for (int32_t e = 0; e < r->n_edges; e++) n += r->n_mask[e] > 0 && r->n_ctx[e] > 0;
    return n;
}

/* Regions and inpainting of one pass; the edges of pass 2 are those of the nodes pass 1 made. */
static p3d_status run_pass(p3d_ctx *ctx, const p3d_ldi_nets *nets, p3d_ldi *l, const p3d_ldi_edges *e, int32_t pass,
                           const p3d_ldi_opts *o, p3d_ldi_report *rep) {
    p3d_ldi_regions r;
    double t0 = p3d_time_now();
    P3D_TRY(p3d_ldi_regions_find_ctx(ctx, l, e, o, pass, &r));
    double t1 = p3d_time_now();
    rep->edges[pass] = count_near(&r);
    int32_t before = l->n_nodes;
    p3d_status s = p3d_ldi_inpaint_pass(ctx, nets, l, e, &r, pass, o, &rep->inpaint);
    rep->synthesised[pass] = l->n_nodes - before;
    rep->seconds[pass == 0 ? P3D_LDI_STAGE_REGIONS1 : P3D_LDI_STAGE_REGIONS2] += t1 - t0;
    rep->seconds[pass == 0 ? P3D_LDI_STAGE_INPAINT1 : P3D_LDI_STAGE_INPAINT2] += p3d_time_now() - t1;
    p3d_ldi_regions_free(&r);
    return s;
}

int32_t p3d_ldi_border_needed(const p3d_camera *cam, int32_t w, int32_t h, const float *depth, const float cover[3],
                              float crop) {
    if (w < 3 || h < 3 || !(cover[0] > 0 || cover[1] > 0 || cover[2] > 0)) return 0;
    /* per side (left, right, top, bottom) the nearest depth on the ring inside the outermost one (the
     * outermost takes its depth, see p3d_ldi_build) */
    float zs[4] = {depth[(size_t)w + 1], depth[(size_t)w + w - 2], depth[(size_t)w + 1], depth[(size_t)(h - 2) * w + 1]};
    for (int32_t v = 1; v < h - 1; v++) {
        zs[0] = fminf(zs[0], depth[(size_t)v * w + 1]);
        zs[1] = fminf(zs[1], depth[(size_t)v * w + w - 2]);
    }
    for (int32_t u = 1; u < w - 1; u++) {
        zs[2] = fminf(zs[2], depth[(size_t)w + u]);
        zs[3] = fminf(zs[3], depth[(size_t)(h - 2) * w + u]);
    }
    double over = 0;
    for (int32_t side = 0; side < 4; side++) {
        const double z = zs[side];
        for (int32_t k = 0; k < 8; k++) {
            const double px = (k & 1 ? 1 : -1) * cover[0], py = (k & 2 ? 1 : -1) * cover[1];
            const double pz = (k & 4 ? 1 : -1) * cover[2];
            /* a camera at or beyond the plane sees nothing of it: it can only approach to 1/4 of z */
            const double t = fmax(z - pz, 0.25 * z);
            for (int32_t c = 0; c < 4; c++) {
                const double u = (c & 1 ? 1.0 - crop : crop) * w, v = (c & 2 ? 1.0 - crop : crop) * h;
                const double x = px + t * (u - cam->cx) / cam->fx, y = py + t * (v - cam->cy) / cam->fy;
                const double um = cam->fx * x / z + cam->cx, vm = cam->fy * y / z + cam->cy;
                const double o = side == 0 ? -um : side == 1 ? um - w : side == 2 ? -vm : vm - h;
                over = fmax(over, o);
            }
        }
    }
    /* a configured move can be anything (config keys allow 1e6): the border stops at the image's longer
     * side, beyond which a strip extrapolated from the image carries nothing of it anyway */
    const double most = w > h ? w : h;
    if (!(over < most)) over = most;
    return (int32_t)ceil(over) + 2;
}

/* The stages in the reference's order; on a CUDA context the LDI's device copy lives across them. */
static p3d_status run_stages(p3d_ctx *ctx, const p3d_ldi_nets *nets, const uint8_t *rgb, const float *depth,
                             const float *depth_dev, const p3d_ldi_opts *o, p3d_ldi *l, p3d_ldi_report *rep) {
    double t = p3d_time_now();
    P3D_TRY(p3d_ldi_build_ctx(ctx, l, rgb, depth, depth_dev, o, &rep->build));
    rep->seconds[P3D_LDI_STAGE_BUILD] = p3d_time_now() - t;

    t = p3d_time_now();
    p3d_ldi_edges e;
    P3D_TRY(p3d_ldi_cleanup_ctx(ctx, l, o, &e, &rep->edges_removed, &rep->ends_joined));
    rep->seconds[P3D_LDI_STAGE_CLEANUP] = p3d_time_now() - t;

    p3d_status s = P3D_OK;
    if (o->border > 0) {
        t = p3d_time_now();
        int32_t before = l->n_nodes;
        s = p3d_ldi_extrapolate(ctx, nets, l, &e, o, &rep->inpaint);
        rep->border_nodes = l->n_nodes - before;
        rep->seconds[P3D_LDI_STAGE_BORDER] = p3d_time_now() - t;
        /* the border joins the input layer: its discontinuities are edges like any other */
        t = p3d_time_now();
        p3d_ldi_edges_free(&e);
        if (s == P3D_OK) s = p3d_ldi_edges_find_ctx(ctx, l, o, 0, 0, &e);
        rep->seconds[P3D_LDI_STAGE_EDGES] += p3d_time_now() - t;
    }
    if (s == P3D_OK && o->passes > 0) s = run_pass(ctx, nets, l, &e, 0, o, rep);
    p3d_ldi_edges_free(&e);
    if (s == P3D_OK && o->passes > 1) {
        t = p3d_time_now();
        s = p3d_ldi_edges_find_ctx(ctx, l, o, 1, 1, &e);
        rep->seconds[P3D_LDI_STAGE_EDGES] += p3d_time_now() - t;
        if (s == P3D_OK) s = run_pass(ctx, nets, l, &e, 1, o, rep);
        p3d_ldi_edges_free(&e);
    }
    return s;
}

p3d_status p3d_ldi_run(p3d_ctx *ctx, const p3d_ldi_nets *nets, const uint8_t *rgb, const float *depth,
                       const float *depth_dev, const uint8_t *rgb_dev, int32_t w, int32_t h, const p3d_camera *cam,
                       const p3d_ldi_opts *opts, p3d_ldi *l, p3d_ldi_report *rep) {
    memset(rep, 0, sizeof *rep);
    /* the border: at least opts->border (0: none), wide enough for the cameras of opts->border_cover */
    p3d_ldi_opts sized = *opts;
    if (sized.border > 0) {
        const int32_t need = p3d_ldi_border_needed(cam, w, h, depth, opts->border_cover, opts->border_crop);
        if (need > sized.border) sized.border = need;
    }
    const p3d_ldi_opts *o = &sized;
    P3D_TRY(p3d_ldi_init(l, w, h, o->border, cam));
#ifdef P3D_HAVE_CUDA
    if (ctx && p3d_ctx_cuda(ctx)) {
        P3D_TRY(p3d_ldi_cuda_plan(p3d_ctx_cuda(ctx), w, h, o));
        P3D_TRY(p3d_ldi_cuda_resident_begin(p3d_ctx_cuda(ctx), w, h, o));
        p3d_ldi_cuda_resident_photo(p3d_ctx_cuda(ctx), rgb, rgb_dev);
    }
#endif
    p3d_status s = run_stages(ctx, nets, rgb, depth, depth_dev, o, l, rep);
#ifdef P3D_HAVE_CUDA
    if (ctx && p3d_ctx_cuda(ctx)) p3d_ldi_cuda_resident_end(p3d_ctx_cuda(ctx));
#endif
    return s;
}
