/* video.c - MP4 (H.264) writing and decoding with libavformat / libavcodec / libswscale. */
#include "io/video.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/interrupt.h"

p3d_video_opts p3d_video_opts_default(void) {
    p3d_video_opts o;
    o.fps = 40.0;
    /* libx264 preset "veryfast" at CRF 20, not the reference's "medium" at CRF 23 (moviepy's defaults):
     * the same quality for half the encoder's CPU, in files about a third larger. 96 frames of moon's
     * circle at 960 (bench/results/README.md), RGB PSNR of the decoded video against the frames / bytes
     * / CPU a frame: fast CRF 23 33.53 dB / 750,324 / 31.5 ms, faster CRF 22 33.51 / 803,997 / 29.1,
     * veryfast CRF 23 32.02 / 578,117 / 16.8, veryfast CRF 20 33.46 / 984,244 / 18.3 (medium was 0.05
     * dB below fast on 48 frames, for 13% more CPU). The quality number is NVENC's too (cq). */
    o.crf = 20;
    o.encoder = NULL;
    o.preset = "veryfast";
    o.prefer_nvenc = 0;
    o.threads = 0;
    return o;
}

/* RGB -> NV12 on the CPU (video.h; the CUDA twin is cuda/io/rgb_nv12.cu). */
p3d_status p3d_rgb_to_nv12_cpu(const uint8_t *rgb, int32_t w, int32_t h, uint8_t *y, int64_t y_pitch, uint8_t *uv,
                               int64_t uv_pitch) {
    if (w < 2 || h < 2 || w % 2 || h % 2 || y_pitch < w || uv_pitch < w)
        return p3d_fail(P3D_ERR_INVALID_ARG, "rgb_to_nv12: %dx%d (pitches %lld, %lld): need even sides, pitches >= width",
                        (int)w, (int)h, (long long)y_pitch, (long long)uv_pitch);
    for (int32_t by = 0; by < h / 2; by++)
        for (int32_t bx = 0; bx < w / 2; bx++) p3d_nv12_block(rgb, w, bx, by, y, y_pitch, uv, uv_pitch);
    return P3D_OK;
}

#ifdef P3D_HAVE_FFMPEG

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/error.h>
#include <libavutil/hwcontext.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>

struct p3d_video_writer {
    AVFormatContext *fmt;
    AVCodecContext *enc;
    AVStream *st;
    struct SwsContext *sws;
    AVFrame *frame;
    AVPacket *pkt;
    int64_t next_pts;
    int32_t width, height;
    char path[1024], tmp[1100];
    int32_t slot; /* interrupt.h slot of tmp, or -1 */
    /* p3d_video_open_device: the context the frames come from, and when NVENC takes them on the
     * device, FFmpeg's CUDA device (on the runtime's primary context) and its NV12 frame pool */
    p3d_ctx *ctx;
    AVBufferRef *hw_device, *hw_frames;
    uint8_t *host_rgb; /* (height, width, 3) staging for device frames without NVENC */
};

static p3d_status av_failure(const char *path, const char *what, int err) {
    char buf[AV_ERROR_MAX_STRING_SIZE];
    av_strerror(err, buf, sizeof buf);
    return p3d_fail(P3D_ERR_IO, "%s: %s: %s", path, what, buf);
}

/* FFmpeg's own logging only at -v: every failure comes back as a p3d message naming the file. */
static void quiet_ffmpeg(void) { av_log_set_level(p3d_log_get_level() >= P3D_LOG_DEBUG ? AV_LOG_INFO : AV_LOG_QUIET); }

int32_t p3d_video_available(void) { return 1; }

int32_t p3d_video_has_encoder(const char *name) { return avcodec_find_encoder_by_name(name) != NULL; }

const char *p3d_video_encoder_name(const p3d_video_writer *v) { return v->enc->codec->name; }

static void writer_free(p3d_video_writer *v, int32_t remove_tmp) {
    if (!v) return;
    if (v->fmt && v->fmt->pb) avio_closep(&v->fmt->pb);
    if (remove_tmp && v->tmp[0]) unlink(v->tmp);
    p3d_interrupt_unregister_temp(v->slot);
    sws_freeContext(v->sws);
    av_frame_free(&v->frame);
    av_packet_free(&v->pkt);
    avcodec_free_context(&v->enc);
    avformat_free_context(v->fmt);
    av_buffer_unref(&v->hw_frames);
    av_buffer_unref(&v->hw_device);
    free(v->host_rgb);
    free(v);
}

void p3d_video_abort(p3d_video_writer *v) { writer_free(v, 1); }

/* Opens codec `c` into v->enc with the quality settings of o; an FFmpeg error code on failure. Its
 * input is host YUV 4:2:0 frames, or with hw_frames (a CUDA frames context) device frames from it. */
static int open_encoder(p3d_video_writer *v, const AVCodec *c, const p3d_video_opts *o, AVRational rate,
                        AVBufferRef *hw_frames) {
    avcodec_free_context(&v->enc);
    v->enc = avcodec_alloc_context3(c);
    if (!v->enc) return AVERROR(ENOMEM);
    v->enc->width = v->width;
    v->enc->height = v->height;
    v->enc->pix_fmt = hw_frames ? AV_PIX_FMT_CUDA : AV_PIX_FMT_YUV420P;
    if (hw_frames && !(v->enc->hw_frames_ctx = av_buffer_ref(hw_frames))) return AVERROR(ENOMEM);
    v->enc->time_base = av_inv_q(rate);
    v->enc->framerate = rate;
    v->enc->color_range = AVCOL_RANGE_MPEG;
    v->enc->colorspace = AVCOL_SPC_SMPTE170M;
    v->enc->color_primaries = AVCOL_PRI_SMPTE170M;
    v->enc->color_trc = AVCOL_TRC_SMPTE170M;
    if (v->fmt->oformat->flags & AVFMT_GLOBALHEADER) v->enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    if (o->threads > 0) v->enc->thread_count = o->threads;
    AVDictionary *opts = NULL;
    char q[16];
    snprintf(q, sizeof q, "%d", (int)o->crf);
    if (strstr(c->name, "nvenc")) {
        /* NVENC: constant-quality VBR at the same quality number, preset p4 (medium) */
        av_dict_set(&opts, "rc", "vbr", 0);
        av_dict_set(&opts, "cq", q, 0);
        av_dict_set(&opts, "preset", "p4", 0);
        v->enc->bit_rate = 0;
    } else if (strcmp(c->name, "libx264") == 0) {
        av_dict_set(&opts, "crf", q, 0);
        if (o->preset) av_dict_set(&opts, "preset", o->preset, 0);
    }
    const int err = avcodec_open2(v->enc, c, &opts);
    av_dict_free(&opts);
    return err;
}

/* h264_nvenc fed with device frames: FFmpeg's CUDA device on the primary context (the one the CUDA
 * runtime, and so our device buffers, use), a pool of NV12 frames in device memory, the encoder opened
 * on it with the quality settings of open_encoder. Returns 0, or an FFmpeg error code (no driver, no
 * NVENC-capable GPU, an FFmpeg without CUDA): the caller then opens a host-frame encoder. */
static int open_nvenc_frames(p3d_video_writer *v, const p3d_video_opts *o, AVRational rate, int32_t device_index) {
    const AVCodec *c = avcodec_find_encoder_by_name("h264_nvenc");
    if (!c) return AVERROR_ENCODER_NOT_FOUND;
    char dev[16];
    snprintf(dev, sizeof dev, "%d", (int)device_index);
    AVDictionary *dopts = NULL;
    av_dict_set(&dopts, "primary_ctx", "1", 0);
    int err = av_hwdevice_ctx_create(&v->hw_device, AV_HWDEVICE_TYPE_CUDA, dev, dopts, 0);
    av_dict_free(&dopts);
    if (err < 0) return err;
    if (!(v->hw_frames = av_hwframe_ctx_alloc(v->hw_device))) return AVERROR(ENOMEM);
    AVHWFramesContext *fc = (AVHWFramesContext *)v->hw_frames->data;
    fc->format = AV_PIX_FMT_CUDA;
    fc->sw_format = AV_PIX_FMT_NV12; /* (h, pitch) luma + (h / 2, pitch) interleaved U, V: video.h */
    fc->width = v->width;
    fc->height = v->height;
    if ((err = av_hwframe_ctx_init(v->hw_frames)) < 0) return err;
    return open_encoder(v, c, o, rate, v->hw_frames);
}

/* p3d_video_open; with dev (a CUDA context) NVENC on device frames is tried first. */
static p3d_status video_open(const char *path, int32_t width, int32_t height, const p3d_video_opts *o, p3d_ctx *dev,
                             p3d_video_writer **out) {
    *out = NULL;
    if (width < 2 || height < 2 || width % 2 || height % 2 || width > 16384 || height > 16384)
        return p3d_fail(P3D_ERR_INVALID_ARG, "%s: video size %dx%d: need even sizes from 2 to 16384 (4:2:0 chroma)",
                        path, (int)width, (int)height);
    if (!(o->fps > 0 && o->fps <= 1000))
        return p3d_fail(P3D_ERR_INVALID_ARG, "%s: frame rate %g: need (0, 1000]", path, o->fps);
    if (o->crf < 0 || o->crf > 51)
        return p3d_fail(P3D_ERR_INVALID_ARG, "%s: CRF %d: need 0..51", path, (int)o->crf);
    quiet_ffmpeg();
    p3d_video_writer *v = (p3d_video_writer *)calloc(1, sizeof *v);
    if (!v) return p3d_fail(P3D_ERR_OOM, "%s: out of memory", path);
    v->width = width;
    v->height = height;
    v->slot = -1;
    snprintf(v->path, sizeof v->path, "%s", path);
    snprintf(v->tmp, sizeof v->tmp, "%s.tmp-XXXXXX", path);
    const int fd = mkstemp(v->tmp);
    if (fd < 0) {
        p3d_status st = p3d_fail(P3D_ERR_IO, "%s: cannot create a file beside it: %s", path, strerror(errno));
        v->tmp[0] = '\0';
        writer_free(v, 0);
        return st;
    }
    /* mkstemp creates 0600: the usual permissions instead (0666 less the umask), as every output */
    const mode_t mask = umask(0);
    umask(mask);
    (void)fchmod(fd, 0666 & ~mask);
    close(fd);
    /* removed by the signal handler if the process is ended mid-write (interrupt.h) */
    v->slot = p3d_interrupt_register_temp(v->tmp);
    p3d_status st = P3D_OK;
    int err = avformat_alloc_output_context2(&v->fmt, NULL, "mp4", v->tmp);
    if (err < 0) st = av_failure(path, "mp4 muxer", err);
    const AVRational rate = av_d2q(o->fps, 1001000);
    const int autoenc = !o->encoder || strcmp(o->encoder, "auto") == 0;
    v->ctx = dev;
    if (st == P3D_OK && dev && ((autoenc && o->prefer_nvenc) || (o->encoder && !strcmp(o->encoder, "h264_nvenc")))) {
        if ((err = open_nvenc_frames(v, o, rate, p3d_ctx_device(dev).index)) >= 0) {
            p3d_log(P3D_LOG_DEBUG, "%s: encoding device frames with h264_nvenc", path);
        } else {
            char buf[AV_ERROR_MAX_STRING_SIZE];
            av_strerror(err, buf, sizeof buf);
            p3d_log(P3D_LOG_DEBUG, "%s: no NVENC on device frames (%s): host frames", path, buf);
            avcodec_free_context(&v->enc);
            av_buffer_unref(&v->hw_frames);
            av_buffer_unref(&v->hw_device);
        }
    }
    if (st == P3D_OK && !v->enc && autoenc && o->prefer_nvenc) {
        const AVCodec *nv = avcodec_find_encoder_by_name("h264_nvenc");
        if (nv && open_encoder(v, nv, o, rate, NULL) >= 0) p3d_log(P3D_LOG_DEBUG, "%s: encoding with h264_nvenc", path);
        else avcodec_free_context(&v->enc);
    }
    if (st == P3D_OK && !v->enc) {
        const AVCodec *c = autoenc ? avcodec_find_encoder_by_name("libx264") : avcodec_find_encoder_by_name(o->encoder);
        if (!c && autoenc) c = avcodec_find_encoder(AV_CODEC_ID_H264);
        if (!c) st = p3d_fail(P3D_ERR_UNSUPPORTED, "%s: FFmpeg has no %s encoder", path, autoenc ? "H.264" : o->encoder);
        else if (c->type != AVMEDIA_TYPE_VIDEO)
            st = p3d_fail(P3D_ERR_INVALID_ARG, "%s: '%s' is not a video encoder", path, c->name);
        else if ((err = open_encoder(v, c, o, rate, NULL)) < 0) {
            char what[96];
            snprintf(what, sizeof what, "cannot open encoder %s", c->name);
            st = av_failure(path, what, err);
        }
    }
    if (st == P3D_OK && !(v->st = avformat_new_stream(v->fmt, NULL))) st = p3d_fail(P3D_ERR_OOM, "%s: out of memory", path);
    if (st == P3D_OK && (err = avcodec_parameters_from_context(v->st->codecpar, v->enc)) < 0)
        st = av_failure(path, "stream parameters", err);
    if (st == P3D_OK) {
        v->st->time_base = v->enc->time_base;
        v->st->avg_frame_rate = rate;
        if ((err = avio_open(&v->fmt->pb, v->tmp, AVIO_FLAG_WRITE)) < 0) st = av_failure(path, "cannot open for writing", err);
    }
    if (st == P3D_OK) {
        AVDictionary *hopts = NULL;
        av_dict_set(&hopts, "movflags", "+faststart", 0);
        err = avformat_write_header(v->fmt, &hopts);
        av_dict_free(&hopts);
        if (err < 0) st = av_failure(path, "cannot write the MP4 header", err);
    }
    if (st == P3D_OK) {
        v->sws = sws_getContext(width, height, AV_PIX_FMT_RGB24, width, height, AV_PIX_FMT_YUV420P,
                                SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INP, NULL, NULL, NULL);
        v->frame = av_frame_alloc();
        v->pkt = av_packet_alloc();
        if (!v->sws || !v->frame || !v->pkt) st = p3d_fail(P3D_ERR_OOM, "%s: out of memory (scaler, frame)", path);
    }
    if (st == P3D_OK) {
        v->frame->format = AV_PIX_FMT_YUV420P;
        v->frame->width = width;
        v->frame->height = height;
        if ((err = av_frame_get_buffer(v->frame, 0)) < 0) st = av_failure(path, "frame buffer", err);
    }
    if (st != P3D_OK) {
        writer_free(v, 1);
        return st;
    }
    *out = v;
    return P3D_OK;
}

/* Sends frame (NULL = flush) and writes every packet the encoder returns. */
static p3d_status encode(p3d_video_writer *v, AVFrame *frame) {
    int err = avcodec_send_frame(v->enc, frame);
    if (err < 0) return av_failure(v->path, "encoder", err);
    for (;;) {
        err = avcodec_receive_packet(v->enc, v->pkt);
        if (err == AVERROR(EAGAIN) || err == AVERROR_EOF) return P3D_OK;
        if (err < 0) return av_failure(v->path, "encoder", err);
        av_packet_rescale_ts(v->pkt, v->enc->time_base, v->st->time_base);
        v->pkt->stream_index = v->st->index;
        err = av_interleaved_write_frame(v->fmt, v->pkt);
        av_packet_unref(v->pkt);
        if (err < 0) return av_failure(v->path, "write failed", err);
    }
}

p3d_status p3d_video_open(const char *path, int32_t width, int32_t height, const p3d_video_opts *o,
                          p3d_video_writer **out) {
    return video_open(path, width, height, o, NULL, out);
}

p3d_status p3d_video_open_device(const char *path, int32_t width, int32_t height, const p3d_video_opts *o,
                                 p3d_ctx *ctx, p3d_video_writer **out) {
    if (!ctx || p3d_ctx_device(ctx).kind != P3D_DEVICE_CUDA)
        return p3d_fail(P3D_ERR_INVALID_ARG, "%s: device frames need a CUDA context", path);
    return video_open(path, width, height, o, ctx, out);
}

int32_t p3d_video_device_frames(const p3d_video_writer *v) { return v->hw_frames != NULL; }

p3d_status p3d_video_write_device(p3d_video_writer *v, const uint8_t *rgb_dev) {
    const size_t bytes = (size_t)v->width * v->height * 3;
    if (!v->ctx) return p3d_fail(P3D_ERR_INVALID_ARG, "%s: not opened for device frames", v->path);
    if (!v->hw_frames) {
        /* no NVENC on device frames: the frame comes to the host and is encoded as any other */
        if (!v->host_rgb && !(v->host_rgb = (uint8_t *)malloc(bytes)))
            return p3d_fail(P3D_ERR_OOM, "%s: out of memory for a frame", v->path);
        P3D_TRY(p3d_ctx_download(v->ctx, v->host_rgb, rgb_dev, bytes));
        return p3d_video_write_rgb(v, v->host_rgb);
    }
#ifdef P3D_HAVE_CUDA
    AVFrame *f = av_frame_alloc();
    if (!f) return p3d_fail(P3D_ERR_OOM, "%s: out of memory", v->path);
    int err = av_hwframe_get_buffer(v->hw_frames, f, 0);
    p3d_status st = err < 0 ? av_failure(v->path, "NVENC frame", err) : P3D_OK;
    /* RGB -> NV12 on the device, straight into the encoder's input frame */
    if (st == P3D_OK)
        st = p3d_rgb_to_nv12_cuda(p3d_ctx_cuda(v->ctx), rgb_dev, v->width, v->height, f->data[0], f->linesize[0],
                                  f->data[1], f->linesize[1]);
    /* NVENC reads the frame on FFmpeg's stream, not ours: the conversion must have finished */
    if (st == P3D_OK) st = p3d_ctx_sync(v->ctx);
    if (st == P3D_OK) {
        f->pts = v->next_pts++;
        st = encode(v, f);
    }
    av_frame_free(&f);
    return st;
#else
    (void)rgb_dev;
    return p3d_fail(P3D_ERR_UNSUPPORTED, "%s: built without CUDA", v->path);
#endif
}

p3d_status p3d_video_write_rgb(p3d_video_writer *v, const uint8_t *rgb) {
    int err = av_frame_make_writable(v->frame);
    if (err < 0) return av_failure(v->path, "frame buffer", err);
    const uint8_t *src[1] = {rgb};
    const int stride[1] = {3 * v->width};
    sws_scale(v->sws, src, stride, 0, v->height, v->frame->data, v->frame->linesize);
    v->frame->pts = v->next_pts++;
    return encode(v, v->frame);
}

p3d_status p3d_video_close(p3d_video_writer *v) {
    p3d_status st = encode(v, NULL);
    int err = 0;
    if (st == P3D_OK && (err = av_write_trailer(v->fmt)) < 0) st = av_failure(v->path, "cannot finish the MP4", err);
    if (st == P3D_OK && (err = avio_closep(&v->fmt->pb)) < 0) st = av_failure(v->path, "write failed", err);
    if (st == P3D_OK && rename(v->tmp, v->path) != 0)
        st = p3d_fail(P3D_ERR_IO, "%s: cannot rename %s into place", v->path, v->tmp);
    writer_free(v, st != P3D_OK);
    return st;
}

/* ---- reading ----------------------------------------------------------------------------------- */

/* Top-level MP4 boxes: 1 when moov comes before mdat. */
static int32_t moov_before_mdat(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    int32_t result = 0;
    for (int i = 0; i < 64; i++) {
        uint8_t h[16];
        if (fread(h, 1, 8, f) != 8) break;
        uint64_t size = ((uint64_t)h[0] << 24) | ((uint64_t)h[1] << 16) | ((uint64_t)h[2] << 8) | h[3];
        uint64_t hdr = 8;
        if (size == 1) {
            if (fread(h + 8, 1, 8, f) != 8) break;
            size = 0;
            for (int k = 8; k < 16; k++) size = (size << 8) | h[k];
            hdr = 16;
        }
        if (memcmp(h + 4, "moov", 4) == 0) {
            result = 1;
            break;
        }
        if (memcmp(h + 4, "mdat", 4) == 0 || size < hdr) break;
        if (fseeko(f, (off_t)(size - hdr), SEEK_CUR) != 0) break;
    }
    fclose(f);
    return result;
}

/* Decodes the best video stream of path; calls fn on every decoded frame (in order) until it
 * returns 0. Fills info (frames = frames decoded). */
typedef int32_t (*frame_fn)(const AVFrame *f, int64_t index, void *user);

static p3d_status decode_frames(const char *path, p3d_video_info *info, frame_fn fn, void *user) {
    memset(info, 0, sizeof *info);
    quiet_ffmpeg();
    AVFormatContext *fmt = NULL;
    AVCodecContext *dec = NULL;
    AVPacket *pkt = av_packet_alloc();
    AVFrame *frame = av_frame_alloc();
    p3d_status st = P3D_OK;
    int err = 0, idx = -1;
    if (!pkt || !frame) st = p3d_fail(P3D_ERR_OOM, "%s: out of memory", path);
    if (st == P3D_OK && (err = avformat_open_input(&fmt, path, NULL, NULL)) < 0) st = av_failure(path, "cannot open", err);
    if (st == P3D_OK && (err = avformat_find_stream_info(fmt, NULL)) < 0) st = av_failure(path, "no stream info", err);
    const AVCodec *c = NULL;
    if (st == P3D_OK && (idx = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, &c, 0)) < 0)
        st = p3d_fail(P3D_ERR_FORMAT, "%s: no decodable video stream", path);
    if (st == P3D_OK) {
        dec = avcodec_alloc_context3(c);
        if (!dec) st = p3d_fail(P3D_ERR_OOM, "%s: out of memory", path);
        else if ((err = avcodec_parameters_to_context(dec, fmt->streams[idx]->codecpar)) < 0 ||
                 (err = avcodec_open2(dec, c, NULL)) < 0)
            st = av_failure(path, "cannot open the decoder", err);
    }
    if (st == P3D_OK) {
        const AVStream *s = fmt->streams[idx];
        info->width = s->codecpar->width;
        info->height = s->codecpar->height;
        info->fps = s->avg_frame_rate.den ? av_q2d(s->avg_frame_rate) : 0.0;
        snprintf(info->codec, sizeof info->codec, "%s", c->name);
        const char *pf = av_get_pix_fmt_name((enum AVPixelFormat)s->codecpar->format);
        snprintf(info->pix_fmt, sizeof info->pix_fmt, "%s", pf ? pf : "unknown");
    }
    int32_t more = 1, eof = 0;
    while (st == P3D_OK && more) {
        if (!eof) {
            err = av_read_frame(fmt, pkt);
            if (err == AVERROR_EOF) {
                eof = 1;
                err = avcodec_send_packet(dec, NULL);
            } else if (err < 0) {
                st = av_failure(path, "read failed", err);
                break;
            } else {
                err = pkt->stream_index == idx ? avcodec_send_packet(dec, pkt) : 0;
                av_packet_unref(pkt);
            }
            if (err < 0 && err != AVERROR(EAGAIN)) {
                st = av_failure(path, "corrupt video data", err);
                break;
            }
        }
        for (;;) {
            err = avcodec_receive_frame(dec, frame);
            if (err == AVERROR(EAGAIN)) break;
            if (err == AVERROR_EOF) {
                more = 0;
                break;
            }
            if (err < 0) {
                st = av_failure(path, "corrupt video data", err);
                break;
            }
            if (fn && more && !fn(frame, info->frames, user)) more = 0;
            info->frames++;
            av_frame_unref(frame);
        }
    }
    avcodec_free_context(&dec);
    avformat_close_input(&fmt);
    av_frame_free(&frame);
    av_packet_free(&pkt);
    if (st == P3D_OK) info->moov_first = moov_before_mdat(path);
    return st;
}

p3d_status p3d_video_probe(const char *path, p3d_video_info *out) { return decode_frames(path, out, NULL, NULL); }

typedef struct grab {
    int64_t want;
    uint8_t *rgb;
    int32_t w, h;
    int32_t failed;
} grab;

static int32_t grab_frame(const AVFrame *f, int64_t index, void *user) {
    grab *g = (grab *)user;
    if (index != g->want) return 1;
    g->w = f->width;
    g->h = f->height;
    g->rgb = (uint8_t *)malloc((size_t)f->width * (size_t)f->height * 3);
    struct SwsContext *s = sws_getContext(f->width, f->height, (enum AVPixelFormat)f->format, f->width, f->height,
                                          AV_PIX_FMT_RGB24, SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT,
                                          NULL, NULL, NULL);
    if (!g->rgb || !s) g->failed = 1;
    else {
        uint8_t *dst[1] = {g->rgb};
        const int stride[1] = {3 * f->width};
        sws_scale(s, (const uint8_t *const *)f->data, f->linesize, 0, f->height, dst, stride);
    }
    sws_freeContext(s);
    return 0;
}

p3d_status p3d_video_read_frame(const char *path, int64_t index, uint8_t **rgb, int32_t *width, int32_t *height) {
    *rgb = NULL;
    grab g = {index, NULL, 0, 0, 0};
    p3d_video_info info;
    p3d_status st = decode_frames(path, &info, grab_frame, &g);
    if (st == P3D_OK && g.failed) st = p3d_fail(P3D_ERR_OOM, "%s: out of memory converting frame %lld", path, (long long)index);
    if (st == P3D_OK && !g.rgb)
        st = p3d_fail(P3D_ERR_INVALID_ARG, "%s: no frame %lld (%lld frames)", path, (long long)index, (long long)info.frames);
    if (st != P3D_OK) {
        free(g.rgb);
        return st;
    }
    *rgb = g.rgb;
    *width = g.w;
    *height = g.h;
    return P3D_OK;
}

#else /* no FFmpeg */

struct p3d_video_writer {
    int32_t unused;
};

static p3d_status no_ffmpeg(const char *path) {
    return p3d_fail(P3D_ERR_UNSUPPORTED, "%s: MP4 needs FFmpeg's libraries (libavcodec, libavformat, libswscale, "
                    "libavutil), which this build does not have: install their -dev packages (tools/setup.sh) and "
                    "rebuild, or write PNG frames (--format png)", path);
}

int32_t p3d_video_available(void) { return 0; }
int32_t p3d_video_has_encoder(const char *name) { return 0; }
const char *p3d_video_encoder_name(const p3d_video_writer *v) { return "none"; }
p3d_status p3d_video_open(const char *path, int32_t width, int32_t height, const p3d_video_opts *o,
                          p3d_video_writer **out) {
    *out = NULL;
    return no_ffmpeg(path);
}
p3d_status p3d_video_open_device(const char *path, int32_t width, int32_t height, const p3d_video_opts *o,
                                 p3d_ctx *ctx, p3d_video_writer **out) {
    *out = NULL;
    return no_ffmpeg(path);
}
int32_t p3d_video_device_frames(const p3d_video_writer *v) { return 0; }
p3d_status p3d_video_write_device(p3d_video_writer *v, const uint8_t *rgb_dev) { return no_ffmpeg("video"); }
p3d_status p3d_video_write_rgb(p3d_video_writer *v, const uint8_t *rgb) { return no_ffmpeg("video"); }
p3d_status p3d_video_close(p3d_video_writer *v) { return no_ffmpeg("video"); }
void p3d_video_abort(p3d_video_writer *v) {}
p3d_status p3d_video_probe(const char *path, p3d_video_info *out) {
    memset(out, 0, sizeof *out);
    return no_ffmpeg(path);
}
p3d_status p3d_video_read_frame(const char *path, int64_t index, uint8_t **rgb, int32_t *width, int32_t *height) {
    *rgb = NULL;
    return no_ffmpeg(path);
}

#endif
