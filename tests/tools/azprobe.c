/* azprobe — a bounded probe and server for the alcatraz test harness.
 *
 *   azprobe tcp ADDR PORT [--timeout MS] [--send TEXT] [--read] [--src ADDR]
 *   azprobe udp ADDR PORT [--timeout MS] [--send TEXT] [--src ADDR]
 *   azprobe serve tcp|udp ADDR PORT --log FILE [--max-seconds N]
 *
 * A probe prints one line, "<verdict> <ms>[ <detail>]", and exits with the
 * verdict's code, so a shell test can branch on either:
 *
 *   ok 3 [reply=hello]       0   connected (TCP) / echo came back (UDP)
 *   refused 2 ECONNREFUSED   1   TCP reset, ICMP port unreachable
 *   unreachable 1 EACCES     2   ICMP unreachable/prohibited, or a local drop
 *   timeout 1000             3   nothing came back in time
 *   noreply 5                4   TCP connected but --read/--send got no reply
 *   error 0 EINVAL           5   anything else
 *
 * ms is the time from the connect (TCP) or send (UDP) to the verdict.  The
 * errno name is printed for every failure: a test that wants "refused fast"
 * can tell a reset (ECONNREFUSED) from a local drop (EPERM).
 *
 * The server binds one address, so a test knows which address was reached,
 * and appends one line per TCP connection or UDP datagram to its log:
 *   peer=ADDR port=P local=ADDR lport=P [orig=ADDR oport=P]
 * orig is the conntrack original destination (SO_ORIGINAL_DST), present when
 * the kernel knows one: a server behind a DNAT sees where the client aimed.
 * The log file is created only once the socket is bound, so its existence
 * means "ready".  The server ends after --max-seconds (default 600) whatever
 * happens.
 *
 * No name resolution, no NSS: addresses are numeric (IPv6 may carry %ifname
 * and [brackets]), so a static build runs in a bare busybox rootfs.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* From <linux/netfilter_ipv4.h> and <linux/netfilter_ipv6/ip6_tables.h>,
 * whose headers do not mix well with the libc ones. */
#define AZ_SO_ORIGINAL_DST 80
#define AZ_IP6T_SO_ORIGINAL_DST 80

enum {
	EX_OK = 0,
	EX_REFUSED = 1,
	EX_UNREACH = 2,
	EX_TIMEOUT = 3,
	EX_NOREPLY = 4,
	EX_ERROR = 5,
	EX_USAGE = 64,
};

struct addr {
	struct sockaddr_storage ss;
	socklen_t len;
};

struct opts {
	int timeout_ms;
	const char *send;
	bool read;
	const char *src;
	const char *log;
	int max_seconds;
};

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void usage(void)
{
	fputs("usage: azprobe tcp ADDR PORT [--timeout MS] [--send TEXT] [--read] [--src ADDR]\n"
	      "       azprobe udp ADDR PORT [--timeout MS] [--send TEXT] [--src ADDR]\n"
	      "       azprobe serve tcp|udp ADDR PORT --log FILE [--max-seconds N]\n",
	      stderr);
	exit(EX_USAGE);
}

static long parse_num(const char *s, long lo, long hi, const char *what)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi) {
		fprintf(stderr, "azprobe: %s \"%s\" is not a number in %ld..%ld\n", what, s, lo,
			hi);
		exit(EX_USAGE);
	}
	return v;
}

/* "1.2.3.4", "fd00::1", "[fd00::1]", "fe80::1%eth0" → sockaddr. */
static int parse_addr(const char *text, unsigned port, struct addr *out)
{
	char buf[INET6_ADDRSTRLEN + IF_NAMESIZE + 4];
	if (strlen(text) >= sizeof(buf))
		return -1;
	strcpy(buf, text);
	char *host = buf;
	size_t n = strlen(host);
	if (host[0] == '[' && n > 2 && host[n - 1] == ']') {
		host[n - 1] = '\0';
		host++;
	}
	memset(out, 0, sizeof(*out));

	struct sockaddr_in *sin = (struct sockaddr_in *)&out->ss;
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		out->len = sizeof(*sin);
		return 0;
	}

	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&out->ss;
	char *scope = strchr(host, '%');
	if (scope) {
		*scope++ = '\0';
		unsigned idx = if_nametoindex(scope);
		if (!idx) {
			char *end;
			unsigned long v = strtoul(scope, &end, 10);
			if (*scope == '\0' || *end || v == 0 || v > 0xffffffffUL)
				return -1;
			idx = (unsigned)v;
		}
		sin6->sin6_scope_id = idx;
	}
	if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
		return -1;
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(port);
	out->len = sizeof(*sin6);
	return 0;
}

static void need_addr(const char *text, unsigned port, struct addr *out)
{
	if (parse_addr(text, port, out) < 0) {
		fprintf(stderr, "azprobe: \"%s\" is not a numeric IPv4 or IPv6 address\n", text);
		exit(EX_USAGE);
	}
}

static void format_addr(const struct sockaddr_storage *ss, char *buf, size_t size,
			unsigned *port)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
		inet_ntop(AF_INET, &sin->sin_addr, buf, size);
		*port = ntohs(sin->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
		inet_ntop(AF_INET6, &sin6->sin6_addr, buf, size);
		*port = ntohs(sin6->sin6_port);
		char ifname[IF_NAMESIZE];
		if (sin6->sin6_scope_id && if_indextoname(sin6->sin6_scope_id, ifname)) {
			size_t n = strlen(buf);
			snprintf(buf + n, size - n, "%%%s", ifname);
		}
	} else {
		snprintf(buf, size, "?");
		*port = 0;
	}
}

static const char *errno_name(int e)
{
	switch (e) {
	case ECONNREFUSED: return "ECONNREFUSED";
	case ECONNRESET: return "ECONNRESET";
	case EHOSTUNREACH: return "EHOSTUNREACH";
	case ENETUNREACH: return "ENETUNREACH";
	case EHOSTDOWN: return "EHOSTDOWN";
	case ENONET: return "ENONET";
	case EACCES: return "EACCES";
	case EPERM: return "EPERM";
	case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
	case EPROTO: return "EPROTO";
	case EMSGSIZE: return "EMSGSIZE";
	case ETIMEDOUT: return "ETIMEDOUT";
	case EINVAL: return "EINVAL";
	default: return strerror(e);
	}
}

/* Print the verdict line for a failed probe and return its exit code. */
static int report_errno(int e, long long ms)
{
	const char *verdict;
	int code;
	switch (e) {
	case ECONNREFUSED:
	case ECONNRESET:
		verdict = "refused";
		code = EX_REFUSED;
		break;
	case EHOSTUNREACH:
	case ENETUNREACH:
	case EHOSTDOWN:
	case ENONET:
	case EACCES:
	case EPERM:
	case EPROTO:
		verdict = "unreachable";
		code = EX_UNREACH;
		break;
	case ETIMEDOUT:
		verdict = "timeout";
		code = EX_TIMEOUT;
		break;
	default:
		verdict = "error";
		code = EX_ERROR;
		break;
	}
	printf("%s %lld %s\n", verdict, ms, errno_name(e));
	return code;
}

static int remaining(long long deadline)
{
	long long left = deadline - now_ms();
	return left > 0 ? (int)left : 0;
}

static void set_freebind(int fd)
{
	/* IP_FREEBIND at SOL_IP covers IPv6 sockets too: lets a test bind an
	 * address it is about to add, or forge a source it does not own. */
	int one = 1;
	(void)setsockopt(fd, SOL_IP, IP_FREEBIND, &one, sizeof(one));
}

static int open_socket(const struct addr *dst, int type, const char *src)
{
	int fd = socket(dst->ss.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		printf("error 0 socket:%s\n", errno_name(errno));
		exit(EX_ERROR);
	}
	if (src) {
		struct addr sa;
		need_addr(src, 0, &sa);
		if (sa.ss.ss_family != dst->ss.ss_family) {
			fprintf(stderr, "azprobe: --src %s and the destination differ in family\n",
				src);
			exit(EX_USAGE);
		}
		set_freebind(fd);
		if (bind(fd, (struct sockaddr *)&sa.ss, sa.len) < 0) {
			printf("error 0 bind:%s\n", errno_name(errno));
			exit(EX_ERROR);
		}
	}
	return fd;
}

/* Printable, single-token rendering of the first line of a reply. */
static void print_reply(const char *buf, size_t n)
{
	fputs(" reply=", stdout);
	for (size_t i = 0; i < n && buf[i] != '\n'; i++) {
		unsigned char c = (unsigned char)buf[i];
		if (c > ' ' && c < 0x7f && c != '\\')
			putchar(c);
		else
			printf("\\x%02x", c);
	}
	putchar('\n');
}

static int probe_tcp(const struct addr *dst, const struct opts *o)
{
	int fd = open_socket(dst, SOCK_STREAM, o->src);
	long long t0 = now_ms();
	long long deadline = t0 + o->timeout_ms;

	if (connect(fd, (struct sockaddr *)&dst->ss, dst->len) < 0) {
		if (errno != EINPROGRESS)
			return report_errno(errno, now_ms() - t0);
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		int r;
		do
			r = poll(&p, 1, remaining(deadline));
		while (r < 0 && errno == EINTR);
		if (r == 0) {
			printf("timeout %lld\n", now_ms() - t0);
			return EX_TIMEOUT;
		}
		int err = 0;
		socklen_t len = sizeof(err);
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		if (err)
			return report_errno(err, now_ms() - t0);
	}
	long long connect_ms = now_ms() - t0;

	if (!o->send && !o->read) {
		printf("ok %lld\n", connect_ms);
		close(fd);
		return EX_OK;
	}

	if (o->send) {
		const char *p = o->send;
		size_t left = strlen(p);
		while (left > 0) {
			ssize_t w = send(fd, p, left, MSG_NOSIGNAL);
			if (w > 0) {
				p += w;
				left -= (size_t)w;
				continue;
			}
			if (w < 0 && errno != EAGAIN && errno != EINTR)
				return report_errno(errno, now_ms() - t0);
			struct pollfd pw = { .fd = fd, .events = POLLOUT };
			if (poll(&pw, 1, remaining(deadline)) == 0) {
				printf("timeout %lld send\n", now_ms() - t0);
				return EX_TIMEOUT;
			}
		}
	}

	/* Read until the peer closes, a line arrives, or time is up. */
	char buf[4096];
	size_t got = 0;
	for (;;) {
		struct pollfd pr = { .fd = fd, .events = POLLIN };
		int r = poll(&pr, 1, remaining(deadline));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		ssize_t n = recv(fd, buf + got, sizeof(buf) - got, 0);
		if (n <= 0)
			break;
		got += (size_t)n;
		if (got == sizeof(buf) || memchr(buf, '\n', got))
			break;
	}
	close(fd);
	if (got == 0) {
		printf("noreply %lld\n", now_ms() - t0);
		return EX_NOREPLY;
	}
	printf("ok %lld", connect_ms);
	print_reply(buf, got);
	return EX_OK;
}

static int probe_udp(const struct addr *dst, const struct opts *o)
{
	int fd = open_socket(dst, SOCK_DGRAM, o->src);
	long long t0 = now_ms();
	long long deadline = t0 + o->timeout_ms;
	const char *payload = o->send ? o->send : "azprobe";

	/* Connected, so ICMP errors come back to us as errno. */
	if (connect(fd, (struct sockaddr *)&dst->ss, dst->len) < 0)
		return report_errno(errno, now_ms() - t0);
	if (send(fd, payload, strlen(payload), 0) < 0)
		return report_errno(errno, now_ms() - t0);

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int r = poll(&p, 1, remaining(deadline));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			printf("timeout %lld\n", now_ms() - t0);
			return EX_TIMEOUT;
		}
		char buf[2048];
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			return report_errno(errno, now_ms() - t0);
		}
		printf("ok %lld", now_ms() - t0);
		print_reply(buf, (size_t)n);
		close(fd);
		return EX_OK;
	}
}

static void log_peer(int logfd, const struct sockaddr_storage *peer,
		     const struct sockaddr_storage *local, const struct sockaddr_storage *orig)
{
	char pa[INET6_ADDRSTRLEN + IF_NAMESIZE + 2], la[sizeof(pa)], oa[sizeof(pa)];
	unsigned pp, lp, op;
	char line[256];
	format_addr(peer, pa, sizeof(pa), &pp);
	format_addr(local, la, sizeof(la), &lp);
	int n = snprintf(line, sizeof(line), "peer=%s port=%u local=%s lport=%u", pa, pp, la, lp);
	if (orig) {
		format_addr(orig, oa, sizeof(oa), &op);
		n += snprintf(line + n, sizeof(line) - (size_t)n, " orig=%s oport=%u", oa, op);
	}
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	/* One write per line on an O_APPEND file: lines never interleave. */
	if (write(logfd, line, (size_t)n) < 0)
		perror("azprobe: log");
}

static bool original_dst(int fd, int family, struct sockaddr_storage *out)
{
	socklen_t len = sizeof(*out);
	memset(out, 0, sizeof(*out));
	if (family == AF_INET)
		return getsockopt(fd, SOL_IP, AZ_SO_ORIGINAL_DST, out, &len) == 0;
	return getsockopt(fd, SOL_IPV6, AZ_IP6T_SO_ORIGINAL_DST, out, &len) == 0;
}

static void serve_tcp_client(int cfd, int logfd, int family)
{
	struct sockaddr_storage peer, local, orig;
	socklen_t len = sizeof(peer);
	memset(&peer, 0, sizeof(peer));
	memset(&local, 0, sizeof(local));
	getpeername(cfd, (struct sockaddr *)&peer, &len);
	len = sizeof(local);
	getsockname(cfd, (struct sockaddr *)&local, &len);
	log_peer(logfd, &peer, &local, original_dst(cfd, family, &orig) ? &orig : NULL);

	(void)send(cfd, "hello\n", 6, MSG_NOSIGNAL | MSG_DONTWAIT);
	shutdown(cfd, SHUT_WR);
	/* Drain briefly so closing with unread data does not turn into a reset. */
	long long deadline = now_ms() + 300;
	char buf[512];
	for (;;) {
		struct pollfd p = { .fd = cfd, .events = POLLIN };
		if (poll(&p, 1, remaining(deadline)) <= 0)
			break;
		if (recv(cfd, buf, sizeof(buf), MSG_DONTWAIT) <= 0)
			break;
	}
	close(cfd);
}

static void on_alarm(int sig)
{
	(void)sig;
	_exit(0);
}

static int serve(const char *proto, const struct addr *addr, const struct opts *o)
{
	bool tcp = strcmp(proto, "tcp") == 0;
	if (!tcp && strcmp(proto, "udp") != 0)
		usage();
	if (!o->log) {
		fputs("azprobe: serve needs --log FILE\n", stderr);
		return EX_USAGE;
	}
	signal(SIGPIPE, SIG_IGN);
	signal(SIGALRM, on_alarm);
	alarm((unsigned)o->max_seconds);

	int family = addr->ss.ss_family;
	int fd = socket(family, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		perror("azprobe: socket");
		return EX_ERROR;
	}
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	/* A bridge with no port yet has no carrier; bind its address anyway. */
	set_freebind(fd);
	if (bind(fd, (const struct sockaddr *)&addr->ss, addr->len) < 0) {
		perror("azprobe: bind");
		return EX_ERROR;
	}
	if (tcp && listen(fd, 64) < 0) {
		perror("azprobe: listen");
		return EX_ERROR;
	}
	int logfd = open(o->log, O_WRONLY | O_CREAT | O_APPEND | O_TRUNC | O_CLOEXEC, 0644);
	if (logfd < 0) {
		perror("azprobe: open log");
		return EX_ERROR;
	}

	struct sockaddr_storage local;
	socklen_t llen = sizeof(local);
	getsockname(fd, (struct sockaddr *)&local, &llen);

	for (;;) {
		if (tcp) {
			int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
			if (cfd < 0) {
				if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE)
					continue;
				perror("azprobe: accept");
				return EX_ERROR;
			}
			serve_tcp_client(cfd, logfd, family);
		} else {
			char buf[2048];
			struct sockaddr_storage peer;
			socklen_t plen = sizeof(peer);
			ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&peer,
					     &plen);
			if (n < 0)
				continue; /* EINTR, or an ICMP error from an earlier echo */
			log_peer(logfd, &peer, &local, NULL);
			(void)sendto(fd, buf, (size_t)n, MSG_DONTWAIT, (struct sockaddr *)&peer,
				     plen);
		}
	}
}

int main(int argc, char **argv)
{
	if (argc < 2)
		usage();
	const char *mode = argv[1];
	bool server = strcmp(mode, "serve") == 0;
	int first_opt = server ? 5 : 4;
	if (argc < first_opt)
		usage();

	struct opts o = { .timeout_ms = 3000, .max_seconds = 600 };
	for (int i = first_opt; i < argc; i++) {
		const char *a = argv[i];
		bool has_val = i + 1 < argc;
		if (strcmp(a, "--timeout") == 0 && has_val)
			o.timeout_ms = (int)parse_num(argv[++i], 1, 600000, "--timeout");
		else if (strcmp(a, "--send") == 0 && has_val)
			o.send = argv[++i];
		else if (strcmp(a, "--read") == 0)
			o.read = true;
		else if (strcmp(a, "--src") == 0 && has_val)
			o.src = argv[++i];
		else if (strcmp(a, "--log") == 0 && has_val)
			o.log = argv[++i];
		else if (strcmp(a, "--max-seconds") == 0 && has_val)
			o.max_seconds = (int)parse_num(argv[++i], 1, 86400, "--max-seconds");
		else
			usage();
	}

	const char *host = server ? argv[3] : argv[2];
	unsigned port = (unsigned)parse_num(server ? argv[4] : argv[3], server ? 0 : 1, 65535,
					    "port");
	struct addr addr;
	need_addr(host, port, &addr);

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (server)
		return serve(argv[2], &addr, &o);
	if (strcmp(mode, "tcp") == 0)
		return probe_tcp(&addr, &o);
	if (strcmp(mode, "udp") == 0)
		return probe_udp(&addr, &o);
	usage();
}
