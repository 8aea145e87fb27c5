/* interrupt.h - Ctrl-C (SIGINT) and SIGTERM: stop cleanly, never leave a partial output file.
 *
 * Two modes:
 *   P3D_INTERRUPT_EXIT  (every command; main.c installs it) the signal removes the temporary files
 *                       of the atomic writes in progress (file_io.c registers them) and then ends
 *                       the process the way the signal would have (exit status 128 + signal).
 *   P3D_INTERRUPT_FLAG  (batch commands that check p3d_interrupted() between steps) the first
 *                       signal only sets a flag: atomic writes in progress stop at their next
 *                       chunk, remove their temporary file and fail with P3D_ERR_INTERRUPTED, and the
 *                       command finishes the way it chooses (no new work, a report, exit 130). A
 *                       second signal behaves as P3D_INTERRUPT_EXIT (impatient user).
 * Everything the handler does is async-signal-safe (atomic flags, unlink, sigaction, raise). */
#ifndef P3D_INTERRUPT_H
#define P3D_INTERRUPT_H

#include "core/p3d_common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum p3d_interrupt_mode { P3D_INTERRUPT_EXIT = 0, P3D_INTERRUPT_FLAG = 1 } p3d_interrupt_mode;

/* Installs the SIGINT and SIGTERM handler in that mode (may be called again to switch modes). */
p3d_status p3d_interrupt_install(p3d_interrupt_mode mode);

/* The signal number received (SIGINT, SIGTERM) in flag mode, else 0. */
int p3d_interrupted(void);

/* Forgets a received signal (tests; a command that asked the user and goes on). */
void p3d_interrupt_clear(void);

/* P3D_ERR_INTERRUPTED with "what: interrupted (SIGINT)" when a signal arrived, else P3D_OK. */
p3d_status p3d_interrupt_check(const char *what);

/* Temporary files the handler removes when the process is ended by a signal. A slot holds a copy of
 * the path (at most P3D_INTERRUPT_PATH_MAX bytes; longer ones are not registered). Returns the slot,
 * or -1 when all are taken (the file is then not protected; nothing fails). */
#define P3D_INTERRUPT_SLOTS 64
#define P3D_INTERRUPT_PATH_MAX 4096
int32_t p3d_interrupt_register_temp(const char *path);
void p3d_interrupt_unregister_temp(int32_t slot);

#ifdef __cplusplus
}
#endif
#endif
