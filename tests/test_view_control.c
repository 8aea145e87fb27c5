/* test_view_control.c - the viewer's camera control and projection (view.h), without a display: the
 * rest pose is the photo's camera; the cursor tilt reaches exactly the circle trajectory's range and
 * keeps the pivot at the frame centre; drag and wheel move the camera the documented way and stop at
 * their limits; a preset plays its poses at its frame rate and then ends; reset; and the OpenGL clip
 * matrix puts every point on the pixel the offline rasterizer projects it to (render_math.h), with
 * clip w = the view depth and the depth range mapped to [-1, 1]. */
#include "p3d_test.h"

#include "render/render_math.h"
#include "view/view.h"

/* A mesh header only (no vertices): what p3d_view_of_pose reads. */
static p3d_mesh camera_mesh(int32_t w, int32_t h) {
    p3d_mesh m;
    memset(&m, 0, sizeof m);
    m.width = w;
    m.height = h;
    m.hfov = 2.0f * atanf(0.5f);
    m.vfov = 2.0f * atanf(0.5f * (float)h / (float)w);
    return m;
}

static const float k_no_crop[4] = {0, 0, 0, 0};

/* Pixel position of world point p seen at pose pose (no crop). */
static void project(const p3d_mesh *m, const p3d_pose *pose, const double *p, double *u, double *v) {
    const p3d_view vw = p3d_view_of_pose(m, pose, m->width, m->height, k_no_crop);
    double c[3];
    for (int i = 0; i < 3; i++)
        c[i] = vw.rot[3 * i] * (p[0] - vw.pos[0]) + vw.rot[3 * i + 1] * (p[1] - vw.pos[1]) +
               vw.rot[3 * i + 2] * (p[2] - vw.pos[2]);
    *u = vw.fx * c[0] / c[2] + vw.cx;
    *v = vw.fy * c[1] / c[2] + vw.cy;
}

static void test_rest_pose(void) {
    p3d_view_control c;
    p3d_view_control_init(&c, 2.0f);
    p3d_pose p;
    p3d_view_control_pose(&c, 0.0, &p);
    for (int i = 0; i < 9; i++) CHECK_NEAR(p.rot[i], (i % 4 == 0) ? 1.0 : 0.0, 1e-7);
    for (int i = 0; i < 3; i++) CHECK_NEAR(p.pos[i], 0.0, 1e-7);
    CHECK_NEAR(p.focal_scale, 1.0, 0);
    CHECK(c.playing == -1);
    p3d_view_control_init(&c, -1.0f); /* a bad anchor falls back to 1 */
    CHECK_NEAR(c.anchor, 1.0, 0);
}

static void test_tilt(void) {
    const p3d_mesh m = camera_mesh(64, 48);
    p3d_view_control c;
    p3d_view_control_init(&c, 2.0f);
    p3d_view_control_cursor(&c, 5.0f, -7.0f); /* clamped to the window */
    CHECK_NEAR(c.tilt_target[0], 1.0, 0);
    CHECK_NEAR(c.tilt_target[1], -1.0, 0);
    p3d_view_control_step(&c, 0.01, 0.0); /* eased: part of the way after 10 ms */
    CHECK(c.tilt[0] > 0.05f && c.tilt[0] < 0.5f);
    for (int k = 0; k < 100; k++) p3d_view_control_step(&c, 0.05, 0.0);
    CHECK_NEAR(c.tilt[0], 1.0, 1e-5);
    p3d_pose p;
    p3d_view_control_pose(&c, 0.0, &p);
    /* the camera moved to the trajectory range's corner (toward the cursor), and still sees the pivot
     * (0, 0, anchor) at the frame centre */
    CHECK_NEAR(p.pos[0], P3D_VIEW_TILT_RANGE, 1e-6);
    CHECK_NEAR(p.pos[1], -P3D_VIEW_TILT_RANGE, 1e-6);
    CHECK_NEAR(p.pos[2], 0.0, 1e-6);
    const double pivot[3] = {0, 0, 2.0};
    double u, v;
    project(&m, &p, pivot, &u, &v);
    CHECK_NEAR(u, 32.0, 1e-4);
    CHECK_NEAR(v, 24.0, 1e-4);
    /* a nearer point moves the other way than a farther one: parallax */
    const double near_pt[3] = {0, 0, 1.0}, far_pt[3] = {0, 0, 4.0};
    double un, vn, uf, vf;
    project(&m, &p, near_pt, &un, &vn);
    project(&m, &p, far_pt, &uf, &vf);
    CHECK(un < 32.0 - 0.1 && uf > 32.0 + 0.1);
    CHECK(vn > 24.0 + 0.1 && vf < 24.0 - 0.1);
    /* the cursor leaving the window: the tilt eases back to the rest pose */
    p3d_view_control_cursor(&c, 0.0f, 0.0f);
    for (int k = 0; k < 100; k++) p3d_view_control_step(&c, 0.05, 0.0);
    p3d_view_control_pose(&c, 0.0, &p);
    CHECK_NEAR(p.pos[0], 0.0, 1e-6);
    CHECK_NEAR(p.rot[8], 1.0, 1e-6);
}

static void test_drag_and_wheel(void) {
    const p3d_mesh m = camera_mesh(64, 48);
    p3d_view_control c;
    p3d_view_control_init(&c, 2.0f);
    p3d_view_control_drag(&c, 50.0, 0.0); /* drag right: the camera goes left round the pivot */
    p3d_pose p;
    p3d_view_control_pose(&c, 0.0, &p);
    CHECK(p.pos[0] < -0.1f);
    CHECK_NEAR(c.yaw, 50.0 * P3D_VIEW_ORBIT_PER_PIXEL, 1e-6);
    const double pivot[3] = {0, 0, 2.0};
    double u, v;
    project(&m, &p, pivot, &u, &v);
    CHECK_NEAR(u, 32.0, 1e-4);
    CHECK_NEAR(v, 24.0, 1e-4);
    /* distance to the pivot is kept by the orbit */
    CHECK_NEAR(sqrt(p.pos[0] * p.pos[0] + p.pos[1] * p.pos[1] + (p.pos[2] - 2.0) * (p.pos[2] - 2.0)), 2.0, 1e-5);
    p3d_view_control_drag(&c, 1e6, 1e6);
    CHECK_NEAR(c.yaw, P3D_VIEW_ORBIT_MAX, 0);
    CHECK_NEAR(c.pitch, -P3D_VIEW_ORBIT_MAX, 0);
    p3d_view_control_pose(&c, 0.0, &p);
    CHECK(p.pos[1] < -0.1f); /* dragged down: the camera went up (-y) */
    p3d_view_control_reset(&c);
    CHECK(c.yaw == 0 && c.pitch == 0 && c.dolly == 0);
    p3d_view_control_wheel(&c, 3.0); /* toward the scene */
    p3d_view_control_pose(&c, 0.0, &p);
    CHECK_NEAR(p.pos[2], 3.0 * P3D_VIEW_DOLLY_STEP * 2.0, 1e-6);
    CHECK_NEAR(p.pos[0], 0.0, 1e-7);
    p3d_view_control_wheel(&c, 1e6);
    CHECK_NEAR(c.dolly, P3D_VIEW_DOLLY_IN * 2.0, 1e-6);
    p3d_view_control_pose(&c, 0.0, &p);
    CHECK_NEAR(p.rot[8], 1.0, 1e-6); /* still looking forward */
    p3d_view_control_wheel(&c, -1e6);
    CHECK_NEAR(c.dolly, -P3D_VIEW_DOLLY_BACK * 2.0, 1e-6);
}

static void test_play(void) {
    p3d_view_control c;
    p3d_view_control_init(&c, 2.0f);
    CHECK_FAILS(p3d_view_control_play(&c, 4, 10, 0.0), P3D_ERR_INVALID_ARG, "preset 4");
    CHECK_OK(p3d_view_control_play(&c, 2, 10, 100.0)); /* circle, 10 frames at 40 fps from t = 100 s */
    CHECK(c.playing == 2);
    p3d_traj want;
    CHECK_OK(p3d_traj_preset("circle", 10, 2.0f, &want));
    p3d_pose p;
    p3d_view_control_pose(&c, 100.0, &p);
    CHECK(memcmp(&p, &want.poses[0], sizeof p) == 0);
    p3d_view_control_pose(&c, 100.0 + 5.5 / 40.0, &p);
    CHECK(memcmp(&p, &want.poses[5], sizeof p) == 0);
    p3d_view_control_step(&c, 0.01, 100.0 + 9.5 / 40.0);
    CHECK(c.playing == 2);
    p3d_view_control_step(&c, 0.01, 100.0 + 10.5 / 40.0); /* past the last frame: back to the mouse */
    CHECK(c.playing == -1);
    p3d_view_control_pose(&c, 101.0, &p);
    CHECK_NEAR(p.pos[0], 0.0, 1e-7);
    CHECK_OK(p3d_view_control_play(&c, 0, 10, 0.0)); /* the dolly zoom changes the focal length */
    p3d_view_control_pose(&c, 0.0, &p);
    CHECK(p.focal_scale != 1.0f);
    p3d_view_control_reset(&c);
    CHECK(c.playing == -1 && c.traj.poses == NULL);
    p3d_traj_free(&want);
    p3d_view_control_free(&c);
}

/* The clip matrix against render_math.h's projection, for views with rotation, offset principal
 * point and crop. */
static void test_clip_matrix(void) {
    const p3d_mesh m = camera_mesh(200, 120);
    uint32_t seed = 12345;
    int32_t checked = 0;
    double worst = 0;
    for (int trial = 0; trial < 20; trial++) {
        p3d_pose pose;
        char text[200];
        snprintf(text, sizeof text, "%g,%g,%g,%g,%g,1,%g", 0.01 * (trial % 5) - 0.02, 0.01 * (trial % 3),
                 0.02 * (trial % 4), 0.05 * (trial % 7 - 3), 0.04 * (trial % 3 - 1), 40.0 + trial);
        CHECK_OK(p3d_pose_parse(text, m.hfov, &pose));
        const int32_t w = 96 + 8 * trial, h = 64 + 4 * trial;
        const float crop[4] = {0.03f, 0.02f * (trial % 3), 0.05f, 0.03f};
        const p3d_view v = p3d_view_of_pose(&m, &pose, w, h, crop);
        const float bmin[3] = {-1.5f, -1.0f, 1.0f}, bmax[3] = {1.5f, 1.0f, 5.0f};
        float zn = 0, zf = 0, mat[16];
        p3d_view_depth_range(&v, bmin, bmax, &zn, &zf);
        CHECK(zn > 0 && zf > zn);
        p3d_view_clip_matrix(&v, w, h, zn, zf, mat);
        p3d_rview rv;
        memcpy(rv.rot, v.rot, sizeof rv.rot);
        memcpy(rv.pos, v.pos, sizeof rv.pos);
        rv.fx = v.fx;
        rv.fy = v.fy;
        rv.cx = v.cx;
        rv.cy = v.cy;
        rv.znear = zn;
        rv.zfar = zf;
        for (int k = 0; k < 50; k++) {
            float p[3];
            for (int i = 0; i < 3; i++) {
                seed = seed * 1664525u + 1013904223u;
                const float r = (float)(seed >> 8) / 16777216.0f;
                p[i] = bmin[i] + r * (bmax[i] - bmin[i]);
            }
            int32_t sx, sy;
            float sz;
            if (!p3d_render_project(&rv, p, &sx, &sy, &sz)) continue;
            double clip[4];
            for (int i = 0; i < 4; i++)
                clip[i] = mat[i] * p[0] + mat[4 + i] * p[1] + mat[8 + i] * p[2] + mat[12 + i];
            const double wx = (clip[0] / clip[3] + 1.0) * 0.5 * w, wy = (clip[1] / clip[3] + 1.0) * 0.5 * h;
            const double ex = wx - (double)sx / P3D_RENDER_SUBPIX, ey = (h - wy) - (double)sy / P3D_RENDER_SUBPIX;
            const double err = fmax(fabs(ex), fabs(ey));
            worst = fmax(worst, err);
            CHECK_NEAR(clip[3], sz, 1e-5 * sz);
            const double ndc_z = clip[2] / clip[3];
            CHECK(ndc_z >= -1.0 - 1e-5 && ndc_z <= 1.0 + 1e-5);
            checked++;
        }
    }
    /* fixed point rounds to 1/256 pixel; float arithmetic adds far less */
    CHECK_MSG(worst <= 0.5 / P3D_RENDER_SUBPIX + 1e-3, "clip matrix off the rasterizer's pixel by %g", worst);
    CHECK(checked > 500);
    printf("clip matrix: %d points, largest difference %.2e pixels\n", (int)checked, worst);
    /* the ends of the depth range land on -1 and +1 */
    const p3d_view v = p3d_view_of_mesh(&m, 200, 120);
    float mat[16];
    p3d_view_clip_matrix(&v, 200, 120, 0.5f, 8.0f, mat);
    CHECK_NEAR((mat[10] * 0.5 + mat[14]) / 0.5, -1.0, 1e-6);
    CHECK_NEAR((mat[10] * 8.0 + mat[14]) / 8.0, 1.0, 1e-6);
}

int main(void) {
    RUN(test_rest_pose);
    RUN(test_tilt);
    RUN(test_drag_and_wheel);
    RUN(test_play);
    RUN(test_clip_matrix);
    return p3d_test_finish();
}
