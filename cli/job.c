/* Option parsing of the pipeline commands (see job.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "job.h"

int job_set(job *j, const char *fmt, ...) {
    if (j->n_store == (int)(sizeof j->store / sizeof j->store[0]) || j->n_sets == JOB_MAX_SETS)
        return usage_error("too many options%s", "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(j->store[j->n_store], sizeof j->store[0], fmt, ap);
    va_end(ap);
    j->sets[j->n_sets++] = j->store[j->n_store++];
    j->sets[j->n_sets] = NULL;
    return 0;
}

/* Options that set a denoise parameter under the same name. */
static const char *const denoise_opts[] = {"--steps", "--cfg", "--sampler", "--strength", "--class",
                                           "--device", "--eta", "--shift", NULL};

static int bad_value(const job *j, const char *opt, const char *v, const char *want) {
    fprintf(stderr, "%s: %s: %s '%s' is not %s (see 'vitrail %s --help')\n", prog, j->cmd, opt, v, want, j->cmd);
    return EXIT_USAGE;
}

int job_parse(cli *c, job *j, const char *cmd, int argc, char **argv, int first, int positional_prompt, int video) {
    memset(j, 0, sizeof *j);
    j->cmd = cmd;
    j->batch = 1;
    j->overlap = -1;
    for (int i = first; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
            j->quiet = 1;
            continue;
        }
        if (!strcmp(a, "--json")) {
            j->json = 1;
            continue;
        }
        if (a[0] != '-' || !a[1]) {
            if (positional_prompt && !j->prompt) {
                j->prompt = a;
                continue;
            }
            fprintf(stderr, "%s: %s: unexpected argument '%s' (see 'vitrail %s --help')\n", prog, cmd, a, cmd);
            return EXIT_USAGE;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "%s: %s: %s needs a value (see 'vitrail %s --help')\n", prog, cmd, a, cmd);
            return EXIT_USAGE;
        }
        const char *v = argv[++i];
        int n, rc = 0;
        float f;
        if (!strcmp(a, "-p") || !strcmp(a, "--prompt")) j->prompt = v;
        else if (!strcmp(a, "-n") || !strcmp(a, "--negative-prompt")) j->negative = v;
        else if (!strcmp(a, "-m") || !strcmp(a, "--model")) j->model = v;
        else if (!strcmp(a, "-o") || !strcmp(a, "--output")) j->out = v;
        else if (!strcmp(a, "-i") || !strcmp(a, "--input")) j->input = v;
        else if (!strcmp(a, "--ref") && !strcmp(cmd, "edit")) j->ref = v;
        else if (!strcmp(a, "--pipeline") || !strcmp(a, "--preset")) j->preset = v;
        else if (!strcmp(a, "--set")) {
            if (j->n_sets == JOB_MAX_SETS) return usage_error("more than 64 --set options%s", "");
            j->sets[j->n_sets++] = v;
        } else if (!strcmp(a, "-s") || !strcmp(a, "--seed")) {
            char *end;
            errno = 0;
            if (!strcmp(v, "-1")) {
                j->seed_pick = 1;
            } else {
                j->seed = strtoull(v, &end, 10);
                /* the denoise stage keeps seeds as exact doubles */
                if (errno || *end || v[0] == '-' || end == v || j->seed > (1ull << 53))
                    return bad_value(j, a, v, "a seed (0..2^53, or -1 to pick one)");
            }
            j->seed_given = 1;
        } else if (!strcmp(a, "-b") || !strcmp(a, "--batch")) {
            if (parse_int(v, 1, 10000, &j->batch)) return bad_value(j, a, v, "a count in 1..10000");
        } else if (!strcmp(a, "-W") || !strcmp(a, "--width")) {
            if (parse_int(v, 1, 65536, &j->width)) return bad_value(j, a, v, "a width in pixels");
        } else if (!strcmp(a, "-H") || !strcmp(a, "--height")) {
            if (parse_int(v, 1, 65536, &j->height)) return bad_value(j, a, v, "a height in pixels");
        } else if (!strcmp(a, "--frames")) {
            if (parse_int(v, 1, 4096, &j->frames)) return bad_value(j, a, v, "a frame count in 1..4096");
        } else if (!strcmp(a, "--fps")) {
            if (parse_float(v, &f) || !(f >= 0.1f && f <= 1000.0f)) return bad_value(j, a, v, "a frame rate in 0.1..1000");
            j->fps = f;
        } else if (!strcmp(a, "--threads")) {
            if (parse_int(v, 1, 1024, &n)) return bad_value(j, a, v, "an integer in 1..1024");
            if ((rc = cli_set_threads(c, n))) return rc;
        } else if (video && !strcmp(a, "--overlap")) {
            if (parse_int(v, 0, 4096, &j->overlap)) return bad_value(j, a, v, "a frame count");
        } else {
            int k = 0;
            while (denoise_opts[k] && strcmp(a, denoise_opts[k])) k++;
            if (!denoise_opts[k]) {
                fprintf(stderr, "%s: %s: unknown option '%s' (see 'vitrail %s --help')\n", prog, cmd, a, cmd);
                return EXIT_USAGE;
            }
            if ((rc = job_set(j, "denoise.%s=%.1000s", a + 2, v))) return rc;
        }
    }
    if (j->prompt && !*j->prompt) {
        fprintf(stderr, "%s: %s: the prompt is empty\n", prog, cmd);
        return EXIT_USAGE;
    }
    if (j->negative && !*j->negative) {
        fprintf(stderr, "%s: %s: the negative prompt is empty\n", prog, cmd);
        return EXIT_USAGE;
    }
    return 0;
}

char *job_find_preset(const char *name, char *err, size_t cap) {
    if (access(name, R_OK) == 0) return read_text(name, err, cap);
    const char *dirs[2] = {getenv("VITRAIL_PRESETS"), VT_PRESET_DIR};
    for (int i = 0; i < 2; i++) {
        if (!dirs[i]) continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s.txt", dirs[i], name);
        if (access(path, R_OK) == 0) return read_text(path, err, cap);
    }
    snprintf(err, cap, "preset '%s': no such file, nor %s.txt in %s (set VITRAIL_PRESETS)", name, name, VT_PRESET_DIR);
    return NULL;
}
