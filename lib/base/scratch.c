/* scratch.c: per-thread grow-only buffers (scratch.h). */
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "scratch.h"

enum { HUGE = 2 << 20 };

static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static pthread_key_t buf_key;

typedef struct bufs {
    size_t cap[FER_SCRATCH_SLOTS];
    float *p[FER_SCRATCH_SLOTS];
} bufs;

static void bufs_free(void *v)
{
    bufs *b = v;
    for (int i = 0; i < FER_SCRATCH_SLOTS; i++)
        free(b->p[i]);
    free(b);
}

static void make_key(void) { pthread_key_create(&buf_key, bufs_free); }

void *fer_scratch_alloc(size_t bytes)
{
    void *p;
    if (bytes < HUGE)
        return aligned_alloc(64, (bytes + 63) / 64 * 64);
    bytes = (bytes + HUGE - 1) / HUGE * HUGE;
    p = aligned_alloc(HUGE, bytes);
#ifdef MADV_HUGEPAGE
    if (p)
        madvise(p, bytes, MADV_HUGEPAGE);
#endif
    return p;
}

float *fer_scratch(int slot, size_t n)
{
    bufs *b;
    pthread_once(&key_once, make_key);
    b = pthread_getspecific(buf_key);
    if (!b) {
        if (!(b = calloc(1, sizeof *b)))
            return NULL;
        pthread_setspecific(buf_key, b);
    }
    if (b->cap[slot] < n) {
        float *p = fer_scratch_alloc(n * sizeof(float));
        if (!p)
            return NULL;
        free(b->p[slot]);
        b->p[slot] = p;
        b->cap[slot] = n;
    }
    return b->p[slot];
}
