// CPU facts for the dispatcher: CPUID feature bits checked against what the OS saves
// (XGETBV), data cache sizes (CPUID leaf 4, or AMD's 0x8000001D / 0x80000005-6), and
// Linux's AMX tile-data permission.
#define _GNU_SOURCE
#include "CGemm.h"

#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__)
#include <cpuid.h>

static unsigned long long xgetbv0(void) {
    unsigned int lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((unsigned long long)hi << 32) | lo;
}
#endif

static pthread_once_t cpu_once = PTHREAD_ONCE_INIT;
static int features = 0;
static long l1d = 0, l2 = 0;

static void cpu_detect(void) {
#if defined(__x86_64__)
    unsigned int a, b, c, d;
    if (!__get_cpuid(0, &a, &b, &c, &d)) return;
    unsigned int maxleaf = a;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return;
    int fma = (c >> 12) & 1, osxsave = (c >> 27) & 1, avx = (c >> 28) & 1;
    unsigned long long xcr0 = osxsave ? xgetbv0() : 0;
    int os_ymm = (xcr0 & 0x6) == 0x6;
    int os_zmm = os_ymm && (xcr0 & 0xe0) == 0xe0;
    int os_tile = (xcr0 & 0x60000) == 0x60000;
    if (maxleaf >= 7) {
        __cpuid_count(7, 0, a, b, c, d);
        int avx2 = (b >> 5) & 1;
        int f = (b >> 16) & 1, dq = (b >> 17) & 1, bw = (b >> 30) & 1, vl = (b >> 31) & 1;
        int amx_bf16 = (d >> 22) & 1, amx_tile = (d >> 24) & 1;
        unsigned int a1, b1, c1, d1;
        __cpuid_count(7, 1, a1, b1, c1, d1);
        int avx512bf16 = (a1 >> 5) & 1;
        if (avx && avx2 && fma && os_ymm) features |= LG_CPU_AVX2;
        if ((features & LG_CPU_AVX2) && f && dq && bw && vl && os_zmm) features |= LG_CPU_AVX512;
        if ((features & LG_CPU_AVX512) && avx512bf16) features |= LG_CPU_AVX512_BF16;
        if ((features & LG_CPU_AVX512) && amx_bf16 && amx_tile && os_tile) features |= LG_CPU_AMX_BF16;
    }
    // Deterministic cache parameters: leaf 4 on Intel; AMD answers leaf 4 with zeros and
    // gives the same layout in extended leaf 0x8000001D (Zen), or bare sizes in 0x80000005/6.
    unsigned int extmax = __get_cpuid_max(0x80000000u, 0);
    unsigned int leaves[2] = {maxleaf >= 4 ? 4u : 0u, extmax >= 0x8000001Du ? 0x8000001Du : 0u};
    for (int li = 0; li < 2 && (l1d == 0 || l2 == 0); li++) {
        if (leaves[li] == 0) continue;
        for (unsigned int i = 0; i < 16; i++) {
            __cpuid_count(leaves[li], i, a, b, c, d);
            unsigned int type = a & 31, level = (a >> 5) & 7;
            if (type == 0) break;
            long size = (long)(((b >> 22) & 0x3ff) + 1) * (((b >> 12) & 0x3ff) + 1) *
                        ((b & 0xfff) + 1) * ((long)c + 1);
            if (level == 1 && (type == 1 || type == 3)) l1d = size;
            if (level == 2 && type != 2) l2 = size;
        }
    }
    if (l1d == 0 && extmax >= 0x80000005u) {
        __cpuid(0x80000005u, a, b, c, d);
        l1d = (long)(c >> 24) * 1024;
    }
    if (l2 == 0 && extmax >= 0x80000006u) {
        __cpuid(0x80000006u, a, b, c, d);
        l2 = (long)(c >> 16) * 1024;
    }
#endif
}

int lg_cpu_features(void) {
    pthread_once(&cpu_once, cpu_detect);
    return features;
}
long lg_cache_l1d(void) {
    pthread_once(&cpu_once, cpu_detect);
    return l1d;
}
long lg_cache_l2(void) {
    pthread_once(&cpu_once, cpu_detect);
    return l2;
}

// ---- AMX permission ---------------------------------------------------------------------
#define ARCH_GET_XCOMP_PERM 0x1022
#define ARCH_REQ_XCOMP_PERM 0x1023
#define XFEATURE_XTILEDATA 18

static pthread_once_t amx_once = PTHREAD_ONCE_INIT;
static int amx_ok = 0;

static void amx_request(void) {
#if defined(__x86_64__) && defined(__linux__)
    if (!(lg_cpu_features() & LG_CPU_AMX_BF16)) return;
    if (syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) != 0) return;
    unsigned long bitmask = 0;
    if (syscall(SYS_arch_prctl, ARCH_GET_XCOMP_PERM, &bitmask) != 0) return;
    amx_ok = (bitmask & (1UL << XFEATURE_XTILEDATA)) != 0;
#endif
}

int lg_amx_enable(void) {
    pthread_once(&amx_once, amx_request);
    return amx_ok;
}
