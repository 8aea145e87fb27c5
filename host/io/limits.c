/* limits.c - the process-wide pixel limit (limits.h). */
#include "io/limits.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>

static int64_t g_max_pixels = P3D_DEFAULT_MAX_PIXELS;

int64_t p3d_max_pixels(void) { return g_max_pixels; }

void p3d_set_max_pixels(int64_t n) {
    const int64_t cap = (int64_t)1 << 32;
    g_max_pixels = n < 1 ? 1 : n > cap ? cap : n;
}

/* A decimal number at *s (no sign), at most 2^40; advances *s. */
static int parse_u40(const char **s, int64_t *out) {
    const char *p = *s;
    int64_t v = 0;
    if (!isdigit((unsigned char)*p)) return 0;
    for (; isdigit((unsigned char)*p); p++) {
        v = v * 10 + (*p - '0');
        if (v > ((int64_t)1 << 40)) return 0;
    }
    *s = p;
    *out = v;
    return 1;
}

p3d_status p3d_max_pixels_parse(const char *text, int64_t *out) {
    const char *p = text;
    int64_t a = 0, b = 0;
    if (parse_u40(&p, &a)) {
        if (*p == 'x' && (p++, parse_u40(&p, &b)) && *p == '\0' && a <= P3D_MAX_SIDE && b <= P3D_MAX_SIDE) a *= b;
        else if ((*p == 'K' || *p == 'k') && p[1] == '\0') a *= 1000;
        else if ((*p == 'M' || *p == 'm') && p[1] == '\0') a *= 1000000;
        else if ((*p == 'G' || *p == 'g') && p[1] == '\0' && a <= 1000) a *= 1000000000;
        else if (*p != '\0') a = 0;
        if (a >= 1) {
            *out = a;
            return P3D_OK;
        }
    }
    return p3d_fail(P3D_ERR_INVALID_ARG, "--max-pixels '%s': expected a pixel count such as 268M, 268435456 or "
                                         "16384x16384 (at least 1)", text);
}

p3d_status p3d_pixels_check(const char *path, const char *what, int64_t w, int64_t h) {
    if (w <= 0 || h <= 0)
        return p3d_fail(P3D_ERR_FORMAT, "%s: %s has an empty size %lldx%lld", path, what, (long long)w, (long long)h);
    if (w > P3D_MAX_SIDE || h > P3D_MAX_SIDE)
        return p3d_fail(P3D_ERR_FORMAT, "%s: %s is %lldx%lld, a side larger than %d pixels", path, what, (long long)w,
                        (long long)h, P3D_MAX_SIDE);
    if (w * h > g_max_pixels)
        return p3d_fail(P3D_ERR_FORMAT, "%s: %s is %lldx%lld = %lld pixels, more than the limit of %lld (--max-pixels)",
                        path, what, (long long)w, (long long)h, (long long)(w * h), (long long)g_max_pixels);
    return P3D_OK;
}
