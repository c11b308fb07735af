// Row kernels for neural-network layers (float32, contiguous rows).
#ifndef LK_NN_H
#define LK_NN_H

// LayerNorm of one row: y = (x - mean) * rstd * w + b (w/b may be NULL); stores mean, rstd.
void lk_layernorm_row(const float *x, const float *w, const float *b, float *y, long n, float eps,
                      float *mean_out, float *rstd_out);
// Backward of one row: dx (written), dw/db (accumulated, may be NULL).
void lk_layernorm_grad_row(const float *x, const float *w, const float *dy, float mean, float rstd,
                           float *dx, float *dw, float *db, long n);
// RMSNorm: y = x * rrms * w, rrms = 1/sqrt(mean(x^2) + eps); stores rrms.
void lk_rmsnorm_row(const float *x, const float *w, float *y, long n, float eps, float *rrms_out);
void lk_rmsnorm_grad_row(const float *x, const float *w, const float *dy, float rrms, float *dx, float *dw, long n);

// Cross-entropy of one row of logits against class `target` with label smoothing eps:
// returns the loss; when `grad` is non-NULL writes (softmax - smoothed one-hot) * scale.
float lk_xent_row(const float *logits, long n, long target, float smoothing, float *grad, float scale);

// AdamW / Adam update of n parameters (decoupled weight decay when `decoupled`):
//   m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;  p -= lr * (m/bc1) / (sqrt(v/bc2) + eps)
void lk_adam_step(float *p, const float *g, float *m, float *v, long n, float lr, float b1, float b2,
                  float eps, float wd, int decoupled, float bc1, float bc2);
// SGD with momentum/Nesterov and weight decay.
void lk_sgd_step(float *p, const float *g, float *buf, long n, float lr, float momentum, float dampening,
                 float wd, int nesterov, int first);
// sum of squares (double accumulation), for gradient-norm clipping
double lk_sumsq_f32(const float *x, long n);
// count of non-finite values
long lk_count_nonfinite(const float *x, long n);

#endif
