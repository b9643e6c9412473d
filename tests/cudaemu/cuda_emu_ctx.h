/* cuda_emu_ctx.h: the fibers' context switch (internal to the emulator).
 * On x86-64 a dozen instructions that save the callee-saved registers and
 * swap stacks: swapcontext would also save the signal mask, a system call
 * per switch (~0.3 us each), and the kernels' tests switch millions of
 * times. Elsewhere, or built with -DFER_EMU_UCONTEXT, ucontext. */
#ifndef FER_CUDA_EMU_CTX_H
#define FER_CUDA_EMU_CTX_H

#include <stddef.h>
#include <ucontext.h>

#if defined(__x86_64__) && !defined(FER_EMU_UCONTEXT)
#define FER_EMU_FAST_SWITCH 1
#else
#define FER_EMU_FAST_SWITCH 0
#endif

struct fer_emu_ctx {
    void *sp; /* the fast switch: the saved stack pointer */
    ucontext_t uc;
};

/* Makes c start entry on [stack, stack + size) at the next switch to it;
 * entry must never return (it switches away for good instead). */
void fer_emu_ctx_make(fer_emu_ctx *c, char *stack, size_t size, void (*entry)(void));
/* Saves the running context in from and resumes to. */
void fer_emu_ctx_switch(fer_emu_ctx *from, fer_emu_ctx *to);

#endif
