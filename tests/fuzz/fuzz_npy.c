/* fuzz_npy.c - the .npy reader (host/io/npy.c) and, on the same bytes, the depth-map reader that
 * `run --depth FILE.npy` uses on top of it. */
#include "fuzz_common.h"
#include "io/depth_io.h"
#include "io/npy.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    p3d_fuzz_setup();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = p3d_fuzz_file("map.npy", data, size);
    p3d_tensor t;
    p3d_dtype dt;
    if (p3d_npy_read(path, &t, &dt) == P3D_OK) {
        float acc = 0;
        for (int64_t i = 0; i < p3d_tensor_numel(&t); i++) acc += ((const float *)t.data)[i];
        (void)acc;
        p3d_npy_free(&t);
    }
    p3d_depth d;
    if (p3d_depth_read(path, NULL, &d) == P3D_OK) p3d_depth_free(&d);
    return 0;
}
