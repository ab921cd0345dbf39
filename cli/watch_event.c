/* watch_event.c — the pure half of `alcatraz watch`: an NFLOG message's
 * prefix and packet in, a refusal record out; which container an address
 * belongs to; the record as a text or JSON line.  No sockets here (watch.c),
 * so the unit tests compile this file on its own.
 */
#include "cli/watch.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <time.h>

int cli_refusal_reason(const char *prefix, struct cli_refusal *r)
{
	static const char p[] = AZ_NFLOG_PREFIX;
	const char *const *names;
	size_t n = az_reasons(&names);

	if (!prefix || strncmp(prefix, p, sizeof(p) - 1))
		return -1;
	/* a prefix we did not write names no reason of ours */
	for (size_t i = 0; i < n; i++)
		if (!strcmp(prefix + sizeof(p) - 1, names[i])) {
			r->reason = names[i];
			return 0;
		}
	return -1;
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* IPv6 extension headers the kernel may put before the transport header of
 * a locally sent packet; anything else ends the walk. */
static bool ipv6_ext(uint8_t nh)
{
	return nh == IPPROTO_HOPOPTS || nh == IPPROTO_ROUTING || nh == IPPROTO_DSTOPTS;
}

int cli_refusal_from_packet(const uint8_t *pkt, size_t len, struct cli_refusal *r)
{
	size_t l4;

	if (len < 1)
		return -1;
	r->has_ports = false;
	r->sport = r->dport = 0;
	switch (pkt[0] >> 4) {
	case 4: {
		size_t ihl = (size_t)(pkt[0] & 0x0f) * 4;
		if (len < 20 || ihl < 20 || ihl > len)
			return -1;
		r->src.family = r->dst.family = AF_INET;
		memcpy(&r->src.v4, pkt + 12, 4);
		memcpy(&r->dst.v4, pkt + 16, 4);
		r->proto = pkt[9];
		/* a fragment past the first holds no ports */
		if (be16(pkt + 6) & 0x1fff)
			return 0;
		l4 = ihl;
		break;
	}
	case 6: {
		if (len < 40)
			return -1;
		r->src.family = r->dst.family = AF_INET6;
		memcpy(&r->src.v6, pkt + 8, 16);
		memcpy(&r->dst.v6, pkt + 24, 16);
		uint8_t nh = pkt[6];
		l4 = 40;
		while (ipv6_ext(nh) && l4 + 8 <= len) {
			nh = pkt[l4];
			l4 += ((size_t)pkt[l4 + 1] + 1) * 8;
		}
		r->proto = nh;
		break;
	}
	default:
		return -1;
	}
	if ((r->proto == IPPROTO_TCP || r->proto == IPPROTO_UDP || r->proto == IPPROTO_SCTP ||
	     r->proto == IPPROTO_UDPLITE) && l4 + 4 <= len) {
		r->sport = be16(pkt + l4);
		r->dport = be16(pkt + l4 + 2);
		r->has_ports = true;
	}
	return 0;
}

static bool addr_in_iface(const struct az_iface *f, const struct az_addr *a)
{
	size_t n = a->family == AF_INET ? f->n4 : f->n6;
	const struct az_prefix *v = a->family == AF_INET ? f->addr4 : f->addr6;

	for (size_t i = 0; i < n; i++)
		if (az_addr_eq(&v[i].addr, a))
			return true;
	return false;
}

const struct az_attachment *cli_attachment_by_addr(const struct az_attachment *v, size_t n,
						   const struct az_addr *a)
{
	/* A dead attachment's address may be a live one's now: live first. */
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < n; i++) {
			if (v[i].alive != (pass == 0))
				continue;
			for (size_t j = 0; j < v[i].target.n_if; j++)
				if (addr_in_iface(&v[i].target.ifs[j], a))
					return &v[i];
		}
	return NULL;
}

void cli_refusal_set_container(struct cli_refusal *r, const struct az_attachment *a)
{
	r->container[0] = '\0';
	r->name[0] = '\0';
	r->members = 0;
	if (!a || !a->n_members)
		return;
	snprintf(r->container, sizeof(r->container), "%s", a->members[0]);
	if (az_name_valid(a->target.name))
		snprintf(r->name, sizeof(r->name), "%s", a->target.name);
	r->members = a->n_members;
}

const char *cli_proto_name(uint8_t proto, char buf[8])
{
	switch (proto) {
	case IPPROTO_TCP:
		return "tcp";
	case IPPROTO_UDP:
		return "udp";
	case IPPROTO_ICMP:
		return "icmp";
	case IPPROTO_ICMPV6:
		return "icmpv6";
	case IPPROTO_SCTP:
		return "sctp";
	case IPPROTO_UDPLITE:
		return "udplite";
	}
	snprintf(buf, 8, "%u", proto);
	return buf;
}

/* "2024-05-01T12:00:00.123456Z" */
static void format_time(const struct timeval *tv, char out[40])
{
	struct tm tm;
	time_t s = tv->tv_sec;
	char b[24];

	gmtime_r(&s, &tm);
	strftime(b, sizeof(b), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, 40, "%s.%06ldZ", b, (long)tv->tv_usec);
}

/* Container ids are checked ([A-Za-z0-9_.-], az_id_valid) and the other
 * strings are ours: nothing to escape in JSON. */
int cli_refusal_format(const struct cli_refusal *r, bool json, struct az_buf *o)
{
	char t[40], s[AZ_ADDRSTRLEN], d[AZ_ADDRSTRLEN], pb[8], sid[13];
	const char *proto = cli_proto_name(r->proto, pb);
	bool known = r->container[0] && az_id_valid(r->container);

	format_time(&r->time, t);
	az_addr_str(&r->src, s);
	az_addr_str(&r->dst, d);
	if (json) {
		az_buf_printf(o, "{\"time\": \"%s\", \"container\": ", t);
		if (known)
			az_buf_printf(o, "\"%s\"", r->container);
		else
			az_buf_printf(o, "null");
		/* names are checked like ids (az_name_valid) */
		if (known && az_name_valid(r->name))
			az_buf_printf(o, ", \"name\": \"%s\"", r->name);
		else
			az_buf_printf(o, ", \"name\": null");
		az_buf_printf(o, ", \"layer\": \"%s\", \"reason\": \"%s\", \"proto\": \"%s\", "
				 "\"src\": \"%s\", \"dst\": \"%s\"",
			      r->host_layer ? "host" : "netns", r->reason ? r->reason : "unknown",
			      proto, s, d);
		if (r->has_ports)
			az_buf_printf(o, ", \"sport\": %u, \"dport\": %u", r->sport, r->dport);
		else
			az_buf_printf(o, ", \"sport\": null, \"dport\": null");
		return az_buf_printf(o, "}\n");
	}
	az_buf_printf(o, "%s %-12s ", t, known ? az_short_id(r->container, sid) : "?");
	if (known && az_name_valid(r->name))
		az_buf_printf(o, "%s ", r->name);
	az_buf_printf(o, "%-7s %-6s %-5s ", r->reason ? r->reason : "unknown", proto,
		      r->host_layer ? "host" : "netns");
	if (!r->has_ports)
		return az_buf_printf(o, "%s -> %s\n", s, d);
	if (r->src.family == AF_INET6)
		return az_buf_printf(o, "[%s]:%u -> [%s]:%u\n", s, r->sport, d, r->dport);
	return az_buf_printf(o, "%s:%u -> %s:%u\n", s, r->sport, d, r->dport);
}
