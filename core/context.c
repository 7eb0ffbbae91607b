/* The context: resolved thread count, the lazily started thread pool, the last
 * error message and the log sink; plus status names and the version string. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "context.h"
#include "threadpool.h"
#include "vt_config.h"

const char *vt_version(void) { return VT_VERSION_STRING; }

const char *vt_status_name(int status) {
    switch (status) {
    case VT_OK: return "VT_OK";
    case VT_E_INVALID: return "VT_E_INVALID";
    case VT_E_IO: return "VT_E_IO";
    case VT_E_FORMAT: return "VT_E_FORMAT";
    case VT_E_NOMEM: return "VT_E_NOMEM";
    case VT_E_UNSUPPORTED: return "VT_E_UNSUPPORTED";
    case VT_E_DEVICE: return "VT_E_DEVICE";
    case VT_E_SHAPE: return "VT_E_SHAPE";
    case VT_E_CANCELLED: return "VT_E_CANCELLED";
    default: return "VT_E_UNKNOWN";
    }
}

vt_context_params vt_context_default_params(void) {
    vt_context_params p;
    memset(&p, 0, sizeof p);
    p.n_threads = 0;
    p.log_min = VT_LOG_INFO;
    return p;
}

vt_context *vt_context_create(const vt_context_params *params) {
    vt_context *ctx = calloc(1, sizeof *ctx);
    if (!ctx) return NULL;
    ctx->params = params ? *params : vt_context_default_params();
    ctx->n_threads = ctx->params.n_threads > 0 ? ctx->params.n_threads : vt_online_cores();
    return ctx;
}

void vt_context_destroy(vt_context **ctx) {
    if (!ctx || !*ctx) return;
    vt_pool_destroy(&(*ctx)->pool);
    free(*ctx);
    *ctx = NULL;
}

const char *vt_context_error(const vt_context *ctx) { return ctx ? ctx->error : ""; }

int vt_context_threads(const vt_context *ctx) { return ctx ? ctx->n_threads : 1; }

struct vt_pool *vt_context_pool(vt_context *ctx) {
    if (!ctx) return NULL;
    if (!ctx->pool && ctx->n_threads > 1) ctx->pool = vt_pool_create(ctx->n_threads);
    return ctx->pool;
}

int vt_error(vt_context *ctx, int code, const char *fmt, ...) {
    if (ctx) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(ctx->error, sizeof ctx->error, fmt, ap);
        va_end(ap);
        /* The message is one line by contract: a newline from a file name or a
         * nested message must not split it. */
        for (char *c = ctx->error; *c; c++)
            if (*c == '\n' || *c == '\r') *c = ' ';
    }
    return code;
}

void vt_log(vt_context *ctx, vt_log_level level, const char *fmt, ...) {
    if (!ctx || !ctx->params.log || level < ctx->params.log_min) return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    ctx->params.log(ctx->params.log_user, level, line);
}
