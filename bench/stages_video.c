/* stages_video.c - bench stage of the videos' encoder (host/io/video.h) on `run`'s frames of the
 * reference's example (moon.jpg + moon.npy at 960x960, non-learned fill, compact mesh):
 *   video.encode.moon   48 consecutive frames of the circle preset, rendered at setup as `run` renders
 *                       them (SSAA 2), encoded with p3d_video_opts_default (libx264 veryfast, CRF 20)
 *                       into a temporary MP4; its label gives the file's bytes and the RGB PSNR of its
 *                       decoded frames against the rendered ones (one encoding, measured at setup).
 * Compare cpu_ms (user + sys, the encoder's threads included), not wall, on a shared machine. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench.h"
#include "io/video.h"
#include "render/render.h"
#include "render/trajectory.h"

#define VB_FRAMES 48
#define VB_SSAA 2 /* `run`'s videos (host/cli/cmd_run.c RUN_VIDEO_SSAA) */

typedef struct video_state {
    int32_t w, h;
    uint8_t *frames; /* (VB_FRAMES, h, w, 3) */
    char path[64];   /* the temporary MP4 */
} video_state;

static void video_teardown(void *s, p3d_ctx *ctx) {
    (void)ctx;
    video_state *b = (video_state *)s;
    unlink(b->path);
    free(b->frames);
    free(b);
}

static p3d_status encode_frames(const video_state *b) {
    const p3d_video_opts o = p3d_video_opts_default();
    p3d_video_writer *v = NULL;
    P3D_TRY(p3d_video_open(b->path, b->w, b->h, &o, &v));
    const size_t frame = (size_t)b->w * b->h * 3;
    for (int32_t k = 0; k < VB_FRAMES; k++) {
        const p3d_status st = p3d_video_write_rgb(v, b->frames + (size_t)k * frame);
        if (st != P3D_OK) {
            p3d_video_abort(v);
            return st;
        }
    }
    return p3d_video_close(v);
}

static p3d_status video_run(void *s, p3d_ctx *ctx) {
    (void)ctx;
    return encode_frames((const video_state *)s);
}

/* The frames `run` renders for moon's circle video, 0 .. VB_FRAMES - 1, into b. */
static p3d_status render_frames(p3d_ctx *ctx, video_state *b) {
    p3d_photo_result r;
    P3D_TRY(p3d_bench_moon_result(ctx, 1, &r));
    p3d_status st = P3D_OK;
    b->w = r.width & ~1;
    b->h = r.height & ~1;
    const size_t frame = (size_t)b->w * b->h * 3;
    p3d_traj tr;
    memset(&tr, 0, sizeof tr);
    p3d_renderer *ren = NULL;
    const p3d_render_opts ro = {b->w, b->h, VB_SSAA, {128, 128, 128}};
    if (!(b->frames = (uint8_t *)malloc(VB_FRAMES * frame))) st = p3d_fail(P3D_ERR_OOM, "bench: out of memory");
    if (st == P3D_OK) st = p3d_traj_preset("circle", P3D_TRAJ_DEFAULT_FRAMES, r.center_depth, &tr);
    if (st == P3D_OK) st = p3d_renderer_init(ctx, &r.compact, &ro, &ren);
    for (int32_t k = 0; st == P3D_OK && k < VB_FRAMES; k++) {
        const p3d_view v = p3d_view_of_pose(&r.compact, &tr.poses[k], b->w, b->h, p3d_crop_border_default);
        st = p3d_render_frame(ren, &v, b->frames + (size_t)k * frame);
    }
    p3d_renderer_free(ren);
    p3d_traj_free(&tr);
    p3d_photo_result_free(&r);
    return st;
}

/* PSNR (min and mean over the frames) of the encoded file's decoded frames against b's. */
static p3d_status decoded_psnr(const video_state *b, double *psnr_min, double *psnr_mean) {
    const size_t frame = (size_t)b->w * b->h * 3;
    *psnr_min = INFINITY;
    *psnr_mean = 0;
    for (int32_t k = 0; k < VB_FRAMES; k++) {
        uint8_t *rgb = NULL;
        int32_t w = 0, h = 0;
        P3D_TRY(p3d_video_read_frame(b->path, k, &rgb, &w, &h));
        double se = 0;
        const uint8_t *ref = b->frames + (size_t)k * frame;
        for (size_t i = 0; w == b->w && h == b->h && i < frame; i++) se += ((double)ref[i] - rgb[i]) * ((double)ref[i] - rgb[i]);
        free(rgb);
        if (w != b->w || h != b->h)
            return p3d_fail(P3D_ERR_IO, "%s: decoded frame %d is %dx%d, not %dx%d", b->path, (int)k, (int)w, (int)h,
                            (int)b->w, (int)b->h);
        const double psnr = se > 0 ? 10.0 * log10(255.0 * 255.0 / (se / (double)frame)) : 99.0;
        *psnr_min = psnr < *psnr_min ? psnr : *psnr_min;
        *psnr_mean += psnr / VB_FRAMES;
    }
    return P3D_OK;
}

static p3d_status video_setup(p3d_ctx *ctx, p3d_bench_case *c) {
    if (!p3d_video_available()) return p3d_fail(P3D_ERR_UNSUPPORTED, "built without FFmpeg");
    video_state *b = (video_state *)calloc(1, sizeof *b);
    if (!b) return p3d_fail(P3D_ERR_OOM, "bench: out of memory");
    snprintf(b->path, sizeof b->path, "/tmp/p3d-bench-video-%d.mp4", (int)getpid());
    p3d_status st = render_frames(ctx, b);
    if (st == P3D_OK) st = encode_frames(b);
    double psnr_min = 0, psnr_mean = 0;
    if (st == P3D_OK) st = decoded_psnr(b, &psnr_min, &psnr_mean);
    struct stat sb;
    const long long bytes = st == P3D_OK && stat(b->path, &sb) == 0 ? (long long)sb.st_size : -1;
    if (st != P3D_OK) {
        video_teardown(b, ctx);
        return st;
    }
    const p3d_video_opts o = p3d_video_opts_default();
    c->state = b;
    c->run = video_run;
    c->teardown = video_teardown;
    c->pixels = (double)VB_FRAMES * b->w * b->h;
    snprintf(c->label, sizeof c->label, "%d frames %dx%d, %s CRF %d: %lld bytes, PSNR min %.2f mean %.2f dB",
             VB_FRAMES, (int)b->w, (int)b->h, o.preset ? o.preset : "default", (int)o.crf, bytes, psnr_min, psnr_mean);
    return P3D_OK;
}

P3D_BENCH_TABLE(p3d_bench_stages_video) = {
    {"video.encode.moon", video_setup},
    {NULL, NULL},
};
