/* A strict RFC 8259 JSON parser with bounded depth, used for safetensors headers
 * and model configs; and a growable string buffer to write JSON. */
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

#define MAX_DEPTH 64

typedef struct parser {
    const char *s;
    size_t n, i;
    char *err;
    size_t errcap;
    int failed;
    /* The "C" locale for strtod_l: a caller's setlocale(LC_NUMERIC, "de_DE")
     * must not turn "1.5" into 1. Created on the first non-integer number. */
    locale_t c_locale;
} parser;

static void fail(parser *p, const char *what) {
    if (!p->failed && p->err && p->errcap) snprintf(p->err, p->errcap, "%s at byte %zu", what, p->i);
    p->failed = 1;
}

static void skip_ws(parser *p) {
    while (p->i < p->n && (p->s[p->i] == ' ' || p->s[p->i] == '\t' || p->s[p->i] == '\n' || p->s[p->i] == '\r')) p->i++;
}

static void free_value(vt_json *v) {
    if (v->type == VT_JSON_STRING) free(v->str);
    if (v->type == VT_JSON_ARRAY || v->type == VT_JSON_OBJECT) {
        for (size_t k = 0; k < v->len; k++) {
            free_value(&v->items[k]);
            if (v->keys) free(v->keys[k]);
        }
        free(v->items);
        free(v->keys);
    }
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static int read_hex4(parser *p, unsigned *out) {
    if (p->n - p->i < 4) return -1;
    unsigned v = 0;
    for (int k = 0; k < 4; k++) {
        int h = hexval(p->s[p->i + k]);
        if (h < 0) return -1;
        v = v * 16 + (unsigned)h;
    }
    p->i += 4;
    *out = v;
    return 0;
}

static size_t put_utf8(char *o, unsigned cp) {
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xc0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xe0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    o[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* Parses a string at p->s[p->i] == '"'. The unescaped text is never longer than
 * the escaped one, so one allocation of the raw length suffices. */
static char *parse_string(parser *p, size_t *len) {
    p->i++; /* opening quote */
    size_t start = p->i, end = start;
    while (end < p->n && p->s[end] != '"') {
        if (p->s[end] == '\\') end++;
        end++;
    }
    if (end >= p->n) {
        fail(p, "unterminated string");
        return NULL;
    }
    char *out = malloc(end - start + 1);
    if (!out) {
        fail(p, "out of memory");
        return NULL;
    }
    size_t o = 0;
    while (p->i < end) {
        unsigned char c = (unsigned char)p->s[p->i];
        if (c < 0x20) {
            fail(p, "control character in string");
            goto bad;
        }
        if (c != '\\') {
            out[o++] = (char)c;
            p->i++;
            continue;
        }
        p->i++;
        char e = p->s[p->i++];
        switch (e) {
        case '"': out[o++] = '"'; break;
        case '\\': out[o++] = '\\'; break;
        case '/': out[o++] = '/'; break;
        case 'b': out[o++] = '\b'; break;
        case 'f': out[o++] = '\f'; break;
        case 'n': out[o++] = '\n'; break;
        case 'r': out[o++] = '\r'; break;
        case 't': out[o++] = '\t'; break;
        case 'u': {
            unsigned cp, lo;
            if (read_hex4(p, &cp)) {
                fail(p, "invalid \\u escape");
                goto bad;
            }
            if (cp >= 0xd800 && cp <= 0xdbff) {
                /* a high surrogate must be followed by an escaped low surrogate */
                if (p->i + 1 < end && p->s[p->i] == '\\' && p->s[p->i + 1] == 'u') {
                    p->i += 2;
                    if (read_hex4(p, &lo) || lo < 0xdc00 || lo > 0xdfff) {
                        fail(p, "invalid surrogate pair");
                        goto bad;
                    }
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                } else {
                    fail(p, "lone high surrogate");
                    goto bad;
                }
            } else if (cp >= 0xdc00 && cp <= 0xdfff) {
                fail(p, "lone low surrogate");
                goto bad;
            }
            /* \uXXXX is 6 bytes, its UTF-8 at most 3 (4 for a 12-byte pair): fits. */
            o += put_utf8(out + o, cp);
            break;
        }
        default: fail(p, "invalid escape"); goto bad;
        }
    }
    p->i = end + 1;
    out[o] = 0;
    *len = o;
    return out;
bad:
    free(out);
    return NULL;
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }

static void parse_number(parser *p, vt_json *v) {
    size_t st = p->i;
    int is_int = 1;
    if (p->i < p->n && p->s[p->i] == '-') p->i++;
    if (p->i >= p->n || !is_digit(p->s[p->i])) {
        fail(p, "invalid number");
        return;
    }
    if (p->s[p->i] == '0') {
        p->i++;
        if (p->i < p->n && is_digit(p->s[p->i])) {
            fail(p, "leading zero in number");
            return;
        }
    } else {
        while (p->i < p->n && is_digit(p->s[p->i])) p->i++;
    }
    if (p->i < p->n && p->s[p->i] == '.') {
        is_int = 0;
        p->i++;
        if (p->i >= p->n || !is_digit(p->s[p->i])) {
            fail(p, "invalid fraction");
            return;
        }
        while (p->i < p->n && is_digit(p->s[p->i])) p->i++;
    }
    if (p->i < p->n && (p->s[p->i] == 'e' || p->s[p->i] == 'E')) {
        is_int = 0;
        p->i++;
        if (p->i < p->n && (p->s[p->i] == '+' || p->s[p->i] == '-')) p->i++;
        if (p->i >= p->n || !is_digit(p->s[p->i])) {
            fail(p, "invalid exponent");
            return;
        }
        while (p->i < p->n && is_digit(p->s[p->i])) p->i++;
    }
    size_t len = p->i - st;
    if (is_int && len <= 20) {
        /* Exact int64 with overflow detection; 20 chars hold "-9223372036854775808". */
        int neg = p->s[st] == '-';
        unsigned long long acc = 0, lim = neg ? 9223372036854775808ull : 9223372036854775807ull;
        for (size_t k = st + (size_t)neg; k < p->i; k++) {
            unsigned d = (unsigned)(p->s[k] - '0');
            if (acc > (lim - d) / 10) {
                is_int = 0;
                break;
            }
            acc = acc * 10 + d;
        }
        if (is_int) {
            v->integer = neg ? (int64_t)(0 - acc) : (int64_t)acc;
            v->number = neg && !acc ? -0.0 : (double)v->integer; /* keep "-0" a negative zero */
        }
    } else {
        is_int = 0;
    }
    if (!is_int) {
        if (!p->c_locale && !(p->c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0))) {
            fail(p, "out of memory");
            return;
        }
        /* strtod needs a terminated copy; the text is at most the input's size. */
        char buf[64], *tmp = len < sizeof buf ? buf : malloc(len + 1);
        if (!tmp) {
            fail(p, "out of memory");
            return;
        }
        memcpy(tmp, p->s + st, len);
        tmp[len] = 0;
        v->number = strtod_l(tmp, NULL, p->c_locale);
        if (tmp != buf) free(tmp);
        if (isinf(v->number)) {
            /* An infinity would flow silently into sizes and scales downstream. */
            p->i = st;
            fail(p, "number out of range");
            return;
        }
    }
    v->type = VT_JSON_NUMBER;
    v->is_int = is_int;
}

static int literal(parser *p, const char *word) {
    size_t l = strlen(word);
    if (p->n - p->i >= l && memcmp(p->s + p->i, word, l) == 0) {
        p->i += l;
        return 1;
    }
    return 0;
}

static void parse_value(parser *p, vt_json *v, int depth);

/* Appends a child to an array/object being built; capacity doubles. */
static vt_json *push(parser *p, vt_json *v, size_t *cap, char *key) {
    if (v->len == *cap) {
        size_t nc = *cap ? *cap * 2 : 4;
        vt_json *items = realloc(v->items, nc * sizeof *items);
        if (!items) goto oom;
        v->items = items;
        if (v->type == VT_JSON_OBJECT) {
            char **keys = realloc(v->keys, nc * sizeof *keys);
            if (!keys) goto oom;
            v->keys = keys;
        }
        *cap = nc;
    }
    memset(&v->items[v->len], 0, sizeof v->items[0]);
    if (v->type == VT_JSON_OBJECT) v->keys[v->len] = key;
    return &v->items[v->len++];
oom:
    free(key);
    fail(p, "out of memory");
    return NULL;
}

static void parse_container(parser *p, vt_json *v, int depth, int object) {
    v->type = object ? VT_JSON_OBJECT : VT_JSON_ARRAY;
    size_t cap = 0;
    p->i++;
    skip_ws(p);
    if (p->i < p->n && p->s[p->i] == (object ? '}' : ']')) {
        p->i++;
        return;
    }
    for (;;) {
        char *key = NULL;
        if (object) {
            skip_ws(p);
            if (p->i >= p->n || p->s[p->i] != '"') {
                fail(p, "expected a string key");
                return;
            }
            size_t kl;
            key = parse_string(p, &kl);
            if (!key) return;
            skip_ws(p);
            if (p->i >= p->n || p->s[p->i] != ':') {
                free(key);
                fail(p, "expected ':'");
                return;
            }
            p->i++;
        }
        vt_json *child = push(p, v, &cap, key);
        if (!child) return;
        parse_value(p, child, depth + 1);
        if (p->failed) return;
        skip_ws(p);
        if (p->i < p->n && p->s[p->i] == ',') {
            p->i++;
            continue;
        }
        if (p->i < p->n && p->s[p->i] == (object ? '}' : ']')) {
            p->i++;
            return;
        }
        fail(p, object ? "expected ',' or '}'" : "expected ',' or ']'");
        return;
    }
}

static void parse_value(parser *p, vt_json *v, int depth) {
    skip_ws(p);
    if (p->i >= p->n) {
        fail(p, "unexpected end of input");
        return;
    }
    char c = p->s[p->i];
    if (c == '{' || c == '[') {
        /* depth counts the containers around this one: at most MAX_DEPTH in all,
         * which also bounds the recursion. */
        if (depth >= MAX_DEPTH) {
            fail(p, "nesting deeper than 64");
            return;
        }
        parse_container(p, v, depth, c == '{');
    } else if (c == '"') {
        v->type = VT_JSON_STRING;
        v->str = parse_string(p, &v->len);
        if (!v->str) v->type = VT_JSON_NULL;
    } else if (c == '-' || is_digit(c)) {
        parse_number(p, v);
    } else if (literal(p, "true")) {
        v->type = VT_JSON_BOOL;
        v->boolean = 1;
    } else if (literal(p, "false")) {
        v->type = VT_JSON_BOOL;
    } else if (literal(p, "null")) {
        v->type = VT_JSON_NULL;
    } else {
        fail(p, "unexpected character");
    }
}

vt_json *vt_json_parse(const char *text, size_t len, char *err, size_t errcap) {
    parser p = {text, len, 0, err, errcap, 0, (locale_t)0};
    vt_json *v = calloc(1, sizeof *v);
    if (!v) {
        if (err && errcap) snprintf(err, errcap, "out of memory");
        return NULL;
    }
    parse_value(&p, v, 0);
    if (!p.failed) {
        skip_ws(&p);
        if (p.i != p.n) fail(&p, "trailing characters after the value");
    }
    if (p.c_locale) freelocale(p.c_locale);
    if (p.failed) {
        vt_json_free(v);
        return NULL;
    }
    return v;
}

void vt_json_free(vt_json *v) {
    if (!v) return;
    free_value(v);
    free(v);
}

const vt_json *vt_json_get(const vt_json *obj, const char *key) {
    if (!obj || obj->type != VT_JSON_OBJECT) return NULL;
    for (size_t k = 0; k < obj->len; k++)
        if (strcmp(obj->keys[k], key) == 0) return &obj->items[k];
    return NULL;
}

int64_t vt_json_get_int(const vt_json *obj, const char *key, int64_t dflt) {
    const vt_json *v = vt_json_get(obj, key);
    return v && v->type == VT_JSON_NUMBER && v->is_int ? v->integer : dflt;
}

double vt_json_get_num(const vt_json *obj, const char *key, double dflt) {
    const vt_json *v = vt_json_get(obj, key);
    return v && v->type == VT_JSON_NUMBER ? v->number : dflt;
}

const char *vt_json_get_str(const vt_json *obj, const char *key, const char *dflt) {
    const vt_json *v = vt_json_get(obj, key);
    return v && v->type == VT_JSON_STRING ? v->str : dflt;
}

void vt_strbuf_add(vt_strbuf *b, const char *s, size_t n) {
    if (b->oom) return;
    if (b->len + n + 1 > b->cap) {
        size_t nc = b->cap ? b->cap : 256;
        while (nc < b->len + n + 1) nc *= 2;
        char *ns = realloc(b->s, nc);
        if (!ns) {
            b->oom = 1;
            return;
        }
        b->s = ns;
        b->cap = nc;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = 0;
}

void vt_strbuf_printf(vt_strbuf *b, const char *fmt, ...) {
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n < sizeof tmp) {
        vt_strbuf_add(b, tmp, (size_t)n);
        return;
    }
    char *big = malloc((size_t)n + 1);
    if (!big) {
        b->oom = 1;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    vt_strbuf_add(b, big, (size_t)n);
    free(big);
}

void vt_strbuf_json_str(vt_strbuf *b, const char *s) {
    vt_strbuf_add(b, "\"", 1);
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (*c == '"' || *c == '\\') {
            char e[2] = {'\\', (char)*c};
            vt_strbuf_add(b, e, 2);
        } else if (*c < 0x20) {
            vt_strbuf_printf(b, "\\u%04x", *c);
        } else {
            vt_strbuf_add(b, (const char *)c, 1);
        }
    }
    vt_strbuf_add(b, "\"", 1);
}

void vt_strbuf_free(vt_strbuf *b) {
    free(b->s);
    memset(b, 0, sizeof *b);
}
