// Kernels for matrices kept in ggml's quantized block formats (QuantLinear): a row of `cols`
// weights is cols/32 blocks; types use ggml's ids (2 = Q4_0, 3 = Q4_1, 8 = Q8_0).
//   Q4_0: 18 bytes {f16 d; u8 qs[16]}      w = (q - 8) * d
//   Q4_1: 20 bytes {f16 d; f16 m; u8 qs[16]} w = q * d + m
//   Q8_0: 34 bytes {f16 d; i8 qs[32]}       w = q * d
// (low nibbles hold the first 16 weights of a block, high nibbles the last 16).
#ifndef LKQUANT_H
#define LKQUANT_H

#include <stdint.h>

#define LK_Q4_0 2
#define LK_Q4_1 3
#define LK_Q8_0 8

/// Bytes of one 32-weight block of `type`, or 0 for an unknown type.
long lk_q_block_bytes(int type);

/// Dequantizes rows [row0, row1) of a matrix of `cols` columns into dst (row-major,
/// (row1 - row0) x cols floats). Exactly ggml's dequantization (product, then add).
void lk_q_dequant_rows(int type, const uint8_t *w, long cols, long row0, long row1, float *dst);

/// y[v * ldy + r] = dot(row r of w, x[v * ldx .. + cols]) for r in [row0, row1) and v in [0, nx)
/// (a matrix-vector product for a few vectors at once; nx <= 8).
void lk_q_gemv(int type, const uint8_t *w, long cols, long row0, long row1, const float *x, long nx, long ldx,
               float *y, long ldy);

#endif
