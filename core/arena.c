/* Bump allocation of activations inside one block sized up front. */
#include <stdint.h>
#include <stdlib.h>

#include "arena.h"

#define VT_ARENA_ALIGN 64

struct vt_arena {
    unsigned char *base; /* (capacity) bytes, 64-aligned */
    size_t capacity, used, peak;
};

vt_arena *vt_arena_create(size_t capacity) {
    vt_arena *a = calloc(1, sizeof *a);
    if (!a) return NULL;
    capacity = (capacity + VT_ARENA_ALIGN - 1) & ~(size_t)(VT_ARENA_ALIGN - 1);
    if (capacity) {
        a->base = aligned_alloc(VT_ARENA_ALIGN, capacity);
        if (!a->base) {
            free(a);
            return NULL;
        }
    }
    a->capacity = capacity;
    return a;
}

void vt_arena_destroy(vt_arena **a) {
    if (!a || !*a) return;
    free((*a)->base);
    free(*a);
    *a = NULL;
}

vt_arena *vt_arena_create_layout(void) {
    vt_arena *a = calloc(1, sizeof *a);
    if (a) a->capacity = SIZE_MAX & ~(size_t)(VT_ARENA_ALIGN - 1);
    return a;
}

size_t vt_arena_offset(vt_arena *a, size_t bytes) {
    size_t need = (bytes + VT_ARENA_ALIGN - 1) & ~(size_t)(VT_ARENA_ALIGN - 1);
    if (need < bytes || need > a->capacity - a->used) return SIZE_MAX; /* overflow or full */
    size_t off = a->used;
    a->used += need;
    if (a->used > a->peak) a->peak = a->used;
    return off;
}

void *vt_arena_alloc(vt_arena *a, size_t bytes) {
    if (!a->base) return NULL;
    size_t off = vt_arena_offset(a, bytes);
    return off == SIZE_MAX ? NULL : a->base + off;
}

float *vt_arena_floats(vt_arena *a, size_t n) {
    if (n > SIZE_MAX / sizeof(float)) return NULL;
    return vt_arena_alloc(a, n * sizeof(float));
}

size_t vt_arena_mark(const vt_arena *a) { return a->used; }
void vt_arena_release(vt_arena *a, size_t mark) {
    if (mark <= a->used) a->used = mark;
}
void vt_arena_reset(vt_arena *a) { a->used = 0; }
size_t vt_arena_used(const vt_arena *a) { return a->used; }
size_t vt_arena_peak(const vt_arena *a) { return a->peak; }
size_t vt_arena_capacity(const vt_arena *a) { return a->capacity; }
