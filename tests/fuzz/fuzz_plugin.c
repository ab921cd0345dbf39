/* Every plugin request body: a sequence of remote-driver calls through
 * pl_driver_call (plugin/driver.c), the JSON -> validation -> bookkeeping
 * layer Docker talks to, with effects that only count (no bridge, no rule)
 * and the state dir in a private temp dir.  After the sequence the store is
 * loaded again: it must hold what the driver's tables hold.
 *
 * Input: calls separated by a line "%%"; each is a path line, then the body.
 * Three pseudo paths steer the run: "settings" (its body becomes the
 * settings file), "labels" (the label route is on) and "fail" (the next
 * effect fails, as a netlink or nft error would).
 */
#include "tests/fuzz/fuzz.h"
#include "plugin/plugin.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[PATH_MAX - 64], settings[PATH_MAX];
static int fail_next;

static int effect(az_error *err)
{
	if (fail_next) {
		fail_next = 0;
		return az_err(err, EIO, "failed on purpose");
	}
	return 0;
}
static int f_net(const struct pl_network *n, az_error *err)
{
	(void)n;
	return effect(err);
}
static int f_ep_create(const struct pl_network *n, const struct pl_endpoint *e, az_error *err)
{
	(void)n, (void)e;
	return effect(err);
}
static int f_ep(const struct pl_endpoint *e, az_error *err)
{
	(void)e;
	return effect(err);
}
static int f_apply(const struct pl_network *n, const struct pl_endpoint *e, const struct az_policy *p,
		   az_error *err)
{
	struct az_buf b;
	(void)n, (void)e;
	/* what reaches the rules must be canonical */
	az_buf_init(&b);
	fz_assert(az_policy_format(p, &b) == 0, "format failed");
	az_buf_free(&b);
	return effect(err);
}

static const struct pl_ops ops = {
	.network_create = f_net,
	.network_delete = f_net,
	.endpoint_create = f_ep_create,
	.endpoint_delete = f_ep,
	.rules_apply = f_apply,
	.rules_remove = f_ep,
};

static void empty(const char *sub)
{
	char path[PATH_MAX];
	DIR *d;
	struct dirent *de;

	snprintf(path, sizeof(path), "%s/%s", dir, sub);
	if (!(d = opendir(path)))
		return;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.' || (de->d_name[1] && strcmp(de->d_name, "..")))
			unlinkat(dirfd(d), de->d_name, 0);
	closedir(d);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	az_log_stderr = false;
	const char *tmp = getenv("TMPDIR");
	snprintf(dir, sizeof(dir), "%s/azfuzz-plugin.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir))
		abort();
	snprintf(settings, sizeof(settings), "%s/alcatraz.json", dir);
	setenv("ALCATRAZ_CONFIG", settings, 1);
	return 0;
}

static void cleanup_dir(void)
{
	empty("networks");
	empty("endpoints");
	unlink(settings);
}

/* Not from the fuzzer's atexit: the dir must go even when a run ends. */
__attribute__((destructor)) static void remove_dir(void)
{
	char path[PATH_MAX];
	if (!dir[0])
		return;
	cleanup_dir();
	snprintf(path, sizeof(path), "%s/networks", dir);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/endpoints", dir);
	rmdir(path);
	rmdir(dir);
}

static void write_settings(const char *body, size_t len)
{
	int fd = open(settings, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		abort();
	if (write(fd, body, len) != (ssize_t)len)
		abort();
	close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pl_driver d, again;
	const char *p = (const char *)data, *end = p + size;
	az_error err;
	int status;

	cleanup_dir();
	fail_next = 0;
	fz_assert(pl_driver_init(&d, &ops, dir, &err) == 0, "init: %s", err.msg);
	for (int calls = 0; p < end && calls < 32; calls++) {
		const char *sep = memmem(p, (size_t)(end - p), "\n%%\n", 4);
		const char *stop = sep ? sep : end;
		const char *nl = memchr(p, '\n', (size_t)(stop - p));
		const char *body = nl ? nl + 1 : stop;
		char path[128];
		size_t pl = (size_t)((nl ? nl : stop) - p);

		if (pl >= sizeof(path))
			pl = sizeof(path) - 1;
		memcpy(path, p, pl);
		path[pl] = '\0';
		if (!strcmp(path, "settings")) {
			write_settings(body, (size_t)(stop - body));
		} else if (!strcmp(path, "labels")) {
			d.labels = true;
		} else if (!strcmp(path, "fail")) {
			fail_next = 1;
		} else {
			/* the HTTP layer hands over a copy with a NUL after it */
			char *copy = fz_cstr((const uint8_t *)body, (size_t)(stop - body));
			char *reply = pl_driver_call(&d, path, copy, (size_t)(stop - body), &status);
			cJSON *r = cJSON_Parse(reply);

			fz_assert(cJSON_IsObject(r), "reply is not a JSON object: %s", reply);
			fz_assert(status == 200 || status == 404, "status %d", status);
			cJSON_Delete(r);
			free(reply);
			free(copy);
		}
		p = sep ? sep + 4 : end;
	}
	/* The store holds what the tables hold. */
	fz_assert(pl_driver_init(&again, &ops, dir, &err) == 0, "init: %s", err.msg);
	fz_assert(pl_store_load(&again, &err) == 0, "load: %s", err.msg);
	fz_assert(again.n_net == d.n_net && again.n_ep == d.n_ep,
		  "tables %zu networks %zu endpoints, store %zu and %zu", d.n_net, d.n_ep, again.n_net,
		  again.n_ep);
	pl_driver_free(&again);
	pl_driver_free(&d);
	return 0;
}
