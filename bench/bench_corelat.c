/* bench_corelat.c: the round trip of one cache line between two CPUs, which
 * says in which state a virtual machine's cores are when other benchmarks
 * run. On the 2-vCPU VM of bench/README.md it is 50-90 ns at times and
 * 310-350 ns at others (the host moves the vCPUs between dies), and
 * kernels that hand data from core to core ran up to 30% slower in the
 * second state.
 *
 *   bench_corelat [CPU_A CPU_B [ROUNDS]]   default: CPUs 0 and 1, 200000
 *
 * Two threads, pinned to the two CPUs, bounce a counter in one cache line:
 * A writes an odd value and waits for B's next even one. Prints
 *   corelat cpus=0,1 rounds=200000 roundtrip_ns=53.2
 * Exit 0; 1 when a thread cannot be pinned or started (one CPU only,
 * say); 2 on bad arguments. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

#include "parse.h"

static _Alignas(64) atomic_long line;
static _Alignas(64) atomic_int failed;   /* B could not be pinned */
static long rounds = 200000;

static int pin(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

static int cpu_b;

static void *other(void *arg)
{
    (void)arg;
    if (pin(cpu_b)) {
        atomic_store(&failed, 1);
        return NULL;
    }
    for (long i = 0; i < rounds; i++) {
        while (atomic_load_explicit(&line, memory_order_acquire) != 2 * i + 1)
            ;
        atomic_store_explicit(&line, 2 * i + 2, memory_order_release);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    long a = 0, b = 1;
    pthread_t t;
    struct timespec t0, t1;
    if ((argc != 1 && argc != 3 && argc != 4) ||
        (argc >= 3 && (fer_parse_long(argv[1], 0, CPU_SETSIZE - 1, &a) ||
                       fer_parse_long(argv[2], 0, CPU_SETSIZE - 1, &b) || a == b)) ||
        (argc == 4 && fer_parse_long(argv[3], 1, 1000000000, &rounds))) {
        fprintf(stderr, "usage: bench_corelat [CPU_A CPU_B [ROUNDS]]\n");
        return 2;
    }
    cpu_b = (int)b;
    if (pin((int)a) || pthread_create(&t, NULL, other, NULL)) {
        fprintf(stderr, "bench_corelat: cannot run on CPUs %ld and %ld\n", a, b);
        return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long i = 0; i < rounds && !atomic_load(&failed); i++) {
        atomic_store_explicit(&line, 2 * i + 1, memory_order_release);
        while (atomic_load_explicit(&line, memory_order_acquire) != 2 * i + 2 &&
               !atomic_load_explicit(&failed, memory_order_relaxed))
            ;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    pthread_join(t, NULL);
    if (atomic_load(&failed)) {
        fprintf(stderr, "bench_corelat: cannot run on CPU %ld\n", b);
        return 1;
    }
    printf("corelat cpus=%ld,%ld rounds=%ld roundtrip_ns=%.1f\n", a, b, rounds,
           ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / rounds);
    return 0;
}
