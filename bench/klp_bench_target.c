// SPDX-License-Identifier: GPL-2.0
/*
 * Target of the benchmark (scripts/bench.sh): readers of /proc/klp_bench
 * sleep in klp_bench_read(), which the livepatch klp_bench_patch replaces,
 * until the file is written. With killable=1 they sleep killable, so that
 * the fake signal does not wake them and the transition stays pending for
 * as long as the benchmark needs it.
 */

#include <linux/module.h>
#include <linux/proc_fs.h>
#include "klp_bench.h"

static struct klp_bench_state state = {
	.wq = __WAIT_QUEUE_HEAD_INITIALIZER(state.wq),
	.releases = ATOMIC_INIT(0),
	.sleepers = ATOMIC_INIT(0),
};

module_param_named(killable, state.killable, bool, 0644);
MODULE_PARM_DESC(killable, "readers sleep killable, not interruptible");

static int sleepers_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%d\n", atomic_read(&state.sleepers));
}

static const struct kernel_param_ops sleepers_ops = {
	.get = sleepers_get,
};
module_param_cb(sleepers, &sleepers_ops, NULL, 0444);
MODULE_PARM_DESC(sleepers, "readers asleep now");

static int klp_bench_open(struct inode *inode, struct file *file)
{
	file->private_data = &state;
	return 0;
}

static ssize_t klp_bench_read(struct file *file, char __user *buf,
			      size_t count, loff_t *ppos)
{
	static const char data[] = "original\n";
	int ret;

	if (!*ppos) {
		ret = klp_bench_wait(file->private_data);
		if (ret)
			return ret;
	}

	return simple_read_from_buffer(buf, count, ppos, data, sizeof(data) - 1);
}

static ssize_t klp_bench_write(struct file *file, const char __user *buf,
			       size_t count, loff_t *ppos)
{
	atomic_inc(&state.releases);
	wake_up_all(&state.wq);
	return count;
}

static const struct proc_ops klp_bench_proc_ops = {
	.proc_open = klp_bench_open,
	.proc_read = klp_bench_read,
	.proc_write = klp_bench_write,
	.proc_lseek = default_llseek,
};

static int __init klp_bench_target_init(void)
{
	if (!proc_create("klp_bench", 0600, NULL, &klp_bench_proc_ops))
		return -ENOMEM;
	return 0;
}

static void __exit klp_bench_target_exit(void)
{
	WRITE_ONCE(state.stopping, true);
	wake_up_all(&state.wq);
	remove_proc_entry("klp_bench", NULL);
}

module_init(klp_bench_target_init);
module_exit(klp_bench_target_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("klp-signal benchmark: tasks sleeping in a patched function");
