/* test_ldi_fixtures.c - the whole per-image job (depth preparation, LDI, inpainting, border, mesh)
 * on every real fixture, with the non-learned fill, checking the invariants of issue 5:
 *   - every input pixel appears exactly once in layer 0 (as itself: original label, pass 0);
 *   - every synthesised node lies behind the visible node at its pixel;
 *   - no face spans a torn link (every triangle's two legs are links of the LDI);
 *   - the PLY (binary and ASCII) and GLB written re-read equal to what was written;
 *   - the result is identical run to run and independent of the thread count;
 *   - moon at 960: a camera moved 2 cm sideways sees geometry behind the silhouettes (below).
 * Prints per fixture: edges, synthesised pixels, vertices, faces, time per stage. Runs at a longer side
 * of 480 to keep the suite short; nothing here depends on the size (the bench runs 960). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "p3d_test.h"
#include "pipeline/photo3d.h"
#include "mesh/mesh_file.h"
#include "render/render.h"
#include "render/trajectory.h"
#include "test_nets.h"

static p3d_ctx *g_cpu;

typedef struct fixture {
    const char *image, *depth;
    p3d_depth_kind kind;
    float scale;
} fixture;

static const fixture k_fixtures[] = {
    {"moon/moon.jpg", "moon/moon.npy", P3D_DEPTH_DISPARITY, 1.0f},
    {"columns/columns.jpg", "columns/columns.npy", P3D_DEPTH_DISPARITY, 1.0f},
    {"tum-kinect/TUM_color.png", "tum-kinect/TUM_depth.png", P3D_DEPTH_METRIC, 1.0f / 5000.0f},
    {"middlebury-cones/im2.png", "middlebury-cones/disp2.png", P3D_DEPTH_DISPARITY, 0.25f},
};

static int32_t node_at(const p3d_ldi *l, int32_t x, int32_t y) { return l->head[y * l->ext_w + x]; }

static void check_invariants(const p3d_photo_result *r) {
    const p3d_ldi *l = &r->ldi;
    CHECK_OK(p3d_ldi_check(l));
    int64_t bad0 = 0, not_behind = 0;
    for (int32_t y = 0; y < l->ext_h; y++)
        for (int32_t x = 0; x < l->ext_w; x++) {
            int32_t h = node_at(l, x, y);
            int32_t inside = x >= l->border && y >= l->border && x < l->border + l->width && y < l->border + l->height;
            int32_t originals = 0;
            for (int32_t c = h; c >= 0; c = l->next[c]) originals += l->label[c] == P3D_LABEL_ORIGINAL;
            if (inside && (h < 0 || l->label[h] != P3D_LABEL_ORIGINAL || l->iter[h] != 0 || originals != 1)) bad0++;
            if (!inside && (h < 0 || l->label[h] != P3D_LABEL_BORDER || originals != 0)) bad0++;
            for (int32_t c = h >= 0 ? l->next[h] : -1; c >= 0; c = l->next[c])
                if (l->iter[c] == 0 || !(l->depth[c] > l->depth[h])) not_behind++;
        }
    CHECK_MSG(bad0 == 0, "%lld pixels whose layer 0 is not the input pixel (or border) exactly once", (long long)bad0);
    CHECK_MSG(not_behind == 0, "%lld synthesised nodes not behind the visible node", (long long)not_behind);
    /* faces: vertex i = node i; both legs at the right-angle corner must be links */
    const p3d_mesh *m = &r->mesh;
    CHECK(m->n_vertices == l->n_nodes);
    int64_t bad_faces = 0;
    for (int64_t f = 0; f < m->n_faces; f++) {
        const int32_t *t = m->faces + 3 * f;
        int32_t legs = 0;
        for (int32_t i = 0; i < 3; i++)
            for (int32_t j = i + 1; j < 3; j++)
                for (int32_t d = 0; d < 4; d++) legs += l->link[4 * (size_t)t[i] + d] == t[j];
        if (legs != 2) bad_faces++;
    }
    CHECK_MSG(bad_faces == 0, "%lld faces do not sit on two links of the LDI", (long long)bad_faces);
}

static int same_mesh(const p3d_mesh *a, const p3d_mesh *b) {
    return a->n_vertices == b->n_vertices && a->n_faces == b->n_faces && a->width == b->width &&
           a->height == b->height && a->hfov == b->hfov && a->vfov == b->vfov &&
           !memcmp(a->xyz, b->xyz, (size_t)a->n_vertices * 12) && !memcmp(a->rgba, b->rgba, (size_t)a->n_vertices * 4) &&
           !memcmp(a->faces, b->faces, (size_t)a->n_faces * 12);
}

/* GLB stores y and z negated: equal up to that sign. */
static int same_mesh_glb(const p3d_mesh *a, const p3d_mesh *b) {
    if (a->n_vertices != b->n_vertices || a->n_faces != b->n_faces) return 0;
    for (int64_t i = 0; i < a->n_vertices * 3; i++)
        if (a->xyz[i] != b->xyz[i]) return 0;
    return !memcmp(a->rgba, b->rgba, (size_t)a->n_vertices * 4) && !memcmp(a->faces, b->faces, (size_t)a->n_faces * 12);
}

static int run_fixture_with(const fixture *fx, const p3d_ldi_nets *nets, int32_t longer, p3d_photo_result *r) {
    char img[1024], dep[1024];
    if (!p3d_test_fixture(fx->image, img, sizeof img) || !p3d_test_fixture(fx->depth, dep, sizeof dep)) return 0;
    p3d_depth_opts dopt = {fx->kind, fx->scale};
    p3d_depth map;
    CHECK_OK(p3d_depth_read(dep, &dopt, &map));
    p3d_photo_opts o = p3d_photo_opts_default();
    o.longer_side = longer;
    p3d_status s = p3d_photo_to_mesh(g_cpu, nets, img, &map, &o, r);
    p3d_depth_free(&map);
    CHECK_MSG(s == P3D_OK, "%s: %s", fx->image, p3d_last_error());
    return s == P3D_OK;
}

static int run_fixture(const fixture *fx, p3d_photo_result *r) {
    p3d_ldi_nets none = {NULL, NULL, NULL};
    return run_fixture_with(fx, &none, 480, r);
}

static void print_stats(const char *what, const p3d_photo_result *r) {
    const p3d_ldi_report *rep = &r->report;
    fprintf(stderr, "  %s: %dx%d, edges %d + %d, synthesised %d + %d, border %d, vertices %lld, faces %lld; s:", what,
            (int)r->width, (int)r->height, (int)rep->edges[0], (int)rep->edges[1], (int)rep->synthesised[0],
            (int)rep->synthesised[1], (int)rep->border_nodes, (long long)r->mesh.n_vertices, (long long)r->mesh.n_faces);
    fprintf(stderr, " prep %.2f", r->seconds_prep);
    for (int32_t k = 0; k < P3D_LDI_STAGE_COUNT; k++) fprintf(stderr, " %s %.2f", p3d_ldi_stage_name(k), rep->seconds[k]);
    fprintf(stderr, " mesh %.2f\n", r->seconds_mesh);
}

static void test_fixtures(void) {
    int32_t ran = 0;
    for (size_t i = 0; i < sizeof k_fixtures / sizeof k_fixtures[0]; i++) {
        const fixture *fx = &k_fixtures[i];
        p3d_photo_result r1, r2;
        if (!run_fixture(fx, &r1)) continue;
        ran++;
        check_invariants(&r1);
        const p3d_ldi_report *rep = &r1.report;
        print_stats(fx->image, &r1);
        CHECK(rep->edges[0] > 0 && rep->synthesised[0] > 0 && r1.mesh.n_faces > 0);
        /* files re-read equal */
        static const p3d_mesh_format fmts[3] = {P3D_MESH_PLY_BINARY, P3D_MESH_PLY_ASCII, P3D_MESH_GLB};
        static const char *const names[3] = {"m.ply", "ma.ply", "m.glb"};
        for (int32_t k = 0; k < 3; k++) {
            char path[1024];
            p3d_test_tmp_path(names[k], path, sizeof path);
            CHECK_OK(p3d_mesh_write(&r1.mesh, path, fmts[k]));
            p3d_mesh back;
            memset(&back, 0, sizeof back);
            CHECK_OK(p3d_mesh_read(path, &back));
            CHECK_MSG(k == 2 ? same_mesh_glb(&r1.mesh, &back) : same_mesh(&r1.mesh, &back), "%s: %s differs after re-reading",
                      fx->image, names[k]);
            p3d_mesh_free(&back);
        }
        /* run to run, and with one thread */
#ifdef _OPENMP
        int32_t t = omp_get_max_threads();
        omp_set_num_threads(t > 1 ? 1 : 2);
#endif
        if (run_fixture(fx, &r2)) {
            CHECK_MSG(same_mesh(&r1.mesh, &r2.mesh), "%s: the mesh differs between runs / thread counts", fx->image);
            p3d_photo_result_free(&r2);
        }
#ifdef _OPENMP
        omp_set_num_threads(t);
#endif
        p3d_photo_result_free(&r1);
    }
    if (ran == 0) SKIP("no fixture found under ../shared/fixtures");
}

/* The learned fill on every fixture, with the random-weight test blobs made calm: each net's last
 * layer zeroed, its bias set so the output is constant (depth net 0: the context's mean log depth;
 * colour net sigmoid(0) = 0.5; edge net sigmoid(-20): no predicted edge). Every other layer computes
 * as usual, so the whole learned path runs - patches, batching by padded size, the nets' arithmetic,
 * write-back, both passes, the border - on real images; with fully random outputs every pixel of the
 * border and of the new layers becomes a depth edge and the run takes tens of minutes on a CPU (the
 * synthetic scene of test_ldi.c runs the fully random nets). Even calm, the nets cost about 10 minutes
 * for the four fixtures on a 2-core machine (constant outputs still leave hundreds of small edges), so
 * this case runs when P3D_TEST_HEAVY=1 and is skipped, saying so, otherwise. */
static void test_fixtures_learned(void) {
    const char *heavy = getenv("P3D_TEST_HEAVY");
    if (!heavy || strcmp(heavy, "1") != 0) {
        SKIP("learned fill on the fixtures: about 10 min on 2 cores; set P3D_TEST_HEAVY=1 to run it");
        return;
    }
    p3d_ldi_nets nets = {NULL, NULL, NULL};
    const p3d_t_tame calm[3] = {{1, 0.0f, -20.0f}, {1, 0.0f, 0.0f}, {1, 0.0f, 0.0f}};
    if (p3d_t_load_nets(g_cpu, calm, &nets.edge, &nets.depth, &nets.color) != P3D_OK) {
        SKIP("learned fill: random-weight blobs not found (%s)", p3d_last_error());
        return;
    }
    for (size_t i = 0; i < sizeof k_fixtures / sizeof k_fixtures[0]; i++) {
        p3d_photo_result r;
        if (!run_fixture_with(&k_fixtures[i], &nets, 192, &r)) continue;
        check_invariants(&r);
        print_stats(k_fixtures[i].image, &r);
        CHECK(r.report.edges[0] > 0 && r.report.inpaint.net_calls[1] > 0 && r.report.inpaint.net_calls[2] > 0);
        p3d_photo_result_free(&r);
    }
    p3d_nets_free(&nets);
}

/* Pixels without geometry (exactly the background colour) in a 960 x 960 still of m at pose (x, 0, 0),
 * supersampled 2x, with the renderer's default crop: what `photo3d-gpu render --pose x,0,0 --ssaa 2`
 * writes. */
static int64_t uncovered_at(const p3d_mesh *m, const char *pose) {
    p3d_render_opts ro = {960, 960, 2, {128, 128, 128}};
    p3d_renderer *rr = NULL;
    p3d_pose p;
    uint8_t *rgb = (uint8_t *)malloc((size_t)960 * 960 * 3);
    int64_t n = -1;
    if (rgb && p3d_pose_parse(pose, m->hfov, &p) == P3D_OK && p3d_renderer_init(g_cpu, m, &ro, &rr) == P3D_OK) {
        const p3d_view v = p3d_view_of_pose(m, &p, 960, 960, p3d_crop_border_default);
        if (p3d_render_frame(rr, &v, rgb) == P3D_OK) {
            n = 0;
            for (size_t i = 0; i < (size_t)960 * 960; i++) n += rgb[3 * i] == 128 && rgb[3 * i + 1] == 128 && rgb[3 * i + 2] == 128;
        }
    }
    p3d_renderer_free(rr);
    free(rgb);
    return n;
}

/* Moon at 960 (the default sizes; the hole does not show at 480): left of the helmet, where the
 * silhouette's far side changes from sky to ground, the contour is several depth edges. Their
 * contexts crossed each other's masks onto the suit, the depth fill took the suit's depth for the
 * hidden layer, and at -2 cm about 1100 pixels left of the helmet showed no geometry (1373 in the
 * frame; 187 before the depth preparation kept sharp edges, issue 15). With contexts kept off every
 * mask (p3d_ldi_ctx_takes): 510. The rows of the hidden layer there that grew from the depth map's
 * own edge pixels (depths between sky and helmet, a one-row seam each) no longer do
 * (ldi_inpaint.c context_supported): 310 at -2 cm, 75 at +2 cm (157 before). What is left: the seam
 * at the sky / ground boundary behind the helmet and the block below it. */
static void test_moon_silhouette(void) {
    p3d_photo_result r;
    if (!run_fixture_with(&k_fixtures[0], &(p3d_ldi_nets){NULL, NULL, NULL}, 960, &r)) {
        SKIP("moon fixture not found under ../shared/fixtures");
        return;
    }
    const int64_t left = uncovered_at(&r.mesh, "-0.02,0,0"), right = uncovered_at(&r.mesh, "0.02,0,0");
    fprintf(stderr, "  moon 960: pixels without geometry at -2 cm %lld, +2 cm %lld\n", (long long)left, (long long)right);
    CHECK(left >= 0 && right >= 0);
    CHECK_MSG(left <= 400, "moon at -2 cm: %lld pixels without geometry (at most 400)", (long long)left);
    CHECK_MSG(right <= 120, "moon at +2 cm: %lld pixels without geometry (at most 120)", (long long)right);
    p3d_photo_result_free(&r);
}

int main(void) {
    p3d_device dev = {P3D_DEVICE_CPU, 0};
    if (p3d_ctx_init(&g_cpu, dev) != P3D_OK) {
        fprintf(stderr, "cpu context: %s\n", p3d_last_error());
        return 1;
    }
    RUN(test_fixtures);
    RUN(test_moon_silhouette);
    RUN(test_fixtures_learned);
    p3d_ctx_free(g_cpu);
    return p3d_test_finish();
}
