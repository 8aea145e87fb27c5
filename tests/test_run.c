/* test_run.c - `photo3d-gpu run` end to end (p3d_cmd_run called in process): on the project's sample,
 * on moon with moon.npy, and on columns with the Tiefenrausch model when it is installed. Every output
 * must exist, decode, and have the expected size and frame count. Small sizes (longer side 256, 8
 * frames per video) keep it short; the bench runs the reference's sizes. */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "io/depth_io.h"
#include "core/file_io.h"
#include "mesh/mesh_file.h"
#include "core/models.h"
#include "p3d_test.h"
#include "io/video.h"

static const char *const k_videos[4] = {"dolly-zoom-in", "zoom-in", "circle", "swing"};

/* Runs the command; argv[0] = "run". */
static int run_cmd(int argc, const char **argv) { return p3d_cmd_run(argc, (char **)argv); }

/* Checks the outputs of one photo in dir: depth map, mesh (PLY + GLB), four videos of `frames`. */
static void check_outputs(const char *dir, const char *name, int32_t w, int32_t h, int32_t frames) {
    char path[2048];
    p3d_depth d;
    snprintf(path, sizeof path, "%s/depth/%s.npy", dir, name);
    CHECK_OK(p3d_depth_read(path, NULL, &d));
    p3d_depth_free(&d);
    snprintf(path, sizeof path, "%s/depth/%s.png", dir, name);
    CHECK_OK(p3d_depth_read(path, NULL, &d));
    p3d_depth_free(&d);
    static const char *const ext[2] = {"ply", "glb"};
    for (int32_t k = 0; k < 2; k++) {
        p3d_mesh m;
        memset(&m, 0, sizeof m);
        snprintf(path, sizeof path, "%s/mesh/%s.%s", dir, name, ext[k]);
        CHECK_OK(p3d_mesh_read(path, &m));
        CHECK_MSG(m.width == w && m.height == h, "%s: mesh for %dx%d, wanted %dx%d", path, (int)m.width,
                  (int)m.height, (int)w, (int)h);
        /* The PLY holds the dense mesh (a vertex per LDI node), the GLB the compact textured one. */
        if (k == 0) CHECK(m.n_vertices > (int64_t)w * h && m.n_faces > 0 && !m.uv);
        else CHECK(m.n_vertices > 0 && m.n_faces > 0 && m.uv && m.tex && m.tex_w > 0);
        p3d_mesh_free(&m);
    }
    for (int32_t k = 0; k < 4; k++) {
        p3d_video_info vi;
        snprintf(path, sizeof path, "%s/video/%s_%s.mp4", dir, name, k_videos[k]);
        CHECK_OK(p3d_video_probe(path, &vi));
        CHECK_MSG(vi.frames == frames && vi.width == (w & ~1) && vi.height == (h & ~1) && vi.fps > 39.99 && vi.fps < 40.01,
                  "%s: %lld frames %dx%d at %g fps, wanted %d frames %dx%d at 40", path, (long long)vi.frames,
                  (int)vi.width, (int)vi.height, vi.fps, (int)frames, (int)(w & ~1), (int)(h & ~1));
        CHECK(strcmp(vi.codec, "h264") == 0 && strcmp(vi.pix_fmt, "yuv420p") == 0 && vi.moov_first);
    }
}

static void test_sample(void) {
    char img[2048], disp[2048], out[2048], json[2100];
    const char *src = getenv("P3D_SOURCE_DIR");
    snprintf(img, sizeof img, "%s/samples/scene.png", src && src[0] ? src : ".");
    snprintf(disp, sizeof disp, "%s/samples/scene_disp.png", src && src[0] ? src : ".");
    p3d_test_tmp_path("sample", out, sizeof out);
    snprintf(json, sizeof json, "%s/report.json", out);
    const char *argv[] = {"run", img, "--depth", disp, "-o", out, "--set", "longer_side_len=256", "--frames", "8",
                          "--device", "cpu", "--fill", "classic", "--glb", "-q", "--json", json};
    CHECK(run_cmd((int)(sizeof argv / sizeof argv[0]), argv) == 0);
    check_outputs(out, "scene", 256, 179, 8); /* 640x448 -> 256x179 (int(448 * 0.4)) */
    uint8_t *text = NULL;
    size_t len = 0;
    CHECK_OK(p3d_file_read(json, 1 << 20, &text, &len));
    CHECK(text && strstr((const char *)text, "\"status\": \"done\"") && strstr((const char *)text, "\"videos\": 4"));
    free(text);
}

static void test_moon(void) {
    char img[1024], dep[1024], out[2048];
    if (!p3d_test_fixture("moon/moon.jpg", img, sizeof img) || !p3d_test_fixture("moon/moon.npy", dep, sizeof dep)) return;
    p3d_test_tmp_path("moon", out, sizeof out);
    const char *argv[] = {"run", img, "--depth", dep, "-o", out, "--set", "longer_side_len=256", "--frames", "8",
                          "--device", "cpu", "--fill", "classic", "--glb", "-q"};
    CHECK(run_cmd((int)(sizeof argv / sizeof argv[0]), argv) == 0);
    check_outputs(out, "moon", 256, 256, 8);
}

static void test_columns_tiefenrausch(void) {
    char img[1024], model[1100], out[2048];
    if (!p3d_test_fixture("columns/columns.jpg", img, sizeof img)) return;
    const p3d_model_desc *d = p3d_model_by_name("tiefenrausch");
    if (!d || !p3d_model_find(NULL, d, model, sizeof model)) {
        SKIP("columns end to end: the Tiefenrausch model is not installed (tools/fetch_tiefenrausch.sh)");
        return;
    }
    p3d_test_tmp_path("columns", out, sizeof out);
    const char *argv[] = {"run", img, "-o", out, "--set", "longer_side_len=256", "--frames", "8", "--device", "cpu",
                          "--fill", "classic", "--glb", "-q"};
    CHECK(run_cmd((int)(sizeof argv / sizeof argv[0]), argv) == 0);
    check_outputs(out, "columns", 192, 256, 8); /* 768x1024 -> 192x256 */
}

int main(void) {
    if (!p3d_video_available()) {
        printf("SKIP: built without FFmpeg\n");
        return 77;
    }
    RUN(test_sample);
    RUN(test_moon);
    RUN(test_columns_tiefenrausch);
    return p3d_test_finish();
}
