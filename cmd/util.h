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

#endif
