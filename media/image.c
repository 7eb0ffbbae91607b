/* Image files: decoding with stb_image (PNG, JPEG, BMP, TGA), PNG encoding with
 * stb_image_write plus a tEXt "parameters" chunk (the A1111 / stable-diffusion.cpp
 * convention), written to a temporary name and renamed when complete. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <stb_image.h>
#include <stb_image_write.h>
#include <stb_image_resize.h>

#include "context.h"
#include "vitrail.h"

/* Decoded images larger than this are refused before any allocation: 16k×16k RGB. */
#define MAX_PIXELS (16384ull * 16384ull)

int vt_image_load(vt_context *ctx, const char *path, vt_image *out) {
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f) return vt_error(ctx, VT_E_IO, "%s: cannot open: %s", path, strerror(errno));
    int w = 0, h = 0, c = 0;
    if (!stbi_info_from_file(f, &w, &h, &c)) {
        fclose(f);
        return vt_error(ctx, VT_E_FORMAT, "%s: not a readable PNG, JPEG, BMP or TGA image (%s)", path, stbi_failure_reason());
    }
    if (w < 1 || h < 1 || (unsigned long long)w * (unsigned long long)h > MAX_PIXELS) {
        fclose(f);
        return vt_error(ctx, VT_E_FORMAT, "%s: impossible image size %dx%d", path, w, h);
    }
    unsigned char *px = stbi_load_from_file(f, &w, &h, &c, 3);
    fclose(f);
    if (!px) return vt_error(ctx, VT_E_FORMAT, "%s: corrupt image (%s)", path, stbi_failure_reason());
    out->width = w;
    out->height = h;
    out->pixels = malloc((size_t)w * h * 3);
    if (!out->pixels) {
        stbi_image_free(px);
        return vt_error(ctx, VT_E_NOMEM, "%s: out of memory", path);
    }
    memcpy(out->pixels, px, (size_t)w * h * 3);
    stbi_image_free(px);
    return VT_OK;
}

void vt_image_free(vt_image *img) {
    if (!img) return;
    free(img->pixels);
    memset(img, 0, sizeof *img);
}

/* ---- PNG with a tEXt chunk ---- */

typedef struct membuf {
    unsigned char *p;
    size_t n, cap;
    int oom;
} membuf;

static void mem_write(void *user, void *data, int size) {
    membuf *m = user;
    if (m->oom || size <= 0) return;
    if (m->n + (size_t)size > m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 65536;
        while (cap < m->n + (size_t)size) cap *= 2;
        unsigned char *np = realloc(m->p, cap);
        if (!np) {
            m->oom = 1;
            return;
        }
        m->p = np;
        m->cap = cap;
    }
    memcpy(m->p + m->n, data, (size_t)size);
    m->n += (size_t)size;
}

/* CRC-32 of PNG (ISO 3309 polynomial 0xEDB88320), bitwise: chunks are small. */
static uint32_t crc32_update(uint32_t crc, const unsigned char *p, size_t n) {
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return crc;
}

static void put_be32(unsigned char *p, uint32_t v) {
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static uint32_t get_be32(const unsigned char *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

int vt_image_save_png(vt_context *ctx, const char *path, const vt_image *img, const char *parameters) {
    if (!img || !img->pixels || img->width < 1 || img->height < 1)
        return vt_error(ctx, VT_E_INVALID, "%s: no image to write", path);
    membuf m = {0};
    if (!stbi_write_png_to_func(mem_write, &m, img->width, img->height, 3, img->pixels, img->width * 3) || m.oom ||
        m.n < 33) {
        free(m.p);
        return vt_error(ctx, VT_E_NOMEM, "%s: PNG encoding failed", path);
    }
    /* tEXt: keyword "parameters", a NUL, then the text (Latin-1 by the PNG spec;
     * UTF-8 prompts pass through as the A1111 files do). Inserted after IHDR,
     * which ends at byte 8 + 25 = 33. */
    unsigned char *chunk = NULL;
    size_t clen = 0;
    if (parameters) {
        size_t tl = strlen(parameters), dl = 11 + tl;
        clen = 12 + dl;
        chunk = malloc(clen);
        if (!chunk) {
            free(m.p);
            return vt_error(ctx, VT_E_NOMEM, "%s: out of memory", path);
        }
        put_be32(chunk, (uint32_t)dl);
        memcpy(chunk + 4, "tEXtparameters", 14);
        chunk[18] = 0;
        memcpy(chunk + 19, parameters, tl);
        put_be32(chunk + 8 + dl, crc32_update(0xFFFFFFFFu, chunk + 4, 4 + dl) ^ 0xFFFFFFFFu);
    }
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 16);
    int fd = -1;
    if (tmp) {
        snprintf(tmp, plen + 16, "%s.tmp-XXXXXX", path);
        fd = mkstemp(tmp);
    }
    int rc = VT_OK;
    if (fd < 0) {
        rc = vt_error(ctx, VT_E_IO, "%s: cannot create a temporary file: %s", path, strerror(errno));
    } else {
        /* mkstemp creates 0600; an image should be as readable as any file the
         * user writes (the same rule as model files, core/safetensors.c) */
        int mode_ok = fchmod(fd, 0644) == 0;
        FILE *f = fdopen(fd, "wb");
        int ok = mode_ok && f && fwrite(m.p, 1, 33, f) == 33 && (!chunk || fwrite(chunk, 1, clen, f) == clen) &&
                 fwrite(m.p + 33, 1, m.n - 33, f) == m.n - 33;
        if (f) ok = (fclose(f) == 0) && ok;
        else close(fd);
        if (!ok || rename(tmp, path) != 0) {
            rc = vt_error(ctx, VT_E_IO, "%s: write failed: %s", path, strerror(errno));
            unlink(tmp);
        }
    }
    free(tmp);
    free(chunk);
    free(m.p);
    return rc;
}

int vt_png_text(vt_context *ctx, const char *path, const char *key, char **value) {
    *value = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return vt_error(ctx, VT_E_IO, "%s: cannot open: %s", path, strerror(errno));
    unsigned char sig[8];
    static const unsigned char png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    int rc = VT_OK;
    if (fread(sig, 1, 8, f) != 8 || memcmp(sig, png_sig, 8) != 0) {
        rc = vt_error(ctx, VT_E_FORMAT, "%s: not a PNG file", path);
        goto done;
    }
    size_t klen = strlen(key);
    for (;;) {
        unsigned char hdr[8];
        if (fread(hdr, 1, 8, f) != 8) {
            rc = vt_error(ctx, VT_E_FORMAT, "%s: truncated PNG (no IEND chunk)", path);
            goto done;
        }
        uint32_t len = get_be32(hdr);
        if (len > (1u << 30)) {
            rc = vt_error(ctx, VT_E_FORMAT, "%s: corrupt PNG chunk length %u", path, len);
            goto done;
        }
        if (!memcmp(hdr + 4, "IEND", 4)) break;
        if (!memcmp(hdr + 4, "tEXt", 4) && len > klen) {
            unsigned char *d = malloc((size_t)len + 1);
            if (!d) {
                rc = vt_error(ctx, VT_E_NOMEM, "%s: out of memory", path);
                goto done;
            }
            if (fread(d, 1, len, f) != len) {
                free(d);
                rc = vt_error(ctx, VT_E_FORMAT, "%s: truncated PNG chunk", path);
                goto done;
            }
            d[len] = 0;
            if (!memcmp(d, key, klen) && d[klen] == 0) {
                *value = malloc(len - klen);
                if (*value) memcpy(*value, d + klen + 1, len - klen);
                free(d);
                goto done;
            }
            free(d);
            if (fseek(f, 4, SEEK_CUR)) break; /* CRC */
            continue;
        }
        if (fseek(f, (long)len + 4, SEEK_CUR)) break;
    }
done:
    fclose(f);
    return rc;
}

int vt_rgb_resize(const unsigned char *src, int sw, int sh, unsigned char *dst, int dw, int dh) {
    if (sw < 1 || sh < 1 || dw < 1 || dh < 1) return VT_E_INVALID;
    if (sw == dw && sh == dh) {
        memcpy(dst, src, (size_t)sw * sh * 3);
        return VT_OK;
    }
    return stbir_resize_uint8(src, sw, sh, sw * 3, dst, dw, dh, dw * 3, 3) ? VT_OK : VT_E_NOMEM;
}
