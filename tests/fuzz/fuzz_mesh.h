/* fuzz_mesh.h - the body shared by the mesh-reader harnesses (fuzz_glb.c, fuzz_ply.c): the input goes
 * through p3d_mesh_read as `render MESH` and `view` call it, and an accepted mesh must only index its own
 * vertices, with texture coordinates and atlas present together or not at all. */
#ifndef P3D_FUZZ_MESH_H
#define P3D_FUZZ_MESH_H

#include "fuzz_common.h"
#include "mesh/mesh.h"

/* name: the file name the reader sees (its extension picks the reader, as on the command line). */
static int p3d_fuzz_mesh(const char *name, const uint8_t *data, size_t size) {
    const char *path = p3d_fuzz_file(name, data, size);
    p3d_mesh m;
    if (p3d_mesh_read(path, &m) != P3D_OK) return 0;
    for (int64_t f = 0; f < 3 * m.n_faces; f++)
        if (m.faces[f] < 0 || (int64_t)m.faces[f] >= m.n_vertices) abort();
    if ((m.uv != NULL) != (m.tex != NULL) || (m.tex && (m.tex_w <= 0 || m.tex_h <= 0))) abort();
    p3d_mesh_free(&m);
    return 0;
}

#endif
