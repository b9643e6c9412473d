/* opt.h: option values, each checked whole. A bad value is a usage error:
 * one line naming the option, "fer-x: --opt: 'value': what is wrong",
 * and exit 2 (util.h). opt is the long name without its dashes. */
#ifndef FER_CMD_OPT_H
#define FER_CMD_OPT_H

#include "backend.h"
#include "net.h"

/* A number in [lo, hi]; fer_cmd_whole takes whole decimal numbers only
 * ("2.5" and "0x10" are refused, not read as 2 and 16). */
double fer_cmd_num(const char *opt, const char *s, double lo, double hi);
long fer_cmd_whole(const char *opt, const char *s, long lo, long hi);

/* A number in (0, hi]: 0 is refused as "must be above 0". */
double fer_cmd_positive(const char *opt, const char *s, double hi);

/* "A:B" with lo <= A <= B <= hi, into *a and *b. */
void fer_cmd_range(const char *opt, const char *s, double lo, double hi, double *a, double *b);

/* The index of s in names (NULL-terminated); another word is refused as
 * "use a, b or c". */
int fer_cmd_pick(const char *opt, const char *s, const char *const *names);

/* --usage NAME (Training, PublicTest or PrivateTest): the split's bit,
 * 1 << enum fer_usage (dataset.h), for fer_dataset_filter_usage's mask. */
unsigned fer_cmd_usage_bit(const char *s);

/* --precision NAME: fp32 or bf16 for every product from now on
 * (fer_gemm_set_precision). bf16 without AVX512_BF16 (not on this CPU,
 * or FER_SIMD chose another kernel) still runs, on rounded operands
 * through the fp32 kernels, and unless quiet says so once on stderr. */
void fer_cmd_precision(const char *name, int quiet);

/* --device NAME, --precision NAME and --gemm NAME together: the backend
 * to run nets on, NULL for the CPU (whose precision fer_cmd_precision
 * then sets). device is cpu, cuda or cuda:N (GPU N, from 0); on the GPU
 * the precision may also be tf32, and gemm (NULL: ours) chooses our
 * products or cuBLAS's. A GPU that cannot be used (none, a driver too
 * old, fer built without CUDA) is one line and exit 1; tf32 or --gemm
 * without cuda, a usage error. */
const fer_backend *fer_cmd_backend(const char *device, const char *precision, const char *gemm,
                                   int quiet);

/* Moves net to be (nothing for NULL, the CPU); exit 1 with one line when
 * the device refuses (out of memory). */
void fer_cmd_move(fer_net *net, const fer_backend *be);

#endif
