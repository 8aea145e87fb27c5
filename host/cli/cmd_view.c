/* cmd_view.c - `photo3d-gpu view`: a mesh (PLY, GLB) or a photo (run through the pipeline first) in a
 * window with motion parallax, or one frame of it as a PNG (--screenshot). Camera control and window:
 * view.h; the window needs GLFW + libepoxy at build time (P3D_HAVE_VIEWER) and a display at run time. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/inputs.h"
#include "core/models.h"
#include "core/progress.h"
#include "depth/depth_estimate.h"
#include "io/depth_io.h"
#include "io/image_io.h"
#include "io/resize_area.h"
#include "mesh/mesh_file.h"
#include "pipeline/photo3d.h"
#include "view/view.h"

static const char *const k_view_help =
    "usage: photo3d-gpu view MESH.ply|MESH.glb|IMAGE [--screenshot OUT.png] [--pose P] [--size WxH]\n"
    "                        [--crop T,L,B,R] [--frames N] [--name NAME] [--wireframe] [--provenance]\n"
    "                        [--depth FILE] [--metric] [--fill KIND] [--longer-side N] [--no-border]\n"
    "                        [--device D] [--model-dir DIR]\n"
    "\n"
    "Opens a window showing the 3D photo with motion parallax, redrawn at the display's refresh rate.\n"
    "Given a photo (any file not ending in .ply or .glb) it first builds the mesh, as photo3d-gpu mesh\n"
    "does, from --depth FILE or, without one, a depth map the Tiefenrausch model estimates.\n"
    "\n"
    "  mouse position     tilts the camera (within the circle trajectory's range, +-0.015)\n"
    "  left drag          orbits about the scene's centre\n"
    "  wheel              dollies toward or away from the scene\n"
    "  1 2 3 4            play dolly-zoom-in, zoom-in, circle, swing (then back to the mouse)\n"
    "  r                  reset the camera\n"
    "  w                  wireframe on/off\n"
    "  p                  provenance colours on/off: green original, orange and red inpainted (passes\n"
    "                     1 and 2), violet next to an occlusion edge, blue extrapolated border\n"
    "  s                  screenshot to NAME_view_<n>.png in the current directory\n"
    "  q, Esc             quit\n"
    "\n"
    "  --screenshot OUT   render one frame into OUT (PNG) and exit: for scripts; the same frame as\n"
    "                     photo3d-gpu render --pose P --ssaa 1 with the same --size and --crop\n"
    "  --pose P           the screenshot's camera 'x,y,z[,dx,dy,dz][,fov]' (default 0,0,0: the photo's)\n"
    "  --size WxH         screenshot size, or the window's first size (default the mesh's image size)\n"
    "  --crop T,L,B,R     border fractions hidden from the frame (default 0.03,0.03,0.05,0.03, as render)\n"
    "  --frames N         frames of a preset trajectory (default 240, played at 40 per second)\n"
    "  --name NAME        screenshot name prefix (default the input's stem)\n"
    "  --wireframe        start with (or screenshot) the wireframe\n"
    "  --provenance       start with (or screenshot) the provenance colours\n"
    "  --depth FILE       photo only: its depth or disparity map (.npy, 8/16-bit PNG, PFM)\n"
    "  --metric           the map holds metric depth (larger = farther); default: disparity\n"
    "  --fill KIND        photo only: auto (default), learned, classic (non-learned inpainting)\n"
    "  --longer-side N    photo only: processing size of the longer side (default 960)\n"
    "  --no-border        photo only: do not extrapolate the 60-pixel border\n"
    "  --device D         photo only: cpu, cuda[:N] or auto (default)\n"
    "  --model-dir DIR    where the model weights are looked for first\n"
    "\n"
    "Needs a display; photo3d-gpu render writes the same frames without one.\n";

typedef struct view_job {
    const char *input, *screenshot, *pose, *depth_path, *device, *model_dir;
    char name[256];
    p3d_depth_opts dopts;
    p3d_photo_opts popts;
    p3d_fill_mode fill;
    p3d_viewer_opts vo;
} view_job;

/* Whether path names a mesh file (.ply or .glb, any case); anything else is taken for a photo. */
static int is_mesh_path(const char *path) {
    const size_t n = strlen(path);
    if (n < 4) return 0;
    char ext[5];
    for (int k = 0; k < 4; k++) ext[k] = (char)tolower((unsigned char)path[n - 4 + k]);
    ext[4] = '\0';
    return strcmp(ext, ".ply") == 0 || strcmp(ext, ".glb") == 0;
}

static int parse_view_args(int argc, char **argv, view_job *j, int *rc) {
    const char *size = NULL, *name = NULL;
    p3d_args it;
    p3d_args_init(&it, argc, argv);
    while (p3d_args_next(&it)) {
        const char *v = NULL;
        if (p3d_args_is(&it, "-h", "--help")) {
            fputs(k_view_help, stdout);
            *rc = P3D_EXIT_OK;
            return 0;
        } else if (it.positional) {
            if (j->input) {
                *rc = p3d_usage_error("view", "one MESH or IMAGE at a time ('%s' and '%s')", j->input, it.arg);
                return 0;
            }
            j->input = it.arg;
        } else if (p3d_args_is(&it, NULL, "--metric")) {
            j->dopts.kind = P3D_DEPTH_METRIC;
        } else if (p3d_args_is(&it, NULL, "--no-border")) {
            j->popts.ldi.border = 0;
        } else if (p3d_args_is(&it, NULL, "--wireframe")) {
            j->vo.wireframe = 1;
        } else if (p3d_args_is(&it, NULL, "--provenance")) {
            j->vo.provenance = 1;
        } else if (!(p3d_args_is(&it, NULL, "--screenshot") || p3d_args_is(&it, NULL, "--pose") ||
                     p3d_args_is(&it, NULL, "--size") || p3d_args_is(&it, NULL, "--crop") ||
                     p3d_args_is(&it, NULL, "--frames") || p3d_args_is(&it, NULL, "--name") ||
                     p3d_args_is(&it, NULL, "--depth") || p3d_args_is(&it, NULL, "--fill") ||
                     p3d_args_is(&it, NULL, "--longer-side") || p3d_args_is(&it, NULL, "--device") ||
                     p3d_args_is(&it, NULL, "--model-dir"))) {
            *rc = p3d_args_unknown(&it);
            return 0;
        } else if (!(v = p3d_args_value(&it))) {
            *rc = P3D_EXIT_USAGE;
            return 0;
        } else if (p3d_args_is(&it, NULL, "--screenshot")) {
            j->screenshot = v;
        } else if (p3d_args_is(&it, NULL, "--pose")) {
            j->pose = v;
        } else if (p3d_args_is(&it, NULL, "--size")) {
            size = v;
        } else if (p3d_args_is(&it, NULL, "--crop")) {
            if (p3d_parse_crop(v, j->vo.crop) != P3D_OK) {
                *rc = p3d_usage_error("view", "%s", p3d_last_error());
                return 0;
            }
        } else if (p3d_args_is(&it, NULL, "--frames")) {
            char *end = NULL;
            const long n = strtol(v, &end, 10);
            if (!end || end == v || *end || n < 1 || n > P3D_TRAJ_MAX_FRAMES) {
                *rc = p3d_usage_error("view", "--frames '%s': expected an integer in 1..%d", v, P3D_TRAJ_MAX_FRAMES);
                return 0;
            }
            j->vo.frames = (int32_t)n;
        } else if (p3d_args_is(&it, NULL, "--name")) {
            name = v;
        } else if (p3d_args_is(&it, NULL, "--depth")) {
            j->depth_path = v;
        } else if (p3d_args_is(&it, NULL, "--fill")) {
            if (p3d_fill_mode_parse(v, &j->fill) != P3D_OK) {
                *rc = p3d_usage_error("view", "%s", p3d_last_error());
                return 0;
            }
        } else if (p3d_args_is(&it, NULL, "--longer-side")) {
            char *end = NULL;
            const long n = strtol(v, &end, 10);
            if (!end || end == v || *end || n < 16 || n > 16384) {
                *rc = p3d_usage_error("view", "--longer-side '%s': expected an integer in 16..16384", v);
                return 0;
            }
            j->popts.longer_side = (int32_t)n;
        } else if (p3d_args_is(&it, NULL, "--device")) {
            j->device = v;
        } else {
            j->model_dir = v;
        }
    }
    if (!j->input) {
        *rc = p3d_usage_error("view", "no MESH or IMAGE given (see photo3d-gpu view --help)");
        return 0;
    }
    if (size && p3d_parse_size(size, &j->vo.width, &j->vo.height) != P3D_OK) {
        *rc = p3d_usage_error("view", "%s", p3d_last_error());
        return 0;
    }
    if (j->pose && !j->screenshot) {
        *rc = p3d_usage_error("view", "--pose sets the --screenshot camera; the window's camera follows the mouse");
        return 0;
    }
    p3d_pose p;
    if (j->pose && p3d_pose_parse(j->pose, 1.0f, &p) != P3D_OK) { /* syntax errors before any work */
        *rc = p3d_usage_error("view", "%s", p3d_last_error());
        return 0;
    }
    if (is_mesh_path(j->input) && (j->depth_path || j->dopts.kind == P3D_DEPTH_METRIC || !j->popts.ldi.border)) {
        *rc = p3d_usage_error("view", "--depth, --metric and --no-border are for a photo; %s is a mesh", j->input);
        return 0;
    }
    if (name) snprintf(j->name, sizeof j->name, "%s", name);
    else p3d_path_stem(j->input, j->name, sizeof j->name);
    j->vo.name = j->name;
    return 1;
}

#ifdef P3D_HAVE_VIEWER
/* The photo's depth map: --depth FILE, else the Tiefenrausch model's estimate when it is installed
 * (as photo3d-gpu depth computes it), else an error saying how to get one. model_path: where the
 * model was found ("" with --depth). */
static p3d_status find_depth_source(const view_job *j, char *model_path, size_t cap) {
    model_path[0] = '\0';
    if (j->depth_path) return P3D_OK;
    const p3d_model_desc *desc = p3d_model_by_name("tiefenrausch");
    P3D_ASSERT(desc != NULL);
    if (!p3d_model_find(j->model_dir, desc, model_path, cap))
        return p3d_fail(P3D_ERR_MODEL, "%s: no depth map: pass --depth FILE (a depth or disparity map), or install "
                        "the Tiefenrausch model (tools/fetch_tiefenrausch.sh; see photo3d-gpu models) to estimate one",
                        j->input);
    return P3D_OK;
}

/* The Tiefenrausch model's disparity for the photo, at the photo's aspect (depth_estimate.h). */
static p3d_status estimate_depth(p3d_ctx *ctx, const char *model_dir, const char *image, p3d_depth *d) {
    p3d_depth_estimator *est = NULL;
    p3d_image img;
    memset(&img, 0, sizeof img);
    p3d_status st = p3d_depth_estimator_init(ctx, "tiefenrausch", model_dir, 0, &est);
    if (st == P3D_OK) st = p3d_image_read(image, 0, &img);
    if (st == P3D_OK) st = p3d_depth_estimate_photo(est, &img, d);
    p3d_image_free(&img);
    p3d_depth_estimator_free(est);
    return st;
}

/* The photo through the pipeline (depth when needed, LDI, inpainting, mesh), with a progress line
 * per phase on stderr. */
static p3d_status photo_to_mesh(const view_job *j, const char *model_path, p3d_photo_result *r) {
    p3d_device dev;
    p3d_ctx *ctx = NULL;
    p3d_ldi_nets nets;
    memset(&nets, 0, sizeof nets);
    p3d_depth map;
    memset(&map, 0, sizeof map);
    int32_t learned = 0;
    p3d_progress pr;
    p3d_progress_init(&pr, stderr, P3D_PROGRESS_AUTO);
    char label[400];
    p3d_status st = p3d_device_parse(j->device, &dev);
    if (st == P3D_OK) st = p3d_device_resolve(&dev);
    if (st == P3D_OK) st = p3d_ctx_init(&ctx, dev);
    if (st == P3D_OK && model_path[0]) {
        snprintf(label, sizeof label, "%s: depth (tiefenrausch)", j->name);
        p3d_progress_begin(&pr, label, 0);
        st = estimate_depth(ctx, j->model_dir, j->input, &map);
        if (st == P3D_OK) p3d_progress_end(&pr);
    } else if (st == P3D_OK) {
        st = p3d_depth_read(j->depth_path, &j->dopts, &map);
    }
    if (st == P3D_OK) st = p3d_nets_load(ctx, j->model_dir, j->fill, &nets, &learned);
    if (st == P3D_OK) {
        snprintf(label, sizeof label, "%s: 3D photo (layered depth, %s inpainting, mesh)", j->name,
                 learned ? "learned" : "non-learned");
        p3d_progress_begin(&pr, label, 0);
        st = p3d_photo_to_mesh(ctx, &nets, j->input, &map, &j->popts, r);
        if (st == P3D_OK) p3d_progress_end(&pr);
    }
    p3d_depth_free(&map);
    p3d_nets_free(&nets);
    p3d_ctx_free(ctx);
    return st;
}

/* With the mesh in hand: the screenshot or the window. */
static p3d_status show(const view_job *j, p3d_viewer *v, const p3d_mesh *m) {
    if (!j->screenshot) return p3d_viewer_run(v, m, &j->vo);
    p3d_viewer_opts o = j->vo;
    if (!o.width) {
        o.width = m->width;
        o.height = m->height;
    }
    p3d_pose p;
    P3D_TRY(p3d_pose_parse(j->pose ? j->pose : "0,0,0", m->hfov, &p));
    P3D_TRY(p3d_viewer_screenshot(v, m, &o, &p, j->screenshot));
    printf("%s: %dx%d, pose %s\n", j->screenshot, (int)o.width, (int)o.height, j->pose ? j->pose : "0,0,0");
    return P3D_OK;
}
#endif

int p3d_cmd_view(int argc, char **argv) {
    view_job j;
    memset(&j, 0, sizeof j);
    j.device = "auto";
    j.dopts.kind = P3D_DEPTH_DISPARITY;
    j.dopts.scale = 1.0f;
    j.popts = p3d_photo_opts_default();
    j.fill = P3D_FILL_AUTO;
    memcpy(j.vo.crop, p3d_crop_border_default, sizeof j.vo.crop);
    j.vo.frames = P3D_TRAJ_DEFAULT_FRAMES;
    int rc = P3D_EXIT_OK;
    if (!parse_view_args(argc, argv, &j, &rc)) return rc;
#ifndef P3D_HAVE_VIEWER
    return p3d_report_failure(p3d_fail(P3D_ERR_UNSUPPORTED,
                                       "view: this photo3d-gpu was built without GLFW and libepoxy (install "
                                       "libglfw3-dev and libepoxy-dev and rebuild): use photo3d-gpu render for "
                                       "videos and stills"));
#else
    /* Input errors first (they need no display), then the display, then the pipeline's work. */
    p3d_mesh mesh;
    memset(&mesh, 0, sizeof mesh);
    p3d_photo_result r;
    memset(&r, 0, sizeof r);
    char model_path[1100];
    const int from_photo = !is_mesh_path(j.input);
    p3d_viewer *v = NULL;
    p3d_status st = from_photo ? find_depth_source(&j, model_path, sizeof model_path) : p3d_mesh_read(j.input, &mesh);
    if (st == P3D_OK && !from_photo && p3d_render_check_mesh(&mesh) != P3D_OK) {
        char why[512];
        snprintf(why, sizeof why, "%s", p3d_last_error());
        st = p3d_fail(P3D_ERR_FORMAT, "%s: %s", j.input, why);
    }
    if (st == P3D_OK) st = p3d_viewer_init(&v);
    if (st == P3D_OK && from_photo) st = photo_to_mesh(&j, model_path, &r);
    if (st == P3D_OK) st = show(&j, v, from_photo ? &r.mesh : &mesh);
    p3d_viewer_free(v);
    p3d_photo_result_free(&r);
    p3d_mesh_free(&mesh);
    return st == P3D_OK ? P3D_EXIT_OK : p3d_report_failure(st);
#endif
}
