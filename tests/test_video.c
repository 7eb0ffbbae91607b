/* Check suite for video I/O: clips made by the ffmpeg program are decoded with
 * size and frame-rate conversion; what we encode (MP4, GIF) is read back by
 * ffprobe and by our decoder; corrupt input is refused with one clear message. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vt_check.h"
#include "context.h"
#include "vitrail.h"

static vt_context *ctx;
static char dir[64];

static void setup(void) {
    ctx = vt_context_create(NULL);
    vt_test_mkdtemp(dir, sizeof dir, "video");
}

static void teardown(void) {
    vt_test_rmtree(dir);
    vt_context_destroy(&ctx);
}

static int sh(const char *fmt, const char *a, const char *b) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd, fmt, a, b);
    return system(cmd);
}

/* ffprobe's count of decoded frames, width and height of a file's video stream. */
static void probe(const char *path, int *frames, int *w, int *h, char *codec, size_t cap) {
    char out[256], cmd[1024];
    snprintf(out, sizeof out, "%s/probe.txt", dir);
    snprintf(cmd, sizeof cmd,
             "ffprobe -v error -select_streams v:0 -count_frames -show_entries stream=nb_read_frames,width,height,codec_name "
             "-of default=nw=1 '%s' > '%s'", path, out);
    ck_assert_int_eq(system(cmd), 0);
    FILE *f = fopen(out, "r");
    char line[128];
    while (fgets(line, sizeof line, f)) {
        sscanf(line, "nb_read_frames=%d", frames);
        sscanf(line, "width=%d", w);
        sscanf(line, "height=%d", h);
        if (!strncmp(line, "codec_name=", 11)) {
            snprintf(codec, cap, "%.40s", line + 11);
            codec[strcspn(codec, "\n")] = 0;
        }
    }
    fclose(f);
}

START_TEST(decode_with_conversion) {
    char src[128];
    snprintf(src, sizeof src, "%s/src.mp4", dir);
    /* 2 s of 30 fps test pattern, 96x64, H.264 or MPEG-4 as this ffmpeg has */
    ck_assert_int_eq(sh("ffmpeg -v error -f lavfi -i testsrc=size=96x64:rate=30:duration=2 -pix_fmt yuv420p '%s'%s", src, ""), 0);
    vt_video v;
    ck_assert_msg(vt_video_load(ctx, src, NULL, &v) == 0, "%s", vt_context_error(ctx));
    ck_assert_int_eq(v.frames, 60);
    ck_assert(v.width == 96 && v.height == 64);
    ck_assert(v.fps > 29.9 && v.fps < 30.1);
    vt_video_free(&v);
    /* to 10 fps and 48x32: 2 s -> 20 frames */
    vt_video_load_params lp = {48, 32, 10.0, 0};
    ck_assert_int_eq(vt_video_load(ctx, src, &lp, &v), 0);
    ck_assert_int_eq(v.frames, 20);
    ck_assert(v.width == 48 && v.height == 32);
    /* testsrc's frames differ over time: the first and last decoded frames too */
    ck_assert_int_ne(memcmp(v.pixels, v.pixels + (size_t)19 * 48 * 32 * 3, 48 * 32 * 3), 0);
    vt_video_free(&v);
    lp.max_frames = 7;
    ck_assert_int_eq(vt_video_load(ctx, src, &lp, &v), 0);
    ck_assert_int_eq(v.frames, 7);
    vt_video_free(&v);
}
END_TEST

START_TEST(encode_mp4_and_gif) {
    vt_video v = {34, 22, 12, 8.0, 0, malloc((size_t)12 * 22 * 34 * 3)};
    /* a bright square moving right on grey */
    for (int k = 0; k < 12; k++)
        for (int y = 0; y < 22; y++)
            for (int x = 0; x < 34; x++)
                for (int c = 0; c < 3; c++) {
                    int in = x >= 2 * k && x < 2 * k + 8 && y >= 7 && y < 15;
                    v.pixels[(((size_t)k * 22 + y) * 34 + x) * 3 + c] = in ? (c == 0 ? 250 : 40) : 128;
                }
    const char *names[] = {"out.mp4", "out.gif"};
    for (int i = 0; i < 2; i++) {
        char path[128];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        ck_assert_msg(vt_video_save(ctx, path, &v) == 0, "%s", vt_context_error(ctx));
        int frames = 0, w = 0, h = 0;
        char codec[64] = "";
        probe(path, &frames, &w, &h, codec, sizeof codec);
        ck_assert_int_eq(frames, 12);
        ck_assert_int_eq(w, 34);
        ck_assert_int_eq(h, 22);
        ck_assert_msg(i ? !strcmp(codec, "gif") : (!strcmp(codec, "h264") || !strcmp(codec, "mpeg4")), "%s", codec);
        /* and back through our decoder: the square's red shows where it should */
        vt_video back;
        ck_assert_int_eq(vt_video_load(ctx, path, NULL, &back), 0);
        ck_assert_int_eq(back.frames, 12);
        const unsigned char *px = back.pixels + (((size_t)5 * back.height + 11) * back.width + 13) * 3; /* frame 5, inside */
        ck_assert_msg(px[0] > 180 && px[1] < 110, "frame 5 centre %d %d %d", px[0], px[1], px[2]);
        px = back.pixels + (((size_t)5 * back.height + 11) * back.width + 30) * 3; /* outside */
        ck_assert_msg(px[0] > 90 && px[0] < 170 && px[1] > 90, "frame 5 outside %d %d", px[0], px[1]);
        vt_video_free(&back);
    }
    /* no temporary left behind */
    char cmd[256];
    snprintf(cmd, sizeof cmd, "test $(ls '%s' | grep -c tmp) -eq 0", dir);
    ck_assert_int_eq(system(cmd), 0);
    /* a frame sequence: out_000.png .. out_011.png, each a PNG of the frame */
    char pat[128], first[128];
    snprintf(pat, sizeof pat, "%s/seq_%%03d.png", dir);
    ck_assert_msg(vt_video_save(ctx, pat, &v) == 0, "%s", vt_context_error(ctx));
    snprintf(first, sizeof first, "%s/seq_011.png", dir);
    vt_image im;
    ck_assert_int_eq(vt_image_load(ctx, first, &im), 0);
    ck_assert(im.width == 34 && im.height == 22);
    ck_assert_int_eq(memcmp(im.pixels, v.pixels + (size_t)11 * 22 * 34 * 3, 22 * 34 * 3), 0); /* lossless */
    vt_image_free(&im);
    snprintf(first, sizeof first, "%s/seq_012.png", dir);
    ck_assert_int_ne(access(first, F_OK), 0);
    char bad[128];
    snprintf(bad, sizeof bad, "%s/out.avi", dir);
    ck_assert_int_eq(vt_video_save(ctx, bad, &v), VT_E_INVALID);
    free(v.pixels);
}
END_TEST

START_TEST(corrupt_input) {
    char path[128];
    snprintf(path, sizeof path, "%s/garbage.mp4", dir);
    FILE *f = fopen(path, "wb");
    for (int i = 0; i < 4096; i++) fputc((i * 7919) & 0xff, f);
    fclose(f);
    vt_video v;
    ck_assert_int_ne(vt_video_load(ctx, path, NULL, &v), 0);
    ck_assert_ptr_nonnull(strstr(vt_context_error(ctx), "garbage.mp4"));
    ck_assert_ptr_null(strchr(vt_context_error(ctx), '\n'));
    ck_assert_ptr_null(v.pixels);
    snprintf(path, sizeof path, "%s/missing.mp4", dir);
    ck_assert_int_eq(vt_video_load(ctx, path, NULL, &v), VT_E_IO);
    /* a real clip cut in half still yields the frames before the cut, or a clear error */
    char src[128], cut[128];
    snprintf(src, sizeof src, "%s/src.mp4", dir);
    snprintf(cut, sizeof cut, "%s/cut.mp4", dir);
    ck_assert_int_eq(sh("ffmpeg -v error -f lavfi -i testsrc=size=64x48:rate=10:duration=2 -f mpegts '%s'%s", src, ""), 0);
    ck_assert_int_eq(sh("head -c 6016 '%s' > '%s'", src, cut), 0);
    int rc = vt_video_load(ctx, cut, NULL, &v);
    if (rc == 0) {
        ck_assert(v.frames > 0 && v.frames < 20);
        vt_video_free(&v);
    } else {
        ck_assert_ptr_nonnull(strstr(vt_context_error(ctx), "cut.mp4"));
    }
}
END_TEST

int main(void) {
    Suite *s = suite_create("video");
    TCase *tc = tcase_create("video");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, decode_with_conversion);
    tcase_add_test(tc, encode_mp4_and_gif);
    tcase_add_test(tc, corrupt_input);
    suite_add_tcase(s, tc);
    return vt_check_run(s);
}
