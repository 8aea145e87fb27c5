/* json.c - in-memory JSON writer with RFC 8259 string escaping and an atomic file write. */
#include "core/json.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/file_io.h"

static int reserve(p3d_text *t, size_t extra) {
    size_t need;
    if (!p3d_size_add(t->len, extra + 1, &need)) return 0;
    if (need <= t->cap) return 1;
    size_t ncap = t->cap ? t->cap : 256;
    while (ncap < need) {
        if (!p3d_size_mul(ncap, 2, &ncap)) return 0;
    }
    char *nb = (char *)realloc(t->s, ncap);
    if (!nb) return 0;
    t->s = nb;
    t->cap = ncap;
    return 1;
}

void p3d_text_put(p3d_text *t, const char *s, size_t n) {
    if (t->oom) return;
    if (!reserve(t, n)) {
        t->oom = 1;
        return;
    }
    memcpy(t->s + t->len, s, n);
    t->len += n;
    t->s[t->len] = '\0';
}

void p3d_text_printf(p3d_text *t, const char *fmt, ...) {
    if (t->oom) return;
    va_list ap;
    va_start(ap, fmt);
    const int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !reserve(t, (size_t)n)) {
        t->oom = 1;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(t->s + t->len, t->cap - t->len, fmt, ap);
    va_end(ap);
    t->len += (size_t)n;
}

void p3d_text_free(p3d_text *t) {
    free(t->s);
    memset(t, 0, sizeof *t);
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when the bytes there are not one
 * (overlong forms, surrogates and code points above U+10FFFF are invalid, as RFC 3629 says). */
static int utf8_len(const unsigned char *s) {
    unsigned char c = s[0];
    if (c < 0x80) return 1;
    int n;
    unsigned char lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
    if (c >= 0xC2 && c <= 0xDF) n = 2;
    else if (c >= 0xE0 && c <= 0xEF) n = 3;
    else if (c >= 0xF0 && c <= 0xF4) n = 4;
    else return 0;
    if (c == 0xE0) lo = 0xA0;      /* overlong 3-byte forms */
    else if (c == 0xED) hi = 0x9F; /* UTF-16 surrogates */
    else if (c == 0xF0) lo = 0x90; /* overlong 4-byte forms */
    else if (c == 0xF4) hi = 0x8F; /* above U+10FFFF */
    if (s[1] < lo || s[1] > hi) return 0;
    for (int i = 2; i < n; i++)
        if (s[i] < 0x80 || s[i] > 0xBF) return 0;
    return n;
}

void p3d_json_escape(p3d_text *t, const char *s) {
    p3d_text_put(t, "\"", 1);
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        char esc[8];
        const char *out = esc;
        size_t n = 2;
        int adv = 1;
        switch (*p) {
        case '"': memcpy(esc, "\\\"", 2); break;
        case '\\': memcpy(esc, "\\\\", 2); break;
        case '\b': memcpy(esc, "\\b", 2); break;
        case '\f': memcpy(esc, "\\f", 2); break;
        case '\n': memcpy(esc, "\\n", 2); break;
        case '\r': memcpy(esc, "\\r", 2); break;
        case '\t': memcpy(esc, "\\t", 2); break;
        default:
            if (*p < 0x20) {
                snprintf(esc, sizeof esc, "\\u%04x", *p);
                n = 6;
            } else if ((adv = utf8_len(p)) > 0) {
                out = (const char *)p;
                n = (size_t)adv;
            } else {
                out = "\\ufffd";
                n = 6;
                adv = 1;
            }
        }
        p3d_text_put(t, out, n);
        p += adv;
    }
    p3d_text_put(t, "\"", 1);
}

int p3d_fmt_double(char *buf, size_t cap, double v) {
    P3D_ASSERT(cap >= 32);
    if (!isfinite(v)) return snprintf(buf, cap, "%s", isnan(v) ? "nan" : (v > 0 ? "inf" : "-inf"));
    int n = 0;
    for (int prec = 15; prec <= 17; prec++) {
        n = snprintf(buf, cap, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) break;
    }
    return n;
}

void p3d_json_init(p3d_json *j) { memset(j, 0, sizeof *j); }

void p3d_json_free(p3d_json *j) {
    p3d_text_free(&j->text);
    memset(j, 0, sizeof *j);
}

const char *p3d_json_text(const p3d_json *j) { return j->text.s ? j->text.s : ""; }

static void put(p3d_json *j, const char *s, size_t n) { p3d_text_put(&j->text, s, n); }

static void before_member(p3d_json *j);

static void newline_indent(p3d_json *j) {
    put(j, "\n", 1);
    for (int32_t i = 0; i < j->depth; i++) put(j, "  ", 2);
}

/* Separator and indentation before a value or a key at the current depth. */
static void before_item(p3d_json *j) {
    if (j->after_key) {
        j->after_key = 0;
        return;
    }
    if (j->depth > 0 && j->is_object[j->depth - 1]) j->misuse = 1; /* an object member without a key */
    before_member(j);
}

/* Separator and indentation before a key, or a value in an array. */
static void before_member(p3d_json *j) {
    if (j->depth > 0) {
        if (j->has_items[j->depth - 1]) put(j, ",", 1);
        j->has_items[j->depth - 1] = 1;
        newline_indent(j);
    } else if (j->text.len > 0) {
        j->misuse = 1; /* a second top-level value */
    }
}

static void open_container(p3d_json *j, char c) {
    before_item(j);
    put(j, &c, 1);
    if (j->depth >= P3D_JSON_MAX_DEPTH) {
        j->misuse = 1;
        return;
    }
    j->is_object[j->depth] = c == '{';
    j->has_items[j->depth++] = 0;
}

static void close_container(p3d_json *j, char c) {
    if (j->depth <= 0 || j->after_key) {
        j->misuse = 1;
        return;
    }
    int had = j->has_items[--j->depth];
    if (had) newline_indent(j);
    put(j, &c, 1);
}

void p3d_json_begin_object(p3d_json *j) { open_container(j, '{'); }
void p3d_json_end_object(p3d_json *j) { close_container(j, '}'); }
void p3d_json_begin_array(p3d_json *j) { open_container(j, '['); }
void p3d_json_end_array(p3d_json *j) { close_container(j, ']'); }

void p3d_json_key(p3d_json *j, const char *key) {
    if (j->depth <= 0 || j->after_key || !j->is_object[j->depth - 1]) j->misuse = 1;
    j->after_key = 0;
    before_member(j);
    p3d_json_escape(&j->text, key);
    put(j, ": ", 2);
    j->after_key = 1;
}

void p3d_json_string(p3d_json *j, const char *s) {
    before_item(j);
    p3d_json_escape(&j->text, s ? s : "");
}

void p3d_json_int(p3d_json *j, int64_t v) {
    char t[32];
    int n = snprintf(t, sizeof t, "%lld", (long long)v);
    before_item(j);
    put(j, t, (size_t)n);
}

void p3d_json_number(p3d_json *j, double v) {
    if (!isfinite(v)) {
        p3d_json_null(j);
        return;
    }
    char t[40];
    int n = p3d_fmt_double(t, sizeof t, v);
    before_item(j);
    put(j, t, (size_t)n);
}

void p3d_json_bool(p3d_json *j, int v) {
    before_item(j);
    put(j, v ? "true" : "false", v ? 4 : 5);
}

void p3d_json_null(p3d_json *j) {
    before_item(j);
    put(j, "null", 4);
}

p3d_status p3d_json_write_file(const p3d_json *j, const char *path) {
    if (j->text.oom) return p3d_fail(P3D_ERR_OOM, "%s: out of memory building the JSON report", path);
    if (j->misuse || j->depth != 0 || j->after_key || j->text.len == 0)
        return p3d_fail(P3D_ERR_INVALID_ARG, "%s: the JSON report is incomplete or malformed (open containers, or keys and values out of place)", path);
    const size_t len = j->text.len;
    char *text = (char *)malloc(len + 1);
    if (!text) return p3d_fail(P3D_ERR_OOM, "%s: out of memory", path);
    memcpy(text, j->text.s, len);
    text[len] = '\n';
    p3d_status st = p3d_file_write_atomic(path, text, len + 1);
    free(text);
    return st;
}
