/* The options of the pipeline commands (generate, edit, animate, run, video),
 * parsed once: what to run, on what, and how; the sampling options become
 * overrides of the denoise stage (stable-diffusion.cpp's spellings). */
#ifndef VT_CLI_JOB_H
#define VT_CLI_JOB_H

#include "cli.h"

#define JOB_MAX_SETS 64

typedef struct job {
    const char *cmd;                  /* the command, for messages */
    const char *preset;               /* --pipeline NAME|FILE; NULL: the command's own */
    const char *prompt, *negative;    /* -p, -n */
    const char *model, *out, *input;  /* --model, -o, -i */
    const char *ref;                  /* edit --ref */
    const char *sets[JOB_MAX_SETS + 1]; /* STAGE.PARAM=VALUE overrides in order, NULL-terminated */
    int n_sets;
    char store[JOB_MAX_SETS][1100];   /* the text of the overrides, in order */
    int n_store;
    unsigned long long seed;
    int seed_given, seed_pick;        /* -s N, -s -1 */
    int batch;                        /* -b, default 1 */
    int frames, width, height;        /* --frames, -W, -H; 0 = not given */
    int overlap;                      /* video --overlap; -1 = not given */
    float fps;                        /* --fps; 0 = not given */
    int quiet, json;
} job;

/* Parses argv[first..]: EXIT_USAGE after printing the error, else 0. `video`
 * allows --overlap. A positional argument is the prompt when `positional_prompt`. */
int job_parse(cli *c, job *j, const char *cmd, int argc, char **argv, int first, int positional_prompt, int video);
/* Appends an override "STAGE.PARAM=VALUE" built with printf. */
int job_set(job *j, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* The preset's text: a readable FILE, else NAME.txt in $VITRAIL_PRESETS or in
 * the presets folder of this build. NULL with a message in err. */
char *job_find_preset(const char *name, char *err, size_t cap);

#endif
