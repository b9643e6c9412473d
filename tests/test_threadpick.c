/* test_threadpick.c: the picker between one thread and the pool for small
 * batches (threadpick.h). Passes where one way is made ten times slower
 * (by sleeping) must settle on the other; the trials alternate; batches
 * over the bound and a pool of one are never run solo; solo is off after
 * every pass. */
#include <time.h>

#include "check.h"
#include "threadpick.h"
#include "threads.h"

static void nap(double s)
{
    struct timespec t = {0, (long)(s * 1e9)};
    nanosleep(&t, NULL);
}

/* Runs passes of n images where the solo way takes solo_s and the shared
 * way shared_s; returns the solo flags of passes 7..16 as bits. */
static int settle(fer_threadpick *p, int n, double solo_s, double shared_s, int *first6)
{
    int bits = 0;
    *first6 = 0;
    for (int i = 0; i < 16; i++) {
        int solo = fer_threadpick_begin(p, n);
        CHECK(fer_threads_in_task() == solo, "pass %d: solo %d but in_task %d", i, solo,
              fer_threads_in_task());
        nap(solo ? solo_s : shared_s);
        fer_threadpick_end(p, solo);
        CHECK(!fer_threads_in_task(), "pass %d: solo left on", i);
        if (i < 6)
            *first6 |= solo << i;
        else
            bits |= solo << (i - 6);
    }
    return bits;
}

static void test_picks_faster(void)
{
    int first6, bits;
    fer_threadpick a = {0}, b = {0};
    CHECK(fer_threads_set(2) == 0, "2 threads");
    bits = settle(&a, 1, 0.002, 0.0002, &first6);
    CHECK(first6 == 0x2a, "trials ran solo as %#x, want alternating (0x2a)", first6);
    CHECK(bits == 0, "shared 10x faster, but solo passes after the trials: %#x", bits);
    bits = settle(&b, 2, 0.0002, 0.002, &first6);
    CHECK(bits == 0x3ff, "solo 10x faster, but shared passes after the trials: %#x", bits);
    /* a new batch size times again */
    bits = settle(&b, 3, 0.002, 0.0002, &first6);
    CHECK(first6 == 0x2a && bits == 0, "batch 3 after 2: trials %#x, then %#x", first6, bits);
}

static void test_never_solo(void)
{
    int first6;
    fer_threadpick p = {0};
    CHECK(settle(&p, FER_THREADPICK_MAX_BATCH + 1, 0.0002, 0.002, &first6) == 0 && first6 == 0,
          "a batch over the bound ran solo");
    CHECK(fer_threads_set(1) == 0, "1 thread");
    CHECK(settle(&p, 1, 0.0002, 0.002, &first6) == 0 && first6 == 0,
          "a pool of one thread ran solo");
    fer_threads_set(2);
}

int main(void)
{
    RUN(test_picks_faster);
    RUN(test_never_solo);
    return check_done();
}
