/* json.h - a small JSON writer for machine-readable reports (`run --json FILE`).
 *
 * The document is built in memory and written with one atomic file write, so a reader never sees
 * half a report. Commas and indentation (2 spaces) are inserted by the writer:
 *
 *   p3d_json j; p3d_json_init(&j);
 *   p3d_json_begin_object(&j);
 *   p3d_json_key(&j, "device"); p3d_json_string(&j, "cuda:0");
 *   p3d_json_key(&j, "stages"); p3d_json_begin_array(&j); ... p3d_json_end_array(&j);
 *   p3d_json_end_object(&j);
 *   p3d_status st = p3d_json_write_file(&j, "report.json");   // fails if the document is unbalanced
 *   p3d_json_free(&j);
 *
 * Strings are escaped per RFC 8259 (quote, backslash, control characters as \b \f \n \r \t or
 * \u00XX); bytes that are not valid UTF-8 (file names can hold any byte) become U+FFFD, so the
 * output is always valid UTF-8. Non-finite numbers, which JSON cannot express, are written as null. */
#ifndef P3D_JSON_H
#define P3D_JSON_H

#include "core/p3d_common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define P3D_JSON_MAX_DEPTH 32

/* A growing text buffer: the JSON writer's, and the GLB and web page writers' JSON documents.
 * Zero-initialised is empty; once an allocation fails, oom stays set and nothing more is appended,
 * so a writer checks once at the end. s is NUL-terminated whenever it is not NULL. */
typedef struct p3d_text {
    char *s;
    size_t len, cap;
    int32_t oom;
} p3d_text;

void p3d_text_put(p3d_text *t, const char *s, size_t n);
void p3d_text_printf(p3d_text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void p3d_text_free(p3d_text *t);

typedef struct p3d_json {
    p3d_text text;
    int32_t depth;
    uint8_t has_items[P3D_JSON_MAX_DEPTH]; /* per open container: something written already */
    uint8_t is_object[P3D_JSON_MAX_DEPTH]; /* per open container: an object (members need keys) */
    uint8_t after_key;                     /* a key was written; the value follows on the same line */
    uint8_t misuse;                        /* unbalanced or too deep; write_file reports it */
} p3d_json;

void p3d_json_init(p3d_json *j);
void p3d_json_free(p3d_json *j);

void p3d_json_begin_object(p3d_json *j);
void p3d_json_end_object(p3d_json *j);
void p3d_json_begin_array(p3d_json *j);
void p3d_json_end_array(p3d_json *j);
void p3d_json_key(p3d_json *j, const char *key);
void p3d_json_string(p3d_json *j, const char *s);
void p3d_json_int(p3d_json *j, int64_t v);
void p3d_json_number(p3d_json *j, double v);
void p3d_json_bool(p3d_json *j, int v);
void p3d_json_null(p3d_json *j);

/* The text so far (NUL-terminated; "" before anything was written). */
const char *p3d_json_text(const p3d_json *j);

/* Writes the document (plus a final newline) atomically. P3D_ERR_INVALID_ARG when containers are
 * still open or were closed unbalanced, a key was written in an array or a value without a key in an
 * object, P3D_ERR_OOM when building it ran out of memory. */
p3d_status p3d_json_write_file(const p3d_json *j, const char *path);

/* Appends s as a JSON string literal (quotes included) to t; used by the writer and by anything
 * that must quote a name the same way. Out of memory sets t->oom. */
void p3d_json_escape(p3d_text *t, const char *s);

/* The shortest decimal text (%.15g .. %.17g) that reads back (strtod) to exactly v; "nan"/"inf"
 * for non-finite values. Returns the length written (buf always NUL-terminated; cap >= 32). */
int p3d_fmt_double(char *buf, size_t cap, double v);

#ifdef __cplusplus
}
#endif
#endif
