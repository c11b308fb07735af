#include "LKNN.h"
#include "LKKernels.h"

#include <math.h>
#include <stddef.h>

#define VLOOP _Pragma("clang loop vectorize(enable) interleave(enable)") for (long i = 0; i < n; i++)

// lk_layernorm_row and lk_layernorm_grad_row are in kernels.c (vectorized per SIMD level).

void lk_rmsnorm_row(const float *x, const float *w, float *y, long n, float eps, float *rrms_out) {
    double ss = 0;
    for (long i = 0; i < n; i++) ss += (double)x[i] * x[i];
    float r = 1.0f / sqrtf((float)(ss / (double)n) + eps);
    if (w) { VLOOP y[i] = x[i] * r * w[i]; } else { VLOOP y[i] = x[i] * r; }
    if (rrms_out) *rrms_out = r;
}

void lk_rmsnorm_grad_row(const float *x, const float *w, const float *dy, float r, float *dx, float *dw, long n) {
    // y = x r w;  dx = r (dy w) - x r^3 mean(dy w x)
    double c = 0;
    for (long i = 0; i < n; i++) c += (double)(w ? dy[i] * w[i] : dy[i]) * x[i];
    float mc = (float)(c / n);
    float r3 = r * r * r;
    if (w) { VLOOP dx[i] = r * dy[i] * w[i] - x[i] * r3 * mc; } else { VLOOP dx[i] = r * dy[i] - x[i] * r3 * mc; }
    if (dw) { VLOOP dw[i] += dy[i] * x[i] * r; }
}

float lk_xent_row(const float *logits, long n, long target, float smoothing, float *grad, float scale) {
    float lse = lk_logsumexp_row_f32(logits, n);
    float loss = lse - logits[target];
    if (smoothing > 0) {
        double mean = lk_sum_f64acc(logits, n) / (double)n;
        loss = (1.0f - smoothing) * loss + smoothing * (lse - (float)mean);
    }
    if (grad) {
        float u = smoothing / (float)n;
        lk_expsub_f32(logits, lse, grad, n);  // softmax = exp(x - lse)
        for (long i = 0; i < n; i++) grad[i] = (grad[i] - u) * scale;
        grad[target] -= (1.0f - smoothing) * scale;
    }
    return loss;
}

// lk_adam_step is in kernels.c (vectorized per SIMD level).

void lk_sgd_step(float *p, const float *g, float *buf, long n, float lr, float momentum, float dampening,
                 float wd, int nesterov, int first) {
    if (momentum == 0.0f || !buf) {
        VLOOP p[i] -= lr * (g[i] + wd * p[i]);
        return;
    }
    VLOOP {
        float d = g[i] + wd * p[i];
        float b = first ? d : momentum * buf[i] + (1.0f - dampening) * d;
        buf[i] = b;
        float step = nesterov ? d + momentum * b : b;
        p[i] -= lr * step;
    }
}

double lk_sumsq_f32(const float *x, long n) {
    double acc[4] = {0, 0, 0, 0};
    long i = 0;
    for (; i + 4 <= n; i += 4)
        for (int j = 0; j < 4; j++) acc[j] += (double)x[i + j] * x[i + j];
    double s = acc[0] + acc[1] + acc[2] + acc[3];
    for (; i < n; i++) s += (double)x[i] * x[i];
    return s;
}

long lk_count_nonfinite(const float *x, long n) {
    long c = 0;
    for (long i = 0; i < n; i++) c += !isfinite(x[i]);
    return c;
}
