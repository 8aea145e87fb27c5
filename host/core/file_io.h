/* file_io.h - whole-file reads with a size cap, atomic writes (temporary name + rename), and the
 * pixel limit every reader checks on a header (--max-pixels).
 *
 * Every file the program writes goes through p3d_file_write_atomic*: the bytes go to
 * "<path>.tmp-XXXXXX" in the same directory, which is flushed and renamed over <path> only when
 * everything was written, so a reader never sees a half-written file and a failed write leaves the
 * old file (if any) untouched. A Ctrl-C (interrupt.h) removes the temporary file too: in flag mode the
 * write fails with P3D_ERR_INTERRUPTED, otherwise the signal handler deletes it before the process ends. */
#ifndef P3D_FILE_IO_H
#define P3D_FILE_IO_H

#include <stdio.h>

#include "core/p3d_common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Reads the whole file into a malloc'ed buffer (*data, *len; free() it). Fails with P3D_ERR_IO when
 * the file cannot be opened or read, P3D_ERR_FORMAT when it is empty or larger than max_bytes. */
p3d_status p3d_file_read(const char *path, size_t max_bytes, uint8_t **data, size_t *len);

/* Writes the payload through fn(f, user) to a temporary file beside path, then renames it to path.
 * fn returns P3D_OK or a failure it has recorded with p3d_fail. */
typedef p3d_status (*p3d_file_writer)(FILE *f, void *user);
p3d_status p3d_file_write_atomic_fn(const char *path, p3d_file_writer fn, void *user);

/* The same for one buffer of len bytes. */
p3d_status p3d_file_write_atomic(const char *path, const void *data, size_t len);

/* Makes sure dir is a directory, creating it (one level) when missing. */
p3d_status p3d_dir_ensure(const char *dir);

/* fwrite that records "<path>: write failed: <errno text>" on a short write. */
p3d_status p3d_file_put(FILE *f, const char *path, const void *data, size_t len);

/* ---- input limits: the pixel limit (`--max-pixels`) ------------------------------------------------
 *
 * Every reader that sizes a buffer from a file's header (photos, depth maps of every format) checks
 * width x height against this limit on the header, before allocating anything, and refuses the file
 * with a message naming it, its size and the limit. The default, 2^28 pixels (268 million, e.g.
 * 16384 x 16384), keeps one photo's decode and its depth map within a few GB, so the two photos a
 * `run` worker holds at once (the current one and the next, decoded ahead) fit a 24 GB machine.
 * The limit is process-wide: set it once at startup (main.c: `--max-pixels N`), before any thread
 * starts. Independent of it, a side may not exceed P3D_MAX_SIDE (the PNG writer's and the decoder's
 * bound). */

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
