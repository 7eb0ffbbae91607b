/* The stage registry: the built-in stages in one static table, plus stages from
 * plugin shared objects registered at run time (the one piece of global mutable
 * state DESIGN §6 allows, guarded by a mutex). */
#include <dlfcn.h>
#include <pthread.h>
#include <string.h>

#include "context.h"
#include "vitrail_stage.h"

extern const vt_stage_desc vt_stage_read_image;
extern const vt_stage_desc vt_stage_write_image;
extern const vt_stage_desc vt_stage_denoise;
extern const vt_stage_desc vt_stage_read_video;
extern const vt_stage_desc vt_stage_write_video;
extern const vt_stage_desc vt_stage_tokenize;
extern const vt_stage_desc vt_stage_text_encode;
extern const vt_stage_desc vt_stage_image_encode;
extern const vt_stage_desc vt_stage_cross_modal;
extern const vt_stage_desc vt_stage_token_prune;

static const vt_stage_desc *const builtin[] = {
    &vt_stage_read_image,
    &vt_stage_read_video,
    &vt_stage_tokenize,
    &vt_stage_text_encode,
    &vt_stage_image_encode,
    &vt_stage_cross_modal,
    &vt_stage_token_prune,
    &vt_stage_denoise,
    &vt_stage_write_image,
    &vt_stage_write_video,
};
#define N_BUILTIN ((int)(sizeof builtin / sizeof builtin[0]))

#define MAX_PLUGIN_STAGES 256
static const vt_stage_desc *plugins[MAX_PLUGIN_STAGES];
static int n_plugins;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

const char *vt_slot_type_name(vt_slot_type t) {
    switch (t) {
    case VT_SLOT_TEXT: return "text";
    case VT_SLOT_IDS: return "ids";
    case VT_SLOT_TOKENS: return "tokens";
    case VT_SLOT_MAP: return "map";
    case VT_SLOT_FRAMES: return "frames";
    }
    return "?";
}

const vt_stage_desc *vt_stage_at(int i) {
    if (i < 0) return NULL;
    if (i < N_BUILTIN) return builtin[i];
    pthread_mutex_lock(&lock);
    const vt_stage_desc *d = i - N_BUILTIN < n_plugins ? plugins[i - N_BUILTIN] : NULL;
    pthread_mutex_unlock(&lock);
    return d;
}

const vt_stage_desc *vt_stage_find(const char *name) {
    const vt_stage_desc *d;
    for (int i = 0; (d = vt_stage_at(i)); i++)
        if (!strcmp(d->name, name)) return d;
    return NULL;
}

int vt_stage_load_plugin(vt_context *ctx, const char *path) {
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) return vt_error(ctx, VT_E_IO, "plugin %s: cannot load: %s", path, dlerror());
    vt_plugin_entry_fn entry;
    /* dlsym returns a data pointer; the cast through memcpy keeps ISO C quiet */
    void *sym = dlsym(h, "vt_plugin_stages");
    if (!sym) {
        dlclose(h);
        return vt_error(ctx, VT_E_FORMAT, "plugin %s: no vt_plugin_stages symbol", path);
    }
    memcpy(&entry, &sym, sizeof entry);
    int count = 0, api = 0;
    const vt_stage_desc *const *list = entry(&count, &api);
    if (api != VT_STAGE_API_VERSION) {
        dlclose(h);
        return vt_error(ctx, VT_E_UNSUPPORTED, "plugin %s: built for stage API %d, this vitrail has %d", path, api,
                        VT_STAGE_API_VERSION);
    }
    if (!list || count < 0) {
        dlclose(h);
        return vt_error(ctx, VT_E_FORMAT, "plugin %s: vt_plugin_stages returned no stages", path);
    }
    for (int i = 0; i < count; i++) {
        const vt_stage_desc *d = list[i];
        if (!d || !d->name || !d->run || d->api_version != VT_STAGE_API_VERSION) {
            dlclose(h);
            return vt_error(ctx, VT_E_FORMAT, "plugin %s: stage %d is incomplete or of another API version", path, i);
        }
        if (vt_stage_find(d->name)) {
            dlclose(h);
            return vt_error(ctx, VT_E_INVALID, "plugin %s: a stage named '%s' already exists", path, d->name);
        }
    }
    pthread_mutex_lock(&lock);
    if (n_plugins + count > MAX_PLUGIN_STAGES) {
        pthread_mutex_unlock(&lock);
        dlclose(h);
        return vt_error(ctx, VT_E_NOMEM, "plugin %s: more than %d plugin stages", path, MAX_PLUGIN_STAGES);
    }
    for (int i = 0; i < count; i++) plugins[n_plugins++] = list[i];
    pthread_mutex_unlock(&lock);
    /* the handle stays open: the descriptors live in it for the process's life */
    return VT_OK;
}
