/* The blocked-range catalogue: IANA special-purpose address ranges that are
 * not "the internet".  The documentation ranges (192.0.2.0/24,
 * 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32, 3fff::/20) are left out on
 * purpose: they are no LAN, and the tests use them as the internet.
 */
#include "rules/rules.h"

#include <arpa/inet.h>
#include <string.h>

static const char *const cat4[] = {
	"0.0.0.0/8",		/* "this network" */
	"10.0.0.0/8",		/* RFC 1918 */
	"100.64.0.0/10",	/* CGNAT, Tailscale */
	"127.0.0.0/8",		/* loopback */
	"169.254.0.0/16",	/* link-local, cloud metadata */
	"172.16.0.0/12",	/* RFC 1918 */
	"192.0.0.0/24",		/* IETF protocol assignments */
	"192.88.99.0/24",	/* 6to4 relay anycast (deprecated) */
	"192.168.0.0/16",	/* RFC 1918 */
	"198.18.0.0/15",	/* benchmarking */
	"224.0.0.0/4",		/* multicast */
	"240.0.0.0/4",		/* reserved, broadcast */
};

static const char *const cat6[] = {
	"::/96",		/* unspecified, loopback, IPv4-compatible */
	"::ffff:0:0/96",	/* IPv4-mapped */
	"64:ff9b::/96",		/* NAT64 well-known: reaches IPv4 private space */
	"64:ff9b:1::/48",	/* NAT64 local use */
	"100::/64",		/* discard-only */
	"2001::/23",		/* IETF protocol assignments (Teredo, ORCHID…) */
	"2002::/16",		/* 6to4: tunnels to any IPv4 address */
	"5f00::/16",		/* SRv6 SIDs */
	"fc00::/7",		/* unique local */
	"fe80::/10",		/* link-local */
	"fec0::/10",		/* site-local (deprecated) */
	"ff00::/8",		/* multicast */
};

#define N4 (sizeof(cat4) / sizeof(cat4[0]))
#define N6 (sizeof(cat6) / sizeof(cat6[0]))

static struct az_prefix parsed4[N4], parsed6[N6];
static bool parsed;

static void parse_all(void)
{
	if (parsed)
		return;
	for (size_t i = 0; i < N4; i++)
		az_prefix_parse(cat4[i], &parsed4[i], NULL);
	for (size_t i = 0; i < N6; i++)
		az_prefix_parse(cat6[i], &parsed6[i], NULL);
	parsed = true;
}

size_t az_blocked_catalogue(int family, const struct az_prefix **out)
{
	parse_all();
	if (family == AF_INET) {
		*out = parsed4;
		return N4;
	}
	*out = parsed6;
	return N6;
}
