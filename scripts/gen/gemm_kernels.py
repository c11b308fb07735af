#!/usr/bin/env python3
"""Generates the fp32 micro-kernels of Sources/CGemm/sgemm.c (kern_avx512 14x32, its tails
kern_avx512_r4 / _r8 for the last micro-panel of M with at most 4 / 8 rows, kern_avx2 6x16):
the k-loop is inline assembly with explicit registers (compilers spill an accumulator per
iteration at this register pressure). Usage: python3 scripts/gen/gemm_kernels.py > /tmp/k.inc,
then replace the functions in sgemm.c with the output."""
def kern(name, target, MR, NRV, vlen, reg, vt, loadu, storeu, fmadd, mul, set1, unroll, rows=None, tails=()):
    # rows < MR: a tail kernel computing only the first `rows` rows of an MR-row packed panel
    rows = rows or MR
    nacc = rows * NRV
    bregs = [nacc + v for v in range(NRV)]
    xregs = [nacc + NRV, nacc + NRV + 1]
    NR = NRV * vlen
    L = []
    L.append(f'__attribute__((target("{target}")))')
    L.append(f'static void {name}(long kc, const void *ap, const void *bp, float *c, long ldc, long m, long n, float alpha, float beta,')
    L.append(' ' * len(f'static void {name}(') + 'const float *bias) {')
    for t in tails:    # the last micro-panel of M with few rows: skip the padding rows' FMAs
        L.append(f'    if (m <= {t}) {{')
        L.append(f'        {name}_r{t}(kc, ap, bp, c, ldc, m, n, alpha, beta, bias);')
        L.append('        return;')
        L.append('    }')
    L.append(f'    float acc[{rows} * {NR}] __attribute__((aligned(64)));')
    L.append('    const float *a = ap, *b = bp;')
    L.append(f'    for (long i = 0; i < m; i++) {{ _mm_prefetch((const char *)(c + i * ldc), _MM_HINT_T0); _mm_prefetch((const char *)(c + i * ldc + n - 1), _MM_HINT_T0); }}')
    L.append('    long kq = kc / %d, kr = kc %% %d;' % (unroll, unroll))
    A = []
    for r in range(nacc):
        A.append(f'"vxorps %%{reg}{r}, %%{reg}{r}, %%{reg}{r}\\n\\t"')
    def step(koff):
        s = []
        for v in range(NRV):
            s.append(f'"vmovaps {(koff * NR + v * vlen) * 4}(%[b]), %%{reg}{bregs[v]}\\n\\t"')
        s.append(f'"prefetcht0 {(koff * NR) * 4 + 2048}(%[b])\\n\\t"')
        for i in range(rows):
            x = xregs[i % 2]
            s.append(f'"vbroadcastss {(koff * MR + i) * 4}(%[a]), %%{reg}{x}\\n\\t"')
            for v in range(NRV):
                s.append(f'"vfmadd231ps %%{reg}{bregs[v]}, %%{reg}{x}, %%{reg}{i * NRV + v}\\n\\t"')
        return s
    A.append('"test %[kq], %[kq]\\n\\t"')
    A.append('"jz 2f\\n\\t"')
    A.append('"1:\\n\\t"')
    for u in range(unroll):
        A += step(u)
    A.append(f'"add ${MR * 4 * unroll}, %[a]\\n\\t"')
    A.append(f'"add ${NR * 4 * unroll}, %[b]\\n\\t"')
    A.append('"dec %[kq]\\n\\t"')
    A.append('"jnz 1b\\n\\t"')
    A.append('"2:\\n\\t"')
    A.append('"test %[kr], %[kr]\\n\\t"')
    A.append('"jz 4f\\n\\t"')
    A.append('"3:\\n\\t"')
    A += step(0)
    A.append(f'"add ${MR * 4}, %[a]\\n\\t"')
    A.append(f'"add ${NR * 4}, %[b]\\n\\t"')
    A.append('"dec %[kr]\\n\\t"')
    A.append('"jnz 3b\\n\\t"')
    A.append('"4:\\n\\t"')
    for r in range(nacc):
        A.append(f'"vmovaps %%{reg}{r}, {r * vlen * 4}(%[acc])\\n\\t"')
    clob = ', '.join(f'"{"xmm"}{r}"' for r in range(nacc + NRV + 2))
    L.append('    __asm__ volatile(')
    for x in A:
        L.append('        ' + x)
    L.append('        : [a] "+r"(a), [b] "+r"(b), [kq] "+r"(kq), [kr] "+r"(kr)')
    L.append('        : [acc] "r"(acc)')
    L.append(f'        : "memory", "cc", {clob});')
    if reg == 'zmm':
        L.append(f'    merge_avx512(acc, {NR}, c, ldc, m, n, alpha, beta, bias);')
    else:
        L.append(f'    merge_avx2(acc, {NR}, c, ldc, m, n, alpha, beta, bias);')
    L.append('}')
    return '\n'.join(L)

for rows in (4, 8):
    print(kern(f'kern_avx512_r{rows}', 'avx512f,avx512dq,avx512bw,avx512vl,fma', 14, 2, 16, 'zmm', '__m512',
               '_mm512_loadu_ps', '_mm512_storeu_ps', '_mm512_fmadd_ps', '_mm512_mul_ps', '_mm512_set1_ps', 2, rows))
    print()
print(kern('kern_avx512', 'avx512f,avx512dq,avx512bw,avx512vl,fma', 14, 2, 16, 'zmm', '__m512',
           '_mm512_loadu_ps', '_mm512_storeu_ps', '_mm512_fmadd_ps', '_mm512_mul_ps', '_mm512_set1_ps', 2, tails=(4, 8)))
print()
print(kern('kern_avx2', 'avx2,fma', 6, 2, 8, 'ymm', '__m256',
           '_mm256_loadu_ps', '_mm256_storeu_ps', '_mm256_fmadd_ps', '_mm256_mul_ps', '_mm256_set1_ps', 4))

