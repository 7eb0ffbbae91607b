/* A fixed pthread pool for parallel-for: workers spin briefly on the job
 * counter (a DiT step issues hundreds of sub-millisecond ops, and a condition
 * variable wake-up costs tens of microseconds), then sleep on a condition
 * variable; the caller takes the first chunk itself. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "threadpool.h"

struct vt_pool {
    int n;                    /* threads including the caller */
    pthread_t *threads;       /* (n - 1) workers */
    pthread_mutex_t mu;
    pthread_cond_t wake, done;
    _Atomic uint64_t generation; /* bumped per job so workers see each job once */
    _Atomic int pending;         /* workers still running the current job */
    int sleepers;                /* workers waiting on `wake` (under mu) */
    _Atomic int quit;
    /* the current job */
    vt_pool_fn fn;
    void *arg;
    int64_t n_items, chunk;
};

typedef struct worker_arg { vt_pool *p; int tid; } worker_arg;

static void run_chunk(vt_pool *p, int tid) {
    int64_t b = (int64_t)tid * p->chunk;
    int64_t e = b + p->chunk < p->n_items ? b + p->chunk : p->n_items;
    if (b < e) p->fn(p->arg, b, e, tid);
}

#define SPIN_ITERS 20000 /* ~50-100 µs of polling before sleeping */

static void *worker(void *varg) {
    worker_arg *wa = varg;
    vt_pool *p = wa->p;
    int tid = wa->tid;
    free(wa);
    uint64_t seen = 0;
    for (;;) {
        int spins = 0;
        while (atomic_load_explicit(&p->generation, memory_order_acquire) == seen && spins < SPIN_ITERS) spins++;
        if (atomic_load_explicit(&p->generation, memory_order_acquire) == seen) {
            pthread_mutex_lock(&p->mu);
            p->sleepers++;
            while (!p->quit && atomic_load(&p->generation) == seen) pthread_cond_wait(&p->wake, &p->mu);
            p->sleepers--;
            int quit = p->quit;
            pthread_mutex_unlock(&p->mu);
            if (quit) break;
        }
        if (p->quit) break;
        seen = atomic_load_explicit(&p->generation, memory_order_acquire);
        run_chunk(p, tid);
        if (atomic_fetch_sub_explicit(&p->pending, 1, memory_order_acq_rel) == 1) {
            /* the caller may be asleep on `done` */
            pthread_mutex_lock(&p->mu);
            pthread_cond_signal(&p->done);
            pthread_mutex_unlock(&p->mu);
        }
    }
    return NULL;
}

vt_pool *vt_pool_create(int n_threads) {
    if (n_threads < 1) n_threads = 1;
    vt_pool *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->n = n_threads;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->done, NULL);
    if (n_threads > 1) {
        p->threads = calloc((size_t)n_threads - 1, sizeof *p->threads);
        if (!p->threads) goto fail;
        for (int i = 1; i < n_threads; i++) {
            worker_arg *wa = malloc(sizeof *wa);
            if (!wa) goto fail_started;
            wa->p = p;
            wa->tid = i;
            if (pthread_create(&p->threads[i - 1], NULL, worker, wa) != 0) {
                free(wa);
                goto fail_started;
            }
            continue;
        fail_started:
            /* Keep the threads that did start: a smaller pool still works. */
            p->n = i;
            break;
        }
    }
    return p;
fail:
    free(p);
    return NULL;
}

void vt_pool_destroy(vt_pool **pp) {
    if (!pp || !*pp) return;
    vt_pool *p = *pp;
    pthread_mutex_lock(&p->mu);
    p->quit = 1;
    atomic_fetch_add(&p->generation, 1);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    for (int i = 1; i < p->n; i++) pthread_join(p->threads[i - 1], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->wake);
    pthread_cond_destroy(&p->done);
    free(p->threads);
    free(p);
    *pp = NULL;
}

int vt_pool_threads(const vt_pool *p) { return p ? p->n : 1; }

void vt_pool_for(vt_pool *p, int64_t n, int64_t grain, vt_pool_fn fn, void *arg) {
    if (n <= 0) return;
    if (grain < 1) grain = 1;
    int64_t max_chunks = (n + grain - 1) / grain;
    int use = p ? p->n : 1;
    if (use > max_chunks) use = (int)max_chunks;
    if (use <= 1) {
        fn(arg, 0, n, 0);
        return;
    }
    p->fn = fn;
    p->arg = arg;
    p->n_items = n;
    p->chunk = (n + use - 1) / use;
    /* Workers whose chunk is empty still check in, so pending counts them all. */
    atomic_store(&p->pending, p->n - 1);
    pthread_mutex_lock(&p->mu);
    atomic_fetch_add_explicit(&p->generation, 1, memory_order_release);
    if (p->sleepers) pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    run_chunk(p, 0);
    for (int spins = 0; atomic_load_explicit(&p->pending, memory_order_acquire) > 0 && spins < SPIN_ITERS; spins++) {
    }
    if (atomic_load(&p->pending) > 0) {
        pthread_mutex_lock(&p->mu);
        while (atomic_load(&p->pending) > 0) pthread_cond_wait(&p->done, &p->mu);
        pthread_mutex_unlock(&p->mu);
    }
}

int vt_online_cores(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : (int)n;
}
