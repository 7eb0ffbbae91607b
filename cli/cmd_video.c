/* `vitrail video`: a whole video file re-rendered window by window with a clip
 * model through a pipeline (vid2vid_window: the prompt's tokens and SDEdit on
 * the window's frames). Windows of the model's T frames overlap and are
 * crossfaded across the overlap; only one window of frames is held, whatever
 * the file's length; the output keeps the frame count, rate and audio. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "job.h"
#include "progress.h"
#include "vitrail_stage.h"

/* Blending weight of position j in a window of T frames whose ends overlap
 * their neighbours by `overlap` frames: a ramp up over the first overlap + 1
 * frames and down over the last, so a frame covered by two windows crossfades. */
static float window_weight(int j, int T, int overlap) {
    float a = (float)(j + 1) / (float)(overlap + 1), b = (float)(T - j) / (float)(overlap + 1);
    float w = a < b ? a : b;
    return w < 1.0f ? w : 1.0f;
}

/* Writes one blended frame: acc (h, w, 3) divided by its weight sum, back to
 * [0, 255] and scaled to the file's W × H. */
static int write_blended(vt_video_writer *wr, const float *acc, float wsum, int w, int h, unsigned char *small,
                         unsigned char *big, int W, int H) {
    for (size_t q = 0; q < (size_t)w * h * 3; q++) {
        float v = (acc[q] / wsum + 1.0f) * 127.5f;
        small[q] = (unsigned char)(v < 0 ? 0 : v > 255 ? 255 : v + 0.5f);
    }
    vt_rgb_resize(small, w, h, big, W, H);
    return vt_video_writer_write(wr, big);
}

int cmd_video(cli *c, int argc, char **argv) {
    job j;
    int rc = job_parse(c, &j, "video", argc, argv, 1, 0, 1);
    if (rc) return rc;
    if (!j.input) return usage_error("video: missing -i INPUT%s", "");
    if (!j.out) return usage_error("video: missing -o OUT.mp4%s", "");
    if (j.batch != 1 || j.frames || j.width || j.height)
        return usage_error("video: -b, --frames, -W and -H do not apply (the windows are the model's frames and size)%s", "");
    const double t0 = now_s();
    rc = EXIT_RUNTIME;
    vt_model *m = NULL;
    vt_pipeline *p = NULL;
    vt_video_reader *rd = NULL;
    vt_video_writer *wr = NULL;
    unsigned char *frame = NULL, *small = NULL, *big = NULL;
    float *win = NULL, *acc = NULL, *wsum = NULL;
    char *text = NULL;
    const char *model_path = cli_model_path(j.model, 1);
    if (!model_path) return EXIT_RUNTIME;
    vt_denoiser_shape sh;
    if (vt_model_open(c->ctx, model_path, &m) || vt_model_denoiser_shape(c->ctx, m, &sh)) {
        rc = runtime_error(c);
        goto done;
    }
    if (sh.frames < 1 || sh.in_channels != 3) {
        fprintf(stderr, "%s: video: %s is not an RGB clip model (frames %d, channels %d)\n", prog, model_path, sh.frames,
                sh.in_channels);
        goto done;
    }
    if (sh.cond_dim > 0 && !j.prompt) {
        fprintf(stderr, "%s: video: %s is conditioned on text: give -p PROMPT\n", prog, model_path);
        goto done;
    }
    if (sh.cond_dim == 0 && (j.prompt || j.negative)) {
        fprintf(stderr, "%s: video: %s takes no text: leave out -p and -n (--class N picks a class)\n", prog, model_path);
        goto done;
    }
    const int T = sh.frames, h = sh.height, w = sh.width;
    int overlap = j.overlap >= 0 ? j.overlap : T / 4;
    if (overlap >= T) {
        fprintf(stderr, "%s: video: --overlap %d must be below the model's %d frames\n", prog, overlap, T);
        goto done;
    }
    const int stride = T - overlap;
    char err[600];
    const char *preset = j.preset ? j.preset : sh.cond_dim ? "vid2vid_window" : "vid2vid_window_class";
    if (!(text = job_find_preset(preset, err, sizeof err))) {
        fprintf(stderr, "%s: %s\n", prog, err);
        goto done;
    }
    if (j.seed_pick) {
        j.seed = ((unsigned long long)time(NULL) ^ ((unsigned long long)getpid() << 16)) & ((1ull << 32) - 1);
        if (!j.json) fprintf(stderr, "seed: %llu\n", j.seed);
    }
    /* one seed for every window: the same noise keeps consecutive windows alike */
    if (j.seed_given && (rc = job_set(&j, "denoise.seed=%llu", j.seed))) goto done;
    rc = EXIT_RUNTIME;
    vt_slot_spec given[4];
    int ng = 0;
    memset(given, 0, sizeof given);
    given[ng++] = (vt_slot_spec){"frames", VT_SLOT_FRAMES, 0, NULL};
    if (j.prompt) given[ng++] = (vt_slot_spec){"prompt", VT_SLOT_TEXT, 0, NULL};
    if (j.negative) given[ng++] = (vt_slot_spec){"negative", VT_SLOT_TEXT, 0, NULL};
    if (vt_pipeline_create(c->ctx, text, given, j.sets, m, &p) || (j.prompt && vt_pipeline_set_text(p, "prompt", j.prompt)) ||
        (j.negative && vt_pipeline_set_text(p, "negative", j.negative)) ||
        vt_video_reader_open(c->ctx, j.input, NULL, &rd)) {
        rc = runtime_error(c);
        goto done;
    }
    int W, H;
    double fps;
    vt_video_reader_info(rd, &W, &H, &fps, NULL);
    if (vt_video_writer_open(c->ctx, j.out, W, H, fps, j.input, &wr)) {
        rc = runtime_error(c);
        goto done;
    }
    progress pr;
    progress_init(&pr, j.quiet, j.json, "window");
    pr.items = 0;
    vt_pipeline_set_progress(p, progress_cb, &pr);
    interrupt_install();
    const size_t plane = (size_t)w * h, clip = 3 * plane * T;
    frame = malloc((size_t)W * H * 3);
    big = malloc((size_t)W * H * 3);
    small = malloc(plane * 3);
    win = malloc(clip * sizeof *win); /* (3, T, h, w) the window's input frames */
    acc = calloc(clip, sizeof *acc);  /* (T, h, w, 3) blended results not yet written */
    wsum = calloc(T, sizeof *wsum);   /* (T) their weight sums */
    if (!frame || !big || !small || !win || !acc || !wsum) {
        fprintf(stderr, "%s: out of memory\n", prog);
        goto done;
    }
    const int64_t shape[5] = {1, 3, T, h, w};
    /* Windows of T frames every `stride`: the first `overlap` frames of a window
     * are the last of the previous one. */
    int have = 0, eof = 0, written = 0, total = 0, windows = 0;
    while (!eof || have > overlap || (windows == 0 && have > 0)) {
        while (have < T && !eof) {
            int got = vt_video_reader_next(rd, frame);
            if (got < 0) {
                rc = runtime_error(c);
                goto done;
            }
            if (got == 0) {
                eof = 1;
                break;
            }
            vt_rgb_resize(frame, W, H, small, w, h);
            for (size_t q = 0; q < plane; q++)
                for (int ch = 0; ch < 3; ch++) win[((size_t)ch * T + have) * plane + q] = small[q * 3 + ch] / 127.5f - 1.0f;
            have++;
            total++;
        }
        if (have == 0 || (windows > 0 && have <= overlap)) break;
        int real = have;
        for (int t = have; t < T; t++) /* a short last window repeats its last frame */
            for (int ch = 0; ch < 3; ch++)
                memcpy(win + ((size_t)ch * T + t) * plane, win + ((size_t)ch * T + have - 1) * plane, plane * sizeof(float));
        pr.item = windows + 1;
        int e = vt_pipeline_set_frames(p, "frames", 5, shape, win);
        if (!e) e = vt_pipeline_run(p);
        progress_end(&pr);
        if (e == VT_E_CANCELLED || interrupted()) {
            fprintf(stderr, "%s: interrupted\n", prog);
            rc = EXIT_INTERRUPTED;
            goto done;
        }
        if (e) {
            rc = runtime_error(c);
            goto done;
        }
        const vt_value *res = vt_pipeline_slot(p, "frames");
        if (!res || res->ndim != 5 || res->shape[0] != 1 || res->shape[1] != 3 || res->shape[2] != T ||
            res->shape[3] != h || res->shape[4] != w) {
            fprintf(stderr, "%s: video: preset '%s' does not leave the window's frames (1, 3, %d, %d, %d) in slot 'frames'\n",
                    prog, preset, T, h, w);
            goto done;
        }
        windows++;
        for (int t = 0; t < real; t++) {
            float wt = window_weight(t, T, overlap);
            if (windows == 1 && t < overlap) wt = 1.0f; /* nothing before the first window to fade from */
            for (size_t q = 0; q < plane; q++)
                for (int ch = 0; ch < 3; ch++)
                    acc[((size_t)t * plane + q) * 3 + ch] += wt * res->data[((size_t)ch * T + t) * plane + q];
            wsum[t] += wt;
        }
        /* frames no later window touches are final: all but the overlap, or all at the end */
        int final = eof ? real : stride;
        if (final > real) final = real;
        for (int t = 0; t < final; t++) {
            if (write_blended(wr, acc + (size_t)t * plane * 3, wsum[t], w, h, small, big, W, H)) {
                rc = runtime_error(c);
                goto done;
            }
            written++;
        }
        if (j.json) {
            printf("{\"event\":\"window\",\"window\":%d,\"frames_written\":%d}\n", windows, written);
            fflush(stdout);
        }
        /* slide: keep the overlap (inputs and partial blends) at the front */
        int keep = real - final;
        for (int ch = 0; ch < 3; ch++)
            memmove(win + (size_t)ch * T * plane, win + ((size_t)ch * T + final) * plane, (size_t)keep * plane * sizeof(float));
        memmove(acc, acc + (size_t)final * plane * 3, (size_t)keep * plane * 3 * sizeof(float));
        memset(acc + (size_t)keep * plane * 3, 0, (size_t)(T - keep) * plane * 3 * sizeof(float));
        memmove(wsum, wsum + final, (size_t)keep * sizeof(float));
        for (int t = keep; t < T; t++) wsum[t] = 0;
        have = keep;
        if (eof && keep == 0) break;
    }
    /* a file that ends on a window's overlap: those frames have no later window */
    for (int t = 0; t < have && wsum[t] > 0; t++) {
        if (write_blended(wr, acc + (size_t)t * plane * 3, wsum[t], w, h, small, big, W, H)) {
            rc = runtime_error(c);
            goto done;
        }
        written++;
    }
    if (written != total) {
        fprintf(stderr, "%s: video: internal error: wrote %d of %d frames\n", prog, written, total);
        goto done;
    }
    if (vt_video_writer_close(&wr, 1)) {
        rc = runtime_error(c);
        goto done;
    }
    if (j.json) {
        printf("{\"event\":\"done\",\"outputs\":[");
        json_string(stdout, j.out);
        printf("],\"frames\":%d,\"fps\":%g,\"windows\":%d,\"timings\":{\"total_s\":%.3f}}\n", written, fps, windows,
               now_s() - t0);
    } else if (!j.quiet) {
        fprintf(stderr, "wrote %s: %d frames at %g fps in %d windows\n", j.out, written, fps, windows);
    }
    rc = 0;
done:
    vt_video_writer_close(&wr, 0);
    vt_video_reader_close(&rd);
    free(frame), free(big), free(small), free(win), free(acc), free(wsum);
    vt_pipeline_destroy(&p);
    vt_model_close(&m);
    free(text);
    return rc;
}
