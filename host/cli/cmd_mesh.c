/* cmd_mesh.c - `photo3d-gpu mesh`: one photo and its depth map to an inpainted LDI and its mesh
 * (PLY or GLB), with per-stage times and counts. The full `run` command adds depth estimation and
 * the videos. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/inputs.h"
#include "core/file_io.h"
#include "io/image_io.h"
#include "io/npy.h"
#include "mesh/mesh_file.h"
#include "mesh/mesh_splats.h"
#include "pipeline/photo3d.h"

static const char *const k_mesh_help =
    "usage: photo3d-gpu mesh IMAGE --depth FILE [options]\n"
    "\n"
    "Builds the layered depth image of IMAGE, inpaints its hidden layers and its border, and writes the\n"
    "mesh (default: NAME.ply in the current directory).\n"
    "\n"
    "  --depth FILE        depth or disparity map (.npy, 8/16-bit PNG, PFM) with the image's aspect\n"
    "  --metric            the map holds metric depth (larger = farther); default: disparity\n"
    "  --depth-scale S     value = stored number * S\n"
    "  -o, --output FILE   OUT.ply (binary little-endian) or OUT.glb (glTF 2.0 binary)\n"
    "  --ascii             write PLY as ASCII, the reference's exact format (about 4x larger)\n"
    "  --mesh KIND         compact (the default for .glb: a texture atlas + simplified geometry, One\n"
    "                      Shot 3D Photography's) or dense (one vertex per LDI node, vertex colours;\n"
    "                      the only kind PLY holds)\n"
    "  --fill KIND         auto (default: the networks when installed), learned, classic (non-learned)\n"
    "  --longer-side N     processing size of the longer side (default 960)\n"
    "  --no-border         do not extrapolate the 60-pixel border\n"
    "  --device DEV        cpu, cuda, cuda:N or auto (default auto)\n"
    "  --model-dir DIR     where the inpainting weights are (before $P3D_MODEL_DIR and the user cache)\n"
    "  --splats FILE.ply   also write the LDI as 3D Gaussians (the 3D Gaussian Splatting PLY layout)\n"
    "  --dump-ldi DIR      also write each LDI layer: NAME_layerK.png (RGB, magenta = no node) and\n"
    "                      NAME_layerK_depth.npy (float32, 0 = no node)\n"
    "  --json FILE         machine-readable report: size, mesh counts, stage times and the device traffic\n"
    "                      (\"device_traffic\": host<->device bytes, blocking syncs, device allocations)\n"
    "  -q, --quiet         no report on stdout\n";

/* Layer k of the canvas: the k-th node of every pixel's list. */
static p3d_status dump_ldi(const p3d_ldi *l, const char *dir, const char *stem) {
    int32_t max_layers = 0;
    size_t npix = (size_t)l->ext_w * l->ext_h;
    for (size_t p = 0; p < npix; p++) {
        int32_t k = 0;
        for (int32_t c = l->head[p]; c >= 0; c = l->next[c]) k++;
        if (k > max_layers) max_layers = k;
    }
    uint8_t *rgb = (uint8_t *)malloc(npix * 3);
    float *depth = (float *)malloc(npix * sizeof *depth);
    p3d_status s = rgb && depth ? p3d_dir_ensure(dir) : p3d_fail(P3D_ERR_OOM, "LDI dump: out of memory");
    for (int32_t layer = 0; s == P3D_OK && layer < max_layers; layer++) {
        memset(depth, 0, npix * sizeof *depth);
        for (size_t p = 0; p < npix; p++) {
            int32_t c = l->head[p];
            for (int32_t k = 0; c >= 0 && k < layer; k++) c = l->next[c];
            static const uint8_t none[3] = {255, 0, 255};
            memcpy(rgb + 3 * p, c >= 0 ? l->rgb + 3 * (size_t)c : none, 3);
            if (c >= 0) depth[p] = l->depth[c];
        }
        char path[2048];
        snprintf(path, sizeof path, "%s/%s_layer%d.png", dir, stem, (int)layer);
        s = p3d_png_write_u8(path, l->ext_w, l->ext_h, 3, rgb);
        if (s == P3D_OK) {
            int64_t shape[2] = {l->ext_h, l->ext_w};
            p3d_tensor t = p3d_tensor_view(depth, P3D_F32, P3D_MEM_HOST, 2, shape);
            snprintf(path, sizeof path, "%s/%s_layer%d_depth.npy", dir, stem, (int)layer);
            s = p3d_npy_write(path, &t);
        }
    }
    free(rgb);
    free(depth);
    return s;
}

static void print_report(const char *stem, const p3d_photo_result *r, int32_t learned, const char *out) {
    const p3d_ldi_report *rep = &r->report;
    printf("%s: %dx%d -> %dx%d, fill %s\n", stem, (int)r->orig_w, (int)r->orig_h, (int)r->width, (int)r->height,
           learned ? "learned (edge, depth, colour nets)" : "classic (non-learned)");
    printf("  edges: %d + %d inpainted (%d short removed, %d ends joined); small components %d (%d px refilled)\n",
           (int)rep->edges[0], (int)rep->edges[1], (int)rep->edges_removed, (int)rep->ends_joined,
           (int)rep->build.small_components, (int)rep->build.refilled_pixels);
    printf("  synthesised: %d + %d nodes, border %d nodes; patches %d (%lld px)\n", (int)rep->synthesised[0],
           (int)rep->synthesised[1], (int)rep->border_nodes, (int)rep->inpaint.patches,
           (long long)rep->inpaint.patch_pixels);
    if (learned)
        printf("  network calls: edge %d, depth %d, colour %d (patches %d, %d, %d)\n", (int)rep->inpaint.net_calls[0],
               (int)rep->inpaint.net_calls[1], (int)rep->inpaint.net_calls[2], (int)rep->inpaint.batches_items[0],
               (int)rep->inpaint.batches_items[1], (int)rep->inpaint.batches_items[2]);
    printf("  mesh: %lld vertices, %lld faces", (long long)r->mesh.n_vertices, (long long)r->mesh.n_faces);
    printf(r->compact.n_vertices ? "\n" : " -> %s\n", out);
    if (r->compact.n_vertices) {
        const p3d_compact_stats *c = &r->compact_stats;
        printf("  compact: %lld vertices, %lld faces (%.1f%%), %d charts (%d halo vertices), atlas %dx%d (%.0f%% used%s), "
               "error %.2f px, %d tiles left dense -> %s\n", (long long)r->compact.n_vertices, (long long)r->compact.n_faces,
               100.0 * (double)r->compact.n_faces / (double)(r->mesh.n_faces ? r->mesh.n_faces : 1), (int)c->charts,
               (int)c->halo_vertices, (int)c->atlas_w, (int)c->atlas_h, 100.0 * c->atlas_fill,
               c->hidden_scale > 1 ? ", hidden layers halved" : "", (double)c->error_px, (int)c->dense_tiles, out);
    }
    double total = r->seconds_prep + r->seconds_mesh;
    printf("  time: prepare %.3f s", r->seconds_prep);
    for (int32_t i = 0; i < P3D_LDI_STAGE_COUNT; i++) {
        printf(", %s %.3f", p3d_ldi_stage_name(i), rep->seconds[i]);
        total += rep->seconds[i];
    }
    total += r->seconds_compact;
    printf(", mesh %.3f, compact %.3f; total %.3f s\n", r->seconds_mesh, r->seconds_compact, total);
}

/* The --json report: one photo, the fields `run --json` gives per photo. */
static p3d_status write_json(const char *path, const char *image, const char *dev, const p3d_photo_result *r,
                             int32_t learned, const char *out) {
    p3d_json j;
    p3d_json_init(&j);
    p3d_json_begin_object(&j);
    p3d_json_key(&j, "version");
    p3d_json_string(&j, P3D_VERSION);
    p3d_json_key(&j, "input");
    p3d_json_string(&j, image);
    p3d_json_key(&j, "output");
    p3d_json_string(&j, out);
    p3d_json_key(&j, "device");
    p3d_json_string(&j, dev);
    p3d_json_key(&j, "fill");
    p3d_json_string(&j, learned ? "learned" : "classic");
    p3d_json_key(&j, "size");
    p3d_json_begin_array(&j);
    p3d_json_int(&j, r->width);
    p3d_json_int(&j, r->height);
    p3d_json_end_array(&j);
    p3d_json_key(&j, "vertices");
    p3d_json_int(&j, r->mesh.n_vertices);
    p3d_json_key(&j, "faces");
    p3d_json_int(&j, r->mesh.n_faces);
    p3d_json_key(&j, "seconds");
    p3d_json_begin_object(&j);
    p3d_json_key(&j, "prepare");
    p3d_json_number(&j, r->seconds_prep);
    for (int32_t k = 0; k < P3D_LDI_STAGE_COUNT; k++) {
        char key[64];
        snprintf(key, sizeof key, "ldi.%s", p3d_ldi_stage_name(k));
        p3d_json_key(&j, key);
        p3d_json_number(&j, r->report.seconds[k]);
    }
    p3d_json_key(&j, "mesh");
    p3d_json_number(&j, r->seconds_mesh);
    p3d_json_key(&j, "compact");
    p3d_json_number(&j, r->seconds_compact);
    p3d_json_end_object(&j);
    p3d_json_device_traffic(&j, &r->traffic);
    p3d_json_end_object(&j);
    p3d_status st = p3d_json_write_file(&j, path);
    p3d_json_free(&j);
    return st;
}

int p3d_cmd_mesh(int argc, char **argv) {
    const char *image = NULL, *depth_path = NULL, *out = NULL, *device = "auto", *model_dir = NULL, *dump = NULL;
    const char *splats = NULL, *json = NULL;
    p3d_depth_opts dopts = {P3D_DEPTH_DISPARITY, 1.0f};
    p3d_photo_opts o = p3d_photo_opts_default();
    p3d_fill_mode fill = P3D_FILL_AUTO;
    int32_t ascii = 0, quiet = 0, kind = -1; /* kind: 1 compact, 0 dense, -1 from the file type */
    int rc = -1;
    p3d_args it;
    p3d_args_init(&it, argc, argv);
    while (p3d_args_next(&it)) {
        const char *v = NULL;
        if (p3d_args_is(&it, "-h", "--help")) {
            fputs(k_mesh_help, stdout);
            return P3D_EXIT_OK;
        } else if (p3d_args_depth(&it, "mesh", &depth_path, &dopts, &rc)) {
            if (rc >= 0) return rc;
        } else if (p3d_args_is(&it, "-o", "--output")) {
            if (!(out = p3d_args_value(&it))) return P3D_EXIT_USAGE;
        } else if (p3d_args_is(&it, NULL, "--ascii")) {
            ascii = 1;
        } else if (p3d_args_is(&it, NULL, "--mesh")) {
            if (!(v = p3d_args_value(&it))) return P3D_EXIT_USAGE;
            if (strcmp(v, "compact") && strcmp(v, "dense")) return p3d_usage_error("mesh", "--mesh '%s': expected compact or dense", v);
            kind = strcmp(v, "compact") == 0;
        } else if (p3d_args_is(&it, NULL, "--fill")) {
            if (!(v = p3d_args_value(&it))) return P3D_EXIT_USAGE;
            if (p3d_fill_mode_parse(v, &fill) != P3D_OK) return p3d_usage_error("mesh", "%s", p3d_last_error());
        } else if (p3d_args_is(&it, NULL, "--longer-side")) {
            if (!(v = p3d_args_value(&it))) return P3D_EXIT_USAGE;
            char *end;
            long x = strtol(v, &end, 10);
            if (*end || x < 16 || x > 16384) return p3d_usage_error("mesh", "--longer-side '%s': expected an integer in 16..16384", v);
            o.longer_side = (int32_t)x;
        } else if (p3d_args_is(&it, NULL, "--no-border")) {
            o.ldi.border = 0;
        } else if (p3d_args_is(&it, NULL, "--device")) {
            if (!(device = p3d_args_value(&it))) return P3D_EXIT_USAGE;
        } else if (p3d_args_is(&it, NULL, "--model-dir")) {
            if (!(model_dir = p3d_args_value(&it))) return P3D_EXIT_USAGE;
        } else if (p3d_args_is(&it, NULL, "--splats")) {
            if (!(splats = p3d_args_value(&it))) return P3D_EXIT_USAGE;
        } else if (p3d_args_is(&it, NULL, "--dump-ldi")) {
            if (!(dump = p3d_args_value(&it))) return P3D_EXIT_USAGE;
        } else if (p3d_args_is(&it, NULL, "--json")) {
            if (!(json = p3d_args_value(&it))) return P3D_EXIT_USAGE;
        } else if (p3d_args_is(&it, "-q", "--quiet")) {
            quiet = 1;
        } else if (it.positional) {
            if (image) return p3d_usage_error("mesh", "one IMAGE at a time ('%s' and '%s')", image, it.arg);
            image = it.arg;
        } else {
            return p3d_args_unknown(&it);
        }
    }
    if (!image) return p3d_usage_error("mesh", "missing IMAGE");
    if (!depth_path) return p3d_usage_error("mesh", "missing --depth FILE (estimate one with photo3d-gpu depth)");
    char stem[256], default_out[300];
    p3d_path_stem(image, stem, sizeof stem);
    snprintf(default_out, sizeof default_out, "%s.ply", stem);
    if (!out) out = default_out;
    p3d_mesh_format fmt;
    if (p3d_mesh_format_from_path(out, &fmt) != P3D_OK) return p3d_usage_error("mesh", "%s", p3d_last_error());
    if (ascii && fmt != P3D_MESH_PLY_BINARY) return p3d_usage_error("mesh", "--ascii needs a .ply output");
    if (ascii) fmt = P3D_MESH_PLY_ASCII;
    if (kind < 0) kind = fmt == P3D_MESH_GLB;
    if (kind == 1 && fmt != P3D_MESH_GLB) return p3d_usage_error("mesh", "--mesh compact needs a .glb output (PLY holds dense meshes)");
    o.compact = kind;

    p3d_device dev;
    p3d_ctx *ctx = NULL;
    p3d_ldi_nets nets;
    memset(&nets, 0, sizeof nets);
    p3d_depth map;
    memset(&map, 0, sizeof map);
    p3d_photo_result r;
    memset(&r, 0, sizeof r);
    int32_t learned = 0;
    p3d_status st = p3d_device_parse(device, &dev);
    if (st == P3D_OK) st = p3d_device_resolve(&dev);
    if (st == P3D_OK) st = p3d_ctx_init(&ctx, dev);
    if (st == P3D_OK) st = p3d_nets_load(ctx, model_dir, fill, &nets, &learned);
    if (st == P3D_OK && fill == P3D_FILL_AUTO && !learned && !quiet)
        fprintf(stderr, "photo3d-gpu mesh: inpainting weights not installed: using the non-learned fill\n");
    if (st == P3D_OK) st = p3d_depth_read(depth_path, &dopts, &map);
    if (st == P3D_OK) st = p3d_photo_to_mesh(ctx, &nets, image, &map, &o, &r);
    /* The splats first: when the mesh then fails, they go too, so a failure leaves nothing. */
    if (st == P3D_OK && splats) st = p3d_splats_write(&r.ldi, &r.mesh, splats);
    if (st == P3D_OK) {
        st = p3d_mesh_write(kind ? &r.compact : &r.mesh, out, fmt);
        if (st != P3D_OK && splats) remove(splats);
    }
    if (st == P3D_OK && dump) st = dump_ldi(&r.ldi, dump, stem);
    if (st == P3D_OK && json) {
        char dev_name[32];
        st = write_json(json, image, p3d_device_str(dev, dev_name, sizeof dev_name), &r, learned, out);
        /* a failed report fails the photo, which then leaves nothing (the CLI's promise) */
        if (st != P3D_OK) {
            remove(out);
            if (splats) remove(splats);
        }
    }
    if (st == P3D_OK && !quiet) print_report(stem, &r, learned, out);
    p3d_photo_result_free(&r);
    p3d_depth_free(&map);
    p3d_nets_free(&nets);
    p3d_ctx_free(ctx);
    return st == P3D_OK ? P3D_EXIT_OK : p3d_report_failure(st);
}
