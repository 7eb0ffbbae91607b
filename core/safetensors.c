/* safetensors reading (mmap, every header field validated before use) and
 * writing (temporary file, fsync, rename). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "context.h"
#include "json.h"
#include "safetensors.h"
#include "tensor.h"

/* Far above any real model's header (a 70B model's is ~1 MB), small enough that a
 * hostile length cannot make us parse or allocate gigabytes. */
#define MAX_HEADER (100u << 20)

static int dtype_from_name(const char *s, vt_dtype *dt) {
    if (!strcmp(s, "F32")) *dt = VT_DTYPE_F32;
    else if (!strcmp(s, "F16")) *dt = VT_DTYPE_F16;
    else if (!strcmp(s, "BF16")) *dt = VT_DTYPE_BF16;
    else return -1;
    return 0;
}

/* Whether a dtype we refuse is at least a real safetensors one, so that the
 * message can say "unsupported" (a valid file we cannot use) rather than
 * "unknown" (a damaged or foreign one). */
static int is_safetensors_dtype(const char *s) {
    static const char *const names[] = {"BOOL", "U8",  "I8",  "I16", "U16", "I32", "U32",     "I64",     "U64",
                                        "F64",  "C64", "F4", "F6_E2M3", "F6_E3M2", "F8_E5M2", "F8_E4M3", "F8_E8M0"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(s, names[i])) return 1;
    return 0;
}

/* Copies a name from the file into `dst` for a message: at most 64 bytes, control
 * bytes as '?', so that a hostile name can neither break the one-line message
 * nor crowd out the fault. */
static const char *shown(char *dst, size_t cap, const char *s) {
    size_t o = 0;
    for (; *s && o + 4 < cap && o < 64; s++) dst[o++] = (unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s;
    if (*s && o + 4 <= cap) {
        memcpy(dst + o, "...", 3);
        o += 3;
    }
    dst[o] = 0;
    return dst;
}

static void free_file(vt_st_file *f) {
    for (size_t i = 0; i < f->n_tensors; i++) free(f->tensors[i].name);
    for (size_t i = 0; i < f->n_meta; i++) {
        free(f->meta_keys[i]);
        free(f->meta_values[i]);
    }
    free(f->tensors);
    free(f->meta_keys);
    free(f->meta_values);
    free(f);
}

static int cmp_offset(const void *a, const void *b) {
    const vt_st_tensor *x = *(const vt_st_tensor *const *)a, *y = *(const vt_st_tensor *const *)b;
    if (x->offset != y->offset) return x->offset < y->offset ? -1 : 1;
    return x->nbytes < y->nbytes ? -1 : x->nbytes > y->nbytes;
}

static int cmp_name(const void *a, const void *b) {
    return strcmp((*(const vt_st_tensor *const *)a)->name, (*(const vt_st_tensor *const *)b)->name);
}

static int parse_tensor(vt_context *ctx, const char *what, const char *name, const vt_json *e, size_t data_size,
                        vt_st_tensor *t) {
    if (e->type != VT_JSON_OBJECT) return vt_error(ctx, VT_E_FORMAT, "%s: tensor '%s': entry is not a JSON object", what, name);
    const vt_json *dt = NULL, *shape = NULL, *offs = NULL;
    char sb[80];
    for (size_t k = 0; k < e->len; k++) {
        const vt_json **slot = !strcmp(e->keys[k], "dtype")          ? &dt
                               : !strcmp(e->keys[k], "shape")        ? &shape
                               : !strcmp(e->keys[k], "data_offsets") ? &offs
                                                                     : NULL;
        if (!slot)
            return vt_error(ctx, VT_E_FORMAT, "%s: tensor '%s': unknown key '%s'", what, name,
                            shown(sb, sizeof sb, e->keys[k]));
        /* The JSON parser keeps duplicates; here two values for one field are ambiguous. */
        if (*slot) return vt_error(ctx, VT_E_FORMAT, "%s: tensor '%s': duplicate key '%s'", what, name, e->keys[k]);
        *slot = &e->items[k];
    }
    if (!dt || dt->type != VT_JSON_STRING)
        return vt_error(ctx, VT_E_FORMAT, "%s: tensor '%s': missing or non-string dtype", what, name);
    if (dtype_from_name(dt->str, &t->dtype)) {
        if (is_safetensors_dtype(dt->str))
            return vt_error(ctx, VT_E_FORMAT, "%s: tensor '%s': unsupported dtype '%s' (only F32, F16, BF16)", what,
                            name, dt->str);
        return vt_error(ctx, VT_E_FORMAT, "%s: tensor '%s': unknown dtype '%s'", what, name,
                        shown(sb, sizeof sb, dt->str));
    }
    if (!shape || shape->type != VT_JSON_ARRAY)
        return vt_error(ctx, VT_E_FORMAT, "%s: tensor '%s': missing shape", what, name);
    if (shape->len > VT_MAX_DIMS)
        return vt_error(ctx, VT_E_FORMAT, "%s: tensor '%s': bad shape: %zu dims, at most %d supported", what, name,
                        shape->len, VT_MAX_DIMS);
    t->ndim = (int)shape->len;
    size_t numel = 1;
    int overflow = 0;
    for (size_t d = 0; d < shape->len; d++) {
        const vt_json *s = &shape->items[d];
        if (s->type != VT_JSON_NUMBER || !s->is_int || s->integer < 0)
            return vt_error(ctx, VT_E_FORMAT, "%s: tensor '%s': bad shape: dim %zu is not a non-negative integer", what,
                            name, d);
        t->shape[d] = s->integer;
        if (s->integer && numel > SIZE_MAX / (size_t)s->integer) overflow = 1;
        else numel *= (size_t)s->integer;
    }
    size_t es = vt_dtype_size(t->dtype);
    if (numel > SIZE_MAX / es) overflow = 1;
    if (!offs || offs->type != VT_JSON_ARRAY || offs->len != 2 || offs->items[0].type != VT_JSON_NUMBER ||
        !offs->items[0].is_int || offs->items[1].type != VT_JSON_NUMBER || !offs->items[1].is_int ||
        offs->items[0].integer < 0 || offs->items[1].integer < offs->items[0].integer)
        return vt_error(ctx, VT_E_FORMAT, "%s: tensor '%s': data_offsets must be [begin, end] with 0 <= begin <= end",
                        what, name);
    uint64_t b = (uint64_t)offs->items[0].integer, en = (uint64_t)offs->items[1].integer;
    if (en > data_size)
        return vt_error(ctx, VT_E_FORMAT,
                        "%s: tensor '%s': data_offsets [%llu, %llu] out of range of the %zu-byte data section", what,
                        name, (unsigned long long)b, (unsigned long long)en, data_size);
    if (overflow || numel * es != en - b)
        return vt_error(ctx, VT_E_FORMAT, "%s: tensor '%s': shape x dtype size is not its byte length %llu", what, name,
                        (unsigned long long)(en - b));
    if (b % es)
        return vt_error(ctx, VT_E_FORMAT, "%s: tensor '%s': unaligned offset %llu for %s", what, name,
                        (unsigned long long)b, vt_dtype_name(t->dtype));
    t->offset = (size_t)b;
    t->nbytes = (size_t)(en - b);
    return VT_OK;
}

int vt_st_parse(vt_context *ctx, const char *what, const void *buf, size_t size, vt_st_file **out) {
    *out = NULL;
    if (!what) what = "safetensors data";
    const unsigned char *p = buf;
    if (size < 8) return vt_error(ctx, VT_E_FORMAT, "%s: truncated file: %zu bytes, the header length alone is 8", what, size);
    uint64_t hl = 0;
    for (int i = 7; i >= 0; i--) hl = (hl << 8) | p[i];
    if (hl > size - 8)
        return vt_error(ctx, VT_E_FORMAT, "%s: header length %llu is larger than the file (%zu bytes): not a safetensors file, or truncated",
                        what, (unsigned long long)hl, size);
    if (hl == 0) return vt_error(ctx, VT_E_FORMAT, "%s: header length is 0", what);
    if (hl > MAX_HEADER)
        return vt_error(ctx, VT_E_FORMAT, "%s: header length %llu exceeds the 100 MB limit", what, (unsigned long long)hl);
    char err[128];
    vt_json *h = vt_json_parse((const char *)p + 8, (size_t)hl, err, sizeof err);
    if (!h) return vt_error(ctx, VT_E_FORMAT, "%s: header is not valid JSON: %s", what, err);
    int rc = VT_OK;
    vt_st_file *f = calloc(1, sizeof *f);
    vt_st_tensor **order = NULL;
    if (!f) {
        rc = vt_error(ctx, VT_E_NOMEM, "%s: out of memory", what);
        goto done;
    }
    if (h->type != VT_JSON_OBJECT) {
        rc = vt_error(ctx, VT_E_FORMAT, "%s: header JSON is not an object", what);
        goto done;
    }
    f->data_start = 8 + (size_t)hl;
    size_t data_size = size - f->data_start;
    f->tensors = calloc(h->len ? h->len : 1, sizeof *f->tensors);
    if (!f->tensors) {
        rc = vt_error(ctx, VT_E_NOMEM, "%s: out of memory", what);
        goto done;
    }
    int seen_meta = 0;
    for (size_t k = 0; k < h->len; k++) {
        const vt_json *e = &h->items[k];
        if (!strcmp(h->keys[k], "__metadata__")) {
            if (seen_meta++) {
                rc = vt_error(ctx, VT_E_FORMAT, "%s: duplicate __metadata__", what);
                goto done;
            }
            if (e->type != VT_JSON_OBJECT) {
                rc = vt_error(ctx, VT_E_FORMAT, "%s: __metadata__ is not an object of strings", what);
                goto done;
            }
            f->meta_keys = calloc(e->len ? e->len : 1, sizeof *f->meta_keys);
            f->meta_values = calloc(e->len ? e->len : 1, sizeof *f->meta_values);
            if (!f->meta_keys || !f->meta_values) {
                rc = vt_error(ctx, VT_E_NOMEM, "%s: out of memory", what);
                goto done;
            }
            for (size_t m = 0; m < e->len; m++) {
                if (e->items[m].type != VT_JSON_STRING) {
                    char sb[80];
                    rc = vt_error(ctx, VT_E_FORMAT, "%s: __metadata__ value of '%s' is not a string", what,
                                  shown(sb, sizeof sb, e->keys[m]));
                    goto done;
                }
                f->meta_keys[f->n_meta] = strdup(e->keys[m]);
                f->meta_values[f->n_meta] = strdup(e->items[m].str);
                f->n_meta++;
                if (!f->meta_keys[f->n_meta - 1] || !f->meta_values[f->n_meta - 1]) {
                    rc = vt_error(ctx, VT_E_NOMEM, "%s: out of memory", what);
                    goto done;
                }
            }
            continue;
        }
        vt_st_tensor *t = &f->tensors[f->n_tensors];
        char sb[80];
        if ((rc = parse_tensor(ctx, what, shown(sb, sizeof sb, h->keys[k]), e, data_size, t))) goto done;
        if (!(t->name = strdup(h->keys[k]))) {
            rc = vt_error(ctx, VT_E_NOMEM, "%s: out of memory", what);
            goto done;
        }
        t->data = p + f->data_start + t->offset;
        f->n_tensors++;
    }
    /* Names unique, byte ranges disjoint: checked on sorted copies, O(n log n). */
    order = malloc((f->n_tensors ? f->n_tensors : 1) * sizeof *order);
    if (!order) {
        rc = vt_error(ctx, VT_E_NOMEM, "%s: out of memory", what);
        goto done;
    }
    for (size_t i = 0; i < f->n_tensors; i++) order[i] = &f->tensors[i];
    qsort(order, f->n_tensors, sizeof *order, cmp_name);
    for (size_t i = 1; i < f->n_tensors; i++)
        if (!strcmp(order[i]->name, order[i - 1]->name)) {
            char sb[80];
            rc = vt_error(ctx, VT_E_FORMAT, "%s: duplicate tensor name '%s'", what, shown(sb, sizeof sb, order[i]->name));
            goto done;
        }
    /* Sorted by start, some tensor overlaps an earlier one iff it starts before the
     * furthest end seen so far; empty tensors occupy no bytes and are skipped
     * (comparing only neighbours would let an empty one hide an overlap). */
    qsort(order, f->n_tensors, sizeof *order, cmp_offset);
    const vt_st_tensor *reach = NULL;
    for (size_t i = 0; i < f->n_tensors; i++) {
        const vt_st_tensor *b = order[i];
        if (!b->nbytes) continue;
        if (reach && b->offset < reach->offset + reach->nbytes) {
            char sa[80], sb[80];
            rc = vt_error(ctx, VT_E_FORMAT, "%s: tensors '%s' and '%s' overlap", what, shown(sa, sizeof sa, reach->name),
                          shown(sb, sizeof sb, b->name));
            goto done;
        }
        if (!reach || b->offset + b->nbytes > reach->offset + reach->nbytes) reach = b;
    }
done:
    free(order);
    vt_json_free(h);
    if (rc) {
        if (f) free_file(f);
        return rc;
    }
    *out = f;
    return VT_OK;
}

int vt_st_open(vt_context *ctx, const char *path, vt_st_file **out) {
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return vt_error(ctx, VT_E_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return vt_error(ctx, VT_E_IO, "%s: not a regular file", path);
    }
    size_t size = (size_t)st.st_size;
    void *map = NULL;
    if (size > 0) {
        map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (map == MAP_FAILED) {
            int e = errno;
            close(fd);
            return vt_error(ctx, VT_E_IO, "%s: cannot map: %s", path, strerror(e));
        }
    }
    close(fd);
    static const unsigned char empty[1];
    int rc = vt_st_parse(ctx, path, map ? map : empty, size, out);
    if (rc) {
        if (map) munmap(map, size);
        return rc;
    }
    (*out)->map = map;
    (*out)->map_size = size;
    return VT_OK;
}

void vt_st_close(vt_st_file **f) {
    if (!f || !*f) return;
    if ((*f)->map) munmap((*f)->map, (*f)->map_size);
    free_file(*f);
    *f = NULL;
}

const vt_st_tensor *vt_st_find(const vt_st_file *f, const char *name) {
    if (!f) return NULL;
    for (size_t i = 0; i < f->n_tensors; i++)
        if (!strcmp(f->tensors[i].name, name)) return &f->tensors[i];
    return NULL;
}

const char *vt_st_meta(const vt_st_file *f, const char *key) {
    if (!f) return NULL;
    for (size_t i = 0; i < f->n_meta; i++)
        if (!strcmp(f->meta_keys[i], key)) return f->meta_values[i];
    return NULL;
}

int vt_st_read_f32(vt_context *ctx, const vt_st_file *f, const char *name, float *dst, size_t numel) {
    const vt_st_tensor *t = vt_st_find(f, name);
    if (!t) return vt_error(ctx, VT_E_FORMAT, "missing tensor '%s'", name);
    if (numel && !dst) return vt_error(ctx, VT_E_INVALID, "tensor '%s': no destination", name);
    size_t n = t->nbytes / vt_dtype_size(t->dtype);
    if (n != numel)
        return vt_error(ctx, VT_E_SHAPE, "tensor '%s' has %zu elements, %zu expected", name, n, numel);
    vt_convert_to_f32(dst, t->data, t->dtype, n);
    return VT_OK;
}

/* ---- writer ---- */

typedef struct wtensor {
    char *name;
    vt_dtype dtype;
    int ndim;
    int64_t shape[VT_MAX_DIMS];
    void *bytes;
    size_t nbytes;
} wtensor;

struct vt_st_writer {
    wtensor *t;
    size_t n, cap;
    char **mk, **mv;
    size_t nm, capm;
};

vt_st_writer *vt_st_writer_create(void) { return calloc(1, sizeof(vt_st_writer)); }

void vt_st_writer_destroy(vt_st_writer **w) {
    if (!w || !*w) return;
    for (size_t i = 0; i < (*w)->n; i++) {
        free((*w)->t[i].name);
        free((*w)->t[i].bytes);
    }
    for (size_t i = 0; i < (*w)->nm; i++) {
        free((*w)->mk[i]);
        free((*w)->mv[i]);
    }
    free((*w)->t);
    free((*w)->mk);
    free((*w)->mv);
    free(*w);
    *w = NULL;
}

int vt_st_writer_add_f32(vt_context *ctx, vt_st_writer *w, const char *name, vt_dtype dtype, int ndim,
                         const int64_t *shape, const float *data) {
    if (!name || !*name || !strcmp(name, "__metadata__"))
        return vt_error(ctx, VT_E_INVALID, "safetensors writer: invalid tensor name");
    if (ndim < 0 || ndim > VT_MAX_DIMS) return vt_error(ctx, VT_E_INVALID, "safetensors writer: '%s' has %d dims", name, ndim);
    for (size_t i = 0; i < w->n; i++)
        if (!strcmp(w->t[i].name, name)) return vt_error(ctx, VT_E_INVALID, "safetensors writer: duplicate tensor '%s'", name);
    if (dtype != VT_DTYPE_F32 && dtype != VT_DTYPE_F16 && dtype != VT_DTYPE_BF16)
        return vt_error(ctx, VT_E_INVALID, "safetensors writer: '%s' has unknown dtype %d", name, (int)dtype);
    size_t numel = 1;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] < 0) return vt_error(ctx, VT_E_INVALID, "safetensors writer: '%s' has a negative dim", name);
        /* The reader refuses what overflows, so the writer must not produce it. */
        if (shape[d] && numel > SIZE_MAX / 4 / (size_t)shape[d])
            return vt_error(ctx, VT_E_INVALID, "safetensors writer: '%s' is too large", name);
        numel *= (size_t)shape[d];
    }
    if (numel && !data) return vt_error(ctx, VT_E_INVALID, "safetensors writer: '%s' has no data", name);
    if (w->n == w->cap) {
        size_t nc = w->cap ? w->cap * 2 : 16;
        wtensor *nt = realloc(w->t, nc * sizeof *nt);
        if (!nt) return vt_error(ctx, VT_E_NOMEM, "safetensors writer: out of memory");
        w->t = nt;
        w->cap = nc;
    }
    wtensor *t = &w->t[w->n];
    memset(t, 0, sizeof *t);
    t->nbytes = numel * vt_dtype_size(dtype);
    t->name = strdup(name);
    t->bytes = malloc(t->nbytes ? t->nbytes : 1);
    if (!t->name || !t->bytes) {
        free(t->name);
        free(t->bytes);
        return vt_error(ctx, VT_E_NOMEM, "safetensors writer: out of memory");
    }
    t->dtype = dtype;
    t->ndim = ndim;
    for (int d = 0; d < ndim; d++) t->shape[d] = shape[d];
    vt_convert_from_f32(t->bytes, dtype, data, numel);
    w->n++;
    return VT_OK;
}

int vt_st_writer_add_meta(vt_context *ctx, vt_st_writer *w, const char *key, const char *value) {
    if (!key || !value) return vt_error(ctx, VT_E_INVALID, "safetensors writer: metadata key or value is NULL");
    if (w->nm == w->capm) {
        size_t nc = w->capm ? w->capm * 2 : 8;
        char **k = realloc(w->mk, nc * sizeof *k);
        if (!k) return vt_error(ctx, VT_E_NOMEM, "safetensors writer: out of memory");
        w->mk = k;
        char **v = realloc(w->mv, nc * sizeof *v);
        if (!v) return vt_error(ctx, VT_E_NOMEM, "safetensors writer: out of memory");
        w->mv = v;
        w->capm = nc;
    }
    w->mk[w->nm] = strdup(key);
    w->mv[w->nm] = strdup(value);
    if (!w->mk[w->nm] || !w->mv[w->nm]) {
        free(w->mk[w->nm]);
        free(w->mv[w->nm]);
        return vt_error(ctx, VT_E_NOMEM, "safetensors writer: out of memory");
    }
    w->nm++;
    return VT_OK;
}

static int write_all(int fd, const void *buf, size_t n) {
    const char *p = buf;
    while (n) {
        ssize_t r = write(fd, p, n);
        if (r < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

/* Makes the rename itself durable. Best effort: the file is already complete and
 * in place, and some filesystems refuse fsync on a directory. */
static void sync_parent_dir(char *tmp_path) {
    char *slash = strrchr(tmp_path, '/');
    const char *dir = ".";
    if (slash == tmp_path) dir = "/";
    else if (slash) {
        *slash = 0;
        dir = tmp_path;
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

int vt_st_writer_save(vt_context *ctx, vt_st_writer *w, const char *path) {
    vt_strbuf h = {0};
    vt_strbuf_add(&h, "{", 1);
    if (w->nm) {
        vt_strbuf_add(&h, "\"__metadata__\":{", 16);
        for (size_t i = 0; i < w->nm; i++) {
            if (i) vt_strbuf_add(&h, ",", 1);
            vt_strbuf_json_str(&h, w->mk[i]);
            vt_strbuf_add(&h, ":", 1);
            vt_strbuf_json_str(&h, w->mv[i]);
        }
        vt_strbuf_add(&h, "}", 1);
    }
    /* Each tensor starts 8-aligned in the data section, which keeps every
     * element aligned inside an mmap of the file (the header is padded to 8). */
    size_t off = 0;
    for (size_t i = 0; i < w->n; i++) {
        const wtensor *t = &w->t[i];
        if (i || w->nm) vt_strbuf_add(&h, ",", 1);
        vt_strbuf_json_str(&h, t->name);
        vt_strbuf_printf(&h, ":{\"dtype\":\"%s\",\"shape\":[", vt_dtype_name(t->dtype));
        for (int d = 0; d < t->ndim; d++) vt_strbuf_printf(&h, d ? ",%lld" : "%lld", (long long)t->shape[d]);
        vt_strbuf_printf(&h, "],\"data_offsets\":[%zu,%zu]}", off, off + t->nbytes);
        off += (t->nbytes + 7) & ~(size_t)7;
    }
    vt_strbuf_add(&h, "}", 1);
    while (!h.oom && h.len % 8) vt_strbuf_add(&h, " ", 1);
    if (h.oom) {
        vt_strbuf_free(&h);
        return vt_error(ctx, VT_E_NOMEM, "%s: out of memory", path);
    }
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 16);
    if (!tmp) {
        vt_strbuf_free(&h);
        return vt_error(ctx, VT_E_NOMEM, "%s: out of memory", path);
    }
    snprintf(tmp, plen + 16, "%s.tmp-XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        int e = errno;
        vt_strbuf_free(&h);
        free(tmp);
        return vt_error(ctx, VT_E_IO, "%s: cannot create a temporary file: %s", path, strerror(e));
    }
    unsigned char len8[8];
    uint64_t hl = h.len;
    for (int i = 0; i < 8; i++) len8[i] = (unsigned char)(hl >> (8 * i));
    static const char zeros[8];
    int bad = write_all(fd, len8, 8) || write_all(fd, h.s, h.len);
    for (size_t i = 0; !bad && i < w->n; i++) {
        size_t pad = ((w->t[i].nbytes + 7) & ~(size_t)7) - w->t[i].nbytes;
        bad = write_all(fd, w->t[i].bytes, w->t[i].nbytes) || (i + 1 < w->n && write_all(fd, zeros, pad));
    }
    int e = errno;
    /* mkstemp creates 0600; a model file should be as readable as any other. Set
     * before the rename so the file never appears under `path` with other modes. */
    if (!bad && fchmod(fd, 0644) != 0) {
        bad = 1;
        e = errno;
    }
    if (!bad && fsync(fd) != 0) {
        bad = 1;
        e = errno;
    }
    if (close(fd) != 0 && !bad) {
        bad = 1;
        e = errno;
    }
    if (!bad && rename(tmp, path) != 0) {
        bad = 1;
        e = errno;
    }
    if (bad) unlink(tmp);
    vt_strbuf_free(&h);
    if (!bad) sync_parent_dir(tmp);
    free(tmp);
    if (bad) return vt_error(ctx, VT_E_IO, "%s: write failed: %s", path, strerror(e));
    return VT_OK;
}
