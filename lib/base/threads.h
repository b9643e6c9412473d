/* threads.h: one persistent pool of worker threads for the CPU kernels.
 *
 * The pool is started on first use and its threads live until the process
 * ends; a parallel call hands tasks to them and never creates threads.
 *
 *   static void work(void *ctx, int task, int thread) { ... }
 *   fer_parallel_for(ntasks, work, &ctx);
 *
 * Thread count: fer_threads_set(n), else the environment variable
 * FER_THREADS (a whole number in 1..FER_THREADS_MAX; any other value is
 * ignored), else the number of online CPUs. With 1 thread every task runs
 * inline in the caller, in task order.
 *
 * Nesting and concurrency: a fer_parallel_for called from inside a task, or
 * while another thread of the program is using the pool, runs its tasks
 * inline in the calling thread (in task order) rather than waiting, so it
 * never deadlocks; results must therefore not depend on which thread runs a
 * task. Inline tasks get the calling thread's number (a worker's own, 0 in
 * any thread outside the pool), so scratch space indexed by `thread` stays
 * private under nesting; it is not when two program threads use the pool at
 * once (both are thread 0): such programs should use thread-local scratch. */
#ifndef FER_THREADS_H
#define FER_THREADS_H

#include <stddef.h>

#define FER_THREADS_MAX 256

/* Sets the number of threads that share parallel work, caller included
 * (1 = everything inline). Stops or starts workers as needed; must not be
 * called from inside a task. Returns 0, or -1 with fer_error() set when n
 * is outside 1..FER_THREADS_MAX or a thread cannot be started (the pool
 * then keeps the workers it has). */
int fer_threads_set(int n);

/* The current number of threads (>= 1). */
int fer_threads_get(void);

/* Whether the caller runs inside a task of fer_parallel_for, or solo
 * (below): where a parallel call runs inline, so splitting work only
 * repeats setup. */
int fer_threads_in_task(void);

/* on = 1: from now on the calling thread's parallel calls run inline, on
 * it alone, as in a task (for work too small to share, where handing it
 * out costs more than the second core gives); 0 shares them again. The
 * results are the same bits either way. Returns the previous setting. */
int fer_threads_solo(int on);

/* Runs fn(ctx, task, thread) once for every task in 0..ntasks-1 on the pool
 * and the caller, and returns when all have finished. Tasks are handed out
 * dynamically: any task may run on any thread, in any order. `thread` is in
 * 0..fer_threads_get()-1 (0 = the caller), unique among the threads running
 * tasks of one call (see above for nesting). ntasks <= 0 does nothing.
 * Thread i of T first takes the tasks [i ntasks / T, (i + 1) ntasks / T)
 * in order, then helps with the others' from their ends: so calls that
 * number their tasks alike (by image, say) give each thread mostly the
 * data it wrote or read in the last call, still in its own core's cache. */
void fer_parallel_for(int ntasks, void (*fn)(void *ctx, int task, int thread), void *ctx);

/* Element-wise work over n values in chunks of `chunk`: the number of
 * chunks (tasks), and the range [*lo, *hi) of chunk t. */
static inline int fer_chunks(size_t n, size_t chunk) { return (int)((n + chunk - 1) / chunk); }
static inline void fer_chunk(size_t n, size_t chunk, int t, size_t *lo, size_t *hi)
{
    *lo = (size_t)t * chunk;
    *hi = *lo + chunk < n ? *lo + chunk : n;
}

#endif
