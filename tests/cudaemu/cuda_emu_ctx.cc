/* cuda_emu_ctx.cc: the context switch of cuda_emu_ctx.h. */
#include <stdint.h>
#include <stdlib.h>

#include "cuda_emu_ctx.h"

#if FER_EMU_FAST_SWITCH
/* fer_emu_switch_x64(&from_sp, to_sp): pushes the System V callee-saved
 * registers and the MXCSR / x87 control words, saves rsp, loads to_sp and
 * pops the same frame from it; ret resumes the other context. */
extern "C" void fer_emu_switch_x64(void **from_sp, void *to_sp);
asm(".text\n"
    ".globl fer_emu_switch_x64\n"
    ".type fer_emu_switch_x64, @function\n"
    "fer_emu_switch_x64:\n"
    "    pushq %rbp\n"
    "    pushq %rbx\n"
    "    pushq %r12\n"
    "    pushq %r13\n"
    "    pushq %r14\n"
    "    pushq %r15\n"
    "    subq $8, %rsp\n"
    "    stmxcsr (%rsp)\n"
    "    fnstcw 4(%rsp)\n"
    "    movq %rsp, (%rdi)\n"
    "    movq %rsi, %rsp\n"
    "    ldmxcsr (%rsp)\n"
    "    fldcw 4(%rsp)\n"
    "    addq $8, %rsp\n"
    "    popq %r15\n"
    "    popq %r14\n"
    "    popq %r13\n"
    "    popq %r12\n"
    "    popq %rbx\n"
    "    popq %rbp\n"
    "    ret\n"
    ".size fer_emu_switch_x64, .-fer_emu_switch_x64\n");

void fer_emu_ctx_make(fer_emu_ctx *c, char *stack, size_t size, void (*entry)(void))
{
    /* the frame fer_emu_switch_x64 pops, under a zero return address for
     * entry: at entry rsp + 8 is 16-aligned, as after a call */
    uintptr_t top = ((uintptr_t)stack + size) & ~(uintptr_t)15;
    uint64_t *sp = (uint64_t *)top - 9;
    uint32_t csr[2];
    asm volatile("stmxcsr %0\n\tfnstcw %1" : "=m"(csr[0]), "=m"(csr[1]));
    sp[0] = (uint64_t)csr[0] | (uint64_t)(csr[1] & 0xffff) << 32; /* mxcsr, fcw */
    for (int i = 1; i <= 6; i++)
        sp[i] = 0; /* r15 r14 r13 r12 rbx rbp */
    sp[7] = (uint64_t)(uintptr_t)entry;
    sp[8] = 0; /* entry's return address: it never returns */
    c->sp = sp;
}

void fer_emu_ctx_switch(fer_emu_ctx *from, fer_emu_ctx *to)
{
    fer_emu_switch_x64(&from->sp, to->sp);
}
#else
void fer_emu_ctx_make(fer_emu_ctx *c, char *stack, size_t size, void (*entry)(void))
{
    if (getcontext(&c->uc) != 0)
        abort();
    c->uc.uc_stack.ss_sp = stack;
    c->uc.uc_stack.ss_size = size;
    c->uc.uc_link = NULL;
    makecontext(&c->uc, entry, 0);
}

void fer_emu_ctx_switch(fer_emu_ctx *from, fer_emu_ctx *to)
{
    swapcontext(&from->uc, &to->uc);
}
#endif
