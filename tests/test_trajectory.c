/* test_trajectory.c - the reference's four presets (spec 2.22-2.23: paths, exactly N frames, the dolly
 * zoom keeping the centre plane's size), the crop-border frame camera without stretch, and trajectory
 * files / poses (text and JSON, with their refusals). */
#include "p3d_test.h"

#include "render/trajectory.h"

static p3d_mesh mesh_960x640(void) {
    p3d_mesh m;
    memset(&m, 0, sizeof m);
    m.width = 960;
    m.height = 640;
    m.hfov = 2.0f * atanf(0.5f);        /* fx = 960 (spec 2.0) */
    m.vfov = 2.0f * atanf(1.0f / 3.0f); /* fy = 960 */
    return m;
}

static void test_presets(void) {
    p3d_traj t;
    CHECK_OK(p3d_traj_preset("zoom-in", 240, 2.0f, &t));
    CHECK(t.n == 240 && t.fps == 40.0);
    CHECK_NEAR(t.poses[0].pos[2], -0.05, 1e-7);
    CHECK_NEAR(t.poses[239].pos[2], 0.05, 1e-7);
    CHECK_NEAR(t.poses[120].pos[2], 0.05 * (2.0 * 120 / 239 - 1), 1e-7);
    CHECK(t.poses[17].pos[0] == 0 && t.poses[17].pos[1] == 0 && t.poses[17].focal_scale == 1.0f);
    p3d_traj_free(&t);

    /* dolly zoom: a point on the anchor plane keeps its image position in every frame */
    const float d = 2.5f;
    CHECK_OK(p3d_traj_preset("dolly-zoom-in", 240, d, &t));
    p3d_mesh m = mesh_960x640();
    const float none[4] = {0, 0, 0, 0};
    for (int k = 0; k < 240; k += 13) {
        const p3d_view v = p3d_view_of_pose(&m, &t.poses[k], 960, 640, none);
        const float X = 0.7f, Z = d;
        const float u = v.fx * (X - v.pos[0]) / (Z - v.pos[2]) + v.cx;
        CHECK_NEAR(u, 960.0f * X / d + 480.0f, 1e-3);
    }
    CHECK_NEAR(t.poses[0].focal_scale, (d + 0.05) / d, 1e-6);
    p3d_traj_free(&t);

    /* circle: s = -2 + 4k/N, pos = -(cos(pi s) x, sin(pi s) y, cos(pi s / 2) z), x = y = -0.015, z = -0.05 */
    CHECK_OK(p3d_traj_preset("circle", 240, 1.0f, &t));
    CHECK_NEAR(t.poses[0].pos[0], 0.015, 1e-7);
    CHECK_NEAR(t.poses[0].pos[1], 0.0, 1e-7);
    CHECK_NEAR(t.poses[0].pos[2], -0.05, 1e-7);
    const double s = -2.0 + 4.0 * 30 / 240, pi = 3.14159265358979;
    CHECK_NEAR(t.poses[30].pos[0], 0.015 * cos(pi * s), 1e-7);
    CHECK_NEAR(t.poses[30].pos[1], 0.015 * sin(pi * s), 1e-7);
    CHECK_NEAR(t.poses[30].pos[2], 0.05 * cos(pi * s / 2), 1e-7);
    p3d_traj_free(&t);
    CHECK_OK(p3d_traj_preset("swing", 7, 1.0f, &t));
    CHECK(t.n == 7);
    for (int k = 0; k < 7; k++) CHECK(t.poses[k].pos[1] == 0.0f);
    p3d_traj_free(&t);

    CHECK_FAILS(p3d_traj_preset("spiral", 240, 1.0f, &t), P3D_ERR_INVALID_ARG, "unknown preset");
    CHECK_FAILS(p3d_traj_preset("circle", 0, 1.0f, &t), P3D_ERR_INVALID_ARG, "0 frames");
}

/* The crop border shows the largest window of the frame's aspect inside the reference's crop
 * rectangle: one scale for both axes (the reference stretched y by ~2.3%, quirk 23). */
static void test_crop_no_stretch(void) {
    p3d_mesh m = mesh_960x640();
    p3d_pose p;
    CHECK_OK(p3d_pose_parse("0 0 0", m.hfov, &p));
    const p3d_view v = p3d_view_of_pose(&m, &p, 960, 640, p3d_crop_border_default);
    CHECK_NEAR(v.fx, v.fy, 1e-3);
    CHECK_NEAR(v.fx, 960.0 / 0.92, 1e-2); /* 8% of the height hidden, as the reference's vertical crop */
    /* the window's top edge is the reference's crop top (0.03 H) and its centre the crop rectangle's */
    CHECK_NEAR((0 - v.cy) / v.fy * 960 + 320, 0.03 * 640, 1e-3);
    CHECK_NEAR((480 - v.cx) / v.fx * 960 + 480, 480, 1e-3);
    const float none[4] = {0, 0, 0, 0};
    const p3d_view u = p3d_view_of_pose(&m, &p, 480, 320, none);
    CHECK_NEAR(u.fx, 480, 1e-3);
    CHECK_NEAR(u.cx, 240, 1e-3);
    CHECK_NEAR(u.cy, 160, 1e-3);
}

static void test_pose_text(void) {
    p3d_pose p;
    const float hfov = 2.0f * atanf(0.5f);
    CHECK_OK(p3d_pose_parse("0.1,0.2,0.3", hfov, &p));
    CHECK(p.pos[0] == 0.1f && p.pos[2] == 0.3f && p.rot[0] == 1.0f && p.focal_scale == 1.0f);
    /* fov 90: focal scale tan(hfov / 2) / tan(45 deg) = 0.5 */
    CHECK_OK(p3d_pose_parse("0 0 0 90", hfov, &p));
    CHECK_NEAR(p.focal_scale, 0.5, 1e-6);
    /* looking along +x: camera z axis = +x, x axis = -z, y stays down */
    CHECK_OK(p3d_pose_parse("0 0 0 1 0 0", hfov, &p));
    CHECK_NEAR(p.rot[6], 1, 1e-6);
    CHECK_NEAR(p.rot[2], -1, 1e-6);
    CHECK_NEAR(p.rot[4], 1, 1e-6);
    CHECK_FAILS(p3d_pose_parse("1 2", hfov, &p), P3D_ERR_INVALID_ARG, "expected 3");
    CHECK_FAILS(p3d_pose_parse("1 2 x", hfov, &p), P3D_ERR_INVALID_ARG, "not a list of numbers");
    CHECK_FAILS(p3d_pose_parse("0 0 0 0 1 0", hfov, &p), P3D_ERR_INVALID_ARG, "vertical");
    CHECK_FAILS(p3d_pose_parse("0 0 0 200", hfov, &p), P3D_ERR_INVALID_ARG, "fov");
    CHECK_FAILS(p3d_pose_parse("0 0 0 1 0 0 0 1 0 0 0 2", hfov, &p), P3D_ERR_INVALID_ARG, "orthonormal");
}

static void test_traj_files(void) {
    char path[512];
    p3d_traj t;
    const char *text = "# x y z [dx dy dz] [fov]\n0 0 0\n\n0.01, 0, 0.02  # moved\n0 0 0 0 0 1 60\n"
                       "0 0 0 1 0 0 0 1 0 0 0 1\n";
    p3d_test_tmp_file("path.txt", text, strlen(text), path, sizeof path);
    CHECK_OK(p3d_traj_read(path, 1.0f, &t));
    CHECK(t.n == 4 && strcmp(t.name, "path") == 0 && t.fps == 0);
    if (t.n == 4) CHECK(t.poses[1].pos[0] == 0.01f && t.poses[1].pos[2] == 0.02f);
    p3d_traj_free(&t);

    const char *json = "{\"fps\": 30, \"poses\": [\n {\"position\": [0, 0, 0.1], \"fov\": 50},\n"
                       " {\"position\": [0.1, 0, 0], \"look\": [0, 0, 1]},\n"
                       " {\"position\": [0, 0, 0], \"rotation\": [[1, 0, 0], [0, 1, 0], [0, 0, 1]]}]}\n";
    p3d_test_tmp_file("fly.json", json, strlen(json), path, sizeof path);
    CHECK_OK(p3d_traj_read(path, 1.0f, &t));
    CHECK(t.n == 3 && t.fps == 30 && strcmp(t.name, "fly") == 0);
    if (t.n == 3) CHECK(t.poses[0].pos[2] == 0.1f && t.poses[1].pos[0] == 0.1f);
    p3d_traj_free(&t);
    const char *bare = "[{\"position\": [0, 0, 0]}]";
    p3d_test_tmp_file("bare.json", bare, strlen(bare), path, sizeof path);
    CHECK_OK(p3d_traj_read(path, 1.0f, &t));
    CHECK(t.n == 1);
    p3d_traj_free(&t);

    const char *bad_text = "0 0 0\n0 0\n";
    p3d_test_tmp_file("bad.txt", bad_text, strlen(bad_text), path, sizeof path);
    CHECK_FAILS(p3d_traj_read(path, 1.0f, &t), P3D_ERR_FORMAT, "bad.txt:2: expected 3");
    const char *bad_json = "{\"poses\": [\n{\"position\": [0, 0]}]}";
    p3d_test_tmp_file("bad.json", bad_json, strlen(bad_json), path, sizeof path);
    CHECK_FAILS(p3d_traj_read(path, 1.0f, &t), P3D_ERR_FORMAT, "bad.json:2: expected 3 numbers");
    const char *cut_json = "{\"poses\": [{\"position\": [0, 0, 0]}";
    p3d_test_tmp_file("cut.json", cut_json, strlen(cut_json), path, sizeof path);
    CHECK_FAILS(p3d_traj_read(path, 1.0f, &t), P3D_ERR_FORMAT, "cut.json:1: expected ',' or ']'");
    const char *empty = "# nothing\n";
    p3d_test_tmp_file("empty.txt", empty, strlen(empty), path, sizeof path);
    CHECK_FAILS(p3d_traj_read(path, 1.0f, &t), P3D_ERR_FORMAT, "no poses");
    CHECK_FAILS(p3d_traj_read("/nonexistent/traj.txt", 1.0f, &t), P3D_ERR_IO, "/nonexistent/traj.txt");
}

int main(void) {
    RUN(test_presets);
    RUN(test_crop_no_stretch);
    RUN(test_pose_text);
    RUN(test_traj_files);
    return p3d_test_finish();
}
