/* Check suite for the safetensors reader and writer: round trips in every dtype
 * against independently known bit patterns, and every malformed-file case the
 * reader must refuse, each built byte by byte here. */
#include <check.h>
#include <dirent.h>
#include <ftw.h>
#include <stdint.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vt_check.h"
#include "context.h"
#include "safetensors.h"

static vt_context *ctx;
static char dir[64];

static void setup(void) {
    vt_context_params p = vt_context_default_params();
    ctx = vt_context_create(&p);
    ck_assert_ptr_nonnull(ctx);
    vt_test_mkdtemp(dir, sizeof dir, "st");
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static void teardown(void) {
    ck_assert_int_eq(nftw(dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS), 0);
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
        {"{\"__metadata__\":{\"k\":{\"n\":\"v\"}}}", 0, "__metadata__"},
        {"{\"__metadata__\":{},\"__metadata__\":{}}", 0, "duplicate __metadata__"},
        {"{} x", 0, "JSON"},
        {"{\"a\":1,}", 0, "JSON"},
        {"\"str\"", 0, "not an object"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":3,\"data_offsets\":[0,4]}}", 8, "shape"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[\"1\"],\"data_offsets\":[0,4]}}", 8, "shape"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1e0],\"data_offsets\":[0,4]}}", 8, "shape"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[9223372036854775808],\"data_offsets\":[0,4]}}", 8, "shape"},
        {"{\"a\":{\"dtype\":32,\"shape\":[1],\"data_offsets\":[0,4]}}", 8, "dtype"},
        {"{\"a\":{\"dtype\":\"f32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 8, "unknown dtype 'f32'"},
        {"{\"a\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]}}", 8, "unsupported dtype 'I64'"},
        {"{\"a\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]}}", 8, "unsupported dtype 'F64'"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}", 8, "data_offsets"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 8, "data_offsets"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":{\"b\":0}}}", 8, "data_offsets"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[-4,0]}}", 8, "data_offsets"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0.0,4]}}", 8, "data_offsets"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[18446744073709551612,18446744073709551616]}}", 8, "data_offsets"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[9223372036854775800,9223372036854775804]}}", 8, "out of range"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[12,12]}}", 8, "out of range"},
        /* shape products that wrap int64 (and size_t) to the right byte count */
        {"{\"a\":{\"dtype\":\"F16\",\"shape\":[9223372036854775807,2,2],\"data_offsets\":[0,8]}}", 8, "byte length"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,1],\"data_offsets\":[0,0]}}", 8, "byte length"},
        {"{\"a\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "byte length"},
        {"{\"a\":{\"dtype\":\"F16\",\"shape\":[1],\"data_offsets\":[1,3]}}", 8, "unaligned"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"dtype\":\"F32\"}}", 8, "duplicate key 'dtype'"},
        /* an empty tensor between them must not hide the overlap of a and b */
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},\"z\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[12,16]}}", 16, "overlap"},
        /* the same range twice, and one range nested inside another */
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "overlap"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]},\"b\":{\"dtype\":\"F16\",\"shape\":[8],\"data_offsets\":[0,16]}}", 16, "overlap"},
        /* a name with a newline must not break the message over two lines */
        {"{\"a\\nb\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8, "'a?b'"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"a\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[4,8]}}", 8, "duplicate tensor name 'a'"},
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

/* Unusual but valid files the reader must accept as they are. */
START_TEST(accepted_edge_cases) {
    static unsigned char buf[512];
    uint16_t d16[8] = {0x3c00, 0x4000, 0, 0, 0, 0x4000, 0, 0};
    /* out of offset order, a hole between tensors, an empty tensor at the very end,
     * an F16 tensor at an offset aligned only to 2, and no __metadata__ at all */
    const char *h = "{\"late\":{\"dtype\":\"F16\",\"shape\":[1],\"data_offsets\":[10,12]},"
                    "\"early\":{\"shape\":[2,1],\"data_offsets\":[0,4],\"dtype\":\"BF16\"},"
                    "\"end\":{\"dtype\":\"F32\",\"shape\":[0,7],\"data_offsets\":[16,16]}}";
    size_t n = build(buf, h, d16, 16);
    vt_st_file *f = NULL;
    ck_assert_msg(vt_st_parse(ctx, "x", buf, n, &f) == 0, "%s", vt_context_error(ctx));
    ck_assert_uint_eq(f->n_tensors, 3);
    ck_assert_str_eq(f->tensors[0].name, "late"); /* header order kept */
    ck_assert_uint_eq(f->tensors[0].offset, 10);
    ck_assert_int_eq(f->tensors[1].dtype, VT_DTYPE_BF16);
    ck_assert_int_eq(f->tensors[2].shape[1], 7);
    ck_assert_uint_eq(f->n_meta, 0);
    ck_assert_ptr_null(vt_st_meta(f, "x"));
    float out[2];
    ck_assert_int_eq(vt_st_read_f32(ctx, f, "late", out, 1), 0);
    ck_assert(out[0] == 2.0f); /* 0x4000 at byte 10 */
    ck_assert_int_eq(vt_st_read_f32(ctx, f, "early", out, 2), 0);
    ck_assert(out[0] == 0.0078125f && out[1] == 2.0f); /* bf16 0x3c00 = 2^-7, 0x4000 = 2 */
    ck_assert_int_eq(vt_st_read_f32(ctx, f, "end", out, 0), 0);
    ck_assert_int_eq(vt_st_read_f32(ctx, f, "nope", out, 1), VT_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(vt_context_error(ctx), "nope"));
    vt_st_close(&f);
    /* a header not padded to 8, with surrounding whitespace, and a tensor whose
     * bytes are therefore unaligned in memory: still read correctly */
    const char *h2 = "\n { \"__metadata__\" : { } , \"v\" : {\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]} }  ";
    size_t hl = strlen(h2);
    for (int i = 0; i < 8; i++) buf[i] = (unsigned char)((uint64_t)hl >> (8 * i));
    memcpy(buf + 8, h2, hl);
    float fv[2] = {3.5f, -1.25f};
    memcpy(buf + 8 + hl, fv, 8);
    ck_assert_msg(vt_st_parse(ctx, "x", buf, 8 + hl + 8, &f) == 0, "%s", vt_context_error(ctx));
    ck_assert_int_eq(vt_st_read_f32(ctx, f, "v", out, 2), 0);
    ck_assert(out[0] == 3.5f && out[1] == -1.25f);
    vt_st_close(&f);
    /* vt_st_close and the lookups accept NULL */
    vt_st_close(&f);
    vt_st_close(NULL);
    ck_assert_ptr_null(vt_st_find(NULL, "a"));
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
    ck_assert_ptr_nonnull(strstr(vt_context_error(ctx), "header length is 0"));
    /* exactly 8 bytes: the length field and nothing else */
    buf[0] = 2;
    ck_assert_int_eq(vt_st_parse(ctx, "x", buf, 8, &f), VT_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(vt_context_error(ctx), "header length"));
    /* a header over 100 MB is refused before it is parsed, even when the file holds it
     * (calloc-ed pages are never touched, so this costs no real memory) */
    size_t big = (100u << 20) + 8;
    unsigned char *huge = calloc(1, 8 + big);
    ck_assert_ptr_nonnull(huge);
    for (int i = 0; i < 8; i++) huge[i] = (unsigned char)((uint64_t)big >> (8 * i));
    ck_assert_int_eq(vt_st_parse(ctx, "x", huge, 8 + big, &f), VT_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(vt_context_error(ctx), "100 MB"));
    free(huge);
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

/* The written bytes, read back by hand rather than by our reader: 8-byte length,
 * header padded with spaces to 8, __metadata__ first, tensors in insertion order
 * and each 8-aligned, the file ending with the last tensor. */
START_TEST(writer_layout) {
    /* f16 bit patterns from IEEE 754: 1/3 rounds to 0x3555; the min normal 2^-14
     * is 0x0400; the min subnormal 2^-24 is 0x0001; 1 + 2^-11 is a tie and rounds
     * to even (0x3c00), 1 + 3*2^-11 rounds up to 0x3c02; 65520 overflows to inf. */
    float v[7] = {1.0f / 3.0f, 0x1p-14f, 0x1p-24f, 1.0f + 0x1p-11f, 1.0f + 3 * 0x1p-11f, 65520.0f, -65504.0f};
    uint16_t want16[7] = {0x3555, 0x0400, 0x0001, 0x3c00, 0x3c02, 0x7c00, 0xfbff};
    int64_t s7[1] = {7}, s1[2] = {1, 1};
    vt_st_writer *w = vt_st_writer_create();
    ck_assert_int_eq(vt_st_writer_add_f32(ctx, w, "z_first", VT_DTYPE_F16, 1, s7, v), 0);
    ck_assert_int_eq(vt_st_writer_add_f32(ctx, w, "a_second", VT_DTYPE_F32, 2, s1, v), 0);
    ck_assert_int_eq(vt_st_writer_add_f32(ctx, w, "m_third", VT_DTYPE_BF16, 1, s7, v), 0);
    ck_assert_int_eq(vt_st_writer_add_meta(ctx, w, "k", "v"), 0);
    char path[128];
    snprintf(path, sizeof path, "%s/l.safetensors", dir);
    ck_assert_int_eq(vt_st_writer_save(ctx, w, path), 0);
    vt_st_writer_destroy(&w);

    static unsigned char img[1024];
    FILE *fp = fopen(path, "rb");
    size_t n = fread(img, 1, sizeof img, fp);
    fclose(fp);
    uint64_t hl = 0;
    for (int i = 7; i >= 0; i--) hl = hl << 8 | img[i];
    ck_assert_uint_eq(hl % 8, 0);
    ck_assert_uint_le(8 + hl, n);
    const char *h = (const char *)img + 8;
    ck_assert_int_eq(strncmp(h, "{\"__metadata__\":{\"k\":\"v\"},", 26), 0);
    char hdr[512];
    memcpy(hdr, h, hl);
    hdr[hl] = 0;
    char *z = strstr(hdr, "\"z_first\""), *a = strstr(hdr, "\"a_second\""), *m = strstr(hdr, "\"m_third\"");
    ck_assert(z && a && m && z < a && a < m);
    ck_assert_ptr_nonnull(strstr(hdr, "\"z_first\":{\"dtype\":\"F16\",\"shape\":[7],\"data_offsets\":[0,14]}"));
    ck_assert_ptr_nonnull(strstr(hdr, "\"a_second\":{\"dtype\":\"F32\",\"shape\":[1,1],\"data_offsets\":[16,20]}"));
    ck_assert_ptr_nonnull(strstr(hdr, "\"m_third\":{\"dtype\":\"BF16\",\"shape\":[7],\"data_offsets\":[24,38]}"));
    size_t end = strlen(hdr);
    while (end && hdr[end - 1] == ' ') end--;
    ck_assert_int_eq(hdr[end - 1], '}');
    ck_assert_uint_eq(n, 8 + hl + 38);
    const unsigned char *d = img + 8 + hl;
    for (int i = 0; i < 7; i++) ck_assert_uint_eq((unsigned)(d[2 * i] | d[2 * i + 1] << 8), want16[i]);
    float back;
    memcpy(&back, d + 16, 4);
    ck_assert(back == v[0]);
    /* bf16 of 1/3 is 0x3eab (0x3eaaaaab rounded to nearest) */
    ck_assert_uint_eq((unsigned)(d[24] | d[25] << 8), 0x3eab);
}
END_TEST

START_TEST(writer_refuses_bad_input) {
    vt_st_writer *w = vt_st_writer_create();
    float v[2] = {0};
    int64_t ok[1] = {2}, neg[1] = {-1}, huge[2] = {INT64_MAX, 2};
    ck_assert_int_eq(vt_st_writer_add_f32(ctx, w, "", VT_DTYPE_F32, 1, ok, v), VT_E_INVALID);
    ck_assert_int_eq(vt_st_writer_add_f32(ctx, w, "__metadata__", VT_DTYPE_F32, 1, ok, v), VT_E_INVALID);
    ck_assert_int_eq(vt_st_writer_add_f32(ctx, w, "a", VT_DTYPE_F32, 1, neg, v), VT_E_INVALID);
    ck_assert_int_eq(vt_st_writer_add_f32(ctx, w, "a", VT_DTYPE_F32, 2, huge, v), VT_E_INVALID);
    ck_assert_int_eq(vt_st_writer_add_f32(ctx, w, "a", VT_DTYPE_F32, VT_MAX_DIMS + 1, ok, v), VT_E_INVALID);
    ck_assert_int_eq(vt_st_writer_add_f32(ctx, w, "a", (vt_dtype)7, 1, ok, v), VT_E_INVALID);
    ck_assert_int_eq(vt_st_writer_add_f32(ctx, w, "a", VT_DTYPE_F32, 1, ok, NULL), VT_E_INVALID);
    ck_assert_int_eq(vt_st_writer_add_meta(ctx, w, "k", NULL), VT_E_INVALID);
    vt_st_writer_destroy(&w);
    vt_st_writer_destroy(&w); /* accepts the cleared pointer */
    vt_st_writer_destroy(NULL);
}
END_TEST

static int count_entries(const char *path) {
    DIR *d = opendir(path);
    ck_assert_ptr_nonnull(d);
    struct dirent *e;
    int files = 0;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) files++;
    closedir(d);
    return files;
}

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
    ck_assert_ptr_nonnull(strstr(vt_context_error(ctx), "m.safetensors"));
    /* a rename that fails (the target is a non-empty directory) removes the
     * temporary file and leaves the target as it was */
    snprintf(path, sizeof path, "%s/target", dir);
    ck_assert_int_eq(mkdir(path, 0755), 0);
    char inner[160];
    snprintf(inner, sizeof inner, "%s/keep", path);
    fp = fopen(inner, "wb");
    fclose(fp);
    int before = count_entries(dir);
    ck_assert_int_eq(vt_st_writer_save(ctx, w, path), VT_E_IO);
    ck_assert_int_eq(count_entries(dir), before);
    ck_assert_int_eq(count_entries(path), 1);
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
    tcase_add_test(tc, accepted_edge_cases);
    tcase_add_test(tc, writer_layout);
    tcase_add_test(tc, writer_refuses_bad_input);
    tcase_add_test(tc, bad_lengths);
    tcase_add_test(tc, open_and_save_errors);
    suite_add_tcase(s, tc);
    return vt_check_run(s);
}
