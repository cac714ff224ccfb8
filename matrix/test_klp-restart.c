// SPDX-License-Identifier: GPL-2.0
/*
 * test_klp-restart CALL [SECONDS]: make one blocking syscall, the way a
 * careful program does, and tell how it went, for test-restart.sh.
 * test_klp-restart -n CALL: only tell whether CALL can be made here.
 *
 * CALL is one of pipe-read, unix-read, unix-read-rcvtimeo, accept4,
 * accept4-rcvtimeo, futex-wait, futex-wait-timed, nanosleep, poll,
 * poll-timed, epoll-wait, wait4 or pause. The -timed ones have a timeout
 * of a minute, the -rcvtimeo ones are made on a socket with a receive
 * timeout (SO_RCVTIMEO) of a minute; these must not expire. The program
 * forks a peer that will complete the call (write the data, connect,
 * wake the futex, exit, send SIGUSR1), prints "ready <peer pid> <syscall
 * number of restart_syscall>" and makes the call. The peer waits for
 * SIGUSR2 before it acts; nanosleep sleeps SECONDS (default 10).
 *
 * Each call is made directly with syscall(2). When it fails with EINTR
 * although no signal handler ran, the program counts it and makes the
 * call again, as a program must do anyway; nanosleep sleeps what it was
 * told remains. At the end it prints one line:
 *
 *   <CALL> <restarted|EINTR|other> <what it saw>
 *
 * "restarted": the call never returned early, "EINTR": it did, with
 * EINTR, "other": anything else (a sleep too short or too long, an
 * unexpected error).
 * It exits 0 when the call's result is the one it would have had without
 * any signal (all the data, in order; the connection; the child's exit
 * status...), 1 otherwise.
 *
 * Where the architecture has no such syscall (arm64 has no poll(),
 * epoll_wait() or pause(), only ppoll(), epoll_pwait() and
 * rt_sigsuspend()), it prints "<CALL> skip <reason>" and exits 4
 * (KSFT_SKIP); with -n it exits 0 when the call can be made.
 */

#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/futex.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "../kselftest.h"

#define DATA_LEN	(256 * 1024)	/* more than a pipe holds */
#define PEER_STATUS	42
#define TOKEN		"test_klp-restart"
#define TIMEOUT		60	/* seconds, for the -timed and -rcvtimeo calls */

static const char *call;
static pid_t parent;
static int eintr;		/* EINTRs with no handler run */
static char detail[256];
static int seconds = 10;	/* for nanosleep */
/* Set by the signal handlers, read with __atomic_load_n(). */
static sig_atomic_t go, handled;

static void on_go(int sig)
{
	__atomic_store_n(&go, 1, __ATOMIC_RELAXED);
}

static void on_usr1(int sig)
{
	__atomic_add_fetch(&handled, 1, __ATOMIC_RELAXED);
}

static int handler_runs(void)
{
	return __atomic_load_n(&handled, __ATOMIC_RELAXED);
}

static void fail(const char *what)
{
	fprintf(stderr, "%s: %s: %s\n", call, what, strerror(errno));
	exit(2);
}

static void note(const char *fmt, ...)
{
	size_t len = strlen(detail);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail + len, sizeof(detail) - len, fmt, ap);
	va_end(ap);
}

static unsigned char pattern(size_t i)
{
	return (i * 7 + i / 251) & 0xff;
}

/* A receive timeout that must not expire: the call is completed before. */
static void set_rcvtimeo(int fd)
{
	struct timeval tv = { .tv_sec = TIMEOUT };

	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)))
		fail("SO_RCVTIMEO");
}

static void say_ready(pid_t peer)
{
	printf("ready %d %d\n", peer, SYS_restart_syscall);
}

/* The peer: wait for SIGUSR2, then complete the call and exit. */
static pid_t start_peer(int (*complete)(void *), void *arg)
{
	sigset_t none;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		fail("fork");
	if (pid)
		return pid;

	sigemptyset(&none);
	while (!__atomic_load_n(&go, __ATOMIC_RELAXED))
		sigsuspend(&none);
	_exit(complete(arg));
}

static int write_pattern(void *arg)
{
	int fd = *(int *)arg;
	unsigned char buf[4096];
	size_t done = 0, i;
	ssize_t n;

	while (done < DATA_LEN) {
		for (i = 0; i < sizeof(buf); i++)
			buf[i] = pattern(done + i);
		n = write(fd, buf, sizeof(buf));
		if (n < 0)
			return 1;
		done += n;
	}
	return 0;
}

/* Read to EOF with read(2), check the pattern. */
static int read_pattern(int fd)
{
	unsigned char buf[1000];
	size_t total = 0;
	ssize_t n, i;

	for (;;) {
		n = syscall(SYS_read, fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR) {
			eintr++;
			continue;
		}
		if (n < 0)
			fail("read");
		if (n == 0)
			break;
		for (i = 0; i < n; i++) {
			if (buf[i] != pattern(total + i)) {
				note("bad byte at %zu", total + i);
				return 1;
			}
		}
		total += n;
	}
	note("read %zu bytes", total);
	return total != DATA_LEN;
}

static int do_read(int *fds, pid_t *peer)
{
	*peer = start_peer(write_pattern, &fds[1]);
	close(fds[1]);
	say_ready(*peer);
	return read_pattern(fds[0]);
}

static int pipe_read(pid_t *peer)
{
	int fds[2];

	if (pipe(fds))
		fail("pipe");
	return do_read(fds, peer);
}

static int unix_read(pid_t *peer)
{
	int fds[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds))
		fail("socketpair");
	return do_read(fds, peer);
}

static int unix_read_rcvtimeo(pid_t *peer)
{
	int fds[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds))
		fail("socketpair");
	set_rcvtimeo(fds[0]);
	return do_read(fds, peer);
}

static struct sockaddr_un addr;

static int connect_send(void *arg)
{
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)))
		return 1;
	return write(fd, TOKEN, strlen(TOKEN)) != strlen(TOKEN);
}

static int do_accept(pid_t *peer, bool rcvtimeo)
{
	char buf[64] = "";
	int fd, conn;
	ssize_t n;

	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0)
		fail("socket");
	addr.sun_family = AF_UNIX;
	/* An abstract name, gone with the socket. */
	snprintf(addr.sun_path + 1, sizeof(addr.sun_path) - 1,
		 "test_klp-restart.%d", getpid());
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) || listen(fd, 1))
		fail("bind/listen");
	if (rcvtimeo)
		set_rcvtimeo(fd);
	*peer = start_peer(connect_send, NULL);
	say_ready(*peer);

	while ((conn = syscall(SYS_accept4, fd, NULL, NULL, 0)) < 0) {
		if (errno != EINTR)
			fail("accept4");
		eintr++;
	}
	n = read(conn, buf, sizeof(buf) - 1);
	note("accepted, read \"%s\"", n > 0 ? buf : "");
	return strcmp(buf, TOKEN) != 0;
}

static int accept_call(pid_t *peer)
{
	return do_accept(peer, false);
}

static int accept_rcvtimeo(pid_t *peer)
{
	return do_accept(peer, true);
}

static uint32_t *futex_word;

static int futex_wake(void *arg)
{
	__atomic_store_n(futex_word, 1, __ATOMIC_SEQ_CST);
	return syscall(SYS_futex, futex_word, FUTEX_WAKE, 1, NULL, NULL, 0) != 1;
}

static int do_futex_wait(pid_t *peer, const struct timespec *timeout)
{
	long ret;

	/* Shared with the peer: not a private futex. */
	futex_word = mmap(NULL, sizeof(*futex_word), PROT_READ | PROT_WRITE,
			  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (futex_word == MAP_FAILED)
		fail("mmap");
	*futex_word = 0;
	*peer = start_peer(futex_wake, NULL);
	say_ready(*peer);

	for (;;) {
		ret = syscall(SYS_futex, futex_word, FUTEX_WAIT, 0, timeout,
			      NULL, 0);
		if (ret < 0 && errno == EINTR) {
			eintr++;
			continue;
		}
		break;
	}
	if (ret < 0)
		note("futex wait: %s", strerror(errno));
	else
		note("woken, word %u", *futex_word);
	/* Woken by the peer: it returns 0 with the word set. */
	return ret != 0 || *futex_word != 1;
}

static int futex_wait(pid_t *peer)
{
	return do_futex_wait(peer, NULL);
}

static int futex_wait_timed(pid_t *peer)
{
	struct timespec timeout = { .tv_sec = TIMEOUT };

	return do_futex_wait(peer, &timeout);
}

static int nothing(void *arg)
{
	return 0;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int nanosleep_call(pid_t *peer)
{
	struct timespec req = { .tv_sec = seconds }, rem;
	double t0 = now(), slept;

	*peer = start_peer(nothing, NULL);
	say_ready(*peer);

	while (syscall(SYS_nanosleep, &req, &rem)) {
		if (errno != EINTR)
			fail("nanosleep");
		eintr++;
		req = rem;
	}
	slept = now() - t0;
	note("slept %.3f s of %d", slept, seconds);
	/*
	 * Restarted from the start, it would sleep longer by the time from
	 * the start to the signal, which the test makes 2 s at least.
	 */
	if (slept < seconds || slept > seconds + 1) {
		note(": too %s", slept < seconds ? "short" : "long");
		return 1;
	}
	return 0;
}

static int write_byte(void *arg)
{
	return write(*(int *)arg, "x", 1) != 1;
}

#ifdef SYS_poll
static int do_poll(pid_t *peer, int timeout_ms)
{
	struct pollfd pfd;
	int fds[2], ret;

	if (pipe(fds))
		fail("pipe");
	*peer = start_peer(write_byte, &fds[1]);
	say_ready(*peer);

	pfd.fd = fds[0];
	pfd.events = POLLIN;
	while ((ret = syscall(SYS_poll, &pfd, 1, timeout_ms)) < 0) {
		if (errno != EINTR)
			fail("poll");
		eintr++;
	}
	note("%d ready, revents %#x", ret, pfd.revents);
	return ret != 1 || pfd.revents != POLLIN;
}

static int poll_call(pid_t *peer)
{
	return do_poll(peer, -1);
}

static int poll_timed(pid_t *peer)
{
	return do_poll(peer, TIMEOUT * 1000);
}
#endif

#ifdef SYS_epoll_wait
static int epoll_wait_call(pid_t *peer)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int fds[2], epfd, ret;

	if (pipe(fds))
		fail("pipe");
	epfd = epoll_create1(0);
	ev.data.fd = fds[0];
	if (epfd < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, fds[0], &ev))
		fail("epoll");
	*peer = start_peer(write_byte, &fds[1]);
	say_ready(*peer);

	memset(&ev, 0, sizeof(ev));
	while ((ret = syscall(SYS_epoll_wait, epfd, &ev, 1, -1)) < 0) {
		if (errno != EINTR)
			fail("epoll_wait");
		eintr++;
	}
	note("%d ready, events %#x", ret, ev.events);
	return ret != 1 || ev.events != EPOLLIN || ev.data.fd != fds[0];
}
#endif

static int exit_status(void *arg)
{
	return PEER_STATUS;
}

static int wait4_call(pid_t *peer)
{
	struct rusage ru;
	int status = 0;
	pid_t pid;

	*peer = start_peer(exit_status, NULL);
	say_ready(*peer);

	while ((pid = syscall(SYS_wait4, *peer, &status, 0, &ru)) < 0) {
		if (errno != EINTR)
			fail("wait4");
		eintr++;
	}
	note("reaped %s, status %d", pid == *peer ? "the peer" : "another",
	     WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	/* Reaped: nothing left to wait for at the end. */
	*peer = 0;
	return !WIFEXITED(status) || WEXITSTATUS(status) != PEER_STATUS;
}

#ifdef SYS_pause
static int send_usr1(void *arg)
{
	return kill(parent, SIGUSR1);
}

static int pause_call(pid_t *peer)
{
	struct sigaction sa = { .sa_handler = on_usr1 };
	long ret;

	if (sigaction(SIGUSR1, &sa, NULL))
		fail("sigaction");
	*peer = start_peer(send_usr1, NULL);
	say_ready(*peer);

	/* pause() returns EINTR once a handler has run, and only then. */
	for (;;) {
		ret = syscall(SYS_pause);
		if (ret < 0 && errno == EINTR && !handler_runs()) {
			eintr++;
			continue;
		}
		break;
	}
	note("returned %ld (%s), handler ran %d time(s)", ret,
	     ret < 0 ? strerror(errno) : "no error", handler_runs());
	return !(ret < 0 && errno == EINTR && handler_runs() == 1);
}
#endif

/* The calls of the syscalls this architecture does not have. */
#ifndef SYS_poll
#define poll_call	NULL
#define poll_timed	NULL
#endif
#ifndef SYS_epoll_wait
#define epoll_wait_call	NULL
#endif
#ifndef SYS_pause
#define pause_call	NULL
#endif

static const struct {
	const char *name;
	const char *syscall;
	int (*make)(pid_t *peer);	/* NULL: no such syscall here */
} calls[] = {
	{ "pipe-read", "read", pipe_read },
	{ "unix-read", "read", unix_read },
	{ "unix-read-rcvtimeo", "read", unix_read_rcvtimeo },
	{ "accept4", "accept4", accept_call },
	{ "accept4-rcvtimeo", "accept4", accept_rcvtimeo },
	{ "futex-wait", "futex", futex_wait },
	{ "futex-wait-timed", "futex", futex_wait_timed },
	{ "nanosleep", "nanosleep", nanosleep_call },
	{ "poll", "poll", poll_call },
	{ "poll-timed", "poll", poll_timed },
	{ "epoll-wait", "epoll_wait", epoll_wait_call },
	{ "wait4", "wait4", wait4_call },
	{ "pause", "pause", pause_call },
};

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_go };
	bool check_only;
	int wrong, status;
	sigset_t usr2;
	size_t i;
	pid_t peer;

	check_only = argc > 1 && !strcmp(argv[1], "-n");
	if (argc < 2 + check_only) {
		fprintf(stderr, "usage: %s CALL [SECONDS] | -n CALL\n",
			argv[0]);
		return 2;
	}
	call = argv[1 + check_only];
	parent = getpid();
	if (argc > 2 && !check_only)
		seconds = atoi(argv[2]);
	for (i = 0; i < ARRAY_SIZE(calls); i++)
		if (!strcmp(call, calls[i].name))
			break;
	if (i == ARRAY_SIZE(calls)) {
		fprintf(stderr, "%s: unknown call\n", call);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!calls[i].make) {
		printf("%s skip no %s() syscall on this architecture\n", call,
		       calls[i].syscall);
		return KSFT_SKIP;
	}
	if (check_only)
		return 0;

	/* SIGUSR2 is for the peer: blocked here, it waits in sigsuspend(). */
	sigemptyset(&usr2);
	sigaddset(&usr2, SIGUSR2);
	if (sigaction(SIGUSR2, &sa, NULL) ||
	    sigprocmask(SIG_BLOCK, &usr2, NULL))
		fail("SIGUSR2");

	wrong = calls[i].make(&peer);

	if (peer > 0) {
		if (waitpid(peer, &status, 0) != peer || !WIFEXITED(status) ||
		    WEXITSTATUS(status)) {
			note(", the peer failed");
			wrong = 1;
		}
	}
	if (wrong)
		printf("%s other %s\n", call, detail);
	else
		printf("%s %s %s%s\n", call, eintr ? "EINTR" : "restarted",
		       detail, eintr ? ", after EINTR" : "");
	return wrong;
}
