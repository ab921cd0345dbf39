/* restore --watch — repair the host layer the moment it is deleted.
 *
 * A host `nft flush ruleset` (e.g. `systemctl restart nftables`) deletes the
 * host tables.  The tables inside the containers' netns survive it, so they
 * stay isolated; but the anti-spoofing binding and the proxy redirect live in
 * the host tables.  This loop listens to nftables' own change notifications
 * (libnftables "monitor") and re-applies the host layer when either table is
 * deleted, typically within milliseconds.
 */
#include "cli/cli.h"
#include "hook/discover.h"

#include <errno.h>
#include <nftables/libnftables.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

struct watch {
	char line[512];
	size_t len;
	unsigned long restores;
};

static int restore_now(unsigned long *count)
{
	az_error err = { 0 };
	struct az_hostnet *h = calloc(1, sizeof(*h));
	struct az_features f;
	size_t restored = 0;
	int r = -1;
	if (h && az_discover_hostnet(h, &err) == 0 && az_features_detect(&f, &err) == 0 &&
	    az_restore(h, &f, &restored, &err) == 0) {
		az_log(LOG_WARNING, NULL, "host rules were deleted; restored them for %zu attachment(s)",
		       restored);
		(*count)++;
		r = 0;
	} else {
		az_log(LOG_ERR, NULL, "restore after a flush failed: %s", err.msg);
	}
	free(h);
	return r;
}

static bool is_our_table_deleted(const char *line)
{
	return !strncmp(line, "delete table inet " AZ_TABLE, 18 + sizeof(AZ_TABLE) - 1) ||
	       !strncmp(line, "delete table bridge " AZ_TABLE, 20 + sizeof(AZ_TABLE) - 1);
}

/* The monitor's output stream: one event per line. */
static ssize_t on_output(void *cookie, const char *buf, size_t size)
{
	struct watch *w = cookie;
	for (size_t i = 0; i < size; i++) {
		if (buf[i] != '\n') {
			if (w->len < sizeof(w->line) - 1)
				w->line[w->len++] = buf[i];
			continue;
		}
		w->line[w->len] = '\0';
		w->len = 0;
		if (is_our_table_deleted(w->line) && !az_host_layer_present())
			restore_now(&w->restores);
	}
	return (ssize_t)size;
}

int cli_restore_watch(void)
{
	struct watch w = { .len = 0 };
	unsigned long boot = 0;
	cookie_io_functions_t io = { .write = on_output };
	FILE *out = fopencookie(&w, "w", io);
	if (!out)
		return cli_fail(&(az_error){ errno, "fopencookie failed" });
	setvbuf(out, NULL, _IOLBF, 0);
	/* first repair whatever happened while nobody watched */
	if (!az_host_layer_present())
		restore_now(&boot);
	fprintf(stderr, "alcatraz: watching for deletions of the host rules (Ctrl-C to stop)\n");
	struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
	if (!ctx) {
		fclose(out);
		return cli_fail(&(az_error){ ENOMEM, "cannot create a libnftables context" });
	}
	nft_ctx_set_output(ctx, out);
	nft_ctx_buffer_error(ctx);
	/* blocks for as long as the process lives */
	int r = nft_run_cmd_from_buffer(ctx, "monitor tables");
	az_error err = { 0 };
	if (r != 0)
		snprintf(err.msg, sizeof(err.msg), "nft monitor: %s", nft_ctx_get_error_buffer(ctx));
	nft_ctx_free(ctx);
	fclose(out);
	return r != 0 ? cli_fail(&err) : CLI_OK;
}
