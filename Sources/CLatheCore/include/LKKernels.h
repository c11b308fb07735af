// Vectorized float32 kernels for the tensor core. Each runs over a contiguous range; the
// Swift side splits large ranges over threads. Transcendental functions use branch-free
// polynomial approximations (max error ~1-3 ulp for exp/log, ~2e-7 absolute for erf/tanh),
// compiled for AVX-512, AVX2+FMA and a generic baseline, chosen at run time.
#ifndef LK_KERNELS_H
#define LK_KERNELS_H

#include <stddef.h>
#include <stdint.h>

// unary ops: y[i] = f(x[i])
enum {
    LK_NEG = 0, LK_EXP, LK_LOG, LK_SQRT, LK_RSQRT, LK_TANH, LK_SIGMOID, LK_RELU,
    LK_GELU_TANH, LK_GELU_ERF, LK_SILU, LK_ABS, LK_RECIP, LK_SQUARE, LK_SIN, LK_COS,
    LK_ERF, LK_LOG1P, LK_EXPM1, LK_SIGN, LK_FLOOR, LK_CEIL, LK_ROUND, LK_SOFTPLUS
};
void lk_unary_f32(int op, const float *x, float *y, long n);

// backward of unary ops: gx[i] = g[i] * f'(x[i]) (x = input, y = output where handy)
void lk_unary_grad_f32(int op, const float *x, const float *y, const float *g, float *gx, long n);

// binary ops
enum { LK_ADD = 0, LK_SUB, LK_MUL, LK_DIV, LK_POW, LK_MAX, LK_MIN, LK_RSUB, LK_RDIV, LK_RPOW };
// z = a op b, all contiguous, length n
void lk_binary_f32(int op, const float *a, const float *b, float *z, long n);
// z = a op s (scalar)
void lk_binary_scalar_f32(int op, const float *a, float s, float *z, long n);
// strided inner loop: z[i*sz] = a[i*sa] op b[i*sb]
void lk_binary_strided_f32(int op, const float *a, long sa, const float *b, long sb, float *z, long sz, long n);

// comparisons -> bytes (1/0)
enum { LK_EQ = 0, LK_NE, LK_LT, LK_LE, LK_GT, LK_GE };
void lk_compare_strided_f32(int op, const float *a, long sa, const float *b, long sb, uint8_t *z, long n);

// reductions over a contiguous run
float lk_sum_f32(const float *x, long n);
double lk_sum_f64acc(const float *x, long n);
float lk_max_f32(const float *x, long n);
float lk_min_f32(const float *x, long n);
// index of the first max / min (NaN counts as max, like torch)
long lk_argmax_f32(const float *x, long n);
long lk_argmin_f32(const float *x, long n);
// sum of (x - mean)^2
double lk_sqdev_f32(const float *x, long n, double mean);
// y += x (accumulate a row), y += a*x
void lk_acc_f32(float *y, const float *x, long n);
void lk_axpy_f32(float *y, float a, const float *x, long n);
// y = max(y, x) elementwise, recording argmax positions (index r) when x wins
void lk_max_acc_f32(float *y, long *idx, const float *x, long r, long n, int is_min);

// y = exp(x - m)
void lk_expsub_f32(const float *x, float m, float *y, long n);

// softmax / log-softmax of one row (in place allowed)
void lk_softmax_row_f32(const float *x, float *y, long n);
void lk_log_softmax_row_f32(const float *x, float *y, long n);
// backward: gx = y * (g - sum(g*y))  and for log-softmax gx = g - exp(y) * sum(g)
void lk_softmax_grad_row_f32(const float *y, const float *g, float *gx, long n);
void lk_log_softmax_grad_row_f32(const float *y, const float *g, float *gx, long n);
float lk_logsumexp_row_f32(const float *x, long n);

// copies a strided 2-D block to contiguous (used by contiguous())
void lk_copy_strided_f32(const float *src, long s0, long s1, float *dst, long n0, long n1);

// which SIMD level the kernels dispatch to: 0 generic, 2 avx2, 3 avx512
int lk_simd_level(void);

#endif
