/* stages_pipeline.c - bench stages of whole jobs: photo + depth map -> inpainted mesh (host/pipeline/photo3d.h)
 * on the reference's own example (moon.jpg with moon.npy, processing size 960x960), with the
 * non-learned fill and with the learned fill (the weight blobs of p3d_bench_weights_dir(): the real
 * converted checkpoints when installed there, else the random-weight test blobs, which cost the same
 * arithmetic but make other edges and so other work). Peak RSS is the harness's.
 *
 * And the job's upload (device only): pipeline.upload.moon is the prepared depth map's copy through the
 * page-locked staging on the copy stream (p3d_photo_input_upload's path), the compute stream waiting
 * for its event, so the harness's events on the compute stream time the copy as the next stage sees
 * it; the host's copy into the staging buffer is in the untimed reset. pipeline.upload.moon-pageable is
 * the same bytes as a plain p3d_ctx_upload from ordinary memory, for comparison. The per-stage device
 * times of the job itself are stages_flow.c's pipeline.stage.* entries. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "pipeline/photo3d.h"

typedef struct pipe_state {
    p3d_image img;
    p3d_depth map;
    p3d_ldi_nets nets;
    p3d_photo_opts opts;
    char name[64];
} pipe_state;

static p3d_status pipe_run(void *s, p3d_ctx *ctx) {
    pipe_state *p = (pipe_state *)s;
    p3d_photo_result r;
    P3D_TRY(p3d_photo_to_mesh_image(ctx, &p->nets, &p->img, p->name, &p->map, &p->opts, &r));
    p3d_photo_result_free(&r);
    return P3D_OK;
}

static void pipe_teardown(void *s, p3d_ctx *ctx) {
    (void)ctx;
    pipe_state *p = (pipe_state *)s;
    p3d_image_free(&p->img);
    p3d_depth_free(&p->map);
    p3d_nets_free(&p->nets);
    free(p);
}

p3d_status p3d_bench_nets_load(p3d_ctx *ctx, p3d_ldi_nets *nets) {
    /* the three blobs of the bench's weights folder, by model or test name */
    static const char *const files[2][3] = {{"edge-model", "depth-model", "color-model"},
                                            {"edge-random", "depth-random", "color-random"}};
    static const p3d_inpaint_kind kinds[3] = {P3D_INPAINT_EDGE, P3D_INPAINT_DEPTH, P3D_INPAINT_COLOR};
    p3d_inpaint_net **slot[3] = {&nets->edge, &nets->depth, &nets->color};
    p3d_status st = P3D_OK;
    for (int32_t k = 0; st == P3D_OK && k < 3; k++) {
        char path[1200];
        p3d_weights *w = NULL;
        snprintf(path, sizeof path, "%s/%s.p3dw", p3d_bench_weights_dir(), files[0][k]);
        if (p3d_weights_load(path, &w) != P3D_OK) {
            snprintf(path, sizeof path, "%s/%s.p3dw", p3d_bench_weights_dir(), files[1][k]);
            if (p3d_weights_load(path, &w) != P3D_OK)
                return p3d_fail(P3D_ERR_UNSUPPORTED, "no inpainting weights in %s", p3d_bench_weights_dir());
        }
        st = p3d_inpaint_net_init(slot[k], ctx, w, kinds[k]);
        p3d_weights_free(w);
    }
    return st;
}

static p3d_status pipe_setup_moon(p3d_ctx *ctx, p3d_bench_case *c, int32_t learned) {
    char img[1024], dep[1024];
    if (!p3d_bench_fixture("moon/moon.jpg", img, sizeof img) || !p3d_bench_fixture("moon/moon.npy", dep, sizeof dep))
        return p3d_fail(P3D_ERR_UNSUPPORTED, "../shared/fixtures/moon not found");
    pipe_state *p = (pipe_state *)calloc(1, sizeof *p);
    if (!p) return p3d_fail(P3D_ERR_OOM, "pipeline: out of host memory");
    snprintf(p->name, sizeof p->name, "moon.jpg");
    p->opts = p3d_photo_opts_default();
    const char *side = getenv("P3D_BENCH_SIDE"); /* a smaller job for tests (stages_flow.c's too) */
    if (side && atoi(side) >= 16) p->opts.longer_side = atoi(side);
    p3d_status st = p3d_image_read(img, 0, &p->img);
    if (st == P3D_OK) st = p3d_depth_read(dep, NULL, &p->map);
    if (st == P3D_OK && learned) st = p3d_bench_nets_load(ctx, &p->nets);
    if (st != P3D_OK) {
        pipe_teardown(p, ctx);
        return st;
    }
    c->state = p;
    c->run = pipe_run;
    c->teardown = pipe_teardown;
    c->pixels = (double)p->opts.longer_side * p->opts.longer_side;
    snprintf(c->label, sizeof c->label, "moon.jpg + moon.npy -> %dx%d LDI -> mesh, %s fill", (int)p->opts.longer_side,
             (int)p->opts.longer_side, learned ? "learned" : "non-learned");
    return P3D_OK;
}

static p3d_status pipe_setup_moon_classic(p3d_ctx *ctx, p3d_bench_case *c) { return pipe_setup_moon(ctx, c, 0); }
static p3d_status pipe_setup_moon_learned(p3d_ctx *ctx, p3d_bench_case *c) { return pipe_setup_moon(ctx, c, 1); }

typedef struct upload_state {
    p3d_photo_input in;
    size_t bytes;
    int32_t slot;    /* staged by the reset, -1 when none */
    void *dev;       /* pageable variant: the device buffer */
    int32_t pageable;
} upload_state;

static p3d_status upload_reset(void *s, p3d_ctx *ctx) {
    upload_state *u = (upload_state *)s;
    if (u->pageable) return P3D_OK;
    void *host = NULL;
    P3D_TRY(p3d_staging_begin(ctx, u->bytes, u->bytes, &u->slot, &host));
    memcpy(host, u->in.depth, u->bytes);
    return P3D_OK;
}

static p3d_status upload_run(void *s, p3d_ctx *ctx) {
    upload_state *u = (upload_state *)s;
    if (u->pageable) return p3d_ctx_upload(ctx, u->dev, u->in.depth, u->bytes);
    void *dev = NULL;
    const int32_t slot = u->slot;
    u->slot = -1;
    P3D_TRY(p3d_staging_start(ctx, slot));
    p3d_status st = p3d_staging_take(ctx, slot, &dev);
    const p3d_status rs = p3d_staging_release(ctx, slot);
    return st != P3D_OK ? st : rs;
}

static void upload_teardown(void *s, p3d_ctx *ctx) {
    upload_state *u = (upload_state *)s;
    if (u->slot >= 0) (void)p3d_staging_release(ctx, u->slot);
    p3d_ctx_release(ctx, u->dev);
    p3d_photo_input_free(NULL, &u->in);
    free(u);
}

static p3d_status upload_setup(p3d_ctx *ctx, p3d_bench_case *c, int32_t pageable) {
    if (p3d_ctx_mem(ctx) == P3D_MEM_HOST) return p3d_fail(P3D_ERR_UNSUPPORTED, "an upload is a device stage");
    char img[1024], dep[1024];
    if (!p3d_bench_fixture("moon/moon.jpg", img, sizeof img) || !p3d_bench_fixture("moon/moon.npy", dep, sizeof dep))
        return p3d_fail(P3D_ERR_UNSUPPORTED, "../shared/fixtures/moon not found");
    upload_state *u = (upload_state *)calloc(1, sizeof *u);
    if (!u) return p3d_fail(P3D_ERR_OOM, "pipeline: out of host memory");
    u->slot = -1;
    u->pageable = pageable;
    u->in.slot = -1;
    p3d_photo_opts o = p3d_photo_opts_default();
    const char *side = getenv("P3D_BENCH_SIDE");
    if (side && atoi(side) >= 16) o.longer_side = atoi(side);
    p3d_image im;
    p3d_depth map;
    memset(&im, 0, sizeof im);
    memset(&map, 0, sizeof map);
    p3d_status st = p3d_image_read(img, 0, &im);
    if (st == P3D_OK) st = p3d_depth_read(dep, NULL, &map);
    if (st == P3D_OK) st = p3d_photo_input_prepare(&im, "moon.jpg", &map, &o, &u->in);
    p3d_image_free(&im);
    p3d_depth_free(&map);
    u->bytes = (size_t)u->in.width * (size_t)u->in.height * sizeof(float);
    if (st == P3D_OK && pageable) st = p3d_ctx_alloc(ctx, u->bytes, &u->dev);
    if (st != P3D_OK) {
        upload_teardown(u, ctx);
        return st;
    }
    c->state = u;
    c->run = upload_run;
    c->reset = upload_reset;
    c->teardown = upload_teardown;
    c->pixels = (double)u->in.width * u->in.height;
    snprintf(c->label, sizeof c->label, "moon's depth at %dx%d, %zu bytes, %s", (int)u->in.width, (int)u->in.height,
             u->bytes, pageable ? "pageable, compute stream" : "page-locked staging, copy stream");
    return P3D_OK;
}

static p3d_status upload_setup_staged(p3d_ctx *ctx, p3d_bench_case *c) { return upload_setup(ctx, c, 0); }
static p3d_status upload_setup_pageable(p3d_ctx *ctx, p3d_bench_case *c) { return upload_setup(ctx, c, 1); }

P3D_BENCH_TABLE(p3d_bench_stages_pipeline) = {
    {"pipeline.mesh.moon-classic", pipe_setup_moon_classic},
    {"pipeline.mesh.moon-learned", pipe_setup_moon_learned},
    {"pipeline.upload.moon", upload_setup_staged},
    {"pipeline.upload.moon-pageable", upload_setup_pageable},
    {NULL, NULL},
};
