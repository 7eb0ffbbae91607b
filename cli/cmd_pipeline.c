/* The commands that run one pipeline preset: generate (txt2img / txt2vid by the
 * output's kind), edit, animate and run. A batch reuses the pipeline, changing
 * only the seed and the output's name between runs; outputs are written to a
 * temporary name and renamed by the writers, so an interrupted run leaves none. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "job.h"
#include "progress.h"
#include "vitrail_stage.h"

/* Whether an output path names a clip: a video container, or a frame pattern
 * such as out_%03d.png. */
static int is_video_path(const char *path) {
    if (strchr(path, '%')) return 1;
    const char *dot = strrchr(path, '.');
    static const char *const exts[] = {".mp4", ".gif", ".mkv", ".webm", ".mov", NULL};
    for (int i = 0; dot && exts[i]; i++)
        if (!strcmp(dot, exts[i])) return 1;
    return 0;
}

/* The i-th output of a batch: out.png, out_1.png, out_2.png, ... */
static void batch_name(const char *out, int i, char *buf, size_t cap) {
    if (i == 0) {
        snprintf(buf, cap, "%s", out);
        return;
    }
    const char *dot = strrchr(out, '.'), *slash = strrchr(out, '/');
    if (!dot || (slash && dot < slash)) dot = out + strlen(out);
    snprintf(buf, cap, "%.*s_%d%s", (int)(dot - out), out, i, dot);
}

/* What each command runs by default, and how. */
typedef struct recipe {
    const char *preset;     /* the preset when --pipeline is not given */
    int needs_input;        /* -i is required */
    int model_required;     /* no model at all is an error (run: the preset may need none) */
} recipe;

static int run_job(cli *c, job *j, const recipe *rec) {
    if (rec->needs_input && (!j->input || !j->prompt)) {
        fprintf(stderr, "%s: %s: needs -i INPUT and -p PROMPT (see 'vitrail %s --help')\n", prog, j->cmd, j->cmd);
        return EXIT_USAGE;
    }
    const double t0 = now_s();
    const char *preset = j->preset ? j->preset : rec->preset;
    int video_out = j->out ? is_video_path(j->out) : 0;
    if (!strcmp(j->cmd, "generate")) {
        if (!j->prompt) return usage_error("generate: missing the prompt (\"PROMPT\" or -p PROMPT)%s", "");
        if (!j->out) video_out = j->frames > 1;
        if (!j->preset) preset = video_out ? "txt2vid" : "txt2img";
        if (!j->out) j->out = video_out ? "out.mp4" : "out.png";
        if (!video_out && j->frames > 1) {
            fprintf(stderr, "%s: generate: --frames %d makes a clip: give -o OUT.mp4, OUT.gif or a frame pattern such as "
                            "out_%%03d.png\n", prog, j->frames);
            return EXIT_USAGE;
        }
    }
    if (!preset) return usage_error("run: missing PRESET%s", "");
    char err[600];
    char *text = job_find_preset(preset, err, sizeof err);
    if (!text) {
        fprintf(stderr, "%s: %s\n", prog, err);
        return EXIT_RUNTIME;
    }
    const int has_denoise = strstr(text, "denoise") != NULL, has_vwriter = strstr(text, "write_video") != NULL;
    const int has_writer = has_vwriter || strstr(text, "write_image") != NULL;
    const char *writer = has_vwriter ? "write_video" : "write_image";
    int rc = EXIT_USAGE;
    vt_model *m = NULL;
    vt_pipeline *p = NULL;
    char **outs = NULL;
    unsigned long long *seeds = NULL;
    double *times = NULL;
    if (j->fps > 0 && !has_vwriter) {
        fprintf(stderr, "%s: %s: --fps applies to clips (-o OUT.mp4, OUT.gif or out_%%03d.png)\n", prog, j->cmd);
        goto done;
    }
    if (j->negative && !strstr(text, "tokenize")) {
        fprintf(stderr, "%s: %s: -n needs a preset with a text prompt ('%s' has no tokenize stage)\n", prog, j->cmd, preset);
        goto done;
    }
    if ((j->batch > 1 || j->seed_given) && !has_denoise) {
        fprintf(stderr, "%s: %s: -s and -b need a preset with a denoise stage\n", prog, j->cmd);
        goto done;
    }
    if (j->batch > 1 && !has_writer) {
        fprintf(stderr, "%s: %s: -b needs a preset that writes its result\n", prog, j->cmd);
        goto done;
    }
    if (j->input && !strstr(text, "read_image") && !strstr(text, "read_video")) {
        fprintf(stderr, "%s: %s: -i given, but preset '%s' reads no image or video\n", prog, j->cmd, preset);
        goto done;
    }
    rc = EXIT_RUNTIME;
    const char *model_path = cli_model_path(j->model, rec->model_required);
    if (!model_path && rec->model_required) goto done;
    if (model_path && vt_model_open(c->ctx, model_path, &m)) {
        rc = runtime_error(c);
        goto done;
    }
    /* checks against the model, with the options' names (the denoise stage
     * refuses the same with its parameters' names) */
    vt_denoiser_shape sh;
    if (m && has_denoise && vt_model_denoiser_shape(c->ctx, m, &sh) == VT_OK) {
        if ((j->width && j->width != sh.width) || (j->height && j->height != sh.height)) {
            fprintf(stderr, "%s: %s: -W %d -H %d: %s makes %dx%d images (it samples at its trained size only)\n", prog,
                    j->cmd, j->width ? j->width : sh.width, j->height ? j->height : sh.height, model_path, sh.width,
                    sh.height);
            goto done;
        }
        if (j->frames > (sh.frames ? sh.frames : 1)) {
            fprintf(stderr, "%s: %s: --frames %d: %s makes 1..%d frames\n", prog, j->cmd, j->frames, model_path,
                    sh.frames ? sh.frames : 1);
            goto done;
        }
    }
    /* overrides made here come first, then the sampling options and --set in
     * their order, so an explicit --set wins */
    const char *user_sets[JOB_MAX_SETS + 1];
    int n_user = j->n_sets;
    memcpy(user_sets, j->sets, sizeof user_sets);
    j->n_sets = 0;
    int e = 0;
    if (has_denoise) {
        if (j->width && !e) e = job_set(j, "denoise.width=%d", j->width);
        if (j->height && !e) e = job_set(j, "denoise.height=%d", j->height);
        /* an image output takes one frame, a clip the model's unless --frames says */
        if (j->frames && !e) e = job_set(j, "denoise.frames=%d", j->frames);
        else if (!strcmp(j->cmd, "generate") && !video_out && !e) e = job_set(j, "denoise.frames=1");
    }
    if (j->fps > 0 && !e) e = job_set(j, "write_video.fps=%g", (double)j->fps);
    if (j->ref && !e) {
        /* edit_ref reads the reference first, the image to change second */
        e = job_set(j, "read_image#1.path=%.1000s", j->ref);
        if (!e) e = job_set(j, "read_image#2.path=%.1000s", j->input);
    } else if (j->input && !e) {
        e = job_set(j, "%s.path=%.1000s", strstr(text, "read_video") ? "read_video" : "read_image", j->input);
    }
    if (j->out && has_writer && !e) e = job_set(j, "%s.path=%.1000s", writer, j->out);
    for (int k = 0; k < n_user && !e; k++) e = job_set(j, "%s", user_sets[k]);
    if (e) {
        rc = e;
        goto done;
    }
    if (j->seed_pick) {
        /* -1: a seed from the clock and the process id, said so it can be reused */
        j->seed = ((unsigned long long)time(NULL) ^ ((unsigned long long)getpid() << 16)) & ((1ull << 32) - 1);
        if (!j->json) fprintf(stderr, "seed: %llu\n", j->seed);
    }
    vt_slot_spec given[3];
    int ng = 0;
    memset(given, 0, sizeof given);
    if (j->prompt) given[ng++] = (vt_slot_spec){"prompt", VT_SLOT_TEXT, 0, NULL};
    if (j->negative) given[ng++] = (vt_slot_spec){"negative", VT_SLOT_TEXT, 0, NULL};
    if (vt_pipeline_create(c->ctx, text, given, j->sets, m, &p) ||
        (j->prompt && vt_pipeline_set_text(p, "prompt", j->prompt)) ||
        (j->negative && vt_pipeline_set_text(p, "negative", j->negative))) {
        rc = runtime_error(c);
        goto done;
    }
    const double t_load = now_s() - t0;
    progress pr;
    progress_init(&pr, j->quiet, j->json, "image");
    pr.items = j->batch;
    vt_pipeline_set_progress(p, progress_cb, &pr);
    interrupt_install();
    outs = calloc((size_t)j->batch, sizeof *outs);
    seeds = calloc((size_t)j->batch, sizeof *seeds);
    times = calloc((size_t)j->batch, sizeof *times);
    if (!outs || !seeds || !times) {
        fprintf(stderr, "%s: out of memory\n", prog);
        goto done;
    }
    for (int i = 0; i < j->batch; i++) {
        char name[1100], set[1200];
        const double ti = now_s();
        pr.item = i + 1;
        seeds[i] = j->seed + (unsigned long long)i;
        e = 0;
        if (has_denoise && (j->seed_given || j->batch > 1)) {
            snprintf(set, sizeof set, "denoise.seed=%llu", seeds[i]);
            e = vt_pipeline_set_param(p, set);
        }
        if (has_writer && j->out) {
            batch_name(j->out, i, name, sizeof name);
            snprintf(set, sizeof set, "%s.path=%s", writer, name);
            if (!e) e = vt_pipeline_set_param(p, set);
            if (!e && !(outs[i] = strdup(name))) e = VT_E_NOMEM;
        }
        if (!e) e = vt_pipeline_run(p);
        progress_end(&pr);
        if (e == VT_E_CANCELLED || (!e && interrupted())) {
            /* Ctrl-C: the item under way leaves no file (a writer that finished
             * just as it came has its file removed); finished items stay */
            if (!e && outs[i]) remove(outs[i]);
            fprintf(stderr, "%s: interrupted\n", prog);
            rc = EXIT_INTERRUPTED;
            goto done;
        }
        if (e) {
            rc = runtime_error(c);
            goto done;
        }
        times[i] = now_s() - ti;
        if (!j->quiet && !j->json && outs[i]) fprintf(stderr, "wrote %s\n", outs[i]);
    }
    if (j->json) {
        printf("{\"event\":\"done\",\"outputs\":[");
        for (int i = 0; i < j->batch; i++) {
            if (i) putchar(',');
            if (outs[i]) json_string(stdout, outs[i]);
            else printf("null");
        }
        printf("],\"seeds\":[");
        for (int i = 0; i < j->batch; i++) printf(i ? ",%llu" : "%llu", seeds[i]);
        printf("],\"timings\":{\"load_s\":%.3f,\"run_s\":[", t_load);
        for (int i = 0; i < j->batch; i++) printf(i ? ",%.3f" : "%.3f", times[i]);
        printf("],\"total_s\":%.3f}}\n", now_s() - t0);
        fflush(stdout);
    }
    rc = 0;
done:
    if (outs)
        for (int i = 0; i < j->batch; i++) free(outs[i]);
    free(outs);
    free(seeds);
    free(times);
    vt_pipeline_destroy(&p);
    vt_model_close(&m);
    free(text);
    return rc;
}

int cmd_generate(cli *c, int argc, char **argv) {
    job j;
    int rc = job_parse(c, &j, "generate", argc, argv, 1, 1, 0);
    if (rc) return rc;
    const recipe r = {NULL, 0, 1};
    return run_job(c, &j, &r);
}

int cmd_edit(cli *c, int argc, char **argv) {
    job j;
    int rc = job_parse(c, &j, "edit", argc, argv, 1, 0, 0);
    if (rc) return rc;
    if (!j.out) j.out = "out.png";
    const recipe r = {j.ref ? "edit_ref" : "edit", 1, 1};
    return run_job(c, &j, &r);
}

int cmd_animate(cli *c, int argc, char **argv) {
    job j;
    int rc = job_parse(c, &j, "animate", argc, argv, 1, 0, 0);
    if (rc) return rc;
    if (!j.out) j.out = "out.mp4";
    const recipe r = {"img2vid", 1, 1};
    return run_job(c, &j, &r);
}

int cmd_run(cli *c, int argc, char **argv) {
    if (argc < 2 || argv[1][0] == '-') return usage_error("run: missing PRESET%s", "");
    job j;
    int rc = job_parse(c, &j, "run", argc, argv, 2, 0, 0);
    if (rc) return rc;
    const recipe r = {argv[1], 0, 0};
    return run_job(c, &j, &r);
}
