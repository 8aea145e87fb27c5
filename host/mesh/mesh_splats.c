/* mesh_splats.c - the LDI as 3D Gaussian splats in the 3DGS PLY layout (mesh_splats.h). */
#include "mesh/mesh_splats.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/file_io.h"
#include "mesh/mesh_format.h"

#define SPLAT_FLOATS 17
#define SH_C0 0.28209479177387814 /* the degree-0 spherical harmonic, 1 / (2 sqrt(pi)) */

typedef struct splat_job {
    const p3d_ldi *l;
    const p3d_mesh *m;
    const char *path;
} splat_job;

static p3d_status write_splats_body(FILE *f, void *user) {
    const splat_job *job = (const splat_job *)user;
    const p3d_ldi *l = job->l;
    const p3d_mesh *m = job->m;
    static const char *const names[SPLAT_FLOATS] = {"x", "y", "z", "nx", "ny", "nz", "f_dc_0", "f_dc_1", "f_dc_2",
                                                    "opacity", "scale_0", "scale_1", "scale_2", "rot_0", "rot_1",
                                                    "rot_2", "rot_3"};
    char hf[32], vf[32], head[1024];
    p3d_mesh_format_float(m->hfov, hf);
    p3d_mesh_format_float(m->vfov, vf);
    int n = snprintf(head, sizeof head, "ply\nformat binary_little_endian 1.0\ncomment H %d\ncomment W %d\n"
                     "comment hFov %s\ncomment vFov %s\nelement vertex %lld\n", (int)m->height, (int)m->width, hf, vf,
                     (long long)l->n_nodes);
    for (int32_t k = 0; k < SPLAT_FLOATS; k++) n += snprintf(head + n, sizeof head - (size_t)n, "property float %s\n", names[k]);
    n += snprintf(head + n, sizeof head - (size_t)n, "end_header\n");
    p3d_mesh_out o;
    P3D_TRY(p3d_mesh_out_init(&o, f, job->path, (size_t)1 << 20));
    p3d_status st = p3d_mesh_out_put(&o, head, (size_t)n);
    const float opacity = (float)log(0.99 / 0.01);
    for (int32_t i = 0; i < l->n_nodes && st == P3D_OK; i++) {
        float v[SPLAT_FLOATS];
        memcpy(v, m->xyz + 3 * (size_t)i, 3 * sizeof(float));
        v[3] = v[4] = v[5] = 0.0f;
        for (int32_t k = 0; k < 3; k++) v[6 + k] = (float)(((double)l->rgb[3 * (size_t)i + k] / 255.0 - 0.5) / SH_C0);
        v[9] = opacity;
        const double sx = (double)l->depth[i] / l->cam.fx, sy = (double)l->depth[i] / l->cam.fy;
        v[10] = (float)log(0.6 * sx);
        v[11] = (float)log(0.6 * sy);
        v[12] = (float)log(0.06 * (sx < sy ? sx : sy));
        v[13] = 1.0f;
        v[14] = v[15] = v[16] = 0.0f;
        uint8_t rec[4 * SPLAT_FLOATS];
        for (int32_t k = 0; k < SPLAT_FLOATS; k++) {
            uint32_t bits;
            memcpy(&bits, &v[k], 4);
            p3d_put_le32(rec + 4 * k, bits);
        }
        st = p3d_mesh_out_put(&o, rec, sizeof rec);
    }
    p3d_status fin = p3d_mesh_out_finish(&o);
    return st != P3D_OK ? st : fin;
}

p3d_status p3d_splats_write(const p3d_ldi *l, const p3d_mesh *dense, const char *path) {
    if (dense->n_vertices != l->n_nodes || dense->uv)
        return p3d_fail(P3D_ERR_INVALID_ARG, "%s: splats need the LDI's dense mesh (%lld vertices for %d nodes)", path,
                        (long long)dense->n_vertices, (int)l->n_nodes);
    P3D_TRY(p3d_mesh_check_for_write(dense, path));
    splat_job job = {l, dense, path};
    return p3d_file_write_atomic_fn(path, write_splats_body, &job);
}
