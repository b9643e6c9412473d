/* error.c: thread-local last-error message. */
#include <stdarg.h>
#include <string.h>

#include "error.h"

static _Thread_local char msg[1024];

const char *fer_error(void) { return msg; }

int fer_seterr(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return -1;
}

int fer_error_prefix(const char *fmt, ...)
{
    char old[sizeof msg], pre[256];
    va_list ap;
    memcpy(old, msg, sizeof msg);
    va_start(ap, fmt);
    vsnprintf(pre, sizeof pre, fmt, ap);
    va_end(ap);
    snprintf(msg, sizeof msg, "%s: %s", pre, old);
    return -1;
}
