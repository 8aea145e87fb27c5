/* stages_pipeline.c - bench stages of whole jobs: photo + depth map -> inpainted mesh (host/pipeline/photo3d.h)
 * on the reference's own example (moon.jpg with moon.npy, processing size 960x960), with the
 * non-learned fill and with the learned fill (the weight blobs of p3d_bench_weights_dir(): the real
 * converted checkpoints when installed there, else the random-weight test blobs, which cost the same
 * arithmetic but make other edges and so other work). Peak RSS is the harness's. */
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

P3D_BENCH_TABLE(p3d_bench_stages_pipeline) = {
    {"pipeline.mesh.moon-classic", pipe_setup_moon_classic},
    {"pipeline.mesh.moon-learned", pipe_setup_moon_learned},
    {NULL, NULL},
};
