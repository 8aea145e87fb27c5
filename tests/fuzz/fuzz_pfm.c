/* fuzz_pfm.c - the PFM depth-map reader (host/io/depth_io.c), through p3d_depth_read as `run`. */
#include "fuzz_common.h"
#include "io/depth_io.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    p3d_fuzz_setup();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = p3d_fuzz_file("map.pfm", data, size);
    p3d_depth_opts o = {P3D_DEPTH_METRIC, 0.5f};
    p3d_depth d;
    if (p3d_depth_read(path, &o, &d) == P3D_OK) {
        int64_t valid = 0;
        for (int64_t i = 0; i < (int64_t)d.width * d.height; i++) valid += d.mask[i] != 0;
        if (valid != d.n_valid) abort();
        p3d_depth_free(&d);
    }
    return 0;
}
