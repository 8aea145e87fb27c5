/* cmd_net.c - `photo3d-gpu net`: runs one inpainting network's forward_3P on .npy inputs (a debugging
 * and parity tool: the same call the pipeline makes per patch, on arrays a user or a Python script
 * prepared).
 *
 * Inputs are read with host/io/npy.h ('<f4', '<f8', '<u2', '|u1', '|b1' binary maps); the output is
 * written as '<f4', atomically (temporary file + rename). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/backend.h"
#include "inpaint/inpaint_nets.h"
#include "io/npy.h"
#include "nn/weights.h"

static const char *const k_net_help =
    "usage: photo3d-gpu net --model edge|depth|color --weights W.p3dw --input A.npy [--input B.npy ...]\n"
    "                       --output OUT.npy [--device cpu|cuda[:N]|auto]\n"
    "\n"
    "Runs one inpainting network as the reference's forward_3P does: concatenates the inputs in the\n"
    "network's channel order (the edge net divides disp by its per-patch maximum), zero-pads them,\n"
    "centred, to multiples of 128, runs the network and crops the output back. Inputs, in this order:\n"
    "  edge:  mask, context, rgb, disp, edge      -> OUT (N, 1, H, W) edge probability\n"
    "  depth: mask, context, depth, edge          -> OUT (N, 1, H, W) (depth = zero-mean log depth)\n"
    "  color: mask, context, rgb, edge            -> OUT (N, 3, H, W) rgb in [0, 1]\n"
    "Each input is a .npy array (N, C, H, W), or (C, H, W) / (H, W) for one patch, of dtype float32,\n"
    "float64, uint8 or bool; C is 3 for rgb and 1 otherwise. All inputs share N, H and W.\n"
    "OUT is written as float32 (N, C, H, W), atomically.\n"
    "\n"
    "  --model NAME      edge, depth or color\n"
    "  --weights FILE    the network's .p3dw blob (tools/convert_inpaint.py)\n"
    "  --input FILE      one per network input, in the order above\n"
    "  --output FILE     where the result goes\n"
    "  --device DEV      cpu, cuda, cuda:N or auto (default: auto = the first GPU, else the CPU)\n";

/* ---- the command ---------------------------------------------------------------------------------------- */

/* (H, W) and (C, H, W) become (1, 1, H, W) and (1, C, H, W). */
static p3d_status promote(const char *path, p3d_tensor *t) {
    if (t->ndim < 2) return p3d_fail(P3D_ERR_INVALID_ARG, "%s: a 1-D array; expected (N, C, H, W), (C, H, W) or (H, W)", path);
    int64_t shape[4] = {1, 1, 1, 1};
    for (int32_t i = 0; i < t->ndim; i++) shape[4 - t->ndim + i] = t->shape[i];
    *t = p3d_tensor_view(t->data, P3D_F32, P3D_MEM_HOST, 4, shape);
    return P3D_OK;
}

typedef struct net_job {
    p3d_inpaint_kind kind;
    const char *weights, *output, *device;
    const char *input[P3D_INPAINT_MAX_ARGS];
    int32_t n_inputs;
    p3d_tensor in[P3D_INPAINT_MAX_ARGS];
} net_job;

static p3d_status read_inputs(net_job *j) {
    char got[64], want[64];
    for (int32_t i = 0; i < j->n_inputs; i++) {
        P3D_TRY(p3d_npy_read(j->input[i], &j->in[i], NULL));
        P3D_TRY(promote(j->input[i], &j->in[i]));
        const p3d_tensor *t = &j->in[i], *t0 = &j->in[0];
        const int64_t c = p3d_inpaint_arg_channels(j->kind, i);
        if (t->shape[1] != c || t->shape[0] != t0->shape[0] || t->shape[2] != t0->shape[2] || t->shape[3] != t0->shape[3]) {
            const int64_t w[4] = {t0->shape[0], c, t0->shape[2], t0->shape[3]};
            return p3d_fail(P3D_ERR_INVALID_ARG, "%s: input %d (%s) of %s has shape %s, expected %s%s", j->input[i],
                            (int)i + 1, p3d_inpaint_arg_name(j->kind, i), p3d_inpaint_kind_name(j->kind),
                            p3d_shape_str(got, sizeof got, 4, t->shape), p3d_shape_str(want, sizeof want, 4, w),
                            i ? " (N, H, W of the first input)" : "");
        }
    }
    return P3D_OK;
}

static p3d_status run_job(net_job *j, p3d_ctx *ctx) {
    P3D_TRY(read_inputs(j));
    p3d_weights *w = NULL;
    p3d_inpaint_net *net = NULL;
    P3D_TRY(p3d_weights_load(j->weights, &w));
    p3d_status st = p3d_inpaint_net_init(&net, ctx, w, j->kind);
    p3d_weights_free(w);
    if (st != P3D_OK) return st;
    const p3d_tensor *t0 = &j->in[0];
    const int64_t n = t0->shape[0], h = t0->shape[2], wd = t0->shape[3], c = p3d_inpaint_net_out_channels(net);
    int64_t hp, wp, top, left;
    p3d_inpaint_padded_size(net, h, wd, &hp, &wp, &top, &left);
    float *y = (float *)malloc((size_t)(n * c * h * wd) * sizeof(float));
    const int64_t shape[4] = {n, c, h, wd};
    p3d_tensor out = p3d_tensor_view(y, P3D_F32, P3D_MEM_HOST, 4, shape);
    const p3d_tensor *args[P3D_INPAINT_MAX_ARGS];
    for (int32_t i = 0; i < j->n_inputs; i++) args[i] = &j->in[i];
    st = y ? p3d_inpaint_net_plan(net, n, hp, wp) : p3d_fail(P3D_ERR_OOM, "net: out of memory for the output");
    const double t_start = p3d_time_now();
    if (st == P3D_OK) st = p3d_inpaint_net_forward_3p(net, args, j->n_inputs, &out);
    if (st == P3D_OK) {
        p3d_log(P3D_LOG_INFO, "net %s: %lld x %lldx%lld (padded %lldx%lld) in %.1f ms, %.1f GMAC",
                p3d_inpaint_kind_name(j->kind), (long long)n, (long long)h, (long long)wd, (long long)hp,
                (long long)wp, 1e3 * (p3d_time_now() - t_start), 1e-9 * (double)p3d_inpaint_net_macs(net, n, hp, wp));
        st = p3d_npy_write(j->output, &out);
    }
    free(y);
    p3d_inpaint_net_free(net);
    return st;
}

int p3d_cmd_net(int argc, char **argv) {
    net_job j;
    memset(&j, 0, sizeof j);
    j.device = "auto";
    const char *model = NULL;
    p3d_args it;
    p3d_args_init(&it, argc, argv);
    while (p3d_args_next(&it)) {
        const char **dst = NULL;
        if (p3d_args_is(&it, "-h", "--help")) {
            fputs(k_net_help, stdout);
            return P3D_EXIT_OK;
        } else if (p3d_args_is(&it, NULL, "--model")) {
            dst = &model;
        } else if (p3d_args_is(&it, NULL, "--weights")) {
            dst = &j.weights;
        } else if (p3d_args_is(&it, NULL, "--output")) {
            dst = &j.output;
        } else if (p3d_args_is(&it, NULL, "--device")) {
            dst = &j.device;
        } else if (p3d_args_is(&it, NULL, "--input")) {
            if (j.n_inputs == P3D_INPAINT_MAX_ARGS)
                return p3d_usage_error("net", "more than %d --input files", P3D_INPAINT_MAX_ARGS);
            dst = &j.input[j.n_inputs++];
        } else if (it.positional) {
            return p3d_usage_error("net", "unexpected argument '%s'", it.arg);
        } else {
            return p3d_args_unknown(&it);
        }
        if (!(*dst = p3d_args_value(&it))) return P3D_EXIT_USAGE;
    }
    if (!model || !j.weights || !j.output || j.n_inputs == 0)
        return p3d_usage_error("net", "--model, --weights, --input and --output are required");
    if (p3d_inpaint_kind_parse(model, &j.kind) != P3D_OK) return p3d_usage_error("net", "%s", p3d_last_error());
    const int32_t want = p3d_inpaint_arg_count(j.kind);
    if (j.n_inputs != want) {
        char order[96] = "";
        for (int32_t i = 0; i < want; i++)
            snprintf(order + strlen(order), sizeof order - strlen(order), "%s%s", i ? ", " : "",
                     p3d_inpaint_arg_name(j.kind, i));
        return p3d_usage_error("net", "--model %s takes %d --input files (%s), got %d", model, (int)want, order,
                               (int)j.n_inputs);
    }
    p3d_device dev;
    p3d_ctx *ctx = NULL;
    p3d_status st = p3d_device_parse(j.device, &dev);
    if (st == P3D_OK) st = p3d_device_resolve(&dev);
    if (st == P3D_OK) st = p3d_ctx_init(&ctx, dev);
    if (st == P3D_OK) st = run_job(&j, ctx);
    for (int32_t i = 0; i < j.n_inputs; i++) p3d_npy_free(&j.in[i]);
    p3d_ctx_free(ctx);
    return st == P3D_OK ? P3D_EXIT_OK : p3d_report_failure(st);
}
