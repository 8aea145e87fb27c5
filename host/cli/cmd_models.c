/* cmd_models.c - `photo3d-gpu models`: which models are installed, what each is for, how to get the
 * missing ones. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "core/models.h"
#include "pipeline/config.h"

static const char *const k_models_help =
    "usage: photo3d-gpu models [--model-dir DIR] [--config FILE] [--set KEY=VALUE ...]\n"
    "\n"
    "Lists the models photo3d-gpu knows: where each was found (or 'missing'), its size, what it is\n"
    "for and the command that installs it. Models (NAME.p3dw) are looked for in --model-dir DIR, then\n"
    "$P3D_MODEL_DIR, then ${XDG_CACHE_HOME:-~/.cache}/photo3d-gpu/models; the inpainting and MiDaS v1\n"
    "weights also where the configuration's *_ckpt keys point (--config / --set, as for run).\n"
    "Without the three inpainting networks, run fills hidden layers with the non-learned fill.\n";

/* The search directories with where each comes from. */
static void print_search_path(const char *model_dir) {
    char dirs[P3D_MAX_MODEL_DIRS][1024];
    int32_t nd = p3d_model_dirs(model_dir, dirs);
    const char *env = getenv("P3D_MODEL_DIR");
    int32_t i = 0;
    printf("model search path (first hit wins):\n");
    if (model_dir && model_dir[0]) printf("  %s   (--model-dir)\n", dirs[i++]);
    if (env && env[0]) printf("  %s   ($P3D_MODEL_DIR)\n", dirs[i++]);
    for (; i < nd; i++) printf("  %s   (per-user cache)\n", dirs[i]);
    if (nd == 0) printf("  (none: neither --model-dir, $P3D_MODEL_DIR, $XDG_CACHE_HOME nor $HOME is set)\n");
}

/* "DIR" in the install command replaced by the first search directory. */
static void print_obtain(const char *obtain, const char *dir) {
    const char *at = strstr(obtain, "DIR");
    if (!at) {
        printf("    get it:   %s\n", obtain);
        return;
    }
    printf("    get it:   %.*s%s%s\n", (int)(at - obtain), obtain, dir, at + 3);
}

/* "installed" or why the file found is not usable. */
static const char *check_blob(const char *path, long long *size) {
    struct stat st;
    if (stat(path, &st) != 0) return "unreadable";
    *size = (long long)st.st_size;
    FILE *f = fopen(path, "rb");
    char magic[4] = {0};
    size_t got = f ? fread(magic, 1, 4, f) : 0;
    if (f) fclose(f);
    if (got != 4 || memcmp(magic, "P3DW", 4) != 0) return "not a p3dw blob";
    return "installed";
}

int p3d_cmd_models(int argc, char **argv) {
    const char *model_dir = NULL;
    p3d_config cfg;
    p3d_config_defaults(&cfg);
    p3d_args it;
    p3d_args_init(&it, argc, argv);
    while (p3d_args_next(&it)) {
        const char *v = NULL;
        if (p3d_args_is(&it, "-h", "--help")) {
            fputs(k_models_help, stdout);
            return P3D_EXIT_OK;
        } else if (p3d_args_is(&it, NULL, "--model-dir")) {
            if (!(model_dir = p3d_args_value(&it))) return P3D_EXIT_USAGE;
        } else if (p3d_args_is(&it, NULL, "--config")) {
            if (!(v = p3d_args_value(&it))) return P3D_EXIT_USAGE;
            p3d_status st = p3d_config_load_file(&cfg, v);
            if (st != P3D_OK) return p3d_report_failure(st);
        } else if (p3d_args_is(&it, NULL, "--set")) {
            if (!(v = p3d_args_value(&it))) return P3D_EXIT_USAGE;
            p3d_status st = p3d_config_set(&cfg, v);
            if (st != P3D_OK) return p3d_report_failure(st);
        } else if (it.positional) {
            return p3d_usage_error("models", "unexpected argument '%s'", it.arg);
        } else {
            return p3d_args_unknown(&it);
        }
    }
    print_search_path(model_dir);
    char dirs[P3D_MAX_MODEL_DIRS][1024];
    const char *first_dir = p3d_model_dirs(model_dir, dirs) > 0 ? dirs[0] : "MODEL_DIR";

    int32_t n = 0, inpaint_found = 0;
    const p3d_model_desc *m = p3d_models_known(&n);
    printf("\n");
    for (int32_t i = 0; i < n; i++) {
        char path[1200], why[2048];
        int found = 0;
        p3d_status st = p3d_config_find_model(&cfg, m[i].name, model_dir, path, sizeof path, &found, why, sizeof why);
        long long size = 0;
        const char *state = found ? check_blob(path, &size) : "missing";
        int usable = found && strcmp(state, "installed") == 0;
        if (st != P3D_OK)
            printf("%-13s %s\n", m[i].name, p3d_last_error()); /* a configured .p3dw that does not exist */
        else if (found)
            printf("%-13s %-16s %8.1f MB  %s\n", m[i].name, state, (double)size / 1e6, path);
        else
            printf("%-13s %s\n", m[i].name, state);
        printf("    for:      %s\n", m[i].purpose);
        if (!usable) {
            printf("    from:     %s\n", m[i].source);
            print_obtain(m[i].obtain, first_dir);
        }
        if (usable && (strcmp(m[i].name, "edge") == 0 || strcmp(m[i].name, "depth") == 0 ||
                       strcmp(m[i].name, "color") == 0))
            inpaint_found++;
    }
    if (inpaint_found < 3)
        printf("\ninpainting: %d of the 3 networks installed: run uses the non-learned fill (fill: classic) and "
               "says so once.\n",
               (int)inpaint_found);
    else
        printf("\ninpainting: the 3 networks are installed (fill: auto uses them).\n");
    return P3D_EXIT_OK;
}
