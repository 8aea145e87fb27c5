/* inpaint_impl.h - internal interface between the common handle of the inpainting nets
 * (inpaint_nets.c: kinds, forward_3P, planning) and the two network bodies (inpaint_edge.c,
 * inpaint_unet.c), plus the helpers both bodies use. Not a public header.
 *
 * A body carves its activations from the handle's arena and runs its layers in one function
 * (`run`): while the arena is planning, the carving only counts bytes and the layers do not run
 * (arena.h's plan-or-run pattern), so the plan and every forward lay out memory identically. */
#ifndef P3D_INPAINT_IMPL_H
#define P3D_INPAINT_IMPL_H

#include "core/arena.h"
#include "inpaint/inpaint_nets.h"
#include "nn/conv2d.h"

/* What a body reads from the blob's hyper-parameters and the handle needs. */
typedef struct p3d_inpaint_dims {
    int32_t in_channels, out_channels;
    int32_t unit; /* unit_length: padded sizes are multiples of it */
} p3d_inpaint_dims;

typedef struct p3d_inpaint_body p3d_inpaint_body;

typedef struct p3d_inpaint_body_ops {
    /* Checks w's hyper-parameters and tensors (the kind is already checked) and creates the layers. */
    p3d_status (*init)(p3d_inpaint_body **out, p3d_ctx *ctx, const p3d_weights *w, p3d_inpaint_kind kind,
                       p3d_inpaint_dims *dims);
    void (*free)(p3d_inpaint_body *b);
    /* Plans every layer for a forward on (n, Cin, h, w). */
    p3d_status (*plan)(p3d_inpaint_body *b, int64_t n, int64_t h, int64_t w);
    /* Carves the activations from a; unless a is planning, runs x (N, Cin, H, W) -> y (N, Cout, H, W). */
    p3d_status (*run)(p3d_inpaint_body *b, p3d_arena *a, const p3d_tensor *x, p3d_tensor *y);
    int64_t (*macs)(const p3d_inpaint_body *b, int64_t n, int64_t h, int64_t w);
} p3d_inpaint_body_ops;

extern const p3d_inpaint_body_ops p3d_inpaint_edge_ops; /* inpaint_edge.c */
extern const p3d_inpaint_body_ops p3d_inpaint_unet_ops; /* inpaint_unet.c: depth and colour */

/* ---- hyper-parameters: P3D_ERR_MODEL "PATH: hyper-parameter KEY ..." when absent or out of range ---- */
p3d_status p3d_inpaint_hp_i64(const p3d_weights *w, const char *key, int64_t lo, int64_t hi, int32_t *out);
p3d_status p3d_inpaint_hp_f32(const p3d_weights *w, const char *key, double lo, double hi, float *out);
p3d_status p3d_inpaint_hp_str(const p3d_weights *w, const char *key, const char *want);

/* ---- expected-tensor tables ------------------------------------------------------------------------ */
#define P3D_INPAINT_MAX_SPEC 128
#define P3D_INPAINT_NAME_MAX 64

typedef struct p3d_inpaint_spec {
    p3d_weight_spec row[P3D_INPAINT_MAX_SPEC];
    char name[P3D_INPAINT_MAX_SPEC][P3D_INPAINT_NAME_MAX];
    int32_t n;
} p3d_inpaint_spec;

/* Appends "<prefix>.<suffix>" f32 of the given dims (aborts past the table size: a programmer error). */
void p3d_inpaint_spec_add(p3d_inpaint_spec *s, const char *prefix, const char *suffix, int32_t ndim, int64_t d0,
                          int64_t d1, int64_t d2, int64_t d3);
/* Appends the weight of a conv with these parameters ([Cout, Cin/groups, kh, kw], transposed
 * [Cin, Cout, kh, kw]) under weight_name and, when bias_name is not NULL, its bias [Cout]. */
void p3d_inpaint_spec_conv(p3d_inpaint_spec *s, const p3d_conv2d_params *p, const char *weight_name,
                           const char *bias_name);
/* Host data of a tensor the spec check has already found (aborts otherwise). */
const float *p3d_inpaint_tensor(const p3d_weights *w, const char *prefix, const char *suffix);

/* ---- activations ------------------------------------------------------------------------------------- */
/* An (n, c, h, w) f32 view of context memory at data (NULL while planning). */
p3d_tensor p3d_inpaint_view(void *data, p3d_mem mem, int64_t n, int64_t c, int64_t h, int64_t w);
/* Sample b, channel c of x as a (1, 1, H, W) view. */
p3d_tensor p3d_inpaint_plane(const p3d_tensor *x, int64_t b, int64_t c);
/* A region of `floats` floats from the arena (NULL while planning). */
p3d_status p3d_inpaint_region(p3d_arena *a, int64_t floats, float **out);

#endif
