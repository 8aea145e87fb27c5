/* test_view.c - the viewer's frames against the offline renderer's (the proof of `photo3d-gpu view`):
 * under Xvfb with Mesa, `view MESH --screenshot A.png --pose P` and `render MESH --pose P --ssaa 1`
 * give the same picture (PSNR >= 35 dB) for PLY (binary and ASCII) and GLB files, poses with shifts,
 * look directions and fields of view, other output sizes and crop borders; the provenance colouring
 * paints each label its documented colour; the wireframe shows the background between the edges.
 * The mesh: a single-layer mesh of samples/scene.png + samples/scene_disp.png (ldi_single.h) with
 * vertical bands of provenance labels 1..5. SKIPs without xvfb-run or without the viewer in the build. */
#include "p3d_test.h"

#include <sys/wait.h>

#include "io/depth_io.h"
#include "io/image_io.h"
#include "ldi/ldi_single.h"
#include "mesh/mesh_file.h"

#define MESH_W 240
#define MESH_H 160

/* Runs a shell command line; its exit status (-1 when it did not run). */
static int sh(const char *cmd) {
    const int rc = system(cmd);
    return rc == -1 || !WIFEXITED(rc) ? -1 : WEXITSTATUS(rc);
}

/* The sample photo and disparity at MESH_W x MESH_H (nearest samples) as a single-layer mesh, the
 * label of vertex (x, y) = 1 + 5 x / MESH_W. */
static p3d_status make_mesh(p3d_mesh *out) {
    p3d_image img;
    p3d_depth disp;
    memset(&disp, 0, sizeof disp);
    const p3d_depth_opts o = {P3D_DEPTH_DISPARITY, 2.0f / 65535.0f}; /* 16-bit PNG -> 1/m, samples/README.md */
    P3D_TRY(p3d_image_read("samples/scene.png", 0, &img));
    p3d_status st = p3d_depth_read("samples/scene_disp.png", &o, &disp);
    uint8_t *rgb = (uint8_t *)malloc((size_t)MESH_W * MESH_H * 3);
    float *d = (float *)malloc((size_t)MESH_W * MESH_H * sizeof *d);
    if (st == P3D_OK && (!rgb || !d)) st = p3d_fail(P3D_ERR_OOM, "test_view: out of memory");
    for (int32_t y = 0; st == P3D_OK && y < MESH_H; y++)
        for (int32_t x = 0; x < MESH_W; x++) {
            const int32_t sx = x * img.width / MESH_W, sy = y * img.height / MESH_H;
            const int32_t dx = x * disp.width / MESH_W, dy = y * disp.height / MESH_H;
            memcpy(rgb + 3 * (y * MESH_W + x), img.rgb + 3 * ((int64_t)sy * img.width + sx), 3);
            d[y * MESH_W + x] = disp.value[(int64_t)dy * disp.width + dx];
        }
    const p3d_camera cam = {(float)MESH_W, (float)MESH_W, 0.5f * MESH_W, 0.5f * MESH_H};
    p3d_ldi l;
    memset(&l, 0, sizeof l);
    /* depth = 1 / (0.2 + disparity): at most 5 where the disparity is unknown (0) */
    for (int32_t i = 0; st == P3D_OK && i < MESH_W * MESH_H; i++) d[i] += 0.2f;
    if (st == P3D_OK) st = p3d_ldi_single_layer(rgb, d, MESH_W, MESH_H, &cam, 1.0f, 0.05f, &l);
    if (st == P3D_OK) st = p3d_mesh_from_ldi(&l, 0.05f, out);
    for (int64_t i = 0; st == P3D_OK && i < out->n_vertices; i++) {
        /* vertex i is node i; single layer: the node's pixel column from its image position */
        const float x = out->xyz[3 * i] / out->xyz[3 * i + 2] * cam.fx + cam.cx;
        int32_t band = (int32_t)floorf(x) * 5 / MESH_W;
        band = band < 0 ? 0 : (band > 4 ? 4 : band);
        out->rgba[4 * i + 3] = (uint8_t)(1 + band);
    }
    p3d_ldi_free(&l);
    free(rgb);
    free(d);
    p3d_depth_free(&disp);
    p3d_image_free(&img);
    return st;
}

static double psnr(const p3d_image *a, const p3d_image *b) {
    if (a->width != b->width || a->height != b->height) return -1.0;
    double se = 0;
    const int64_t n = (int64_t)a->width * a->height * 3;
    for (int64_t i = 0; i < n; i++) {
        const double e = (double)a->rgb[i] - (double)b->rgb[i];
        se += e * e;
    }
    return se == 0 ? 99.0 : 10.0 * log10(255.0 * 255.0 / (se / (double)n));
}

static int g_ready; /* the binary, xvfb-run and the viewer are all there */
static char g_bin[512], g_dir[256], g_xvfb[128];

static void setup(void) {
    const char *bin = getenv("P3D_BIN");
    if (!bin) {
        SKIP("P3D_BIN is not set (run through ctest)");
        return;
    }
#ifndef P3D_HAVE_VIEWER
    SKIP("built without GLFW and libepoxy: no viewer");
    return;
#endif
    if (sh("command -v xvfb-run >/dev/null 2>&1") != 0) {
        SKIP("xvfb-run not installed (bash tools/setup.sh --test installs xvfb)");
        return;
    }
    snprintf(g_bin, sizeof g_bin, "%s", bin);
    snprintf(g_dir, sizeof g_dir, "%s", p3d_test_tmpdir());
    /* -n: a first display number of its own, so parallel tests do not race for the same free one */
    snprintf(g_xvfb, sizeof g_xvfb, "xvfb-run -a -n 140 -s '-screen 0 1280x1024x24'");
    p3d_mesh m;
    memset(&m, 0, sizeof m);
    CHECK_OK(make_mesh(&m));
    char path[700];
    snprintf(path, sizeof path, "%s/scene.ply", g_dir);
    CHECK_OK(p3d_mesh_write(&m, path, P3D_MESH_PLY_BINARY));
    snprintf(path, sizeof path, "%s/scene.glb", g_dir);
    CHECK_OK(p3d_mesh_write(&m, path, P3D_MESH_GLB));
    snprintf(path, sizeof path, "%s/ascii.ply", g_dir);
    CHECK_OK(p3d_mesh_write(&m, path, P3D_MESH_PLY_ASCII));
    printf("mesh: %lld vertices, %lld faces\n", (long long)m.n_vertices, (long long)m.n_faces);
    p3d_mesh_free(&m);
    g_ready = p3d_t_case_failed == 0;
}

typedef struct shot_case {
    const char *mesh, *pose, *extra; /* extra: --size / --crop for both commands */
} shot_case;

static void test_screenshot_matches_render(void) {
    if (!g_ready) {
        SKIP("no viewer set-up");
        return;
    }
    const shot_case cases[] = {
        {"scene.ply", "0,0,0", ""},
        {"scene.ply", "0.015,-0.015,0.05", ""},
        {"scene.glb", "-0.03,0.01,-0.05", ""},
        {"ascii.ply", "0.02,0,0.1,-0.1,0.05,1", ""},
        {"scene.glb", "0,0.01,0.05,0,0,1,70", ""},
        {"scene.ply", "0.01,0.01,0", "--size 200x150"},
        {"scene.ply", "-0.02,0,0.08", "--crop 0,0,0,0"},
        {"scene.glb", "0.01,-0.01,0.02,0.05,0,1", "--size 360x160 --crop 0.1,0.05,0.1,0.05"},
    };
    const int n = (int)(sizeof cases / sizeof cases[0]);
    /* every screenshot in one Xvfb session; every render frame beside it */
    char script[16384] = "set -e\n", line[2048];
    for (int k = 0; k < n; k++) {
        snprintf(line, sizeof line, "'%s' view '%s/%s' --screenshot '%s/view%d.png' --pose '%s' %s\n", g_bin, g_dir,
                 cases[k].mesh, g_dir, k, cases[k].pose, cases[k].extra);
        strncat(script, line, sizeof script - strlen(script) - 1);
    }
    char path[700], cmd[20000];
    p3d_test_tmp_file("shots.sh", script, strlen(script), path, sizeof path);
    snprintf(cmd, sizeof cmd, "%s sh '%s' >'%s/shots.log' 2>&1", g_xvfb, path, g_dir);
    const int rc = sh(cmd);
    CHECK_MSG(rc == 0, "the screenshots under Xvfb failed (exit %d): see %s/shots.log", rc, g_dir);
    if (rc != 0) {
        snprintf(cmd, sizeof cmd, "cat '%s/shots.log'", g_dir);
        sh(cmd);
        return;
    }
    double worst = 99.0;
    for (int k = 0; k < n; k++) {
        snprintf(cmd, sizeof cmd, "'%s' render '%s/%s' -o '%s/r%d' --pose '%s' --ssaa 1 --device cpu %s >/dev/null",
                 g_bin, g_dir, cases[k].mesh, g_dir, k, cases[k].pose, cases[k].extra);
        CHECK_MSG(sh(cmd) == 0, "render of case %d failed", k);
        char stem[64];
        snprintf(stem, sizeof stem, "%s", cases[k].mesh);
        *strrchr(stem, '.') = '\0';
        char a_path[800], b_path[800];
        snprintf(a_path, sizeof a_path, "%s/view%d.png", g_dir, k);
        snprintf(b_path, sizeof b_path, "%s/r%d/%s_pose0.png", g_dir, k, stem);
        p3d_image a, b;
        memset(&a, 0, sizeof a);
        memset(&b, 0, sizeof b);
        CHECK_OK(p3d_image_read(a_path, 0, &a));
        CHECK_OK(p3d_image_read(b_path, 0, &b));
        const double p = psnr(&a, &b);
        printf("  %-9s pose %-26s %-40s %dx%d  PSNR %.2f dB\n", cases[k].mesh, cases[k].pose, cases[k].extra,
               (int)a.width, (int)a.height, p);
        CHECK_MSG(p >= 35.0, "case %d (%s, pose %s %s): PSNR %.2f dB < 35", k, cases[k].mesh, cases[k].pose,
                  cases[k].extra, p);
        worst = p < worst ? p : worst;
        p3d_image_free(&a);
        p3d_image_free(&b);
    }
    printf("lowest PSNR %.2f dB over %d poses\n", worst, n);
}

/* The label colours of view_gl.c's shader, for the check below. */
static const float k_label_rgb[6][3] = {{1.0f, 1.0f, 1.0f},   {0.25f, 0.85f, 0.3f}, {1.0f, 0.55f, 0.1f},
                                        {0.95f, 0.2f, 0.25f}, {0.75f, 0.3f, 1.0f},  {0.2f, 0.5f, 1.0f}};

/* At the mesh's own camera, size and no crop every pixel centre is a vertex (single layer), so each
 * pixel shows its vertex's colour: the photo's, or its label's shaded by the photo's luminance. */
static void test_provenance_and_wireframe(void) {
    if (!g_ready) {
        SKIP("no viewer set-up");
        return;
    }
    char cmd[8192];
    snprintf(cmd, sizeof cmd,
             "%s sh -c \"'%s' view '%s/scene.ply' --screenshot '%s/plain.png' --crop 0,0,0,0 && "
             "'%s' view '%s/scene.ply' --screenshot '%s/prov.png' --crop 0,0,0,0 --provenance && "
             "'%s' view '%s/scene.ply' --screenshot '%s/wire.png' --crop 0,0,0,0 --size 960x640 --wireframe && "
             "'%s' view '%s/scene.ply' --screenshot '%s/fill.png' --crop 0,0,0,0 --size 960x640\" >'%s/prov.log' 2>&1",
             g_xvfb, g_bin, g_dir, g_dir, g_bin, g_dir, g_dir, g_bin, g_dir, g_dir, g_bin, g_dir, g_dir, g_dir);
    CHECK_MSG(sh(cmd) == 0, "screenshots failed: see %s/prov.log", g_dir);
    char path[700];
    p3d_image plain, prov, wire, fill;
    memset(&plain, 0, sizeof plain);
    memset(&prov, 0, sizeof prov);
    memset(&wire, 0, sizeof wire);
    memset(&fill, 0, sizeof fill);
    snprintf(path, sizeof path, "%s/plain.png", g_dir);
    CHECK_OK(p3d_image_read(path, 0, &plain));
    snprintf(path, sizeof path, "%s/prov.png", g_dir);
    CHECK_OK(p3d_image_read(path, 0, &prov));
    snprintf(path, sizeof path, "%s/wire.png", g_dir);
    CHECK_OK(p3d_image_read(path, 0, &wire));
    snprintf(path, sizeof path, "%s/fill.png", g_dir);
    CHECK_OK(p3d_image_read(path, 0, &fill));
    if (!plain.rgb || !prov.rgb || !wire.rgb || !fill.rgb) return;
    CHECK(prov.width == MESH_W && prov.height == MESH_H);
    int64_t bad = 0, n = 0;
    int32_t seen[6] = {0};
    for (int32_t y = 0; y < MESH_H; y++)
        for (int32_t x = 0; x < MESH_W; x++) {
            const uint8_t *c = plain.rgb + 3 * (y * MESH_W + x), *q = prov.rgb + 3 * (y * MESH_W + x);
            const int32_t label = 1 + x * 5 / MESH_W;
            if (c[0] == 128 && c[1] == 128 && c[2] == 128) continue; /* a hole (torn all round) */
            const float luma = (0.299f * c[0] + 0.587f * c[1] + 0.114f * c[2]) / 255.0f;
            for (int k = 0; k < 3; k++) {
                const float want = 255.0f * k_label_rgb[label][k] * (0.35f + 0.65f * luma);
                if (fabsf((float)q[k] - want) > 3.0f) {
                    if (bad < 5) printf("  (%d, %d) label %d: %d, want %.1f\n", (int)x, (int)y, (int)label, q[k], want);
                    bad++;
                }
            }
            seen[label]++;
            n++;
        }
    CHECK_MSG(bad == 0, "%lld of %lld provenance samples off their label's colour", (long long)bad, (long long)(3 * n));
    for (int k = 1; k <= 5; k++) CHECK(seen[k] > 0);
    /* the wireframe at 4x shows the grey background between the edges; the filled mesh covers it */
    int64_t grey_wire = 0, grey_fill = 0;
    const int64_t px = (int64_t)wire.width * wire.height;
    for (int64_t i = 0; i < px; i++) {
        grey_wire += wire.rgb[3 * i] == 128 && wire.rgb[3 * i + 1] == 128 && wire.rgb[3 * i + 2] == 128;
        grey_fill += fill.rgb[3 * i] == 128 && fill.rgb[3 * i + 1] == 128 && fill.rgb[3 * i + 2] == 128;
    }
    printf("background pixels: wireframe %.1f %%, filled %.2f %%\n", 100.0 * grey_wire / px, 100.0 * grey_fill / px);
    CHECK(grey_wire > px / 4);
    CHECK(grey_wire > grey_fill + px / 4);
    p3d_image_free(&plain);
    p3d_image_free(&prov);
    p3d_image_free(&wire);
    p3d_image_free(&fill);
}

int main(void) {
    RUN(setup);
    RUN(test_screenshot_matches_render);
    RUN(test_provenance_and_wireframe);
    return p3d_test_finish();
}
