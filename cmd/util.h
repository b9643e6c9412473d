/* util.h: what every tool does alike: its name in messages, one-line
 * failures ("fer-x: message" on stderr, then exit 1 for an error, 2 for a
 * usage error), the synopsis, --help and --version, and getopt_long with
 * those built in. Checked option values are opt.h's. Linked into every
 * tool, never into libfer.a (the library neither prints nor exits). */
#ifndef FER_CMD_UTIL_H
#define FER_CMD_UTIL_H

#include <getopt.h>

/* The version of every tool, as --version prints it. */
#define FER_TOOLS_VERSION "0.1"

/* The tool's name in messages, "fer-x" (fer_cmd_init). */
extern const char *fer_cmd;

/* First thing in main: the tool's name and its synopsis, the man page's
 * SYNOPSIS as lines "usage: fer-x ...\n" (a static string, not copied).
 * Also lets a broken library invariant (FER_ASSERT) say where it broke. */
void fer_cmd_init(const char *name, const char *synopsis);

/* "fer-x: message" on stderr, then exit 1 (die) or 2 (usage_error). */
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* The synopsis: with status 0 (--help) on stdout, then exit 0, or 1 if
 * stdout could not take it; else on stderr, then exit status (a usage
 * error with no more to say, such as a missing operand). */
void usage(int status) __attribute__((noreturn));

/* Returns when stdout took everything written to it, else dies with
 * "standard output: write error" (a full disk or a closed pipe is not
 * success). */
void fer_cmd_flush(void);

/* "fer-x FER_TOOLS_VERSION" on stdout, then exit as usage(0) does. */
void fer_cmd_version(void) __attribute__((noreturn));

/* --version's val in a tool's longopts; FER_CMD_LONGOPTS are the two
 * entries every tool has, --help (as -h) and --version. */
#define FER_CMD_VERSION 0x7f00
#define FER_CMD_LONGOPTS \
    {"help", no_argument, 0, 'h'}, {"version", no_argument, 0, FER_CMD_VERSION}

/* getopt_long (shortopts must have h) that answers -h, --help and
 * --version itself, and ends on an unknown option or a missing value
 * with libc's one line ("fer-x: unrecognized option '--bogus'") and
 * exit 2; argv[0] becomes fer_cmd, so the line names the tool however it
 * was called. Returns the other options as getopt_long does, -1 after
 * the last. */
int fer_cmd_getopt(int argc, char **argv, const char *shortopts,
                   const struct option *longopts);

#endif
