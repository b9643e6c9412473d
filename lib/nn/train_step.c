/* train_step.c: one training step queued whole, and as a backend graph
 * (train_step.h). */
#include "train_step.h"

#include "backend.h"
#include "net_blocks.h"

/* One update of the weight average a (a block laid out as the weights)
 * after update t: a += (1 - d)(w - a), d = min(decay, (1 + t) / (10 +
 * t)); a weight that does not move (frozen) stays exactly what it was. */
static void ema_update(fer_net *net, float *a, double decay, long t)
{
    double warm = (1.0 + t) / (10.0 + t);
    const float k = (float)(1 - (decay < warm ? decay : warm));
    fer_net_backend(net)->ema(fer_net_block_floats(net), k, fer_net_weight_block(net), a);
}

/* The step's ops, queued on the backend with no wait and no read-back:
 * the batch built where the data lives, the passes, the optimiser's step
 * and the weight average's update. */
static void queue_step(const fer_step *a)
{
    fer_net_backend(a->net)->augment_batch(a->b, a->c, a->h, a->w, a->data, a->index, a->par,
                                           a->in_scale, a->in_shift,
                                           fer_net_input_block(a->net));
    fer_net_step_queue(a->net, a->b, a->seed, a->step, a->labels, a->class_w, a->smoothing);
    fer_optim_step(a->opt, a->lr);
    if (a->ema_dev)
        ema_update(a->net, a->ema_dev, a->ema_decay, (*a->ema_t)++);
}

void fer_step_graph_free(fer_step_graph *sg, const fer_backend *be)
{
    if (sg->graph)
        be->graph_free(sg->graph);
    sg->graph = NULL;
}

/* Undoes the host side of a walk of queue_step whose ops never ran. */
static void step_undo(const fer_step *a, long t, long ema_t)
{
    fer_optim_set_steps(a->opt, t);
    if (a->ema_t)
        *a->ema_t = ema_t;
}

void fer_step_run(fer_step_graph *sg, int on, const fer_step *a)
{
    const fer_backend *be = fer_net_backend(a->net);
    const unsigned plan = fer_net_plan_id(a->net);
    const long t = fer_optim_steps(a->opt), et = a->ema_t ? *a->ema_t : 0;
    if (!on || !be->graph_begin || sg->failures >= 2) {
        queue_step(a);
        return;
    }
    if (sg->graph && sg->plan != plan)
        fer_step_graph_free(sg, be);   /* it holds the old plan's addresses */
    if (sg->graph) {
        be->graph_refill(sg->graph);
        queue_step(a);
        if (be->graph_launch(sg->graph) == 0) {
            sg->replays++;
            return;
        }
        fer_step_graph_free(sg, be);   /* stale, and nothing ran: record again */
        step_undo(a, t, et);
    } else if (sg->seen == plan + 1) {
        if (be->graph_begin() == 0) {
            queue_step(a);
            if ((sg->graph = be->graph_end())) {
                sg->plan = plan;
                if (be->graph_launch(sg->graph) == 0) {
                    sg->replays++;
                    return;
                }
                fer_step_graph_free(sg, be);
            }
            step_undo(a, t, et);   /* nothing recorded ran */
        }
        sg->failures++;
    }
    sg->seen = plan + 1;
    queue_step(a);
}

