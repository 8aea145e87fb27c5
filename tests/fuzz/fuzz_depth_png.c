/* fuzz_depth_png.c - 8- and 16-bit greyscale PNG depth maps through p3d_depth_read (the decoder of
 * host/io/image_io.c with the 16-bit samples kept, then the depth conversion). */
#include "fuzz_common.h"
#include "io/depth_io.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    p3d_fuzz_setup();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = p3d_fuzz_file("map.png", data, size);
    p3d_depth d;
    if (p3d_depth_read(path, NULL, &d) == P3D_OK) {
        int64_t valid = 0;
        for (int64_t i = 0; i < (int64_t)d.width * d.height; i++) valid += d.mask[i] != 0;
        if (valid != d.n_valid) abort();
        p3d_depth_free(&d);
    }
    return 0;
}
