/* weights.h - loading and checking p3dw weight blobs (byte layout: weights/FORMAT.md).
 *
 * A blob holds one network's tensors under their PyTorch state_dict names, its hyper-parameters and
 * its model kind. The loader reads the file into its own memory (or maps it: see below) and checks
 * every header field and record before anything is used: a corrupt, truncated, byte-swapped or too
 * new file is a P3D_ERR_FORMAT whose message starts with the path and says what is wrong. A network
 * then checks the tensors against the table it expects, built from the hyper-parameters, and copies
 * them into its context's memory:
 *
 *   static p3d_status example_init(example_net *net, p3d_ctx *ctx, const p3d_weights *w) {
 *       int64_t c;
 *       P3D_TRY(p3d_weights_expect_kind(w, P3D_MODEL_EXAMPLE));
 *       P3D_TRY(p3d_weights_hparam_i64(w, "channels", &c));
 *       const p3d_weight_spec spec[] = {
 *           {"conv.weight", P3D_F32, 4, {c, 3, 3, 3}},      // (out, in, kH, kW)
 *           {"conv.bias", P3D_F32, 1, {c}},
 *       };
 *       P3D_TRY(p3d_weights_check(w, spec, 2));         // missing / unknown / mis-shaped, by name
 *       P3D_TRY(p3d_weights_upload_all(w, ctx, &net->block));
 *       P3D_TRY(p3d_weights_get_in(w, ctx, net->block, "conv.weight", &net->conv_w));
 *       return p3d_weights_get_in(w, ctx, net->block, "conv.bias", &net->conv_b);
 *   }
 *
 *   p3d_weights *w;
 *   P3D_TRY(p3d_weights_load(path, &w));
 *   p3d_status st = example_init(&net, ctx, w);
 *   p3d_weights_free(w);                     // the uploaded copy does not need the blob
 *   ...
 *   p3d_ctx_release(ctx, net.block);         // NULL-safe, so also after a failed init
 *
 * p3d_weights_get gives host views into the file itself when no copy is wanted.
 *
 * Ownership:
 *   - p3d_weights owns the file image, the names and the string hyper-parameters. A host tensor from
 *     p3d_weights_get / p3d_weights_tensor_at, a name and a string from p3d_weights_hparam_str stay
 *     valid until p3d_weights_free. Host tensor data is READ-ONLY (a mapping is PROT_READ): copy
 *     before modifying it.
 *   - p3d_weights_upload / p3d_weights_upload_all allocate with p3d_ctx_alloc; the caller releases
 *     that memory with p3d_ctx_release(ctx, ...) and may do so before or after p3d_weights_free.
 *   - A p3d_weight_spec's names belong to the caller and are only read during p3d_weights_check.
 *   - A loaded p3d_weights is never modified, so threads may read it concurrently.
 *
 * Tensor data is 64-byte aligned in host memory; tensors are little-endian, so a big-endian host is
 * refused at load. A loaded blob is a private copy, so replacing the file while a batch runs is safe,
 * in place (cp over it) or by rename (tools/p3dw.py writes a new file and renames it).
 * P3D_WEIGHTS_MMAP=1 in the environment maps the file instead (pages shared between processes); then
 * truncating it in place under a running program is not safe (the mapping would fault).
 * P3D_WEIGHTS_NO_MMAP=1 forces the read() path whatever P3D_WEIGHTS_MMAP says (tests use it). */
#ifndef P3D_WEIGHTS_H
#define P3D_WEIGHTS_H

#include "core/backend.h"
#include "core/p3d_common.h"
#include "core/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The "model kind" header field (weights/FORMAT.md); names are those the converters use. */
typedef enum p3d_model_kind {
    P3D_MODEL_EXAMPLE = 0,       /* "example": tools/example_module.py */
    P3D_MODEL_INPAINT_EDGE = 1,  /* "inpaint-edge" */
    P3D_MODEL_INPAINT_DEPTH = 2, /* "inpaint-depth" */
    P3D_MODEL_INPAINT_COLOR = 3, /* "inpaint-color" */
    P3D_MODEL_MIDAS_V1 = 4,      /* "midas-v1" */
    P3D_MODEL_MIDAS_SMALL = 5,   /* "midas-small" */
    P3D_MODEL_MIDAS_LARGE = 6,   /* "midas-large" */
    P3D_MODEL_TIEFENRAUSCH = 7,  /* "tiefenrausch" */
} p3d_model_kind;

#define P3D_MODEL_KIND_COUNT 8

/* "inpaint-color", ...; "?" for a value outside the enum. */
const char *p3d_model_kind_name(p3d_model_kind kind);

typedef struct p3d_weights p3d_weights;

/* Opens and validates path. On failure *out is NULL and the message starts with the path:
 * P3D_ERR_IO (missing, unreadable, a directory), P3D_ERR_FORMAT (anything wrong inside),
 * P3D_ERR_OOM, P3D_ERR_UNSUPPORTED (big-endian host). */
p3d_status p3d_weights_load(const char *path, p3d_weights **out);
/* NULL is allowed. */
void p3d_weights_free(p3d_weights *w);

/* The path given to p3d_weights_load. */
const char *p3d_weights_path(const p3d_weights *w);
p3d_model_kind p3d_weights_kind(const p3d_weights *w);
/* P3D_ERR_MODEL "PATH: is a inpaint-color model, expected inpaint-depth" unless the kind matches. */
p3d_status p3d_weights_expect_kind(const p3d_weights *w, p3d_model_kind want);

/* Hyper-parameters. P3D_ERR_MODEL "PATH: missing hyper-parameter KEY" when the key is absent or has
 * another type (the message then names the type found). The string is NUL-terminated and owned by w. */
p3d_status p3d_weights_hparam_i64(const p3d_weights *w, const char *key, int64_t *out);
p3d_status p3d_weights_hparam_f64(const p3d_weights *w, const char *key, double *out);
p3d_status p3d_weights_hparam_str(const p3d_weights *w, const char *key, const char **out);
/* Checks a hyper-parameter a network depends on. P3D_ERR_MODEL, after the absent / mistyped cases above,
 * "PATH: hyper-parameter KEY = V, this network needs LO" (lo == hi) or "..., expected LO..HI" for an
 * integer outside [lo, hi]; "PATH: hyper-parameter KEY = 'V', this network needs 'WANT'" for a string.
 * out may be NULL. */
p3d_status p3d_weights_expect_i64(const p3d_weights *w, const char *key, int64_t lo, int64_t hi, int64_t *out);
p3d_status p3d_weights_expect_str(const p3d_weights *w, const char *key, const char *want);

/* Tensors, in file order: count, then name and host view by index (0 <= i < count, else abort). */
int32_t p3d_weights_count(const p3d_weights *w);
const char *p3d_weights_tensor_at(const p3d_weights *w, int32_t i, p3d_tensor *out);
/* Host view of the tensor called name (dtype, shape, scale, zero_point; mem = P3D_MEM_HOST).
 * P3D_ERR_MODEL "PATH: missing tensor NAME" when there is none. */
p3d_status p3d_weights_get(const p3d_weights *w, const char *name, p3d_tensor *out);

/* One row of a network's expected-tensor table. dims[ndim..3] are ignored. */
typedef struct p3d_weight_spec {
    const char *name; /* state_dict key, e.g. "enc_3.conv.input_conv.weight" */
    p3d_dtype dtype;
    int32_t ndim; /* 1..4 */
    int64_t dims[P3D_MAX_DIMS];
} p3d_weight_spec;

/* Compares the file's tensors with spec[0..n): every row must be present with its dtype and shape,
 * and the file must hold nothing else. Otherwise P3D_ERR_MODEL with the first few problems, e.g.
 *   "PATH: enc_3.conv.input_conv.weight: got [256,128,3,3], expected [256,128,5,5];
 *    missing tensor dec_1.bias (expected [64]); unknown tensor extra.weight"
 * (after 4 problems: "; and N more problems"). Spec rows come first, in order, then unknown tensors.
 * A dtype mismatch reads "X: got i8 [8], expected f32 [8]". A malformed spec (ndim outside 1..4,
 * a dimension < 1, a name listed twice) is a programmer error and aborts. */
p3d_status p3d_weights_check(const p3d_weights *w, const p3d_weight_spec *spec, int32_t n);

/* Copies one tensor into memory from p3d_ctx_alloc (device memory on a CUDA context). *out gets the
 * tensor's dtype, shape, scale and zero point with data/mem in ctx's memory; release out->data with
 * p3d_ctx_release(ctx, out->data). P3D_ERR_MODEL when the tensor is missing. */
p3d_status p3d_weights_upload(const p3d_weights *w, p3d_ctx *ctx, const char *name, p3d_tensor *out);

/* Copies every tensor with one allocation and one transfer (the file's data section, so each tensor
 * keeps its 64-byte aligned offset). *block is released with p3d_ctx_release(ctx, *block);
 * p3d_weights_get_in returns views into it. */
p3d_status p3d_weights_upload_all(const p3d_weights *w, p3d_ctx *ctx, void **block);
/* Like p3d_weights_get, but data points into block from p3d_weights_upload_all(w, ctx, ...) and
 * mem is ctx's memory. */
p3d_status p3d_weights_get_in(const p3d_weights *w, const p3d_ctx *ctx, void *block, const char *name,
                              p3d_tensor *out);

#ifdef __cplusplus
}
#endif
#endif
