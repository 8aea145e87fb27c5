/* cmd_info.c - `photo3d-gpu info`: backends compiled in, GPUs found, models found and where. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/backend.h"
#include "core/models.h"

#ifdef P3D_HAVE_OPENMP
#include <omp.h>
#endif
#ifdef P3D_HAVE_CUDA
#include "p3d_cuda.h"
#endif

static const char *const k_info_help =
    "usage: photo3d-gpu info [--model-dir DIR]\n"
    "\n"
    "Prints the backends compiled into this binary, the CUDA devices found (memory, compute\n"
    "capability) and which model blobs are installed, with where they were found.\n"
    "\n"
    "  --model-dir DIR   look for models in DIR first (then $P3D_MODEL_DIR, then the user cache)\n";

static void print_backends(void) {
    int threads = 1;
#ifdef P3D_HAVE_OPENMP
    threads = omp_get_max_threads();
#endif
    printf("backends:\n");
    printf("  cpu   OpenMP %s (%d threads), OpenBLAS %s\n",
#ifdef P3D_HAVE_OPENMP
           "yes",
#else
           "no",
#endif
           threads,
#ifdef P3D_HAVE_OPENBLAS
           "yes"
#else
           "no"
#endif
    );
#ifdef P3D_HAVE_CUDA
    p3d_cuda_versions v;
    p3d_cuda_versions_get(&v);
    printf("  cuda  runtime %d.%d, driver %s, cuDNN %lld, cuBLAS %d.%d.%d\n", v.runtime / 1000,
           (v.runtime % 1000) / 10, v.driver ? "" : "none", (long long)v.cudnn, v.cublas / 10000,
           (v.cublas / 100) % 100, v.cublas % 100);
    if (v.driver) printf("        driver API %d.%d\n", v.driver / 1000, (v.driver % 1000) / 10);
#else
    printf("  cuda  not compiled in (rebuild with -DP3D_CUDA=ON on a machine with the CUDA toolkit)\n");
#endif
    printf("  video FFmpeg libraries %s\n",
#ifdef P3D_HAVE_FFMPEG
           "yes"
#else
           "no"
#endif
    );
}

static void print_gpus(void) {
    printf("GPUs:\n");
#ifdef P3D_HAVE_CUDA
    int32_t n = 0;
    const char *why = "";
    p3d_cuda_device_count(&n, &why);
    if (n == 0) {
        printf("  none (%s)\n", why);
        return;
    }
    for (int32_t i = 0; i < n; i++) {
        p3d_cuda_device_info d;
        if (p3d_cuda_device_info_get(i, &d) != P3D_OK) {
            printf("  cuda:%d  (query failed: %s)\n", (int)i, p3d_last_error());
            continue;
        }
        printf("  cuda:%d  %s, %.1f GiB (%.1f GiB free), compute capability %d.%d, %d SMs\n", (int)i, d.name,
               (double)d.total_mem / (1 << 30), (double)d.free_mem / (1 << 30), (int)d.cc_major,
               (int)d.cc_minor, (int)d.sm_count);
    }
#else
    printf("  not queried (no CUDA backend)\n");
#endif
}

static void print_models(const char *model_dir) {
    char dirs[P3D_MAX_MODEL_DIRS][1024];
    int32_t nd = p3d_model_dirs(model_dir, dirs);
    printf("models (search path:");
    for (int32_t i = 0; i < nd; i++) printf(" %s", dirs[i]);
    printf("):\n");
    int32_t n = 0;
    const p3d_model_desc *m = p3d_models_known(&n);
    for (int32_t i = 0; i < n; i++) {
        char path[1100];
        if (p3d_model_find(model_dir, &m[i], path, sizeof path))
            printf("  %-13s %s\n", m[i].name, path);
        else
            printf("  %-13s not installed (%s; %s)\n", m[i].name, m[i].file, m[i].purpose);
    }
}

int p3d_cmd_info(int argc, char **argv) {
    const char *model_dir = NULL;
    p3d_args it;
    p3d_args_init(&it, argc, argv);
    while (p3d_args_next(&it)) {
        if (p3d_args_is(&it, "-h", "--help")) {
            fputs(k_info_help, stdout);
            return P3D_EXIT_OK;
        } else if (p3d_args_is(&it, NULL, "--model-dir")) {
            if (!(model_dir = p3d_args_value(&it))) return P3D_EXIT_USAGE;
        } else if (it.positional) {
            return p3d_usage_error("info", "unexpected argument '%s'", it.arg);
        } else {
            return p3d_args_unknown(&it);
        }
    }
    printf("photo3d-gpu %s\n", P3D_VERSION);
    print_backends();
    print_gpus();
    print_models(model_dir);
    return P3D_EXIT_OK;
}
