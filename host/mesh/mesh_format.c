/* mesh_format.c - what the PLY and GLB writers share: the checks before writing and the buffered
 * output (mesh_format.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/file_io.h"
#include "mesh/mesh_format.h"

p3d_status p3d_mesh_check_for_write(const p3d_mesh *m, const char *path) {
    if (m->n_vertices < 0 || m->n_vertices > INT32_MAX || m->n_faces < 0 || m->n_faces > UINT32_MAX / 3)
        return p3d_fail(P3D_ERR_INVALID_ARG, "%s: mesh with %lld vertices and %lld faces cannot be written", path,
                        (long long)m->n_vertices, (long long)m->n_faces);
    if ((m->n_vertices && (!m->xyz || !m->rgba)) || (m->n_faces && !m->faces))
        return p3d_fail(P3D_ERR_INVALID_ARG, "%s: mesh arrays missing", path);
    for (int64_t i = 0; i < 3 * m->n_vertices; i++)
        if (!isfinite(m->xyz[i]))
            return p3d_fail(P3D_ERR_INVALID_ARG, "%s: vertex %lld has a non-finite coordinate", path, (long long)(i / 3));
    for (int64_t i = 0; i < 3 * m->n_faces; i++)
        if (m->faces[i] < 0 || m->faces[i] >= m->n_vertices)
            return p3d_fail(P3D_ERR_INVALID_ARG, "%s: face %lld uses vertex %d of %lld", path, (long long)(i / 3),
                            (int)m->faces[i], (long long)m->n_vertices);
    for (int64_t i = 0; m->uv && i < 2 * m->n_vertices; i++)
        if (!isfinite(m->uv[i]))
            return p3d_fail(P3D_ERR_INVALID_ARG, "%s: vertex %lld has non-finite texture coordinates", path, (long long)(i / 2));
    if (!isfinite(m->hfov) || !isfinite(m->vfov))
        return p3d_fail(P3D_ERR_INVALID_ARG, "%s: non-finite field of view", path);
    return P3D_OK;
}

p3d_status p3d_mesh_out_init(p3d_mesh_out *o, FILE *f, const char *path, size_t cap) {
    o->f = f;
    o->path = path;
    o->len = 0;
    o->cap = cap;
    o->buf = (uint8_t *)malloc(cap);
    if (!o->buf) return p3d_fail(P3D_ERR_OOM, "%s: out of memory for the write buffer", path);
    return P3D_OK;
}

p3d_status p3d_mesh_out_put(p3d_mesh_out *o, const void *data, size_t n) {
    if (o->len + n > o->cap) {
        P3D_TRY(p3d_file_put(o->f, o->path, o->buf, o->len));
        o->len = 0;
        if (n > o->cap) return p3d_file_put(o->f, o->path, data, n);
    }
    memcpy(o->buf + o->len, data, n);
    o->len += n;
    return P3D_OK;
}

p3d_status p3d_mesh_out_finish(p3d_mesh_out *o) {
    p3d_status st = o->buf ? p3d_file_put(o->f, o->path, o->buf, o->len) : P3D_OK;
    free(o->buf);
    o->buf = NULL;
    o->len = 0;
    return st;
}

