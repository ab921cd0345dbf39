/* proxy, dns, proxy-udp and enable values: grammar, errors, canonical text. */
#include <criterion/criterion.h>
#include <string.h>

#include "config/config.h"

#define TOKEN "${alca:HOST_IP}"

#define expect_err_has(err, s) \
	cr_expect(strstr((err).msg, (s)) != NULL, "message \"%s\" lacks \"%s\"", (err).msg, (s))

static char *proxy_text(const struct az_proxy *p)
{
	struct az_buf b;
	az_buf_init(&b);
	cr_assert_eq(az_proxy_format(p, &b), 0);
	return az_buf_steal(&b);
}

static char *dns_text(const struct az_dns *d)
{
	struct az_buf b;
	az_buf_init(&b);
	cr_assert_eq(az_dns_format(d, &b), 0);
	return az_buf_steal(&b);
}

/* ---- proxy ---- */

struct good_proxy {
	const char *text;
	const char *canonical;
	size_t n;
};

static const struct good_proxy good_proxies[] = {
	{ "10.0.0.1:3128", "10.0.0.1:3128", 1 },
	{ " 10.0.0.1:3128\n", "10.0.0.1:3128", 1 },
	{ "10.0.0.1:03128", "10.0.0.1:3128", 1 },
	{ "[fd00::1]:3128", "[fd00::1]:3128", 1 },
	{ "[FD00:0::1]:3128", "[fd00::1]:3128", 1 },
	{ TOKEN ":8080", TOKEN ":8080", 1 },
	{ "10.0.0.1:3128 [fd00::1]:3129", "10.0.0.1:3128 [fd00::1]:3129", 2 },
	{ "[fd00::1]:3129,10.0.0.1:3128", "10.0.0.1:3128 [fd00::1]:3129", 2 },
	{ "[fd00::1]:3129, " TOKEN ":1", TOKEN ":1 [fd00::1]:3129", 2 },
	{ "none", "none", 0 },
	{ " NONE ", "none", 0 },
	{ "", "none", 0 },
	{ " , ", "none", 0 },
	{ "127.0.0.1:1080", "127.0.0.1:1080", 1 },
};

Test(config_proxy, accepted_forms_and_canonical_text)
{
	for (size_t i = 0; i < sizeof(good_proxies) / sizeof(good_proxies[0]); i++) {
		const struct good_proxy *g = &good_proxies[i];
		struct az_proxy p, back;
		az_error err = { 0 };

		cr_assert_eq(az_proxy_parse(g->text, &p, &err), 0, "%s: %s", g->text, err.msg);
		cr_expect_eq(p.n, g->n, "%s", g->text);
		char *t = proxy_text(&p);
		cr_expect_str_eq(t, g->canonical, "%s", g->text);
		cr_assert_eq(az_proxy_parse(t, &back, &err), 0, "%s: %s", t, err.msg);
		char *t2 = proxy_text(&back);
		cr_expect_str_eq(t, t2);
		free(t);
		free(t2);
	}
}

Test(config_proxy, endpoint_fields)
{
	struct az_proxy p;
	az_error err = { 0 };
	char a[AZ_ADDRSTRLEN];

	cr_assert_eq(az_proxy_parse("[2001:db8::5]:443 " TOKEN ":3128", &p, &err), 0, "%s", err.msg);
	cr_assert_eq(p.n, 2);
	cr_expect_eq(p.v[0].kind, AZ_HOST_GATEWAY);
	cr_expect_eq(p.v[0].port, 3128);
	cr_expect_eq(p.v[1].kind, AZ_HOST_ADDR);
	cr_expect_str_eq(az_addr_str(&p.v[1].addr, a), "2001:db8::5");
	cr_expect_eq(p.v[1].port, 443);
}

static const struct {
	const char *text;
	const char *reason;
} bad_proxies[] = {
	{ "10.0.0.1", "proxy entry \"10.0.0.1\": missing port (write 10.0.0.1:PORT)" },
	{ "[fd00::1]", "missing port (write [fd00::1]:PORT)" },
	{ TOKEN, "missing port (write " TOKEN ":PORT)" },
	{ "10.0.0.1:", "missing port after \":\"" },
	{ "proxy.example.com:3128", "proxy.example.com is not an IP address (host names are not accepted" },
	{ "localhost:3128", "localhost is not an IP address" },
	{ "10.0.0.300:3128", "10.0.0.300 is not an IPv4 address" },
	{ "fd00::1:3128", "an IPv6 proxy is written [ADDRESS]:PORT" },
	{ "fd00::1", "an IPv6 proxy is written [ADDRESS]:PORT" },
	{ "[10.0.0.1]:3128", "brackets are only for IPv6 addresses: write 10.0.0.1" },
	{ "10.0.0.1:0", "port 0 is out of range" },
	{ "10.0.0.1:65536", "port 65536 is out of range" },
	{ "10.0.0.1:*", "port \"*\" is not a number" },
	{ "10.0.0.1:3128-3130", "port \"3128-3130\" is not a number" },
	{ "http://10.0.0.1:3128", "a proxy is ADDRESS:PORT, without a scheme" },
	{ "socks5://10.0.0.1:1080", "without a scheme" },
	{ "0.0.0.0:3128", "0.0.0.0 cannot be a proxy address" },
	{ "255.255.255.255:3128", "cannot be a proxy address" },
	{ "224.0.0.1:3128", "224.0.0.1 cannot be a proxy address" },
	{ "[::]:3128", ":: cannot be a proxy address" },
	{ "[ff02::1]:3128", "ff02::1 cannot be a proxy address" },
	{ "10.0.0.0/24:3128", "10.0.0.0/24: a prefix is not accepted here" },
	{ "${alca:GATEWAY}:3128", "unknown token ${alca:GATEWAY}" },
	{ "[" TOKEN "]:3128", "brackets are only for IPv6 addresses: write " TOKEN },
	{ "${alca:HOST_IP:3128", "unterminated token" },
	{ "10.0.0.1:3128 10.0.0.2:3128", "proxy entry \"10.0.0.2:3128\": a second IPv4 proxy" },
	{ "10.0.0.1:3128 " TOKEN ":3128", "a second IPv4 proxy" },
	{ "[fd00::1]:1 [fd00::2]:2", "proxy entry \"[fd00::2]:2\": a second IPv6 proxy" },
	{ "10.0.0.1:1 [fd00::1]:1 10.0.0.2:2", "a second IPv4 proxy" },
	{ "none 10.0.0.1:3128", "proxy entry \"none\": \"none\" cannot be combined with proxies" },
	{ "10.0.0.1:3128,none", "cannot be combined" },
	{ "10.0.0.1:3128\x01", "proxy: control character 0x01" },
	{ "10.0.0.1:3128\xff", "proxy: invalid UTF-8" },
};

Test(config_proxy, errors)
{
	for (size_t i = 0; i < sizeof(bad_proxies) / sizeof(bad_proxies[0]); i++) {
		struct az_proxy p = { .n = 7 };
		az_error err = { 0 };

		cr_expect_lt(az_proxy_parse(bad_proxies[i].text, &p, &err), 0, "%s accepted",
			     bad_proxies[i].text);
		expect_err_has(err, bad_proxies[i].reason);
		cr_expect(strncmp(err.msg, "proxy", 5) == 0, "%s", err.msg);
		cr_expect_eq(p.n, 0, "%s: output left filled", bad_proxies[i].text);
	}
}

Test(config_proxy, format_orders_hand_built_v6_first)
{
	struct az_proxy p = { .n = 2 };
	az_error err = { 0 };

	p.v[0].port = 1;
	cr_assert_eq(az_addr_parse("fd00::1", &p.v[0].addr), 0);
	p.v[1].port = 2;
	cr_assert_eq(az_addr_parse("10.0.0.1", &p.v[1].addr), 0);
	char *t = proxy_text(&p);
	cr_expect_str_eq(t, "10.0.0.1:2 [fd00::1]:1");
	free(t);
	(void)err;
}

/* ---- dns ---- */

Test(config_dns, keywords)
{
	static const struct {
		const char *text;
		enum az_dns_mode mode;
		const char *canonical;
	} k[] = {
		{ "auto", AZ_DNS_AUTO, "auto" }, { " AUTO\n", AZ_DNS_AUTO, "auto" },
		{ "none", AZ_DNS_NONE, "none" }, { "None", AZ_DNS_NONE, "none" },
	};
	for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
		struct az_dns d;
		az_error err = { 0 };
		cr_assert_eq(az_dns_parse(k[i].text, &d, &err), 0, "%s", err.msg);
		cr_expect_eq(d.mode, k[i].mode);
		cr_expect_eq(d.n, 0);
		char *t = dns_text(&d);
		cr_expect_str_eq(t, k[i].canonical);
		free(t);
	}
}

Test(config_dns, list_sorted_deduplicated_round_trips)
{
	struct az_dns d, back;
	az_error err = { 0 };

	cr_assert_eq(az_dns_parse("198.51.100.53, 2001:db8:4700::1111 192.0.2.53,198.51.100.53", &d, &err), 0,
		     "%s", err.msg);
	cr_expect_eq(d.mode, AZ_DNS_LIST);
	cr_expect_eq(d.n, 3);
	char *t = dns_text(&d);
	cr_expect_str_eq(t, "192.0.2.53 198.51.100.53 2001:db8:4700::1111");
	cr_assert_eq(az_dns_parse(t, &back, &err), 0);
	char *t2 = dns_text(&back);
	cr_expect_str_eq(t, t2);
	free(t);
	free(t2);
}

Test(config_dns, limit)
{
	struct az_dns d;
	az_error err = { 0 };

	cr_expect_eq(az_dns_parse("10.0.0.1 10.0.0.2 10.0.0.3 10.0.0.4 10.0.0.5 10.0.0.6 10.0.0.7 "
				  "10.0.0.8",
				  &d, &err),
		     0, "%s", err.msg);
	cr_expect_eq(d.n, AZ_MAX_DNS);
	cr_expect_lt(az_dns_parse("10.0.0.1 10.0.0.2 10.0.0.3 10.0.0.4 10.0.0.5 10.0.0.6 10.0.0.7 "
				  "10.0.0.8 10.0.0.9",
				  &d, &err),
		     0);
	expect_err_has(err, "dns: 9 addresses, at most 8 are accepted");
}

Test(config_dns, errors)
{
	static const struct {
		const char *text;
		const char *reason;
	} bad[] = {
		{ "", "dns: empty value (use auto, none or a list of addresses)" },
		{ " ,, ", "dns: empty value" },
		{ "auto 192.0.2.53", "dns entry \"auto\": auto and none stand alone" },
		{ "192.0.2.53,none", "dns entry \"none\": auto and none stand alone" },
		{ "192.0.2.53:53", "dns entry \"192.0.2.53:53\": give the address alone, without brackets or port" },
		{ "[2001:db8:4700::1111]", "without brackets or port" },
		{ "[fd00::1]:53", "without brackets or port" },
		{ "dns.google", "dns.google is not an IP address" },
		{ "1.1.1.300", "dns entry \"1.1.1.300\": 1.1.1.300 is not an IPv4 address" },
		{ "fd00:::1", "fd00:::1 is not an IPv6 address" },
		{ "0.0.0.0", "0.0.0.0 cannot be a DNS server" },
		{ "ff02::fb", "ff02::fb cannot be a DNS server" },
		{ "10.0.0.0/8", "a prefix is not accepted here" },
		{ TOKEN, "tokens are not accepted here" },
		{ "192.0.2.53\x1f", "dns: control character 0x1f" },
		{ "192.0.2.53\xc3\x28", "dns: invalid UTF-8" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct az_dns d;
		az_error err = { 0 };
		cr_expect_lt(az_dns_parse(bad[i].text, &d, &err), 0, "%s accepted", bad[i].text);
		expect_err_has(err, bad[i].reason);
		cr_expect_eq(d.n, 0);
	}
}

Test(config_dns, format_hand_built)
{
	struct az_dns d = { .mode = AZ_DNS_LIST, .n = 3 };

	az_addr_parse("203.0.113.53", &d.v[0]);
	az_addr_parse("192.0.2.53", &d.v[1]);
	az_addr_parse("203.0.113.53", &d.v[2]);
	char *t = dns_text(&d);
	cr_expect_str_eq(t, "192.0.2.53 203.0.113.53");
	free(t);
	d.n = 0;
	t = dns_text(&d);
	cr_expect_str_eq(t, "none");
	free(t);
}

/* ---- proxy-udp and enable ---- */

Test(config_proxy_udp, words)
{
	enum az_proxy_udp u;
	az_error err = { 0 };

	cr_expect_eq(az_proxy_udp_parse("direct", &u, &err), 0);
	cr_expect_eq(u, AZ_PROXY_UDP_DIRECT);
	cr_expect_eq(az_proxy_udp_parse(" Block\n", &u, &err), 0);
	cr_expect_eq(u, AZ_PROXY_UDP_BLOCK);
	cr_expect_str_eq(az_proxy_udp_str(AZ_PROXY_UDP_DIRECT), "direct");
	cr_expect_str_eq(az_proxy_udp_str(AZ_PROXY_UDP_BLOCK), "block");
	cr_expect_lt(az_proxy_udp_parse("drop", &u, &err), 0);
	cr_expect_str_eq(err.msg, "proxy-udp: \"drop\" is not direct or block");
	cr_expect_lt(az_proxy_udp_parse("", &u, &err), 0);
	cr_expect_lt(az_proxy_udp_parse("direct block", &u, &err), 0);
	cr_expect_lt(az_proxy_udp_parse("block\x07", &u, &err), 0);
	expect_err_has(err, "control character");
}

Test(config_enable, words)
{
	static const char *const on[] = { "on", "ON", "true", "True", "yes", "1", " on\n" };
	static const char *const off[] = { "off", "Off", "false", "no", "NO", "0", "\toff " };
	bool v;
	az_error err = { 0 };

	for (size_t i = 0; i < sizeof(on) / sizeof(on[0]); i++) {
		cr_expect_eq(az_enable_parse(on[i], &v, &err), 0, "%s", on[i]);
		cr_expect(v, "%s", on[i]);
		cr_expect_eq(az_enable_parse(off[i], &v, &err), 0, "%s", off[i]);
		cr_expect(!v, "%s", off[i]);
	}
}

Test(config_enable, errors)
{
	static const char *const bad[] = { "", "maybe", "onn", "o n", "2", "enabled", "on off" };
	bool v;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		az_error err = { 0 };
		cr_expect_lt(az_enable_parse(bad[i], &v, &err), 0, "%s accepted", bad[i]);
		expect_err_has(err, "alcatraz.network: \"");
		expect_err_has(err, "is not on or off");
	}
}

Test(config_enable, long_value_is_quoted_short)
{
	char text[200];
	bool v;
	az_error err = { 0 };

	memset(text, 'x', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	cr_expect_lt(az_enable_parse(text, &v, &err), 0);
	expect_err_has(err, "xxx...\" is not on or off");
	cr_expect_lt(strlen(err.msg), 150);
}

Test(config_enable, hostile)
{
	bool v;
	az_error err = { 0 };

	cr_expect_lt(az_enable_parse("on\x1b]0;pwned\x07", &v, &err), 0);
	cr_expect_str_eq(err.msg,
			 "alcatraz.network: control character 0x1b at byte 2 (settings are printable ASCII)");
	cr_expect(!v);
}

/* Newlines pass the text check (they separate list entries) but must never
 * reach a message: they would forge log lines. */
Test(config_enable, newline_is_not_echoed)
{
	bool v;
	az_error err = { 0 };

	cr_expect_lt(az_enable_parse("on\nalcatraz: all good", &v, &err), 0);
	cr_expect_null(strchr(err.msg, '\n'), "%s", err.msg);
	expect_err_has(err, "\"on alcatraz: all good\" is not on or off");
}

Test(config_proxy, keyword_with_stray_separators)
{
	struct az_proxy p;
	struct az_dns d;
	az_error err = { 0 };

	cr_expect_eq(az_proxy_parse("none,", &p, &err), 0, "%s", err.msg);
	cr_expect_eq(p.n, 0);
	cr_expect_eq(az_dns_parse(", auto ,", &d, &err), 0, "%s", err.msg);
	cr_expect_eq(d.mode, AZ_DNS_AUTO);
}
