/* mesh_impl.h - internal to host/mesh*.c: the file-format halves of mesh.h and what they share. */
#ifndef P3D_MESH_IMPL_H
#define P3D_MESH_IMPL_H

#include <stdio.h>

#include "mesh.h"

/* Most bytes a mesh file may have (the reader loads it whole): 8 GiB. */
#define P3D_MESH_MAX_FILE ((size_t)8 << 30)

/* Checks what every writer needs: counts within int32 indices, face indices in range, finite
 * positions. P3D_ERR_INVALID_ARG naming path. */
p3d_status p3d_mesh_check_for_write(const p3d_mesh *m, const char *path);

/* Shortest text that strtof reads back to exactly v (finite): "%.6g" .. "%.9g", the first that round-
 * trips (like Python's repr, for float32). buf holds at least 32 bytes; returns the length. */
int p3d_mesh_format_float(float v, char *buf);

/* Buffered output to an open FILE (the atomic writer's temporary file). */
typedef struct p3d_mesh_out {
    FILE *f;
    const char *path;
    uint8_t *buf;
    size_t len, cap;
} p3d_mesh_out;
p3d_status p3d_mesh_out_init(p3d_mesh_out *o, FILE *f, const char *path, size_t cap);
p3d_status p3d_mesh_out_put(p3d_mesh_out *o, const void *data, size_t n);
/* Writes what is buffered and frees the buffer (also after a failure). */
p3d_status p3d_mesh_out_finish(p3d_mesh_out *o);

p3d_status p3d_mesh_write_ply(const p3d_mesh *m, const char *path, int binary);
p3d_status p3d_mesh_write_glb(const p3d_mesh *m, const char *path);
/* Parse a whole file already in memory (path only names it in messages). */
p3d_status p3d_mesh_parse_ply(const char *path, const uint8_t *data, size_t len, p3d_mesh *out);
p3d_status p3d_mesh_parse_glb(const char *path, const uint8_t *data, size_t len, p3d_mesh *out);

#endif
