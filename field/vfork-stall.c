// SPDX-License-Identifier: GPL-2.0
/*
 * vfork-stall: a parent that the fake signal cannot move, for the field
 * test (scripts/guest-field.sh). It vfork()s a child that does not exec:
 * the child sleeps in pause(). Until the child execs or exits, the parent
 * sleeps in the kernel in wait_for_vfork_done(), killable but not
 * interruptible: the fake signal does not wake it. When the child is
 * killed, the parent returns from vfork(), reaps the child and prints
 * "ok: ..." (the child died of SIGKILL) or "FAIL: ...".
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
	int status;
	pid_t child;

	printf("parent %d\n", getpid());
	fflush(stdout);
	child = vfork();
	if (child == 0) {
		/* Only async-signal-safe calls in a vfork child. */
		for (;;)
			syscall(SYS_pause);
	}
	if (child < 0) {
		perror("FAIL: vfork");
		return 1;
	}
	if (waitpid(child, &status, 0) != child) {
		perror("FAIL: waitpid");
		return 1;
	}
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) {
		printf("ok: child %d killed, parent back from vfork()\n", child);
		return 0;
	}
	printf("FAIL: child %d status 0x%x\n", child, status);
	return 1;
}
