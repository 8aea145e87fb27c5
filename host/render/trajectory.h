/* trajectory.h - camera poses of the videos: the reference's four presets, trajectory files, single
 * poses, and the frame camera (crop border) that turns a pose into a p3d_view.
 *
 * A pose is a camera centre in mesh coordinates (OpenCV axes: x right, y down, z forward), a world ->
 * camera rotation, and a focal multiplier relative to the mesh camera (1 = the photo's own field of
 * view; the dolly zoom changes it per frame).
 *
 * Presets (spec 2.22-2.23; t = translation of the reference's pose, the camera sits at -t):
 *   dolly-zoom-in  t(s) = (2s - 1) (0, 0, -0.05), s = linspace(0, 1, N); focal x (d - c_z) / d with d
 *                  the scene's centre depth (p3d_mesh_center_depth), so the centre plane keeps its size
 *   zoom-in        the same path, fixed focal length
 *   circle         t = (cos(pi s) x, sin(pi s) y, cos(pi s / 2) z), s = -2 + 4k/N, x = y = -0.015, z = -0.05
 *   swing          the same with x = -0.015, y = 0
 * N = 240 by default, and exactly N frames are written (the reference's moviepy wrote 241: quirk 36).
 *
 * Trajectory files (--traj FILE), one pose per frame:
 *   text  one pose per line, numbers separated by spaces or commas, '#' starts a comment:
 *           x y z                          position, looking along +z
 *           x y z fov                      ... with a horizontal field of view in degrees
 *           x y z dx dy dz [fov]           ... looking along (dx, dy, dz) (image "up" stays -y)
 *           x y z r00 r01 ... r22 [fov]    ... with a world -> camera rotation, row-major
 *   JSON  {"fps": 30, "poses": [{"position": [x, y, z], "look": [dx, dy, dz], "fov": 50}, ...]}
 *         or a bare array of poses; "rotation" ([[3], [3], [3]] or 9 numbers) instead of "look";
 *         "look", "rotation", "fov" and "fps" are optional.
 * fov is the horizontal field of view of the full photo (before the crop border), in degrees.
 *
 * Frame camera: the reference renders, then crops crop_border = [top, left, bottom, right] fractions
 * (0.03, 0.03, 0.05, 0.03) and resizes back, which stretches frames vertically by ~2.3% (quirk 23).
 * Here the output shows the largest window of the output's aspect centred in that crop rectangle,
 * scaled uniformly (no stretch, no second resampling: the window is rendered directly). */
#ifndef P3D_TRAJECTORY_H
#define P3D_TRAJECTORY_H

#include "render/render.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct p3d_pose {
    float pos[3];
    float rot[9];
    float focal_scale;
} p3d_pose;

typedef struct p3d_traj {
    char name[64]; /* output name part: "dolly-zoom-in", or the file's stem */
    int32_t n;
    p3d_pose *poses;
    double fps; /* 0 when the source did not say */
} p3d_traj;

#define P3D_TRAJ_DEFAULT_FRAMES 240
#define P3D_TRAJ_DEFAULT_FPS 40.0
#define P3D_TRAJ_MAX_FRAMES 1000000

/* 1 when name is one of the four preset names. */
int32_t p3d_traj_is_preset(const char *name);
/* A preset with n frames; anchor_depth = the scene's centre depth (dolly zoom). */
p3d_status p3d_traj_preset(const char *name, int32_t n, float anchor_depth, p3d_traj *out);
/* A trajectory of the reference's configuration (spec 2.22): type double-straight-line (-v .. v),
 * straight-line (0 .. v) or circle, shift ranges v = (x, y, z), dolly zoom on or off (anchor_depth
 * used when on), n frames, named name. p3d_traj_preset is this with the presets' values. */
p3d_status p3d_traj_make(const char *name, const char *type, double x, double y, double z, int32_t dolly, int32_t n,
                         float anchor_depth, p3d_traj *out);
/* A text or JSON trajectory file (told apart by the first non-blank character); hfov = the mesh's
 * horizontal field of view (radians), for converting fov values. Errors name the file and line. */
p3d_status p3d_traj_read(const char *path, float hfov, p3d_traj *out);
/* One pose in the text syntax above ("x,y,z[,dx,dy,dz][,fov]" ...). */
p3d_status p3d_pose_parse(const char *text, float hfov, p3d_pose *out);
void p3d_traj_free(p3d_traj *t);

/* World -> camera rotation (row-major) looking along d: third row the unit look direction, second row
 * (image down) in the plane of the look direction and +y. Returns 0 (rot untouched) when d is zero or
 * vertical. */
int32_t p3d_rotation_from_look(const double d[3], float rot[9]);

/* The reference's crop_border: top, left, bottom, right. */
extern const float p3d_crop_border_default[4];

/* The view of pose p for an out_w x out_h frame of mesh m with the crop border above (fractions, each
 * in [0, 0.45)). */
p3d_view p3d_view_of_pose(const p3d_mesh *m, const p3d_pose *p, int32_t out_w, int32_t out_h, const float crop[4]);

#ifdef __cplusplus
}
#endif
#endif
