/* A small strict JSON parser (RFC 8259) for safetensors headers and model configs.
 * Our own rather than a library: the header is untrusted input, and a parser we
 * own has bounded depth, bounded allocation and is fuzzed with the reader. */
#ifndef VT_CORE_JSON_H
#define VT_CORE_JSON_H

#include <stddef.h>
#include <stdint.h>

typedef enum vt_json_type {
    VT_JSON_NULL, VT_JSON_BOOL, VT_JSON_NUMBER, VT_JSON_STRING, VT_JSON_ARRAY, VT_JSON_OBJECT
} vt_json_type;

typedef struct vt_json vt_json;
struct vt_json {
    vt_json_type type;
    int boolean;
    double number;
    int is_int;          /* the literal had no fraction or exponent and fits int64 */
    int64_t integer;     /* valid when is_int */
    char *str;           /* STRING: NUL-terminated, unescaped (may contain embedded NULs; see len) */
    size_t len;          /* STRING: byte length; ARRAY/OBJECT: number of children */
    char **keys;         /* OBJECT: keys[i] names items[i] (file order kept) */
    vt_json *items;      /* ARRAY/OBJECT children */
};

/* Parses exactly one value from text[0..len) (surrounding whitespace allowed).
 * Returns NULL on error and writes a one-line reason with the byte offset into err. */
vt_json *vt_json_parse(const char *text, size_t len, char *err, size_t errcap);
void vt_json_free(vt_json *v);

/* Object member by key, or NULL. */
const vt_json *vt_json_get(const vt_json *obj, const char *key);
/* Typed getters with a default for absent or mistyped members. */
int64_t vt_json_get_int(const vt_json *obj, const char *key, int64_t dflt);
double vt_json_get_num(const vt_json *obj, const char *key, double dflt);
const char *vt_json_get_str(const vt_json *obj, const char *key, const char *dflt);

/* Growable output buffer used to write JSON (and any text). */
typedef struct vt_strbuf { char *s; size_t len, cap; int oom; } vt_strbuf;
void vt_strbuf_add(vt_strbuf *b, const char *s, size_t n);
void vt_strbuf_printf(vt_strbuf *b, const char *fmt, ...);
/* Appends s as a quoted, escaped JSON string. */
void vt_strbuf_json_str(vt_strbuf *b, const char *s);
void vt_strbuf_free(vt_strbuf *b);

#endif
