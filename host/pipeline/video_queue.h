/* video_queue.h - videos encoded on a thread of their own, so the encoder runs while the caller renders
 * the next frames, the next trajectory or the next photo (issue 14's overlap across a batch: the
 * encoding of photo i-1 overlaps the work on photo i).
 *
 *   p3d_video_queue *q;
 *   P3D_TRY(p3d_video_queue_init(&q, w, h, 16));              // 16 frame slots of (h, w, 3) bytes
 *   P3D_TRY(p3d_video_queue_open(q, "out/a.mp4", &vo));       // queued: the encoder thread opens it
 *   for (...) {
 *       uint8_t *rgb;
 *       P3D_TRY(p3d_video_queue_frame(q, &rgb));              // a free slot (waits while all are queued)
 *       render into rgb;
 *       P3D_TRY(p3d_video_queue_push(q));                     // queued for encoding
 *   }
 *   P3D_TRY(p3d_video_queue_close(q));                        // queued: flush, trailer, rename
 *   ... other work (the next photo) ...
 *   p3d_status st = p3d_video_queue_wait(q);                  // everything queued is done: its status
 *   p3d_video_queue_free(q);
 *
 * Frames of a video are encoded in the order pushed, with the same writer calls as a direct
 * p3d_video_write_rgb loop, so the files are byte-identical to the sequential ones. The first failure
 * (open, a frame, the close) is kept: the rest of that video's commands are dropped and its file is
 * removed (p3d_video_abort); p3d_video_queue_wait returns it, with its message in p3d_last_error(), and
 * clears it, so the next batch of commands (the next photo) starts clean. p3d_video_queue_abort drops
 * everything still queued and removes the unfinished file (an interrupt, a failed photo). The calls
 * are made by one thread (the worker that owns the queue). */
#ifndef P3D_VIDEO_QUEUE_H
#define P3D_VIDEO_QUEUE_H

#include "io/video.h"
#include "render/render.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct p3d_video_queue p3d_video_queue;

/* slots >= 2 frame buffers of width x height RGB (host memory). */
p3d_status p3d_video_queue_init(p3d_video_queue **out, int32_t width, int32_t height, int32_t slots);
/* Waits for the queued work, stops the thread, frees everything (an unfinished video is aborted). */
void p3d_video_queue_free(p3d_video_queue *q);
/* The frame size the queue was made for. */
void p3d_video_queue_size(const p3d_video_queue *q, int32_t *width, int32_t *height);

/* Queues opening path (p3d_video_open with the queue's size and *o, copied; o->encoder and o->preset
 * must outlive the video). A video already open is closed first, in order. */
p3d_status p3d_video_queue_open(p3d_video_queue *q, const char *path, const p3d_video_opts *o);
/* The next free frame slot, (height, width, 3); waits while every slot is queued. Fails with the
 * queue's kept error (the encoder failed: stop rendering). */
p3d_status p3d_video_queue_frame(p3d_video_queue *q, uint8_t **rgb);
/* The next n free frame slots (1 <= n <= slots) in rgb[0..n-1], to be filled in any order (by n
 * threads) and pushed n times: the frames are encoded in slot order. Waits while fewer are free. */
p3d_status p3d_video_queue_frames(p3d_video_queue *q, int32_t n, uint8_t **rgb);
/* Queues the next slot p3d_video_queue_frame(s) returned. */
p3d_status p3d_video_queue_push(p3d_video_queue *q);
/* Queues the close (flush, trailer, rename into place) of the open video. */
p3d_status p3d_video_queue_close(p3d_video_queue *q);
/* Waits until everything queued has been done; returns the first failure since the last wait
 * (P3D_OK when none) and clears it. A signal (core/interrupt.h, flag mode) while waiting aborts the
 * queue (p3d_video_queue_abort) and returns P3D_ERR_INTERRUPTED. */
p3d_status p3d_video_queue_wait(p3d_video_queue *q);
/* Drops every queued command and aborts the open video (its file is removed); returns once the
 * encoder thread is idle. The kept error is cleared. */
void p3d_video_queue_abort(p3d_video_queue *q);

/* ---- the frames of `run`'s videos (cmd_run.c; bench/stages_flow.c times the same) ---------------- */

/* Supersampling of the videos with anti_flickering on (the reference renders 3x). 2 x 2 samples a
 * pixel are enough: 96 frames of moon's circle at 960 against SSAA 4 (bench/results/README.md): SSAA 2
 * PSNR min 49.55 dB, frame-to-frame change off by 1.00 rms (8-bit levels), SSAA 3 52.86 dB and 0.68,
 * SSAA 1 42.84 dB and 2.16, far below what H.264 changes. Decoded against the SSAA 4 frames, the
 * videos are as close as before: SSAA 2 with libx264 veryfast CRF 20 mean 33.48 dB (min 32.91),
 * frame-to-frame change off by 6.38 rms; SSAA 3 with fast CRF 23 33.54 dB (min 32.51), 6.44. SSAA 2
 * renders in 30% less CPU than SSAA 3. */
#define P3D_VIDEO_SSAA 2
#define P3D_VIDEO_MAX_RENDERERS 16

/* The renderers of a video's frames. On the CPU, n renderers (one per OpenMP thread of the context)
 * render n consecutive frames at once, one frame a thread: their own parallel regions are nested, so
 * each renders its frame alone. Frame by frame with the threads sharing out tiles, every frame ends in
 * a barrier where a thread waits for the last tiles while the encoder thread wants the core: 24 moon
 * frames at SSAA 2 took 184 ms of CPU a frame that way, 143 ms with two frames at once
 * (bench/results/README.md). A GPU renders one frame at a time. The caller makes the n_rr renderers
 * (p3d_video_renderer_count of them) and frees them; views holds the frames not rendered yet. */
typedef struct p3d_video_renderers {
    p3d_renderer *rr[P3D_VIDEO_MAX_RENDERERS];
    p3d_view views[P3D_VIDEO_MAX_RENDERERS];
    int32_t n_rr, n_views;
} p3d_video_renderers;

/* How many renderers a video on ctx uses: its OpenMP threads on the CPU (1..P3D_VIDEO_MAX_RENDERERS),
 * 1 on a GPU. */
int32_t p3d_video_renderer_count(p3d_ctx *ctx);
/* Renders the views held into rgb[0..n_views-1] (host (height, width, 3) frames), in parallel, and
 * empties views. */
p3d_status p3d_video_renderers_render(p3d_video_renderers *vr, uint8_t **rgb);
/* The views held rendered into the queue's next slots and queued in order. */
p3d_status p3d_video_queue_render(p3d_video_queue *q, p3d_video_renderers *vr);
/* The encoder options of a queued video at fps: one encoder thread (the renderers hold the cores, and
 * libx264 keeps up alone - 17 ms a moon frame against about 140 of rendering - in a fifth less CPU
 * than with its frame threads, 2.00 against 2.53 s for 96 frames, the same bytes - and repeats its
 * files byte for byte), NVENC preferred on a GPU context. */
p3d_video_opts p3d_video_queue_opts(p3d_ctx *ctx, double fps);

#ifdef __cplusplus
}
#endif
#endif
