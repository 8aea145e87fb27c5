/* mesh_glb.h - the GLB codec (glTF 2.0 binary); mesh_file.c
 * dispatches to it by name or by the first bytes of a file. */
#ifndef P3D_MESH_GLB_H
#define P3D_MESH_GLB_H

#include <stddef.h>
#include <stdint.h>

#include "mesh/mesh.h"

p3d_status p3d_mesh_write_glb(const p3d_mesh *m, const char *path);
/* The same file's bytes in memory (*data malloc'ed: free() it; name only names the mesh in messages),
 * e.g. to embed the GLB in a web page (pipeline/web_page.h). */
p3d_status p3d_mesh_encode_glb(const p3d_mesh *m, const char *name, uint8_t **data, size_t *len);
/* Parses a whole file already in memory (path only names it in messages). */
p3d_status p3d_mesh_parse_glb(const char *path, const uint8_t *data, size_t len, p3d_mesh *out);

#endif
