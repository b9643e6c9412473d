/* rng.h: the one seeded random generator (xoshiro256**), so that a run with
 * the same seed and one thread repeats bit for bit. Not for cryptography. */
#ifndef FER_RNG_H
#define FER_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct fer_rng { uint64_t s[4]; } fer_rng;

/* Seeds from one 64-bit number (splitmix64 expands it). */
void fer_rng_seed(fer_rng *r, uint64_t seed);
uint64_t fer_rng_u64(fer_rng *r);
/* Uniform in [0, 1) with 24 random bits (float) or 53 (double). */
float fer_rng_float(fer_rng *r);
double fer_rng_double(fer_rng *r);
/* Uniform integer in [0, n), n > 0, without modulo bias. */
uint64_t fer_rng_below(fer_rng *r, uint64_t n);
/* Standard normal (Box-Muller, both values used in turn is not kept:
 * one draw per call keeps the sequence simple to reason about). */
double fer_rng_normal(fer_rng *r);

/* Shuffles n elements of size bytes at base (Fisher-Yates: for i from n
 * down to 2, element i - 1 swaps with element fer_rng_below(r, i)). */
void fer_rng_shuffle(fer_rng *r, void *base, size_t n, size_t size);

#endif
