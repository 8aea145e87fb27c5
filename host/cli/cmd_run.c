/* cmd_run.c - `photo3d-gpu run`: photos to finished 3D photos (depth, mesh, videos), one photo, a
 * folder, a list or a shard of a farm's inputs, on one or several devices.
 *
 * Per photo (the reference's main.py loop): depth map (the user's, matched by name, or estimated) ->
 * OUTDIR/depth/NAME.npy + .png; LDI + inpainting -> OUTDIR/mesh/NAME.ply (.glb with --glb); the
 * configured trajectories -> OUTDIR/video/NAME_<postfix>.mp4; with --web the compact mesh as a web page
 * -> OUTDIR/web/NAME.html, with --splats the LDI as 3D Gaussians -> OUTDIR/splats/NAME.ply. Folder names, trajectories and every
 * parameter come from the configuration (config.h: the reference's argument.yml keys), then the
 * command line.
 *
 * Workers: one per device (--devices 0,1,2,3), each with its own context and models, taking photos
 * from a shared queue; each worker prepares its next photo on a second thread while it works on the
 * current one (decode; with the user's depth map also reading it, resampling and normalising: the
 * host part of p3d_photo_input_prepare), and once the current photo's mesh is built queues the next
 * one's upload on the device's copy stream, so it runs beside the current photo's video rendering.
 * A photo that fails is reported at the end with its reason and the others go on (exit 3). The first Ctrl-C stops at the next step (no new photo, the video being written is
 * abandoned, no partial file is left) and the run ends with exit 130. */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/inputs.h"
#include "core/file_io.h"
#include "core/interrupt.h"
#include "core/json.h"
#include "core/progress.h"
#include "depth/depth_estimate.h"
#include "io/video.h"
#include "pipeline/video_queue.h"
#include "mesh/mesh_file.h"
#include "pipeline/config.h"
#include "mesh/mesh_glb.h"
#include "mesh/mesh_splats.h"
#include "pipeline/photo3d.h"
#include "pipeline/web_page.h"
#include "render/render.h"
#include "render/trajectory.h"

static const char *const k_run_help =
    "usage: photo3d-gpu run INPUT... [-o OUTDIR] [options]\n"
    "\n"
    "INPUT is an image, a folder of images or @LIST (one path per line). Per photo, in OUTDIR (default .):\n"
    "  depth/NAME.npy, depth/NAME.png    the disparity used (float32; 16-bit PNG)\n"
    "  mesh/NAME.ply                     the inpainted 3D photo (binary PLY; --glb adds NAME.glb)\n"
    "  video/NAME_<postfix>.mp4          dolly-zoom-in, zoom-in, circle, swing (H.264, 240 frames, 40 fps)\n"
    "  web/NAME.html, splats/NAME.ply    with --web, --splats (below)\n"
    "\n"
    "  --config FILE        YAML configuration: the reference's argument.yml keys (see --print-config)\n"
    "  --set KEY=VALUE      override one key (repeatable), e.g. --set num_frames=120\n"
    "  --print-config       print the effective configuration as YAML and exit\n"
    "  --depth FILE         the depth / disparity map of the only INPUT\n"
    "  --depth-dir DIR      depth maps matched by name: DIR/NAME.npy, .png or .pfm, else NAME_disp.*\n"
    "                       or NAME_depth.*; a file that is another input's map is not a photo\n"
    "  --metric             the given maps hold metric depth (default: disparity)\n"
    "  --depth-scale S      map value = stored number * S\n"
    "  --depth-model M      estimator for photos without a map: tiefenrausch (default), midas-v1,\n"
    "                       midas-small, midas-large\n"
    "  --fill KIND          auto (default: the networks when installed), learned, classic\n"
    "  --glb                also write mesh/NAME.glb (the compact mesh: texture atlas + simplified\n"
    "                       geometry; the videos render from it too unless video_mesh is dense)\n"
    "  --web                also write web/NAME.html: the compact mesh as one self-contained web page\n"
    "                       with motion parallax and the configured trajectories (see export --help;\n"
    "                       three.js from libjs-three, or $P3D_THREE_DIR)\n"
    "  --splats             also write splats/NAME.ply: the LDI as 3D Gaussians (3DGS PLY layout)\n"
    "  --mesh-only          no videos\n"
    "  --frames N, --fps F  frames per video, frame rate (default 240, 40)\n"
    "  --skip-existing      skip photos whose outputs all exist (resume an interrupted batch)\n"
    "  --shard K/N          only the photos of shard K of N (0 <= K < N; stable under reordering)\n"
    "  --device DEV         cpu, cuda, cuda:N or auto (default auto)\n"
    "  --devices LIST       one worker per device, e.g. 0,1,2,3 (CUDA ordinals) or cpu\n"
    "  --model-dir DIR      model folder searched first\n"
    "  --json FILE          machine-readable report (per photo: stage times, sizes, outputs, errors;\n"
    "                       the fill, device and depth source used; every warning)\n"
    "  --max-pixels N       refuse photos and depth maps larger than N pixels, on their header, before\n"
    "                       decoding (default 268M = 2^28: 268M, 268435456 or 16384x16384)\n"
    "  -q, --quiet          nothing on stderr but the failures\n"
    "\n"
    "Exit status: 0 all done, 1 fatal error, 2 usage error, 3 some photos failed, 130 interrupted.\n";

#define RUN_MAX_DEVICES 16
#define RUN_MAX_SETS 64

enum { STAGE_DEPTH, STAGE_MESH, STAGE_WRITE, STAGE_VIDEO, STAGE_COUNT };
static const char *const k_stage_names[STAGE_COUNT] = {"depth", "mesh", "write", "videos"};

typedef struct run_opts {
    p3d_config cfg;
    const char *out_dir, *model_dir, *json_path;
    p3d_depth_opts dopts;
    int32_t glb, web, splats, videos, skip_existing, quiet;
    char devices[RUN_MAX_DEVICES][P3D_CFG_NAME + 8];
    int32_t n_devices;
} run_opts;

typedef enum item_state { ITEM_PENDING = 0, ITEM_DONE, ITEM_FAILED, ITEM_SKIPPED } item_state;

typedef struct item_result {
    item_state state;
    char error[1024];
    char device[P3D_CFG_NAME + 8];
    double seconds[STAGE_COUNT];
    double ldi_seconds[P3D_LDI_STAGE_COUNT];
    int32_t width, height, edges, synthesised;
    int64_t vertices, faces;
    int32_t videos, frames;
    int32_t estimated; /* the depth map came from a model */
    int32_t learned;   /* the inpainting networks filled it (else the non-learned fill) */
    p3d_device_traffic traffic; /* the photo's device traffic: depth, mesh and videos (zeros on the CPU) */
} item_result;

typedef struct run_shared {
    const run_opts *o;
    const p3d_input_list *in;
    item_result *res;
    pthread_mutex_t mu;
    int32_t next;
    int32_t fatal;         /* a worker could not start: its status */
    char fatal_msg[1024];
    p3d_progress progress; /* shared: lines are printed under mu */
    char warnings[8][512]; /* every warning of the run, once each (report.json) */
    int32_t n_warnings;
} run_shared;

static void say(run_shared *sh, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(run_shared *sh, const char *fmt, ...) {
    if (sh->o->quiet) return;
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&sh->mu);
    p3d_progress_message(&sh->progress, "%s", line);
    pthread_mutex_unlock(&sh->mu);
}

/* Records a warning for the report (once) and, when print, prints it unless quiet. */
static void warn(run_shared *sh, int32_t print, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void warn(run_shared *sh, int32_t print, const char *fmt, ...) {
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&sh->mu);
    int32_t seen = 0;
    for (int32_t i = 0; i < sh->n_warnings; i++) seen |= strcmp(sh->warnings[i], line) == 0;
    if (!seen && sh->n_warnings < (int32_t)(sizeof sh->warnings / sizeof sh->warnings[0]))
        snprintf(sh->warnings[sh->n_warnings++], sizeof sh->warnings[0], "%s", line);
    if (!seen && print && !sh->o->quiet) p3d_progress_message(&sh->progress, "%s", line);
    pthread_mutex_unlock(&sh->mu);
}

static int32_t take_next(run_shared *sh) {
    pthread_mutex_lock(&sh->mu);
    int32_t i = p3d_interrupted() ? sh->in->count : sh->next;
    if (i < sh->in->count) sh->next++;
    pthread_mutex_unlock(&sh->mu);
    return i < sh->in->count ? i : -1;
}

static int file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* The folders of the outputs: OUTDIR/<key> unless the key is an absolute path. */
static void out_path(const run_opts *o, const char *folder, char *buf, size_t cap) {
    if (folder[0] == '/')
        snprintf(buf, cap, "%s", folder);
    else
        snprintf(buf, cap, "%s/%s", o->out_dir, folder);
}

static const char *mesh_ext(int32_t fmt) { return fmt == P3D_MESH_GLB ? "glb" : "ply"; }

/* The pipeline's parameters from the configuration (spec section 1 keys). */
static p3d_photo_opts photo_opts_of(const p3d_config *c) {
    p3d_photo_opts o = p3d_photo_opts_default();
    o.longer_side = c->longer_side_len;
    o.prep.depth_threshold = c->depth_threshold;
    /* quirk 1 replicated: of sparse_iter passes the last is computed and thrown away */
    o.prep.n_passes = c->sparse_iter > 1 ? c->sparse_iter - 1 : 0;
    if (o.prep.n_passes > P3D_DEPTH_PREP_MAX_PASSES) o.prep.n_passes = P3D_DEPTH_PREP_MAX_PASSES;
    for (int32_t i = 0; i < o.prep.n_passes; i++) o.prep.windows[i] = c->filter_size[i];
    o.ldi.depth_threshold = (float)c->depth_threshold;
    o.ldi.ext_edge_threshold = (float)c->ext_edge_threshold;
    o.ldi.redundant_number = c->redundant_number;
    o.ldi.background_thickness = c->background_thickness;
    o.ldi.context_thickness = c->context_thickness;
    o.ldi.background_thickness_2 = c->background_thickness_2;
    o.ldi.context_thickness_2 = c->context_thickness_2;
    o.ldi.depth_edge_dilate = c->depth_edge_dilate;
    o.ldi.largest_size = c->largest_size;
    o.ldi.repeat_inpaint_edge = c->repeat_inpaint_edge;
    o.ldi.border = c->extrapolate_border ? c->extrapolation_thickness : 0;
    /* the border covers what the configured trajectories' cameras see: their largest moves, and the
     * narrowest side the frames' crop hides */
    o.ldi.border_cover[0] = o.ldi.border_cover[1] = o.ldi.border_cover[2] = 0.0f;
    for (int32_t t = 0; t < c->n_traj; t++) {
        const double m[3] = {fabs(c->x_shift_range[t]), fabs(c->y_shift_range[t]), fabs(c->z_shift_range[t])};
        for (int32_t a = 0; a < 3; a++)
            if (m[a] > o.ldi.border_cover[a]) o.ldi.border_cover[a] = (float)m[a];
    }
    double crop = c->crop_border[0];
    for (int32_t i = 1; i < 4; i++)
        if (c->crop_border[i] < crop) crop = c->crop_border[i];
    o.ldi.border_crop = (float)(crop > 0 ? crop : 0);
    return o;
}

/* Every output of a photo exists (--skip-existing). */
static int outputs_exist(const run_opts *o, const char *name) {
    const p3d_config *c = &o->cfg;
    char dir[1200], path[1600];
    out_path(o, c->mesh_folder, dir, sizeof dir);
    snprintf(path, sizeof path, "%s/%s.%s", dir, name, mesh_ext(c->mesh_format));
    if (c->save_ply && !file_exists(path)) return 0;
    if (o->glb) {
        snprintf(path, sizeof path, "%s/%s.glb", dir, name);
        if (!file_exists(path)) return 0;
    }
    if (o->web) {
        out_path(o, "web", dir, sizeof dir);
        snprintf(path, sizeof path, "%s/%s.html", dir, name);
        if (!file_exists(path)) return 0;
    }
    if (o->splats) {
        out_path(o, "splats", dir, sizeof dir);
        snprintf(path, sizeof path, "%s/%s.ply", dir, name);
        if (!file_exists(path)) return 0;
    }
    if (!o->videos) return 1;
    out_path(o, c->video_folder, dir, sizeof dir);
    for (int32_t t = 0; t < c->n_traj; t++) {
        snprintf(path, sizeof path, "%s/%s_%s.mp4", dir, name, c->video_postfix[t]);
        if (!file_exists(path)) return 0;
    }
    return 1;
}

/* ---- what one photo wrote ---------------------------------------------------------------------- */

/* The files one photo has written and the folders it created, removed again when the photo fails
 * (a bad map, a full disk, Ctrl-C): a failed photo leaves the output tree as it found it. Folders
 * are created only when a file is about to go in them, parents too (another run may have removed an
 * empty OUTDIR meanwhile), and removed only when they are empty again. */
typedef struct photo_outputs {
    char files[6 + P3D_CFG_MAX_TRAJ][1600];
    int32_t n_files;
    char dirs[6][1200]; /* OUTDIR and its depth, mesh, splats, web and video folders */
    int32_t n_dirs;
} photo_outputs;

/* Creates dir (one level) unless it is there; remembers it when this call made it. */
static p3d_status make_dir(photo_outputs *po, const char *dir) {
    struct stat st;
    if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode)) return P3D_OK;
    if (mkdir(dir, 0777) == 0) {
        if (po && po->n_dirs < (int32_t)(sizeof po->dirs / sizeof po->dirs[0])) snprintf(po->dirs[po->n_dirs++], sizeof po->dirs[0], "%s", dir);
        return P3D_OK;
    }
    if (errno == EEXIST && stat(dir, &st) == 0 && S_ISDIR(st.st_mode)) return P3D_OK; /* made by another run */
    if (errno == EEXIST) return p3d_fail(P3D_ERR_IO, "%s: exists and is not a folder", dir);
    return p3d_fail(P3D_ERR_IO, "%s: cannot create the folder: %s", dir, strerror(errno));
}

/* The output folder of a configuration key (OUTDIR/<key>, or the key when it is absolute). */
static p3d_status ensure_out_dir(photo_outputs *po, const run_opts *o, const char *folder, const char *dir) {
    if (folder[0] != '/') P3D_TRY(make_dir(po, o->out_dir));
    return make_dir(po, dir);
}

static void record_output(photo_outputs *po, const char *path) {
    if (po->n_files < (int32_t)(sizeof po->files / sizeof po->files[0]))
        snprintf(po->files[po->n_files++], sizeof po->files[0], "%s", path);
}

static void discard_outputs(photo_outputs *po) {
    for (int32_t i = po->n_files - 1; i >= 0; i--) unlink(po->files[i]);
    for (int32_t i = po->n_dirs - 1; i >= 0; i--) rmdir(po->dirs[i]); /* fails, harmlessly, unless empty */
    po->n_files = po->n_dirs = 0;
}

/* ---- one worker ------------------------------------------------------------------------------- */

typedef struct worker {
    run_shared *sh;
    const char *device;  /* as asked: auto, cpu, cuda:N */
    char used[32];       /* as resolved: cpu, cuda:N */
    p3d_ctx *ctx;
    p3d_ldi_nets nets;
    int32_t learned;
    p3d_depth_estimator *est; /* loaded when a photo first needs it */
    /* The videos are encoded on the queue's thread: the encoding of a photo finishes while the worker
     * decodes and computes the next one. `pending` is the photo whose videos are still queued: it is
     * done (or failed) once the queue has drained, which the worker waits for before it queues the
     * next photo's videos and at the end. */
    p3d_video_queue *vq;
    int32_t no_device_frames; /* 1 once NVENC on device frames was found missing (host frames then) */
    struct {
        int32_t active;
        const p3d_input *in;
        item_result *res;
        photo_outputs *po;
        double t0;
    } pending;
} worker;

/* A photo prepared on a second thread: decoded, and when its depth map is the user's, the map read and
 * the photo prepared for the device (p3d_photo_input_prepare). A failure is kept with its message and
 * reported when the photo's turn comes, at the step that would have failed in order. */
typedef struct decode_job {
    const p3d_input *in;
    const run_opts *o;
    p3d_image img;
    p3d_status st;         /* decoding */
    char error[1024];
    p3d_depth map;         /* the user's map (has_map), else the worker estimates one */
    int32_t has_map;
    p3d_status depth_st;   /* reading the user's map */
    char depth_error[1024];
    p3d_photo_input input; /* prepared */
    int32_t prepared;
    p3d_status input_st;   /* preparing */
    char input_error[1024];
    atomic_int finished;   /* the thread's work is done (the worker may read the job without joining) */
    pthread_t thread;
    int32_t running;
} decode_job;

static void *decode_main(void *arg) {
    decode_job *d = (decode_job *)arg;
    d->st = p3d_image_read(d->in->path, 0, &d->img);
    if (d->st != P3D_OK) snprintf(d->error, sizeof d->error, "%s", p3d_last_error());
    if (d->st == P3D_OK && d->in->depth) {
        d->depth_st = p3d_depth_read(d->in->depth, &d->o->dopts, &d->map);
        if (d->depth_st != P3D_OK) snprintf(d->depth_error, sizeof d->depth_error, "%s", p3d_last_error());
        d->has_map = d->depth_st == P3D_OK;
    }
    if (d->has_map) {
        const p3d_photo_opts popts = photo_opts_of(&d->o->cfg);
        d->input_st = p3d_photo_input_prepare(&d->img, d->in->path, &d->map, &popts, &d->input);
        if (d->input_st != P3D_OK) snprintf(d->input_error, sizeof d->input_error, "%s", p3d_last_error());
        d->prepared = d->input_st == P3D_OK;
    }
    atomic_store(&d->finished, 1);
    return NULL;
}

static void decode_start(decode_job *d, const p3d_input *in, const run_opts *o) {
    memset(d, 0, sizeof *d);
    d->in = in;
    d->o = o;
    d->input.slot = -1;
    atomic_init(&d->finished, 0);
    d->running = pthread_create(&d->thread, NULL, decode_main, d) == 0;
    if (!d->running) decode_main(d); /* no thread: decode now */
}

static p3d_status decode_finish(decode_job *d) {
    if (d->running) pthread_join(d->thread, NULL);
    d->running = 0;
    if (d->st != P3D_OK) return p3d_fail(d->st, "%s", d->error);
    return P3D_OK;
}

/* Frees what the job holds (a queued upload's staging slot included). */
static void decode_clear(p3d_ctx *ctx, decode_job *d) {
    if (d->st == P3D_OK) p3d_image_free(&d->img);
    p3d_depth_free(&d->map);
    p3d_photo_input_free(ctx, &d->input);
}

/* The next photo's upload, queued on the copy stream once its thread has prepared it (never waits for
 * the thread). A failure here is not the current photo's: the upload is then retried in the next
 * photo's own turn, where its error belongs. */
static void upload_next(p3d_ctx *ctx, decode_job *d) {
    if (!d || !atomic_load(&d->finished) || !d->prepared) return;
    if (p3d_photo_input_upload(ctx, &d->input) != P3D_OK) p3d_log(P3D_LOG_DEBUG, "prefetch upload: %s", p3d_last_error());
}

/* The depth map of a photo: the user's, or the model's estimate (the model loaded on first use). */
static p3d_status photo_depth(worker *w, const p3d_input *in, const p3d_image *img, p3d_depth *map, int32_t *estimated) {
    const run_opts *o = w->sh->o;
    *estimated = 0;
    if (in->depth) return p3d_depth_read(in->depth, &o->dopts, map);
    if (!o->cfg.require_midas)
        return p3d_fail(P3D_ERR_INVALID_ARG, "%s: no depth map (require_midas is false: give --depth-dir)", in->path);
    if (!w->est) P3D_TRY(p3d_depth_estimator_init(w->ctx, p3d_depth_model_str(o->cfg.depth_model), o->model_dir, 0, &w->est));
    *estimated = 1;
    return p3d_depth_estimate_photo(w->est, img, map);
}

/* Trajectory t of the configuration (the videos' and the web page's camera paths); anchor = the scene's
 * centre depth (the dolly zoom). */
static p3d_status config_traj(const p3d_config *c, int32_t t, float anchor, p3d_traj *out) {
    const int32_t dolly = strstr(c->video_postfix[t], "dolly") != NULL;
    return p3d_traj_make(c->video_postfix[t], c->traj_types[t], c->x_shift_range[t], c->y_shift_range[t],
                         c->z_shift_range[t], dolly, c->num_frames, anchor, out);
}

/* The photo's web page, web_dir/NAME.html, from the compact mesh and the configured trajectories. */
static p3d_status photo_web(const run_opts *o, const p3d_photo_result *r, const char *name, const char *web_dir,
                            photo_outputs *po) {
    const p3d_config *c = &o->cfg;
    char path[1600];
    snprintf(path, sizeof path, "%s/%s.html", web_dir, name);
    p3d_traj *trajs = (p3d_traj *)calloc((size_t)c->n_traj + 1, sizeof *trajs);
    if (!trajs) return p3d_fail(P3D_ERR_OOM, "%s: out of memory", path);
    const float anchor = r->center_depth > 0 ? r->center_depth : p3d_mesh_center_depth(&r->compact);
    int32_t n = 0;
    p3d_status st = P3D_OK;
    for (; st == P3D_OK && n < c->n_traj; n++) st = config_traj(c, n, anchor, &trajs[n]);
    uint8_t *glb = NULL;
    size_t glb_len = 0;
    if (st == P3D_OK) st = p3d_mesh_encode_glb(&r->compact, path, &glb, &glb_len);
    p3d_web_opts wo = p3d_web_defaults();
    for (int32_t k = 0; k < 4; k++) wo.crop[k] = (float)c->crop_border[k];
    wo.ssaa = c->anti_flickering ? 3 : 1; /* the browser's samples (a GPU's work), the reference's 3x */
    wo.fps = c->fps;
    wo.title = name;
    if (st == P3D_OK) st = ensure_out_dir(po, o, "web", web_dir);
    if (st == P3D_OK) st = p3d_web_page_write(path, glb, glb_len, &r->compact, trajs, n, &wo);
    if (st == P3D_OK) record_output(po, path);
    free(glb);
    for (int32_t k = 0; k < n; k++) p3d_traj_free(&trajs[k]);
    free(trajs);
    return st;
}

static void finish_pending(worker *w);

/* What both video paths set up for a photo: the frame size (H.264 4:2:0 needs even sides), the render
 * options, the crop, and the dolly zoom's anchor (the unfiltered depth at the centre, as the
 * reference: quirk 18). */
typedef struct video_setup {
    int32_t vw, vh;
    p3d_render_opts ro;
    float crop[4];
    float anchor;
} video_setup;

static video_setup video_setup_of(const p3d_config *c, const p3d_photo_result *r, const p3d_mesh *m) {
    video_setup s;
    s.vw = r->width & ~1;
    s.vh = r->height & ~1;
    s.ro = (p3d_render_opts){s.vw, s.vh, c->anti_flickering ? P3D_VIDEO_SSAA : 1, {128, 128, 128}};
    for (int32_t i = 0; i < 4; i++) s.crop[i] = (float)c->crop_border[i];
    s.anchor = r->center_depth > 0 ? r->center_depth : p3d_mesh_center_depth(m);
    return s;
}

/* The renderer of a photo's videos: the dense mesh built on the device is rendered from there (no
 * upload), any other mesh from the host. */
static p3d_status video_renderer(worker *w, const p3d_photo_result *r, const p3d_mesh *m, const p3d_render_opts *ro,
                                 p3d_renderer **rr) {
    if (m == &r->mesh && r->mesh_xyz_dev)
        return p3d_renderer_init_device(w->ctx, m, r->mesh_xyz_dev, r->mesh_faces_dev, ro, rr);
    return p3d_renderer_init(w->ctx, m, ro, rr);
}

/* Trajectory t of a photo's videos: its poses, the video's path and progress label, and the encoder
 * options (the configured frame rate). */
static p3d_status video_begin(const p3d_config *c, int32_t t, float anchor, const char *video_dir, const char *name,
                              p3d_traj *tr, char path[1600], char label[1700], p3d_video_opts *vo) {
    P3D_TRY(config_traj(c, t, anchor, tr));
    snprintf(path, 1600, "%s/%s_%s.mp4", video_dir, name, c->video_postfix[t]);
    snprintf(label, 1700, "%s_%s.mp4", name, c->video_postfix[t]);
    *vo = p3d_video_opts_default();
    vo->fps = c->fps;
    return P3D_OK;
}

/* Where a video's frames go: the device path renders into the renderer's device buffer and encodes
 * from there, the host path renders into a video queue slot and queues it. frame renders and hands on
 * the frame of view v; close ends the video (the file is complete, or its close is queued). */
typedef struct frame_sink {
    p3d_status (*frame)(void *arg, const p3d_view *v);
    p3d_status (*close)(void *arg);
    void *arg;
} frame_sink;

/* One trajectory's video: every pose's frame to the sink in order, then its close, with the progress
 * line (one worker only) and an interrupt check before each frame. */
static p3d_status video_frames(worker *w, const p3d_mesh *m, const video_setup *vs, const p3d_traj *tr,
                               const char *label, const frame_sink *sink) {
    const int32_t show = w->sh->o->n_devices == 1;
    if (show) p3d_progress_begin(&w->sh->progress, label, tr->n);
    p3d_status st = P3D_OK;
    for (int32_t k = 0; st == P3D_OK && k < tr->n; k++) {
        const p3d_view v = p3d_view_of_pose(m, &tr->poses[k], vs->vw, vs->vh, vs->crop);
        st = p3d_interrupt_check(label);
        if (st == P3D_OK) st = sink->frame(sink->arg, &v);
        if (show) p3d_progress_update(&w->sh->progress, k + 1);
    }
    if (st == P3D_OK) st = sink->close(sink->arg);
    /* a video that was not finished is not "done": say why it stopped */
    if (show && st == P3D_OK) p3d_progress_end(&w->sh->progress);
    else if (show) p3d_progress_abort(&w->sh->progress, st == P3D_ERR_INTERRUPTED ? "interrupted" : "failed");
    return st;
}

/* The device path's sink: the renderer's device buffer straight into NVENC. */
typedef struct device_sink {
    p3d_renderer *rr;
    p3d_video_writer *vwr;
} device_sink;

static p3d_status device_frame(void *arg, const p3d_view *v) {
    device_sink *d = (device_sink *)arg;
    p3d_status st = P3D_OK;
    const uint8_t *frame = p3d_render_frame_device(d->rr, v, &st);
    return st == P3D_OK ? p3d_video_write_device(d->vwr, frame) : st;
}

static p3d_status device_close(void *arg) {
    device_sink *d = (device_sink *)arg;
    p3d_video_writer *vwr = d->vwr;
    d->vwr = NULL; /* p3d_video_close frees it, also on failure */
    return p3d_video_close(vwr);
}

/* photo_videos on a CUDA context whose FFmpeg has NVENC: each frame is rendered into the renderer's
 * device buffer and encoded from there (p3d_video_write_device), on the worker's thread (the
 * conversion and NVENC run on the GPU). *used = 0, and nothing written, when the first video finds no
 * NVENC on device frames: the caller then takes the host-frame path. */
static p3d_status photo_videos_device(worker *w, const p3d_photo_result *r, const p3d_mesh *m, const char *name,
                                      const char *video_dir, const video_setup *vs, item_result *res,
                                      photo_outputs *po, int32_t *used) {
    const run_opts *o = w->sh->o;
    const p3d_config *c = &o->cfg;
    *used = 0;
    device_sink d = {NULL, NULL};
    const frame_sink sink = {device_frame, device_close, &d};
    p3d_status st = ensure_out_dir(po, o, c->video_folder, video_dir);
    if (st == P3D_OK) st = video_renderer(w, r, m, &vs->ro, &d.rr);
    for (int32_t t = 0; st == P3D_OK && t < c->n_traj; t++) {
        p3d_traj tr;
        char path[1600], label[1700];
        p3d_video_opts vo;
        st = video_begin(c, t, vs->anchor, video_dir, name, &tr, path, label, &vo);
        if (st != P3D_OK) break;
        vo.prefer_nvenc = 1;
        st = p3d_video_open_device(path, vs->vw, vs->vh, &vo, w->ctx, &d.vwr);
        if (st == P3D_OK && !*used && !p3d_video_device_frames(d.vwr)) { /* no NVENC here: host frames */
            p3d_video_abort(d.vwr);
            p3d_traj_free(&tr);
            p3d_renderer_free(d.rr);
            return P3D_OK;
        }
        *used = 1;
        if (st == P3D_OK) st = video_frames(w, m, vs, &tr, label, &sink);
        if (st == P3D_OK) record_output(po, path);
        p3d_video_abort(d.vwr); /* an unfinished video: its file is removed */
        d.vwr = NULL;
        if (st == P3D_OK) res->videos++, res->frames += tr.n;
        p3d_traj_free(&tr);
    }
    *used = 1;
    p3d_renderer_free(d.rr);
    return st;
}

/* The host path's sink: frames rendered into video queue slots and queued for the encoder thread,
 * as many at once as there are renderers (p3d_video_renderers). */
typedef struct queue_sink {
    p3d_video_renderers vr;
    p3d_video_queue *vq;
} queue_sink;

static p3d_status queue_frame(void *arg, const p3d_view *v) {
    queue_sink *q = (queue_sink *)arg;
    q->vr.views[q->vr.n_views++] = *v;
    return q->vr.n_views == q->vr.n_rr ? p3d_video_queue_render(q->vq, &q->vr) : P3D_OK;
}

static p3d_status queue_close(void *arg) {
    queue_sink *q = (queue_sink *)arg;
    P3D_TRY(p3d_video_queue_render(q->vq, &q->vr));
    return p3d_video_queue_close(q->vq);
}

/* The configured trajectories of one photo rendered on the worker's context into the video queue's
 * frame slots and encoded on the queue's thread into video_dir. Returns once every frame is rendered
 * and queued (*queued = 1 when something was queued): the last frames, the flushes and the renames
 * overlap the next photo, and the photo is finished by finish_pending. On failure the queue is
 * aborted (no partial file). */
static p3d_status photo_videos(worker *w, const p3d_photo_result *r, const p3d_mesh *m, const char *name,
                               const char *video_dir, item_result *res, photo_outputs *po, int32_t *queued) {
    const run_opts *o = w->sh->o;
    const p3d_config *c = &o->cfg;
    *queued = 0;
    const video_setup vs = video_setup_of(c, r, m);
    /* the previous photo's videos end before this photo's start on the queue */
    finish_pending(w);
    /* a GPU with NVENC: the frames go from the device buffer to the encoder and never come back */
    if (p3d_ctx_device(w->ctx).kind == P3D_DEVICE_CUDA && !w->no_device_frames) {
        int32_t used = 0;
        p3d_status st = photo_videos_device(w, r, m, name, video_dir, &vs, res, po, &used);
        if (used || st != P3D_OK) return st;
        w->no_device_frames = 1;
    }
    if (w->vq) {
        int32_t qw, qh;
        p3d_video_queue_size(w->vq, &qw, &qh);
        if (qw != vs.vw || qh != vs.vh) {
            p3d_video_queue_free(w->vq);
            w->vq = NULL;
        }
    }
    /* one renderer per CPU thread (a GPU renders one frame at a time), and as many frame slots
     * plus 6: enough to keep the encoder busy while the renderers run ahead */
    queue_sink q;
    memset(&q, 0, sizeof q);
    q.vr.n_rr = p3d_video_renderer_count(w->ctx);
    if (!w->vq) P3D_TRY(p3d_video_queue_init(&w->vq, vs.vw, vs.vh, q.vr.n_rr + 6));
    q.vq = w->vq;
    const frame_sink sink = {queue_frame, queue_close, &q};
    p3d_status st = P3D_OK;
    for (int32_t i = 0; st == P3D_OK && i < q.vr.n_rr; i++) st = video_renderer(w, r, m, &vs.ro, &q.vr.rr[i]);
    if (st == P3D_OK) st = ensure_out_dir(po, o, c->video_folder, video_dir);
    for (int32_t t = 0; st == P3D_OK && t < c->n_traj; t++) {
        p3d_traj tr;
        char path[1600], label[1700];
        p3d_video_opts vo;
        st = video_begin(c, t, vs.anchor, video_dir, name, &tr, path, label, &vo);
        if (st != P3D_OK) break;
        vo = p3d_video_queue_opts(w->ctx, c->fps);
        st = p3d_video_queue_open(w->vq, path, &vo);
        /* recorded now: a photo that fails later removes it (unlinking a file never written is harmless) */
        if (st == P3D_OK) record_output(po, path);
        *queued = 1;
        if (st == P3D_OK) st = video_frames(w, m, &vs, &tr, label, &sink);
        if (st == P3D_OK) res->videos++, res->frames += tr.n;
        p3d_traj_free(&tr);
    }
    if (st != P3D_OK && *queued) p3d_video_queue_abort(w->vq);
    for (int32_t i = 0; i < q.vr.n_rr; i++) p3d_renderer_free(q.vr.rr[i]);
    return st;
}

static p3d_status write_depth(const p3d_depth *map, const char *dir, const char *name, photo_outputs *po) {
    p3d_depth disp;
    P3D_TRY(p3d_depth_alloc(map->width, map->height, P3D_DEPTH_DISPARITY, &disp));
    for (int64_t i = 0; i < (int64_t)map->width * map->height; i++) {
        disp.mask[i] = map->mask[i];
        disp.value[i] = !map->mask[i] ? 0.0f : map->kind == P3D_DEPTH_METRIC ? 1.0f / map->value[i] : map->value[i];
    }
    disp.n_valid = map->n_valid;
    char path[1600];
    snprintf(path, sizeof path, "%s/%s.npy", dir, name);
    p3d_status st = p3d_depth_write_npy(path, &disp);
    if (st == P3D_OK) record_output(po, path);
    snprintf(path, sizeof path, "%s/%s.png", dir, name);
    if (st == P3D_OK) st = p3d_depth_write_png16(path, &disp);
    if (st == P3D_OK) record_output(po, path);
    p3d_depth_free(&disp);
    return st;
}

/* Photo `in` through the whole job. When its videos were queued (*queued = 1) it is not finished yet:
 * it becomes the worker's pending photo (finish_pending), which then owns its outputs. */
static p3d_status process_photo(worker *w, const p3d_input *in, decode_job *job, decode_job *next, item_result *res,
                                double t0, int32_t *queued) {
    const run_opts *o = w->sh->o;
    const p3d_config *c = &o->cfg;
    char depth_dir[1200], mesh_dir[1200], video_dir[1200], web_dir[1200], splats_dir[1200], path[1600];
    out_path(o, c->depth_folder, depth_dir, sizeof depth_dir);
    out_path(o, c->mesh_folder, mesh_dir, sizeof mesh_dir);
    out_path(o, c->video_folder, video_dir, sizeof video_dir);
    out_path(o, "web", web_dir, sizeof web_dir);
    out_path(o, "splats", splats_dir, sizeof splats_dir);
    snprintf(path, sizeof path, "%s/%s.%s", mesh_dir, in->name, mesh_ext(c->mesh_format));
    photo_outputs *po = (photo_outputs *)calloc(1, sizeof *po);
    if (!po) return p3d_fail(P3D_ERR_OOM, "%s: out of memory", in->name);
    res->learned = w->learned;

    const p3d_device_traffic traffic0 = p3d_ctx_traffic(w->ctx);
    double t = p3d_time_now();
    p3d_depth map;
    memset(&map, 0, sizeof map);
    p3d_status st = P3D_OK;
    if (in->depth) { /* read on the decode thread */
        if (job->depth_st != P3D_OK) st = p3d_fail(job->depth_st, "%s", job->depth_error);
        map = job->map;
        memset(&job->map, 0, sizeof job->map);
    } else {
        st = photo_depth(w, in, &job->img, &map, &res->estimated);
    }
    res->seconds[STAGE_DEPTH] = p3d_time_now() - t;

    p3d_photo_result r;
    memset(&r, 0, sizeof r);
    p3d_photo_opts popts = photo_opts_of(c);
    popts.compact = o->glb || (c->save_ply && c->mesh_format == P3D_MESH_GLB) || (o->videos && c->video_mesh) || o->web;
    /* videos of the dense mesh on a GPU: the mesh is built on the device and rendered from there */
    popts.device_mesh = o->videos && !c->video_mesh && p3d_ctx_device(w->ctx).kind == P3D_DEVICE_CUDA;
    t = p3d_time_now();
    if (st == P3D_OK) st = p3d_interrupt_check(in->name);
    if (st == P3D_OK && job->input_st != P3D_OK) st = p3d_fail(job->input_st, "%s", job->input_error);
    if (st == P3D_OK && !job->prepared) {
        st = p3d_photo_input_prepare(&job->img, in->path, &map, &popts, &job->input);
        job->prepared = st == P3D_OK;
    }
    if (st == P3D_OK) st = p3d_photo_to_mesh_input(w->ctx, &w->nets, &job->input, in->path, &popts, &r);
    res->seconds[STAGE_MESH] = p3d_time_now() - t;
    /* the next photo's upload goes beside this one's writing and rendering */
    upload_next(w->ctx, next);
    if (st == P3D_OK) {
        res->width = r.width, res->height = r.height;
        res->edges = r.report.edges[0] + r.report.edges[1];
        res->synthesised = r.report.synthesised[0] + r.report.synthesised[1];
        res->vertices = r.mesh.n_vertices, res->faces = r.mesh.n_faces;
        for (int32_t k = 0; k < P3D_LDI_STAGE_COUNT; k++) res->ldi_seconds[k] = r.report.seconds[k];
    }
    /* Outputs only once the photo has a mesh: a map the pipeline rejected is never written. */
    t = p3d_time_now();
    if (st == P3D_OK) st = ensure_out_dir(po, o, c->depth_folder, depth_dir);
    if (st == P3D_OK) st = write_depth(&map, depth_dir, in->name, po);
    p3d_depth_free(&map);
    res->seconds[STAGE_DEPTH] += p3d_time_now() - t;
    t = p3d_time_now();
    if (st == P3D_OK && (c->save_ply || o->glb)) st = ensure_out_dir(po, o, c->mesh_folder, mesh_dir);
    /* GLB files hold the compact mesh, PLY files the dense one (the reference's). */
    if (st == P3D_OK && c->save_ply)
        st = p3d_mesh_write(c->mesh_format == P3D_MESH_GLB ? &r.compact : &r.mesh, path, (p3d_mesh_format)c->mesh_format);
    if (st == P3D_OK && c->save_ply) record_output(po, path);
    if (st == P3D_OK && o->glb) {
        snprintf(path, sizeof path, "%s/%s.glb", mesh_dir, in->name);
        st = p3d_mesh_write(&r.compact, path, P3D_MESH_GLB);
        if (st == P3D_OK) record_output(po, path);
    }
    if (st == P3D_OK && o->splats) {
        snprintf(path, sizeof path, "%s/%s.ply", splats_dir, in->name);
        st = ensure_out_dir(po, o, "splats", splats_dir);
        if (st == P3D_OK) st = p3d_splats_write(&r.ldi, &r.mesh, path);
        if (st == P3D_OK) record_output(po, path);
    }
    /* the LDI is not needed any more: free it before the page and the videos */
    p3d_ldi_free(&r.ldi);
    if (st == P3D_OK && o->web) st = photo_web(o, &r, in->name, web_dir, po);
    res->seconds[STAGE_WRITE] = p3d_time_now() - t;
    t = p3d_time_now();
    *queued = 0;
    if (st == P3D_OK && o->videos)
        st = photo_videos(w, &r, c->video_mesh ? &r.compact : &r.mesh, in->name, video_dir, res, po, queued);
    res->seconds[STAGE_VIDEO] = p3d_time_now() - t;
    res->traffic = p3d_device_traffic_sub(p3d_ctx_traffic(w->ctx), traffic0);
    p3d_photo_result_free(&r);
    if (st == P3D_OK && *queued) {
        w->pending.active = 1;
        w->pending.in = in;
        w->pending.res = res;
        w->pending.po = po;
        w->pending.t0 = t0;
        return P3D_OK;
    }
    *queued = 0;
    if (st != P3D_OK) discard_outputs(po);
    free(po);
    return st;
}

/* The end of one photo: its state, and the line saying so. */
static void photo_finished(worker *w, const p3d_input *in, item_result *res, p3d_status s, double t0) {
    run_shared *sh = w->sh;
    if (s == P3D_OK) {
        res->state = ITEM_DONE;
        say(sh, "%s: done in %.1f s (%dx%d, %lld vertices, %d videos)", in->name, p3d_time_now() - t0,
            (int)res->width, (int)res->height, (long long)res->vertices, (int)res->videos);
    } else {
        res->state = ITEM_FAILED;
        snprintf(res->error, sizeof res->error, "%s", p3d_last_error());
        /* under -q the summary at the end lists it */
        if (s != P3D_ERR_INTERRUPTED) say(sh, "error: %s: %s", in->name, res->error);
    }
}

/* Waits for the pending photo's videos and finishes it: done, or failed with its outputs removed. */
static void finish_pending(worker *w) {
    if (!w->pending.active) return;
    w->pending.active = 0;
    double t = p3d_time_now();
    p3d_status s = p3d_video_queue_wait(w->vq);
    item_result *res = w->pending.res;
    res->seconds[STAGE_VIDEO] += p3d_time_now() - t;
    if (s != P3D_OK) discard_outputs(w->pending.po);
    free(w->pending.po);
    w->pending.po = NULL;
    photo_finished(w, w->pending.in, res, s, w->pending.t0);
}

static void *worker_main(void *arg) {
    worker *w = (worker *)arg;
    run_shared *sh = w->sh;
    const run_opts *o = sh->o;
    p3d_device dev;
    p3d_status st = p3d_device_parse(w->device, &dev);
    const int32_t was_auto = st == P3D_OK && dev.kind == P3D_DEVICE_AUTO;
    if (st == P3D_OK) st = p3d_device_resolve(&dev); /* prints why when auto falls back to the CPU */
    if (st == P3D_OK) p3d_device_str(dev, w->used, sizeof w->used);
    if (st == P3D_OK && was_auto && dev.kind == P3D_DEVICE_CPU)
        warn(sh, 0, "device auto: no usable CUDA device, ran on the CPU (photo3d-gpu info says why)");
    if (st == P3D_OK) st = p3d_ctx_init(&w->ctx, dev);
    if (st == P3D_OK) st = p3d_nets_load(w->ctx, o->model_dir, (p3d_fill_mode)o->cfg.fill, &w->nets, &w->learned);
    if (st != P3D_OK) {
        pthread_mutex_lock(&sh->mu);
        if (!sh->fatal) {
            sh->fatal = (int32_t)st;
            snprintf(sh->fatal_msg, sizeof sh->fatal_msg, "%s: %s", w->device, p3d_last_error());
        }
        pthread_mutex_unlock(&sh->mu);
        p3d_ctx_free(w->ctx);
        return NULL;
    }
    if (!w->learned && o->cfg.fill == P3D_FILL_AUTO)
        warn(sh, 1, "note: inpainting weights not installed: using the non-learned fill (photo3d-gpu models says how to get them)");

    /* Two decode slots used in turn. The decoding thread writes into its slot, so a slot is never
     * copied: a copy taken while the thread still runs (the previous photo failed fast) would hold
     * no pixels. */
    decode_job slots[2];
    int32_t c = 0;
    int32_t i = take_next(sh);
    if (i >= 0) decode_start(&slots[c], &sh->in->items[i], o);
    while (i >= 0) {
        decode_job *cur = &slots[c], *nxt = &slots[c ^ 1];
        int32_t j = take_next(sh);
        if (j >= 0) decode_start(nxt, &sh->in->items[j], o); /* overlaps the work on photo i */
        const p3d_input *in = &sh->in->items[i];
        item_result *res = &sh->res[i];
        snprintf(res->device, sizeof res->device, "%s", w->used);
        double t0 = p3d_time_now();
        p3d_status s = decode_finish(cur);
        int32_t queued = 0;
        if (s == P3D_OK) s = process_photo(w, in, cur, j >= 0 ? nxt : NULL, res, t0, &queued);
        if (!queued) photo_finished(w, in, res, s, t0);
        decode_clear(w->ctx, cur);
        i = j;
        c ^= 1;
    }
    finish_pending(w);
    p3d_video_queue_free(w->vq);
    p3d_depth_estimator_free(w->est);
    p3d_nets_free(&w->nets);
    p3d_ctx_free(w->ctx);
    return NULL;
}

/* ---- the report -------------------------------------------------------------------------------- */

/* "a" when every photo that ran agrees on it, "mixed" when they differ, null when none ran. */
static void json_agreed(p3d_json *j, const char *const *values, int32_t n) {
    const char *v = NULL;
    for (int32_t i = 0; i < n; i++) {
        if (!values[i]) continue;
        if (v && strcmp(v, values[i]) != 0) {
            p3d_json_string(j, "mixed");
            return;
        }
        v = values[i];
    }
    if (v) p3d_json_string(j, v);
    else p3d_json_null(j);
}

/* The report records what was used (the fill, device and depth source each photo got), what was
 * asked (the *_requested keys) and every warning the run gave. */
static p3d_status write_json(const run_opts *o, const run_shared *sh, const p3d_input_list *in, const item_result *res,
                             double seconds) {
    const char **fills = (const char **)calloc((size_t)in->count + 1, sizeof *fills);
    const char **devs = (const char **)calloc((size_t)in->count + 1, sizeof *devs);
    const char **models = (const char **)calloc((size_t)in->count + 1, sizeof *models);
    if (!fills || !devs || !models) {
        free(fills), free(devs), free(models);
        return p3d_fail(P3D_ERR_OOM, "%s: out of memory", o->json_path);
    }
    for (int32_t i = 0; i < in->count; i++) {
        if (res[i].state != ITEM_DONE) continue;
        fills[i] = res[i].learned ? "learned" : "classic";
        devs[i] = res[i].device;
        models[i] = res[i].estimated ? p3d_depth_model_str(o->cfg.depth_model) : NULL;
    }
    p3d_json j;
    p3d_json_init(&j);
    p3d_json_begin_object(&j);
    p3d_json_key(&j, "version");
    p3d_json_string(&j, P3D_VERSION);
    p3d_json_key(&j, "seconds");
    p3d_json_number(&j, seconds);
    p3d_json_key(&j, "fill");
    json_agreed(&j, fills, in->count);
    p3d_json_key(&j, "fill_requested");
    p3d_json_string(&j, p3d_fill_mode_str(o->cfg.fill));
    p3d_json_key(&j, "device");
    json_agreed(&j, devs, in->count);
    p3d_json_key(&j, "device_requested");
    p3d_json_string(&j, o->n_devices == 1 ? o->devices[0] : "several");
    p3d_json_key(&j, "depth_model");
    json_agreed(&j, models, in->count); /* null when every photo came with its map */
    p3d_json_key(&j, "depth_model_requested");
    p3d_json_string(&j, p3d_depth_model_str(o->cfg.depth_model));
    free(fills), free(devs), free(models);
    p3d_json_key(&j, "warnings");
    p3d_json_begin_array(&j);
    for (int32_t i = 0; i < sh->n_warnings; i++) p3d_json_string(&j, sh->warnings[i]);
    p3d_json_end_array(&j);
    p3d_json_key(&j, "photos");
    p3d_json_begin_array(&j);
    static const char *const states[4] = {"not run", "done", "failed", "skipped"};
    for (int32_t i = 0; i < in->count; i++) {
        const item_result *r = &res[i];
        p3d_json_begin_object(&j);
        p3d_json_key(&j, "input");
        p3d_json_string(&j, in->items[i].path);
        p3d_json_key(&j, "name");
        p3d_json_string(&j, in->items[i].name);
        p3d_json_key(&j, "status");
        p3d_json_string(&j, states[r->state]);
        if (r->state == ITEM_FAILED) {
            p3d_json_key(&j, "error");
            p3d_json_string(&j, r->error);
        }
        if (r->state == ITEM_DONE) {
            p3d_json_key(&j, "device");
            p3d_json_string(&j, r->device);
            p3d_json_key(&j, "fill");
            p3d_json_string(&j, r->learned ? "learned" : "classic");
            p3d_json_key(&j, "depth");
            char est[96];
            snprintf(est, sizeof est, "estimated (%s)", p3d_depth_model_str(o->cfg.depth_model));
            p3d_json_string(&j, r->estimated ? est : in->items[i].depth ? in->items[i].depth : "");
            p3d_json_key(&j, "size");
            p3d_json_begin_array(&j);
            p3d_json_int(&j, r->width);
            p3d_json_int(&j, r->height);
            p3d_json_end_array(&j);
            p3d_json_key(&j, "edges");
            p3d_json_int(&j, r->edges);
            p3d_json_key(&j, "synthesised");
            p3d_json_int(&j, r->synthesised);
            p3d_json_key(&j, "vertices");
            p3d_json_int(&j, r->vertices);
            p3d_json_key(&j, "faces");
            p3d_json_int(&j, r->faces);
            p3d_json_key(&j, "videos");
            p3d_json_int(&j, r->videos);
            p3d_json_key(&j, "frames");
            p3d_json_int(&j, r->frames);
            p3d_json_device_traffic(&j, &r->traffic);
            p3d_json_key(&j, "seconds");
            p3d_json_begin_object(&j);
            for (int32_t k = 0; k < STAGE_COUNT; k++) {
                p3d_json_key(&j, k_stage_names[k]);
                p3d_json_number(&j, r->seconds[k]);
            }
            for (int32_t k = 0; k < P3D_LDI_STAGE_COUNT; k++) {
                char key[64];
                snprintf(key, sizeof key, "ldi.%s", p3d_ldi_stage_name(k));
                p3d_json_key(&j, key);
                p3d_json_number(&j, r->ldi_seconds[k]);
            }
            p3d_json_end_object(&j);
        }
        p3d_json_end_object(&j);
    }
    for (int32_t i = 0; i < in->n_problems; i++) {
        p3d_json_begin_object(&j);
        p3d_json_key(&j, "input");
        p3d_json_string(&j, in->problems[i]);
        p3d_json_key(&j, "status");
        p3d_json_string(&j, "failed");
        p3d_json_end_object(&j);
    }
    p3d_json_end_array(&j);
    p3d_json_end_object(&j);
    p3d_status st = p3d_json_write_file(&j, o->json_path);
    p3d_json_free(&j);
    return st;
}

/* ---- the command ------------------------------------------------------------------------------- */

static int parse_devices(run_opts *o, const char *list) {
    o->n_devices = 0;
    char item[P3D_CFG_NAME - 8];
    for (const char *s = list; *s;) {
        const char *comma = strchr(s, ',');
        size_t n = comma ? (size_t)(comma - s) : strlen(s);
        if (n == 0 || n >= sizeof item || o->n_devices >= RUN_MAX_DEVICES) return 0;
        snprintf(item, sizeof item, "%.*s", (int)n, s);
        int all_digits = 1;
        for (size_t k = 0; k < n; k++) all_digits &= item[k] >= '0' && item[k] <= '9';
        snprintf(o->devices[o->n_devices++], sizeof o->devices[0], "%s%s", all_digits ? "cuda:" : "", item);
        p3d_device d;
        if (p3d_device_parse(o->devices[o->n_devices - 1], &d) != P3D_OK) return 0;
        s += n + (comma ? 1 : 0);
    }
    return o->n_devices > 0;
}

int p3d_cmd_run(int argc, char **argv) {
    run_opts o;
    memset(&o, 0, sizeof o);
    p3d_config_defaults(&o.cfg);
    o.out_dir = ".";
    o.videos = 1;
    o.dopts.kind = P3D_DEPTH_DISPARITY;
    o.dopts.scale = 1.0f;
    const char *config_path = NULL, *depth_file = NULL, *depth_dir = NULL, *shard = NULL, *devices = NULL;
    const char *sets[RUN_MAX_SETS];
    int32_t n_sets = 0, print_config = 0;
    const char **inputs = (const char **)calloc((size_t)argc + 1, sizeof *inputs);
    int32_t n_inputs = 0;
    if (!inputs) return p3d_report_failure(p3d_fail(P3D_ERR_OOM, "out of memory"));
    char setbuf[RUN_MAX_SETS][256];
    int32_t n_own = 0; /* command-line options that are configuration keys, applied after --set */
    const char *own[RUN_MAX_SETS];
    p3d_args it;
    p3d_args_init(&it, argc, argv);
    int rc = -1;
    while (rc < 0 && p3d_args_next(&it)) {
        const char *v = NULL;
        if (p3d_args_is(&it, "-h", "--help")) {
            fputs(k_run_help, stdout);
            rc = P3D_EXIT_OK;
        } else if (p3d_args_is(&it, "-o", "--output")) {
            if (!(o.out_dir = p3d_args_value(&it))) rc = P3D_EXIT_USAGE;
        } else if (p3d_args_is(&it, NULL, "--config")) {
            if (!(config_path = p3d_args_value(&it))) rc = P3D_EXIT_USAGE;
        } else if (p3d_args_is(&it, NULL, "--set")) {
            if (!(v = p3d_args_value(&it))) rc = P3D_EXIT_USAGE;
            else if (n_sets >= RUN_MAX_SETS) rc = p3d_usage_error("run", "more than %d --set options", RUN_MAX_SETS);
            else sets[n_sets++] = v;
        } else if (p3d_args_is(&it, NULL, "--print-config")) {
            print_config = 1;
        } else if (p3d_args_depth(&it, "run", &depth_file, &o.dopts, &rc)) {
        } else if (p3d_args_is(&it, NULL, "--depth-dir")) {
            if (!(depth_dir = p3d_args_value(&it))) rc = P3D_EXIT_USAGE;
        } else if (p3d_args_is(&it, NULL, "--depth-model") || p3d_args_is(&it, NULL, "--fill") ||
                   p3d_args_is(&it, NULL, "--frames") || p3d_args_is(&it, NULL, "--fps") ||
                   p3d_args_is(&it, NULL, "--device")) {
            static const char *const opt[5] = {"--depth-model", "--fill", "--frames", "--fps", "--device"};
            static const char *const key[5] = {"depth_model", "fill", "num_frames", "fps", "device"};
            int32_t k = 0;
            while (!p3d_args_is(&it, NULL, opt[k])) k++;
            if (!(v = p3d_args_value(&it))) rc = P3D_EXIT_USAGE;
            else if (n_own >= RUN_MAX_SETS) rc = p3d_usage_error("run", "too many options");
            else {
                snprintf(setbuf[n_own], sizeof setbuf[0], "%s=%s", key[k], v);
                own[n_own] = setbuf[n_own];
                n_own++;
            }
        } else if (p3d_args_is(&it, NULL, "--glb")) {
            o.glb = 1;
        } else if (p3d_args_is(&it, NULL, "--web")) {
            o.web = 1;
        } else if (p3d_args_is(&it, NULL, "--splats")) {
            o.splats = 1;
        } else if (p3d_args_is(&it, NULL, "--mesh-only")) {
            o.videos = 0;
        } else if (p3d_args_is(&it, NULL, "--skip-existing")) {
            o.skip_existing = 1;
        } else if (p3d_args_is(&it, NULL, "--shard")) {
            if (!(shard = p3d_args_value(&it))) rc = P3D_EXIT_USAGE;
        } else if (p3d_args_is(&it, NULL, "--devices")) {
            if (!(devices = p3d_args_value(&it))) rc = P3D_EXIT_USAGE;
        } else if (p3d_args_is(&it, NULL, "--model-dir")) {
            if (!(o.model_dir = p3d_args_value(&it))) rc = P3D_EXIT_USAGE;
        } else if (p3d_args_is(&it, NULL, "--json")) {
            if (!(o.json_path = p3d_args_value(&it))) rc = P3D_EXIT_USAGE;
        } else if (p3d_args_is(&it, NULL, "--max-pixels")) {
            int64_t mp = 0;
            if (!(v = p3d_args_value(&it))) rc = P3D_EXIT_USAGE;
            else if (p3d_max_pixels_parse(v, &mp) != P3D_OK) rc = p3d_usage_error("run", "%s", p3d_last_error());
            else p3d_set_max_pixels(mp);
        } else if (p3d_args_is(&it, "-q", "--quiet")) {
            o.quiet = 1;
            p3d_log_set_level(P3D_LOG_WARN); /* the device notices too */
        } else if (it.positional) {
            inputs[n_inputs++] = it.arg;
        } else {
            rc = p3d_args_unknown(&it);
        }
    }
    /* configuration: file, --set, then the command line's own options */
    if (rc < 0 && config_path && p3d_config_load_file(&o.cfg, config_path) != P3D_OK)
        rc = p3d_usage_error("run", "%s", p3d_last_error());
    for (int32_t i = 0; rc < 0 && i < n_sets; i++)
        if (p3d_config_set(&o.cfg, sets[i]) != P3D_OK) rc = p3d_usage_error("run", "--set %s", p3d_last_error());
    for (int32_t i = 0; rc < 0 && i < n_own; i++)
        if (p3d_config_set(&o.cfg, own[i]) != P3D_OK) rc = p3d_usage_error("run", "%s", p3d_last_error());
    if (rc < 0 && p3d_config_check(&o.cfg) != P3D_OK) rc = p3d_usage_error("run", "%s", p3d_last_error());
    if (rc < 0 && print_config) {
        p3d_config_print(&o.cfg, stdout);
        rc = P3D_EXIT_OK;
    }
    uint32_t shard_k = 0, shard_n = 1;
    if (rc < 0 && shard && p3d_shard_parse(shard, &shard_k, &shard_n) != P3D_OK)
        rc = p3d_usage_error("run", "%s", p3d_last_error()); /* the message names --shard */
    if (rc < 0 && devices && !parse_devices(&o, devices))
        rc = p3d_usage_error("run", "--devices '%s': expected a comma-separated list of CUDA ordinals or devices", devices);
    if (rc < 0 && !devices) {
        snprintf(o.devices[0], sizeof o.devices[0], "%s", o.cfg.device);
        o.n_devices = 1;
    }
    if (rc < 0 && depth_file && depth_dir) rc = p3d_usage_error("run", "--depth and --depth-dir exclude each other");
    struct stat sf;
    if (rc < 0 && n_inputs == 0 && (!o.cfg.src_folder[0] || stat(o.cfg.src_folder, &sf) != 0 || !S_ISDIR(sf.st_mode)))
        rc = p3d_usage_error("run", "no INPUT given (and no folder src_folder '%s')", o.cfg.src_folder);
    if (rc >= 0) {
        free(inputs);
        return rc;
    }

    /* inputs */
    p3d_input_list in;
    p3d_inputs_init(&in);
    p3d_inputs_opts io = {o.cfg.img_format, o.cfg.specific};
    p3d_status st = P3D_OK;
    if (n_inputs == 0) st = p3d_inputs_add(&in, o.cfg.src_folder, &io);
    for (int32_t i = 0; st == P3D_OK && i < n_inputs; i++) st = p3d_inputs_add(&in, inputs[i], &io);
    free(inputs);
    if (st == P3D_OK && depth_file) st = p3d_inputs_set_depth(&in, depth_file);
    /* before sharding: a depth map listed as an input is dropped whatever shard its photo is in */
    if (st == P3D_OK && depth_dir) st = p3d_inputs_match_depth(&in, depth_dir, o.cfg.depth_format);
    if (st == P3D_OK && shard_n > 1) p3d_inputs_shard(&in, shard_k, shard_n);
    if (st != P3D_OK) {
        p3d_inputs_free(&in);
        return st == P3D_ERR_INVALID_ARG ? p3d_usage_error("run", "%s", p3d_last_error()) : p3d_report_failure(st);
    }
    /* OUTDIR is made now, so a folder that cannot be made fails the run at once; if this run made it
     * and no photo wrote anything into it, it is removed at the end */
    struct stat od;
    const int32_t out_made = stat(o.out_dir, &od) != 0;
    if (st == P3D_OK) st = p3d_dir_ensure(o.out_dir);
    if (st != P3D_OK) {
        p3d_inputs_free(&in);
        return p3d_report_failure(st);
    }

    item_result *res_all = (item_result *)calloc((size_t)in.count + 1, sizeof *res_all);
    p3d_input *queue = (p3d_input *)malloc(((size_t)in.count + 1) * sizeof *queue);
    int32_t *back = (int32_t *)malloc(((size_t)in.count + 1) * sizeof *back);
    if (!res_all || !queue || !back) {
        free(res_all), free(queue), free(back);
        p3d_inputs_free(&in);
        return p3d_report_failure(p3d_fail(P3D_ERR_OOM, "out of memory"));
    }
    /* --skip-existing is decided up front: the workers' queue holds the real work only */
    int32_t skipped = 0, todo = 0;
    for (int32_t i = 0; i < in.count; i++) {
        if (o.skip_existing && outputs_exist(&o, in.items[i].name)) {
            res_all[i].state = ITEM_SKIPPED;
            skipped++;
            continue;
        }
        queue[todo] = in.items[i];
        back[todo++] = i;
    }
    p3d_input_list view = in;
    view.items = queue;
    view.count = todo;

    run_shared sh;
    memset(&sh, 0, sizeof sh);
    sh.o = &o;
    sh.in = &view;
    sh.res = (item_result *)calloc((size_t)todo + 1, sizeof *sh.res);
    pthread_mutex_init(&sh.mu, NULL);
    p3d_progress_init(&sh.progress, stderr, o.quiet ? P3D_PROGRESS_QUIET : o.n_devices > 1 ? P3D_PROGRESS_PLAIN
                                                                                               : P3D_PROGRESS_AUTO);
    char cw[4096];
    if (p3d_config_warnings(&o.cfg, cw, sizeof cw) > 0)
        for (char *line = strtok(cw, "\n"); line; line = strtok(NULL, "\n")) warn(&sh, 1, "warning: %s", line);
    if (skipped) say(&sh, "skipping %d photo(s) whose outputs exist", (int)skipped);
    p3d_interrupt_install(P3D_INTERRUPT_FLAG);
    double t0 = p3d_time_now();
    worker ws[RUN_MAX_DEVICES];
    pthread_t th[RUN_MAX_DEVICES];
    int32_t started[RUN_MAX_DEVICES];
    memset(ws, 0, sizeof ws);
    for (int32_t d = 0; sh.res && todo > 0 && d < o.n_devices; d++) {
        ws[d].sh = &sh;
        ws[d].device = o.devices[d];
        /* one device: the worker runs on this thread */
        started[d] = o.n_devices > 1 ? pthread_create(&th[d], NULL, worker_main, &ws[d]) == 0 : 0;
        if (!started[d]) worker_main(&ws[d]);
    }
    for (int32_t d = 0; sh.res && todo > 0 && d < o.n_devices; d++)
        if (started[d]) pthread_join(th[d], NULL);
    for (int32_t k = 0; sh.res && k < todo; k++) res_all[back[k]] = sh.res[k];
    free(sh.res);
    sh.res = res_all;
    free(queue);
    free(back);
    double seconds = p3d_time_now() - t0;

    int32_t done = 0, failed = 0, not_run = 0;
    for (int32_t i = 0; i < in.count; i++) {
        done += sh.res[i].state == ITEM_DONE;
        failed += sh.res[i].state == ITEM_FAILED;
        not_run += sh.res[i].state == ITEM_PENDING;
    }
    if (o.json_path) {
        p3d_status js = write_json(&o, &sh, &in, sh.res, seconds);
        if (js != P3D_OK) fprintf(stderr, "photo3d-gpu: %s\n", p3d_last_error());
    }
    if (failed || in.n_problems) {
        fprintf(stderr, "photo3d-gpu run: %d of %d photo(s) failed:\n", (int)(failed + in.n_problems),
                (int)(in.count + in.n_problems));
        for (int32_t i = 0; i < in.count; i++)
            if (sh.res[i].state == ITEM_FAILED) {
                /* the message names the photo already when it is about the photo itself */
                const char *e = sh.res[i].error, *p = in.items[i].path;
                size_t n = strlen(p);
                if (strncmp(e, p, n) == 0 && e[n] == ':') fprintf(stderr, "  %s\n", e);
                else fprintf(stderr, "  %s: %s\n", p, e);
            }
        for (int32_t i = 0; i < in.n_problems; i++) fprintf(stderr, "  %s\n", in.problems[i]);
    }
    if (!o.quiet)
        fprintf(stderr, "photo3d-gpu run: %d done, %d skipped, %d failed in %.1f s\n", (int)done, (int)skipped,
                (int)(failed + in.n_problems), seconds);
    int32_t interrupted = p3d_interrupted(), problems = in.n_problems;
    if (out_made) rmdir(o.out_dir); /* only when empty: nothing was written */
    p3d_inputs_free(&in);
    free(sh.res);
    pthread_mutex_destroy(&sh.mu);
    if (interrupted) {
        fprintf(stderr, "photo3d-gpu run: interrupted; %d photo(s) not finished\n", (int)(not_run + failed));
        return 130;
    }
    if (sh.fatal && done == 0) {
        fprintf(stderr, "photo3d-gpu: %s\n", sh.fatal_msg);
        return P3D_EXIT_FAIL;
    }
    if (sh.fatal) fprintf(stderr, "photo3d-gpu run: a worker could not start: %s\n", sh.fatal_msg);
    return failed || problems || not_run ? P3D_EXIT_PARTIAL : P3D_EXIT_OK;
}
