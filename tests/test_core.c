/* Check suite for core: f16/bf16 conversions, the arena, the thread pool, the
 * Philox RNG (known-answer vectors) and the context's error/log plumbing. */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vt_check.h"
#include "arena.h"
#include "context.h"
#include "rng.h"
#include "tensor.h"
#include "threadpool.h"

/* ---- conversions ---- */

START_TEST(f16_known_values) {
    /* Bit patterns from the IEEE 754 binary16 definition. */
    ck_assert_uint_eq(vt_f32_to_f16(1.0f), 0x3c00);
    ck_assert_uint_eq(vt_f32_to_f16(-2.0f), 0xc000);
    ck_assert_uint_eq(vt_f32_to_f16(1.0f / 3.0f), 0x3555);
    ck_assert_uint_eq(vt_f32_to_f16(65504.0f), 0x7bff);      /* largest finite */
    ck_assert_uint_eq(vt_f32_to_f16(65520.0f), 0x7c00);      /* rounds up to inf */
    ck_assert_uint_eq(vt_f32_to_f16(ldexpf(1.0f, -24)), 0x0001); /* smallest subnormal */
    ck_assert_uint_eq(vt_f32_to_f16(ldexpf(1.0f, -25)), 0x0000); /* tie to even -> 0 */
    ck_assert_uint_eq(vt_f32_to_f16(ldexpf(1.5f, -25)), 0x0001);
    ck_assert_uint_eq(vt_f32_to_f16(ldexpf(1.0f, -14)), 0x0400); /* smallest normal */
    ck_assert_uint_eq(vt_f32_to_f16(INFINITY), 0x7c00);
    ck_assert_uint_eq(vt_f32_to_f16(-0.0f), 0x8000);
    ck_assert(isnan(vt_f16_to_f32(vt_f32_to_f16(NAN))));
    ck_assert_float_eq(vt_f16_to_f32(0x0001), ldexpf(1.0f, -24));
    ck_assert_float_eq(vt_f16_to_f32(0x3555), 0.333251953125f);
}
END_TEST

START_TEST(f16_exhaustive_round_trip) {
    for (uint32_t h = 0; h < 65536; h++) {
        float f = vt_f16_to_f32((uint16_t)h);
        if (isnan(f)) continue;
        ck_assert_uint_eq(vt_f32_to_f16(f), h);
    }
}
END_TEST

/* f32 -> f16 must pick the nearest representable half: compare the error
 * against both neighbours, computed in double. */
START_TEST(f16_nearest_rounding) {
    float u[4096];
    vt_rng_uniform(7, 0, 0, u, 4096);
    for (int i = 0; i < 4096; i++) {
        float x = (u[i] - 0.5f) * ldexpf(1.0f, (i % 40) - 24);
        uint16_t h = vt_f32_to_f16(x);
        double e = fabs((double)vt_f16_to_f32(h) - x);
        uint16_t up = (uint16_t)(h + 1), dn = (uint16_t)(h - 1);
        if ((up & 0x7c00) != 0x7c00) ck_assert(e <= fabs((double)vt_f16_to_f32(up) - x));
        if ((h & 0x7fff) != 0) ck_assert(e <= fabs((double)vt_f16_to_f32(dn) - x));
    }
}
END_TEST

START_TEST(bf16_known_values) {
    ck_assert_uint_eq(vt_f32_to_bf16(1.0f), 0x3f80);
    ck_assert_uint_eq(vt_f32_to_bf16(1.0f / 3.0f), 0x3eab); /* 0x3eaaaaab rounds up */
    ck_assert_uint_eq(vt_f32_to_bf16(-2.0f), 0xc000);
    /* 1 + 2^-8 is exactly halfway between bf16 1.0 and 1.0078125: ties to even. */
    ck_assert_uint_eq(vt_f32_to_bf16(1.0f + ldexpf(1.0f, -8)), 0x3f80);
    ck_assert_uint_eq(vt_f32_to_bf16(1.0f + 3 * ldexpf(1.0f, -8)), 0x3f82);
    ck_assert(isnan(vt_bf16_to_f32(vt_f32_to_bf16(NAN))));
    for (uint32_t h = 0; h < 65536; h++) {
        float f = vt_bf16_to_f32((uint16_t)h);
        if (!isnan(f)) ck_assert_uint_eq(vt_f32_to_bf16(f), h);
    }
}
END_TEST

START_TEST(convert_buffers) {
    float src[5] = {0.5f, -1.25f, 3.0f, 1e-3f, 1024.0f}, back[5];
    uint16_t tmp[5];
    vt_convert_from_f32(tmp, VT_DTYPE_F16, src, 5);
    vt_convert_to_f32(back, tmp, VT_DTYPE_F16, 5);
    for (int i = 0; i < 5; i++) ck_assert(fabsf(back[i] - src[i]) <= fabsf(src[i]) * ldexpf(1, -11));
    vt_convert_from_f32(tmp, VT_DTYPE_BF16, src, 5);
    vt_convert_to_f32(back, tmp, VT_DTYPE_BF16, 5);
    for (int i = 0; i < 5; i++) ck_assert(fabsf(back[i] - src[i]) <= fabsf(src[i]) * ldexpf(1, -8));
    ck_assert_uint_eq(vt_dtype_size(VT_DTYPE_F32), 4);
    ck_assert_uint_eq(vt_dtype_size(VT_DTYPE_BF16), 2);
    ck_assert_str_eq(vt_dtype_name(VT_DTYPE_F16), "F16");
}
END_TEST

START_TEST(tensor_views) {
    float d[24];
    int64_t s[4] = {2, 3, 1, 4};
    vt_tensor t = vt_tensor_make(VT_DTYPE_F32, d, 4, s);
    ck_assert_int_eq(vt_tensor_numel(&t), 24);
    ck_assert_uint_eq(vt_tensor_nbytes(&t), 96);
    char buf[64];
    ck_assert_str_eq(vt_tensor_shape_str(&t, buf, sizeof buf), "(2, 3, 1, 4)");
    vt_tensor u = vt_tensor_f32_2d(d, 6, 4);
    ck_assert(!vt_tensor_same_shape(&t, &u));
    vt_tensor w = vt_tensor_f32_2d(d, 6, 4);
    ck_assert(vt_tensor_same_shape(&w, &u));
}
END_TEST

/* ---- arena ---- */

START_TEST(arena_alloc) {
    vt_arena *a = vt_arena_create(1000);
    ck_assert_ptr_nonnull(a);
    ck_assert_uint_eq(vt_arena_capacity(a), 1024);
    void *p = vt_arena_alloc(a, 10);
    void *q = vt_arena_alloc(a, 100);
    ck_assert_uint_eq((uintptr_t)p % 64, 0);
    ck_assert_uint_eq((uintptr_t)q % 64, 0);
    ck_assert_uint_eq((uintptr_t)q - (uintptr_t)p, 64);
    size_t m = vt_arena_mark(a);
    ck_assert_ptr_nonnull(vt_arena_floats(a, 100));
    ck_assert_ptr_null(vt_arena_alloc(a, 1024)); /* full: NULL, not a crash */
    ck_assert_ptr_null(vt_arena_alloc(a, SIZE_MAX - 10)); /* overflow in rounding */
    vt_arena_release(a, m);
    ck_assert_uint_eq(vt_arena_used(a), m);
    ck_assert_uint_eq(vt_arena_peak(a), m + 448);
    vt_arena_reset(a);
    ck_assert_uint_eq(vt_arena_used(a), 0);
    vt_arena_destroy(&a);
    ck_assert_ptr_null(a);
    vt_arena_destroy(&a); /* NULL-safe */
    /* a layout arena: offsets from 0, 64-byte aligned, no memory behind them */
    a = vt_arena_create_layout();
    ck_assert_ptr_nonnull(a);
    ck_assert_uint_eq(vt_arena_offset(a, 10), 0);
    ck_assert_uint_eq(vt_arena_offset(a, 65), 64);
    ck_assert_uint_eq(vt_arena_offset(a, 1), 192);
    ck_assert_uint_eq(vt_arena_used(a), 256);
    ck_assert_ptr_null(vt_arena_alloc(a, 8));
    ck_assert_uint_eq(vt_arena_offset(a, SIZE_MAX - 10), SIZE_MAX);
    vt_arena_destroy(&a);
}
END_TEST

/* ---- thread pool ---- */

typedef struct visit { int *count; double *partial; } visit;

static void visit_fn(void *arg, int64_t b, int64_t e, int tid) {
    visit *v = arg;
    for (int64_t i = b; i < e; i++) {
        v->count[i]++;
        v->partial[tid] += (double)i;
    }
}

START_TEST(pool_every_item_once) {
    for (int nt = 1; nt <= 5; nt++) {
        vt_pool *p = vt_pool_create(nt);
        ck_assert_ptr_nonnull(p);
        ck_assert_int_eq(vt_pool_threads(p), nt);
        const int64_t sizes[] = {0, 1, 3, 7, 1000, 100003};
        for (int rep = 0; rep < 6; rep++) {
            for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
                int64_t n = sizes[s];
                int *count = calloc((size_t)n + 1, sizeof *count);
                double partial[8] = {0};
                visit v = {count, partial};
                vt_pool_for(p, n, 1 + rep % 3, visit_fn, &v);
                double total = 0;
                for (int t = 0; t < 8; t++) total += partial[t];
                for (int64_t i = 0; i < n; i++) ck_assert_int_eq(count[i], 1);
                ck_assert(total == (double)n * (double)(n - 1) / 2.0);
                free(count);
            }
        }
        vt_pool_destroy(&p);
        ck_assert_ptr_null(p);
    }
    /* A NULL pool runs on the caller. */
    int count[10] = {0};
    double partial[1] = {0};
    visit v = {count, partial};
    vt_pool_for(NULL, 10, 1, visit_fn, &v);
    for (int i = 0; i < 10; i++) ck_assert_int_eq(count[i], 1);
}
END_TEST

/* ---- RNG ---- */

/* Known-answer vectors of Philox4x32-10 from Random123's kat_vectors. */
START_TEST(philox_known_answers) {
    struct { uint32_t ctr[4], key[2], out[4]; } kat[] = {
        {{0, 0, 0, 0}, {0, 0}, {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
        {{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, {0xffffffff, 0xffffffff},
         {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
        {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, {0xa4093822, 0x299f31d0},
         {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
    };
    for (size_t i = 0; i < sizeof kat / sizeof kat[0]; i++) {
        uint32_t out[4];
        vt_philox4x32(kat[i].ctr, kat[i].key, out);
        for (int j = 0; j < 4; j++) ck_assert_uint_eq(out[j], kat[i].out[j]);
    }
}
END_TEST

START_TEST(normal_statistics_and_slicing) {
    enum { N = 1 << 20 };
    float *x = malloc(N * sizeof *x);
    vt_rng_normal(42, 0, 0, x, N);
    double s = 0, s2 = 0, s4 = 0;
    for (int i = 0; i < N; i++) {
        s += x[i];
        s2 += (double)x[i] * x[i];
        s4 += (double)x[i] * x[i] * x[i] * x[i];
        ck_assert(isfinite(x[i]));
    }
    double mean = s / N, var = s2 / N - mean * mean;
    /* Standard errors at N = 2^20: mean 0.001, variance 0.0014, 4th moment 0.01. */
    ck_assert(fabs(mean) < 0.005);
    ck_assert(fabs(var - 1.0) < 0.007);
    ck_assert(fabs(s4 / N - 3.0) < 0.05);
    /* Any window of the sequence equals the same window drawn on its own. */
    float y[13];
    vt_rng_normal(42, 0, 1001, y, 13);
    for (int i = 0; i < 13; i++) ck_assert(y[i] == x[1001 + i]);
    /* Other seeds and streams give other numbers. */
    vt_rng_normal(43, 0, 1001, y, 13);
    ck_assert(y[0] != x[1001]);
    vt_rng_normal(42, 1, 1001, y, 13);
    ck_assert(y[0] != x[1001]);
    free(x);
}
END_TEST

START_TEST(uniform_range) {
    float u[10000];
    vt_rng_uniform(1, 2, 0, u, 10000);
    double s = 0;
    for (int i = 0; i < 10000; i++) {
        ck_assert(u[i] >= 0.0f && u[i] < 1.0f);
        s += u[i];
    }
    ck_assert(fabs(s / 10000 - 0.5) < 0.015);
}
END_TEST

/* ---- context ---- */

static char logged[256];
static void capture(void *user, vt_log_level lvl, const char *msg) {
    (void)user;
    if (lvl >= VT_LOG_WARN) strncpy(logged, msg, sizeof logged - 1);
}

START_TEST(context_errors_and_log) {
    vt_context_params p = vt_context_default_params();
    p.n_threads = 3;
    p.log = capture;
    vt_context *ctx = vt_context_create(&p);
    ck_assert_int_eq(vt_context_threads(ctx), 3);
    ck_assert_str_eq(vt_context_error(ctx), "");
    ck_assert_int_eq(vt_error(ctx, VT_E_FORMAT, "bad %s\nsecond line", "thing"), VT_E_FORMAT);
    ck_assert_str_eq(vt_context_error(ctx), "bad thing second line");
    vt_log(ctx, VT_LOG_WARN, "warned %d", 5);
    ck_assert_str_eq(logged, "warned 5");
    ck_assert_str_eq(vt_status_name(VT_E_SHAPE), "VT_E_SHAPE");
    ck_assert_ptr_nonnull(vt_context_pool(ctx));
    vt_context_destroy(&ctx);
    ck_assert_ptr_null(ctx);
    p = vt_context_default_params();
    ctx = vt_context_create(&p);
    ck_assert_int_ge(vt_context_threads(ctx), 1); /* 0 resolves to the online cores */
    vt_context_destroy(&ctx);
}
END_TEST

int main(void) {
    Suite *s = suite_create("core");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, f16_known_values);
    tcase_add_test(tc, f16_exhaustive_round_trip);
    tcase_add_test(tc, f16_nearest_rounding);
    tcase_add_test(tc, bf16_known_values);
    tcase_add_test(tc, convert_buffers);
    tcase_add_test(tc, tensor_views);
    tcase_add_test(tc, arena_alloc);
    tcase_add_test(tc, pool_every_item_once);
    tcase_add_test(tc, philox_known_answers);
    tcase_add_test(tc, normal_statistics_and_slicing);
    tcase_add_test(tc, uniform_range);
    tcase_add_test(tc, context_errors_and_log);
    suite_add_tcase(s, tc);
    return vt_check_run(s);
}
