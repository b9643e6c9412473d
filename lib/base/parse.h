/* parse.h: checked conversion of option arguments and text fields.
 * Never atoi: every number is checked for syntax and range. */
#ifndef FER_PARSE_H
#define FER_PARSE_H

/* Parses a whole decimal integer in [min, max] from s into *out: the
 * whole string, no leading blank. Returns 0, or -1 with fer_error() set
 * to e.g. "'12x': not an integer". */
int fer_parse_long(const char *s, long min, long max, long *out);

/* Parses a whole finite decimal floating-point number in [min, max] into
 * *out: the whole string, no leading blank, no hexadecimal. */
int fer_parse_double(const char *s, double min, double max, double *out);

/* Looks up key in a "key=value\n" text (a record's meta text) and copies the
 * value, NUL-terminated and cut to n-1 bytes, into buf. Returns the value's
 * full length, or -1 when the key is absent (fer_error() not set). */
int fer_parse_meta(const char *meta, const char *key, char *buf, int n);

#endif
