/* fuzz_p3dw.c - the weight-blob loader (host/nn/weights.c: header, hyper-parameters, tensor table,
 * alignment and overlap checks) as every network calls it; then every accepted tensor is read whole
 * and every hyper-parameter looked up, so a table that points outside the blob shows up under ASan.
 * The read() path is forced (P3D_WEIGHTS_NO_MMAP) so ASan sees the buffer's bounds. */
#include "fuzz_common.h"
#include "nn/weights.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    p3d_fuzz_setup();
    setenv("P3D_WEIGHTS_NO_MMAP", "1", 1);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = p3d_fuzz_file("model.p3dw", data, size);
    p3d_weights *w = NULL;
    if (p3d_weights_load(path, &w) != P3D_OK) return 0;
    uint8_t acc = 0;
    for (int32_t i = 0; i < p3d_weights_count(w); i++) {
        p3d_tensor t;
        const char *name = p3d_weights_tensor_at(w, i, &t);
        p3d_tensor again;
        if (p3d_weights_get(w, name, &again) != P3D_OK) abort();
        const uint8_t *b = (const uint8_t *)t.data;
        for (size_t k = 0; k < p3d_tensor_nbytes(&t); k++) acc ^= b[k];
    }
    int64_t i64;
    double f64;
    const char *s;
    (void)p3d_weights_hparam_i64(w, "in_channels", &i64);
    (void)p3d_weights_hparam_f64(w, "scale", &f64);
    if (p3d_weights_hparam_str(w, "arch", &s) == P3D_OK) acc ^= (uint8_t)strlen(s);
    (void)acc;
    p3d_weights_free(w);
    return 0;
}
