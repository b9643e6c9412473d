/* net.c: layer graph, memory plan, forward and backward passes. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend_cpu.h"
#include "conv.h"
#include "error.h"
#include "net.h"
#include "scratch.h"
#include "threadpick.h"
#include "threads.h"

#define MAX_NODE_PARAMS 4
#define ALIGN_FLOATS 16     /* tensors start on 64-byte boundaries */

typedef struct node {
    int op;
    int in, in2;                /* input node ids (in2 for add) */
    int c, h, w;                /* output shape per image */
    size_t size;                /* c*h*w */
    int consumers;              /* how many nodes read this output */
    /* op parameters */
    int kernel;                 /* conv: R = S (K is c); max pool: the window */
    int stride, pad, bias;      /* conv (pool: stride) */
    float slope;                /* leaky ReLU's negative slope */
    float drop;                 /* dropout's p */
    int param[MAX_NODE_PARAMS]; /* indices into net->params, -1 none */
    fer_conv_shape cs;
    /* planned tensors, for max_n images: offsets into the plan's block
     * (SIZE_MAX: none), then their addresses once it is allocated */
    size_t o_y, o_dy, o_argmax, o_mask, o_mean, o_invstd;
    float *y, *dy;
    int32_t *argmax;            /* maxpool */
    uint8_t *mask;              /* dropout */
    float *save_mean, *save_invstd; /* bn, (c) */
    /* training's fusions (plan_fusion): a conv's ReLU node and the batch
     * norm it takes sums for, the ReLU a batch norm applies, a ReLU run
     * by the node before it; a batch norm's sums (2 c doubles) */
    int fuse_relu, fuse_bn, bn_relu, fused;
    /* and a residual join a batch norm so fed writes, with the join's
     * ReLU (bn_add on the batch norm, by_bn on the join) */
    int bn_add, by_bn;
    /* inference's fusion (plan_infer_fusion): a conv's chain of ReLU,
     * batch norm, ReLU (each optional) and its last node, or an add's
     * ReLU; ifused marks the chain's nodes after the first, which share
     * its output block */
    int ifuse_relu, ifuse_bn, ifuse_relu2, ifuse_end, ifused;
    /* and the residual join after the batch norm (its ReLU then being
     * ifuse_relu2): the add */
    int ifuse_add;
    /* the chain's conv weights kept packed for the backend's GEMMs across
     * inference passes (conv_infer_pack_floats), valid when pack_ok and
     * packed at weights generation pack_wgen */
    size_t o_pack;
    float *pack;
    int pack_ok;
    unsigned pack_wgen;
    size_t o_stats;
    double *stats;
} node;

struct fer_net {
    const fer_backend *be;
    node *nodes;
    int nnodes, capnodes;
    fer_param *params;
    int nparams, capparams;
    /* the flat parameter and gradient blocks: params[i] at params[i].off,
     * flat floats in use, cap allocated */
    float *w, *g;
    size_t flat, cap;
    /* the plan's block and the tensors in it beside the nodes' */
    void *plan;
    int max_n;
    float *ws;                  /* conv workspace */
    float *scratch;             /* dx for inputs with several consumers */
    int32_t *labels;            /* (max_n), the loss's */
    float *class_w, *probs;     /* (classes), (max_n, classes) */
    double *loss;               /* the loss's one double */
    unsigned plan_id;           /* counts the plans bound: graphs hold their addresses */
    int *seen;                  /* backward: consumers heard from, per node (host) */
    size_t weights;             /* parameter elements so far (FER_NET_MAX_WEIGHTS) */
    size_t activations;         /* one image's node outputs so far (..._ACTIVATIONS) */
    int infer;                  /* planned for inference only: no backward */
    float bn_eps, bn_momentum;  /* every batch norm's (fer_net_set_bn) */
    /* an inference pass recorded as a backend graph (graph_begin), for
     * batches of graph_n; recorded on the second pass of a batch size in
     * a row (the first sizes the backend's own memory) */
    void *graph;
    int graph_n, graph_last_n, graph_off;
    int no_fusion;              /* fer_net_set_fusion(net, 0) */
    unsigned wgen;              /* changes whenever the weights may have (touch) */
    fer_threadpick pick;        /* small inference batches: one thread or the pool */
};

/* The weights may change: kept packs are stale. */
static void touch(fer_net *net) { net->wgen++; }

static size_t align_floats(size_t n) { return (n + ALIGN_FLOATS - 1) / ALIGN_FLOATS * ALIGN_FLOATS; }

fer_net *fer_net_new(int c, int h, int w)
{
    fer_net *net = calloc(1, sizeof *net);
    if (!net)
        return NULL;
    net->be = &fer_backend_cpu;
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
    /* FER_FUSE=0: every net starts with its fusions off, so that a tool's
     * whole run can be checked against the ops run one by one (the same
     * results up to the order of batch norm's sums) */
    const char *fuse = getenv("FER_FUSE");
    net->no_fusion = fuse && !strcmp(fuse, "0");
    return net;
}

void fer_net_set_bn(fer_net *net, float eps, float momentum)
{
    net->bn_eps = eps;
    net->bn_momentum = momentum;
}

static void free_graph(fer_net *net)
{
    if (net->graph)
        net->be->graph_free(net->graph);
    net->graph = NULL;
    net->graph_n = net->graph_last_n = 0;
}

static void free_plan(fer_net *net)
{
    free_graph(net);   /* it holds the plan's addresses */
    if (net->plan)
        net->be->free(net->plan);
    net->plan = NULL;
    for (int i = 0; i < net->nnodes; i++) {
        node *nd = &net->nodes[i];
        nd->y = nd->dy = nd->save_mean = nd->save_invstd = NULL;
        nd->stats = NULL;
        nd->argmax = NULL;
        nd->mask = NULL;
        nd->pack = NULL;
        nd->pack_ok = 0;
    }
    free(net->seen);
    net->ws = net->scratch = net->class_w = net->probs = NULL;
    net->labels = NULL;
    net->loss = NULL;
    net->seen = NULL;
    net->max_n = 0;
    net->infer = 0;
}

void fer_net_free(fer_net *net)
{
    if (!net)
        return;
    free_plan(net);
    if (net->w)
        net->be->free(net->w);
    if (net->g)
        net->be->free(net->g);
    free(net->params);
    free(net->nodes);
    free(net);
}

/* Room in the flat blocks for need floats, the old values kept and the
 * new ones zero. 0 or -1. */
static int reserve_flat(fer_net *net, size_t need)
{
    const fer_backend *be = net->be;
    size_t cap = net->cap ? 2 * net->cap : 4096;
    float *w, *g;
    touch(net);
    if (need <= net->cap)
        return 0;
    if (cap < need)
        cap = need;
    w = be->alloc(cap * sizeof(float));
    g = w ? be->alloc(cap * sizeof(float)) : NULL;
    if (!g) {
        if (w)
            be->free(w);
        return -1;
    }
    be->zero(w, cap * sizeof(float));
    be->zero(g, cap * sizeof(float));
    if (net->w) {
        be->copy(w, net->w, net->flat * sizeof(float));
        be->copy(g, net->g, net->flat * sizeof(float));
        be->free(net->w);
        be->free(net->g);
    }
    net->w = w;
    net->g = g;
    net->cap = cap;
    return 0;
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
    if (reserve_flat(net, net->flat + align_floats(n)))
        return fer_seterr("out of memory");
    p = &net->params[net->nparams];
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s.%s", prefix, suffix);
    p->ndim = ndim;
    p->n = n;
    for (int i = 0; i < ndim; i++)
        p->shape[i] = shape[i];
    p->off = net->flat;
    net->flat += align_floats(n);
    p->learn = p->trainable = learn;
    p->decay = decay;
    net->weights += n;
    return net->nparams++;
}

/* Sets every element of parameter i to v (batch norm's ones). */
static int fill_param(fer_net *net, int i, float v)
{
    fer_param *p = &net->params[i];
    float *one = malloc(p->n * sizeof *one);
    if (!one)
        return fer_seterr("out of memory");
    for (size_t j = 0; j < p->n; j++)
        one[j] = v;
    touch(net);
    net->be->upload(net->w + p->off, one, p->n * sizeof *one);
    free(one);
    return 0;
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
    free_plan(net);   /* the plan no longer fits */
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
    nd->kernel = R;
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
    if (fill_param(net, nd->param[0], 1) || fill_param(net, nd->param[3], 1))
        return -1;
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
    nd->slope = slope;
    return finish(net, nd);
}

int fer_net_dropout(fer_net *net, int in, float p)
{
    node *nd = new_node(net, FER_OP_DROPOUT, in);
    if (!nd)
        return -1;
    if (!(p >= 0 && p < 1))
        return fer_seterr("dropout %g outside [0, 1)", p);
    nd->drop = p;
    return finish(net, nd);
}

int fer_net_maxpool(fer_net *net, int in, int k, int stride)
{
    node *nd = new_node(net, FER_OP_MAXPOOL, in);
    if (!nd)
        return -1;
    if (k < 1 || stride < 1 || nd->h < k || nd->w < k)
        return fer_seterr("max pool %d/%d does not fit %dx%d", k, stride, nd->h, nd->w);
    nd->kernel = k;
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
 * passed. Only sizes are decided here; each block gets its offset in the
 * plan's one allocation afterwards (place_blocks). */
typedef struct pool {
    size_t *size;
    int *busy;
    int n;
} pool;

static int pool_init(pool *p, int cap)
{
    p->size = calloc(cap, sizeof *p->size);
    p->busy = calloc(cap, sizeof *p->busy);
    p->n = 0;
    return p->size && p->busy ? 0 : -1;
}

static void pool_free(pool *p)
{
    free(p->size);
    free(p->busy);
}

/* The smallest free block of at least need floats at time now, kept busy
 * until time busy; else a new one. Its index. */
static size_t pool_take(pool *p, size_t need, int now, int busy)
{
    int best = -1;
    for (int b = 0; b < p->n; b++)
        if (p->busy[b] < now && p->size[b] >= need && (best < 0 || p->size[b] < p->size[best]))
            best = b;
    if (best < 0) {
        best = p->n++;
        p->size[best] = need;
    }
    p->busy[best] = busy;
    return (size_t)best;
}

/* The offset of a new tensor of bytes at the end of a plan of *top bytes. */
static size_t place(size_t *top, size_t bytes)
{
    size_t off = *top;
    *top += (bytes + 63) / 64 * 64;
    return off;
}

/* Turns the nodes' block indices (o_y, o_dy) into offsets in the plan. */
static int place_blocks(fer_net *net, const pool *p, size_t *top)
{
    size_t *off = malloc((p->n ? p->n : 1) * sizeof *off);
    if (!off)
        return -1;
    for (int b = 0; b < p->n; b++)
        off[b] = place(top, p->size[b] * sizeof(float));
    for (int i = 1; i < net->nnodes; i++) {
        node *nd = &net->nodes[i];
        if (nd->o_y != SIZE_MAX)
            nd->o_y = off[nd->o_y];
        if (nd->o_dy != SIZE_MAX)
            nd->o_dy = off[nd->o_dy];
    }
    free(off);
    return 0;
}

/* The convolution workspace: the largest any conv node needs at max_n. */
static size_t workspace_floats(const fer_net *net, int max_n)
{
    size_t most = 0;
    for (int i = 1; i < net->nnodes; i++) {
        fer_conv_shape s = net->nodes[i].cs;
        size_t ws;
        if (net->nodes[i].op != FER_OP_CONV)
            continue;
        s.N = max_n;
        ws = net->be->conv_workspace(&s);
        if (ws > most)
            most = ws;
    }
    return most;
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
    return (op == FER_OP_RELU || (op == FER_OP_LRELU && nd->slope >= 0) || op == FER_OP_DROPOUT) &&
           nd->in > 0 && net->nodes[nd->in].consumers == 1;
}

/* Whether node j's consumers other than node i all come before node
 * below (so run backward after it). */
static int others_below(const fer_net *net, int j, int i, int below)
{
    for (int c = 1; c < net->nnodes; c++)
        if (c != i && (net->nodes[c].in == j || net->nodes[c].in2 == j) && c >= below)
            return 0;
    return 1;
}

/* Whether input j of add i takes the add's gradient block: the add hands
 * its gradient on unchanged (add_grad), so where it is the first to write
 * j's gradient one block can serve both and the copy is skipped. The
 * first input only when the add is its one consumer; the second when the
 * add is its highest, its other consumers then adding theirs into the
 * block on steps after the first input has read it (their ids lower than
 * the first input's when that shares it too). Not an add itself (no
 * chains), not the images, not both inputs one node. */
static int grad_shares(const fer_net *net, const int *last, int i, int j)
{
    const node *nd = &net->nodes[i];
    int first_shares;
    if (nd->op != FER_OP_ADD || j <= 0 || nd->in == nd->in2 || net->nodes[j].op == FER_OP_ADD)
        return 0;
    first_shares = nd->in > 0 && net->nodes[nd->in].consumers == 1 &&
                   net->nodes[nd->in].op != FER_OP_ADD;
    if (j == nd->in)
        return first_shares;
    return last[j] == i &&
           (net->nodes[j].consumers == 1 || !first_shares || others_below(net, j, i, nd->in));
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
 * consumer (which writes it) to its own; an add shares its gradient's
 * block with inputs it is the highest consumer of (grad_shares), to the
 * last of their steps. */
static int plan_blocks(fer_net *net, int max_n, size_t *top)
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
        const node *nd = &net->nodes[i];
        int end = i;   /* the lowest node whose gradient this block holds */
        if (!in_place(net, i))   /* a join its batch norm writes: from then */
            req[nreq++] = (request){i, 0, nd->by_bn ? nd->by_bn : i, death[i]};
        if (last[i] < nn && grad_shares(net, last, last[i], i))
            continue;   /* in its add's block, which lives on to this node's step */
        if (grad_shares(net, last, i, nd->in) && nd->in < end)
            end = nd->in;
        if (grad_shares(net, last, i, nd->in2) && nd->in2 < end)
            end = nd->in2;
        req[nreq++] = (request){i, 1, 2 * nn - (last[i] > nn - 1 ? nn : last[i]), 2 * nn - end};
    }
    qsort(req, nreq, sizeof *req, by_birth);
    for (int r = 0; r < nreq; r++) {
        node *nd = &net->nodes[req[r].node];
        size_t b = pool_take(&p, (size_t)max_n * nd->size, req[r].birth, req[r].death);
        *(req[r].grad ? &nd->o_dy : &nd->o_y) = b;
    }
    for (int i = 1; i < nn; i++)
        if (last[i] < nn && grad_shares(net, last, last[i], i))
            net->nodes[i].o_dy = net->nodes[last[i]].o_dy;
    rc = place_blocks(net, &p, top);
out:
    free(death);
    free(last);
    free(req);
    pool_free(&p);
    return rc;
}

static void clear_offsets(fer_net *net)
{
    for (int i = 0; i < net->nnodes; i++) {
        node *nd = &net->nodes[i];
        nd->o_y = nd->o_dy = nd->o_argmax = nd->o_mask = nd->o_mean = nd->o_invstd = SIZE_MAX;
        nd->o_stats = nd->o_pack = SIZE_MAX;
        nd->fuse_relu = nd->fuse_bn = nd->bn_relu = nd->fused = nd->bn_add = nd->by_bn = 0;
        nd->ifuse_relu = nd->ifuse_bn = nd->ifuse_relu2 = nd->ifuse_end = nd->ifused = 0;
        nd->ifuse_add = 0;
    }
}

/* The only consumer of node i, or 0 when it has none or several. */
static int sole_consumer(const fer_net *net, int i)
{
    if (net->nodes[i].consumers != 1)
        return 0;
    for (int j = i + 1; j < net->nnodes; j++)
        if (net->nodes[j].in == i || net->nodes[j].in2 == i)
            return j;
    return 0;
}

/* A batch norm b fed sums whose only consumer is the add a, whose only
 * consumer is a ReLU in place: b writes a's output, max(b's y + the
 * other input, 0), in one pass (bn_forward_train_stats_add), where the
 * backend has it and the other input is made before b. The add and the
 * ReLU are then not run; a's block is planned from b's step on
 * (plan_blocks). */
static void join_fusion(fer_net *net, int b, int a)
{
    const node *ad = &net->nodes[a];
    const int other = ad->in == b ? ad->in2 : ad->in, r = sole_consumer(net, a);
    if (!net->be->bn_forward_train_stats_add || other == b || other > b || !r ||
        net->nodes[r].op != FER_OP_RELU || !in_place(net, r))
        return;
    net->nodes[b].bn_add = a;
    net->nodes[a].by_bn = b;
    net->nodes[a].fused = 1;
    net->nodes[r].fused = 1;
}

/* Training's fusions, where the backend has them and the net has not
 * turned them off (fer_net_set_fusion; else the ops run one by one): a
 * conv whose only consumer is a batch norm, or a ReLU whose only
 * consumer is one, takes that batch norm's sums in
 * its epilogue (conv_forward_fused) with the ReLU; a batch norm so fed
 * applies the ReLU that is its only consumer (bn_forward_train_stats).
 * Those ReLUs are in place (in_place), so their backward reads their
 * output, which is > 0 exactly where their input is. */
static void plan_fusion(fer_net *net)
{
    if (net->no_fusion || !net->be->conv_forward_fused || !net->be->bn_forward_train_stats)
        return;
    for (int i = 1; i < net->nnodes; i++) {
        node *c = &net->nodes[i];
        int j = sole_consumer(net, i), k;
        if (c->op != FER_OP_CONV || !j)
            continue;
        if (net->nodes[j].op == FER_OP_RELU && in_place(net, j)) {
            if (!(k = sole_consumer(net, j)) || net->nodes[k].op != FER_OP_BN)
                continue;
            c->fuse_relu = j;
            net->nodes[j].fused = 1;
            c->fuse_bn = k;
        } else if (net->nodes[j].op == FER_OP_BN) {
            c->fuse_bn = j;
        } else {
            continue;
        }
        k = sole_consumer(net, c->fuse_bn);
        if (k && net->nodes[k].op == FER_OP_RELU && in_place(net, k)) {
            net->nodes[c->fuse_bn].bn_relu = k;
            net->nodes[k].fused = 1;
        } else if (k && net->nodes[k].op == FER_OP_ADD) {
            join_fusion(net, c->fuse_bn, k);
        }
    }
}

/* Offsets in the plan: the input images, and each node's argmax, mask
 * and batch-norm saves and sums (only maxpool's argmax when inference). */
static void place_extras(fer_net *net, int max_n, int train, size_t *top)
{
    net->nodes[0].o_y = place(top, (size_t)max_n * net->nodes[0].size * sizeof(float));
    for (int i = 1; i < net->nnodes; i++) {
        node *nd = &net->nodes[i];
        size_t n = (size_t)max_n * nd->size;
        if (nd->op == FER_OP_MAXPOOL)
            nd->o_argmax = place(top, n * sizeof(int32_t));
        if (train && nd->op == FER_OP_DROPOUT)
            nd->o_mask = place(top, n);
        if (train && nd->op == FER_OP_BN) {
            nd->o_mean = place(top, nd->c * sizeof(float));
            nd->o_invstd = place(top, nd->c * sizeof(float));
        }
        if (train && nd->fuse_bn)
            net->nodes[nd->fuse_bn].o_stats = place(top, 2 * (size_t)nd->c * sizeof(double));
    }
}

#define AT(base, off, type) ((off) == SIZE_MAX ? NULL : (type *)((char *)(base) + (off)))

/* Allocates the plan's block of top bytes and points every tensor into it. */
static int bind_plan(fer_net *net, size_t top, size_t o_ws, size_t o_scratch, size_t o_labels,
                     size_t o_cw, size_t o_probs, size_t o_loss)
{
    char *base = net->be->alloc(top);
    if (!base)
        return -1;
    net->plan = base;
    net->plan_id++;
    for (int i = 0; i < net->nnodes; i++) {
        node *nd = &net->nodes[i];
        nd->y = AT(base, nd->o_y, float);
        nd->dy = AT(base, nd->o_dy, float);
        nd->argmax = AT(base, nd->o_argmax, int32_t);
        nd->mask = AT(base, nd->o_mask, uint8_t);
        nd->save_mean = AT(base, nd->o_mean, float);
        nd->save_invstd = AT(base, nd->o_invstd, float);
        nd->stats = AT(base, nd->o_stats, double);
        nd->pack = AT(base, nd->o_pack, float);
        nd->pack_ok = 0;
    }
    for (int i = 1; i < net->nnodes; i++)   /* in order, so that chains resolve */
        if (!net->infer && in_place(net, i))
            net->nodes[i].y = net->nodes[net->nodes[i].in].y;
    net->ws = AT(base, o_ws, float);
    net->scratch = AT(base, o_scratch, float);
    net->labels = AT(base, o_labels, int32_t);
    net->class_w = AT(base, o_cw, float);
    net->probs = AT(base, o_probs, float);
    net->loss = AT(base, o_loss, double);
    return 0;
}

void fer_net_set_fusion(fer_net *net, int on)
{
    if (net->no_fusion != !on)
        free_plan(net);
    net->no_fusion = !on;
}

int fer_net_plan(fer_net *net, int max_n)
{
    size_t scratch = 0, top = 0, o_ws, o_scratch = SIZE_MAX, o_labels, o_cw, o_probs, o_loss;
    size_t k = net->nodes[net->nnodes - 1].size;
    if (net->max_n == max_n && !net->infer)
        return 0;   /* planned already */
    free_plan(net);
    clear_offsets(net);
    plan_fusion(net);   /* first: a fused join's block is born earlier */
    if (plan_blocks(net, max_n, &top))
        goto oom;
    place_extras(net, max_n, 1, &top);
    for (int i = 1; i < net->nnodes; i++) {
        node *nd = &net->nodes[i];
        /* scratch takes dx for inputs with several consumers, and the
         * unused dx of a batch norm on the input images */
        if ((net->nodes[nd->in].consumers > 1 || (nd->in == 0 && nd->op == FER_OP_BN)) &&
            (size_t)max_n * net->nodes[nd->in].size > scratch)
            scratch = (size_t)max_n * net->nodes[nd->in].size;
    }
    o_ws = place(&top, workspace_floats(net, max_n) * sizeof(float));
    if (scratch)
        o_scratch = place(&top, scratch * sizeof(float));
    o_labels = place(&top, (size_t)max_n * sizeof(int32_t));
    o_cw = place(&top, k * sizeof(float));
    o_probs = place(&top, (size_t)max_n * k * sizeof(float));
    o_loss = place(&top, sizeof(double));
    if (!(net->seen = malloc(net->nnodes * sizeof *net->seen)) ||
        bind_plan(net, top, o_ws, o_scratch, o_labels, o_cw, o_probs, o_loss))
        goto oom;
    net->max_n = max_n;
    return 0;
oom:
    free_plan(net);
    return fer_seterr("out of memory planning for batches of %d", max_n);
}

/* The chain of conv c, at batch norm j, takes the residual join a (j's
 * only consumer) and the ReLU after it, where that ReLU is a's only
 * consumer and a's other input is made before c runs: y = max(bn(conv)
 * + other, 0) in the conv's epilogue. Returns the chain's new end, or j. */
static int infer_join(fer_net *net, node *c, int j, int a)
{
    const node *ad = &net->nodes[a];
    const int other = ad->in == j ? ad->in2 : ad->in, r = sole_consumer(net, a);
    if (other == j || other >= (int)(c - net->nodes) || !r || net->nodes[r].op != FER_OP_RELU)
        return j;
    c->ifuse_add = a;
    c->ifuse_relu2 = r;
    return r;
}

/* Inference's fusion, where the backend has it and the net has not turned
 * it off: a conv followed by a ReLU, a batch norm and a ReLU, any of them
 * missing but in that order, each the sole consumer of the one before,
 * runs as one op (conv_forward_infer_fused) into one block, and so does a
 * residual join and its ReLU after the batch norm (infer_join); another
 * add whose sole consumer is a ReLU, as add_relu. */
static void plan_infer_fusion(fer_net *net)
{
    if (net->no_fusion)
        return;
    for (int i = 1; i < net->nnodes; i++) {
        node *c = &net->nodes[i];
        int j = i, k;
        if (c->op == FER_OP_ADD && !c->ifused && net->be->add_relu &&
            (k = sole_consumer(net, i)) &&
            net->nodes[k].op == FER_OP_RELU) {   /* a residual join: add_relu */
            c->ifuse_relu = c->ifuse_end = k;
            net->nodes[k].ifused = 1;
            continue;
        }
        if (c->op != FER_OP_CONV || !net->be->conv_forward_infer_fused)
            continue;
        if ((k = sole_consumer(net, j)) && net->nodes[k].op == FER_OP_RELU)
            c->ifuse_relu = j = k;
        if ((k = sole_consumer(net, j)) && net->nodes[k].op == FER_OP_BN)
            c->ifuse_bn = j = k;
        if (c->ifuse_bn && (k = sole_consumer(net, j)) && net->nodes[k].op == FER_OP_RELU)
            c->ifuse_relu2 = j = k;
        else if (c->ifuse_bn && (k = sole_consumer(net, j)) && net->nodes[k].op == FER_OP_ADD)
            j = infer_join(net, c, j, k);
        if (j == i)
            continue;
        c->ifuse_end = j;
        for (k = i + 1; k <= j; k++)
            if (k == c->ifuse_relu || k == c->ifuse_bn || k == c->ifuse_relu2 ||
                k == c->ifuse_add)
                net->nodes[k].ifused = 1;
    }
}

/* Room for the fused convs' packed weights, where the backend keeps them:
 * packed on the first pass, then again only when the weights change. For
 * every batch: at 1 image packing was up to a fifth of a pass (cnn 1.19x
 * fp32, 1.25x bf16 with packs kept; resnet18 1.18x bf16), and at 64 images
 * still about 2.5% of resnet18's bf16 pass (perf), while the packs hold
 * about twice the convs' weights (Winograd's U is 16/9 of them, in panels
 * rounded up to the kernel's rows): resnet18's bf16 peak at 64 images
 * grew by 42 MB (324 -> 366 MB; torch's is 460-490). */
static void place_packs(fer_net *net, int max_n, size_t *top)
{
    if (!net->be->conv_infer_pack_floats)
        return;
    for (int i = 1; i < net->nnodes; i++) {
        node *nd = &net->nodes[i];
        fer_conv_shape s = nd->cs;
        if (nd->op != FER_OP_CONV || !nd->ifuse_end)
            continue;
        s.N = max_n;
        nd->o_pack = place(top, net->be->conv_infer_pack_floats(&s) * sizeof(float));
    }
}

/* The inference plan: a node's output block is handed on to a later node
 * once every consumer of it has run (its last use), best fit by size; no
 * gradients, masks or batch-norm saves. */
int fer_net_plan_infer(fer_net *net, int max_n)
{
    int nn = net->nnodes, *last;
    size_t top = 0, o_ws;
    pool p;
    if (net->max_n == max_n && net->infer)
        return 0;
    free_plan(net);
    clear_offsets(net);
    last = last_consumers(net);   /* the logits outlive the pass */
    if (pool_init(&p, nn) || !last)
        goto oom;
    plan_infer_fusion(net);
    for (int i = 1; i < nn; i++) {
        node *nd = &net->nodes[i];
        if (nd->ifused)   /* the fused conv's block, set there */
            continue;
        nd->o_y = pool_take(&p, (size_t)max_n * nd->size, i,
                            last[nd->ifuse_end ? nd->ifuse_end : i]);
        for (int k = i + 1; k <= nd->ifuse_end; k++)
            if (net->nodes[k].ifused)
                net->nodes[k].o_y = nd->o_y;
    }
    if (place_blocks(net, &p, &top))
        goto oom;
    place_extras(net, max_n, 0, &top);
    place_packs(net, max_n, &top);
    o_ws = place(&top, workspace_floats(net, max_n) * sizeof(float));
    net->infer = 1;
    if (bind_plan(net, top, o_ws, SIZE_MAX, SIZE_MAX, SIZE_MAX, SIZE_MAX, SIZE_MAX))
        goto oom;
    net->max_n = max_n;
    free(last);
    pool_free(&p);
    return 0;
oom:
    free(last);
    pool_free(&p);
    free_plan(net);
    return fer_seterr("out of memory planning for batches of %d", max_n);
}

static float *pw(fer_net *net, node *nd, int i)
{
    return nd->param[i] >= 0 ? net->w + net->params[nd->param[i]].off : NULL;
}
static float *pg(fer_net *net, node *nd, int i)
{
    return nd->param[i] >= 0 ? net->g + net->params[nd->param[i]].off : NULL;
}

/* The input of join a other than the chain that conv c heads (c's batch
 * norm is a's other input) */
static const float *join_other(const fer_net *net, int a, const node *c)
{
    const node *ad = &net->nodes[a];
    return net->nodes[ad->in == c->ifuse_bn ? ad->in2 : ad->in].y;
}

/* The forward pass's ops, queued on the backend: the plan's input (node
 * 0) to every node's output. */
static void forward_walk(fer_net *net, int n, int train, uint64_t seed, uint64_t step)
{
    const fer_backend *be = net->be;
    for (int i = 1; i < net->nnodes; i++) {
        node *nd = &net->nodes[i];
        node *src = &net->nodes[nd->in];
        const float *in = src->y;
        size_t total = (size_t)n * nd->size;
        switch (nd->op) {
        case FER_OP_CONV: {
            fer_conv_shape s = nd->cs;
            s.N = n;
            if (train && nd->fuse_bn) {   /* y is the fused ReLU's too (in place) */
                be->conv_forward_fused(&s, in, pw(net, nd, 0), pw(net, nd, 1), nd->fuse_relu != 0,
                                       nd->y, net->nodes[nd->fuse_bn].stats, net->ws);
            } else if (!train && nd->ifuse_end) {   /* y is the whole chain's */
                node *bn = nd->ifuse_bn ? &net->nodes[nd->ifuse_bn] : NULL;
                be->conv_forward_infer_fused(&s, in, pw(net, nd, 0), pw(net, nd, 1),
                                             nd->ifuse_relu != 0, bn ? pw(net, bn, 0) : NULL,
                                             bn ? pw(net, bn, 1) : NULL, net->bn_eps,
                                             bn ? pw(net, bn, 2) : NULL, bn ? pw(net, bn, 3) : NULL,
                                             nd->ifuse_add ? join_other(net, nd->ifuse_add, nd)
                                                           : NULL,
                                             nd->ifuse_relu2 != 0, nd->y, net->ws, nd->pack,
                                             !nd->pack_ok || nd->pack_wgen != net->wgen);
                nd->pack_ok = 1;
                nd->pack_wgen = net->wgen;
            } else
                be->conv_forward(&s, in, pw(net, nd, 0), pw(net, nd, 1), nd->y, net->ws);
            break;
        }
        case FER_OP_BN:
            if (train && nd->stats && nd->bn_add) {   /* the join's output, with its ReLU */
                const node *ad = &net->nodes[nd->bn_add];
                be->bn_forward_train_stats_add(
                    n, nd->c, nd->h * nd->w, nd->stats, in, pw(net, nd, 0), pw(net, nd, 1),
                    net->bn_eps, net->bn_momentum, pw(net, nd, 2), pw(net, nd, 3),
                    net->nodes[ad->in == i ? ad->in2 : ad->in].y, 1, ad->y, nd->save_mean,
                    nd->save_invstd);
            } else if (train && nd->stats)
                be->bn_forward_train_stats(n, nd->c, nd->h * nd->w, nd->stats, in, pw(net, nd, 0),
                                           pw(net, nd, 1), net->bn_eps, net->bn_momentum,
                                           pw(net, nd, 2), pw(net, nd, 3), nd->bn_relu != 0,
                                           nd->y, nd->save_mean, nd->save_invstd);
            else if (train)
                be->bn_forward_train(n, nd->c, nd->h * nd->w, in, pw(net, nd, 0), pw(net, nd, 1),
                                     net->bn_eps, net->bn_momentum, pw(net, nd, 2),
                                     pw(net, nd, 3), nd->y, nd->save_mean, nd->save_invstd);
            else if (!nd->ifused)
                be->bn_forward_infer(n, nd->c, nd->h * nd->w, in, pw(net, nd, 0), pw(net, nd, 1),
                                     net->bn_eps, pw(net, nd, 2), pw(net, nd, 3), nd->y);
            break;
        case FER_OP_RELU:
            if (!(train ? nd->fused : nd->ifused))
                be->relu_forward(total, in, nd->y);
            break;
        case FER_OP_LRELU:
            be->lrelu_forward(total, nd->slope, in, nd->y);
            break;
        case FER_OP_DROPOUT:
            if (train && nd->drop > 0)
                be->dropout_forward(total, nd->drop, fer_rng_key_base(seed, step, (uint64_t)i), in,
                                    nd->y, nd->mask);
            else
                be->add(total, in, NULL, nd->y);
            break;
        case FER_OP_MAXPOOL:
            be->maxpool_forward(n, src->c, src->h, src->w, nd->kernel, nd->stride, in, nd->y,
                                nd->argmax);
            break;
        case FER_OP_DENSE:
            be->dense_forward(n, (int)src->size, nd->c, in, pw(net, nd, 0), pw(net, nd, 1), nd->y);
            break;
        case FER_OP_GAP:
            be->avgpool_forward(n, src->c, src->h * src->w, in, nd->y);
            break;
        case FER_OP_ADD:
            if (train ? nd->fused : nd->ifused)
                break;   /* written by its batch norm, or by a fused conv */
            if (!train && nd->ifuse_end)
                be->add_relu(total, in, net->nodes[nd->in2].y, nd->y);
            else
                be->add(total, in, net->nodes[nd->in2].y, nd->y);
            break;
        }
    }
}

/* An inference pass as a recorded graph where the backend has them: 0 when
 * it ran that way, -1 when the ops must be queued one by one. */
static int forward_graph(fer_net *net, int n)
{
    const fer_backend *be = net->be;
    if (!be->graph_begin || net->graph_off)
        return -1;
    if (net->graph && net->graph_n == n) {
        if (be->graph_launch(net->graph) == 0)
            return 0;
        free_graph(net);   /* stale: record it again now */
        net->graph_last_n = n;
    }
    if (net->graph_last_n != n) {
        net->graph_last_n = n;
        return -1;
    }
    free_graph(net);
    if (be->graph_begin()) {
        net->graph_off = 1;   /* this backend cannot record: never again */
        return -1;
    }
    forward_walk(net, n, 0, 0, 0);
    if (!(net->graph = be->graph_end()))
        return -1;    /* nothing recorded ran: queue the ops */
    net->graph_n = n;
    return be->graph_launch(net->graph) == 0 ? 0 : -1;
}

int fer_net_graph_batch(const fer_net *net) { return net->graph ? net->graph_n : 0; }

int fer_net_forward(fer_net *net, const float *x, int n, int train, uint64_t seed, uint64_t step,
                    float *logits)
{
    const fer_backend *be = net->be;
    node *out = &net->nodes[net->nnodes - 1];
    FER_ASSERT(n >= 1 && n <= net->max_n);
    FER_ASSERT(!(train && net->infer));
    if (x)
        be->upload(net->nodes[0].y, x, (size_t)n * net->nodes[0].size * sizeof(float));
    if (train)
        forward_walk(net, n, train, seed, step);
    else if (forward_graph(net, n)) {
        /* host backends: a small batch on this thread alone when that is
         * faster (threadpick.h) */
        int solo = be->graph_begin ? 0 : fer_threadpick_begin(&net->pick, n);
        forward_walk(net, n, 0, seed, step);
        fer_threadpick_end(&net->pick, solo);   /* nothing when nothing began */
    }
    if (logits)
        be->download(logits, out->y, (size_t)n * out->size * sizeof(float));
    return be->sync() ? fer_error_prefix("forward pass") : 0;
}

/* The loss's ops, queued: the labels up, probs and the loss, dlogits. */
static void loss_queue(fer_net *net, const int32_t *labels, const float *class_w,
                       float smoothing, int n)
{
    const fer_backend *be = net->be;
    node *out = &net->nodes[net->nnodes - 1];
    int k = (int)out->size;
    FER_ASSERT(n >= 1 && n <= net->max_n && !net->infer);
    be->upload(net->labels, labels, (size_t)n * sizeof *labels);
    if (class_w)
        be->upload(net->class_w, class_w, (size_t)k * sizeof *class_w);
    be->xent_forward(n, k, out->y, net->labels, class_w ? net->class_w : NULL, smoothing,
                     net->probs, net->loss);
    be->xent_backward(n, k, net->probs, net->labels, class_w ? net->class_w : NULL, smoothing,
                      out->dy);
}

/* The loss and the probabilities (unless probs is NULL) back to the host;
 * any error of the queued work, prefixed with what. */
static int loss_read_back(fer_net *net, int n, double *loss, float *probs, const char *what)
{
    const fer_backend *be = net->be;
    be->download(loss, net->loss, sizeof *loss);
    if (probs)
        be->download(probs, net->probs, (size_t)n * fer_net_outputs(net) * sizeof *probs);
    return be->sync() ? fer_error_prefix("%s", what) : 0;
}

int fer_net_step_result(fer_net *net, int n, double *loss, float *probs)
{
    return loss_read_back(net, n, loss, probs, "training step");
}

int fer_net_loss(fer_net *net, const int32_t *labels, const float *class_w, float smoothing,
                 int n, double *loss, float *probs)
{
    loss_queue(net, labels, class_w, smoothing, n);
    return loss_read_back(net, n, loss, probs, "loss");
}

/* Where node nd's backward writes the gradient of its input id: straight
 * into that node's dy when nd is its only consumer or the first of them
 * to run backward, else into scratch, to be added (see accumulate). */
static float *dx_target(fer_net *net, int id, const int *seen)
{
    if (id == 0)
        return NULL;   /* no gradient for the input images */
    return net->nodes[id].consumers > 1 && seen[id] ? net->scratch : net->nodes[id].dy;
}

/* After a consumer of id wrote id's gradient (dx_target): counted when it
 * was the first, else added into id's dy. */
static void accumulate(fer_net *net, int id, int n, int *seen)
{
    node *src = &net->nodes[id];
    size_t total = (size_t)n * src->size;
    if (id == 0 || src->consumers <= 1 || !seen[id]++)
        return;
    net->be->add(total, net->scratch, src->dy, src->dy);
}

/* An add's gradient g into its input id: copied into id's dy when the
 * add is id's only consumer or the first of them to run backward, added
 * to it after (accumulate's order and sums, without its copy through
 * scratch). */
static void add_grad(fer_net *net, int id, const float *g, size_t total, int *seen)
{
    node *src = &net->nodes[id];
    if (id == 0)
        return;
    if (src->consumers <= 1 || !seen[id]++)
        net->be->add(total, g, NULL, src->dy);
    else
        net->be->add(total, g, src->dy, src->dy);
}

/* Whether batch norm i's backward takes the ReLU that followed it too
 * (bn_relu_backward_stats), from the ReLU's dy: a batch norm that the
 * training fusion fed sums and that applied that ReLU. */
static int bn_takes_relu(const fer_net *net, int i)
{
    const node *nd = &net->nodes[i];
    return nd->op == FER_OP_BN && nd->bn_relu && nd->stats && net->be->bn_relu_backward_stats;
}

/* The backward pass's ops, queued, from the last node's dy. */
static void backward_walk(fer_net *net, int n)
{
    const fer_backend *be = net->be;
    int *seen = net->seen;
    FER_ASSERT(!net->infer);   /* planned with fer_net_plan_infer: no gradients */
    memset(seen, 0, net->nnodes * sizeof *seen);
    for (int i = net->nnodes - 1; i >= 1; i--) {
        node *nd = &net->nodes[i];
        node *src = &net->nodes[nd->in];
        float *dx = dx_target(net, nd->in, seen);
        size_t total = (size_t)n * nd->size;
        switch (nd->op) {
        case FER_OP_CONV: {
            fer_conv_shape s = nd->cs;
            s.N = n;
            be->conv_backward(&s, src->y, pw(net, nd, 0), nd->dy, dx, pg(net, nd, 0),
                              pg(net, nd, 1), net->ws);
            break;
        }
        case FER_OP_BN:
            if (bn_takes_relu(net, i))
                be->bn_relu_backward_stats(n, nd->c, nd->h * nd->w, nd->stats, src->y,
                                           net->nodes[nd->bn_relu].dy, pw(net, nd, 0),
                                           pw(net, nd, 1), net->bn_eps, nd->save_mean,
                                           nd->save_invstd, dx ? dx : net->scratch,
                                           pg(net, nd, 0), pg(net, nd, 1));
            else
                be->bn_backward(n, nd->c, nd->h * nd->w, src->y, nd->dy, pw(net, nd, 0),
                                nd->save_mean, nd->save_invstd, dx ? dx : net->scratch,
                                pg(net, nd, 0), pg(net, nd, 1));
            break;
        case FER_OP_RELU:
            if (dx && !bn_takes_relu(net, nd->in))   /* else in the batch norm's */
                be->relu_backward(total, src->y, nd->dy, dx);
            break;
        case FER_OP_LRELU:
            if (dx)
                be->lrelu_backward(total, nd->slope, src->y, nd->dy, dx);
            break;
        case FER_OP_DROPOUT:
            if (dx) {
                if (nd->drop > 0)
                    be->dropout_backward(total, nd->drop, nd->mask, nd->dy, dx);
                else
                    be->add(total, nd->dy, NULL, dx);
            }
            break;
        case FER_OP_MAXPOOL:
            if (dx)
                be->maxpool_backward(n, src->c, src->h, src->w, nd->kernel, nd->stride, nd->dy,
                                     nd->argmax, dx);
            break;
        case FER_OP_DENSE:
            be->dense_backward(n, (int)src->size, nd->c, src->y, pw(net, nd, 0), nd->dy, dx,
                               pg(net, nd, 0), pg(net, nd, 1));
            break;
        case FER_OP_GAP:
            if (dx)
                be->avgpool_backward(n, src->c, src->h * src->w, nd->dy, dx);
            break;
        case FER_OP_ADD:
            add_grad(net, nd->in, nd->dy, total, seen);
            add_grad(net, nd->in2, nd->dy, total, seen);
            continue;
        }
        accumulate(net, nd->in, n, seen);
    }
}

int fer_net_backward(fer_net *net, const float *dlogits, int n)
{
    const fer_backend *be = net->be;
    node *last = &net->nodes[net->nnodes - 1];
    if (dlogits)
        be->upload(last->dy, dlogits, (size_t)n * last->size * sizeof(float));
    backward_walk(net, n);
    return be->sync() ? fer_error_prefix("backward pass") : 0;
}

void fer_net_step_queue(fer_net *net, int n, uint64_t seed, uint64_t step,
                        const int32_t *labels, const float *class_w, float smoothing)
{
    FER_ASSERT(n >= 1 && n <= net->max_n && !net->infer);
    forward_walk(net, n, 1, seed, step);
    loss_queue(net, labels, class_w, smoothing, n);
    backward_walk(net, n);
}

unsigned fer_net_plan_id(const fer_net *net) { return net->plan_id; }

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
const fer_param *fer_net_param(const fer_net *net, int i) { return &net->params[i]; }

int fer_net_find_param(const fer_net *net, const char *name)
{
    for (int i = 0; i < net->nparams; i++)
        if (!strcmp(net->params[i].name, name))
            return i;
    return -1;
}

int fer_net_param_read(fer_net *net, int i, float *dst)
{
    const fer_param *p = &net->params[i];
    net->be->download(dst, net->w + p->off, p->n * sizeof *dst);
    return net->be->sync() ? fer_error_prefix("%s", p->name) : 0;
}

int fer_net_param_write(fer_net *net, int i, const float *src)
{
    const fer_param *p = &net->params[i];
    touch(net);
    net->be->upload(net->w + p->off, src, p->n * sizeof *src);
    return net->be->sync() ? fer_error_prefix("%s", p->name) : 0;
}

int fer_net_grad_read(fer_net *net, int i, float *dst)
{
    const fer_param *p = &net->params[i];
    FER_ASSERT(p->learn);
    net->be->download(dst, net->g + p->off, p->n * sizeof *dst);
    return net->be->sync() ? fer_error_prefix("%s", p->name) : 0;
}

size_t fer_net_param_floats(const fer_net *net)
{
    size_t n = 0;
    for (int i = 0; i < net->nparams; i++)
        n += net->params[i].n;
    return n;
}

void fer_net_block_pack(fer_net *net, const float *block, float *packed)
{
    for (int i = 0; i < net->nparams; i++) {
        net->be->download(packed, block + net->params[i].off, net->params[i].n * sizeof *packed);
        packed += net->params[i].n;
    }
}

void fer_net_block_unpack(fer_net *net, const float *packed, float *block)
{
    touch(net);
    for (int i = 0; i < net->nparams; i++) {
        net->be->upload(block + net->params[i].off, packed, net->params[i].n * sizeof *packed);
        packed += net->params[i].n;
    }
}

int fer_net_params_read(fer_net *net, float *dst)
{
    fer_net_block_pack(net, net->w, dst);
    return net->be->sync() ? fer_error_prefix("parameters") : 0;
}

int fer_net_params_write(fer_net *net, const float *src)
{
    fer_net_block_unpack(net, src, net->w);
    return net->be->sync() ? fer_error_prefix("parameters") : 0;
}

const fer_backend *fer_net_backend(const fer_net *net) { return net->be; }

int fer_net_set_backend(fer_net *net, const fer_backend *be)
{
    const fer_backend *old = net->be;
    float *host, *w, *g;
    size_t bytes = net->cap * sizeof(float);
    if (be == old)
        return 0;
    free_plan(net);
    net->graph_off = 0;
    if (!net->cap) {
        net->be = be;
        return 0;
    }
    host = malloc(bytes);
    w = be->alloc(bytes);
    g = w ? be->alloc(bytes) : NULL;
    if (!host || !g) {
        free(host);
        if (w)
            be->free(w);
        return fer_seterr("out of memory moving the net to the %s backend", be->name);
    }
    old->download(host, net->w, bytes);
    be->upload(w, host, bytes);
    old->download(host, net->g, bytes);
    be->upload(g, host, bytes);
    free(host);
    old->free(net->w);
    old->free(net->g);
    net->w = w;
    net->g = g;
    net->be = be;
    return be->sync() ? fer_error_prefix("%s backend", be->name) : 0;
}
float *fer_net_weight_block(fer_net *net)
{
    touch(net);   /* the caller may write through it */
    return net->w;
}
float *fer_net_grad_block(fer_net *net) { return net->g; }
float *fer_net_input_block(fer_net *net) { return net->max_n ? net->nodes[0].y : NULL; }
size_t fer_net_block_floats(const fer_net *net) { return net->flat; }

size_t fer_net_count_weights(const fer_net *net)
{
    size_t n = 0;
    for (int i = 0; i < net->nparams; i++)
        if (net->params[i].learn)
            n += net->params[i].n;
    return n;
}

double fer_net_flops(const fer_net *net)
{
    double f = 0;
    for (int i = 1; i < net->nnodes; i++) {
        const node *nd = &net->nodes[i];
        if (nd->op == FER_OP_CONV)
            f += 2.0 * nd->size * net->nodes[nd->in].c * nd->kernel * nd->kernel;
        else if (nd->op == FER_OP_DENSE)
            f += 2.0 * nd->size * net->nodes[nd->in].size;
    }
    return f;
}

int fer_net_init_weights(fer_net *net, fer_rng *rng, int xavier)
{
    float *buf = NULL;
    size_t cap = 0;
    touch(net);
    for (int i = 1; i < net->nnodes; i++) {
        node *nd = &net->nodes[i];
        fer_param *w;
        double fan_in, fan_out;
        if (nd->op != FER_OP_CONV && nd->op != FER_OP_DENSE)
            continue;
        w = &net->params[nd->param[0]];
        if (w->n > cap) {
            float *q = realloc(buf, w->n * sizeof *q);
            if (!q) {
                free(buf);
                return fer_seterr("out of memory");
            }
            buf = q;
            cap = w->n;
        }
        fan_in = (double)w->n / w->shape[0];
        fan_out = (double)w->n / (w->ndim > 1 ? w->shape[1] : 1);
        if (xavier) {
            double a = sqrt(6.0 / (fan_in + fan_out));
            for (size_t j = 0; j < w->n; j++)
                buf[j] = (float)(a * (2 * fer_rng_double(rng) - 1));
        } else {
            double sd = sqrt(2.0 / fan_in);
            for (size_t j = 0; j < w->n; j++)
                buf[j] = (float)(sd * fer_rng_normal(rng));
        }
        net->be->upload(net->w + w->off, buf, w->n * sizeof *buf);
        if (nd->param[1] >= 0)
            net->be->zero(net->w + net->params[nd->param[1]].off,
                          net->params[nd->param[1]].n * sizeof(float));
    }
    free(buf);
    return 0;
}

int fer_net_freeze(fer_net *net, const char *prefix)
{
    size_t len = strlen(prefix);
    int k = 0;
    for (int i = 0; i < net->nparams; i++) {
        fer_param *p = &net->params[i];
        if (p->learn && !strncmp(p->name, prefix, len) && p->name[len] == '.') {
            p->trainable = 0;
            k++;
        }
    }
    return k;
}
