/* cuda_emu_sched.h: the emulator's scheduler as its other files see it
 * (internal: kernels and tests include cuda_emu.h only). One OS thread
 * runs one block at a time; these are that thread's current fiber and
 * block. */
#ifndef FER_CUDA_EMU_SCHED_H
#define FER_CUDA_EMU_SCHED_H

#include <ucontext.h>

#include <vector>

#include "cuda_emu.h"

/* what a fiber waits for */
enum { FER_EMU_RUNNABLE, FER_EMU_AT_SYNC, FER_EMU_AT_WARP, FER_EMU_EXITED };

/* the warp collectives, for the check that all lanes meet at the same one */
enum {
    FER_EMU_WARP_SYNC = 16,
    FER_EMU_WARP_MMA_BF16,
    FER_EMU_WARP_MMA_TF32,
    /* FER_EMU_SHFL_* (0..3) are the shuffle kinds */
};

struct fer_emu_fiber {
    ucontext_t ctx;
    char *stack; /* usable part, above a guard page */
    size_t stack_size;
    void *fake_stack; /* ASan's fake stack while switched out */
    uint3 tid;
    int lin;       /* linear thread id in the block: x + X (y + Y z) */
    int wait;      /* FER_EMU_RUNNABLE ... */
    int warp_kind; /* the collective it waits at, when FER_EMU_AT_WARP */
};

/* A warp's meeting point. Lanes deposit into slot gen & 1 and read from it
 * after the barrier; the next collective uses the other slot, and cannot
 * complete (so cannot overwrite this one) before every lane has resumed
 * from this one: two slots are enough. */
struct fer_emu_warp {
    int arrived, kind, nlanes;
    unsigned gen;
    uint32_t val[2][32];
    uint32_t a[2][32][4], b[2][32][2];
};

struct fer_emu_block {
    const char *name;
    const std::function<void()> *body;
    uint3 idx;
    dim3 dim;
    int n; /* threads */
    int sync_arrived, exited;
    std::vector<fer_emu_fiber *> fibers; /* n of the thread's pool */
    std::vector<int> ready;              /* runnable linear ids */
    std::vector<fer_emu_warp> warps;
};

extern __thread fer_emu_fiber *fer_emu_cur;
extern __thread fer_emu_block *fer_emu_cur_block;

/* Switches from the running fiber back to the scheduler until it is made
 * runnable again. */
void fer_emu_yield(void);
/* Makes the fiber of linear id lin runnable. */
void fer_emu_release(int lin);
/* Prints "cuda_emu: kernel K block (x,y,z) thread (x,y,z): message" for
 * the running fiber (f NULL) or f, and aborts. */
[[noreturn]] void fer_emu_die(const fer_emu_fiber *f, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The running fiber, aborting with a message naming `what` outside a
 * kernel. */
fer_emu_fiber *fer_emu_self(const char *what);

/* A warp collective, in two steps around the lane's deposit: arrive
 * checks the mask, the warp and that all lanes meet at the same kind of
 * collective, and gives the round's slot; wait is the barrier (the last
 * lane in releases the 32). what names the collective in messages. */
fer_emu_warp *fer_emu_warp_arrive(fer_emu_fiber *f, unsigned mask, int kind, const char *what,
                                  int *slot);
void fer_emu_warp_wait(fer_emu_fiber *f, fer_emu_warp *w);
/* What a fiber waits at, for messages: "__syncthreads", "exited", ... */
const char *fer_emu_wait_name(const fer_emu_fiber *f);

#endif
