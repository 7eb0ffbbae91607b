/* vitrail — public C API of the diffusion-transformer engine.
 * Opaque handles, default-params functions, a log callback; nothing here prints or exits. */
#ifndef VITRAIL_H
#define VITRAIL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VT_VERSION_MAJOR 0
#define VT_VERSION_MINOR 1
#define VT_VERSION_PATCH 0

/* Status codes: 0 is success, every failure is negative. The human message that
 * goes with the last failure is vt_context_error(ctx). */
typedef enum vt_status {
    VT_OK = 0,
    VT_E_INVALID = -1,     /* a bad argument: size, name, value out of range */
    VT_E_IO = -2,          /* a file could not be opened, read, written or renamed */
    VT_E_FORMAT = -3,      /* a malformed file: model, image, video */
    VT_E_NOMEM = -4,       /* host or device memory exhausted */
    VT_E_UNSUPPORTED = -5, /* a feature this build or device lacks */
    VT_E_DEVICE = -6,      /* a compute device failed or was lost */
    VT_E_SHAPE = -7,       /* tensors whose shapes do not fit together */
    VT_E_CANCELLED = -8,   /* a progress callback asked to stop */
} vt_status;

/* Name of a status code, e.g. "VT_E_FORMAT". Never NULL. */
const char *vt_status_name(int status);

/* Version string "MAJOR.MINOR.PATCH". */
const char *vt_version(void);

typedef enum vt_log_level {
    VT_LOG_DEBUG = 0,
    VT_LOG_INFO = 1,
    VT_LOG_WARN = 2,
    VT_LOG_ERROR = 3,
} vt_log_level;

/* Called for every log line; `msg` has no trailing newline. May be called from
 * the thread that called into the library only. */
typedef void (*vt_log_fn)(void *user, vt_log_level level, const char *msg);

/* ---- context: threads, logging and the last error ---- */

typedef struct vt_context vt_context;

typedef struct vt_context_params {
    int n_threads;        /* worker threads for CPU ops; 0 = online cores */
    vt_log_fn log;        /* (optional) log sink; NULL discards logs */
    void *log_user;       /* passed back to `log` */
    vt_log_level log_min; /* lines below this level are dropped */
} vt_context_params;

vt_context_params vt_context_default_params(void);

/* Creates a context. Returns NULL only when memory is exhausted.
 * A context is not thread-safe: use one per thread. */
vt_context *vt_context_create(const vt_context_params *params);
void vt_context_destroy(vt_context **ctx);

/* Message of the last failure on this context, "" if none. Valid until the next call. */
const char *vt_context_error(const vt_context *ctx);
int vt_context_threads(const vt_context *ctx);

/* ---- model files (safetensors with the config in __metadata__) ---- */

typedef enum vt_dtype {
    VT_DTYPE_F32 = 0,
    VT_DTYPE_F16 = 1,
    VT_DTYPE_BF16 = 2,
} vt_dtype;

const char *vt_dtype_name(vt_dtype dt); /* "F32", "F16", "BF16" */
size_t vt_dtype_size(vt_dtype dt);

#define VT_MAX_DIMS 5

typedef struct vt_model vt_model;

typedef struct vt_tensor_info {
    const char *name;
    vt_dtype dtype;
    int ndim;
    int64_t shape[VT_MAX_DIMS];
    size_t nbytes;
} vt_tensor_info;

/* Opens (memory-maps) a model file and validates its whole header.
 * On failure returns a negative vt_status; the message names the file and the fault. */
int vt_model_open(vt_context *ctx, const char *path, vt_model **out);
void vt_model_close(vt_model **model);

/* The file's base name, and the FNV-1a 64 hash of the whole file as 16 hex
 * digits: what outputs record as "Model" and "Model hash". */
const char *vt_model_name(const vt_model *model);
const char *vt_model_hash(const vt_model *model);
/* The model's config: the "config" entry of __metadata__ (a JSON text), or NULL. */
const char *vt_model_config(const vt_model *model);
/* Any __metadata__ value by key, or NULL. */
const char *vt_model_metadata(const vt_model *model, const char *key);
size_t vt_model_metadata_count(const vt_model *model);
/* The i-th metadata key and value, in file order. */
int vt_model_metadata_at(const vt_model *model, size_t i, const char **key, const char **value);
size_t vt_model_tensor_count(const vt_model *model);
int vt_model_tensor_at(const vt_model *model, size_t i, vt_tensor_info *info);

/* Looks a tensor up by name; VT_E_INVALID when absent. */
int vt_model_tensor_find(const vt_model *model, const char *name, vt_tensor_info *info);
/* Reads a tensor as f32 (converting F16/BF16); numel must equal its element count. */
int vt_model_tensor_read_f32(vt_context *ctx, const vt_model *model, const char *name, float *dst, size_t numel);

/* One tensor to save: f32 data stored as `dtype`. */
typedef struct vt_named_tensor {
    const char *name;
    vt_dtype dtype;
    int ndim;
    int64_t shape[VT_MAX_DIMS];
    const float *data;
} vt_named_tensor;

/* Writes a safetensors file: to a temporary name in the same folder, renamed onto
 * `path` only when complete. meta holds n_meta (key, value) pairs, flattened. */
int vt_tensors_save(vt_context *ctx, const char *path, const vt_named_tensor *tensors, size_t n,
                    const char *const *meta, size_t n_meta);

/* ---- the denoiser: a DiT model made runnable on a device ---- */

typedef struct vt_denoiser vt_denoiser;

typedef struct vt_denoiser_params {
    const char *device;   /* "cpu" (default when NULL), "vulkan" (the best device, or VITRAIL_VK_DEVICE), "vulkan:INDEX",
                           * "auto" (a discrete or integrated GPU if there is one, else the CPU) */
} vt_denoiser_params;

vt_denoiser_params vt_denoiser_default_params(void);

/* Builds the denoiser of a DiT model file (config "arch": "dit"). The model must
 * outlive the denoiser. */
int vt_denoiser_create(vt_context *ctx, const vt_model *model, const vt_denoiser_params *params, vt_denoiser **out);
void vt_denoiser_destroy(vt_denoiser **dn);

typedef struct vt_denoiser_shape {
    int in_channels, out_channels;  /* out = 2·in with learned sigma */
    int frames;                     /* 0 for image models */
    int height, width;
    int num_classes;                /* 0 = none; label num_classes is the null class */
    int cond_dim;                   /* 0 = no conditioning tokens */
    int velocity;                   /* 1: rectified-flow velocity model, 0: eps model */
} vt_denoiser_shape;

vt_denoiser_shape vt_denoiser_get_shape(const vt_denoiser *dn);
/* The same, read from a model file's config without loading its weights
 * (VT_E_FORMAT for a model without a DiT config). */
int vt_model_denoiser_shape(vt_context *ctx, const vt_model *model, vt_denoiser_shape *out);

typedef struct vt_denoise_input {
    int batch;              /* B */
    int frames;             /* T; 0 or 1 for images; a clip model takes 1..its frames (1 = an image) */
    int height, width;
    const float *x;         /* (B, C, [T,] H, W); ignored by sampling */
    const float *t;         /* (B) timesteps as the model sees them; ignored by sampling */
    const int32_t *y;       /* (optional) (B) class labels */
    const float *cond;      /* (optional) (B, L, cond_dim) */
    const float *cond_mask; /* (optional) (B, L): nonzero = token present */
    int cond_len;           /* L */
    /* (optional) sampling only: the tokens of the guidance's unconditional branch
     * (a negative prompt) instead of the model's null token alone */
    const float *uncond;      /* (B, Lu, cond_dim) */
    const float *uncond_mask; /* (optional) (B, Lu) */
    int uncond_len;           /* Lu */
} vt_denoise_input;

/* One forward: out (B, C_out, [T,] H, W). */
int vt_denoiser_forward(vt_denoiser *dn, const vt_denoise_input *in, float *out);

/* Called after each sampling step (step counts from the first step run, so an
 * SDEdit run starts past 1); a non-zero return cancels: VT_E_CANCELLED. */
typedef int (*vt_progress_fn)(void *user, int step, int steps);

typedef struct vt_sample_options {
    const char *sampler;   /* "ddim", "dpm++2m" (eps models), "euler" (velocity models); NULL = model's default */
    int steps;             /* default 20 */
    float cfg;             /* guidance scale; 1 = none */
    uint64_t seed;
    float eta;             /* DDIM */
    float shift;           /* Euler timestep shift; 0 = the model's */
    vt_progress_fn progress;
    void *progress_user;
    /* img2img / vid2vid (SDEdit): start from x_ref (shape of out) noised to the
     * level of step round(steps·(1 − strength)); strength 0 or ≥ 1 = pure noise */
    const float *x_ref;
    float strength;
} vt_sample_options;

vt_sample_options vt_sample_default_options(void);

/* Samples from seeded noise: out (B, C, [T,] H, W). */
int vt_denoiser_sample(vt_denoiser *dn, const vt_sample_options *opt, const vt_denoise_input *in, float *out);

/* Writes a DiT model of `config_json` (docs/model-format.md) with seeded random
 * F16 weights: for benchmarks, tests and trying a configuration. */
int vt_model_write_random(vt_context *ctx, const char *config_json, uint64_t seed, const char *path);

/* ---- images ---- */

typedef struct vt_image {
    int width, height;
    unsigned char *pixels;  /* (height, width, 3) RGB, 8 bits */
} vt_image;

/* Decodes PNG, JPEG, BMP or TGA (converted to RGB). A corrupt or truncated file,
 * or an impossible size, is refused with a message naming the file. */
int vt_image_load(vt_context *ctx, const char *path, vt_image *out);
void vt_image_free(vt_image *img);
/* Writes a PNG carrying `parameters` (may be NULL) in a tEXt chunk of that name;
 * to a temporary name first, renamed onto path when complete. */
int vt_image_save_png(vt_context *ctx, const char *path, const vt_image *img, const char *parameters);
/* Scales an RGB image (rows packed, 3 bytes a pixel) to dw × dh (Mitchell filter;
 * a plain copy when the sizes are equal). */
int vt_rgb_resize(const unsigned char *src, int sw, int sh, unsigned char *dst, int dw, int dh);
/* The tEXt value of `key` in a PNG (malloc-ed; NULL when absent, which is not an error). */
int vt_png_text(vt_context *ctx, const char *path, const char *key, char **value);

/* ---- videos ---- */

typedef struct vt_video {
    int width, height, frames;
    double fps;              /* frames per second of `pixels` */
    double src_fps;          /* the file's own rate (load only) */
    unsigned char *pixels;   /* (frames, height, width, 3) RGB */
} vt_video;

typedef struct vt_video_load_params {
    int width, height;       /* 0 = the file's; frames are scaled (bicubic) to this */
    double fps;              /* 0 = the file's; otherwise frames are resampled in time (nearest earlier frame) */
    int max_frames;          /* 0 = all */
} vt_video_load_params;

/* Decodes the best video stream of anything FFmpeg opens (MP4, WebM, MKV, GIF...). */
int vt_video_load(vt_context *ctx, const char *path, const vt_video_load_params *params, vt_video *out);
/* Encodes to .mp4 (H.264 with libx264 when present, else MPEG-4 Part 2; yuv420p,
 * odd sizes cropped by one pixel) or .gif; temporary name, then rename. */
int vt_video_save(vt_context *ctx, const char *path, const vt_video *v);
void vt_video_free(vt_video *v);

/* Streaming forms, for files longer than memory. */
typedef struct vt_video_reader vt_video_reader;
int vt_video_reader_open(vt_context *ctx, const char *path, const vt_video_load_params *params, vt_video_reader **out);
/* Output width, height and rate, and the file's own rate. */
void vt_video_reader_info(const vt_video_reader *r, int *width, int *height, double *fps, double *src_fps);
/* Decodes the next frame into rgb (height, width, 3): 1 = a frame, 0 = the end,
 * negative = an error (a corrupt stream). */
int vt_video_reader_next(vt_video_reader *r, unsigned char *rgb);
void vt_video_reader_close(vt_video_reader **r);

typedef struct vt_video_writer vt_video_writer;
/* Opens an .mp4 or .gif for frames of width × height at fps; audio_from (may be
 * NULL) names a file whose audio stream is copied into an MP4 untouched. */
int vt_video_writer_open(vt_context *ctx, const char *path, int width, int height, double fps, const char *audio_from,
                         vt_video_writer **out);
int vt_video_writer_write(vt_video_writer *w, const unsigned char *rgb);
/* keep: finish the file and rename it into place; 0: discard it. */
int vt_video_writer_close(vt_video_writer **w, int keep);

/* ---- compute devices ---- */

typedef enum vt_device_type {
    VT_DEVICE_CPU = 0,
    VT_DEVICE_DISCRETE_GPU = 1,
    VT_DEVICE_INTEGRATED_GPU = 2,
    VT_DEVICE_VIRTUAL_GPU = 3,
    VT_DEVICE_CPU_DRIVER = 4, /* a Vulkan driver that runs on the CPU (lavapipe) */
    VT_DEVICE_OTHER = 5,
} vt_device_type;

typedef struct vt_device_desc {
    char backend[16];   /* "cpu" or "vulkan" */
    int index;          /* index within its backend, as in --device vulkan:INDEX */
    char name[256];
    vt_device_type type;
    uint64_t memory;    /* bytes: system RAM for the CPU, the largest device-local heap for a GPU */
    char detail[256];   /* driver / API version, BLAS build */
} vt_device_desc;

/* Whether this build has the Vulkan backend. */
int vt_has_vulkan(void);

/* Lists devices into `out` (capacity `cap`); returns how many exist (may exceed cap)
 * or a negative status. The CPU is always entry 0. A build without Vulkan lists the
 * CPU only; a Vulkan loader without a device is not an error here. */
int vt_devices_list(vt_context *ctx, vt_device_desc *out, int cap);

const char *vt_device_type_name(vt_device_type t);

#ifdef __cplusplus
}
#endif
#endif
