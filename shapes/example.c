/* Training examples of the shapes world, what the trainer draws through ctypes
 * (tools/train/data.py): example `index` of stream `seed` is a pure function of
 * its arguments, so workers need no shared state and a resumed run continues. */
#include <string.h>

#include "shapes_internal.h"
#include "vitrail.h"

/* Text-to-image draws every image category evenly. */
static const int t2i_categories[] = {VT_CAT_SINGLE,   VT_CAT_TWO,      VT_CAT_COUNTING,
                                     VT_CAT_COLOURS, VT_CAT_POSITION, VT_CAT_BINDING};
#define N_T2I (int)(sizeof t2i_categories / sizeof t2i_categories[0])

/* A layout that cannot be found, or an edit without room, is redrawn from the
 * next spec; generated specs always fit in practice, so this only bounds the loop. */
#define ATTEMPTS 32

/* The image category drawn with `t2i_mix` (N_T2I weights in t2i_categories'
 * order; NULL: evenly, the draw vt_shapes_example has always made). */
static int t2i_category(vt_shapes_rng *r, const float *t2i_mix) {
    if (!t2i_mix) return t2i_categories[vt_shapes_rng_below(r, N_T2I)];
    float total = 0;
    for (int c = 0; c < N_T2I; c++) total += t2i_mix[c];
    float x = vt_shapes_rng_unit(r) * total;
    int last = 0;
    for (int c = 0; c < N_T2I; c++) {
        if (t2i_mix[c] <= 0) continue;
        last = c;
        if (x < t2i_mix[c]) return t2i_categories[c];
        x -= t2i_mix[c];
    }
    return t2i_categories[last]; /* rounding left x at the top */
}

int vt_shapes_example(uint64_t seed, uint64_t index, int task, int size, int frames, uint8_t *target, uint8_t *source,
                      char *text, size_t textcap) {
    return vt_shapes_example_mix(seed, index, task, NULL, size, frames, target, source, text, textcap);
}

int vt_shapes_example_mix(uint64_t seed, uint64_t index, int task, const float *t2i_mix, int size, int frames,
                          uint8_t *target, uint8_t *source, char *text, size_t textcap) {
    if (task < 0 || task >= VT_TASK_COUNT || size < 16 || size > 4096 || !target || !text || !textcap) return VT_E_INVALID;
    if (t2i_mix) {
        float total = 0;
        for (int c = 0; c < N_T2I; c++) {
            if (!(t2i_mix[c] >= 0) || t2i_mix[c] > 1e6f) return VT_E_INVALID; /* NaN, negative, absurd */
            total += t2i_mix[c];
        }
        if (!(total > 0)) return VT_E_INVALID;
    }
    int clip = task == VT_TASK_T2V || task == VT_TASK_ANIMATE;
    if (clip && (frames < 1 || frames > 4096)) return VT_E_INVALID;
    if ((task == VT_TASK_EDIT || task == VT_TASK_ANIMATE) && !source) return VT_E_INVALID;
    text[0] = 0;
    size_t plane = (size_t)size * size * 3;
    vt_shapes_rng r = vt_shapes_rng_make(seed, index, 0x6578616d706c6500ull | (uint64_t)task);
    for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
        /* a distinct spec stream per task and attempt; held-out captions never come out of it */
        uint64_t spec_seed = vt_shapes_mix(seed ^ vt_shapes_mix((uint64_t)task << 8 | (uint64_t)attempt));
        uint64_t layout_seed = vt_shapes_rng_next(&r);
        int category = task == VT_TASK_T2I ? t2i_category(&r, t2i_mix)
                       : clip             ? VT_CAT_MOTION
                                          : VT_CAT_EDIT;
        vt_shapes_spec spec, src_spec;
        vt_shapes_scene scene, edited;
        if (vt_shapes_random_spec(spec_seed, index, category, 0, &spec, &src_spec)) return VT_E_INVALID;
        if (task == VT_TASK_EDIT) {
            if (vt_shapes_layout(&src_spec, layout_seed, &scene, NULL, 0) ||
                vt_shapes_edit_apply(&scene, &spec, layout_seed, &edited, NULL, 0))
                continue;
            if (vt_shapes_caption(&spec, 1, text, textcap) < 0) return VT_E_INVALID;
            if (vt_shapes_render(&scene, size, size, source) || vt_shapes_render(&edited, size, size, target))
                return VT_E_INVALID;
            return 0;
        }
        if (vt_shapes_layout(&spec, layout_seed, &scene, NULL, 0)) continue;
        if (vt_shapes_caption(&spec, 0, text, textcap) < 0) return VT_E_INVALID;
        int T = clip ? frames : 1;
        for (int t = 0; t < T; t++) {
            vt_shapes_scene f;
            if (vt_shapes_clip_frame(&scene, &spec, t, T, &f) || vt_shapes_render(&f, size, size, target + (size_t)t * plane))
                return VT_E_INVALID;
        }
        if (task == VT_TASK_ANIMATE) memcpy(source, target, plane);
        return 0;
    }
    text[0] = 0;
    return VT_E_INVALID;
}
