/* bench.c - runs the stage tables and prints a table (and --json). See bench.h. */
#include "bench.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cli/cli.h"
#ifdef P3D_HAVE_CUDA
#include "p3d_cuda.h"
#endif

/* Every stage table, terminated by a {NULL, NULL} row. */
static const p3d_bench_stage *const k_tables[] = {p3d_bench_stages_core, p3d_bench_stages_io, p3d_bench_stages_depth,
                                                   p3d_bench_stages_nets, p3d_bench_stages_fill,
                                                   p3d_bench_stages_render, p3d_bench_stages_pipeline,
                                                   p3d_bench_stages_ldi, p3d_bench_stages_compact,
                                                   p3d_bench_stages_flow, p3d_bench_stages_video};

static const char *g_weights_dir;
static double g_max_gmac;

typedef struct bench_result {
    const char *name;
    char label[128];
    const char *status; /* "ok", "skipped", "failed" */
    char reason[256];
    int32_t runs;
    double ms_median, ms_min, ms_max;
    double cpu_ms_median; /* the process's CPU time (user + sys, all threads) of the median-wall run */
    double mpix_s, gflop_s;
    double rss_mb, dev_mb;
} bench_result;

const char *p3d_bench_fixture(const char *rel, char *buf, size_t cap) {
    snprintf(buf, cap, "../shared/fixtures/%s", rel);
    return access(buf, R_OK) == 0 ? buf : NULL;
}

const char *p3d_bench_weights_dir(void) {
    static char dir[1024];
    const char *env = getenv("P3D_BENCH_WEIGHTS"), *build = getenv("P3D_BUILD_DIR");
    if (g_weights_dir) return g_weights_dir;
    if (env && env[0]) return env;
    snprintf(dir, sizeof dir, "%s/testdata", build && build[0] ? build : "build");
    return dir;
}

double p3d_bench_max_macs(void) { return g_max_gmac * 1e9; }

size_t p3d_bench_memory_budget(const p3d_ctx *ctx) {
#ifdef P3D_HAVE_CUDA
    p3d_cuda_device_info info;
    if (p3d_ctx_cuda(ctx) && p3d_cuda_device_info_get(p3d_ctx_device(ctx).index, &info) == P3D_OK)
        return info.free_mem / 4 * 3;
#endif
    const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    return pages > 0 && page > 0 ? (size_t)pages / 4 * 3 * (size_t)page : SIZE_MAX;
}

static double peak_rss_mb(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss / 1024.0; /* Linux: kilobytes */
}

/* User + system CPU time of the whole process (every thread), in ms. */
static double cpu_ms(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return 1e3 * ((double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec) +
           1e-3 * ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* One timed call: CUDA events around the run on the GPU, wall clock after a sync on the CPU. */
static p3d_status time_one(p3d_ctx *ctx, p3d_bench_case *c, double *ms) {
#ifdef P3D_HAVE_CUDA
    if (p3d_ctx_cuda(ctx)) {
        p3d_cuda_timer *t = NULL;
        P3D_TRY(p3d_cuda_timer_init(p3d_ctx_cuda(ctx), &t));
        p3d_status st = p3d_cuda_timer_start(t);
        if (st == P3D_OK) st = c->run(c->state, ctx);
        if (st == P3D_OK) st = p3d_cuda_timer_stop_ms(t, ms);
        p3d_cuda_timer_free(t);
        return st;
    }
#endif
    double t0 = p3d_time_now();
    P3D_TRY(c->run(c->state, ctx));
    P3D_TRY(p3d_ctx_sync(ctx));
    *ms = 1e3 * (p3d_time_now() - t0);
    return P3D_OK;
}

static void run_stage(const p3d_bench_stage *s, p3d_ctx *ctx, int32_t warmup, int32_t runs, bench_result *r) {
    memset(r, 0, sizeof *r);
    r->name = s->name;
    p3d_bench_case c;
    memset(&c, 0, sizeof c);
    p3d_status st = s->setup(ctx, &c);
    snprintf(r->label, sizeof r->label, "%s", c.label);
    if (st != P3D_OK) {
        r->status = st == P3D_ERR_UNSUPPORTED ? "skipped" : "failed";
        snprintf(r->reason, sizeof r->reason, "%s", p3d_last_error());
        return;
    }
    /* (wall, cpu) ms pairs, sorted by wall */
    double *ms = (double *)calloc(2 * (size_t)runs, sizeof *ms);
    if (!ms) {
        r->status = "failed";
        snprintf(r->reason, sizeof r->reason, "out of memory");
        if (c.teardown) c.teardown(c.state, ctx);
        return;
    }
    for (int32_t i = -warmup; i < runs && st == P3D_OK; i++) {
        double t = 0;
        if (c.reset) st = c.reset(c.state, ctx);
        if (st != P3D_OK) break;
        const double c0 = cpu_ms();
        st = time_one(ctx, &c, &t);
        if (i >= 0) {
            ms[2 * i] = t;
            ms[2 * i + 1] = cpu_ms() - c0;
        }
    }
    if (st != P3D_OK) {
        r->status = "failed";
        snprintf(r->reason, sizeof r->reason, "%s", p3d_last_error());
    } else {
        qsort(ms, (size_t)runs, 2 * sizeof *ms, cmp_double);
        r->status = "ok";
        r->runs = runs;
        r->ms_min = ms[0];
        r->ms_max = ms[2 * (runs - 1)];
        r->ms_median = runs % 2 ? ms[2 * (runs / 2)] : 0.5 * (ms[2 * (runs / 2 - 1)] + ms[2 * (runs / 2)]);
        r->cpu_ms_median = runs % 2 ? ms[2 * (runs / 2) + 1] : 0.5 * (ms[2 * (runs / 2 - 1) + 1] + ms[2 * (runs / 2) + 1]);
        r->mpix_s = c.pixels > 0 ? c.pixels / (r->ms_median * 1e3) : 0;
        r->gflop_s = c.macs > 0 ? 2.0 * c.macs / (r->ms_median * 1e6) : 0;
    }
    free(ms);
    r->rss_mb = peak_rss_mb();
    r->dev_mb = p3d_ctx_cuda(ctx) ? (double)p3d_ctx_bytes_peak(ctx) / (1 << 20) : 0;
    if (c.teardown) c.teardown(c.state, ctx);
}

static void print_json_string(FILE *f, const char *s) {
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') fprintf(f, "\\%c", *s);
        else if ((unsigned char)*s < 0x20) fprintf(f, "\\u%04x", (unsigned)*s);
        else fputc(*s, f);
    }
    fputc('"', f);
}

static int write_json(const char *path, const char *device, const char *clock, const bench_result *res, int32_t n) {
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp%d", path, (int)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f) {
        fprintf(stderr, "bench: cannot write %s\n", path);
        return 0;
    }
    fprintf(f, "{\n  \"device\": ");
    print_json_string(f, device);
    fprintf(f, ",\n  \"clock\": ");
    print_json_string(f, clock);
    fprintf(f, ",\n  \"stages\": [\n");
    for (int32_t i = 0; i < n; i++) {
        const bench_result *r = &res[i];
        fprintf(f, "    {\"name\": ");
        print_json_string(f, r->name);
        fprintf(f, ", \"input\": ");
        print_json_string(f, r->label);
        fprintf(f, ", \"status\": \"%s\", \"reason\": ", r->status);
        print_json_string(f, r->reason);
        fprintf(f, ", \"runs\": %d, \"ms_median\": %.6f, \"ms_min\": %.6f, \"ms_max\": %.6f, \"cpu_ms_median\": %.3f, "
                   "\"mpixel_per_s\": %.3f, \"gflop_per_s\": %.3f, \"peak_rss_mb\": %.1f, \"peak_device_mb\": %.1f}%s\n",
                (int)r->runs, r->ms_median, r->ms_min, r->ms_max, r->cpu_ms_median, r->mpix_s, r->gflop_s, r->rss_mb, r->dev_mb,
                i + 1 < n ? "," : "");
    }
    fprintf(f, "  ]\n}\n");
    int ok = fclose(f) == 0 && rename(tmp, path) == 0;
    if (!ok) {
        fprintf(stderr, "bench: cannot write %s\n", path);
        unlink(tmp);
    }
    return ok;
}

static const char *const k_help =
    "usage: bench [--device cpu|cuda[:N]|auto] [--runs N] [--warmup N] [--filter GLOB] [--json FILE] [--list]\n"
    "             [--weights-dir DIR] [--max-gmac G]\n"
    "\n"
    "Times each pipeline stage: warm-up, then N runs; prints median/min/max ms, the process CPU ms\n"
    "(user + sys, all threads) of the median run, MPixel/s, GFLOP/s\n"
    "(against the stage's MAC count), peak host RSS and peak device memory. Run from the project\n"
    "root so ../shared/fixtures is found.\n"
    "\n"
    "  --weights-dir DIR  weight blobs of the network stages (default $P3D_BENCH_WEIGHTS, else\n"
    "                     $P3D_BUILD_DIR/testdata, else build/testdata: tools/make_test_weights.py)\n"
    "  --max-gmac G       skip stages of more than G GMAC per run (slow CPUs); stages also skip\n"
    "                     themselves when they would need more than 3/4 of the memory\n";

int main(int argc, char **argv) {
    const char *device_arg = "auto", *filter = "*", *json = NULL;
    int32_t runs = 10, warmup = 2;
    int list = 0;
    p3d_args it;
    p3d_args_init(&it, argc, argv);
    while (p3d_args_next(&it)) {
        const char *v = NULL;
        if (p3d_args_is(&it, "-h", "--help")) {
            fputs(k_help, stdout);
            return 0;
        } else if (p3d_args_is(&it, NULL, "--list")) {
            list = 1;
        } else if (p3d_args_is(&it, NULL, "--device")) {
            if (!(device_arg = p3d_args_value(&it))) return P3D_EXIT_USAGE;
        } else if (p3d_args_is(&it, NULL, "--filter")) {
            if (!(filter = p3d_args_value(&it))) return P3D_EXIT_USAGE;
        } else if (p3d_args_is(&it, NULL, "--json")) {
            if (!(json = p3d_args_value(&it))) return P3D_EXIT_USAGE;
        } else if (p3d_args_is(&it, NULL, "--weights-dir")) {
            if (!(g_weights_dir = p3d_args_value(&it))) return P3D_EXIT_USAGE;
        } else if (p3d_args_is(&it, NULL, "--max-gmac")) {
            if (!(v = p3d_args_value(&it))) return P3D_EXIT_USAGE;
            char *end = NULL;
            g_max_gmac = strtod(v, &end);
            if (*end || !(g_max_gmac >= 0)) {
                fprintf(stderr, "bench: --max-gmac '%s': expected a number >= 0\n", v);
                return P3D_EXIT_USAGE;
            }
        } else if (p3d_args_is(&it, NULL, "--runs") || p3d_args_is(&it, NULL, "--warmup")) {
            int is_runs = strcmp(it.arg, "--runs") == 0;
            if (!(v = p3d_args_value(&it))) return P3D_EXIT_USAGE;
            char *end = NULL;
            long n = strtol(v, &end, 10);
            if (*end || n < (is_runs ? 1 : 0) || n > 100000) {
                fprintf(stderr, "bench: %s '%s': expected a count\n", it.arg, v);
                return P3D_EXIT_USAGE;
            }
            *(is_runs ? &runs : &warmup) = (int32_t)n;
        } else {
            fprintf(stderr, "bench: unknown argument '%s'\n%s", it.arg, k_help);
            return P3D_EXIT_USAGE;
        }
    }
    if (list) {
        for (size_t t = 0; t < sizeof k_tables / sizeof k_tables[0]; t++)
            for (const p3d_bench_stage *s = k_tables[t]; s->name; s++) printf("%s\n", s->name);
        return 0;
    }
    p3d_device dev;
    p3d_ctx *ctx = NULL;
    p3d_status st = p3d_device_parse(device_arg, &dev);
    if (st == P3D_OK) st = p3d_device_resolve(&dev);
    if (st == P3D_OK) st = p3d_ctx_init(&ctx, dev);
    if (st != P3D_OK) return p3d_report_failure(st);
    char devname[300];
    p3d_device_str(dev, devname, sizeof devname);
#ifdef P3D_HAVE_CUDA
    p3d_cuda_device_info info;
    if (dev.kind == P3D_DEVICE_CUDA && p3d_cuda_device_info_get(dev.index, &info) == P3D_OK)
        snprintf(devname + strlen(devname), sizeof devname - strlen(devname), " (%s)", info.name);
#endif
    bench_result res[256];
    int32_t n = 0, failed = 0;
    printf("device: %s, %d runs after %d warm-up\n", devname, (int)runs, (int)warmup);
#ifdef P3D_CUDA_EMU
    if (dev.kind == P3D_DEVICE_CUDA)
        printf("note: the emulated CUDA device: its events record host time, so the times are the CPU's\n");
#endif
    printf("%-22s %-40s %9s %9s %9s %9s %10s %9s %8s %8s\n", "stage", "input", "median ms", "min ms", "max ms",
           "cpu ms", "MPixel/s", "GFLOP/s", "RSS MB", "dev MB");
    for (size_t t = 0; t < sizeof k_tables / sizeof k_tables[0]; t++) {
        for (const p3d_bench_stage *s = k_tables[t]; s->name && n < 256; s++) {
            if (fnmatch(filter, s->name, 0) != 0) continue;
            bench_result *r = &res[n++];
            run_stage(s, ctx, warmup, runs, r);
            if (strcmp(r->status, "ok") == 0)
                printf("%-22s %-40s %9.3f %9.3f %9.3f %9.1f %10.1f %9.1f %8.1f %8.1f\n", r->name, r->label, r->ms_median,
                       r->ms_min, r->ms_max, r->cpu_ms_median, r->mpix_s, r->gflop_s, r->rss_mb, r->dev_mb);
            else
                printf("%-22s %-40s %s: %s\n", r->name, r->label, r->status, r->reason);
            failed += strcmp(r->status, "failed") == 0;
            fflush(stdout);
        }
    }
    /* what ms_* measure: CUDA events on a GPU; the emulated device's events read the host clock */
    const char *clock = dev.kind == P3D_DEVICE_CUDA ? "cuda events" : "host";
#ifdef P3D_CUDA_EMU
    if (dev.kind == P3D_DEVICE_CUDA) clock = "host (emulated CUDA device: events record host time)";
#endif
    if (json && !write_json(json, devname, clock, res, n)) failed++;
    p3d_ctx_free(ctx);
    return failed ? P3D_EXIT_FAIL : 0;
}
