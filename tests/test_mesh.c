/* test_mesh.c - LDI -> mesh faces (hand-built cases and properties on random LDIs), PLY ASCII / binary
 * and GLB round trips, the reference's PLY style, refusal of corrupt, truncated and hostile files.
 *
 * `test_mesh --write-glb PATH` writes a small mesh as GLB and exits (tests/test_mesh_glb.sh validates it
 * with an independent Python reader). */
#include "p3d_test.h"
#include "test_ctx.h"

#include "core/file_io.h"
#include "mesh/mesh_file.h"
#include "mesh/mesh_format.h"
#ifdef P3D_HAVE_CUDA
#include "p3d_cuda.h"
#endif
#ifdef P3D_HAVE_OPENMP
#include <omp.h>
#endif

static uint64_t g_rng = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(void) {
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return (uint32_t)(g_rng >> 16);
}

static const uint8_t k_grey[3] = {128, 128, 128};

static p3d_camera cam_for(int32_t w, int32_t h) {
    p3d_camera c = {(float)(w > h ? w : h), (float)(w > h ? w : h), w * 0.5f, h * 0.5f};
    return c;
}

/* A w x h LDI (no border), one node per pixel in raster order (id = y * w + x) of depth depth[id]
 * (1 when NULL), every right and down link present. */
static void grid_ldi(p3d_ldi *l, int32_t w, int32_t h, const float *depth) {
    p3d_camera cam = cam_for(w, h);
    CHECK_OK(p3d_ldi_init(l, w, h, 0, &cam));
    for (int32_t y = 0; y < h; y++)
        for (int32_t x = 0; x < w; x++) {
            uint8_t rgb[3] = {(uint8_t)x, (uint8_t)y, 7};
            CHECK_OK(p3d_ldi_add_node(l, x, y, depth ? depth[y * w + x] : 1.0f, rgb, P3D_LABEL_ORIGINAL, 0, NULL));
        }
    for (int32_t y = 0; y < h; y++)
        for (int32_t x = 0; x < w; x++) {
            if (x + 1 < w) p3d_ldi_link(l, y * w + x, P3D_DIR_RIGHT, y * w + x + 1);
            if (y + 1 < h) p3d_ldi_link(l, y * w + x, P3D_DIR_DOWN, (y + 1) * w + x);
        }
}

/* 1 when face f (as a vertex set) equals {a, b, c}. */
static int face_is(const p3d_mesh *m, int64_t f, int32_t a, int32_t b, int32_t c) {
    const int32_t *v = m->faces + 3 * f;
    int32_t want[3] = {a, b, c}, used[3] = {0, 0, 0};
    for (int i = 0; i < 3; i++) {
        int hit = 0;
        for (int j = 0; j < 3 && !hit; j++)
            if (!used[j] && v[j] == want[i]) used[j] = hit = 1;
        if (!hit) return 0;
    }
    return 1;
}

/* Signed area of face f in image coordinates (x right, y down) of the LDI canvas: negative means
 * counter-clockwise as displayed, i.e. as seen from the camera. */
static int64_t image_area(const p3d_ldi *l, const p3d_mesh *m, int64_t f) {
    const int32_t *v = m->faces + 3 * f;
    int64_t x[3], y[3];
    for (int i = 0; i < 3; i++) {
        x[i] = p3d_ldi_x(l, v[i]);
        y[i] = p3d_ldi_y(l, v[i]);
    }
    return (x[1] - x[0]) * (y[2] - y[0]) - (x[2] - x[0]) * (y[1] - y[0]);
}

/* Normal of face f in the mesh's (OpenCV) frame dotted with the face centre: negative when the face's
 * front (counter-clockwise) side looks at the camera at the origin. */
static double facing(const p3d_mesh *m, int64_t f) {
    const float *p0 = m->xyz + 3 * m->faces[3 * f], *p1 = m->xyz + 3 * m->faces[3 * f + 1], *p2 = m->xyz + 3 * m->faces[3 * f + 2];
    double u[3], w[3], n[3];
    for (int k = 0; k < 3; k++) {
        u[k] = (double)p1[k] - p0[k];
        w[k] = (double)p2[k] - p0[k];
    }
    n[0] = u[1] * w[2] - u[2] * w[1];
    n[1] = u[2] * w[0] - u[0] * w[2];
    n[2] = u[0] * w[1] - u[1] * w[0];
    return n[0] * (p0[0] + p1[0] + p2[0]) + n[1] * (p0[1] + p1[1] + p2[1]) + n[2] * (p0[2] + p1[2] + p2[2]);
}

/* Node ids of the 2x2 grid: TL 0, TR 1, BL 2, BR 3. */
static void test_full_quad(void) {
    p3d_ldi l;
    grid_ldi(&l, 2, 2, NULL);
    p3d_mesh m;
    CHECK_OK(p3d_mesh_from_ldi(&l, 0.04f, &m));
    CHECK(m.n_vertices == 4 && m.n_faces == 2);
    /* Equal jumps: the tie splits along the top-left / bottom-right diagonal. */
    if (m.n_faces == 2) {
        CHECK(face_is(&m, 0, 1, 0, 3) && face_is(&m, 1, 2, 0, 3));
        for (int64_t f = 0; f < 2; f++) {
            CHECK(image_area(&l, &m, f) < 0);
            CHECK(facing(&m, f) < 0);
        }
    }
    CHECK(m.width == 2 && m.height == 2);
    CHECK_NEAR(m.hfov, 2 * atan(1.0 / 2.0), 1e-6);
    CHECK(m.rgba[4 * 3 + 0] == 1 && m.rgba[4 * 3 + 1] == 1 && m.rgba[4 * 3 + 3] == P3D_LABEL_ORIGINAL);
    /* Vertex 3 = pixel (1, 1) at depth 1: X = (1.5 - 1) / 2. */
    CHECK(m.xyz[9] == 0.25f && m.xyz[10] == 0.25f && m.xyz[11] == 1.0f);
    p3d_mesh_free(&m);
    p3d_ldi_free(&l);
}

static void test_diagonal_choice(void) {
    /* Disparities TL 1, TR 1, BL 1.03, BR 1.02: TL-BR jumps 0.02, TR-BL 0.03 -> split along TL-BR. */
    const float d1[4] = {1.0f, 1.0f, 1 / 1.03f, 1 / 1.02f};
    p3d_ldi l;
    grid_ldi(&l, 2, 2, d1);
    p3d_mesh m;
    CHECK_OK(p3d_mesh_from_ldi(&l, 0.04f, &m));
    CHECK(m.n_faces == 2 && face_is(&m, 0, 0, 1, 3) && face_is(&m, 1, 0, 2, 3));
    p3d_mesh_free(&m);
    p3d_ldi_free(&l);
    /* TL-BR jumps 0.03 and TR-BL 0.01 -> split along TR-BL: corners TL and BR. */
    const float d2[4] = {1.0f, 1 / 1.02f, 1 / 1.01f, 1 / 1.03f};
    grid_ldi(&l, 2, 2, d2);
    CHECK_OK(p3d_mesh_from_ldi(&l, 0.04f, &m));
    CHECK(m.n_faces == 2 && face_is(&m, 0, 0, 1, 2) && face_is(&m, 1, 3, 1, 2));
    for (int64_t f = 0; f < m.n_faces; f++) CHECK(image_area(&l, &m, f) < 0);
    p3d_mesh_free(&m);
    /* Both diagonals over the threshold: no face. */
    CHECK_OK(p3d_mesh_from_ldi(&l, 0.005f, &m));
    CHECK(m.n_faces == 0 && m.n_vertices == 4);
    p3d_mesh_free(&m);
    /* Only the larger diagonal (TL-BR, 0.03) over the threshold: the split along TR-BL stays. */
    CHECK_OK(p3d_mesh_from_ldi(&l, 0.02f, &m));
    CHECK(m.n_faces == 2);
    p3d_mesh_free(&m);
    p3d_ldi_free(&l);
}

static void test_torn_side(void) {
    p3d_ldi l;
    grid_ldi(&l, 2, 2, NULL);
    p3d_ldi_unlink(&l, 0, P3D_DIR_RIGHT); /* TL-TR torn: corners BL (hyp TL-BR) and BR (hyp BL-TR) remain */
    p3d_mesh m;
    CHECK_OK(p3d_mesh_from_ldi(&l, 0.04f, &m));
    /* Equal jumps: the smaller corner node id (BL = 2) wins. */
    CHECK(m.n_faces == 1 && face_is(&m, 0, 2, 0, 3));
    if (m.n_faces == 1) CHECK(image_area(&l, &m, 0) < 0);
    p3d_mesh_free(&m);
    p3d_ldi_free(&l);
    /* Make BL's hypotenuse TL-BR the larger jump: BR's triangle (BL, BR, TR) is chosen. */
    const float d[4] = {1 / 1.03f, 1.0f, 1.0f, 1.0f};
    grid_ldi(&l, 2, 2, d);
    p3d_ldi_unlink(&l, 0, P3D_DIR_RIGHT);
    CHECK_OK(p3d_mesh_from_ldi(&l, 0.04f, &m));
    CHECK(m.n_faces == 1 && face_is(&m, 0, 3, 2, 1));
    p3d_mesh_free(&m);
    p3d_ldi_unlink(&l, 2, P3D_DIR_RIGHT); /* now only TL-BL and TR-BR: no corner has two legs */
    CHECK_OK(p3d_mesh_from_ldi(&l, 0.04f, &m));
    CHECK(m.n_faces == 0);
    p3d_mesh_free(&m);
    p3d_ldi_free(&l);
}

static void test_l_and_jump(void) {
    /* Only TL-TR and TL-BL linked (an L): one triangle at TL, unless its hypotenuse TR-BL jumps. */
    const float d[4] = {1.0f, 1.0f, 1 / 1.5f, 1.0f};
    p3d_ldi l;
    grid_ldi(&l, 2, 2, d);
    p3d_ldi_unlink(&l, 1, P3D_DIR_DOWN);
    p3d_ldi_unlink(&l, 2, P3D_DIR_RIGHT);
    p3d_mesh m;
    CHECK_OK(p3d_mesh_from_ldi(&l, 0.6f, &m));
    CHECK(m.n_faces == 1 && face_is(&m, 0, 0, 1, 2));
    p3d_mesh_free(&m);
    CHECK_OK(p3d_mesh_from_ldi(&l, 0.4f, &m));
    CHECK(m.n_faces == 0);
    p3d_mesh_free(&m);
    /* Threshold checks */
    CHECK_FAILS(p3d_mesh_from_ldi(&l, -1.0f, &m), P3D_ERR_INVALID_ARG, "threshold");
    CHECK_FAILS(p3d_mesh_from_ldi(&l, NAN, &m), P3D_ERR_INVALID_ARG, "threshold");
    CHECK_OK(p3d_mesh_from_ldi(&l, INFINITY, &m));
    CHECK(m.n_faces == 1);
    p3d_mesh_free(&m);
    p3d_ldi_free(&l);
}

static void test_two_layers(void) {
    /* A front quad at columns 0-1 (depth 1) and a back quad at columns 1-2 (depth 3): the pixels of
     * column 1 hold two layers; nothing joins the layers. */
    p3d_camera cam = cam_for(3, 2);
    p3d_ldi l;
    CHECK_OK(p3d_ldi_init(&l, 3, 2, 0, &cam));
    int32_t f[4], b[4];
    for (int i = 0; i < 4; i++) {
        CHECK_OK(p3d_ldi_add_node(&l, i & 1, i >> 1, 1.0f, k_grey, P3D_LABEL_ORIGINAL, 0, &f[i]));
        CHECK_OK(p3d_ldi_add_node(&l, 1 + (i & 1), i >> 1, 3.0f, k_grey, P3D_LABEL_INPAINT1, 1, &b[i]));
    }
    for (int32_t *q = f; q; q = q == f ? b : NULL) {
        p3d_ldi_link(&l, q[0], P3D_DIR_RIGHT, q[1]);
        p3d_ldi_link(&l, q[2], P3D_DIR_RIGHT, q[3]);
        p3d_ldi_link(&l, q[0], P3D_DIR_DOWN, q[2]);
        p3d_ldi_link(&l, q[1], P3D_DIR_DOWN, q[3]);
    }
    CHECK_OK(p3d_ldi_check(&l));
    CHECK(p3d_ldi_layers(&l, 1, 0) == 2 && p3d_ldi_layers(&l, 1, 1) == 2);
    p3d_mesh m;
    CHECK_OK(p3d_mesh_from_ldi(&l, 0.04f, &m));
    CHECK(m.n_vertices == 8 && m.n_faces == 4);
    for (int64_t k = 0; k < m.n_faces; k++) {
        float z = m.xyz[3 * m.faces[3 * k] + 2];
        for (int i = 1; i < 3; i++) CHECK(m.xyz[3 * m.faces[3 * k + i] + 2] == z);
        CHECK(image_area(&l, &m, k) < 0);
        CHECK(facing(&m, k) < 0);
    }
    CHECK(m.rgba[4 * b[0] + 3] == P3D_LABEL_INPAINT1);
    p3d_mesh_free(&m);
    p3d_ldi_free(&l);
}

/* Random w x h LDI with 1..3 layers per pixel, each node linked to a random node at each neighbouring
 * pixel (p3d_ldi_link keeps the links symmetric and one per direction), then about tear_pct % of the
 * links torn. */
static void random_ldi(p3d_ldi *l, int32_t w, int32_t h, int32_t border, int tear_pct) {
    p3d_camera cam = cam_for(w, h);
    CHECK_OK(p3d_ldi_init(l, w, h, border, &cam));
    for (int32_t y = 0; y < l->ext_h; y++)
        for (int32_t x = 0; x < l->ext_w; x++) {
            int layers = 1 + (int)(rnd() % 3);
            for (int k = 0; k < layers; k++) {
                float depth = 1.0f + (float)k + (float)(rnd() % 1000) / 20000.0f;
                uint8_t rgb[3] = {(uint8_t)rnd(), (uint8_t)rnd(), (uint8_t)rnd()};
                CHECK_OK(p3d_ldi_add_node(l, x, y, depth, rgb, (uint8_t)(1 + rnd() % 5), 0, NULL));
            }
        }
    for (int32_t a = 0; a < l->n_nodes; a++)
        for (int32_t d = P3D_DIR_DOWN; d <= P3D_DIR_RIGHT; d += 2) {
            int32_t x = p3d_ldi_x(l, a) + p3d_dir_dx(d), y = p3d_ldi_y(l, a) + p3d_dir_dy(d);
            if (x >= l->ext_w || y >= l->ext_h) continue;
            int32_t b = l->head[y * l->ext_w + x];
            for (uint32_t skip = rnd() % 3; skip && l->next[b] >= 0; skip--) b = l->next[b];
            if (rnd() % 100 >= (uint32_t)tear_pct) p3d_ldi_link(l, a, d, b);
        }
    CHECK_OK(p3d_ldi_check(l));
}

/* 1 when a and b are linked (in any direction). */
static int linked(const p3d_ldi *l, int32_t a, int32_t b) {
    for (int d = 0; d < 4; d++)
        if (l->link[4 * (size_t)a + d] == b) return 1;
    return 0;
}

static void test_random_properties(void) {
    const float thr = 0.02f;
    for (int round = 0; round < 6; round++) {
        p3d_ldi l;
        random_ldi(&l, 20 + round, 17, round % 2 ? 3 : 0, round * 8);
        p3d_mesh m;
        CHECK_OK(p3d_mesh_from_ldi(&l, thr, &m));
        CHECK(m.n_vertices == l.n_nodes && m.n_faces > 0);
        for (int64_t f = 0; f < m.n_faces; f++) {
            const int32_t *v = m.faces + 3 * f;
            /* One corner is linked to the two others, which sit diagonally and jump at most thr. */
            int corner = -1;
            for (int i = 0; i < 3; i++)
                if (linked(&l, v[i], v[(i + 1) % 3]) && linked(&l, v[i], v[(i + 2) % 3])) corner = i;
            CHECK_MSG(corner >= 0, "face %lld (%d %d %d) has an unlinked leg", (long long)f, v[0], v[1], v[2]);
            if (corner < 0) break;
            int32_t p = v[(corner + 1) % 3], q = v[(corner + 2) % 3];
            CHECK(abs(p3d_ldi_x(&l, p) - p3d_ldi_x(&l, q)) == 1 && abs(p3d_ldi_y(&l, p) - p3d_ldi_y(&l, q)) == 1);
            CHECK(fabsf(1.0f / l.depth[p] - 1.0f / l.depth[q]) <= thr);
            CHECK(image_area(&l, &m, f) < 0);
            CHECK(f == 0 || v[0] >= m.faces[3 * (f - 1)]); /* ordered by node (the corner is written first) */
            for (int64_t g = f + 1; g < m.n_faces && g < f + 8; g++) CHECK(!face_is(&m, g, v[0], v[1], v[2]));
        }
        /* Closed quads get exactly 0 or 2 faces: count faces per (TL node of a closed quad). */
        for (int32_t a = 0; a < l.n_nodes; a++) {
            int32_t b = l.link[4 * a + P3D_DIR_RIGHT], c = l.link[4 * a + P3D_DIR_DOWN];
            if (b < 0 || c < 0 || l.link[4 * b + P3D_DIR_DOWN] < 0 || l.link[4 * b + P3D_DIR_DOWN] != l.link[4 * c + P3D_DIR_RIGHT])
                continue;
            int32_t d = l.link[4 * b + P3D_DIR_DOWN], n = 0;
            for (int64_t f = 0; f < m.n_faces; f++) {
                int in = 0;
                for (int i = 0; i < 3; i++) {
                    int32_t x = m.faces[3 * f + i];
                    in += x == a || x == b || x == c || x == d;
                }
                n += in == 3;
            }
            CHECK_MSG(n == 0 || n == 2, "closed quad at node %d has %d faces", (int)a, (int)n);
        }
#ifdef P3D_HAVE_OPENMP
        /* The same bytes with one thread and with three. */
        int saved = omp_get_max_threads();
        p3d_mesh m1, m3;
        omp_set_num_threads(1);
        CHECK_OK(p3d_mesh_from_ldi(&l, thr, &m1));
        omp_set_num_threads(3);
        CHECK_OK(p3d_mesh_from_ldi(&l, thr, &m3));
        omp_set_num_threads(saved);
        CHECK(m1.n_faces == m.n_faces && m3.n_faces == m.n_faces);
        if (m1.n_faces == m.n_faces && m3.n_faces == m.n_faces) {
            CHECK(!memcmp(m1.faces, m.faces, (size_t)m.n_faces * 12) && !memcmp(m3.faces, m.faces, (size_t)m.n_faces * 12));
            CHECK(!memcmp(m1.xyz, m3.xyz, (size_t)m.n_vertices * 12));
        }
        p3d_mesh_free(&m1);
        p3d_mesh_free(&m3);
#endif
        p3d_mesh_free(&m);
        p3d_ldi_free(&l);
    }
}

/* ---- files ---------------------------------------------------------------------------------- */

static int meshes_equal(const p3d_mesh *a, const p3d_mesh *b) {
    if (a->n_vertices != b->n_vertices || a->n_faces != b->n_faces || a->width != b->width || a->height != b->height ||
        memcmp(&a->hfov, &b->hfov, 4) || memcmp(&a->vfov, &b->vfov, 4))
        return 0;
    return !memcmp(a->xyz, b->xyz, (size_t)a->n_vertices * 12) && !memcmp(a->rgba, b->rgba, (size_t)a->n_vertices * 4) &&
           !memcmp(a->faces, b->faces, (size_t)a->n_faces * 12);
}

/* A random mesh whose coordinates are arbitrary finite float bit patterns (all magnitudes, subnormals,
 * -0) next to ordinary values, to exercise the shortest float text. */
static void random_mesh(p3d_mesh *m, int64_t nv, int64_t nf) {
    CHECK_OK(p3d_mesh_alloc(m, nv, nf));
    m->width = 960;
    m->height = 640;
    m->hfov = 0.9272952180016122f;
    m->vfov = 0.6435011087932844f;
    for (int64_t i = 0; i < 3 * nv; i++) {
        float v;
        do {
            uint32_t bits = rnd() << 16 ^ rnd();
            memcpy(&v, &bits, 4);
        } while (!isfinite(v));
        if (i % 3 == 2) v = 1.0f + (float)(rnd() % 100000) / 7.0f;
        if (i == 4) v = -0.0f;
        if (i == 5) v = 1e-45f;
        m->xyz[i] = v;
    }
    for (int64_t i = 0; i < 4 * nv; i++) m->rgba[i] = (uint8_t)rnd();
    for (int64_t i = 0; i < 3 * nf; i++) m->faces[i] = (int32_t)(rnd() % (uint32_t)nv);
}

/* The obvious definition of the shortest text: "%.6g" .. "%.9g", the first that reads back. */
static int slow_float_text(float v, char *buf) {
    int len = 0;
    for (int prec = 6; prec <= 9; prec++) {
        len = snprintf(buf, 32, "%.*g", prec, (double)v);
        float back = strtof(buf, NULL);
        if (!memcmp(&back, &v, 4)) break;
    }
    return len;
}

static void check_float_text(float v) {
    char fast[32], slow[32];
    int nf = p3d_mesh_format_float(v, fast), ns = slow_float_text(v, slow);
    float back = strtof(fast, NULL);
    CHECK_MSG(nf == ns && !strcmp(fast, slow) && !memcmp(&back, &v, 4), "%a: '%s' vs '%s'", (double)v, fast, slow);
}

static void test_float_text(void) {
    for (int i = 0; i < 300000; i++) {
        uint32_t bits = rnd() << 16 ^ rnd();
        float v;
        memcpy(&v, &bits, 4);
        if (isfinite(v)) check_float_text(v);
        check_float_text((float)(rnd() % 2000000) / 1024.0f - 900.0f); /* ordinary coordinates */
    }
    for (int k = -45; k <= 38; k++) { /* decades and their neighbours */
        float v = strtof("1", NULL) * (float)pow(10.0, k);
        check_float_text(v);
        check_float_text(nextafterf(v, 0));
        check_float_text(nextafterf(v, INFINITY));
    }
    for (int k = -149; k <= 127; k++) { /* powers of two (the interval below halves) and neighbours */
        float v = ldexpf(1.0f, k);
        check_float_text(v);
        check_float_text(-nextafterf(v, 0));
        check_float_text(nextafterf(v, INFINITY));
    }
    check_float_text(0.0f);
    check_float_text(-0.0f);
    check_float_text(3.4028235e38f);
}

static const p3d_mesh_format k_formats[3] = {P3D_MESH_PLY_ASCII, P3D_MESH_PLY_BINARY, P3D_MESH_GLB};
static const char *const k_names[3] = {"a.ply", "b.ply", "c.glb"};

static void test_round_trips(void) {
    p3d_mesh m;
    random_mesh(&m, 3000, 5000);
    char path[512];
    for (int k = 0; k < 3; k++) {
        p3d_mesh r;
        CHECK_OK(p3d_mesh_write(&m, p3d_test_tmp_path(k_names[k], path, sizeof path), k_formats[k]));
        CHECK_OK(p3d_mesh_read(path, &r));
        CHECK_MSG(meshes_equal(&m, &r), "format %d does not round-trip", k);
        p3d_mesh_free(&r);
    }
    p3d_mesh_free(&m);
    /* A mesh from an LDI, and the empty mesh, and vertices without faces. */
    p3d_ldi l;
    random_ldi(&l, 30, 20, 2, 10);
    CHECK_OK(p3d_mesh_from_ldi(&l, 0.04f, &m));
    p3d_ldi_free(&l);
    p3d_mesh e, pts;
    CHECK_OK(p3d_mesh_alloc(&e, 0, 0));
    random_mesh(&pts, 5, 0);
    const p3d_mesh *cases[3] = {&m, &e, &pts};
    for (int c = 0; c < 3; c++)
        for (int k = 0; k < 3; k++) {
            p3d_mesh r;
            CHECK_OK(p3d_mesh_write(cases[c], p3d_test_tmp_path(k_names[k], path, sizeof path), k_formats[k]));
            CHECK_OK(p3d_mesh_read(path, &r));
            CHECK_MSG(meshes_equal(cases[c], &r), "case %d format %d does not round-trip", c, k);
            p3d_mesh_free(&r);
        }
    p3d_mesh_free(&m);
    p3d_mesh_free(&e);
    p3d_mesh_free(&pts);
}

static void test_ascii_text(void) {
    /* The reference's layout, shortest float text. */
    p3d_mesh m;
    CHECK_OK(p3d_mesh_alloc(&m, 2, 1));
    const float xyz[6] = {0.1f, -2.5f, 1.0f, 1e-5f, 3.4028235e38f, 0.3f};
    memcpy(m.xyz, xyz, sizeof xyz);
    const uint8_t rgba[8] = {255, 0, 17, 1, 1, 2, 3, 5};
    memcpy(m.rgba, rgba, 8);
    m.faces[0] = 0;
    m.faces[1] = 1;
    m.faces[2] = 0;
    m.width = 960;
    m.height = 640;
    m.hfov = 0.9272952f;
    m.vfov = 0.6435011f;
    char path[512];
    CHECK_OK(p3d_mesh_write(&m, p3d_test_tmp_path("t.ply", path, sizeof path), P3D_MESH_PLY_ASCII));
    uint8_t *data = NULL;
    size_t len = 0;
    CHECK_OK(p3d_file_read(path, 1 << 20, &data, &len));
    const char *want = "ply\nformat ascii 1.0\ncomment H 640\ncomment W 960\ncomment hFov 0.9272952\ncomment vFov 0.6435011\n"
                       "element vertex 2\nproperty float x\nproperty float y\nproperty float z\nproperty uchar red\n"
                       "property uchar green\nproperty uchar blue\nproperty uchar alpha\nelement face 1\n"
                       "property list uchar int vertex_index\nend_header\n0.1 -2.5 1 255 0 17 1\n"
                       "1e-05 3.4028235e+38 0.3 1 2 3 5\n3 0 1 0\n";
    CHECK(data && len == strlen(want) && !memcmp(data, want, len));
    if (data && (len != strlen(want) || memcmp(data, want, len))) fprintf(stderr, "got:\n%.*s", (int)len, (const char *)data);
    free(data);
    CHECK_OK(p3d_mesh_write(&m, path, P3D_MESH_PLY_BINARY));
    CHECK_OK(p3d_file_read(path, 1 << 20, &data, &len));
    CHECK(data && len > 40 && !memcmp(data, "ply\nformat binary_little_endian 1.0\ncomment H 640\n", 50));
    free(data);
    p3d_mesh_free(&m);
}

static void test_reference_file(void) {
    p3d_mesh m;
    CHECK_OK(p3d_mesh_read("tests/data/mesh/reference_style.ply", &m));
    CHECK(m.n_vertices == 4 && m.n_faces == 2 && m.width == 2 && m.height == 2);
    if (m.n_vertices != 4 || m.n_faces != 2) {
        p3d_mesh_free(&m);
        return;
    }
    CHECK(m.hfov == 0.9272952180016122f && m.vfov == 0.6435011087932844f);
    const float want[12] = {-0.26041666666666663f, -0.17361111111111108f, 1.0f, 0.123456789012345f, -0.17361111111111108f,
                            1.0000000000000002f, -0.26041666666666663f, 1e-05f, 2.5f, 3.0f, 0.3472222222222222f,
                            0.7999999999999999f};
    CHECK(!memcmp(m.xyz, want, sizeof want));
    const uint8_t rgba[16] = {255, 0, 17, 1, 128, 64, 32, 2, 0, 0, 0, 5, 1, 2, 3, 4};
    CHECK(!memcmp(m.rgba, rgba, 16));
    const int32_t faces[6] = {0, 2, 1, 1, 2, 3};
    CHECK(!memcmp(m.faces, faces, sizeof faces));
    p3d_mesh_free(&m);
}

static const char k_head6[] = "ply\r\nformat ascii 1.0\r\nelement vertex 3\r\nproperty float32 x\r\nproperty float32 y\r\n"
                              "property float32 z\r\nproperty uint8 red\r\nproperty uint8 green\r\nproperty uint8 blue\r\n"
                              "element face 1\r\nproperty list uint8 int32 vertex_indices\r\nend_header\r\n";

static void test_no_alpha(void) {
    char path[512], text[1024];
    snprintf(text, sizeof text, "%s0 0 1 1 2 3\r\n1 0 1 4 5 6\r\n0 1 1 7 8 9\r\n3 0 1 2\r\n", k_head6);
    p3d_mesh m;
    CHECK_OK(p3d_mesh_read(p3d_test_tmp_file("noalpha.ply", text, strlen(text), path, sizeof path), &m));
    CHECK(m.n_vertices == 3 && m.n_faces == 1);
    if (m.n_vertices == 3) CHECK(m.rgba[3] == 1 && m.rgba[7] == 1 && m.rgba[8] == 7 && m.xyz[3] == 1.0f);
    p3d_mesh_free(&m);
}

/* Reads `text` as a file and expects P3D_ERR_FORMAT mentioning needle. */
static void expect_bad(const char *text, size_t len, const char *needle) {
    char path[512];
    p3d_mesh m;
    CHECK_FAILS(p3d_mesh_read(p3d_test_tmp_file("bad.ply", text, len, path, sizeof path), &m), P3D_ERR_FORMAT, needle);
    CHECK(m.n_vertices == 0 && m.xyz == NULL);
}

static void test_bad_ply(void) {
    char text[2048];
    const char *h7 = "ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\nproperty float y\nproperty float z\n"
                     "property uchar red\nproperty uchar green\nproperty uchar blue\nproperty uchar alpha\n";
#define BAD(needle, ...)                                                                           \
    do {                                                                                           \
        snprintf(text, sizeof text, __VA_ARGS__);                                                  \
        expect_bad(text, strlen(text), needle);                                                    \
    } while (0)
    const char *v3 = "0 0 1 1 2 3 1\n1 0 1 4 5 6 1\n0 1 1 7 8 9 1\n";
    BAD("only triangles", "%selement face 1\nproperty list uchar int vertex_index\nend_header\n%s4 0 1 2 0\n", h7, v3);
    BAD("line 17: face 0: vertex index '3' out of range", "%selement face 1\nproperty list uchar int vertex_index\nend_header\n%s3 0 1 3\n", h7, v3);
    BAD("index '-1' out of range", "%selement face 1\nproperty list uchar int vertex_index\nend_header\n%s3 0 -1 2\n", h7, v3);
    BAD("truncated", "%selement face 2\nproperty list uchar int vertex_index\nend_header\n%s3 0 1 2\n", h7, v3);
    BAD("data after", "%selement face 1\nproperty list uchar int vertex_index\nend_header\n%s3 0 1 2\n3 0 1 2\n", h7, v3);
    BAD("line 15: vertex 1 has 6 values, expected 7", "%selement face 1\nproperty list uchar int vertex_index\nend_header\n"
        "0 0 1 1 2 3 1\n1 0 1 4 5 6\n0 1 1 7 8 9 1\n3 0 1 2\n", h7);
    BAD("bad coordinate 'x'", "%selement face 0\nproperty list uchar int vertex_index\nend_header\n0 0 x 1 2 3 1\n1 0 1 4 5 6 1\n0 1 1 7 8 9 1\n", h7);
    BAD("bad coordinate 'nan'", "%selement face 0\nproperty list uchar int vertex_index\nend_header\n0 0 nan 1 2 3 1\n1 0 1 4 5 6 1\n0 1 1 7 8 9 1\n", h7);
    BAD("bad colour byte '256'", "%selement face 0\nproperty list uchar int vertex_index\nend_header\n0 0 1 256 2 3 1\n1 0 1 4 5 6 1\n0 1 1 7 8 9 1\n", h7);
    BAD("binary_big_endian", "ply\nformat binary_big_endian 1.0\nelement vertex 0\nend_header\n");
    BAD("unsupported property", "ply\nformat ascii 1.0\nelement vertex 1\nproperty double x\nend_header\n0\n");
    BAD("unsupported element", "ply\nformat ascii 1.0\nelement edge 1\nend_header\n0\n");
    BAD("without end_header", "ply\nformat ascii 1.0\nelement vertex 1\n");
    BAD("malformed comment H", "ply\nformat ascii 1.0\ncomment H x\nend_header\n");
    BAD("not a mesh file", "solid cube\n");
    /* Hostile counts: refused from the file size, before any allocation. */
    BAD("truncated", "%selement face 999999999999999999\nproperty list uchar int vertex_index\nend_header\n%s", h7, v3);
    BAD("truncated", "ply\nformat binary_little_endian 1.0\nelement vertex 2000000000\nproperty float x\nproperty float y\n"
        "property float z\nproperty uchar red\nproperty uchar green\nproperty uchar blue\nend_header\n0123456789abcdef");
    BAD("vertices (at most", "ply\nformat ascii 1.0\nelement vertex 99999999999\nend_header\n");
    BAD("bad element count", "ply\nformat ascii 1.0\nelement vertex -5\nend_header\n");
#undef BAD
}

/* Writes m in format fmt, then reads every proper prefix of the file and (bytes flipped) variants:
 * each read must fail cleanly or, for flips, produce a consistent mesh. */
static void corrupt_all(const p3d_mesh *m, p3d_mesh_format fmt, const char *name) {
    char path[512], cut[512];
    CHECK_OK(p3d_mesh_write(m, p3d_test_tmp_path(name, path, sizeof path), fmt));
    uint8_t *data = NULL;
    size_t len = 0;
    CHECK_OK(p3d_file_read(path, 1 << 20, &data, &len));
    if (!data) return;
    int bad_ok = 0;
    for (size_t n = 0; n < len; n++) {
        p3d_mesh r;
        p3d_test_tmp_file("cut", data, n, cut, sizeof cut);
        p3d_clear_error();
        p3d_status st = p3d_mesh_read(cut, &r);
        bad_ok += st == P3D_OK;
        if (st == P3D_OK) fprintf(stderr, "  %s cut at %zu read fine\n", name, n);
        CHECK(st == P3D_ERR_FORMAT && strstr(p3d_last_error(), cut));
        p3d_mesh_free(&r);
    }
    CHECK(bad_ok == 0);
    for (size_t n = 0; n < len; n++) {
        uint8_t saved = data[n];
        data[n] ^= (uint8_t)(1u << (n % 8));
        p3d_test_tmp_file("flip", data, len, cut, sizeof cut);
        data[n] = saved;
        p3d_mesh r;
        if (p3d_mesh_read(cut, &r) == P3D_OK) {
            for (int64_t i = 0; i < 3 * r.n_faces; i++) CHECK(r.faces[i] >= 0 && r.faces[i] < r.n_vertices);
            p3d_mesh_free(&r);
        } else {
            CHECK(p3d_last_error()[0] != 0);
        }
    }
    free(data);
}

static void test_truncated_and_corrupt(void) {
    p3d_mesh m;
    random_mesh(&m, 5, 4);
    corrupt_all(&m, P3D_MESH_PLY_BINARY, "small.ply");
    corrupt_all(&m, P3D_MESH_GLB, "small.glb");
    p3d_mesh_free(&m);
}

/* Replaces the character at `at` of the first `pattern` in the GLB's JSON by c (same length, so the
 * container stays valid) and expects the read to fail mentioning needle; restores the byte. */
static void glb_edit_fails(uint8_t *data, size_t len, const char *pattern, size_t at, char c, const char *needle) {
    char path[512], *hit = strstr((char *)data + 20, pattern);
    CHECK_MSG(hit != NULL, "no %s in the JSON", pattern);
    if (!hit) return;
    const char saved = hit[at];
    hit[at] = c;
    p3d_mesh m;
    CHECK_FAILS(p3d_mesh_read(p3d_test_tmp_file("h.glb", data, len, path, sizeof path), &m), P3D_ERR_FORMAT, needle);
    hit[at] = saved;
}

static void test_bad_glb(void) {
    p3d_mesh m;
    random_mesh(&m, 4, 2);
    char path[512];
    CHECK_OK(p3d_mesh_write(&m, p3d_test_tmp_path("x.glb", path, sizeof path), P3D_MESH_GLB));
    p3d_mesh_free(&m);
    uint8_t *data = NULL;
    size_t len = 0;
    CHECK_OK(p3d_file_read(path, 1 << 20, &data, &len));
    if (!data) return;
    /* Hostile accessor count: the digits of "count":4 for POSITION become 9 (same length). */
    glb_edit_fails(data, len, "\"count\":4", 8, '9', "runs past");
    glb_edit_fails(data, len, "\"version\":\"2.0\"", 11, '1', "not a glTF 2.0");
    data[8] ^= 4; /* total length */
    CHECK_FAILS(p3d_mesh_read(p3d_test_tmp_file("h.glb", data, len, path, sizeof path), &m), P3D_ERR_FORMAT, "header says");
    free(data);
}

static void test_format_from_path(void) {
    p3d_mesh_format f = P3D_MESH_PLY_ASCII;
    CHECK_OK(p3d_mesh_format_from_path("out/scene.GLB", &f));
    CHECK(f == P3D_MESH_GLB);
    CHECK_OK(p3d_mesh_format_from_path("scene.ply", &f));
    CHECK(f == P3D_MESH_PLY_BINARY);
    CHECK_FAILS(p3d_mesh_format_from_path("scene.obj", &f), P3D_ERR_INVALID_ARG, "scene.obj");
    CHECK_FAILS(p3d_mesh_format_from_path("dir.ply/scene", &f), P3D_ERR_INVALID_ARG, "unknown mesh file type");
    /* A writer refuses an index out of range and leaves no file. */
    p3d_mesh m;
    random_mesh(&m, 3, 1);
    m.faces[1] = 3;
    char path[512];
    CHECK_FAILS(p3d_mesh_write(&m, p3d_test_tmp_path("never.ply", path, sizeof path), P3D_MESH_PLY_BINARY),
                P3D_ERR_INVALID_ARG, "vertex 3 of 3");
    CHECK(access(path, F_OK) != 0);
    p3d_mesh_free(&m);
}

static void test_cuda_matches_cpu(void) {
#ifdef P3D_HAVE_CUDA
    p3d_ctx *ctx = cuda_ctx_or_skip("CPU-vs-CUDA comparison");
    if (!ctx) return;
    for (int round = 0; round < 3; round++) {
        p3d_ldi l;
        random_ldi(&l, 40 + 7 * round, 31, round ? 4 : 0, round * 10);
        p3d_mesh a, b;
        CHECK_OK(p3d_mesh_from_ldi(&l, 0.02f, &a));
        CHECK_OK(p3d_mesh_from_ldi_ctx(ctx, &l, 0.02f, &b));
        CHECK(meshes_equal(&a, &b));
        p3d_mesh_free(&a);
        p3d_mesh_free(&b);
        p3d_ldi_free(&l);
    }
    p3d_ctx_free(ctx);
#else
    p3d_test_no_cuda();
#endif
}

/* A 6 x 4 grid of a tilted plane, with one torn link, as GLB (for tests/test_mesh_glb.sh). */
static int write_sample_glb(const char *path) {
    float depth[24];
    for (int i = 0; i < 24; i++) depth[i] = 2.0f + 0.05f * (float)(i % 6) + 0.1f * (float)(i / 6);
    p3d_ldi l;
    grid_ldi(&l, 6, 4, depth);
    p3d_ldi_unlink(&l, 8, P3D_DIR_RIGHT);
    l.label[5] = P3D_LABEL_BORDER;
    p3d_mesh m;
    p3d_status st = p3d_mesh_from_ldi(&l, 0.5f, &m);
    if (st == P3D_OK) st = p3d_mesh_write(&m, path, P3D_MESH_GLB);
    if (st != P3D_OK) fprintf(stderr, "%s\n", p3d_last_error());
    p3d_mesh_free(&m);
    p3d_ldi_free(&l);
    return st == P3D_OK ? 0 : 1;
}

int main(int argc, char **argv) {
    if (argc == 3 && !strcmp(argv[1], "--write-glb")) return write_sample_glb(argv[2]);
    RUN(test_full_quad);
    RUN(test_diagonal_choice);
    RUN(test_torn_side);
    RUN(test_l_and_jump);
    RUN(test_two_layers);
    RUN(test_random_properties);
    RUN(test_float_text);
    RUN(test_round_trips);
    RUN(test_ascii_text);
    RUN(test_reference_file);
    RUN(test_no_alpha);
    RUN(test_bad_ply);
    RUN(test_truncated_and_corrupt);
    RUN(test_bad_glb);
    RUN(test_format_from_path);
    RUN(test_cuda_matches_cpu);
    return p3d_test_finish();
}
