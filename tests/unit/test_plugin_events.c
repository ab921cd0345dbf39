/* test_plugin_events.c — the label route (plugin/events.c, plugin/engine.c):
 * Docker's event lines and container lists parsed (the shapes of
 * docs/docker-notes.md and of a real dockerd 20.10), the precedence of
 * settings, an endpoint held at Join and released with its labels (fake
 * effects), the Engine API client against a fake dockerd on a Unix socket,
 * and the whole thread: event → lookup → release, reconcile, a dead socket.
 */
#include "test_plugin.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

#define BR1 "az1db3e1737f66"
#define H_JOIN "azh72c84cac027"
#define CTR "3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a"
#define CTR2 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define DEFAULT_POLICY "enabled=on lan-access= proxy=none dns=auto proxy-udp=direct"

/* The connect event as docs/docker-notes.md records it, with the fields
 * every dockerd 20.10 event has. */
#define EVENT_CONNECT                                                                         \
	"{\"Type\":\"network\",\"Action\":\"connect\",\"Actor\":{\"ID\":\"" NET1 "\","          \
	"\"Attributes\":{\"container\":\"" CTR "\",\"name\":\"az1b2c3a\",\"type\":\"az1b2c3net\"}}," \
	"\"scope\":\"local\",\"time\":1764430000,\"timeNano\":1764430000123456789}"

/* One container of GET /containers/json (dockerd 20.10), labels and
 * network settings filled in per test. */
static char *ctr_json(const char *id, const char *labels, const char *nets)
{
	return fmt("{\"Id\":\"%s\",\"Names\":[\"/web-1\"],\"Image\":\"busybox:az\","
		   "\"ImageID\":\"sha256:5b0e0c1e7f0a\",\"Command\":\"sleep 300\",\"Created\":1764430000,"
		   "\"Ports\":[],\"Labels\":%s,\"State\":\"running\",\"Status\":\"Up 1 second\","
		   "\"HostConfig\":{\"NetworkMode\":\"az1b2c3a\"},\"NetworkSettings\":{\"Networks\":%s},"
		   "\"Mounts\":[]}",
		   id, labels, nets);
}

static char *net_json(const char *name, const char *nid, const char *eid)
{
	return fmt("\"%s\":{\"IPAMConfig\":null,\"Links\":null,\"Aliases\":null,\"NetworkID\":\"%s\","
		   "\"EndpointID\":\"%s\",\"Gateway\":\"10.99.0.1\",\"IPAddress\":\"10.99.0.2\","
		   "\"IPPrefixLen\":24,\"IPv6Gateway\":\"\",\"GlobalIPv6Address\":\"\","
		   "\"GlobalIPv6PrefixLen\":0,\"MacAddress\":\"02:42:0a:63:00:02\",\"DriverOpts\":null}",
		   name, nid, eid);
}

static char *one_ctr(const char *labels)
{
	return fmt("[%s]", ctr_json(CTR, labels, fmt("{%s}", net_json("az1b2c3a", NET1, EP_JOIN))));
}

/* ---- fake effects that also say whether the rules went in held ---- */

static int held_rules_apply(const struct pl_network *n, const struct pl_endpoint *e,
			    const struct az_policy *p, az_error *err)
{
	char line[256];
	snprintf(line, sizeof(line), "rules_apply %s %s hold=%d", n->bridge, e->host_if, e->hold);
	fake_record(line, p);
	return fake_result("rules_apply", err);
}

static const struct pl_ops held_ops = {
	.network_create = fake_network_create,
	.network_delete = fake_network_delete,
	.endpoint_create = fake_endpoint_create,
	.endpoint_delete = fake_endpoint_delete,
	.rules_apply = held_rules_apply,
	.rules_remove = fake_rules_remove,
};

static struct pl_driver drv;

static void setup(void)
{
	az_error err = { 0 };
	tmp_setup();
	cr_assert_eq(pl_driver_init(&drv, &held_ops, state_dir, &err), 0, "%s", err.msg);
	drv.labels = true;
}

static void teardown(void)
{
	pl_driver_free(&drv);
	tmp_teardown();
}

TestSuite(events_parse, .init = tmp_setup, .fini = tmp_teardown);
TestSuite(events_apply, .init = setup, .fini = teardown);

/* ---- event lines ---- */

Test(events_parse, connect_event)
{
	struct pl_event ev;
	az_error err = { 0 };

	cr_assert_eq(pl_event_parse(EVENT_CONNECT, strlen(EVENT_CONNECT), &ev, &err), 1, "%s", err.msg);
	cr_expect_str_eq(ev.network_id, NET1);
	cr_expect_str_eq(ev.container_id, CTR);
	/* as the stream delivers it: with the newline */
	char *line = fmt("%s\n", EVENT_CONNECT);
	cr_expect_eq(pl_event_parse(line, strlen(line), &ev, &err), 1);
}

Test(events_parse, other_events_are_not_for_us)
{
	static const char *const lines[] = {
		"{\"Type\":\"network\",\"Action\":\"disconnect\",\"Actor\":{\"ID\":\"" NET1
		"\",\"Attributes\":{\"container\":\"" CTR "\"}}}",
		"{\"Type\":\"network\",\"Action\":\"create\",\"Actor\":{\"ID\":\"" NET1
		"\",\"Attributes\":{\"name\":\"n\",\"type\":\"bridge\"}}}",
		"{\"status\":\"start\",\"id\":\"" CTR "\",\"Type\":\"container\",\"Action\":\"start\","
		"\"Actor\":{\"ID\":\"" CTR "\",\"Attributes\":{\"image\":\"busybox:az\"}}}",
		"", "\n", "  \r\n",
	};
	struct pl_event ev;
	az_error err = { 0 };

	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		cr_expect_eq(pl_event_parse(lines[i], strlen(lines[i]), &ev, &err), 0, "line %zu: %s",
			     i, err.msg);
}

Test(events_parse, malformed_events_fail_clearly)
{
	static const struct {
		const char *line, *msg;
	} cases[] = {
		{ "not json", "not valid JSON" },
		{ "{\"Type\":\"network\",\"Action\":\"connect\"", "not valid JSON" },
		{ "[1,2]", "not a JSON object" },
		{ "{\"Action\":\"connect\"}", "without Type or Action" },
		{ "{\"Type\":7,\"Action\":\"connect\"}", "without Type or Action" },
		{ "{\"Type\":\"network\",\"Action\":\"connect\"}", "Actor.ID" },
		{ "{\"Type\":\"network\",\"Action\":\"connect\",\"Actor\":[]}", "Actor.ID" },
		{ "{\"Type\":\"network\",\"Action\":\"connect\",\"Actor\":{\"ID\":\"abc\"}}", "Actor.ID" },
		{ "{\"Type\":\"network\",\"Action\":\"connect\",\"Actor\":{\"ID\":\"" NET1 "\"}}",
		  "Attributes.container" },
		{ "{\"Type\":\"network\",\"Action\":\"connect\",\"Actor\":{\"ID\":\"" NET1
		  "\",\"Attributes\":{\"container\":7}}}", "Attributes.container" },
		{ "{\"Type\":\"network\",\"Action\":\"connect\",\"Actor\":{\"ID\":\"" NET1
		  "\",\"Attributes\":{\"container\":\"../../etc\"}}}", "Attributes.container" },
		{ "{\"Type\":\"network\",\"Action\":\"connect\",\"Actor\":{\"ID\":\"" NET1
		  "\",\"Attributes\":{\"container\":\"" CTR "0\"}}}", "Attributes.container" },
	};
	struct pl_event ev;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		az_error err = { 0 };
		cr_expect_eq(pl_event_parse(cases[i].line, strlen(cases[i].line), &ev, &err), -1,
			     "case %zu", i);
		cr_expect(strstr(err.msg, cases[i].msg), "case %zu: \"%s\" lacks \"%s\"", i, err.msg,
			  cases[i].msg);
	}
	/* a NUL inside the line */
	az_error err = { 0 };
	char nul[] = "{\"Type\":\"network\"\0,\"Action\":\"connect\"}";
	cr_expect_eq(pl_event_parse(nul, sizeof(nul) - 1, &ev, &err), -1);
	cr_expect(strstr(err.msg, "NUL"), "%s", err.msg);
}

/* ---- container lists ---- */

static struct pl_container *parse_ok(const char *body, size_t *n)
{
	struct pl_container *v = NULL;
	az_error err = { 0 };

	cr_assert_eq(pl_containers_parse(body, strlen(body), &v, n, &err), 0, "%s", err.msg);
	return v;
}

Test(events_parse, container_with_labels)
{
	size_t n;
	struct pl_container *v = parse_ok(one_ctr(
		"{\"alcatraz.network.lan-access\":\"192.168.77.10:8080\",\"com.example.role\":\"web\","
		"\"alcatraz.network.dns\":\"none\",\"maintainer\":\"x\"}"), &n);

	cr_assert_eq(n, 1);
	cr_expect_str_eq(v[0].id, CTR);
	cr_expect_str_eq(v[0].name, "web-1");
	cr_expect_not(v[0].stopped);
	cr_expect_not(v[0].labels_bad, "%s", v[0].labels_err.msg);
	cr_assert_eq(v[0].n_labels, 2, "only alcatraz.network* labels are kept");
	cr_expect_str_eq(v[0].labels[0].key, "alcatraz.network.lan-access");
	cr_expect_str_eq(v[0].labels[0].value, "192.168.77.10:8080");
	cr_expect_str_eq(v[0].labels[1].key, "alcatraz.network.dns");
	cr_assert_eq(v[0].n_nets, 1);
	cr_expect_str_eq(v[0].nets[0].network_id, NET1);
	cr_expect_str_eq(v[0].nets[0].endpoint_id, EP_JOIN);
	pl_containers_free(v, n);
}

Test(events_parse, container_without_labels_or_endpoint)
{
	size_t n;
	/* Labels {}, null and absent; a starting container (EndpointID "",
	 * NetworkID "", as docs/docker-notes.md saw during Join); and one on
	 * two networks. */
	char *body = fmt("[%s,%s,%s]", ctr_json(CTR, "{}", fmt("{%s}", net_json("a", NET1, ""))),
			 subst(ctr_json(CTR2, "null", fmt("{%s}", net_json("a", "", ""))), "\"Labels\":null,", ""),
			 ctr_json(EP_RUN, "null",
				  fmt("{%s,%s}", net_json("a", NET1, EP_JOIN), net_json("b", NET_DEFAULT, EP_CONNECT))));
	struct pl_container *v = parse_ok(body, &n);

	cr_assert_eq(n, 3);
	for (size_t i = 0; i < n; i++) {
		cr_expect_eq(v[i].n_labels, 0);
		cr_expect_not(v[i].labels_bad);
	}
	cr_assert_eq(v[0].n_nets, 1);
	cr_expect_str_eq(v[0].nets[0].endpoint_id, "", "no endpoint yet");
	cr_expect_not(v[0].stopped, "running");
	cr_expect_eq(v[1].n_nets, 0, "an entry without a NetworkID is no use");
	cr_assert_eq(v[2].n_nets, 2);
	cr_expect_str_eq(v[2].nets[1].network_id, NET_DEFAULT);
	cr_expect_str_eq(v[2].nets[1].endpoint_id, EP_CONNECT);
	pl_containers_free(v, n);
}

Test(events_parse, wrong_label_types_are_the_containers_error)
{
	static const struct {
		const char *labels, *msg;
	} cases[] = {
		{ "[\"alcatraz.network=on\"]", "Labels are not an object" },
		{ "\"alcatraz.network=on\"", "Labels are not an object" },
		{ "{\"alcatraz.network\":true}", "label alcatraz.network is not a string" },
		{ "{\"alcatraz.network.lan-access\":[\"192.168.77.10\"]}", "is not a string" },
		{ "{\"alcatraz.network.lan-acess\":\"192.168.77.10\"}", "unknown setting \"alcatraz.network.lan-acess\"" },
		{ "{\"alcatraz.network.lan-access\":\"192.168.1.300:80\"}", "label alcatraz.network.lan-access" },
		{ "{\"alcatraz.network.lan-access\":\"192.168.1.300:80\"}", "192.168.1.300" },
		{ "{\"alcatraz.network.dns\":\"none\",\"alcatraz.network.dns\":\"none\"}", "given twice" },
		{ "{\"alcatraz.network.proxy\":\"not a proxy\"}", "label alcatraz.network.proxy" },
		{ "{\"alcatraz.network\":\"maybe\"}", "label alcatraz.network" },
		{ "{\"alcatraz.network.x\\u0001\":\"1\"}", "unprintable or overlong" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n;
		struct pl_container *v = parse_ok(one_ctr(cases[i].labels), &n);
		cr_assert_eq(n, 1, "case %zu", i);
		cr_expect(v[0].labels_bad, "case %zu: accepted", i);
		cr_expect(strstr(v[0].labels_err.msg, cases[i].msg), "case %zu: \"%s\" lacks \"%s\"", i,
			  v[0].labels_err.msg, cases[i].msg);
		/* the rest of the container is still read */
		cr_expect_eq(v[0].n_nets, 1, "case %zu", i);
		pl_containers_free(v, n);
	}
	/* Someone else's labels of any type are not ours to judge. */
	size_t n;
	struct pl_container *v = parse_ok(one_ctr("{\"com.example\":7,\"alcatraz\":[],\"alcatraz.other\":{}}"), &n);
	cr_expect_not(v[0].labels_bad, "%s", v[0].labels_err.msg);
	cr_expect_eq(v[0].n_labels, 0);
	pl_containers_free(v, n);
}

Test(events_parse, huge_values)
{
	/* A label value past AZ_MAX_SETTING_LEN is refused, naming the label
	 * and not quoting the value. */
	size_t big = AZ_MAX_SETTING_LEN + 10;
	char *value = calloc(big + 1, 1);
	memset(value, '1', big);
	keep(value);
	size_t n;
	struct pl_container *v = parse_ok(one_ctr(fmt("{\"alcatraz.network.lan-access\":\"%s\"}", value)), &n);
	cr_assert_eq(n, 1);
	cr_expect(v[0].labels_bad);
	cr_expect(strstr(v[0].labels_err.msg, "alcatraz.network.lan-access"), "%s", v[0].labels_err.msg);
	cr_expect_lt(strlen(v[0].labels_err.msg), 400, "the value is quoted: %s", v[0].labels_err.msg);
	pl_containers_free(v, n);

	/* A long name, and a list of many containers. */
	char *name = calloc(5001, 1);
	memset(name, 'a', 5000);
	keep(name);
	struct az_buf b;
	az_buf_init(&b);
	az_buf_printf(&b, "[");
	for (int i = 0; i < 2000; i++)
		az_buf_printf(&b, "%s%s", i ? "," : "",
			      subst(ctr_json(fmt("%064x", i), "{}", "{}"), "/web-1", name));
	az_buf_printf(&b, "]");
	keep(b.data);
	v = parse_ok(b.data, &n);
	cr_expect_eq(n, 2000);
	cr_expect_str_eq(v[1999].id, fmt("%064x", 1999));
	cr_expect_str_eq(v[0].name, "", "an overlong name is not printed");
	pl_containers_free(v, n);
}

Test(events_parse, malformed_lists)
{
	static const struct {
		const char *body, *msg;
	} cases[] = {
		{ "", "not valid JSON" },
		{ "{\"message\":\"page not found\"}", "not a JSON array" },
		{ "[{\"Id\":", "not valid JSON" },
		{ "null", "not a JSON array" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pl_container *v = (void *)1;
		size_t n = 7;
		az_error err = { 0 };
		cr_expect_eq(pl_containers_parse(cases[i].body, strlen(cases[i].body), &v, &n, &err), -1,
			     "case %zu", i);
		cr_expect_null(v);
		cr_expect_eq(n, 0);
		cr_expect(strstr(err.msg, cases[i].msg), "case %zu: \"%s\"", i, err.msg);
	}
	/* Entries that are not containers are skipped, not fatal. */
	size_t n;
	struct pl_container *v = parse_ok(fmt("[1,\"x\",null,{},{\"Id\":\"short\"},{\"Id\":7},%s,"
					      "{\"Id\":\"" CTR2 "\",\"Names\":\"notalist\","
					      "\"NetworkSettings\":{\"Networks\":[1]},\"Labels\":{}}]",
					      ctr_json(CTR, "{}", "{}")), &n);
	cr_assert_eq(n, 2);
	cr_expect_str_eq(v[0].id, CTR);
	cr_expect_str_eq(v[1].id, CTR2);
	cr_expect_str_eq(v[1].name, "");
	cr_expect_eq(v[1].n_nets, 0);
	pl_containers_free(v, n);
	v = parse_ok("[]", &n);
	cr_expect_eq(n, 0);
	pl_containers_free(v, n);
}

/* ---- precedence ---- */

static struct pl_network net_with(const char *lan)
{
	struct pl_network n = { 0 };
	static struct az_kv kv;
	kv.key = AZ_KEY_LAN;
	kv.value = lan;
	memcpy(n.id, NET1, sizeof(n.id));
	n.opts = lan ? &kv : NULL;
	n.n_opts = lan ? 1 : 0;
	return n;
}

static const char *resolved(const struct az_settings *s, const struct pl_network *n,
			    const char *label, const char *opt)
{
	struct az_kv l = { AZ_KEY_LAN, label }, o = { AZ_KEY_LAN, opt };
	struct az_policy p;
	struct az_buf b;
	az_error err = { 0 };

	if (pl_policy_resolve(s, n, label ? &l : NULL, label ? 1 : 0, opt ? &o : NULL, opt ? 1 : 0,
			      &p, &err) < 0)
		return fmt("error: %s", err.msg);
	az_buf_init(&b);
	az_lan_format(&p.lan, &b);
	az_policy_free(&p);
	return keep(az_buf_steal(&b));
}

static struct az_settings settings(const char *json)
{
	struct az_settings s;
	az_error err = { 0 };
	cr_assert_eq(az_settings_parse_json(json, strlen(json), &s, &err), 0, "%s", err.msg);
	return s;
}

Test(events_parse, precedence_file_network_label_driver_opt)
{
	struct az_settings s = settings("{\"lan-access\":[\"192.168.1.1:1\"]}");
	struct pl_network plain = net_with(NULL), net = net_with("192.168.1.2:2");

	cr_expect_str_eq(resolved(&s, &plain, NULL, NULL), "192.168.1.1:1", "file defaults");
	cr_expect_str_eq(resolved(&s, &net, NULL, NULL), "192.168.1.2:2", "network beats file");
	cr_expect_str_eq(resolved(&s, &net, "192.168.1.3:3", NULL), "192.168.1.3:3", "label beats network");
	cr_expect_str_eq(resolved(&s, &net, "192.168.1.3:3", "192.168.1.4:4"), "192.168.1.4:4",
			 "driver-opt beats label");
	cr_expect_str_eq(resolved(&s, &plain, NULL, "192.168.1.4:4"), "192.168.1.4:4");
	az_settings_free(&s);

	/* narrow: a label may restrict, never widen, and the refusal names it */
	s = settings("{\"annotations\":\"narrow\",\"lan-access\":[\"192.168.1.0/24:443\"]}");
	cr_expect_str_eq(resolved(&s, &plain, "192.168.1.5:443", NULL), "192.168.1.5:443");
	const char *r = resolved(&s, &plain, "192.168.1.5:22", NULL);
	cr_expect(strstr(r, "error: label alcatraz.network.lan-access") && strstr(r, "widen"), "%s", r);
	/* a driver-opt that widens is refused even when the label narrows */
	r = resolved(&s, &plain, "192.168.1.5:443", "192.168.1.5:22");
	cr_expect(strstr(r, "error: endpoint option (driver-opt) alcatraz.network.lan-access"), "%s", r);
	az_settings_free(&s);

	/* ignore: labels change nothing */
	s = settings("{\"annotations\":\"ignore\",\"lan-access\":[\"192.168.1.1:1\"]}");
	cr_expect_str_eq(resolved(&s, &plain, "192.168.1.3:3", NULL), "192.168.1.1:1");
	az_settings_free(&s);
}

/* ---- hold at Join, release with labels (fake effects) ---- */

static void joined(void)
{
	expect_ok(&drv, "NetworkDriver.CreateNetwork", CREATE_NET1, "{}");
	expect_ok(&drv, "NetworkDriver.CreateEndpoint", subst(CREATE_EP_RUN, EP_RUN, EP_JOIN),
		  "{\"Interface\":{}}");
	expect_ok(&drv, "NetworkDriver.Join", JOIN,
		  "{\"InterfaceName\":{\"SrcName\":\"azc72c84cac027\",\"DstPrefix\":\"eth\"},"
		  "\"Gateway\":\"10.99.0.1\"}");
}

static struct pl_container *container(const char *labels, size_t *n)
{
	return parse_ok(one_ctr(labels), n);
}

static bool stored_container_is(const char *want)
{
	char *text = NULL;
	size_t len;
	az_error err;
	if (az_read_file(fmt("%s/endpoints/%s.json", state_dir, EP_JOIN), 1 << 20, &text, &len, &err) < 0)
		return false;
	bool ok = strstr(text, fmt("\"ContainerID\":\t\"%s\"", want)) != NULL;
	free(text);
	return ok;
}

Test(events_apply, join_holds_then_labels_release)
{
	joined();
	expect_calls("network_create " BR1, "endpoint_create " BR1 " " H_JOIN " azc72c84cac027",
		     "rules_apply " BR1 " " H_JOIN " hold=1");
	cr_expect_str_eq(fake.policy[2], DEFAULT_POLICY);
	fake.n = 0;

	size_t n;
	az_error err = { 0 };
	struct pl_container *c = container("{\"alcatraz.network.lan-access\":\"192.168.77.10:8080\"}", &n);
	cr_assert_eq(pl_labels_apply(&drv, NET1, EP_JOIN, &c[0], &err), 1, "%s", err.msg);
	expect_calls("rules_apply " BR1 " " H_JOIN " hold=0");
	cr_expect_str_eq(fake.policy[0],
			 "enabled=on lan-access=192.168.77.10:8080 proxy=none dns=auto proxy-udp=direct");
	cr_expect_str_eq(pl_driver_endpoint(&drv, EP_JOIN)->container_id, CTR);
	cr_expect(stored_container_is(CTR), "the release is recorded");

	/* The event and a reconcile may both name it: once is enough. */
	cr_expect_eq(pl_labels_apply(&drv, NET1, EP_JOIN, &c[0], &err), 0);
	cr_expect_eq(fake.n, 1);
	pl_containers_free(c, n);
}

Test(events_apply, no_labels_means_the_network_settings)
{
	joined();
	fake.n = 0;
	size_t n;
	az_error err = { 0 };
	struct pl_container *c = container("{\"org.opencontainers.image.title\":\"x\"}", &n);
	cr_assert_eq(pl_labels_apply(&drv, NET1, EP_JOIN, &c[0], &err), 1, "%s", err.msg);
	expect_calls("rules_apply " BR1 " " H_JOIN " hold=0");
	cr_expect_str_eq(fake.policy[0], DEFAULT_POLICY);
	pl_containers_free(c, n);
}

Test(events_apply, bad_label_keeps_it_held_and_says_why)
{
	joined();
	fake.n = 0;
	size_t n;
	az_error err = { 0 };
	struct pl_container *c = container("{\"alcatraz.network.lan-access\":\"192.168.1.300:80\"}", &n);
	cr_expect_eq(pl_labels_apply(&drv, NET1, EP_JOIN, &c[0], &err), -1);
	expect_no_calls();
	cr_expect(strstr(err.msg, "container 3f2a1b0c9d8e (\"web-1\")"), "%s", err.msg);
	cr_expect(strstr(err.msg, "label alcatraz.network.lan-access"), "%s", err.msg);
	cr_expect(strstr(err.msg, "192.168.1.300"), "%s", err.msg);
	struct pl_endpoint *e = pl_driver_endpoint(&drv, EP_JOIN);
	cr_expect(e->hold);
	cr_expect_str_eq(e->container_id, "", "a reconcile looks again");
	pl_containers_free(c, n);
}

Test(events_apply, admin_refusal_keeps_it_held)
{
	write_config("{\"isolate\":\"all\",\"annotations\":\"narrow\"}");
	joined();
	fake.n = 0;
	size_t n;
	az_error err = { 0 };
	struct pl_container *c = container("{\"alcatraz.network\":\"off\"}", &n);
	cr_expect_eq(pl_labels_apply(&drv, NET1, EP_JOIN, &c[0], &err), -1);
	expect_no_calls();
	cr_expect(strstr(err.msg, "label alcatraz.network"), "%s", err.msg);
	cr_expect(strstr(err.msg, "\"off\""), "%s", err.msg);
	pl_containers_free(c, n);
}

Test(events_apply, rules_failure_keeps_it_held)
{
	joined();
	fake.n = 0;
	fake.fail = "rules_apply";
	size_t n;
	az_error err = { 0 };
	struct pl_container *c = container("{}", &n);
	cr_expect_eq(pl_labels_apply(&drv, NET1, EP_JOIN, &c[0], &err), -1);
	cr_expect(strstr(err.msg, "applying its settings") && strstr(err.msg, "failed on purpose"), "%s",
		  err.msg);
	struct pl_endpoint *e = pl_driver_endpoint(&drv, EP_JOIN);
	cr_expect(e->hold);
	cr_expect_str_eq(e->container_id, "");
	pl_containers_free(c, n);
}

Test(events_apply, label_off_releases_without_rules)
{
	joined();
	fake.n = 0;
	size_t n;
	az_error err = { 0 };
	struct pl_container *c = container("{\"alcatraz.network\":\"off\"}", &n);
	cr_assert_eq(pl_labels_apply(&drv, NET1, EP_JOIN, &c[0], &err), 1, "%s", err.msg);
	expect_calls("rules_apply " BR1 " " H_JOIN " hold=0");
	cr_expect(!strncmp(fake.policy[0], "enabled=off", 11), "%s", fake.policy[0]);
	pl_containers_free(c, n);
}

Test(events_apply, nothing_to_do_for_others)
{
	size_t n;
	az_error err = { 0 };
	struct pl_container *c = container("{}", &n);

	/* unknown endpoint */
	cr_expect_eq(pl_labels_apply(&drv, NET1, EP_JOIN, &c[0], &err), 0);
	expect_ok(&drv, "NetworkDriver.CreateNetwork", CREATE_NET1, "{}");
	expect_ok(&drv, "NetworkDriver.CreateEndpoint", subst(CREATE_EP_RUN, EP_RUN, EP_JOIN),
		  "{\"Interface\":{}}");
	fake.n = 0;
	/* not joined yet */
	cr_expect_eq(pl_labels_apply(&drv, NET1, EP_JOIN, &c[0], &err), 0);
	expect_ok(&drv, "NetworkDriver.Join", JOIN,
		  "{\"InterfaceName\":{\"SrcName\":\"azc72c84cac027\",\"DstPrefix\":\"eth\"},"
		  "\"Gateway\":\"10.99.0.1\"}");
	fake.n = 0;
	/* another network's endpoint of that id */
	cr_expect_eq(pl_labels_apply(&drv, NET_DEFAULT, EP_JOIN, &c[0], &err), 0);
	/* after Leave */
	expect_ok(&drv, "NetworkDriver.Leave", EP_IDS, "{}");
	fake.n = 0;
	cr_expect_eq(pl_labels_apply(&drv, NET1, EP_JOIN, &c[0], &err), 0);
	expect_no_calls();
	pl_containers_free(c, n);
}

Test(events_apply, without_the_label_route_join_does_not_hold)
{
	drv.labels = false;
	joined();
	cr_expect_str_eq(fake.calls[2], "rules_apply " BR1 " " H_JOIN " hold=0");
}

Test(events_apply, join_again_reads_the_labels_again)
{
	joined();
	size_t n;
	az_error err = { 0 };
	struct pl_container *c = container("{}", &n);
	cr_assert_eq(pl_labels_apply(&drv, NET1, EP_JOIN, &c[0], &err), 1, "%s", err.msg);
	fake.n = 0;
	expect_ok(&drv, "NetworkDriver.Join", JOIN,
		  "{\"InterfaceName\":{\"SrcName\":\"azc72c84cac027\",\"DstPrefix\":\"eth\"},"
		  "\"Gateway\":\"10.99.0.1\"}");
	expect_calls("rules_apply " BR1 " " H_JOIN " hold=1");
	cr_expect_str_eq(pl_driver_endpoint(&drv, EP_JOIN)->container_id, "");
	pl_containers_free(c, n);
}

/* ---- the Engine API client ---- */

Test(events_parse, docker_host_and_escaping)
{
	static const char *const bad[] = { "tcp://127.0.0.1:2375", "unix://relative.sock", "unix:",
					   "/var/run/docker.sock", "npipe:////./pipe/docker_engine" };
	struct pl_engine *e;
	az_error err = { 0 };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_expect_eq(pl_engine_new(bad[i], &e, &err), -1, "%s accepted", bad[i]);
		cr_expect(strstr(err.msg, "unix:///"), "%s: %s", bad[i], err.msg);
	}
	char *longpath = fmt("unix:///%0200d", 0);
	cr_expect_eq(pl_engine_new(longpath, &e, &err), -1);
	cr_assert_eq(pl_engine_new("unix:///var/run/docker.sock", &e, &err), 0, "%s", err.msg);
	cr_expect_str_eq(pl_engine_host(e), "unix:///var/run/docker.sock");
	pl_engine_free(e);

	char *s = keep(pl_url_escape("{\"id\":[\"ab\"]} ~x-y_z.%/&?="));
	cr_expect_str_eq(s, "%7B%22id%22%3A%5B%22ab%22%5D%7D%20~x-y_z.%25%2F%26%3F%3D");
}

/* A fake dockerd: a Unix socket whose connections each get a reply chosen
 * by the request's path; /events streams until the test ends. */

#define FAKE_MAX_REQ 64
static struct {
	char path[128];
	int fd;
	pthread_t thread;
	volatile int stop;
	pthread_mutex_t lock;
	char requests[FAKE_MAX_REQ][512];
	size_t n_req;
	const char *events;		/* lines sent on /events, then kept open */
	const char *containers;		/* the /containers/json reply body */
	int containers_status;
	size_t containers_calls;
} dk;

static void dk_write(int fd, const char *s, size_t len)
{
	while (len) {
		ssize_t w = send(fd, s, len, MSG_NOSIGNAL);
		if (w <= 0)
			return;
		s += w;
		len -= (size_t)w;
	}
}

static void *dk_conn(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char req[4096] = "";
	size_t len = 0;

	while (len < sizeof(req) - 1 && !strstr(req, "\r\n\r\n")) {
		ssize_t r = read(fd, req + len, sizeof(req) - 1 - len);
		if (r <= 0)
			break;
		len += (size_t)r;
		req[len] = '\0';
	}
	req[len] = '\0';
	char method[8] = "", path[512] = "";
	sscanf(req, "%7s %511s", method, path);
	pthread_mutex_lock(&dk.lock);
	if (dk.n_req < FAKE_MAX_REQ)
		snprintf(dk.requests[dk.n_req++], sizeof(dk.requests[0]), "%s %s", method, path);
	pthread_mutex_unlock(&dk.lock);
	if (!strncmp(path, "/events", 7)) {
		const char *head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
				   "Connection: close\r\n\r\n";
		dk_write(fd, head, strlen(head));
		if (dk.events) {
			/* split mid-line: the client must join the pieces */
			size_t k = strlen(dk.events), half = k / 2;
			dk_write(fd, dk.events, half);
			usleep(20000);
			dk_write(fd, dk.events + half, k - half);
		}
		while (!dk.stop)
			usleep(10000);
	} else if (!strncmp(path, "/containers/json", 16)) {
		pthread_mutex_lock(&dk.lock);
		dk.containers_calls++;
		pthread_mutex_unlock(&dk.lock);
		const char *body = dk.containers ? dk.containers : "[]";
		int st = dk.containers_status ? dk.containers_status : 200;
		char *head = fmt("HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
				 "Connection: close\r\n\r\n", st, strlen(body));
		dk_write(fd, head, strlen(head));
		dk_write(fd, body, strlen(body));
	} else {
		const char *r = "HTTP/1.1 404 Not Found\r\nContent-Length: 29\r\nConnection: close\r\n\r\n"
				"{\"message\":\"page not found\"}\n";
		dk_write(fd, r, strlen(r));
	}
	close(fd);
	return NULL;
}

static void *dk_accept(void *arg)
{
	(void)arg;
	while (!dk.stop) {
		struct pollfd p = { .fd = dk.fd, .events = POLLIN };
		if (poll(&p, 1, 50) <= 0)
			continue;
		int c = accept(dk.fd, NULL, NULL);
		if (c < 0)
			continue;
		pthread_t t;
		if (pthread_create(&t, NULL, dk_conn, (void *)(intptr_t)c) == 0)
			pthread_detach(t);
		else
			close(c);
	}
	return NULL;
}

static void dk_up(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	pthread_mutex_init(&dk.lock, NULL);
	snprintf(dk.path, sizeof(dk.path), "%s/docker.sock", tmp_dir);
	cr_assert_lt(strlen(dk.path), sizeof(sa.sun_path));
	memcpy(sa.sun_path, dk.path, strlen(dk.path) + 1);
	dk.fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(dk.fd, 0);
	cr_assert_eq(bind(dk.fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(listen(dk.fd, 16), 0);
	cr_assert_eq(pthread_create(&dk.thread, NULL, dk_accept, NULL), 0);
}

static void dk_down(void)
{
	dk.stop = 1;
	pthread_join(dk.thread, NULL);
	close(dk.fd);
	usleep(30000);	/* connection threads see stop */
}

static const char *dk_host(void)
{
	return fmt("unix://%s", dk.path);
}

static bool dk_saw(const char *prefix)
{
	bool r = false;
	pthread_mutex_lock(&dk.lock);
	for (size_t i = 0; i < dk.n_req && !r; i++)
		r = !strncmp(dk.requests[i], prefix, strlen(prefix));
	pthread_mutex_unlock(&dk.lock);
	return r;
}

static void eng_setup(void)
{
	tmp_setup();
	memset(&dk, 0, sizeof(dk));
	dk_up();
}

static void eng_teardown(void)
{
	dk_down();
	tmp_teardown();
}

TestSuite(engine, .init = eng_setup, .fini = eng_teardown, .timeout = 20);

Test(engine, get_status_and_size_limits)
{
	struct pl_engine *e;
	az_error err = { 0 };
	char *body;
	size_t len;

	cr_assert_eq(pl_engine_new(dk_host(), &e, &err), 0, "%s", err.msg);
	dk.containers = "[{\"Id\":\"" CTR "\"}]";
	cr_assert_eq(pl_engine_get(e, "/containers/json?all=1", 1024, &body, &len, &err), 0, "%s", err.msg);
	cr_expect_str_eq(body, dk.containers);
	cr_expect_eq(len, strlen(dk.containers));
	free(body);

	cr_expect_eq(pl_engine_get(e, "/containers/json?all=1", 10, &body, &len, &err), -1);
	cr_expect(strstr(err.msg, "larger than 10 bytes"), "%s", err.msg);
	cr_expect_null(body);

	cr_expect_eq(pl_engine_get(e, "/nope", 1024, &body, &len, &err), -1);
	cr_expect(strstr(err.msg, "status 404") && strstr(err.msg, "page not found"), "%s", err.msg);

	dk.containers = "{\"message\":\"invalid filter \\u0001 'x'\"}";
	dk.containers_status = 400;
	cr_expect_eq(pl_engine_get(e, "/containers/json?all=1", 1024, &body, &len, &err), -1);
	cr_expect(strstr(err.msg, "status 400: invalid filter ? 'x'"), "%s", err.msg);
	cr_expect(dk_saw("GET /containers/json?all=1"));
	pl_engine_free(e);

	/* nobody listening: fails at once, with the socket named */
	cr_assert_eq(pl_engine_new(fmt("unix://%s/none.sock", tmp_dir), &e, &err), 0);
	long t0 = (long)time(NULL);
	cr_expect_eq(pl_engine_get(e, "/containers/json", 1024, &body, &len, &err), -1);
	cr_expect_leq((long)time(NULL) - t0, 3);
	cr_expect(strstr(err.msg, "none.sock"), "%s", err.msg);
	pl_engine_free(e);
}

static char lines_seen[8][2048];
static size_t n_lines;

static void collect_line(const char *line, size_t len, void *arg)
{
	(void)arg;
	if (n_lines < 8)
		snprintf(lines_seen[n_lines++], sizeof(lines_seen[0]), "%.*s", (int)len, line);
}

Test(engine, stream_splits_lines)
{
	struct pl_engine *e;
	az_error err = { 0 };
	bool up = false;

	dk.events = EVENT_CONNECT "\n{\"Type\":\"container\",\"Action\":\"start\"}\n";
	cr_assert_eq(pl_engine_new(dk_host(), &e, &err), 0, "%s", err.msg);
	cr_assert_eq(pl_engine_stream_open(e, "/events", collect_line, NULL, &err), 0, "%s", err.msg);
	for (int i = 0; i < 100 && n_lines < 2; i++)
		cr_assert_eq(pl_engine_stream_run(e, 50, &up, &err), 1, "%s", err.msg);
	cr_expect(up);
	cr_assert_eq(n_lines, 2);
	cr_expect_str_eq(lines_seen[0], EVENT_CONNECT);
	cr_expect_str_eq(lines_seen[1], "{\"Type\":\"container\",\"Action\":\"start\"}");

	/* dockerd goes away: the stream ends and says so */
	dk.stop = 1;
	int r = 1;
	for (int i = 0; i < 100 && r == 1; i++)
		r = pl_engine_stream_run(e, 50, &up, &err);
	cr_expect_eq(r, 0);
	cr_expect(strstr(err.msg, "event stream"), "%s", err.msg);
	pl_engine_free(e);
}

Test(engine, interrupt_ends_a_sleep_at_once)
{
	struct pl_engine *e;
	az_error err = { 0 };
	cr_assert_eq(pl_engine_new(dk_host(), &e, &err), 0);
	pl_engine_interrupt(e);
	time_t t0 = time(NULL);
	pl_engine_sleep(e, 10000);
	cr_expect_leq(time(NULL) - t0, 1);
	cr_expect(pl_engine_interrupted(e));
	pl_engine_free(e);
}

/* ---- the thread, against the fake dockerd ---- */

static void thr_setup(void)
{
	eng_setup();
	az_error err = { 0 };
	cr_assert_eq(pl_driver_init(&drv, &held_ops, state_dir, &err), 0, "%s", err.msg);
	drv.labels = true;
}

static void thr_teardown(void)
{
	pl_driver_free(&drv);
	eng_teardown();
}

TestSuite(events_thread, .init = thr_setup, .fini = thr_teardown, .timeout = 20);

static bool released(void)
{
	pthread_mutex_lock(&drv.lock);
	struct pl_endpoint *e = pl_driver_endpoint(&drv, EP_JOIN);
	bool r = e && e->container_id[0];
	pthread_mutex_unlock(&drv.lock);
	return r;
}

static bool wait_until(bool (*cond)(void), int ms)
{
	for (int i = 0; i < ms / 10; i++) {
		if (cond())
			return true;
		usleep(10000);
	}
	return cond();
}

Test(events_thread, event_then_lookup_then_release)
{
	struct pl_events *ev;
	az_error err = { 0 };

	joined();
	fake.n = 0;
	dk.containers = one_ctr("{\"alcatraz.network.lan-access\":\"192.168.77.10:8080\"}");
	dk.events = EVENT_CONNECT "\n";
	cr_assert_eq(pl_events_start(&drv, dk_host(), &ev, &err), 0, "%s", err.msg);
	bool ok = wait_until(released, 5000);
	pl_events_stop(ev);
	cr_assert(ok, "not released; requests: %s", dk.requests[0]);
	cr_expect_str_eq(fake.calls[fake.n - 1], "rules_apply " BR1 " " H_JOIN " hold=0");
	cr_expect_str_eq(fake.policy[fake.n - 1],
			 "enabled=on lan-access=192.168.77.10:8080 proxy=none dns=auto proxy-udp=direct");
	/* the filtered stream, and the container by its id — never an inspect */
	cr_expect(dk_saw("GET /events?since="));
	cr_expect(dk_saw("GET /events?since=") &&
		  strstr(dk.requests[0], "filters=%7B%22type%22%3A%5B%22network%22%5D%2C%22event%22%3A%5B%22connect%22%5D%7D"),
		  "%s", dk.requests[0]);
	cr_expect(dk_saw("GET /containers/json?all=1&filters=%7B%22"));
	pthread_mutex_lock(&dk.lock);
	for (size_t i = 0; i < dk.n_req; i++)
		cr_expect(!strstr(dk.requests[i], "/containers/" CTR), "inspect: %s", dk.requests[i]);
	pthread_mutex_unlock(&dk.lock);
}

Test(events_thread, reconcile_finds_a_missed_event)
{
	struct pl_events *ev;
	az_error err = { 0 };

	joined();
	fake.n = 0;
	dk.containers = one_ctr("{}");
	dk.events = NULL;	/* the event was missed (plugin down, say) */
	cr_assert_eq(pl_events_start(&drv, dk_host(), &ev, &err), 0, "%s", err.msg);
	bool ok = wait_until(released, 5000);
	pl_events_stop(ev);
	cr_assert(ok, "not released");
	cr_expect(dk_saw("GET /containers/json?all=1&filters=%7B%22network%22%3A%5B%22" NET1));
	cr_expect_str_eq(fake.calls[fake.n - 1], "rules_apply " BR1 " " H_JOIN " hold=0");
}

static size_t lookups_wanted;

static bool looked_up(void)
{
	pthread_mutex_lock(&dk.lock);
	bool r = dk.containers_calls >= lookups_wanted;
	pthread_mutex_unlock(&dk.lock);
	return r;
}

Test(events_thread, endpoint_not_yet_listed_is_retried)
{
	struct pl_events *ev;
	az_error err = { 0 };

	joined();
	fake.n = 0;
	/* Docker lists the container without its endpoint at first. */
	dk.containers = fmt("[%s]", ctr_json(CTR, "{}", fmt("{%s}", net_json("a", NET1, ""))));
	dk.events = EVENT_CONNECT "\n";
	cr_assert_eq(pl_events_start(&drv, dk_host(), &ev, &err), 0, "%s", err.msg);
	/* the reconcile, the event, a retry */
	lookups_wanted = 3;
	cr_expect(wait_until(looked_up, 5000));
	cr_expect_not(released());
	dk.containers = one_ctr("{}");
	bool ok = wait_until(released, 5000);
	pl_events_stop(ev);
	cr_expect(ok, "not released once listed");
}

Test(events_thread, stopped_container_is_not_waited_for)
{
	struct pl_events *ev;
	az_error err = { 0 };

	joined();
	fake.n = 0;
	/* `docker run --rm true`: exited before its labels were read */
	dk.containers = fmt("[%s]", subst(ctr_json(CTR, "{}", fmt("{%s}", net_json("a", NET1, ""))),
					  "\"State\":\"running\"", "\"State\":\"exited\""));
	dk.events = EVENT_CONNECT "\n";
	cr_assert_eq(pl_events_start(&drv, dk_host(), &ev, &err), 0, "%s", err.msg);
	lookups_wanted = 2;
	cr_expect(wait_until(looked_up, 5000));
	usleep(300000);
	pl_events_stop(ev);
	cr_expect_eq(dk.containers_calls, 2, "looked up again: %zu", dk.containers_calls);
	expect_no_calls();
}

Test(events_thread, bad_label_stays_held)
{
	struct pl_events *ev;
	az_error err = { 0 };

	joined();
	fake.n = 0;
	dk.containers = one_ctr("{\"alcatraz.network.lan-access\":\"tcp://192.168.77.10:99999\"}");
	dk.events = EVENT_CONNECT "\n";
	cr_assert_eq(pl_events_start(&drv, dk_host(), &ev, &err), 0, "%s", err.msg);
	/* the reconcile and the event */
	lookups_wanted = 2;
	cr_expect(wait_until(looked_up, 5000));
	usleep(100000);
	pl_events_stop(ev);
	expect_no_calls();
	cr_expect_not(released());
	cr_expect(pl_driver_endpoint(&drv, EP_JOIN)->hold);
}

Test(events_thread, dead_socket_keeps_trying_and_stops_quickly)
{
	struct pl_events *ev;
	az_error err = { 0 };

	joined();
	fake.n = 0;
	cr_assert_eq(pl_events_start(&drv, fmt("unix://%s/dead.sock", tmp_dir), &ev, &err), 0, "%s",
		     err.msg);
	usleep(300000);
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	pl_events_stop(ev);
	clock_gettime(CLOCK_MONOTONIC, &b);
	cr_expect_lt(b.tv_sec - a.tv_sec, 2, "stopping took too long");
	expect_no_calls();
	cr_expect(pl_driver_endpoint(&drv, EP_JOIN)->hold);
}
