/* `vitrail shapes render` and `vitrail shapes sample`: the shapes world
 * (docs/shapes.md) from the command line, to look at what a caption means and
 * at what the trainer is fed. Uses the public API only. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd_shapes.h"
#include "cmd_shapes_eval.h"
#include "vitrail.h"
#include "vitrail_shapes.h"

#define EXIT_RUNTIME 1
#define EXIT_USAGE 2

const char vt_cli_shapes_usage[] =
    "usage: vitrail shapes render \"CAPTION\" -o OUT [--size 64] [--seed 0] [--frames 8]\n"
    "       vitrail shapes sample -o DIR [--seed 0] [--count 16] [--task t2i|t2v|edit|animate]\n"
    "                             [--size 64] [--frames 8]\n\n"
    "render draws a scene that CAPTION describes (docs/shapes.md gives the grammar),\n"
    "laid out at random by --seed. A caption with a motion (\"a red circle moving\n"
    "left\") is a clip of --frames frames: OUT.mp4 or OUT.gif is a video; OUT.png is\n"
    "a sequence OUT_000.png, OUT_001.png, ... (or OUT itself when it holds a printf\n"
    "pattern such as f%03d.png). Any other caption is one PNG.\n\n"
    "sample writes the training examples vt_shapes_example gives for --seed and\n"
    "indices 0..COUNT-1: DIR/NNNN.png (a clip as a strip of frames side by side),\n"
    "DIR/NNNN_source.png for edit and animate, and DIR/captions.tsv (file, task,\n"
    "text, source). Files are written to temporary names and renamed when complete.\n\n"
    CMD_SHAPES_ANALYSE_USAGE "\n" CMD_SHAPES_EVAL_USAGE;

static int usage(const char *fmt, const char *arg) {
    fprintf(stderr, "vitrail: shapes: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, " (see 'vitrail shapes --help')\n");
    return EXIT_USAGE;
}

static int failed(vt_context *ctx) {
    fprintf(stderr, "vitrail: shapes: %s\n", vt_context_error(ctx));
    return EXIT_RUNTIME;
}

static int parse_int(const char *s, long lo, long hi, int *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) return -1;
    *out = (int)v;
    return 0;
}

static int parse_u64(const char *s, uint64_t *out) {
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-') return -1;
    *out = v;
    return 0;
}

static int ends_with(const char *s, const char *tail) {
    size_t n = strlen(s), m = strlen(tail);
    return n >= m && !strcmp(s + n - m, tail);
}

/* The options both subcommands share, with their defaults. */
typedef struct options {
    const char *out, *caption, *task;
    int size, frames, count, frames_given;
    uint64_t seed;
} options;

static int parse_options(int argc, char **argv, options *o) {
    memset(o, 0, sizeof *o);
    o->size = 64;
    o->frames = 8;
    o->count = 16;
    o->task = "t2i";
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (a[0] == '-' && a[1]) {
            if (!v) return usage("%s needs a value", a);
            i++;
            if (!strcmp(a, "-o") || !strcmp(a, "--output")) o->out = v;
            else if (!strcmp(a, "--task")) o->task = v;
            else if (!strcmp(a, "--seed") || !strcmp(a, "-s")) {
                if (parse_u64(v, &o->seed)) return usage("--seed: '%s' is not a non-negative integer", v);
            } else if (!strcmp(a, "--size")) {
                if (parse_int(v, 16, 4096, &o->size)) return usage("--size: '%s' is not an integer in 16..4096", v);
            } else if (!strcmp(a, "--frames")) {
                if (parse_int(v, 1, 1024, &o->frames)) return usage("--frames: '%s' is not an integer in 1..1024", v);
                o->frames_given = 1;
            } else if (!strcmp(a, "--count")) {
                if (parse_int(v, 1, 1000000, &o->count)) return usage("--count: '%s' is not an integer in 1..1000000", v);
            } else {
                return usage("unknown option '%s'", a);
            }
        } else if (!o->caption) {
            o->caption = a;
        } else {
            return usage("unexpected argument '%s'", a);
        }
    }
    return 0;
}

static int save_png(vt_context *ctx, const char *path, uint8_t *rgb, int w, int h, const char *text) {
    vt_image img = {w, h, rgb};
    return vt_image_save_png(ctx, path, &img, text);
}

/* OUT.png -> OUT_%03d.png, unless OUT already is a pattern. */
static int frame_path(const char *out, int t, char *buf, size_t cap) {
    int n;
    if (strchr(out, '%')) {
        /* the user's own pattern: one %d-like conversion and nothing else */
        const char *p = strchr(out, '%');
        size_t k = strspn(p + 1, "0123456789");
        if (p[1 + k] != 'd' || strchr(p + 2 + k, '%')) return -1;
        n = snprintf(buf, cap, out, t);
    } else {
        n = snprintf(buf, cap, "%.*s_%03d.png", (int)(strlen(out) - 4), out, t);
    }
    return n > 0 && (size_t)n < cap ? 0 : -1;
}

static int cmd_render(vt_context *ctx, const options *o) {
    if (!o->caption) return usage("render: missing \"CAPTION\"%s", "");
    if (!o->out) return usage("render: missing -o OUT%s", "");
    int video = ends_with(o->out, ".mp4") || ends_with(o->out, ".gif");
    if (!video && !ends_with(o->out, ".png")) return usage("render: -o '%s' must end in .png, .mp4 or .gif", o->out);
    vt_shapes_spec spec;
    vt_shapes_scene first;
    char err[256];
    if (vt_shapes_parse(o->caption, 0, &spec, err, sizeof err)) {
        vt_shapes_spec edit;
        if (!vt_shapes_parse(o->caption, 1, &edit, NULL, 0))
            fprintf(stderr, "vitrail: shapes: render: \"%s\" is an edit instruction, not a caption of a scene\n", o->caption);
        else
            fprintf(stderr, "vitrail: shapes: render: \"%s\": %s\n", o->caption, err);
        return EXIT_RUNTIME;
    }
    int T = spec.motion != VT_MOTION_NONE ? o->frames : 1;
    if (spec.motion == VT_MOTION_NONE && (video || (o->frames_given && o->frames > 1)))
        return usage("render: --frames and video outputs need a caption with a motion%s", "");
    if (T > 1 && !video && frame_path(o->out, 0, err, sizeof err))
        return usage("render: '%s' cannot name a frame sequence", o->out);
    if (vt_shapes_layout(&spec, o->seed, &first, err, sizeof err)) {
        fprintf(stderr, "vitrail: shapes: render: \"%s\": %s\n", o->caption, err);
        return EXIT_RUNTIME;
    }
    size_t plane = (size_t)o->size * o->size * 3;
    uint8_t *px = malloc(plane * T);
    if (!px) {
        fprintf(stderr, "vitrail: shapes: out of memory\n");
        return EXIT_RUNTIME;
    }
    char text[512];
    vt_shapes_caption(&spec, 0, text, sizeof text);
    int rc = 0;
    for (int t = 0; t < T && !rc; t++) {
        vt_shapes_scene f;
        rc = vt_shapes_clip_frame(&first, &spec, t, T, &f) || vt_shapes_render(&f, o->size, o->size, px + plane * t);
    }
    if (rc) {
        fprintf(stderr, "vitrail: shapes: render: internal error drawing \"%s\"\n", text);
        free(px);
        return EXIT_RUNTIME;
    }
    if (video) {
        vt_video v = {o->size, o->size, T, 8.0, 8.0, px};
        rc = vt_video_save(ctx, o->out, &v);
    } else if (T == 1) {
        rc = save_png(ctx, o->out, px, o->size, o->size, text);
    } else {
        char path[4096];
        for (int t = 0; t < T && !rc; t++) {
            frame_path(o->out, t, path, sizeof path);
            rc = save_png(ctx, path, px + plane * t, o->size, o->size, text);
        }
    }
    free(px);
    if (rc) return failed(ctx);
    fprintf(stderr, "wrote %s: %s\n", o->out, text);
    return 0;
}

static int cmd_sample(vt_context *ctx, const options *o) {
    static const char *const tasks[] = {"t2i", "t2v", "edit", "animate"};
    if (o->caption) return usage("sample: unexpected argument '%s'", o->caption);
    if (!o->out) return usage("sample: missing -o DIR%s", "");
    int task = -1;
    for (int k = 0; k < 4; k++)
        if (!strcmp(o->task, tasks[k])) task = k;
    if (task < 0) return usage("sample: --task '%s' is not t2i, t2v, edit or animate", o->task);
    if (mkdir(o->out, 0777) && errno != EEXIST) {
        fprintf(stderr, "vitrail: shapes: sample: cannot make %s: %s\n", o->out, strerror(errno));
        return EXIT_RUNTIME;
    }
    int clip = task == VT_TASK_T2V || task == VT_TASK_ANIMATE, T = clip ? o->frames : 1, S = o->size;
    size_t plane = (size_t)S * S * 3;
    uint8_t *tgt = malloc(plane * T), *strip = malloc(plane * T), *src = malloc(plane);
    char tsv[4096], tmp[4200], path[4200], text[512];
    snprintf(tsv, sizeof tsv, "%s/captions.tsv", o->out);
    snprintf(tmp, sizeof tmp, "%s/.captions.tsv.tmp", o->out);
    FILE *f = tgt && strip && src ? fopen(tmp, "w") : NULL;
    int rc = EXIT_RUNTIME;
    if (!f) {
        fprintf(stderr, "vitrail: shapes: sample: %s\n", tgt && strip && src ? strerror(errno) : "out of memory");
        goto done;
    }
    fprintf(f, "file\ttask\ttext\tsource\n");
    for (int i = 0; i < o->count; i++) {
        if (vt_shapes_example(o->seed, (uint64_t)i, task, S, T, tgt, src, text, sizeof text)) {
            fprintf(stderr, "vitrail: shapes: sample: example %d failed\n", i);
            goto done;
        }
        /* (T, S, S, 3) -> (S, T·S, 3): the frames side by side */
        for (int y = 0; y < S; y++)
            for (int t = 0; t < T; t++)
                memcpy(strip + ((size_t)y * T + t) * S * 3, tgt + plane * t + (size_t)y * S * 3, (size_t)S * 3);
        snprintf(path, sizeof path, "%s/%04d.png", o->out, i);
        if (save_png(ctx, path, strip, S * T, S, text)) {
            failed(ctx);
            goto done;
        }
        int has_src = task == VT_TASK_EDIT || task == VT_TASK_ANIMATE;
        if (has_src) {
            snprintf(path, sizeof path, "%s/%04d_source.png", o->out, i);
            if (save_png(ctx, path, src, S, S, NULL)) {
                failed(ctx);
                goto done;
            }
        }
        fprintf(f, "%04d.png\t%s\t%s\t", i, tasks[task], text);
        if (has_src) fprintf(f, "%04d_source.png", i);
        fprintf(f, "\n");
    }
    if (fclose(f)) {
        f = NULL;
        fprintf(stderr, "vitrail: shapes: sample: cannot write %s: %s\n", tmp, strerror(errno));
        goto done;
    }
    f = NULL;
    if (rename(tmp, tsv)) {
        fprintf(stderr, "vitrail: shapes: sample: cannot rename to %s: %s\n", tsv, strerror(errno));
        goto done;
    }
    fprintf(stderr, "wrote %d %s examples to %s\n", o->count, tasks[task], o->out);
    rc = 0;
done:
    if (f) fclose(f);
    if (rc) unlink(tmp);
    free(tgt);
    free(strip);
    free(src);
    return rc;
}

int vt_cli_shapes(vt_context *ctx, int argc, char **argv) {
    if (argc < 2) return usage("missing 'render', 'sample', 'analyse' or 'eval'%s", "");
    /* the analyser's subcommands parse their own options (cmd_shapes_eval.c) */
    if (!strcmp(argv[1], "analyse") || !strcmp(argv[1], "analyze")) return cmd_shapes_analyse(ctx, argc - 1, argv + 1);
    if (!strcmp(argv[1], "eval")) return cmd_shapes_eval(ctx, argc - 1, argv + 1);
    options o;
    int rc = parse_options(argc, argv, &o);
    if (rc) return rc;
    if (!strcmp(argv[1], "render")) return cmd_render(ctx, &o);
    if (!strcmp(argv[1], "sample")) return cmd_sample(ctx, &o);
    return usage("unknown subcommand '%s' (render, sample, analyse or eval)", argv[1]);
}
