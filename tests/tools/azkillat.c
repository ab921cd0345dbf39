/* azkillat — run a command and SIGKILL it DELAY microseconds after it was
 * started, the way an OOM killer or an impatient runtime ends a hook at an
 * arbitrary moment.  A shell cannot do this: `sleep` alone costs about a
 * millisecond, as long as the hook's whole apply.
 *
 *   azkillat DELAY_US CMD [ARG...]      (DELAY_US < 0: never kill, just time it)
 *
 * stdin, stdout and stderr pass to CMD.  On stderr's last line it prints
 *   azkillat: killed after N us        CMD was still running: SIGKILL sent
 *   azkillat: exited C after N us      CMD ended (status C) before the kill
 *                                      (N: when it was seen ended)
 * and exits with CMD's status, 128+signal when a signal ended it (137 for
 * our SIGKILL).  Usage errors exit 64.
 *
 *   azkillat --when create|rename DIR PREFIX PID TIMEOUT_MS
 *
 * SIGKILL process PID (not ours) the moment a file named PREFIX... is
 * created in DIR (create: e.g. a state record's temporary, before its
 * rename) or renamed into it (rename: the record complete).  Prints "ready"
 * on stdout once watching, then "killed PID at NAME"; exits 0, or 1 when
 * TIMEOUT_MS passed with no such file.  A moment inside a daemon's request
 * that no delay could hit reliably.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int status_code(int st)
{
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int when(int argc, char **argv)
{
	if (argc != 7 || (strcmp(argv[2], "create") && strcmp(argv[2], "rename"))) {
		fputs("usage: azkillat --when create|rename DIR PREFIX PID TIMEOUT_MS\n", stderr);
		return 64;
	}
	const char *prefix = argv[4];
	pid_t pid = (pid_t)atol(argv[5]);
	long long deadline = now_us() + atoll(argv[6]) * 1000;
	int fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (fd < 0 || pid <= 0 ||
	    inotify_add_watch(fd, argv[3], !strcmp(argv[2], "create") ? IN_CREATE : IN_MOVED_TO) < 0) {
		fprintf(stderr, "azkillat: watch %s: %s\n", argv[3], strerror(errno));
		return 64;
	}
	printf("ready\n");
	fflush(stdout);
	char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
	for (;;) {
		long long left = deadline - now_us();
		if (left <= 0)
			return 1;
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, (int)(left / 1000) + 1) <= 0)
			continue;
		ssize_t n = read(fd, buf, sizeof(buf));
		for (char *q = buf; n > 0 && q < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)q;
			if (ev->len && !strncmp(ev->name, prefix, strlen(prefix))) {
				kill(pid, SIGKILL);
				printf("killed %d at %s\n", (int)pid, ev->name);
				return 0;
			}
			q += sizeof(*ev) + ev->len;
		}
	}
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "--when"))
		return when(argc, argv);
	if (argc < 3) {
		fputs("usage: azkillat DELAY_US CMD [ARG...]\n", stderr);
		return 64;
	}
	char *end;
	errno = 0;
	long long delay = strtoll(argv[1], &end, 10);
	if (errno || *end || end == argv[1]) {
		fprintf(stderr, "azkillat: bad delay '%s'\n", argv[1]);
		return 64;
	}
	long long t0 = now_us();
	pid_t pid = fork();
	if (pid < 0) {
		perror("azkillat: fork");
		return 70;
	}
	if (pid == 0) {
		execvp(argv[2], argv + 2);
		fprintf(stderr, "azkillat: exec %s: %s\n", argv[2], strerror(errno));
		_exit(127);
	}
	int st;
	if (delay >= 0) {
		struct timespec at;
		clock_gettime(CLOCK_MONOTONIC, &at);
		long long ns = at.tv_nsec + (delay - (now_us() - t0)) * 1000;
		if (ns < at.tv_nsec)
			ns = at.tv_nsec;
		at.tv_sec += ns / 1000000000;
		at.tv_nsec = ns % 1000000000;
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, NULL) == EINTR)
			;
		/* Still running (not yet reaped, so the pid cannot be reused)? */
		pid_t w = waitpid(pid, &st, WNOHANG);
		if (w == 0) {
			kill(pid, SIGKILL);
			long long t = now_us() - t0;
			waitpid(pid, &st, 0);
			/* It may have ended between the look and the kill. */
			if (WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL) {
				fprintf(stderr, "azkillat: killed after %lld us\n", t);
				return status_code(st);
			}
		}
		if (w < 0) {
			perror("azkillat: waitpid");
			return 70;
		}
	} else {
		while (waitpid(pid, &st, 0) < 0)
			if (errno != EINTR) {
				perror("azkillat: waitpid");
				return 70;
			}
	}
	fprintf(stderr, "azkillat: exited %d after %lld us\n", status_code(st), now_us() - t0);
	return status_code(st);
}
