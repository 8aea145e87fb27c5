/* progress.h - progress of a batch run on stderr: a bar on a terminal, log lines otherwise.
 *
 *   p3d_progress p; p3d_progress_init(&p, stderr, P3D_PROGRESS_AUTO);
 *   p3d_progress_begin(&p, "scene.jpg: inpainting", n_edges);
 *   for (...) p3d_progress_update(&p, done);
 *   p3d_progress_end(&p);                       // "scene.jpg: inpainting done (n_edges, 3.2 s)"
 *   p3d_progress_message(&p, "warning: ...");   // a whole line; never mixed into the bar
 *
 * Modes: TTY redraws one line with '\r' (at most every 0.1 s, and at 100%; cut to the terminal's
 * width), padding over what was there; PLAIN (stderr is not a terminal: logs, Slurm) writes one
 * line when a stage begins, at 25, 50 and 75 % of it and when it ends, so a log shows where a run
 * is without thousands of lines;
 * QUIET draws no progress and writes messages only (errors and warnings still reach the user).
 * AUTO picks TTY when isatty(fileno(f)), else PLAIN. Results go to files and stdout, never here. */
#ifndef P3D_PROGRESS_H
#define P3D_PROGRESS_H

#include <stdio.h>

#include "core/p3d_common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum p3d_progress_mode {
    P3D_PROGRESS_AUTO = 0,
    P3D_PROGRESS_TTY = 1,
    P3D_PROGRESS_PLAIN = 2,
    P3D_PROGRESS_QUIET = 3,
} p3d_progress_mode;

typedef struct p3d_progress {
    FILE *f;
    p3d_progress_mode mode; /* never AUTO after init */
    char label[256];
    int64_t total, done;
    double t_begin, t_drawn; /* clock seconds */
    int32_t quarter;         /* PLAIN: quarters reported so far */
    int32_t drawn_len;       /* TTY: characters of the bar line now on screen (0 = none) */
    int32_t width;           /* TTY: bar cells */
    int32_t columns;         /* TTY: terminal width; lines are cut to columns - 1 so '\r' never meets a wrap */
    double (*clock)(void);   /* p3d_time_now; tests substitute their own */
} p3d_progress;

void p3d_progress_init(p3d_progress *p, FILE *f, p3d_progress_mode mode);
/* total <= 0: unknown amount (a spinner-less "label ..." line, then the done line). */
void p3d_progress_begin(p3d_progress *p, const char *label, int64_t total);
void p3d_progress_update(p3d_progress *p, int64_t done);
/* Ends the stage: "label done (total, S s)". Returns the stage's seconds. */
double p3d_progress_end(p3d_progress *p);
/* Ends the stage without finishing it: "label WHY at DONE/TOTAL (S s)", e.g. why = "interrupted". */
void p3d_progress_abort(p3d_progress *p, const char *why);
/* One line (no '\n' needed), after clearing a bar in progress; the bar is redrawn on the next update. */
void p3d_progress_message(p3d_progress *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#ifdef __cplusplus
}
#endif
#endif
