/* stages_flow.c - the per-image job cut into its stages, each timed alone: pipeline.stage.<stage> (the
 * non-learned fill) and pipeline.stage-learned.<stage> (the learned fill: p3d_bench_nets_load), on moon
 * (moon.jpg + moon.npy) at a longer side of 960 (P3D_BENCH_SIDE overrides it, for tests).
 *
 * The stages, in the order of p3d_photo_to_mesh_image and p3d_ldi_run, then `run`'s videos:
 *   decode   the JPEG on the host (run's loader thread overlaps it with the previous photo)
 *   prep     INTER_AREA resize of the photo + depth preparation (p3d_depth_prepare, on the device)
 *   build    LDI input layer: tear, small components, island refill (p3d_ldi_build_ctx)
 *   cleanup  short edges, end joining (p3d_ldi_cleanup_ctx)
 *   border   the 8 extrapolated border strips (p3d_ldi_extrapolate)
 *   edges1   edges of the input layer with its border
 *   regions1 context/synthesis regions of pass 1
 *   inpaint1 patch gather, the fill (nets or non-learned), write-back of pass 1
 *   edges2, regions2, inpaint2   the same for pass 2
 *   mesh     LDI -> dense mesh on the context's device (p3d_mesh_from_ldi_ctx)
 *   render   the four preset trajectories, P3D_BENCH_FRAMES frames each (240), frames to host, as `run`
 *            renders them: SSAA P3D_VIDEO_SSAA (2), p3d_video_renderers (on the CPU one renderer per
 *            thread, that many consecutive frames at once)
 *   videos   render + encode the four videos (H.264: NVENC on a GPU when FFmpeg has it, else libx264)
 *            into a temporary folder through `run`'s video queue (pipeline/video_queue.h: the same
 *            renderers, the encoder on its own thread with p3d_video_queue_opts), until the files are
 *            complete: issue 14's "four 240-frame videos rendered and encoded < 1.5 s"
 * A stage's input is made by running the stages before it in the harness's reset (untimed), so every
 * timed run starts from the same state. The harness times a run with CUDA events on the context's
 * stream on a GPU (the emulated device's events read the host clock) and with the wall clock after a
 * sync on the CPU. Their sum from decode to mesh is the photo -> mesh time the targets bound
 * (100 ms without networks, 300 ms with); pipeline.mesh.moon-* is the same job timed whole. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "io/resize_area.h"
#include "io/video.h"
#include "pipeline/photo3d.h"
#include "pipeline/video_queue.h"
#include "render/render.h"
#include "render/trajectory.h"

enum { FS_DECODE, FS_PREP, FS_BUILD, FS_CLEANUP, FS_BORDER, FS_EDGES1, FS_REGIONS1, FS_INPAINT1, FS_EDGES2,
       FS_REGIONS2, FS_INPAINT2, FS_MESH, FS_RENDER, FS_VIDEOS, FS_COUNT };

typedef struct flow_state {
    int32_t stage, learned;
    char img_path[1024];
    p3d_depth map;
    p3d_ldi_nets nets;
    p3d_photo_opts opts;
    p3d_config cfg;
    int32_t frames;
    char tmpdir[64];
    /* the job's intermediate state, rebuilt by the reset */
    p3d_image img;
    int32_t w, h;
    uint8_t *rgb;  /* (h, w, 3) */
    float *depth;  /* (h, w) */
    float center_depth;
    p3d_camera cam;
    p3d_ldi_opts ldi_opts; /* f->opts.ldi with the border sized for the trajectories, as p3d_ldi_run */
    p3d_ctx *resident;     /* the CUDA context holding the image's resident device LDI, or NULL */
    p3d_ldi ldi;
    p3d_ldi_edges edges;
    p3d_ldi_regions regions;
    p3d_ldi_report rep;
    p3d_mesh mesh;
    p3d_mesh compact; /* the render and videos stages' input when the config's video_mesh is compact, as run */
} flow_state;

static int32_t env_int(const char *name, int32_t def, int32_t lo) {
    const char *v = getenv(name);
    long n = v && v[0] ? strtol(v, NULL, 10) : def;
    return n >= lo && n <= 100000 ? (int32_t)n : def;
}

/* Frees the intermediate state (the inputs stay). */
static void flow_clear(flow_state *f) {
#ifdef P3D_HAVE_CUDA
    if (f->resident) p3d_ldi_cuda_resident_end(p3d_ctx_cuda(f->resident));
#endif
    f->resident = NULL;
    p3d_image_free(&f->img);
    free(f->rgb);
    free(f->depth);
    f->rgb = NULL;
    f->depth = NULL;
    p3d_ldi_regions_free(&f->regions);
    p3d_ldi_edges_free(&f->edges);
    p3d_ldi_free(&f->ldi);
    p3d_mesh_free(&f->mesh);
    p3d_mesh_free(&f->compact);
    memset(&f->compact, 0, sizeof f->compact);
    memset(&f->regions, 0, sizeof f->regions);
    memset(&f->edges, 0, sizeof f->edges);
    memset(&f->ldi, 0, sizeof f->ldi);
    memset(&f->mesh, 0, sizeof f->mesh);
}

/* The four configured trajectories rendered (and encoded when `encode`) from the videos' mesh, as `run`
 * does (cmd_run.c's host-frame path: video_queue.h's renderers, SSAA and encoder options). */
static p3d_status flow_frames(flow_state *f, p3d_ctx *ctx, int32_t encode) {
    const p3d_config *c = &f->cfg;
    const p3d_mesh *m = c->video_mesh ? &f->compact : &f->mesh;
    const int32_t vw = f->w & ~1, vh = f->h & ~1; /* as run: H.264 4:2:0 needs even sides */
    const p3d_render_opts ro = {vw, vh, c->anti_flickering ? P3D_VIDEO_SSAA : 1, {128, 128, 128}};
    const float crop[4] = {(float)c->crop_border[0], (float)c->crop_border[1], (float)c->crop_border[2],
                           (float)c->crop_border[3]};
    const float anchor = f->center_depth > 0 ? f->center_depth : p3d_mesh_center_depth(m);
    p3d_video_renderers vr;
    memset(&vr, 0, sizeof vr);
    vr.n_rr = p3d_video_renderer_count(ctx);
    p3d_status st = P3D_OK;
    for (int32_t i = 0; st == P3D_OK && i < vr.n_rr; i++) st = p3d_renderer_init(ctx, m, &ro, &vr.rr[i]);
    /* frames to host: one buffer per renderer; videos: the queue's slots */
    uint8_t *frames = NULL, *rgb[P3D_VIDEO_MAX_RENDERERS];
    p3d_video_queue *vq = NULL;
    if (st == P3D_OK && encode) st = p3d_video_queue_init(&vq, vw, vh, vr.n_rr + 6);
    if (st == P3D_OK && !encode) {
        frames = (uint8_t *)malloc((size_t)vr.n_rr * vw * vh * 3);
        if (!frames) st = p3d_fail(P3D_ERR_OOM, "bench videos: out of memory");
        for (int32_t i = 0; frames && i < vr.n_rr; i++) rgb[i] = frames + (size_t)i * vw * vh * 3;
    }
    for (int32_t t = 0; st == P3D_OK && t < c->n_traj; t++) {
        p3d_traj tr;
        st = p3d_traj_make(c->video_postfix[t], c->traj_types[t], c->x_shift_range[t], c->y_shift_range[t],
                           c->z_shift_range[t], strstr(c->video_postfix[t], "dolly") != NULL, f->frames, anchor, &tr);
        if (st != P3D_OK) break;
        if (encode) {
            char path[160];
            snprintf(path, sizeof path, "%s/%s.mp4", f->tmpdir, c->video_postfix[t]);
            const p3d_video_opts vo = p3d_video_queue_opts(ctx, c->fps);
            st = p3d_video_queue_open(vq, path, &vo);
        }
        for (int32_t k = 0; st == P3D_OK && k < tr.n; k++) {
            vr.views[vr.n_views++] = p3d_view_of_pose(m, &tr.poses[k], vw, vh, crop);
            if (vr.n_views == vr.n_rr || k == tr.n - 1)
                st = encode ? p3d_video_queue_render(vq, &vr) : p3d_video_renderers_render(&vr, rgb);
        }
        if (st == P3D_OK && encode) st = p3d_video_queue_close(vq);
        p3d_traj_free(&tr);
    }
    if (vq) {
        /* the files are complete when the queue is idle */
        if (st == P3D_OK) st = p3d_video_queue_wait(vq);
        else p3d_video_queue_abort(vq);
        p3d_video_queue_free(vq);
    }
    free(frames);
    for (int32_t i = 0; i < vr.n_rr; i++) p3d_renderer_free(vr.rr[i]);
    return st;
}

/* Runs stage k of the job on f (the stages before it have run). */
static p3d_status flow_step(flow_state *f, p3d_ctx *ctx, int32_t k) {
    const p3d_ldi_opts *o = k > FS_BUILD ? &f->ldi_opts : &f->opts.ldi;
    switch (k) {
    case FS_DECODE:
        return p3d_image_read(f->img_path, 0, &f->img);
    case FS_PREP: {
        const int32_t side = f->img.width > f->img.height ? f->img.width : f->img.height;
        const double frac = (double)f->opts.longer_side / (double)side;
        f->w = (int32_t)(f->img.width * frac);
        f->h = (int32_t)(f->img.height * frac);
        f->rgb = (uint8_t *)malloc((size_t)f->w * f->h * 3);
        f->depth = (float *)malloc((size_t)f->w * f->h * sizeof(float));
        if (!f->rgb || !f->depth) return p3d_fail(P3D_ERR_OOM, "bench flow: out of memory");
        int64_t ss[3] = {f->img.height, f->img.width, 3}, ds[3] = {f->h, f->w, 3};
        p3d_tensor src = p3d_tensor_view(f->img.rgb, P3D_U8, P3D_MEM_HOST, 3, ss);
        p3d_tensor dst = p3d_tensor_view(f->rgb, P3D_U8, P3D_MEM_HOST, 3, ds);
        P3D_TRY(p3d_resize_area_cpu(&src, &dst, P3D_RESIZE_HWC));
        f->cam = p3d_camera_reference(f->img.width, f->img.height, f->w, f->h);
        P3D_TRY(p3d_depth_prepare(ctx, &f->map, f->w, f->h, &f->opts.prep, f->depth, &f->center_depth));
        /* the colour fringe step as pipeline/photo3d.c runs it, on the context's memory */
        if (p3d_ctx_mem(ctx) == P3D_MEM_HOST) return p3d_depth_fringe(ctx, f->rgb, f->depth, f->w, f->h, &f->opts.prep);
        const size_t bytes = (size_t)f->w * f->h * sizeof(float), rgb_bytes = (size_t)f->w * f->h * 3;
        void *dev = NULL;
        P3D_TRY(p3d_ctx_alloc(ctx, bytes + rgb_bytes, &dev));
        uint8_t *rgb_dev = (uint8_t *)dev + bytes;
        p3d_status st = p3d_ctx_upload(ctx, dev, f->depth, bytes);
        if (st == P3D_OK) st = p3d_ctx_upload(ctx, rgb_dev, f->rgb, rgb_bytes);
        if (st == P3D_OK) st = p3d_depth_fringe(ctx, rgb_dev, (float *)dev, f->w, f->h, &f->opts.prep);
        if (st == P3D_OK) st = p3d_ctx_download(ctx, f->depth, dev, bytes);
        p3d_ctx_release(ctx, dev);
        return st;
    }
    case FS_BUILD:
        memset(&f->rep, 0, sizeof f->rep);
        /* the border and the resident device LDI as p3d_ldi_run has them */
        f->ldi_opts = *o;
        if (o->border > 0) {
            const int32_t need = p3d_ldi_border_needed(&f->cam, f->w, f->h, f->depth, o->border_cover, o->border_crop);
            if (need > f->ldi_opts.border) f->ldi_opts.border = need;
        }
        o = &f->ldi_opts;
        P3D_TRY(p3d_ldi_init(&f->ldi, f->w, f->h, o->border, &f->cam));
#ifdef P3D_HAVE_CUDA
        if (p3d_ctx_cuda(ctx)) {
            P3D_TRY(p3d_ldi_cuda_plan(p3d_ctx_cuda(ctx), f->w, f->h, o));
            P3D_TRY(p3d_ldi_cuda_resident_begin(p3d_ctx_cuda(ctx), f->w, f->h, o));
            f->resident = ctx;
        }
#endif
        return p3d_ldi_build_ctx(ctx, &f->ldi, f->rgb, f->depth, NULL, o, &f->rep.build);
    case FS_CLEANUP:
        return p3d_ldi_cleanup_ctx(ctx, &f->ldi, o, &f->edges, &f->rep.edges_removed, &f->rep.ends_joined);
    case FS_BORDER:
        return o->border > 0 ? p3d_ldi_extrapolate(ctx, &f->nets, &f->ldi, &f->edges, o, &f->rep.inpaint) : P3D_OK;
    case FS_EDGES1:
        if (o->border <= 0) return P3D_OK; /* the cleanup's edges are pass 1's (p3d_ldi_run) */
        p3d_ldi_edges_free(&f->edges);
        memset(&f->edges, 0, sizeof f->edges);
        return p3d_ldi_edges_find_ctx(ctx, &f->ldi, o, 0, 0, &f->edges);
    case FS_EDGES2:
        p3d_ldi_edges_free(&f->edges);
        memset(&f->edges, 0, sizeof f->edges);
        return p3d_ldi_edges_find_ctx(ctx, &f->ldi, o, 1, 1, &f->edges);
    case FS_REGIONS1:
    case FS_REGIONS2:
        return p3d_ldi_regions_find_ctx(ctx, &f->ldi, &f->edges, o, k == FS_REGIONS2, &f->regions);
    case FS_INPAINT1:
    case FS_INPAINT2: {
        p3d_status st = p3d_ldi_inpaint_pass(ctx, &f->nets, &f->ldi, &f->edges, &f->regions, k == FS_INPAINT2, o,
                                             &f->rep.inpaint);
        p3d_ldi_regions_free(&f->regions);
        memset(&f->regions, 0, sizeof f->regions);
        return st;
    }
    case FS_MESH:
        return p3d_mesh_from_ldi_ctx(ctx, &f->ldi, o->depth_threshold, &f->mesh);
    case FS_RENDER:
    case FS_VIDEOS:
        return flow_frames(f, ctx, k == FS_VIDEOS);
    default:
        return p3d_fail(P3D_ERR_INVALID_ARG, "bench flow: stage %d", (int)k);
    }
}

/* The stage's input: every stage before it, from the decoded file (untimed). The render stage's
 * input is the videos' mesh (the compact one by default, built here as run's photo job builds it);
 * the videos stage's too (it renders again). */
static p3d_status flow_reset(void *s, p3d_ctx *ctx) {
    flow_state *f = (flow_state *)s;
    flow_clear(f);
    const int32_t upto = f->stage == FS_VIDEOS ? FS_RENDER : f->stage;
    for (int32_t k = 0; k < upto; k++) P3D_TRY(flow_step(f, ctx, k));
    if (f->stage >= FS_RENDER && f->cfg.video_mesh) {
        p3d_compact_stats stats;
        P3D_TRY(p3d_mesh_compact(&f->ldi, &f->mesh, &f->opts.compact_opts, &f->compact, &stats));
    }
    return p3d_ctx_sync(ctx);
}

static p3d_status flow_run(void *s, p3d_ctx *ctx) {
    flow_state *f = (flow_state *)s;
    return flow_step(f, ctx, f->stage);
}

static void flow_teardown(void *s, p3d_ctx *ctx) {
    (void)ctx;
    flow_state *f = (flow_state *)s;
    flow_clear(f);
    p3d_depth_free(&f->map);
    p3d_nets_free(&f->nets);
    if (f->tmpdir[0]) {
        for (int32_t t = 0; t < f->cfg.n_traj; t++) {
            char path[160];
            snprintf(path, sizeof path, "%s/%s.mp4", f->tmpdir, f->cfg.video_postfix[t]);
            unlink(path);
        }
        rmdir(f->tmpdir);
    }
    free(f);
}

static p3d_status flow_setup(p3d_ctx *ctx, p3d_bench_case *c, int32_t stage, int32_t learned) {
    char dep[1024];
    flow_state *f = (flow_state *)calloc(1, sizeof *f);
    if (!f) return p3d_fail(P3D_ERR_OOM, "bench flow: out of host memory");
    f->stage = stage;
    f->learned = learned;
    f->opts = p3d_photo_opts_default();
    f->opts.longer_side = env_int("P3D_BENCH_SIDE", 960, 16);
    f->frames = env_int("P3D_BENCH_FRAMES", 240, 1);
    p3d_config_defaults(&f->cfg);
    p3d_status st = P3D_OK;
    if (!p3d_bench_fixture("moon/moon.jpg", f->img_path, sizeof f->img_path) ||
        !p3d_bench_fixture("moon/moon.npy", dep, sizeof dep))
        st = p3d_fail(P3D_ERR_UNSUPPORTED, "../shared/fixtures/moon not found");
    if (st == P3D_OK && stage == FS_VIDEOS && !p3d_video_available())
        st = p3d_fail(P3D_ERR_UNSUPPORTED, "built without FFmpeg: no encoder");
    if (st == P3D_OK && stage == FS_VIDEOS) {
        snprintf(f->tmpdir, sizeof f->tmpdir, "/tmp/p3d-bench-XXXXXX");
        if (!mkdtemp(f->tmpdir)) {
            f->tmpdir[0] = 0;
            st = p3d_fail(P3D_ERR_IO, "bench videos: cannot make a folder in /tmp");
        }
    }
    if (st == P3D_OK) st = p3d_depth_read(dep, NULL, &f->map);
    if (st == P3D_OK && learned) st = p3d_bench_nets_load(ctx, &f->nets);
    if (st != P3D_OK) {
        flow_teardown(f, ctx);
        return st;
    }
    c->state = f;
    c->run = flow_run;
    c->reset = flow_reset;
    c->teardown = flow_teardown;
    c->pixels = (double)f->opts.longer_side * f->opts.longer_side;
    char what[64] = "";
    if (stage >= FS_RENDER)
        snprintf(what, sizeof what, ", 4 %s x %d frames, %s mesh, SSAA %d", stage == FS_RENDER ? "trajectories" : "videos",
                 (int)f->frames, f->cfg.video_mesh ? "compact" : "dense", f->cfg.anti_flickering ? P3D_VIDEO_SSAA : 1);
    snprintf(c->label, sizeof c->label, "moon -> %d px, %s fill%s", (int)f->opts.longer_side,
             learned ? "learned" : "non-learned", what);
    return P3D_OK;
}

#define FLOW_SETUP(ID, K)                                                                                      \
    static p3d_status flow_##ID(p3d_ctx *ctx, p3d_bench_case *c) { return flow_setup(ctx, c, K, 0); }
#define FLOW_SETUPS(ID, K)                                                                                     \
    FLOW_SETUP(ID, K)                                                                                          \
    static p3d_status flow_##ID##_learned(p3d_ctx *ctx, p3d_bench_case *c) { return flow_setup(ctx, c, K, 1); }
FLOW_SETUPS(decode, FS_DECODE)
FLOW_SETUPS(prep, FS_PREP)
FLOW_SETUPS(build, FS_BUILD)
FLOW_SETUPS(cleanup, FS_CLEANUP)
FLOW_SETUPS(border, FS_BORDER)
FLOW_SETUPS(edges1, FS_EDGES1)
FLOW_SETUPS(regions1, FS_REGIONS1)
FLOW_SETUPS(inpaint1, FS_INPAINT1)
FLOW_SETUPS(edges2, FS_EDGES2)
FLOW_SETUPS(regions2, FS_REGIONS2)
FLOW_SETUPS(inpaint2, FS_INPAINT2)
FLOW_SETUPS(mesh, FS_MESH)
FLOW_SETUP(render, FS_RENDER)
FLOW_SETUP(videos, FS_VIDEOS)

/* Every stage up to the mesh with each fill (the nets change the work of the border and inpainting
 * stages, and so the LDI every later stage gets); the videos do not depend on the fill. */
P3D_BENCH_TABLE(p3d_bench_stages_flow) = {
#define FLOW_ROW(ID) {"pipeline.stage." #ID, flow_##ID}
#define FLOW_ROW_LEARNED(ID) {"pipeline.stage-learned." #ID, flow_##ID##_learned}
    FLOW_ROW(decode),   FLOW_ROW(prep),     FLOW_ROW(build),    FLOW_ROW(cleanup),  FLOW_ROW(border),
    FLOW_ROW(edges1),   FLOW_ROW(regions1), FLOW_ROW(inpaint1), FLOW_ROW(edges2),   FLOW_ROW(regions2),
    FLOW_ROW(inpaint2), FLOW_ROW(mesh),     FLOW_ROW(render),   FLOW_ROW(videos),
    FLOW_ROW_LEARNED(decode),   FLOW_ROW_LEARNED(prep),     FLOW_ROW_LEARNED(build),    FLOW_ROW_LEARNED(cleanup),
    FLOW_ROW_LEARNED(border),   FLOW_ROW_LEARNED(edges1),   FLOW_ROW_LEARNED(regions1), FLOW_ROW_LEARNED(inpaint1),
    FLOW_ROW_LEARNED(edges2),   FLOW_ROW_LEARNED(regions2), FLOW_ROW_LEARNED(inpaint2), FLOW_ROW_LEARNED(mesh),
    {NULL, NULL},
#undef FLOW_ROW
#undef FLOW_ROW_LEARNED
};
