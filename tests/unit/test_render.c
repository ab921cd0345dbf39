/* Unit tests of the pure renderer: values in, nft text out. */
#include <criterion/criterion.h>
#include <string.h>

#include "config/config.h"
#include "rules/rules.h"

static void pfx(struct az_prefix *p, const char *s)
{
	cr_assert_eq(az_prefix_parse(s, p, NULL), 0, "%s", s);
}

static void make_target(struct az_target *t)
{
	memset(t, 0, sizeof(*t));
	strcpy(t->id, "0123456789abcdef");
	strcpy(t->netns_path, "/run/netns/x");
	t->n_if = 1;
	strcpy(t->ifs[0].ctr_ifname, "eth0");
	strcpy(t->ifs[0].host_ifname, "veth1234");
	strcpy(t->ifs[0].bridge, "podman0");
	t->ifs[0].n4 = 1;
	pfx(&t->ifs[0].addr4[0], "10.88.0.5");
	t->ifs[0].n6 = 1;
	pfx(&t->ifs[0].addr6[0], "fd00:88::5");
	t->has_gw4 = true;
	az_addr_parse("10.88.0.1", &t->gw4);
	t->n_resolvers = 1;
	az_addr_parse("10.88.0.1", &t->resolvers[0]);
}

static struct az_lan_entry lan_entries[4];

static void make_policy(struct az_policy *p)
{
	memset(p, 0, sizeof(*p));
	p->enabled = true;
	memset(lan_entries, 0, sizeof(lan_entries));
	/* 192.168.1.0/24:8080 (TCP) */
	pfx(&lan_entries[0].net, "192.168.1.0/24");
	lan_entries[0].protos = AZ_L4_TCP;
	lan_entries[0].port_lo = lan_entries[0].port_hi = 8080;
	/* 192.168.1.100 (everything) */
	pfx(&lan_entries[1].net, "192.168.1.100");
	lan_entries[1].all_proto = true;
	/* *://${alca:HOST_IP}:53-54 */
	lan_entries[2].kind = AZ_HOST_GATEWAY;
	lan_entries[2].protos = AZ_L4_TCP | AZ_L4_UDP;
	lan_entries[2].port_lo = 53;
	lan_entries[2].port_hi = 54;
	p->lan.n = 3;
	p->lan.v = lan_entries;
}

static char *render_netns(const struct az_policy *p, const struct az_target *t,
			  const struct az_hostnet *h)
{
	struct az_buf b;
	az_error e;
	az_buf_init(&b);
	cr_assert_eq(az_render_netns(p, t, h, AZ_NETNS_REPLACE, &b, &e), 0, "%s", e.msg);
	return az_buf_steal(&b);
}

Test(render, netns_table_replaced_atomically)
{
	struct az_target t;
	struct az_policy p;
	make_target(&t);
	make_policy(&p);
	char *s = render_netns(&p, &t, NULL);
	cr_assert(strncmp(s, "table inet alcatraz\ndelete table inet alcatraz\ntable inet alcatraz {", 68) == 0,
		  "%s", s);
	free(s);
}

Test(render, netns_lan_entries)
{
	struct az_target t;
	struct az_policy p;
	make_target(&t);
	make_policy(&p);
	char *s = render_netns(&p, &t, NULL);
	cr_assert(strstr(s, "192.168.1.0/24 . tcp . 8080"), "%s", s);
	cr_assert(strstr(s, "elements = { 192.168.1.100 }"), "%s", s);
	/* the gateway token resolves to the container's gateway, both protocols */
	cr_assert(strstr(s, "10.88.0.1 . tcp . 53-54, 10.88.0.1 . udp . 53-54"), "%s", s);
	cr_assert(strstr(s, "set dns4 { type ipv4_addr; elements = { 10.88.0.1 } }"), "%s", s);
	cr_assert(strstr(s, "meta l4proto tcp reject with tcp reset"), "%s", s);
	free(s);
}

Test(render, netns_blocked_has_catalogue_and_hostnets_without_nesting)
{
	struct az_target t;
	struct az_policy p;
	struct az_hostnet *h = calloc(1, sizeof(*h));
	make_target(&t);
	make_policy(&p);
	pfx(&h->v[h->n++], "203.0.113.0/30");
	pfx(&h->v[h->n++], "203.0.113.1");	/* nested in the /30: dropped */
	pfx(&h->v[h->n++], "10.88.0.1");	/* nested in 10/8: dropped */
	char *s = render_netns(&p, &t, h);
	cr_assert(strstr(s, "203.0.113.0/30"), "%s", s);
	/* in the blocked set (refuse_dst4, for alcatraz watch, names the host's
	 * own addresses apart) */
	char *set = strstr(s, "set blocked4 {");
	cr_assert(set, "%s", s);
	char *blocked = strndup(set, strcspn(set, "}"));
	cr_assert_null(strstr(blocked, "203.0.113.1"), "%s", s);
	cr_assert_null(strstr(blocked, "10.88.0.1,"), "%s", s);
	free(blocked);
	cr_assert(strstr(s, "169.254.0.0/16"), "%s", s);
	cr_assert(strstr(s, "fe80::/10"), "%s", s);
	/* documentation ranges are the internet */
	cr_assert_null(strstr(s, "198.51.100."), "%s", s);
	cr_assert_null(strstr(s, "2001:db8"), "%s", s);
	free(s);
	free(h);
}

Test(render, token_without_gateway_is_an_error)
{
	struct az_target t;
	struct az_policy p;
	struct az_buf b;
	az_error e = { 0 };
	make_target(&t);
	make_policy(&p);
	t.has_gw4 = false;
	az_buf_init(&b);
	cr_assert_lt(az_render_netns(&p, &t, NULL, AZ_NETNS_REPLACE, &b, &e), 0);
	cr_assert(strstr(e.msg, "HOST_IP"), "%s", e.msg);
	az_buf_free(&b);
}

Test(render, proxy_v4_only_refuses_v6_tcp)
{
	struct az_target t;
	struct az_policy p;
	make_target(&t);
	make_policy(&p);
	p.proxy.n = 1;
	az_addr_parse("10.88.0.1", &p.proxy.v[0].addr);
	p.proxy.v[0].port = 12345;
	p.proxy_udp = AZ_PROXY_UDP_BLOCK;
	char *s = render_netns(&p, &t, NULL);
	cr_assert(strstr(s, "ip daddr 10.88.0.1 tcp dport 12345 accept"), "%s", s);
	cr_assert(strstr(s, "meta nfproto ipv6 meta l4proto tcp goto refuse"), "%s", s);
	cr_assert(strstr(s, "meta l4proto udp goto refuse"), "%s", s);
	free(s);

	struct az_buf b;
	az_error e;
	az_buf_init(&b);
	cr_assert_eq(az_render_host_elements(&p, &t, AZ_ELEM_ADD, &b, &e), 0);
	cr_assert(strstr(b.data, "add element inet alcatraz proxy4 { 10.88.0.5 comment \"alcatraz:0123456789abcdef\" : 10.88.0.1 . 12345 }"), "%s", b.data);
	cr_assert(strstr(b.data, "add element inet alcatraz noproxy6 { fd00:88::5 "), "%s", b.data);
	cr_assert(strstr(b.data, "add element inet alcatraz udpblock4 { 10.88.0.5 "), "%s", b.data);
	az_buf_free(&b);
}

Test(render, host_elements_add_and_delete_match)
{
	struct az_target t;
	struct az_policy p;
	struct az_buf a, d;
	az_error e;
	make_target(&t);
	make_policy(&p);
	az_buf_init(&a);
	az_buf_init(&d);
	cr_assert_eq(az_render_host_elements(&p, &t, AZ_ELEM_ADD, &a, &e), 0);
	cr_assert_eq(az_render_host_elements(&p, &t, AZ_ELEM_DELETE, &d, &e), 0);
	cr_assert(strstr(a.data, "add element bridge alcatraz ports { \"veth1234\" comment"), "%s", a.data);
	cr_assert(strstr(a.data, "add element bridge alcatraz bind4 { \"veth1234\" . 10.88.0.5 comment"), "%s", a.data);
	cr_assert(strstr(a.data, "add element inet alcatraz allow4 { 10.88.0.5 . 192.168.1.0/24 . tcp . 8080 comment"), "%s", a.data);
	cr_assert(strstr(a.data, "add element inet alcatraz allowall4 { 10.88.0.5 . 192.168.1.100 comment"), "%s", a.data);
	cr_assert(strstr(a.data, "add element inet alcatraz dns4 { 10.88.0.5 . 10.88.0.1 comment"), "%s", a.data);
	/* same number of lines, same elements, no comments on delete */
	size_t la = 0, ld = 0;
	for (char *c = a.data; *c; c++)
		la += *c == '\n';
	for (char *c = d.data; *c; c++)
		ld += *c == '\n';
	cr_assert_eq(la, ld);
	cr_assert_null(strstr(d.data, "comment"));
	cr_assert(strstr(d.data, "delete element inet alcatraz allow4 { 10.88.0.5 . 192.168.1.0/24 . tcp . 8080 }"), "%s", d.data);
	az_buf_free(&a);
	az_buf_free(&d);
}

Test(render, hostile_ids_and_ifnames_are_refused)
{
	struct az_target t;
	struct az_policy p;
	struct az_buf b;
	az_error e;
	make_target(&t);
	make_policy(&p);
	az_buf_init(&b);
	strcpy(t.id, "x\"; flush ruleset");
	cr_assert_lt(az_render_netns(&p, &t, NULL, AZ_NETNS_REPLACE, &b, &e), 0);
	cr_assert_lt(az_render_host_elements(&p, &t, AZ_ELEM_ADD, &b, &e), 0);
	make_target(&t);
	strcpy(t.ifs[0].host_ifname, "a\" }; flush");
	cr_assert_lt(az_render_host_elements(&p, &t, AZ_ELEM_ADD, &b, &e), 0);
	az_buf_free(&b);
}

Test(render, skeleton_has_fixed_chains_only)
{
	struct az_buf b;
	struct az_features f = { 0 };
	az_buf_init(&b);
	cr_assert_eq(az_render_host_skeleton(&f, &b), 0);
	cr_assert(strstr(b.data, "add chain inet alcatraz prerouting { type filter hook prerouting priority -150; policy accept; }"));
	cr_assert(strstr(b.data, "add rule bridge alcatraz forward iifname @ports counter drop"));
	az_buf_free(&b);
	f.bridge_reject = true;
	cr_assert_eq(az_render_host_skeleton(&f, &b), 0);
	cr_assert(strstr(b.data, "forward iifname @ports counter reject"));
	az_buf_free(&b);
}

Test(render, catalogue_excludes_documentation)
{
	const struct az_prefix *c;
	size_t n = az_blocked_catalogue(AF_INET, &c);
	struct az_prefix doc;
	pfx(&doc, "198.51.100.0/24");
	for (size_t i = 0; i < n; i++)
		cr_assert_not(az_prefix_contains(&c[i], &doc));
	pfx(&doc, "169.254.169.254");
	bool found = false;
	for (size_t i = 0; i < n; i++)
		found |= az_prefix_contains(&c[i], &doc);
	cr_assert(found, "metadata address must be blocked");
}

/* alcatraz watch: the destination refusals are told apart in refuse_dst4,
 * in the order host, peer, metadata, lan, blocked, each reason chain logs
 * to the NFLOG group under the table's limit, then refuses. */
Test(render, netns_reason_chains_for_watch)
{
	struct az_target t;
	struct az_policy p;
	struct az_hostnet *h = calloc(1, sizeof(*h));
	make_target(&t);
	make_policy(&p);
	pfx(&h->v[h->n++], "203.0.113.0/30");
	pfx(&h->v[h->n++], "203.0.113.1");
	char *s = render_netns(&p, &t, h);
	cr_assert(strstr(s, "limit " AZ_NFLOG_LIMIT " { rate " AZ_NFLOG_RATE "; }"), "%s", s);
	cr_assert(strstr(s, "ip daddr @blocked4 goto refuse_dst4"), "%s", s);
	const char *d = strstr(s, "chain refuse_dst4 {");
	cr_assert(d, "%s", s);
	const char *host = strstr(d, "ip daddr { 203.0.113.1, 10.88.0.1 } goto refuse_host");
	const char *peer = strstr(d, "ip daddr { 10.88.0.5 } goto refuse_peer");
	const char *meta = strstr(d, "ip daddr 169.254.0.0/16 goto refuse_metadata");
	const char *lan = strstr(d, "ip daddr { 203.0.113.0/30 } goto refuse_lan");
	const char *blk = strstr(d, "goto refuse_blocked");
	/* the target's address is a host prefix here: no own network */
	cr_assert(host && meta && lan && blk && !peer, "%s", d);
	cr_assert(host < meta && meta < lan && lan < blk, "%s", d);
	const char *const *names;
	size_t n = az_reasons(&names);
	cr_assert_eq(n, 8);
	for (size_t i = 0; i < n; i++) {
		char want[128];
		snprintf(want, sizeof(want), "limit name \"watch\" log prefix \"alcatraz:%s\" group %d\n\t\tgoto refuse\n",
			 names[i], AZ_NFLOG_GROUP);
		cr_assert(strstr(s, want), "%s: %s", names[i], s);
	}
	/* the kernel log line and the counter stay */
	cr_assert(strstr(s, "chain refuse {\n\t\tcounter\n\t\tlimit rate 10/second burst 20 packets log prefix"), "%s", s);
	free(s);
	free(h);
}

Test(render, host_reason_chains_for_watch)
{
	struct az_buf b;
	az_buf_init(&b);
	cr_assert_eq(az_render_host_skeleton(NULL, &b), 0);
	const char *s = b.data;
	cr_assert(strstr(s, "add limit inet alcatraz watch { rate " AZ_NFLOG_RATE "; }"), "%s", s);
	cr_assert(strstr(s, "add rule inet alcatraz ctr4 ip daddr @blocked4 goto dst4\n"), "%s", s);
	cr_assert(strstr(s, "add rule inet alcatraz ctr6 ip6 daddr @hostnet6 goto dst6\n"), "%s", s);
	cr_assert(strstr(s, "add rule inet alcatraz ctr4 ip saddr @hold4 goto refuse_hold\n"), "%s", s);
	cr_assert(strstr(s, "add rule inet alcatraz dst4 ip daddr @hostaddr4 goto refuse_host\n"), "%s", s);
	cr_assert(strstr(s, "add rule inet alcatraz refuse_lan limit name \"watch\" log prefix \"alcatraz:lan\" group 7421\n"
			    "add rule inet alcatraz refuse_lan meta nfproto ipv4 goto refuse4\n"
			    "add rule inet alcatraz refuse_lan goto refuse6\n"), "%s", s);
	/* the refusal itself is unchanged */
	cr_assert(strstr(s, "add rule inet alcatraz refuse4 ip saddr @refused4\n"), "%s", s);
	az_buf_free(&b);
}
