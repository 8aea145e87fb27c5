/* cmd_render.c - `photo3d-gpu render`: a mesh (PLY or GLB) to the reference's parallax videos, videos
 * along trajectory files, or still frames at given poses. Trajectories: trajectory.h; rasterizer:
 * render.h; video: video.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/file_io.h"
#include "io/image_io.h"
#include "io/video.h"
#include "mesh/mesh_file.h"
#include "render/render.h"
#include "render/trajectory.h"

static const char *const k_render_help =
    "usage: photo3d-gpu render MESH.ply|MESH.glb [-o DIR] [--traj LIST] [--frames N] [--fps F] [--size WxH]\n"
    "                          [--pose P]... [--stereo] [--baseline B] [--format mp4|png] [--ssaa S]\n"
    "                          [--crf Q] [--encoder NAME] [--crop T,L,B,R] [--name NAME] [--device D]\n"
    "\n"
    "Renders the mesh's parallax videos, as the reference does, into DIR (default .):\n"
    "  NAME_dolly-zoom-in.mp4  NAME_zoom-in.mp4  NAME_circle.mp4  NAME_swing.mp4\n"
    "(NAME = the mesh file's stem), H.264 yuv420p in MP4 with faststart.\n"
    "\n"
    "  --traj LIST       comma-separated presets (dolly-zoom-in, zoom-in, circle, swing; default all four)\n"
    "                    and/or trajectory files (text: one pose 'x y z [dx dy dz] [fov]' per line; or JSON\n"
    "                    {\"fps\": F, \"poses\": [{\"position\": [..], \"look\": [..], \"fov\": deg}]});\n"
    "                    a file's video is NAME_<file stem>.mp4\n"
    "  --frames N        frames per preset video (default 240)\n"
    "  --fps F           frame rate (default 40, or the trajectory file's)\n"
    "  --size WxH        frame size (default the mesh's image size, rounded down to even for MP4)\n"
    "  --pose P          also write one still, NAME_pose<k>.png, at pose 'x,y,z[,dx,dy,dz][,fov]'\n"
    "                    (repeatable; with --pose and no --traj only the stills are rendered)\n"
    "  --stereo          side-by-side stereo: left and right eye, each WxH, in one 2WxH frame\n"
    "  --baseline B      distance between the eyes in mesh units (default 0.03)\n"
    "  --format F        mp4 (default) or png (a folder NAME_<traj>/ of frame_00000.png ...)\n"
    "  --ssaa S          supersampling factor 1..4 (default 3, the reference's 3x render)\n"
    "  --crf Q           constant quality 0..51 (default 20, libx264 preset veryfast: the quality of\n"
    "                    the reference's CRF 23 at preset medium)\n"
    "  --encoder NAME    FFmpeg encoder: auto (default: h264_nvenc on a GPU when available, else libx264),\n"
    "                    libx264, h264_nvenc, ...\n"
    "  --crop T,L,B,R    border fractions hidden from every frame (default the reference's\n"
    "                    0.03,0.03,0.05,0.03; the frame shows the largest window of its aspect inside)\n"
    "  --name NAME       output name prefix (default the mesh file's stem)\n"
    "  --device D        cpu, cuda[:N] or auto (default)\n";

#define P3D_RENDER_MAX_POSES 64

typedef struct render_job {
    const char *mesh_path, *out_dir, *traj_list, *format, *device;
    char name[256];
    int32_t frames, width, height, ssaa, stereo, n_poses;
    double fps;
    float baseline, crop[4];
    const char *poses[P3D_RENDER_MAX_POSES];
    p3d_video_opts vopts;
} render_job;

static int parse_int(const char *s, int32_t lo, int32_t hi, int32_t *out) {
    char *end = NULL;
    const long v = strtol(s, &end, 10);
    if (!end || end == s || *end || v < lo || v > hi) return 0;
    *out = (int32_t)v;
    return 1;
}

static int parse_real(const char *s, double lo, double hi, double *out) {
    char *end = NULL;
    const double v = strtod(s, &end);
    if (!end || end == s || *end || !(v >= lo && v <= hi)) return 0;
    *out = v;
    return 1;
}

/* Whether the current option is one of those taking a value (the others are --help and --stereo). */
static int takes_value(const p3d_args *it) {
    static const char *const names[] = {"--traj", "--name", "--device", "--encoder", "--frames", "--fps", "--ssaa",
                                        "--crf", "--baseline", "--format", "--size", "--crop", "--pose"};
    if (p3d_args_is(it, "-o", "--output")) return 1;
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
        if (p3d_args_is(it, NULL, names[k])) return 1;
    return 0;
}

/* Everything the frame loop needs: the renderer, one eye's frame and the output frame. */
typedef struct render_run {
    const render_job *job;
    const p3d_mesh *mesh;
    p3d_renderer *r;
    uint8_t *eye, *out; /* (h, w, 3) and (h, w * eyes, 3) */
    int32_t out_w;
} render_run;

/* Renders pose p into run->out (both eyes side by side with --stereo). */
static p3d_status render_pose(render_run *run, const p3d_pose *p) {
    const render_job *j = run->job;
    if (!j->stereo) {
        const p3d_view v = p3d_view_of_pose(run->mesh, p, j->width, j->height, j->crop);
        return p3d_render_frame(run->r, &v, run->out);
    }
    for (int32_t eye = 0; eye < 2; eye++) {
        p3d_pose e = *p;
        const float d = (eye ? 0.5f : -0.5f) * j->baseline; /* along the camera's x axis (rot row 0) */
        for (int32_t c = 0; c < 3; c++) e.pos[c] += d * p->rot[c];
        const p3d_view v = p3d_view_of_pose(run->mesh, &e, j->width, j->height, j->crop);
        P3D_TRY(p3d_render_frame(run->r, &v, run->eye));
        for (int32_t y = 0; y < j->height; y++)
            memcpy(run->out + 3 * ((int64_t)y * run->out_w + (int64_t)eye * j->width),
                   run->eye + 3 * (int64_t)y * j->width, 3 * (size_t)j->width);
    }
    return P3D_OK;
}

static p3d_status render_traj(render_run *run, const p3d_traj *t) {
    const render_job *j = run->job;
    char path[1400];
    const int png = strcmp(j->format, "png") == 0;
    p3d_video_writer *vw = NULL;
    p3d_video_opts vo = j->vopts;
    vo.fps = j->fps > 0 ? j->fps : t->fps > 0 ? t->fps : P3D_TRAJ_DEFAULT_FPS;
    if (png) {
        snprintf(path, sizeof path, "%s/%s_%s", j->out_dir, j->name, t->name);
        P3D_TRY(p3d_dir_ensure(path));
    } else {
        snprintf(path, sizeof path, "%s/%s_%s.mp4", j->out_dir, j->name, t->name);
        P3D_TRY(p3d_video_open(path, run->out_w, j->height, &vo, &vw));
    }
    const double t0 = p3d_time_now();
    p3d_status st = P3D_OK;
    for (int32_t k = 0; k < t->n && st == P3D_OK; k++) {
        st = render_pose(run, &t->poses[k]);
        if (st == P3D_OK && png) {
            char fp[1500];
            snprintf(fp, sizeof fp, "%s/frame_%05d.png", path, (int)k);
            st = p3d_png_write_u8(fp, run->out_w, j->height, 3, run->out);
        } else if (st == P3D_OK) st = p3d_video_write_rgb(vw, run->out);
    }
    if (vw && st == P3D_OK) {
        const char *enc = p3d_video_encoder_name(vw);
        char encname[32];
        snprintf(encname, sizeof encname, "%s", enc);
        st = p3d_video_close(vw);
        vw = NULL;
        if (st == P3D_OK)
            printf("%s: %d frames %dx%d at %g fps (%s), %.1f frames/s\n", path, (int)t->n, (int)run->out_w,
                   (int)j->height, vo.fps, encname, t->n / (p3d_time_now() - t0));
    } else if (st == P3D_OK)
        printf("%s/: %d PNG frames %dx%d, %.1f frames/s\n", path, (int)t->n, (int)run->out_w, (int)j->height,
               t->n / (p3d_time_now() - t0));
    p3d_video_abort(vw);
    return st;
}

static p3d_status run_job(const render_job *j, p3d_ctx *ctx, const p3d_mesh *m) {
    render_run run = {j, m, NULL, NULL, NULL, j->width * (j->stereo ? 2 : 1)};
    const p3d_render_opts ro = {j->width, j->height, j->ssaa, {128, 128, 128}};
    P3D_TRY(p3d_renderer_init(ctx, m, &ro, &run.r));
    p3d_status st = P3D_OK;
    run.eye = (uint8_t *)malloc((size_t)j->width * (size_t)j->height * 3);
    run.out = (uint8_t *)malloc((size_t)run.out_w * (size_t)j->height * 3);
    if (!run.eye || !run.out) st = p3d_fail(P3D_ERR_OOM, "render: out of memory for a %dx%d frame", (int)run.out_w, (int)j->height);
    if (st == P3D_OK) st = p3d_dir_ensure(j->out_dir);
    const float anchor = p3d_mesh_center_depth(m);
    /* presets and files, one video each */
    const char *list = j->traj_list ? j->traj_list : (j->n_poses ? "" : "dolly-zoom-in,zoom-in,circle,swing");
    char item[1024];
    for (const char *s = list; st == P3D_OK && *s;) {
        const char *comma = strchr(s, ',');
        const size_t n = comma ? (size_t)(comma - s) : strlen(s);
        snprintf(item, sizeof item, "%.*s", (int)n, s);
        s += n + (comma ? 1 : 0);
        if (!item[0]) continue;
        p3d_traj t;
        st = p3d_traj_is_preset(item) ? p3d_traj_preset(item, j->frames, anchor, &t) : p3d_traj_read(item, m->hfov, &t);
        if (st == P3D_OK) st = render_traj(&run, &t);
        p3d_traj_free(&t);
    }
    for (int32_t k = 0; k < j->n_poses && st == P3D_OK; k++) {
        p3d_pose p;
        char path[1400];
        st = p3d_pose_parse(j->poses[k], m->hfov, &p);
        if (st == P3D_OK) st = render_pose(&run, &p);
        snprintf(path, sizeof path, "%s/%s_pose%d.png", j->out_dir, j->name, (int)k);
        if (st == P3D_OK) st = p3d_png_write_u8(path, run.out_w, j->height, 3, run.out);
        if (st == P3D_OK) printf("%s: pose %s\n", path, j->poses[k]);
    }
    free(run.eye);
    free(run.out);
    p3d_renderer_free(run.r);
    return st;
}

int p3d_cmd_render(int argc, char **argv) {
    render_job j;
    memset(&j, 0, sizeof j);
    j.out_dir = ".";
    j.format = "mp4";
    j.device = "auto";
    j.frames = P3D_TRAJ_DEFAULT_FRAMES;
    j.ssaa = 3;
    j.baseline = 0.03f;
    memcpy(j.crop, p3d_crop_border_default, sizeof j.crop);
    j.vopts = p3d_video_opts_default();
    const char *name = NULL;
    int32_t size_w = 0, size_h = 0;
    p3d_args it;
    p3d_args_init(&it, argc, argv);
    while (p3d_args_next(&it)) {
        const char *v = NULL;
        double num = 0;
        if (p3d_args_is(&it, "-h", "--help")) {
            fputs(k_render_help, stdout);
            return P3D_EXIT_OK;
        } else if (it.positional) {
            if (j.mesh_path) return p3d_usage_error("render", "one MESH at a time ('%s' and '%s')", j.mesh_path, it.arg);
            j.mesh_path = it.arg;
        } else if (p3d_args_is(&it, NULL, "--stereo")) {
            j.stereo = 1;
        } else if (!takes_value(&it)) {
            return p3d_args_unknown(&it);
        } else if (!(v = p3d_args_value(&it))) {
            return P3D_EXIT_USAGE;
        } else if (p3d_args_is(&it, "-o", "--output")) {
            j.out_dir = v;
        } else if (p3d_args_is(&it, NULL, "--traj")) {
            j.traj_list = v;
        } else if (p3d_args_is(&it, NULL, "--name")) {
            name = v;
        } else if (p3d_args_is(&it, NULL, "--device")) {
            j.device = v;
        } else if (p3d_args_is(&it, NULL, "--encoder")) {
            j.vopts.encoder = v;
        } else if (p3d_args_is(&it, NULL, "--frames")) {
            if (!parse_int(v, 1, P3D_TRAJ_MAX_FRAMES, &j.frames))
                return p3d_usage_error("render", "--frames '%s': expected an integer in 1..%d", v, P3D_TRAJ_MAX_FRAMES);
        } else if (p3d_args_is(&it, NULL, "--fps")) {
            if (!parse_real(v, 0.01, 1000, &j.fps)) return p3d_usage_error("render", "--fps '%s': expected a number in 0.01..1000", v);
        } else if (p3d_args_is(&it, NULL, "--ssaa")) {
            if (!parse_int(v, 1, P3D_RENDER_MAX_SSAA, &j.ssaa))
                return p3d_usage_error("render", "--ssaa '%s': expected an integer in 1..%d", v, P3D_RENDER_MAX_SSAA);
        } else if (p3d_args_is(&it, NULL, "--crf")) {
            if (!parse_int(v, 0, 51, &j.vopts.crf)) return p3d_usage_error("render", "--crf '%s': expected an integer in 0..51", v);
        } else if (p3d_args_is(&it, NULL, "--baseline")) {
            if (!parse_real(v, 1e-6, 1e3, &num)) return p3d_usage_error("render", "--baseline '%s': expected a positive number", v);
            j.baseline = (float)num;
        } else if (p3d_args_is(&it, NULL, "--format")) {
            if (strcmp(v, "mp4") != 0 && strcmp(v, "png") != 0)
                return p3d_usage_error("render", "--format '%s': expected mp4 or png", v);
            j.format = v;
        } else if (p3d_args_is(&it, NULL, "--size")) {
            if (p3d_parse_size(v, &size_w, &size_h) != P3D_OK) return p3d_usage_error("render", "%s", p3d_last_error());
        } else if (p3d_args_is(&it, NULL, "--crop")) {
            if (p3d_parse_crop(v, j.crop) != P3D_OK) return p3d_usage_error("render", "%s", p3d_last_error());
        } else if (p3d_args_is(&it, NULL, "--pose")) {
            if (j.n_poses >= P3D_RENDER_MAX_POSES) return p3d_usage_error("render", "at most %d --pose", P3D_RENDER_MAX_POSES);
            j.poses[j.n_poses++] = v;
        }
    }
    if (!j.mesh_path) return p3d_usage_error("render", "no MESH given (see photo3d-gpu render --help)");
    const int mp4 = strcmp(j.format, "mp4") == 0;
    if (mp4 && size_w && (size_w % 2 || size_h % 2))
        return p3d_usage_error("render", "--size %dx%d: MP4 (4:2:0) needs even sizes", (int)size_w, (int)size_h);
    if (name) snprintf(j.name, sizeof j.name, "%s", name);
    else {
        const char *base = strrchr(j.mesh_path, '/');
        snprintf(j.name, sizeof j.name, "%s", base ? base + 1 : j.mesh_path);
        char *dot = strrchr(j.name, '.');
        if (dot && dot != j.name) *dot = '\0';
    }
    for (int32_t k = 0; k < j.n_poses; k++) { /* syntax errors before the mesh is read */
        p3d_pose p;
        if (p3d_pose_parse(j.poses[k], 1.0f, &p) != P3D_OK) return p3d_usage_error("render", "%s", p3d_last_error());
    }
    p3d_device dev;
    p3d_ctx *ctx = NULL;
    p3d_mesh m;
    memset(&m, 0, sizeof m);
    p3d_status st = p3d_device_parse(j.device, &dev);
    if (st == P3D_OK) st = p3d_device_resolve(&dev);
    if (st == P3D_OK) st = p3d_ctx_init(&ctx, dev);
    if (st == P3D_OK) st = p3d_mesh_read(j.mesh_path, &m);
    if (st == P3D_OK) {
        j.width = size_w ? size_w : (mp4 ? m.width & ~1 : m.width);
        j.height = size_h ? size_h : (mp4 ? m.height & ~1 : m.height);
        if (j.width < 2 || j.height < 2)
            st = p3d_fail(P3D_ERR_FORMAT, "%s: image size %dx%d is too small to render", j.mesh_path, (int)m.width, (int)m.height);
        j.vopts.prefer_nvenc = dev.kind == P3D_DEVICE_CUDA;
    }
    if (st == P3D_OK) st = run_job(&j, ctx, &m);
    p3d_mesh_free(&m);
    p3d_ctx_free(ctx);
    return st == P3D_OK ? P3D_EXIT_OK : p3d_report_failure(st);
}
