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
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

int main(int argc, char **argv)
{
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
