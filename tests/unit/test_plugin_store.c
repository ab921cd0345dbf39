/* test_plugin_store.c — the state dir is read back as untrusted input: every
 * record that is not exactly what the plugin writes is skipped (and left for
 * a human), the rest is restored. */
#include "test_plugin.h"

static struct pl_driver drv;

static void setup(void)
{
	tmp_setup();
	driver_up(&drv);
}

static void teardown(void)
{
	pl_driver_free(&drv);
	tmp_teardown();
}

TestSuite(plugin_store, .init = setup, .fini = teardown);

static void put_file(const char *kind, const char *name, const char *text)
{
	char p[256];
	az_error err = { 0 };

	snprintf(p, sizeof(p), "%s/%ss/%s", state_dir, kind, name);
	cr_assert_eq(az_write_file_atomic(p, text, strlen(text), 0600, &err), 0, "%s", err.msg);
}

static char *read_record(const char *kind, const char *id)
{
	char p[256], *text = NULL;
	size_t len;
	az_error err = { 0 };

	snprintf(p, sizeof(p), "%s/%ss/%s.json", state_dir, kind, id);
	cr_assert_eq(az_read_file(p, 1u << 20, &text, &len, &err), 0, "%s", err.msg);
	return text;
}

/* A fresh driver over the same state dir. */
static void reload(struct pl_driver *d)
{
	az_error err = { 0 };

	cr_assert_eq(pl_driver_init(d, &fake_ops, state_dir, &err), 0, "%s", err.msg);
	cr_assert_eq(pl_store_load(d, &err), 0, "%s", err.msg);
}

static void one_of_each(void)
{
	struct reply r = call(&drv, "NetworkDriver.CreateNetwork",
			      subst(CREATE_NET1, "{\"az.x\":\"1\",\"foo\":\"bar\"}",
				    "{\"alcatraz.network.dns\":\"none\"}"));
	cr_assert_null(reply_err(&r), "%s", r.text);
	cJSON_Delete(r.json);
	free(r.text);
	r = call(&drv, "NetworkDriver.CreateEndpoint", CREATE_EP_RUN);
	cr_assert_null(reply_err(&r), "%s", r.text);
	cJSON_Delete(r.json);
	free(r.text);
}

Test(plugin_store, empty_or_missing_dirs_load_nothing)
{
	struct pl_driver d;
	reload(&d);
	cr_expect_eq(d.n_net + d.n_ep, 0);
	pl_driver_free(&d);
}

Test(plugin_store, records_are_what_was_written)
{
	one_of_each();
	char *n = read_record("network", NET1), *e = read_record("endpoint", EP_RUN);
	cr_expect(strstr(n, "\"Gateway\":\t\"10.99.0.1/24\"") != NULL, "%s", n);
	cr_expect(strstr(n, "\"alcatraz.network.dns\":\t\"none\"") != NULL, "%s", n);
	cr_expect(strstr(e, "\"Address\":\t\"10.99.0.50/24\"") != NULL, "%s", e);
	cr_expect(strstr(e, "\"HostInterface\":\t\"azh680454bb4b2\"") != NULL, "%s", e);
	/* Root's only: they hold the containers' settings. */
	struct stat st;
	char p[256];
	snprintf(p, sizeof(p), "%s/networks/%s.json", state_dir, NET1);
	cr_assert_eq(stat(p, &st), 0);
	cr_expect_eq(st.st_mode & 0777, 0600);
	snprintf(p, sizeof(p), "%s/networks", state_dir);
	cr_assert_eq(stat(p, &st), 0);
	cr_expect_eq(st.st_mode & 0777, 0700);
	free(n);
	free(e);
}

/* The record of kind for another id: names derived from it, as written. */
static char *as_id(const char *kind, const char *text, const char *id)
{
	char br[16], h[16], c[16];

	if (!strcmp(kind, "network")) {
		snprintf(br, sizeof(br), "az%.12s", id);
		return subst(subst(text, NET1, id), "az1db3e1737f66", br);
	}
	snprintf(h, sizeof(h), "azh%.11s", id);
	snprintf(c, sizeof(c), "azc%.11s", id);
	return subst(subst(subst(text, EP_RUN, id), "azh680454bb4b2", h), "azc680454bb4b2", c);
}

Test(plugin_store, bad_records_are_skipped_and_kept)
{
	one_of_each();
	char *net = read_record("network", NET1), *ep = read_record("endpoint", EP_RUN);
	static const struct {
		const char *kind, *from, *to;
	} bad[] = {
		{ "network", "\"Version\":\t1", "\"Version\":\t2" },
		{ "network", "\"MTU\":", "\"Extra\":1,\"MTU\":" },
		{ "network", "\"Bridge\":\t\"az", "\"Bridge\":\t\"xz" },
		{ "network", "10.99.0.1/24", "10.98.0.1/24" },
		{ "network", "10.99.0.0/24", "10.99.0.7/24" },
		{ "network", "\"IPv4\":\t[", "\"IPv4\":\t[7," },
		{ "network", "\"none\"", "\"bogus!\"" },
		{ "network", "alcatraz.network.dns", "alcatraz.network.x" },
		{ "network", "\"MTU\":\t0", "\"MTU\":\t1.5" },
		{ "network", "\"MTU\":\t0", "\"MTU\":\t70000" },
		{ "network", "\"Internal\":\tfalse", "\"Internal\":\t0" },
		{ "network", "\"EnableIPv6\":\tfalse", "\"EnableIPv6\":\ttrue" },
		{ "endpoint", "\"HostInterface\":\t\"azh", "\"HostInterface\":\t\"eth" },
		{ "endpoint", "10.99.0.50/24", "10.99.9.50/24" },
		{ "endpoint", "10.99.0.50/24", "10.99.0.1/24" },
		{ "endpoint", "\"Joined\":\tfalse", "\"Joined\":\t\"no\"" },
		{ "endpoint", "\"ContainerID\":\t\"\"", "\"ContainerID\":\t\"abc\"" },
		{ "endpoint", "\"MacAddress\":\t\"\"", "\"MacAddress\":\t\"nope\"" },
		{ "endpoint", NET1, "0000000000000000000000000000000000000000000000000000000000000001" },
		{ "endpoint", "\"Options\":\t{", "\"Options\":\t{\"alcatraz.network.dns\":7," },
	};
	size_t n = sizeof(bad) / sizeof(bad[0]);
	char id[PL_ID_LEN + 1], name[80];

	for (size_t i = 0; i < n; i++) {
		/* Each under an id of its own, so that one does not hide another. */
		snprintf(id, sizeof(id), "%02zx%062d", i + 0x10, 0);
		snprintf(name, sizeof(name), "%s.json", id);
		const char *base = strcmp(bad[i].kind, "network") ? ep : net;
		char *text = subst(as_id(bad[i].kind, base, id), bad[i].from, bad[i].to);
		cr_assert_neq(strcmp(text, as_id(bad[i].kind, base, id)), 0, "case %zu did not apply", i);
		put_file(bad[i].kind, name, text);
	}
	/* Controls: the same transformation without the damage loads. */
	put_file("network", "ff" "00000000000000000000000000000000000000000000000000000000000000.json",
		 as_id("network", subst(net, "10.99.0.", "10.77.0."),
		       "ff00000000000000000000000000000000000000000000000000000000000000"));
	put_file("endpoint", "ee" "00000000000000000000000000000000000000000000000000000000000000.json",
		 as_id("endpoint", ep, "ee00000000000000000000000000000000000000000000000000000000000000"));
	/* Not records at all. */
	put_file("network", "garbage.json", "{");
	put_file("network", "README", "hello");
	/* NET1's record under another name. */
	snprintf(name, sizeof(name), "%s.json", "dd00000000000000000000000000000000000000000000000000000000000000");
	put_file("network", name, net);
	put_file("endpoint", "cc00000000000000000000000000000000000000000000000000000000000000.json", "[]");

	struct pl_driver d;
	reload(&d);
	cr_expect_eq(d.n_net, 2, "the good network and the control");
	cr_expect_eq(d.n_ep, 2, "the good endpoint and the control");
	cr_expect_not_null(pl_driver_network(&d, NET1));
	cr_expect_not_null(pl_driver_endpoint(&d, EP_RUN));
	/* Left in place for a human. */
	char p[256];
	snprintf(p, sizeof(p), "%s/networks/garbage.json", state_dir);
	cr_expect_eq(access(p, F_OK), 0);
	pl_driver_free(&d);
	free(net);
	free(ep);
}

Test(plugin_store, temp_files_of_a_crashed_write_are_removed)
{
	one_of_each();
	char *net = read_record("network", NET1);
	char name[128], p[512];
	snprintf(name, sizeof(name), "%s.json.tmp.4242", NET1);
	put_file("network", name, "{\"half");
	struct pl_driver d;
	reload(&d);
	cr_expect_eq(d.n_net, 1);
	snprintf(p, sizeof(p), "%s/networks/%s", state_dir, name);
	cr_expect_neq(access(p, F_OK), 0, "temp file still there");
	pl_driver_free(&d);
	free(net);
}

Test(plugin_store, a_missing_state_dir_is_made)
{
	char p[256];
	struct pl_driver d;
	az_error err = { 0 };

	snprintf(p, sizeof(p), "%s/deep/er/state", tmp_dir);
	cr_assert_eq(pl_driver_init(&d, &fake_ops, p, &err), 0, "%s", err.msg);
	cr_expect_eq(pl_store_load(&d, &err), 0, "%s", err.msg);
	snprintf(p, sizeof(p), "%s/deep/er/state/endpoints", tmp_dir);
	cr_expect_eq(access(p, F_OK), 0);
	pl_driver_free(&d);
}

Test(plugin_store, unreadable_state_is_an_error)
{
	char p[256];
	struct pl_driver d;
	az_error err = { 0 };

	cr_assert_eq(pl_driver_init(&d, &fake_ops, state_dir, &err), 0);
	snprintf(p, sizeof(p), "%s/endpoints", state_dir);
	rmdir(p);
	cr_assert_eq(close(open(p, O_CREAT | O_WRONLY, 0600)), 0);
	cr_expect_eq(pl_store_load(&d, &err), -1);
	cr_expect(strstr(err.msg, "endpoints") != NULL, "%s", err.msg);
	pl_driver_free(&d);
}
