/* video_queue.c - videos encoded on their own thread (video_queue.h).
 *
 * One producer (the worker that renders) and one consumer (the encoder thread) share a ring of
 * commands (open, frame, close) and a ring of frame slots, under one mutex. Slots are filled and
 * encoded in the same cyclic order, so a frame command needs no slot number (the encoder takes the
 * next one when it pops the command, under the mutex). The encoder thread
 * touches the writer only while it runs a command (busy); p3d_video_queue_abort waits for it to be
 * idle before aborting the writer itself. */
#include "pipeline/video_queue.h"

#include "core/interrupt.h"

#ifdef P3D_HAVE_OPENMP
#include <omp.h>
#endif
#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>

enum { CMD_OPEN, CMD_FRAME, CMD_CLOSE };

typedef struct vq_cmd {
    int32_t kind;
    char *path;         /* CMD_OPEN: owned copy */
    p3d_video_opts opts; /* CMD_OPEN */
} vq_cmd;

struct p3d_video_queue {
    int32_t width, height, n_slots;
    uint8_t *frames;     /* (n_slots, height, width, 3) */
    int32_t slot_fill;   /* next slot the producer fills */
    int32_t slot_encode; /* next slot the encoder reads */
    int32_t slots_free;
    vq_cmd *cmds;        /* ring of cap commands */
    int32_t cap, head, count;
    pthread_mutex_t mu;
    pthread_cond_t work, space, idle;
    pthread_t thread;
    int32_t started, stop, busy;
    p3d_video_writer *writer; /* the open video (encoder thread while busy, else the producer) */
    int32_t dropping;         /* a command of this video failed: drop its frames and close */
    p3d_status err;           /* first failure since the last wait */
    char err_msg[1024];
};

static size_t frame_bytes(const p3d_video_queue *q) { return (size_t)q->width * q->height * 3; }

/* Runs one command on the encoder thread (mutex not held). Frees c->path. */
static void run_cmd(p3d_video_queue *q, vq_cmd *c, int32_t slot, int32_t *freed_slot) {
    p3d_status st = P3D_OK;
    *freed_slot = 0;
    if (c->kind == CMD_OPEN) {
        if (q->writer) st = p3d_video_close(q->writer); /* an open video is closed first, in order */
        q->writer = NULL;
        q->dropping = 0;
        if (st == P3D_OK) st = p3d_video_open(c->path, q->width, q->height, &c->opts, &q->writer);
        free(c->path);
        c->path = NULL;
    } else if (c->kind == CMD_FRAME) {
        *freed_slot = 1;
        if (!q->dropping && q->writer)
            st = p3d_video_write_rgb(q->writer, q->frames + (size_t)slot * frame_bytes(q));
        else if (!q->dropping)
            st = p3d_fail(P3D_ERR_INVALID_ARG, "video queue: a frame with no open video");
    } else if (c->kind == CMD_CLOSE) {
        if (!q->dropping && q->writer) st = p3d_video_close(q->writer);
        q->writer = NULL;
        q->dropping = 0;
    }
    if (st != P3D_OK) {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", p3d_last_error());
        p3d_video_abort(q->writer); /* removes the unfinished file */
        q->writer = NULL;
        q->dropping = c->kind != CMD_CLOSE;
        pthread_mutex_lock(&q->mu);
        if (q->err == P3D_OK) {
            q->err = st;
            snprintf(q->err_msg, sizeof q->err_msg, "%s", msg);
        }
        pthread_mutex_unlock(&q->mu);
    }
}

static void *encoder_main(void *arg) {
    p3d_video_queue *q = (p3d_video_queue *)arg;
    pthread_mutex_lock(&q->mu);
    for (;;) {
        while (q->count == 0 && !q->stop) pthread_cond_wait(&q->work, &q->mu);
        if (q->count == 0) break; /* stop, nothing left */
        vq_cmd c = q->cmds[q->head];
        q->head = (q->head + 1) % q->cap;
        q->count--;
        int32_t slot = -1;
        if (c.kind == CMD_FRAME) {
            slot = q->slot_encode;
            q->slot_encode = (q->slot_encode + 1) % q->n_slots;
        }
        q->busy = 1;
        pthread_cond_signal(&q->space);
        pthread_mutex_unlock(&q->mu);
        int32_t freed = 0;
        run_cmd(q, &c, slot, &freed);
        pthread_mutex_lock(&q->mu);
        q->busy = 0;
        q->slots_free += freed;
        pthread_cond_signal(&q->space);
        if (q->count == 0) pthread_cond_broadcast(&q->idle);
    }
    pthread_mutex_unlock(&q->mu);
    return NULL;
}

p3d_status p3d_video_queue_init(p3d_video_queue **out, int32_t width, int32_t height, int32_t slots) {
    *out = NULL;
    if (width <= 0 || height <= 0 || slots < 2)
        return p3d_fail(P3D_ERR_INVALID_ARG, "video queue: %dx%d with %d slots", (int)width, (int)height, (int)slots);
    p3d_video_queue *q = (p3d_video_queue *)calloc(1, sizeof *q);
    if (!q) return p3d_fail(P3D_ERR_OOM, "video queue: out of memory");
    q->width = width;
    q->height = height;
    q->n_slots = slots;
    q->slots_free = slots;
    q->cap = slots + 8; /* every slot queued, plus opens and closes */
    q->frames = (uint8_t *)malloc((size_t)slots * frame_bytes(q));
    q->cmds = (vq_cmd *)calloc((size_t)q->cap, sizeof *q->cmds);
    if (!q->frames || !q->cmds) {
        free(q->frames);
        free(q->cmds);
        free(q);
        return p3d_fail(P3D_ERR_OOM, "video queue: out of memory for %d frames of %dx%d", (int)slots, (int)width,
                        (int)height);
    }
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->work, NULL);
    pthread_cond_init(&q->space, NULL);
    pthread_cond_init(&q->idle, NULL);
    if (pthread_create(&q->thread, NULL, encoder_main, q) != 0) {
        p3d_video_queue_free(q);
        return p3d_fail(P3D_ERR_OOM, "video queue: cannot start the encoder thread");
    }
    q->started = 1;
    *out = q;
    return P3D_OK;
}

void p3d_video_queue_size(const p3d_video_queue *q, int32_t *width, int32_t *height) {
    *width = q->width;
    *height = q->height;
}

/* Appends a command, waiting for room (mutex held by the caller). */
static void push_cmd(p3d_video_queue *q, const vq_cmd *c) {
    while (q->count == q->cap) pthread_cond_wait(&q->space, &q->mu);
    q->cmds[(q->head + q->count) % q->cap] = *c;
    q->count++;
    pthread_cond_signal(&q->work);
}

/* The kept failure as this thread's error (mutex held). */
static p3d_status kept_error(p3d_video_queue *q) { return p3d_fail(q->err, "%s", q->err_msg); }

/* Queues a command of this kind (path and o for CMD_OPEN); a frame takes the slot filled last. */
static p3d_status queue_cmd(p3d_video_queue *q, int32_t kind, const char *path, const p3d_video_opts *o) {
    vq_cmd c;
    memset(&c, 0, sizeof c);
    c.kind = kind;
    if (o) c.opts = *o;
    if (path && !(c.path = strdup(path))) return p3d_fail(P3D_ERR_OOM, "%s: out of memory", path);
    pthread_mutex_lock(&q->mu);
    if (kind == CMD_FRAME) {
        P3D_ASSERT(q->slots_free > 0);
        q->slots_free--;
        q->slot_fill = (q->slot_fill + 1) % q->n_slots;
    }
    push_cmd(q, &c);
    pthread_mutex_unlock(&q->mu);
    return P3D_OK;
}

p3d_status p3d_video_queue_open(p3d_video_queue *q, const char *path, const p3d_video_opts *o) {
    return queue_cmd(q, CMD_OPEN, path, o);
}

p3d_status p3d_video_queue_frames(p3d_video_queue *q, int32_t n, uint8_t **rgb) {
    P3D_ASSERT(n >= 1 && n <= q->n_slots);
    for (int32_t i = 0; i < n; i++) rgb[i] = NULL;
    pthread_mutex_lock(&q->mu);
    while (q->slots_free < n && q->err == P3D_OK) pthread_cond_wait(&q->space, &q->mu);
    p3d_status st = q->err != P3D_OK ? kept_error(q) : P3D_OK;
    pthread_mutex_unlock(&q->mu);
    /* the producer alone moves slot_fill: the next n slots in the cyclic order are free */
    for (int32_t i = 0; st == P3D_OK && i < n; i++)
        rgb[i] = q->frames + (size_t)((q->slot_fill + i) % q->n_slots) * frame_bytes(q);
    return st;
}

p3d_status p3d_video_queue_frame(p3d_video_queue *q, uint8_t **rgb) { return p3d_video_queue_frames(q, 1, rgb); }

p3d_status p3d_video_queue_push(p3d_video_queue *q) { return queue_cmd(q, CMD_FRAME, NULL, NULL); }

p3d_status p3d_video_queue_close(p3d_video_queue *q) { return queue_cmd(q, CMD_CLOSE, NULL, NULL); }

p3d_status p3d_video_queue_wait(p3d_video_queue *q) {
    pthread_mutex_lock(&q->mu);
    while (q->count > 0 || q->busy) {
        if (p3d_interrupted()) {
            pthread_mutex_unlock(&q->mu);
            p3d_video_queue_abort(q);
            return p3d_interrupt_check("video");
        }
        /* wake every 50 ms to see a signal: the interrupt flag has no condition variable */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 50 * 1000 * 1000;
        if (ts.tv_nsec >= 1000 * 1000 * 1000) ts.tv_sec++, ts.tv_nsec -= 1000 * 1000 * 1000;
        pthread_cond_timedwait(&q->idle, &q->mu, &ts);
    }
    p3d_status st = q->err != P3D_OK ? kept_error(q) : P3D_OK;
    q->err = P3D_OK;
    pthread_mutex_unlock(&q->mu);
    return st;
}

void p3d_video_queue_abort(p3d_video_queue *q) {
    pthread_mutex_lock(&q->mu);
    /* drop what is queued; a dropped frame gives its slot back */
    while (q->count > 0) {
        vq_cmd *c = &q->cmds[q->head];
        if (c->kind == CMD_FRAME) {
            q->slots_free++;
            q->slot_encode = (q->slot_encode + 1) % q->n_slots;
        }
        free(c->path);
        c->path = NULL;
        q->head = (q->head + 1) % q->cap;
        q->count--;
    }
    pthread_cond_broadcast(&q->space);
    while (q->busy) pthread_cond_wait(&q->idle, &q->mu);
    /* the encoder thread is idle: the writer is ours */
    p3d_video_abort(q->writer);
    q->writer = NULL;
    q->dropping = 0;
    q->err = P3D_OK;
    pthread_mutex_unlock(&q->mu);
}

void p3d_video_queue_free(p3d_video_queue *q) {
    if (!q) return;
    if (q->started) {
        pthread_mutex_lock(&q->mu);
        q->stop = 1;
        pthread_cond_signal(&q->work);
        pthread_mutex_unlock(&q->mu);
        pthread_join(q->thread, NULL);
    }
    p3d_video_abort(q->writer);
    for (int32_t i = 0; i < q->count; i++) free(q->cmds[(q->head + i) % q->cap].path);
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->work);
    pthread_cond_destroy(&q->space);
    pthread_cond_destroy(&q->idle);
    free(q->frames);
    free(q->cmds);
    free(q);
}

int32_t p3d_video_renderer_count(p3d_ctx *ctx) {
    const int32_t n = p3d_ctx_device(ctx).kind == P3D_DEVICE_CPU ? p3d_ctx_threads(ctx) : 1;
    return n < 1 ? 1 : n > P3D_VIDEO_MAX_RENDERERS ? P3D_VIDEO_MAX_RENDERERS : n;
}

p3d_status p3d_video_renderers_render(p3d_video_renderers *vr, uint8_t **rgb) {
    const int32_t n = vr->n_views;
    vr->n_views = 0;
    if (n <= 0) return P3D_OK;
    p3d_status st[P3D_VIDEO_MAX_RENDERERS];
    char msg[P3D_VIDEO_MAX_RENDERERS][512]; /* a failure's message, from the thread that met it */
#ifdef P3D_HAVE_OPENMP
#pragma omp parallel for num_threads(n) schedule(static, 1)
#endif
    for (int32_t i = 0; i < n; i++) {
        st[i] = p3d_render_frame(vr->rr[i], &vr->views[i], rgb[i]);
        if (st[i] != P3D_OK) snprintf(msg[i], sizeof msg[i], "%s", p3d_last_error());
    }
    for (int32_t i = 0; i < n; i++)
        if (st[i] != P3D_OK) return p3d_fail(st[i], "%s", msg[i]);
    return P3D_OK;
}

p3d_status p3d_video_queue_render(p3d_video_queue *q, p3d_video_renderers *vr) {
    const int32_t n = vr->n_views;
    if (n == 0) return P3D_OK;
    uint8_t *rgb[P3D_VIDEO_MAX_RENDERERS];
    p3d_status st = p3d_video_queue_frames(q, n, rgb);
    if (st != P3D_OK) {
        vr->n_views = 0;
        return st;
    }
    P3D_TRY(p3d_video_renderers_render(vr, rgb));
    for (int32_t i = 0; i < n; i++) P3D_TRY(p3d_video_queue_push(q));
    return P3D_OK;
}

p3d_video_opts p3d_video_queue_opts(p3d_ctx *ctx, double fps) {
    p3d_video_opts vo = p3d_video_opts_default();
    vo.fps = fps;
    vo.prefer_nvenc = p3d_ctx_device(ctx).kind == P3D_DEVICE_CUDA;
    vo.threads = 1;
    return vo;
}
