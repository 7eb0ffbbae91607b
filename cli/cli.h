/* What the files of the `vitrail` program share: the per-run state, the command
 * table's entry type, exit codes and the small helpers every command uses. */
#ifndef VT_CLI_H
#define VT_CLI_H

#include <stddef.h>

#include "vitrail.h"

#define EXIT_RUNTIME 1
#define EXIT_USAGE 2
#define EXIT_INTERRUPTED 130 /* 128 + SIGINT, what a shell reports for Ctrl-C */

typedef struct cli {
    int n_threads;  /* --threads, 0 = online cores */
    int verbose;    /* -v: debug logs on stderr */
    vt_context *ctx;
} cli;

typedef struct command {
    const char *name;
    const char *summary;
    const char *usage;  /* full --help text */
    int (*run)(cli *c, int argc, char **argv);
} command;

extern const char *const prog; /* "vitrail", the prefix of every message */

/* "vitrail: <fmt with arg> (see 'vitrail --help')" on stderr; returns EXIT_USAGE. */
int usage_error(const char *fmt, const char *arg);
/* The context's last error as one stderr line; returns EXIT_RUNTIME. */
int runtime_error(cli *c);
/* An integer in [lo, hi] / a finite number; 0 on success. */
int parse_int(const char *s, int lo, int hi, int *out);
int parse_float(const char *s, float *out);
/* A whole text file (malloc-ed), or NULL with a message in err. */
char *read_text(const char *path, char *err, size_t cap);
/* A context with n CPU threads (0 = online cores) logging to stderr. */
vt_context *cli_context_create(int n_threads, int verbose);
/* Replaces the context by one with n CPU threads (--threads given after the command). */
int cli_set_threads(cli *c, int n);

/* The model to use: `given` (--model), else $VITRAIL_MODEL, else the default
 * model (the source tree's assets/models, then the installed data folder).
 * Returns NULL after printing "no model: pass --model FILE ..." when none is
 * there; `required` 0 returns NULL silently instead. */
const char *cli_model_path(const char *given, int required);

/* Commands that live in their own files. */
int cmd_generate(cli *c, int argc, char **argv);
int cmd_edit(cli *c, int argc, char **argv);
int cmd_animate(cli *c, int argc, char **argv);
int cmd_run(cli *c, int argc, char **argv);
int cmd_video(cli *c, int argc, char **argv);

#endif
