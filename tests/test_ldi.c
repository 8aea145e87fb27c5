/* test_ldi.c - the LDI stages on synthetic scenes whose answer is known: a foreground box over a
 * textured background plane, a speck smaller than min_component, both fills, invariants,
 * determinism and thread-count independence; the second pass behind a thin strip of a third surface
 * and two backgrounds meeting in a hidden layer (issue 15). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "ldi/ldi_graph_math.h"
#include "ldi/ldi_pipeline.h"
#include "p3d_test.h"
#include "test_nets.h"

static p3d_ctx *g_cpu;

enum { W = 120, H = 90, BX0 = 40, BX1 = 80, BY0 = 30, BY1 = 60 };

/* Background plane at depth 4 with a colour texture, a box at depth 1.5 (disparity jump 0.42),
 * and (speck = 1) a 4x4 speck at depth 2 inside the background (16 px < min_component 200). */
static void scene(uint8_t *rgb, float *depth, int32_t speck) {
    for (int32_t y = 0; y < H; y++)
        for (int32_t x = 0; x < W; x++) {
            size_t i = (size_t)y * W + x;
            int32_t box = x >= BX0 && x < BX1 && y >= BY0 && y < BY1;
            int32_t sp = speck && x >= 10 && x < 14 && y >= 10 && y < 14;
            depth[i] = box ? 1.5f : sp ? 2.0f : 4.0f;
            rgb[3 * i] = box ? 250 : (uint8_t)(((x / 4 + y / 4) & 1) ? 40 : 160);
            rgb[3 * i + 1] = box ? 20 : (uint8_t)(60 + x);
            rgb[3 * i + 2] = box ? 20 : (uint8_t)(60 + y);
        }
}

static p3d_camera cam_of(void) {
    p3d_camera c = {(float)W, (float)W, (float)(W / 2), (float)(H / 2)};
    return c;
}

/* Every image pixel's nearest node is its input node; every other node lies behind it. */
static void check_layers(const p3d_ldi *l) {
    CHECK_OK(p3d_ldi_check(l));
    int64_t bad_head = 0, bad_behind = 0;
    for (int32_t y = 0; y < l->ext_h; y++)
        for (int32_t x = 0; x < l->ext_w; x++) {
            int32_t h = l->head[y * l->ext_w + x];
            int32_t inside = x >= l->border && y >= l->border && x < l->border + W && y < l->border + H;
            if (inside && (h < 0 || l->iter[h] != 0 || l->label[h] != P3D_LABEL_ORIGINAL)) bad_head++;
            if (!inside && h >= 0 && l->label[h] != P3D_LABEL_BORDER) bad_head++;
            for (int32_t c = h >= 0 ? l->next[h] : -1; c >= 0; c = l->next[c])
                if (l->iter[c] == 0 || !(l->depth[c] > l->depth[h])) bad_behind++;
        }
    CHECK_MSG(bad_head == 0, "%lld pixels whose nearest node is not their input node", (long long)bad_head);
    CHECK_MSG(bad_behind == 0, "%lld synthesised nodes not behind the visible surface", (long long)bad_behind);
}

static void test_build_edges_regions(void) {
    static uint8_t rgb[W * H * 3];
    static float depth[W * H];
    scene(rgb, depth, 1);
    p3d_ldi_opts o = p3d_ldi_opts_default();
    o.border = 0;
    /* the minimum scales with the area (p3d_ldi_min_component): 200 pixels here, at 120 x 90, is
     * 12800 at the 960-px reference size; at the default's 3 pixels the speck would stay */
    o.min_component = 12800;
    CHECK(p3d_ldi_min_component(o.min_component, W, H) == 200);
    CHECK(p3d_ldi_min_component(200, 450, 375) == 44);
    CHECK(p3d_ldi_min_component(200, 960, 720) == 200);
    p3d_camera cam = cam_of();
    p3d_ldi l;
    CHECK_OK(p3d_ldi_init(&l, W, H, 0, &cam));
    p3d_ldi_build_stats bs;
    CHECK_OK(p3d_ldi_build(&l, rgb, depth, &o, &bs));
    CHECK(l.n_nodes == W * H);
    CHECK(bs.small_components == 1);     /* the speck */
    CHECK(bs.refilled_pixels == 16);
    CHECK(bs.torn_links == 2 * (BX1 - BX0) + 2 * (BY1 - BY0) + 16);
    /* the speck took the background's depth and is linked into it */
    int32_t sp = 11 * W + 11;
    CHECK_NEAR(l.depth[sp], 4.0f, 1e-6);
    CHECK(p3d_ldi_degree(&l, sp) == 4);
    check_layers(&l);

    p3d_ldi_edges e;
    int32_t removed = -1, joined = -1;
    CHECK_OK(p3d_ldi_cleanup(&l, &o, &e, &removed, &joined));
    CHECK(removed == 0);
    int32_t n_near = 0, n_far = 0, near_id = -1;
    for (int32_t k = 0; k < e.n_edges; k++) {
        if (e.near[k]) n_near++, near_id = k;
        else n_far++;
    }
    CHECK_MSG(n_near == 1 && n_far == 1, "edges: %d near, %d far (want 1, 1)", n_near, n_far);
    /* the near edge is the box's outline: 2 (40 + 30) - 4 pixels */
    CHECK(near_id >= 0 && e.size[near_id] == 2 * (BX1 - BX0) + 2 * (BY1 - BY0) - 4);
    for (int32_t y = 0; y < H; y++)
        for (int32_t x = 0; x < W; x++) {
            int32_t a = y * W + x, box = x >= BX0 && x < BX1 && y >= BY0 && y < BY1;
            int32_t rim = box && (x == BX0 || y == BY0 || x == BX1 - 1 || y == BY1 - 1);
            if (rim) CHECK(e.edge[a] == near_id);
            if (box && !rim) CHECK(e.edge[a] < 0);
        }

    p3d_ldi_regions r;
    CHECK_OK(p3d_ldi_regions_find(&l, &e, &o, 0, &r));
    /* the whole box is within 70 rings of its outline: all of it is synthesised, none of it context */
    int32_t in_mask = 0, ctx_in_box = 0, mask_outside = 0;
    for (int32_t y = 0; y < H; y++)
        for (int32_t x = 0; x < W; x++) {
            int32_t a = y * W + x, box = x >= BX0 && x < BX1 && y >= BY0 && y < BY1;
            if (box && r.mask_edge[a] == near_id) in_mask++;
            if (!box && r.mask_edge[a] >= 0) mask_outside++;
            if (box && r.ctx_edge[a] >= 0) ctx_in_box++;
        }
    CHECK(in_mask == (BX1 - BX0) * (BY1 - BY0));
    CHECK(mask_outside == 0);
    CHECK(ctx_in_box == 0);
    CHECK(r.n_ctx[near_id] == W * H - (BX1 - BX0) * (BY1 - BY0)); /* all background within 140 rings */
    /* erosion: the first rings, at most 30% of the context */
    int32_t eroded = 0;
    for (int32_t a = 0; a < l.n_nodes; a++) eroded += r.erode[a];
    CHECK(eroded > 0 && eroded <= 0.3 * r.n_ctx[near_id]);
    p3d_ldi_regions_free(&r);
    p3d_ldi_edges_free(&e);
    p3d_ldi_free(&l);
}

/* Full run; returns 0 when the nets could not be loaded (SKIP printed). */
static int run_scene(const p3d_ldi_nets *nets, int32_t border, p3d_ldi *l, p3d_ldi_report *rep) {
    static uint8_t rgb[W * H * 3];
    static float depth[W * H];
    scene(rgb, depth, 0);
    p3d_ldi_opts o = p3d_ldi_opts_default();
    o.border = border;
    p3d_camera cam = cam_of();
    p3d_status s = p3d_ldi_run(g_cpu, nets, rgb, depth, NULL, NULL, W, H, &cam, &o, l, rep);
    CHECK_MSG(s == P3D_OK, "p3d_ldi_run: %s", p3d_last_error());
    return s == P3D_OK;
}

/* The border's size from the cameras it must serve (p3d_ldi_border_needed): a plane at depth 1 seen
 * by a 128 x 128 camera with fx = fy = 128 (binary fractions throughout, so the pixel counts are
 * exact). A sideways move of 0.125 shifts the plane 16 px; a move of 0.125 back widens the frame's
 * footprint on the plane by 8 px per side; both: 24; + 2 to spare. With 1/8 of each side cropped the
 * frame's corner sits 48 px from the centre, not 64: 6 px. A side at depth 0.5 moves twice as far. */
static void test_border_size(void) {
    enum { S = 128 };
    static float plane[S * S];
    for (int32_t i = 0; i < S * S; i++) plane[i] = 1.0f;
    const p3d_camera cam = {128.0f, 128.0f, 64.0f, 64.0f};
    const float zero[3] = {0, 0, 0}, side[3] = {0.125f, 0, 0}, both[3] = {0.125f, 0, 0.125f};
    int32_t got = p3d_ldi_border_needed(&cam, S, S, plane, zero, 0);
    CHECK_MSG(got == 0, "no move: %d", (int)got);
    got = p3d_ldi_border_needed(&cam, S, S, plane, side, 0);
    CHECK_MSG(got == 18, "sideways: %d", (int)got);
    got = p3d_ldi_border_needed(&cam, S, S, plane, both, 0);
    CHECK_MSG(got == 26, "sideways and back: %d", (int)got);
    got = p3d_ldi_border_needed(&cam, S, S, plane, both, 0.125f);
    CHECK_MSG(got == 8, "cropped: %d", (int)got);
    for (int32_t y = 0; y < S; y++)
        for (int32_t x = 0; x < 3; x++) plane[y * S + x] = 0.5f;
    got = p3d_ldi_border_needed(&cam, S, S, plane, side, 0);
    CHECK_MSG(got == 34, "near left side: %d", (int)got);
    /* a move as large as a config key allows stops at the longer side (+ 2), not at 1e6 * fx */
    const float huge[3] = {1e6f, 1e6f, 1e6f};
    got = p3d_ldi_border_needed(&cam, S, S, plane, huge, 0);
    CHECK_MSG(got == S + 2, "huge move: %d", (int)got);
    /* the run grows a smaller border to what the cameras need */
    static uint8_t rgb[W * H * 3];
    static float depth[W * H];
    scene(rgb, depth, 0);
    p3d_ldi_opts o = p3d_ldi_opts_default();
    o.border = 1;
    o.border_cover[0] = 0.5f;
    const p3d_camera c = cam_of();
    const int32_t need = p3d_ldi_border_needed(&c, W, H, depth, o.border_cover, o.border_crop);
    CHECK_MSG(need > 10 && need < 60, "the scene needs %d px", (int)need);
    p3d_ldi l;
    p3d_ldi_report rep;
    p3d_ldi_nets no_nets = {NULL, NULL, NULL};
    CHECK_OK(p3d_ldi_run(g_cpu, &no_nets, rgb, depth, NULL, NULL, W, H, &c, &o, &l, &rep));
    CHECK_MSG(l.border == need, "border %d, need %d", (int)l.border, (int)need);
    p3d_ldi_free(&l);
}

static int same_ldi(const p3d_ldi *a, const p3d_ldi *b) {
    if (a->n_nodes != b->n_nodes) return 0;
    size_t n = (size_t)a->n_nodes;
    return !memcmp(a->pix, b->pix, n * 4) && !memcmp(a->depth, b->depth, n * 4) && !memcmp(a->rgb, b->rgb, n * 3) &&
           !memcmp(a->label, b->label, n) && !memcmp(a->link, b->link, n * 16) &&
           !memcmp(a->head, b->head, (size_t)a->ext_w * a->ext_h * 4);
}

/* exact_edges: the box outline is the only inpainted edge (not so with random-weight nets, whose
 * border depth is noise with edges of its own). */
static void check_filled_box(const p3d_ldi *l, const p3d_ldi_report *rep, int32_t exact_edges) {
    check_layers(l);
    CHECK(exact_edges ? rep->edges[0] == 1 : rep->edges[0] >= 1);
    /* every box pixel has exactly one hidden node from pass 1, at background depth or behind */
    int32_t hidden = 0, far_enough = 0;
    for (int32_t y = BY0; y < BY1; y++)
        for (int32_t x = BX0; x < BX1; x++) {
            int32_t h = l->head[(y + l->border) * l->ext_w + x + l->border];
            for (int32_t c = l->next[h]; c >= 0; c = l->next[c])
                if (l->iter[c] == 1) hidden++, far_enough += l->depth[c] > 1.51f;
        }
    CHECK_MSG(hidden == (BX1 - BX0) * (BY1 - BY0), "%d box pixels got a hidden node (want %d)", hidden,
              (BX1 - BX0) * (BY1 - BY0));
    CHECK(far_enough == hidden);
}

static void test_classic_fill(void) {
    p3d_ldi l1, l2;
    p3d_ldi_report rep;
    p3d_ldi_nets none = {NULL, NULL, NULL};
    if (!run_scene(&none, 0, &l1, &rep)) return;
    check_filled_box(&l1, &rep, 1);
    /* background-only: the hidden layer continues the background (depth 4), never the box's red */
    int64_t red = 0, off = 0, n = 0;
    for (int32_t a = 0; a < l1.n_nodes; a++) {
        if (l1.iter[a] != 1) continue;
        n++;
        red += l1.rgb[3 * (size_t)a] > 230 && l1.rgb[3 * (size_t)a + 1] < 40;
        off += fabsf(l1.depth[a] - 4.0f) > 0.05f;
    }
    CHECK_MSG(red == 0, "%lld hidden nodes took the foreground's colour", (long long)red);
    CHECK_MSG(off == 0, "%lld of %lld hidden nodes off the background plane", (long long)off, (long long)n);
    /* determinism and thread count */
    CHECK(run_scene(&none, 0, &l2, &rep));
    CHECK(same_ldi(&l1, &l2));
    p3d_ldi_free(&l2);
#ifdef _OPENMP
    int32_t t = omp_get_max_threads();
    omp_set_num_threads(1);
    CHECK(run_scene(&none, 0, &l2, &rep));
    omp_set_num_threads(t);
    CHECK(same_ldi(&l1, &l2));
    p3d_ldi_free(&l2);
#endif
    p3d_ldi_free(&l1);
    /* with the border: 60 px all round, labelled, linked to the image */
    CHECK(run_scene(&none, 60, &l1, &rep));
    check_filled_box(&l1, &rep, 1);
    CHECK(rep.border_nodes == (W + 120) * (H + 120) - W * H);
    int32_t corner = l1.head[0], ring = l1.head[60 * l1.ext_w + 59];
    CHECK(corner >= 0 && l1.label[corner] == P3D_LABEL_BORDER);
    CHECK(ring >= 0 && l1.link[4 * (size_t)ring + P3D_DIR_RIGHT] == l1.head[60 * l1.ext_w + 60]);
    p3d_ldi_free(&l1);
}

/* The whole LDI of a W x H scene with the non-learned fill and no border; 0 when the run failed. */
static int run_classic(const uint8_t *rgb, const float *depth, p3d_ldi *l) {
    p3d_ldi_opts o = p3d_ldi_opts_default();
    o.border = 0;
    const p3d_camera cam = cam_of();
    const p3d_ldi_nets none = {NULL, NULL, NULL};
    p3d_ldi_report rep;
    const p3d_status s = p3d_ldi_run(g_cpu, &none, rgb, depth, NULL, NULL, W, H, &cam, &o, l, &rep);
    CHECK_MSG(s == P3D_OK, "p3d_ldi_run: %s", p3d_last_error());
    if (s == P3D_OK) check_layers(l);
    return s == P3D_OK;
}

/* Three surfaces (issue 15): the background plane (depth 4), a thin strip (depth 2.5, columns SX0 ..
 * SX1 - 1) and a near box (depth 1.5) whose right side touches the strip. The first pass continues
 * the strip behind the box (a wedge of layer 1 along its right side) and the background behind the
 * strip; the second pass makes layer 2 behind that wedge, which must continue the background behind
 * the strip, at its depth and linked to it, or a view moved sideways looks through the tear between
 * them (Middlebury cones at 960 px: the green cone's strip between the red cone and the wall). The
 * second pass's context holds the strip's own photo nodes in front of that background; the crop
 * showed the strip there (the nearest node), so layer 2 grew from elsewhere and never linked. */
enum { SX0 = BX1, SX1 = BX1 + 4 };

static void strip_scene(uint8_t *rgb, float *depth) {
    scene(rgb, depth, 0);
    for (int32_t y = BY0; y < BY1; y++)
        for (int32_t x = SX0; x < SX1; x++) {
            const size_t i = (size_t)y * W + x;
            depth[i] = 2.5f;
            rgb[3 * i] = 30, rgb[3 * i + 1] = 200, rgb[3 * i + 2] = 40;
        }
}

static void test_thin_strip(void) {
    static uint8_t rgb[W * H * 3];
    static float depth[W * H];
    strip_scene(rgb, depth);
    const p3d_ldi_opts o = p3d_ldi_opts_default();
    p3d_ldi l;
    if (!run_classic(rgb, depth, &l)) return;
    /* the box's last column: a layer-2 node behind the strip's wedge joins the background behind the
     * strip (its iter-1 node in the next column) */
    int32_t wedge = 0, joined = 0, linked = 0;
    for (int32_t y = BY0; y < BY1; y++) {
        int32_t a = -1, b = -1, w1 = 0;
        for (int32_t c = l.head[y * l.ext_w + SX0 - 1]; c >= 0; c = l.next[c]) {
            if (l.iter[c] == 1 && fabsf(1.0f / l.depth[c] - 0.4f) <= o.depth_threshold) w1 = 1;
            if (l.iter[c] == 2) a = c;
        }
        for (int32_t c = l.head[y * l.ext_w + SX0]; c >= 0; c = l.next[c])
            if (l.iter[c] == 1) b = c;
        if (!w1 || a < 0 || b < 0) continue;
        wedge++;
        joined += p3d_ldi_joined(l.depth[a], l.depth[b], o.depth_threshold);
        linked += l.link[4 * (size_t)a + P3D_DIR_RIGHT] == b;
    }
    fprintf(stderr, "  thin strip: %d rows of the wedge with layer 2, %d joined, %d linked to the background behind "
            "the strip\n", (int)wedge, (int)joined, (int)linked);
    CHECK_MSG(wedge > 0, "no layer 2 behind the strip's wedge");
    CHECK_MSG(joined == wedge && linked == wedge, "%d of %d rows joined, %d linked", (int)joined, (int)wedge,
              (int)linked);
    p3d_ldi_free(&l);
}

/* Two backgrounds meeting behind a tall narrow box (issue 15): columns TX0 .. TX1 - 1, rows TY0 ..
 * TY1 - 1, depth 1.5; the background's disparity is 0.25 left of the box and 0.31 right of it, a
 * smooth ramp between them above and below it (no tear in the photo). The hidden layer grows each
 * side's depth into the box, and where the two meet in the middle the step, 0.06, is more than the
 * tear threshold (0.04): a torn seam in the hidden layer that a view moved sideways looks through. One
 * pixel at the mean joins a step of up to twice the threshold. Counted: 4-adjacent pairs of hidden
 * nodes inside the box that the tear rule parts although they differ by at most twice it. */
enum { TX0 = 52, TX1 = 68, TY0 = 10, TY1 = 80 };

static void test_hidden_seam(void) {
    static uint8_t rgb[W * H * 3];
    static float depth[W * H];
    scene(rgb, depth, 0);
    for (int32_t y = 0; y < H; y++)
        for (int32_t x = 0; x < W; x++) {
            const size_t i = (size_t)y * W + x;
            const int32_t box = x >= TX0 && x < TX1 && y >= TY0 && y < TY1;
            const float t = x < TX0 ? 0.0f : x >= TX1 ? 1.0f : (float)(x - TX0) / (float)(TX1 - TX0);
            depth[i] = box ? 1.5f : 1.0f / (0.25f + 0.06f * t);
            rgb[3 * i] = box ? 250 : (uint8_t)(((x / 4 + y / 4) & 1) ? 40 : 160);
        }
    const p3d_ldi_opts o = p3d_ldi_opts_default();
    p3d_ldi l;
    if (!run_classic(rgb, depth, &l)) return;
    int32_t pairs = 0, torn = 0;
    for (int32_t a = 0; a < l.n_nodes; a++) {
        const int32_t x = p3d_ldi_x(&l, a), y = p3d_ldi_y(&l, a);
        if (l.iter[a] != 1 || x < TX0 || y < TY0 || x + 1 >= TX1 || y + 1 >= TY1) continue;
        for (int32_t d = 0; d < 2; d++) {
            const int32_t xx = x + (d == 0), yy = y + (d == 1);
            for (int32_t b = l.head[yy * l.ext_w + xx]; b >= 0; b = l.next[b]) {
                if (l.iter[b] != 1) continue;
                const float step = fabsf(1.0f / l.depth[a] - 1.0f / l.depth[b]);
                if (step > 2.0f * o.depth_threshold) continue;
                pairs++;
                torn += l.link[4 * (size_t)a + (d == 0 ? P3D_DIR_RIGHT : P3D_DIR_DOWN)] != b;
            }
        }
    }
    fprintf(stderr, "  hidden seam: %d of %d neighbouring hidden pairs torn\n", (int)torn, (int)pairs);
    CHECK(pairs > 0);
    CHECK_MSG(torn == 0, "%d of %d neighbouring hidden pairs within twice the threshold torn", (int)torn, (int)pairs);
    p3d_ldi_free(&l);
}

static void test_learned_fill(void) {
    p3d_ldi_nets nets = {NULL, NULL, NULL};
    const p3d_t_tame random[3] = {{0, 1, 0}, {0, 1, 0}, {0, 1, 0}};
    if (p3d_t_load_nets(g_cpu, random, &nets.edge, &nets.depth, &nets.color) != P3D_OK) {
        SKIP("learned fill: random-weight blobs not found (%s)", p3d_last_error());
        return;
    }
    p3d_ldi l1, l2;
    p3d_ldi_report rep;
    if (run_scene(&nets, 60, &l1, &rep)) {
        check_filled_box(&l1, &rep, 0);
        CHECK(rep.inpaint.net_calls[1] > 0 && rep.inpaint.net_calls[2] > 0);
        CHECK(run_scene(&nets, 60, &l2, &rep));
        CHECK(same_ldi(&l1, &l2));
        p3d_ldi_free(&l2);
    }
    p3d_ldi_free(&l1);
    p3d_inpaint_net_free(nets.edge), p3d_inpaint_net_free(nets.depth), p3d_inpaint_net_free(nets.color);
}

int main(void) {
    p3d_device dev = {P3D_DEVICE_CPU, 0};
    if (p3d_ctx_init(&g_cpu, dev) != P3D_OK) {
        fprintf(stderr, "cpu context: %s\n", p3d_last_error());
        return 1;
    }
    RUN(test_build_edges_regions);
    RUN(test_border_size);
    RUN(test_classic_fill);
    RUN(test_thin_strip);
    RUN(test_hidden_seam);
    RUN(test_learned_fill);
    p3d_ctx_free(g_cpu);
    return p3d_test_finish();
}
