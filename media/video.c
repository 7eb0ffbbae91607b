/* Video files through FFmpeg's libraries: decoding anything libavformat opens
 * into RGB frames (scaled with libswscale, resampled in time by nearest frame),
 * and encoding frames to MP4 (H.264 through libx264 when present, MPEG-4 Part 2
 * otherwise; yuv420p) or GIF, written to a temporary name and renamed. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "context.h"
#include "vitrail.h"
#include "vt_config.h"

#if VT_HAVE_VIDEO
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>

static const char *averr(int e, char *buf, size_t cap) {
    av_strerror(e, buf, cap);
    return buf;
}

void vt_video_free(vt_video *v) {
    if (!v) return;
    free(v->pixels);
    memset(v, 0, sizeof *v);
}

/* Appends one RGB frame (width × height × 3) to v, growing the buffer. */
static int push_frame(vt_video *v, const unsigned char *rgb, size_t *cap) {
    size_t fsz = (size_t)v->width * v->height * 3;
    if ((size_t)(v->frames + 1) * fsz > *cap) {
        size_t nc = *cap ? *cap * 2 : fsz * 16;
        unsigned char *np = realloc(v->pixels, nc);
        if (!np) return -1;
        v->pixels = np;
        *cap = nc;
    }
    memcpy(v->pixels + (size_t)v->frames * fsz, rgb, fsz);
    v->frames++;
    return 0;
}

/* The library prints nothing: FFmpeg's own logging (libx264's banner among it) is
 * silenced; errors come back as return codes and go into the context. */
static void quiet(void) { av_log_set_level(AV_LOG_QUIET); }

int vt_video_load(vt_context *ctx, const char *path, const vt_video_load_params *lp, vt_video *out) {
    memset(out, 0, sizeof *out);
    quiet();
    AVFormatContext *fmt = NULL;
    AVCodecContext *dec = NULL;
    AVPacket *pkt = NULL;
    AVFrame *frame = NULL;
    struct SwsContext *sws = NULL;
    unsigned char *rgb = NULL;
    char eb[128];
    int rc = VT_OK, e;
    if ((e = avformat_open_input(&fmt, path, NULL, NULL)) < 0)
        return vt_error(ctx, e == AVERROR(ENOENT) ? VT_E_IO : VT_E_FORMAT, "%s: cannot open as a video: %s", path,
                        averr(e, eb, sizeof eb));
    if ((e = avformat_find_stream_info(fmt, NULL)) < 0) {
        rc = vt_error(ctx, VT_E_FORMAT, "%s: corrupt or unknown container: %s", path, averr(e, eb, sizeof eb));
        goto done;
    }
    const AVCodec *codec = NULL;
    int si = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
    if (si < 0 || !codec) {
        rc = vt_error(ctx, VT_E_FORMAT, "%s: no decodable video stream", path);
        goto done;
    }
    AVStream *st = fmt->streams[si];
    dec = avcodec_alloc_context3(codec);
    if (!dec || avcodec_parameters_to_context(dec, st->codecpar) < 0 || avcodec_open2(dec, codec, NULL) < 0) {
        rc = vt_error(ctx, VT_E_FORMAT, "%s: cannot open the %s decoder", path, codec->name);
        goto done;
    }
    AVRational fr = av_guess_frame_rate(fmt, st, NULL);
    double src_fps = fr.num > 0 && fr.den > 0 ? av_q2d(fr) : 25.0;
    out->fps = lp && lp->fps > 0 ? lp->fps : src_fps;
    out->src_fps = src_fps;
    int W = lp && lp->width > 0 ? lp->width : dec->width, H = lp && lp->height > 0 ? lp->height : dec->height;
    if (W < 1 || H < 1 || W > 16384 || H > 16384) {
        rc = vt_error(ctx, VT_E_FORMAT, "%s: impossible frame size %dx%d", path, W, H);
        goto done;
    }
    out->width = W;
    out->height = H;
    pkt = av_packet_alloc();
    frame = av_frame_alloc();
    rgb = malloc((size_t)W * H * 3);
    if (!pkt || !frame || !rgb) {
        rc = vt_error(ctx, VT_E_NOMEM, "%s: out of memory", path);
        goto done;
    }
    size_t cap = 0;
    int max_frames = lp && lp->max_frames > 0 ? lp->max_frames : 1 << 20;
    /* Time resampling by nearest frame: output frame k shows the last source
     * frame whose timestamp is <= k / fps. */
    long long next_out = 0, decoded = 0;
    int eof = 0;
    double tb = av_q2d(st->time_base);
    while (!eof && out->frames < max_frames) {
        e = av_read_frame(fmt, pkt);
        if (e == AVERROR_EOF) {
            eof = 1;
            avcodec_send_packet(dec, NULL);
        } else if (e < 0) {
            rc = vt_error(ctx, VT_E_FORMAT, "%s: read error: %s", path, averr(e, eb, sizeof eb));
            goto done;
        } else {
            if (pkt->stream_index == si && (e = avcodec_send_packet(dec, pkt)) < 0 && e != AVERROR(EAGAIN)) {
                av_packet_unref(pkt);
                rc = vt_error(ctx, VT_E_FORMAT, "%s: corrupt video data: %s", path, averr(e, eb, sizeof eb));
                goto done;
            }
            av_packet_unref(pkt);
        }
        while ((e = avcodec_receive_frame(dec, frame)) >= 0) {
            sws = sws_getCachedContext(sws, frame->width, frame->height, frame->format, W, H, AV_PIX_FMT_RGB24,
                                       SWS_BICUBIC, NULL, NULL, NULL);
            if (!sws) {
                rc = vt_error(ctx, VT_E_FORMAT, "%s: cannot convert frames of format %d", path, frame->format);
                goto done;
            }
            uint8_t *dst[4] = {rgb, NULL, NULL, NULL};
            int dst_ls[4] = {W * 3, 0, 0, 0};
            sws_scale(sws, (const uint8_t *const *)frame->data, frame->linesize, 0, frame->height, dst, dst_ls);
            int64_t pts = frame->best_effort_timestamp;
            double t = pts == AV_NOPTS_VALUE ? (double)decoded / src_fps : (double)(pts - (st->start_time == AV_NOPTS_VALUE ? 0 : st->start_time)) * tb;
            decoded++;
            /* emit as many output frames as this source frame covers; without a
             * rate change, exactly one */
            double frame_end = t + 1.0 / src_fps;
            int emit = 1;
            if (lp && lp->fps > 0) {
                emit = 0;
                while ((double)(next_out + emit) / out->fps < frame_end - 1e-9) emit++;
            }
            for (int k = 0; k < emit && out->frames < max_frames; k++) {
                if (push_frame(out, rgb, &cap)) {
                    rc = vt_error(ctx, VT_E_NOMEM, "%s: out of memory after %d frames", path, out->frames);
                    goto done;
                }
            }
            next_out += emit;
            av_frame_unref(frame);
        }
        if (e != AVERROR(EAGAIN) && e != AVERROR_EOF && e < 0) {
            rc = vt_error(ctx, VT_E_FORMAT, "%s: corrupt video data: %s", path, averr(e, eb, sizeof eb));
            goto done;
        }
    }
    if (out->frames == 0) rc = vt_error(ctx, VT_E_FORMAT, "%s: the video stream has no decodable frame", path);
done:
    if (rc) vt_video_free(out);
    free(rgb);
    sws_freeContext(sws);
    av_frame_free(&frame);
    av_packet_free(&pkt);
    avcodec_free_context(&dec);
    avformat_close_input(&fmt);
    return rc;
}

/* ---- encoding ---- */

static int encode_write(AVCodecContext *enc, AVFrame *f, AVFormatContext *oc, AVStream *st, AVPacket *pkt) {
    int e = avcodec_send_frame(enc, f);
    if (e < 0) return e;
    while ((e = avcodec_receive_packet(enc, pkt)) >= 0) {
        /* every frame lasts one tick; without it the MP4 edit list ends at the last
         * frame's start and players drop that frame */
        if (pkt->duration <= 0) pkt->duration = 1;
        av_packet_rescale_ts(pkt, enc->time_base, st->time_base);
        pkt->stream_index = st->index;
        if ((e = av_interleaved_write_frame(oc, pkt)) < 0) return e;
    }
    return e == AVERROR(EAGAIN) || e == AVERROR_EOF ? 0 : e;
}

int vt_video_save(vt_context *ctx, const char *path, const vt_video *v) {
    if (!v || !v->pixels || v->frames < 1 || v->width < 2 || v->height < 2 || !(v->fps > 0))
        return vt_error(ctx, VT_E_INVALID, "%s: nothing to write (need >= 1 frame of >= 2x2 and a frame rate)", path);
    quiet();
    const char *ext = strrchr(path, '.');
    int gif = ext && !strcasecmp(ext, ".gif");
    if (!ext || (!gif && strcasecmp(ext, ".mp4") && strcasecmp(ext, ".m4v") && strcasecmp(ext, ".mov")))
        return vt_error(ctx, VT_E_INVALID, "%s: the output must end in .mp4 or .gif", path);
    char tmp[4096];
    /* the temporary keeps the extension so libavformat picks the muxer from it */
    snprintf(tmp, sizeof tmp, "%.*s.tmp-%d%s", (int)(ext - path), path, (int)getpid(), ext);
    const AVCodec *codec = gif ? avcodec_find_encoder(AV_CODEC_ID_GIF) : avcodec_find_encoder_by_name("libx264");
    if (!gif && !codec) codec = avcodec_find_encoder(AV_CODEC_ID_MPEG4);
    if (!codec) return vt_error(ctx, VT_E_UNSUPPORTED, "%s: no %s encoder in this FFmpeg", path, gif ? "GIF" : "H.264 or MPEG-4");
    AVFormatContext *oc = NULL;
    AVCodecContext *enc = NULL;
    AVFrame *f = NULL;
    AVPacket *pkt = NULL;
    struct SwsContext *sws = NULL;
    char eb[128];
    int rc = VT_OK, e, opened = 0;
    if ((e = avformat_alloc_output_context2(&oc, NULL, NULL, tmp)) < 0 || !oc) {
        rc = vt_error(ctx, VT_E_IO, "%s: cannot set up the container: %s", path, averr(e, eb, sizeof eb));
        goto done;
    }
    AVStream *st = avformat_new_stream(oc, NULL);
    enc = avcodec_alloc_context3(codec);
    f = av_frame_alloc();
    pkt = av_packet_alloc();
    if (!st || !enc || !f || !pkt) {
        rc = vt_error(ctx, VT_E_NOMEM, "%s: out of memory", path);
        goto done;
    }
    /* yuv420p needs even sizes; GIF takes any */
    int W = gif ? v->width : v->width & ~1, H = gif ? v->height : v->height & ~1;
    AVRational rate = av_d2q(v->fps, 100000);
    enc->width = W;
    enc->height = H;
    enc->time_base = av_inv_q(rate);
    enc->framerate = rate;
    enc->pix_fmt = gif ? AV_PIX_FMT_RGB8 : AV_PIX_FMT_YUV420P;
    enc->gop_size = 12;
    /* no B-frames: every frame is presented exactly as written, and a clip of N
     * frames decodes to N frames in every player (with B-frames and the MP4 edit
     * list, ffprobe counted one frame short) */
    enc->max_b_frames = 0;
    if (!gif && codec->id == AV_CODEC_ID_MPEG4) enc->bit_rate = (int64_t)W * H * 8;
    if (!gif && !strcmp(codec->name, "libx264")) av_opt_set(enc->priv_data, "crf", "18", 0);
    if (oc->oformat->flags & AVFMT_GLOBALHEADER) enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    if ((e = avcodec_open2(enc, codec, NULL)) < 0 || (e = avcodec_parameters_from_context(st->codecpar, enc)) < 0) {
        rc = vt_error(ctx, VT_E_UNSUPPORTED, "%s: cannot open the %s encoder: %s", path, codec->name, averr(e, eb, sizeof eb));
        goto done;
    }
    st->time_base = enc->time_base;
    if ((e = avio_open(&oc->pb, tmp, AVIO_FLAG_WRITE)) < 0) {
        rc = vt_error(ctx, VT_E_IO, "%s: cannot create: %s", path, averr(e, eb, sizeof eb));
        goto done;
    }
    opened = 1;
    if ((e = avformat_write_header(oc, NULL)) < 0) {
        rc = vt_error(ctx, VT_E_IO, "%s: cannot write the header: %s", path, averr(e, eb, sizeof eb));
        goto done;
    }
    f->format = enc->pix_fmt;
    f->width = W;
    f->height = H;
    if (av_frame_get_buffer(f, 0) < 0) {
        rc = vt_error(ctx, VT_E_NOMEM, "%s: out of memory", path);
        goto done;
    }
    sws = sws_getContext(v->width, v->height, AV_PIX_FMT_RGB24, W, H, enc->pix_fmt, SWS_BICUBIC, NULL, NULL, NULL);
    if (!sws) {
        rc = vt_error(ctx, VT_E_UNSUPPORTED, "%s: no RGB to %s conversion", path, av_get_pix_fmt_name(enc->pix_fmt));
        goto done;
    }
    for (int k = 0; k < v->frames; k++) {
        if (av_frame_make_writable(f) < 0) {
            rc = vt_error(ctx, VT_E_NOMEM, "%s: out of memory", path);
            goto done;
        }
        const uint8_t *src[4] = {v->pixels + (size_t)k * v->width * v->height * 3, NULL, NULL, NULL};
        int src_ls[4] = {v->width * 3, 0, 0, 0};
        sws_scale(sws, src, src_ls, 0, v->height, f->data, f->linesize);
        f->pts = k;
        if ((e = encode_write(enc, f, oc, st, pkt)) < 0) {
            rc = vt_error(ctx, VT_E_IO, "%s: encoding frame %d failed: %s", path, k, averr(e, eb, sizeof eb));
            goto done;
        }
    }
    if ((e = encode_write(enc, NULL, oc, st, pkt)) < 0 || (e = av_write_trailer(oc)) < 0) {
        rc = vt_error(ctx, VT_E_IO, "%s: finishing the file failed: %s", path, averr(e, eb, sizeof eb));
        goto done;
    }
done:
    if (opened) avio_closep(&oc->pb);
    sws_freeContext(sws);
    av_packet_free(&pkt);
    av_frame_free(&f);
    avcodec_free_context(&enc);
    avformat_free_context(oc);
    if (!rc && rename(tmp, path) != 0) rc = vt_error(ctx, VT_E_IO, "%s: cannot rename into place: %s", path, strerror(errno));
    if (rc) unlink(tmp);
    return rc;
}

#else

void vt_video_free(vt_video *v) {
    if (v) memset(v, 0, sizeof *v);
}

int vt_video_load(vt_context *ctx, const char *path, const vt_video_load_params *lp, vt_video *out) {
    (void)lp;
    memset(out, 0, sizeof *out);
    return vt_error(ctx, VT_E_UNSUPPORTED, "%s: this build has no video support (configure with -Dvideo=enabled)", path);
}

int vt_video_save(vt_context *ctx, const char *path, const vt_video *v) {
    (void)v;
    return vt_error(ctx, VT_E_UNSUPPORTED, "%s: this build has no video support (configure with -Dvideo=enabled)", path);
}

#endif
