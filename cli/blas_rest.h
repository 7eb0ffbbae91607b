/* OpenBLAS's idle workers keep polling, with sched_yield, for 2^28 cycles
 * (~0.1 s) after every GEMM they served. A denoiser step runs a GEMM every few
 * milliseconds, so they never rest, and between GEMMs they take the cores from
 * the pool's workers running attention and norms: perf put a quarter of a
 * 64x64 generation's samples on 2 cores in sched_yield (docs/performance.md).
 * OpenBLAS's one switch for it is OPENBLAS_THREAD_TIMEOUT (2^N cycles, N in
 * 4..30), read once when libopenblas loads, before main() runs. So a program
 * that wants its workers to rest runs itself again with the variable set,
 * unless the user set it. Header-only: the CLI and vt-bench-e2e (which times
 * what the CLI does) call it first thing in main(); the library itself never
 * touches the environment. */
#ifndef VT_BLAS_REST_H
#define VT_BLAS_REST_H

#include <stdlib.h>
#include <unistd.h>

static inline void vt_blas_rest_workers(char **argv) {
#ifdef __linux__
    if (getenv("OPENBLAS_THREAD_TIMEOUT") || setenv("OPENBLAS_THREAD_TIMEOUT", "4", 1) != 0) return;
    execv("/proc/self/exe", argv);
    /* not re-executed (no /proc): carry on with OpenBLAS's default */
#else
    (void)argv;
#endif
}

#endif
