/* threadpick.c: one thread or the pool for small batches (threadpick.h). */
#include <time.h>

#include "threadpick.h"
#include "threads.h"

enum { TRIALS = 6 };        /* timed passes per decision, alternating */
#define RETIME_S 3.0        /* seconds a decision stands */

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int fer_threadpick_begin(fer_threadpick *p, int n)
{
    int solo;
    if (n > FER_THREADPICK_MAX_BATCH || fer_threads_get() == 1 || fer_threads_in_task())
        return 0;   /* nothing to pick */
    p->t0 = now();
    if (p->n != n || (p->trials >= TRIALS && p->t0 - p->decided > RETIME_S)) {
        p->n = n;   /* a new size, or time to look again */
        p->trials = 0;
        p->best[0] = p->best[1] = 1e30;
    }
    /* the trials alternate, so that both ways see the same moment; the
     * fastest pass of each counts (a pass can only be slowed, by the
     * first touch of memory or another process, not sped up) */
    solo = p->trials < TRIALS ? p->trials % 2 : p->pick;
    fer_threads_solo(solo);
    return solo;
}

void fer_threadpick_end(fer_threadpick *p, int solo)
{
    double t;
    if (p->n == 0 || p->t0 == 0)
        return;
    t = now() - p->t0;
    p->t0 = 0;
    fer_threads_solo(0);
    if (p->trials >= TRIALS)
        return;
    if (t < p->best[solo])
        p->best[solo] = t;
    if (++p->trials == TRIALS) {
        p->pick = p->best[1] < p->best[0];
        p->decided = now();
    }
}
