/* threads.c: the persistent worker pool behind fer_parallel_for.
 *
 * One job at a time: the caller holds use_lock for the whole call, publishes
 * (fn, ctx, ntasks) under a new tag in `state` and wakes the workers. A
 * worker joins the job (counted in `state`). Each thread owns a contiguous
 * share of the tasks (thread i of T: tasks [i n / T, (i + 1) n / T)), takes
 * them from the front, and when its share is done takes what is left of
 * the others' from the back. So a layer's first images go to the caller
 * and the last to the worker in every call, and each core mostly reads what
 * it wrote itself a moment before: on a virtual machine whose two cores may
 * sit on different dies, a line that moves between cores costs several
 * times a local hit (a core-to-core round trip measured 53 ns at one time
 * and 347 ns at another, and with tasks dealt from one shared counter
 * resnet18 training ran 22 img/s in the second state against 30).
 * When the caller runs out of tasks it closes the job: workers that have
 * not joined by then (asleep, or waiting for a core that other processes
 * hold) skip it, their shares done by the caller, so the caller waits only
 * for those still running a task. Workers poll for 2 ms (SPIN_NS) before
 * sleeping, so that back-to-back calls (one GEMM per layer) do not pay a
 * wake-up each. */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "parse.h"
#include "threads.h"

/* How long a thread polls before it sleeps. It must outlast a whole call
 * run by one thread: a worker that wakes too late for a call (a sleeping
 * vCPU can take a millisecond and more to wake) finds its share taken,
 * and if it then slept again before the next call, it missed that one
 * too. With 25 us of polling, runs of 10-40 back-to-back 1.5 ms GEMMs went
 * at one thread's speed (a product of 64 x 1024 x 2304 on 2 threads: 90
 * GFLOP/s in those runs, 190 otherwise); with 2 ms, almost none. */
#define SPIN_NS 2000000

static pthread_once_t once = PTHREAD_ONCE_INIT;
static pthread_mutex_t use_lock = PTHREAD_MUTEX_INITIALIZER;  /* held by the pool's user */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;        /* guards the sleeps */
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static pthread_cond_t done = PTHREAD_COND_INITIALIZER;

static int nthreads;                 /* configured count, caller included */
static int nworkers;                 /* workers running: indices 1..nworkers */
static pthread_t workers[FER_THREADS_MAX];
static unsigned long long born_tag[FER_THREADS_MAX + 1];  /* tag when worker i started */

/* state: the current job's tag (high 32 bits), CLOSED, and the number of
 * workers that joined it (low bits). */
#define CLOSED (1ull << 31)
#define JOINED 0x7fffffffull
static atomic_ullong state;
static unsigned long long tag;       /* last job's tag; under use_lock */
static atomic_int limit;             /* workers with index >= limit exit */
/* share[i]: thread i's tasks not yet taken, [low 32 bits, high 32 bits),
 * one cache line each */
static struct {
    _Alignas(64) atomic_ullong r;
} share[FER_THREADS_MAX];
static int job_parts;                /* shares in the current job */
static atomic_int finished;          /* joined workers done with the job */
static void (*job_fn)(void *, int, int);
static void *job_ctx;

static _Thread_local int in_task;    /* set inside tasks and in workers */
static _Thread_local int my_index;   /* a worker's index; 0 elsewhere */
static _Thread_local int solo;       /* fer_threads_solo: this thread's calls run inline */

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static long long now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000ll + t.tv_nsec;
}

/* Whether the SPIN_NS of polling begun at *t0 (0: not yet) are over; reads
 * the clock every 64 polls. */
static int spun_out(long long *t0, int i)
{
    if (i & 63)
        return 0;
    if (!*t0) {
        *t0 = now_ns();
        return 0;
    }
    return now_ns() - *t0 > SPIN_NS;
}

static void init_count(void)
{
    const char *e = getenv("FER_THREADS");
    long n = sysconf(_SC_NPROCESSORS_ONLN), v;
    if (e && fer_parse_long(e, 1, FER_THREADS_MAX, &v) == 0)
        n = v;
    if (n < 1)
        n = 1;
    if (n > FER_THREADS_MAX)
        n = FER_THREADS_MAX;
    nthreads = (int)n;
    atomic_store(&limit, FER_THREADS_MAX + 1);
}

/* The next task of share i: from the front for its owner, else from the
 * back; -1 when the share is empty. */
static int take(int i, int own)
{
    unsigned long long v = atomic_load(&share[i].r);
    for (;;) {
        unsigned lo = (unsigned)v, hi = (unsigned)(v >> 32);
        if (lo >= hi)
            return -1;
        if (own ? atomic_compare_exchange_weak(&share[i].r, &v, v + 1)
                : atomic_compare_exchange_weak(&share[i].r, &v, v - (1ull << 32)))
            return own ? (int)lo : (int)hi - 1;
    }
}

/* Thread `thread`'s share, if it has one (a job of fewer tasks than
 * threads has fewer shares), then the rest of the others'. */
static void run_tasks(int thread)
{
    int t, parts = job_parts;
    if (thread < parts)
        while ((t = take(thread, 1)) >= 0)
            job_fn(job_ctx, t, thread);
    for (int k = 1; k <= parts; k++) {
        int i = (thread + k) % parts;
        while ((t = take(i, 0)) >= 0)
            job_fn(job_ctx, t, thread);
    }
}

static void *worker(void *arg)
{
    int idx = (int)(long)arg;
    unsigned long long seen = born_tag[idx];   /* a job begun before it ran is its own */
    in_task = 1;
    my_index = idx;
    for (;;) {
        unsigned long long v;
        long long t0 = 0;
        int i, joined = 0, out = 0;
        for (i = 0; atomic_load(&state) >> 32 == seen && idx < atomic_load(&limit); i++) {
            if ((out = spun_out(&t0, i)))
                break;
            cpu_relax();
        }
        if (out) {
            pthread_mutex_lock(&mu);
            while (atomic_load(&state) >> 32 == seen && idx < atomic_load(&limit))
                pthread_cond_wait(&wake, &mu);
            pthread_mutex_unlock(&mu);
        }
        if (idx >= atomic_load(&limit))
            return NULL;
        v = atomic_load(&state);
        seen = v >> 32;
        while (!(v & CLOSED) && v >> 32 == seen)
            if (atomic_compare_exchange_weak(&state, &v, v + 1)) {
                joined = 1;
                break;
            }
        if (!joined)
            continue;   /* closed already, or a newer job: look again */
        run_tasks(idx);
        pthread_mutex_lock(&mu);
        atomic_fetch_add(&finished, 1);
        pthread_cond_signal(&done);
        pthread_mutex_unlock(&mu);
    }
}

/* Starts workers up to nthreads - 1; called with use_lock held. A worker
 * that cannot be started leaves the pool smaller; returns -1 then. */
static int grow(void)
{
    sigset_t all, old;
    int rc = 0;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);   /* workers take no signals */
    while (nworkers < nthreads - 1) {
        born_tag[nworkers + 1] = tag;
        if (pthread_create(&workers[nworkers], NULL, worker, (void *)(long)(nworkers + 1))) {
            rc = -1;
            break;
        }
        nworkers++;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}

/* Stops workers with index >= n; called with use_lock held. */
static void shrink(int n)
{
    if (nworkers <= n - 1)
        return;
    pthread_mutex_lock(&mu);
    atomic_store(&limit, n);
    pthread_cond_broadcast(&wake);
    pthread_mutex_unlock(&mu);
    while (nworkers > n - 1)
        pthread_join(workers[--nworkers], NULL);
    atomic_store(&limit, FER_THREADS_MAX + 1);
}

int fer_threads_set(int n)
{
    int rc;
    pthread_once(&once, init_count);
    if (n < 1 || n > FER_THREADS_MAX)
        return fer_seterr("threads: %d threads, expected 1..%d", n, FER_THREADS_MAX);
    if (in_task)
        return fer_seterr("threads: fer_threads_set called inside a parallel task");
    pthread_mutex_lock(&use_lock);
    shrink(n);
    nthreads = n;
    rc = grow();
    pthread_mutex_unlock(&use_lock);
    if (rc)
        return fer_seterr("threads: cannot start worker thread %d of %d", nworkers + 2, n);
    return 0;
}

int fer_threads_in_task(void) { return in_task || solo; }

int fer_threads_solo(int on)
{
    int was = solo;
    solo = on != 0;
    return was;
}

int fer_threads_get(void)
{
    pthread_once(&once, init_count);
    return nthreads;
}

void fer_parallel_for(int ntasks, void (*fn)(void *ctx, int task, int thread), void *ctx)
{
    int t, i, joined;
    if (ntasks <= 0)
        return;
    if (ntasks == 1 || in_task || solo || fer_threads_get() == 1 ||
        pthread_mutex_trylock(&use_lock)) {
        for (t = 0; t < ntasks; t++)
            fn(ctx, t, my_index);
        return;
    }
    grow();
    if (nworkers == 0) {
        pthread_mutex_unlock(&use_lock);
        for (t = 0; t < ntasks; t++)
            fn(ctx, t, 0);
        return;
    }
    job_fn = fn;
    job_ctx = ctx;
    job_parts = nworkers + 1 < ntasks ? nworkers + 1 : ntasks;
    for (i = 0; i < job_parts; i++) {
        unsigned long long lo = (unsigned long long)ntasks * i / job_parts;
        unsigned long long hi = (unsigned long long)ntasks * (i + 1) / job_parts;
        atomic_store(&share[i].r, lo | hi << 32);
    }
    atomic_store(&finished, 0);
    tag = (tag + 1) & 0xffffffffull;
    pthread_mutex_lock(&mu);
    atomic_store(&state, tag << 32);
    pthread_cond_broadcast(&wake);
    pthread_mutex_unlock(&mu);

    in_task = 1;
    run_tasks(0);
    in_task = 0;

    joined = (int)(atomic_fetch_or(&state, CLOSED) & JOINED);
    i = 0;
    for (long long t0 = 0; atomic_load(&finished) < joined && !spun_out(&t0, i); i++)
        cpu_relax();
    if (atomic_load(&finished) < joined) {
        pthread_mutex_lock(&mu);
        while (atomic_load(&finished) < joined)
            pthread_cond_wait(&done, &mu);
        pthread_mutex_unlock(&mu);
    }
    pthread_mutex_unlock(&use_lock);
}
