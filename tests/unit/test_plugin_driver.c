/* test_plugin_driver.c — every remote-driver call, fed the request bodies
 * dockerd 20.10 really sends (docs/docker-notes.md), with fake effects:
 * replies, validation, errors, what the effects were asked, and what the
 * store holds after each step. */
#include "test_plugin.h"

#define BR1 "az1db3e1737f66"
#define H_JOIN "azh72c84cac027"
#define C_JOIN "azc72c84cac027"
#define H_RUN "azh680454bb4b2"
#define DEFAULT_POLICY "enabled=on lan-access= proxy=none dns=auto proxy-udp=direct"

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

TestSuite(plugin_driver, .init = setup, .fini = teardown);
TestSuite(plugin_driver_errors, .init = setup, .fini = teardown);

/* CreateNetwork NET1, then the endpoint the recorded Join names. */
static void net1_with_endpoint(void)
{
	expect_ok(&drv, "NetworkDriver.CreateNetwork", CREATE_NET1, "{}");
	expect_ok(&drv, "NetworkDriver.CreateEndpoint", subst(CREATE_EP_RUN, EP_RUN, EP_JOIN),
		  "{\"Interface\":{}}");
	fake.n = 0;
}

/* A CreateNetwork body for NET1 with this generic-options object. */
static char *net1_with_generic(const char *generic)
{
	return subst(CREATE_NET1, "{\"az.x\":\"1\",\"foo\":\"bar\"}", generic);
}

/* The recorded CreateEndpoint of EP_JOIN with these top-level options added. */
static char *ep_with_opts(const char *opts)
{
	return subst(subst(CREATE_EP_RUN, EP_RUN, EP_JOIN), "\"com.docker.network.endpoint.exposedports\"",
		     fmt("%s,\"com.docker.network.endpoint.exposedports\"", opts));
}

/* ---- the fixed calls ---- */

Test(plugin_driver, activate_and_capabilities)
{
	expect_ok(&drv, "Plugin.Activate", "", "{\"Implements\":[\"NetworkDriver\"]}");
	expect_ok(&drv, "NetworkDriver.GetCapabilities", "",
		  "{\"Scope\":\"local\",\"ConnectivityScope\":\"local\"}");
	/* Docker sends no body, but a body is no reason to fail. */
	expect_ok(&drv, "NetworkDriver.GetCapabilities", "{}",
		  "{\"Scope\":\"local\",\"ConnectivityScope\":\"local\"}");
	expect_no_calls();
}

Test(plugin_driver, swarm_calls_are_empty_successes)
{
	static const char *const m[] = { "NetworkDriver.DiscoverNew", "NetworkDriver.DiscoverDelete",
					 "NetworkDriver.AllocateNetwork", "NetworkDriver.FreeNetwork" };
	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		expect_ok(&drv, m[i], "", "{}");
		expect_ok(&drv, m[i], "{\"DiscoveryType\":1,\"DiscoveryData\":{}}", "{}");
	}
	expect_no_calls();
}

Test(plugin_driver, unknown_path_is_404_with_err)
{
	static const char *const paths[] = { "/NetworkDriver.Frobnicate", "/IpamDriver.RequestPool",
					     "/", "", "/networkdriver.createnetwork",
					     "/NetworkDriver.CreateNetwork/x" };
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		int status = 0;
		char *t = pl_driver_call(&drv, paths[i], "{}", 2, &status);
		cJSON *j = cJSON_Parse(t);
		const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "Err");

		cr_expect_eq(status, 404, "%s", paths[i]);
		cr_expect(cJSON_IsString(e) && strstr(e->valuestring, "not a call this driver implements"),
			  "%s: %s", paths[i], t);
		cJSON_Delete(j);
		free(t);
	}
	/* A hostile path is not echoed. */
	int status;
	char *t = pl_driver_call(&drv, "/\x1b[2J\n", "", 0, &status);
	cr_expect_eq(status, 404);
	cr_expect_null(strstr(t, "\x1b"), "%s", t);
	cr_expect(strstr(t, "(unprintable)") != NULL, "%s", t);
	free(t);
}

/* ---- the life cycle ---- */

Test(plugin_driver, docker_run_life_cycle)
{
	expect_ok(&drv, "NetworkDriver.CreateNetwork", CREATE_NET1, "{}");
	expect_calls("network_create " BR1);
	cr_expect(record_exists("network", NET1));
	cr_expect_eq(drv.n_net, 1);
	cr_expect_str_eq(drv.nets[0].bridge, BR1);
	cr_expect_eq(drv.nets[0].n_opts, 0, "-o foo=bar and az.x=1 are not ours");

	expect_ok(&drv, "NetworkDriver.CreateEndpoint", subst(CREATE_EP_RUN, EP_RUN, EP_JOIN),
		  "{\"Interface\":{}}");
	expect_calls("network_create " BR1, "endpoint_create " BR1 " " H_JOIN " " C_JOIN);
	cr_expect(record_exists("endpoint", EP_JOIN));
	cr_assert_eq(drv.n_ep, 1);
	cr_expect_str_eq(drv.eps[0].host_if, H_JOIN);
	cr_expect_str_eq(drv.eps[0].ctr_if, C_JOIN);
	cr_expect(strlen(drv.eps[0].host_if) <= 15 && strlen(drv.nets[0].bridge) <= 15);
	cr_expect(!drv.eps[0].joined);

	expect_ok(&drv, "NetworkDriver.Join", JOIN,
		  "{\"InterfaceName\":{\"SrcName\":\"" C_JOIN "\",\"DstPrefix\":\"eth\"},"
		  "\"Gateway\":\"10.99.0.1\"}");
	cr_assert_eq(fake.n, 3, "%s", fake_calls());
	cr_expect_str_eq(fake.calls[2], "rules_apply " BR1 " " H_JOIN);
	cr_expect_str_eq(fake.policy[2], DEFAULT_POLICY);
	cr_expect(drv.eps[0].joined);

	/* As observed: Program, then EndpointOperInfo twice. */
	expect_ok(&drv, "NetworkDriver.ProgramExternalConnectivity", subst(PROGRAM_NO_PORTS, EP_RUN, EP_JOIN), "{}");
	expect_ok(&drv, "NetworkDriver.EndpointOperInfo", EP_IDS, "{\"Value\":{}}");
	expect_ok(&drv, "NetworkDriver.EndpointOperInfo", EP_IDS, "{\"Value\":{}}");
	cr_expect_eq(fake.n, 3, "no effects: %s", fake_calls());

	/* Stop: Revoke, Leave, DeleteEndpoint. */
	expect_ok(&drv, "NetworkDriver.RevokeExternalConnectivity", EP_IDS, "{}");
	expect_ok(&drv, "NetworkDriver.Leave", EP_IDS, "{}");
	cr_expect_str_eq(fake.calls[3], "rules_remove " H_JOIN);
	cr_expect(!drv.eps[0].joined);
	expect_ok(&drv, "NetworkDriver.DeleteEndpoint", EP_IDS, "{}");
	cr_expect_str_eq(fake.calls[4], "endpoint_delete " H_JOIN);
	cr_expect(!record_exists("endpoint", EP_JOIN));
	cr_expect_eq(drv.n_ep, 0);

	expect_ok(&drv, "NetworkDriver.DeleteNetwork", NET_IDS, "{}");
	expect_calls("network_create " BR1, "endpoint_create " BR1 " " H_JOIN " " C_JOIN,
		     "rules_apply " BR1 " " H_JOIN, "rules_remove " H_JOIN, "endpoint_delete " H_JOIN,
		     "network_delete " BR1);
	cr_expect(!record_exists("network", NET1));
	cr_expect_eq(drv.n_net, 0);
}

Test(plugin_driver, every_recorded_create_body_is_accepted)
{
	expect_ok(&drv, "NetworkDriver.CreateNetwork", CREATE_NET1, "{}");
	expect_ok(&drv, "NetworkDriver.CreateNetwork", CREATE_NET_V6_INTERNAL, "{}");
	expect_ok(&drv, "NetworkDriver.CreateNetwork", CREATE_NET_DEFAULT, "{}");
	expect_ok(&drv, "NetworkDriver.CreateEndpoint", CREATE_EP_RUN, "{\"Interface\":{}}");
	/* --driver-opt k1=v1: not ours, left alone */
	expect_ok(&drv, "NetworkDriver.CreateEndpoint", CREATE_EP_CONNECT, "{\"Interface\":{}}");
	cr_expect_eq(pl_driver_endpoint(&drv, EP_CONNECT)->n_opts, 0);
	cr_expect_eq(drv.n_net, 3);
	cr_expect_eq(drv.n_ep, 2);
	const struct pl_network *n = pl_driver_network(&drv, NET_V6_INTERNAL);
	cr_assert_not_null(n);
	cr_expect(n->ipv6 && n->internal);
	cr_expect_eq(n->n4, 1);
	cr_expect_eq(n->n6, 1);
	n = pl_driver_network(&drv, NET_DEFAULT);
	cr_expect(!n->ipv6 && !n->internal);
	cr_expect_eq(n->gw4[0].len, 16);
}

Test(plugin_driver, ipv6_network_gives_both_gateways)
{
	const char *net = "{\"NetworkID\":\"" NET_V6 "\",\"Options\":{\"com.docker.network.enable_ipv6\":true,"
			  "\"com.docker.network.generic\":{}},\"IPv4Data\":[{\"AddressSpace\":\"LocalDefault\","
			  "\"Gateway\":\"10.97.0.1/24\",\"Pool\":\"10.97.0.0/24\"}],\"IPv6Data\":[{\"AddressSpace\":"
			  "\"LocalDefault\",\"Gateway\":\"fd00:97::1/64\",\"Pool\":\"fd00:97::/64\"}]}";

	expect_ok(&drv, "NetworkDriver.CreateNetwork", net, "{}");
	expect_ok(&drv, "NetworkDriver.CreateEndpoint", CREATE_EP_V6, "{\"Interface\":{}}");
	expect_ok(&drv, "NetworkDriver.Join",
		  "{\"NetworkID\":\"" NET_V6 "\",\"EndpointID\":\"" EP_V6 "\",\"SandboxKey\":\"/x\",\"Options\":{}}",
		  "{\"InterfaceName\":{\"SrcName\":\"azc3837f05bf30\",\"DstPrefix\":\"eth\"},"
		  "\"Gateway\":\"10.97.0.1\",\"GatewayIPv6\":\"fd00:97::1\"}");
	/* Without IPv6 on the endpoint the network cannot take it. */
	expect_err(&drv, "NetworkDriver.CreateEndpoint",
		   subst(subst(CREATE_EP_V6, EP_V6, EP_RUN), "fd00:97::2/64", ""),
		   "Interface.AddressIPv6", "required");
}

Test(plugin_driver, internal_network_has_no_gateway_and_no_gwbridge)
{
	expect_ok(&drv, "NetworkDriver.CreateNetwork", CREATE_NET_V6_INTERNAL, "{}");
	char *ep = subst(subst(subst(CREATE_EP_INTERNAL, NET_INTERNAL, NET_V6_INTERNAL), "10.96.0.2/24",
			       "10.98.0.2/24"),
			 "\"AddressIPv6\":\"\"", "\"AddressIPv6\":\"fd00:98::2/64\"");
	expect_ok(&drv, "NetworkDriver.CreateEndpoint", ep, "{\"Interface\":{}}");
	expect_ok(&drv, "NetworkDriver.Join",
		  "{\"NetworkID\":\"" NET_V6_INTERNAL "\",\"EndpointID\":\"" EP_INTERNAL "\",\"SandboxKey\":\"\"}",
		  "{\"InterfaceName\":{\"SrcName\":\"azc545634e187a\",\"DstPrefix\":\"eth\"},"
		  "\"DisableGatewayService\":true}");
	/* Docker sends Revoke even here (docs/docker-notes.md). */
	expect_ok(&drv, "NetworkDriver.RevokeExternalConnectivity",
		  "{\"NetworkID\":\"" NET_V6_INTERNAL "\",\"EndpointID\":\"" EP_INTERNAL "\"}", "{}");
}

Test(plugin_driver, recorded_internal_endpoint_with_empty_options)
{
	const char *net = "{\"NetworkID\":\"" NET_INTERNAL "\",\"Options\":{\"com.docker.network.enable_ipv6\":false,"
			  "\"com.docker.network.generic\":{},\"com.docker.network.internal\":true},"
			  "\"IPv4Data\":[{\"AddressSpace\":\"LocalDefault\",\"Gateway\":\"10.96.0.1/24\","
			  "\"Pool\":\"10.96.0.0/24\"}],\"IPv6Data\":[]}";
	expect_ok(&drv, "NetworkDriver.CreateNetwork", net, "{}");
	expect_ok(&drv, "NetworkDriver.CreateEndpoint", CREATE_EP_INTERNAL, "{\"Interface\":{}}");
}

Test(plugin_driver, missing_gateway_is_the_first_host)
{
	char *body = subst(CREATE_NET1, "\"Gateway\":\"10.99.0.1/24\",", "");
	expect_ok(&drv, "NetworkDriver.CreateNetwork", body, "{}");
	char a[AZ_PREFIXSTRLEN];
	cr_expect_str_eq(az_prefix_str(&drv.nets[0].gw4[0], a), "10.99.0.1/24");
	expect_ok(&drv, "NetworkDriver.CreateEndpoint", subst(CREATE_EP_RUN, EP_RUN, EP_JOIN),
		  "{\"Interface\":{}}");
	expect_ok(&drv, "NetworkDriver.Join", JOIN,
		  "{\"InterfaceName\":{\"SrcName\":\"" C_JOIN "\",\"DstPrefix\":\"eth\"},"
		  "\"Gateway\":\"10.99.0.1\"}");

	/* Also an empty Gateway, an IPv6 pool, and a gateway given bare. */
	char *v6 = subst(subst(CREATE_NET_V6_INTERNAL, "\"Gateway\":\"fd00:98::1/64\",", "\"Gateway\":\"\","),
			 "\"Gateway\":\"10.98.0.1/24\"", "\"Gateway\":\"10.98.0.254\"");
	expect_ok(&drv, "NetworkDriver.CreateNetwork", v6, "{}");
	const struct pl_network *n = pl_driver_network(&drv, NET_V6_INTERNAL);
	cr_expect_str_eq(az_prefix_str(&n->gw6[0], a), "fd00:98::1/64");
	cr_expect_str_eq(az_prefix_str(&n->gw4[0], a), "10.98.0.254/24");
}

Test(plugin_driver, gateway_of_the_endpoints_pool)
{
	char *body = subst(CREATE_NET1, "\"Pool\":\"10.99.0.0/24\"}]",
		     "\"Pool\":\"10.99.0.0/24\"},{\"Gateway\":\"10.100.0.1/24\",\"Pool\":\"10.100.0.0/24\"}]");
	expect_ok(&drv, "NetworkDriver.CreateNetwork", body, "{}");
	expect_ok(&drv, "NetworkDriver.CreateEndpoint",
		  subst(subst(CREATE_EP_RUN, EP_RUN, EP_JOIN), "10.99.0.50/24", "10.100.0.7/24"),
		  "{\"Interface\":{}}");
	expect_ok(&drv, "NetworkDriver.Join", JOIN,
		  "{\"InterfaceName\":{\"SrcName\":\"" C_JOIN "\",\"DstPrefix\":\"eth\"},"
		  "\"Gateway\":\"10.100.0.1\"}");
}

Test(plugin_driver, mtu_option)
{
	expect_ok(&drv, "NetworkDriver.CreateNetwork",
		  net1_with_generic("{\"com.docker.network.driver.mtu\":\"1450\"}"), "{}");
	cr_expect_eq(drv.nets[0].mtu, 1450);
	cr_expect_eq(drv.nets[0].n_opts, 0);
}

Test(plugin_driver, network_options_reach_the_rules)
{
	expect_ok(&drv, "NetworkDriver.CreateNetwork",
		  net1_with_generic("{\"alcatraz.network.lan-access\":\"192.168.1.50:5432\","
				    "\"alcatraz.network.dns\":\"none\",\"foo\":\"bar\"}"),
		  "{}");
	cr_assert_eq(drv.nets[0].n_opts, 2);
	expect_ok(&drv, "NetworkDriver.CreateEndpoint", subst(CREATE_EP_RUN, EP_RUN, EP_JOIN),
		  "{\"Interface\":{}}");
	fake.n = 0;
	expect_ok(&drv, "NetworkDriver.Join", JOIN,
		  "{\"InterfaceName\":{\"SrcName\":\"" C_JOIN "\",\"DstPrefix\":\"eth\"},"
		  "\"Gateway\":\"10.99.0.1\"}");
	cr_assert_eq(fake.n, 1);
	cr_expect_str_eq(fake.policy[0],
			 "enabled=on lan-access=192.168.1.50:5432 proxy=none dns=none proxy-udp=direct");
}

Test(plugin_driver, endpoint_options_win_over_network_options)
{
	expect_ok(&drv, "NetworkDriver.CreateNetwork",
		  net1_with_generic("{\"alcatraz.network.lan-access\":\"192.168.1.50:5432\","
				    "\"alcatraz.network.dns\":\"none\"}"),
		  "{}");
	expect_ok(&drv, "NetworkDriver.CreateEndpoint",
		  ep_with_opts("\"alcatraz.network.dns\":\"auto\",\"alcatraz.network.proxy-udp\":\"block\",\"k1\":\"v1\""),
		  "{\"Interface\":{}}");
	cr_expect_eq(drv.eps[0].n_opts, 2);
	fake.n = 0;
	expect_ok(&drv, "NetworkDriver.Join", JOIN,
		  "{\"InterfaceName\":{\"SrcName\":\"" C_JOIN "\",\"DstPrefix\":\"eth\"},"
		  "\"Gateway\":\"10.99.0.1\"}");
	cr_assert_eq(fake.n, 1);
	cr_expect_str_eq(fake.policy[0],
			 "enabled=on lan-access=192.168.1.50:5432 proxy=none dns=auto proxy-udp=block");
}

Test(plugin_driver, file_defaults_are_the_base)
{
	write_config("{\"isolate\":\"annotated\",\"lan-access\":[\"192.168.1.9\"],\"dns\":\"none\"}");
	net1_with_endpoint();
	expect_ok(&drv, "NetworkDriver.Join", JOIN,
		  "{\"InterfaceName\":{\"SrcName\":\"" C_JOIN "\",\"DstPrefix\":\"eth\"},"
		  "\"Gateway\":\"10.99.0.1\"}");
	cr_assert_eq(fake.n, 1);
	/* The driver itself asks for isolation, even under "annotated". */
	cr_expect_str_eq(fake.policy[0], "enabled=on lan-access=192.168.1.9 proxy=none dns=none proxy-udp=direct");
}

Test(plugin_driver, annotations_ignore_still_isolates)
{
	write_config("{\"annotations\":\"ignore\"}");
	expect_ok(&drv, "NetworkDriver.CreateNetwork",
		  net1_with_generic("{\"alcatraz.network\":\"off\"}"), "{}");
	expect_ok(&drv, "NetworkDriver.CreateEndpoint", subst(CREATE_EP_RUN, EP_RUN, EP_JOIN),
		  "{\"Interface\":{}}");
	fake.n = 0;
	expect_ok(&drv, "NetworkDriver.Join", JOIN,
		  "{\"InterfaceName\":{\"SrcName\":\"" C_JOIN "\",\"DstPrefix\":\"eth\"},"
		  "\"Gateway\":\"10.99.0.1\"}");
	cr_assert_eq(fake.n, 1);
	cr_expect_str_eq(fake.policy[0], DEFAULT_POLICY);
}

Test(plugin_driver, endpoint_switched_off_is_passed_on_as_off)
{
	expect_ok(&drv, "NetworkDriver.CreateNetwork", CREATE_NET1, "{}");
	expect_ok(&drv, "NetworkDriver.CreateEndpoint", ep_with_opts("\"alcatraz.network\":\"off\""),
		  "{\"Interface\":{}}");
	fake.n = 0;
	expect_ok(&drv, "NetworkDriver.Join", JOIN,
		  "{\"InterfaceName\":{\"SrcName\":\"" C_JOIN "\",\"DstPrefix\":\"eth\"},"
		  "\"Gateway\":\"10.99.0.1\"}");
	/* ops makes sure nothing is applied; the driver does not decide. */
	expect_calls("rules_apply " BR1 " " H_JOIN);
	cr_expect_str_eq(fake.policy[0], "enabled=off lan-access= proxy=none dns=auto proxy-udp=direct");
	cr_expect(drv.eps[0].joined);
	expect_ok(&drv, "NetworkDriver.Leave", EP_IDS, "{}");
	expect_calls("rules_apply " BR1 " " H_JOIN, "rules_remove " H_JOIN);
}

Test(plugin_driver, mac_address_is_kept)
{
	expect_ok(&drv, "NetworkDriver.CreateNetwork", CREATE_NET1, "{}");
	expect_ok(&drv, "NetworkDriver.CreateEndpoint",
		  subst(CREATE_EP_RUN, "\"MacAddress\":\"\"", "\"MacAddress\":\"02:42:0a:63:00:32\""),
		  "{\"Interface\":{}}");
	cr_expect(drv.eps[0].has_mac);
	cr_expect_eq(drv.eps[0].mac[0], 0x02);
	cr_expect_eq(drv.eps[0].mac[5], 0x32);
}

Test(plugin_driver, retried_creates_are_idempotent)
{
	/* A reply lost on the way makes Docker send the same call again. */
	expect_ok(&drv, "NetworkDriver.CreateNetwork", CREATE_NET1, "{}");
	expect_ok(&drv, "NetworkDriver.CreateNetwork", CREATE_NET1, "{}");
	expect_ok(&drv, "NetworkDriver.CreateEndpoint", CREATE_EP_RUN, "{\"Interface\":{}}");
	expect_ok(&drv, "NetworkDriver.CreateEndpoint", CREATE_EP_RUN, "{\"Interface\":{}}");
	expect_calls("network_create " BR1, "endpoint_create " BR1 " " H_RUN " azc680454bb4b2");
	cr_expect_eq(drv.n_net, 1);
	cr_expect_eq(drv.n_ep, 1);
	/* The same id with other settings is no retry. */
	expect_err(&drv, "NetworkDriver.CreateNetwork", subst(CREATE_NET1, "10.99.0.", "10.55.0."),
		   "exists with other settings");
	expect_err(&drv, "NetworkDriver.CreateEndpoint", subst(CREATE_EP_RUN, "10.99.0.50", "10.99.0.51"),
		   "exists with other settings");
}

Test(plugin_driver, unknown_ids_on_delete_and_leave_succeed)
{
	expect_ok(&drv, "NetworkDriver.DeleteNetwork", NET_IDS, "{}");
	expect_ok(&drv, "NetworkDriver.DeleteEndpoint", EP_IDS, "{}");
	expect_ok(&drv, "NetworkDriver.Leave", EP_IDS, "{}");
	expect_ok(&drv, "NetworkDriver.RevokeExternalConnectivity", EP_IDS, "{}");
	expect_ok(&drv, "NetworkDriver.ProgramExternalConnectivity", PROGRAM_NO_PORTS, "{}");
	expect_no_calls();
}

/* docker run -p: the gateway endpoint's Program carries the port map, which
 * Docker leaves to the driver; this one refuses rather than pretend. */
Test(plugin_driver, published_ports_are_refused_with_the_reason)
{
	net1_with_endpoint();
	expect_ok(&drv, "NetworkDriver.Join", JOIN,
		  "{\"InterfaceName\":{\"SrcName\":\"azc72c84cac027\",\"DstPrefix\":\"eth\"},"
		  "\"Gateway\":\"10.99.0.1\"}");
	expect_err(&drv, "NetworkDriver.ProgramExternalConnectivity", subst(PROGRAM, EP_RUN, EP_JOIN),
		   "publishing ports (-p/--publish, -P) is not supported");
	expect_err(&drv, "NetworkDriver.ProgramExternalConnectivity",
		   subst(PROGRAM_NO_PORTS, "[]}", "{}}"), "portmap must be an array");
	/* Options without a port map (an internal network's): nothing to refuse */
	expect_ok(&drv, "NetworkDriver.ProgramExternalConnectivity",
		  subst(PROGRAM_NO_PORTS, ",\"com.docker.network.portmap\":[]", ""), "{}");
}

Test(plugin_driver, delete_endpoint_without_leave_removes_rules)
{
	/* dockerd stopping, or a Leave that failed. */
	net1_with_endpoint();
	expect_ok(&drv, "NetworkDriver.Join", JOIN,
		  "{\"InterfaceName\":{\"SrcName\":\"" C_JOIN "\",\"DstPrefix\":\"eth\"},"
		  "\"Gateway\":\"10.99.0.1\"}");
	expect_ok(&drv, "NetworkDriver.DeleteEndpoint", EP_IDS, "{}");
	expect_calls("rules_apply " BR1 " " H_JOIN, "rules_remove " H_JOIN, "endpoint_delete " H_JOIN);
}

Test(plugin_driver, store_reload_gives_the_same_tables)
{
	struct pl_driver again;
	az_error err = { 0 };

	expect_ok(&drv, "NetworkDriver.CreateNetwork",
		  net1_with_generic("{\"alcatraz.network.lan-access\":\"192.168.1.50:5432 udp://[fd00::1]:53\","
				    "\"com.docker.network.driver.mtu\":\"1400\"}"),
		  "{}");
	expect_ok(&drv, "NetworkDriver.CreateNetwork", CREATE_NET_V6_INTERNAL, "{}");
	expect_ok(&drv, "NetworkDriver.CreateEndpoint",
		  ep_with_opts("\"alcatraz.network.proxy\":\"10.99.0.1:3128\""), "{\"Interface\":{}}");
	expect_ok(&drv, "NetworkDriver.CreateEndpoint",
		  subst(subst(subst(CREATE_EP_INTERNAL, NET_INTERNAL, NET_V6_INTERNAL), "10.96.0.2/24", "10.98.0.2/24"),
			"\"AddressIPv6\":\"\",\"MacAddress\":\"\"",
			"\"AddressIPv6\":\"fd00:98::2/64\",\"MacAddress\":\"02:00:00:00:00:01\""),
		  "{\"Interface\":{}}");
	expect_ok(&drv, "NetworkDriver.Join", JOIN,
		  "{\"InterfaceName\":{\"SrcName\":\"" C_JOIN "\",\"DstPrefix\":\"eth\"},"
		  "\"Gateway\":\"10.99.0.1\"}");

	pl_driver_init(&again, &fake_ops, state_dir, &err);
	cr_assert_eq(pl_store_load(&again, &err), 0, "%s", err.msg);
	cr_assert_eq(again.n_net, drv.n_net);
	cr_assert_eq(again.n_ep, drv.n_ep);
	for (size_t i = 0; i < drv.n_net; i++) {
		const struct pl_network *a = &drv.nets[i], *b = pl_driver_network(&again, a->id);
		cr_assert_not_null(b);
		cr_expect_str_eq(a->bridge, b->bridge);
		cr_expect_eq(a->n4, b->n4);
		cr_expect_eq(a->n6, b->n6);
		for (size_t k = 0; k < a->n4; k++) {
			cr_expect(az_addr_eq(&a->pool4[k].addr, &b->pool4[k].addr) && a->pool4[k].len == b->pool4[k].len);
			cr_expect(az_addr_eq(&a->gw4[k].addr, &b->gw4[k].addr) && a->gw4[k].len == b->gw4[k].len);
		}
		for (size_t k = 0; k < a->n6; k++) {
			cr_expect(az_addr_eq(&a->pool6[k].addr, &b->pool6[k].addr) && a->pool6[k].len == b->pool6[k].len);
			cr_expect(az_addr_eq(&a->gw6[k].addr, &b->gw6[k].addr) && a->gw6[k].len == b->gw6[k].len);
		}
		cr_expect_eq(a->ipv6, b->ipv6);
		cr_expect_eq(a->internal, b->internal);
		cr_expect_eq(a->mtu, b->mtu);
		cr_assert_eq(a->n_opts, b->n_opts);
		for (size_t k = 0; k < a->n_opts; k++) {
			cr_expect_str_eq(a->opts[k].key, b->opts[k].key);
			cr_expect_str_eq(a->opts[k].value, b->opts[k].value);
		}
	}
	for (size_t i = 0; i < drv.n_ep; i++) {
		const struct pl_endpoint *a = &drv.eps[i], *b = pl_driver_endpoint(&again, a->id);
		cr_assert_not_null(b);
		cr_expect_str_eq(a->network_id, b->network_id);
		cr_expect_str_eq(a->host_if, b->host_if);
		cr_expect_str_eq(a->ctr_if, b->ctr_if);
		cr_expect_eq(a->has4, b->has4);
		cr_expect_eq(a->has6, b->has6);
		cr_expect(!a->has4 || (az_addr_eq(&a->addr4.addr, &b->addr4.addr) && a->addr4.len == b->addr4.len));
		cr_expect(!a->has6 || (az_addr_eq(&a->addr6.addr, &b->addr6.addr) && a->addr6.len == b->addr6.len));
		cr_expect_eq(a->has_mac, b->has_mac);
		cr_expect_arr_eq(a->mac, b->mac, 6);
		cr_expect_eq(a->joined, b->joined);
		cr_expect_str_eq(a->container_id, b->container_id);
		cr_assert_eq(a->n_opts, b->n_opts);
		for (size_t k = 0; k < a->n_opts; k++) {
			cr_expect_str_eq(a->opts[k].key, b->opts[k].key);
			cr_expect_str_eq(a->opts[k].value, b->opts[k].value);
		}
	}
	cr_expect(pl_driver_endpoint(&again, EP_JOIN)->joined);

	/* The restored driver carries on where the first left off. */
	fake.n = 0;
	expect_ok(&again, "NetworkDriver.Leave", EP_IDS, "{}");
	expect_ok(&again, "NetworkDriver.DeleteEndpoint", EP_IDS, "{}");
	expect_ok(&again, "NetworkDriver.DeleteNetwork", NET_IDS, "{}");
	expect_calls("rules_remove " H_JOIN, "endpoint_delete " H_JOIN, "network_delete " BR1);
	pl_driver_free(&again);
}

/* ---- errors: every one a clear Err, nothing left behind ---- */

Test(plugin_driver_errors, malformed_bodies)
{
	static const char *const bodies[] = { "", "{", "[]", "null", "\"x\"", "42", "{} x", "{}{}",
					      "{\"NetworkID\":}", "\xff\xfe", "{\"a\":\"\\ud800\"" };
	static const char *const methods[] = {
		"NetworkDriver.CreateNetwork", "NetworkDriver.DeleteNetwork", "NetworkDriver.CreateEndpoint",
		"NetworkDriver.EndpointOperInfo", "NetworkDriver.DeleteEndpoint", "NetworkDriver.Join",
		"NetworkDriver.Leave", "NetworkDriver.ProgramExternalConnectivity",
		"NetworkDriver.RevokeExternalConnectivity",
	};
	for (size_t m = 0; m < sizeof(methods) / sizeof(methods[0]); m++)
		for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++)
			expect_err(&drv, methods[m], bodies[i], "");
	expect_err(&drv, "NetworkDriver.CreateNetwork", "", "has no body");
	expect_err(&drv, "NetworkDriver.CreateNetwork", "{", "not valid JSON");
	expect_err(&drv, "NetworkDriver.CreateNetwork", "[]", "not a JSON object");
	expect_err(&drv, "NetworkDriver.CreateNetwork", "{} x", "data after");
	expect_no_calls();
	cr_expect_eq(drv.n_net + drv.n_ep, 0);
}

Test(plugin_driver_errors, nul_and_oversized_bodies)
{
	int status;
	char body[] = "{\"NetworkID\":\"" NET1 "\"}\0{}";
	char *t = pl_driver_call(&drv, "/NetworkDriver.DeleteNetwork", body, sizeof(body) - 1, &status);
	cr_expect(strstr(t, "NUL") != NULL, "%s", t);
	free(t);

	size_t big = PL_MAX_BODY + 1;
	char *huge = malloc(big + 1);
	memset(huge, ' ', big);
	huge[0] = '{';
	huge[big - 1] = '}';
	huge[big] = '\0';
	t = pl_driver_call(&drv, "/NetworkDriver.CreateNetwork", huge, big, &status);
	cr_expect_eq(status, 200);
	cr_expect(strstr(t, "larger than") != NULL, "%s", t);
	free(t);
	free(huge);

	/* Deep nesting is refused by cJSON's limit, not by the stack. */
	struct az_buf deep;
	az_buf_init(&deep);
	for (int i = 0; i < 100000; i++)
		az_buf_append(&deep, "[", 1);
	t = pl_driver_call(&drv, "/NetworkDriver.CreateNetwork", deep.data, deep.len, &status);
	cr_expect(strstr(t, "not valid JSON") != NULL, "%.200s", t);
	free(t);
	az_buf_free(&deep);
}

Test(plugin_driver_errors, bad_ids)
{
	static const char *const ids[] = {
		"\"1DB3E1737F660270B69F73296DBD4F24F5D5B2CEA112A21D39ABEB4F99B37EDC\"",	/* upper case */
		"\"1db3e1737f660270b69f73296dbd4f24f5d5b2cea112a21d39abeb4f99b37ed\"",	/* 63 */
		"\"1db3e1737f660270b69f73296dbd4f24f5d5b2cea112a21d39abeb4f99b37edc0\"",	/* 65 */
		"\"1db3e1737f660270b69f73296dbd4f24f5d5b2cea112a21d39abeb4f99b37edg\"",	/* not hex */
		"\"../../../../etc/passwd\"", "\"\"", "42", "null", "[]", "{}", "true",
	};
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		char *net = subst(CREATE_NET1, "\"" NET1 "\"", ids[i]);
		expect_err(&drv, "NetworkDriver.CreateNetwork", net, "NetworkID");
		expect_err(&drv, "NetworkDriver.DeleteNetwork", subst(NET_IDS, "\"" NET1 "\"", ids[i]), "NetworkID");
		expect_err(&drv, "NetworkDriver.Leave", subst(EP_IDS, "\"" EP_JOIN "\"", ids[i]), "EndpointID");
		expect_err(&drv, "NetworkDriver.DeleteEndpoint", subst(EP_IDS, "\"" EP_JOIN "\"", ids[i]),
			   "EndpointID");
		expect_err(&drv, "NetworkDriver.Join", subst(JOIN, "\"" EP_JOIN "\"", ids[i]), "EndpointID");
	}
	expect_err(&drv, "NetworkDriver.CreateNetwork", "{}", "NetworkID is missing");
	expect_err(&drv, "NetworkDriver.Join", "{\"NetworkID\":\"" NET1 "\"}", "EndpointID is missing");
	expect_err(&drv, "NetworkDriver.CreateNetwork", subst(CREATE_NET1, "\"" NET1 "\"", "42"),
		   "NetworkID must be a string");
	expect_err(&drv, "NetworkDriver.CreateNetwork", subst(CREATE_NET1, NET1, "1DB3"),
		   "NetworkID is not 64 lowercase hexadecimal characters");
	expect_no_calls();
	cr_expect_eq(drv.n_net, 0);
}

Test(plugin_driver_errors, unknown_ids_where_they_matter)
{
	expect_err(&drv, "NetworkDriver.CreateEndpoint", CREATE_EP_RUN, "network 1db3e1737f66",
		   "not an alcatraz network");
	expect_err(&drv, "NetworkDriver.Join", JOIN, "endpoint 72c84cac0272 does not exist");
	expect_err(&drv, "NetworkDriver.EndpointOperInfo", EP_IDS, "endpoint 72c84cac0272 does not exist");
	net1_with_endpoint();
	/* The endpoint exists, but on another network than the call says. */
	expect_err(&drv, "NetworkDriver.Join", subst(JOIN, NET1, NET_DEFAULT),
		   "is on network 1db3e1737f66, not b7306fc5d646");
	expect_err(&drv, "NetworkDriver.Leave", subst(EP_IDS, NET1, NET_DEFAULT), "is on network");
	expect_err(&drv, "NetworkDriver.Join", subst(JOIN, "\"SandboxKey\":\"/run", "\"SandboxKey\":7,\"x\":\"/run"),
		   "SandboxKey must be a string");
	expect_no_calls();
}

Test(plugin_driver_errors, wrong_types_in_create_network)
{
	static const struct {
		const char *from, *to, *err;
	} v[] = {
		{ "\"Options\":{", "\"Options\":[],\"x\":{", "Options must be an object" },
		{ "\"com.docker.network.enable_ipv6\":false", "\"com.docker.network.enable_ipv6\":\"no\"",
		  "com.docker.network.enable_ipv6 must be true or false" },
		{ "\"com.docker.network.enable_ipv6\":false", "\"com.docker.network.internal\":1",
		  "com.docker.network.internal must be true or false" },
		{ "\"com.docker.network.generic\":{\"az.x\":\"1\",\"foo\":\"bar\"}", "\"com.docker.network.generic\":\"x\"",
		  "com.docker.network.generic must be an object" },
		{ "\"IPv4Data\":[{\"AddressSpace\":\"LocalDefault\",\"Gateway\":\"10.99.0.1/24\",\"Pool\":\"10.99.0.0/24\"}]",
		  "\"IPv4Data\":{}", "IPv4Data must be an array" },
		{ "\"IPv6Data\":[]", "\"IPv6Data\":7", "IPv6Data must be an array" },
		{ "\"Pool\":\"10.99.0.0/24\"", "\"Pool\":24", "IPv4Data[0]: Pool must be a string" },
		{ "\"Pool\":\"10.99.0.0/24\"", "\"Pool\":\"10.99.0.0/33\"", "IPv4Data[0]: Pool" },
		{ "\"Pool\":\"10.99.0.0/24\"", "\"Pool\":\"10.99.0.300/24\"", "10.99.0.300 is not" },
		{ "\"Pool\":\"10.99.0.0/24\"", "\"Pool\":\"10.99.0.1/24\"", "host bits" },
		{ "\"Pool\":\"10.99.0.0/24\"", "\"Pool\":\"fd00::/64\"", "is not IPv4" },
		{ ",\"Pool\":\"10.99.0.0/24\"", "", "Pool is missing" },
		{ "\"Gateway\":\"10.99.0.1/24\"", "\"Gateway\":1", "Gateway must be a string" },
		{ "\"Gateway\":\"10.99.0.1/24\"", "\"Gateway\":\"10.98.0.1/24\"", "gateway 10.98.0.1/24 is not in pool 10.99.0.0/24" },
		{ "\"Gateway\":\"10.99.0.1/24\"", "\"Gateway\":\"10.99.0.1/16\"", "is not in pool" },
		{ "\"Gateway\":\"10.99.0.1/24\"", "\"Gateway\":\"10.99.0.0/24\"", "network address" },
		{ "\"Gateway\":\"10.99.0.1/24\"", "\"Gateway\":\"fd00::1/64\"", "not an IPv4 address" },
		{ "\"Gateway\":\"10.99.0.1/24\"", "\"Gateway\":\"10.99.0.1/x\"", "prefix length" },
		{ "\"Gateway\":\"10.99.0.1/24\"", "\"Gateway\":\"\\u001b[2J\"", "not an IP address with" },
		{ "[{\"AddressSpace\"", "[7,{\"AddressSpace\"", "IPv4Data[0]: must be an object" },
		{ "\"IPv6Data\":[]", "\"IPv6Data\":[{\"Pool\":\"fd00::/64\"}]", "" },	/* ignored: IPv6 off */
		{ "\"com.docker.network.enable_ipv6\":false", "\"com.docker.network.enable_ipv6\":true",
		  "IPv6 is enabled but IPv6Data has no pool" },
		{ "\"az.x\":\"1\"", "\"com.docker.network.driver.mtu\":\"abc\"", "com.docker.network.driver.mtu must be a number" },
		{ "\"az.x\":\"1\"", "\"com.docker.network.driver.mtu\":\"10\"", "MTU 10 is not between 68 and 65535" },
		{ "\"az.x\":\"1\"", "\"com.docker.network.driver.mtu\":1500", "com.docker.network.driver.mtu must be" },
		{ "\"az.x\":\"1\"", "\"com.docker.network.driver.mtu\":\"99999999\"", "must be a number" },
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		char *body = subst(CREATE_NET1, v[i].from, v[i].to);
		if (!*v[i].err) {
			expect_ok(&drv, "NetworkDriver.CreateNetwork", body, "{}");
			cr_expect_eq(drv.nets[0].n6, 0);
			expect_ok(&drv, "NetworkDriver.DeleteNetwork", NET_IDS, "{}");
			continue;
		}
		cr_expect_neq(strcmp(body, CREATE_NET1), 0, "case %zu did not apply", i);
		expect_err(&drv, "NetworkDriver.CreateNetwork", body, v[i].err);
	}
	char *none = subst(CREATE_NET1, "\"IPv4Data\":[{\"AddressSpace\":\"LocalDefault\",\"Gateway\":\"10.99.0.1/24\",\"Pool\":\"10.99.0.0/24\"}]", "\"IPv4Data\":[]");
	expect_err(&drv, "NetworkDriver.CreateNetwork", none, "has no address pool");
	char *five = subst(CREATE_NET1, "\"Pool\":\"10.99.0.0/24\"}]",
			   "\"Pool\":\"10.99.0.0/24\"},{\"Pool\":\"10.1.0.0/24\"},{\"Pool\":\"10.2.0.0/24\"},"
			   "{\"Pool\":\"10.3.0.0/24\"},{\"Pool\":\"10.4.0.0/24\"}]");
	expect_err(&drv, "NetworkDriver.CreateNetwork", five, "more than 4 pools");
	expect_calls("network_create " BR1, "network_delete " BR1);
	cr_expect_eq(drv.n_net, 0);
	cr_expect(!record_exists("network", NET1));
}

Test(plugin_driver_errors, bad_alcatraz_values_in_network_options)
{
	static const struct {
		const char *generic;
		const char *has[2];
	} v[] = {
		{ "{\"alcatraz.network.lan-access\":\"192.168.1.300\"}",
		  { "network option alcatraz.network.lan-access", "192.168.1.300" } },
		{ "{\"alcatraz.network.proxy\":\"nowhere:3128\"}", { "alcatraz.network.proxy", "nowhere" } },
		{ "{\"alcatraz.network.dns\":\"192.0.2.53.5\"}", { "alcatraz.network.dns", "192.0.2.53.5" } },
		{ "{\"alcatraz.network.proxy-udp\":\"sometimes\"}", { "alcatraz.network.proxy-udp", "sometimes" } },
		{ "{\"alcatraz.network\":\"maybe\"}", { "alcatraz.network", "maybe" } },
		{ "{\"alcatraz.network.lan_access\":\"*\"}", { "unknown setting \"alcatraz.network.lan_access\"", "" } },
		{ "{\"alcatraz.netwrok.dns\":\"none\"}", { "unknown setting \"alcatraz.netwrok.dns\"", "" } },
		{ "{\"alcatraz.network.dns\":5}", { "network option alcatraz.network.dns must be a string", "" } },
		{ "{\"alcatraz.network.dns\":\"none\\u0007\"}", { "alcatraz.network.dns", "control character" } },
		{ "{\"alcatraz.\\u001b[31m\":\"x\"}", { "unprintable or overlong", "" } },
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		expect_err(&drv, "NetworkDriver.CreateNetwork", net1_with_generic(v[i].generic), v[i].has[0],
			   v[i].has[1]);
	expect_no_calls();
	cr_expect_eq(drv.n_net, 0);
	cr_expect(!record_exists("network", NET1));
}

Test(plugin_driver_errors, narrow_policy_refuses_widening_network_options)
{
	write_config("{\"isolate\":\"all\",\"annotations\":\"narrow\",\"lan-access\":[\"192.168.1.0/24:443\"]}");
	expect_err(&drv, "NetworkDriver.CreateNetwork",
		   net1_with_generic("{\"alcatraz.network.lan-access\":\"192.168.1.50:22\"}"),
		   "alcatraz.network.lan-access", "widens");
	expect_err(&drv, "NetworkDriver.CreateNetwork", net1_with_generic("{\"alcatraz.network\":\"off\"}"),
		   "alcatraz.network", "widens");
	/* A narrowing one passes. */
	expect_ok(&drv, "NetworkDriver.CreateNetwork",
		  net1_with_generic("{\"alcatraz.network.lan-access\":\"192.168.1.50:443\"}"), "{}");
	expect_calls("network_create " BR1);
}

Test(plugin_driver_errors, broken_settings_file)
{
	write_config("{\"isolate\":\"everything\"}");
	expect_err(&drv, "NetworkDriver.CreateNetwork", CREATE_NET1, "alcatraz.json", "everything");
	expect_no_calls();
}

Test(plugin_driver_errors, bad_alcatraz_values_in_driver_opts)
{
	expect_ok(&drv, "NetworkDriver.CreateNetwork",
		  net1_with_generic("{\"alcatraz.network.dns\":\"none\"}"), "{}");
	fake.n = 0;
	static const struct {
		const char *opts;
		const char *has[2];
	} v[] = {
		{ "\"alcatraz.network.lan-access\":\"tcp://192.168.1.300:80\"",
		  { "endpoint option (driver-opt) alcatraz.network.lan-access", "192.168.1.300" } },
		{ "\"alcatraz.network.proxy\":\"10.0.0.1:99999\"", { "alcatraz.network.proxy", "99999" } },
		{ "\"alcatraz.network.bogus\":\"1\"", { "unknown setting \"alcatraz.network.bogus\"", "" } },
		{ "\"alcatraz.network.dns\":[\"192.0.2.53\"]", { "alcatraz.network.dns must be a string", "" } },
		{ "\"alcatraz.network.dns\":\"none\",\"alcatraz.network.dns\":\"auto\"",
		  { "alcatraz.network.dns is given twice", "" } },
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		expect_err(&drv, "NetworkDriver.CreateEndpoint", ep_with_opts(v[i].opts), v[i].has[0],
			   v[i].has[1]);
	expect_no_calls();
	cr_expect_eq(drv.n_ep, 0);
	cr_expect(!record_exists("endpoint", EP_JOIN));
}

Test(plugin_driver_errors, wrong_endpoint_requests)
{
	expect_ok(&drv, "NetworkDriver.CreateNetwork", CREATE_NET1, "{}");
	fake.n = 0;
	static const struct {
		const char *from, *to, *err;
	} v[] = {
		{ "\"Interface\":{\"Address\":\"10.99.0.50/24\",\"AddressIPv6\":\"\",\"MacAddress\":\"\"}",
		  "\"Interface\":null", "an IPv4 address (Interface.Address) is required" },
		{ "\"Interface\":{", "\"Interface\":\"x\",\"y\":{", "Interface must be an object" },
		{ "\"Address\":\"10.99.0.50/24\"", "\"Address\":\"\"", "Interface.Address) is required" },
		{ "\"Address\":\"10.99.0.50/24\"", "\"Address\":5", "Interface: Address must be a string" },
		{ "\"Address\":\"10.99.0.50/24\"", "\"Address\":\"10.99.1.50/24\"", "10.99.1.50/24 is in none of the network's pools" },
		{ "\"Address\":\"10.99.0.50/24\"", "\"Address\":\"10.99.0.50\"", "in none of the network's pools" },
		{ "\"Address\":\"10.99.0.50/24\"", "\"Address\":\"10.99.0.1/24\"", "10.99.0.1/24 is the network's gateway" },
		{ "\"Address\":\"10.99.0.50/24\"", "\"Address\":\"fd00::5/64\"", "Interface.Address: fd00::5 is not an IPv4 address" },
		{ "\"Address\":\"10.99.0.50/24\"", "\"Address\":\"10.99.0.50/24; rm -rf /\"", "Interface.Address: " },
		{ "\"AddressIPv6\":\"\"", "\"AddressIPv6\":\"fd00::5/64\"", "not possible (IPv6 is not enabled)" },
		{ "\"MacAddress\":\"\"", "\"MacAddress\":\"zz:zz:zz:zz:zz:zz\"", "Interface.MacAddress is not a MAC address" },
		{ "\"MacAddress\":\"\"", "\"MacAddress\":\"03:00:00:00:00:01\"", "multicast" },
		{ "\"Options\":{", "\"Options\":[],\"x\":{", "Options must be an object" },
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		char *body = subst(CREATE_EP_RUN, v[i].from, v[i].to);
		cr_expect_neq(strcmp(body, CREATE_EP_RUN), 0, "case %zu did not apply", i);
		expect_err(&drv, "NetworkDriver.CreateEndpoint", body, v[i].err);
	}
	expect_no_calls();
	cr_expect_eq(drv.n_ep, 0);
}

/* Docker refuses `network rm` while it knows endpoints, so endpoints still
 * here are orphans (dockerd was killed): they go with the network. */
Test(plugin_driver, delete_network_removes_orphaned_endpoints)
{
	net1_with_endpoint();
	expect_ok(&drv, "NetworkDriver.DeleteNetwork", NET_IDS, "{}");
	cr_expect(!record_exists("network", NET1));
	cr_expect_eq(drv.n_net, 0);
	cr_expect_eq(drv.n_ep, 0);
}

static bool none_exist(const char *name)
{
	(void)name;
	return false;
}

static bool all_exist(const char *name)
{
	(void)name;
	return true;
}

Test(plugin_driver, orphans_collected_at_start)
{
	size_t removed = 9;
	net1_with_endpoint();
	drv.eps[0].joined = true;
	cr_assert_eq(pl_driver_collect_orphans(&drv, all_exist, &removed), 0);
	cr_expect_eq(removed, 0);
	cr_expect_eq(drv.n_ep, 1);
	cr_assert_eq(pl_driver_collect_orphans(&drv, none_exist, &removed), 0);
	cr_expect_eq(removed, 1);
	cr_expect_eq(drv.n_ep, 0);
	cr_expect_eq(drv.n_net, 1, "the network stays, repaired");
}

/* The plugin killed in Join: at its next start the endpoint, never joined,
 * goes though its veth is there (Docker gave up on it). */
Test(plugin_driver, never_joined_collected_at_start)
{
	size_t removed = 9;
	net1_with_endpoint();
	cr_assert_eq(pl_driver_collect_orphans(&drv, all_exist, &removed), 0);
	cr_expect_eq(removed, 1);
	cr_expect_eq(drv.n_ep, 0);
	cr_expect_eq(drv.n_net, 1);
}

Test(plugin_driver_errors, network_create_fails)
{
	fake.fail = "network_create";
	expect_err(&drv, "NetworkDriver.CreateNetwork", CREATE_NET1, "creating bridge " BR1,
		   "network_create failed on purpose");
	expect_calls("network_create " BR1);
	cr_expect_eq(drv.n_net, 0);
	cr_expect(!record_exists("network", NET1));
}

Test(plugin_driver_errors, endpoint_create_fails)
{
	expect_ok(&drv, "NetworkDriver.CreateNetwork", CREATE_NET1, "{}");
	fake.fail = "endpoint_create";
	expect_err(&drv, "NetworkDriver.CreateEndpoint", CREATE_EP_RUN, "creating veth " H_RUN,
		   "endpoint_create failed on purpose");
	cr_expect_eq(drv.n_ep, 0);
	cr_expect(!record_exists("endpoint", EP_RUN));
}

Test(plugin_driver_errors, rules_apply_fails_and_leaves_nothing)
{
	net1_with_endpoint();
	fake.fail = "rules_apply";
	expect_err(&drv, "NetworkDriver.Join", JOIN, "applying the rules of endpoint 72c84cac0272",
		   "rules_apply failed on purpose");
	/* Whatever went in partly is taken out again. */
	expect_calls("rules_apply " BR1 " " H_JOIN, "rules_remove " H_JOIN);
	cr_expect(!drv.eps[0].joined);
	/* The record still says "not joined". */
	struct pl_driver again;
	az_error err;
	pl_driver_init(&again, &fake_ops, state_dir, &err);
	cr_assert_eq(pl_store_load(&again, &err), 0);
	cr_expect(!pl_driver_endpoint(&again, EP_JOIN)->joined);
	pl_driver_free(&again);
}

Test(plugin_driver_errors, rules_remove_fails_on_leave)
{
	net1_with_endpoint();
	expect_ok(&drv, "NetworkDriver.Join", JOIN,
		  "{\"InterfaceName\":{\"SrcName\":\"" C_JOIN "\",\"DstPrefix\":\"eth\"},"
		  "\"Gateway\":\"10.99.0.1\"}");
	fake.fail = "rules_remove";
	expect_err(&drv, "NetworkDriver.Leave", EP_IDS, "rules_remove failed on purpose");
	cr_expect(drv.eps[0].joined, "still joined: DeleteEndpoint tries again");
	fake.fail = NULL;
	fake.n = 0;
	expect_ok(&drv, "NetworkDriver.DeleteEndpoint", EP_IDS, "{}");
	expect_calls("rules_remove " H_JOIN, "endpoint_delete " H_JOIN);
}

Test(plugin_driver_errors, deletes_that_fail_keep_the_record)
{
	net1_with_endpoint();
	fake.fail = "endpoint_delete";
	expect_err(&drv, "NetworkDriver.DeleteEndpoint", EP_IDS, "removing veth " H_JOIN);
	cr_expect_eq(drv.n_ep, 1);
	cr_expect(record_exists("endpoint", EP_JOIN));
	fake.fail = NULL;
	expect_ok(&drv, "NetworkDriver.DeleteEndpoint", EP_IDS, "{}");
	fake.fail = "network_delete";
	expect_err(&drv, "NetworkDriver.DeleteNetwork", NET_IDS, "removing bridge " BR1);
	cr_expect_eq(drv.n_net, 1);
	cr_expect(record_exists("network", NET1));
	fake.fail = NULL;
	expect_ok(&drv, "NetworkDriver.DeleteNetwork", NET_IDS, "{}");
	cr_expect(!record_exists("network", NET1));
}

Test(plugin_driver_errors, store_failure_rolls_the_effect_back)
{
	char p[256];

	/* A file where the networks dir should be: every write fails. */
	snprintf(p, sizeof(p), "%s/networks", state_dir);
	cr_assert_eq(rmdir(p), 0);
	cr_assert_eq(close(open(p, O_CREAT | O_WRONLY, 0600)), 0);
	expect_err(&drv, "NetworkDriver.CreateNetwork", CREATE_NET1, "saving the plugin's state");
	expect_calls("network_create " BR1, "network_delete " BR1);
	cr_expect_eq(drv.n_net, 0);

	/* The same for an endpoint. */
	unlink(p);
	mkdir(p, 0700);
	expect_ok(&drv, "NetworkDriver.CreateNetwork", CREATE_NET1, "{}");
	snprintf(p, sizeof(p), "%s/endpoints", state_dir);
	cr_assert_eq(rmdir(p), 0);
	cr_assert_eq(close(open(p, O_CREAT | O_WRONLY, 0600)), 0);
	fake.n = 0;
	expect_err(&drv, "NetworkDriver.CreateEndpoint", CREATE_EP_RUN, "saving the plugin's state");
	expect_calls("endpoint_create " BR1 " " H_RUN " azc680454bb4b2", "endpoint_delete " H_RUN);
	cr_expect_eq(drv.n_ep, 0);
}

Test(plugin_driver_errors, bridge_name_collision_is_refused_before_any_effect)
{
	expect_ok(&drv, "NetworkDriver.CreateNetwork", CREATE_NET1, "{}");
	fake.n = 0;
	/* Same first 12 hex digits, another id. */
	char *other = subst(CREATE_NET1, NET1, "1db3e1737f66ffffffffffffffffffffffffffffffffffffffffffffffffffff");
	other = subst(other, "10.99.0.", "10.55.0.");
	expect_err(&drv, "NetworkDriver.CreateNetwork", other, "bridge " BR1 " is already used");
	expect_no_calls();
	cr_expect_eq(drv.n_net, 1);
}
