/* The context's private layout and the error/log helpers every module uses
 * to report a failure without printing. */
#ifndef VT_CORE_CONTEXT_H
#define VT_CORE_CONTEXT_H

#include "vitrail.h"

struct vt_pool;

struct vt_context {
    vt_context_params params;
    int n_threads;         /* resolved: never 0 */
    struct vt_pool *pool;  /* worker threads for CPU ops, created lazily */
    char error[512];       /* message of the last failure */
};

#if defined(__GNUC__)
#define VT_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define VT_PRINTF(a, b)
#endif

/* Records `fmt` as the context's error message and returns `code`, so that a
 * failing function can `return vt_error(ctx, VT_E_FORMAT, "...")`. ctx may be NULL. */
int vt_error(vt_context *ctx, int code, const char *fmt, ...) VT_PRINTF(3, 4);

/* Sends one line to the context's log callback, if any. */
void vt_log(vt_context *ctx, vt_log_level level, const char *fmt, ...) VT_PRINTF(3, 4);

/* The context's thread pool (created on first use); NULL if threads could not start. */
struct vt_pool *vt_context_pool(vt_context *ctx);

#endif
