/* Pure rendering: policy + target → nft script text.
 *
 * Every value written here comes from a parsed type (address, prefix, port,
 * protocol bit, validated id or interface name); no raw setting text is ever
 * copied into a script.
 */
#include "rules/rules.h"

#include <errno.h>
#include <string.h>

#define T AZ_TABLE

/* ---- helpers ---- */

static bool ifname_valid(const char *n)
{
	size_t l = strlen(n);
	if (l == 0 || l >= IFNAMSIZ)
		return false;
	for (size_t i = 0; i < l; i++) {
		char c = n[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.' || c == '@'))
			return false;
	}
	return true;
}

bool az_target_has_host_peer(const struct az_target *t)
{
	for (size_t i = 0; i < t->n_if; i++)
		if (t->ifs[i].host_ifname[0] && t->ifs[i].bridge[0])
			return true;
	return false;
}

/* A list of prefixes of one family with nested ones removed, so that interval
 * sets never see overlapping elements. */
struct plist {
	size_t n;
	struct az_prefix v[AZ_MAX_HOSTNETS + 64];
};

static void plist_add(struct plist *l, const struct az_prefix *p)
{
	struct az_prefix m = *p;
	az_prefix_mask(&m);
	for (size_t i = 0; i < l->n; i++)
		if (az_prefix_contains(&l->v[i], &m))
			return;
	/* drop entries the new one covers */
	size_t w = 0;
	for (size_t i = 0; i < l->n; i++)
		if (!az_prefix_contains(&m, &l->v[i]))
			l->v[w++] = l->v[i];
	l->n = w;
	if (l->n < sizeof(l->v) / sizeof(l->v[0]))
		l->v[l->n++] = m;
}

static void plist_fill(struct plist *l, int family, bool catalogue, const struct az_hostnet *h)
{
	l->n = 0;
	if (catalogue) {
		const struct az_prefix *c;
		size_t n = az_blocked_catalogue(family, &c);
		for (size_t i = 0; i < n; i++)
			plist_add(l, &c[i]);
	}
	for (size_t i = 0; h && i < h->n; i++)
		if (h->v[i].addr.family == family)
			plist_add(l, &h->v[i]);
}

/* With lan-access "*" the LAN is open, but not the host itself (its own
 * addresses), not the other containers of the container's own networks, and
 * not link-local (the cloud metadata service) or loopback: DESIGN.md keeps
 * those apart from "the LAN".  An explicit entry still opens any of them. */
#define LANALL_FIXED4 "0.0.0.0/8, 127.0.0.0/8, 169.254.0.0/16"
#define LANALL_FIXED6 "::/96, fe80::/10"

static bool host_prefix(const struct az_prefix *p)
{
	return p->len == (p->addr.family == AF_INET ? 32 : 128);
}

static void plist_fill_lanall(struct plist *l, int family, const struct az_hostnet *h,
			      const struct az_target *t)
{
	char fixed[] = LANALL_FIXED4 ", " LANALL_FIXED6;
	char *save = NULL;
	l->n = 0;
	for (char *tok = strtok_r(fixed, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
		struct az_prefix p;
		if (az_prefix_parse(tok, &p, NULL) == 0 && p.addr.family == family)
			plist_add(l, &p);
	}
	for (size_t i = 0; h && i < h->n; i++)
		if (h->v[i].addr.family == family && host_prefix(&h->v[i]))
			plist_add(l, &h->v[i]);
	for (size_t i = 0; i < t->n_if; i++) {
		const struct az_iface *f = &t->ifs[i];
		size_t n = family == AF_INET ? f->n4 : f->n6;
		for (size_t j = 0; j < n; j++) {
			const struct az_prefix *a = family == AF_INET ? &f->addr4[j] : &f->addr6[j];
			if (!host_prefix(a))
				plist_add(l, a);	/* masked by plist_add */
		}
	}
}

static void emit_prefixes(struct az_buf *o, const struct plist *l)
{
	char b[AZ_PREFIXSTRLEN];
	for (size_t i = 0; i < l->n; i++)
		az_buf_printf(o, "%s%s", i ? ", " : "", az_prefix_str(&l->v[i], b));
}

static const char *fam_ip(int family)
{
	return family == AF_INET ? "ip" : "ip6";
}

static const char *fam_sfx(int family)
{
	return family == AF_INET ? "4" : "6";
}

static const char *fam_type(int family)
{
	return family == AF_INET ? "ipv4_addr" : "ipv6_addr";
}

/* Resolve an entry's destination(s) for one family: the literal prefix, or
 * the container's gateway for ${alca:HOST_IP}.  Returns false when the entry
 * has no destination in this family. */
static bool entry_dst(const struct az_lan_entry *e, const struct az_target *t, int family,
		      struct az_prefix *out)
{
	if (e->kind == AZ_HOST_ADDR) {
		if (e->net.addr.family != family)
			return false;
		*out = e->net;
		return true;
	}
	if (family == AF_INET && t->has_gw4) {
		out->addr = t->gw4;
		out->len = 32;
		return true;
	}
	if (family == AF_INET6 && t->has_gw6) {
		out->addr = t->gw6;
		out->len = 128;
		return true;
	}
	return false;
}

static bool endpoint_addr(const struct az_endpoint *e, const struct az_target *t, int family,
			  struct az_addr *out)
{
	if (e->kind == AZ_HOST_ADDR) {
		if (e->addr.family != family)
			return false;
		*out = e->addr;
		return true;
	}
	if (family == AF_INET && t->has_gw4) {
		*out = t->gw4;
		return true;
	}
	if (family == AF_INET6 && t->has_gw6) {
		*out = t->gw6;
		return true;
	}
	return false;
}

/* The proxy endpoint for a family, if any. */
static bool proxy_for(const struct az_policy *p, const struct az_target *t, int family,
		      struct az_addr *addr, uint16_t *port)
{
	for (size_t i = 0; i < p->proxy.n; i++)
		if (endpoint_addr(&p->proxy.v[i], t, family, addr)) {
			*port = p->proxy.v[i].port;
			return true;
		}
	return false;
}

/* The resolvers DNS is allowed to, per the policy. */
static size_t dns_servers(const struct az_policy *p, const struct az_target *t,
			  const struct az_addr **out)
{
	switch (p->dns.mode) {
	case AZ_DNS_AUTO:
		*out = t->resolvers;
		return t->n_resolvers;
	case AZ_DNS_LIST:
		*out = p->dns.v;
		return p->dns.n;
	case AZ_DNS_NONE:
		break;
	}
	*out = NULL;
	return 0;
}

static int check_tokens(const struct az_policy *p, const struct az_target *t, az_error *err)
{
	bool need = false;
	for (size_t i = 0; i < p->lan.n; i++)
		need |= p->lan.v[i].kind == AZ_HOST_GATEWAY;
	for (size_t i = 0; i < p->proxy.n; i++)
		need |= p->proxy.v[i].kind == AZ_HOST_GATEWAY;
	if (need && !t->has_gw4 && !t->has_gw6)
		return az_err(err, EINVAL,
			      "${alca:HOST_IP} is used but the container has no gateway (no default route)");
	return 0;
}

static void emit_l4(struct az_buf *o, unsigned protos, int *first, const char *dst,
		    const struct az_lan_entry *e, const char *prefix)
{
	static const struct {
		unsigned bit;
		const char *name;
	} pr[] = { { AZ_L4_TCP, "tcp" }, { AZ_L4_UDP, "udp" } };
	for (size_t k = 0; k < 2; k++) {
		if (!(protos & pr[k].bit))
			continue;
		az_buf_printf(o, "%s%s%s . %s . ", *first ? "" : ", ", prefix, dst, pr[k].name);
		if (e->port_lo == e->port_hi)
			az_buf_printf(o, "%u", e->port_lo);
		else
			az_buf_printf(o, "%u-%u", e->port_lo, e->port_hi);
		*first = 0;
	}
}

/* ---- alcatraz watch: one chain per refusal reason ---- */

static const char *const reason_names[] = { "host", "peer", "metadata", "lan", "blocked",
					    "hold", "proxy-bypass", "udp-block" };
enum { R_HOST, R_PEER, R_METADATA, R_LAN, R_BLOCKED, R_HOLD, R_PROXY, R_UDP, N_REASONS };
static const char *const reason_chains[] = { "refuse_host", "refuse_peer", "refuse_metadata",
					      "refuse_lan", "refuse_blocked", "refuse_hold",
					      "refuse_proxy_bypass", "refuse_udp_block" };

size_t az_reasons(const char *const **names)
{
	*names = reason_names;
	return N_REASONS;
}

/* Link-local, where the cloud metadata services live (169.254.169.254,
 * AWS's fd00:ec2::254 on IPv6). */
#define METADATA4 "169.254.0.0/16"
#define METADATA6 "fd00:ec2::254"

/* The body of a reason's chain: the message to the watcher, within the
 * table's budget, then the common refusal. */
static void reason_log(struct az_buf *o, int r)
{
	az_buf_printf(o, "limit name \"" AZ_NFLOG_LIMIT "\" log prefix \"" AZ_NFLOG_PREFIX
			 "%s\" group %d", reason_names[r], AZ_NFLOG_GROUP);
}

static void emit_set_or_skip(struct az_buf *o, const char *ip, const struct plist *l,
			     const char *chain, const char *ind)
{
	if (!l->n)
		return;
	az_buf_printf(o, "%s%s daddr { ", ind, ip);
	emit_prefixes(o, l);
	az_buf_printf(o, " } goto %s\n", chain);
}

/* chain refuse_dst4/6 of the netns table: every packet here is refused
 * (its destination is in @blockedN); which destination rule it was. */
static void netns_dst_chain(struct az_buf *o, const struct az_target *t,
			    const struct az_hostnet *h, int family)
{
	const char *ip = fam_ip(family);
	struct plist *l = calloc(1, sizeof(*l));
	if (!l)
		return;
	az_buf_printf(o, "\tchain refuse_dst%s {\n", fam_sfx(family));
	/* the host's own addresses, the gateway among them */
	for (size_t i = 0; h && i < h->n; i++)
		if (h->v[i].addr.family == family && host_prefix(&h->v[i]))
			plist_add(l, &h->v[i]);
	if ((family == AF_INET && t->has_gw4) || (family == AF_INET6 && t->has_gw6)) {
		struct az_prefix g = { .addr = family == AF_INET ? t->gw4 : t->gw6,
				       .len = family == AF_INET ? 32 : 128 };
		plist_add(l, &g);
	}
	emit_set_or_skip(o, ip, l, reason_chains[R_HOST], "\t\t");
	/* the container's own networks: the other containers on them */
	l->n = 0;
	for (size_t i = 0; i < t->n_if; i++) {
		const struct az_iface *f = &t->ifs[i];
		size_t n = family == AF_INET ? f->n4 : f->n6;
		for (size_t j = 0; j < n; j++) {
			const struct az_prefix *a = family == AF_INET ? &f->addr4[j] : &f->addr6[j];
			if (!host_prefix(a) && !(family == AF_INET6 && a->addr.b[0] == 0xfe &&
						 (a->addr.b[1] & 0xc0) == 0x80))
				plist_add(l, a);
		}
	}
	emit_set_or_skip(o, ip, l, reason_chains[R_PEER], "\t\t");
	az_buf_printf(o, "\t\t%s daddr %s goto %s\n", ip,
		      family == AF_INET ? METADATA4 : METADATA6, reason_chains[R_METADATA]);
	/* the networks the host is connected to */
	l->n = 0;
	for (size_t i = 0; h && i < h->n; i++)
		if (h->v[i].addr.family == family && !host_prefix(&h->v[i]))
			plist_add(l, &h->v[i]);
	emit_set_or_skip(o, ip, l, reason_chains[R_LAN], "\t\t");
	az_buf_printf(o, "\t\tgoto %s\n\t}\n", reason_chains[R_BLOCKED]);
	free(l);
}

/* ---- the container's own netns ---- */

static void netns_family(struct az_buf *o, const struct az_policy *p, const struct az_target *t,
			 const struct az_hostnet *h, int family)
{
	const char *s = fam_sfx(family), *ty = fam_type(family);
	char b[AZ_PREFIXSTRLEN], a[AZ_ADDRSTRLEN];
	struct plist *blocked = calloc(1, sizeof(*blocked));
	if (!blocked)
		return;

	if (p->lan.all)
		plist_fill_lanall(blocked, family, h, t);
	else
		plist_fill(blocked, family, true, h);
	az_buf_printf(o, "\tset blocked%s {\n\t\ttype %s; flags interval;\n\t\telements = { ", s, ty);
	emit_prefixes(o, blocked);
	az_buf_printf(o, " }\n\t}\n");
	free(blocked);

	/* lan-access: every protocol → allowall; with protocol/port → allow */
	az_buf_printf(o, "\tset allowall%s { type %s; flags interval; ", s, ty);
	struct plist *all = calloc(1, sizeof(*all));
	if (all) {
		for (size_t i = 0; i < p->lan.n; i++) {
			struct az_prefix d;
			if (p->lan.v[i].all_proto && entry_dst(&p->lan.v[i], t, family, &d))
				plist_add(all, &d);
		}
		if (all->n) {
			az_buf_printf(o, "elements = { ");
			emit_prefixes(o, all);
			az_buf_printf(o, " } ");
		}
		free(all);
	}
	az_buf_printf(o, "}\n");

	az_buf_printf(o, "\tset allow%s { type %s . inet_proto . inet_service; flags interval; ", s, ty);
	int first = 1;
	for (size_t i = 0; i < p->lan.n; i++) {
		const struct az_lan_entry *e = &p->lan.v[i];
		struct az_prefix d;
		if (e->all_proto || !entry_dst(e, t, family, &d))
			continue;
		if (first)
			az_buf_printf(o, "elements = { ");
		emit_l4(o, e->protos, &first, az_prefix_str(&d, b), e, "");
	}
	az_buf_printf(o, "%s}\n", first ? "" : " } ");

	const struct az_addr *dns;
	size_t nd = dns_servers(p, t, &dns);
	az_buf_printf(o, "\tset dns%s { type %s; ", s, ty);
	first = 1;
	for (size_t i = 0; i < nd; i++) {
		if (dns[i].family != family)
			continue;
		az_buf_printf(o, "%s%s", first ? "elements = { " : ", ", az_addr_str(&dns[i], a));
		first = 0;
	}
	az_buf_printf(o, "%s}\n", first ? "" : " } ");
}

static void netns_chain_family(struct az_buf *o, const struct az_policy *p,
			       const struct az_target *t, int family)
{
	const char *ip = fam_ip(family), *s = fam_sfx(family);
	char a[AZ_ADDRSTRLEN];
	struct az_addr pa;
	uint16_t pport;

	if (family == AF_INET6)
		/* Neighbour discovery and multicast listener reports are needed
		 * on the link and cannot leave it: receivers drop ND whose hop
		 * limit is not 255 (RFC 4861), and link-scope multicast is
		 * never routed. */
		az_buf_printf(o, "\t\tip6 hoplimit 255 icmpv6 type { nd-neighbor-solicit, "
				 "nd-neighbor-advert, nd-router-solicit } accept\n"
				 "\t\tip6 daddr ff02::/16 icmpv6 type { mld-listener-report, "
				 "mld2-listener-report } accept\n");
	az_buf_printf(o, "\t\tmeta l4proto { tcp, udp } th dport 53 %s daddr @dns%s accept\n", ip, s);
	if (t->hold)
		az_buf_printf(o, "\t\tmeta nfproto %s goto %s\n", family == AF_INET ? "ipv4" : "ipv6",
			      reason_chains[R_HOLD]);
	if (p->proxy.n) {
		if (proxy_for(p, t, family, &pa, &pport))
			az_buf_printf(o, "\t\t%s daddr %s tcp dport %u accept\n", ip,
				      az_addr_str(&pa, a), pport);
		else
			/* a proxied container must not reach anything by TCP
			 * in a family the proxy does not serve */
			az_buf_printf(o, "\t\tmeta nfproto %s meta l4proto tcp goto %s\n",
				      family == AF_INET ? "ipv4" : "ipv6", reason_chains[R_PROXY]);
	}
	az_buf_printf(o, "\t\t%s daddr @allowall%s accept\n", ip, s);
	az_buf_printf(o, "\t\t%s daddr . meta l4proto . th dport @allow%s accept\n", ip, s);
	az_buf_printf(o, "\t\t%s daddr @blocked%s goto refuse_dst%s\n", ip, s, s);
}

int az_render_netns(const struct az_policy *p, const struct az_target *t,
		    const struct az_hostnet *h, enum az_netns_mode mode, struct az_buf *o,
		    az_error *err)
{
	if (!az_id_valid(t->id))
		return az_err(err, EINVAL, "invalid container id");
	if (check_tokens(p, t, err) < 0)
		return -1;
	if (mode == AZ_NETNS_CREATE) {
		/* "create" refuses an existing table.  nft 1.0.6 keeps only the
		 * comment of a "create table" block and a table update drops
		 * the comment: so the comment here, the content below. */
		az_buf_printf(o, "create table inet " T " { comment \"alcatraz:%s\"; }\n"
				 "table inet " T " {\n", t->id);
	} else {
		/* Create-then-delete makes the replace atomic and idempotent. */
		az_buf_printf(o, "table inet " T "\ndelete table inet " T "\n");
		az_buf_printf(o, "table inet " T " {\n\tcomment \"alcatraz:%s\"\n", t->id);
	}
	az_buf_printf(o, "\tlimit " AZ_NFLOG_LIMIT " { rate " AZ_NFLOG_RATE "; }\n");
	netns_family(o, p, t, h, AF_INET);
	netns_family(o, p, t, h, AF_INET6);
	az_buf_printf(o, "\tchain output {\n"
			 "\t\ttype filter hook output priority filter; policy accept;\n"
			 "\t\toifname \"lo\" accept\n"
			 "\t\tct state established,related accept\n");
	netns_chain_family(o, p, t, AF_INET);
	netns_chain_family(o, p, t, AF_INET6);
	if (p->proxy.n && p->proxy_udp == AZ_PROXY_UDP_BLOCK)
		az_buf_printf(o, "\t\tmeta l4proto udp goto %s\n", reason_chains[R_UDP]);
	az_buf_printf(o, "\t}\n");
	netns_dst_chain(o, t, h, AF_INET);
	netns_dst_chain(o, t, h, AF_INET6);
	for (int r = 0; r < N_REASONS; r++) {
		az_buf_printf(o, "\tchain %s {\n\t\t", reason_chains[r]);
		reason_log(o, r);
		az_buf_printf(o, "\n\t\tgoto refuse\n\t}\n");
	}
	/* The kernel log line names the container (the host layer can only
	 * name its address).  Outside the initial netns the kernel writes it
	 * only with net.netfilter.nf_log_all_netns=1. */
	char sid[13];
	az_buf_printf(o, "\tchain refuse {\n"
			 "\t\tcounter\n"
			 "\t\tlimit rate 10/second burst 20 packets log prefix \"alcatraz %s refused: \" level info\n"
			 "\t\tmeta l4proto tcp reject with tcp reset\n"
			 "\t\treject with icmpx admin-prohibited\n"
			 "\t}\n}\n",
		      az_short_id(t->id, sid));
	return 0;
}

/* ---- the host netns: fixed skeleton ---- */

static int skeleton_body(const struct az_features *f, struct az_buf *o)
{
	struct plist *l = calloc(1, sizeof(*l));
	if (!l)
		return -1;
	az_buf_printf(o, "add table inet " T " { comment \"alcatraz host layer\"; }\n");
	for (int k = 0; k < 2; k++) {
		int fam = k ? AF_INET6 : AF_INET;
		const char *s = fam_sfx(fam), *ty = fam_type(fam);
		/* The catalogue is fixed: flush and refill so an upgrade
		 * takes effect. */
		az_buf_printf(o, "add set inet " T " blocked%s { type %s; flags interval; }\n", s, ty);
		az_buf_printf(o, "flush set inet " T " blocked%s\n", s);
		plist_fill(l, fam, true, NULL);
		az_buf_printf(o, "add element inet " T " blocked%s { ", s);
		emit_prefixes(o, l);
		az_buf_printf(o, " }\n");
		az_buf_printf(o,
			      "add set inet " T " hostnet%s { type %s; flags interval; }\n"
			      "add set inet " T " ctr%s { type %s; counter; }\n"
			      "add set inet " T " refused%s { type %s; counter; }\n"
			      "add set inet " T " allowall%s { type %s . %s; flags interval; }\n"
			      "add set inet " T " allow%s { type %s . %s . inet_proto . inet_service; flags interval; }\n"
			      "add set inet " T " dns%s { type %s . %s; }\n"
			      "add set inet " T " udpblock%s { type %s; }\n"
			      "add set inet " T " noproxy%s { type %s; }\n"
			      "add set inet " T " proxydst%s { type %s . %s . inet_service; }\n"
			      "add map inet " T " proxy%s { type %s : %s . inet_service; }\n"
			      "add set inet " T " lanall%s { type %s; }\n"
			      "add set inet " T " hostaddr%s { type %s; flags interval; }\n"
			      "add set inet " T " ownnet%s { type %s . %s; flags interval; }\n"
			      "add set inet " T " hold%s { type %s; }\n",
			      s, ty, s, ty, s, ty, s, ty, ty, s, ty, ty, s, ty, ty, s, ty, s, ty, s, ty,
			      ty, s, ty, ty, s, ty, s, ty, s, ty, ty, s, ty);
	}
	free(l);
	az_buf_printf(o,
		      "add chain inet " T " prerouting { type filter hook prerouting priority -150; policy accept; }\n"
		      "add chain inet " T " ctr4\n"
		      "add chain inet " T " ctr6\n"
		      "add chain inet " T " lanall4\n"
		      "add chain inet " T " lanall6\n"
		      "add chain inet " T " refuse4\n"
		      "add chain inet " T " refuse6\n"
		      "add chain inet " T " dst4\n"
		      "add chain inet " T " dst6\n"
		      "add chain inet " T " nat { type nat hook prerouting priority dstnat; policy accept; }\n"
		      "flush chain inet " T " prerouting\n"
		      "flush chain inet " T " ctr4\n"
		      "flush chain inet " T " ctr6\n"
		      "flush chain inet " T " lanall4\n"
		      "flush chain inet " T " lanall6\n"
		      "flush chain inet " T " refuse4\n"
		      "flush chain inet " T " refuse6\n"
		      "flush chain inet " T " dst4\n"
		      "flush chain inet " T " dst6\n"
		      "flush chain inet " T " nat\n"
		      "add rule inet " T " prerouting ip saddr @ctr4 jump ctr4\n"
		      "add rule inet " T " prerouting ip6 saddr @ctr6 jump ctr6\n");
	/* alcatraz watch: a chain per reason (see AZ_NFLOG_GROUP) */
	az_buf_printf(o, "add limit inet " T " " AZ_NFLOG_LIMIT " { rate " AZ_NFLOG_RATE "; }\n");
	for (int r = 0; r < N_REASONS; r++) {
		az_buf_printf(o, "add chain inet " T " %s\nflush chain inet " T " %s\n"
				 "add rule inet " T " %s ", reason_chains[r], reason_chains[r],
			      reason_chains[r]);
		reason_log(o, r);
		az_buf_printf(o, "\nadd rule inet " T " %s meta nfproto ipv4 goto refuse4\n"
				 "add rule inet " T " %s goto refuse6\n", reason_chains[r], reason_chains[r]);
	}
	for (int k = 0; k < 2; k++) {
		int fam = k ? AF_INET6 : AF_INET;
		const char *s = fam_sfx(fam), *ip = fam_ip(fam);
		az_buf_printf(o, "add rule inet " T " ctr%s ct state established,related accept\n", s);
		if (fam == AF_INET6)
			az_buf_printf(o, "add rule inet " T " ctr6 ip6 hoplimit 255 icmpv6 type { "
					 "nd-neighbor-solicit, nd-neighbor-advert, nd-router-solicit } accept\n"
					 "add rule inet " T " ctr6 ip6 daddr ff02::/16 icmpv6 type { "
					 "mld-listener-report, mld2-listener-report } accept\n");
		az_buf_printf(o,
			      "add rule inet " T " ctr%s meta l4proto { tcp, udp } th dport 53 %s saddr . %s daddr @dns%s accept\n"
			      "add rule inet " T " ctr%s %s saddr @hold%s goto refuse_hold%.0s\n"
			      "add rule inet " T " ctr%s meta l4proto tcp %s saddr . %s daddr . tcp dport @proxydst%s accept\n"
			      "add rule inet " T " ctr%s meta l4proto tcp %s saddr @noproxy%s goto refuse_proxy_bypass%.0s\n"
			      "add rule inet " T " ctr%s %s saddr . %s daddr @allowall%s accept\n"
			      "add rule inet " T " ctr%s %s saddr . %s daddr . meta l4proto . th dport @allow%s accept\n"
			      "add rule inet " T " ctr%s %s saddr @lanall%s goto lanall%s\n"
			      "add rule inet " T " ctr%s %s daddr @blocked%s goto dst%s\n"
			      "add rule inet " T " ctr%s %s daddr @hostnet%s goto dst%s\n"
			      "add rule inet " T " ctr%s meta l4proto udp %s saddr @udpblock%s goto refuse_udp_block%.0s\n",
			      s, ip, ip, s, s, ip, s, s, s, ip, ip, s, s, ip, s, s, s, ip, ip, s, s, ip, ip, s, s, ip,
			      s, s, s, ip, s, s, s, ip, s, s, s, ip, s, s);
		/* lan-access "*": see plist_fill_lanall() */
		az_buf_printf(o,
			      "add rule inet " T " lanall%s %s daddr @hostaddr%s goto refuse_host%.0s\n"
			      "add rule inet " T " lanall%s %s saddr . %s daddr @ownnet%s goto refuse_peer%.0s\n"
			      "add rule inet " T " lanall%s %s daddr { %s } goto dst%s\n"
			      "add rule inet " T " lanall%s meta l4proto udp %s saddr @udpblock%s goto refuse_udp_block%.0s\n",
			      s, ip, s, s, s, ip, ip, s, s, s, ip,
			      fam == AF_INET ? LANALL_FIXED4 : LANALL_FIXED6, s, s, ip, s, s);
		/* which destination rule refused: every packet here is refused */
		az_buf_printf(o,
			      "add rule inet " T " dst%s %s daddr @hostaddr%s goto refuse_host\n"
			      "add rule inet " T " dst%s %s saddr . %s daddr @ownnet%s goto refuse_peer\n"
			      "add rule inet " T " dst%s %s daddr %s goto refuse_metadata\n"
			      "add rule inet " T " dst%s %s daddr @hostnet%s goto refuse_lan\n"
			      "add rule inet " T " dst%s goto refuse_blocked\n",
			      s, ip, s, s, ip, ip, s, s, ip, fam == AF_INET ? METADATA4 : METADATA6,
			      s, ip, s, s);
		az_buf_printf(o,
			      "add rule inet " T " refuse%s %s saddr @refused%s\n"
			      "add rule inet " T " refuse%s limit rate 10/second burst 20 packets log prefix \"alcatraz host refused: \" level info\n"
			      "add rule inet " T " refuse%s meta l4proto tcp reject with tcp reset\n"
			      "add rule inet " T " refuse%s reject with icmpx admin-prohibited\n",
			      s, ip, s, s, s, s);
		/* The proxy: never redirect DNS or connections to the proxy
		 * itself; every other TCP connection of a proxied container
		 * goes to its proxy.  The filter above already decided on the
		 * original destination. */
		az_buf_printf(o,
			      "add rule inet " T " nat meta l4proto tcp %s saddr . %s daddr . tcp dport @proxydst%s return\n"
			      "add rule inet " T " nat meta l4proto tcp th dport 53 %s saddr . %s daddr @dns%s return\n"
			      "add rule inet " T " nat meta l4proto tcp dnat %s to %s saddr map @proxy%s\n",
			      ip, ip, s, ip, ip, s, ip, ip, s);
	}

	{
		/* Anti-spoofing at the bridge port: a container may only send
		 * from its own addresses; frames between ports of protected
		 * containers never reach another container. */
		/* CONFIG_NFT_BRIDGE_REJECT may be missing: degrade to drop. */
		const char *refuse = f && f->bridge_reject ? "reject" : "drop";
		az_buf_printf(o,
			      "add table bridge " T " { comment \"alcatraz host layer\"; }\n"
			      "add set bridge " T " ports { type ifname; }\n"
			      "add set bridge " T " bind4 { type ifname . ipv4_addr; }\n"
			      "add set bridge " T " bind6 { type ifname . ipv6_addr; }\n"
			      "add chain bridge " T " prerouting { type filter hook prerouting priority -200; policy accept; }\n"
			      "add chain bridge " T " forward { type filter hook forward priority -200; policy accept; }\n"
			      "add chain bridge " T " port\n"
			      "flush chain bridge " T " prerouting\n"
			      "flush chain bridge " T " forward\n"
			      "flush chain bridge " T " port\n"
			      "add rule bridge " T " prerouting iifname @ports jump port\n"
			      "add rule bridge " T " port ether type arp arp saddr ip != 0.0.0.0 iifname . arp saddr ip != @bind4 counter drop\n"
			      "add rule bridge " T " port ether type arp accept\n"
			      "add rule bridge " T " port ether type ip iifname . ip saddr @bind4 accept\n"
			      "add rule bridge " T " port ether type ip6 iifname . ip6 saddr @bind6 accept\n"
			      "add rule bridge " T " port ether type ip6 ip6 saddr :: ip6 daddr ff02::/16 icmpv6 type nd-neighbor-solicit accept\n"
			      "add rule bridge " T " port counter drop\n"
			      "add rule bridge " T " forward iifname @ports counter %s\n",
			      refuse);
	}
	return 0;
}

/* The skeleton's fingerprint names an empty marker chain in both tables, so
 * a cheap "list chains" tells whether the host layer in the kernel is exactly
 * the one this binary makes: not missing, not an older version's, not a
 * foreign table that happens to have our name (whose sets could have other
 * types: libnftables would then take an interface name for a host name and
 * try to resolve it). */
int az_render_layout_id(const struct az_features *f, char id[32])
{
	struct az_buf b;
	az_buf_init(&b);
	if (skeleton_body(f, &b) < 0) {
		az_buf_free(&b);
		return -1;
	}
	/* The marker set (az_render_host_assert) is part of the layout: a
	 * layer made before it existed must not count as current. */
	az_buf_printf(&b, "marker: chain, set inet_service { 1 }\n");
	uint32_t h = 2166136261u;	/* FNV-1a */
	for (size_t i = 0; i < b.len; i++)
		h = (h ^ (uint8_t)b.data[i]) * 16777619u;
	az_buf_free(&b);
	snprintf(id, 32, "layout_%08x", h);
	return 0;
}

int az_render_host_skeleton(const struct az_features *f, struct az_buf *o)
{
	char id[32];
	if (az_render_layout_id(f, id) < 0 || skeleton_body(f, o) < 0)
		return -1;
	az_buf_printf(o, "add chain inet " T " %s\nadd chain bridge " T " %s\n", id, id);
	/* The same marker as a set holding one element, so that a transaction
	 * can require this layout at no cost (az_render_host_assert). */
	az_buf_printf(o, "add set inet " T " %s { type inet_service; elements = { 1 }; }\n"
			 "add set bridge " T " %s { type inet_service; elements = { 1 }; }\n", id, id);
	return 0;
}

int az_render_host_assert(const struct az_features *f, struct az_buf *o)
{
	char id[32];
	if (az_render_layout_id(f, id) < 0)
		return -1;
	az_buf_printf(o, "add element inet " T " %s { 1 }\nadd element bridge " T " %s { 1 }\n", id, id);
	return 0;
}

int az_render_host_hostnet(const struct az_hostnet *h, struct az_buf *o)
{
	struct plist *l = calloc(1, sizeof(*l));
	if (!l)
		return -1;
	for (int k = 0; k < 2; k++) {
		int fam = k ? AF_INET6 : AF_INET;
		plist_fill(l, fam, false, h);
		az_buf_printf(o, "flush set inet " T " hostnet%s\n", fam_sfx(fam));
		if (l->n) {
			az_buf_printf(o, "add element inet " T " hostnet%s { ", fam_sfx(fam));
			emit_prefixes(o, l);
			az_buf_printf(o, " }\n");
		}
		l->n = 0;
		for (size_t i = 0; h && i < h->n; i++)
			if (h->v[i].addr.family == fam && host_prefix(&h->v[i]))
				plist_add(l, &h->v[i]);
		az_buf_printf(o, "flush set inet " T " hostaddr%s\n", fam_sfx(fam));
		if (l->n) {
			az_buf_printf(o, "add element inet " T " hostaddr%s { ", fam_sfx(fam));
			emit_prefixes(o, l);
			az_buf_printf(o, " }\n");
		}
	}
	free(l);
	return 0;
}

/* ---- the host netns: this container's elements ---- */

struct elem_ctx {
	struct az_buf *o;
	const char *verb;	/* "add" or "delete" */
	const char *claim;	/* the verb of the claiming elements */
	char comment[AZ_ID_MAX + 32];
	const char *fam;	/* "inet" or "bridge" */
};

static void elem(struct elem_ctx *c, const char *family, const char *set, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void elem_v(struct elem_ctx *c, const char *verb, const char *family, const char *set,
		   const char *fmt, va_list ap)
{
	az_buf_printf(c->o, "%s element %s " T " %s { ", verb, family, set);
	az_buf_vprintf(c->o, fmt, ap);
	if (verb[0] != 'd')
		az_buf_printf(c->o, " %s", c->comment);
	az_buf_printf(c->o, " }\n");
}

static void elem(struct elem_ctx *c, const char *family, const char *set, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	elem_v(c, c->verb, family, set, fmt, ap);
	va_end(ap);
}

/* An element that claims an address or interface for this container. */
static void elem_claim(struct elem_ctx *c, const char *family, const char *set, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void elem_claim(struct elem_ctx *c, const char *family, const char *set, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	elem_v(c, c->claim, family, set, fmt, ap);
	va_end(ap);
}

/* Map elements carry the comment on the key: "KEY comment \"…\" : VALUE". */
static void elem_map(struct elem_ctx *c, const char *set, const char *key, const char *value)
{
	if (c->verb[0] == 'a')
		az_buf_printf(c->o, "add element inet " T " %s { %s %s : %s }\n", set, key, c->comment,
			      value);
	else
		az_buf_printf(c->o, "delete element inet " T " %s { %s }\n", set, key);
}

static void host_family(struct elem_ctx *c, const struct az_policy *p, const struct az_target *t,
			int family)
{
	const char *s = fam_sfx(family);
	char set[32], a[AZ_ADDRSTRLEN], d[AZ_PREFIXSTRLEN], pa_s[AZ_ADDRSTRLEN];
	struct az_addr pa;
	uint16_t pport;
	bool has_proxy = proxy_for(p, t, family, &pa, &pport);
	const struct az_addr *dns;
	size_t nd = dns_servers(p, t, &dns);

	for (size_t i = 0; i < t->n_if; i++) {
		const struct az_iface *f = &t->ifs[i];
		size_t n = family == AF_INET ? f->n4 : f->n6;
		for (size_t j = 0; j < n; j++) {
			const struct az_addr *ca = family == AF_INET ? &f->addr4[j].addr : &f->addr6[j].addr;
			az_addr_str(ca, a);
			snprintf(set, sizeof(set), "ctr%s", s);
			elem_claim(c, "inet", set, "%s", a);
			snprintf(set, sizeof(set), "refused%s", s);
			elem(c, "inet", set, "%s", a);
			if (f->host_ifname[0]) {
				snprintf(set, sizeof(set), "bind%s", s);
				elem(c, "bridge", set, "\"%s\" . %s", f->host_ifname, a);
			}
			for (size_t k = 0; k < p->lan.n; k++) {
				const struct az_lan_entry *e = &p->lan.v[k];
				struct az_prefix dp;
				if (!entry_dst(e, t, family, &dp))
					continue;
				az_prefix_str(&dp, d);
				if (e->all_proto) {
					snprintf(set, sizeof(set), "allowall%s", s);
					elem(c, "inet", set, "%s . %s", a, d);
					continue;
				}
				snprintf(set, sizeof(set), "allow%s", s);
				for (unsigned bit = AZ_L4_TCP; bit <= AZ_L4_UDP; bit <<= 1) {
					if (!(e->protos & bit))
						continue;
					if (e->port_lo == e->port_hi)
						elem(c, "inet", set, "%s . %s . %s . %u", a, d,
						     bit == AZ_L4_TCP ? "tcp" : "udp", e->port_lo);
					else
						elem(c, "inet", set, "%s . %s . %s . %u-%u", a, d,
						     bit == AZ_L4_TCP ? "tcp" : "udp", e->port_lo,
						     e->port_hi);
				}
			}
			for (size_t k = 0; k < nd; k++) {
				if (dns[k].family != family)
					continue;
				snprintf(set, sizeof(set), "dns%s", s);
				elem(c, "inet", set, "%s . %s", a, az_addr_str(&dns[k], pa_s));
			}
			if (t->hold) {
				snprintf(set, sizeof(set), "hold%s", s);
				elem(c, "inet", set, "%s", a);
			}
			if (p->lan.all) {
				snprintf(set, sizeof(set), "lanall%s", s);
				elem(c, "inet", set, "%s", a);
				const struct az_prefix *own = family == AF_INET ? f->addr4 : f->addr6;
				for (size_t k = 0; k < n; k++) {
					struct az_prefix m = own[k];
					if (host_prefix(&m))
						continue;
					az_prefix_mask(&m);
					snprintf(set, sizeof(set), "ownnet%s", s);
					elem(c, "inet", set, "%s . %s", a, az_prefix_str(&m, d));
				}
			}
			if (p->proxy.n && p->proxy_udp == AZ_PROXY_UDP_BLOCK) {
				snprintf(set, sizeof(set), "udpblock%s", s);
				elem(c, "inet", set, "%s", a);
			}
			if (p->proxy.n && has_proxy) {
				az_addr_str(&pa, pa_s);
				snprintf(set, sizeof(set), "proxydst%s", s);
				elem(c, "inet", set, "%s . %s . %u", a, pa_s, pport);
				char val[AZ_ADDRSTRLEN + 8];
				snprintf(set, sizeof(set), "proxy%s", s);
				snprintf(val, sizeof(val), "%s . %u", pa_s, pport);
				elem_map(c, set, a, val);
			} else if (p->proxy.n) {
				snprintf(set, sizeof(set), "noproxy%s", s);
				elem(c, "inet", set, "%s", a);
			}
		}
	}
}

int az_render_host_elements(const struct az_policy *p, const struct az_target *t,
			    enum az_elem_verb verb, struct az_buf *o, az_error *err)
{
	if (!az_id_valid(t->id))
		return az_err(err, EINVAL, "invalid container id");
	if (check_tokens(p, t, err) < 0)
		return -1;
	for (size_t i = 0; i < t->n_if; i++)
		if (t->ifs[i].host_ifname[0] && !ifname_valid(t->ifs[i].host_ifname))
			return az_err(err, EINVAL, "invalid host interface name");
	struct elem_ctx c = { .o = o, .verb = verb == AZ_ELEM_DELETE ? "delete" : "add" };
	c.claim = verb == AZ_ELEM_CREATE ? "create" : c.verb;
	snprintf(c.comment, sizeof(c.comment), "comment \"alcatraz:%s\"", t->id);
	for (size_t i = 0; i < t->n_if; i++)
		if (t->ifs[i].host_ifname[0])
			elem_claim(&c, "bridge", "ports", "\"%s\"", t->ifs[i].host_ifname);
	host_family(&c, p, t, AF_INET);
	host_family(&c, p, t, AF_INET6);
	return 0;
}
