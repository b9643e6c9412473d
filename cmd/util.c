/* util.c: see util.h. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "error.h"
#include "util.h"

const char *fer_cmd = "fer";
static const char *synopsis = "";

/* A broken invariant in the library names itself before the abort. */
static void say_assert(const char *file, int line, const char *expr)
{
    fprintf(stderr, "%s: %s:%d: assertion failed: %s\n", fer_cmd, file, line, expr);
}

void fer_cmd_init(const char *name, const char *syn)
{
    fer_cmd = name;
    synopsis = syn;
    fer_set_assert_hook(say_assert);
}

static void vfail(int status, const char *fmt, va_list ap) __attribute__((noreturn));
static void vfail(int status, const char *fmt, va_list ap)
{
    fprintf(stderr, "%s: ", fer_cmd);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    exit(status);
}

void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(1, fmt, ap);
}

void usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(2, fmt, ap);
}

void fer_cmd_flush(void)
{
    if (fflush(stdout) || ferror(stdout))
        die("standard output: write error");
}

void usage(int status)
{
    if (status) {
        fputs(synopsis, stderr);
        exit(status);
    }
    fputs(synopsis, stdout);
    fer_cmd_flush();
    exit(0);
}

void fer_cmd_version(void)
{
    printf("%s %s\n", fer_cmd, FER_TOOLS_VERSION);
    fer_cmd_flush();
    exit(0);
}

int fer_cmd_getopt(int argc, char **argv, const char *shortopts,
                   const struct option *longopts)
{
    int c;
    argv[0] = (char *)fer_cmd;
    c = getopt_long(argc, argv, shortopts, longopts, NULL);
    if (c == 'h')
        usage(0);
    if (c == FER_CMD_VERSION)
        fer_cmd_version();
    if (c == '?' || c == ':')
        exit(2);    /* getopt_long printed the line */
    return c;
}

