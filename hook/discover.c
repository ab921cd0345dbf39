/* discover.c — read a container's netns and the host's addresses with
 * libnl-route-3.
 *
 * The container side: a netlink socket stays bound to the netns it was opened
 * in, and setns() changes only the calling thread, so the thread enters the
 * netns, dumps it and comes back (az_netns_enter/leave).
 *
 * A veth's IFLA_LINK is only an ifindex, and ifindexes are per netns: the
 * number alone may name an unrelated interface of the host.  A host-side peer
 * is accepted only when both ends agree: the container end's link-netnsid is
 * the id of the caller's netns, and the host end is a veth whose IFLA_LINK is
 * the container end and whose link-netnsid is the id of the container's netns.
 */
#include "hook/discover.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>

#include <linux/net_namespace.h>
#include <linux/rtnetlink.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/nexthop.h>
#include <netlink/route/route.h>

/* One interface as seen inside the netns. */
struct ns_link {
	struct az_iface iface;		/* host_ifname and bridge left empty */
	int ifindex;
	int peer_ifindex;		/* IFLA_LINK, 0 if none */
	bool is_veth;
	bool has_link_netnsid;		/* the peer lives in another netns, */
	int32_t link_netnsid;		/* known here by this id */
	bool peer_in_caller_ns;		/* ... and that netns is the caller's */
};

/* What is seen inside the container's netns. */
struct ns_report {
	size_t n;
	struct ns_link links[AZ_MAX_IFACES];
	bool has_gw4, has_gw6;
	struct az_addr gw4, gw6;
	uint32_t gw4_prio, gw6_prio;
};

static void nl_sockp(struct nl_sock **s)
{
	if (*s)
		nl_socket_free(*s);
}

static void nl_cachep(struct nl_cache **c)
{
	if (*c)
		nl_cache_free(*c);
}

static void rtnl_linkp(struct rtnl_link **l)
{
	if (*l)
		rtnl_link_put(*l);
}

#define cleanup_nl_sock _cleanup_(nl_sockp)
#define cleanup_nl_cache _cleanup_(nl_cachep)
#define cleanup_rtnl_link _cleanup_(rtnl_linkp)

static int nl_open(struct nl_sock **out, az_error *err)
{
	struct nl_sock *sk = nl_socket_alloc();
	if (!sk)
		return az_err(err, ENOMEM, "netlink socket: out of memory");
	int r = nl_connect(sk, NETLINK_ROUTE);
	if (r < 0) {
		nl_socket_free(sk);
		return az_err(err, EIO, "netlink socket: %s", nl_geterror(r));
	}
	*out = sk;
	return 0;
}

static int nl_to_addr(struct nl_addr *a, struct az_addr *out)
{
	if (!a)
		return -1;
	memset(out, 0, sizeof(*out));
	unsigned len = nl_addr_get_len(a);
	switch (nl_addr_get_family(a)) {
	case AF_INET:
		if (len != 4)
			return -1;
		out->family = AF_INET;
		break;
	case AF_INET6:
		if (len != 16)
			return -1;
		out->family = AF_INET6;
		break;
	default:
		return -1;
	}
	memcpy(out->b, nl_addr_get_binary_addr(a), len);
	return 0;
}

/* ---- RTM_GETNSID: which id does the socket's netns give to another netns? ---- */

struct nsid_reply {
	int32_t id;
};

static int nsid_valid(struct nl_msg *m, void *arg)
{
	struct nsid_reply *r = arg;
	struct nlmsghdr *h = nlmsg_hdr(m);
	struct nlattr *tb[NETNSA_MAX + 1];

	if (h->nlmsg_type != RTM_NEWNSID)
		return NL_SKIP;
	if (nlmsg_parse(h, sizeof(struct rtgenmsg), tb, NETNSA_MAX, NULL) < 0)
		return NL_SKIP;
	if (tb[NETNSA_NSID])
		r->id = nla_get_s32(tb[NETNSA_NSID]);
	return NL_OK;
}

/* The id of the netns behind fd as known in the current netns, or
 * NETNSA_NSID_NOT_ASSIGNED. */
static int query_nsid(int fd, int32_t *id, az_error *err)
{
	cleanup_nl_sock struct nl_sock *sk = NULL;
	struct nsid_reply reply = {.id = NETNSA_NSID_NOT_ASSIGNED};
	struct rtgenmsg g = {.rtgen_family = AF_UNSPEC};

	if (nl_open(&sk, err) < 0)
		return -1;
	int r = nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM, nsid_valid, &reply);
	if (r < 0)
		return az_err(err, EIO, "netns id: %s", nl_geterror(r));
	struct nl_msg *m = nlmsg_alloc_simple(RTM_GETNSID, 0);
	if (!m)
		return az_err(err, ENOMEM, "netns id: out of memory");
	if (nlmsg_append(m, &g, sizeof(g), NLMSG_ALIGNTO) < 0 ||
	    nla_put_u32(m, NETNSA_FD, (uint32_t)fd) < 0) {
		nlmsg_free(m);
		return az_err(err, ENOMEM, "netns id: out of memory");
	}
	r = nl_send_sync(sk, m);	/* frees m; waits for the ack */
	if (r < 0)
		return az_err(err, EIO, "netns id: %s", nl_geterror(r));
	*id = reply.id;
	return 0;
}

/* ---- inside the container's netns ---- */

static struct ns_link *find_link(struct ns_report *rep, int ifindex)
{
	for (size_t i = 0; i < rep->n; i++)
		if (rep->links[i].ifindex == ifindex)
			return &rep->links[i];
	return NULL;
}

static int collect_links(struct nl_sock *sk, struct ns_report *rep, az_error *err)
{
	cleanup_nl_cache struct nl_cache *cache = NULL;
	int r = rtnl_link_alloc_cache(sk, AF_UNSPEC, &cache);
	if (r < 0)
		return az_err(err, EIO, "list interfaces: %s", nl_geterror(r));

	for (struct nl_object *o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
		struct rtnl_link *l = (struct rtnl_link *)o;
		const char *name = rtnl_link_get_name(l);
		const char *type = rtnl_link_get_type(l);
		int32_t nsid;

		if (rtnl_link_get_flags(l) & IFF_LOOPBACK)
			continue;
		/* An interface we cannot list is one the rules would not cover. */
		if (rep->n == AZ_MAX_IFACES)
			return az_err(err, E2BIG, "more than %d interfaces (at %s)", AZ_MAX_IFACES,
				      name ? name : "?");
		struct ns_link *nl = &rep->links[rep->n++];
		snprintf(nl->iface.ctr_ifname, sizeof(nl->iface.ctr_ifname), "%s", name ? name : "");
		nl->ifindex = rtnl_link_get_ifindex(l);
		nl->peer_ifindex = rtnl_link_get_link(l);
		nl->is_veth = type && strcmp(type, "veth") == 0;
		nl->has_link_netnsid = rtnl_link_get_link_netnsid(l, &nsid) == 0;
		nl->link_netnsid = nl->has_link_netnsid ? nsid : NETNSA_NSID_NOT_ASSIGNED;
	}
	return 0;
}

static int collect_addrs(struct nl_sock *sk, struct ns_report *rep, az_error *err)
{
	cleanup_nl_cache struct nl_cache *cache = NULL;
	int r = rtnl_addr_alloc_cache(sk, &cache);
	if (r < 0)
		return az_err(err, EIO, "list addresses: %s", nl_geterror(r));

	for (struct nl_object *o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
		struct rtnl_addr *a = (struct rtnl_addr *)o;
		struct ns_link *l = find_link(rep, rtnl_addr_get_ifindex(a));
		struct az_prefix p = {0};

		/* Loopback (or an interface newer than the link dump: at
		 * createRuntime nothing in the container runs yet to add one). */
		if (!l)
			continue;
		if (nl_to_addr(rtnl_addr_get_local(a), &p.addr) < 0)
			continue;
		p.len = (uint8_t)rtnl_addr_get_prefixlen(a);

		struct az_iface *f = &l->iface;
		size_t *n = p.addr.family == AF_INET ? &f->n4 : &f->n6;
		struct az_prefix *v = p.addr.family == AF_INET ? f->addr4 : f->addr6;
		if (*n == AZ_MAX_ADDRS)
			return az_err(err, E2BIG, "%s has more than %d IPv%d addresses", f->ctr_ifname,
				      AZ_MAX_ADDRS, p.addr.family == AF_INET ? 4 : 6);
		v[(*n)++] = p;
	}
	return 0;
}

static int collect_gateways(struct nl_sock *sk, struct ns_report *rep, az_error *err)
{
	cleanup_nl_cache struct nl_cache *cache = NULL;
	int r = rtnl_route_alloc_cache(sk, AF_UNSPEC, 0, &cache);
	if (r < 0)
		return az_err(err, EIO, "list routes: %s", nl_geterror(r));

	for (struct nl_object *o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
		struct rtnl_route *rt = (struct rtnl_route *)o;
		struct nl_addr *dst = rtnl_route_get_dst(rt);
		struct az_addr gw;
		bool found = false;

		if (rtnl_route_get_table(rt) != RT_TABLE_MAIN ||
		    rtnl_route_get_type(rt) != RTN_UNICAST ||
		    (dst && nl_addr_get_prefixlen(dst) != 0))
			continue;
		/* Multipath: the first hop with a gateway stands for the route. */
		for (int i = 0; i < rtnl_route_get_nnexthops(rt) && !found; i++) {
			struct rtnl_nexthop *nh = rtnl_route_nexthop_n(rt, i);
			found = nh && nl_to_addr(rtnl_route_nh_get_gateway(nh), &gw) == 0;
		}
		if (!found)
			continue;
		/* Several default routes: the one the kernel prefers (lowest metric). */
		uint32_t prio = rtnl_route_get_priority(rt);
		if (gw.family == AF_INET && (!rep->has_gw4 || prio < rep->gw4_prio)) {
			rep->has_gw4 = true;
			rep->gw4 = gw;
			rep->gw4_prio = prio;
		} else if (gw.family == AF_INET6 && (!rep->has_gw6 || prio < rep->gw6_prio)) {
			rep->has_gw6 = true;
			rep->gw6 = gw;
			rep->gw6_prio = prio;
		}
	}
	return 0;
}

/* Fill rep from inside the container's netns: the thread moves there and
 * back (collect_links bounds rep->n). */
static int discover_inside(int netns_fd, struct ns_report *rep, az_error *err)
{
	cleanup_nl_sock struct nl_sock *sk = NULL;
	int caller_fd;	/* the netns whose interfaces the peers are looked up in */
	int32_t caller_nsid;
	int r = -1;

	memset(rep, 0, sizeof(*rep));
	if (az_netns_enter(netns_fd, &caller_fd, err) < 0)
		return -1;
	if (nl_open(&sk, err) < 0 || collect_links(sk, rep, err) < 0 ||
	    collect_addrs(sk, rep, err) < 0 || collect_gateways(sk, rep, err) < 0)
		goto out;
	/* Asked after the link dump, which assigns the ids it reports. */
	if (query_nsid(caller_fd, &caller_nsid, err) < 0)
		goto out;
	for (size_t i = 0; i < rep->n; i++) {
		struct ns_link *l = &rep->links[i];
		l->peer_in_caller_ns = l->has_link_netnsid &&
				       caller_nsid != NETNSA_NSID_NOT_ASSIGNED &&
				       l->link_netnsid == caller_nsid;
	}
	r = 0;
out:
	az_netns_leave(caller_fd);
	return r;
}

/* For each container veth whose peer is in the caller's netns, check the
 * host end points back at it and fill host_ifname and bridge. */
static int find_host_peers(int netns_fd, const struct ns_report *rep, struct az_target *t,
			   az_error *err)
{
	cleanup_nl_sock struct nl_sock *sk = NULL;
	bool any = false;
	int32_t ctr_nsid;
	int r;

	for (size_t i = 0; i < rep->n; i++)
		any |= rep->links[i].is_veth && rep->links[i].peer_in_caller_ns &&
		       rep->links[i].peer_ifindex > 0;
	if (!any)
		return 0;

	if (nl_open(&sk, err) < 0)
		return az_err_prefix(err, "host side");
	if (query_nsid(netns_fd, &ctr_nsid, err) < 0)
		return az_err_prefix(err, "host side");
	if (ctr_nsid == NETNSA_NSID_NOT_ASSIGNED)
		return 0;	/* then no host interface has its peer there */

	for (size_t i = 0; i < rep->n; i++) {
		const struct ns_link *l = &rep->links[i];
		struct az_iface *f = &t->ifs[i];
		int32_t id;

		if (!l->is_veth || !l->peer_in_caller_ns || l->peer_ifindex <= 0)
			continue;
		/* One link asked for by index, never a dump of all of them:
		 * a host with a thousand containers has a thousand veths. */
		cleanup_rtnl_link struct rtnl_link *h = NULL;
		r = rtnl_link_get_kernel(sk, l->peer_ifindex, NULL, &h);
		if (r == -NLE_OBJ_NOTFOUND || r == -NLE_NODEV)
			continue;
		if (r < 0)
			return az_err(err, EIO, "host side: interface %d: %s", l->peer_ifindex,
				      nl_geterror(r));
		const char *type = rtnl_link_get_type(h);
		if (!type || strcmp(type, "veth") != 0 || rtnl_link_get_link(h) != l->ifindex ||
		    rtnl_link_get_link_netnsid(h, &id) < 0 || id != ctr_nsid)
			continue;
		snprintf(f->host_ifname, sizeof(f->host_ifname), "%s", rtnl_link_get_name(h));
		/* Only a Linux bridge counts: the bridge-family rules see its
		 * ports, not those of an OVS switch, a bond or a VRF. */
		int master = rtnl_link_get_master(h);
		if (master <= 0)
			continue;
		cleanup_rtnl_link struct rtnl_link *br = NULL;
		if (rtnl_link_get_kernel(sk, master, NULL, &br) < 0 || !br)
			return az_err(err, ENOENT, "host side: master (ifindex %d) of %s not found",
				      master, f->host_ifname);
		const char *br_type = rtnl_link_get_type(br);
		if (br_type && strcmp(br_type, "bridge") == 0)
			snprintf(f->bridge, sizeof(f->bridge), "%s", rtnl_link_get_name(br));
	}
	return 0;
}

int az_discover_netns(int netns_fd, struct az_target *t, az_error *err)
{
	/* Both are several KiB: keep them off small thread stacks. */
	cleanup_free struct ns_report *rep = malloc(sizeof(*rep));
	cleanup_free struct az_target *out = malloc(sizeof(*out));

	if (!rep || !out)
		return az_err(err, ENOMEM, "netns discovery: out of memory");
	*out = *t;
	if (discover_inside(netns_fd, rep, err) < 0)
		return az_err_prefix(err, "netns discovery");

	out->n_if = rep->n;
	memset(out->ifs, 0, sizeof(out->ifs));
	for (size_t i = 0; i < rep->n; i++)
		out->ifs[i] = rep->links[i].iface;
	out->has_gw4 = rep->has_gw4;
	out->has_gw6 = rep->has_gw6;
	out->gw4 = rep->gw4;
	out->gw6 = rep->gw6;
	if (find_host_peers(netns_fd, rep, out, err) < 0)
		return az_err_prefix(err, "netns discovery");
	*t = *out;
	return 0;
}

/* ---- the host's own addresses ---- */

static int hostnet_add(struct az_hostnet *h, const struct az_prefix *p, az_error *err)
{
	for (size_t i = 0; i < h->n; i++)
		if (h->v[i].len == p->len && az_addr_eq(&h->v[i].addr, &p->addr))
			return 0;
	if (h->n == AZ_MAX_HOSTNETS) {
		char buf[AZ_PREFIXSTRLEN];
		return az_err(err, E2BIG, "more than %d host addresses and prefixes (at %s)",
			      AZ_MAX_HOSTNETS, az_prefix_str(p, buf));
	}
	h->v[h->n++] = *p;
	return 0;
}

/* One RTM_NEWADDR of the dump.  Parsed from the message, not through a
 * libnl cache: a host with a thousand containers has a thousand veths, each
 * with a link-local address that is skipped here before anything is made of
 * it (the cache built an object per address: 1.6 ms of every hook run). */
struct hostnet_dump {
	struct az_hostnet *h;
	az_error *err;
	int r;
};

static bool raw_addr(const struct nlattr *a, int family, struct az_addr *out)
{
	size_t want = family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;
	if (!a || !want || (size_t)nla_len(a) != want)
		return false;
	memset(out, 0, sizeof(*out));
	out->family = (sa_family_t)family;
	memcpy(out->b, nla_data(a), want);
	return true;
}

static int hostnet_msg(struct nl_msg *m, void *arg)
{
	struct hostnet_dump *d = arg;
	struct nlmsghdr *nlh = nlmsg_hdr(m);
	struct nlattr *tb[IFA_MAX + 1];
	if (d->r < 0 || nlh->nlmsg_type != RTM_NEWADDR ||
	    nlmsg_parse(nlh, sizeof(struct ifaddrmsg), tb, IFA_MAX, NULL) < 0)
		return NL_OK;
	const struct ifaddrmsg *ifa = nlmsg_data(nlh);
	struct az_prefix host = {0}, net = {0};
	/* local: IFA_LOCAL, else IFA_ADDRESS; with both, IFA_ADDRESS is the
	 * peer of a point-to-point address (rtnetlink(7)) */
	if (!raw_addr(tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS], ifa->ifa_family, &host.addr))
		return NL_OK;
	host.len = host.addr.family == AF_INET ? 32 : 128;
	/* IPv6 link-local addresses (every host veth has one) are refused by
	 * the catalogue's fe80::/10 already; listing them would grow the set
	 * by one per container and overflow it. */
	if (host.addr.family == AF_INET6 && host.addr.b[0] == 0xfe && (host.addr.b[1] & 0xc0) == 0x80)
		return NL_OK;
	/* A point-to-point address is connected to its peer's prefix. */
	if (!tb[IFA_LOCAL] || !raw_addr(tb[IFA_ADDRESS], ifa->ifa_family, &net.addr))
		net.addr = host.addr;
	net.len = ifa->ifa_prefixlen;
	if (net.len > host.len)
		return NL_OK;
	az_prefix_mask(&net);
	if (hostnet_add(d->h, &host, d->err) < 0 || hostnet_add(d->h, &net, d->err) < 0)
		d->r = -1;
	return NL_OK;
}

int az_discover_hostnet(struct az_hostnet *h, az_error *err)
{
	cleanup_nl_sock struct nl_sock *sk = NULL;
	struct hostnet_dump d = { .h = h, .err = err, .r = 0 };
	struct ifaddrmsg req = { .ifa_family = AF_UNSPEC };

	h->n = 0;
	if (nl_open(&sk, err) < 0)
		return az_err_prefix(err, "host network discovery");
	int r = nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM, hostnet_msg, &d);
	if (r >= 0)
		r = nl_send_simple(sk, RTM_GETADDR, NLM_F_DUMP, &req, sizeof(req));
	if (r >= 0)
		r = nl_recvmsgs_default(sk);
	if (r < 0)
		return az_err(err, EIO, "host network discovery: list addresses: %s", nl_geterror(r));
	if (d.r < 0)
		return az_err_prefix(err, "host network discovery");
	return 0;
}

/* ---- resolv.conf ---- */

/* glibc and musl read "nameserver ADDR" (first token after the keyword) and
 * use only the first three; we keep up to max, which is more, so every
 * resolver a libc would use is listed.  Unparsable addresses are skipped, as
 * libc skips them. */
int az_parse_resolv_conf(const char *text, struct az_addr *out, size_t max, size_t *n)
{
	static const char kw[] = "nameserver";

	*n = 0;
	if (!text)
		return 0;
	for (const char *line = text; *line;) {
		const char *eol = strchrnul(line, '\n');
		const char *p = line;

		line = *eol ? eol + 1 : eol;
		while (p < eol && (*p == ' ' || *p == '\t'))
			p++;
		if ((size_t)(eol - p) <= sizeof(kw) - 1 || strncmp(p, kw, sizeof(kw) - 1) != 0)
			continue;
		p += sizeof(kw) - 1;
		if (*p != ' ' && *p != '\t')
			continue;
		while (p < eol && (*p == ' ' || *p == '\t'))
			p++;
		size_t len = strcspn(p, " \t\r\n#;%");
		if (len == 0 || len >= AZ_ADDRSTRLEN)
			continue;
		char tok[AZ_ADDRSTRLEN];
		struct az_addr a;
		memcpy(tok, p, len);
		tok[len] = '\0';
		if (az_addr_parse(tok, &a) < 0)
			continue;
		bool dup = false;
		for (size_t i = 0; i < *n && !dup; i++)
			dup = az_addr_eq(&out[i], &a);
		if (!dup && *n < max)
			out[(*n)++] = a;
	}
	return 0;
}
