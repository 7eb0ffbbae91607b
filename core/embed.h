/* Fixed embeddings of DiT (Peebles & Xie 2023, facebookresearch/DiT models.py):
 * sin-cos position embeddings over 1D/2D/3D grids and the timestep embedding. */
#ifndef VT_CORE_EMBED_H
#define VT_CORE_EMBED_H

#include <stdint.h>

/* 1D: out (n, dim), dim even: [sin(pos·ω_k) for k<dim/2, cos(pos·ω_k) for k<dim/2],
 * ω_k = 1 / 10000^(k/(dim/2)) — DiT's get_1d_sincos_pos_embed_from_grid. */
void vt_pos_embed_1d(float *out, int dim, int n);
/* 2D over an (h, w) grid, dim % 4 == 0: first half embeds the column (w) index,
 * second half the row (h) index, as DiT's get_2d_sincos_pos_embed (its grid is
 * meshgrid(w, h) and emb_h uses grid[0]). out (h·w, dim), row-major over (h, w). */
void vt_pos_embed_2d(float *out, int dim, int h, int w);
/* 3D over a (t, h, w) grid: the spatial 2D embedding of (h, w) in the first dim_s
 * channels and the 1D embedding of t in the remaining dim - dim_s; dim_s % 4 == 0,
 * (dim - dim_s) % 2 == 0. out (t·h·w, dim). */
void vt_pos_embed_3d(float *out, int dim, int dim_s, int t, int h, int w);
/* DiT TimestepEmbedder.timestep_embedding: out (n, dim) = [cos(t·f_k), sin(t·f_k)],
 * f_k = exp(-ln(max_period)·k/half), half = dim/2; a zero column is appended when
 * dim is odd. */
void vt_timestep_embed(float *out, const float *t, int n, int dim, float max_period);

#endif
