/* cpu_has.h: what the running CPU can do, asked once. The kernels that
 * have an AVX-512 variant choose it through this one test. */
#ifndef FER_CPU_HAS_H
#define FER_CPU_HAS_H

/* 1 when the CPU runs AVX-512F instructions, else 0 (always 0 off x86). */
int fer_cpu_has_avx512(void);

#endif
