/* json.h: what the tools need to write JSON. */
#ifndef FER_JSON_H
#define FER_JSON_H

#include <stdio.h>

/* Writes s to f as a JSON string, in double quotes: " and \ escaped,
 * newline and tab as \n and \t, other control characters as \u00XX; other
 * bytes as they are (UTF-8 passes through). Write errors are f's. */
void fer_json_string(FILE *f, const char *s);

#endif
