/* Philox4x32-10 counter-based generator and Box–Muller normals. The constants
 * are those of Salmon et al., "Parallel random numbers: as easy as 1, 2, 3"
 * (SC'11), also used by Random123, cuRAND and PyTorch's CUDA generator. */
#include <math.h>

#include "rng.h"

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

void vt_philox4x32(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]) {
    uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3];
    uint32_t k0 = key[0], k1 = key[1];
    for (int r = 0; r < 10; r++) {
        uint64_t p0 = (uint64_t)PHILOX_M0 * c0;
        uint64_t p1 = (uint64_t)PHILOX_M1 * c2;
        uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0;
        uint32_t n1 = (uint32_t)p1;
        uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
        uint32_t n3 = (uint32_t)p0;
        c0 = n0; c1 = n1; c2 = n2; c3 = n3;
        k0 += PHILOX_W0;
        k1 += PHILOX_W1;
    }
    out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
}

/* Block b of (seed, stream): counter = (b_lo, b_hi, stream, 0), key = seed. */
static void block(uint64_t seed, uint32_t stream, uint64_t b, uint32_t out[4]) {
    uint32_t ctr[4] = {(uint32_t)b, (uint32_t)(b >> 32), stream, 0};
    uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    vt_philox4x32(ctr, key, out);
}

/* 24 high bits -> (0, 1]: never 0, so log() in Box–Muller stays finite. */
static double u01_open0(uint32_t x) { return ((double)(x >> 8) + 1.0) * (1.0 / 16777216.0); }

void vt_rng_uniform(uint64_t seed, uint32_t stream, uint64_t offset, float *out, size_t n) {
    for (size_t i = 0; i < n; i++) {
        uint64_t idx = offset + i;
        uint32_t w[4];
        block(seed, stream, idx / 4, w);
        out[i] = (float)((double)(w[idx % 4] >> 8) * (1.0 / 16777216.0));
    }
}

/* Normals 4b .. 4b+3 come from block b: words (0, 1) give one Box–Muller pair
 * (cosine for 4b, sine for 4b+1), words (2, 3) the next. Computed in double and
 * rounded once to float, so platforms agree; GPU backends take their noise from
 * this same host function rather than drawing their own. */
void vt_rng_normal(uint64_t seed, uint32_t stream, uint64_t offset, float *out, size_t n) {
    const double two_pi = 6.283185307179586476925286766559;
    for (size_t i = 0; i < n; i++) {
        uint64_t idx = offset + i;
        uint32_t w[4];
        block(seed, stream, idx / 4, w);
        int pair = (int)((idx % 4) / 2);
        double u1 = u01_open0(w[2 * pair]);
        double u2 = u01_open0(w[2 * pair + 1]);
        double r = sqrt(-2.0 * log(u1));
        double a = two_pi * u2;
        out[i] = (float)(idx % 2 == 0 ? r * cos(a) : r * sin(a));
    }
}
