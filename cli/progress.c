/* Progress lines, JSON events and the Ctrl-C flag (see progress.h). */
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "progress.h"

static volatile sig_atomic_t sigint_seen;

static void on_sigint(int sig) {
    (void)sig;
    sigint_seen = 1;
}

void interrupt_install(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sa.sa_flags = SA_RESETHAND; /* a second Ctrl-C is not ignored */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
}

int interrupted(void) { return sigint_seen != 0; }

double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

void json_string(FILE *f, const char *s) {
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') fprintf(f, "\\%c", *p);
        else if (*p < 0x20) fprintf(f, "\\u%04x", *p);
        else fputc(*p, f);
    }
    fputc('"', f);
}

void progress_init(progress *p, int quiet, int json, const char *what) {
    memset(p, 0, sizeof *p);
    p->quiet = quiet;
    p->json = json;
    p->tty = !quiet && !json && isatty(STDERR_FILENO);
    p->what = what;
    p->item = p->items = 1;
}

void progress_end(progress *p) {
    if (p->line_open) fputc('\n', stderr);
    p->line_open = 0;
}

int progress_cb(void *user, const char *stage, int step, int steps) {
    progress *p = user;
    double now = now_s();
    if (steps == 0) { /* a stage starts */
        p->t_stage = now;
        p->done = 0;
        return interrupted();
    }
    p->done++;
    double el = now - p->t_stage, rate = el > 0 ? p->done / el : 0, eta = rate > 0 ? (steps - step) / rate : 0;
    if (p->json) {
        printf("{\"event\":\"step\",\"stage\":");
        json_string(stdout, stage);
        printf(",\"%s\":%d,", p->what, p->item);
        if (p->items) printf("\"%ss\":%d,", p->what, p->items);
        printf("\"step\":%d,\"steps\":%d,\"elapsed_s\":%.3f,\"it_per_s\":%.3f,\"eta_s\":%.3f}\n", step, steps, el, rate, eta);
        fflush(stdout);
    } else if (p->tty) {
        char who[48] = "";
        if (p->items != 1) {
            if (p->items) snprintf(who, sizeof who, "%s %d/%d ", p->what, p->item, p->items);
            else snprintf(who, sizeof who, "%s %d ", p->what, p->item);
        }
        fprintf(stderr, "\r%s%s %d/%d  %.2f it/s  ETA %.1f s   ", who, stage, step, steps, rate, eta);
        p->line_open = 1;
        if (step == steps) progress_end(p);
    }
    return interrupted();
}
