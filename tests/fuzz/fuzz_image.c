/* fuzz_image.c - the photo decoder (JPEG with EXIF orientation, PNG 8/16-bit) as `run` calls it,
 * with the 16-bit samples kept as the depth reader asks; and the EXIF scanner on the raw bytes. */
#include "fuzz_common.h"
#include "io/image_io.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    p3d_fuzz_setup();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    int32_t o = p3d_exif_orientation(data, size);
    if (o < 1 || o > 8) abort();
    const char *path = p3d_fuzz_file("photo", data, size);
    p3d_image img;
    if (p3d_image_read(path, P3D_IMAGE_KEEP_16BIT, &img) == P3D_OK) {
        /* touch every pixel: a decoder that returned a short buffer shows up under ASan */
        uint32_t sum = 0;
        size_t n = (size_t)img.width * (size_t)img.height * 3;
        for (size_t i = 0; i < n; i++) sum += img.rgb[i] + (img.rgb16 ? img.rgb16[i] : 0u);
        if (img.width <= 0 || img.height <= 0 || (sum == 0xffffffffu && n == 0)) abort();
        p3d_image_free(&img);
    }
    return 0;
}
