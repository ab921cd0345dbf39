/* Effects: run nft scripts with libnftables, in this netns or another one.
 *
 * A netlink socket stays bound to the netns it was opened in and setns()
 * changes only the calling thread: work in another netns enters it first
 * and opens its own context there.
 */
#include "rules/rules.h"

#include <errno.h>
#include <fcntl.h>
#include <nftables/libnftables.h>
#include <sched.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>


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
