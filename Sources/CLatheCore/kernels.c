// Vectorized float32 kernels; see LKKernels.h. Every kernel body is written once as a macro
// and instantiated for AVX-512, AVX2+FMA and the baseline; the first call picks the best
// level the CPU (and OS) supports.
#include "LKKernels.h"
#include "LKNN.h"

#include <math.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

// ---- scalar building blocks (branch-free so loops vectorize) -------------------------------

typedef union { float f; int32_t i; uint32_t u; } fbits;

static inline float lk_pow2i(int32_t n) {  // 2^n for n in [-126, 127]
    fbits b;
    b.i = (n + 127) << 23;
    return b.f;
}

static inline float lk_exp(float x) {
    // Results below the smallest normal float are flushed to 0: computing them would go
    // through denormal arithmetic, which costs ~100 cycles per element on x86 (masked
    // attention scores are -inf, so softmax hits this constantly).
    float xc = fminf(fmaxf(x, -87.3f), 88.8f);
    float n = rintf(xc * 1.44269504088896341f);
    float r = fmaf(n, -0.693359375f, xc);
    r = fmaf(n, 2.12194440e-4f, r);
    float p = 1.9875691500E-4f;
    p = fmaf(p, r, 1.3981999507E-3f);
    p = fmaf(p, r, 8.3334519073E-3f);
    p = fmaf(p, r, 4.1665795894E-2f);
    p = fmaf(p, r, 1.6666665459E-1f);
    p = fmaf(p, r, 5.0000001201E-1f);
    p = fmaf(p, r * r, r) + 1.0f;
    int32_t ni = (int32_t)n;
    int32_t n1 = ni >> 1;  // split the scale so overflow comes out as inf
    int32_t n2 = ni - n1;
    float res = p * lk_pow2i(n1) * lk_pow2i(n2);
    res = x < -87.3f ? 0.0f : res;
    return x != x ? x : res;
}

static inline float lk_log(float x) {
    // handle denormals by pre-scaling
    int den = x < 1.17549435e-38f;
    float xs = den ? x * 8388608.0f : x;  // 2^23
    fbits u;
    u.f = xs;
    int32_t e = ((u.i >> 23) & 0xff) - 127 - (den ? 23 : 0);
    u.i = (u.i & 0x007fffff) | 0x3f800000;  // m in [1, 2)
    float m = u.f;
    int big = m > 1.41421356f;
    m = big ? m * 0.5f : m;
    e += big;
    float f = m - 1.0f;
    float z = f * f;
    float y = 7.0376836292E-2f;
    y = fmaf(y, f, -1.1514610310E-1f);
    y = fmaf(y, f, 1.1676998740E-1f);
    y = fmaf(y, f, -1.2420140846E-1f);
    y = fmaf(y, f, 1.4249322787E-1f);
    y = fmaf(y, f, -1.6668057665E-1f);
    y = fmaf(y, f, 2.0000714765E-1f);
    y = fmaf(y, f, -2.4999993993E-1f);
    y = fmaf(y, f, 3.3333331174E-1f);
    y = y * f * z;
    float fe = (float)e;
    y = fmaf(fe, -2.12194440e-4f, y);
    y = fmaf(z, -0.5f, y);
    float res = f + y;
    res = fmaf(fe, 0.693359375f, res);
    res = x == 0.0f ? -INFINITY : res;
    res = x < 0.0f ? NAN : res;
    res = x == INFINITY ? INFINITY : res;
    return x != x ? x : res;
}

static inline float lk_tanh(float x) {
    float ax = fabsf(x);
    float z = x * x;
    float ps = fmaf(-5.70498872745E-3f, z, 2.06390887954E-2f);
    ps = fmaf(ps, z, -5.37397155531E-2f);
    ps = fmaf(ps, z, 1.33314422036E-1f);
    ps = fmaf(ps, z, -3.33332819422E-1f);
    float small = fmaf(ps * z, x, x);
    float e = lk_exp(2.0f * fminf(ax, 44.0f));
    float large = 1.0f - 2.0f / (e + 1.0f);
    large = copysignf(large, x);
    float res = ax < 0.625f ? small : large;
    return x != x ? x : res;
}

static inline float lk_sigmoid(float x) { return 1.0f / (1.0f + lk_exp(-x)); }

// erfc for x >= 0 with ~1.2e-7 relative accuracy (Numerical Recipes' Chebyshev fit).
static inline float lk_erfc_pos(float ax) {
    float t = 1.0f / (1.0f + 0.5f * ax);
    float p = 0.17087277f;
    p = fmaf(p, t, -0.82215223f);
    p = fmaf(p, t, 1.48851587f);
    p = fmaf(p, t, -1.13520398f);
    p = fmaf(p, t, 0.27886807f);
    p = fmaf(p, t, -0.18628806f);
    p = fmaf(p, t, 0.09678418f);
    p = fmaf(p, t, 0.37409196f);
    p = fmaf(p, t, 1.00002368f);
    p = fmaf(p, t, -1.26551223f);
    return t * lk_exp(-ax * ax + p);
}

// erf for |x| < 0.5: the Taylor series, which keeps small arguments' relative precision.
static inline float lk_erf_small(float x) {
    float z = x * x;
    // 2/sqrt(pi) * (x - x^3/3 + x^5/10 - x^7/42 + x^9/216 - x^11/1320)
    float s = -1.0f / 1320.0f;
    s = fmaf(s, z, 1.0f / 216.0f);
    s = fmaf(s, z, -1.0f / 42.0f);
    s = fmaf(s, z, 1.0f / 10.0f);
    s = fmaf(s, z, -1.0f / 3.0f);
    s = fmaf(s, z, 1.0f);
    return 1.12837916709551257f * x * s;
}

// erf, with the Taylor series near 0.
static inline float lk_erf(float x) {
    float ax = fabsf(x);
    float big = copysignf(1.0f - lk_erfc_pos(ax), x);
    float res = ax < 0.5f ? lk_erf_small(x) : big;
    return x != x ? x : res;
}

#define SQRT_2_OVER_PI 0.7978845608028654f
#define INV_SQRT2 0.7071067811865476f
#define INV_SQRT_2PI 0.3989422804014327f

// 0.5 x (1 + tanh u) = x * sigmoid(2u): no cancellation for negative x
static inline float lk_gelu_tanh(float x) {
    float u = SQRT_2_OVER_PI * fmaf(0.044715f * x * x, x, x);
    return x / (1.0f + lk_exp(-2.0f * u));
}
static inline float lk_gelu_tanh_grad(float x) {
    float x2 = x * x;
    float u = SQRT_2_OVER_PI * fmaf(0.044715f * x2, x, x);
    float s = 1.0f / (1.0f + lk_exp(-2.0f * u));  // (1 + tanh u) / 2
    float du = SQRT_2_OVER_PI * (1.0f + 3.0f * 0.044715f * x2);
    return s + 2.0f * x * s * (1.0f - s) * du;
}
// exp for x <= 0 only (used where the argument is a negated square): one scale by 2^n, no
// overflow path. Results below the smallest normal float are 0, as in lk_exp; NaN gives a number
// (callers propagate NaN from their own input).
static inline float lk_exp_nonpos(float x) {
    float xc = fmaxf(x, -87.3f);
    float n = rintf(xc * 1.44269504088896341f);
    float r = fmaf(n, -0.693359375f, xc);
    r = fmaf(n, 2.12194440e-4f, r);
    float p = 1.9875691500E-4f;
    p = fmaf(p, r, 1.3981999507E-3f);
    p = fmaf(p, r, 8.3334519073E-3f);
    p = fmaf(p, r, 4.1665795894E-2f);
    p = fmaf(p, r, 1.6666665459E-1f);
    p = fmaf(p, r, 5.0000001201E-1f);
    p = fmaf(p, r * r, r) + 1.0f;
    float res = p * lk_pow2i((int32_t)n);
    return x < -87.3f ? 0.0f : res;
}

// gelu(x) = x Phi(x). Phi(-|x|) = erfc(|x| / sqrt 2) / 2 with erfc from lk_erfc_pos's fit
// (relative error ~1.2e-7 for every argument, so there is no cancellation for negative x);
// Phi(|x|) = 1 - Phi(-|x|). The exponent -z^2 + p is formed with one rounding (fma).
static inline float lk_gelu_erf(float x) {
    float z = fabsf(x) * INV_SQRT2;
    float t = 1.0f / fmaf(0.5f, z, 1.0f);
    float p = 0.17087277f;
    p = fmaf(p, t, -0.82215223f);
    p = fmaf(p, t, 1.48851587f);
    p = fmaf(p, t, -1.13520398f);
    p = fmaf(p, t, 0.27886807f);
    p = fmaf(p, t, -0.18628806f);
    p = fmaf(p, t, 0.09678418f);
    p = fmaf(p, t, 0.37409196f);
    p = fmaf(p, t, 1.00002368f);
    p = fmaf(p, t, -1.26551223f);
    float h = 0.5f * t * lk_exp_nonpos(fmaf(-z, z, p));
    float phi = x < 0.0f ? h : 1.0f - h;
    return x * phi;
}
// The derivative Phi(x) + x phi(x), from the forward's output y = x Phi(x): Phi(x) = y / x, so the
// backward costs one division and one exp instead of a second erfc (near 0, where y / x would
// lose precision to denormal y, Phi is 0.5 to float precision).
static inline float lk_gelu_erf_grad_y(float x, float y) {
    float phi = fabsf(x) < 1e-20f ? 0.5f : y / x;
    return phi + x * INV_SQRT_2PI * lk_exp_nonpos(-0.5f * x * x);
}
static inline float lk_silu(float x) { return x / (1.0f + lk_exp(-x)); }
static inline float lk_softplus(float x) {
    float r = lk_log(1.0f + lk_exp(x));
    return x > 20.0f ? x : r;
}
static inline float lk_sign(float x) { return x > 0.0f ? 1.0f : (x < 0.0f ? -1.0f : x); }

// ---- kernel bodies ---------------------------------------------------------------------------

// Element i of every output depends only on element i of the inputs, so an output may be the
// very same array as an input (in-place ops): the loops are vectorized without the compiler's
// runtime overlap check, which would send in-place calls to the scalar loop. The exported
// entry points copy an input that overlaps an output only partly (see `partial_overlap`).
#define VLOOP _Pragma("clang loop vectorize(assume_safety) interleave(enable)") for (long i = 0; i < n; i++)

#define UNARY_BODY                                                                       \
    switch (op) {                                                                        \
    case LK_NEG: VLOOP y[i] = -x[i]; break;                                              \
    case LK_EXP: VLOOP y[i] = lk_exp(x[i]); break;                                       \
    case LK_LOG: VLOOP y[i] = lk_log(x[i]); break;                                       \
    case LK_SQRT: VLOOP y[i] = sqrtf(x[i]); break;                                       \
    case LK_RSQRT: VLOOP y[i] = 1.0f / sqrtf(x[i]); break;                               \
    case LK_TANH: VLOOP y[i] = lk_tanh(x[i]); break;                                     \
    case LK_SIGMOID: VLOOP y[i] = lk_sigmoid(x[i]); break;                               \
    case LK_RELU: VLOOP y[i] = x[i] > 0.0f ? x[i] : (x[i] != x[i] ? x[i] : 0.0f); break;  \
    case LK_GELU_TANH: VLOOP y[i] = lk_gelu_tanh(x[i]); break;                           \
    case LK_GELU_ERF: VLOOP y[i] = lk_gelu_erf(x[i]); break;                             \
    case LK_SILU: VLOOP y[i] = lk_silu(x[i]); break;                                     \
    case LK_ABS: VLOOP y[i] = fabsf(x[i]); break;                                        \
    case LK_RECIP: VLOOP y[i] = 1.0f / x[i]; break;                                      \
    case LK_SQUARE: VLOOP y[i] = x[i] * x[i]; break;                                     \
    case LK_SIN: for (long i = 0; i < n; i++) y[i] = sinf(x[i]); break;                  \
    case LK_COS: for (long i = 0; i < n; i++) y[i] = cosf(x[i]); break;                  \
    case LK_ERF: VLOOP y[i] = lk_erf(x[i]); break;                                       \
    case LK_LOG1P: for (long i = 0; i < n; i++) y[i] = log1pf(x[i]); break;              \
    case LK_EXPM1: for (long i = 0; i < n; i++) y[i] = expm1f(x[i]); break;              \
    case LK_SIGN: VLOOP y[i] = lk_sign(x[i]); break;                                     \
    case LK_FLOOR: VLOOP y[i] = floorf(x[i]); break;                                     \
    case LK_CEIL: VLOOP y[i] = ceilf(x[i]); break;                                       \
    case LK_ROUND: VLOOP y[i] = rintf(x[i]); break;                                      \
    case LK_SOFTPLUS: VLOOP y[i] = lk_softplus(x[i]); break;                             \
    }

#define UNARY_GRAD_BODY                                                                  \
    switch (op) {                                                                        \
    case LK_NEG: VLOOP gx[i] = -g[i]; break;                                             \
    case LK_EXP: VLOOP gx[i] = g[i] * y[i]; break;                                       \
    case LK_LOG: VLOOP gx[i] = g[i] / x[i]; break;                                       \
    case LK_SQRT: VLOOP gx[i] = g[i] * 0.5f / y[i]; break;                               \
    case LK_RSQRT: VLOOP gx[i] = g[i] * -0.5f * y[i] * y[i] * y[i]; break;               \
    case LK_TANH: VLOOP gx[i] = g[i] * (1.0f - y[i] * y[i]); break;                      \
    case LK_SIGMOID: VLOOP gx[i] = g[i] * y[i] * (1.0f - y[i]); break;                   \
    case LK_RELU: VLOOP gx[i] = x[i] > 0.0f ? g[i] : 0.0f; break;                        \
    case LK_GELU_TANH: VLOOP gx[i] = g[i] * lk_gelu_tanh_grad(x[i]); break;              \
    case LK_GELU_ERF: VLOOP gx[i] = g[i] * lk_gelu_erf_grad_y(x[i], y[i]); break;        \
    case LK_SILU: VLOOP {                                                                \
        float s = lk_sigmoid(x[i]);                                                      \
        gx[i] = g[i] * s * (1.0f + x[i] * (1.0f - s));                                   \
    } break;                                                                             \
    case LK_ABS: VLOOP gx[i] = g[i] * lk_sign(x[i]); break;                              \
    case LK_RECIP: VLOOP gx[i] = -g[i] * y[i] * y[i]; break;                             \
    case LK_SQUARE: VLOOP gx[i] = 2.0f * x[i] * g[i]; break;                             \
    case LK_SIN: for (long i = 0; i < n; i++) gx[i] = g[i] * cosf(x[i]); break;          \
    case LK_COS: for (long i = 0; i < n; i++) gx[i] = -g[i] * sinf(x[i]); break;         \
    case LK_ERF: VLOOP gx[i] = g[i] * 1.12837916709551257f * lk_exp(-x[i] * x[i]); break;\
    case LK_LOG1P: VLOOP gx[i] = g[i] / (1.0f + x[i]); break;                            \
    case LK_EXPM1: VLOOP gx[i] = g[i] * (y[i] + 1.0f); break;                            \
    case LK_SOFTPLUS: VLOOP gx[i] = g[i] * lk_sigmoid(x[i]); break;                      \
    default: VLOOP gx[i] = 0.0f; break;                                                  \
    }

#define BINARY_OP(OPV, A, B)                                                             \
    ((OPV) == LK_ADD ? (A) + (B) : (OPV) == LK_SUB ? (A) - (B) : (OPV) == LK_MUL ? (A) * (B) \
     : (OPV) == LK_DIV ? (A) / (B) : (OPV) == LK_RSUB ? (B) - (A) : (OPV) == LK_RDIV ? (B) / (A) \
     : 0.0f)

#define BINARY_BODY(AEXPR, BEXPR, ZEXPR)                                                  \
    switch (op) {                                                                        \
    case LK_ADD: VLOOP ZEXPR = AEXPR + BEXPR; break;                                     \
    case LK_SUB: VLOOP ZEXPR = AEXPR - BEXPR; break;                                     \
    case LK_MUL: VLOOP ZEXPR = AEXPR * BEXPR; break;                                     \
    case LK_DIV: VLOOP ZEXPR = AEXPR / BEXPR; break;                                     \
    case LK_RSUB: VLOOP ZEXPR = BEXPR - AEXPR; break;                                    \
    case LK_RDIV: VLOOP ZEXPR = BEXPR / AEXPR; break;                                    \
    case LK_MAX: VLOOP { float a_ = AEXPR, b_ = BEXPR;                                   \
        ZEXPR = (a_ != a_ || b_ != b_) ? a_ + b_ : (a_ > b_ ? a_ : b_); } break;          \
    case LK_MIN: VLOOP { float a_ = AEXPR, b_ = BEXPR;                                   \
        ZEXPR = (a_ != a_ || b_ != b_) ? a_ + b_ : (a_ < b_ ? a_ : b_); } break;          \
    case LK_POW: for (long i = 0; i < n; i++) ZEXPR = powf(AEXPR, BEXPR); break;         \
    case LK_RPOW: for (long i = 0; i < n; i++) ZEXPR = powf(BEXPR, AEXPR); break;        \
    }

#define SUM_BODY                                                                         \
    float acc[32] = {0};                                                                 \
    long i = 0;                                                                          \
    for (; i + 32 <= n; i += 32) {                                                       \
        _Pragma("clang loop vectorize(enable)") for (int j = 0; j < 32; j++) acc[j] += x[i + j]; \
    }                                                                                    \
    float s = 0.0f;                                                                      \
    for (; i < n; i++) s += x[i];                                                        \
    float t = 0.0f;                                                                      \
    for (int j = 0; j < 32; j++) t += acc[j];                                            \
    return t + s;

#define DEFINE_VARIANT(SFX, ATTR)                                                        \
    ATTR static void unary_##SFX(int op, const float *x, float *y, long n) { UNARY_BODY } \
    ATTR static void unary_grad_##SFX(int op, const float *x, const float *y, const float *g, \
                                      float *gx, long n) { UNARY_GRAD_BODY }             \
    ATTR static void binary_##SFX(int op, const float *a, const float *b, float *z, long n) { \
        BINARY_BODY(a[i], b[i], z[i]) }                                                  \
    ATTR static void binary_scalar_##SFX(int op, const float *a, float s, float *z, long n) { \
        BINARY_BODY(a[i], s, z[i]) }                                                     \
    ATTR static float sum_##SFX(const float *x, long n) { SUM_BODY }                     \
    ATTR static void acc_##SFX(float *y, const float *x, long n) { VLOOP y[i] += x[i]; } \
    ATTR static void axpy_##SFX(float *y, float a, const float *x, long n) {             \
        VLOOP y[i] = fmaf(a, x[i], y[i]); }                                              \
    ATTR static void expsub_##SFX(const float *x, float m, float *y, long n) {           \
        /* whole vectors, then the tail padded to 16 lanes: softmax rows are short and */ \
        /* of any length (causal attention), and a scalar tail would dominate */          \
        long nv = n & ~15L;                                                              \
        _Pragma("clang loop vectorize(assume_safety) interleave(enable)")                \
        for (long i = 0; i < nv; i++) y[i] = lk_exp(x[i] - m);                           \
        if (nv < n) {                                                                    \
            float bx[16], by[16];                                                        \
            long r = n - nv;                                                             \
            for (long k = 0; k < 16; k++) bx[k] = k < r ? x[nv + k] : m;                 \
            _Pragma("clang loop vectorize(enable)")                                      \
            for (long k = 0; k < 16; k++) by[k] = lk_exp(bx[k] - m);                     \
            for (long k = 0; k < r; k++) y[nv + k] = by[k];                              \
        } }                                                                              \
    ATTR static void scale_##SFX(float *y, float s, long n) { VLOOP y[i] *= s; }

// LayerNorm over one row. Sums in double, 16 lanes at a time (the scalar double loops were a
// serial chain of adds: 2% of a training step in the backward alone).
#define LN_BODY                                                                          \
    double sa[16] = {0}, s2[16] = {0};                                                   \
    long i = 0;                                                                          \
    for (; i + 16 <= n; i += 16) {                                                       \
        _Pragma("clang loop vectorize(enable)") for (int j = 0; j < 16; j++) sa[j] += x[i + j]; \
    }                                                                                    \
    double s = 0;                                                                        \
    for (long k = i; k < n; k++) s += x[k];                                              \
    for (int j = 0; j < 16; j++) s += sa[j];                                             \
    float mean = (float)(s / (double)n);                                                 \
    double dm = mean;                                                                    \
    for (i = 0; i + 16 <= n; i += 16) {                                                  \
        _Pragma("clang loop vectorize(enable)") for (int j = 0; j < 16; j++) {           \
            double d = x[i + j] - dm; s2[j] += d * d; }                                  \
    }                                                                                    \
    double ss = 0;                                                                       \
    for (long k = i; k < n; k++) { double d = x[k] - dm; ss += d * d; }                  \
    for (int j = 0; j < 16; j++) ss += s2[j];                                            \
    float rstd = 1.0f / sqrtf((float)(ss / (double)n) + eps);                            \
    if (w && b) { VLOOP y[i] = (x[i] - mean) * rstd * w[i] + b[i]; }                     \
    else if (w) { VLOOP y[i] = (x[i] - mean) * rstd * w[i]; }                            \
    else { VLOOP y[i] = (x[i] - mean) * rstd; }                                          \
    if (mean_out) *mean_out = mean;                                                      \
    if (rstd_out) *rstd_out = rstd;

// dxhat = dy * w; dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat));
// dw += dy * xhat and db += dy (per-thread partial sums).
#define LN_GRAD_BODY                                                                     \
    double pa[16] = {0}, pc[16] = {0};                                                   \
    long i = 0;                                                                          \
    for (; i + 16 <= n; i += 16) {                                                       \
        if (w) {                                                                         \
            _Pragma("clang loop vectorize(enable)") for (int j = 0; j < 16; j++) {       \
                float xh = (x[i + j] - mean) * rstd, d = dy[i + j] * w[i + j];           \
                pa[j] += d; pc[j] += d * xh; }                                           \
        } else {                                                                         \
            _Pragma("clang loop vectorize(enable)") for (int j = 0; j < 16; j++) {       \
                float xh = (x[i + j] - mean) * rstd, d = dy[i + j];                      \
                pa[j] += d; pc[j] += d * xh; }                                           \
        }                                                                                \
    }                                                                                    \
    double a = 0, c = 0;                                                                 \
    for (long k = i; k < n; k++) {                                                       \
        float xh = (x[k] - mean) * rstd, d = w ? dy[k] * w[k] : dy[k];                   \
        a += d; c += d * xh; }                                                           \
    for (int j = 0; j < 16; j++) { a += pa[j]; c += pc[j]; }                             \
    float ma = (float)(a / n), mc = (float)(c / n);                                      \
    if (w) { VLOOP dx[i] = rstd * (dy[i] * w[i] - ma - (x[i] - mean) * rstd * mc); }     \
    else { VLOOP dx[i] = rstd * (dy[i] - ma - (x[i] - mean) * rstd * mc); }              \
    if (dw) { VLOOP dw[i] += dy[i] * (x[i] - mean) * rstd; }                             \
    if (db) { VLOOP db[i] += dy[i]; }

// Softmax backward over one row: gx = y * (g - sum(g * y)), the dot in double, 16 lanes at a
// time (a serial double chain was 1% of a training step in attention's backward).
#define SMGRAD_BODY                                                                      \
    double acc[16] = {0};                                                                \
    long i = 0;                                                                          \
    for (; i + 16 <= n; i += 16) {                                                       \
        _Pragma("clang loop vectorize(enable)") for (int j = 0; j < 16; j++)             \
            acc[j] += (double)g[i + j] * y[i + j];                                       \
    }                                                                                    \
    double dot = 0;                                                                      \
    for (long k = i; k < n; k++) dot += (double)g[k] * y[k];                             \
    for (int j = 0; j < 16; j++) dot += acc[j];                                          \
    float d = (float)dot;                                                                \
    VLOOP gx[i] = y[i] * (g[i] - d);

// Maximum of a row; a NaN anywhere is returned (the first one).
#define MAX_BODY                                                                         \
    float mv[16];                                                                        \
    int bad[16];                                                                         \
    for (int j = 0; j < 16; j++) { mv[j] = -INFINITY; bad[j] = 0; }                      \
    long i = 0;                                                                          \
    for (; i + 16 <= n; i += 16) {                                                       \
        _Pragma("clang loop vectorize(enable)") for (int j = 0; j < 16; j++) {           \
            float v = x[i + j];                                                          \
            bad[j] |= v != v;                                                            \
            mv[j] = v > mv[j] ? v : mv[j]; }                                             \
    }                                                                                    \
    int anybad = 0;                                                                      \
    for (int j = 0; j < 16; j++) anybad |= bad[j];                                       \
    for (long k = i; k < n; k++) anybad |= x[k] != x[k];                                 \
    if (anybad) {                                                                        \
        for (long k = 0; k < n; k++) if (x[k] != x[k]) return x[k];                      \
    }                                                                                    \
    float m = -INFINITY;                                                                 \
    for (int j = 0; j < 16; j++) m = mv[j] > m ? mv[j] : m;                              \
    for (long k = i; k < n; k++) m = x[k] > m ? x[k] : m;                                \
    return m;

// Adam / AdamW (decoupled weight decay) on one contiguous tensor.
#define ADAM_BODY                                                                        \
    float ib1 = 1.0f - b1, ib2 = 1.0f - b2;                                              \
    float rbc1 = 1.0f / bc1, rbc2 = 1.0f / bc2;                                          \
    if (decoupled) {                                                                     \
        float decay = 1.0f - lr * wd;                                                    \
        VLOOP {                                                                          \
            float gi = g[i];                                                             \
            float mi = b1 * m[i] + ib1 * gi;                                             \
            float vi = b2 * v[i] + ib2 * gi * gi;                                        \
            m[i] = mi;                                                                   \
            v[i] = vi;                                                                   \
            p[i] = p[i] * decay - lr * (mi * rbc1) / (sqrtf(vi * rbc2) + eps);           \
        }                                                                                \
    } else {                                                                             \
        VLOOP {                                                                          \
            float gi = g[i] + wd * p[i];                                                 \
            float mi = b1 * m[i] + ib1 * gi;                                             \
            float vi = b2 * v[i] + ib2 * gi * gi;                                        \
            m[i] = mi;                                                                   \
            v[i] = vi;                                                                   \
            p[i] -= lr * (mi * rbc1) / (sqrtf(vi * rbc2) + eps);                         \
        }                                                                                \
    }

#define DEFINE_LN_VARIANT(SFX, ATTR)                                                     \
    ATTR static void adam_##SFX(float *p, const float *g, float *m, float *v, long n, float lr, float b1, \
                                float b2, float eps, float wd, int decoupled, float bc1, float bc2) { ADAM_BODY } \
    ATTR static void smgrad_##SFX(const float *y, const float *g, float *gx, long n) { SMGRAD_BODY } \
    ATTR static float rowmax_##SFX(const float *x, long n) { MAX_BODY }                  \
    ATTR static void lnrow_##SFX(const float *x, const float *w, const float *b, float *y, long n, \
                                 float eps, float *mean_out, float *rstd_out) { LN_BODY } \
    ATTR static void lngrad_##SFX(const float *x, const float *w, const float *dy, float mean, \
                                  float rstd, float *dx, float *dw, float *db, long n) { LN_GRAD_BODY }

#define ATTR_512 __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,avx2,fma,bmi2")))
#define ATTR_AVX2 __attribute__((target("avx2,fma")))
#define ATTR_BASE

DEFINE_VARIANT(avx512, ATTR_512)
DEFINE_VARIANT(avx2, ATTR_AVX2)
DEFINE_VARIANT(base, ATTR_BASE)
DEFINE_LN_VARIANT(avx512, ATTR_512)
DEFINE_LN_VARIANT(avx2, ATTR_AVX2)
DEFINE_LN_VARIANT(base, ATTR_BASE)

// ---- dispatch -------------------------------------------------------------------------------

static int simd_level = -1;

static int os_supports_avx512(void) {
    // XGETBV: the OS saves opmask and ZMM state (bits 5, 6, 7) plus YMM/XMM (bits 1, 2)
    uint32_t eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return (eax & 0xE6) == 0xE6;
}
static int os_supports_avx(void) {
    uint32_t eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return (eax & 0x6) == 0x6;
}

int lk_simd_level(void) {
    if (simd_level >= 0) return simd_level;
    int level = 0;
    __builtin_cpu_init();
    // OSXSAVE (CPUID.1:ECX bit 27) must be set before XGETBV may be used
    uint32_t a, b, c, d;
    __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1), "c"(0));
    if (c & (1u << 27)) {
        if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && os_supports_avx()) level = 2;
        if (level == 2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
            __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") && os_supports_avx512())
            level = 3;
    }
    const char *env = getenv("LATHE_SIMD");  // for tests: force a lower level
    if (env && env[0] >= '0' && env[0] <= '3') {
        int forced = env[0] - '0';
        if (forced < level) level = forced;
    }
    simd_level = level;
    return level;
}

#define DISPATCH(NAME, ...)                                                              \
    switch (lk_simd_level()) {                                                           \
    case 3: return NAME##_avx512(__VA_ARGS__);                                           \
    case 2: return NAME##_avx2(__VA_ARGS__);                                             \
    default: return NAME##_base(__VA_ARGS__);                                            \
    }

static inline int partial_overlap(const float *in, const float *out, long n) {
    return in != out && in < out + n && out < in + n;
}
// A private copy of an input that partly overlaps the output (freed by the caller).
static const float *detach(const float *in, const float *out, long n, float **owned) {
    if (!in || n <= 0 || !partial_overlap(in, out, n)) return in;
    float *c = (float *)malloc((size_t)n * sizeof(float));
    if (!c) abort();
    memcpy(c, in, (size_t)n * sizeof(float));
    *owned = c;
    return c;
}

void lk_layernorm_row(const float *x, const float *w, const float *b, float *y, long n, float eps,
                      float *mean_out, float *rstd_out) {
    DISPATCH(lnrow, x, w, b, y, n, eps, mean_out, rstd_out)
}
void lk_layernorm_grad_row(const float *x, const float *w, const float *dy, float mean, float rstd,
                           float *dx, float *dw, float *db, long n) {
    DISPATCH(lngrad, x, w, dy, mean, rstd, dx, dw, db, n)
}

static void unary(int op, const float *x, float *y, long n) { DISPATCH(unary, op, x, y, n) }
void lk_unary_f32(int op, const float *x, float *y, long n) {
    float *o1 = NULL;
    x = detach(x, y, n, &o1);
    unary(op, x, y, n);
    free(o1);
}
static void unary_grad(int op, const float *x, const float *y, const float *g, float *gx, long n) {
    DISPATCH(unary_grad, op, x, y, g, gx, n)
}
void lk_unary_grad_f32(int op, const float *x, const float *y, const float *g, float *gx, long n) {
    float *o1 = NULL, *o2 = NULL, *o3 = NULL;
    x = detach(x, gx, n, &o1); y = detach(y, gx, n, &o2); g = detach(g, gx, n, &o3);
    unary_grad(op, x, y, g, gx, n);
    free(o1); free(o2); free(o3);
}
static void binary(int op, const float *a, const float *b, float *z, long n) { DISPATCH(binary, op, a, b, z, n) }
void lk_binary_f32(int op, const float *a, const float *b, float *z, long n) {
    float *o1 = NULL, *o2 = NULL;
    a = detach(a, z, n, &o1); b = detach(b, z, n, &o2);
    binary(op, a, b, z, n);
    free(o1); free(o2);
}
static void binary_scalar(int op, const float *a, float s, float *z, long n) { DISPATCH(binary_scalar, op, a, s, z, n) }
void lk_binary_scalar_f32(int op, const float *a, float s, float *z, long n) {
    float *o1 = NULL;
    a = detach(a, z, n, &o1);
    binary_scalar(op, a, s, z, n);
    free(o1);
}
float lk_sum_f32(const float *x, long n) { DISPATCH(sum, x, n) }
static void acc(float *y, const float *x, long n) { DISPATCH(acc, y, x, n) }
void lk_acc_f32(float *y, const float *x, long n) {
    float *o1 = NULL;
    x = detach(x, y, n, &o1);
    acc(y, x, n);
    free(o1);
}
static void axpy(float *y, float a, const float *x, long n) { DISPATCH(axpy, y, a, x, n) }
void lk_axpy_f32(float *y, float a, const float *x, long n) {
    float *o1 = NULL;
    x = detach(x, y, n, &o1);
    axpy(y, a, x, n);
    free(o1);
}
static void expsub_raw(const float *x, float m, float *y, long n) { DISPATCH(expsub, x, m, y, n) }
static void expsub(const float *x, float m, float *y, long n) {
    float *o1 = NULL;
    x = detach(x, y, n, &o1);
    expsub_raw(x, m, y, n);
    free(o1);
}
void lk_expsub_f32(const float *x, float m, float *y, long n) { expsub(x, m, y, n); }
static void scale(float *y, float s, long n) { DISPATCH(scale, y, s, n) }

void lk_binary_strided_f32(int op, const float *a, long sa, const float *b, long sb, float *z, long sz, long n) {
    if (sa == 1 && sb == 1 && sz == 1) { lk_binary_f32(op, a, b, z, n); return; }
    if (sa == 1 && sb == 0 && sz == 1) { lk_binary_scalar_f32(op, a, b[0], z, n); return; }
    if (sa == 0 && sb == 1 && sz == 1) {
        // s op b: use the reversed ops
        int rop = op == LK_SUB ? LK_RSUB : op == LK_DIV ? LK_RDIV : op == LK_POW ? LK_RPOW
                : op == LK_RSUB ? LK_SUB : op == LK_RDIV ? LK_DIV : op == LK_RPOW ? LK_POW : op;
        lk_binary_scalar_f32(rop, b, a[0], z, n);
        return;
    }
    BINARY_BODY(a[i * sa], b[i * sb], z[i * sz])
}

void lk_compare_strided_f32(int op, const float *a, long sa, const float *b, long sb, uint8_t *z, long n) {
    switch (op) {
    case LK_EQ: for (long i = 0; i < n; i++) z[i] = a[i * sa] == b[i * sb]; break;
    case LK_NE: for (long i = 0; i < n; i++) z[i] = a[i * sa] != b[i * sb]; break;
    case LK_LT: for (long i = 0; i < n; i++) z[i] = a[i * sa] < b[i * sb]; break;
    case LK_LE: for (long i = 0; i < n; i++) z[i] = a[i * sa] <= b[i * sb]; break;
    case LK_GT: for (long i = 0; i < n; i++) z[i] = a[i * sa] > b[i * sb]; break;
    case LK_GE: for (long i = 0; i < n; i++) z[i] = a[i * sa] >= b[i * sb]; break;
    }
}

double lk_sum_f64acc(const float *x, long n) {
    double acc[8] = {0};
    long i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) acc[j] += x[i + j];
    double s = 0;
    for (; i < n; i++) s += x[i];
    for (int j = 0; j < 8; j++) s += acc[j];
    return s;
}

float lk_max_f32(const float *x, long n) { DISPATCH(rowmax, x, n) }
float lk_min_f32(const float *x, long n) {
    float m = INFINITY;
    for (long i = 0; i < n; i++) {
        if (x[i] != x[i]) return x[i];
        m = x[i] < m ? x[i] : m;
    }
    return m;
}
long lk_argmax_f32(const float *x, long n) {
    long best = 0;
    for (long i = 0; i < n; i++) {
        if (x[i] != x[i]) return i;
        if (x[i] > x[best]) best = i;
    }
    return best;
}
long lk_argmin_f32(const float *x, long n) {
    long best = 0;
    for (long i = 0; i < n; i++) {
        if (x[i] != x[i]) return i;
        if (x[i] < x[best]) best = i;
    }
    return best;
}
double lk_sqdev_f32(const float *x, long n, double mean) {
    double acc[4] = {0};
    long i = 0;
    for (; i + 4 <= n; i += 4)
        for (int j = 0; j < 4; j++) { double d = x[i + j] - mean; acc[j] += d * d; }
    double s = 0;
    for (; i < n; i++) { double d = x[i] - mean; s += d * d; }
    return s + acc[0] + acc[1] + acc[2] + acc[3];
}
void lk_max_acc_f32(float *y, long *idx, const float *x, long r, long n, int is_min) {
    if (is_min) {
        for (long i = 0; i < n; i++)
            if (x[i] < y[i] || (x[i] != x[i] && y[i] == y[i])) { y[i] = x[i]; if (idx) idx[i] = r; }
    } else {
        for (long i = 0; i < n; i++)
            if (x[i] > y[i] || (x[i] != x[i] && y[i] == y[i])) { y[i] = x[i]; if (idx) idx[i] = r; }
    }
}

void lk_softmax_row_f32(const float *x, float *y, long n) {
    if (n <= 0) return;
    float m = lk_max_f32(x, n);
    if (m == -INFINITY) m = 0.0f;  // a fully masked row: exp gives 0s, 0/0 -> nan like torch
    expsub(x, m, y, n);
    float s = lk_sum_f32(y, n);
    scale(y, 1.0f / s, n);
}
float lk_logsumexp_row_f32(const float *x, long n) {
    if (n <= 0) return -INFINITY;
    float m = lk_max_f32(x, n);
    if (m == -INFINITY || m == INFINITY || m != m) return m;
    // exp in vectorized chunks through a stack buffer, summed in double
    float buf[512];
    double s = 0;
    for (long i = 0; i < n; i += 512) {
        long k = n - i < 512 ? n - i : 512;
        expsub(x + i, m, buf, k);
        s += lk_sum_f32(buf, k);
    }
    return m + (float)log(s);
}
void lk_log_softmax_row_f32(const float *x, float *y, long n) {
    if (n <= 0) return;
    float lse = lk_logsumexp_row_f32(x, n);
    lk_binary_scalar_f32(LK_SUB, x, lse, y, n);
}
void lk_softmax_grad_row_f32(const float *y, const float *g, float *gx, long n) { DISPATCH(smgrad, y, g, gx, n) }
void lk_adam_step(float *p, const float *g, float *m, float *v, long n, float lr, float b1, float b2,
                  float eps, float wd, int decoupled, float bc1, float bc2) {
    DISPATCH(adam, p, g, m, v, n, lr, b1, b2, eps, wd, decoupled, bc1, bc2)
}
void lk_log_softmax_grad_row_f32(const float *y, const float *g, float *gx, long n) {
    float s = lk_sum_f32(g, n);
    for (long i = 0; i < n; i++) gx[i] = g[i] - lk_exp(y[i]) * s;
}

void lk_copy_strided_f32(const float *src, long s0, long s1, float *dst, long n0, long n1) {
    if (s1 == 1) {
        for (long i = 0; i < n0; i++) memcpy(dst + i * n1, src + i * s0, (size_t)n1 * sizeof(float));
        return;
    }
    // blocked transpose-friendly copy
    const long B = 32;
    for (long i0 = 0; i0 < n0; i0 += B)
        for (long j0 = 0; j0 < n1; j0 += B) {
            long ie = i0 + B < n0 ? i0 + B : n0, je = j0 + B < n1 ? j0 + B : n1;
            for (long i = i0; i < ie; i++)
                for (long j = j0; j < je; j++) dst[i * n1 + j] = src[i * s0 + j * s1];
        }
}
