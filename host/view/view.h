/* view.h - the interactive viewer (`photo3d-gpu view`): its camera control and projection, which are
 * plain math (host/view/view_control.c, always built, tested without a display), and its OpenGL window
 * (host/view/view_gl.c: GLFW + OpenGL 3.3 core through libepoxy, built when both are found, which defines
 * P3D_HAVE_VIEWER).
 *
 *   p3d_viewer *v;
 *   P3D_TRY(p3d_viewer_init(&v));                     // "no display: ..." without a display
 *   P3D_TRY(p3d_viewer_screenshot(v, &mesh, &opts, &pose, "a.png"));   // one frame, or
 *   P3D_TRY(p3d_viewer_run(v, &mesh, &opts));         // the window, until q / Esc / close
 *   p3d_viewer_free(v);
 *
 * Frames use the offline rasterizer's camera exactly (render.h, trajectory.h): the view of a pose is
 * p3d_view_of_pose (same crop border), the depth range is p3d_view_depth_range, pixel centres sit at
 * (x + 0.5, y + 0.5), colours are interpolated perspective-correctly, the depth test compares the
 * float32 view depth (gl_FragDepth = z / zfar into a 32-bit float depth buffer), no face is culled
 * and the background is #808080. So a screenshot at a pose matches `photo3d-gpu render --pose ...
 * --ssaa 1` up to rounding at triangle edges.
 *
 * Interaction (p3d_view_control): the cursor's position in the window tilts the camera Facebook-style
 * (the camera moves within the circle trajectory's range, +-0.015 in x and y, and turns to keep the
 * scene's centre point fixed); a left-button drag orbits about that point (at most
 * P3D_VIEW_ORBIT_MAX each way); the wheel dollies along the view axis; a preset trajectory plays at
 * its frame rate and then hands back to the mouse. */
#ifndef P3D_VIEW_H
#define P3D_VIEW_H

#include "render/render.h"
#include "render/trajectory.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The circle preset's x and y range (trajectory.h): the cursor tilt's reach in mesh units. */
#define P3D_VIEW_TILT_RANGE 0.015f
/* Largest orbit angle of a drag, radians, each way (15 degrees: farther, a 3D photo is mostly holes
 * and stretched triangles). */
#define P3D_VIEW_ORBIT_MAX 0.2618f
/* Orbit radians per dragged pixel. */
#define P3D_VIEW_ORBIT_PER_PIXEL 0.002f
/* One wheel step moves the camera this fraction of the centre depth; the dolly stays in
 * [-P3D_VIEW_DOLLY_BACK, P3D_VIEW_DOLLY_IN] times the centre depth. */
#define P3D_VIEW_DOLLY_STEP 0.02f
#define P3D_VIEW_DOLLY_BACK 1.0f
#define P3D_VIEW_DOLLY_IN 0.6f
/* Time constant (seconds) of the tilt's easing toward the cursor. */
#define P3D_VIEW_TILT_EASE 0.08

typedef struct p3d_view_control {
    float anchor;         /* the scene's centre depth: the tilt and orbit pivot is (0, 0, anchor) */
    float tilt[2];        /* current tilt, x and y, each in [-1, 1] (1 = P3D_VIEW_TILT_RANGE) */
    float tilt_target[2]; /* where the cursor is (0 when it is outside the window) */
    float yaw, pitch;     /* orbit about the pivot, radians; yaw > 0 moves the camera to -x */
    float dolly;          /* camera offset along the view axis, mesh units (> 0: toward the scene) */
    int32_t playing;      /* preset being played (index into p3d_view_presets), -1 = none */
    double play_start;    /* clock seconds when it started */
    p3d_traj traj;        /* the preset's poses while one plays */
} p3d_view_control;

/* The presets keys 1..4 play, in that order: dolly-zoom-in, zoom-in, circle, swing. */
extern const char *const p3d_view_presets[4];

/* At rest (the mesh camera); anchor = p3d_mesh_center_depth. */
void p3d_view_control_init(p3d_view_control *c, float anchor);
void p3d_view_control_free(p3d_view_control *c);
/* Back to rest; stops a preset. */
void p3d_view_control_reset(p3d_view_control *c);
/* Cursor at (nx, ny) in [-1, 1] (window left/top = -1); clamped. */
void p3d_view_control_cursor(p3d_view_control *c, float nx, float ny);
/* A drag by (dx, dy) pixels: orbit, clamped to P3D_VIEW_ORBIT_MAX. */
void p3d_view_control_drag(p3d_view_control *c, double dx, double dy);
/* Wheel steps (> 0: toward the scene), clamped to the dolly range. */
void p3d_view_control_wheel(p3d_view_control *c, double steps);
/* Starts preset k (0..3) with `frames` poses at `now` (clock seconds). */
p3d_status p3d_view_control_play(p3d_view_control *c, int32_t k, int32_t frames, double now);
/* Advances the tilt's easing by dt seconds and the playback to `now` (it ends after its last frame). */
void p3d_view_control_step(p3d_view_control *c, double dt, double now);
/* The camera now: the playing preset's frame, else tilt, orbit and dolly. */
void p3d_view_control_pose(const p3d_view_control *c, double now, p3d_pose *out);

/* The OpenGL world -> clip matrix (column-major 4x4) of view v for a w x h framebuffer and depth
 * range [znear, zfar]: clip.w = the view depth, and the window position of a point is the pixel
 * position p3d_render_project gives, with y flipped (OpenGL rows run bottom-up). */
void p3d_view_clip_matrix(const p3d_view *v, int32_t w, int32_t h, float znear, float zfar, float m[16]);

typedef struct p3d_viewer_opts {
    const char *name;      /* window title and screenshot names NAME_view_<n>.png */
    float crop[4];         /* crop border (trajectory.h); default p3d_crop_border_default */
    int32_t width, height; /* screenshot size; the window's first size (0: the mesh's image size) */
    int32_t frames;        /* frames of a preset (P3D_TRAJ_DEFAULT_FRAMES) */
    int32_t wireframe;     /* 1: triangle edges only (the window starts so; key w toggles) */
    int32_t provenance;    /* 1: colours by provenance label (key p toggles) */
} p3d_viewer_opts;

#ifdef P3D_HAVE_VIEWER
typedef struct p3d_viewer p3d_viewer;

/* Connects to the display. Without one fails with P3D_ERR_UNSUPPORTED and a message saying to use
 * `photo3d-gpu render`. */
p3d_status p3d_viewer_init(p3d_viewer **out);
void p3d_viewer_free(p3d_viewer *v);
/* Renders the mesh at pose p into an opts->width x opts->height PNG (hidden window, offscreen
 * framebuffer) and returns. */
p3d_status p3d_viewer_screenshot(p3d_viewer *v, const p3d_mesh *m, const p3d_viewer_opts *opts, const p3d_pose *p,
                                 const char *png_path);
/* Opens the window and runs until it is closed. */
p3d_status p3d_viewer_run(p3d_viewer *v, const p3d_mesh *m, const p3d_viewer_opts *opts);
#endif

#ifdef __cplusplus
}
#endif
#endif
