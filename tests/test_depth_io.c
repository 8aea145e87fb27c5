/* test_depth_io.c - depth / disparity maps: every depth fixture with the values its SOURCE.txt states,
 * PFM in both byte orders, masks, writers, masked resizing, the generic .npy reader/writer, and
 * malformed .npy / PFM files that must fail cleanly naming the file. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/depth_io.h"
#include "io/npy.h"
#include "p3d_test.h"
#include "io/resize_area.h"

/* Min / max of the valid values. */
static void valid_range(const p3d_depth *d, float *lo, float *hi) {
    *lo = INFINITY, *hi = -INFINITY;
    for (int64_t i = 0; i < (int64_t)d->width * d->height; i++)
        if (d->mask[i]) *lo = fminf(*lo, d->value[i]), *hi = fmaxf(*hi, d->value[i]);
}

/* Every invalid pixel stores 0 and n_valid counts the mask. */
static int mask_consistent(const p3d_depth *d) {
    int64_t n = 0;
    for (int64_t i = 0; i < (int64_t)d->width * d->height; i++) {
        if (!d->mask[i] && d->value[i] != 0.0f) return 0;
        n += d->mask[i];
    }
    return n == d->n_valid;
}

/* ---- fixtures ---------------------------------------------------------------------------- */

/* What each depth fixture's SOURCE.txt states: size, invalid count, valid range. */
typedef struct depth_fixture {
    const char *rel;
    p3d_depth_opts opts;
    int32_t w, h;
    int64_t invalid;
    double lo, hi, tol;
} depth_fixture;

static void test_depth_fixtures(void) {
    static const depth_fixture fx[] = {
        {"columns/columns.npy", {P3D_DEPTH_DISPARITY, 1.0f}, 288, 384, 0, 0.377309, 2.1165, 1e-4},
        {"moon/moon.npy", {P3D_DEPTH_DISPARITY, 1.0f}, 640, 640, 0, -0.516833, 1.38759, 1e-5}, /* raw: < 0 valid */
        {"tum-kinect/TUM_depth.png", {P3D_DEPTH_METRIC, 1.0f / 5000.0f}, 640, 480, 58950, 1.464, 9.331, 1e-6},
        {"middlebury-cones/disp2.png", {P3D_DEPTH_DISPARITY, 0.25f}, 450, 375, 5429, 5.5, 55.0, 0.0},
    };
    for (size_t i = 0; i < sizeof fx / sizeof fx[0]; i++) {
        char p[256];
        if (!p3d_test_fixture(fx[i].rel, p, sizeof p)) continue;
        p3d_depth d;
        CHECK_OK(p3d_depth_read(p, &fx[i].opts, &d));
        if (!d.value) continue;
        float lo, hi;
        valid_range(&d, &lo, &hi);
        int64_t n = (int64_t)d.width * d.height;
        fprintf(stderr, "  %-28s %dx%d, %.2f%% invalid, valid %.6g..%.6g\n", fx[i].rel, d.width, d.height,
                100.0 * (double)(n - d.n_valid) / (double)n, lo, hi);
        CHECK_MSG(d.width == fx[i].w && d.height == fx[i].h && n - d.n_valid == fx[i].invalid, "%s", fx[i].rel);
        CHECK(d.kind == fx[i].opts.kind && mask_consistent(&d));
        CHECK_NEAR(lo, fx[i].lo, fx[i].tol);
        CHECK_NEAR(hi, fx[i].hi, fx[i].tol);
        p3d_depth_free(&d);
    }
}

/* moon.png = trunc((npy - min) / (max - min) * 65535) to within 1 LSB; its single 0 is masked. */
static void test_moon_png_matches_npy(void) {
    char pn[256], pp[256];
    if (!p3d_test_fixture("moon/moon.npy", pn, sizeof pn) || !p3d_test_fixture("moon/moon.png", pp, sizeof pp)) return;
    p3d_depth n, g;
    CHECK_OK(p3d_depth_read(pn, NULL, &n));
    CHECK_OK(p3d_depth_read(pp, NULL, &g));
    if (!n.value || !g.value) return;
    CHECK(g.width == 640 && g.height == 640 && g.n_valid == 640 * 640 - 1 && mask_consistent(&g));
    float lo, hi;
    valid_range(&n, &lo, &hi);
    double worst = 0;
    for (int64_t i = 0; i < 640 * 640; i++) {
        if (!g.mask[i]) continue;
        double want = floor(((double)n.value[i] - lo) / ((double)hi - lo) * 65535.0);
        worst = fmax(worst, fabs(g.value[i] - want));
    }
    fprintf(stderr, "  moon.png vs trunc(min-max scaled moon.npy): max diff %.1f LSB\n", worst);
    CHECK(worst <= 1.0);
    p3d_depth_free(&n);
    p3d_depth_free(&g);
}

static void test_colour_png_refused(void) {
    char p[256];
    if (!p3d_test_fixture("columns/columns.png", p, sizeof p)) return;
    p3d_depth d;
    CHECK_FAILS(p3d_depth_read(p, NULL, &d), P3D_ERR_FORMAT, "colour PNG");
    CHECK(strstr(p3d_last_error(), p) != NULL && d.value == NULL);
}

/* ---- PFM --------------------------------------------------------------------------------- */

/* A PFM of w x h x cn floats (rows given top to bottom, stored bottom to top) in either byte order. */
static size_t make_pfm(uint8_t *out, const float *top_down, int w, int h, int cn, int little) {
    int n = snprintf((char *)out, 64, "%s\n%d %d\n%s\n", cn == 1 ? "Pf" : "PF", w, h, little ? "-1.0" : "1.0");
    uint8_t *p = out + n;
    for (int r = h - 1; r >= 0; r--)
        for (int i = 0; i < w * cn; i++) {
            uint32_t u;
            memcpy(&u, &top_down[r * w * cn + i], 4);
            for (int b = 0; b < 4; b++) *p++ = (uint8_t)(u >> (little ? 8 * b : 24 - 8 * b));
        }
    return (size_t)(p - out);
}

static void test_pfm(void) {
    const float v[2][3] = {{1.5f, 0.0f, -2.0f}, {NAN, INFINITY, 4.25f}};
    for (int little = 0; little <= 1; little++)
        for (int cn = 1; cn <= 3; cn += 2) {
            float px[6 * 3];
            for (int i = 0; i < 6; i++)
                for (int c = 0; c < cn; c++) px[i * cn + c] = c == 0 ? v[i / 3][i % 3] : 99.0f;
            uint8_t buf[256];
            char name[32], path[512];
            snprintf(name, sizeof name, "d%d%d.pfm", little, cn);
            p3d_test_tmp_file(name, buf, make_pfm(buf, px, 3, 2, cn, little), path, sizeof path);
            p3d_depth d, m;
            p3d_depth_opts metric = {P3D_DEPTH_METRIC, 2.0f};
            CHECK_OK(p3d_depth_read(path, NULL, &d));
            CHECK_OK(p3d_depth_read(path, &metric, &m));
            if (!d.value || !m.value) continue;
            CHECK(d.width == 3 && d.height == 2 && mask_consistent(&d) && mask_consistent(&m));
            CHECK(d.value[0] == 1.5f && d.value[2] == -2.0f && d.value[5] == 4.25f && d.n_valid == 3);
            CHECK(m.value[0] == 3.0f && m.mask[2] == 0 && m.value[5] == 8.5f && m.n_valid == 2);
            p3d_depth_free(&d);
            p3d_depth_free(&m);
        }
}

static void test_pfm_malformed(void) {
    char path[512];
    p3d_depth d;
    const float px[4] = {1, 2, 3, 4};
    uint8_t buf[256];
    size_t n = make_pfm(buf, px, 2, 2, 1, 1);
    CHECK_FAILS(p3d_depth_read(p3d_test_tmp_file("cut.pfm", buf, n - 3, path, sizeof path), NULL, &d), P3D_ERR_FORMAT, "truncated");
    CHECK(strstr(p3d_last_error(), path) != NULL);
    const char *absurd = "Pf\n100000 10\n-1.0\n";
    CHECK_FAILS(p3d_depth_read(p3d_test_tmp_file("big.pfm", absurd, strlen(absurd), path, sizeof path), NULL, &d), P3D_ERR_FORMAT, "a side larger");
    const char *scale = "Pf\n2 2\nabc\n";
    CHECK_FAILS(p3d_depth_read(p3d_test_tmp_file("scale.pfm", scale, strlen(scale), path, sizeof path), NULL, &d), P3D_ERR_FORMAT, "malformed");
    const char *zero = "Pf\n2 2\n0.0\n";
    CHECK_FAILS(p3d_depth_read(p3d_test_tmp_file("zero.pfm", zero, strlen(zero), path, sizeof path), NULL, &d), P3D_ERR_FORMAT, path);
    CHECK_FAILS(p3d_depth_read(p3d_test_tmp_file("head.pfm", "Pf\n2", 4, path, sizeof path), NULL, &d), P3D_ERR_FORMAT, path);
}

/* ---- .npy -------------------------------------------------------------------------------- */

/* A version-1 .npy with the given header dictionary and payload. */
static size_t make_npy(uint8_t *out, const char *dict, const void *data, size_t n) {
    size_t hl = strlen(dict);
    size_t total = (10 + hl + 1 + 63) / 64 * 64;
    memcpy(out, "\x93NUMPY\x01\x00", 8);
    out[8] = (uint8_t)((total - 10) & 0xff), out[9] = (uint8_t)((total - 10) >> 8);
    memset(out + 10, ' ', total - 10);
    memcpy(out + 10, dict, hl);
    out[total - 1] = '\n';
    memcpy(out + total, data, n);
    return total + n;
}

static void check_npy_fails(const char *name, const char *dict, size_t data_bytes, const char *needle) {
    static uint8_t buf[4096];
    static const uint8_t zeros[1024] = {0};
    char path[512];
    p3d_test_tmp_file(name, buf, make_npy(buf, dict, zeros, data_bytes), path, sizeof path);
    p3d_tensor t;
    CHECK_FAILS(p3d_npy_read(path, &t, NULL), P3D_ERR_FORMAT, needle);
    CHECK_MSG(strstr(p3d_last_error(), path) != NULL, "%s: message lacks the path", name);
    CHECK(t.data == NULL);
    p3d_depth d;
    CHECK_FAILS(p3d_depth_read(path, NULL, &d), P3D_ERR_FORMAT, needle);
}

static void test_npy_malformed(void) {
    static const struct {
        const char *name, *dict;
        size_t data_bytes;
        const char *needle;
    } bad[] = {
        {"i8.npy", "{'descr': '<i8', 'fortran_order': False, 'shape': (2, 2), }", 32, "'<i8' is not supported"},
        {"bigf4.npy", "{'descr': '>f4', 'fortran_order': False, 'shape': (2, 2), }", 16, "big-endian"},
        {"c8.npy", "{'descr': '<c8', 'fortran_order': False, 'shape': (2, 2), }", 32, "'<c8' is not supported"},
        {"fortran.npy", "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", 16, "Fortran order"},
        {"empty.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 4), }", 0, "empty"},
        {"scalar.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (), }", 4, "scalar"},
        {"five.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 1, 1, 1), }", 4, "more than 4"},
        {"noshape.npy", "{'descr': '<f4', 'fortran_order': False, }", 4, "bad .npy header"},
        {"nodict.npy", "garbage", 4, "bad .npy header"},
        {"cut.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (4, 4), }", 60, "truncated"},
        {"long.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", 20, "surplus"},
        {"huge.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999, 99999), }", 4, "absurd"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        check_npy_fails(bad[i].name, bad[i].dict, bad[i].data_bytes, bad[i].needle);
    char path[512];
    p3d_tensor t;
    CHECK_FAILS(p3d_npy_read(p3d_test_tmp_file("magic.npy", "\x93NUMPZ\x01\x00\x10\x00{}", 12, path, sizeof path), &t, NULL),
                P3D_ERR_FORMAT, "bad magic");
    CHECK_FAILS(p3d_npy_read(p3d_test_tmp_file("short.npy", "\x93NUMPY\x01\x00\xff\x7f{'descr'", 17, path, sizeof path), &t, NULL),
                P3D_ERR_FORMAT, "truncated");
    CHECK_FAILS(p3d_npy_read(p3d_test_tmp_file("zero.npy", "", 0, path, sizeof path), &t, NULL), P3D_ERR_FORMAT, "truncated");
    CHECK_FAILS(p3d_npy_read(p3d_test_tmp_path("missing.npy", path, sizeof path), &t, NULL), P3D_ERR_IO, "missing.npy");
    p3d_depth d;
    CHECK_FAILS(p3d_depth_read(p3d_test_tmp_file("d3.npy", "", 0, path, sizeof path), NULL, &d), P3D_ERR_FORMAT, "empty");
    /* bool arrays hold bytes 0/1 only; uint8 and bool arrays read (the networks' masks), but are no depth maps. */
    static uint8_t buf[512];
    static const uint8_t bytes[4] = {0, 1, 2, 1};
    p3d_test_tmp_file("b1bad.npy", buf, make_npy(buf, "{'descr': '|b1', 'fortran_order': False, 'shape': (2, 2), }", bytes, 4),
                      path, sizeof path);
    CHECK_FAILS(p3d_npy_read(path, &t, NULL), P3D_ERR_FORMAT, "element 2 holds 2, not 0 or 1");
    p3d_test_tmp_file("u1.npy", buf, make_npy(buf, "{'descr': '|u1', 'fortran_order': False, 'shape': (2, 2), }", bytes, 4),
                      path, sizeof path);
    p3d_dtype dt = P3D_F32;
    CHECK_OK(p3d_npy_read(path, &t, &dt));
    CHECK(dt == P3D_U8 && t.ndim == 2 && p3d_tensor_f32(&t)[2] == 2.0f);
    p3d_npy_free(&t);
    CHECK_FAILS(p3d_depth_read(path, NULL, &d), P3D_ERR_FORMAT, "not 8-bit");
}

/* float64 and uint16 files are converted; a (2, 1, 2) array is no depth map. */
static void test_npy_dtypes(void) {
    static uint8_t buf[1024];
    char path[512];
    const double f8[4] = {0.5, -1.25, 0.0, 1e300};
    const uint16_t u2[4] = {0, 1, 65535, 7};
    p3d_depth d;
    p3d_test_tmp_file("f8.npy", buf, make_npy(buf, "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }", f8, 32), path, sizeof path);
    CHECK_OK(p3d_depth_read(path, NULL, &d));
    CHECK(d.value && d.value[0] == 0.5f && d.value[1] == -1.25f && !d.mask[2] && !d.mask[3] && d.n_valid == 2);
    p3d_depth_free(&d);
    p3d_test_tmp_file("u2.npy", buf, make_npy(buf, "{'descr': '<u2', 'fortran_order': False, 'shape': (1, 4), }", u2, 8), path, sizeof path);
    CHECK_OK(p3d_depth_read(path, NULL, &d));
    CHECK(d.value && d.width == 4 && d.height == 1 && d.value[2] == 65535.0f && !d.mask[0] && d.n_valid == 3);
    p3d_depth_free(&d);
    p3d_test_tmp_file("hw2.npy", buf, make_npy(buf, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 1, 2), }", f8, 16), path, sizeof path);
    CHECK_FAILS(p3d_depth_read(path, NULL, &d), P3D_ERR_FORMAT, "2-D");
}

/* Generic writer/reader: 1..4 dimensions, 64-byte aligned header as NumPy writes it. */
static void test_npy_roundtrip(void) {
    const int64_t shapes[4][4] = {{5}, {3, 4}, {2, 3, 4}, {1, 2, 3, 4}};
    float v[24];
    for (int i = 0; i < 24; i++) v[i] = (float)i * 0.37f - 3.0f;
    for (int nd = 1; nd <= 4; nd++) {
        char name[32], path[512];
        snprintf(name, sizeof name, "rt%d.npy", nd);
        p3d_tensor t = p3d_tensor_view(v, P3D_F32, P3D_MEM_HOST, nd, shapes[nd - 1]), r;
        CHECK_OK(p3d_npy_write(p3d_test_tmp_path(name, path, sizeof path), &t));
        p3d_dtype dt;
        CHECK_OK(p3d_npy_read(path, &r, &dt));
        CHECK(dt == P3D_F32 && p3d_tensor_same_shape(&t, &r) && memcmp(r.data, v, p3d_tensor_nbytes(&t)) == 0);
        p3d_npy_free(&r);
        FILE *f = fopen(path, "rb");
        uint8_t head[10];
        CHECK(fread(head, 1, 10, f) == 10 && (10 + (head[8] | head[9] << 8)) % 64 == 0);
        fclose(f);
    }
    int64_t s1 = 5;
    uint8_t u[5] = {0};
    p3d_tensor bad = p3d_tensor_view(u, P3D_U8, P3D_MEM_HOST, 1, &s1);
    char path[512];
    CHECK_FAILS(p3d_npy_write(p3d_test_tmp_path("u8.npy", path, sizeof path), &bad), P3D_ERR_INVALID_ARG, "float32");
}

/* ---- writers and resizing ---------------------------------------------------------------- */

/* A 12 x 9 metric map with a hole: read back from .npy exactly and from PNG16 up to rounding. */
static void test_depth_write_roundtrip(void) {
    p3d_depth d, r;
    CHECK_OK(p3d_depth_alloc(12, 9, P3D_DEPTH_METRIC, &d));
    for (int i = 0; i < 108; i++) {
        d.mask[i] = (uint8_t)(i % 7 != 3);
        d.value[i] = d.mask[i] ? 0.5f + 0.01f * (float)i : 0.0f;
        d.n_valid += d.mask[i];
    }
    char path[512];
    p3d_depth_opts metric = {P3D_DEPTH_METRIC, 0.0f};
    CHECK_OK(p3d_depth_write_npy(p3d_test_tmp_path("w.npy", path, sizeof path), &d));
    CHECK_OK(p3d_depth_read(path, &metric, &r));
    CHECK(r.value && memcmp(r.value, d.value, 108 * 4) == 0 && memcmp(r.mask, d.mask, 108) == 0);
    p3d_depth_free(&r);
    CHECK_OK(p3d_depth_write_png16(p3d_test_tmp_path("w.png", path, sizeof path), &d));
    CHECK_OK(p3d_depth_read(path, &metric, &r));
    if (r.value) {
        float lo, hi;
        valid_range(&d, &lo, &hi);
        double worst = 0;
        for (int i = 0; i < 108; i++)
            if (d.mask[i]) worst = fmax(worst, fabs(lo + (r.value[i] - 1.0) / 65534.0 * (hi - lo) - d.value[i]));
        CHECK(memcmp(r.mask, d.mask, 108) == 0 && worst < (hi - lo) / 65534.0);
    }
    p3d_depth_free(&r);
    p3d_depth_free(&d);
}

/* columns: 288 x 384 -> 768 x 1024 (8/3, same aspect) equals the plain resize; 1024 x 768 is refused. */
static void test_resize_columns(void) {
    char p[256];
    if (!p3d_test_fixture("columns/columns.npy", p, sizeof p)) return;
    p3d_depth d, r;
    CHECK_OK(p3d_depth_read(p, NULL, &d));
    if (!d.value) return;
    CHECK_OK(p3d_depth_resize(&d, 768, 1024, &r));
    float *plain = (float *)malloc(768 * 1024 * sizeof(float));
    int64_t ss[2] = {384, 288}, ds[2] = {1024, 768};
    p3d_tensor s = p3d_tensor_view(d.value, P3D_F32, P3D_MEM_HOST, 2, ss), t = p3d_tensor_view(plain, P3D_F32, P3D_MEM_HOST, 2, ds);
    CHECK_OK(p3d_resize_area_cpu(&s, &t, P3D_RESIZE_HWC));
    CHECK(r.value && r.n_valid == 768 * 1024 && memcmp(r.value, plain, 768 * 1024 * 4) == 0);
    p3d_depth_free(&r);
    CHECK_FAILS(p3d_depth_resize(&d, 1024, 768, &r), P3D_ERR_INVALID_ARG, "aspect");
    CHECK(p3d_depth_aspect_ok(288, 384, 769, 1024) && !p3d_depth_aspect_ok(288, 384, 770, 1024));
    /* a small processing size whose short side was truncated (44.8 -> 44) still has the map's aspect */
    CHECK(p3d_depth_aspect_ok(640, 448, 64, 44) && p3d_depth_aspect_ok(448, 640, 44, 64));
    CHECK(!p3d_depth_aspect_ok(640, 448, 64, 42) && !p3d_depth_aspect_ok(640, 480, 64, 44));
    free(plain);
    p3d_depth_free(&d);
}

/* Left half 2.0, right half invalid: no resized value may be pulled towards 0. */
static void test_resize_no_leak(void) {
    const int32_t targets[][2] = {{10, 6}, {7, 4}, {45, 27}, {20, 12}};
    p3d_depth d;
    CHECK_OK(p3d_depth_alloc(20, 12, P3D_DEPTH_METRIC, &d));
    for (int i = 0; i < 240; i++) {
        d.mask[i] = (uint8_t)(i % 20 < 9);
        d.value[i] = d.mask[i] ? 2.0f : 0.0f;
        d.n_valid += d.mask[i];
    }
    for (size_t k = 0; k < 4; k++) {
        p3d_depth r;
        CHECK_OK(p3d_depth_resize(&d, targets[k][0], targets[k][1], &r));
        if (!r.value) continue;
        int bad = 0;
        for (int64_t i = 0; i < (int64_t)r.width * r.height; i++) bad += r.mask[i] && fabsf(r.value[i] - 2.0f) > 1e-6f;
        CHECK_MSG(bad == 0 && mask_consistent(&r), "%dx%d: %d valid values off 2.0", r.width, r.height, bad);
        CHECK(r.n_valid > 0 && r.n_valid < (int64_t)r.width * r.height);
        p3d_depth_free(&r);
    }
    p3d_depth_free(&d);
}

/* TUM with 19% holes, halved: valid values stay inside the source's valid range. */
static void test_resize_tum(void) {
    char p[256];
    if (!p3d_test_fixture("tum-kinect/TUM_depth.png", p, sizeof p)) return;
    p3d_depth_opts o = {P3D_DEPTH_METRIC, 1.0f / 5000.0f};
    p3d_depth d, r;
    CHECK_OK(p3d_depth_read(p, &o, &d));
    CHECK_OK(p3d_depth_resize(&d, 320, 240, &r));
    if (!r.value) return;
    float lo, hi;
    valid_range(&r, &lo, &hi);
    CHECK(lo >= 1.464f - 1e-5f && hi <= 9.331f + 1e-5f && mask_consistent(&r));
    CHECK_NEAR((double)r.n_valid / (320 * 240), (double)d.n_valid / (640 * 480), 0.03);
    p3d_depth_free(&d);
    p3d_depth_free(&r);
}

static void test_bad_options(void) {
    char path[512];
    p3d_depth d;
    p3d_depth_opts neg = {P3D_DEPTH_METRIC, -1.0f};
    CHECK_FAILS(p3d_depth_read(p3d_test_tmp_file("x.pfm", "Pf\n1 1\n-1\n\0\0\0\0", 15, path, sizeof path), &neg, &d),
                P3D_ERR_INVALID_ARG, "scale");
    CHECK_FAILS(p3d_depth_read(p3d_test_tmp_file("x.txt", "hello", 5, path, sizeof path), NULL, &d), P3D_ERR_FORMAT, "unsupported");
    CHECK_FAILS(p3d_depth_read(p3d_test_tmp_path("nope.png", path, sizeof path), NULL, &d), P3D_ERR_IO, "nope.png");
}

int main(void) {
    RUN(test_depth_fixtures);
    RUN(test_moon_png_matches_npy);
    RUN(test_colour_png_refused);
    RUN(test_pfm);
    RUN(test_pfm_malformed);
    RUN(test_npy_malformed);
    RUN(test_npy_dtypes);
    RUN(test_npy_roundtrip);
    RUN(test_depth_write_roundtrip);
    RUN(test_resize_columns);
    RUN(test_resize_no_leak);
    RUN(test_resize_tum);
    RUN(test_bad_options);
    return p3d_test_finish();
}
