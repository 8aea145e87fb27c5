/* bench.h - the `bench` program's stage interface.
 *
 * Each stage file (bench/stages_*.c) exports a table of p3d_bench_stage. A stage's setup loads its
 * inputs and plans its memory outside the timed region, then `run` is called warm-up + N times;
 * the harness times each call (CUDA events on the GPU, the monotonic clock on the CPU, after a
 * p3d_ctx_sync so queued work is counted), and reports median/min/max, MPixel/s against `pixels`,
 * GFLOP/s against `macs` (FLOP = 2 x MAC), peak host RSS and peak device memory. On the emulated
 * CUDA device (P3D_CUDA_EMU) an event records host time, so "device" times there are wall times of
 * the CPU running the kernels. */
#ifndef P3D_BENCH_H
#define P3D_BENCH_H

#include "core/backend.h"
#include "ldi/ldi_inpaint.h"
#include "pipeline/photo3d.h"

typedef struct p3d_bench_case {
    void *state;
    p3d_status (*run)(void *state, p3d_ctx *ctx);
    void (*teardown)(void *state, p3d_ctx *ctx);
    /* Optional: called before every run (warm-up included), outside the timed region, to put the
     * stage's input back (a stage that consumes its input, as the pipeline's stages do). */
    p3d_status (*reset)(void *state, p3d_ctx *ctx);
    char label[128];  /* input description, e.g. "moon.jpg 2100x2100 -> 960x960 u8" */
    double pixels;    /* pixels processed per run (0 = not a pixel stage) */
    double macs;      /* multiply-accumulates per run (0 = not a compute stage) */
} p3d_bench_case;

typedef struct p3d_bench_stage {
    const char *name; /* "resize.area.u8": group.op.variant, matched by --filter */
    /* Fills *out. Returns P3D_ERR_UNSUPPORTED (with a reason) to skip the stage on this device. */
    p3d_status (*setup)(p3d_ctx *ctx, p3d_bench_case *out);
} p3d_bench_stage;

/* ../shared/fixtures/<rel> if readable, else NULL. */
const char *p3d_bench_fixture(const char *rel, char *buf, size_t cap);

/* Where stages find weight blobs: --weights-dir, else $P3D_BENCH_WEIGHTS, else $P3D_BUILD_DIR/testdata,
 * else build/testdata (the random-weight blobs of tools/make_test_weights.py). */
const char *p3d_bench_weights_dir(void);
/* Budgets a stage checks in its setup, skipping itself (P3D_ERR_UNSUPPORTED) with the reason:
 * multiply-accumulates per run (--max-gmac; 0 = none) and memory (3/4 of the host's physical memory on
 * the CPU, of the GPU's free memory on CUDA). */
double p3d_bench_max_macs(void);
/* The learned fill's three nets on ctx from p3d_bench_weights_dir(): the converted checkpoints
 * (edge-model.p3dw, ...) when there, else the random-weight test blobs (edge-random.p3dw, ...), which
 * cost the same arithmetic; P3D_ERR_UNSUPPORTED when neither is found (the stage is skipped). */
p3d_status p3d_bench_nets_load(p3d_ctx *ctx, p3d_ldi_nets *nets);
size_t p3d_bench_memory_budget(const p3d_ctx *ctx);

#define P3D_BENCH_TABLE(var) const p3d_bench_stage var[]
/* The reference's example through the pipeline: moon.jpg + moon.npy at 960x960, non-learned fill, up to
 * the dense mesh (and the compact one when compact); P3D_ERR_UNSUPPORTED without ../shared/fixtures/moon
 * (stages_compact.c). */
p3d_status p3d_bench_moon_result(p3d_ctx *ctx, int32_t compact, p3d_photo_result *r);

extern const p3d_bench_stage p3d_bench_stages_core[];
extern const p3d_bench_stage p3d_bench_stages_io[];
extern const p3d_bench_stage p3d_bench_stages_depth[];
extern const p3d_bench_stage p3d_bench_stages_nets[];
extern const p3d_bench_stage p3d_bench_stages_fill[];
extern const p3d_bench_stage p3d_bench_stages_render[];
extern const p3d_bench_stage p3d_bench_stages_pipeline[];
extern const p3d_bench_stage p3d_bench_stages_ldi[];
extern const p3d_bench_stage p3d_bench_stages_compact[];
extern const p3d_bench_stage p3d_bench_stages_flow[];
extern const p3d_bench_stage p3d_bench_stages_video[];

#endif
