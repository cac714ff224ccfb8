// SPDX-License-Identifier: GPL-2.0
/*
 * klp-bench: the user space side of the benchmark (see scripts/bench.sh).
 *
 *   klp-bench sleep N             N threads read /proc/klp_bench (they sleep
 *                                 in the patched function until it is written)
 *   klp-bench crowd T             T idle threads; prints "ready" once all exist
 *   klp-bench walk FILE R         R writes of "1" to FILE (a signal attribute),
 *                                 prints the time each took in microseconds
 *   klp-bench forklat FILE V R W  a process forks in a loop while this one
 *                                 writes V to FILE R times, each time
 *                                 staying busy for W us at least; for each
 *                                 write, prints the worst latency of the
 *                                 fork() calls overlapping the window
 *                                 [start of the write, + max(write, W us)],
 *                                 the number of forks, of forks slower
 *                                 than the window's median + W/2 us, and
 *                                 the sum of the latency above the median
 *   klp-bench forkseries FILE V R W GAP SLOW
 *                                 the same, but sleeping until W us after
 *                                 the start of each write, then GAP to
 *                                 GAP + 400 ms more; slow: above the
 *                                 median + SLOW us
 *   klp-bench storm S             for S seconds, fork a child that exits at
 *                                 once and reap it, in a loop (one process;
 *                                 run one per CPU); prints the processes
 *                                 made, per second, and the slowest
 *                                 fork()+waitpid() in microseconds
 *   klp-bench writes S FILE...    for S seconds, every 1.0 to 1.1 s (the
 *                                 kernel lets the admin signal once a
 *                                 second), open the first FILE there is,
 *                                 write "1", close; prints one line a
 *                                 write: "write", how it ended (ok or the
 *                                 errno's name; ENOENT with no FILE) and
 *                                 the time open+write+close took in
 *                                 microseconds
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* Create n threads running fn on small stacks carved from one mapping. */
static void spawn(long n, void *(*fn)(void *))
{
	size_t stack = PTHREAD_STACK_MIN > 65536 ? PTHREAD_STACK_MIN : 65536;
	char *stacks = mmap(NULL, stack * n, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	pthread_attr_t attr;
	pthread_t t;
	long i;

	if (stacks == MAP_FAILED)
		die("mmap");
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	for (i = 0; i < n; i++) {
		int err;

		pthread_attr_setstack(&attr, stacks + i * stack, stack);
		err = pthread_create(&t, &attr, fn, NULL);
		if (err) {
			fprintf(stderr, "pthread_create %ld: %s\n", i, strerror(err));
			exit(1);
		}
	}
}

static long readers;

/* One read of /proc/klp_bench; the last reader to return ends the program. */
static void *reader(void *arg __attribute__((unused)))
{
	char buf[64];
	int fd = open("/proc/klp_bench", O_RDONLY);

	if (fd < 0)
		die("/proc/klp_bench");
	if (read(fd, buf, sizeof(buf)) < 0)
		die("read /proc/klp_bench");
	close(fd);
	if (!__atomic_sub_fetch(&readers, 1, __ATOMIC_SEQ_CST))
		exit(0);
	return NULL;
}

static void *idler(void *arg __attribute__((unused)))
{
	for (;;)
		pause();
	return NULL;
}

static int write_value(const char *file, const char *value)
{
	int fd = open(file, O_WRONLY);
	int ret;

	if (fd < 0)
		die(file);
	ret = write(fd, value, strlen(value));
	close(fd);
	return ret;
}

#define MAX_FORKS 2000000

/* Shared by the writer and the forker process. */
struct forks {
	volatile int stop;
	volatile long n;
	long long start[MAX_FORKS], end[MAX_FORKS];
};

/*
 * The forker is a process of its own, with one thread: a fork() in a
 * multithreaded process would also wait for TLB shootdowns on the CPUs
 * running its other threads, which is not what is measured here. Its
 * children are reaped by the kernel, and the records are in a shared
 * mapping which they do not inherit: the loop times fork() alone.
 */
static void forker(struct forks *f)
{
	if (madvise(f, sizeof(*f), MADV_DONTFORK))
		die("madvise");
	signal(SIGCHLD, SIG_IGN);
	while (!f->stop && f->n < MAX_FORKS) {
		long long t0 = now_ns();
		pid_t pid = fork();

		if (!pid)
			_exit(0);
		if (pid < 0)
			die("fork");
		f->start[f->n] = t0;
		f->end[f->n] = now_ns();
		f->n++;
	}
	exit(0);
}

/* The fork() calls overlapping a window [w0, w1] */
struct window {
	long long worst;	/* ns, -1 without any fork */
	long n, slow;		/* forks, forks slower than the median + slow_ns */
	long long excess;	/* ns of latency above the window's median */
};

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return (x > y) - (x < y);
}

/*
 * Windows in increasing order: *j is where the search starts, kept between
 * calls. lat: room for f->n latencies.
 */
static struct window window(const struct forks *f, long long w0, long long w1,
			    long long slow_ns, long *j, long long *lat)
{
	struct window w = { -1, 0, 0, 0 };
	long i;

	while (*j > 0 && f->end[*j - 1] >= w0)
		(*j)--;
	for (; *j < f->n && f->start[*j] <= w1; (*j)++) {
		long long l = f->end[*j] - f->start[*j];

		if (f->end[*j] < w0)
			continue;
		if (l > w.worst)
			w.worst = l;
		lat[w.n++] = l;
	}
	qsort(lat, w.n, sizeof(*lat), cmp_ll);
	for (i = w.n / 2 + 1; i < w.n; i++) {
		w.excess += lat[i] - lat[w.n / 2];
		w.slow += lat[i] - lat[w.n / 2] > slow_ns;
	}
	return w;
}

/*
 * A process forks in a loop while this one writes value to file, repeats
 * times; a window starts with each write and lasts window_us, or as long as
 * the write if longer. busy: stay busy until the window ends (without a
 * walk, keep this CPU as busy as a walk would: on an emulator, a busy CPU
 * slows the others down), else sleep (once a write returns, the admin's
 * shell is idle). Then sleep gap_ms to gap_ms + gap_rand_ms: apart, and out
 * of step with the kernel's periodic work.
 */
static void forkwindows(const char *file, const char *value, long repeats, long window_us,
			int busy, long gap_ms, long gap_rand_ms, long slow_us)
{
	long long *w0 = calloc(repeats, sizeof(*w0)), *w1 = calloc(repeats, sizeof(*w1));
	struct forks *f = mmap(NULL, sizeof(*f), PROT_READ | PROT_WRITE,
			       MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	long long *lat;
	pid_t pid;
	long i, j;

	if (f == MAP_FAILED)
		die("mmap");
	pid = fork();
	if (pid < 0)
		die("fork");
	if (!pid)
		forker(f);
	sleep_ms(200);
	for (i = 0; i < repeats; i++) {
		long long end;
		struct timespec ts;

		w0[i] = now_ns();
		if (write_value(file, value) < 0)
			die("write");
		w1[i] = now_ns();
		end = w0[i] + window_us * 1000LL;
		ts.tv_sec = end / 1000000000LL;
		ts.tv_nsec = end % 1000000000LL;
		while (busy && now_ns() < end)
			;
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
			;
		sleep_ms(gap_ms + rand() % gap_rand_ms);
	}
	f->stop = 1;
	waitpid(pid, NULL, 0);
	if (f->n == MAX_FORKS)
		fprintf(stderr, "klp-bench: the forker stopped at %d forks\n", MAX_FORKS);
	lat = malloc((f->n + 1) * sizeof(*lat));
	if (!lat)
		die("malloc");

	for (i = 0, j = 0; i < repeats; i++) {
		long long end = w0[i] + window_us * 1000LL;
		struct window w;

		if (w1[i] > end)
			end = w1[i];
		w = window(f, w0[i], end, slow_us * 1000LL, &j, lat);
		printf("sample %ld write_us %lld fork_max_us %lld forks %ld slow %ld excess_us %lld\n",
		       i, (w1[i] - w0[i]) / 1000, w.worst < 0 ? -1 : w.worst / 1000, w.n, w.slow,
		       w.excess / 1000);
	}
	printf("forks %ld\n", f->n);
}

/* For S seconds: processes created and reaped as fast as this CPU allows */
static void storm(long seconds)
{
	long long t0 = now_ns(), end = t0 + seconds * 1000000000LL, t, worst = 0;
	long n = 0;

	while ((t = now_ns()) < end) {
		pid_t pid = fork();

		if (!pid)
			_exit(0);
		if (pid < 0) {
			sleep_ms(1);
			continue;
		}
		if (waitpid(pid, NULL, 0) != pid)
			die("waitpid");
		t = now_ns() - t;
		if (t > worst)
			worst = t;
		n++;
	}
	printf("storm processes %ld per_s %.0f worst_us %lld\n", n,
	       n / ((now_ns() - t0) / 1e9), worst / 1000);
}

/*
 * For S seconds, a write of "1" every 1.0 to 1.1 s to the first of files[]
 * there is, each timed
 */
static void timed_writes(long seconds, char **files, int nr)
{
	long long end = now_ns() + seconds * 1000000000LL;

	while (now_ns() < end) {
		long long t0 = now_ns();
		int i, fd = -1, err = ENOENT;

		for (i = 0; i < nr && fd < 0; i++) {
			fd = open(files[i], O_WRONLY);
			if (fd < 0 && errno != ENOENT)
				break;
		}
		if (fd < 0 && i < nr)
			err = errno;
		else if (fd >= 0)
			err = write(fd, "1", 1) < 0 ? errno : 0;
		if (fd >= 0)
			close(fd);
		printf("write %s %lld\n", err ? strerrorname_np(err) : "ok",
		       (now_ns() - t0) / 1000);
		fflush(stdout);
		sleep_ms(1000 + rand() % 100);
	}
}

int main(int argc, char **argv)
{
	long i;

	if (argc == 3 && !strcmp(argv[1], "sleep")) {
		readers = atol(argv[2]);
		spawn(readers, reader);
		for (;;)
			pause();
	} else if (argc == 3 && !strcmp(argv[1], "crowd")) {
		spawn(atol(argv[2]), idler);
		printf("ready\n");
		fflush(stdout);
		for (;;)
			pause();
	} else if (argc == 4 && !strcmp(argv[1], "walk")) {
		/* The kernel lets the admin signal at most once a second. */
		for (i = 0; i < atol(argv[3]); i++) {
			long long t0 = now_ns();

			if (write_value(argv[2], "1") < 0)
				die("write");
			printf("walk %ld write_us %lld\n", i, (now_ns() - t0) / 1000);
			fflush(stdout);
			sleep_ms(1100 + rand() % 100);
		}
	} else if (argc == 2 && !strcmp(argv[1], "churn")) {
		/* Processes created and exiting as fast as this CPU allows */
		signal(SIGCHLD, SIG_IGN);
		for (;;) {
			pid_t pid = fork();

			if (!pid)
				_exit(0);
			if (pid < 0)
				sleep_ms(1);
		}
	} else if (argc == 3 && !strcmp(argv[1], "storm")) {
		storm(atol(argv[2]));
	} else if (argc >= 4 && !strcmp(argv[1], "writes")) {
		timed_writes(atol(argv[2]), argv + 3, argc - 3);
	} else if (argc == 6 && !strcmp(argv[1], "forklat")) {
		forkwindows(argv[2], argv[3], atol(argv[4]), atol(argv[5]), 1, 1100, 200,
			    atol(argv[5]) / 2);
	} else if (argc == 8 && !strcmp(argv[1], "forkseries")) {
		forkwindows(argv[2], argv[3], atol(argv[4]), atol(argv[5]), 0, atol(argv[6]), 400,
			    atol(argv[7]));
	} else {
		fprintf(stderr, "usage: %s sleep N | crowd T | walk FILE R | churn | forklat FILE VALUE R WINDOW_US"
			" | forkseries FILE VALUE R WINDOW_US GAP_MS SLOW_US"
			" | storm SECONDS | writes SECONDS FILE...\n",
			argv[0]);
		return 2;
	}
	return 0;
}
