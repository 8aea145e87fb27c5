/* test_video.c - MP4 writing through FFmpeg's libraries, read back with libavformat/libavcodec:
 * frame count, size, frame rate, codec, yuv420p, faststart (moov before mdat), pixel content; the
 * refusals leave no file behind; and the videos `photo3d-gpu render` writes (exactly 240 frames per
 * preset at 40 fps, the reference wrote 241: quirk 36). SKIP when built without FFmpeg. */
#include <dirent.h>
#include <sys/stat.h>

#include "p3d_test.h"

#include "mesh/mesh_file.h"
#include "io/video.h"

/* A moving colour gradient, frame k. */
static void make_frame(uint8_t *rgb, int w, int h, int k) {
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t *p = rgb + 3 * (y * w + x);
            p[0] = (uint8_t)(x * 255 / (w - 1));
            p[1] = (uint8_t)(y * 255 / (h - 1));
            p[2] = (uint8_t)((x + y + 4 * k) & 255);
        }
}

static int files_in(const char *dir) {
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));) n += e->d_name[0] != '.';
    if (d) closedir(d);
    return n;
}

static void test_write_and_read_back(void) {
    const int w = 96, h = 64, n = 12;
    char path[512];
    p3d_test_tmp_path("clip.mp4", path, sizeof path);
    p3d_video_opts o = p3d_video_opts_default();
    p3d_video_writer *v = NULL;
    uint8_t *rgb = (uint8_t *)malloc((size_t)w * h * 3);
    CHECK_OK(p3d_video_open(path, w, h, &o, &v));
    for (int k = 0; v && k < n; k++) {
        make_frame(rgb, w, h, k);
        CHECK_OK(p3d_video_write_rgb(v, rgb));
    }
    if (v) CHECK_OK(p3d_video_close(v));
    p3d_video_info info;
    CHECK_OK(p3d_video_probe(path, &info));
    CHECK_MSG(info.frames == n, "%lld frames decoded, %d written", (long long)info.frames, n);
    CHECK(info.width == w && info.height == h);
    CHECK_NEAR(info.fps, 40.0, 1e-9);
    CHECK(strcmp(info.codec, "h264") == 0);
    CHECK(strcmp(info.pix_fmt, "yuv420p") == 0);
    CHECK(info.moov_first == 1);
    /* content: frame 5 decodes close to what was written (CRF 23 on a smooth gradient) */
    uint8_t *back = NULL;
    int32_t bw = 0, bh = 0;
    CHECK_OK(p3d_video_read_frame(path, 5, &back, &bw, &bh));
    if (back) {
        make_frame(rgb, w, h, 5);
        double se = 0;
        for (int i = 0; i < w * h * 3; i++) se += (double)(back[i] - rgb[i]) * (back[i] - rgb[i]);
        const double psnr = 10 * log10(255.0 * 255.0 / (se / (w * h * 3) + 1e-12));
        CHECK_MSG(psnr > 30, "frame 5 read back at %.1f dB", psnr);
    }
    free(back);
    CHECK_FAILS(p3d_video_read_frame(path, 12, &back, &bw, &bh), P3D_ERR_INVALID_ARG, "no frame 12 (12 frames)");

    /* a fractional rate survives */
    p3d_test_tmp_path("ntsc.mp4", path, sizeof path);
    o.fps = 30000.0 / 1001.0;
    CHECK_OK(p3d_video_open(path, w, h, &o, &v));
    for (int k = 0; v && k < 3; k++) CHECK_OK(p3d_video_write_rgb(v, rgb));
    if (v) CHECK_OK(p3d_video_close(v));
    CHECK_OK(p3d_video_probe(path, &info));
    CHECK(info.frames == 3);
    CHECK_NEAR(info.fps, 30000.0 / 1001.0, 1e-6);
    free(rgb);
}

static void test_refusals(void) {
    char dir[512], path[600];
    p3d_test_tmp_path("refused", dir, sizeof dir);
    mkdir(dir, 0755);
    snprintf(path, sizeof path, "%s/x.mp4", dir);
    p3d_video_opts o = p3d_video_opts_default();
    p3d_video_writer *v = NULL;
    CHECK_FAILS(p3d_video_open(path, 65, 64, &o, &v), P3D_ERR_INVALID_ARG, "need even sizes");
    o.crf = 60;
    CHECK_FAILS(p3d_video_open(path, 64, 64, &o, &v), P3D_ERR_INVALID_ARG, "CRF 60");
    o.crf = 23;
    o.encoder = "no_such_encoder";
    CHECK_FAILS(p3d_video_open(path, 64, 64, &o, &v), P3D_ERR_UNSUPPORTED, "no no_such_encoder encoder");
    o.encoder = "aac";
    CHECK_FAILS(p3d_video_open(path, 64, 64, &o, &v), P3D_ERR_INVALID_ARG, "not a video encoder");
    /* an abandoned video leaves nothing */
    o.encoder = NULL;
    CHECK_OK(p3d_video_open(path, 64, 64, &o, &v));
    p3d_video_abort(v);
    CHECK(files_in(dir) == 0);
    CHECK_FAILS(p3d_video_open("/nonexistent/dir/x.mp4", 64, 64, &o, &v), P3D_ERR_IO, "/nonexistent/dir/x.mp4");
    p3d_video_info info;
    char junk[512];
    p3d_test_tmp_file("junk.mp4", "not a video at all", 18, junk, sizeof junk);
    p3d_clear_error();
    CHECK(p3d_video_probe(junk, &info) != P3D_OK && strstr(p3d_last_error(), "junk.mp4"));
}

/* A 64x48 grid mesh (fx = 64) written as binary PLY; its path in buf. */
static const char *grid_mesh(char *buf, size_t cap) {
    const int w = 64, h = 48;
    p3d_mesh m;
    CHECK_OK(p3d_mesh_alloc(&m, w * h, 2 * (w - 1) * (h - 1)));
    m.width = w;
    m.height = h;
    m.hfov = 2.0f * atanf(0.5f);
    m.vfov = 2.0f * atanf(0.5f * h / w);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            const int i = y * w + x;
            const float z = (x > 20 && x < 44 && y > 14 && y < 34) ? 1.5f : 3.0f;
            m.xyz[3 * i] = z * (x + 0.5f - w / 2) / 64.0f;
            m.xyz[3 * i + 1] = z * (y + 0.5f - h / 2) / 64.0f;
            m.xyz[3 * i + 2] = z;
            m.rgba[4 * i] = (uint8_t)(4 * x);
            m.rgba[4 * i + 1] = (uint8_t)(5 * y);
            m.rgba[4 * i + 2] = 90;
            m.rgba[4 * i + 3] = 1;
        }
    int64_t f = 0;
    for (int y = 0; y + 1 < h; y++)
        for (int x = 0; x + 1 < w; x++) {
            const int a = y * w + x;
            const int32_t t[6] = {a, a + 1, a + w, a + 1, a + w + 1, a + w};
            memcpy(m.faces + 3 * f, t, sizeof t);
            f += 2;
        }
    p3d_test_tmp_path("grid.ply", buf, cap);
    CHECK_OK(p3d_mesh_write(&m, buf, P3D_MESH_PLY_BINARY));
    p3d_mesh_free(&m);
    return buf;
}

static void test_render_command_videos(void) {
    const char *bin = getenv("P3D_BIN");
    if (!bin) {
        SKIP("P3D_BIN is not set (run through ctest)");
        return;
    }
    char mesh[512], dir[512], cmd[2048], path[700];
    grid_mesh(mesh, sizeof mesh);
    p3d_test_tmp_path("videos", dir, sizeof dir);
    snprintf(cmd, sizeof cmd, "'%s' -q render '%s' -o '%s' --device cpu --ssaa 1 >/dev/null", bin, mesh, dir);
    CHECK(system(cmd) == 0);
    static const char *const names[4] = {"dolly-zoom-in", "zoom-in", "circle", "swing"};
    for (int k = 0; k < 4; k++) {
        snprintf(path, sizeof path, "%s/grid_%s.mp4", dir, names[k]);
        p3d_video_info info;
        CHECK_OK(p3d_video_probe(path, &info));
        CHECK_MSG(info.frames == 240 && info.width == 64 && info.height == 48 && fabs(info.fps - 40) < 1e-9 &&
                      info.moov_first && strcmp(info.pix_fmt, "yuv420p") == 0,
                  "%s: %lld frames %dx%d at %g fps, %s, moov first %d", path, (long long)info.frames, (int)info.width,
                  (int)info.height, info.fps, info.pix_fmt, (int)info.moov_first);
    }
    snprintf(cmd, sizeof cmd, "'%s' -q render '%s' -o '%s' --device cpu --traj circle --frames 10 --fps 25 --stereo "
             "--size 48x32 --name st >/dev/null", bin, mesh, dir);
    CHECK(system(cmd) == 0);
    snprintf(path, sizeof path, "%s/st_circle.mp4", dir);
    p3d_video_info info;
    CHECK_OK(p3d_video_probe(path, &info));
    CHECK(info.frames == 10 && info.width == 96 && info.height == 32 && fabs(info.fps - 25) < 1e-9);
}

int main(void) {
    if (!p3d_video_available()) {
        SKIP("built without FFmpeg's libraries");
        return 77;
    }
    RUN(test_write_and_read_back);
    RUN(test_refusals);
    RUN(test_render_command_videos);
    return p3d_test_finish();
}
