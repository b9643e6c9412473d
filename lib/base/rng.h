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

/* The counter-based draws: a uniform value that is a function of a key,
 * not of the draws before it, so that any thread, any order and any
 * backend (a GPU) draws the same. A key is (seed, step, stream) -- the
 * run's seed, the training step, e.g. a layer's number -- and an element
 * index i:
 *   base = m(m(m(seed + G) ^ step) ^ stream),  u64 = m(base + (i + 1) G)
 * with m splitmix64's finaliser and G = 0x9E3779B97F4A7C15 (splitmix64's
 * stream from base). fer_rng_key_float keeps the top 24 bits, in [0, 1). */
uint64_t fer_rng_key_base(uint64_t seed, uint64_t step, uint64_t stream);
uint64_t fer_rng_key_u64(uint64_t base, uint64_t i);
float fer_rng_key_float(uint64_t base, uint64_t i);

#endif
