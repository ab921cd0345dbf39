#include "common/common.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

bool az_log_stderr = true;

static int err_vset(az_error *err, int code, const char *fmt, va_list ap)
{
	if (err) {
		err->code = code;
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	}
	return -1;
}

int az_err(az_error *err, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	err_vset(err, code, fmt, ap);
	va_end(ap);
	return -1;
}

int az_err_errno(az_error *err, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;
	if (!err)
		return -1;
	va_start(ap, fmt);
	err_vset(err, saved, fmt, ap);
	va_end(ap);
	size_t l = strlen(err->msg);
	snprintf(err->msg + l, sizeof(err->msg) - l, ": %s", strerror(saved));
	errno = saved;
	return -1;
}

int az_err_prefix(az_error *err, const char *fmt, ...)
{
	char prefix[AZ_ERR_MSG], old[AZ_ERR_MSG];
	va_list ap;
	if (!err)
		return -1;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	if (snprintf(err->msg, sizeof(err->msg), "%s: %s", prefix, old) >= (int)sizeof(err->msg))
		strcpy(err->msg + sizeof(err->msg) - 4, "...");
	return -1;
}

void az_freep(void *p)
{
	free(*(void **)p);
}

void az_closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}

void az_fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}

void az_buf_init(struct az_buf *b)
{
	b->data = NULL;
	b->len = b->cap = 0;
}

void az_buf_free(struct az_buf *b)
{
	free(b->data);
	az_buf_init(b);
}

void az_buf_freep(struct az_buf *b)
{
	az_buf_free(b);
}

static int buf_reserve(struct az_buf *b, size_t extra)
{
	if (b->len + extra + 1 <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < b->len + extra + 1)
		cap *= 2;
	char *n = realloc(b->data, cap);
	if (!n)
		return -1;
	b->data = n;
	b->cap = cap;
	return 0;
}

int az_buf_vprintf(struct az_buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0 || buf_reserve(b, (size_t)n) < 0)
		return -1;
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int az_buf_printf(struct az_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = az_buf_vprintf(b, fmt, ap);
	va_end(ap);
	return r;
}

int az_buf_append(struct az_buf *b, const char *s, size_t n)
{
	if (buf_reserve(b, n) < 0)
		return -1;
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

char *az_buf_steal(struct az_buf *b)
{
	char *d = b->data ? b->data : strdup("");
	az_buf_init(b);
	return d;
}

int az_addr_parse(const char *s, struct az_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, s, &out->v4) == 1) {
		out->family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, &out->v6) == 1) {
		out->family = AF_INET6;
		return 0;
	}
	return -1;
}

static unsigned addr_bits(const struct az_addr *a)
{
	return a->family == AF_INET ? 32 : 128;
}

void az_prefix_mask(struct az_prefix *p)
{
	unsigned bits = addr_bits(&p->addr), bytes = bits / 8;
	for (unsigned i = 0; i < bytes; i++) {
		unsigned lo = i * 8;
		if (lo >= p->len)
			p->addr.b[i] = 0;
		else if (lo + 8 > p->len)
			p->addr.b[i] &= (uint8_t)(0xff << (8 - (p->len - lo)));
	}
}

int az_prefix_parse(const char *s, struct az_prefix *out, az_error *err)
{
	char tmp[AZ_PREFIXSTRLEN + 8];
	if (strlen(s) >= sizeof(tmp))
		return az_err(err, EINVAL, "\"%s\" is not an address or prefix", s);
	strcpy(tmp, s);
	char *slash = strchr(tmp, '/');
	if (slash)
		*slash = '\0';
	if (az_addr_parse(tmp, &out->addr) < 0)
		return az_err(err, EINVAL, "%s is not an IPv4 or IPv6 address", tmp);
	unsigned bits = addr_bits(&out->addr);
	out->len = (uint8_t)bits;
	if (slash) {
		char *end;
		const char *l = slash + 1;
		if (!*l || *l == '-' || *l == '+')
			return az_err(err, EINVAL, "\"%s\": prefix length \"%s\" is not a number", s, l);
		errno = 0;
		unsigned long v = strtoul(l, &end, 10);
		if (*end || errno)
			return az_err(err, EINVAL, "\"%s\": prefix length \"%s\" is not a number", s, l);
		if (v > bits)
			return az_err(err, EINVAL, "\"%s\": prefix length %lu is longer than %u", s, v, bits);
		out->len = (uint8_t)v;
		struct az_prefix m = *out;
		az_prefix_mask(&m);
		if (!az_addr_eq(&m.addr, &out->addr)) {
			char buf[AZ_ADDRSTRLEN];
			return az_err(err, EINVAL, "\"%s\" has host bits set (did you mean %s/%lu?)", s,
				      az_addr_str(&m.addr, buf), v);
		}
	}
	return 0;
}

const char *az_addr_str(const struct az_addr *a, char buf[AZ_ADDRSTRLEN])
{
	if (!inet_ntop(a->family, a->b, buf, AZ_ADDRSTRLEN))
		strcpy(buf, "?");
	return buf;
}

const char *az_prefix_str(const struct az_prefix *p, char buf[AZ_PREFIXSTRLEN])
{
	char a[AZ_ADDRSTRLEN];
	az_addr_str(&p->addr, a);
	if (p->len == addr_bits(&p->addr))
		snprintf(buf, AZ_PREFIXSTRLEN, "%s", a);
	else
		snprintf(buf, AZ_PREFIXSTRLEN, "%s/%u", a, p->len);
	return buf;
}

bool az_addr_eq(const struct az_addr *a, const struct az_addr *b)
{
	if (a->family != b->family)
		return false;
	return memcmp(a->b, b->b, a->family == AF_INET ? 4 : 16) == 0;
}

bool az_prefix_contains(const struct az_prefix *outer, const struct az_prefix *inner)
{
	if (outer->addr.family != inner->addr.family || inner->len < outer->len)
		return false;
	struct az_prefix m = *inner;
	m.len = outer->len;
	az_prefix_mask(&m);
	struct az_prefix o = *outer;
	az_prefix_mask(&o);
	return az_addr_eq(&m.addr, &o.addr);
}

int az_read_fd(int fd, size_t max, char **out, size_t *len, az_error *err)
{
	struct az_buf b;
	char chunk[16384];
	az_buf_init(&b);
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			az_buf_free(&b);
			return az_err_errno(err, "read");
		}
		if (n == 0)
			break;
		if (b.len + (size_t)n > max) {
			az_buf_free(&b);
			return az_err(err, EFBIG, "input larger than %zu bytes", max);
		}
		if (az_buf_append(&b, chunk, (size_t)n) < 0) {
			az_buf_free(&b);
			return az_err(err, ENOMEM, "out of memory");
		}
	}
	*len = b.len;
	*out = az_buf_steal(&b);
	return 0;
}

int az_read_file(const char *path, size_t max, char **out, size_t *len, az_error *err)
{
	/* O_NONBLOCK: a FIFO in a bundle must not hang the runtime's start
	 * on open; only a regular file is read. */
	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	struct stat st;
	if (fd < 0)
		return az_err_errno(err, "open %s", path);
	if (fstat(fd, &st) < 0)
		return az_err_errno(err, "stat %s", path);
	if (!S_ISREG(st.st_mode))
		return az_err(err, EINVAL, "%s is not a regular file", path);
	if (az_read_fd(fd, max, out, len, err) < 0)
		return az_err_prefix(err, "%s", path);
	return 0;
}

static int write_file(const char *path, const char *data, size_t len, int mode, bool sync,
		      az_error *err)
{
	char tmp[PATH_MAX];
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) >= (int)sizeof(tmp))
		return az_err(err, ENAMETOOLONG, "path too long: %s", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return az_err_errno(err, "create %s", tmp);
	size_t off = 0;
	while (off < len) {
		ssize_t n = write(fd, data + off, len - off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			az_err_errno(err, "write %s", tmp);
			goto fail;
		}
		off += (size_t)n;
	}
	if (sync && fsync(fd) < 0) {
		az_err_errno(err, "fsync %s", tmp);
		goto fail;
	}
	if (close(fd) < 0) {
		fd = -1;
		az_err_errno(err, "close %s", tmp);
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		az_err_errno(err, "rename %s", path);
		goto fail;
	}
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return -1;
}

int az_write_file_atomic(const char *path, const char *data, size_t len, int mode, az_error *err)
{
	return write_file(path, data, len, mode, true, err);
}

int az_write_file_replace(const char *path, const char *data, size_t len, int mode, az_error *err)
{
	return write_file(path, data, len, mode, false, err);
}

int az_mkdir_p(const char *path, int mode, az_error *err)
{
	char tmp[PATH_MAX];
	if (snprintf(tmp, sizeof(tmp), "%s", path) >= (int)sizeof(tmp))
		return az_err(err, ENAMETOOLONG, "path too long: %s", path);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, (mode_t)mode) < 0 && errno != EEXIST)
			return az_err_errno(err, "mkdir %s", tmp);
		*p = '/';
	}
	if (mkdir(tmp, (mode_t)mode) < 0 && errno != EEXIST)
		return az_err_errno(err, "mkdir %s", tmp);
	return 0;
}

bool az_id_valid(const char *id)
{
	size_t n = strlen(id);
	if (n == 0 || n > 128)
		return false;
	if (!((id[0] >= 'a' && id[0] <= 'z') || (id[0] >= 'A' && id[0] <= 'Z') ||
	      (id[0] >= '0' && id[0] <= '9')))
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = id[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			  c == '_' || c == '.' || c == '-';
		if (!ok)
			return false;
	}
	return strstr(id, "..") == NULL;
}

const char *az_short_id(const char *id, char buf[13])
{
	snprintf(buf, 13, "%s", id ? id : "-");
	return buf;
}

bool az_stat_matches(const char *path, const struct stat *st)
{
	struct stat p;
	return stat(path, &p) == 0 && p.st_dev == st->st_dev && p.st_ino == st->st_ino;
}

bool az_same_file(const char *a, const char *b)
{
	struct stat sa;
	return stat(a, &sa) == 0 && az_stat_matches(b, &sa);
}

static struct az_buf *log_capture;

void az_log_capture(struct az_buf *b)
{
	log_capture = b;
}

/* A line for the runtime's log: stderr, or the applier's capture. */
__attribute__((format(printf, 1, 2))) static void out_line(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (log_capture)
		az_buf_vprintf(log_capture, fmt, ap);
	else
		vfprintf(stderr, fmt, ap);
	va_end(ap);
}

void az_log(int priority, const char *id, const char *fmt, ...)
{
	char msg[2048], sid[13];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	openlog("alcatraz", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	if (id)
		syslog(priority, "%s: %s", az_short_id(id, sid), msg);
	else
		syslog(priority, "%s", msg);
	if (az_log_stderr && priority <= LOG_WARNING) {
		if (id)
			out_line("alcatraz: %s: %s\n", az_short_id(id, sid), msg);
		else
			out_line("alcatraz: %s\n", msg);
	}
}

int az_netns_enter(int netns_fd, int *saved, az_error *err)
{
	*saved = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (*saved < 0)
		return az_err_errno(err, "open /proc/thread-self/ns/net");
	if (setns(netns_fd, CLONE_NEWNET) < 0) {
		az_err_errno(err, "setns into the container's network namespace");
		close(*saved);
		*saved = -1;
		return -1;
	}
	return 0;
}

void az_netns_leave(int saved)
{
	if (setns(saved, CLONE_NEWNET) < 0) {
		static const char msg[] = "alcatraz: cannot return to the original network namespace; "
					  "stopping rather than acting on the wrong one\n";
		ssize_t w = write(STDERR_FILENO, msg, sizeof(msg) - 1);
		(void)w;
		abort();
	}
	close(saved);
}

static bool timing_on;
static struct timespec timing_last;

void az_timing_init(void)
{
	az_timing_set(getenv("ALCATRAZ_TIMING") != NULL);
}

void az_timing_set(bool on)
{
	timing_on = on;
	timing_last.tv_sec = 0;
	timing_last.tv_nsec = 0;
}

void az_phase(const char *name)
{
	struct timespec now;
	if (!timing_on)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (timing_last.tv_sec)
		out_line("alcatraz-hook: %-10s %7.3f ms\n", name,
			 (double)(now.tv_sec - timing_last.tv_sec) * 1e3 +
				 (double)(now.tv_nsec - timing_last.tv_nsec) / 1e6);
	timing_last = now;
}
