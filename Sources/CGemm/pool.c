// Lathe's thread pool: persistent workers, fork-join parallel_for.
//
// The caller publishes a job by bumping a generation counter; workers spin on it for a short
// while (about 0.5 ms; LATHE_POOL_SPIN sets the count) and then sleep on a futex. Tasks
// are handed out with one atomic counter; the caller takes part and then waits (spinning,
// yielding if it takes long) only for tasks that other threads claimed, so a worker that is
// slow to wake never delays it: a fork-join costs about what GCD's dispatch_apply does. One
// pool for GEMM and elementwise work also means no second set of threads competing with the
// spinning workers.
#define _GNU_SOURCE
#include "CGemm.h"

#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define cpu_relax() _mm_pause()
#else
#define cpu_relax() ((void)0)
#endif

#define MAX_THREADS 256
#define WORKER_SPIN_DEFAULT 30000    // about 0.5 ms where a PAUSE takes ~15 ns
static int worker_spin = -1;    // pause iterations before a worker sleeps (LATHE_POOL_SPIN)
#define CALLER_SPIN 20000

// The current job. fn/ctx are written by the caller before it publishes the job's task
// counter (release); a thread that claims a task from the counter (acquire) sees them. They
// are rewritten only after every task of the job has completed, so a late worker can only
// claim from the job whose counter it read.
static lg_task_fn job_fn;
static void *job_ctx;
// [threads-1 : 8][ntasks : 28][next index : 28]
static _Atomic uint64_t job_counter = 0;
static _Atomic long job_done = 0;
static _Atomic uint32_t generation = 0;
static _Atomic int sleepers = 0;
static _Atomic int nworkers = 0;      // workers created (ids 1..nworkers)
static int pool_size = 0;             // 0 = not yet set (use the core count)
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;    // one job at a time
static pthread_mutex_t create_lock = PTHREAD_MUTEX_INITIALIZER;
static _Thread_local int in_task = 0;
static _Atomic long jobs_run = 0;

#define IDX_BITS 28
#define IDX_MASK ((1ull << IDX_BITS) - 1)

static long futex(_Atomic uint32_t *addr, int op, uint32_t val) {
    return syscall(SYS_futex, (uint32_t *)addr, op, val, NULL, NULL, 0);
}

// Claims and runs tasks until none is left; returns how many it ran.
static void run_tasks(int worker) {
    if (worker > 0) {
        uint64_t v = atomic_load_explicit(&job_counter, memory_order_relaxed);
        if (worker > (int)(v >> 56)) return;    // this job wants fewer threads
    }
    for (;;) {
        uint64_t v = atomic_fetch_add_explicit(&job_counter, 1, memory_order_acq_rel);
        uint64_t idx = v & IDX_MASK, n = (v >> IDX_BITS) & IDX_MASK;
        if (idx >= n) break;
        job_fn(job_ctx, (long)idx, worker);
        atomic_fetch_add_explicit(&job_done, 1, memory_order_release);
    }
}

static void *worker_main(void *arg) {
    int id = (int)((uintptr_t)arg & 0xffff);
    uint32_t seen = (uint32_t)((uintptr_t)arg >> 16);    // the generation when created
    in_task = 1;    // a worker never forks nested jobs
    for (;;) {
        uint32_t g;
        int spins = 0;
        while ((g = atomic_load_explicit(&generation, memory_order_acquire)) == seen) {
            if (++spins < worker_spin) {
                cpu_relax();
                continue;
            }
            atomic_fetch_add(&sleepers, 1);
            if (atomic_load(&generation) == seen) futex(&generation, FUTEX_WAIT_PRIVATE, seen);
            atomic_fetch_sub(&sleepers, 1);
            spins = 0;
        }
        seen = g;
        run_tasks(id);
    }
    return NULL;
}

static int default_threads(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1) n = 1;
    if (n > 64) n = 64;
    return (int)n;
}

void lg_pool_set_threads(int n) {
    if (n < 1) n = 1;
    if (n > MAX_THREADS) n = MAX_THREADS;
    pool_size = n;
}

int lg_pool_threads(void) {
    if (pool_size == 0) pool_size = default_threads();
    return pool_size;
}

long lg_pool_jobs(void) { return atomic_load(&jobs_run); }

static int ensure_workers(int want) {    // want = worker count (threads - 1)
    if (atomic_load(&nworkers) >= want) return want;
    pthread_mutex_lock(&create_lock);
    while (atomic_load(&nworkers) < want) {
        pthread_t th;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setstacksize(&attr, 8 << 20);    // Swift closures run here too
        uintptr_t id = (uintptr_t)atomic_load(&nworkers) + 1;
        uintptr_t arg = id | ((uintptr_t)atomic_load(&generation) << 16);
        int rc = pthread_create(&th, &attr, worker_main, (void *)arg);
        pthread_attr_destroy(&attr);
        if (rc != 0) break;
        pthread_detach(th);
        atomic_fetch_add(&nworkers, 1);
    }
    int have = atomic_load(&nworkers);
    pthread_mutex_unlock(&create_lock);
    return have < want ? have : want;
}

void lg_parallel_for_n(long ntasks, int maxThreads, lg_task_fn fn, void *ctx) {
    if (ntasks <= 0) return;
    int t = lg_pool_threads();
    if (maxThreads > 0 && t > maxThreads) t = maxThreads;
    if (t > ntasks) t = (int)ntasks;
    if (t <= 1 || in_task || pthread_mutex_trylock(&pool_lock) != 0) {
        int was = in_task;
        in_task = 1;
        for (long i = 0; i < ntasks; i++) fn(ctx, i, 0);
        in_task = was;
        return;
    }
    if (ntasks > (long)IDX_MASK / 2) {    // beyond the counter's range: run serially
        pthread_mutex_unlock(&pool_lock);
        in_task = 1;
        for (long i = 0; i < ntasks; i++) fn(ctx, i, 0);
        in_task = 0;
        return;
    }
    if (worker_spin < 0) {
        const char *e = getenv("LATHE_POOL_SPIN");
        worker_spin = e && *e ? atoi(e) : WORKER_SPIN_DEFAULT;
    }
    t = ensure_workers(t - 1) + 1;
    job_fn = fn;
    job_ctx = ctx;
    atomic_store_explicit(&job_done, 0, memory_order_relaxed);
    atomic_store_explicit(&job_counter, ((uint64_t)(t - 1) << 56) | ((uint64_t)ntasks << IDX_BITS),
                          memory_order_release);
    atomic_fetch_add(&jobs_run, 1);
    atomic_fetch_add(&generation, 1);    // seq_cst: wakes the workers
    if (atomic_load(&sleepers) > 0) futex(&generation, FUTEX_WAKE_PRIVATE, INT_MAX);
    in_task = 1;
    run_tasks(0);
    in_task = 0;
    // Wait for tasks other threads claimed (not for threads that never woke up).
    int spins = 0;
    while (atomic_load_explicit(&job_done, memory_order_acquire) < ntasks) {
        if (++spins < CALLER_SPIN) cpu_relax();
        else sched_yield();
    }
    pthread_mutex_unlock(&pool_lock);
}

void lg_parallel_for(long ntasks, lg_task_fn fn, void *ctx) {
    lg_parallel_for_n(ntasks, 0, fn, ctx);
}
