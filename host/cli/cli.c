/* cli.c - option scanner and error reporting shared by the subcommands. */
#include "cli/cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void p3d_args_init(p3d_args *it, int argc, char **argv) {
    memset(it, 0, sizeof *it);
    it->argc = argc;
    it->argv = argv;
    it->i = 0;
}

int p3d_args_next(p3d_args *it) {
    it->i++;
    if (it->i >= it->argc) return 0;
    const char *a = it->argv[it->i];
    it->inline_val = NULL;
    if (!it->only_positional && strcmp(a, "--") == 0) {
        it->only_positional = 1;
        return p3d_args_next(it);
    }
    if (it->only_positional || a[0] != '-' || a[1] == '\0') {
        it->positional = 1;
        it->arg = a;
        return 1;
    }
    it->positional = 0;
    const char *eq = a[1] == '-' ? strchr(a, '=') : NULL;
    if (eq && (size_t)(eq - a) < sizeof it->name_buf) {
        memcpy(it->name_buf, a, (size_t)(eq - a));
        it->name_buf[eq - a] = '\0';
        it->arg = it->name_buf;
        it->inline_val = eq + 1;
    } else {
        it->arg = a;
    }
    return 1;
}

int p3d_args_is(const p3d_args *it, const char *short_name, const char *long_name) {
    if (it->positional) return 0;
    return (short_name && strcmp(it->arg, short_name) == 0) || (long_name && strcmp(it->arg, long_name) == 0);
}

const char *p3d_args_value(p3d_args *it) {
    if (it->inline_val) return it->inline_val;
    if (it->i + 1 >= it->argc) {
        fprintf(stderr, "photo3d-gpu: option %s needs a value\n", it->arg);
        return NULL;
    }
    it->i++;
    return it->argv[it->i];
}

int p3d_args_unknown(const p3d_args *it) {
    fprintf(stderr, "photo3d-gpu %s: unknown option '%s' (see photo3d-gpu %s --help)\n", it->argv[0],
            it->arg, it->argv[0]);
    return P3D_EXIT_USAGE;
}

int p3d_usage_error(const char *cmd, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "photo3d-gpu %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (see photo3d-gpu %s --help)\n", cmd);
    va_end(ap);
    return P3D_EXIT_USAGE;
}

int p3d_report_failure(p3d_status st) {
    const char *msg = p3d_last_error();
    fprintf(stderr, "photo3d-gpu: error: %s\n", msg[0] ? msg : p3d_status_str(st));
    return st == P3D_ERR_INVALID_ARG ? P3D_EXIT_USAGE : P3D_EXIT_FAIL;
}

p3d_status p3d_parse_size(const char *text, int32_t *w, int32_t *h) {
    int sw = 0, sh = 0;
    char tail = 0;
    if (sscanf(text, "%dx%d%c", &sw, &sh, &tail) != 2 || sw < 2 || sh < 2 || sw > 16384 || sh > 16384)
        return p3d_fail(P3D_ERR_INVALID_ARG, "--size '%s': expected WxH, each 2..16384", text);
    *w = sw;
    *h = sh;
    return P3D_OK;
}

p3d_status p3d_parse_crop(const char *text, float crop[4]) {
    double c[4];
    char tail = 0;
    if (sscanf(text, "%lf,%lf,%lf,%lf%c", &c[0], &c[1], &c[2], &c[3], &tail) != 4 ||
        !(c[0] >= 0 && c[1] >= 0 && c[2] >= 0 && c[3] >= 0 && c[0] + c[2] < 0.9 && c[1] + c[3] < 0.9))
        return p3d_fail(P3D_ERR_INVALID_ARG, "--crop '%s': expected T,L,B,R fractions >= 0 with T+B and L+R below 0.9",
                        text);
    for (int k = 0; k < 4; k++) crop[k] = (float)c[k];
    return P3D_OK;
}

int p3d_args_depth(p3d_args *it, const char *cmd, const char **path, p3d_depth_opts *o, int *rc) {
    const char *v;
    if (p3d_args_is(it, NULL, "--depth")) {
        if (!(*path = p3d_args_value(it))) *rc = P3D_EXIT_USAGE;
    } else if (p3d_args_is(it, NULL, "--metric")) {
        o->kind = P3D_DEPTH_METRIC;
    } else if (p3d_args_is(it, NULL, "--depth-scale")) {
        char *end = NULL;
        double x = 0;
        if (!(v = p3d_args_value(it))) *rc = P3D_EXIT_USAGE;
        else if ((x = strtod(v, &end)), !end || end == v || *end || !(x > 0) || x > 1e9)
            *rc = p3d_usage_error(cmd, "--depth-scale '%s': expected a positive number", v);
        else o->scale = (float)x;
    } else {
        return 0;
    }
    return 1;
}
