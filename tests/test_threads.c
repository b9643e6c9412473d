/* test_threads.c: the worker pool. Every task runs exactly once per call,
 * over many calls and task counts; thread numbers stay in range; one thread
 * runs inline in order; nested calls and calls from two program threads at
 * once run their tasks inline instead of deadlocking; solo runs a
 * caller's calls inline; resizing works. */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "check.h"
#include "error.h"
#include "threads.h"

#define MAXT 5000

typedef struct counts {
    atomic_int hit[MAXT];
    atomic_int bad_thread;
    int nthreads;
} counts;

static void count_task(void *ctx, int task, int thread)
{
    counts *c = ctx;
    atomic_fetch_add(&c->hit[task], 1);
    if (thread < 0 || thread >= c->nthreads)
        atomic_fetch_add(&c->bad_thread, 1);
}

/* Runs `calls` parallel_fors of varied sizes; returns the first wrong count. */
static int exactly_once(counts *c, int calls)
{
    static const int sizes[] = {1, 2, 3, 7, 64, 1000, MAXT};
    for (int n = 0; n < calls; n++) {
        int nt = sizes[n % 7];
        for (int i = 0; i < nt; i++)
            atomic_store(&c->hit[i], 0);
        fer_parallel_for(nt, count_task, c);
        for (int i = 0; i < nt; i++)
            if (atomic_load(&c->hit[i]) != 1)
                return i + 1;
    }
    return 0;
}

static counts C1, C2;

static void test_once_each(void)
{
    for (int th = 1; th <= 4; th++) {
        int r;
        CHECK(fer_threads_set(th) == 0, "set %d: %s", th, fer_error());
        CHECK(fer_threads_get() == th, "get %d, want %d", fer_threads_get(), th);
        C1.nthreads = th;
        atomic_store(&C1.bad_thread, 0);
        r = exactly_once(&C1, 700);
        CHECK(r == 0, "%d threads: task %d ran %d times", th, r - 1,
              r ? atomic_load(&C1.hit[r - 1]) : 0);
        CHECK(atomic_load(&C1.bad_thread) == 0, "%d threads: thread number out of range", th);
    }
    fer_parallel_for(0, count_task, &C1);    /* nothing, no crash */
    fer_parallel_for(-3, count_task, &C1);
}

static int order[64], norder;
static void record_task(void *ctx, int task, int thread)
{
    (void)ctx;
    order[norder++] = thread ? -1 : task;
}

static void test_one_thread_inline(void)
{
    CHECK(fer_threads_set(1) == 0, "set 1: %s", fer_error());
    norder = 0;
    fer_parallel_for(64, record_task, NULL);
    for (int i = 0; i < 64; i++)
        CHECK(order[i] == i, "task %d ran as %d (thread != 0 gives -1)", i, order[i]);
    fer_threads_set(2);
}

/* Each outer task runs an inner parallel_for of 50 tasks, which must run
 * inline under the outer task's own thread number. */
static atomic_int inner_hits[8][50], wrong_thread;
typedef struct outer_ctx { int task, thread; } outer_ctx;
static void inner(void *ctx, int task, int thread)
{
    outer_ctx *o = ctx;
    if (thread != o->thread)
        atomic_fetch_add(&wrong_thread, 1);
    atomic_fetch_add(&inner_hits[o->task][task], 1);
}
static void outer(void *ctx, int task, int thread)
{
    outer_ctx o = {task, thread};
    (void)ctx;
    fer_parallel_for(50, inner, &o);
}

static void test_nested(void)
{
    CHECK(fer_threads_set(3) == 0, "set 3: %s", fer_error());
    memset(inner_hits, 0, sizeof inner_hits);
    atomic_store(&wrong_thread, 0);
    fer_parallel_for(8, outer, NULL);
    CHECK(atomic_load(&wrong_thread) == 0, "%d inner tasks ran under another thread number",
          atomic_load(&wrong_thread));
    for (int i = 0; i < 8; i++)
        for (int j = 0; j < 50; j++)
            CHECK(atomic_load(&inner_hits[i][j]) == 1, "inner %d/%d ran %d times", i, j,
                  atomic_load(&inner_hits[i][j]));
    fer_threads_set(2);
}

static void *other_caller(void *arg)
{
    return (void *)(long)exactly_once(arg, 400);
}

static void test_two_callers(void)
{
    pthread_t t;
    void *r2;
    int r1;
    CHECK(fer_threads_set(2) == 0, "set 2: %s", fer_error());
    C1.nthreads = C2.nthreads = 2;
    atomic_store(&C1.bad_thread, 0);
    atomic_store(&C2.bad_thread, 0);
    CHECK(pthread_create(&t, NULL, other_caller, &C2) == 0, "pthread_create");
    r1 = exactly_once(&C1, 400);
    pthread_join(t, &r2);
    CHECK(r1 == 0, "main caller: task %d wrong", r1 - 1);
    CHECK(r2 == NULL, "second caller: task %ld wrong", (long)r2 - 1);
    CHECK(atomic_load(&C1.bad_thread) + atomic_load(&C2.bad_thread) == 0, "thread out of range");
}

/* Solo: with the pool at 2 threads, the caller's calls run inline in
 * order on thread 0, until it is turned off again. */
static void test_solo(void)
{
    CHECK(fer_threads_set(2) == 0, "set 2: %s", fer_error());
    CHECK(fer_threads_solo(1) == 0, "solo was on before");
    CHECK(fer_threads_in_task(), "solo: in_task not set");
    norder = 0;
    fer_parallel_for(64, record_task, NULL);
    for (int i = 0; i < 64; i++)
        CHECK(order[i] == i, "solo: task %d ran as %d (thread != 0 gives -1)", i, order[i]);
    CHECK(fer_threads_solo(0) == 1, "solo was off");
    CHECK(!fer_threads_in_task(), "in_task still set after solo");
    C1.nthreads = 2;
    atomic_store(&C1.bad_thread, 0);
    CHECK(exactly_once(&C1, 50) == 0, "after solo: a task ran other than once");
}

static void test_bad_counts(void)
{
    CHECK(fer_threads_set(0) == -1, "0 threads accepted");
    CHECK(strstr(fer_error(), "threads") != NULL, "message: %s", fer_error());
    CHECK(fer_threads_set(FER_THREADS_MAX + 1) == -1, "too many threads accepted");
    CHECK(fer_threads_get() >= 1, "count %d after refusals", fer_threads_get());
}

int main(void)
{
    RUN(test_once_each);
    RUN(test_one_thread_inline);
    RUN(test_nested);
    RUN(test_two_callers);
    RUN(test_solo);
    RUN(test_bad_counts);
    return check_done();
}
