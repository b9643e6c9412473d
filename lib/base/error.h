/* error.h: how the library reports failure.
 *
 * The library never prints and never exits. A failing call returns -1 (or
 * NULL) and leaves a one-line message, e.g. "fer2013.csv:1043: 2303 pixels,
 * expected 2304", in a thread-local buffer that the caller reads with
 * fer_error() and prints with its own program name in front. */
#ifndef FER_ERROR_H
#define FER_ERROR_H

#include <stdio.h>
#include <stdlib.h>

/* The message of the last failure in this thread ("" when none). */
const char *fer_error(void);

/* Sets the message, printf-style, and returns -1 so that a caller can write
 * `return fer_seterr("%s: bad magic", name);`. */
int fer_seterr(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Puts "prefix: " in front of the current message, e.g. a file name added by
 * a caller that knows it. Returns -1. */
int fer_error_prefix(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Broken internal invariants (never bad input) abort. The hook, when a
 * program has set one (the tools do: cmd/util.c), says where first. */
#define FER_ASSERT(c) ((c) ? (void)0 : fer_assert_fail(__FILE__, __LINE__, #c))
void fer_assert_fail(const char *file, int line, const char *expr) __attribute__((noreturn));
void fer_set_assert_hook(void (*hook)(const char *file, int line, const char *expr));

#endif
