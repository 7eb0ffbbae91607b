/* Helpers every command of the `vitrail` program uses: the two error forms
 * (usage: exit 2, runtime: exit 1, each one stderr line), number parsing, whole
 * text files, and the context with its stderr log sink. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

const char *const prog = "vitrail";

int usage_error(const char *fmt, const char *arg) {
    fprintf(stderr, "%s: ", prog);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, " (see '%s --help')\n", prog);
    return EXIT_USAGE;
}

int runtime_error(cli *c) {
    fprintf(stderr, "%s: %s\n", prog, vt_context_error(c->ctx));
    return EXIT_RUNTIME;
}

int parse_int(const char *s, int lo, int hi, int *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) return -1;
    *out = (int)v;
    return 0;
}

int parse_float(const char *s, float *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end) return -1;
    *out = (float)v;
    return 0;
}

char *read_text(const char *path, char *err, size_t cap) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, cap, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    size_t n = 0, c = 4096;
    char *buf = malloc(c);
    for (size_t r; buf && (r = fread(buf + n, 1, c - n - 1, f)) > 0;) {
        n += r;
        if (n + 1 == c) {
            char *nb = c > (64u << 20) ? NULL : realloc(buf, c *= 2);
            if (!nb) {
                free(buf);
                buf = NULL;
            } else {
                buf = nb;
            }
        }
    }
    fclose(f);
    if (!buf) {
        snprintf(err, cap, "%s: too large or out of memory", path);
        return NULL;
    }
    buf[n] = 0;
    return buf;
}

static void log_stderr(void *user, vt_log_level level, const char *msg) {
    (void)user;
    static const char *names[] = {"debug", "info", "warning", "error"};
    fprintf(stderr, "%s: %s: %s\n", prog, names[level], msg);
}

vt_context *cli_context_create(int n_threads, int verbose) {
    vt_context_params p = vt_context_default_params();
    p.n_threads = n_threads;
    p.log = log_stderr;
    p.log_min = verbose ? VT_LOG_DEBUG : VT_LOG_WARN;
    return vt_context_create(&p);
}

int cli_set_threads(cli *c, int n) {
    vt_context *ctx = cli_context_create(n, c->verbose);
    if (!ctx) {
        fprintf(stderr, "%s: out of memory\n", prog);
        return EXIT_RUNTIME;
    }
    vt_context_destroy(&c->ctx);
    c->ctx = ctx;
    c->n_threads = n;
    return 0;
}
