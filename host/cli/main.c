/* main.c - the photo3d-gpu command: global options, then one subcommand.
 *
 * Only implemented subcommands are in the table below, so --help never advertises a stage that
 * does not exist yet. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/file_io.h"
#include "core/interrupt.h"

typedef struct p3d_subcommand {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
} p3d_subcommand;

static const p3d_subcommand k_commands[] = {
    {"run", p3d_cmd_run, "photos -> depth, inpainted 3D photo mesh and parallax videos (the whole job)"},
    {"info", p3d_cmd_info, "backends compiled in, GPUs found, models installed"},
    {"depth", p3d_cmd_depth, "estimate disparity for photos (Tiefenrausch INT8)"},
    {"net", p3d_cmd_net, "run one inpainting network (edge, depth, color) on .npy inputs"},
    {"prepare", p3d_cmd_prepare, "resample a photo and its depth map to the processing size"},
    {"mesh", p3d_cmd_mesh, "photo + depth map -> inpainted layered depth image -> mesh (PLY, GLB)"},
    {"render", p3d_cmd_render, "render a mesh's parallax videos (MP4) or stills"},
    {"export", p3d_cmd_export, "a mesh as a self-contained web page with motion parallax (--web DIR)"},
    {"view", p3d_cmd_view, "show a mesh (or a photo, made 3D first) in a window with motion parallax"},
    {"models", p3d_cmd_models, "models known, where they are installed, how to get the missing ones"},
    {"inputs", p3d_cmd_inputs, "the photos a run would process (folders, @lists, --shard K/N preview)"},
};
#define P3D_N_COMMANDS ((int)(sizeof k_commands / sizeof k_commands[0]))

static void print_help(FILE *f) {
    fprintf(f,
            "photo3d-gpu %s - one photo (with or without a depth map) to a 3D photo:\n"
            "a layered depth image with inpainted hidden layers, a mesh and parallax videos.\n"
            "\n"
            "usage: photo3d-gpu [-q|--quiet] [-v|--verbose] [--max-pixels N] COMMAND [ARGS...]\n"
            "       photo3d-gpu --help | --version\n"
            "\n"
            "  --max-pixels N   refuse photos and depth maps larger than N pixels (checked on the file's\n"
            "                   header, before decoding); default 268M = 2^28 (16384 x 16384), sized so a\n"
            "                   run's two photos in flight fit a 24 GB machine. N: 268M, 268435456, 16384x16384\n"
            "\n"
            "commands:\n",
            P3D_VERSION);
    for (int i = 0; i < P3D_N_COMMANDS; i++) fprintf(f, "  %-10s %s\n", k_commands[i].name, k_commands[i].summary);
    fprintf(f, "\n'photo3d-gpu COMMAND --help' describes a command's options.\n");
}

int main(int argc, char **argv) {
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            print_help(stdout);
            return P3D_EXIT_OK;
        } else if (strcmp(a, "--version") == 0) {
            printf("photo3d-gpu %s\n", P3D_VERSION);
            return P3D_EXIT_OK;
        } else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
            p3d_log_set_level(P3D_LOG_WARN);
        } else if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
            p3d_log_set_level(P3D_LOG_DEBUG);
        } else if (strcmp(a, "--max-pixels") == 0) {
            int64_t n = 0;
            if (i + 1 >= argc) (void)p3d_fail(P3D_ERR_INVALID_ARG, "--max-pixels needs a value");
            if (i + 1 >= argc || p3d_max_pixels_parse(argv[++i], &n) != P3D_OK) {
                fprintf(stderr, "photo3d-gpu: %s (see photo3d-gpu --help)\n", p3d_last_error());
                return P3D_EXIT_USAGE;
            }
            p3d_set_max_pixels(n);
        } else {
            fprintf(stderr, "photo3d-gpu: unknown option '%s'\n\n", a);
            print_help(stderr);
            return P3D_EXIT_USAGE;
        }
    }
    if (i >= argc) {
        print_help(stderr);
        return P3D_EXIT_USAGE;
    }
    /* Ctrl-C / SIGTERM end any command without leaving a temporary file behind (interrupt.h);
     * batch commands switch to flag mode to stop between steps. */
    p3d_status st = p3d_interrupt_install(P3D_INTERRUPT_EXIT);
    if (st != P3D_OK) return p3d_report_failure(st);
    for (int c = 0; c < P3D_N_COMMANDS; c++)
        if (strcmp(argv[i], k_commands[c].name) == 0) return k_commands[c].fn(argc - i, argv + i);
    fprintf(stderr, "photo3d-gpu: unknown command '%s'\n\n", argv[i]);
    print_help(stderr);
    return P3D_EXIT_USAGE;
}
