/* tiefenrausch.c - loading, planning and running the Tiefenrausch INT8 graph (CPU reference; the
 * CUDA launchers live in cuda/depth/tiefenrausch.cu).
 *
 * Blob layout (written by tools/convert_tiefenrausch.py, documented at its top):
 *   "graph.ops"   int32 (n_ops, 21): type, relu, in0, in1, in2, out, kernel_h, kernel_w, stride_h,
 *                 stride_w, pad_t, pad_l, pad_b, pad_r, dilation_h, dilation_w, group,
 *                 Y_zero_point, Y_scale (float32 bits), height_scale, width_scale (float32 bits);
 *                 types 0 NCHW2NHWC, 1 Int8Quantize, 2 Int8Conv, 3 Int8Add, 4 Int8ResizeNearest,
 *                 5 Int8Dequantize.
 *   "graph.blobs" hparam: blob names joined by '\n' (id = line); "graph.input" / "graph.output".
 *   weights: u8 (M, KH, KW, C / group) with scale / zero point, biases i32 (M), under their blob names.
 *
 * The graph must be NCHW2NHWC(input) -> Int8Quantize -> int8 ops -> Int8Dequantize(-> output), as
 * the released model is; the first two run fused (quantize NCHW floats straight into NHWC uint8),
 * the last one becomes a 256-entry table (quantized output -> exp(dequantized)), which is also how
 * the CPU and CUDA results stay bit-identical. Activations are NHWC uint8 (quint8). */
#include "depth/tiefenrausch.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "io/resize_area.h"
#include "nn/weights.h"

/* Dynamic schedules with chunks of a few hundred pixels: robust to a core shared with other work. */
#ifdef P3D_HAVE_OPENMP
#define TIEF_OMP_FOR _Pragma("omp parallel for schedule(dynamic, 4)")
#define TIEF_OMP_FOR_BLOCKS _Pragma("omp parallel for schedule(dynamic, 64)")
#else
#define TIEF_OMP_FOR
#define TIEF_OMP_FOR_BLOCKS
#endif

enum { TIEF_NCHW2NHWC = 0, TIEF_QUANTIZE = 1, TIEF_CONV = 2, TIEF_ADD = 3, TIEF_RESIZE = 4, TIEF_DEQUANTIZE = 5 };
enum { TIEF_PW = 0, TIEF_DW = 1, TIEF_GENERAL = 2 };
#define TIEF_COLS 21
#define TIEF_MAX_C 4096 /* channels per pixel the CPU kernels' stack buffers hold */
#define TIEF_MAX_PATCH 4096 /* KH * KW * C / group of a general conv */
#define TIEF_PIX 4 /* pixels per CPU pointwise block */

typedef struct tief_blob {
    const char *name; /* into net->names */
    int32_t is_weight;
    int32_t produced_by; /* op index, -1 for weights and the graph input */
    int32_t last_use;    /* last op index reading it */
    float scale;
    int32_t zp;
    int32_t c;    /* channels (known at load) */
    int32_t h, w; /* planned spatial size */
    size_t off, bytes;
} tief_blob;

typedef struct tief_op {
    int32_t type, relu, in[3], out;
    int32_t kh, kw, sh, sw, pt, pl, pb, pr, groups;
    float y_scale;
    int32_t y_zp;
    /* convolution */
    int32_t kind, m, c, cg, cp; /* cp: c rounded up to 16 (CPU pointwise rows) */
    float w_scale;
    int32_t w_zp;
    const uint8_t *w;     /* host (M, KH, KW, Cg), read-only file view */
    const int32_t *bias;  /* host (M) */
    int16_t *wz;          /* host w - w_zp; PW: (M, cp) zero-padded; DW: (KH*KW, C); else as w */
    int32_t *bias_eff;    /* host; PW: bias - x_zp * sum_c wz, else bias */
    p3d_qnn_conv_rq rq;
    p3d_qnn_add_rq arq;
    const uint8_t *w_dev; /* CUDA views */
    const int32_t *b_dev;
    const int32_t *cst_dev; /* pointwise constants of the dp4a GEMM; NULL: the direct kernel runs */
} tief_op;

struct p3d_tief {
    p3d_ctx *ctx;
    p3d_weights *weights;
    char *names;
    tief_blob *blobs;
    int32_t n_blobs;
    tief_op *ops;
    int32_t n_ops;
    int32_t q_in, q_out; /* the uint8 blobs after Int8Quantize / before Int8Dequantize */
    float in_scale, out_scale;
    int32_t in_zp, out_zp;
    uint8_t in_lut[256]; /* rgb8 sample -> quantized input */
    float out_lut[256];  /* quantized output -> disparity */
    /* CUDA: weights block, small block (tables, pointwise constants) */
    void *wblock, *small;
    const uint8_t *in_lut_dev;
    const float *out_lut_dev;
    /* plan */
    p3d_arena *arena;
    int32_t plan_h, plan_w;
    uint8_t *act;        /* activations base (arena) */
    uint8_t *rgb_stage;  /* CUDA forward_rgb8: device copy of the rgb input */
    float *disp_stage;   /* CUDA forward_rgb8: device disparity */
    uint8_t *host_rgb;   /* p3d_tief_estimate: the resized photo, host (H, W, 3) */
    size_t host_rgb_cap;
    int32_t ran;         /* a forward completed at the planned size */
};

/* ---- loading ------------------------------------------------------------------------------------- */
static float bits_to_f32(int32_t v) { return p3d_qnn_f32_from_bits((uint32_t)v); }

static p3d_status tief_fail_op(const p3d_tief *net, int32_t i, const char *what) {
    return p3d_fail(P3D_ERR_MODEL, "%s: graph op %d: %s", p3d_weights_path(net->weights), (int)i, what);
}

static p3d_status tief_parse_graph(p3d_tief *net) {
    p3d_weights *w = net->weights;
    const char *path = p3d_weights_path(w);
    int64_t cols, in_id, out_id;
    const char *names;
    P3D_TRY(p3d_weights_hparam_i64(w, "graph.columns", &cols));
    P3D_TRY(p3d_weights_hparam_i64(w, "graph.input", &in_id));
    P3D_TRY(p3d_weights_hparam_i64(w, "graph.output", &out_id));
    P3D_TRY(p3d_weights_hparam_str(w, "graph.blobs", &names));
    if (cols != TIEF_COLS)
        return p3d_fail(P3D_ERR_MODEL, "%s: graph.columns = %lld, this build reads %d (reconvert the model)",
                        path, (long long)cols, TIEF_COLS);
    p3d_tensor g;
    P3D_TRY(p3d_weights_get(w, "graph.ops", &g));
    if (g.dtype != P3D_I32 || g.ndim != 2 || g.shape[1] != TIEF_COLS || g.shape[0] < 3 || g.shape[0] > 100000)
        return p3d_fail(P3D_ERR_MODEL, "%s: graph.ops must be int32 (n, %d)", path, TIEF_COLS);

    /* blob names: one per line */
    net->names = strdup(names);
    if (!net->names) return p3d_fail(P3D_ERR_OOM, "%s: out of memory", path);
    int32_t nb = 1;
    for (const char *p = names; *p; p++) nb += *p == '\n';
    net->blobs = calloc((size_t)nb, sizeof *net->blobs);
    if (!net->blobs) return p3d_fail(P3D_ERR_OOM, "%s: out of memory", path);
    net->n_blobs = nb;
    char *s = net->names;
    for (int32_t i = 0; i < nb; i++) {
        net->blobs[i].name = s;
        net->blobs[i].produced_by = -1;
        net->blobs[i].last_use = -1;
        char *nl = strchr(s, '\n');
        if (nl) {
            *nl = '\0';
            s = nl + 1;
        }
    }
    if (in_id < 0 || in_id >= nb || out_id < 0 || out_id >= nb)
        return p3d_fail(P3D_ERR_MODEL, "%s: graph.input / graph.output out of range", path);

    const int32_t *rows = p3d_tensor_i32(&g);
    net->n_ops = (int32_t)g.shape[0];
    net->ops = calloc((size_t)net->n_ops, sizeof *net->ops);
    if (!net->ops) return p3d_fail(P3D_ERR_OOM, "%s: out of memory", path);
    for (int32_t i = 0; i < net->n_ops; i++) {
        const int32_t *r = rows + (size_t)i * TIEF_COLS;
        tief_op *op = &net->ops[i];
        op->type = r[0];
        op->relu = r[1];
        for (int k = 0; k < 3; k++) op->in[k] = r[2 + k];
        op->out = r[5];
        op->kh = r[6], op->kw = r[7], op->sh = r[8], op->sw = r[9];
        op->pt = r[10], op->pl = r[11], op->pb = r[12], op->pr = r[13];
        op->groups = r[16];
        op->y_zp = r[17];
        op->y_scale = bits_to_f32(r[18]);
        if (op->type < 0 || op->type > TIEF_DEQUANTIZE) return tief_fail_op(net, i, "unknown operator type");
        static const int n_in[6] = {1, 1, 3, 2, 1, 1};
        for (int k = 0; k < 3; k++) {
            if (k < n_in[op->type] ? (op->in[k] < 0 || op->in[k] >= nb) : op->in[k] != -1)
                return tief_fail_op(net, i, "input blob id out of range");
        }
        if (op->out < 0 || op->out >= nb || net->blobs[op->out].produced_by >= 0 || op->out == in_id)
            return tief_fail_op(net, i, "output blob id out of range or written twice");
        if (op->relu && op->type != TIEF_CONV && op->type != TIEF_ADD)
            return tief_fail_op(net, i, "fused ReLU on an operator that has none");
        if (r[14] > 1 || r[15] > 1) return tief_fail_op(net, i, "dilation is not supported");
        net->blobs[op->out].produced_by = i;
    }
    /* the fixed frame: NCHW2NHWC(input) -> Int8Quantize -> ... -> Int8Dequantize -> output */
    const tief_op *first = &net->ops[0], *quant = &net->ops[1], *last = &net->ops[net->n_ops - 1];
    if (first->type != TIEF_NCHW2NHWC || first->in[0] != in_id || quant->type != TIEF_QUANTIZE ||
        quant->in[0] != first->out || last->type != TIEF_DEQUANTIZE || last->out != out_id)
        return p3d_fail(P3D_ERR_MODEL, "%s: graph is not NCHW2NHWC -> Int8Quantize -> ... -> Int8Dequantize",
                        path);
    net->q_in = quant->out;
    net->q_out = last->in[0];
    for (int32_t i = 2; i < net->n_ops - 1; i++) {
        int32_t t = net->ops[i].type;
        if (t != TIEF_CONV && t != TIEF_ADD && t != TIEF_RESIZE)
            return tief_fail_op(net, i, "only Int8Conv, Int8Add and Int8ResizeNearest may sit between "
                                        "Int8Quantize and Int8Dequantize");
    }
    return P3D_OK;
}

/* The CPU kernel of a convolution (op->kh ... op->groups, op->c, op->m, op->cg set); 0 when none fits. */
static int tief_conv_kind(tief_op *op) {
    if (op->kh == 1 && op->kw == 1 && op->sh == 1 && op->sw == 1 && op->groups == 1 &&
        (op->pt | op->pl | op->pb | op->pr) == 0 && op->c <= TIEF_MAX_C)
        op->kind = TIEF_PW;
    else if (op->groups == op->c && op->groups == op->m && op->cg == 1 && op->c <= TIEF_MAX_C)
        op->kind = TIEF_DW;
    else if (op->kh * op->kw * op->cg <= TIEF_MAX_PATCH && op->m / op->groups <= TIEF_MAX_C)
        op->kind = TIEF_GENERAL;
    else
        return 0;
    return 1;
}

/* Quantization parameters and channel counts along the graph; weights resolved and checked. */
static p3d_status tief_resolve(p3d_tief *net) {
    p3d_weights *w = net->weights;
    tief_blob *b = net->blobs;
    tief_op *q = &net->ops[1];
    if (q->y_zp < 0 || q->y_zp > 255 || !(q->y_scale > 0.0f) || !isfinite(q->y_scale))
        return tief_fail_op(net, 1, "bad input quantization");
    net->in_scale = q->y_scale;
    net->in_zp = q->y_zp;
    b[net->q_in].scale = q->y_scale;
    b[net->q_in].zp = q->y_zp;
    b[net->q_in].c = 3;

    /* expected tensors: graph.ops + each conv's weight and bias once */
    int32_t n_spec = 1;
    p3d_weight_spec *spec = calloc((size_t)(2 * net->n_ops + 1), sizeof *spec);
    if (!spec) return p3d_fail(P3D_ERR_OOM, "out of memory");
    spec[0] = (p3d_weight_spec){"graph.ops", P3D_I32, 2, {net->n_ops, TIEF_COLS, 0, 0}};
    p3d_status st = P3D_OK;
    for (int32_t i = 2; i < net->n_ops - 1 && st == P3D_OK; i++) {
        tief_op *op = &net->ops[i];
        tief_blob *x = &b[op->in[0]], *y = &b[op->out];
        if (x->produced_by < 0 || x->produced_by >= i || x->c == 0) {
            st = tief_fail_op(net, i, "input is not produced by an earlier operator");
            break;
        }
        if (op->y_zp < 0 || op->y_zp > 255 || !(op->y_scale > 0.0f) || !isfinite(op->y_scale)) {
            st = tief_fail_op(net, i, "bad output quantization");
            break;
        }
        y->scale = op->y_scale;
        y->zp = op->y_zp;
        const int32_t out_min = op->relu ? op->y_zp : 0;
        if (op->type == TIEF_CONV) {
            tief_blob *wb = &b[op->in[1]], *bb = &b[op->in[2]];
            if (wb->produced_by >= 0 || bb->produced_by >= 0 || op->in[1] == op->in[2]) {
                st = tief_fail_op(net, i, "conv weight / bias must be weights of the file");
                break;
            }
            p3d_tensor wt, bt;
            st = p3d_weights_get(w, wb->name, &wt);
            if (st == P3D_OK) st = p3d_weights_get(w, bb->name, &bt);
            if (st != P3D_OK) break;
            if (wt.dtype != P3D_U8 || wt.ndim != 4 || bt.dtype != P3D_I32 || bt.ndim != 1) {
                st = tief_fail_op(net, i, "weight must be u8 (M, KH, KW, C/group), bias i32 (M)");
                break;
            }
            op->m = (int32_t)wt.shape[0];
            op->c = x->c;
            op->cg = (int32_t)wt.shape[3];
            if (op->groups < 1 || op->c % op->groups || op->m % op->groups || op->cg != op->c / op->groups ||
                wt.shape[1] != op->kh || wt.shape[2] != op->kw || op->kh < 1 || op->kw < 1 || op->sh < 1 ||
                op->sw < 1 || op->pt < 0 || op->pl < 0 || op->pb < 0 || op->pr < 0 || op->pt >= op->kh ||
                op->pb >= op->kh || op->pl >= op->kw || op->pr >= op->kw) {
                char msg[160];
                snprintf(msg, sizeof msg, "%s does not fit %d input channels, %dx%d kernel, group %d",
                         wb->name, (int)op->c, (int)op->kh, (int)op->kw, (int)op->groups);
                st = tief_fail_op(net, i, msg);
                break;
            }
            if (wt.zero_point < 0 || wt.zero_point > 255 || !(wt.scale > 0.0f)) {
                st = tief_fail_op(net, i, "bad weight quantization");
                break;
            }
            if (!wb->is_weight) spec[n_spec++] = (p3d_weight_spec){wb->name, P3D_U8, 4, {op->m, op->kh, op->kw, op->cg}};
            if (!bb->is_weight) spec[n_spec++] = (p3d_weight_spec){bb->name, P3D_I32, 1, {op->m, 0, 0, 0}};
            wb->is_weight = bb->is_weight = 1;
            op->w = (const uint8_t *)wt.data;
            op->bias = (const int32_t *)bt.data;
            op->w_scale = wt.scale;
            op->w_zp = wt.zero_point;
            /* QNNPACK: convolution_scale = input_scale * kernel_scale / output_scale, in float */
            const float conv_scale = x->scale * op->w_scale / op->y_scale;
            if (!p3d_qnn_conv_rq_init(&op->rq, conv_scale, op->y_zp, out_min, 255)) {
                st = tief_fail_op(net, i, "requantization scale outside (2^-32, 1): QNNPACK refuses it");
                break;
            }
            if (!tief_conv_kind(op)) {
                st = tief_fail_op(net, i, "convolution too large for the CPU kernels (patch or group over 4096)");
                break;
            }
            y->c = op->m;
        } else if (op->type == TIEF_ADD) {
            tief_blob *x2 = &b[op->in[1]];
            if (x2->produced_by < 0 || x2->produced_by >= i || x2->c != x->c) {
                st = tief_fail_op(net, i, "Int8Add operands must be earlier activations of equal shape");
                break;
            }
            if (!p3d_qnn_add_rq_init(&op->arq, x->scale, x->zp, x2->scale, x2->zp, op->y_scale, op->y_zp,
                                     out_min, 255)) {
                st = tief_fail_op(net, i, "Int8Add scale ratio outside [2^-14, 2^8): QNNPACK refuses it");
                break;
            }
            y->c = x->c;
        } else { /* resize: x2 nearest, keeps the input's quantization */
            if (op->y_scale != x->scale || op->y_zp != x->zp) {
                st = tief_fail_op(net, i, "Int8ResizeNearest must keep its input's scale and zero point");
                break;
            }
            y->c = x->c;
        }
        x->last_use = i;
        if (op->type == TIEF_ADD) b[op->in[1]].last_use = i;
    }
    if (st == P3D_OK) {
        tief_blob *o = &b[net->q_out];
        if (o->produced_by < 2 || o->c != 1)
            st = p3d_fail(P3D_ERR_MODEL, "%s: the dequantized output must be a one-channel activation",
                          p3d_weights_path(w));
        o->last_use = net->n_ops - 1;
        net->out_scale = o->scale;
        net->out_zp = o->zp;
    }
    if (st == P3D_OK) st = p3d_weights_check(w, spec, n_spec);
    free(spec);
    return st;
}

static p3d_status tief_check_resize_scales(p3d_tief *net) {
    p3d_tensor g;
    P3D_TRY(p3d_weights_get(net->weights, "graph.ops", &g));
    const int32_t *rows = p3d_tensor_i32(&g);
    for (int32_t i = 0; i < net->n_ops; i++) {
        if (net->ops[i].type != TIEF_RESIZE) continue;
        const int32_t *r = rows + (size_t)i * TIEF_COLS;
        if (bits_to_f32(r[19]) != 2.0f || bits_to_f32(r[20]) != 2.0f)
            return tief_fail_op(net, i, "only x2 nearest resize is supported");
    }
    return P3D_OK;
}

/* The host weight layouts of one convolution: wz = w - w_zp (PW: (M, cp) rows zero-padded to cp, a
 * multiple of 16; DW: (tap, channel); else as w) and bias_eff (PW: bias - x_zp * sum_c wz, which lets
 * the pointwise kernel dot the raw activations; else bias). */
static p3d_status tief_conv_prepare_host(tief_op *op, int32_t x_zp) {
    const int32_t taps = op->kh * op->kw;
    op->cp = (op->c + 15) & ~15;
    size_t n = op->kind == TIEF_PW ? (size_t)op->m * (size_t)op->cp : (size_t)op->m * (size_t)(taps * op->cg);
    op->wz = calloc(n, sizeof *op->wz);
    op->bias_eff = malloc((size_t)op->m * sizeof *op->bias_eff);
    if (!op->wz || !op->bias_eff) return p3d_fail(P3D_ERR_OOM, "tiefenrausch: out of memory");
    for (int32_t m = 0; m < op->m; m++) {
        int64_t sum = 0;
        for (int32_t k = 0; k < taps * op->cg; k++) {
            const int16_t v = (int16_t)((int32_t)op->w[(size_t)m * (size_t)(taps * op->cg) + (size_t)k] - op->w_zp);
            sum += v;
            if (op->kind == TIEF_PW)
                op->wz[(size_t)m * (size_t)op->cp + (size_t)k] = v;
            else if (op->kind == TIEF_DW)
                op->wz[(size_t)k * (size_t)op->c + (size_t)m] = v; /* (tap, channel) */
            else
                op->wz[(size_t)m * (size_t)(taps * op->cg) + (size_t)k] = v;
        }
        op->bias_eff[m] = op->kind == TIEF_PW ? (int32_t)(op->bias[m] - (int64_t)x_zp * sum) : op->bias[m];
    }
    return P3D_OK;
}

/* The input / output tables (both backends) and, on a CPU context, the host weight layouts. */
static p3d_status tief_prepare_cpu(p3d_tief *net) {
    for (int32_t v = 0; v < 256; v++) {
        /* the reference CLI: rgb_image / 255.0 (float64), then .astype(np.float32) */
        net->in_lut[v] = p3d_qnn_quantize((float)((double)v / 255.0), net->in_scale, net->in_zp);
        net->out_lut[v] = p3d_qnn_exp_np(p3d_qnn_dequantize((uint8_t)v, net->out_scale, net->out_zp));
    }
    if (p3d_ctx_cuda(net->ctx)) return P3D_OK;
    for (int32_t i = 2; i < net->n_ops - 1; i++)
        if (net->ops[i].type == TIEF_CONV) P3D_TRY(tief_conv_prepare_host(&net->ops[i], net->blobs[net->ops[i].in[0]].zp));
    return P3D_OK;
}

#ifdef P3D_HAVE_CUDA
/* Weights on the device (one block, the file's layout), plus one small block with the tables and
 * the pointwise convolutions' per-channel constants. */
static p3d_status tief_prepare_cuda(p3d_tief *net) {
    p3d_ctx *ctx = net->ctx;
    P3D_TRY(p3d_weights_upload_all(net->weights, ctx, &net->wblock));
    size_t n_cst = 0;
    for (int32_t i = 2; i < net->n_ops - 1; i++)
        if (net->ops[i].type == TIEF_CONV && net->ops[i].kind == TIEF_PW) n_cst += (size_t)net->ops[i].m;
    const size_t bytes = 256 * sizeof(float) + 256 + n_cst * sizeof(int32_t);
    uint8_t *host = malloc(bytes);
    if (!host) return p3d_fail(P3D_ERR_OOM, "tiefenrausch: out of memory");
    memcpy(host, net->out_lut, 256 * sizeof(float));
    memcpy(host + 256 * sizeof(float), net->in_lut, 256);
    int32_t *cst = (int32_t *)(host + 256 * sizeof(float) + 256);
    size_t at = 0;
    p3d_status st = p3d_ctx_alloc(ctx, bytes, &net->small);
    for (int32_t i = 2; i < net->n_ops - 1 && st == P3D_OK; i++) {
        tief_op *op = &net->ops[i];
        if (op->type != TIEF_CONV) continue;
        p3d_tensor t;
        st = p3d_weights_get_in(net->weights, ctx, net->wblock, net->blobs[op->in[1]].name, &t);
        if (st == P3D_OK) op->w_dev = (const uint8_t *)t.data;
        if (st == P3D_OK) st = p3d_weights_get_in(net->weights, ctx, net->wblock, net->blobs[op->in[2]].name, &t);
        if (st == P3D_OK) op->b_dev = (const int32_t *)t.data;
        /* the dp4a GEMM reads whole 4-channel words; other 1x1 convolutions take the direct kernel */
        if (st != P3D_OK || op->kind != TIEF_PW || op->c % 4) continue;
        const int32_t x_zp = net->blobs[op->in[0]].zp;
        for (int32_t m = 0; m < op->m; m++) {
            int64_t wsum = 0;
            for (int32_t c = 0; c < op->c; c++) wsum += op->w[(size_t)m * (size_t)op->c + (size_t)c];
            cst[at + (size_t)m] = (int32_t)(op->bias[m] - (int64_t)x_zp * wsum + (int64_t)op->c * x_zp * op->w_zp);
        }
        op->cst_dev = (const int32_t *)((uint8_t *)net->small + 256 * sizeof(float) + 256) + at;
        at += (size_t)op->m;
    }
    if (st == P3D_OK) st = p3d_ctx_upload(ctx, net->small, host, bytes);
    free(host);
    P3D_TRY(st);
    net->out_lut_dev = (const float *)net->small;
    net->in_lut_dev = (const uint8_t *)net->small + 256 * sizeof(float);
    return P3D_OK;
}
#endif

p3d_status p3d_tief_load(p3d_ctx *ctx, const char *path, p3d_tief **out) {
    *out = NULL;
    p3d_tief *net = calloc(1, sizeof *net);
    if (!net) return p3d_fail(P3D_ERR_OOM, "%s: out of memory", path);
    net->ctx = ctx;
    p3d_status st = p3d_weights_load(path, &net->weights);
    if (st == P3D_OK) st = p3d_weights_expect_kind(net->weights, P3D_MODEL_TIEFENRAUSCH);
    if (st == P3D_OK) st = tief_parse_graph(net);
    if (st == P3D_OK) st = tief_resolve(net);
    if (st == P3D_OK) st = tief_check_resize_scales(net);
    if (st == P3D_OK) st = tief_prepare_cpu(net);
#ifdef P3D_HAVE_CUDA
    if (st == P3D_OK && p3d_ctx_cuda(ctx)) st = tief_prepare_cuda(net);
#endif
    if (st == P3D_OK) st = p3d_arena_init(&net->arena, ctx);
    if (st != P3D_OK) {
        p3d_tief_free(net);
        return st;
    }
    *out = net;
    return P3D_OK;
}

void p3d_tief_free(p3d_tief *net) {
    if (!net) return;
    if (net->ops)
        for (int32_t i = 0; i < net->n_ops; i++) {
            free(net->ops[i].wz);
            free(net->ops[i].bias_eff);
        }
    if (net->wblock) p3d_ctx_release(net->ctx, net->wblock);
    if (net->small) p3d_ctx_release(net->ctx, net->small);
    p3d_arena_free(net->arena);
    p3d_weights_free(net->weights);
    free(net->host_rgb);
    free(net->ops);
    free(net->blobs);
    free(net->names);
    free(net);
}

p3d_status p3d_tief_input_size(int32_t width, int32_t height, int32_t *net_w, int32_t *net_h) {
    if (width < 1 || height < 1) return p3d_fail(P3D_ERR_INVALID_ARG, "tiefenrausch: bad image size %dx%d", width, height);
    int64_t nw, nh;
    /* Python: nw = int(w * nh / h): an exact integer product, one correctly rounded division */
    if (height > width) {
        nh = 384;
        nw = (int64_t)((double)((int64_t)width * 384) / (double)height);
    } else {
        nw = 384;
        nh = (int64_t)((double)((int64_t)height * 384) / (double)width);
    }
    nw -= nw % 32;
    nh -= nh % 32;
    if (nw < 32 || nh < 32)
        return p3d_fail(P3D_ERR_INVALID_ARG,
                        "tiefenrausch: a %dx%d image is too elongated (network input would be %lldx%lld)",
                        width, height, (long long)nw, (long long)nh);
    *net_w = (int32_t)nw;
    *net_h = (int32_t)nh;
    return P3D_OK;
}

/* ---- planning -------------------------------------------------------------------------------------- */
typedef struct tief_live {
    size_t off, end;
    int32_t blob;
} tief_live;

static size_t tief_align(size_t n) { return (n + P3D_ARENA_ALIGN - 1) & ~(size_t)(P3D_ARENA_ALIGN - 1); }

/* Shapes for an h x w input, then offsets by first fit over live intervals. Returns the bytes. */
static p3d_status tief_layout(p3d_tief *net, int32_t h, int32_t w, size_t *total) {
    tief_blob *b = net->blobs;
    b[net->q_in].h = h;
    b[net->q_in].w = w;
    for (int32_t i = 2; i < net->n_ops - 1; i++) {
        const tief_op *op = &net->ops[i];
        const tief_blob *x = &b[op->in[0]];
        tief_blob *y = &b[op->out];
        if (op->type == TIEF_CONV) {
            y->h = (x->h + op->pt + op->pb - op->kh) / op->sh + 1;
            y->w = (x->w + op->pl + op->pr - op->kw) / op->sw + 1;
            if (x->h + op->pt + op->pb < op->kh || x->w + op->pl + op->pr < op->kw)
                return p3d_fail(P3D_ERR_INVALID_ARG, "tiefenrausch: input %dx%d too small", w, h);
        } else if (op->type == TIEF_ADD) {
            const tief_blob *x2 = &b[op->in[1]];
            if (x2->h != x->h || x2->w != x->w)
                return p3d_fail(P3D_ERR_INVALID_ARG,
                                "tiefenrausch: input %dx%d: Int8Add operands %dx%d and %dx%d differ "
                                "(use multiples of 32)", w, h, x->w, x->h, x2->w, x2->h);
            y->h = x->h;
            y->w = x->w;
        } else {
            y->h = x->h * 2;
            y->w = x->w * 2;
        }
    }
    const tief_blob *o = &b[net->q_out];
    if (o->h != h || o->w != w)
        return p3d_fail(P3D_ERR_INVALID_ARG, "tiefenrausch: output %dx%d differs from input %dx%d", o->w, o->h, w, h);

    tief_live *live = calloc((size_t)net->n_blobs + 1, sizeof *live);
    if (!live) return p3d_fail(P3D_ERR_OOM, "tiefenrausch: out of memory");
    int32_t n_live = 0;
    size_t top = 0;
    for (int32_t i = 1; i < net->n_ops - 1; i++) {
        tief_blob *y = &b[net->ops[i].out];
        y->bytes = tief_align((size_t)y->h * (size_t)y->w * (size_t)y->c);
        /* first fit: live is sorted by offset */
        size_t at = 0;
        int32_t pos = 0;
        for (; pos < n_live; pos++) {
            if (live[pos].off >= at + y->bytes) break;
            if (live[pos].end > at) at = live[pos].end;
        }
        memmove(&live[pos + 1], &live[pos], (size_t)(n_live - pos) * sizeof *live);
        live[pos] = (tief_live){at, at + y->bytes, net->ops[i].out};
        n_live++;
        y->off = at;
        if (at + y->bytes > top) top = at + y->bytes;
        /* inputs whose last reader is this op die after it */
        for (int32_t k = 0; k < n_live;) {
            const tief_blob *lb = &b[live[k].blob];
            if (lb->last_use <= i && live[k].blob != net->q_out) {
                memmove(&live[k], &live[k + 1], (size_t)(n_live - k - 1) * sizeof *live);
                n_live--;
            } else {
                k++;
            }
        }
    }
    free(live);
    *total = top;
    return P3D_OK;
}

p3d_status p3d_tief_plan(p3d_tief *net, int32_t h, int32_t w) {
    if (h < 32 || w < 32 || h % 32 || w % 32 || h > 8192 || w > 8192)
        return p3d_fail(P3D_ERR_INVALID_ARG, "tiefenrausch: input %dx%d must be positive multiples of 32 (at most 8192)", w, h);
    if (net->plan_h == h && net->plan_w == w) return P3D_OK;
    size_t acts = 0;
    net->plan_h = net->plan_w = 0;
    net->ran = 0;
    P3D_TRY(tief_layout(net, h, w, &acts));
    const size_t px = (size_t)h * (size_t)w;
    const int cuda = p3d_ctx_cuda(net->ctx) != NULL;
    void *base, *rgb = NULL, *disp = NULL;
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 0)
            p3d_arena_begin_plan(net->arena);
        else
            p3d_arena_reset(net->arena);
        P3D_TRY(p3d_arena_alloc(net->arena, acts, &base));
        if (cuda) {
            P3D_TRY(p3d_arena_alloc(net->arena, px * 3, &rgb));
            P3D_TRY(p3d_arena_alloc(net->arena, px * sizeof(float), &disp));
        }
        if (pass == 0) P3D_TRY(p3d_arena_commit(net->arena));
    }
    net->act = base;
    net->rgb_stage = rgb;
    net->disp_stage = disp;
    net->plan_h = h;
    net->plan_w = w;
    return P3D_OK;
}

int64_t p3d_tief_macs(const p3d_tief *net, int32_t h, int32_t w) {
    int64_t macs = 0;
    int32_t *hh = calloc((size_t)net->n_blobs, sizeof *hh), *ww = calloc((size_t)net->n_blobs, sizeof *ww);
    if (!hh || !ww) {
        free(hh);
        free(ww);
        return -1;
    }
    hh[net->q_in] = h;
    ww[net->q_in] = w;
    for (int32_t i = 2; i < net->n_ops - 1; i++) {
        const tief_op *op = &net->ops[i];
        const int32_t xh = hh[op->in[0]], xw = ww[op->in[0]];
        if (op->type == TIEF_CONV) {
            hh[op->out] = (xh + op->pt + op->pb - op->kh) / op->sh + 1;
            ww[op->out] = (xw + op->pl + op->pr - op->kw) / op->sw + 1;
            macs += (int64_t)hh[op->out] * ww[op->out] * op->m * op->kh * op->kw * op->cg;
        } else {
            hh[op->out] = op->type == TIEF_RESIZE ? 2 * xh : xh;
            ww[op->out] = op->type == TIEF_RESIZE ? 2 * xw : xw;
        }
    }
    free(hh);
    free(ww);
    return macs;
}

/* ---- CPU kernels ------------------------------------------------------------------------------------ */
/* The hot loops are cloned for AVX2 (gcc picks the clone at load time), so the int16 dot products
 * become 16-lane pmaddwd and the requantization runs on 4 x 64-bit lanes; the arithmetic is the
 * same integer arithmetic in every clone. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define TIEF_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define TIEF_CLONES
#endif

/* dst[i] = requantize(acc[i] + bias[i]) for n values (bias may be NULL). */
TIEF_CLONES
static void tief_requant_row(const int32_t *acc, const int32_t *bias, uint8_t *dst, int32_t n, p3d_qnn_conv_rq rq) {
    for (int32_t i = 0; i < n; i++) dst[i] = p3d_qnn_requantize(acc[i] + (bias ? bias[i] : 0), &rq);
}

/* acc[k][m] = sum_c xs[k][c] * wz[m][c] for TIEF_PIX pixels: int16 products summed in int32 (exact:
 * |x * w| <= 255 * 255). */
TIEF_CLONES
static void tief_pw_block(const int16_t *xs, const int16_t *wz, int32_t cp, int32_t m_count, int32_t *acc) {
    const int16_t *x0 = xs, *x1 = xs + cp, *x2 = xs + 2 * cp, *x3 = xs + 3 * cp;
    for (int32_t m = 0; m < m_count; m++) {
        const int16_t *wr = wz + (size_t)m * (size_t)cp;
        int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
        for (int32_t c = 0; c < cp; c++) {
            const int32_t wv = wr[c];
            a0 += x0[c] * wv;
            a1 += x1[c] * wv;
            a2 += x2[c] * wv;
            a3 += x3[c] * wv;
        }
        acc[m] = a0;
        acc[m_count + m] = a1;
        acc[2 * m_count + m] = a2;
        acc[3 * m_count + m] = a3;
    }
}

/* 1x1 stride-1 convolution, x (P, C) -> y (P, M). */
static void tief_conv_pw_cpu(const tief_op *op, const uint8_t *x, uint8_t *y, int64_t pixels) {
    const int32_t c_in = op->c, cp = op->cp, m_count = op->m;
    const int64_t blocks = (pixels + TIEF_PIX - 1) / TIEF_PIX;
    TIEF_OMP_FOR_BLOCKS
    for (int64_t blk = 0; blk < blocks; blk++) {
        int16_t xs[TIEF_PIX * TIEF_MAX_C] __attribute__((aligned(64)));
        int32_t acc[TIEF_PIX * 1024];
        const int64_t p0 = blk * TIEF_PIX;
        const int32_t np = (int32_t)(pixels - p0 < TIEF_PIX ? pixels - p0 : TIEF_PIX);
        for (int32_t k = 0; k < TIEF_PIX; k++) {
            int16_t *dst = xs + (size_t)k * (size_t)cp;
            if (k < np) {
                const uint8_t *src = x + (size_t)(p0 + k) * (size_t)c_in;
                for (int32_t c = 0; c < c_in; c++) dst[c] = src[c];
                for (int32_t c = c_in; c < cp; c++) dst[c] = 0;
            } else {
                memset(dst, 0, (size_t)cp * sizeof *dst);
            }
        }
        for (int32_t m0 = 0; m0 < m_count; m0 += 1024) {
            const int32_t mb = m_count - m0 < 1024 ? m_count - m0 : 1024;
            tief_pw_block(xs, op->wz + (size_t)m0 * (size_t)cp, cp, mb, acc);
            for (int32_t k = 0; k < np; k++)
                tief_requant_row(acc + (size_t)k * (size_t)mb, op->bias_eff + m0,
                                 y + (size_t)(p0 + k) * (size_t)m_count + (size_t)m0, mb, op->rq);
        }
    }
}

/* acc[c] += (src[c] - zp) * wt[c] */
TIEF_CLONES
static void tief_dw_tap(int32_t *acc, const uint8_t *src, const int16_t *wt, int32_t zp, int32_t n) {
    for (int32_t c = 0; c < n; c++) acc[c] += ((int32_t)src[c] - zp) * (int32_t)wt[c];
}

/* Depthwise KH x KW (groups = C = M): x (H, W, C) -> y (OH, OW, C); padding contributes zero
 * (QNNPACK pads with the input zero point). */
static void tief_conv_dw_cpu(const tief_op *op, const uint8_t *x, int32_t h, int32_t w, int32_t x_zp, uint8_t *y,
                             int32_t oh, int32_t ow) {
    const int32_t c_n = op->c;
    TIEF_OMP_FOR
    for (int32_t oy = 0; oy < oh; oy++) {
        int32_t acc[TIEF_MAX_C];
        for (int32_t ox = 0; ox < ow; ox++) {
            memcpy(acc, op->bias, (size_t)c_n * sizeof *acc);
            for (int32_t ky = 0; ky < op->kh; ky++) {
                const int32_t iy = oy * op->sh - op->pt + ky;
                if (iy < 0 || iy >= h) continue;
                for (int32_t kx = 0; kx < op->kw; kx++) {
                    const int32_t ix = ox * op->sw - op->pl + kx;
                    if (ix < 0 || ix >= w) continue;
                    tief_dw_tap(acc, x + ((size_t)iy * (size_t)w + (size_t)ix) * (size_t)c_n,
                                op->wz + (size_t)(ky * op->kw + kx) * (size_t)c_n, x_zp, c_n);
                }
            }
            tief_requant_row(acc, NULL, y + ((size_t)oy * (size_t)ow + (size_t)ox) * (size_t)c_n, c_n, op->rq);
        }
    }
}

/* acc[m] = sum_k patch[k] * w[m][k] for m < n_out */
TIEF_CLONES
static void tief_dots(const int16_t *patch, const int16_t *w, int32_t k_n, int32_t n_out, int32_t *acc) {
    for (int32_t m = 0; m < n_out; m++) {
        const int16_t *wr = w + (size_t)m * (size_t)k_n;
        int32_t a = 0;
        for (int32_t k = 0; k < k_n; k++) a += patch[k] * wr[k];
        acc[m] = a;
    }
}

/* Any grouped KH x KW convolution: per output pixel and group, the zero-point-free patch
 * (KH, KW, Cg) (zeros where padded) dotted with each filter of the group. */
static void tief_conv_general_cpu(const tief_op *op, const uint8_t *x, int32_t h, int32_t w, int32_t x_zp,
                                  uint8_t *y, int32_t oh, int32_t ow) {
    const int32_t c_n = op->c, cg = op->cg, mg = op->m / op->groups, k_n = op->kh * op->kw * cg;
    TIEF_OMP_FOR
    for (int32_t oy = 0; oy < oh; oy++) {
        int16_t patch[TIEF_MAX_PATCH];
        for (int32_t ox = 0; ox < ow; ox++) {
            uint8_t *dst = y + ((size_t)oy * (size_t)ow + (size_t)ox) * (size_t)op->m;
            for (int32_t g = 0; g < op->groups; g++) {
                int32_t k = 0;
                for (int32_t ky = 0; ky < op->kh; ky++) {
                    const int32_t iy = oy * op->sh - op->pt + ky;
                    for (int32_t kx = 0; kx < op->kw; kx++) {
                        const int32_t ix = ox * op->sw - op->pl + kx;
                        const int inside = iy >= 0 && iy < h && ix >= 0 && ix < w;
                        const uint8_t *src = x + ((size_t)iy * (size_t)w + (size_t)ix) * (size_t)c_n + (size_t)g * (size_t)cg;
                        for (int32_t c = 0; c < cg; c++) patch[k++] = inside ? (int16_t)(src[c] - x_zp) : 0;
                    }
                }
                int32_t acc[TIEF_MAX_C];
                tief_dots(patch, op->wz + (size_t)g * (size_t)mg * (size_t)k_n, k_n, mg, acc);
                tief_requant_row(acc, op->bias + g * mg, dst + g * mg, mg, op->rq);
            }
        }
    }
}

TIEF_CLONES
static void tief_add_row(const p3d_qnn_add_rq *rq, const uint8_t *a, const uint8_t *b, uint8_t *y, int64_t n) {
    const p3d_qnn_add_rq r = *rq;
    for (int64_t i = 0; i < n; i++) y[i] = p3d_qnn_add(a[i], b[i], &r);
}

static void tief_add_cpu(const p3d_qnn_add_rq *rq, const uint8_t *a, const uint8_t *b, uint8_t *y, int64_t n) {
    const int64_t chunk = 65536, chunks = (n + chunk - 1) / chunk;
    TIEF_OMP_FOR
    for (int64_t j = 0; j < chunks; j++) {
        const int64_t end = (j + 1) * chunk < n ? (j + 1) * chunk : n;
        tief_add_row(rq, a + j * chunk, b + j * chunk, y + j * chunk, end - j * chunk);
    }
}

/* Caffe2 Int8ResizeNearest x2: in_y = min((int)(y / 2.0f), H - 1) = y / 2. */
static void tief_resize2x_cpu(const uint8_t *x, uint8_t *y, int32_t h, int32_t w, int32_t c) {
    TIEF_OMP_FOR
    for (int32_t oy = 0; oy < 2 * h; oy++) {
        const uint8_t *src = x + (size_t)(oy / 2) * (size_t)w * (size_t)c;
        uint8_t *dst = y + (size_t)oy * (size_t)(2 * w) * (size_t)c;
        for (int32_t ox = 0; ox < 2 * w; ox++) memcpy(dst + (size_t)ox * (size_t)c, src + (size_t)(ox / 2) * (size_t)c, (size_t)c);
    }
}

/* ---- running ---------------------------------------------------------------------------------------- */
static uint8_t *tief_act(const p3d_tief *net, int32_t blob) { return net->act + net->blobs[blob].off; }

static p3d_status tief_run_graph(p3d_tief *net) {
#ifdef P3D_HAVE_CUDA
    struct p3d_cuda_ctx *cu = p3d_ctx_cuda(net->ctx);
#endif
    for (int32_t i = 2; i < net->n_ops - 1; i++) {
        const tief_op *op = &net->ops[i];
        const tief_blob *xb = &net->blobs[op->in[0]], *yb = &net->blobs[op->out];
        const uint8_t *x = tief_act(net, op->in[0]);
        uint8_t *y = tief_act(net, op->out);
#ifdef P3D_HAVE_CUDA
        if (cu) {
            if (op->type == TIEF_CONV && op->cst_dev) {
                P3D_TRY(p3d_tief_conv_pw_cuda(cu, x, op->w_dev, op->cst_dev, y, (int64_t)xb->h * xb->w, op->c,
                                              op->m, op->w_zp, op->rq));
            } else if (op->type == TIEF_CONV) {
                P3D_TRY(p3d_tief_conv_cuda(cu, x, op->w_dev, op->b_dev, y, xb->h, xb->w, op->c, yb->h, yb->w, op->m,
                                           op->kh, op->kw, op->sh, op->sw, op->pt, op->pl, op->groups, xb->zp,
                                           op->w_zp, op->rq));
            } else if (op->type == TIEF_ADD) {
                P3D_TRY(p3d_tief_add_cuda(cu, x, tief_act(net, op->in[1]), y, (int64_t)yb->h * yb->w * yb->c, op->arq));
            } else {
                P3D_TRY(p3d_tief_resize2x_cuda(cu, x, y, xb->h, xb->w, xb->c));
            }
            continue;
        }
#endif
        if (op->type == TIEF_CONV) {
            if (op->kind == TIEF_PW)
                tief_conv_pw_cpu(op, x, y, (int64_t)xb->h * xb->w);
            else if (op->kind == TIEF_DW)
                tief_conv_dw_cpu(op, x, xb->h, xb->w, xb->zp, y, yb->h, yb->w);
            else
                tief_conv_general_cpu(op, x, xb->h, xb->w, xb->zp, y, yb->h, yb->w);
        } else if (op->type == TIEF_ADD) {
            tief_add_cpu(&op->arq, x, tief_act(net, op->in[1]), y, (int64_t)yb->h * yb->w * yb->c);
        } else {
            tief_resize2x_cpu(x, y, xb->h, xb->w, xb->c);
        }
    }
    return P3D_OK;
}

p3d_status p3d_tief_forward(p3d_tief *net, const p3d_tensor *x, p3d_tensor *disparity) {
    if (x->dtype != P3D_F32 || x->ndim != 4 || x->shape[0] != 1 || x->shape[1] != 3)
        return p3d_fail(P3D_ERR_INVALID_ARG, "tiefenrausch: input must be f32 (1, 3, H, W)");
    const int32_t h = (int32_t)x->shape[2], w = (int32_t)x->shape[3];
    const p3d_mem mem = p3d_ctx_mem(net->ctx);
    if (x->mem != mem || disparity->mem != mem)
        return p3d_fail(P3D_ERR_INVALID_ARG, "tiefenrausch: tensors must live in the context's memory");
    if (disparity->dtype != P3D_F32 || p3d_tensor_numel(disparity) != (int64_t)h * w)
        return p3d_fail(P3D_ERR_INVALID_ARG, "tiefenrausch: disparity must be f32 with %d x %d elements", h, w);
    P3D_TRY(p3d_tief_plan(net, h, w));
    const float *xf = (const float *)x->data;
    uint8_t *q = tief_act(net, net->q_in);
    const int64_t px = (int64_t)h * w;
#ifdef P3D_HAVE_CUDA
    struct p3d_cuda_ctx *cu = p3d_ctx_cuda(net->ctx);
    if (cu) {
        P3D_TRY(p3d_tief_quantize_cuda(cu, xf, q, 3, h, w, net->in_scale, net->in_zp));
        P3D_TRY(tief_run_graph(net));
        P3D_TRY(p3d_tief_output_cuda(cu, tief_act(net, net->q_out), (float *)disparity->data, px, net->out_lut_dev));
        net->ran = 1;
        return P3D_OK;
    }
#endif
    /* NCHW2NHWC + Int8Quantize, fused */
    for (int64_t p = 0; p < px; p++)
        for (int32_t c = 0; c < 3; c++) q[p * 3 + c] = p3d_qnn_quantize(xf[(int64_t)c * px + p], net->in_scale, net->in_zp);
    P3D_TRY(tief_run_graph(net));
    const uint8_t *o = tief_act(net, net->q_out);
    float *d = (float *)disparity->data;
    for (int64_t p = 0; p < px; p++) d[p] = net->out_lut[o[p]];
    net->ran = 1;
    return P3D_OK;
}

p3d_status p3d_tief_forward_rgb8(p3d_tief *net, const uint8_t *rgb, int32_t h, int32_t w, float *disparity) {
    P3D_TRY(p3d_tief_plan(net, h, w));
    const int64_t px = (int64_t)h * w;
    uint8_t *q = tief_act(net, net->q_in);
#ifdef P3D_HAVE_CUDA
    struct p3d_cuda_ctx *cu = p3d_ctx_cuda(net->ctx);
    if (cu) {
        P3D_TRY(p3d_ctx_upload(net->ctx, net->rgb_stage, rgb, (size_t)px * 3));
        P3D_TRY(p3d_tief_lut_u8_cuda(cu, net->rgb_stage, q, px * 3, net->in_lut_dev));
        P3D_TRY(tief_run_graph(net));
        P3D_TRY(p3d_tief_output_cuda(cu, tief_act(net, net->q_out), net->disp_stage, px, net->out_lut_dev));
        P3D_TRY(p3d_ctx_download(net->ctx, disparity, net->disp_stage, (size_t)px * sizeof(float)));
        net->ran = 1;
        return P3D_OK;
    }
#endif
    /* (H, W, 3) interleaved RGB is already NHWC */
    for (int64_t i = 0; i < px * 3; i++) q[i] = net->in_lut[rgb[i]];
    P3D_TRY(tief_run_graph(net));
    const uint8_t *o = tief_act(net, net->q_out);
    for (int64_t p = 0; p < px; p++) disparity[p] = net->out_lut[o[p]];
    net->ran = 1;
    return P3D_OK;
}

p3d_status p3d_tief_output_q(p3d_tief *net, uint8_t *dst, float *scale, int32_t *zero_point) {
    if (!net->ran) return p3d_fail(P3D_ERR_INVALID_ARG, "tiefenrausch: no forward has run at the planned size");
    if (scale) *scale = net->out_scale;
    if (zero_point) *zero_point = net->out_zp;
    return p3d_ctx_download(net->ctx, dst, tief_act(net, net->q_out), (size_t)net->plan_h * (size_t)net->plan_w);
}

p3d_status p3d_tief_estimate(p3d_tief *net, const uint8_t *photo, int32_t width, int32_t height, float *disparity,
                             size_t capacity, int32_t *net_w, int32_t *net_h) {
    int32_t w = 0, h = 0;
    P3D_TRY(p3d_tief_input_size(width, height, &w, &h));
    const size_t px = (size_t)h * (size_t)w;
    if (capacity < px)
        return p3d_fail(P3D_ERR_INVALID_ARG, "tiefenrausch: disparity holds %zu values, the %dx%d output needs %zu",
                        capacity, w, h, px);
    P3D_TRY(p3d_tief_plan(net, h, w));
    if (net->host_rgb_cap < px * 3) { /* once per larger size, like the plan */
        uint8_t *b = realloc(net->host_rgb, px * 3);
        if (!b) return p3d_fail(P3D_ERR_OOM, "tiefenrausch: out of memory for a %dx%d input", w, h);
        net->host_rgb = b;
        net->host_rgb_cap = px * 3;
    }
    /* cv2.resize(rgb, (nw, nh), interpolation=cv2.INTER_AREA) on the uint8 photo */
    const int64_t ss[3] = {height, width, 3}, ds[3] = {h, w, 3};
    p3d_tensor src = p3d_tensor_view((void *)photo, P3D_U8, P3D_MEM_HOST, 3, ss);
    p3d_tensor dst = p3d_tensor_view(net->host_rgb, P3D_U8, P3D_MEM_HOST, 3, ds);
    P3D_TRY(p3d_resize_area_cpu(&src, &dst, P3D_RESIZE_HWC));
    P3D_TRY(p3d_tief_forward_rgb8(net, net->host_rgb, h, w, disparity));
    if (net_w) *net_w = w;
    if (net_h) *net_h = h;
    return P3D_OK;
}

/* ---- single operators on host memory ------------------------------------------------------------------ */
p3d_status p3d_tief_conv_host(const p3d_tief_conv_spec *s, const uint8_t *x, const uint8_t *w, const int32_t *bias,
                              uint8_t *y) {
    tief_op op;
    memset(&op, 0, sizeof op);
    op.type = TIEF_CONV;
    op.relu = s->relu;
    op.kh = s->kh, op.kw = s->kw, op.sh = s->sh, op.sw = s->sw;
    op.pt = s->pt, op.pl = s->pl, op.pb = s->pb, op.pr = s->pr, op.groups = s->groups;
    op.m = s->m, op.c = s->c;
    op.y_scale = s->y_scale, op.y_zp = s->y_zp;
    op.w_scale = s->w_scale, op.w_zp = s->w_zp;
    op.w = w, op.bias = bias;
    if (s->groups < 1 || s->c % s->groups || s->m % s->groups || s->kh < 1 || s->kw < 1 || s->sh < 1 ||
        s->sw < 1 || s->pt < 0 || s->pl < 0 || s->pb < 0 || s->pr < 0 || s->h + s->pt + s->pb < s->kh ||
        s->w + s->pl + s->pr < s->kw || (s->x_zp | s->w_zp | s->y_zp) < 0 || s->x_zp > 255 || s->w_zp > 255 ||
        s->y_zp > 255)
        return p3d_fail(P3D_ERR_INVALID_ARG, "tiefenrausch conv: bad shape or zero point");
    op.cg = s->c / s->groups;
    if (!tief_conv_kind(&op)) return p3d_fail(P3D_ERR_INVALID_ARG, "tiefenrausch conv: too large for the CPU kernels");
    const float conv_scale = s->x_scale * s->w_scale / s->y_scale;
    if (!p3d_qnn_conv_rq_init(&op.rq, conv_scale, s->y_zp, s->relu ? s->y_zp : 0, 255))
        return p3d_fail(P3D_ERR_INVALID_ARG, "tiefenrausch conv: requantization scale %g outside (2^-32, 1)",
                        (double)conv_scale);
    const p3d_status st = tief_conv_prepare_host(&op, s->x_zp);
    if (st != P3D_OK) {
        free(op.wz);
        free(op.bias_eff);
        return st;
    }
    const int32_t oh = (s->h + s->pt + s->pb - s->kh) / s->sh + 1, ow = (s->w + s->pl + s->pr - s->kw) / s->sw + 1;
    if (op.kind == TIEF_PW)
        tief_conv_pw_cpu(&op, x, y, (int64_t)s->h * s->w);
    else if (op.kind == TIEF_DW)
        tief_conv_dw_cpu(&op, x, s->h, s->w, s->x_zp, y, oh, ow);
    else
        tief_conv_general_cpu(&op, x, s->h, s->w, s->x_zp, y, oh, ow);
    free(op.wz);
    free(op.bias_eff);
    return P3D_OK;
}

p3d_status p3d_tief_add_host(const uint8_t *a, float a_scale, int32_t a_zp, const uint8_t *b, float b_scale,
                             int32_t b_zp, float y_scale, int32_t y_zp, int32_t relu, uint8_t *y, int64_t n) {
    p3d_qnn_add_rq rq;
    if (!p3d_qnn_add_rq_init(&rq, a_scale, a_zp, b_scale, b_zp, y_scale, y_zp, relu ? y_zp : 0, 255))
        return p3d_fail(P3D_ERR_INVALID_ARG, "tiefenrausch add: scale ratio outside [2^-14, 2^8)");
    tief_add_cpu(&rq, a, b, y, n);
    return P3D_OK;
}

void p3d_tief_resize2x_host(const uint8_t *x, uint8_t *y, int32_t h, int32_t w, int32_t c) {
    tief_resize2x_cpu(x, y, h, w, c);
}
