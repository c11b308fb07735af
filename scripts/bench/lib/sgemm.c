// Reference point for matmul: cblas_sgemm called directly from C (same OpenBLAS, same
// threads). Prints "n gflops" lines for the sizes given on the command line.
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    for (int a = 1; a < argc; a++) {
        int n = atoi(argv[a]);
        float *A = malloc(sizeof(float) * n * n), *B = malloc(sizeof(float) * n * n), *C = malloc(sizeof(float) * n * n);
        for (long i = 0; i < (long)n * n; i++) { A[i] = (float)(i % 7) * 0.1f; B[i] = (float)(i % 5) * 0.1f; }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, A, n, B, n, 0, C, n);
        double flop = 2.0 * n * n * n;
        int reps = (int)(2e10 / flop) + 3;
        double best = 1e30;
        for (int r = 0; r < reps; r++) {
            double t0 = now();
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, A, n, B, n, 0, C, n);
            double dt = now() - t0;
            if (dt < best) best = dt;
        }
        printf("%d %.2f\n", n, flop / best / 1e9);
        free(A); free(B); free(C);
    }
    return 0;
}
