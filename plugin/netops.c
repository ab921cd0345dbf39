/* netops.c — the real struct pl_ops: what a network and an endpoint of the
 * Docker driver are made of in the host's network namespace.
 *
 *   network   a Linux bridge whose addresses are the IPAM gateways; NAT and
 *             the forwarding policy of every plugin network in one table of
 *             our own, "table inet alcatraz_plugin", whose chains are fixed
 *             and whose per-network state is set elements (commented
 *             "alcatraz-plugin:<network id>"), so a network costs elements,
 *             never chains; accepts in Docker's DOCKER-USER chain when
 *             Docker's iptables rules are there (see fw_add).
 *   endpoint  a veth pair, host end on the bridge.  Docker moves the other
 *             end into the container and addresses it itself.
 *   rules     rules/: az_attach (az_reattach when attached already), keyed
 *             by the endpoint id: the host layer, and the table in the
 *             container's netns (SandboxKey) when it is one already — at
 *             Join of `network connect`; for a new container Docker binds
 *             it only after Join, and rules_netns adds it then (sandbox.c).
 *
 * Everything is idempotent: creating what exists repairs it, deleting what
 * is missing succeeds.  Each call opens its own netlink socket and
 * libnftables context: calls may come from any thread.
 */
#include "plugin/plugin.h"
#include "hook/discover.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <syslog.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>

#include <linux/magic.h>
#include <unistd.h>

#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <netlink/netlink.h>
#include <netlink/msg.h>
#include <netlink/attr.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/veth.h>

#define PL_TABLE "alcatraz_plugin"
#define PL_TAG "alcatraz-plugin:"
#define IPTABLES "/usr/sbin/iptables"
#define IP6TABLES "/usr/sbin/ip6tables"
#define DOCKER_USER "DOCKER-USER"
#define EXEC_TIMEOUT_MS 10000
#define EXEC_MAX_OUTPUT (256u << 10)

/* ------------------------------------------------------------ helpers */

static bool ifname_ok(const char *n)
{
	size_t l = strlen(n);
	if (l == 0 || l >= IFNAMSIZ)
		return false;
	for (size_t i = 0; i < l; i++) {
		char c = n[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.'))
			return false;
	}
	return true;
}

static int check_network(const struct pl_network *n, az_error *err)
{
	if (!az_id_valid(n->id))
		return az_err(err, EINVAL, "network id \"%.64s\" is not valid", n->id);
	if (!ifname_ok(n->bridge))
		return az_err(err, EINVAL, "network %.12s: bridge name \"%.16s\" is not a valid "
			      "interface name", n->id, n->bridge);
	if (n->n4 > PL_MAX_POOLS || n->n6 > PL_MAX_POOLS)
		return az_err(err, EINVAL, "network %.12s: more than %d pools of one family", n->id,
			      PL_MAX_POOLS);
	for (size_t i = 0; i < n->n4; i++)
		if (n->pool4[i].addr.family != AF_INET || n->gw4[i].addr.family != AF_INET)
			return az_err(err, EINVAL, "network %.12s: IPv4 pool %zu is not IPv4", n->id, i);
	for (size_t i = 0; i < n->n6; i++)
		if (n->pool6[i].addr.family != AF_INET6 || n->gw6[i].addr.family != AF_INET6)
			return az_err(err, EINVAL, "network %.12s: IPv6 pool %zu is not IPv6", n->id, i);
	if (n->mtu < 0 || n->mtu > 65535)
		return az_err(err, EINVAL, "network %.12s: MTU %d is out of range", n->id, n->mtu);
	return 0;
}

static int check_endpoint(const struct pl_endpoint *e, az_error *err)
{
	if (!az_id_valid(e->id))
		return az_err(err, EINVAL, "endpoint id \"%.64s\" is not valid", e->id);
	if (!ifname_ok(e->host_if) || !ifname_ok(e->ctr_if) || !strcmp(e->host_if, e->ctr_if))
		return az_err(err, EINVAL, "endpoint %.12s: interface names \"%.16s\"/\"%.16s\" are "
			      "not two valid interface names", e->id, e->host_if, e->ctr_if);
	return 0;
}

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* ------------------------------------------------------------ netlink */

static void nl_sockp(struct nl_sock **s)
{
	if (*s)
		nl_socket_free(*s);
}

static void rtnl_linkp(struct rtnl_link **l)
{
	if (*l)
		rtnl_link_put(*l);
}

static void rtnl_addrp(struct rtnl_addr **a)
{
	if (*a)
		rtnl_addr_put(*a);
}

static void nl_addrp(struct nl_addr **a)
{
	if (*a)
		nl_addr_put(*a);
}

#define cleanup_nl_sock _cleanup_(nl_sockp)
#define cleanup_link _cleanup_(rtnl_linkp)
#define cleanup_rtnl_addr _cleanup_(rtnl_addrp)
#define cleanup_nl_addr _cleanup_(nl_addrp)

static int nle_errno(int nle)
{
	switch (nle < 0 ? -nle : nle) {
	case NLE_EXIST:
		return EEXIST;
	case NLE_NODEV:
	case NLE_OBJ_NOTFOUND:
		return ENODEV;
	case NLE_PERM:
	case NLE_NOACCESS:
		return EPERM;
	case NLE_NOMEM:
		return ENOMEM;
	case NLE_INVAL:
	case NLE_RANGE:
		return EINVAL;
	case NLE_OPNOTSUPP:
		return EOPNOTSUPP;
	case NLE_BUSY:
		return EBUSY;
	default:
		return EIO;
	}
}

static bool nle_missing(int nle)
{
	return nle_errno(nle) == ENODEV;
}

static int nl_fail(az_error *err, int nle, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int nl_fail(az_error *err, int nle, const char *fmt, ...)
{
	char what[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return az_err(err, nle_errno(nle), "%s: %s", what, nl_geterror(nle));
}

static int nl_open(struct nl_sock **sk, az_error *err)
{
	*sk = nl_socket_alloc();
	if (!*sk)
		return az_err(err, ENOMEM, "netlink: out of memory");
	int r = nl_connect(*sk, NETLINK_ROUTE);
	if (r < 0)
		return nl_fail(err, r, "netlink: cannot open a route socket");
	return 0;
}

/* The link named name, or NULL (and 0) when there is none. */
static int link_get(struct nl_sock *sk, const char *name, struct rtnl_link **out, az_error *err)
{
	*out = NULL;
	int r = rtnl_link_get_kernel(sk, 0, name, out);
	if (r < 0 && nle_missing(r))
		return 0;
	if (r < 0)
		return nl_fail(err, r, "interface %s: cannot read it", name);
	return 0;
}

static bool link_is(struct rtnl_link *l, const char *kind)
{
	const char *t = rtnl_link_get_type(l);
	return t && !strcmp(t, kind);
}

static int link_delete(struct nl_sock *sk, const char *name, az_error *err)
{
	cleanup_link struct rtnl_link *l = rtnl_link_alloc();
	if (!l)
		return az_err(err, ENOMEM, "out of memory");
	rtnl_link_set_name(l, name);
	int r = rtnl_link_delete(sk, l);
	if (r < 0 && !nle_missing(r))
		return nl_fail(err, r, "interface %s: cannot delete it", name);
	return 0;
}

/* A locally administered unicast MAC derived from the network id.  Given
 * explicitly, it stays put as ports come and go (a bridge without one takes
 * the lowest port MAC, and every container's neighbour entry for the
 * gateway would go stale), and it is the same after the bridge is made
 * again from the persisted network. */
static void bridge_mac(const char *id, uint8_t mac[6])
{
	uint64_t h = 14695981039346656037ull;	/* FNV-1a 64 */
	for (const char *p = id; *p; p++)
		h = (h ^ (uint8_t)*p) * 1099511628211ull;
	mac[0] = 0x02;
	for (int i = 1; i < 6; i++)
		mac[i] = (uint8_t)(h >> (8 * (i - 1)));
}

/* Create the bridge, or bring an existing one to the same settings: one
 * RTM_NEWLINK with NLM_F_CREATE and without NLM_F_EXCL does both.  Built by
 * hand because libnl-route-3 3.7 has no setter for the bridge attributes
 * (IFLA_INFO_DATA) that we need: multicast snooping off, so that neighbour
 * solicitations reach every port whether or not the bridge saw the port's
 * MLD reports — alcatraz's port filter drops a container's reports sent
 * from an address it does not know (its link-local one). */
static int bridge_ensure(struct nl_sock *sk, const struct pl_network *n, az_error *err)
{
	cleanup_link struct rtnl_link *old = NULL;
	if (link_get(sk, n->bridge, &old, err) < 0)
		return -1;
	if (old && !link_is(old, "bridge"))
		return az_err(err, EEXIST, "network %.12s: interface %s exists and is not a bridge; "
			      "remove it or pick another network id", n->id, n->bridge);

	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC, .ifi_flags = IFF_UP, .ifi_change = IFF_UP };
	uint8_t mac[6];
	bridge_mac(n->id, mac);
	struct nl_msg *m = nlmsg_alloc_simple(RTM_NEWLINK, NLM_F_CREATE);
	if (!m)
		return az_err(err, ENOMEM, "out of memory");
	struct nlattr *info, *data;
	if (nlmsg_append(m, &ifi, sizeof(ifi), NLMSG_ALIGNTO) < 0 ||
	    nla_put_string(m, IFLA_IFNAME, n->bridge) < 0 ||
	    nla_put(m, IFLA_ADDRESS, sizeof(mac), mac) < 0 ||
	    (n->mtu > 0 && nla_put_u32(m, IFLA_MTU, (uint32_t)n->mtu) < 0) ||
	    !(info = nla_nest_start(m, IFLA_LINKINFO)) ||
	    nla_put_string(m, IFLA_INFO_KIND, "bridge") < 0 ||
	    !(data = nla_nest_start(m, IFLA_INFO_DATA)) ||
	    nla_put_u8(m, IFLA_BR_MCAST_SNOOPING, 0) < 0) {
		nlmsg_free(m);
		return az_err(err, ENOMEM, "out of memory");
	}
	nla_nest_end(m, data);
	nla_nest_end(m, info);
	int r = nl_send_sync(sk, m);	/* frees m */
	if (r < 0)
		return nl_fail(err, r, "network %.12s: cannot %s bridge %s", n->id,
			       old ? "update" : "create", n->bridge);
	if (!old)
		az_log(LOG_INFO, n->id, "bridge %s created", n->bridge);
	return 0;
}

static int addr_add(struct nl_sock *sk, int ifindex, const char *ifname, const struct az_prefix *p,
		    az_error *err)
{
	char s[AZ_PREFIXSTRLEN];
	cleanup_rtnl_addr struct rtnl_addr *a = rtnl_addr_alloc();
	cleanup_nl_addr struct nl_addr *local = nl_addr_build(p->addr.family, p->addr.b,
							       p->addr.family == AF_INET ? 4 : 16);
	if (!a || !local)
		return az_err(err, ENOMEM, "out of memory");
	nl_addr_set_prefixlen(local, p->len);
	rtnl_addr_set_ifindex(a, ifindex);
	rtnl_addr_set_family(a, p->addr.family);
	int r = rtnl_addr_set_local(a, local);
	if (r == 0) {
		rtnl_addr_set_prefixlen(a, p->len);
		/* Usable at once: no duplicate detection on an address that
		 * is ours by construction (Docker's IPAM handed it out). */
		if (p->addr.family == AF_INET6)
			rtnl_addr_set_flags(a, IFA_F_NODAD);
		r = rtnl_addr_add(sk, a, 0);
	}
	if (r < 0 && nle_errno(r) != EEXIST)
		return nl_fail(err, r, "address %s/%u on %s", az_addr_str(&p->addr, s), p->len, ifname);
	return 0;
}

/* ------------------------------------------------------------ sysctl */

/* Turn a forwarding switch on, in the netns we run in (the plugin is in the
 * host's).  Returns whether it was off. */
static int sysctl_on(const char *path, bool *changed, az_error *err)
{
	char *v = NULL;
	size_t len;
	*changed = false;
	if (az_read_file(path, 64, &v, &len, err) < 0)
		return -1;
	bool on = v[0] == '1';
	free(v);
	if (on)
		return 0;
	cleanup_close int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, "1\n", 2) != 2)
		return az_err_errno(err, "cannot write 1 to %s", path);
	*changed = true;
	return 0;
}

static int forwarding_on(const struct pl_network *n, az_error *err)
{
	bool changed;
	if (n->n4) {
		if (sysctl_on("/proc/sys/net/ipv4/ip_forward", &changed, err) < 0)
			return az_err_prefix(err, "network %.12s", n->id);
		if (changed)
			az_log(LOG_NOTICE, n->id, "net.ipv4.ip_forward was 0: set it to 1 for network "
			       "bridge %s", n->bridge);
	}
	if (n->n6) {
		if (sysctl_on("/proc/sys/net/ipv6/conf/all/forwarding", &changed, err) < 0)
			return az_err_prefix(err, "network %.12s", n->id);
		if (changed)
			az_log(LOG_WARNING, n->id,
			       "net.ipv6.conf.all.forwarding was 0: set it to 1 for network bridge %s "
			       "(an interface configured by router advertisements now needs "
			       "accept_ra=2 to keep doing so)", n->bridge);
	}
	return 0;
}

/* ------------------------------------------------------------ nftables
 *
 * table inet alcatraz_plugin: fixed chains, per-network elements.
 *   bridges   every bridge of ours
 *   samebr    "br" . "br": traffic that stays inside one network
 *   internal  bridges of --internal networks
 *   pools4/6  pools to masquerade (not the internal ones)
 * forward: a drop is final in every table, so these hold whatever else the
 * host's firewall says: an internal network talks to nothing but itself,
 * and two plugin networks do not talk to each other (Docker's own isolation
 * between networks).  An accept here decides nothing for other tables:
 * letting traffic through Docker's FORWARD policy is fw_add's job.
 * postrouting: masquerade what leaves a pool through anything but one of
 * our bridges.  One set lookup per packet however many networks exist.
 */

static void nft_skeleton(struct az_buf *b)
{
	az_buf_printf(b,
		      "add table inet " PL_TABLE " { comment \"alcatraz plugin: NAT and forwarding "
		      "of its Docker networks\"; }\n"
		      "add set inet " PL_TABLE " bridges { type ifname; }\n"
		      "add set inet " PL_TABLE " samebr { type ifname . ifname; }\n"
		      "add set inet " PL_TABLE " internal { type ifname; }\n"
		      "add set inet " PL_TABLE " pools4 { type ipv4_addr; flags interval; }\n"
		      "add set inet " PL_TABLE " pools6 { type ipv6_addr; flags interval; }\n"
		      "add chain inet " PL_TABLE " forward { type filter hook forward priority filter; policy accept; }\n"
		      "add chain inet " PL_TABLE " postrouting { type nat hook postrouting priority srcnat; policy accept; }\n"
		      "flush chain inet " PL_TABLE " forward\n"
		      "flush chain inet " PL_TABLE " postrouting\n"
		      "add rule inet " PL_TABLE " forward iifname . oifname @samebr accept\n"
		      "add rule inet " PL_TABLE " forward iifname @internal counter drop\n"
		      "add rule inet " PL_TABLE " forward oifname @internal counter drop\n"
		      "add rule inet " PL_TABLE " forward iifname @bridges oifname @bridges counter drop\n"
		      "add rule inet " PL_TABLE " postrouting oifname @bridges return\n"
		      "add rule inet " PL_TABLE " postrouting ip saddr @pools4 masquerade\n"
		      "add rule inet " PL_TABLE " postrouting ip6 saddr @pools6 masquerade\n");
}

/* One element: "add" (with the comment) or, for an idempotent delete,
 * "add" then "delete" in the same transaction: it is gone afterwards
 * whether or not it was there. */
static void nft_elem(struct az_buf *b, bool add, const char *id, const char *set, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static void nft_elem(struct az_buf *b, bool add, const char *id, const char *set, const char *fmt, ...)
{
	char key[128];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(key, sizeof(key), fmt, ap);
	va_end(ap);
	az_buf_printf(b, "add element inet " PL_TABLE " %s { %s comment \"" PL_TAG "%s\" }\n", set, key,
		      id);
	if (!add)
		az_buf_printf(b, "delete element inet " PL_TABLE " %s { %s }\n", set, key);
}

static void nft_network(struct az_buf *b, const struct pl_network *n, bool add)
{
	char p[AZ_PREFIXSTRLEN];
	nft_elem(b, add, n->id, "bridges", "\"%s\"", n->bridge);
	nft_elem(b, add, n->id, "samebr", "\"%s\" . \"%s\"", n->bridge, n->bridge);
	if (n->internal || !add)
		nft_elem(b, add, n->id, "internal", "\"%s\"", n->bridge);
	if (n->internal && add)
		return;
	for (size_t i = 0; i < n->n4; i++) {
		struct az_prefix m = n->pool4[i];
		az_prefix_mask(&m);
		nft_elem(b, add, n->id, "pools4", "%s", az_prefix_str(&m, p));
	}
	for (size_t i = 0; i < n->n6; i++) {
		struct az_prefix m = n->pool6[i];
		az_prefix_mask(&m);
		nft_elem(b, add, n->id, "pools6", "%s", az_prefix_str(&m, p));
	}
}

static int nft_network_apply(const struct pl_network *n, bool add, az_error *err)
{
	cleanup_buf struct az_buf b;
	az_buf_init(&b);
	nft_skeleton(&b);
	nft_network(&b, n, add);
	if (!b.data)
		return az_err(err, ENOMEM, "out of memory");
	if (az_nft_run(-1, b.data, err) < 0)
		return az_err_prefix(err, "network %.12s: table inet " PL_TABLE, n->id);
	if (add)
		return 0;
	/* The last network gone: the table goes too (calls that change state
	 * are serialized by the driver, so nothing adds one meanwhile). */
	char *out = NULL;
	az_error e;
	if (az_nft_query(-1, "list set inet " PL_TABLE " bridges", false, &out, &e) == 0 &&
	    !strstr(out, "elements =")) {
		if (az_nft_run(-1, "delete table inet " PL_TABLE "\n", &e) == 0)
			az_log(LOG_INFO, n->id, "last plugin network gone: table inet " PL_TABLE
			       " deleted");
	}
	free(out);
	return 0;
}

/* ------------------------------------------------------------ DOCKER-USER
 *
 * Docker's iptables rules may leave the FORWARD policy at DROP (it sets it
 * whenever it had to turn ip_forward on), and with br_netfilter even frames
 * between two ports of one bridge pass `ip filter FORWARD`.  An accept in
 * our own table does not override a drop in another, so the accepts go
 * where Docker tells users to put theirs: DOCKER-USER, which FORWARD jumps
 * to first.  Only when that chain exists (Docker's iptables integration is
 * on), run with the iptables Docker itself runs (same alternative, so the
 * same backend), with a fixed argv and a comment naming the network.
 *
 *   -i BR -j ACCEPT                                  what the network sends
 *   -o BR -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT   replies to it
 *   internal network: -i BR -o BR -j ACCEPT only
 *
 * Nothing new from outside is let in (as on Docker's own bridges, whose
 * published ports we do not handle).  This widens nothing alcatraz refused:
 * its host layer decides at prerouting, before FORWARD, and our own forward
 * chain drops what must not cross networks.  The rules go just above the
 * chain's final RETURN, below the admin's own rules, so an admin's DROP in
 * DOCKER-USER still applies to our networks.
 */

struct exec_out {
	int status;		/* exit code, or -1 when killed / not exited */
	char text[512];		/* first line of its output */
	char *all;		/* whole output, for parsing */
};

static void exec_out_free(struct exec_out *o)
{
	free(o->all);
	o->all = NULL;
}

static int run_argv(const char *const argv[], struct exec_out *o, az_error *err)
{
	static char *const envp[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", NULL };
	int p[2];
	posix_spawn_file_actions_t fa;
	pid_t pid;
	memset(o, 0, sizeof(*o));
	o->status = -1;
	if (pipe2(p, O_CLOEXEC) < 0)
		return az_err_errno(err, "pipe");
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, p[1], STDOUT_FILENO);
	posix_spawn_file_actions_adddup2(&fa, p[1], STDERR_FILENO);
	/* Not the daemon's blocked or ignored signals: a plain process. */
	posix_spawnattr_t at;
	sigset_t none, all;
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawnattr_init(&at);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &all);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	int r = posix_spawn(&pid, argv[0], &fa, &at, (char *const *)argv, envp);
	posix_spawnattr_destroy(&at);
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	if (r != 0) {
		close(p[0]);
		errno = r;
		return az_err_errno(err, "cannot run %s", argv[0]);
	}
	struct az_buf b;
	az_buf_init(&b);
	long deadline = now_ms() + EXEC_TIMEOUT_MS;
	bool timed_out = false;
	for (;;) {
		long left = deadline - now_ms();
		struct pollfd pfd = { .fd = p[0], .events = POLLIN };
		if (left <= 0) {
			timed_out = true;
			break;
		}
		int pr = poll(&pfd, 1, (int)left);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0) {
			timed_out = pr == 0;
			break;
		}
		char chunk[4096];
		ssize_t n = read(p[0], chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (b.len + (size_t)n < EXEC_MAX_OUTPUT)
			az_buf_append(&b, chunk, (size_t)n);
	}
	close(p[0]);
	if (timed_out)
		kill(pid, SIGKILL);
	int st = 0;
	pid_t w;
	while ((w = waitpid(pid, &st, 0)) < 0 && errno == EINTR)
		;
	o->all = az_buf_steal(&b);
	snprintf(o->text, sizeof(o->text), "%s", o->all);
	o->text[strcspn(o->text, "\n")] = '\0';
	if (timed_out) {
		exec_out_free(o);
		return az_err(err, ETIMEDOUT, "%s gave no answer within %d ms", argv[0], EXEC_TIMEOUT_MS);
	}
	if (w < 0) {
		exec_out_free(o);
		return az_err_errno(err, "cannot collect the exit status of %s", argv[0]);
	}
	o->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	return 0;
}

struct fw_rule {
	const char *args[16];	/* the match and target, NULL-terminated */
};

/* The DOCKER-USER rules a network needs, with its comment. */
static size_t fw_rules(const struct pl_network *n, const char *comment, struct fw_rule r[2])
{
	if (n->internal) {
		r[0] = (struct fw_rule){ { "-i", n->bridge, "-o", n->bridge, "-m", "comment", "--comment",
					   comment, "-j", "ACCEPT", NULL } };
		return 1;
	}
	r[0] = (struct fw_rule){ { "-i", n->bridge, "-m", "comment", "--comment", comment, "-j",
				   "ACCEPT", NULL } };
	r[1] = (struct fw_rule){ { "-o", n->bridge, "-m", "conntrack", "--ctstate",
				   "RELATED,ESTABLISHED", "-m", "comment", "--comment", comment, "-j",
				   "ACCEPT", NULL } };
	return 2;
}

/* argv = BIN -w 5 -t filter OP DOCKER-USER [POS] RULE... */
static int fw_run(const char *bin, const char *op, const char *pos, const struct fw_rule *rule,
		  struct exec_out *o, az_error *err)
{
	const char *argv[32] = { bin, "-w", "5", "-t", "filter", op, DOCKER_USER };
	size_t k = 7;
	if (pos)
		argv[k++] = pos;
	for (size_t i = 0; rule && rule->args[i]; i++)
		argv[k++] = rule->args[i];
	argv[k] = NULL;
	return run_argv(argv, o, err);
}

static void fw_rule_str(const struct fw_rule *rule, char *buf, size_t cap)
{
	size_t l = 0;
	buf[0] = '\0';
	for (size_t i = 0; rule->args[i] && l < cap; i++) {
		bool quote = strchr(rule->args[i], ' ') != NULL;
		int w = snprintf(buf + l, cap - l, "%s%s%s%s", i ? " " : "", quote ? "\"" : "",
				 rule->args[i], quote ? "\"" : "");
		if (w < 0)
			break;
		l += (size_t)w;
	}
}

/* Does DOCKER-USER exist?  When it does, *insert_at is where our rules go:
 * the position of its final unconditional RETURN (Docker appends one), or
 * NULL to append. */
static int fw_chain(const char *bin, bool *exists, char insert_at[16], az_error *err)
{
	struct exec_out o;
	*exists = false;
	insert_at[0] = '\0';
	if (access(bin, X_OK) < 0)
		return 0;	/* no iptables: Docker cannot have rules either */
	if (fw_run(bin, "-S", NULL, NULL, &o, err) < 0)
		return -1;
	if (o.status == 1) {
		/* no such chain (or table) */
		exec_out_free(&o);
		return 0;
	}
	if (o.status != 0) {
		az_err(err, EIO, "%s -S " DOCKER_USER " failed (exit %d): %s", bin, o.status, o.text);
		exec_out_free(&o);
		return -1;
	}
	*exists = true;
	int n = 0;
	bool last_return = false;
	for (char *save = NULL, *l = strtok_r(o.all, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		if (strncmp(l, "-A ", 3))
			continue;
		n++;
		last_return = !strcmp(l, "-A " DOCKER_USER " -j RETURN");
	}
	if (last_return)
		snprintf(insert_at, 16, "%d", n);
	exec_out_free(&o);
	return 0;
}

static int fw_add(const char *bin, const struct pl_network *n, az_error *err)
{
	bool exists;
	char pos[16], comment[96], text[256];
	struct fw_rule rules[2];
	if (fw_chain(bin, &exists, pos, err) < 0)
		return az_err_prefix(err, "network %.12s", n->id);
	if (!exists)
		return 0;
	snprintf(comment, sizeof(comment), PL_TAG "%s", n->id);
	/* Last first: each goes in at the same position. */
	for (size_t i = fw_rules(n, comment, rules); i-- > 0;) {
		struct exec_out o;
		if (fw_run(bin, "-C", NULL, &rules[i], &o, err) < 0)
			return az_err_prefix(err, "network %.12s", n->id);
		int present = o.status == 0;
		exec_out_free(&o);
		if (present)
			continue;
		if (fw_run(bin, pos[0] ? "-I" : "-A", pos[0] ? pos : NULL, &rules[i], &o, err) < 0)
			return az_err_prefix(err, "network %.12s", n->id);
		exec_out_free(&o);
		fw_rule_str(&rules[i], text, sizeof(text));
		if (o.status != 0)
			return az_err(err, EIO, "network %.12s: %s %s %s %s failed: %s", n->id, bin,
				      pos[0] ? "-I" : "-A", DOCKER_USER, text, o.text);
		az_log(LOG_NOTICE, n->id, "%s: added to filter %s%s%s (Docker's FORWARD policy "
		       "may be DROP): %s", bin, DOCKER_USER, pos[0] ? " above its RETURN at " : "",
		       pos, text);
	}
	return 0;
}

static int fw_remove(const char *bin, const struct pl_network *n, az_error *err)
{
	bool exists;
	char pos[16], comment[96], text[256];
	struct fw_rule rules[2];
	if (fw_chain(bin, &exists, pos, err) < 0)
		return az_err_prefix(err, "network %.12s", n->id);
	if (!exists)
		return 0;
	snprintf(comment, sizeof(comment), PL_TAG "%s", n->id);
	/* Both shapes: the network may have been created under another
	 * internal flag by an older record. */
	struct pl_network flip = *n;
	for (int pass = 0; pass < 2; pass++) {
		flip.internal = pass ? !n->internal : n->internal;
		size_t k = fw_rules(&flip, comment, rules);
		for (size_t i = 0; i < k; i++) {
			/* -D until it fails: duplicates go too; bounded */
			for (int tries = 0; tries < 8; tries++) {
				struct exec_out o;
				if (fw_run(bin, "-D", NULL, &rules[i], &o, err) < 0)
					return az_err_prefix(err, "network %.12s", n->id);
				exec_out_free(&o);
				if (o.status != 0)
					break;
				fw_rule_str(&rules[i], text, sizeof(text));
				az_log(LOG_NOTICE, n->id, "%s: removed from filter %s: %s", bin,
				       DOCKER_USER, text);
			}
		}
	}
	return 0;
}

/* ------------------------------------------------------------ networks */

static int network_create(const struct pl_network *n, az_error *err)
{
	cleanup_nl_sock struct nl_sock *sk = NULL;
	cleanup_link struct rtnl_link *br = NULL;
	if (check_network(n, err) < 0 || nl_open(&sk, err) < 0)
		return -1;
	if (bridge_ensure(sk, n, err) < 0 || link_get(sk, n->bridge, &br, err) < 0)
		return -1;
	if (!br)
		return az_err(err, ENODEV, "network %.12s: bridge %s vanished right after it was "
			      "made", n->id, n->bridge);
	int ifindex = rtnl_link_get_ifindex(br);
	for (size_t i = 0; i < n->n4; i++)
		if (addr_add(sk, ifindex, n->bridge, &n->gw4[i], err) < 0)
			return az_err_prefix(err, "network %.12s: gateway", n->id);
	for (size_t i = 0; i < n->n6; i++)
		if (addr_add(sk, ifindex, n->bridge, &n->gw6[i], err) < 0)
			return az_err_prefix(err, "network %.12s: gateway", n->id);
	if (nft_network_apply(n, true, err) < 0)
		return -1;
	if (!n->internal && forwarding_on(n, err) < 0)
		return -1;
	if (fw_add(IPTABLES, n, err) < 0 || fw_add(IP6TABLES, n, err) < 0)
		return -1;
	return 0;
}

static int network_delete(const struct pl_network *n, az_error *err)
{
	cleanup_nl_sock struct nl_sock *sk = NULL;
	if (check_network(n, err) < 0)
		return -1;
	/* Every step runs; the first error is the one reported. */
	az_error e[3] = { 0 };
	int r[3];
	r[0] = fw_remove(IPTABLES, n, &e[0]) < 0 || fw_remove(IP6TABLES, n, &e[0]) < 0 ? -1 : 0;
	r[1] = nft_network_apply(n, false, &e[1]);
	r[2] = nl_open(&sk, &e[2]) < 0 || link_delete(sk, n->bridge, &e[2]) < 0 ? -1 : 0;
	for (int i = 0; i < 3; i++)
		if (r[i] < 0) {
			*err = e[i];
			return i == 2 ? az_err_prefix(err, "network %.12s", n->id) : -1;
		}
	az_log(LOG_INFO, n->id, "network removed (bridge %s)", n->bridge);
	return 0;
}

/* ------------------------------------------------------------ endpoints */

/* An existing host end: it must be a veth; put it on the bridge, up. */
static int veth_repair(struct nl_sock *sk, struct rtnl_link *old, const struct pl_endpoint *e,
		       int br_index, unsigned mtu, az_error *err)
{
	if (!link_is(old, "veth"))
		return az_err(err, EEXIST, "endpoint %.12s: interface %s exists and is not a veth",
			      e->id, e->host_if);
	cleanup_link struct rtnl_link *want = rtnl_link_alloc();
	if (!want)
		return az_err(err, ENOMEM, "out of memory");
	rtnl_link_set_master(want, br_index);
	rtnl_link_set_mtu(want, mtu);
	rtnl_link_set_flags(want, IFF_UP);
	int r = rtnl_link_change(sk, old, want, 0);
	if (r < 0)
		return nl_fail(err, r, "endpoint %.12s: cannot put %s on its bridge", e->id, e->host_if);
	return 0;
}

static int veth_add(struct nl_sock *sk, const struct pl_endpoint *e, int br_index, unsigned mtu)
{
	cleanup_link struct rtnl_link *l = rtnl_link_veth_alloc();
	if (!l)
		return -NLE_NOMEM;
	struct rtnl_link *peer = rtnl_link_veth_get_peer(l);
	rtnl_link_set_name(l, e->host_if);
	rtnl_link_set_mtu(l, mtu);
	rtnl_link_set_master(l, br_index);
	rtnl_link_set_flags(l, IFF_UP);
	rtnl_link_set_name(peer, e->ctr_if);
	rtnl_link_set_mtu(peer, mtu);
	if (e->has_mac) {
		/* docker run --mac-address: Docker expects the driver to set it */
		cleanup_nl_addr struct nl_addr *mac = nl_addr_build(AF_LLC, e->mac, sizeof(e->mac));
		if (!mac) {
			rtnl_link_put(peer);
			return -NLE_NOMEM;
		}
		rtnl_link_set_addr(peer, mac);
	}
	rtnl_link_put(peer);
	return rtnl_link_add(sk, l, NLM_F_CREATE | NLM_F_EXCL);
}

static int endpoint_create(const struct pl_network *n, const struct pl_endpoint *e, az_error *err)
{
	cleanup_nl_sock struct nl_sock *sk = NULL;
	cleanup_link struct rtnl_link *br = NULL;
	cleanup_link struct rtnl_link *old = NULL;
	if (check_network(n, err) < 0 || check_endpoint(e, err) < 0 || nl_open(&sk, err) < 0)
		return -1;
	if (link_get(sk, n->bridge, &br, err) < 0)
		return -1;
	if (!br || !link_is(br, "bridge"))
		return az_err(err, ENODEV, "endpoint %.12s: the bridge %s of network %.12s is missing",
			      e->id, n->bridge, n->id);
	int br_index = rtnl_link_get_ifindex(br);
	unsigned mtu = rtnl_link_get_mtu(br);
	if (link_get(sk, e->host_if, &old, err) < 0)
		return -1;
	if (old)
		return veth_repair(sk, old, e, br_index, mtu, err);
	int r = veth_add(sk, e, br_index, mtu);
	if (r < 0 && nle_errno(r) == EEXIST) {
		/* The host end is missing, so the container end is left over
		 * from an earlier pair (Docker moves it back at Leave).  Only
		 * a veth is ours to remove. */
		cleanup_link struct rtnl_link *stale = NULL;
		if (link_get(sk, e->ctr_if, &stale, err) < 0)
			return -1;
		if (stale && !link_is(stale, "veth"))
			return az_err(err, EEXIST, "endpoint %.12s: interface %s exists and is not a "
				      "veth", e->id, e->ctr_if);
		if (stale && link_delete(sk, e->ctr_if, err) < 0)
			return -1;
		r = veth_add(sk, e, br_index, mtu);
	}
	if (r < 0)
		return nl_fail(err, r, "endpoint %.12s: cannot create veth pair %s/%s on %s", e->id,
			       e->host_if, e->ctr_if, n->bridge);
	return 0;
}

static int endpoint_delete(const struct pl_endpoint *e, az_error *err)
{
	cleanup_nl_sock struct nl_sock *sk = NULL;
	if (check_endpoint(e, err) < 0 || nl_open(&sk, err) < 0)
		return -1;
	/* Deleting one end deletes the pair wherever the other end is; the
	 * container end alone is left when Docker moved it back and the host
	 * end went some other way. */
	if (link_delete(sk, e->host_if, err) < 0 || link_delete(sk, e->ctr_if, err) < 0)
		return az_err_prefix(err, "endpoint %.12s", e->id);
	/* An attachment without a netns lives as long as its host interface:
	 * with the interface gone, collect whatever rules_remove did not
	 * (a Leave that failed, or never came). */
	size_t gone = 0;
	az_error ge;
	if (az_gc(&gone, &ge) < 0)
		az_log(LOG_WARNING, e->id, "collecting the rules of deleted endpoints: %s", ge.msg);
	else if (gone)
		az_log(LOG_INFO, e->id, "rules of %zu deleted endpoint(s) collected", gone);
	return 0;
}

/* ------------------------------------------------------------ rules */

static bool is_loopback(const struct az_addr *a)
{
	static const uint8_t v6lo[16] = { [15] = 1 };
	if (a->family == AF_INET)
		return a->b[0] == 127;
	return !memcmp(a->b, v6lo, 16);
}

static size_t read_nameservers(const char *path, struct az_addr *v, size_t max)
{
	char *text = NULL;
	size_t len, n = 0;
	az_error e;
	if (az_read_file(path, 1u << 20, &text, &len, &e) < 0)
		return 0;
	az_parse_resolv_conf(text, v, max, &n);
	free(text);
	return n;
}

/* dns = auto for a Docker container: its resolv.conf names Docker's
 * embedded DNS, 127.0.0.11, inside its own netns, and dockerd (20.10)
 * forwards each query from that netns — with the container's address, across
 * our bridge — to the upstreams it chose when the container started: the
 * host's resolv.conf with loopback servers dropped (systemd-resolved's stub
 * replaced by its real upstreams), IPv6 ones only on an IPv6 network, and
 * Google's when nothing is left.  A container's own --dns is not visible to
 * a network driver: such containers need alcatraz.network.dns. */
const char *pl_resolv_conf = "/etc/resolv.conf";

static void docker_resolvers(const struct pl_network *n, struct az_target *t)
{
	struct az_addr v[AZ_MAX_RESOLVERS];
	size_t k = read_nameservers(pl_resolv_conf, v, AZ_MAX_RESOLVERS);
	struct az_addr stub;
	az_addr_parse("127.0.0.53", &stub);
	if (k == 1 && az_addr_eq(&v[0], &stub))
		k = read_nameservers("/run/systemd/resolve/resolv.conf", v, AZ_MAX_RESOLVERS);
	t->n_resolvers = 0;
	for (size_t i = 0; i < k; i++) {
		if (is_loopback(&v[i]) || (v[i].family == AF_INET6 && !n->n6))
			continue;
		t->resolvers[t->n_resolvers++] = v[i];
	}
	if (t->n_resolvers)
		return;
	static const char *const fallback[] = { "8.8.8.8", "8.8.4.4", "2001:4860:4860::8888",
						"2001:4860:4860::8844" };
	for (size_t i = 0; i < sizeof(fallback) / sizeof(fallback[0]); i++) {
		struct az_addr a;
		if (az_addr_parse(fallback[i], &a) == 0 && (a.family == AF_INET || n->n6))
			t->resolvers[t->n_resolvers++] = a;
	}
}

static void build_target(const struct pl_network *n, const struct pl_endpoint *e, struct az_target *t)
{
	memset(t, 0, sizeof(*t));
	snprintf(t->id, sizeof(t->id), "%s", e->id);
	t->n_if = 1;
	struct az_iface *f = &t->ifs[0];
	/* Docker names it eth<N> inside the container; N is not known here,
	 * and only the host layer (which never uses this name) is applied. */
	snprintf(f->ctr_ifname, sizeof(f->ctr_ifname), "%s", e->ctr_if);
	snprintf(f->host_ifname, sizeof(f->host_ifname), "%s", e->host_if);
	snprintf(f->bridge, sizeof(f->bridge), "%s", n->bridge);
	if (e->has4)
		f->addr4[f->n4++] = e->addr4;
	if (e->has6)
		f->addr6[f->n6++] = e->addr6;
	/* The gateway is the bridge: the host as the container sees it, even
	 * on an --internal network, where Join announces no default route. */
	if (n->n4) {
		t->has_gw4 = true;
		t->gw4 = n->gw4[0].addr;
	}
	if (n->n6) {
		t->has_gw6 = true;
		t->gw6 = n->gw6[0].addr;
	}
	docker_resolvers(n, t);
	t->hold = e->hold;
	if (az_name_valid(e->container_name))
		snprintf(t->name, sizeof(t->name), "%s", e->container_name);
}

/* A SandboxKey naming the plugin's own netns or pid 1's: the container's
 * table there would filter the host, and removing it would delete the host
 * layer (same table name).  Never a container's. */
static bool sandbox_is_hosts(int fd)
{
	static const char *const hosts[] = { "/proc/self/ns/net", "/proc/1/ns/net" };
	struct stat st;
	if (fstat(fd, &st) < 0)
		return true;
	for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++)
		if (az_stat_matches(hosts[i], &st)) {
			az_log(LOG_WARNING, NULL, "SandboxKey names the host's network namespace (%s): "
			       "no container table there", hosts[i]);
			return true;
		}
	return false;
}

/* The container's netns, when e->sandbox is one: an fd, or -1.  Before
 * runc's prestart hook has bound it the path is missing (or, on other
 * Docker versions, an empty file), which is not an error. */
static int sandbox_open(const struct pl_endpoint *e)
{
	struct statfs sf;
	if (!e->sandbox[0])
		return -1;
	int fd = open(e->sandbox, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -1;
	if (fstatfs(fd, &sf) < 0 || sf.f_type != NSFS_MAGIC || sandbox_is_hosts(fd)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Delete the table in e's netns if it is e's (two alcatraz networks in one
 * container: the other endpoint's stays).  A netns already gone took it. */
static void netns_table_remove(const struct pl_endpoint *e)
{
	cleanup_close int fd = sandbox_open(e);
	char *out = NULL, mark[96];
	az_error err;
	if (fd < 0 || az_nft_query(fd, "list table inet " AZ_TABLE, false, &out, &err) < 0)
		return;
	snprintf(mark, sizeof(mark), "comment \"alcatraz:%s\"", e->id);
	if (strstr(out, mark) &&
	    az_nft_run(fd, "table inet " AZ_TABLE "\ndelete table inet " AZ_TABLE "\n", &err) < 0)
		az_log(LOG_WARNING, e->id, "removing the table in %s: %s", e->sandbox, err.msg);
	free(out);
}

/* Is endpoint id attached already? */
static int attached(const char *id, bool *found, az_error *err)
{
	struct az_attachment *v = NULL;
	size_t k = 0;
	*found = false;
	if (az_attachments_read(&v, &k, err) < 0)
		return -1;
	for (size_t i = 0; i < k && !*found; i++)
		for (size_t j = 0; j < v[i].n_members && !*found; j++)
			*found = !strcmp(v[i].members[j], id);
	az_attachments_free(v, k);
	return 0;
}

static int rules_apply(const struct pl_network *n, const struct pl_endpoint *e,
		       const struct az_policy *p, az_error *err)
{
	struct az_target *t = NULL;
	struct az_hostnet *h = NULL;
	struct az_features f;
	bool found, removed;
	int r = -1, ns = -1;
	if (check_network(n, err) < 0 || check_endpoint(e, err) < 0)
		return -1;
	if (!p->enabled && !e->hold) {
		netns_table_remove(e);
		if (az_detach(e->id, &removed, err) < 0)
			return az_err_prefix(err, "endpoint %.12s", e->id);
		if (removed)
			az_log(LOG_INFO, e->id, "isolation switched off: rules removed");
		return 0;
	}
	if (attached(e->id, &found, err) < 0)
		return az_err_prefix(err, "endpoint %.12s: state", e->id);
	t = calloc(1, sizeof(*t));
	h = calloc(1, sizeof(*h));
	if (!t || !h) {
		az_err(err, ENOMEM, "out of memory");
		goto out;
	}
	build_target(n, e, t);
	if (az_discover_hostnet(h, err) < 0)
		goto out;
	az_features_detect(&f, err);
	/* Attached already (its own settings became known, or a repeated
	 * call): the new rules replace the old in one transaction, never a
	 * moment without.  The target stays without netns_path: the
	 * attachment is the endpoint's (key ep-<id>), not the netns's, and
	 * lives as long as its veth. */
	ns = sandbox_open(e);
	r = found ? az_reattach(p, t, ns, h, &f, err) : az_attach(p, t, ns, h, &f, err);
out:
	free(t);
	free(h);
	if (ns >= 0)
		close(ns);
	if (r < 0)
		return az_err_prefix(err, "endpoint %.12s", e->id);
	if (found)
		az_log(LOG_INFO, e->id, "isolation rules replaced");
	return ns >= 0 ? 1 : 0;
}

static int rules_netns(const struct pl_endpoint *e, az_error *err)
{
	struct az_attachment *v = NULL, *a = NULL;
	struct az_hostnet *h = NULL;
	struct az_features f;
	size_t k = 0;
	int r = -1;
	if (!az_id_valid(e->id))
		return az_err(err, EINVAL, "endpoint id \"%.64s\" is not valid", e->id);
	cleanup_close int ns = sandbox_open(e);
	if (ns < 0)
		return 0;
	if (az_attachments_read(&v, &k, err) < 0)
		return az_err_prefix(err, "endpoint %.12s: state", e->id);
	for (size_t i = 0; i < k && !a; i++)
		for (size_t j = 0; j < v[i].n_members && !a; j++)
			if (!strcmp(v[i].members[j], e->id))
				a = &v[i];
	if (!a) {
		r = 2;
		goto out;
	}
	h = calloc(1, sizeof(*h));
	if (!h) {
		az_err(err, ENOMEM, "out of memory");
		goto out;
	}
	if (az_discover_hostnet(h, err) < 0)
		goto out;
	az_features_detect(&f, err);
	/* The settings it is attached with (held, or its container's), the
	 * host elements swapped for the same ones in one transaction. */
	r = az_reattach(&a->policy, &a->target, ns, h, &f, err) < 0 ? -1 : 1;
out:
	free(h);
	az_attachments_free(v, k);
	if (r < 0)
		return az_err_prefix(err, "endpoint %.12s", e->id);
	return r;
}

static int rules_remove(const struct pl_endpoint *e, az_error *err)
{
	bool removed;
	if (!az_id_valid(e->id))
		return az_err(err, EINVAL, "endpoint id \"%.64s\" is not valid", e->id);
	netns_table_remove(e);
	if (az_detach(e->id, &removed, err) < 0)
		return az_err_prefix(err, "endpoint %.12s", e->id);
	return 0;
}

const struct pl_ops pl_netops = {
	.network_create = network_create,
	.network_delete = network_delete,
	.endpoint_create = endpoint_create,
	.endpoint_delete = endpoint_delete,
	.rules_apply = rules_apply,
	.rules_netns = rules_netns,
	.rules_remove = rules_remove,
	.ctx = NULL,
};
