/* threadpick.h: whether a small inference batch (a webcam's one face)
 * runs on the calling thread alone or shared with the thread pool,
 * decided by timing both, not by a guess.
 *
 * Sharing one image's layers between two cores pays a hand-off per
 * parallel call and moves each layer's output between the cores' caches.
 * How much that costs depends on the machine of the moment: on this
 * project's VMs the host places the two vCPUs near or far apart for
 * minutes at a time (bench/README.md, "Two states of the VM's cores"), and
 * a single image ran 1.6x faster on two threads in one state and slower
 * than on one in the other. So the picker times a few passes each way,
 * takes the faster, and times them again every few seconds.
 *
 *   fer_threadpick p = {0};
 *   int solo = fer_threadpick_begin(&p, n);   // fer_threads_solo set
 *   ... the pass ...
 *   fer_threadpick_end(&p, solo);             // timed, solo cleared
 *
 * The results are the same bits either way (threads.h). */
#ifndef FER_THREADPICK_H
#define FER_THREADPICK_H

/* Batches of at most this many images are picked for; larger ones always
 * share. */
#define FER_THREADPICK_MAX_BATCH 4

typedef struct fer_threadpick {
    int n;              /* the batch size being timed; 0 before the first */
    int trials;         /* passes timed since the last reset */
    int pick;           /* after the trials: 1 solo, 0 shared */
    double best[2];     /* the fastest pass each way (shared, solo), s */
    double t0;          /* the running pass's start */
    double decided;     /* when the pick was made */
} fer_threadpick;

/* Before a pass of n images: 1 when it should run solo (and solo is set
 * for the calling thread), 0 when shared. */
int fer_threadpick_begin(fer_threadpick *p, int n);

/* After that pass: its time counted, solo back off. */
void fer_threadpick_end(fer_threadpick *p, int solo);

#endif
