/* scratch.c: per-thread grow-only buffers (scratch.h). */
#include <pthread.h>
#include <stdlib.h>

#include "scratch.h"

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
        float *p = aligned_alloc(64, (n * sizeof(float) + 63) / 64 * 64);
        if (!p)
            return NULL;
        free(b->p[slot]);
        b->p[slot] = p;
        b->cap[slot] = n;
    }
    return b->p[slot];
}
