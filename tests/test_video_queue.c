/* test_video_queue.c - the video queue (host/pipeline/video_queue.h): frames encoded on its thread give
 * the same file as a direct p3d_video_write_rgb loop, also when several slots are taken at once and
 * filled out of order (FFmpeg's mpeg4 encoder, single-threaded and so
 * repeatable byte for byte: libx264's threads are not); a failure on the encoder thread (a folder that
 * does not exist) comes back to the producer with its message and leaves nothing; an abort in the
 * middle of a video removes its file; the queue is reusable after both. `run`'s renderers
 * (p3d_video_renderers: several frames at once, one renderer each) give the frames one renderer gives
 * view by view. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/file_io.h"
#include "p3d_test.h"
#include "pipeline/video_queue.h"

#define W 64
#define H 48
#define N 12

static void frame_of(int32_t k, uint8_t *rgb) {
    for (int32_t y = 0; y < H; y++)
        for (int32_t x = 0; x < W; x++) {
            uint8_t *p = rgb + 3 * (y * W + x);
            p[0] = (uint8_t)(x * 4 + k * 9);
            p[1] = (uint8_t)(y * 5 + k * 3);
            p[2] = (uint8_t)((x + y + k) * 7);
        }
}

static p3d_video_opts opts(void) {
    p3d_video_opts o = p3d_video_opts_default();
    o.encoder = "mpeg4";
    o.fps = 25;
    return o;
}

static int same_file(const char *a, const char *b) {
    uint8_t *x = NULL, *y = NULL;
    size_t nx = 0, ny = 0;
    int same = p3d_file_read(a, 1 << 26, &x, &nx) == P3D_OK && p3d_file_read(b, 1 << 26, &y, &ny) == P3D_OK && nx == ny &&
               nx > 0 && !memcmp(x, y, nx);
    free(x);
    free(y);
    return same;
}

/* Queues a video of frames 0..N-1 into path, taking `at` slots at a time (p3d_video_queue_frames) and
 * filling them last first, as parallel renderers may finish them in any order. */
static void queue_video(p3d_video_queue *q, const char *path, const p3d_video_opts *o, int32_t at) {
    CHECK_OK(p3d_video_queue_open(q, path, o));
    for (int32_t k = 0; k < N; k += at) {
        const int32_t n = k + at <= N ? at : N - k;
        uint8_t *slots[3] = {NULL, NULL, NULL};
        CHECK_OK(p3d_video_queue_frames(q, n, slots));
        if (!slots[0]) return;
        for (int32_t i = n - 1; i >= 0; i--) frame_of(k + i, slots[i]);
        for (int32_t i = 0; i < n; i++) CHECK_OK(p3d_video_queue_push(q));
    }
    CHECK_OK(p3d_video_queue_close(q));
}

static void test_queue(void) {
    if (!p3d_video_available() || !p3d_video_has_encoder("mpeg4")) {
        SKIP("FFmpeg with the mpeg4 encoder not built in");
        return;
    }
    char direct[512], queued[512], second[512], missing[512], aborted[512];
    p3d_test_tmp_path("vq_direct.mp4", direct, sizeof direct);
    p3d_test_tmp_path("vq_queued.mp4", queued, sizeof queued);
    p3d_test_tmp_path("vq_second.mp4", second, sizeof second);
    p3d_test_tmp_path("vq_no_such_dir/x.mp4", missing, sizeof missing);
    p3d_test_tmp_path("vq_aborted.mp4", aborted, sizeof aborted);
    const p3d_video_opts o = opts();
    static uint8_t rgb[W * H * 3];

    p3d_video_writer *v = NULL;
    CHECK_OK(p3d_video_open(direct, W, H, &o, &v));
    for (int32_t k = 0; k < N; k++) {
        frame_of(k, rgb);
        CHECK_OK(p3d_video_write_rgb(v, rgb));
    }
    CHECK_OK(p3d_video_close(v));

    p3d_video_queue *q = NULL;
    CHECK_OK(p3d_video_queue_init(&q, W, H, 3)); /* fewer slots than frames: the producer waits */
    if (!q) return;
    /* two videos queued back to back, one wait for both: one slot at a time, then three (all of them) */
    queue_video(q, queued, &o, 1);
    queue_video(q, second, &o, 3);
    CHECK_OK(p3d_video_queue_wait(q));
    CHECK_MSG(same_file(direct, queued), "queued video differs from the direct one");
    CHECK_MSG(same_file(direct, second), "second queued video differs from the direct one");

    /* a failed open on the encoder thread: the producer hears of it, with the path */
    CHECK_OK(p3d_video_queue_open(q, missing, &o));
    p3d_status st = P3D_OK;
    for (int32_t k = 0; k < 4 * N && st == P3D_OK; k++) {
        uint8_t *slot = NULL;
        st = p3d_video_queue_frame(q, &slot);
        if (st == P3D_OK) {
            frame_of(k, slot);
            st = p3d_video_queue_push(q);
        }
    }
    (void)st; /* the producer may or may not have seen it yet; the wait returns it either way */
    CHECK(p3d_video_queue_wait(q) == P3D_ERR_IO);
    CHECK_MSG(strstr(p3d_last_error(), "vq_no_such_dir") != NULL, "error: %s", p3d_last_error());
    CHECK_OK(p3d_video_queue_wait(q)); /* cleared by the wait that returned it */
    CHECK(access(missing, F_OK) != 0);

    /* an abort in the middle of a video leaves no file; the queue works afterwards */
    CHECK_OK(p3d_video_queue_open(q, aborted, &o));
    for (int32_t k = 0; k < N / 2; k++) {
        uint8_t *slot = NULL;
        CHECK_OK(p3d_video_queue_frame(q, &slot));
        if (!slot) break;
        frame_of(k, slot);
        CHECK_OK(p3d_video_queue_push(q));
    }
    p3d_video_queue_abort(q);
    CHECK_OK(p3d_video_queue_wait(q));
    CHECK(access(aborted, F_OK) != 0);
    unlink(queued);
    queue_video(q, queued, &o, 2);
    CHECK_OK(p3d_video_queue_wait(q));
    CHECK(same_file(direct, queued));
    p3d_video_queue_free(q);
    unlink(direct), unlink(queued), unlink(second);
}

/* Two coloured quads at different depths, seen from three cameras by p3d_video_renderer_count
 * renderers at once: each frame equals the one p3d_render_frame gives alone. */
static void test_renderers(void) {
    p3d_device dev = {P3D_DEVICE_CPU, 0};
    p3d_ctx *ctx = NULL;
    CHECK_OK(p3d_ctx_init(&ctx, dev));
    if (!ctx) return;
    p3d_mesh m;
    memset(&m, 0, sizeof m);
    CHECK_OK(p3d_mesh_alloc(&m, 8, 4));
    m.width = W;
    m.height = H;
    m.hfov = 1.0f;
    m.vfov = 0.8f;
    for (int32_t q = 0; q < 2; q++)
        for (int32_t k = 0; k < 4; k++) {
            const int32_t i = 4 * q + k;
            const float z = q ? 3.0f : 2.0f, half = q ? 1.2f : 0.4f;
            m.xyz[3 * i] = (k & 1 ? half : -half) + (q ? 0.0f : 0.1f);
            m.xyz[3 * i + 1] = k & 2 ? half : -half;
            m.xyz[3 * i + 2] = z;
            for (int32_t c = 0; c < 3; c++) m.rgba[4 * i + c] = (uint8_t)(40 * q + 70 * c + 30 * k);
            m.rgba[4 * i + 3] = 1;
        }
    const int32_t f[4][3] = {{0, 1, 2}, {1, 3, 2}, {4, 5, 6}, {5, 7, 6}};
    memcpy(m.faces, f, sizeof f);
    const p3d_render_opts ro = {W, H, P3D_VIDEO_SSAA, {128, 128, 128}};
    p3d_video_renderers vr;
    memset(&vr, 0, sizeof vr);
    vr.n_rr = p3d_video_renderer_count(ctx);
    CHECK(vr.n_rr >= 1 && vr.n_rr <= P3D_VIDEO_MAX_RENDERERS);
    for (int32_t i = 0; i < vr.n_rr; i++) CHECK_OK(p3d_renderer_init(ctx, &m, &ro, &vr.rr[i]));
    uint8_t *got = (uint8_t *)calloc((size_t)3 * P3D_VIDEO_MAX_RENDERERS * W * H, 1);
    uint8_t *want = (uint8_t *)calloc((size_t)3 * W * H, 1);
    uint8_t *rgb[P3D_VIDEO_MAX_RENDERERS];
    for (int32_t i = 0; i < P3D_VIDEO_MAX_RENDERERS; i++) rgb[i] = got + (size_t)i * 3 * W * H;
    for (int32_t start = 0; start < 3; start += vr.n_rr) {
        for (int32_t k = start; k < 3 && k < start + vr.n_rr; k++) {
            p3d_view v = p3d_view_of_mesh(&m, W, H);
            v.pos[0] = 0.15f * (float)(k - 1);
            vr.views[vr.n_views++] = v;
        }
        const int32_t n = vr.n_views;
        p3d_view views[P3D_VIDEO_MAX_RENDERERS];
        memcpy(views, vr.views, sizeof views);
        CHECK_OK(p3d_video_renderers_render(&vr, rgb));
        CHECK(vr.n_views == 0);
        for (int32_t i = 0; i < n; i++) {
            CHECK_OK(p3d_render_frame(vr.rr[0], &views[i], want));
            CHECK_MSG(memcmp(want, rgb[i], (size_t)3 * W * H) == 0, "frame %d of the renderers differs", (int)(start + i));
            int64_t bg = 0;
            for (int32_t j = 0; j < W * H; j++) bg += rgb[i][3 * j] == 128 && rgb[i][3 * j + 1] == 128;
            CHECK_MSG(bg < W * H / 2, "frame %d shows mostly background (%lld pixels)", (int)(start + i), (long long)bg);
        }
    }
    free(got);
    free(want);
    for (int32_t i = 0; i < vr.n_rr; i++) p3d_renderer_free(vr.rr[i]);
    p3d_mesh_free(&m);
    p3d_ctx_free(ctx);
}

int main(void) {
    RUN(test_queue);
    RUN(test_renderers);
    return p3d_test_finish();
}
