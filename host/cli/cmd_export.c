/* cmd_export.c - `photo3d-gpu export`: a mesh file as a self-contained web page (pipeline/web_page.h)
 * with the presets' (or the given trajectories') camera paths. A GLB is embedded as it is; a PLY is
 * converted to a GLB (vertex colours) first. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/file_io.h"
#include "mesh/mesh_file.h"
#include "mesh/mesh_glb.h"
#include "pipeline/web_page.h"
#include "render/render.h"
#include "render/trajectory.h"

static const char *const k_export_help =
    "usage: photo3d-gpu export MESH.glb|MESH.ply --web DIR [--name NAME] [--traj LIST] [--frames N] [--fps F]\n"
    "                          [--crop T,L,B,R] [--ssaa S] [--three DIR]\n"
    "\n"
    "Writes DIR/NAME.html (NAME = the mesh file's stem): ONE self-contained page - the mesh (a GLB, e.g.\n"
    "the compact mesh of `run --glb`, embedded as it is; a PLY is converted to a GLB), three.js and the\n"
    "viewer - that opens from the file system in a browser. Moving the mouse (or tilting the device)\n"
    "moves the camera within the trajectories' range; a click plays the trajectories. The camera, the\n"
    "crop border, the texture filtering and the background are the renderer's (`render`).\n"
    "Query string: NAME.html?pose=x,y,z&w=W&h=H[&ssaa=S] shows one fixed pose (`render --pose x,y,z`)\n"
    "at W x H (NAME.html?traj=T&frame=K: frame K of trajectory T); the page's title becomes p3d-ready\n"
    "when drawn, p3d-error: ... on an error.\n"
    "\n"
    "  --web DIR         output folder (created if missing)\n"
    "  --name NAME       page name (default the mesh file's stem)\n"
    "  --traj LIST       comma-separated presets (dolly-zoom-in, zoom-in, circle, swing; default all four)\n"
    "                    and/or trajectory files, as `render --traj`\n"
    "  --frames N        frames per preset (default 240)\n"
    "  --fps F           playback rate (default 40, or the first trajectory file's)\n"
    "  --crop T,L,B,R    border fractions hidden from every frame (default 0.03,0.03,0.05,0.03)\n"
    "  --ssaa S          supersampling factor 1..4 (default 3, as `render`)\n"
    "  --three DIR       three.js folder with three.min.js and examples/js/loaders/GLTFLoader.js (the\n"
    "                    non-module build of r111; default $P3D_THREE_DIR, else Debian's libjs-three:\n"
    "                    " P3D_WEB_THREE_DIR_DEFAULT ")\n";

#define EXPORT_MAX_TRAJ 32

/* The trajectories of LIST (presets and files) for mesh m; *n of them in t[]. */
static p3d_status export_trajs(const char *list, int32_t frames, const p3d_mesh *m, p3d_traj *t, int32_t *n) {
    const float anchor = p3d_mesh_center_depth(m);
    char item[1024];
    *n = 0;
    for (const char *s = list; *s;) {
        const char *comma = strchr(s, ',');
        const size_t len = comma ? (size_t)(comma - s) : strlen(s);
        snprintf(item, sizeof item, "%.*s", (int)len, s);
        s += len + (comma ? 1 : 0);
        if (!item[0]) continue;
        if (*n >= EXPORT_MAX_TRAJ) return p3d_fail(P3D_ERR_INVALID_ARG, "--traj: more than %d trajectories", EXPORT_MAX_TRAJ);
        P3D_TRY(p3d_traj_is_preset(item) ? p3d_traj_preset(item, frames, anchor, &t[*n]) : p3d_traj_read(item, m->hfov, &t[*n]));
        (*n)++;
    }
    return P3D_OK;
}

int p3d_cmd_export(int argc, char **argv) {
    const char *mesh_path = NULL, *web_dir = NULL, *name = NULL, *traj_list = "dolly-zoom-in,zoom-in,circle,swing";
    int32_t frames = P3D_TRAJ_DEFAULT_FRAMES;
    double fps = 0;
    p3d_web_opts wo = p3d_web_defaults();
    p3d_args it;
    p3d_args_init(&it, argc, argv);
    while (p3d_args_next(&it)) {
        const char *v = NULL;
        if (p3d_args_is(&it, "-h", "--help")) {
            fputs(k_export_help, stdout);
            return P3D_EXIT_OK;
        } else if (it.positional) {
            if (mesh_path) return p3d_usage_error("export", "one MESH at a time ('%s' and '%s')", mesh_path, it.arg);
            mesh_path = it.arg;
        } else if (!(p3d_args_is(&it, NULL, "--web") || p3d_args_is(&it, NULL, "--name") || p3d_args_is(&it, NULL, "--traj") ||
                     p3d_args_is(&it, NULL, "--frames") || p3d_args_is(&it, NULL, "--fps") || p3d_args_is(&it, NULL, "--crop") ||
                     p3d_args_is(&it, NULL, "--ssaa") || p3d_args_is(&it, NULL, "--three"))) {
            return p3d_args_unknown(&it);
        } else if (!(v = p3d_args_value(&it))) {
            return P3D_EXIT_USAGE;
        } else if (p3d_args_is(&it, NULL, "--web")) {
            web_dir = v;
        } else if (p3d_args_is(&it, NULL, "--name")) {
            name = v;
        } else if (p3d_args_is(&it, NULL, "--traj")) {
            traj_list = v;
        } else if (p3d_args_is(&it, NULL, "--three")) {
            wo.three_dir = v;
        } else if (p3d_args_is(&it, NULL, "--crop")) {
            if (p3d_parse_crop(v, wo.crop) != P3D_OK) return p3d_usage_error("export", "%s", p3d_last_error());
        } else {
            char *end = NULL;
            const double x = strtod(v, &end);
            const int bad = !end || end == v || *end;
            if (p3d_args_is(&it, NULL, "--frames")) {
                if (bad || x != (double)(int32_t)x || x < 1 || x > P3D_TRAJ_MAX_FRAMES)
                    return p3d_usage_error("export", "--frames '%s': expected an integer in 1..%d", v, P3D_TRAJ_MAX_FRAMES);
                frames = (int32_t)x;
            } else if (p3d_args_is(&it, NULL, "--fps")) {
                if (bad || !(x >= 0.01 && x <= 1000)) return p3d_usage_error("export", "--fps '%s': expected a number in 0.01..1000", v);
                fps = x;
            } else {
                if (bad || x != (double)(int32_t)x || x < 1 || x > P3D_RENDER_MAX_SSAA)
                    return p3d_usage_error("export", "--ssaa '%s': expected an integer in 1..%d", v, P3D_RENDER_MAX_SSAA);
                wo.ssaa = (int32_t)x;
            }
        }
    }
    if (!mesh_path) return p3d_usage_error("export", "no MESH given (see photo3d-gpu export --help)");
    if (!web_dir) return p3d_usage_error("export", "nothing to export: give --web DIR");
    char stem[256], path[4400];
    if (name) snprintf(stem, sizeof stem, "%s", name);
    else {
        const char *base = strrchr(mesh_path, '/');
        snprintf(stem, sizeof stem, "%s", base ? base + 1 : mesh_path);
        char *dot = strrchr(stem, '.');
        if (dot && dot != stem) *dot = '\0';
    }
    if (!stem[0] || strchr(stem, '/')) return p3d_usage_error("export", "--name '%s': expected a file name", stem);
    snprintf(path, sizeof path, "%s/%s.html", web_dir, stem);
    wo.title = stem;

    p3d_mesh m;
    memset(&m, 0, sizeof m);
    p3d_traj trajs[EXPORT_MAX_TRAJ];
    int32_t n_traj = 0;
    uint8_t *glb = NULL;
    size_t glb_len = 0;
    p3d_mesh_format fmt = P3D_MESH_PLY_BINARY;
    p3d_status st = p3d_mesh_read(mesh_path, &m);
    /* a GLB goes in byte for byte (what was checked is what is shown); anything else becomes one */
    if (st == P3D_OK && p3d_mesh_format_from_path(mesh_path, &fmt) == P3D_OK && fmt == P3D_MESH_GLB)
        st = p3d_file_read(mesh_path, (size_t)UINT32_MAX, &glb, &glb_len);
    else if (st == P3D_OK)
        st = p3d_mesh_encode_glb(&m, mesh_path, &glb, &glb_len);
    if (st == P3D_OK) st = export_trajs(traj_list, frames, &m, trajs, &n_traj);
    wo.fps = fps > 0 ? fps : n_traj > 0 && trajs[0].fps > 0 ? trajs[0].fps : P3D_TRAJ_DEFAULT_FPS;
    if (st == P3D_OK) st = p3d_dir_ensure(web_dir);
    if (st == P3D_OK) st = p3d_web_page_write(path, glb, glb_len, &m, trajs, n_traj, &wo);
    if (st == P3D_OK)
        printf("%s: %dx%d, %lld faces, %d trajectories, GLB %.1f MB\n", path, (int)m.width, (int)m.height, (long long)m.n_faces,
               (int)n_traj, (double)glb_len / 1e6);
    for (int32_t k = 0; k < n_traj; k++) p3d_traj_free(&trajs[k]);
    free(glb);
    p3d_mesh_free(&m);
    return st == P3D_OK ? P3D_EXIT_OK : p3d_report_failure(st);
}
