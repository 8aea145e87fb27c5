/* file_io.h - whole-file reads with a size cap, and atomic writes (temporary name + rename).
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

#ifdef __cplusplus
}
#endif
#endif
