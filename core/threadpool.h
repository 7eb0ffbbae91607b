/* A fixed pool of pthreads running parallel-for loops: the CPU backend's ops
 * split their outer loop over it. */
#ifndef VT_CORE_THREADPOOL_H
#define VT_CORE_THREADPOOL_H

#include <stdint.h>

typedef struct vt_pool vt_pool;

/* fn handles items [begin, end); `tid` is in [0, n_threads) and lets a task use
 * per-thread scratch. */
typedef void (*vt_pool_fn)(void *arg, int64_t begin, int64_t end, int tid);

/* n_threads >= 1 (the calling thread counts as one). NULL on failure. */
vt_pool *vt_pool_create(int n_threads);
void vt_pool_destroy(vt_pool **p);
int vt_pool_threads(const vt_pool *p);

/* Runs fn over [0, n) split into contiguous chunks of at least `grain` items,
 * and returns when all are done. p may be NULL: then it runs on the caller. */
void vt_pool_for(vt_pool *p, int64_t n, int64_t grain, vt_pool_fn fn, void *arg);

/* Number of online cores (>= 1). */
int vt_online_cores(void);

#endif
