/* Helpers shared by the Check suites: running a suite, and scratch folders that
 * a test makes and removes. */
#ifndef VT_TESTS_CHECK_H
#define VT_TESTS_CHECK_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>

/* Runs every test of the suite; the exit status of the suite's program. */
static inline int vt_check_run(Suite *s) {
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* Makes /tmp/vt-test-TAG-XXXXXX into buf (cap ≥ 64). */
static inline void vt_test_mkdtemp(char *buf, size_t cap, const char *tag) {
    snprintf(buf, cap, "/tmp/vt-test-%s-XXXXXX", tag);
    ck_assert_ptr_nonnull(mkdtemp(buf));
}

static inline void vt_test_rmtree(const char *dir) {
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

#endif
