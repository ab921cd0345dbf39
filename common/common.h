/* common.h — the few things every module shares: the error object, cleanup
 * attributes, a growable text buffer, and addresses.
 *
 * Errors travel up as an out-parameter (crun's libcrun_error_t idea): a
 * function that fails fills *err with errno and a message naming the thing and
 * the value, and returns a negative number.  Callers add context with
 * az_err_prefix().
 */
#ifndef ALCATRAZ_COMMON_H
#define ALCATRAZ_COMMON_H

#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

#define AZ_ERR_MSG 1024

/* ALCATRAZ_TIMING=1: az_phase() prints the time since the previous mark on
 * stderr, one line per phase ("alcatraz-hook: NAME  1.234 ms"), for
 * profiling (make bench reads them).  Off unless az_timing_init saw it. */
void az_timing_init(void);
void az_timing_set(bool on);
void az_phase(const char *name);

typedef struct az_error {
	int code;		/* errno value, or 0 when not a system error */
	char msg[AZ_ERR_MSG];	/* human-readable, already has context */
} az_error;

/* Set *err and return -1.  code may be 0. */
int az_err(az_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Like az_err with code = errno and ": strerror" appended. */
int az_err_errno(az_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Prepend "context: " to the message already in *err; return -1. */
int az_err_prefix(az_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define _cleanup_(f) __attribute__((cleanup(f)))
void az_freep(void *p);
void az_closep(int *fd);
void az_fclosep(FILE **f);
#define cleanup_free _cleanup_(az_freep)
#define cleanup_close _cleanup_(az_closep)
#define cleanup_fclose _cleanup_(az_fclosep)

/* Growable NUL-terminated text buffer. */
struct az_buf {
	char *data;
	size_t len;
	size_t cap;
};
void az_buf_init(struct az_buf *b);
void az_buf_free(struct az_buf *b);
void az_buf_freep(struct az_buf *b);
#define cleanup_buf _cleanup_(az_buf_freep)
int az_buf_printf(struct az_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int az_buf_vprintf(struct az_buf *b, const char *fmt, va_list ap);
int az_buf_append(struct az_buf *b, const char *s, size_t n);
/* Return the buffer (never NULL: "" when empty) and reset b. */
char *az_buf_steal(struct az_buf *b);

/* An IPv4 or IPv6 address. family is AF_INET or AF_INET6. */
struct az_addr {
	sa_family_t family;
	union {
		struct in_addr v4;
		struct in6_addr v6;
		uint8_t b[16];
	};
};

/* An address with a prefix length; a host is 32 or 128. */
struct az_prefix {
	struct az_addr addr;
	uint8_t len;
};

#define AZ_ADDRSTRLEN 46	/* INET6_ADDRSTRLEN */
#define AZ_PREFIXSTRLEN 50

/* Parse a bare address (no brackets, no prefix).  0 or -1. */
int az_addr_parse(const char *s, struct az_addr *out);
/* Parse "ADDR" or "ADDR/LEN"; host bits must be zero.  0, or -1 with *err. */
int az_prefix_parse(const char *s, struct az_prefix *out, az_error *err);
const char *az_addr_str(const struct az_addr *a, char buf[AZ_ADDRSTRLEN]);
/* "ADDR/LEN", or just "ADDR" for a host prefix. */
const char *az_prefix_str(const struct az_prefix *p, char buf[AZ_PREFIXSTRLEN]);
bool az_addr_eq(const struct az_addr *a, const struct az_addr *b);
/* Does prefix outer contain prefix inner (same family, len >= and same bits)? */
bool az_prefix_contains(const struct az_prefix *outer, const struct az_prefix *inner);
/* Zero the host bits of p. */
void az_prefix_mask(struct az_prefix *p);

/* Read a whole file (at most max bytes; more is an error).  Returns a
 * NUL-terminated buffer in *out and its length in *len. */
int az_read_file(const char *path, size_t max, char **out, size_t *len, az_error *err);
/* Read a whole fd to EOF (at most max bytes). */
int az_read_fd(int fd, size_t max, char **out, size_t *len, az_error *err);
/* Write a file atomically: temp file in the same directory, fsync, rename. */
int az_write_file_atomic(const char *path, const char *data, size_t len, int mode, az_error *err);
/* The same without fsync: for records of kernel state, which a reboot or a
 * power loss erases as well; a process crash never loses a written page. */
int az_write_file_replace(const char *path, const char *data, size_t len, int mode, az_error *err);
/* Move the calling thread into the network namespace netns_fd, saving the
 * one it was in (*saved, an fd) for az_netns_leave.  Sockets opened in
 * between stay in netns_fd.  Cheaper than forking a child into it (~1 ms
 * of a hook's run here); for code that neither blocks nor starts threads. */
int az_netns_enter(int netns_fd, int *saved, az_error *err);
/* Back to the saved netns.  If that fails the thread would act on the wrong
 * namespace: the process aborts rather than go on. */
void az_netns_leave(int saved);
/* mkdir -p with mode. */
int az_mkdir_p(const char *path, int mode, az_error *err);

/* Container ids: [A-Za-z0-9][A-Za-z0-9_.-]{0,127}, no "..": safe as a file
 * name and inside an nft comment. */
bool az_id_valid(const char *id);
/* The first 12 characters, for logs. */
const char *az_short_id(const char *id, char buf[13]);

/* Log one line to syslog (LOG_DAEMON, ident "alcatraz") and to stderr. */
void az_log(int priority, const char *id, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Whether path names the file st describes (same device and inode). */
struct stat;
bool az_stat_matches(const char *path, const struct stat *st);
/* Whether paths a and b name the same file. */
bool az_same_file(const char *a, const char *b);

/* Quiet mode: syslog only (used by the CLI's --quiet and by tests). */
extern bool az_log_stderr;
/* When set, what az_log would write to stderr, and az_phase's lines, are
 * appended to this buffer instead (the applier sends them to the hook that
 * asked).  NULL: stderr. */
void az_log_capture(struct az_buf *b);

#endif
