/* progress.c - progress bar (terminal) or log lines (pipes, files, batch systems) on one FILE. */
#include "core/progress.h"

#include <stdarg.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define P3D_PROGRESS_REDRAW_S 0.1

void p3d_progress_init(p3d_progress *p, FILE *f, p3d_progress_mode mode) {
    memset(p, 0, sizeof *p);
    p->f = f;
    if (mode == P3D_PROGRESS_AUTO) mode = isatty(fileno(f)) ? P3D_PROGRESS_TTY : P3D_PROGRESS_PLAIN;
    p->mode = mode;
    p->width = 30;
    p->columns = 80;
    struct winsize ws;
    if (mode == P3D_PROGRESS_TTY && ioctl(fileno(f), TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20) p->columns = ws.ws_col;
    p->clock = p3d_time_now;
}

/* Replaces the bar line on screen by `line` (padding over a longer previous one). */
static void tty_draw(p3d_progress *p, const char *line) {
    int32_t n = (int32_t)strlen(line);
    if (n > p->columns - 1) n = p->columns - 1; /* a wrapped line could not be redrawn in place */
    int32_t pad = p->drawn_len > n ? p->drawn_len - n : 0;
    fprintf(p->f, "\r%.*s%*s", (int)n, line, (int)pad, "");
    if (pad) fprintf(p->f, "\r%.*s", (int)n, line);
    fflush(p->f);
    p->drawn_len = n;
}

static void tty_clear(p3d_progress *p) {
    if (p->drawn_len <= 0) return;
    fprintf(p->f, "\r%*s\r", (int)p->drawn_len, "");
    fflush(p->f);
    p->drawn_len = 0;
}

static void tty_bar(p3d_progress *p, double now) {
    char line[512];
    const double secs = now - p->t_begin;
    if (p->total > 0) {
        int64_t done = p->done < 0 ? 0 : (p->done > p->total ? p->total : p->done);
        int32_t filled = (int32_t)((double)done / (double)p->total * p->width);
        char bar[128];
        for (int32_t i = 0; i < p->width && i < (int32_t)sizeof bar - 1; i++) bar[i] = i < filled ? '#' : '.';
        bar[p->width < (int32_t)sizeof bar - 1 ? p->width : (int32_t)sizeof bar - 1] = '\0';
        snprintf(line, sizeof line, "%s [%s] %3d%% (%lld/%lld) %.1f s", p->label, bar,
                 (int)(100 * done / p->total), (long long)done, (long long)p->total, secs);
    } else {
        snprintf(line, sizeof line, "%s ... %.1f s", p->label, secs);
    }
    tty_draw(p, line);
    p->t_drawn = now;
}

void p3d_progress_begin(p3d_progress *p, const char *label, int64_t total) {
    snprintf(p->label, sizeof p->label, "%s", label);
    p->total = total;
    p->done = 0;
    p->quarter = 0;
    p->t_begin = p->clock();
    if (p->mode == P3D_PROGRESS_TTY) {
        tty_bar(p, p->t_begin);
    } else if (p->mode == P3D_PROGRESS_PLAIN) {
        fprintf(p->f, "%s ...\n", p->label);
        fflush(p->f);
    }
}

void p3d_progress_update(p3d_progress *p, int64_t done) {
    p->done = done;
    if (p->mode == P3D_PROGRESS_TTY) {
        double now = p->clock();
        /* Redraws cost a write to the terminal each: limited, except the one that shows 100 %. */
        if (now - p->t_drawn >= P3D_PROGRESS_REDRAW_S || p->drawn_len == 0 || (p->total > 0 && done >= p->total))
            tty_bar(p, now);
    } else if (p->mode == P3D_PROGRESS_PLAIN && p->total > 0) {
        int32_t q = (int32_t)(4 * (done < p->total ? done : p->total) / p->total);
        if (q > p->quarter && q < 4) {
            fprintf(p->f, "%s %d%% (%lld/%lld)\n", p->label, (int)(25 * q), (long long)done, (long long)p->total);
            fflush(p->f);
        }
        if (q > p->quarter) p->quarter = q;
    }
}

/* Writes the stage's last line (over the bar on a terminal). */
static void progress_last_line(p3d_progress *p, const char *line) {
    if (p->mode == P3D_PROGRESS_TTY) {
        tty_draw(p, line);
        fputc('\n', p->f);
        fflush(p->f);
        p->drawn_len = 0;
    } else if (p->mode == P3D_PROGRESS_PLAIN) {
        fprintf(p->f, "%s\n", line);
        fflush(p->f);
    }
}

double p3d_progress_end(p3d_progress *p) {
    const double secs = p->clock() - p->t_begin;
    char line[512];
    if (p->total > 0)
        snprintf(line, sizeof line, "%s done (%lld, %.2f s)", p->label, (long long)p->total, secs);
    else
        snprintf(line, sizeof line, "%s done (%.2f s)", p->label, secs);
    progress_last_line(p, line);
    return secs;
}

void p3d_progress_abort(p3d_progress *p, const char *why) {
    const double secs = p->clock() - p->t_begin;
    char line[512];
    if (p->total > 0)
        snprintf(line, sizeof line, "%s %s at %lld/%lld (%.2f s)", p->label, why, (long long)p->done,
                 (long long)p->total, secs);
    else
        snprintf(line, sizeof line, "%s %s (%.2f s)", p->label, why, secs);
    progress_last_line(p, line);
}

void p3d_progress_message(p3d_progress *p, const char *fmt, ...) {
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (p->mode == P3D_PROGRESS_TTY) tty_clear(p);
    fprintf(p->f, "%s\n", msg);
    fflush(p->f);
}
