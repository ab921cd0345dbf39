/* test_plugin_sandbox.c — the netns layer of Docker endpoints: Join keeps
 * the SandboxKey (and refuses one that is no plain path), the store keeps
 * it, and pl_netns_pass adds the netns table once the path is a netns, for
 * joined endpoints only, gives up after PL_NETNS_WAIT_MS, and hands it
 * over to the other endpoint of the same container at Leave. */
#include "test_plugin.h"

#define SANDBOX "/run/azc29bed/x/netns/13f41fca566d"

static struct pl_driver drv;
static int netns_ready;		/* what the fake rules_netns answers */

static int fake_rules_netns(const struct pl_endpoint *e, az_error *err)
{
	char line[256];
	snprintf(line, sizeof(line), "rules_netns %s %.200s", e->host_if, e->sandbox);
	fake_record(line, NULL);
	if (fake_result("rules_netns", err) < 0)
		return -1;
	return netns_ready;
}

/* rules_apply answers 0: the netns did not exist at Join */
static const struct pl_ops ops = {
	.network_create = fake_network_create,
	.network_delete = fake_network_delete,
	.endpoint_create = fake_endpoint_create,
	.endpoint_delete = fake_endpoint_delete,
	.rules_apply = fake_rules_apply,
	.rules_netns = fake_rules_netns,
	.rules_remove = fake_rules_remove,
};

static void setup(void)
{
	az_error err = { 0 };
	tmp_setup();
	netns_ready = 0;
	cr_assert_eq(pl_driver_init(&drv, &ops, state_dir, &err), 0, "%s", err.msg);
	expect_ok(&drv, "NetworkDriver.CreateNetwork", CREATE_NET1, "{}");
	expect_ok(&drv, "NetworkDriver.CreateEndpoint", subst(CREATE_EP_RUN, EP_RUN, EP_JOIN),
		  "{\"Interface\":{}}");
	fake.n = 0;
}

static void teardown(void)
{
	pl_driver_free(&drv);
	tmp_teardown();
}

TestSuite(plugin_sandbox, .init = setup, .fini = teardown);

#define JOIN_REPLY                                                                     \
	"{\"InterfaceName\":{\"SrcName\":\"azc72c84cac027\",\"DstPrefix\":\"eth\"},"    \
	"\"Gateway\":\"10.99.0.1\"}"

Test(plugin_sandbox, join_keeps_the_key_and_the_pass_applies_once_it_is_a_netns)
{
	expect_ok(&drv, "NetworkDriver.Join", JOIN, JOIN_REPLY);
	cr_assert_eq(drv.n_ep, 1);
	cr_expect_str_eq(drv.eps[0].sandbox, SANDBOX);
	cr_expect(!drv.eps[0].ns_applied);
	fake.n = 0;
	cr_expect_eq(pl_netns_pass(&drv), 1, "still awaited");
	cr_expect_eq(pl_netns_pass(&drv), 1, "still awaited");
	netns_ready = 1;
	cr_expect_eq(pl_netns_pass(&drv), 0);
	cr_expect(drv.eps[0].ns_applied);
	cr_expect_eq(pl_netns_pass(&drv), 0, "nothing more to do");
	expect_calls("rules_netns azh72c84cac027 " SANDBOX, "rules_netns azh72c84cac027 " SANDBOX,
		     "rules_netns azh72c84cac027 " SANDBOX);
}

Test(plugin_sandbox, the_key_survives_a_restart)
{
	az_error err = { 0 };
	expect_ok(&drv, "NetworkDriver.Join", JOIN, JOIN_REPLY);
	netns_ready = 1;
	pl_netns_pass(&drv);
	pl_driver_free(&drv);
	cr_assert_eq(pl_driver_init(&drv, &ops, state_dir, &err), 0, "%s", err.msg);
	cr_assert_eq(pl_store_load(&drv, &err), 0, "%s", err.msg);
	cr_assert_eq(drv.n_ep, 1);
	cr_expect_str_eq(drv.eps[0].sandbox, SANDBOX);
	cr_expect(!drv.eps[0].ns_applied, "applied again by the restarted plugin");
	fake.n = 0;
	cr_expect_eq(pl_netns_pass(&drv), 0);
	expect_calls("rules_netns azh72c84cac027 " SANDBOX);
}

Test(plugin_sandbox, not_joined_or_without_key_is_not_awaited)
{
	cr_expect_eq(pl_netns_pass(&drv), 0);
	expect_ok(&drv, "NetworkDriver.Join",
		  subst(JOIN, "\"SandboxKey\":\"" SANDBOX "\",", ""), JOIN_REPLY);
	cr_expect_str_eq(drv.eps[0].sandbox, "");
	fake.n = 0;
	cr_expect_eq(pl_netns_pass(&drv), 0);
	expect_no_calls();
}

Test(plugin_sandbox, leave_ends_the_wait)
{
	expect_ok(&drv, "NetworkDriver.Join", JOIN, JOIN_REPLY);
	expect_ok(&drv, "NetworkDriver.Leave", EP_IDS, "{}");
	fake.n = 0;
	cr_expect_eq(pl_netns_pass(&drv), 0);
	expect_no_calls();
}

Test(plugin_sandbox, gives_up_after_the_wait)
{
	expect_ok(&drv, "NetworkDriver.Join", JOIN, JOIN_REPLY);
	drv.eps[0].ns_since_ms -= PL_NETNS_WAIT_MS + 1;
	cr_expect_eq(pl_netns_pass(&drv), 0);
	cr_expect(drv.eps[0].ns_given_up && !drv.eps[0].ns_applied);
	fake.n = 0;
	cr_expect_eq(pl_netns_pass(&drv), 0);
	expect_no_calls();
}

Test(plugin_sandbox, an_error_is_not_retried_forever)
{
	expect_ok(&drv, "NetworkDriver.Join", JOIN, JOIN_REPLY);
	fake.fail = "rules_netns";
	cr_expect_eq(pl_netns_pass(&drv), 0);
	cr_expect(drv.eps[0].ns_given_up);
}

Test(plugin_sandbox, bad_keys_are_refused)
{
	static const char *const bad[] = { "run/x", "/run/../etc/x", "/run/x/..", "/run/x y",
					   "/run/x\\\"", "/run/\\u00e9" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_err(&drv, "NetworkDriver.Join",
			   subst(JOIN, SANDBOX, bad[i]), "SandboxKey is not an absolute path");
	cr_expect(!drv.eps[0].joined);
	cr_expect(pl_sandbox_valid("/var/run/docker/netns/1f2e3d4c5b6a"));
	cr_expect(pl_sandbox_valid("/run/docker/netns/default"));
	cr_expect(!pl_sandbox_valid(""));
	char longp[PL_SANDBOX_MAX + 2];
	memset(longp, 'a', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = '\0';
	cr_expect(!pl_sandbox_valid(longp));
}

/* Two alcatraz networks in one container share its netns table: when one
 * endpoint leaves (its table goes), the other's is put there again. */
Test(plugin_sandbox, leave_hands_the_table_to_the_other_endpoint)
{
	expect_ok(&drv, "NetworkDriver.CreateNetwork", CREATE_NET_DEFAULT, "{}");
	expect_ok(&drv, "NetworkDriver.CreateEndpoint", CREATE_EP_CONNECT, "{\"Interface\":{}}");
	expect_ok(&drv, "NetworkDriver.Join", JOIN, JOIN_REPLY);
	expect_ok(&drv, "NetworkDriver.Join",
		  subst(subst(JOIN, NET1, NET_DEFAULT), EP_JOIN, EP_CONNECT),
		  "{\"InterfaceName\":{\"SrcName\":\"azc91d8f8d6c1a\",\"DstPrefix\":\"eth\"},"
		  "\"Gateway\":\"172.18.0.1\"}");
	netns_ready = 1;
	cr_expect_eq(pl_netns_pass(&drv), 0);
	struct pl_endpoint *other = pl_driver_endpoint(&drv, EP_CONNECT);
	cr_assert_not_null(other);
	cr_expect(other->ns_applied);
	expect_ok(&drv, "NetworkDriver.Leave", EP_IDS, "{}");
	other = pl_driver_endpoint(&drv, EP_CONNECT);
	cr_expect(!other->ns_applied, "awaited again");
	fake.n = 0;
	cr_expect_eq(pl_netns_pass(&drv), 0);
	expect_calls("rules_netns azh91d8f8d6c1a " SANDBOX);
}
