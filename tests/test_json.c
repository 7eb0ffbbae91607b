/* Check suite for the JSON parser: every value type, escapes and surrogate
 * pairs, int64 edges, and a list of invalid documents refused with a reason. */
#include <check.h>
#include <locale.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vt_check.h"
#include "json.h"

static vt_json *parse(const char *s) {
    char err[128];
    return vt_json_parse(s, strlen(s), err, sizeof err);
}

START_TEST(values) {
    vt_json *v = parse(" {\"a\": [1, -2.5e3, true, false, null, \"x\"], \"b\": {\"c\": {}}, \"d\": []} ");
    ck_assert_ptr_nonnull(v);
    ck_assert_int_eq(v->type, VT_JSON_OBJECT);
    ck_assert_uint_eq(v->len, 3);
    const vt_json *a = vt_json_get(v, "a");
    ck_assert_int_eq(a->type, VT_JSON_ARRAY);
    ck_assert_uint_eq(a->len, 6);
    ck_assert(a->items[0].is_int && a->items[0].integer == 1);
    ck_assert(!a->items[1].is_int && a->items[1].number == -2500.0);
    ck_assert(a->items[2].type == VT_JSON_BOOL && a->items[2].boolean);
    ck_assert(a->items[3].type == VT_JSON_BOOL && !a->items[3].boolean);
    ck_assert_int_eq(a->items[4].type, VT_JSON_NULL);
    ck_assert_str_eq(a->items[5].str, "x");
    ck_assert_int_eq(vt_json_get(vt_json_get(v, "b"), "c")->type, VT_JSON_OBJECT);
    ck_assert_uint_eq(vt_json_get(v, "d")->len, 0);
    ck_assert_ptr_null(vt_json_get(v, "zz"));
    ck_assert_int_eq(vt_json_get_int(v, "zz", 42), 42);
    ck_assert_str_eq(v->keys[1], "b"); /* file order kept */
    vt_json_free(v);
}
END_TEST

START_TEST(strings_and_escapes) {
    vt_json *v = parse("\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\\u0041\\u00e9\\u20ac\\ud83d\\ude00\"");
    ck_assert_ptr_nonnull(v);
    const char want[] = "a\"b\\c/d\b\f\n\r\tA\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80";
    ck_assert_uint_eq(v->len, sizeof want - 1);
    ck_assert_int_eq(memcmp(v->str, want, sizeof want - 1), 0);
    vt_json_free(v);
    /* raw UTF-8 passes through as bytes */
    v = parse("\"caf\xc3\xa9\"");
    ck_assert_str_eq(v->str, "caf\xc3\xa9");
    vt_json_free(v);
    /* an escaped NUL stays in the string and its length */
    v = parse("\"a\\u0000b\"");
    ck_assert_uint_eq(v->len, 3);
    vt_json_free(v);
}
END_TEST

START_TEST(numbers) {
    struct { const char *s; int is_int; int64_t i; double d; } ok[] = {
        {"0", 1, 0, 0}, {"-0", 1, 0, 0}, {"9223372036854775807", 1, INT64_MAX, 0},
        {"-9223372036854775808", 1, INT64_MIN, 0}, {"9223372036854775808", 0, 0, 9223372036854775808.0},
        {"-9223372036854775809", 0, 0, -9223372036854775808.0}, {"1.5", 0, 0, 1.5}, {"1e2", 0, 0, 100},
        {"1E-2", 0, 0, 0.01}, {"-12.25e+1", 0, 0, -122.5}, {"0.0", 0, 0, 0}, {"-0.5E0", 0, 0, -0.5},
        {"1e-400", 0, 0, 0}, /* underflow is only a loss of precision */
        {"123456789012345678901234567890", 0, 0, 123456789012345678901234567890.0},
        {"0.00000000000000000000000000000000000000000000000000000000000000000000000000000125", 0, 0, 1.25e-78},
    };
    vt_json *z = parse("-0");
    ck_assert(z->number == 0 && signbit(z->number));
    vt_json_free(z);
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        vt_json *v = parse(ok[i].s);
        ck_assert_msg(v != NULL, "%s", ok[i].s);
        ck_assert_int_eq(v->type, VT_JSON_NUMBER);
        ck_assert_int_eq(v->is_int, ok[i].is_int);
        if (ok[i].is_int) ck_assert(v->integer == ok[i].i && v->number == (double)ok[i].i);
        else ck_assert(v->number == ok[i].d);
        vt_json_free(v);
    }
}
END_TEST

/* Numbers are read in the "C" locale whatever the caller's LC_NUMERIC says. */
START_TEST(numbers_ignore_locale) {
    const char *comma[] = {"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "ru_RU.UTF-8"};
    const char *got = NULL;
    for (size_t i = 0; i < sizeof comma / sizeof comma[0] && !got; i++) got = setlocale(LC_NUMERIC, comma[i]);
    vt_json *v = parse("[2.5, 1e3]");
    ck_assert_ptr_nonnull(v);
    ck_assert(v->items[0].number == 2.5 && v->items[1].number == 1000.0);
    vt_json_free(v);
    setlocale(LC_NUMERIC, "C");
}
END_TEST

START_TEST(duplicates_depth_whitespace) {
    /* duplicate keys are kept in order; the first wins for lookups */
    vt_json *v = parse("{\"a\":1,\"a\":2,\"\":3}");
    ck_assert_uint_eq(v->len, 3);
    ck_assert_int_eq(vt_json_get_int(v, "a", 0), 1);
    ck_assert_int_eq(v->items[1].integer, 2);
    ck_assert_int_eq(vt_json_get_int(v, "", 0), 3);
    ck_assert(vt_json_get_num(v, "a", 0) == 1.0);
    ck_assert_str_eq(vt_json_get_str(v, "a", "dflt"), "dflt"); /* mistyped: the default */
    vt_json_free(v);
    /* exactly 64 nested containers are accepted, 65 are not */
    char deep[200];
    for (int n = 64; n <= 65; n++) {
        memset(deep, '[', (size_t)n);
        memset(deep + n, ']', (size_t)n);
        char err[128] = "";
        v = vt_json_parse(deep, 2 * (size_t)n, err, sizeof err);
        if (n == 64) {
            ck_assert_msg(v != NULL, "%s", err);
            vt_json_free(v);
        } else {
            ck_assert_ptr_null(v);
            ck_assert_ptr_nonnull(strstr(err, "nesting"));
        }
    }
    v = parse("{\"a\":{\"b\":{\"c\":[[{\"d\":[]}]]}}}");
    ck_assert_ptr_nonnull(v);
    const vt_json *c = vt_json_get(vt_json_get(vt_json_get(v, "a"), "b"), "c");
    ck_assert_int_eq(c->items[0].items[0].type, VT_JSON_OBJECT);
    vt_json_free(v);
    /* the four JSON whitespace bytes, and nothing else */
    v = parse(" \t\r\n[ 1 ,\n2\t]\r\n ");
    ck_assert_uint_eq(v->len, 2);
    vt_json_free(v);
    ck_assert_ptr_null(parse("\f1"));
    ck_assert_ptr_null(parse("\v1"));
    ck_assert_ptr_null(parse("\xc2\xa0" "1")); /* no-break space */
    /* bytes that are not UTF-8 pass through a string untouched; DEL is not a control */
    v = parse("\"\xff\xfe\x80\x7f\"");
    ck_assert_uint_eq(v->len, 4);
    ck_assert_int_eq(memcmp(v->str, "\xff\xfe\x80\x7f", 4), 0);
    vt_json_free(v);
    /* \u escapes at the edges of each UTF-8 length, and the last code point */
    v = parse("\"\\u007f\\u0080\\u07ff\\u0800\\uffff\\udbff\\udfff\"");
    const char want[] = "\x7f\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf\xf4\x8f\xbf\xbf";
    ck_assert_uint_eq(v->len, sizeof want - 1);
    ck_assert_int_eq(memcmp(v->str, want, sizeof want - 1), 0);
    vt_json_free(v);
}
END_TEST

START_TEST(invalid_documents) {
    const char *bad[] = {
        "", " ", "{", "}", "[1,]", "[1 2]", "{\"a\" 1}", "{\"a\":}", "{a:1}", "{\"a\":1,}", "01", "1.", ".5", "+1",
        "1e", "--1", "NaN", "Infinity", "tru", "nul", "\"abc", "\"a\\x\"", "\"\\u12\"", "\"\\ud800\"", "\"\\udc00x\"",
        "\"\\ud800\\u0041\"", "\"tab\there\"", "[1] 2", "{} x", "[\"a\"\n", "'a'",
        "\"\x1f\"", "\"a\nb\"", "[-]", "-a", "1.e5", "1e+", "0x10", "00", "-01", "1.5.", "[1,,2]", "[,1]",
        "{,}", "{\"a\":1 \"b\":2}", "{\"a\"}", "{1:2}", "{\"a\":1]", "[1}", "True", "nulll", "\"\\U0041\"",
        "\"\\u00g1\"", "\"\\ud800\\\"", "\"\\udc00\\ud800\"", "\"\\\"", "1e400", "-1e400", "[1e999]",
        "/* c */ 1", "[1] // c", "\xef\xbb\xbf{}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char err[128] = "";
        vt_json *v = vt_json_parse(bad[i], strlen(bad[i]), err, sizeof err);
        ck_assert_msg(v == NULL, "accepted: %s", bad[i]);
        ck_assert_msg(strstr(err, "at byte") != NULL, "no position in '%s' for %s", err, bad[i]);
    }
    /* nesting deeper than the limit is refused, not a stack overflow */
    char deep[400];
    memset(deep, '[', 200);
    memset(deep + 200, ']', 200);
    char err[128];
    ck_assert_ptr_null(vt_json_parse(deep, 400, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "nesting"));
    /* a length that stops inside the text: the parser reads no further */
    ck_assert_ptr_null(vt_json_parse("[1, 2]", 4, err, sizeof err));
    /* an embedded NUL byte is not the end of the text */
    ck_assert_ptr_null(vt_json_parse("[1]\0", 4, err, sizeof err));
    /* the offset named is the offending byte's, the message one line */
    ck_assert_ptr_null(vt_json_parse("[1,]", 4, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "at byte 3"));
    ck_assert_ptr_null(strchr(err, '\n'));
    ck_assert_ptr_null(vt_json_parse("{\"a\":1e400}", 12, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "out of range at byte 5"));
    /* a too-small or absent error buffer is not overrun */
    char tiny[4] = "xyz";
    ck_assert_ptr_null(vt_json_parse("[", 1, tiny, 3));
    ck_assert_int_eq(tiny[2], 0);
    ck_assert_ptr_null(vt_json_parse("[", 1, NULL, 0));
    ck_assert_ptr_null(vt_json_parse(NULL, 0, err, sizeof err));
}
END_TEST

START_TEST(writer) {
    vt_strbuf b = {0};
    vt_strbuf_add(&b, "{", 1);
    vt_strbuf_json_str(&b, "k\"\\\n\x01");
    vt_strbuf_printf(&b, ":%d}", 7);
    ck_assert_str_eq(b.s, "{\"k\\\"\\\\\\u000a\\u0001\":7}");
    vt_json *v = vt_json_parse(b.s, b.len, NULL, 0);
    ck_assert_ptr_nonnull(v);
    ck_assert_str_eq(v->keys[0], "k\"\\\n\x01"); /* round trip */
    vt_json_free(v);
    vt_strbuf_free(&b);
}
END_TEST

int main(void) {
    Suite *s = suite_create("json");
    TCase *tc = tcase_create("json");
    tcase_add_test(tc, values);
    tcase_add_test(tc, strings_and_escapes);
    tcase_add_test(tc, numbers);
    tcase_add_test(tc, numbers_ignore_locale);
    tcase_add_test(tc, duplicates_depth_whitespace);
    tcase_add_test(tc, invalid_documents);
    tcase_add_test(tc, writer);
    suite_add_tcase(s, tc);
    return vt_check_run(s);
}
