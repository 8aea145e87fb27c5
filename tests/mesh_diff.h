/* mesh_diff.h - two dense meshes (mesh/mesh.h) compared node by node, for the CPU-vs-CUDA tests: vertex
 * i of one mesh is LDI node i in both (p3d_mesh_from_ldi), so positions and colours pair up by index
 * where the vertex counts agree, and the face lists must then be the same list.
 *
 *   p3d_t_mesh_diff d;
 *   p3d_t_mesh_compare(&cpu_mesh, &gpu_mesh, 1e-4, 1, &d);
 *   p3d_t_mesh_diff_print("learned fill", &d);
 *   CHECK(p3d_t_mesh_identical(&d));       // byte for byte
 *   CHECK(d.same_size && d.outside == 0);  // or within (pos_tol, rgb_tol) */
#ifndef P3D_TEST_MESH_DIFF_H
#define P3D_TEST_MESH_DIFF_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mesh/mesh.h"

typedef struct p3d_t_mesh_diff {
    int64_t n_vertices[2], n_faces[2];
    int32_t same_size;     /* vertex and face counts agree (the per-vertex figures below need it) */
    int64_t faces_differ;  /* faces whose three indices differ (same_size only) */
    int64_t faces_flipped; /* of those, faces that share two vertices with the other mesh's face at the same
                              place: the cell cut along its other diagonal (mesh_math.h picks the diagonal
                              with the smaller disparity jump, so a near tie may go either way) */
    double pos_max, pos_mean; /* |a - b| / |z of a| over x, y and z of every vertex */
    int32_t rgb_max;       /* largest difference of one colour channel, in 8-bit levels */
    double rgb_mean;       /* mean absolute difference per channel, in levels */
    int64_t label_differ;  /* vertices whose provenance label (alpha) differs */
    int64_t outside;       /* vertices beyond pos_tol or rgb_tol in any coordinate or channel, or with another label */
    int32_t bytes_equal;   /* positions, colours, labels and faces equal byte for byte (same_size only) */
} p3d_t_mesh_diff;

static inline void p3d_t_mesh_compare(const p3d_mesh *a, const p3d_mesh *b, double pos_tol, int32_t rgb_tol,
                                      p3d_t_mesh_diff *d) {
    memset(d, 0, sizeof *d);
    d->n_vertices[0] = a->n_vertices, d->n_vertices[1] = b->n_vertices;
    d->n_faces[0] = a->n_faces, d->n_faces[1] = b->n_faces;
    d->same_size = a->n_vertices == b->n_vertices && a->n_faces == b->n_faces;
    if (!d->same_size) return;
    double pos_sum = 0, rgb_sum = 0;
    for (int64_t i = 0; i < a->n_vertices; i++) {
        int32_t off = a->rgba[4 * i + 3] != b->rgba[4 * i + 3];
        d->label_differ += off;
        const double z = fabs((double)a->xyz[3 * i + 2]);
        for (int32_t k = 0; k < 3; k++) {
            const double p = fabs((double)a->xyz[3 * i + k] - (double)b->xyz[3 * i + k]) / (z > 0 ? z : 1.0);
            const int32_t c = abs((int32_t)a->rgba[4 * i + k] - (int32_t)b->rgba[4 * i + k]);
            d->pos_max = p > d->pos_max || p != p ? p : d->pos_max;
            d->rgb_max = c > d->rgb_max ? c : d->rgb_max;
            pos_sum += p;
            rgb_sum += c;
            off |= !(p <= pos_tol) || c > rgb_tol;
        }
        d->outside += off;
    }
    const double n = a->n_vertices > 0 ? 3.0 * (double)a->n_vertices : 1.0;
    d->pos_mean = pos_sum / n;
    d->rgb_mean = rgb_sum / n;
    for (int64_t f = 0; f < a->n_faces; f++) {
        const int32_t *fa = a->faces + 3 * f, *fb = b->faces + 3 * f;
        if (!memcmp(fa, fb, 3 * sizeof(int32_t))) continue;
        d->faces_differ++;
        int32_t shared = 0;
        for (int32_t i = 0; i < 3; i++) shared += fa[i] == fb[0] || fa[i] == fb[1] || fa[i] == fb[2];
        d->faces_flipped += shared == 2;
    }
    d->bytes_equal = !memcmp(a->xyz, b->xyz, (size_t)a->n_vertices * 3 * sizeof(float)) &&
                     !memcmp(a->rgba, b->rgba, (size_t)a->n_vertices * 4) && d->faces_differ == 0;
}

/* Byte for byte: same counts, positions, colours, labels and faces. */
static inline int p3d_t_mesh_identical(const p3d_t_mesh_diff *d) { return d->same_size && d->bytes_equal; }

static inline void p3d_t_mesh_diff_print(const char *what, const p3d_t_mesh_diff *d) {
    if (!d->same_size) {
        printf("  %s: %lld vs %lld vertices, %lld vs %lld faces\n", what, (long long)d->n_vertices[0],
               (long long)d->n_vertices[1], (long long)d->n_faces[0], (long long)d->n_faces[1]);
        return;
    }
    printf("  %s: %lld vertices, %lld faces; position / depth max %.3g mean %.3g; colour max %d mean %.3g levels; "
           "%lld labels and %lld faces differ (%lld by the other diagonal); %lld vertices outside the tolerance\n",
           what, (long long)d->n_vertices[0], (long long)d->n_faces[0], d->pos_max, d->pos_mean, (int)d->rgb_max,
           d->rgb_mean, (long long)d->label_differ, (long long)d->faces_differ, (long long)d->faces_flipped, (long long)d->outside);
}

#endif
