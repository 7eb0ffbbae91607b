/* Video files through FFmpeg's libraries. A streaming reader decodes anything
 * libavformat opens into RGB frames (scaled with libswscale, resampled in time by
 * nearest earlier frame); a streaming writer encodes RGB frames to MP4 (H.264
 * through libx264 when present, MPEG-4 Part 2 otherwise; yuv420p) or GIF, can
 * copy another file's audio stream through untouched, and writes to a temporary
 * name renamed when complete. vt_video_load/save are the whole-clip forms. */
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

/* The library prints nothing: FFmpeg's own logging (libx264's banner among it) is
 * silenced; errors come back as return codes and go into the context. */
static void quiet(void) { av_log_set_level(AV_LOG_QUIET); }

/* ---- reading ---- */

struct vt_video_reader {
    vt_context *ctx;
    char *path;
    AVFormatContext *fmt;
    AVCodecContext *dec;
    AVPacket *pkt;
    AVFrame *frame;
    struct SwsContext *sws;
    int si;                  /* the video stream */
    double tb;               /* its time base, seconds */
    int64_t start;           /* its start time, in time base units */
    int W, H;                /* output size */
    double fps, src_fps;
    int resample;            /* output rate differs from the file's */
    unsigned char *rgb;      /* (H, W, 3) the last decoded frame, converted */
    int pending;             /* copies of rgb still to hand out */
    long long decoded, emitted;
    int eof_sent, done;
};

int vt_video_reader_open(vt_context *ctx, const char *path, const vt_video_load_params *lp, vt_video_reader **out) {
    *out = NULL;
    quiet();
    vt_video_reader *r = calloc(1, sizeof *r);
    if (!r || !(r->path = strdup(path))) {
        free(r);
        return vt_error(ctx, VT_E_NOMEM, "%s: out of memory", path);
    }
    r->ctx = ctx;
    char eb[128];
    int e, rc = VT_OK;
    if ((e = avformat_open_input(&r->fmt, path, NULL, NULL)) < 0) {
        rc = vt_error(ctx, e == AVERROR(ENOENT) ? VT_E_IO : VT_E_FORMAT, "%s: cannot open as a video: %s", path,
                      averr(e, eb, sizeof eb));
        goto fail;
    }
    if ((e = avformat_find_stream_info(r->fmt, NULL)) < 0) {
        rc = vt_error(ctx, VT_E_FORMAT, "%s: corrupt or unknown container: %s", path, averr(e, eb, sizeof eb));
        goto fail;
    }
    const AVCodec *codec = NULL;
    r->si = av_find_best_stream(r->fmt, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
    if (r->si < 0 || !codec) {
        rc = vt_error(ctx, VT_E_FORMAT, "%s: no decodable video stream", path);
        goto fail;
    }
    AVStream *st = r->fmt->streams[r->si];
    r->dec = avcodec_alloc_context3(codec);
    if (!r->dec || avcodec_parameters_to_context(r->dec, st->codecpar) < 0 || avcodec_open2(r->dec, codec, NULL) < 0) {
        rc = vt_error(ctx, VT_E_FORMAT, "%s: cannot open the %s decoder", path, codec->name);
        goto fail;
    }
    AVRational fr = av_guess_frame_rate(r->fmt, st, NULL);
    r->src_fps = fr.num > 0 && fr.den > 0 ? av_q2d(fr) : 25.0;
    r->resample = lp && lp->fps > 0;
    r->fps = r->resample ? lp->fps : r->src_fps;
    r->W = lp && lp->width > 0 ? lp->width : r->dec->width;
    r->H = lp && lp->height > 0 ? lp->height : r->dec->height;
    if (r->W < 1 || r->H < 1 || r->W > 16384 || r->H > 16384) {
        rc = vt_error(ctx, VT_E_FORMAT, "%s: impossible frame size %dx%d", path, r->W, r->H);
        goto fail;
    }
    r->tb = av_q2d(st->time_base);
    r->start = st->start_time == AV_NOPTS_VALUE ? 0 : st->start_time;
    r->pkt = av_packet_alloc();
    r->frame = av_frame_alloc();
    r->rgb = malloc((size_t)r->W * r->H * 3);
    if (!r->pkt || !r->frame || !r->rgb) {
        rc = vt_error(ctx, VT_E_NOMEM, "%s: out of memory", path);
        goto fail;
    }
    *out = r;
    return VT_OK;
fail:
    vt_video_reader_close(&r);
    return rc;
}

void vt_video_reader_info(const vt_video_reader *r, int *width, int *height, double *fps, double *src_fps) {
    if (width) *width = r->W;
    if (height) *height = r->H;
    if (fps) *fps = r->fps;
    if (src_fps) *src_fps = r->src_fps;
}

/* Converts the decoder's current frame into r->rgb and sets how many output
 * frames it stands for. */
static int take_frame(vt_video_reader *r) {
    AVFrame *f = r->frame;
    r->sws = sws_getCachedContext(r->sws, f->width, f->height, f->format, r->W, r->H, AV_PIX_FMT_RGB24, SWS_BICUBIC, NULL,
                                  NULL, NULL);
    if (!r->sws) return vt_error(r->ctx, VT_E_FORMAT, "%s: cannot convert frames of format %d", r->path, f->format);
    uint8_t *dst[4] = {r->rgb, NULL, NULL, NULL};
    int dst_ls[4] = {r->W * 3, 0, 0, 0};
    sws_scale(r->sws, (const uint8_t *const *)f->data, f->linesize, 0, f->height, dst, dst_ls);
    int64_t pts = f->best_effort_timestamp;
    double t = pts == AV_NOPTS_VALUE ? (double)r->decoded / r->src_fps : (double)(pts - r->start) * r->tb;
    r->decoded++;
    av_frame_unref(f);
    if (!r->resample) {
        r->pending = 1;
        return VT_OK;
    }
    /* every output instant k / fps before this frame's end shows this frame */
    double end = t + 1.0 / r->src_fps;
    int n = 0;
    while ((double)(r->emitted + n) / r->fps < end - 1e-9) n++;
    r->pending = n;
    return VT_OK;
}

int vt_video_reader_next(vt_video_reader *r, unsigned char *rgb) {
    char eb[128];
    for (;;) {
        if (r->pending > 0) {
            memcpy(rgb, r->rgb, (size_t)r->W * r->H * 3);
            r->pending--;
            r->emitted++;
            return 1;
        }
        if (r->done) return 0;
        int e = avcodec_receive_frame(r->dec, r->frame);
        if (e >= 0) {
            int rc = take_frame(r);
            if (rc) return rc;
            continue;
        }
        if (e == AVERROR_EOF) {
            r->done = 1;
            continue;
        }
        if (e != AVERROR(EAGAIN)) return vt_error(r->ctx, VT_E_FORMAT, "%s: corrupt video data: %s", r->path, averr(e, eb, sizeof eb));
        if (r->eof_sent) {
            r->done = 1;
            continue;
        }
        e = av_read_frame(r->fmt, r->pkt);
        if (e == AVERROR_EOF) {
            avcodec_send_packet(r->dec, NULL);
            r->eof_sent = 1;
            continue;
        }
        if (e < 0) return vt_error(r->ctx, VT_E_FORMAT, "%s: read error: %s", r->path, averr(e, eb, sizeof eb));
        if (r->pkt->stream_index == r->si) {
            e = avcodec_send_packet(r->dec, r->pkt);
            if (e < 0 && e != AVERROR(EAGAIN) && e != AVERROR_INVALIDDATA) {
                av_packet_unref(r->pkt);
                return vt_error(r->ctx, VT_E_FORMAT, "%s: corrupt video data: %s", r->path, averr(e, eb, sizeof eb));
            }
        }
        av_packet_unref(r->pkt);
    }
}

void vt_video_reader_close(vt_video_reader **rp) {
    if (!rp || !*rp) return;
    vt_video_reader *r = *rp;
    free(r->rgb);
    sws_freeContext(r->sws);
    av_frame_free(&r->frame);
    av_packet_free(&r->pkt);
    avcodec_free_context(&r->dec);
    avformat_close_input(&r->fmt);
    free(r->path);
    free(r);
    *rp = NULL;
}

/* ---- writing ---- */

struct vt_video_writer {
    vt_context *ctx;
    int png_sequence;        /* path is a printf pattern such as out_%03d.png: one PNG per frame */
    char *path, *tmp;
    AVFormatContext *oc;
    AVCodecContext *enc;
    AVStream *st;
    AVFrame *f;
    AVPacket *pkt;
    struct SwsContext *sws;
    int W, H, in_w, in_h;
    long long n;
    AVFormatContext *audio_in;  /* the file whose audio is copied, or NULL */
    int audio_si;
    AVStream *audio_st;
    int header_written;
};

static int encode_write(vt_video_writer *w, AVFrame *f) {
    int e = avcodec_send_frame(w->enc, f);
    if (e < 0) return e;
    while ((e = avcodec_receive_packet(w->enc, w->pkt)) >= 0) {
        /* every frame lasts one tick; without it the MP4 edit list ends at the last
         * frame's start and players drop that frame */
        if (w->pkt->duration <= 0) w->pkt->duration = 1;
        av_packet_rescale_ts(w->pkt, w->enc->time_base, w->st->time_base);
        w->pkt->stream_index = w->st->index;
        if ((e = av_interleaved_write_frame(w->oc, w->pkt)) < 0) return e;
    }
    return e == AVERROR(EAGAIN) || e == AVERROR_EOF ? 0 : e;
}

static void writer_free(vt_video_writer *w, int remove_tmp) {
    if (w->png_sequence) {
        free(w->path);
        free(w);
        return;
    }
    if (w->oc && w->oc->pb) avio_closep(&w->oc->pb);
    if (remove_tmp && w->tmp) unlink(w->tmp);
    sws_freeContext(w->sws);
    av_packet_free(&w->pkt);
    av_frame_free(&w->f);
    avcodec_free_context(&w->enc);
    avformat_free_context(w->oc);
    avformat_close_input(&w->audio_in);
    free(w->path);
    free(w->tmp);
    free(w);
}

/* Whether path is a frame-sequence pattern: exactly one %d-style conversion
 * (%d, %03d, ...) and a .png ending. */
static int is_png_pattern(const char *path) {
    const char *ext = strrchr(path, '.');
    if (!ext || strcasecmp(ext, ".png")) return 0;
    int conv = 0;
    for (const char *p = path; *p; p++) {
        if (*p != '%') continue;
        if (p[1] == '%') {
            p++;
            continue;
        }
        const char *q = p + 1;
        while (*q >= '0' && *q <= '9') q++;
        if (*q != 'd') return 0;
        conv++;
        p = q;
    }
    return conv == 1;
}

int vt_video_writer_open(vt_context *ctx, const char *path, int width, int height, double fps, const char *audio_from,
                         vt_video_writer **out) {
    *out = NULL;
    quiet();
    if (width < 2 || height < 2 || !(fps > 0))
        return vt_error(ctx, VT_E_INVALID, "%s: need frames of at least 2x2 and a frame rate", path);
    if (is_png_pattern(path)) {
        vt_video_writer *w = calloc(1, sizeof *w);
        if (!w || !(w->path = strdup(path))) {
            free(w);
            return vt_error(ctx, VT_E_NOMEM, "%s: out of memory", path);
        }
        w->ctx = ctx;
        w->png_sequence = 1;
        w->in_w = width;
        w->in_h = height;
        *out = w;
        return VT_OK;
    }
    const char *ext = strrchr(path, '.');
    int gif = ext && !strcasecmp(ext, ".gif");
    if (!ext || (!gif && strcasecmp(ext, ".mp4") && strcasecmp(ext, ".m4v") && strcasecmp(ext, ".mov")))
        return vt_error(ctx, VT_E_INVALID, "%s: the output must end in .mp4 or .gif, or be a pattern like out_%%03d.png", path);
    const AVCodec *codec = gif ? avcodec_find_encoder(AV_CODEC_ID_GIF) : avcodec_find_encoder_by_name("libx264");
    if (!gif && !codec) codec = avcodec_find_encoder(AV_CODEC_ID_MPEG4);
    if (!codec) return vt_error(ctx, VT_E_UNSUPPORTED, "%s: no %s encoder in this FFmpeg", path, gif ? "GIF" : "H.264 or MPEG-4");
    vt_video_writer *w = calloc(1, sizeof *w);
    size_t plen = strlen(path);
    if (!w || !(w->path = strdup(path)) || !(w->tmp = malloc(plen + 32))) {
        if (w) writer_free(w, 0);
        return vt_error(ctx, VT_E_NOMEM, "%s: out of memory", path);
    }
    w->ctx = ctx;
    /* the temporary keeps the extension so libavformat picks the muxer from it */
    snprintf(w->tmp, plen + 32, "%.*s.tmp-%d%s", (int)(ext - path), path, (int)getpid(), ext);
    char eb[128];
    int e, rc = VT_OK;
    if ((e = avformat_alloc_output_context2(&w->oc, NULL, NULL, w->tmp)) < 0 || !w->oc) {
        rc = vt_error(ctx, VT_E_IO, "%s: cannot set up the container: %s", path, averr(e, eb, sizeof eb));
        goto fail;
    }
    w->st = avformat_new_stream(w->oc, NULL);
    w->enc = avcodec_alloc_context3(codec);
    w->f = av_frame_alloc();
    w->pkt = av_packet_alloc();
    if (!w->st || !w->enc || !w->f || !w->pkt) {
        rc = vt_error(ctx, VT_E_NOMEM, "%s: out of memory", path);
        goto fail;
    }
    /* yuv420p needs even sizes: odd ones lose their last row or column */
    w->in_w = width;
    w->in_h = height;
    w->W = gif ? width : width & ~1;
    w->H = gif ? height : height & ~1;
    AVRational rate = av_d2q(fps, 100000);
    w->enc->width = w->W;
    w->enc->height = w->H;
    w->enc->time_base = av_inv_q(rate);
    w->enc->framerate = rate;
    w->enc->pix_fmt = gif ? AV_PIX_FMT_RGB8 : AV_PIX_FMT_YUV420P;
    w->enc->gop_size = 12;
    /* no B-frames: every frame is presented exactly as written, and a clip of N
     * frames decodes to N frames in every player */
    w->enc->max_b_frames = 0;
    if (!gif && codec->id == AV_CODEC_ID_MPEG4) w->enc->bit_rate = (int64_t)w->W * w->H * 8;
    if (!gif && !strcmp(codec->name, "libx264")) av_opt_set(w->enc->priv_data, "crf", "18", 0);
    if (w->oc->oformat->flags & AVFMT_GLOBALHEADER) w->enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    if ((e = avcodec_open2(w->enc, codec, NULL)) < 0 || (e = avcodec_parameters_from_context(w->st->codecpar, w->enc)) < 0) {
        rc = vt_error(ctx, VT_E_UNSUPPORTED, "%s: cannot open the %s encoder: %s", path, codec->name, averr(e, eb, sizeof eb));
        goto fail;
    }
    w->st->time_base = w->enc->time_base;
    if (audio_from && !gif) {
        /* audio passes through untouched: the packets are copied, never decoded */
        if (avformat_open_input(&w->audio_in, audio_from, NULL, NULL) >= 0 && avformat_find_stream_info(w->audio_in, NULL) >= 0 &&
            (w->audio_si = av_find_best_stream(w->audio_in, AVMEDIA_TYPE_AUDIO, -1, -1, NULL, 0)) >= 0) {
            w->audio_st = avformat_new_stream(w->oc, NULL);
            if (!w->audio_st || avcodec_parameters_copy(w->audio_st->codecpar, w->audio_in->streams[w->audio_si]->codecpar) < 0) {
                rc = vt_error(ctx, VT_E_NOMEM, "%s: cannot add the audio stream", path);
                goto fail;
            }
            w->audio_st->codecpar->codec_tag = 0;
            w->audio_st->time_base = w->audio_in->streams[w->audio_si]->time_base;
        } else {
            avformat_close_input(&w->audio_in);
        }
    }
    if ((e = avio_open(&w->oc->pb, w->tmp, AVIO_FLAG_WRITE)) < 0) {
        rc = vt_error(ctx, VT_E_IO, "%s: cannot create: %s", path, averr(e, eb, sizeof eb));
        goto fail;
    }
    if ((e = avformat_write_header(w->oc, NULL)) < 0) {
        rc = vt_error(ctx, VT_E_IO, "%s: cannot write the header: %s", path, averr(e, eb, sizeof eb));
        goto fail;
    }
    w->header_written = 1;
    w->f->format = w->enc->pix_fmt;
    w->f->width = w->W;
    w->f->height = w->H;
    w->sws = sws_getContext(width, height, AV_PIX_FMT_RGB24, w->W, w->H, w->enc->pix_fmt, SWS_BICUBIC, NULL, NULL, NULL);
    if (av_frame_get_buffer(w->f, 0) < 0 || !w->sws) {
        rc = vt_error(ctx, VT_E_NOMEM, "%s: cannot prepare frame conversion", path);
        goto fail;
    }
    *out = w;
    return VT_OK;
fail:
    writer_free(w, 1);
    return rc;
}

int vt_video_writer_write(vt_video_writer *w, const unsigned char *rgb) {
    char eb[128];
    if (w->png_sequence) {
        char name[4096];
        snprintf(name, sizeof name, w->path, (int)w->n++);
        vt_image img = {w->in_w, w->in_h, (unsigned char *)rgb};
        return vt_image_save_png(w->ctx, name, &img, NULL);
    }
    if (av_frame_make_writable(w->f) < 0) return vt_error(w->ctx, VT_E_NOMEM, "%s: out of memory", w->path);
    const uint8_t *src[4] = {rgb, NULL, NULL, NULL};
    int src_ls[4] = {w->in_w * 3, 0, 0, 0};
    sws_scale(w->sws, src, src_ls, 0, w->in_h, w->f->data, w->f->linesize);
    w->f->pts = w->n++;
    int e = encode_write(w, w->f);
    if (e < 0) return vt_error(w->ctx, VT_E_IO, "%s: encoding frame %lld failed: %s", w->path, w->n - 1, averr(e, eb, sizeof eb));
    return VT_OK;
}

int vt_video_writer_close(vt_video_writer **wp, int keep) {
    if (!wp || !*wp) return VT_OK;
    vt_video_writer *w = *wp;
    *wp = NULL;
    char eb[128];
    int rc = VT_OK, e;
    if (w->png_sequence) {
        /* each PNG was complete when renamed; an empty sequence is the only failure */
        if (keep && w->n == 0) rc = vt_error(w->ctx, VT_E_INVALID, "%s: no frame was written", w->path);
        free(w->path);
        free(w);
        return rc;
    }
    if (keep) {
        if (w->n == 0) rc = vt_error(w->ctx, VT_E_INVALID, "%s: no frame was written", w->path);
        if (!rc && (e = encode_write(w, NULL)) < 0)
            rc = vt_error(w->ctx, VT_E_IO, "%s: finishing the video failed: %s", w->path, averr(e, eb, sizeof eb));
        if (!rc && w->audio_in) {
            AVPacket *ap = av_packet_alloc();
            while (ap && av_read_frame(w->audio_in, ap) >= 0) {
                if (ap->stream_index == w->audio_si) {
                    av_packet_rescale_ts(ap, w->audio_in->streams[w->audio_si]->time_base, w->audio_st->time_base);
                    ap->stream_index = w->audio_st->index;
                    ap->pos = -1;
                    if ((e = av_interleaved_write_frame(w->oc, ap)) < 0) {
                        rc = vt_error(w->ctx, VT_E_IO, "%s: copying audio failed: %s", w->path, averr(e, eb, sizeof eb));
                        break;
                    }
                }
                av_packet_unref(ap);
            }
            av_packet_free(&ap);
        }
        if (!rc && (e = av_write_trailer(w->oc)) < 0)
            rc = vt_error(w->ctx, VT_E_IO, "%s: finishing the file failed: %s", w->path, averr(e, eb, sizeof eb));
        if (w->oc->pb) avio_closep(&w->oc->pb);
        if (!rc && rename(w->tmp, w->path) != 0)
            rc = vt_error(w->ctx, VT_E_IO, "%s: cannot rename into place: %s", w->path, strerror(errno));
    }
    writer_free(w, rc || !keep);
    return rc;
}

/* ---- whole clips ---- */

void vt_video_free(vt_video *v) {
    if (!v) return;
    free(v->pixels);
    memset(v, 0, sizeof *v);
}

int vt_video_load(vt_context *ctx, const char *path, const vt_video_load_params *lp, vt_video *out) {
    memset(out, 0, sizeof *out);
    vt_video_reader *r;
    int rc = vt_video_reader_open(ctx, path, lp, &r);
    if (rc) return rc;
    vt_video_reader_info(r, &out->width, &out->height, &out->fps, &out->src_fps);
    const size_t fsz = (size_t)out->width * out->height * 3;
    const int max_frames = lp && lp->max_frames > 0 ? lp->max_frames : 1 << 20;
    size_t cap = 0;
    while (out->frames < max_frames) {
        if ((size_t)(out->frames + 1) * fsz > cap) {
            size_t nc = cap ? cap * 2 : fsz * 16;
            unsigned char *np = realloc(out->pixels, nc);
            if (!np) {
                rc = vt_error(ctx, VT_E_NOMEM, "%s: out of memory after %d frames", path, out->frames);
                break;
            }
            out->pixels = np;
            cap = nc;
        }
        int got = vt_video_reader_next(r, out->pixels + (size_t)out->frames * fsz);
        if (got < 0) {
            rc = got;
            break;
        }
        if (got == 0) break;
        out->frames++;
    }
    vt_video_reader_close(&r);
    if (!rc && out->frames == 0) rc = vt_error(ctx, VT_E_FORMAT, "%s: the video stream has no decodable frame", path);
    if (rc) vt_video_free(out);
    return rc;
}

int vt_video_save(vt_context *ctx, const char *path, const vt_video *v) {
    if (!v || !v->pixels || v->frames < 1)
        return vt_error(ctx, VT_E_INVALID, "%s: nothing to write (need at least one frame)", path);
    vt_video_writer *w;
    int rc = vt_video_writer_open(ctx, path, v->width, v->height, v->fps, NULL, &w);
    if (rc) return rc;
    const size_t fsz = (size_t)v->width * v->height * 3;
    for (int k = 0; k < v->frames && !rc; k++) rc = vt_video_writer_write(w, v->pixels + (size_t)k * fsz);
    int rc2 = vt_video_writer_close(&w, rc == VT_OK);
    return rc ? rc : rc2;
}

#else

static int no_video(vt_context *ctx, const char *path) {
    return vt_error(ctx, VT_E_UNSUPPORTED, "%s: this build has no video support (configure with -Dvideo=enabled)", path);
}

void vt_video_free(vt_video *v) {
    if (v) memset(v, 0, sizeof *v);
}
int vt_video_load(vt_context *ctx, const char *path, const vt_video_load_params *lp, vt_video *out) {
    (void)lp;
    memset(out, 0, sizeof *out);
    return no_video(ctx, path);
}
int vt_video_save(vt_context *ctx, const char *path, const vt_video *v) {
    (void)v;
    return no_video(ctx, path);
}
int vt_video_reader_open(vt_context *ctx, const char *path, const vt_video_load_params *lp, vt_video_reader **out) {
    (void)lp;
    *out = NULL;
    return no_video(ctx, path);
}
void vt_video_reader_info(const vt_video_reader *r, int *width, int *height, double *fps, double *src_fps) {
    (void)r, (void)width, (void)height, (void)fps, (void)src_fps;
}
int vt_video_reader_next(vt_video_reader *r, unsigned char *rgb) {
    (void)r, (void)rgb;
    return 0;
}
void vt_video_reader_close(vt_video_reader **r) {
    if (r) *r = NULL;
}
int vt_video_writer_open(vt_context *ctx, const char *path, int width, int height, double fps, const char *audio_from,
                         vt_video_writer **out) {
    (void)width, (void)height, (void)fps, (void)audio_from;
    *out = NULL;
    return no_video(ctx, path);
}
int vt_video_writer_write(vt_video_writer *w, const unsigned char *rgb) {
    (void)w, (void)rgb;
    return VT_E_UNSUPPORTED;
}
int vt_video_writer_close(vt_video_writer **w, int keep) {
    (void)keep;
    if (w) *w = NULL;
    return VT_OK;
}

#endif
