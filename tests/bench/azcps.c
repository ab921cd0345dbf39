/* azcps — TCP connections per second, bounded, for the bench.
 *
 *   azcps serve ADDR PORT [--max-seconds N]
 *       accept every connection and close it at once (the server closes
 *       first, so TIME_WAIT stays on its side and the client's ports come
 *       back); ends after N seconds (default 600) whatever happens.
 *   azcps run ADDR PORT [--seconds S] [--procs P] [--timeout-ms T]
 *       P processes (default 2) each connect, wait for the server's FIN,
 *       close, and start over, for S seconds (default 2); prints one line
 *       "cps=<rate> connections=<n> errors=<e> seconds=<s>" and exits 0 when
 *       at least one connection completed.  Each connect and read is bounded
 *       by T ms (default 1000).
 *
 * Numeric IPv4/IPv6 addresses only.  Every connection is a full handshake
 * and teardown through conntrack and the rules of every hook on the way.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int parse_addr(const char *a, const char *port, struct sockaddr_storage *ss, socklen_t *len)
{
	char *end;
	long p = strtol(port, &end, 10);
	if (*end || p < 1 || p > 65535)
		return -1;
	memset(ss, 0, sizeof(*ss));
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, a, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)p);
		*len = sizeof(*s4);
		return 0;
	}
	if (inet_pton(AF_INET6, a, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)p);
		*len = sizeof(*s6);
		return 0;
	}
	return -1;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int serve(const struct sockaddr_storage *ss, socklen_t len, int max_seconds)
{
	alarm((unsigned)max_seconds);
	int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (const struct sockaddr *)ss, len) < 0 || listen(fd, 4096) < 0) {
		perror("azcps serve");
		return 1;
	}
	for (;;) {
		int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
		if (c >= 0)
			close(c);
		else if (errno != EINTR && errno != ECONNABORTED && errno != EMFILE && errno != ENFILE)
			return 1;
	}
}

/* One worker: connections completed and errors, written to wfd. */
static void worker(const struct sockaddr_storage *ss, socklen_t len, double until, int timeout_ms,
		   int wfd)
{
	long ok = 0, errs = 0;
	struct timeval tv = { .tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000 };
	char buf[64];
	while (now_s() < until) {
		int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			errs++;
			continue;
		}
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		if (connect(fd, (const struct sockaddr *)ss, len) < 0) {
			errs++;
			close(fd);
			continue;
		}
		ssize_t n;
		while ((n = read(fd, buf, sizeof(buf))) > 0)
			;
		if (n == 0)
			ok++;
		else
			errs++;
		close(fd);
	}
	long v[2] = { ok, errs };
	if (write(wfd, v, sizeof(v)) != (ssize_t)sizeof(v))
		_exit(1);
	_exit(0);
}

static int run(const struct sockaddr_storage *ss, socklen_t len, double seconds, int procs,
	       int timeout_ms)
{
	int p[2];
	if (pipe(p) < 0) {
		perror("azcps: pipe");
		return 1;
	}
	alarm((unsigned)(seconds + 10 + timeout_ms / 1000));	/* bounded whatever happens */
	double t0 = now_s(), until = t0 + seconds;
	for (int i = 0; i < procs; i++) {
		pid_t pid = fork();
		if (pid < 0) {
			perror("azcps: fork");
			return 1;
		}
		if (pid == 0) {
			close(p[0]);
			worker(ss, len, until, timeout_ms, p[1]);
		}
	}
	close(p[1]);
	long ok = 0, errs = 0, v[2];
	int got = 0;
	while (got < procs && read(p[0], v, sizeof(v)) == (ssize_t)sizeof(v)) {
		ok += v[0];
		errs += v[1];
		got++;
	}
	while (wait(NULL) > 0)
		;
	double el = now_s() - t0;
	printf("cps=%.0f connections=%ld errors=%ld seconds=%.3f\n", (double)ok / el, ok, errs, el);
	return ok > 0 && got == procs ? 0 : 1;
}

static void usage(void)
{
	fputs("usage: azcps serve ADDR PORT [--max-seconds N]\n"
	      "       azcps run ADDR PORT [--seconds S] [--procs P] [--timeout-ms T]\n",
	      stderr);
	exit(64);
}

int main(int argc, char **argv)
{
	struct sockaddr_storage ss;
	socklen_t len;
	double seconds = 2;
	int procs = 2, max_seconds = 600, timeout_ms = 1000;

	if (argc < 4 || parse_addr(argv[2], argv[3], &ss, &len) < 0)
		usage();
	for (int i = 4; i < argc; i++) {
		if (i + 1 >= argc)
			usage();
		if (!strcmp(argv[i], "--seconds"))
			seconds = atof(argv[++i]);
		else if (!strcmp(argv[i], "--procs"))
			procs = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--max-seconds"))
			max_seconds = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--timeout-ms"))
			timeout_ms = atoi(argv[++i]);
		else
			usage();
	}
	if (seconds <= 0 || seconds > 600 || procs < 1 || procs > 64 || max_seconds < 1 ||
	    timeout_ms < 1 || timeout_ms > 60000)
		usage();
	signal(SIGPIPE, SIG_IGN);
	if (!strcmp(argv[1], "serve"))
		return serve(&ss, len, max_seconds);
	if (!strcmp(argv[1], "run"))
		return run(&ss, len, seconds, procs, timeout_ms);
	usage();
}
