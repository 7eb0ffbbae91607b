/* analyse_internal.h — what the analyser (analyse.c) knows about each object
 * beyond vt_shapes_found: the measurements check.c compares across frames and
 * between an edit's source and target. Private to libvitrail_shapes. */
#ifndef VT_SHAPES_ANALYSE_INTERNAL_H
#define VT_SHAPES_ANALYSE_INTERNAL_H

#include <stdint.h>

#include "vitrail_shapes.h"

/* The library's statuses (the values of vt_status in vitrail.h, which this
 * libc-only library does not include). */
#define VT_SHAPES_E_INVALID (-1)
#define VT_SHAPES_E_NOMEM (-4)

/* Rays of the radial profile: 4° apart, fine enough for the 5 points of a star
 * (72° apart) even when a point is only a pixel wide. */
enum { VT_SHAPES_RAYS = 90, VT_SHAPES_MAX_BLOBS = 16 };

typedef struct vt_shapes_blob {
    int shape, colour, size;           /* classified */
    float cx, cy;                      /* coverage-weighted centroid, pixels */
    float area;                        /* Σ coverage, pixels */
    float radius;                      /* circumradius estimate, pixels */
    float angle;                       /* orientation against the upright shape, radians */
    float rho[VT_SHAPES_RAYS];         /* (rays) outer boundary's distance from the centroid, pixels;
                                          ray j points at 2πj/rays counter-clockwise from +x */
    /* the classification features (docs/shapes-analyser.md) */
    float hole;                        /* inner boundary / outer boundary (median over rays); ~0 unless a ring */
    float fill;                        /* area / (π·rmax²) */
    float depth;                       /* min / max of the smoothed profile */
    float elong;                       /* √(λ1/λ2) of the second moments */
    float harm[9];                     /* |Fourier coefficient k| of rho / its mean, k = 0..8 */
    float wharm[9];                    /* the same of the profile taken in whitened coordinates (the
                                          second moments made isotropic, area kept): what stays of
                                          the outline when a stretch or shear is taken out */
} vt_shapes_blob;

typedef struct vt_shapes_analysis {
    int width, height;
    int background;                    /* vt_colour */
    int n;                             /* blobs kept, largest first (at most VT_SHAPES_MAX_BLOBS) */
    int n_total;                       /* objects found before truncation */
    vt_shapes_blob blob[VT_SHAPES_MAX_BLOBS];
} vt_shapes_analysis;

/* The analysis behind vt_shapes_analyse, with every measurement. */
int vt_shapes_analyse_blobs(const uint8_t *rgb, int width, int height, vt_shapes_analysis *out);

/* The public summary of an analysis. */
void vt_shapes_analysis_found(const vt_shapes_analysis *a, vt_shapes_found *out);

/* How far the outlines of two blobs (centred on their centroids) are from each
 * other without turning and at the best turn: mean |Δrho| / mean rho for each.
 * `turn` (optional) gets the best turn in radians, counter-clockwise. */
void vt_shapes_blob_turn(const vt_shapes_blob *a, const vt_shapes_blob *b, float *unturned, float *turned,
                         float *turn);

/* The size class of a circumradius given as a fraction of min(width, height). */
int vt_shapes_size_class(float r);

#endif
