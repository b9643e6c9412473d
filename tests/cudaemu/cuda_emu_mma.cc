/* cuda_emu_mma.cc: the two tensor-core products of cuda_compat.h as warp
 * collectives. Every lane deposits its A and B fragments; after the warp
 * barrier each lane rebuilds the whole A and B from the 32 deposits with
 * the fragment layouts of the PTX ISA ("Matrix Fragments for mma.m16n8k16
 * with floating point type", "... for mma.m16n8k8", written here from the
 * ISA's row/col formulas, independently of cuda_compat.h's comment, so
 * that a test can hold one against the other) and computes its own four
 * elements of D.
 *
 * Arithmetic: each product of two bf16 (8-bit significands) or two tf32
 * (11-bit) is exact in fp32; D = C + sum over k in increasing order, in
 * fp32. The hardware's order and intermediate precision are unspecified
 * (PTX), so a kernel test compares with a tolerance, not bit for bit.
 * tf32 operands: PTX expects them converted (cvt.rna.tf32.f32) and leaves
 * other bit patterns to the implementation; the emulator ignores the low
 * 13 bits, i.e. truncates toward zero, NaN kept NaN. */
#include "cuda_emu_sched.h"

static float bf16_float(uint32_t h)
{
    return __uint_as_float((h & 0xffffu) << 16);
}

static float tf32_float(uint32_t u)
{
    if ((u & 0x7fffffffu) > 0x7f800000u)
        return __uint_as_float(u | 0x00400000u); /* NaN stays NaN */
    return __uint_as_float(u & 0xffffe000u);
}

/* D[16][8] rows g and g + 8, columns 2t and 2t + 1, of this lane */
static void finish(float d[4], const float c[4], int lane, const float A[16][16],
                   const float B[16][8], int K)
{
    int g = lane >> 2, t = lane & 3;
    float out[4];
    for (int i = 0; i < 4; i++) {
        int row = g + 8 * (i >> 1), col = 2 * t + (i & 1); /* c, d: PTX's c_i layout */
        float acc = c[i];
        for (int k = 0; k < K; k++)
            acc += A[row][k] * B[k][col];
        out[i] = acc;
    }
    memcpy(d, out, sizeof out); /* d may alias c */
}

void fer_mma_bf16_m16n8k16(float d[4], const uint32_t a[4], const uint32_t b[2], const float c[4])
{
    fer_emu_fiber *f = fer_emu_self("fer_mma_bf16_m16n8k16");
    int slot, lane = f->lin & 31;
    fer_emu_warp *w =
        fer_emu_warp_arrive(f, 0xffffffffu, FER_EMU_WARP_MMA_BF16, "fer_mma_bf16_m16n8k16", &slot);
    memcpy(w->a[slot][lane], a, 4 * sizeof *a);
    memcpy(w->b[slot][lane], b, 2 * sizeof *b);
    fer_emu_warp_wait(f, w);

    float A[16][16], B[16][8];
    for (int l = 0; l < 32; l++) {
        int groupID = l >> 2, tig = l & 3;
        for (int i = 0; i < 8; i++) { /* a0..a7, two per register, low half first */
            int row = (i < 2 || (i >= 4 && i < 6)) ? groupID : groupID + 8;
            int col = tig * 2 + (i & 1) + (i >= 4 ? 8 : 0);
            A[row][col] = bf16_float(w->a[slot][l][i / 2] >> (16 * (i & 1)));
        }
        for (int i = 0; i < 4; i++) { /* b0..b3 */
            int row = tig * 2 + (i & 1) + (i >= 2 ? 8 : 0), col = groupID;
            B[row][col] = bf16_float(w->b[slot][l][i / 2] >> (16 * (i & 1)));
        }
    }
    finish(d, c, lane, A, B, 16);
}

void fer_mma_tf32_m16n8k8(float d[4], const uint32_t a[4], const uint32_t b[2], const float c[4])
{
    fer_emu_fiber *f = fer_emu_self("fer_mma_tf32_m16n8k8");
    int slot, lane = f->lin & 31;
    fer_emu_warp *w =
        fer_emu_warp_arrive(f, 0xffffffffu, FER_EMU_WARP_MMA_TF32, "fer_mma_tf32_m16n8k8", &slot);
    memcpy(w->a[slot][lane], a, 4 * sizeof *a);
    memcpy(w->b[slot][lane], b, 2 * sizeof *b);
    fer_emu_warp_wait(f, w);

    float A[16][16], B[16][8];
    for (int l = 0; l < 32; l++) {
        int groupID = l >> 2, tig = l & 3;
        for (int i = 0; i < 4; i++) { /* a0..a3, one per register */
            int row = (i == 0 || i == 2) ? groupID : groupID + 8;
            int col = (i < 2) ? tig : tig + 4;
            A[row][col] = tf32_float(w->a[slot][l][i]);
        }
        for (int i = 0; i < 2; i++) /* b0: row tig, b1: row tig + 4 */
            B[tig + 4 * i][groupID] = tf32_float(w->b[slot][l][i]);
    }
    finish(d, c, lane, A, B, 8);
}
