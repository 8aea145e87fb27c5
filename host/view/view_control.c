/* view_control.c - the viewer's camera control and OpenGL projection (plain math; view.h). */
#include "view/view.h"

#include <math.h>
#include <string.h>

const char *const p3d_view_presets[4] = {"dolly-zoom-in", "zoom-in", "circle", "swing"};

static float clampf(float v, float lo, float hi) {
    return v < lo ? lo : (v > hi ? hi : v);
}

void p3d_view_control_init(p3d_view_control *c, float anchor) {
    memset(c, 0, sizeof *c);
    c->anchor = anchor > 0 && isfinite(anchor) ? anchor : 1.0f;
    c->playing = -1;
}

void p3d_view_control_free(p3d_view_control *c) {
    p3d_traj_free(&c->traj);
    c->playing = -1;
}

void p3d_view_control_reset(p3d_view_control *c) {
    p3d_traj_free(&c->traj);
    p3d_view_control_init(c, c->anchor);
}

void p3d_view_control_cursor(p3d_view_control *c, float nx, float ny) {
    c->tilt_target[0] = isfinite(nx) ? clampf(nx, -1.0f, 1.0f) : 0.0f;
    c->tilt_target[1] = isfinite(ny) ? clampf(ny, -1.0f, 1.0f) : 0.0f;
}

void p3d_view_control_drag(p3d_view_control *c, double dx, double dy) {
    /* Dragging right turns the scene right (the camera goes left, yaw > 0); dragging down turns its
     * top toward the viewer (the camera goes up, pitch < 0), as orbit controls in model viewers do. */
    c->yaw = clampf(c->yaw + (float)(dx * P3D_VIEW_ORBIT_PER_PIXEL), -P3D_VIEW_ORBIT_MAX, P3D_VIEW_ORBIT_MAX);
    c->pitch = clampf(c->pitch - (float)(dy * P3D_VIEW_ORBIT_PER_PIXEL), -P3D_VIEW_ORBIT_MAX, P3D_VIEW_ORBIT_MAX);
}

void p3d_view_control_wheel(p3d_view_control *c, double steps) {
    c->dolly = clampf(c->dolly + (float)(steps * P3D_VIEW_DOLLY_STEP) * c->anchor, -P3D_VIEW_DOLLY_BACK * c->anchor,
                      P3D_VIEW_DOLLY_IN * c->anchor);
}

p3d_status p3d_view_control_play(p3d_view_control *c, int32_t k, int32_t frames, double now) {
    if (k < 0 || k > 3) return p3d_fail(P3D_ERR_INVALID_ARG, "view: preset %d: expected 0..3", (int)k);
    p3d_traj_free(&c->traj);
    c->playing = -1;
    P3D_TRY(p3d_traj_preset(p3d_view_presets[k], frames, c->anchor, &c->traj));
    c->playing = k;
    c->play_start = now;
    return P3D_OK;
}

/* The playing preset's frame index at `now` (may be past the last frame). */
static int64_t play_frame(const p3d_view_control *c, double now) {
    const double fps = c->traj.fps > 0 ? c->traj.fps : P3D_TRAJ_DEFAULT_FPS;
    const double k = floor((now - c->play_start) * fps);
    return k < 0 ? 0 : (k > (double)INT32_MAX ? INT32_MAX : (int64_t)k);
}

void p3d_view_control_step(p3d_view_control *c, double dt, double now) {
    const float a = dt > 0 ? (float)(1.0 - exp(-dt / P3D_VIEW_TILT_EASE)) : 0.0f;
    for (int32_t i = 0; i < 2; i++) c->tilt[i] += (c->tilt_target[i] - c->tilt[i]) * a;
    if (c->playing >= 0 && play_frame(c, now) >= c->traj.n) p3d_view_control_free(c);
}

void p3d_view_control_pose(const p3d_view_control *c, double now, p3d_pose *out) {
    if (c->playing >= 0 && c->traj.n > 0) {
        const int64_t k = play_frame(c, now);
        *out = c->traj.poses[k < c->traj.n ? k : c->traj.n - 1];
        return;
    }
    /* Camera before the orbit: shifted by the tilt, moved along z by the dolly; offset from the pivot
     * A = (0, 0, anchor). The orbit rotates the offset about A (yaw about y, then pitch about x), and
     * the camera looks at A: the pivot's plane stays in place while nearer and farther parts move. */
    const double a = c->anchor;
    const double off0[3] = {c->tilt[0] * P3D_VIEW_TILT_RANGE, c->tilt[1] * P3D_VIEW_TILT_RANGE, c->dolly - a};
    const double cp = cos(c->pitch), sp = sin(c->pitch), cy = cos(c->yaw), sy = sin(c->yaw);
    const double op[3] = {off0[0], cp * off0[1] - sp * off0[2], sp * off0[1] + cp * off0[2]}; /* Rx(pitch) */
    const double off[3] = {cy * op[0] + sy * op[2], op[1], -sy * op[0] + cy * op[2]};         /* Ry(yaw) */
    const double look[3] = {-off[0], -off[1], -off[2]};
    memset(out, 0, sizeof *out);
    out->rot[0] = out->rot[4] = out->rot[8] = 1.0f;
    out->focal_scale = 1.0f;
    for (int32_t i = 0; i < 3; i++) out->pos[i] = (float)((i == 2 ? a : 0.0) + off[i]);
    /* The dolly range keeps the camera in front of the pivot, so the look direction is never vertical. */
    p3d_rotation_from_look(look, out->rot);
}

void p3d_view_clip_matrix(const p3d_view *v, int32_t w, int32_t h, float znear, float zfar, float m[16]) {
    /* Camera space pc = R (p - C); window x = fx xc / zc + cx and window y = h - (fy yc / zc + cy), so
     * clip x = (2 fx / w) xc + (2 cx / w - 1) zc, clip y = -(2 fy / h) yc + (1 - 2 cy / h) zc, clip w = zc,
     * clip z maps [znear, zfar] to [-1, 1] (only clipping uses it: the depth test reads gl_FragDepth). */
    const double n = znear, f = zfar;
    const double ax = 2.0 * v->fx / w, bx = 2.0 * v->cx / w - 1.0;
    const double ay = -2.0 * v->fy / h, by = 1.0 - 2.0 * v->cy / h;
    const double az = (f + n) / (f - n), bz = -2.0 * f * n / (f - n);
    double rows[4][4];
    for (int32_t j = 0; j < 3; j++) {
        const double r0 = v->rot[j], r1 = v->rot[3 + j], r2 = v->rot[6 + j];
        rows[0][j] = ax * r0 + bx * r2;
        rows[1][j] = ay * r1 + by * r2;
        rows[2][j] = az * r2;
        rows[3][j] = r2;
    }
    for (int32_t i = 0; i < 4; i++) {
        double t = 0;
        for (int32_t j = 0; j < 3; j++) t -= rows[i][j] * v->pos[j];
        rows[i][3] = t + (i == 2 ? bz : 0.0);
    }
    for (int32_t i = 0; i < 4; i++)
        for (int32_t j = 0; j < 4; j++) m[4 * j + i] = (float)rows[i][j]; /* column-major */
}
