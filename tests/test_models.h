/* The test model with every component, built by tools/testmodel into the build
 * (meson passes its path in VT_TEST_MODEL). */
#ifndef VT_TESTS_MODELS_H
#define VT_TESTS_MODELS_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>

static inline void vt_test_full_model(char *path, size_t cap) {
    const char *p = getenv("VT_TEST_MODEL");
    ck_assert_msg(p != NULL, "VT_TEST_MODEL is not set (run the suites through meson test)");
    snprintf(path, cap, "%s", p);
}

#endif
