/* test_nets.h - the inpainting nets' random-weight blobs for the tests: tools/make_test_weights.py
 * writes them to $P3D_BUILD_DIR/testdata/<kind>-random.p3dw (the ctest fixture inpaint_test_weights).
 *
 * Fully random nets predict noise: every synthesised pixel becomes a depth edge of the next pass, which
 * makes a whole job minutes long. A tame net (p3d_t_tame) keeps every layer's arithmetic but scales its
 * last layer's weights (0: a constant output) and sets that layer's bias, so its output stays near
 * bias (depth), sigmoid(bias) (edge, colour). */
#ifndef P3D_TEST_NETS_H
#define P3D_TEST_NETS_H

#include <stdio.h>
#include <stdlib.h>

#include "inpaint/inpaint_nets.h"
#include "nn/weights.h"

typedef struct p3d_t_tame {
    int32_t on;  /* 0: the blob as it is */
    float scale; /* the last layer's weights times this */
    float bias;  /* the last layer's bias */
} p3d_t_tame;

/* The blob of a net into buf. */
static inline const char *p3d_t_blob_path(p3d_inpaint_kind kind, char *buf, size_t cap) {
    const char *b = getenv("P3D_BUILD_DIR");
    snprintf(buf, cap, "%s/testdata/%s-random.p3dw", b && b[0] ? b : "build", p3d_inpaint_kind_name(kind));
    return buf;
}

/* The net of this kind on ctx from its random-weight blob, tamed as asked. */
static inline p3d_status p3d_t_load_net(p3d_ctx *ctx, p3d_inpaint_kind kind, p3d_t_tame tame, p3d_inpaint_net **net) {
    char path[1024];
    if (tame.on) setenv("P3D_WEIGHTS_NO_MMAP", "1", 1); /* a private, writable copy */
    p3d_weights *w;
    P3D_TRY(p3d_weights_load(p3d_t_blob_path(kind, path, sizeof path), &w));
    if (tame.on) {
        const int32_t n = p3d_weights_count(w);
        p3d_tensor wt, bt;
        p3d_weights_tensor_at(w, n - 2, &wt);
        p3d_weights_tensor_at(w, n - 1, &bt);
        for (int64_t i = 0; i < p3d_tensor_numel(&wt); i++) ((float *)wt.data)[i] *= tame.scale;
        for (int64_t i = 0; i < p3d_tensor_numel(&bt); i++) ((float *)bt.data)[i] = tame.bias;
    }
    p3d_status s = p3d_inpaint_net_init(net, ctx, w, kind);
    p3d_weights_free(w);
    return s;
}

/* The three nets (edge, depth, colour) on ctx, each tamed as tame[kind]; on failure none is kept. */
static inline p3d_status p3d_t_load_nets(p3d_ctx *ctx, const p3d_t_tame tame[3], p3d_inpaint_net **edge,
                                         p3d_inpaint_net **depth, p3d_inpaint_net **color) {
    *edge = *depth = *color = NULL;
    p3d_status s = p3d_t_load_net(ctx, P3D_INPAINT_EDGE, tame[P3D_INPAINT_EDGE], edge);
    if (s == P3D_OK) s = p3d_t_load_net(ctx, P3D_INPAINT_DEPTH, tame[P3D_INPAINT_DEPTH], depth);
    if (s == P3D_OK) s = p3d_t_load_net(ctx, P3D_INPAINT_COLOR, tame[P3D_INPAINT_COLOR], color);
    if (s != P3D_OK) {
        p3d_inpaint_net_free(*edge), p3d_inpaint_net_free(*depth), p3d_inpaint_net_free(*color);
        *edge = *depth = *color = NULL;
    }
    return s;
}

#endif
