/* limits.h - how large an input a reader may accept: the pixel limit (`--max-pixels`).
 *
 * Every reader that sizes a buffer from a file's header (photos, depth maps of every format) checks
 * width x height against this limit on the header, before allocating anything, and refuses the file
 * with a message naming it, its size and the limit. The default, 2^28 pixels (268 million, e.g.
 * 16384 x 16384), keeps one photo's decode and its depth map within a few GB, so the two photos a
 * `run` worker holds at once (the current one and the next, decoded ahead) fit a 24 GB machine.
 * The limit is process-wide: set it once at startup (main.c: `--max-pixels N`), before any thread
 * starts. Independent of it, a side may not exceed P3D_MAX_SIDE (the PNG writer's and the decoder's
 * bound). */
#ifndef P3D_IO_LIMITS_H
#define P3D_IO_LIMITS_H

#include "core/p3d_common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define P3D_DEFAULT_MAX_PIXELS ((int64_t)1 << 28)
#define P3D_MAX_SIDE 65535

int64_t p3d_max_pixels(void);
/* n >= 1; larger than 2^32 is clamped (the sides stay within P3D_MAX_SIDE anyway). */
void p3d_set_max_pixels(int64_t n);

/* Parses a pixel count: a decimal number with an optional K, M or G suffix (powers of 1000, e.g.
 * "268M") or WxH ("16384x16384"). P3D_ERR_INVALID_ARG with the reason otherwise. */
p3d_status p3d_max_pixels_parse(const char *text, int64_t *out);

/* P3D_ERR_FORMAT "PATH: WHAT is WxH = N pixels, more than the limit of L (--max-pixels)" when
 * w x h exceeds the limit or a side exceeds P3D_MAX_SIDE; also refuses w or h <= 0. */
p3d_status p3d_pixels_check(const char *path, const char *what, int64_t w, int64_t h);

#ifdef __cplusplus
}
#endif
#endif
