// Quantized-matrix kernels for QuantLinear (see LKQuant.h). The matrix-vector product works
// block by block on the packed bytes without materializing the float row:
//   Q8_0: d * sum(q x)        Q4_0: d * (sum(q x) - 8 sum(x))        Q4_1: d * sum(q x) + m * sum(x)
// with AVX2 for the inner sums when the processor has it.
#include "LKQuant.h"
#include "LKKernels.h"

#include <immintrin.h>
#include <string.h>

#pragma STDC FP_CONTRACT OFF

static inline float half_to_float(const uint8_t *p) {
    uint16_t h = (uint16_t)(p[0] | (p[1] << 8));
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1F, mant = h & 0x3FF, f;
    if (exp == 0) {
        if (mant == 0) {
            f = sign;
        } else {  // subnormal: normalize
            exp = 127 - 15 + 1;
            while (!(mant & 0x400)) { mant <<= 1; exp--; }
            mant &= 0x3FF;
            f = sign | (exp << 23) | (mant << 13);
        }
    } else if (exp == 31) {
        f = sign | 0x7F800000u | (mant << 13);
    } else {
        f = sign | ((exp + 112) << 23) | (mant << 13);
    }
    float r;
    memcpy(&r, &f, 4);
    return r;
}

long lk_q_block_bytes(int type) {
    switch (type) {
    case LK_Q4_0: return 18;
    case LK_Q4_1: return 20;
    case LK_Q8_0: return 34;
    default: return 0;
    }
}

void lk_q_dequant_rows(int type, const uint8_t *w, long cols, long row0, long row1, float *dst) {
    long nb = cols / 32, bs = lk_q_block_bytes(type);
    for (long r = row0; r < row1; r++) {
        const uint8_t *row = w + r * nb * bs;
        float *o = dst + (r - row0) * cols;
        for (long b = 0; b < nb; b++) {
            const uint8_t *blk = row + b * bs;
            float *ob = o + b * 32;
            float d = half_to_float(blk);
            if (type == LK_Q8_0) {
                const int8_t *q = (const int8_t *)(blk + 2);
                for (int j = 0; j < 32; j++) ob[j] = (float)q[j] * d;
            } else if (type == LK_Q4_0) {
                const uint8_t *q = blk + 2;
                for (int j = 0; j < 16; j++) {
                    ob[j] = (float)((int)(q[j] & 0x0F) - 8) * d;
                    ob[j + 16] = (float)((int)(q[j] >> 4) - 8) * d;
                }
            } else {
                float m = half_to_float(blk + 2);
                const uint8_t *q = blk + 4;
                for (int j = 0; j < 16; j++) {
                    float lo = (float)(q[j] & 0x0F) * d;
                    float hi = (float)(q[j] >> 4) * d;
                    ob[j] = lo + m;
                    ob[j + 16] = hi + m;
                }
            }
        }
    }
}

// ---- scalar matrix-vector product ------------------------------------------------------------

static void gemv_base(int type, const uint8_t *w, long cols, long row0, long row1, const float *x, long nx, long ldx,
                      float *y, long ldy, const float *xsum) {
    long nb = cols / 32, bs = lk_q_block_bytes(type);
    for (long r = row0; r < row1; r++) {
        const uint8_t *row = w + r * nb * bs;
        for (long v = 0; v < nx; v++) {
            const float *xv = x + v * ldx;
            float acc = 0;
            for (long b = 0; b < nb; b++) {
                const uint8_t *blk = row + b * bs;
                const float *xb = xv + b * 32;
                float d = half_to_float(blk), s = 0;
                if (type == LK_Q8_0) {
                    const int8_t *q = (const int8_t *)(blk + 2);
                    for (int j = 0; j < 32; j++) s += (float)q[j] * xb[j];
                    acc += d * s;
                } else {
                    const uint8_t *q = blk + (type == LK_Q4_1 ? 4 : 2);
                    for (int j = 0; j < 16; j++) s += (float)(q[j] & 0x0F) * xb[j] + (float)(q[j] >> 4) * xb[j + 16];
                    float sx = xsum[v * nb + b];
                    if (type == LK_Q4_0) acc += d * (s - 8 * sx);
                    else acc += d * s + half_to_float(blk + 2) * sx;
                }
            }
            y[v * ldy + r] = acc;
        }
    }
}

// ---- AVX2 matrix-vector product --------------------------------------------------------------

#define ATTR_AVX2 __attribute__((target("avx2,fma")))

ATTR_AVX2 static inline float hsum256(__m256 v) {
    __m128 lo = _mm256_castps256_ps128(v), hi = _mm256_extractf128_ps(v, 1);
    lo = _mm_add_ps(lo, hi);
    __m128 sh = _mm_movehdup_ps(lo);
    __m128 s = _mm_add_ps(lo, sh);
    sh = _mm_movehl_ps(sh, s);
    s = _mm_add_ss(s, sh);
    return _mm_cvtss_f32(s);
}

#define MAXV 8

ATTR_AVX2 static void gemv_avx2(int type, const uint8_t *w, long cols, long row0, long row1, const float *x, long nx,
                                long ldx, float *y, long ldy, const float *xsum) {
    long nb = cols / 32, bs = lk_q_block_bytes(type);
    const __m128i mask = _mm_set1_epi8(0x0F);
    for (long r = row0; r < row1; r++) {
        const uint8_t *row = w + r * nb * bs;
        __m256 acc[MAXV];
        float tail[MAXV];
        for (long v = 0; v < nx; v++) { acc[v] = _mm256_setzero_ps(); tail[v] = 0; }
        for (long b = 0; b < nb; b++) {
            const uint8_t *blk = row + b * bs;
            float d = half_to_float(blk);
            __m256 f0, f1, f2, f3;
            if (type == LK_Q8_0) {
                const int8_t *q = (const int8_t *)(blk + 2);
                __m128i a = _mm_loadu_si128((const __m128i *)q), c = _mm_loadu_si128((const __m128i *)(q + 16));
                f0 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(a));
                f1 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(a, 8)));
                f2 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(c));
                f3 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(c, 8)));
            } else {
                const uint8_t *q = blk + (type == LK_Q4_1 ? 4 : 2);
                __m128i raw = _mm_loadu_si128((const __m128i *)q);
                __m128i lo = _mm_and_si128(raw, mask), hi = _mm_and_si128(_mm_srli_epi16(raw, 4), mask);
                f0 = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(lo));
                f1 = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(lo, 8)));
                f2 = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(hi));
                f3 = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(hi, 8)));
            }
            __m256 vd = _mm256_set1_ps(d);
            float m = type == LK_Q4_1 ? half_to_float(blk + 2) : 0;
            for (long v = 0; v < nx; v++) {
                const float *xb = x + v * ldx + b * 32;
                __m256 s = _mm256_mul_ps(f0, _mm256_loadu_ps(xb));
                s = _mm256_fmadd_ps(f1, _mm256_loadu_ps(xb + 8), s);
                s = _mm256_fmadd_ps(f2, _mm256_loadu_ps(xb + 16), s);
                s = _mm256_fmadd_ps(f3, _mm256_loadu_ps(xb + 24), s);
                acc[v] = _mm256_fmadd_ps(vd, s, acc[v]);
                if (type == LK_Q4_0) tail[v] -= 8 * d * xsum[v * nb + b];
                else if (type == LK_Q4_1) tail[v] += m * xsum[v * nb + b];
            }
        }
        for (long v = 0; v < nx; v++) y[v * ldy + r] = hsum256(acc[v]) + tail[v];
    }
}

// ---- one vector (decoding): accumulators stay in registers -----------------------------------

#define ATTR_AVX2F __attribute__((target("avx2,fma,f16c")))
#define ATTR_512Q __attribute__((target("avx512f,avx512bw,avx512vl,avx2,fma,f16c")))

ATTR_AVX2F static inline float h2f_f16c(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return _cvtsh_ss(h);
}

ATTR_AVX2F static void gemv1_avx2(int type, const uint8_t *w, long cols, long row0, long row1, const float *x,
                                  float *y, const float *xsum) {
    long nb = cols / 32, bs = lk_q_block_bytes(type);
    const __m128i mask = _mm_set1_epi8(0x0F);
    for (long r = row0; r < row1; r++) {
        const uint8_t *row = w + r * nb * bs;
        __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
        float tail = 0;
        for (long b = 0; b < nb; b++) {
            const uint8_t *blk = row + b * bs;
            const float *xb = x + b * 32;
            __m256 f0, f1, f2, f3;
            if (type == LK_Q8_0) {
                __m128i a = _mm_loadu_si128((const __m128i *)(blk + 2)), c = _mm_loadu_si128((const __m128i *)(blk + 18));
                f0 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(a));
                f1 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(a, 8)));
                f2 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(c));
                f3 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(c, 8)));
            } else {
                __m128i raw = _mm_loadu_si128((const __m128i *)(blk + (type == LK_Q4_1 ? 4 : 2)));
                __m128i lo = _mm_and_si128(raw, mask), hi = _mm_and_si128(_mm_srli_epi16(raw, 4), mask);
                f0 = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(lo));
                f1 = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(lo, 8)));
                f2 = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(hi));
                f3 = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(hi, 8)));
            }
            __m256 s0 = _mm256_mul_ps(f0, _mm256_loadu_ps(xb));
            __m256 s1 = _mm256_mul_ps(f1, _mm256_loadu_ps(xb + 8));
            s0 = _mm256_fmadd_ps(f2, _mm256_loadu_ps(xb + 16), s0);
            s1 = _mm256_fmadd_ps(f3, _mm256_loadu_ps(xb + 24), s1);
            float d = h2f_f16c(blk);
            __m256 vd = _mm256_set1_ps(d);
            acc0 = _mm256_fmadd_ps(vd, s0, acc0);
            acc1 = _mm256_fmadd_ps(vd, s1, acc1);
            if (type == LK_Q4_0) tail -= 8 * d * xsum[b];
            else if (type == LK_Q4_1) tail += h2f_f16c(blk + 2) * xsum[b];
        }
        y[r] = hsum256(_mm256_add_ps(acc0, acc1)) + tail;
    }
}

ATTR_512Q static inline float hsum512(__m512 v) { return _mm512_reduce_add_ps(v); }

ATTR_512Q static void gemv1_avx512(int type, const uint8_t *w, long cols, long row0, long row1, const float *x,
                                   float *y, const float *xsum) {
    long nb = cols / 32, bs = lk_q_block_bytes(type);
    const __m128i mask = _mm_set1_epi8(0x0F);
    for (long r = row0; r < row1; r++) {
        const uint8_t *row = w + r * nb * bs;
        __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
        float tail = 0;
        long b = 0;
        for (; b < nb; b++) {
            const uint8_t *blk = row + b * bs;
            const float *xb = x + b * 32;
            __m512 f0, f1;
            if (type == LK_Q8_0) {
                f0 = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(blk + 2))));
                f1 = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(blk + 18))));
            } else {
                __m128i raw = _mm_loadu_si128((const __m128i *)(blk + (type == LK_Q4_1 ? 4 : 2)));
                f0 = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_and_si128(raw, mask)));
                f1 = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_and_si128(_mm_srli_epi16(raw, 4), mask)));
            }
            __m512 s = _mm512_mul_ps(f0, _mm512_loadu_ps(xb));
            s = _mm512_fmadd_ps(f1, _mm512_loadu_ps(xb + 16), s);
            float d = h2f_f16c(blk);
            if (b & 1) acc1 = _mm512_fmadd_ps(_mm512_set1_ps(d), s, acc1);
            else acc0 = _mm512_fmadd_ps(_mm512_set1_ps(d), s, acc0);
            if (type == LK_Q4_0) tail -= 8 * d * xsum[b];
            else if (type == LK_Q4_1) tail += h2f_f16c(blk + 2) * xsum[b];
        }
        y[r] = hsum512(_mm512_add_ps(acc0, acc1)) + tail;
    }
}

void lk_q_gemv(int type, const uint8_t *w, long cols, long row0, long row1, const float *x, long nx, long ldx,
               float *y, long ldy) {
    long nb = cols / 32;
    if (nx > MAXV) {
        for (long v0 = 0; v0 < nx; v0 += MAXV) {
            long n = nx - v0 < MAXV ? nx - v0 : MAXV;
            lk_q_gemv(type, w, cols, row0, row1, x + v0 * ldx, n, ldx, y + v0 * ldy, ldy);
        }
        return;
    }
    // block sums of x (the zero point / offset term of Q4_0 and Q4_1)
    float xs[MAXV * 512];
    if (type != LK_Q8_0) {
        if (nx * nb > MAXV * 512) {
            // very wide rows (over 16k columns): compute per row without the shortcut
            for (long r = row0; r < row1; r++) {
                float tmp[32];
                for (long v = 0; v < nx; v++) {
                    const float *xv = x + v * ldx;
                    float acc = 0;
                    for (long b = 0; b < nb; b++) {
                        lk_q_dequant_rows(type, w + (r * nb + b) * lk_q_block_bytes(type), 32, 0, 1, tmp);
                        for (int j = 0; j < 32; j++) acc += tmp[j] * xv[b * 32 + j];
                    }
                    y[v * ldy + r] = acc;
                }
            }
            return;
        }
        for (long v = 0; v < nx; v++) {
            const float *xv = x + v * ldx;
            for (long b = 0; b < nb; b++) {
                float s = 0;
                for (int j = 0; j < 32; j++) s += xv[b * 32 + j];
                xs[v * nb + b] = s;
            }
        }
    }
    if (nx == 1 && lk_simd_level() >= 3) gemv1_avx512(type, w, cols, row0, row1, x, y, xs);
    else if (nx == 1 && lk_simd_level() >= 2 && __builtin_cpu_supports("f16c")) gemv1_avx2(type, w, cols, row0, row1, x, y, xs);
    else if (lk_simd_level() >= 2) gemv_avx2(type, w, cols, row0, row1, x, nx, ldx, y, ldy, xs);
    else gemv_base(type, w, cols, row0, row1, x, nx, ldx, y, ldy, xs);
}
