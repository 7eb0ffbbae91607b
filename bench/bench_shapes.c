/* vt-bench-shapes: how fast the shapes world feeds the trainer. Examples per
 * second of each task (vt_shapes_example, 8-frame clips), relative to a peer
 * measured in the same run: memset of the same pixels, the floor any data
 * source must pay to hand over an example of that size. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vitrail_shapes.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    int size = 64, frames = 8;
    double seconds = 1.0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--size") && i + 1 < argc) size = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--seconds") && i + 1 < argc) seconds = atof(argv[++i]);
        else {
            fprintf(stderr, "usage: vt-bench-shapes [--size 64] [--seconds 1]\n");
            return 2;
        }
    }
    if (size < 16 || size > 1024 || !(seconds > 0)) {
        fprintf(stderr, "vt-bench-shapes: --size must be in 16..1024 and --seconds positive\n");
        return 2;
    }
    static const char *const names[] = {"t2i", "t2v", "edit", "animate"};
    size_t plane = (size_t)size * size * 3;
    uint8_t *tgt = malloc(plane * frames), *src = malloc(plane);
    char text[512];
    if (!tgt || !src) return 1;
    printf("%-8s %12s %12s %14s\n", "task", "examples/s", "us/example", "x memset");
    for (int task = 0; task < 4; task++) {
        int T = task == 1 || task == 3 ? frames : 1;
        long n = 0;
        double t0 = now(), t1;
        do {
            if (vt_shapes_example(1, (uint64_t)n, task, size, frames, tgt, src, text, sizeof text)) {
                fprintf(stderr, "vt-bench-shapes: example %ld of %s failed\n", n, names[task]);
                return 1;
            }
            n++;
        } while ((t1 = now()) - t0 < seconds);
        double per = (t1 - t0) / (double)n;
        /* the peer: writing the same bytes with memset */
        long m = 0;
        double p0 = now(), p1;
        do {
            memset(tgt, (int)(m & 0xff), plane * T);
            if (task == 2 || task == 3) memset(src, (int)(m & 0xff), plane);
            m++;
        } while ((p1 = now()) - p0 < seconds / 4);
        double peer = (p1 - p0) / (double)m;
        printf("%-8s %12.0f %12.1f %14.1f\n", names[task], 1.0 / per, per * 1e6, per / peer);
    }
    free(tgt);
    free(src);
    return 0;
}
