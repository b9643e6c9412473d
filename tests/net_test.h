/* net_test.h: a parameter's values and gradient in place, for tests that
 * poke single weights. Tests run nets on the CPU backend, whose blocks are
 * host memory (net_blocks.h); other code goes through fer_net_param_read
 * and _write. */
#ifndef FER_NET_TEST_H
#define FER_NET_TEST_H

#include "net_blocks.h"

static inline float *param_w(fer_net *net, int i)
{
    return fer_net_weight_block(net) + fer_net_param(net, i)->off;
}

static inline float *param_g(fer_net *net, int i)
{
    return fer_net_grad_block(net) + fer_net_param(net, i)->off;
}

/* Parameter name's values; aborts when there is none (a broken test). */
static inline float *named_w(fer_net *net, const char *name)
{
    int i = fer_net_find_param(net, name);
    if (i < 0)
        abort();
    return param_w(net, i);
}

static inline size_t named_n(fer_net *net, const char *name)
{
    int i = fer_net_find_param(net, name);
    if (i < 0)
        abort();
    return fer_net_param(net, i)->n;
}

#endif
