/* check.h: the unit-test harness, one header, no library.
 *
 *   static void test_roundtrip(void) { CHECK(a == b, "a=%d b=%d", a, b); }
 *   int main(void) { RUN(test_roundtrip); return check_done(); }
 *
 * Each test prints "ok NAME", "FAIL NAME: file:line: message" (first failed
 * check only, the count of the rest) or "skip NAME: why". tests/run.sh
 * counts these lines. */
#ifndef FER_CHECK_H
#define FER_CHECK_H

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_failed_now, check_skipped_now, check_npass, check_nfail, check_nskip;
static char check_msg[1024];

static inline void check_fail(const char *file, int line, const char *fmt, ...)
{
    if (!check_failed_now++) {
        va_list ap;
        int k = snprintf(check_msg, sizeof check_msg, "%s:%d: ", file, line);
        va_start(ap, fmt);
        vsnprintf(check_msg + k, sizeof check_msg - k, fmt, ap);
        va_end(ap);
    }
}

#define CHECK(cond, ...) \
    do { if (!(cond)) check_fail(__FILE__, __LINE__, __VA_ARGS__); } while (0)

/* |got - want| <= atol + rtol * |want| */
#define CHECK_CLOSE(got, want, atol, rtol) \
    do { double g_ = (got), w_ = (want); \
         if (!(fabs(g_ - w_) <= (atol) + (rtol) * fabs(w_))) \
             check_fail(__FILE__, __LINE__, "%s = %.9g, want %.9g (atol %g rtol %g)", \
                        #got, g_, w_, (double)(atol), (double)(rtol)); } while (0)

/* Ends the current test as skipped with a reason. */
#define SKIP(...) \
    do { check_skipped_now = 1; snprintf(check_msg, sizeof check_msg, __VA_ARGS__); return; } while (0)

#define RUN(fn) check_run(#fn, fn)

static inline void check_run(const char *name, void (*fn)(void))
{
    check_failed_now = check_skipped_now = 0;
    check_msg[0] = 0;
    fn();
    if (check_failed_now) {
        printf("FAIL %s: %s", name, check_msg);
        if (check_failed_now > 1)
            printf(" (and %d more)", check_failed_now - 1);
        printf("\n");
        check_nfail++;
    } else if (check_skipped_now) {
        printf("skip %s: %s\n", name, check_msg);
        check_nskip++;
    } else {
        printf("ok %s\n", name);
        check_npass++;
    }
    fflush(stdout);
}

static inline int check_done(void)
{
    return check_nfail ? 1 : 0;
}

/* Seeded generator for test inputs (xorshift64*), never zeros by default. */
static unsigned long long check_rng_state = 0x9E3779B97F4A7C15ull;
static inline void check_seed(unsigned long long s) { check_rng_state = s ? s : 1; }
static inline double check_uniform(void)   /* in [0, 1) */
{
    check_rng_state ^= check_rng_state >> 12;
    check_rng_state ^= check_rng_state << 25;
    check_rng_state ^= check_rng_state >> 27;
    return (double)((check_rng_state * 2685821657736338717ull) >> 11) / 9007199254740992.0;
}
static inline float check_randf(float lo, float hi) { return lo + (hi - lo) * (float)check_uniform(); }
/* n floats from check_randf, malloc'd (the caller frees). */
static inline float *check_randv(size_t n, float lo, float hi)
{
    float *p = (float *)malloc(n * sizeof *p);   /* the cast: C++ tests include this */
    for (size_t i = 0; p && i < n; i++)
        p[i] = check_randf(lo, hi);
    return p;
}

/* Path of a shared data file or NULL: $FER_SHARED, else ../shared beside
 * the repository. */
static inline const char *check_shared(const char *rel)
{
    static char buf[4096];
    const char *root = getenv("FER_SHARED");
    FILE *f;
    snprintf(buf, sizeof buf, "%s/%s", root ? root : "../shared", rel);
    if (!(f = fopen(buf, "rb")))
        return NULL;
    fclose(f);
    return buf;
}

#endif
