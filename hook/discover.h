/* discover.h — what the host and a container's netns look like, read with
 * netlink (libnl-route-3).  Effects only; no policy here.
 */
#ifndef ALCATRAZ_DISCOVER_H
#define ALCATRAZ_DISCOVER_H

#include "rules/rules.h"

/* Fill t->ifs (every non-loopback interface of the netns given by netns_fd,
 * with its IPv4/IPv6 addresses; for a veth, the host-side peer's name and its
 * bridge master, looked up in the caller's netns), t->gw4/t->gw6 (default
 * routes' gateways, in the netns), without touching t->id, netns or resolvers.
 * Runs the netns part in a forked child that setns()es, so the caller's
 * thread stays in its netns. */
int az_discover_netns(int netns_fd, struct az_target *t, az_error *err);

/* Every address of every interface of the caller's netns as a host prefix,
 * plus each address's connected prefix (deduplicated, loopback included). */
int az_discover_hostnet(struct az_hostnet *h, az_error *err);

/* Parse "nameserver" lines of a resolv.conf text (pure). */
int az_parse_resolv_conf(const char *text, struct az_addr *out, size_t max, size_t *n);

#endif
