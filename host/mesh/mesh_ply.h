/* mesh_ply.h - the PLY codec (ASCII or binary little-endian, also the reference's files); mesh_file.c
 * dispatches to it by name or by the first bytes of a file. */
#ifndef P3D_MESH_PLY_H
#define P3D_MESH_PLY_H

#include <stddef.h>
#include <stdint.h>

#include "mesh/mesh.h"

p3d_status p3d_mesh_write_ply(const p3d_mesh *m, const char *path, int binary);
/* Parses a whole file already in memory (path only names it in messages). */
p3d_status p3d_mesh_parse_ply(const char *path, const uint8_t *data, size_t len, p3d_mesh *out);

#endif
