/* lan-access grammar: every form, every error, list handling, round trips. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "config/config.h"

#define TOKEN "${alca:HOST_IP}"
#define ANY_PORT 0, 65535

/* The message names the entry in quotes and contains every reason given. */
#define expect_err_has(err, s) \
	cr_expect(strstr((err).msg, (s)) != NULL, "message \"%s\" lacks \"%s\"", (err).msg, (s))

static char *entry_text(const struct az_lan_entry *e)
{
	struct az_buf b;
	az_buf_init(&b);
	cr_assert_eq(az_lan_entry_format(e, &b), 0);
	return az_buf_steal(&b);
}

static char *list_text(const struct az_lan_list *l)
{
	struct az_buf b;
	az_buf_init(&b);
	cr_assert_eq(az_lan_format(l, &b), 0);
	return az_buf_steal(&b);
}

static bool entry_eq(const struct az_lan_entry *a, const struct az_lan_entry *b)
{
	if (a->kind != b->kind || a->all_proto != b->all_proto)
		return false;
	if (a->kind == AZ_HOST_ADDR &&
	    (!az_addr_eq(&a->net.addr, &b->net.addr) || a->net.len != b->net.len))
		return false;
	return a->all_proto ||
	       (a->protos == b->protos && a->port_lo == b->port_lo && a->port_hi == b->port_hi);
}

/* ---- every accepted form ---- */

struct form {
	const char *text;
	const char *canonical;
	enum az_host_kind kind;
	const char *net; /* canonical prefix text, NULL for the token */
	bool all_proto;
	unsigned protos;
	uint16_t lo, hi;
};

static const struct form forms[] = {
	/* IPv4 host */
	{ "192.168.1.100", "192.168.1.100", AZ_HOST_ADDR, "192.168.1.100", true, 3, ANY_PORT },
	{ "192.168.1.100:*", "192.168.1.100", AZ_HOST_ADDR, "192.168.1.100", true, 3, ANY_PORT },
	{ "192.168.1.100/32", "192.168.1.100", AZ_HOST_ADDR, "192.168.1.100", true, 3, ANY_PORT },
	{ "192.168.1.100:8080", "192.168.1.100:8080", AZ_HOST_ADDR, "192.168.1.100", false, AZ_L4_TCP, 8080, 8080 },
	{ "192.168.1.100:08080", "192.168.1.100:8080", AZ_HOST_ADDR, "192.168.1.100", false, AZ_L4_TCP, 8080, 8080 },
	{ "192.168.1.100:1", "192.168.1.100:1", AZ_HOST_ADDR, "192.168.1.100", false, AZ_L4_TCP, 1, 1 },
	{ "192.168.1.100:65535", "192.168.1.100:65535", AZ_HOST_ADDR, "192.168.1.100", false, AZ_L4_TCP, 65535, 65535 },
	{ "tcp://192.168.1.100:8080", "192.168.1.100:8080", AZ_HOST_ADDR, "192.168.1.100", false, AZ_L4_TCP, 8080, 8080 },
	{ "TCP://192.168.1.100:8080", "192.168.1.100:8080", AZ_HOST_ADDR, "192.168.1.100", false, AZ_L4_TCP, 8080, 8080 },
	{ "udp://192.168.1.100:53", "udp://192.168.1.100:53", AZ_HOST_ADDR, "192.168.1.100", false, AZ_L4_UDP, 53, 53 },
	{ "*://192.168.1.100:53", "*://192.168.1.100:53", AZ_HOST_ADDR, "192.168.1.100", false, 3, 53, 53 },
	{ "tcp://192.168.1.100", "tcp://192.168.1.100", AZ_HOST_ADDR, "192.168.1.100", false, AZ_L4_TCP, ANY_PORT },
	{ "tcp://192.168.1.100:*", "tcp://192.168.1.100", AZ_HOST_ADDR, "192.168.1.100", false, AZ_L4_TCP, ANY_PORT },
	{ "udp://192.168.1.100", "udp://192.168.1.100", AZ_HOST_ADDR, "192.168.1.100", false, AZ_L4_UDP, ANY_PORT },
	{ "udp://192.168.1.100:*", "udp://192.168.1.100", AZ_HOST_ADDR, "192.168.1.100", false, AZ_L4_UDP, ANY_PORT },
	{ "*://192.168.1.100", "*://192.168.1.100", AZ_HOST_ADDR, "192.168.1.100", false, 3, ANY_PORT },
	{ "*://192.168.1.100:*", "*://192.168.1.100", AZ_HOST_ADDR, "192.168.1.100", false, 3, ANY_PORT },
	/* ranges (extension) */
	{ "192.168.1.100:8000-8100", "192.168.1.100:8000-8100", AZ_HOST_ADDR, "192.168.1.100", false, AZ_L4_TCP, 8000, 8100 },
	{ "192.168.1.100:80-80", "192.168.1.100:80", AZ_HOST_ADDR, "192.168.1.100", false, AZ_L4_TCP, 80, 80 },
	{ "udp://192.168.1.100:1-65535", "udp://192.168.1.100:1-65535", AZ_HOST_ADDR, "192.168.1.100", false, AZ_L4_UDP, 1, 65535 },
	/* IPv4 CIDR */
	{ "192.168.1.0/24", "192.168.1.0/24", AZ_HOST_ADDR, "192.168.1.0/24", true, 3, ANY_PORT },
	{ "192.168.1.0/24:*", "192.168.1.0/24", AZ_HOST_ADDR, "192.168.1.0/24", true, 3, ANY_PORT },
	{ "192.168.1.0/24:8080", "192.168.1.0/24:8080", AZ_HOST_ADDR, "192.168.1.0/24", false, AZ_L4_TCP, 8080, 8080 },
	{ "udp://10.0.0.0/8:5000-5100", "udp://10.0.0.0/8:5000-5100", AZ_HOST_ADDR, "10.0.0.0/8", false, AZ_L4_UDP, 5000, 5100 },
	{ "*://172.16.0.0/12", "*://172.16.0.0/12", AZ_HOST_ADDR, "172.16.0.0/12", false, 3, ANY_PORT },
	{ "0.0.0.0/0", "0.0.0.0/0", AZ_HOST_ADDR, "0.0.0.0/0", true, 3, ANY_PORT },
	/* IPv6 */
	{ "fd00::1", "fd00::1", AZ_HOST_ADDR, "fd00::1", true, 3, ANY_PORT },
	/* not a port: a valid address, as documented */
	{ "fd00::1:443", "fd00::1:443", AZ_HOST_ADDR, "fd00::1:443", true, 3, ANY_PORT },
	{ "fd00::/8", "fd00::/8", AZ_HOST_ADDR, "fd00::/8", true, 3, ANY_PORT },
	{ "[fd00::1]", "fd00::1", AZ_HOST_ADDR, "fd00::1", true, 3, ANY_PORT },
	{ "[fd00::1]:*", "fd00::1", AZ_HOST_ADDR, "fd00::1", true, 3, ANY_PORT },
	{ "[fd00::1]:443", "[fd00::1]:443", AZ_HOST_ADDR, "fd00::1", false, AZ_L4_TCP, 443, 443 },
	{ "[FD00:0::1]:443", "[fd00::1]:443", AZ_HOST_ADDR, "fd00::1", false, AZ_L4_TCP, 443, 443 },
	{ "[fd00::/8]:443", "[fd00::/8]:443", AZ_HOST_ADDR, "fd00::/8", false, AZ_L4_TCP, 443, 443 },
	{ "[fd00::/8]", "fd00::/8", AZ_HOST_ADDR, "fd00::/8", true, 3, ANY_PORT },
	{ "tcp://[2001:db8::1]:443", "[2001:db8::1]:443", AZ_HOST_ADDR, "2001:db8::1", false, AZ_L4_TCP, 443, 443 },
	{ "tcp://fd00::1", "tcp://fd00::1", AZ_HOST_ADDR, "fd00::1", false, AZ_L4_TCP, ANY_PORT },
	{ "tcp://[fd00::1]", "tcp://fd00::1", AZ_HOST_ADDR, "fd00::1", false, AZ_L4_TCP, ANY_PORT },
	{ "udp://[fd00::1]:53", "udp://[fd00::1]:53", AZ_HOST_ADDR, "fd00::1", false, AZ_L4_UDP, 53, 53 },
	{ "udp://fd00::/8", "udp://fd00::/8", AZ_HOST_ADDR, "fd00::/8", false, AZ_L4_UDP, ANY_PORT },
	{ "*://[fd00::1]:53", "*://[fd00::1]:53", AZ_HOST_ADDR, "fd00::1", false, 3, 53, 53 },
	{ "*://[fd00::/16]:1000-2000", "*://[fd00::/16]:1000-2000", AZ_HOST_ADDR, "fd00::/16", false, 3, 1000, 2000 },
	{ "::ffff:192.168.1.1", "::ffff:192.168.1.1", AZ_HOST_ADDR, "::ffff:192.168.1.1", true, 3, ANY_PORT },
	{ "::/0", "::/0", AZ_HOST_ADDR, "::/0", true, 3, ANY_PORT },
	/* the gateway token */
	{ TOKEN, TOKEN, AZ_HOST_GATEWAY, NULL, true, 3, ANY_PORT },
	{ TOKEN ":*", TOKEN, AZ_HOST_GATEWAY, NULL, true, 3, ANY_PORT },
	{ TOKEN ":8080", TOKEN ":8080", AZ_HOST_GATEWAY, NULL, false, AZ_L4_TCP, 8080, 8080 },
	{ "tcp://" TOKEN ":8080", TOKEN ":8080", AZ_HOST_GATEWAY, NULL, false, AZ_L4_TCP, 8080, 8080 },
	{ "udp://" TOKEN, "udp://" TOKEN, AZ_HOST_GATEWAY, NULL, false, AZ_L4_UDP, ANY_PORT },
	{ "*://" TOKEN ":53", "*://" TOKEN ":53", AZ_HOST_GATEWAY, NULL, false, 3, 53, 53 },
	{ TOKEN ":8000-8100", TOKEN ":8000-8100", AZ_HOST_GATEWAY, NULL, false, AZ_L4_TCP, 8000, 8100 },
};

Test(config_lan_entry, every_form_parses)
{
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		const struct form *f = &forms[i];
		struct az_lan_entry e;
		az_error err = { 0 };
		char net[AZ_PREFIXSTRLEN];

		cr_assert_eq(az_lan_parse_entry(f->text, &e, &err), 0, "%s: %s", f->text, err.msg);
		cr_expect_eq(e.kind, f->kind, "%s: kind", f->text);
		if (f->net)
			cr_expect_str_eq(az_prefix_str(&e.net, net), f->net, "%s: net", f->text);
		cr_expect_eq(e.all_proto, f->all_proto, "%s: all_proto", f->text);
		if (!f->all_proto) {
			cr_expect_eq(e.protos, f->protos, "%s: protos", f->text);
			cr_expect_eq(e.port_lo, f->lo, "%s: port_lo %u", f->text, e.port_lo);
			cr_expect_eq(e.port_hi, f->hi, "%s: port_hi %u", f->text, e.port_hi);
		}
	}
}

Test(config_lan_entry, every_form_round_trips)
{
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		struct az_lan_entry e, back;
		az_error err = { 0 };

		cr_assert_eq(az_lan_parse_entry(forms[i].text, &e, &err), 0, "%s", err.msg);
		char *t = entry_text(&e);
		cr_expect_str_eq(t, forms[i].canonical, "%s", forms[i].text);
		cr_assert_eq(az_lan_parse_entry(t, &back, &err), 0, "%s: %s", t, err.msg);
		cr_expect(entry_eq(&e, &back), "%s does not parse back to the same entry", t);
		free(t);
	}
}

/* Every combination of host kind, prefix, protocol and port form: format,
 * parse back, same entry, same text. */
Test(config_lan_entry, generated_round_trips)
{
	static const char *const nets[] = { "10.1.2.3/32", "10.0.0.0/8", "0.0.0.0/0", "fd00::1/128",
					    "fd00::/8", "::/0", "2001:db8::/32", NULL };
	static const uint16_t ports[][2] = { { 0, 65535 }, { 1, 1 }, { 443, 443 }, { 8000, 8100 },
					     { 1, 65535 }, { 65535, 65535 } };
	size_t checked = 0;

	for (size_t n = 0; n < sizeof(nets) / sizeof(nets[0]); n++)
		for (unsigned protos = 0; protos <= 3; protos++)
			for (size_t p = 0; p < sizeof(ports) / sizeof(ports[0]); p++) {
				struct az_lan_entry e = { 0 }, back;
				az_error err = { 0 };

				if (nets[n]) {
					e.kind = AZ_HOST_ADDR;
					cr_assert_eq(az_prefix_parse(nets[n], &e.net, &err), 0);
				} else {
					e.kind = AZ_HOST_GATEWAY;
				}
				e.all_proto = protos == 0;
				e.protos = protos ? protos : 3;
				e.port_lo = protos ? ports[p][0] : 0;
				e.port_hi = protos ? ports[p][1] : 65535;
				char *t = entry_text(&e);
				cr_assert_eq(az_lan_parse_entry(t, &back, &err), 0, "%s: %s", t, err.msg);
				cr_expect(entry_eq(&e, &back), "%s does not round-trip", t);
				char *t2 = entry_text(&back);
				cr_expect_str_eq(t, t2);
				free(t);
				free(t2);
				checked++;
			}
	cr_expect_gt(checked, 150);
}

Test(config_lan_entry, format_refuses_entry_without_protocol)
{
	struct az_lan_entry e = { .kind = AZ_HOST_GATEWAY, .protos = 0, .port_lo = 1, .port_hi = 2 };
	struct az_buf b;
	az_buf_init(&b);
	cr_expect_lt(az_lan_entry_format(&e, &b), 0);
	az_buf_free(&b);
}

/* ---- every error ---- */

struct bad {
	const char *text;
	const char *reason;
};

static const struct bad bads[] = {
	/* addresses */
	{ "tcp://192.168.1.300:80", "192.168.1.300 is not an IPv4 address" },
	{ "192.168.1.300", "192.168.1.300 is not an IPv4 address" },
	{ "192.168.1", "192.168.1 is not an IPv4 address" },
	{ "192.168.01.1", "is not an IPv4 address" },
	{ "fd00::1::2", "fd00::1::2 is not an IPv6 address" },
	{ "fd00:::1", "needs brackets: write [fd00::]:1" },
	{ "[fd00::g]:80", "fd00::g is not an IP address" },
	{ "fe80::1%eth0", "zone indexes are not accepted" },
	{ "example.com", "example.com is not an IP address (host names are not accepted" },
	{ "nas.local:445", "nas.local is not an IP address" },
	{ "tcp://router:80", "router is not an IP address" },
	{ "*:80", "* is not an address" },
	{ "tcp://*:80", "* is not an address" },
	{ "*", "a lone * opens the whole LAN" },
	{ "10.0.0.1:80:90", "unexpected \":80:90\" after the IPv4 address 10.0.0.1" },
	/* empty parts */
	{ "", "empty entry" },
	{ "tcp://", "no address" },
	{ ":80", "no address" },
	{ "[]:80", "no address" },
	/* ports */
	{ "192.168.1.100:0", "port 0 is out of range (1-65535)" },
	{ "192.168.1.100:65536", "port 65536 is out of range (1-65535)" },
	{ "192.168.1.100:99999999999999999999", "is out of range" },
	{ "192.168.1.100:http", "port \"http\" is not a number" },
	{ "192.168.1.100:+80", "port \"+80\" is not a number" },
	{ "192.168.1.100:8o", "port \"8o\" is not a number" },
	{ "192.168.1.100:", "missing port" },
	{ "[fd00::1]:", "missing port" },
	{ "192.168.1.100:8100-8000", "port range 8100-8000 is reversed (write 8000-8100)" },
	{ "192.168.1.100:80-", "port range \"80-\" is incomplete" },
	{ "192.168.1.100:-80", "port range \"-80\" is incomplete" },
	{ "192.168.1.100:0-80", "port 0 is out of range" },
	{ "192.168.1.100:80-70000", "port 70000 is out of range" },
	{ "192.168.1.100:*-80", "port \"*\" is not a number" },
	{ "192.168.1.100:80-90-100", "is not a number" },
	/* CIDR */
	{ "192.168.1.0/33", "prefix length /33 is too long for IPv4 (at most /32)" },
	{ "192.168.1.0/999", "prefix length /999 is too long for IPv4" },
	{ "fd00::/129", "prefix length /129 is too long for IPv6 (at most /128)" },
	{ "192.168.1.5/24", "192.168.1.5/24 has host bits set (did you mean 192.168.1.0/24?)" },
	{ "192.168.1.5/24:80", "has host bits set (did you mean 192.168.1.0/24?)" },
	{ "[fd00::1/8]:443", "fd00::1/8 has host bits set (did you mean fd00::/8?)" },
	{ "fd00::1/8", "did you mean fd00::/8?" },
	{ "192.168.1.0/", "prefix length / is not a number" },
	{ "192.168.1.0/abc", "prefix length /abc is not a number" },
	{ "192.168.1.0/-1", "prefix length /-1 is not a number" },
	{ "192.168.1.0/24/8", "prefix length /24/8 is not a number" },
	{ "192.168.1.0/0024", "prefix length /0024 is not a number" },
	/* schemes */
	{ "http://192.168.1.1", "unknown protocol \"http\" (use tcp://, udp:// or *://)" },
	{ "https://192.168.1.1:443", "unknown protocol \"https\"" },
	{ "icmp://192.168.1.1", "unknown protocol \"icmp\"" },
	{ "://192.168.1.1", "unknown protocol \"\"" },
	{ "tcp:/192.168.1.1", "tcp is not an IP address" },
	/* IPv6 and brackets */
	{ "fd00::1:*", "a port after an IPv6 address needs brackets: write [fd00::1]:*" },
	{ "fd00::/8:443", "needs brackets: write [fd00::/8]:443" },
	{ "tcp://fd00::1:80-90", "needs brackets: write [fd00::1]:80-90" },
	{ "1:2:3:4:5:6:7:8:80", "needs brackets: write [1:2:3:4:5:6:7:8]:80" },
	{ "[192.168.1.1]:80", "brackets are only for IPv6 addresses: write 192.168.1.1" },
	{ "[fd00::1", "missing \"]\"" },
	{ "[fd00::1]x", "unexpected \"x\" after \"]\"" },
	{ "[fd00::1]/64", "unexpected \"/64\" after \"]\"" },
	{ "[fd00::1]:443x", "port \"443x\" is not a number" },
	/* tokens */
	{ "${alca:GATEWAY}", "unknown token ${alca:GATEWAY} (the only token is " TOKEN ")" },
	{ "${alca:host_ip}:80", "unknown token ${alca:host_ip}" },
	{ "${HOST_IP}", "unknown token ${HOST_IP}" },
	{ "udp://${alca:FOO}:53", "unknown token ${alca:FOO}" },
	{ "${alca:HOST_IP", "unterminated token ${alca:HOST_IP" },
	{ TOKEN "/24", "a prefix length cannot follow a token" },
	{ TOKEN "x", "unexpected \"x\" after \"}\"" },
	{ TOKEN ":0", "port 0 is out of range" },
	{ "[" TOKEN "]:80", "brackets are only for IPv6 addresses" },
	/* more than one entry */
	{ "10.0.0.1 10.0.0.2", "contains a space or comma" },
	{ "10.0.0.1,10.0.0.2", "contains a space or comma" },
};

Test(config_lan_entry, every_error_names_entry_and_reason)
{
	for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		struct az_lan_entry e;
		az_error err = { 0 };
		char prefix[256];

		cr_expect_lt(az_lan_parse_entry(bads[i].text, &e, &err), 0, "%s was accepted",
			     bads[i].text);
		snprintf(prefix, sizeof(prefix), "lan-access entry \"%s\": ", bads[i].text);
		cr_expect(strncmp(err.msg, prefix, strlen(prefix)) == 0,
			  "\"%s\" does not start with \"%s\"", err.msg, prefix);
		expect_err_has(err, bads[i].reason);
		cr_expect_eq(err.code, EINVAL, "%s", bads[i].text);
	}
}

Test(config_lan_entry, design_example_message_is_exact)
{
	struct az_lan_entry e;
	az_error err = { 0 };
	cr_assert_lt(az_lan_parse_entry("tcp://192.168.1.300:80", &e, &err), 0);
	cr_expect_str_eq(err.msg,
			 "lan-access entry \"tcp://192.168.1.300:80\": 192.168.1.300 is not an IPv4 address");
}

Test(config_lan_entry, too_long_entry_is_refused_and_quoted_short)
{
	char text[300];
	struct az_lan_entry e;
	az_error err = { 0 };

	memset(text, '1', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	cr_assert_lt(az_lan_parse_entry(text, &e, &err), 0);
	expect_err_has(err, "too long (299 bytes)");
	cr_expect_lt(strlen(err.msg), 150);
}

Test(config_lan_entry, errors_are_the_same_through_the_list)
{
	struct az_lan_list l;
	az_error err = { 0 };

	cr_assert_lt(az_lan_parse_list("10.0.0.1, tcp://192.168.1.300:80 10.0.0.2", &l, &err), 0);
	cr_expect_str_eq(err.msg,
			 "lan-access entry \"tcp://192.168.1.300:80\": 192.168.1.300 is not an IPv4 address");
	cr_expect_eq(l.n, 0);
	cr_expect_null(l.v);
	cr_expect(!l.all);
}

/* ---- hostile text ---- */

struct hostile {
	const char *text;
	const char *reason;
	const char *raw; /* must not appear in the message */
};

static const struct hostile hostiles[] = {
	{ "10.0.0.1\x01", "control character 0x01 at byte 8", "\x01" },
	{ "\x1b[31m10.0.0.1", "control character 0x1b at byte 0", "\x1b" },
	{ "10.0.0.1\x7f", "control character 0x7f at byte 8", "\x7f" },
	{ "10.0.0.1\v", "control character 0x0b", "\v" },
	{ "10.0.0.1\xff", "invalid UTF-8 at byte 8", "\xff" },
	{ "\xc0\x80", "invalid UTF-8 at byte 0", "\xc0" },		/* overlong NUL */
	{ "\xed\xa0\x80", "invalid UTF-8 at byte 0", "\xed" },		/* surrogate */
	{ "\xf4\x90\x80\x80", "invalid UTF-8 at byte 0", "\xf4" },	/* > U+10FFFF */
	{ "10.0.0.1\xe2\x82", "invalid UTF-8 at byte 8", "\xe2" },	/* truncated */
	{ "\x80", "invalid UTF-8 at byte 0", "\x80" },			/* lone continuation */
	{ "10.0.0.1\xc2\xa0", "non-ASCII character U+00A0 at byte 8", "\xc2" },
	{ "\xc2\x85", "non-ASCII character U+0085", "\xc2" },		/* C1 NEL */
	{ "10.0.0.1\xe2\x80\xae", "non-ASCII character U+202E", "\xe2" },	/* bidi override */
	{ "\xef\xbc\x91\x30.0.0.1", "non-ASCII character U+FF11", "\xef" },	/* fullwidth 1 */
	{ "\xf0\x9f\x98\x80", "non-ASCII character U+1F600", "\xf0" },
};

Test(config_hostile, refused_by_entry_and_list_without_echo)
{
	for (size_t i = 0; i < sizeof(hostiles) / sizeof(hostiles[0]); i++) {
		const struct hostile *h = &hostiles[i];
		struct az_lan_entry e;
		struct az_lan_list l;
		az_error err = { 0 };

		cr_expect_lt(az_lan_parse_entry(h->text, &e, &err), 0, "entry %zu accepted", i);
		expect_err_has(err, h->reason);
		expect_err_has(err, "lan-access: ");
		cr_expect_null(strstr(err.msg, h->raw), "entry %zu: raw byte echoed", i);

		memset(&err, 0, sizeof(err));
		cr_expect_lt(az_lan_parse_list(h->text, &l, &err), 0, "list %zu accepted", i);
		expect_err_has(err, h->reason);
		cr_expect_null(strstr(err.msg, h->raw), "list %zu: raw byte echoed", i);
	}
}

Test(config_hostile, setting_check_directly)
{
	az_error err = { 0 };

	cr_expect_eq(az_setting_check("x", "", &err), 0);
	cr_expect_eq(az_setting_check("x", "a b\tc\r\nd,e", &err), 0);
	cr_expect_eq(az_setting_check("x", " !\"#$%&'()*+,-./09:;<=>?@AZ[\\]^_`az{|}~", &err), 0);
	cr_expect_lt(az_setting_check("proxy", "\x02", &err), 0);
	cr_expect(strncmp(err.msg, "proxy: ", 7) == 0, "%s", err.msg);
	cr_expect_eq(err.code, EINVAL);
	cr_expect_lt(az_setting_check("x", "\xc2\xa0", NULL), 0);
}

Test(config_hostile, length_limit)
{
	char *big = malloc(AZ_MAX_SETTING_LEN + 2);
	struct az_lan_list l;
	az_error err = { 0 };

	/* Exactly the limit is accepted (all separators: an empty list). */
	memset(big, ' ', AZ_MAX_SETTING_LEN);
	big[AZ_MAX_SETTING_LEN] = '\0';
	cr_expect_eq(az_lan_parse_list(big, &l, &err), 0, "%s", err.msg);
	cr_expect_eq(l.n, 0);
	big[AZ_MAX_SETTING_LEN] = ' ';
	big[AZ_MAX_SETTING_LEN + 1] = '\0';
	cr_expect_lt(az_lan_parse_list(big, &l, &err), 0);
	expect_err_has(err, "lan-access: value longer than 65536 bytes");
	free(big);
}

Test(config_hostile, length_limit_entry)
{
	char *big = malloc(AZ_MAX_SETTING_LEN + 2);
	struct az_lan_entry e;
	az_error err = { 0 };

	memset(big, '1', AZ_MAX_SETTING_LEN + 1);
	big[AZ_MAX_SETTING_LEN + 1] = '\0';
	cr_expect_lt(az_lan_parse_entry(big, &e, &err), 0);
	expect_err_has(err, "value longer than 65536 bytes");
	free(big);
}

/* ---- lists ---- */

Test(config_lan_list, empty_and_separators_only)
{
	static const char *const texts[] = { "", " ", ",", " , ,\n\t\r\n", ",,,," };
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		struct az_lan_list l;
		az_error err = { 0 };
		cr_assert_eq(az_lan_parse_list(texts[i], &l, &err), 0, "%s", err.msg);
		cr_expect_eq(l.n, 0);
		cr_expect(!l.all);
		cr_expect_null(l.v);
		char *t = list_text(&l);
		cr_expect_str_eq(t, "");
		free(t);
	}
}

Test(config_lan_list, star_anywhere_opens_everything)
{
	static const char *const texts[] = { "*", " * ", "10.0.0.1 *", "*,10.0.0.1",
					     "10.0.0.1, *, tcp://[fd00::1]:443", "* *" };
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		struct az_lan_list l;
		az_error err = { 0 };
		cr_assert_eq(az_lan_parse_list(texts[i], &l, &err), 0, "%s", err.msg);
		cr_expect(l.all, "%s", texts[i]);
		cr_expect_eq(l.n, 0, "%s: entries kept beside *", texts[i]);
		char *t = list_text(&l);
		cr_expect_str_eq(t, "*");
		free(t);
	}
}

Test(config_lan_list, star_does_not_hide_errors)
{
	struct az_lan_list l;
	az_error err = { 0 };
	cr_expect_lt(az_lan_parse_list("* 10.0.0.300", &l, &err), 0);
	expect_err_has(err, "10.0.0.300 is not an IPv4 address");
}

Test(config_lan_list, separators_whitespace_and_commas)
{
	struct az_lan_list l;
	az_error err = { 0 };

	cr_assert_eq(az_lan_parse_list("10.0.0.1,10.0.0.2 10.0.0.3, 10.0.0.4 ,10.0.0.5\n10.0.0.6\t"
				       "10.0.0.7\r\n,,10.0.0.8",
				       &l, &err),
		     0, "%s", err.msg);
	cr_expect_eq(l.n, 8);
	char *t = list_text(&l);
	cr_expect_str_eq(t, "10.0.0.1 10.0.0.2 10.0.0.3 10.0.0.4 10.0.0.5 10.0.0.6 10.0.0.7 10.0.0.8");
	free(t);
	free(l.v);
}

Test(config_lan_list, sorted_and_deduplicated)
{
	struct az_lan_list l;
	az_error err = { 0 };

	cr_assert_eq(az_lan_parse_list(TOKEN ":80 fd00::1 10.0.0.2 10.0.0.1:80 10.0.0.1 "
				       "tcp://10.0.0.1:80 10.0.0.1:* [fd00::1]:* " TOKEN ":80",
				       &l, &err),
		     0, "%s", err.msg);
	cr_assert_eq(l.n, 5);
	/* IPv4 before IPv6 before the token; whole host before ports. */
	cr_expect_eq(l.v[0].net.addr.family, AF_INET);
	cr_expect(l.v[0].all_proto);
	cr_expect(!l.v[1].all_proto);
	cr_expect_eq(l.v[1].port_lo, 80);
	cr_expect_eq(l.v[3].net.addr.family, AF_INET6);
	cr_expect_eq(l.v[4].kind, AZ_HOST_GATEWAY);
	free(l.v);
}

Test(config_lan_list, limit_of_entries)
{
	struct az_buf b;
	struct az_lan_list l;
	az_error err = { 0 };

	az_buf_init(&b);
	for (int i = 0; i < AZ_MAX_LAN; i++)
		az_buf_printf(&b, "10.0.%d.%d ", i / 200, i % 200 + 1);
	cr_assert_eq(az_lan_parse_list(b.data, &l, &err), 0, "%s", err.msg);
	cr_expect_eq(l.n, AZ_MAX_LAN);
	free(l.v);
	az_buf_printf(&b, "10.9.9.9");
	cr_expect_lt(az_lan_parse_list(b.data, &l, &err), 0);
	expect_err_has(err, "lan-access: 257 entries, at most 256 are accepted");
	cr_expect_null(l.v);
	az_buf_free(&b);
}

Test(config_lan_list, too_long_entry_in_list)
{
	char text[400] = "10.0.0.1 ";
	struct az_lan_list l;
	az_error err = { 0 };

	memset(text + strlen(text), 'a', 200);
	cr_expect_lt(az_lan_parse_list(text, &l, &err), 0);
	expect_err_has(err, "lan-access entry \"aaaa");
	expect_err_has(err, "...\": too long (200 bytes)");
}

Test(config_lan_list, format_is_comma_free_sorted_and_round_trips)
{
	static const char *const texts[] = {
		"udp://10.0.0.0/8:53, 192.168.1.0/24:8080 tcp://[fd00::1]:443,fd00::/8," TOKEN ":8080",
		"*://" TOKEN " [fd00::/16]:1-100 172.16.0.0/12 tcp://10.0.0.1 udp://10.0.0.1",
		"10.0.0.1",
		"",
	};
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		struct az_lan_list l, back;
		az_error err = { 0 };

		cr_assert_eq(az_lan_parse_list(texts[i], &l, &err), 0, "%s", err.msg);
		char *t = list_text(&l);
		cr_expect_null(strchr(t, ','), "%s", t);
		cr_assert_eq(az_lan_parse_list(t, &back, &err), 0, "%s: %s", t, err.msg);
		cr_assert_eq(back.n, l.n);
		for (size_t k = 0; k < l.n; k++)
			cr_expect(entry_eq(&l.v[k], &back.v[k]), "%s: entry %zu", t, k);
		char *t2 = list_text(&back);
		cr_expect_str_eq(t, t2);
		free(t);
		free(t2);
		free(l.v);
		free(back.v);
	}
}

Test(config_lan_list, format_of_hand_built_unsorted_list)
{
	struct az_lan_entry v[3];
	struct az_lan_list l = { .n = 3, .v = v };
	az_error err = { 0 };

	cr_assert_eq(az_lan_parse_entry("udp://10.0.0.9:53", &v[0], &err), 0);
	cr_assert_eq(az_lan_parse_entry("10.0.0.1", &v[1], &err), 0);
	cr_assert_eq(az_lan_parse_entry("10.0.0.1", &v[2], &err), 0);
	char *t = list_text(&l);
	cr_expect_str_eq(t, "10.0.0.1 udp://10.0.0.9:53");
	free(t);
}

/* Random concatenations of grammar pieces: every accepted entry must
 * round-trip, every refused one must say which entry and why. */
Test(config_lan_entry, random_pieces_round_trip_or_fail_cleanly)
{
	static const char *const pieces[] = {
		"tcp://", "udp://", "*://", "http://", "://", "10.0.0.1", "192.168.1.0", "fd00::", "::1",
		"1", "0", "65535", "65536", "/", "/24", "/8", "/33", "/128", ":", "*", "-", "[", "]",
		TOKEN, "${alca:", "}", "::", ".", "abc", "ffff:", "8080", "80-90", "%eth0",
	};
	const size_t np = sizeof(pieces) / sizeof(pieces[0]);
	unsigned long seed = 12345;
	size_t accepted = 0;

	for (int iter = 0; iter < 50000; iter++) {
		char text[128] = "";
		struct az_lan_entry e, back;
		az_error err = { 0 };
		int n;

		seed = seed * 6364136223846793005UL + 1442695040888963407UL;
		n = 1 + (int)((seed >> 33) % 6);
		for (int k = 0; k < n; k++) {
			seed = seed * 6364136223846793005UL + 1442695040888963407UL;
			strcat(text, pieces[(seed >> 33) % np]);
		}
		if (az_lan_parse_entry(text, &e, &err) < 0) {
			char prefix[160];
			snprintf(prefix, sizeof(prefix), "lan-access entry \"%s\": ", text);
			cr_assert(strncmp(err.msg, prefix, strlen(prefix)) == 0 && err.msg[strlen(prefix)],
				  "%s: bad message \"%s\"", text, err.msg);
			continue;
		}
		accepted++;
		char *t = entry_text(&e);
		cr_assert_eq(az_lan_parse_entry(t, &back, &err), 0, "%s -> %s: %s", text, t, err.msg);
		cr_assert(entry_eq(&e, &back), "%s -> %s does not round-trip", text, t);
		char *t2 = entry_text(&back);
		cr_assert_str_eq(t, t2, "%s", text);
		free(t);
		free(t2);
	}
	cr_expect_gt(accepted, 500, "only %zu accepted", accepted);
}

Test(config_hostile, newline_in_single_entry_is_not_echoed)
{
	struct az_lan_entry e;
	az_error err = { 0 };
	char text[200] = "10.0.0.1\n";

	cr_expect_lt(az_lan_parse_entry("10.0.0.1\nalcatraz: applied", &e, &err), 0);
	cr_expect_null(strchr(err.msg, '\n'), "%s", err.msg);
	expect_err_has(err, "lan-access entry \"10.0.0.1 alcatraz: applied\": contains a space");
	memset(text + strlen(text), 'x', 150);
	cr_expect_lt(az_lan_parse_entry(text, &e, &err), 0);
	cr_expect_null(strchr(err.msg, '\n'), "%s", err.msg);
	expect_err_has(err, "too long");
}
