/* A bump allocator for activations: sized up front, reset between runs, so a
 * denoiser step allocates nothing from the system. */
#ifndef VT_CORE_ARENA_H
#define VT_CORE_ARENA_H

#include <stddef.h>

typedef struct vt_arena vt_arena;

/* Creates an arena of `capacity` bytes; NULL if memory is exhausted. */
vt_arena *vt_arena_create(size_t capacity);
void vt_arena_destroy(vt_arena **a);

/* An arena that only lays blocks out, holding no memory: vt_arena_offset gives
 * their offsets from 0 and vt_arena_used the total, for one device buffer (or
 * any buffer) allocated afterwards. NULL if memory is exhausted. */
vt_arena *vt_arena_create_layout(void);

/* Byte offset of a new 64-byte aligned block of `bytes` (in a layout arena or a
 * real one); SIZE_MAX when the arena is full. */
size_t vt_arena_offset(vt_arena *a, size_t bytes);

/* 64-byte aligned block of `bytes`, or NULL when the arena is full (or only lays out). */
void *vt_arena_alloc(vt_arena *a, size_t bytes);
/* Like vt_arena_alloc for n floats. */
float *vt_arena_floats(vt_arena *a, size_t n);

/* A mark to release back to: everything allocated after it is freed at once. */
size_t vt_arena_mark(const vt_arena *a);
void vt_arena_release(vt_arena *a, size_t mark);
void vt_arena_reset(vt_arena *a);

size_t vt_arena_used(const vt_arena *a);
size_t vt_arena_peak(const vt_arena *a); /* high-water mark since creation */
size_t vt_arena_capacity(const vt_arena *a);

#endif
