/* util.h: what the tools do alike when they give up: one line on stderr,
 * "fer-x: message", then exit (1 for errors, 2 for usage), and the checked
 * number options behind it. Linked into every tool, never into libfer.a
 * (the library neither prints nor exits). */
#ifndef FER_CMD_UTIL_H
#define FER_CMD_UTIL_H

/* The tool's name in messages; each tool sets it first thing in main. */
extern const char *fer_cmd;

/* Prints "fer_cmd: message" and exits with status. */
void fer_cmd_fail(int status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));

/* Option --opt's number s in [lo, hi]; a usage error (status 2) naming the
 * option otherwise. fer_cmd_whole takes whole decimal numbers only. */
double fer_cmd_num(const char *opt, const char *s, double lo, double hi);
long fer_cmd_whole(const char *opt, const char *s, long lo, long hi);

/* --precision NAME for tool argv0: fp32 or bf16 for every product from
 * now on (fer_gemm_set_precision); another name is a usage error (exit 2).
 * bf16 without AVX512_BF16 (not on this CPU, or FER_SIMD chose another
 * kernel) still runs, on rounded operands through the fp32 kernels, and
 * unless quiet says so once on stderr. */
void fer_cmd_precision(const char *argv0, const char *name, int quiet);

#endif
