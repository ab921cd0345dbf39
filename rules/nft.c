/* Effects: run nft scripts with libnftables, in this netns or another one.
 *
 * A netlink socket stays bound to the netns it was opened in and setns()
 * changes only the calling thread, so work in another netns happens in a
 * forked child that enters it first and opens its own context there.
 */
#include "rules/rules.h"

#include <errno.h>
#include <fcntl.h>
#include <nftables/libnftables.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CHILD_TIMEOUT_MS 10000
#define MAX_OUTPUT (64u << 20)

/* Run in the current netns.  On success *out (if wanted) gets the output. */
static int run_here(const char *script, bool json, bool dry, char **out, az_error *err)
{
	struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
	if (!ctx)
		return az_err(err, ENOMEM, "nft: cannot create a libnftables context");
	nft_ctx_buffer_output(ctx);
	nft_ctx_buffer_error(ctx);
	if (json)
		nft_ctx_output_set_flags(ctx, NFT_CTX_OUTPUT_JSON);
	if (dry)
		nft_ctx_set_dry_run(ctx, true);
	int r = nft_run_cmd_from_buffer(ctx, script);
	if (r != 0) {
		const char *e = nft_ctx_get_error_buffer(ctx);
		/* keep the first error line: the rest is the caret drawing */
		char line[512];
		snprintf(line, sizeof(line), "%s", e && *e ? e : "unknown error");
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		az_err(err, EIO, "nft: %s", line);
	} else if (out) {
		const char *o = nft_ctx_get_output_buffer(ctx);
		*out = strdup(o ? o : "");
	}
	nft_ctx_free(ctx);
	return r == 0 ? 0 : -1;
}

static int write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Child protocol on the pipe: one byte status ('0' ok, '1' error), then the
 * error message or the output, to EOF. */
static int run_in(int netns_fd, const char *script, bool json, bool dry, char **out, az_error *err)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return az_err_errno(err, "pipe");
	pid_t pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return az_err_errno(err, "fork");
	}
	if (pid == 0) {
		close(p[0]);
		az_error e = { 0 };
		char *o = NULL;
		int r;
		if (setns(netns_fd, CLONE_NEWNET) < 0)
			r = az_err_errno(&e, "setns into the container's network namespace");
		else
			r = run_here(script, json, dry, out ? &o : NULL, &e);
		char st = r == 0 ? '0' : '1';
		write_all(p[1], &st, 1);
		if (r == 0 && o)
			write_all(p[1], o, strlen(o));
		else if (r != 0)
			write_all(p[1], e.msg, strlen(e.msg));
		_exit(r == 0 ? 0 : 1);
	}
	close(p[1]);
	struct az_buf b;
	az_buf_init(&b);
	long deadline = now_ms() + CHILD_TIMEOUT_MS;
	bool timed_out = false;
	for (;;) {
		long left = deadline - now_ms();
		if (left <= 0) {
			timed_out = true;
			break;
		}
		struct pollfd pfd = { .fd = p[0], .events = POLLIN };
		int pr = poll(&pfd, 1, (int)left);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0) {
			timed_out = pr == 0;
			break;
		}
		char chunk[8192];
		ssize_t n = read(p[0], chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (b.len + (size_t)n < MAX_OUTPUT)
			az_buf_append(&b, chunk, (size_t)n);
	}
	close(p[0]);
	if (timed_out)
		kill(pid, SIGKILL);
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	int r = 0;
	if (timed_out) {
		r = az_err(err, ETIMEDOUT, "nft: no answer within %d ms", CHILD_TIMEOUT_MS);
	} else if (b.len == 0 || !WIFEXITED(status)) {
		r = az_err(err, EIO, "nft: worker process died");
	} else if (b.data[0] != '0') {
		r = az_err(err, EIO, "%s", b.data + 1);
	} else if (out) {
		*out = strdup(b.data + 1);
	}
	az_buf_free(&b);
	return r;
}

int az_nft_run(int netns_fd, const char *script, az_error *err)
{
	if (netns_fd < 0)
		return run_here(script, false, false, NULL, err);
	return run_in(netns_fd, script, false, false, NULL, err);
}

int az_nft_query(int netns_fd, const char *cmd, bool json, char **out, az_error *err)
{
	if (netns_fd < 0)
		return run_here(cmd, json, false, out, err);
	return run_in(netns_fd, cmd, json, false, out, err);
}

/* The kernel's features do not change while it runs: the probe (which makes
 * the kernel try to load a module, ~15 ms) is done once per boot and kept in
 * the state dir, keyed by the kernel release. */
static bool features_cached(const char *path, const char *release, struct az_features *f)
{
	char *text = NULL, want[256];
	size_t len;
	az_error e;
	if (az_read_file(path, 4096, &text, &len, &e) < 0)
		return false;
	int n = snprintf(want, sizeof(want), "kernel=%s bridge_reject=", release);
	bool ok = n > 0 && (size_t)n < sizeof(want) && len == (size_t)n + 2 &&
		  !strncmp(text, want, (size_t)n) && (text[n] == '0' || text[n] == '1') && text[n + 1] == '\n';
	if (ok)
		f->bridge_reject = text[n] == '1';
	free(text);
	return ok;
}

int az_features_detect(struct az_features *f, az_error *err)
{
	(void)err;
	memset(f, 0, sizeof(*f));
	az_error ignored;
	struct utsname u;
	char path[PATH_MAX];
	uname(&u);
	snprintf(path, sizeof(path), "%s/features", az_state_dir());
	if (!features_cached(path, u.release, f)) {
		/* A dry run makes the kernel validate the batch, then abort it. */
		f->bridge_reject =
		run_here("add table bridge alcatraz_probe\n"
			 "add chain bridge alcatraz_probe c { type filter hook forward priority 0; }\n"
			 "add rule bridge alcatraz_probe c meta l4proto tcp reject with tcp reset\n",
			 false, true, NULL, &ignored) == 0;
		char line[300];
		int n = snprintf(line, sizeof(line), "kernel=%s bridge_reject=%d\n", u.release,
				 f->bridge_reject);
		if (az_mkdir_p(az_state_dir(), 0700, &ignored) == 0)
			az_write_file_atomic(path, line, (size_t)n, 0600, &ignored);
	}
	char *v = NULL;
	size_t len;
	if (az_read_file("/proc/sys/net/bridge/bridge-nf-call-iptables", 16, &v, &len, &ignored) == 0) {
		f->br_netfilter = v[0] == '1';
		free(v);
	}
	return 0;
}
