/* cuda_emu_warp.cc: __syncwarp and the shuffles as barriers of the 32
 * lanes of a warp (32 consecutive linear thread ids). Each lane deposits
 * its value in the warp's slot of this round, waits until every lane has
 * arrived, then reads its partner's value; the next round uses the other
 * slot (cuda_emu_sched.h says why two suffice). Only what the kernels need
 * is emulated: full masks on full warps; anything else aborts. */
#include "cuda_emu_sched.h"

fer_emu_warp *fer_emu_warp_arrive(fer_emu_fiber *f, unsigned mask, int kind, const char *what,
                                  int *slot)
{
    fer_emu_block *b = fer_emu_cur_block;
    fer_emu_warp *w = &b->warps[f->lin / 32];
    if (mask != 0xffffffffu)
        fer_emu_die(f, "%s with mask 0x%08x: the emulator supports full-warp masks only", what,
                    mask);
    if (w->nlanes != 32)
        fer_emu_die(f, "%s in a partial warp of %d lanes (block of %d threads)", what, w->nlanes,
                    b->n);
    if (w->arrived == 0)
        w->kind = kind;
    else if (w->kind != kind) {
        int j = f->lin & ~31;
        while (b->fibers[j]->wait != FER_EMU_AT_WARP)
            j++;
        fer_emu_die(f, "lanes of one warp at different collectives: %s here, thread %d at %s",
                    what, j, fer_emu_wait_name(b->fibers[j]));
    }
    f->warp_kind = kind;
    *slot = (int)(w->gen & 1);
    return w;
}

void fer_emu_warp_wait(fer_emu_fiber *f, fer_emu_warp *w)
{
    f->wait = FER_EMU_AT_WARP;
    if (++w->arrived == 32) {
        w->arrived = 0;
        w->gen++;
        for (int j = (f->lin & ~31); j < (f->lin & ~31) + 32; j++)
            fer_emu_release(j);
    }
    fer_emu_yield();
}

void __syncwarp(unsigned mask)
{
    fer_emu_fiber *f = fer_emu_self("__syncwarp");
    int slot;
    fer_emu_warp *w = fer_emu_warp_arrive(f, mask, FER_EMU_WARP_SYNC, "__syncwarp", &slot);
    fer_emu_warp_wait(f, w);
}

/* PTX shfl.sync: with c = the segment mask and clamp the intrinsics pass
 * for width, the source lane j, or the lane itself when j falls outside
 * its segment (PTX ISA, shfl.sync). */
static int shfl_source(int lane, int mode, int bval, int width)
{
    int segmask = 32 - width, cval = mode == FER_EMU_SHFL_UP ? 0 : 31;
    int maxlane = (lane & segmask) | (cval & ~segmask), minlane = lane & segmask, j;
    int ok;
    bval &= 31;
    switch (mode) {
    case FER_EMU_SHFL_UP: j = lane - bval; ok = j >= maxlane; break;
    case FER_EMU_SHFL_DOWN: j = lane + bval; ok = j <= maxlane; break;
    case FER_EMU_SHFL_BFLY: j = lane ^ bval; ok = j <= maxlane; break;
    default: j = minlane | (bval & ~segmask); ok = j <= maxlane; break;
    }
    return ok ? j : lane;
}

uint32_t fer_emu_shfl(unsigned mask, uint32_t v, int mode, int b, int width)
{
    static const char *names[] = {"__shfl_sync", "__shfl_up_sync", "__shfl_down_sync",
                                  "__shfl_xor_sync"};
    fer_emu_fiber *f = fer_emu_self(names[mode]);
    int slot, lane = f->lin & 31;
    if (width < 1 || width > 32 || (width & (width - 1)))
        fer_emu_die(f, "%s with width %d (a power of 2 up to 32)", names[mode], width);
    fer_emu_warp *w = fer_emu_warp_arrive(f, mask, mode, names[mode], &slot);
    w->val[slot][lane] = v;
    fer_emu_warp_wait(f, w);
    return w->val[slot][shfl_source(lane, mode, b, width)];
}
