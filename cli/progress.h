/* Progress of a command as a person or a program wants it: a live line on a
 * terminal (stage, step/total, it/s, ETA), one JSON object per line with
 * --json, nothing with --quiet; and Ctrl-C turned into a clean stop. */
#ifndef VT_CLI_PROGRESS_H
#define VT_CLI_PROGRESS_H

#include <stdio.h>

typedef struct progress {
    int quiet, json, tty;  /* tty: stderr is a terminal, so the live line is drawn */
    int item, items;       /* the image (batch) or window being made, 1-based; items 0 = unknown */
    const char *what;      /* "image", "window" */
    double t_stage;        /* when the current stage started (seconds) */
    int done;              /* steps reported since then */
    int line_open;         /* a live line waits for its newline */
} progress;

void progress_init(progress *p, int quiet, int json, const char *what);
/* The pipeline's callback (vt_pipeline_progress_fn): draws or prints, and
 * returns non-zero once Ctrl-C was pressed, which stops the run. */
int progress_cb(void *user, const char *stage, int step, int steps);
/* Ends a live line, if one is open. */
void progress_end(progress *p);

/* Ctrl-C (SIGINT) sets a flag instead of killing the process; a second one
 * kills it (the default action comes back after the first). */
void interrupt_install(void);
int interrupted(void);

double now_s(void);
/* s as a JSON string literal, quotes included. */
void json_string(FILE *f, const char *s);

#endif
