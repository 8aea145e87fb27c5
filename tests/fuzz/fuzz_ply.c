/* fuzz_ply.c - the PLY reader (ASCII, binary, the reference's layout) through p3d_mesh_read, as
 * `render MESH.ply` and `view` call it. An accepted mesh must only index its own vertices. */
#include "fuzz_common.h"
#include "mesh/mesh.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    p3d_fuzz_setup();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = p3d_fuzz_file("mesh.ply", data, size);
    p3d_mesh m;
    if (p3d_mesh_read(path, &m) == P3D_OK) {
        for (int64_t f = 0; f < 3 * m.n_faces; f++)
            if (m.faces[f] < 0 || (int64_t)m.faces[f] >= m.n_vertices) abort();
        p3d_mesh_free(&m);
    }
    return 0;
}
