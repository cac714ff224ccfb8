/* SPDX-License-Identifier: GPL-2.0 */

#ifndef _KLP_BENCH_H
#define _KLP_BENCH_H

#include <linux/atomic.h>
#include <linux/sched/signal.h>
#include <linux/wait.h>

/*
 * What the readers of /proc/klp_bench sleep on; the file's private_data
 * points to it, so that the livepatch's read handler sleeps like the
 * original without linking to the target module.
 */
struct klp_bench_state {
	wait_queue_head_t wq;
	atomic_t releases;	/* writes to the file, so far */
	atomic_t sleepers;	/* readers asleep now */
	bool killable;		/* readers sleep killable: the signal cannot wake them */
	bool stopping;		/* the module is going away */
};

/* Sleep until the next write to the file; -ERESTARTSYS on a (fake) signal. */
static inline int klp_bench_wait(struct klp_bench_state *state)
{
	int seen = atomic_read(&state->releases);
	int ret;

	atomic_inc(&state->sleepers);
	if (READ_ONCE(state->killable))
		ret = wait_event_killable(state->wq,
					  atomic_read(&state->releases) != seen ||
					  READ_ONCE(state->stopping));
	else
		ret = wait_event_interruptible(state->wq,
					       atomic_read(&state->releases) != seen ||
					       READ_ONCE(state->stopping));
	atomic_dec(&state->sleepers);

	return ret;
}

#endif /* _KLP_BENCH_H */
