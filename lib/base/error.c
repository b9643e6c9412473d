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
    char old[sizeof msg];
    size_t k;
    va_list ap;
    memcpy(old, msg, sizeof msg);
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    k = strlen(msg);
    if (k + 2 < sizeof msg) {
        memcpy(msg + k, ": ", 2);
        k += 2;
        /* cut the old message to what fits */
        memcpy(msg + k, old, strnlen(old, sizeof msg - k - 1));
        msg[k + strnlen(old, sizeof msg - k - 1)] = 0;
    }
    return -1;
}

static void (*assert_hook)(const char *file, int line, const char *expr);

void fer_set_assert_hook(void (*hook)(const char *file, int line, const char *expr))
{
    assert_hook = hook;
}

_Noreturn void fer_assert_fail(const char *file, int line, const char *expr)
{
    if (assert_hook)
        assert_hook(file, line, expr);
    abort();
}
