/* mesh_format.h - internal to host/mesh/: what the PLY and GLB codecs share (byte order, limits, the
 * writers' checks, float text, buffered output; mesh_format.c, mesh_text.c). */
#ifndef P3D_MESH_FORMAT_H
#define P3D_MESH_FORMAT_H

#include <stdio.h>

#include "mesh/mesh.h"

/* Little-endian 32-bit words of the binary formats, on any host. */
static inline void p3d_put_le32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}
static inline uint32_t p3d_get_le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

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

#endif
