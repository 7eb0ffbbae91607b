/* Deterministic noise: Philox4x32-10 (Salmon et al., SC'11) keyed by the seed,
 * counter = element index / 4, then Box–Muller. The n-th normal of a seed is a
 * pure function of (seed, n), so every backend and platform draws the same noise. */
#ifndef VT_CORE_RNG_H
#define VT_CORE_RNG_H

#include <stdint.h>
#include <stddef.h>

/* One Philox4x32-10 block: 4 random words for counter `ctr` under key `key`. */
void vt_philox4x32(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);

/* Fills out[0..n) with standard normals number `offset` .. `offset+n-1` of `seed`.
 * `stream` separates independent uses of one seed (initial noise, sampler noise). */
void vt_rng_normal(uint64_t seed, uint32_t stream, uint64_t offset, float *out, size_t n);

/* Uniform floats in [0, 1), same indexing rule. */
void vt_rng_uniform(uint64_t seed, uint32_t stream, uint64_t offset, float *out, size_t n);

#endif
