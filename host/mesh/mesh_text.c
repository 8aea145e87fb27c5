/* mesh_text.c - the shortest decimal text of a float32 that reads back to the same float (the ASCII
 * PLY's numbers and the GLB's JSON numbers; mesh_format.h).
 *
 * The result is exactly what the obvious loop gives - "%.6g", "%.7g", "%.8g", "%.9g", the first whose
 * strtof is the same float (like Python's repr, for float32; "%.9g" always is) - but for the usual
 * magnitudes it is computed with exact 128-bit integer arithmetic instead of up to four snprintf +
 * strtof pairs (about 6x faster, which is most of an ASCII PLY's writing time):
 *   v = m 2^e (m < 2^24). For a precision p, N = round-half-even(|v| 10^s) with s = p - 1 - E,
 *   E = floor(log10 |v|), is the p-digit decimal %.{p}g prints; it reads back to v when N 10^-s lies
 *   inside v's rounding interval (the midpoints to its neighbours; a midpoint itself only when m is
 *   even, strtof rounding ties to even). With 2^-64 <= |v| < 2^64 every product below fits in 128
 *   bits; other values (and zero) take the snprintf loop. tests/test_mesh.c compares both on random
 *   bit patterns. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mesh/mesh_format.h"

typedef unsigned __int128 u128;

/* 10^k for 0 <= k <= 38. */
static u128 pow10_u128(int32_t k) {
    static const uint64_t t[20] = {1ull, 10ull, 100ull, 1000ull, 10000ull, 100000ull, 1000000ull, 10000000ull,
                                   100000000ull, 1000000000ull, 10000000000ull, 100000000000ull, 1000000000000ull,
                                   10000000000000ull, 100000000000000ull, 1000000000000000ull, 10000000000000000ull,
                                   100000000000000000ull, 1000000000000000000ull, 10000000000000000000ull};
    return k < 20 ? (u128)t[k] : (u128)t[19] * t[k - 19];
}

/* Sign of a 10^-s - b 2^e2 (all exact). */
static int cmp_scaled(u128 a, int32_t s, u128 b, int32_t e2) {
    if (s < 0) a *= pow10_u128(-s);
    else b *= pow10_u128(s);
    if (e2 < 0) a <<= -e2;
    else b <<= e2;
    return a < b ? -1 : a > b;
}

/* N = round-half-even(m 2^e 10^s) and the decimal exponent E of |v| = m 2^e for precision p
 * (10^(p-1) <= N <= 10^p - 1 after carrying into E). */
static uint64_t digits_for(uint32_t m, int32_t e, int32_t p, int32_t *E) {
    for (;;) {
        const int32_t s = p - 1 - *E;
        u128 num = m, den = 1;
        if (s >= 0) num *= pow10_u128(s);
        else den *= pow10_u128(-s);
        if (e >= 0) num <<= e;
        else den <<= -e;
        /* den is a power of two unless s < 0 (|v| >= 10^p): a shift then, not a 128-bit division. */
        u128 q, r;
        if (s >= 0) {
            q = e >= 0 ? num : num >> -e;
            r = num - (e >= 0 ? q : q << -e);
        } else {
            q = num / den;
            r = num - q * den;
        }
        const u128 lo = pow10_u128(p - 1), hi = lo * 10;
        if (q >= hi) { /* log10 estimate one low */
            (*E)++;
            continue;
        }
        if (q < lo) {
            (*E)--;
            continue;
        }
        if (2 * r > den || (2 * r == den && (q & 1))) q++;
        if (q == hi) {
            q = lo;
            (*E)++;
        }
        return (uint64_t)q;
    }
}

/* Writes N (p digits, trailing zeros dropped) with decimal exponent E the way "%.{p}g" does. */
static int format_g(int neg, uint64_t n, int32_t E, int32_t p, char *buf) {
    char d[20];
    int k = 0;
    for (int32_t i = 0; i < p; i++) {
        d[p - 1 - i] = (char)('0' + n % 10);
        n /= 10;
    }
    k = p;
    while (k > 1 && d[k - 1] == '0') k--;
    char *o = buf;
    if (neg) *o++ = '-';
    if (E < -4 || E >= p) {
        *o++ = d[0];
        if (k > 1) {
            *o++ = '.';
            memcpy(o, d + 1, (size_t)(k - 1));
            o += k - 1;
        }
        o += sprintf(o, "e%c%02d", E < 0 ? '-' : '+', E < 0 ? -E : E);
    } else if (E >= 0) {
        for (int32_t i = 0; i <= E; i++) *o++ = i < k ? d[i] : '0';
        if (k > E + 1) {
            *o++ = '.';
            memcpy(o, d + E + 1, (size_t)(k - E - 1));
            o += k - E - 1;
        }
    } else {
        *o++ = '0';
        *o++ = '.';
        for (int32_t i = 0; i < -E - 1; i++) *o++ = '0';
        memcpy(o, d, (size_t)k);
        o += k;
    }
    *o = 0;
    return (int)(o - buf);
}

int p3d_mesh_format_float(float v, char *buf) {
    uint32_t bits;
    memcpy(&bits, &v, 4);
    const int32_t bexp = (int32_t)(bits >> 23 & 0xff);
    const int32_t e = bexp - 150; /* normal floats: v = (2^23 + fraction) 2^(bexp - 150) */
    if (bexp == 0 || bexp == 255 || e < -64 || e > 40) {
        int len = 0;
        for (int prec = 6; prec <= 9; prec++) {
            len = snprintf(buf, 32, "%.*g", prec, (double)v);
            float back = strtof(buf, NULL);
            if (memcmp(&back, &v, sizeof v) == 0) break;
        }
        return len;
    }
    const uint32_t m = (bits & 0x7fffff) | 0x800000;
    const int neg = (int)(bits >> 31);
    /* Rounding interval in units of 2^(e - 2): v = 4m, neighbours' midpoints 4m + 2 and 4m - 2 (4m - 1
     * below a power of two, where the spacing halves). */
    const u128 up = 4 * (u128)m + 2, down = 4 * (u128)m - (m == 0x800000 ? 1 : 2);
    const int even = !(m & 1);
    int32_t E0 = (int32_t)floor(log10(fabs((double)v)));
    for (int32_t p = 6;; p++) {
        int32_t E = E0;
        const uint64_t n = digits_for(m, e, p, &E);
        const int32_t s = p - 1 - E;
        const int c_hi = cmp_scaled(n, s, up, e - 2), c_lo = cmp_scaled(n, s, down, e - 2);
        if (p == 9 || ((c_hi < 0 || (c_hi == 0 && even)) && (c_lo > 0 || (c_lo == 0 && even))))
            return format_g(neg, n, E, p, buf);
    }
}
