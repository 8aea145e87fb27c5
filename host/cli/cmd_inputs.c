/* cmd_inputs.c - `photo3d-gpu inputs`: the photos a run would process, after expansion, name checks,
 * depth matching and sharding; previews how a farm splits the work (tools/slurm_farm.sh). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/inputs.h"

static const char *const k_inputs_help =
    "usage: photo3d-gpu inputs INPUT... [--shard K/N] [--depth-dir DIR] [--depth FILE]\n"
    "                          [--img-format .EXT] [--specific NAME]\n"
    "\n"
    "Prints the photos `run` would process from the same INPUT arguments, one per line on stdout: the\n"
    "path, and with --depth-dir / --depth a tab and the matched depth map ('-' when none).\n"
    "\n"
    "  INPUT             an image, a folder (its .jpg .jpeg .png .bmp .tga .pgm .ppm files, sorted by\n"
    "                    name, not recursive) or @LIST (one path per line, '#' comments, relative\n"
    "                    paths relative to LIST's folder)\n"
    "  --shard K/N       only shard K of N (0 <= K < N): inputs are assigned by a hash of their\n"
    "                    name (file name without extension), so the N shards are disjoint, cover\n"
    "                    every input and do not depend on the listing's order or the working directory\n"
    "  --depth-dir DIR   match DIR/NAME.npy, .png or .pfm (else NAME_disp.*, NAME_depth.*) to each\n"
    "                    photo; inputs that are another photo's map are dropped\n"
    "  --depth FILE      the depth map of the only INPUT\n"
    "  --img-format .EXT folders: only files with this extension (argument.yml's img_format)\n"
    "  --specific NAME   only the photo with this file name or stem (argument.yml's specific)\n"
    "\n"
    "Inputs that do not exist, and photos whose name another one already has, are listed on stderr\n"
    "at the end. Exit status: 0 all usable, 3 some inputs are not, 2 usage (bad --shard, unreadable\n"
    "@LIST), 1 other failures.\n";

int p3d_cmd_inputs(int argc, char **argv) {
    const char *depth_dir = NULL, *depth_file = NULL, *shard = NULL;
    p3d_inputs_opts opts = {NULL, NULL};
    p3d_input_list l;
    p3d_inputs_init(&l);
    /* The positionals are expanded after the scan, once the options (img_format, specific) are known. */
    const char **args = (const char **)calloc((size_t)argc, sizeof *args);
    if (!args) return p3d_report_failure(p3d_fail(P3D_ERR_OOM, "out of memory"));
    int32_t n_args = 0;
    int rc = -1;
    p3d_status st = P3D_OK;
    p3d_args it;
    p3d_args_init(&it, argc, argv);
    while (rc < 0 && st == P3D_OK && p3d_args_next(&it)) {
        if (p3d_args_is(&it, "-h", "--help")) {
            fputs(k_inputs_help, stdout);
            rc = P3D_EXIT_OK;
        } else if (p3d_args_is(&it, NULL, "--shard")) {
            if (!(shard = p3d_args_value(&it))) rc = P3D_EXIT_USAGE;
        } else if (p3d_args_is(&it, NULL, "--depth-dir")) {
            if (!(depth_dir = p3d_args_value(&it))) rc = P3D_EXIT_USAGE;
        } else if (p3d_args_is(&it, NULL, "--depth")) {
            if (!(depth_file = p3d_args_value(&it))) rc = P3D_EXIT_USAGE;
        } else if (p3d_args_is(&it, NULL, "--img-format")) {
            if (!(opts.img_format = p3d_args_value(&it))) rc = P3D_EXIT_USAGE;
        } else if (p3d_args_is(&it, NULL, "--specific")) {
            if (!(opts.specific = p3d_args_value(&it))) rc = P3D_EXIT_USAGE;
        } else if (it.positional) {
            args[n_args++] = it.arg;
        } else {
            rc = p3d_args_unknown(&it);
        }
    }
    if (rc < 0 && n_args == 0) rc = p3d_usage_error("inputs", "no INPUT given");
    uint32_t k = 0, n = 1;
    if (rc < 0 && shard) st = p3d_shard_parse(shard, &k, &n);
    for (int32_t i = 0; rc < 0 && st == P3D_OK && i < n_args; i++) st = p3d_inputs_add(&l, args[i], &opts);
    if (rc < 0 && st == P3D_OK && depth_file) st = p3d_inputs_set_depth(&l, depth_file);
    if (rc < 0 && st == P3D_OK && depth_dir) st = p3d_inputs_match_depth(&l, depth_dir, NULL);
    if (rc < 0 && st != P3D_OK) rc = p3d_report_failure(st);
    if (rc < 0) {
        if (shard) p3d_inputs_shard(&l, k, n);
        for (int32_t i = 0; i < l.count; i++) {
            if (depth_dir || depth_file) printf("%s\t%s\n", l.items[i].path, l.items[i].depth ? l.items[i].depth : "-");
            else printf("%s\n", l.items[i].path);
        }
        if (fflush(stdout) != 0) rc = p3d_report_failure(p3d_fail(P3D_ERR_IO, "stdout: write failed"));
        else if (l.n_problems) {
            fprintf(stderr, "photo3d-gpu inputs: %d input(s) cannot be processed:\n", (int)l.n_problems);
            for (int32_t i = 0; i < l.n_problems; i++) fprintf(stderr, "  %s\n", l.problems[i]);
            rc = P3D_EXIT_PARTIAL;
        } else {
            rc = P3D_EXIT_OK;
        }
    }
    p3d_inputs_free(&l);
    free(args);
    return rc;
}
