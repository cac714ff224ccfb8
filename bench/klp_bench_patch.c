// SPDX-License-Identifier: GPL-2.0
/* The livepatch of the benchmark: replaces klp_bench_read() by a twin. */

#include <linux/module.h>
#include <linux/fs.h>
#include <linux/livepatch.h>
#include "klp_bench.h"

static ssize_t livepatch_klp_bench_read(struct file *file, char __user *buf,
					size_t count, loff_t *ppos)
{
	static const char data[] = "livepatched\n";
	int ret;

	if (!*ppos) {
		ret = klp_bench_wait(file->private_data);
		if (ret)
			return ret;
	}

	return simple_read_from_buffer(buf, count, ppos, data, sizeof(data) - 1);
}

static struct klp_func funcs[] = {
	{
		.old_name = "klp_bench_read",
		.new_func = livepatch_klp_bench_read,
	}, { }
};

static struct klp_object objs[] = {
	{
		.name = "klp_bench_target",
		.funcs = funcs,
	}, { }
};

static struct klp_patch patch = {
	.mod = THIS_MODULE,
	.objs = objs,
};

static int __init klp_bench_patch_init(void)
{
	return klp_enable_patch(&patch);
}

static void __exit klp_bench_patch_exit(void)
{
}

module_init(klp_bench_patch_init);
module_exit(klp_bench_patch_exit);
MODULE_LICENSE("GPL");
MODULE_INFO(livepatch, "Y");
MODULE_DESCRIPTION("klp-signal benchmark: the livepatch");
