/* stages_render.c - bench stages of the renderer: the four preset trajectories at 960x640 (SSAA 3, the
 * render command's defaults), render only (render.<preset>) and render + H.264 encode
 * (render+encode.<preset>, libx264 CRF 23 preset medium into a temporary MP4).
 *
 * Scene: the project's sample (samples/scene.png + scene_disp.png, 640x448) upsampled to 960x672
 * (nearest), the top 960x640 as a single-layer mesh (ldi_single.h: 614,400 vertices, ~1.2 M faces,
 * the size of a real 960x640 photo's first layer). A run renders every 10th pose of the preset's 240,
 * i.e. 24 frames: frames/s = 24 / the run's time. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "io/depth_io.h"
#include "io/image_io.h"
#include "io/video.h"
#include "ldi/ldi_single.h"
#include "render/render.h"
#include "render/trajectory.h"

#define BENCH_W 960
#define BENCH_H 640
#define BENCH_STEP 10 /* every 10th pose of 240: 24 frames per run */

typedef struct render_state {
    p3d_mesh mesh;
    p3d_renderer *r;
    p3d_traj traj;
    uint8_t *rgb;
    int32_t encode;
    char tmp[512];
} render_state;

static void render_teardown(void *s, p3d_ctx *ctx) {
    (void)ctx;
    render_state *b = (render_state *)s;
    p3d_renderer_free(b->r);
    p3d_mesh_free(&b->mesh);
    p3d_traj_free(&b->traj);
    free(b->rgb);
    if (b->tmp[0]) unlink(b->tmp);
    free(b);
}

static p3d_status render_run(void *s, p3d_ctx *ctx) {
    (void)ctx;
    render_state *b = (render_state *)s;
    p3d_video_writer *v = NULL;
    if (b->encode) {
        const p3d_video_opts o = p3d_video_opts_default();
        P3D_TRY(p3d_video_open(b->tmp, BENCH_W, BENCH_H, &o, &v));
    }
    p3d_status st = P3D_OK;
    for (int32_t k = 0; k < b->traj.n && st == P3D_OK; k += BENCH_STEP) {
        const p3d_view view = p3d_view_of_pose(&b->mesh, &b->traj.poses[k], BENCH_W, BENCH_H, p3d_crop_border_default);
        st = p3d_render_frame(b->r, &view, b->rgb);
        if (st == P3D_OK && v) st = p3d_video_write_rgb(v, b->rgb);
    }
    if (v && st == P3D_OK) return p3d_video_close(v);
    p3d_video_abort(v);
    return st;
}

/* The sample upsampled (nearest) to 960x672, cropped to 960x640, as a single-layer mesh. */
static p3d_status sample_mesh(p3d_mesh *out) {
    p3d_image img;
    p3d_depth disp;
    const p3d_depth_opts o = {P3D_DEPTH_DISPARITY, 2.0f / 65535.0f}; /* 16-bit PNG -> 1/m, samples/README.md */
    P3D_TRY(p3d_image_read("samples/scene.png", 0, &img));
    p3d_status st = p3d_depth_read("samples/scene_disp.png", &o, &disp);
    if (st != P3D_OK) {
        p3d_image_free(&img);
        return st;
    }
    uint8_t *rgb = (uint8_t *)malloc((size_t)BENCH_W * BENCH_H * 3);
    float *d = (float *)malloc((size_t)BENCH_W * BENCH_H * sizeof *d);
    if (!rgb || !d) st = p3d_fail(P3D_ERR_OOM, "bench render: out of memory");
    for (int32_t y = 0; st == P3D_OK && y < BENCH_H; y++)
        for (int32_t x = 0; x < BENCH_W; x++) {
            const int32_t sx = x * img.width / BENCH_W, sy = y * img.width / BENCH_W;
            const int64_t si = (int64_t)(sy < img.height ? sy : img.height - 1) * img.width + sx;
            memcpy(rgb + 3 * ((int64_t)y * BENCH_W + x), img.rgb + 3 * si, 3);
            d[(int64_t)y * BENCH_W + x] = disp.value[si];
        }
    const p3d_camera cam = {960.0f, 960.0f, 480.0f, 320.0f};
    p3d_ldi l;
    memset(&l, 0, sizeof l);
    if (st == P3D_OK) st = p3d_ldi_single_layer(rgb, d, BENCH_W, BENCH_H, &cam, 1.0f, 0.01f, &l);
    if (st == P3D_OK) st = p3d_mesh_from_ldi(&l, 0.01f, out);
    p3d_ldi_free(&l);
    free(rgb);
    free(d);
    p3d_depth_free(&disp);
    p3d_image_free(&img);
    return st;
}

static p3d_status render_setup(p3d_ctx *ctx, p3d_bench_case *c, const char *preset, int32_t encode) {
    if (encode && !p3d_video_available()) return p3d_fail(P3D_ERR_UNSUPPORTED, "built without FFmpeg");
    render_state *b = (render_state *)calloc(1, sizeof *b);
    if (!b) return p3d_fail(P3D_ERR_OOM, "bench render: out of memory");
    b->encode = encode;
    p3d_status st = sample_mesh(&b->mesh);
    if (st == P3D_OK) st = p3d_traj_preset(preset, P3D_TRAJ_DEFAULT_FRAMES, p3d_mesh_center_depth(&b->mesh), &b->traj);
    const p3d_render_opts o = {BENCH_W, BENCH_H, 3, {128, 128, 128}};
    if (st == P3D_OK) st = p3d_renderer_init(ctx, &b->mesh, &o, &b->r);
    if (st == P3D_OK && !(b->rgb = (uint8_t *)malloc((size_t)BENCH_W * BENCH_H * 3)))
        st = p3d_fail(P3D_ERR_OOM, "bench render: out of memory");
    if (st == P3D_OK && encode) {
        const char *t = getenv("TMPDIR");
        snprintf(b->tmp, sizeof b->tmp, "%s/p3d-bench-%d-%s.mp4", t && t[0] ? t : "/tmp", (int)getpid(), preset);
    }
    if (st != P3D_OK) {
        render_teardown(b, ctx);
        return st;
    }
    snprintf(c->label, sizeof c->label, "sample mesh %lld faces, %d of %d frames %dx%d SSAA 3", (long long)b->mesh.n_faces,
             (P3D_TRAJ_DEFAULT_FRAMES + BENCH_STEP - 1) / BENCH_STEP, P3D_TRAJ_DEFAULT_FRAMES, BENCH_W, BENCH_H);
    c->state = b;
    c->run = render_run;
    c->teardown = render_teardown;
    c->pixels = (double)BENCH_W * BENCH_H * ((P3D_TRAJ_DEFAULT_FRAMES + BENCH_STEP - 1) / BENCH_STEP);
    return P3D_OK;
}

#define RENDER_STAGE(fn, preset, encode)                                                                          \
    static p3d_status fn(p3d_ctx *ctx, p3d_bench_case *c) { return render_setup(ctx, c, preset, encode); }
RENDER_STAGE(setup_dolly, "dolly-zoom-in", 0)
RENDER_STAGE(setup_zoom, "zoom-in", 0)
RENDER_STAGE(setup_circle, "circle", 0)
RENDER_STAGE(setup_swing, "swing", 0)
RENDER_STAGE(setup_dolly_enc, "dolly-zoom-in", 1)
RENDER_STAGE(setup_zoom_enc, "zoom-in", 1)
RENDER_STAGE(setup_circle_enc, "circle", 1)
RENDER_STAGE(setup_swing_enc, "swing", 1)

P3D_BENCH_TABLE(p3d_bench_stages_render) = {
    {"render.dolly-zoom-in", setup_dolly},
    {"render.zoom-in", setup_zoom},
    {"render.circle", setup_circle},
    {"render.swing", setup_swing},
    {"render+encode.dolly-zoom-in", setup_dolly_enc},
    {"render+encode.zoom-in", setup_zoom_enc},
    {"render+encode.circle", setup_circle_enc},
    {"render+encode.swing", setup_swing_enc},
    {NULL, NULL},
};
