/* Effects: run nft scripts with libnftables, in this netns or another one.
 *
 * A netlink socket stays bound to the netns it was opened in and setns()
 * changes only the calling thread: work in another netns enters it first
 * and opens its own context there.
 */
#include "rules/rules.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <nftables/libnftables.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sched.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>


/* A transaction that deletes anything (a table, a rule, a set element)
 * leaves work for the kernel: it frees the objects after an RCU grace
 * period, and the release of any nf_tables netlink socket waits for that
 * (nft_rcv_nl_event flushes the destroy work): 5-35 ms here, every time.
 * The runtime waits for the hook, so the hook lets a detached grandchild
 * hold the netfilter sockets and release them after it is gone.  The child
 * keeps nothing else (not the runtime's pipes, not the state lock). */
static bool deletes(const char *script)
{
	return strstr(script, "delete ") || strstr(script, "flush ");
}

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/* Returns an fd to close once the caller has closed its own copies of the
 * sockets (-1 when there is nothing to hand over): the grandchild waits for
 * that, so the last reference, and the wait, are its. */
static int release_later(void)
{
	int keep[64];
	size_t n = 0;
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return -1;
	struct dirent *de;
	while ((de = readdir(d)) && n < sizeof(keep) / sizeof(keep[0])) {
		char *end;
		long fd = strtol(de->d_name, &end, 10);
		int proto = 0;
		socklen_t len = sizeof(proto);
		struct stat st;
		if (*end || fd < 0 || fd == dirfd(d) || fstat((int)fd, &st) < 0 || !S_ISSOCK(st.st_mode) ||
		    getsockopt((int)fd, SOL_SOCKET, SO_PROTOCOL, &proto, &len) < 0 ||
		    proto != NETLINK_NETFILTER)
			continue;
		keep[n++] = (int)fd;
	}
	closedir(d);
	int p[2];
	if (!n || n == sizeof(keep) / sizeof(keep[0]) || pipe2(p, O_CLOEXEC) < 0)
		return -1;
	keep[n++] = p[0];
	qsort(keep, n, sizeof(keep[0]), cmp_int);
	pid_t pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		/* async-signal-safe only from here: the plugin has threads */
		if (fork() != 0)
			_exit(0);
		unsigned lo = 0;
		for (size_t i = 0; i < n; i++) {
			if ((unsigned)keep[i] > lo)
				syscall(SYS_close_range, lo, (unsigned)keep[i] - 1, 0);
			lo = (unsigned)keep[i] + 1;
		}
		syscall(SYS_close_range, lo, ~0u, 0);
		char c;
		while (read(p[0], &c, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	close(p[0]);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	return p[1];
}

/* The error of a failed run: the first line of libnftables' error buffer
 * (the rest is the caret drawing). */
static int nft_error(struct nft_ctx *ctx, az_error *err)
{
	const char *e = nft_ctx_get_error_buffer(ctx);
	char line[512];
	snprintf(line, sizeof(line), "%s", e && *e ? e : "unknown error");
	char *nl = strchr(line, '\n');
	if (nl)
		*nl = '\0';
	return az_err(err, EIO, "nft: %s", line);
}

/* A context bound to the current netns, output and errors buffered. */
static struct nft_ctx *ctx_new(az_error *err)
{
	struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
	if (!ctx) {
		az_err(err, ENOMEM, "nft: cannot create a libnftables context");
		return NULL;
	}
	nft_ctx_buffer_output(ctx);
	nft_ctx_buffer_error(ctx);
	return ctx;
}

/* Run in the current netns.  On success *out (if wanted) gets the output. */
static int run_here(const char *script, bool json, bool dry, char **out, az_error *err)
{
	struct nft_ctx *ctx = ctx_new(err);
	if (!ctx)
		return -1;
	if (json)
		nft_ctx_output_set_flags(ctx, NFT_CTX_OUTPUT_JSON);
	if (dry)
		nft_ctx_set_dry_run(ctx, true);
	int r = nft_run_cmd_from_buffer(ctx, script);
	if (r != 0) {
		nft_error(ctx, err);
	} else if (out) {
		const char *o = nft_ctx_get_output_buffer(ctx);
		*out = strdup(o ? o : "");
	}
	int handed = r == 0 && !dry && deletes(script) ? release_later() : -1;
	nft_ctx_free(ctx);
	if (handed >= 0)
		close(handed);
	return r == 0 ? 0 : -1;
}

static bool keep_host;
static struct nft_ctx *host_ctx;

void az_nft_keep_host_context(bool keep)
{
	keep_host = keep;
	if (!keep && host_ctx) {
		nft_ctx_free(host_ctx);
		host_ctx = NULL;
	}
}

/* A script in the host's netns with the kept context.  libnftables checks
 * the ruleset's generation before using its cache, so changes made by
 * others in between are seen.  After an error the context is dropped (its
 * error buffer and cache are not trusted again). */
static int run_kept(const char *script, az_error *err)
{
	if (!host_ctx && !(host_ctx = ctx_new(err)))
		return -1;
	int r = nft_run_cmd_from_buffer(host_ctx, script) == 0 ? 0 : nft_error(host_ctx, err);
	/* A warning left after a success would be taken for the next error's
	 * first line. */
	const char *left = r == 0 ? nft_ctx_get_error_buffer(host_ctx) : NULL;
	if (r < 0 || (left && *left)) {
		nft_ctx_free(host_ctx);
		host_ctx = NULL;
	}
	return r;
}

/* In another netns: the thread moves there for the whole life of the
 * libnftables context (its socket, and any it would reopen, belong to that
 * netns), then comes back.  A forked child did this before; the fork cost
 * about 1 ms of every hook run. */
static int run_in(int netns_fd, const char *script, bool json, bool dry, char **out, az_error *err)
{
	int saved;
	if (az_netns_enter(netns_fd, &saved, err) < 0)
		return -1;
	int r = run_here(script, json, dry, out, err);
	az_netns_leave(saved);
	return r;
}

int az_nft_run(int netns_fd, const char *script, az_error *err)
{
	if (netns_fd < 0 && keep_host)
		return run_kept(script, err);
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
