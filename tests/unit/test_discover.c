/* test_discover.c — the pure part of hook/discover.c: resolv.conf parsing.
 * The netlink side is covered by tests/integration/05-discover.sh. */
#include <criterion/criterion.h>
#include <string.h>

#include "hook/discover.h"

static size_t parse(const char *text, struct az_addr *out, size_t max)
{
	size_t n = 99;
	cr_assert_eq(az_parse_resolv_conf(text, out, max, &n), 0);
	return n;
}

static void expect_addr(const struct az_addr *a, const char *want)
{
	char buf[AZ_ADDRSTRLEN];
	cr_expect_str_eq(az_addr_str(a, buf), want);
}

Test(resolv_conf, v4_and_v6)
{
	struct az_addr ns[8];
	size_t n = parse("nameserver 10.0.0.53\nnameserver 2001:db8::53\n", ns, 8);
	cr_assert_eq(n, 2);
	cr_expect_eq(ns[0].family, AF_INET);
	expect_addr(&ns[0], "10.0.0.53");
	cr_expect_eq(ns[1].family, AF_INET6);
	expect_addr(&ns[1], "2001:db8::53");
}

Test(resolv_conf, scope_suffix_is_dropped)
{
	struct az_addr ns[8];
	size_t n = parse("nameserver fe80::1%eth0\n", ns, 8);
	cr_assert_eq(n, 1);
	expect_addr(&ns[0], "fe80::1");
}

Test(resolv_conf, comments_and_other_directives_ignored)
{
	struct az_addr ns[8];
	const char *text = "# nameserver 10.1.1.1\n"
			   "; nameserver 10.2.2.2\n"
			   "search example.org\n"
			   "domain example.org\n"
			   "options ndots:2 edns0\n"
			   "sortlist 10.3.3.0/255.255.255.0\n"
			   "nameserver 10.4.4.4 # the real one\n";
	size_t n = parse(text, ns, 8);
	cr_assert_eq(n, 1);
	expect_addr(&ns[0], "10.4.4.4");
}

Test(resolv_conf, whitespace_tabs_crlf_and_no_final_newline)
{
	struct az_addr ns[8];
	size_t n = parse("  \tnameserver\t\t10.0.0.1\r\nnameserver   10.0.0.2", ns, 8);
	cr_assert_eq(n, 2);
	expect_addr(&ns[0], "10.0.0.1");
	expect_addr(&ns[1], "10.0.0.2");
}

Test(resolv_conf, malformed_lines_skipped)
{
	struct az_addr ns[8];
	const char *text = "nameserver\n"
			   "nameserver \n"
			   "nameserver10.0.0.9\n"
			   "nameservers 10.0.0.8\n"
			   "NAMESERVER 10.0.0.7\n"
			   "nameserver 10.0.0.300\n"
			   "nameserver dns.example.org\n"
			   "nameserver 10.0.0.1/24\n"
			   "nameserver 1111:2222:3333:4444:5555:6666:7777:8888:9999:aaaa:bbbb\n"
			   "nameserver 10.0.0.6\n";
	size_t n = parse(text, ns, 8);
	cr_assert_eq(n, 1);
	expect_addr(&ns[0], "10.0.0.6");
}

Test(resolv_conf, duplicates_collapse)
{
	struct az_addr ns[8];
	size_t n = parse("nameserver 10.0.0.1\nnameserver 10.0.0.1\nnameserver ::1\n"
			 "nameserver 0:0::1\n", ns, 8);
	cr_assert_eq(n, 2);
	expect_addr(&ns[0], "10.0.0.1");
	expect_addr(&ns[1], "::1");
}

Test(resolv_conf, stops_at_max_keeping_the_first)
{
	struct az_addr ns[2];
	memset(ns, 0xee, sizeof(ns));
	size_t n = parse("nameserver 10.0.0.1\nnameserver 10.0.0.2\nnameserver 10.0.0.3\n", ns, 2);
	cr_assert_eq(n, 2);
	expect_addr(&ns[0], "10.0.0.1");
	expect_addr(&ns[1], "10.0.0.2");
}

Test(resolv_conf, empty_and_null)
{
	struct az_addr ns[1];
	cr_expect_eq(parse("", ns, 1), 0);
	cr_expect_eq(parse("\n\n# nothing\n", ns, 1), 0);
	cr_expect_eq(parse(NULL, ns, 1), 0);
	cr_expect_eq(parse("nameserver 10.0.0.1\n", ns, 0), 0);
}
