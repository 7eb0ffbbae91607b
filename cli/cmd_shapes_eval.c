/* cmd_shapes_eval.c — `vitrail shapes analyse` (what the analyser sees in a
 * file) and `vitrail shapes eval` (a model's GenEval-style score on the
 * held-out prompts, or the analyser's own on the ground truth). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cmd_shapes_eval.h"
#include "vitrail_shapes.h"
/* the edit rule (vt_shapes_edit_apply) and the analyser's measurements: --truth
 * renders an edit's target, and analyse --features prints what shapes are
 * told apart by; both are the world's own, not part of its public contract */
#include "shapes/analyse_internal.h"
#include "shapes/shapes_internal.h"

#define EXIT_RUNTIME 1
#define EXIT_USAGE 2

static int usage(const char *fmt, const char *arg) {
    fprintf(stderr, "vitrail: shapes: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, " (see 'vitrail shapes --help')\n");
    return EXIT_USAGE;
}

static int runtime(vt_context *ctx) {
    fprintf(stderr, "vitrail: %s\n", vt_context_error(ctx));
    return EXIT_RUNTIME;
}

static int parse_uint(const char *s, unsigned long long hi, unsigned long long *out) {
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || v > hi) return -1;
    *out = v;
    return 0;
}

static int file_exists(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static int is_image_name(const char *p) {
    const char *dot = strrchr(p, '.');
    if (!dot) return 0;
    static const char *ext[] = {".png", ".jpg", ".jpeg", ".bmp", ".tga", ".PNG", ".JPG", ".JPEG"};
    for (size_t k = 0; k < sizeof ext / sizeof ext[0]; k++)
        if (!strcmp(dot, ext[k])) return 1;
    return 0;
}

/* A still image or a clip, as frames (T, h, w, 3). */
typedef struct frames {
    int w, h, T;
    unsigned char *px;
} frames;

static int frames_load(vt_context *ctx, const char *path, frames *f) {
    memset(f, 0, sizeof *f);
    if (is_image_name(path)) {
        vt_image img;
        int rc = vt_image_load(ctx, path, &img);
        if (rc) return rc;
        f->w = img.width, f->h = img.height, f->T = 1, f->px = img.pixels;
        return 0;
    }
    vt_video v;
    int rc = vt_video_load(ctx, path, NULL, &v);
    if (rc) return rc;
    f->w = v.width, f->h = v.height, f->T = v.frames, f->px = v.pixels;
    return 0;
}

/* A clip written as a PNG sequence: `stem`_000.png, _001.png, ... (what
 * `vitrail generate -o OUT_%03d.png` writes), frames of one size. */
static int frames_load_sequence(vt_context *ctx, const char *stem, frames *f) {
    memset(f, 0, sizeof *f);
    char path[4200];
    for (int t = 0; t < 1024; t++) {
        snprintf(path, sizeof path, "%s_%03d.png", stem, t);
        if (!file_exists(path)) break;
        vt_image img;
        int rc = vt_image_load(ctx, path, &img);
        if (rc) {
            free(f->px);
            return rc;
        }
        size_t fsz = (size_t)img.width * img.height * 3;
        unsigned char *g = t && (img.width != f->w || img.height != f->h) ? NULL : realloc(f->px, fsz * (size_t)(t + 1));
        if (!g) {
            vt_image_free(&img);
            free(f->px);
            f->px = NULL;
            return -1;
        }
        f->px = g;
        f->w = img.width, f->h = img.height, f->T = t + 1;
        memcpy(f->px + fsz * (size_t)t, img.pixels, fsz);
        vt_image_free(&img);
    }
    return f->T ? 0 : -1;
}

static void frames_free(frames *f) {
    free(f->px);
    memset(f, 0, sizeof *f);
}

/* ---- analyse ---- */

static void print_analysis(const vt_shapes_analysis *a, int features) {
    printf("background: %s\nobjects: %d%s\n", vt_shapes_colour_name(a->background), a->n_total,
           a->n_total > a->n ? " (the largest 16 listed)" : "");
    float m = (float)(a->width < a->height ? a->width : a->height);
    for (int k = 0; k < a->n; k++) {
        const vt_shapes_blob *b = &a->blob[k];
        printf("  %-6s %-6s %-8s at %.3f,%.3f  r %.3f  area %.4f  angle %+.0f°\n", vt_shapes_size_name(b->size),
               vt_shapes_colour_name(b->colour), vt_shapes_shape_name(b->shape), b->cx / (float)a->width,
               b->cy / (float)a->height, b->radius / m, b->area / ((float)a->width * (float)a->height),
               b->angle * 57.29578f);
        if (features)
            printf("         hole %.2f fill %.2f depth %.2f elong %.2f harm1-8 %.3f %.3f %.3f %.3f %.3f %.3f %.3f %.3f\n",
                   b->hole, b->fill, b->depth, b->elong, b->harm[1], b->harm[2], b->harm[3], b->harm[4], b->harm[5],
                   b->harm[6], b->harm[7], b->harm[8]);
        if (features)
            printf("         whitened harm2-6 %.3f %.3f %.3f %.3f %.3f\n", b->wharm[2], b->wharm[3], b->wharm[4],
                   b->wharm[5], b->wharm[6]);
    }
}

int cmd_shapes_analyse(vt_context *ctx, int argc, char **argv) {
    const char *path = NULL;
    int features = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--features"))
            features = 1;
        else if (argv[i][0] == '-' && argv[i][1])
            return usage("analyse: unknown option '%s'", argv[i]);
        else if (path)
            return usage("analyse: more than one FILE ('%s')", argv[i]);
        else
            path = argv[i];
    }
    if (!path) return usage("analyse: missing FILE%s", "");
    frames f;
    if (frames_load(ctx, path, &f)) return runtime(ctx);
    vt_shapes_analysis *a = malloc(sizeof *a);
    int rc = 0;
    if (!a) {
        fprintf(stderr, "vitrail: out of memory\n");
        rc = EXIT_RUNTIME;
    }
    size_t fsz = (size_t)f.w * f.h * 3;
    for (int t = 0; t < f.T && !rc; t++) {
        if (vt_shapes_analyse_blobs(f.px + fsz * (size_t)t, f.w, f.h, a)) {
            fprintf(stderr, "vitrail: %s: cannot analyse a %dx%d image\n", path, f.w, f.h);
            rc = EXIT_RUNTIME;
            break;
        }
        if (f.T > 1) printf("frame %d:\n", t);
        print_analysis(a, features);
    }
    free(a);
    frames_free(&f);
    return rc;
}

/* ---- the prompts file ---- */

static const char *task_names[VT_TASK_COUNT] = {"t2i", "t2v", "edit", "animate"};

typedef struct item {
    char id[64];
    int category, task;
    char *text;          /* the caption, or an edit's instruction */
    char *source_text;   /* edit: the source's caption; animate: the caption of the first frame */
    uint64_t source_seed;
    vt_shapes_spec spec, source;
} item;

typedef struct prompts {
    item *it;
    int n, cap;
} prompts;

static void prompts_free(prompts *p) {
    for (int k = 0; k < p->n; k++) {
        free(p->it[k].text);
        free(p->it[k].source_text);
    }
    free(p->it);
    memset(p, 0, sizeof *p);
}

static int name_index(const char *s, const char *(*name)(int), int n) {
    for (int k = 0; k < n; k++)
        if (name(k) && !strcmp(s, name(k))) return k;
    return -1;
}

static const char *task_name(int t) { return t >= 0 && t < VT_TASK_COUNT ? task_names[t] : NULL; }

/* One line: id TAB category TAB task TAB text TAB source ("-", or
 * "CAPTION|SEED"). Returns 0, or -1 with a message in err. */
static int parse_line(char *line, item *it, char *err, size_t errcap) {
    memset(it, 0, sizeof *it);
    char *f[6];
    int nf = 0;
    for (char *s = line; nf < 6;) {
        f[nf++] = s;
        char *tab = strchr(s, '\t');
        if (!tab) break;
        *tab = 0;
        s = tab + 1;
    }
    if (nf != 5) {
        snprintf(err, errcap, "expected 5 tab-separated fields, found %d", nf);
        return -1;
    }
    if (strlen(f[0]) >= sizeof it->id || !f[0][0]) {
        snprintf(err, errcap, "bad id '%.63s' (1 to 63 characters)", f[0]);
        return -1;
    }
    strcpy(it->id, f[0]);
    if ((it->category = name_index(f[1], vt_shapes_category_name, VT_CAT_COUNT)) < 0) {
        snprintf(err, errcap, "unknown category '%s'", f[1]);
        return -1;
    }
    if ((it->task = name_index(f[2], task_name, VT_TASK_COUNT)) < 0) {
        snprintf(err, errcap, "unknown task '%s' (t2i, t2v, edit, animate)", f[2]);
        return -1;
    }
    char perr[160];
    if (vt_shapes_parse(f[3], it->task == VT_TASK_EDIT, &it->spec, perr, sizeof perr)) {
        snprintf(err, errcap, "'%s': %s", f[3], perr);
        return -1;
    }
    if (it->spec.category != it->category) {
        snprintf(err, errcap, "'%s' is a %s caption, not %s", f[3], vt_shapes_category_name(it->spec.category), f[1]);
        return -1;
    }
    int clip = it->spec.motion != VT_MOTION_NONE;
    if ((it->task == VT_TASK_T2V || it->task == VT_TASK_ANIMATE) != clip || (it->task == VT_TASK_EDIT) != (it->category == VT_CAT_EDIT)) {
        snprintf(err, errcap, "task %s does not fit a %s caption", f[2], f[1]);
        return -1;
    }
    it->text = strdup(f[3]);
    if (it->task == VT_TASK_EDIT || it->task == VT_TASK_ANIMATE) {
        char *bar = strrchr(f[4], '|');
        unsigned long long seed;
        if (!bar || parse_uint(bar + 1, UINT64_MAX, &seed)) {
            snprintf(err, errcap, "an %s item needs a source 'CAPTION|SEED', not '%s'", f[2], f[4]);
            return -1;
        }
        *bar = 0;
        it->source_seed = seed;
        it->source_text = strdup(f[4]);
        if (vt_shapes_parse(f[4], 0, &it->source, perr, sizeof perr)) {
            snprintf(err, errcap, "source '%s': %s", f[4], perr);
            return -1;
        }
    }
    if (!it->text || ((it->task == VT_TASK_EDIT || it->task == VT_TASK_ANIMATE) && !it->source_text)) {
        snprintf(err, errcap, "out of memory");
        return -1;
    }
    return 0;
}

static int prompts_load(const char *path, prompts *p) {
    memset(p, 0, sizeof *p);
    FILE *fp = fopen(path, "r");
    if (!fp) {
        fprintf(stderr, "vitrail: %s: %s\n", path, strerror(errno));
        return -1;
    }
    char line[2048];
    int ln = 0, rc = 0;
    while (fgets(line, sizeof line, fp)) {
        ln++;
        size_t len = strlen(line);
        if (len == sizeof line - 1 && line[len - 1] != '\n') {
            fprintf(stderr, "vitrail: %s:%d: line too long\n", path, ln);
            rc = -1;
            break;
        }
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = 0;
        if (!len || line[0] == '#') continue;
        if (p->n == p->cap) {
            int nc = p->cap ? p->cap * 2 : 256;
            item *g = realloc(p->it, (size_t)nc * sizeof *g);
            if (!g) {
                fprintf(stderr, "vitrail: out of memory\n");
                rc = -1;
                break;
            }
            p->it = g, p->cap = nc;
        }
        char err[256];
        if (parse_line(line, &p->it[p->n], err, sizeof err)) {
            free(p->it[p->n].text);
            free(p->it[p->n].source_text);
            fprintf(stderr, "vitrail: %s:%d: %s\n", path, ln, err);
            rc = -1;
            break;
        }
        p->n++;
    }
    if (!rc && ferror(fp)) {
        fprintf(stderr, "vitrail: %s: read error\n", path);
        rc = -1;
    }
    fclose(fp);
    if (!rc && p->n == 0) {
        fprintf(stderr, "vitrail: %s: no prompts\n", path);
        rc = -1;
    }
    if (rc) prompts_free(p);
    return rc;
}

/* ---- --make-prompts ---- */

static int make_prompts(uint64_t seed, int per, const char *out) {
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", out) >= (int)sizeof tmp) return usage("-o: path too long%s", "");
    FILE *fp = fopen(tmp, "w");
    if (!fp) {
        fprintf(stderr, "vitrail: %s: %s\n", tmp, strerror(errno));
        return EXIT_RUNTIME;
    }
    fprintf(fp, "# vitrail shapes eval prompts (held-out captions; docs/shapes-analyser.md): made by "
                "'vitrail shapes eval --make-prompts --seed %llu --per-category %d'\n"
                "# id\tcategory\ttask\ttext\tsource (edit/animate: CAPTION|SEED, else -)\n",
            (unsigned long long)seed, per);
    /* distinct items within a category while the held-out pool lasts */
    char (*seen)[512] = malloc((size_t)per * sizeof *seen);
    int rc = seen ? 0 : EXIT_RUNTIME;
    for (int cat = 0; cat < VT_CAT_COUNT && !rc; cat++) {
        int made = 0;
        for (uint64_t i = 0; made < per; i++) {
            if (i > (uint64_t)per * 1000) {
                fprintf(stderr, "vitrail: %s: no held-out %s captions\n", out, vt_shapes_category_name(cat));
                rc = EXIT_RUNTIME;
                break;
            }
            vt_shapes_spec s, src;
            if (vt_shapes_random_spec(seed, i, cat, 1, &s, &src)) continue;
            int edit = cat == VT_CAT_EDIT;
            char text[256], stext[256], key[512];
            if (vt_shapes_caption(&s, edit, text, sizeof text) < 0) continue;
            stext[0] = 0;
            if (edit && vt_shapes_caption(&src, 0, stext, sizeof stext) < 0) continue;
            snprintf(key, sizeof key, "%s|%s", text, stext);
            int dup = 0;
            for (int k = 0; k < made && !dup; k++) dup = !strcmp(seen[k], key);
            if (dup && i < (uint64_t)per * 20) continue;
            strcpy(seen[made], key);
            int task = cat == VT_CAT_EDIT ? VT_TASK_EDIT
                     : cat == VT_CAT_MOTION ? (made % 2 ? VT_TASK_ANIMATE : VT_TASK_T2V)
                                            : VT_TASK_T2I;
            /* the source image's layout seed: any number, fixed by the file */
            uint64_t sseed = (vt_shapes_rng_make(seed, (uint64_t)cat, i).s >> 33) % 1000000;
            fprintf(fp, "%s-%03d\t%s\t%s\t%s\t", vt_shapes_category_name(cat), made, vt_shapes_category_name(cat),
                    task_names[task], text);
            if (task == VT_TASK_EDIT)
                fprintf(fp, "%s|%llu\n", stext, (unsigned long long)sseed);
            else if (task == VT_TASK_ANIMATE)
                fprintf(fp, "%s|%llu\n", text, (unsigned long long)sseed);
            else
                fprintf(fp, "-\n");
            made++;
        }
    }
    free(seen);
    if (fclose(fp) || rc) {
        if (!rc) fprintf(stderr, "vitrail: %s: write error\n", tmp);
        remove(tmp);
        return EXIT_RUNTIME;
    }
    if (rename(tmp, out)) {
        fprintf(stderr, "vitrail: %s: %s\n", out, strerror(errno));
        remove(tmp);
        return EXIT_RUNTIME;
    }
    return 0;
}

/* ---- ground truth ---- */

/* Frames of the world's own answer to an item at size × size; the edit's
 * source in src (size², 3). 0, or -1 with a message. */
static int render_truth(const item *it, uint64_t seed, int size, frames *f, unsigned char *src, char *err,
                        size_t errcap) {
    size_t fsz = (size_t)size * size * 3;
    vt_shapes_scene scene;
    memset(f, 0, sizeof *f);
    f->w = f->h = size;
    if (it->task == VT_TASK_EDIT) {
        vt_shapes_scene s0;
        if (vt_shapes_layout(&it->source, it->source_seed, &s0, err, errcap)) return -1;
        if (vt_shapes_edit_apply(&s0, &it->spec, it->source_seed, &scene, err, errcap)) return -1;
        f->T = 1;
        if (!(f->px = malloc(fsz))) return snprintf(err, errcap, "out of memory"), -1;
        vt_shapes_render(&s0, size, size, src);
        vt_shapes_render(&scene, size, size, f->px);
        return 0;
    }
    /* animate: the first frame is the source's layout, as the script renders it */
    const vt_shapes_spec *lay = it->task == VT_TASK_ANIMATE ? &it->source : &it->spec;
    uint64_t lseed = it->task == VT_TASK_ANIMATE ? it->source_seed : seed;
    if (vt_shapes_layout(lay, lseed, &scene, err, errcap)) return -1;
    f->T = it->task == VT_TASK_T2V || it->task == VT_TASK_ANIMATE ? 8 : 1;
    if (!(f->px = malloc(fsz * (size_t)f->T))) return snprintf(err, errcap, "out of memory"), -1;
    for (int t = 0; t < f->T; t++) {
        vt_shapes_scene st = scene;
        if (f->T > 1 && vt_shapes_clip_frame(&scene, &it->spec, t, f->T, &st)) {
            snprintf(err, errcap, "no clip frame %d", t);
            return -1;
        }
        vt_shapes_render(&st, size, size, f->px + fsz * (size_t)t);
    }
    return 0;
}

/* The ground truth as the files a model's run would leave: DIR/ID_sK.png, or
 * .mp4 for clips (8 frames a second, as `vitrail generate --frames` writes). */
static int write_truth(vt_context *ctx, const char *dir, const item *it, int s, const frames *f) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s_s%d.%s", dir, it->id, s, f->T > 1 ? "mp4" : "png");
    if (f->T == 1) {
        vt_image img = {f->w, f->h, f->px};
        return vt_image_save_png(ctx, path, &img, it->text);
    }
    vt_video v = {f->w, f->h, f->T, 8.0, 8.0, f->px};
    return vt_video_save(ctx, path, &v);
}

/* ---- eval ---- */

static void json_str(FILE *fp, const char *s) {
    fputc('"', fp);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(fp, "\\%c", c);
        else if (c < 0x20)
            fprintf(fp, "\\u%04x", c);
        else
            fputc(c, fp);
    }
    fputc('"', fp);
}

typedef struct failure {
    int item;
    int seed;
    int missing;
    char why[240];
} failure;

int cmd_shapes_eval(vt_context *ctx, int argc, char **argv) {
    const char *prompts_path = NULL, *dir = NULL, *out = NULL, *write_dir = NULL;
    int json = 0, truth = 0, make = 0, list_why = 0;
    unsigned long long seeds = 1, seed = 2026, per = 60, size = 64;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has_v = i + 1 < argc;
        if (!strcmp(a, "--json"))
            json = 1;
        else if (!strcmp(a, "--truth"))
            truth = 1;
        else if (!strcmp(a, "--why"))
            list_why = 1;
        else if (!strcmp(a, "--make-prompts"))
            make = 1;
        else if (!strcmp(a, "--prompts") || !strcmp(a, "--images") || !strcmp(a, "-o") || !strcmp(a, "--output") ||
                 !strcmp(a, "--seeds") || !strcmp(a, "--seed") || !strcmp(a, "--per-category") ||
                 !strcmp(a, "--size") || !strcmp(a, "--write")) {
            if (!has_v) return usage("eval: %s needs a value", a);
            const char *v = argv[++i];
            if (!strcmp(a, "--prompts"))
                prompts_path = v;
            else if (!strcmp(a, "--images"))
                dir = v;
            else if (!strcmp(a, "-o") || !strcmp(a, "--output"))
                out = v;
            else if (!strcmp(a, "--write"))
                write_dir = v;
            else if (!strcmp(a, "--seeds") ? parse_uint(v, 1000, &seeds) || seeds < 1
                     : !strcmp(a, "--seed") ? parse_uint(v, UINT64_MAX, &seed)
                     : !strcmp(a, "--per-category") ? parse_uint(v, 100000, &per) || per < 1
                                                    : parse_uint(v, 4096, &size) || size < 16)
                return usage("eval: bad value for %s", a);
        } else {
            return usage("eval: unknown argument '%s'", a);
        }
    }
    if (make) {
        if (!out) return usage("eval: --make-prompts needs -o FILE%s", "");
        return make_prompts(seed, (int)per, out);
    }
    if (!prompts_path) return usage("eval: missing --prompts FILE%s", "");
    if (!truth && !dir) return usage("eval: missing --images DIR (or --truth)%s", "");
    if (truth && dir) return usage("eval: --truth renders its own images; drop --images%s", "");
    if (write_dir && !truth) return usage("eval: --write DIR goes with --truth%s", "");
    prompts p;
    if (prompts_load(prompts_path, &p)) return EXIT_RUNTIME;

    int total[VT_CAT_COUNT] = {0}, passed[VT_CAT_COUNT] = {0}, missing = 0, errors = 0;
    failure *fails = NULL;
    int nfail = 0, capfail = 0, rc = 0;
    unsigned char *src = NULL;
    size_t srccap = 0;
    for (int k = 0; k < p.n && !rc; k++) {
        const item *it = &p.it[k];
        for (int s = 0; s < (int)seeds && !rc; s++) {
            char why[240] = "", path[4096];
            frames f = {0};
            int ok = 0, miss = 0;
            total[it->category]++;
            if (truth) {
                size_t need = (size_t)size * size * 3;
                if (need > srccap) {
                    free(src);
                    if (!(src = malloc(need))) {
                        fprintf(stderr, "vitrail: out of memory\n");
                        rc = EXIT_RUNTIME;
                        break;
                    }
                    srccap = need;
                }
                if (render_truth(it, (uint64_t)s, (int)size, &f, src, why, sizeof why)) {
                    char e[240];
                    snprintf(e, sizeof e, "cannot render the ground truth: %s", why);
                    strcpy(why, e);
                    errors++;
                    goto verdict;
                }
                if (write_dir && write_truth(ctx, write_dir, it, s, &f)) {
                    frames_free(&f);
                    rc = runtime(ctx);
                    break;
                }
            } else {
                int clip = it->task == VT_TASK_T2V || it->task == VT_TASK_ANIMATE, sequence = 0;
                /* a clip: .mp4, else .gif, else a PNG sequence ID_sK_000.png... */
                snprintf(path, sizeof path, "%s/%s_s%d.%s", dir, it->id, s, clip ? "mp4" : "png");
                if (clip && !file_exists(path)) snprintf(path, sizeof path, "%s/%s_s%d.gif", dir, it->id, s);
                if (clip && !file_exists(path)) {
                    snprintf(path, sizeof path, "%s/%s_s%d_000.png", dir, it->id, s);
                    sequence = file_exists(path);
                    if (sequence) snprintf(path, sizeof path, "%s/%s_s%d", dir, it->id, s);
                }
                if (!sequence && !file_exists(path)) {
                    snprintf(path, sizeof path, "%s/%s_s%d.%s", dir, it->id, s, clip ? "mp4" : "png");
                    snprintf(why, sizeof why, "missing %.*s", (int)sizeof why - 9, path);
                    miss = 1;
                    missing++;
                    goto verdict;
                }
                if (sequence ? frames_load_sequence(ctx, path, &f) : frames_load(ctx, path, &f)) {
                    if (sequence)
                        snprintf(why, sizeof why, "unreadable frame sequence %.180s_NNN.png", path);
                    else
                        snprintf(why, sizeof why, "unreadable: %s", vt_context_error(ctx));
                    errors++;
                    goto verdict;
                }
                if (it->task == VT_TASK_EDIT) {
                    /* the source as the script rendered it, at the target's size */
                    vt_shapes_scene s0;
                    size_t need = (size_t)f.w * f.h * 3;
                    if (need > srccap) {
                        free(src);
                        if (!(src = malloc(need))) {
                            fprintf(stderr, "vitrail: out of memory\n");
                            rc = EXIT_RUNTIME;
                            frames_free(&f);
                            break;
                        }
                        srccap = need;
                    }
                    if (vt_shapes_layout(&it->source, it->source_seed, &s0, why, sizeof why) ||
                        vt_shapes_render(&s0, f.w, f.h, src)) {
                        errors++;
                        goto verdict;
                    }
                }
            }
            {
                int r = vt_shapes_check(&it->spec, f.px, f.T, f.w, f.h, it->task == VT_TASK_EDIT ? src : NULL, why,
                                        sizeof why);
                if (r < 0) {
                    snprintf(why, sizeof why, "cannot check a %dx%d×%d input", f.w, f.h, f.T);
                    errors++;
                }
                ok = r == 1;
            }
        verdict:
            frames_free(&f);
            if (ok) {
                passed[it->category]++;
                continue;
            }
            if (nfail == capfail) {
                int nc = capfail ? capfail * 2 : 64;
                failure *g = realloc(fails, (size_t)nc * sizeof *g);
                if (!g) {
                    fprintf(stderr, "vitrail: out of memory\n");
                    rc = EXIT_RUNTIME;
                    break;
                }
                fails = g, capfail = nc;
            }
            failure *fl = &fails[nfail++];
            fl->item = k, fl->seed = s, fl->missing = miss;
            snprintf(fl->why, sizeof fl->why, "%s", why[0] ? why : "failed");
        }
    }
    free(src);
    if (rc) {
        free(fails);
        prompts_free(&p);
        return rc;
    }
    double sum = 0;
    int ncat = 0, all_items = 0, all_passed = 0;
    for (int c = 0; c < VT_CAT_COUNT; c++) {
        if (!total[c]) continue;
        sum += (double)passed[c] / total[c];
        ncat++;
        all_items += total[c];
        all_passed += passed[c];
    }
    double overall = ncat ? sum / ncat : 0;
    if (json) {
        printf("{\"prompts\": ");
        json_str(stdout, prompts_path);
        printf(", \"mode\": \"%s\", \"seeds\": %llu, \"categories\": {", truth ? "truth" : "images", seeds);
        int first = 1;
        for (int c = 0; c < VT_CAT_COUNT; c++) {
            if (!total[c]) continue;
            printf("%s\"%s\": {\"items\": %d, \"passed\": %d, \"score\": %.4f}", first ? "" : ", ",
                   vt_shapes_category_name(c), total[c], passed[c], (double)passed[c] / total[c]);
            first = 0;
        }
        printf("}, \"overall\": %.4f, \"items\": %d, \"passed\": %d, \"missing\": %d, \"unreadable\": %d, \"failures\": [",
               overall, all_items, all_passed, missing, errors);
        for (int k = 0; k < nfail; k++) {
            printf("%s{\"id\": ", k ? ", " : "");
            json_str(stdout, p.it[fails[k].item].id);
            printf(", \"seed\": %d, \"missing\": %s, \"why\": ", fails[k].seed, fails[k].missing ? "true" : "false");
            json_str(stdout, fails[k].why);
            printf("}");
        }
        printf("]}\n");
    } else {
        printf("%-10s %6s %7s %7s\n", "category", "items", "passed", "score");
        for (int c = 0; c < VT_CAT_COUNT; c++)
            if (total[c])
                printf("%-10s %6d %7d %7.3f\n", vt_shapes_category_name(c), total[c], passed[c],
                       (double)passed[c] / total[c]);
        printf("%-10s %6d %7d %7.3f\n", "overall", all_items, all_passed, overall);
        if (missing) printf("missing files: %d (counted as failures)\n", missing);
        if (errors) printf("unreadable or unrenderable: %d (counted as failures)\n", errors);
        if (list_why)
            for (int k = 0; k < nfail; k++)
                printf("FAIL %s seed %d (%s): %s\n", p.it[fails[k].item].id, fails[k].seed,
                       p.it[fails[k].item].text, fails[k].why);
        else if (missing) {
            for (int k = 0; k < nfail; k++)
                if (fails[k].missing) {
                    printf("first missing: %s\n", fails[k].why + strlen("missing "));
                    break;
                }
        }
    }
    free(fails);
    prompts_free(&p);
    return 0;
}
