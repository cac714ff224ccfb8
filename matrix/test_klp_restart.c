// SPDX-License-Identifier: GPL-2.0
/*
 * test_klp_restart: a livepatch that replaces the functions blocking
 * syscalls sleep in, for test-restart.sh.
 *
 * It replaces the entry functions of read(), accept4(), futex(),
 * nanosleep(), wait4() and pause(), and schedule_hrtimeout_range(), where
 * poll() and epoll_wait() sleep. A task that makes one of these calls
 * while the patch is enabled sleeps in a new function below, which stays
 * on its stack (no tail calls: see KEEP_FRAME()), so it blocks the
 * unpatching transition until it leaves the kernel. The original entry
 * functions may end in a tail call to their helper and then are not on
 * the stack of a sleeping task: the test blocks the unpatching transition,
 * not the patching one.
 *
 * The new functions behave as the originals do: they call the helpers
 * that the originals call (ksys_read(), __sys_accept4(), do_futex(),
 * hrtimer_nanosleep(), kernel_wait4()). These are not exported. A
 * livepatch built with klp relocations would reach them by name; the
 * selftests build plain modules, so the test script looks the addresses
 * up in /proc/kallsyms and passes them as module parameters, and the
 * module checks each against kallsyms before it enables the patch.
 *
 * The module calls these helpers through pointers. On x86 with
 * CONFIG_X86_KERNEL_IBT, the kernel "seals" at boot the functions that
 * objtool found it never takes the address of (ksys_read(), only called
 * directly, is one): their ENDBR becomes a NOP. Where the CPU enforces
 * IBT, an indirect call to such a function raises a #CP ("Missing
 * ENDBR"), a BUG() (a warning with "ibt=warn"): the module then refuses
 * to load (EOPNOTSUPP) and the test is skipped. Where IBT is not enforced
 * (no IBT in the CPU or its emulator, "ibt=off"), the NOP is harmless and
 * the test runs. Replacing the entry functions is no problem: ftrace
 * returns to the new function, it does not call it.
 *
 * The entry functions are named with the prefix of the architecture's
 * syscall wrappers, FN_PREFIX below; the module tells it to the test
 * script as its "syscall_prefix" (see modinfo). pause() is only replaced
 * where the architecture has it, nanosleep() on 64-bit kernels only (the
 * conditions under which the kernel defines them).
 *
 * While the patch is enabled, every task of the system that reads, polls,
 * sleeps... goes through these functions; this is a test module.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/kallsyms.h>
#include <linux/livepatch.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/socket.h>
#include <linux/futex.h>
#include <linux/hrtimer.h>
#include <linux/time_namespace.h>
#include <linux/uaccess.h>
#include <asm/syscall.h>
#include <asm/unistd.h>
#ifdef CONFIG_X86_KERNEL_IBT
#include <linux/cpufeature.h>
#include <asm/ibt.h>
#endif

/* The prefix of syscall entry functions: see the syscall_wrapper.h files. */
#if defined(CONFIG_X86_64)
#define FN_PREFIX __x64_
#elif defined(CONFIG_X86_32)
#define FN_PREFIX __ia32_
#elif defined(CONFIG_ARM64)
#define FN_PREFIX __arm64_
#elif defined(CONFIG_RISCV)
#define FN_PREFIX __riscv_
#elif defined(CONFIG_S390)
#define FN_PREFIX __s390x_
#elif defined(CONFIG_PPC)
#define FN_PREFIX
#else
#error "test_klp_restart: unknown prefix of syscall entry functions"
#endif

/*
 * The new entry functions take the syscall's pt_regs: the Makefile builds
 * this module only with CONFIG_ARCH_HAS_SYSCALL_WRAPPER.
 */

/* Keep the caller's frame: its result is used after the call. */
#define KEEP_FRAME(ret)	OPTIMIZER_HIDE_VAR(ret)

static unsigned long ksys_read_addr;
module_param_named(ksys_read, ksys_read_addr, ulong, 0);
MODULE_PARM_DESC(ksys_read, "Address of ksys_read()");

static unsigned long sys_accept4_addr;
module_param_named(sys_accept4, sys_accept4_addr, ulong, 0);
MODULE_PARM_DESC(sys_accept4, "Address of __sys_accept4()");

static unsigned long do_futex_addr;
module_param_named(do_futex, do_futex_addr, ulong, 0);
MODULE_PARM_DESC(do_futex, "Address of do_futex()");

static unsigned long hrtimer_nanosleep_addr;
module_param_named(hrtimer_nanosleep, hrtimer_nanosleep_addr, ulong, 0);
MODULE_PARM_DESC(hrtimer_nanosleep, "Address of hrtimer_nanosleep()");

static unsigned long do_no_restart_syscall_addr;
module_param_named(do_no_restart_syscall, do_no_restart_syscall_addr, ulong,
		   0);
MODULE_PARM_DESC(do_no_restart_syscall, "Address of do_no_restart_syscall()");

static unsigned long kernel_wait4_addr;
module_param_named(kernel_wait4, kernel_wait4_addr, ulong, 0);
MODULE_PARM_DESC(kernel_wait4, "Address of kernel_wait4()");

#ifdef CONFIG_TIME_NS
static unsigned long timens_addr;
module_param_named(do_timens_ktime_to_host, timens_addr, ulong, 0);
MODULE_PARM_DESC(do_timens_ktime_to_host,
		 "Address of do_timens_ktime_to_host()");
#endif

/* The helpers, with the prototypes of their declarations. */
static ssize_t (*helper_ksys_read)(unsigned int fd, char __user *buf,
				   size_t count);
static int (*helper_sys_accept4)(int fd,
				 struct sockaddr __user *upeer_sockaddr,
				 int __user *upeer_addrlen, int flags);
static long (*helper_do_futex)(u32 __user *uaddr, int op, u32 val,
			       ktime_t *timeout, u32 __user *uaddr2,
			       u32 val2, u32 val3);
static long (*helper_hrtimer_nanosleep)(ktime_t rqtp,
					const enum hrtimer_mode mode,
					const clockid_t clockid);
static long (*helper_do_no_restart_syscall)(struct restart_block *parm);
static long (*helper_kernel_wait4)(pid_t upid, int __user *stat_addr,
				   int options, struct rusage *ru);
#ifdef CONFIG_TIME_NS
static ktime_t (*helper_timens_ktime_to_host)(clockid_t clockid, ktime_t tim,
					      struct timens_offsets *offsets);
#endif

static void get_args(const struct pt_regs *regs, unsigned long *args)
{
	/* It only reads the registers. */
	syscall_get_arguments(current, (struct pt_regs *)regs, args);
}

static long lp_sys_read(const struct pt_regs *regs)
{
	unsigned long a[6];
	long ret;

	get_args(regs, a);
	ret = helper_ksys_read(a[0], (char __user *)a[1], a[2]);
	KEEP_FRAME(ret);
	return ret;
}

static long lp_sys_accept4(const struct pt_regs *regs)
{
	unsigned long a[6];
	long ret;

	get_args(regs, a);
	ret = helper_sys_accept4(a[0], (struct sockaddr __user *)a[1],
				 (int __user *)a[2], a[3]);
	KEEP_FRAME(ret);
	return ret;
}

static bool futex_takes_timeout(int cmd)
{
	return cmd == FUTEX_WAIT || cmd == FUTEX_LOCK_PI ||
	       cmd == FUTEX_LOCK_PI2 || cmd == FUTEX_WAIT_BITSET ||
	       cmd == FUTEX_WAIT_REQUEUE_PI;
}

/* The timeout as the original computes it: absolute, on the host's clock. */
static int futex_timeout(int op, const struct __kernel_timespec __user *utime,
			 ktime_t *t)
{
	int cmd = op & FUTEX_CMD_MASK;
	struct timespec64 ts;

	if (get_timespec64(&ts, utime))
		return -EFAULT;
	if (!timespec64_valid(&ts))
		return -EINVAL;

	*t = timespec64_to_ktime(ts);
	if (cmd == FUTEX_WAIT) {
		*t = ktime_add_safe(ktime_get(), *t);
	} else if (cmd != FUTEX_LOCK_PI && !(op & FUTEX_CLOCK_REALTIME)) {
#ifdef CONFIG_TIME_NS
		struct time_namespace *ns = current->nsproxy->time_ns;

		*t = helper_timens_ktime_to_host(CLOCK_MONOTONIC, *t,
						 &ns->offsets);
#endif
	}
	return 0;
}

static long lp_sys_futex(const struct pt_regs *regs)
{
	const struct __kernel_timespec __user *utime;
	ktime_t t, *tp = NULL;
	unsigned long a[6];
	long ret;
	int op;

	get_args(regs, a);
	op = a[1];
	utime = (const struct __kernel_timespec __user *)a[3];
	if (utime && futex_takes_timeout(op & FUTEX_CMD_MASK)) {
		ret = futex_timeout(op, utime, &t);
		if (ret)
			return ret;
		tp = &t;
	}

	ret = helper_do_futex((u32 __user *)a[0], op, a[2], tp,
			      (u32 __user *)a[4], a[3], a[5]);
	KEEP_FRAME(ret);
	return ret;
}

#ifdef CONFIG_64BIT
static long lp_sys_nanosleep(const struct pt_regs *regs)
{
	struct __kernel_timespec __user *rmtp;
	struct timespec64 tu;
	unsigned long a[6];
	long ret;

	get_args(regs, a);
	rmtp = (struct __kernel_timespec __user *)a[1];
	if (get_timespec64(&tu, (struct __kernel_timespec __user *)a[0]))
		return -EFAULT;
	if (!timespec64_valid(&tu))
		return -EINVAL;

	current->restart_block.fn = helper_do_no_restart_syscall;
	current->restart_block.nanosleep.type = rmtp ? TT_NATIVE : TT_NONE;
	current->restart_block.nanosleep.rmtp = rmtp;
	ret = helper_hrtimer_nanosleep(timespec64_to_ktime(tu),
				       HRTIMER_MODE_REL, CLOCK_MONOTONIC);
	KEEP_FRAME(ret);
	return ret;
}
#endif

static long lp_sys_wait4(const struct pt_regs *regs)
{
	struct rusage __user *ru;
	unsigned long a[6];
	struct rusage r;
	long ret;

	get_args(regs, a);
	ru = (struct rusage __user *)a[3];
	ret = helper_kernel_wait4(a[0], (int __user *)a[1], a[2],
				  ru ? &r : NULL);
	if (ret > 0 && ru && copy_to_user(ru, &r, sizeof(r)))
		return -EFAULT;
	return ret;
}

#ifdef __ARCH_WANT_SYS_PAUSE
static long lp_sys_pause(const struct pt_regs *regs)
{
	while (!signal_pending(current)) {
		__set_current_state(TASK_INTERRUPTIBLE);
		schedule();
	}
	return -ERESTARTNOHAND;
}
#endif

static int lp_schedule_hrtimeout_range(ktime_t *expires, u64 delta,
				       const enum hrtimer_mode mode)
{
	int ret;

	ret = schedule_hrtimeout_range_clock(expires, delta, mode,
					     CLOCK_MONOTONIC);
	KEEP_FRAME(ret);
	return ret;
}

#define SYSCALL_FUNC(name) {						\
	.old_name = __stringify(FN_PREFIX) "sys_" #name,		\
	.new_func = lp_sys_##name,					\
}

static struct klp_func funcs[] = {
	SYSCALL_FUNC(read),
	SYSCALL_FUNC(accept4),
	SYSCALL_FUNC(futex),
#ifdef CONFIG_64BIT
	SYSCALL_FUNC(nanosleep),
#endif
	SYSCALL_FUNC(wait4),
#ifdef __ARCH_WANT_SYS_PAUSE
	SYSCALL_FUNC(pause),
#endif
	{
		.old_name = "schedule_hrtimeout_range",
		.new_func = lp_schedule_hrtimeout_range,
	}, { }
};

static struct klp_object objs[] = {
	{
		/* name being NULL means vmlinux */
		.funcs = funcs,
	}, { }
};

static struct klp_patch patch = {
	.mod = THIS_MODULE,
	.objs = objs,
};

/*
 * check_helper() - check that the address given for a helper is the start
 * of the function of that name
 */
static int check_helper(const char *name, unsigned long addr)
{
	char sym[KSYM_SYMBOL_LEN];
	size_t len = strlen(name);

	if (!addr) {
		pr_err("no address given for %s()\n", name);
		return -EINVAL;
	}
	sprint_symbol(sym, addr);
	if (strncmp(sym, name, len) || strncmp(sym + len, "+0x0/", 5)) {
		pr_err("the address given for %s() is not its start\n", name);
		return -EINVAL;
	}
#ifdef CONFIG_X86_KERNEL_IBT
	/*
	 * Enforced IBT: a sealed function starts with the ENDBR poison, which
	 * is_endbr() accepts, not with ENDBR64.
	 */
	if (cpu_feature_enabled(X86_FEATURE_IBT) &&
	    *(u32 *)addr != gen_endbr()) {
		pr_err("%s() has no ENDBR and IBT is enforced: it cannot be called through a pointer\n",
		       name);
		return -EOPNOTSUPP;
	}
#endif
	return 0;
}

static int test_klp_restart_init(void)
{
	int ret;

	ret = check_helper("ksys_read", ksys_read_addr) ?:
	      check_helper("__sys_accept4", sys_accept4_addr) ?:
	      check_helper("do_futex", do_futex_addr) ?:
	      check_helper("hrtimer_nanosleep", hrtimer_nanosleep_addr) ?:
	      check_helper("do_no_restart_syscall",
			   do_no_restart_syscall_addr) ?:
	      check_helper("kernel_wait4", kernel_wait4_addr);
#ifdef CONFIG_TIME_NS
	if (!ret)
		ret = check_helper("do_timens_ktime_to_host", timens_addr);
#endif
	if (ret)
		return ret;

	helper_ksys_read = (void *)ksys_read_addr;
	helper_sys_accept4 = (void *)sys_accept4_addr;
	helper_do_futex = (void *)do_futex_addr;
	helper_hrtimer_nanosleep = (void *)hrtimer_nanosleep_addr;
	helper_do_no_restart_syscall = (void *)do_no_restart_syscall_addr;
	helper_kernel_wait4 = (void *)kernel_wait4_addr;
#ifdef CONFIG_TIME_NS
	helper_timens_ktime_to_host = (void *)timens_addr;
#endif

	return klp_enable_patch(&patch);
}

static void test_klp_restart_exit(void)
{
}

module_init(test_klp_restart_init);
module_exit(test_klp_restart_exit);
MODULE_INFO(syscall_prefix, __stringify(FN_PREFIX));
MODULE_LICENSE("GPL");
MODULE_INFO(livepatch, "Y");
MODULE_AUTHOR("klp-signal developers <klp-signal@example.org>");
MODULE_DESCRIPTION("Livepatch test: blocking syscalls and the fake signal");
