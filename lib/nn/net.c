/* net.c: layer graph, memory plan, forward and backward passes. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "conv.h"
#include "error.h"
#include "layers.h"
#include "net.h"
#include "scratch.h"
#include "threads.h"

#define MAX_NODE_PARAMS 4

typedef struct node {
    int op;
    int in, in2;                /* input node ids (in2 for add) */
    int c, h, w;                /* output shape per image */
    size_t size;                /* c*h*w */
    int consumers;              /* how many nodes read this output */
    /* op parameters */
    int k, stride, pad, bias;   /* conv: K = c; k = R = S; pool: k, stride */
    float a;                    /* leaky slope, dropout p */
    int param[MAX_NODE_PARAMS]; /* indices into net->params, -1 none */
    fer_conv_shape cs;
    /* planned buffers, for max_n images */
    float *y, *dy;
    int owns_y;                 /* y is this node's own block (else shared) */
    int owns_dy;                /* likewise dy */
    int32_t *argmax;            /* maxpool */
    uint8_t *mask;              /* dropout */
    float *save_mean, *save_invstd; /* bn, (c) */
} node;

struct fer_net {
    node *nodes;
    int nnodes, capnodes;
    fer_param *params;
    int nparams, capparams;
    int max_n;
    float *ws;                  /* conv workspace */
    size_t ws_size;
    float *scratch;             /* dx for inputs with several consumers */
    size_t scratch_size;
    int *seen;                  /* backward: consumers heard from, per node */
    size_t weights;             /* parameter elements so far (FER_NET_MAX_WEIGHTS) */
    size_t activations;         /* one image's node outputs so far (..._ACTIVATIONS) */
    int infer;                  /* planned for inference only: no backward */
    float bn_eps, bn_momentum;  /* every batch norm's (fer_net_set_bn) */
};

fer_net *fer_net_new(int c, int h, int w)
{
    fer_net *net = calloc(1, sizeof *net);
    if (!net)
        return NULL;
    net->capnodes = 64;
    net->nodes = calloc(net->capnodes, sizeof *net->nodes);
    if (!net->nodes) {
        free(net);
        return NULL;
    }
    net->nnodes = 1;
    net->nodes[0].op = FER_OP_INPUT;
    net->nodes[0].c = c;
    net->nodes[0].h = h;
    net->nodes[0].w = w;
    net->nodes[0].size = (size_t)c * h * w;
    net->nodes[0].in = net->nodes[0].in2 = -1;
    net->activations = net->nodes[0].size;
    fer_net_set_bn(net, 1e-5f, 0.1f);
    return net;
}

void fer_net_set_bn(fer_net *net, float eps, float momentum)
{
    net->bn_eps = eps;
    net->bn_momentum = momentum;
}

static void free_buffers(fer_net *net)
{
    for (int i = 0; i < net->nnodes; i++) {
        node *nd = &net->nodes[i];
        if (i && nd->owns_y)
            free(nd->y);
        nd->owns_y = 0;
        if (nd->owns_dy)
            free(nd->dy);
        nd->owns_dy = 0;
        free(nd->argmax);
        free(nd->mask);
        free(nd->save_mean);
        free(nd->save_invstd);
        nd->y = nd->dy = nd->save_mean = nd->save_invstd = NULL;
        nd->argmax = NULL;
        nd->mask = NULL;
    }
    free(net->ws);
    free(net->scratch);
    free(net->seen);
    net->ws = net->scratch = NULL;
    net->seen = NULL;
    net->max_n = 0;
    net->infer = 0;
}

void fer_net_free(fer_net *net)
{
    if (!net)
        return;
    free_buffers(net);
    for (int i = 0; i < net->nparams; i++) {
        free(net->params[i].w);
        free(net->params[i].g);
    }
    free(net->params);
    free(net->nodes);
    free(net);
}

static int add_param(fer_net *net, const char *prefix, const char *suffix, int ndim,
                     const int *shape, int learn, int decay)
{
    fer_param *p;
    size_t n = 1;
    for (int i = 0; i < ndim; i++) {   /* in range before the product can wrap */
        if (shape[i] < 1 || (size_t)shape[i] > FER_NET_MAX_WEIGHTS ||
            n > FER_NET_MAX_WEIGHTS / (size_t)shape[i])
            return fer_seterr("%s.%s: more weights than a net may have (%zu)", prefix, suffix,
                              FER_NET_MAX_WEIGHTS);
        n *= (size_t)shape[i];
    }
    if (n > FER_NET_MAX_WEIGHTS - net->weights)
        return fer_seterr("%s.%s: the net would pass %zu weights, the limit", prefix, suffix,
                          FER_NET_MAX_WEIGHTS);
    if (net->nparams == net->capparams) {
        int cap = net->capparams ? 2 * net->capparams : 64;
        fer_param *q = realloc(net->params, cap * sizeof *q);
        if (!q)
            return fer_seterr("out of memory");
        net->params = q;
        net->capparams = cap;
    }
    p = &net->params[net->nparams];
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s.%s", prefix, suffix);
    p->ndim = ndim;
    p->n = 1;
    for (int i = 0; i < ndim; i++) {
        p->shape[i] = shape[i];
        p->n *= shape[i];
    }
    p->w = calloc(p->n, sizeof *p->w);
    p->g = learn ? calloc(p->n, sizeof *p->g) : NULL;
    if (!p->w || (learn && !p->g)) {
        free(p->w);
        free(p->g);
        return fer_seterr("out of memory");
    }
    p->trainable = learn;
    p->decay = decay;
    net->weights += n;
    return net->nparams++;
}

static node *new_node(fer_net *net, int op, int in)
{
    node *nd;
    if (in < 0 || in >= net->nnodes) {
        fer_seterr("node input %d does not exist", in);
        return NULL;
    }
    if (net->nnodes == net->capnodes) {
        node *q = realloc(net->nodes, 2 * net->capnodes * sizeof *q);
        if (!q) {
            fer_seterr("out of memory");
            return NULL;
        }
        net->nodes = q;
        net->capnodes *= 2;
    }
    free_buffers(net);   /* the plan no longer fits */
    nd = &net->nodes[net->nnodes];
    memset(nd, 0, sizeof *nd);
    nd->op = op;
    nd->in = in;
    nd->in2 = -1;
    for (int i = 0; i < MAX_NODE_PARAMS; i++)
        nd->param[i] = -1;
    nd->c = net->nodes[in].c;
    nd->h = net->nodes[in].h;
    nd->w = net->nodes[in].w;
    return nd;
}

static int finish(fer_net *net, node *nd)
{
    nd->size = (size_t)nd->c * nd->h * nd->w;
    if (nd->size > FER_NET_MAX_ACTIVATIONS - net->activations)
        return fer_seterr("node %d (%dx%dx%d): one image's activations would pass %zu floats, "
                          "the limit", net->nnodes, nd->c, nd->h, nd->w, FER_NET_MAX_ACTIVATIONS);
    net->activations += nd->size;
    net->nodes[nd->in].consumers++;
    if (nd->in2 >= 0)
        net->nodes[nd->in2].consumers++;
    return net->nnodes++;
}

int fer_net_conv(fer_net *net, int in, const char *name, int K, int R, int stride, int pad,
                 int bias)
{
    node *nd = new_node(net, FER_OP_CONV, in);
    int shape[4];
    if (!nd)
        return -1;
    if (fer_conv_shape_init(&nd->cs, 1, nd->c, nd->h, nd->w, K, R, R, stride, pad))
        return fer_seterr("%s: %dx%d kernel does not fit %dx%d input", name, R, R, nd->h, nd->w);
    shape[0] = K;
    shape[1] = nd->c;
    shape[2] = shape[3] = R;
    if ((nd->param[0] = add_param(net, name, "weight", 4, shape, 1, 1)) < 0)
        return -1;
    if (bias && (nd->param[1] = add_param(net, name, "bias", 1, &K, 1, 0)) < 0)
        return -1;
    nd->k = R;
    nd->stride = stride;
    nd->pad = pad;
    nd->bias = bias;
    nd->c = K;
    nd->h = nd->cs.P;
    nd->w = nd->cs.Q;
    return finish(net, nd);
}

int fer_net_bn(fer_net *net, int in, const char *name)
{
    node *nd = new_node(net, FER_OP_BN, in);
    if (!nd)
        return -1;
    if ((nd->param[0] = add_param(net, name, "weight", 1, &nd->c, 1, 0)) < 0 ||
        (nd->param[1] = add_param(net, name, "bias", 1, &nd->c, 1, 0)) < 0 ||
        (nd->param[2] = add_param(net, name, "running_mean", 1, &nd->c, 0, 0)) < 0 ||
        (nd->param[3] = add_param(net, name, "running_var", 1, &nd->c, 0, 0)) < 0)
        return -1;
    for (int i = 0; i < nd->c; i++) {
        net->params[nd->param[0]].w[i] = 1;
        net->params[nd->param[3]].w[i] = 1;
    }
    return finish(net, nd);
}

int fer_net_relu(fer_net *net, int in)
{
    node *nd = new_node(net, FER_OP_RELU, in);
    return nd ? finish(net, nd) : -1;
}

int fer_net_lrelu(fer_net *net, int in, float slope)
{
    node *nd = new_node(net, FER_OP_LRELU, in);
    if (!nd)
        return -1;
    nd->a = slope;
    return finish(net, nd);
}

int fer_net_dropout(fer_net *net, int in, float p)
{
    node *nd = new_node(net, FER_OP_DROPOUT, in);
    if (!nd)
        return -1;
    if (!(p >= 0 && p < 1))
        return fer_seterr("dropout %g outside [0, 1)", p);
    nd->a = p;
    return finish(net, nd);
}

int fer_net_maxpool(fer_net *net, int in, int k, int stride)
{
    node *nd = new_node(net, FER_OP_MAXPOOL, in);
    if (!nd)
        return -1;
    if (k < 1 || stride < 1 || nd->h < k || nd->w < k)
        return fer_seterr("max pool %d/%d does not fit %dx%d", k, stride, nd->h, nd->w);
    nd->k = k;
    nd->stride = stride;
    nd->h = (nd->h - k) / stride + 1;
    nd->w = (nd->w - k) / stride + 1;
    return finish(net, nd);
}

int fer_net_dense(fer_net *net, int in, const char *name, int out, int bias)
{
    node *nd = new_node(net, FER_OP_DENSE, in);
    int shape[2];
    if (!nd)
        return -1;
    shape[0] = out;
    shape[1] = (int)net->nodes[in].size;
    if ((nd->param[0] = add_param(net, name, "weight", 2, shape, 1, 1)) < 0)
        return -1;
    if (bias && (nd->param[1] = add_param(net, name, "bias", 1, &out, 1, 0)) < 0)
        return -1;
    nd->bias = bias;
    nd->c = out;
    nd->h = nd->w = 1;
    return finish(net, nd);
}

int fer_net_gap(fer_net *net, int in)
{
    node *nd = new_node(net, FER_OP_GAP, in);
    if (!nd)
        return -1;
    nd->h = nd->w = 1;
    return finish(net, nd);
}

int fer_net_add(fer_net *net, int a, int b)
{
    node *nd = new_node(net, FER_OP_ADD, a);
    if (!nd)
        return -1;
    if (b < 0 || b >= net->nnodes)
        return fer_seterr("node input %d does not exist", b);
    if (net->nodes[b].c != nd->c || net->nodes[b].h != nd->h || net->nodes[b].w != nd->w)
        return fer_seterr("add: shapes %dx%dx%d and %dx%dx%d differ", nd->c, nd->h, nd->w,
                          net->nodes[b].c, net->nodes[b].h, net->nodes[b].w);
    nd->in2 = b;
    return finish(net, nd);
}

/* Blocks handed from node to node by both plans. Time runs forward over
 * the nodes; a block is free again once the time "busy" stored with it has
 * passed. A new block belongs to the node it is first given to (owns_y or
 * owns_dy), so a failure leaves nothing to free but the pool itself. */
typedef struct pool {
    float **blk;
    size_t *size;
    int *busy;
    int n;
} pool;

static int pool_init(pool *p, int cap)
{
    p->blk = calloc(cap, sizeof *p->blk);
    p->size = calloc(cap, sizeof *p->size);
    p->busy = calloc(cap, sizeof *p->busy);
    p->n = 0;
    return p->blk && p->size && p->busy ? 0 : -1;
}

static void pool_free(pool *p)
{
    free(p->blk);
    free(p->size);
    free(p->busy);
}

/* The smallest free block of at least need floats at time now, kept busy
 * until time busy; else a new one (*fresh = 1). NULL when out of memory. */
static float *pool_take(pool *p, size_t need, int now, int busy, int *fresh)
{
    int best = -1;
    for (int b = 0; b < p->n; b++)
        if (p->busy[b] < now && p->size[b] >= need && (best < 0 || p->size[b] < p->size[best]))
            best = b;
    *fresh = best < 0;
    if (best < 0) {
        float *m = fer_big_alloc(need * sizeof(float));
        if (!m)
            return NULL;
        best = p->n++;
        p->blk[best] = m;
        p->size[best] = need;
    }
    p->busy[best] = busy;
    return p->blk[best];
}

/* The convolution workspace: the largest any conv node needs at max_n. */
static int alloc_workspace(fer_net *net, int max_n)
{
    net->ws_size = 0;
    for (int i = 1; i < net->nnodes; i++) {
        fer_conv_shape s = net->nodes[i].cs;
        size_t ws;
        if (net->nodes[i].op != FER_OP_CONV)
            continue;
        s.N = max_n;
        ws = fer_conv2d_workspace(&s);
        if (ws > net->ws_size)
            net->ws_size = ws;
    }
    if (net->ws_size && !(net->ws = malloc(net->ws_size * sizeof(float))))
        return -1;
    return 0;
}

/* For each node, the highest id of a node that reads its output (nn for
 * the last node, whose output leaves the net). malloc'd; NULL on OOM. */
static int *last_consumers(const fer_net *net)
{
    int nn = net->nnodes, *last = calloc(nn, sizeof *last);
    if (!last)
        return NULL;
    for (int i = 1; i < nn; i++) {
        const node *nd = &net->nodes[i];
        if (last[nd->in] < i)
            last[nd->in] = i;
        if (nd->in2 >= 0 && last[nd->in2] < i)
            last[nd->in2] = i;
    }
    last[nn - 1] = nn;
    return last;
}

/* Whether op's backward reads its input's forward output (src->y). */
static int reads_input(int op)
{
    return op == FER_OP_CONV || op == FER_OP_BN || op == FER_OP_RELU || op == FER_OP_LRELU ||
           op == FER_OP_DENSE;
}

/* Whether node i may write its output over its input's: an element-wise
 * op whose backward can do with its output in place of its input (ReLU:
 * y > 0 exactly where x > 0; leaky ReLU with a >= 0 likewise; dropout
 * keeps a mask), sole consumer of an input that is not the images. */
static int in_place(const fer_net *net, int i)
{
    const node *nd = &net->nodes[i];
    int op = nd->op;
    return (op == FER_OP_RELU || (op == FER_OP_LRELU && nd->a >= 0) || op == FER_OP_DROPOUT) &&
           nd->in > 0 && net->nodes[nd->in].consumers == 1;
}

typedef struct request { int node, grad, birth, death; } request;

static int by_birth(const void *a, const void *b)
{
    const request *x = a, *y = b;
    if (x->birth != y->birth)
        return x->birth < y->birth ? -1 : 1;
    return x->node != y->node ? (x->node < y->node ? -1 : 1) : x->grad - y->grad;
}

/* The training plan's blocks, outputs and gradients from one pool. Time
 * runs over the forward pass (node i at time i) and on over the backward
 * pass (node i at time 2 nn - i). Node i's output lives from i until its
 * last use: the forward step of a consumer that does not read it again,
 * or the backward step of one that does (reads_input); an in-place node
 * shares its input's block, which then lives as long as either. The
 * gradient dy of node i lives from the backward step of its highest
 * consumer (which writes it) to its own. */
static int plan_blocks(fer_net *net, int max_n)
{
    int nn = net->nnodes, nreq = 0, rc = -1;
    int *death = calloc(nn, sizeof *death), *last = last_consumers(net);
    request *req = malloc(2 * (size_t)nn * sizeof *req);
    pool p;
    if (pool_init(&p, 2 * nn) || !death || !last || !req)
        goto out;
    death[nn - 1] = nn;   /* the logits are read by the loss, after the pass */
    for (int c = 1; c < nn; c++) {
        const node *nd = &net->nodes[c];
        int use = reads_input(nd->op) ? 2 * nn - c : c;
        if (death[nd->in] < use)
            death[nd->in] = use;
        if (nd->in2 >= 0 && death[nd->in2] < use)
            death[nd->in2] = use;
    }
    for (int i = nn - 1; i >= 1; i--)   /* an in-place chain lives as long as its end */
        if (in_place(net, i) && death[net->nodes[i].in] < death[i])
            death[net->nodes[i].in] = death[i];
    for (int i = 1; i < nn; i++) {
        if (!in_place(net, i))
            req[nreq++] = (request){i, 0, i, death[i]};
        req[nreq++] = (request){i, 1, 2 * nn - (last[i] > nn - 1 ? nn : last[i]), 2 * nn - i};
    }
    qsort(req, nreq, sizeof *req, by_birth);
    for (int r = 0; r < nreq; r++) {
        node *nd = &net->nodes[req[r].node];
        size_t need = (size_t)max_n * nd->size;
        float *b = pool_take(&p, need, req[r].birth, req[r].death,
                             req[r].grad ? &nd->owns_dy : &nd->owns_y);
        if (!b)
            goto out;
        *(req[r].grad ? &nd->dy : &nd->y) = b;
    }
    for (int i = 1; i < nn; i++)   /* in order, so that chains resolve */
        if (in_place(net, i))
            net->nodes[i].y = net->nodes[net->nodes[i].in].y;
    rc = 0;
out:
    free(death);
    free(last);
    free(req);
    pool_free(&p);
    return rc;
}

int fer_net_plan(fer_net *net, int max_n)
{
    size_t scratch = 0;
    if (net->max_n == max_n && !net->infer)
        return 0;   /* planned already */
    free_buffers(net);
    if (plan_blocks(net, max_n))
        goto oom;
    for (int i = 1; i < net->nnodes; i++) {
        node *nd = &net->nodes[i];
        size_t n = (size_t)max_n * nd->size;
        if (nd->op == FER_OP_MAXPOOL && !(nd->argmax = malloc(n * sizeof(int32_t))))
            goto oom;
        if (nd->op == FER_OP_DROPOUT && !(nd->mask = malloc(n)))
            goto oom;
        if (nd->op == FER_OP_BN && (!(nd->save_mean = malloc(nd->c * sizeof(float))) ||
                                    !(nd->save_invstd = malloc(nd->c * sizeof(float)))))
            goto oom;
        /* scratch takes dx for inputs with several consumers, and the
         * unused dx of a batch norm on the input images */
        if ((net->nodes[nd->in].consumers > 1 || (nd->in == 0 && nd->op == FER_OP_BN)) &&
            (size_t)max_n * net->nodes[nd->in].size > scratch)
            scratch = (size_t)max_n * net->nodes[nd->in].size;
    }
    if (alloc_workspace(net, max_n))
        goto oom;
    if (scratch && !(net->scratch = malloc(scratch * sizeof(float))))
        goto oom;
    if (!(net->seen = malloc(net->nnodes * sizeof *net->seen)))
        goto oom;
    net->scratch_size = scratch;
    net->max_n = max_n;
    return 0;
oom:
    free_buffers(net);
    return fer_seterr("out of memory planning for batches of %d", max_n);
}

/* The inference plan: a node's output block is handed on to a later node
 * once every consumer of it has run (its last use), best fit by size; no
 * gradients, masks or batch-norm saves. */
int fer_net_plan_infer(fer_net *net, int max_n)
{
    int nn = net->nnodes, *last;
    pool p;
    if (net->max_n == max_n && net->infer)
        return 0;
    free_buffers(net);
    last = last_consumers(net);   /* the logits outlive the pass */
    if (pool_init(&p, nn) || !last)
        goto oom;
    for (int i = 1; i < nn; i++) {
        node *nd = &net->nodes[i];
        size_t need = (size_t)max_n * nd->size;
        if (!(nd->y = pool_take(&p, need, i, last[i], &nd->owns_y)))
            goto oom;
        if (nd->op == FER_OP_MAXPOOL && !(nd->argmax = malloc(need * sizeof(int32_t))))
            goto oom;
    }
    if (alloc_workspace(net, max_n))
        goto oom;
    net->max_n = max_n;
    net->infer = 1;
    free(last);
    pool_free(&p);
    return 0;
oom:
    free(last);
    pool_free(&p);
    free_buffers(net);
    return fer_seterr("out of memory planning for batches of %d", max_n);
}

/* y = a + b (b may be NULL: a copy), or y += a when y == b; in chunks over
 * the thread pool (element-wise: the same bits for any thread count). */
typedef struct sum_job {
    size_t n;
    const float *a, *b;
    float *y;
} sum_job;

enum { SUM_CHUNK = 65536 };

static void sum_task(void *ctx, int t, int thread)
{
    const sum_job *j = ctx;
    size_t lo, hi;
    fer_chunk(j->n, SUM_CHUNK, t, &lo, &hi);
    (void)thread;
    if (!j->b)
        memcpy(j->y + lo, j->a + lo, (hi - lo) * sizeof(float));
    else
        for (size_t i = lo; i < hi; i++)
            j->y[i] = j->a[i] + j->b[i];
}

static void sum(size_t n, const float *a, const float *b, float *y)
{
    sum_job j = {n, a, b, y};
    fer_parallel_for(fer_chunks(n, SUM_CHUNK), sum_task, &j);
}

static float *pw(fer_net *net, node *nd, int i)
{
    return nd->param[i] >= 0 ? net->params[nd->param[i]].w : NULL;
}
static float *pg(fer_net *net, node *nd, int i)
{
    return nd->param[i] >= 0 ? net->params[nd->param[i]].g : NULL;
}

const float *fer_net_forward(fer_net *net, const float *x, int n, int train, fer_rng *rng)
{
    FER_ASSERT(n >= 1 && n <= net->max_n);
    FER_ASSERT(!(train && net->infer));
    net->nodes[0].y = (float *)x;
    for (int i = 1; i < net->nnodes; i++) {
        node *nd = &net->nodes[i];
        node *src = &net->nodes[nd->in];
        const float *in = src->y;
        size_t total = (size_t)n * nd->size;
        switch (nd->op) {
        case FER_OP_CONV: {
            fer_conv_shape s = nd->cs;
            s.N = n;
            fer_conv2d_forward(&s, in, pw(net, nd, 0), pw(net, nd, 1), nd->y, net->ws);
            break;
        }
        case FER_OP_BN:
            if (train)
                fer_batchnorm_forward_train(n, nd->c, nd->h * nd->w, in, pw(net, nd, 0),
                                            pw(net, nd, 1), net->bn_eps, net->bn_momentum,
                                            pw(net, nd, 2), pw(net, nd, 3), nd->y,
                                            nd->save_mean, nd->save_invstd);
            else
                fer_batchnorm_forward_infer(n, nd->c, nd->h * nd->w, in, pw(net, nd, 0),
                                            pw(net, nd, 1), net->bn_eps, pw(net, nd, 2),
                                            pw(net, nd, 3), nd->y);
            break;
        case FER_OP_RELU:
            fer_relu_forward(total, in, nd->y);
            break;
        case FER_OP_LRELU:
            fer_leaky_relu_forward(total, nd->a, in, nd->y);
            break;
        case FER_OP_DROPOUT:
            if (train && nd->a > 0)
                fer_dropout_forward(total, nd->a, rng, in, nd->y, nd->mask);
            else if (nd->y != in)
                memcpy(nd->y, in, total * sizeof(float));
            break;
        case FER_OP_MAXPOOL:
            fer_maxpool_forward(n, src->c, src->h, src->w, nd->k, nd->stride, in, nd->y,
                                nd->argmax);
            break;
        case FER_OP_DENSE:
            fer_dense_forward(n, (int)src->size, nd->c, in, pw(net, nd, 0), pw(net, nd, 1),
                              nd->y);
            break;
        case FER_OP_GAP:
            fer_avgpool_forward(n, src->c, src->h * src->w, in, nd->y);
            break;
        case FER_OP_ADD: {
            sum(total, in, net->nodes[nd->in2].y, nd->y);
            break;
        }
        }
    }
    return net->nodes[net->nnodes - 1].y;
}

/* Where node nd's backward writes the gradient of its input id: straight
 * into that node's dy when nd is its only consumer, else into scratch, to
 * be added (see accumulate). */
static float *dx_target(fer_net *net, int id)
{
    if (id == 0)
        return NULL;   /* no gradient for the input images */
    return net->nodes[id].consumers > 1 ? net->scratch : net->nodes[id].dy;
}

static void accumulate(fer_net *net, int id, int n, int *seen)
{
    node *src = &net->nodes[id];
    size_t total = (size_t)n * src->size;
    if (id == 0 || src->consumers <= 1)
        return;
    if (!seen[id]++)
        sum(total, net->scratch, NULL, src->dy);
    else
        sum(total, net->scratch, src->dy, src->dy);
}

void fer_net_backward(fer_net *net, const float *dlogits, int n)
{
    node *last = &net->nodes[net->nnodes - 1];
    int *seen = net->seen;
    FER_ASSERT(!net->infer);   /* planned with fer_net_plan_infer: no gradients */
    memset(seen, 0, net->nnodes * sizeof *seen);
    memcpy(last->dy, dlogits, (size_t)n * last->size * sizeof(float));
    for (int i = net->nnodes - 1; i >= 1; i--) {
        node *nd = &net->nodes[i];
        node *src = &net->nodes[nd->in];
        float *dx = dx_target(net, nd->in);
        size_t total = (size_t)n * nd->size;
        switch (nd->op) {
        case FER_OP_CONV: {
            fer_conv_shape s = nd->cs;
            s.N = n;
            fer_conv2d_backward(&s, src->y, pw(net, nd, 0), nd->dy, dx, pg(net, nd, 0),
                                pg(net, nd, 1), net->ws);
            break;
        }
        case FER_OP_BN:
            fer_batchnorm_backward(n, nd->c, nd->h * nd->w, src->y, nd->dy, pw(net, nd, 0),
                                   nd->save_mean, nd->save_invstd, dx ? dx : net->scratch,
                                   pg(net, nd, 0), pg(net, nd, 1));
            break;
        case FER_OP_RELU:
            if (dx)
                fer_relu_backward(total, src->y, nd->dy, dx);
            break;
        case FER_OP_LRELU:
            if (dx)
                fer_leaky_relu_backward(total, nd->a, src->y, nd->dy, dx);
            break;
        case FER_OP_DROPOUT:
            if (dx) {
                if (nd->a > 0)
                    fer_dropout_backward(total, nd->a, nd->mask, nd->dy, dx);
                else
                    memcpy(dx, nd->dy, total * sizeof(float));
            }
            break;
        case FER_OP_MAXPOOL:
            if (dx)
                fer_maxpool_backward(n, src->c, src->h, src->w, nd->k, nd->stride, nd->dy,
                                     nd->argmax, dx);
            break;
        case FER_OP_DENSE:
            fer_dense_backward(n, (int)src->size, nd->c, src->y, pw(net, nd, 0), nd->dy, dx,
                               pg(net, nd, 0), pg(net, nd, 1));
            break;
        case FER_OP_GAP:
            if (dx)
                fer_avgpool_backward(n, src->c, src->h * src->w, nd->dy, dx);
            break;
        case FER_OP_ADD:
            if (dx)
                sum(total, nd->dy, NULL, dx);
            accumulate(net, nd->in, n, seen);
            if ((dx = dx_target(net, nd->in2)))
                sum(total, nd->dy, NULL, dx);
            accumulate(net, nd->in2, n, seen);
            continue;
        }
        accumulate(net, nd->in, n, seen);
    }
}

int fer_net_max_batch(const fer_net *net) { return net->max_n; }

int fer_net_min_train_batch(const fer_net *net)
{
    for (int i = 0; i < net->nnodes; i++)
        if (net->nodes[i].op == FER_OP_BN && net->nodes[i].h * net->nodes[i].w == 1)
            return 2;
    return 1;
}

int fer_net_outputs(const fer_net *net) { return (int)net->nodes[net->nnodes - 1].size; }

void fer_net_input_shape(const fer_net *net, int *c, int *h, int *w)
{
    *c = net->nodes[0].c;
    *h = net->nodes[0].h;
    *w = net->nodes[0].w;
}

int fer_net_nparams(const fer_net *net) { return net->nparams; }
fer_param *fer_net_param(fer_net *net, int i) { return &net->params[i]; }

fer_param *fer_net_find_param(fer_net *net, const char *name)
{
    for (int i = 0; i < net->nparams; i++)
        if (!strcmp(net->params[i].name, name))
            return &net->params[i];
    return NULL;
}

size_t fer_net_count_weights(const fer_net *net)
{
    size_t n = 0;
    for (int i = 0; i < net->nparams; i++)
        if (net->params[i].g)
            n += net->params[i].n;
    return n;
}

double fer_net_flops(const fer_net *net)
{
    double f = 0;
    for (int i = 1; i < net->nnodes; i++) {
        const node *nd = &net->nodes[i];
        if (nd->op == FER_OP_CONV)
            f += 2.0 * nd->size * net->nodes[nd->in].c * nd->k * nd->k;
        else if (nd->op == FER_OP_DENSE)
            f += 2.0 * nd->size * net->nodes[nd->in].size;
    }
    return f;
}

void fer_net_init_weights(fer_net *net, fer_rng *rng, int xavier)
{
    for (int i = 1; i < net->nnodes; i++) {
        node *nd = &net->nodes[i];
        fer_param *w;
        double fan_in, fan_out;
        if (nd->op != FER_OP_CONV && nd->op != FER_OP_DENSE)
            continue;
        w = &net->params[nd->param[0]];
        fan_in = (double)w->n / w->shape[0];
        fan_out = (double)w->n / (w->ndim > 1 ? w->shape[1] : 1);
        if (xavier) {
            double a = sqrt(6.0 / (fan_in + fan_out));
            for (size_t j = 0; j < w->n; j++)
                w->w[j] = (float)(a * (2 * fer_rng_double(rng) - 1));
        } else {
            double sd = sqrt(2.0 / fan_in);
            for (size_t j = 0; j < w->n; j++)
                w->w[j] = (float)(sd * fer_rng_normal(rng));
        }
        if (nd->param[1] >= 0)
            memset(net->params[nd->param[1]].w, 0, net->params[nd->param[1]].n * sizeof(float));
    }
}

int fer_net_freeze(fer_net *net, const char *prefix)
{
    size_t len = strlen(prefix);
    int k = 0;
    for (int i = 0; i < net->nparams; i++) {
        fer_param *p = &net->params[i];
        if (p->g && !strncmp(p->name, prefix, len) && p->name[len] == '.') {
            p->trainable = 0;
            k++;
        }
    }
    return k;
}
