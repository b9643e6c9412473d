/* net_blocks.h: a net's flat parameter and gradient blocks, as device
 * addresses of its backend, for the optimiser and the trainer, which run
 * backend ops over them (one pass for a whole step). Parameter i sits at
 * fer_net_param(net, i)->off; the gaps between parameters are zero and
 * stay zero under every op. Not for reading on the host. */
#ifndef FER_NET_BLOCKS_H
#define FER_NET_BLOCKS_H

#include "net.h"

float *fer_net_weight_block(fer_net *net);
float *fer_net_grad_block(fer_net *net);
/* The plan's input (max_n, c, h, w), which fer_net_forward with x NULL
 * reads: for an op that writes a batch there (the backend's
 * augment_batch). Valid until the net is planned again; NULL before
 * fer_net_plan. */
float *fer_net_input_block(fer_net *net);
/* Floats in each block, gaps included. */
size_t fer_net_block_floats(const fer_net *net);
/* Between a block laid out as the weights (gaps and all) and the packed
 * layout of fer_net_params_read, snapshots and checkpoints. */
void fer_net_block_pack(fer_net *net, const float *block, float *packed);
void fer_net_block_unpack(fer_net *net, const float *packed, float *block);

/* The batch size of the inference pass recorded as a backend graph, 0
 * when none is (for tests). */
int fer_net_graph_batch(const fer_net *net);

#endif
