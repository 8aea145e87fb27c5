/* web_page.h - a 3D photo as ONE self-contained web page: NAME.html holds the GLB (base64), three.js and
 * its GLTFLoader (inlined at export time from Debian's libjs-three, never part of this repository) and
 * a small viewer (the template host/pipeline/web_page.html, compiled in). It opens from the file system
 * (file://, no server) and shows the photo with Facebook-style parallax: the pointer or the device's
 * tilt moves the camera within the range of the trajectories' camera centres, a click plays the
 * trajectories (the videos' poses, serialised into the page).
 *
 * The page draws what host/render/ draws: the same frame camera (p3d_view_of_pose: the photo's
 * intrinsics, principal point at the image centre, the crop border's window), the same depth range,
 * unlit atlas sampled bilinearly without mipmaps, supersampling by the box average of S x S samples,
 * the same background. Query string (for tests and links):
 *   NAME.html?pose=x,y,z     fixed camera centre (mesh coordinates, looking along +z: `render --pose x,y,z`)
 *            &w=W&h=H        fixed frame size in pixels (device pixel ratio 1)
 *            &ssaa=S         supersampling factor 1..4 (default the options' ssaa)
 *   NAME.html?traj=NAME&frame=K   frame K (from 0) of the page's trajectory NAME, as the videos show it
 * The page sets document.title = "p3d-ready" once the first frame is drawn, "p3d-error: MESSAGE" on an
 * error (a script error, a bad query, a GLB three.js cannot read).
 *
 *   p3d_web_opts o = p3d_web_defaults();
 *   P3D_TRY(p3d_web_page_write("out/web/scene.html", glb, glb_len, &mesh, trajs, n_traj, &o));
 */
#ifndef P3D_WEB_PAGE_H
#define P3D_WEB_PAGE_H

#include <stddef.h>

#include "mesh/mesh.h"
#include "render/trajectory.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Where three.js is read from when neither the options nor P3D_THREE_DIR say: Debian's libjs-three
 * (three.min.js and examples/js/loaders/GLTFLoader.js, the non-module build of r111). */
#define P3D_WEB_THREE_DIR_DEFAULT "/usr/share/javascript/three"

typedef struct p3d_web_opts {
    const char *three_dir; /* NULL: $P3D_THREE_DIR, else P3D_WEB_THREE_DIR_DEFAULT */
    const char *title;     /* the page's title (the photo's name) */
    float crop[4];         /* the frame camera's crop border (trajectory.h), top, left, bottom, right */
    int32_t ssaa;          /* supersampling factor 1..4 */
    uint8_t background[3];
    double fps;            /* trajectory playback rate */
} p3d_web_opts;

/* The renderer's defaults: the reference's crop border, SSAA 3, gray #808080, 40 fps. */
p3d_web_opts p3d_web_defaults(void);

/* Writes the page for the GLB bytes glb (the file of mesh m, which gives the camera and the bounding
 * box) and the trajectories trajs[0..n_traj) to path, atomically (core/file_io.h). Fails with
 * P3D_ERR_IO naming the missing file when three.js is not installed, P3D_ERR_INVALID_ARG for bad
 * options. */
p3d_status p3d_web_page_write(const char *path, const uint8_t *glb, size_t glb_len, const p3d_mesh *m,
                              const p3d_traj *trajs, int32_t n_traj, const p3d_web_opts *o);

#ifdef __cplusplus
}
#endif
#endif
