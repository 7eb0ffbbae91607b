/* Check suite for the `vitrail` program: usage errors exit 2, runtime failures
 * exit 1 with exactly one line on stderr, and `info`/`devices` print what the
 * files and machine hold. Runs the built binary ($VITRAIL_BIN). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "context.h"
#include "safetensors.h"

static const char *bin(void) {
    const char *b = getenv("VITRAIL_BIN");
    return b ? b : "./vitrail";
}

static char tmpdir[256];

/* Runs `vitrail ARGS`; captures stdout and stderr; returns the exit code. */
static int run(const char *args, char *out, size_t outcap, char *err, size_t errcap) {
    char cmd[2048], of[300], ef[300];
    snprintf(of, sizeof of, "%s/out.txt", tmpdir);
    snprintf(ef, sizeof ef, "%s/err.txt", tmpdir);
    snprintf(cmd, sizeof cmd, "%s %s >%s 2>%s", bin(), args, of, ef);
    int st = system(cmd);
    const char *files[2] = {of, ef};
    char *bufs[2] = {out, err};
    size_t caps[2] = {outcap, errcap};
    for (int i = 0; i < 2; i++) {
        FILE *f = fopen(files[i], "rb");
        size_t n = f ? fread(bufs[i], 1, caps[i] - 1, f) : 0;
        bufs[i][n] = 0;
        if (f) fclose(f);
    }
    ck_assert(WIFEXITED(st));
    return WEXITSTATUS(st);
}

static int count_lines(const char *s) {
    int n = 0;
    for (; *s; s++) n += *s == '\n';
    return n;
}

static void write_file(const char *name, const void *data, size_t n, char *path, size_t cap) {
    snprintf(path, cap, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, n, f), n);
    fclose(f);
}

static char out[65536], err[65536];

static void setup(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/vt-test-cli-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown(void) {
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    ck_assert_int_eq(system(cmd), 0);
}

START_TEST(help_everywhere) {
    ck_assert_int_eq(run("--help", out, sizeof out, err, sizeof err), 0);
    ck_assert_ptr_nonnull(strstr(out, "usage: vitrail"));
    const char *cmds[] = {"version", "devices", "info"};
    for (int i = 0; i < 3; i++) {
        char a[64];
        snprintf(a, sizeof a, "%s --help", cmds[i]);
        ck_assert_int_eq(run(a, out, sizeof out, err, sizeof err), 0);
        ck_assert_ptr_nonnull(strstr(out, "usage: vitrail"));
        ck_assert_ptr_nonnull(strstr(out, cmds[i]));
    }
}
END_TEST

START_TEST(usage_errors_exit_2) {
    const char *bad[] = {"", "frobnicate", "--bogus version", "--threads", "--threads 0 version",
                         "--threads x version", "info", "info a b", "info --bogus", "version extra",
                         "devices extra"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = run(bad[i], out, sizeof out, err, sizeof err);
        ck_assert_msg(rc == 2, "'%s' exited %d", bad[i], rc);
        if (bad[i][0]) ck_assert_msg(count_lines(err) == 1, "'%s' stderr: %s", bad[i], err);
    }
}
END_TEST

START_TEST(version_and_devices) {
    ck_assert_int_eq(run("version", out, sizeof out, err, sizeof err), 0);
    ck_assert_ptr_nonnull(strstr(out, "vitrail 0."));
    ck_assert_int_eq(run("--threads 2 devices", out, sizeof out, err, sizeof err), 0);
    ck_assert_ptr_nonnull(strstr(out, "cpu "));
    ck_assert_ptr_nonnull(strstr(out, "2 threads"));
    /* With Vulkan built in and lavapipe installed (as CI installs it), the CPU
     * driver must be listed: a missing device is a failure, not a skip. */
    if (vt_has_vulkan()) ck_assert_msg(strstr(out, "vulkan:0") != NULL, "no Vulkan device listed:\n%s", out);
}
END_TEST

/* Malformed model files: exit 1 (not a crash, so < 128) and one stderr line. */
START_TEST(info_refuses_bad_files) {
    char path[300], args[400];
    struct { const char *name; const char *data; size_t n; const char *word; } cases[] = {
        {"garbage.safetensors", "this is not a model file at all, just text\n", 43, "header length"},
        {"huge.safetensors", "\x00\x00\x00\x00\x00\x00\x00\x80{}", 10, "header length"},
        {"short.safetensors", "\x10\x00\x00", 3, "truncated"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_file(cases[i].name, cases[i].data, cases[i].n, path, sizeof path);
        snprintf(args, sizeof args, "info '%s'", path);
        int rc = run(args, out, sizeof out, err, sizeof err);
        ck_assert_msg(rc == 1, "%s: exit %d", cases[i].name, rc);
        ck_assert_msg(count_lines(err) == 1, "%s: stderr %s", cases[i].name, err);
        ck_assert_msg(strstr(err, cases[i].word) != NULL, "%s: stderr %s", cases[i].name, err);
        ck_assert_ptr_nonnull(strstr(err, cases[i].name));
    }
    /* A truncated copy of a valid model: the data section is cut short. */
    vt_context *ctx = vt_context_create(NULL);
    vt_st_writer *w = vt_st_writer_create();
    float v[64];
    for (int i = 0; i < 64; i++) v[i] = (float)i;
    int64_t shape[2] = {8, 8};
    ck_assert_int_eq(vt_st_writer_add_f32(ctx, w, "w", VT_DTYPE_F32, 2, shape, v), 0);
    snprintf(path, sizeof path, "%s/full.safetensors", tmpdir);
    ck_assert_int_eq(vt_st_writer_save(ctx, w, path), 0);
    vt_st_writer_destroy(&w);
    vt_context_destroy(&ctx);
    char cmd[800];
    snprintf(cmd, sizeof cmd, "head -c 100 '%s' > '%s/cut.safetensors'", path, tmpdir);
    ck_assert_int_eq(system(cmd), 0);
    snprintf(args, sizeof args, "info '%s/cut.safetensors'", tmpdir);
    ck_assert_int_eq(run(args, out, sizeof out, err, sizeof err), 1);
    ck_assert_int_eq(count_lines(err), 1);
    snprintf(args, sizeof args, "info '%s/does-not-exist.safetensors'", tmpdir);
    ck_assert_int_eq(run(args, out, sizeof out, err, sizeof err), 1);
    ck_assert_int_eq(count_lines(err), 1);
    ck_assert_ptr_nonnull(strstr(err, "does-not-exist"));
}
END_TEST

START_TEST(info_prints_model) {
    vt_context *ctx = vt_context_create(NULL);
    vt_st_writer *w = vt_st_writer_create();
    float v[6] = {1, 2, 3, 4, 5, 6};
    int64_t s1[2] = {2, 3}, s2[1] = {6};
    ck_assert_int_eq(vt_st_writer_add_f32(ctx, w, "blocks.0.attn.qkv.weight", VT_DTYPE_F16, 2, s1, v), 0);
    ck_assert_int_eq(vt_st_writer_add_f32(ctx, w, "pos_embed", VT_DTYPE_BF16, 1, s2, v), 0);
    ck_assert_int_eq(vt_st_writer_add_meta(ctx, w, "config", "{\"arch\":\"dit\",\"depth\":1}"), 0);
    ck_assert_int_eq(vt_st_writer_add_meta(ctx, w, "trained_on", "nothing"), 0);
    char path[300], args[400];
    snprintf(path, sizeof path, "%s/m.safetensors", tmpdir);
    ck_assert_int_eq(vt_st_writer_save(ctx, w, path), 0);
    vt_st_writer_destroy(&w);
    vt_context_destroy(&ctx);
    snprintf(args, sizeof args, "info '%s'", path);
    ck_assert_int_eq(run(args, out, sizeof out, err, sizeof err), 0);
    ck_assert_ptr_nonnull(strstr(out, "{\"arch\":\"dit\",\"depth\":1}"));
    ck_assert_ptr_nonnull(strstr(out, "trained_on: nothing"));
    ck_assert_ptr_nonnull(strstr(out, "blocks.0.attn.qkv.weight"));
    ck_assert_ptr_nonnull(strstr(out, "F16   (2, 3)"));
    ck_assert_ptr_nonnull(strstr(out, "BF16  (6)"));
    ck_assert_ptr_nonnull(strstr(out, "tensors: 2, parameters: 12"));
}
END_TEST

int main(void) {
    Suite *s = suite_create("cli");
    TCase *tc = tcase_create("cli");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, help_everywhere);
    tcase_add_test(tc, usage_errors_exit_2);
    tcase_add_test(tc, version_and_devices);
    tcase_add_test(tc, info_refuses_bad_files);
    tcase_add_test(tc, info_prints_model);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
