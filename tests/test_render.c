/* test_render.c - the rasterizer (render.h): coverage against the analytic count of pixel centres,
 * watertight shared edges, perspective-correct interpolation against ray-plane intersection, the depth
 * test (order independence, layers 1e-4 apart), independence of the thread count, the CUDA twin
 * against the CPU (SKIP without a GPU), refusals of bad meshes and options; and two proofs on real
 * data (../shared/fixtures/middlebury-cones): a single-layer mesh of im2 + its ground-truth disparity
 * seen from its own camera reproduces im2 inside the crop border, and seen from the right camera it
 * predicts the real right view im6 better than a plain shift of im2 does. */
#include "p3d_test.h"

#ifdef P3D_HAVE_OPENMP
#include <omp.h>
#endif

#include "io/image_io.h"
#include "ldi/ldi_single.h"
#include "nn_oracle.h"
#include "render/render.h"
#include "render/render_math.h"
#include "render/trajectory.h"

static p3d_ctx *g_cpu, *g_gpu;
static char g_why[600];

static p3d_mesh new_mesh(int32_t w, int32_t h, int64_t nv, int64_t nf) {
    p3d_mesh m;
    memset(&m, 0, sizeof m);
    CHECK_OK(p3d_mesh_alloc(&m, nv, nf));
    m.width = w;
    m.height = h;
    m.hfov = 2.0f * atanf(0.5f); /* fx = W, the reference's focal length for a landscape image */
    m.vfov = 2.0f * atanf(0.5f * (float)h / (float)w);
    return m;
}

/* Sets vertex i at image position (u, v) (pixel units of the mesh camera) and depth z. */
static void put_vertex(p3d_mesh *m, int64_t i, double u, double v, double z, uint8_t r, uint8_t g, uint8_t b) {
    const p3d_view c = p3d_view_of_mesh(m, m->width, m->height);
    m->xyz[3 * i + 0] = (float)((u - c.cx) / c.fx * z);
    m->xyz[3 * i + 1] = (float)((v - c.cy) / c.fy * z);
    m->xyz[3 * i + 2] = (float)z;
    m->rgba[4 * i + 0] = r;
    m->rgba[4 * i + 1] = g;
    m->rgba[4 * i + 2] = b;
    m->rgba[4 * i + 3] = 1;
}

static void put_face(p3d_mesh *m, int64_t f, int32_t a, int32_t b, int32_t c) {
    m->faces[3 * f + 0] = a;
    m->faces[3 * f + 1] = b;
    m->faces[3 * f + 2] = c;
}

/* Renders m at its own camera (size w x h, factor s) into a malloc'ed frame. */
static uint8_t *render_at(p3d_ctx *ctx, const p3d_mesh *m, const p3d_view *v, int32_t w, int32_t h, int32_t s) {
    uint8_t *rgb = (uint8_t *)calloc((size_t)w * h * 3, 1);
    p3d_render_opts o = {w, h, s, {0, 0, 0}};
    p3d_renderer *r = NULL;
    CHECK_OK(p3d_renderer_init(ctx, m, &o, &r));
    if (r) CHECK_OK(p3d_render_frame(r, v, rgb));
    p3d_renderer_free(r);
    return rgb;
}

/* Twice the signed area of (a, b, p). */
static double orient(const double *a, const double *b, double px, double py) {
    return (b[0] - a[0]) * (py - a[1]) - (b[1] - a[1]) * (px - a[0]);
}

static void test_single_triangle_coverage(void) {
    p3d_mesh m = new_mesh(64, 48, 3, 1);
    const double t[3][2] = {{5.3, 4.1}, {57.7, 19.6}, {21.2, 44.9}};
    for (int k = 0; k < 3; k++) put_vertex(&m, k, t[k][0], t[k][1], 2.0 + k, 255, 255, 255);
    put_face(&m, 0, 0, 1, 2);
    const p3d_view v = p3d_view_of_mesh(&m, 64, 48);
    uint8_t *rgb = render_at(g_cpu, &m, &v, 64, 48, 1);
    int64_t covered = 0, expected = 0, mismatch = 0;
    for (int y = 0; y < 48; y++)
        for (int x = 0; x < 64; x++) {
            const double px = x + 0.5, py = y + 0.5;
            const double e0 = orient(t[1], t[2], px, py), e1 = orient(t[2], t[0], px, py), e2 = orient(t[0], t[1], px, py);
            const int in = (e0 > 0 && e1 > 0 && e2 > 0) || (e0 < 0 && e1 < 0 && e2 < 0);
            const int got = rgb[3 * (y * 64 + x)] == 255;
            expected += in;
            covered += got;
            mismatch += in != got;
        }
    CHECK_MSG(mismatch == 0, "%lld of %lld pixels disagree with the analytic coverage", (long long)mismatch,
              (long long)expected);
    CHECK(covered > 500);
    /* With SSAA 4 the covered fraction estimates the area: 52.4 x 40.8 / 2 ... exactly |cross| / 2. */
    uint8_t *aa = render_at(g_cpu, &m, &v, 64, 48, 4);
    double sum = 0;
    for (int i = 0; i < 64 * 48; i++) sum += aa[3 * i] / 255.0;
    const double area = fabs(orient(t[0], t[1], t[2][0], t[2][1])) / 2;
    CHECK_NEAR(sum, area, 0.01 * area);
    free(aa);
    free(rgb);
    p3d_mesh_free(&m);
}

/* A 9 x 7 grid of quads (two triangles each, diagonals alternating) at varying depth: every pixel
 * centre inside the grid is covered (no cracks along shared edges), whatever the sub-pixel positions. */
static void test_watertight_grid(void) {
    const int gw = 10, gh = 8;
    p3d_mesh m = new_mesh(80, 60, gw * gh, 2 * (gw - 1) * (gh - 1));
    for (int j = 0; j < gh; j++)
        for (int i = 0; i < gw; i++)
            put_vertex(&m, j * gw + i, 3.37 + i * 8.13 + 0.7 * sin(j * 1.3), 2.91 + j * 7.77 + 0.6 * cos(i * 0.7),
                       1.5 + 0.3 * sin(i + j), 200, 100, 50);
    int64_t f = 0;
    for (int j = 0; j + 1 < gh; j++)
        for (int i = 0; i + 1 < gw; i++) {
            const int a = j * gw + i, b = a + 1, c = a + gw, d = c + 1;
            if ((i + j) % 2) {
                put_face(&m, f++, a, b, d);
                put_face(&m, f++, a, d, c);
            } else {
                put_face(&m, f++, a, b, c);
                put_face(&m, f++, b, d, c);
            }
        }
    const p3d_view v = p3d_view_of_mesh(&m, 80, 60);
    for (int s = 1; s <= 2; s++) {
        uint8_t *rgb = render_at(g_cpu, &m, &v, 80, 60, s);
        int64_t holes = 0;
        for (int y = 14; y < 44; y++)
            for (int x = 14; x < 64; x++) holes += rgb[3 * (y * 80 + x)] != 200;
        CHECK_MSG(holes == 0, "%lld uncovered pixels inside the grid at SSAA %d", (long long)holes, s);
        free(rgb);
    }
    p3d_mesh_free(&m);
}

/* A plane slanted in depth carries a colour that is a linear function of the 3D position; the colour
 * seen through each pixel centre must be that function at the ray's intersection with the plane. */
static void test_perspective_correct(void) {
    const int w = 64, h = 48;
    p3d_mesh m = new_mesh(w, h, 4, 2);
    const double corners[4][3] = {{-8, -6, 1.0}, {72, -6, 1.0}, {-8, 54, 6.0}, {72, 54, 6.0}};
    for (int k = 0; k < 4; k++) put_vertex(&m, k, corners[k][0], corners[k][1], corners[k][2], 0, 0, 0);
    /* red = 255 (z - 1) / 5: linear in 3D */
    for (int k = 0; k < 4; k++) m.rgba[4 * k] = (uint8_t)lrint(255.0 * (corners[k][2] - 1.0) / 5.0);
    put_face(&m, 0, 0, 1, 2);
    put_face(&m, 1, 1, 3, 2);
    const p3d_view v = p3d_view_of_mesh(&m, w, h);
    uint8_t *rgb = render_at(g_cpu, &m, &v, w, h, 1);
    /* The plane through the vertices: z depends on the image row only: z(y) with 1/z linear in v. */
    double maxerr = 0, maxlin = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            const double vv = y + 0.5, a = (vv - -6.0) / 60.0; /* screen fraction between the two rows */
            const double z = 1.0 / ((1 - a) / 1.0 + a / 6.0);
            const double want = 255.0 * (z - 1.0) / 5.0, lin = 255.0 * a;
            const double err = fabs(rgb[3 * (y * w + x)] - want);
            maxerr = err > maxerr ? err : maxerr;
            maxlin = fabs(lin - want) > maxlin ? fabs(lin - want) : maxlin;
        }
    CHECK_MSG(maxerr <= 0.51, "max error %.3f against the perspective-correct value", maxerr);
    CHECK(maxlin > 20); /* screen-linear interpolation would be far off: the test can tell them apart */
    free(rgb);
    p3d_mesh_free(&m);
}

/* Two full-frame quads: colour A at depth za, colour B at zb, listed in either order. */
static uint8_t two_layers(double za, double zb, int b_first) {
    p3d_mesh m = new_mesh(32, 32, 8, 4);
    const double q[4][2] = {{-4, -4}, {36, -4}, {-4, 36}, {36, 36}};
    for (int k = 0; k < 4; k++) {
        put_vertex(&m, k, q[k][0], q[k][1], za, 10, 0, 0);
        put_vertex(&m, 4 + k, q[k][0], q[k][1], zb, 20, 0, 0);
    }
    const int a = b_first ? 4 : 0, b = b_first ? 0 : 4;
    put_face(&m, 0, a + 0, a + 1, a + 2);
    put_face(&m, 1, a + 1, a + 3, a + 2);
    put_face(&m, 2, b + 0, b + 1, b + 2);
    put_face(&m, 3, b + 1, b + 3, b + 2);
    const p3d_view v = p3d_view_of_mesh(&m, 32, 32);
    uint8_t *rgb = render_at(g_cpu, &m, &v, 32, 32, 2);
    uint8_t first = rgb[0];
    for (int i = 0; i < 32 * 32; i++)
        if (rgb[3 * i] != first) first = 0;
    free(rgb);
    p3d_mesh_free(&m);
    return first;
}

static void test_depth_order(void) {
    CHECK(two_layers(2.0, 3.0, 0) == 10);
    CHECK(two_layers(2.0, 3.0, 1) == 10);
    CHECK(two_layers(3.0, 2.0, 0) == 20);
    CHECK(two_layers(3.0, 2.0, 1) == 20);
    /* layers 0.001 apart at depth 10: a 16-bit buffer with near 0.004 cannot separate them (quirk 21) */
    CHECK(two_layers(10.001, 10.0, 0) == 20);
    CHECK(two_layers(10.001, 10.0, 1) == 20);
    /* exact ties go to the lower face index: order decides */
    CHECK(two_layers(5.0, 5.0, 0) == 10);
    CHECK(two_layers(5.0, 5.0, 1) == 20);
}

static int cmp_float_asc(const void *a, const void *b) {
    const float x = *(const float *)a, y = *(const float *)b;
    return x < y ? -1 : x > y;
}

/* A random soup of overlapping triangles. */
static p3d_mesh random_mesh(int32_t w, int32_t h, int64_t nf) {
    p3d_mesh m = new_mesh(w, h, 3 * nf, nf);
    for (int64_t f = 0; f < nf; f++) {
        const double u = (oracle_rand() % 10000) / 10000.0 * w, v = (oracle_rand() % 10000) / 10000.0 * h;
        for (int k = 0; k < 3; k++) {
            const double du = ((oracle_rand() % 2001) - 1000) / 1000.0 * 12, dv = ((oracle_rand() % 2001) - 1000) / 1000.0 * 12;
            put_vertex(&m, 3 * f + k, u + du, v + dv, 1.0 + (oracle_rand() % 1000) / 100.0, (uint8_t)oracle_rand(),
                       (uint8_t)oracle_rand(), (uint8_t)oracle_rand());
        }
        put_face(&m, f, (int32_t)(3 * f), (int32_t)(3 * f + 1), (int32_t)(3 * f + 2));
    }
    return m;
}

/* A view off the mesh camera: moved and turned a little. */
static p3d_view moved_view(const p3d_mesh *m, int32_t w, int32_t h) {
    p3d_view v = p3d_view_of_mesh(m, w, h);
    const float a = 0.05f;
    v.rot[0] = cosf(a);
    v.rot[2] = -sinf(a);
    v.rot[6] = sinf(a);
    v.rot[8] = cosf(a);
    v.pos[0] = 0.08f;
    v.pos[1] = -0.03f;
    v.pos[2] = 0.2f;
    return v;
}

static void test_thread_count_independence(void) {
#ifdef P3D_HAVE_OPENMP
    p3d_mesh m = random_mesh(200, 150, 3000);
    const p3d_view v = moved_view(&m, 200, 150);
    uint8_t *ref = NULL;
    for (int threads = 1; threads <= 3; threads++) {
        omp_set_num_threads(threads);
        p3d_device dev = {P3D_DEVICE_CPU, 0};
        p3d_ctx *ctx = NULL;
        CHECK_OK(p3d_ctx_init(&ctx, dev));
        uint8_t *rgb = render_at(ctx, &m, &v, 200, 150, 3);
        if (!ref) ref = rgb;
        else {
            CHECK_MSG(memcmp(ref, rgb, 200 * 150 * 3) == 0, "frame with %d threads differs from 1 thread", threads);
            free(rgb);
        }
        p3d_ctx_free(ctx);
    }
    free(ref);
    p3d_mesh_free(&m);
#else
    SKIP("built without OpenMP: one thread only");
#endif
}

/* The CPU's frame-wide setup table (meshes of at most P3D_RENDER_SETUP_TABLE_MAX faces) and its
 * per-tile setups (larger meshes) give the same frames: the same soup, once more with degenerate faces
 * appended past the limit (culled: they draw nothing), at every SSAA factor. */
static void test_setup_table_matches_per_tile(void) {
    p3d_mesh m = random_mesh(333, 222, 20000);
    p3d_mesh big = new_mesh(333, 222, m.n_vertices, P3D_RENDER_SETUP_TABLE_MAX + 1);
    memcpy(big.xyz, m.xyz, (size_t)m.n_vertices * 3 * sizeof *m.xyz);
    memcpy(big.rgba, m.rgba, (size_t)m.n_vertices * 4);
    memcpy(big.faces, m.faces, (size_t)m.n_faces * 3 * sizeof *m.faces);
    for (int64_t f = m.n_faces; f < big.n_faces; f++) put_face(&big, f, 7, 7, 7);
    const p3d_view v = moved_view(&m, 333, 222);
    for (int s = 1; s <= P3D_RENDER_MAX_SSAA; s++) {
        uint8_t *a = render_at(g_cpu, &m, &v, 333, 222, s), *b = render_at(g_cpu, &big, &v, 333, 222, s);
        int64_t diff = 0, lit = 0;
        for (int64_t i = 0; i < 333 * 222 * 3; i++) {
            diff += a[i] != b[i];
            lit += a[i] != 0;
        }
        CHECK_MSG(diff == 0, "SSAA %d: %lld bytes differ between the setup table and per-tile setups", s, (long long)diff);
        CHECK_MSG(lit > 333 * 222, "SSAA %d: the soup covers only %lld bytes", s, (long long)lit);
        free(a);
        free(b);
    }
    p3d_mesh_free(&big);
    p3d_mesh_free(&m);
}

static void test_cuda_matches_cpu(void) {
    if (!g_gpu) {
        SKIP_GPU("CPU-vs-CUDA comparison not run: %s", g_why);
        return;
    }
    p3d_mesh m = random_mesh(333, 222, 20000);
    const p3d_view v = moved_view(&m, 333, 222);
    for (int s = 1; s <= P3D_RENDER_MAX_SSAA; s++) {
        uint8_t *a = render_at(g_cpu, &m, &v, 333, 222, s), *b = render_at(g_gpu, &m, &v, 333, 222, s);
        int64_t diff = 0;
        for (int64_t i = 0; i < 333 * 222 * 3; i++) diff += a[i] != b[i];
        CHECK_MSG(diff == 0, "SSAA %d: %lld bytes differ between CPU and CUDA", s, (long long)diff);
        free(a);
        free(b);
    }
    p3d_mesh_free(&m);
}

static void test_refusals(void) {
    p3d_mesh m = random_mesh(32, 32, 4);
    p3d_renderer *r = NULL;
    p3d_render_opts o = {32, 32, 5, {0, 0, 0}};
    CHECK_FAILS(p3d_renderer_init(g_cpu, &m, &o, &r), P3D_ERR_INVALID_ARG, "supersampling factor 5");
    o.ssaa = 2;
    o.width = 0;
    CHECK_FAILS(p3d_renderer_init(g_cpu, &m, &o, &r), P3D_ERR_INVALID_ARG, "frame size 0x32");
    o.width = 32;
    m.faces[7] = 12;
    CHECK_FAILS(p3d_renderer_init(g_cpu, &m, &o, &r), P3D_ERR_INVALID_ARG, "face 2 refers to vertex 12 of 12");
    m.faces[7] = 1;
    m.xyz[5] = NAN;
    CHECK_FAILS(p3d_renderer_init(g_cpu, &m, &o, &r), P3D_ERR_INVALID_ARG, "vertex 1 has a non-finite");
    m.xyz[5] = 1;
    CHECK_OK(p3d_renderer_init(g_cpu, &m, &o, &r));
    p3d_view v = p3d_view_of_mesh(&m, 32, 32);
    v.fx = 0;
    uint8_t rgb[32 * 32 * 3];
    if (r) CHECK_FAILS(p3d_render_frame(r, &v, rgb), P3D_ERR_INVALID_ARG, "intrinsics");
    p3d_renderer_free(r);
    p3d_mesh_free(&m);
}

/* ---- proofs on Middlebury cones ------------------------------------------------------------------
 * im2 (left view) + disp2 (ground truth, pixels = value / 4) -> single-layer LDI with fx = fy = 450
 * (the reference's focal length: the longer side), baseline 1: depth = 450 / disparity, so the right
 * camera (im6) sits at x = +1 and a pixel of disparity d moves d pixels left. Links torn where the
 * disparity jumps by more than `tear` px. */
typedef struct cones {
    p3d_image im2, im6;
    float *disp2, *disp6; /* (H, W) pixels, 0 = unknown */
    p3d_mesh mesh;
} cones;

static float *disparity_of(const p3d_image *png) {
    float *d = (float *)malloc((size_t)png->width * png->height * sizeof *d);
    for (int64_t i = 0; d && i < (int64_t)png->width * png->height; i++) d[i] = png->rgb[3 * i] / 4.0f;
    return d;
}

static int load_cones(cones *c, float tear) {
    char p[4][512];
    memset(c, 0, sizeof *c);
    if (!p3d_test_fixture("middlebury-cones/im2.png", p[0], sizeof p[0]) ||
        !p3d_test_fixture("middlebury-cones/im6.png", p[1], sizeof p[1]) ||
        !p3d_test_fixture("middlebury-cones/disp2.png", p[2], sizeof p[2]) ||
        !p3d_test_fixture("middlebury-cones/disp6.png", p[3], sizeof p[3]))
        return 0;
    p3d_image d2, d6;
    CHECK_OK(p3d_image_read(p[0], 0, &c->im2));
    CHECK_OK(p3d_image_read(p[1], 0, &c->im6));
    CHECK_OK(p3d_image_read(p[2], 0, &d2));
    CHECK_OK(p3d_image_read(p[3], 0, &d6));
    c->disp2 = disparity_of(&d2);
    c->disp6 = disparity_of(&d6);
    p3d_image_free(&d2);
    p3d_image_free(&d6);
    const int32_t w = c->im2.width, h = c->im2.height;
    const float f = (float)(w > h ? w : h);
    const p3d_camera cam = {f, f, 0.5f * (float)w, 0.5f * (float)h};
    p3d_ldi l;
    CHECK_OK(p3d_ldi_single_layer(c->im2.rgb, c->disp2, w, h, &cam, f, tear, &l));
    CHECK_OK(p3d_ldi_check(&l));
    CHECK_OK(p3d_mesh_from_ldi(&l, tear / f, &c->mesh));
    p3d_ldi_free(&l);
    return c->mesh.n_faces > 0;
}

static void free_cones(cones *c) {
    p3d_image_free(&c->im2);
    p3d_image_free(&c->im6);
    free(c->disp2);
    free(c->disp6);
    p3d_mesh_free(&c->mesh);
}

static double psnr_of(double se, int64_t n) { return 10.0 * log10(255.0 * 255.0 / (se / (double)(3 * n))); }

/* Renders c->mesh at view v twice, on black and on white: pixels equal in both are fully covered. */
static uint8_t *render_covered(const cones *c, const p3d_view *v, int32_t w, int32_t h, int32_t s, uint8_t **covered) {
    uint8_t *a = (uint8_t *)malloc((size_t)w * h * 3), *b = (uint8_t *)malloc((size_t)w * h * 3);
    *covered = (uint8_t *)malloc((size_t)w * h);
    for (int k = 0; k < 2; k++) {
        const uint8_t g = k ? 255 : 0;
        p3d_render_opts o = {w, h, s, {g, g, g}};
        p3d_renderer *r = NULL;
        CHECK_OK(p3d_renderer_init(g_cpu, &c->mesh, &o, &r));
        if (r) CHECK_OK(p3d_render_frame(r, v, k ? b : a));
        p3d_renderer_free(r);
    }
    for (int64_t i = 0; i < (int64_t)w * h; i++) (*covered)[i] = memcmp(a + 3 * i, b + 3 * i, 3) == 0;
    free(b);
    return a;
}

/* Bilinear sample of img (pixel centres at +0.5) at (u, v), clamped at the border. */
static void bilinear(const p3d_image *img, double u, double v, double out[3]) {
    u -= 0.5;
    v -= 0.5;
    int x0 = (int)floor(u), y0 = (int)floor(v);
    const double fx = u - x0, fy = v - y0;
    for (int c = 0; c < 3; c++) {
        double acc = 0;
        for (int k = 0; k < 4; k++) {
            int x = x0 + (k & 1), y = y0 + (k >> 1);
            x = x < 0 ? 0 : x >= img->width ? img->width - 1 : x;
            y = y < 0 ? 0 : y >= img->height ? img->height - 1 : y;
            acc += ((k & 1) ? fx : 1 - fx) * ((k >> 1) ? fy : 1 - fy) * img->rgb[3 * (y * img->width + x) + c];
        }
        out[c] = acc;
    }
}

/* At the mesh's own camera, with the render command's defaults (crop border, SSAA 3), the frame is the
 * photo inside the crop window: compared with the photo resampled the same way (bilinear, box-averaged
 * over the same 3 x 3 samples), and at SSAA 1 without the crop with the photo itself. */
static void test_reference_pose_reproduces_photo(void) {
    cones c;
    /* No tearing here: a single-layer mesh torn at depth edges has a one-pixel gap along every tear
     * (between the last foreground and the first background pixel centre), which the full pipeline
     * fills with its inpainted hidden layer; this proof is about the camera, crop and colours. */
    if (!load_cones(&c, INFINITY)) {
        free_cones(&c);
        return;
    }
    const int32_t w = c.im2.width & ~1, h = c.im2.height & ~1, s = 3;
    p3d_pose p;
    CHECK_OK(p3d_pose_parse("0 0 0", c.mesh.hfov, &p));
    const p3d_view v = p3d_view_of_pose(&c.mesh, &p, w, h, p3d_crop_border_default);
    uint8_t *cov = NULL, *rgb = render_covered(&c, &v, w, h, s, &cov);
    double se = 0;
    int64_t n = 0, uncovered = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            double want[3] = {0, 0, 0};
            for (int sy = 0; sy < s; sy++)
                for (int sx = 0; sx < s; sx++) {
                    double q[3];
                    bilinear(&c.im2, (x + (sx + 0.5) / s - v.cx) / v.fx * 450.0 + 225.0,
                             (y + (sy + 0.5) / s - v.cy) / v.fy * 450.0 + 187.5, q);
                    for (int k = 0; k < 3; k++) want[k] += q[k] / (s * s);
                }
            for (int k = 0; k < 3; k++) se += (rgb[3 * (y * w + x) + k] - want[k]) * (rgb[3 * (y * w + x) + k] - want[k]);
            n++;
            uncovered += !cov[y * w + x];
        }
    const double psnr = psnr_of(se, n);
    fprintf(stderr, "  reference pose, crop border, SSAA 3: PSNR %.2f dB against the resampled photo, %lld of %lld "
            "pixels not fully covered\n", psnr, (long long)uncovered, (long long)n);
    CHECK(psnr >= 40.0);
    free(rgb);
    free(cov);

    const int32_t W = c.im2.width, H = c.im2.height;
    const p3d_view v1 = p3d_view_of_mesh(&c.mesh, W, H);
    rgb = render_covered(&c, &v1, W, H, 1, &cov);
    se = 0;
    n = 0;
    for (int y = (int)(0.03 * H); y < H - (int)(0.05 * H); y++)
        for (int x = (int)(0.03 * W); x < W - (int)(0.03 * W); x++, n++)
            for (int k = 0; k < 3; k++) {
                const double d = rgb[3 * (y * W + x) + k] - c.im2.rgb[3 * (y * W + x) + k];
                se += d * d;
            }
    const double psnr1 = se > 0 ? psnr_of(se, n) : INFINITY;
    fprintf(stderr, "  reference pose, SSAA 1, no crop: PSNR %.2f dB against im2 inside the crop rectangle\n", psnr1);
    CHECK(psnr1 >= 40.0);
    free(rgb);
    free(cov);
    free_cones(&c);
}

/* The right camera's view against the real right view im6, on pixels visible in both (known disparity
 * in disp6, fully covered in the render), and the same for im2 shifted by its median disparity. */
static void test_middlebury_right_view(void) {
    cones c;
    if (!load_cones(&c, 1.5f)) {
        free_cones(&c);
        return;
    }
    const int32_t w = c.im2.width, h = c.im2.height;
    p3d_view v = p3d_view_of_mesh(&c.mesh, w, h);
    v.pos[0] = 1.0f;
    uint8_t *cov = NULL, *rgb = render_covered(&c, &v, w, h, 3, &cov);
    float *sorted = (float *)malloc((size_t)w * h * sizeof *sorted);
    int64_t nv = 0;
    for (int64_t i = 0; i < (int64_t)w * h; i++)
        if (c.disp2[i] > 0) sorted[nv++] = c.disp2[i];
    qsort(sorted, (size_t)nv, sizeof *sorted, cmp_float_asc);
    const int shift = (int)lrintf(sorted[nv / 2]);
    free(sorted);
    double se = 0, se_shift = 0;
    int64_t n = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            const int64_t i = (int64_t)y * w + x;
            if (!(c.disp6[i] > 0) || !cov[i] || x + shift >= w) continue;
            for (int k = 0; k < 3; k++) {
                const double t = c.im6.rgb[3 * i + k];
                se += (rgb[3 * i + k] - t) * (rgb[3 * i + k] - t);
                se_shift += (c.im2.rgb[3 * (i + shift) + k] - t) * (c.im2.rgb[3 * (i + shift) + k] - t);
            }
            n++;
        }
    const double psnr = psnr_of(se, n), psnr_shift = psnr_of(se_shift, n);
    fprintf(stderr, "  Middlebury cones right view: rendered %.2f dB, im2 shifted by its median disparity (%d px) "
            "%.2f dB, on %lld pixels (%.1f%%)\n", psnr, shift, psnr_shift, (long long)n, 100.0 * n / ((double)w * h));
    CHECK(psnr > psnr_shift + 3.0);
    CHECK(n > (int64_t)w * h / 2);
    free(rgb);
    free(cov);
    free_cones(&c);
}

/* A textured mesh (the compact mesh's kind): texture coordinates and a texture of odd size, sampled
 * by the shared bilinear code on both backends - the frames must agree byte for byte. */
/* The CPU's incremental spans (p3d_rspan) equal p3d_render_walk_span's, row by row, for random
 * triangles - from slivers to triangles far larger than a tile, and with rows parallel to an edge -
 * over random tiles of a 4096^2 raster at SSAA 3. */
static void test_incremental_spans(void) {
    const int32_t tp = 3 * P3D_RENDER_TILE, W = 4096;
    uint32_t seed = 4242;
    int64_t rows = 0, covered = 0, empty = 0, differ = 0;
    for (int32_t k = 0; k < 40000; k++) {
        int32_t sx[3], sy[3];
        const float sz[3] = {1.0f, 2.0f, 3.0f};
        seed = seed * 1664525u + 1013904223u;
        const int32_t size = 1 << (int32_t)(seed >> 28); /* box side 1 .. 32768 sub-pixel units */
        seed = seed * 1664525u + 1013904223u;
        const int32_t cx = (int32_t)(seed >> 20) * P3D_RENDER_SUBPIX, cy = (int32_t)((seed >> 8) & 4095) * P3D_RENDER_SUBPIX;
        for (int32_t j = 0; j < 3; j++) {
            seed = seed * 1664525u + 1013904223u;
            sx[j] = cx + (int32_t)(seed % (uint32_t)(16 * size + 1)) - 8 * size;
            seed = seed * 1664525u + 1013904223u;
            sy[j] = cy + (int32_t)(seed % (uint32_t)(16 * size + 1)) - 8 * size;
        }
        if (k % 7 == 0) sy[1] = sy[0]; /* an edge along the rows */
        p3d_rtri t;
        if (!p3d_render_tri_setup(sx, sy, sz, 0, 1, 2, W, W, &t)) continue;
        p3d_render_tri_planes(&t);
        int32_t tx0, ty0, tx1, ty1;
        p3d_render_tile_span(&t, tp, &tx0, &ty0, &tx1, &ty1);
        const int32_t px0 = (tx0 + (tx1 - tx0) / 2) * tp, py0 = (ty0 + (ty1 - ty0) / 2) * tp;
        p3d_rwalk a;
        p3d_render_walk_init(&t, tp, px0, py0, &a);
        if (!a.wide) continue;
        p3d_rspan sp;
        p3d_render_span_init(&a, &sp);
        for (int32_t py = a.y0; py <= a.y1; py++, p3d_render_walk_next(&a), p3d_render_span_next(&sp)) {
            int32_t xl, xr, yl, yr;
            float base;
            p3d_render_walk_span(&a, &xl, &xr, &base);
            p3d_render_span_row(&a, &sp, &yl, &yr);
            rows++;
            if (xl > xr || yl > yr) {
                differ += !(xl > xr && yl > yr);
                empty++;
                continue;
            }
            differ += xl != yl || xr != yr || base != p3d_render_span_base(&a, yl, yr);
            covered++;
        }
    }
    CHECK_MSG(differ == 0, "%lld of %lld rows: incremental span differs", (long long)differ, (long long)rows);
    CHECK(covered > 10000 && empty > 1000); /* both kinds of rows were compared */
    printf("  %lld rows compared (%lld with samples, %lld empty)\n", (long long)rows, (long long)covered, (long long)empty);
}

/* The renderers sample the atlas laid out as RGBX (p3d_render_atlas_rgbx, p3d_render_tex_bilinear_x);
 * the floats must be p3d_tex_bilinear's on the RGB atlas - the sampler the compact mesh's atlas was
 * resampled with - bit for bit: texel centres and the points between them, the clamped edges and
 * coordinates outside [0, 1], and random points. */
static void test_atlas_fetch_matches_sampler(void) {
    p3d_mesh m;
    memset(&m, 0, sizeof m);
    m.tex_w = 37;
    m.tex_h = 23;
    m.tex = (uint8_t *)malloc((size_t)m.tex_w * m.tex_h * 3);
    uint32_t seed = 777;
    for (int32_t i = 0; i < m.tex_w * m.tex_h * 3; i++) {
        seed = seed * 1664525u + 1013904223u;
        m.tex[i] = (uint8_t)(seed >> 24);
    }
    uint8_t *x = p3d_render_atlas_rgbx(&m);
    CHECK(x != NULL);
    int64_t n = 0, differ = 0, moved = 0;
    const int32_t gw = 2 * m.tex_w + 8, gh = 2 * m.tex_h + 8; /* the half-texel grid */
    for (int32_t k = 0; x && k < gw * gh + 20000; k++) {
        float u, v;
        if (k < gw * gh) { /* half-texel steps from 2 texels before the atlas to 2 past its end */
            u = (float)(k % gw - 4) * 0.5f / (float)m.tex_w;
            v = (float)(k / gw - 4) * 0.5f / (float)m.tex_h;
        } else {
            seed = seed * 1664525u + 1013904223u;
            u = (float)(seed >> 8) / 16777216.0f * 1.4f - 0.2f;
            seed = seed * 1664525u + 1013904223u;
            v = (float)(seed >> 8) / 16777216.0f * 1.4f - 0.2f;
        }
        float a[3], b[3];
        p3d_tex_bilinear(m.tex, m.tex_w, m.tex_h, u, v, a);
        p3d_render_tex_bilinear_x(x, m.tex_w, m.tex_h, u, v, b);
        differ += memcmp(a, b, sizeof a) != 0;
        moved += a[0] != (float)m.tex[0] && a[0] != (float)m.tex[3 * (m.tex_w * m.tex_h - 1)];
        n++;
    }
    CHECK_MSG(differ == 0, "%lld of %lld atlas fetches differ from p3d_tex_bilinear", (long long)differ, (long long)n);
    CHECK(moved > n / 2); /* most points are not the corner texels: the comparison sees interpolation */
    free(x);
    free(m.tex);
}

static void test_cuda_textured_matches_cpu(void) {
    if (!g_gpu) {
        SKIP_GPU("CPU-vs-CUDA comparison not run: %s", g_why);
        return;
    }
    p3d_mesh m = random_mesh(333, 222, 20000);
    m.tex_w = 37;
    m.tex_h = 23;
    m.uv = (float *)malloc((size_t)m.n_vertices * 2 * sizeof(float));
    m.tex = (uint8_t *)malloc((size_t)m.tex_w * m.tex_h * 3);
    uint32_t seed = 12345;
    for (int64_t i = 0; i < 2 * m.n_vertices; i++) {
        seed = seed * 1664525u + 1013904223u;
        m.uv[i] = (float)(seed >> 8) / 16777216.0f * 1.2f - 0.1f; /* a little outside [0, 1]: the clamp */
    }
    for (int32_t i = 0; i < m.tex_w * m.tex_h * 3; i++) {
        seed = seed * 1664525u + 1013904223u;
        m.tex[i] = (uint8_t)(seed >> 24);
    }
    const p3d_view v = moved_view(&m, 333, 222);
    for (int s = 1; s <= 3; s += 2) {
        uint8_t *a = render_at(g_cpu, &m, &v, 333, 222, s), *b = render_at(g_gpu, &m, &v, 333, 222, s);
        int64_t diff = 0;
        for (int64_t i = 0; i < 333 * 222 * 3; i++) diff += a[i] != b[i];
        CHECK_MSG(diff == 0, "textured, SSAA %d: %lld bytes differ between CPU and CUDA", s, (long long)diff);
        free(a);
        free(b);
    }
    p3d_mesh_free(&m);
}

int main(void) {
    p3d_device dev = {P3D_DEVICE_CPU, 0};
    if (p3d_ctx_init(&g_cpu, dev) != P3D_OK) return 2;
    g_gpu = cuda_ctx_or_why(g_why, sizeof g_why);
    RUN(test_single_triangle_coverage);
    RUN(test_watertight_grid);
    RUN(test_perspective_correct);
    RUN(test_depth_order);
    RUN(test_thread_count_independence);
    RUN(test_setup_table_matches_per_tile);
    RUN(test_cuda_matches_cpu);
    RUN(test_incremental_spans);
    RUN(test_atlas_fetch_matches_sampler);
    RUN(test_cuda_textured_matches_cpu);
    RUN(test_refusals);
    RUN(test_reference_pose_reproduces_photo);
    RUN(test_middlebury_right_view);
    p3d_ctx_free(g_gpu);
    p3d_ctx_free(g_cpu);
    return p3d_test_finish();
}
