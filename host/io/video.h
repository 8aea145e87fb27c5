/* video.h - H.264 MP4 writing and reading back through FFmpeg's libraries (libavformat, libavcodec,
 * libswscale), no ffmpeg program needed.
 *
 *   p3d_video_opts o = p3d_video_opts_default();                 // libx264, CRF 20, preset veryfast, 40 fps
 *   p3d_video_writer *v;
 *   P3D_TRY(p3d_video_open("out/photo_circle.mp4", 960, 640, &o, &v));
 *   for (...) P3D_TRY(p3d_video_write_rgb(v, rgb));              // (H, W, 3) RGB frames
 *   P3D_TRY(p3d_video_close(v));                                 // flush, trailer, rename into place
 *
 * Output as the reference's moviepy/ffmpeg call (spec 2.23): H.264 in MP4, yuv420p (BT.601 limited
 * range, tagged), constant quality CRF 20 with preset veryfast (the reference's moviepy call used CRF
 * 23 and libx264's default preset, medium: veryfast at 20 gives the same PSNR against the frames for
 * half the CPU, in larger files; see p3d_video_opts_default),
 * plus +faststart (the index before the data, so players can start before the download ends). The
 * encoder is libx264 when FFmpeg has it, else FFmpeg's default H.264 encoder; "h264_nvenc" (or
 * prefer_nvenc on a GPU run) uses NVENC with constant-quality VBR at the same quality number. The
 * file is written under a temporary name and renamed when complete; a failed or abandoned video leaves
 * nothing behind. Width and height must be even (4:2:0 chroma). Without FFmpeg at build time every
 * call fails with P3D_ERR_UNSUPPORTED saying so. */
#ifndef P3D_VIDEO_H
#define P3D_VIDEO_H

#include "core/backend.h"
#include "core/p3d_common.h"
#include "core/p3d_hd.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct p3d_video_opts {
    double fps;
    int32_t crf;          /* 0..51, lower = better (default 20; 23 = libx264's default) */
    const char *encoder;  /* NULL or "auto": see above; else an FFmpeg encoder name */
    const char *preset;   /* libx264 preset ("veryfast"); NULL = the encoder's default (medium) */
    int32_t prefer_nvenc; /* with encoder auto: try h264_nvenc first, fall back to libx264 */
    int32_t threads;      /* encoder threads (FFmpeg's thread_count); 0 = the encoder's choice (default) */
} p3d_video_opts;

p3d_video_opts p3d_video_opts_default(void);

/* 1 when built with FFmpeg. */
int32_t p3d_video_available(void);
/* 1 when FFmpeg has an encoder of this name. */
int32_t p3d_video_has_encoder(const char *name);

typedef struct p3d_video_writer p3d_video_writer;

p3d_status p3d_video_open(const char *path, int32_t width, int32_t height, const p3d_video_opts *o,
                          p3d_video_writer **out);
/* rgb: (height, width, 3) RGB. */
p3d_status p3d_video_write_rgb(p3d_video_writer *v, const uint8_t *rgb);
/* Device frames (issue 14): on a CUDA context, when the encoder would be h264_nvenc (encoder auto with
 * prefer_nvenc, or "h264_nvenc") and FFmpeg can open a CUDA device on the runtime's primary context
 * with NVENC, the frames never leave the device: p3d_video_write_device converts the device RGB frame
 * to NV12 with the kernel below (cuda/io/rgb_nv12.cu) straight into an NVENC input frame (an FFmpeg hw_frames_ctx of
 * AV_PIX_FMT_CUDA) and encodes it. Otherwise (no driver, no NVENC, the emulated device) the writer is
 * p3d_video_open's, and p3d_video_write_device downloads each frame and encodes it as
 * p3d_video_write_rgb: the same file as a host-frame loop. */
p3d_status p3d_video_open_device(const char *path, int32_t width, int32_t height, const p3d_video_opts *o,
                                 p3d_ctx *ctx, p3d_video_writer **out);
/* rgb_dev: (height, width, 3) RGB in the context's device memory, complete in stream order. */
p3d_status p3d_video_write_device(p3d_video_writer *v, const uint8_t *rgb_dev);
/* 1 when v encodes device frames with NVENC, 0 when they come through the host. */
int32_t p3d_video_device_frames(const p3d_video_writer *v);
/* Flushes the encoder, finishes the file and renames it into place; frees v (also on failure). */
p3d_status p3d_video_close(p3d_video_writer *v);
/* Frees v and deletes the unfinished file. NULL is allowed. */
void p3d_video_abort(p3d_video_writer *v);
/* The encoder actually used ("libx264"). */
const char *p3d_video_encoder_name(const p3d_video_writer *v);

/* What a video file holds, found by demuxing and decoding every frame. */
typedef struct p3d_video_info {
    int32_t width, height;
    int64_t frames;        /* frames decoded */
    double fps;            /* the stream's average frame rate */
    char codec[32];        /* "h264" */
    char pix_fmt[32];      /* "yuv420p" */
    int32_t moov_first;    /* 1 when the MP4 index (moov) precedes the data (mdat): faststart */
} p3d_video_info;

p3d_status p3d_video_probe(const char *path, p3d_video_info *out);

/* Decodes frame `index` (0-based) of a video as (height, width, 3) RGB into a malloc'ed buffer. */
p3d_status p3d_video_read_frame(const char *path, int64_t index, uint8_t **rgb, int32_t *width, int32_t *height);

/* ---- RGB -> NV12 -------------------------------------------------------------------------------
 * The input of NVENC's device frames (p3d_video_write_device): BT.601 limited range, as the videos are
 * tagged, per 2 x 2 pixel block: four luma samples and one interleaved (U, V) pair from the block's
 * mean colour. Integer arithmetic only, written once (P3D_HD) for the CPU (video.c) and the CUDA
 * kernel (cuda/io/rgb_nv12.cu), which agree bit for bit. */
/* The 8-bit BT.601 studio-swing coefficients (ITU-R BT.601 in 1/256 steps), rounded. */
P3D_HD uint8_t p3d_nv12_y(int32_t r, int32_t g, int32_t b) {
    return (uint8_t)(((66 * r + 129 * g + 25 * b + 128) >> 8) + 16);
}
P3D_HD uint8_t p3d_nv12_u(int32_t r, int32_t g, int32_t b) {
    return (uint8_t)(((-38 * r - 74 * g + 112 * b + 128) >> 8) + 128);
}
P3D_HD uint8_t p3d_nv12_v(int32_t r, int32_t g, int32_t b) {
    return (uint8_t)(((112 * r - 94 * g - 18 * b + 128) >> 8) + 128);
}

/* Block (bx, by) of an RGB frame (h, w, 3), w and h even: luma rows 2 by and 2 by + 1 of y (pitch
 * y_pitch bytes), the (U, V) pair at column 2 bx of row by of uv (pitch uv_pitch bytes). */
P3D_HD void p3d_nv12_block(const uint8_t *rgb, int32_t w, int32_t bx, int32_t by, uint8_t *y, int64_t y_pitch,
                           uint8_t *uv, int64_t uv_pitch) {
    int32_t sr = 0, sg = 0, sb = 0;
    for (int32_t dy = 0; dy < 2; dy++)
        for (int32_t dx = 0; dx < 2; dx++) {
            const int32_t px = 2 * bx + dx, py = 2 * by + dy;
            const uint8_t *p = rgb + 3 * ((int64_t)py * w + px);
            y[(int64_t)py * y_pitch + px] = p3d_nv12_y(p[0], p[1], p[2]);
            sr += p[0], sg += p[1], sb += p[2];
        }
    /* the block's mean, rounded half up */
    sr = (sr + 2) >> 2, sg = (sg + 2) >> 2, sb = (sb + 2) >> 2;
    uint8_t *c = uv + (int64_t)by * uv_pitch + 2 * bx;
    c[0] = p3d_nv12_u(sr, sg, sb);
    c[1] = p3d_nv12_v(sr, sg, sb);
}

/* rgb (h, w, 3) -> y (h rows of y_pitch bytes, w used) and uv (h / 2 rows of uv_pitch bytes, w used:
 * U, V interleaved). w and h even and positive, pitches >= w. */
p3d_status p3d_rgb_to_nv12_cpu(const uint8_t *rgb, int32_t w, int32_t h, uint8_t *y, int64_t y_pitch, uint8_t *uv,
                               int64_t uv_pitch);
#ifdef P3D_HAVE_CUDA
struct p3d_cuda_ctx;
/* The CUDA twin: every pointer is device memory; runs on ctx's stream (asynchronous). */
p3d_status p3d_rgb_to_nv12_cuda(struct p3d_cuda_ctx *ctx, const uint8_t *rgb, int32_t w, int32_t h, uint8_t *y,
                                int64_t y_pitch, uint8_t *uv, int64_t uv_pitch);
#endif

#ifdef __cplusplus
}
#endif
#endif
