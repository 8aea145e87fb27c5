/* mesh_file.c - the mesh's files by name (mesh_file.h): the format from the extension, the writer
 * for a format, the reader from the file's first bytes. */
#include "mesh/mesh_file.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "core/file_io.h"
#include "mesh/mesh_format.h"
#include "mesh/mesh_glb.h"
#include "mesh/mesh_ply.h"

p3d_status p3d_mesh_format_from_path(const char *path, p3d_mesh_format *out) {
    const char *dot = strrchr(path, '.'), *slash = strrchr(path, '/');
    char ext[8] = {0};
    if (dot && (!slash || dot > slash) && strlen(dot + 1) < sizeof ext)
        for (size_t i = 0; dot[1 + i]; i++) ext[i] = (char)tolower((unsigned char)dot[1 + i]);
    if (!strcmp(ext, "glb")) *out = P3D_MESH_GLB;
    else if (!strcmp(ext, "ply")) *out = P3D_MESH_PLY_BINARY;
    else return p3d_fail(P3D_ERR_INVALID_ARG, "%s: unknown mesh file type (use .ply or .glb)", path);
    return P3D_OK;
}

p3d_status p3d_mesh_write(const p3d_mesh *m, const char *path, p3d_mesh_format fmt) {
    if (m->uv && fmt != P3D_MESH_GLB)
        return p3d_fail(P3D_ERR_INVALID_ARG, "%s: PLY holds dense vertex-colour meshes; write the compact (textured) "
                        "mesh as .glb", path);
    switch (fmt) {
    case P3D_MESH_PLY_BINARY: return p3d_mesh_write_ply(m, path, 1);
    case P3D_MESH_PLY_ASCII: return p3d_mesh_write_ply(m, path, 0);
    case P3D_MESH_GLB: return p3d_mesh_write_glb(m, path);
    }
    return p3d_fail(P3D_ERR_INVALID_ARG, "%s: unknown mesh format %d", path, (int)fmt);
}

p3d_status p3d_mesh_read(const char *path, p3d_mesh *out) {
    memset(out, 0, sizeof *out);
    uint8_t *data = NULL;
    size_t len = 0;
    P3D_TRY(p3d_file_read(path, P3D_MESH_MAX_FILE, &data, &len));
    p3d_status st;
    if (len >= 4 && !memcmp(data, "glTF", 4)) st = p3d_mesh_parse_glb(path, data, len, out);
    else if (len >= 4 && (!memcmp(data, "ply\n", 4) || (len >= 5 && !memcmp(data, "ply\r\n", 5))))
        st = p3d_mesh_parse_ply(path, data, len, out);
    else st = p3d_fail(P3D_ERR_FORMAT, "%s: not a mesh file (neither PLY nor GLB)", path);
    free(data);
    if (st != P3D_OK) p3d_mesh_free(out);
    return st;
}
