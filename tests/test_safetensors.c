/* Check suite for the safetensors reader and writer: round trips in every dtype
 * against independently known bit patterns, and every malformed-file case the
 * reader must refuse, each built byte by byte here. */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "context.h"
#include "safetensors.h"

static vt_context *ctx;
static char dir[64];

static void setup(void) {
    ctx = vt_context_create(NULL);
    snprintf(dir, sizeof dir, "/tmp/vt-test-st-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
    vt_context_destroy(&ctx);
}

/* A file image: 8-byte length, the header text padded to 8, then `data`. */
static size_t build(unsigned char *out, const char *header, const void *data, size_t ndata) {
    size_t hl = strlen(header), padded = (hl + 7) / 8 * 8;
    for (int i = 0; i < 8; i++) out[i] = (unsigned char)((uint64_t)padded >> (8 * i));
    memcpy(out + 8, header, hl);
    memset(out + 8 + hl, ' ', padded - hl);
    if (ndata) memcpy(out + 8 + padded, data, ndata);
    return 8 + padded + ndata;
}

START_TEST(round_trip_dtypes) {
    float v[6] = {1.0f, 1.0f / 3.0f, -2.0f, 65504.0f, 0.5f, -0.0f};
    int64_t shape[2] = {2, 3};
    vt_st_writer *w = vt_st_writer_create();
    ck_assert_int_eq(vt_st_writer_add_f32(ctx, w, "f32", VT_DTYPE_F32, 2, shape, v), 0);
    ck_assert_int_eq(vt_st_writer_add_f32(ctx, w, "f16", VT_DTYPE_F16, 2, shape, v), 0);
    ck_assert_int_eq(vt_st_writer_add_f32(ctx, w, "bf16", VT_DTYPE_BF16, 2, shape, v), 0);
    int64_t s0[1] = {0};
    ck_assert_int_eq(vt_st_writer_add_f32(ctx, w, "empty", VT_DTYPE_F16, 1, s0, v), 0);
    ck_assert_int_eq(vt_st_writer_add_f32(ctx, w, "scalar", VT_DTYPE_F32, 0, NULL, v + 2), 0);
    ck_assert_int_eq(vt_st_writer_add_meta(ctx, w, "config", "{\"arch\":\"dit\",\"q\":\"a\\\"b\"}"), 0);
    ck_assert_int_eq(vt_st_writer_add_meta(ctx, w, "note", "line1\nline2 \xc3\xa9"), 0);
    /* a duplicate name is refused at add time */
    ck_assert_int_eq(vt_st_writer_add_f32(ctx, w, "f32", VT_DTYPE_F32, 2, shape, v), VT_E_INVALID);
    char path[128];
    snprintf(path, sizeof path, "%s/m.safetensors", dir);
    ck_assert_int_eq(vt_st_writer_save(ctx, w, path), 0);
    vt_st_writer_destroy(&w);
    ck_assert_ptr_null(w);

    vt_st_file *f;
    ck_assert_msg(vt_st_open(ctx, path, &f) == 0, "%s", vt_context_error(ctx));
    ck_assert_uint_eq(f->n_tensors, 5);
    ck_assert_str_eq(vt_st_meta(f, "config"), "{\"arch\":\"dit\",\"q\":\"a\\\"b\"}");
    ck_assert_str_eq(vt_st_meta(f, "note"), "line1\nline2 \xc3\xa9");
    /* raw bytes as IEEE defines them: f16 1/3 = 0x3555, 65504 = 0x7bff; bf16 1/3 = 0x3eab */
    const vt_st_tensor *t16 = vt_st_find(f, "f16"), *tb = vt_st_find(f, "bf16");
    const uint16_t *h = t16->data, *bh = tb->data;
    ck_assert_uint_eq(h[0], 0x3c00);
    ck_assert_uint_eq(h[1], 0x3555);
    ck_assert_uint_eq(h[3], 0x7bff);
    ck_assert_uint_eq(h[5], 0x8000);
    ck_assert_uint_eq(bh[1], 0x3eab);
    ck_assert_uint_eq(bh[2], 0xc000);
    ck_assert_int_eq(t16->ndim, 2);
    ck_assert_int_eq(t16->shape[1], 3);
    ck_assert_uint_eq((uintptr_t)vt_st_find(f, "f32")->data % 4, 0); /* aligned in the mapping */
    float back[6];
    ck_assert_int_eq(vt_st_read_f32(ctx, f, "f32", back, 6), 0);
    ck_assert_int_eq(memcmp(back, v, sizeof v), 0);
    ck_assert_int_eq(vt_st_read_f32(ctx, f, "f16", back, 6), 0);
    ck_assert(back[1] == 0.333251953125f && back[3] == 65504.0f);
    ck_assert_int_eq(vt_st_read_f32(ctx, f, "bf16", back, 6), 0);
    ck_assert(back[1] == 0.333984375f);
    ck_assert_int_eq(vt_st_find(f, "scalar")->ndim, 0);
    ck_assert_uint_eq(vt_st_find(f, "empty")->nbytes, 0);
    ck_assert_int_eq(vt_st_read_f32(ctx, f, "f32", back, 5), VT_E_SHAPE);
    vt_st_close(&f);
    ck_assert_ptr_null(f);
    /* nothing but the file itself is left in the folder */
    DIR *d = opendir(dir);
    struct dirent *e;
    int files = 0;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') files++;
    closedir(d);
    ck_assert_int_eq(files, 1);
}
END_TEST

/* Each malformed image must be refused with VT_E_FORMAT and a message naming the fault. */
START_TEST(malformed_files) {
    static unsigned char buf[4096];
    unsigned char data[64] = {0};
    struct { const char *header; size_t ndata; const char *word; } cases[] = {
        {"[1,2]", 0, "not an object"},
        {"{\"a\":", 0, "JSON"},
        {"{\"a\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]}}", 8, "dtype"},
        {"{\"a\":{\"dtype\":\"Q4\",\"shape\":[1],\"data_offsets\":[0,8]}}", 8, "dtype"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,16]}}", 8, "out of range"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", 8, "data_offsets"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 16, "overlap"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[2,6]}}", 8, "unaligned"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8, "byte length"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4],\"data_offsets\":[0,8]}}", 8, "byte length"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, "duplicate"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 8, "shape"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1],\"data_offsets\":[0,4]}}", 8, "dims"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", 8, "shape"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"extra\":1}}", 8, "unknown key"},
        {"{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 8, "dtype"},
        {"{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 8, "shape"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 8, "data_offsets"},
        {"{\"a\":[]}", 0, "not a JSON object"},
        {"{\"__metadata__\":{\"k\":1}}", 0, "__metadata__"},
        {"{\"__metadata__\":[]}", 0, "__metadata__"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = build(buf, cases[i].header, data, cases[i].ndata);
        vt_st_file *f = NULL;
        int rc = vt_st_parse(ctx, "case.safetensors", buf, n, &f);
        ck_assert_msg(rc == VT_E_FORMAT, "case %zu (%s) accepted", i, cases[i].header);
        ck_assert_ptr_null(f);
        const char *msg = vt_context_error(ctx);
        ck_assert_msg(strstr(msg, cases[i].word) != NULL, "case %zu: '%s' lacks '%s'", i, msg, cases[i].word);
        ck_assert_ptr_nonnull(strstr(msg, "case.safetensors"));
        ck_assert_ptr_null(strchr(msg, '\n'));
    }
}
END_TEST

START_TEST(bad_lengths) {
    unsigned char buf[64] = {0};
    vt_st_file *f = NULL;
    /* shorter than the length field */
    ck_assert_int_eq(vt_st_parse(ctx, "x", buf, 5, &f), VT_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(vt_context_error(ctx), "truncated"));
    /* 2^63 and 2^64 − 1: larger than the file, and 8 + length overflows */
    buf[7] = 0x80;
    ck_assert_int_eq(vt_st_parse(ctx, "x", buf, 64, &f), VT_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(vt_context_error(ctx), "header length"));
    memset(buf, 0xff, 8);
    ck_assert_int_eq(vt_st_parse(ctx, "x", buf, 64, &f), VT_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(vt_context_error(ctx), "header length"));
    /* length 0 */
    memset(buf, 0, 8);
    ck_assert_int_eq(vt_st_parse(ctx, "x", buf, 64, &f), VT_E_FORMAT);
    /* a valid file cut inside its data section */
    static unsigned char img[256];
    float d[4] = {1, 2, 3, 4};
    size_t n = build(img, "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", d, 16);
    ck_assert_int_eq(vt_st_parse(ctx, "x", img, n, &f), 0);
    vt_st_close(&f);
    ck_assert_int_eq(vt_st_parse(ctx, "x", img, n - 1, &f), VT_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(vt_context_error(ctx), "out of range"));
    /* cut inside the header */
    ck_assert_int_eq(vt_st_parse(ctx, "x", img, 20, &f), VT_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(vt_context_error(ctx), "header length"));
}
END_TEST

START_TEST(open_and_save_errors) {
    vt_st_file *f = NULL;
    char path[128];
    snprintf(path, sizeof path, "%s/missing.safetensors", dir);
    ck_assert_int_eq(vt_st_open(ctx, path, &f), VT_E_IO);
    ck_assert_ptr_nonnull(strstr(vt_context_error(ctx), "missing.safetensors"));
    ck_assert_int_eq(vt_st_open(ctx, dir, &f), VT_E_IO); /* a directory */
    /* an empty file is truncated, and mapping nothing does not crash */
    snprintf(path, sizeof path, "%s/empty.safetensors", dir);
    FILE *fp = fopen(path, "wb");
    fclose(fp);
    ck_assert_int_eq(vt_st_open(ctx, path, &f), VT_E_FORMAT);
    /* saving into a folder that does not exist fails, and an existing target is untouched */
    vt_st_writer *w = vt_st_writer_create();
    float v = 1;
    int64_t s[1] = {1};
    ck_assert_int_eq(vt_st_writer_add_f32(ctx, w, "a", VT_DTYPE_F32, 1, s, &v), 0);
    snprintf(path, sizeof path, "%s/no/such/dir/m.safetensors", dir);
    ck_assert_int_eq(vt_st_writer_save(ctx, w, path), VT_E_IO);
    /* a save onto an existing file replaces it whole, by rename: the old inode
     * (held open here) keeps its bytes, so a reader never sees a half-written file */
    snprintf(path, sizeof path, "%s/keep.safetensors", dir);
    FILE *old = fopen(path, "w+b");
    fputs("precious", old);
    fflush(old);
    ck_assert_int_eq(vt_st_writer_save(ctx, w, path), 0);
    char got[16] = {0};
    rewind(old);
    ck_assert_uint_eq(fread(got, 1, 15, old), 8);
    fclose(old);
    ck_assert_str_eq(got, "precious");
    ck_assert_int_eq(vt_st_open(ctx, path, &f), 0);
    vt_st_close(&f);
    vt_st_writer_destroy(&w);
}
END_TEST

int main(void) {
    Suite *s = suite_create("safetensors");
    TCase *tc = tcase_create("safetensors");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, round_trip_dtypes);
    tcase_add_test(tc, malformed_files);
    tcase_add_test(tc, bad_lengths);
    tcase_add_test(tc, open_and_save_errors);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
