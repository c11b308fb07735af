// The BLIS-style GEMM driver shared by every kernel family, and the public entry points.
//
// Loops (per K block of kc, then per N block of nc):
//   1. pack the B block (kc x nc) into nr-wide micro-panels, in parallel over micro-panels;
//   2. in parallel over chunks of A micro-panels (mr rows; and over N ranges when M is small):
//      pack one A micro-panel (stays in L1) and sweep it over the B micro-panels (the B
//      block stays in L2), calling the micro-kernel on each mr x nr tile of C. With several
//      N blocks the first packs every A micro-panel of the K block into a shared buffer and
//      the others read it from there.
// kc is sized so an A micro-panel fills about half of L1, nc so the B block fills about half
// of L2. Edge tiles are computed into a local buffer and merged with masks, so any M, N, K and any
// leading dimensions work; K is never padded with data (only with zeros in both operands),
// so NaN and Inf propagate as in the plain triple loop.
#define _GNU_SOURCE
#include "CGemm.h"
#include "internal.h"

#include <immintrin.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// ---- per-thread buffers ------------------------------------------------------------------
typedef struct {
    void *p;
    size_t cap;
} buf_t;
static _Thread_local buf_t tl_bufB, tl_bufA, tl_bufC, tl_bufAall;

// Packing buffers are a few MiB at most; running out of memory for them aborts, like the
// rest of Lathe's allocations (a product must never return half computed).
static void *buf_get(buf_t *b, size_t bytes) {
    if (b->cap < bytes) {
        free(b->p);
        size_t cap = (bytes + 4095) & ~(size_t)4095;
        b->p = aligned_alloc(4096, cap);
        if (!b->p) {
            fprintf(stderr, "lathe: out of memory allocating %zu bytes for matrix packing\n", cap);
            abort();
        }
        b->cap = cap;
    }
    return b->p;
}

// ---- blocking ---------------------------------------------------------------------------
static long env_long(const char *name, long dflt) {
    const char *s = getenv(name);
    if (!s || !*s) return dflt;
    long v = strtol(s, NULL, 10);
    return v > 0 ? v : dflt;
}

void lg_kd_tune(kdesc *kd) {
    long l1 = lg_cache_l1d(), l2 = lg_cache_l2();
    if (l1 < 16384) l1 = 32768;
    if (l2 < 131072) l2 = 262144;
    // K block: an A micro-panel (mr x kc) of about the whole L1, up to 1024. Long K blocks mean
    // fewer passes over C and fewer repacks of B, and the streaming B micro-panels keep the
    // kernel fed from L2, so the A panel need not leave room for them in L1.
    long kc = l1 / ((long)kd->mr * kd->esize);
    if (kd->esize == 2) kc /= 2;    // bf16: half of L1, which did better than all of it on AMX
    kc = kc < 1024 ? (kc + 127) / 128 * 128 : 1024;
    if (kc < 128) kc = 128;
    kc = env_long("LATHE_GEMM_KC", kc);
    kc = (kc + kd->kalign - 1) / kd->kalign * kd->kalign;
    kd->kc = kc;
    // N block: the packed B block (kc x nc) in half of L2; nc is derived per product from
    // the K block actually used (lg_gemm_drive), this is the budget in bytes.
    kd->nc = env_long("LATHE_GEMM_NC", 0);
    kd->l2_bytes = l2 / 2;
}

static long balanced(long total, long maxblock, long align) {
    long nb = (total + maxblock - 1) / maxblock;
    long b = (total + nb - 1) / nb;
    return (b + align - 1) / align * align;
}

// ---- the driver ----------------------------------------------------------------------------
typedef struct {
    const kdesc *kd;
    int transA, transB;
    const float *A, *B;
    long lda, ldb, ldc;
    float *C;
    float alpha, beta;
    long M;
    long k0, kc, kcp, j0, nc;
    const float *bias;   // added to every row of C after the last K block (NULL: none)
    int last_k;          // this is the last K block
    float *acc_into;     // after the last K block, each tile of C is also added into this
    long ld_acc;         // (the K split's second half, run after the first on one thread)
    char *bpack;         // packed B block
    long mpanels;        // A micro-panels in M
    long mchunk;         // A micro-panels per task
    long nsplit, nchunk; // N split into nsplit ranges of nchunk B micro-panels
    long npanels;
    char *apack;         // every A micro-panel of the K block, shared by its N blocks (NULL: per task)
    int apack_fill;      // this N block packs them (the first); later ones only read
    int causal;          // LG_CAUSAL_* (0: the whole product)
    long shift;          // causal: row i of op(A) sees columns (keys) up to i + shift
} drive_t;

static void task_pack_b(void *ctx, long t, int worker) {
    (void)worker;
    drive_t *d = ctx;
    const kdesc *kd = d->kd;
    long j = t * kd->nr;
    long n = d->nc - j < kd->nr ? d->nc - j : kd->nr;
    size_t panel = (size_t)d->kcp * kd->nr * kd->esize;
    kd->pack_b(d->transB, d->B, d->ldb, d->k0, d->kc, d->kcp, d->j0 + j, n, d->bpack + t * panel);
}

// Non-transposed B (stored K x N): one task packs 64 rows of K for every micro-panel, so each
// row of B is read once from start to end (a micro-panel at a time would read 32 columns of
// every row: one page per row, TLB and prefetcher unfriendly when rows are long).
#define PACK_KSTEP 64
static void task_pack_b_rows(void *ctx, long t, int worker) {
    (void)worker;
    drive_t *d = ctx;
    const kdesc *kd = d->kd;
    long kk = t * PACK_KSTEP;
    long len = d->kc - kk < PACK_KSTEP ? d->kc - kk : PACK_KSTEP;
    long lenp = d->kcp - kk < PACK_KSTEP ? d->kcp - kk : PACK_KSTEP;
    if (len < 0) len = 0;
    size_t panel = (size_t)d->kcp * kd->nr * kd->esize;
    if (kd->pack_b_rows) {
        kd->pack_b_rows(d->B, d->ldb, d->k0 + kk, len, lenp, d->j0, d->nc, d->npanels,
                        d->bpack + (size_t)kk * kd->nr * kd->esize, panel);
        return;
    }
    for (long q = 0; q < d->npanels; q++) {
        long j = q * kd->nr;
        long n = d->nc - j < kd->nr ? d->nc - j : kd->nr;
        kd->pack_b(d->transB, d->B, d->ldb, d->k0 + kk, len, lenp, d->j0 + j, n,
                   d->bpack + q * panel + (size_t)kk * kd->nr * kd->esize);
    }
}

// dst[0:m, 0:n] += src[0:m, 0:n]; ldsrc = 0 adds the same row (a bias) to every row. Used on tiles
// the kernel just wrote (still in L1) and by the K split's sum.
static void add_rows(float *dst, long lddst, const float *src, long ldsrc, long m, long n) {
    for (long i = 0; i < m; i++)
        for (long j = 0; j < n; j++) dst[i * lddst + j] += src[i * ldsrc + j];
}

__attribute__((target("avx512f"))) static void add_rows_avx512(float *dst, long lddst, const float *src, long ldsrc,
                                                                long m, long n) {
    for (long i = 0; i < m; i++) {
        for (long j = 0; j < n; j += 16) {
            __mmask16 k = lg_mask16(n - j);
            float *d = dst + i * lddst + j;
            _mm512_mask_storeu_ps(d, k, _mm512_add_ps(_mm512_maskz_loadu_ps(k, d), _mm512_maskz_loadu_ps(k, src + i * ldsrc + j)));
        }
    }
}

// Causal products (LG_CAUSAL_KPREFIX / KSUFFIX): the part [klo, klo + kn) of this K block (in
// whole pairs/tiles of kalign, within kcp) that a micro-panel's rows [i, i + m) of op(A) need;
// the whole block otherwise.
static void causal_krange(const drive_t *d, long i, long m, long *klo, long *kn) {
    *klo = 0;
    *kn = d->kcp;
    if (d->causal != LG_CAUSAL_KPREFIX && d->causal != LG_CAUSAL_KSUFFIX) return;
    long lo = d->causal == LG_CAUSAL_KPREFIX ? 0 : i - d->shift;
    long hi = d->causal == LG_CAUSAL_KPREFIX ? i + m + d->shift : d->k0 + d->kc;
    lo = lo - d->k0 < 0 ? 0 : lo - d->k0;
    hi = hi - d->k0 > d->kc ? d->kc : hi - d->k0;
    const long al = d->kd->kalign;
    lo = lo / al * al;
    hi = (hi + al - 1) / al * al;
    if (hi > d->kcp) hi = d->kcp;
    *klo = hi > lo ? lo : 0;
    *kn = hi > lo ? hi - lo : 0;
}

// ---- the compute tasks: packing A, sweeping it over the B block ---------------------------
// Task t's share: A micro-panels [p0, p1) against B micro-panels [q0, q1). Tasks are numbered
// M chunk first, N range second, as plan_compute_tasks counted them. Returns 0 when empty.
static inline int task_share(const drive_t *d, long t, long *p0, long *p1, long *q0, long *q1) {
    long mt = t / d->nsplit, nt = t % d->nsplit;
    *p0 = mt * d->mchunk;
    *p1 = *p0 + d->mchunk < d->mpanels ? *p0 + d->mchunk : d->mpanels;
    *q0 = nt * d->nchunk;
    *q1 = *q0 + d->nchunk < d->npanels ? *q0 + d->nchunk : d->npanels;
    return *p0 < *p1 && *q0 < *q1;
}

// How many A micro-panels are packed together. A transposed A (stored K x M) is packed for
// several panels at once so that each source row yields a run of values for all of them rather
// than mr: a row of a large A is a page or more from the next, so short runs cost cache-line and
// TLB misses. With a pack_a_rows the group is as many panels as the B block's L2 budget holds,
// and every source row is then read once, start to end. A non-transposed A needs no grouping.
static inline long a_group_panels(const drive_t *d, int arows, size_t apanel) {
    if (d->transA != LG_TRANS) return 1;
    if (!arows) return 8;
    long group = (long)((size_t)d->kd->l2_bytes / apanel);
    return group < 8 ? 8 : group;
}

// One A micro-panel, packed right before its sweep so it is still in L1 when the kernel reads
// it. A causal product packs only the part of K the panel's rows see: the kernel never reads
// the rest (causal_krange gives it the same range).
static inline void pack_a_panel(const drive_t *d, long p, char *ap) {
    const kdesc *kd = d->kd;
    const int mr = kd->mr;
    long i = p * mr, m = d->M - i < mr ? d->M - i : mr, klo, kn;
    causal_krange(d, i, m, &klo, &kn);
    long len = d->kc - klo < kn ? d->kc - klo : kn;
    if (kn > 0) kd->pack_a(d->transA, d->A, d->lda, i, m, d->k0 + klo, len, kn, ap + (size_t)klo * mr * kd->esize);
}

// A group of transposed-A panels through the family's row packer: one pass down the source rows
// of the whole group (bf16: a pair of rows at a time), each row read start to end.
static inline void pack_a_group_rows(const drive_t *d, long g0, long g1, char *ap, size_t apanel) {
    const long mr = d->kd->mr;
    long i = g0 * mr, m = g1 * mr < d->M ? g1 * mr - i : d->M - i;
    d->kd->pack_a_rows(d->A, d->lda, i, m, d->k0, d->kc, d->kcp, ap, apanel);
}

// A group of transposed-A panels without a row packer: 64 k at a time across the group, so each
// stretch of 64 source rows is read for all the group's columns while it is in cache.
static inline void pack_a_group_ksteps(const drive_t *d, long g0, long g1, char *ap, size_t apanel) {
    const kdesc *kd = d->kd;
    const int mr = kd->mr;
    const long step = 64;
    for (long kk = 0; kk < d->kcp; kk += step) {
        long len = d->kc - kk < step ? d->kc - kk : step;
        long lenp = d->kcp - kk < step ? d->kcp - kk : step;
        if (len < 0) len = 0;
        for (long p = g0; p < g1; p++) {
            long i = p * mr;
            kd->pack_a(d->transA, d->A, d->lda, i, d->M - i < mr ? d->M - i : mr, d->k0 + kk, len, lenp,
                       ap + (p - g0) * apanel + (size_t)kk * mr * kd->esize);
        }
    }
}

// Packs A panels [g0, g1) into ap, apanel bytes apart, the way a_group_panels chose.
static inline void pack_a_group(const drive_t *d, long g0, long g1, long group, int arows, char *ap,
                                size_t apanel) {
    if (group == 1) pack_a_panel(d, g0, ap);
    else if (arows) pack_a_group_rows(d, g0, g1, ap, apanel);
    else pack_a_group_ksteps(d, g0, g1, ap, apanel);
}

// The next A micro-panel's source, brought into L2 a slice per product of the current sweep, so
// packing it does not wait on memory: A is read once per N block, typically from L3 or DRAM, and
// the kernels have load slots to spare. The hint is T1 (L2), not T0: prefetches into L1 stalled
// behind the kernel's B stream and were partly evicted before use.
typedef struct {
    const float *base;    // the source: runs of `run` floats, `lda` apart
    long lda, run, lines; // lines: 64-byte lines in all the runs (0: nothing to prefetch)
    long done, row, col;  // progress: lines issued, and where the next one starts
} prefetch_t;

static inline prefetch_t prefetch_plan(const drive_t *d, long inext) {
    prefetch_t pf = {.lda = d->lda};
    if (inext < 0) return pf;
    const int mr = d->kd->mr;
    long mnext = d->M - inext < mr ? d->M - inext : mr;
    const int tA = d->transA == LG_TRANS;
    long rows = tA ? d->kc : mnext;
    pf.run = tA ? mnext : d->kc;
    pf.base = tA ? d->A + d->k0 * d->lda + inext : d->A + inext * d->lda + d->k0;
    pf.lines = rows * ((pf.run + 15) / 16);
    return pf;
}

static inline void prefetch_upto(prefetch_t *pf, long upto) {
    for (; pf->done < upto; pf->done++) {
        _mm_prefetch((const char *)(pf->base + pf->row * pf->lda + pf->col), _MM_HINT_T1);
        pf->col += 16;
        if (pf->col >= pf->run) {
            pf->col = 0;
            pf->row++;
        }
    }
}

// One mr x nr tile of C: the micro-kernel, which merges edge tiles into C itself with masks. The
// bias goes in with the last K block's store (the tile is written once, not revisited), and the
// K split's second half run in turn adds the finished tile into C while it is still in L1.
static inline void compute_tile(const drive_t *d, long i, long m, long j, long n, long kn, const char *a,
                                const char *b, float *crow) {
    // a tile wholly past every row's last key is left as it is
    if (d->causal == LG_CAUSAL_OUT && d->j0 + j >= i + m + d->shift) return;
    d->kd->kernel(kn, a, b, crow + j, d->ldc, m, n, d->alpha, d->beta,
                  d->last_k && d->bias ? d->bias + d->j0 + j : NULL);
    if (d->last_k && d->acc_into)    // K split in turn: never the AVX2 kernel
        add_rows_avx512(d->acc_into + i * d->ld_acc + d->j0 + j, d->ld_acc, crow + j, d->ldc, m, n);
}

// One packed A micro-panel against B micro-panels [q0, q1): the A panel stays in L1 and the B
// block in L2 while the kernel walks along the row of tiles. inext >= 0 is the first row of the
// panel to prefetch meanwhile (see prefetch_t).
static inline void sweep_panel(const drive_t *d, long p, const char *a, long q0, long q1, long inext) {
    const kdesc *kd = d->kd;
    const int mr = kd->mr, nr = kd->nr;
    long i = p * mr, m = d->M - i < mr ? d->M - i : mr;
    float *crow = d->C + i * d->ldc + d->j0;
    size_t bpanel = (size_t)d->kcp * nr * kd->esize;
    long klo, kn;
    causal_krange(d, i, m, &klo, &kn);
    const char *apart = a + (size_t)klo * mr * kd->esize;
    prefetch_t pf = prefetch_plan(d, inext);
    long nq = q1 - q0;
    for (long q = q0; q < q1; q++) {
        long j = q * nr, n = d->nc - j < nr ? d->nc - j : nr;
        prefetch_upto(&pf, pf.lines * (q - q0 + 1) / nq);
        compute_tile(d, i, m, j, n, kn, apart, d->bpack + q * bpanel + (size_t)klo * nr * kd->esize, crow);
    }
}

// A task packs its A panels a group at a time (or reads them from the shared buffer that the
// first N block filled) and sweeps each over its B micro-panels. Only single panels packed here
// get their successor prefetched: for groups of transposed panels it slowed packing down.
static void task_compute(void *ctx, long t, int worker) {
    (void)worker;
    drive_t *d = ctx;
    const kdesc *kd = d->kd;
    long p0, p1, q0, q1;
    if (!task_share(d, t, &p0, &p1, &q0, &q1)) return;
    size_t apanel = (size_t)d->kcp * kd->mr * kd->esize;
    const int arows = d->transA == LG_TRANS && kd->pack_a_rows;
    long group = a_group_panels(d, arows, apanel);
    char *ap = d->apack ? NULL : buf_get(&tl_bufA, group * apanel + 64);
    const int packing = !d->apack || d->apack_fill;
    if (kd->begin) kd->begin();
    for (long g0 = p0; g0 < p1; g0 += group) {
        long g1 = g0 + group < p1 ? g0 + group : p1;
        if (d->apack) ap = d->apack + (size_t)g0 * apanel;
        if (packing) pack_a_group(d, g0, g1, group, arows, ap, apanel);
        for (long p = g0; p < g1; p++) {
            long inext = packing && group == 1 && p + 1 < p1 ? (p + 1) * kd->mr : -1;
            sweep_panel(d, p, ap + (p - g0) * apanel, q0, q1, inext);
        }
    }
    if (kd->end) kd->end();
}

static void scale_c(long M, long N, float beta, float *C, long ldc) {
    for (long i = 0; i < M; i++) {
        float *c = C + i * ldc;
        if (beta == 0.0f) memset(c, 0, (size_t)N * sizeof(float));
        else if (beta != 1.0f) for (long j = 0; j < N; j++) c[j] *= beta;
    }
}

// ---- K split ---------------------------------------------------------------------------------
// A product with a small C and a long K (the weight gradients: dW = dYᵀ·X, K = batch x sequence)
// splits badly over M: a few A micro-panels per thread (256 rows are 19 panels of 14, so one
// thread gets 10 and the other 9, one of them a 4-row edge) and a barrier after every packing
// and every K block. Such products are split in two halves of K instead: part 0 goes into C,
// part 1 into scratch, then the scratch is added into C row by row. With two threads each runs
// one half as a whole single-threaded product (packing its own panels, no barrier until the
// sum). The split depends on the shape only, never on the thread count, so results are the same
// bit for bit with 1, 2 or more threads (one thread runs the halves one after the other, the
// second adding each finished tile into C: the same sums, element for element).
#define KSPLIT_PARTS 2
static void drive_blocked(const kdesc *kd, int threads, int transA, int transB, long M, long N, long K,
                          float alpha, const float *A, long lda, const float *B, long ldb, float beta,
                          const float *bias, float *C, long ldc, float *acc_into, long ld_acc, int causal,
                          long shift);
typedef struct {
    const kdesc *kd;
    int transA, transB, threads;
    long M, N, K, kpart;
    float alpha, beta;
    const float *A, *B;
    long lda, ldb, ldc;
    const float *bias;
    float *C, *scratch;
    int in_turn;    // the halves run one after the other (not concurrently)
} ksplit_t;

static void task_ksplit(void *ctx, long t, int worker) {
    (void)worker;
    ksplit_t *s = ctx;
    long k0 = t * s->kpart;
    long kn = s->K - k0 < s->kpart ? s->K - k0 : s->kpart;
    const float *a = s->A + (s->transA == LG_TRANS ? k0 * s->lda : k0);
    const float *b = s->B + (s->transB == LG_TRANS ? k0 : k0 * s->ldb);
    if (t == 0)
        drive_blocked(s->kd, s->threads, s->transA, s->transB, s->M, s->N, kn, s->alpha, a, s->lda, b, s->ldb,
                      s->beta, s->bias, s->C, s->ldc, NULL, 0, 0, 0);
    else    // in turn after half 0: each finished tile goes straight into C (no pass over the scratch)
        drive_blocked(s->kd, s->threads, s->transA, s->transB, s->M, s->N, kn, s->alpha, a, s->lda, b, s->ldb,
                      0.0f, NULL, s->scratch + (size_t)(t - 1) * s->M * s->N, s->N,
                      s->in_turn ? s->C : NULL, s->ldc, 0, 0);
}

#define KSPLIT_ROWS 16
static void task_ksplit_sum(void *ctx, long t, int worker) {
    (void)worker;
    ksplit_t *s = ctx;
    long i0 = t * KSPLIT_ROWS, i1 = i0 + KSPLIT_ROWS < s->M ? i0 + KSPLIT_ROWS : s->M;
    for (int p = 1; p < KSPLIT_PARTS; p++)
        add_rows_avx512(s->C + i0 * s->ldc, s->ldc, s->scratch + (size_t)(p - 1) * s->M * s->N + i0 * s->N, s->N,
                        i1 - i0, s->N);
}

// Whether to split over K (from the shape only; LATHE_GEMM_KSPLIT=0 turns it off, for
// comparisons): K >= 1024, so the pass over the scratch (3 x M x N floats against 2 x M x N x K
// FLOPs) costs about 1% of the product, and C small enough (M x N <= 256 K) that splitting over M
// would leave few panels per thread; the scratch is then at most 64 MiB.
// The sum needs AVX-512, which every kernel family but the AVX2 one implies.
static int ksplit_wanted(const kdesc *kd, long M, long N, long K) {
    static _Atomic int enabled = -1;
    int e = atomic_load_explicit(&enabled, memory_order_relaxed);
    if (e < 0) {
        const char *v = getenv("LATHE_GEMM_KSPLIT");
        e = !(v && *v && atoi(v) == 0);
        atomic_store_explicit(&enabled, e, memory_order_relaxed);
    }
    if (!e || kd == &lg_kd_avx2) return 0;
    double mn = (double)M * N;
    return K >= 512L * KSPLIT_PARTS && mn <= 256.0 * K && mn * (KSPLIT_PARTS - 1) * sizeof(float) <= 64.0 * 1048576;
}

static void drive_ksplit(const kdesc *kd, int threads, int transA, int transB, long M, long N, long K,
                         float alpha, const float *A, long lda, const float *B, long ldb, float beta,
                         const float *bias, float *C, long ldc) {
    long kpart = (K + KSPLIT_PARTS - 1) / KSPLIT_PARTS;
    kpart = (kpart + 15) / 16 * 16;
    ksplit_t s = {.kd = kd, .transA = transA, .transB = transB, .M = M, .N = N, .K = K, .kpart = kpart,
                  .alpha = alpha, .beta = beta, .A = A, .B = B, .lda = lda, .ldb = ldb, .ldc = ldc, .bias = bias, .C = C};
    s.scratch = buf_get(&tl_bufC, (size_t)(KSPLIT_PARTS - 1) * M * N * sizeof(float) + 64);
    if (threads == KSPLIT_PARTS) {
        // a half per thread
        s.threads = 1;
        lg_parallel_for_n(KSPLIT_PARTS, threads, task_ksplit, &s);
        lg_parallel_for_n((M + KSPLIT_ROWS - 1) / KSPLIT_ROWS, threads, task_ksplit_sum, &s);
    } else {
        // one thread, or more threads than halves: the halves in turn, each over every thread,
        // the second adding its tiles into C as they are finished
        s.threads = threads;
        s.in_turn = 1;
        for (long t = 0; t < KSPLIT_PARTS; t++) task_ksplit(&s, t, 0);
    }
}

void lg_gemm_drive(const kdesc *kd, int threads, int transA, int transB, long M, long N, long K,
                   float alpha, const float *A, long lda, const float *B, long ldb, float beta,
                   float *C, long ldc) {
    lg_gemm_drive_bias(kd, threads, transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, NULL, C, ldc);
}

void lg_gemm_drive_bias(const kdesc *kd, int threads, int transA, int transB, long M, long N, long K,
                        float alpha, const float *A, long lda, const float *B, long ldb, float beta,
                        const float *bias, float *C, long ldc) {
    lg_gemm_drive_causal(kd, threads, 0, 0, transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, bias, C, ldc);
}

void lg_gemm_drive_causal(const kdesc *kd, int threads, int causal, long shift, int transA, int transB, long M,
                          long N, long K, float alpha, const float *A, long lda, const float *B, long ldb,
                          float beta, const float *bias, float *C, long ldc) {
    if (M <= 0 || N <= 0) return;
    if (K <= 0 || alpha == 0.0f) {
        scale_c(M, N, beta, C, ldc);
        if (bias) add_rows(C, ldc, bias, 0, M, N);
        return;
    }
    // Few rows: no packing (fp32 on the AVX2 kernel stays on it, so that path can be forced).
    if (M <= LG_SMALL_M && kd != &lg_kd_avx2 &&
        lg_small_gemm(kd->esize == 2, threads, transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc) == 0) {
        if (bias) add_rows(C, ldc, bias, 0, M, N);
        return;
    }
    // Few columns: the same path on the transposed product
    if (N <= LG_SMALL_M && !causal && kd != &lg_kd_avx2 &&
        lg_small_n_gemm(kd->esize == 2, threads, transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc) == 0) {
        if (bias) add_rows(C, ldc, bias, 0, M, N);
        return;
    }
    if (kd->notrans_a && transA == LG_NO_TRANS && !causal) kd = kd->notrans_a;
    // Small products are not worth waking threads for.
    double work = (double)M * N * K;
    if (work < 96.0 * 96 * 96) threads = 1;
    if (!causal && ksplit_wanted(kd, M, N, K)) {
        drive_ksplit(kd, threads, transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, bias, C, ldc);
        return;
    }
    drive_blocked(kd, threads, transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, bias, C, ldc, NULL, 0, causal,
                  shift);
}

// Packs the B block of the current (K block, N block), in parallel when it is large enough to
// pay for waking the pool. A transposed B is packed a micro-panel per task; a non-transposed one
// PACK_KSTEP rows of K per task across every micro-panel (see task_pack_b_rows).
static void pack_b_block(drive_t *d, int threads) {
    const kdesc *kd = d->kd;
    size_t bytes = (size_t)d->npanels * d->kcp * kd->nr * kd->esize;
    d->bpack = buf_get(&tl_bufB, bytes + 64);
    lg_task_fn packer = d->transB == LG_TRANS ? task_pack_b : task_pack_b_rows;
    long npack = d->transB == LG_TRANS ? d->npanels : (d->kcp + PACK_KSTEP - 1) / PACK_KSTEP;
    if (threads > 1 && d->kc * d->nc >= 16384) lg_parallel_for_n(npack, threads, packer, d);
    else for (long t = 0; t < npack; t++) packer(d, t, 0);
}

// Splits the block's compute into tasks; returns their number. Many small tasks over M: each
// packs only its own A micro-panels, so splitting costs nothing, and a thread that starts late or
// is preempted delays the product by at most one small task. N is split only when M has too few
// panels to go round (then each task is a single A panel against a range of B panels).
static long plan_compute_tasks(drive_t *d, int threads) {
    long target = threads > 1 ? 16L * threads : 1;
    if (d->mpanels >= 4L * threads || threads == 1) {
        if (target > d->mpanels) target = d->mpanels;
        d->nsplit = 1;
        d->nchunk = d->npanels;
        d->mchunk = (d->mpanels + target - 1) / target;
    } else {
        d->mchunk = 1;
        target = 4L * threads;
        long ns = (target + d->mpanels - 1) / d->mpanels;
        if (ns > d->npanels) ns = d->npanels;
        d->nchunk = (d->npanels + ns - 1) / ns;
        d->nsplit = (d->npanels + d->nchunk - 1) / d->nchunk;
    }
    return ((d->mpanels + d->mchunk - 1) / d->mchunk) * d->nsplit;
}

// One (K block, N block): pack B, then every A micro-panel against it.
static void run_block(drive_t *d, int threads) {
    pack_b_block(d, threads);
    long ntasks = plan_compute_tasks(d, threads);
    if (threads > 1 && ntasks > 1) lg_parallel_for_n(ntasks, threads, task_compute, d);
    else for (long t = 0; t < ntasks; t++) task_compute(d, t, 0);
}

// The packed loops (M, N, K > 0): K blocks outer, N blocks inner, so each tile of C still gets
// its K blocks in order (the same sums as with K inner). The K block is balanced so the last one
// is not a sliver; the N block fills the L2 budget for that K block.
static void drive_blocked(const kdesc *kd, int threads, int transA, int transB, long M, long N, long K,
                          float alpha, const float *A, long lda, const float *B, long ldb, float beta,
                          const float *bias, float *C, long ldc, float *acc_into, long ld_acc, int causal,
                          long shift) {
    const long mr = kd->mr, nr = kd->nr;
    long kcb = balanced(K, kd->kc, kd->kalign);
    long ncmax = kd->nc > 0 ? kd->nc : kd->l2_bytes / (kcb * kd->esize) / nr * nr;
    if (ncmax < nr) ncmax = nr;
    long ncb = balanced(N, ncmax, nr);
    drive_t d = {.kd = kd, .transA = transA, .transB = transB, .A = A, .B = B, .lda = lda,
                 .ldb = ldb, .ldc = ldc, .C = C, .alpha = alpha, .M = M, .bias = bias, .acc_into = acc_into,
                 .causal = causal, .shift = shift,
                 .ld_acc = ld_acc};
    d.mpanels = (M + mr - 1) / mr;
    // With several N blocks, A is packed once per K block into one buffer that every N block
    // reads, instead of once per N block. Not when N is split over tasks (M small), where tasks
    // share panels.
    const int share_a = N > ncb && (d.mpanels >= 4L * threads || threads == 1);
    const long kcbp = (kcb + kd->kalign - 1) / kd->kalign * kd->kalign;
    char *apack_all = share_a ? buf_get(&tl_bufAall, (size_t)d.mpanels * kcbp * mr * kd->esize + 64) : NULL;
    for (long k0 = 0; k0 < K; k0 += kcb) {
        long kc = K - k0 < kcb ? K - k0 : kcb;
        long kcp = (kc + kd->kalign - 1) / kd->kalign * kd->kalign;
        for (long j0 = 0; j0 < N; j0 += ncb) {
            long nc = N - j0 < ncb ? N - j0 : ncb;
            d.apack = apack_all;
            d.apack_fill = j0 == 0;
            d.k0 = k0;
            d.kc = kc;
            d.kcp = kcp;
            d.j0 = j0;
            d.nc = nc;
            d.beta = k0 == 0 ? beta : 1.0f;
            d.last_k = k0 + kc >= K;
            d.npanels = (nc + nr - 1) / nr;
            run_block(&d, threads);
        }
    }
}

// ---- dispatch ------------------------------------------------------------------------------
static pthread_once_t sel_once = PTHREAD_ONCE_INIT;
static int s_auto = LG_SGEMM_FALLBACK, b_auto = LG_BGEMM_NONE;
static _Atomic int s_forced = -1, b_forced = -1;

static int s_supported(int k) {
    int f = lg_cpu_features();
    if (k == LG_SGEMM_AVX512) return (f & LG_CPU_AVX512) != 0;
    if (k == LG_SGEMM_AVX2) return (f & LG_CPU_AVX2) != 0;
    return k == LG_SGEMM_FALLBACK;
}
static int b_supported(int k) {
    int f = lg_cpu_features();
    if (k == LG_BGEMM_AMX) return (f & LG_CPU_AMX_BF16) && lg_amx_enable();
    if (k == LG_BGEMM_AVX512BF16 || k == LG_BGEMM_AMX_EMULATED) return (f & LG_CPU_AVX512_BF16) != 0;
    return k == LG_BGEMM_NONE;
}

// Why a LATHE_GEMM / LATHE_GEMM_BF16 setting was not followed (empty when it was): said once
// on stderr and kept for lathe.blas(), so a forced kernel is never silently replaced.
static char s_env_note[256];
static void env_note(const char *var, const char *value, const char *why) {
    size_t n = strlen(s_env_note);
    snprintf(s_env_note + n, sizeof s_env_note - n, "%s%s=%s %s; the automatic choice is used", n ? "; " : "", var, value, why);
    fprintf(stderr, "warning: %s=%s %s; the automatic choice is used\n", var, value, why);
}

static void select_kernels(void) {
    lg_kd_tune(&lg_kd_avx512);
    lg_kd_tune(&lg_kd_avx2);
    lg_kd_tune(&lg_kd_avx512bf16);
    lg_kd_tune(&lg_kd_avx512bf16_rm);
    lg_kd_tune(&lg_kd_amx);
    lg_kd_tune(&lg_kd_amx_emulated);
    const char *e = getenv("LATHE_GEMM");
    if (s_supported(LG_SGEMM_AVX512)) s_auto = LG_SGEMM_AVX512;
    else if (s_supported(LG_SGEMM_AVX2)) s_auto = LG_SGEMM_AVX2;
    if (e && *e && strcmp(e, "lathe") != 0) {
        int want = -1;
        if (!strcmp(e, "openblas") || !strcmp(e, "blas") || !strcmp(e, "fallback")) want = LG_SGEMM_FALLBACK;
        else if (!strcmp(e, "avx2")) want = LG_SGEMM_AVX2;
        else if (!strcmp(e, "avx512")) want = LG_SGEMM_AVX512;
        if (want < 0) env_note("LATHE_GEMM", e, "is not a kernel (openblas, avx2, avx512 or lathe)");
        else if (!s_supported(want)) env_note("LATHE_GEMM", e, "names a kernel this CPU cannot run");
        else s_auto = want;
    }
    if (b_supported(LG_BGEMM_AMX)) b_auto = LG_BGEMM_AMX;
    else if (b_supported(LG_BGEMM_AVX512BF16)) b_auto = LG_BGEMM_AVX512BF16;
    const char *eb = getenv("LATHE_GEMM_BF16");
    if (eb && *eb) {
        int want = -1;
        if (!strcmp(eb, "none")) want = LG_BGEMM_NONE;
        else if (!strcmp(eb, "amx")) want = LG_BGEMM_AMX;
        else if (!strcmp(eb, "avx512bf16")) want = LG_BGEMM_AVX512BF16;
        else if (!strcmp(eb, "amx-emulated")) want = LG_BGEMM_AMX_EMULATED;
        if (want < 0) env_note("LATHE_GEMM_BF16", eb, "is not a kernel (amx, avx512bf16, amx-emulated or none)");
        else if (!b_supported(want)) env_note("LATHE_GEMM_BF16", eb, "names a kernel this CPU cannot run");
        else b_auto = want;
    }
}

const char *lg_env_note(void) {
    pthread_once(&sel_once, select_kernels);
    return s_env_note;
}

int lg_sgemm_kernel(void) {
    pthread_once(&sel_once, select_kernels);
    int f = atomic_load(&s_forced);
    return f >= 0 ? f : s_auto;
}
int lg_bgemm_kernel(void) {
    pthread_once(&sel_once, select_kernels);
    int f = atomic_load(&b_forced);
    return f >= 0 ? f : b_auto;
}
int lg_set_sgemm_kernel(int k) {
    pthread_once(&sel_once, select_kernels);
    if (k < 0) atomic_store(&s_forced, -1);
    else if (s_supported(k)) atomic_store(&s_forced, k);
    return lg_sgemm_kernel();
}
int lg_set_bgemm_kernel(int k) {
    pthread_once(&sel_once, select_kernels);
    if (k < 0) atomic_store(&b_forced, -1);
    else if (b_supported(k)) atomic_store(&b_forced, k);
    return lg_bgemm_kernel();
}

static const kdesc *s_desc(int k) {
    if (k == LG_SGEMM_AVX512) return &lg_kd_avx512;
    if (k == LG_SGEMM_AVX2) return &lg_kd_avx2;
    return NULL;
}
static const kdesc *b_desc(int k) {
    if (k == LG_BGEMM_AMX) return &lg_kd_amx;
    if (k == LG_BGEMM_AMX_EMULATED) return &lg_kd_amx_emulated;
    if (k == LG_BGEMM_AVX512BF16) return &lg_kd_avx512bf16;
    return NULL;
}

static _Thread_local char name_buf[2][96];
static const char *describe(const kdesc *kd, char *buf, const char *none) {
    if (!kd) return none;
    snprintf(buf, 96, "%s (kc %ld, B block %ld KiB)", kd->name, kd->kc, kd->l2_bytes / 1024);
    return buf;
}
const char *lg_sgemm_kernel_name(void) {
    return describe(s_desc(lg_sgemm_kernel()), name_buf[0], "openblas");
}
const char *lg_bgemm_kernel_name(void) {
    return describe(b_desc(lg_bgemm_kernel()), name_buf[1], "none");
}

int lg_gemm_bias(int bf16, int transA, int transB, long M, long N, long K, float alpha, const float *A,
                 long lda, const float *B, long ldb, float beta, const float *bias, float *C, long ldc) {
    const kdesc *kd = bf16 ? b_desc(lg_bgemm_kernel()) : s_desc(lg_sgemm_kernel());
    if (!kd) return -1;
    lg_gemm_drive_bias(kd, lg_pool_threads(), transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, bias, C, ldc);
    return 0;
}

int lg_gemm_causal(int bf16, int mode, long shift, int transA, int transB, long M, long N, long K, float alpha,
                   const float *A, long lda, const float *B, long ldb, float beta, float *C, long ldc) {
    const kdesc *kd = bf16 ? b_desc(lg_bgemm_kernel()) : s_desc(lg_sgemm_kernel());
    if (!kd) return -1;
    lg_gemm_drive_causal(kd, lg_pool_threads(), mode, shift, transA, transB, M, N, K, alpha, A, lda, B, ldb, beta,
                         NULL, C, ldc);
    return 0;
}

int lg_sgemm(int transA, int transB, long M, long N, long K, float alpha, const float *A,
             long lda, const float *B, long ldb, float beta, float *C, long ldc) {
    return lg_gemm_bias(0, transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, NULL, C, ldc);
}

int lg_bgemm(int transA, int transB, long M, long N, long K, float alpha, const float *A,
             long lda, const float *B, long ldb, float beta, float *C, long ldc) {
    return lg_gemm_bias(1, transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, NULL, C, ldc);
}

int lg_sgemm_with(int kernel, int threads, int transA, int transB, long M, long N, long K,
                  float alpha, const float *A, long lda, const float *B, long ldb, float beta,
                  float *C, long ldc) {
    pthread_once(&sel_once, select_kernels);
    if (!s_supported(kernel)) return -1;
    const kdesc *kd = s_desc(kernel);
    if (!kd) return -1;
    lg_gemm_drive(kd, threads < 1 ? 1 : threads, transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    return 0;
}

int lg_bgemm_with(int kernel, int threads, int transA, int transB, long M, long N, long K,
                  float alpha, const float *A, long lda, const float *B, long ldb, float beta,
                  float *C, long ldc) {
    pthread_once(&sel_once, select_kernels);
    if (!b_supported(kernel)) return -1;
    const kdesc *kd = b_desc(kernel);
    if (!kd) return -1;
    lg_gemm_drive(kd, threads < 1 ? 1 : threads, transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    return 0;
}

// ---- batched ---------------------------------------------------------------------------------
typedef struct {
    const kdesc *kd;
    int transA, transB;
    long M, N, K;
    float alpha, beta;
    const float *A, *B;
    float *C;
    long lda, ldb, ldc;
    const long *offA, *offB, *offC;
    long sA, sB, sC;
} batch_t;

static void task_batch(void *ctx, long t, int worker) {
    (void)worker;
    batch_t *b = ctx;
    long oa = b->offA ? b->offA[t] : t * b->sA;
    long ob = b->offB ? b->offB[t] : t * b->sB;
    long oc = b->offC ? b->offC[t] : t * b->sC;
    lg_gemm_drive(b->kd, 1, b->transA, b->transB, b->M, b->N, b->K, b->alpha, b->A + oa, b->lda,
                  b->B + ob, b->ldb, b->beta, b->C + oc, b->ldc);
}

static void run_batch(batch_t *b, long batch) {
    int threads = lg_pool_threads();
    double work = (double)b->M * b->N * b->K;
    // Many products: one per task; few large ones: thread inside each product.
    if (threads > 1 && batch >= 2 * threads && work * batch >= 96.0 * 96 * 96) {
        lg_parallel_for(batch, task_batch, b);
        return;
    }
    for (long t = 0; t < batch; t++) {
        long oa = b->offA ? b->offA[t] : t * b->sA;
        long ob = b->offB ? b->offB[t] : t * b->sB;
        long oc = b->offC ? b->offC[t] : t * b->sC;
        lg_gemm_drive(b->kd, threads, b->transA, b->transB, b->M, b->N, b->K, b->alpha, b->A + oa,
                      b->lda, b->B + ob, b->ldb, b->beta, b->C + oc, b->ldc);
    }
}

int lg_sgemm_batched(int transA, int transB, long M, long N, long K, float alpha,
                     const float *A, long lda, long strideA, const float *B, long ldb,
                     long strideB, float beta, float *C, long ldc, long strideC, long batch) {
    const kdesc *kd = s_desc(lg_sgemm_kernel());
    if (!kd) return -1;
    batch_t b = {kd, transA, transB, M, N, K, alpha, beta, A, B, C, lda, ldb, ldc,
                 NULL, NULL, NULL, strideA, strideB, strideC};
    run_batch(&b, batch);
    return 0;
}

int lg_sgemm_batched_offsets(int transA, int transB, long M, long N, long K, float alpha,
                             const float *A, long lda, const long *offA, const float *B,
                             long ldb, const long *offB, float beta, float *C, long ldc,
                             const long *offC, long batch) {
    const kdesc *kd = s_desc(lg_sgemm_kernel());
    if (!kd) return -1;
    batch_t b = {kd, transA, transB, M, N, K, alpha, beta, A, B, C, lda, ldb, ldc,
                 offA, offB, offC, 0, 0, 0};
    run_batch(&b, batch);
    return 0;
}

int lg_bgemm_batched_offsets(int transA, int transB, long M, long N, long K, float alpha,
                             const float *A, long lda, const long *offA, const float *B,
                             long ldb, const long *offB, float beta, float *C, long ldc,
                             const long *offC, long batch) {
    const kdesc *kd = b_desc(lg_bgemm_kernel());
    if (!kd) return -1;
    batch_t b = {kd, transA, transB, M, N, K, alpha, beta, A, B, C, lda, ldb, ldc,
                 offA, offB, offC, 0, 0, 0};
    run_batch(&b, batch);
    return 0;
}
