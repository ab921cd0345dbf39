/* Unit tests of alcatraz watch's pure half: NFLOG prefix and packet in, a
 * refusal record out; address → container; the text and JSON lines.
 *
 * The unit-test binary links the project library only, not cli/: the source
 * is compiled into this test directly (it needs no libnetfilter-log).
 */
#include <criterion/criterion.h>
#include <string.h>

#include "cli/watch_event.c"

static const char ID_A[] = "aaaa1111bbbb2222cccc3333dddd4444eeee5555ffff6666aaaa1111bbbb2222";
static const char ID_B[] = "bbbb";

/* IPv4 TCP SYN 10.88.0.5:40000 → 192.168.1.10:8080, no options */
static const uint8_t tcp4[] = {
	0x45, 0, 0, 40, 0, 1, 0x40, 0, 64, 6, 0, 0, 10, 88, 0, 5, 192, 168, 1, 10,
	0x9c, 0x40, 0x1f, 0x90, 0, 0, 0, 0, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0,
};

static void udp6(uint8_t p[48], uint8_t nh_first)
{
	memset(p, 0, 48);
	p[0] = 0x60;
	p[6] = nh_first;
	p[8] = 0xfd;	/* src fd00:88::5 */
	p[9] = 0x00;
	p[10] = 0x00;
	p[11] = 0x88;
	p[23] = 5;
	p[24] = 0xfd;	/* dst fd77::10 */
	p[25] = 0x77;
	p[39] = 0x10;
	p[40] = 0x13;	/* sport 5000 */
	p[41] = 0x88;
	p[42] = 0x14;	/* dport 5353 */
	p[43] = 0xe9;
}

Test(watch, reason_from_prefix)
{
	struct cli_refusal r = { 0 };
	cr_assert_eq(cli_refusal_reason("alcatraz:lan", &r), 0);
	cr_assert_str_eq(r.reason, "lan");
	cr_assert_eq(cli_refusal_reason("alcatraz:proxy-bypass", &r), 0);
	cr_assert_str_eq(r.reason, "proxy-bypass");
	/* not ours: another program's prefix on the same group number */
	cr_assert_eq(cli_refusal_reason("alcatraz:lanx", &r), -1);
	cr_assert_eq(cli_refusal_reason("ulogd: lan", &r), -1);
	cr_assert_eq(cli_refusal_reason("", &r), -1);
	cr_assert_eq(cli_refusal_reason(NULL, &r), -1);
}

Test(watch, ipv4_tcp_packet)
{
	struct cli_refusal r = { 0 };
	char b[AZ_ADDRSTRLEN];
	cr_assert_eq(cli_refusal_from_packet(tcp4, sizeof(tcp4), &r), 0);
	cr_assert_eq(r.proto, IPPROTO_TCP);
	cr_assert_str_eq(az_addr_str(&r.src, b), "10.88.0.5");
	cr_assert_str_eq(az_addr_str(&r.dst, b), "192.168.1.10");
	cr_assert(r.has_ports);
	cr_assert_eq(r.sport, 40000);
	cr_assert_eq(r.dport, 8080);
}

Test(watch, ipv6_udp_packet_and_extension_header)
{
	struct cli_refusal r = { 0 };
	char b[AZ_ADDRSTRLEN];
	uint8_t p[48];
	udp6(p, IPPROTO_UDP);
	cr_assert_eq(cli_refusal_from_packet(p, sizeof(p), &r), 0);
	cr_assert_eq(r.proto, IPPROTO_UDP);
	cr_assert_str_eq(az_addr_str(&r.src, b), "fd00:88::5");
	cr_assert_str_eq(az_addr_str(&r.dst, b), "fd77::10");
	cr_assert_eq(r.dport, 5353);

	/* a hop-by-hop header (8 bytes) before UDP */
	uint8_t q[56];
	memcpy(q, p, 40);
	q[6] = IPPROTO_HOPOPTS;
	memset(q + 40, 0, 8);
	q[40] = IPPROTO_UDP;
	memcpy(q + 48, p + 40, 8);
	cr_assert_eq(cli_refusal_from_packet(q, sizeof(q), &r), 0);
	cr_assert_eq(r.proto, IPPROTO_UDP);
	cr_assert_eq(r.sport, 5000);
	cr_assert_eq(r.dport, 5353);
}

Test(watch, short_or_odd_packets)
{
	struct cli_refusal r = { 0 };
	cr_assert_eq(cli_refusal_from_packet(tcp4, 19, &r), -1);
	uint8_t bad[40] = { 0x55 };
	cr_assert_eq(cli_refusal_from_packet(bad, sizeof(bad), &r), -1);
	/* header only: addresses, no ports */
	cr_assert_eq(cli_refusal_from_packet(tcp4, 20, &r), 0);
	cr_assert_not(r.has_ports);
	/* a later fragment: no ports even though bytes follow */
	uint8_t frag[sizeof(tcp4)];
	memcpy(frag, tcp4, sizeof(frag));
	frag[7] = 10;
	cr_assert_eq(cli_refusal_from_packet(frag, sizeof(frag), &r), 0);
	cr_assert_not(r.has_ports);
	/* an IHL past the end */
	memcpy(frag, tcp4, sizeof(frag));
	frag[0] = 0x4f;
	cr_assert_eq(cli_refusal_from_packet(frag, 40, &r), -1);
}

static void attachment(struct az_attachment *a, const char *id, const char *addr4, bool alive)
{
	memset(a, 0, sizeof(*a));
	a->n_members = 1;
	strcpy(a->members[0], id);
	a->alive = alive;
	a->target.n_if = 1;
	a->target.ifs[0].n4 = 1;
	cr_assert_eq(az_prefix_parse(addr4, &a->target.ifs[0].addr4[0], NULL), 0);
	a->target.ifs[0].addr4[0].len = 24;
}

Test(watch, address_to_container_live_first)
{
	struct az_attachment v[3];
	struct az_addr x;
	attachment(&v[0], ID_B, "10.88.0.5", false);	/* dead, its address reused */
	attachment(&v[1], ID_A, "10.88.0.5", true);
	attachment(&v[2], "cccc", "10.88.0.6", true);
	az_addr_parse("10.88.0.5", &x);
	const struct az_attachment *a = cli_attachment_by_addr(v, 3, &x);
	cr_assert(a == &v[1]);
	az_addr_parse("10.88.0.7", &x);
	cr_assert_null(cli_attachment_by_addr(v, 3, &x));
	/* only the dead one holds it: better than nothing */
	az_addr_parse("10.88.0.5", &x);
	cr_assert(cli_attachment_by_addr(v, 1, &x) == &v[0]);
}

Test(watch, json_and_text_lines)
{
	struct cli_refusal r = { 0 };
	struct az_attachment a;
	struct az_buf b;
	attachment(&a, ID_A, "10.88.0.5", true);
	cr_assert_eq(cli_refusal_from_packet(tcp4, sizeof(tcp4), &r), 0);
	cr_assert_eq(cli_refusal_reason("alcatraz:lan", &r), 0);
	cli_refusal_set_container(&r, &a);
	r.time.tv_sec = 1700000000;
	r.time.tv_usec = 42;

	az_buf_init(&b);
	cli_refusal_format(&r, true, &b);
	cr_assert_str_eq(b.data, "{\"time\": \"2023-11-14T22:13:20.000042Z\", \"container\": \"aaaa1111bbbb2222cccc3333dddd4444eeee5555ffff6666aaaa1111bbbb2222\", "
				 "\"name\": null, \"layer\": \"netns\", \"reason\": \"lan\", \"proto\": \"tcp\", \"src\": \"10.88.0.5\", "
				 "\"dst\": \"192.168.1.10\", \"sport\": 40000, \"dport\": 8080}\n");
	az_buf_free(&b);

	az_buf_init(&b);
	r.host_layer = true;
	cli_refusal_format(&r, false, &b);
	cr_assert_str_eq(b.data, "2023-11-14T22:13:20.000042Z aaaa1111bbbb lan     tcp    host  "
				 "10.88.0.5:40000 -> 192.168.1.10:8080\n");
	az_buf_free(&b);

	/* with the name the runtime gave (checked like an id) */
	snprintf(a.target.name, sizeof(a.target.name), "web-1");
	cli_refusal_set_container(&r, &a);
	az_buf_init(&b);
	cli_refusal_format(&r, true, &b);
	cr_assert(strstr(b.data, "bbbb2222\", \"name\": \"web-1\", \"layer\": \"host\""), "%s", b.data);
	az_buf_free(&b);
	az_buf_init(&b);
	cli_refusal_format(&r, false, &b);
	cr_assert(strstr(b.data, " aaaa1111bbbb web-1 lan     tcp"), "[%s]", b.data);
	az_buf_free(&b);
	snprintf(a.target.name, sizeof(a.target.name), "x\"y");
	cli_refusal_set_container(&r, &a);
	cr_assert_str_eq(r.name, "");

	/* unknown container, IPv6 without ports (ICMPv6) */
	uint8_t p[48];
	udp6(p, IPPROTO_ICMPV6);
	struct cli_refusal q = { 0 };
	cr_assert_eq(cli_refusal_from_packet(p, sizeof(p), &q), 0);
	cli_refusal_set_container(&q, NULL);
	az_buf_init(&b);
	cli_refusal_format(&q, true, &b);
	cr_assert(strstr(b.data, "\"container\": null, \"name\": null, \"layer\": \"netns\", \"reason\": \"unknown\", "
				 "\"proto\": \"icmpv6\", \"src\": \"fd00:88::5\", \"dst\": \"fd77::10\", "
				 "\"sport\": null, \"dport\": null}\n"), "%s", b.data);
	az_buf_free(&b);
	az_buf_init(&b);
	cli_refusal_format(&q, false, &b);
	cr_assert(strstr(b.data, " ?            unknown icmpv6 netns fd00:88::5 -> fd77::10\n"), "[%s]", b.data);
	az_buf_free(&b);
}
