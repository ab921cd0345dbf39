/* rules.h — a policy plus where it applies → nftables transactions; apply,
 * remove and list them atomically with libnftables; state records of what is
 * applied.
 *
 * Two layers (DESIGN.md "Intended architecture"):
 *  - inside the container's netns: table inet alcatraz, output + input
 *    chains, per-container content (it vanishes with the netns, and a host
 *    flush cannot reach it);
 *  - in the host netns: table inet alcatraz and table bridge alcatraz with
 *    fixed chains; per-container state only as set/map elements commented
 *    "alcatraz:<id>".
 *
 * Rendering (az_render_*) is pure and unit-tested; az_nft_* are the effects.
 */
#ifndef ALCATRAZ_RULES_H
#define ALCATRAZ_RULES_H

#include <net/if.h>
#include <limits.h>

#include "common/common.h"
#include "config/config.h"

#define AZ_TABLE "alcatraz"
#define AZ_MAX_IFACES 8
#define AZ_MAX_ADDRS 8
#define AZ_MAX_RESOLVERS 8
#define AZ_MAX_HOSTNETS 1024
#define AZ_ID_MAX 128
#define AZ_MAX_MEMBERS 64

/* One interface of the container. */
struct az_iface {
	char ctr_ifname[IFNAMSIZ];	/* inside the container, e.g. eth0 */
	char host_ifname[IFNAMSIZ];	/* host-side peer (veth), "" if none */
	char bridge[IFNAMSIZ];		/* master of the host peer, "" if none */
	size_t n4, n6;
	struct az_prefix addr4[AZ_MAX_ADDRS];
	struct az_prefix addr6[AZ_MAX_ADDRS];	/* global and link-local */
};

/* Where a policy applies. */
/* A container's name, for people (alcatraz list/watch): what the runtime
 * or Docker calls it; "" when unknown or not printable as is. */
#define AZ_NAME_MAX 64
bool az_name_valid(const char *name);

struct az_target {
	char id[AZ_ID_MAX + 1];
	char name[AZ_NAME_MAX + 1];
	char netns_path[PATH_MAX];	/* "" for none */
	uint64_t netns_dev, netns_ino;
	size_t n_if;
	struct az_iface ifs[AZ_MAX_IFACES];
	bool has_gw4, has_gw6;
	struct az_addr gw4, gw6;
	size_t n_resolvers;
	struct az_addr resolvers[AZ_MAX_RESOLVERS];
	/* Refuse everything but DNS, whatever the policy: a Docker endpoint
	 * whose container's own settings (labels) are not known yet. */
	bool hold;
};

/* What the host is connected to: every address of a host interface (as a
 * host prefix) and every prefix directly connected to one. */
struct az_hostnet {
	size_t n;
	struct az_prefix v[AZ_MAX_HOSTNETS];
};

/* Kernel features, detected once (az_features_detect) and recorded. */
struct az_features {
	bool bridge_reject;	/* CONFIG_NFT_BRIDGE_REJECT */
	bool br_netfilter;	/* net.bridge.bridge-nf-call-iptables is 1 */
};

/* True when the target has at least one host-side peer on a bridge, i.e.
 * the host layer can protect it. */
bool az_target_has_host_peer(const struct az_target *t);

/* The blocked-range catalogue (IANA special-purpose, minus documentation
 * ranges), for display and tests. */
size_t az_blocked_catalogue(int family, const struct az_prefix **out);

/* alcatraz watch: every refusal, in both layers, first passes a chain of its
 * reason that sends it to NFLOG group AZ_NFLOG_GROUP with the prefix
 * AZ_NFLOG_PREFIX "<reason>", under a named limit (AZ_NFLOG_LIMIT) of its
 * table: one budget per container netns and one for the host layer, so a
 * flood costs the kernel a counter, not a message per packet.  With no
 * listener bound to the group the kernel drops the message at once. */
#define AZ_NFLOG_GROUP 7421
#define AZ_NFLOG_PREFIX "alcatraz:"
#define AZ_NFLOG_LIMIT "watch"
#define AZ_NFLOG_RATE "50/second burst 100 packets"
/* Reasons, in the order the destination ones are tried: the host's own
 * addresses, other containers (the container's own networks; in the host
 * layer every protected container's address), link-local / cloud metadata,
 * a network connected to the host, the rest of the blocked catalogue; then
 * a held endpoint, TCP the proxy cannot carry, UDP refused by proxy-udp. */
size_t az_reasons(const char *const **names);

/* ---- pure rendering: nft script text ---- */

/* The whole table for the container's own netns.  AZ_NETNS_REPLACE replaces
 * any previous one ("table … ; delete table …; table … { … }" in one
 * transaction); AZ_NETNS_CREATE only adds, and fails if the table exists.
 * Create is what a fresh netns gets: a transaction that deletes anything
 * makes the kernel wait for an RCU grace period when the nf_tables socket
 * is closed (5–35 ms here), one that only adds does not. */
enum az_netns_mode { AZ_NETNS_REPLACE, AZ_NETNS_CREATE };
int az_render_netns(const struct az_policy *p, const struct az_target *t,
		    const struct az_hostnet *h, enum az_netns_mode mode, struct az_buf *out,
		    az_error *err);
/* Fixed host skeleton: tables, sets, maps, chains, and an empty marker chain
 * named by az_render_layout_id().  Idempotent ("add"). */
int az_render_host_skeleton(const struct az_features *f, struct az_buf *out);
/* "layout_<fingerprint of the skeleton>" */
int az_render_layout_id(const struct az_features *f, char id[32]);
/* Lines that make a transaction fail unless the host layer in the kernel is
 * this skeleton's, and change nothing when it is: "add element" of the
 * element the marker set already holds.  Cheaper than asking first. */
int az_render_host_assert(const struct az_features *f, struct az_buf *out);
/* Host-wide set of connected prefixes: flush + refill, idempotent. */
int az_render_host_hostnet(const struct az_hostnet *h, struct az_buf *out);
/* This container's host elements: "add element" lines (AZ_ELEM_ADD) or
 * "delete element" lines (AZ_ELEM_DELETE) for exactly the same elements.
 * AZ_ELEM_CREATE is ADD with "create" for the elements that claim the
 * container's addresses and host interfaces (sets ctr4/ctr6, bridge ports):
 * the transaction then fails with "File exists" when an element of a
 * container that died unseen still holds one of them. */
enum az_elem_verb { AZ_ELEM_DELETE = 0, AZ_ELEM_ADD = 1, AZ_ELEM_CREATE = 2 };
int az_render_host_elements(const struct az_policy *p, const struct az_target *t,
			    enum az_elem_verb verb, struct az_buf *out, az_error *err);

/* ---- effects: libnftables ---- */

/* Run an nft script in the netns given by fd (-1: the caller's netns), as one
 * transaction.  For another netns the thread enters it for the life of the
 * context (setns is per thread, and a netlink socket stays bound to the netns
 * it was opened in). */
int az_nft_run(int netns_fd, const char *script, az_error *err);
/* A long-lived process (the applier) keeps one libnftables context for the
 * host's netns across az_nft_run calls: no context set-up, warm code, and
 * no socket release waiting for the kernel's destroy work (see nft.c). */
void az_nft_keep_host_context(bool keep);
/* Same, capturing the JSON/text output of list commands into *out. */
int az_nft_query(int netns_fd, const char *cmd, bool json, char **out, az_error *err);
int az_features_detect(struct az_features *f, az_error *err);

/* ---- attachments: apply + record, remove, collect, restore ----
 *
 * State under az_state_dir():
 *   lock                       flock()ed around every change
 *   netns/<dev>-<ino>.json     one attachment per network namespace: the
 *                              policy, the target, the member containers
 *   containers/<id>.json       which attachment a container belongs to
 * Records are written atomically (temp + rename) before the rules are
 * applied, so a crash leaves a record that gc can undo.
 */

#define AZ_DEFAULT_STATE_DIR "/run/alcatraz"
/* $ALCATRAZ_STATE_DIR or AZ_DEFAULT_STATE_DIR (inline: alcatraz-hook, which
 * links only common.o of ours, needs it too). */
static inline const char *az_state_dir(void)
{
	const char *d = getenv("ALCATRAZ_STATE_DIR");
	return d && *d ? d : AZ_DEFAULT_STATE_DIR;
}
/* Exclusive lock over the state dir; returns an fd to close to release. */
int az_state_lock(const char *dir, az_error *err);
/* Asked once the lock is held; false fails the locking ("the hook that
 * asked for this is gone").  The applier sets it for each request, so that
 * a request whose hook gave up and applied alone cannot act after (and
 * undo) what came since: both take this lock. */
extern bool (*az_state_lock_gate)(void);

/* Apply p to t (both layers) and record it.  netns_fd is the container's
 * netns, or -1 with t->netns_path "" for the host layer only (a Docker
 * endpoint at Join, before its netns exists; its liveness is then that of its
 * host interfaces).  A second container in an attached netns joins the
 * attachment when its policy is the same, and is refused (naming the other)
 * otherwise. */
int az_attach(const struct az_policy *p, const struct az_target *t, int netns_fd,
	      const struct az_hostnet *h, const struct az_features *f, az_error *err);
/* Replace the policy and target of t->id's attachment (same key) in one
 * transaction: its old host elements go as its new ones come, so there is no
 * moment without rules.  Used when a Docker endpoint's labels arrive. */
int az_reattach(const struct az_policy *p, const struct az_target *t, int netns_fd,
		const struct az_hostnet *h, const struct az_features *f, az_error *err);
/* Remove container id's membership; the last member removes the rules.
 * Unknown ids succeed (poststop is idempotent).  *removed tells whether
 * rules were removed. */
int az_detach(const char *id, bool *removed, az_error *err);
/* Remove every attachment whose netns is gone.  Cheap when nothing is. */
int az_gc(size_t *removed, az_error *err);
/* Re-apply the host layer of every live attachment (after a flush).
 * *restored counts attachments re-applied. */
int az_restore(const struct az_hostnet *h, const struct az_features *f, size_t *restored,
	       az_error *err);
/* Do both host tables exist? */
bool az_host_layer_present(void);

struct az_attachment {
	char key[64];			/* "<dev>-<ino>" */
	struct az_policy policy;
	struct az_target target;
	size_t n_members;
	char members[AZ_MAX_MEMBERS][AZ_ID_MAX + 1];
	bool alive;			/* its netns still exists */
};
/* Read every attachment record (for list/status); free with az_attachments_free. */
int az_attachments_read(struct az_attachment **out, size_t *n, az_error *err);
void az_attachments_free(struct az_attachment *a, size_t n);

#endif
