/* fuzz_glb.c - the GLB reader (JSON chunk, accessors, BIN chunk, embedded atlas) through p3d_mesh_read
 * (tests/fuzz/fuzz_mesh.h). */
#include "fuzz_mesh.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    p3d_fuzz_setup();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return p3d_fuzz_mesh("mesh.glb", data, size); }
