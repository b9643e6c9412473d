/* bf16_pairs.h: two rows of 16 floats rounded to bf16 (to nearest even,
 * VCVTNE2PS2BF16) and interleaved by one word permute into 16 pair slots,
 * row 2p's value in each slot's low half: the operand layout of the bf16
 * GEMM kernel (gemm_bf16.c), for the code that writes it directly.
 * Internal to lib/cpu; include after immintrin.h, in code built for x86-64
 * with GCC or clang. */
#ifndef FER_BF16_PAIRS_H
#define FER_BF16_PAIRS_H

#define FER_BF16_PAIRS_TARGET __attribute__((target("avx512f,avx512bw,avx512bf16")))

/* slot j = (lo[j] rounded, hi[j] rounded) */
FER_BF16_PAIRS_TARGET static inline __attribute__((always_inline)) __m512i
fer_bf16_pairs16(__m512 lo, __m512 hi)
{
    /* word 2j from the converted lo (words 0-15), 2j + 1 from hi (16-31) */
    static const short JOIN[32] = {0, 16, 1, 17, 2,  18, 3,  19, 4,  20, 5,  21, 6,  22, 7,  23,
                                   8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31};
    return _mm512_permutexvar_epi16(_mm512_loadu_si512(JOIN), (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
}

#endif
